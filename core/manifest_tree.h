/* manifest_tree.h: a manifest's YAML text as a tree of positioned values.
 *
 * libyaml's event parser feeds a flat tree: every scalar, list and mapping
 * is a node with the line and column it starts at; a collection's children
 * are contiguous in `children` (a mapping's keys and values alternate).
 * Aliases are refused (reported, and left in the tree as a null), nesting
 * depth and the node count are bounded, so no input makes building do more
 * than linear work or allocate more than a bounded multiple of its size.
 *
 *   irpa_tree_build      YAML text -> tree; YAML errors reported
 *   irpa_tree_free
 *   irpa_tree_node       a node by index; irpa_tree_child: a collection's i-th child
 *   irpa_tree_text       a scalar's text (NUL-terminated)
 *   irpa_tree_is_null    `~`, `null`, or nothing, unquoted
 *   irpa_tree_scalar_is  a scalar that is exactly a given word
 *   irpa_node_is_alias   an alias, already reported */
#ifndef IRPA_MANIFEST_TREE_H
#define IRPA_MANIFEST_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "manifest_report.h"

#define IRPA_NO_NODE SIZE_MAX /* no such node: a missing key's value, an empty document */

typedef enum irpa_node_kind {
    IRPA_NODE_SCALAR,
    IRPA_NODE_SEQUENCE,
    IRPA_NODE_MAPPING,
} irpa_node_kind;

typedef struct irpa_node {
    irpa_node_kind kind;
    bool plain;              /* scalar written without quotes (so `~`, `null`, `` are null) */
    irpa_position position;  /* where the node starts */
    size_t text_offset;      /* scalar: its first byte in tree.text (NUL-terminated there);
                                IRPA_NO_NODE for an alias */
    size_t text_length;      /* scalar: bytes, without the NUL */
    size_t first_child;      /* collection: index in tree.children of its first child */
    size_t child_count;      /* sequence: items; mapping: keys and values, alternating */
} irpa_node;

typedef struct irpa_tree {
    irpa_node *nodes;        /* every node, in stream order */
    size_t node_count, node_capacity;
    size_t *children;        /* children of each collection, contiguous per collection */
    size_t child_count, child_capacity;
    char *text;              /* every scalar's bytes, each followed by a NUL */
    size_t text_length, text_capacity;
    size_t root;             /* the document's node, IRPA_NO_NODE when empty */
} irpa_tree;

/* Parses the `length` bytes of `text` into `tree` (zeroed before), every
 * problem reported to `reporter`. The tree is usable when none was. */
void irpa_tree_build(irpa_tree *tree, irpa_reporter *reporter, const char *text, size_t length);

void irpa_tree_free(irpa_tree *tree);

static inline const irpa_node *irpa_tree_node(const irpa_tree *tree, size_t index) {
    return &tree->nodes[index];
}

/* The index of child `i` of `collection`. */
static inline size_t irpa_tree_child(const irpa_tree *tree, const irpa_node *collection,
                                     size_t i) {
    return tree->children[collection->first_child + i];
}

static inline bool irpa_node_is_alias(const irpa_node *node) {
    return node->kind == IRPA_NODE_SCALAR && node->text_offset == IRPA_NO_NODE;
}

/* A scalar's text ("" for an alias). */
static inline const char *irpa_tree_text(const irpa_tree *tree, const irpa_node *node) {
    return irpa_node_is_alias(node) ? "" : tree->text + node->text_offset;
}

/* Whether `node` is YAML's null: unquoted `~`, `null`, `Null`, `NULL` or nothing. */
bool irpa_tree_is_null(const irpa_tree *tree, const irpa_node *node);

/* Whether `node` is a scalar whose text is exactly `word`. */
bool irpa_tree_scalar_is(const irpa_tree *tree, const irpa_node *node, const char *word);

#endif
