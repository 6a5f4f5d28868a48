/* bech32m (BIP-350) strings: hrp, '1', data in 5-bit groups, 6-char checksum.
 * Strings are at most 90 characters, all one case. */
#ifndef TC_CRYPTO_BECH32_H
#define TC_CRYPTO_BECH32_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define TC_BECH32_MAX 90

/* Encodes hrp (lowercase, 1..83 chars of 33..126) and n 5-bit values into out
 * (size ≥ TC_BECH32_MAX + 1). Returns 0, or TC_EBECH32_LEN (too long),
 * TC_EBECH32_HRP (bad hrp) or TC_EBECH32_CHAR (a value above 31). */
int tc_bech32m_encode(char *out, const char *hrp, const uint8_t *data5, size_t n) TC_MUST_CHECK;

/* Decodes s into hrp (lowercased, size ≥ 84) and 5-bit values (capacity
 * TC_BECH32_MAX); returns 0 or a TC_EBECH32_* code naming what is wrong:
 * _HRP (empty, bad character, no separator), _LEN (over 90, checksum too
 * short), _CHAR (data character), _CASE (mixed case), _SUM (checksum). */
int tc_bech32m_decode(char *hrp, uint8_t *data5, size_t *n, const char *s) TC_MUST_CHECK;

/* Regroups bits (8->5 with pad=1, 5->8 with pad=0). Returns 0, or
 * TC_EBECH32_PAD for non-zero or over-long padding, TC_EBECH32_LEN if out is
 * too small, TC_EBECH32_CHAR for an input wider than frombits, TC_EINVAL for
 * a bit width outside 1..8. */
int tc_bech32_convert_bits(uint8_t *out, size_t *outlen, size_t outcap, int tobits,
                           const uint8_t *in, size_t inlen, int frombits, int pad) TC_MUST_CHECK;

#endif
