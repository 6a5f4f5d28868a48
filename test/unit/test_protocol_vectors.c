/* Wire test vectors of docs/protocol.md §12: fixed inputs, fixed Ed25519
 * seeds (signatures are deterministic), the exact bytes this node puts on
 * the wire. The hex below is the hex the doc shows, and test_doc_shows_them
 * reads the doc (run from the repository root, as `make test-unit` does) to
 * check it still does: a change to any encoder, hash domain or signing
 * preimage, or an edit of the doc's vectors, fails here. A mismatch prints
 * the actual hex with its label. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain/block.h"
#include "chain/cert.h"
#include "chain/params.h"
#include "chain/tx.h"
#include "chain/valset.h"
#include "chain/vote.h"
#include "consensus/proposer.h"
#include "crypto/address.h"
#include "net/frame.h"
#include "net/msg.h"
#include "util/file.h"
#include "util/hex.h"

#define CHAIN 3 /* devnet */

/* ---- the vectors, as docs/protocol.md §12 shows them ------------------- */

#define KEY_A "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define VERSION_DIGEST "7a52883de85348fd1c24de058f22c8366822cc9ad4285867b90ec511b69af11b"
#define VERSION_SIG \
    "f5cea161e2b62f9b2da2d94c872e9e7924cf44d40d45f342c0b6c9cf80becf03" \
    "127cc6b34446ca5d42cca4ff694356d99e1341bdc9a7542fa041391eb7278402"
#define VERSION_PAYLOAD \
    "0100000003000000111111111111111111111111111111111111111111111111" \
    "11111111111111118139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a2" \
    "5df60f5b8fc9b39405000000000000000f3132372e302e302e313a3234323030" \
    "efcdab89674523011074696d65636f696e3a766563746f7273f5cea161e2b62f" \
    "9b2da2d94c872e9e7924cf44d40d45f342c0b6c9cf80becf03127cc6b34446ca" \
    "5d42cca4ff694356d99e1341bdc9a7542fa041391eb7278402"
#define VOTE_DIGEST "4ae4bb47c50a173636e755a537f8501f5c62355efa70b9ff3019815b8be77890"
#define VOTE_ENC \
    "02050000000000000001000000ababababababababababababababababababab" \
    "ababababababababababababab8a88e3dd7409f195fd52db2d3cba5d72ca6709" \
    "bf1d94121bf3748801b40f6f5c915bd6f8d14a116ac87d10adb59b03eb3bcc6d" \
    "517162138eb0c506875bc301be577ad5309d16cb7efbe690c4e312f03c13d77f" \
    "fc58ad05d296d215acf2cfcf05"
#define TX_UNSIGNED \
    "0100000000014444444444444444444444444444444444444444444444444444" \
    "44444444444401000000ed4928c628d1c2c6eae90338905995612959273a5c63" \
    "f93636c14614ac8737d10180d1f0080000000000e505f1884eda3b66ea05a517" \
    "3d2c224a9e5e33d59ba6397f6c85f357a350ba2900000000"
#define TXID "ced5fafc0fab38a5f5f985480264c1bf9dabe55ab33810ae559dfc53787afb3c"
#define SIGHASH "8d74f46f8f718139b300a92503b18a943cfba626b51be8dad50f57910db7316b"
#define TX_ENC \
    "0100000000014444444444444444444444444444444444444444444444444444" \
    "44444444444401000000ed4928c628d1c2c6eae90338905995612959273a5c63" \
    "f93636c14614ac8737d10180d1f0080000000000e505f1884eda3b66ea05a517" \
    "3d2c224a9e5e33d59ba6397f6c85f357a350ba2900000000c712a65927205197" \
    "e679fb3de0054f0938def911824de4f7466cd0e7e18aa2027c2c0227297117d5" \
    "d28bbe257f6d2ca2b0d6355cae6cac437fc6abb7f3973a0c"
#define EMPTY_CERT_HASH "8128a8fadd3cde48b01bb03b421216611f395c87f63808a702bec60d63bceeeb"
#define CERT_ENC \
    "050000000000000001000000abababababababababababababababababababab" \
    "abababababababababababab026e7a1cdd29b0b78fd13af4c5598feff4ef2a97" \
    "166e3ca6f2e4fbfccd80505bf1d645721be9e2a1c8918cb262c3483181ae2f2b" \
    "4f1ba079a3294c3ed834d776339e0a55cc222b9293fa82e9c029a5b36adb6475" \
    "ba4def62003649339a607e820a8a88e3dd7409f195fd52db2d3cba5d72ca6709" \
    "bf1d94121bf3748801b40f6f5c915bd6f8d14a116ac87d10adb59b03eb3bcc6d" \
    "517162138eb0c506875bc301be577ad5309d16cb7efbe690c4e312f03c13d77f" \
    "fc58ad05d296d215acf2cfcf05"
