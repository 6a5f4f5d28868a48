#include "net/peer.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <sodium.h>

#include "net/tlscert.h"
#include "util/clock.h"
#include "util/fdlimit.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/version.h"

#define KNOWN_CAP 8192                        /* inventory hashes remembered per peer */
#define MAX_OUTPUT_QUEUE (64u * 1024 * 1024)  /* a peer that does not read is dropped */
#define PREHANDSHAKE_MAX_FRAME 4096 /* a version is a few hundred bytes */

/* The link is driven by hand instead of through bufferevent_openssl, whose
 * reads went record by record (two recv() per 16 KiB, OpenSSL read-ahead
 * being unusable with libevent 2.1) into evbuffers that were then copied
 * into a payload buffer freshly allocated per frame. Here our BIO reads the
 * socket up to IN_MAX bytes per recv() and hands OpenSSL each record as it
 * asks for it (OpenSSL's own read-ahead moves what is left in its buffer to
 * the front before every record, which cost more than the AES at 256 KiB),
 * and SSL_read hands each decrypted record straight to the frame parser's
 * payload buffer, which is kept between frames; the sending side is
 * described at "output chunks". */
#define IN_MIN (17u * 1024)        /* input buffer of a quiet link: one full record */
#define IN_MAX (256u * 1024)       /* ... grown to this while recv() fills it */
#define READ_BUDGET (4u << 20)     /* bytes read per wakeup before other links get a turn */
#define CHUNK_SIZE (256u * 1024)   /* encrypted output gathered per chunk for writev() */
#define SPARE_MAX 64               /* output chunks kept for reuse (16 MiB) */
#define GATHER_MAX (64u * 1024)    /* small frames are gathered for one SSL_write of this size, */
#define GATHER_FRAME (16u * 1024)  /* ... frames expected below this size */
#define TRIM_KEEP (64u * 1024)     /* payload buffer an idle link keeps */
#define MAX_REFS 8                 /* large objects of a frame sealed where they lie; more are copied */

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

/* ---- output chunks ----------------------------------------------------------- */

/* TLS records are not written to the socket one by one (one write() per
 * 16 KiB record made the kernel a third of the sending thread in bench/net):
 * OpenSSL writes them into this peer's output chunks through our write BIO,
 * and whole chunks go out with writev(). A chunk is kept for reuse when it
 * has been written: fresh 256 KiB allocations are page-faulted in (and zeroed
 * by the kernel) every time. */
struct tc_outchunk {
    tc_peer_env *env;
    tc_outchunk *next; /* in env->spare */
    size_t len;
    uint8_t data[CHUNK_SIZE];
};

static tc_outchunk *chunk_take(tc_peer_env *env)
{
    tc_outchunk *k = env->spare;
    if (k) {
        env->spare = k->next;
        env->n_spare--;
    } else {
        k = tc_xmalloc(sizeof *k);
        k->env = env;
    }
    if (++env->chunks_out > env->chunks_peak)
        env->chunks_peak = env->chunks_out;
    k->len = 0;
    return k;
}

static void chunk_give(tc_outchunk *k)
{
    tc_peer_env *env = k->env;
    env->chunks_out--;
    if (env->n_spare >= SPARE_MAX) {
        free(k);
        return;
    }
    k->next = env->spare;
    env->spare = k;
    env->n_spare++;
}

/* evbuffer cleanup: the chunk is written (or the link gone). */
static void chunk_done(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    chunk_give(arg);
}

/* Hands the chunk being filled (never empty: bio_write takes one only to
 * put bytes in it) to the output queue. */
static void chunk_queue(tc_peer *c)
{
    tc_outchunk *k = c->ctail;
    c->ctail = NULL;
    if (evbuffer_add_reference(c->out, k->data, k->len, chunk_done, k) != 0)
        abort(); /* out of memory (tc_xmalloc's policy) */
}

/* Frees spare chunks until at most keep are left. */
static void spare_trim(tc_peer_env *env, size_t keep)
{
    while (env->n_spare > keep) {
        tc_outchunk *k = env->spare;
        env->spare = k->next;
        env->n_spare--;
        free(k);
    }
}

