/* The whole-node mode (whole.h): the world's setup (a devnet made in-process
 * under a temporary directory), the nodes' lifecycles (crash closes a
 * node's parts, restart reopens them from its directory), the fault
 * profiles, the event loop with the checker after every event, and the
 * event digest that shows a seed replays exactly. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "chain/params.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"
#include "wallet/devnet.h"
#include "wallet/keyfile.h"
#include "whole_impl.h"

#define LIVENESS_BOUND_MS 20000 /* with no fault in effect, the next height within this */
#define DRAIN_MS 30000          /* after the last height: acknowledged transactions still to commit */
#define STORE_MAP_MB 256
#define FILL_SPARE 32768       /* disk-full: bytes left in the store's map when it is reopened */
#define FILL_WINDOW_MS 15000   /* disk-full: the run lasts at least this after the fill, to reach the stop */
#define FREE_AFTER_MS 3000     /* disk-full: the operator frees space this long after the stop */

static const char *profile_names[WP_COUNT] = {"honest", "lossy", "crash-restart", "partition", "disk-full"};

const char *whole_profile_name(enum whole_profile p)
{
    return p < WP_COUNT ? profile_names[p] : "?";
}

int whole_profile_parse(const char *s)
{
    for (int i = 0; i < WP_COUNT; i++)
        if (strcmp(s, profile_names[i]) == 0)
            return i;
    return strcmp(s, "none") == 0 ? WP_HONEST : -1;
}

/* ---- libsodium's randombytes from the seed -------------------------------------- */

static sim_rng g_random;

static const char *random_name(void)
{
    return "tc-sim-whole";
}

static uint32_t random_u32(void)
{
    return (uint32_t)(sim_next(&g_random) >> 32);
}

static void random_buf(void *const buf, const size_t size)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < size; i += 8) {
        uint64_t x = sim_next(&g_random);
        memcpy(p + i, &x, size - i < 8 ? size - i : 8);
    }
}

static randombytes_implementation g_random_impl = {random_name, random_u32, NULL, NULL, random_buf, NULL};

void whole_install_random(void)
{
    sim_rng_seed(&g_random, 0);
    if (randombytes_set_implementation(&g_random_impl) != 0)
        abort(); /* only fails after sodium_init: a bug in main.c */
}

/* ---- helpers ------------------------------------------------------------------- */

void w_violation(wworld *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = true;
    w->res->ok = false;
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(w->res->violation, sizeof w->res->violation, "t=%" PRIu64 "ms ", w->now);
    vsnprintf(w->res->violation + k, sizeof w->res->violation - (size_t)k, fmt, ap);
    va_end(ap);
}

void w_push(wworld *w, sim_event *e)
{
    sim_evq_push(&w->q, e);
}

