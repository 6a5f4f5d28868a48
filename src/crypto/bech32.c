#include "crypto/bech32.h"

#include <stdbool.h>
#include <string.h>

#define BECH32M_CONST 0x2bc830a3u
#define CHECKSUM_LEN 6
#define HRP_MAX 83

static const char charset[33] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* Inverse of charset over lowercase ASCII; -1 for anything else. */
static int charset_index(unsigned char c)
{
    const char *p = c != 0 ? strchr(charset, c) : NULL;
    return p != NULL ? (int)(p - charset) : -1;
}

static uint32_t polymod_step(uint32_t chk, uint8_t v)
{
    static const uint32_t gen[5] = {0x3b6a57b2u, 0x26508e6du, 0x1ea119fau, 0x3d4233ddu,
                                    0x2a1462b3u};
    uint32_t b = chk >> 25;
    chk = (chk & 0x1ffffffu) << 5 ^ v;
    for (int i = 0; i < 5; i++)
        if (b >> i & 1)
            chk ^= gen[i];
    return chk;
}

static uint32_t polymod_hrp(const char *hrp, size_t hrplen)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < hrplen; i++)
        chk = polymod_step(chk, (uint8_t)((unsigned char)hrp[i] >> 5));
    chk = polymod_step(chk, 0);
    for (size_t i = 0; i < hrplen; i++)
        chk = polymod_step(chk, (uint8_t)((unsigned char)hrp[i] & 31));
    return chk;
}

static bool hrp_char_ok(unsigned char c)
{
    return c >= 33 && c <= 126;
}

int tc_bech32m_encode(char *out, const char *hrp, const uint8_t *data5, size_t n)
{
    size_t hrplen = strnlen(hrp, HRP_MAX + 1);
    out[0] = '\0';
    if (hrplen == 0 || hrplen > HRP_MAX)
        return TC_EBECH32_HRP;
    for (size_t i = 0; i < hrplen; i++) {
        unsigned char c = (unsigned char)hrp[i];
        if (!hrp_char_ok(c) || (c >= 'A' && c <= 'Z'))
            return TC_EBECH32_HRP;
    }
    if (n > TC_BECH32_MAX || hrplen + 1 + n + CHECKSUM_LEN > TC_BECH32_MAX)
        return TC_EBECH32_LEN;
    for (size_t i = 0; i < n; i++)
        if (data5[i] > 31)
            return TC_EBECH32_CHAR;

    uint32_t chk = polymod_hrp(hrp, hrplen);
    char *w = out;
    memcpy(w, hrp, hrplen);
    w += hrplen;
    *w++ = '1';
    for (size_t i = 0; i < n; i++) {
        chk = polymod_step(chk, data5[i]);
        *w++ = charset[data5[i]];
    }
    for (int i = 0; i < CHECKSUM_LEN; i++)
        chk = polymod_step(chk, 0);
    chk ^= BECH32M_CONST;
    for (int i = 0; i < CHECKSUM_LEN; i++)
        *w++ = charset[chk >> 5 * (5 - i) & 31];
    *w = '\0';
    return 0;
}

/* Checks in a fixed order so each malformed string gets one stable code:
 * length, case, separator and hrp, data characters, checksum length, checksum. */
static int decode(char *hrp, uint8_t *data5, size_t *n, const char *s)
{
    size_t len = strnlen(s, TC_BECH32_MAX + 1);
    if (len > TC_BECH32_MAX)
        return TC_EBECH32_LEN;

    bool lower = false, upper = false;
    size_t sep = len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        lower |= c >= 'a' && c <= 'z';
        upper |= c >= 'A' && c <= 'Z';
        if (c == '1')
            sep = i;
    }
    if (lower && upper)
        return TC_EBECH32_CASE;
    if (sep == len || sep == 0 || sep > HRP_MAX)
        return TC_EBECH32_HRP;
    for (size_t i = 0; i < sep; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!hrp_char_ok(c))
            return TC_EBECH32_HRP;
        hrp[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    hrp[sep] = '\0';

    size_t dlen = len - sep - 1;
    uint8_t vals[TC_BECH32_MAX];
    for (size_t i = 0; i < dlen; i++) {
        unsigned char c = (unsigned char)s[sep + 1 + i];
        int v = charset_index(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        if (v < 0)
            return TC_EBECH32_CHAR;
        vals[i] = (uint8_t)v;
    }
    if (dlen < CHECKSUM_LEN)
        return TC_EBECH32_LEN;

    uint32_t chk = polymod_hrp(hrp, sep);
    for (size_t i = 0; i < dlen; i++)
        chk = polymod_step(chk, vals[i]);
    if (chk != BECH32M_CONST)
        return TC_EBECH32_SUM;

    *n = dlen - CHECKSUM_LEN;
    memcpy(data5, vals, *n);
    return 0;
}

int tc_bech32m_decode(char *hrp, uint8_t *data5, size_t *n, const char *s)
{
    *n = 0;
    int rc = decode(hrp, data5, n, s);
    if (rc != 0) {
        hrp[0] = '\0';
        *n = 0;
    }
    return rc;
}

int tc_bech32_convert_bits(uint8_t *out, size_t *outlen, size_t outcap, int tobits,
                           const uint8_t *in, size_t inlen, int frombits, int pad)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t w = 0;
    int rc = 0;

    *outlen = 0;
    if (frombits < 1 || frombits > 8 || tobits < 1 || tobits > 8)
        return TC_EINVAL;
    const uint32_t maxv = (1u << tobits) - 1;
    for (size_t i = 0; i < inlen; i++) {
        if (in[i] >> frombits != 0) {
            rc = TC_EBECH32_CHAR;
            goto out;
        }
        acc = (acc << frombits | in[i]) & 0xffffffu;
        bits += frombits;
        while (bits >= tobits) {
            bits -= tobits;
            if (w == outcap) {
                rc = TC_EBECH32_LEN;
                goto out;
            }
            out[w++] = (uint8_t)(acc >> bits & maxv);
        }
    }
    if (pad) {
        if (bits > 0) {
            if (w == outcap) {
                rc = TC_EBECH32_LEN;
                goto out;
            }
            out[w++] = (uint8_t)(acc << (tobits - bits) & maxv);
        }
    } else if (bits >= frombits || (acc << (tobits - bits) & maxv) != 0) {
        rc = TC_EBECH32_PAD;
        goto out;
    }
    *outlen = w;
out:
    if (rc != 0)
        memset(out, 0, w);
    return rc;
}
