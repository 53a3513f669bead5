/* hash.h: FNV-1a, and a table from keys to indices of the caller's array.
 *
 * The table stores no keys: each slot holds an index into an array the
 * caller owns (plus one; 0 is an empty slot), and the caller says how to
 * hash an element and whether an element matches a key. Open addressing,
 * linear probing, at most half full, so a probe always ends. */
#ifndef IRPA_HASH_H
#define IRPA_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRPA_FNV1A_START UINT64_C(14695981039346656037) /* FNV-1a 64-bit offset basis */
#define IRPA_FNV1A_PRIME UINT64_C(1099511628211)        /* FNV-1a 64-bit prime */

/* Folds `length` bytes into `hash` (start with IRPA_FNV1A_START). */
static inline uint64_t irpa_fnv1a_add(uint64_t hash, const void *bytes, size_t length) {
    const unsigned char *byte = bytes;
    for (size_t i = 0; i < length; i++) hash = (hash ^ byte[i]) * IRPA_FNV1A_PRIME;
    return hash;
}

static inline uint64_t irpa_fnv1a(const void *bytes, size_t length) {
    return irpa_fnv1a_add(IRPA_FNV1A_START, bytes, length);
}

static inline uint64_t irpa_fnv1a_string(const char *text) {
    uint64_t hash = IRPA_FNV1A_START;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        hash = (hash ^ *c) * IRPA_FNV1A_PRIME;
    return hash;
}

typedef struct irpa_index_table {
    size_t *slots;    /* element index + 1; 0: empty */
    size_t capacity;  /* slots, a power of two (0 before the first reserve) */
    size_t count;     /* filled slots */
} irpa_index_table;

/* The hash of element `index` of `items`. */
typedef uint64_t (*irpa_index_hash)(const void *items, size_t index);
/* Whether element `index` of `items` is the one `key` names. */
typedef bool (*irpa_index_match)(const void *items, size_t index, const void *key);

/* Makes room for one more element: grows (rehashing each held element with
 * `hash_of`) when it would be more than half full. 0, or -1 out of memory. */
int irpa_index_table_reserve(irpa_index_table *table, irpa_index_hash hash_of, const void *items);

/* The slot holding the element that matches `key` (its value is index + 1),
 * or the empty slot (value 0) where it would go. The table must have been
 * reserved. */
size_t *irpa_index_table_slot(const irpa_index_table *table, uint64_t hash, irpa_index_match match,
                              const void *items, const void *key);

/* The index of the element matching `key`, or SIZE_MAX. */
size_t irpa_index_table_find(const irpa_index_table *table, uint64_t hash, irpa_index_match match,
                             const void *items, const void *key);

/* Fills an empty slot (from irpa_index_table_slot) with element `index`. */
void irpa_index_table_fill(irpa_index_table *table, size_t *slot, size_t index);

void irpa_index_table_free(irpa_index_table *table);

#endif
