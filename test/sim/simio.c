/* The whole-node mode's tc_nodeio (node/nodeio.h): what tc_p2p, libevent and
 * tc_clock are to the daemon, the simulated world is to each node here.
 * Every link is an established connection between two nodes that are up;
 * a message is encoded, may be lost, duplicated, delayed or held back by a
 * partition, and is decoded and handed to the receiver's parts as the P2P
 * layer would. Timers are events on the world's queue. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/knownset.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/version.h"
#include "whole_impl.h"

#define KNOWN_CAP 8192 /* inventory hashes remembered per link, as net/peer.c */

static wnode *peer_node(wnode *nd, uint64_t peer)
{
    if (peer == 0 || peer > (uint64_t)nd->w->n)
        return NULL;
    wnode *p = &nd->w->nodes[peer - 1];
    if (p == nd || nd->banned[p->idx] || p->banned[nd->idx])
        return NULL;
    return p->up && nd->up && nd->known[p->idx] ? p : NULL; /* known: the link is up */
}

bool w_linked(wnode *from, wnode *to)
{
    return peer_node(from, (uint64_t)to->idx + 1) == to;
}

static bool partitioned(const wworld *w, int a, int b)
{
    return (w->part_active && (((w->part_mask >> a) ^ (w->part_mask >> b)) & 1)) || w_byz_partitioned(w, a, b);
}

static uint64_t link_delay(wworld *w, int from, int to)
{
    uint64_t d = sim_range(&w->rng, w->link_lo[from][to], w->link_hi[from][to]);
    if (w->slow && sim_chance(&w->rng, w->slow))
        d *= 8; /* a straggler: reorders behind later messages */
    return d;
}

void w_wire(wnode *from, wnode *to, const tc_msg *m, bool bad)
{
    wworld *w = from->w;
    tc_buf b;
    tc_buf_init(&b);
    if (tc_msg_encode(m, &b) != 0) {
        w_violation(w, "node %d sent a %s that does not encode", from->idx, tc_msg_type_name(m->type));
        tc_buf_release(&b);
        return;
    }
    int copies = (w->dup && sim_chance(&w->rng, w->dup)) ? 2 : 1;
    if (partitioned(w, from->idx, to->idx) || (w->loss && sim_chance(&w->rng, w->loss))) {
        w->res->dropped++;
        copies = 0;
    }
    for (int c = 0; c < copies; c++) {
        wmsg *wm = tc_xmalloc(sizeof *wm + b.len);
        wm->type = m->type;
        wm->bad = bad;
        wm->len = b.len;
        memcpy(wm->data, b.p, b.len);
        sim_event e;
        memset(&e, 0, sizeof e);
        e.t = w->now + link_delay(w, from->idx, to->idx);
        e.kind = EV_WHOLE;
        e.node = to->idx;
        e.epoch = to->epoch;
        e.u.whole.what = W_DELIVER;
        e.u.whole.from = from->idx;
        e.u.whole.from_epoch = from->epoch;
        e.u.whole.p = wm;
        w_push(w, &e);
    }
    tc_buf_release(&b);
}

/* Puts m on the wire from -> to (both up and linked); a Byzantine node's
 * messages pass its mutator (byz.c). */
static void transmit(wnode *from, wnode *to, const tc_msg *m)
{
    if ((from->byz && w_byz_transmit(from, to, m)) || (to->byz && w_byz_hidden(to, m)))
        return;
    w_wire(from, to, m, false);
}

/* by bans peer: a finding when peer is honest; a Byzantine peer loses the
 * link for good, as tc_p2p's ban by node key would make it. */
static void ban(wworld *w, int by, int peer, const char *what, const char *why)
{
    wnode *nd = &w->nodes[by];
    if (!w->nodes[peer].byz) {
        w_violation(w, "honest peer banned: node %d %s node %d: %s", by, what, peer, why);
        return;
    }
    if (nd->banned[peer])
        return;
    nd->banned[peer] = true;
    if (w->cfg->verbose)
        fprintf(stderr, "t=%" PRIu64 " node %d banned Byzantine node %d: %s\n", w->now, by, peer, why);
    w_at(w, w->now, W_UNLINK, by, (uint64_t)peer); /* not from inside the node's handler */
}

