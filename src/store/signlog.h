/* The sign log: a small append-only file that makes the consensus core's
 * last-signed state durable before a signed message leaves the node
 * (DESIGN.md §5). Records are fixed-size and framed:
 *
 *   u32 magic "TCSL" | record | u64 check
 *
 * where check is the first 8 bytes of BLAKE3 (TC_H_WAL) of magic and record:
 * the framing check that a CRC would give, in the project's one hash. Every
 * append is fsync'd. On open, a torn tail (a partial last frame, or a last
 * frame whose check fails) is truncated with a warning, never fatal; a bad
 * frame followed by good ones is real corruption (TC_ECORRUPT). The file is
 * compacted to its last record (write, fsync, rename, fsync dir) when it grows
 * past TC_SIGNLOG_COMPACT bytes. One writer; not thread-safe. */
#ifndef TC_STORE_SIGNLOG_H
#define TC_STORE_SIGNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define TC_SIGNLOG_MAX_RECORD 1024
#define TC_SIGNLOG_COMPACT 65536

typedef struct tc_signlog tc_signlog;

/* Opens or creates the log at path for records of rec_size bytes (1 ..
 * TC_SIGNLOG_MAX_RECORD). On success *have tells whether a record exists and
 * last (rec_size bytes) holds the newest. Returns 0, TC_EINVAL, TC_EIO, or
 * TC_ECORRUPT. */
int tc_signlog_open(tc_signlog **out, const char *path, size_t rec_size, uint8_t *last,
                    bool *have) TC_MUST_CHECK;
/* Appends one record (rec_size bytes) and fsyncs; 0 or TC_EIO. After TC_EIO
 * the caller must not send what it was about to sign. */
int tc_signlog_append(tc_signlog *l, const uint8_t *rec) TC_MUST_CHECK;
void tc_signlog_close(tc_signlog *l); /* NULL is a no-op */

#endif
