/* Addresses: bech32m of a 1-byte version and the 32-byte BLAKE3
 * (domain TC_H_ADDRESS) of an Ed25519 public key. The human-readable part
 * names the network: "time", "ttime", "dtime". */
#ifndef TC_CRYPTO_ADDRESS_H
#define TC_CRYPTO_ADDRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "util/err.h"

#define TC_ADDR_VERSION 0
#define TC_ADDR_STRLEN 91 /* buffer size that holds any encoded address */

typedef struct {
    uint8_t version;
    tc_hash hash;
} tc_address;

/* The address of a public key: TC_ADDR_VERSION and BLAKE3 (TC_H_ADDRESS) of pk. */
void tc_address_from_pubkey(tc_address *a, const tc_pubkey *pk);
/* true if a and b have the same version and hash. */
bool tc_address_eq(const tc_address *a, const tc_address *b);
/* Writes the bech32m string into out (TC_ADDR_STRLEN bytes). 0, or
 * TC_EBECH32_HRP / TC_EBECH32_LEN (hrp bad or over 30 chars), TC_EADDR_VERSION
 * (a version decode would refuse). */
int tc_address_encode(char *out, const tc_address *a, const char *hrp) TC_MUST_CHECK;
/* Parses s, which must carry exactly hrp; 0 or a TC_EBECH32_* / TC_EADDR_VERSION code. */
int tc_address_decode(tc_address *a, const char *hrp, const char *s) TC_MUST_CHECK;

#endif
