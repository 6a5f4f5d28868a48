/* Votes and proposals: encodings, sign/verify, every decoder rejection,
 * the double-sign predicate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain/vote.h"

static void key_of(tc_keypair *kp, uint8_t tag)
{
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    tc_keypair_from_seed(kp, seed);
}

static tc_vote sample_vote(const tc_keypair *kp)
{
    tc_vote v;
    memset(&v, 0, sizeof v);
    v.type = TC_VOTE_PRECOMMIT;
    v.height = 0x0102030405060708ull;
    v.round = 7;
    memset(v.block.b, 0xab, 32);
    tc_vote_sign(&v, 3, kp);
    return v;
}

static void test_vote_roundtrip(void **state)
{
    (void)state;
    tc_keypair kp;
    key_of(&kp, 1);
    tc_vote v = sample_vote(&kp), w;
    tc_buf b;
    tc_buf_init(&b);
    tc_vote_encode(&v, &b);
    assert_int_equal(b.len, TC_VOTE_SIZE);
    /* layout: type, then height little-endian */
    assert_int_equal(b.p[0], TC_VOTE_PRECOMMIT);
    assert_int_equal(b.p[1], 0x08);
    assert_int_equal(b.p[8], 0x01);
    assert_int_equal(tc_vote_decode(&w, b.p, b.len), 0);
    assert_memory_equal(&v, &w, sizeof v);
    assert_int_equal(tc_vote_verify(&w, 3), 0);
    tc_buf_release(&b);
}

static void test_vote_rejects(void **state)
{
    (void)state;
    tc_keypair kp;
    key_of(&kp, 2);
    tc_vote v = sample_vote(&kp), w;
    tc_buf b;
    tc_buf_init(&b);
    tc_vote_encode(&v, &b);
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(tc_vote_decode(&w, b.p, n), TC_ETRUNC);
    tc_buf_u8(&b, 0);
    assert_int_equal(tc_vote_decode(&w, b.p, b.len), TC_ETRAILING);
    b.len--;
    b.p[0] = 3;
    assert_int_equal(tc_vote_decode(&w, b.p, b.len), TC_EBADVAL);
    b.p[0] = 0;
    assert_int_equal(tc_vote_decode(&w, b.p, b.len), TC_EBADVAL);
    /* a failed decode leaves the output zeroed */
    tc_vote zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&w, &zero, sizeof w);
    tc_buf_release(&b);
}

static void test_vote_signature_binds_fields(void **state)
{
    (void)state;
    tc_keypair kp;
    key_of(&kp, 3);
    tc_vote v = sample_vote(&kp);
    assert_int_equal(tc_vote_verify(&v, 3), 0);
    assert_int_equal(tc_vote_verify(&v, 1), TC_ESIG); /* other chain */
    tc_vote w = v;
    w.round++;
    assert_int_equal(tc_vote_verify(&w, 3), TC_ESIG);
    w = v;
    w.type = TC_VOTE_PREVOTE;
    assert_int_equal(tc_vote_verify(&w, 3), TC_ESIG);
    w = v;
    w.block.b[31] ^= 1;
    assert_int_equal(tc_vote_verify(&w, 3), TC_ESIG);
    w = v;
    w.height--;
    assert_int_equal(tc_vote_verify(&w, 3), TC_ESIG);
    /* vote and proposal domains differ: same fields, different digests */
    tc_proposal p;
    memset(&p, 0, sizeof p);
    tc_hash a, c;
    tc_vote_sign_bytes(&v, 3, &a);
    tc_proposal_sign_bytes(&p, 3, &c);
    assert_memory_not_equal(a.b, c.b, 32);
}

static void test_vote_conflict(void **state)
{
    (void)state;
    tc_keypair kp, kq;
    key_of(&kp, 4);
    key_of(&kq, 5);
    tc_vote a = sample_vote(&kp), b = a;
    assert_false(tc_vote_conflict(&a, &b)); /* same vote twice is a duplicate */
    memset(b.block.b, 0, 32);               /* nil counts as a block */
    assert_true(tc_vote_conflict(&a, &b));
    b.round++;
    assert_false(tc_vote_conflict(&a, &b));
    b = a;
    b.block.b[0] ^= 1;
    b.type = TC_VOTE_PREVOTE;
    assert_false(tc_vote_conflict(&a, &b));
    b = a;
    b.block.b[0] ^= 1;
    b.validator = kq.pk;
    assert_false(tc_vote_conflict(&a, &b));
    b.validator = a.validator;
    b.height++;
    assert_false(tc_vote_conflict(&a, &b));
}

static void test_proposal_roundtrip_and_rejects(void **state)
{
    (void)state;
    tc_keypair kp;
    key_of(&kp, 6);
    tc_proposal p, q;
    memset(&p, 0, sizeof p);
    p.height = 9;
    p.round = 4;
    p.pol_round = -1;
    memset(p.block.b, 0x11, 32);
    tc_proposal_sign(&p, 2, &kp);
    tc_buf b;
    tc_buf_init(&b);
    tc_proposal_encode(&p, &b);
    assert_int_equal(b.len, TC_PROPOSAL_SIZE);
    assert_int_equal(tc_proposal_decode(&q, b.p, b.len), 0);
    assert_memory_equal(&p, &q, sizeof p);
    assert_int_equal(tc_proposal_verify(&q, 2), 0);
    q.pol_round = 2;
    assert_int_equal(tc_proposal_verify(&q, 2), TC_ESIG);
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(tc_proposal_decode(&q, b.p, n), TC_ETRUNC);
    tc_buf_u8(&b, 1);
    assert_int_equal(tc_proposal_decode(&q, b.p, b.len), TC_ETRAILING);
    b.len--;
    /* pol_round = -2: invalid; pol_round = round: invalid; round-1: fine */
    tc_le32(b.p + 12, (uint32_t)-2);
    assert_int_equal(tc_proposal_decode(&q, b.p, b.len), TC_EBADVAL);
    tc_le32(b.p + 12, 4);
    assert_int_equal(tc_proposal_decode(&q, b.p, b.len), TC_EBADVAL);
    tc_le32(b.p + 12, 3);
    assert_int_equal(tc_proposal_decode(&q, b.p, b.len), 0);
    assert_int_equal(q.pol_round, 3);
    tc_buf_release(&b);
}

int main(void)
{
    if (tc_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_roundtrip),
        cmocka_unit_test(test_vote_rejects),
        cmocka_unit_test(test_vote_signature_binds_fields),
        cmocka_unit_test(test_vote_conflict),
        cmocka_unit_test(test_proposal_roundtrip_and_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
