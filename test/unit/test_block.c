/* chain/block: header layout and hash, block round trip with a certificate,
 * merkle root, and the decoder's rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain/block.h"
#include "chain/cert.h"
#include "chain/params.h"
#include "chain/tx.h"
#include "chain/vote.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "util/buf.h"

#define CHAIN 3u

static void fill(void *p, size_t n, uint8_t seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + 29 * i + (i >> 2));
}

static void make_kp(tc_keypair *kp, uint8_t s)
{
    uint8_t seed[32];
    fill(seed, sizeof seed, s);
    tc_keypair_from_seed(kp, seed);
}

static void make_header(tc_header *h)
{
    memset(h, 0, sizeof *h);
    h->version = TC_BLOCK_VERSION;
    h->chain_id = CHAIN;
    h->height = 0x0102030405060708ull;
    fill(h->prev.b, 32, 1);
    h->time_ms = 0x1112131415161718ull;
    fill(h->proposer.b, 32, 2);
    fill(h->tx_root.b, 32, 3);
    fill(h->valset_hash.b, 32, 4);
    fill(h->last_commit_hash.b, 32, 5);
    fill(h->utxo_commitment.b, 32, 6);
}

/* Transactions of a few kinds; seed makes them distinct. */
static void make_tx(tc_tx *tx, uint8_t kind, uint8_t s)
{
    tc_tx_init(tx);
    tx->kind = kind;
    tx->lock_time = s;
    size_t n_in = kind == TC_TX_COINBASE ? 0 : (size_t)(1 + s % 3);
    tc_tx_alloc(tx, n_in, 2);
    for (size_t i = 0; i < n_in; i++) {
        fill(tx->in[i].prev.txid.b, 32, (uint8_t)(s + i));
        tx->in[i].prev.vout = (uint32_t)i;
        fill(tx->in[i].pubkey.b, 32, (uint8_t)(s + 50 + i));
        fill(tx->in[i].sig.b, 64, (uint8_t)(s + 100 + i));
    }
    for (size_t i = 0; i < 2; i++) {
        tx->out[i].value = 100000000ull * (s + i + 1);
        fill(tx->out[i].addr.hash.b, 32, (uint8_t)(s + 150 + i));
    }
    if (kind == TC_TX_COINBASE) {
        tx->u.coinbase_height = 77;
    } else if (kind == TC_TX_MN_REGISTER) {
        tx->u.reg.tier = TC_TIER_BRONZE;
        fill(tx->u.reg.collateral.txid.b, 32, (uint8_t)(s + 1));
        fill(tx->u.reg.owner.b, 32, (uint8_t)(s + 2));
        fill(tx->u.reg.operator_key.b, 32, (uint8_t)(s + 3));
        fill(tx->u.reg.reward.hash.b, 32, (uint8_t)(s + 4));
        strcpy(tx->u.reg.netaddr, "node1.example.org:24000");
        fill(tx->xsig[0].b, 64, (uint8_t)(s + 5));
        fill(tx->xsig[1].b, 64, (uint8_t)(s + 6));
    }
}

/* A certificate for (height, round 1, block) signed by n validators, added
 * in an order that is not the key order. */
static void make_cert(tc_cert *c, uint64_t height, size_t n)
{
    tc_cert_init(c);
    c->height = height;
    c->round = 1;
    fill(c->block.b, 32, 9);
    for (size_t i = 0; i < n; i++) {
        tc_keypair kp;
        make_kp(&kp, (uint8_t)(200 - 7 * i));
        tc_vote v;
        memset(&v, 0, sizeof v);
        v.type = TC_VOTE_PRECOMMIT;
        v.height = height;
        v.round = 1;
        v.block = c->block;
        v.validator = kp.pk;
        tc_vote_sign(&v, CHAIN, &kp);
        assert_int_equal(tc_vote_verify(&v, CHAIN), 0);
        assert_int_equal(tc_cert_add(c, &v), 0);
        assert_int_equal(tc_cert_add(c, &v), TC_EEXIST);
        tc_keypair_wipe(&kp);
    }
    assert_int_equal(c->n, n);
}

