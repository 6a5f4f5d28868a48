#include "util/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "util/mem.h"

struct tc_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a new job or shutdown */
    pthread_cond_t done; /* a worker finished its part */
    size_t n_workers;
    pthread_t *threads;
    bool stop;
    unsigned long generation; /* bumps per job */
    size_t busy;              /* workers still in the current job */
    void (*fn)(void *, size_t);
    void *ctx;
    size_t n;
    atomic_size_t next;
};

static void drain(tc_pool *p)
{
    size_t i;
    while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
        p->fn(p->ctx, i);
}

static void *worker(void *arg)
{
    tc_pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        drain(p);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

tc_pool *tc_pool_new(size_t workers)
{
    if (workers == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cpus > 1 ? (size_t)cpus - 1 : 0;
    }
    tc_pool *p = tc_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n_workers = workers;
    p->threads = tc_xcalloc(workers, sizeof *p->threads);
    for (size_t i = 0; i < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            fprintf(stderr, "fatal: cannot start worker thread\n");
            abort();
        }
    }
    return p;
}

void tc_pool_free(tc_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_workers; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

void tc_pool_run(tc_pool *p, size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
    if (p == NULL || p->n_workers == 0 || n < 2) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    p->busy = p->n_workers;
    p->generation++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    drain(p);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

size_t tc_pool_threads(const tc_pool *p)
{
    return p ? p->n_workers + 1 : 1;
}