void tc_peer_reap(tc_peer_env *env, uint64_t now)
{
    tc_peer *next;
    for (tc_peer *c = env->closing; c; c = next) {
        next = c->next;
        if (elapsed(now, c->closing_mono) >= 1000)
            tc_peer_free(c);
    }
    /* Spares beyond what was in use at once since the last reap go back. */
    spare_trim(env, env->chunks_peak > env->chunks_out ? env->chunks_peak - env->chunks_out : 0);
    env->chunks_peak = env->chunks_out;
    if (env->big_frames == 0)
        tc_buf_release(&env->scratch);
    env->big_frames = 0;
}

void tc_peer_env_release(tc_peer_env *env)
{
    spare_trim(env, 0);
    tc_buf_release(&env->scratch);
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
    if (c->rev)
        event_free(c->rev);
    if (c->wev)
        event_free(c->wev);
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    ERR_clear_error();
    if (c->out)
        evbuffer_free(c->out);
    if (c->ctail)
        chunk_give(c->ctail);
    tc_buf_release(&c->pend);
    free(c->inv_pend);
    tc_frame_parser_release(&c->fp);
    free(c->in);
    tc_knownset_free(c->known);
    sodium_memzero(&c->hs, sizeof c->hs);
    free(c);
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
    /* Lingers: input is read and discarded (closing a socket with unread
     * input makes the kernel send a reset, which can destroy the reject
     * before the peer reads it); once the reject is out our side half-closes
     * so the peer reads it and then sees EOF, and c goes when the peer closes
     * too, or at the reaping tick. */
    unlink_peer(c);
    c->closing = true;
    c->closing_mono = tc_clock_mono_ms();
    c->next = env->closing;
    env->closing = c;
}

/* ---- the BIO ------------------------------------------------------------------ */

/* OpenSSL reads the socket and writes its output through this BIO.
 *
 * Reading: a recv() of up to in_cap bytes fills c->in, from which OpenSSL
 * takes a record header and then the record (read-ahead is off), so a
 * record costs one copy out of a buffer that is still in cache, not a
 * system call. A buffer that recv() filled is doubled, up to IN_MAX; a quiet
 * link's is freed at the tick.
 *
 * Writing: OpenSSL's output (records, alerts, handshake flights) is appended
 * to the peer's chunks; it never blocks, so SSL_write and SSL_do_handshake
 * never want a writable socket: flush_out and write_cipher deal with the
 * socket. */
static int bio_read(BIO *b, char *data, size_t len, size_t *done)
{
    tc_peer *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    *done = 0;
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
        if (c->in_cap == 0 || (c->in_full && c->in_cap < IN_MAX)) {
            size_t cap = c->in_cap ? 2 * c->in_cap : IN_MIN;
            free(c->in);
            c->in_cap = cap < IN_MAX ? cap : IN_MAX;
            c->in = tc_xmalloc(c->in_cap);
        }
        ssize_t n = recv(c->fd, c->in, c->in_cap, 0);
        if (n == 0) {
            c->in_eof = true;
            return 0;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                BIO_set_retry_read(b);
            return 0; /* else a broken link: SSL_ERROR_SYSCALL */
        }
        c->in_len = (size_t)n;
        c->in_full = c->in_len == c->in_cap;
        c->in_used = true;
    }
    size_t n = c->in_len - c->in_off < len ? c->in_len - c->in_off : len;
    memcpy(data, c->in + c->in_off, n);
    c->in_off += n;
    *done = n;
    return 1;
}

/* Input read from the socket that OpenSSL has not taken yet (it does not
 * make the socket readable again). */
static bool in_buffered(const tc_peer *c)
{
    return c->in_off < c->in_len;
}

