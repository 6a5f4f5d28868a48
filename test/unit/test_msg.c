/* Message codecs: every type round-trips byte for byte; every strict prefix,
 * appended byte, oversize count and non-canonical field is rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain/block.h"
#include "chain/cert.h"
#include "chain/tx.h"
#include "chain/vote.h"
#include "net/msg.h"
#include "util/mem.h"

static const uint32_t CHAIN = 3;

static void keypair(tc_keypair *kp, uint8_t seed_byte)
{
    uint8_t seed[32];
    memset(seed, seed_byte, sizeof seed);
    tc_keypair_from_seed(kp, seed);
}

/* Chain objects as byte strings, built with the chain encoders. */
typedef struct {
    tc_buf tx, block, cert, vote_a, vote_b, proposal;
} fixtures;

static void make_fixtures(fixtures *f)
{
    tc_keypair kp;
    keypair(&kp, 7);
    tc_buf_init(&f->tx);
    tc_buf_init(&f->block);
    tc_buf_init(&f->cert);
    tc_buf_init(&f->vote_a);
    tc_buf_init(&f->vote_b);
    tc_buf_init(&f->proposal);

    tc_tx tx;
    tc_tx_init(&tx);
    tc_tx_alloc(&tx, 1, 1);
    memset(tx.in[0].prev.txid.b, 0x11, 32);
    tx.in[0].prev.vout = 1;
    tx.in[0].pubkey = kp.pk;
    tx.out[0].value = 5 * TC_COIN;
    tc_address_from_pubkey(&tx.out[0].addr, &kp.pk);
    tc_tx_sign_input(&tx, 0, CHAIN, &kp);
    tc_tx_encode(&tx, &f->tx);

    tc_block blk;
    tc_block_init(&blk);
    blk.hdr.version = TC_BLOCK_VERSION;
    blk.hdr.chain_id = CHAIN;
    blk.hdr.height = 1;
    blk.hdr.time_ms = 1700000000000ull;
    blk.hdr.proposer = kp.pk;
    tc_tx cb;
    tc_tx_init(&cb);
    cb.kind = TC_TX_COINBASE;
    tc_tx_alloc(&cb, 0, 1);
    cb.u.coinbase_height = 1;
    cb.out[0].value = TC_BLOCK_REWARD;
    tc_address_from_pubkey(&cb.out[0].addr, &kp.pk);
    tc_block_add_tx(&blk, &cb);
    tc_block_tx_root(&blk, NULL, &blk.hdr.tx_root);
    tc_block_encode(&blk, &f->block);

    tc_hash bh;
    tc_header_hash(&blk.hdr, &bh);
    tc_vote v = {.type = TC_VOTE_PRECOMMIT, .height = 1, .round = 0, .block = bh};
    v.validator = kp.pk;
    tc_vote_sign(&v, CHAIN, &kp);
    tc_cert c;
    tc_cert_init(&c);
    c.height = 1;
    c.round = 0;
    c.block = bh;
    assert_int_equal(tc_cert_add(&c, &v), 0);
    tc_cert_encode(&c, &f->cert);
    tc_vote_encode(&v, &f->vote_a);
    tc_vote v2 = v;
    v2.block.b[0] ^= 1;
    tc_vote_sign(&v2, CHAIN, &kp);
    tc_vote_encode(&v2, &f->vote_b);

    tc_proposal pr = {.height = 1, .round = 0, .pol_round = -1, .block = bh, .proposer = kp.pk};
    tc_proposal_sign(&pr, CHAIN, &kp);
    tc_proposal_encode(&pr, &f->proposal);

    tc_cert_release(&c);
    tc_tx_release(&cb);
    tc_block_release(&blk);
    tc_tx_release(&tx);
    tc_keypair_wipe(&kp);
}

static void free_fixtures(fixtures *f)
{
    tc_buf_release(&f->tx);
    tc_buf_release(&f->block);
    tc_buf_release(&f->cert);
    tc_buf_release(&f->vote_a);
    tc_buf_release(&f->vote_b);
    tc_buf_release(&f->proposal);
}

