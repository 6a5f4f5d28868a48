/* The store's write guard: tells a full map or disk from a real I/O error
 * (LMDB reports ENOSPC as EIO on some write paths), and while the disk is
 * full lets a write through only after a backoff, so a node that cannot
 * write waits for space without spinning: one attempt, and one log line, at
 * most every TC_DISKGUARD_MAX_BACKOFF_MS. Single-threaded (the store's one
 * writer holds it). */
#ifndef TC_STORE_DISKGUARD_H
#define TC_STORE_DISKGUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* Below this many bytes free for us on the data dir's filesystem an EIO on
 * a write is read as "disk full" (LMDB needs whole pages, and more than one
 * per commit). */
#define TC_DISKGUARD_MIN_FREE (1u << 20)
#define TC_DISKGUARD_FIRST_BACKOFF_MS 1000u
#define TC_DISKGUARD_MAX_BACKOFF_MS 8000u

typedef struct {
    bool full;
    uint64_t next_try_ms;
    uint64_t backoff_ms;
    uint64_t attempts; /* failed writes since the disk filled */
    char why[160];
} tc_diskguard;

/* Whether the failed write (rc: an LMDB or errno code) means the map or the
 * disk under dir is full: MDB_MAP_FULL, ENOSPC, EDQUOT always; EIO when
 * statvfs(dir) shows less than TC_DISKGUARD_MIN_FREE available. */
bool tc_diskguard_is_full(int rc, const char *dir);

/* Records a failed write that tc_diskguard_is_full named, at now_ms
 * (monotonic): logs `store: map or disk full` with dir, the free bytes and
 * when the next attempt is, and doubles the backoff. */
void tc_diskguard_failed(tc_diskguard *g, const char *dir, int rc, uint64_t now_ms);

/* Whether a write may be tried now: always when not full; when full, once
 * the backoff since the last failure has passed. */
bool tc_diskguard_may_write(const tc_diskguard *g, uint64_t now_ms);

/* A write committed: the store is writable again (logged once if it was not). */
void tc_diskguard_ok(tc_diskguard *g, const char *dir);

/* At start: TC_ESTORE_FULL with `store: map or disk full`, dir and the free
 * bytes in e when dir's filesystem has less than TC_DISKGUARD_MIN_FREE
 * available (the node could not commit a block), else 0. */
int tc_diskguard_check_start(const char *dir, tc_errmsg *e) TC_MUST_CHECK;

#endif