static int bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
    tc_peer *c = BIO_get_data(b);
    *written = len;
    while (len > 0) {
        if (c->ctail == NULL)
            c->ctail = chunk_take(c->env);
        tc_outchunk *k = c->ctail;
        size_t n = CHUNK_SIZE - k->len < len ? CHUNK_SIZE - k->len : len;
        memcpy(k->data + k->len, data, n);
        k->len += n;
        data += n;
        len -= n;
        if (k->len == CHUNK_SIZE)
            chunk_queue(c);
    }
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    tc_peer *c = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH: /* writing happens in write_cipher */
        return 1;
    case BIO_CTRL_EOF: /* with SSL_OP_IGNORE_UNEXPECTED_EOF, a plain close */
        return c->in_eof;
    case BIO_CTRL_PENDING:
        return (long)(c->in_len - c->in_off);
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* One method for the process (read-only once made; BIO type indexes are a
 * small global space, so not one per manager). */
static BIO_METHOD *g_bio_method;

static void bio_method_make(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tc_peer");
    if (m == NULL || BIO_meth_set_read_ex(m, bio_read) != 1 || BIO_meth_set_write_ex(m, bio_write) != 1 ||
        BIO_meth_set_ctrl(m, bio_ctrl) != 1 || BIO_meth_set_create(m, bio_create) != 1) {
        BIO_meth_free(m);
        return;
    }
    g_bio_method = m;
}

static BIO_METHOD *bio_method(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, bio_method_make);
    return g_bio_method;
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

static void set_write(tc_peer *c, bool on)
{
    if (on == c->want_write)
        return;
    c->want_write = on;
    if (on)
        event_add(c->wev, NULL);
    else
        event_del(c->wev);
}

/* A TLS call failed for good: the peer closed (TC_ENET_CLOSED) or the link
 * broke (TC_ENET_TLS). Leaves the thread's OpenSSL error queue empty. */
static int link_error(int ssl_err)
{
    bool closed = ssl_err == SSL_ERROR_ZERO_RETURN ||
                  (ssl_err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0);
    ERR_clear_error();
    return closed ? TC_ENET_CLOSED : TC_ENET_TLS;
}

/* Encrypts n bytes of frames into the output chunks. A failure is kept in
 * c->seal_err for flush_out, which drops the link (the caller of
 * tc_peer_send may be walking the peer list). */
static void seal(tc_peer *c, const uint8_t *p, size_t n)
{
    while (n > 0 && c->seal_err == 0) {
        int want = n < INT32_MAX ? (int)n : INT32_MAX;
        ERR_clear_error();
        int k = SSL_write(c->ssl, p, want);
        if (k <= 0) {
            c->seal_err = link_error(SSL_get_error(c->ssl, k));
            return;
        }
        p += k;
        n -= (size_t)k;
    }
}

/* Encrypts the gathered small frames (TLS must be up). */
static void seal_pend(tc_peer *c)
{
    if (c->pend.len == 0)
        return;
    seal(c, c->pend.p, c->pend.len);
    c->pend.len = 0;
}

/* Small frames are gathered so that TLS records stay full; a large one is
 * encoded into the env's scratch buffer and encrypted at once, behind what
 * was gathered, its large chain objects straight from the message (a copy
 * of a 1 MiB block was a tenth of the sending thread in bench/net). Before
 * TLS is up everything waits in the gathering buffer. */
