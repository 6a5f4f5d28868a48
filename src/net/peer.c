#include "net/peer.h"

#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <sodium.h>

#include "net/tlscert.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/version.h"

#define KNOWN_CAP 8192                        /* inventory hashes remembered per peer */
#define MAX_OUTPUT_QUEUE (64u * 1024 * 1024)  /* a peer that does not read is dropped */
#define PREHANDSHAKE_MAX_FRAME 4096 /* a version is a few hundred bytes */

/* Milliseconds from then to now; 0 if then is later (a timestamp taken after
 * the caller read the clock must not wrap into a huge age). */
static uint64_t elapsed(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

static uint64_t height_of(const tc_peer_env *env)
{
    return env->cfg->best_height ? env->cfg->best_height(env->cfg->ctx) : 0;
}

static void drop(tc_peer *c, int err, bool ban)
{
    c->env->drop(c->env->mgr, c, err, ban);
}

/* ---- closing ------------------------------------------------------------- */

static void unlink_peer(tc_peer *c)
{
    for (tc_peer **pp = c->closing ? &c->env->closing : &c->env->live; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            return;
        }
}

void tc_peer_free(tc_peer *c)
{
    unlink_peer(c);
    if (c->bev) {
        while (bufferevent_get_openssl_error(c->bev))
            ;
        bufferevent_free(c->bev);
    }
    ERR_clear_error();
    tc_frame_parser_release(&c->fp);
    tc_knownset_free(c->known);
    sodium_memzero(&c->hs, sizeof c->hs);
    free(c);
}

/* Keeps reading (and discarding) while lingering: closing a socket with
 * unread input makes the kernel send a reset, which can destroy the reject
 * before the peer reads it. */
static void closing_read_cb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

/* The reject is out: half-close so the peer reads it and then sees EOF; the
 * connection goes when the peer closes too (or at the reaping tick). Closing
 * at once could reset the connection and destroy the reject in flight. */
static void closing_write_cb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        evutil_socket_t fd = bufferevent_getfd(bev);
        if (fd >= 0)
            shutdown(fd, SHUT_WR);
    }
}

static void closing_event_cb(struct bufferevent *bev, short events, void *arg)
{
    (void)bev;
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        tc_peer_free(arg);
}

/* Whether telling the peer why is worth a last message: it speaks our
 * protocol (TLS up) and the link itself still works. */
static bool worth_reject(const tc_peer *c, int err)
{
    return c->tls_up && err != TC_ENET_CLOSED && err != TC_ENET_TLS && err != TC_ELIMIT;
}

