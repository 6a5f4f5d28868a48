#include "node/nodemetrics.h"

#include <stdio.h>

#include "chain/masternode.h"
#include "store/chainstore.h"
#include "store/ledger.h"
#include "store/store.h"
#include "util/hex.h"
#include "util/mem.h"

/* A committed block as the status page lists it. */
typedef struct {
    uint64_t height, time_ms, interval_ms, latency_ms;
    tc_hash hash;
    size_t txs; /* without the coinbase */
    uint32_t round;
} recent_block;

struct tc_nodemetrics {
    tc_nodemetrics_ctx ctx;
    tc_metrics *reg;
    tc_metrics_server *server;
    tc_metrics_family *height, *cons_height, *cons_round, *cons_step, *round_changes, *signed_msgs, *evidence;
    tc_metrics_family *proposer_gone;
    tc_metrics_family *block_interval, *commit_latency, *rounds_per_height;
    tc_metrics_family *peers, *msgs, *bytes, *rate_limited, *bans, *disconnects, *hs_failures, *votes, *proposals;
    tc_metrics_family *unknown_msgs, *inbound_refused, *accept_pauses, *peers_unsolicited;
    tc_metrics_family *mp_txs, *mp_bytes, *mp_fees, *mp_evicted, *mp_rejected, *mp_expired;
    tc_metrics_family *syncing, *sync_target, *verifies, *cache_hits, *store_bytes, *rss;
    tc_metrics_family *fork_suspected, *fork_queries, *fork_undecided, *fork_rollbacks, *fork_state, *fork_culprits,
        *fork_halted;
    recent_block recent[TC_NODEMETRICS_RECENT]; /* a ring, oldest at next once full */
    size_t n_recent, next;
};

static const char *const directions[] = {"in", "out"};

static double seconds(uint64_t ms)
{
    return (double)ms / 1000.0;
}

static void one(tc_metrics_family *f, double v)
{
    tc_metrics_set(tc_metrics_at(f, NULL), v);
}

/* Established links by direction. */
static void count_peers(tc_p2p *p2p, size_t *in, size_t *out)
{
    tc_peer_info *peers;
    size_t n = tc_p2p_peers(p2p, &peers);
    *in = *out = 0;
    for (size_t i = 0; i < n; i++)
        if (peers[i].established)
            *(peers[i].inbound ? in : out) += 1;
    free(peers);
}

