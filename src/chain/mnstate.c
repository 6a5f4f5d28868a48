#include "chain/mnstate.h"

#include <string.h>

#include "chain/amount.h"
#include "util/hex.h"
#include "util/log.h"

int tc_mn_apply_register(const tc_state *st, const tc_consensus_params *cp, const tc_tx *tx, uint64_t height)
{
    tc_mn m;
    memset(&m, 0, sizeof m);
    m.collateral = tx->u.reg.collateral;
    m.tier = tx->u.reg.tier;
    m.owner = tx->u.reg.owner;
    m.operator_key = tx->u.reg.operator_key;
    m.reward = tx->u.reg.reward;
    memcpy(m.netaddr, tx->u.reg.netaddr, sizeof m.netaddr);
    m.registered_height = height;
    m.active_height = height + (cp->activation_delay ? cp->activation_delay : 1);
    return st->add_mn(st->view.ctx, &m);
}

int tc_mn_apply_update(const tc_state *st, const tc_tx *tx)
{
    tc_mn m;
    int err = st->view.get_mn(st->view.ctx, &tx->u.update.collateral, &m);
    if (err)
        return err;
    m.reward = tx->u.update.reward;
    memcpy(m.netaddr, tx->u.update.netaddr, sizeof m.netaddr);
    return st->put_mn(st->view.ctx, &m);
}

int tc_mn_apply_deregister(const tc_state *st, const tc_consensus_params *cp, const tc_outpoint *collateral,
                           uint64_t height)
{
    tc_mn m;
    int err = st->view.get_mn(st->view.ctx, collateral, &m);
    if (err)
        return err;
    m.unbond_height = height + (cp->unbonding_blocks ? cp->unbonding_blocks : 1);
    return st->put_mn(st->view.ctx, &m);
}

int tc_mn_apply_unjail(const tc_state *st, const tc_tx *tx)
{
    tc_mn m;
    int err = st->view.get_mn(st->view.ctx, &tx->u.unjail.collateral, &m);
    if (err)
        return err;
    m.jailed = 0;
    m.missed = 0;
    return st->put_mn(st->view.ctx, &m);
}

/* Jails m (with its missed count as the caller set it) unless that would
 * leave no validator at height + 1. */
static int jail(const tc_state *st, tc_mn *m, uint64_t height, const char *why)
{
    size_t n;
    int err = tc_mn_count_validators(&n, height + 1, st->each_mn, st->view.ctx);
    if (err)
        return err;
    if (n <= 1 && tc_mn_is_validator(m, height + 1))
        return 0;
    char hex[65];
    if (st->log_events)
        tc_log_warn("ledger", "masternode jailed", "height=%llu operator=%s reason=%s hint=%s",
                    (unsigned long long)height, tc_hex_encode(hex, m->operator_key.b, 32), why,
                    m->slashed ? "slashed for a double sign, it never votes again: stop every copy of its operator "
                                 "key, deregister it and register a new masternode (docs/troubleshooting.md#jailed)"
                               : "it neither votes nor earns until its operator key signs an unjail transaction; "
                                 "bring its node back first (docs/troubleshooting.md#jailed)");
    m->jailed = 1;
    return st->put_mn(st->view.ctx, m);
}

uint64_t tc_mn_slash_amount(uint64_t collateral, uint8_t percent)
{
    /* in two parts: collateral * percent could pass 2^64 */
    return collateral / 100 * percent + collateral % 100 * percent / 100;
}

void tc_mn_burn_address(tc_address *out)
{
    memset(out, 0, sizeof *out); /* version 0, hash 0: no key hashes to it */
}

/* Burns the slash share of m's collateral: the collateral output shrinks by it
 * and an output of the burn address at (txid, 0) holds it. */
static int slash(const tc_state *st, const tc_consensus_params *cp, const tc_mn *m, const tc_hash *txid,
                 uint64_t height)
{
    tc_utxo col;
    int err = st->view.get_utxo(st->view.ctx, &m->collateral, &col);
    if (err)
        return err == TC_ENOTFOUND ? TC_ECORRUPT : err; /* a registered collateral is unspent */
    uint64_t burn = tc_mn_slash_amount(col.value, cp->slash_percent);
    if (burn == 0)
        return 0;
    col.value -= burn;
    tc_utxo out = {.value = burn, .height = height};
    tc_mn_burn_address(&out.addr);
    tc_outpoint o = {.txid = *txid, .vout = 0}; /* evidence has no outputs of its own */
    if ((err = st->put_utxo(st->view.ctx, &m->collateral, &col)) == 0)
        err = st->put_utxo(st->view.ctx, &o, &out);
    if (err == 0 && st->log_events) {
        char hex[65], amt[TC_AMOUNT_STRLEN];
        tc_log_warn("ledger", "masternode slashed", "height=%llu operator=%s burned=%s hint=%s",
                    (unsigned long long)height, tc_hex_encode(hex, m->operator_key.b, 32),
                    tc_amount_format(amt, burn),
                    "evidence of a double sign: it stays jailed for good; its owner can deregister it and "
                    "spend the rest after the unbonding period");
    }
    return err;
}

int tc_mn_apply_evidence(const tc_state *st, const tc_consensus_params *cp, const tc_tx *tx, const tc_hash *txid,
                         uint64_t height)
{
    tc_mn m;
    int err = st->view.get_mn_by_operator(st->view.ctx, &tx->u.evidence.a.validator, &m);
    if (err || m.slashed)
        return err;
    if ((err = slash(st, cp, &m, txid, height)))
        return err;
    m.slashed = 1;
    if (m.jailed)
        return st->put_mn(st->view.ctx, &m);
    err = jail(st, &m, height, "double-sign evidence");
    /* the last validator is not jailed (the chain must go on), but stays slashed */
    return err == 0 && !m.jailed ? st->put_mn(st->view.ctx, &m) : err;
}

static bool signed_commit(const tc_cert *c, const tc_pubkey *key)
{
    for (size_t k = 0; k < c->n; k++)
        if (memcmp(c->sigs[k].key.b, key->b, 32) == 0)
            return true;
    return false;
}

int tc_mn_apply_liveness(const tc_state *st, const tc_consensus_params *cp, uint64_t height,
                         const tc_cert *last_commit)
{
    if (height < 2)
        return 0;
    tc_valset prev;
    int err = st->get_valset(st->view.ctx, height - 1, &prev);
    for (size_t i = 0; i < prev.n && err == 0; i++) {
        tc_mn m;
        if ((err = st->view.get_mn_by_operator(st->view.ctx, &prev.v[i].key, &m)) == TC_ENOTFOUND) {
            err = 0; /* deregistered since: nothing to track */
            continue;
        }
        if (err)
            break;
        uint32_t missed = signed_commit(last_commit, &prev.v[i].key) ? 0 : m.missed + 1;
        if (missed == m.missed)
            continue;
        m.missed = missed;
        if (!m.jailed && missed >= cp->jail_after_missed)
            err = jail(st, &m, height, "absent from commit certificates");
        else
            err = st->put_mn(st->view.ctx, &m);
    }
    tc_valset_release(&prev);
    return err;
}
