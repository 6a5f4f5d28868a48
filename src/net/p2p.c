#include "net/p2p.h"

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/util.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "net/addrbook.h"
#include "net/addrgossip.h"
#include "net/banlist.h"
#include "net/inlimit.h"
#include "net/listener.h"
#include "net/peer.h"
#include "net/route.h"
#include "net/sockaddr.h"
#include "net/tlscert.h"
#include "util/clock.h"
#include "util/fdlimit.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/version.h"

#define MAX_DIALS_PER_TICK 2
#define INV_FLUSH_MS 5 /* transaction announcements wait this long at most */
#define FLOOD_BANS_PER_MIN 16     /* IP bans for floods per minute at most (each is a store write) */

static void inv_flush_cb(evutil_socket_t fd, short what, void *arg);

/* ---- message classes ------------------------------------------------------ */

enum tc_msg_class tc_msg_class_of(uint16_t type)
{
    switch (type) {
    case TC_MSG_GETPEERS:
    case TC_MSG_GETMASTERNODES:
    case TC_MSG_GETBLOCKS:
    case TC_MSG_GETHASH:
        return TC_MC_REQUEST;
    case TC_MSG_PEERS:
    case TC_MSG_MASTERNODES:
    case TC_MSG_HEARTBEAT:
    case TC_MSG_INV:
    case TC_MSG_GETDATA:
    case TC_MSG_TX:
    case TC_MSG_EVIDENCE:
        return TC_MC_GOSSIP;
    case TC_MSG_PROPOSAL:
    case TC_MSG_VOTE:
        return TC_MC_CONSENSUS;
    case TC_MSG_BLOCK:
    case TC_MSG_BLOCKS:
    case TC_MSG_HASH:
        return TC_MC_RESPONSE;
    default:
        return TC_MC_CONTROL;
    }
}

const char *tc_msg_class_name(enum tc_msg_class c)
{
    static const char *const names[TC_MC_COUNT] = {"control", "request", "gossip", "consensus",
                                                   "response"};
    return (unsigned)c < TC_MC_COUNT ? names[c] : "unknown";
}

void tc_p2p_config_default(tc_p2p_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_inbound = 64;
    cfg->outbound_target = 8;
    cfg->inbound_per_minute = 30;
    cfg->inbound_per_group = 8;
    cfg->max_inbound_per_group = 8;
    cfg->handshake_timeout_ms = TC_HS_TIMEOUT_MS;
    cfg->ping_interval_ms = 30000;
    cfg->idle_timeout_ms = 90000;
    cfg->tick_ms = 1000;
    cfg->ban_ms = TC_BAN_DEFAULT_MS;
    cfg->ban_addresses = true;
    cfg->rates[TC_MC_CONTROL] = (tc_rate){20, 50};
    cfg->rates[TC_MC_REQUEST] = (tc_rate){10, 20};
    cfg->rates[TC_MC_GOSSIP] = (tc_rate){500, 2000};
    cfg->rates[TC_MC_CONSENSUS] = (tc_rate){2000, 5000};
    cfg->rates[TC_MC_RESPONSE] = (tc_rate){50, 100};
    cfg->drop_points = 1;
    cfg->tx_credit_max = TC_P2P_TX_CREDIT_MAX;
    cfg->tx_credit_ms = TC_P2P_TX_CREDIT_MS;
    cfg->getpeers_interval_ms = TC_P2P_GETPEERS_EVERY_MS;
    cfg->ban_score = TC_BANSCORE_BAN;
}

/* ---- state ----------------------------------------------------------------- */

struct tc_p2p {
    struct event_base *base;
    tc_p2p_config cfg;
    char advertise[TC_MAX_NETADDR + 1];
    char user_agent[TC_MSG_MAX_UA + 1];
    uint64_t nonce;
    SSL_CTX *ssl_ctx;
    tc_listener *listener;
    uint16_t port;
    struct event *tick;
    struct event *inv_flush; /* announces the transactions queued per peer */
    bool inv_armed;
    tc_peer_env env; /* the connections (env.live) and what they share */
    tc_banlist *bans;
    tc_addrbook *book;
    tc_routes routes;       /* dial overrides (peer-address) */
    tc_netaddr mesh[TC_P2P_MESH_MAX]; /* validator addresses kept connected */
    size_t n_mesh;
    tc_inlimit *inlimit; /* new-inbound rates, per source group and in total */
    uint64_t refuse_log_mono;    /* refusals are logged once a second at most... */
    uint64_t refuse_quiet;       /* ... and the rest counted here */
    uint64_t flood_win_mono;     /* flood bans in the minute from here */
    uint32_t flood_bans;
    uint64_t *downs;   /* peers gone, reported to on_peer from notify_cb */
    size_t n_downs, cap_downs;
    struct event *notify;
    tc_addrgossip gossip;   /* getpeers / peers (over book and stats) */
    tc_p2p_stats stats;
};

/* Milliseconds from then to now; 0 if then is later (a timestamp taken after
 * the caller read the clock must not wrap into a huge age). */
