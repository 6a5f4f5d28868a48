/* Prometheus registry, text exposition 0.0.4, and the /metrics + /health +
 * status page listener. See metrics.h. */
#include "rpc/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "rpc/http.h"
#include "rpc/statuspage.h"
#include "util/log.h"
#include "util/mem.h"

#define MAX_NAME 128
#define MAX_HELP 1024

enum kind { K_COUNTER, K_GAUGE, K_HISTOGRAM };
static const char *const KIND_NAME[] = {"counter", "gauge", "histogram"};

struct tc_metrics_series {
    tc_metrics_family *f;
    char *values[TC_METRICS_MAX_LABELS];
    double value;      /* counter, gauge */
    double sum;        /* histogram */
    uint64_t count;    /* histogram */
    uint64_t *buckets; /* histogram: n_bounds + 1 (the last is +Inf), not cumulative */
};

struct tc_metrics_family {
    enum kind kind;
    char *name; /* with the prefix */
    char *help;
    size_t n_labels;
    char *labels[TC_METRICS_MAX_LABELS];
    double *bounds;
    size_t n_bounds;
    tc_metrics_series *series[TC_METRICS_MAX_SERIES];
    size_t n_series;
};

struct collect {
    void (*fn)(void *ctx, tc_metrics *r);
    void *ctx;
};

struct tc_metrics {
    tc_metrics_family *families[TC_METRICS_MAX_FAMILIES];
    size_t n_families;
    struct collect collect[TC_METRICS_MAX_COLLECT];
    size_t n_collect;
};

/* ---- registry ---------------------------------------------------------------- */

tc_metrics *tc_metrics_new(void)
{
    return tc_xcalloc(1, sizeof(tc_metrics));
}

static void series_free(tc_metrics_series *s)
{
    for (size_t i = 0; i < TC_METRICS_MAX_LABELS; i++)
        free(s->values[i]);
    free(s->buckets);
    free(s);
}

static void family_free(tc_metrics_family *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_series; i++)
        series_free(f->series[i]);
    for (size_t i = 0; i < f->n_labels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    free(f->bounds);
    free(f);
}

void tc_metrics_free(tc_metrics *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_families; i++)
        family_free(r->families[i]);
    free(r);
}

static bool name_chars(const char *s, bool colon)
{
    if (s == NULL || s[0] == 0 || strlen(s) > MAX_NAME || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (colon && c == ':')))
            return false;
    }
    return true;
}

bool tc_metrics_name_valid(const char *s)
{
    return name_chars(s, true);
}

bool tc_metrics_label_name_valid(const char *s)
{
    return name_chars(s, false) && strncmp(s, "__", 2) != 0 && strcmp(s, "le") != 0;
}

static tc_metrics_series *series_new(tc_metrics_family *f, const char *const *values)
{
    tc_metrics_series *s = tc_xcalloc(1, sizeof *s);
    s->f = f;
    for (size_t i = 0; i < f->n_labels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        size_t n = strnlen(v, TC_METRICS_MAX_LABEL_VALUE);
        s->values[i] = tc_xmalloc(n + 1);
        memcpy(s->values[i], v, n);
        s->values[i][n] = 0;
    }
    if (f->kind == K_HISTOGRAM)
        s->buckets = tc_xcalloc(f->n_bounds + 1, sizeof *s->buckets);
    f->series[f->n_series++] = s;
    return s;
}

/* Splits "a,b" into f->labels; false on a bad or repeated name or too many. */
static bool parse_labels(tc_metrics_family *f, const char *labels)
{
    if (labels == NULL)
        return true;
    const char *p = labels;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (f->n_labels == TC_METRICS_MAX_LABELS || n == 0 || n > MAX_NAME)
            return false;
        char *l = tc_xmalloc(n + 1);
        memcpy(l, p, n);
        l[n] = 0;
        f->labels[f->n_labels++] = l;
        if (!tc_metrics_label_name_valid(l))
            return false;
        for (size_t i = 0; i + 1 < f->n_labels; i++)
            if (strcmp(f->labels[i], l) == 0)
                return false;
        if (p[n] == 0)
            return true;
        p += n + 1;
    }
}

