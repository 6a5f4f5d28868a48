#include "net/banscore.h"

static void decay(tc_banscore *s, uint64_t now_ms)
{
    if (now_ms <= s->last_ms)
        return;
    uint64_t steps = (now_ms - s->last_ms) / TC_BANSCORE_DECAY_MS;
    if (steps == 0)
        return;
    s->score = steps >= s->score ? 0 : s->score - (uint32_t)steps;
    s->last_ms += steps * TC_BANSCORE_DECAY_MS;
}

void tc_banscore_init(tc_banscore *s, uint64_t now_ms)
{
    s->score = 0;
    s->last_ms = now_ms;
}

uint32_t tc_banscore_add(tc_banscore *s, uint32_t points, uint64_t now_ms)
{
    decay(s, now_ms);
    s->score = points > UINT32_MAX - s->score ? UINT32_MAX : s->score + points;
    return s->score;
}

uint32_t tc_banscore_get(tc_banscore *s, uint64_t now_ms)
{
    decay(s, now_ms);
    return s->score;
}