void w_unlink(wworld *w, int a, int b)
{
    wnode *na = &w->nodes[a], *nb = &w->nodes[b];
    if (na->known[b] == NULL)
        return;
    tc_knownset_free(na->known[b]);
    na->known[b] = NULL;
    tc_knownset_free(nb->known[a]);
    nb->known[a] = NULL;
    if (na->up)
        tc_node_parts_peer(na->node, (uint64_t)b + 1, false);
    if (nb->up)
        tc_node_parts_peer(nb->node, (uint64_t)a + 1, false);
}

/* ---- peers ------------------------------------------------------------------ */

static int io_send(void *ctx, uint64_t peer, const tc_msg *m)
{
    wnode *nd = ctx, *to = peer_node(nd, peer);
    if (to == NULL)
        return TC_ENOTFOUND;
    w_check_signed(nd->w, nd->idx, m);
    transmit(nd, to, m);
    return 0;
}

static size_t io_broadcast(void *ctx, const tc_msg *m, uint64_t except)
{
    wnode *nd = ctx;
    size_t k = 0;
    w_check_signed(nd->w, nd->idx, m);
    for (int i = 0; i < nd->w->n; i++) {
        wnode *to = peer_node(nd, (uint64_t)i + 1);
        if (to && (uint64_t)i + 1 != except) {
            transmit(nd, to, m);
            k++;
        }
    }
    return k;
}

/* Sends m (identified by h) to every linked peer but from that does not
 * know h, and marks it known there: tc_p2p_push and, with an inv, relay. */
static size_t spread(wnode *nd, const tc_msg *m, const tc_hash *h, uint64_t from)
{
    if (peer_node(nd, from))
        tc_knownset_add(nd->known[from - 1], h);
    size_t k = 0;
    for (int i = 0; i < nd->w->n; i++) {
        wnode *to = peer_node(nd, (uint64_t)i + 1);
        if (to == NULL || (uint64_t)i + 1 == from || tc_knownset_has(nd->known[i], h))
            continue;
        tc_knownset_add(nd->known[i], h);
        transmit(nd, to, m);
        k++;
    }
    return k;
}

static size_t io_relay(void *ctx, uint8_t inv_type, const tc_hash *h, uint64_t from)
{
    tc_msg m;
    tc_msg_init(&m, TC_MSG_INV);
    m.u.inv.type = inv_type;
    m.u.inv.n = 1;
    m.u.inv.h = (tc_hash *)h; /* borrowed */
    return spread(ctx, &m, h, from);
}

static size_t io_push(void *ctx, const tc_msg *m, const tc_hash *h, uint64_t from)
{
    wnode *nd = ctx;
    w_check_signed(nd->w, nd->idx, m);
    return spread(nd, m, h, from);
}

/* A ban of an honest node is a finding. */
static int io_ban(void *ctx, uint64_t peer, const char *why)
{
    wnode *nd = ctx;
    if (peer_node(nd, peer) == NULL)
        return TC_ENOTFOUND;
    ban(nd->w, nd->idx, (int)peer - 1, "banned", why);
    return 0;
}

static void io_set_mesh(void *ctx, const char *const *addrs, size_t n)
{
    /* every node is linked to every other already */
}

static void fill_info(wnode *nd, int i, tc_peer_info *pi)
{
    memset(pi, 0, sizeof *pi);
    pi->id = (uint64_t)i + 1;
    snprintf(pi->addr, sizeof pi->addr, "sim:%d", i);
    pi->key = nd->w->nodes[i].node_key;
    pi->established = true;
    pi->height = nd->peer_height[i];
    pi->protocol = TC_PROTOCOL_VERSION; /* mnauth is exchanged */
}

static size_t io_peers(void *ctx, tc_peer_info **out)
{
    wnode *nd = ctx;
    tc_peer_info *a = tc_xcalloc((size_t)nd->w->n, sizeof *a);
    size_t k = 0;
    for (int i = 0; i < nd->w->n; i++)
        if (peer_node(nd, (uint64_t)i + 1))
            fill_info(nd, i, &a[k++]);
    *out = a;
    return k;
}

static int io_peer(void *ctx, uint64_t peer, tc_peer_info *out)
{
    wnode *nd = ctx;
    if (peer_node(nd, peer) == NULL)
        return TC_ENOTFOUND;
    fill_info(nd, (int)peer - 1, out);
    return 0;
}

/* A link's stand-in for the TLS exporter: the same on both ends, new for
 * every link between a pair (so an mnauth of an older link does not verify). */