static uint64_t elapsed(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

/* ---- closing ------------------------------------------------------------- */

/* Reported from the loop, never from inside a caller's iteration over
 * connections (a callback that closes another link cannot pull the list from
 * under us). */
static void post_down(tc_p2p *p, uint64_t id)
{
    if (!p->cfg.on_peer || !p->notify)
        return;
    if (p->n_downs == p->cap_downs) {
        p->cap_downs = p->cap_downs ? p->cap_downs * 2 : 16;
        p->downs = tc_xrealloc(p->downs, p->cap_downs * sizeof *p->downs);
    }
    p->downs[p->n_downs++] = id;
    event_active(p->notify, 0, 0);
}

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tc_p2p *p = arg;
    for (size_t i = 0; i < p->n_downs; i++) /* callbacks may append */
        p->cfg.on_peer(p->cfg.ctx, p->downs[i], false);
    p->n_downs = 0;
}

static void ban_subject(tc_p2p *p, const char *subject, int err)
{
    uint64_t now = tc_clock_wall_ms();
    int rc = tc_banlist_add(p->bans, subject, now, now + p->cfg.ban_ms, tc_errname(err));
    if (rc)
        tc_log_warn("net", "ban not recorded", "subject=%s err=%s hint=%s", subject, tc_errname(rc),
                    "the ban holds until restart only; check the peers store (<datadir>/peers) and free space");
}

static bool is_loopback(const char *ip)
{
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0; /* mapped IPv4 is named as IPv4 (sockaddr.h) */
}

const char *tc_p2p_hs_fail_name(int reason)
{
    static const char *const names[TC_HS_FAIL_COUNT] = {"chain", "version",  "key", "signature", "self",
                                                        "duplicate", "timeout", "tls", "protocol", "other"};
    return reason >= 0 && reason < TC_HS_FAIL_COUNT ? names[reason] : "other";
}

static int hs_fail_reason(int err)
{
    switch (err) {
    case TC_ENET_CHAIN:
        return TC_HS_FAIL_CHAIN;
    case TC_ENET_VERSION:
        return TC_HS_FAIL_VERSION;
    case TC_ENET_KEY:
        return TC_HS_FAIL_KEY;
    case TC_ESIG:
        return TC_HS_FAIL_SIGNATURE;
    case TC_ENET_SELF:
        return TC_HS_FAIL_SELF;
    case TC_ENET_DUPLICATE:
        return TC_HS_FAIL_DUPLICATE;
    case TC_ENET_TIMEOUT:
        return TC_HS_FAIL_TIMEOUT;
    case TC_ENET_TLS:
        return TC_HS_FAIL_TLS;
    case TC_ENET_MAGIC:
    case TC_ENET_FRAME_SIZE:
    case TC_ENET_MSG_TYPE:
    case TC_ENET_PROTOCOL:
        return TC_HS_FAIL_PROTOCOL;
    default:
        return TC_HS_FAIL_OTHER;
    }
}

/* Drops c (and bans it if ban): the one place a connection ends (peer.c
 * calls it through env.drop). A peer that can still hear us gets a `reject`
 * naming the reason; the connection then lingers (input discarded, invisible
 * to the API) until the peer closes after reading it, or the next tick after
 * a second. */
static void conn_drop(tc_peer *c, int err, bool ban)
{
    tc_p2p *p = c->env->mgr;
    /* A refused or reset TCP connect is not a handshake failure. */
    if (!c->established && (c->tls_up || hs_fail_reason(err) != TC_HS_FAIL_OTHER))
        p->stats.handshake_failures[hs_fail_reason(err)]++;
    if (ban) {
        char subj[TC_BAN_SUBJECT_MAX];
        if (c->tls_up) {
            tc_ban_subject_key(subj, &c->hs.cert_key);
            ban_subject(p, subj, err);
        }
        if (p->cfg.ban_addresses && c->ip[0] && (p->cfg.ban_loopback || !is_loopback(c->ip)))
            ban_subject(p, c->ip, err);
        p->stats.bans++;
    }
    if (!c->inbound && !c->established)
        tc_addrbook_failure(p->book, c->addr, tc_clock_wall_ms());
    p->stats.disconnects++;
    if (ban)
        tc_log_warn("net", "peer banned", "peer=%llu addr=%s inbound=%d reason=%s detail=%s hint=%s",
                    (unsigned long long)c->id, c->addr, (int)c->inbound, tc_errname(err), tc_strerror(err),
                    err == TC_ENET_CHAIN ? "it runs another network or genesis: if it is yours, give it this "
                                           "node's --network and genesis file; listbanned shows the ban, setban "
                                           "SUBJECT remove lifts it"
                                         : "listbanned shows the ban and its expiry; setban SUBJECT remove lifts it");
    else
        tc_log_info("net", "peer disconnected", "peer=%llu addr=%s inbound=%d reason=%s", (unsigned long long)c->id,
                    c->addr, (int)c->inbound, tc_errname(err));
    if (c->established)
        post_down(p, c->id);
    tc_peer_close(c, err);
}

