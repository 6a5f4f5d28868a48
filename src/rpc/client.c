#include "rpc/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/mem.h"

#define CALL_TIMEOUT_S 60
#define MAX_RESPONSE (64u << 20)

static int split_hostport(tc_rpc_target *t, const char *hp, tc_errmsg *e)
{
    const char *colon = strrchr(hp, ':');
    char *end;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    const char *host = hp;
    size_t hlen = colon ? (size_t)(colon - hp) : 0;
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') { /* [v6]:port */
        host++;
        hlen -= 2;
    }
    if (colon == NULL || hlen == 0 || *end != '\0' || port == 0 || port > 65535 || hlen >= sizeof t->host)
        return tc_fail(e, TC_ECONFIG, "RPC address \"%s\": expected host:port", hp);
    snprintf(t->host, sizeof t->host, "%.*s", (int)hlen, host);
    t->port = (uint16_t)port;
    return 0;
}

int tc_rpcclient_from_cookie(tc_rpc_target *t, const char *hostport, const char *cookie_path, tc_errmsg *e)
{
    memset(t, 0, sizeof *t);
    int err = split_hostport(t, hostport, e);
    if (err)
        return err;
    /* a node listening on every address is reached on loopback */
    if (strcmp(t->host, "0.0.0.0") == 0)
        snprintf(t->host, sizeof t->host, "127.0.0.1");
    else if (strcmp(t->host, "::") == 0)
        snprintf(t->host, sizeof t->host, "::1");
    FILE *f = fopen(cookie_path, "r");
    if (f == NULL)
        return tc_fail(e, TC_EIO, "%s: cannot read the RPC cookie (is timed running with this data dir?): %s",
                       cookie_path, strerror(errno));
    char *ok = fgets(t->auth, sizeof t->auth, f);
    fclose(f);
    if (ok == NULL || strchr(t->auth, ':') == NULL) {
        tc_rpcclient_wipe(t);
        return tc_fail(e, TC_EIO, "%s: not a cookie file", cookie_path);
    }
    t->auth[strcspn(t->auth, "\r\n")] = '\0';
    return 0;
}

int tc_rpcclient_from_addr(tc_rpc_target *t, const char *hostport, const char *user, const char *password,
                           tc_errmsg *e)
{
    memset(t, 0, sizeof *t);
    if (user == NULL || password == NULL)
        return tc_fail(e, TC_ECONFIG, "--rpc needs --rpcuser and --rpcpassword");
    int err = split_hostport(t, hostport, e);
    if (err)
        return err;
    if ((size_t)snprintf(t->auth, sizeof t->auth, "%s:%s", user, password) >= sizeof t->auth)
        return tc_fail(e, TC_ECONFIG, "RPC credentials longer than %zu characters", sizeof t->auth - 1);
    return 0;
}

void tc_rpcclient_wipe(tc_rpc_target *t)
{
    sodium_memzero(t->auth, sizeof t->auth);
}

