/* JSON-RPC 2.0 server over libevent's evhttp. See rpc.h and docs/rpc.md. */
#include "rpc/rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "util/file.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

#define MAX_HEADERS_BYTES (16u << 10)
#define MAX_AUTH_HEADER 1024 /* base64 of user:password */
#define MAX_METHOD_NAME 64
#define CRED_HASH_BYTES 32
#define N_CREDS 2 /* the cookie and rpcuser/rpcpassword */

struct method {
    char *name;
    tc_rpc_handler fn;
    void *ctx;
    char *help;
    uint64_t calls, errors;
};

struct tc_rpc {
    struct event_base *base;
    struct evhttp *http;
    uint16_t port;
    size_t max_body, max_batch;
    struct method *methods; /* sorted by name */
    size_t n_methods;
    /* Credentials are kept only as keyed hashes of "user:password": a
     * presented header is hashed the same way and the equal-length hashes are
     * compared with sodium_memcmp, so neither content nor length leaks. */
    uint8_t hash_key[crypto_generichash_KEYBYTES];
    uint8_t creds[N_CREDS][CRED_HASH_BYTES];
    bool cred_set[N_CREDS];
    char *cookie_path;
    tc_rpc_stats stats;
};

static void *jchk(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "rpc: out of memory in jansson\n");
        abort();
    }
    return p;
}