#define CERT_HASH "1752ba94a04baea3edf10ff44c95c4cab574933b959b7d13e8cf3d0ea1e7c2c5"
#define HEADER_ENC \
    "0100000003000000010000000000000011111111111111111111111111111111" \
    "111111111111111111111111111111110068e5cf8b0100008a88e3dd7409f195" \
    "fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5cced5fafc0fab38a5" \
    "f5f985480264c1bf9dabe55ab33810ae559dfc53787afb3c2222222222222222" \
    "2222222222222222222222222222222222222222222222228128a8fadd3cde48" \
    "b01bb03b421216611f395c87f63808a702bec60d63bceeeb3333333333333333" \
    "333333333333333333333333333333333333333333333333"
#define BLOCK_ID "e984c3afd06a481ce2641055170ce41beb01f657f2504a2334b5ef0b5d427652"
#define BLOCK_ENC \
    "0100000003000000010000000000000011111111111111111111111111111111" \
    "111111111111111111111111111111110068e5cf8b0100008a88e3dd7409f195" \
    "fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5cced5fafc0fab38a5" \
    "f5f985480264c1bf9dabe55ab33810ae559dfc53787afb3c2222222222222222" \
    "2222222222222222222222222222222222222222222222228128a8fadd3cde48" \
    "b01bb03b421216611f395c87f63808a702bec60d63bceeeb3333333333333333" \
    "3333333333333333333333333333333333333333333333330101000000000144" \
    "4444444444444444444444444444444444444444444444444444444444444401" \
    "000000ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac" \
    "8737d10180d1f0080000000000e505f1884eda3b66ea05a5173d2c224a9e5e33" \
    "d59ba6397f6c85f357a350ba2900000000c712a65927205197e679fb3de0054f" \
    "0938def911824de4f7466cd0e7e18aa2027c2c0227297117d5d28bbe257f6d2c" \
    "a2b0d6355cae6cac437fc6abb7f3973a0c000000000000000000000000000000" \
    "000000000000000000000000000000000000000000000000000000000000"
#define PROPOSAL_DIGEST "0d950b67426eeb2c523072e734f09c56a89ad08ebb23ea1dec6babbc5f1f9615"
#define PROPOSAL_ENC \
    "010000000000000000000000ffffffffe984c3afd06a481ce2641055170ce41b" \
    "eb01f657f2504a2334b5ef0b5d4276528a88e3dd7409f195fd52db2d3cba5d72" \
    "ca6709bf1d94121bf3748801b40f6f5c2f8fb4de892f0265ed55478d9ad50619" \
    "269430199abf69c699ea2bd53bcf629a26aebad7642c7c157f79857284838d6e" \
    "dcf18128eced79a81987dabd97426b0f"
#define PROPOSAL_BLOCK_CS "fdbe01"
#define PROPOSER_SLOTS "222221222222222122222222"
#define PROPOSER_H5 "1222"
#define HEARTBEAT_PAYLOAD \
    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c" \
    "05000000000000000068e5cf8b0100000f3132372e302e302e313a3234323030" \
    "90cd5c3e0ea1aa5f1084d84ab2a2fe3d72205179d976b5fc1a5709b41fc17d85" \
    "56f8025bb1ab292719106341d07d45455bb2a495be22cc39d5fe4433facbf408"

/* mnauth: operator A over exporter 32 x 11, chain 3, sender node key of seed 02. */
#define MNAUTH_DIGEST "74b89155be113a4a7d7a07b26ccc15835a806c40fc2044634e726704d21380be"
#define MNAUTH_PAYLOAD \
    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c" \
    "468e474a834c74d2ba7d3002144b0ad5dd5928dda9d4cd615a40820e3e464242" \
    "478baa26c5790941079667e180e8463278a7c90d20976c3b2b629a195ddeb40a"

static const uint8_t DEVNET_MAGIC[4] = {0xDE, 0x7E, 0x7E, 0x4D};

