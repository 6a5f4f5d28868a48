/* The whole-node mode's invariant checker, over the honest nodes only (a
 * Byzantine node's ledger and signatures are not judged): agreement (the same block and
 * UTXO commitment at every height on every node), the node's UTXO set is the
 * one its tip commits to, supply = genesis + rewards, no honest double sign,
 * and liveness while no fault is in effect. It reads the nodes' ledgers and
 * what they send; it never changes them. */
#include <inttypes.h>
#include <string.h>

#include "chain/params.h"
#include "util/hex.h"
#include "util/mem.h"
#include "whole_impl.h"

#define SIGN_KEY_LEN (32 + 8 + 4 + 1) /* key, height, round, step */

void w_check_init(wworld *w)
{
    w->signs = tc_hmap_new(SIGN_KEY_LEN);
}

static void free_value(void *ctx, const void *key, void *value)
{
    free(value);
}

void w_check_release(wworld *w)
{
    if (w->signs) {
        tc_hmap_each(w->signs, free_value, NULL);
        tc_hmap_free(w->signs);
        w->signs = NULL;
    }
    free(w->canon);
    free(w->canon_utxo);
    w->canon = w->canon_utxo = NULL;
}

static void check_one_sign(wworld *w, int from, const tc_pubkey *key, uint64_t height, uint32_t round, uint8_t step,
                           const tc_hash *value)
{
    if (memcmp(key->b, w->nodes[from].op.b, 32) != 0)
        return; /* relaying another's message */
    uint8_t k[SIGN_KEY_LEN];
    memcpy(k, key->b, 32);
    memcpy(k + 32, &height, 8);
    memcpy(k + 40, &round, 4);
    k[44] = step;
    tc_hash *seen = tc_hmap_get(w->signs, k);
    if (seen == NULL) {
        seen = tc_xmalloc(sizeof *seen);
        *seen = *value;
        tc_hmap_put(w->signs, k, seen);
        return;
    }
    if (!tc_hash_eq(seen, value)) {
        char a[17], b[17];
        w_violation(w, "honest double-sign: node %d signed two values for height %" PRIu64 " round %u step %u: %s and %s",
                    from, height, round, step, tc_hex_encode(a, seen->b, 8), tc_hex_encode(b, value->b, 8));
    }
}

void w_check_signed(wworld *w, int from, const tc_msg *m)
{
    if (w->nodes[from].byz)
        return; /* double signs are what it is there for */
    if (m->type == TC_MSG_VOTE) {
        tc_vote v;
        if (tc_vote_decode(&v, m->u.vote.p, m->u.vote.len) == 0)
            check_one_sign(w, from, &v.validator, v.height, v.round, v.type, &v.block);
    } else if (m->type == TC_MSG_PROPOSAL) {
        tc_proposal p;
        if (tc_proposal_decode(&p, m->u.proposal.proposal.p, m->u.proposal.proposal.len) == 0)
            check_one_sign(w, from, &p.proposer, p.height, p.round, 0, &p.block);
    }
}

/* Height h's block on nd joins the record or is compared with it. */
static void check_height(wworld *w, wnode *nd, uint64_t h)
{
    tc_ledger *L = tc_node_parts_ledger(nd->node);
    tc_block blk;
    if (tc_ledger_get_block(L, h, &blk) != 0) {
        w_violation(w, "node %d cannot read its block %" PRIu64, nd->idx, h);
        return;
    }
    tc_hash hash;
    tc_header_hash(&blk.hdr, &hash);
    if (w->fork_height && h >= w->fork_height) {
        tc_block_release(&blk); /* fork-halt: two branches from here on, judged by wfork.c */
        return;
    }
    if (h > w->ncanon) {
        if (w->ncanon == w->capcanon) {
            w->capcanon = w->capcanon ? 2 * w->capcanon : 64;
            w->canon = tc_xrealloc(w->canon, w->capcanon * sizeof *w->canon);
            w->canon_utxo = tc_xrealloc(w->canon_utxo, w->capcanon * sizeof *w->canon_utxo);
        }
        w->canon[w->ncanon] = hash;
        w->canon_utxo[w->ncanon] = blk.hdr.utxo_commitment;
        w->ncanon++;
        w->last_advance_ms = w->now;
        w_wallet_on_block(w, &blk);
    } else if ((!tc_hash_eq(&w->canon[h - 1], &hash) || !tc_hash_eq(&w->canon_utxo[h - 1], &blk.hdr.utxo_commitment)) &&
               !w_fork_disagree(w, nd, h)) {
        char a[17], b[17];
        w_violation(w, "agreement: node %d committed block %s at height %" PRIu64 ", another node %s", nd->idx,
                    tc_hex_encode(a, hash.b, 8), h, tc_hex_encode(b, w->canon[h - 1].b, 8));
    }
    tc_block_release(&blk);
}