static int connect_to(const tc_rpc_target *t, tc_errmsg *e)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    char port[8];
    snprintf(port, sizeof port, "%u", t->port);
    int rc = getaddrinfo(t->host, port, &hints, &res);
    if (rc != 0)
        return tc_fail(e, TC_EIO, "%s:%u: %s", t->host, t->port, gai_strerror(rc));
    int fd = -1, saved = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {CALL_TIMEOUT_S, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return tc_fail(e, TC_EIO, "cannot connect to the node's RPC at %s:%u: %s", t->host, t->port,
                       strerror(saved));
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

struct tc_rpcconn {
    tc_rpc_target t;
    int fd; /* -1: not connected */
    tc_buf in;
};

int tc_rpcconn_open(tc_rpcconn **out, const tc_rpc_target *t, tc_errmsg *e)
{
    tc_rpcconn *c = tc_xcalloc(1, sizeof *c);
    c->t = *t;
    tc_buf_init(&c->in);
    c->fd = connect_to(t, e);
    if (c->fd < 0) {
        int err = c->fd;
        tc_rpcconn_close(c);
        return err;
    }
    *out = c;
    return 0;
}

void tc_rpcconn_close(tc_rpcconn *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    tc_rpcclient_wipe(&c->t);
    tc_buf_release(&c->in);
    free(c);
}

/* Whether a send, or a receive before any byte of the answer, failed because
 * the node had closed the connection: the keep-alive race (it closed the
 * connection while idle and never took the request), the one failure worth
 * sending again. A node that read a request and closed without a byte of
 * answer would look the same; ours answers every request it reads. */
static bool closed_by_peer(ssize_t r, int err)
{
    return r == 0 || (r < 0 && (err == EPIPE || err == ECONNRESET));
}

/* Reads one HTTP answer: headers, then a Content-Length body (or, without
 * one, everything until the server closes). Leaves status and the body in
 * c->in (NUL-terminated), *body pointing into it. *stale is set when the
 * connection turned out closed before any byte arrived. */
static int read_answer(tc_rpcconn *c, int *status, const char **body, bool *stale, tc_errmsg *e)
{
    const tc_rpc_target *t = &c->t;
    c->in.len = 0;
    size_t need = SIZE_MAX, head_end = 0;
    while (c->in.len < need) {
        uint8_t *p = tc_buf_extend(&c->in, 65536);
        ssize_t r = recv(c->fd, p, 65536, 0);
        c->in.len -= 65536 - (r > 0 ? (size_t)r : 0);
        if (r == 0 && need == SIZE_MAX && head_end)
            break; /* no Content-Length: the body ends with the connection */
        if (r <= 0 && c->in.len == 0)
            *stale = closed_by_peer(r, errno);
        if (r <= 0 || c->in.len > MAX_RESPONSE)
            return tc_fail(e, TC_EIO, "RPC %s:%u: %s", t->host, t->port,
                           r == 0    ? "the node closed the connection"
                           : r < 0   ? (errno == EAGAIN ? "no answer within 60 s" : strerror(errno))
                                     : "answer too large");
        if (head_end == 0) {
            const uint8_t *end = memmem(c->in.p, c->in.len, "\r\n\r\n", 4);
            if (end == NULL)
                continue;
            head_end = (size_t)(end - c->in.p) + 4;
            const uint8_t *cl = memmem(c->in.p, head_end, "\r\nContent-Length:", 17);
            if (cl)
                need = head_end + strtoul((const char *)cl + 17, NULL, 10);
        }
    }
    tc_buf_u8(&c->in, 0);
    if (sscanf((const char *)c->in.p, "HTTP/1.%*d %d", status) != 1)
        return tc_fail(e, TC_EIO, "RPC %s:%u: not an HTTP answer", t->host, t->port);
    *body = (const char *)c->in.p + head_end;
    return 0;
}

/* One request and its answer on c->fd. *stale as for read_answer, or when
 * the send found the connection closed. */
static int post_once(tc_rpcconn *c, const char *body, size_t len, bool keep_alive, json_t **resp, bool *stale,
                     tc_errmsg *e)
{
    *stale = false;
    const tc_rpc_target *t = &c->t;
    char auth64[sizeof t->auth * 4 / 3 + 8];
    sodium_bin2base64(auth64, sizeof auth64, (const unsigned char *)t->auth, strlen(t->auth),
                      sodium_base64_VARIANT_ORIGINAL);
    char head[1024];
    int hl = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: %s:%u\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                      t->host, t->port, auth64, len, keep_alive ? "keep-alive" : "close");
    sodium_memzero(auth64, sizeof auth64);
    /* One send: a head and body in two segments meet Nagle and delayed ACK. */
    tc_buf out;
    tc_buf_init(&out);
    tc_buf_put(&out, head, (size_t)hl);
    tc_buf_put(&out, body, len);
    sodium_memzero(head, sizeof head);
    int sent = send_all(c->fd, (const char *)out.p, out.len) == 0, send_errno = errno;
    sodium_memzero(out.p, out.len);
    tc_buf_release(&out);
    if (!sent) {
        /* the peer cannot have acted on a request it did not receive whole */
        *stale = closed_by_peer(-1, send_errno);
        return tc_fail(e, TC_EIO, "RPC %s:%u: send failed: %s", t->host, t->port, strerror(send_errno));
    }
    int status = 0;
    const char *json = NULL;
    int err = read_answer(c, &status, &json, stale, e);
    if (err)
        return err;
    if (status == 401)
        return tc_fail(e, TC_EIO, "RPC %s:%u: authentication refused (wrong cookie or credentials): the cookie is "
                       "rewritten at every node start, so read DATADIR/.cookie of the running node (time-cli "
                       "--datadir DATADIR), or pass the rpcuser and rpcpassword of its time.conf", t->host,
                       t->port);
    json_error_t jerr;
    *resp = json_loads(json, 0, &jerr);
    if (*resp == NULL)
        return tc_fail(e, TC_EIO, "RPC %s:%u: HTTP %d without a JSON-RPC answer", t->host, t->port, status);
    return 0;
}

