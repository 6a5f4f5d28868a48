/* Block sync (private to the node): brings a node that is behind its peers
 * to the certified height they report, then hands it back to consensus.
 *
 * [tip + 1, target] is cut into ranges of up to TC_MSG_MAX_BLOCKS blocks.
 * A bounded window of ranges is in flight or waiting, spread over several
 * peers that report enough height (a few requests in flight per peer,
 * paced under the default request rate so an honest server never drops
 * them). Ranges may arrive in any order; they are applied in order, many
 * blocks per ledger transaction. A range that stalls, or whose peer goes
 * away or has nothing, is asked elsewhere; a peer that serves an invalid
 * block or certificate is banned and its range fetched elsewhere (a
 * certified block that names another parent is another branch, not a
 * violation: iface.branch judges it, the peer is set aside). A peer
 * that claims a height and then does not serve it (an empty answer, or three
 * stalls) is refuted: its claims are ignored for 30 s, doubling per
 * refutation up to 10 min, until it serves a block again, so a peer lying
 * about its height cannot keep the node syncing. Progress
 * (height / target, blocks/s, ETA) goes to the log.
 *
 * Which certificates are verified (the safety argument; the ledger's
 * tc_ledger_apply_blocks implements it): the validator set of height h is
 * derived from the state after h-1. For a run of blocks h..j applied in one
 * ledger write transaction, where the derived validator set is the same V
 * at every height of the run, a certificate for block j that verifies under
 * V (more than 2/3 of V's weight) proves blocks h..j: each block names its
 * parent's hash, and honest validators only certify a block extending the
 * chain they committed. So a batch is applied in one write transaction and
 * the certificate of the last block of each part is verified under the set
 * it was derived for, a part ending where the batch ends, where the derived
 * set changes (the set after the change is trusted only once the blocks
 * that derive it are proven) and where the serving peer's range ends (so
 * the one peer whose range fails is blamed). If any block breaks a rule or
 * such a certificate fails, the whole transaction is aborted (nothing is
 * kept), the peer that served the failing range is banned and the range
 * fetched again; the other ranges stay held and are applied again. No
 * transaction is committed whose last block's certificate was not verified
 * under a trusted set. The certificates in between (served, and each
 * block's last commit, which is what is stored for the block before it) are
 * decoded and checked for target, order, signers and quorum, not for their
 * signatures; transaction signatures are all verified.
 *
 * The object knows no sockets, disk or clock of its own: the node feeds it
 * events and it calls back through tc_sync_iface. Everything runs on the
 * node's event loop thread, except iface.verify and iface.verified: the
 * sync's own threads (one per core) verify the signatures of arrived blocks
 * (their transactions', and the certificate of a range's last block) before
 * the in-order apply takes them, so Ed25519 work runs on every core while
 * the loop receives, decodes and writes. */
#ifndef TC_NODE_SYNC_H
#define TC_NODE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/cert.h"
#include "net/msg.h"
#include "store/ledger.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct tc_sync tc_sync;

