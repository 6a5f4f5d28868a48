/* Handshake state machine (every accept / disconnect / ban path) and the
 * known-inventory filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/handshake.h"
#include "net/knownset.h"

typedef struct {
    tc_keypair a, b; /* two nodes */
    tc_hs_config cfg_a, cfg_b;
    uint8_t exporter[32];
} world;

static void kp(tc_keypair *k, uint8_t s)
{
    uint8_t seed[32];
    memset(seed, s, 32);
    tc_keypair_from_seed(k, seed);
}

static void setup_world(world *w)
{
    kp(&w->a, 1);
    kp(&w->b, 2);
    tc_hs_config c = {.chain_id = 3, .local_nonce = 111, .min_protocol = 1, .max_protocol = 1};
    memset(c.genesis.b, 0x99, 32);
    w->cfg_a = c;
    c.local_nonce = 222;
    w->cfg_b = c;
    memset(w->exporter, 0x5e, 32);
}

/* A's handshake having completed TLS with B. */
static void a_side(const world *w, tc_handshake *hs)
{
    tc_handshake_init(hs, &w->cfg_a);
    assert_int_equal(hs->state, TC_HS_AWAIT_TLS);
    tc_handshake_tls_done(hs, w->exporter, &w->b.pk);
    assert_int_equal(hs->state, TC_HS_AWAIT_VERSION);
}

/* B's version for this session. */
static void b_version(const world *w, tc_msg *m)
{
    tc_handshake hb;
    tc_handshake_init(&hb, &w->cfg_b);
    tc_handshake_tls_done(&hb, w->exporter, &w->a.pk);
    tc_msg_init(m, TC_MSG_VERSION);
    tc_handshake_make_version(&hb, &w->b, 42, "127.0.0.1:24210", "test/1", &m->u.version);
}

static void test_both_sides_complete(void **state)
{
    (void)state;
    world w;
    setup_world(&w);
    tc_handshake ha, hb;
    a_side(&w, &ha);
    tc_handshake_init(&hb, &w.cfg_b);
    tc_handshake_tls_done(&hb, w.exporter, &w.a.pk);

    tc_msg va, vb, ack;
    tc_msg_init(&va, TC_MSG_VERSION);
    tc_msg_init(&vb, TC_MSG_VERSION);
    tc_msg_init(&ack, TC_MSG_VERACK);
    tc_handshake_make_version(&ha, &w.a, 7, "127.0.0.1:1", "ua-a", &va.u.version);
    tc_handshake_make_version(&hb, &w.b, 9, "", "ua-b", &vb.u.version);
    assert_int_equal(tc_handshake_on_message(&ha, &vb), TC_HS_CONTINUE);
    assert_int_equal(tc_handshake_on_message(&hb, &va), TC_HS_CONTINUE);
    assert_int_equal(ha.state, TC_HS_AWAIT_VERACK);
    assert_int_equal(tc_handshake_on_message(&ha, &ack), TC_HS_DONE);
    assert_int_equal(tc_handshake_on_message(&hb, &ack), TC_HS_DONE);
    assert_int_equal(ha.state, TC_HS_ESTABLISHED);
    assert_int_equal(ha.peer.height, 9);
    assert_int_equal(hb.peer.height, 7);
    assert_string_equal(hb.peer.listen.s, "127.0.0.1:1");
    assert_memory_equal(ha.peer.node_key.b, w.b.pk.b, 32);
    /* a message after ESTABLISHED is not for the handshake */
    assert_int_equal(tc_handshake_on_message(&ha, &ack), TC_HS_BAN);
    assert_int_equal(ha.err, TC_ESTATE);
}

static void expect(const world *w, tc_msg *m, enum tc_hs_action act, int err)
{
    tc_handshake h;
    a_side(w, &h);
    assert_int_equal(tc_handshake_on_message(&h, m), act);
    assert_int_equal(h.err, err);
    assert_int_equal(h.state, TC_HS_FAILED);
}

static void test_violations_ban(void **state)
{
    (void)state;
    world w;
    setup_world(&w);
    tc_msg m;

    /* anything before version */
    tc_msg ping;
    tc_msg_init(&ping, TC_MSG_PING);
    expect(&w, &ping, TC_HS_BAN, TC_ENET_PROTOCOL);
    tc_msg ack;
    tc_msg_init(&ack, TC_MSG_VERACK);
    expect(&w, &ack, TC_HS_BAN, TC_ENET_PROTOCOL);

    /* wrong chain id, wrong genesis */
    world w2 = w;
    w2.cfg_b.chain_id = 1;
    b_version(&w2, &m);
    expect(&w, &m, TC_HS_BAN, TC_ENET_CHAIN);
    w2 = w;
    w2.cfg_b.genesis.b[31] ^= 1;
    b_version(&w2, &m);
    expect(&w, &m, TC_HS_BAN, TC_ENET_CHAIN);

    /* a protocol older than A still speaks (re-signed so only the version differs) */
    world w3 = w;
    w3.cfg_a.min_protocol = w3.cfg_a.max_protocol = 2;
    b_version(&w, &m);
    expect(&w3, &m, TC_HS_BAN, TC_ENET_VERSION);

    /* bad signature */
    b_version(&w, &m);
    m.u.version.sig.b[10] ^= 4;
    expect(&w, &m, TC_HS_BAN, TC_ESIG);
    /* a field changed after signing */
    b_version(&w, &m);
    m.u.version.height++;
    expect(&w, &m, TC_HS_BAN, TC_ESIG);

    /* replay: a version signed over another session's exporter */
    w2 = w;
    w2.exporter[0] ^= 1;
    b_version(&w2, &m);
    expect(&w, &m, TC_HS_BAN, TC_ESIG);

    /* node key differs from the certificate's (a relay that terminates TLS) */
    tc_keypair c;
    kp(&c, 3);
    w2 = w;
    w2.b = c;
    b_version(&w2, &m);
    expect(&w, &m, TC_HS_BAN, TC_ENET_KEY);
    tc_keypair_wipe(&c);

    /* a second version instead of verack */
    tc_handshake h;
    a_side(&w, &h);
    b_version(&w, &m);
    assert_int_equal(tc_handshake_on_message(&h, &m), TC_HS_CONTINUE);
    assert_int_equal(tc_handshake_on_message(&h, &m), TC_HS_BAN);
    assert_int_equal(h.err, TC_ENET_PROTOCOL);

    /* a message before TLS completed */
    tc_handshake_init(&h, &w.cfg_a);
    assert_int_equal(tc_handshake_on_message(&h, &m), TC_HS_BAN);
}

