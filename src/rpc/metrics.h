/* Prometheus metrics: a registry of counters, gauges and histograms (fixed
 * buckets) with optional labels, rendered in the text exposition format
 * 0.0.4, and the metrics HTTP listener (GET /metrics, GET /health, and the
 * operator's status page: GET /, /status.css, /status.js, /status.json).
 *
 * Every name is exported with the prefix "timecoin_". A family has at most
 * TC_METRICS_MAX_SERIES label-value combinations; once they are used up, new
 * combinations all land in one series whose label values are all "other", so
 * a label fed from the network cannot grow memory or the scrape without bound.
 *
 * Thread rule: the registry has no locks. Registration, updates, collect
 * callbacks and rendering all run on one thread, the event loop's (the
 * metrics server renders from its HTTP callback on that loop). Code on other
 * threads hands its figures to the loop first. */
#ifndef TC_RPC_METRICS_H
#define TC_RPC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "util/buf.h"
#include "util/err.h"

#define TC_METRICS_PREFIX "timecoin_"
#define TC_METRICS_MAX_LABELS 4
#define TC_METRICS_MAX_SERIES 64  /* per family, the "other" series included */
#define TC_METRICS_MAX_BUCKETS 32 /* finite bounds of a histogram (+Inf is implicit) */
#define TC_METRICS_MAX_FAMILIES 256
#define TC_METRICS_MAX_COLLECT 8
#define TC_METRICS_MAX_LABEL_VALUE 128 /* longer values are cut to this many bytes */
#define TC_METRICS_OVERFLOW_VALUE "other"
#define TC_METRICS_DEFAULT_MAX_CONNECTIONS 16 /* of the listener */

typedef struct tc_metrics tc_metrics;               /* the registry */
typedef struct tc_metrics_family tc_metrics_family; /* one metric name */
typedef struct tc_metrics_series tc_metrics_series; /* one label-value combination */

tc_metrics *tc_metrics_new(void);
/* Frees the registry with its families and series. NULL is a no-op. */
void tc_metrics_free(tc_metrics *r);

/* True if s is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) / label name
 * ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", not "le"). */
bool tc_metrics_name_valid(const char *s);
bool tc_metrics_label_name_valid(const char *s);

/* Registers a family. name is without the prefix ("height" is exported as
 * "timecoin_height"); help is one line of text; labels is NULL (no labels)
 * or a comma-separated list of label names ("direction" or "type,dir").
 * Histograms take n_bounds (1..TC_METRICS_MAX_BUCKETS) finite, strictly
 * increasing upper bounds. Returns a handle valid until tc_metrics_free, or
 * NULL with *err (if err is not NULL): TC_EINVAL (bad name, help, labels or
 * bounds), TC_EEXIST (name taken), TC_ELIMIT (too many families). */
tc_metrics_family *tc_metrics_counter(tc_metrics *r, const char *name, const char *help,
                                      const char *labels, int *err);
tc_metrics_family *tc_metrics_gauge(tc_metrics *r, const char *name, const char *help,
                                    const char *labels, int *err);
tc_metrics_family *tc_metrics_histogram(tc_metrics *r, const char *name, const char *help,
                                        const char *labels, const double *bounds,
                                        size_t n_bounds, int *err);

/* The series of a family for the given label values (one per label name, in
 * order; NULL entries mean ""), created on first use. values is ignored for a
 * family without labels. Never NULL; valid until tc_metrics_free, so hot
 * paths can keep it. Series are exported in order of creation. */
tc_metrics_series *tc_metrics_at(tc_metrics_family *f, const char *const *values);

/* Updates. Counters only go up: add() of a negative or NaN amount is ignored.
 * set() works on gauges and on counters that mirror a total kept elsewhere.
 * observe() is for histograms (NaN is ignored). Calling an update on the
 * wrong type is a bug and aborts. */
void tc_metrics_add(tc_metrics_series *s, double v);
void tc_metrics_inc(tc_metrics_series *s);
void tc_metrics_set(tc_metrics_series *s, double v);
void tc_metrics_observe(tc_metrics_series *s, double v);
/* The current value of a counter or gauge series (tests, the node). */
double tc_metrics_value(const tc_metrics_series *s);

/* Registers fn to run right before each render (refresh gauges that are
 * cheaper to read than to track: RSS, store size, peer counts).
 * 0 or TC_ELIMIT. */
int tc_metrics_on_collect(tc_metrics *r, void (*fn)(void *ctx, tc_metrics *r), void *ctx)
    TC_MUST_CHECK;

/* Runs the collect callbacks, then appends the exposition text (format
 * 0.0.4: # HELP, # TYPE, samples; families in order of registration) to out. */
void tc_metrics_render(tc_metrics *r, tc_buf *out);

/* Resident set size of this process from /proc/self/statm. 0 or TC_EIO. */
int tc_metrics_rss_bytes(uint64_t *bytes) TC_MUST_CHECK;

/* ---- the metrics listener ---------------------------------------------------- */

/* Fills body (a JSON object; the node's fields, e.g. height, peers) and, when
 * unhealthy, appends one string per failing check to reasons. Returns true
 * if the node is healthy. Runs on the loop thread for each GET /health. */
typedef bool (*tc_metrics_health_fn)(void *ctx, json_t *body, json_t *reasons);

/* Fills body (a JSON object) with the status page's figures (docs/rpc.md
 * lists them). Runs on the loop thread for each GET /status.json, about once
 * a second per open page: it must be cheap and bounded (no store scans). */
typedef void (*tc_metrics_status_fn)(void *ctx, json_t *body);

typedef struct tc_metrics_server tc_metrics_server;

/* Serves GET /metrics (text/plain; version=0.0.4) from reg, GET /health:
 * 200 {"status":"ok","reasons":[],…} or 503 {"status":"unhealthy","reasons":[…],…}
 * from health (NULL: always healthy), and the status page (/, /status.css,
 * /status.js, with TC_STATUSPAGE_CSP; /status.json once set below). Every
 * answer has Cache-Control: no-store; HEAD as GET without body; other paths
 * 404, other methods 405. listen is as for tc_rpc_new (no host: 127.0.0.1;
 * port 0: any). At most max_connections clients at once (0:
 * TC_METRICS_DEFAULT_MAX_CONNECTIONS; one more is answered 503 and closed),
 * each bounded in time as http.h says. reg and ctx are borrowed and must
 * outlive the server. NULL with *err: TC_EINVAL, TC_ENET_ADDR, TC_EIO. */
tc_metrics_server *tc_metrics_server_new(struct event_base *base, const char *listen,
                                         unsigned max_connections, tc_metrics *reg,
                                         tc_metrics_health_fn health, void *ctx, int *err);
/* Serves GET /status.json (200 application/json, the object fn fills) for
 * the status page at / (statuspage.h). Until it is set, /status.json is 404;
 * the page itself is always served. ctx is borrowed. */
void tc_metrics_server_set_status(tc_metrics_server *s, tc_metrics_status_fn fn, void *ctx);
/* Closes the listener and its connections. NULL is a no-op. */
void tc_metrics_server_free(tc_metrics_server *s);
/* The bound port. */
uint16_t tc_metrics_server_port(const tc_metrics_server *s);

#endif
