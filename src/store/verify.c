#include "store/verify.h"

#include <stdio.h>
#include <string.h>

#include "chain/block.h"
#include "chain/cert.h"
#include "chain/genesis.h"
#include "chain/tx.h"
#include "chain/valset.h"
#include "util/clock.h"

/* Short: the whole message fits tc_errmsg (256 bytes) with a long path. */
#define REMEDY "damaged: resync (move data.mdb aside, keep keys and consensus.log) or restore a backup"

/* TC_ECORRUPT with what went wrong at height h and the remedy. */
static int damaged(tc_errmsg *e, const char *dir, unsigned long long h, const char *what, const char *detail)
{
    return tc_fail(e, TC_ECORRUPT, "%s/data.mdb: block %llu: %s%s%.60s; " REMEDY, dir, h, what,
                   detail[0] ? ": " : "", detail);
}

/* The certificate stored at h certifies hash under h's validator set. */
static int check_cert(tc_ledger *L, const char *dir, uint64_t h, const tc_hash *hash, tc_errmsg *e)
{
    tc_cert cert;
    tc_valset vs;
    tc_errmsg why = {0};
    if (tc_ledger_get_cert(L, h, &cert) != 0)
        return damaged(e, dir, h, "its certificate is missing or does not decode", "");
    int err = tc_ledger_valset(L, h, &vs);
    if (err) {
        tc_cert_release(&cert);
        return damaged(e, dir, h, "no validator set for it", tc_strerror(err));
    }
    err = tc_cert_verify(&cert, &vs, tc_ledger_genesis(L)->chain_id, h, hash, tc_ledger_sigcache(L), &why);
    tc_valset_release(&vs);
    tc_cert_release(&cert);
    return err ? damaged(e, dir, h, "its certificate does not verify", why.msg) : 0;
}

int tc_verify_tip(tc_ledger *L, const char *dir, tc_errmsg *e)
{
    uint64_t h = tc_ledger_height(L);
    tc_hash hash;
    tc_ledger_tip(L, NULL, &hash);
    return h == 0 ? 0 : check_cert(L, dir, h, &hash, e);
}

/* Block h decodes, is indexed by its hash, links to *prev and its
 * transactions are indexed; *prev becomes its hash. */
static int check_block(tc_ledger *L, const char *dir, uint64_t h, tc_hash *prev, uint64_t *txs, tc_errmsg *e)
{
    tc_block b;
    if (tc_ledger_get_block(L, h, &b) != 0)
        return damaged(e, dir, h, "missing or does not decode", "");
    tc_hash hash;
    tc_header_hash(&b.hdr, &hash);
    uint64_t at = 0;
    int err = 0;
    if (b.hdr.height != h)
        err = damaged(e, dir, h, "its header names another height", "");
    else if (!tc_hash_eq(&b.hdr.prev, prev))
        err = damaged(e, dir, h, "its header does not link to the block below", "");
    else if (tc_ledger_height_of(L, &hash, &at) != 0 || at != h)
        err = damaged(e, dir, h, "the hash index does not name it", "");
    for (size_t i = 0; err == 0 && i < b.n_tx; i++) {
        tc_hash txid;
        uint64_t th;
        uint32_t ti;
        tc_tx_txid(&b.txs[i], &txid);
        if (tc_ledger_tx_location(L, &txid, &th, &ti) != 0 || th != h || ti != i)
            err = damaged(e, dir, h, "the transaction index does not name one of its transactions", "");
    }
    *txs += b.n_tx;
    tc_block_release(&b);
    if (err == 0)
        err = check_cert(L, dir, h, &hash, e);
    *prev = hash;
    return err;
}

int tc_verify_open(tc_ledger **out, const char *dir, const tc_genesis *g, const tc_ledger_opts *opts, tc_errmsg *e)
{
    int err = tc_ledger_open(out, dir, g, opts, e);
    if (err == 0 && (err = tc_verify_tip(*out, dir, e))) {
        tc_ledger_close(*out);
        *out = NULL;
        return err;
    }
    if (err == TC_ECORRUPT && strstr(e->msg, "restore") == NULL) { /* the size check names its own */
        tc_errmsg why = *e;
        err = tc_fail(e, err, "%.150s; " REMEDY, why.msg);
    }
    return err;
}

int tc_verify_store(tc_ledger *L, const char *dir, char *summary, size_t cap, tc_errmsg *e)
{
    uint64_t t0 = tc_clock_mono_ms(), tip = tc_ledger_height(L), txs = 0;
    tc_hash prev = *tc_ledger_genesis_hash(L), commit;
    int err = 0;
    for (uint64_t h = 1; err == 0 && h <= tip; h++)
        err = check_block(L, dir, h, &prev, &txs, e);
    if (err)
        return err;
    tc_header hdr;
    tc_ledger_tip(L, &hdr, NULL);
    if ((err = tc_ledger_scan_utxo_commitment(L, &commit)))
        return damaged(e, dir, tip, "the UTXO table cannot be read", tc_strerror(err));
    if (!tc_hash_eq(&commit, &hdr.utxo_commitment))
        return damaged(e, dir, tip, "the UTXO table does not hash to the tip's UTXO commitment", "");
    uint64_t count, sat;
    tc_ledger_utxo_totals(L, &count, &sat);
    snprintf(summary, cap, "%s/data.mdb: ok: %llu blocks (headers, certificates, indexes), %llu transactions, "
             "%llu UTXOs match the tip's commitment; %llu ms",
             dir, (unsigned long long)tip, (unsigned long long)txs, (unsigned long long)count,
             (unsigned long long)(tc_clock_mono_ms() - t0));
    return 0;
}
