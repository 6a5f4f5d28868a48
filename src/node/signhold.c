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

int tc_signhold_scan(tc_ledger *L, const tc_pubkey *self, uint32_t depth, uint64_t *height)
{
    *height = 0;
    uint64_t tip = tc_ledger_height(L);
    for (uint64_t h = tip, seen = 0; h >= 1 && seen < depth; h--, seen++) {
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
    h->why = h->held ? TC_SIGNHOLD_LOG_BEHIND : TC_SIGNHOLD_NONE;
    h->gated = !resume_now;
    h->drift_ms = drift_ms;
    h->depth = TC_SIGNHOLD_DEPTH;
    h->release_ms = after_drift(now_wall_ms, drift_ms);
    h->start_ms = now_wall_ms;
}

/* The hold's start line: the chain (at start, or just synced) shows this key
 * signed above the sign log. */
static void log_hold(const tc_signhold *h, const char *log_path)
{
    if (h->why == TC_SIGNHOLD_SYNCED_SIGNS)
        tc_log_error("node", "the blocks just synced carry this validator's precommits above its sign log; not "
                     "signing until the network has moved on",
                     "sign_log_height=%llu chain_signed_height=%llu start_height=%llu height=%llu wait_ms=%llu "
                     "hint=%s", (unsigned long long)h->log_height, (unsigned long long)h->signed_height,
                     (unsigned long long)h->start_height, (unsigned long long)h->gate_height,
                     (unsigned long long)(2 * (uint64_t)h->drift_ms),
                     "this data dir is an older copy of a validator that went on signing (a backup restored, or "
                     "a copy started): it signs again after a block dated later than the wait; stop any other "
                     "instance with this key");
    else
        tc_log_error("node", "sign log is behind the chain; not signing until the network has moved on",
                     "sign_log=%s sign_log_height=%llu chain_signed_height=%llu wait_ms=%llu hint=%s", log_path,
                     (unsigned long long)h->log_height, (unsigned long long)h->signed_height,
                     (unsigned long long)(2 * (uint64_t)h->drift_ms),
                     "consensus.log was deleted, emptied or restored from an older copy; the node follows and "
                     "signs again after a block dated later than the wait; do not run a second instance with this "
                     "key");
}

int tc_signhold_start(tc_signhold *h, tc_ledger *L, const tc_pubkey *self, uint64_t log_height, const char *log_path,
                      bool resume_now, uint64_t now_wall_ms, uint32_t drift_ms, uint32_t depth, tc_errmsg *e)
{
    uint64_t signed_h = 0;
    memset(h, 0, sizeof *h);
    int err = tc_signhold_scan(L, self, depth, &signed_h);
    if (err)
        return tc_fail(e, err, "reading certificates to check the sign log: %s", tc_strerror(err));
    tc_signhold_init(h, log_height, signed_h, resume_now, now_wall_ms, drift_ms);
    h->depth = depth;
    h->start_height = tc_ledger_height(L);
    if (h->gated)
        tc_log_info("node", "not signing until peers show this node is at the network's height",
                    "height=%llu sign_log_height=%llu", (unsigned long long)h->start_height,
                    (unsigned long long)log_height);
    if (signed_h <= log_height)
        return 0;
    if (resume_now)
        tc_log_warn("node", "sign log is behind the chain; signing anyway (resume-signing = now)",
                    "sign_log_height=%llu chain_signed_height=%llu", (unsigned long long)log_height,
                    (unsigned long long)signed_h);
    else
        log_hold(h, log_path);
    return 0;
}

bool tc_signhold_may_sign(const tc_signhold *h)
{
    return !h->held && !h->gated;
}

const char *tc_signhold_why_name(enum tc_signhold_why why)
{
    switch (why) {
    case TC_SIGNHOLD_LOG_BEHIND:
        return "sign_log_behind_chain";
    case TC_SIGNHOLD_SYNCED_SIGNS:
        return "own_key_in_synced_certificates";
    case TC_SIGNHOLD_FOREIGN:
        return "foreign_signature";
    default:
        return "none";
    }
}

const char *tc_signhold_reason(const tc_signhold *h)
{
    if (h->held)
        return tc_signhold_why_name(h->why);
    return h->gated ? "network_height_unknown" : NULL;
}

void tc_signhold_reports(const tc_valset *vs, const tc_pubkey *self, uint64_t tip, const tc_peer_info *peers,
                         size_t n, const tc_oplinks *ops, tc_signhold_report *out)
{
    for (size_t i = 0; i < vs->n; i++) {
        tc_signhold_report *r = &out[i];
        memset(r, 0, sizeof *r);
        r->weight = vs->v[i].weight;
        if (tc_pubkey_eq(&vs->v[i].key, self)) {
            r->reported = true;
            r->height = tip;
        }
    }
    for (size_t k = 0; k < n; k++) {
        tc_pubkey op;
        if (!peers[k].established || !tc_oplinks_operator(ops, peers[k].id, &op) || tc_pubkey_eq(&op, self))
            continue;
        long i = tc_valset_find(vs, &op);
        if (i >= 0)
            tc_signhold_report_note(&out[i], peers[k].height);
    }
}

void tc_signhold_report_note(tc_signhold_report *r, uint64_t height)
{
    if (!r->reported || height > r->height)
        r->height = height;
    r->reported = true;
}

uint64_t tc_signhold_weight_at(const tc_signhold_report *r, size_t n, uint64_t tip)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].reported && r[i].height <= tip)
            w += r[i].weight;
    return w;
}

