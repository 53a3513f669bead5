/* search.h: binary search over any sorted sequence. */
#ifndef IRPA_SEARCH_H
#define IRPA_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

/* Whether element `index` of `items` sorts before `key`. */
typedef bool (*irpa_before)(const void *items, size_t index, const void *key);

/* The first index in [0, count) whose element does not sort before `key`
 * (count when every element does): where `key` is, or would be inserted. */
static inline size_t irpa_lower_bound(const void *items, size_t count, irpa_before before,
                                      const void *key) {
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (before(items, middle, key)) low = middle + 1;
        else high = middle;
    }
    return low;
}

#endif
