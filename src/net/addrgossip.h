/* Address gossip of one P2P endpoint (private to src/net; p2p.c is its only
 * user): when this node sends `getpeers`, how it answers one, which `peers`
 * it takes into the address book, and which gossiped address it may dial
 * (one automatic outbound link per address group). The limits are the
 * TC_P2P_* constants of p2p.h and docs/protocol.md §8. Everything runs on
 * the endpoint's loop thread; times are monotonic ms. */
#ifndef TC_NET_ADDRGOSSIP_H
#define TC_NET_ADDRGOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addrbook.h"
#include "net/peer.h"

typedef struct {
    tc_addrbook *book;      /* borrowed */
    tc_p2p_stats *stats;    /* the endpoint's totals (borrowed) */
    uint32_t ban_score;     /* score that bans */
    uint32_t interval_ms;   /* the timer's period; 0: no timer */
    uint64_t last_ask;      /* the timer's last `getpeers` */
} tc_addrgossip;

/* Fills g; the timer's first `getpeers` is interval_ms after now. */
void tc_addrgossip_init(tc_addrgossip *g, tc_addrbook *book, tc_p2p_stats *stats, uint32_t ban_score,
                        uint32_t interval_ms, uint64_t now);
/* Sends c a `getpeers` and opens the window in which its `peers` is taken. */
void tc_addrgossip_ask(tc_addrgossip *g, tc_peer *c, uint64_t now);
/* c sent `getpeers`: answers with up to TC_P2P_PEERS_MAX addresses, unless it
 * was answered within TC_P2P_GETPEERS_ANSWER_MS (then counted, ignored). */
void tc_addrgossip_answer(tc_addrgossip *g, tc_peer *c, uint64_t now);
/* c sent `peers` m. Taken (its first TC_P2P_PEERS_MAX addresses, learnt from
 * c's address group) only as the answer to an open `getpeers` of ours; else
 * counted and TC_P2P_UNSOLICITED_POINTS added to c's ban score. 0, or
 * TC_ENET_PROTOCOL when that score reached the ban: the caller drops and
 * bans c. */
int tc_addrgossip_take(tc_addrgossip *g, tc_peer *c, const tc_msg *m, uint64_t now) TC_MUST_CHECK;
/* The timer: every interval_ms while the book holds fewer than
 * TC_P2P_BOOK_SMALL gossiped addresses, a `getpeers` to one random
 * established outbound peer of the list live that has none open. */
void tc_addrgossip_tick(tc_addrgossip *g, tc_peer *live, uint64_t now);
/* Whether dialling addr would open a second automatic outbound link (to a
 * gossiped address, not one of the n_mesh validator addresses in mesh) in
 * its address group, counting the outbound links of the list live. */
bool tc_addrgossip_group_taken(const tc_addrgossip *g, const tc_peer *live, const tc_netaddr *mesh,
                               size_t n_mesh, const char *addr);

#endif
