/* The daemon's node I/O seam (src/node/nodeio.c) on a real libevent loop:
 * one-shot timers (a re-arm moves, a cancel holds until set again, a freed
 * armed timer never fires, fire may re-arm), the cross-thread wake-up
 * (posts merge, a post from another thread runs on the loop), stop, the
 * clocks, and that before a P2P endpoint is set there are no peers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "node/nodeio.h"
#include "util/clock.h"

typedef struct {
    tc_nodeio io;
    struct event_base *base;
} fixture;

typedef struct {
    fixture *f;
    tc_nodeio_timer *t;
    int fired;
    int rearm_until;   /* fire arms its own timer again while fired < this */
    bool pending_in_fire;
    uint64_t fired_ms; /* monotonic, at the first fire */
} probe;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->base = event_base_new();
    assert_non_null(f->base);
    tc_nodeio_init(&f->io, f->base);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tc_nodeio_release(&f->io);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void on_fire(void *arg)
{
    probe *p = arg;
    tc_nodeio *io = &p->f->io;
    if (p->fired++ == 0)
        p->fired_ms = io->mono_ms(io->ctx);
    p->pending_in_fire = io->timer_pending(io->ctx, p->t);
    if (p->fired < p->rearm_until)
        io->timer_set(io->ctx, p->t, 1);
}

static void on_stop(void *arg)
{
    fixture *f = arg;
    f->io.stop(f->io.ctx);
}

/* Runs the loop until a stopper timer ms from now (and frees the stopper). */
static void run_for(fixture *f, uint64_t ms)
{
    tc_nodeio_timer *stopper = f->io.timer_new(f->io.ctx, on_stop, f);
    f->io.timer_set(f->io.ctx, stopper, ms);
    event_base_dispatch(f->base);
    f->io.timer_free(f->io.ctx, stopper);
}

static probe *new_probe(fixture *f)
{
    probe *p = calloc(1, sizeof *p);
    p->f = f;
    p->t = f->io.timer_new(f->io.ctx, on_fire, p);
    return p;
}

static void free_probe(probe *p)
{
    p->f->io.timer_free(p->f->io.ctx, p->t);
    free(p);
}

/* Setting an armed timer moves it: earlier or later, it fires once. */
static void test_rearm_moves(void **state)
{
    fixture *f = *state;
    tc_nodeio *io = &f->io;
    probe *p = new_probe(f);
    assert_false(io->timer_pending(io->ctx, p->t));
    uint64_t t0 = io->mono_ms(io->ctx);
    io->timer_set(io->ctx, p->t, 10000);
    io->timer_set(io->ctx, p->t, 5); /* earlier: the 10 s one is gone */
    assert_true(io->timer_pending(io->ctx, p->t));
    run_for(f, 300);
    assert_int_equal(p->fired, 1);
    assert_true(p->fired_ms - t0 < 300);
    assert_false(p->pending_in_fire);
    assert_false(io->timer_pending(io->ctx, p->t));

    p->fired = 0;
    io->timer_set(io->ctx, p->t, 1);
    io->timer_set(io->ctx, p->t, 20); /* later: not once at 1 ms and again at 20 */
    run_for(f, 150);
    assert_int_equal(p->fired, 1);
    free_probe(p);
}

/* A cancelled timer does not fire until it is set again; cancelling a
 * timer that is not armed is a no-op. */
static void test_cancel(void **state)
{
    fixture *f = *state;
    tc_nodeio *io = &f->io;
    probe *p = new_probe(f);
    io->timer_cancel(io->ctx, p->t); /* never armed */
    io->timer_set(io->ctx, p->t, 1);
    io->timer_cancel(io->ctx, p->t);
    assert_false(io->timer_pending(io->ctx, p->t));
    run_for(f, 50);
    assert_int_equal(p->fired, 0);
    io->timer_cancel(io->ctx, p->t); /* twice */
    io->timer_set(io->ctx, p->t, 1);
    run_for(f, 50);
    assert_int_equal(p->fired, 1);
    free_probe(p);
}