void w_at(wworld *w, uint64_t t, uint8_t what, int node, uint64_t a)
{
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = t;
    e.kind = EV_WHOLE;
    e.node = node;
    e.epoch = node >= 0 ? w->nodes[node].epoch : 0;
    e.u.whole.what = what;
    e.u.whole.from = -1;
    e.u.whole.a = a;
    w_push(w, &e);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* ---- nodes ----------------------------------------------------------------------- */

static int node_config(wworld *w, wnode *nd)
{
    char conf[400];
    snprintf(conf, sizeof conf, "%s/node%d/time.conf", w->net, nd->idx);
    char *argv[] = {"tc-sim", "--config", conf, NULL};
    tc_errmsg e;
    tc_config_defaults(&nd->cfg);
    if (tc_config_from_args(&nd->cfg, 3, argv, &e) != 0) {
        snprintf(w->res->violation, sizeof w->res->violation, "node %d config: %s", nd->idx, e.msg);
        return -1;
    }
    nd->cfg.argv = NULL; /* argv is on this stack: nothing reloads here */
    nd->cfg.argc = 0;
    nd->cfg.store_map_mb = STORE_MAP_MB;
    if (w->cfg->resume_now)
        snprintf(nd->cfg.resume_signing, sizeof nd->cfg.resume_signing, "now");
    return 0;
}

static bool node_open(wworld *w, wnode *nd)
{
    tc_errmsg e;
    w_io_init(nd);
    if (tc_node_parts_new(&nd->node, &nd->cfg, &nd->io, &e) != 0) {
        w_violation(w, "node %d does not open: %s", nd->idx, e.msg);
        return false;
    }
    nd->up = true;
    nd->op = *tc_node_parts_operator(nd->node);
    nd->node_key = *tc_node_parts_node_key(nd->node);
    nd->checked = tc_ledger_height(tc_node_parts_ledger(nd->node)) < nd->checked
                      ? tc_ledger_height(tc_node_parts_ledger(nd->node))
                      : nd->checked;
    tc_node_parts_start(nd->node);
    w_at(w, w->now + W_TICK_MS, W_TICK, nd->idx, 0);
    w_at(w, w->now + nd->cfg.heartbeat_interval_s * 1000, W_HEARTBEAT, nd->idx, 0);
    return true;
}

/* Closes nd's parts: what is on its disk stays, the rest is gone. */
static void node_close(wworld *w, wnode *nd)
{
    if (!nd->up)
        return;
    w_links_down(w, nd->idx);
    nd->up = false;
    nd->epoch++;
    tc_node_parts_free(nd->node);
    nd->node = NULL;
    w_io_free_timers(nd);
}

static void fault_begins(wworld *w)
{
    w->faults++;
}

static void fault_ends(wworld *w)
{
    if (--w->faults == 0)
        w->healthy_since_ms = w->now;
}

/* What a node keeps of its signatures (node_driver.c): gone with amnesia. */
static void forget_signs(wworld *w, wnode *nd)
{
    static const char *const files[] = {"consensus.log", "consensus.lock"};
    for (size_t i = 0; i < 2; i++) {
        char path[TC_CONFIG_PATH + 32];
        snprintf(path, sizeof path, "%s/%s", nd->cfg.datadir, files[i]);
        unlink(path);
    }
}

static void restart(wworld *w, wnode *nd)
{
    if (nd->up)
        return;
    if (w->cfg->amnesia)
        forget_signs(w, nd);
    if (!node_open(w, nd))
        return;
    w->res->restarts++;
    /* Byzantine peers first: an attacker races to be the one a syncing node asks */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < w->n; i++)
            if (i != nd->idx && w->nodes[i].up && nd->up && w->nodes[i].byz == (pass == 0))
                w_link_up(w, nd->idx, i);
    fault_ends(w);
}

/* disk-full: nd's store is reopened with FILL_SPARE bytes to spare in its
 * map (LMDB reports MDB_MAP_FULL as a full disk: store/diskguard.h), so a
 * few commits later it cannot write. */
static void fill(wworld *w, wnode *nd)
{
    char path[TC_CONFIG_PATH + 32];
    struct stat st;
    snprintf(path, sizeof path, "%s/chain/data.mdb", nd->cfg.datadir);
    if (!nd->up || stat(path, &st) != 0)
        return;
    fault_begins(w);
    node_close(w, nd);
    nd->cfg.store_map_bytes = (uint64_t)st.st_size + FILL_SPARE;
    nd->fill_armed = true;
    restart(w, nd);
}

void w_full_stop(wworld *w, wnode *nd)
{
    nd->fill_armed = false;
    nd->full_stops++;
    w_at(w, w->now, W_CRASH, nd->idx, 0);
    w_at(w, w->now + FREE_AFTER_MS, W_FREED, -1, (uint64_t)nd->idx);
}

/* ---- the broken node (checker self-test) ------------------------------------------- */

/* Replaces nd's tip with another block of the same height that every
 * validator's key certifies: a node applying a different block than the
 * rest, which the checker must report. */
static void forge_tip(wworld *w, wnode *nd)
{
    tc_ledger *L = tc_node_parts_ledger(nd->node);
    uint64_t h = tc_ledger_height(L);
    uint32_t chain_id = tc_ledger_genesis(L)->chain_id;
    tc_block old, blk;
    tc_cert prev, cert;
    tc_errmsg e;
    size_t skipped;
    tc_block_init(&blk);
    tc_cert_init(&prev);
    tc_cert_init(&cert);
    if (tc_ledger_get_block(L, h, &old) != 0)
        abort();
    if (tc_ledger_rollback_tip(L, &e) != 0 || tc_ledger_get_cert(L, h - 1, &prev) != 0 ||
        tc_ledger_build_block(L, NULL, 0, old.hdr.time_ms + 1, &old.hdr.proposer, &prev, &blk, &skipped, &e) != 0) {
        fprintf(stderr, "tc-sim: cannot forge a block: %s\n", e.msg);
        abort();
    }
    tc_header_hash(&blk.hdr, &cert.block);
    cert.height = h;
    for (int i = 0; i < w->n; i++) {
        char path[400];
        tc_keypair kp;
        snprintf(path, sizeof path, "%s/node%d/operator.key", w->net, i);
        if (tc_keyfile_load(path, false, &kp, &e) != 0)
            abort();
        tc_vote v = {.type = TC_VOTE_PRECOMMIT, .height = h, .round = 0, .block = cert.block};
        tc_vote_sign(&v, chain_id, &kp);
        tc_keypair_wipe(&kp);
        if (tc_cert_add(&cert, &v) != 0)
            abort();
    }
    if (tc_ledger_apply_block(L, &blk, &cert, &e) != 0) {
        fprintf(stderr, "tc-sim: the forged block does not apply: %s\n", e.msg);
        abort();
    }
    nd->checked = h - 1; /* the checker looks at the height again */
    tc_block_release(&old);
    tc_block_release(&blk);
    tc_cert_release(&prev);
    tc_cert_release(&cert);
}