/* Closes c->fd after a failure: whatever the node still sends on it (the
 * rest of an answer, a late one) must not be read as the next answer. */
static void drop_conn(tc_rpcconn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int tc_rpcconn_post(tc_rpcconn *c, const char *body, size_t len, json_t **resp, tc_errmsg *e)
{
    *resp = NULL;
    bool stale = true; /* not connected (an earlier failure): nothing was sent */
    int err = c->fd >= 0 ? post_once(c, body, len, true, resp, &stale, e) : TC_EIO;
    /* Only a connection found closed before the request got through is tried
     * again: after a timeout or part of an answer the node may have acted on
     * the request, and a second sendrawtransaction is not the caller's call. */
    if (err != 0 && stale) {
        drop_conn(c);
        c->fd = connect_to(&c->t, e); /* or a negative TC_E code */
        err = c->fd < 0 ? c->fd : post_once(c, body, len, true, resp, &stale, e);
    }
    if (err)
        drop_conn(c);
    return err;
}

/* The result of a single call's answer, or its JSON-RPC error. */
static int answer_result(json_t *resp, json_t **result, int *rpc_code, tc_errmsg *e)
{
    json_t *error = json_object_get(resp, "error");
    if (json_is_object(error)) {
        *rpc_code = (int)json_integer_value(json_object_get(error, "code"));
        const char *msg = json_string_value(json_object_get(error, "message"));
        return tc_fail(e, TC_EINVAL, "%s", msg ? msg : "error without a message");
    }
    *result = json_incref(json_object_get(resp, "result"));
    if (*result == NULL)
        return tc_fail(e, TC_EIO, "RPC answer without a result");
    return 0;
}

static int call_on(tc_rpcconn *c, bool keep_alive, const char *method, json_t *params, json_t **result,
                   int *rpc_code, tc_errmsg *e)
{
    *result = NULL;
    *rpc_code = 0;
    json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method", method, "params",
                            params ? params : json_array());
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *resp = NULL;
    bool stale;
    int err = keep_alive ? tc_rpcconn_post(c, body, strlen(body), &resp, e)
                         : post_once(c, body, strlen(body), false, &resp, &stale, e);
    sodium_memzero(body, strlen(body)); /* may carry a passphrase or a key */
    free(body);
    if (err == 0)
        err = answer_result(resp, result, rpc_code, e);
    json_decref(resp);
    return err;
}

int tc_rpcconn_call(tc_rpcconn *c, const char *method, json_t *params, json_t **result, int *rpc_code,
                    tc_errmsg *e)
{
    return call_on(c, true, method, params, result, rpc_code, e);
}

int tc_rpcclient_call(const tc_rpc_target *t, const char *method, json_t *params, json_t **result, int *rpc_code,
                      tc_errmsg *e)
{
    tc_rpcconn *c;
    *result = NULL;
    *rpc_code = 0;
    int err = tc_rpcconn_open(&c, t, e);
    if (err) {
        json_decref(params);
        return err;
    }
    err = call_on(c, false, method, params, result, rpc_code, e);
    tc_rpcconn_close(c);
    return err;
}
