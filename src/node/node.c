#include "node/node.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/route.h"
#include "node/node_impl.h"
#include "node/peerstore.h"
#include "node/reload.h"
#include "store/chainstore.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    tc_node *n = arg;
    tc_log_info("node", "shutting down", "signal=%d", (int)sig);
    tc_txdurable_drain(n->txd); /* what we admitted reaches the peers first */
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    tc_node *n = arg;
    (void)tc_reload_run(&n->cfg); /* logs what it did or why not */
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    tc_node_tick(arg);
}

static void on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
    tc_node_heartbeat(arg);
}

static int open_p2p(tc_node *n, tc_errmsg *e)
{
    tc_p2p_config pc;
    tc_p2p_config_default(&pc);
    pc.node_key = &n->node_key;
    memcpy(pc.magic, n->g.net->magic, 4);
    pc.chain_id = n->g.chain_id;
    pc.genesis = *tc_ledger_genesis_hash(n->L);
    pc.datadir = n->cfg.datadir;
    pc.listen = n->cfg.listen;
    pc.advertise = tc_config_advertise(&n->cfg);
    _Static_assert(TC_CONFIG_MAX_PEERS <= TC_ROUTE_MAX, "every peer-address entry fits the route table");
    const char *routes[TC_CONFIG_MAX_PEERS];
    for (size_t i = 0; i < n->cfg.n_peer_address; i++)
        routes[i] = n->cfg.peer_address[i];
    pc.routes = routes;
    pc.n_routes = n->cfg.n_peer_address;
    pc.max_inbound = (uint32_t)n->cfg.max_inbound;
    pc.outbound_target = (uint32_t)n->cfg.max_outbound;
    pc.inbound_per_minute = (uint32_t)n->cfg.inbound_per_minute;
    pc.inbound_per_group = (uint32_t)n->cfg.inbound_per_minute_per_group;
    pc.idle_timeout_ms = (uint32_t)(n->cfg.peer_timeout_s * 1000);
    pc.ban_ms = n->cfg.ban_time_s * 1000;
    pc.rates[TC_MC_REQUEST].rate = (uint32_t)n->cfg.request_rate;
    pc.rates[TC_MC_REQUEST].burst = (uint32_t)n->cfg.request_burst;
    tc_legacy_bans legacy = tc_chainstore_legacy_bans(n->L); /* bans older versions kept in the chain store */
    int perr = tc_peerstore_open(&n->netstore, n->cfg.datadir, &legacy, e); /* <datadir>/peers */
    if (perr)
        return perr;
    pc.store = &n->netstore;
    pc.ctx = n;
    pc.best_height = tc_node_best_height;
    pc.on_message = tc_node_on_message;
    pc.on_peer = tc_node_on_peer;
    int err = 0;
    n->p2p = tc_p2p_new(n->base, &pc, &err);
    if (n->p2p == NULL)
        return tc_fail(e, err, "P2P on %s: %s", n->cfg.listen, tc_strerror(err));
    tc_nodeio_set_p2p(&n->io, n->p2p);
    for (size_t i = 0; i < n->cfg.n_connect; i++)
        if ((err = tc_p2p_add_address(n->p2p, n->cfg.connect[i], TC_ADDR_CONNECT)) != 0 ||
            (err = tc_p2p_connect(n->p2p, n->cfg.connect[i])) != 0)
            tc_log_warn("p2p", "cannot connect yet; will retry", "addr=%s err=%s hint=%s", n->cfg.connect[i],
                        tc_strerror(err),
                        err == TC_ELIMIT ? "no descriptor or link slot left for it: raise ulimit -n "
                                           "(LimitNOFILE=) if the descriptor limit is low"
                                         : "the next try is automatic; check the address is right");
    for (size_t i = 0; i < n->cfg.n_addnode; i++)
        if (tc_p2p_add_address(n->p2p, n->cfg.addnode[i], TC_ADDR_CONNECT) != 0)
            tc_log_warn("p2p", "address not added", "addr=%s", n->cfg.addnode[i]);
    for (size_t i = 0; i < n->cfg.n_seednode; i++)
        if (tc_p2p_add_address(n->p2p, n->cfg.seednode[i], TC_ADDR_SEED) != 0)
            tc_log_warn("p2p", "address not added", "addr=%s", n->cfg.seednode[i]);
    return 0;
}

static int open_rpc(tc_node *n, tc_errmsg *e)
{
    tc_rpc_opts ro = {.cookie_dir = n->cfg.datadir,
                      .max_connections = (unsigned)n->cfg.rpc_max_connections};
    if (n->cfg.rpcuser[0]) {
        ro.user = n->cfg.rpcuser;
        ro.password = n->cfg.rpcpassword;
    }
    int err = 0;
    n->rpc = tc_rpc_new(n->base, n->cfg.rpc_listen, &ro, &err);
    if (n->rpc == NULL)
        return tc_fail(e, err, "RPC on %s: %s", n->cfg.rpc_listen, tc_strerror(err));
    n->rpc_ctx = (tc_noderpc){n->L, n->mp, n->p2p, n->core, &n->g, n->base, tc_clock_wall_ms(),
                              n->has_op_key ? &n->op_key.pk : NULL, &n->hold, n->txd, n->oplinks, &n->forkq, n,
                              tc_node_fork_operator_rollback, tc_node_fork_choose};
    if ((err = tc_noderpc_register(n->rpc, &n->rpc_ctx)))
        return tc_fail(e, err, "RPC methods: %s", tc_strerror(err));
    return 0;
}

