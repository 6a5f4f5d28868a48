/* The whole-node mode's Byzantine nodes (whole.h, --byz KIND --byz-nodes K):
 * K of the N nodes run the real node code, but what they put on the wire
 * passes through a mutator here first (simio.c's transmit point), which
 * re-signs what it changes with the node's own operator key, so every attack
 * travels through the real encoders and carries real signatures. A junk
 * flood signs with fresh keys (a non-validator's), lying heights change what
 * the node's pings claim. The checker (wcheck.c) then judges the honest
 * nodes only, and this file adds what each kind must lead to: the bans a
 * provably invalid message earns, and the evidence that jails a double
 * voter. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/params.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/mem.h"
#include "wallet/keyfile.h"
#include "whole_impl.h"

#define JUNK_PER_BURST 16         /* junk proposals per honest peer per burst ... */
#define JUNK_GAP_MS 10, 30        /* ... a burst every 10-30 ms: ~800 a second, more than a cache of 16 outlives */
#define EVIDENCE_BOUND_MS 30000   /* a double vote seen -> its signer jailed on every honest node within this */
#define LIE_HEIGHT_STEP 1000000   /* lying-heights: the height claimed above the real tip */
#define FAR_FUTURE_MS (86400000ull * 365) /* bad-time: a year ahead (the other half of the heights: UINT64_MAX) */

static const char *const kind_names[WB_COUNT] = {"none",    "equivocate",    "double-vote", "invalid-block",
                                                 "bad-time", "withhold",     "junk-proposals",
                                                 "lying-heights", "bad-sync", "fork", "fork-halt"};

struct wbyz {
    tc_keypair kp[WHOLE_MAX_NODES]; /* operator keys of the Byzantine nodes */
    uint32_t chain_id;
    uint64_t salt;                  /* from the seed: which targets get which version */
    tc_hmap *alt;                   /* fork: original block hash -> the other branch's block hash */
    tc_hmap *others;                /* fork: the other branch's block hashes (-> the same copy as in alt) */
    uint64_t bad[WHOLE_MAX_NODES][WHOLE_MAX_NODES];      /* [to][from]: provably invalid messages delivered */
    uint64_t conflicts[WHOLE_MAX_NODES];                /* [from]: conflicting votes sent */
    uint64_t first_conflict_ms;                         /* 0: none yet */
    uint64_t attacks;                                   /* messages the mutator changed or made */
};

const char *whole_byz_name(enum whole_byz k)
{
    return k < WB_COUNT ? kind_names[k] : "?";
}

int whole_byz_parse(const char *s)
{
    for (int i = 0; i < WB_COUNT; i++)
        if (strcmp(s, kind_names[i]) == 0)
            return i;
    return -1;
}

int whole_byz_default_nodes(enum whole_byz k, int n)
{
    if (k != WB_FORK && k != WB_FORK_HALT)
        return (n - 1) / 3; /* under 1/3 of the weight */
    /* over 1/3, and enough that each half of the honest nodes makes a quorum with them */
    int q = 2 * n / 3 + 1;
    for (int f = n / 3 + 1; f <= n - 2; f++)
        if (f + (n - f) / 2 >= q)
            return f;
    return n / 2;
}

static uint64_t mix(uint64_t x)
{
    return sim_splitmix64(&x);
}

/* Which of two versions target `to` gets for (height, round): from the seed. */
static int side_of(const wworld *w, int to, uint64_t height, uint32_t round)
{
    return (int)(mix(w->byz->salt ^ (height << 24) ^ ((uint64_t)round << 8) ^ (uint64_t)to) & 1);
}

/* fork: the honest nodes in two fixed halves; Byzantine nodes hear side 0. */
static int fork_side(const wworld *w, int idx)
{
    if (w->nodes[idx].byz)
        return 0;
    int rank = 0, honest = 0;
    for (int i = 0; i < w->n; i++)
        if (!w->nodes[i].byz) {
            rank += i < idx;
            honest++;
        }
    return rank >= honest / 2;
}

