/* Private to src/node/node*.c: the node's handle and what its parts call of
 * each other. The node is four nouns over one struct:
 *   node.c         lifecycle and wiring: open everything, run, close;
 *   node_driver.c  the consensus driver: candidates, the core's actions,
 *                  commit, fetching a decided block, the next height, the
 *                  sign log and the locked block, the once-a-second tick;
 *   node_gossip.c  P2P message handlers, regossip and heartbeats;
 *   node_sync.c    what tc_sync asks of the node;
 *   node_fork.c    what the fork query (forkq.h) asks of it, and rollback.
 * The driver, the handlers and the sync reach peers, timers, clocks and the
 * loop only through n->io (nodeio.h), which node.c installs; only node.c
 * touches libevent, tc_p2p's lifecycle and tc_clock itself.
 * Everything runs on the loop thread. Nothing outside src/node includes this. */
#ifndef TC_NODE_NODE_IMPL_H
#define TC_NODE_NODE_IMPL_H

#include "chain/genesis.h"
#include "consensus/core.h"
#include "crypto/sigcache.h"
#include "mempool/mempool.h"
#include "net/p2p.h"
#include "node/candidates.h"
#include "node/datadir.h"
#include "node/forkq.h"
#include "node/node.h"
#include "node/nodeio.h"
#include "node/oplinks.h"
#include "node/nodemetrics.h"
#include "node/noderpc.h"
#include "node/signhold.h"
#include "node/sync.h"
#include "node/txdurable.h"
#include "node/txreq.h"
#include "rpc/rpc.h"
#include "store/ledger.h"
#include "net/netstore.h"
#include "store/signlog.h"
#include "util/hmap.h"
#include "util/pool.h"

#define MAX_TIMERS 64         /* consensus timeouts in flight */
#define BLOCK_MAX_TXS 5000    /* mempool transactions offered to one block */
#define SIGCACHE_ENTRIES (1u << 18)
#define HEARTBEAT_SKEW_MS (10 * 60 * 1000) /* heartbeats dated further off are ignored */
#define HEARTBEAT_MIN_GAP_MS 1000          /* a newer heartbeat of a key counts (and is relayed) only this much later */

struct event;
struct event_base;

/* What the node knows of a masternode's liveness from its heartbeats. */
typedef struct {
    uint64_t time_ms; /* the heartbeat's own timestamp */
    uint64_t seen_ms; /* when we received it (wall) */
    uint64_t height;
    char addr[TC_MAX_NETADDR + 1];
} liveness;

typedef struct {
    struct tc_node *n;
    tc_nodeio_timer *ev;
    bool armed;
    uint64_t height;
    uint32_t round;
    enum tc_timeout_kind kind;
} timer;

struct tc_node {
    tc_config cfg;
    tc_genesis g;
    tc_nodeio io;                 /* the outside world of the driver, handlers and sync */
    struct event_base *base;      /* node.c only */
    struct event *sigint, *sigterm, *sighup, *tick;
    tc_datadir *dd;
    tc_keypair node_key, op_key;
    bool has_op_key;
    tc_sigcache *cache;
    tc_pool *pool;
    tc_ledger *L;
    tc_mempool *mp;
    tc_txdurable *txd; /* pending transactions on disk, the relay drain */
    tc_p2p *p2p;
    tc_core *core;
    tc_signlog *slog;
    tc_signhold hold; /* signing paused: not yet at the network's height, or it may have signed elsewhere */
    uint64_t hold_stuck_warned_ms; /* last 'held while nothing commits' error (node_driver.c) */
    tc_hash lock_saved; /* the locked block last written to consensus.lock */
    tc_rpc *rpc;
    tc_noderpc rpc_ctx;
    tc_netstore netstore; /* bans and address book in <datadir>/peers */
    tc_nodemetrics *metrics;
    uint64_t height_started_ms; /* monotonic: when the current height started */
    tc_cands *cands;              /* authenticated proposed blocks (candidates.h) */
    struct {                      /* a decided block this node does not hold */
        bool active;
        uint64_t height;
        tc_hash hash;
        tc_cert cert;
        uint32_t asks;
        tc_nodeio_timer *ev;      /* asks again until it is applied */
    } fetch;
    timer timers[MAX_TIMERS];
    tc_cert last_commit; /* certificate of the tip, for the next proposal */
    uint64_t committed_ms;        /* when the tip was committed (monotonic) */
    tc_valset vs;                 /* validator set of the current height */
    tc_proposal prop;             /* latest proposal seen at the current height */
    bool have_prop;
    uint64_t stuck_height;        /* consensus position at the last tick */
    uint32_t stuck_round;
    int stuck_step, stuck_ticks;
    tc_hash mesh_for;             /* validator-set hash the mesh was built for */
    tc_hmap *seen;                /* operator key -> liveness */
    tc_oplinks *oplinks;          /* link -> the operator key it attested (mnauth) */
    tc_txreq *txreq;              /* announced transactions: which peer was asked (node_gossip.c) */
    uint64_t proposer_gone_skips; /* propose timeouts skipped: the proposer's links were closed */
    struct event *heartbeat_ev;
    tc_nodeio_timer *next_height_ev; /* paces heights to the block interval */
    tc_sync *sync;
    tc_nodeio_timer *sync_ev;     /* the sync's timer */
    tc_nodeio_wake *sync_wake;    /* the sync's verifier threads wake the loop */
    tc_forkq *forkq;              /* the fork query (node_fork.c) */
    tc_nodeio_timer *fork_ev;     /* its timer */
    tc_nodeio_timer *fork_probe_ev; /* asks peers for their block at a height both hold */
    uint64_t fork_warned[16];     /* peers whose other branch was logged */
    size_t n_fork_warned;
    int exit_code;
};

