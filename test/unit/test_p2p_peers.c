/* P2P peers end to end, in process, on 127.0.0.1 with ephemeral ports
 * (the harness: p2plink.h): setban and address bans, bans across restarts,
 * a persistent node identity, inbound limits per source and under a flood,
 * the descriptor reserve, autodial and reconnect, the validator mesh,
 * address gossip, outbound group diversity, configuration defaults and
 * message classes, a peer of a newer protocol. Links and hostile clients: test_p2p_link.c. Every wait
 * is bounded. */
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

static void test_setban_and_address_bans(void **state)
{
    (void)state;
    int err;
    struct event_base *base = event_base_new();
    node a, b;
    pl_node_start(&a, base, 1);
    pl_node_init(&b);
    tc_p2p_config cb;
    pl_node_config(&b, &cb);
    cb.ban_addresses = true;
    pl_node_start_cfg(&b, base, 2, &cb);
    assert_true(pl_connect_pair(base, &a, &b));

    /* setban on a connected key drops it; listbanned shows it; unban lifts it */
    char subj[TC_BAN_SUBJECT_MAX];
    tc_ban_subject_key(subj, &a.kp.pk);
    assert_int_equal(tc_p2p_setban(b.p, subj, 60000, "operator"), 0);
    pair_want w = {&a, &b, 0, 0};
    assert_true(pl_run_until(base, pl_counts_are, &w, 3000));
    tc_ban *bans;
    assert_int_equal(tc_p2p_listbanned(b.p, &bans), 1);
    assert_string_equal(bans[0].subject, subj);
    assert_string_equal(bans[0].reason, "operator");
    assert_true(bans[0].until_ms > bans[0].created_ms);
    free(bans);
    /* a banned key is refused after TLS */
    char ab[64];
    pl_addr_of(&b, ab, sizeof ab);
    assert_int_equal(tc_p2p_connect(a.p, ab), 0);
    pl_run_for(base, 300);
    assert_int_equal(tc_p2p_count(b.p), 0);
    assert_int_equal(tc_p2p_unban(b.p, subj), 0);
    assert_int_equal(tc_p2p_unban(b.p, subj), TC_ENOTFOUND);
    /* a duration at UINT64_MAX saturates to "forever", never wraps into the past */
    assert_int_equal(tc_p2p_setban(b.p, "10.9.8.7", UINT64_MAX, "forever"), 0);
    assert_true(tc_p2p_is_banned(b.p, "10.9.8.7"));
    assert_int_equal(tc_p2p_unban(b.p, "10.9.8.7"), 0);
    assert_true(pl_connect_pair(base, &a, &b));

    /* loopback is exempt from automatic address bans by default */
    raw_job j;
    pl_hostile(base, &b, &j, ATK_BAD_SIG, 31);
    assert_true(j.closed);
    assert_true(pl_key_banned(&b, &j.kp.pk));
    assert_false(tc_p2p_is_banned(b.p, "127.0.0.1"));
    tc_p2p_free(b.p);
    cb.ban_loopback = true;
    b.p = tc_p2p_new(base, &cb, &err);
    assert_non_null(b.p);
    pair_want gone = {&a, &b, 0, 0};
    assert_true(pl_run_until(base, pl_counts_are, &gone, 3000)); /* A noticed the restart */
    assert_true(pl_connect_pair(base, &a, &b));

    /* a violation with address bans on: the IP is banned and refused at accept */
    pl_hostile(base, &b, &j, ATK_BAD_SIG, 30);
    assert_true(j.closed);
    assert_true(tc_p2p_is_banned(b.p, "127.0.0.1"));
    tc_p2p_stats s0, s1;
    tc_p2p_get_stats(b.p, &s0);
    int fd = pl_tcp_connect(tc_p2p_listen_port(b.p));
    pl_run_for(base, 100);
    tc_p2p_get_stats(b.p, &s1);
    assert_int_equal(s1.refused, s0.refused + 1);
    if (fd >= 0)
        close(fd);
    /* the established good peer is kept (a violation bans the offender only) */
    assert_int_equal(tc_p2p_count(b.p), 1);
    assert_int_equal(tc_p2p_unban(b.p, "127.0.0.1"), 0);
    assert_int_equal(tc_p2p_setban(b.p, "127.0.0.1", 0, NULL), 0); /* drops A too */
    w.na = w.nb = 0;
    assert_true(pl_run_until(base, pl_counts_are, &w, 3000));
    assert_int_equal(tc_p2p_connect(b.p, "not an address"), TC_ENET_ADDR);
    tc_keypair_wipe(&j.kp);
    pl_node_stop(&a);
    pl_node_stop(&b);
    event_base_free(base);
}

