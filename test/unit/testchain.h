/* Test fixture: a devnet chain in a temporary directory with deterministic
 * validator, owner and user keys; blocks are built, certified by every
 * validator and applied through the real ledger. Shared by the unit tests and
 * the ledger benchmark. Aborts on fixture failures (they are not the code
 * under test). */
#ifndef TC_TEST_TESTCHAIN_H
#define TC_TEST_TESTCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/genesis.h"
#include "store/ledger.h"

#define TESTCHAIN_MAX_VAL 16
#define TESTCHAIN_USERS 4
#define TESTCHAIN_USER_FUNDS (1000000ull * TC_COIN)

typedef struct {
    tc_genesis g;
    size_t n_val;
    tc_keypair val[TESTCHAIN_MAX_VAL];   /* operator keys (bronze tier) */
    tc_keypair owner[TESTCHAIN_MAX_VAL]; /* collateral owners */
    tc_keypair user[TESTCHAIN_USERS];    /* funded by genesis, output i */
    tc_address user_addr[TESTCHAIN_USERS];
    char dir[256];
    tc_sigcache *cache;
    tc_pool *pool;
    tc_ledger *L;
} testchain;

/* A chain of n_val validators, funds for the users, the given consensus
 * rules, opened in a fresh temp dir (pool: parallel signature checks). */
void testchain_init(testchain *c, size_t n_val, uint32_t activation_delay, uint32_t jail_after, int with_pool);
/* Only the keys and the genesis of testchain_init: no directory, no ledger
 * (c->L NULL), for tests of the rules over memory (memstate.h). */
void testchain_init_genesis(testchain *c, size_t n_val, uint32_t activation_delay, uint32_t jail_after);
/* Closes and deletes the directory. */
void testchain_release(testchain *c);
void testchain_close(testchain *c);      /* close the ledger, keep the dir */
void testchain_reopen(testchain *c);     /* open it again */

/* Genesis outpoint of user i's allocation. */
tc_outpoint testchain_user_outpoint(const testchain *c, size_t i);
/* The certificate of the tip (empty at genesis). */
void testchain_tip_cert(testchain *c, tc_cert *out);
/* Every validator of the block's height signs a precommit for it. signers
 * (may be NULL) restricts to those whose bit is set. */
void testchain_certify(testchain *c, const tc_block *blk, uint64_t signers_mask, tc_cert *out);
/* Builds the next block from txs (proposer: first validator of the set),
 * certifies it with every validator and applies it. Returns the apply result. */
int testchain_next(testchain *c, const tc_tx *txs, size_t n, tc_block *out, tc_errmsg *e);
/* Builds (does not apply) the next block. */
void testchain_build(testchain *c, const tc_tx *txs, size_t n, tc_block *out);

/* A signed transfer spending `in` (value in_value, owned by from) paying
 * amount to `to` and the change back to from, with exactly the required fee. */
void testchain_transfer(const testchain *c, const tc_outpoint *in, uint64_t in_value, const tc_keypair *from,
                        const tc_address *to, uint64_t amount, tc_tx *out);

/* Deterministic keypair from a tag and an index. */
void testchain_key(tc_keypair *kp, uint8_t tag, uint32_t i);

#endif