static tc_bytes view(const tc_buf *b)
{
    return (tc_bytes){.p = b->p, .len = b->len};
}

/* One sample of every message type; lists are heap-owned by the message. */
static void sample(tc_msg *m, uint16_t type, const fixtures *f)
{
    tc_msg_init(m, type);
    switch (type) {
    case TC_MSG_VERSION: {
        tc_msg_version *v = &m->u.version;
        tc_keypair kp;
        keypair(&kp, 9);
        v->protocol = 1;
        v->chain_id = CHAIN;
        memset(v->genesis.b, 0x42, 32);
        v->node_key = kp.pk;
        v->height = 77;
        assert_int_equal(tc_netaddr_set(&v->listen, "127.0.0.1:24200"), 0);
        v->nonce = 0x0102030405060708ull;
        strcpy(v->user_agent, "timecoin-c/0.1.0 (test)");
        uint8_t exporter[32] = {1};
        tc_msg_version_sign(v, exporter, &kp);
        tc_keypair_wipe(&kp);
        break;
    }
    case TC_MSG_PING:
    case TC_MSG_PONG:
        m->u.ping.nonce = 0xdeadbeefcafef00dull;
        m->u.ping.height = 12345;
        break;
    case TC_MSG_PEERS:
        m->u.peers.n = 3;
        m->u.peers.v = tc_xcalloc(3, sizeof *m->u.peers.v);
        for (int i = 0; i < 3; i++) {
            char s[32];
            snprintf(s, sizeof s, "10.0.0.%d:24000", i + 1);
            assert_int_equal(tc_netaddr_set(&m->u.peers.v[i].addr, s), 0);
            m->u.peers.v[i].last_seen = 1700000000u + (unsigned)i;
        }
        break;
    case TC_MSG_MASTERNODES:
        m->u.masternodes.n = 2;
        m->u.masternodes.v = tc_xcalloc(2, sizeof *m->u.masternodes.v);
        for (int i = 0; i < 2; i++) {
            tc_msg_mn *e = &m->u.masternodes.v[i];
            memset(e->key.b, 0x30 + i, 32);
            e->tier = (uint8_t)(i + 1);
            assert_int_equal(tc_netaddr_set(&e->addr, "[::1]:24000"), 0);
            e->last_seen_ms = 1700000000000ull + (uint64_t)i;
        }
        break;
    case TC_MSG_HEARTBEAT: {
        tc_keypair kp;
        keypair(&kp, 5);
        m->u.heartbeat.key = kp.pk;
        m->u.heartbeat.height = 99;
        m->u.heartbeat.time_ms = 1700000000123ull;
        assert_int_equal(tc_netaddr_set(&m->u.heartbeat.addr, "node.example:24000"), 0);
        tc_msg_heartbeat_sign(&m->u.heartbeat, CHAIN, &kp);
        tc_keypair_wipe(&kp);
        break;
    }
    case TC_MSG_INV:
    case TC_MSG_GETDATA:
        m->u.inv.type = type == TC_MSG_INV ? TC_INV_TX : TC_INV_BLOCK;
        m->u.inv.n = 2;
        m->u.inv.h = tc_xcalloc(2, sizeof *m->u.inv.h);
        memset(m->u.inv.h[0].b, 0xa1, 32);
        memset(m->u.inv.h[1].b, 0xb2, 32);
        break;
    case TC_MSG_TX:
        m->u.tx = view(&f->tx);
        break;
    case TC_MSG_PROPOSAL:
        m->u.proposal.proposal = view(&f->proposal);
        m->u.proposal.block = view(&f->block);
        break;
    case TC_MSG_VOTE:
        m->u.vote = view(&f->vote_a);
        break;
    case TC_MSG_BLOCK:
        m->u.block.block = view(&f->block);
        m->u.block.cert = view(&f->cert);
        break;
    case TC_MSG_GETBLOCKS:
        m->u.getblocks.from = 10;
        m->u.getblocks.count = TC_MSG_MAX_BLOCKS;
        break;
    case TC_MSG_BLOCKS:
        m->u.blocks.n = 2;
        m->u.blocks.v = tc_xcalloc(2, sizeof *m->u.blocks.v);
        for (int i = 0; i < 2; i++) {
            m->u.blocks.v[i].block = view(&f->block);
            m->u.blocks.v[i].cert = view(&f->cert);
        }
        break;
    case TC_MSG_GETHASH:
        m->u.gethash = 1;
        break;
    case TC_MSG_HASH:
        m->u.hash.height = 1;
        memset(m->u.hash.hash.b, 0x77, 32);
        m->u.hash.cert = view(&f->cert);
        break;
    case TC_MSG_EVIDENCE:
        m->u.evidence.a = view(&f->vote_a);
        m->u.evidence.b = view(&f->vote_b);
        break;
    case TC_MSG_MNAUTH: {
        tc_keypair kp;
        tc_pubkey sender;
        uint8_t exporter[32] = {1};
        keypair(&kp, 6);
        memset(sender.b, 0x42, 32);
        tc_msg_mnauth_sign(&m->u.mnauth, exporter, CHAIN, &sender, &kp);
        tc_keypair_wipe(&kp);
        break;
    }
    case TC_MSG_REJECT:
        m->u.reject.type = TC_MSG_TX;
        m->u.reject.code = TC_ETX_FEE;
        strcpy(m->u.reject.reason, "fee below required");
        break;
    default:
        break;
    }
}

