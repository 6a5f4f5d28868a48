/* Consensus messages that end up on chain: votes (prevote / precommit) and
 * proposals. Sign bytes are BLAKE3 of chain id and every field but the
 * signature, each kind in its own domain.
 *
 * Vote encoding (141 bytes): u8 type | u64 height | u32 round | block32
 *   | validator32 | sig64.   A zero block hash is a vote for nil.
 * Proposal encoding (144 bytes): u64 height | u32 round | i32 pol_round
 *   | block32 | proposer32 | sig64.   pol_round = -1 means none. */
#ifndef TC_CHAIN_VOTE_H
#define TC_CHAIN_VOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "util/buf.h"
#include "util/err.h"

enum tc_vote_type { TC_VOTE_PREVOTE = 1, TC_VOTE_PRECOMMIT = 2 };

#define TC_VOTE_SIZE 141
#define TC_PROPOSAL_SIZE 144

typedef struct {
    uint8_t type;
    uint64_t height;
    uint32_t round;
    tc_hash block; /* all zero: nil */
    tc_pubkey validator;
    tc_sig sig;
} tc_vote;

typedef struct {
    uint64_t height;
    uint32_t round;
    int32_t pol_round; /* -1: no proof-of-lock round */
    tc_hash block;
    tc_pubkey proposer;
    tc_sig sig;
} tc_proposal;

/* The 32 bytes a vote's signature covers: BLAKE3 in the vote domain of
 * chain_id and every field but sig (so a vote of one chain is void on another). */
void tc_vote_sign_bytes(const tc_vote *v, uint32_t chain_id, tc_hash *msg);
/* Sets v->validator to kp's public key and v->sig to its signature over
 * tc_vote_sign_bytes; every other field must be final. */
void tc_vote_sign(tc_vote *v, uint32_t chain_id, const tc_keypair *kp);
/* Checks v->sig by v->validator over tc_vote_sign_bytes: 0 or TC_ESIG. */
int tc_vote_verify(const tc_vote *v, uint32_t chain_id) TC_MUST_CHECK;
/* Appends the TC_VOTE_SIZE-byte encoding (layout above) to b. */
void tc_vote_encode(const tc_vote *v, tc_buf *b);
/* Reads one vote; TC_EBADVAL for an unknown type. */
int tc_vote_read(tc_reader *r, tc_vote *v) TC_MUST_CHECK;
/* As tc_vote_read over exactly (p, len): trailing bytes are TC_ETRAILING. */
int tc_vote_decode(tc_vote *v, const uint8_t *p, size_t len) TC_MUST_CHECK;
/* Two votes are double-sign evidence: same validator, type, height and round,
 * different blocks (nil counts as a block). Signatures are not checked here. */
bool tc_vote_conflict(const tc_vote *a, const tc_vote *b);

/* The 32 bytes a proposal's signature covers: BLAKE3 in the proposal domain
 * of chain_id and every field but sig. */
void tc_proposal_sign_bytes(const tc_proposal *p, uint32_t chain_id, tc_hash *msg);
/* Sets p->proposer to kp's public key and p->sig to its signature over
 * tc_proposal_sign_bytes; every other field must be final. */
void tc_proposal_sign(tc_proposal *p, uint32_t chain_id, const tc_keypair *kp);
/* Checks p->sig by p->proposer over tc_proposal_sign_bytes: 0 or TC_ESIG. */
int tc_proposal_verify(const tc_proposal *p, uint32_t chain_id) TC_MUST_CHECK;
/* Appends the TC_PROPOSAL_SIZE-byte encoding (layout above) to b. */
void tc_proposal_encode(const tc_proposal *p, tc_buf *b);
/* Decodes exactly one proposal from (in, len): TC_ETRUNC / TC_ETRAILING for a
 * wrong length, TC_EBADVAL unless pol_round is -1 or below round. *p is
 * zeroed first and holds no allocation. */
int tc_proposal_decode(tc_proposal *p, const uint8_t *in, size_t len) TC_MUST_CHECK;

#endif
