/* A registered masternode as the ledger stores it (keyed by its collateral
 * outpoint), and the rules that make a validator set out of them.
 *
 * Record: u8 tier | owner32 | operator32 | reward (u8 ver, hash32) | var netaddr
 *   | u64 registered_height | u64 active_height | u8 jailed | u32 missed. */
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
} tc_mn;

/* Encodes everything but the collateral (that is the key). */
void tc_mn_encode(const tc_mn *m, tc_buf *b);
/* Decodes a record; the caller sets m->collateral from the key. TC_ECORRUPT on bad bytes. */
int tc_mn_decode(tc_mn *m, const uint8_t *p, size_t len) TC_MUST_CHECK;
/* Votes at `height`: active, not jailed, a voting tier. */
bool tc_mn_is_validator(const tc_mn *m, uint64_t height);

#endif
