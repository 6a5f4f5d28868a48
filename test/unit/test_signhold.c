/* The sign hold (node/signhold.h): when a validator's sign log is behind its
 * chain it signs nothing until a block dated 2 x drift after its start (or
 * after its key's last foreign sighting) commits; every start is gated until
 * peers with more than 2/3 of the weight show the node at the network's
 * height, and the certificates synced meanwhile are searched for its key.
 * The scan, the reports and the gate read real certificates and masternodes
 * from a real ledger. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

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
    assert_int_equal(tc_signhold_scan(c.L, &c.val[3].pk, TC_SIGNHOLD_DEPTH, &h), 0);
    assert_int_equal(h, 0); /* genesis only: nothing signed */
    for (int i = 0; i < 3; i++)
        commit_signed_by(&c, 0xf);
    for (int i = 0; i < 3; i++)
        commit_signed_by(&c, 0x7);
    assert_int_equal(tc_signhold_scan(c.L, &c.val[3].pk, TC_SIGNHOLD_DEPTH, &h), 0);
    assert_int_equal(h, 3);
    assert_int_equal(tc_signhold_scan(c.L, &c.val[3].pk, 3, &h), 0); /* 6, 5, 4: beyond the depth */
    assert_int_equal(h, 0);
    assert_int_equal(tc_signhold_scan(c.L, &c.val[3].pk, 4, &h), 0);
    assert_int_equal(h, 3);
    assert_int_equal(tc_signhold_scan(c.L, &c.val[0].pk, TC_SIGNHOLD_DEPTH, &h), 0);
    assert_int_equal(h, 6);
    tc_keypair stranger;
    testchain_key(&stranger, 0x77, 1);
    assert_int_equal(tc_signhold_scan(c.L, &stranger.pk, TC_SIGNHOLD_DEPTH, &h), 0);
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


/* An established peer advertising validator i's registered address
 * (127.0.0.1:24200+10i) at height, linked from ip. */
static tc_peer_info peer_of(uint64_t id, uint64_t height)
{
    tc_peer_info p;
    memset(&p, 0, sizeof p);
    p.id = id;
    p.established = true;
    p.height = height;
    return p;
}

/* The gate's count: itself, then each validator once by what the links
 * that attested its key (mnauth) report; strangers count for nobody. */
static void test_reports_count_each_validator_once(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    tc_valset vs;
    assert_int_equal(tc_ledger_valset(c.L, 1, &vs), 0);
    assert_int_equal(vs.n, 4);
    const tc_pubkey *self = &c.val[3].pk;
    tc_oplinks *ops = tc_oplinks_new();
    tc_signhold_report r[4];
    tc_peer_info peers[6];
    tc_signhold_reports(&vs, self, 0, NULL, 0, ops, r);
    assert_int_equal(tc_signhold_weight_at(r, 4, 0), 1); /* alone: itself */
    peers[0] = peer_of(1, 0);
    peers[1] = peer_of(2, 0);
    peers[2] = peer_of(3, 0); /* a second link of validator 1 */
    assert_int_equal(tc_oplinks_attest(ops, 1, &c.val[0].pk), 0);
    assert_int_equal(tc_oplinks_attest(ops, 2, &c.val[1].pk), 0);
    assert_int_equal(tc_oplinks_attest(ops, 3, &c.val[1].pk), 0);
    tc_signhold_reports(&vs, self, 0, peers, 2, ops, r);
    assert_int_equal(tc_signhold_weight_at(r, 4, 0), 3);
    tc_signhold_reports(&vs, self, 0, peers, 3, ops, r);
    assert_int_equal(tc_signhold_weight_at(r, 4, 0), 3); /* still 3: one validator, two links */
    /* one of validator 1's links knows a higher height: it is not at ours */
    peers[2].height = 9;
    tc_signhold_reports(&vs, self, 0, peers, 3, ops, r);
    assert_int_equal(tc_signhold_weight_at(r, 4, 0), 2);
    assert_int_equal(tc_signhold_weight_at(r, 4, 9), 3); /* synced to 9, it is */
    /* a link that attested nothing, one not yet established, one attesting
     * a key outside the set, and one claiming our own key: none counts */
    tc_pubkey stranger;
    memset(stranger.b, 0x77, 32);
    peers[0] = peer_of(4, 0);
    peers[1] = peer_of(1, 0);
    peers[1].established = false;
    peers[2] = peer_of(5, 0);
    peers[3] = peer_of(6, 0);
    assert_int_equal(tc_oplinks_attest(ops, 5, &stranger), 0);
    assert_int_equal(tc_oplinks_attest(ops, 6, self), 0);
    tc_signhold_reports(&vs, self, 0, peers, 4, ops, r);
    assert_int_equal(tc_signhold_weight_at(r, 4, 0), 1);
    for (size_t j = 0; j < 4; j++)
        if (!tc_pubkey_eq(&vs.v[j].key, self))
            assert_false(r[j].reported);
    tc_oplinks_free(ops);
    tc_valset_release(&vs);
    testchain_release(&c);
}

/* Every start is gated; the gate opens above 2/3 of the weight and not at
 * 2/3; it searches what was synced since the start for this key. */