/* ---- profiles ------------------------------------------------------------------------ */

static void plan_faults(wworld *w)
{
    uint64_t lo = 2, hi = 40;
    switch (w->cfg->profile) {
    case WP_LOSSY:
        w->loss = (unsigned)sim_range(&w->rng, 20, 100);
        w->dup = (unsigned)sim_range(&w->rng, 20, 100);
        w->slow = (unsigned)sim_range(&w->rng, 10, 60);
        hi = sim_range(&w->rng, 20, 120);
        break;
    case WP_CRASH: {
        /* With amnesia every restarted node is held (node/signhold.h): more
         * than 1/3 of the weight held at once never commits again. */
        int crashable = !w->cfg->amnesia ? w->n : w->cfg->amnesia_nodes ? w->cfg->amnesia_nodes : (w->n - 1) / 3;
        if (crashable < 1)
            crashable = 1;
        uint64_t t = sim_range(&w->rng, 1000, 3000);
        for (int k = (int)sim_range(&w->rng, 1, 3); k > 0; k--) {
            int i = (int)sim_range(&w->rng, 0, (uint64_t)crashable - 1);
            uint64_t len = w->cfg->amnesia ? sim_range(&w->rng, 10, 300) : sim_range(&w->rng, 200, 4000);
            w_at(w, t, W_CRASH, i, 0);
            w_at(w, t + len, W_RESTART, -1, (uint64_t)i);
            t += len + sim_range(&w->rng, 500, 3000);
        }
        w->faults_until = t;
        w->loss = 10;
        break;
    }
    case WP_DISK_FULL: {
        uint64_t t = sim_range(&w->rng, 1000, 3000);
        w_at(w, t, W_FILL, (int)sim_range(&w->rng, 0, (uint64_t)w->n - 1), 0);
        w->faults_until = t + FILL_WINDOW_MS;
        break;
    }
    case WP_PARTITION: {
        uint64_t t = sim_range(&w->rng, 500, 3000);
        for (int k = (int)sim_range(&w->rng, 1, 2); k > 0; k--) {
            uint64_t mask = 0, all = (1ull << w->n) - 1;
            while (mask == 0 || mask == all)
                mask = sim_next(&w->rng) & all;
            uint64_t len = sim_range(&w->rng, 1000, 6000);
            w_at(w, t, W_PART_START, -1, mask);
            w_at(w, t + len, W_PART_END, -1, 0);
            t += len + sim_range(&w->rng, 1000, 3000);
        }
        w->faults_until = t;
        w->slow = 20;
        break;
    }
    default:
        break;
    }
    for (int a = 0; a < w->n; a++)
        for (int b = 0; b < w->n; b++) {
            uint64_t l = sim_range(&w->rng, lo, hi);
            w->link_lo[a][b] = (uint16_t)l;
            w->link_hi[a][b] = (uint16_t)sim_range(&w->rng, l, hi);
        }
}

/* ---- the loop --------------------------------------------------------------------------- */

static void digest_event(wworld *w, const sim_event *e)
{
    uint8_t rec[8 + 1 + 4 + 4 + 8];
    int from = e->u.whole.from;
    memcpy(rec, &e->t, 8);
    rec[8] = e->u.whole.what;
    memcpy(rec + 9, &e->node, 4);
    memcpy(rec + 13, &from, 4);
    memcpy(rec + 17, e->u.whole.what == W_TIMER ? &(uint64_t){0} : &e->u.whole.a, 8);
    tc_hasher_update(&w->digest, rec, sizeof rec);
    if (e->u.whole.what == W_DELIVER) {
        const wmsg *wm = e->u.whole.p;
        tc_hasher_update(&w->digest, &wm->type, sizeof wm->type);
        tc_hasher_update(&w->digest, wm->data, wm->len);
    }
}

