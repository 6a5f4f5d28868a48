/* Network parameters and chain-wide constants (DESIGN.md §3, §4). */
#ifndef TC_CHAIN_PARAMS_H
#define TC_CHAIN_PARAMS_H

#include <stdint.h>

#include "util/err.h"

#define TC_COIN 100000000ull          /* sat per TIME */
#define TC_MAX_MONEY (21000000000ull * TC_COIN)
#define TC_DUST_LIMIT 1000ull         /* sat */
#define TC_MIN_FEE (TC_COIN / 100)    /* 0.01 TIME */
#define TC_BLOCK_REWARD (100 * TC_COIN)
#define TC_MAX_TX_SIZE 1000000u
#define TC_MAX_BLOCK_SIZE 2000000u
#define TC_MAX_VALIDATORS 1000u
#define TC_MAX_NETADDR 64u            /* "host:port" */
#define TC_TX_VERSION 1u
#define TC_BLOCK_VERSION 1u

enum tc_network { TC_NET_MAINNET = 1, TC_NET_TESTNET = 2, TC_NET_DEVNET = 3 };

typedef struct {
    enum tc_network net;
    const char *name;    /* "mainnet" … */
    uint32_t chain_id;
    uint16_t p2p_port;   /* devnet: base port of node 0 */
    uint16_t rpc_port;
    uint16_t metrics_port;
    uint8_t magic[4];
    const char *hrp;     /* address human-readable part */
    /* How far a proposal's time may be ahead of the validating node's wall
     * clock (docs/chain.md, "Block time"). A per-network constant rather than
     * a genesis key, so the genesis encoding and hash stay as they are. */
    uint32_t max_block_drift_ms;
    /* Blocks from a deregistration to the first block that may spend the
     * collateral (docs/chain.md, "Collateral, unbonding and slashing"). */
    uint32_t unbonding_blocks;
    /* Share of a collateral that evidence of a double sign burns, in percent. */
    uint8_t slash_percent;
} tc_netparams;

/* Static parameters of a network; NULL for an unknown id. */
const tc_netparams *tc_params_by_chain_id(uint32_t chain_id);
/* "mainnet" | "testnet" | "devnet" → parameters; NULL otherwise. */
const tc_netparams *tc_params_by_name(const char *name);

/* Masternode tiers (DESIGN.md §4). */
enum tc_tier { TC_TIER_FREE = 0, TC_TIER_BRONZE = 1, TC_TIER_SILVER = 2, TC_TIER_GOLD = 3 };
/* Collateral in sat and consensus weight of a tier; TC_EMN_TIER if unknown. */
int tc_tier_info(uint8_t tier, uint64_t *collateral, uint64_t *weight) TC_MUST_CHECK;
/* "free" | "bronze" | "silver" | "gold" (or NULL for an unknown tier). */
const char *tc_tier_name(uint8_t tier);
/* Inverse of tc_tier_name; TC_EMN_TIER if unknown. */
int tc_tier_parse(const char *name, uint8_t *tier) TC_MUST_CHECK;

/* The fee a transfer of `sent` sat must pay at least: 1% below 100 TIME, 0.5%
 * below 1k, 0.25% below 10k, else 0.1% (rounded up to whole sat); never below
 * TC_MIN_FEE. */
uint64_t tc_required_fee(uint64_t sent);

/* Consensus rules that genesis fixes for a chain (DESIGN.md §4, §5). */
typedef struct {
    uint32_t propose_timeout_ms, propose_delta_ms;
    uint32_t prevote_timeout_ms, prevote_delta_ms;
    uint32_t precommit_timeout_ms, precommit_delta_ms;
    uint32_t block_interval_ms;
    uint32_t activation_delay;   /* blocks between registration and voting */
    uint32_t jail_after_missed;  /* consecutive absent certificates before jailing */
    /* Not genesis keys: the network's (tc_netparams), copied here by
     * tc_genesis_parse so the rules that apply a block see them. */
    uint32_t unbonding_blocks;
    uint8_t slash_percent;
} tc_consensus_params;

#endif
