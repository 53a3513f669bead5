/* manifest_entries.c: the schema of `entries:` (manifest_entries.h). */
#include "manifest_entries.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "manifest_sources.h"
#include "number.h"
#include "splat.h"

enum entry_key {
    KEY_NAME, KEY_SOURCE, KEY_OFFSET, KEY_LENGTH, KEY_METADATA,
    KEY_SPLAT, KEY_TENSOR, KEY_INCLUDE, KEY_EXCLUDE, KEY_RENAME,
    ENTRY_KEY_COUNT
};

static const char *const entry_keys[ENTRY_KEY_COUNT] = {
    "name", "source", "offset", "length", "metadata",
    "splat", "tensor", "include", "exclude", "rename",
};

typedef struct entry_kind_rules {
    const char *phrase;    /* "an entry that names a tensor" */
    unsigned allowed;      /* bit per entry_key */
    unsigned required;     /* bit per entry_key */
    const char *keys;      /* the allowed keys, for messages */
} entry_kind_rules;

#define BIT(key) (1u << (key))

static const entry_kind_rules kind_rules[] = {
    [IRPA_MANIFEST_RANGE] = {"an entry that copies a byte range",
        BIT(KEY_NAME) | BIT(KEY_SOURCE) | BIT(KEY_OFFSET) | BIT(KEY_LENGTH) | BIT(KEY_METADATA),
        BIT(KEY_NAME) | BIT(KEY_SOURCE) | BIT(KEY_OFFSET) | BIT(KEY_LENGTH),
        "name, source, offset, length, metadata"},
    [IRPA_MANIFEST_SPLAT] = {"an entry that repeats a pattern",
        BIT(KEY_NAME) | BIT(KEY_SPLAT) | BIT(KEY_LENGTH) | BIT(KEY_METADATA),
        BIT(KEY_NAME) | BIT(KEY_SPLAT) | BIT(KEY_LENGTH),
        "name, splat, length, metadata"},
    [IRPA_MANIFEST_TENSOR] = {"an entry that names a tensor",
        BIT(KEY_NAME) | BIT(KEY_SOURCE) | BIT(KEY_TENSOR) | BIT(KEY_METADATA),
        BIT(KEY_SOURCE) | BIT(KEY_TENSOR),
        "name, source, tensor, metadata"},
    [IRPA_MANIFEST_ALL] = {"an entry that takes every tensor of a source",
        BIT(KEY_SOURCE) | BIT(KEY_INCLUDE) | BIT(KEY_EXCLUDE) | BIT(KEY_RENAME) | BIT(KEY_SPLAT),
        BIT(KEY_SOURCE),
        "source, include, exclude, rename, splat"},
};

static const char *const required_phrases[ENTRY_KEY_COUNT] = {
    [KEY_NAME] = "'name:' with the entry's name in the archive",
    [KEY_SOURCE] = "'source:' with a key defined under 'sources:'",
    [KEY_OFFSET] = "'offset:' with the byte offset in the source",
    [KEY_LENGTH] = "'length:' with a number of bytes",
    [KEY_SPLAT] = "'splat:' with a pattern",
    [KEY_TENSOR] = "'tensor:' with the tensor's name in the source",
};

/* ---- splat patterns --------------------------------------------------- */

/* splat: {type: T, value: V} */
static void read_typed_splat(irpa_loader *loader, size_t index, irpa_manifest_entry *entry) {
    static const char *const keys[] = {"type", "value"};
    static const irpa_key_set set = {keys, 2, "in splat"};
    const irpa_tree *tree = &loader->tree;
    size_t values[2], key_nodes[2];
    irpa_loader_keys(loader, index, &set, values, key_nodes);
    irpa_position at = irpa_tree_node(tree, index)->position;
    char types[IRPA_SPLAT_TYPE_LIST_SIZE];
    if (values[0] == IRPA_NO_NODE)
        irpa_report(&loader->reporter, at, "missing key 'type' in splat; expected 'type:' with "
                    "one of: %s", irpa_splat_type_list(types));
    if (values[1] == IRPA_NO_NODE)
        irpa_report(&loader->reporter, at, "missing key 'value' in splat; expected 'value:' "
                    "with a number");
    const char *type_text = NULL, *value_text;
    size_t type_length = 0, value_length;
    bool type_ok = values[0] != IRPA_NO_NODE &&
                   irpa_loader_text(loader, values[0], "splat type", "a type such as f32", false,
                                    &type_text, &type_length);
    bool value_ok = values[1] != IRPA_NO_NODE &&
                    irpa_loader_text(loader, values[1], "splat value", "a number", false,
                                     &value_text, &value_length);
    if (!type_ok) return;
    char why[256];
    irpa_splat_fault fault = irpa_splat_encode(type_text, value_ok ? value_text : NULL,
                                               entry->pattern, &entry->pattern_length, why,
                                               sizeof why);
    if (fault == IRPA_SPLAT_BAD_TYPE)
        irpa_report(&loader->reporter, irpa_tree_node(tree, values[0])->position, "%s", why);
    else if (fault == IRPA_SPLAT_BAD_VALUE)
        irpa_report(&loader->reporter, irpa_tree_node(tree, values[1])->position, "%s", why);
}