bool w_byz_partitioned(const wworld *w, int a, int b)
{
    return (w->cfg->byz == WB_FORK || (w->cfg->byz == WB_FORK_HALT && !w->fork_healed)) && !w->nodes[a].byz &&
           !w->nodes[b].byz && fork_side(w, a) != fork_side(w, b);
}

/* ---- setup ------------------------------------------------------------------------ */

int w_byz_init(wworld *w)
{
    const whole_config *c = w->cfg;
    if (c->byz == WB_NONE)
        return 0;
    w->byz = tc_xcalloc(1, sizeof *w->byz);
    w->byz->salt = mix(c->seed ^ 0xb12a7711e5ull);
    w->byz->alt = tc_hmap_new(32);
    w->byz->others = tc_hmap_new(32);
    /* which nodes: K of N picked by the seed */
    sim_rng r;
    sim_rng_seed(&r, w->byz->salt);
    for (int k = 0; k < c->byz_nodes;) {
        int i = (int)sim_range(&r, 0, (uint64_t)w->n - 1);
        if (!w->nodes[i].byz) {
            w->nodes[i].byz = true;
            k++;
        }
    }
    for (int i = 0; i < w->n; i++) {
        if (!w->nodes[i].byz)
            continue;
        char path[400];
        tc_errmsg e;
        snprintf(path, sizeof path, "%s/node%d/operator.key", w->net, i);
        if (tc_keyfile_load(path, false, &w->byz->kp[i], &e) != 0) {
            snprintf(w->res->violation, sizeof w->res->violation, "byzantine node %d: %s", i, e.msg);
            return -1;
        }
    }
    return 0;
}

static void free_alt(void *ctx, const void *key, void *value)
{
    free(value);
}

void w_byz_free(wworld *w)
{
    if (w->byz == NULL)
        return;
    for (int i = 0; i < WHOLE_MAX_NODES; i++)
        tc_keypair_wipe(&w->byz->kp[i]);
    tc_hmap_each(w->byz->alt, free_alt, NULL);
    tc_hmap_free(w->byz->alt);
    tc_hmap_free(w->byz->others); /* its values are alt's */
    free(w->byz);
    w->byz = NULL;
}

/* bad-sync needs a node that syncs: two honest nodes are down for a while;
 * junk-proposals starts its flood. */
void w_byz_plan(wworld *w)
{
    if (w->cfg->byz == WB_JUNK)
        for (int i = 0; i < w->n; i++)
            if (w->nodes[i].byz)
                w_at(w, sim_range(&w->rng, 200, 1000), W_BYZ, i, 0);
    if (w->cfg->byz != WB_BAD_SYNC)
        return;
    int honest[WHOLE_MAX_NODES], k = 0;
    for (int i = 0; i < w->n; i++)
        if (!w->nodes[i].byz)
            honest[k++] = i;
    uint64_t t = sim_range(&w->rng, 1500, 3000);
    for (int ep = 0; ep < 2; ep++) {
        int i = honest[sim_range(&w->rng, 0, (uint64_t)k - 1)];
        uint64_t len = sim_range(&w->rng, 4000, 8000);
        w_at(w, t, W_CRASH, i, 0);
        w_at(w, t + len, W_RESTART, -1, (uint64_t)i);
        t += len + sim_range(&w->rng, 1000, 2000);
    }
    if (w->faults_until < t)
        w->faults_until = t;
}

/* ---- re-signed proposals and votes ---------------------------------------------------------- */

typedef void (*header_edit)(wworld *w, tc_header *h, void *arg);

