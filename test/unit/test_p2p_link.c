/* P2P links end to end, in process, on 127.0.0.1 with ephemeral ports:
 * two endpoints handshake over TLS 1.3 and exchange every message type; raw
 * hostile clients (garbage, oversize frame, wrong genesis, bad signature,
 * replayed version, early message, silence, flood) each get their outcome
 * while a good peer stays served; a TLS-terminating proxy makes the
 * handshake fail; self and duplicate connections; relay; setban/listbanned.
 *
 * The nodes run on an event_base in the test thread; raw clients and the
 * proxy are blocking OpenSSL code in a helper thread. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "chain/block.h"
#include "chain/tx.h"
#include "crypto/hash.h"
#include "net/banlist.h"
#include "net/banscore.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/msg.h"
#include "net/p2p.h"
#include "net/sockaddr.h"
#include "net/tlscert.h"
#include "util/clock.h"
#include "util/fdlimit.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/version.h"

static const uint8_t MAGIC[4] = {0xDE, 0x7E, 0x7E, 0x4D};
static const uint32_t CHAIN = 3;

/* ---- nodes ---------------------------------------------------------------- */

typedef struct {
    tc_keypair kp;
    tc_netstore_mem *mem;
    tc_netstore st;
    tc_p2p *p;
    uint64_t got[TC_MSG_TYPE_END];
    tc_buf last[TC_MSG_TYPE_END]; /* re-encoded last message of each type */
    tc_hasher arrived;            /* every message's type and encoding, in order */
    uint64_t ups, downs, last_up;
} node;

/* Folds m's type and encoding e into h (what node_on_message does with
 * every message it gets; a sender does it with what it sends). */
static void digest_msg(tc_hasher *h, uint16_t type, const tc_buf *e)
{
    uint8_t t[2] = {(uint8_t)type, (uint8_t)(type >> 8)};
    uint64_t len = e->len;
    tc_hasher_update(h, t, 2);
    tc_hasher_update(h, &len, sizeof len);
    tc_hasher_update(h, e->p, e->len);
}

static uint64_t node_height(void *ctx)
{
    (void)ctx;
    return 1234;
}

static int node_on_message(void *ctx, uint64_t peer, const tc_msg *m)
{
    (void)peer;
    node *n = ctx;
    if (m->type < TC_MSG_TYPE_END) {
        n->got[m->type]++;
        tc_buf_reset(&n->last[m->type]);
        if (tc_msg_encode(m, &n->last[m->type]) != 0)
            return TC_EBADVAL;
        digest_msg(&n->arrived, m->type, &n->last[m->type]);
    }
    return 0;
}

static void node_on_peer(void *ctx, uint64_t peer, bool up)
{
    node *n = ctx;
    if (up) {
        n->ups++;
        n->last_up = peer;
    } else {
        n->downs++;
    }
}

static void genesis_of(tc_hash *g)
{
    memset(g->b, 0x61, 32);
}

static void node_config(node *n, tc_p2p_config *c)
{
    tc_p2p_config_default(c);
    c->node_key = &n->kp;
    memcpy(c->magic, MAGIC, 4);
    c->chain_id = CHAIN;
    genesis_of(&c->genesis);
    c->listen = "127.0.0.1:0";
    c->tick_ms = 20;
    c->handshake_timeout_ms = 1500;
    c->ping_interval_ms = 100;
    c->idle_timeout_ms = 5000;
    c->outbound_target = 0; /* tests dial explicitly */
    c->ban_addresses = false; /* every test client shares 127.0.0.1 */
    c->inbound_per_group = 0;     /* ... and its group: test_inbound_flood sets them */
    c->max_inbound_per_group = 0;
    c->store = &n->st;
    c->ctx = n;
    c->best_height = node_height;
    c->on_message = node_on_message;
    c->on_peer = node_on_peer;
}

static void node_start_cfg(node *n, struct event_base *base, uint8_t seed, tc_p2p_config *c)
{
    uint8_t s[32];
    memset(s, seed, sizeof s);
    tc_keypair_from_seed(&n->kp, s);
    int err;
    n->p = tc_p2p_new(base, c, &err);
    if (n->p == NULL)
        fail_msg("tc_p2p_new: %s", tc_errname(err));
}

static void node_init(node *n)
{
    memset(n, 0, sizeof *n);
    n->mem = tc_netstore_mem_new();
    n->st = tc_netstore_mem_iface(n->mem);
    for (int i = 0; i < TC_MSG_TYPE_END; i++)
        tc_buf_init(&n->last[i]);
    tc_hasher_init(&n->arrived, TC_H_TXID) /* any domain: a test digest */;
}

static void node_start(node *n, struct event_base *base, uint8_t seed)
{
    node_init(n);
    tc_p2p_config c;
    node_config(n, &c);
    node_start_cfg(n, base, seed, &c);
}

static void node_stop(node *n)
{
    tc_p2p_free(n->p);
    tc_netstore_mem_free(n->mem);
    for (int i = 0; i < TC_MSG_TYPE_END; i++)
        tc_buf_release(&n->last[i]);
    tc_keypair_wipe(&n->kp);
}

static void addr_of(const node *n, char *out, size_t len)
{
    snprintf(out, len, "127.0.0.1:%u", tc_p2p_listen_port(n->p));
}

/* Runs the loop until cond holds or timeout_ms passes. */
static bool run_until(struct event_base *b, bool (*cond)(void *), void *arg, uint64_t timeout_ms)
{
    uint64_t end = tc_clock_mono_ms() + timeout_ms;
    while (!cond(arg)) {
        if (tc_clock_mono_ms() > end)
            return false;
        struct timeval tv = {0, 2000};
        event_base_loopexit(b, &tv);
        event_base_dispatch(b);
    }
    return true;
}

static void run_for(struct event_base *b, uint64_t ms)
{
    uint64_t end = tc_clock_mono_ms() + ms;
    while (tc_clock_mono_ms() < end) {
        struct timeval tv = {0, 2000};
        event_base_loopexit(b, &tv);
        event_base_dispatch(b);
    }
}

typedef struct {
    node *a, *b;
    size_t na, nb;
} pair_want;

static bool counts_are(void *arg)
{
    pair_want *w = arg;
    return tc_p2p_count(w->a->p) == w->na && tc_p2p_count(w->b->p) == w->nb;
}

static bool connect_pair(struct event_base *base, node *a, node *b)
{
    char addr[64];
    addr_of(b, addr, sizeof addr);
    size_t na = tc_p2p_count(a->p) + 1, nb = tc_p2p_count(b->p) + 1;
    if (tc_p2p_connect(a->p, addr) != 0)
        return false;
    pair_want w = {a, b, na, nb};
    return run_until(base, counts_are, &w, 5000);
}

static uint64_t first_peer(tc_p2p *p)
{
    tc_peer_info *v;
    size_t n = tc_p2p_peers(p, &v);
    uint64_t id = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].established && id == 0)
            id = v[i].id;
    free(v);
    return id;
}

static bool key_banned(node *n, const tc_pubkey *k)
{
    char subj[TC_BAN_SUBJECT_MAX];
    tc_ban_subject_key(subj, k);
    return tc_p2p_is_banned(n->p, subj);
}

/* ---- message vectors: the fuzz seed corpus holds one of each type ---------- */

typedef struct {
    uint16_t type;
    uint8_t *p;
    size_t len;
} vector;

static size_t load_vectors(vector *v, size_t max)
{
    DIR *d = opendir("fuzz/corpus/fuzz_msg");
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "fuzz/corpus/fuzz_msg/%s", e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *buf = tc_xmalloc(1 << 20);
        size_t len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        if (len < 2) {
            free(buf);
            continue;
        }
        v[n].type = (uint16_t)(buf[0] | buf[1] << 8);
        v[n].p = buf;
        v[n].len = len;
        n++;
    }
    closedir(d);
    return n;
}

/* The vector of a type among v[0..n) (fails the test if there is none). */
static const vector *find_vector(const vector *v, size_t n, uint16_t type)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].type == type)
            return &v[i];
    fail_msg("no vector of type %u", (unsigned)type);
    return NULL;
}

/* ---- raw clients (helper thread, blocking) --------------------------------- */

typedef struct {
    int fd;
    SSL *ssl;
    SSL_CTX *ctx;
    uint8_t exporter[32];
    tc_pubkey server_key;
} raw_conn;

static int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int raw_open(raw_conn *r, uint16_t port, const tc_keypair *kp)
{
    memset(r, 0, sizeof *r);
    int err;
    r->ctx = tc_tlscert_ctx_new(kp, &err);
    r->fd = tcp_connect(port);
    if (r->ctx == NULL || r->fd < 0)
        return -1;
    r->ssl = SSL_new(r->ctx);
    SSL_set_fd(r->ssl, r->fd);
    if (SSL_connect(r->ssl) != 1)
        return -1;
    if (tc_tlscert_exporter(r->ssl, r->exporter) != 0 ||
        tc_tlscert_peer_key(r->ssl, &r->server_key) != 0)
        return -1;
    return 0;
}

static void raw_close(raw_conn *r)
{
    if (r->ssl)
        SSL_free(r->ssl);
    if (r->fd >= 0)
        close(r->fd);
    SSL_CTX_free(r->ctx);
    ERR_clear_error();
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

static int raw_write(raw_conn *r, const void *p, size_t n)
{
    return SSL_write(r->ssl, p, (int)n) == (int)n ? 0 : -1;
}

static int raw_send(raw_conn *r, const tc_msg *m)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_buf_extend(&b, TC_FRAME_HEADER_SIZE);
    int rc = tc_msg_encode(m, &b);
    if (rc == 0) {
        tc_frame_header_encode(b.p, MAGIC, m->type, b.len - TC_FRAME_HEADER_SIZE);
        rc = raw_write(r, b.p, b.len);
    }
    tc_buf_release(&b);
    return rc;
}

/* 0, -1 on EOF or error, -2 on the read timeout (connection still open). */
static int read_full(raw_conn *r, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        errno = 0;
        int k = SSL_read(r->ssl, p + got, (int)(n - got));
        if (k <= 0) {
            int e = SSL_get_error(r->ssl, k);
            int timed_out = (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_SYSCALL) &&
                            (errno == EAGAIN || errno == EWOULDBLOCK);
            if (getenv("TC_DEBUG"))
                fprintf(stderr, "raw client read: ssl_err=%d errno=%d lib=%s\n", e, errno,
                        ERR_reason_error_string(ERR_peek_error()));
            ERR_clear_error();
            return timed_out ? -2 : -1;
        }
        got += (size_t)k;
    }
    return 0;
}

