/* What tc_sync asks of the node (node_impl.h): clocks, the tip, sending a
 * getblocks, applying a verified run, banning a peer that served an invalid
 * block, rejoining consensus, its timer and its verifier threads' wake-up. */
#include "node/node_impl.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "net/banlist.h"
#include "util/clock.h"
#include "util/log.h"

static uint64_t sync_now(void *ctx)
{
    return tc_clock_mono_ms();
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
    return tc_p2p_send(n->p2p, peer, &m);
}

static int sync_apply(void *ctx, const tc_block *const *blks, const tc_cert *const *certs, size_t count,
                      size_t *applied, tc_errmsg *e)
{
    tc_node *n = ctx;
    int err = tc_ledger_apply_blocks(n->L, blks, certs, count, applied, e);
    if (err == TC_ESTORE_FULL) /* the store guard named it; waiting here would keep a validator half-alive */
        tc_node_stop_fatal(n, "store: map or disk full");
    uint64_t now = tc_clock_wall_ms();
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
    tc_peer_info pi;
    char subject[TC_BAN_SUBJECT_MAX];
    if (tc_p2p_peer(n->p2p, peer, &pi) != 0)
        return; /* gone already */
    tc_ban_subject_key(subject, &pi.key);
    int rc = tc_p2p_setban(n->p2p, subject, 0, why);
    if (rc)
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
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    if (!evtimer_pending(n->sync_ev, NULL)) /* a steady tick, not pushed back by every message */
        evtimer_add(n->sync_ev, &tv);
}

static void sync_verify(void *ctx, const tc_block *blk)
{
    tc_node *n = ctx;
    tc_ledger_verify_ahead(n->L, blk);
}

/* From a verifier thread: wake the loop (an eventfd write is thread-safe). */
static void sync_verified(void *ctx)
{
    tc_node *n = ctx;
    uint64_t one = 1;
    if (write(n->sync_fd, &one, sizeof one) < 0) {
        /* the counter is already set: the loop wakes anyway */
    }
}

static void on_sync_verified(evutil_socket_t fd, short what, void *arg)
{
    tc_node *n = arg;
    uint64_t count;
    if (read(fd, &count, sizeof count) < 0) {
        /* nothing pending: a spurious wake */
    }
    tc_sync_tick(n->sync);
}

static void on_sync_timer(evutil_socket_t fd, short what, void *arg)
{
    tc_node *n = arg;
    tc_sync_tick(n->sync);
}

/* Feeds the sync every established peer's reported height (version,
 * ping and pong carry it). */
void tc_node_sync_peer_heights(tc_node *n)
{
    tc_peer_info *peers;
    size_t k = tc_p2p_peers(n->p2p, &peers);
    for (size_t i = 0; i < k; i++)
        if (peers[i].established)
            tc_sync_on_height(n->sync, peers[i].id, peers[i].height);
    free(peers);
}

void tc_node_sync_open(tc_node *n)
{
    n->sync_ev = evtimer_new(n->base, on_sync_timer, n);
    n->sync_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (n->sync_fd >= 0) {
        n->sync_notify_ev = event_new(n->base, n->sync_fd, EV_READ | EV_PERSIST, on_sync_verified, n);
        event_add(n->sync_notify_ev, NULL);
    }
    tc_sync_iface si = {n,         sync_now,   sync_tip,    sync_send,
                        sync_apply, sync_ban,  sync_rejoin, sync_wake,
                        sync_verify, n->sync_fd >= 0 ? sync_verified : NULL};
    n->sync = tc_sync_new(&si);
}

void tc_node_sync_close(tc_node *n)
{
    if (n->sync_ev)
        event_free(n->sync_ev);
    tc_sync_free(n->sync); /* joins the verifier threads before their eventfd goes */
    if (n->sync_notify_ev)
        event_free(n->sync_notify_ev);
    if (n->sync_fd >= 0)
        close(n->sync_fd);
}