/* Puts the signed proposal p, with blk when with_block, on the wire from -> to. */
static void wire_proposal(wnode *from, wnode *to, const tc_proposal *p, const tc_block *blk, bool with_block, bool bad)
{
    tc_buf pb, bb;
    tc_buf_init(&pb);
    tc_buf_init(&bb);
    tc_proposal_encode(p, &pb);
    if (with_block)
        tc_block_encode(blk, &bb);
    tc_msg out;
    tc_msg_init(&out, TC_MSG_PROPOSAL);
    out.u.proposal.proposal = (tc_bytes){pb.p, pb.len};
    out.u.proposal.block = (tc_bytes){bb.p, bb.len};
    w_wire(from, to, &out, bad);
    from->w->byz->attacks++;
    tc_buf_release(&pb);
    tc_buf_release(&bb);
}

/* Sends from -> to the proposal m with its block's header changed by edit
 * and the proposal re-signed for the new hash; with_block false leaves the
 * block out. *out_hash: the new block id. false if m is not from's own
 * proposal with a block (nothing sent then). */
static bool send_edited_proposal(wnode *from, wnode *to, const tc_msg *m, header_edit edit, void *arg, bool with_block,
                                 bool bad, tc_hash *out_hash)
{
    wworld *w = from->w;
    tc_proposal p;
    tc_block blk;
    if (m->u.proposal.block.len == 0 || tc_proposal_decode(&p, m->u.proposal.proposal.p, m->u.proposal.proposal.len) != 0 ||
        !tc_pubkey_eq(&p.proposer, &w->byz->kp[from->idx].pk))
        return false;
    if (tc_block_decode(&blk, m->u.proposal.block.p, m->u.proposal.block.len) != 0)
        return false;
    edit(w, &blk.hdr, arg);
    tc_header_hash(&blk.hdr, &p.block);
    tc_proposal_sign(&p, tc_ledger_genesis(tc_node_parts_ledger(from->node))->chain_id, &w->byz->kp[from->idx]);
    wire_proposal(from, to, &p, &blk, with_block, bad);
    if (out_hash)
        *out_hash = p.block;
    tc_block_release(&blk);
    return true;
}

/* Sends from -> to the vote v for value instead, re-signed. */
static void send_vote_for(wnode *from, wnode *to, tc_vote v, const tc_hash *value)
{
    wworld *w = from->w;
    v.block = *value;
    tc_vote_sign(&v, tc_ledger_genesis(tc_node_parts_ledger(from->node))->chain_id, &w->byz->kp[from->idx]);
    tc_buf b;
    tc_buf_init(&b);
    tc_vote_encode(&v, &b);
    tc_msg out;
    tc_msg_init(&out, TC_MSG_VOTE);
    out.u.vote = (tc_bytes){b.p, b.len};
    w_wire(from, to, &out, false);
    w->byz->attacks++;
    tc_buf_release(&b);
}

/* from's own vote in m, decoded; false if m is none. */
static bool own_vote(wnode *from, const tc_msg *m, tc_vote *v)
{
    return m->type == TC_MSG_VOTE && tc_vote_decode(v, m->u.vote.p, m->u.vote.len) == 0 &&
           tc_pubkey_eq(&v->validator, &from->w->byz->kp[from->idx].pk);
}

static bool own_proposal(wnode *from, const tc_msg *m, tc_proposal *p)
{
    return m->type == TC_MSG_PROPOSAL &&
           tc_proposal_decode(p, m->u.proposal.proposal.p, m->u.proposal.proposal.len) == 0 &&
           tc_pubkey_eq(&p->proposer, &from->w->byz->kp[from->idx].pk);
}

static void edit_later(wworld *w, tc_header *h, void *arg)
{
    h->time_ms++; /* another valid block: the same body a millisecond later */
}

static void edit_utxo(wworld *w, tc_header *h, void *arg)
{
    h->utxo_commitment.b[0] ^= 0x5a; /* breaks the ledger's UTXO-commitment rule; the body still matches */
}