/* Reads one frame; payload (heap) in *out. -1 on EOF or error, -2 on timeout. */
static int raw_recv(raw_conn *r, uint16_t *type, uint8_t **out, size_t *len)
{
    uint8_t h[TC_FRAME_HEADER_SIZE];
    tc_frame_header fh;
    *out = NULL;
    int rc = read_full(r, h, sizeof h);
    if (rc != 0)
        return rc;
    if (tc_frame_header_decode(&fh, MAGIC, h, sizeof h) != 0)
        return -1;
    *out = tc_xmalloc(fh.len ? fh.len : 1);
    if ((rc = read_full(r, *out, fh.len)) != 0) {
        free(*out);
        *out = NULL;
        return rc;
    }
    *type = fh.type;
    *len = fh.len;
    return 0;
}

/* Reads frames until the server closes (true) or stays silent past the
 * 3 s read timeout (false); the code of a `reject` seen on the way goes to
 * *reject (0 if none). */
static bool raw_wait_closed(raw_conn *r, int *reject)
{
    *reject = 0;
    uint64_t end = tc_clock_mono_ms() + 4000;
    while (tc_clock_mono_ms() < end) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        int rc = raw_recv(r, &t, &p, &n);
        if (rc == -2)
            return false;
        if (rc == -1)
            return true;
        tc_msg m;
        if (t == TC_MSG_REJECT && tc_msg_decode(&m, t, p, n) == 0)
            *reject = m.u.reject.code;
        if (getenv("TC_DEBUG"))
            fprintf(stderr, "raw client got %s\n", tc_msg_type_name(t));
        free(p);
    }
    return false;
}

static void make_version_v(const raw_conn *r, const tc_keypair *kp, const uint8_t exporter[32],
                           uint32_t chain, const tc_hash *genesis, uint32_t protocol, tc_msg *m)
{
    tc_hs_config hc = {.chain_id = chain, .genesis = *genesis, .local_nonce = 777,
                       .min_protocol = TC_PROTOCOL_VERSION, .max_protocol = protocol};
    tc_handshake hs;
    tc_handshake_init(&hs, &hc);
    tc_handshake_tls_done(&hs, exporter, &r->server_key);
    tc_msg_init(m, TC_MSG_VERSION);
    tc_handshake_make_version(&hs, kp, 0, "", "raw-test", &m->u.version);
}

static void make_version(const raw_conn *r, const tc_keypair *kp, const uint8_t exporter[32],
                         uint32_t chain, const tc_hash *genesis, tc_msg *m)
{
    make_version_v(r, kp, exporter, chain, genesis, TC_PROTOCOL_VERSION, m);
}

/* An honest handshake from the raw side, announcing `protocol`. */
static int raw_handshake_v(raw_conn *r, const tc_keypair *kp, uint32_t protocol)
{
    tc_hash g;
    genesis_of(&g);
    tc_msg v;
    make_version_v(r, kp, r->exporter, CHAIN, &g, protocol, &v);
    if (raw_send(r, &v) != 0)
        return -1;
    bool got_version = false, got_verack = false;
    while (!(got_version && got_verack)) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        if (raw_recv(r, &t, &p, &n) != 0)
            return -1;
        free(p);
        if (t == TC_MSG_VERSION)
            got_version = true;
        else if (t == TC_MSG_VERACK)
            got_verack = true;
        else
            return -1;
    }
    tc_msg ack;
    tc_msg_init(&ack, TC_MSG_VERACK);
    return raw_send(r, &ack);
}

static int raw_handshake(raw_conn *r, const tc_keypair *kp)
{
    return raw_handshake_v(r, kp, TC_PROTOCOL_VERSION);
}

enum attack {
    ATK_TCP_GARBAGE,
    ATK_TLS_GARBAGE,
    ATK_OVERSIZE,
    ATK_WRONG_GENESIS,
    ATK_BAD_SIG,
    ATK_REPLAY,
    ATK_EARLY_MSG,
    ATK_SILENT,
    ATK_SMALL_FLOOD,
    ATK_FLOOD,
    ATK_IDLE,
    ATK_RETRY, /* an honest handshake attempt (by a banned key) */
    ATK_PEERS_FLOOD, /* unasked `peers` of 1,000 addresses each (issue 11, attack 2) */
};

typedef struct {
    uint16_t port;
    enum attack atk;
    tc_keypair kp;
    bool closed;      /* the server closed the connection */
    bool setup_ok;    /* the attack could be delivered */
    int served;       /* peers answers to the flood */
    bool handshake_ok;
    int reject;       /* code of the reject received before the close */
    uint64_t took_ms; /* until closed */
    atomic_int done;
} raw_job;

static void *raw_thread(void *arg)
{
    raw_job *j = arg;
    raw_conn r;
    uint64_t t0 = tc_clock_mono_ms();
    tc_hash g;
    genesis_of(&g);
    if (j->atk == ATK_TCP_GARBAGE) {
        int fd = tcp_connect(j->port);
        const char junk[] = "GET / HTTP/1.0\r\n\r\n\x16\x03\x01\x00\x05hello";
        j->setup_ok = fd >= 0 && write(fd, junk, sizeof junk) == (ssize_t)sizeof junk;
        char buf[256];
        ssize_t k;
        while ((k = read(fd, buf, sizeof buf)) > 0)
            ;
        j->closed = k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        close(fd);
        atomic_store(&j->done, 1);
        return NULL;
    }
    if (raw_open(&r, j->port, &j->kp) != 0)
        goto out;
    j->setup_ok = true;
    tc_msg m;
    switch (j->atk) {
    case ATK_TLS_GARBAGE: {
        uint8_t junk[64];
        memset(junk, 0x5a, sizeof junk);
        j->setup_ok = raw_write(&r, junk, sizeof junk) == 0;
        break;
    }
    case ATK_OVERSIZE: {
        uint8_t h[TC_FRAME_HEADER_SIZE];
        tc_frame_header_encode(h, MAGIC, TC_MSG_VERSION, 16);
        tc_le32(h + 6, TC_FRAME_MAX_PAYLOAD + 1);
        j->setup_ok = raw_write(&r, h, sizeof h) == 0;
        break;
    }
    case ATK_WRONG_GENESIS: {
        tc_hash other = g;
        other.b[0] ^= 0xff;
        make_version(&r, &j->kp, r.exporter, CHAIN, &other, &m);
        j->setup_ok = raw_send(&r, &m) == 0;
        break;
    }
    case ATK_BAD_SIG:
        make_version(&r, &j->kp, r.exporter, CHAIN, &g, &m);
        m.u.version.sig.b[7] ^= 0x10;
        j->setup_ok = raw_send(&r, &m) == 0;
        break;
    case ATK_REPLAY: {
        /* a version signed for this session, sent on another one */
        tc_msg captured;
        make_version(&r, &j->kp, r.exporter, CHAIN, &g, &captured);
        raw_close(&r);
        if (raw_open(&r, j->port, &j->kp) != 0) {
            j->setup_ok = false;
            goto out;
        }
        j->setup_ok = raw_send(&r, &captured) == 0;
        break;
    }
    case ATK_EARLY_MSG:
        tc_msg_init(&m, TC_MSG_GETPEERS);
        j->setup_ok = raw_send(&r, &m) == 0;
        break;
    case ATK_RETRY:
        j->handshake_ok = raw_handshake(&r, &j->kp) == 0;
        break;
    case ATK_SILENT:
    case ATK_IDLE:
        if (j->atk == ATK_IDLE)
            j->setup_ok = raw_handshake(&r, &j->kp) == 0;
        t0 = tc_clock_mono_ms();
        break;
    case ATK_SMALL_FLOOD:
    case ATK_FLOOD: {
        j->setup_ok = raw_handshake(&r, &j->kp) == 0;
        int n = j->atk == ATK_FLOOD ? 400 : 60;
        tc_msg_init(&m, TC_MSG_GETPEERS);
        for (int i = 0; i < n && j->setup_ok; i++)
            if (raw_send(&r, &m) != 0)
                break;
        if (j->atk == ATK_SMALL_FLOOD) {
            /* count the answers, then leave politely */
            for (;;) {
                uint16_t t;
                uint8_t *p;
                size_t len;
                if (raw_recv(&r, &t, &p, &len) != 0)
                    break;
                free(p);
                if (t == TC_MSG_PEERS)
                    j->served++;
                else if (t == TC_MSG_PING) {
                    tc_msg pong;
                    tc_msg_init(&pong, TC_MSG_PONG);
                    if (raw_send(&r, &pong) != 0)
                        break;
                }
                if (tc_clock_mono_ms() - t0 > 1500)
                    break;
            }
            j->closed = false;
            goto out;
        }
        break;
    }
    case ATK_PEERS_FLOOD: {
        j->setup_ok = raw_handshake(&r, &j->kp) == 0;
        tc_msg_init(&m, TC_MSG_PEERS);
        m.u.peers.n = TC_MSG_MAX_PEERS;
        m.u.peers.v = tc_xcalloc(TC_MSG_MAX_PEERS, sizeof *m.u.peers.v);
        for (int i = 0; i < 60 && j->setup_ok; i++) {
            for (size_t k = 0; k < m.u.peers.n; k++) /* loopback, a port where nothing listens */
                snprintf(m.u.peers.v[k].addr.s, sizeof m.u.peers.v[k].addr.s, "127.%d.%zu.%zu:9", 10 + i,
                         k / 250, 1 + k % 250);
            if (raw_send(&r, &m) != 0)
                break;
            j->served++;
        }
        free(m.u.peers.v);
        break;
    }
    default:
        break;
    }
    j->closed = raw_wait_closed(&r, &j->reject);
    j->took_ms = tc_clock_mono_ms() - t0;
out:
    raw_close(&r);
    atomic_store(&j->done, 1);
    return NULL;
}

static bool job_done(void *arg)
{
    return atomic_load(&((raw_job *)arg)->done) != 0;
}

static void run_job(struct event_base *base, raw_job *j)
{
    pthread_t th;
    atomic_store(&j->done, 0);
    assert_int_equal(pthread_create(&th, NULL, raw_thread, j), 0);
    bool ok = run_until(base, job_done, j, 15000);
    pthread_join(th, NULL);
    assert_true(ok);
    run_for(base, 50); /* let the server finish its side */
}

