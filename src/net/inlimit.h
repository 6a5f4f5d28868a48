/* Admission of new inbound connections (issue 11, attack 5): a token bucket
 * per source group (tc_netgroup: /24, /64) is checked before the node's
 * total budget, so a group over its own share is refused before it takes
 * anything from the total and one flooding source can never keep new honest
 * peers from other groups out. Refusals are counted per group, so a flood
 * that goes on can be banned by the caller.
 *
 * Pure: the caller passes monotonic milliseconds. Memory is bounded: at most
 * TC_INLIMIT_MAX_GROUPS groups are tracked; past that, idle ones are
 * forgotten and, if none is idle, new groups share one entry. */
#ifndef TC_NET_INLIMIT_H
#define TC_NET_INLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "net/netgroup.h"

#define TC_INLIMIT_MAX_GROUPS 4096u
#define TC_INLIMIT_GROUP_BURST 4u      /* connections a quiet group may open at once */
#define TC_INLIMIT_ABUSE_REFUSALS 20u  /* refusals of one group within a minute: abuse */
#define TC_INLIMIT_WINDOW_MS 60000u

typedef struct tc_inlimit tc_inlimit;

enum tc_inlimit_verdict {
    TC_INLIMIT_ADMIT = 0,
    TC_INLIMIT_GROUP_RATE, /* the source group is over its own rate (counted against it) */
    TC_INLIMIT_TOTAL_RATE, /* the node is over its total rate (not the group's fault) */
};

/* per_minute: new inbound connections in total per minute (0: no total
 * limit), at most per_minute in any 60 s. per_group: per source group per
 * minute (0: no group limit), burst min(TC_INLIMIT_GROUP_BURST, per_group);
 * rate and burst are capped at half of per_minute so that no single group
 * can spend the total. Never NULL (tc_xmalloc's policy). */
tc_inlimit *tc_inlimit_new(uint32_t per_minute, uint32_t per_group);
void tc_inlimit_free(tc_inlimit *l); /* NULL is a no-op */

/* Decides on a new inbound connection from group g at now_ms: the group's
 * bucket first, then the total; a token is taken from both only when both
 * admit. A GROUP_RATE verdict counts as a refusal of g. g NULL: the total
 * only (a source the caller trusts, such as a validator's address). */
enum tc_inlimit_verdict tc_inlimit_admit(tc_inlimit *l, const tc_netgroup *g, uint64_t now_ms);
/* Counts a refusal of g decided by the caller (e.g. the group already holds
 * its share of connections). */
void tc_inlimit_refused(tc_inlimit *l, const tc_netgroup *g, uint64_t now_ms);
/* Whether g was refused more than TC_INLIMIT_ABUSE_REFUSALS times in the
 * current minute (a flood that goes on, not a peer retrying with backoff). */
bool tc_inlimit_abusive(tc_inlimit *l, const tc_netgroup *g, uint64_t now_ms);
/* Groups tracked now (tests, metrics). */
uint32_t tc_inlimit_groups(const tc_inlimit *l);

#endif