/* Refreshes every sampled value right before a scrape. */
static void collect(void *arg, tc_metrics *reg)
{
    tc_nodemetrics *m = arg;
    const tc_nodemetrics_ctx *c = &m->ctx;
    tc_node_status st;
    c->status(c->node, &st);
    one(m->height, (double)tc_ledger_height(c->L));
    one(m->cons_height, (double)tc_core_height(c->core));
    one(m->cons_round, (double)tc_core_round(c->core));
    one(m->cons_step, (double)tc_core_step(c->core));
    tc_core_stats cs;
    tc_core_get_stats(c->core, &cs);
    one(m->round_changes, (double)cs.round_changes);
    one(m->signed_msgs, (double)cs.signs);
    one(m->evidence, (double)cs.evidence);
    one(m->proposer_gone, (double)st.proposer_gone);

    size_t in, out;
    count_peers(c->p2p, &in, &out);
    tc_metrics_set(tc_metrics_at(m->peers, (const char *const[]){"in"}), (double)in);
    tc_metrics_set(tc_metrics_at(m->peers, (const char *const[]){"out"}), (double)out);
    tc_p2p_stats ps;
    tc_p2p_get_stats(c->p2p, &ps);
    for (uint16_t t = 1; t < TC_MSG_TYPE_END; t++) {
        const uint64_t *mcount[2] = {&ps.msgs_in[t], &ps.msgs_out[t]}, *bcount[2] = {&ps.bytes_in[t], &ps.bytes_out[t]};
        for (int d = 0; d < 2; d++) {
            const char *labels[2] = {tc_msg_type_name(t), directions[d]};
            if (*mcount[d] == 0)
                continue; /* series appear once a type is seen */
            tc_metrics_set(tc_metrics_at(m->msgs, labels), (double)*mcount[d]);
            tc_metrics_set(tc_metrics_at(m->bytes, labels), (double)*bcount[d]);
        }
    }
    for (int k = 0; k < TC_MC_COUNT; k++)
        tc_metrics_set(tc_metrics_at(m->rate_limited, (const char *const[]){tc_msg_class_name((enum tc_msg_class)k)}),
                       (double)ps.dropped[k]);
    for (int k = 0; k < TC_HS_FAIL_COUNT; k++)
        if (ps.handshake_failures[k])
            tc_metrics_set(tc_metrics_at(m->hs_failures, (const char *const[]){tc_p2p_hs_fail_name(k)}),
                           (double)ps.handshake_failures[k]);
    one(m->bans, (double)ps.bans);
    one(m->disconnects, (double)ps.disconnects);
    one(m->unknown_msgs, (double)ps.unknown_msgs);
    one(m->inbound_refused, (double)ps.refused);
    one(m->accept_pauses, (double)ps.accept_pauses);
    one(m->peers_unsolicited, (double)ps.peers_unsolicited);

    tc_mempool_stats ms;
    tc_mempool_get_stats(c->mp, &ms);
    one(m->mp_txs, (double)ms.txs);
    one(m->mp_bytes, (double)ms.bytes);
    one(m->mp_fees, (double)ms.fees);
    one(m->mp_evicted, (double)ms.evicted);
    one(m->mp_rejected, (double)ms.rejected);
    one(m->mp_expired, (double)ms.expired);

    one(m->syncing, st.syncing ? 1 : 0);
    one(m->sync_target, (double)st.sync_target);
    one(m->fork_suspected, (double)st.fork.suspected);
    one(m->fork_queries, (double)st.fork.queries);
    one(m->fork_undecided, (double)st.fork.undecided);
    one(m->fork_rollbacks, (double)st.fork.rollbacks);
    one(m->fork_state, (double)st.fork.state);
    one(m->fork_culprits, (double)st.fork.n_culprits);
    one(m->fork_halted, st.fork.halted ? 1 : 0);
    tc_sigcache_stats ss;
    tc_sigcache_get_stats(c->cache, &ss);
    one(m->verifies, (double)ss.verifies);
    one(m->cache_hits, (double)ss.hits);
    one(m->store_bytes, (double)tc_chainstore_bytes(c->L));
    uint64_t rss;
    if (tc_metrics_rss_bytes(&rss) == 0)
        one(m->rss, (double)rss);
}

static bool health(void *arg, json_t *body, json_t *reasons)
{
    tc_nodemetrics *m = arg;
    tc_node_status st;
    m->ctx.status(m->ctx.node, &st);
    size_t peers = tc_p2p_count(m->ctx.p2p);
    json_object_set_new(body, "height", json_integer((json_int_t)tc_ledger_height(m->ctx.L)));
    json_object_set_new(body, "last_commit_age_ms", json_integer((json_int_t)st.last_commit_age_ms));
    json_object_set_new(body, "peers", json_integer((json_int_t)peers));
    json_object_set_new(body, "syncing", json_boolean(st.syncing));
    json_object_set_new(body, "validator", json_boolean(st.validator));
    char why[128];
    const char *full;
    if (!tc_store_writable(tc_ledger_store(m->ctx.L), &full))
        json_array_append_new(reasons, json_string(full));
    if (peers == 0)
        json_array_append_new(reasons, json_string("no peers"));
    if (st.last_commit_age_ms > st.health_limit_ms) {
        snprintf(why, sizeof why, "no block committed for %llu ms (limit %llu ms)",
                 (unsigned long long)st.last_commit_age_ms, (unsigned long long)st.health_limit_ms);
        json_array_append_new(reasons, json_string(why));
    }
    if (st.syncing) {
        snprintf(why, sizeof why, "syncing to height %llu", (unsigned long long)st.sync_target);
        json_array_append_new(reasons, json_string(why));
    }
    json_object_set_new(body, "fork", json_string(tc_forkq_state_name(st.fork.state)));
    if (st.fork.state == TC_FORKQ_WAITING_OPERATOR) {
        snprintf(why, sizeof why,
                 "critical: our branch lost the fork at height %llu, deeper than fork-max-rollback; the operator must act",
                 (unsigned long long)st.fork.height);
        json_array_append_new(reasons, json_string(why));
        json_object_set_new(body, "critical", json_true());
    }
    if (st.fork.halted) {
        snprintf(why, sizeof why,
                 "critical: two valid certificates for different blocks at height %llu; commits halted (forkchoose)",
                 (unsigned long long)st.fork.height);
        json_array_append_new(reasons, json_string(why));
        json_object_set_new(body, "critical", json_true());
    }
    return json_array_size(reasons) == 0;
}

