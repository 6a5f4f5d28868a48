#include "crypto/address.h"

#include <string.h>

#include "crypto/bech32.h"

_Static_assert(TC_ADDR_STRLEN == TC_BECH32_MAX + 1, "an address string is the longest bech32m string and its NUL");

#define ADDR_BYTES 33 /* version || hash */
#define ADDR_DATA5 53 /* ceil(33 * 8 / 5) */

void tc_address_from_pubkey(tc_address *a, const tc_pubkey *pk)
{
    a->version = TC_ADDR_VERSION;
    tc_hash_once(TC_H_ADDRESS, pk->b, sizeof pk->b, &a->hash);
}

bool tc_address_eq(const tc_address *a, const tc_address *b)
{
    return a->version == b->version && tc_hash_eq(&a->hash, &b->hash);
}

int tc_address_encode(char *out, const tc_address *a, const char *hrp)
{
    uint8_t bytes[ADDR_BYTES], data5[ADDR_DATA5];
    size_t n;
    int rc;

    out[0] = '\0';
    /* Refuse to write what tc_address_decode would refuse to read. */
    if (a->version != TC_ADDR_VERSION)
        return TC_EADDR_VERSION;
    bytes[0] = a->version;
    memcpy(bytes + 1, a->hash.b, sizeof a->hash.b);
    rc = tc_bech32_convert_bits(data5, &n, sizeof data5, 5, bytes, sizeof bytes, 8, 1);
    if (rc != 0)
        return rc;
    return tc_bech32m_encode(out, hrp, data5, n);
}

int tc_address_decode(tc_address *a, const char *hrp, const char *s)
{
    char got[TC_BECH32_MAX + 1];
    uint8_t data5[TC_BECH32_MAX], bytes[ADDR_BYTES];
    size_t n, len;
    int rc;

    memset(a, 0, sizeof *a);
    rc = tc_bech32m_decode(got, data5, &n, s);
    if (rc != 0)
        return rc;
    if (strcmp(got, hrp) != 0)
        return TC_EBECH32_HRP;
    if (n != ADDR_DATA5)
        return TC_EBECH32_LEN;
    rc = tc_bech32_convert_bits(bytes, &len, sizeof bytes, 8, data5, n, 5, 0);
    if (rc != 0)
        return rc;
    if (len != ADDR_BYTES)
        return TC_EBECH32_LEN;
    if (bytes[0] != TC_ADDR_VERSION)
        return TC_EADDR_VERSION;
    a->version = bytes[0];
    memcpy(a->hash.b, bytes + 1, sizeof a->hash.b);
    return 0;
}