/* fire runs with its timer disarmed and may arm it again. */
static void test_fire_rearms(void **state)
{
    fixture *f = *state;
    probe *p = new_probe(f);
    p->rearm_until = 3;
    f->io.timer_set(f->io.ctx, p->t, 0);
    run_for(f, 200);
    assert_int_equal(p->fired, 3);
    assert_false(p->pending_in_fire); /* the last fire did not re-arm */
    free_probe(p);
}

/* Freeing an armed timer disarms it (nothing fires into freed memory). */
static void test_free_armed(void **state)
{
    fixture *f = *state;
    probe *p = new_probe(f);
    f->io.timer_set(f->io.ctx, p->t, 1);
    f->io.timer_free(f->io.ctx, p->t);
    p->t = NULL;
    run_for(f, 30);
    assert_int_equal(p->fired, 0);
    f->io.timer_free(f->io.ctx, NULL); /* a no-op */
    free(p);
}

typedef struct {
    fixture *f;
    tc_nodeio_wake *w;
    int fired;
    bool stop_on_fire;
} wake_probe;

static void on_wake(void *arg)
{
    wake_probe *wp = arg;
    wp->fired++;
    if (wp->stop_on_fire)
        wp->f->io.stop(wp->f->io.ctx);
}

static void *post_from_thread(void *arg)
{
    wake_probe *wp = arg;
    wp->f->io.wake_post(wp->w);
    return NULL;
}

/* Posts before the loop runs merge into one call; a post from another
 * thread wakes a loop that has nothing else to do. */
static void test_wake(void **state)
{
    fixture *f = *state;
    wake_probe wp = {f, NULL, 0, false};
    wp.w = f->io.wake_new(f->io.ctx, on_wake, &wp);
    assert_non_null(wp.w);
    f->io.wake_post(wp.w);
    f->io.wake_post(wp.w);
    f->io.wake_post(wp.w);
    run_for(f, 50);
    assert_int_equal(wp.fired, 1);

    wp.fired = 0;
    wp.stop_on_fire = true;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, post_from_thread, &wp), 0);
    run_for(f, 5000); /* the wake stops it long before */
    pthread_join(th, NULL);
    assert_int_equal(wp.fired, 1);
    f->io.wake_free(f->io.ctx, wp.w);
    f->io.wake_free(f->io.ctx, NULL);
}

/* stop makes the loop return although a timer is still armed. */
static void test_stop(void **state)
{
    fixture *f = *state;
    probe *p = new_probe(f);
    f->io.timer_set(f->io.ctx, p->t, 60000);
    uint64_t t0 = tc_clock_mono_ms();
    run_for(f, 5);
    assert_true(tc_clock_mono_ms() - t0 < 5000);
    assert_int_equal(p->fired, 0);
    free_probe(p);
}

static void test_clocks(void **state)
{
    fixture *f = *state;
    uint64_t w = f->io.wall_ms(f->io.ctx), ref = tc_clock_wall_ms();
    assert_true(ref >= w && ref - w < 1000);
    uint64_t m = f->io.mono_ms(f->io.ctx), mref = tc_clock_mono_ms();
    assert_true(mref >= m && mref - m < 1000);
}

/* Before tc_nodeio_set_p2p: no peer exists, nothing is sent. */
static void test_no_p2p(void **state)
{
    fixture *f = *state;
    tc_nodeio *io = &f->io;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_GETBLOCKS);
    tc_hash h = {{1}};
    tc_peer_info pi, *all = (tc_peer_info *)&pi;
    assert_int_equal(io->send(io->ctx, 7, &m), TC_ENOTFOUND);
    assert_int_equal(io->peer(io->ctx, 7, &pi), TC_ENOTFOUND);
    assert_int_equal(io->ban(io->ctx, 7, "test"), TC_ENOTFOUND);
    assert_int_equal(io->broadcast(io->ctx, &m, 0), 0);
    assert_int_equal(io->relay(io->ctx, TC_INV_TX, &h, 0), 0);
    assert_int_equal(io->push(io->ctx, &m, &h, 0), 0);
    assert_int_equal(io->queued(io->ctx, 7), 0);
    assert_int_equal(io->peers(io->ctx, &all), 0);
    assert_null(all);
    const char *addrs[] = {"127.0.0.1:1"};
    io->set_mesh(io->ctx, addrs, 1);
    assert_true(io->verify_threads);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rearm_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fire_rearms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_armed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_p2p, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
