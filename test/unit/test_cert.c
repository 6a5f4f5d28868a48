/* Commit certificates: building from precommits, canonical encoding, decoder
 * rejections, and verification failing for each reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain/cert.h"
#include "chain/params.h"

#define CHAIN 3
#define NV 4

static tc_keypair kps[NV];
static tc_valset vs; /* weights 1, 1, 1, 1: quorum 3 */
static tc_hash blk;

static int setup(void **state)
{
    (void)state;
    if (tc_crypto_init() != 0)
        return -1;
    tc_valset_init(&vs);
    for (int i = 0; i < NV; i++) {
        uint8_t seed[32];
        memset(seed, 0x30 + i, sizeof seed);
        tc_keypair_from_seed(&kps[i], seed);
        if (tc_valset_add(&vs, &kps[i].pk, 1, NULL) != 0)
            return -1;
    }
    memset(blk.b, 0x77, 32);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_valset_release(&vs);
    return 0;
}

static tc_vote precommit(int i, uint64_t h, uint32_t r, const tc_hash *b)
{
    tc_vote v;
    memset(&v, 0, sizeof v);
    v.type = TC_VOTE_PRECOMMIT;
    v.height = h;
    v.round = r;
    v.block = *b;
    tc_vote_sign(&v, CHAIN, &kps[i]);
    return v;
}

static void make_cert(tc_cert *c, int signers)
{
    tc_cert_init(c);
    c->height = 5;
    c->round = 2;
    c->block = blk;
    for (int i = signers - 1; i >= 0; i--) { /* out of order on purpose */
        tc_vote v = precommit(i, 5, 2, &blk);
        assert_int_equal(tc_cert_add(c, &v), 0);
    }
}

static void test_add(void **state)
{
    (void)state;
    tc_cert c;
    make_cert(&c, 3);
    assert_int_equal(c.n, 3);
    for (size_t i = 1; i < c.n; i++)
        assert_true(memcmp(c.sigs[i - 1].key.b, c.sigs[i].key.b, 32) < 0);
    tc_vote v = precommit(0, 5, 2, &blk);
    assert_int_equal(tc_cert_add(&c, &v), TC_EEXIST);
    v = precommit(3, 5, 3, &blk);
    assert_int_equal(tc_cert_add(&c, &v), TC_EINVAL); /* other round */
    v = precommit(3, 6, 2, &blk);
    assert_int_equal(tc_cert_add(&c, &v), TC_EINVAL); /* other height */
    tc_hash other = blk;
    other.b[0] ^= 1;
    v = precommit(3, 5, 2, &other);
    assert_int_equal(tc_cert_add(&c, &v), TC_EINVAL); /* other block */
    v = precommit(3, 5, 2, &blk);
    v.type = TC_VOTE_PREVOTE;
    assert_int_equal(tc_cert_add(&c, &v), TC_EINVAL); /* not a precommit */
    /* tc_cert_vote rebuilds a verifiable precommit */
    for (size_t i = 0; i < c.n; i++) {
        tc_vote w;
        tc_cert_vote(&c, i, &w);
        assert_int_equal(tc_vote_verify(&w, CHAIN), 0);
    }
    tc_cert d;
    tc_cert_copy(&d, &c);
    assert_int_equal(d.n, c.n);
    assert_memory_equal(d.sigs, c.sigs, c.n * sizeof *c.sigs);
    tc_cert_release(&d);
    tc_cert_release(&c);
}

static void test_roundtrip(void **state)
{
    (void)state;
    tc_cert c, d;
    make_cert(&c, 4);
    tc_buf b, b2;
    tc_buf_init(&b);
    tc_buf_init(&b2);
    tc_cert_encode(&c, &b);
    assert_int_equal(b.len, 8 + 4 + 32 + 1 + 4 * 96);
    assert_int_equal(tc_cert_decode(&d, b.p, b.len), 0);
    tc_cert_encode(&d, &b2);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.p, b2.p, b.len);
    tc_hash h1, h2;
    tc_cert_hash(&c, &h1);
    tc_cert_hash(&d, &h2);
    assert_memory_equal(h1.b, h2.b, 32);
    tc_cert_release(&d);
    /* every rejection */
    for (size_t n = 0; n < b.len; n++) {
        assert_int_equal(tc_cert_decode(&d, b.p, n), TC_ETRUNC);
        assert_null(d.sigs);
    }
    tc_buf_u8(&b, 0);
    assert_int_equal(tc_cert_decode(&d, b.p, b.len), TC_ETRAILING);
    b.len--;
    uint8_t *s1 = b.p + 45 + 96;
    uint8_t save[32];
    memcpy(save, s1, 32);
    memcpy(s1, b.p + 45, 32); /* repeated signer */
    assert_int_equal(tc_cert_decode(&d, b.p, b.len), TC_ECERT_ORDER);
    memset(s1, 0, 32); /* unsorted */
    assert_int_equal(tc_cert_decode(&d, b.p, b.len), TC_ECERT_ORDER);
    memcpy(s1, save, 32);
    /* non-canonical and oversize counts */
    tc_buf_reset(&b2);
    tc_buf_put(&b2, b.p, 44);
    tc_buf_u8(&b2, 0xfd);
    tc_buf_u16(&b2, 4);
    tc_buf_put(&b2, b.p + 45, b.len - 45);
    assert_int_equal(tc_cert_decode(&d, b2.p, b2.len), TC_ENONCANON);
    tc_buf_reset(&b2);
    tc_buf_put(&b2, b.p, 44);
    tc_buf_cs(&b2, TC_MAX_VALIDATORS + 1);
    assert_int_equal(tc_cert_decode(&d, b2.p, b2.len), TC_EOVERSIZE);
    /* reading from a stream leaves the rest */
    tc_buf_reset(&b2);
    tc_buf_put(&b2, b.p, b.len);
    tc_buf_u8(&b2, 0x99);
    tc_reader r;
    tc_reader_init(&r, b2.p, b2.len);
    assert_int_equal(tc_cert_read(&r, &d), 0);
    assert_int_equal(tc_rd_left(&r), 1);
    tc_cert_release(&d);
    tc_buf_release(&b);
    tc_buf_release(&b2);
    tc_cert_release(&c);
}