static void make_block(tc_block *blk)
{
    tc_block_init(blk);
    make_header(&blk->hdr);
    static const uint8_t kinds[] = {TC_TX_COINBASE, TC_TX_TRANSFER, TC_TX_MN_REGISTER,
                                    TC_TX_TRANSFER};
    for (size_t i = 0; i < sizeof kinds; i++) {
        tc_tx tx;
        make_tx(&tx, kinds[i], (uint8_t)(10 * i + 1));
        tc_block_add_tx(blk, &tx);
        tc_tx_release(&tx);
    }
    tc_cert_release(&blk->last_commit);
    make_cert(&blk->last_commit, blk->hdr.height - 1, 4);
}

static void encode_block(const tc_block *blk, tc_buf *b)
{
    tc_buf_init(b);
    tc_block_encode(blk, b);
}

/* ---- header --------------------------------------------------------------- */

static void test_header_layout(void **state)
{
    (void)state;
    tc_header h;
    make_header(&h);
    tc_buf b;
    tc_buf_init(&b);
    tc_header_encode(&h, &b);
    assert_int_equal(b.len, TC_HEADER_SIZE);
    assert_int_equal(TC_HEADER_SIZE, 216);

    uint8_t want[TC_HEADER_SIZE];
    tc_le32(want + 0, TC_BLOCK_VERSION);
    tc_le32(want + 4, CHAIN);
    tc_le64(want + 8, 0x0102030405060708ull);
    fill(want + 16, 32, 1);
    tc_le64(want + 48, 0x1112131415161718ull);
    fill(want + 56, 32, 2);
    fill(want + 88, 32, 3);
    fill(want + 120, 32, 4);
    fill(want + 152, 32, 5);
    fill(want + 184, 32, 6);
    assert_memory_equal(b.p, want, TC_HEADER_SIZE);

    tc_reader r;
    tc_reader_init(&r, b.p, b.len);
    tc_header back;
    assert_int_equal(tc_header_read(&r, &back), 0);
    assert_int_equal(tc_rd_done(&r), 0);
    assert_memory_equal(&back, &h, sizeof h); /* no padding in tc_header */
    tc_buf_release(&b);
}

static void test_header_read_truncated(void **state)
{
    (void)state;
    tc_header h;
    make_header(&h);
    tc_buf b;
    tc_buf_init(&b);
    tc_header_encode(&h, &b);
    for (size_t len = 0; len < TC_HEADER_SIZE; len++) {
        tc_reader r;
        tc_reader_init(&r, b.p, len);
        tc_header back;
        memset(&back, 0xaa, sizeof back);
        assert_int_equal(tc_header_read(&r, &back), TC_ETRUNC);
        tc_header zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&back, &zero, sizeof zero);
    }
    tc_buf_release(&b);
}

static void test_header_hash(void **state)
{
    (void)state;
    tc_header h;
    make_header(&h);
    tc_buf b;
    tc_buf_init(&b);
    tc_header_encode(&h, &b);
    tc_hash want, base;
    tc_hash_once(TC_H_BLOCK, b.p, b.len, &want);
    tc_header_hash(&h, &base);
    assert_memory_equal(want.b, base.b, 32);
    tc_buf_release(&b);

    for (int f = 0; f < 10; f++) {
        tc_header m = h;
        switch (f) {
        case 0: m.version++; break;
        case 1: m.chain_id = 1; break;
        case 2: m.height++; break;
        case 3: m.prev.b[31] ^= 1; break;
        case 4: m.time_ms++; break;
        case 5: m.proposer.b[0] ^= 0x80; break;
        case 6: m.tx_root.b[7] ^= 1; break;
        case 7: m.valset_hash.b[8] ^= 1; break;
        case 8: m.last_commit_hash.b[9] ^= 1; break;
        case 9: m.utxo_commitment.b[10] ^= 1; break;
        }
        tc_hash got;
        tc_header_hash(&m, &got);
        if (tc_hash_eq(&got, &base))
            fail_msg("header field %d does not change the hash", f);
    }
}

/* ---- block ---------------------------------------------------------------- */