/* ---- tests -------------------------------------------------------------------- */

/* Types the link handles itself (never passed to on_message). */
static bool link_level(uint16_t t)
{
    return t == TC_MSG_VERSION || t == TC_MSG_VERACK || t == TC_MSG_PING || t == TC_MSG_PONG ||
           t == TC_MSG_GETPEERS || t == TC_MSG_PEERS;
}

static void test_handshake_and_every_message(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b;
    node_start(&a, base, 1);
    node_start(&b, base, 2);
    assert_true(connect_pair(base, &a, &b));

    tc_peer_info *pi;
    assert_int_equal(tc_p2p_peers(a.p, &pi), 1);
    assert_true(pi[0].established);
    assert_false(pi[0].inbound);
    assert_memory_equal(pi[0].key.b, b.kp.pk.b, 32);
    assert_int_equal(pi[0].height, 1234);
    assert_string_equal(pi[0].user_agent, TC_USER_AGENT);
    uint64_t to_b = pi[0].id;
    free(pi);
    assert_int_equal(tc_p2p_peers(b.p, &pi), 1);
    assert_true(pi[0].inbound);
    assert_memory_equal(pi[0].key.b, a.kp.pk.b, 32);
    free(pi);
    assert_int_equal(a.ups, 1);
    assert_int_equal(b.ups, 1);

    /* every message type from the vectors, A -> B */
    vector v[64];
    size_t nv = load_vectors(v, 64);
    assert_int_equal(nv, TC_MSG_TYPE_END - 1);
    size_t expect_node = 0;
    for (size_t i = 0; i < nv; i++) {
        tc_msg m;
        int rc = tc_msg_decode(&m, v[i].type, v[i].p + 2, v[i].len - 2);
        if (rc != 0)
            fail_msg("vector %s: %s", tc_msg_type_name(v[i].type), tc_errname(rc));
        if (v[i].type == TC_MSG_VERSION || v[i].type == TC_MSG_VERACK) {
            tc_msg_release(&m);
            continue; /* link-level only: sending them now would be a violation */
        }
        assert_int_equal(tc_p2p_send(a.p, to_b, &m), 0);
        tc_msg_release(&m);
        if (!link_level(v[i].type))
            expect_node++;
    }
    run_for(base, 300);
    size_t delivered = 0;
    for (size_t i = 0; i < nv; i++) {
        uint16_t t = v[i].type;
        if (link_level(t))
            continue;
        if (b.got[t] != 1)
            fail_msg("%s delivered %llu times", tc_msg_type_name(t), (unsigned long long)b.got[t]);
        assert_int_equal(b.last[t].len, v[i].len - 2);
        assert_memory_equal(b.last[t].p, v[i].p + 2, v[i].len - 2);
        delivered++;
    }
    assert_int_equal(delivered, expect_node);

    /* and every node-level type the other way, B -> A */
    uint64_t to_a = first_peer(b.p);
    for (size_t i = 0; i < nv; i++) {
        uint16_t t = v[i].type;
        if (link_level(t))
            continue;
        tc_msg m;
        assert_int_equal(tc_msg_decode(&m, t, v[i].p + 2, v[i].len - 2), 0);
        assert_int_equal(tc_p2p_send(b.p, to_a, &m), 0);
        tc_msg_release(&m);
    }
    run_for(base, 300);
    for (size_t i = 0; i < nv; i++) {
        uint16_t t = v[i].type;
        if (link_level(t))
            continue;
        if (a.got[t] != 1)
            fail_msg("B->A %s delivered %llu times", tc_msg_type_name(t),
                     (unsigned long long)a.got[t]);
        assert_memory_equal(a.last[t].p, v[i].p + 2, v[i].len - 2);
    }

    tc_p2p_stats sa, sb;
    tc_p2p_get_stats(a.p, &sa);
    tc_p2p_get_stats(b.p, &sb);
    assert_int_equal(sb.msgs_in[TC_MSG_VERSION], 1);
    assert_int_equal(sb.msgs_in[TC_MSG_VERACK], 1);
    /* A asked once after the handshake and once from the vectors; B answers
     * one getpeers per interval and drops the vectors' unasked peers */
    assert_int_equal(sa.msgs_out[TC_MSG_GETPEERS], 2);
    assert_int_equal(sb.msgs_in[TC_MSG_GETPEERS], 2);
    assert_int_equal(sb.getpeers_ignored, 1);
    assert_int_equal(sa.msgs_in[TC_MSG_PEERS], 1); /* B's answer */
    assert_int_equal(sa.peers_unsolicited, 0);
    assert_int_equal(sb.peers_unsolicited, 1);
    assert_true(sa.msgs_in[TC_MSG_PONG] >= 1);  /* keepalive */
    assert_true(sb.msgs_in[TC_MSG_PING] >= 1);
    assert_true(sb.bytes_in[TC_MSG_BLOCK] > 0);
    assert_int_equal(sa.bans + sb.bans, 0);
    assert_int_equal(tc_p2p_peer(a.p, to_b, pi = tc_xmalloc(sizeof *pi)), 0);
    assert_true(pi->bytes_out > 0 && pi->msgs_out >= nv);
    free(pi);
    tc_p2p_stats ps;
    assert_int_equal(tc_p2p_peer_stats(a.p, to_b, &ps), 0);
    assert_int_equal(ps.msgs_out[TC_MSG_BLOCK], 1);
    assert_true(ps.bytes_out[TC_MSG_BLOCK] > TC_FRAME_HEADER_SIZE);
    assert_int_equal(tc_p2p_peer_stats(a.p, 9999, &ps), TC_ENOTFOUND);

    for (size_t i = 0; i < nv; i++)
        free(v[i].p);
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
}

typedef struct {
    node *n;
    size_t field; /* offsetof a uint64_t in tc_p2p_stats */
    uint64_t min;
} stat_want;

static bool stat_reached(void *arg)
{
    stat_want *w = arg;
    tc_p2p_stats s;
    tc_p2p_get_stats(w->n->p, &s);
    uint64_t v;
    memcpy(&v, (const uint8_t *)&s + w->field, sizeof v);
    return v >= w->min;
}

#define WAIT_STAT(base, np, f, atleast, ms)                                                        \
    do {                                                                                            \
        stat_want w_ = {(np), offsetof(tc_p2p_stats, f), (atleast)};                                \
        assert_true(run_until((base), stat_reached, &w_, (ms)));                                    \
    } while (0)

/* The good peer A (connected to B throughout) still gets pongs from B. */
static void assert_good_peer_served(struct event_base *base, node *a)
{
    tc_p2p_stats s;
    tc_p2p_get_stats(a->p, &s);
    WAIT_STAT(base, a, msgs_in[TC_MSG_PONG], s.msgs_in[TC_MSG_PONG] + 2, 3000);
    assert_int_equal(tc_p2p_count(a->p), 1);
}

static void hostile(struct event_base *base, node *b, raw_job *j, enum attack atk, uint8_t seed)
{
    memset(j, 0, sizeof *j);
    j->port = tc_p2p_listen_port(b->p);
    j->atk = atk;
    uint8_t s[32];
    memset(s, seed, sizeof s);
    tc_keypair_from_seed(&j->kp, s);
    run_job(base, j);
    if (!j->setup_ok)
        fail_msg("attack %d could not be delivered", (int)atk);
}

static void test_hostile_clients(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b;
    node_init(&b);
    tc_p2p_config cb;
    node_config(&b, &cb);
    cb.handshake_timeout_ms = 800;
    cb.idle_timeout_ms = 700;
    node_start_cfg(&b, base, 2, &cb);
    node_start(&a, base, 1);
    assert_true(connect_pair(base, &a, &b));
    raw_job j;
    tc_p2p_stats s0, s1;

    /* garbage instead of TLS: disconnected; nothing to ban it by */
    tc_p2p_get_stats(b.p, &s0);
    hostile(base, &b, &j, ATK_TCP_GARBAGE, 10);
    assert_true(j.closed);
    tc_p2p_get_stats(b.p, &s1);
    assert_int_equal(s1.bans, s0.bans);
    assert_good_peer_served(base, &a);

    /* garbage inside TLS (wrong magic): disconnect and ban */
    hostile(base, &b, &j, ATK_TLS_GARBAGE, 11);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_MAGIC);
    assert_true(key_banned(&b, &j.kp.pk));
    assert_good_peer_served(base, &a);

    /* oversize length: refused on the header */
    hostile(base, &b, &j, ATK_OVERSIZE, 12);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_FRAME_SIZE);
    assert_true(key_banned(&b, &j.kp.pk));

    /* wrong genesis */
    hostile(base, &b, &j, ATK_WRONG_GENESIS, 13);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_CHAIN);
    assert_true(key_banned(&b, &j.kp.pk));
    assert_good_peer_served(base, &a);

    /* bad signature */
    hostile(base, &b, &j, ATK_BAD_SIG, 14);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ESIG);
    assert_true(key_banned(&b, &j.kp.pk));

    /* version replayed from another session */
    hostile(base, &b, &j, ATK_REPLAY, 15);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ESIG);
    assert_true(key_banned(&b, &j.kp.pk));

    /* a message before the handshake */
    hostile(base, &b, &j, ATK_EARLY_MSG, 16);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_PROTOCOL);
    assert_true(key_banned(&b, &j.kp.pk));
    assert_good_peer_served(base, &a);

    /* a banned key reconnecting is dropped right after TLS */
    hostile(base, &b, &j, ATK_RETRY, 16);
    assert_false(j.handshake_ok);
    assert_true(j.closed);

    /* silence after TLS: dropped at the handshake timeout, not banned */
    tc_p2p_get_stats(b.p, &s0);
    hostile(base, &b, &j, ATK_SILENT, 17);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_TIMEOUT);
    assert_true(j.took_ms >= 700 && j.took_ms < 3000);
    assert_false(key_banned(&b, &j.kp.pk));
    tc_p2p_get_stats(b.p, &s1);
    assert_int_equal(s1.bans, s0.bans);

    /* established but silent (never answers pings): dropped, not banned */
    hostile(base, &b, &j, ATK_IDLE, 18);
    assert_true(j.closed);
    assert_false(key_banned(&b, &j.kp.pk));

    /* a short burst of getpeers: the excess is dropped and counted, no ban */
    tc_p2p_get_stats(b.p, &s0);
    hostile(base, &b, &j, ATK_SMALL_FLOOD, 19);
    tc_p2p_get_stats(b.p, &s1);
    assert_int_equal(j.served, 1); /* one answer per TC_P2P_GETPEERS_ANSWER_MS */
    assert_true(s1.dropped[TC_MC_REQUEST] - s0.dropped[TC_MC_REQUEST] >= 25);
    assert_false(key_banned(&b, &j.kp.pk));

    /* sustained flood: dropped, then banned */
    hostile(base, &b, &j, ATK_FLOOD, 20);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_RATE);
    assert_true(key_banned(&b, &j.kp.pk));
    tc_ban *bans;
    size_t nb = tc_p2p_listbanned(b.p, &bans);
    bool rate_ban = false;
    for (size_t i = 0; i < nb; i++)
        if (strcmp(bans[i].reason, "TC_ENET_RATE") == 0)
            rate_ban = true;
    free(bans);
    assert_true(rate_ban);
    assert_int_equal(nb, 7); /* tls garbage, oversize, genesis, sig, replay, early, flood */

    /* the good peer was never touched */
    assert_good_peer_served(base, &a);
    assert_false(key_banned(&b, &a.kp.pk));
    tc_p2p_get_stats(a.p, &s1);
    assert_int_equal(s1.disconnects, 0);
    assert_int_equal(tc_netstore_mem_ban_count(b.mem), 7); /* persisted */

    tc_keypair_wipe(&j.kp);
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
}

