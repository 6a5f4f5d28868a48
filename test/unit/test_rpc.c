/* The JSON-RPC server end to end on 127.0.0.1 with an ephemeral port: the
 * envelope (calls, notifications, batches and their limits, every error
 * code), HTTP Basic auth with the cookie and with user/password, the cookie
 * file's life, HTTP status codes, and a 100 MB body refused with 413 early
 * while the server keeps serving.
 *
 * Each test gets a fresh server whose event loop runs in a background thread;
 * the test is a blocking raw-socket HTTP client with generous socket timeouts,
 * so every wait is bounded and none is a sleep. Server state (stats, handler
 * counters) is read only after the loop thread has been joined. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <sodium.h>

#include "rpc/rpc.h"
#include "util/log.h"
#include "util/mem.h"

#define IO_TIMEOUT_S 30 /* per socket operation; a loaded sanitizer run stays far below */

/* ---- fixture: a server on a loop thread ------------------------------------ */

typedef struct {
    struct event_base *base;
    struct event *stop; /* activated from the test thread: breaks the loop */
    tc_rpc *rpc;
    pthread_t thread;
    bool running;
    char dir[64];
    char cookie_auth[160]; /* "Basic …" for the cookie credentials */
    int notes;             /* notifications seen by the "note" handler (loop thread) */
} fixture;

static json_t *m_echo(void *ctx, json_t *params, tc_rpc_error *e)
{
    return json_incref(params);
}

static json_t *m_note(void *ctx, json_t *params, tc_rpc_error *e)
{
    ((fixture *)ctx)->notes++;
    return json_null();
}

static json_t *m_fail(void *ctx, json_t *params, tc_rpc_error *e)
{
    return tc_rpc_fail(e, -7, "custom failure: %d", 42);
}

static json_t *m_sum(void *ctx, json_t *params, tc_rpc_error *e)
{
    json_t *a = json_array_get(params, 0), *b = json_array_get(params, 1);
    if (!json_is_array(params) || json_array_size(params) != 2 || !json_is_integer(a) ||
        !json_is_integer(b))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "sum takes two integers");
    return json_integer(json_integer_value(a) + json_integer_value(b));
}

