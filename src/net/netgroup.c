#include "net/netgroup.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Keeps the first `bits` bits of p[0..n). */
static void mask(uint8_t *p, size_t n, unsigned bits)
{
    for (size_t i = 0; i < n; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
        p[i] &= (uint8_t)(0xff00u >> keep);
    }
}

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int from_bytes(tc_netgroup *g, int family, const uint8_t *a, unsigned v4_bits,
                      unsigned v6_bits)
{
    memset(g, 0, sizeof *g);
    if (v4_bits > 32 || v6_bits > 128)
        return TC_ENET_ADDR;
    if (family == AF_INET6 && memcmp(a, V4_MAPPED, 12) == 0) {
        family = AF_INET;
        a += 12;
    }
    if (family == AF_INET) {
        g->b[0] = 4;
        g->b[1] = (uint8_t)v4_bits;
        memcpy(g->b + 2, a, 4);
        mask(g->b + 2, 4, v4_bits);
        return 0;
    }
    if (family != AF_INET6)
        return TC_ENET_ADDR;
    g->b[0] = 6;
    g->b[1] = (uint8_t)v6_bits;
    memcpy(g->b + 2, a, 16);
    mask(g->b + 2, 16, v6_bits);
    return 0;
}

int tc_netgroup_of(tc_netgroup *g, const char *ip, unsigned v4_bits, unsigned v6_bits)
{
    uint8_t a[16];
    memset(g, 0, sizeof *g);
    if (ip == NULL)
        return TC_ENET_ADDR;
    if (inet_pton(AF_INET, ip, a) == 1)
        return from_bytes(g, AF_INET, a, v4_bits, v6_bits);
    if (inet_pton(AF_INET6, ip, a) == 1)
        return from_bytes(g, AF_INET6, a, v4_bits, v6_bits);
    return TC_ENET_ADDR;
}

int tc_netgroup_of_sockaddr(tc_netgroup *g, const void *sa, unsigned v4_bits, unsigned v6_bits)
{
    const struct sockaddr *s = sa;
    if (s->sa_family == AF_INET)
        return from_bytes(g, AF_INET, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr,
                          v4_bits, v6_bits);
    if (s->sa_family == AF_INET6)
        return from_bytes(g, AF_INET6,
                          (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr, v4_bits,
                          v6_bits);
    memset(g, 0, sizeof *g);
    return TC_ENET_ADDR;
}

bool tc_netgroup_eq(const tc_netgroup *a, const tc_netgroup *b)
{
    return memcmp(a->b, b->b, sizeof a->b) == 0;
}

char *tc_netgroup_text(const tc_netgroup *g, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (g->b[0] == 4 || g->b[0] == 6) {
        inet_ntop(g->b[0] == 4 ? AF_INET : AF_INET6, g->b + 2, ip, sizeof ip);
        snprintf(out, len, "%s/%u", ip, (unsigned)g->b[1]);
    } else {
        snprintf(out, len, "?");
    }
    return out;
}