static void drop_hook(void *mgr, tc_peer *c, int err, bool ban)
{
    (void)mgr;
    conn_drop(c, err, ban);
}

/* ---- connection setup ---------------------------------------------------- */

static size_t count_conns(const tc_p2p *p, bool inbound)
{
    size_t n = 0;
    for (const tc_peer *c = p->env.live; c; c = c->next)
        n += c->inbound == inbound;
    return n;
}

/* Whether ip is a validator's registered address (compared as addresses,
 * not text: "::ffff:10.0.0.1" is 10.0.0.1). */
static bool is_mesh_ip(const tc_p2p *p, const char *ip)
{
    tc_netgroup a, b;
    if (tc_netgroup_of(&a, ip, 32, 128) != 0)
        return false;
    for (size_t i = 0; i < p->n_mesh; i++) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (tc_sockaddr_parse(p->mesh[i].s, &ss, &len) == 0 &&
            tc_netgroup_of_sockaddr(&b, &ss, 32, 128) == 0 && tc_netgroup_eq(&a, &b))
            return true;
    }
    return false;
}

static bool is_mesh_addr(const tc_p2p *p, const char *addr)
{
    for (size_t i = 0; i < p->n_mesh; i++)
        if (strcmp(p->mesh[i].s, addr) == 0)
            return true;
    return false;
}

static size_t count_group(const tc_p2p *p, const tc_netgroup *g)
{
    size_t n = 0;
    for (const tc_peer *c = p->env.live; c; c = c->next)
        n += c->inbound && tc_netgroup_eq(&c->group, g);
    return n;
}

/* A group that keeps being refused is flooding: its address is banned
 * (loopback only with ban_loopback; otherwise it stays throttled), at most
 * FLOOD_BANS_PER_MIN a minute, since each ban is a store write and a /64
 * holds more addresses than anyone could ban. */
static void ban_flooder(tc_p2p *p, const char *ip, uint64_t now)
{
    if (!p->cfg.ban_addresses || (!p->cfg.ban_loopback && is_loopback(ip)))
        return;
    if (p->flood_win_mono == 0 || elapsed(now, p->flood_win_mono) >= 60000) {
        p->flood_win_mono = now;
        p->flood_bans = 0;
    }
    if (p->flood_bans >= FLOOD_BANS_PER_MIN)
        return;
    p->flood_bans++;
    ban_subject(p, ip, TC_ENET_RATE);
    p->stats.bans++;
    tc_log_warn("net", "inbound flood banned", "ip=%s", ip);
}

/* Why a new inbound connection from ip (group *g) is refused, or NULL. In
 * order: bans, the inbound cap, the group's connection cap, the group's
 * rate, then the total rate, so a group over its share never spends the
 * total. A validator's address skips the group's limits. */
static const char *inbound_refusal(tc_p2p *p, const char *ip, const tc_netgroup *g)
{
    uint64_t now = tc_clock_mono_ms();
    if (tc_banlist_is_banned(p->bans, ip, tc_clock_wall_ms()))
        return "banned";
    if (count_conns(p, true) >= p->cfg.max_inbound)
        return "inbound limit";
    /* A validator's own address is not a flooder's: its group's limits do
     * not apply to it (a devnet's validators share 127.0.0.1). */
    bool validator = p->n_mesh && is_mesh_ip(p, ip);
    const char *why;
    if (!validator && p->cfg.max_inbound_per_group &&
        count_group(p, g) >= p->cfg.max_inbound_per_group) {
        tc_inlimit_refused(p->inlimit, g, now);
        why = "group limit";
    } else {
        enum tc_inlimit_verdict v = tc_inlimit_admit(p->inlimit, validator ? NULL : g, now);
        if (v == TC_INLIMIT_ADMIT)
            return NULL;
        if (v == TC_INLIMIT_TOTAL_RATE)
            return "inbound rate";
        why = "group rate";
    }
    if (tc_inlimit_abusive(p->inlimit, g, now))
        ban_flooder(p, ip, now);
    return why;
}

/* One line a second at most, however fast connections are refused. */
static void log_refusal(tc_p2p *p, const char *addr, const char *why)
{
    uint64_t now = tc_clock_mono_ms();
    if (p->refuse_log_mono && elapsed(now, p->refuse_log_mono) < 1000) {
        p->refuse_quiet++;
        return;
    }
    tc_log_info("net", "inbound refused", "addr=%s reason=%s unlogged=%llu", addr, why,
                (unsigned long long)p->refuse_quiet);
    p->refuse_log_mono = now ? now : 1;
    p->refuse_quiet = 0;
}

