/* The deciding parts of a node (nodeparts.h): what tc_node_new opens before
 * the event loop, P2P and RPC, and what a simulator opens alone. */
#include "node/nodeparts.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "node/node_impl.h"
#include "store/chainstore.h"
#include "store/diskguard.h"
#include "store/verify.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

static void free_liveness(void *ctx, const void *key, void *value)
{
    free(value);
}

static int open_keys(tc_node *n, tc_errmsg *e)
{
    char path[TC_CONFIG_PATH + 32];
    snprintf(path, sizeof path, "%s/%s", n->cfg.datadir, TC_NODE_KEY_FILE);
    int err = tc_keyfile_load(path, true, &n->node_key, e);
    if (err)
        return err;
    err = tc_keyfile_load(n->cfg.operator_key, false, &n->op_key, e);
    if (err == TC_ENOTFOUND && n->cfg.operator_key_given)
        return tc_fail(e, TC_ECONFIG,
                       "operator-key %s: no such file (hint: restore the validator's key file there, or remove the "
                       "operator-key line to run as a follower)",
                       n->cfg.operator_key);
    if (err == TC_ENOTFOUND) {
        tc_log_info("node", "no operator key: running as a follower (never signs)", "operator_key=%s",
                    n->cfg.operator_key);
        return 0;
    }
    if (err)
        return err;
    n->has_op_key = true;
    return 0;
}

/* A key that is neither in the next height's set nor a registered
 * masternode signs nothing: say so at start instead of following silently. */
static void check_operator_key(tc_node *n)
{
    tc_valset vs;
    if (!n->has_op_key || tc_ledger_valset(n->L, tc_ledger_height(n->L) + 1, &vs) != 0)
        return;
    bool in_set = tc_valset_find(&vs, &n->op_key.pk) >= 0;
    tc_valset_release(&vs);
    if (in_set)
        return;
    char hex[65];
    tc_hex_encode(hex, n->op_key.pk.b, 32);
    if (tc_node_is_masternode(n, &n->op_key.pk))
        tc_log_info("node", "operator key is registered but not in the validator set now", "operator=%s hint=%s", hex,
                    "it signs once activated and unjailed: see time-cli masternode list");
    else
        tc_log_warn("node", "operator key is not a registered masternode: this node will not sign",
                    "operator=%s operator_key=%s hint=%s", hex, n->cfg.operator_key,
                    "register it (time-cli masternode register), or check operator-key names the right file");
}

/* The data dir, genesis, keys and the store with its signature cache,
 * worker pool (only if io allows threads) and mempool. */
static int open_state(tc_node *n, tc_errmsg *e)
{
    const tc_config *cfg = &n->cfg;
    int err;
    if ((err = tc_crypto_init()))
        return tc_fail(e, err, "libsodium failed to initialise");
    if ((err = tc_datadir_open(&n->dd, cfg->datadir, e)))
        return err;
    if (access(cfg->genesis, F_OK) != 0) /* the first start on a fresh machine: say what to do */
        return tc_fail(e, TC_ECONFIG, "%s: no genesis document; a devnet's comes from `time-cli devnet init` "
                       "(then --config DIR/node0/time.conf), any network's can be named with --genesis FILE",
                       cfg->genesis);
    if ((err = tc_genesis_load(&n->g, cfg->genesis, e)))
        return err;
    if (n->g.net != cfg->net)
        return tc_fail(e, TC_ECONFIG, "%s is a %s genesis but the node runs %s", cfg->genesis, n->g.net->name,
                       cfg->net->name);
    if ((err = open_keys(n, e)))
        return err;
    n->cache = tc_sigcache_new(SIGCACHE_ENTRIES);
    n->pool = n->io.verify_threads ? tc_pool_new(0) : NULL;
    tc_ledger_opts lo = {cfg->store_map_bytes ? cfg->store_map_bytes : cfg->store_map_mb << 20, n->cache, n->pool};
    char store[TC_CONFIG_PATH + 16];
    snprintf(store, sizeof store, "%s/chain", cfg->datadir);
    if ((err = tc_diskguard_check_start(cfg->datadir, e)) || (err = tc_verify_open(&n->L, store, &n->g, &lo, e)))
        return err;
    tc_mempool_opts mo = {cfg->mempool_max_txs, cfg->mempool_max_mb * 1000 * 1000,
                          cfg->mempool_expiry_h * 3600 * 1000};
    n->mp = tc_mempool_new(tc_chainstore_view(n->L), &mo);
    return 0;
}

/* Announced transactions being fetched (txreq.h): a mempool's worth of
 * hashes, a tenth of it from one peer, another announcer asked after 2 s. */
#define TXREQ_MAX_HASHES 50000
#define TXREQ_MAX_PER_PEER 5000
#define TXREQ_TIMEOUT_MS 2000

