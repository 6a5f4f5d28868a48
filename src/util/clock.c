#include "util/clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static uint64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int tc_clock_offset_parse(const char *s, tc_clock_offset *out)
{
    *out = (tc_clock_offset){false, 0};
    bool negative = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    uint64_t v = 0;
    size_t digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return TC_EINVAL;
        v = v * 10 + d;
    }
    if (digits == 0 || *s != '\0')
        return TC_EINVAL;
    *out = (tc_clock_offset){negative, v};
    return 0;
}

uint64_t tc_clock_offset_apply(const tc_clock_offset *o, uint64_t wall_ms)
{
    if (o->negative)
        return wall_ms < o->magnitude ? 0 : wall_ms - o->magnitude;
    return wall_ms > UINT64_MAX - o->magnitude ? UINT64_MAX : wall_ms + o->magnitude;
}

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static int env_state; /* the answer of tc_clock_offset_env */
static tc_clock_offset env_offset;

static void read_env(void)
{
    const char *s = getenv(TC_CLOCK_OFFSET_ENV);
    if (s == NULL)
        env_state = 0;
    else if ((env_state = tc_clock_offset_parse(s, &env_offset)) == 0)
        env_state = 1;
}

int tc_clock_offset_env(tc_clock_offset *out)
{
    pthread_once(&env_once, read_env);
    *out = env_offset;
    return env_state;
}

uint64_t tc_clock_wall_ms(void)
{
    tc_clock_offset o;
    uint64_t ms = read_ns(CLOCK_REALTIME) / 1000000ull;
    return tc_clock_offset_env(&o) == 1 ? tc_clock_offset_apply(&o, ms) : ms;
}

uint64_t tc_clock_mono_ms(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000000ull;
}

uint64_t tc_clock_mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}
