/* What the P2P layer persists, and the interface through which it does.
 * `net` knows nothing of the store: the node hands it a tc_netstore whose
 * callbacks write ban entries and address-book records wherever it keeps them
 * (LMDB in timed). tc_netstore_mem is an in-memory implementation for tests
 * and for nodes run without persistence.
 *
 * Every callback returns 0 or a negative TC_E* code. Callbacks are called from
 * the network thread only, and must return quickly: the network thread is the
 * event loop, so an implementation that writes to disk hands the work to a
 * thread of its own (timed's does: src/node/peerstore.c). */
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
    uint8_t tried;       /* gossip: 1 in the tried table (we connected to it), 0 new */
    uint64_t src_group;  /* gossip: address group of the peer it was learnt from */
    uint64_t last_seen;  /* learned or last heard of */
    uint64_t last_try;   /* last outbound attempt, 0 = never */
    uint64_t last_success;
    uint32_t failures;   /* consecutive failed attempts */
} tc_addr_rec;

#define TC_NETSTORE_KEY_LEN 32 /* the address book's secret */

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
    /* One batch of address-book changes: deletes every address of removed
     * (absent ones are no error), then inserts or replaces every record of
     * recs; all of it or, on an error, possibly none. recs and removed are
     * copied before the call returns; the write may happen later (on another
     * thread) but batches are applied in the order they were handed over.
     * TC_ELIMIT: cannot take the batch now (writer behind); the caller keeps
     * its changes and hands them over again later. */
    int (*addr_save_batch)(void *ctx, const tc_addr_rec *recs, size_t n, const tc_netaddr *removed,
                           size_t n_removed);
    /* Copies the address book's secret bucketing key into key: random on
     * first use, then the same across restarts (kept with the addresses). */
    int (*book_key)(void *ctx, uint8_t key[TC_NETSTORE_KEY_LEN]);
} tc_netstore;

/* In-memory implementation. The handle outlives every tc_netstore made from it. */
typedef struct tc_netstore_mem tc_netstore_mem;

tc_netstore_mem *tc_netstore_mem_new(void);
void tc_netstore_mem_free(tc_netstore_mem *m); /* NULL is a no-op */
/* The callback table over m. */
tc_netstore tc_netstore_mem_iface(tc_netstore_mem *m);
size_t tc_netstore_mem_ban_count(const tc_netstore_mem *m);
size_t tc_netstore_mem_addr_count(const tc_netstore_mem *m);
/* Batches written through addr_save_batch so far (tests count write
 * transactions with it). */
size_t tc_netstore_mem_batches(const tc_netstore_mem *m);

#endif
