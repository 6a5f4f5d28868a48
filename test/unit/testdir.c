#include "testdir.h"

#include <stdio.h>
#include <stdlib.h>

#include "crypto/ed25519.h"

int testdir_make(char *out, size_t cap, const char *tag)
{
    if ((size_t)snprintf(out, cap, "/tmp/tc-%s-XXXXXX", tag) >= cap || mkdtemp(out) == NULL)
        return -1;
    return tc_crypto_init() == 0 ? 0 : -1;
}

int testdir_remove(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}
