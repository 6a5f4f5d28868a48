/* The node's data directory: created 0700, locked for one daemon at a time
 * (a second timed on the same dir is refused, naming the holder's pid), and
 * the name of the node key kept in it (read and written with
 * wallet/keyfile.h). */
#ifndef TC_NODE_DATADIR_H
#define TC_NODE_DATADIR_H

#include <stdbool.h>

#include "util/err.h"
#include "wallet/keyfile.h"

#define TC_DATADIR_LOCK ".lock"
#define TC_NODE_KEY_FILE "node.key"

typedef struct tc_datadir tc_datadir;

/* Creates path if needed and takes its lock (held until tc_datadir_close or
 * process exit, so a crash never leaves it stuck). TC_ELOCKED if another
 * process holds it; TC_EIO if the directory cannot be made or opened. */
int tc_datadir_open(tc_datadir **out, const char *path, tc_errmsg *e) TC_MUST_CHECK;
void tc_datadir_close(tc_datadir *d); /* NULL is a no-op */
const char *tc_datadir_path(const tc_datadir *d);

#endif
