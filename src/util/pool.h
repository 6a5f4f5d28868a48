/* A fixed pool of worker threads running parallel-for jobs (signature
 * verification on every core). One job at a time per pool; the calling thread
 * works too, so a pool of n-1 workers uses n cores. */
#ifndef TC_UTIL_POOL_H
#define TC_UTIL_POOL_H

#include <stddef.h>

typedef struct tc_pool tc_pool;

/* Starts `workers` threads (0: one less than the online CPUs). Aborts if
 * threads cannot be created. */
tc_pool *tc_pool_new(size_t workers);
/* Joins the workers; NULL is a no-op. */
void tc_pool_free(tc_pool *p);
/* Calls fn(ctx, i) for every i in [0, n) across the pool and the caller,
 * returning when all calls have finished. p may be NULL (runs in the caller).
 * Not re-entrant: fn must not call tc_pool_run on the same pool. */
void tc_pool_run(tc_pool *p, size_t n, void (*fn)(void *ctx, size_t i), void *ctx);
/* Threads that run a job, counting the caller. */
size_t tc_pool_threads(const tc_pool *p);

#endif
