#include "store/netdb.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#define MAP_SIZE (256ull << 20) /* sparse: bans (≤ 65,536) and a few thousand addresses */

enum { OP_PUT = 1, OP_DEL = 2 };

/* An operation in a batch: u8 op | u8 table | u16 key length | u32 value
 * length | key | value, back to back in ops. */
#define OP_HDR 8

struct tc_netdb_batch {
    tc_buf ops;
    size_t n;
    bool durable;
    tc_netdb_batch *next;
};

struct tc_netdb {
    MDB_env *env;
    MDB_dbi dbi[TC_NETDB_COUNT];
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t work; /* the writer waits for batches or stop */
    pthread_cond_t done; /* tc_netdb_wait waits for written */
    tc_netdb_batch *head, *tail;
    size_t queued_bytes;       /* of non-durable batches in the queue */
    uint64_t n_submitted, n_written;
    bool stop;
    tc_netdb_stats st;
};

static const char *const table_names[TC_NETDB_COUNT] = {"meta", "bans", "addrs"};

tc_netdb_batch *tc_netdb_batch_new(void)
{
    tc_netdb_batch *b = tc_xcalloc(1, sizeof *b);
    tc_buf_init(&b->ops);
    return b;
}

void tc_netdb_batch_free(tc_netdb_batch *b)
{
    if (b == NULL)
        return;
    tc_buf_release(&b->ops);
    free(b);
}

static void add_op(tc_netdb_batch *b, uint8_t op, enum tc_netdb_table tb, const void *k, size_t kl,
                   const void *v, size_t vl)
{
    if ((unsigned)tb >= TC_NETDB_COUNT || kl == 0 || kl > 511 || vl > UINT32_MAX) {
        fprintf(stderr, "fatal: netdb: bad operation (table %d, key %zu bytes)\n", (int)tb, kl);
        abort(); /* a caller's bug */
    }
    uint8_t *p = tc_buf_extend(&b->ops, OP_HDR + kl + vl);
    p[0] = op;
    p[1] = (uint8_t)tb;
    p[2] = (uint8_t)kl;
    p[3] = (uint8_t)(kl >> 8);
    tc_le32(p + 4, (uint32_t)vl);
    memcpy(p + OP_HDR, k, kl);
    if (vl)
        memcpy(p + OP_HDR + kl, v, vl);
    b->n++;
}

void tc_netdb_batch_put(tc_netdb_batch *b, enum tc_netdb_table tb, const void *k, size_t kl, const void *v,
                        size_t vl)
{
    add_op(b, OP_PUT, tb, k, kl, v, vl);
}

void tc_netdb_batch_del(tc_netdb_batch *b, enum tc_netdb_table tb, const void *k, size_t kl)
{
    add_op(b, OP_DEL, tb, k, kl, NULL, 0);
}

size_t tc_netdb_batch_len(const tc_netdb_batch *b)
{
    return b->n;
}

/* ---- the writer thread ---------------------------------------------------- */

