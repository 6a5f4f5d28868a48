/* File-descriptor budget: the process's RLIMIT_NOFILE and how close an fd is
 * to it.
 *
 * accept(2), socket(2) and open(2) return the lowest free descriptor, so a
 * freshly returned fd at or above soft_limit - reserve means fewer than
 * `reserve` descriptors are left. Network code refuses new sockets in that
 * state so the store, the sign log and lock files always find theirs. */
#ifndef TC_UTIL_FDLIMIT_H
#define TC_UTIL_FDLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* Descriptors kept free from ordinary network use (inbound P2P, RPC and
 * metrics clients, ordinary outbound dials): the store, sign log, lock files,
 * key files and validator links live in this reserve. */
#define TC_FDLIMIT_RESERVE 64u
/* The innermost part of the reserve, for durable files only: outbound dials
 * to validators (the mesh) may go down to here, nothing on the network below. */
#define TC_FDLIMIT_RESERVE_DURABLE 16u

_Static_assert(TC_FDLIMIT_RESERVE_DURABLE < TC_FDLIMIT_RESERVE,
               "the mesh's part of the reserve must be non-empty");

/* Raises the soft RLIMIT_NOFILE to the hard limit (to the kernel's nr_open
 * when the hard limit is unlimited) and refreshes the cached soft limit.
 * Writes the limits now in force to *soft and *hard (each may be NULL;
 * UINT64_MAX means unlimited). Returns 0, or TC_EIO if the limit cannot be
 * read or raised (the limits reported are then the ones in force).
 * Call once at start, before threads open files. */
int tc_fdlimit_raise(uint64_t *soft, uint64_t *hard) TC_MUST_CHECK;

/* The soft RLIMIT_NOFILE, read once and cached (refreshed by
 * tc_fdlimit_raise); UINT64_MAX when unlimited or unreadable.
 * Thread-safe. */
uint64_t tc_fdlimit_soft(void);

/* True when fd, just returned by accept/socket/open, leaves fewer than
 * `reserve` descriptors under the soft limit: fd >= soft - reserve.
 * False for fd < 0 and when the limit is unlimited. Thread-safe. */
bool tc_fdlimit_low(int fd, unsigned reserve);

#endif
