/* A blocking JSON-RPC 2.0 client for time-cli and tests: one HTTP/1.1 POST
 * per call to a node on this machine or the network, with Basic auth from
 * the node's cookie file or given credentials, bounded in time and size. */
#ifndef TC_RPC_CLIENT_H
#define TC_RPC_CLIENT_H

#include <jansson.h>
#include <stdint.h>

#include "util/err.h"

typedef struct {
    char host[64];
    uint16_t port;
    char auth[256]; /* "user:password" */
} tc_rpc_target;

/* "host:port" ("[v6]:port" too; a wildcard host means this machine) with
 * the credentials of the node's cookie file at cookie_path. */
int tc_rpcclient_from_cookie(tc_rpc_target *t, const char *hostport, const char *cookie_path,
                             tc_errmsg *e) TC_MUST_CHECK;
/* "host:port" with user and password. */
int tc_rpcclient_from_addr(tc_rpc_target *t, const char *hostport, const char *user, const char *password,
                           tc_errmsg *e) TC_MUST_CHECK;
/* Wipes the credentials. */
void tc_rpcclient_wipe(tc_rpc_target *t);

/* Calls method with params (an array; the reference is stolen). On success
 * *result is a new reference. A JSON-RPC error returns TC_EINVAL with
 * *rpc_code and its message in e; transport problems return TC_EIO (e says
 * what: connection refused, 401 …). */
int tc_rpcclient_call(const tc_rpc_target *t, const char *method, json_t *params, json_t **result, int *rpc_code,
                      tc_errmsg *e) TC_MUST_CHECK;

/* A kept-alive connection for many calls (load tools, benchmarks): one
 * HTTP/1.1 connection reused while the node keeps it open. Not thread-safe:
 * one per thread. */
typedef struct tc_rpcconn tc_rpcconn;

/* Connects to t (copied; the copy is wiped at close). */
int tc_rpcconn_open(tc_rpcconn **out, const tc_rpc_target *t, tc_errmsg *e) TC_MUST_CHECK;
/* Closes and frees (NULL is fine). */
void tc_rpcconn_close(tc_rpcconn *c);
/* Posts a ready JSON-RPC body (one request or a batch) of len bytes; on
 * success *resp is the parsed answer (a new reference: an object, or an
 * array for a batch). Transport problems return TC_EIO, explained in e.
 * Sent again, once, on a fresh connection only when the kept-alive one is
 * found closed before any byte of the answer (the node closed it while
 * idle); after a timeout, part of an answer or an HTTP error the node may
 * have acted on the body, so the error is returned as it is and the
 * connection closed (the next call opens a new one). */
int tc_rpcconn_post(tc_rpcconn *c, const char *body, size_t len, json_t **resp, tc_errmsg *e) TC_MUST_CHECK;
/* tc_rpcclient_call over the connection. */
int tc_rpcconn_call(tc_rpcconn *c, const char *method, json_t *params, json_t **result, int *rpc_code,
                    tc_errmsg *e) TC_MUST_CHECK;

#endif