/* ---- /status.json ------------------------------------------------------------ */

static void put_u64(json_t *o, const char *key, uint64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1];
    return json_string(tc_hex_encode(hex, p, n));
}

typedef struct {
    const tc_nodemetrics *m;
    const tc_valset *vs;
    bool *listed; /* per entry of vs: a masternode record named it */
    json_t *out;
    bool truncated;
} mn_walk;

/* One row of "validators"; tier, jailed and missed come from the
 * masternode record when there is one. */
static json_t *validator_json(const tc_nodemetrics *m, const tc_pubkey *key, uint64_t weight, bool in_set)
{
    uint64_t age = 0;
    bool self = false, heard = m->ctx.heartbeat && m->ctx.heartbeat(m->ctx.node, key, &age, &self);
    json_t *v = json_object();
    json_object_set_new(v, "operator", hex_json(key->b, 32));
    put_u64(v, "weight", weight);
    json_object_set_new(v, "in_set", json_boolean(in_set));
    json_object_set_new(v, "self", json_boolean(self));
    json_object_set_new(v, "heartbeat_age_ms", heard ? json_integer((json_int_t)age) : json_null());
    return v;
}

static int add_mn(void *arg, const tc_mn *mn)
{
    mn_walk *w = arg;
    if (json_array_size(w->out) == TC_NODEMETRICS_MAX_VALIDATORS) {
        w->truncated = true;
        return 1; /* stops the walk */
    }
    long i = tc_valset_find(w->vs, &mn->operator_key);
    if (i >= 0)
        w->listed[i] = true;
    json_t *v = validator_json(w->m, &mn->operator_key, i >= 0 ? w->vs->v[i].weight : 0, i >= 0);
    json_object_set_new(v, "tier", json_string(tc_tier_name(mn->tier)));
    json_object_set_new(v, "jailed", json_boolean(mn->jailed != 0));
    put_u64(v, "missed", mn->missed);
    json_array_append_new(w->out, v);
    return 0;
}

/* Registered masternodes (at most TC_NODEMETRICS_MAX_VALIDATORS, collateral
 * order), then members of the next height's set that no record names (the
 * genesis set), within the same cap. */
static void status_validators(const tc_nodemetrics *m, json_t *body)
{
    tc_valset vs;
    if (tc_ledger_valset(m->ctx.L, tc_ledger_height(m->ctx.L) + 1, &vs) != 0)
        tc_valset_init(&vs); /* listed without weights rather than not at all */
    mn_walk w = {m, &vs, tc_xcalloc(vs.n + 1, sizeof(bool)), json_array(), false};
    int err = tc_ledger_each_mn(m->ctx.L, add_mn, &w);
    for (size_t i = 0; i < vs.n && !w.truncated; i++) {
        if (w.listed[i])
            continue;
        if (json_array_size(w.out) == TC_NODEMETRICS_MAX_VALIDATORS) {
            w.truncated = true;
            break;
        }
        json_t *v = validator_json(m, &vs.v[i].key, vs.v[i].weight, true);
        json_object_set_new(v, "tier", json_null());
        json_object_set_new(v, "jailed", json_false());
        put_u64(v, "missed", 0);
        json_array_append_new(w.out, v);
    }
    json_object_set_new(body, "validators", w.out);
    json_object_set_new(body, "validators_truncated", json_boolean(w.truncated));
    put_u64(body, "validator_set_size", vs.n);
    if (err < 0)
        json_object_set_new(body, "validators_error", json_string(tc_strerror(err)));
    free(w.listed);
    tc_valset_release(&vs);
}

