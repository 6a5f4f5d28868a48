#ifndef TC_UTIL_HEX_H
#define TC_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Writes 2*n lowercase hex digits and a NUL into out (size ≥ 2*n+1). Returns out. */
char *tc_hex_encode(char *out, const uint8_t *p, size_t n);
/* Decodes exactly 2*n hex digits (either case) from s into out. Returns 0, or
 * TC_EHEX (wrong length or digit) with out zeroed. */
int tc_hex_decode(uint8_t *out, size_t n, const char *s) TC_MUST_CHECK;

#endif