static int setup(void **state)
{
    fixtures *f = tc_xmalloc(sizeof *f);
    make_fixtures(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free_fixtures(*state);
    free(*state);
    return 0;
}

static void test_every_type_roundtrips(void **state)
{
    const fixtures *f = *state;
    for (uint16_t t = 1; t < TC_MSG_TYPE_END; t++) {
        assert_non_null(tc_msg_type_name(t));
        tc_msg m, d;
        sample(&m, t, f);
        tc_buf b, b2;
        tc_buf_init(&b);
        tc_buf_init(&b2);
        assert_int_equal(tc_msg_encode(&m, &b), 0);
        assert_int_equal(tc_msg_decode(&d, t, b.p, b.len), 0);
        assert_int_equal(d.type, t);
        assert_int_equal(tc_msg_encode(&d, &b2), 0);
        assert_int_equal(b.len, b2.len);
        if (b.len)
            assert_memory_equal(b.p, b2.p, b.len);

        /* every strict prefix is rejected */
        for (size_t n = 0; n < b.len; n++) {
            tc_msg x;
            int err = tc_msg_decode(&x, t, b.p, n);
            if (err == 0)
                fail_msg("%s: prefix of %zu/%zu bytes accepted", tc_msg_type_name(t), n, b.len);
            assert_int_equal(x.u.peers.n, 0); /* zeroed on failure */
        }
        /* one trailing byte is rejected */
        uint8_t *longer = tc_xmalloc(b.len + 1);
        if (b.len)
            memcpy(longer, b.p, b.len);
        longer[b.len] = 0;
        tc_msg x;
        assert_int_not_equal(tc_msg_decode(&x, t, longer, b.len + 1), 0);
        free(longer);

        tc_msg_release(&d);
        tc_msg_release(&m);
        tc_buf_release(&b);
        tc_buf_release(&b2);
    }
}

static void test_field_values_survive(void **state)
{
    const fixtures *f = *state;
    tc_msg m, d;
    tc_buf b;
    tc_buf_init(&b);
    sample(&m, TC_MSG_VERSION, f);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    assert_int_equal(tc_msg_decode(&d, TC_MSG_VERSION, b.p, b.len), 0);
    assert_int_equal(d.u.version.protocol, 1);
    assert_int_equal(d.u.version.chain_id, CHAIN);
    assert_int_equal(d.u.version.height, 77);
    assert_int_equal(d.u.version.nonce, 0x0102030405060708ull);
    assert_string_equal(d.u.version.listen.s, "127.0.0.1:24200");
    assert_string_equal(d.u.version.user_agent, "timecoin-c/0.1.0 (test)");
    assert_memory_equal(d.u.version.node_key.b, m.u.version.node_key.b, 32);
    tc_buf_release(&b);

    sample(&m, TC_MSG_PEERS, f);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    assert_int_equal(tc_msg_decode(&d, TC_MSG_PEERS, b.p, b.len), 0);
    assert_int_equal(d.u.peers.n, 3);
    assert_string_equal(d.u.peers.v[2].addr.s, "10.0.0.3:24000");
    assert_int_equal(d.u.peers.v[2].last_seen, 1700000002u);
    tc_msg_release(&d);
    tc_msg_release(&m);
    tc_buf_release(&b);

    sample(&m, TC_MSG_REJECT, f);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    assert_int_equal(tc_msg_decode(&d, TC_MSG_REJECT, b.p, b.len), 0);
    assert_int_equal(d.u.reject.code, TC_ETX_FEE);
    assert_int_equal(d.u.reject.type, TC_MSG_TX);
    assert_string_equal(d.u.reject.reason, "fee below required");
    tc_buf_release(&b);

    /* byte views point into the input */
    sample(&m, TC_MSG_BLOCK, f);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    assert_int_equal(tc_msg_decode(&d, TC_MSG_BLOCK, b.p, b.len), 0);
    assert_int_equal(d.u.block.block.len, f->block.len);
    assert_memory_equal(d.u.block.block.p, f->block.p, f->block.len);
    assert_true(d.u.block.block.p > b.p && d.u.block.block.p < b.p + b.len);
    assert_int_equal(d.u.block.cert.len, f->cert.len);
    tc_buf_release(&b);
}

/* block / blocks check a block's shape only; the node's tc_block_decode is
 * the full check. A proposal's block is still decoded in full. */
static void test_block_shape_only(void **state)
{
    fixtures *f = *state;
    tc_msg m, d;
    tc_buf b, blk;
    tc_buf_init(&b);
    tc_buf_init(&blk);
    /* header and count intact, the transaction behind them corrupted */
    tc_buf_put(&blk, f->block.p, f->block.len);
    blk.p[TC_HEADER_SIZE + 1 + 4] = 0xff; /* first transaction's kind */
    tc_block chk;
    assert_int_not_equal(tc_block_decode(&chk, blk.p, blk.len), 0);
    tc_msg_init(&m, TC_MSG_BLOCK);
    m.u.block.block = view(&blk);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    assert_int_equal(tc_msg_decode(&d, TC_MSG_BLOCK, b.p, b.len), 0);
    assert_int_equal(d.u.block.block.len, blk.len);
    tc_buf_reset(&b);
    tc_msg_init(&m, TC_MSG_PROPOSAL);
    m.u.proposal.proposal = view(&f->proposal);
    m.u.proposal.block = view(&blk);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    assert_int_not_equal(tc_msg_decode(&d, TC_MSG_PROPOSAL, b.p, b.len), 0);

    /* a truncated header, and a count the bytes cannot hold, are refused */
    tc_msg_init(&m, TC_MSG_BLOCK);
    m.u.block.block = (tc_bytes){f->block.p, TC_HEADER_SIZE - 1};
    tc_buf_reset(&b);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    assert_int_equal(tc_msg_decode(&d, TC_MSG_BLOCK, b.p, b.len), TC_ETRUNC);
    tc_buf_reset(&blk);
    tc_buf_put(&blk, f->block.p, TC_HEADER_SIZE);
    tc_buf_cs(&blk, 1000);
    tc_buf_put(&blk, (uint8_t[64]){0}, 64);
    m.u.block.block = view(&blk);
    tc_buf_reset(&b);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    assert_int_equal(tc_msg_decode(&d, TC_MSG_BLOCK, b.p, b.len), TC_ETRUNC);
    tc_msg_init(&m, TC_MSG_BLOCKS);
    m.u.blocks.n = 1;
    m.u.blocks.v = &(tc_msg_block){.block = view(&blk), .cert = view(&f->cert)};
    tc_buf_reset(&b);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    assert_int_equal(tc_msg_decode(&d, TC_MSG_BLOCKS, b.p, b.len), TC_ETRUNC);
    tc_buf_release(&b);
    tc_buf_release(&blk);
}

static void test_unknown_type(void **state)
{
    (void)state;
    tc_msg m;
    tc_buf b;
    tc_buf_init(&b);
    assert_int_equal(tc_msg_decode(&m, 0, NULL, 0), TC_ENET_MSG_TYPE);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_TYPE_END, NULL, 0), TC_ENET_MSG_TYPE);
    assert_int_equal(tc_msg_decode(&m, 0xffff, (const uint8_t *)"x", 1), TC_ENET_MSG_TYPE);
    tc_msg_init(&m, 999);
    assert_int_equal(tc_msg_encode(&m, &b), TC_ENET_MSG_TYPE);
    assert_int_equal(b.len, 0);
    assert_null(tc_msg_type_name(0));
    assert_null(tc_msg_type_name(TC_MSG_TYPE_END));
}

