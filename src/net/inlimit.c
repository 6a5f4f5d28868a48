#include "net/inlimit.h"

#include <stdlib.h>
#include <string.h>

#include "util/hmap.h"
#include "util/mem.h"

/* A group's bucket counts in 1/60000 of a token, so `rate` tokens per
 * minute refill exactly `rate` units per millisecond. */
#define UNIT 60000u

typedef struct {
    uint64_t level; /* units */
    uint64_t last_ms;
    uint64_t win_start; /* start of the refusal-count window */
    uint32_t refusals;  /* in the window */
    uint64_t seen_ms;   /* last connection attempt */
} group_state;

struct tc_inlimit {
    uint32_t per_minute, rate, burst;
    uint64_t *accepts; /* mono ms of the last per_minute admissions (ring) */
    uint32_t accept_pos;
    tc_hmap *groups;   /* tc_netgroup -> group_state */
    group_state overflow; /* every group that finds the table full */
    uint64_t last_sweep;
};

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

tc_inlimit *tc_inlimit_new(uint32_t per_minute, uint32_t per_group)
{
    tc_inlimit *l = tc_xcalloc(1, sizeof *l);
    l->per_minute = per_minute;
    l->rate = per_group;
    l->burst = min_u32(TC_INLIMIT_GROUP_BURST, per_group);
    if (per_minute && per_group) {
        uint32_t half = per_minute / 2 ? per_minute / 2 : 1;
        l->rate = min_u32(l->rate, half);
        l->burst = min_u32(l->burst, half);
    }
    if (per_minute)
        l->accepts = tc_xcalloc(per_minute, sizeof *l->accepts);
    l->groups = tc_hmap_new(sizeof(tc_netgroup));
    if (l->groups == NULL)
        abort(); /* out of memory */
    return l;
}

static void free_value(void *ctx, const void *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
}

void tc_inlimit_free(tc_inlimit *l)
{
    if (l == NULL)
        return;
    tc_hmap_each(l->groups, free_value, NULL);
    tc_hmap_free(l->groups);
    free(l->accepts);
    free(l);
}

uint32_t tc_inlimit_groups(const tc_inlimit *l)
{
    return (uint32_t)tc_hmap_size(l->groups);
}

static void state_init(group_state *s, const tc_inlimit *l, uint64_t now)
{
    memset(s, 0, sizeof *s);
    s->level = (uint64_t)l->burst * UNIT;
    s->last_ms = s->win_start = s->seen_ms = now;
}

typedef struct {
    uint64_t now;
    tc_netgroup *idle;
    size_t n, cap;
} sweep_ctx;

/* A group silent for a whole window holds a full bucket and no refusals:
 * forgetting it loses nothing. */
static void collect_idle(void *arg, const void *key, void *value)
{
    sweep_ctx *s = arg;
    const group_state *g = value;
    if (s->n < s->cap && s->now >= g->seen_ms + TC_INLIMIT_WINDOW_MS)
        memcpy(&s->idle[s->n++], key, sizeof(tc_netgroup));
}

static void sweep(tc_inlimit *l, uint64_t now)
{
    if (l->last_sweep && now < l->last_sweep + 1000)
        return; /* at most once a second: a full table is scanned whole */
    l->last_sweep = now ? now : 1;
    sweep_ctx s = {.now = now, .cap = tc_hmap_size(l->groups)};
    s.idle = tc_xcalloc(s.cap ? s.cap : 1, sizeof *s.idle);
    tc_hmap_each(l->groups, collect_idle, &s);
    for (size_t i = 0; i < s.n; i++)
        free(tc_hmap_del(l->groups, &s.idle[i]));
    free(s.idle);
}

static group_state *state_of(tc_inlimit *l, const tc_netgroup *g, uint64_t now)
{
    group_state *s = tc_hmap_get(l->groups, g);
    if (s == NULL) {
        if (tc_hmap_size(l->groups) >= TC_INLIMIT_MAX_GROUPS)
            sweep(l, now);
        if (tc_hmap_size(l->groups) >= TC_INLIMIT_MAX_GROUPS) {
            s = &l->overflow;
            if (s->last_ms == 0)
                state_init(s, l, now);
        } else {
            s = tc_xmalloc(sizeof *s);
            state_init(s, l, now);
            tc_hmap_put(l->groups, g, s);
        }
    }
    if (now > s->last_ms) {
        uint64_t cap = (uint64_t)l->burst * UNIT, dt = now - s->last_ms;
        uint64_t add = dt >= cap ? cap : dt * l->rate; /* dt*rate ≤ cap*rate: no overflow */
        s->level = s->level + add > cap ? cap : s->level + add;
        s->last_ms = now;
    }
    if (now >= s->win_start + TC_INLIMIT_WINDOW_MS) {
        s->win_start = now;
        s->refusals = 0;
    }
    if (now > s->seen_ms)
        s->seen_ms = now;
    return s;
}

static void count_refusal(group_state *s)
{
    if (s->refusals < UINT32_MAX)
        s->refusals++;
}

/* At most per_minute admissions in any 60 s window. */
static bool total_ok(const tc_inlimit *l, uint64_t now)
{
    if (l->per_minute == 0)
        return true;
    uint64_t oldest = l->accepts[l->accept_pos];
    return oldest == 0 || now >= oldest + TC_INLIMIT_WINDOW_MS;
}

enum tc_inlimit_verdict tc_inlimit_admit(tc_inlimit *l, const tc_netgroup *g, uint64_t now_ms)
{
    group_state *s = l->rate && g ? state_of(l, g, now_ms) : NULL;
    if (s && s->level < UNIT) {
        count_refusal(s);
        return TC_INLIMIT_GROUP_RATE;
    }
    if (!total_ok(l, now_ms))
        return TC_INLIMIT_TOTAL_RATE;
    if (s)
        s->level -= UNIT;
    if (l->per_minute) {
        l->accepts[l->accept_pos] = now_ms ? now_ms : 1;
        l->accept_pos = (l->accept_pos + 1) % l->per_minute;
    }
    return TC_INLIMIT_ADMIT;
}

void tc_inlimit_refused(tc_inlimit *l, const tc_netgroup *g, uint64_t now_ms)
{
    count_refusal(state_of(l, g, now_ms));
}

bool tc_inlimit_abusive(tc_inlimit *l, const tc_netgroup *g, uint64_t now_ms)
{
    return state_of(l, g, now_ms)->refusals > TC_INLIMIT_ABUSE_REFUSALS;
}
