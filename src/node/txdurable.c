#include "node/txdurable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/txjournal.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#define TXD_GROUP_MS 5                /* peer-relayed admissions share one fdatasync per window */
#define TXD_COMPACT_MIN (4u << 20)    /* never rewrite a journal smaller than this */
#define TXD_DRAIN_POLL_MS 10
#define TXD_DRAIN_QUIET_MS 150        /* no admission or fetch for this long: relays are done */

struct tc_txdurable {
    const tc_nodeio *io;
    tc_mempool *mp;
    tc_txjournal *j;          /* NULL: not persisted */
    tc_nodeio_timer *group_ev; /* the group commit */
    tc_nodeio_timer *drain_ev; /* polls while draining */
    bool draining;
    uint64_t drain_started_ms;
    uint64_t last_activity_ms; /* monotonic: last admission or fetch */
    tc_buf enc;
};

typedef struct {
    tc_mempool *mp;
    uint64_t now_ms;
    uint64_t admitted, dropped;
} load_ctx;

static void load_one(void *arg, const uint8_t *p, size_t len)
{
    load_ctx *c = arg;
    tc_tx tx;
    tc_errmsg e;
    int err = tc_tx_decode(&tx, p, len);
    if (err == 0) {
        err = tc_mempool_add(c->mp, &tx, c->now_ms, NULL, &e);
        tc_tx_release(&tx);
    } else {
        snprintf(e.msg, sizeof e.msg, "does not decode: %s", tc_strerror(err));
    }
    if (err == 0) {
        c->admitted++;
    } else {
        c->dropped++; /* committed meanwhile, or no longer valid: the chain moved on */
        tc_log_debug("mempool", "journal entry dropped", "reason=%s", e.msg);
    }
}

/* The journal becomes the pool's pending set, in arrival order (parents first). */
static int rewrite(tc_txdurable *d)
{
    tc_mempool_stats st;
    tc_mempool_get_stats(d->mp, &st);
    tc_hash *ids = tc_xcalloc(st.txs + 1, sizeof *ids);
    size_t k = tc_mempool_txids(d->mp, ids, st.txs);
    const uint8_t **recs = tc_xcalloc(k + 1, sizeof *recs);
    size_t *lens = tc_xcalloc(k + 1, sizeof *lens), *offs = tc_xcalloc(k + 1, sizeof *offs), n = 0;
    tc_buf all;
    tc_buf_init(&all);
    for (size_t i = 0; i < k; i++) {
        const tc_tx *tx = tc_mempool_get(d->mp, &ids[i]);
        if (tx == NULL)
            continue;
        offs[n] = all.len;
        tc_tx_encode(tx, &all);
        lens[n] = all.len - offs[n];
        n++;
    }
    for (size_t i = 0; i < n; i++)
        recs[i] = all.p + offs[i]; /* after the last growth */
    int err = tc_txjournal_rewrite(d->j, recs, lens, n);
    if (err)
        tc_log_error("mempool", "journal rewrite failed", "err=%s txs=%zu", tc_strerror(err), n);
    tc_buf_release(&all);
    free(offs);
    free(lens);
    free(recs);
    free(ids);
    return err;
}

static void on_group(void *arg)
{
    tc_txdurable *d = arg;
    int err = tc_txjournal_sync(d->j);
    if (err)
        tc_log_error("mempool", "journal sync failed", "err=%s", tc_strerror(err));
}

static void on_drain(void *arg);

int tc_txdurable_open(tc_txdurable **out, const tc_nodeio *io, const char *datadir, bool persist, tc_mempool *mp,
                      tc_errmsg *e)
{
    *out = NULL;
    tc_txdurable *d = tc_xcalloc(1, sizeof *d);
    d->io = io;
    d->mp = mp;
    tc_buf_init(&d->enc);
    d->group_ev = io->timer_new(io->ctx, on_group, d);
    d->drain_ev = io->timer_new(io->ctx, on_drain, d);
    int err = 0;
    if (persist) {
        size_t pn = strlen(datadir) + sizeof TC_TXD_JOURNAL_FILE + 1;
        char *path = tc_xmalloc(pn);
        snprintf(path, pn, "%s/%s", datadir, TC_TXD_JOURNAL_FILE);
        load_ctx lc = {mp, io->wall_ms(io->ctx), 0, 0};
        tc_txjournal_info info;
        err = tc_txjournal_open(&d->j, path, load_one, &lc, &info);
        if (err)
            tc_fail(e, err, "%s: %s", path, tc_strerror(err));
        free(path);
        if (err)
            goto fail;
        if (info.records)
            tc_log_info("mempool", "pending transactions restored", "restored=%llu dropped=%llu",
                        (unsigned long long)lc.admitted, (unsigned long long)lc.dropped);
        if ((err = rewrite(d)) != 0) {
            tc_fail(e, err, "%s: rewrite: %s", TC_TXD_JOURNAL_FILE, tc_strerror(err));
            goto fail;
        }
    }
    *out = d;
    return 0;
fail:
    tc_txdurable_close(d);
    return err;
}