/* Hand-built payloads that break one rule each. */
static void test_bounds_and_canonical(void **state)
{
    (void)state;
    tc_msg m;
    tc_buf b;
    tc_buf_init(&b);

    /* peers: a count over the limit is refused before reading entries */
    tc_buf_cs(&b, TC_MSG_MAX_PEERS + 1);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_PEERS, b.p, b.len), TC_EOVERSIZE);
    /* a count that the remaining input cannot hold */
    tc_buf_reset(&b);
    tc_buf_cs(&b, 500);
    tc_buf_put(&b, "x", 1);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_PEERS, b.p, b.len), TC_ETRUNC);
    /* non-minimal compact size */
    const uint8_t noncanon[] = {0xfd, 0x01, 0x00};
    assert_int_equal(tc_msg_decode(&m, TC_MSG_PEERS, noncanon, sizeof noncanon), TC_ENONCANON);
    /* an empty or non-printable peer address */
    tc_buf_reset(&b);
    tc_buf_cs(&b, 1);
    tc_buf_var(&b, "", 0);
    tc_buf_u64(&b, 1);
    tc_buf_u8(&b, 0); /* so the count check passes and the address is read */
    assert_int_equal(tc_msg_decode(&m, TC_MSG_PEERS, b.p, b.len), TC_ENET_ADDR);
    tc_buf_reset(&b);
    tc_buf_cs(&b, 1);
    tc_buf_var(&b, "a b:1", 5);
    tc_buf_u64(&b, 1);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_PEERS, b.p, b.len), TC_ENET_ADDR);
    /* an address longer than TC_MAX_NETADDR */
    char longaddr[TC_MAX_NETADDR + 2];
    memset(longaddr, 'a', sizeof longaddr);
    tc_buf_reset(&b);
    tc_buf_cs(&b, 1);
    tc_buf_var(&b, longaddr, TC_MAX_NETADDR + 1);
    tc_buf_u64(&b, 1);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_PEERS, b.p, b.len), TC_EOVERSIZE);
    longaddr[TC_MAX_NETADDR + 1] = 0;
    tc_netaddr na;
    assert_int_equal(tc_netaddr_set(&na, longaddr), TC_ENET_ADDR);
    assert_string_equal(na.s, "");

    /* inv: unknown type, empty list, too many */
    tc_buf_reset(&b);
    tc_buf_u8(&b, 3);
    tc_buf_cs(&b, 1);
    tc_buf_put(&b, (uint8_t[32]){0}, 32);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_INV, b.p, b.len), TC_EBADVAL);
    tc_buf_reset(&b);
    tc_buf_u8(&b, TC_INV_TX);
    tc_buf_cs(&b, 0);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_GETDATA, b.p, b.len), TC_EBADVAL);
    tc_buf_reset(&b);
    tc_buf_u8(&b, TC_INV_TX);
    tc_buf_cs(&b, TC_MSG_MAX_INV + 1);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_INV, b.p, b.len), TC_EOVERSIZE);

    /* getblocks: count 0 and over the limit */
    tc_buf_reset(&b);
    tc_buf_u64(&b, 1);
    tc_buf_u32(&b, 0);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_GETBLOCKS, b.p, b.len), TC_EBADVAL);
    tc_buf_reset(&b);
    tc_buf_u64(&b, 1);
    tc_buf_u32(&b, TC_MSG_MAX_BLOCKS + 1);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_GETBLOCKS, b.p, b.len), TC_EOVERSIZE);
    tc_msg_init(&m, TC_MSG_GETBLOCKS);
    m.u.getblocks.count = TC_MSG_MAX_BLOCKS + 1;
    tc_buf_reset(&b);
    assert_int_equal(tc_msg_encode(&m, &b), TC_EOVERSIZE);
    assert_int_equal(b.len, 0);

    /* hash: zero hash must carry an empty certificate */
    tc_buf_reset(&b);
    tc_buf_u64(&b, 5);
    tc_buf_put(&b, (uint8_t[32]){0}, 32);
    tc_buf_var(&b, "xyz", 3);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_HASH, b.p, b.len), TC_ENONCANON);
    tc_buf_reset(&b);
    tc_buf_u64(&b, 5);
    tc_buf_put(&b, (uint8_t[32]){0}, 32);
    tc_buf_cs(&b, 0);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_HASH, b.p, b.len), 0);
    assert_true(tc_hash_is_zero(&m.u.hash.hash));

    /* masternodes: unknown tier */
    tc_buf_reset(&b);
    tc_buf_cs(&b, 1);
    tc_buf_put(&b, (uint8_t[32]){1}, 32);
    tc_buf_u8(&b, 4);
    tc_buf_var(&b, "h:1", 3);
    tc_buf_u64(&b, 0);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_MASTERNODES, b.p, b.len), TC_EBADVAL);

    /* reject: control characters in the reason; reason too long */
    tc_buf_reset(&b);
    tc_buf_u16(&b, 1);
    tc_buf_u32(&b, 0);
    tc_buf_var(&b, "a\nb", 3);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_REJECT, b.p, b.len), TC_EBADVAL);
    char reason[TC_MSG_MAX_REASON + 1];
    memset(reason, 'r', sizeof reason);
    tc_buf_reset(&b);
    tc_buf_u16(&b, 1);
    tc_buf_u32(&b, 0);
    tc_buf_var(&b, reason, sizeof reason);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_REJECT, b.p, b.len), TC_EOVERSIZE);

    /* empty messages carry nothing */
    assert_int_equal(tc_msg_decode(&m, TC_MSG_VERACK, (const uint8_t *)"", 0), 0);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_GETPEERS, (const uint8_t *)"\0", 1), TC_ETRAILING);

    /* tx: garbage is refused by the chain decoder, empty is truncated */
    assert_int_equal(tc_msg_decode(&m, TC_MSG_TX, NULL, 0), TC_ETRUNC);
    assert_int_not_equal(tc_msg_decode(&m, TC_MSG_TX, (const uint8_t *)"garbage!", 8), 0);
    /* tx: larger than any transaction may be */
    uint8_t *big = tc_xcalloc(TC_MAX_TX_SIZE + 1, 1);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_TX, big, TC_MAX_TX_SIZE + 1), TC_EOVERSIZE);
    free(big);
    tc_buf_release(&b);
}