/* Seeds are 32 copies of one byte: 0x01 validator A, 0x02 node key,
 * 0x03 spender, 0x04 payee, 0x05 validator B. */
static void key_of(tc_keypair *kp, uint8_t tag)
{
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    tc_keypair_from_seed(kp, seed);
}

static int mismatches;

static void check_hex(const char *label, const uint8_t *p, size_t n, const char *want)
{
    char *got = malloc(2 * n + 1);
    assert_non_null(got);
    tc_hex_encode(got, p, n);
    if (strcmp(got, want) != 0) {
        /* all of a test's mismatches are printed; its teardown fails it */
        fprintf(stderr, "VECTOR %s (%zu bytes)\n  got  %s\n  want %s\n", label, n, got, want);
        mismatches++;
    }
    free(got);
}

static int no_mismatch(void **state)
{
    (void)state;
    int n = mismatches;
    mismatches = 0;
    if (n)
        fprintf(stderr, "%d vector(s) differ from docs/protocol.md\n", n);
    return n ? -1 : 0;
}

/* ---- frame header ------------------------------------------------------- */

static void test_frame_header(void **state)
{
    (void)state;
    const tc_netparams *np = tc_params_by_chain_id(CHAIN);
    assert_non_null(np);
    assert_memory_equal(np->magic, DEVNET_MAGIC, 4);
    uint8_t h[TC_FRAME_HEADER_SIZE];
    tc_frame_header_encode(h, np->magic, TC_MSG_VOTE, TC_VOTE_SIZE);
    check_hex("frame header vote/141", h, sizeof h, "de7e7e4d0e008d000000");

    /* a whole ping frame: nonce 0x0102030405060708, height 5 */
    tc_msg m;
    tc_msg_init(&m, TC_MSG_PING);
    m.u.ping.nonce = 0x0102030405060708ull;
    m.u.ping.height = 5;
    tc_buf pl, fr;
    tc_buf_init(&pl);
    tc_buf_init(&fr);
    assert_int_equal(tc_msg_encode(&m, &pl), 0);
    tc_frame_encode(&fr, np->magic, TC_MSG_PING, pl.p, pl.len);
    check_hex("ping frame", fr.p, fr.len,
              "de7e7e4d0300100000000807060504030201"
              "0500000000000000");
    tc_buf_release(&pl);
    tc_buf_release(&fr);
}

/* ---- version ------------------------------------------------------------ */

static void test_version(void **state)
{
    (void)state;
    tc_keypair node;
    key_of(&node, 0x02);
    uint8_t exporter[32];
    memset(exporter, 0xee, sizeof exporter);
    tc_msg m;
    tc_msg_init(&m, TC_MSG_VERSION);
    tc_msg_version *v = &m.u.version;
    v->protocol = 1;
    v->chain_id = CHAIN;
    memset(v->genesis.b, 0x11, 32);
    v->node_key = node.pk;
    v->height = 5;
    assert_int_equal(tc_netaddr_set(&v->listen, "127.0.0.1:24200"), 0);
    v->nonce = 0x0123456789abcdefull;
    strcpy(v->user_agent, "timecoin:vectors");

    tc_hash digest;
    tc_msg_version_sign_bytes(v, exporter, &digest);
    check_hex("version sign digest", digest.b, 32, VERSION_DIGEST);
    tc_msg_version_sign(v, exporter, &node);
    check_hex("version sig", v->sig.b, 64, VERSION_SIG);

    tc_buf b;
    tc_buf_init(&b);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    check_hex("version payload", b.p, b.len, VERSION_PAYLOAD);

    /* the preimage is exporter | payload without its signature */
    uint8_t pre[32 + 256];
    assert_true(b.len - 64 + 32 <= sizeof pre);
    memcpy(pre, exporter, 32);
    memcpy(pre + 32, b.p, b.len - 64);
    tc_hash again;
    tc_hash_once(TC_H_HANDSHAKE, pre, 32 + b.len - 64, &again);
    assert_memory_equal(again.b, digest.b, 32);

    tc_msg d;
    assert_int_equal(tc_msg_decode(&d, TC_MSG_VERSION, b.p, b.len), 0);
    assert_int_equal(tc_msg_version_verify(&d.u.version, exporter), 0);
    exporter[0] ^= 1; /* another session */
    assert_int_not_equal(tc_msg_version_verify(&d.u.version, exporter), 0);
    tc_msg_release(&d);
    tc_buf_release(&b);
}

/* ---- vote --------------------------------------------------------------- */