/* The ring, oldest first. */
static void status_blocks(const tc_nodemetrics *m, json_t *body)
{
    json_t *list = json_array();
    size_t first = m->n_recent < TC_NODEMETRICS_RECENT ? 0 : m->next;
    for (size_t k = 0; k < m->n_recent; k++) {
        const recent_block *b = &m->recent[(first + k) % TC_NODEMETRICS_RECENT];
        json_t *o = json_object();
        put_u64(o, "height", b->height);
        json_object_set_new(o, "hash", hex_json(b->hash.b, 32));
        put_u64(o, "time_ms", b->time_ms);
        put_u64(o, "txs", b->txs);
        put_u64(o, "round", b->round);
        put_u64(o, "interval_ms", b->interval_ms);
        put_u64(o, "latency_ms", b->latency_ms);
        json_array_append_new(list, o);
    }
    json_object_set_new(body, "blocks", list);
}

static json_t *pair(const char *k1, json_int_t v1, const char *k2, json_int_t v2)
{
    json_t *o = json_object();
    json_object_set_new(o, k1, json_integer(v1));
    json_object_set_new(o, k2, json_integer(v2));
    return o;
}

/* GET /status.json: what the node holds in memory, the tip's valset and a
 * walk of at most TC_NODEMETRICS_MAX_VALIDATORS masternode records. */
static void status_json(void *arg, json_t *body)
{
    tc_nodemetrics *m = arg;
    const tc_nodemetrics_ctx *c = &m->ctx;
    tc_node_status st;
    c->status(c->node, &st);
    tc_header tip;
    tc_hash tip_hash;
    tc_ledger_tip(c->L, &tip, &tip_hash);
    json_object_set_new(body, "network", json_string(tc_ledger_genesis(c->L)->net->name));
    put_u64(body, "height", tc_ledger_height(c->L));
    json_object_set_new(body, "tip_hash", hex_json(tip_hash.b, 32));
    put_u64(body, "tip_time_ms", tip.time_ms);
    put_u64(body, "last_block_age_ms", st.last_commit_age_ms);
    json_object_set_new(body, "validator", json_boolean(st.validator));

    json_t *cons = json_object();
    tc_pubkey proposer;
    put_u64(cons, "height", tc_core_height(c->core));
    put_u64(cons, "round", tc_core_round(c->core));
    put_u64(cons, "step", (uint64_t)tc_core_step(c->core));
    json_object_set_new(cons, "proposer", tc_core_proposer(c->core, tc_core_round(c->core), &proposer)
                                              ? hex_json(proposer.b, 32)
                                              : json_null());
    json_object_set_new(body, "consensus", cons);

    size_t in, out;
    count_peers(c->p2p, &in, &out);
    json_object_set_new(body, "peers", pair("in", (json_int_t)in, "out", (json_int_t)out));
    tc_mempool_stats ms;
    tc_mempool_get_stats(c->mp, &ms);
    json_object_set_new(body, "mempool", pair("txs", (json_int_t)ms.txs, "bytes", (json_int_t)ms.bytes));
    json_t *sync = json_object();
    json_object_set_new(sync, "syncing", json_boolean(st.syncing));
    put_u64(sync, "target", st.sync_target);
    json_object_set_new(body, "sync", sync);
    status_blocks(m, body);
    status_validators(m, body);
}

#define COUNTER(field, name, help, labels) (m->field = tc_metrics_counter(m->reg, name, help, labels, err))
#define GAUGE(field, name, help, labels) (m->field = tc_metrics_gauge(m->reg, name, help, labels, err))

/* The fork query's families (docs/operations.md "Forks"). */
static bool fork_families(tc_nodemetrics *m, int *err)
{
    return COUNTER(fork_suspected, "fork_suspected_total",
                   "Peers seen holding another certified block at a height we committed (not banned)", NULL) &&
           COUNTER(fork_queries, "fork_queries_total", "Fork queries asked of every peer at a fork height", NULL) &&
           COUNTER(fork_undecided, "fork_undecided_total",
                   "Fork queries where no branch had more than 2/3 of the weight (no action; asked again)", NULL) &&
           COUNTER(fork_rollbacks, "fork_rollbacks_total", "Lost branches rolled back to the fork height's parent",
                   NULL) &&
           GAUGE(fork_state, "fork_state",
                 "Fork query (0 idle, 1 searching, 2 querying, 3 decided, 4 waiting for the operator, 5 halted)",
                 NULL) &&
           GAUGE(fork_culprits, "fork_culprits", "Validators that signed two valid certificates at the last fork height",
                 NULL) &&
           GAUGE(fork_halted, "fork_halted",
                 "1 while two valid certificates at a fork height halt commits (until decided or forkchoose)", NULL);
}

