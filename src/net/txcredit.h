/* Transaction credit of one peer: how many `tx` messages may skip the gossip
 * token bucket because they answer a `getdata` we sent (docs/protocol.md §6).
 * Pure: the caller passes the monotonic time, so tests drive it with a fake
 * clock.
 *
 * The credit is bounded and expires. Items are granted into the current
 * window of ttl_ms; when the window ends its credit moves to the previous
 * one, and the window before that is forgotten. So an item asked for counts
 * for at least ttl_ms and less than 2 * ttl_ms, and at most `max` items
 * count at once. Two counters are the simplest state that gives both bounds:
 * the protocol has no `notfound` (a peer skips hashes it no longer holds), so
 * answers cannot be matched to items, and a per-getdata list would cost
 * memory and time for no tighter guarantee: a peer may always send the
 * transactions we asked for, whatever they are. */
#ifndef TC_NET_TXCREDIT_H
#define TC_NET_TXCREDIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t max;        /* most items counted at once */
    uint64_t ttl_ms;     /* window length (> 0) */
    uint64_t win_start;  /* start of the current window */
    uint32_t cur, prev;  /* items granted in the current / previous window, not yet taken */
} tc_txcredit;

/* An empty credit at now_ms: at most max items, each counting for
 * [ttl_ms, 2 * ttl_ms). max 0 grants nothing (every tx draws on the bucket);
 * ttl_ms 0 is a bug (aborts). */
void tc_txcredit_init(tc_txcredit *c, uint32_t max, uint64_t ttl_ms, uint64_t now_ms);
/* n more items asked for at now_ms (a getdata sent), as far as the cap
 * allows; returns how many were granted. */
uint32_t tc_txcredit_grant(tc_txcredit *c, uint64_t n, uint64_t now_ms);
/* A transaction arrived at now_ms: true if it consumed an item (oldest
 * first), false if no unexpired credit is left. */
bool tc_txcredit_take(tc_txcredit *c, uint64_t now_ms);
/* Unexpired items at now_ms. */
uint32_t tc_txcredit_left(tc_txcredit *c, uint64_t now_ms);

#endif
