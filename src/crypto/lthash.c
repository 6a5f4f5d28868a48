#include "crypto/lthash.h"

#include <string.h>

_Static_assert(TC_LTHASH_BYTES == sizeof(((tc_lthash *)0)->lane), "serialized: every lane as 2 bytes");

static void expand(uint16_t v[TC_LTHASH_LANES], const void *elem, size_t n)
{
    uint8_t x[TC_LTHASH_BYTES];
    tc_hasher h;
    tc_hasher_init(&h, TC_H_UTXO_ELEM);
    tc_hasher_update(&h, elem, n);
    tc_hasher_final_xof(&h, x, sizeof x);
    for (size_t i = 0; i < TC_LTHASH_LANES; i++)
        v[i] = (uint16_t)(x[2 * i] | x[2 * i + 1] << 8);
}

void tc_lthash_init(tc_lthash *s)
{
    memset(s, 0, sizeof *s);
}

void tc_lthash_add(tc_lthash *s, const void *elem, size_t n)
{
    uint16_t v[TC_LTHASH_LANES];
    expand(v, elem, n);
    for (size_t i = 0; i < TC_LTHASH_LANES; i++)
        s->lane[i] = (uint16_t)(s->lane[i] + v[i]);
}

void tc_lthash_sub(tc_lthash *s, const void *elem, size_t n)
{
    uint16_t v[TC_LTHASH_LANES];
    expand(v, elem, n);
    for (size_t i = 0; i < TC_LTHASH_LANES; i++)
        s->lane[i] = (uint16_t)(s->lane[i] - v[i]);
}

void tc_lthash_serialize(const tc_lthash *s, uint8_t out[TC_LTHASH_BYTES])
{
    for (size_t i = 0; i < TC_LTHASH_LANES; i++) {
        out[2 * i] = (uint8_t)s->lane[i];
        out[2 * i + 1] = (uint8_t)(s->lane[i] >> 8);
    }
}

void tc_lthash_deserialize(tc_lthash *s, const uint8_t in[TC_LTHASH_BYTES])
{
    for (size_t i = 0; i < TC_LTHASH_LANES; i++)
        s->lane[i] = (uint16_t)(in[2 * i] | in[2 * i + 1] << 8);
}

void tc_lthash_digest(const tc_lthash *s, tc_hash *out)
{
    uint8_t bytes[TC_LTHASH_BYTES];
    tc_lthash_serialize(s, bytes);
    tc_hash_once(TC_H_UTXO_SET, bytes, sizeof bytes, out);
}