/* ---- nodeparts.c ---------------------------------------------------------- */

/* A zeroed node holding a copy of cfg, with its candidate store and
 * heartbeat table made (nothing opened yet). */
tc_node *tc_node_alloc(const tc_config *cfg);
/* Opens the deciding parts (n->cfg and n->io set): data dir, genesis, keys,
 * store (a worker pool only if io allows threads), mempool, sign log, sync,
 * txdurable and the driver. Errors name what and where in e; whatever was
 * opened is closed by tc_node_parts_close. */
int tc_node_parts_open(tc_node *n, tc_errmsg *e) TC_MUST_CHECK;
/* Closes what tc_node_parts_open opened, store last; safe on a partial open. */
void tc_node_parts_close(tc_node *n);

/* ---- node_driver.c -------------------------------------------------------- */

/* Creates the consensus core (resuming from the sign log's last record), its
 * timers and the next-height and fetch events. */
void tc_node_driver_open(tc_node *n, const tc_signstate *last);
/* Frees what tc_node_driver_open made. */
void tc_node_driver_close(tc_node *n);
/* Opens <datadir>/consensus.log, takes back its lock's block, and decides
 * the sign hold from the log's last record (*last, tc_signstate_init'ed if
 * the log is empty). Errors name the file in e. */
int tc_node_open_signlog(tc_node *n, tc_signstate *last, tc_errmsg *e) TC_MUST_CHECK;
/* Genesis timing with the devnet overrides of the config. */
tc_consensus_params tc_node_timing(const tc_node *n);
/* Logs why and makes the loop exit with code 2 after the current event. */
void tc_node_stop_fatal(tc_node *n, const char *why);
/* Starts consensus at tip + 1 (stops the node if the set is missing). */
void tc_node_start_height(tc_node *n);
/* While the sign hold's gate is closed: opens it if peers show this node at
 * the network's height, and begins the current height again if it signed
 * nothing in it (node/signhold.h). */
void tc_node_signhold_gate(tc_node *n);
/* Once a second: stops the node on store damage, feeds the sync peer
 * heights, and regossips the round when consensus has not moved for two. */
void tc_node_tick(tc_node *n);
/* Announced transactions not delivered in time are asked of another announcer (txreq.h). */
void tc_node_txreq_tick(tc_node *n);
/* Carries out every action the core has queued. */
void tc_node_drain(tc_node *n);
/* Two conflicting votes of one validator (a double sign): an evidence
 * transaction into the mempool, its journal and the relay, and a warning. */
void tc_node_record_evidence(tc_node *n, const tc_vote *a, const tc_vote *b);
/* Every link that attested operator key (mnauth) has closed: if it is the
 * proposer this node is waiting for, stop waiting (prevote nil now). */
void tc_node_operator_gone(tc_node *n, const tc_pubkey *key);
/* The kept block of hash at height, or NULL. */
const tc_cand *tc_node_find_candidate(tc_node *n, uint64_t height, const tc_hash *hash);
/* What the candidate store must never evict at height (tc_cands_at). */
void tc_node_consensus_at(const tc_node *n, uint64_t height, tc_cands_at *at);
/* Keeps blk (taken over) as proposed by proposer at round; NULL if the
 * store's bounds refuse it. */
