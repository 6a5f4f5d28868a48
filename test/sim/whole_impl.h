/* Private to the whole-node mode (whole.c, simio.c, wcheck.c, wallet.c):
 * the world of N real nodes (src/node/nodeparts.h) in one process, each
 * over its own simulated tc_nodeio, on one event queue and one clock. */
#ifndef TC_SIM_WHOLE_IMPL_H
#define TC_SIM_WHOLE_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "evq.h"
#include "net/knownset.h"
#include "node/nodeparts.h"
#include "rng.h"
#include "util/hmap.h"
#include "whole.h"

#define W_GENESIS_MS 1767225600000ull /* 2026-01-01: the devnet genesis time; wall = this + 1 s + sim time */
#define W_TICK_MS 1000                /* the daemon's once-a-second tick */
#define W_PING_MS 1000                /* each link carries the sender's height this often (ping/pong) */

/* What an EV_WHOLE event is. */
enum w_what {
    W_TIMER = 1, /* p: the tc_nodeio_timer, a: its generation */
    W_DELIVER,   /* p: a wmsg (owned), from: sender */
    W_HEIGHT,    /* a: the sender's height (the ping's field) */
    W_TICK,
    W_HEARTBEAT,
    W_CRASH,
    W_RESTART,
    W_PART_START, /* a: the nodes on side 1 */
    W_PART_END,
    W_WALLET,
    W_UNLINK, /* node banned peer a: their link goes down for good */
    W_BYZ,    /* a Byzantine node's own timer (byz.c: the junk flood) */
    W_FILL,   /* disk-full: node's store reopened with a few pages to spare */
    W_FREED   /* disk-full: the operator freed space; node restarted with its map */
};

struct tc_nodeio_timer {
    struct wnode *owner;
    void (*fire)(void *arg);
    void *arg;
    bool armed, dead; /* dead: freed by the node, memory kept until the node closes */
    uint64_t gen;     /* bumped by every set and cancel: older events are stale */
};

/* One message in flight: its encoded payload. */
typedef struct {
    uint16_t type;
    bool bad; /* a Byzantine node's provably invalid message (byz.c counts its delivery) */
    size_t len;
    uint8_t data[];
} wmsg;

typedef struct wnode {
    struct wworld *w;
    int idx;
    bool up;
    uint32_t epoch; /* incarnation: events of an older one are dropped */
    tc_config cfg;
    tc_node *node;
    tc_nodeio io;
    tc_pubkey op; /* operator key (every whole node is a validator) */
    tc_pubkey node_key; /* its P2P identity, what its peers see */
    tc_nodeio_timer **timers;
    size_t n_timers, cap_timers;
    tc_knownset *known[WHOLE_MAX_NODES]; /* per peer: item hashes it knows (pushed, relayed, sent by it) */
    uint64_t peer_height[WHOLE_MAX_NODES];
    uint32_t link_gen[WHOLE_MAX_NODES]; /* per peer: links made so far (the same on both ends) */
    uint64_t checked; /* the checker has compared heights 1..checked of this node */
    uint64_t commits; /* heights this node committed (all incarnations) */
    uint64_t sync_since; /* when it last began to sync (0: not syncing) */
    bool byz;         /* Byzantine (byz.c): its messages pass the mutator; the checker skips it */
    bool banned[WHOLE_MAX_NODES]; /* peers this node banned: never linked again */
    bool halted;       /* fork-halt (wfork.c): its fork query halted commits */
    bool fill_armed;   /* disk-full: its store is nearly full; a stop for it is expected */
    int full_stops;    /* disk-full: times it stopped on a full store */
    uint64_t halt_tip; /* its height when it halted */
} wnode;

typedef struct wworld {
    const whole_config *cfg;
    whole_result *res;
    sim_rng rng;
    sim_evq q;
    uint64_t now;
    int n;
    wnode nodes[WHOLE_MAX_NODES];
    char root[256];  /* temporary directory, removed at the end */
    char net[300];   /* root/net: the devnet (genesis.json, node<i>/, faucet.wallet) */
    /* network */
    unsigned loss, dup, slow; /* per mille */
    uint16_t link_lo[WHOLE_MAX_NODES][WHOLE_MAX_NODES], link_hi[WHOLE_MAX_NODES][WHOLE_MAX_NODES];
    bool part_active;
    uint64_t part_mask;
    uint64_t faults_until; /* the planned faults are over by then */
    /* checker (wcheck.c) */
    tc_hash *canon, *canon_utxo; /* block hash and UTXO commitment of height h at [h - 1] */
    uint64_t ncanon, capcanon;
    uint64_t supply0;            /* value of the UTXO set at genesis */
    tc_hmap *signs;              /* (key, height, round, step) -> signed value */
    uint64_t last_advance_ms;    /* when the highest committed height last grew */
    uint64_t healthy_since_ms;   /* when the last fault ended (0: none yet) */
    int faults;                  /* faults in effect: partitions, nodes down */
    bool failed;
    tc_hasher digest; /* every event, in order: two runs of a seed must agree */
    /* wallet (wallet.c) */
    struct wwallet *wallet;
    struct wbyz *byz; /* byz.c; NULL when every node is honest */
    /* fork-halt (wfork.c) */
    uint64_t fork_height;     /* first height two honest nodes committed differently (0: none yet) */
    uint64_t fork_seen_ms, fork_heal_ms, fork_last_halt_ms;
    bool fork_healed;         /* the halves are joined */
} wworld;

