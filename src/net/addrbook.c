#include "net/addrbook.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/mem.h"

struct tc_addrbook {
    tc_netstore store;
    int has_store;
    tc_addr_rec *v;
    size_t n, cap;
};

static long find(const tc_addrbook *ab, const char *addr)
{
    for (size_t i = 0; i < ab->n; i++)
        if (strcmp(ab->v[i].addr.s, addr) == 0)
            return (long)i;
    return -1;
}

static void persist(tc_addrbook *ab, const tc_addr_rec *r)
{
    if (!ab->has_store)
        return;
    int err = ab->store.addr_save(ab->store.ctx, r);
    if (err)
        tc_log_warn("net", "address not persisted", "addr=%s err=%s", r->addr.s, tc_errname(err));
}

static void remove_at(tc_addrbook *ab, size_t i)
{
    if (ab->has_store) {
        int err = ab->store.addr_remove(ab->store.ctx, ab->v[i].addr.s);
        if (err)
            tc_log_warn("net", "address removal not persisted", "addr=%s err=%s", ab->v[i].addr.s,
                        tc_errname(err));
    }
    ab->v[i] = ab->v[--ab->n];
}

static tc_addr_rec *push(tc_addrbook *ab)
{
    if (ab->n == ab->cap) {
        ab->cap = ab->cap ? ab->cap * 2 : 32;
        ab->v = tc_xrealloc(ab->v, ab->cap * sizeof *ab->v);
    }
    tc_addr_rec *r = &ab->v[ab->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static int load_one(void *arg, const tc_addr_rec *r)
{
    tc_addrbook *ab = arg;
    size_t n = strnlen(r->addr.s, sizeof r->addr.s);
    if (n == sizeof r->addr.s || !tc_netaddr_valid(r->addr.s, n, 0))
        return TC_ECORRUPT;
    if (ab->n < TC_ADDRBOOK_MAX && find(ab, r->addr.s) < 0)
        *push(ab) = *r;
    return 0;
}

tc_addrbook *tc_addrbook_new(const tc_netstore *store, int *err)
{
    tc_addrbook *ab = tc_xcalloc(1, sizeof *ab);
    *err = 0;
    if (store) {
        ab->store = *store;
        *err = store->addr_load(store->ctx, load_one, ab);
        if (*err) {
            tc_addrbook_free(ab);
            return NULL;
        }
        ab->has_store = 1;
    }
    return ab;
}

void tc_addrbook_free(tc_addrbook *ab)
{
    if (ab == NULL)
        return;
    free(ab->v);
    free(ab);
}

/* Lower is stronger. */
static int rank(uint8_t source)
{
    switch (source) {
    case TC_ADDR_CONNECT:
        return 0;
    case TC_ADDR_SEED:
        return 1;
    case TC_ADDR_CHAIN:
        return 2;
    default:
        return 3;
    }
}

int tc_addrbook_add(tc_addrbook *ab, const char *addr, uint8_t source, uint64_t now_ms)
{
    tc_netaddr a;
    if (tc_netaddr_set(&a, addr) != 0 || a.s[0] == 0)
        return TC_ENET_ADDR;
    long i = find(ab, a.s);
    if (i >= 0) {
        tc_addr_rec *r = &ab->v[i];
        if (rank(source) < rank(r->source))
            r->source = source;
        if (now_ms > r->last_seen)
            r->last_seen = now_ms;
        persist(ab, r);
        return 0;
    }
    if (ab->n >= TC_ADDRBOOK_MAX) {
        /* make room by dropping the oldest gossip entry, if this one is stronger or newer */
        long victim = -1;
        for (size_t k = 0; k < ab->n; k++)
            if (ab->v[k].source == TC_ADDR_GOSSIP &&
                (victim < 0 || ab->v[k].last_seen < ab->v[victim].last_seen))
                victim = (long)k;
        if (victim < 0)
            return TC_ELIMIT;
        remove_at(ab, (size_t)victim);
    }
    tc_addr_rec *r = push(ab);
    r->addr = a;
    r->source = source;
    r->last_seen = now_ms;
    persist(ab, r);
    return 0;
}

static uint64_t backoff_ms(uint32_t failures)
{
    uint64_t d = TC_ADDR_BACKOFF_BASE_MS;
    for (uint32_t i = 0; i < failures && d < TC_ADDR_BACKOFF_MAX_MS; i++)
        d *= 2;
    return d < TC_ADDR_BACKOFF_MAX_MS ? d : TC_ADDR_BACKOFF_MAX_MS;
}

static bool due(const tc_addr_rec *r, uint64_t now_ms)
{
    return r->last_try == 0 || now_ms >= r->last_try + backoff_ms(r->failures);
}

bool tc_addrbook_due(const tc_addrbook *ab, const char *addr, uint64_t now_ms)
{
    long i = find(ab, addr);
    return i < 0 || due(&ab->v[i], now_ms);
}

bool tc_addrbook_next(tc_addrbook *ab, uint64_t now_ms, bool (*skip)(void *arg, const char *addr),
                      void *arg, tc_netaddr *out)
{
    long best = -1;
    for (size_t i = 0; i < ab->n; i++) {
        const tc_addr_rec *r = &ab->v[i];
        if (!due(r, now_ms))
            continue;
        if (skip && skip(arg, r->addr.s))
            continue;
        /* prefer stronger sources, then the longest untried */
        if (best < 0 || rank(r->source) < rank(ab->v[best].source) ||
            (rank(r->source) == rank(ab->v[best].source) && r->last_try < ab->v[best].last_try))
            best = (long)i;
    }
    if (best < 0)
        return false;
    *out = ab->v[best].addr;
    return true;
}

void tc_addrbook_attempt(tc_addrbook *ab, const char *addr, uint64_t now_ms)
{
    long i = find(ab, addr);
    if (i >= 0) {
        ab->v[i].last_try = now_ms;
        persist(ab, &ab->v[i]);
    }
}

void tc_addrbook_success(tc_addrbook *ab, const char *addr, uint64_t now_ms)
{
    long i = find(ab, addr);
    if (i >= 0) {
        ab->v[i].last_success = now_ms;
        ab->v[i].last_seen = now_ms;
        ab->v[i].failures = 0;
        persist(ab, &ab->v[i]);
    }
}

void tc_addrbook_failure(tc_addrbook *ab, const char *addr, uint64_t now_ms)
{
    long i = find(ab, addr);
    if (i < 0)
        return;
    tc_addr_rec *r = &ab->v[i];
    if (r->failures < UINT32_MAX)
        r->failures++;
    if (r->last_try == 0)
        r->last_try = now_ms;
    if (r->source != TC_ADDR_CONNECT && r->failures >= TC_ADDR_MAX_FAILURES) {
        remove_at(ab, (size_t)i);
        return;
    }
    persist(ab, r);
}

size_t tc_addrbook_age(tc_addrbook *ab, uint64_t now_ms)
{
    size_t dropped = 0;
    for (size_t i = 0; i < ab->n;) {
        const tc_addr_rec *r = &ab->v[i];
        if (r->source != TC_ADDR_CONNECT && now_ms > r->last_seen &&
            now_ms - r->last_seen > TC_ADDR_MAX_AGE_MS) {
            remove_at(ab, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

size_t tc_addrbook_sample(const tc_addrbook *ab, tc_msg_peer *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < ab->n && k < max; i++) {
        if (ab->v[i].failures > 0)
            continue;
        out[k].addr = ab->v[i].addr;
        out[k].last_seen = ab->v[i].last_seen / 1000;
        k++;
    }
    return k;
}

size_t tc_addrbook_size(const tc_addrbook *ab)
{
    return ab->n;
}

const tc_addr_rec *tc_addrbook_get(const tc_addrbook *ab, const char *addr)
{
    long i = find(ab, addr);
    return i >= 0 ? &ab->v[i] : NULL;
}