typedef struct {
    void *ctx;
    /* Monotonic milliseconds. */
    uint64_t (*now_ms)(void *ctx);
    /* Height of the ledger tip. */
    uint64_t (*tip)(void *ctx);
    /* Sends getblocks(from, count) to peer: 0, or non-zero if it cannot
     * (the peer is gone). */
    int (*send_getblocks)(void *ctx, uint64_t peer, uint64_t from, uint32_t count);
    /* Applies n consecutive certified blocks, the first after the tip, as
     * one batch (tc_ledger_apply_blocks's contract; ends[i]: block i is the
     * last of a peer's range, a checkpoint): 0, or the rule blks[*bad]
     * breaks, or a store error. *applied blocks, a prefix before *bad, were
     * applied (the node may keep fewer than n: the rest breaks TC_EBLK_PREV).
     * The arrays are valid during the call. */
    int (*apply)(void *ctx, const tc_block *const *blks, const tc_cert *const *certs, const bool *ends, size_t n,
                 size_t *applied, size_t *bad, tc_errmsg *e);
    /* Bans peer for serving an invalid block or certificate (err, why).
     * Called only for a peer other than the one whose message is being
     * handled: that one gets the violation as tc_sync_on_blocks's result. */
    void (*ban)(void *ctx, uint64_t peer, int err, const char *why);
    /* Sync has caught up (or the target went away): run consensus at the tip. */
    void (*rejoin)(void *ctx);
    /* Asks for tc_sync_tick in about ms milliseconds (none if one is already due). */
    void (*wake)(void *ctx, uint64_t ms);
    /* Verifies the signatures apply will check of blk, and of cert (NULL
     * but for the last block of a served run: a checkpoint), into the cache
     * apply will consult (tc_ledger_verify_ahead). Called from the sync's
     * own threads while the event loop goes on, so it must be thread-safe.
     * NULL: no such threads; apply verifies. */
    void (*verify)(void *ctx, const tc_block *blk, const tc_cert *cert);
    /* Called from those threads when a run of blocks is verified: the node
     * calls tc_sync_tick on its loop soon (may be NULL: the next tick). */
    void (*verified)(void *ctx);
    /* blk, served by peer for the height after the tip, names another
     * parent (apply said TC_EBLK_PREV): 0 if its certificate checks, so the
     * peer holds another certified branch (no ban; the sync asks it for no
     * more blocks until tc_sync_set_branch says ours), or the violation to
     * ban it for (why in e). NULL: every such block is a violation. */
    int (*branch)(void *ctx, uint64_t peer, const tc_block *blk, const tc_cert *cert, tc_errmsg *e);
} tc_sync_iface;

/* A sync driving io (copied). Aborts on out of memory. */
tc_sync *tc_sync_new(const tc_sync_iface *io);
/* Frees buffered blocks; NULL is a no-op. */
void tc_sync_free(tc_sync *s);

/* Peer `peer` holds certified blocks up to `height` (from its version,
 * ping/pong or consensus messages); peer 0: the network is known to have
 * certified `height` (a decided certificate) and any peer may serve it.
 * Starts a sync when that is ahead of the tip. */
void tc_sync_on_height(tc_sync *s, uint64_t peer, uint64_t height);
/* The peer went away: its requests are asked elsewhere. */
void tc_sync_on_peer_down(tc_sync *s, uint64_t peer);
/* A blocks message from peer (views valid during the call). Returns 0, or a
 * violation (malformed data, an invalid block or certificate) for which the
 * caller disconnects and bans that peer. */
int tc_sync_on_blocks(tc_sync *s, uint64_t peer, const tc_msg_blocks *m) TC_MUST_CHECK;
/* Timer: stalled requests, paced requests, progress. */
void tc_sync_tick(tc_sync *s);

/* Whether peer is on our branch (asked for blocks again from its next
 * height report) or not (dropped, its reports ignored; the last 64 such
 * peers are remembered). */
void tc_sync_set_branch(tc_sync *s, uint64_t peer, bool ours);
/* The tip went back (a rollback): drops every held or asked range and asks
 * again from the new tip + 1. */
void tc_sync_restart(tc_sync *s);

/* The height the network is known to have certified (≥ what peers report). */
uint64_t tc_sync_target(const tc_sync *s);
/* True between leaving consensus to sync and calling rejoin. */
bool tc_sync_active(const tc_sync *s);

/* A blocks message answering g from the ledger, ready to send. */
typedef struct {
    tc_msg msg;
    tc_buf raw; /* the encodings msg's views point into */
} tc_sync_reply;

/* Fills r with the blocks from g->from on that L holds (up to g->count,
 * TC_MSG_MAX_BLOCKS and half a frame of bytes); none if it holds none.
 * Release with tc_sync_reply_release. */
void tc_sync_serve(tc_ledger *L, const tc_msg_getblocks *g, tc_sync_reply *r);
void tc_sync_reply_release(tc_sync_reply *r);

#endif
