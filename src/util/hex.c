#include "util/hex.h"

#include <string.h>

char *tc_hex_encode(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tc_hex_decode(uint8_t *out, size_t n, const char *s)
{
    if (strlen(s) != 2 * n)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            goto bad;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
bad:
    memset(out, 0, n);
    return TC_EHEX;
}