/* A year ahead or UINT64_MAX, by height from the seed. */
static void edit_time(wworld *w, tc_header *h, void *arg)
{
    h->time_ms = (mix(w->byz->salt ^ h->height) & 1) ? UINT64_MAX : h->time_ms + FAR_FUTURE_MS;
}

/* ---- the kinds -------------------------------------------------------------------------------- */

/* equivocate: half the targets (per height and round, from the seed) get
 * another signed proposal, a valid block a millisecond later. */
static bool equivocate(wnode *from, wnode *to, const tc_msg *m)
{
    tc_proposal p;
    if (!own_proposal(from, m, &p) || side_of(from->w, to->idx, p.height, p.round) == 0)
        return false;
    return send_edited_proposal(from, to, m, edit_later, NULL, true, false, NULL);
}

/* double-vote: half the targets get the other value (nil for a block, a
 * block nobody proposed for nil), signed: two conflicting votes. */
static bool double_vote(wnode *from, wnode *to, const tc_msg *m)
{
    tc_vote v;
    if (!own_vote(from, m, &v) || side_of(from->w, to->idx, v.height, v.round) == 0)
        return false;
    tc_hash other;
    memset(&other, 0, sizeof other);
    if (tc_hash_is_zero(&v.block))
        memset(other.b, 0xb7, sizeof other.b);
    send_vote_for(from, to, v, &other);
    if (from->w->byz->first_conflict_ms == 0)
        from->w->byz->first_conflict_ms = from->w->now + 1; /* + 1: 0 means none */
    from->w->byz->conflicts[from->idx]++;
    return true;
}

static bool invalid_block(wnode *from, wnode *to, const tc_msg *m)
{
    tc_proposal p;
    return own_proposal(from, m, &p) && send_edited_proposal(from, to, m, edit_utxo, NULL, true, false, NULL);
}

static bool bad_time(wnode *from, wnode *to, const tc_msg *m)
{
    tc_proposal p;
    return own_proposal(from, m, &p) && send_edited_proposal(from, to, m, edit_time, NULL, true, false, NULL);
}

/* withhold: the proposal goes out without its block to half the targets,
 * and no block is ever served (getdata answers and sync are dropped). */
static bool withhold(wnode *from, wnode *to, const tc_msg *m)
{
    if (m->type == TC_MSG_BLOCK || m->type == TC_MSG_BLOCKS)
        return true;
    tc_proposal p;
    if (!own_proposal(from, m, &p) || m->u.proposal.block.len == 0 || side_of(from->w, to->idx, p.height, p.round) == 0)
        return false;
    tc_msg out = *m;
    out.u.proposal.block = (tc_bytes){NULL, 0};
    w_wire(from, to, &out, false);
    from->w->byz->attacks++;
    return true;
}

/* lying-heights: claims far above its tip (w_byz_height) and serves nothing. */
static bool lying(wnode *from, wnode *to, const tc_msg *m)
{
    return m->type == TC_MSG_BLOCK || m->type == TC_MSG_BLOCKS || m->type == TC_MSG_HASH;
}

/* A block of m (getdata's answer) with its certificate's last signature broken. */
static bool bad_block(wnode *from, wnode *to, const tc_msg *m)
{
    const tc_bytes *c = &m->u.block.cert;
    if (c->len == 0)
        return false;
    uint8_t *cert = tc_xmalloc(c->len);
    memcpy(cert, c->p, c->len);
    cert[c->len - 1] ^= 0x01;
    tc_msg out = *m;
    out.u.block.cert = (tc_bytes){cert, c->len};
    w_wire(from, to, &out, true);
    from->w->byz->attacks++;
    free(cert);
    return true;
}

