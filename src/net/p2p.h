/* The peer-to-peer endpoint of a node: TLS 1.3 links authenticated by node
 * key (tlscert), the version/verack handshake (handshake), framing (frame),
 * per-peer token buckets and ban scores, bans (banlist), the address book
 * (addrbook), outbound connection upkeep, keepalive, relay with per-peer
 * known-inventory filters, counters and the peer-info / ban APIs.
 *
 * Runs on the caller's libevent event_base; every function and callback runs
 * on that loop's thread. The node sees established peers by id (never 0) and
 * gets every message that is not link-level (version, verack, ping, pong,
 * getpeers, peers are handled here) through on_message. */
#ifndef TC_NET_P2P_H
#define TC_NET_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "net/msg.h"
#include "net/netstore.h"
#include "util/err.h"

/* Message classes, each with its own token bucket per peer. */
enum tc_msg_class {
    TC_MC_CONTROL = 0, /* verack, ping, pong, reject */
    TC_MC_REQUEST,     /* getpeers, getmasternodes, getblocks, gethash */
    TC_MC_GOSSIP,      /* peers, masternodes, heartbeat, inv, getdata, tx, evidence */
    TC_MC_CONSENSUS,   /* proposal, vote */
    TC_MC_RESPONSE,    /* block, blocks, hash */
    TC_MC_COUNT
};

/* Class of a message type (TC_MC_CONTROL for unknown types). */
enum tc_msg_class tc_msg_class_of(uint16_t type);
const char *tc_msg_class_name(enum tc_msg_class c);

typedef struct {
    uint32_t rate;  /* messages per second; 0 = unlimited */
    uint32_t burst;
} tc_rate;

typedef struct {
    /* identity and chain */
    const tc_keypair *node_key; /* borrowed: outlives the tc_p2p */
    uint8_t magic[4];
    uint32_t chain_id;
    tc_hash genesis;
    const char *datadir;    /* TLS certificate and key; NULL: fresh identity in memory */
    const char *listen;     /* "ip:port" (port 0: any free port); NULL: no listener */
    const char *advertise;  /* listen address sent in version (numeric, dialable: a
                               wildcard is ignored); NULL: the listener's unless it
                               is a wildcard, else none */
    const char *user_agent; /* NULL: TC_USER_AGENT */
    const char *const *routes; /* "ADDR=DIAL" dial overrides (net/route.h); copied */
    size_t n_routes;
    uint64_t nonce;         /* self-connection detection; 0: random */

    /* limits; 0 disables inbound_per_minute, ping_interval_ms and
     * idle_timeout_ms; max_inbound 0 refuses every inbound connection */
    uint32_t max_inbound;         /* 64 */
    uint32_t outbound_target;     /* 8 */
    uint32_t inbound_per_minute;  /* 30 new inbound connections per minute, in total */
    uint32_t inbound_per_group;   /* 8 per minute from one source group (/24, /64),
                                     burst 4, at most half the total; 0: no group rate */
    uint32_t max_inbound_per_group; /* 8 inbound connections from one group (validator
                                       addresses excepted); 0: no cap */
    uint32_t handshake_timeout_ms;/* 10 000 */
    uint32_t ping_interval_ms;    /* 30 000 */
    uint32_t idle_timeout_ms;     /* 90 000: silent peers dropped */
    uint32_t tick_ms;             /* housekeeping period: 1000 (must be > 0) */
    uint64_t ban_ms;              /* 24 h */
    bool ban_addresses;           /* a violation bans the IP too (true) */
    bool ban_loopback;            /* ... even a loopback IP (false: a local devnet
                                     must not partition itself over one bad node) */
    tc_rate rates[TC_MC_COUNT];   /* per peer and class */
    uint32_t drop_points;         /* ban-score points per rate-limited message (1) */
    uint32_t tx_credit_max;       /* transactions asked for by getdata that may skip the
                                     gossip bucket at once (TC_P2P_TX_CREDIT_MAX; 0: none) */
    uint32_t tx_credit_ms;        /* an item asked for counts this long at least and less
                                     than twice as long (TC_P2P_TX_CREDIT_MS; must be > 0) */
    uint32_t getpeers_interval_ms;/* a `getpeers` to one outbound peer this often while
                                     the book is small (TC_P2P_GETPEERS_EVERY_MS); 0: only
                                     after each outbound handshake */
    uint32_t ban_score;           /* score that bans (TC_BANSCORE_BAN) */

    const tc_netstore *store; /* bans and addresses; NULL: memory only */

    /* node callbacks */
    void *ctx;
    /* Best certified height for version / ping / pong (NULL: 0). */
    uint64_t (*best_height)(void *ctx);
    /* A message from established peer `peer`; m and its byte views are valid
     * during the call only. Return 0, or a TC_E* code for a clear violation
     * (invalid block, bad signature…): the peer is then disconnected and
     * banned. Out-of-sync behaviour must return 0. The callback may call any
     * tc_p2p_* function, including dropping this peer. */
    int (*on_message)(void *ctx, uint64_t peer, const tc_msg *m);
    /* A peer became established (up: called at once) or went away (down:
     * called from the event loop shortly after, never from inside a tc_p2p_*
     * call). */
    void (*on_peer)(void *ctx, uint64_t peer, bool up);
} tc_p2p_config;