static void test_vote(void **state)
{
    (void)state;
    tc_keypair a;
    key_of(&a, 0x01);
    check_hex("key A", a.pk.b, 32, KEY_A);
    tc_vote v;
    memset(&v, 0, sizeof v);
    v.type = TC_VOTE_PRECOMMIT;
    v.height = 5;
    v.round = 1;
    memset(v.block.b, 0xab, 32);
    tc_vote_sign(&v, CHAIN, &a);

    tc_hash digest;
    tc_vote_sign_bytes(&v, CHAIN, &digest);
    check_hex("vote sign digest", digest.b, 32, VOTE_DIGEST);
    tc_buf b;
    tc_buf_init(&b);
    tc_vote_encode(&v, &b);
    assert_int_equal(b.len, TC_VOTE_SIZE);
    check_hex("vote", b.p, b.len, VOTE_ENC);

    /* preimage: u32 chain id | the 77 bytes before the signature */
    uint8_t pre[4 + 77] = {CHAIN, 0, 0, 0};
    memcpy(pre + 4, b.p, 77);
    tc_hash again;
    tc_hash_once(TC_H_VOTE, pre, sizeof pre, &again);
    assert_memory_equal(again.b, digest.b, 32);
    assert_string_equal(tc_hash_context(TC_H_VOTE), "TimeCoin v1 vote");
    assert_int_equal(tc_verify(&a.pk, digest.b, 32, &v.sig), 0);
    tc_buf_release(&b);
}

/* ---- transaction -------------------------------------------------------- */

static void make_transfer(tc_tx *tx)
{
    tc_keypair spender, payee;
    key_of(&spender, 0x03);
    key_of(&payee, 0x04);
    tc_tx_init(tx);
    tx->version = TC_TX_VERSION;
    tx->kind = TC_TX_TRANSFER;
    tc_tx_alloc(tx, 1, 1);
    memset(tx->in[0].prev.txid.b, 0x44, 32);
    tx->in[0].prev.vout = 1;
    tx->in[0].pubkey = spender.pk;
    tx->out[0].value = 150000000; /* 1.5 coins of 10^8 units */
    tc_address_from_pubkey(&tx->out[0].addr, &payee.pk);
    tx->lock_time = 0;
    tc_tx_sign_input(tx, 0, CHAIN, &spender);
}

static void test_tx(void **state)
{
    (void)state;
    tc_tx tx;
    make_transfer(&tx);
    tc_buf b;
    tc_buf_init(&b);
    tc_tx_encode_unsigned(&tx, &b);
    check_hex("tx unsigned", b.p, b.len, TX_UNSIGNED);
    tc_hash txid, sh;
    tc_tx_txid(&tx, &txid);
    check_hex("txid", txid.b, 32, TXID);
    tc_tx_sighash(&txid, CHAIN, &sh);
    check_hex("sighash", sh.b, 32, SIGHASH);
    b.len = 0;
    tc_tx_encode(&tx, &b);
    check_hex("tx", b.p, b.len, TX_ENC);
    assert_int_equal(tc_verify(&tx.in[0].pubkey, sh.b, 32, &tx.in[0].sig), 0);

    /* a tx message's payload is the encoding itself */
    tc_msg m;
    assert_int_equal(tc_msg_decode(&m, TC_MSG_TX, b.p, b.len), 0);
    assert_int_equal(m.u.tx.len, b.len);
    tc_msg_release(&m);
    tc_buf_release(&b);
    tc_tx_release(&tx);
}

/* ---- certificate -------------------------------------------------------- */

static void make_cert(tc_cert *c)
{
    tc_keypair a, bk;
    key_of(&a, 0x01);
    key_of(&bk, 0x05);
    tc_cert_init(c);
    c->height = 5;
    c->round = 1;
    memset(c->block.b, 0xab, 32);
    const tc_keypair *ks[2] = {&a, &bk};
    for (int i = 0; i < 2; i++) {
        tc_vote v;
        memset(&v, 0, sizeof v);
        v.type = TC_VOTE_PRECOMMIT;
        v.height = c->height;
        v.round = c->round;
        v.block = c->block;
        tc_vote_sign(&v, CHAIN, ks[i]);
        assert_int_equal(tc_cert_add(c, &v), 0);
    }
}

