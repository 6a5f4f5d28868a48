/* The P2P layer's persistence (tc_netstore) on the node's LMDB store: bans
 * in the `bans` table, the address book in `peers`, so both survive restarts
 * (bans with their expiry). Each change is one write transaction. */
#ifndef TC_NODE_PEERSTORE_H
#define TC_NODE_PEERSTORE_H

#include "net/netstore.h"
#include "store/store.h"

/* The callback table over s; s must outlive every user of the table. */
tc_netstore tc_peerstore_iface(tc_store *s);

#endif
