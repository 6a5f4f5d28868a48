#include "net/netstore.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/mem.h"

struct tc_netstore_mem {
    tc_ban *bans;
    size_t n_bans, cap_bans;
    tc_addr_rec *addrs;
    size_t n_addrs, cap_addrs;
    size_t batches;
    uint8_t key[TC_NETSTORE_KEY_LEN];
};

tc_netstore_mem *tc_netstore_mem_new(void)
{
    tc_netstore_mem *m = tc_xcalloc(1, sizeof(tc_netstore_mem));
    randombytes_buf(m->key, sizeof m->key);
    return m;
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

static void mem_addr_save(tc_netstore_mem *m, const tc_addr_rec *a)
{
    for (size_t i = 0; i < m->n_addrs; i++)
        if (strcmp(m->addrs[i].addr.s, a->addr.s) == 0) {
            m->addrs[i] = *a;
            return;
        }
    if (m->n_addrs == m->cap_addrs) {
        m->cap_addrs = m->cap_addrs ? m->cap_addrs * 2 : 16;
        m->addrs = tc_xrealloc(m->addrs, m->cap_addrs * sizeof *m->addrs);
    }
    m->addrs[m->n_addrs++] = *a;
}

static void mem_addr_remove(tc_netstore_mem *m, const char *addr)
{
    for (size_t i = 0; i < m->n_addrs; i++)
        if (strcmp(m->addrs[i].addr.s, addr) == 0) {
            m->addrs[i] = m->addrs[--m->n_addrs];
            break;
        }
}

static int mem_addr_save_batch(void *ctx, const tc_addr_rec *recs, size_t n, const tc_netaddr *removed,
                               size_t n_removed)
{
    tc_netstore_mem *m = ctx;
    for (size_t i = 0; i < n_removed; i++)
        mem_addr_remove(m, removed[i].s);
    for (size_t i = 0; i < n; i++)
        mem_addr_save(m, &recs[i]);
    m->batches++;
    return 0;
}

static int mem_book_key(void *ctx, uint8_t key[TC_NETSTORE_KEY_LEN])
{
    tc_netstore_mem *m = ctx;
    memcpy(key, m->key, TC_NETSTORE_KEY_LEN);
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
        .addr_save_batch = mem_addr_save_batch,
        .book_key = mem_book_key,
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

size_t tc_netstore_mem_batches(const tc_netstore_mem *m)
{
    return m->batches;
}
