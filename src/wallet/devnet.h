/* `time-cli devnet init`: the files of a local N-masternode devnet
 * (DESIGN.md §10, docs/wallet.md):
 *
 *   DIR/genesis.json          devnet, chain id 3, the faucet allocation, N bronze
 *                             masternodes, devnet consensus timeouts
 *   DIR/faucet.wallet         unencrypted wallet holding the faucet key
 *   DIR/node<i>/time.conf     node i: P2P P+10i, RPC P+10i+1, metrics P+10i+2,
 *                             connect to every other node
 *   DIR/node<i>/operator.key  node i's consensus key
 *   DIR/node<i>/owner.key     key of node i's collateral and reward address
 *
 * genesis.json is written last, so its presence means a complete devnet. */
#ifndef TC_WALLET_DEVNET_H
#define TC_WALLET_DEVNET_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/address.h"
#include "util/err.h"

#define TC_DEVNET_MAX_NODES 64 /* each node connects to all others (config: 64 peers) */
#define TC_DEVNET_FAUCET_TIME 10000000ull /* TIME allocated to the faucet */

typedef struct {
    const char *dir;   /* created if missing (its parent must exist) */
    size_t nodes;      /* 1 .. TC_DEVNET_MAX_NODES */
    unsigned base_port; /* 0: the devnet default (24200) */
    uint64_t time_ms;  /* genesis time; 0: now */
} tc_devnet_opts;

typedef struct {
    char dir[4096];                     /* absolute */
    char faucet[TC_ADDR_STRLEN];        /* the faucet's address */
} tc_devnet_result;

/* Writes a devnet as above. Nothing is overwritten: an existing
 * DIR/genesis.json (or any other file of the layout) is refused with
 * TC_EEXIST; bad options give TC_EINVAL; TC_EIO / TC_ESTORE_FULL if a file
 * cannot be written, after removing what this call wrote. e names the file.
 * res may be NULL. */
int tc_devnet_init(const tc_devnet_opts *o, tc_devnet_result *res, tc_errmsg *e) TC_MUST_CHECK;

#endif
