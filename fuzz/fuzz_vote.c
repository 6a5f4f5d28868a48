/* libFuzzer: vote and proposal decoders. Arbitrary bytes must never crash;
 * whatever decodes re-encodes to the same bytes (one canonical encoding). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/vote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_vote v;
    tc_proposal p;
    tc_buf b;
    tc_buf_init(&b);
    if (tc_vote_decode(&v, data, size) == 0) {
        tc_vote_encode(&v, &b);
        if (b.len != size || memcmp(b.p, data, size) != 0)
            abort();
    }
    tc_buf_reset(&b);
    if (tc_proposal_decode(&p, data, size) == 0) {
        tc_proposal_encode(&p, &b);
        if (b.len != size || memcmp(b.p, data, size) != 0)
            abort();
    }
    tc_buf_release(&b);
    return 0;
}
