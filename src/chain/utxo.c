#include "chain/utxo.h"

#include <stdio.h>
#include <string.h>

#include "util/hex.h"

_Static_assert(TC_UTXO_KEY_SIZE == sizeof(tc_hash) + 4, "key: txid, vout");
_Static_assert(TC_UTXO_REC_SIZE == 8 + 1 + sizeof(tc_hash) + 8 + 1, "record: value, addr version, addr hash, height, flags");

void tc_utxo_key(const tc_outpoint *o, uint8_t key[TC_UTXO_KEY_SIZE])
{
    memcpy(key, o->txid.b, 32);
    key[32] = (uint8_t)(o->vout >> 24);
    key[33] = (uint8_t)(o->vout >> 16);
    key[34] = (uint8_t)(o->vout >> 8);
    key[35] = (uint8_t)o->vout;
}

void tc_utxo_key_parse(const uint8_t key[TC_UTXO_KEY_SIZE], tc_outpoint *o)
{
    memcpy(o->txid.b, key, 32);
    o->vout = (uint32_t)key[32] << 24 | (uint32_t)key[33] << 16 | (uint32_t)key[34] << 8 | key[35];
}

void tc_utxo_encode(const tc_utxo *u, uint8_t rec[TC_UTXO_REC_SIZE])
{
    tc_le64(rec, u->value);
    rec[8] = u->addr.version;
    memcpy(rec + 9, u->addr.hash.b, 32);
    tc_le64(rec + 41, u->height);
    rec[49] = u->flags;
}

int tc_utxo_decode(tc_utxo *u, const uint8_t *rec, size_t len)
{
    if (len != TC_UTXO_REC_SIZE) {
        memset(u, 0, sizeof *u);
        return TC_ECORRUPT;
    }
    u->value = tc_get_le64(rec);
    u->addr.version = rec[8];
    memcpy(u->addr.hash.b, rec + 9, 32);
    u->height = tc_get_le64(rec + 41);
    u->flags = rec[49];
    return 0;
}

void tc_utxo_commit(tc_lthash *set, const uint8_t key[TC_UTXO_KEY_SIZE],
                    const uint8_t rec[TC_UTXO_REC_SIZE], int sign)
{
    uint8_t elem[TC_UTXO_KEY_SIZE + TC_UTXO_REC_SIZE];
    memcpy(elem, key, TC_UTXO_KEY_SIZE);
    memcpy(elem + TC_UTXO_KEY_SIZE, rec, TC_UTXO_REC_SIZE);
    if (sign > 0)
        tc_lthash_add(set, elem, sizeof elem);
    else
        tc_lthash_sub(set, elem, sizeof elem);
}

char *tc_outpoint_str(char *out, const tc_outpoint *o)
{
    char hex[65];
    snprintf(out, 76, "%s:%u", tc_hex_encode(hex, o->txid.b, 32), o->vout);
    return out;
}

int tc_outpoint_parse(tc_outpoint *o, const char *s)
{
    memset(o, 0, sizeof *o);
    size_t len = strnlen(s, 64 + 1 + 11);
    if (len < 66 || len > 64 + 1 + 10 || s[64] != ':')
        return TC_EINVAL;
    char hex[65];
    memcpy(hex, s, 64);
    hex[64] = '\0';
    uint64_t vout = 0;
    for (size_t i = 65; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TC_EINVAL;
        vout = vout * 10 + (uint64_t)(s[i] - '0');
    }
    if (vout > UINT32_MAX || tc_hex_decode(o->txid.b, 32, hex) != 0) {
        memset(o, 0, sizeof *o);
        return TC_EINVAL;
    }
    o->vout = (uint32_t)vout;
    return 0;
}