static json_t *m_crash(void *ctx, json_t *params, tc_rpc_error *e)
{
    return NULL; /* no error filled in: the server reports an internal error */
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static void *loop_main(void *arg)
{
    fixture *f = arg;
    event_base_loop(f->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void basic_auth(char *out, size_t cap, const char *user_colon_password)
{
    char b64[128];
    assert_true(strlen(user_colon_password) < 90);
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)user_colon_password,
                      strlen(user_colon_password), sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, cap, "Basic %s", b64);
}

static void fx_start(fixture *f, const tc_rpc_opts *opts)
{
    int err = -1;
    f->rpc = tc_rpc_new(f->base, "127.0.0.1:0", opts, &err);
    assert_non_null(f->rpc);
    assert_int_equal(err, 0);
    assert_true(tc_rpc_port(f->rpc) != 0);
    assert_int_equal(tc_rpc_register(f->rpc, "echo", m_echo, f, "echo ...\nReturns its params."), 0);
    assert_int_equal(tc_rpc_register(f->rpc, "note", m_note, f, "note\nCounts calls."), 0);
    assert_int_equal(tc_rpc_register(f->rpc, "fail", m_fail, f, "fail\nAlways fails."), 0);
    assert_int_equal(tc_rpc_register(f->rpc, "sum", m_sum, f, "sum a b\nAdds two integers."), 0);
    assert_int_equal(tc_rpc_register(f->rpc, "crash", m_crash, f, "crash\nReturns nothing."), 0);
    if (tc_rpc_cookie_path(f->rpc) != NULL) {
        char line[128] = {0};
        FILE *fp = fopen(tc_rpc_cookie_path(f->rpc), "r");
        assert_non_null(fp);
        assert_non_null(fgets(line, sizeof line, fp));
        fclose(fp);
        basic_auth(f->cookie_auth, sizeof f->cookie_auth, line);
    }
    assert_int_equal(pthread_create(&f->thread, NULL, loop_main, f), 0);
    f->running = true;
}

/* Stops and joins the loop thread; afterwards the test may read server state.
 * (event_base_loopbreak from here could be lost: a loop that has not started
 * yet clears it. An activated event is run whenever the loop gets to it.) */
static void fx_stop(fixture *f)
{
    if (!f->running)
        return;
    event_active(f->stop, EV_READ, 0);
    assert_int_equal(pthread_join(f->thread, NULL), 0);
    f->running = false;
}

/* The server's counters, read once its loop thread has stopped. */
static tc_rpc_stats stopped_stats(fixture *f)
{
    fx_stop(f);
    tc_rpc_stats st;
    tc_rpc_stats_get(f->rpc, &st);
    return st;
}

static int setup(void **state)
{
    fixture *f = tc_xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tc-rpc-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->base = event_base_new();
    if (f->base == NULL)
        return -1;
    f->stop = event_new(f->base, -1, 0, stop_cb, f->base);
    if (f->stop == NULL)
        return -1;
    tc_rpc_opts o = {.cookie_dir = f->dir, .user = "alice", .password = "correct horse"};
    fx_start(f, &o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_stop(f);
    tc_rpc_free(f->rpc);
    event_free(f->stop);
    event_base_free(f->base);
    char p[128];
    snprintf(p, sizeof p, "%s/%s", f->dir, TC_RPC_COOKIE_FILE);
    (void)unlink(p); /* only left behind if a test failed halfway */
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- a raw HTTP/1.1 client --------------------------------------------------- */

typedef struct {
    int status;
    char *head; /* status line and headers, NUL terminated */
    char *body; /* NUL terminated */
    size_t body_len;
} response;

static void response_free(response *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        assert_true(w > 0);
        c += w;
        n -= (size_t)w;
    }
}

/* Reads until the server closes (every request says Connection: close). A
 * reset after the response has arrived counts as the end: a server that
 * refuses a body it did not read may close with the rest unread. */
static void read_response(int fd, response *r)
{
    size_t cap = 4096, len = 0;
    char *buf = tc_xmalloc(cap);
    for (;;) {
        if (len + 1 == cap)
            buf = tc_xrealloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ECONNRESET && len > 0)
            break;
        assert_true(n >= 0); /* a timeout here means the server hung */
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    assert_non_null(end);
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r->status), 1);
    r->body_len = len - (size_t)(end + 4 - buf);
    r->body = tc_xmalloc(r->body_len + 1);
    memcpy(r->body, end + 4, r->body_len + 1);
    *end = 0;
    r->head = buf;
}

/* One request on a fresh connection. auth NULL: no Authorization header. */
static void http(fixture *f, const char *method, const char *path, const char *auth,
                 const char *body, response *r)
{
    int fd = connect_to(tc_rpc_port(f->rpc));
    size_t blen = body ? strlen(body) : 0;
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n%s%s%s\r\n",
                      method, path, blen, auth ? "Authorization: " : "", auth ? auth : "",
                      auth ? "\r\n" : "");
    assert_true(hl > 0 && (size_t)hl < sizeof head);
    send_all(fd, head, (size_t)hl);
    if (blen)
        send_all(fd, body, blen);
    read_response(fd, r);
    close(fd);
}