int tc_peer_send(tc_peer *c, const tc_msg *m)
{
    tc_peer_env *env = c->env;
    size_t hint = payload_hint(m);
    bool big = hint >= GATHER_FRAME && c->io == TC_PEER_OPEN;
    tc_buf *b = &c->pend;
    if (big) {
        b = &env->scratch;
        tc_buf_reset(b);
        tc_buf_extend(b, TC_FRAME_HEADER_SIZE + (hint < TC_FRAME_MAX_PAYLOAD ? hint : 0));
        b->len = 0;
        env->big_frames++;
    } else if (b->cap == 0) {
        tc_buf_extend(b, GATHER_MAX);
        b->len = 0;
    }
    size_t start = b->len;
    tc_buf_extend(b, TC_FRAME_HEADER_SIZE);
    tc_msg_ref refs[MAX_REFS];
    size_t n_refs = 0, payload;
    int err = big ? tc_msg_encode_refs(m, b, refs, MAX_REFS, &n_refs, &payload) : tc_msg_encode(m, b);
    if (err) {
        b->len = start;
        return err;
    }
    if (!big)
        payload = b->len - start - TC_FRAME_HEADER_SIZE;
    size_t total = TC_FRAME_HEADER_SIZE + payload;
    tc_frame_header_encode(b->p + start, env->cfg->magic, m->type, payload);
    if (big) {
        /* what was gathered, then the frame: the encoding in b with the
         * large objects sealed from where they lie, in between */
        seal_pend(c);
        size_t done = 0, skipped = 0;
        for (size_t i = 0; i < n_refs; i++) {
            size_t upto = TC_FRAME_HEADER_SIZE + refs[i].at - skipped;
            seal(c, b->p + done, upto - done);
            seal(c, refs[i].p, refs[i].len);
            done = upto;
            skipped += refs[i].len;
        }
        seal(c, b->p + done, b->len - done);
    } else if (b->len > GATHER_MAX - GATHER_FRAME && c->io == TC_PEER_OPEN) {
        seal_pend(c);
    }
    if (m->type == TC_MSG_GETDATA && m->u.inv.type == TC_INV_TX)
        (void)tc_txcredit_grant(&c->tx_credit, m->u.inv.n, tc_clock_mono_ms());
    uint16_t t = m->type < TC_MSG_TYPE_END ? m->type : 0;
    c->msgs_out++;
    c->bytes_out += total;
    c->st.msgs_out[t]++;
    c->st.bytes_out[t] += total;
    env->stats->msgs_out[t]++;
    env->stats->bytes_out[t] += total;
    if (c->io == TC_PEER_OPEN)
        set_write(c, true);
    return 0;
}

size_t tc_peer_queued(const tc_peer *c)
{
    return evbuffer_get_length(c->out) + c->pend.len + (c->ctail ? c->ctail->len : 0);
}

/* Writes the encrypted output until it is all out or the socket is full.
 * 0, or TC_ENET_CLOSED if the socket failed. */
static int write_cipher(tc_peer *c)
{
    if (c->ctail)
        chunk_queue(c);
    while (evbuffer_get_length(c->out) > 0) {
        int n = evbuffer_write_atmost(c->out, c->fd, -1);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            set_write(c, true);
            return 0;
        }
        return TC_ENET_CLOSED;
    }
    set_write(c, false);
    return 0;
}

/* Encrypts what was gathered and writes the output. Returns false if c was
 * dropped or freed. */
static bool flush_out(tc_peer *c)
{
    seal_pend(c);
    int err = c->seal_err ? c->seal_err : write_cipher(c);
    if (err) {
        if (c->closing)
            tc_peer_free(c);
        else
            drop(c, err, false);
        return false;
    }
    if (c->closing && !c->want_write && !c->shut_wr) {
        shutdown(c->fd, SHUT_WR);
        c->shut_wr = true;
    }
    return true;
}

/* ---- handshake ------------------------------------------------------------ */

/* TLS is up: identify the peer and send our version. Returns false if c was
 * dropped. */
