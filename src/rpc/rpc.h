/* The JSON-RPC 2.0 server: HTTP POST / on a bounded HTTP listener (http.h), HTTP
 * Basic authentication (a cookie file in the data dir and/or rpcuser /
 * rpcpassword), bounded requests and connections (body size, batch size, connection
 * cap, deadlines), the
 * JSON-RPC envelope (ids, notifications, batches, error objects) and a
 * built-in `help`. The node registers its methods; docs/rpc.md is the
 * protocol reference.
 *
 * Thread rule: every function here, and every handler, runs on the thread of
 * the event_base given to tc_rpc_new. Handlers run to completion inside the
 * loop (no suspended requests), so a slow handler delays the whole loop. */
#ifndef TC_RPC_RPC_H
#define TC_RPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "util/err.h"

/* The cookie file written into opts.cookie_dir: one line "__cookie__:<64 hex>". */
#define TC_RPC_COOKIE_FILE ".cookie"
#define TC_RPC_COOKIE_USER "__cookie__"

#define TC_RPC_DEFAULT_MAX_BODY (1u << 20)
#define TC_RPC_DEFAULT_MAX_BATCH 100
#define TC_RPC_DEFAULT_TIMEOUT_MS 15000
#define TC_RPC_DEFAULT_MAX_CONNECTIONS 32
#define TC_RPC_MAX_METHODS 256

/* JSON-RPC 2.0 error codes; application errors use other values (a handler's
 * code and message reach the client unchanged). */
enum tc_rpc_code {
    TC_RPC_PARSE_ERROR = -32700,
    TC_RPC_INVALID_REQUEST = -32600,
    TC_RPC_METHOD_NOT_FOUND = -32601,
    TC_RPC_INVALID_PARAMS = -32602,
    TC_RPC_INTERNAL_ERROR = -32603,
};

/* What a failing handler reports. */
typedef struct {
    int code;
    char message[256];
} tc_rpc_error;

/* Fills *e and returns NULL, so a handler fails in one line:
 *   return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "height %lld out of range", h); */
json_t *tc_rpc_fail(tc_rpc_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A method. params is the request's array or object (an empty array when the
 * request has none), borrowed for the call. Returns a new reference to the
 * result (json_null() for "nothing"), or NULL with *e filled. NULL with
 * e->code == 0 becomes -32603 "internal error in <method>". */
typedef json_t *(*tc_rpc_handler)(void *ctx, json_t *params, tc_rpc_error *e);

/* Zero in a numeric field means its default. */
typedef struct {
    /* Authentication: at least one of the two unless the server has no listener. */
    const char *cookie_dir; /* write <dir>/.cookie (mode 0600) now, remove it on free */
    const char *user;       /* with password: Basic credentials user:password */
    const char *password;
    size_t max_body;     /* request body bytes: TC_RPC_DEFAULT_MAX_BODY; over it → HTTP 413 */
    size_t max_batch;    /* calls per batch: TC_RPC_DEFAULT_MAX_BATCH */
    uint32_t timeout_ms; /* keep-alive idle time and write deadline: TC_RPC_DEFAULT_TIMEOUT_MS
                          * (headers are due within 5 s, a body within 10 s: http.h) */
    unsigned max_connections; /* open connections at most: TC_RPC_DEFAULT_MAX_CONNECTIONS;
                               * one more is answered 503 and closed */
} tc_rpc_opts;

typedef struct tc_rpc tc_rpc;

/* Creates the server and binds `listen` ("host:port", "[v6]:port", ":port" or
 * "port"; a missing host means 127.0.0.1, port 0 any free port). listen NULL
 * gives a server without a listener, for tc_rpc_handle only (fuzzing). The
 * `help` method is registered. NULL with *err: TC_EINVAL (bad options or no
 * authentication), TC_ENET_ADDR (bad address), TC_EIO (cannot bind, cannot
 * write the cookie). */
tc_rpc *tc_rpc_new(struct event_base *base, const char *listen, const tc_rpc_opts *opts,
                   int *err);
/* Closes the listener and every connection, removes the cookie file, wipes
 * the credentials. NULL is a no-op. */
void tc_rpc_free(tc_rpc *rpc);

/* The bound port (0 without a listener). */
uint16_t tc_rpc_port(const tc_rpc *rpc);
/* The cookie file's path, or NULL without one; valid until tc_rpc_free. */
const char *tc_rpc_cookie_path(const tc_rpc *rpc);

/* Adds a method. name: 1..64 of [A-Za-z0-9_.]; help: its first line is the
 * usage ("getblockhash height"), the rest the description; both copied.
 * ctx is passed to the handler and must outlive the server.
 * 0, TC_EINVAL (bad name, NULL handler or help), TC_EEXIST, TC_ELIMIT. */
int tc_rpc_register(tc_rpc *rpc, const char *name, tc_rpc_handler fn, void *ctx,
                    const char *help) TC_MUST_CHECK;

/* Runs one HTTP body through the envelope and the handlers, exactly as POST /
 * would (after authentication). Returns the response text (malloc'd, NUL
 * terminated, caller frees; its length in *out_len if not NULL), or NULL when
 * nothing is to be answered (only notifications). */
char *tc_rpc_handle(tc_rpc *rpc, const char *body, size_t len, size_t *out_len);

/* Server-wide counters since tc_rpc_new. */
typedef struct {
    uint64_t http_requests;    /* requests that reached the server (after size checks) */
    uint64_t http_unauthorized;/* answered 401 */
    uint64_t calls;            /* JSON-RPC calls, batch entries counted one by one */
    uint64_t errors;           /* calls and envelopes answered (or due) with an error */
    uint64_t parse_errors;     /* -32700 */
    uint64_t batches;
} tc_rpc_stats;

void tc_rpc_stats_get(const tc_rpc *rpc, tc_rpc_stats *out);
/* Calls fn once per registered method, in name order, with its counters:
 * calls handled and calls that ended with an error. */
void tc_rpc_stats_each(const tc_rpc *rpc,
                       void (*fn)(void *ctx, const char *method, uint64_t calls, uint64_t errors),
                       void *ctx);

#endif
