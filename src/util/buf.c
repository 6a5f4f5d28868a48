#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void tc_buf_init(tc_buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void tc_buf_release(tc_buf *b)
{
    free(b->p);
    tc_buf_init(b);
}

void tc_buf_reset(tc_buf *b)
{
    b->len = 0;
}

uint8_t *tc_buf_extend(tc_buf *b, size_t n)
{
    if (n > b->cap - b->len) {
        size_t need = b->len + n;
        if (need < b->len)
            abort(); /* size_t overflow: a caller bug */
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
            cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
        b->p = tc_xrealloc(b->p, cap);
        b->cap = cap;
    }
    uint8_t *at = b->p + b->len;
    b->len += n;
    return at;
}

void tc_buf_put(tc_buf *b, const void *p, size_t n)
{
    if (n)
        memcpy(tc_buf_extend(b, n), p, n);
}

void tc_buf_u8(tc_buf *b, uint8_t v)
{
    *tc_buf_extend(b, 1) = v;
}

void tc_buf_u16(tc_buf *b, uint16_t v)
{
    uint8_t *p = tc_buf_extend(b, 2);
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void tc_buf_u32(tc_buf *b, uint32_t v)
{
    tc_le32(tc_buf_extend(b, 4), v);
}

void tc_buf_u64(tc_buf *b, uint64_t v)
{
    tc_le64(tc_buf_extend(b, 8), v);
}

size_t tc_cs_size(uint64_t v)
{
    return v < 0xfd ? 1 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

void tc_buf_cs(tc_buf *b, uint64_t v)
{
    if (v < 0xfd) {
        tc_buf_u8(b, (uint8_t)v);
    } else if (v <= 0xffff) {
        tc_buf_u8(b, 0xfd);
        tc_buf_u16(b, (uint16_t)v);
    } else if (v <= 0xffffffffu) {
        tc_buf_u8(b, 0xfe);
        tc_buf_u32(b, (uint32_t)v);
    } else {
        tc_buf_u8(b, 0xff);
        tc_buf_u64(b, v);
    }
}

void tc_buf_var(tc_buf *b, const void *p, size_t n)
{
    tc_buf_cs(b, n);
    tc_buf_put(b, p, n);
}

void tc_reader_init(tc_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
    r->err = 0;
    r->err_pos = 0;
}

size_t tc_rd_left(const tc_reader *r)
{
    return r->err ? 0 : r->len - r->pos;
}

int tc_rd_fail(tc_reader *r, int err)
{
    if (r->err == 0) {
        r->err = err;
        r->err_pos = r->pos;
    }
    return r->err;
}

const uint8_t *tc_rd_ptr(tc_reader *r, size_t n)
{
    if (r->err)
        return NULL;
    if (n > r->len - r->pos) {
        tc_rd_fail(r, TC_ETRUNC);
        return NULL;
    }
    const uint8_t *at = r->p + r->pos;
    r->pos += n;
    return at;
}

int tc_rd_bytes(tc_reader *r, void *out, size_t n)
{
    const uint8_t *at = tc_rd_ptr(r, n);
    if (at == NULL) {
        if (n)
            memset(out, 0, n);
        return r->err;
    }
    if (n)
        memcpy(out, at, n);
    return 0;
}

int tc_rd_u8(tc_reader *r, uint8_t *v)
{
    const uint8_t *at = tc_rd_ptr(r, 1);
    *v = at ? at[0] : 0;
    return r->err;
}

int tc_rd_u16(tc_reader *r, uint16_t *v)
{
    const uint8_t *at = tc_rd_ptr(r, 2);
    *v = at ? (uint16_t)(at[0] | at[1] << 8) : 0;
    return r->err;
}

int tc_rd_u32(tc_reader *r, uint32_t *v)
{
    const uint8_t *at = tc_rd_ptr(r, 4);
    *v = at ? tc_get_le32(at) : 0;
    return r->err;
}

int tc_rd_u64(tc_reader *r, uint64_t *v)
{
    const uint8_t *at = tc_rd_ptr(r, 8);
    *v = at ? tc_get_le64(at) : 0;
    return r->err;
}

int tc_rd_cs(tc_reader *r, uint64_t *v)
{
    uint8_t tag;
    *v = 0;
    if (tc_rd_u8(r, &tag))
        return r->err;
    if (tag < 0xfd) {
        *v = tag;
        return 0;
    }
    size_t start = r->pos - 1;
    uint64_t x = 0, min;
    if (tag == 0xfd) {
        uint16_t y;
        tc_rd_u16(r, &y);
        x = y;
        min = 0xfd;
    } else if (tag == 0xfe) {
        uint32_t y;
        tc_rd_u32(r, &y);
        x = y;
        min = 0x10000;
    } else {
        tc_rd_u64(r, &x);
        min = 0x100000000ull;
    }
    if (r->err)
        return r->err;
    if (x < min) {
        r->pos = start;
        return tc_rd_fail(r, TC_ENONCANON);
    }
    *v = x;
    return 0;
}

int tc_rd_count(tc_reader *r, size_t max, size_t min_elem_size, size_t *count)
{
    uint64_t n;
    *count = 0;
    size_t start = r->pos;
    if (tc_rd_cs(r, &n))
        return r->err;
    if (n > max) {
        r->pos = start;
        return tc_rd_fail(r, TC_EOVERSIZE);
    }
    if (min_elem_size && n > (r->len - r->pos) / min_elem_size)
        return tc_rd_fail(r, TC_ETRUNC);
    *count = (size_t)n;
    return 0;
}

const uint8_t *tc_rd_var(tc_reader *r, size_t max, size_t *n)
{
    if (tc_rd_count(r, max, 1, n))
        return NULL;
    const uint8_t *at = tc_rd_ptr(r, *n);
    if (at == NULL)
        *n = 0;
    return at;
}

int tc_rd_done(tc_reader *r)
{
    if (r->err)
        return r->err;
    if (r->pos != r->len)
        return tc_rd_fail(r, TC_ETRAILING);
    return 0;
}
