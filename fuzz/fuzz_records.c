/* libFuzzer: the ledger's own record decoders (masternode and UTXO records)
 * and decimal amounts. The first byte picks the decoder. A record that
 * decodes must re-encode to the same bytes; an amount that parses must
 * format and parse back to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/amount.h"
#include "chain/masternode.h"
#include "chain/utxo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        tc_mn m = {0};
        if (tc_mn_decode(&m, p, n) == 0) {
            tc_buf b;
            tc_buf_init(&b);
            tc_mn_encode(&m, &b);
            if (b.len != n || memcmp(b.p, p, n) != 0)
                abort();
            tc_buf_release(&b);
        }
        break;
    }
    case 1: {
        tc_utxo u;
        uint8_t rec[TC_UTXO_REC_SIZE];
        if (tc_utxo_decode(&u, p, n) == 0) {
            tc_utxo_encode(&u, rec);
            if (n != sizeof rec || memcmp(rec, p, n) != 0)
                abort();
        }
        break;
    }
    default: {
        char s[64];
        uint64_t v, w;
        if (n >= sizeof s)
            return 0;
        memcpy(s, p, n);
        s[n] = '\0';
        if (tc_amount_parse(s, &v) == 0) {
            char out[TC_AMOUNT_STRLEN];
            if (tc_amount_parse(tc_amount_format(out, v), &w) != 0 || w != v)
                abort();
        }
        break;
    }
    }
    return 0;
}