void tc_peer_close(tc_peer *c, int err)
{
    tc_peer_env *env = c->env;
    c->established = false;
    if (!worth_reject(c, err)) {
        tc_peer_free(c);
        return;
    }
    tc_msg r;
    tc_msg_init(&r, TC_MSG_REJECT);
    r.u.reject.type = c->last_type;
    r.u.reject.code = err;
    snprintf(r.u.reject.reason, sizeof r.u.reject.reason, "%s", tc_strerror(err));
    if (tc_peer_send(c, &r) != 0) {
        tc_peer_free(c);
        return;
    }
    unlink_peer(c);
    c->closing = true;
    c->closing_mono = tc_clock_mono_ms();
    c->next = env->closing;
    env->closing = c;
    bufferevent_setcb(c->bev, closing_read_cb, closing_write_cb, closing_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void tc_peer_reap(tc_peer_env *env, uint64_t now)
{
    tc_peer *next;
    for (tc_peer *c = env->closing; c; c = next) {
        next = c->next;
        if (elapsed(now, c->closing_mono) >= 1000)
            tc_peer_free(c);
    }
}

/* ---- sending --------------------------------------------------------------- */

/* Size of the chain payloads m carries, so the encoding buffer is allocated
 * once instead of growing (and copying) for a large block. */
static size_t payload_hint(const tc_msg *m)
{
    switch (m->type) {
    case TC_MSG_TX:
        return m->u.tx.len + 16;
    case TC_MSG_PROPOSAL:
        return m->u.proposal.proposal.len + m->u.proposal.block.len + 16;
    case TC_MSG_BLOCK:
        return m->u.block.block.len + m->u.block.cert.len + 16;
    case TC_MSG_BLOCKS: {
        size_t n = 16;
        for (size_t i = 0; i < m->u.blocks.n && n <= TC_FRAME_MAX_PAYLOAD; i++)
            n += m->u.blocks.v[i].block.len + m->u.blocks.v[i].cert.len + 10;
        return n;
    }
    default:
        return 256;
    }
}

static void free_buf(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

int tc_peer_send(tc_peer *c, const tc_msg *m)
{
    tc_peer_env *env = c->env;
    tc_buf b;
    tc_buf_init(&b);
    size_t hint = payload_hint(m);
    tc_buf_extend(&b, TC_FRAME_HEADER_SIZE + (hint < TC_FRAME_MAX_PAYLOAD ? hint : 0));
    b.len = TC_FRAME_HEADER_SIZE;
    int err = tc_msg_encode(m, &b);
    if (err) {
        tc_buf_release(&b);
        return err;
    }
    size_t total = b.len;
    tc_frame_header_encode(b.p, env->cfg->magic, m->type, total - TC_FRAME_HEADER_SIZE);
    /* the output buffer takes the encoding over: no second copy */
    if (evbuffer_add_reference(bufferevent_get_output(c->bev), b.p, total, free_buf, NULL) != 0) {
        tc_buf_release(&b);
        return TC_ENET_CLOSED;
    }
    uint16_t t = m->type < TC_MSG_TYPE_END ? m->type : 0;
    c->msgs_out++;
    c->bytes_out += total;
    c->st.msgs_out[t]++;
    c->st.bytes_out[t] += total;
    env->stats->msgs_out[t]++;
    env->stats->bytes_out[t] += total;
    return 0;
}

size_t tc_peer_queued(const tc_peer *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* ---- handshake ------------------------------------------------------------ */

/* TLS is up: identify the peer and send our version. libevent can run the
 * read callback from inside the handshake's completion, before the CONNECTED
 * event, with the peer's version already decrypted; so whichever comes first
 * calls this. Returns false if c was dropped. */
static bool on_tls_up(tc_peer *c)
{
    tc_peer_env *env = c->env;
    if (c->tls_up)
        return true;
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    tc_pubkey key;
    uint8_t exporter[32];
    if (tc_tlscert_peer_key(ssl, &key) != 0 || tc_tlscert_exporter(ssl, exporter) != 0) {
        drop(c, TC_ENET_TLS, false);
        return false;
    }
    tc_handshake_tls_done(&c->hs, exporter, &key);
    c->tls_up = true;
    sodium_memzero(exporter, sizeof exporter);
    if (!env->tls_up(env->mgr, c))
        return false;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_VERSION);
    tc_handshake_make_version(&c->hs, env->cfg->node_key, height_of(env), env->advertise,
                              env->user_agent, &m.u.version);
    if (tc_peer_send(c, &m) != 0) {
        drop(c, TC_ENET_CLOSED, false);
        return false;
    }
    return true;
}

/* Returns false if c was dropped. */
static bool on_established(tc_peer *c)
{
    if (!c->env->admit(c->env->mgr, c))
        return false;
    c->established = true;
    tc_frame_parser_set_max(&c->fp, TC_FRAME_MAX_PAYLOAD);
    c->height = c->hs.peer.height;
    c->last_ping_mono = tc_clock_mono_ms();
    return c->env->established(c->env->mgr, c);
}

/* ---- receiving ------------------------------------------------------------ */

/* Returns false if c was dropped. */
static bool handle_prehandshake(tc_peer *c, const tc_msg *m)
{
    if (m->type == TC_MSG_REJECT)
        tc_log_info("net", "refused by peer", "peer=%llu addr=%s code=%s reason=%s",
                    (unsigned long long)c->id, c->addr, tc_errname(m->u.reject.code),
                    m->u.reject.reason);
    enum tc_hs_action act = tc_handshake_on_message(&c->hs, m);
    switch (act) {
    case TC_HS_CONTINUE:
        if (c->hs.state == TC_HS_AWAIT_VERACK) {
            tc_msg ack;
            tc_msg_init(&ack, TC_MSG_VERACK);
            if (tc_peer_send(c, &ack) != 0) {
                drop(c, TC_ENET_CLOSED, false);
                return false;
            }
        }
        return true;
    case TC_HS_DONE:
        return on_established(c);
    case TC_HS_DISCONNECT:
        drop(c, c->hs.err, false);
        return false;
    case TC_HS_BAN:
    default:
        drop(c, c->hs.err, true);
        return false;
    }
}

/* Returns false if c was dropped. */
static bool handle_established(tc_peer *c, const tc_msg *m)
{
    tc_peer_env *env = c->env;
    switch (m->type) {
    case TC_MSG_VERSION:
    case TC_MSG_VERACK:
        drop(c, TC_ENET_PROTOCOL, true);
        return false;
    case TC_MSG_PING: {
        c->height = m->u.ping.height;
        tc_msg pong;
        tc_msg_init(&pong, TC_MSG_PONG);
        pong.u.ping.nonce = m->u.ping.nonce;
        pong.u.ping.height = height_of(env);
        int rc = tc_peer_send(c, &pong);
        (void)rc;
        return true;
    }
    case TC_MSG_PONG:
        c->height = m->u.ping.height;
        if (c->ping_nonce && m->u.ping.nonce == c->ping_nonce) {
            c->ping_ms = tc_clock_mono_ms() - c->ping_sent_mono;
            c->ping_nonce = 0;
        }
        return true;
    case TC_MSG_INV:
        for (size_t i = 0; i < m->u.inv.n; i++)
            tc_knownset_add(c->known, &m->u.inv.h[i]);
        break;
    default:
        break;
    }
    return env->message(env->mgr, c, m);
}

/* Returns false if c was dropped. */
static bool handle_frame(tc_peer *c, uint16_t type, const uint8_t *payload, size_t len)
{
    tc_peer_env *env = c->env;
    uint64_t now = tc_clock_mono_ms();
    uint16_t t = type < TC_MSG_TYPE_END ? type : 0;
    c->last_type = type;
    c->last_recv_mono = now;
    c->msgs_in++;
    c->bytes_in += len + TC_FRAME_HEADER_SIZE;
    c->st.msgs_in[t]++;
    c->st.bytes_in[t] += len + TC_FRAME_HEADER_SIZE;
    env->stats->msgs_in[t]++;
    env->stats->bytes_in[t] += len + TC_FRAME_HEADER_SIZE;

    if (t == 0) {
        drop(c, TC_ENET_MSG_TYPE, true);
        return false;
    }
    if (c->established) {
        enum tc_msg_class cls = tc_msg_class_of(type);
        if (!tc_tokenbucket_take(&c->tb[cls], now)) {
            c->dropped++;
            c->st.dropped[cls]++;
            env->stats->dropped[cls]++;
            if (tc_banscore_add(&c->score, env->cfg->drop_points, now) >= env->cfg->ban_score) {
                drop(c, TC_ENET_RATE, true);
                return false;
            }
            return true;
        }
    }
    tc_msg m;
    int err = tc_msg_decode(&m, type, payload, len);
    if (err) {
        drop(c, err, true);
        return false;
    }
    bool alive = c->established ? handle_established(c, &m) : handle_prehandshake(c, &m);
    tc_msg_release(&m);
    return alive;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    tc_peer *c = arg;
    if (!on_tls_up(c))
        return;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t used;
        int rc = tc_frame_parser_feed(&c->fp, v.iov_base, v.iov_len, &used);
        evbuffer_drain(in, used);
        if (rc < 0) {
            drop(c, rc, true);
            return;
        }
        if (rc == 1) {
            uint16_t type;
            uint8_t *payload;
            size_t len;
            if (tc_frame_parser_take(&c->fp, &type, &payload, &len) != 0)
                abort();
            bool alive = handle_frame(c, type, payload, len);
            free(payload);
            if (!alive)
                return;
        }
    }
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    (void)arg;
}

static void event_cb(struct bufferevent *bev, short events, void *arg)
{
    (void)bev;
    tc_peer *c = arg;
    if (events & BEV_EVENT_CONNECTED) {
        on_tls_up(c);
        return;
    }
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        drop(c, (events & BEV_EVENT_EOF) ? TC_ENET_CLOSED : TC_ENET_TLS, false);
}

/* ---- setup ------------------------------------------------------------------- */

tc_peer *tc_peer_new(tc_peer_env *env, int fd, bool inbound, const char *ip, const char *addr)
{
    SSL *ssl = SSL_new(env->ssl_ctx);
    if (ssl == NULL) {
        ERR_clear_error();
        return NULL;
    }
    /* (A filter over a socket bufferevent was measured slower: extra copies.
     * OpenSSL read-ahead is not used: libevent 2.1 only drains SSL_pending(),
     * so records read ahead could sit unprocessed until more data arrives.) */
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        env->base, fd, ssl, inbound ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
        BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    /* full TLS records per read and write instead of the 16 KiB default */
    bufferevent_set_max_single_read(bev, 256 * 1024);
    bufferevent_set_max_single_write(bev, 256 * 1024);
    tc_peer *c = tc_xcalloc(1, sizeof *c);
    c->env = env;
    c->id = ++env->next_id;
    c->bev = bev;
    c->inbound = inbound;
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    uint64_t now = tc_clock_mono_ms();
    c->start_mono = c->last_recv_mono = now;
    c->connected_wall = tc_clock_wall_ms();
    tc_frame_parser_init(&c->fp, env->cfg->magic);
    tc_frame_parser_set_max(&c->fp, PREHANDSHAKE_MAX_FRAME);
    tc_hs_config hc = {.chain_id = env->cfg->chain_id,
                       .genesis = env->cfg->genesis,
                       .local_nonce = env->nonce,
                       .min_protocol = TC_PROTOCOL_VERSION,
                       .max_protocol = TC_PROTOCOL_VERSION};
    tc_handshake_init(&c->hs, &hc);
    for (int k = 0; k < TC_MC_COUNT; k++)
        tc_tokenbucket_init(&c->tb[k], env->cfg->rates[k].rate, env->cfg->rates[k].burst, now);
    tc_banscore_init(&c->score, now);
    c->known = tc_knownset_new(KNOWN_CAP);
    c->next = env->live;
    env->live = c;
    bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    return c;
}

int tc_peer_connect(tc_peer *c, const struct sockaddr *sa, int salen)
{
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)sa, salen) != 0) {
        drop(c, TC_ENET_CLOSED, false);
        return TC_ENET_CLOSED;
    }
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

