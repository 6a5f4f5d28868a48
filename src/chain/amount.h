/* Amounts as operators write them: decimal TIME with up to 8 places, parsed
 * exactly (never through floating point). */
#ifndef TC_CHAIN_AMOUNT_H
#define TC_CHAIN_AMOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define TC_AMOUNT_STRLEN 32

/* "12", "12.5", "0.00000001" → sat. Rejects signs, exponents, spaces, more
 * than 8 decimals, empty parts ("." or "1."), values above TC_MAX_MONEY.
 * Returns 0 or TC_EINVAL (format) / TC_ETX_OVERFLOW (too large). */
int tc_amount_parse(const char *s, uint64_t *sat) TC_MUST_CHECK;
/* sat → "12.50000000" (always 8 decimals) into out (TC_AMOUNT_STRLEN). */
char *tc_amount_format(char *out, uint64_t sat);

#endif