static void test_evidence_must_conflict(void **state)
{
    const fixtures *f = *state;
    tc_msg m;
    tc_buf b;
    tc_buf_init(&b);
    tc_buf_put(&b, f->vote_a.p, f->vote_a.len);
    tc_buf_put(&b, f->vote_a.p, f->vote_a.len);
    assert_int_equal(tc_msg_decode(&m, TC_MSG_EVIDENCE, b.p, b.len), TC_EEVIDENCE);
    tc_buf_release(&b);
}

static void test_version_channel_binding(void **state)
{
    const fixtures *f = *state;
    tc_msg m;
    sample(&m, TC_MSG_VERSION, f);
    uint8_t exporter[32] = {1}, other[32] = {2};
    assert_int_equal(tc_msg_version_verify(&m.u.version, exporter), 0);
    assert_int_equal(tc_msg_version_verify(&m.u.version, other), TC_ESIG);
    m.u.version.height++;
    assert_int_equal(tc_msg_version_verify(&m.u.version, exporter), TC_ESIG);
    m.u.version.height--;
    m.u.version.sig.b[0] ^= 1;
    assert_int_equal(tc_msg_version_verify(&m.u.version, exporter), TC_ESIG);
}

static void test_heartbeat_signature(void **state)
{
    const fixtures *f = *state;
    tc_msg m;
    sample(&m, TC_MSG_HEARTBEAT, f);
    assert_int_equal(tc_msg_heartbeat_verify(&m.u.heartbeat, CHAIN), 0);
    assert_int_equal(tc_msg_heartbeat_verify(&m.u.heartbeat, CHAIN + 1), TC_ESIG);
    m.u.heartbeat.time_ms++;
    assert_int_equal(tc_msg_heartbeat_verify(&m.u.heartbeat, CHAIN), TC_ESIG);
}

