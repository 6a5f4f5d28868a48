/* What the P2P layer persists, and the interface through which it does.
 * `net` knows nothing of the store: the node hands it a tc_netstore whose
 * callbacks write ban entries and address-book records wherever it keeps them
 * (LMDB in timed). tc_netstore_mem is an in-memory implementation for tests
 * and for nodes run without persistence.
 *
 * Every callback returns 0 or a negative TC_E* code. Callbacks are called from
 * the network thread only. */
#ifndef TC_NET_NETSTORE_H
#define TC_NET_NETSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "net/msg.h"
#include "util/err.h"

#define TC_BAN_SUBJECT_MAX 80
#define TC_BAN_REASON_MAX 64

/* One ban. subject is an IP address as text ("127.0.0.1", "::1") or a node
 * key as "key:" and 64 lowercase hex digits. Times are wall-clock ms, so a
 * ban survives a restart with its expiry. */
typedef struct {
    char subject[TC_BAN_SUBJECT_MAX];
    uint64_t created_ms;
    uint64_t until_ms;
    char reason[TC_BAN_REASON_MAX];
} tc_ban;

enum tc_addr_source {
    TC_ADDR_CONNECT = 1, /* config `connect` / `addnode`: never aged out */
    TC_ADDR_SEED = 2,    /* config `seednode` */
    TC_ADDR_GOSSIP = 3,  /* learned from a `peers` message */
    TC_ADDR_CHAIN = 4,   /* a masternode's registered address */
};

/* One address-book record (wall-clock ms). */
typedef struct {
    tc_netaddr addr;
    uint8_t source;      /* enum tc_addr_source */
    uint64_t last_seen;  /* learned or last heard of */
    uint64_t last_try;   /* last outbound attempt, 0 = never */
    uint64_t last_success;
    uint32_t failures;   /* consecutive failed attempts */
} tc_addr_rec;

typedef int (*tc_ban_visit)(void *arg, const tc_ban *b);
typedef int (*tc_addr_visit)(void *arg, const tc_addr_rec *a);

typedef struct {
    void *ctx;
    /* Calls fn for every stored ban; stops and returns fn's error if non-zero. */
    int (*ban_load)(void *ctx, tc_ban_visit fn, void *arg);
    /* Inserts or replaces the ban with b->subject. */
    int (*ban_save)(void *ctx, const tc_ban *b);
    /* Removes a ban; 0 also if there was none. */
    int (*ban_remove)(void *ctx, const char *subject);
    int (*addr_load)(void *ctx, tc_addr_visit fn, void *arg);
    /* Inserts or replaces the record with a->addr. */
    int (*addr_save)(void *ctx, const tc_addr_rec *a);
    int (*addr_remove)(void *ctx, const char *addr);
} tc_netstore;

/* In-memory implementation. The handle outlives every tc_netstore made from it. */
typedef struct tc_netstore_mem tc_netstore_mem;

tc_netstore_mem *tc_netstore_mem_new(void);
void tc_netstore_mem_free(tc_netstore_mem *m); /* NULL is a no-op */
/* The callback table over m. */
tc_netstore tc_netstore_mem_iface(tc_netstore_mem *m);
size_t tc_netstore_mem_ban_count(const tc_netstore_mem *m);
size_t tc_netstore_mem_addr_count(const tc_netstore_mem *m);

#endif
