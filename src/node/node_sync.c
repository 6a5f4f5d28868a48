/* What tc_sync asks of the node (node_impl.h): clocks, the tip, sending a
 * getblocks, applying a verified run, banning a peer that served an invalid
 * block, rejoining consensus, its timer and its verifier threads' wake-up,
 * all through the node's io. */
#include "node/node_impl.h"

#include "util/log.h"

static uint64_t sync_now(void *ctx)
{
    tc_node *n = ctx;
    return n->io.mono_ms(n->io.ctx);
}

static uint64_t sync_tip(void *ctx)
{
    tc_node *n = ctx;
    return tc_ledger_height(n->L);
}

static int sync_send(void *ctx, uint64_t peer, uint64_t from, uint32_t count)
{
    tc_node *n = ctx;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_GETBLOCKS);
    m.u.getblocks.from = from;
    m.u.getblocks.count = count;
    return n->io.send(n->io.ctx, peer, &m);
}

static int sync_apply(void *ctx, const tc_block *const *blks, const tc_cert *const *certs, const bool *ends,
                      size_t count, size_t *applied, size_t *bad, tc_errmsg *e)
{
    tc_node *n = ctx;
    size_t allowed;
    tc_errmsg why;
    int stop = tc_node_fork_allowed(n, blks, count, &allowed, &why), err = 0;
    *applied = *bad = 0;
    if (allowed && (err = tc_ledger_apply_blocks(n->L, blks, certs, ends, allowed, bad, e)) == 0)
        *applied = allowed;
    if (err == 0 && stop) { /* a halt (retried), or another branch's block where the network decided (set aside) */
        *bad = allowed;
        err = stop;
        *e = why;
    }
    if (err == TC_ESTORE_FULL) /* the store guard named it; waiting here would keep a validator half-alive */
        tc_node_stop_fatal(n, "store: map or disk full");
    uint64_t now = n->io.wall_ms(n->io.ctx);
    for (size_t i = 0; i < *applied; i++) {
        tc_mempool_block_committed(n->mp, blks[i], now);
        tc_signhold_on_commit(&n->hold, blks[i]->hdr.height, blks[i]->hdr.time_ms);
    }
    tc_txdurable_block(n->txd);
    return err;
}

/* A peer other than the one being handled served an invalid block: the
 * same ban a violation returned from on_message gives, by node key. */
static void sync_ban(void *ctx, uint64_t peer, int err, const char *why)
{
    tc_node *n = ctx;
    int rc = n->io.ban(n->io.ctx, peer, why);
    if (rc && rc != TC_ENOTFOUND) /* not found: gone already */
        tc_log_warn("p2p", "cannot ban peer", "peer=%llu err=%s", (unsigned long long)peer, tc_strerror(rc));
}

/* Back to consensus at the new tip. */
static void sync_rejoin(void *ctx)
{
    tc_node *n = ctx;
    tc_cert_release(&n->last_commit);
    tc_cert_init(&n->last_commit);
    tc_node_start_height(n);
}

static void sync_wake(void *ctx, uint64_t ms)
{
    tc_node *n = ctx;
    if (!n->io.timer_pending(n->io.ctx, n->sync_ev)) /* a steady tick, not pushed back by every message */
        n->io.timer_set(n->io.ctx, n->sync_ev, ms);
}

static void sync_verify(void *ctx, const tc_block *blk, const tc_cert *cert)
{
    tc_node *n = ctx;
    tc_ledger_verify_ahead(n->L, blk, cert);
}

/* From a verifier thread: wake the loop (wake_post is thread-safe). */
static void sync_verified(void *ctx)
{
    tc_node *n = ctx;
    n->io.wake_post(n->sync_wake);
}

/* The sync's timer, and the loop's side of a verifier thread's wake-up. */
static void on_sync_timer(void *arg)
{
    tc_node *n = arg;
    tc_sync_tick(n->sync);
}

/* Feeds the sync every established peer's reported height (version,
 * ping and pong carry it). */
void tc_node_sync_peer_heights(tc_node *n)
{
    tc_peer_info *peers;
    size_t k = n->io.peers(n->io.ctx, &peers);
    for (size_t i = 0; i < k; i++)
        if (peers[i].established)
            tc_sync_on_height(n->sync, peers[i].id, peers[i].height);
    free(peers);
}

void tc_node_sync_open(tc_node *n)
{
    n->sync_ev = n->io.timer_new(n->io.ctx, on_sync_timer, n);
    bool threads = n->io.verify_threads;
    if (threads && n->io.wake_new)
        n->sync_wake = n->io.wake_new(n->io.ctx, on_sync_timer, n); /* NULL: the next tick picks the run up */
    tc_sync_iface si = {n,         sync_now,   sync_tip,    sync_send,
                        sync_apply, sync_ban,  sync_rejoin, sync_wake,
                        threads ? sync_verify : NULL, n->sync_wake ? sync_verified : NULL, tc_node_fork_branch};
    n->sync = tc_sync_new(&si);
    tc_node_fork_open(n);
}

void tc_node_sync_close(tc_node *n)
{
    tc_node_fork_close(n);
    if (n->sync_ev)
        n->io.timer_free(n->io.ctx, n->sync_ev);
    tc_sync_free(n->sync); /* joins the verifier threads before their wake-up goes */
    if (n->sync_wake)
        n->io.wake_free(n->io.ctx, n->sync_wake);
}