json_t *tc_rpc_fail(tc_rpc_error *e, int code, const char *fmt, ...)
{
    if (e != NULL) {
        e->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* ---- methods --------------------------------------------------------------- */

static bool valid_method_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MAX_METHOD_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* Index of name, or of where it would go (with *found false). */
static size_t method_slot(const tc_rpc *rpc, const char *name, bool *found)
{
    size_t lo = 0, hi = rpc->n_methods;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rpc->methods[mid].name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static struct method *method_find(tc_rpc *rpc, const char *name)
{
    bool found;
    size_t i = method_slot(rpc, name, &found);
    return found ? &rpc->methods[i] : NULL;
}

int tc_rpc_register(tc_rpc *rpc, const char *name, tc_rpc_handler fn, void *ctx,
                    const char *help)
{
    if (rpc == NULL || fn == NULL || help == NULL || !valid_method_name(name))
        return TC_EINVAL;
    bool found;
    size_t at = method_slot(rpc, name, &found);
    if (found)
        return TC_EEXIST;
    if (rpc->n_methods >= TC_RPC_MAX_METHODS)
        return TC_ELIMIT;
    rpc->methods = tc_xrealloc(rpc->methods, (rpc->n_methods + 1) * sizeof *rpc->methods);
    memmove(&rpc->methods[at + 1], &rpc->methods[at],
            (rpc->n_methods - at) * sizeof *rpc->methods);
    rpc->methods[at] = (struct method){
        .name = tc_xstrdup(name), .fn = fn, .ctx = ctx, .help = tc_xstrdup(help)};
    rpc->n_methods++;
    return 0;
}

/* help ( "method" ): the usage line of every method, or one method's full text. */
static json_t *help_method(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_rpc *rpc = ctx;
    json_t *want = json_is_array(params) ? json_array_get(params, 0)
                                         : json_object_get(params, "command");
    size_t n_given = json_is_array(params) ? json_array_size(params) : json_object_size(params);
    if (n_given > 1 || (n_given == 1 && !json_is_string(want)))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS,
                           "help takes at most one parameter, a method name (string)");
    if (want != NULL) {
        const struct method *m = method_find(rpc, json_string_value(want));
        if (m == NULL)
            return tc_rpc_fail(e, TC_RPC_METHOD_NOT_FOUND, "Method not found: %.64s",
                               json_string_value(want));
        return jchk(json_string(m->help));
    }
    size_t total = 1;
    for (size_t i = 0; i < rpc->n_methods; i++)
        total += strcspn(rpc->methods[i].help, "\n") + 1;
    char *text = tc_xmalloc(total), *w = text;
    for (size_t i = 0; i < rpc->n_methods; i++) {
        size_t l = strcspn(rpc->methods[i].help, "\n");
        memcpy(w, rpc->methods[i].help, l);
        w += l;
        *w++ = '\n';
    }
    if (w > text)
        w--; /* no newline after the last line */
    *w = 0;
    json_t *r = jchk(json_string(text));
    free(text);
    return r;
}

/* ---- envelope -------------------------------------------------------------- */

static json_t *response_new(void)
{
    json_t *r = jchk(json_object());
    json_object_set_new(r, "jsonrpc", jchk(json_string("2.0")));
    return r;
}

static json_t *error_response(tc_rpc *rpc, json_t *id, int code, const char *msg)
{
    rpc->stats.errors++;
    json_t *r = response_new();
    json_t *err = jchk(json_object());
    json_object_set_new(err, "code", jchk(json_integer(code)));
    /* jansson wants UTF-8; a handler's message is ASCII by convention, but
     * never let a bad byte drop the whole answer. */
    json_t *m = json_string(msg);
    json_object_set_new(err, "message", m ? m : jchk(json_string("(message not UTF-8)")));
    json_object_set_new(r, "error", err);
    json_object_set_new(r, "id", id ? json_incref(id) : json_null());
    return r;
}

/* One call. Returns the response object, or NULL for a notification (which
 * gets no answer, not even an error, once it is a well-formed request). */
static json_t *handle_call(tc_rpc *rpc, json_t *req)
{
    rpc->stats.calls++;
    if (!json_is_object(req))
        return error_response(rpc, NULL, TC_RPC_INVALID_REQUEST,
                              "Invalid request: each request must be a JSON object");
    json_t *id = json_object_get(req, "id");
    bool notification = id == NULL;
    if (id != NULL && !json_is_string(id) && !json_is_number(id) && !json_is_null(id))
        return error_response(rpc, NULL, TC_RPC_INVALID_REQUEST,
                              "Invalid request: id must be a string, a number or null");
    json_t *ver = json_object_get(req, "jsonrpc");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0)
        return error_response(rpc, id, TC_RPC_INVALID_REQUEST,
                              "Invalid request: jsonrpc must be \"2.0\"");
    json_t *method = json_object_get(req, "method");
    if (!json_is_string(method))
        return error_response(rpc, id, TC_RPC_INVALID_REQUEST,
                              "Invalid request: method must be a string");
    json_t *params = json_object_get(req, "params");
    if (params != NULL && !json_is_array(params) && !json_is_object(params))
        return error_response(rpc, id, TC_RPC_INVALID_REQUEST,
                              "Invalid request: params must be an array or an object");

    const char *name = json_string_value(method);
    struct method *m = method_find(rpc, name);
    if (m == NULL) {
        if (notification) {
            rpc->stats.errors++;
            return NULL;
        }
        char msg[128];
        snprintf(msg, sizeof msg, "Method not found: %.64s", name);
        return error_response(rpc, id, TC_RPC_METHOD_NOT_FOUND, msg);
    }

    json_t *empty = NULL;
    if (params == NULL)
        params = empty = jchk(json_array());
    tc_rpc_error e = {0};
    json_t *result = m->fn(m->ctx, params, &e);
    json_decref(empty);
    m->calls++;
    if (result == NULL) {
        m->errors++;
        if (e.code == 0)
            snprintf(e.message, sizeof e.message, "internal error in %s", m->name);
        if (notification) {
            rpc->stats.errors++;
            return NULL;
        }
        return error_response(rpc, id, e.code ? e.code : TC_RPC_INTERNAL_ERROR,
                              e.message[0] ? e.message : "internal error");
    }
    if (notification) {
        json_decref(result);
        return NULL;
    }
    json_t *r = response_new();
    json_object_set_new(r, "result", result);
    json_object_set_new(r, "id", json_incref(id));
    return r;
}

char *tc_rpc_handle(tc_rpc *rpc, const char *body, size_t len, size_t *out_len)
{
    json_t *resp = NULL;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        rpc->stats.parse_errors++;
        char msg[256];
        snprintf(msg, sizeof msg, "Parse error: %s (line %d, column %d)", je.text, je.line,
                 je.column);
        resp = error_response(rpc, NULL, TC_RPC_PARSE_ERROR, msg);
    } else if (json_is_array(root)) {
        rpc->stats.batches++;
        size_t n = json_array_size(root);
        char msg[128];
        if (n == 0) {
            resp = error_response(rpc, NULL, TC_RPC_INVALID_REQUEST,
                                  "Invalid request: empty batch");
        } else if (n > rpc->max_batch) {
            snprintf(msg, sizeof msg,
                     "Invalid request: batch of %zu calls exceeds the limit of %zu", n,
                     rpc->max_batch);
            resp = error_response(rpc, NULL, TC_RPC_INVALID_REQUEST, msg);
        } else {
            resp = jchk(json_array());
            for (size_t i = 0; i < n; i++) {
                json_t *r = handle_call(rpc, json_array_get(root, i));
                if (r != NULL)
                    json_array_append_new(resp, r);
            }
            if (json_array_size(resp) == 0) {
                json_decref(resp);
                resp = NULL;
            }
        }
    } else {
        resp = handle_call(rpc, root);
    }
    json_decref(root);

    char *out = NULL;
    if (resp != NULL) {
        out = jchk(json_dumps(resp, JSON_COMPACT));
        json_decref(resp);
    }
    if (out_len != NULL)
        *out_len = out ? strlen(out) : 0;
    return out;
}

