/* hash.c: the index table (hash.h). */
#include "hash.h"

#include <stdlib.h>

static size_t *probe(size_t *slots, size_t capacity, uint64_t hash, irpa_index_match match,
                     const void *items, const void *key) {
    size_t mask = capacity - 1;
    for (size_t slot = (size_t)(hash ^ (hash >> 32)) & mask;; slot = (slot + 1) & mask) {
        size_t held = slots[slot];
        if (!held || (match && match(items, held - 1, key))) return &slots[slot];
    }
}

int irpa_index_table_reserve(irpa_index_table *table, irpa_index_hash hash_of, const void *items) {
    if ((table->count + 1) * 2 <= table->capacity) return 0;
    size_t capacity = table->capacity ? table->capacity * 2 : 16;
    if (capacity < table->capacity) return -1;
    size_t *slots = calloc(capacity, sizeof *slots);
    if (!slots) return -1;
    /* Held elements are distinct: re-inserting needs no match, only a free slot. */
    for (size_t i = 0; i < table->capacity; i++) {
        size_t held = table->slots[i];
        if (held) *probe(slots, capacity, hash_of(items, held - 1), NULL, items, NULL) = held;
    }
    free(table->slots);
    table->slots = slots;
    table->capacity = capacity;
    return 0;
}

size_t *irpa_index_table_slot(const irpa_index_table *table, uint64_t hash, irpa_index_match match,
                              const void *items, const void *key) {
    return probe(table->slots, table->capacity, hash, match, items, key);
}

size_t irpa_index_table_find(const irpa_index_table *table, uint64_t hash, irpa_index_match match,
                             const void *items, const void *key) {
    if (table->capacity == 0) return SIZE_MAX;
    size_t held = *probe(table->slots, table->capacity, hash, match, items, key);
    return held ? held - 1 : SIZE_MAX;
}

void irpa_index_table_fill(irpa_index_table *table, size_t *slot, size_t index) {
    *slot = index + 1;
    table->count++;
}

void irpa_index_table_free(irpa_index_table *table) {
    free(table->slots);
    *table = (irpa_index_table){0};
}
