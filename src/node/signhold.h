/* The sign hold: a validator that may have signed somewhere it cannot see
 * signs nothing until it knows where the network is, and until the network
 * has provably moved past every height it may have signed at.
 *
 * The sign log (store/signlog.h) is what keeps a restarted validator from
 * signing twice. Two starts defeat it:
 *
 * 1. The log is behind the node's own chain: lost (consensus.log deleted or
 *    emptied) or older than the chain (an old log restored beside a newer
 *    chain). A validator restarted that way right after proposing signed
 *    again at the same height and was jailed. The chain tells it so: a
 *    stored certificate carrying this key's precommit above the log's last
 *    height (tc_signhold_start).
 *
 * 2. The whole data dir is an old copy: chain and log agree at height h, but
 *    the network is at H > h and this key signed at h+1..H after the copy
 *    was made. Nothing on disk shows it. So every start begins *gated*: the
 *    node follows and syncs but signs nothing until it knows it is at the
 *    network's height: validators with more than 2/3 of the set's weight,
 *    its own counted, report heights at or below its tip, by a heartbeat
 *    signed with their key and dated after this start (every node sends one
 *    to each new link) or by the version/pong height of an established peer
 *    whose link attested their operator key (mnauth; tc_signhold_reports).
 *    Then, before signing,
 *    it searches the last `double-sign-check-height` certificates (the ones
 *    it has just synced) for its own precommit above the log's last height,
 *    CometBFT's double_sign_check_height idea: found, case 1's hold follows
 *    (tc_signhold_gate). On a fresh network every validator is at 0 with
 *    its peers, so the gate opens as soon as enough of them are connected.
 *
 * Held (case 1, or 2 once found), the node signs nothing (it follows, votes
 * arrive, blocks commit). It resumes after committing a block whose time is
 * more than twice the network's drift limit (max_block_drift_ms) after the
 * node started: such a block was proposed after the start by any proposer
 * whose clock is within the limit, so its height was still open then, after
 * every height the earlier instance of this key can have signed at (it had
 * stopped). The same block opens the gate too (peers that cannot be matched
 * to validators, behind NAT say, never keep a validator silent). A vote or
 * proposal signed with this key that this node did not make (another
 * instance running with the key, or the earlier one's last messages) moves
 * that point to twice the drift after it was seen; seen while gated above
 * the log's last height, it starts the hold. `resume-signing = now`
 * (config) skips gate and hold; docs/operations.md says when that is safe.
 *
 * The decisions are pure (tc_signhold_init, tc_signhold_weight_at and the
 * events); start, the reports and the gate read the ledger, and each change
 * of state is logged here. */
#ifndef TC_NODE_SIGNHOLD_H
#define TC_NODE_SIGNHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/valset.h"
#include "chain/vote.h"
#include "net/p2p.h"
#include "node/oplinks.h"
#include "store/ledger.h"

/* Default certificates below the tip searched for this key (config
 * double-sign-check-height): more than any network's jail_after_missed, so a
 * validator that was signing within the window shows in one of them. */
#define TC_SIGNHOLD_DEPTH 256

enum tc_signhold_why {
    TC_SIGNHOLD_NONE = 0,
    TC_SIGNHOLD_LOG_BEHIND,   /* at start: the chain shows this key above the sign log */
    TC_SIGNHOLD_SYNCED_SIGNS, /* after the gate: certificates just synced show it */
    TC_SIGNHOLD_FOREIGN,      /* while gated: a message of this key it did not make */
};

typedef struct {
    bool held;
    bool gated;             /* since start: not yet known to be at the network's height */
    enum tc_signhold_why why; /* of held */
    uint32_t drift_ms;      /* the network's max_block_drift_ms */
    uint32_t depth;         /* certificates searched (double-sign-check-height) */
    uint64_t log_height;    /* the sign log's last height (0: empty) */
    uint64_t signed_height; /* highest certified height the chain shows this key precommitted */
    uint64_t release_ms;    /* a committed block dated after this (wall ms) ends gate and hold */
    uint64_t sightings;     /* messages signed with this key that this node did not make */
    uint64_t released_height; /* the height whose commit ended the hold (0: not yet / never held) */
    uint64_t start_height;  /* the chain's tip at start */
    uint64_t start_ms;      /* wall ms at start: a heartbeat dated before it is no report */
    uint64_t gate_height;   /* the tip when the gate opened (0: not yet, or at genesis) */
    uint64_t gate_weight;   /* the weight at the network's height then (0: opened by a block's time) */
} tc_signhold;

