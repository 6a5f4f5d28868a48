/* libFuzzer: arbitrary bytes through the block decoder. Whatever decodes must
 * re-encode to exactly the input, with tc_block_size equal to its length. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_block blk;
    int err = tc_block_decode(&blk, data, size);
    if (err != 0) {
        check(err < 0);
        check(blk.txs == NULL && blk.n_tx == 0 && blk.last_commit.sigs == NULL);
        return 0;
    }
    check(size <= TC_MAX_BLOCK_SIZE);

    tc_buf b;
    tc_buf_init(&b);
    tc_block_encode(&blk, &b);
    check(b.len == size);
    check(memcmp(b.p, data, size) == 0);
    check(tc_block_size(&blk) == size);

    /* the header is the first TC_HEADER_SIZE bytes */
    tc_buf_reset(&b);
    tc_header_encode(&blk.hdr, &b);
    check(b.len == TC_HEADER_SIZE && memcmp(b.p, data, TC_HEADER_SIZE) == 0);

    tc_hash root;
    tc_block_tx_root(&blk, NULL, &root);
    tc_buf_release(&b);
    tc_block_release(&blk);
    return 0;
}
