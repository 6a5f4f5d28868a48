#include "store/store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store/diskguard.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

struct tc_store {
    MDB_env *env;
    MDB_dbi dbi[TC_TB_COUNT];
    tc_diskguard guard;
    atomic_int damaged; /* the first LMDB code that showed damaged pages, 0 if none */
    char dir[4096];
};

struct tc_txn {
    tc_store *s;
    MDB_txn *txn;
    int write;
};

static const char *const table_names[] = {
    "meta", "blocks", "hashes", "certs", "undo", "utxo", "mn", "mn_operator", "txindex", "valsets", "bans", "peers",
    "addr_utxo", "addr_sum",
};
_Static_assert(sizeof table_names / sizeof table_names[0] == TC_TB_COUNT, "one name per table");

const char *tc_store_table_name(enum tc_table tb)
{
    return tb < TC_TB_COUNT ? table_names[tb] : "?";
}

/* Damaged pages: the store is marked damaged for good (the node stops on
 * it, tc_store_damaged) and the call fails with TC_ECORRUPT. */
static int damaged(tc_store *s, int rc, const char *what)
{
    int none = 0;
    atomic_compare_exchange_strong(&s->damaged, &none, rc);
    tc_log_error("store", "database error", "op=%s err=%s dir=%s hint=%s", what, mdb_strerror(rc), s->dir,
                 "the store's pages are damaged: the node stops; run timed --verify-store, then restore the "
                 "data dir or move its chain directory aside to resync (docs/troubleshooting.md)");
    return TC_ECORRUPT;
}

/* LMDB and errno codes into ours; every unexpected one is logged with its
 * text. */
static int map_err(tc_store *s, int rc, const char *what)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return TC_ENOTFOUND;
    case MDB_MAP_FULL:
    case ENOSPC:
    case EDQUOT:
        tc_log_error("store", "store full", "op=%s err=%s hint=%s", what, mdb_strerror(rc),
                     "free disk space or raise store-map-mb, then restart");
        return TC_ESTORE_FULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return damaged(s, rc, what);
    default:
        tc_log_error("store", "database error", "op=%s err=%s hint=%s", what, mdb_strerror(rc),
                     "check free space first (df DATADIR): a full disk can show as an I/O error; if there is "
                     "room and it repeats after a restart, move the data dir aside and resync "
                     "(docs/troubleshooting.md)");
        return TC_ESTORE;
    }
}

/* A failed call inside t. LMDB drops the error its cursor setup meets on a
 * table's first use in a transaction (a damaged page on the way to the
 * table's root) and only the next step reports MDB_BAD_TXN; in a read
 * transaction nothing else puts it in that state, so there it is damage. */
static int txn_err(tc_txn *t, int rc, const char *what)
{
    if (rc == MDB_BAD_TXN && !t->write)
        return damaged(t->s, rc, what);
    return map_err(t->s, rc, what);
}

/* A failed write: a full map or disk (told from a real I/O error by the
 * guard) is logged once per attempt by the guard and backs writes off;
 * anything else goes through map_err. */
static int write_err(tc_store *s, int rc, const char *what)
{
    if (rc != 0 && tc_diskguard_is_full(rc, s->dir)) {
        tc_diskguard_failed(&s->guard, s->dir, rc, tc_clock_mono_ms());
        return TC_ESTORE_FULL;
    }
    return map_err(s, rc, what);
}

/* An error of mdb_env_open / the table opening as one of ours. */
static int open_err(int rc)
{
    return rc == MDB_MAP_FULL || rc == ENOSPC ? TC_ESTORE_FULL : rc == EACCES || rc == ENOENT ? TC_EIO : TC_ESTORE;
}

/* LMDB maps data.mdb and reads pages up to the last one its meta page
 * names: a file cut shorter (a partial copy, a filesystem repair) turns the
 * first read past its end into SIGBUS. Checked before any table is read. */
static int check_file_size(MDB_env *env, const char *dir, tc_errmsg *e)
{
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &st) != 0)
        return 0; /* nothing to compare against: LMDB reports its own errors later */
    char file[4096];
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    if (stat(file, &fs) != 0)
        return 0;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t)fs.st_size >= need)
        return 0;
    return tc_fail(e, TC_ECORRUPT,
                   "%s: data.mdb is %llu bytes but its last page ends at byte %llu: the file was truncated "
                   "(hint: restore the data dir from a backup, or move %s away and start again to resync)",
                   dir, (unsigned long long)fs.st_size, (unsigned long long)need, dir);
}

int tc_store_open(tc_store **out, const char *dir, uint64_t map_size, tc_errmsg *e)
{
    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tc_fail(e, TC_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
    tc_store *s = tc_xcalloc(1, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    MDB_txn *txn = NULL;
    int err = 0;
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, TC_TB_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, map_size ? map_size : (16ull << 30));
    if (rc == 0)
        rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
    if (rc != 0) {
        err = tc_fail(e, open_err(rc), "%s: cannot open store: %s", dir, mdb_strerror(rc));
        goto fail;
    }
    if ((err = check_file_size(s->env, dir, e)))
        goto fail;
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    for (int i = 0; rc == 0 && i < TC_TB_COUNT; i++)
        rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE, &s->dbi[i]);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc != 0) {
        err = tc_fail(e, open_err(rc), "%s: cannot open tables: %s", dir, mdb_strerror(rc));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (s->env)
        mdb_env_close(s->env);
    free(s);
    return err;
}

