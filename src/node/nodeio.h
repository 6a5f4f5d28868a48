/* The node's I/O seam: everything the deciding parts of the node
 * (node_driver.c, node_gossip.c, node_sync.c, txdurable.c) do to the world
 * outside them goes through one tc_nodeio: messages to peers, peer queries,
 * bans, one-shot timers, a wake-up other threads can post, the clocks and
 * stopping the loop. node.c installs the real one (tc_nodeio_init: tc_p2p,
 * libevent, tc_clock); a deterministic simulator installs its own and runs
 * the same node code over a simulated network and clock.
 *
 * The worker pool is not here: the node's code never submits to it. The
 * ledger runs its signature checks on the pool it was opened with
 * (tc_ledger_opts), and with none it runs them inline. The sync's verifier
 * threads are the one place the node starts threads: verify_threads says
 * whether it may.
 *
 * Every entry runs on the loop thread except wake_post. Peer ids are the
 * P2P layer's (never 0); peer 0 in an `except`/`from` means none. */
#ifndef TC_NODE_NODEIO_H
#define TC_NODE_NODEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "net/msg.h"
#include "net/p2p.h"
#include "util/err.h"

typedef struct tc_nodeio_timer tc_nodeio_timer;
typedef struct tc_nodeio_wake tc_nodeio_wake;

typedef struct {
    void *ctx;

    /* ---- peers (tc_p2p's contracts) ---- */
    /* Sends m to one established peer: 0, or TC_ENOTFOUND if it is gone. */
    int (*send)(void *ctx, uint64_t peer, const tc_msg *m);
    /* Sends m to every established peer but except; returns how many. */
    size_t (*broadcast)(void *ctx, const tc_msg *m, uint64_t except);
    /* Announces an item by inv to every peer that does not know it yet
     * (marked known for from first); returns how many. */
    size_t (*relay)(void *ctx, uint8_t inv_type, const tc_hash *h, uint64_t from);
    /* Sends the whole m, identified by h, to every peer but from that does
     * not know h yet, and marks it known; returns how many. */
    size_t (*push)(void *ctx, const tc_msg *m, const tc_hash *h, uint64_t from);
    /* Bans peer by node key for the default time (it served something
     * provably invalid) and drops its links: 0, TC_ENOTFOUND if it is gone,
     * or the ban list's error. */
    int (*ban)(void *ctx, uint64_t peer, const char *why);
    /* The current validator set's network addresses, to keep links to. */
    void (*set_mesh)(void *ctx, const char *const *addrs, size_t n);
    /* A heap array (caller frees; may be NULL when 0) of every link's info. */
    size_t (*peers)(void *ctx, tc_peer_info **out);
    /* One peer's info: 0 or TC_ENOTFOUND. */
    int (*peer)(void *ctx, uint64_t peer, tc_peer_info *out);
    /* The channel binding of an established link (the TLS exporter value
     * its mnauth signs): 0, or TC_ENOTFOUND. */
    int (*binding)(void *ctx, uint64_t peer, uint8_t out[32]);
    /* Bytes queued for sending to peer (0 if unknown). */
    size_t (*queued)(void *ctx, uint64_t peer);

    /* ---- one-shot timers ---- */
    /* A disarmed timer that calls fire(arg) on the loop when it expires.
     * Never NULL (aborts on out of memory). */
    tc_nodeio_timer *(*timer_new)(void *ctx, void (*fire)(void *arg), void *arg);
    /* Arms t to fire once, ms from now; an armed t is moved to the new time
     * (it fires once, not twice). fire may arm its own timer again. */
    void (*timer_set)(void *ctx, tc_nodeio_timer *t, uint64_t ms);
    /* Disarms t: it does not fire until set again. A no-op if not armed. */
    void (*timer_cancel)(void *ctx, tc_nodeio_timer *t);
    /* Whether t is armed (false inside its own fire until it is set again). */
    bool (*timer_pending)(void *ctx, const tc_nodeio_timer *t);
    /* Disarms and frees t; NULL is a no-op. */
    void (*timer_free)(void *ctx, tc_nodeio_timer *t);

    /* ---- other threads ---- */
    /* Whether the node may verify signatures on threads of its own (the
     * sync's verifiers). false: every check runs inline on the loop, in
     * order, so a seed replays exactly. */
    bool verify_threads;
    /* A wake-up: fire(arg) runs on the loop soon after any wake_post (posts
     * before it runs may be merged into one call). NULL if none can be made;
     * the caller then waits for its next timer. */
    tc_nodeio_wake *(*wake_new)(void *ctx, void (*fire)(void *arg), void *arg);
    /* Thread-safe: from any thread. */
    void (*wake_post)(tc_nodeio_wake *w);
    /* Frees w (no thread may post to it any more); NULL is a no-op. */
    void (*wake_free)(void *ctx, tc_nodeio_wake *w);

    /* ---- clocks and the loop ---- */
    /* Monotonic milliseconds (timeouts, pacing, ages). */
    uint64_t (*mono_ms)(void *ctx);
    /* Wall-clock milliseconds since the epoch (block and heartbeat times). */
    uint64_t (*wall_ms)(void *ctx);
    /* Makes the loop return after the current event (the node stops). */
    void (*stop)(void *ctx);
} tc_nodeio;

struct event_base;

/* Fills io with the daemon's I/O: libevent timers and wake-ups (an
 * eventfd) on base, tc_clock, verifier threads allowed, and no peers until
 * tc_nodeio_set_p2p (send answers TC_ENOTFOUND, the rest sees none). base
 * must outlive io. Aborts on out of memory. */
void tc_nodeio_init(tc_nodeio *io, struct event_base *base);
/* Routes the peer entries of an io from tc_nodeio_init to p2p (borrowed:
 * set it back to NULL before freeing p2p while io is still used). */
void tc_nodeio_set_p2p(tc_nodeio *io, tc_p2p *p2p);
/* Frees what tc_nodeio_init made (timers and wakes are freed by their
 * owners first). Zeroed io is a no-op. */
void tc_nodeio_release(tc_nodeio *io);

#endif
