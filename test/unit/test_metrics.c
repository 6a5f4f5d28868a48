/* Prometheus registry and the metrics listener: the exposition text byte for
 * byte for a small registry, name and label validation, escaping, number
 * formatting, the bound on label values, collect callbacks, RSS, and the
 * HTTP endpoints (/metrics, /health 200 and 503, the status page's files
 * and /status.json with their types and headers, 404, 405).
 *
 * The HTTP tests run server and client (libevent's evhttp client) on one
 * event_base in the test thread; each request loops until its answer or a
 * 30 s timer, so nothing waits longer than it must. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "rpc/metrics.h"
#include "rpc/statuspage.h"
#include "util/log.h"
#include "util/mem.h"

static char *render(tc_metrics *r)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_metrics_render(r, &b);
    tc_buf_u8(&b, 0);
    char *s = tc_xstrdup((char *)b.p);
    tc_buf_release(&b);
    return s;
}

static void assert_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fail_msg("exposition differs\n--- got\n%s--- want\n%s---", got, want);
}

/* A small registry with one of each kind, its text written out by hand. */
static tc_metrics *small_registry(void)
{
    tc_metrics *r = tc_metrics_new();
    int err = -1;
    tc_metrics_family *blocks = tc_metrics_counter(r, "blocks_total", "Blocks committed.", NULL, &err);
    assert_non_null(blocks);
    assert_int_equal(err, 0);
    tc_metrics_family *msgs = tc_metrics_counter(r, "messages_total", "Messages by type and direction.",
                                                 "type,direction", &err);
    tc_metrics_family *height = tc_metrics_gauge(r, "height", "Best height (a \\ and a\nnewline).",
                                                 NULL, &err);
    tc_metrics_family *agent = tc_metrics_gauge(r, "peer_agent", "Peers by user agent.", "agent", &err);
    const double lat[] = {0.125, 0.5, 1};
    tc_metrics_family *commit = tc_metrics_histogram(r, "commit_latency_seconds",
                                                     "Proposal to commit.", NULL, lat, 3, &err);
    const double one[] = {1};
    tc_metrics_family *step = tc_metrics_histogram(r, "step_seconds", "Time per step.", "step", one, 1,
                                                   &err);
    tc_metrics_counter(r, "unused_total", "Labelled, nothing counted yet.", "reason", &err);
    assert_int_equal(err, 0);

    for (int i = 0; i < 3; i++)
        tc_metrics_inc(tc_metrics_at(blocks, NULL));
    tc_metrics_add(tc_metrics_at(msgs, (const char *[]){"tx", "in"}), 2);
    tc_metrics_inc(tc_metrics_at(msgs, (const char *[]){"vote", "out"}));
    tc_metrics_inc(tc_metrics_at(msgs, (const char *[]){"tx", "in"}));
    tc_metrics_set(tc_metrics_at(height, NULL), 42);
    tc_metrics_set(tc_metrics_at(agent, (const char *[]){"time/1.0 \"x\" \\ y\nz"}), 2);
    tc_metrics_series *c = tc_metrics_at(commit, NULL);
    tc_metrics_observe(c, 0.0625);
    tc_metrics_observe(c, 0.25);
    tc_metrics_observe(c, 0.5); /* on a bound: counted in that bucket (le) */
    tc_metrics_observe(c, 2);
    tc_metrics_observe(tc_metrics_at(step, (const char *[]){"propose"}), 0.75);
    return r;
}

