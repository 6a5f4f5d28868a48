/* Ed25519 key files: the 32-byte seed as 64 hex digits and a newline, mode
 * 0600, written atomically. Used by the node (node.key), the devnet
 * generator and time-cli; kept here so that wallet/ needs nothing of node/. */
#ifndef TC_WALLET_KEYFILE_H
#define TC_WALLET_KEYFILE_H

#include <stdbool.h>

#include "crypto/ed25519.h"
#include "util/err.h"

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