/* POST / with the cookie; expects 200 and returns the parsed JSON body. */
static json_t *rpc(fixture *f, const char *body)
{
    response r = {0};
    http(f, "POST", "/", f->cookie_auth, body, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: application/json"));
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    if (j == NULL)
        fail_msg("response is not JSON: %s (%s)", r.body, je.text);
    response_free(&r);
    return j;
}

/* Asserts a JSON-RPC error object with the code and a message containing `has`. */
static void assert_error(json_t *resp, int code, const char *has)
{
    assert_true(json_is_object(resp));
    assert_string_equal(json_string_value(json_object_get(resp, "jsonrpc")), "2.0");
    assert_null(json_object_get(resp, "result"));
    json_t *e = json_object_get(resp, "error");
    assert_true(json_is_object(e));
    assert_int_equal(json_integer_value(json_object_get(e, "code")), code);
    const char *msg = json_string_value(json_object_get(e, "message"));
    assert_non_null(msg);
    if (strstr(msg, has) == NULL)
        fail_msg("message \"%s\" does not contain \"%s\"", msg, has);
}

static void assert_id_null(json_t *resp)
{
    assert_true(json_is_null(json_object_get(resp, "id")));
}

/* The server still answers a plain call correctly. */
static void assert_serving(fixture *f)
{
    json_t *j = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[3,4],\"id\":1}");
    assert_int_equal(json_integer_value(json_object_get(j, "result")), 7);
    json_decref(j);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_happy_call(void **state)
{
    fixture *f = *state;
    json_t *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[40,2],\"id\":7}");
    assert_string_equal(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
    assert_int_equal(json_integer_value(json_object_get(r, "result")), 42);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    assert_null(json_object_get(r, "error"));
    json_decref(r);

    /* string ids come back as they went, named params reach the handler */
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"k\":[1,\"x\"]},\"id\":\"abc\"}");
    assert_string_equal(json_string_value(json_object_get(r, "id")), "abc");
    json_t *k = json_object_get(json_object_get(r, "result"), "k");
    assert_int_equal(json_array_size(k), 2);
    assert_string_equal(json_string_value(json_array_get(k, 1)), "x");
    json_decref(r);

    /* no params: the handler sees an empty array; a null id is echoed */
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":null}");
    assert_true(json_is_array(json_object_get(r, "result")));
    assert_int_equal(json_array_size(json_object_get(r, "result")), 0);
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);

    tc_rpc_stats st = stopped_stats(f);
    assert_int_equal(st.http_requests, 3);
    assert_int_equal(st.calls, 3);
    assert_int_equal(st.errors, 0);
}

static void test_help(void **state)
{
    fixture *f = *state;
    json_t *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"help\",\"id\":1}");
    const char *list = json_string_value(json_object_get(r, "result"));
    assert_non_null(list);
    /* usage lines, in name order, without the descriptions */
    assert_string_equal(list, "crash\necho ...\nfail\nhelp ( \"method\" )\nnote\nsum a b");
    json_decref(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"help\",\"params\":[\"sum\"],\"id\":2}");
    assert_string_equal(json_string_value(json_object_get(r, "result")),
                        "sum a b\nAdds two integers.");
    json_decref(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"help\",\"params\":[\"nosuch\"],\"id\":3}");
    assert_error(r, TC_RPC_METHOD_NOT_FOUND, "nosuch");
    json_decref(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"help\",\"params\":[1],\"id\":4}");
    assert_error(r, TC_RPC_INVALID_PARAMS, "method name");
    json_decref(r);
}

static void test_notification(void **state)
{
    fixture *f = *state;
    response r = {0};
    http(f, "POST", "/", f->cookie_auth, "{\"jsonrpc\":\"2.0\",\"method\":\"note\",\"params\":[]}", &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    response_free(&r);
    /* a failing or unknown notification is not answered either */
    http(f, "POST", "/", f->cookie_auth, "{\"jsonrpc\":\"2.0\",\"method\":\"fail\"}", &r);
    assert_int_equal(r.status, 204);
    response_free(&r);
    http(f, "POST", "/", f->cookie_auth, "{\"jsonrpc\":\"2.0\",\"method\":\"nosuch\"}", &r);
    assert_int_equal(r.status, 204);
    response_free(&r);
    fx_stop(f);
    assert_int_equal(f->notes, 1);
}

static void test_batch(void **state)
{
    fixture *f = *state;
    json_t *r = rpc(f, "[{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,2],\"id\":1},"
                       " {\"jsonrpc\":\"2.0\",\"method\":\"note\"},"
                       " {\"jsonrpc\":\"2.0\",\"method\":\"nosuch\",\"id\":\"u\"},"
                       " 5,"
                       " {\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"z\"],\"id\":3}]");
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 4); /* the notification has no entry */
    json_t *e0 = json_array_get(r, 0), *e1 = json_array_get(r, 1), *e2 = json_array_get(r, 2),
           *e3 = json_array_get(r, 3);
    assert_int_equal(json_integer_value(json_object_get(e0, "result")), 3);
    assert_int_equal(json_integer_value(json_object_get(e0, "id")), 1);
    assert_error(e1, TC_RPC_METHOD_NOT_FOUND, "nosuch");
    assert_string_equal(json_string_value(json_object_get(e1, "id")), "u");
    assert_error(e2, TC_RPC_INVALID_REQUEST, "JSON object");
    assert_id_null(e2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(e3, "result"), 0)), "z");
    json_decref(r);

    /* a batch of notifications only: nothing to answer */
    response hr = {0};
    http(f, "POST", "/", f->cookie_auth,
         "[{\"jsonrpc\":\"2.0\",\"method\":\"note\"},{\"jsonrpc\":\"2.0\",\"method\":\"note\"}]", &hr);
    assert_int_equal(hr.status, 204);
    response_free(&hr);
    tc_rpc_stats st = stopped_stats(f);
    assert_int_equal(f->notes, 3);
    assert_int_equal(st.batches, 2);
    assert_int_equal(st.calls, 7);
}