static void test_block_round_trip(void **state)
{
    (void)state;
    tc_block blk, back;
    make_block(&blk);
    /* signers were added out of order; the certificate keeps key order */
    for (size_t i = 1; i < blk.last_commit.n; i++)
        assert_true(memcmp(blk.last_commit.sigs[i - 1].key.b, blk.last_commit.sigs[i].key.b, 32) <
                    0);

    tc_buf b1, b2;
    encode_block(&blk, &b1);
    assert_int_equal(tc_block_size(&blk), b1.len);
    assert_memory_equal(b1.p + TC_HEADER_SIZE, "\x04", 1); /* tx count */

    assert_int_equal(tc_block_decode(&back, b1.p, b1.len), 0);
    assert_memory_equal(&back.hdr, &blk.hdr, sizeof blk.hdr);
    assert_int_equal(back.n_tx, 4);
    for (size_t i = 0; i < 4; i++) {
        tc_hash a, c;
        tc_tx_txid(&blk.txs[i], &a);
        tc_tx_txid(&back.txs[i], &c);
        assert_memory_equal(a.b, c.b, 32);
        assert_int_equal(back.txs[i].kind, blk.txs[i].kind);
    }
    assert_true(back.last_commit.height == blk.hdr.height - 1);
    assert_int_equal(back.last_commit.round, 1);
    assert_int_equal(back.last_commit.n, 4);
    assert_memory_equal(back.last_commit.sigs, blk.last_commit.sigs, 4 * sizeof(tc_cert_sig));
    /* the decoded certificate's votes still verify */
    for (size_t i = 0; i < back.last_commit.n; i++) {
        tc_vote v;
        tc_cert_vote(&back.last_commit, i, &v);
        assert_int_equal(tc_vote_verify(&v, CHAIN), 0);
    }

    encode_block(&back, &b2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    assert_int_equal(tc_block_size(&back), b2.len);

    tc_buf_release(&b1);
    tc_buf_release(&b2);
    tc_block_release(&back);
    tc_block_release(&blk);
    assert_null(blk.txs);
    assert_int_equal(blk.n_tx, 0);
}

static void test_block_empty(void **state)
{
    (void)state;
    /* no txs, empty certificate (height 1): header | 00 | cert(8+4+32+1) */
    tc_block blk, back;
    tc_block_init(&blk);
    make_header(&blk.hdr);
    tc_buf b;
    encode_block(&blk, &b);
    assert_int_equal(b.len, TC_HEADER_SIZE + 1 + 8 + 4 + 32 + 1);
    assert_int_equal(tc_block_size(&blk), b.len);
    assert_int_equal(tc_block_decode(&back, b.p, b.len), 0);
    assert_int_equal(back.n_tx, 0);
    assert_int_equal(back.last_commit.n, 0);
    tc_block_release(&back);
    tc_buf_release(&b);
    tc_block_release(&blk);
}

/* ---- merkle --------------------------------------------------------------- */

static void node(const tc_hash *l, const tc_hash *r, tc_hash *out)
{
    tc_hasher h;
    tc_hasher_init(&h, TC_H_MERKLE);
    tc_hasher_update(&h, l->b, 32);
    tc_hasher_update(&h, r->b, 32);
    tc_hasher_final(&h, out);
}

static void test_merkle_small_trees(void **state)
{
    (void)state;
    tc_hash L[5], root, ab, cd, abcd, want;
    for (int i = 0; i < 5; i++)
        fill(L[i].b, 32, (uint8_t)(40 + i));

    memset(&root, 0xaa, sizeof root);
    tc_merkle_root(NULL, 0, &root);
    assert_true(tc_hash_is_zero(&root));

    tc_merkle_root(L, 1, &root);
    assert_memory_equal(root.b, L[0].b, 32);

    node(&L[0], &L[1], &ab);
    tc_merkle_root(L, 2, &root);
    assert_memory_equal(root.b, ab.b, 32);

    /* 3: the odd leaf is carried up, not duplicated */
    node(&ab, &L[2], &want);
    tc_merkle_root(L, 3, &root);
    assert_memory_equal(root.b, want.b, 32);
    tc_hash dup;
    node(&L[2], &L[2], &cd);
    node(&ab, &cd, &dup);
    assert_false(tc_hash_eq(&root, &dup));

    node(&L[2], &L[3], &cd);
    node(&ab, &cd, &abcd);
    tc_merkle_root(L, 4, &root);
    assert_memory_equal(root.b, abcd.b, 32);

    /* 5: [ab, cd, e] -> [abcd, e] -> root */
    node(&abcd, &L[4], &want);
    tc_merkle_root(L, 5, &root);
    assert_memory_equal(root.b, want.b, 32);

    /* the leaves are not modified */
    for (int i = 0; i < 5; i++) {
        tc_hash x;
        fill(x.b, 32, (uint8_t)(40 + i));
        assert_memory_equal(L[i].b, x.b, 32);
    }
    /* order matters */
    tc_hash sw[2] = {L[1], L[0]};
    tc_merkle_root(sw, 2, &root);
    assert_false(tc_hash_eq(&root, &ab));
}

static void test_merkle_not_txid_domain(void **state)
{
    (void)state;
    /* interior nodes are in their own domain: not a plain BLAKE3 or a txid */
    tc_hash L[2], root, other;
    fill(L[0].b, 32, 1);
    fill(L[1].b, 32, 2);
    tc_merkle_root(L, 2, &root);
    tc_hash_once(TC_H_TXID, L, sizeof L, &other);
    assert_false(tc_hash_eq(&root, &other));
    tc_hash_once(TC_H_BLOCK, L, sizeof L, &other);
    assert_false(tc_hash_eq(&root, &other));
}

static void test_block_tx_root(void **state)
{
    (void)state;
    tc_block blk;
    make_block(&blk);
    tc_hash ids[4], root, root2, want;
    tc_block_tx_root(&blk, ids, &root);
    for (size_t i = 0; i < 4; i++) {
        tc_hash id;
        tc_tx_txid(&blk.txs[i], &id);
        assert_memory_equal(ids[i].b, id.b, 32);
    }
    tc_merkle_root(ids, 4, &want);
    assert_memory_equal(root.b, want.b, 32);
    tc_block_tx_root(&blk, NULL, &root2);
    assert_memory_equal(root.b, root2.b, 32);

    /* swapping two transactions changes the root */
    tc_tx t = blk.txs[1];
    blk.txs[1] = blk.txs[3];
    blk.txs[3] = t;
    tc_block_tx_root(&blk, NULL, &root2);
    assert_false(tc_hash_eq(&root, &root2));
    tc_block_release(&blk);
}

/* The body is bound to the header by its merkle root and last-commit hash:
 * anything else under a signed or certified header hash is refused. */
static void test_block_check_body(void **state)
{
    (void)state;
    tc_block blk;
    make_block(&blk);
    tc_block_tx_root(&blk, NULL, &blk.hdr.tx_root);
    tc_cert_hash(&blk.last_commit, &blk.hdr.last_commit_hash);
    assert_int_equal(tc_block_check_body(&blk), 0);
    tc_hash id;
    tc_header_hash(&blk.hdr, &id);
    tc_tx t = blk.txs[1]; /* another body, same header (same block id) */
    blk.txs[1] = blk.txs[3];
    blk.txs[3] = t;
    assert_int_equal(tc_block_check_body(&blk), TC_EBLK_MERKLE);
    blk.txs[3] = blk.txs[1];
    blk.txs[1] = t;
    assert_int_equal(tc_block_check_body(&blk), 0);
    blk.hdr.last_commit_hash.b[0] ^= 1;
    assert_int_equal(tc_block_check_body(&blk), TC_EBLK_LAST_COMMIT);
    tc_block_release(&blk);
}

/* ---- decoder rejections --------------------------------------------------- */

static void test_truncated_every_prefix(void **state)
{
    (void)state;
    tc_block blk;
    make_block(&blk);
    tc_buf b;
    encode_block(&blk, &b);
    for (size_t len = 0; len < b.len; len++) {
        uint8_t *p = malloc(len ? len : 1); /* exact size, so ASan sees any overread */
        assert_non_null(p);
        memcpy(p, b.p, len);
        tc_block back;
        int err = tc_block_decode(&back, p, len);
        if (err != TC_ETRUNC)
            fail_msg("prefix %zu/%zu: %s", len, b.len, tc_errname(err));
        assert_null(back.txs);
        assert_int_equal(back.n_tx, 0);
        assert_null(back.last_commit.sigs);
        free(p);
    }
    tc_buf_release(&b);
    tc_block_release(&blk);
}

static void test_trailing(void **state)
{
    (void)state;
    tc_block blk, back;
    make_block(&blk);
    tc_buf b;
    encode_block(&blk, &b);
    tc_buf_u8(&b, 0);
    assert_int_equal(tc_block_decode(&back, b.p, b.len), TC_ETRAILING);
    assert_null(back.txs);
    b.len--;
    tc_buf_put(&b, "\x01\x02\x03", 3);
    assert_int_equal(tc_block_decode(&back, b.p, b.len), TC_ETRAILING);
    tc_buf_release(&b);
    tc_block_release(&blk);
}

static void test_oversize_input(void **state)
{
    (void)state;
    uint8_t *p = calloc(1, TC_MAX_BLOCK_SIZE + 1);
    assert_non_null(p);
    tc_block back;
    assert_int_equal(tc_block_decode(&back, p, TC_MAX_BLOCK_SIZE + 1), TC_EBLK_SIZE);
    assert_null(back.txs);
    /* exactly the limit passes the size check: all zero is an empty block
     * with an empty certificate, then trailing zeroes */
    assert_int_equal(tc_block_decode(&back, p, TC_MAX_BLOCK_SIZE), TC_ETRAILING);

    /* a valid block followed by padding past the limit is still oversize */
    tc_block blk;
    make_block(&blk);
    tc_buf b;
    encode_block(&blk, &b);
    memcpy(p, b.p, b.len);
    assert_int_equal(tc_block_decode(&back, p, TC_MAX_BLOCK_SIZE + 1), TC_EBLK_SIZE);
    assert_int_equal(tc_block_decode(&back, p, b.len), 0);
    tc_block_release(&back);
    tc_buf_release(&b);
    tc_block_release(&blk);
    free(p);
}

static void test_tx_count_rejections(void **state)
{
    (void)state;
    tc_block blk, back;
    make_block(&blk);
    tc_buf b;
    encode_block(&blk, &b);
    assert_int_equal(b.p[TC_HEADER_SIZE], 4);

    /* more transactions than the bytes can hold */
    tc_buf m;
    tc_buf_init(&m);
    tc_buf_put(&m, b.p, TC_HEADER_SIZE);
    tc_buf_cs(&m, 180000); /* below the count limit, far above the bytes */
    tc_buf_put(&m, b.p + TC_HEADER_SIZE + 1, b.len - TC_HEADER_SIZE - 1);
    assert_int_equal(tc_block_decode(&back, m.p, m.len), TC_ETRUNC);
    tc_buf_release(&m);

    /* above any count a 2 MB block can hold */
    tc_buf_init(&m);
    tc_buf_put(&m, b.p, TC_HEADER_SIZE);
    tc_buf_cs(&m, TC_MAX_BLOCK_SIZE);
    tc_buf_put(&m, b.p + TC_HEADER_SIZE + 1, b.len - TC_HEADER_SIZE - 1);
    assert_int_equal(tc_block_decode(&back, m.p, m.len), TC_EOVERSIZE);
    tc_buf_release(&m);

    /* non-canonical count */
    tc_buf_init(&m);
    tc_buf_put(&m, b.p, TC_HEADER_SIZE);
    tc_buf_put(&m, "\xfd\x04\x00", 3);
    tc_buf_put(&m, b.p + TC_HEADER_SIZE + 1, b.len - TC_HEADER_SIZE - 1);
    assert_int_equal(tc_block_decode(&back, m.p, m.len), TC_ENONCANON);
    tc_buf_release(&m);

    /* a bad transaction inside: error passes through, nothing leaks */
    size_t tx2_at = TC_HEADER_SIZE + 1 + tc_tx_size(&blk.txs[0]) + tc_tx_size(&blk.txs[1]);
    assert_int_equal(b.p[tx2_at + 4], TC_TX_MN_REGISTER);
    b.p[tx2_at + 4] = 0xee;
    assert_int_equal(tc_block_decode(&back, b.p, b.len), TC_EBADVAL);
    assert_null(back.txs);
    tc_buf_release(&b);
    tc_block_release(&blk);
}

static int group_setup(void **state)
{
    (void)state;
    return tc_crypto_init() == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_header_read_truncated),
        cmocka_unit_test(test_header_hash),
        cmocka_unit_test(test_block_round_trip),
        cmocka_unit_test(test_block_empty),
        cmocka_unit_test(test_merkle_small_trees),
        cmocka_unit_test(test_merkle_not_txid_domain),
        cmocka_unit_test(test_block_tx_root),
        cmocka_unit_test(test_block_check_body),
        cmocka_unit_test(test_truncated_every_prefix),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_oversize_input),
        cmocka_unit_test(test_tx_count_rejections),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
