/* inodes.c: inode numbers, and the table's versions by inode number
 * (table_internal.h).
 *
 * A version's inode number comes from a 64-bit hash (FNV-1a) of its
 * archive name, so an unchanged manifest has the same inode number in
 * every mount; a number still taken by an older version (or another name)
 * gives way to the next candidate in the name's sequence. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "search.h"
#include "table_internal.h"

/* The attempt-th inode number candidate for a name (0 = the stable one).
 * Kept below 2^63: some programs hold inode numbers in signed integers. */
static uint64_t inode_candidate(uint64_t hash, uint64_t attempt) {
    uint64_t x = hash + attempt * 0x9e3779b97f4a7c15ull;
    if (attempt > 0) {  /* splitmix64 finalizer for the fallbacks */
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        x ^= x >> 31;
    }
    return x & 0x7fffffffffffffffull;
}

static bool inode_before(const void *items, size_t index, const void *key) {
    return ((irpafs_version *const *)items)[index]->inode < *(const uint64_t *)key;
}

/* Where `inode` is, or would be inserted, in the sorted inode array. */
static size_t inode_position(const irpafs_table *table, uint64_t inode) {
    return irpa_lower_bound(table->inodes, table->inode_count, inode_before, &inode);
}

long inode_index(const irpafs_table *table, uint64_t inode) {
    size_t position = inode_position(table, inode);
    if (position < table->inode_count && table->inodes[position]->inode == inode)
        return (long)position;
    return -1;
}

uint64_t inode_allocate(const irpafs_table *table, const char *name) {
    uint64_t hash = irpa_fnv1a_string(name);
    for (uint64_t attempt = 0;; attempt++) {
        uint64_t inode = inode_candidate(hash, attempt);
        if (inode > IRPAFS_ROOT_INODE && inode_index(table, inode) < 0) return inode;
    }
}

int inode_table_add(irpafs_table *table, irpafs_version *version) {
    if (table->inode_count == table->inode_capacity) {
        size_t capacity = table->inode_capacity ? table->inode_capacity * 2 : 16;
        irpafs_version **grown = realloc(table->inodes, capacity * sizeof *grown);
        if (!grown) return -1;
        table->inodes = grown;
        table->inode_capacity = capacity;
    }
    size_t position = inode_position(table, version->inode);
    memmove(&table->inodes[position + 1], &table->inodes[position],
            (table->inode_count - position) * sizeof *table->inodes);
    table->inodes[position] = version;
    table->inode_count++;
    version->in_inode_table = true;
    atomic_fetch_add(&version->references, 1);
    return 0;
}

irpafs_version *inode_table_settle(irpafs_table *table, size_t index) {
    irpafs_version *version = table->inodes[index];
    if (version->listed || version->lookups > 0) return NULL;
    table->inode_count--;
    memmove(&table->inodes[index], &table->inodes[index + 1],
            (table->inode_count - index) * sizeof *table->inodes);
    version->in_inode_table = false;
    return version;
}
