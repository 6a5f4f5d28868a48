/* `timed --verify-store`: the full check of a node's store, offline. */
#ifndef TC_NODE_STORECHECK_H
#define TC_NODE_STORECHECK_H

#include <stddef.h>

#include "node/config.h"
#include "util/err.h"

/* Opens cfg's genesis and the store of cfg->datadir (refusing, as a start
 * would, one that is truncated or whose tip disagrees), then runs
 * tc_verify_store. 0 with the one-line summary in summary (cap bytes);
 * TC_ECONFIG if the genesis cannot be loaded; otherwise the error naming the
 * damage and the remedy in e. A fresh data dir is not created. */
int tc_storecheck_run(const tc_config *cfg, char *summary, size_t cap, tc_errmsg *e) TC_MUST_CHECK;

#endif
