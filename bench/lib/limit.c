#include "limit.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "crypto/ed25519.h"
#include "util/clock.h"

#define MAX_THREADS 64

typedef struct {
    tc_keypair kp;
    uint8_t msg[32];
    tc_sig sig;
    uint64_t done;
    uint64_t until_ns;
} verify_job;

static void *verify_loop(void *arg)
{
    verify_job *j = arg;
    uint64_t n = 0;
    while (tc_clock_mono_ns() < j->until_ns) {
        for (int i = 0; i < 64; i++)
            n += tc_verify(&j->kp.pk, j->msg, 32, &j->sig) == 0;
    }
    j->done = n;
    return NULL;
}

double tc_bench_verify_rate(size_t threads)
{
    static verify_job jobs[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    uint64_t start = tc_clock_mono_ns();
    for (size_t i = 0; i < threads; i++) {
        uint8_t seed[32];
        memset(seed, (int)(0xb0 + i), sizeof seed);
        tc_keypair_from_seed(&jobs[i].kp, seed);
        memset(jobs[i].msg, (int)i, 32);
        tc_sign(&jobs[i].kp, jobs[i].msg, 32, &jobs[i].sig);
        jobs[i].until_ns = start + 1000000000ull;
        pthread_create(&th[i], NULL, verify_loop, &jobs[i]);
    }
    uint64_t total = 0;
    for (size_t i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += jobs[i].done;
        tc_keypair_wipe(&jobs[i].kp);
    }
    return (double)total / ((double)(tc_clock_mono_ns() - start) / 1e9);
}

size_t tc_bench_cores(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (size_t)cpus : 1;
}