static bool on_tls_up(tc_peer *c)
{
    tc_peer_env *env = c->env;
    tc_pubkey key;
    uint8_t exporter[32];
    if (tc_tlscert_peer_key(c->ssl, &key) != 0 || tc_tlscert_exporter(c->ssl, exporter) != 0) {
        ERR_clear_error();
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

    /* A type we do not know is a violation, unless an established peer
     * announced a newer protocol: then it is a message of that protocol,
     * skipped and counted (after its control-class token: no free flood). */
    bool newer = c->established && c->hs.peer.protocol > TC_PROTOCOL_VERSION;
    if (t == 0 && !newer) {
        drop(c, TC_ENET_MSG_TYPE, true);
        return false;
    }
    if (c->established) {
        enum tc_msg_class cls = tc_msg_class_of(type); /* control for an unknown type */
        /* A transaction we asked for is an answer, not gossip: at full load an
         * honest peer sends many more than the gossip rate. The credit is
         * capped and expires (net/txcredit.h), so getdatas a peer leaves
         * unanswered never add up to a licence to flood. */
        bool asked = type == TC_MSG_TX && tc_txcredit_take(&c->tx_credit, now);
        if (!asked && !tc_tokenbucket_take(&c->tb[cls], now)) {
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
    if (t == 0) {
        c->st.unknown_msgs++;
        env->stats->unknown_msgs++;
        return true;
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

/* Reads and handles frames until the socket has nothing more or the budget
 * is spent. Returns false if c was dropped. */
static bool read_frames(tc_peer *c)
{
    size_t done = 0;
    for (;;) {
        size_t want;
        uint8_t *dst = tc_frame_parser_space(&c->fp, &want);
        if (dst == NULL)
            abort(); /* frames are handled as soon as they are ready */
        ERR_clear_error();
        int k = SSL_read(c->ssl, dst, want < INT32_MAX ? (int)want : INT32_MAX);
        if (k <= 0) {
            int e = SSL_get_error(c->ssl, k);
            if (e != SSL_ERROR_WANT_READ) {
                drop(c, link_error(e), false);
                return false;
            }
            if (c->ctail) /* what TLS itself answered (a key update) */
                set_write(c, true);
            return true;
        }
        done += (size_t)k;
        int rc = tc_frame_parser_commit(&c->fp, (size_t)k);
        if (rc < 0) {
            drop(c, rc, true);
            return false;
        }
        if (rc == 1) {
            uint16_t type;
            const uint8_t *payload;
            size_t len;
            if (tc_frame_parser_peek(&c->fp, &type, &payload, &len) != 0)
                abort();
            if (!handle_frame(c, type, payload, len))
                return false;
            tc_frame_parser_next(&c->fp);
        }
        if (done >= READ_BUDGET) {
            /* Input already read does not make the socket readable. */
            if (in_buffered(c) || SSL_has_pending(c->ssl))
                event_active(c->rev, EV_READ, 0);
            return true;
        }
    }
}

/* Lingering: discards input until the peer closes. Frees c then. */
static void discard_input(tc_peer *c)
{
    uint8_t sink[16384];
    for (;;) {
        ERR_clear_error();
        int k = SSL_read(c->ssl, sink, sizeof sink);
        if (k > 0)
            continue;
        if (SSL_get_error(c->ssl, k) == SSL_ERROR_WANT_READ)
            return;
        ERR_clear_error();
        tc_peer_free(c);
        return;
    }
}

/* Drives the TLS handshake and writes what it produced; when it completes,
 * sends our version and reads what the peer sent along. */
static void drive_tls(tc_peer *c)
{
    ERR_clear_error();
    int k = SSL_do_handshake(c->ssl);
    if (k == 1) {
        c->io = TC_PEER_OPEN;
        if (on_tls_up(c) && flush_out(c))
            read_frames(c);
        return;
    }
    int e = SSL_get_error(c->ssl, k);
    int err = write_cipher(c); /* our flight, or the alert saying why not */
    if (e != SSL_ERROR_WANT_READ)
        err = link_error(e);
    if (err)
        drop(c, err, false);
}

static void connect_done(tc_peer *c)
{
    int so_err = 0;
    socklen_t len = sizeof so_err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so_err, &len) != 0 || so_err != 0) {
        drop(c, TC_ENET_CLOSED, false); /* refused or unreachable: no TLS yet */
        return;
    }
    c->io = TC_PEER_TLS;
    drive_tls(c);
}

static void read_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tc_peer *c = arg;
    if (c->closing) {
        discard_input(c);
        return;
    }
    if (c->io == TC_PEER_TLS) {
        drive_tls(c);
        return;
    }
    if (c->io == TC_PEER_OPEN)
        read_frames(c);
}

static void write_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tc_peer *c = arg;
    switch (c->io) {
    case TC_PEER_CONNECTING:
        connect_done(c);
        return;
    case TC_PEER_TLS: {
        int err = write_cipher(c); /* the rest of a handshake flight */
        if (err)
            drop(c, err, false);
        return;
    }
    case TC_PEER_OPEN:
        flush_out(c);
        return;
    }
}

/* ---- setup ------------------------------------------------------------------- */

/* Binds c to its socket: events, and TLS reading through our BIO from it and
 * writing into the output chunks. False on failure. */
static bool attach_fd(tc_peer *c, int fd)
{
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rev = event_new(c->env->base, fd, EV_READ | EV_PERSIST, read_ev_cb, c);
    c->wev = event_new(c->env->base, fd, EV_WRITE | EV_PERSIST, write_ev_cb, c);
    BIO_METHOD *m = bio_method();
    BIO *bio = m ? BIO_new(m) : NULL;
    if (bio == NULL) {
        ERR_clear_error();
        return false;
    }
    BIO_set_data(bio, c);
    SSL_set_bio(c->ssl, bio, bio); /* one reference for both */
    if (c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) != 0) {
        ERR_clear_error();
        return false;
    }
    return true;
}

