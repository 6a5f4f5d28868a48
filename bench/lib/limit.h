/* The hardware limit benchmarks print their figures beside: Ed25519
 * signature verifications per second, measured in the same run. */
#ifndef TC_BENCH_LIMIT_H
#define TC_BENCH_LIMIT_H

#include <stddef.h>

/* Verifies per second summed over `threads` threads, each verifying in a
 * loop for about one second (tc_verify, the node's verifier). */
double tc_bench_verify_rate(size_t threads);

/* The number of online cores (at least 1). */
size_t tc_bench_cores(void);

#endif