/* ---- man in the middle -------------------------------------------------------- */

typedef struct {
    int lfd;
    uint16_t target;
    tc_keypair kp;
    atomic_int done;
} mitm_job;

static void *mitm_thread(void *arg)
{
    mitm_job *j = arg;
    int err;
    SSL_CTX *ctx = tc_tlscert_ctx_new(&j->kp, &err);
    int cfd = accept(j->lfd, NULL, NULL);
    int sfd = tcp_connect(j->target);
    SSL *cs = NULL, *ss = NULL;
    if (ctx && cfd >= 0 && sfd >= 0) {
        struct timeval tv = {3, 0};
        setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        cs = SSL_new(ctx);
        ss = SSL_new(ctx);
        SSL_set_fd(cs, cfd);
        SSL_set_fd(ss, sfd);
        if (SSL_accept(cs) == 1 && SSL_connect(ss) == 1) {
            /* relay application data both ways until either side closes */
            uint64_t end = tc_clock_mono_ms() + 5000;
            while (tc_clock_mono_ms() < end) {
                struct pollfd pf[2] = {{cfd, POLLIN, 0}, {sfd, POLLIN, 0}};
                if (SSL_pending(cs) == 0 && SSL_pending(ss) == 0 && poll(pf, 2, 100) <= 0)
                    continue;
                uint8_t buf[16384];
                int k;
                if ((SSL_pending(cs) || (pf[0].revents & (POLLIN | POLLHUP))) &&
                    ((k = SSL_read(cs, buf, sizeof buf)) <= 0 || SSL_write(ss, buf, k) != k))
                    break;
                if ((SSL_pending(ss) || (pf[1].revents & (POLLIN | POLLHUP))) &&
                    ((k = SSL_read(ss, buf, sizeof buf)) <= 0 || SSL_write(cs, buf, k) != k))
                    break;
            }
        }
    }
    SSL_free(cs);
    SSL_free(ss);
    if (cfd >= 0)
        close(cfd);
    if (sfd >= 0)
        close(sfd);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    atomic_store(&j->done, 1);
    return NULL;
}

static bool mitm_done(void *arg)
{
    return atomic_load(&((mitm_job *)arg)->done) != 0;
}

static void test_mitm_fails(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b;
    node_start(&a, base, 1);
    node_start(&b, base, 2);

    mitm_job j;
    memset(&j, 0, sizeof j);
    uint8_t s[32];
    memset(s, 66, sizeof s);
    tc_keypair_from_seed(&j.kp, s);
    j.target = tc_p2p_listen_port(b.p);
    j.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(j.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(j.lfd, 4), 0);
    socklen_t sl = sizeof sa;
    getsockname(j.lfd, (struct sockaddr *)&sa, &sl);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, mitm_thread, &j), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sa.sin_port));
    assert_int_equal(tc_p2p_connect(a.p, addr), 0);
    bool finished = run_until(base, mitm_done, &j, 10000);
    pthread_join(th, NULL);
    close(j.lfd);
    assert_true(finished);
    run_for(base, 100);
    /* neither side accepted the link; both recognised the proxy's key */
    assert_int_equal(tc_p2p_count(a.p), 0);
    assert_int_equal(tc_p2p_count(b.p), 0);
    assert_int_equal(a.ups + b.ups, 0);
    assert_true(key_banned(&a, &j.kp.pk));
    assert_false(key_banned(&a, &b.kp.pk));
    /* the real link still works */
    assert_true(connect_pair(base, &a, &b));
    tc_keypair_wipe(&j.kp);
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
}

/* ---- self, duplicates, relay, bans ---------------------------------------------- */

static bool no_conns(void *arg)
{
    tc_peer_info *v;
    size_t n = tc_p2p_peers(arg, &v);
    free(v);
    return n == 0;
}

static void test_self_and_duplicate(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b;
    node_start(&a, base, 1);
    node_start(&b, base, 2);

    /* to itself: dropped on the nonce, not banned */
    char self[64];
    addr_of(&a, self, sizeof self);
    assert_int_equal(tc_p2p_connect(a.p, self), 0);
    assert_true(run_until(base, no_conns, a.p, 5000));
    tc_ban *bans;
    assert_int_equal(tc_p2p_listbanned(a.p, &bans), 0);
    assert_int_equal(a.ups, 0);

    /* A dials B twice and B dials A: one link survives on both sides */
    char ab[64], ba[64];
    addr_of(&b, ab, sizeof ab);
    addr_of(&a, ba, sizeof ba);
    assert_int_equal(tc_p2p_connect(a.p, ab), 0);
    assert_int_equal(tc_p2p_connect(a.p, ab), 0);
    assert_int_equal(tc_p2p_connect(b.p, ba), 0);
    run_for(base, 600);
    pair_want w = {&a, &b, 1, 1};
    assert_true(run_until(base, counts_are, &w, 3000));
    run_for(base, 200);
    assert_int_equal(tc_p2p_count(a.p), 1);
    assert_int_equal(tc_p2p_count(b.p), 1);
    assert_int_equal(tc_p2p_listbanned(a.p, &bans) + tc_p2p_listbanned(b.p, &bans), 0);
    /* and it is the same link: A's outbound is B's inbound or the reverse */
    tc_peer_info pa, pb;
    assert_int_equal(tc_p2p_peer(a.p, first_peer(a.p), &pa), 0);
    assert_int_equal(tc_p2p_peer(b.p, first_peer(b.p), &pb), 0);
    assert_true(pa.inbound != pb.inbound);
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
}

/* Blocks of n transactions of about 1 KiB (each a copy of the vector tx with
 * one byte changed, so that no two blocks are alike). */
static void make_block_msg(tc_buf *out, const tc_tx *tx, size_t n, uint8_t salt)
{
    tc_block blk;
    tc_block_init(&blk);
    blk.hdr.version = TC_BLOCK_VERSION;
    blk.hdr.chain_id = CHAIN;
    blk.hdr.height = 2 + salt;
    for (size_t i = 0; i < n; i++)
        tc_block_add_tx(&blk, tx);
    tc_buf_reset(out);
    tc_block_encode(&blk, out);
    tc_block_release(&blk);
}

static bool got_blocks(void *arg)
{
    const node *n = arg;
    return n->got[TC_MSG_BLOCK] == 6 && n->got[TC_MSG_TX] == 6 * 40;
}

struct link_end {
    tc_p2p *p;
    uint64_t peer;
};

static bool output_drained(void *arg)
{
    const struct link_end *e = arg;
    return tc_p2p_queued(e->p, e->peer) == 0;
}

/* Large frames (sealed at once, across output chunk boundaries) and small
 * ones (gathered) arrive whole and in the order sent, both ways at once. */
static void test_large_frames_keep_order(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b;
    node *both[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        node_init(both[i]);
        tc_p2p_config c;
        node_config(both[i], &c);
        for (int k = 0; k < TC_MC_COUNT; k++)
            c.rates[k] = (tc_rate){0, 0}; /* unlimited: this is about the link */
        node_start_cfg(both[i], base, (uint8_t)(i + 1), &c);
    }
    vector v[64];
    size_t nv = load_vectors(v, 64);
    const vector *txv = find_vector(v, nv, TC_MSG_TX);
    tc_tx tx;
    assert_int_equal(tc_tx_decode(&tx, txv->p + 2, txv->len - 2), 0);
    /* blocks of 0.1 to 1.9 MB, built before the link is up (slow under ASan) */
    tc_buf blk[6], enc;
    for (uint8_t r = 0; r < 6; r++) {
        tc_buf_init(&blk[r]);
        make_block_msg(&blk[r], &tx, (size_t)(100 + r * 350) * 1024 / (txv->len + 64), r);
    }
    tc_buf_init(&enc);
    assert_true(connect_pair(base, &a, &b));

    tc_hasher sent[2];
    uint64_t to[2] = {first_peer(a.p), first_peer(b.p)};
    for (int side = 0; side < 2; side++)
        tc_hasher_init(&sent[side], TC_H_TXID) /* any domain: a test digest */;
    for (uint8_t r = 0; r < 6; r++) {
        /* 40 small frames, then a block */
        for (int side = 0; side < 2; side++) {
            tc_msg m;
            for (int i = 0; i < 40; i++) {
                tc_msg_init(&m, TC_MSG_TX);
                m.u.tx = (tc_bytes){txv->p + 2, txv->len - 2};
                assert_int_equal(tc_p2p_send(both[side]->p, to[side], &m), 0);
                tc_buf_reset(&enc);
                assert_int_equal(tc_msg_encode(&m, &enc), 0);
                digest_msg(&sent[side], TC_MSG_TX, &enc);
            }
            tc_msg_init(&m, TC_MSG_BLOCK);
            m.u.block.block = (tc_bytes){blk[r].p, blk[r].len};
            assert_int_equal(tc_p2p_send(both[side]->p, to[side], &m), 0);
            tc_buf_reset(&enc);
            assert_int_equal(tc_msg_encode(&m, &enc), 0);
            digest_msg(&sent[side], TC_MSG_BLOCK, &enc);
        }
    }
    if (!run_until(base, got_blocks, &b, 20000) || !run_until(base, got_blocks, &a, 20000))
        fail_msg("delivered A->B %llu blocks %llu txs, B->A %llu blocks %llu txs; links %zu %zu",
                 (unsigned long long)b.got[TC_MSG_BLOCK], (unsigned long long)b.got[TC_MSG_TX],
                 (unsigned long long)a.got[TC_MSG_BLOCK], (unsigned long long)a.got[TC_MSG_TX],
                 tc_p2p_count(a.p), tc_p2p_count(b.p));
    tc_hash want, got;
    tc_hasher_final(&sent[0], &want);
    tc_hasher_final(&b.arrived, &got);
    assert_memory_equal(want.b, got.b, 32);
    tc_hasher_final(&sent[1], &want);
    tc_hasher_final(&a.arrived, &got);
    assert_memory_equal(want.b, got.b, 32);
    /* the output drains; pings (every 100 ms here) may be in flight at any
     * one moment, so wait for a moment with nothing queued */
    struct link_end ends[2] = {{a.p, to[0]}, {b.p, to[1]}};
    assert_true(run_until(base, output_drained, &ends[0], 5000));
    assert_true(run_until(base, output_drained, &ends[1], 5000));
    assert_int_equal(tc_p2p_count(a.p), 1);
    assert_int_equal(tc_p2p_count(b.p), 1);

    tc_tx_release(&tx);
    for (int r = 0; r < 6; r++)
        tc_buf_release(&blk[r]);
    tc_buf_release(&enc);
    for (size_t i = 0; i < nv; i++)
        free(v[i].p);
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
}

