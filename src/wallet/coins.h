/* A wallet's coins as its node reports them: every page of listunspent
 * (docs/rpc.md) for every address of the wallet. The node bounds a page so
 * that answering never holds its loop for long; an address is not bounded,
 * so this follows each page's `next` until the last. */
#ifndef TC_WALLET_COINS_H
#define TC_WALLET_COINS_H

#include <stddef.h>

#include "rpc/client.h"
#include "wallet/wallet.h"

/* The node's largest listunspent page. */
#define TC_COINS_MAX_PAGE 5000

/* Fetches the unspent outputs of every address of w from the node at t in
 * pages of `page` outputs (0: TC_COINS_MAX_PAGE) into *coins (malloc'd, the
 * caller frees it, also on failure) and their number into *n. Returns 0,
 * the tc_rpcclient_call error, or TC_EIO for an answer that is not a page
 * (or a page that claims more but lists nothing), explained in e. */
int tc_coins_fetch(const tc_rpc_target *t, const tc_wallet *w, size_t page, tc_wallet_coin **coins, size_t *n,
                   tc_errmsg *e) TC_MUST_CHECK;

#endif
