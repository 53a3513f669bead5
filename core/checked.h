/* checked.h: 64-bit arithmetic that says when it overflows.
 *
 * Every count, length and offset read from a file or a manifest goes
 * through these before it is used, so a crafted number gets an error, never
 * a wrapped value. */
#ifndef IRPA_CHECKED_H
#define IRPA_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* *sum = a + b; true when it does not fit (then *sum is unspecified). */
static inline bool irpa_add_overflows(uint64_t a, uint64_t b, uint64_t *sum) {
    return __builtin_add_overflow(a, b, sum);
}

/* *product = a * b; true when it does not fit. */
static inline bool irpa_mul_overflows(uint64_t a, uint64_t b, uint64_t *product) {
    return __builtin_mul_overflow(a, b, product);
}

/* Whether value is 1, 2, 4, 8, ... (0 is not). */
static inline bool irpa_is_power_of_two(uint64_t value) { return value && !(value & (value - 1)); }

#endif
