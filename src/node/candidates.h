/* Candidate blocks (private to the node): the blocks of proposals for the
 * height under way and the next one, kept until the height is done, so the
 * node can check, prevote, lock on and commit them.
 *
 * Only authenticated blocks come in: the node keeps a block only after the
 * consensus core took the proposal that names it (signature, validator set
 * and proposer schedule checked), or for a value the core decided. So every
 * entry is tied to one signer, and the bounds below are per signer and per
 * round: nothing one sender does can push out a block another signed.
 *
 *   height == current: one block per (round, hash); at most
 *     TC_CANDS_ROUNDS of them. A new one evicts first an entry for a round
 *     beyond the core's window (current round + TC_CORE_ROUND_WINDOW: the
 *     core holds no proposal there), then the lowest round that is not
 *     protected (the core's locked, valid and decided values); if the new
 *     one has the lowest round itself, it is not kept. Rounds advance only
 *     by timeouts and quorums, so only progress evicts.
 *   height == current + 1: at most TC_CANDS_FUTURE_PER_SIGNER blocks per
 *     proposer (the core buffers that many proposals per validator); a new
 *     one evicts only that proposer's oldest.
 *   any other height: refused.
 *
 * Single-threaded (the node's loop). */
#ifndef TC_NODE_CANDIDATES_H
#define TC_NODE_CANDIDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "util/buf.h"

#define TC_CANDS_ROUNDS 8
#define TC_CANDS_FUTURE_PER_SIGNER 2
#define TC_CANDS_PROTECT 3 /* locked, valid, decided */

typedef struct {
    uint64_t height;
    uint32_t round;     /* highest round whose proposal names it */
    tc_pubkey proposer;
    tc_hash hash;
    tc_block blk;
    tc_buf raw;         /* its encoding, as sent */
} tc_cand;

/* Where consensus is, and the hashes at that height that must not be
 * evicted. */
typedef struct {
    uint64_t height;
    uint32_t round;
    tc_hash protect[TC_CANDS_PROTECT];
    size_t n_protect;
} tc_cands_at;

typedef struct tc_cands tc_cands;

tc_cands *tc_cands_new(void);
void tc_cands_free(tc_cands *cs); /* NULL is a no-op */

/* The entry for (height, hash), or NULL; valid until the next call that
 * changes cs. */
const tc_cand *tc_cands_find(const tc_cands *cs, uint64_t height, const tc_hash *hash);
/* Any entry with this hash (getdata of a block), or NULL. */
const tc_cand *tc_cands_find_hash(const tc_cands *cs, const tc_hash *hash);

/* Keeps *blk (taken over: *blk is emptied in every case) as proposed by
 * `proposer` at `round`, consensus being at *at. Returns the entry (also
 * when it was already held), or NULL if the bounds above refuse it. */
const tc_cand *tc_cands_keep(tc_cands *cs, const tc_cands_at *at, tc_block *blk, uint32_t round,
                             const tc_pubkey *proposer);

/* Whether block `hash` at height, proposed by proposer at round, is held or
 * would be kept now: asked before decoding a block, so a peer replaying a
 * proposal whose block the bounds refuse costs no decode. */
bool tc_cands_room(const tc_cands *cs, const tc_cands_at *at, uint64_t height, const tc_hash *hash, uint32_t round,
                   const tc_pubkey *proposer);

/* Drops every entry below `height` (a height started). */
void tc_cands_drop_below(tc_cands *cs, uint64_t height);
/* Drops the entries at height for which keep(ctx, entry) is false (a height
 * started: blocks kept for it while it was the next one whose signer is not
 * the round's proposer). */
void tc_cands_prune(tc_cands *cs, uint64_t height, bool (*keep)(void *ctx, const tc_cand *c), void *ctx);

/* Entries held and the bytes of their encodings (metrics, tests). */
size_t tc_cands_count(const tc_cands *cs);
size_t tc_cands_bytes(const tc_cands *cs);

#endif