/* What is wrong with the hex pattern of `length` digits in `text` (a
 * message after the quoted pattern), or NULL when it is good. */
static const char *hex_pattern_problem(const char *text, size_t length) {
    for (size_t i = 0; i < length; i++)
        if (irpa_hex_digit(text[i]) < 0)
            return "is not hex; expected hex digits, two per byte, such as \"0000803f\"";
    if (length % 2) return "has an odd number of hex digits; expected two per byte";
    return NULL;
}

/* splat: "0000803f": the bytes in the order written. */
static void read_hex_splat(irpa_loader *loader, size_t index, irpa_manifest_entry *entry) {
    const char *text;
    size_t length;
    if (!irpa_loader_text(loader, index, "'splat'", "a hex pattern such as \"0000803f\" or "
                          "{type: f32, value: 1.0}", false, &text, &length))
        return;
    irpa_position at = irpa_tree_node(&loader->tree, index)->position;
    char shown[IRPA_SHOWN_SIZE];
    if (length == 0) {
        irpa_report(&loader->reporter, at,
                    "splat pattern is empty; expected 1, 2, 4, 8 or 16 bytes as hex digits");
        return;
    }
    const char *problem = hex_pattern_problem(text, length);
    if (problem) {
        irpa_report(&loader->reporter, at, "splat pattern '%s' %s",
                    irpa_show(shown, text, length), problem);
        return;
    }
    size_t bytes = length / 2;
    if (bytes > 16 || !irpa_is_power_of_two(bytes)) {
        irpa_report(&loader->reporter, at, "splat pattern '%s' is %zu bytes; expected %s",
                    irpa_show(shown, text, length), bytes,
                    bytes > 16 ? "at most 16 bytes" : "1, 2, 4, 8 or 16 bytes");
        return;
    }
    for (size_t i = 0; i < bytes; i++)
        entry->pattern[i] =
            (uint8_t)(irpa_hex_digit(text[2 * i]) * 16 + irpa_hex_digit(text[2 * i + 1]));
    entry->pattern_length = (uint8_t)bytes;
}

static void read_splat(irpa_loader *loader, const size_t *values, irpa_manifest_entry *entry) {
    size_t splat = values[KEY_SPLAT];
    if (irpa_tree_node(&loader->tree, splat)->kind == IRPA_NODE_MAPPING)
        read_typed_splat(loader, splat, entry);
    else
        read_hex_splat(loader, splat, entry);
    if (entry->pattern_length && values[KEY_LENGTH] != IRPA_NO_NODE &&
        entry->length % entry->pattern_length)
        irpa_report(&loader->reporter, entry->length_position, "length %llu is not a multiple of "
                    "the splat pattern's %u bytes; expected a multiple of %u",
                    (unsigned long long)entry->length, entry->pattern_length,
                    entry->pattern_length);
}

/* ---- globs and renames ------------------------------------------------ */