/* ---- housekeeping ---------------------------------------------------------- */

void tc_peer_tick(tc_peer *c, uint64_t now)
{
    const tc_p2p_config *cfg = c->env->cfg;
    if (!c->established) {
        if (elapsed(now, c->start_mono) >= cfg->handshake_timeout_ms)
            drop(c, TC_ENET_TIMEOUT, false);
        return;
    }
    if (cfg->idle_timeout_ms && elapsed(now, c->last_recv_mono) >= cfg->idle_timeout_ms) {
        drop(c, TC_ENET_TIMEOUT, false);
        return;
    }
    if (tc_peer_queued(c) > MAX_OUTPUT_QUEUE) {
        drop(c, TC_ELIMIT, false);
        return;
    }
    if (cfg->ping_interval_ms && elapsed(now, c->last_ping_mono) >= cfg->ping_interval_ms) {
        tc_msg ping;
        tc_msg_init(&ping, TC_MSG_PING);
        randombytes_buf(&ping.u.ping.nonce, sizeof ping.u.ping.nonce);
        ping.u.ping.height = height_of(c->env);
        c->last_ping_mono = now;
        if (c->ping_nonce == 0) {
            c->ping_nonce = ping.u.ping.nonce;
            c->ping_sent_mono = now;
        }
        int rc = tc_peer_send(c, &ping);
        (void)rc;
    }
}

void tc_peer_info_fill(tc_peer *c, tc_peer_info *o)
{
    memset(o, 0, sizeof *o);
    o->id = c->id;
    snprintf(o->addr, sizeof o->addr, "%s", c->addr);
    if (c->tls_up)
        o->key = c->hs.cert_key;
    o->inbound = c->inbound;
    o->established = c->established;
    o->height = c->height;
    o->ping_ms = c->ping_ms;
    o->connected_ms = c->connected_wall;
    o->bytes_in = c->bytes_in;
    o->bytes_out = c->bytes_out;
    o->msgs_in = c->msgs_in;
    o->msgs_out = c->msgs_out;
    o->dropped = c->dropped;
    o->ban_score = tc_banscore_get(&c->score, tc_clock_mono_ms());
    if (c->established)
        snprintf(o->user_agent, sizeof o->user_agent, "%s", c->hs.peer.user_agent);
}
