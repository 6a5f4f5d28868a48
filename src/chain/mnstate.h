/* What blocks do to the masternode table (DESIGN.md §4, docs/chain.md
 * "Masternodes"): registration with its activation delay, update,
 * deregistration (explicit or by spending the collateral), unjail, and the
 * two ways to be jailed: proof of service (absent from jail_after_missed
 * certificates in a row) and evidence of a double sign. Each function applies
 * one transition to a tc_state at block `height`; the transaction carrying it
 * has passed tc_tx_check_inputs against that state. 0, or the state's error. */
#ifndef TC_CHAIN_MNSTATE_H
#define TC_CHAIN_MNSTATE_H

#include <stdint.h>

#include "chain/cert.h"
#include "chain/params.h"
#include "chain/state.h"
#include "chain/tx.h"

/* Registers the masternode of tx (TC_TX_MN_REGISTER) at height: it votes
 * from height + activation_delay (a delay of 0 counts as 1). */
int tc_mn_apply_register(const tc_state *st, const tc_consensus_params *cp, const tc_tx *tx, uint64_t height) TC_MUST_CHECK;
/* Sets the reward and network address of tx's masternode (TC_TX_MN_UPDATE). */
int tc_mn_apply_update(const tc_state *st, const tc_tx *tx) TC_MUST_CHECK;
/* Deregisters the masternode whose collateral is `collateral` at height: it
 * leaves the validator set from height + 1 and its collateral may be spent
 * from height + unbonding_blocks (0 counts as 1); spending it removes the
 * record. TC_ENOTFOUND if none. */
int tc_mn_apply_deregister(const tc_state *st, const tc_consensus_params *cp, const tc_outpoint *collateral,
                           uint64_t height) TC_MUST_CHECK;
/* Clears the jail and the missed count of tx's masternode (TC_TX_MN_UNJAIL). */
int tc_mn_apply_unjail(const tc_state *st, const tc_tx *tx) TC_MUST_CHECK;
/* Slashes the masternode (registered or unbonding) that double-signed in the
 * evidence tx (TC_TX_EVIDENCE, id txid): slash_percent of its collateral
 * output is burned (the output shrinks; an output of tc_mn_burn_address at
 * (txid, 0) holds the share), it is marked slashed (never unjailed) and
 * jailed unless it is the last validator of height + 1. Nothing for a
 * masternode slashed already. */
int tc_mn_apply_evidence(const tc_state *st, const tc_consensus_params *cp, const tc_tx *tx, const tc_hash *txid,
                         uint64_t height) TC_MUST_CHECK;
/* The share of `collateral` sat that a slash of `percent` burns (rounded
 * down, no overflow for any u64). */
uint64_t tc_mn_slash_amount(uint64_t collateral, uint8_t percent);
/* The address burned coins are sent to: version 0, an all-zero hash, which
 * no key hashes to, so nobody can spend them. */
void tc_mn_burn_address(tc_address *out);
/* Proof of service at block `height` (≥ 2; nothing at 1): each validator of
 * height − 1 absent from last_commit (the certificate block `height`
 * carries) gains a miss, each present one is reset to zero; reaching
 * jail_after_missed jails it unless it is the last validator of height + 1
 * (the chain could then never make the block that unjails anyone). */
int tc_mn_apply_liveness(const tc_state *st, const tc_consensus_params *cp, uint64_t height,
                         const tc_cert *last_commit) TC_MUST_CHECK;

#endif
