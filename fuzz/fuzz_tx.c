/* libFuzzer: arbitrary bytes through the transaction decoder. Whatever decodes
 * must re-encode to exactly the input (one canonical encoding per tx), with
 * tc_tx_size equal to its length; the txid must be computable. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/tx.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_tx tx;
    int err = tc_tx_decode(&tx, data, size);
    if (err != 0) {
        check(err < 0);
        check(tx.in == NULL && tx.out == NULL && tx.n_in == 0 && tx.n_out == 0);
        return 0;
    }
    check(tx.kind < TC_TX_KIND_COUNT);
    check(size <= TC_MAX_TX_SIZE);

    tc_buf b;
    tc_buf_init(&b);
    tc_tx_encode(&tx, &b);
    check(b.len == size);
    check(size == 0 || memcmp(b.p, data, size) == 0);
    check(tc_tx_size(&tx) == size);

    /* the unsigned encoding is a prefix of the full one */
    tc_buf_reset(&b);
    tc_tx_encode_unsigned(&tx, &b);
    check(b.len == size - 64 * (tx.n_in + tc_tx_xsig_count(tx.kind)));
    check(memcmp(b.p, data, b.len) == 0);

    tc_hash txid;
    tc_tx_txid(&tx, &txid);
    tc_buf_release(&b);
    tc_tx_release(&tx);
    return 0;
}