static void handle(wworld *w, const sim_event *e)
{
    wnode *nd = e->node >= 0 ? &w->nodes[e->node] : NULL;
    if (nd && (!nd->up || nd->epoch != e->epoch) && e->u.whole.what != W_CRASH)
        return; /* for an incarnation that has gone */
    if (nd && nd->up && tc_node_parts_exit_code(nd->node) != 0 && e->u.whole.what != W_CRASH)
        return; /* it stopped itself (disk-full: its close is queued) */
    switch (e->u.whole.what) {
    case W_TIMER:
    case W_DELIVER:
    case W_HEIGHT:
        w_io_event(w, e);
        break;
    case W_TICK:
        tc_node_parts_tick(nd->node);
        if (nd->up)
            w_io_ping(w, nd->idx);
        w_at(w, w->now + W_TICK_MS, W_TICK, nd->idx, 0);
        break;
    case W_HEARTBEAT:
        tc_node_parts_heartbeat(nd->node);
        w_at(w, w->now + nd->cfg.heartbeat_interval_s * 1000, W_HEARTBEAT, nd->idx, 0);
        break;
    case W_CRASH: /* episodes never overlap: the node is up */
        if (nd->up) {
            fault_begins(w);
            node_close(w, nd);
        }
        break;
    case W_RESTART:
        restart(w, &w->nodes[e->u.whole.a]);
        break;
    case W_FILL:
        fill(w, nd);
        break;
    case W_FREED: /* the map it had, the disk as it was: the node syncs what it missed */
        w->nodes[e->u.whole.a].cfg.store_map_bytes = 0;
        restart(w, &w->nodes[e->u.whole.a]);
        break;
    case W_PART_START:
        w->part_active = true;
        w->part_mask = e->u.whole.a;
        fault_begins(w);
        break;
    case W_PART_END:
        w->part_active = false;
        fault_ends(w);
        break;
    case W_UNLINK:
        w_unlink(w, nd->idx, (int)e->u.whole.a);
        break;
    case W_BYZ:
        w_byz_event(w, nd);
        break;
    case W_WALLET: {
        /* Once every node has the heights asked for, the wallet stops
         * paying: what it has had acknowledged must then drain (DRAIN_MS).
         * Paying on would leave new payments pending at every instant, and
         * the run would end only by chance. */
        uint64_t hi, lo = w_min_height(w, &hi);
        if (lo < (uint64_t)w->cfg->heights || w->faults > 0 || w->now < w->faults_until)
            w_wallet_step(w);
        w_at(w, w->now + sim_range(&w->rng, 100, 600), W_WALLET, -1, 0);
        break;
    }
    default:
        abort();
    }
}

/* Every honest node up at the heights asked for, no fault left, the
 * wallet drained and the Byzantine kind's own end reached. */
static bool finished(wworld *w)
{
    if (w->cfg->byz == WB_FORK_HALT)
        return w_fork_finished(w); /* heights stop at the halt, by design */
    if (!w_byz_settled(w)) /* first: its bound holds while the heights grow too */
        return false;
    for (int i = 0; i < w->n; i++)
        if (!w->nodes[i].byz &&
            (!w->nodes[i].up || tc_ledger_height(tc_node_parts_ledger(w->nodes[i].node)) < (uint64_t)w->cfg->heights))
            return false;
    return w->faults == 0 && w->now >= w->faults_until && w_wallet_pending(w) == 0;
}

static void run_loop(wworld *w)
{
    uint64_t cap = (uint64_t)w->cfg->heights * 4000 + 60000 + DRAIN_MS;
    sim_event e;
    bool broken_done = false;
    while (!w->failed && sim_evq_pop(&w->q, &e)) {
        if (e.t > cap) {
            uint64_t hi, lo = w_min_height(w, &hi);
            w_violation(w, "liveness: after %" PRIu64 " ms the nodes are at heights %" PRIu64 "..%" PRIu64
                           " of %d, %" PRIu64 " acknowledged transactions uncommitted",
                        cap, lo, hi, w->cfg->heights, w_wallet_pending(w));
            w_event_release(&e);
            break;
        }
        w->now = e.t;
        w->res->events++;
        digest_event(w, &e);
        handle(w, &e);
        w_event_release(&e);
        if (w->cfg->broken >= 0 && !broken_done && w->nodes[w->cfg->broken].up &&
            tc_ledger_height(tc_node_parts_ledger(w->nodes[w->cfg->broken].node)) >= 2) {
            w_check_commits(w, &w->nodes[w->cfg->broken]); /* height 2 as committed first */
            forge_tip(w, &w->nodes[w->cfg->broken]);
            broken_done = true;
        }
        for (int i = 0; i < w->n; i++)
            w_check_commits(w, &w->nodes[i]);
        w_check_liveness(w);
        w_check_syncing(w);
        w_fork_step(w);
        if (finished(w))
            break;
    }
    if (!w->failed && w->cfg->byz != WB_FORK_HALT) /* halted: acknowledged payments wait for the operator */
        w_wallet_check(w);
    for (int i = 0; i < w->n && !w->failed && w->cfg->profile == WP_DISK_FULL; i++)
        if (w->nodes[i].fill_armed)
            w_violation(w, "disk-full: node %d's store never filled (%d bytes to spare)", i, FILL_SPARE);
    w_byz_check_end(w); /* its figures even after a violation */
}

