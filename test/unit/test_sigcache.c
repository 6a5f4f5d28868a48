/* Signature cache: hits, misses, failures never cached, FIFO eviction, threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/sigcache.h"

#define NKEYS 4
#define NMSGS 16

static tc_keypair keys[NKEYS];

static int setup(void **state)
{
    (void)state;
    if (tc_crypto_init() != 0)
        return -1;
    for (int i = 0; i < NKEYS; i++) {
        uint8_t seed[32];
        memset(seed, i + 1, sizeof seed);
        tc_keypair_from_seed(&keys[i], seed);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NKEYS; i++)
        tc_keypair_wipe(&keys[i]);
    return 0;
}

static void make_msg(uint8_t msg[8], unsigned i)
{
    memcpy(msg, "msg", 3);
    msg[3] = (uint8_t)i;
    msg[4] = (uint8_t)(i >> 8);
    msg[5] = msg[6] = msg[7] = 0;
}

static void sign_msg(uint8_t msg[8], tc_sig *sig, int key, unsigned i)
{
    make_msg(msg, i);
    tc_sign(&keys[key], msg, 8, sig);
}

static void assert_stats(tc_sigcache *c, uint64_t hits, uint64_t verifies, uint64_t entries)
{
    tc_sigcache_stats st;
    tc_sigcache_get_stats(c, &st);
    assert_int_equal(st.hits, hits);
    assert_int_equal(st.verifies, verifies);
    assert_int_equal(st.entries, entries);
}

static void test_miss_then_hit(void **state)
{
    (void)state;
    tc_sigcache *c = tc_sigcache_new(16);
    uint8_t msg[8];
    tc_sig sig;
    sign_msg(msg, &sig, 0, 1);

    assert_stats(c, 0, 0, 0);
    assert_int_equal(tc_sigcache_verify(c, &keys[0].pk, msg, sizeof msg, &sig), 0);
    assert_stats(c, 0, 1, 1);
    assert_int_equal(tc_sigcache_verify(c, &keys[0].pk, msg, sizeof msg, &sig), 0);
    assert_stats(c, 1, 1, 1);
    assert_int_equal(tc_sigcache_verify(c, &keys[0].pk, msg, sizeof msg, &sig), 0);
    assert_stats(c, 2, 1, 1);

    /* A cached success says nothing about another key, message or signature. */
    assert_int_equal(tc_sigcache_verify(c, &keys[1].pk, msg, sizeof msg, &sig), TC_ESIG);
    assert_int_equal(tc_sigcache_verify(c, &keys[0].pk, msg, sizeof msg - 1, &sig), TC_ESIG);
    tc_sig other = sig;
    other.b[63] ^= 0x40;
    assert_int_equal(tc_sigcache_verify(c, &keys[0].pk, msg, sizeof msg, &other), TC_ESIG);
    assert_stats(c, 2, 4, 1);
    tc_sigcache_free(c);
}

static void test_bad_signature_never_cached(void **state)
{
    (void)state;
    tc_sigcache *c = tc_sigcache_new(16);
    uint8_t msg[8];
    tc_sig sig;
    sign_msg(msg, &sig, 0, 2);
    sig.b[0] ^= 1;
    for (int i = 0; i < 3; i++)
        assert_int_equal(tc_sigcache_verify(c, &keys[0].pk, msg, sizeof msg, &sig), TC_ESIG);
    assert_stats(c, 0, 3, 0);
    tc_sigcache_free(c);
}

static void test_eviction_bounded_fifo(void **state)
{
    (void)state;
    enum { CAP = 5, N = 12 };
    tc_sigcache *c = tc_sigcache_new(CAP);
    tc_sig sigs[N];
    uint8_t msgs[N][8];
    uint64_t verifies = 0, hits = 0;

    for (unsigned i = 0; i < N; i++) {
        sign_msg(msgs[i], &sigs[i], i % NKEYS, 100 + i);
        assert_int_equal(tc_sigcache_verify(c, &keys[i % NKEYS].pk, msgs[i], 8, &sigs[i]), 0);
        verifies++;
        assert_stats(c, hits, verifies, i + 1 < CAP ? i + 1 : CAP);
    }
    /* The newest CAP are cached, the older ones were evicted oldest first. */
    for (unsigned i = N - CAP; i < N; i++) {
        assert_int_equal(tc_sigcache_verify(c, &keys[i % NKEYS].pk, msgs[i], 8, &sigs[i]), 0);
        hits++;
    }
    assert_stats(c, hits, verifies, CAP);
    assert_int_equal(tc_sigcache_verify(c, &keys[0].pk, msgs[0], 8, &sigs[0]), 0);
    verifies++;
    assert_stats(c, hits, verifies, CAP);
    /* Re-adding msgs[0] evicted msgs[N - CAP], the oldest left. */
    unsigned old = N - CAP;
    assert_int_equal(tc_sigcache_verify(c, &keys[old % NKEYS].pk, msgs[old], 8, &sigs[old]), 0);
    verifies++;
    assert_stats(c, hits, verifies, CAP);
    assert_int_equal(tc_sigcache_verify(c, &keys[(N - 1) % NKEYS].pk, msgs[N - 1], 8,
                                        &sigs[N - 1]),
                     0);
    hits++;
    assert_stats(c, hits, verifies, CAP);
    tc_sigcache_free(c);
}

