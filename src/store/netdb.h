/* The peers store: a small LMDB environment of its own (`<datadir>/peers/`)
 * for bans and the address book, apart from the ledger's so that gossip never
 * competes with block commits for LMDB's single writer.
 *
 * Writes are batched and asynchronous: the caller fills a tc_netdb_batch and
 * hands it over with tc_netdb_submit, which only queues it; a thread owned by
 * the tc_netdb writes everything queued in one write transaction. Reads
 * (tc_netdb_each, at start) are synchronous. Every function may be called
 * from any one thread (the network thread in timed); none blocks on disk
 * except tc_netdb_open, tc_netdb_each, tc_netdb_wait and tc_netdb_close. */
#ifndef TC_STORE_NETDB_H
#define TC_STORE_NETDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum tc_netdb_table {
    TC_NETDB_META = 0, /* name -> value (the address book's secret key) */
    TC_NETDB_BANS,     /* subject -> ban record */
    TC_NETDB_ADDRS,    /* address -> address record */
    TC_NETDB_COUNT
};

/* Bytes of queued, not yet written, non-durable batches beyond which
 * tc_netdb_submit refuses more (the writer is behind: the disk is slow). */
#define TC_NETDB_QUEUE_MAX (8u << 20)

typedef struct tc_netdb tc_netdb;
typedef struct tc_netdb_batch tc_netdb_batch;

typedef struct {
    uint64_t submitted; /* batches accepted */
    uint64_t refused;   /* batches refused with TC_ELIMIT */
    uint64_t txns;      /* write transactions committed */
    uint64_t ops;       /* puts and deletes written */
    uint64_t failed;    /* write transactions that failed (logged) */
} tc_netdb_stats;

/* Opens (creating dir, mode 0700) the environment in dir and starts its
 * writer thread. 0, or TC_EIO / TC_ESTORE with detail in e. */
int tc_netdb_open(tc_netdb **out, const char *dir, tc_errmsg *e) TC_MUST_CHECK;
/* Writes everything queued, syncs it to disk, stops the writer and closes.
 * NULL is a no-op. */
void tc_netdb_close(tc_netdb *db);

/* A new empty batch (heap; tc_netdb_submit or tc_netdb_batch_free frees it). */
tc_netdb_batch *tc_netdb_batch_new(void);
void tc_netdb_batch_free(tc_netdb_batch *b); /* NULL is a no-op */
/* Queues an insert-or-replace / a delete (absent key: no error) in b; kl
 * 1..511 (LMDB's key limit), k and v are copied. */
void tc_netdb_batch_put(tc_netdb_batch *b, enum tc_netdb_table tb, const void *k, size_t kl, const void *v,
                        size_t vl);
void tc_netdb_batch_del(tc_netdb_batch *b, enum tc_netdb_table tb, const void *k, size_t kl);
/* Operations in b. */
size_t tc_netdb_batch_len(const tc_netdb_batch *b);

/* Hands b over to the writer (always takes and frees it). durable: the
 * writer also forces the data to disk after writing it (bans). Returns 0, or
 * TC_ELIMIT for a non-durable batch while more than TC_NETDB_QUEUE_MAX bytes
 * wait (nothing of b is written). Batches are written in submission order. */
int tc_netdb_submit(tc_netdb *db, tc_netdb_batch *b, bool durable) TC_MUST_CHECK;
/* Blocks until every batch submitted so far is written. */
void tc_netdb_wait(tc_netdb *db);

/* Calls fn for every entry of tb in key order (a read transaction; sees
 * what the writer has committed) until fn returns non-zero (returned). */
int tc_netdb_each(tc_netdb *db, enum tc_netdb_table tb,
                  int (*fn)(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl), void *ctx);
void tc_netdb_get_stats(tc_netdb *db, tc_netdb_stats *out);

#endif
