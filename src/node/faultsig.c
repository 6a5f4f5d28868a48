#include "node/faultsig.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char tail[1400]; /* after the signal name */
static bool exit_two;

static void on_fatal(int sig)
{
    const char *name = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : "SIGABRT";
    ssize_t r = write(STDERR_FILENO, "timed: fatal ", 13);
    r = write(STDERR_FILENO, name, strlen(name));
    r = write(STDERR_FILENO, tail, strlen(tail));
    (void)r;
    if (exit_two)
        _exit(2);
    signal(sig, SIG_DFL);
    raise(sig);
}

void tc_faultsig_install(const char *datadir, const char *config, bool exit_2)
{
    exit_two = exit_2;
    snprintf(tail, sizeof tail,
             ": a damaged store (%s/chain/data.mdb) or a bug; check it with `timed --verify-store --config %s`; "
             "if damaged: resync (move data.mdb aside, keep keys and consensus.log) or restore a backup\n",
             datadir, config[0] ? config : "FILE");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
}