static int io_binding(void *ctx, uint64_t peer, uint8_t out[32])
{
    wnode *nd = ctx;
    if (peer_node(nd, peer) == NULL)
        return TC_ENOTFOUND;
    int a = nd->idx, b = (int)peer - 1;
    memset(out, 0, 32);
    tc_le32(out, (uint32_t)(a < b ? a : b));
    tc_le32(out + 4, (uint32_t)(a < b ? b : a));
    tc_le32(out + 8, nd->link_gen[b]);
    return 0;
}

static size_t io_queued(void *ctx, uint64_t peer)
{
    return 0; /* the simulated wire takes everything at once */
}

/* ---- timers ------------------------------------------------------------------ */

static tc_nodeio_timer *io_timer_new(void *ctx, void (*fire)(void *arg), void *arg)
{
    wnode *nd = ctx;
    tc_nodeio_timer *t = tc_xcalloc(1, sizeof *t);
    t->owner = nd;
    t->fire = fire;
    t->arg = arg;
    if (nd->n_timers == nd->cap_timers) {
        nd->cap_timers = nd->cap_timers ? 2 * nd->cap_timers : 128;
        nd->timers = tc_xrealloc(nd->timers, nd->cap_timers * sizeof *nd->timers);
    }
    nd->timers[nd->n_timers++] = t;
    return t;
}

static void io_timer_set(void *ctx, tc_nodeio_timer *t, uint64_t ms)
{
    wnode *nd = ctx;
    t->gen++;
    t->armed = true;
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = nd->w->now + ms;
    e.kind = EV_WHOLE;
    e.node = nd->idx;
    e.epoch = nd->epoch;
    e.u.whole.what = W_TIMER;
    e.u.whole.from = -1;
    e.u.whole.p = t;
    e.u.whole.a = t->gen;
    w_push(nd->w, &e);
}

static void io_timer_cancel(void *ctx, tc_nodeio_timer *t)
{
    t->gen++;
    t->armed = false;
}

static bool io_timer_pending(void *ctx, const tc_nodeio_timer *t)
{
    return t->armed;
}

/* The memory stays until the node closes: an event may still name it. */
static void io_timer_free(void *ctx, tc_nodeio_timer *t)
{
    if (t == NULL)
        return;
    t->armed = false;
    t->dead = true;
}

void w_io_free_timers(wnode *nd)
{
    for (size_t i = 0; i < nd->n_timers; i++)
        free(nd->timers[i]);
    free(nd->timers);
    nd->timers = NULL;
    nd->n_timers = nd->cap_timers = 0;
}

/* ---- clocks and the loop -------------------------------------------------------- */

static uint64_t io_mono(void *ctx)
{
    wnode *nd = ctx;
    return nd->w->now;
}

static uint64_t io_wall(void *ctx)
{
    wnode *nd = ctx;
    return W_GENESIS_MS + 1000 + nd->w->now;
}

/* The node stopped itself (a fatal error): an honest node never should. */
static void io_stop(void *ctx)
{
    wnode *nd = ctx;
    if (nd->fill_armed) { /* disk-full: the store it was given filled; the node names it and stops */
        w_full_stop(nd->w, nd);
        return;
    }
    w_violation(nd->w, "node %d stopped itself (exit code %d)", nd->idx,
                nd->node ? tc_node_parts_exit_code(nd->node) : 2);
}

void w_io_init(wnode *nd)
{
    nd->io = (tc_nodeio){.ctx = nd,
                         .send = io_send,
                         .broadcast = io_broadcast,
                         .relay = io_relay,
                         .push = io_push,
                         .ban = io_ban,
                         .set_mesh = io_set_mesh,
                         .peers = io_peers,
                         .peer = io_peer,
                         .binding = io_binding,
                         .queued = io_queued,
                         .timer_new = io_timer_new,
                         .timer_set = io_timer_set,
                         .timer_cancel = io_timer_cancel,
                         .timer_pending = io_timer_pending,
                         .timer_free = io_timer_free,
                         .verify_threads = false, /* every check inline: a seed replays */
                         .wake_new = NULL,
                         .wake_post = NULL,
                         .wake_free = NULL,
                         .mono_ms = io_mono,
                         .wall_ms = io_wall,
                         .stop = io_stop};
}

/* ---- links and events -------------------------------------------------------------- */