static void test_churn_stays_consistent(void **state)
{
    (void)state;
    enum { CAP = 7 };
    tc_sigcache *c = tc_sigcache_new(CAP);
    tc_sigcache_stats st;
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned i = 0; i < 50; i++) {
            uint8_t msg[8];
            tc_sig sig;
            sign_msg(msg, &sig, 0, i);
            assert_int_equal(tc_sigcache_verify(c, &keys[0].pk, msg, 8, &sig), 0);
            tc_sigcache_get_stats(c, &st);
            assert_true(st.entries <= CAP);
        }
    }
    tc_sigcache_get_stats(c, &st);
    assert_int_equal(st.entries, CAP);
    assert_int_equal(st.hits, 0); /* 50 distinct > CAP: FIFO never hits on a cycle */
    assert_int_equal(st.verifies, 150);
    tc_sigcache_free(c);
}

static void test_null_and_zero_capacity(void **state)
{
    (void)state;
    uint8_t msg[8];
    tc_sig sig;
    tc_sigcache_stats st;
    sign_msg(msg, &sig, 2, 3);

    assert_int_equal(tc_sigcache_verify(NULL, &keys[2].pk, msg, 8, &sig), 0);
    sig.b[5] ^= 2;
    assert_int_equal(tc_sigcache_verify(NULL, &keys[2].pk, msg, 8, &sig), TC_ESIG);
    sig.b[5] ^= 2;
    tc_sigcache_get_stats(NULL, &st);
    assert_int_equal(st.verifies, 0);
    tc_sigcache_free(NULL);

    tc_sigcache *c = tc_sigcache_new(0);
    assert_int_equal(tc_sigcache_verify(c, &keys[2].pk, msg, 8, &sig), 0);
    assert_int_equal(tc_sigcache_verify(c, &keys[2].pk, msg, 8, &sig), 0);
    assert_stats(c, 0, 2, 0);
    tc_sigcache_free(c);
}

struct worker {
    tc_sigcache *c;
    tc_sig sigs[NMSGS];
    int wrong; /* results that disagreed with the expectation */
};

/* Each thread checks the same NMSGS signatures, where every odd one is
 * corrupted, several times over: the goods must always pass, the bads fail. */
static void *work(void *arg)
{
    struct worker *w = arg;
    for (int rep = 0; rep < 20; rep++) {
        for (unsigned i = 0; i < NMSGS; i++) {
            uint8_t msg[8];
            make_msg(msg, 500 + i);
            int rc = tc_sigcache_verify(w->c, &keys[i % NKEYS].pk, msg, 8, &w->sigs[i]);
            if (rc != (i % 2 ? TC_ESIG : 0))
                w->wrong++;
        }
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    static struct worker w[2];
    pthread_t t[2];
    tc_sigcache *c = tc_sigcache_new(64);

    for (int k = 0; k < 2; k++) {
        w[k].c = c;
        w[k].wrong = 0;
        for (unsigned i = 0; i < NMSGS; i++) {
            uint8_t msg[8];
            sign_msg(msg, &w[k].sigs[i], i % NKEYS, 500 + i);
            if (i % 2)
                w[k].sigs[i].b[10] ^= 0x10;
        }
    }
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&t[k], NULL, work, &w[k]), 0);
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_join(t[k], NULL), 0);
    assert_int_equal(w[0].wrong, 0);
    assert_int_equal(w[1].wrong, 0);

    tc_sigcache_stats st;
    tc_sigcache_get_stats(c, &st);
    const uint64_t calls = 2 * 20 * NMSGS, goods = NMSGS / 2, bads = NMSGS / 2;
    assert_int_equal(st.hits + st.verifies, calls);
    assert_int_equal(st.entries, goods);
    /* Every bad is verified on every call; each good at least once, and at
     * most once per thread (both may miss before either inserts). */
    assert_true(st.verifies >= 2 * 20 * bads + goods);
    assert_true(st.verifies <= 2 * 20 * bads + 2 * goods);
    tc_sigcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_miss_then_hit),
        cmocka_unit_test(test_bad_signature_never_cached),
        cmocka_unit_test(test_eviction_bounded_fifo),
        cmocka_unit_test(test_churn_stays_consistent),
        cmocka_unit_test(test_null_and_zero_capacity),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
