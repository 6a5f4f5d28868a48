#include "net/netstore.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

struct tc_netstore_mem {
    tc_ban *bans;
    size_t n_bans, cap_bans;
    tc_addr_rec *addrs;
    size_t n_addrs, cap_addrs;
};

tc_netstore_mem *tc_netstore_mem_new(void)
{
    return tc_xcalloc(1, sizeof(tc_netstore_mem));
}

void tc_netstore_mem_free(tc_netstore_mem *m)
{
    if (m == NULL)
        return;
    free(m->bans);
    free(m->addrs);
    free(m);
}

static int mem_ban_load(void *ctx, tc_ban_visit fn, void *arg)
{
    tc_netstore_mem *m = ctx;
    for (size_t i = 0; i < m->n_bans; i++) {
        int err = fn(arg, &m->bans[i]);
        if (err)
            return err;
    }
    return 0;
}

static int mem_ban_save(void *ctx, const tc_ban *b)
{
    tc_netstore_mem *m = ctx;
    for (size_t i = 0; i < m->n_bans; i++)
        if (strcmp(m->bans[i].subject, b->subject) == 0) {
            m->bans[i] = *b;
            return 0;
        }
    if (m->n_bans == m->cap_bans) {
        m->cap_bans = m->cap_bans ? m->cap_bans * 2 : 16;
        m->bans = tc_xrealloc(m->bans, m->cap_bans * sizeof *m->bans);
    }
    m->bans[m->n_bans++] = *b;
    return 0;
}

static int mem_ban_remove(void *ctx, const char *subject)
{
    tc_netstore_mem *m = ctx;
    for (size_t i = 0; i < m->n_bans; i++)
        if (strcmp(m->bans[i].subject, subject) == 0) {
            m->bans[i] = m->bans[--m->n_bans];
            break;
        }
    return 0;
}

static int mem_addr_load(void *ctx, tc_addr_visit fn, void *arg)
{
    tc_netstore_mem *m = ctx;
    for (size_t i = 0; i < m->n_addrs; i++) {
        int err = fn(arg, &m->addrs[i]);
        if (err)
            return err;
    }
    return 0;
}

static int mem_addr_save(void *ctx, const tc_addr_rec *a)
{
    tc_netstore_mem *m = ctx;
    for (size_t i = 0; i < m->n_addrs; i++)
        if (strcmp(m->addrs[i].addr.s, a->addr.s) == 0) {
            m->addrs[i] = *a;
            return 0;
        }
    if (m->n_addrs == m->cap_addrs) {
        m->cap_addrs = m->cap_addrs ? m->cap_addrs * 2 : 16;
        m->addrs = tc_xrealloc(m->addrs, m->cap_addrs * sizeof *m->addrs);
    }
    m->addrs[m->n_addrs++] = *a;
    return 0;
}

static int mem_addr_remove(void *ctx, const char *addr)
{
    tc_netstore_mem *m = ctx;
    for (size_t i = 0; i < m->n_addrs; i++)
        if (strcmp(m->addrs[i].addr.s, addr) == 0) {
            m->addrs[i] = m->addrs[--m->n_addrs];
            break;
        }
    return 0;
}

tc_netstore tc_netstore_mem_iface(tc_netstore_mem *m)
{
    return (tc_netstore){
        .ctx = m,
        .ban_load = mem_ban_load,
        .ban_save = mem_ban_save,
        .ban_remove = mem_ban_remove,
        .addr_load = mem_addr_load,
        .addr_save = mem_addr_save,
        .addr_remove = mem_addr_remove,
    };
}

size_t tc_netstore_mem_ban_count(const tc_netstore_mem *m)
{
    return m->n_bans;
}

size_t tc_netstore_mem_addr_count(const tc_netstore_mem *m)
{
    return m->n_addrs;
}
