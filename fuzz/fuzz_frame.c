/* libFuzzer: the frame parser over arbitrary input, fed in chunks whose
 * sizes come from the first input byte. Any frame it yields must re-encode to
 * the bytes it was parsed from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"

static const uint8_t MAGIC[4] = {0xDE, 0x7E, 0x7E, 0x4D};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = (size_t)data[0] % 17 + 1;
    data++;
    size--;

    tc_frame_header h;
    if (tc_frame_header_decode(&h, MAGIC, data, size) == 0 && h.len > TC_FRAME_MAX_PAYLOAD)
        abort();

    tc_frame_parser fp;
    tc_frame_parser_init(&fp, MAGIC);
    size_t pos = 0;
    while (pos < size) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        size_t used;
        size_t start = pos;
        int rc = tc_frame_parser_feed(&fp, data + pos, n, &used);
        if (used > n)
            abort();
        pos += used;
        if (rc < 0)
            break;
        if (rc == 1) {
            uint16_t type;
            uint8_t *payload;
            size_t len;
            if (tc_frame_parser_take(&fp, &type, &payload, &len) != 0)
                abort();
            tc_buf b;
            tc_buf_init(&b);
            tc_frame_encode(&b, MAGIC, type, payload, len);
            /* the frame's bytes end at pos */
            if (b.len > pos || memcmp(b.p, data + pos - b.len, b.len) != 0)
                abort();
            tc_buf_release(&b);
            free(payload);
        } else if (used != n) {
            abort();
        }
        (void)start;
    }
    tc_frame_parser_release(&fp);
    return 0;
}
