/* Unspent outputs as the ledger stores them, and the element each one adds to
 * the UTXO-set commitment (LtHash of key || record).
 *
 * Key (36 bytes): txid32 | u32 vout big-endian.
 * Record (50 bytes): u64 value | u8 addr version | addr hash32 | u64 height | u8 flags. */
#ifndef TC_CHAIN_UTXO_H
#define TC_CHAIN_UTXO_H

#include <stddef.h>
#include <stdint.h>

#include "chain/tx.h"
#include "crypto/lthash.h"

#define TC_UTXO_KEY_SIZE 36
#define TC_UTXO_REC_SIZE 50

enum { TC_UTXO_COINBASE = 1 };

typedef struct {
    uint64_t value;
    tc_address addr;
    uint64_t height; /* block that created it */
    uint8_t flags;
} tc_utxo;

/* The store key of outpoint o (layout above: big-endian vout, so an output's
 * keys sort by txid then vout). */
void tc_utxo_key(const tc_outpoint *o, uint8_t key[TC_UTXO_KEY_SIZE]);
/* The outpoint of a key written by tc_utxo_key (every 36 bytes are one). */
void tc_utxo_key_parse(const uint8_t key[TC_UTXO_KEY_SIZE], tc_outpoint *o);
/* The TC_UTXO_REC_SIZE-byte record of u (layout above). */
void tc_utxo_encode(const tc_utxo *u, uint8_t rec[TC_UTXO_REC_SIZE]);
/* TC_ECORRUPT unless len == TC_UTXO_REC_SIZE. */
int tc_utxo_decode(tc_utxo *u, const uint8_t *rec, size_t len) TC_MUST_CHECK;
/* Adds (sign > 0) or removes (sign < 0) the entry from the commitment. */
void tc_utxo_commit(tc_lthash *set, const uint8_t key[TC_UTXO_KEY_SIZE],
                    const uint8_t rec[TC_UTXO_REC_SIZE], int sign);
/* "<txid hex>:<vout>" into out (at least 76 bytes). */
char *tc_outpoint_str(char *out, const tc_outpoint *o);
/* Parses what tc_outpoint_str writes: 64 hex digits, ':', a decimal vout of
 * at most 10 digits that fits 32 bits. 0, or TC_EINVAL (*o zeroed). */
int tc_outpoint_parse(tc_outpoint *o, const char *s) TC_MUST_CHECK;

#endif
