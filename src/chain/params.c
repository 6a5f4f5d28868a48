#include "chain/params.h"

#include <stddef.h>
#include <string.h>

static const tc_netparams networks[] = {
    {TC_NET_MAINNET, "mainnet", 1, 24000, 24001, 24002, {0xC0, 0x1D, 0x7E, 0x4D}, "time", 30000, 604800, 5},
    {TC_NET_TESTNET, "testnet", 2, 24100, 24101, 24102, {0x7E, 0x57, 0x7E, 0x4D}, "ttime", 30000, 86400, 5},
    {TC_NET_DEVNET, "devnet", 3, 24200, 24201, 24202, {0xDE, 0x7E, 0x7E, 0x4D}, "dtime", 10000, 20, 5},
};

const tc_netparams *tc_params_by_chain_id(uint32_t chain_id)
{
    for (size_t i = 0; i < sizeof networks / sizeof networks[0]; i++)
        if (networks[i].chain_id == chain_id)
            return &networks[i];
    return NULL;
}

const tc_netparams *tc_params_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof networks / sizeof networks[0]; i++)
        if (strcmp(networks[i].name, name) == 0)
            return &networks[i];
    return NULL;
}

static const struct {
    const char *name;
    uint64_t collateral;
    uint64_t weight;
} tiers[] = {
    [TC_TIER_FREE] = {"free", 0, 0},
    [TC_TIER_BRONZE] = {"bronze", 1000 * TC_COIN, 1},
    [TC_TIER_SILVER] = {"silver", 10000 * TC_COIN, 10},
    [TC_TIER_GOLD] = {"gold", 100000 * TC_COIN, 100},
};

int tc_tier_info(uint8_t tier, uint64_t *collateral, uint64_t *weight)
{
    if (tier > TC_TIER_GOLD)
        return TC_EMN_TIER;
    if (collateral)
        *collateral = tiers[tier].collateral;
    if (weight)
        *weight = tiers[tier].weight;
    return 0;
}

const char *tc_tier_name(uint8_t tier)
{
    return tier > TC_TIER_GOLD ? NULL : tiers[tier].name;
}

int tc_tier_parse(const char *name, uint8_t *tier)
{
    for (uint8_t t = 0; t <= TC_TIER_GOLD; t++) {
        if (strcmp(name, tiers[t].name) == 0) {
            *tier = t;
            return 0;
        }
    }
    return TC_EMN_TIER;
}

uint64_t tc_required_fee(uint64_t sent)
{
    /* Rounded up, so the fee is never below the percentage. */
    uint64_t div = sent < 100 * TC_COIN ? 100 : sent < 1000 * TC_COIN ? 200 : sent < 10000 * TC_COIN ? 400 : 1000;
    uint64_t fee = sent / div + (sent % div != 0);
    return fee < TC_MIN_FEE ? TC_MIN_FEE : fee;
}
