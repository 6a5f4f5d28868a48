#include "net/frame.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void tc_frame_header_encode(uint8_t out[TC_FRAME_HEADER_SIZE], const uint8_t magic[4],
                            uint16_t type, size_t len)
{
    if (len > TC_FRAME_MAX_PAYLOAD)
        abort(); /* caller bug: message encoders bound their output */
    memcpy(out, magic, 4);
    out[4] = (uint8_t)type;
    out[5] = (uint8_t)(type >> 8);
    tc_le32(out + 6, (uint32_t)len);
}

void tc_frame_encode(tc_buf *b, const uint8_t magic[4], uint16_t type, const uint8_t *payload,
                     size_t len)
{
    tc_frame_header_encode(tc_buf_extend(b, TC_FRAME_HEADER_SIZE), magic, type, len);
    tc_buf_put(b, payload, len);
}

int tc_frame_header_decode(tc_frame_header *h, const uint8_t magic[4], const uint8_t *p,
                           size_t len)
{
    h->type = 0;
    h->len = 0;
    if (len < TC_FRAME_HEADER_SIZE)
        return TC_ETRUNC;
    if (memcmp(p, magic, 4) != 0)
        return TC_ENET_MAGIC;
    uint32_t n = tc_get_le32(p + 6);
    if (n > TC_FRAME_MAX_PAYLOAD)
        return TC_ENET_FRAME_SIZE;
    h->type = (uint16_t)(p[4] | p[5] << 8);
    h->len = n;
    return 0;
}

void tc_frame_parser_init(tc_frame_parser *fp, const uint8_t magic[4])
{
    memset(fp, 0, sizeof *fp);
    memcpy(fp->magic, magic, 4);
    fp->max = TC_FRAME_MAX_PAYLOAD;
}

void tc_frame_parser_set_max(tc_frame_parser *fp, uint32_t max)
{
    fp->max = max < TC_FRAME_MAX_PAYLOAD ? max : TC_FRAME_MAX_PAYLOAD;
}

void tc_frame_parser_release(tc_frame_parser *fp)
{
    free(fp->payload);
    uint8_t magic[4];
    uint32_t max = fp->max;
    memcpy(magic, fp->magic, 4);
    tc_frame_parser_init(fp, magic);
    fp->max = max;
}

uint8_t *tc_frame_parser_space(tc_frame_parser *fp, size_t *n)
{
    if (fp->err || fp->ready) {
        *n = 0;
        return NULL;
    }
    if (fp->hdr_have < TC_FRAME_HEADER_SIZE) {
        *n = TC_FRAME_HEADER_SIZE - fp->hdr_have;
        return fp->hdr + fp->hdr_have;
    }
    *n = fp->h.len - fp->have; /* ≥ 1: an empty or complete payload is ready */
    return fp->payload + fp->have;
}

/* The header is complete: check it, then make room for the payload. */
static int header_done(tc_frame_parser *fp)
{
    int err = tc_frame_header_decode(&fp->h, fp->magic, fp->hdr, fp->hdr_have);
    if (err == 0 && fp->h.len > fp->max)
        err = TC_ENET_FRAME_SIZE;
    if (err) {
        fp->err = err;
        return err;
    }
    /* Bounded by fp->max ≤ TC_FRAME_MAX_PAYLOAD, checked just above. */
    if (fp->h.len > fp->cap) {
        free(fp->payload);
        fp->payload = tc_xmalloc(fp->h.len);
        fp->cap = fp->h.len;
    }
    fp->have = 0;
    if (fp->h.len == 0)
        fp->ready = 1;
    return fp->ready;
}

int tc_frame_parser_commit(tc_frame_parser *fp, size_t n)
{
    if (fp->err)
        return fp->err;
    if (fp->ready)
        return 1;
    if (fp->hdr_have < TC_FRAME_HEADER_SIZE) {
        fp->hdr_have += n;
        return fp->hdr_have < TC_FRAME_HEADER_SIZE ? 0 : header_done(fp);
    }
    fp->have += n;
    if (fp->have < fp->h.len)
        return 0;
    fp->ready = 1;
    return 1;
}

int tc_frame_parser_feed(tc_frame_parser *fp, const uint8_t *p, size_t len, size_t *used)
{
    *used = 0;
    for (;;) {
        size_t n;
        uint8_t *dst = tc_frame_parser_space(fp, &n);
        if (n > len - *used)
            n = len - *used;
        if (n)
            memcpy(dst, p + *used, n);
        *used += n;
        int rc = tc_frame_parser_commit(fp, n);
        if (rc != 0 || *used == len)
            return rc;
    }
}

static void frame_done(tc_frame_parser *fp)
{
    fp->hdr_have = 0;
    fp->have = 0;
    fp->h.type = 0;
    fp->h.len = 0;
    fp->ready = 0;
}

int tc_frame_parser_take(tc_frame_parser *fp, uint16_t *type, uint8_t **payload, size_t *len)
{
    if (!fp->ready) {
        *type = 0;
        *payload = NULL;
        *len = 0;
        return TC_ESTATE;
    }
    *type = fp->h.type;
    *payload = fp->h.len ? fp->payload : NULL;
    *len = fp->h.len;
    if (fp->h.len) {
        fp->payload = NULL;
        fp->cap = 0;
    }
    frame_done(fp);
    return 0;
}

int tc_frame_parser_peek(const tc_frame_parser *fp, uint16_t *type, const uint8_t **payload,
                         size_t *len)
{
    if (!fp->ready) {
        *type = 0;
        *payload = NULL;
        *len = 0;
        return TC_ESTATE;
    }
    *type = fp->h.type;
    *payload = fp->h.len ? fp->payload : NULL;
    *len = fp->h.len;
    return 0;
}

void tc_frame_parser_next(tc_frame_parser *fp)
{
    if (fp->ready)
        frame_done(fp);
}

void tc_frame_parser_trim(tc_frame_parser *fp, size_t keep)
{
    /* a complete header means a payload is arriving or waiting in the buffer */
    if (fp->cap > keep && fp->hdr_have < TC_FRAME_HEADER_SIZE) {
        free(fp->payload);
        fp->payload = NULL;
        fp->cap = 0;
    }
}

size_t tc_frame_parser_want(const tc_frame_parser *fp)
{
    if (fp->err || fp->ready)
        return 1;
    if (fp->hdr_have < TC_FRAME_HEADER_SIZE)
        return TC_FRAME_HEADER_SIZE - fp->hdr_have;
    size_t n = fp->h.len - fp->have;
    return n ? n : 1;
}