static void test_empty_batch(void **state)
{
    fixture *f = *state;
    json_t *r = rpc(f, "[]");
    assert_error(r, TC_RPC_INVALID_REQUEST, "empty batch");
    assert_id_null(r);
    json_decref(r);
}

/* n calls of sum in one batch. */
static char *batch_of(size_t n)
{
    const char *one = "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,1],\"id\":%zu}";
    char *s = tc_xmalloc(n * 80 + 3), *w = s;
    *w++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *w++ = ',';
        w += sprintf(w, one, i);
    }
    strcpy(w, "]");
    return s;
}

static void test_batch_limit(void **state)
{
    fixture *f = *state;
    char *b = batch_of(100);
    json_t *r = rpc(f, b);
    free(b);
    assert_int_equal(json_array_size(r), 100);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 99), "id")), 99);
    json_decref(r);

    b = batch_of(101);
    r = rpc(f, b);
    free(b);
    assert_error(r, TC_RPC_INVALID_REQUEST, "batch of 101 calls exceeds the limit of 100");
    assert_id_null(r);
    json_decref(r);

    b = batch_of(1000);
    r = rpc(f, b);
    free(b);
    assert_error(r, TC_RPC_INVALID_REQUEST, "batch of 1000 calls exceeds the limit of 100");
    json_decref(r);
    assert_serving(f);
}

static void test_parse_error(void **state)
{
    fixture *f = *state;
    const char *bad[] = {"{\"jsonrpc\":", "", "{'a':1}", "[1,]", "{\"a\":1,\"a\":2}", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *r = rpc(f, bad[i]);
        assert_error(r, TC_RPC_PARSE_ERROR, "Parse error");
        assert_id_null(r);
        json_decref(r);
    }
    tc_rpc_stats st = stopped_stats(f);
    assert_int_equal(st.parse_errors, 6);
}

static void test_invalid_requests(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *body, *msg;
        bool id_echoed;
    } cases[] = {
        {"1", "JSON object", false},
        {"\"x\"", "JSON object", false},
        {"null", "JSON object", false},
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", "method must be a string", true},
        {"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}", "method must be a string", true},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":\"x\",\"id\":1}", "params must be", true},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":3,\"id\":1}", "params must be", true},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":{}}", "id must be", false},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":[1]}", "id must be", false},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":true}", "id must be", false},
        {"{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":1}", "jsonrpc must be \"2.0\"", true},
        {"{\"method\":\"echo\",\"id\":1}", "jsonrpc must be \"2.0\"", true},
        {"{\"jsonrpc\":2,\"method\":\"echo\",\"id\":1}", "jsonrpc must be \"2.0\"", true},
        /* without an id an invalid request is still answered: it is no notification */
        {"{\"jsonrpc\":\"2.0\"}", "method must be a string", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *r = rpc(f, cases[i].body);
        assert_error(r, TC_RPC_INVALID_REQUEST, cases[i].msg);
        if (cases[i].id_echoed)
            assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
        else
            assert_id_null(r);
        json_decref(r);
    }
    /* a batch of invalid entries: one error each */
    json_t *r = rpc(f, "[1,2,3]");
    assert_int_equal(json_array_size(r), 3);
    for (size_t i = 0; i < 3; i++)
        assert_error(json_array_get(r, i), TC_RPC_INVALID_REQUEST, "JSON object");
    json_decref(r);
}

