/* rpc/http: the bounded HTTP/1.1 server. Keep-alive, HEAD, pipelining and the
 * refusals (400, 413 before the body, 431, 501); the connection cap (503 and
 * close while an open connection keeps working, room again once one
 * closes); deadlines that a client trickling bytes cannot stretch (headers,
 * body), the idle keep-alive timeout; and descriptor exhaustion in a forked
 * child with a small RLIMIT_NOFILE: the listener pauses instead of spinning
 * on EMFILE, refuses sockets that would eat the reserve, and recovers.
 *
 * Server and clients share one event_base in the test thread: clients are
 * non-blocking sockets, and every wait runs the loop in short steps up to a
 * bound, so nothing hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "rpc/http.h"
#include "util/clock.h"
#include "util/fdlimit.h"
#include "util/log.h"

typedef struct {
    struct event_base *base;
    tc_http *srv;
    unsigned handled;
} fixture;

/* GET/HEAD /x answers "hello"; POST echoes the body. */
static void handler(void *ctx, const tc_http_request *req, tc_http_response *resp)
{
    fixture *f = ctx;
    f->handled++;
    if (strcmp(req->method, "POST") == 0) {
        tc_http_respond(resp, 200, "application/octet-stream", NULL, req->body, req->body_len);
        return;
    }
    if (strcmp(req->path, "/x") != 0) {
        tc_http_respond(resp, 404, "text/plain", NULL, "no\n", 3);
        return;
    }
    tc_http_respond(resp, 200, "text/plain", "X-Test: 1\r\n", "hello", 5);
}

static void start(fixture *f, const tc_http_opts *o)
{
    memset(f, 0, sizeof *f);
    f->base = event_base_new();
    assert_non_null(f->base);
    int err = -1;
    f->srv = tc_http_new(f->base, "127.0.0.1:0", o, handler, f, &err);
    assert_int_equal(err, 0);
    assert_non_null(f->srv);
}

static void stop(fixture *f)
{
    tc_http_free(f->srv);
    event_base_free(f->base);
}

static void run_ms(fixture *f, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

static int client(const fixture *f)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tc_http_port(f->srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    assert_true(rc == 0 || errno == EINPROGRESS);
    return fd;
}

static void put(fixture *f, int fd, const char *s)
{
    size_t n = strlen(s), off = 0;
    for (int tries = 0; off < n && tries < 200; tries++) {
        ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else
            run_ms(f, 5);
    }
    assert_int_equal(off, n);
}

typedef struct {
    char buf[8192];
    size_t len;
    bool closed; /* the server closed (EOF or reset) */
    int status;  /* of the first response, 0 if none */
} reply;

/* True once r holds one complete response (headers + Content-Length bytes). */
static bool complete(reply *r, bool head)
{
    r->buf[r->len] = 0;
    char *end = strstr(r->buf, "\r\n\r\n");
    if (end == NULL)
        return false;
    if (sscanf(r->buf, "HTTP/1.1 %d", &r->status) != 1)
        r->status = -1;
    const char *cl = strstr(r->buf, "Content-Length: ");
    size_t want = head || cl == NULL || cl > end ? 0 : strtoul(cl + 16, NULL, 10);
    return r->len >= (size_t)(end + 4 - r->buf) + want;
}

/* Reads until one complete response, or until the server closes, or ms. */
static void await(fixture *f, int fd, reply *r, unsigned ms, bool until_close, bool head)
{
    memset(r, 0, sizeof *r);
    uint64_t until = tc_clock_mono_ms() + ms;
    while (tc_clock_mono_ms() < until) {
        run_ms(f, 10);
        for (;;) {
            ssize_t n = recv(fd, r->buf + r->len, sizeof r->buf - 1 - r->len, 0);
            if (n > 0) {
                r->len += (size_t)n;
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                r->closed = true;
            break;
        }
        bool done = complete(r, head);
        if (r->closed || (done && !until_close) || r->len >= sizeof r->buf - 1)
            break;
    }
    complete(r, head);
}

static const char GET_X[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

static void test_keepalive_head_pipelining(void **state)
{
    fixture f;
    start(&f, NULL);
    int fd = client(&f);
    reply r;
    for (int i = 0; i < 3; i++) {
        put(&f, fd, GET_X);
        await(&f, fd, &r, 2000, false, false);
        assert_int_equal(r.status, 200);
        assert_false(r.closed);
        assert_non_null(strstr(r.buf, "\r\n\r\nhello"));
        assert_non_null(strstr(r.buf, "X-Test: 1\r\n"));
    }
    put(&f, fd, "HEAD /x HTTP/1.1\r\n\r\n");
    await(&f, fd, &r, 2000, false, true);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.buf, "Content-Length: 5\r\n"));
    assert_null(strstr(r.buf, "hello"));
    /* two pipelined requests, the second with a body, then close */
    put(&f, fd, "GET /nope HTTP/1.1\r\n\r\nPOST /e HTTP/1.1\r\nContent-Length: 3\r\n"
                "Connection: close\r\n\r\nabc");
    await(&f, fd, &r, 2000, true, false);
    assert_true(r.closed);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.buf, "Connection: close\r\n\r\nabc"));
    close(fd);
    /* HTTP/1.0 closes unless it asks for keep-alive */
    fd = client(&f);
    put(&f, fd, "GET /x HTTP/1.0\r\n\r\n");
    await(&f, fd, &r, 2000, true, false);
    assert_true(r.closed);
    assert_int_equal(r.status, 200);
    close(fd);
    stop(&f);
}

