#include "util/fdlimit.h"

#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>

/* 0 = not read yet; the limit itself is never 0 in a running process (its
 * own stdin/stdout/stderr count against it). */
static _Atomic uint64_t cached_soft;

static uint64_t to_u64(rlim_t v)
{
    return v == RLIM_INFINITY ? UINT64_MAX : (uint64_t)v;
}

/* Linux refuses an unlimited RLIMIT_NOFILE: the ceiling is fs.nr_open. */
static rlim_t nr_open(void)
{
    rlim_t n = 1048576; /* the kernel's default nr_open */
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");
    if (f != NULL) {
        unsigned long long v;
        if (fscanf(f, "%llu", &v) == 1 && v > 0)
            n = (rlim_t)v;
        fclose(f);
    }
    return n;
}

static void report(const struct rlimit *rl, uint64_t *soft, uint64_t *hard)
{
    atomic_store(&cached_soft, to_u64(rl->rlim_cur));
    if (soft != NULL)
        *soft = to_u64(rl->rlim_cur);
    if (hard != NULL)
        *hard = to_u64(rl->rlim_max);
}

int tc_fdlimit_raise(uint64_t *soft, uint64_t *hard)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        atomic_store(&cached_soft, UINT64_MAX);
        if (soft != NULL)
            *soft = UINT64_MAX;
        if (hard != NULL)
            *hard = UINT64_MAX;
        return TC_EIO;
    }
    int rc = 0;
    if (rl.rlim_cur != rl.rlim_max) {
        struct rlimit want = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
        bool ok = setrlimit(RLIMIT_NOFILE, &want) == 0;
        if (!ok && rl.rlim_max == RLIM_INFINITY) {
            want.rlim_cur = nr_open();
            ok = want.rlim_cur <= rl.rlim_cur || setrlimit(RLIMIT_NOFILE, &want) == 0;
        }
        if (!ok || getrlimit(RLIMIT_NOFILE, &rl) != 0)
            rc = TC_EIO;
    }
    report(&rl, soft, hard);
    return rc;
}

uint64_t tc_fdlimit_soft(void)
{
    uint64_t v = atomic_load(&cached_soft);
    if (v != 0)
        return v;
    struct rlimit rl;
    v = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? to_u64(rl.rlim_cur) : UINT64_MAX;
    atomic_store(&cached_soft, v);
    return v;
}

bool tc_fdlimit_low(int fd, unsigned reserve)
{
    if (fd < 0)
        return false;
    uint64_t soft = tc_fdlimit_soft();
    if (soft == UINT64_MAX)
        return false;
    return (uint64_t)fd + reserve >= soft;
}