tc_peer *tc_peer_new(tc_peer_env *env, int fd, bool inbound, const char *ip, const char *addr)
{
    SSL *ssl = SSL_new(env->ssl_ctx);
    if (ssl == NULL) {
        ERR_clear_error();
        return NULL;
    }
    SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF); /* a plain close is EOF */
    if (inbound)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    tc_peer *c = tc_xcalloc(1, sizeof *c);
    c->env = env;
    c->fd = -1;
    c->ssl = ssl;
    c->out = evbuffer_new();
    tc_buf_init(&c->pend);
    c->io = inbound ? TC_PEER_TLS : TC_PEER_CONNECTING;
    c->inbound = inbound;
    tc_frame_parser_init(&c->fp, env->cfg->magic);
    if (c->out == NULL || (inbound && !attach_fd(c, fd))) {
        c->fd = -1; /* the caller closes an inbound fd */
        tc_peer_free(c);
        return NULL;
    }
    c->id = ++env->next_id;
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    uint64_t now = tc_clock_mono_ms();
    c->start_mono = c->last_recv_mono = now;
    c->connected_wall = tc_clock_wall_ms();
    tc_frame_parser_set_max(&c->fp, PREHANDSHAKE_MAX_FRAME);
    tc_hs_config hc = {.chain_id = env->cfg->chain_id,
                       .genesis = env->cfg->genesis,
                       .local_nonce = env->nonce,
                       .min_protocol = TC_PROTOCOL_MIN_VERSION,
                       .max_protocol = TC_PROTOCOL_VERSION};
    tc_handshake_init(&c->hs, &hc);
    for (int k = 0; k < TC_MC_COUNT; k++)
        tc_tokenbucket_init(&c->tb[k], env->cfg->rates[k].rate, env->cfg->rates[k].burst, now);
    tc_banscore_init(&c->score, now);
    tc_txcredit_init(&c->tx_credit, env->cfg->tx_credit_max, env->cfg->tx_credit_ms, now);
    c->known = tc_knownset_new(KNOWN_CAP);
    c->next = env->live;
    env->live = c;
    return c;
}

int tc_peer_connect(tc_peer *c, const struct sockaddr *sa, int salen, unsigned fd_reserve)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        drop(c, TC_ENET_CLOSED, false);
        return TC_ENET_CLOSED;
    }
    if (tc_fdlimit_low(fd, fd_reserve)) { /* the store and sign log need theirs */
        close(fd);
        drop(c, TC_ELIMIT, false);
        return TC_ELIMIT;
    }
    if (!attach_fd(c, fd) ||
        (connect(fd, sa, (socklen_t)salen) != 0 && errno != EINPROGRESS)) {
        drop(c, TC_ENET_CLOSED, false);
        return TC_ENET_CLOSED;
    }
    set_write(c, true); /* writable: connected (or failed, see connect_done) */
    return 0;
}

/* ---- housekeeping ---------------------------------------------------------- */

void tc_peer_tick(tc_peer *c, uint64_t now)
{
    const tc_p2p_config *cfg = c->env->cfg;
    tc_frame_parser_trim(&c->fp, TRIM_KEEP);
    if (c->in_cap > 0 && !c->in_used && !in_buffered(c)) { /* quiet: allocated again at need */
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
        c->in_full = false;
    }
    c->in_used = false;
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
    if (c->established) {
        o->protocol = c->hs.peer.protocol;
        snprintf(o->user_agent, sizeof o->user_agent, "%s", c->hs.peer.user_agent);
    }
}