static void node_status(void *arg, tc_node_status *out)
{
    tc_node *n = arg;
    tc_consensus_params cp = tc_node_timing(n);
    uint64_t wait = cp.block_interval_ms ? cp.block_interval_ms : n->cfg.empty_block_interval_ms;
    out->last_commit_age_ms = tc_clock_mono_ms() - n->committed_ms;
    out->health_limit_ms = 3 * wait + cp.propose_timeout_ms + cp.prevote_timeout_ms + cp.precommit_timeout_ms;
    out->sync_target = tc_sync_target(n->sync);
    out->syncing = out->sync_target > tc_ledger_height(n->L);
    out->validator = n->has_op_key && tc_valset_find(&n->vs, &n->op_key.pk) >= 0;
    out->proposer_gone = n->proposer_gone_skips;
    if (n->forkq)
        tc_forkq_status_get(n->forkq, &out->fork);
    else
        memset(&out->fork, 0, sizeof out->fork);
}

/* For the status page: when the operator key was last heard from. */
static bool node_heartbeat(void *arg, const tc_pubkey *key, uint64_t *age_ms, bool *self)
{
    tc_node *n = arg;
    const liveness *l = tc_hmap_get(n->seen, key->b);
    uint64_t now = tc_clock_wall_ms();
    *self = n->has_op_key && memcmp(key->b, n->op_key.pk.b, 32) == 0;
    *age_ms = l && now > l->seen_ms ? now - l->seen_ms : 0;
    return l != NULL;
}

static int open_metrics(tc_node *n, tc_errmsg *e)
{
    tc_nodemetrics_ctx mc = {n->L, n->mp, n->p2p, n->core, n->cache, n, node_status, node_heartbeat,
                             (unsigned)n->cfg.metrics_max_connections};
    int err = 0;
    n->metrics = tc_nodemetrics_new(n->base, n->cfg.metrics_listen, &mc, &err);
    if (n->metrics == NULL)
        return tc_fail(e, err, "metrics on %s: %s", n->cfg.metrics_listen, tc_strerror(err));
    return 0;
}

/* Signals, the one-second tick and the heartbeat timer. */
static void add_loop_events(tc_node *n)
{
    n->sigint = evsignal_new(n->base, SIGINT, on_signal, n);
    n->sigterm = evsignal_new(n->base, SIGTERM, on_signal, n);
    n->sighup = evsignal_new(n->base, SIGHUP, on_sighup, n);
    n->tick = event_new(n->base, -1, EV_PERSIST, on_tick, n);
    n->heartbeat_ev = event_new(n->base, -1, EV_PERSIST, on_heartbeat_timer, n);
    struct timeval hb_every = {(time_t)n->cfg.heartbeat_interval_s, 0};
    event_add(n->heartbeat_ev, &hb_every);
    struct timeval second = {1, 0};
    evsignal_add(n->sigint, NULL);
    evsignal_add(n->sigterm, NULL);
    evsignal_add(n->sighup, NULL);
    event_add(n->tick, &second);
}

int tc_node_new(tc_node **out, const tc_config *cfg, tc_errmsg *e)
{
    *out = NULL;
    tc_node *n = tc_node_alloc(cfg);
    int err;
    n->base = event_base_new();
    if (n->base == NULL) {
        err = tc_fail(e, TC_EIO, "cannot create the event loop");
        goto fail;
    }
    tc_nodeio_init(&n->io, n->base); /* peers once open_p2p has them */
    if ((err = tc_node_parts_open(n, e)) || (err = open_p2p(n, e)) || (err = open_rpc(n, e)) ||
        (err = open_metrics(n, e)))
        goto fail;
    add_loop_events(n);
    char hex[65];
    tc_log_info("node", "started", "network=%s datadir=%s height=%llu validator_key=%s p2p=%s",
                n->g.net->name, cfg->datadir, (unsigned long long)tc_ledger_height(n->L),
                n->has_op_key ? tc_hex_encode(hex, n->op_key.pk.b, 32) : "none", cfg->listen);
    *out = n;
    return 0;
fail:
    tc_node_free(n);
    return err;
}

int tc_node_run(tc_node *n)
{
    tc_node_start_height(n);
    event_base_dispatch(n->base);
    tc_log_info("node", "stopped", "height=%llu", (unsigned long long)tc_ledger_height(n->L));
    return n->exit_code;
}

void tc_node_free(tc_node *n)
{
    if (n == NULL)
        return;
    if (n->sigint)
        event_free(n->sigint);
    if (n->sigterm)
        event_free(n->sigterm);
    if (n->sighup)
        event_free(n->sighup);
    if (n->tick)
        event_free(n->tick);
    if (n->heartbeat_ev)
        event_free(n->heartbeat_ev);
    tc_nodemetrics_free(n->metrics);
    tc_rpc_free(n->rpc); /* removes the cookie */
    if (n->io.ctx)
        tc_nodeio_set_p2p(&n->io, NULL); /* nothing reaches a freed endpoint */
    tc_p2p_free(n->p2p);
    tc_peerstore_close(&n->netstore); /* after the P2P endpoint's last flush */
    tc_node_parts_close(n);
    tc_nodeio_release(&n->io); /* after every timer's owner has freed it */
    if (n->base)
        event_base_free(n->base);
    free(n);
}

