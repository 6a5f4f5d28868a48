/* Rolling back the tip block: its undo records replayed in reverse, the
 * commitment, the totals and the address index derived from the UTXO
 * entries' records, and the result checked against the parent's header. */
#include <stdlib.h>
#include <string.h>

#include "store/ledger_impl.h"
#include "util/mem.h"

typedef struct {
    uint8_t table;
    const uint8_t *key, *old;
    size_t kl, ol;
    int had_old;
} undo_rec;

static int parse_undo(const uint8_t *p, size_t len, undo_rec **out, size_t *n)
{
    tc_reader r;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    tc_reader_init(&r, p, len);
    while (tc_rd_left(&r) > 0) {
        undo_rec u = {0};
        uint8_t had;
        tc_rd_u8(&r, &u.table);
        u.key = tc_rd_var(&r, 1 << 16, &u.kl);
        tc_rd_u8(&r, &had);
        u.had_old = had;
        if (had)
            u.old = tc_rd_var(&r, TC_MAX_BLOCK_SIZE, &u.ol);
        if (r.err || u.table >= TC_TB_COUNT || had > 1)
            break;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = tc_xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = u;
    }
    if (r.err || r.pos != len) {
        free(*out);
        *out = NULL;
        return TC_ECORRUPT;
    }
    return 0;
}

/* The commitment, the totals and the address index follow a UTXO entry's
 * undo: cur (NULL if absent) leaves, the recorded old value returns. The
 * index is derived here, not from undo records of its own, so undo data
 * written before the index existed rolls it back as well. */
static int undo_utxo(tc_txn *t, const undo_rec *u, const uint8_t *cur, size_t cl, tc_lthash *set,
                     tc_utxo_totals *totals)
{
    if (u->kl != TC_UTXO_KEY_SIZE)
        return TC_ECORRUPT;
    int err = 0;
    if (cur) {
        if (cl == TC_UTXO_REC_SIZE)
            tc_utxo_commit(set, u->key, cur, -1);
        if ((err = tc_addrindex_update(t, u->key, cur, cl, -1, totals)))
            return err;
    }
    if (u->had_old) {
        if (u->ol == TC_UTXO_REC_SIZE)
            tc_utxo_commit(set, u->key, u->old, 1);
        err = tc_addrindex_update(t, u->key, u->old, u->ol, 1, totals);
    }
    return err;
}

int tc_ledger_rollback_tip(tc_ledger *L, tc_errmsg *e)
{
    if (L->tip.height == 0)
        return tc_fail(e, TC_ETIP, "cannot roll back the genesis block");
    tc_txn *t;
    int err = tc_store_begin(L->store, 1, &t);
    if (err)
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    uint8_t hk[8], pk[8];
    const uint8_t *v;
    size_t vl;
    undo_rec *recs = NULL;
    size_t n = 0;
    tc_lthash set = L->tip.set;
    tc_utxo_totals totals = L->tip.totals;
    tc_block parent;
    tc_block_init(&parent);
    tc_be64(hk, L->tip.height);
    tc_be64(pk, L->tip.height - 1);
    if ((err = tc_store_get(t, TC_TB_UNDO, hk, 8, &v, &vl)) || (err = parse_undo(v, vl, &recs, &n))) {
        err = tc_fail(e, TC_ECORRUPT, "undo data of height %llu is missing or corrupt", (unsigned long long)L->tip.height);
        goto out;
    }
    for (size_t i = n; i-- > 0 && err == 0;) {
        const undo_rec *u = &recs[i];
        const uint8_t *cur;
        size_t cl;
        int have = tc_store_get(t, u->table, u->key, u->kl, &cur, &cl);
        if (have && have != TC_ENOTFOUND) {
            err = have;
            break;
        }
        if (u->table == TC_TB_UTXO && (err = undo_utxo(t, u, have == 0 ? cur : NULL, cl, &set, &totals)))
            break;
        if (u->had_old) {
            err = tc_store_put(t, u->table, u->key, u->kl, u->old, u->ol);
        } else if (have == 0) {
            err = tc_store_del(t, u->table, u->key, u->kl);
        }
    }
    if (err == 0 && (err = tc_store_get(t, TC_TB_BLOCKS, pk, 8, &v, &vl)) == 0)
        err = tc_block_decode(&parent, v, vl) ? TC_ECORRUPT : 0;
    if (err) {
        err = tc_fail(e, err, "rolling back height %llu: %s", (unsigned long long)L->tip.height, tc_strerror(err));
        goto out;
    }
    tc_hash digest, parent_hash;
    tc_lthash_digest(&set, &digest);
    if (!tc_hash_eq(&digest, &parent.hdr.utxo_commitment)) {
        err = tc_fail(e, TC_ECORRUPT, "UTXO commitment after undo does not match block %llu",
                      (unsigned long long)L->tip.height - 1);
        goto out;
    }
    tc_header_hash(&parent.hdr, &parent_hash);
    if ((err = tc_store_del(t, TC_TB_BLOCKS, hk, 8)) == 0 && (err = tc_store_del(t, TC_TB_CERTS, hk, 8)) == 0 &&
        (err = tc_store_del(t, TC_TB_UNDO, hk, 8)) == 0 && (err = tc_store_del(t, TC_TB_HASHES, L->tip.hash.b, 32)) == 0)
        err = tc_ledger_write_tip(t, &(chain_tip){L->tip.height - 1, parent_hash, parent.hdr, set, totals});
    if (err == 0) {
        err = tc_store_commit(t);
        t = NULL;
    }
    if (err) {
        err = tc_fail(e, err, "rolling back height %llu: %s", (unsigned long long)L->tip.height, tc_strerror(err));
        goto out;
    }
    L->tip.height--;
    L->tip.hash = parent_hash;
    L->tip.hdr = parent.hdr;
    L->tip.set = set;
    L->tip.totals = totals;
out:
    tc_store_abort(t);
    free(recs);
    tc_block_release(&parent);
    return err;
}

