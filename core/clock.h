/* clock.h: the clocks irpafs reads, and comparing file times. */
#ifndef IRPA_CLOCK_H
#define IRPA_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Nanoseconds on CLOCK_MONOTONIC: for measuring how long something took. */
int64_t irpa_monotonic_ns(void);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t irpa_monotonic_ms(void);

/* Milliseconds on CLOCK_MONOTONIC_COARSE: cheaper, a few ms coarse; for
 * "at most every N ms" checks on a hot path. */
int64_t irpa_coarse_ms(void);

/* Milliseconds from `then` (a CLOCK_REALTIME time, such as a file's mtime)
 * to now; negative when `then` is in the future. */
int64_t irpa_age_ms(struct timespec then);

/* Whether two file times are the same, to the nanosecond. */
static inline bool irpa_same_time(struct timespec a, struct timespec b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* -1, 0 or 1 as time `a` is before, the same as or after `b`. */
static inline int irpa_time_compare(struct timespec a, struct timespec b) {
    if (a.tv_sec != b.tv_sec) return a.tv_sec < b.tv_sec ? -1 : 1;
    return (a.tv_nsec > b.tv_nsec) - (a.tv_nsec < b.tv_nsec);
}

#endif