/* A new inbound socket (the listener has checked the descriptor reserve). */
static void accept_cb(void *arg, int fd, const struct sockaddr *sa, int salen)
{
    (void)salen;
    tc_p2p *p = arg;
    char ip[INET6_ADDRSTRLEN], addr[TC_MAX_NETADDR + 1];
    tc_sockaddr_text(sa, ip, sizeof ip, addr, sizeof addr);
    tc_netgroup g;
    const char *why = tc_netgroup_of_sockaddr(&g, sa, TC_NETGROUP_V4_BITS, TC_NETGROUP_V6_BITS) != 0
                          ? "address family"
                          : inbound_refusal(p, ip, &g);
    if (why) {
        p->stats.refused++;
        log_refusal(p, addr, why);
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tc_peer *c = tc_peer_new(&p->env, fd, true, ip, addr);
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->group = g;
    p->stats.accepted++;
    tc_log_debug("net", "accepted", "peer=%llu fd=%d", (unsigned long long)c->id, (int)fd);
}

static bool is_connected_addr(void *arg, const char *addr)
{
    tc_p2p *p = arg;
    for (const tc_peer *c = p->env.live; c; c = c->next)
        if (strcmp(c->addr, addr) == 0 || (c->established && strcmp(c->hs.peer.listen.s, addr) == 0))
            return true;
    if (p->advertise[0] && strcmp(p->advertise, addr) == 0)
        return true;
    return false;
}

int tc_p2p_check_addr(const char *addr)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    return tc_sockaddr_parse_dial(addr, &ss, &sslen);
}

int tc_p2p_connect(tc_p2p *p, const char *addr)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    if (tc_sockaddr_parse_dial(addr, &ss, &sslen) != 0)
        return TC_ENET_ADDR;
    char ip[INET6_ADDRSTRLEN], text[TC_MAX_NETADDR + 1];
    tc_sockaddr_text((struct sockaddr *)&ss, ip, sizeof ip, text, sizeof text);
    if (tc_banlist_is_banned(p->bans, ip, tc_clock_wall_ms()))
        return TC_ENET_BANNED;
    /* room for the target, the validator mesh and a few manual connects */
    if (count_conns(p, false) >= p->cfg.outbound_target + p->n_mesh + 8u)
        return TC_ELIMIT;
    /* The peer keeps its known address (book, mesh, logs); only the TCP
     * connect follows a peer-address override. */
    const tc_route *r = tc_routes_find(&p->routes, text);
    tc_peer *c = tc_peer_new(&p->env, -1, false, ip, addr);
    if (c == NULL)
        return TC_ECRYPTO;
    tc_addrbook_attempt(p->book, addr, tc_clock_wall_ms());
    uint64_t id = c->id;
    /* Validator links may use part of the descriptor reserve, other dials not. */
    unsigned reserve = is_mesh_addr(p, addr) ? TC_FDLIMIT_RESERVE_DURABLE : TC_FDLIMIT_RESERVE;
    const struct sockaddr *to = r ? (const struct sockaddr *)&r->dial : (const struct sockaddr *)&ss;
    int err = tc_peer_connect(c, to, r ? r->dial_len : sslen, reserve);
    if (err)
        return err;
    tc_log_debug("net", "connecting", "peer=%llu addr=%s via=%s", (unsigned long long)id, addr, r ? r->to : addr);
    return 0;
}

