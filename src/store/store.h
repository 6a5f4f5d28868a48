/* The embedded store: one LMDB environment with named tables. A write
 * transaction is atomic and durable on commit (LMDB syncs on commit), so a
 * crash at any moment leaves the last committed state. One writer at a time
 * (LMDB's rule); readers never block.
 *
 * Values returned by tc_store_get point into the map and are valid until the
 * transaction ends. */
#ifndef TC_STORE_STORE_H
#define TC_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct tc_store tc_store;
typedef struct tc_txn tc_txn;

enum tc_table {
    TC_TB_META = 0,    /* name -> value (tip, chain id, genesis, UTXO LtHash) */
    TC_TB_BLOCKS,      /* be64 height -> block */
    TC_TB_HASHES,      /* block hash -> be64 height */
    TC_TB_CERTS,       /* be64 height -> commit certificate of that block */
    TC_TB_UNDO,        /* be64 height -> undo records */
    TC_TB_UTXO,        /* txid | be32 vout -> UTXO record */
    TC_TB_MN,          /* collateral outpoint key -> masternode record */
    TC_TB_MN_OPERATOR, /* operator key -> collateral outpoint key */
    TC_TB_TXINDEX,     /* txid -> be64 height | be32 index */
    TC_TB_VALSETS,     /* be64 first height -> validator set */
    TC_TB_BANS,        /* peer key or address -> ban record */
    TC_TB_PEERS,       /* address -> peer record */
    /* Appended, never inserted: undo records name tables by number. */
    TC_TB_ADDR_UTXO,   /* address (u8 version | hash32) | UTXO key -> UTXO record */
    TC_TB_ADDR_SUM,    /* address -> le64 outputs | le64 sat */
    TC_TB_COUNT
};

/* Opens (creating if needed, mode 0700 dir / 0600 files) the store in dir
 * with the given map size in bytes (0: 16 GiB; sparse, grows on disk as
 * used). Returns 0 or TC_ESTORE / TC_EIO with detail in e. */
int tc_store_open(tc_store **out, const char *dir, uint64_t map_size, tc_errmsg *e) TC_MUST_CHECK;
void tc_store_close(tc_store *s); /* NULL is a no-op; no transaction may be open */

/* Begins a transaction (write != 0: the single writer; blocks while another
 * write transaction is open). */
int tc_store_begin(tc_store *s, int write, tc_txn **out) TC_MUST_CHECK;
/* Commits and frees t. TC_ESTORE_FULL when the map or the disk is full (then
 * nothing of t was written). */
int tc_store_commit(tc_txn *t) TC_MUST_CHECK;
/* Discards and frees t; NULL is a no-op. */
void tc_store_abort(tc_txn *t);

/* 0 with *v / *vl set, or TC_ENOTFOUND. */
int tc_store_get(tc_txn *t, enum tc_table tb, const void *k, size_t kl, const uint8_t **v, size_t *vl) TC_MUST_CHECK;
int tc_store_put(tc_txn *t, enum tc_table tb, const void *k, size_t kl, const void *v, size_t vl) TC_MUST_CHECK;
/* 0, or TC_ENOTFOUND if absent. */
int tc_store_del(tc_txn *t, enum tc_table tb, const void *k, size_t kl) TC_MUST_CHECK;

/* Calls fn for each entry with key ≥ from (all if from is NULL), in key order,
 * until fn returns non-zero (that value is returned) or the table ends (0). */
typedef int (*tc_store_each_fn)(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl);
int tc_store_each(tc_txn *t, enum tc_table tb, const void *from, size_t fl, tc_store_each_fn fn, void *ctx);
/* The entry with the greatest key ≤ k (keys of equal length compared bytewise):
 * 0 with *v set (and *found_k if not NULL), or TC_ENOTFOUND. */
int tc_store_floor(tc_txn *t, enum tc_table tb, const void *k, size_t kl, const uint8_t **found_k,
                   const uint8_t **v, size_t *vl) TC_MUST_CHECK;
/* Removes every entry of a table (the table itself stays). */
int tc_store_clear(tc_txn *t, enum tc_table tb) TC_MUST_CHECK;
/* Number of entries in a table. */
uint64_t tc_store_count(tc_txn *t, enum tc_table tb);
/* False while the map or the disk is full (the last write failed so; writes
 * are then tried again with backoff, and the first to commit clears it),
 * with *why (if not NULL) set to the reason naming the data dir, valid until
 * the next write. A real I/O error does not count: EIO with room on the disk
 * is TC_ESTORE. */
bool tc_store_writable(const tc_store *s, const char **why);
/* NULL while no read or write has met damaged pages; after the first that
 * did (MDB_CORRUPTED, MDB_PAGE_NOTFOUND: the call returned TC_ECORRUPT),
 * LMDB's text of it for good. Any thread. */
const char *tc_store_damaged(const tc_store *s);
/* Bytes the store uses on disk. */
uint64_t tc_store_size(tc_store *s);
/* Table name ("utxo", …) for messages. */
const char *tc_store_table_name(enum tc_table tb);

#endif