tc_nodemetrics *tc_nodemetrics_new(struct event_base *base, const char *listen, const tc_nodemetrics_ctx *ctx,
                                   int *err)
{
    static const double interval_bounds[] = {0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30};
    static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    static const double round_bounds[] = {1, 2, 3, 4, 6, 8};
    tc_nodemetrics *m = tc_xcalloc(1, sizeof *m);
    m->ctx = *ctx;
    m->reg = tc_metrics_new();
    bool ok = GAUGE(height, "height", "Height of the last committed block", NULL) &&
              GAUGE(cons_height, "consensus_height", "Height consensus works on", NULL) &&
              GAUGE(cons_round, "consensus_round", "Round of the current height", NULL) &&
              GAUGE(cons_step, "consensus_step",
                    "Step of the current round (0 new, 1 propose, 2 prevote, 3 precommit, 4 commit, 5 done)", NULL) &&
              COUNTER(round_changes, "round_changes_total",
                      "Rounds above 0 started since start (round 0 of a height is not a change)", NULL) &&
              COUNTER(signed_msgs, "consensus_signed_total", "Proposals and votes this node signed", NULL) &&
              COUNTER(evidence, "evidence_total", "Double signs detected", NULL) &&
              COUNTER(proposer_gone, "proposer_gone_total",
                      "Propose timeouts not waited for: every link of the round's proposer had closed", NULL) &&
              (m->block_interval = tc_metrics_histogram(m->reg, "block_interval_seconds",
                                                        "Time between consecutive commits", NULL, interval_bounds,
                                                        sizeof interval_bounds / sizeof *interval_bounds, err)) &&
              (m->commit_latency = tc_metrics_histogram(m->reg, "commit_latency_seconds",
                                                        "Time from the start of a height to its commit", NULL,
                                                        latency_bounds, sizeof latency_bounds / sizeof *latency_bounds,
                                                        err)) &&
              (m->rounds_per_height = tc_metrics_histogram(m->reg, "rounds_per_height", "Rounds a height needed", NULL,
                                                           round_bounds, sizeof round_bounds / sizeof *round_bounds,
                                                           err)) &&
              GAUGE(peers, "peers", "Established peer links", "direction") &&
              COUNTER(msgs, "p2p_messages_total", "P2P messages by type and direction", "type,direction") &&
              COUNTER(bytes, "p2p_bytes_total", "P2P bytes by type and direction", "type,direction") &&
              COUNTER(rate_limited, "p2p_rate_limited_total", "Messages dropped by rate limits, by class", "class") &&
              COUNTER(bans, "p2p_bans_total", "Peers banned", NULL) &&
              COUNTER(hs_failures, "p2p_handshake_failures_total", "Links that failed before the handshake completed, by reason",
                      "reason") &&
              COUNTER(votes, "votes_received_total", "Votes received from peers by type and outcome", "type,outcome") &&
              COUNTER(proposals, "proposals_received_total", "Proposals received from peers by outcome", "outcome") &&
              COUNTER(disconnects, "p2p_disconnects_total", "Peer links closed", NULL) &&
              COUNTER(unknown_msgs, "p2p_unknown_messages_total",
                      "Messages of a type this node does not know, from peers of a newer protocol (skipped)", NULL) &&
              COUNTER(inbound_refused, "p2p_inbound_refused_total",
                      "Inbound connections refused at accept (bans, limits, rates, descriptors)", NULL) &&
              COUNTER(accept_pauses, "p2p_accept_pauses_total",
                      "Times the P2P listener paused because descriptors ran out or low", NULL) &&
              COUNTER(peers_unsolicited, "p2p_unsolicited_peers_total",
                      "peers messages dropped because no getpeers of ours was outstanding", NULL) &&
              GAUGE(mp_txs, "mempool_transactions", "Pending transactions", NULL) &&
              GAUGE(mp_bytes, "mempool_bytes", "Bytes of pending transactions", NULL) &&
              GAUGE(mp_fees, "mempool_fees_sat", "Fees of pending transactions (sat)", NULL) &&
              COUNTER(mp_evicted, "mempool_evictions_total", "Transactions evicted for a higher fee rate", NULL) &&
              COUNTER(mp_rejected, "mempool_rejected_total", "Transactions refused", NULL) &&
              COUNTER(mp_expired, "mempool_expired_total", "Transactions expired", NULL) &&
              GAUGE(syncing, "syncing", "1 while catching up with peers", NULL) &&
              GAUGE(sync_target, "sync_target_height", "Height peers are known to have certified", NULL) &&
              fork_families(m, err) &&
              COUNTER(verifies, "signature_verifications_total", "Ed25519 verifications performed", NULL) &&
              COUNTER(cache_hits, "signature_cache_hits_total", "Verifications answered by the cache", NULL) &&
              GAUGE(store_bytes, "store_bytes", "Disk used by the store", NULL) &&
              GAUGE(rss, "process_resident_memory_bytes", "Resident memory of timed", NULL);
    if (!ok || tc_metrics_on_collect(m->reg, collect, m) != 0) {
        tc_nodemetrics_free(m);
        return NULL;
    }
    m->server = tc_metrics_server_new(base, listen, ctx->max_connections, m->reg, health, m, err);
    if (m->server == NULL) {
        tc_nodemetrics_free(m);
        return NULL;
    }
    tc_metrics_server_set_status(m->server, status_json, m);
    return m;
}

