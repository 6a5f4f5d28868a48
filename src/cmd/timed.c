/* timed — the TimeCoin node daemon. */
#include <stdio.h>
#include <string.h>

#include "util/version.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: timed --config FILE [options]\n"
               "       timed --help | --version\n");
}

int main(int argc, char **argv)
{
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
    usage(stderr);
    fprintf(stderr, "timed: this build has the ledger, store and crypto layers; "
                    "the daemon itself lands with the [Node] issue\n");
    return 1;
}