/* whole.c */
void w_violation(wworld *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void w_push(wworld *w, sim_event *e);
/* An EV_WHOLE event of kind what for node at t. */
void w_at(wworld *w, uint64_t t, uint8_t what, int node, uint64_t a);

/* simio.c */
/* Fills nd->io with the simulated world: peers are the other nodes (peer id
 * = index + 1), timers are events, clocks are the simulated one. */
void w_io_init(wnode *nd);
/* Frees the timers the node's parts made (after tc_node_parts_free). */
void w_io_free_timers(wnode *nd);
/* Links a and b (both up): each side's on_peer(up), heights as a version
 * message would carry them. */
void w_link_up(wworld *w, int a, int b);
/* Every link of a goes down: the others' on_peer(down), what they knew forgotten. */
void w_links_down(wworld *w, int a);
/* Runs a W_TIMER, W_DELIVER or W_HEIGHT event. */
void w_io_event(wworld *w, const sim_event *e);
/* Sends the tick's ping: a's height to every linked peer. */
void w_io_ping(wworld *w, int a);
/* Frees what a queued event owns. */
void w_event_release(sim_event *e);
/* Puts m on the wire from -> to as it is (loss, duplicates, delay and
 * partitions apply); bad marks a Byzantine node's provably invalid message. */
void w_wire(wnode *from, wnode *to, const tc_msg *m, bool bad);
/* Whether from and to (both up) have a link. */
bool w_linked(wnode *from, wnode *to);
/* Drops the link of a and b for good (a banned b). */
void w_unlink(wworld *w, int a, int b);

/* disk-full: nd stopped itself on its full store, as it must: closed now,
 * restarted with its map FREE_AFTER_MS later (whole.c). */
void w_full_stop(wworld *w, wnode *nd);

/* wfork.c: the fork-halt kind. A disagreement at height h on nd: true if
 * the kind expects it (recorded; the halves are joined soon after). */
bool w_fork_disagree(wworld *w, const wnode *nd, uint64_t h);
/* After every event: join the halves, record halts, check that no halted
 * node commits or resumes and that every honest node halts in time. */
void w_fork_step(wworld *w);
/* Every honest node halted long enough, and its culprits checked. */
bool w_fork_finished(wworld *w);

/* byz.c */
/* Picks cfg->byz_nodes Byzantine nodes by the seed and loads their keys:
 * 0, or -1 with the reason in res->violation. */
int w_byz_init(wworld *w);
void w_byz_free(wworld *w);
/* The faults a kind needs (bad-sync: an honest node down a while, so it syncs). */
void w_byz_plan(wworld *w);
/* The mutator at the transmit point of a Byzantine node: true when it put
 * its own version of m (or nothing) on the wire instead. */
bool w_byz_transmit(wnode *from, wnode *to, const tc_msg *m);
/* fork-halt: m, relayed by an honest node to Byzantine node to, is a
 * Byzantine vote for the other side's version of a block, which the
 * adversary keeps from its own nodes too (true: not delivered). */
bool w_byz_hidden(const wnode *to, const tc_msg *m);
/* Whether key is the operator key of a Byzantine node. */
bool w_byz_key(const wworld *w, const tc_pubkey *key);
/* The height node a's ping (and version) claims when its tip is h. */
uint64_t w_byz_height(wworld *w, int a, uint64_t h);
/* Whether the fork kind keeps honest a and b apart. */
bool w_byz_partitioned(const wworld *w, int a, int b);
/* A Byzantine node's W_BYZ event: a burst of junk proposals, and the next. */
void w_byz_event(wworld *w, wnode *nd);
/* A message from -> to was delivered (bad: provably invalid). */
void w_byz_delivered(wworld *w, int to, int from, bool bad);
/* Whether the Byzantine kind's own condition to end holds (double-vote:
 * its signers jailed on every honest node); a violation once past its bound. */
bool w_byz_settled(wworld *w);
/* At the end: the bans provably invalid messages must have earned. */
void w_byz_check_end(wworld *w);

/* wcheck.c */
/* Records what node from signs in m (a vote or a proposal of its own key)
 * and reports a second, different value for one (key, height, round, step). */
void w_check_signed(wworld *w, int from, const tc_msg *m);
/* Compares every height nd committed since the last call with what the
 * others committed (block hash, UTXO commitment) and checks its supply. */
void w_check_commits(wworld *w, wnode *nd);
/* Liveness: while no fault is in effect, the highest committed height grows
 * within the bound. */
void w_check_liveness(wworld *w);
void w_check_init(wworld *w);
void w_check_release(wworld *w);
/* No honest node syncs for longer than the liveness bound while no fault
 * is in effect (what /health reports as syncing: a height liar must not
 * hold it there). */
void w_check_syncing(wworld *w);
/* Lowest and highest height over the honest nodes that are up. */
uint64_t w_min_height(const wworld *w, uint64_t *max);

/* wallet.c */
void w_wallet_open(wworld *w);
void w_wallet_free(wworld *w);
/* One payment offered to a random node that is up. */
void w_wallet_step(wworld *w);
/* A height joined the canonical chain: its transactions of ours are counted. */
void w_wallet_on_block(wworld *w, const tc_block *blk);
/* Acknowledged transactions not yet committed. */
uint64_t w_wallet_pending(const wworld *w);
/* At the end: every acknowledged transaction committed exactly once. */
void w_wallet_check(wworld *w);

#endif