static void test_relay_never_echoes(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b, c;
    node_start(&a, base, 1);
    node_start(&b, base, 2);
    node_start(&c, base, 3);
    assert_true(connect_pair(base, &a, &b));
    assert_true(connect_pair(base, &c, &b));
    /* B learned h from A: only C hears of it */
    uint64_t from_a = 0;
    tc_peer_info *v;
    size_t n = tc_p2p_peers(b.p, &v);
    for (size_t i = 0; i < n; i++)
        if (memcmp(v[i].key.b, a.kp.pk.b, 32) == 0)
            from_a = v[i].id;
    free(v);
    assert_true(from_a != 0);
    tc_hash h;
    memset(h.b, 0x3c, 32);
    assert_int_equal(tc_p2p_relay(b.p, TC_INV_TX, &h, from_a), 1);
    assert_int_equal(tc_p2p_relay(b.p, TC_INV_TX, &h, 0), 0); /* everyone knows it */
    run_for(base, 200);
    assert_int_equal(c.got[TC_MSG_INV], 1);
    assert_int_equal(a.got[TC_MSG_INV], 0);
    assert_memory_equal(c.last[TC_MSG_INV].p + 2, h.b, 32);

    /* a consensus message pushed whole, relayed once */
    tc_msg gb;
    tc_msg_init(&gb, TC_MSG_GETBLOCKS);
    gb.u.getblocks.from = 1;
    gb.u.getblocks.count = 1;
    tc_hash id;
    memset(id.b, 0x4d, 32);
    assert_int_equal(tc_p2p_push(b.p, &gb, &id, 0), 2);
    assert_int_equal(tc_p2p_push(b.p, &gb, &id, 0), 0);
    run_for(base, 200);
    assert_int_equal(a.got[TC_MSG_GETBLOCKS], 1);
    assert_int_equal(c.got[TC_MSG_GETBLOCKS], 1);
    assert_true(tc_p2p_queued(b.p, from_a) < 4096); /* drained but for a ping or two */
    assert_int_equal(tc_p2p_queued(b.p, 9999), 0);
    node_stop(&a);
    node_stop(&b);
    node_stop(&c);
    event_base_free(base);
}

static void test_setban_and_address_bans(void **state)
{
    (void)state;
    int err;
    struct event_base *base = event_base_new();
    node a, b;
    node_start(&a, base, 1);
    node_init(&b);
    tc_p2p_config cb;
    node_config(&b, &cb);
    cb.ban_addresses = true;
    node_start_cfg(&b, base, 2, &cb);
    assert_true(connect_pair(base, &a, &b));

    /* setban on a connected key drops it; listbanned shows it; unban lifts it */
    char subj[TC_BAN_SUBJECT_MAX];
    tc_ban_subject_key(subj, &a.kp.pk);
    assert_int_equal(tc_p2p_setban(b.p, subj, 60000, "operator"), 0);
    pair_want w = {&a, &b, 0, 0};
    assert_true(run_until(base, counts_are, &w, 3000));
    tc_ban *bans;
    assert_int_equal(tc_p2p_listbanned(b.p, &bans), 1);
    assert_string_equal(bans[0].subject, subj);
    assert_string_equal(bans[0].reason, "operator");
    assert_true(bans[0].until_ms > bans[0].created_ms);
    free(bans);
    /* a banned key is refused after TLS */
    char ab[64];
    addr_of(&b, ab, sizeof ab);
    assert_int_equal(tc_p2p_connect(a.p, ab), 0);
    run_for(base, 300);
    assert_int_equal(tc_p2p_count(b.p), 0);
    assert_int_equal(tc_p2p_unban(b.p, subj), 0);
    assert_int_equal(tc_p2p_unban(b.p, subj), TC_ENOTFOUND);
    /* a duration at UINT64_MAX saturates to "forever", never wraps into the past */
    assert_int_equal(tc_p2p_setban(b.p, "10.9.8.7", UINT64_MAX, "forever"), 0);
    assert_true(tc_p2p_is_banned(b.p, "10.9.8.7"));
    assert_int_equal(tc_p2p_unban(b.p, "10.9.8.7"), 0);
    assert_true(connect_pair(base, &a, &b));

    /* loopback is exempt from automatic address bans by default */
    raw_job j;
    hostile(base, &b, &j, ATK_BAD_SIG, 31);
    assert_true(j.closed);
    assert_true(key_banned(&b, &j.kp.pk));
    assert_false(tc_p2p_is_banned(b.p, "127.0.0.1"));
    tc_p2p_free(b.p);
    cb.ban_loopback = true;
    b.p = tc_p2p_new(base, &cb, &err);
    assert_non_null(b.p);
    pair_want gone = {&a, &b, 0, 0};
    assert_true(run_until(base, counts_are, &gone, 3000)); /* A noticed the restart */
    assert_true(connect_pair(base, &a, &b));

    /* a violation with address bans on: the IP is banned and refused at accept */
    hostile(base, &b, &j, ATK_BAD_SIG, 30);
    assert_true(j.closed);
    assert_true(tc_p2p_is_banned(b.p, "127.0.0.1"));
    tc_p2p_stats s0, s1;
    tc_p2p_get_stats(b.p, &s0);
    int fd = tcp_connect(tc_p2p_listen_port(b.p));
    run_for(base, 100);
    tc_p2p_get_stats(b.p, &s1);
    assert_int_equal(s1.refused, s0.refused + 1);
    if (fd >= 0)
        close(fd);
    /* the established good peer is kept (a violation bans the offender only) */
    assert_int_equal(tc_p2p_count(b.p), 1);
    assert_int_equal(tc_p2p_unban(b.p, "127.0.0.1"), 0);
    assert_int_equal(tc_p2p_setban(b.p, "127.0.0.1", 0, NULL), 0); /* drops A too */
    w.na = w.nb = 0;
    assert_true(run_until(base, counts_are, &w, 3000));
    assert_int_equal(tc_p2p_connect(b.p, "not an address"), TC_ENET_ADDR);
    tc_keypair_wipe(&j.kp);
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
}

static void test_persistent_identity(void **state)
{
    (void)state;
    char dir[] = "/tmp/tc-p2p-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct event_base *base = event_base_new();
    node a;
    node_init(&a);
    tc_p2p_config c;
    node_config(&a, &c);
    c.datadir = dir;
    node_start_cfg(&a, base, 1, &c);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, TC_TLS_KEY_FILE);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fclose(f);
    tc_p2p_free(a.p);
    /* second start reuses the files */
    int err;
    a.p = tc_p2p_new(base, &c, &err);
    assert_non_null(a.p);
    node b;
    node_start(&b, base, 2);
    assert_true(connect_pair(base, &b, &a));
    node_stop(&a);
    node_stop(&b);
    snprintf(path, sizeof path, "%s/%s", dir, TC_TLS_KEY_FILE);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", dir, TC_TLS_CERT_FILE);
    unlink(path);
    rmdir(dir);
    event_base_free(base);
}

static bool refused_at_least(void *arg)
{
    void **a = arg;
    tc_p2p_stats s;
    tc_p2p_get_stats(a[0], &s);
    return s.refused >= *(uint64_t *)a[1];
}

static void test_inbound_limits(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b, c;
    node_init(&b);
    tc_p2p_config cb;
    node_config(&b, &cb);
    cb.max_inbound = 1;
    cb.inbound_per_minute = 3;
    node_start_cfg(&b, base, 2, &cb);
    node_start(&a, base, 1);
    node_start(&c, base, 3);
    /* one inbound allowed: the second is refused at accept, no ban */
    assert_true(connect_pair(base, &a, &b));
    char ab[64];
    addr_of(&b, ab, sizeof ab);
    assert_int_equal(tc_p2p_connect(c.p, ab), 0);
    uint64_t want = 1;
    void *arg[2] = {b.p, &want};
    assert_true(run_until(base, refused_at_least, arg, 3000));
    assert_int_equal(tc_p2p_count(c.p), 0);
    /* new inbound per minute: A's reconnects exhaust the budget of 3 */
    assert_int_equal(tc_p2p_disconnect(b.p, first_peer(b.p)), 0);
    pair_want w = {&a, &b, 0, 0};
    assert_true(run_until(base, counts_are, &w, 3000));
    assert_true(connect_pair(base, &a, &b)); /* 2nd accept */
    assert_int_equal(tc_p2p_disconnect(b.p, first_peer(b.p)), 0);
    assert_true(run_until(base, counts_are, &w, 3000));
    assert_true(connect_pair(base, &a, &b)); /* 3rd accept */
    assert_int_equal(tc_p2p_disconnect(b.p, first_peer(b.p)), 0);
    assert_true(run_until(base, counts_are, &w, 3000));
    want = 2; /* the inbound-limit refusal, then this one */
    assert_int_equal(tc_p2p_connect(a.p, ab), 0); /* 4th within the minute */
    assert_true(run_until(base, refused_at_least, arg, 3000));
    tc_ban *bans;
    assert_int_equal(tc_p2p_listbanned(b.p, &bans), 0);
    node_stop(&a);
    node_stop(&b);
    node_stop(&c);
    event_base_free(base);
}

