/* The P2P layer's persistence (tc_netstore) on the peers store: bans and the
 * address book in `<datadir>/peers/` (src/store/netdb.h), an LMDB
 * environment of their own. Every write is handed to the store's writer
 * thread, so no callback waits for the disk on the network thread; bans are
 * forced to disk by that thread, addresses are not (see netdb.c). */
#ifndef TC_NODE_PEERSTORE_H
#define TC_NODE_PEERSTORE_H

#include "net/netstore.h"
#include "store/chainstore.h"
#include "store/netdb.h"

#define TC_PEERSTORE_DIR "peers"

/* Opens <datadir>/peers and fills *ns with the callback table over it. The
 * first time, it imports the bans that older versions kept in the `bans`
 * table of a chain store, through legacy (store/chainstore.h; legacy may
 * be NULL; it is used only during the call; addresses there are ignored). 0, or the store's error with detail in e
 * (*ns zeroed). */
int tc_peerstore_open(tc_netstore *ns, const char *datadir, const tc_legacy_bans *legacy, tc_errmsg *e) TC_MUST_CHECK;
/* Writes what is queued, closes the store and zeroes *ns; no user of the table
 * may remain. A zeroed *ns is a no-op. */
void tc_peerstore_close(tc_netstore *ns);
/* The store behind a table made by tc_peerstore_open (tests, benchmarks:
 * tc_netdb_wait, tc_netdb_get_stats). */
tc_netdb *tc_peerstore_db(const tc_netstore *ns);

#endif