/* A peer of a newer protocol talks down to ours: accepted, its version
 * remembered; one older than our minimum is banned. */
static void test_newer_protocol_accepted(void **state)
{
    (void)state;
    world w;
    setup_world(&w);
    w.cfg_b.min_protocol = 1;
    w.cfg_b.max_protocol = 7;
    tc_msg m;
    b_version(&w, &m);
    assert_int_equal(m.u.version.protocol, 7);
    tc_handshake h;
    a_side(&w, &h);
    assert_int_equal(tc_handshake_on_message(&h, &m), TC_HS_CONTINUE);
    tc_msg ack;
    tc_msg_init(&ack, TC_MSG_VERACK);
    assert_int_equal(tc_handshake_on_message(&h, &ack), TC_HS_DONE);
    assert_int_equal(h.peer.protocol, 7);
    /* what A sends is its own version, whatever the peer speaks */
    tc_msg va;
    tc_msg_init(&va, TC_MSG_VERSION);
    tc_handshake_make_version(&h, &w.a, 1, "", "ua", &va.u.version);
    assert_int_equal(va.u.version.protocol, 1);

    /* protocol 0 is below every minimum */
    world w2 = w;
    w2.cfg_b.max_protocol = 0;
    b_version(&w2, &m);
    expect(&w, &m, TC_HS_BAN, TC_ENET_VERSION);
}

static void test_self_connection_disconnects(void **state)
{
    (void)state;
    world w;
    setup_world(&w);
    w.cfg_b.local_nonce = w.cfg_a.local_nonce;
    tc_msg m;
    b_version(&w, &m);
    expect(&w, &m, TC_HS_DISCONNECT, TC_ENET_SELF);

    /* the peer refusing us with a reject: disconnect, no ban (either step) */
    tc_msg rej;
    tc_msg_init(&rej, TC_MSG_REJECT);
    rej.u.reject.code = TC_ENET_BANNED;
    expect(&w, &rej, TC_HS_DISCONNECT, TC_ENET_CLOSED);
    tc_handshake h;
    world w2;
    setup_world(&w2);
    a_side(&w2, &h);
    b_version(&w2, &m);
    assert_int_equal(tc_handshake_on_message(&h, &m), TC_HS_CONTINUE);
    assert_int_equal(tc_handshake_on_message(&h, &rej), TC_HS_DISCONNECT);

    a_side(&w, &h);
    assert_int_equal(tc_handshake_fail(&h, TC_ENET_TIMEOUT, TC_HS_DISCONNECT), TC_HS_DISCONNECT);
    assert_int_equal(h.state, TC_HS_FAILED);
    assert_int_equal(h.err, TC_ENET_TIMEOUT);
}

static void test_knownset(void **state)
{
    (void)state;
    tc_knownset *k = tc_knownset_new(100);
    tc_hash h;
    memset(&h, 0, sizeof h);
    for (uint32_t i = 0; i < 50; i++) {
        tc_le32(h.b + 8, i);
        h.b[0] = (uint8_t)i; /* spread over slots */
        assert_true(tc_knownset_add(k, &h));
        assert_false(tc_knownset_add(k, &h));
    }
    assert_int_equal(tc_knownset_size(k), 50);
    /* far more than the capacity: memory stays bounded, recent items known */
    for (uint32_t i = 50; i < 10000; i++) {
        tc_le32(h.b, i * 2654435761u);
        tc_le32(h.b + 8, i);
        tc_knownset_add(k, &h);
        assert_true(tc_knownset_size(k) <= 100);
        assert_true(tc_knownset_has(k, &h));
    }
    tc_le32(h.b, 9999u * 2654435761u);
    tc_le32(h.b + 8, 9999);
    assert_true(tc_knownset_has(k, &h));
    tc_le32(h.b, 60u * 2654435761u);
    tc_le32(h.b + 8, 60);
    assert_false(tc_knownset_has(k, &h)); /* long forgotten */
    /* colliding start slots still work */
    tc_knownset *k2 = tc_knownset_new(8);
    tc_hash same[4];
    memset(same, 0, sizeof same);
    for (int i = 0; i < 4; i++) {
        same[i].b[31] = (uint8_t)(i + 1);
        assert_true(tc_knownset_add(k2, &same[i]));
    }
    for (int i = 0; i < 4; i++)
        assert_true(tc_knownset_has(k2, &same[i]));
    tc_knownset_free(k2);
    tc_knownset_free(k);
    tc_knownset_free(NULL);
}

int main(void)
{
    if (tc_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_sides_complete),
        cmocka_unit_test(test_violations_ban),
        cmocka_unit_test(test_newer_protocol_accepted),
        cmocka_unit_test(test_self_connection_disconnects),
        cmocka_unit_test(test_knownset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
