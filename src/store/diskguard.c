#include "store/diskguard.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "util/log.h"

/* Bytes available to an unprivileged writer on dir's filesystem; UINT64_MAX
 * when statvfs cannot say. */
static uint64_t free_bytes(const char *dir)
{
    struct statvfs v;
    if (statvfs(dir, &v) != 0)
        return UINT64_MAX;
    return (uint64_t)v.f_bavail * v.f_frsize;
}

bool tc_diskguard_is_full(int rc, const char *dir)
{
    if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT)
        return true;
    return rc == EIO && free_bytes(dir) < TC_DISKGUARD_MIN_FREE;
}

void tc_diskguard_failed(tc_diskguard *g, const char *dir, int rc, uint64_t now_ms)
{
    g->backoff_ms = !g->full ? TC_DISKGUARD_FIRST_BACKOFF_MS
                    : 2 * g->backoff_ms > TC_DISKGUARD_MAX_BACKOFF_MS ? TC_DISKGUARD_MAX_BACKOFF_MS
                                                                      : 2 * g->backoff_ms;
    g->full = true;
    g->attempts++;
    g->next_try_ms = now_ms + g->backoff_ms;
    uint64_t avail = free_bytes(dir);
    const char *what = rc == MDB_MAP_FULL ? "map full (store-map-mb)" : "disk full";
    snprintf(g->why, sizeof g->why, "store: map or disk full: %s on %s (%llu bytes free)", what, dir,
             avail == UINT64_MAX ? 0ull : (unsigned long long)avail);
    tc_log_error("store", "store: map or disk full", "path=%s cause=%s err=%s free_bytes=%llu attempt=%llu "
                 "retry_in_ms=%llu hint=%s",
                 dir, what, mdb_strerror(rc), avail == UINT64_MAX ? 0ull : (unsigned long long)avail,
                 (unsigned long long)g->attempts, (unsigned long long)g->backoff_ms,
                 "free disk space (or raise store-map-mb); a node that cannot commit blocks stops (exit 2): start it again after");
}

bool tc_diskguard_may_write(const tc_diskguard *g, uint64_t now_ms)
{
    return !g->full || now_ms >= g->next_try_ms;
}

void tc_diskguard_ok(tc_diskguard *g, const char *dir)
{
    if (!g->full)
        return;
    tc_log_info("store", "store writable again", "path=%s failed_attempts=%llu", dir, (unsigned long long)g->attempts);
    g->full = false;
    g->attempts = 0;
    g->backoff_ms = 0;
    g->why[0] = '\0';
}

int tc_diskguard_check_start(const char *dir, tc_errmsg *e)
{
    uint64_t avail = free_bytes(dir);
    if (avail >= TC_DISKGUARD_MIN_FREE)
        return 0;
    return tc_fail(e, TC_ESTORE_FULL,
                   "store: map or disk full: %s has %llu bytes free (at least %u needed to commit blocks); "
                   "free disk space, then start again",
                   dir, (unsigned long long)avail, TC_DISKGUARD_MIN_FREE);
}