static void test_persistent_identity(void **state)
{
    (void)state;
    char dir[] = "/tmp/tc-p2p-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct event_base *base = event_base_new();
    node a;
    pl_node_init(&a);
    tc_p2p_config c;
    pl_node_config(&a, &c);
    c.datadir = dir;
    pl_node_start_cfg(&a, base, 1, &c);
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
    pl_node_start(&b, base, 2);
    assert_true(pl_connect_pair(base, &b, &a));
    pl_node_stop(&a);
    pl_node_stop(&b);
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
    pl_node_init(&b);
    tc_p2p_config cb;
    pl_node_config(&b, &cb);
    cb.max_inbound = 1;
    cb.inbound_per_minute = 3;
    pl_node_start_cfg(&b, base, 2, &cb);
    pl_node_start(&a, base, 1);
    pl_node_start(&c, base, 3);
    /* one inbound allowed: the second is refused at accept, no ban */
    assert_true(pl_connect_pair(base, &a, &b));
    char ab[64];
    pl_addr_of(&b, ab, sizeof ab);
    assert_int_equal(tc_p2p_connect(c.p, ab), 0);
    uint64_t want = 1;
    void *arg[2] = {b.p, &want};
    assert_true(pl_run_until(base, refused_at_least, arg, 3000));
    assert_int_equal(tc_p2p_count(c.p), 0);
    /* new inbound per minute: A's reconnects exhaust the budget of 3 */
    assert_int_equal(tc_p2p_disconnect(b.p, pl_first_peer(b.p)), 0);
    pair_want w = {&a, &b, 0, 0};
    assert_true(pl_run_until(base, pl_counts_are, &w, 3000));
    assert_true(pl_connect_pair(base, &a, &b)); /* 2nd accept */
    assert_int_equal(tc_p2p_disconnect(b.p, pl_first_peer(b.p)), 0);
    assert_true(pl_run_until(base, pl_counts_are, &w, 3000));
    assert_true(pl_connect_pair(base, &a, &b)); /* 3rd accept */
    assert_int_equal(tc_p2p_disconnect(b.p, pl_first_peer(b.p)), 0);
    assert_true(pl_run_until(base, pl_counts_are, &w, 3000));
    want = 2; /* the inbound-limit refusal, then this one */
    assert_int_equal(tc_p2p_connect(a.p, ab), 0); /* 4th within the minute */
    assert_true(pl_run_until(base, refused_at_least, arg, 3000));
    tc_ban *bans;
    assert_int_equal(tc_p2p_listbanned(b.p, &bans), 0);
    pl_node_stop(&a);
    pl_node_stop(&b);
    pl_node_stop(&c);
    event_base_free(base);
}