static void test_unknown_method(void **state)
{
    fixture *f = *state;
    json_t *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"getfoo\",\"params\":[],\"id\":9}");
    assert_error(r, TC_RPC_METHOD_NOT_FOUND, "Method not found: getfoo");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 9);
    json_decref(r);
}

static void test_handler_errors(void **state)
{
    fixture *f = *state;
    json_t *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":1}");
    assert_error(r, -7, "custom failure: 42");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
                        "custom failure: 42");
    json_decref(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1],\"id\":2}");
    assert_error(r, TC_RPC_INVALID_PARAMS, "sum takes two integers");
    json_decref(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"crash\",\"id\":3}");
    assert_error(r, TC_RPC_INTERNAL_ERROR, "internal error in crash");
    json_decref(r);
}

typedef struct {
    uint64_t sum_calls, sum_errors, fail_errors, n;
} method_seen;

static void on_method(void *ctx, const char *method, uint64_t calls, uint64_t errors)
{
    method_seen *seen = ctx;
    seen->n++;
    if (strcmp(method, "sum") == 0) {
        seen->sum_calls = calls;
        seen->sum_errors = errors;
    }
    if (strcmp(method, "fail") == 0)
        seen->fail_errors = errors;
}

static void test_per_method_counters(void **state)
{
    fixture *f = *state;
    json_decref(rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,1],\"id\":1}"));
    json_decref(rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[],\"id\":2}"));
    json_decref(rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":3}"));
    json_decref(rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"nosuch\",\"id\":4}"));
    tc_rpc_stats st = stopped_stats(f);
    assert_int_equal(st.calls, 4);
    assert_int_equal(st.errors, 3);
    method_seen seen = {0};
    tc_rpc_stats_each(f->rpc, on_method, &seen);
    assert_int_equal(seen.n, 6); /* crash echo fail help note sum */
    assert_int_equal(seen.sum_calls, 2);
    assert_int_equal(seen.sum_errors, 1);
    assert_int_equal(seen.fail_errors, 1);
}

static void test_auth(void **state)
{
    fixture *f = *state;
    const char *ok_body = "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,1],\"id\":1}";
    response r = {0};
    http(f, "POST", "/", NULL, ok_body, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.head, "WWW-Authenticate: Basic realm=\"jsonrpc\""));
    assert_null(strstr(r.body, "\"result\""));
    response_free(&r);

    char auth[160];
    const char *wrong[] = {"alice:wrong", "bob:correct horse", "alice:correct hors",
                           "alice:correct horse ", "__cookie__:00", "alice"};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        basic_auth(auth, sizeof auth, wrong[i]);
        http(f, "POST", "/", auth, ok_body, &r);
        if (r.status != 401)
            fail_msg("credentials \"%s\" got %d", wrong[i], r.status);
        response_free(&r);
    }
    const char *garbage[] = {"Basic !!!!", "Bearer abc", "Basic", "basic YWxpY2U6Y29ycmVjdCBob3JzZQ"};
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        http(f, "POST", "/", garbage[i], ok_body, &r);
        assert_int_equal(r.status, 401);
        response_free(&r);
    }
    /* both configured credentials work; the scheme name is case-insensitive */
    basic_auth(auth, sizeof auth, "alice:correct horse");
    http(f, "POST", "/", auth, ok_body, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"result\":2"));
    response_free(&r);
    http(f, "POST", "/", "basic YWxpY2U6Y29ycmVjdCBob3JzZQ==", ok_body, &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
    http(f, "POST", "/", f->cookie_auth, ok_body, &r);
    assert_int_equal(r.status, 200);
    response_free(&r);

    tc_rpc_stats st = stopped_stats(f);
    assert_int_equal(st.http_unauthorized, 11);
    assert_int_equal(st.calls, 3); /* refused requests never reach the envelope */
}

