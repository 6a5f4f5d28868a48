/* The in-process P2P harness of test_p2p_link.c and test_p2p_peers.c:
 * tc_p2p nodes on one event_base over 127.0.0.1 with ephemeral ports, an
 * in-memory net store each; message vectors from the fuzz seed corpus; and
 * raw clients (blocking OpenSSL in a helper thread) that speak the
 * protocol byte by byte, honestly or as one of the attacks. */
#ifndef TC_TEST_P2PLINK_H
#define TC_TEST_P2PLINK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "net/msg.h"
#include "net/netstore.h"
#include "net/p2p.h"
#include "util/buf.h"

#define PL_CHAIN 3u /* the test network's chain id */
extern const uint8_t PL_MAGIC[4];

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

typedef struct {
    node *a, *b;
    size_t na, nb;
} pair_want;

typedef struct {
    uint16_t type;
    uint8_t *p;
    size_t len;
} vector;

typedef struct {
    int fd;
    SSL *ssl;
    SSL_CTX *ctx;
    uint8_t exporter[32];
    tc_pubkey server_key;
} raw_conn;

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

/* One raw client run (pl_run_job): the attack, and what happened. */
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

/* ---- nodes: pl_node_start = pl_node_init, pl_node_config, pl_node_start_cfg -- */

/* Folds a message's type and encoding e into h (what every node does with
 * every message it gets; a sender does it with what it sends). */
void pl_digest_msg(tc_hasher *h, uint16_t type, const tc_buf *e);
void pl_node_init(node *n);
/* The test defaults: listen on 127.0.0.1:0, short timers, no autodial, no
 * address bans or per-group limits (every client shares 127.0.0.1). */
void pl_node_config(node *n, tc_p2p_config *c);
/* The node key from seed, then tc_p2p_new with c (fails the test on error). */
void pl_node_start_cfg(node *n, struct event_base *base, uint8_t seed, tc_p2p_config *c);
void pl_node_start(node *n, struct event_base *base, uint8_t seed);
void pl_node_stop(node *n);
void pl_addr_of(const node *n, char *out, size_t len);
/* Runs the loop until cond holds (true) or timeout_ms passes (false). */
bool pl_run_until(struct event_base *b, bool (*cond)(void *), void *arg, uint64_t timeout_ms);
void pl_run_for(struct event_base *b, uint64_t ms);
/* pair_want's link counts are reached. */
bool pl_counts_are(void *arg);
/* a dials b; true once each has one more link. */
bool pl_connect_pair(struct event_base *base, node *a, node *b);
/* The id of the first established peer (0: none). */
uint64_t pl_first_peer(tc_p2p *p);
bool pl_key_banned(node *n, const tc_pubkey *k);

/* ---- vectors: one encoded message of each type (fuzz/corpus/fuzz_msg) ----- */
size_t pl_load_vectors(vector *v, size_t max);
/* The vector of a type among v[0..n) (fails the test if there is none). */
const vector *pl_find_vector(const vector *v, size_t n, uint16_t type);

/* ---- raw clients: 0 or -1 each ---------------------------------------------- */
int pl_tcp_connect(uint16_t port);
int pl_raw_open(raw_conn *r, uint16_t port, const tc_keypair *kp);
void pl_raw_close(raw_conn *r);
int pl_raw_write(raw_conn *r, const void *p, size_t n);
int pl_raw_send(raw_conn *r, const tc_msg *m);
int pl_raw_recv(raw_conn *r, uint16_t *type, uint8_t **out, size_t *len);
/* version (at protocol) and verack both ways, the version signed over the
 * TLS exporter with kp. */
int pl_raw_handshake_v(raw_conn *r, const tc_keypair *kp, uint32_t protocol);
/* Runs j->atk on a helper thread while the loop runs; fails the test if it
 * does not end within 15 s. */
void pl_run_job(struct event_base *base, raw_job *j);

/* ---- waits and attacks ------------------------------------------------------ */

typedef struct {
    node *n;
    size_t field; /* offsetof a uint64_t in tc_p2p_stats */
    uint64_t min;
} stat_want;

/* The stat_want's counter is at least its min. */
bool pl_stat_reached(void *arg);
/* Runs the loop until node np's tc_p2p_stats field f reaches atleast (fails the test after ms). */
#define WAIT_STAT(base, np, f, atleast, ms)                                                        \
    do {                                                                                            \
        stat_want w_ = {(np), offsetof(tc_p2p_stats, f), (atleast)};                                \
        assert_true(pl_run_until((base), pl_stat_reached, &w_, (ms)));                              \
    } while (0)

/* A raw client from a key of seed runs atk against b (fails the test if it could not be delivered). */
void pl_hostile(struct event_base *base, node *b, raw_job *j, enum attack atk, uint8_t seed);
/* The tc_p2p (arg) has no links at all. */
bool pl_no_conns(void *arg);

#endif