/* An mnauth verifies only for the session, chain, sender and key it was
 * made for: it cannot be replayed on another link, sent back by the peer
 * that received it, or claimed for another operator key. */
static void test_mnauth_binding(void **state)
{
    const fixtures *f = *state;
    tc_msg m;
    sample(&m, TC_MSG_MNAUTH, f);
    uint8_t exporter[32] = {1}, other[32] = {2};
    tc_pubkey sender, receiver;
    memset(sender.b, 0x42, 32);
    memset(receiver.b, 0x43, 32);
    assert_int_equal(tc_msg_mnauth_verify(&m.u.mnauth, exporter, CHAIN, &sender), 0);
    assert_int_equal(tc_msg_mnauth_verify(&m.u.mnauth, other, CHAIN, &sender), TC_ESIG);
    assert_int_equal(tc_msg_mnauth_verify(&m.u.mnauth, exporter, CHAIN + 1, &sender), TC_ESIG);
    assert_int_equal(tc_msg_mnauth_verify(&m.u.mnauth, exporter, CHAIN, &receiver), TC_ESIG);
    m.u.mnauth.operator_key.b[0] ^= 1;
    assert_int_equal(tc_msg_mnauth_verify(&m.u.mnauth, exporter, CHAIN, &sender), TC_ESIG);
}