static const char SMALL_TEXT[] =
    "# HELP timecoin_blocks_total Blocks committed.\n"
    "# TYPE timecoin_blocks_total counter\n"
    "timecoin_blocks_total 3\n"
    "# HELP timecoin_messages_total Messages by type and direction.\n"
    "# TYPE timecoin_messages_total counter\n"
    "timecoin_messages_total{type=\"tx\",direction=\"in\"} 3\n"
    "timecoin_messages_total{type=\"vote\",direction=\"out\"} 1\n"
    "# HELP timecoin_height Best height (a \\\\ and a\\nnewline).\n"
    "# TYPE timecoin_height gauge\n"
    "timecoin_height 42\n"
    "# HELP timecoin_peer_agent Peers by user agent.\n"
    "# TYPE timecoin_peer_agent gauge\n"
    "timecoin_peer_agent{agent=\"time/1.0 \\\"x\\\" \\\\ y\\nz\"} 2\n"
    "# HELP timecoin_commit_latency_seconds Proposal to commit.\n"
    "# TYPE timecoin_commit_latency_seconds histogram\n"
    "timecoin_commit_latency_seconds_bucket{le=\"0.125\"} 1\n"
    "timecoin_commit_latency_seconds_bucket{le=\"0.5\"} 3\n"
    "timecoin_commit_latency_seconds_bucket{le=\"1\"} 3\n"
    "timecoin_commit_latency_seconds_bucket{le=\"+Inf\"} 4\n"
    "timecoin_commit_latency_seconds_sum 2.8125\n"
    "timecoin_commit_latency_seconds_count 4\n"
    "# HELP timecoin_step_seconds Time per step.\n"
    "# TYPE timecoin_step_seconds histogram\n"
    "timecoin_step_seconds_bucket{step=\"propose\",le=\"1\"} 1\n"
    "timecoin_step_seconds_bucket{step=\"propose\",le=\"+Inf\"} 1\n"
    "timecoin_step_seconds_sum{step=\"propose\"} 0.75\n"
    "timecoin_step_seconds_count{step=\"propose\"} 1\n"
    "# HELP timecoin_unused_total Labelled, nothing counted yet.\n"
    "# TYPE timecoin_unused_total counter\n";

static void test_exposition(void **state)
{
    (void)state;
    tc_metrics *r = small_registry();
    char *text = render(r);
    assert_text(text, SMALL_TEXT);
    free(text);
    tc_metrics_free(r);
    tc_metrics_free(NULL);
}