/* ---- authentication ---------------------------------------------------------- */

static void cred_hash(const tc_rpc *rpc, const void *p, size_t n, uint8_t out[CRED_HASH_BYTES])
{
    crypto_generichash(out, CRED_HASH_BYTES, p, n, rpc->hash_key, sizeof rpc->hash_key);
}

static void cred_set(tc_rpc *rpc, int slot, const char *user, const char *password)
{
    size_t ul = strlen(user), pl = strlen(password);
    uint8_t *both = sodium_malloc(ul + 1 + pl);
    if (both == NULL)
        abort();
    memcpy(both, user, ul);
    both[ul] = ':';
    memcpy(both + ul + 1, password, pl);
    cred_hash(rpc, both, ul + 1 + pl, rpc->creds[slot]);
    rpc->cred_set[slot] = true;
    sodium_free(both); /* wipes */
}

/* True if the request carries "Authorization: Basic <base64(user:password)>"
 * matching one of the credentials. */
static bool authorized(const tc_rpc *rpc, struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
        return false;
    h += 6;
    while (*h == ' ')
        h++;
    size_t hl = strnlen(h, MAX_AUTH_HEADER + 1);
    if (hl > MAX_AUTH_HEADER)
        return false;
    uint8_t plain[MAX_AUTH_HEADER], got[CRED_HASH_BYTES];
    size_t pl = 0;
    bool ok = false;
    if (sodium_base642bin(plain, sizeof plain, h, hl, NULL, &pl, NULL,
                          sodium_base64_VARIANT_ORIGINAL) == 0) {
        cred_hash(rpc, plain, pl, got);
        int match = 0;
        for (int i = 0; i < N_CREDS; i++)
            match |= rpc->cred_set[i] && sodium_memcmp(got, rpc->creds[i], sizeof got) == 0;
        ok = match != 0;
    }
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(got, sizeof got);
    return ok;
}

/* Writes <dir>/.cookie with a fresh password, mode 0600, atomically
 * (tc_file_write), and installs it as a credential. 0 or TC_EIO. */
