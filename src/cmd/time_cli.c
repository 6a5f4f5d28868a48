/* time-cli — TimeCoin operator and wallet tool. */
#include <stdio.h>
#include <string.h>

#include "util/version.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("time-cli %s\n", TC_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: time-cli --version\n"
                    "time-cli: RPC and wallet commands land with the [Node] and [Interfaces] issues\n");
    return argc > 1 && strcmp(argv[1], "--help") == 0 ? 0 : 1;
}