void tc_nodemetrics_free(tc_nodemetrics *m)
{
    if (m == NULL)
        return;
    tc_metrics_server_free(m->server);
    tc_metrics_free(m->reg);
    free(m);
}

void tc_nodemetrics_on_vote(tc_nodemetrics *m, uint8_t type, int rc)
{
    if (m == NULL)
        return;
    const char *outcome = rc == 0 ? "accepted"
                          : rc == TC_ECONS_DUP ? "duplicate"
                          : rc == TC_ECONS_OLD || rc == TC_ECONS_FUTURE ? "other_height"
                          : rc == TC_ECONS_CONFLICT ? "conflicting"
                                                    : "invalid";
    const char *labels[2] = {type == TC_VOTE_PREVOTE ? "prevote" : "precommit", outcome};
    tc_metrics_inc(tc_metrics_at(m->votes, labels));
}

void tc_nodemetrics_on_proposal(tc_nodemetrics *m, int rc)
{
    if (m == NULL)
        return;
    const char *outcome = rc == 0 ? "accepted"
                          : rc == TC_ECONS_DUP ? "duplicate"
                          : rc == TC_ECONS_FUTURE ? "next_height"
                          : rc == TC_ECONS_OLD ? "other_height"
                          : rc == TC_ECONS_EQUIVOCATION ? "equivocation"
                          : rc == TC_ECONS_PROPOSER || rc == TC_ECONS_NOT_VALIDATOR ? "wrong_proposer"
                                                                                    : "invalid";
    tc_metrics_inc(tc_metrics_at(m->proposals, (const char *const[]){outcome}));
}

void tc_nodemetrics_on_commit(tc_nodemetrics *m, const tc_block *blk, uint64_t interval_ms, uint64_t latency_ms,
                              uint32_t round)
{
    if (m == NULL)
        return;
    recent_block *b = &m->recent[m->next];
    *b = (recent_block){.height = blk->hdr.height, .time_ms = blk->hdr.time_ms, .interval_ms = interval_ms,
                        .latency_ms = latency_ms, .txs = blk->n_tx ? blk->n_tx - 1 : 0, .round = round};
    tc_header_hash(&blk->hdr, &b->hash);
    m->next = (m->next + 1) % TC_NODEMETRICS_RECENT;
    if (m->n_recent < TC_NODEMETRICS_RECENT)
        m->n_recent++;
    if (interval_ms > 0)
        tc_metrics_observe(tc_metrics_at(m->block_interval, NULL), seconds(interval_ms));
    tc_metrics_observe(tc_metrics_at(m->commit_latency, NULL), seconds(latency_ms));
    tc_metrics_observe(tc_metrics_at(m->rounds_per_height, NULL), (double)round + 1);
}