static void test_http_status(void **state)
{
    fixture *f = *state;
    const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,1],\"id\":1}";
    response r = {0};
    const char *methods[] = {"GET", "PUT", "DELETE", "OPTIONS", "PATCH"};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        http(f, methods[i], "/", f->cookie_auth, body, &r);
        if (r.status != 405)
            fail_msg("%s / got %d", methods[i], r.status);
        assert_non_null(strstr(r.head, "Allow: POST"));
        response_free(&r);
    }
    http(f, "POST", "/wallet", f->cookie_auth, body, &r);
    assert_int_equal(r.status, 404);
    response_free(&r);
    /* the query string does not change the path */
    http(f, "POST", "/?x=1", f->cookie_auth, body, &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
    /* unauthenticated requests learn nothing about paths or methods */
    http(f, "GET", "/nothing", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    response_free(&r);
}

static void test_cookie_file(void **state)
{
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/%s", f->dir, TC_RPC_COOKIE_FILE);
    assert_string_equal(tc_rpc_cookie_path(f->rpc), path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    char line[128] = {0};
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(line, 1, sizeof line - 1, fp);
    fclose(fp);
    assert_int_equal(n, strlen("__cookie__:") + 64);
    assert_memory_equal(line, "__cookie__:", 11);
    assert_int_equal(strspn(line + 11, "0123456789abcdef"), 64);
    /* no temporary file is left behind */
    char tmp[140];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);

    fx_stop(f);
    tc_rpc_free(f->rpc);
    f->rpc = NULL;
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(errno, ENOENT);

    /* a new server writes a new password */
    tc_rpc_opts o = {.cookie_dir = f->dir};
    char old_auth[sizeof f->cookie_auth];
    memcpy(old_auth, f->cookie_auth, sizeof old_auth);
    fx_start(f, &o);
    assert_string_not_equal(old_auth, f->cookie_auth);
    response r = {0};
    http(f, "POST", "/", old_auth, "{\"jsonrpc\":\"2.0\",\"method\":\"help\",\"id\":1}", &r);
    assert_int_equal(r.status, 401);
    response_free(&r);
    json_decref(rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"help\",\"id\":1}"));
}

/* Announces a body of content_length bytes, sends `send` bytes of it (or,
 * with expect, none: the client waits for 100 Continue) and wants 413 before
 * the rest: the server refuses on the announced length, without reading. */
static void expect_413(fixture *f, size_t content_length, size_t send, bool expect)
{
    static char chunk[8192];
    memset(chunk, ' ', sizeof chunk);
    assert_true(send <= sizeof chunk);
    int fd = connect_to(tc_rpc_port(f->rpc));
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                      f->cookie_auth, content_length, expect ? "Expect: 100-continue\r\n" : "");
    send_all(fd, head, (size_t)hl);
    send_all(fd, chunk, send);
    response r = {0};
    read_response(fd, &r);
    close(fd);
    if (r.status != 413)
        fail_msg("got %d instead of 413 (length %zu, sent %zu, expect %d)", r.status,
                 content_length, send, expect);
    response_free(&r);
}

static void test_body_over_limit(void **state)
{
    fixture *f = *state;
    const char *ok_body = "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[3,4],\"id\":1}";
    const size_t limit = TC_RPC_DEFAULT_MAX_BODY;
    const struct {
        size_t length, send;
        bool expect;
    } cases[] = {{100000000, 8192, false}, {100000000, 0, true}, {limit + 1, 0, false}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        expect_413(f, cases[i].length, cases[i].send, cases[i].expect);
        assert_serving(f); /* the next request is served */
    }
    /* a body of exactly the limit is accepted: a valid call padded with spaces */
    char *big = tc_xmalloc(limit + 1);
    memset(big, ' ', limit);
    memcpy(big, ok_body, strlen(ok_body));
    big[limit] = 0;
    json_t *j = rpc(f, big);
    free(big);
    assert_int_equal(json_integer_value(json_object_get(j, "result")), 7);
    json_decref(j);
}

