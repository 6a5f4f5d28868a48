/* The simulator's whole-node mode (tc-sim --whole, DESIGN.md §9): N real
 * nodes (ledger, mempool, sign log, driver, sync, gossip handlers: the
 * daemon's code through src/node/nodeparts.h) in one process, each with its
 * own data directory, over a simulated network and clock, driven by one seed.
 * The checker runs after every event. */
#ifndef TC_SIM_WHOLE_H
#define TC_SIM_WHOLE_H

#include <stdbool.h>
#include <stdint.h>

#define WHOLE_MAX_NODES 16

enum whole_profile { WP_HONEST = 0, WP_LOSSY, WP_CRASH, WP_PARTITION, WP_DISK_FULL, WP_COUNT };

/* What the Byzantine nodes do (test/sim/byz.c; docs/simulator.md). */
enum whole_byz {
    WB_NONE = 0,
    WB_EQUIVOCATE,    /* two signed proposals (two valid blocks) to different peers */
    WB_DOUBLE_VOTE,   /* conflicting signed prevotes/precommits to different peers */
    WB_INVALID_BLOCK, /* proposes blocks that break a ledger rule (UTXO commitment), signed */
    WB_BAD_TIME,      /* proposes blocks dated a year ahead or at UINT64_MAX */
    WB_WITHHOLD,      /* proposals without their block to half the peers; never serves a block */
    WB_JUNK,          /* floods proposals from fresh (non-validator) keys */
    WB_LYING_HEIGHTS, /* claims heights far above its tip, never serves blocks or hashes */
    WB_BAD_SYNC,      /* serves sync blocks with forged certificates */
    WB_FORK,          /* over 1/3: both halves of the honest nodes get a certified block of their own */
    WB_FORK_HALT,     /* fork, then the halves are joined: every honest node must halt (wfork.c) */
    WB_COUNT
};

typedef struct {
    uint64_t seed;
    int n;       /* nodes, every one a validator of weight 1 */
    int heights; /* every node must commit this many */
    enum whole_profile profile;
    int broken;  /* checker self-test: this node applies a forged block at height 2; -1 none */
    bool txs;    /* a simulated wallet pays from the genesis allocation throughout */
    bool amnesia;    /* a restarted node has lost consensus.log and consensus.lock; crashes are short */
    bool resume_now; /* resume-signing = now: no sign hold (with amnesia: a checker self-test) */
    int amnesia_nodes; /* with amnesia: crashes hit nodes 0..this-1 only; 0: (n - 1) / 3 (under 1/3 of the weight) */
    bool verbose;
    enum whole_byz byz; /* WB_NONE: every node honest */
    int byz_nodes;      /* how many of the n are Byzantine (picked by the seed) */
} whole_config;

typedef struct {
    bool ok;
    char violation[400];
    uint64_t sim_ms, events, delivered, dropped;
    uint64_t min_height;
    uint64_t txs_acked, txs_committed, restarts;
    uint64_t worst_gap_ms; /* longest wait for the next height while no fault was in effect */
    uint64_t bound_ms;
    uint64_t worst_sync_ms; /* longest an honest node synced while no fault was in effect */
    uint64_t byz_attacks, byz_bad, byz_bans; /* messages changed or made, provably invalid ones delivered, bans */
    char digest[17];       /* the first 8 bytes of the event digest, hex */
} whole_result;

const char *whole_profile_name(enum whole_profile p);
/* -1 for an unknown name. */
int whole_profile_parse(const char *s);
const char *whole_byz_name(enum whole_byz k);
/* -1 for an unknown name. */
int whole_byz_parse(const char *s);
/* The Byzantine nodes of kind k among n when --byz-nodes is not given:
 * under 1/3 of the weight; fork: over 1/3, so that each half of the honest
 * nodes makes a quorum with them. */
int whole_byz_default_nodes(enum whole_byz k, int n);
/* Runs one simulation. 0, with res->ok false and res->violation set when an
 * invariant broke; -1 when the world cannot be set up (res->violation says why). */
int whole_run(const whole_config *cfg, whole_result *res);
/* Makes libsodium's randombytes a generator seeded by whole_run (keys,
 * nonces and wallet addresses replay with the seed). Before tc_crypto_init. */
void whole_install_random(void);

#endif
