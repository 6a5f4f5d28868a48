/* Token bucket: `rate` tokens per second, at most `burst` stored. Pure: the
 * caller passes the monotonic time, so tests drive it with a fake clock.
 * Levels are kept in thousandths of a token, so rates below 1/s work and no
 * floating point is involved. */
#ifndef TC_NET_TOKENBUCKET_H
#define TC_NET_TOKENBUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t rate;  /* tokens per second; 0 = unlimited */
    uint32_t burst; /* capacity in tokens (≥ 1 when rate > 0) */
    uint64_t level; /* thousandths of a token */
    uint64_t last_ms;
} tc_tokenbucket;

/* Starts full at now_ms. */
void tc_tokenbucket_init(tc_tokenbucket *tb, uint32_t rate, uint32_t burst, uint64_t now_ms);
/* Takes one token if available: true = allowed, false = over the limit (no
 * token taken). A clock that goes backwards refills nothing. */
bool tc_tokenbucket_take(tc_tokenbucket *tb, uint64_t now_ms);
/* Whole tokens available at now_ms (refills first). */
uint32_t tc_tokenbucket_available(tc_tokenbucket *tb, uint64_t now_ms);

#endif