static void expect_refusal(fixture *f, const char *req, int status)
{
    int fd = client(f);
    put(f, fd, req);
    reply r;
    await(f, fd, &r, 3000, true, false);
    if (r.status != status || !r.closed)
        fail_msg("wanted %d and close, got %d (closed %d): %.60s", status, r.status, r.closed, req);
    close(fd);
}

static void test_refusals(void **state)
{
    fixture f;
    tc_http_opts o = {.max_body = 100};
    start(&f, &o);
    expect_refusal(&f, "garbage\r\n\r\n", 400);
    expect_refusal(&f, "GET x HTTP/1.1\r\n\r\n", 400);
    expect_refusal(&f, "GET /x HTTP/1.1\r\nBad Name: 1\r\n\r\n", 400);
    expect_refusal(&f, "GET /x HTTP/1.1\r\n folded\r\n\r\n", 400);
    expect_refusal(&f, "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400);
    expect_refusal(&f, "POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
    expect_refusal(&f, "GET /x HTTP/2.0\r\n\r\n", 505);
    expect_refusal(&f, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501);
    /* 413 on the announced length, the body never sent */
    expect_refusal(&f, "POST /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413);
    /* headers over 16 KiB, with or without their end */
    static char big[20000];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "GET /x HTTP/1.1\r\nX: ", 20);
    expect_refusal(&f, big, 431);
    /* a body of exactly max_body is served; Expect: 100-continue gets 100 first */
    int fd = client(&f);
    put(&f, fd, "POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n");
    reply r;
    await(&f, fd, &r, 2000, false, false);
    assert_non_null(strstr(r.buf, "HTTP/1.1 100 Continue\r\n\r\n"));
    char body[101];
    memset(body, 'b', 100);
    body[100] = 0;
    put(&f, fd, body);
    await(&f, fd, &r, 2000, false, false);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.buf, "Content-Length: 100\r\n"));
    close(fd);
    stop(&f);
}

static void test_connection_cap(void **state)
{
    fixture f;
    tc_http_opts o = {.max_connections = 2};
    start(&f, &o);
    int a = client(&f), b = client(&f);
    run_ms(&f, 50);
    reply r;
    /* at the cap: the third is answered 503 and closed at once */
    int c = client(&f);
    await(&f, c, &r, 2000, true, false);
    assert_true(r.closed);
    assert_int_equal(r.status, 503);
    close(c);
    /* the open ones still work */
    put(&f, a, GET_X);
    await(&f, a, &r, 2000, false, false);
    assert_int_equal(r.status, 200);
    put(&f, b, GET_X);
    await(&f, b, &r, 2000, false, false);
    assert_int_equal(r.status, 200);
    tc_http_stats st;
    tc_http_stats_get(f.srv, &st);
    assert_int_equal(st.open, 2);
    assert_int_equal(st.refused_full, 1);
    /* once one closes there is room again */
    close(a);
    run_ms(&f, 50);
    int d = client(&f);
    put(&f, d, GET_X);
    await(&f, d, &r, 2000, false, false);
    assert_int_equal(r.status, 200);
    assert_false(r.closed);
    close(b);
    close(d);
    stop(&f);
}

