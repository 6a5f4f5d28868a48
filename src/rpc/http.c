/* Bounded HTTP/1.1 server on libevent bufferevents. See http.h. */
#include "rpc/http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "util/clock.h"
#include "util/fdlimit.h"
#include "util/log.h"
#include "util/mem.h"

#define BACKLOG 128
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define LINGER_MS 1000          /* after a closing response: drain what the client still sends */
#define REFUSAL_LOG_MS 10000    /* one log line per this long about refused connections */

static const char BUSY_REPLY[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                 "Content-Length: 5\r\nConnection: close\r\n\r\nbusy\n";

/* A connection's phase; the deadline of each is set once, on entry. */
enum state {
    ST_HEAD,   /* reading request line + headers */
    ST_BODY,   /* reading the announced body */
    ST_WRITE,  /* writing the response; reading paused */
    ST_IDLE,   /* kept alive, waiting for the next request's first byte */
    ST_LINGER, /* response written, write side shut: discard input until EOF */
};

struct tc_http_response {
    struct conn *c;
    bool done;
};

struct conn {
    tc_http *srv;
    struct bufferevent *bev;
    struct event *timer;
    enum state st;
    size_t body_len;
    bool keep_alive, head, http10_keep;
    char *head_buf; /* the parsed header block, owned */
    tc_http_field fields[TC_HTTP_MAX_HEADERS];
    tc_http_request req;
    struct conn *prev, *next;
};

struct tc_http {
    struct event_base *base;
    struct evconnlistener *lst;
    struct event *retry;
    tc_http_handler fn;
    void *ctx;
    char name[32];
    tc_http_opts o;
    uint16_t port;
    struct conn *conns;
    uint32_t backoff_ms;
    uint64_t errors_unlogged, full_unlogged, fds_unlogged;
    uint64_t last_refusal_log_ms, last_error_log_ms;
    tc_http_stats st;
};

/* ---- connections ---------------------------------------------------------------- */

static void conn_free(struct conn *c)
{
    tc_http *h = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->st.open--;
    event_free(c->timer);
    bufferevent_free(c->bev); /* closes the socket */
    free(c->head_buf);
    free(c);
}

static void set_deadline(struct conn *c, enum state st, uint32_t ms)
{
    c->st = st;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv); /* re-adding replaces the previous deadline */
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->st != ST_LINGER && c->st != ST_IDLE)
        c->srv->st.timeouts++;
    tc_log_debug(c->srv->name, "connection deadline passed", "state=%d", (int)c->st);
    conn_free(c);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Queues a response and enters ST_WRITE; the write callback decides what
 * follows (keep-alive or close). */
static void conn_reply(struct conn *c, int status, const char *type, const char *extra,
                       const void *body, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    bool no_body = status == 204 || status == 304;
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, reason_of(status));
    if (!no_body)
        evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
    if (type != NULL)
        evbuffer_add_printf(out, "Content-Type: %s\r\n", type);
    if (extra != NULL)
        evbuffer_add(out, extra, strlen(extra));
    if (!c->keep_alive)
        evbuffer_add(out, "Connection: close\r\n", 19);
    else if (c->http10_keep)
        evbuffer_add(out, "Connection: keep-alive\r\n", 24);
    evbuffer_add(out, "\r\n", 2);
    if (!no_body && !c->head && len > 0)
        evbuffer_add(out, body, len);
    c->srv->st.requests++;
    bufferevent_disable(c->bev, EV_READ);
    set_deadline(c, ST_WRITE, c->srv->o.write_timeout_ms);
}

/* A request the server refuses itself; the connection closes after it. */
static void conn_fail(struct conn *c, int status, const char *text)
{
    c->keep_alive = false;
    conn_reply(c, status, "text/plain; charset=utf-8", NULL, text, strlen(text));
}

void tc_http_respond(tc_http_response *resp, int status, const char *content_type,
                     const char *extra_headers, const void *body, size_t len)
{
    if (resp->done || status < 200 || status > 599) {
        fprintf(stderr, "http: tc_http_respond misuse (status %d, done %d)\n", status, resp->done);
        abort();
    }
    resp->done = true;
    conn_reply(resp->c, status, content_type, extra_headers, body, len);
}

const char *tc_http_header(const tc_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_fields; i++)
        if (strcasecmp(req->fields[i].name, name) == 0)
            return req->fields[i].value;
    return NULL;
}

