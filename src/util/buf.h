/* Canonical little-endian serialization: a growable writer and a bounded reader.
 *
 * The reader never reads past the length it was given. Its error is sticky: the
 * first failure is kept with the offset where it happened, and every later read
 * fails and yields zeroes, so a decoder can read a whole structure and check once. */
#ifndef TC_UTIL_BUF_H
#define TC_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
} tc_buf;

/* Caller storage; start empty. _release frees and resets to empty. */
void tc_buf_init(tc_buf *b);
void tc_buf_release(tc_buf *b);
/* Empties without freeing the allocation. */
void tc_buf_reset(tc_buf *b);
/* Ensures room for n more bytes and returns a pointer to them; len grows by n. */
uint8_t *tc_buf_extend(tc_buf *b, size_t n);
void tc_buf_put(tc_buf *b, const void *p, size_t n);
void tc_buf_u8(tc_buf *b, uint8_t v);
void tc_buf_u16(tc_buf *b, uint16_t v);
void tc_buf_u32(tc_buf *b, uint32_t v);
void tc_buf_u64(tc_buf *b, uint64_t v);
/* Compact size: <0xfd one byte; 0xfd+u16; 0xfe+u32; 0xff+u64; always minimal. */
void tc_buf_cs(tc_buf *b, uint64_t v);
/* Compact-size length then bytes. */
void tc_buf_var(tc_buf *b, const void *p, size_t n);

/* Number of bytes tc_buf_cs writes for v. */
size_t tc_cs_size(uint64_t v);

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int err;        /* first error, 0 while good */
    size_t err_pos; /* offset of the first error */
} tc_reader;

void tc_reader_init(tc_reader *r, const uint8_t *p, size_t len);
/* Bytes left to read (0 after an error). */
size_t tc_rd_left(const tc_reader *r);
/* Records err at the current offset unless an error is already set; returns r->err. */
int tc_rd_fail(tc_reader *r, int err);
int tc_rd_u8(tc_reader *r, uint8_t *v);
int tc_rd_u16(tc_reader *r, uint16_t *v);
int tc_rd_u32(tc_reader *r, uint32_t *v);
int tc_rd_u64(tc_reader *r, uint64_t *v);
/* Copies n bytes into out (zeroed on failure). */
int tc_rd_bytes(tc_reader *r, void *out, size_t n);
/* Returns a pointer into the input for n bytes, or NULL on failure (no copy). */
const uint8_t *tc_rd_ptr(tc_reader *r, size_t n);
/* Canonical compact size; TC_ENONCANON for a non-minimal encoding. */
int tc_rd_cs(tc_reader *r, uint64_t *v);
/* A count of elements about to be read: TC_EOVERSIZE if over max, TC_ETRUNC if
 * the remaining input cannot hold count * min_elem_size bytes. Call before
 * allocating anything sized by the count. */
int tc_rd_count(tc_reader *r, size_t max, size_t min_elem_size, size_t *count);
/* Compact-size length (≤ max) then that many bytes, returned as a pointer into
 * the input; NULL with *n = 0 on failure. */
const uint8_t *tc_rd_var(tc_reader *r, size_t max, size_t *n);
/* Returns r->err, or TC_ETRAILING if bytes remain. */
int tc_rd_done(tc_reader *r);

static inline void tc_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void tc_le64(uint8_t *p, uint64_t v)
{
    tc_le32(p, (uint32_t)v);
    tc_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t tc_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t tc_get_le64(const uint8_t *p)
{
    return (uint64_t)tc_get_le32(p) | (uint64_t)tc_get_le32(p + 4) << 32;
}
/* Big-endian keys sort numerically in the store. */
static inline void tc_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}
static inline uint64_t tc_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

#endif