static void test_autodial_and_reconnect(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node a, b;
    pl_node_init(&a);
    tc_p2p_config ca;
    pl_node_config(&a, &ca);
    ca.outbound_target = 1;
    pl_node_start_cfg(&a, base, 1, &ca);
    pl_node_start(&b, base, 2);
    char ab[64];
    pl_addr_of(&b, ab, sizeof ab);
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
    assert_true(pl_run_until(base, pl_counts_are, &w, 5000)); /* dialled from the book */
    /* B drops A: A reconnects after its backoff */
    assert_int_equal(tc_p2p_disconnect(b.p, pl_first_peer(b.p)), 0);
    w.na = w.nb = 0;
    assert_true(pl_run_until(base, pl_counts_are, &w, 3000));
    w.na = w.nb = 1;
    assert_true(pl_run_until(base, pl_counts_are, &w, 5000));
    assert_int_equal(a.ups, 2);
    assert_int_equal(a.downs, 1); /* reported from the loop */
    assert_int_equal(b.downs, 1);
    /* the address book is persisted */
    assert_true(tc_netstore_mem_addr_count(a.mem) >= 1);
    pl_node_stop(&a);
    pl_node_stop(&b);
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
    pl_node_start(&a, base, 1); /* outbound target 0: only the mesh dials */
    pl_node_start(&b, base, 2);
    pl_node_start(&c, base, 3);
    char ab[64], ac[64], aa[64];
    pl_addr_of(&b, ab, sizeof ab);
    pl_addr_of(&c, ac, sizeof ac);
    pl_addr_of(&a, aa, sizeof aa);
    const char *vals[] = {ab, ac, aa, "bad address"};
    tc_p2p_set_mesh(a.p, vals, 4);
    node *all[3] = {&a, &b, &c};
    assert_true(pl_run_until(base, mesh_up, all, 5000));
    pl_run_for(base, 200);
    assert_int_equal(tc_p2p_count(a.p), 2); /* never itself */
    pl_node_stop(&a);
    pl_node_stop(&b);
    pl_node_stop(&c);
    event_base_free(base);
}

