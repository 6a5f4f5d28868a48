#include "node/signhold.h"

#include <string.h>

#include "chain/cert.h"
#include "util/log.h"

/* x + 2·drift, saturating at UINT64_MAX (a clock at its limit holds for good). */
static uint64_t after_drift(uint64_t x, uint32_t drift_ms)
{
    uint64_t d = 2 * (uint64_t)drift_ms;
    return x > UINT64_MAX - d ? UINT64_MAX : x + d;
}

int tc_signhold_scan(tc_ledger *L, const tc_pubkey *self, uint64_t *height)
{
    *height = 0;
    uint64_t tip = tc_ledger_height(L);
    for (uint64_t h = tip, seen = 0; h >= 1 && seen < TC_SIGNHOLD_DEPTH; h--, seen++) {
        tc_cert c;
        tc_cert_init(&c);
        int err = tc_ledger_get_cert(L, h, &c);
        if (err == TC_ENOTFOUND)
            continue; /* not kept for this height */
        if (err)
            return err;
        bool mine = false;
        for (size_t i = 0; i < c.n && !mine; i++)
            mine = tc_pubkey_eq(&c.sigs[i].key, self);
        tc_cert_release(&c);
        if (mine) {
            *height = h;
            return 0;
        }
    }
    return 0;
}

void tc_signhold_init(tc_signhold *h, uint64_t log_height, uint64_t signed_height, bool resume_now,
                      uint64_t now_wall_ms, uint32_t drift_ms)
{
    memset(h, 0, sizeof *h);
    h->log_height = log_height;
    h->signed_height = signed_height;
    h->held = signed_height > log_height && !resume_now;
    h->drift_ms = drift_ms;
    h->release_ms = after_drift(now_wall_ms, drift_ms);
}

int tc_signhold_start(tc_signhold *h, tc_ledger *L, const tc_pubkey *self, uint64_t log_height, const char *log_path,
                      bool resume_now, uint64_t now_wall_ms, uint32_t drift_ms, tc_errmsg *e)
{
    uint64_t signed_h = 0;
    int err = tc_signhold_scan(L, self, &signed_h);
    if (err)
        return tc_fail(e, err, "reading certificates to check the sign log: %s", tc_strerror(err));
    tc_signhold_init(h, log_height, signed_h, resume_now, now_wall_ms, drift_ms);
    if (signed_h <= log_height)
        return 0;
    if (resume_now)
        tc_log_warn("node", "sign log is behind the chain; signing anyway (resume-signing = now)",
                    "sign_log_height=%llu chain_signed_height=%llu", (unsigned long long)log_height,
                    (unsigned long long)signed_h);
    else
        tc_log_error("node", "sign log is behind the chain; not signing until the network has moved on",
                     "sign_log=%s sign_log_height=%llu chain_signed_height=%llu wait_ms=%llu hint=%s", log_path,
                     (unsigned long long)log_height, (unsigned long long)signed_h,
                     (unsigned long long)(2 * (uint64_t)drift_ms),
                     "consensus.log was deleted, emptied or restored from an older copy; the node follows and signs "
                     "again after a block dated later than the wait; do not run a second instance with this key");
    return 0;
}

bool tc_signhold_sighting(tc_signhold *h, const char *what, uint64_t height, uint64_t now_wall_ms)
{
    uint64_t until = after_drift(now_wall_ms, h->drift_ms);
    if (until > h->release_ms)
        h->release_ms = until;
    if (h->sightings++ % 100 != 0)
        return false;
    tc_log_error("node", "a message signed with this validator's key that this node did not sign",
                 "what=%s height=%llu seen=%llu hint=%s", what, (unsigned long long)height,
                 (unsigned long long)h->sightings,
                 "another timed may be running with this operator key (stop it), or these are the last messages "
                 "of this node's earlier run; it signs again once a block is dated 2 x the drift limit after "
                 "the last one");
    return true;
}

bool tc_signhold_on_commit(tc_signhold *h, uint64_t height, uint64_t time_ms)
{
    if (!h->held || time_ms <= h->release_ms)
        return false;
    h->held = false;
    h->released_height = height;
    tc_log_warn("node", "signing resumed", "after_height=%llu block_time_ms=%llu sightings=%llu",
                (unsigned long long)height, (unsigned long long)time_ms, (unsigned long long)h->sightings);
    return true;
}
