/* libFuzzer: certificate and validator-set decoders. Arbitrary bytes must
 * never crash; whatever decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/cert.h"
#include "chain/valset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_cert c;
    tc_valset s;
    tc_buf b;
    tc_buf_init(&b);
    if (tc_cert_decode(&c, data, size) == 0) {
        tc_cert_encode(&c, &b);
        if (b.len != size || memcmp(b.p, data, size) != 0)
            abort();
        tc_cert_release(&c);
    }
    tc_buf_reset(&b);
    if (tc_valset_decode(&s, data, size) == 0) {
        tc_valset_encode(&s, &b);
        if (b.len != size || memcmp(b.p, data, size) != 0)
            abort();
        tc_valset_release(&s);
    }
    tc_buf_release(&b);
    return 0;
}
