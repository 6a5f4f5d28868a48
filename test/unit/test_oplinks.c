/* Which operator each link attested, and when an operator is gone: every
 * attested link closed and none attested since. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/oplinks.h"

static tc_pubkey key(uint8_t b)
{
    tc_pubkey k;
    memset(k.b, b, sizeof k.b);
    return k;
}

/* One operator per link; the operator of each link is what it attested. */
static void test_attest(void **state)
{
    (void)state;
    tc_oplinks *o = tc_oplinks_new();
    tc_pubkey a = key(1), b = key(2), got;
    assert_false(tc_oplinks_operator(o, 7, &got));
    assert_int_equal(tc_oplinks_attest(o, 7, &a), 0);
    assert_int_equal(tc_oplinks_attest(o, 7, &b), TC_EEXIST); /* another operator on one link */
    assert_int_equal(tc_oplinks_attest(o, 7, &a), 0);         /* a repeat: nothing new */
    assert_true(tc_oplinks_operator(o, 7, &got));
    assert_memory_equal(got.b, a.b, 32);
    assert_int_equal(tc_oplinks_count(o, &a), 1);
    assert_int_equal(tc_oplinks_count(o, &b), 0);
    assert_false(tc_oplinks_gone(o, &a));
    tc_oplinks_free(o);
}

/* Gone only when the last link of a key closes; a new attestation ends it;
 * a key never attested is never gone; a link that attested nothing is not. */
static void test_gone(void **state)
{
    (void)state;
    tc_oplinks *o = tc_oplinks_new();
    tc_pubkey a = key(1), b = key(2), got;
    assert_int_equal(tc_oplinks_attest(o, 1, &a), 0);
    assert_int_equal(tc_oplinks_attest(o, 2, &a), 0); /* the same operator on two links */
    assert_int_equal(tc_oplinks_attest(o, 3, &b), 0);
    assert_false(tc_oplinks_down(o, 9, 5, &got)); /* never attested */
    assert_false(tc_oplinks_down(o, 1, 5, &got)); /* link 2 still speaks for a */
    assert_false(tc_oplinks_gone(o, &a));
    assert_true(tc_oplinks_down(o, 2, 5, &got));
    assert_memory_equal(got.b, a.b, 32);
    assert_true(tc_oplinks_gone(o, &a));
    assert_false(tc_oplinks_gone(o, &b));
    assert_false(tc_oplinks_down(o, 2, 5, &got)); /* once */
    assert_int_equal(tc_oplinks_attest(o, 4, &a), 0); /* back */
    assert_false(tc_oplinks_gone(o, &a));
    assert_false(tc_oplinks_operator(o, 1, &got));
    tc_oplinks_free(o);
}

/* At most TC_OPLINKS_GONE_MAX gone keys, the oldest forgotten first. */
static void test_gone_bounded(void **state)
{
    (void)state;
    tc_oplinks *o = tc_oplinks_new();
    tc_pubkey got;
    for (unsigned i = 0; i < TC_OPLINKS_GONE_MAX + 10; i++) {
        tc_pubkey k = key((uint8_t)i);
        k.b[31] = (uint8_t)(i >> 8) ^ 0x80; /* distinct from every other */
        assert_int_equal(tc_oplinks_attest(o, 100 + i, &k), 0);
        assert_true(tc_oplinks_down(o, 100 + i, 5, &got));
    }
    for (unsigned i = 0; i < TC_OPLINKS_GONE_MAX + 10; i++) {
        tc_pubkey k = key((uint8_t)i);
        k.b[31] = (uint8_t)(i >> 8) ^ 0x80;
        assert_int_equal(tc_oplinks_gone(o, &k), i >= 10);
    }
    tc_oplinks_free(o);
}

/* A gone operator that still signs (its links to us cut, not its process)
 * is heard through others: a vote or proposal more than one height above
 * the height it went at ends "gone"; one at that height or the next (its
 * last messages, or a process that was a height ahead) does not. */
static void test_heard_through_others(void **state)
{
    (void)state;
    tc_oplinks *o = tc_oplinks_new();
    tc_pubkey a = key(1), b = key(2), got;
    assert_int_equal(tc_oplinks_attest(o, 1, &a), 0);
    assert_true(tc_oplinks_down(o, 1, 40, &got));
    assert_true(tc_oplinks_gone(o, &a));
    assert_false(tc_oplinks_heard(o, &a, 40)); /* its last votes, relayed late */
    assert_false(tc_oplinks_heard(o, &a, 41)); /* could be a process that was ahead */
    assert_true(tc_oplinks_gone(o, &a));
    assert_false(tc_oplinks_heard(o, &b, 99)); /* never gone: nothing to end */
    assert_true(tc_oplinks_heard(o, &a, 42));  /* signing two heights on: alive */
    assert_false(tc_oplinks_gone(o, &a));
    assert_false(tc_oplinks_heard(o, &a, 43)); /* once */
    tc_oplinks_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attest),
        cmocka_unit_test(test_gone),
        cmocka_unit_test(test_gone_bounded),
        cmocka_unit_test(test_heard_through_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
