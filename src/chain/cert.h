/* Commit certificate: precommits for one block at (height, round) carrying
 * more than 2/3 of the validator set's weight. Signers are sorted by key and
 * unique, so a certificate has one canonical encoding.
 *
 * Encoding: u64 height | u32 round | block32 | cs n | n × (key32, sig64). */
#ifndef TC_CHAIN_CERT_H
#define TC_CHAIN_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "chain/valset.h"
#include "chain/vote.h"
#include "crypto/sigcache.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct {
    tc_pubkey key;
    tc_sig sig;
} tc_cert_sig;

typedef struct {
    uint64_t height;
    uint32_t round;
    tc_hash block;
    size_t n;
    tc_cert_sig *sigs;
} tc_cert;

/* An empty certificate (height 0, no signatures) in caller storage; pair
 * with tc_cert_release. */
void tc_cert_init(tc_cert *c);
/* Frees the signatures c owns and re-initializes it. */
void tc_cert_release(tc_cert *c);
/* Deep copy into dst (initialized or released storage; dst owns its copy). */
void tc_cert_copy(tc_cert *dst, const tc_cert *src);
/* Adds a precommit's signature (keeps key order). TC_EINVAL if the vote is not
 * a precommit for the certificate's height, round and block; TC_EEXIST for a
 * second signature from the same key. The signature is not verified here. */
int tc_cert_add(tc_cert *c, const tc_vote *precommit) TC_MUST_CHECK;
/* Rebuilds the precommit vote of signer i (for verification or evidence). */
void tc_cert_vote(const tc_cert *c, size_t i, tc_vote *out);

/* Appends the canonical encoding (layout above) to b. */
void tc_cert_encode(const tc_cert *c, tc_buf *b);
/* Reads one certificate from r (which may hold more after it): at most
 * TC_MAX_VALIDATORS signatures, keys strictly ascending (TC_ECERT_ORDER).
 * Returns r's error; on failure *c is released, else the caller owns it. */
int tc_cert_read(tc_reader *r, tc_cert *c) TC_MUST_CHECK;
/* As tc_cert_read over exactly (p, len): trailing bytes are TC_ETRAILING. */
int tc_cert_decode(tc_cert *c, const uint8_t *p, size_t len) TC_MUST_CHECK;
/* BLAKE3 (TC_H_CERT) of the encoding. */
void tc_cert_hash(const tc_cert *c, tc_hash *out);

/* tc_cert_verify but for the signatures: target, order, signers in vs,
 * quorum. For a certificate a later verified one proves (store/ledger.h's
 * batches); on its own it proves nothing. */
int tc_cert_check(const tc_cert *c, const tc_valset *vs, uint64_t height, const tc_hash *block,
                  tc_errmsg *e) TC_MUST_CHECK;
/* Checks c certifies `block` at `height` under vs: sorted unique signers, every
 * signer in vs, signed weight ≥ quorum, every signature valid (through cache,
 * which may be NULL). Returns 0 or TC_ECERT_* / TC_ESIG with detail in e. */
int tc_cert_verify(const tc_cert *c, const tc_valset *vs, uint32_t chain_id, uint64_t height,
                   const tc_hash *block, tc_sigcache *cache, tc_errmsg *e) TC_MUST_CHECK;

#endif
