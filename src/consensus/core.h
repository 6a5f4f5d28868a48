/* The Tendermint consensus core: Algorithm 1 of "The latest gossip on BFT
 * consensus" (Buchman, Kwon, Milosevic, arXiv 1807.04938), weighted.
 *
 * Pure: events in, actions out; no sockets, clocks, threads, disk or
 * randomness. The node feeds events (start height, proposal, vote, timeout,
 * validity answer, certificate from sync) and after each call drains the
 * actions with tc_core_next_action, in order:
 *
 *   TC_ACT_PERSIST   make u.persist durable (fsync) before sending anything
 *                    that follows it; if that fails, send nothing more. (After a
 *                    restart the core resends the votes the restored state
 *                    records, unchanged and without a new PERSIST.)
 *   TC_ACT_PROPOSAL  broadcast u.proposal (block bytes are the node's business)
 *   TC_ACT_VOTE      broadcast u.vote
 *   TC_ACT_TIMEOUT   call tc_core_on_timeout(height, round, kind) after ms
 *   TC_ACT_CHECK     validate the block with hash u.check.value and answer
 *                    with tc_core_on_validity (now or later)
 *   TC_ACT_COMMIT    u.commit.value is final at u.commit.height, certified by
 *                    *u.commit.cert (precommits at decision time)
 *   TC_ACT_NEXT_HEIGHT  the commit wait is over; *u.commit.cert is the final
 *                    certificate (with late precommits) to use as last commit
 *                    when calling tc_core_start_height(height + 1, ...)
 *   TC_ACT_EVIDENCE  u.evidence.a and .b are conflicting signed votes of one
 *                    validator (tc_vote_conflict holds)
 *
 * Certificates in actions are owned by the core and stay valid until the next
 * tc_core_start_height or tc_core_free. Single-threaded: one caller at a time. */
#ifndef TC_CONSENSUS_CORE_H
#define TC_CONSENSUS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/cert.h"
#include "chain/params.h"
#include "chain/valset.h"
#include "chain/vote.h"
#include "consensus/signguard.h"
#include "crypto/sigcache.h"
#include "util/err.h"

/* Votes for rounds above round + this are not stored (they still count for
 * round skipping); nearer ones are. */
#define TC_CORE_ROUND_WINDOW 2
/* Messages for height + 1 kept per validator until that height starts. */
#define TC_CORE_FUTURE_VOTES 4
#define TC_CORE_FUTURE_PROPOSALS 2

enum tc_step {
    TC_STEP_NEW = 0,    /* no height started yet */
    TC_STEP_PROPOSE,
    TC_STEP_PREVOTE,
    TC_STEP_PRECOMMIT,
    TC_STEP_COMMIT,     /* decided; commit wait gathers late precommits */
    TC_STEP_DONE        /* NEXT_HEIGHT emitted; waiting for tc_core_start_height */
};

enum tc_timeout_kind {
    TC_TIMEOUT_PROPOSE = 0,
    TC_TIMEOUT_PREVOTE,
    TC_TIMEOUT_PRECOMMIT,
    TC_TIMEOUT_COMMIT
};

enum tc_action_kind {
    TC_ACT_PERSIST = 1,
    TC_ACT_PROPOSAL,
    TC_ACT_VOTE,
    TC_ACT_TIMEOUT,
    TC_ACT_CHECK,
    TC_ACT_COMMIT,
    TC_ACT_NEXT_HEIGHT,
    TC_ACT_EVIDENCE
};

typedef struct {
    enum tc_action_kind kind;
    union {
        tc_signstate persist;
        tc_proposal proposal;
        tc_vote vote;
        struct {
            uint64_t height;
            uint32_t round;
            enum tc_timeout_kind kind;
            uint32_t ms;
        } timeout;
        struct {
            uint64_t height;
            tc_hash value;
        } check;
        struct {
            uint64_t height;
            uint32_t round;
            tc_hash value;
            const tc_cert *cert;
        } commit;
        struct {
            tc_vote a, b;
        } evidence;
    } u;
} tc_core_action;

/* What the node provides. */
typedef struct {
    void *ctx;
    /* Signs the 32-byte sign bytes with the validator key; 0 or an error (the
     * message is then not sent). NULL for a node that never votes. */
    int (*sign)(void *ctx, const tc_hash *msg, tc_sig *sig);
    /* The hash of a new block to propose at (height, round); 0 or an error
     * (no proposal this round). Called only when this validator proposes. */
    int (*get_value)(void *ctx, uint64_t height, uint32_t round, tc_hash *value);
} tc_core_iface;

