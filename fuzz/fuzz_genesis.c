/* libFuzzer: genesis JSON documents. Any input either parses into a document
 * whose genesis block can be built, or is rejected with TC_EGENESIS and a
 * message; never a crash, leak or unbounded allocation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/genesis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_genesis g;
    tc_errmsg e;
    if (tc_crypto_init())
        abort();
    int err = tc_genesis_parse(&g, (const char *)data, size, &e);
    if (err == 0) {
        tc_block b;
        tc_genesis_block(&g, &b);
        if (b.n_tx != 1 || b.txs[0].n_out != g.n_alloc + g.n_mn)
            abort();
        tc_block_release(&b);
        tc_genesis_release(&g);
    } else if (err != TC_EGENESIS || e.msg[0] == '\0') {
        abort();
    }
    return 0;
}
