#include "node/peerstore.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "store/chainstore.h"
#include "util/buf.h"
#include "util/log.h"

/* Ban record: u64 created_ms | u64 until_ms | var reason.
 * Address record: u8 source | u64 last_seen | u64 last_try | u64 last_success
 * | u32 failures | u8 tried | u64 src_group.
 * meta "book_key": the address book's 32-byte secret; "legacy_bans": 1 once
 * the bans of the chain store (older versions) are imported. */

#define BOOK_KEY "book_key"
#define LEGACY_DONE "legacy_bans" /* the chain store's bans were imported */

static int submit_one(tc_netdb *db, bool put, enum tc_netdb_table tb, const char *key, const tc_buf *v)
{
    tc_netdb_batch *b = tc_netdb_batch_new();
    if (put)
        tc_netdb_batch_put(b, tb, key, strlen(key), v->p, v->len);
    else
        tc_netdb_batch_del(b, tb, key, strlen(key));
    return tc_netdb_submit(db, b, true);
}

static int ban_save(void *ctx, const tc_ban *b)
{
    tc_buf v;
    tc_buf_init(&v);
    tc_buf_u64(&v, b->created_ms);
    tc_buf_u64(&v, b->until_ms);
    tc_buf_var(&v, b->reason, strnlen(b->reason, sizeof b->reason - 1));
    int err = submit_one(ctx, true, TC_NETDB_BANS, b->subject, &v);
    tc_buf_release(&v);
    return err;
}

static int ban_remove(void *ctx, const char *subject)
{
    return submit_one(ctx, false, TC_NETDB_BANS, subject, NULL);
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

static int ban_load(void *ctx, tc_ban_visit fn, void *arg)
{
    visit w = {fn, NULL, arg};
    return tc_netdb_each(ctx, TC_NETDB_BANS, each_ban, &w);
}

static void addr_encode(tc_buf *v, const tc_addr_rec *a)
{
    tc_buf_u8(v, a->source);
    tc_buf_u64(v, a->last_seen);
    tc_buf_u64(v, a->last_try);
    tc_buf_u64(v, a->last_success);
    tc_buf_u32(v, a->failures);
    tc_buf_u8(v, a->tried);
    tc_buf_u64(v, a->src_group);
}

/* The loop's share of a batch: encoding and copying the records (a few
 * hundred ns each); the write is the store thread's. */
static int addr_save_batch(void *ctx, const tc_addr_rec *recs, size_t n, const tc_netaddr *removed,
                           size_t n_removed)
{
    tc_netdb_batch *b = tc_netdb_batch_new();
    for (size_t i = 0; i < n_removed; i++)
        tc_netdb_batch_del(b, TC_NETDB_ADDRS, removed[i].s, strlen(removed[i].s));
    tc_buf v;
    tc_buf_init(&v);
    for (size_t i = 0; i < n; i++) {
        tc_buf_reset(&v);
        addr_encode(&v, &recs[i]);
        tc_netdb_batch_put(b, TC_NETDB_ADDRS, recs[i].addr.s, strlen(recs[i].addr.s), v.p, v.len);
    }
    tc_buf_release(&v);
    if (tc_netdb_batch_len(b) == 0) {
        tc_netdb_batch_free(b);
        return 0;
    }
    return tc_netdb_submit(ctx, b, false);
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
    tc_rd_u8(&r, &a.tried);
    tc_rd_u64(&r, &a.src_group);
    if (tc_rd_done(&r) != 0)
        return 0;
    return w->addr_fn(w->arg, &a);
}

static int addr_load(void *ctx, tc_addr_visit fn, void *arg)
{
    visit w = {NULL, fn, arg};
    return tc_netdb_each(ctx, TC_NETDB_ADDRS, each_addr, &w);
}

typedef struct {
    const char *name;
    uint8_t *out;
    size_t len; /* the value must have exactly this length */
} meta_want;

static int find_meta(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    meta_want *w = ctx;
    if (kl == strlen(w->name) && memcmp(k, w->name, kl) == 0 && vl == w->len) {
        memcpy(w->out, v, vl);
        return 1;
    }
    return 0;
}

/* 1 if meta entry name holds a value of len bytes (copied to out), 0 if
 * not, or a store error. */
static int meta_get(tc_netdb *db, const char *name, uint8_t *out, size_t len)
{
    meta_want w = {name, out, len};
    return tc_netdb_each(db, TC_NETDB_META, find_meta, &w);
}

static int book_key(void *ctx, uint8_t key[TC_NETSTORE_KEY_LEN])
{
    int rc = meta_get(ctx, BOOK_KEY, key, TC_NETSTORE_KEY_LEN);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return rc;
    randombytes_buf(key, TC_NETSTORE_KEY_LEN);
    tc_netdb_batch *b = tc_netdb_batch_new();
    tc_netdb_batch_put(b, TC_NETDB_META, BOOK_KEY, strlen(BOOK_KEY), key, TC_NETSTORE_KEY_LEN);
    return tc_netdb_submit(ctx, b, true);
}

static int copy_ban(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    if (kl > 0 && kl < TC_BAN_SUBJECT_MAX) /* the record format is the same */
        tc_netdb_batch_put(ctx, TC_NETDB_BANS, k, kl, v, vl);
    return 0;
}

/* Once per peers store: the bans an older version kept in the ledger's
 * `bans` table, so that an upgrade does not lift them. */
static int import_bans(tc_netdb *db, const tc_legacy_bans *legacy)
{
    uint8_t done;
    int rc = meta_get(db, LEGACY_DONE, &done, 1);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    tc_netdb_batch *b = tc_netdb_batch_new();
    int err = legacy->each(legacy->src, copy_ban, b);
    if (err) {
        tc_netdb_batch_free(b);
        return err;
    }
    size_t n = tc_netdb_batch_len(b);
    tc_netdb_batch_put(b, TC_NETDB_META, LEGACY_DONE, strlen(LEGACY_DONE), "\1", 1);
    if (n)
        tc_log_info("node", "bans imported from the chain store", "bans=%zu", n);
    err = tc_netdb_submit(db, b, true);
    if (err == 0)
        tc_netdb_wait(db); /* at start: ban_load must see them */
    return err;
}

int tc_peerstore_open(tc_netstore *ns, const char *datadir, const tc_legacy_bans *legacy, tc_errmsg *e)
{
    memset(ns, 0, sizeof *ns);
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", datadir, TC_PEERSTORE_DIR) >= (int)sizeof dir)
        return tc_fail(e, TC_EINVAL, "%s: data dir path too long", datadir);
    tc_netdb *db;
    int err = tc_netdb_open(&db, dir, e);
    if (err)
        return err;
    if (legacy && (err = import_bans(db, legacy)) != 0) {
        tc_netdb_close(db);
        return tc_fail(e, err, "%s: cannot import the bans of the chain store: %s", dir, tc_strerror(err));
    }
    *ns = (tc_netstore){.ctx = db,
                        .ban_load = ban_load,
                        .ban_save = ban_save,
                        .ban_remove = ban_remove,
                        .addr_load = addr_load,
                        .addr_save_batch = addr_save_batch,
                        .book_key = book_key};
    return 0;
}

void tc_peerstore_close(tc_netstore *ns)
{
    tc_netdb_close(ns->ctx);
    memset(ns, 0, sizeof *ns);
}

tc_netdb *tc_peerstore_db(const tc_netstore *ns)
{
    return ns->ctx;
}