static tc_metrics_family *family_add(tc_metrics *r, enum kind kind, const char *name,
                                     const char *help, const char *labels, const double *bounds,
                                     size_t n_bounds, int *err)
{
    int rc = TC_EINVAL;
    tc_metrics_family *f = NULL;
    if (r == NULL || !tc_metrics_name_valid(name) || help == NULL ||
        strlen(help) > MAX_HELP)
        goto out;
    if (kind == K_HISTOGRAM) {
        if (bounds == NULL || n_bounds == 0 || n_bounds > TC_METRICS_MAX_BUCKETS)
            goto out;
        for (size_t i = 0; i < n_bounds; i++)
            if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
                goto out;
    }
    f = tc_xcalloc(1, sizeof *f);
    f->kind = kind;
    f->name = tc_xmalloc(sizeof TC_METRICS_PREFIX + strlen(name));
    strcpy(f->name, TC_METRICS_PREFIX);
    strcat(f->name, name);
    f->help = tc_xstrdup(help);
    if (!parse_labels(f, labels))
        goto out;
    for (size_t i = 0; i < r->n_families; i++)
        if (strcmp(r->families[i]->name, f->name) == 0) {
            rc = TC_EEXIST;
            goto out;
        }
    if (r->n_families == TC_METRICS_MAX_FAMILIES) {
        rc = TC_ELIMIT;
        goto out;
    }
    if (kind == K_HISTOGRAM) {
        f->bounds = tc_xmalloc(n_bounds * sizeof *bounds);
        memcpy(f->bounds, bounds, n_bounds * sizeof *bounds);
        f->n_bounds = n_bounds;
    }
    if (f->n_labels == 0)
        series_new(f, NULL); /* exported from the start, at zero */
    r->families[r->n_families++] = f;
    rc = 0;
out:
    if (rc != 0) {
        family_free(f);
        f = NULL;
    }
    if (err != NULL)
        *err = rc;
    return f;
}

tc_metrics_family *tc_metrics_counter(tc_metrics *r, const char *name, const char *help,
                                      const char *labels, int *err)
{
    return family_add(r, K_COUNTER, name, help, labels, NULL, 0, err);
}

tc_metrics_family *tc_metrics_gauge(tc_metrics *r, const char *name, const char *help,
                                    const char *labels, int *err)
{
    return family_add(r, K_GAUGE, name, help, labels, NULL, 0, err);
}

tc_metrics_family *tc_metrics_histogram(tc_metrics *r, const char *name, const char *help,
                                        const char *labels, const double *bounds,
                                        size_t n_bounds, int *err)
{
    return family_add(r, K_HISTOGRAM, name, help, labels, bounds, n_bounds, err);
}

/* Stored values are cut at TC_METRICS_MAX_LABEL_VALUE, so compare that much. */
static bool values_match(const tc_metrics_series *s, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = values && values[i] ? values[i] : "";
        size_t l = strnlen(v, TC_METRICS_MAX_LABEL_VALUE);
        if (strlen(s->values[i]) != l || memcmp(s->values[i], v, l) != 0)
            return false;
    }
    return true;
}

tc_metrics_series *tc_metrics_at(tc_metrics_family *f, const char *const *values)
{
    if (f->n_labels == 0)
        return f->series[0];
    for (size_t i = 0; i < f->n_series; i++)
        if (values_match(f->series[i], values, f->n_labels))
            return f->series[i];
    if (f->n_series + 1 < TC_METRICS_MAX_SERIES)
        return series_new(f, values);
    /* Out of room: the shared overflow series, created once in the last slot. */
    const char *other[TC_METRICS_MAX_LABELS];
    for (size_t i = 0; i < TC_METRICS_MAX_LABELS; i++)
        other[i] = TC_METRICS_OVERFLOW_VALUE;
    if (f->n_series == TC_METRICS_MAX_SERIES)
        return f->series[TC_METRICS_MAX_SERIES - 1];
    for (size_t i = 0; i < f->n_series; i++)
        if (values_match(f->series[i], other, f->n_labels))
            return f->series[i];
    return series_new(f, other);
}

