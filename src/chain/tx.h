/* Transactions: types, canonical encoding, txid and sighash.
 *
 * Encoding (little-endian, cs = compact size):
 *   u32 version | u8 kind | cs n_in, n_in × (txid32, u32 vout, pubkey32)
 *   | cs n_out, n_out × (u64 value, u8 addr version, addr hash32) | u32 lock_time
 *   | kind payload | n_in × sig64 | kind's extra sigs × sig64
 * The txid is BLAKE3 (TC_H_TXID) of everything before the signatures; every
 * signature (inputs and extra) signs the sighash BLAKE3 (TC_H_SIGHASH) of
 * chain id (u32) || txid. */
#ifndef TC_CHAIN_TX_H
#define TC_CHAIN_TX_H

#include <stddef.h>
#include <stdint.h>

#include "chain/params.h"
#include "chain/vote.h"
#include "crypto/address.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "util/buf.h"
#include "util/err.h"

enum tc_tx_kind {
    TC_TX_TRANSFER = 0,
    TC_TX_COINBASE = 1,      /* first tx of a block: reward + fees; no inputs */
    TC_TX_MN_REGISTER = 2,   /* extra sigs: collateral owner, operator */
    TC_TX_MN_UPDATE = 3,     /* extra sig: collateral owner */
    TC_TX_MN_DEREGISTER = 4, /* extra sig: collateral owner */
    TC_TX_EVIDENCE = 5,      /* two conflicting signed votes; no extra sig */
    TC_TX_MN_UNJAIL = 6,     /* extra sig: operator */
    TC_TX_KIND_COUNT
};

typedef struct {
    tc_hash txid;
    uint32_t vout;
} tc_outpoint;

typedef struct {
    tc_outpoint prev;
    tc_pubkey pubkey; /* must hash to the spent output's address */
    tc_sig sig;
} tc_txin;

typedef struct {
    uint64_t value;
    tc_address addr;
} tc_txout;

typedef struct {
    uint8_t tier;
    tc_outpoint collateral;
    tc_pubkey owner;    /* key of the collateral output */
    tc_pubkey operator_key;
    tc_address reward;
    char netaddr[TC_MAX_NETADDR + 1];
} tc_mn_register;

typedef struct {
    tc_outpoint collateral;
    tc_pubkey owner;
    tc_address reward;
    char netaddr[TC_MAX_NETADDR + 1];
} tc_mn_update;

typedef struct {
    tc_outpoint collateral;
    tc_pubkey owner; /* deregister: owner signs; unjail: this is the operator key */
} tc_mn_ref;

typedef struct {
    tc_vote a, b; /* same validator, height, round, type; different blocks */
} tc_evidence;

#define TC_TX_MAX_XSIGS 2

typedef struct {
    uint32_t version;
    uint8_t kind;
    size_t n_in;
    tc_txin *in;
    size_t n_out;
    tc_txout *out;
    uint32_t lock_time; /* earliest block height that may include it (0: any) */
    union {
        uint64_t coinbase_height;
        tc_mn_register reg;
        tc_mn_update update;
        tc_mn_ref dereg;
        tc_mn_ref unjail;
        tc_evidence evidence;
    } u;
    tc_sig xsig[TC_TX_MAX_XSIGS];
} tc_tx;

/* Caller storage. _init makes an empty transfer; _release frees the arrays. */
void tc_tx_init(tc_tx *tx);
void tc_tx_release(tc_tx *tx);
/* Allocates zeroed in/out arrays of the given sizes (replacing any). */
void tc_tx_alloc(tc_tx *tx, size_t n_in, size_t n_out);
/* Deep copy into dst (initialized or released storage). */
void tc_tx_copy(tc_tx *dst, const tc_tx *src);

/* Number of extra signatures a kind carries (0..TC_TX_MAX_XSIGS). */
size_t tc_tx_xsig_count(uint8_t kind);

/* Appends the full encoding (with signatures) to b. */
void tc_tx_encode(const tc_tx *tx, tc_buf *b);
/* Appends the encoding without signatures (what the txid hashes). */
void tc_tx_encode_unsigned(const tc_tx *tx, tc_buf *b);
/* Encoded size with signatures: exactly the bytes tc_tx_encode appends
 * (computed from the same field sizes, without encoding). */
size_t tc_tx_size(const tc_tx *tx);

/* Decodes one transaction from r (which may hold more after it). On failure
 * the reader carries the error and its offset, and *tx is released. */
int tc_tx_read(tc_reader *r, tc_tx *tx) TC_MUST_CHECK;
/* Decodes exactly one transaction from (p, len): trailing bytes are an error. */
int tc_tx_decode(tc_tx *tx, const uint8_t *p, size_t len) TC_MUST_CHECK;

/* The transaction id: BLAKE3 (TC_H_TXID) of tc_tx_encode_unsigned, so it
 * commits to every field but the signatures. */
void tc_tx_txid(const tc_tx *tx, tc_hash *txid);
/* What every input and extra signature signs: BLAKE3 (TC_H_SIGHASH) of
 * u32 chain_id | txid, so a transaction of one chain is void on another. */
void tc_tx_sighash(const tc_hash *txid, uint32_t chain_id, tc_hash *sighash);

/* Signs input i with kp. Every input's public key is part of the txid, so
 * set all of them before signing any input. Requires i < n_in and input
 * i's key to be kp's; either broken aborts (a caller bug, STYLE.md 6). */
void tc_tx_sign_input(tc_tx *tx, size_t i, uint32_t chain_id, const tc_keypair *kp);
/* Signs extra signature slot k (the txid commits to the whole unsigned
 * encoding, so fill every field first). Requires k < tc_tx_xsig_count of the
 * kind; out of range aborts (a caller bug, STYLE.md 6). */
void tc_tx_sign_extra(tc_tx *tx, size_t k, uint32_t chain_id, const tc_keypair *kp);

/* Reads a compact-size-prefixed network address ("host:port"): printable
 * ASCII without spaces, 1 to TC_MAX_NETADDR bytes; fails the reader with
 * TC_EBADVAL / TC_EOVERSIZE otherwise. out is NUL-terminated ("" on failure). */
void tc_netaddr_read(tc_reader *r, char out[TC_MAX_NETADDR + 1]);

/* "transfer", "coinbase", … or "unknown". */
const char *tc_tx_kind_name(uint8_t kind);

#endif