static void test_cert(void **state)
{
    (void)state;
    tc_cert empty;
    tc_cert_init(&empty);
    tc_buf b;
    tc_buf_init(&b);
    tc_cert_encode(&empty, &b);
    assert_int_equal(b.len, 45);
    tc_hash h;
    tc_cert_hash(&empty, &h);
    check_hex("empty cert hash", h.b, 32, EMPTY_CERT_HASH);

    tc_cert c;
    make_cert(&c);
    b.len = 0;
    tc_cert_encode(&c, &b);
    check_hex("cert", b.p, b.len, CERT_ENC);
    tc_cert_hash(&c, &h);
    check_hex("cert hash", h.b, 32, CERT_HASH);
    tc_cert_release(&c);
    tc_buf_release(&b);
}

/* ---- header, block, proposal -------------------------------------------- */

/* Height 1 on top of a genesis hash of 0x11…: one transfer, empty last commit. */
static void make_block(tc_block *blk)
{
    tc_keypair a;
    key_of(&a, 0x01);
    tc_block_init(blk);
    tc_tx tx;
    make_transfer(&tx);
    tc_block_add_tx(blk, &tx);
    tc_tx_release(&tx);
    tc_header *h = &blk->hdr;
    h->version = TC_BLOCK_VERSION;
    h->chain_id = CHAIN;
    h->height = 1;
    memset(h->prev.b, 0x11, 32);
    h->time_ms = 1700000000000ull;
    h->proposer = a.pk;
    tc_block_tx_root(blk, NULL, &h->tx_root);
    memset(h->valset_hash.b, 0x22, 32);
    tc_cert_hash(&blk->last_commit, &h->last_commit_hash);
    memset(h->utxo_commitment.b, 0x33, 32);
}

static void test_header_block_proposal(void **state)
{
    (void)state;
    tc_block blk;
    make_block(&blk);
    tc_hash txid;
    tc_tx_txid(&blk.txs[0], &txid);
    /* one leaf: the root is the txid itself */
    assert_memory_equal(blk.hdr.tx_root.b, txid.b, 32);

    tc_buf b;
    tc_buf_init(&b);
    tc_header_encode(&blk.hdr, &b);
    assert_int_equal(b.len, TC_HEADER_SIZE);
    check_hex("header", b.p, b.len, HEADER_ENC);
    tc_hash id;
    tc_header_hash(&blk.hdr, &id);
    check_hex("block id", id.b, 32, BLOCK_ID);

    b.len = 0;
    tc_block_encode(&blk, &b);
    check_hex("block", b.p, b.len, BLOCK_ENC);

    tc_keypair a;
    key_of(&a, 0x01);
    tc_proposal p;
    memset(&p, 0, sizeof p);
    p.height = 1;
    p.round = 0;
    p.pol_round = -1;
    p.block = id;
    tc_proposal_sign(&p, CHAIN, &a);
    tc_hash digest;
    tc_proposal_sign_bytes(&p, CHAIN, &digest);
    check_hex("proposal sign digest", digest.b, 32, PROPOSAL_DIGEST);
    tc_buf pb;
    tc_buf_init(&pb);
    tc_proposal_encode(&p, &pb);
    assert_int_equal(pb.len, TC_PROPOSAL_SIZE);
    check_hex("proposal", pb.p, pb.len, PROPOSAL_ENC);

    /* the proposal message: proposal | var(block) */
    tc_msg m;
    tc_msg_init(&m, TC_MSG_PROPOSAL);
    m.u.proposal.proposal = (tc_bytes){pb.p, pb.len};
    m.u.proposal.block = (tc_bytes){b.p, b.len};
    tc_buf mb;
    tc_buf_init(&mb);
    assert_int_equal(tc_msg_encode(&m, &mb), 0);
    assert_int_equal(mb.len, TC_PROPOSAL_SIZE + tc_cs_size(b.len) + b.len);
    assert_memory_equal(mb.p, pb.p, pb.len);
    check_hex("proposal msg length prefix", mb.p + pb.len, tc_cs_size(b.len), PROPOSAL_BLOCK_CS);
    tc_msg d;
    assert_int_equal(tc_msg_decode(&d, TC_MSG_PROPOSAL, mb.p, mb.len), 0);
    tc_msg_release(&d);

    tc_buf_release(&mb);
    tc_buf_release(&pb);
    tc_buf_release(&b);
    tc_block_release(&blk);
}

/* ---- heartbeat ---------------------------------------------------------- */

