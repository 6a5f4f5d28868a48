/* The sign hold (node/signhold.h): when a validator's sign log is behind its
 * chain it signs nothing until a block dated 2 x drift after its start (or
 * after its key's last foreign sighting) commits. The scan reads real
 * certificates from a real ledger. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node/signhold.h"
#include "testchain.h"

#define DRIFT 10000u

static void commit_signed_by(testchain *c, uint64_t mask)
{
    tc_block blk;
    tc_cert cert;
    tc_errmsg e;
    testchain_build(c, NULL, 0, &blk);
    testchain_certify(c, &blk, mask, &cert);
    assert_int_equal(tc_ledger_apply_block(c->L, &blk, &cert, &e), 0);
    tc_cert_release(&cert);
    tc_block_release(&blk);
}

/* Validator 3 precommits heights 1..3, then is absent at 4..6. */
static void test_scan_finds_last_own_precommit(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    uint64_t h = 99;
    assert_int_equal(tc_signhold_scan(c.L, &c.val[3].pk, &h), 0);
    assert_int_equal(h, 0); /* genesis only: nothing signed */
    for (int i = 0; i < 3; i++)
        commit_signed_by(&c, 0xf);
    for (int i = 0; i < 3; i++)
        commit_signed_by(&c, 0x7);
    assert_int_equal(tc_signhold_scan(c.L, &c.val[3].pk, &h), 0);
    assert_int_equal(h, 3);
    assert_int_equal(tc_signhold_scan(c.L, &c.val[0].pk, &h), 0);
    assert_int_equal(h, 6);
    tc_keypair stranger;
    testchain_key(&stranger, 0x77, 1);
    assert_int_equal(tc_signhold_scan(c.L, &stranger.pk, &h), 0);
    assert_int_equal(h, 0);
    testchain_release(&c);
}

static void test_held_only_when_log_is_behind(void **state)
{
    (void)state;
    tc_signhold h;
    tc_signhold_init(&h, 0, 0, false, 1000, DRIFT); /* a new validator: nothing signed anywhere */
    assert_false(h.held);
    tc_signhold_init(&h, 7, 7, false, 1000, DRIFT); /* an intact log */
    assert_false(h.held);
    tc_signhold_init(&h, 9, 7, false, 1000, DRIFT); /* the log ahead of the chain (synced later) */
    assert_false(h.held);
    tc_signhold_init(&h, 0, 7, false, 1000, DRIFT); /* lost log */
    assert_true(h.held);
    tc_signhold_init(&h, 5, 7, false, 1000, DRIFT); /* an older copy restored */
    assert_true(h.held);
    tc_signhold_init(&h, 5, 7, true, 1000, DRIFT); /* the operator says: now */
    assert_false(h.held);
}

static void test_release_needs_a_block_dated_after_twice_the_drift(void **state)
{
    (void)state;
    tc_signhold h;
    uint64_t start = 1000000;
    tc_signhold_init(&h, 0, 7, false, start, DRIFT);
    assert_false(tc_signhold_on_commit(&h, 8, start - 5000)); /* synced history */
    assert_false(tc_signhold_on_commit(&h, 9, start + 2 * DRIFT)); /* could be a fast clock's block from before */
    assert_true(h.held);
    assert_true(tc_signhold_on_commit(&h, 10, start + 2 * DRIFT + 1));
    assert_false(h.held);
    assert_int_equal(h.released_height, 10);
    assert_false(tc_signhold_on_commit(&h, 11, UINT64_MAX)); /* released once */
}

static void test_sighting_extends_the_hold(void **state)
{
    (void)state;
    tc_signhold h;
    uint64_t start = 1000000;
    tc_signhold_init(&h, 0, 7, false, start, DRIFT);
    assert_true(tc_signhold_sighting(&h, "vote", 9, start + 5000));   /* first: logged */
    assert_false(tc_signhold_sighting(&h, "vote", 9, start + 6000));  /* then quiet */
    assert_false(tc_signhold_on_commit(&h, 9, start + 2 * DRIFT + 1));
    assert_false(tc_signhold_on_commit(&h, 10, start + 6000 + 2 * DRIFT));
    assert_true(tc_signhold_on_commit(&h, 11, start + 6000 + 2 * DRIFT + 1));
    /* an earlier sighting never shortens it */
    tc_signhold_init(&h, 0, 7, false, start, DRIFT);
    (void)tc_signhold_sighting(&h, "vote", 9, start - 9000);
    assert_false(tc_signhold_on_commit(&h, 9, start + 2 * DRIFT));
    /* clocks at the limit saturate instead of wrapping to an early release */
    tc_signhold_init(&h, 0, 7, false, UINT64_MAX - 5, DRIFT);
    assert_int_equal(h.release_ms, UINT64_MAX);
    assert_false(tc_signhold_on_commit(&h, 9, UINT64_MAX));
    tc_signhold_init(&h, 0, 7, false, start, DRIFT);
    (void)tc_signhold_sighting(&h, "vote", 9, UINT64_MAX);
    assert_int_equal(h.release_ms, UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_finds_last_own_precommit),
        cmocka_unit_test(test_held_only_when_log_is_behind),
        cmocka_unit_test(test_release_needs_a_block_dated_after_twice_the_drift),
        cmocka_unit_test(test_sighting_extends_the_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
