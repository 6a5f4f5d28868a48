/* The wallet: Ed25519 keys in one JSON file (docs/wallet.md), and transfers
 * built and signed locally from coins the caller fetched from a node.
 *
 * The file is mode 0600 and always replaced atomically. Its key material is
 * encrypted with XChaCha20-Poly1305 under a key derived from a passphrase by
 * Argon2id; an unencrypted file is allowed on devnet only. Seeds live in
 * sodium_malloc'd memory and are wiped by tc_wallet_free.
 *
 * A handle is not thread-safe; one process at a time should change a file. */
#ifndef TC_WALLET_WALLET_H
#define TC_WALLET_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/params.h"
#include "chain/tx.h"
#include "crypto/address.h"
#include "crypto/ed25519.h"
#include "util/err.h"

#define TC_WALLET_MAX_KEYS 10000
#define TC_WALLET_MAX_INPUTS 5000 /* a transfer with more would exceed TC_MAX_TX_SIZE */

typedef struct tc_wallet tc_wallet;

/* Argon2id cost. Production uses tc_wallet_kdf_default (libsodium's MODERATE
 * limits: 3 passes, 256 MiB); tests may pass the MIN limits. */
typedef struct {
    unsigned long long opslimit;
    size_t memlimit;
} tc_wallet_kdf;

extern const tc_wallet_kdf tc_wallet_kdf_default;

/* Creates a wallet file at path for net holding one fresh key, and returns
 * its handle in *out (free with tc_wallet_free). passphrase NULL makes an
 * unencrypted wallet, refused (TC_EINVAL) unless net is devnet; an empty
 * passphrase is refused. kdf NULL means tc_wallet_kdf_default. An existing
 * path is never overwritten (TC_EEXIST). */
int tc_wallet_create(tc_wallet **out, const char *path, const tc_netparams *net, const char *passphrase,
                     const tc_wallet_kdf *kdf, tc_errmsg *e) TC_MUST_CHECK;

/* Opens a wallet file; passphrase may be NULL for an unencrypted one.
 * TC_EPASSPHRASE: the passphrase is wrong or missing; TC_ECORRUPT: the file
 * is not a well-formed wallet (or its encrypted data was altered);
 * TC_EINVAL: an unencrypted wallet for a network other than devnet;
 * TC_ENOTFOUND / TC_EIO: it cannot be read. The file is only read. */
int tc_wallet_open(tc_wallet **out, const char *path, const char *passphrase, tc_errmsg *e) TC_MUST_CHECK;

/* Reads only the header of a wallet file: whether it is encrypted and its
 * network (either out may be NULL). Same errors as tc_wallet_open. */
int tc_wallet_probe(const char *path, bool *encrypted, const tc_netparams **net, tc_errmsg *e) TC_MUST_CHECK;

/* Wipes every secret and frees the handle; NULL is a no-op. */
void tc_wallet_free(tc_wallet *w);

const tc_netparams *tc_wallet_network(const tc_wallet *w);
bool tc_wallet_is_encrypted(const tc_wallet *w);

/* Adds a fresh key and saves the file before returning; *addr (may be NULL)
 * receives its address. On failure the wallet and the file are unchanged.
 * TC_ELIMIT past TC_WALLET_MAX_KEYS. */
int tc_wallet_new_address(tc_wallet *w, tc_address *addr, tc_errmsg *e) TC_MUST_CHECK;

/* Number of keys, and the address of key i (i < count), valid until the
 * next tc_wallet_new_address or tc_wallet_free. */
size_t tc_wallet_count(const tc_wallet *w);
const tc_address *tc_wallet_address(const tc_wallet *w, size_t i);
/* Encodes the address of key i with the wallet's network prefix into out
 * (TC_ADDR_STRLEN bytes). */
void tc_wallet_address_str(const tc_wallet *w, size_t i, char *out);

/* The keypair that owns addr, or TC_ENOTFOUND. The caller wipes *kp with
 * tc_keypair_wipe. */
int tc_wallet_keypair(const tc_wallet *w, const tc_address *addr, tc_keypair *kp) TC_MUST_CHECK;

/* A spendable output of the wallet, as a node reports it. */
typedef struct {
    tc_outpoint outpoint;
    uint64_t value;
    tc_address addr;
    bool locked; /* masternode collateral or otherwise reserved: never spent */
} tc_wallet_coin;

/* Builds and signs a transfer of amount sat to `to` into *tx: caller storage
 * that this initializes (its old content is not freed); the caller releases it
 * with tc_tx_release, on failure too (it is then empty).
 *
 * Coin selection is largest-first: unlocked coins by value, descending, until
 * they cover amount + fee. fee 0 means the required fee of the schedule on the
 * amount sent (tc_required_fee of tc_tx_sent_amount); a non-zero fee is used
 * as given and must be at least that. Change goes back to the address of the
 * first selected input (so it does not count as sent); change below the dust
 * limit is added to the fee instead. *fee_paid (may be NULL) receives the fee.
 *
 * Errors, each explained in e: TC_ETX_DUST (amount below the dust limit),
 * TC_ETX_INSUFFICIENT (says what is available and what is needed),
 * TC_ETX_FEE (explicit fee below the required one), TC_ELIMIT (more than
 * TC_WALLET_MAX_INPUTS inputs needed), TC_EINVAL (a coin the wallet has no
 * key for, a duplicate outpoint, or a value out of range). */
int tc_wallet_build_transfer(const tc_wallet *w, const tc_wallet_coin *coins, size_t n_coins, const tc_address *to,
                             uint64_t amount, uint64_t fee, tc_tx *tx, uint64_t *fee_paid,
                             tc_errmsg *e) TC_MUST_CHECK;

#endif
