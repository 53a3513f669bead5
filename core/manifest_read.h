/* manifest_read.h: the manifest loader's state, and reading tree nodes as
 * the values the schema wants.
 *
 * Each reader checks one node against what the schema expects there (a
 * string, a number of bytes, a mapping with known keys), reports what is
 * wrong with the node's position, and returns whether the value is usable.
 * The schema (manifest.c, manifest_sources.c, manifest_entries.c) is
 * written on these.
 *
 *   irpa_loader_text        a scalar that must be a string, in place
 *   irpa_loader_string      the same, copied
 *   irpa_loader_u64         a number of bytes, decimal or 0x hex
 *   irpa_loader_keys        a mapping's values by key; unknown and repeated keys reported
 *   irpa_loader_wrong_type  "WHAT is a list; expected ..."
 *   irpa_loader_add_name    a name into a table of names, or the element that has it */
#ifndef IRPA_MANIFEST_READ_H
#define IRPA_MANIFEST_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "manifest.h"
#include "manifest_report.h"
#include "manifest_tree.h"

typedef struct irpa_loader {
    irpa_reporter reporter;        /* where problems go */
    irpa_tree tree;                /* the manifest's YAML */
    irpa_manifest *manifest;       /* what it becomes */
    irpa_index_table source_keys;  /* manifest->sources by key (manifest_sources.c) */
    irpa_index_table entry_names;  /* manifest->entries by name: the first entry using it */
} irpa_loader;

/* The mapping keys a schema object allows. */
typedef struct irpa_key_set {
    const char *const *keys;  /* the keys allowed */
    size_t count;
    const char *where;        /* "in entry", for messages */
} irpa_key_set;

/* Reports that node `node`, called `what`, is of the wrong kind: "WHAT is a
 * list; expected EXPECTED" or "WHAT has no value; ...". Aliases were
 * reported already and are only counted. */
void irpa_loader_wrong_type(irpa_loader *loader, const irpa_node *node, const char *what,
                            const char *expected);

/* The text of scalar `index`, which must be a string: not a collection,
 * not null, and (unless `allow_nul`) without NUL bytes. Points into the
 * tree. */
bool irpa_loader_text(irpa_loader *loader, size_t index, const char *what, const char *expected,
                      bool allow_nul, const char **text, size_t *length);

/* `length` bytes of `text` as an owned, NUL-terminated string. */
char *irpa_loader_copy(irpa_loader *loader, const char *text, size_t length);

/* irpa_loader_text, copied into an owned string; NULL when reported. */
char *irpa_loader_string(irpa_loader *loader, size_t index, const char *what,
                         const char *expected);

/* A count of bytes (offset, length, alignment): 0 .. 2^64-1. */
bool irpa_loader_u64(irpa_loader *loader, size_t index, const char *what, uint64_t *value);

/* Reads mapping `index`: values[i] (and key_nodes[i]) become the node of
 * set->keys[i], or IRPA_NO_NODE. Unknown, duplicate and non-string keys are
 * reported. */
void irpa_loader_keys(irpa_loader *loader, size_t index, const irpa_key_set *set, size_t *values,
                      size_t *key_nodes);

/* Adds element `index` of `items`, named `name`, to `table`, unless an
 * element of that name is there: then that element's index. IRPA_NO_NODE
 * when it was added, and when out of memory (reported). Names are hashed
 * with irpa_fnv1a_string, so `hash_of` must hash an element's name so;
 * `match` compares an element's name with a name. */
size_t irpa_loader_add_name(irpa_loader *loader, irpa_index_table *table, irpa_index_hash hash_of,
                            irpa_index_match match, const void *items, const char *name,
                            size_t index);

#endif