/* True if the comma-separated header value holds token (case-insensitive). */
static bool has_token(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (v != NULL && *v) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, ",");
        size_t m = n;
        while (m > 0 && (v[m - 1] == ' ' || v[m - 1] == '\t'))
            m--;
        if (m == tl && strncasecmp(v, token, tl) == 0)
            return true;
        v += n;
    }
    return false;
}

static bool tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = 0;
    return s;
}

int tc_http_parse_head(char *p, size_t len, tc_http_request *req,
                       tc_http_field fields[TC_HTTP_MAX_HEADERS], unsigned *minor)
{
    *req = (tc_http_request){.fields = fields, .body = (const uint8_t *)""};
    *minor = 0;
    if (len > TC_HTTP_MAX_HEADER_BYTES || memchr(p, 0, len) != NULL)
        return len > TC_HTTP_MAX_HEADER_BYTES ? 431 : 400;
    p[len] = 0;
    char *end = p + len, *eol = strstr(p, "\r\n");
    if (eol == NULL)
        eol = end;
    *eol = 0;
    char *sp1 = strchr(p, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == p || sp2 == sp1 + 1 || strchr(sp2 + 1, ' '))
        return 400;
    *sp1 = *sp2 = 0;
    for (char *m = p; *m; m++)
        if (!tchar(*m))
            return 400;
    const char *ver = sp2 + 1;
    if (strncmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1') || ver[8] != 0)
        return ver[0] == 'H' ? 505 : 400;
    *minor = (unsigned)(ver[7] - '0');
    char *target = sp1 + 1;
    if (target[0] != '/')
        return 400;
    target[strcspn(target, "?#")] = 0;
    req->method = p;
    req->path = target;
    for (char *line = eol < end ? eol + 2 : end; line < end;) {
        char *le = strstr(line, "\r\n");
        if (le == NULL)
            le = end;
        *le = 0;
        char *colon = strchr(line, ':');
        if (colon == NULL || colon == line || req->n_fields == TC_HTTP_MAX_HEADERS)
            return colon == NULL || colon == line ? 400 : 431;
        for (char *q = line; q < colon; q++)
            if (!tchar(*q))
                return 400; /* also refuses obs-fold and blanks before the colon */
        *colon = 0;
        fields[req->n_fields++] = (tc_http_field){line, trim(colon + 1, le)};
        line = le < end ? le + 2 : end;
    }
    return 0;
}

/* Content-Length: digits only, every copy equal. 0 with *n, or 400. */
static int content_length(const tc_http_request *req, uint64_t *n)
{
    *n = 0;
    bool seen = false;
    for (size_t i = 0; i < req->n_fields; i++) {
        if (strcasecmp(req->fields[i].name, "Content-Length") != 0)
            continue;
        const char *v = req->fields[i].value;
        size_t dl = strspn(v, "0123456789");
        if (dl == 0 || dl > 18 || v[dl] != 0)
            return 400;
        uint64_t x = strtoull(v, NULL, 10);
        if (seen && x != *n)
            return 400;
        *n = x;
        seen = true;
    }
    return 0;
}

static void run_handler(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    c->req.body = (const uint8_t *)"";
    c->req.body_len = c->body_len;
    if (c->body_len > 0) {
        c->req.body = evbuffer_pullup(in, (ev_ssize_t)c->body_len);
        if (c->req.body == NULL)
            abort();
    }
    tc_http_response resp = {c, false};
    c->srv->fn(c->srv->ctx, &c->req, &resp);
    evbuffer_drain(in, c->body_len);
    if (!resp.done) {
        tc_log_error(c->srv->name, "handler gave no answer", "path=%s", c->req.path);
        conn_fail(c, 500, "no answer\n");
    }
}

/* The header block is complete (n bytes with its CRLF CRLF): parse and
 * decide. */
static void got_head(struct conn *c, size_t n)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    free(c->head_buf);
    c->head_buf = tc_xmalloc(n + 1);
    evbuffer_remove(in, c->head_buf, n);
    c->keep_alive = false; /* until the request line says otherwise */
    c->http10_keep = false;
    unsigned minor = 0;
    int bad = tc_http_parse_head(c->head_buf, n - 4, &c->req, c->fields, &minor); /* no CRLF CRLF */
    uint64_t cl = 0;
    if (bad == 0)
        bad = content_length(&c->req, &cl);
    if (bad != 0) {
        conn_fail(c, bad, bad == 431 ? "too many header fields\n" : "bad request\n");
        return;
    }
    const char *conn_h = tc_http_header(&c->req, "Connection");
    c->keep_alive = minor == 1 ? !has_token(conn_h, "close") : has_token(conn_h, "keep-alive");
    c->http10_keep = minor == 0 && c->keep_alive;
    c->head = strcmp(c->req.method, "HEAD") == 0;
    if (tc_http_header(&c->req, "Transfer-Encoding") != NULL) {
        conn_fail(c, 501, "Transfer-Encoding is not supported; send Content-Length\n");
        return;
    }
    if (cl > c->srv->o.max_body) {
        conn_fail(c, 413, "request body too large\n");
        return;
    }
    c->body_len = (size_t)cl;
    if (c->body_len == 0) {
        run_handler(c);
        return;
    }
    const char *expect = tc_http_header(&c->req, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
        evbuffer_get_length(in) < c->body_len)
        bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    set_deadline(c, ST_BODY, c->srv->o.body_timeout_ms);
}