static void test_heartbeat(void **state)
{
    (void)state;
    tc_keypair a;
    key_of(&a, 0x01);
    tc_msg m;
    tc_msg_init(&m, TC_MSG_HEARTBEAT);
    tc_msg_heartbeat *h = &m.u.heartbeat;
    h->key = a.pk;
    h->height = 5;
    h->time_ms = 1700000000000ull;
    assert_int_equal(tc_netaddr_set(&h->addr, "127.0.0.1:24200"), 0);
    tc_msg_heartbeat_sign(h, CHAIN, &a);
    tc_buf b;
    tc_buf_init(&b);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    check_hex("heartbeat payload", b.p, b.len, HEARTBEAT_PAYLOAD);
    assert_int_equal(tc_msg_heartbeat_verify(h, CHAIN), 0);
    assert_int_not_equal(tc_msg_heartbeat_verify(h, CHAIN + 1), 0);
    tc_buf_release(&b);
}

/* ---- mnauth --------------------------------------------------------------- */

static void test_mnauth(void **state)
{
    (void)state;
    tc_keypair a, node;
    key_of(&a, 0x01);
    key_of(&node, 0x02);
    uint8_t exporter[32];
    memset(exporter, 0x11, sizeof exporter);
    tc_hash digest;
    tc_msg_mnauth_sign_bytes(&a.pk, exporter, CHAIN, &node.pk, &digest);
    check_hex("mnauth sign digest", digest.b, 32, MNAUTH_DIGEST);
    tc_msg m;
    tc_msg_init(&m, TC_MSG_MNAUTH);
    tc_msg_mnauth_sign(&m.u.mnauth, exporter, CHAIN, &node.pk, &a);
    tc_buf b;
    tc_buf_init(&b);
    assert_int_equal(tc_msg_encode(&m, &b), 0);
    check_hex("mnauth payload", b.p, b.len, MNAUTH_PAYLOAD);
    assert_int_equal(tc_msg_mnauth_verify(&m.u.mnauth, exporter, CHAIN, &node.pk), 0);
    assert_int_not_equal(tc_msg_mnauth_verify(&m.u.mnauth, exporter, CHAIN, &a.pk), 0);
    tc_buf_release(&b);
}

/* ---- proposer schedule ---------------------------------------------------- */

/* Validators B (weight 1), A (10), spender key C (100): key order B, A, C.
 * The first 24 slots of the schedule as indices into that order, and the
 * proposer of (height 5, rounds 0..3). */
static void test_proposer_schedule(void **state)
{
    (void)state;
    tc_keypair a, b, c;
    key_of(&a, 0x01);
    key_of(&b, 0x05);
    key_of(&c, 0x03);
    tc_valset vs;
    tc_valset_init(&vs);
    assert_int_equal(tc_valset_add(&vs, &a.pk, 10, NULL), 0);
    assert_int_equal(tc_valset_add(&vs, &b.pk, 1, NULL), 0);
    assert_int_equal(tc_valset_add(&vs, &c.pk, 100, NULL), 0);
    assert_memory_equal(vs.v[0].key.b, b.pk.b, 32);
    assert_memory_equal(vs.v[1].key.b, a.pk.b, 32);
    tc_proposer *p = tc_proposer_new(&vs);
    char got[64] = "";
    for (uint64_t s = 0; s < 24; s++) /* height s, round 0 is slot s (period 111) */
        got[s] = (char)('0' + tc_proposer_index(p, s, 0));
    if (strcmp(got, PROPOSER_SLOTS) != 0) {
        fprintf(stderr, "VECTOR proposer slots\n  got  %s\n  want %s\n", got, PROPOSER_SLOTS);
        mismatches++;
    }
    char rounds[8] = "";
    for (uint32_t r = 0; r < 4; r++)
        rounds[r] = (char)('0' + tc_proposer_index(p, 5, r));
    if (strcmp(rounds, PROPOSER_H5) != 0) {
        fprintf(stderr, "VECTOR proposer h5\n  got  %s\n  want %s\n", rounds, PROPOSER_H5);
        mismatches++;
    }
    assert_int_equal(tc_proposer_index(p, 111, 0), tc_proposer_index(p, 0, 0)); /* the period */
    tc_proposer_free(p);
    tc_valset_release(&vs);
}

/* ---- the doc shows these very vectors ------------------------------------ */

static bool is_hex_token(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return false;
    return n > 0;
}

/* The hex of one fenced block: per line, the leading run of hex tokens ('|'
 * separators skipped), up to the first other word (the field's label).
 * Returns the position after the closing fence, or NULL if there is none. */
