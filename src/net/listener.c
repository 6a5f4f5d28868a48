#include "net/listener.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>
#include <event2/util.h>

#include "net/sockaddr.h"
#include "util/fdlimit.h"
#include "util/log.h"
#include "util/mem.h"

struct tc_listener {
    struct evconnlistener *lev;
    struct event *resume;
    unsigned reserve;
    const char *mod;
    tc_listener_fn fn;
    void *arg;
    uint32_t pause_ms; /* the last pause; 0 after an accept that had room */
    struct sockaddr_storage bound;
    tc_listener_stats stats;
};

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tc_listener *l = arg;
    if (evconnlistener_enable(l->lev) != 0)
        tc_log_error(l->mod, "cannot resume accepting", "errno=%d", errno);
}

/* Stops accepting for a while instead of waking at once again for a
 * connection that cannot be served. */
static void pause_accepting(tc_listener *l, const char *why)
{
    if (evconnlistener_disable(l->lev) != 0)
        return;
    uint32_t ms = l->pause_ms ? l->pause_ms * 2 : TC_LISTENER_PAUSE_MIN_MS;
    l->pause_ms = ms > TC_LISTENER_PAUSE_MAX_MS ? TC_LISTENER_PAUSE_MAX_MS : ms;
    l->stats.pauses++;
    tc_log_warn(l->mod, "not accepting for a while", "reason=%s pause_ms=%u fd_limit=%llu", why,
                (unsigned)l->pause_ms, (unsigned long long)tc_fdlimit_soft());
    struct timeval tv = {l->pause_ms / 1000, (l->pause_ms % 1000) * 1000};
    if (event_add(l->resume, &tv) != 0)
        resume_cb(-1, 0, l);
}

/* accept() failed for another reason than a retry (libevent retries EAGAIN,
 * EINTR, ECONNABORTED itself): the connection stays in the backlog, so the
 * listener would wake at once again. */
static void error_cb(struct evconnlistener *lev, void *arg)
{
    (void)lev;
    int e = EVUTIL_SOCKET_ERROR();
    pause_accepting(arg, e == EMFILE || e == ENFILE ? "descriptors exhausted" : strerror(e));
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)lev;
    tc_listener *l = arg;
    if (tc_fdlimit_low(fd, l->reserve)) {
        /* the last descriptors are the store's, the sign log's, the validators' */
        evutil_closesocket(fd);
        l->stats.refused_low++;
        pause_accepting(l, "descriptors low");
        return;
    }
    l->pause_ms = 0;
    l->fn(l->arg, fd, sa, salen);
}

tc_listener *tc_listener_new(struct event_base *base, const char *addr, unsigned fd_reserve,
                             const char *mod, tc_listener_fn fn, void *arg, int *err)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    if (tc_sockaddr_parse(addr, &ss, &sslen) != 0) {
        *err = TC_ENET_ADDR;
        return NULL;
    }
    tc_listener *l = tc_xcalloc(1, sizeof *l);
    l->reserve = fd_reserve;
    l->mod = mod;
    l->fn = fn;
    l->arg = arg;
    l->resume = event_new(base, -1, 0, resume_cb, l);
    l->lev = evconnlistener_new_bind(base, accept_cb, l,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                     128, (struct sockaddr *)&ss, sslen);
    socklen_t blen = sizeof l->bound;
    if (l->resume == NULL || l->lev == NULL ||
        getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&l->bound, &blen) != 0) {
        int saved = errno;
        tc_log_error(mod, "cannot listen", "addr=%s error=%s hint=%s", addr, strerror(saved),
                     "another process holds this address (find it with: ss -ltnp) or it is not local; stop that "
                     "process or set another address (time.conf: listen)");
        tc_listener_free(l);
        *err = TC_EIO;
        return NULL;
    }
    evconnlistener_set_error_cb(l->lev, error_cb);
    *err = 0;
    return l;
}

void tc_listener_free(tc_listener *l)
{
    if (l == NULL)
        return;
    if (l->lev)
        evconnlistener_free(l->lev);
    if (l->resume)
        event_free(l->resume);
    free(l);
}

const struct sockaddr_storage *tc_listener_bound(const tc_listener *l)
{
    return &l->bound;
}

void tc_listener_get_stats(const tc_listener *l, tc_listener_stats *out)
{
    *out = l->stats;
}
