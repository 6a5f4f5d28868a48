/* The in-process P2P harness (p2plink.h). */
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

#include "p2plink.h"

const uint8_t PL_MAGIC[4] = {0xDE, 0x7E, 0x7E, 0x4D};

/* ---- nodes ---------------------------------------------------------------- */


/* Folds m's type and encoding e into h (what node_on_message does with
 * every message it gets; a sender does it with what it sends). */
void pl_digest_msg(tc_hasher *h, uint16_t type, const tc_buf *e)
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
        pl_digest_msg(&n->arrived, m->type, &n->last[m->type]);
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

void pl_node_config(node *n, tc_p2p_config *c)
{
    tc_p2p_config_default(c);
    c->node_key = &n->kp;
    memcpy(c->magic, PL_MAGIC, 4);
    c->chain_id = PL_CHAIN;
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

void pl_node_start_cfg(node *n, struct event_base *base, uint8_t seed, tc_p2p_config *c)
{
    uint8_t s[32];
    memset(s, seed, sizeof s);
    tc_keypair_from_seed(&n->kp, s);
    int err;
    n->p = tc_p2p_new(base, c, &err);
    if (n->p == NULL)
        fail_msg("tc_p2p_new: %s", tc_errname(err));
}

void pl_node_init(node *n)
{
    memset(n, 0, sizeof *n);
    n->mem = tc_netstore_mem_new();
    n->st = tc_netstore_mem_iface(n->mem);
    for (int i = 0; i < TC_MSG_TYPE_END; i++)
        tc_buf_init(&n->last[i]);
    tc_hasher_init(&n->arrived, TC_H_TXID) /* any domain: a test digest */;
}

void pl_node_start(node *n, struct event_base *base, uint8_t seed)
{
    pl_node_init(n);
    tc_p2p_config c;
    pl_node_config(n, &c);
    pl_node_start_cfg(n, base, seed, &c);
}

void pl_node_stop(node *n)
{
    tc_p2p_free(n->p);
    tc_netstore_mem_free(n->mem);
    for (int i = 0; i < TC_MSG_TYPE_END; i++)
        tc_buf_release(&n->last[i]);
    tc_keypair_wipe(&n->kp);
}

void pl_addr_of(const node *n, char *out, size_t len)
{
    snprintf(out, len, "127.0.0.1:%u", tc_p2p_listen_port(n->p));
}

/* Runs the loop until cond holds or timeout_ms passes. */
bool pl_run_until(struct event_base *b, bool (*cond)(void *), void *arg, uint64_t timeout_ms)
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

void pl_run_for(struct event_base *b, uint64_t ms)
{
    uint64_t end = tc_clock_mono_ms() + ms;
    while (tc_clock_mono_ms() < end) {
        struct timeval tv = {0, 2000};
        event_base_loopexit(b, &tv);
        event_base_dispatch(b);
    }
}


bool pl_counts_are(void *arg)
{
    pair_want *w = arg;
    return tc_p2p_count(w->a->p) == w->na && tc_p2p_count(w->b->p) == w->nb;
}

bool pl_connect_pair(struct event_base *base, node *a, node *b)
{
    char addr[64];
    pl_addr_of(b, addr, sizeof addr);
    size_t na = tc_p2p_count(a->p) + 1, nb = tc_p2p_count(b->p) + 1;
    if (tc_p2p_connect(a->p, addr) != 0)
        return false;
    pair_want w = {a, b, na, nb};
    return pl_run_until(base, pl_counts_are, &w, 5000);
}

uint64_t pl_first_peer(tc_p2p *p)
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

bool pl_key_banned(node *n, const tc_pubkey *k)
{
    char subj[TC_BAN_SUBJECT_MAX];
    tc_ban_subject_key(subj, k);
    return tc_p2p_is_banned(n->p, subj);
}

/* ---- message vectors: the fuzz seed corpus holds one of each type ---------- */


size_t pl_load_vectors(vector *v, size_t max)
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
const vector *pl_find_vector(const vector *v, size_t n, uint16_t type)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].type == type)
            return &v[i];
    fail_msg("no vector of type %u", (unsigned)type);
    return NULL;
}

/* ---- raw clients (helper thread, blocking) --------------------------------- */


int pl_tcp_connect(uint16_t port)
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

