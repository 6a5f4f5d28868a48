/* util/fdlimit: raising the soft limit, and "descriptors low" as the process
 * runs into a small RLIMIT_NOFILE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fdlimit.h"

static void test_raise_reports_hard(void **state)
{
    (void)state;
    uint64_t soft = 0, hard = 0;
    assert_int_equal(tc_fdlimit_raise(&soft, &hard), 0);
    assert_true(soft > 0);
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    /* Raised to the hard limit, or to nr_open under an unlimited hard limit. */
    if (rl.rlim_max != RLIM_INFINITY)
        assert_true(soft == hard);
    assert_true(tc_fdlimit_soft() == soft);
    assert_int_equal(tc_fdlimit_raise(NULL, NULL), 0);
}

static void test_low_is_false_for_bad_fd(void **state)
{
    (void)state;
    assert_false(tc_fdlimit_low(-1, 64));
    assert_false(tc_fdlimit_low(0, 0));
}

/* Runs last: it lowers the hard limit of the test process for good. */
static void test_low_as_descriptors_run_out(void **state)
{
    (void)state;
    enum { LIMIT = 96, RESERVE = 16 };
    struct rlimit rl = {.rlim_cur = 32, .rlim_max = LIMIT};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    /* The cached value is stale until raise reads the limit again. */
    uint64_t soft = 0, hard = 0;
    assert_int_equal(tc_fdlimit_raise(&soft, &hard), 0);
    assert_int_equal(soft, LIMIT);
    assert_int_equal(hard, LIMIT);
    assert_int_equal(tc_fdlimit_soft(), LIMIT);

    int fds[LIMIT];
    int n = 0, first_low = -1;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            break;
        fds[n++] = fd;
        if (first_low < 0 && tc_fdlimit_low(fd, RESERVE))
            first_low = fd;
        else if (first_low < 0)
            assert_true(fd < LIMIT - RESERVE);
    }
    /* open() hands out the lowest free fd, so the first low one is exactly
     * soft - reserve, and from there exactly `reserve` more could be had. */
    assert_int_equal(first_low, LIMIT - RESERVE);
    assert_int_equal(fds[n - 1], LIMIT - 1);
    assert_true(tc_fdlimit_low(fds[n - 1], 1));
    assert_false(tc_fdlimit_low(LIMIT - RESERVE - 1, RESERVE));
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raise_reports_hard),
        cmocka_unit_test(test_low_is_false_for_bad_fd),
        cmocka_unit_test(test_low_as_descriptors_run_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
