/* clock.c: the clocks (clock.h). */
#include "clock.h"

static int64_t read_ns(clockid_t clock) {
    struct timespec now;
    clock_gettime(clock, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int64_t irpa_monotonic_ns(void) { return read_ns(CLOCK_MONOTONIC); }

int64_t irpa_monotonic_ms(void) { return read_ns(CLOCK_MONOTONIC) / 1000000; }

int64_t irpa_coarse_ms(void) { return read_ns(CLOCK_MONOTONIC_COARSE) / 1000000; }

int64_t irpa_age_ms(struct timespec then) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return ((int64_t)now.tv_sec - (int64_t)then.tv_sec) * 1000 +
           (now.tv_nsec - then.tv_nsec) / 1000000;
}
