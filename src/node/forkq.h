/* Fork query (private to the node; DESIGN.md §6): once a peer is seen on
 * another certified branch, find the fork point and ask the network which
 * branch it holds, counting answers by masternode weight, never by peers.
 *
 * 1. Search: the lowest height F where the suspect's block differs from
 *    ours, by gethash to that peer, binary search over [1, d] (d: a height
 *    where they differ; every height below F agrees, since each block names
 *    its parent). At most 64 asks, each with the query timeout.
 * 2. Query: gethash(F) to every connected peer at once, until each answered
 *    or the timeout. The caller verifies every answer's certificate against
 *    F's validator set before passing it on (an invalid one: it bans) and
 *    names the validator key behind the answering node, if any. Each
 *    validator key counts once, with its weight in F's set.
 * 3. Decide: a branch wins with a valid certificate and more than 2/3 of
 *    the weight of F's set. If two branches carry valid certificates, more
 *    than 1/3 signed both: those signers are culprits, their answers count
 *    for nothing and the threshold is 2/3 of the weight of the others.
 *    No winner: no action, the query is asked again after a backoff
 *    (doubling from the timeout, capped).
 * 4. A winner other than our block: the caller rolls back (decided returns
 *    true; the branch stays pinned until our block at F is the winner's) or
 *    cannot (too deep: waiting for the operator). Our block won: idle.
 * 5. The halt: as soon as the query at F holds two valid certificates for
 *    different blocks (ours and a peer's, or two peers'), commits halt
 *    (tc_forkq_halted; iface.halt) until the query decides with the
 *    culprits' weight excluded, or the operator picks a branch
 *    (tc_forkq_operator_choose). Undecided with two valid certificates:
 *    TC_FORKQ_HALTED, asking again with the same backoff. A state of its
 *    own, not WAITING_OPERATOR: there the network has a winner and the
 *    operator's command is forkrollback; here there is none, the query
 *    keeps asking (a later answer may still decide it) and the command is
 *    forkchoose. While halted, the culprits stay culprits in the queries
 *    asked again, whoever answers then. The operator's choice at F is
 *    kept: a later query at F decides for it and never halts again.
 *    No single hostile peer can cause a halt: it needs two certificates
 *    that verify under F's validator set (the caller checks every answer's
 *    certificate before it gets here; ours was checked when applied), each
 *    signed by more than 2/3 of its weight, so more than 1/3 signed both.
 *    A peer can forge neither; it can only relay a conflicting certificate
 *    that more than 1/3 of the weight really signed, which cannot exist
 *    while the Byzantine weight is below 1/3. Search answers never halt:
 *    above F the two branches' sets may differ.
 *
 * Pure: no sockets, disk or clock; everything through tc_forkq_iface, on
 * the caller's thread. */
#ifndef TC_NODE_FORKQ_H
#define TC_NODE_FORKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/cert.h"
#include "chain/valset.h"
#include "crypto/hash.h"
#include "util/err.h"

enum tc_forkq_state {
    TC_FORKQ_IDLE,
    TC_FORKQ_SEARCHING,        /* looking for the fork height */
    TC_FORKQ_QUERYING,         /* asking every peer at the fork height (or backing off to ask again) */
    TC_FORKQ_DECIDED,          /* rolled back to the winner's parent; syncing the winner */
    TC_FORKQ_WAITING_OPERATOR, /* a winner too deep to roll back: the operator rolls back (forkrollback) */
    TC_FORKQ_HALTED,           /* two valid certificates, no winner: commits halted, asking again, until
                                  the query decides or the operator picks a branch (forkchoose) */
};

#define TC_FORKQ_MAX_BRANCHES 8  /* distinct hashes kept per query */
#define TC_FORKQ_MAX_ANSWERS 256 /* peers counted per query */

typedef struct {
    void *ctx;
    uint64_t (*now_ms)(void *ctx); /* monotonic */
    /* Our committed certificate at height (1..tip): 0, or non-zero if none.
     * Its block is our block id at that height. */
    int (*our_cert)(void *ctx, uint64_t height, tc_cert *out);
    /* The validator set of height: 0 or non-zero. */
    int (*valset)(void *ctx, uint64_t height, tc_valset *out);
    /* gethash(height) to one peer: 0, or non-zero if it is gone. */
    int (*send_gethash)(void *ctx, uint64_t peer, uint64_t height);
    /* gethash(height) to every established peer; returns how many. */
    size_t (*broadcast_gethash)(void *ctx, uint64_t height);
    /* Asks for tc_forkq_tick in about ms milliseconds. */
    void (*wake)(void *ctx, uint64_t ms);
    /* The network holds `hash` at `height`, not our block: roll back to
     * height - 1 and fetch it. true if done; false if the caller cannot
     * (too deep): the query then waits for the operator. */
    bool (*decided)(void *ctx, uint64_t height, const tc_hash *hash);
    /* After a decision: peer answered for the winner (true) or for another
     * block (false); the caller fetches blocks only from the first. */
    void (*verdict)(void *ctx, uint64_t peer, bool winner);
    /* Two valid certificates of one round certify different blocks at the
     * fork height: a and b are the two precommits of one signer of both,
     * double-sign evidence (once per culprit and query). NULL: not wanted. */
    void (*evidence)(void *ctx, const tc_vote *a, const tc_vote *b);
    /* Commits halt (on) or may resume (off): see 5. above. NULL: not wanted. */
    void (*halt)(void *ctx, bool on);
} tc_forkq_iface;