static tc_peer *find_conn(tc_p2p *p, uint64_t id)
{
    for (tc_peer *c = p->env.live; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* ---- peer hooks ------------------------------------------------------------ */

static bool tls_up_hook(void *mgr, tc_peer *c)
{
    tc_p2p *p = mgr;
    char subj[TC_BAN_SUBJECT_MAX];
    tc_ban_subject_key(subj, &c->hs.cert_key);
    if (tc_banlist_is_banned(p->bans, subj, tc_clock_wall_ms())) {
        conn_drop(c, TC_ENET_BANNED, false);
        return false;
    }
    return true;
}

static const tc_pubkey *initiator(const tc_p2p *p, const tc_peer *c)
{
    return c->inbound ? &c->hs.peer.node_key : &p->cfg.node_key->pk;
}

/* The handshake completed: enforce one connection per node key. */
static bool admit_hook(void *mgr, tc_peer *c)
{
    tc_p2p *p = mgr;
    for (tc_peer *o = p->env.live; o; o = o->next) {
        if (o == c || !o->established ||
            memcmp(o->hs.peer.node_key.b, c->hs.peer.node_key.b, 32) != 0)
            continue;
        /* Both ends keep the link opened by the smaller node key; between two
         * links opened by the same side, the newer (the old one is stale). */
        int cmp = memcmp(initiator(p, o)->b, initiator(p, c)->b, 32);
        if (cmp < 0) {
            conn_drop(c, TC_ENET_DUPLICATE, false);
            return false;
        }
        conn_drop(o, TC_ENET_DUPLICATE, false);
        break;
    }
    return true;
}

static bool established_hook(void *mgr, tc_peer *c)
{
    tc_p2p *p = mgr;
    uint64_t now = tc_clock_wall_ms();
    if (!c->inbound)
        tc_addrbook_success(p->book, c->addr, now);
    if (c->hs.peer.listen.s[0]) {
        int rc = tc_addrbook_learn(p->book, c->hs.peer.listen.s, c->ip, now);
        (void)rc; /* a full bucket keeps the entries it has */
    }
    if (!c->inbound)
        tc_addrgossip_ask(&p->gossip, c, tc_clock_mono_ms());
    tc_log_info("net", "peer connected", "peer=%llu addr=%s inbound=%d height=%llu ua=%s",
                (unsigned long long)c->id, c->addr, (int)c->inbound,
                (unsigned long long)c->height, c->hs.peer.user_agent);
    if (p->cfg.on_peer) {
        uint64_t id = c->id;
        p->cfg.on_peer(p->cfg.ctx, id, true);
        return find_conn(p, id) != NULL; /* the node may have dropped it */
    }
    return true;
}

/* An established peer's message: addresses here, the rest to the node. */
static bool message_hook(void *mgr, tc_peer *c, const tc_msg *m)
{
    tc_p2p *p = mgr;
    switch (m->type) {
    case TC_MSG_GETPEERS:
        tc_addrgossip_answer(&p->gossip, c, tc_clock_mono_ms());
        return true;
    case TC_MSG_PEERS:
        if (tc_addrgossip_take(&p->gossip, c, m, tc_clock_mono_ms()) != 0) {
            conn_drop(c, TC_ENET_PROTOCOL, true);
            return false;
        }
        return true;
    default:
        break;
    }
    if (p->cfg.on_message) {
        uint64_t id = c->id;
        int err = p->cfg.on_message(p->cfg.ctx, id, m);
        if (err) {
            /* the callback may have dropped the peer itself */
            tc_peer *x = find_conn(p, id);
            if (x)
                conn_drop(x, err, true);
            return false;
        }
        return find_conn(p, id) != NULL;
    }
    return true;
}

/* ---- housekeeping ---------------------------------------------------------- */

/* A dial from the address book; an address we cannot dial (banned, not
 * numeric) counts as a failure so it backs off and ages out. */
static void dial(tc_p2p *p, const char *addr, uint64_t wall)
{
    int err = tc_p2p_connect(p, addr);
    if (err == TC_ENET_ADDR || err == TC_ENET_BANNED) {
        tc_addrbook_attempt(p->book, addr, wall);
        tc_addrbook_failure(p->book, addr, wall);
    }
}

/* tc_addrbook_next's filter: connected already, or a gossiped address in
 * an address group that an automatic outbound link has already: at most one
 * automatic outbound link per group, so that one operator's addresses cannot
 * take every outbound slot (eclipse). */
static bool skip_for_dial(void *arg, const char *addr)
{
    tc_p2p *p = arg;
    return is_connected_addr(p, addr) ||
           tc_addrgossip_group_taken(&p->gossip, p->env.live, p->mesh, p->n_mesh, addr);
}

/* The book's changes since the last tick, as one batch to the store. */
static void flush_book(tc_p2p *p)
{
    int rc = tc_addrbook_flush(p->book);
    if (rc > 0)
        p->stats.addr_flushes++;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tc_p2p *p = arg;
    uint64_t now = tc_clock_mono_ms();
    tc_peer_reap(&p->env, now);
    tc_peer *next;
    for (tc_peer *c = p->env.live; c; c = next) {
        next = c->next; /* a tick drops at most c itself */
        tc_peer_tick(c, now);
    }
    uint64_t wall = tc_clock_wall_ms();
    tc_banlist_sweep(p->bans, wall);
    tc_addrbook_age(p->book, wall);
    for (size_t i = 0; i < p->n_mesh; i++) {
        const char *a = p->mesh[i].s;
        int rc = tc_addrbook_add(p->book, a, TC_ADDR_CHAIN, wall); /* in the set: still seen */
        (void)rc;
        /* A validator link is retried every TC_P2P_MESH_RETRY_MS, not on the
         * book's exponential backoff: the set is small (TC_P2P_MESH_MAX) and
         * consensus needs the link back as soon as the path heals; after a
         * 10 s cut the backoff left links down for up to 6 s more. */
        const tc_addr_rec *r = tc_addrbook_get(p->book, a);
        if (is_connected_addr(p, a) || (r && r->last_try && wall < r->last_try + TC_P2P_MESH_RETRY_MS &&
                                        wall >= r->last_try))
            continue;
        dial(p, a, wall);
    }
    for (int dials = 0; dials < MAX_DIALS_PER_TICK && count_conns(p, false) < p->cfg.outbound_target;
         dials++) {
        tc_netaddr a;
        if (!tc_addrbook_next(p->book, wall, skip_for_dial, p, &a))
            break;
        dial(p, a.s, wall);
    }
    tc_addrgossip_tick(&p->gossip, p->env.live, now);
    flush_book(p);
}

/* ---- lifecycle ------------------------------------------------------------- */

/* A numeric address others can dial: never 0.0.0.0 or [::], never port 0. */
static bool advertisable(const char *addr)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    return tc_netaddr_set(&(tc_netaddr){0}, addr) == 0 &&
           tc_sockaddr_parse_dial(addr, &ss, &len) == 0 && !tc_sockaddr_is_wildcard(&ss);
}

static int start_listener(tc_p2p *p, const char *listen)
{
    int err;
    p->listener = tc_listener_new(p->base, listen, TC_FDLIMIT_RESERVE, "net", accept_cb, p, &err);
    if (p->listener == NULL)
        return err;
    const struct sockaddr_storage *bound = tc_listener_bound(p->listener);
    char ip[INET6_ADDRSTRLEN];
    tc_sockaddr_text((const struct sockaddr *)bound, ip, sizeof ip, p->advertise, sizeof p->advertise);
    p->port = bound->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)bound)->sin_port)
                                          : ntohs(((const struct sockaddr_in6 *)bound)->sin6_port);
    /* nobody can dial 0.0.0.0 or [::]: advertise nothing rather than that */
    if (tc_sockaddr_is_wildcard(bound))
        p->advertise[0] = 0;
    return 0;
}