/* The payload tc_msg_encode_refs describes: b's bytes with the refs put in. */
static void assemble(const tc_buf *b, const tc_msg_ref *refs, size_t n, size_t total, tc_buf *out)
{
    size_t done = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(refs[i].at >= done + skipped); /* ascending, inside */
        size_t upto = refs[i].at - skipped;
        tc_buf_put(out, b->p + done, upto - done);
        tc_buf_put(out, refs[i].p, refs[i].len);
        done = upto;
        skipped += refs[i].len;
    }
    tc_buf_put(out, b->p + done, b->len - done);
    assert_int_equal(out->len, total);
}

/* Large objects are referenced, not copied, and the payload they describe
 * is byte for byte tc_msg_encode's; past max_refs, and below the size, they
 * are copied; an oversize message leaves nothing behind. */
static void test_encode_refs(void **state)
{
    (void)state;
    static uint8_t big[5][TC_MSG_REF_MIN + 100], small[TC_MSG_REF_MIN - 1], cert[40];
    for (size_t i = 0; i < 5; i++)
        memset(big[i], 0x10 + (int)i, sizeof big[i]);
    memset(small, 0x77, sizeof small);
    memset(cert, 0x55, sizeof cert);
    tc_msg m;
    tc_msg_init(&m, TC_MSG_BLOCKS);
    m.u.blocks.n = 6;
    m.u.blocks.v = tc_xcalloc(6, sizeof *m.u.blocks.v);
    for (size_t i = 0; i < 6; i++) {
        m.u.blocks.v[i].block = i == 2 ? (tc_bytes){small, sizeof small} : (tc_bytes){big[i % 5], sizeof big[0]};
        m.u.blocks.v[i].cert = (tc_bytes){cert, sizeof cert};
    }
    tc_buf want, b, got;
    tc_buf_init(&want);
    tc_buf_init(&b);
    tc_buf_init(&got);
    assert_int_equal(tc_msg_encode(&m, &want), 0);
    tc_msg_ref refs[3];
    size_t n, total;
    tc_buf_put(&b, (const uint8_t *)"HDR", 3); /* appended after what b holds */
    assert_int_equal(tc_msg_encode_refs(&m, &b, refs, 3, &n, &total), 0);
    assert_int_equal(n, 3); /* blocks 0, 1, 3: the small one and those past 3 are copied */
    assert_ptr_equal(refs[0].p, big[0]);
    assert_ptr_equal(refs[1].p, big[1]);
    assert_ptr_equal(refs[2].p, big[3]);
    assert_int_equal(total, want.len);
    assert_int_equal(b.len, 3 + want.len - 3 * sizeof big[0]);
    tc_buf rest = {.p = b.p + 3, .len = b.len - 3};
    assemble(&rest, refs, n, total, &got);
    assert_memory_equal(got.p, want.p, want.len);

    /* a transaction-sized message: nothing referenced */
    tc_msg t;
    tc_msg_init(&t, TC_MSG_BLOCK);
    t.u.block.block = (tc_bytes){small, sizeof small};
    tc_buf_reset(&b);
    assert_int_equal(tc_msg_encode_refs(&t, &b, refs, 3, &n, &total), 0);
    assert_int_equal(n, 0);
    assert_int_equal(b.len, total);

    /* oversize (9 x 1 MB blocks > 8 MiB): b as it was, no refs */
    static uint8_t huge[1000000];
    tc_msg o;
    tc_msg_init(&o, TC_MSG_BLOCKS);
    o.u.blocks.n = 9;
    o.u.blocks.v = tc_xcalloc(9, sizeof *o.u.blocks.v);
    for (size_t i = 0; i < 9; i++)
        o.u.blocks.v[i] = (tc_msg_block){(tc_bytes){huge, sizeof huge}, (tc_bytes){cert, sizeof cert}};
    tc_buf_reset(&b);
    tc_buf_put(&b, (const uint8_t *)"HDR", 3);
    assert_int_equal(tc_msg_encode_refs(&o, &b, refs, 3, &n, &total), TC_EOVERSIZE);
    assert_int_equal(b.len, 3);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);

    tc_msg_release(&o);
    tc_msg_release(&m);
    tc_buf_release(&want);
    tc_buf_release(&b);
    tc_buf_release(&got);
}

int main(void)
{
    if (tc_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_roundtrips),
        cmocka_unit_test(test_field_values_survive),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_block_shape_only),
        cmocka_unit_test(test_bounds_and_canonical),
        cmocka_unit_test(test_evidence_must_conflict),
        cmocka_unit_test(test_version_channel_binding),
        cmocka_unit_test(test_heartbeat_signature),
        cmocka_unit_test(test_mnauth_binding),
        cmocka_unit_test(test_encode_refs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
