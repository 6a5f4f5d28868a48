/* The daemon's tc_nodeio (nodeio.h): tc_p2p for peers, libevent for timers
 * and wake-ups, tc_clock for time. */
#include "node/nodeio.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "net/banlist.h"
#include "util/clock.h"
#include "util/mem.h"

typedef struct {
    struct event_base *base;
    tc_p2p *p2p; /* NULL: no peers yet */
} real_io;

struct tc_nodeio_timer {
    struct event *ev;
    void (*fire)(void *arg);
    void *arg;
};

struct tc_nodeio_wake {
    int fd; /* eventfd: a write from any thread makes the loop read it */
    struct event *ev;
    void (*fire)(void *arg);
    void *arg;
};

/* libevent allocates an event or fails only for want of memory: the
 * out-of-memory policy (util/mem.h) applies. */
static void out_of_events(void)
{
    fprintf(stderr, "fatal: out of memory (libevent event)\n");
    abort();
}

/* ---- peers ------------------------------------------------------------------- */

static int io_send(void *ctx, uint64_t peer, const tc_msg *m)
{
    real_io *r = ctx;
    return r->p2p ? tc_p2p_send(r->p2p, peer, m) : TC_ENOTFOUND;
}

static size_t io_broadcast(void *ctx, const tc_msg *m, uint64_t except)
{
    real_io *r = ctx;
    return r->p2p ? tc_p2p_broadcast(r->p2p, m, except) : 0;
}

static size_t io_relay(void *ctx, uint8_t inv_type, const tc_hash *h, uint64_t from)
{
    real_io *r = ctx;
    return r->p2p ? tc_p2p_relay(r->p2p, inv_type, h, from) : 0;
}

static size_t io_push(void *ctx, const tc_msg *m, const tc_hash *h, uint64_t from)
{
    real_io *r = ctx;
    return r->p2p ? tc_p2p_push(r->p2p, m, h, from) : 0;
}

static int io_peer(void *ctx, uint64_t peer, tc_peer_info *out)
{
    real_io *r = ctx;
    return r->p2p ? tc_p2p_peer(r->p2p, peer, out) : TC_ENOTFOUND;
}

static int io_binding(void *ctx, uint64_t peer, uint8_t out[32])
{
    real_io *r = ctx;
    return r->p2p ? tc_p2p_binding(r->p2p, peer, out) : TC_ENOTFOUND;
}

/* The ban a violation returned from on_message gives, by node key. */
static int io_ban(void *ctx, uint64_t peer, const char *why)
{
    real_io *r = ctx;
    tc_peer_info pi;
    char subject[TC_BAN_SUBJECT_MAX];
    int err = io_peer(ctx, peer, &pi);
    if (err)
        return err; /* gone already */
    tc_ban_subject_key(subject, &pi.key);
    return tc_p2p_setban(r->p2p, subject, 0, why);
}

static void io_set_mesh(void *ctx, const char *const *addrs, size_t n)
{
    real_io *r = ctx;
    if (r->p2p)
        tc_p2p_set_mesh(r->p2p, addrs, n);
}

static size_t io_peers(void *ctx, tc_peer_info **out)
{
    real_io *r = ctx;
    *out = NULL;
    return r->p2p ? tc_p2p_peers(r->p2p, out) : 0;
}

static size_t io_queued(void *ctx, uint64_t peer)
{
    real_io *r = ctx;
    return r->p2p ? tc_p2p_queued(r->p2p, peer) : 0;
}

/* ---- timers ------------------------------------------------------------------ */

static void on_timer_event(evutil_socket_t fd, short what, void *arg)
{
    tc_nodeio_timer *t = arg;
    t->fire(t->arg); /* libevent has disarmed it: fire may set it again */
}

static tc_nodeio_timer *io_timer_new(void *ctx, void (*fire)(void *arg), void *arg)
{
    real_io *r = ctx;
    tc_nodeio_timer *t = tc_xcalloc(1, sizeof *t);
    t->fire = fire;
    t->arg = arg;
    t->ev = evtimer_new(r->base, on_timer_event, t);
    if (t->ev == NULL)
        out_of_events();
    return t;
}

static void io_timer_set(void *ctx, tc_nodeio_timer *t, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(t->ev, &tv); /* a pending event is rescheduled, not doubled */
}

static void io_timer_cancel(void *ctx, tc_nodeio_timer *t)
{
    evtimer_del(t->ev);
}

static bool io_timer_pending(void *ctx, const tc_nodeio_timer *t)
{
    return evtimer_pending(t->ev, NULL) != 0;
}

static void io_timer_free(void *ctx, tc_nodeio_timer *t)
{
    if (t == NULL)
        return;
    event_free(t->ev);
    free(t);
}

/* ---- wake-ups ---------------------------------------------------------------- */

static void on_wake_event(evutil_socket_t fd, short what, void *arg)
{
    tc_nodeio_wake *w = arg;
    uint64_t count;
    if (read(fd, &count, sizeof count) < 0) {
        /* nothing pending: a spurious wake */
    }
    w->fire(w->arg);
}

static tc_nodeio_wake *io_wake_new(void *ctx, void (*fire)(void *arg), void *arg)
{
    real_io *r = ctx;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    tc_nodeio_wake *w = tc_xcalloc(1, sizeof *w);
    w->fd = fd;
    w->fire = fire;
    w->arg = arg;
    w->ev = event_new(r->base, fd, EV_READ | EV_PERSIST, on_wake_event, w);
    if (w->ev == NULL)
        out_of_events();
    event_add(w->ev, NULL);
    return w;
}

static void io_wake_post(tc_nodeio_wake *w)
{
    uint64_t one = 1;
    if (write(w->fd, &one, sizeof one) < 0) {
        /* the counter is already set: the loop wakes anyway */
    }
}

static void io_wake_free(void *ctx, tc_nodeio_wake *w)
{
    if (w == NULL)
        return;
    event_free(w->ev);
    close(w->fd);
    free(w);
}

/* ---- clocks and the loop ------------------------------------------------------ */

static uint64_t io_mono_ms(void *ctx)
{
    return tc_clock_mono_ms();
}

static uint64_t io_wall_ms(void *ctx)
{
    return tc_clock_wall_ms();
}

static void io_stop(void *ctx)
{
    real_io *r = ctx;
    event_base_loopexit(r->base, NULL);
}

void tc_nodeio_init(tc_nodeio *io, struct event_base *base)
{
    real_io *r = tc_xcalloc(1, sizeof *r);
    r->base = base;
    *io = (tc_nodeio){.ctx = r,
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
                      .verify_threads = true,
                      .wake_new = io_wake_new,
                      .wake_post = io_wake_post,
                      .wake_free = io_wake_free,
                      .mono_ms = io_mono_ms,
                      .wall_ms = io_wall_ms,
                      .stop = io_stop};
}

void tc_nodeio_set_p2p(tc_nodeio *io, tc_p2p *p2p)
{
    real_io *r = io->ctx;
    r->p2p = p2p;
}

void tc_nodeio_release(tc_nodeio *io)
{
    free(io->ctx);
    *io = (tc_nodeio){0};
}