static void test_autodial_and_reconnect(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b;
    node_init(&a);
    tc_p2p_config ca;
    node_config(&a, &ca);
    ca.outbound_target = 1;
    node_start_cfg(&a, base, 1, &ca);
    node_start(&b, base, 2);
    char ab[64];
    addr_of(&b, ab, sizeof ab);
    assert_int_equal(tc_p2p_add_address(a.p, ab, TC_ADDR_CONNECT), 0);
    assert_int_equal(tc_p2p_add_address(a.p, "no port", TC_ADDR_CONNECT), TC_ENET_ADDR);
    /* seeds and peers are numeric: a host name is refused, never resolved */
    assert_int_equal(tc_p2p_add_address(a.p, "seed.example.org:24100", TC_ADDR_SEED), TC_ENET_ADDR);
    assert_int_equal(tc_p2p_add_address(a.p, "localhost:24100", TC_ADDR_SEED), TC_ENET_ADDR);
    assert_int_equal(tc_p2p_add_address(a.p, "10.1.2.3:0", TC_ADDR_SEED), TC_ENET_ADDR);
    assert_int_equal(tc_p2p_check_addr("[::1]:24100"), 0);
    assert_int_equal(tc_p2p_check_addr("10.1.2.3:24100"), 0);
    assert_int_equal(tc_p2p_check_addr("seed.example.org:24100"), TC_ENET_ADDR);
    pair_want w = {&a, &b, 1, 1};
    assert_true(run_until(base, counts_are, &w, 5000)); /* dialled from the book */
    /* B drops A: A reconnects after its backoff */
    assert_int_equal(tc_p2p_disconnect(b.p, first_peer(b.p)), 0);
    w.na = w.nb = 0;
    assert_true(run_until(base, counts_are, &w, 3000));
    w.na = w.nb = 1;
    assert_true(run_until(base, counts_are, &w, 5000));
    assert_int_equal(a.ups, 2);
    assert_int_equal(a.downs, 1); /* reported from the loop */
    assert_int_equal(b.downs, 1);
    /* the address book is persisted */
    assert_true(tc_netstore_mem_addr_count(a.mem) >= 1);
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
}

static bool mesh_up(void *arg)
{
    node **n = arg;
    return tc_p2p_count(n[0]->p) == 2 && tc_p2p_count(n[1]->p) == 1 && tc_p2p_count(n[2]->p) == 1;
}

static void test_validator_mesh(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b, c;
    node_start(&a, base, 1); /* outbound target 0: only the mesh dials */
    node_start(&b, base, 2);
    node_start(&c, base, 3);
    char ab[64], ac[64], aa[64];
    addr_of(&b, ab, sizeof ab);
    addr_of(&c, ac, sizeof ac);
    addr_of(&a, aa, sizeof aa);
    const char *vals[] = {ab, ac, aa, "bad address"};
    tc_p2p_set_mesh(a.p, vals, 4);
    node *all[3] = {&a, &b, &c};
    assert_true(run_until(base, mesh_up, all, 5000));
    run_for(base, 200);
    assert_int_equal(tc_p2p_count(a.p), 2); /* never itself */
    node_stop(&a);
    node_stop(&b);
    node_stop(&c);
    event_base_free(base);
}

static void test_bans_survive_restart(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node b;
    node_start(&b, base, 2);
    assert_int_equal(tc_p2p_setban(b.p, "10.9.8.7", 3600000, "test"), 0);
    assert_int_equal(tc_p2p_setban(b.p, "", 0, NULL), TC_EINVAL);
    tc_p2p_free(b.p);
    tc_p2p_config c;
    node_config(&b, &c);
    int err;
    b.p = tc_p2p_new(base, &c, &err);
    assert_non_null(b.p);
    assert_true(tc_p2p_is_banned(b.p, "10.9.8.7"));
    assert_false(tc_p2p_is_banned(b.p, "10.9.8.6"));
    assert_int_equal(tc_p2p_connect(b.p, "10.9.8.7:24000"), TC_ENET_BANNED);

    /* addresses are numeric ip:port or [ipv6]:port */
    const char *bad[] = {"1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:-1",
                         "1.2.3.4:1x", "[::1:5", "host.example:1", ":1", "", "1.2.3:4"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (tc_p2p_connect(b.p, bad[i]) != TC_ENET_ADDR)
            fail_msg("accepted address '%s'", bad[i]);
    assert_int_equal(tc_p2p_connect(b.p, NULL), TC_ENET_ADDR);
    assert_int_equal(tc_p2p_connect(b.p, "[::1]:9"), 0); /* nobody listens: fails later */
    assert_true(run_until(base, no_conns, b.p, 3000));
    node_stop(&b);
    event_base_free(base);
}

typedef struct {
    size_t first, rest; /* stored 127.4.0.x (the first 250 offered), 127.4.1-3.x */
} offered;

static int count_offered(void *arg, const tc_addr_rec *r)
{
    offered *o = arg;
    if (strncmp(r->addr.s, "127.4.0.", 8) == 0)
        o->first++;
    else if (strncmp(r->addr.s, "127.4.", 6) == 0)
        o->rest++;
    return 0;
}

/* Issue 11, attack 2: `peers` only as the answer to our `getpeers`, at most
 * TC_P2P_PEERS_MAX of it; `getpeers` answered once per interval; an unasked
 * flood of 1,000-address `peers` is dropped without touching the book and
 * bans its sender after TC_BANSCORE_BAN / TC_P2P_UNSOLICITED_POINTS. */
static void test_address_gossip(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b;
    node_init(&a);
    tc_p2p_config ca;
    node_config(&a, &ca);
    ca.getpeers_interval_ms = 100; /* the timer asks again soon */
    node_start_cfg(&a, base, 1, &ca);
    node_start(&b, base, 2);
    char addr[48];
    for (unsigned i = 0; i < 20; i++) { /* one group: room left in B's buckets at A */
        snprintf(addr, sizeof addr, "127.3.0.%u:9", 1 + i);
        assert_int_equal(tc_p2p_add_address(b.p, addr, TC_ADDR_SEED), 0);
    }
    assert_true(connect_pair(base, &a, &b));
    /* A asked B after the handshake and took its answer */
    WAIT_STAT(base, &a, msgs_in[TC_MSG_PEERS], 1, 3000);
    tc_p2p_stats sa, sb;
    tc_p2p_get_stats(a.p, &sa);
    assert_int_equal(sa.peers_unsolicited, 0);
    assert_in_range(sa.addrs_learned, 1, TC_P2P_PEERS_MAX);
    /* A's timer asks again; B answers one getpeers per interval */
    WAIT_STAT(base, &b, getpeers_ignored, 1, 3000);
    /* a 1,000-address answer to A's open request: only its first
     * TC_P2P_PEERS_MAX addresses (127.4.0.x) are considered */
    tc_msg m;
    tc_msg_init(&m, TC_MSG_PEERS);
    m.u.peers.n = TC_MSG_MAX_PEERS;
    m.u.peers.v = tc_xcalloc(TC_MSG_MAX_PEERS, sizeof *m.u.peers.v);
    for (size_t k = 0; k < m.u.peers.n; k++)
        snprintf(m.u.peers.v[k].addr.s, sizeof m.u.peers.v[k].addr.s, "127.4.%zu.%zu:9", k / 250, 1 + k % 250);
    _Static_assert(TC_P2P_PEERS_MAX == 250, "127.4.0.x are the first TC_P2P_PEERS_MAX");
    assert_int_equal(tc_p2p_send(b.p, first_peer(b.p), &m), 0);
    WAIT_STAT(base, &a, addrs_learned, sa.addrs_learned + 1, 3000);
    run_for(base, 100); /* ticks: the book is flushed */
    offered o = {0, 0};
    assert_int_equal(a.st.addr_load(a.st.ctx, count_offered, &o), 0);
    assert_true(o.first >= 1);
    assert_int_equal(o.rest, 0);
    tc_msg_release(&m);

    /* a raw client floods B with unasked peers: never stored, banned */
    run_for(base, 100);
    size_t stored = tc_netstore_mem_addr_count(b.mem);
    tc_p2p_get_stats(b.p, &sb);
    raw_job j;
    hostile(base, &b, &j, ATK_PEERS_FLOOD, 30);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_PROTOCOL);
    assert_true(key_banned(&b, &j.kp.pk));
    tc_p2p_stats sb1;
    tc_p2p_get_stats(b.p, &sb1);
    assert_int_equal(sb1.peers_unsolicited - sb.peers_unsolicited, TC_BANSCORE_BAN / TC_P2P_UNSOLICITED_POINTS);
    assert_int_equal(sb1.addrs_learned, sb.addrs_learned);
    run_for(base, 100);
    assert_int_equal(tc_netstore_mem_addr_count(b.mem), stored);
    assert_int_equal(tc_p2p_count(b.p), 1); /* A stays */
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
}

static bool outbound_at_least(void *arg)
{
    return tc_p2p_count(((node *)arg)->p) >= 2;
}

/* At most one automatic outbound link per address group: of two gossiped
 * peers in 127.0.0.0/24 and one in 127.0.1.0/24, A dials two. */