/* A glob, or a list of globs, into an owned array. */
static void read_globs(irpa_loader *loader, size_t index, const char *what, char ***globs,
                       size_t *count) {
    const irpa_tree *tree = &loader->tree;
    const irpa_node *value = irpa_tree_node(tree, index);
    if (value->kind == IRPA_NODE_MAPPING || irpa_tree_is_null(tree, value) ||
        irpa_node_is_alias(value)) {
        irpa_loader_wrong_type(loader, value, what, "a glob or a list of globs");
        return;
    }
    size_t item_count = value->kind == IRPA_NODE_SEQUENCE ? value->child_count : 1;
    if (item_count == 0) return;
    *globs = calloc(item_count, sizeof **globs);
    if (!*globs) {
        irpa_report_out_of_memory(&loader->reporter);
        return;
    }
    for (size_t i = 0; i < item_count; i++) {
        size_t item = value->kind == IRPA_NODE_SEQUENCE ? irpa_tree_child(tree, value, i) : index;
        char *glob =
            irpa_loader_string(loader, item, "a glob", "a string such as \"model.layers.*\"");
        if (glob) (*globs)[(*count)++] = glob;
    }
}

/* {from: P, to: R} */
static void read_rename(irpa_loader *loader, size_t index, irpa_manifest_entry *entry) {
    static const char *const keys[] = {"from", "to"};
    static const irpa_key_set set = {keys, 2, "in rename"};
    const irpa_node *mapping = irpa_tree_node(&loader->tree, index);
    if (mapping->kind != IRPA_NODE_MAPPING) {
        irpa_loader_wrong_type(loader, mapping, "a rename",
                               "a mapping {from: PREFIX, to: REPLACEMENT}");
        return;
    }
    size_t values[2], key_nodes[2];
    irpa_loader_keys(loader, index, &set, values, key_nodes);
    if (values[0] == IRPA_NO_NODE)
        irpa_report(&loader->reporter, mapping->position, "missing key 'from' in rename; "
                    "expected 'from:' with the prefix to replace");
    if (values[1] == IRPA_NO_NODE)
        irpa_report(&loader->reporter, mapping->position, "missing key 'to' in rename; "
                    "expected 'to:' with its replacement (\"\" to remove it)");
    if (values[0] == IRPA_NO_NODE || values[1] == IRPA_NO_NODE) return;
    char *from = irpa_loader_string(loader, values[0], "'from'", "a prefix string");
    char *to =
        irpa_loader_string(loader, values[1], "'to'", "a string (\"\" to remove the prefix)");
    if (!from || !to) {
        free(from);
        free(to);
        return;
    }
    entry->renames[entry->rename_count++] = (irpa_rename){from, to};
}

/* A rename, or a list of them. */
static void read_renames(irpa_loader *loader, size_t index, irpa_manifest_entry *entry) {
    const irpa_node *value = irpa_tree_node(&loader->tree, index);
    if (value->kind == IRPA_NODE_SCALAR) {
        irpa_loader_wrong_type(loader, value, "'rename'",
                               "a list of {from: PREFIX, to: REPLACEMENT}");
        return;
    }
    size_t item_count = value->kind == IRPA_NODE_SEQUENCE ? value->child_count : 1;
    if (item_count == 0) return;
    entry->renames = calloc(item_count, sizeof *entry->renames);
    if (!entry->renames) {
        irpa_report_out_of_memory(&loader->reporter);
        return;
    }
    for (size_t i = 0; i < item_count; i++)
        read_rename(loader,
                    value->kind == IRPA_NODE_SEQUENCE ? irpa_tree_child(&loader->tree, value, i)
                                                      : index,
                    entry);
}

/* ---- entries ---------------------------------------------------------- */

/* The name `entry` has in the archive: its name, else its tensor's. */
static const char *effective_name(const irpa_manifest_entry *entry) {
    return entry->name ? entry->name : entry->tensor;
}

/* Entry names in loader->entry_names: the hash of entry `index`'s name. */
static uint64_t entry_name_hash(const void *entries, size_t index) {
    return irpa_fnv1a_string(effective_name(&((const irpa_manifest_entry *)entries)[index]));
}

/* Whether entry `index` has the name `name`. */
static bool entry_has_name(const void *entries, size_t index, const void *name) {
    return strcmp(effective_name(&((const irpa_manifest_entry *)entries)[index]), name) == 0;
}

/* What kind of entry the keys present make, or -1. */
static int detect_kind(const irpa_loader *loader, const size_t *values) {
    bool has[ENTRY_KEY_COUNT];
    for (int k = 0; k < ENTRY_KEY_COUNT; k++) has[k] = values[k] != IRPA_NO_NODE;
    if (has[KEY_TENSOR]) return IRPA_MANIFEST_TENSOR;
    if (has[KEY_SPLAT] && !has[KEY_SOURCE] &&
        irpa_tree_node(&loader->tree, values[KEY_SPLAT])->kind != IRPA_NODE_SEQUENCE)
        return IRPA_MANIFEST_SPLAT;
    if (has[KEY_SOURCE] && (has[KEY_NAME] || has[KEY_OFFSET] || has[KEY_LENGTH]))
        return IRPA_MANIFEST_RANGE;
    if (has[KEY_SOURCE]) return IRPA_MANIFEST_ALL;
    return -1;
}