/* Moves the connection on with what its input holds. */
static void process(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->st == ST_LINGER) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (c->st == ST_IDLE && evbuffer_get_length(in) > 0)
        set_deadline(c, ST_HEAD, c->srv->o.header_timeout_ms);
    if (c->st == ST_HEAD) {
        struct evbuffer_ptr at = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        size_t have = evbuffer_get_length(in);
        if (at.pos < 0 && have > TC_HTTP_MAX_HEADER_BYTES) {
            conn_fail(c, 431, "request headers too large\n");
            return;
        }
        if (at.pos < 0)
            return;
        if ((size_t)at.pos > TC_HTTP_MAX_HEADER_BYTES) {
            conn_fail(c, 431, "request headers too large\n");
            return;
        }
        got_head(c, (size_t)at.pos + 4);
    }
    if (c->st == ST_BODY && evbuffer_get_length(in) >= c->body_len)
        run_handler(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    process(arg);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->st != ST_WRITE || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return; /* e.g. a 100 Continue went out */
    if (!c->keep_alive) {
        /* Shut the write side and read until EOF, so a client still sending
         * (a refused body) reads our answer instead of a reset. */
        shutdown(bufferevent_getfd(bev), SHUT_WR);
        set_deadline(c, ST_LINGER, LINGER_MS);
        bufferevent_enable(bev, EV_READ);
        process(c);
        return;
    }
    set_deadline(c, ST_IDLE, c->srv->o.idle_timeout_ms);
    bufferevent_enable(bev, EV_READ);
    process(c); /* a pipelined request may be waiting */
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    conn_free(arg); /* EOF or error: nothing more will come or go */
}

/* ---- the listener ---------------------------------------------------------------- */

static void log_refusals(tc_http *h)
{
    uint64_t now = tc_clock_mono_ms();
    if (h->last_refusal_log_ms != 0 && now - h->last_refusal_log_ms < REFUSAL_LOG_MS)
        return;
    h->last_refusal_log_ms = now;
    tc_log_warn(h->name, "connections refused", "at_cap=%llu fds_low=%llu max_connections=%u",
                (unsigned long long)h->full_unlogged, (unsigned long long)h->fds_unlogged,
                h->o.max_connections);
    h->full_unlogged = h->fds_unlogged = 0;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    tc_http *h = arg;
    h->backoff_ms = 0; /* accept works again */
    if (h->st.open >= h->o.max_connections || tc_fdlimit_low(fd, h->o.fd_reserve)) {
        if (h->st.open >= h->o.max_connections) {
            h->st.refused_full++;
            h->full_unlogged++;
            /* Best effort: one non-blocking send into an empty socket buffer. */
            ssize_t w = send(fd, BUSY_REPLY, sizeof BUSY_REPLY - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
        } else {
            h->st.refused_fds++;
            h->fds_unlogged++;
        }
        close(fd);
        log_refusals(h);
        return;
    }
    struct conn *c = tc_xcalloc(1, sizeof *c);
    c->srv = h;
    c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(h->base, timer_cb, c);
    if (c->bev == NULL || c->timer == NULL) {
        fprintf(stderr, "http: out of memory in libevent\n");
        abort();
    }
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->st.open++;
    h->st.accepted++;
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(c->bev, EV_READ);
    set_deadline(c, ST_HEAD, h->o.header_timeout_ms);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    tc_http *h = arg;
    evconnlistener_enable(h->lst);
}

/* accept() failed with something other than EAGAIN/EINTR/ECONNABORTED
 * (libevent filters those): typically EMFILE/ENFILE. Retrying at once would
 * spin, since the connection stays in the backlog; pause instead. */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    tc_http *h = arg;
    int err = EVUTIL_SOCKET_ERROR();
    h->st.accept_errors++;
    h->errors_unlogged++;
    h->backoff_ms = h->backoff_ms ? h->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (h->backoff_ms > BACKOFF_MAX_MS)
        h->backoff_ms = BACKOFF_MAX_MS;
    evconnlistener_disable(l);
    struct timeval tv = {.tv_sec = h->backoff_ms / 1000, .tv_usec = (h->backoff_ms % 1000) * 1000};
    evtimer_add(h->retry, &tv);
    uint64_t now = tc_clock_mono_ms();
    if (h->last_error_log_ms == 0 || now - h->last_error_log_ms >= BACKOFF_MAX_MS) {
        h->last_error_log_ms = now;
        tc_log_warn(h->name, "accept failed; listener paused", "error=%s pause_ms=%u failures=%llu",
                    strerror(err), h->backoff_ms, (unsigned long long)h->errors_unlogged);
        h->errors_unlogged = 0;
    }
}

