/* A fatal signal (SIGSEGV, SIGBUS, SIGABRT) is never silent: LMDB reads a
 * damaged data.mdb by following its page numbers, and a bad one faults or
 * trips an assertion inside LMDB. The handler writes one line naming the
 * signal, the store file and what to do, then either exits 2 (the offline
 * --verify-store: the fault is its finding) or dies by the signal as before
 * (the node: a core dump and the service manager still see it). */
#ifndef TC_NODE_FAULTSIG_H
#define TC_NODE_FAULTSIG_H

#include <stdbool.h>

/* Installs the handlers for the store of datadir (the message is built now:
 * the handler only calls write). exit_2: exit with status 2 instead of dying
 * by the signal. Call once, before the store is opened. */
void tc_faultsig_install(const char *datadir, const char *config, bool exit_2);

#endif