static int apply(tc_netdb *db, MDB_txn *txn, const tc_netdb_batch *b)
{
    const uint8_t *p = b->ops.p, *end = b->ops.p + b->ops.len;
    while (p < end) {
        size_t kl = (size_t)p[2] | (size_t)p[3] << 8;
        size_t vl = tc_get_le32(p + 4);
        MDB_val k = {kl, (void *)(p + OP_HDR)}, v = {vl, (void *)(p + OP_HDR + kl)};
        int rc = p[0] == OP_PUT ? mdb_put(txn, db->dbi[p[1]], &k, &v, 0) : mdb_del(txn, db->dbi[p[1]], &k, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
        p += OP_HDR + kl + vl;
    }
    return 0;
}

/* Everything queued at one wake-up goes into one write transaction. */
static void write_all(tc_netdb *db, tc_netdb_batch *list, size_t n_batches)
{
    MDB_txn *txn = NULL;
    bool durable = false;
    uint64_t ops = 0;
    int rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    for (tc_netdb_batch *b = list; rc == 0 && b; b = b->next) {
        rc = apply(db, txn, b);
        durable |= b->durable;
        ops += b->n;
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc == 0 && durable)
        rc = mdb_env_sync(db->env, 1);
    if (txn)
        mdb_txn_abort(txn);
    if (rc != 0)
        tc_log_warn("store", "peers store write failed", "batches=%zu err=%s hint=%s", n_batches, mdb_strerror(rc),
                    "addresses and bans are kept in memory; free disk space under <datadir>/peers");
    pthread_mutex_lock(&db->mu);
    if (rc == 0) {
        db->st.txns++;
        db->st.ops += ops;
    } else {
        db->st.failed++;
    }
    pthread_mutex_unlock(&db->mu);
}

static void *writer(void *arg)
{
    tc_netdb *db = arg;
    pthread_mutex_lock(&db->mu);
    for (;;) {
        while (db->head == NULL && !db->stop)
            pthread_cond_wait(&db->work, &db->mu);
        if (db->head == NULL)
            break; /* stop, and nothing left */
        tc_netdb_batch *list = db->head;
        db->head = db->tail = NULL;
        size_t n = 0, bytes = 0;
        for (tc_netdb_batch *b = list; b; b = b->next, n++)
            if (!b->durable)
                bytes += b->ops.len;
        pthread_mutex_unlock(&db->mu);
        write_all(db, list, n);
        while (list) {
            tc_netdb_batch *next = list->next;
            tc_netdb_batch_free(list);
            list = next;
        }
        pthread_mutex_lock(&db->mu);
        db->queued_bytes -= bytes;
        db->n_written += n;
        pthread_cond_broadcast(&db->done);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

int tc_netdb_submit(tc_netdb *db, tc_netdb_batch *b, bool durable)
{
    b->durable = durable;
    b->next = NULL;
    pthread_mutex_lock(&db->mu);
    if (!durable && db->queued_bytes + b->ops.len > TC_NETDB_QUEUE_MAX) {
        db->st.refused++;
        pthread_mutex_unlock(&db->mu);
        tc_netdb_batch_free(b);
        return TC_ELIMIT;
    }
    if (!durable)
        db->queued_bytes += b->ops.len;
    if (db->tail)
        db->tail->next = b;
    else
        db->head = b;
    db->tail = b;
    db->n_submitted++;
    db->st.submitted++;
    pthread_cond_signal(&db->work);
    pthread_mutex_unlock(&db->mu);
    return 0;
}

void tc_netdb_wait(tc_netdb *db)
{
    pthread_mutex_lock(&db->mu);
    uint64_t target = db->n_submitted;
    while (db->n_written < target)
        pthread_cond_wait(&db->done, &db->mu);
    pthread_mutex_unlock(&db->mu);
}

void tc_netdb_get_stats(tc_netdb *db, tc_netdb_stats *out)
{
    pthread_mutex_lock(&db->mu);
    *out = db->st;
    pthread_mutex_unlock(&db->mu);
}

/* ---- open, read, close ---------------------------------------------------- */

int tc_netdb_each(tc_netdb *db, enum tc_netdb_table tb,
                  int (*fn)(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl), void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        tc_log_error("store", "peers store read failed", "err=%s", mdb_strerror(rc));
        return TC_ESTORE;
    }
    int err = 0;
    rc = mdb_cursor_open(txn, db->dbi[tb], &cur);
    if (rc == 0) {
        MDB_val k, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && err == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            err = fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (err == 0 && rc != 0 && rc != MDB_NOTFOUND) {
        tc_log_error("store", "peers store read failed", "err=%s", mdb_strerror(rc));
        err = TC_ESTORE;
    }
    return err;
}

int tc_netdb_open(tc_netdb **out, const char *dir, tc_errmsg *e)
{
    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tc_fail(e, TC_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
    tc_netdb *db = tc_xcalloc(1, sizeof *db);
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->work, NULL);
    pthread_cond_init(&db->done, NULL);
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&db->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(db->env, TC_NETDB_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize(db->env, MAP_SIZE);
    /* No sync per commit: losing the last few gossiped addresses in an OS
     * crash is harmless (they are hints, learnt again from peers), and a
     * process crash loses nothing (the pages are in the OS cache). Bans are
     * durable all the same: a batch holding one is followed by a forced
     * mdb_env_sync, and so is the close. */
    if (rc == 0)
        rc = mdb_env_open(db->env, dir, MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    for (int i = 0; rc == 0 && i < TC_NETDB_COUNT; i++)
        rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE, &db->dbi[i]);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort(txn);
    if (rc != 0) {
        int err = tc_fail(e, rc == EACCES || rc == ENOENT ? TC_EIO : TC_ESTORE, "%s: cannot open peers store: %s",
                          dir, mdb_strerror(rc));
        tc_netdb_close(db);
        return err;
    }
    if (pthread_create(&db->thread, NULL, writer, db) != 0) {
        fprintf(stderr, "fatal: cannot start the peers store writer thread\n");
        abort();
    }
    db->started = true;
    *out = db;
    return 0;
}

void tc_netdb_close(tc_netdb *db)
{
    if (db == NULL)
        return;
    if (db->started) {
        pthread_mutex_lock(&db->mu);
        db->stop = true;
        pthread_cond_signal(&db->work);
        pthread_mutex_unlock(&db->mu);
        pthread_join(db->thread, NULL);
    }
    if (db->env) {
        int rc = mdb_env_sync(db->env, 1);
        if (rc != 0)
            tc_log_warn("store", "peers store sync failed", "err=%s", mdb_strerror(rc));
        mdb_env_close(db->env);
    }
    pthread_cond_destroy(&db->done);
    pthread_cond_destroy(&db->work);
    pthread_mutex_destroy(&db->mu);
    free(db);
}