void tc_store_close(tc_store *s)
{
    if (s == NULL)
        return;
    mdb_env_close(s->env);
    free(s);
}

int tc_store_begin(tc_store *s, int write, tc_txn **out)
{
    *out = NULL;
    if (write && !tc_diskguard_may_write(&s->guard, tc_clock_mono_ms()))
        return TC_ESTORE_FULL; /* backing off: the guard logged the last attempt */
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &txn);
    if (rc != 0)
        return write ? write_err(s, rc, "begin") : map_err(s, rc, "begin");
    tc_txn *t = tc_xmalloc(sizeof *t);
    t->s = s;
    t->txn = txn;
    t->write = write;
    *out = t;
    return 0;
}

int tc_store_commit(tc_txn *t)
{
    tc_store *s = t->s;
    int write = t->write;
    int rc = mdb_txn_commit(t->txn);
    free(t);
    if (rc == 0 && write)
        tc_diskguard_ok(&s->guard, s->dir);
    return write ? write_err(s, rc, "commit") : map_err(s, rc, "commit");
}

void tc_store_abort(tc_txn *t)
{
    if (t == NULL)
        return;
    mdb_txn_abort(t->txn);
    free(t);
}

int tc_store_get(tc_txn *t, enum tc_table tb, const void *k, size_t kl, const uint8_t **v, size_t *vl)
{
    MDB_val key = {kl, (void *)k}, val;
    int rc = mdb_get(t->txn, t->s->dbi[tb], &key, &val);
    if (rc != 0) {
        *v = NULL;
        *vl = 0;
        return rc == MDB_NOTFOUND ? TC_ENOTFOUND : txn_err(t, rc, table_names[tb]);
    }
    *v = val.mv_data;
    *vl = val.mv_size;
    return 0;
}

int tc_store_put(tc_txn *t, enum tc_table tb, const void *k, size_t kl, const void *v, size_t vl)
{
    MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
    return write_err(t->s, mdb_put(t->txn, t->s->dbi[tb], &key, &val, 0), table_names[tb]);
}

int tc_store_del(tc_txn *t, enum tc_table tb, const void *k, size_t kl)
{
    MDB_val key = {kl, (void *)k};
    int rc = mdb_del(t->txn, t->s->dbi[tb], &key, NULL);
    return rc == MDB_NOTFOUND ? TC_ENOTFOUND : txn_err(t, rc, table_names[tb]);
}

int tc_store_each(tc_txn *t, enum tc_table tb, const void *from, size_t fl, tc_store_each_fn fn, void *ctx)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->s->dbi[tb], &c);
    if (rc != 0)
        return txn_err(t, rc, table_names[tb]);
    MDB_val key = {fl, (void *)from}, val;
    int ret = 0;
    rc = mdb_cursor_get(c, &key, &val, from ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0) {
        ret = fn(ctx, key.mv_data, key.mv_size, val.mv_data, val.mv_size);
        if (ret != 0)
            break;
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    if (ret == 0 && rc != MDB_NOTFOUND)
        ret = txn_err(t, rc, table_names[tb]);
    mdb_cursor_close(c);
    return ret;
}

int tc_store_floor(tc_txn *t, enum tc_table tb, const void *k, size_t kl, const uint8_t **found_k,
                   const uint8_t **v, size_t *vl)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->s->dbi[tb], &c);
    if (rc != 0)
        return txn_err(t, rc, table_names[tb]);
    MDB_val key = {kl, (void *)k}, val;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    if (rc == 0 && (key.mv_size != kl || memcmp(key.mv_data, k, kl) != 0))
        rc = mdb_cursor_get(c, &key, &val, MDB_PREV); /* first key > k: step back */
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, &key, &val, MDB_LAST); /* every key < k */
    int err = rc == MDB_NOTFOUND ? TC_ENOTFOUND : txn_err(t, rc, table_names[tb]);
    if (err == 0) {
        if (found_k)
            *found_k = key.mv_data;
        *v = val.mv_data;
        *vl = val.mv_size;
    }
    mdb_cursor_close(c);
    return err;
}

int tc_store_clear(tc_txn *t, enum tc_table tb)
{
    return txn_err(t, mdb_drop(t->txn, t->s->dbi[tb], 0), table_names[tb]);
}

uint64_t tc_store_count(tc_txn *t, enum tc_table tb)
{
    MDB_stat st;
    return mdb_stat(t->txn, t->s->dbi[tb], &st) == 0 ? st.ms_entries : 0;
}

bool tc_store_writable(const tc_store *s, const char **why)
{
    if (why)
        *why = s->guard.full ? s->guard.why : "";
    return !s->guard.full;
}

const char *tc_store_damaged(const tc_store *s)
{
    int rc = atomic_load(&s->damaged);
    return rc ? mdb_strerror(rc) : NULL;
}

uint64_t tc_store_size(tc_store *s)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
        return 0;
    return (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}
