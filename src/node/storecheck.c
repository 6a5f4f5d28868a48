#include "node/storecheck.h"

#include <stdio.h>
#include <unistd.h>

#include "chain/genesis.h"
#include "store/ledger.h"
#include "store/verify.h"

int tc_storecheck_run(const tc_config *cfg, char *summary, size_t cap, tc_errmsg *e)
{
    char dir[TC_CONFIG_PATH + 16];
    snprintf(dir, sizeof dir, "%s/chain", cfg->datadir);
    char file[sizeof dir + 16];
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    if (access(file, F_OK) != 0)
        return tc_fail(e, TC_EIO, "%s: no store to verify (not started yet, or moved away)", file);
    tc_genesis g;
    if (tc_genesis_load(&g, cfg->genesis, e))
        return TC_ECONFIG;
    tc_ledger_opts lo = {cfg->store_map_mb << 20, NULL, NULL};
    tc_ledger *L;
    int err = tc_verify_open(&L, dir, &g, &lo, e);
    if (err == 0)
        err = tc_verify_store(L, dir, summary, cap, e);
    tc_ledger_close(L);
    tc_genesis_release(&g);
    return err;
}
