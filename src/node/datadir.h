/* The node's data directory: created 0700, locked for one daemon at a time
 * (a second timed on the same dir is refused, naming the holder's pid), and
 * the key files kept in it. */
#ifndef TC_NODE_DATADIR_H
#define TC_NODE_DATADIR_H

#include <stdbool.h>

#include "crypto/ed25519.h"
#include "util/err.h"

#define TC_DATADIR_LOCK ".lock"
#define TC_NODE_KEY_FILE "node.key"

typedef struct tc_datadir tc_datadir;

/* Creates path if needed and takes its lock (held until tc_datadir_close or
 * process exit, so a crash never leaves it stuck). TC_ELOCKED if another
 * process holds it; TC_EIO if the directory cannot be made or opened. */
int tc_datadir_open(tc_datadir **out, const char *path, tc_errmsg *e) TC_MUST_CHECK;
void tc_datadir_close(tc_datadir *d); /* NULL is a no-op */
const char *tc_datadir_path(const tc_datadir *d);

/* Loads an Ed25519 key file (the 32-byte seed as 64 hex digits and a
 * newline). If it does not exist and create is set, a fresh key is written
 * atomically with mode 0600. A key file readable by group or others is
 * refused (TC_ECONFIG, saying to chmod 600). TC_ENOTFOUND if absent and not
 * created; TC_ECORRUPT for bad contents. The seed never stays in memory
 * outside kp (wipe kp with tc_keypair_wipe). */
int tc_keyfile_load(const char *path, bool create, tc_keypair *kp, tc_errmsg *e) TC_MUST_CHECK;
/* Writes kp's seed to path (mode 0600, atomically). TC_EEXIST if present. */
int tc_keyfile_write(const char *path, const tc_keypair *kp, tc_errmsg *e) TC_MUST_CHECK;

#endif
