/* The transaction journal: the mempool's pending transactions on disk, so a
 * transaction the node has accepted survives a crash or restart of the node.
 * An append-only file of framed records:
 *
 *   u32 magic "TCTJ" | u32 len | len bytes (an encoded transaction) | u64 check
 *
 * where check is the first 8 bytes of BLAKE3 (TC_H_WAL) of magic, len and the
 * bytes. Appends are written at once and made durable in groups: one
 * tc_txjournal_sync covers every append since the last one. On open the file
 * is read record by record; each length is checked against the limit and the
 * bytes left before it is trusted; the first torn or corrupt record ends the
 * read with one warning and is cut off, what precedes it loads. The file is
 * rewritten whole (temporary file, fsync, rename, fsync dir) from the live
 * set by tc_txjournal_rewrite, so a crash at any moment leaves the old file
 * or the new one. One writer; not thread-safe. */
#ifndef TC_STORE_TXJOURNAL_H
#define TC_STORE_TXJOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define TC_TXJOURNAL_MAX_RECORD (1u << 20) /* the largest transaction (TC_MAX_TX_SIZE) */
#define TC_TXJOURNAL_OVERHEAD 16u          /* framing bytes per record */

typedef struct tc_txjournal tc_txjournal;

/* Called once per good record, in file order; p is valid for the call only. */
typedef void (*tc_txjournal_each)(void *ctx, const uint8_t *p, size_t len);

typedef struct {
    uint64_t records; /* good records read */
    uint64_t bytes;   /* bytes of good records */
    uint64_t dropped; /* bytes cut off after the first torn or corrupt record */
} tc_txjournal_info;

/* Opens or creates the journal at path, calls each for every good record and
 * cuts off a torn or corrupt tail (one warning). info (may be NULL) tells what
 * was read. Returns 0 or TC_EIO; the file's content is never an error. */
int tc_txjournal_open(tc_txjournal **out, const char *path, tc_txjournal_each each, void *ctx,
                      tc_txjournal_info *info) TC_MUST_CHECK;

/* Appends one record (1 .. TC_TXJOURNAL_MAX_RECORD bytes), written but not yet
 * durable. TC_EINVAL (size) or TC_EIO. */
int tc_txjournal_append(tc_txjournal *j, const uint8_t *p, size_t len) TC_MUST_CHECK;

/* Makes every append so far durable (one fdatasync; none if nothing is new).
 * 0 or TC_EIO. */
int tc_txjournal_sync(tc_txjournal *j) TC_MUST_CHECK;

/* Replaces the file by n records (recs[i], lens[i]), durably and atomically;
 * appends continue after them. On TC_EIO the old file stays in use. */
int tc_txjournal_rewrite(tc_txjournal *j, const uint8_t *const *recs, const size_t *lens,
                         size_t n) TC_MUST_CHECK;

/* Bytes in the file (good records only). */
uint64_t tc_txjournal_size(const tc_txjournal *j);

void tc_txjournal_close(tc_txjournal *j); /* NULL is a no-op; does not sync */

#endif
