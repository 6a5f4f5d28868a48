/* A registered masternode as the ledger stores it (keyed by its collateral
 * outpoint), and the rules that make a validator set out of them
 * (tc_mn_is_validator, tc_valset_derive). What a block does to the table
 * (registration, jailing, ...) is in chain/mnstate.h.
 *
 * Record: u8 tier | owner32 | operator32 | reward (u8 ver, hash32) | var netaddr
 *   | u64 registered_height | u64 active_height | u8 jailed | u32 missed
 *   | u64 unbond_height | u8 slashed. */
#ifndef TC_CHAIN_MASTERNODE_H
#define TC_CHAIN_MASTERNODE_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/params.h"
#include "chain/tx.h"
#include "chain/valset.h"
#include "util/buf.h"

typedef struct {
    tc_outpoint collateral;
    uint8_t tier;
    tc_pubkey owner;
    tc_pubkey operator_key;
    tc_address reward;
    char netaddr[TC_MAX_NETADDR + 1];
    uint64_t registered_height;
    uint64_t active_height; /* first height it may vote at */
    uint8_t jailed;
    uint32_t missed; /* consecutive certificates it was absent from */
    /* 0 while bonded; after a deregistration, the first height whose block
     * may spend the collateral (it no longer votes from the next block). */
    uint64_t unbond_height;
    uint8_t slashed; /* evidence burned its share; it can never be unjailed */
} tc_mn;

/* Calls fn(arg, m) for every masternode of a table, in an order of the
 * caller's choosing, until fn returns non-zero (then returned); 0 at the end,
 * or the table's own error. m is valid during the call only. */
typedef int (*tc_mn_fn)(void *arg, const tc_mn *m);
typedef int (*tc_mn_each_fn)(void *ctx, tc_mn_fn fn, void *arg);

/* Appends the encoding of everything but the collateral (that is the key) to b. */
void tc_mn_encode(const tc_mn *m, tc_buf *b);
/* Decodes a record; the caller sets m->collateral from the key. TC_ECORRUPT on bad bytes. */
int tc_mn_decode(tc_mn *m, const uint8_t *p, size_t len) TC_MUST_CHECK;
/* Votes at `height`: active, not jailed, not unbonding, a voting tier. */
bool tc_mn_is_validator(const tc_mn *m, uint64_t height);

/* The validator set of `height` derived from a masternode table (each over
 * ctx): every masternode that votes at height, with its tier's weight and its
 * reward address. *out is initialized here and released on failure;
 * TC_ECORRUPT if two validators share an operator key or there are too many,
 * else each's error. An empty set is the caller's to refuse. */
int tc_valset_derive(tc_valset *out, uint64_t height, tc_mn_each_fn each, void *ctx) TC_MUST_CHECK;
/* How many masternodes of the table vote at `height`, in *n. 0 or each's error. */
int tc_mn_count_validators(size_t *n, uint64_t height, tc_mn_each_fn each, void *ctx) TC_MUST_CHECK;

#endif