/* Transaction credit defaults (docs/protocol.md §6): eight full getdatas
 * in flight, answered within 5 s (credit gone within 10 s). */
#define TC_P2P_TX_CREDIT_MAX (8u * 1024)
#define TC_P2P_TX_CREDIT_MS 5000u

/* Defaults of DESIGN.md §7 and issue 4; the caller fills identity and chain. */
void tc_p2p_config_default(tc_p2p_config *cfg);

typedef struct tc_p2p tc_p2p;

/* Creates the endpoint: TLS identity, bans and address book from the store,
 * the listener. Sets SIGPIPE to ignored if it still has its default action.
 * NULL with *err (TC_EINVAL, TC_ENET_ADDR, TC_EIO, TC_ECRYPTO, a store
 * error) on failure. cfg is copied; its strings need not outlive the call,
 * node_key and store must. */
tc_p2p *tc_p2p_new(struct event_base *base, const tc_p2p_config *cfg, int *err);
/* Closes every connection and the listener. NULL is a no-op. */
void tc_p2p_free(tc_p2p *p);

/* The port the listener is bound to (0 without one). */
uint16_t tc_p2p_listen_port(const tc_p2p *p);
/* This node's version nonce. */
uint64_t tc_p2p_nonce(const tc_p2p *p);

/* Whether addr is an address the node can dial: numeric "a.b.c.d:port" or
 * "[v6]:port", port not 0. 0 or TC_ENET_ADDR; never resolves a name, so a
 * config loader can check `connect` / `addnode` / `seednode` values with it. */
int tc_p2p_check_addr(const char *addr) TC_MUST_CHECK;
/* Adds an address to the book (source: enum tc_addr_source). TC_ENET_ADDR,
 * with an error logged naming it, unless tc_p2p_check_addr accepts it (no DNS
 * on the network thread); TC_ELIMIT when the book is full. */
int tc_p2p_add_address(tc_p2p *p, const char *addr, uint8_t source) TC_MUST_CHECK;

#define TC_P2P_MESH_MAX 50
#define TC_P2P_MESH_RETRY_MS 1000 /* a lost validator link is dialled again this often */

/* Address gossip (docs/protocol.md §8). `peers` is taken only as the answer
 * to a `getpeers` we sent that peer within TC_P2P_GETPEERS_TIMEOUT_MS, and of
 * it at most TC_P2P_PEERS_MAX addresses; any other `peers` is dropped,
 * counted and adds TC_P2P_UNSOLICITED_POINTS to the sender's ban score. A
 * peer's `getpeers` is answered once per TC_P2P_GETPEERS_ANSWER_MS. */
#define TC_P2P_PEERS_MAX 250
#define TC_P2P_GETPEERS_TIMEOUT_MS 60000u
#define TC_P2P_GETPEERS_ANSWER_MS (5u * 60 * 1000)
#define TC_P2P_GETPEERS_EVERY_MS (10u * 60 * 1000)
#define TC_P2P_BOOK_SMALL 1000 /* gossip entries below which the timer asks for more */
#define TC_P2P_UNSOLICITED_POINTS 10u
_Static_assert(TC_P2P_PEERS_MAX <= TC_MSG_MAX_PEERS, "a reply fits the wire limit");

/* The network addresses of the current validator set (from chain data). While
 * the set has at most TC_P2P_MESH_MAX members a validator keeps a link to
 * every one of them, beyond the outbound target (with the same backoff);
 * larger sets only feed the address book. Replaces the previous list; the
 * node's own address is skipped. Invalid addresses are ignored. */
void tc_p2p_set_mesh(tc_p2p *p, const char *const *addrs, size_t n);
/* Opens an outbound connection now ("ip:port", numeric). TC_ENET_ADDR,
 * TC_ENET_BANNED, TC_ELIMIT. */
int tc_p2p_connect(tc_p2p *p, const char *addr) TC_MUST_CHECK;

/* Sends m to an established peer. TC_ENOTFOUND if there is no such peer. */
int tc_p2p_send(tc_p2p *p, uint64_t peer, const tc_msg *m) TC_MUST_CHECK;
/* Sends m to every established peer but `except` (0: none); returns how many. */
size_t tc_p2p_broadcast(tc_p2p *p, const tc_msg *m, uint64_t except);
/* Announces an item: marks it known for `from` (0: our own) and sends an inv
 * to every established peer that does not know it yet; returns how many. */
size_t tc_p2p_relay(tc_p2p *p, uint8_t inv_type, const tc_hash *h, uint64_t from);
/* Sends the whole message m, identified by h (a vote's or proposal's hash),
 * to every established peer that does not know h yet, except `from`, and
 * marks h known for all of them: consensus messages go straight to peers and
 * are relayed once. Returns how many peers it was sent to. */
size_t tc_p2p_push(tc_p2p *p, const tc_msg *m, const tc_hash *h, uint64_t from);
/* Bytes queued for sending to peer (0 if unknown): backpressure for bulk
 * senders such as block sync. */
