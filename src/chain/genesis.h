/* Genesis: the JSON document that defines a chain, and the block it makes.
 *
 * {
 *   "network": "devnet", "chain_id": 3, "time_ms": 1763700000000,
 *   "allocations": [{"address": "dtime1…", "amount": "1000000"}],
 *   "masternodes": [{"tier": "bronze", "owner_pubkey": "<hex32>",
 *                    "operator_pubkey": "<hex32>", "reward_address": "dtime1…",
 *                    "netaddr": "127.0.0.1:24200"}],
 *   "consensus": {"propose_timeout_ms": 1000, "propose_delta_ms": 500,
 *                 "prevote_timeout_ms": 1000, "prevote_delta_ms": 500,
 *                 "precommit_timeout_ms": 1000, "precommit_delta_ms": 500,
 *                 "block_interval_ms": 1000, "activation_delay": 10,
 *                 "jail_after_missed": 50}
 * }
 * Every key is required and unknown keys are rejected; amounts are decimal
 * TIME strings. Each masternode's collateral (its tier's exact amount, paid to
 * the owner key's address) is created by the genesis block after the
 * allocations, and the masternode votes from height 1. */
#ifndef TC_CHAIN_GENESIS_H
#define TC_CHAIN_GENESIS_H

#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/masternode.h"
#include "chain/params.h"
#include "chain/valset.h"
#include "util/err.h"

typedef struct {
    tc_address addr;
    uint64_t value;
} tc_genesis_alloc;

typedef struct {
    uint32_t chain_id;
    const tc_netparams *net;
    uint64_t time_ms;
    size_t n_alloc;
    tc_genesis_alloc *alloc;
    size_t n_mn;
    tc_mn *mn; /* collateral outpoints filled in by tc_genesis_parse */
    tc_consensus_params cp;
} tc_genesis;

/* Parses and checks a genesis document. On failure *g is released and e says
 * which key is wrong (e.g. "masternodes[2].tier: unknown tier \"iron\""). */
int tc_genesis_parse(tc_genesis *g, const char *json, size_t len, tc_errmsg *e) TC_MUST_CHECK;
/* Reads and parses a file; e names the file on failure. */
int tc_genesis_load(tc_genesis *g, const char *path, tc_errmsg *e) TC_MUST_CHECK;
/* Frees what a parsed g owns (its allocations and masternodes); g is then
 * empty and may be parsed into again. */
void tc_genesis_release(tc_genesis *g);

/* The genesis block (height 0): one coinbase with the allocations then the
 * collaterals; its header commits to the UTXO set it creates and to the
 * validator set of height 1. */
void tc_genesis_block(const tc_genesis *g, tc_block *out);
/* The validator set of height 1 (the genesis masternodes). */
void tc_genesis_valset(const tc_genesis *g, tc_valset *out);

#endif
