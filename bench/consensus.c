/* Consensus benchmark: N validators (N = 4, 16, 64, 100, equal weight) run
 * the real core in one process over zero-delay links, with real Ed25519
 * signing and verification (each node verifies every message it receives
 * through its own signature cache, as a node would). Prints heights per
 * second and CPU time per height for the whole simulated network and per
 * node, beside the signature operations per height and this machine's
 * Ed25519 verify rate measured in the same run. Not a timed test. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/core.h"
#include "util/buf.h"
#include "util/mem.h"

#define CHAIN 3

typedef struct {
    int from;
    bool is_vote;
    tc_proposal p;
    tc_vote v;
} bmsg;

typedef struct net net;

typedef struct {
    net *nt;
    int idx;
    tc_keypair kp;
    tc_core *core;
    tc_sigcache *cache;
    uint64_t committed;
} bnode;

struct net {
    int n;
    bnode *nodes;
    tc_valset vs;
    bmsg *q;
    size_t qhead, qlen, qcap;
    uint64_t signs;
};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sign_cb(void *ctx, const tc_hash *msg, tc_sig *sig)
{
    bnode *b = ctx;
    tc_sign(&b->kp, msg->b, sizeof msg->b, sig);
    b->nt->signs++;
    return 0;
}

static int value_cb(void *ctx, uint64_t h, uint32_t r, tc_hash *out)
{
    bnode *b = ctx;
    memset(out->b, 0, sizeof out->b);
    tc_le64(out->b, h);
    out->b[8] = (uint8_t)b->idx;
    out->b[9] = 1;
    return 0;
}

static void enqueue(net *nt, const bmsg *m)
{
    if (nt->qhead == nt->qlen)
        nt->qhead = nt->qlen = 0;
    if (nt->qlen == nt->qcap) {
        nt->qcap = nt->qcap ? 2 * nt->qcap : 1024;
        nt->q = tc_xrealloc(nt->q, nt->qcap * sizeof *nt->q);
    }
    nt->q[nt->qlen++] = *m;
}

static void run_actions(bnode *b)
{
    tc_core_action a;
    while (tc_core_next_action(b->core, &a)) {
        bmsg m;
        memset(&m, 0, sizeof m);
        m.from = b->idx;
        switch (a.kind) {
        case TC_ACT_PROPOSAL:
            m.p = a.u.proposal;
            enqueue(b->nt, &m);
            break;
        case TC_ACT_VOTE:
            m.is_vote = true;
            m.v = a.u.vote;
            enqueue(b->nt, &m);
            break;
        case TC_ACT_CHECK:
            tc_core_on_validity(b->core, a.u.check.height, &a.u.check.value, true);
            break;
        case TC_ACT_COMMIT:
            /* a node checks the certificate it stores (signatures: cache hits) */
            if (tc_cert_verify(a.u.commit.cert, &b->nt->vs, CHAIN, a.u.commit.height,
                               &a.u.commit.value, b->cache, NULL) != 0)
                abort();
            b->committed = a.u.commit.height;
            break;
        case TC_ACT_NEXT_HEIGHT:
            tc_core_start_height(b->core, a.u.commit.height + 1, &b->nt->vs, a.u.commit.cert);
            break;
        default: /* persist: the bench measures consensus CPU, not fsync */
            break;
        }
    }
}

static uint64_t min_committed(const net *nt)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < nt->n; i++)
        if (nt->nodes[i].committed < m)
            m = nt->nodes[i].committed;
    return m;
}

/* Delivers messages until every node has committed `target`. With zero
 * delay and no faults no timeout is ever needed. */
static void pump(net *nt, uint64_t target)
{
    while (nt->qhead < nt->qlen && min_committed(nt) < target) {
        bmsg m = nt->q[nt->qhead++];
        for (int i = 0; i < nt->n; i++) {
            if (i == m.from)
                continue;
            bnode *b = &nt->nodes[i];
            if (m.is_vote)
                (void)tc_core_on_vote(b->core, &m.v);
            else
                (void)tc_core_on_proposal(b->core, &m.p);
            run_actions(b);
        }
    }
    if (min_committed(nt) < target) {
        fprintf(stderr, "bench: stalled before height %" PRIu64 "\n", target);
        exit(1);
    }
}

