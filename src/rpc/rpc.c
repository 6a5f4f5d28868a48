/* JSON-RPC 2.0 server over the bounded HTTP server (http.h). See rpc.h and docs/rpc.md. */
#include "rpc/rpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "rpc/http.h"
#include "util/file.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

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
    tc_http *http;
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
static bool authorized(const tc_rpc *rpc, const tc_http_request *req)
{
    const char *h = tc_http_header(req, "Authorization");
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
        tc_log_error("rpc", "cannot write cookie file", "path=%s error=%s hint=%s", path, e.msg,
                     "free space on the data dir's disk (df) or make the data dir writable by the node's user");
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

static const char *const PLAIN = "text/plain; charset=utf-8";

static void http_cb(void *arg, const tc_http_request *req, tc_http_response *resp)
{
    tc_rpc *rpc = arg;
    rpc->stats.http_requests++;
    if (!authorized(rpc, req)) {
        rpc->stats.http_unauthorized++;
        tc_http_respond(resp, 401, PLAIN, "WWW-Authenticate: Basic realm=\"jsonrpc\"\r\n",
                        "authentication required\n", 24);
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        tc_http_respond(resp, 405, PLAIN, "Allow: POST\r\n", "JSON-RPC takes POST /\n", 22);
        return;
    }
    if (strcmp(req->path, "/") != 0) {
        tc_http_respond(resp, 404, PLAIN, NULL, "JSON-RPC is at POST /\n", 22);
        return;
    }
    size_t out_len;
    char *out = tc_rpc_handle(rpc, (const char *)req->body, req->body_len, &out_len);
    if (out == NULL) {
        tc_http_respond(resp, 204, NULL, NULL, NULL, 0);
        return;
    }
    out = tc_xrealloc(out, out_len + 1);
    out[out_len] = '\n';
    tc_http_respond(resp, 200, "application/json", NULL, out, out_len + 1);
    free(out);
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
    uint32_t timeout = opts->timeout_ms ? opts->timeout_ms : TC_RPC_DEFAULT_TIMEOUT_MS;
    tc_http_opts ho = {.name = "rpc",
                       .max_connections = opts->max_connections ? opts->max_connections
                                                                : TC_RPC_DEFAULT_MAX_CONNECTIONS,
                       .max_body = rpc->max_body,
                       .idle_timeout_ms = timeout,
                       .write_timeout_ms = timeout};
    rpc->http = tc_http_new(base, listen, &ho, http_cb, rpc, &rc);
    if (rpc->http == NULL)
        goto out;
    rpc->port = tc_http_port(rpc->http);
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
    tc_http_free(rpc->http);
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
