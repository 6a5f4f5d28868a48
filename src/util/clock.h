#ifndef TC_UTIL_CLOCK_H
#define TC_UTIL_CLOCK_H

#include <stdint.h>

/* Wall-clock milliseconds since the Unix epoch (block timestamps, logs). */
uint64_t tc_clock_wall_ms(void);
/* Monotonic milliseconds / nanoseconds from an arbitrary origin (timeouts, rates). */
uint64_t tc_clock_mono_ms(void);
uint64_t tc_clock_mono_ns(void);

#endif