typedef struct {
    uint64_t height;
    tc_hash hash;             /* zero: the peer holds no block there */
    bool cert_valid;          /* its certificate certifies hash at height under that height's set */
    const tc_cert *cert;      /* that certificate (signers), when cert_valid */
    const tc_pubkey *voter;   /* the validator key of the answering node, or NULL (weight 0) */
} tc_forkq_answer;

/* One branch seen at the fork height in the last query. */
typedef struct {
    tc_hash hash;
    bool ours, cert_valid;
    uint64_t weight;  /* validator weight that answered for it (culprits excluded) */
    uint32_t answers; /* peers that answered for it */
} tc_forkq_branch;

typedef struct {
    enum tc_forkq_state state;
    uint64_t height;       /* fork height (0 while unknown) */
    uint32_t answers;      /* peers that answered the current or last query */
    uint64_t weight_for;   /* behind the heaviest branch other than ours */
    uint64_t weight_against; /* behind ours */
    uint64_t weight_total; /* of F's set, culprits excluded */
    uint64_t culprit_weight;
    size_t n_culprits;
    size_t n_branches;
    tc_forkq_branch branches[TC_FORKQ_MAX_BRANCHES];
    bool halted;           /* commits halted (tc_forkq_halted) */
    /* counters since start */
    uint64_t suspected, queries, undecided, decisions, rollbacks, operator_waits, halts;
} tc_forkq_status;

typedef struct tc_forkq tc_forkq;

/* timeout_ms: per ask and per query; backoff_cap_ms: longest wait between
 * undecided queries. Aborts on out of memory. */
tc_forkq *tc_forkq_new(const tc_forkq_iface *io, uint64_t timeout_ms, uint64_t backoff_cap_ms);
void tc_forkq_free(tc_forkq *q); /* NULL is a no-op */

/* peer holds a certified block at `height` (≤ our tip) other than ours.
 * Counted; starts a search when idle, else noted only. */
void tc_forkq_suspect(tc_forkq *q, uint64_t peer, uint64_t height);
/* A hash answer from peer (its certificate already judged by the caller).
 * One we did not ask for is ignored; one that differs from our block at a
 * committed height while idle makes the peer a suspect. */
void tc_forkq_on_hash(tc_forkq *q, uint64_t peer, const tc_forkq_answer *a);
/* The peer went away (an ask to it is given up). */
void tc_forkq_on_peer_down(tc_forkq *q, uint64_t peer);
/* Timer: ask timeouts, query deadlines, backoff, resolution. */
void tc_forkq_tick(tc_forkq *q);

/* In TC_FORKQ_WAITING_OPERATOR: the operator rolled back to the winner's
 * parent (tc_node's forkrollback); the winner is pinned as after a decision
 * (TC_FORKQ_DECIDED). false in any other state. */
bool tc_forkq_operator_rolled_back(tc_forkq *q);
/* Whether commits are halted (two valid certificates at the fork height,
 * not yet resolved); the fork height in *height (if not NULL) when so. */
bool tc_forkq_halted(const tc_forkq *q, uint64_t *height);
/* While halted, the operator picks the branch of hash at the fork height,
 * which must be one the query saw with a valid certificate (TC_ENOTFOUND
 * otherwise; TC_ESTATE when not halted). Answers for the other branches
 * get verdict false, the halt lifts and the choice is kept for later
 * queries at that height. *ours: it is our block (the node resumes);
 * else the query pins it as after a decision (TC_FORKQ_DECIDED) and the
 * caller rolls back to the fork height - 1. */
int tc_forkq_operator_choose(tc_forkq *q, const tc_hash *hash, bool *ours) TC_MUST_CHECK;
/* In TC_FORKQ_DECIDED or TC_FORKQ_WAITING_OPERATOR: the fork height and
 * the network's block there. */
bool tc_forkq_decision(const tc_forkq *q, uint64_t *height, tc_hash *hash);
/* In TC_FORKQ_DECIDED: the block the chain must hold at *height. */
bool tc_forkq_pinned(const tc_forkq *q, uint64_t *height, tc_hash *hash);
void tc_forkq_status_get(const tc_forkq *q, tc_forkq_status *out);
/* "idle", "searching", "querying", "decided", "waiting_operator", "halted". */
const char *tc_forkq_state_name(enum tc_forkq_state s);
/* The culprit keys of the last query, or of every query since the halt
 * while halted (valid until the next query begins). */
size_t tc_forkq_culprits(const tc_forkq *q, const tc_pubkey **out);

#endif