/* Sends one byte of `text` every step_ms until the server closes or max_ms;
 * returns the ms the connection lived. */
static uint64_t trickle(fixture *f, int fd, const char *text, unsigned step_ms, unsigned max_ms)
{
    uint64_t t0 = tc_clock_mono_ms();
    size_t n = strlen(text);
    for (size_t i = 0; tc_clock_mono_ms() - t0 < max_ms; i++) {
        char ch = text[i % n];
        if (send(fd, &ch, 1, MSG_NOSIGNAL) != 1)
            break;
        run_ms(f, step_ms);
        char sink[512];
        ssize_t got = recv(fd, sink, sizeof sink, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            break;
    }
    return tc_clock_mono_ms() - t0;
}

static void test_slowloris_cut_at_header_deadline(void **state)
{
    fixture f;
    tc_http_opts o = {.header_timeout_ms = 800};
    start(&f, &o);
    int fd = client(&f);
    /* a byte every 100 ms, far inside any per-read timeout, never a blank line */
    uint64_t lived = trickle(&f, fd, "GET /x HTTP/1.1\r\nX-a: b\r\n", 100, 5000);
    assert_true(lived >= 700 && lived < 2000);
    close(fd);
    tc_http_stats st;
    tc_http_stats_get(f.srv, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.open, 0);
    /* a client that connects and says nothing is cut at the same deadline */
    fd = client(&f);
    reply r;
    uint64_t t0 = tc_clock_mono_ms();
    await(&f, fd, &r, 5000, true, false);
    assert_true(r.closed);
    assert_true(tc_clock_mono_ms() - t0 < 2000);
    close(fd);
    stop(&f);
}

static void test_body_deadline(void **state)
{
    fixture f;
    tc_http_opts o = {.body_timeout_ms = 800};
    start(&f, &o);
    int fd = client(&f);
    put(&f, fd, "POST /x HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
    uint64_t lived = trickle(&f, fd, "b", 100, 5000);
    assert_true(lived >= 700 && lived < 2000);
    close(fd);
    tc_http_stats st;
    tc_http_stats_get(f.srv, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(f.handled, 0);
    stop(&f);
}

static void test_idle_keepalive_closed(void **state)
{
    fixture f;
    tc_http_opts o = {.idle_timeout_ms = 500, .header_timeout_ms = 3000};
    start(&f, &o);
    int fd = client(&f);
    put(&f, fd, GET_X);
    reply r;
    await(&f, fd, &r, 2000, false, false);
    assert_int_equal(r.status, 200);
    uint64_t t0 = tc_clock_mono_ms();
    await(&f, fd, &r, 3000, true, false);
    assert_true(r.closed);
    uint64_t idle = tc_clock_mono_ms() - t0;
    assert_true(idle >= 400 && idle < 1500);
    close(fd);
    stop(&f);
}

/* ---- descriptor exhaustion (in a child: it lowers RLIMIT_NOFILE) ------------ */

#define CHILD_CHECK(cond, code)                                                              \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "emfile child: %s failed\n", #cond);                             \
            _exit(code);                                                                     \
        }                                                                                    \
    } while (0)

enum { LIMIT = 64, RESERVE = 4, N_CLIENTS = 3 };

static int fill(int *fds)
{
    int n = 0;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return n;
        fds[n++] = fd;
    }
}

