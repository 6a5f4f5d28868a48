#include "node/reload.h"

#include <stdbool.h>

#include "util/log.h"

int tc_reload_run(tc_config *running)
{
    tc_errmsg e = {""};
    int err = 0;
    if (running->log_file[0] && (err = tc_log_to_file(running->log_file, &e)) != 0)
        tc_log_error("node", "SIGHUP: cannot reopen the log file; still writing to the old one (check the "
                     "directory's permissions and free space)", "error=%s", e.msg);
    tc_config fresh;
    tc_config_defaults(&fresh);
    int cerr = tc_config_from_args(&fresh, running->argc, running->argv, &e);
    if (cerr) {
        tc_log_error("node", "SIGHUP: the config no longer parses; nothing changed (fix it and send SIGHUP again)",
                     "error=%s", e.msg);
        return cerr;
    }
    if (fresh.log_level != running->log_level) {
        /* logged while the more verbose of the two levels is set (warn -> info was lost) */
        int from = running->log_level;
        bool louder = fresh.log_level < from;
        if (louder)
            tc_log_set_level(fresh.log_level);
        tc_log_info("node", "SIGHUP: log level changed", "from=%s to=%s", tc_log_level_name(from),
                    tc_log_level_name(fresh.log_level));
        if (!louder)
            tc_log_set_level(fresh.log_level);
        running->log_level = fresh.log_level;
    }
    tc_log_info("node", "SIGHUP: log reopened and config read again", "log_file=%s applied=log-level other_keys=%s",
                running->log_file[0] ? running->log_file : "stderr", "take effect at the next start");
    return err;
}
