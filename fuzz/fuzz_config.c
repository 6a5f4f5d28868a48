/* libFuzzer: time.conf text. Any input either parses into a config whose
 * strings are terminated within their fields, or is refused with
 * TC_ECONFIG and a message naming the file and line; never a crash, leak,
 * or a read past the input (the parser gets exactly `size` bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/config.h"

static void check_terminated(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_config cfg;
    tc_errmsg e = {""};
    tc_config_defaults(&cfg);
    char *copy = malloc(size ? size : 1); /* exactly the input: ASan sees any overread */
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    int err = tc_config_parse(&cfg, "fuzz.conf", copy, size, &e);
    free(copy);
    if (err == 0) {
        check_terminated(cfg.datadir, sizeof cfg.datadir);
        check_terminated(cfg.listen, sizeof cfg.listen);
        check_terminated(cfg.rpcuser, sizeof cfg.rpcuser);
        check_terminated(cfg.rpcpassword, sizeof cfg.rpcpassword);
        if (cfg.n_connect > TC_CONFIG_MAX_PEERS || cfg.n_addnode > TC_CONFIG_MAX_PEERS ||
            cfg.n_seednode > TC_CONFIG_MAX_PEERS || strchr(cfg.rpcuser, ':') != NULL)
            abort();
    } else if (err != TC_ECONFIG || strncmp(e.msg, "fuzz.conf", 9) != 0) {
        abort();
    }
    return 0;
}
