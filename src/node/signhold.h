/* The sign hold: a validator whose sign log is behind its own chain signs
 * nothing until the network has provably moved past every height it may
 * have signed at.
 *
 * The sign log (store/signlog.h) is what keeps a restarted validator from
 * signing twice. If it is lost (consensus.log deleted or emptied) or older
 * than the chain (an old copy restored beside a newer chain), the node cannot
 * know what it signed last; a validator restarted that way right after
 * proposing signed again at the same height and was jailed. The chain tells
 * it so: a stored certificate carrying this key's precommit above the sign
 * log's last height.
 *
 * Held, the node signs nothing (it follows, votes arrive, blocks commit).
 * It resumes after committing a block whose time is more than twice the
 * network's drift limit (max_block_drift_ms) after the node started: such a
 * block was proposed after the start by any proposer whose clock is within
 * the limit, so its height was still open then, after every height the
 * earlier instance of this key can have signed at (it had stopped). A vote
 * or proposal signed with this key that this node did not make (another
 * instance running with the key, or the earlier one's last messages) moves
 * that point to twice the drift after it was seen. `resume-signing = now`
 * (config) skips the hold; docs/operations.md says when that is safe.
 *
 * The decisions are pure (tc_signhold_init and the two events); start reads
 * certificates from the ledger, and each change of state is logged here. */
#ifndef TC_NODE_SIGNHOLD_H
#define TC_NODE_SIGNHOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/vote.h"
#include "store/ledger.h"

#define TC_SIGNHOLD_DEPTH 256 /* certificates below the tip searched for this key */

typedef struct {
    bool held;
    uint32_t drift_ms;      /* the network's max_block_drift_ms */
    uint64_t log_height;    /* the sign log's last height (0: empty) */
    uint64_t signed_height; /* highest certified height the chain shows this key precommitted */
    uint64_t release_ms;    /* a committed block dated after this (wall ms) ends the hold */
    uint64_t sightings;     /* messages signed with this key that this node did not make */
    uint64_t released_height; /* the height whose commit ended the hold (0: not yet / never held) */
} tc_signhold;

/* The highest height among the TC_SIGNHOLD_DEPTH certificates at and below
 * the tip that carries a precommit of `self`, in *height (0: none). 0, or the
 * ledger's error reading a certificate. */
int tc_signhold_scan(tc_ledger *L, const tc_pubkey *self, uint64_t *height) TC_MUST_CHECK;

/* Decides at start: held when the chain shows this key signed above
 * log_height (the sign log's last height, 0 if it has no record), unless
 * resume_now. release_ms = now_wall_ms + 2 x drift_ms (saturating). */
void tc_signhold_init(tc_signhold *h, uint64_t log_height, uint64_t signed_height, bool resume_now,
                      uint64_t now_wall_ms, uint32_t drift_ms);

/* At start: tc_signhold_scan for self, then tc_signhold_init, and logs a
 * sign log behind the chain (log_path names it). 0, or the scan's error
 * with detail in e (h is then not held). */
int tc_signhold_start(tc_signhold *h, tc_ledger *L, const tc_pubkey *self, uint64_t log_height, const char *log_path,
                      bool resume_now, uint64_t now_wall_ms, uint32_t drift_ms, tc_errmsg *e) TC_MUST_CHECK;

/* A valid `what` ("vote", "proposal") at `height` signed with this key that
 * this node did not sign (only called while held): the hold lasts until a
 * block dated more than 2 x drift_ms after now_wall_ms. The first sighting
 * and every 100th are logged; returns true for those. */
bool tc_signhold_sighting(tc_signhold *h, const char *what, uint64_t height, uint64_t now_wall_ms);

/* The node committed block `height` dated time_ms. Returns true (and logs)
 * if that ends the hold; signing resumes above `height`. */
bool tc_signhold_on_commit(tc_signhold *h, uint64_t height, uint64_t time_ms);

#endif
