#ifndef TC_UTIL_CLOCK_H
#define TC_UTIL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* Wall-clock milliseconds since the Unix epoch (block timestamps, logs),
 * shifted by the TC_TEST_WALL_OFFSET_MS test hook when that is set (read
 * once, on the first call; saturates at 0 and UINT64_MAX). Thread-safe. */
uint64_t tc_clock_wall_ms(void);
/* Monotonic milliseconds / nanoseconds from an arbitrary origin (timeouts,
 * rates); never shifted by the test hook. */
uint64_t tc_clock_mono_ms(void);
uint64_t tc_clock_mono_ns(void);

/* The test hook TC_TEST_WALL_OFFSET_MS (docs/operations.md, "Test hooks"): a
 * signed decimal number of milliseconds added to the wall clock, so a test
 * can give one node a skewed (or a Byzantine) clock. Its magnitude may reach
 * UINT64_MAX so that 18446744073709551615 pins the clock at UINT64_MAX. */
typedef struct {
    bool negative;
    uint64_t magnitude; /* ms */
} tc_clock_offset;

#define TC_CLOCK_OFFSET_ENV "TC_TEST_WALL_OFFSET_MS"

/* Parses an optional sign ('+' or '-') followed by decimal digits (leading
 * zeros allowed) whose value is at most UINT64_MAX, and nothing else.
 * TC_EINVAL otherwise, *out zeroed. */
int tc_clock_offset_parse(const char *s, tc_clock_offset *out) TC_MUST_CHECK;
/* wall_ms shifted by *o, saturated at 0 and UINT64_MAX. */
uint64_t tc_clock_offset_apply(const tc_clock_offset *o, uint64_t wall_ms);
/* The hook as tc_clock_wall_ms sees it: 0 if TC_CLOCK_OFFSET_ENV is unset,
 * 1 with *out filled if it is set and valid, TC_EINVAL if it is set but
 * invalid (the clock then runs unshifted; timed refuses to start). */
int tc_clock_offset_env(tc_clock_offset *out);

#endif
