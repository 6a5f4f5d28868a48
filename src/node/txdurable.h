/* What the node owes a transaction it has accepted: it is not lost. Every
 * admission is appended to <datadir>/mempool.journal (store/txjournal.h); an
 * RPC submission is durable before it is answered, peer-relayed ones become
 * durable in groups (one fdatasync per TXD_GROUP_MS window at most). At start
 * the journal is read back through the normal mempool admission (what the
 * chain has since committed or made invalid is dropped, logged at debug) and
 * rewritten to what was admitted; it is rewritten again when it grows well
 * past the live set and at a graceful stop. On SIGTERM the node drains first:
 * it keeps running (bounded, TC_TXD_DRAIN_MAX_MS) until what it admitted has
 * been announced and fetched by its peers and their send queues are empty.
 * Runs on the node's loop; not thread-safe. */
#ifndef TC_NODE_TXDURABLE_H
#define TC_NODE_TXDURABLE_H

#include <stdbool.h>

#include "chain/tx.h"
#include "mempool/mempool.h"
#include "node/nodeio.h"
#include "util/err.h"

#define TC_TXD_JOURNAL_FILE "mempool.journal"
#define TC_TXD_DRAIN_MAX_MS 1000 /* a graceful stop waits this long at most for relays */

typedef struct tc_txdurable tc_txdurable;

/* Opens the journal in datadir (persist false: none; admissions are only
 * timed for the drain), loads it into mp and rewrites it to what mp admitted.
 * Its timers, clocks and relays go through io (borrowed: it outlives the
 * result, which lives until tc_txdurable_close). Returns 0 or TC_EIO /
 * TC_ESTORE_FULL with e filled; a damaged journal is never an error. */
int tc_txdurable_open(tc_txdurable **out, const tc_nodeio *io, const char *datadir, bool persist, tc_mempool *mp,
                      tc_errmsg *e) TC_MUST_CHECK;

/* Records tx, just admitted to the pool. durable: the journal entry (and
 * every earlier one) is on disk when this returns 0; else it is within
 * TXD_GROUP_MS. TC_EIO / TC_ESTORE_FULL: the entry is not durable (logged
 * here, so a caller with nobody to tell may ignore it). */
int tc_txdurable_admitted(tc_txdurable *d, const tc_tx *tx, bool durable);

/* A peer fetched transactions from us (getdata): the drain waits for it. */
void tc_txdurable_served(tc_txdurable *d);

/* Announces every pending transaction to the peers that have not heard of
 * it (a peer just connected; what was restored from the journal, or admitted
 * while it was away, reaches it). */
void tc_txdurable_announce(tc_txdurable *d);

/* After a committed block: rewrites the journal if it grew well past the
 * live set (committed and evicted entries leave). */
void tc_txdurable_block(tc_txdurable *d);

/* Starts the graceful-stop drain: the loop is stopped (io's stop) once relays
 * are done (peer queues empty, no admission or fetch for a quiet spell) or
 * after TC_TXD_DRAIN_MAX_MS. A second call stops it at once. */
void tc_txdurable_drain(tc_txdurable *d);

/* Syncs and rewrites the journal from the pool (graceful stop), then frees.
 * Call before the pool is freed. NULL is a no-op. */
void tc_txdurable_close(tc_txdurable *d);

#endif
