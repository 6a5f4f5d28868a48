#include "net/sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>

void tc_sockaddr_text(const struct sockaddr *sa, char *ip, size_t iplen, char *addr,
                      size_t addrlen)
{
    uint16_t port = 0;
    ip[0] = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        evutil_inet_ntop(AF_INET, &in->sin_addr, ip, iplen);
        port = ntohs(in->sin_port);
        snprintf(addr, addrlen, "%s:%u", ip, port);
    } else if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
        /* An IPv4 client of a dual-stack listener: named as IPv4, so one
         * host has one ban subject and one address whichever socket it met */
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        evutil_inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, ip, iplen);
        port = ntohs(in6->sin6_port);
        snprintf(addr, addrlen, "%s:%u", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        evutil_inet_ntop(AF_INET6, &in6->sin6_addr, ip, iplen);
        port = ntohs(in6->sin6_port);
        snprintf(addr, addrlen, "[%s]:%u", ip, port);
    } else {
        snprintf(addr, addrlen, "?");
    }
}

int tc_sockaddr_ip_canon(char *ip, size_t iplen, const char *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    char addr[INET6_ADDRSTRLEN + 8];
    /* the C library's parser: libevent's takes a leading blank */
    if (inet_pton(AF_INET, s, &in->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    tc_sockaddr_text((struct sockaddr *)&ss, ip, iplen, addr, sizeof addr);
    return ip[0] ? 0 : TC_ENET_ADDR;
}

int tc_sockaddr_parse(const char *s, struct sockaddr_storage *ss, int *sslen)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof host)
        return TC_ENET_ADDR;
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == 0 || *end != 0 || errno || port > 65535 || colon[1] == '+' || colon[1] == '-')
        return TC_ENET_ADDR;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
            return TC_ENET_ADDR;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof *in6;
        return 0;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
        return TC_ENET_ADDR;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    *sslen = sizeof *in;
    return 0;
}

int tc_sockaddr_parse_dial(const char *s, struct sockaddr_storage *ss, int *sslen)
{
    /* sin_port and sin6_port sit at the same offset */
    if (tc_sockaddr_parse(s, ss, sslen) != 0 || ((struct sockaddr_in *)ss)->sin_port == 0)
        return TC_ENET_ADDR;
    return 0;
}

bool tc_sockaddr_is_wildcard(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return ss->ss_family == AF_INET6 &&
           IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}
