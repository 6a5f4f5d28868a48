#include "net/route.h"

#include <stdio.h>
#include <string.h>

#include "net/sockaddr.h"

/* s into its canonical text; 0 or TC_ENET_ADDR. */
static int canonical(const char *s, size_t len, char *out, struct sockaddr_storage *ss, int *sslen)
{
    char buf[TC_MAX_NETADDR + 1];
    if (len >= sizeof buf)
        return TC_ENET_ADDR;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *sslen = sizeof *ss;
    if (tc_sockaddr_parse_dial(buf, ss, sslen) != 0 || tc_sockaddr_is_wildcard(ss))
        return TC_ENET_ADDR;
    char ip[64];
    tc_sockaddr_text((const struct sockaddr *)ss, ip, sizeof ip, out, TC_MAX_NETADDR + 1);
    return 0;
}

int tc_routes_parse(tc_routes *t, const char *const *entries, size_t n, tc_errmsg *e)
{
    t->n = 0;
    if (n > TC_ROUTE_MAX)
        return tc_fail(e, TC_EINVAL, "peer-address: %zu entries, at most %d", n, TC_ROUTE_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(entries[i], '=');
        tc_route *r = &t->r[t->n];
        struct sockaddr_storage from_ss;
        int from_len;
        if (eq == NULL || canonical(entries[i], (size_t)(eq - entries[i]), r->from, &from_ss, &from_len) != 0 ||
            canonical(eq + 1, strlen(eq + 1), r->to, &r->dial, &r->dial_len) != 0) {
            t->n = 0;
            return tc_fail(e, TC_ENET_ADDR, "peer-address \"%s\": expected ADDR=DIAL, two numeric ip:port",
                           entries[i]);
        }
        if (tc_routes_find(t, r->from) != NULL) {
            t->n = 0;
            return tc_fail(e, TC_EINVAL, "peer-address: %s is routed twice", r->from);
        }
        t->n++;
    }
    return 0;
}

const tc_route *tc_routes_find(const tc_routes *t, const char *addr)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->r[i].from, addr) == 0)
            return &t->r[i];
    return NULL;
}