static void test_verify(void **state)
{
    (void)state;
    tc_cert c;
    tc_errmsg e;
    tc_sigcache *cache = tc_sigcache_new(64);
    make_cert(&c, 3);
    assert_int_equal(tc_cert_verify(&c, &vs, CHAIN, 5, &blk, NULL, &e), 0);
    assert_int_equal(tc_cert_verify(&c, &vs, CHAIN, 5, &blk, cache, NULL), 0);
    assert_int_equal(tc_cert_verify(&c, &vs, CHAIN, 5, &blk, cache, NULL), 0); /* cached */
    /* wrong target */
    assert_int_equal(tc_cert_verify(&c, &vs, CHAIN, 6, &blk, NULL, &e), TC_ECERT_TARGET);
    tc_hash other = blk;
    other.b[3] ^= 1;
    assert_int_equal(tc_cert_verify(&c, &vs, CHAIN, 5, &other, NULL, &e), TC_ECERT_TARGET);
    /* wrong chain: every signature fails */
    assert_int_equal(tc_cert_verify(&c, &vs, CHAIN + 1, 5, &blk, NULL, &e), TC_ESIG);
    /* below quorum: 2 of 4 */
    tc_cert small;
    make_cert(&small, 2);
    assert_int_equal(tc_cert_verify(&small, &vs, CHAIN, 5, &blk, NULL, &e), TC_ECERT_QUORUM);
    assert_non_null(strstr(e.msg, "quorum"));
    tc_cert_release(&small);
    /* signer outside the set */
    tc_valset three;
    tc_valset_init(&three);
    for (int i = 1; i < NV; i++)
        assert_int_equal(tc_valset_add(&three, &kps[i].pk, 1, NULL), 0);
    tc_cert full;
    make_cert(&full, 4);
    tc_valset sub;
    tc_valset_init(&sub);
    assert_int_equal(tc_valset_add(&sub, &kps[1].pk, 1, NULL), 0);
    assert_int_equal(tc_valset_add(&sub, &kps[2].pk, 1, NULL), 0);
    assert_int_equal(tc_valset_add(&sub, &kps[3].pk, 1, NULL), 0);
    assert_int_equal(tc_cert_verify(&full, &sub, CHAIN, 5, &blk, NULL, &e), TC_ECERT_SIGNER);
    tc_valset_release(&sub);
    tc_valset_release(&three);
    /* weighted: one heavy signer alone carries the quorum */
    tc_valset heavy;
    tc_valset_init(&heavy);
    for (int i = 0; i < NV; i++)
        assert_int_equal(tc_valset_add(&heavy, &kps[i].pk, i == 0 ? 100 : 1, NULL), 0);
    tc_cert one;
    tc_cert_init(&one);
    one.height = 5;
    one.round = 2;
    one.block = blk;
    tc_vote v0 = precommit(0, 5, 2, &blk);
    assert_int_equal(tc_cert_add(&one, &v0), 0);
    assert_int_equal(tc_cert_verify(&one, &heavy, CHAIN, 5, &blk, NULL, &e), 0);
    assert_int_equal(tc_cert_verify(&one, &vs, CHAIN, 5, &blk, NULL, &e), TC_ECERT_QUORUM);
    tc_cert_release(&one);
    tc_valset_release(&heavy);
    /* unsorted / repeated signers built by hand */
    tc_cert_sig t = full.sigs[0];
    full.sigs[0] = full.sigs[1];
    full.sigs[1] = t;
    assert_int_equal(tc_cert_verify(&full, &vs, CHAIN, 5, &blk, NULL, &e), TC_ECERT_ORDER);
    full.sigs[0] = full.sigs[1];
    assert_int_equal(tc_cert_verify(&full, &vs, CHAIN, 5, &blk, NULL, &e), TC_ECERT_ORDER);
    tc_cert_release(&full);
    /* a flipped signature bit */
    c.sigs[2].sig.b[10] ^= 1;
    assert_int_equal(tc_cert_verify(&c, &vs, CHAIN, 5, &blk, NULL, &e), TC_ESIG);
    assert_int_equal(tc_cert_verify(&c, &vs, CHAIN, 5, &blk, cache, &e), TC_ESIG);
    /* a cert for nil is never valid */
    tc_cert nil;
    tc_cert_init(&nil);
    nil.height = 5;
    assert_int_equal(tc_cert_verify(&nil, &vs, CHAIN, 5, &nil.block, NULL, &e), TC_ECERT_TARGET);
    tc_cert_release(&c);
    tc_sigcache_free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_verify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