int tc_signhold_gate(tc_signhold *h, tc_ledger *L, const tc_pubkey *self, uint64_t tip, uint64_t agree,
                     uint64_t total, bool *opened, tc_errmsg *e)
{
    *opened = false;
    /* more than 2/3: 3·agree > 2·total, in 128 bits so no weight sum wraps */
    if (!h->gated || (unsigned __int128)agree * 3 <= (unsigned __int128)total * 2)
        return 0;
    uint64_t signed_h = 0;
    if (tip > h->start_height) { /* what sync brought in was never searched */
        int err = tc_signhold_scan(L, self, h->depth, &signed_h);
        if (err)
            return tc_fail(e, err, "reading the synced certificates for this key: %s", tc_strerror(err));
    }
    h->gated = false;
    h->gate_height = tip;
    h->gate_weight = agree;
    *opened = true;
    /* found overrides a sighting's reason: it says what happened (an old copy) */
    bool found = signed_h > h->log_height && !(h->held && h->why != TC_SIGNHOLD_FOREIGN);
    if (found) {
        h->held = true;
        h->why = TC_SIGNHOLD_SYNCED_SIGNS;
        h->signed_height = signed_h;
    }
    tc_log_info("node", "at the network's height", "height=%llu start_height=%llu weight=%llu total=%llu signing=%s",
                (unsigned long long)tip, (unsigned long long)h->start_height, (unsigned long long)agree,
                (unsigned long long)total, h->held ? "held" : "yes");
    if (found)
        log_hold(h, NULL);
    return 0;
}

bool tc_signhold_sighting(tc_signhold *h, const char *what, uint64_t height, uint64_t now_wall_ms)
{
    if (!h->held && height <= h->log_height)
        return false; /* gated only: this node's own messages from before its restart, circulating */
    uint64_t until = after_drift(now_wall_ms, h->drift_ms);
    if (until > h->release_ms)
        h->release_ms = until;
    if (!h->held) {
        h->held = true;
        h->why = TC_SIGNHOLD_FOREIGN;
    }
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
    if ((!h->held && !h->gated) || time_ms <= h->release_ms)
        return false;
    if (h->gated)
        tc_log_info("node", "signing: a block dated after the start's wait committed", "after_height=%llu "
                    "block_time_ms=%llu start_height=%llu", (unsigned long long)height,
                    (unsigned long long)time_ms, (unsigned long long)h->start_height);
    if (h->held)
        tc_log_warn("node", "signing resumed", "after_height=%llu block_time_ms=%llu sightings=%llu",
                    (unsigned long long)height, (unsigned long long)time_ms, (unsigned long long)h->sightings);
    if (h->held)
        h->released_height = height;
    h->held = h->gated = false;
    return true;
}
