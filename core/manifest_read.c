/* manifest_read.c: tree nodes as the schema's values (manifest_read.h). */
#include "manifest_read.h"

#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "suggest.h"

static const char *kind_phrase(const irpa_node *node) {
    switch (node->kind) {
    case IRPA_NODE_SEQUENCE: return "a list";
    case IRPA_NODE_MAPPING: return "a mapping";
    default: return "a string";
    }
}

void irpa_loader_wrong_type(irpa_loader *loader, const irpa_node *node, const char *what,
                            const char *expected) {
    if (irpa_node_is_alias(node)) {
        loader->reporter.error_count++;
        return;
    }
    if (irpa_tree_is_null(&loader->tree, node)) {
        irpa_report(&loader->reporter, node->position, "%s has no value; expected %s", what,
                    expected);
    } else {
        irpa_report(&loader->reporter, node->position, "%s is %s; expected %s", what,
                    kind_phrase(node), expected);
    }
}

bool irpa_loader_text(irpa_loader *loader, size_t index, const char *what, const char *expected,
                      bool allow_nul, const char **text, size_t *length) {
    const irpa_node *node = irpa_tree_node(&loader->tree, index);
    if (node->kind != IRPA_NODE_SCALAR || irpa_tree_is_null(&loader->tree, node) ||
        irpa_node_is_alias(node)) {
        irpa_loader_wrong_type(loader, node, what, expected);
        return false;
    }
    *text = irpa_tree_text(&loader->tree, node);
    *length = node->text_length;
    if (!allow_nul && memchr(*text, '\0', *length)) {
        irpa_report(&loader->reporter, node->position, "%s contains a NUL character; expected %s",
                    what, expected);
        return false;
    }
    return true;
}

char *irpa_loader_copy(irpa_loader *loader, const char *text, size_t length) {
    char *copy = malloc(length + 1);
    if (!copy) {
        irpa_report_out_of_memory(&loader->reporter);
        return NULL;
    }
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

char *irpa_loader_string(irpa_loader *loader, size_t index, const char *what,
                         const char *expected) {
    const char *text;
    size_t length;
    if (!irpa_loader_text(loader, index, what, expected, false, &text, &length)) return NULL;
    return irpa_loader_copy(loader, text, length);
}

bool irpa_loader_u64(irpa_loader *loader, size_t index, const char *what, uint64_t *value) {
    const char *text;
    size_t length;
    if (!irpa_loader_text(loader, index, what, "a whole number of bytes", false, &text, &length))
        return false;
    irpa_position at = irpa_tree_node(&loader->tree, index)->position;
    char shown[IRPA_SHOWN_SIZE];
    uint64_t magnitude = 0;
    bool negative;
    irpa_number_status status = irpa_parse_integer(text, length, &magnitude, &negative);
    if (status == IRPA_NUMBER_OK && !(negative && magnitude > 0)) {
        *value = magnitude;
        return true;
    }
    if (status == IRPA_NUMBER_NOT_INTEGER)
        irpa_report(&loader->reporter, at, "%s '%s' is not an integer; expected a whole number of "
                    "bytes (decimal or 0x hex)", what, irpa_show(shown, text, length));
    else if (status == IRPA_NUMBER_OK)
        irpa_report(&loader->reporter, at, "%s '%s' is negative; expected a number of bytes from "
                    "0 to 18446744073709551615", what, irpa_show(shown, text, length));
    else
        irpa_report(&loader->reporter, at, "%s '%s' is out of range; expected at most "
                    "18446744073709551615 (2^64-1)", what, irpa_show(shown, text, length));
    return false;
}

/* Reports key `key`, which is none of set's keys. */
static void report_unknown_key(irpa_loader *loader, const irpa_node *key, const irpa_key_set *set) {
    const char *text = irpa_tree_text(&loader->tree, key);
    char shown[IRPA_SHOWN_SIZE], tail[IRPA_SUGGESTION_TAIL_SIZE];
    irpa_report(&loader->reporter, key->position, "unknown key '%s' %s%s",
                irpa_show(shown, text, key->text_length), set->where,
                irpa_suggestion_tail(tail, text, key->text_length, set->keys, set->count, NULL));
}

void irpa_loader_keys(irpa_loader *loader, size_t index, const irpa_key_set *set, size_t *values,
                      size_t *key_nodes) {
    for (size_t k = 0; k < set->count; k++) values[k] = key_nodes[k] = IRPA_NO_NODE;
    const irpa_tree *tree = &loader->tree;
    const irpa_node *mapping = irpa_tree_node(tree, index);
    for (size_t i = 0; i + 1 < mapping->child_count; i += 2) {
        size_t key_index = irpa_tree_child(tree, mapping, i);
        const irpa_node *key = irpa_tree_node(tree, key_index);
        if (key->kind != IRPA_NODE_SCALAR || irpa_node_is_alias(key)) {
            irpa_loader_wrong_type(loader, key, "a key", "a plain word such as 'name'");
            continue;
        }
        size_t k = 0;
        while (k < set->count && !irpa_tree_scalar_is(tree, key, set->keys[k])) k++;
        if (k == set->count) {
            report_unknown_key(loader, key, set);
            continue;
        }
        if (values[k] != IRPA_NO_NODE) {
            irpa_position first = irpa_tree_node(tree, key_nodes[k])->position;
            irpa_report(&loader->reporter, key->position,
                        "duplicate key '%s' %s, first at line %u; expected each key once",
                        set->keys[k], set->where, first.line);
            continue;
        }
        key_nodes[k] = key_index;
        values[k] = irpa_tree_child(tree, mapping, i + 1);
    }
}

size_t irpa_loader_add_name(irpa_loader *loader, irpa_index_table *table, irpa_index_hash hash_of,
                            irpa_index_match match, const void *items, const char *name,
                            size_t index) {
    if (irpa_index_table_reserve(table, hash_of, items) != 0) {
        irpa_report_out_of_memory(&loader->reporter);
        return IRPA_NO_NODE;
    }
    size_t *slot = irpa_index_table_slot(table, irpa_fnv1a_string(name), match, items, name);
    if (*slot) return *slot - 1;
    irpa_index_table_fill(table, slot, index);
    return IRPA_NO_NODE;
}
