#include "net/tokenbucket.h"

static void refill(tc_tokenbucket *tb, uint64_t now_ms)
{
    if (now_ms <= tb->last_ms)
        return;
    uint64_t cap = (uint64_t)tb->burst * 1000;
    uint64_t dt = now_ms - tb->last_ms;
    /* rate tokens/s = rate thousandths per ms; capping dt keeps dt*rate small */
    uint64_t full_after = cap / tb->rate + 1;
    if (dt > full_after)
        dt = full_after;
    tb->level += dt * tb->rate;
    if (tb->level > cap)
        tb->level = cap;
    tb->last_ms = now_ms;
}

void tc_tokenbucket_init(tc_tokenbucket *tb, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
    tb->rate = rate;
    tb->burst = rate && burst == 0 ? 1 : burst;
    tb->level = (uint64_t)tb->burst * 1000;
    tb->last_ms = now_ms;
}

bool tc_tokenbucket_take(tc_tokenbucket *tb, uint64_t now_ms)
{
    if (tb->rate == 0)
        return true;
    refill(tb, now_ms);
    if (tb->level < 1000)
        return false;
    tb->level -= 1000;
    return true;
}

uint32_t tc_tokenbucket_available(tc_tokenbucket *tb, uint64_t now_ms)
{
    if (tb->rate == 0)
        return UINT32_MAX;
    refill(tb, now_ms);
    return (uint32_t)(tb->level / 1000);
}
