/* The block reward rule (DESIGN.md §3): the first transaction of block h pays
 * TC_BLOCK_REWARD plus the block's fees to the validators that signed block
 * h-1's commit certificate, in proportion to their weight. At height 1 there
 * is no certificate yet and all validators of height 1 share it. */
#ifndef TC_CHAIN_REWARD_H
#define TC_CHAIN_REWARD_H

#include <stdint.h>

#include "chain/cert.h"
#include "chain/tx.h"
#include "chain/valset.h"

/* Builds the coinbase of block `height` into *out (initialized storage):
 * share_i = floor(total * w_i / W_signers), in key order; the rounding
 * remainder and any share below the dust limit go to the first signer.
 * signers_vs is the validator set the certificate was made under (height-1;
 * at height 1, the set of height 1). TC_ECERT_SIGNER if a signer is not in it. */
int tc_reward_coinbase(const tc_valset *signers_vs, const tc_cert *last_commit, uint64_t fees, uint64_t height,
                       tc_tx *out) TC_MUST_CHECK;

#endif