/* What the gate knows of one validator: its weight, and whether a peer
 * speaking for it reported a height (the highest such report). */
typedef struct {
    uint64_t weight;
    bool reported;
    uint64_t height;
} tc_signhold_report;

/* The highest height among the `depth` certificates at and below the tip
 * that carries a precommit of `self`, in *height (0: none). 0, or the
 * ledger's error reading a certificate. */
int tc_signhold_scan(tc_ledger *L, const tc_pubkey *self, uint32_t depth, uint64_t *height) TC_MUST_CHECK;

/* Decides at start: gated unless resume_now; held when the chain shows this
 * key signed above log_height (the sign log's last height, 0 if it has no
 * record), unless resume_now. release_ms = now_wall_ms + 2 x drift_ms
 * (saturating); depth TC_SIGNHOLD_DEPTH, start_height 0 (start sets both). */
void tc_signhold_init(tc_signhold *h, uint64_t log_height, uint64_t signed_height, bool resume_now,
                      uint64_t now_wall_ms, uint32_t drift_ms);

/* At start: tc_signhold_scan for self over depth certificates, then
 * tc_signhold_init, and logs the gate and a sign log behind the chain
 * (log_path names it). 0, or the scan's error with detail in e (h is then
 * neither held nor gated). */
int tc_signhold_start(tc_signhold *h, tc_ledger *L, const tc_pubkey *self, uint64_t log_height, const char *log_path,
                      bool resume_now, uint64_t now_wall_ms, uint32_t drift_ms, uint32_t depth,
                      tc_errmsg *e) TC_MUST_CHECK;

/* Whether this node may sign now: neither gated nor held. */
bool tc_signhold_may_sign(const tc_signhold *h);
/* Why it may not: "network_height_unknown" (gated) or the hold's
 * tc_signhold_why_name; NULL if it may. */
const char *tc_signhold_reason(const tc_signhold *h);
/* "sign_log_behind_chain", "own_key_in_synced_certificates",
 * "foreign_signature", or "none" (static strings). */
const char *tc_signhold_why_name(enum tc_signhold_why why);

/* Fills out[i] (vs->n entries) for each validator of vs: self reported at
 * tip; any other validator by the highest height its established peers in
 * peers[0..n) report, a peer speaking for it when its link attested the
 * validator's operator key (mnauth, oplinks.h): each validator counted once,
 * however many links; a peer of no validator counts for none. */
void tc_signhold_reports(const tc_valset *vs, const tc_pubkey *self, uint64_t tip, const tc_peer_info *peers,
                         size_t n, const tc_oplinks *ops, tc_signhold_report *out);

/* One more report of r's validator at height: reported, at the highest
 * height any source gave (a source that knows more wins). */
void tc_signhold_report_note(tc_signhold_report *r, uint64_t height);

/* The weight of the reported validators in r[0..n) whose height is at or
 * below tip: a peer at committed height r works on r + 1, so those are at
 * this node's next height or behind it. Pure. */
uint64_t tc_signhold_weight_at(const tc_signhold_report *r, size_t n, uint64_t tip);

/* While gated: opens the gate when 3 x agree > 2 x total (agree:
 * tc_signhold_weight_at at tip over a set of that total weight). If the tip
 * has moved since the start, it first searches the last depth certificates
 * for self above the log: found, the hold begins. Sets *opened; logs both.
 * 0, or the ledger's error (still gated, detail in e). */
int tc_signhold_gate(tc_signhold *h, tc_ledger *L, const tc_pubkey *self, uint64_t tip, uint64_t agree,
                     uint64_t total, bool *opened, tc_errmsg *e) TC_MUST_CHECK;

/* A valid `what` ("vote", "proposal") at `height` signed with this key that
 * this node did not sign (only called while it may not sign): the hold and
 * gate last until a block dated more than 2 x drift_ms after now_wall_ms;
 * while gated, one above the log's last height starts the hold. The first
 * sighting and every 100th are logged; returns true for those. */
bool tc_signhold_sighting(tc_signhold *h, const char *what, uint64_t height, uint64_t now_wall_ms);

/* The node committed block `height` dated time_ms. Returns true (and logs)
 * if that ends the hold or the gate (a block dated after release_ms);
 * signing may resume above `height`. */
bool tc_signhold_on_commit(tc_signhold *h, uint64_t height, uint64_t time_ms);

#endif