void w_link_up(wworld *w, int a, int b)
{
    wnode *na = &w->nodes[a], *nb = &w->nodes[b];
    if (na->banned[b] || nb->banned[a])
        return; /* the ban outlives restarts */
    na->known[b] = tc_knownset_new(KNOWN_CAP);
    nb->known[a] = tc_knownset_new(KNOWN_CAP);
    uint32_t gen = (na->link_gen[b] > nb->link_gen[a] ? na->link_gen[b] : nb->link_gen[a]) + 1;
    na->link_gen[b] = nb->link_gen[a] = gen;
    na->peer_height[b] = w_byz_height(w, b, tc_ledger_height(tc_node_parts_ledger(nb->node))); /* the version's */
    nb->peer_height[a] = w_byz_height(w, a, tc_ledger_height(tc_node_parts_ledger(na->node)));
    tc_node_parts_peer(na->node, (uint64_t)b + 1, true);
    if (nb->up && na->up) /* on_peer may have stopped a node */
        tc_node_parts_peer(nb->node, (uint64_t)a + 1, true);
}

void w_links_down(wworld *w, int a)
{
    wnode *na = &w->nodes[a];
    for (int i = 0; i < w->n; i++) {
        wnode *o = &w->nodes[i];
        if (i == a || na->known[i] == NULL)
            continue;
        tc_knownset_free(na->known[i]);
        na->known[i] = NULL;
        tc_knownset_free(o->known[a]);
        o->known[a] = NULL;
        if (o->up)
            tc_node_parts_peer(o->node, (uint64_t)a + 1, false);
    }
}

void w_io_ping(wworld *w, int a)
{
    wnode *na = &w->nodes[a];
    uint64_t h = w_byz_height(w, a, tc_ledger_height(tc_node_parts_ledger(na->node)));
    for (int i = 0; i < w->n; i++) {
        if (peer_node(na, (uint64_t)i + 1) == NULL || partitioned(w, a, i) || (w->loss && sim_chance(&w->rng, w->loss)))
            continue;
        sim_event e;
        memset(&e, 0, sizeof e);
        e.t = w->now + link_delay(w, a, i);
        e.kind = EV_WHOLE;
        e.node = i;
        e.epoch = w->nodes[i].epoch;
        e.u.whole.what = W_HEIGHT;
        e.u.whole.from = a;
        e.u.whole.from_epoch = na->epoch;
        e.u.whole.a = h;
        w_push(w, &e);
    }
}

static void deliver(wworld *w, wnode *to, int from, const wmsg *wm)
{
    tc_msg m;
    int err = tc_msg_decode(&m, wm->type, wm->data, wm->len);
    if (err) {
        w_violation(w, "node %d sent node %d a %s that does not decode: %s", from, to->idx,
                    tc_msg_type_name(wm->type), tc_strerror(err));
        return;
    }
    w->res->delivered++;
    w_byz_delivered(w, to->idx, from, wm->bad);
    if (m.type == TC_MSG_INV) /* as net/peer.c: what a peer announces, it knows */
        for (size_t i = 0; i < m.u.inv.n; i++)
            tc_knownset_add(to->known[from], &m.u.inv.h[i]);
    err = tc_node_parts_message(to->node, (uint64_t)from + 1, &m);
    if (err) {
        char why[120];
        snprintf(why, sizeof why, "its %s: %s", tc_msg_type_name(m.type), tc_strerror(err));
        ban(w, to->idx, from, "refused", why);
    }
    tc_msg_release(&m);
}

void w_io_event(wworld *w, const sim_event *e)
{
    wnode *nd = &w->nodes[e->node];
    int from = e->u.whole.from;
    /* a message of a connection that has gone since (either side restarted) is lost with it */
    if (from >= 0 && (!w->nodes[from].up || w->nodes[from].epoch != e->u.whole.from_epoch))
        return;
    if (from >= 0 && (nd->banned[from] || w->nodes[from].banned[nd->idx]))
        return; /* sent before the ban: the link has gone */
    switch (e->u.whole.what) {
    case W_TIMER: {
        tc_nodeio_timer *t = e->u.whole.p;
        if (t->dead || !t->armed || t->gen != e->u.whole.a)
            return; /* moved, cancelled or freed since */
        t->armed = false;
        t->fire(t->arg);
        break;
    }
    case W_DELIVER:
        deliver(w, nd, from, e->u.whole.p);
        break;
    case W_HEIGHT:
        nd->peer_height[from] = e->u.whole.a;
        break;
    default:
        abort(); /* not an io event: a bug in whole.c */
    }
}

void w_event_release(sim_event *e)
{
    if (e->kind == EV_WHOLE && e->u.whole.what == W_DELIVER) {
        free(e->u.whole.p);
        e->u.whole.p = NULL;
    }
}