static void test_oversize_headers(void **state)
{
    fixture *f = *state;
    int fd = connect_to(tc_rpc_port(f->rpc));
    const char *head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ";
    send_all(fd, head, strlen(head));
    static char pad[20000];
    memset(pad, 'a', sizeof pad);
    send_all(fd, pad, sizeof pad);
    send_all(fd, "\r\n\r\n", 4);
    response r = {0};
    read_response(fd, &r);
    close(fd);
    assert_int_equal(r.status, 431); /* Request Header Fields Too Large: over 16 KiB */
    response_free(&r);
    /* JSON nested deeper than the parser allows is a parse error, not a crash */
    size_t depth = 100000;
    char *deep = tc_xmalloc(depth + 1);
    memset(deep, '[', depth);
    deep[depth] = 0;
    json_t *j = rpc(f, deep);
    free(deep);
    assert_error(j, TC_RPC_PARSE_ERROR, "Parse error");
    json_decref(j);
    assert_serving(f);
}

/* ---- without HTTP ------------------------------------------------------------ */

static void test_register_and_handle(void **state)
{
    (void)state;
    int err = -1;
    /* a listener needs authentication; without one, none is needed */
    assert_null(tc_rpc_new(NULL, "127.0.0.1:0", NULL, &err));
    assert_int_equal(err, TC_EINVAL);
    tc_rpc_opts half = {.user = "u"};
    assert_null(tc_rpc_new(NULL, NULL, &half, &err));
    assert_int_equal(err, TC_EINVAL);
    tc_rpc *rpc = tc_rpc_new(NULL, NULL, NULL, &err);
    assert_non_null(rpc);
    assert_int_equal(tc_rpc_port(rpc), 0);
    assert_null(tc_rpc_cookie_path(rpc));
    assert_int_equal(tc_rpc_register(rpc, "sum", m_sum, NULL, "sum a b"), 0);
    assert_int_equal(tc_rpc_register(rpc, "sum", m_sum, NULL, "sum a b"), TC_EEXIST);
    assert_int_equal(tc_rpc_register(rpc, "help", m_sum, NULL, "x"), TC_EEXIST);
    assert_int_equal(tc_rpc_register(rpc, "", m_sum, NULL, "x"), TC_EINVAL);
    assert_int_equal(tc_rpc_register(rpc, "a b", m_sum, NULL, "x"), TC_EINVAL);
    assert_int_equal(tc_rpc_register(rpc, "ok", NULL, NULL, "x"), TC_EINVAL);
    assert_int_equal(tc_rpc_register(rpc, "ok", m_sum, NULL, NULL), TC_EINVAL);

    size_t n = 0;
    const char *req = "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[2,3],\"id\":1}";
    char *out = tc_rpc_handle(rpc, req, strlen(req), &n);
    assert_string_equal(out, "{\"jsonrpc\":\"2.0\",\"result\":5,\"id\":1}");
    assert_int_equal(n, strlen(out));
    free(out);
    req = "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[2,3]}";
    assert_null(tc_rpc_handle(rpc, req, strlen(req), &n));
    assert_int_equal(n, 0);
    /* the body is length-delimited: a NUL inside is a parse error, not an end */
    out = tc_rpc_handle(rpc, "{}\0{}", 5, NULL);
    assert_non_null(strstr(out, "-32700"));
    free(out);
    tc_rpc_free(rpc);
    tc_rpc_free(NULL);
}

int main(void)
{
    tc_log_setup(TC_LOG_OFF, TC_LOG_LOGFMT, 2);
    if (evthread_use_pthreads() != 0 || sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_happy_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_method_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize_headers, setup, teardown),
        cmocka_unit_test(test_register_and_handle),
    };
    return cmocka_run_group_tests_name("rpc", tests, NULL, NULL);
}
