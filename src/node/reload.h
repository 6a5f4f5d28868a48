/* What SIGHUP does to a running node (docs/operations.md, "Logs and
 * SIGHUP"): the log file is reopened (after logrotate moved it) and the
 * config is read again, file and flags as at the start; of it only the keys
 * that are safe to change at runtime are applied — today `log-level`. A
 * config that no longer parses changes nothing and says why. */
#ifndef TC_NODE_RELOAD_H
#define TC_NODE_RELOAD_H

#include "node/config.h"

/* Reopens running->log_file (if set), re-reads running->argv, applies the
 * runtime keys to the process and to *running, and logs what it did. 0, or
 * the error of the first step that failed (logged, running unchanged for
 * that step). */
int tc_reload_run(tc_config *running);

#endif