typedef struct {
    uint32_t chain_id;
    tc_consensus_params timing; /* timeouts: base + delta * round; block_interval_ms = commit wait */
    tc_pubkey self;             /* this node's consensus key (a non-member only observes) */
    tc_core_iface iface;
    tc_sigcache *cache;         /* verification cache, may be NULL; borrowed */
    tc_signstate last_signed;   /* from the sign log (tc_signstate_init if none) */
} tc_core_config;

typedef struct {
    uint64_t signs;       /* messages signed */
    uint64_t verifies;    /* signatures checked (through the cache) */
    uint64_t refused;     /* signatures the guard refused */
    uint64_t evidence;    /* evidence actions emitted */
    uint64_t dropped;     /* messages dropped (old, unknown, over a bound) */
    uint64_t rounds;      /* rounds started, round 0 of every height included */
    uint64_t round_changes; /* rounds above 0 started: the height needed another round */
} tc_core_stats;

typedef struct tc_core tc_core;

/* A core in TC_STEP_NEW. cfg is copied. Free with tc_core_free. */
tc_core *tc_core_new(const tc_core_config *cfg);
void tc_core_free(tc_core *c); /* NULL is a no-op */

/* Starts `height` with its validator set (copied; n ≥ 1) and the certificate
 * of height - 1 (copied, may be NULL). Resumes at the round and lock of the
 * last signed state if that is for this height. Buffered messages for this
 * height are replayed. */
void tc_core_start_height(tc_core *c, uint64_t height, const tc_valset *vs,
                          const tc_cert *last_commit);

/* Returns 0 if the message was taken; TC_ECONS_DUP, TC_ECONS_CONFLICT (evidence
 * emitted), TC_ECONS_EQUIVOCATION (second proposal of a round, ignored),
 * TC_ECONS_OLD, TC_ECONS_FUTURE (buffered for height + 1), TC_ELIMIT (over a
 * bound, dropped), TC_ECONS_NOT_VALIDATOR, TC_ECONS_PROPOSER, TC_EBADVAL,
 * TC_ESIG, or TC_ESTATE before the first height. */
int tc_core_on_proposal(tc_core *c, const tc_proposal *p);
int tc_core_on_vote(tc_core *c, const tc_vote *v);
/* A timeout scheduled earlier fired; stale ones are ignored. */
void tc_core_on_timeout(tc_core *c, uint64_t height, uint32_t round, enum tc_timeout_kind kind);
/* The answer to TC_ACT_CHECK. */
void tc_core_on_validity(tc_core *c, uint64_t height, const tc_hash *value, bool valid);
/* A certificate for the current height learnt by sync: verified against the
 * height's set, then the block is decided (the node must hold a valid block
 * with that hash). 0, TC_ECONS_OLD, or a tc_cert_verify error. */
int tc_core_on_certificate(tc_core *c, const tc_cert *cert);

/* Pops the next action into *out; false when none is left. */
bool tc_core_next_action(tc_core *c, tc_core_action *out);

uint64_t tc_core_height(const tc_core *c);
uint32_t tc_core_round(const tc_core *c);
enum tc_step tc_core_step(const tc_core *c);
/* The proposer of (current height, round) into *key; false before the first
 * height. */
bool tc_core_proposer(const tc_core *c, uint32_t round, tc_pubkey *key);
/* lockedRound (-1: none) and lockedValue. */
int32_t tc_core_locked(const tc_core *c, tc_hash *value);
/* validRound (-1: none) and validValue. */
int32_t tc_core_valid(const tc_core *c, tc_hash *value);
/* The last signed state (what the sign log must hold). */
const tc_signstate *tc_core_last_signed(const tc_core *c);
/* The vote of validator key at (current height, round, type) held, or NULL. */
const tc_vote *tc_core_vote(const tc_core *c, uint32_t round, uint8_t type, const tc_pubkey *key);
void tc_core_get_stats(const tc_core *c, tc_core_stats *out);
/* Messages held in memory: votes in vote sets, rounds held, and buffered
 * messages for the next height (the bounded-memory claim). */
void tc_core_memory(const tc_core *c, size_t *votes, size_t *rounds, size_t *buffered);

#endif
