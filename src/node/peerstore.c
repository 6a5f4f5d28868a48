#include "node/peerstore.h"

#include <string.h>

#include "util/buf.h"

/* Ban record: u64 created_ms | u64 until_ms | var reason.
 * Address record: u8 source | u64 last_seen | u64 last_try | u64 last_success | u32 failures. */

static int put(tc_store *s, enum tc_table tb, const char *key, const tc_buf *v)
{
    tc_txn *t;
    int err = tc_store_begin(s, 1, &t);
    if (err)
        return err;
    err = tc_store_put(t, tb, key, strlen(key), v->p, v->len);
    if (err) {
        tc_store_abort(t);
        return err;
    }
    return tc_store_commit(t);
}

static int del(tc_store *s, enum tc_table tb, const char *key)
{
    tc_txn *t;
    int err = tc_store_begin(s, 1, &t);
    if (err)
        return err;
    err = tc_store_del(t, tb, key, strlen(key));
    if (err && err != TC_ENOTFOUND) {
        tc_store_abort(t);
        return err;
    }
    return tc_store_commit(t);
}

static int ban_save(void *ctx, const tc_ban *b)
{
    tc_buf v;
    tc_buf_init(&v);
    tc_buf_u64(&v, b->created_ms);
    tc_buf_u64(&v, b->until_ms);
    tc_buf_var(&v, b->reason, strnlen(b->reason, sizeof b->reason - 1));
    int err = put(ctx, TC_TB_BANS, b->subject, &v);
    tc_buf_release(&v);
    return err;
}

static int ban_remove(void *ctx, const char *subject)
{
    return del(ctx, TC_TB_BANS, subject);
}

typedef struct {
    tc_ban_visit ban_fn;
    tc_addr_visit addr_fn;
    void *arg;
} visit;

/* A record that does not decode is skipped, not fatal: bans and addresses
 * are hints, and a bad one must not keep the node from starting. */
static int each_ban(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    visit *w = ctx;
    tc_ban b;
    tc_reader r;
    size_t n;
    memset(&b, 0, sizeof b);
    if (kl == 0 || kl >= sizeof b.subject)
        return 0;
    memcpy(b.subject, k, kl);
    tc_reader_init(&r, v, vl);
    tc_rd_u64(&r, &b.created_ms);
    tc_rd_u64(&r, &b.until_ms);
    const uint8_t *reason = tc_rd_var(&r, sizeof b.reason - 1, &n);
    if (reason)
        memcpy(b.reason, reason, n);
    if (tc_rd_done(&r) != 0)
        return 0;
    return w->ban_fn(w->arg, &b);
}

static int load(tc_store *s, enum tc_table tb, tc_store_each_fn fn, visit *w)
{
    tc_txn *t;
    int err = tc_store_begin(s, 0, &t);
    if (err)
        return err;
    err = tc_store_each(t, tb, NULL, 0, fn, w);
    tc_store_abort(t);
    return err;
}

static int ban_load(void *ctx, tc_ban_visit fn, void *arg)
{
    visit w = {fn, NULL, arg};
    return load(ctx, TC_TB_BANS, each_ban, &w);
}

static int addr_save(void *ctx, const tc_addr_rec *a)
{
    tc_buf v;
    tc_buf_init(&v);
    tc_buf_u8(&v, a->source);
    tc_buf_u64(&v, a->last_seen);
    tc_buf_u64(&v, a->last_try);
    tc_buf_u64(&v, a->last_success);
    tc_buf_u32(&v, a->failures);
    int err = put(ctx, TC_TB_PEERS, a->addr.s, &v);
    tc_buf_release(&v);
    return err;
}

static int addr_remove(void *ctx, const char *addr)
{
    return del(ctx, TC_TB_PEERS, addr);
}

static int each_addr(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    visit *w = ctx;
    tc_addr_rec a;
    tc_reader r;
    memset(&a, 0, sizeof a);
    if (kl == 0 || kl >= sizeof a.addr.s || !tc_netaddr_valid((const char *)k, kl, 0))
        return 0;
    memcpy(a.addr.s, k, kl);
    tc_reader_init(&r, v, vl);
    tc_rd_u8(&r, &a.source);
    tc_rd_u64(&r, &a.last_seen);
    tc_rd_u64(&r, &a.last_try);
    tc_rd_u64(&r, &a.last_success);
    tc_rd_u32(&r, &a.failures);
    if (tc_rd_done(&r) != 0)
        return 0;
    return w->addr_fn(w->arg, &a);
}

static int addr_load(void *ctx, tc_addr_visit fn, void *arg)
{
    visit w = {NULL, fn, arg};
    return load(ctx, TC_TB_PEERS, each_addr, &w);
}

tc_netstore tc_peerstore_iface(tc_store *s)
{
    tc_netstore ns = {s, ban_load, ban_save, ban_remove, addr_load, addr_save, addr_remove};
    return ns;
}