const tc_cand *tc_node_keep_candidate(tc_node *n, tc_block *blk, uint32_t round, const tc_pubkey *proposer);
/* The latest proposal of the current height, for regossip. */
void tc_node_remember_proposal(tc_node *n, const tc_proposal *p);
/* Answers the core's validity question for value if its block is held. */
void tc_node_answer_check(tc_node *n, uint64_t height, const tc_hash *value);
/* Pushes m to every peer once, identified by the hash of p (domain). */
void tc_node_push_encoded(tc_node *n, tc_msg *m, enum tc_hash_domain domain, const uint8_t *p, size_t len);
/* A `block` message: applied if it is the decided block being fetched;
 * a protocol error (ban) if it carries that hash with another body. */
int tc_node_on_block(tc_node *n, uint64_t peer, const tc_msg_block *mb) TC_MUST_CHECK;

/* ---- node_gossip.c -------------------------------------------------------- */

/* tc_p2p_config's callbacks (ctx is the node). on_message returns a
 * protocol error for what proves the peer dishonest (the P2P layer bans). */
int tc_node_on_message(void *ctx, uint64_t peer, const tc_msg *m);
void tc_node_on_peer(void *ctx, uint64_t peer, bool up);
uint64_t tc_node_best_height(void *ctx);
/* Sends the current round's proposal and votes to peer (0: everyone). */
void tc_node_regossip(tc_node *n, uint64_t peer);
/* Whether key is a registered masternode in our state (jailed or not); true
 * when the store cannot tell. */
bool tc_node_is_masternode(tc_node *n, const tc_pubkey *key);
/* The heartbeat timer's work: signs and pushes ours (validators only). */
void tc_node_heartbeat(tc_node *n);

/* ---- node_sync.c ---------------------------------------------------------- */

/* Creates the block sync over the node, with its timer and the wake-up its
 * verifier threads (if io allows them) post to the loop. */
void tc_node_sync_open(tc_node *n);
/* Frees what tc_node_sync_open made (joins the verifier threads first). */
void tc_node_sync_close(tc_node *n);
/* Feeds the sync every established peer's reported height. */
void tc_node_sync_peer_heights(tc_node *n);

/* ---- node_fork.c ---------------------------------------------------------- */

/* Creates the fork query, its timer (fork-query-timeout) and the probe
 * that asks every peer, every 10 s, for its block at min(our tip, its
 * height): a peer on another branch is found even when neither syncs from
 * the other (its branch is shorter, or as long). */
void tc_node_fork_open(tc_node *n);
void tc_node_fork_close(tc_node *n);
/* tc_sync_iface.branch: blk from peer names another parent. 0 if its
 * certificate checks (logged once per peer, the fork query told), else the
 * violation. */
int tc_node_fork_branch(void *ctx, uint64_t peer, const tc_block *blk, const tc_cert *cert, tc_errmsg *e);
/* A hash message: a certificate that does not certify the hash under the
 * height's set is a violation (returned); else it goes to the fork query
 * with the validator behind the link, if any. */
int tc_node_on_hash(tc_node *n, uint64_t peer, const tc_msg_hash *mh) TC_MUST_CHECK;
/* The operator's forkrollback: while a lost fork waits for the operator,
 * rolls back to `to` (which must be the fork height - 1) and syncs the
 * network's branch. TC_ESTATE if no fork waits, TC_EINVAL for another
 * height (e says which). */
int tc_node_fork_operator_rollback(void *ctx, uint64_t to, tc_errmsg *e) TC_MUST_CHECK;
/* How many of blks (consecutive) may be applied, in *allowed: while a fork
 * halts commits, those below the fork height (TC_ECONS_HALTED if not all);
 * else all but from a block at the height a fork decision pinned that is
 * not the winner's (TC_EBLK_PREV then). e names the height. */
int tc_node_fork_allowed(tc_node *n, const tc_block *const *blks, size_t count, size_t *allowed, tc_errmsg *e);
/* The operator's forkchoose: while a fork halts commits, keeps the branch
 * of hash at the fork height (*fork_height): our block (*ours) resumes
 * committing; another is pinned and rolled back to (fork height - 1,
 * whatever fork-max-rollback says: the operator asked). TC_ESTATE when
 * not halted, TC_ENOTFOUND for a hash that is no certified branch there
 * (e lists those). */
int tc_node_fork_choose(void *ctx, const tc_hash *hash, uint64_t *fork_height, bool *ours, tc_errmsg *e) TC_MUST_CHECK;
/* Whether a fork halts commits (node/forkq.h): the driver signs and
 * commits nothing, the sync applies nothing from the fork height on. */
bool tc_node_fork_halted(const tc_node *n);

#endif
