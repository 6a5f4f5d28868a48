/* libFuzzer: JSON-RPC request bodies through the server's envelope handling
 * (tc_rpc_handle: parsing, ids, batches, notifications, errors) with a
 * couple of methods registered. Every answer must itself be valid JSON. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"

static json_t *echo(void *ctx, json_t *params, tc_rpc_error *e)
{
    return json_incref(params);
}

static json_t *fails(void *ctx, json_t *params, tc_rpc_error *e)
{
    return tc_rpc_fail(e, -26, "rejected: %zu params", json_array_size(params));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tc_rpc *rpc;
    if (rpc == NULL) {
        tc_rpc_opts o = {.user = "u", .password = "p"};
        int err;
        rpc = tc_rpc_new(NULL, NULL, &o, &err);
        if (rpc == NULL || tc_rpc_register(rpc, "echo", echo, NULL, "echo params\nReturns its params.") ||
            tc_rpc_register(rpc, "fails", fails, NULL, "fails\nAlways an error."))
            abort();
    }
    size_t len = 0;
    char *out = tc_rpc_handle(rpc, (const char *)data, size, &len);
    if (out) {
        json_error_t jerr;
        json_t *j = json_loadb(out, len, JSON_DECODE_ANY, &jerr);
        if (j == NULL)
            abort(); /* the server answered something that is not JSON */
        json_decref(j);
        free(out);
    }
    return 0;
}
