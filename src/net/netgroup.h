/* Source groups of IP addresses: the unit per-source limits count in. An
 * attacker gets many addresses of one network cheaply (a /24 of IPv4 from a
 * hoster, a /64 of IPv6 from any ISP), rarely many networks, so inbound
 * limits and address buckets work on the prefix, not on the address. */
#ifndef TC_NET_NETGROUP_H
#define TC_NET_NETGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Prefixes of the inbound limits (DESIGN.md §7, docs/protocol.md §8). */
#define TC_NETGROUP_V4_BITS 24u
#define TC_NETGROUP_V6_BITS 64u

/* A family byte (4 or 6), the prefix length and the address masked to it;
 * comparable with memcmp, usable as a tc_hmap key. */
typedef struct {
    uint8_t b[18];
} tc_netgroup;

/* The group of a numeric IP ("10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3" is
 * the IPv4 10.1.2.3) under the given prefix lengths (v4_bits ≤ 32, v6_bits
 * ≤ 128). 0, or TC_ENET_ADDR (not a numeric IP; *g zeroed). */
int tc_netgroup_of(tc_netgroup *g, const char *ip, unsigned v4_bits, unsigned v6_bits) TC_MUST_CHECK;
/* The same for an AF_INET / AF_INET6 struct sockaddr. */
int tc_netgroup_of_sockaddr(tc_netgroup *g, const void *sa, unsigned v4_bits, unsigned v6_bits)
    TC_MUST_CHECK;
bool tc_netgroup_eq(const tc_netgroup *a, const tc_netgroup *b);
/* "10.1.2.0/24", "2001:db8::/64" into out (≥ 64 bytes); returns out. */
char *tc_netgroup_text(const tc_netgroup *g, char *out, size_t len);

#endif
