/* timed — the TimeCoin node daemon: parse, build, run. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/config.h"
#include "node/faultsig.h"
#include "node/node.h"
#include "node/storecheck.h"
#include "util/clock.h"
#include "util/fdlimit.h"
#include "util/log.h"
#include "util/version.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: timed --config FILE [--KEY VALUE ...]\n"
               "       timed --check-config --config FILE [--KEY VALUE ...]\n"
               "       timed --verify-store --config FILE [--KEY VALUE ...]\n"
               "       timed --help | --version\n\n"
               "--check-config reads the file and flags as a start would, prints what it\n"
               "found and exits: 0 if the node would accept them, 1 with the reason if not.\n"
               "--verify-store checks the whole store of the data dir (every block's header\n"
               "chain, certificate and index entries, the UTXO commitment recomputed) and\n"
               "exits: 0 with a one-line summary, 2 naming the damage and the remedy.\n\n"
               "Every configuration key is also a flag and overrides the file:\n");
    tc_config_print_keys(f);
}

/* The wall-clock test hook (docs/operations.md): loud when set, fatal when
 * malformed, so a production node never runs with a skewed clock unawares. */
static int check_clock_hook(void)
{
    tc_clock_offset o;
    int rc = tc_clock_offset_env(&o);
    if (rc < 0) {
        fprintf(stderr, "timed: %s=\"%s\" is not a signed decimal number of milliseconds\n", TC_CLOCK_OFFSET_ENV,
                getenv(TC_CLOCK_OFFSET_ENV));
        return rc;
    }
    if (rc == 1) {
        char offset[24];
        snprintf(offset, sizeof offset, "%s%llu", o.negative ? "-" : "", (unsigned long long)o.magnitude);
        tc_log_warn("clock", "test hook " TC_CLOCK_OFFSET_ENV " is set: the wall clock is shifted (tests only)",
                    "offset_ms=%s wall_ms=%llu", offset, (unsigned long long)tc_clock_wall_ms());
    }
    return 0;
}

/* Every listener, peer, the store and the sign log draw on one descriptor
 * budget: take all the hard limit allows, and say what it is. */
static void raise_fd_budget(void)
{
    uint64_t soft = 0, hard = 0;
    if (tc_fdlimit_raise(&soft, &hard) != 0)
        tc_log_warn("node", "cannot raise the descriptor limit", "soft=%llu hard=%llu hint=%s",
                    (unsigned long long)soft, (unsigned long long)hard, "raise the hard limit (LimitNOFILE=, limits.conf)");
    tc_log_info("node", "descriptor budget", "soft=%llu hard=%llu reserve=%u",
                (unsigned long long)soft, (unsigned long long)hard, TC_FDLIMIT_RESERVE);
    if (soft < 1024)
        tc_log_warn("node", "descriptor limit is low; raise it (ulimit -n, LimitNOFILE=)",
                    "soft=%llu", (unsigned long long)soft);
}

/* Removes flag (--check-config, --verify-store: actions, not keys) from
 * argv and says whether it was there; argv stays NULL-terminated. */
static bool take_flag(int *argc, char **argv, const char *flag)
{
    bool found = false;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], flag) == 0)
            found = true;
        else
            argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argc = out;
    return found;
}

int main(int argc, char **argv)
{
    bool check_only = take_flag(&argc, argv, "--check-config");
    bool verify_store = take_flag(&argc, argv, "--verify-store");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("timed %s\n", TC_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
    }
    tc_config cfg;
    tc_errmsg e;
    tc_config_defaults(&cfg);
    if (tc_config_from_args(&cfg, argc, argv, &e) != 0) {
        fprintf(stderr, "timed: %s\n", e.msg);
        return 1;
    }
    if (check_only) { /* nothing opened: no log file, no data dir, no ports */
        printf("%s: ok (network %s, datadir %s)\n", cfg.config_file[0] ? cfg.config_file : "(no --config)",
               cfg.net->name, cfg.datadir);
        return 0;
    }
    tc_faultsig_install(cfg.datadir, cfg.config_file, verify_store);
    if (verify_store) { /* offline: no log file, no ports */
        char summary[512];
        int err = tc_storecheck_run(&cfg, summary, sizeof summary, &e);
        if (err)
            fprintf(stderr, "timed: %s\n", e.msg);
        else
            printf("%s\n", summary);
        return err == 0 ? 0 : err == TC_ECONFIG ? 1 : 2;
    }
    tc_log_setup(cfg.log_level, cfg.log_format, STDERR_FILENO);
    if (cfg.log_file[0] && tc_log_to_file(cfg.log_file, &e) != 0) {
        fprintf(stderr, "timed: %s (log-file)\n", e.msg);
        return 1;
    }
    if (check_clock_hook() != 0)
        return 1;
    raise_fd_budget();
    if (!cfg.network_given) /* say it before anything can fail on a data dir of another network */
        tc_log_info("node", "network not set (network = or --network): using the default", "network=%s datadir=%s",
                    cfg.net->name, cfg.datadir);
    tc_node *node;
    int err = tc_node_new(&node, &cfg, &e);
    if (err) {
        fprintf(stderr, "timed: %s\n", e.msg);
        return err == TC_ECONFIG ? 1 : 2;
    }
    err = tc_node_run(node);
    tc_node_free(node);
    return err ? 2 : 0;
}