/* Reports the keys present that the entry's kind does not allow (and
 * forgets them), and the keys it requires that are missing. */
static void check_kind_keys(irpa_loader *loader, const irpa_node *mapping, int kind,
                            size_t *values, const size_t *key_nodes) {
    const entry_kind_rules *rules = &kind_rules[kind];
    for (int k = 0; k < ENTRY_KEY_COUNT; k++) {
        if (values[k] != IRPA_NO_NODE && !(rules->allowed & BIT(k))) {
            irpa_report(&loader->reporter, irpa_tree_node(&loader->tree, key_nodes[k])->position,
                        "key '%s' is not allowed in %s; expected only %s", entry_keys[k],
                        rules->phrase, rules->keys);
            values[k] = IRPA_NO_NODE;
        }
        if (values[k] == IRPA_NO_NODE && (rules->required & BIT(k)))
            irpa_report(&loader->reporter, mapping->position,
                        "missing key '%s' in %s; expected %s", entry_keys[k], rules->phrase,
                        required_phrases[k]);
    }
}

/* Reports `name` (at `at`) when an earlier entry has it. */
static void check_entry_name(irpa_loader *loader, size_t entry_index, const char *name,
                             irpa_position at) {
    const irpa_manifest_entry *entries = loader->manifest->entries;
    size_t first = irpa_loader_add_name(loader, &loader->entry_names, entry_name_hash,
                                        entry_has_name, entries, name, entry_index);
    if (first == IRPA_NO_NODE) return;
    char shown[IRPA_SHOWN_SIZE];
    irpa_report(&loader->reporter, at, "duplicate entry name '%s', first at line %u; expected "
                "each name once in the archive", irpa_show(shown, name, strlen(name)),
                entries[first].position.line);
}

/* A key that must hold a non-empty string, copied; `empty` is the message
 * when it is "". */
static char *read_name(irpa_loader *loader, size_t index, const char *what, const char *expected,
                       const char *empty) {
    char *name = irpa_loader_string(loader, index, what, expected);
    if (name && !name[0])
        irpa_report(&loader->reporter, irpa_tree_node(&loader->tree, index)->position, "%s",
                    empty);
    return name;
}

/* `offset:` and `length:`, and that their range ends within 64 bits. */
static void read_range(irpa_loader *loader, const size_t *values, irpa_manifest_entry *entry) {
    bool offset_ok = false, length_ok = false;
    if (values[KEY_OFFSET] != IRPA_NO_NODE) {
        entry->offset_position = irpa_tree_node(&loader->tree, values[KEY_OFFSET])->position;
        offset_ok = irpa_loader_u64(loader, values[KEY_OFFSET], "offset", &entry->offset);
    }
    if (values[KEY_LENGTH] != IRPA_NO_NODE) {
        entry->length_position = irpa_tree_node(&loader->tree, values[KEY_LENGTH])->position;
        length_ok = irpa_loader_u64(loader, values[KEY_LENGTH], "length", &entry->length);
    }
    uint64_t end;
    if (offset_ok && length_ok && irpa_add_overflows(entry->offset, entry->length, &end))
        irpa_report(&loader->reporter, entry->offset_position, "offset %llu + length %llu "
                    "overflows 64 bits; expected the range to end at most at "
                    "18446744073709551615",
                    (unsigned long long)entry->offset, (unsigned long long)entry->length);
}