static void need_kind(const tc_metrics_series *s, bool ok, const char *op)
{
    if (!ok) {
        fprintf(stderr, "metrics: %s on %s %s\n", op, KIND_NAME[s->f->kind], s->f->name);
        abort();
    }
}

void tc_metrics_add(tc_metrics_series *s, double v)
{
    need_kind(s, s->f->kind != K_HISTOGRAM, "add");
    if (s->f->kind == K_COUNTER && !(v >= 0))
        return;
    s->value += v;
}

void tc_metrics_inc(tc_metrics_series *s)
{
    tc_metrics_add(s, 1);
}

void tc_metrics_set(tc_metrics_series *s, double v)
{
    need_kind(s, s->f->kind != K_HISTOGRAM, "set");
    s->value = v;
}

void tc_metrics_observe(tc_metrics_series *s, double v)
{
    need_kind(s, s->f->kind == K_HISTOGRAM, "observe");
    if (isnan(v))
        return;
    size_t i = 0;
    while (i < s->f->n_bounds && v > s->f->bounds[i])
        i++;
    s->buckets[i]++;
    s->sum += v;
    s->count++;
}

double tc_metrics_value(const tc_metrics_series *s)
{
    return s->value;
}

int tc_metrics_on_collect(tc_metrics *r, void (*fn)(void *ctx, tc_metrics *r), void *ctx)
{
    if (r->n_collect == TC_METRICS_MAX_COLLECT)
        return TC_ELIMIT;
    r->collect[r->n_collect++] = (struct collect){fn, ctx};
    return 0;
}

/* ---- exposition -------------------------------------------------------------- */

static void put_str(tc_buf *b, const char *s)
{
    tc_buf_put(b, s, strlen(s));
}

/* Shortest of %.15g / %.17g that reads back exactly; Prometheus spellings
 * for the non-finite values. */
static void put_double(tc_buf *b, double v)
{
    char s[40];
    if (isnan(v))
        snprintf(s, sizeof s, "NaN");
    else if (isinf(v))
        snprintf(s, sizeof s, v > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(s, sizeof s, "%.15g", v);
        if (strtod(s, NULL) != v)
            snprintf(s, sizeof s, "%.17g", v);
    }
    put_str(b, s);
}

static void put_u64(tc_buf *b, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    put_str(b, s);
}

/* Help text escapes \ and newline; label values also escape ". */
static void put_escaped(tc_buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            put_str(b, "\\\\");
        else if (*s == '\n')
            put_str(b, "\\n");
        else if (quote && *s == '"')
            put_str(b, "\\\"");
        else
            tc_buf_u8(b, (uint8_t)*s);
    }
}

/* name{l1="v1",…[,le="x"]} with the braces left out when there is nothing in them. */
static void put_sample_name(tc_buf *b, const tc_metrics_series *s, const char *suffix,
                            const double *le)
{
    const tc_metrics_family *f = s->f;
    put_str(b, f->name);
    put_str(b, suffix);
    if (f->n_labels == 0 && le == NULL)
        return;
    tc_buf_u8(b, '{');
    for (size_t i = 0; i < f->n_labels; i++) {
        if (i > 0)
            tc_buf_u8(b, ',');
        put_str(b, f->labels[i]);
        put_str(b, "=\"");
        put_escaped(b, s->values[i], true);
        tc_buf_u8(b, '"');
    }
    if (le != NULL) {
        if (f->n_labels > 0)
            tc_buf_u8(b, ',');
        put_str(b, "le=\"");
        put_double(b, *le);
        tc_buf_u8(b, '"');
    }
    tc_buf_u8(b, '}');
}

