/* P2P framing: every message travels as one frame
 *
 *   magic[4] | u16 type (LE) | u32 length (LE) | payload[length]
 *
 * magic is the network's (tc_netparams.magic); length ≤ TC_FRAME_MAX_PAYLOAD.
 * The header is checked (magic, then length) before anything is allocated
 * for the payload, so a peer cannot make us reserve more than the limit.
 * Integrity and confidentiality come from TLS; the frame has no checksum. */
#ifndef TC_NET_FRAME_H
#define TC_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define TC_FRAME_HEADER_SIZE 10
#define TC_FRAME_MAX_PAYLOAD (8u * 1024 * 1024)

typedef struct {
    uint16_t type;
    uint32_t len; /* payload length */
} tc_frame_header;

/* Appends one frame (header and payload) to b. Aborts if len exceeds
 * TC_FRAME_MAX_PAYLOAD: building an oversize frame is a caller bug. */
void tc_frame_encode(tc_buf *b, const uint8_t magic[4], uint16_t type, const uint8_t *payload,
                     size_t len);
/* Writes the 10-byte header for a payload of len bytes into out (same abort rule). */
void tc_frame_header_encode(uint8_t out[TC_FRAME_HEADER_SIZE], const uint8_t magic[4],
                            uint16_t type, size_t len);

/* Decodes a header from the first bytes of (p, len). Returns 0, TC_ETRUNC if
 * fewer than TC_FRAME_HEADER_SIZE bytes are given, TC_ENET_MAGIC for another
 * network's magic, TC_ENET_FRAME_SIZE for a length over the limit; *h is
 * zeroed on failure. The message type is not checked here. */
int tc_frame_header_decode(tc_frame_header *h, const uint8_t magic[4], const uint8_t *p,
                           size_t len) TC_MUST_CHECK;

/* Incremental parser over a byte stream that arrives in arbitrary pieces.
 * Caller storage: _init, feed bytes, take frames, _release. The payload buffer
 * is allocated only after the header has been checked and only as large as
 * the announced length; a buffer kept from an earlier frame is reused when it
 * is large enough. After an error the parser stays failed.
 *
 * Two ways to feed it: tc_frame_parser_feed copies from the caller's bytes;
 * tc_frame_parser_space / _commit let a reader write (e.g. decrypt) straight
 * into the header or payload buffer. Two ways to take a frame: _take hands
 * the payload over; _peek lends it and _next keeps the buffer for the next
 * frame, so a steady stream of frames allocates nothing. */
typedef struct {
    uint8_t magic[4];
    uint8_t hdr[TC_FRAME_HEADER_SIZE];
    size_t hdr_have;
    tc_frame_header h;
    uint8_t *payload;
    size_t cap;  /* bytes allocated at payload */
    size_t have; /* payload bytes received */
    int ready;   /* a complete frame waits to be taken */
    int err;
    uint32_t max; /* largest payload accepted (≤ TC_FRAME_MAX_PAYLOAD) */
} tc_frame_parser;

/* A new parser accepts payloads up to TC_FRAME_MAX_PAYLOAD. */
void tc_frame_parser_init(tc_frame_parser *fp, const uint8_t magic[4]);
/* Lowers (or restores) the largest payload accepted, e.g. a few KiB until a
 * link is authenticated; clamped to TC_FRAME_MAX_PAYLOAD. A longer announced
 * length fails with TC_ENET_FRAME_SIZE before any allocation. */
void tc_frame_parser_set_max(tc_frame_parser *fp, uint32_t max);
void tc_frame_parser_release(tc_frame_parser *fp);

/* Consumes bytes from (p, len) until one frame is complete or input runs out;
 * *used tells how many bytes were taken. Returns 1 when a frame is ready
 * (take it before feeding again), 0 when more input is needed, or the sticky
 * error of tc_frame_header_decode. */
int tc_frame_parser_feed(tc_frame_parser *fp, const uint8_t *p, size_t len, size_t *used)
    TC_MUST_CHECK;

/* Hands over the ready frame: *payload (heap, free() it; may be NULL when
 * *len is 0) becomes the caller's. TC_ESTATE if no frame is ready. */
int tc_frame_parser_take(tc_frame_parser *fp, uint16_t *type, uint8_t **payload, size_t *len)
    TC_MUST_CHECK;

/* Where the next bytes of the stream go and how many the parser wants there
 * (*n ≥ 1): the rest of the header, or of the payload once the header has
 * passed its checks. NULL with *n 0 while a frame is ready (take it first)
 * or after an error. Valid until the next call on fp. */
uint8_t *tc_frame_parser_space(tc_frame_parser *fp, size_t *n);
/* n bytes (at most the *n of the last _space) were written there. Returns as
 * tc_frame_parser_feed: 1 a frame is ready, 0 more needed, or the sticky
 * error. */
int tc_frame_parser_commit(tc_frame_parser *fp, size_t n) TC_MUST_CHECK;
/* Lends the ready frame: *payload (NULL only when *len is 0) stays valid
 * until tc_frame_parser_next or _release. TC_ESTATE if no frame is ready. */
int tc_frame_parser_peek(const tc_frame_parser *fp, uint16_t *type, const uint8_t **payload,
                         size_t *len) TC_MUST_CHECK;
/* Done with the frame _peek lent: the parser waits for the next header and
 * keeps the payload buffer. No-op if no frame is ready. */
void tc_frame_parser_next(tc_frame_parser *fp);
/* Frees a kept payload buffer larger than keep bytes while no payload is
 * being received: an idle link does not hold on to its largest frame. */
void tc_frame_parser_trim(tc_frame_parser *fp, size_t keep);

/* Bytes the parser still needs to finish the current header or payload (at
 * least 1), so a reader can size its next read. */
size_t tc_frame_parser_want(const tc_frame_parser *fp);

#endif