static const char *block_hex(const char *p, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    while (*p && strncmp(p, "```", 3) != 0) {
        const char *eol = strchr(p, '\n');
        if (eol == NULL)
            return NULL;
        for (const char *t = p; t < eol;) {
            while (t < eol && *t == ' ')
                t++;
            const char *e = t;
            while (e < eol && *e != ' ')
                e++;
            if (e == t)
                break;
            if (!(e - t == 1 && *t == '|')) {
                if (!is_hex_token(t, (size_t)(e - t)))
                    break;
                if (o + (size_t)(e - t) < cap) {
                    memcpy(out + o, t, (size_t)(e - t));
                    o += (size_t)(e - t);
                    out[o] = 0;
                }
            }
            t = e;
        }
        p = eol + 1;
    }
    return *p ? p + 3 : NULL;
}

static bool doc_has_block(const char *doc, const char *want)
{
    static char hex[8192];
    for (const char *p = strstr(doc, "## 12. Test vectors"); p && (p = strstr(p, "```")) != NULL;) {
        p = strchr(p, '\n'); /* past the opening fence and its info string */
        if (p == NULL || (p = block_hex(p + 1, hex, sizeof hex)) == NULL)
            return false;
        if (strcmp(hex, want) == 0)
            return true;
    }
    return false;
}

static void test_doc_shows_them(void **state)
{
    (void)state;
    char *doc = NULL;
    size_t n;
    tc_errmsg e;
    assert_int_equal(tc_file_read("docs/protocol.md", 1u << 20, false, &doc, &n, &e), 0);
    static const struct {
        const char *label, *hex;
    } blocks[] = {
        {"ping frame", "de7e7e4d0300100000000807060504030201" "0500000000000000"},
        {"version payload", VERSION_PAYLOAD}, {"vote", VOTE_ENC},   {"cert", CERT_ENC},
        {"tx", TX_ENC},                       {"header", HEADER_ENC}, {"proposal", PROPOSAL_ENC},
        {"heartbeat payload", HEARTBEAT_PAYLOAD},
        {"mnauth payload", MNAUTH_PAYLOAD},
    };
    static const struct {
        const char *label, *hex;
    } inline_hex[] = {
        {"key A", KEY_A},
        {"version sign digest", VERSION_DIGEST},
        {"vote sign digest", VOTE_DIGEST},
        {"txid", TXID},
        {"sighash", SIGHASH},
        {"empty cert hash", EMPTY_CERT_HASH},
        {"cert hash", CERT_HASH},
        {"block id", BLOCK_ID},
        {"proposal sign digest", PROPOSAL_DIGEST},
        {"proposal msg length prefix", PROPOSAL_BLOCK_CS},
        {"frame header vote/141", "de7e7e4d 0e00 8d000000"},
        {"proposer slots", "`" PROPOSER_SLOTS "`"},
        {"proposer h5", "`" PROPOSER_H5 "`"},
        {"mnauth sign digest", MNAUTH_DIGEST},
    };
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        if (!doc_has_block(doc, blocks[i].hex)) {
            fprintf(stderr, "VECTOR %s: no block of docs/protocol.md §12 shows\n  %s\n", blocks[i].label,
                    blocks[i].hex);
            mismatches++;
        }
    for (size_t i = 0; i < sizeof inline_hex / sizeof inline_hex[0]; i++)
        if (strstr(doc, inline_hex[i].hex) == NULL) {
            fprintf(stderr, "VECTOR %s: docs/protocol.md does not show %s\n", inline_hex[i].label,
                    inline_hex[i].hex);
            mismatches++;
        }
    tc_file_free(doc, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_frame_header, no_mismatch),
        cmocka_unit_test_teardown(test_version, no_mismatch),
        cmocka_unit_test_teardown(test_vote, no_mismatch),
        cmocka_unit_test_teardown(test_tx, no_mismatch),
        cmocka_unit_test_teardown(test_cert, no_mismatch),
        cmocka_unit_test_teardown(test_header_block_proposal, no_mismatch),
        cmocka_unit_test_teardown(test_heartbeat, no_mismatch),
        cmocka_unit_test_teardown(test_mnauth, no_mismatch),
        cmocka_unit_test_teardown(test_proposer_schedule, no_mismatch),
        cmocka_unit_test_teardown(test_doc_shows_them, no_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