tc_node *tc_node_alloc(const tc_config *cfg)
{
    tc_node *n = tc_xcalloc(1, sizeof *n);
    n->cfg = *cfg;
    tc_cert_init(&n->last_commit);
    tc_cert_init(&n->fetch.cert);
    tc_valset_init(&n->vs);
    n->cands = tc_cands_new();
    n->seen = tc_hmap_new(32);
    n->oplinks = tc_oplinks_new();
    n->txreq = tc_txreq_new(TXREQ_MAX_HASHES, TXREQ_MAX_PER_PEER, TXREQ_TIMEOUT_MS);
    return n;
}

int tc_node_parts_open(tc_node *n, tc_errmsg *e)
{
    tc_signstate last;
    int err;
    if ((err = open_state(n, e)) || (err = tc_node_open_signlog(n, &last, e)))
        return err;
    check_operator_key(n);
    tc_node_sync_open(n);
    if ((err = tc_txdurable_open(&n->txd, &n->io, n->cfg.datadir, n->cfg.mempool_persist != 0, n->mp, e)))
        return err;
    tc_node_driver_open(n, &last);
    n->committed_ms = n->io.mono_ms(n->io.ctx); /* health counts from the start */
    return 0;
}

void tc_node_parts_close(tc_node *n)
{
    tc_node_driver_close(n);
    tc_node_sync_close(n);
    tc_txdurable_close(n->txd); /* the journal rewritten from the pool */
    n->txd = NULL;
    tc_mempool_free(n->mp);
    tc_signlog_close(n->slog);
    tc_ledger_close(n->L); /* the store closes last: every commit is already durable */
    tc_pool_free(n->pool);
    tc_sigcache_free(n->cache);
    if (n->seen) {
        tc_hmap_each(n->seen, free_liveness, NULL);
        tc_hmap_free(n->seen);
    }
    tc_oplinks_free(n->oplinks);
    n->oplinks = NULL;
    tc_txreq_free(n->txreq);
    n->txreq = NULL;
    tc_genesis_release(&n->g);
    tc_keypair_wipe(&n->node_key);
    tc_keypair_wipe(&n->op_key);
    tc_datadir_close(n->dd);
}

int tc_node_parts_new(tc_node **out, const tc_config *cfg, const tc_nodeio *io, tc_errmsg *e)
{
    tc_node *n = tc_node_alloc(cfg);
    n->io = *io;
    int err = tc_node_parts_open(n, e);
    if (err) {
        tc_node_parts_free(n);
        n = NULL;
    }
    *out = n;
    return err;
}

void tc_node_parts_free(tc_node *n)
{
    if (n == NULL)
        return;
    tc_node_parts_close(n);
    free(n);
}

void tc_node_parts_start(tc_node *n)
{
    tc_node_start_height(n);
}

int tc_node_parts_message(tc_node *n, uint64_t peer, const tc_msg *m)
{
    return tc_node_on_message(n, peer, m);
}

void tc_node_parts_peer(tc_node *n, uint64_t peer, bool up)
{
    tc_node_on_peer(n, peer, up);
}

void tc_node_parts_tick(tc_node *n)
{
    tc_node_tick(n);
}

void tc_node_parts_heartbeat(tc_node *n)
{
    tc_node_heartbeat(n);
}

int tc_node_parts_submit(tc_node *n, const tc_tx *tx, tc_hash *txid, tc_errmsg *e)
{
    int err = tc_mempool_add(n->mp, tx, n->io.wall_ms(n->io.ctx), txid, e);
    if (err)
        return err;
    (void)tc_txdurable_admitted(n->txd, tx, true); /* logs a failure */
    n->io.relay(n->io.ctx, TC_INV_TX, txid, 0);
    return 0;
}

tc_ledger *tc_node_parts_ledger(tc_node *n)
{
    return n->L;
}

const tc_pubkey *tc_node_parts_operator(const tc_node *n)
{
    return n->has_op_key ? &n->op_key.pk : NULL;
}

const tc_pubkey *tc_node_parts_node_key(const tc_node *n)
{
    return &n->node_key.pk;
}

int tc_node_parts_exit_code(const tc_node *n)
{
    return n->exit_code;
}

bool tc_node_parts_syncing(const tc_node *n)
{
    return n->sync != NULL && tc_sync_active(n->sync);
}

bool tc_node_parts_fork_halted(const tc_node *n, uint64_t *height)
{
    return n->forkq != NULL && tc_forkq_halted(n->forkq, height);
}

size_t tc_node_parts_fork_culprits(const tc_node *n, const tc_pubkey **out)
{
    *out = NULL;
    return n->forkq ? tc_forkq_culprits(n->forkq, out) : 0;
}