static int cookie_create(tc_rpc *rpc, const char *dir)
{
    size_t dl = strlen(dir);
    char *path = tc_xmalloc(dl + sizeof "/" TC_RPC_COOKIE_FILE);
    sprintf(path, "%s/%s", dir, TC_RPC_COOKIE_FILE);

    uint8_t secret[32];
    char line[sizeof TC_RPC_COOKIE_USER ":" + 2 * sizeof secret];
    char *password = line + sizeof TC_RPC_COOKIE_USER; /* after "__cookie__:" */
    randombytes_buf(secret, sizeof secret);
    memcpy(line, TC_RPC_COOKIE_USER ":", sizeof TC_RPC_COOKIE_USER);
    tc_hex_encode(password, secret, sizeof secret);

    int rc = TC_EIO;
    tc_errmsg e;
    if (tc_file_write(path, line, strlen(line), 0600, true, &e) != 0) {
        tc_log_error("rpc", "cannot write cookie file", "path=%s error=%s", path, e.msg);
        goto out;
    }
    cred_set(rpc, 0, TC_RPC_COOKIE_USER, password);
    rpc->cookie_path = path;
    path = NULL;
    rc = 0;
out:
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(line, sizeof line);
    free(path);
    return rc;
}

/* ---- HTTP -------------------------------------------------------------------- */

static void reply_text(struct evhttp_request *req, int status, const char *reason, const char *text)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL)
        abort();
    evbuffer_add(b, text, strlen(text));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evhttp_send_reply(req, status, reason, b);
    evbuffer_free(b);
}