static void test_names(void **state)
{
    (void)state;
    const char *good[] = {"a", "height", "a_b:c", "_x", "A1", ":x"};
    const char *bad[] = {"", "1a", "a-b", "a b", "caf\xc3\xa9", "a.b", NULL};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(tc_metrics_name_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(tc_metrics_name_valid(bad[i]));
    assert_true(tc_metrics_label_name_valid("type"));
    assert_true(tc_metrics_label_name_valid("_a1"));
    const char *bad_labels[] = {"", "__reserved", "le", "a:b", "1a", "a-b", NULL};
    for (size_t i = 0; i < sizeof bad_labels / sizeof *bad_labels; i++)
        assert_false(tc_metrics_label_name_valid(bad_labels[i]));

    tc_metrics *r = tc_metrics_new();
    int err = 0;
    assert_non_null(tc_metrics_counter(r, "x_total", "x", NULL, &err));
    assert_null(tc_metrics_gauge(r, "x_total", "again", NULL, &err));
    assert_int_equal(err, TC_EEXIST);
    const char *bad_sets[] = {"", "a,", ",a", "a,,b", "a,a", "a,b,c,d,e", "le", "a b"};
    for (size_t i = 0; i < sizeof bad_sets / sizeof *bad_sets; i++) {
        err = 0;
        assert_null(tc_metrics_counter(r, "y_total", "y", bad_sets[i], &err));
        assert_int_equal(err, TC_EINVAL);
    }
    assert_null(tc_metrics_counter(r, "bad-name", "y", NULL, &err));
    assert_int_equal(err, TC_EINVAL);
    assert_null(tc_metrics_counter(r, "nohelp", NULL, NULL, &err));
    assert_int_equal(err, TC_EINVAL);
    assert_non_null(tc_metrics_counter(r, "y_total", "y", "a,b,c,d", &err));
    const double unsorted[] = {1, 1}, nan_bound[] = {NAN}, ok[] = {1, 2};
    assert_null(tc_metrics_histogram(r, "h", "h", NULL, unsorted, 2, &err));
    assert_int_equal(err, TC_EINVAL);
    assert_null(tc_metrics_histogram(r, "h", "h", NULL, nan_bound, 1, &err));
    assert_null(tc_metrics_histogram(r, "h", "h", NULL, ok, 0, &err));
    assert_null(tc_metrics_histogram(r, "h", "h", NULL, NULL, 2, &err));
    assert_non_null(tc_metrics_histogram(r, "h", "h", NULL, ok, 2, &err));
    assert_int_equal(err, 0);
    /* a failed registration leaves nothing behind */
    char *text = render(r);
    assert_null(strstr(text, "bad"));
    assert_null(strstr(text, "nohelp"));
    free(text);
    tc_metrics_free(r);

    r = tc_metrics_new();
    char name[16];
    for (int i = 0; i < TC_METRICS_MAX_FAMILIES; i++) {
        snprintf(name, sizeof name, "g%d", i);
        assert_non_null(tc_metrics_gauge(r, name, "g", NULL, &err));
    }
    assert_null(tc_metrics_gauge(r, "one_more", "g", NULL, &err));
    assert_int_equal(err, TC_ELIMIT);
    tc_metrics_free(r);
}

static void test_values(void **state)
{
    (void)state;
    tc_metrics *r = tc_metrics_new();
    tc_metrics_family *g = tc_metrics_gauge(r, "v", "v", "k", NULL);
    tc_metrics_family *c = tc_metrics_counter(r, "c_total", "c", NULL, NULL);
    const struct {
        const char *k;
        double v;
    } vals[] = {{"tenth", 0.1}, {"third", 1.0 / 3}, {"big", 1e21}, {"neg", -2.5},
                {"inf", INFINITY}, {"ninf", -INFINITY}, {"nan", NAN}, {"int", 1234567}};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        tc_metrics_set(tc_metrics_at(g, (const char *[]){vals[i].k}), vals[i].v);
    tc_metrics_series *cs = tc_metrics_at(c, NULL);
    tc_metrics_add(cs, 5);
    tc_metrics_add(cs, -1); /* counters never go down */
    tc_metrics_add(cs, NAN);
    assert_true(tc_metrics_value(cs) == 5);
    char *text = render(r);
    assert_text(text, "# HELP timecoin_v v\n# TYPE timecoin_v gauge\n"
                      "timecoin_v{k=\"tenth\"} 0.1\n"
                      "timecoin_v{k=\"third\"} 0.33333333333333331\n"
                      "timecoin_v{k=\"big\"} 1e+21\n"
                      "timecoin_v{k=\"neg\"} -2.5\n"
                      "timecoin_v{k=\"inf\"} +Inf\n"
                      "timecoin_v{k=\"ninf\"} -Inf\n"
                      "timecoin_v{k=\"nan\"} NaN\n"
                      "timecoin_v{k=\"int\"} 1234567\n"
                      "# HELP timecoin_c_total c\n# TYPE timecoin_c_total counter\n"
                      "timecoin_c_total 5\n");
    free(text);
    tc_metrics_free(r);
}

static void test_label_bound(void **state)
{
    (void)state;
    tc_metrics *r = tc_metrics_new();
    tc_metrics_family *f = tc_metrics_counter(r, "drops_total", "d", "reason,class", NULL);
    char v[32];
    for (int i = 0; i < 100; i++) {
        snprintf(v, sizeof v, "r%d", i);
        tc_metrics_inc(tc_metrics_at(f, (const char *[]){v, "x"}));
    }
    /* 63 distinct series, then everything else in one "other" series */
    tc_metrics_series *other = tc_metrics_at(f, (const char *[]){"r99", "x"});
    assert_true(other == tc_metrics_at(f, (const char *[]){"never seen", "y"}));
    assert_true(tc_metrics_value(other) == 37);
    assert_true(tc_metrics_value(tc_metrics_at(f, (const char *[]){"r62", "x"})) == 1);
    char *text = render(r);
    size_t lines = 0;
    for (const char *p = text; (p = strstr(p, "timecoin_drops_total{")) != NULL; p++)
        lines++;
    assert_int_equal(lines, TC_METRICS_MAX_SERIES);
    assert_non_null(strstr(text, "timecoin_drops_total{reason=\"other\",class=\"other\"} 37\n"));
    free(text);

    /* long values are cut, and the cut value names the same series */
    tc_metrics_family *g = tc_metrics_gauge(r, "long", "l", "v", NULL);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tc_metrics_series *s = tc_metrics_at(g, (const char *[]){big});
    big[TC_METRICS_MAX_LABEL_VALUE] = 0;
    assert_true(s == tc_metrics_at(g, (const char *[]){big}));
    /* NULL values are empty strings */
    assert_true(tc_metrics_at(g, (const char *[]){NULL}) == tc_metrics_at(g, (const char *[]){""}));
    tc_metrics_free(r);
}

static void refresh(void *ctx, tc_metrics *r)
{
    int *calls = ctx;
    (*calls)++;
    uint64_t rss = 0;
    assert_int_equal(tc_metrics_rss_bytes(&rss), 0);
    (void)r;
}

static tc_metrics_series *collected_gauge;

static void refresh_gauge(void *ctx, tc_metrics *r)
{
    uint64_t rss = 0;
    if (tc_metrics_rss_bytes(&rss) == 0)
        tc_metrics_set(collected_gauge, (double)rss);
}

static void test_collect_and_rss(void **state)
{
    (void)state;
    uint64_t rss = 0;
    assert_int_equal(tc_metrics_rss_bytes(&rss), 0);
    assert_true(rss > 100 * 1024 && rss < (64ull << 30));

    tc_metrics *r = tc_metrics_new();
    collected_gauge = tc_metrics_at(tc_metrics_gauge(r, "process_rss_bytes", "RSS.", NULL, NULL), NULL);
    int calls = 0;
    for (int i = 0; i < TC_METRICS_MAX_COLLECT - 1; i++)
        assert_int_equal(tc_metrics_on_collect(r, refresh, &calls), 0);
    assert_int_equal(tc_metrics_on_collect(r, refresh_gauge, NULL), 0);
    assert_int_equal(tc_metrics_on_collect(r, refresh, &calls), TC_ELIMIT);
    char *text = render(r);
    assert_int_equal(calls, TC_METRICS_MAX_COLLECT - 1);
    assert_true(tc_metrics_value(collected_gauge) > 100 * 1024);
    assert_null(strstr(text, "timecoin_process_rss_bytes 0\n"));
    free(text);
    tc_metrics_free(r);
}

/* ---- HTTP -------------------------------------------------------------------- */

typedef struct {
    struct event_base *base;
    tc_metrics *reg;
    tc_metrics_server *srv;
    bool healthy;
    int health_calls;
    int status_calls;
} fixture;

typedef struct {
    bool done;
    int status;
    char ctype[128];
    char cache[64];
    char csp[512];
    char *body;
    struct event_base *base;
} reply;

static bool health(void *ctx, json_t *body, json_t *reasons)
{
    fixture *f = ctx;
    f->health_calls++;
    json_object_set_new(body, "height", json_integer(7));
    json_object_set_new(body, "peers", json_integer(f->healthy ? 3 : 0));
    if (!f->healthy) {
        json_array_append_new(reasons, json_string("no peers"));
        json_array_append_new(reasons, json_string("last commit 90000 ms ago"));
    }
    return f->healthy;
}

static int http_setup(void **state)
{
    fixture *f = tc_xcalloc(1, sizeof *f);
    f->base = event_base_new();
    f->reg = small_registry();
    f->healthy = true;
    int err = -1;
    f->srv = tc_metrics_server_new(f->base, "127.0.0.1:0", 0, f->reg, health, f, &err);
    if (f->srv == NULL || err != 0 || tc_metrics_server_port(f->srv) == 0)
        return -1;
    *state = f;
    return 0;
}

static int http_teardown(void **state)
{
    fixture *f = *state;
    tc_metrics_server_free(f->srv);
    tc_metrics_free(f->reg);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void on_reply(struct evhttp_request *req, void *arg)
{
    reply *r = arg;
    r->done = true;
    if (req == NULL || evhttp_request_get_response_code(req) == 0) {
        r->status = -1;
        return;
    }
    r->status = evhttp_request_get_response_code(req);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *ct = evhttp_find_header(h, "Content-Type"), *cc = evhttp_find_header(h, "Cache-Control"),
               *csp = evhttp_find_header(h, "Content-Security-Policy");
    snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
    snprintf(r->cache, sizeof r->cache, "%s", cc ? cc : "");
    snprintf(r->csp, sizeof r->csp, "%s", csp ? csp : "");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    r->body = tc_xmalloc(n + 1);
    evbuffer_remove(in, r->body, n);
    r->body[n] = 0;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    ((reply *)arg)->done = true; /* status stays 0: the test fails on it */
}

/* One request; runs the loop (server and client both) until the answer. */
static void request(fixture *f, enum evhttp_cmd_type cmd, const char *path, reply *r)
{
    memset(r, 0, sizeof *r);
    struct evhttp_connection *c =
        evhttp_connection_base_new(f->base, NULL, "127.0.0.1", tc_metrics_server_port(f->srv));
    assert_non_null(c);
    evhttp_connection_set_timeout(c, 30);
    struct evhttp_request *req = evhttp_request_new(on_reply, r);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
    struct event *t = evtimer_new(f->base, on_timeout, r);
    struct timeval tv = {.tv_sec = 30};
    evtimer_add(t, &tv);
    assert_int_equal(evhttp_make_request(c, req, cmd, path), 0);
    while (!r->done)
        event_base_loop(f->base, EVLOOP_ONCE);
    event_free(t);
    evhttp_connection_free(c);
    if (r->status <= 0)
        fail_msg("no answer to %s", path);
}

/* One request that must get `status`; its body is dropped. */
static void expect_status(fixture *f, enum evhttp_cmd_type cmd, const char *path, int status)
{
    reply r;
    request(f, cmd, path, &r);
    if (r.status != status)
        fail_msg("%s: %d instead of %d", path, r.status, status);
    free(r.body);
}

static void test_http_metrics(void **state)
{
    fixture *f = *state;
    reply r;
    request(f, EVHTTP_REQ_GET, "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_text(r.body, SMALL_TEXT);
    free(r.body);
    expect_status(f, EVHTTP_REQ_GET, "/metrics?name=x", 200);
    request(f, EVHTTP_REQ_HEAD, "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    free(r.body);
}

static void test_http_health(void **state)
{
    fixture *f = *state;
    reply r;
    request(f, EVHTTP_REQ_GET, "/health", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body, "{\"status\":\"ok\",\"reasons\":[],\"height\":7,\"peers\":3}\n");
    free(r.body);

    f->healthy = false;
    request(f, EVHTTP_REQ_GET, "/health", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"status\":\"unhealthy\",\"reasons\":[\"no peers\","
                                "\"last commit 90000 ms ago\"],\"height\":7,\"peers\":0}\n");
    free(r.body);

    f->healthy = true;
    expect_status(f, EVHTTP_REQ_GET, "/health", 200);
    assert_int_equal(f->health_calls, 3);
}

static void test_http_errors(void **state)
{
    fixture *f = *state;
    const char *paths[] = {"/index.html", "/metrics/", "/healthz", "/metricsx", "/../metrics", "/status.json",
                           "/status.js/", "//", "/status.htm"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        expect_status(f, EVHTTP_REQ_GET, paths[i], 404);
    expect_status(f, EVHTTP_REQ_POST, "/metrics", 405);
    expect_status(f, EVHTTP_REQ_DELETE, "/health", 405);
    assert_int_equal(f->health_calls, 0);
    expect_status(f, EVHTTP_REQ_GET, "/metrics", 200); /* still serving */
}

static void status(void *ctx, json_t *body)
{
    fixture *f = ctx;
    f->status_calls++;
    json_object_set_new(body, "height", json_integer(7));
}

/* A file of the status page: 200, its type, no-store and the policy. */
static char *expect_asset(fixture *f, const char *path, const char *type)
{
    reply r;
    request(f, EVHTTP_REQ_GET, path, &r);
    if (r.status != 200)
        fail_msg("%s: %d", path, r.status);
    assert_string_equal(r.ctype, type);
    assert_string_equal(r.cache, "no-store");
    assert_string_equal(r.csp, TC_STATUSPAGE_CSP);
    return r.body;
}

static void test_http_status_page(void **state)
{
    fixture *f = *state;
    char *html = expect_asset(f, "/", "text/html; charset=utf-8");
    /* The policy allows no inline code: the page must carry none. */
    assert_non_null(strstr(html, "<script src=\"/status.js\"></script>"));
    assert_non_null(strstr(html, "<link rel=\"stylesheet\" href=\"/status.css\">"));
    assert_non_null(strstr(html, "<canvas id=\"chart\""));
    assert_null(strstr(html, "<script>"));
    assert_null(strstr(html, "<style"));
    assert_null(strstr(html, "style=\""));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    free(html);
    char *js = expect_asset(f, "/status.js", "text/javascript; charset=utf-8");
    assert_non_null(strstr(js, "fetch('/status.json'"));
    assert_null(strstr(js, "innerHTML"));
    free(js);
    free(expect_asset(f, "/status.css", "text/css; charset=utf-8"));
    free(expect_asset(f, "/?refresh=1", "text/html; charset=utf-8"));

    reply r;
    request(f, EVHTTP_REQ_HEAD, "/", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    free(r.body);
    expect_status(f, EVHTTP_REQ_POST, "/", 405);
    expect_status(f, EVHTTP_REQ_GET, "/status.json", 404); /* no status callback yet */

    tc_metrics_server_set_status(f->srv, status, f);
    request(f, EVHTTP_REQ_GET, "/status.json", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.cache, "no-store");
    assert_string_equal(r.body, "{\"height\":7}\n");
    free(r.body);
    expect_status(f, EVHTTP_REQ_PUT, "/status.json", 405);
    expect_status(f, EVHTTP_REQ_GET, "/status.json/", 404);
    assert_int_equal(f->status_calls, 1);
    assert_int_equal(f->health_calls, 0);
}

static void test_server_args(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    tc_metrics *reg = tc_metrics_new();
    int err = 0;
    assert_null(tc_metrics_server_new(base, "127.0.0.1:x", 0, reg, NULL, NULL, &err));
    assert_int_equal(err, TC_ENET_ADDR);
    assert_null(tc_metrics_server_new(base, "127.0.0.1:70000", 0, reg, NULL, NULL, &err));
    assert_int_equal(err, TC_ENET_ADDR);
    assert_null(tc_metrics_server_new(base, NULL, 0, reg, NULL, NULL, &err));
    assert_int_equal(err, TC_EINVAL);
    assert_null(tc_metrics_server_new(base, "127.0.0.1:0", 0, NULL, NULL, NULL, &err));
    assert_int_equal(err, TC_EINVAL);
    /* a port already taken */
    tc_metrics_server *a = tc_metrics_server_new(base, ":0", 0, reg, NULL, NULL, &err);
    assert_non_null(a);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)tc_metrics_server_port(a));
    assert_null(tc_metrics_server_new(base, addr, 0, reg, NULL, NULL, &err));
    assert_int_equal(err, TC_EIO);
    tc_metrics_server_free(a);
    tc_metrics_server_free(NULL);
    tc_metrics_free(reg);
    event_base_free(base);
}

int main(void)
{
    tc_log_setup(TC_LOG_OFF, TC_LOG_LOGFMT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_label_bound),
        cmocka_unit_test(test_collect_and_rss),
        cmocka_unit_test_setup_teardown(test_http_metrics, http_setup, http_teardown),
        cmocka_unit_test_setup_teardown(test_http_health, http_setup, http_teardown),
        cmocka_unit_test_setup_teardown(test_http_errors, http_setup, http_teardown),
        cmocka_unit_test_setup_teardown(test_http_status_page, http_setup, http_teardown),
        cmocka_unit_test(test_server_args),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