static void read_entry_fields(irpa_loader *loader, const size_t *values,
                              irpa_manifest_entry *entry) {
    if (values[KEY_NAME] != IRPA_NO_NODE)
        entry->name = read_name(loader, values[KEY_NAME], "'name'", "the entry's name",
                                "entry name is empty; expected a non-empty name");
    if (values[KEY_SOURCE] != IRPA_NO_NODE)
        irpa_read_source_key(loader, values[KEY_SOURCE], &entry->source);
    read_range(loader, values, entry);
    if (values[KEY_METADATA] != IRPA_NO_NODE) {
        const char *text;
        size_t length;
        if (irpa_loader_text(loader, values[KEY_METADATA], "'metadata'", "a string", true, &text,
                             &length) && length > 0) {
            entry->metadata = (uint8_t *)irpa_loader_copy(loader, text, length);
            if (entry->metadata) entry->metadata_length = length;
        }
    }
    if (values[KEY_TENSOR] != IRPA_NO_NODE)
        entry->tensor = read_name(loader, values[KEY_TENSOR], "'tensor'",
                                  "the tensor's name in the source",
                                  "tensor name is empty; expected the tensor's name in the source");
}

/* The rules of an entry that takes every tensor of a source. */
static void read_rules(irpa_loader *loader, const size_t *values, irpa_manifest_entry *entry) {
    if (values[KEY_INCLUDE] != IRPA_NO_NODE)
        read_globs(loader, values[KEY_INCLUDE], "'include'", &entry->include,
                   &entry->include_count);
    if (values[KEY_EXCLUDE] != IRPA_NO_NODE)
        read_globs(loader, values[KEY_EXCLUDE], "'exclude'", &entry->exclude,
                   &entry->exclude_count);
    if (values[KEY_SPLAT] != IRPA_NO_NODE)
        read_globs(loader, values[KEY_SPLAT], "'splat'", &entry->splat_globs,
                   &entry->splat_glob_count);
    if (values[KEY_RENAME] != IRPA_NO_NODE) read_renames(loader, values[KEY_RENAME], entry);
}

static void read_entry(irpa_loader *loader, size_t entry_index, size_t index) {
    irpa_manifest_entry *entry = &loader->manifest->entries[entry_index];
    const irpa_tree *tree = &loader->tree;
    const irpa_node *mapping = irpa_tree_node(tree, index);
    entry->position = mapping->position;
    entry->source = -1;
    if (mapping->kind != IRPA_NODE_MAPPING) {
        irpa_loader_wrong_type(loader, mapping, "entry", "a mapping such as {name: N, source: S, "
                               "offset: O, length: L}");
        return;
    }
    static const irpa_key_set set = {entry_keys, ENTRY_KEY_COUNT, "in entry"};
    size_t values[ENTRY_KEY_COUNT], key_nodes[ENTRY_KEY_COUNT];
    irpa_loader_keys(loader, index, &set, values, key_nodes);
    int kind = detect_kind(loader, values);
    if (kind < 0) {
        irpa_report(&loader->reporter, mapping->position, "entry is not a range, a splat, a "
                    "tensor nor a whole source; expected 'source' with 'offset' and 'length', "
                    "'splat' with 'length', 'source' with 'tensor', or 'source' alone");
        return;
    }
    entry->kind = (irpa_manifest_entry_kind)kind;
    check_kind_keys(loader, mapping, kind, values, key_nodes);
    read_entry_fields(loader, values, entry);
    if (kind == IRPA_MANIFEST_SPLAT && values[KEY_SPLAT] != IRPA_NO_NODE)
        read_splat(loader, values, entry);
    if (kind == IRPA_MANIFEST_ALL) read_rules(loader, values, entry);
    const char *name = effective_name(entry);
    if (name && name[0]) {
        size_t named_by = values[KEY_NAME] != IRPA_NO_NODE ? values[KEY_NAME] : values[KEY_TENSOR];
        check_entry_name(loader, entry_index, name, irpa_tree_node(tree, named_by)->position);
    }
}

void irpa_read_entries(irpa_loader *loader, size_t index) {
    const irpa_node *list = irpa_tree_node(&loader->tree, index);
    if (list->kind != IRPA_NODE_SEQUENCE) {
        irpa_loader_wrong_type(loader, list, "'entries'", "a list of entries");
        return;
    }
    if (list->child_count == 0) return;
    irpa_manifest *manifest = loader->manifest;
    manifest->entries = calloc(list->child_count, sizeof *manifest->entries);
    if (!manifest->entries) {
        irpa_report_out_of_memory(&loader->reporter);
        return;
    }
    manifest->entry_count = list->child_count;
    for (size_t i = 0; i < list->child_count && !loader->reporter.out_of_memory; i++)
        read_entry(loader, i, irpa_tree_child(&loader->tree, list, i));
}