/* The devnet in w->root/net and every node's config; -1 with the reason in res. */
static int setup(wworld *w)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"; /* fsync is free on tmpfs */
    snprintf(w->root, sizeof w->root, "%s/tc-whole.XXXXXX", base);
    if (mkdtemp(w->root) == NULL) {
        snprintf(w->res->violation, sizeof w->res->violation, "%s: cannot create", w->root);
        w->root[0] = 0;
        return -1;
    }
    snprintf(w->net, sizeof w->net, "%s/net", w->root);
    tc_devnet_opts o = {.dir = w->net, .nodes = (size_t)w->n, .base_port = 0, .time_ms = W_GENESIS_MS};
    tc_errmsg e;
    if (tc_devnet_init(&o, NULL, &e) != 0) {
        snprintf(w->res->violation, sizeof w->res->violation, "devnet: %s", e.msg);
        return -1;
    }
    for (int i = 0; i < w->n; i++) {
        w->nodes[i].w = w;
        w->nodes[i].idx = i;
        if (node_config(w, &w->nodes[i]) != 0)
            return -1;
    }
    return w_byz_init(w);
}

static void teardown(wworld *w)
{
    for (int i = 0; i < w->n; i++)
        node_close(w, &w->nodes[i]);
    sim_event e;
    while (sim_evq_pop(&w->q, &e))
        w_event_release(&e);
    sim_evq_release(&w->q);
    w_wallet_free(w);
    w_byz_free(w);
    w_check_release(w);
    if (w->root[0])
        nftw(w->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int whole_run(const whole_config *cfg, whole_result *res)
{
    memset(res, 0, sizeof *res);
    res->ok = true;
    res->bound_ms = LIVENESS_BOUND_MS;
    if (cfg->n < 1 || cfg->n > WHOLE_MAX_NODES || cfg->broken >= cfg->n || (cfg->amnesia && cfg->profile != WP_CRASH) ||
        (cfg->byz != WB_NONE && (cfg->byz_nodes < 1 || cfg->byz_nodes >= cfg->n))) {
        snprintf(res->violation, sizeof res->violation,
                 "--nodes must be 1..%d (and --break below it); --amnesia needs --profile crash-restart; "
                 "--byz-nodes 1..nodes-1",
                 WHOLE_MAX_NODES);
        return -1;
    }
    wworld *w = tc_xcalloc(1, sizeof *w);
    w->cfg = cfg;
    w->res = res;
    w->n = cfg->n;
    sim_rng_seed(&w->rng, cfg->seed);
    sim_rng_seed(&g_random, cfg->seed ^ 0x5eedc0de5eedc0deull);
    sim_evq_init(&w->q);
    tc_hasher_init(&w->digest, TC_H_WAL); /* any domain: the digest is only compared with itself */
    w_check_init(w);
    int rc = setup(w);
    if (rc == 0) {
        plan_faults(w);
        w_byz_plan(w);
        for (int i = 0; i < w->n && !w->failed; i++)
            node_open(w, &w->nodes[i]);
        for (int i = 0; i < w->n && !w->failed; i++)
            for (int j = i + 1; j < w->n; j++)
                if (w->nodes[i].up && w->nodes[j].up)
                    w_link_up(w, i, j);
        if (!w->failed) {
            uint64_t count;
            tc_ledger_utxo_totals(tc_node_parts_ledger(w->nodes[0].node), &count, &w->supply0);
            w->supply0 -= tc_ledger_height(tc_node_parts_ledger(w->nodes[0].node)) * TC_BLOCK_REWARD;
        }
        if (cfg->txs && !w->failed) {
            w_wallet_open(w);
            w_at(w, 500, W_WALLET, -1, 0);
        }
        run_loop(w);
        res->sim_ms = w->now;
        res->min_height = w_min_height(w, NULL);
    }
    tc_hash d;
    tc_hasher_final(&w->digest, &d);
    tc_hex_encode(res->digest, d.b, 8);
    teardown(w);
    free(w);
    return rc;
}
