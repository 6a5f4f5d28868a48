/* Numeric socket addresses as text: "a.b.c.d:port" and "[v6]:port", both
 * ways. Nothing here resolves a host name (no DNS on the network thread). */
#ifndef TC_NET_SOCKADDR_H
#define TC_NET_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util/err.h"

/* The IP ("10.0.0.1", "::1") into ip and "ip:port" / "[v6]:port" into addr
 * ("?" for another family, ip then empty). An IPv4-mapped IPv6 address
 * (::ffff:10.0.0.1, a dual-stack listener's IPv4 client) is written as the
 * IPv4 address. */
void tc_sockaddr_text(const struct sockaddr *sa, char *ip, size_t iplen, char *addr,
                      size_t addrlen);
/* The text tc_sockaddr_text writes for the IP of a numeric address s, an
 * IPv4 or IPv6 address alone ("10.0.0.1", "2001:DB8:0::1": no port, brackets
 * or zone), into ip (iplen ≥ INET6_ADDRSTRLEN). 0, or TC_ENET_ADDR (ip then
 * empty). */
int tc_sockaddr_ip_canon(char *ip, size_t iplen, const char *s) TC_MUST_CHECK;
/* Parses a numeric address; port 0 is allowed (listen on any free port).
 * 0 or TC_ENET_ADDR. */
int tc_sockaddr_parse(const char *s, struct sockaddr_storage *ss, int *sslen) TC_MUST_CHECK;
/* The same for an address to dial: the port must be set. */
int tc_sockaddr_parse_dial(const char *s, struct sockaddr_storage *ss, int *sslen) TC_MUST_CHECK;
/* 0.0.0.0 or [::]: bindable, never dialable. */
bool tc_sockaddr_is_wildcard(const struct sockaddr_storage *ss);

#endif
