/* The fork-halt kind (docs/simulator.md): more than 1/3 of the weight
 * double-signs so that each half of the honest nodes commits a certified
 * block of its own (byz.c, as for `fork`). The first disagreement is
 * expected; FORK_HEAL_MS later the halves are joined and the Byzantine
 * nodes only watch. Then DESIGN.md §6 must hold on every honest node:
 *
 * - it detects the two valid certificates and halts commits within
 *   FORK_DETECT_MS of the join;
 * - while halted it commits no height and does not resume by itself (the
 *   honest weight is split, so no branch has 2/3 of the non-culprits);
 * - the culprits it names are validators that signed both certificates it
 *   holds (its own at the fork height and the other side's), all of them
 *   Byzantine, with more than 1/3 of the weight (accountable safety).
 *
 * The run ends FORK_HOLD_MS after the last honest node halted. */
#include <inttypes.h>
#include <string.h>

#include "util/hex.h"
#include "util/log.h"
#include "whole_impl.h"

#define FORK_HEAL_MS 2000    /* the halves are joined this long after the first disagreement */
#define FORK_DETECT_MS 40000 /* every honest node halted within this of the join (a 10 s probe, 5 s queries) */
#define FORK_HOLD_MS 10000   /* still halted, nothing committed, this long after the last one halted */

bool w_fork_disagree(wworld *w, const wnode *nd, uint64_t h)
{
    if (w->cfg->byz != WB_FORK_HALT)
        return false;
    if (w->fork_height == 0) {
        w->fork_height = h;
        w->fork_seen_ms = w->now;
        w->faults++; /* liveness is not asked from here on: the halt stops commits by design */
        tc_log_info("sim", "fork: honest nodes committed different blocks", "height=%" PRIu64 " node=%d t_ms=%" PRIu64,
                    h, nd->idx, w->now);
    }
    return true;
}

static void record_halt(wworld *w, wnode *nd, uint64_t tip)
{
    bool halted = tc_node_parts_fork_halted(nd->node, NULL);
    if (halted && !nd->halted) {
        nd->halted = true;
        nd->halt_tip = tip;
        w->fork_last_halt_ms = w->now;
    } else if (halted && tip > nd->halt_tip) {
        w_violation(w, "fork: node %d committed height %" PRIu64 " while halted (halted at %" PRIu64 ")", nd->idx, tip,
                    nd->halt_tip);
    } else if (!halted && nd->halted) {
        w_violation(w, "fork: node %d's halt lifted without an operator (halted at %" PRIu64 ")", nd->idx,
                    nd->halt_tip);
    }
}

void w_fork_step(wworld *w)
{
    if (w->cfg->byz != WB_FORK_HALT || w->fork_height == 0 || w->failed)
        return;
    if (!w->fork_healed && w->now >= w->fork_seen_ms + FORK_HEAL_MS) {
        w->fork_healed = true;
        w->fork_heal_ms = w->now;
    }
    for (int i = 0; i < w->n && !w->failed; i++) {
        wnode *nd = &w->nodes[i];
        if (!nd->up || nd->byz)
            continue;
        record_halt(w, nd, tc_ledger_height(tc_node_parts_ledger(nd->node)));
        if (!nd->halted && w->fork_healed && w->now > w->fork_heal_ms + FORK_DETECT_MS)
            w_violation(w, "fork: node %d did not halt within %d ms of the halves joining (fork at height %" PRIu64 ")",
                        i, FORK_DETECT_MS, w->fork_height);
    }
}

/* nd's culprits: each Byzantine, each a signer of its own certificate at
 * the fork height, together more than 1/3 of the validators (equal
 * weights on the simulated devnet). */
static void check_culprits(wworld *w, wnode *nd)
{
    const tc_pubkey *keys;
    size_t n = tc_node_parts_fork_culprits(nd->node, &keys);
    tc_cert own;
    if (tc_ledger_get_cert(tc_node_parts_ledger(nd->node), w->fork_height, &own) != 0) {
        w_violation(w, "fork: node %d has no certificate at the fork height %" PRIu64, nd->idx, w->fork_height);
        return;
    }
    for (size_t k = 0; k < n && !w->failed; k++) {
        bool signed_own = false;
        for (size_t s = 0; s < own.n; s++)
            signed_own |= tc_pubkey_eq(&own.sigs[s].key, &keys[k]);
        char hex[17];
        if (!w_byz_key(w, &keys[k]) || !signed_own)
            w_violation(w, "fork: node %d named %s a culprit: %s", nd->idx, tc_hex_encode(hex, keys[k].b, 8),
                        w_byz_key(w, &keys[k]) ? "it did not sign this node's certificate" : "an honest validator");
    }
    if (!w->failed && 3 * n <= (size_t)w->n)
        w_violation(w, "fork: node %d named %zu culprits of %d validators, not more than 1/3", nd->idx, n, w->n);
    tc_cert_release(&own);
}

bool w_fork_finished(wworld *w)
{
    if (w->fork_height == 0 || !w->fork_healed || w->now < w->fork_last_halt_ms + FORK_HOLD_MS)
        return false;
    for (int i = 0; i < w->n; i++)
        if (!w->nodes[i].byz && w->nodes[i].up && !w->nodes[i].halted)
            return false;
    for (int i = 0; i < w->n && !w->failed; i++)
        if (!w->nodes[i].byz && w->nodes[i].up)
            check_culprits(w, &w->nodes[i]);
    return true;
}