size_t tc_p2p_queued(tc_p2p *p, uint64_t peer);
/* Closes a connection (no ban). TC_ENOTFOUND if unknown. */
int tc_p2p_disconnect(tc_p2p *p, uint64_t peer) TC_MUST_CHECK;

typedef struct {
    uint64_t id;
    char addr[TC_MAX_NETADDR + 1]; /* remote ip:port */
    tc_pubkey key;
    bool inbound;
    bool established;
    uint64_t height;
    uint64_t ping_ms;       /* last round trip, 0 if none yet */
    uint64_t connected_ms;  /* wall clock */
    uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
    uint64_t dropped;       /* rate-limited messages */
    uint32_t ban_score;
    uint32_t protocol;      /* the version the peer announced (0 before its version) */
    char user_agent[TC_MSG_MAX_UA + 1];
} tc_peer_info;

/* A heap array (caller frees) of every connection's info; returns the count. */
size_t tc_p2p_peers(tc_p2p *p, tc_peer_info **out);
/* Info on one peer; TC_ENOTFOUND if unknown. */
int tc_p2p_peer(tc_p2p *p, uint64_t peer, tc_peer_info *out) TC_MUST_CHECK;
/* The TLS exporter value of an established link's session (what its
 * version and mnauth signatures bind): 0, or TC_ENOTFOUND. */
int tc_p2p_binding(tc_p2p *p, uint64_t peer, uint8_t exporter[32]) TC_MUST_CHECK;
/* Number of established peers. */
size_t tc_p2p_count(const tc_p2p *p);

/* Why links failed before the handshake completed (metrics). */
enum tc_hs_fail {
    TC_HS_FAIL_CHAIN = 0, /* other chain id or genesis */
    TC_HS_FAIL_VERSION,   /* unsupported protocol version */
    TC_HS_FAIL_KEY,       /* node key differs from the certificate */
    TC_HS_FAIL_SIGNATURE, /* version signature (channel binding) invalid */
    TC_HS_FAIL_SELF,      /* connected to itself */
    TC_HS_FAIL_DUPLICATE, /* already linked to that node key */
    TC_HS_FAIL_TIMEOUT,
    TC_HS_FAIL_TLS,
    TC_HS_FAIL_PROTOCOL,  /* magic, framing, a message out of order */
    TC_HS_FAIL_OTHER,
    TC_HS_FAIL_COUNT
};
/* "chain", "version", … for a reason. */
const char *tc_p2p_hs_fail_name(int reason);

typedef struct {
    uint64_t msgs_in[TC_MSG_TYPE_END], bytes_in[TC_MSG_TYPE_END];
    uint64_t msgs_out[TC_MSG_TYPE_END], bytes_out[TC_MSG_TYPE_END];
    uint64_t dropped[TC_MC_COUNT];  /* rate-limited, by class */
    uint64_t bans, disconnects, accepted, refused;
    uint64_t refused_fd;   /* inbound closed at once: descriptors low (also in refused) */
    uint64_t accept_pauses;/* listener paused: descriptors exhausted or low */
    uint64_t unknown_msgs; /* frames of a type we do not know from a newer peer, skipped */
    uint64_t handshake_failures[TC_HS_FAIL_COUNT];
    uint64_t peers_unsolicited; /* `peers` dropped: no `getpeers` of ours outstanding */
    uint64_t getpeers_ignored;  /* `getpeers` within TC_P2P_GETPEERS_ANSWER_MS of the last */
    uint64_t addrs_learned;     /* addresses the book took from `peers` */
    uint64_t addr_flushes;      /* address-book batches handed to the store */
} tc_p2p_stats;

/* Totals since start, per message type (index 0: unknown types). */
void tc_p2p_get_stats(const tc_p2p *p, tc_p2p_stats *out);
/* The same counters for one connection (bans/accepted/refused stay 0);
 * TC_ENOTFOUND if unknown. */
int tc_p2p_peer_stats(tc_p2p *p, uint64_t peer, tc_p2p_stats *out) TC_MUST_CHECK;

/* setban: bans an IP address or a node key ("key:<hex>"), in any spelling
 * tc_ban_subject_parse takes (the ban holds its canonical form), for
 * duration_ms (0: the configured default) and drops matching connections.
 * 0, TC_EINVAL for another subject, or a tc_banlist_add error. */
int tc_p2p_setban(tc_p2p *p, const char *subject, uint64_t duration_ms, const char *reason)
    TC_MUST_CHECK;
/* Lifts the ban of subject (any spelling, as for setban): 0, TC_EINVAL, or
 * TC_ENOTFOUND if it is not banned. */
int tc_p2p_unban(tc_p2p *p, const char *subject) TC_MUST_CHECK;
/* clearbanned: lifts every ban, the stored ones too. 0 or the store's error. */
int tc_p2p_clearbanned(tc_p2p *p) TC_MUST_CHECK;
/* listbanned: heap array (caller frees), count returned. */
size_t tc_p2p_listbanned(tc_p2p *p, tc_ban **out);
bool tc_p2p_is_banned(tc_p2p *p, const char *subject);

#endif
