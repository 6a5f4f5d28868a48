/* A small bounded HTTP/1.1 server for the node's local listeners (JSON-RPC,
 * metrics, health). It exists because libevent 2.1's evhttp has no
 * connection cap, only per-read inactivity timeouts (a client that sends a
 * byte every 29 s lives forever) and spins on accept() when descriptors run
 * out. Here every resource a client can hold is bounded:
 *
 *   - at most max_connections open connections; one more is accepted and
 *     answered 503 + closed at once, never left in the backlog;
 *   - an accepted descriptor that leaves fewer than fd_reserve free
 *     (tc_fdlimit_low) is closed at once;
 *   - EMFILE/ENFILE (or any hard accept error) disables the listener for a
 *     backoff (100 ms doubling to 1 s), re-enabled from a timer, with one log
 *     line per backoff;
 *   - deadlines measured from the start of each phase, never reset by a
 *     byte: the request line and headers within header_timeout_ms of the
 *     connect (or of the first byte of a keep-alive request), the body within
 *     body_timeout_ms of the headers, the response written within
 *     write_timeout_ms, and a kept-alive connection closed after
 *     idle_timeout_ms without a new request;
 *   - headers at most TC_HTTP_MAX_HEADER_BYTES (431), a body at most max_body
 *     (413 before the body is read, on the announced Content-Length).
 *
 * Requests carry a Content-Length body or none (Transfer-Encoding is
 * answered 501). HTTP/1.1 keep-alive, "Connection: close", HTTP/1.0,
 * "Expect: 100-continue" and HEAD (headers of GET, no body) are handled
 * here; handlers see complete requests only and answer synchronously.
 *
 * Thread rule: everything runs on the thread of the event_base. */
#ifndef TC_RPC_HTTP_H
#define TC_RPC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "util/err.h"

#define TC_HTTP_MAX_HEADER_BYTES (16u << 10) /* request line + headers */
#define TC_HTTP_MAX_HEADERS 64
#define TC_HTTP_DEFAULT_MAX_CONNECTIONS 32
#define TC_HTTP_DEFAULT_MAX_BODY (1u << 20)
#define TC_HTTP_DEFAULT_HEADER_TIMEOUT_MS 5000
#define TC_HTTP_DEFAULT_BODY_TIMEOUT_MS 10000
#define TC_HTTP_DEFAULT_IDLE_TIMEOUT_MS 15000
#define TC_HTTP_DEFAULT_WRITE_TIMEOUT_MS 10000
#define TC_HTTP_MAX_CONNECTIONS_LIMIT 10000 /* what a configuration may ask for */

typedef struct {
    const char *name, *value; /* NUL-terminated, value without surrounding blanks */
} tc_http_field;

/* A complete request, valid for the duration of the handler call. */
typedef struct {
    const char *method;  /* as sent, e.g. "GET" */
    const char *path;    /* the target without its query string, e.g. "/metrics" */
    const tc_http_field *fields;
    size_t n_fields;
    const uint8_t *body; /* body_len bytes, not NUL-terminated; "" when empty */
    size_t body_len;
} tc_http_request;

/* Parses a request head, the request line and header fields without the
 * blank line that ends them, in p[0..len); p[len] must be writable. Works in
 * place: the strings of *req point into p, its fields into `fields`; the
 * body is left empty. *minor is the HTTP/1.x minor version. Returns 0, or
 * the status to refuse with: 400 (malformed, a NUL byte, obs-fold), 431
 * (over TC_HTTP_MAX_HEADER_BYTES or TC_HTTP_MAX_HEADERS fields), 505. */
int tc_http_parse_head(char *p, size_t len, tc_http_request *req,
                       tc_http_field fields[TC_HTTP_MAX_HEADERS], unsigned *minor);

/* The value of the first header named `name` (case-insensitive), or NULL. */
const char *tc_http_header(const tc_http_request *req, const char *name);

typedef struct tc_http_response tc_http_response;

/* Answers the request: status (100..599 except 1xx), content_type (NULL: no
 * Content-Type), extra_headers (NULL or complete lines "Name: value\r\n",
 * e.g. "Allow: POST\r\n"), the body (copied; left out for HEAD, and for 204
 * and 304, which have none). The server adds Content-Length and
 * Connection. Call it at most once per request; a handler that does not
 * answer gets 500. */
void tc_http_respond(tc_http_response *resp, int status, const char *content_type,
                     const char *extra_headers, const void *body, size_t len);

/* Called once per complete request, on the loop thread. */
typedef void (*tc_http_handler)(void *ctx, const tc_http_request *req, tc_http_response *resp);

/* Zero in a field means its default (TC_HTTP_DEFAULT_*; fd_reserve:
 * TC_FDLIMIT_RESERVE). */
typedef struct {
    const char *name; /* the log component, e.g. "rpc"; NULL: "http" */
    unsigned max_connections;
    size_t max_body;
    uint32_t header_timeout_ms, body_timeout_ms, idle_timeout_ms, write_timeout_ms;
    unsigned fd_reserve;
} tc_http_opts;

typedef struct tc_http tc_http;

/* Binds `listen` ("host:port", "[v6]:port", ":port" or "port"; no host means
 * 127.0.0.1, port 0 any free port) and serves it with fn(ctx, ...). opts may
 * be NULL (all defaults). ctx must outlive the server. Returns the server,
 * or NULL with *err: TC_EINVAL (NULL base or fn, max_connections over
 * TC_HTTP_MAX_CONNECTIONS_LIMIT), TC_ENET_ADDR (bad address), TC_EIO
 * (cannot bind). */
tc_http *tc_http_new(struct event_base *base, const char *listen, const tc_http_opts *opts,
                     tc_http_handler fn, void *ctx, int *err);
/* Closes the listener and every connection. NULL is a no-op. */
void tc_http_free(tc_http *h);
/* The bound port. */
uint16_t tc_http_port(const tc_http *h);

/* Counters since tc_http_new, and the connections open now. */
typedef struct {
    uint64_t accepted;      /* connections served */
    uint64_t refused_full;  /* closed at once: max_connections were open */
    uint64_t refused_fds;   /* closed at once: descriptors low */
    uint64_t accept_errors; /* accept() failures that paused the listener */
    uint64_t timeouts;      /* connections cut by a deadline */
    uint64_t requests;      /* requests answered (server errors included) */
    unsigned open;
} tc_http_stats;

void tc_http_stats_get(const tc_http *h, tc_http_stats *out);

#endif