int tc_txdurable_admitted(tc_txdurable *d, const tc_tx *tx, bool durable)
{
    d->last_activity_ms = d->io->mono_ms(d->io->ctx);
    if (d->j == NULL)
        return 0;
    tc_buf_reset(&d->enc);
    tc_tx_encode(tx, &d->enc);
    int err = tc_txjournal_append(d->j, d->enc.p, d->enc.len);
    if (err == 0 && durable)
        err = tc_txjournal_sync(d->j); /* also covers the group still waiting */
    else if (err == 0 && !d->io->timer_pending(d->io->ctx, d->group_ev))
        d->io->timer_set(d->io->ctx, d->group_ev, TXD_GROUP_MS);
    if (err)
        tc_log_error("mempool", "journal append failed", "err=%s durable=%d", tc_strerror(err), (int)durable);
    return err;
}

void tc_txdurable_served(tc_txdurable *d)
{
    d->last_activity_ms = d->io->mono_ms(d->io->ctx);
}

void tc_txdurable_block(tc_txdurable *d)
{
    if (d->j == NULL)
        return;
    uint64_t size = tc_txjournal_size(d->j);
    if (size < TXD_COMPACT_MIN)
        return;
    tc_mempool_stats st;
    tc_mempool_get_stats(d->mp, &st);
    uint64_t live = st.bytes + st.txs * TC_TXJOURNAL_OVERHEAD;
    if (size > 2 * live) /* amortized: every rewritten byte was appended twice over */
        (void)rewrite(d);
}

void tc_txdurable_announce(tc_txdurable *d)
{
    tc_mempool_stats st;
    tc_mempool_get_stats(d->mp, &st);
    if (st.txs == 0)
        return;
    tc_hash *ids = tc_xcalloc(st.txs, sizeof *ids);
    size_t k = tc_mempool_txids(d->mp, ids, st.txs);
    for (size_t i = 0; i < k; i++)
        d->io->relay(d->io->ctx, TC_INV_TX, &ids[i], 0);
    free(ids);
}

static bool queues_empty(const tc_nodeio *io)
{
    tc_peer_info *peers = NULL;
    size_t k = io->peers(io->ctx, &peers);
    bool empty = true;
    for (size_t i = 0; i < k && empty; i++)
        empty = !peers[i].established || io->queued(io->ctx, peers[i].id) == 0;
    free(peers);
    return empty;
}

/* Polls every TXD_DRAIN_POLL_MS until the relays are done or time is up. */
static void on_drain(void *arg)
{
    tc_txdurable *d = arg;
    const tc_nodeio *io = d->io;
    uint64_t now = io->mono_ms(io->ctx);
    bool quiet = now - d->last_activity_ms >= TXD_DRAIN_QUIET_MS;
    bool late = now - d->drain_started_ms >= TC_TXD_DRAIN_MAX_MS;
    if (!(quiet && queues_empty(io)) && !late) {
        io->timer_set(io->ctx, d->drain_ev, TXD_DRAIN_POLL_MS);
        return;
    }
    if (late)
        tc_log_warn("node", "relay drain cut short", "waited_ms=%llu", (unsigned long long)(now - d->drain_started_ms));
    io->timer_cancel(io->ctx, d->drain_ev);
    io->stop(io->ctx);
}

void tc_txdurable_drain(tc_txdurable *d)
{
    if (d->draining) {
        d->io->stop(d->io->ctx); /* a second signal: no more waiting */
        return;
    }
    d->draining = true;
    d->drain_started_ms = d->io->mono_ms(d->io->ctx);
    on_drain(d); /* nothing owed: exit now */
}

void tc_txdurable_close(tc_txdurable *d)
{
    if (d == NULL)
        return;
    if (d->j) {
        int err = tc_txjournal_sync(d->j);
        if (err == 0)
            err = rewrite(d);
        tc_mempool_stats st;
        tc_mempool_get_stats(d->mp, &st);
        if (err == 0)
            tc_log_info("mempool", "pending transactions saved", "txs=%zu", st.txs);
    }
    d->io->timer_free(d->io->ctx, d->group_ev);
    d->io->timer_free(d->io->ctx, d->drain_ev);
    tc_txjournal_close(d->j);
    tc_buf_release(&d->enc);
    free(d);
}