/* bad-sync: every block it serves carries a certificate with a broken signature. */
static bool bad_sync(wnode *from, wnode *to, const tc_msg *m)
{
    if (m->type == TC_MSG_BLOCK)
        return bad_block(from, to, m);
    if (m->type != TC_MSG_BLOCKS || m->u.blocks.n == 0)
        return false;
    tc_msg out = *m;
    out.u.blocks.v = tc_xcalloc(m->u.blocks.n, sizeof *out.u.blocks.v);
    uint8_t **certs = tc_xcalloc(m->u.blocks.n, sizeof *certs);
    for (size_t i = 0; i < m->u.blocks.n; i++) {
        const tc_bytes *c = &m->u.blocks.v[i].cert;
        certs[i] = tc_xmalloc(c->len);
        memcpy(certs[i], c->p, c->len);
        certs[i][c->len - 1] ^= 0x01; /* the last signature's last byte */
        out.u.blocks.v[i].block = m->u.blocks.v[i].block;
        out.u.blocks.v[i].cert = (tc_bytes){certs[i], c->len};
    }
    w_wire(from, to, &out, true);
    from->w->byz->attacks++;
    for (size_t i = 0; i < m->u.blocks.n; i++)
        free(certs[i]);
    free(certs);
    free(out.u.blocks.v);
    return true;
}

/* fork-halt: a Byzantine vote for one side's version of a block is never
 * relayed to the other side (to side 1 for an original, to side 0 and the
 * Byzantine nodes, which run side 0's chain, for the other version). A
 * careful adversary hides its double signs; `fork` leaks them, and a
 * Byzantine node's own real code then records the evidence and jails them
 * all at the next height, leaving no commit for a halt to stop. */
static bool hidden_relay(wworld *w, const wnode *to, const tc_msg *m)
{
    tc_vote v;
    return m->type == TC_MSG_VOTE && tc_vote_decode(&v, m->u.vote.p, m->u.vote.len) == 0 &&
           tc_hmap_get(fork_side(w, to->idx) ? w->byz->alt : w->byz->others, v.block.b) != NULL &&
           w_byz_key(w, &v.validator);
}

bool w_byz_key(const wworld *w, const tc_pubkey *key)
{
    for (int i = 0; i < w->n; i++)
        if (w->nodes[i].byz && tc_pubkey_eq(&w->nodes[i].op, key))
            return true;
    return false;
}

/* fork (over 1/3): side 1 of the honest nodes gets another block for every
 * Byzantine proposal, and every Byzantine vote for such a block is turned
 * into one for the other, so each side sees a quorum for its own block. */
static bool fork_both(wnode *from, wnode *to, const tc_msg *m)
{
    wworld *w = from->w;
    tc_proposal p;
    tc_vote v;
    if (w->cfg->byz == WB_FORK_HALT && !w->fork_healed && !own_vote(from, m, &v) && hidden_relay(w, to, m))
        return true;
    if (fork_side(w, to->idx) == 0 || w->fork_healed)
        return false; /* fork-halt: once the halves are joined the Byzantine nodes only watch */
    if (m->type == TC_MSG_PROPOSAL && !own_proposal(from, m, &p) &&
        tc_proposal_decode(&p, m->u.proposal.proposal.p, m->u.proposal.proposal.len) == 0 &&
        tc_hmap_get(w->byz->alt, p.block.b))
        return true; /* another Byzantine node's original: side 1 has the other block */
    if (own_proposal(from, m, &p)) {
        tc_hash other;
        if (!send_edited_proposal(from, to, m, edit_later, NULL, true, false, &other))
            return false;
        if (tc_hmap_get(w->byz->alt, p.block.b) == NULL) {
            tc_hash *a = tc_xmalloc(sizeof *a);
            *a = other;
            tc_hmap_put(w->byz->alt, p.block.b, a);
            tc_hmap_put(w->byz->others, a->b, a);
        }
        return true;
    }
    if (!own_vote(from, m, &v))
        return false;
    const tc_hash *other = tc_hmap_get(w->byz->alt, v.block.b);
    if (other == NULL)
        return false;
    send_vote_for(from, to, v, other);
    return true;
}