tc_p2p *tc_p2p_new(struct event_base *base, const tc_p2p_config *cfg, int *err)
{
    *err = TC_EINVAL;
    if (base == NULL || cfg == NULL || cfg->node_key == NULL || cfg->tick_ms == 0 || cfg->tx_credit_ms == 0)
        return NULL;
    /* A peer that closes while we write must not kill the process. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    tc_p2p *p = tc_xcalloc(1, sizeof *p);
    p->base = base;
    p->cfg = *cfg;
    p->cfg.datadir = NULL;
    p->cfg.listen = NULL;
    p->cfg.advertise = NULL;
    p->cfg.user_agent = NULL;
    p->cfg.routes = NULL;
    p->cfg.n_routes = 0;
    snprintf(p->user_agent, sizeof p->user_agent, "%s",
             cfg->user_agent ? cfg->user_agent : TC_USER_AGENT);
    p->nonce = cfg->nonce;
    while (p->nonce == 0)
        randombytes_buf(&p->nonce, sizeof p->nonce);
    p->inlimit = tc_inlimit_new(cfg->inbound_per_minute, cfg->inbound_per_group);
    tc_errmsg e;
    if ((*err = tc_routes_parse(&p->routes, cfg->routes, cfg->n_routes, &e)) != 0) {
        tc_log_error("net", "bad dial override", "error=%s", e.msg);
        goto fail;
    }

    p->ssl_ctx = cfg->datadir ? tc_tlscert_ctx_load(cfg->node_key, cfg->datadir, err)
                              : tc_tlscert_ctx_new(cfg->node_key, err);
    if (p->ssl_ctx == NULL)
        goto fail;
    p->env = (tc_peer_env){.base = base,
                           .ssl_ctx = p->ssl_ctx,
                           .cfg = &p->cfg,
                           .advertise = p->advertise,
                           .user_agent = p->user_agent,
                           .nonce = p->nonce,
                           .stats = &p->stats,
                           .mgr = p,
                           .tls_up = tls_up_hook,
                           .admit = admit_hook,
                           .established = established_hook,
                           .message = message_hook,
                           .drop = drop_hook};
    p->bans = tc_banlist_new(cfg->store, tc_clock_wall_ms(), err);
    if (p->bans == NULL)
        goto fail;
    p->book = tc_addrbook_new(cfg->store, err);
    if (p->book == NULL)
        goto fail;
    if (cfg->listen && (*err = start_listener(p, cfg->listen)) != 0)
        goto fail;
    if (cfg->advertise && advertisable(cfg->advertise))
        snprintf(p->advertise, sizeof p->advertise, "%s", cfg->advertise);
    if (cfg->listen && p->advertise[0] == 0)
        tc_log_warn("net", "no address to advertise: peers learn of this node only by dialling it; "
                    "set external-address", "listen=%s", cfg->listen);
    tc_addrgossip_init(&p->gossip, p->book, &p->stats, cfg->ban_score, cfg->getpeers_interval_ms, tc_clock_mono_ms());
    p->notify = event_new(base, -1, 0, notify_cb, p);
    p->tick = event_new(base, -1, EV_PERSIST, tick_cb, p);
    p->inv_flush = event_new(base, -1, 0, inv_flush_cb, p);
    struct timeval tv = {.tv_sec = cfg->tick_ms / 1000, .tv_usec = (cfg->tick_ms % 1000) * 1000};
    if (p->notify == NULL || p->tick == NULL || p->inv_flush == NULL || event_add(p->tick, &tv) != 0) {
        *err = TC_EIO;
        goto fail;
    }
    *err = 0;
    return p;
fail:
    tc_p2p_free(p);
    return NULL;
}

void tc_p2p_free(tc_p2p *p)
{
    if (p == NULL)
        return;
    if (p->notify)
        event_free(p->notify);
    p->notify = NULL; /* no callbacks from here on */
    while (p->env.live)
        tc_peer_free(p->env.live);
    while (p->env.closing)
        tc_peer_free(p->env.closing);
    tc_peer_env_release(&p->env);
    free(p->downs);
    if (p->tick)
        event_free(p->tick);
    if (p->inv_flush)
        event_free(p->inv_flush);
    tc_listener_free(p->listener);
    tc_inlimit_free(p->inlimit);
    SSL_CTX_free(p->ssl_ctx);
    tc_banlist_free(p->bans);
    if (p->book)
        flush_book(p); /* the last changes, before the store goes */
    tc_addrbook_free(p->book);
    free(p);
}