static void test_outbound_group_diversity(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, peer[3];
    node_init(&a);
    tc_p2p_config ca;
    node_config(&a, &ca);
    ca.outbound_target = 3;
    node_start_cfg(&a, base, 1, &ca);
    const char *listen[3] = {"127.0.0.1:0", "127.0.0.1:0", "127.0.1.1:0"};
    for (int i = 0; i < 3; i++) {
        node_init(&peer[i]);
        tc_p2p_config c;
        node_config(&peer[i], &c);
        c.listen = listen[i];
        node_start_cfg(&peer[i], base, (uint8_t)(2 + i), &c);
        char addr[48];
        snprintf(addr, sizeof addr, "%.*s:%u", (int)(strlen(listen[i]) - 2), listen[i],
                 tc_p2p_listen_port(peer[i].p));
        assert_int_equal(tc_p2p_add_address(a.p, addr, TC_ADDR_GOSSIP), 0);
    }
    assert_true(run_until(base, outbound_at_least, &a, 5000));
    run_for(base, 500);
    assert_int_equal(tc_p2p_count(a.p), 2);
    assert_int_equal(tc_p2p_count(peer[2].p), 1); /* the only one of its group */
    assert_int_equal(tc_p2p_count(peer[0].p) + tc_p2p_count(peer[1].p), 1);
    node_stop(&a);
    for (int i = 0; i < 3; i++)
        node_stop(&peer[i]);
    event_base_free(base);
}

static void test_defaults_and_classes(void **state)
{
    (void)state;
    tc_p2p_config c;
    tc_p2p_config_default(&c);
    assert_int_equal(c.max_inbound, 64);
    assert_int_equal(c.outbound_target, 8);
    assert_int_equal(c.handshake_timeout_ms, 10000);
    assert_int_equal(c.ping_interval_ms, 30000);
    assert_int_equal(c.idle_timeout_ms, 90000);
    assert_int_equal(c.ban_ms, 24ull * 3600 * 1000);
    assert_int_equal(c.rates[TC_MC_REQUEST].rate, 10);
    assert_int_equal(c.rates[TC_MC_REQUEST].burst, 20);
    assert_true(c.ban_addresses);
    assert_false(c.ban_loopback);
    assert_int_equal(c.inbound_per_minute, 30);
    assert_int_equal(c.inbound_per_group, 8);
    assert_int_equal(c.max_inbound_per_group, 8);
    /* a wildcard listen address is never advertised */
    static const char *const wild[] = {"0.0.0.0:1", "[::]:1", "[0::0]:24000"};
    static const char *const dialable[] = {"127.0.0.1:1", "[::1]:1", "10.0.0.1:5"};
    for (size_t i = 0; i < 3; i++) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        assert_int_equal(tc_sockaddr_parse(wild[i], &ss, &len), 0);
        assert_true(tc_sockaddr_is_wildcard(&ss));
        assert_int_equal(tc_sockaddr_parse(dialable[i], &ss, &len), 0);
        assert_false(tc_sockaddr_is_wildcard(&ss));
    }
    const uint16_t requests[] = {TC_MSG_GETPEERS, TC_MSG_GETMASTERNODES, TC_MSG_GETBLOCKS,
                                 TC_MSG_GETHASH};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(tc_msg_class_of(requests[i]), TC_MC_REQUEST);
    assert_int_equal(tc_msg_class_of(TC_MSG_VOTE), TC_MC_CONSENSUS);
    assert_int_equal(tc_msg_class_of(TC_MSG_PROPOSAL), TC_MC_CONSENSUS);
    assert_int_equal(tc_msg_class_of(TC_MSG_BLOCKS), TC_MC_RESPONSE);
    assert_int_equal(tc_msg_class_of(TC_MSG_TX), TC_MC_GOSSIP);
    assert_int_equal(tc_msg_class_of(TC_MSG_PING), TC_MC_CONTROL);
    for (uint16_t t = 0; t <= TC_MSG_TYPE_END; t++)
        assert_true((unsigned)tc_msg_class_of(t) < TC_MC_COUNT);
    assert_string_equal(tc_msg_class_name(TC_MC_REQUEST), "request");
    assert_string_equal(tc_msg_class_name(TC_MC_COUNT), "unknown");
    /* tc_p2p_new refuses a config without a node key */
    int err;
    assert_null(tc_p2p_new(NULL, &c, &err));
    assert_int_equal(err, TC_EINVAL);
}

/* ---- transaction credit (docs/protocol.md §6) ------------------------------ */

/* B has every transaction A sent, or dropped A. */
typedef struct {
    const node *b;
    uint64_t sent;
} tx_sent;

static bool txs_settled(void *arg)
{
    const tx_sent *w = arg;
    return w->b->got[TC_MSG_TX] >= w->sent || tc_p2p_count(w->b->p) == 0;
}

/* B (gossip 5/s, burst 10; a credit of at most 100 items, each counting
 * for 300 to 600 ms) asks A for `asked` transactions in getdatas of up to
 * TC_MSG_MAX_INV hashes; A waits wait_ms, then sends `sent` transactions.
 * Returns how many reached B; *banned: B banned A for the rate;
 * *dropped: B's rate-limited gossip. */
static uint64_t tx_answers(const vector *txv, uint64_t asked, uint64_t wait_ms, uint64_t sent, bool *banned,
                           uint64_t *dropped)
{
    struct event_base *base = event_base_new();
    node a, b;
    node_start(&a, base, 1);
    node_init(&b);
    tc_p2p_config c;
    node_config(&b, &c);
    c.rates[TC_MC_GOSSIP] = (tc_rate){5, 10};
    c.tx_credit_max = 100;
    c.tx_credit_ms = 300;
    node_start_cfg(&b, base, 2, &c);
    assert_true(connect_pair(base, &a, &b));
    uint64_t to_a = first_peer(b.p), to_b = first_peer(a.p);
    tc_hash *h = tc_xcalloc(TC_MSG_MAX_INV, sizeof *h);
    uint64_t n_getdata = 0;
    for (uint64_t left = asked; left > 0; n_getdata++) {
        tc_msg m;
        tc_msg_init(&m, TC_MSG_GETDATA);
        m.u.inv.type = TC_INV_TX;
        m.u.inv.n = left < TC_MSG_MAX_INV ? (size_t)left : TC_MSG_MAX_INV;
        for (size_t i = 0; i < m.u.inv.n; i++) { /* hashes nobody has: no answer comes by itself */
            h[i].b[0] = (uint8_t)i;
            h[i].b[1] = (uint8_t)(i >> 8);
            h[i].b[2] = (uint8_t)n_getdata;
        }
        m.u.inv.h = h;
        assert_int_equal(tc_p2p_send(b.p, to_a, &m), 0);
        left -= m.u.inv.n;
    }
    free(h);
    WAIT_STAT(base, &a, msgs_in[TC_MSG_GETDATA], n_getdata, 3000);
    run_for(base, wait_ms);
    for (uint64_t i = 0; i < sent; i++) {
        tc_msg m;
        tc_msg_init(&m, TC_MSG_TX);
        m.u.tx = (tc_bytes){txv->p + 2, txv->len - 2};
        assert_int_equal(tc_p2p_send(a.p, to_b, &m), 0);
    }
    tx_sent w = {&b, sent};
    run_until(base, txs_settled, &w, 5000);
    run_for(base, 50);
    *banned = key_banned(&b, &a.kp.pk);
    tc_p2p_stats st;
    tc_p2p_get_stats(b.p, &st);
    *dropped = st.dropped[TC_MC_GOSSIP];
    if (*banned) {
        tc_ban *bans;
        size_t nb = tc_p2p_listbanned(b.p, &bans);
        assert_int_equal(nb, 1);
        assert_string_equal(bans[0].reason, "TC_ENET_RATE");
        free(bans);
    }
    uint64_t got = b.got[TC_MSG_TX];
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
    return got;
}

/* Transactions we asked for pass the gossip bucket; the credit a peer earns
 * from getdatas it never answers is capped and expires, so it cannot carry
 * an unasked flood past the rate limit: the flooder is banned for the rate. */
static void test_tx_credit_bounded(void **state)
{
    (void)state;
    vector v[64];
    size_t nv = load_vectors(v, 64);
    const vector *txv = find_vector(v, nv, TC_MSG_TX);
    bool banned;
    uint64_t dropped;
    /* honest: 100 asked-for transactions, ten times the burst, all taken */
    assert_int_equal(tx_answers(txv, 100, 0, 100, &banned, &dropped), 100);
    assert_false(banned);
    assert_int_equal(dropped, 0);
    /* 3,000 asked for, never answered, then a flood: only the cap (100) and
     * the bucket (burst 10, 5/s) let anything through */
    uint64_t got = tx_answers(txv, 3000, 0, 400, &banned, &dropped);
    assert_true(got >= 100 && got < 100 + 30);
    assert_true(banned);
    /* 100 asked for, unanswered past the credit's life (< 2 x 300 ms), then
     * a flood: the credit has expired, the bucket alone applies */
    got = tx_answers(txv, 100, 700, 400, &banned, &dropped);
    assert_true(got >= 10 && got < 30);
    assert_true(banned);
    for (size_t i = 0; i < nv; i++)
        free(v[i].p);
}

/* ---- per-source inbound limits, descriptors, newer peers ------------------- */

/* A raw peer from 127.0.0.1: handshake announcing `protocol`, then
 * `n_unknown` frames of a type nobody knows yet, then a ping that must be
 * answered (served), unless the node closes first (closed, reject). */
typedef struct {
    uint16_t port;
    tc_keypair kp;
    uint32_t protocol;
    int n_unknown;
    bool handshake_ok, served, closed;
    int reject;
    atomic_int done;
} peer_job;

static void *peer_thread(void *arg)
{
    peer_job *j = arg;
    raw_conn r;
    if (raw_open(&r, j->port, &j->kp) != 0 || raw_handshake_v(&r, &j->kp, j->protocol) != 0)
        goto out;
    j->handshake_ok = true;
    uint8_t frame[TC_FRAME_HEADER_SIZE + 12];
    memset(frame, 0x33, sizeof frame);
    for (int i = 0; i < j->n_unknown; i++) {
        tc_frame_header_encode(frame, MAGIC, (uint16_t)(TC_MSG_TYPE_END + 7 + i % 3), 12);
        if (raw_write(&r, frame, sizeof frame) != 0)
            break;
    }
    tc_msg ping;
    tc_msg_init(&ping, TC_MSG_PING);
    ping.u.ping.nonce = 4242;
    if (raw_send(&r, &ping) != 0) {
        j->closed = true;
        goto out;
    }
    for (;;) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        int rc = raw_recv(&r, &t, &p, &n);
        if (rc != 0) {
            j->closed = rc == -1;
            break;
        }
        tc_msg m;
        bool pong = t == TC_MSG_PONG && tc_msg_decode(&m, t, p, n) == 0 && m.u.ping.nonce == 4242;
        if (t == TC_MSG_REJECT && tc_msg_decode(&m, t, p, n) == 0)
            j->reject = m.u.reject.code;
        free(p);
        if (pong) {
            j->served = true;
            break;
        }
    }
