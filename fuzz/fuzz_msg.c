/* libFuzzer: message decoders. Input: u16 type (LE) then the payload. A
 * payload that decodes must re-encode to exactly the same bytes
 * (one canonical encoding per message), also when large objects are
 * referenced instead of copied. The blocks of `block` / `blocks`,
 * whose shape only tc_msg_decode checks, then go through tc_block_decode as
 * the node does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block.h"
#include "net/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a[ao..ao+n) equals b[bo..bo+n) (a may be NULL when n is 0) */
static int same(const uint8_t *a, size_t ao, const uint8_t *b, size_t bo, size_t n)
{
    return n == 0 || memcmp(a + ao, b + bo, n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (tc_crypto_init() != 0)
            abort();
        ready = 1;
    }
    if (size < 2)
        return 0;
    uint16_t type = (uint16_t)(data[0] | data[1] << 8);
    /* keep most inputs on known types */
    type = (uint16_t)(type % (TC_MSG_TYPE_END + 1));
    data += 2;
    size -= 2;

    tc_msg m;
    if (tc_msg_decode(&m, type, data, size) != 0) {
        if (m.u.peers.n != 0)
            abort(); /* zeroed on failure */
        return 0;
    }
    tc_buf b;
    tc_buf_init(&b);
    if (tc_msg_encode(&m, &b) != 0)
        abort();
    if (b.len != size || (size && memcmp(b.p, data, size) != 0))
        abort();
    /* the referencing encoder describes the same bytes */
    tc_msg_ref refs[2];
    size_t n_refs, total, done = 0, skipped = 0;
    tc_buf_reset(&b);
    if (tc_msg_encode_refs(&m, &b, refs, 2, &n_refs, &total) != 0 || total != size)
        abort();
    for (size_t i = 0; i < n_refs; i++) {
        size_t upto = refs[i].at - skipped;
        if (refs[i].at < done + skipped || !same(b.p, done, data, done + skipped, upto - done) ||
            !same(refs[i].p, 0, data, refs[i].at, refs[i].len))
            abort();
        done = upto;
        skipped += refs[i].len;
    }
    if (b.len - done != size - done - skipped || !same(b.p, done, data, done + skipped, b.len - done))
        abort();
    tc_buf_release(&b);
    const tc_msg_block *blocks = type == TC_MSG_BLOCK ? &m.u.block : m.u.blocks.v;
    size_t n_blocks = type == TC_MSG_BLOCK ? 1 : type == TC_MSG_BLOCKS ? m.u.blocks.n : 0;
    for (size_t i = 0; i < n_blocks; i++) {
        tc_block blk;
        if (tc_block_decode(&blk, blocks[i].block.p, blocks[i].block.len) == 0)
            tc_block_release(&blk);
    }
    tc_msg_release(&m);
    return 0;
}