uint16_t tc_p2p_listen_port(const tc_p2p *p)
{
    return p->port;
}

uint64_t tc_p2p_nonce(const tc_p2p *p)
{
    return p->nonce;
}

void tc_p2p_set_mesh(tc_p2p *p, const char *const *addrs, size_t n)
{
    uint64_t now = tc_clock_wall_ms();
    p->n_mesh = 0;
    for (size_t i = 0; i < n; i++) {
        if (tc_addrbook_add(p->book, addrs[i], TC_ADDR_CHAIN, now) != 0)
            continue;
        if (n > TC_P2P_MESH_MAX || (p->advertise[0] && strcmp(addrs[i], p->advertise) == 0))
            continue;
        int rc = tc_netaddr_set(&p->mesh[p->n_mesh], addrs[i]);
        if (rc == 0)
            p->n_mesh++;
    }
}

int tc_p2p_add_address(tc_p2p *p, const char *addr, uint8_t source)
{
    /* Never a name: resolving one would block the network thread. */
    if (tc_p2p_check_addr(addr) != 0) {
        tc_log_error("net", "address refused: it must be a numeric ip:port or [ipv6]:port, "
                     "host names are not resolved", "addr=%s", addr ? addr : "(null)");
        return TC_ENET_ADDR;
    }
    return tc_addrbook_add(p->book, addr, source, tc_clock_wall_ms());
}

/* ---- node API ------------------------------------------------------------- */

int tc_p2p_send(tc_p2p *p, uint64_t peer, const tc_msg *m)
{
    tc_peer *c = find_conn(p, peer);
    if (c == NULL || !c->established)
        return TC_ENOTFOUND;
    return tc_peer_send(c, m);
}

size_t tc_p2p_broadcast(tc_p2p *p, const tc_msg *m, uint64_t except)
{
    size_t n = 0;
    for (tc_peer *c = p->env.live; c; c = c->next)
        if (c->established && c->id != except && tc_peer_send(c, m) == 0)
            n++;
    return n;
}

size_t tc_p2p_push(tc_p2p *p, const tc_msg *m, const tc_hash *h, uint64_t from)
{
    tc_peer *src = from ? find_conn(p, from) : NULL;
    if (src)
        tc_knownset_add(src->known, h);
    size_t n = 0;
    for (tc_peer *c = p->env.live; c; c = c->next) {
        if (!c->established || c == src || tc_knownset_has(c->known, h))
            continue;
        if (tc_peer_send(c, m) == 0) {
            tc_knownset_add(c->known, h);
            n++;
        }
    }
    return n;
}

/* Sends each peer one `inv` with the transaction hashes queued for it. */
static void inv_flush(tc_p2p *p)
{
    p->inv_armed = false;
    for (tc_peer *c = p->env.live; c; c = c->next) {
        if (c->inv_n == 0)
            continue;
        tc_msg m;
        tc_msg_init(&m, TC_MSG_INV);
        m.u.inv.type = TC_INV_TX;
        m.u.inv.n = c->inv_n;
        m.u.inv.h = c->inv_pend; /* borrowed */
        if (c->established && tc_peer_send(c, &m) != 0)
            tc_log_debug("net", "announcement not sent", "peer=%llu", (unsigned long long)c->id);
        c->inv_n = 0;
    }
}

static void inv_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    inv_flush(arg);
}

/* Transactions are announced in batches, every INV_FLUSH_MS per peer at
 * most (or at once when a batch is full): one `inv` and one `getdata` per
 * batch instead of per transaction keeps an honest peer under the gossip
 * rate limit at thousands of transactions per second. */
static size_t relay_tx(tc_p2p *p, const tc_hash *h, uint64_t from)
{
    tc_peer *src = from ? find_conn(p, from) : NULL;
    if (src)
        tc_knownset_add(src->known, h);
    size_t n = 0;
    bool full = false;
    for (tc_peer *c = p->env.live; c; c = c->next) {
        if (!c->established || c == src || tc_knownset_has(c->known, h))
            continue;
        if (c->inv_pend == NULL)
            c->inv_pend = tc_xcalloc(TC_MSG_MAX_INV, sizeof *c->inv_pend);
        c->inv_pend[c->inv_n++] = *h;
        full |= c->inv_n == TC_MSG_MAX_INV;
        tc_knownset_add(c->known, h);
        n++;
    }
    if (full) {
        inv_flush(p);
    } else if (n && !p->inv_armed) {
        struct timeval tv = {0, INV_FLUSH_MS * 1000};
        p->inv_armed = event_add(p->inv_flush, &tv) == 0;
    }
    return n;
}