/* Resolves "host:port" as http.h says into *ss. 0 or TC_ENET_ADDR. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    const char *ps = colon ? colon + 1 : listen;
    if (listen == NULL || *ps == 0 || strspn(ps, "0123456789") != strlen(ps) || strlen(ps) > 5)
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
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
    if (strtoul(ps, NULL, 10) > 65535 || getaddrinfo(host, ps, &hints, &ai) != 0 || ai == NULL)
        return TC_ENET_ADDR;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *sl = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static void opts_fill(tc_http_opts *o)
{
#define DEF(f, v) if (o->f == 0) o->f = (v)
    DEF(max_connections, TC_HTTP_DEFAULT_MAX_CONNECTIONS);
    DEF(max_body, TC_HTTP_DEFAULT_MAX_BODY);
    DEF(header_timeout_ms, TC_HTTP_DEFAULT_HEADER_TIMEOUT_MS);
    DEF(body_timeout_ms, TC_HTTP_DEFAULT_BODY_TIMEOUT_MS);
    DEF(idle_timeout_ms, TC_HTTP_DEFAULT_IDLE_TIMEOUT_MS);
    DEF(write_timeout_ms, TC_HTTP_DEFAULT_WRITE_TIMEOUT_MS);
    DEF(fd_reserve, TC_FDLIMIT_RESERVE);
#undef DEF
}

tc_http *tc_http_new(struct event_base *base, const char *listen, const tc_http_opts *opts,
                     tc_http_handler fn, void *ctx, int *err)
{
    tc_http *h = NULL;
    int rc = TC_EINVAL;
    if (base == NULL || fn == NULL ||
        (opts && opts->max_connections > TC_HTTP_MAX_CONNECTIONS_LIMIT))
        goto out;
    h = tc_xcalloc(1, sizeof *h);
    h->base = base;
    h->fn = fn;
    h->ctx = ctx;
    if (opts)
        h->o = *opts;
    opts_fill(&h->o);
    snprintf(h->name, sizeof h->name, "%s", h->o.name ? h->o.name : "http");
    h->o.name = h->name;
    h->retry = evtimer_new(base, retry_cb, h);
    if (h->retry == NULL)
        abort();
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if ((rc = parse_listen(listen, &ss, &sl)) != 0)
        goto out;
    h->lst = evconnlistener_new_bind(base, accept_cb, h,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                         LEV_OPT_CLOSE_ON_EXEC,
                                     BACKLOG, (struct sockaddr *)&ss, (int)sl);
    if (h->lst == NULL) {
        tc_log_error(h->name, "cannot listen", "addr=%s error=%s hint=%s", listen, strerror(errno),
                     "another process holds this address (find it with: ss -ltnp) or it is not local; stop that "
                     "process or set another address (time.conf: rpc-listen, metrics-listen)");
        rc = TC_EIO;
        goto out;
    }
    evconnlistener_set_error_cb(h->lst, accept_error_cb);
    sl = sizeof ss;
    if (getsockname(evconnlistener_get_fd(h->lst), (struct sockaddr *)&ss, &sl) == 0)
        h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    rc = 0;
out:
    if (rc != 0) {
        tc_http_free(h);
        h = NULL;
    }
    if (err != NULL)
        *err = rc;
    return h;
}

void tc_http_free(tc_http *h)
{
    if (h == NULL)
        return;
    while (h->conns != NULL)
        conn_free(h->conns);
    if (h->lst != NULL)
        evconnlistener_free(h->lst);
    if (h->retry != NULL)
        event_free(h->retry);
    free(h);
}

uint16_t tc_http_port(const tc_http *h)
{
    return h->port;
}

void tc_http_stats_get(const tc_http *h, tc_http_stats *out)
{
    *out = h->st;
}
