/* libFuzzer: arbitrary bytes as a string through the bech32m and address
 * decoders; whatever decodes must re-encode to the same (lowercased) string. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/address.h"
#include "crypto/bech32.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static void lower(char *out, const char *s, size_t cap)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = tc_xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    char hrp[TC_BECH32_MAX + 1], out[TC_BECH32_MAX + 1], want[TC_BECH32_MAX + 1];
    uint8_t data5[TC_BECH32_MAX];
    size_t n;

    if (tc_bech32m_decode(hrp, data5, &n, s) == 0) {
        check(strlen(s) <= TC_BECH32_MAX && n <= TC_BECH32_MAX);
        for (size_t i = 0; i < n; i++)
            check(data5[i] < 32);
        check(tc_bech32m_encode(out, hrp, data5, n) == 0);
        lower(want, s, sizeof want);
        check(strcmp(out, want) == 0);

        /* The decoded hrp is the only one the address decoder can accept. */
        tc_address a, b;
        int rc = tc_address_decode(&a, hrp, s);
        if (rc == 0) {
            char addr[TC_ADDR_STRLEN];
            check(a.version == TC_ADDR_VERSION);
            check(tc_address_encode(addr, &a, hrp) == 0);
            check(strcmp(addr, want) == 0);
            check(tc_address_decode(&b, hrp, addr) == 0 && tc_address_eq(&a, &b));
        }
        if (strcmp(hrp, "time") != 0)
            check(tc_address_decode(&b, "time", s) == TC_EBECH32_HRP);
    } else {
        tc_address a;
        static const char *const hrps[] = {"time", "ttime", "dtime"};
        for (size_t i = 0; i < sizeof hrps / sizeof hrps[0]; i++)
            check(tc_address_decode(&a, hrps[i], s) != 0);
    }
    free(s);
    return 0;
}