bool w_byz_hidden(const wnode *to, const tc_msg *m)
{
    wworld *w = to->w;
    return w->cfg->byz == WB_FORK_HALT && !w->fork_healed && hidden_relay(w, to, m);
}

bool w_byz_transmit(wnode *from, wnode *to, const tc_msg *m)
{
    if (to->byz)
        return false; /* among themselves they are honest */
    switch (from->w->cfg->byz) {
    case WB_EQUIVOCATE:
        return equivocate(from, to, m);
    case WB_DOUBLE_VOTE:
        return double_vote(from, to, m);
    case WB_INVALID_BLOCK:
        return invalid_block(from, to, m);
    case WB_BAD_TIME:
        return bad_time(from, to, m);
    case WB_WITHHOLD:
        return withhold(from, to, m);
    case WB_LYING_HEIGHTS:
        return lying(from, to, m);
    case WB_BAD_SYNC:
        return bad_sync(from, to, m);
    case WB_FORK:
    case WB_FORK_HALT:
        return fork_both(from, to, m);
    default:
        return false;
    }
}

uint64_t w_byz_height(wworld *w, int a, uint64_t h)
{
    if (w->byz == NULL || !w->nodes[a].byz || w->cfg->byz != WB_LYING_HEIGHTS)
        return h;
    /* one more on every claim: refuting a claim must not be undone by the next (issue 11) */
    uint64_t base = (w->byz->salt & 1) ? UINT64_MAX / 2 : h + LIE_HEIGHT_STEP;
    return base + w->byz->attacks++;
}

/* ---- junk proposals ---------------------------------------------------------------------------------- */

/* One proposal of tmpl (re-dated to height) from a fresh key, to `to`. */
static void send_junk(wnode *from, wnode *to, tc_block *tmpl, uint64_t height, uint32_t round)
{
    tc_keypair kp;
    tc_keypair_generate(&kp);
    tmpl->hdr.height = height;
    tmpl->hdr.proposer = kp.pk;
    tc_proposal p = {.height = height, .round = round, .pol_round = -1, .proposer = kp.pk};
    tc_header_hash(&tmpl->hdr, &p.block);
    tc_proposal_sign(&p, tc_ledger_genesis(tc_node_parts_ledger(from->node))->chain_id, &kp);
    tc_keypair_wipe(&kp);
    wire_proposal(from, to, &p, tmpl, true, true);
}

/* junk-proposals: a burst of JUNK_PER_BURST proposals for the next two
 * heights, each from a fresh key (no validator's), with a decodable block
 * whose hash matches, to every honest peer still linked; the next burst
 * 10-30 ms later, until no honest peer is linked. */
void w_byz_event(wworld *w, wnode *nd)
{
    if (w->byz == NULL || !nd->byz || w->cfg->byz != WB_JUNK)
        return;
    tc_ledger *L = tc_node_parts_ledger(nd->node);
    uint64_t tip = tc_ledger_height(L);
    tc_block tmpl;
    tc_cert last;
    tc_errmsg e;
    tc_block_init(&tmpl);
    tc_cert_init(&last);
    bool built = (tip == 0 || tc_ledger_get_cert(L, tip, &last) == 0) &&
                 tc_ledger_build_block(L, NULL, 0, W_GENESIS_MS + 1000 + w->now, &nd->op, &last, &tmpl, NULL, &e) == 0;
    bool linked = false;
    for (int i = 0; i < w->n; i++) {
        wnode *to = &w->nodes[i];
        if (to->byz || !w_linked(nd, to))
            continue;
        linked = true;
        for (uint32_t k = 0; built && k < JUNK_PER_BURST; k++)
            send_junk(nd, to, &tmpl, tip + 1 + (k & 1), (uint32_t)sim_range(&w->rng, 0, 2));
    }
    if (linked)
        w_at(w, w->now + sim_range(&w->rng, JUNK_GAP_MS), W_BYZ, nd->idx, 0);
    tc_block_release(&tmpl);
    tc_cert_release(&last);
}