static void http_cb(struct evhttp_request *req, void *arg)
{
    tc_rpc *rpc = arg;
    struct evkeyvalq *out_h = evhttp_request_get_output_headers(req);
    rpc->stats.http_requests++;
    if (!authorized(rpc, req)) {
        rpc->stats.http_unauthorized++;
        evhttp_add_header(out_h, "WWW-Authenticate", "Basic realm=\"jsonrpc\"");
        reply_text(req, 401, "Unauthorized", "authentication required\n");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(out_h, "Allow", "POST");
        reply_text(req, 405, "Method Not Allowed", "JSON-RPC takes POST /\n");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || strcmp(path, "/") != 0) {
        reply_text(req, 404, "Not Found", "JSON-RPC is at POST /\n");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
    if (body == NULL)
        abort();
    size_t out_len;
    char *out = tc_rpc_handle(rpc, body, len, &out_len);
    if (out == NULL) {
        evhttp_send_reply(req, 204, "No Content", NULL);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (b == NULL)
        abort();
    evbuffer_add(b, out, out_len);
    evbuffer_add(b, "\n", 1);
    free(out);
    evhttp_add_header(out_h, "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static int http_bind(struct evhttp *http, const char *listen, uint16_t *port)
{
    char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    const char *ps = colon ? colon + 1 : listen;
    if (listen == NULL || *ps == 0 || strspn(ps, "0123456789") != strlen(ps) || strlen(ps) > 5)
        return TC_ENET_ADDR;
    unsigned long pn = strtoul(ps, NULL, 10);
    if (pn > 65535)
        return TC_ENET_ADDR;
    if (colon != NULL && colon != listen) {
        size_t hl = (size_t)(colon - listen);
        if (listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']') {
            listen++;
            hl -= 2;
        }
        if (hl == 0 || hl >= sizeof host)
            return TC_ENET_ADDR;
        memcpy(host, listen, hl);
        host[hl] = 0;
    }
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(http, host, (uint16_t)pn);
    if (s == NULL) {
        tc_log_error("rpc", "cannot listen", "host=%s port=%lu error=%s", host, pn,
                     strerror(errno));
        return TC_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *port = 0;
    if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &sl) == 0)
        *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

struct evhttp *tc_rpc_http_listen(struct event_base *base, const char *listen,
                                  uint32_t timeout_ms, size_t max_body,
                                  void (*cb)(struct evhttp_request *, void *), void *arg,
                                  uint16_t *port, int *err)
{
    struct evhttp *http = evhttp_new(base);
    if (http == NULL) {
        *err = TC_EIO;
        return NULL;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    evhttp_set_timeout_tv(http, &tv);
    evhttp_set_max_body_size(http, (ev_ssize_t)max_body);
    evhttp_set_max_headers_size(http, MAX_HEADERS_BYTES);
    /* Every method reaches cb, which answers 405 itself (libevent would say 501). */
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                         EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(http, cb, arg);
    *err = http_bind(http, listen, port);
    if (*err != 0) {
        evhttp_free(http);
        return NULL;
    }
    return http;
}

/* ---- lifecycle --------------------------------------------------------------- */

tc_rpc *tc_rpc_new(struct event_base *base, const char *listen, const tc_rpc_opts *opts,
                   int *err)
{
    int rc = TC_EINVAL;
    tc_rpc *rpc = NULL;
    const tc_rpc_opts none = {0};
    if (opts == NULL)
        opts = &none;
    bool userpass = opts->user && opts->user[0] && opts->password && opts->password[0];
    bool cookie = opts->cookie_dir && opts->cookie_dir[0];
    if ((opts->user && opts->user[0]) != (opts->password && opts->password[0]) ||
        (opts->user && strchr(opts->user, ':') != NULL))
        goto out;
    if (listen != NULL && (base == NULL || (!userpass && !cookie)))
        goto out;
    if (sodium_init() < 0) {
        rc = TC_ECRYPTO;
        goto out;
    }
    rpc = tc_xcalloc(1, sizeof *rpc);
    rpc->base = base;
    rpc->max_body = opts->max_body ? opts->max_body : TC_RPC_DEFAULT_MAX_BODY;
    rpc->max_batch = opts->max_batch ? opts->max_batch : TC_RPC_DEFAULT_MAX_BATCH;
    randombytes_buf(rpc->hash_key, sizeof rpc->hash_key);
    if (tc_rpc_register(rpc, "help", help_method, rpc,
                        "help ( \"method\" )\n"
                        "Lists the methods with their usage line, or shows the full help of one.") != 0)
        abort();
    if (listen == NULL) {
        rc = 0;
        goto out;
    }

    if (userpass)
        cred_set(rpc, 1, opts->user, opts->password);
    rpc->http = tc_rpc_http_listen(base, listen,
                                   opts->timeout_ms ? opts->timeout_ms : TC_RPC_DEFAULT_TIMEOUT_MS,
                                   rpc->max_body, http_cb, rpc, &rpc->port, &rc);
    if (rpc->http == NULL)
        goto out;
    if (cookie && (rc = cookie_create(rpc, opts->cookie_dir)) != 0)
        goto out;
    tc_log_info("rpc", "JSON-RPC listening", "addr=%s port=%u auth=%s", listen,
                (unsigned)rpc->port, cookie && userpass ? "cookie+user" : cookie ? "cookie" : "user");
out:
    if (rc != 0) {
        tc_rpc_free(rpc);
        rpc = NULL;
    }
    if (err != NULL)
        *err = rc;
    return rpc;
}

void tc_rpc_free(tc_rpc *rpc)
{
    if (rpc == NULL)
        return;
    if (rpc->http != NULL)
        evhttp_free(rpc->http);
    if (rpc->cookie_path != NULL) {
        if (unlink(rpc->cookie_path) != 0 && errno != ENOENT)
            tc_log_warn("rpc", "cannot remove cookie file", "path=%s error=%s", rpc->cookie_path,
                        strerror(errno));
        free(rpc->cookie_path);
    }
    for (size_t i = 0; i < rpc->n_methods; i++) {
        free(rpc->methods[i].name);
        free(rpc->methods[i].help);
    }
    free(rpc->methods);
    sodium_memzero(rpc, sizeof *rpc);
    free(rpc);
}

uint16_t tc_rpc_port(const tc_rpc *rpc)
{
    return rpc->port;
}

const char *tc_rpc_cookie_path(const tc_rpc *rpc)
{
    return rpc->cookie_path;
}

void tc_rpc_stats_get(const tc_rpc *rpc, tc_rpc_stats *out)
{
    *out = rpc->stats;
}

void tc_rpc_stats_each(const tc_rpc *rpc,
                       void (*fn)(void *ctx, const char *method, uint64_t calls, uint64_t errors),
                       void *ctx)
{
    for (size_t i = 0; i < rpc->n_methods; i++)
        fn(ctx, rpc->methods[i].name, rpc->methods[i].calls, rpc->methods[i].errors);
}