static void test_bans_survive_restart(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node b;
    pl_node_start(&b, base, 2);
    assert_int_equal(tc_p2p_setban(b.p, "10.9.8.7", 3600000, "test"), 0);
    assert_int_equal(tc_p2p_setban(b.p, "", 0, NULL), TC_EINVAL);
    tc_p2p_free(b.p);
    tc_p2p_config c;
    pl_node_config(&b, &c);
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
    assert_true(pl_run_until(base, pl_no_conns, b.p, 3000));
    pl_node_stop(&b);
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
    pl_node_init(&a);
    tc_p2p_config ca;
    pl_node_config(&a, &ca);
    ca.getpeers_interval_ms = 100; /* the timer asks again soon */
    pl_node_start_cfg(&a, base, 1, &ca);
    pl_node_start(&b, base, 2);
    char addr[48];
    for (unsigned i = 0; i < 20; i++) { /* one group: room left in B's buckets at A */
        snprintf(addr, sizeof addr, "127.3.0.%u:9", 1 + i);
        assert_int_equal(tc_p2p_add_address(b.p, addr, TC_ADDR_SEED), 0);
    }
    assert_true(pl_connect_pair(base, &a, &b));
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
    assert_int_equal(tc_p2p_send(b.p, pl_first_peer(b.p), &m), 0);
    WAIT_STAT(base, &a, addrs_learned, sa.addrs_learned + 1, 3000);
    pl_run_for(base, 100); /* ticks: the book is flushed */
    offered o = {0, 0};
    assert_int_equal(a.st.addr_load(a.st.ctx, count_offered, &o), 0);
    assert_true(o.first >= 1);
    assert_int_equal(o.rest, 0);
    tc_msg_release(&m);

    /* a raw client floods B with unasked peers: never stored, banned */
    pl_run_for(base, 100);
    size_t stored = tc_netstore_mem_addr_count(b.mem);
    tc_p2p_get_stats(b.p, &sb);
    raw_job j;
    pl_hostile(base, &b, &j, ATK_PEERS_FLOOD, 30);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_PROTOCOL);
    assert_true(pl_key_banned(&b, &j.kp.pk));
    tc_p2p_stats sb1;
    tc_p2p_get_stats(b.p, &sb1);
    assert_int_equal(sb1.peers_unsolicited - sb.peers_unsolicited, TC_BANSCORE_BAN / TC_P2P_UNSOLICITED_POINTS);
    assert_int_equal(sb1.addrs_learned, sb.addrs_learned);
    pl_run_for(base, 100);
    assert_int_equal(tc_netstore_mem_addr_count(b.mem), stored);
    assert_int_equal(tc_p2p_count(b.p), 1); /* A stays */
    pl_node_stop(&a);
    pl_node_stop(&b);
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
    pl_node_init(&a);
    tc_p2p_config ca;
    pl_node_config(&a, &ca);
    ca.outbound_target = 3;
    pl_node_start_cfg(&a, base, 1, &ca);
    const char *listen[3] = {"127.0.0.1:0", "127.0.0.1:0", "127.0.1.1:0"};
    for (int i = 0; i < 3; i++) {
        pl_node_init(&peer[i]);
        tc_p2p_config c;
        pl_node_config(&peer[i], &c);
        c.listen = listen[i];
        pl_node_start_cfg(&peer[i], base, (uint8_t)(2 + i), &c);
        char addr[48];
        snprintf(addr, sizeof addr, "%.*s:%u", (int)(strlen(listen[i]) - 2), listen[i],
                 tc_p2p_listen_port(peer[i].p));
        assert_int_equal(tc_p2p_add_address(a.p, addr, TC_ADDR_GOSSIP), 0);
    }
    assert_true(pl_run_until(base, outbound_at_least, &a, 5000));
    pl_run_for(base, 500);
    assert_int_equal(tc_p2p_count(a.p), 2);
    assert_int_equal(tc_p2p_count(peer[2].p), 1); /* the only one of its group */
    assert_int_equal(tc_p2p_count(peer[0].p) + tc_p2p_count(peer[1].p), 1);
    pl_node_stop(&a);
    for (int i = 0; i < 3; i++)
        pl_node_stop(&peer[i]);
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
    if (pl_raw_open(&r, j->port, &j->kp) != 0 || pl_raw_handshake_v(&r, &j->kp, j->protocol) != 0)
        goto out;
    j->handshake_ok = true;
    uint8_t frame[TC_FRAME_HEADER_SIZE + 12];
    memset(frame, 0x33, sizeof frame);
    for (int i = 0; i < j->n_unknown; i++) {
        tc_frame_header_encode(frame, PL_MAGIC, (uint16_t)(TC_MSG_TYPE_END + 7 + i % 3), 12);
        if (pl_raw_write(&r, frame, sizeof frame) != 0)
            break;
    }
    tc_msg ping;
    tc_msg_init(&ping, TC_MSG_PING);
    ping.u.ping.nonce = 4242;
    if (pl_raw_send(&r, &ping) != 0) {
        j->closed = true;
        goto out;
    }
    for (;;) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        int rc = pl_raw_recv(&r, &t, &p, &n);
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
    pl_raw_close(&r);
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
    bool ok = pl_run_until(base, peer_done, j, 15000);
    pthread_join(th, NULL);
    assert_true(ok);
    pl_run_for(base, 50);
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
        pl_node_init(&b);
        tc_p2p_config cb;
        pl_node_config(&b, &cb);
        tc_p2p_config d;
        tc_p2p_config_default(&d);
        cb.inbound_per_minute = d.inbound_per_minute; /* 30 */
        cb.inbound_per_group = d.inbound_per_group;   /* 8, burst 4 */
        cb.max_inbound_per_group = d.max_inbound_per_group;
        cb.ban_addresses = true;
        cb.ban_loopback = round == 1;
        pl_node_start_cfg(&b, base, 2, &cb);
        flood_job f = {.port = tc_p2p_listen_port(b.p)};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, flood_thread, &f), 0);
        /* far more than the total of 30 a minute, before the honest peer comes */
        uint64_t want = 200;
        void *arg[2] = {b.p, &want};
        bool flooding = pl_run_until(base, refused_at_least, arg, 5000);
        peer_job h;
        run_peer(base, &h, tc_p2p_listen_port(b.p), 40 + (uint8_t)round, TC_PROTOCOL_VERSION, 0);
        atomic_store(&f.stop, 1);
        pthread_join(th, NULL);
        pl_run_for(base, 50);
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
        pl_node_stop(&b);
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
    pl_node_start(&a, base, 1);
    pl_node_start(&b, base, 2);
    uint16_t port = tc_p2p_listen_port(b.p);
    struct rlimit orig;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &orig), 0);
    tc_p2p_stats s0, s1;
    tc_p2p_get_stats(b.p, &s0);

    /* low: the client's socket takes L, the accepted one L + 1 */
    int low = lowest_free_fd();
    set_soft_limit((rlim_t)low + TC_FDLIMIT_RESERVE + 1);
    int fd = pl_tcp_connect(port);
    assert_true(fd >= 0);
    pl_run_for(base, 100);
    char byte;
    assert_int_equal(read(fd, &byte, 1), 0); /* closed at once */
    close(fd);
    tc_p2p_get_stats(b.p, &s1);
    assert_int_equal(s1.refused_fd - s0.refused_fd, 1);
    assert_int_equal(s1.accept_pauses - s0.accept_pauses, 1);

    /* out: accept() itself fails; the listener pauses, doubling */
    set_soft_limit((rlim_t)low + 1);
    fd = pl_tcp_connect(port); /* waits in the backlog */
    assert_true(fd >= 0);
    pl_run_for(base, 1500);
    tc_p2p_get_stats(b.p, &s0);
    assert_in_range(s0.accept_pauses - s1.accept_pauses, 1, 5);
    assert_int_equal(s0.accepted, s1.accepted);

    /* outbound: ordinary dials keep out of the reserve, the mesh may use part */
    set_soft_limit((rlim_t)low + TC_FDLIMIT_RESERVE);
    char ab[64];
    pl_addr_of(&b, ab, sizeof ab);
    assert_int_equal(tc_p2p_connect(a.p, ab), TC_ELIMIT);
    const char *mesh[] = {ab};
    tc_p2p_set_mesh(a.p, mesh, 1);
    assert_int_equal(tc_p2p_connect(a.p, ab), 0);

    /* descriptors back: the waiting client is accepted, the mesh link comes up */
    set_soft_limit(orig.rlim_cur);
    uint64_t want = s0.accepted + 1;
    void *arg[2] = {b.p, &want};
    assert_true(pl_run_until(base, accepted_at_least, arg, 6000));
    close(fd);
    pair_want w = {&a, &b, 1, 1};
    assert_true(pl_run_until(base, pl_counts_are, &w, 8000));
    pl_node_stop(&a);
    pl_node_stop(&b);
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
    pl_node_start(&b, base, 2);
    uint16_t port = tc_p2p_listen_port(b.p);
    peer_job j;
    run_peer(base, &j, port, 50, TC_PROTOCOL_VERSION + 1, 3);
    assert_true(j.handshake_ok);
    assert_true(j.served);
    assert_false(pl_key_banned(&b, &j.kp.pk));
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
    assert_true(pl_key_banned(&b, &j.kp.pk));

    /* a flood of them from a newer peer: dropped past the bucket, then banned */
    run_peer(base, &j, port, 52, TC_PROTOCOL_VERSION + 1, 400);
    assert_true(j.handshake_ok);
    assert_true(j.closed);
    assert_int_equal(j.reject, TC_ENET_RATE);
    assert_true(pl_key_banned(&b, &j.kp.pk));
    tc_p2p_get_stats(b.p, &s);
    assert_true(s.dropped[TC_MC_CONTROL] >= 100);
    assert_true(s.unknown_msgs < 3 + 100);

    /* older than we speak with: refused at the handshake */
    if (TC_PROTOCOL_MIN_VERSION > 1) {
        run_peer(base, &j, port, 53, TC_PROTOCOL_MIN_VERSION - 1, 0);
        assert_false(j.handshake_ok);
    }
    tc_keypair_wipe(&j.kp);
    pl_node_stop(&b);
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
        cmocka_unit_test(test_setban_and_address_bans),
        cmocka_unit_test(test_persistent_identity),
        cmocka_unit_test(test_inbound_limits),
        cmocka_unit_test(test_autodial_and_reconnect),
        cmocka_unit_test(test_bans_survive_restart),
        cmocka_unit_test(test_validator_mesh),
        cmocka_unit_test(test_inbound_flood),
        cmocka_unit_test(test_descriptor_reserve),
        cmocka_unit_test(test_address_gossip),
        cmocka_unit_test(test_outbound_group_diversity),
        cmocka_unit_test(test_newer_protocol_peer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