static void render_series(tc_buf *b, const tc_metrics_series *s)
{
    const tc_metrics_family *f = s->f;
    if (f->kind != K_HISTOGRAM) {
        put_sample_name(b, s, "", NULL);
        tc_buf_u8(b, ' ');
        put_double(b, s->value);
        tc_buf_u8(b, '\n');
        return;
    }
    uint64_t cum = 0;
    for (size_t i = 0; i <= f->n_bounds; i++) {
        double le = i < f->n_bounds ? f->bounds[i] : INFINITY;
        cum += s->buckets[i];
        put_sample_name(b, s, "_bucket", &le);
        tc_buf_u8(b, ' ');
        put_u64(b, cum);
        tc_buf_u8(b, '\n');
    }
    put_sample_name(b, s, "_sum", NULL);
    tc_buf_u8(b, ' ');
    put_double(b, s->sum);
    tc_buf_u8(b, '\n');
    put_sample_name(b, s, "_count", NULL);
    tc_buf_u8(b, ' ');
    put_u64(b, s->count);
    tc_buf_u8(b, '\n');
}

void tc_metrics_render(tc_metrics *r, tc_buf *out)
{
    for (size_t i = 0; i < r->n_collect; i++)
        r->collect[i].fn(r->collect[i].ctx, r);
    for (size_t i = 0; i < r->n_families; i++) {
        const tc_metrics_family *f = r->families[i];
        put_str(out, "# HELP ");
        put_str(out, f->name);
        tc_buf_u8(out, ' ');
        put_escaped(out, f->help, false);
        put_str(out, "\n# TYPE ");
        put_str(out, f->name);
        tc_buf_u8(out, ' ');
        put_str(out, KIND_NAME[f->kind]);
        tc_buf_u8(out, '\n');
        for (size_t j = 0; j < f->n_series; j++)
            render_series(out, f->series[j]);
    }
}

int tc_metrics_rss_bytes(uint64_t *bytes)
{
    *bytes = 0;
    FILE *fp = fopen("/proc/self/statm", "re");
    if (fp == NULL)
        return TC_EIO;
    unsigned long long size, resident;
    int n = fscanf(fp, "%llu %llu", &size, &resident);
    fclose(fp);
    long page = sysconf(_SC_PAGESIZE);
    if (n != 2 || page <= 0)
        return TC_EIO;
    *bytes = (uint64_t)resident * (uint64_t)page;
    return 0;
}

/* ---- the listener ------------------------------------------------------------ */

#define SERVER_MAX_BODY 1024

struct tc_metrics_server {
    tc_http *http;
    tc_metrics *reg;
    tc_metrics_health_fn health;
    void *ctx;
    tc_metrics_status_fn status;
    void *status_ctx;
};

static void send_buf(tc_http_response *resp, int status, const char *type, const char *extra,
                     const void *p, size_t n)
{
    /* HEAD gets the headers of GET; the server leaves out the body itself. */
    char headers[512];
    snprintf(headers, sizeof headers, "Cache-Control: no-store\r\n%s", extra ? extra : "");
    tc_http_respond(resp, status, type, headers, p, n);
}

/* body as one line of compact JSON; body is consumed. */
static void send_json(tc_http_response *resp, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        abort();
    size_t n = strlen(text);
    char *line = tc_xmalloc(n + 2);
    memcpy(line, text, n);
    line[n] = '\n';
    free(text);
    send_buf(resp, status, "application/json", NULL, line, n + 1);
    free(line);
}

static void serve_health(tc_metrics_server *s, tc_http_response *resp)
{
    json_t *body = json_object(), *reasons = json_array();
    if (body == NULL || reasons == NULL)
        abort();
    json_object_set_new(body, "status", json_string("ok")); /* first key; value below */
    json_object_set(body, "reasons", reasons);
    bool ok = s->health ? s->health(s->ctx, body, reasons) : true;
    if (!ok && json_array_size(reasons) == 0)
        json_array_append_new(reasons, json_string("unhealthy (no reason given)"));
    /* The callback may have replaced these keys; the server's word is final. */
    json_object_set_new(body, "status", json_string(ok ? "ok" : "unhealthy"));
    json_object_set(body, "reasons", reasons);
    json_decref(reasons);
    send_json(resp, ok ? 200 : 503, body);
}

