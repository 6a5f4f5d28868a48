#include "node/signhold.h"

#include <string.h>

#include "chain/cert.h"

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
    h->release_ms = after_drift(now_wall_ms, drift_ms);
}

bool tc_signhold_sighting(tc_signhold *h, uint64_t now_wall_ms, uint32_t drift_ms)
{
    uint64_t until = after_drift(now_wall_ms, drift_ms);
    if (until > h->release_ms)
        h->release_ms = until;
    return h->sightings++ % 100 == 0;
}

bool tc_signhold_on_commit(tc_signhold *h, uint64_t height, uint64_t time_ms)
{
    if (!h->held || time_ms <= h->release_ms)
        return false;
    h->held = false;
    h->released_height = height;
    return true;
}
