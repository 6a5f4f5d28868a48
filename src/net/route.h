/* Dial overrides: "reach the peer known as ADDR by dialling DIAL". A peer's
 * known address (on chain, gossiped, configured) stays its identity in the
 * address book, the validator mesh and the logs; only the TCP connect goes
 * elsewhere. For NAT, a proxy on every link (the fault tests route each
 * link of a devnet through one) and hosts reached over another network. */
#ifndef TC_NET_ROUTE_H
#define TC_NET_ROUTE_H

#include <stddef.h>
#include <sys/socket.h>

#include "net/msg.h"
#include "util/err.h"

#define TC_ROUTE_MAX 64

typedef struct {
    char from[TC_MAX_NETADDR + 1]; /* canonical text (tc_sockaddr_text) */
    char to[TC_MAX_NETADDR + 1];
    struct sockaddr_storage dial;
    int dial_len;
} tc_route;

typedef struct {
    tc_route r[TC_ROUTE_MAX];
    size_t n;
} tc_routes;

/* Parses entries "ADDR=DIAL" (both numeric ip:port with a port; a spelling
 * such as "::ffff:10.0.0.1" is stored canonically). 0, or TC_EINVAL
 * (more than TC_ROUTE_MAX, or ADDR given twice) or TC_ENET_ADDR, naming
 * the entry in e; *t is then empty. */
int tc_routes_parse(tc_routes *t, const char *const *entries, size_t n, tc_errmsg *e) TC_MUST_CHECK;

/* The route of a canonical address (as tc_sockaddr_text writes it), or
 * NULL when it is dialled as it is. */
const tc_route *tc_routes_find(const tc_routes *t, const char *addr);

#endif
