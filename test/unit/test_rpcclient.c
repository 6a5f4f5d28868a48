/* The kept-alive RPC connection (tc_rpcconn, src/rpc/client.c) against a
 * scripted HTTP server on 127.0.0.1 with an ephemeral port: a connection the
 * node closed while idle is reopened and the call goes through once; a call
 * that got part of an answer fails and is never sent twice.
 *
 * The server is one thread that serves connections one after another and
 * counts the requests it read whole; the test reads the counts only after
 * joining it. Every socket wait on the server side is bounded by
 * IO_TIMEOUT_S, and alarm() bounds the whole program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "rpc/client.h"

#define IO_TIMEOUT_S 5
#define PROGRAM_TIMEOUT_S 30

enum script {
    ANSWER_THEN_CLOSE, /* answer each request whole, then close the connection */
    HALF_ANSWER,       /* read the request, send half of the answer, close */
};

typedef struct {
    enum script script;
    int lfd;
    uint16_t port;
    atomic_bool stop;
    pthread_t thread;
    /* read after the join (cmocka's asserts belong to the test thread) */
    int accepted;     /* connections */
    int requests;     /* requests read whole */
    int short_sends;  /* answers the kernel did not take whole */
} fake_node;

/* Reads one request (headers and a Content-Length body). false on EOF,
 * error or timeout before it is whole. */
static bool read_request(int fd)
{
    char buf[8192];
    size_t len = 0, need = SIZE_MAX;
    while (len < need) {
        if (len == sizeof buf)
            return false;
        ssize_t r = recv(fd, buf + len, sizeof buf - len, 0);
        if (r <= 0)
            return false;
        len += (size_t)r;
        char *end = memmem(buf, len, "\r\n\r\n", 4);
        const char *cl = end ? memmem(buf, (size_t)(end - buf), "Content-Length:", 15) : NULL;
        if (cl)
            need = (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10);
    }
    return true;
}

/* One request, its answer (whole or half, as scripted), then the close. The
 * result is the request's number, so the test can tell which one was answered. */
static void serve(fake_node *n, int fd)
{
    if (read_request(fd)) {
        n->requests++;
        char body[96], answer[256];
        int bl = snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":%d}", n->requests);
        int al = snprintf(answer, sizeof answer,
                          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                          "Connection: keep-alive\r\n\r\n%s",
                          bl, body);
        size_t send_len = n->script == HALF_ANSWER ? (size_t)al / 2 : (size_t)al;
        if (send(fd, answer, send_len, MSG_NOSIGNAL) != (ssize_t)send_len)
            n->short_sends++;
    }
    close(fd);
}

static void *node_main(void *arg)
{
    fake_node *n = arg;
    struct pollfd p = {.fd = n->lfd, .events = POLLIN};
    while (!atomic_load(&n->stop)) {
        if (poll(&p, 1, 20) != 1)
            continue;
        int fd = accept(n->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {IO_TIMEOUT_S, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        n->accepted++;
        serve(n, fd);
    }
    return NULL;
}

static void node_start(fake_node *n, enum script script)
{
    memset(n, 0, sizeof *n);
    n->script = script;
    n->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(n->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(n->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(n->lfd, 8), 0);
    assert_int_equal(getsockname(n->lfd, (struct sockaddr *)&a, &al), 0);
    n->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&n->thread, NULL, node_main, n), 0);
}

static void node_stop(fake_node *n)
{
    atomic_store(&n->stop, true);
    assert_int_equal(pthread_join(n->thread, NULL), 0);
    close(n->lfd);
}

static tc_rpcconn *open_conn(const fake_node *n)
{
    char hp[32];
    snprintf(hp, sizeof hp, "127.0.0.1:%u", n->port);
    tc_rpc_target t;
    tc_errmsg e = {""};
    tc_rpcconn *c = NULL;
    if (tc_rpcclient_from_addr(&t, hp, "user", "password", &e) || tc_rpcconn_open(&c, &t, &e))
        fail_msg("%s", e.msg);
    tc_rpcclient_wipe(&t);
    return c;
}

/* The node closes every connection after its answer, as a node does with an
 * idle one: each later call finds its connection closed before any byte of
 * an answer, reopens once, and the node reads each request once. */
static void test_idle_close_is_retried_once(void **state)
{
    (void)state;
    fake_node n;
    node_start(&n, ANSWER_THEN_CLOSE);
    tc_rpcconn *c = open_conn(&n);
    for (int i = 1; i <= 3; i++) {
        json_t *result = NULL;
        int code = 0;
        tc_errmsg e = {""};
        if (tc_rpcconn_call(c, "getblockcount", NULL, &result, &code, &e))
            fail_msg("call %d: %s", i, e.msg);
        assert_int_equal(json_integer_value(result), i); /* the answer to this call's request */
        json_decref(result);
    }
    tc_rpcconn_close(c);
    node_stop(&n);
    assert_int_equal(n.short_sends, 0);
    assert_int_equal(n.requests, 3);
    assert_int_equal(n.accepted, 3);
}

/* Half an answer means the node read the request and may have acted on it
 * (a sendrawtransaction): the call fails and is not sent again. */
static void test_partial_answer_is_not_retried(void **state)
{
    (void)state;
    fake_node n;
    node_start(&n, HALF_ANSWER);
    tc_rpcconn *c = open_conn(&n);
    json_t *result = NULL;
    int code = 0;
    tc_errmsg e = {""};
    assert_int_equal(tc_rpcconn_call(c, "sendrawtransaction", json_pack("[s]", "00"), &result, &code, &e), TC_EIO);
    assert_null(result);
    if (strstr(e.msg, "closed the connection") == NULL)
        fail_msg("unexpected message: %s", e.msg);
    tc_rpcconn_close(c);
    node_stop(&n);
    assert_int_equal(n.short_sends, 0);
    assert_int_equal(n.requests, 1);
    assert_int_equal(n.accepted, 1);
}

int main(void)
{
    alarm(PROGRAM_TIMEOUT_S); /* a hang is a failure, not a stuck build */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_close_is_retried_once),
        cmocka_unit_test(test_partial_answer_is_not_retried),
    };
    return cmocka_run_group_tests_name("rpcclient", tests, NULL, NULL);
}
