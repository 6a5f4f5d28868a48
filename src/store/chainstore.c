#include "store/chainstore.h"

static uint64_t ledger_height(void *ctx)
{
    return tc_ledger_height(ctx);
}

static int ledger_view_begin(void *ctx, tc_view *out)
{
    return tc_ledger_view_begin(ctx, out);
}

tc_chainview tc_chainstore_view(tc_ledger *L)
{
    return (tc_chainview){.ctx = L,
                          .height = ledger_height,
                          .view_begin = ledger_view_begin,
                          .view_end = tc_ledger_view_end,
                          .chain_id = tc_ledger_genesis(L)->chain_id,
                          .sigcache = tc_ledger_sigcache(L)};
}

uint64_t tc_chainstore_bytes(tc_ledger *L)
{
    return tc_store_size(tc_ledger_store(L));
}

const char *tc_chainstore_damaged(tc_ledger *L)
{
    return tc_store_damaged(tc_ledger_store(L));
}

static int store_each(void *src, tc_store_each_fn fn, void *ctx)
{
    tc_txn *t;
    int err = tc_store_begin(src, 0, &t);
    if (err)
        return err;
    err = tc_store_each(t, TC_TB_BANS, NULL, 0, fn, ctx);
    tc_store_abort(t);
    return err;
}

static int ledger_each(void *src, tc_store_each_fn fn, void *ctx)
{
    return store_each(tc_ledger_store(src), fn, ctx);
}

tc_legacy_bans tc_chainstore_legacy_bans(tc_ledger *L)
{
    return (tc_legacy_bans){ledger_each, L};
}

tc_legacy_bans tc_store_legacy_bans(tc_store *s)
{
    return (tc_legacy_bans){store_each, s};
}