static void emfile_child(void)
{
    alarm(20);
    struct rlimit rl = {.rlim_cur = LIMIT, .rlim_max = LIMIT};
    CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, 10);
    CHILD_CHECK(tc_fdlimit_raise(NULL, NULL) == 0 && tc_fdlimit_soft() == LIMIT, 11);
    fixture f;
    tc_http_opts o = {.fd_reserve = RESERVE};
    memset(&f, 0, sizeof f);
    f.base = event_base_new();
    f.srv = tc_http_new(f.base, "127.0.0.1:0", &o, handler, &f, NULL);
    CHILD_CHECK(f.srv != NULL, 12);
    int cl[N_CLIENTS], fds[LIMIT];
    for (int i = 0; i < N_CLIENTS; i++)
        cl[i] = client(&f); /* complete into the backlog */
    int n = fill(fds);
    CHILD_CHECK(n > 0 && errno == EMFILE, 13);
    /* one second with no descriptor left: accept() fails, the listener must
     * pause (100 ms doubling to 1 s), not wake up thousands of times */
    run_ms(&f, 1000);
    tc_http_stats st;
    tc_http_stats_get(f.srv, &st);
    fprintf(stderr, "emfile child: %llu accept failures in 1 s\n",
            (unsigned long long)st.accept_errors);
    CHILD_CHECK(st.accept_errors >= 1 && st.accept_errors < 20, 14);
    CHILD_CHECK(st.accepted == 0, 15);
    /* two descriptors free at the very top: accepting takes one inside the
     * reserve, so the connection is closed at once */
    close(fds[--n]);
    close(fds[--n]);
    run_ms(&f, 1500);
    tc_http_stats_get(f.srv, &st);
    CHILD_CHECK(st.refused_fds >= 1 && st.accepted == 0, 16);
    /* all free again: the listener comes back and serves a new client */
    while (n > 0)
        close(fds[--n]);
    run_ms(&f, 1200);
    int c = client(&f);
    put(&f, c, GET_X);
    reply r;
    await(&f, c, &r, 3000, false, false);
    CHILD_CHECK(r.status == 200, 17);
    tc_http_stats_get(f.srv, &st);
    CHILD_CHECK(st.accepted >= 1, 18);
    for (int i = 0; i < N_CLIENTS; i++)
        close(cl[i]);
    close(c);
    stop(&f);
    _exit(0);
}

static void test_emfile_does_not_spin(void **state)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        emfile_child();
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child: %s %d", WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void test_parse_head(void **state)
{
    tc_http_request req;
    tc_http_field fields[TC_HTTP_MAX_HEADERS];
    unsigned minor;
    char ok[] = "PUT /a/b?q=1 HTTP/1.0\r\nX-One:  v 1 \r\nx-two:\r\nHost: h";
    assert_int_equal(tc_http_parse_head(ok, strlen(ok), &req, fields, &minor), 0);
    assert_string_equal(req.method, "PUT");
    assert_string_equal(req.path, "/a/b");
    assert_int_equal(minor, 0);
    assert_int_equal(req.n_fields, 3);
    assert_string_equal(tc_http_header(&req, "x-one"), "v 1");
    assert_string_equal(tc_http_header(&req, "X-TWO"), "");
    assert_null(tc_http_header(&req, "Content-Length"));
    /* a NUL byte would hide what follows it from every check: refused */
    char nul[] = "GET / HTTP/1.1\r\nA: b\0c";
    assert_int_equal(tc_http_parse_head(nul, sizeof nul - 1, &req, fields, &minor), 400);
    char many[TC_HTTP_MAX_HEADERS * 6 + 64] = "GET / HTTP/1.1";
    for (int i = 0; i <= TC_HTTP_MAX_HEADERS; i++)
        strcat(many, "\r\nA: b");
    assert_int_equal(tc_http_parse_head(many, strlen(many), &req, fields, &minor), 431);
}

static void test_bad_options(void **state)
{
    struct event_base *base = event_base_new();
    int err = 0;
    assert_null(tc_http_new(base, "127.0.0.1:x", NULL, handler, NULL, &err));
    assert_int_equal(err, TC_ENET_ADDR);
    assert_null(tc_http_new(base, "127.0.0.1:0", NULL, NULL, NULL, &err));
    assert_int_equal(err, TC_EINVAL);
    tc_http_opts o = {.max_connections = TC_HTTP_MAX_CONNECTIONS_LIMIT + 1};
    assert_null(tc_http_new(base, "127.0.0.1:0", &o, handler, NULL, &err));
    assert_int_equal(err, TC_EINVAL);
    event_base_free(base);
}

int main(void)
{
    tc_log_setup(TC_LOG_ERROR, TC_LOG_LOGFMT, STDERR_FILENO);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_head_pipelining),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_connection_cap),
        cmocka_unit_test(test_slowloris_cut_at_header_deadline),
        cmocka_unit_test(test_body_deadline),
        cmocka_unit_test(test_idle_keepalive_closed),
        cmocka_unit_test(test_emfile_does_not_spin),
        cmocka_unit_test(test_parse_head),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