/* ---- what the honest nodes must do about it ------------------------------------------------------------ */

void w_byz_delivered(wworld *w, int to, int from, bool bad)
{
    if (bad && w->byz)
        w->byz->bad[to][from]++;
}

/* Whether honest node nd's state holds Byzantine node b jailed or slashed. */
static bool jailed_on(wnode *nd, const wnode *b)
{
    tc_view view;
    tc_mn mn;
    if (tc_ledger_view_begin(tc_node_parts_ledger(nd->node), &view) != 0)
        return false;
    bool j = view.get_mn_by_operator(view.ctx, &b->op, &mn) == 0 && (mn.jailed || mn.slashed);
    tc_ledger_view_end(&view);
    return j;
}

/* double-vote: every Byzantine node that sent conflicting votes is jailed on
 * every honest node that is up. */
static bool all_jailed(wworld *w)
{
    for (int b = 0; b < w->n; b++) {
        if (!w->nodes[b].byz || w->byz->conflicts[b] == 0)
            continue;
        for (int i = 0; i < w->n; i++)
            if (!w->nodes[i].byz && w->nodes[i].up && !jailed_on(&w->nodes[i], &w->nodes[b]))
                return false;
    }
    return true;
}

bool w_byz_settled(wworld *w)
{
    if (w->byz == NULL)
        return true;
    if (w->byz->attacks == 0)
        return false; /* on until a Byzantine node has had its turn (the run's cap bounds it) */
    if (w->cfg->byz != WB_DOUBLE_VOTE || w->byz->first_conflict_ms == 0)
        return true;
    if (all_jailed(w))
        return true;
    if (w->now + 1 - w->byz->first_conflict_ms > EVIDENCE_BOUND_MS)
        w_violation(w, "evidence: a Byzantine node double-voted at t=%" PRIu64 " ms and is not jailed on every "
                       "honest node %d ms later",
                    w->byz->first_conflict_ms - 1, EVIDENCE_BOUND_MS);
    return false;
}

/* Whether honest node `to`, delivered something provably invalid by
 * Byzantine node `from`, has done what it must: a junk proposal is always
 * checked, so it bans; a forged sync answer is checked only when the range
 * is still wanted (a late answer is dropped unread), so among the nodes
 * that were sent one, at least one bans. */
static bool ban_earned(const wworld *w, int to, int from)
{
    if (w->byz->bad[to][from] == 0 || w->nodes[to].banned[from])
        return true;
    if (w->cfg->byz == WB_JUNK)
        return false;
    for (int i = 0; i < w->n; i++)
        if (w->byz->bad[i][from] && w->nodes[i].banned[from])
            return true;
    return false;
}

/* At the end: the bans provably invalid messages earned (ban_earned), and
 * the attack happened. */
void w_byz_check_end(wworld *w)
{
    if (w->byz == NULL)
        return;
    w->res->byz_attacks = w->byz->attacks;
    for (int a = 0; a < w->n; a++)
        for (int b = 0; b < w->n; b++) {
            w->res->byz_bans += w->nodes[a].banned[b];
            w->res->byz_bad += w->byz->bad[a][b];
        }
    if (w->failed)
        return;
    for (int to = 0; to < w->n; to++)
        for (int from = 0; from < w->n; from++) {
            if (!ban_earned(w, to, from)) {
                w_violation(w, "ban: honest node %d was sent %" PRIu64 " provably invalid messages by Byzantine "
                               "node %d and %s banned it",
                            to, w->byz->bad[to][from], from, w->cfg->byz == WB_JUNK ? "did not" : "no node");
                return;
            }
        }
    if (w->byz->attacks == 0)
        w_violation(w, "byzantine: the %s nodes never attacked (nothing to judge)", whole_byz_name(w->cfg->byz));
}
