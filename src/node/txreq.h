/* Transaction requests (private to the node): which peer we asked for an
 * announced transaction. Every peer that has a transaction announces it
 * (inv); without this each announcement became a getdata, so a node with
 * k peers fetched each transaction up to k times. Now one announcer is
 * asked; the others are remembered (up to TC_TXREQ_ALTS per hash) and the
 * next is asked when the first does not answer within the timeout or goes
 * away, so a peer that announces and withholds delays a transaction by one
 * timeout and cannot suppress it.
 *
 * Bounded: at most max_hashes hashes are tracked and at most max_per_peer
 * requests are outstanding to one peer, so one peer's announcements (a
 * million hashes it never serves) cannot fill the table against others'.
 * An announcement over a bound is not requested (the transaction still
 * reaches us from another announcer or in a block).
 *
 * Pure: no sockets or clock; the caller passes the time and sends the
 * getdata. Single-threaded (the node's loop). */
#ifndef TC_NODE_TXREQ_H
#define TC_NODE_TXREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"

#define TC_TXREQ_ALTS 4 /* other announcers kept per hash */

typedef struct tc_txreq tc_txreq;

/* Asks peer for h (one getdata entry). */
typedef void (*tc_txreq_ask_fn)(void *ctx, uint64_t peer, const tc_hash *h);

/* max_hashes, max_per_peer ≥ 1. Aborts on out of memory. */
tc_txreq *tc_txreq_new(size_t max_hashes, size_t max_per_peer, uint64_t timeout_ms);
void tc_txreq_free(tc_txreq *q); /* NULL is a no-op */

/* peer announced h at now (ms, monotonic): true if the caller should ask
 * it now. false: another peer was asked and has time left (peer is kept
 * as an alternative), or a bound is reached. */
bool tc_txreq_announced(tc_txreq *q, uint64_t peer, const tc_hash *h, uint64_t now);
/* h arrived, from anyone, or is known by other means: forgotten. */
void tc_txreq_received(tc_txreq *q, const tc_hash *h);
/* peer went away: what it was asked goes to the next announcer (ask), and
 * it is no alternative any more. */
void tc_txreq_peer_down(tc_txreq *q, uint64_t peer, uint64_t now, tc_txreq_ask_fn ask, void *ctx);
/* Requests older than the timeout go to the next announcer (ask); a hash
 * without one is forgotten. Call about once a second. */
void tc_txreq_expire(tc_txreq *q, uint64_t now, tc_txreq_ask_fn ask, void *ctx);
/* Hashes tracked; requests outstanding to peer. */
size_t tc_txreq_size(const tc_txreq *q);
size_t tc_txreq_outstanding(const tc_txreq *q, uint64_t peer);

#endif
