#include "wallet/coins.h"

#include <stdlib.h>

#include "util/hex.h"
#include "util/mem.h"

/* Appends one listunspent page of address i to coins; *next is the page's
 * continuation (malloc'd) or NULL after the last page. A bare array is the
 * whole list from a node older than pages. */
static int add_page(const tc_wallet *w, size_t i, json_t *page, tc_wallet_coin **coins, size_t *n, char **next,
                    tc_errmsg *e)
{
    json_t *list = json_is_array(page) ? page : json_object_get(page, "utxos"), *c;
    const char *more = json_string_value(json_object_get(page, "next"));
    bool truncated = json_is_true(json_object_get(page, "truncated"));
    size_t k;
    *next = NULL;
    /* A page that says there is more must list something and move on. */
    if (!json_is_array(list) || (truncated && (more == NULL || json_array_size(list) == 0)))
        return tc_fail(e, TC_EIO, "listunspent answered a malformed page");
    *coins = tc_xrealloc(*coins, (*n + json_array_size(list) + 1) * sizeof **coins);
    json_array_foreach(list, k, c)
    {
        tc_wallet_coin coin = {.addr = *tc_wallet_address(w, i)};
        const char *txid = json_string_value(json_object_get(c, "txid"));
        if (txid == NULL || tc_hex_decode(coin.outpoint.txid.b, 32, txid) != 0)
            return tc_fail(e, TC_EIO, "listunspent answered a malformed coin");
        coin.outpoint.vout = (uint32_t)json_integer_value(json_object_get(c, "vout"));
        coin.value = (uint64_t)json_integer_value(json_object_get(c, "value_sat"));
        coin.locked = json_is_true(json_object_get(c, "locked"));
        (*coins)[(*n)++] = coin;
    }
    if (truncated)
        *next = tc_xstrdup(more);
    return 0;
}

int tc_coins_fetch(const tc_rpc_target *t, const tc_wallet *w, size_t page, tc_wallet_coin **coins, size_t *n,
                   tc_errmsg *e)
{
    json_int_t limit = (json_int_t)(page == 0 || page > TC_COINS_MAX_PAGE ? TC_COINS_MAX_PAGE : page);
    *coins = NULL;
    *n = 0;
    int err = 0;
    for (size_t i = 0; i < tc_wallet_count(w) && err == 0; i++) {
        char a[TC_ADDR_STRLEN], *after = NULL;
        tc_wallet_address_str(w, i, a);
        do {
            json_t *answer;
            int code;
            json_t *params = after ? json_pack("[s, I, s]", a, limit, after) : json_pack("[s, I]", a, limit);
            free(after);
            after = NULL;
            if ((err = tc_rpcclient_call(t, "listunspent", params, &answer, &code, e)) == 0) {
                err = add_page(w, i, answer, coins, n, &after, e);
                json_decref(answer);
            }
        } while (err == 0 && after);
        free(after);
    }
    return err;
}