int pl_raw_open(raw_conn *r, uint16_t port, const tc_keypair *kp)
{
    memset(r, 0, sizeof *r);
    int err;
    r->ctx = tc_tlscert_ctx_new(kp, &err);
    r->fd = pl_tcp_connect(port);
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

void pl_raw_close(raw_conn *r)
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

int pl_raw_write(raw_conn *r, const void *p, size_t n)
{
    return SSL_write(r->ssl, p, (int)n) == (int)n ? 0 : -1;
}

int pl_raw_send(raw_conn *r, const tc_msg *m)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_buf_extend(&b, TC_FRAME_HEADER_SIZE);
    int rc = tc_msg_encode(m, &b);
    if (rc == 0) {
        tc_frame_header_encode(b.p, PL_MAGIC, m->type, b.len - TC_FRAME_HEADER_SIZE);
        rc = pl_raw_write(r, b.p, b.len);
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
int pl_raw_recv(raw_conn *r, uint16_t *type, uint8_t **out, size_t *len)
{
    uint8_t h[TC_FRAME_HEADER_SIZE];
    tc_frame_header fh;
    *out = NULL;
    int rc = read_full(r, h, sizeof h);
    if (rc != 0)
        return rc;
    if (tc_frame_header_decode(&fh, PL_MAGIC, h, sizeof h) != 0)
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
        int rc = pl_raw_recv(r, &t, &p, &n);
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
int pl_raw_handshake_v(raw_conn *r, const tc_keypair *kp, uint32_t protocol)
{
    tc_hash g;
    genesis_of(&g);
    tc_msg v;
    make_version_v(r, kp, r->exporter, PL_CHAIN, &g, protocol, &v);
    if (pl_raw_send(r, &v) != 0)
        return -1;
    bool got_version = false, got_verack = false;
    while (!(got_version && got_verack)) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        if (pl_raw_recv(r, &t, &p, &n) != 0)
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
    return pl_raw_send(r, &ack);
}

static int raw_handshake(raw_conn *r, const tc_keypair *kp)
{
    return pl_raw_handshake_v(r, kp, TC_PROTOCOL_VERSION);
}



static void *raw_thread(void *arg)
{
    raw_job *j = arg;
    raw_conn r;
    uint64_t t0 = tc_clock_mono_ms();
    tc_hash g;
    genesis_of(&g);
    if (j->atk == ATK_TCP_GARBAGE) {
        int fd = pl_tcp_connect(j->port);
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
    if (pl_raw_open(&r, j->port, &j->kp) != 0)
        goto out;
    j->setup_ok = true;
    tc_msg m;
    switch (j->atk) {
    case ATK_TLS_GARBAGE: {
        uint8_t junk[64];
        memset(junk, 0x5a, sizeof junk);
        j->setup_ok = pl_raw_write(&r, junk, sizeof junk) == 0;
        break;
    }
    case ATK_OVERSIZE: {
        uint8_t h[TC_FRAME_HEADER_SIZE];
        tc_frame_header_encode(h, PL_MAGIC, TC_MSG_VERSION, 16);
        tc_le32(h + 6, TC_FRAME_MAX_PAYLOAD + 1);
        j->setup_ok = pl_raw_write(&r, h, sizeof h) == 0;
        break;
    }
    case ATK_WRONG_GENESIS: {
        tc_hash other = g;
        other.b[0] ^= 0xff;
        make_version(&r, &j->kp, r.exporter, PL_CHAIN, &other, &m);
        j->setup_ok = pl_raw_send(&r, &m) == 0;
        break;
    }
    case ATK_BAD_SIG:
        make_version(&r, &j->kp, r.exporter, PL_CHAIN, &g, &m);
        m.u.version.sig.b[7] ^= 0x10;
        j->setup_ok = pl_raw_send(&r, &m) == 0;
        break;
    case ATK_REPLAY: {
        /* a version signed for this session, sent on another one */
        tc_msg captured;
        make_version(&r, &j->kp, r.exporter, PL_CHAIN, &g, &captured);
        pl_raw_close(&r);
        if (pl_raw_open(&r, j->port, &j->kp) != 0) {
            j->setup_ok = false;
            goto out;
        }
        j->setup_ok = pl_raw_send(&r, &captured) == 0;
        break;
    }
    case ATK_EARLY_MSG:
        tc_msg_init(&m, TC_MSG_GETPEERS);
        j->setup_ok = pl_raw_send(&r, &m) == 0;
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
            if (pl_raw_send(&r, &m) != 0)
                break;
        if (j->atk == ATK_SMALL_FLOOD) {
            /* count the answers, then leave politely */
            for (;;) {
                uint16_t t;
                uint8_t *p;
                size_t len;
                if (pl_raw_recv(&r, &t, &p, &len) != 0)
                    break;
                free(p);
                if (t == TC_MSG_PEERS)
                    j->served++;
                else if (t == TC_MSG_PING) {
                    tc_msg pong;
                    tc_msg_init(&pong, TC_MSG_PONG);
                    if (pl_raw_send(&r, &pong) != 0)
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
            if (pl_raw_send(&r, &m) != 0)
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
    pl_raw_close(&r);
    atomic_store(&j->done, 1);
    return NULL;
}

static bool job_done(void *arg)
{
    return atomic_load(&((raw_job *)arg)->done) != 0;
}

void pl_run_job(struct event_base *base, raw_job *j)
{
    pthread_t th;
    atomic_store(&j->done, 0);
    assert_int_equal(pthread_create(&th, NULL, raw_thread, j), 0);
    bool ok = pl_run_until(base, job_done, j, 15000);
    pthread_join(th, NULL);
    assert_true(ok);
    pl_run_for(base, 50); /* let the server finish its side */
}

bool pl_stat_reached(void *arg)
{
    stat_want *w = arg;
    tc_p2p_stats s;
    tc_p2p_get_stats(w->n->p, &s);
    uint64_t v;
    memcpy(&v, (const uint8_t *)&s + w->field, sizeof v);
    return v >= w->min;
}

void pl_hostile(struct event_base *base, node *b, raw_job *j, enum attack atk, uint8_t seed)
{
    memset(j, 0, sizeof *j);
    j->port = tc_p2p_listen_port(b->p);
    j->atk = atk;
    uint8_t s[32];
    memset(s, seed, sizeof s);
    tc_keypair_from_seed(&j->kp, s);
    pl_run_job(base, j);
    if (!j->setup_ok)
        fail_msg("attack %d could not be delivered", (int)atk);
}

bool pl_no_conns(void *arg)
{
    tc_peer_info *v;
    size_t n = tc_p2p_peers(arg, &v);
    free(v);
    return n == 0;
}
