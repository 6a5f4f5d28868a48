/* Misbehaviour score of one peer. Points are added per offence and decay by
 * one point every TC_BANSCORE_DECAY_MS, so an honest peer that now and then
 * trips a limit never adds up to a ban, while sustained abuse does. Pure:
 * the caller passes the monotonic time. */
#ifndef TC_NET_BANSCORE_H
#define TC_NET_BANSCORE_H

#include <stdint.h>

#define TC_BANSCORE_DECAY_MS 10000u
#define TC_BANSCORE_BAN 100u /* score at which a peer is banned */

typedef struct {
    uint32_t score;
    uint64_t last_ms;
} tc_banscore;

void tc_banscore_init(tc_banscore *s, uint64_t now_ms);
/* Decays, adds points (saturating) and returns the new score. */
uint32_t tc_banscore_add(tc_banscore *s, uint32_t points, uint64_t now_ms);
/* Current score after decay. */
uint32_t tc_banscore_get(tc_banscore *s, uint64_t now_ms);

#endif