void w_check_commits(wworld *w, wnode *nd)
{
    if (!nd->up || w->failed || nd->byz)
        return; /* a Byzantine node's ledger is not judged */
    tc_ledger *L = tc_node_parts_ledger(nd->node);
    uint64_t tip = tc_ledger_height(L);
    if (tip <= nd->checked)
        return;
    for (uint64_t h = nd->checked + 1; h <= tip && !w->failed; h++)
        check_height(w, nd, h);
    nd->commits += tip - nd->checked;
    nd->checked = tip;
    tc_hash live;
    tc_header hdr;
    uint64_t count, sat;
    tc_ledger_utxo_commitment(L, &live);
    tc_ledger_utxo_totals(L, &count, &sat);
    tc_ledger_tip(L, &hdr, NULL); /* its own tip: agreed above, or (fork-halt) its branch's */
    if (!w->failed && !tc_hash_eq(&live, &hdr.utxo_commitment))
        w_violation(w, "state: node %d's UTXO set at height %" PRIu64 " is not the one its block commits to", nd->idx,
                    tip);
    uint64_t want = w->supply0 + tip * TC_BLOCK_REWARD;
    if (!w->failed && sat != want)
        w_violation(w, "supply: node %d holds %" PRIu64 " sat at height %" PRIu64 ", genesis + rewards is %" PRIu64,
                    nd->idx, sat, tip, want);
}

void w_check_liveness(wworld *w)
{
    if (w->faults > 0 || w->failed)
        return;
    uint64_t since = w->last_advance_ms > w->healthy_since_ms ? w->last_advance_ms : w->healthy_since_ms;
    uint64_t gap = w->now - since;
    if (gap > w->res->worst_gap_ms)
        w->res->worst_gap_ms = gap;
    if (gap > w->res->bound_ms)
        w_violation(w, "liveness: no new height for %" PRIu64 " ms with no fault in effect (bound %" PRIu64 " ms)",
                    gap, w->res->bound_ms);
}

void w_check_syncing(wworld *w)
{
    for (int i = 0; i < w->n && !w->failed; i++) {
        wnode *nd = &w->nodes[i];
        if (!nd->up || nd->byz || !tc_node_parts_syncing(nd->node)) {
            nd->sync_since = 0;
            continue;
        }
        if (nd->sync_since == 0)
            nd->sync_since = w->now;
        if (w->faults > 0)
            continue;
        uint64_t since = nd->sync_since > w->healthy_since_ms ? nd->sync_since : w->healthy_since_ms;
        uint64_t d = w->now - since;
        if (d > w->res->worst_sync_ms)
            w->res->worst_sync_ms = d;
        if (d > w->res->bound_ms)
            w_violation(w, "sync: node %d has been syncing for %" PRIu64 " ms with no fault in effect (bound %" PRIu64
                           " ms): a peer's height it cannot reach holds it there",
                        i, d, w->res->bound_ms);
    }
}

uint64_t w_min_height(const wworld *w, uint64_t *max)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < w->n; i++) {
        const wnode *nd = &w->nodes[i];
        if (!nd->up || nd->byz)
            continue;
        uint64_t h = tc_ledger_height(tc_node_parts_ledger(nd->node));
        lo = h < lo ? h : lo;
        hi = h > hi ? h : hi;
    }
    if (max)
        *max = hi;
    return lo == UINT64_MAX ? 0 : lo;
}
