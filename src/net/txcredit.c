#include "net/txcredit.h"

#include <stdlib.h>

/* Moves the windows up to now: one window on, the current credit becomes the
 * previous; two or more, everything has expired. A clock that goes backwards
 * moves nothing. */
static void advance(tc_txcredit *c, uint64_t now_ms)
{
    if (now_ms < c->win_start || now_ms - c->win_start < c->ttl_ms)
        return;
    uint64_t windows = (now_ms - c->win_start) / c->ttl_ms;
    c->prev = windows == 1 ? c->cur : 0;
    c->cur = 0;
    c->win_start += windows * c->ttl_ms;
}

void tc_txcredit_init(tc_txcredit *c, uint32_t max, uint64_t ttl_ms, uint64_t now_ms)
{
    if (ttl_ms == 0)
        abort(); /* a window of no length: a bug in the caller */
    c->max = max;
    c->ttl_ms = ttl_ms;
    c->win_start = now_ms;
    c->cur = c->prev = 0;
}

uint32_t tc_txcredit_grant(tc_txcredit *c, uint64_t n, uint64_t now_ms)
{
    advance(c, now_ms);
    uint32_t held = c->cur + c->prev; /* each ≤ max, and so is the sum */
    uint32_t room = c->max > held ? c->max - held : 0;
    uint32_t g = n < room ? (uint32_t)n : room;
    c->cur += g;
    return g;
}

bool tc_txcredit_take(tc_txcredit *c, uint64_t now_ms)
{
    advance(c, now_ms);
    if (c->prev) {
        c->prev--;
        return true;
    }
    if (c->cur) {
        c->cur--;
        return true;
    }
    return false;
}

uint32_t tc_txcredit_left(tc_txcredit *c, uint64_t now_ms)
{
    advance(c, now_ms);
    return c->cur + c->prev;
}