static void serve_status(tc_metrics_server *s, tc_http_response *resp)
{
    json_t *body = json_object();
    if (body == NULL)
        abort();
    s->status(s->status_ctx, body);
    send_json(resp, 200, body);
}

/* The page's files may load only from this origin and never be framed. */
static void serve_asset(tc_http_response *resp, const tc_statuspage_asset *a)
{
    send_buf(resp, 200, a->content_type,
             "Content-Security-Policy: " TC_STATUSPAGE_CSP "\r\n"
             "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n",
             a->body, a->len);
}

static void metrics_http_cb(void *arg, const tc_http_request *req, tc_http_response *resp)
{
    tc_metrics_server *s = arg;
    bool is_metrics = strcmp(req->path, "/metrics") == 0;
    bool is_health = strcmp(req->path, "/health") == 0;
    bool is_status = s->status != NULL && strcmp(req->path, "/status.json") == 0;
    const tc_statuspage_asset *asset = tc_statuspage_find(req->path);
    static const char *const PLAIN = "text/plain; charset=utf-8";
    static const char NOT_FOUND[] = "not found: try /, /metrics or /health\n";
    if (!is_metrics && !is_health && !is_status && asset == NULL) {
        send_buf(resp, 404, PLAIN, NULL, NOT_FOUND, sizeof NOT_FOUND - 1);
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        send_buf(resp, 405, PLAIN, "Allow: GET, HEAD\r\n", "method not allowed\n", 19);
        return;
    }
    if (asset != NULL) {
        serve_asset(resp, asset);
        return;
    }
    if (is_status) {
        serve_status(s, resp);
        return;
    }
    if (is_health) {
        serve_health(s, resp);
        return;
    }
    tc_buf b;
    tc_buf_init(&b);
    tc_metrics_render(s->reg, &b);
    send_buf(resp, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
             b.p ? b.p : (uint8_t *)"", b.len);
    tc_buf_release(&b);
}

tc_metrics_server *tc_metrics_server_new(struct event_base *base, const char *listen,
                                         unsigned max_connections, tc_metrics *reg,
                                         tc_metrics_health_fn health, void *ctx, int *err)
{
    int rc = TC_EINVAL;
    tc_metrics_server *s = NULL;
    if (base == NULL || listen == NULL || reg == NULL)
        goto out;
    s = tc_xcalloc(1, sizeof *s);
    s->reg = reg;
    s->health = health;
    s->ctx = ctx;
    tc_http_opts ho = {.name = "metrics",
                       .max_connections = max_connections ? max_connections
                                                          : TC_METRICS_DEFAULT_MAX_CONNECTIONS,
                       .max_body = SERVER_MAX_BODY};
    s->http = tc_http_new(base, listen, &ho, metrics_http_cb, s, &rc);
    if (rc == 0)
        tc_log_info("metrics", "metrics listening", "addr=%s port=%u max_connections=%u", listen,
                    (unsigned)tc_http_port(s->http), ho.max_connections);
out:
    if (rc != 0) {
        tc_metrics_server_free(s);
        s = NULL;
    }
    if (err != NULL)
        *err = rc;
    return s;
}

void tc_metrics_server_set_status(tc_metrics_server *s, tc_metrics_status_fn fn, void *ctx)
{
    s->status = fn;
    s->status_ctx = ctx;
}

void tc_metrics_server_free(tc_metrics_server *s)
{
    if (s == NULL)
        return;
    tc_http_free(s->http);
    free(s);
}

uint16_t tc_metrics_server_port(const tc_metrics_server *s)
{
    return tc_http_port(s->http);
}
