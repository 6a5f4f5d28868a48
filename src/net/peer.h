/* One P2P connection (private to src/net; p2p.c is its only user): the TLS
 * link and its I/O, framing both ways, the version/verack handshake, per-peer
 * rate limits, ping/pong, counters, and the last `reject` before a close.
 *
 * The manager (p2p.c) owns the list of connections and the policy: whether a
 * certificate key is banned, duplicate links, bans and the address book. A
 * peer reports to it through the hooks in tc_peer_env. Everything runs on the
 * env's event loop thread. */
#ifndef TC_NET_PEER_H
#define TC_NET_PEER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "util/buf.h"

#include "net/banscore.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/knownset.h"
#include "net/netgroup.h"
#include "net/p2p.h"
#include "net/tokenbucket.h"
#include "net/txcredit.h"

typedef struct tc_peer tc_peer;
typedef struct tc_outchunk tc_outchunk;

/* What every peer of one manager shares; owned by the tc_p2p. */
typedef struct {
    struct event_base *base;
    SSL_CTX *ssl_ctx;
    const tc_p2p_config *cfg;
    const char *advertise;  /* listen address sent in version */
    const char *user_agent;
    uint64_t nonce;
    tc_p2p_stats *stats;    /* totals, counted by the peers */
    tc_peer *live;          /* the manager's connections */
    tc_peer *closing;       /* dropped, flushing a last reject */
    uint64_t next_id;
    tc_outchunk *spare;     /* written output chunks, for reuse */
    size_t n_spare;
    size_t chunks_out, chunks_peak; /* chunks in use: now, most since the last reap */
    tc_buf scratch;         /* encoding of one large frame, before TLS */
    size_t big_frames;      /* large frames since the last reap */

    /* Manager hooks. Each returns false if it dropped the peer. */
    void *mgr;
    /* TLS is up and c->hs.cert_key set: may the link go on? */
    bool (*tls_up)(void *mgr, tc_peer *c);
    /* The handshake completed: may the link stay (one per node key)? */
    bool (*admit)(void *mgr, tc_peer *c);
    /* c is established now: address book, the node. */
    bool (*established)(void *mgr, tc_peer *c);
    /* A message from an established peer that the link does not handle
     * itself (everything but version, verack, ping, pong). */
    bool (*message)(void *mgr, tc_peer *c, const tc_msg *m);
    /* Drop c for err (ban: it was a violation): the manager's policy, which
     * ends with tc_peer_close. */
    void (*drop)(void *mgr, tc_peer *c, int err, bool ban);
} tc_peer_env;

/* Where the link is: TCP connect (outbound), TLS handshake, open. */
enum tc_peer_io { TC_PEER_CONNECTING = 0, TC_PEER_TLS, TC_PEER_OPEN };

struct tc_peer {
    tc_peer_env *env;
    tc_peer *next;
    uint64_t id;
    int fd;
    SSL *ssl;
    struct event *rev, *wev; /* readable (always pending), writable (while needed) */
    enum tc_peer_io io;
    bool want_write;        /* wev is pending */
    bool shut_wr;           /* lingering: our side of the TCP stream closed */
    int seal_err;           /* SSL_write failed: the link is dropped at the flush */
    tc_buf pend;            /* small frames gathered for one SSL_write */
    tc_outchunk *ctail;     /* encrypted output being gathered */
    struct evbuffer *out;   /* encrypted output chunks for writev(), oldest first */
    uint8_t *in;            /* encrypted input read ahead of OpenSSL ... */
    size_t in_off, in_len, in_cap; /* ... its unread part [in_off, in_len) */
    bool in_full;           /* the last recv() filled in: grow it */
    bool in_used;           /* recv() ran since the last tick */
    bool in_eof;            /* the peer closed its side */
    bool inbound;
    bool tls_up; /* hs.cert_key is the peer's certificate key */
    bool established;
    uint16_t last_type;   /* type of the last frame received */
    bool closing;         /* lingering to flush a reject */
    uint64_t closing_mono;
    char addr[TC_MAX_NETADDR + 1]; /* remote ip:port */
    char ip[INET6_ADDRSTRLEN];
    tc_netgroup group;    /* source group of an inbound link (the manager's) */
    tc_frame_parser fp;
    tc_handshake hs;
    uint64_t start_mono, last_recv_mono, last_ping_mono;
    uint64_t ping_nonce, ping_sent_mono, ping_ms;
    uint64_t connected_wall;
    uint64_t height;
    tc_tokenbucket tb[TC_MC_COUNT];
    tc_banscore score;
    tc_knownset *known;
    tc_hash *inv_pend;  /* transaction hashes to announce at the next flush */
    size_t inv_n;       /* ≤ TC_MSG_MAX_INV */
    tc_txcredit tx_credit; /* transactions asked for (getdata) that may skip the gossip bucket */
    uint64_t getpeers_sent_mono;     /* our `getpeers` awaiting its answer (0: none) */
    uint64_t getpeers_answered_mono; /* when we last answered its `getpeers` (0: never) */
    uint64_t bytes_in, bytes_out, msgs_in, msgs_out, dropped;
    tc_p2p_stats st; /* per type */
};

/* A connection over fd (inbound, accepted) or a new socket (outbound: fd -1,
 * then tc_peer_connect), linked into env->live. NULL if TLS cannot be set up
 * (fd is then the caller's to close). */
tc_peer *tc_peer_new(tc_peer_env *env, int fd, bool inbound, const char *ip, const char *addr);
/* Starts the outbound TCP connect. 0, TC_ELIMIT (the new socket would leave
 * fewer than fd_reserve descriptors: tc_fdlimit_low) or TC_ENET_CLOSED; c is
 * dropped on failure. */
int tc_peer_connect(tc_peer *c, const struct sockaddr *sa, int salen, unsigned fd_reserve)
    TC_MUST_CHECK;
/* Unlinks and frees c at once (no reject, no hooks). */
void tc_peer_free(tc_peer *c);
/* Ends c after the manager's drop policy: a peer that can still hear us gets
 * a `reject` naming err and lingers on env->closing until it closes or
 * tc_peer_reap; otherwise c is freed at once. */
void tc_peer_close(tc_peer *c, int err);

/* Encodes and queues m. 0, a tc_msg_encode error, or TC_ENET_CLOSED. */
int tc_peer_send(tc_peer *c, const tc_msg *m) TC_MUST_CHECK;
/* Bytes waiting to go out (not yet handed to the socket). */
size_t tc_peer_queued(const tc_peer *c);

/* Housekeeping at now (mono ms): handshake and idle timeouts, an output
 * queue the peer does not read, keepalive ping. */
void tc_peer_tick(tc_peer *c, uint64_t now);
/* Frees lingering connections older than a second, the spare output
 * chunks beyond the most in use at once since the last call, and the
 * scratch encoding buffer if no large frame was sent since. */
void tc_peer_reap(tc_peer_env *env, uint64_t now);
/* Frees what env holds itself (after every peer is gone). */
void tc_peer_env_release(tc_peer_env *env);

void tc_peer_info_fill(tc_peer *c, tc_peer_info *out);

#endif