static void test_gate_opens_at_the_network_height(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    const tc_pubkey *self = &c.val[3].pk;
    for (int i = 0; i < 3; i++)
        commit_signed_by(&c, 0xf); /* the copy: chain and sign log at 3 */
    tc_signhold h;
    tc_errmsg e;
    bool opened = true;
    assert_int_equal(tc_signhold_start(&h, c.L, self, 3, "log", false, 1000000, DRIFT, TC_SIGNHOLD_DEPTH, &e), 0);
    assert_true(h.gated);
    assert_false(h.held);
    assert_false(tc_signhold_may_sign(&h));
    assert_string_equal(tc_signhold_reason(&h), "network_height_unknown");
    assert_int_equal(h.start_height, 3);
    assert_true(tc_signhold_sighting(&h, "vote", 7, 1000000)); /* its other copy's vote, regossiped */
    assert_string_equal(tc_signhold_reason(&h), "foreign_signature");
    /* the network went on at 4..6 with this key (its other copy) */
    for (int i = 0; i < 3; i++)
        commit_signed_by(&c, 0xf);
    assert_int_equal(tc_signhold_gate(&h, c.L, self, 6, 2, 3, &opened, &e), 0); /* 2/3 exactly: no */
    assert_false(opened);
    assert_true(h.gated);
    assert_int_equal(tc_signhold_gate(&h, c.L, self, 6, 3, 4, &opened, &e), 0);
    assert_true(opened);
    assert_false(h.gated);
    assert_true(h.held); /* certificates 4..6 carry its key above the log's 3: the reason now */
    assert_int_equal(h.why, TC_SIGNHOLD_SYNCED_SIGNS);
    assert_int_equal(h.signed_height, 6);
    assert_int_equal(h.gate_height, 6);
    assert_string_equal(tc_signhold_reason(&h), "own_key_in_synced_certificates");
    assert_false(tc_signhold_on_commit(&h, 7, 1000000 + 2 * DRIFT)); /* the hold's rule from here */
    assert_true(tc_signhold_on_commit(&h, 8, 1000000 + 2 * DRIFT + 1));
    assert_true(tc_signhold_may_sign(&h));

    /* the same, but the key is absent from what was synced: signs at once */
    assert_int_equal(tc_signhold_start(&h, c.L, self, 6, "log", false, 1000000, DRIFT, TC_SIGNHOLD_DEPTH, &e), 0);
    for (int i = 0; i < 2; i++)
        commit_signed_by(&c, 0x7);
    assert_int_equal(tc_signhold_gate(&h, c.L, self, 8, 4, 4, &opened, &e), 0);
    assert_true(opened);
    assert_true(tc_signhold_may_sign(&h));
    assert_null(tc_signhold_reason(&h));

    /* found, but beyond double-sign-check-height: not searched */
    assert_int_equal(tc_signhold_start(&h, c.L, self, 0, "log", false, 1000000, DRIFT, 2, &e), 0);
    assert_false(h.held); /* 7 and 8 lack it; 6 is the third */
    commit_signed_by(&c, 0x7);
    assert_int_equal(tc_signhold_gate(&h, c.L, self, 9, 4, 4, &opened, &e), 0);
    assert_true(tc_signhold_may_sign(&h));
    /* resume-signing = now: neither gate nor hold */
    assert_int_equal(tc_signhold_start(&h, c.L, self, 0, "log", true, 1000000, DRIFT, TC_SIGNHOLD_DEPTH, &e), 0);
    assert_true(tc_signhold_may_sign(&h));
    testchain_release(&c);
}

/* While gated: its own earlier messages at or below the log's height are
 * expected and ignored; one above it is someone else's (hold); a block
 * dated after the wait opens the gate even without peers. */
static void test_gated_sighting_and_time(void **state)
{
    (void)state;
    tc_signhold h;
    uint64_t start = 1000000;
    tc_signhold_init(&h, 5, 5, false, start, DRIFT);
    assert_true(h.gated);
    assert_false(tc_signhold_sighting(&h, "vote", 5, start + 100));
    assert_false(h.held);
    assert_int_equal(h.sightings, 0);
    assert_int_equal(h.release_ms, start + 2 * DRIFT);
    assert_true(tc_signhold_sighting(&h, "vote", 6, start + 100));
    assert_true(h.held);
    assert_int_equal(h.why, TC_SIGNHOLD_FOREIGN);
    assert_int_equal(h.release_ms, start + 100 + 2 * DRIFT);

    tc_signhold_init(&h, 5, 5, false, start, DRIFT);
    assert_false(tc_signhold_on_commit(&h, 6, start + 2 * DRIFT));
    assert_true(h.gated);
    assert_true(tc_signhold_on_commit(&h, 7, start + 2 * DRIFT + 1));
    assert_true(tc_signhold_may_sign(&h));
    assert_int_equal(h.released_height, 0); /* no hold was released */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_finds_last_own_precommit),
        cmocka_unit_test(test_held_only_when_log_is_behind),
        cmocka_unit_test(test_release_needs_a_block_dated_after_twice_the_drift),
        cmocka_unit_test(test_sighting_extends_the_hold),
        cmocka_unit_test(test_reports_count_each_validator_once),
        cmocka_unit_test(test_gate_opens_at_the_network_height),
        cmocka_unit_test(test_gated_sighting_and_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