out:
    raw_close(&r);
    atomic_store(&j->done, 1);
    return NULL;
}

static bool peer_done(void *arg)
{
    return atomic_load(&((peer_job *)arg)->done) != 0;
}

static void run_peer(struct event_base *base, peer_job *j, uint16_t port, uint8_t seed,
                     uint32_t protocol, int n_unknown)
{
    memset(j, 0, sizeof *j);
    j->port = port;
    j->protocol = protocol;
    j->n_unknown = n_unknown;
    uint8_t s[32];
    memset(s, seed, sizeof s);
    tc_keypair_from_seed(&j->kp, s);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, peer_thread, j), 0);
    bool ok = run_until(base, peer_done, j, 15000);
    pthread_join(th, NULL);
    assert_true(ok);
    run_for(base, 50);
}

/* Connects from 127.0.1.1 (another /24 of the loopback net than the honest
 * peers' 127.0.0.1) as fast as it can, until told to stop. */
typedef struct {
    uint16_t port;
    atomic_int stop;
    int attempts, connected;
} flood_job;

static void *flood_thread(void *arg)
{
    flood_job *j = arg;
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.1.1", &src.sin_addr);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.sin_port = htons(j->port);
    while (!atomic_load(&j->stop) && j->attempts < 20000) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            break;
        struct linger lg = {1, 0}; /* reset on close: no TIME_WAIT pile-up */
        struct timeval tv = {0, 200000};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        j->attempts++;
        if (bind(fd, (struct sockaddr *)&src, sizeof src) == 0 &&
            connect(fd, (struct sockaddr *)&dst, sizeof dst) == 0)
            j->connected++;
        close(fd);
    }
    return NULL;
}

/* Issue 11, attack 5: one address flooding new connections must not keep a
 * new honest peer from another address out. Its group is refused before it
 * takes the node's total, and a flood that goes on is banned by IP (with
 * loopback bans on; without, only throttled). With the old global-only
 * limit (group limits 0) the honest handshake never happens. */
static void test_inbound_flood(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    for (int round = 0; round < 2; round++) {
        node b;
        node_init(&b);
        tc_p2p_config cb;
        node_config(&b, &cb);
        tc_p2p_config d;
        tc_p2p_config_default(&d);
        cb.inbound_per_minute = d.inbound_per_minute; /* 30 */
        cb.inbound_per_group = d.inbound_per_group;   /* 8, burst 4 */
        cb.max_inbound_per_group = d.max_inbound_per_group;
        cb.ban_addresses = true;
        cb.ban_loopback = round == 1;
        node_start_cfg(&b, base, 2, &cb);
        flood_job f = {.port = tc_p2p_listen_port(b.p)};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, flood_thread, &f), 0);
        /* far more than the total of 30 a minute, before the honest peer comes */
        uint64_t want = 200;
        void *arg[2] = {b.p, &want};
        bool flooding = run_until(base, refused_at_least, arg, 5000);
        peer_job h;
        run_peer(base, &h, tc_p2p_listen_port(b.p), 40 + (uint8_t)round, TC_PROTOCOL_VERSION, 0);
        atomic_store(&f.stop, 1);
        pthread_join(th, NULL);
        run_for(base, 50);
        assert_true(flooding);
        assert_true(h.handshake_ok);
        assert_true(h.served);
        tc_p2p_stats s;
        tc_p2p_get_stats(b.p, &s);
        if (getenv("TC_DEBUG"))
            fprintf(stderr, "flood: %d attempts, %d connected; node accepted %llu refused %llu\n",
                    f.attempts, f.connected, (unsigned long long)s.accepted,
                    (unsigned long long)s.refused);
        /* the flooder got its group's burst and a little refill, no more */
        assert_in_range(s.accepted, 2, 8);
        assert_false(tc_p2p_is_banned(b.p, "127.0.0.1"));
        assert_true(tc_p2p_is_banned(b.p, "127.0.1.1") == (round == 1));
        tc_keypair_wipe(&h.kp);
        node_stop(&b);
    }
    event_base_free(base);
}

static int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    close(fd);
    return fd;
}

static void set_soft_limit(rlim_t soft)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = soft;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    tc_fdlimit_refresh();
}

static bool accepted_at_least(void *arg)
{
    void **a = arg;
    tc_p2p_stats s;
    tc_p2p_get_stats(a[0], &s);
    return s.accepted >= *(uint64_t *)a[1];
}

/* Descriptors: an inbound socket that would leave fewer than the reserve is
 * closed at once; accept() failing with EMFILE pauses the listener (a few
 * times a second at most, never a spin); outbound dials stop short of the
 * reserve, validator links only at its inner part; all resumes once
 * descriptors are back. */
static void test_descriptor_reserve(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b;
    node_start(&a, base, 1);
    node_start(&b, base, 2);
    uint16_t port = tc_p2p_listen_port(b.p);
    struct rlimit orig;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &orig), 0);
    tc_p2p_stats s0, s1;
    tc_p2p_get_stats(b.p, &s0);

    /* low: the client's socket takes L, the accepted one L + 1 */
    int low = lowest_free_fd();
    set_soft_limit((rlim_t)low + TC_FDLIMIT_RESERVE + 1);
    int fd = tcp_connect(port);
    assert_true(fd >= 0);
    run_for(base, 100);
    char byte;
    assert_int_equal(read(fd, &byte, 1), 0); /* closed at once */
    close(fd);
    tc_p2p_get_stats(b.p, &s1);
    assert_int_equal(s1.refused_fd - s0.refused_fd, 1);
    assert_int_equal(s1.accept_pauses - s0.accept_pauses, 1);

    /* out: accept() itself fails; the listener pauses, doubling */
    set_soft_limit((rlim_t)low + 1);
    fd = tcp_connect(port); /* waits in the backlog */
    assert_true(fd >= 0);
    run_for(base, 1500);
    tc_p2p_get_stats(b.p, &s0);
    assert_in_range(s0.accept_pauses - s1.accept_pauses, 1, 5);
    assert_int_equal(s0.accepted, s1.accepted);

    /* outbound: ordinary dials keep out of the reserve, the mesh may use part */
    set_soft_limit((rlim_t)low + TC_FDLIMIT_RESERVE);
    char ab[64];
    addr_of(&b, ab, sizeof ab);
    assert_int_equal(tc_p2p_connect(a.p, ab), TC_ELIMIT);
    const char *mesh[] = {ab};
    tc_p2p_set_mesh(a.p, mesh, 1);
    assert_int_equal(tc_p2p_connect(a.p, ab), 0);

    /* descriptors back: the waiting client is accepted, the mesh link comes up */
    set_soft_limit(orig.rlim_cur);
    uint64_t want = s0.accepted + 1;
    void *arg[2] = {b.p, &want};
    assert_true(run_until(base, accepted_at_least, arg, 6000));
    close(fd);
    pair_want w = {&a, &b, 1, 1};
    assert_true(run_until(base, counts_are, &w, 8000));
    node_stop(&a);
    node_stop(&b);
    event_base_free(base);
}

/* Forward compatibility: a peer announcing a newer protocol is accepted, and
 * a message type we do not know from it is skipped and counted, not a ban
 * (its control-class token still taken: flooding them bans for rate). From
 * a peer of our own version an unknown type stays a violation. */
static void test_newer_protocol_peer(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node b;
    node_start(&b, base, 2);
    uint16_t port = tc_p2p_listen_port(b.p);
    peer_job j;
    run_peer(base, &j, port, 50, TC_PROTOCOL_VERSION + 1, 3);
    assert_true(j.handshake_ok);
    assert_true(j.served);
    assert_false(key_banned(&b, &j.kp.pk));
    tc_p2p_stats s;
    tc_p2p_get_stats(b.p, &s);
    assert_int_equal(s.unknown_msgs, 3);
    assert_int_equal(s.bans, 0);

    /* same version: a violation */
    run_peer(base, &j, port, 51, TC_PROTOCOL_VERSION, 1);
    assert_true(j.handshake_ok);
    assert_false(j.served);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_MSG_TYPE);
    assert_true(key_banned(&b, &j.kp.pk));

    /* a flood of them from a newer peer: dropped past the bucket, then banned */
    run_peer(base, &j, port, 52, TC_PROTOCOL_VERSION + 1, 400);
    assert_true(j.handshake_ok);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_RATE);
    assert_true(key_banned(&b, &j.kp.pk));
    tc_p2p_get_stats(b.p, &s);
    assert_true(s.dropped[TC_MC_CONTROL] >= 100);
    assert_true(s.unknown_msgs < 3 + 100);

    /* older than we speak with: refused at the handshake */
    if (TC_PROTOCOL_MIN_VERSION > 1) {
        run_peer(base, &j, port, 53, TC_PROTOCOL_MIN_VERSION - 1, 0);
        assert_false(j.handshake_ok);
    }
    tc_keypair_wipe(&j.kp);
    node_stop(&b);
    event_base_free(base);
}

int main(void)
{
    if (tc_crypto_init() != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN); /* raw clients write to sockets the node closed */
    tc_log_setup(getenv("TC_DEBUG") ? TC_LOG_DEBUG : TC_LOG_ERROR, TC_LOG_LOGFMT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_classes),
        cmocka_unit_test(test_handshake_and_every_message),
        cmocka_unit_test(test_large_frames_keep_order),
        cmocka_unit_test(test_tx_credit_bounded),
        cmocka_unit_test(test_hostile_clients),
        cmocka_unit_test(test_mitm_fails),
        cmocka_unit_test(test_self_and_duplicate),
        cmocka_unit_test(test_relay_never_echoes),
        cmocka_unit_test(test_setban_and_address_bans),
        cmocka_unit_test(test_persistent_identity),
        cmocka_unit_test(test_inbound_limits),
        cmocka_unit_test(test_autodial_and_reconnect),
        cmocka_unit_test(test_bans_survive_restart),
        cmocka_unit_test(test_validator_mesh),
        cmocka_unit_test(test_inbound_flood),
        cmocka_unit_test(test_newer_protocol_peer),
        cmocka_unit_test(test_descriptor_reserve),
        cmocka_unit_test(test_address_gossip),
        cmocka_unit_test(test_outbound_group_diversity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