size_t tc_p2p_relay(tc_p2p *p, uint8_t inv_type, const tc_hash *h, uint64_t from)
{
    if (inv_type == TC_INV_TX)
        return relay_tx(p, h, from);
    tc_msg m;
    tc_msg_init(&m, TC_MSG_INV);
    m.u.inv.type = inv_type;
    m.u.inv.n = 1;
    m.u.inv.h = (tc_hash *)h; /* borrowed: not released */
    return tc_p2p_push(p, &m, h, from);
}

size_t tc_p2p_queued(tc_p2p *p, uint64_t peer)
{
    tc_peer *c = find_conn(p, peer);
    return c ? tc_peer_queued(c) : 0;
}

int tc_p2p_peer_stats(tc_p2p *p, uint64_t peer, tc_p2p_stats *out)
{
    tc_peer *c = find_conn(p, peer);
    if (c == NULL)
        return TC_ENOTFOUND;
    *out = c->st;
    return 0;
}

int tc_p2p_disconnect(tc_p2p *p, uint64_t peer)
{
    tc_peer *c = find_conn(p, peer);
    if (c == NULL)
        return TC_ENOTFOUND;
    conn_drop(c, TC_ENET_CLOSED, false);
    return 0;
}

size_t tc_p2p_peers(tc_p2p *p, tc_peer_info **out)
{
    size_t n = 0;
    for (tc_peer *c = p->env.live; c; c = c->next)
        n++;
    *out = n ? tc_xcalloc(n, sizeof **out) : NULL;
    size_t i = 0;
    for (tc_peer *c = p->env.live; c; c = c->next)
        tc_peer_info_fill(c, &(*out)[i++]);
    return n;
}

int tc_p2p_peer(tc_p2p *p, uint64_t peer, tc_peer_info *out)
{
    tc_peer *c = find_conn(p, peer);
    if (c == NULL)
        return TC_ENOTFOUND;
    tc_peer_info_fill(c, out);
    return 0;
}

int tc_p2p_binding(tc_p2p *p, uint64_t peer, uint8_t exporter[32])
{
    tc_peer *c = find_conn(p, peer);
    if (c == NULL || !c->established)
        return TC_ENOTFOUND;
    memcpy(exporter, c->hs.exporter, 32);
    return 0;
}

size_t tc_p2p_count(const tc_p2p *p)
{
    size_t n = 0;
    for (const tc_peer *c = p->env.live; c; c = c->next)
        n += c->established;
    return n;
}

void tc_p2p_get_stats(const tc_p2p *p, tc_p2p_stats *out)
{
    *out = p->stats;
    if (p->listener) {
        tc_listener_stats ls;
        tc_listener_get_stats(p->listener, &ls);
        out->accept_pauses = ls.pauses;
        out->refused_fd = ls.refused_low;
        out->refused += ls.refused_low;
    }
}

int tc_p2p_setban(tc_p2p *p, const char *spelled, uint64_t duration_ms, const char *reason)
{
    char subject[TC_BAN_SUBJECT_MAX];
    if (tc_ban_subject_parse(subject, spelled) != 0)
        return TC_EINVAL;
    uint64_t now = tc_clock_wall_ms();
    uint64_t d = duration_ms ? duration_ms : p->cfg.ban_ms;
    uint64_t until = d > UINT64_MAX - now ? UINT64_MAX : now + d; /* a huge duration is "forever", not the past */
    int err = tc_banlist_add(p->bans, subject, now, until, reason ? reason : "manual");
    if (err)
        return err;
    tc_peer *next;
    for (tc_peer *c = p->env.live; c; c = next) {
        next = c->next;
        char subj[TC_BAN_SUBJECT_MAX] = "";
        if (c->tls_up)
            tc_ban_subject_key(subj, &c->hs.cert_key);
        if (strcmp(c->ip, subject) == 0 || strcmp(subj, subject) == 0)
            conn_drop(c, TC_ENET_BANNED, false);
    }
    return 0;
}

int tc_p2p_unban(tc_p2p *p, const char *spelled)
{
    char subject[TC_BAN_SUBJECT_MAX];
    if (tc_ban_subject_parse(subject, spelled) != 0)
        return TC_EINVAL;
    return tc_banlist_remove(p->bans, subject);
}

int tc_p2p_clearbanned(tc_p2p *p)
{
    return tc_banlist_clear(p->bans);
}

size_t tc_p2p_listbanned(tc_p2p *p, tc_ban **out)
{
    return tc_banlist_list(p->bans, tc_clock_wall_ms(), out);
}

bool tc_p2p_is_banned(tc_p2p *p, const char *subject)
{
    return tc_banlist_is_banned(p->bans, subject, tc_clock_wall_ms());
}