static void bench_n(int n, double budget_s, double verify_rate)
{
    net nt;
    memset(&nt, 0, sizeof nt);
    nt.n = n;
    nt.nodes = tc_xcalloc((size_t)n, sizeof *nt.nodes);
    tc_valset_init(&nt.vs);
    for (int i = 0; i < n; i++) {
        uint8_t seed[32] = {0};
        tc_le32(seed, (uint32_t)i + 1);
        tc_keypair_from_seed(&nt.nodes[i].kp, seed);
        if (tc_valset_add(&nt.vs, &nt.nodes[i].kp.pk, 1, NULL) != 0)
            abort();
    }
    tc_consensus_params timing = {1000, 500, 1000, 500, 1000, 500, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        bnode *b = &nt.nodes[i];
        b->nt = &nt;
        b->idx = i;
        b->cache = tc_sigcache_new(8 * (size_t)n + 64);
        tc_core_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.chain_id = CHAIN;
        cfg.timing = timing;
        cfg.self = b->kp.pk;
        cfg.iface.ctx = b;
        cfg.iface.sign = sign_cb;
        cfg.iface.get_value = value_cb;
        cfg.cache = b->cache;
        tc_signstate_init(&cfg.last_signed);
        b->core = tc_core_new(&cfg);
    }
    double c0 = cpu_now(), w0 = wall_now();
    for (int i = 0; i < n; i++) {
        tc_core_start_height(nt.nodes[i].core, 1, &nt.vs, NULL);
        run_actions(&nt.nodes[i]);
    }
    pump(&nt, 1); /* the first height sizes the run to the time budget */
    double first = wall_now() - w0;
    uint64_t heights = (uint64_t)(budget_s / (first > 1e-6 ? first : 1e-6));
    heights = heights < 2 ? 2 : heights > 2000 ? 2000 : heights;
    pump(&nt, heights);
    double cpu = cpu_now() - c0, wall = wall_now() - w0;
    uint64_t verifies = 0;
    for (int i = 0; i < n; i++) {
        tc_sigcache_stats st;
        tc_sigcache_get_stats(nt.nodes[i].cache, &st);
        verifies += st.verifies;
    }
    double per_h = cpu / (double)heights;
    double v_per_h = (double)verifies / (double)heights;
    printf("N=%-3d heights=%-5" PRIu64 " heights/s=%8.2f cpu/height=%9.3f ms (per node %7.3f ms)"
           "  signs/height=%6.1f verifies/height=%8.1f (per node %5.1f)"
           "  verify-bound=%5.1f%%\n",
           n, heights, (double)heights / wall, per_h * 1e3, per_h * 1e3 / n,
           (double)nt.signs / (double)heights, v_per_h, v_per_h / n,
           100.0 * (v_per_h / verify_rate) / per_h);
    for (int i = 0; i < n; i++) {
        tc_core_free(nt.nodes[i].core);
        tc_sigcache_free(nt.nodes[i].cache);
        tc_keypair_wipe(&nt.nodes[i].kp);
    }
    free(nt.nodes);
    free(nt.q);
    tc_valset_release(&nt.vs);
}

static double measure_verify_rate(void)
{
    tc_keypair kp;
    uint8_t seed[32] = {7};
    tc_keypair_from_seed(&kp, seed);
    uint8_t msg[32] = {1};
    tc_sig sig;
    tc_sign(&kp, msg, sizeof msg, &sig);
    uint64_t count = 0;
    double c0 = cpu_now();
    while (cpu_now() - c0 < 1.0) {
        for (int i = 0; i < 100; i++)
            if (tc_verify(&kp.pk, msg, sizeof msg, &sig) != 0)
                abort();
        count += 100;
    }
    return (double)count / (cpu_now() - c0);
}

int main(void)
{
    if (tc_crypto_init() != 0)
        return 1;
    double rate = measure_verify_rate();
    printf("consensus bench: zero-delay links, equal weights, real Ed25519; one process runs all N nodes\n");
    printf("ed25519 verify rate on this machine: %.0f verifies/s per core (tc_verify, 1 s)\n", rate);
    static const int sizes[] = {4, 16, 64, 100};
    static const double budget[] = {3.0, 4.0, 8.0, 12.0};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        bench_n(sizes[i], budget[i], rate);
    printf("per node = network CPU / N: what one validator spends per height.\n"
           "verify-bound = share of that CPU the signature verifies alone would take at the measured rate.\n");
    return 0;
}
