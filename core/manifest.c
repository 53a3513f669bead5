/* manifest.c: a manifest's YAML text -> irpa_manifest (manifest.h; the
 * schema and every message are described in manifests/README.md).
 *
 * Two steps. First libyaml's event parser builds a small tree of nodes
 * (scalars, sequences, mappings) with their positions. Aliases are refused,
 * nesting depth and the node count are bounded, so no input makes this step
 * do more than linear work or allocate more than a bounded multiple of its
 * size. Then the tree is checked against the schema and turned into a
 * manifest; every problem becomes one error and checking goes on. Names are
 * checked for duplicates with hash tables, so large manifests load in
 * linear time. */

#include "manifest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "http.h"
#include "readfile.h"

#define MAX_MANIFEST_BYTES ((size_t)256 << 20) /* larger manifests are refused */
#define MAX_DEPTH 32                           /* deepest nesting of lists and mappings */
#define MAX_NODES ((size_t)4 << 20)            /* most YAML values in one manifest */
#define MAX_ALIGNMENT ((uint64_t)1 << 30)      /* largest `alignment:` */
#define SHOWN_SIZE 72                          /* buffer for a value quoted in a message */
#define SUGGEST_MAX_LENGTH 64                  /* longer words get no "did you mean" */
#define SUGGEST_MAX_CANDIDATES 256             /* more candidates get no "did you mean" */
#define NO_NODE SIZE_MAX

/* ---- the YAML tree ---------------------------------------------------- */

typedef enum node_kind { NODE_SCALAR, NODE_SEQUENCE, NODE_MAPPING } node_kind;

typedef struct node {
    node_kind kind;
    bool plain;              /* scalar written without quotes (so `~`, `null`, `` are null) */
    irpa_position position;  /* where the node starts */
    size_t text_offset;      /* scalar: its first byte in tree.text (NUL-terminated there) */
    size_t text_length;      /* scalar: bytes, without the NUL */
    size_t first_child;      /* collection: index in tree.children of its first child */
    size_t child_count;      /* sequence: items; mapping: keys and values, alternating */
} node;

typedef struct open_collection {
    size_t node;           /* the collection's node index */
    size_t pending_start;  /* where its finished children start in tree.pending */
} open_collection;

typedef struct tree {
    node *nodes;                         /* every node, in stream order */
    size_t node_count, node_capacity;
    size_t *children;                    /* children of each collection, contiguous per collection */
    size_t child_count, child_capacity;
    size_t *pending;                     /* finished nodes whose parent has not ended yet */
    size_t pending_count, pending_capacity;
    open_collection open[MAX_DEPTH];     /* collections started and not yet ended */
    size_t depth;                        /* entries used in `open` */
    char *text;                          /* every scalar's bytes, each followed by a NUL */
    size_t text_length, text_capacity;
    size_t root;                         /* the document's node, NO_NODE when empty */
} tree;

/* ---- name tables (open addressing) ------------------------------------ */

typedef struct name_slot {
    const char *name;  /* NULL when free; points into manifest-owned text */
    size_t length;     /* bytes of name */
    size_t value;      /* what the name maps to (an index) */
} name_slot;

typedef struct name_table {
    name_slot *slots;
    size_t capacity;  /* a power of two, or 0 */
    size_t count;     /* slots used */
} name_table;

/* ---- the loader ------------------------------------------------------- */

typedef struct loader {
    const char *path;       /* the manifest's path as given */
    irpa_errors *errors;    /* where messages go (may be NULL) */
    size_t error_count;     /* errors found so far, counted even when `errors` is NULL */
    bool out_of_memory;     /* an allocation failed: stop */
    tree tree;
    irpa_manifest *manifest;
    name_table source_keys; /* source key -> index in manifest->sources */
    name_table entry_names; /* entry name -> index of the first entry using it */
} loader;

static irpa_position no_position(void) {
    return (irpa_position){1, 1};
}

__attribute__((format(printf, 3, 4)))
static void report(loader *loader, irpa_position at, const char *fmt, ...) {
    loader->error_count++;
    if (!loader->errors) return;
    char *what = NULL;
    va_list args;
    va_start(args, fmt);
    int written = vasprintf(&what, fmt, args);
    va_end(args);
    if (written < 0) {
        irpa_error(loader->errors, "%s:%u:%u: out of memory", loader->path, at.line, at.column);
        return;
    }
    irpa_error(loader->errors, "%s:%u:%u: %s", loader->path, at.line, at.column, what);
    free(what);
}

static void report_out_of_memory(loader *loader) {
    if (!loader->out_of_memory)
        report(loader, no_position(), "out of memory while loading the manifest; expected it to fit");
    loader->out_of_memory = true;
}

/* Copies `text` for quoting in a message: at most SHOWN_SIZE - 4 bytes, with
 * control characters as '?' and "..." when cut. */
static const char *show(char shown[SHOWN_SIZE], const char *text, size_t length) {
    size_t limit = SHOWN_SIZE - 4;
    size_t kept = length <= limit ? length : limit;
    if (kept < length)
        while (kept > 0 && ((unsigned char)text[kept] & 0xc0) == 0x80) kept--;
    for (size_t i = 0; i < kept; i++) {
        unsigned char c = (unsigned char)text[i];
        shown[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (kept < length) {
        memcpy(shown + kept, "...", 4);
    } else {
        shown[kept] = '\0';
    }
    return shown;
}

/* Grows `*items` to hold at least `needed` items of `item_size` bytes. */
static bool reserve(void **items, size_t *capacity, size_t needed, size_t item_size) {
    if (needed <= *capacity) return true;
    size_t grown = *capacity ? *capacity : 16;
    while (grown < needed) {
        if (grown > SIZE_MAX / 2) return false;
        grown *= 2;
    }
    if (grown > SIZE_MAX / item_size) return false;
    void *moved = realloc(*items, grown * item_size);
    if (!moved) return false;
    *items = moved;
    *capacity = grown;
    return true;
}

/* ---- building the tree ------------------------------------------------ */

static irpa_position position_of_mark(yaml_mark_t mark) {
    irpa_position at;
    at.line = mark.line >= UINT32_MAX ? UINT32_MAX : (uint32_t)mark.line + 1;
    at.column = mark.column >= UINT32_MAX ? UINT32_MAX : (uint32_t)mark.column + 1;
    return at;
}

/* Line and column of byte `offset` (for libyaml's reader errors, which give
 * only an offset). */
static irpa_position position_of_offset(const char *text, size_t length, size_t offset) {
    irpa_position at = {1, 1};
    if (offset > length) offset = length;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            if (at.line < UINT32_MAX) at.line++;
            at.column = 1;
        } else if (at.column < UINT32_MAX) {
            at.column++;
        }
    }
    return at;
}

/* Where the first tab in the indentation of line `line` (0-based) is: among
 * the spaces, tabs and '-' sequence indicators before the line's content.
 * Returns false when there is none. */
static bool find_indentation_tab(const char *text, size_t length, size_t line,
                                 irpa_position *at) {
    size_t start = 0;
    for (size_t newlines = 0; newlines < line; newlines++) {
        const char *newline = memchr(text + start, '\n', length - start);
        if (!newline) return false;
        start = (size_t)(newline - text) + 1;
    }
    for (size_t i = start; i < length && (text[i] == ' ' || text[i] == '\t' || text[i] == '-');
         i++) {
        if (text[i] != '\t') continue;
        at->line = line >= UINT32_MAX ? UINT32_MAX : (uint32_t)line + 1;
        at->column = i - start >= UINT32_MAX ? UINT32_MAX : (uint32_t)(i - start) + 1;
        return true;
    }
    return false;
}

static void report_syntax_error(loader *loader, const yaml_parser_t *parser, const char *text,
                                size_t length) {
    if (parser->error == YAML_MEMORY_ERROR) {
        report_out_of_memory(loader);
        return;
    }
    const char *problem = parser->problem ? parser->problem : "unreadable input";
    if (parser->error == YAML_READER_ERROR) {
        irpa_position at = position_of_offset(text, length, parser->problem_offset);
        report(loader, at, "YAML syntax error: %s (byte 0x%02x); expected printable UTF-8 text",
               problem, parser->problem_value >= 0 ? (unsigned)parser->problem_value : 0u);
        return;
    }
    /* libyaml's own words for a tab in indentation ("found character that
     * cannot start any token") do not say what is wrong. The tab is blamed
     * when the scanner stopped at it, or names a tab itself; a tab where
     * YAML allows one (in [flow] collections) is not blamed for an error
     * elsewhere on its line. */
    irpa_position at = position_of_mark(parser->problem_mark), tab_at;
    if (parser->error == YAML_SCANNER_ERROR &&
        find_indentation_tab(text, length, parser->problem_mark.line, &tab_at) &&
        ((tab_at.line == at.line && tab_at.column == at.column) || strstr(problem, "tab"))) {
        report(loader, tab_at, "a tab in indentation; YAML indents with spaces only");
        return;
    }
    if (parser->context) {
        irpa_position context_at = position_of_mark(parser->context_mark);
        report(loader, at, "YAML syntax error: %s (%s at %u:%u); expected valid YAML", problem,
               parser->context, context_at.line, context_at.column);
    } else {
        report(loader, at, "YAML syntax error: %s; expected valid YAML", problem);
    }
}

/* Adds a node; its index in *index. */
static bool add_node(loader *loader, node_kind kind, yaml_mark_t mark, size_t *index) {
    tree *tree = &loader->tree;
    if (tree->node_count >= MAX_NODES) {
        report(loader, position_of_mark(mark),
               "manifest has more than %zu YAML values; expected a smaller manifest", MAX_NODES);
        return false;
    }
    if (!reserve((void **)&tree->nodes, &tree->node_capacity, tree->node_count + 1,
                 sizeof *tree->nodes)) {
        report_out_of_memory(loader);
        return false;
    }
    *index = tree->node_count++;
    tree->nodes[*index] = (node){.kind = kind, .position = position_of_mark(mark)};
    return true;
}

/* Hands a finished node to its parent (or makes it the root). */
static bool finish_node(loader *loader, size_t index) {
    tree *tree = &loader->tree;
    if (tree->depth == 0) {
        tree->root = index;
        return true;
    }
    if (!reserve((void **)&tree->pending, &tree->pending_capacity, tree->pending_count + 1,
                 sizeof *tree->pending)) {
        report_out_of_memory(loader);
        return false;
    }
    tree->pending[tree->pending_count++] = index;
    return true;
}

static bool add_scalar(loader *loader, const yaml_event_t *event) {
    tree *tree = &loader->tree;
    size_t length = event->data.scalar.length;
    size_t index;
    if (!add_node(loader, NODE_SCALAR, event->start_mark, &index)) return false;
    if (length >= SIZE_MAX - tree->text_length - 1 ||
        !reserve((void **)&tree->text, &tree->text_capacity, tree->text_length + length + 1, 1)) {
        report_out_of_memory(loader);
        return false;
    }
    node *scalar = &tree->nodes[index];
    scalar->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    scalar->text_offset = tree->text_length;
    scalar->text_length = length;
    if (length > 0) memcpy(tree->text + tree->text_length, event->data.scalar.value, length);
    tree->text[tree->text_length + length] = '\0';
    tree->text_length += length + 1;
    return finish_node(loader, index);
}

static bool open_node(loader *loader, node_kind kind, yaml_mark_t mark) {
    tree *tree = &loader->tree;
    if (tree->depth >= MAX_DEPTH) {
        report(loader, position_of_mark(mark),
               "lists and mappings nest deeper than %d levels; expected a flatter manifest",
               MAX_DEPTH);
        return false;
    }
    size_t index;
    if (!add_node(loader, kind, mark, &index)) return false;
    tree->open[tree->depth++] = (open_collection){index, tree->pending_count};
    return true;
}

static bool close_node(loader *loader) {
    tree *tree = &loader->tree;
    if (tree->depth == 0) return true; /* libyaml never does this */
    open_collection closing = tree->open[--tree->depth];
    size_t count = tree->pending_count - closing.pending_start;
    if (!reserve((void **)&tree->children, &tree->child_capacity, tree->child_count + count,
                 sizeof *tree->children)) {
        report_out_of_memory(loader);
        return false;
    }
    node *collection = &tree->nodes[closing.node];
    collection->first_child = tree->child_count;
    collection->child_count = count;
    if (count > 0)
        memcpy(tree->children + tree->child_count, tree->pending + closing.pending_start,
               count * sizeof *tree->children);
    tree->child_count += count;
    tree->pending_count = closing.pending_start;
    return finish_node(loader, closing.node);
}

/* An alias is reported and stands in the tree as a null scalar, so the
 * parse can go on to find other problems. */
static bool add_alias(loader *loader, const yaml_event_t *event) {
    char shown[SHOWN_SIZE];
    const char *anchor = (const char *)event->data.alias.anchor;
    report(loader, position_of_mark(event->start_mark),
           "YAML alias '*%s' is not supported; expected the value written out in full",
           show(shown, anchor ? anchor : "", anchor ? strlen(anchor) : 0));
    size_t index;
    if (!add_node(loader, NODE_SCALAR, event->start_mark, &index)) return false;
    loader->tree.nodes[index].plain = true;
    loader->tree.nodes[index].text_offset = NO_NODE;
    return finish_node(loader, index);
}

/* One event into the tree; false to stop reading. */
static bool take_event(loader *loader, const yaml_event_t *event, size_t *document_count) {
    switch (event->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*document_count > 1) {
            report(loader, position_of_mark(event->start_mark),
                   "a second YAML document starts here; expected one document per manifest");
            return false;
        }
        return true;
    case YAML_SCALAR_EVENT:
        return add_scalar(loader, event);
    case YAML_ALIAS_EVENT:
        return add_alias(loader, event);
    case YAML_SEQUENCE_START_EVENT:
        return open_node(loader, NODE_SEQUENCE, event->start_mark);
    case YAML_MAPPING_START_EVENT:
        return open_node(loader, NODE_MAPPING, event->start_mark);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return close_node(loader);
    default:
        return true;
    }
}

/* Parses `text` into loader->tree; errors counted in the loader. */
static void build_tree(loader *loader, const char *text, size_t length) {
    loader->tree.root = NO_NODE;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        report_out_of_memory(loader);
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    size_t document_count = 0;
    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            report_syntax_error(loader, &parser, text, length);
            break;
        }
        bool go_on = event.type != YAML_STREAM_END_EVENT &&
                     take_event(loader, &event, &document_count);
        yaml_event_delete(&event);
        if (!go_on) break;
    }
    yaml_parser_delete(&parser);
}

static void free_tree(tree *tree) {
    free(tree->nodes);
    free(tree->children);
    free(tree->pending);
    free(tree->text);
}

/* ---- reading nodes ---------------------------------------------------- */

static const node *node_at(const loader *loader, size_t index) {
    return &loader->tree.nodes[index];
}

static size_t child_at(const loader *loader, const node *collection, size_t i) {
    return loader->tree.children[collection->first_child + i];
}

static bool is_alias(const node *node) {
    return node->kind == NODE_SCALAR && node->text_offset == NO_NODE;
}

static const char *scalar_text(const loader *loader, const node *node) {
    return is_alias(node) ? "" : loader->tree.text + node->text_offset;
}

static bool is_null(const loader *loader, const node *node) {
    if (node->kind != NODE_SCALAR || !node->plain) return false;
    const char *text = scalar_text(loader, node);
    return node->text_length == 0 || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
           strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}

static bool scalar_equals(const loader *loader, const node *node, const char *word) {
    return node->kind == NODE_SCALAR && node->text_length == strlen(word) &&
           memcmp(scalar_text(loader, node), word, node->text_length) == 0;
}

static const char *kind_phrase(const node *node) {
    switch (node->kind) {
    case NODE_SEQUENCE: return "a list";
    case NODE_MAPPING: return "a mapping";
    default: return "a string";
    }
}

/* "WHAT is a list; expected EXPECTED" or "WHAT has no value; ...". Aliases
 * were reported already and get no second message. */
static void report_wrong_type(loader *loader, const node *node, const char *what,
                              const char *expected) {
    if (is_alias(node)) {
        loader->error_count++;
        return;
    }
    if (is_null(loader, node)) {
        report(loader, node->position, "%s has no value; expected %s", what, expected);
    } else {
        report(loader, node->position, "%s is %s; expected %s", what, kind_phrase(node), expected);
    }
}

/* The text of a scalar that must be a string: not a collection, not null,
 * and (unless `allow_nul`) without NUL bytes. Points into the tree. */
static bool string_of(loader *loader, size_t index, const char *what, const char *expected,
                      bool allow_nul, const char **text, size_t *length) {
    const node *node = node_at(loader, index);
    if (node->kind != NODE_SCALAR || is_null(loader, node) || is_alias(node)) {
        report_wrong_type(loader, node, what, expected);
        return false;
    }
    *text = scalar_text(loader, node);
    *length = node->text_length;
    if (!allow_nul && memchr(*text, '\0', *length)) {
        report(loader, node->position, "%s contains a NUL character; expected %s", what, expected);
        return false;
    }
    return true;
}

static char *copy_text(loader *loader, const char *text, size_t length) {
    char *copy = malloc(length + 1);
    if (!copy) {
        report_out_of_memory(loader);
        return NULL;
    }
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

/* string_of, copied into an owned string. */
static char *read_string(loader *loader, size_t index, const char *what, const char *expected) {
    const char *text;
    size_t length;
    if (!string_of(loader, index, what, expected, false, &text, &length)) return NULL;
    return copy_text(loader, text, length);
}

/* ---- "did you mean" --------------------------------------------------- */

/* Optimal string alignment distance (edits, with swaps of neighbours
 * counting one), for words of at most SUGGEST_MAX_LENGTH bytes. */
static size_t edit_distance(const char *a, size_t a_length, const char *b, size_t b_length) {
    size_t before_previous[SUGGEST_MAX_LENGTH + 1];
    size_t previous[SUGGEST_MAX_LENGTH + 1];
    size_t current[SUGGEST_MAX_LENGTH + 1];
    for (size_t j = 0; j <= b_length; j++) previous[j] = before_previous[j] = j;
    for (size_t i = 1; i <= a_length; i++) {
        current[0] = i;
        for (size_t j = 1; j <= b_length; j++) {
            size_t substitution = previous[j - 1] + (a[i - 1] != b[j - 1]);
            size_t deletion = previous[j] + 1;
            size_t insertion = current[j - 1] + 1;
            size_t best = substitution < deletion ? substitution : deletion;
            if (insertion < best) best = insertion;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                before_previous[j - 2] + 1 < best)
                best = before_previous[j - 2] + 1;
            current[j] = best;
        }
        memcpy(before_previous, previous, sizeof previous);
        memcpy(previous, current, sizeof current);
    }
    return previous[b_length];
}

/* The candidate nearest to `word`, when it is near enough (at most 2 edits,
 * and fewer edits than its length); NULL otherwise. */
static const char *nearest(const char *word, size_t word_length, const char *const *candidates,
                           size_t candidate_count) {
    if (word_length > SUGGEST_MAX_LENGTH || candidate_count > SUGGEST_MAX_CANDIDATES) return NULL;
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (size_t i = 0; i < candidate_count; i++) {
        size_t length = strlen(candidates[i]);
        if (length > SUGGEST_MAX_LENGTH) continue;
        size_t distance = edit_distance(word, word_length, candidates[i], length);
        if (distance < best_distance && distance <= 2 && distance < length) {
            best = candidates[i];
            best_distance = distance;
        }
    }
    return best;
}

const char *irpa_suggest(const char *word, const char *const *candidates, size_t count) {
    return nearest(word, strlen(word), candidates, count);
}

/* Writes "a, b, c" into `out`. */
static const char *join_words(char *out, size_t size, const char *const *words, size_t count) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && used < size; i++) {
        int written = snprintf(out + used, size - used, "%s%s", i ? ", " : "", words[i]);
        if (written < 0) break;
        used += (size_t)written;
    }
    return out;
}

/* ---- name tables ------------------------------------------------------ */

static size_t hash_name(const char *name, size_t length) {
    uint64_t hash = 14695981039346656037u;
    for (size_t i = 0; i < length; i++) {
        hash ^= (unsigned char)name[i];
        hash *= 1099511628211u;
    }
    return (size_t)(hash ^ (hash >> 32));
}

static name_slot *find_slot(const name_table *table, const char *name, size_t length) {
    size_t mask = table->capacity - 1;
    for (size_t i = hash_name(name, length) & mask;; i = (i + 1) & mask) {
        name_slot *slot = &table->slots[i];
        if (!slot->name ||
            (slot->length == length && memcmp(slot->name, name, length) == 0))
            return slot;
    }
}

/* The value stored for `name`, or NO_NODE. */
static size_t table_find(const name_table *table, const char *name, size_t length) {
    if (table->capacity == 0) return NO_NODE;
    name_slot *slot = find_slot(table, name, length);
    return slot->name ? slot->value : NO_NODE;
}

/* Stores name -> value unless the name is there; returns the value already
 * stored, NO_NODE when it was added. `name` must outlive the table. */
static size_t table_add(loader *loader, name_table *table, const char *name, size_t length,
                        size_t value) {
    if ((table->count + 1) * 2 > table->capacity) {
        size_t capacity = table->capacity ? table->capacity * 2 : 64;
        name_slot *slots = calloc(capacity, sizeof *slots);
        if (!slots) {
            report_out_of_memory(loader);
            return NO_NODE;
        }
        name_table grown = {slots, capacity, table->count};
        for (size_t i = 0; i < table->capacity; i++)
            if (table->slots[i].name)
                *find_slot(&grown, table->slots[i].name, table->slots[i].length) = table->slots[i];
        free(table->slots);
        *table = grown;
    }
    name_slot *slot = find_slot(table, name, length);
    if (slot->name) return slot->value;
    *slot = (name_slot){name, length, value};
    table->count++;
    return NO_NODE;
}

/* ---- mappings with known keys ----------------------------------------- */

typedef struct key_set {
    const char *const *keys;  /* the keys allowed */
    size_t count;
    const char *where;        /* "in entry", for messages */
} key_set;

/* Reads mapping `index`: values[i] (and key_nodes[i]) become the node of
 * keys[i], or NO_NODE. Unknown, duplicate and non-string keys are errors. */
static void read_keys(loader *loader, size_t index, const key_set *set, size_t *values,
                      size_t *key_nodes) {
    for (size_t k = 0; k < set->count; k++) values[k] = key_nodes[k] = NO_NODE;
    const node *mapping = node_at(loader, index);
    for (size_t i = 0; i + 1 < mapping->child_count; i += 2) {
        size_t key_index = child_at(loader, mapping, i);
        const node *key = node_at(loader, key_index);
        char shown[SHOWN_SIZE];
        if (key->kind != NODE_SCALAR || is_alias(key)) {
            report_wrong_type(loader, key, "a key", "a plain word such as 'name'");
            continue;
        }
        size_t k = 0;
        while (k < set->count && !scalar_equals(loader, key, set->keys[k])) k++;
        if (k == set->count) {
            const char *text = scalar_text(loader, key);
            const char *suggestion = nearest(text, key->text_length, set->keys, set->count);
            if (suggestion) {
                report(loader, key->position, "unknown key '%s' %s; did you mean '%s'?",
                       show(shown, text, key->text_length), set->where, suggestion);
            } else {
                char list[256];
                report(loader, key->position, "unknown key '%s' %s; expected one of: %s",
                       show(shown, text, key->text_length), set->where,
                       join_words(list, sizeof list, set->keys, set->count));
            }
            continue;
        }
        if (values[k] != NO_NODE) {
            irpa_position first = node_at(loader, key_nodes[k])->position;
            report(loader, key->position,
                   "duplicate key '%s' %s, first at line %u; expected each key once",
                   set->keys[k], set->where, first.line);
            continue;
        }
        key_nodes[k] = key_index;
        values[k] = child_at(loader, mapping, i + 1);
    }
}

/* ---- numbers ---------------------------------------------------------- */

typedef enum number_status {
    NUMBER_OK,
    NUMBER_NOT_INTEGER,
    NUMBER_NEGATIVE,
    NUMBER_TOO_LARGE,
} number_status;

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decimal or 0x hex, without sign. */
static number_status parse_magnitude(const char *text, size_t length, uint64_t *value) {
    unsigned base = 10;
    if (length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text += 2;
        length -= 2;
    }
    if (length == 0) return NUMBER_NOT_INTEGER;
    uint64_t result = 0;
    bool too_large = false;
    for (size_t i = 0; i < length; i++) {
        int digit = hex_digit(text[i]);
        if (digit < 0 || (unsigned)digit >= base) return NUMBER_NOT_INTEGER;
        if (result > (UINT64_MAX - (uint64_t)digit) / base) too_large = true;
        result = result * base + (uint64_t)digit;
    }
    if (too_large) return NUMBER_TOO_LARGE;
    *value = result;
    return NUMBER_OK;
}

/* An integer that may carry a '-': *negative tells. */
static number_status parse_signed(const char *text, size_t length, uint64_t *magnitude,
                                  bool *negative) {
    *negative = length > 0 && text[0] == '-';
    if (*negative) {
        text++;
        length--;
    }
    return parse_magnitude(text, length, magnitude);
}

/* A count of bytes (offset, length, alignment): 0 .. 2^64-1. */
static bool read_u64(loader *loader, size_t index, const char *what, uint64_t *value) {
    const char *text;
    size_t length;
    if (!string_of(loader, index, what, "a whole number of bytes", false, &text, &length))
        return false;
    irpa_position at = node_at(loader, index)->position;
    char shown[SHOWN_SIZE];
    uint64_t magnitude = 0;
    bool negative;
    number_status status = parse_signed(text, length, &magnitude, &negative);
    if (status == NUMBER_OK && negative && magnitude > 0) status = NUMBER_NEGATIVE;
    switch (status) {
    case NUMBER_OK:
        *value = magnitude;
        return true;
    case NUMBER_NOT_INTEGER:
        report(loader, at, "%s '%s' is not an integer; expected a whole number of bytes "
               "(decimal or 0x hex)", what, show(shown, text, length));
        return false;
    case NUMBER_NEGATIVE:
        report(loader, at, "%s '%s' is negative; expected a number of bytes from 0 to "
               "18446744073709551615", what, show(shown, text, length));
        return false;
    default:
        report(loader, at, "%s '%s' is out of range; expected at most 18446744073709551615 "
               "(2^64-1)", what, show(shown, text, length));
        return false;
    }
}

/* ---- splat patterns --------------------------------------------------- */

typedef enum splat_class { SPLAT_SIGNED, SPLAT_UNSIGNED, SPLAT_FLOAT } splat_class;

typedef struct splat_type {
    const char *name;   /* as written in the manifest */
    splat_class class;  /* how the value is read */
    uint8_t width;      /* bytes of the pattern */
} splat_type;

static const splat_type splat_types[] = {
    {"i8", SPLAT_SIGNED, 1},   {"i16", SPLAT_SIGNED, 2},   {"i32", SPLAT_SIGNED, 4},
    {"i64", SPLAT_SIGNED, 8},  {"u8", SPLAT_UNSIGNED, 1},  {"u16", SPLAT_UNSIGNED, 2},
    {"u32", SPLAT_UNSIGNED, 4}, {"u64", SPLAT_UNSIGNED, 8}, {"f16", SPLAT_FLOAT, 2},
    {"bf16", SPLAT_FLOAT, 2},  {"f32", SPLAT_FLOAT, 4},    {"f64", SPLAT_FLOAT, 8},
};
static const char *const splat_type_names[] = {
    "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f16", "bf16", "f32", "f64",
};
#define SPLAT_TYPE_COUNT (sizeof splat_types / sizeof splat_types[0])

static void store_little_endian(uint8_t *out, uint64_t value, unsigned width) {
    for (unsigned i = 0; i < width; i++) out[i] = (uint8_t)(value >> (8 * i));
}

/* `value` as a binary float with `exponent_bits` and `fraction_bits`
 * (f16: 5, 10; bf16: 8, 7), rounded to nearest, ties to even. */
static uint32_t narrow_float(double value, unsigned exponent_bits, unsigned fraction_bits) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    uint32_t sign = (uint32_t)(bits >> 63) << (exponent_bits + fraction_bits);
    int double_exponent = (int)((bits >> 52) & 0x7ff);
    uint64_t double_fraction = bits & ((UINT64_C(1) << 52) - 1);
    uint32_t all_ones = (UINT32_C(1) << exponent_bits) - 1;
    uint32_t infinity = all_ones << fraction_bits;
    if (double_exponent == 0x7ff)
        return sign | infinity | (double_fraction ? UINT32_C(1) << (fraction_bits - 1) : 0);
    if (double_exponent == 0) return sign; /* double subnormals are far below any result's */
    int bias = (int)(all_ones >> 1);
    int exponent = double_exponent - 1023;
    if (exponent > bias) return sign | infinity;
    uint64_t significand = double_fraction | (UINT64_C(1) << 52);
    int minimum_exponent = 1 - bias;
    unsigned shift = 52 - fraction_bits;
    if (exponent < minimum_exponent) shift += (unsigned)(minimum_exponent - exponent);
    if (shift > 60) return sign;
    uint64_t kept = significand >> shift;
    uint64_t dropped = significand & ((UINT64_C(1) << shift) - 1);
    uint64_t half = UINT64_C(1) << (shift - 1);
    if (dropped > half || (dropped == half && (kept & 1))) kept++;
    uint64_t encoded = kept; /* subnormal: the fraction alone (a carry makes it normal) */
    if (exponent >= minimum_exponent)
        encoded = ((uint64_t)(exponent + bias - 1) << fraction_bits) + kept;
    if (encoded >= infinity) return sign | infinity;
    return sign | (uint32_t)encoded;
}

/* strtod, plus YAML's .inf and .nan spellings; the whole text must be a
 * number. *overflowed tells a finite number too large for a double. */
static bool parse_float(const char *text, size_t length, double *value, bool *overflowed) {
    *overflowed = false;
    static const char *const infinities[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
    static const char *const negative_infinities[] = {"-.inf", "-.Inf", "-.INF"};
    static const char *const nans[] = {".nan", ".NaN", ".NAN"};
    for (size_t i = 0; i < sizeof infinities / sizeof *infinities; i++)
        if (strcmp(text, infinities[i]) == 0) return *value = HUGE_VAL, true;
    for (size_t i = 0; i < sizeof negative_infinities / sizeof *negative_infinities; i++)
        if (strcmp(text, negative_infinities[i]) == 0) return *value = -HUGE_VAL, true;
    for (size_t i = 0; i < sizeof nans / sizeof *nans; i++)
        if (strcmp(text, nans[i]) == 0) return *value = NAN, true;
    if (length == 0 || strlen(text) != length || text[0] == ' ' || text[0] == '\t' ||
        text[0] == '\n' || text[0] == '\r' || text[0] == '\f' || text[0] == '\v')
        return false;
    char *end = NULL;
    errno = 0;
    *value = strtod(text, &end);
    *overflowed = errno == ERANGE && isinf(*value);
    return end == text + length;
}

/* Encodes the float `text` as `type` into `pattern`; false, with the reason
 * in `why`, when it is not a number or too large for the type. */
static bool encode_float_value(const splat_type *type, const char *text, uint8_t *pattern,
                               char *why, size_t why_size) {
    char shown[SHOWN_SIZE];
    size_t length = strlen(text);
    double value;
    bool overflowed;
    if (!parse_float(text, length, &value, &overflowed)) {
        snprintf(why, why_size, "splat value '%s' is not a number; expected a number for %s",
                 show(shown, text, length), type->name);
        return false;
    }
    uint64_t encoded;
    const char *largest;
    if (strcmp(type->name, "f16") == 0) {
        encoded = narrow_float(value, 5, 10);
        largest = "65504";
    } else if (strcmp(type->name, "bf16") == 0) {
        encoded = narrow_float(value, 8, 7);
        largest = "3.3895e+38";
    } else if (strcmp(type->name, "f32") == 0) {
        float single = (float)value;
        uint32_t single_bits;
        memcpy(&single_bits, &single, sizeof single_bits);
        encoded = single_bits;
        largest = "3.4028e+38";
    } else {
        memcpy(&encoded, &value, sizeof encoded);
        largest = "1.7977e+308";
    }
    uint64_t exponent_mask = type->width == 2 ? (strcmp(type->name, "f16") == 0 ? 0x7c00 : 0x7f80)
                           : type->width == 4 ? UINT64_C(0x7f800000)
                                              : UINT64_C(0x7ff0000000000000);
    uint64_t fraction_mask = type->width == 2 ? (strcmp(type->name, "f16") == 0 ? 0x3ff : 0x7f)
                           : type->width == 4 ? UINT64_C(0x7fffff)
                                              : (UINT64_C(1) << 52) - 1;
    bool became_infinite = (encoded & exponent_mask) == exponent_mask && !(encoded & fraction_mask);
    if (overflowed || (became_infinite && !isinf(value))) {
        snprintf(why, why_size, "splat value '%s' is too large for %s; expected a magnitude "
                 "of at most %s", show(shown, text, length), type->name, largest);
        return false;
    }
    store_little_endian(pattern, encoded, type->width);
    return true;
}

/* Encodes the integer `text` as `type` into `pattern`; false, with the
 * reason in `why`, when it is not an integer or out of the type's range. */
static bool encode_integer_value(const splat_type *type, const char *text, uint8_t *pattern,
                                 char *why, size_t why_size) {
    char shown[SHOWN_SIZE];
    size_t length = strlen(text);
    unsigned bits = 8u * type->width;
    uint64_t maximum = type->class == SPLAT_SIGNED ? (UINT64_C(1) << (bits - 1)) - 1
                       : bits == 64               ? UINT64_MAX
                                                  : (UINT64_C(1) << bits) - 1;
    uint64_t most_negative = type->class == SPLAT_SIGNED ? UINT64_C(1) << (bits - 1) : 0;
    char range[64];
    if (type->class == SPLAT_SIGNED)
        snprintf(range, sizeof range, "-%llu to %llu", (unsigned long long)most_negative,
                 (unsigned long long)maximum);
    else
        snprintf(range, sizeof range, "0 to %llu", (unsigned long long)maximum);
    uint64_t magnitude = 0;
    bool negative;
    number_status status = parse_signed(text, length, &magnitude, &negative);
    if (status == NUMBER_NOT_INTEGER) {
        snprintf(why, why_size, "splat value '%s' is not an integer; expected an integer "
                 "from %s for %s", show(shown, text, length), range, type->name);
        return false;
    }
    if (status == NUMBER_TOO_LARGE || (negative && magnitude > most_negative) ||
        (!negative && magnitude > maximum)) {
        snprintf(why, why_size, "splat value '%s' is out of range for %s; expected %s",
                 show(shown, text, length), type->name, range);
        return false;
    }
    uint64_t value = negative ? (uint64_t)0 - magnitude : magnitude;
    store_little_endian(pattern, value, type->width);
    return true;
}

irpa_splat_fault irpa_splat_encode(const char *type_name, const char *value,
                                   uint8_t pattern[16], uint8_t *pattern_length, char *why,
                                   size_t why_size) {
    size_t type_length = strlen(type_name);
    const splat_type *type = NULL;
    for (size_t i = 0; i < SPLAT_TYPE_COUNT; i++)
        if (strcmp(splat_types[i].name, type_name) == 0) type = &splat_types[i];
    if (!type) {
        char shown[SHOWN_SIZE];
        const char *suggestion = nearest(type_name, type_length, splat_type_names, SPLAT_TYPE_COUNT);
        if (suggestion)
            snprintf(why, why_size, "unknown splat type '%s'; did you mean '%s'?",
                     show(shown, type_name, type_length), suggestion);
        else
            snprintf(why, why_size, "unknown splat type '%s'; expected one of: i8, i16, i32, "
                     "i64, u8, u16, u32, u64, f16, bf16, f32, f64",
                     show(shown, type_name, type_length));
        return IRPA_SPLAT_BAD_TYPE;
    }
    if (!value) return IRPA_SPLAT_OK;
    bool encoded = type->class == SPLAT_FLOAT
                       ? encode_float_value(type, value, pattern, why, why_size)
                       : encode_integer_value(type, value, pattern, why, why_size);
    if (!encoded) return IRPA_SPLAT_BAD_VALUE;
    *pattern_length = type->width;
    return IRPA_SPLAT_OK;
}

/* splat: {type: T, value: V} */
static void read_typed_splat(loader *loader, size_t index, irpa_manifest_entry *entry) {
    static const char *const keys[] = {"type", "value"};
    static const key_set set = {keys, 2, "in splat"};
    size_t values[2], key_nodes[2];
    read_keys(loader, index, &set, values, key_nodes);
    irpa_position at = node_at(loader, index)->position;
    if (values[0] == NO_NODE)
        report(loader, at, "missing key 'type' in splat; expected 'type:' with one of: "
               "i8, i16, i32, i64, u8, u16, u32, u64, f16, bf16, f32, f64");
    if (values[1] == NO_NODE)
        report(loader, at, "missing key 'value' in splat; expected 'value:' with a number");
    const char *type_text = NULL, *value_text;
    size_t type_length = 0, value_length;
    bool type_ok = values[0] != NO_NODE &&
                   string_of(loader, values[0], "splat type", "a type such as f32", false,
                             &type_text, &type_length);
    bool value_ok = values[1] != NO_NODE &&
                    string_of(loader, values[1], "splat value", "a number", false, &value_text,
                              &value_length);
    if (!type_ok) return;
    char why[256];
    irpa_splat_fault fault = irpa_splat_encode(type_text, value_ok ? value_text : NULL,
                                               entry->pattern, &entry->pattern_length, why,
                                               sizeof why);
    if (fault == IRPA_SPLAT_BAD_TYPE)
        report(loader, node_at(loader, values[0])->position, "%s", why);
    else if (fault == IRPA_SPLAT_BAD_VALUE)
        report(loader, node_at(loader, values[1])->position, "%s", why);
}

/* splat: "0000803f": the bytes in the order written. */
static void read_hex_splat(loader *loader, size_t index, irpa_manifest_entry *entry) {
    const char *text;
    size_t length;
    if (!string_of(loader, index, "'splat'", "a hex pattern such as \"0000803f\" or "
                   "{type: f32, value: 1.0}", false, &text, &length))
        return;
    irpa_position at = node_at(loader, index)->position;
    char shown[SHOWN_SIZE];
    if (length == 0) {
        report(loader, at, "splat pattern is empty; expected 1, 2, 4, 8 or 16 bytes as hex digits");
        return;
    }
    for (size_t i = 0; i < length; i++) {
        if (hex_digit(text[i]) < 0) {
            report(loader, at, "splat pattern '%s' is not hex; expected hex digits, two per "
                   "byte, such as \"0000803f\"", show(shown, text, length));
            return;
        }
    }
    if (length % 2) {
        report(loader, at, "splat pattern '%s' has an odd number of hex digits; expected two "
               "per byte", show(shown, text, length));
        return;
    }
    size_t bytes = length / 2;
    if (bytes > 16) {
        report(loader, at, "splat pattern '%s' is %zu bytes; expected at most 16 bytes",
               show(shown, text, length), bytes);
        return;
    }
    if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8 && bytes != 16) {
        report(loader, at, "splat pattern '%s' is %zu bytes; expected 1, 2, 4, 8 or 16 bytes",
               show(shown, text, length), bytes);
        return;
    }
    for (size_t i = 0; i < bytes; i++)
        entry->pattern[i] = (uint8_t)(hex_digit(text[2 * i]) * 16 + hex_digit(text[2 * i + 1]));
    entry->pattern_length = (uint8_t)bytes;
}

/* ---- lists of globs and renames --------------------------------------- */

/* A glob, or a list of globs, into an owned array. */
static void read_globs(loader *loader, size_t index, const char *what, char ***globs,
                       size_t *count) {
    const node *value = node_at(loader, index);
    const char *expected = "a glob or a list of globs";
    if (value->kind == NODE_MAPPING || is_null(loader, value) || is_alias(value)) {
        report_wrong_type(loader, value, what, expected);
        return;
    }
    size_t item_count = value->kind == NODE_SEQUENCE ? value->child_count : 1;
    if (item_count == 0) return;
    *globs = calloc(item_count, sizeof **globs);
    if (!*globs) {
        report_out_of_memory(loader);
        return;
    }
    for (size_t i = 0; i < item_count; i++) {
        size_t item = value->kind == NODE_SEQUENCE ? child_at(loader, value, i) : index;
        char *glob = read_string(loader, item, "a glob", "a string such as \"model.layers.*\"");
        if (glob) (*globs)[(*count)++] = glob;
    }
}

/* {from: P, to: R} */
static void read_rename(loader *loader, size_t index, irpa_manifest_entry *entry) {
    static const char *const keys[] = {"from", "to"};
    static const key_set set = {keys, 2, "in rename"};
    const node *mapping = node_at(loader, index);
    if (mapping->kind != NODE_MAPPING) {
        report_wrong_type(loader, mapping, "a rename", "a mapping {from: PREFIX, to: REPLACEMENT}");
        return;
    }
    size_t values[2], key_nodes[2];
    read_keys(loader, index, &set, values, key_nodes);
    if (values[0] == NO_NODE)
        report(loader, mapping->position, "missing key 'from' in rename; expected 'from:' with "
               "the prefix to replace");
    if (values[1] == NO_NODE)
        report(loader, mapping->position, "missing key 'to' in rename; expected 'to:' with its "
               "replacement (\"\" to remove it)");
    if (values[0] == NO_NODE || values[1] == NO_NODE) return;
    char *from = read_string(loader, values[0], "'from'", "a prefix string");
    char *to = read_string(loader, values[1], "'to'", "a string (\"\" to remove the prefix)");
    if (!from || !to) {
        free(from);
        free(to);
        return;
    }
    entry->renames[entry->rename_count++] = (irpa_rename){from, to};
}

/* A rename, or a list of them. */
static void read_renames(loader *loader, size_t index, irpa_manifest_entry *entry) {
    const node *value = node_at(loader, index);
    if (value->kind == NODE_SCALAR) {
        report_wrong_type(loader, value, "'rename'", "a list of {from: PREFIX, to: REPLACEMENT}");
        return;
    }
    size_t item_count = value->kind == NODE_SEQUENCE ? value->child_count : 1;
    if (item_count == 0) return;
    entry->renames = calloc(item_count, sizeof *entry->renames);
    if (!entry->renames) {
        report_out_of_memory(loader);
        return;
    }
    for (size_t i = 0; i < item_count; i++)
        read_rename(loader, value->kind == NODE_SEQUENCE ? child_at(loader, value, i) : index,
                    entry);
}

/* ---- entries ---------------------------------------------------------- */

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

/* What kind of entry the keys present make, or -1. */
static int detect_kind(const loader *loader, const size_t *values) {
    bool has[ENTRY_KEY_COUNT];
    for (int k = 0; k < ENTRY_KEY_COUNT; k++) has[k] = values[k] != NO_NODE;
    if (has[KEY_TENSOR]) return IRPA_MANIFEST_TENSOR;
    if (has[KEY_SPLAT] && !has[KEY_SOURCE] &&
        node_at(loader, values[KEY_SPLAT])->kind != NODE_SEQUENCE)
        return IRPA_MANIFEST_SPLAT;
    if (has[KEY_SOURCE] && (has[KEY_NAME] || has[KEY_OFFSET] || has[KEY_LENGTH]))
        return IRPA_MANIFEST_RANGE;
    if (has[KEY_SOURCE]) return IRPA_MANIFEST_ALL;
    return -1;
}

/* `source: KEY` -> entry->source, or an error naming the nearest key. */
static void read_entry_source(loader *loader, size_t index, irpa_manifest_entry *entry) {
    const char *key;
    size_t length;
    if (!string_of(loader, index, "'source'", "a key defined under 'sources:'", false, &key,
                   &length))
        return;
    size_t found = table_find(&loader->source_keys, key, length);
    if (found != NO_NODE) {
        entry->source = (long)found;
        return;
    }
    char shown[SHOWN_SIZE];
    irpa_position at = node_at(loader, index)->position;
    const irpa_manifest *manifest = loader->manifest;
    if (manifest->source_count == 0) {
        report(loader, at, "source '%s' is not defined; expected a key defined under 'sources:' "
               "(there are none)", show(shown, key, length));
        return;
    }
    const char *suggestion = NULL;
    const char *candidates[SUGGEST_MAX_CANDIDATES];
    size_t candidate_count = 0;
    if (manifest->source_count <= SUGGEST_MAX_CANDIDATES) {
        for (size_t i = 0; i < manifest->source_count; i++)
            if (manifest->sources[i].key) candidates[candidate_count++] = manifest->sources[i].key;
        suggestion = nearest(key, length, candidates, candidate_count);
    }
    if (suggestion)
        report(loader, at, "source '%s' is not defined; did you mean '%s'?",
               show(shown, key, length), suggestion);
    else
        report(loader, at, "source '%s' is not defined; expected a key defined under 'sources:'",
               show(shown, key, length));
}

static void check_entry_name(loader *loader, size_t entry_index, const char *name,
                             irpa_position at) {
    size_t first = table_add(loader, &loader->entry_names, name, strlen(name), entry_index);
    if (first == NO_NODE) return;
    char shown[SHOWN_SIZE];
    report(loader, at, "duplicate entry name '%s', first at line %u; expected each name once "
           "in the archive", show(shown, name, strlen(name)),
           loader->manifest->entries[first].position.line);
}

static void read_entry_fields(loader *loader, const size_t *values, irpa_manifest_entry *entry) {
    if (values[KEY_NAME] != NO_NODE) {
        entry->name = read_string(loader, values[KEY_NAME], "'name'", "the entry's name");
        if (entry->name && !entry->name[0])
            report(loader, node_at(loader, values[KEY_NAME])->position,
                   "entry name is empty; expected a non-empty name");
    }
    if (values[KEY_SOURCE] != NO_NODE) read_entry_source(loader, values[KEY_SOURCE], entry);
    bool offset_ok = false, length_ok = false;
    if (values[KEY_OFFSET] != NO_NODE) {
        entry->offset_position = node_at(loader, values[KEY_OFFSET])->position;
        offset_ok = read_u64(loader, values[KEY_OFFSET], "offset", &entry->offset);
    }
    if (values[KEY_LENGTH] != NO_NODE) {
        entry->length_position = node_at(loader, values[KEY_LENGTH])->position;
        length_ok = read_u64(loader, values[KEY_LENGTH], "length", &entry->length);
    }
    if (offset_ok && length_ok && entry->length > UINT64_MAX - entry->offset)
        report(loader, entry->offset_position, "offset %llu + length %llu overflows 64 bits; "
               "expected the range to end at most at 18446744073709551615",
               (unsigned long long)entry->offset, (unsigned long long)entry->length);
    if (values[KEY_METADATA] != NO_NODE) {
        const char *text;
        size_t length;
        if (string_of(loader, values[KEY_METADATA], "'metadata'", "a string", true, &text,
                      &length) && length > 0) {
            entry->metadata = (uint8_t *)copy_text(loader, text, length);
            if (entry->metadata) entry->metadata_length = length;
        }
    }
    if (values[KEY_TENSOR] != NO_NODE) {
        entry->tensor = read_string(loader, values[KEY_TENSOR], "'tensor'",
                                    "the tensor's name in the source");
        if (entry->tensor && !entry->tensor[0])
            report(loader, node_at(loader, values[KEY_TENSOR])->position,
                   "tensor name is empty; expected the tensor's name in the source");
    }
}

static void read_splat_entry(loader *loader, const size_t *values, irpa_manifest_entry *entry) {
    size_t splat = values[KEY_SPLAT];
    if (node_at(loader, splat)->kind == NODE_MAPPING)
        read_typed_splat(loader, splat, entry);
    else
        read_hex_splat(loader, splat, entry);
    if (entry->pattern_length && values[KEY_LENGTH] != NO_NODE &&
        entry->length % entry->pattern_length)
        report(loader, entry->length_position, "length %llu is not a multiple of the splat "
               "pattern's %u bytes; expected a multiple of %u",
               (unsigned long long)entry->length, entry->pattern_length, entry->pattern_length);
}

static void read_entry(loader *loader, size_t entry_index, size_t index) {
    irpa_manifest_entry *entry = &loader->manifest->entries[entry_index];
    const node *mapping = node_at(loader, index);
    entry->position = mapping->position;
    entry->source = -1;
    if (mapping->kind != NODE_MAPPING) {
        report_wrong_type(loader, mapping, "entry", "a mapping such as {name: N, source: S, "
                          "offset: O, length: L}");
        return;
    }
    static const key_set set = {entry_keys, ENTRY_KEY_COUNT, "in entry"};
    size_t values[ENTRY_KEY_COUNT], key_nodes[ENTRY_KEY_COUNT];
    read_keys(loader, index, &set, values, key_nodes);
    int kind = detect_kind(loader, values);
    if (kind < 0) {
        report(loader, mapping->position, "entry is not a range, a splat, a tensor nor a whole "
               "source; expected 'source' with 'offset' and 'length', 'splat' with 'length', "
               "'source' with 'tensor', or 'source' alone");
        return;
    }
    entry->kind = (irpa_manifest_entry_kind)kind;
    const entry_kind_rules *rules = &kind_rules[kind];
    for (int k = 0; k < ENTRY_KEY_COUNT; k++) {
        if (values[k] != NO_NODE && !(rules->allowed & BIT(k))) {
            report(loader, node_at(loader, key_nodes[k])->position,
                   "key '%s' is not allowed in %s; expected only %s", entry_keys[k],
                   rules->phrase, rules->keys);
            values[k] = NO_NODE;
        }
        if (values[k] == NO_NODE && (rules->required & BIT(k)))
            report(loader, mapping->position, "missing key '%s' in %s; expected %s",
                   entry_keys[k], rules->phrase, required_phrases[k]);
    }
    read_entry_fields(loader, values, entry);
    if (kind == IRPA_MANIFEST_SPLAT && values[KEY_SPLAT] != NO_NODE)
        read_splat_entry(loader, values, entry);
    if (kind == IRPA_MANIFEST_ALL) {
        if (values[KEY_INCLUDE] != NO_NODE)
            read_globs(loader, values[KEY_INCLUDE], "'include'", &entry->include,
                       &entry->include_count);
        if (values[KEY_EXCLUDE] != NO_NODE)
            read_globs(loader, values[KEY_EXCLUDE], "'exclude'", &entry->exclude,
                       &entry->exclude_count);
        if (values[KEY_SPLAT] != NO_NODE)
            read_globs(loader, values[KEY_SPLAT], "'splat'", &entry->splat_globs,
                       &entry->splat_glob_count);
        if (values[KEY_RENAME] != NO_NODE) read_renames(loader, values[KEY_RENAME], entry);
    }
    const char *effective_name = entry->name ? entry->name : entry->tensor;
    if (effective_name && effective_name[0]) {
        irpa_position at = values[KEY_NAME] != NO_NODE ? node_at(loader, values[KEY_NAME])->position
                                                       : node_at(loader, values[KEY_TENSOR])->position;
        check_entry_name(loader, entry_index, effective_name, at);
    }
}

static void read_entries(loader *loader, size_t index) {
    const node *list = node_at(loader, index);
    if (list->kind != NODE_SEQUENCE) {
        report_wrong_type(loader, list, "'entries'", "a list of entries");
        return;
    }
    if (list->child_count == 0) return;
    irpa_manifest *manifest = loader->manifest;
    manifest->entries = calloc(list->child_count, sizeof *manifest->entries);
    if (!manifest->entries) {
        report_out_of_memory(loader);
        return;
    }
    manifest->entry_count = list->child_count;
    for (size_t i = 0; i < list->child_count && !loader->out_of_memory; i++)
        read_entry(loader, i, child_at(loader, list, i));
}

/* ---- sources ---------------------------------------------------------- */

/* The manifest's directory with its trailing '/' ("" when none) + path;
 * absolute paths are kept. */
static char *resolve_path(loader *loader, const char *path) {
    if (irpa_is_url(path)) return copy_text(loader, path, strlen(path));
    const char *slash = strrchr(loader->manifest->path, '/');
    size_t directory_length = (path[0] == '/' || !slash) ? 0 : (size_t)(slash - loader->manifest->path) + 1;
    size_t path_length = strlen(path);
    char *resolved = malloc(directory_length + path_length + 1);
    if (!resolved) {
        report_out_of_memory(loader);
        return NULL;
    }
    memcpy(resolved, loader->manifest->path, directory_length);
    memcpy(resolved + directory_length, path, path_length + 1);
    return resolved;
}

static void read_source_format(loader *loader, size_t index, irpa_manifest_source *source) {
    static const char *const formats[] = {"gguf", "safetensors", "raw"};
    const char *text;
    size_t length;
    if (!string_of(loader, index, "'format'", "gguf, safetensors or raw", false, &text, &length))
        return;
    for (size_t i = 0; i < 3; i++) {
        if (strlen(formats[i]) == length && memcmp(formats[i], text, length) == 0) {
            source->format = copy_text(loader, text, length);
            return;
        }
    }
    char shown[SHOWN_SIZE];
    const char *suggestion = nearest(text, length, formats, 3);
    irpa_position at = node_at(loader, index)->position;
    if (suggestion)
        report(loader, at, "unknown source format '%s'; did you mean '%s'?",
               show(shown, text, length), suggestion);
    else
        report(loader, at, "unknown source format '%s'; expected gguf, safetensors or raw",
               show(shown, text, length));
}

/* An HTTP header name: a token (RFC 9110). */
static bool is_header_name(const char *text, size_t length) {
    for (size_t i = 0; i < length; i++)
        if (text[i] == '\0' ||
            (!isalnum((unsigned char)text[i]) && !strchr("!#$%&'*+-.^_`|~", text[i])))
            return false;
    return length > 0;
}

/* `headers:` of a URL source: a mapping of header names to values (the
 * values may hold ${VAR}, expanded when the source is opened). */
static void read_source_headers(loader *loader, size_t index, irpa_manifest_source *source) {
    const node *mapping = node_at(loader, index);
    if (mapping->kind != NODE_MAPPING) {
        report_wrong_type(loader, mapping, "'headers'",
                          "a mapping of header names to values, e.g. {Authorization: ...}");
        return;
    }
    size_t pair_count = mapping->child_count / 2;
    source->headers = calloc(pair_count ? pair_count : 1, sizeof *source->headers);
    if (!source->headers) {
        report_out_of_memory(loader);
        return;
    }
    for (size_t i = 0; i < pair_count; i++) {
        const char *name, *value;
        size_t name_length, value_length;
        size_t name_index = child_at(loader, mapping, 2 * i);
        if (!string_of(loader, name_index, "header name", "a header name such as "
                       "'Authorization'", false, &name, &name_length) ||
            !string_of(loader, child_at(loader, mapping, 2 * i + 1), "header value",
                       "a string", false, &value, &value_length))
            continue;
        char shown[SHOWN_SIZE];
        if (!is_header_name(name, name_length)) {
            report(loader, node_at(loader, name_index)->position, "header name '%s' is not "
                   "a valid HTTP header name", show(shown, name, name_length));
            continue;
        }
        if (memchr(value, '\r', value_length) || memchr(value, '\n', value_length)) {
            report(loader, node_at(loader, name_index)->position, "the value of header '%s' "
                   "has a line break", show(shown, name, name_length));
            continue;
        }
        char *line = malloc(name_length + value_length + 3);
        if (!line) {
            report_out_of_memory(loader);
            return;
        }
        sprintf(line, "%.*s: %.*s", (int)name_length, name, (int)value_length, value);
        source->headers[source->header_count++] = line;
    }
}

/* A source's value: a path, or {path: P, format: F, headers: {...}}. */
static void read_source_value(loader *loader, size_t index, irpa_manifest_source *source) {
    static const char *const keys[] = {"path", "format", "headers"};
    static const key_set set = {keys, 3, "in source"};
    const char *expected = "a path or {path: FILE, format: gguf|safetensors|raw}";
    const node *value = node_at(loader, index);
    source->position = value->position;
    size_t path_index = index;
    if (value->kind == NODE_SEQUENCE || is_null(loader, value) || is_alias(value)) {
        char what[SHOWN_SIZE + 16], shown[SHOWN_SIZE];
        snprintf(what, sizeof what, "source '%s'", show(shown, source->key, strlen(source->key)));
        report_wrong_type(loader, value, what, expected);
        return;
    }
    size_t headers_index = NO_NODE;
    if (value->kind == NODE_MAPPING) {
        size_t values[3], key_nodes[3];
        read_keys(loader, index, &set, values, key_nodes);
        if (values[1] != NO_NODE) read_source_format(loader, values[1], source);
        headers_index = values[2];
        if (values[0] == NO_NODE) {
            report(loader, value->position, "missing key 'path' in source; expected 'path:' "
                   "with the source file's path");
            return;
        }
        path_index = values[0];
    }
    source->path = read_string(loader, path_index, "source path", "a file path");
    if (!source->path) return;
    if (!source->path[0]) {
        report(loader, node_at(loader, path_index)->position, "source path is empty; expected "
               "a file path");
        return;
    }
    source->resolved_path = resolve_path(loader, source->path);
    if (headers_index != NO_NODE && !irpa_is_url(source->path))
        report(loader, node_at(loader, headers_index)->position, "'headers' apply only to an "
               "http:// or https:// source; '%s' is a file path", source->path);
    else if (headers_index != NO_NODE)
        read_source_headers(loader, headers_index, source);
}

static void read_sources(loader *loader, size_t index) {
    const node *mapping = node_at(loader, index);
    if (mapping->kind != NODE_MAPPING) {
        report_wrong_type(loader, mapping, "'sources'", "a mapping of source keys to paths");
        return;
    }
    size_t pair_count = mapping->child_count / 2;
    if (pair_count == 0) return;
    irpa_manifest *manifest = loader->manifest;
    manifest->sources = calloc(pair_count, sizeof *manifest->sources);
    if (!manifest->sources) {
        report_out_of_memory(loader);
        return;
    }
    for (size_t i = 0; i < pair_count && !loader->out_of_memory; i++) {
        size_t key_index = child_at(loader, mapping, 2 * i);
        const node *key_node = node_at(loader, key_index);
        char *key = read_string(loader, key_index, "source key", "a name such as 'model'");
        if (!key) continue;
        if (!key[0]) {
            report(loader, key_node->position, "source key is empty; expected a name such as "
                   "'model'");
            free(key);
            continue;
        }
        size_t source_index = manifest->source_count;
        size_t first = table_add(loader, &loader->source_keys, key, strlen(key), source_index);
        if (first != NO_NODE) {
            char shown[SHOWN_SIZE];
            report(loader, key_node->position, "duplicate source '%s', first at line %u; "
                   "expected each source key once", show(shown, key, strlen(key)),
                   manifest->sources[first].position.line);
            free(key);
            continue;
        }
        if (loader->out_of_memory) {
            free(key);
            return;
        }
        irpa_manifest_source *source = &manifest->sources[manifest->source_count++];
        source->key = key;
        source->position = key_node->position;
        read_source_value(loader, child_at(loader, mapping, 2 * i + 1), source);
    }
}

/* ---- top level -------------------------------------------------------- */

/* A name for the archive in the mount: a plain file name ending in .irpa. */
static bool archive_name_ok(loader *loader, const char *name, irpa_position at,
                            const char *from) {
    char shown[SHOWN_SIZE];
    size_t length = strlen(name);
    const char *problem = NULL;
    if (strchr(name, '/'))
        problem = "contains '/'";
    else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        problem = "is not a file name";
    else if (length < 5 || strcmp(name + length - 5, ".irpa") != 0)
        problem = "does not end in '.irpa'";
    else if (length == 5)
        problem = "has nothing before '.irpa'";
    if (!problem) return true;
    report(loader, at, "archive name '%s'%s %s; expected a file name such as model.irpa",
           show(shown, name, length), from, problem);
    return false;
}

/* The manifest's file name with .yaml or .yml replaced by .irpa (or .irpa
 * added). */
static void default_archive_name(loader *loader) {
    const char *path = loader->manifest->path;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t length = strlen(base);
    if (length >= 5 && strcmp(base + length - 5, ".yaml") == 0)
        length -= 5;
    else if (length >= 4 && strcmp(base + length - 4, ".yml") == 0)
        length -= 4;
    char *name = malloc(length + 6);
    if (!name) {
        report_out_of_memory(loader);
        return;
    }
    memcpy(name, base, length);
    memcpy(name + length, ".irpa", 6);
    if (!archive_name_ok(loader, name, no_position(),
                         " (made from the manifest's file name; add 'archive:')")) {
        free(name);
        return;
    }
    loader->manifest->archive_name = name;
}

static void read_archive_name(loader *loader, size_t index) {
    char *name = read_string(loader, index, "'archive'", "a file name such as model.irpa");
    if (!name) return;
    if (!archive_name_ok(loader, name, node_at(loader, index)->position, "")) {
        free(name);
        return;
    }
    loader->manifest->archive_name = name;
}

static void read_alignment(loader *loader, size_t index) {
    uint64_t alignment;
    if (!read_u64(loader, index, "alignment", &alignment)) return;
    irpa_position at = node_at(loader, index)->position;
    if (alignment == 0 || alignment > MAX_ALIGNMENT) {
        report(loader, at, "alignment %llu is out of range; expected a power of two from 1 to "
               "1073741824 (2^30)", (unsigned long long)alignment);
        return;
    }
    if (alignment & (alignment - 1)) {
        report(loader, at, "alignment %llu is not a power of two; expected a power of two from "
               "1 to 1073741824 (2^30)", (unsigned long long)alignment);
        return;
    }
    loader->manifest->alignment = alignment;
}

static void read_metadata_style(loader *loader, size_t index) {
    const char *text;
    size_t length;
    if (!string_of(loader, index, "'metadata'", "pytorch", false, &text, &length)) return;
    if (length == 7 && memcmp(text, "pytorch", 7) == 0) {
        loader->manifest->metadata_pytorch = true;
        return;
    }
    char shown[SHOWN_SIZE];
    report(loader, node_at(loader, index)->position,
           "metadata '%s' is not supported; expected 'pytorch' (or no 'metadata' key)",
           show(shown, text, length));
}

enum top_key { TOP_ARCHIVE, TOP_ALIGNMENT, TOP_METADATA, TOP_SOURCES, TOP_ENTRIES, TOP_KEY_COUNT };

static void read_manifest(loader *loader) {
    static const char *const keys[TOP_KEY_COUNT] = {"archive", "alignment", "metadata",
                                                    "sources", "entries"};
    static const key_set set = {keys, TOP_KEY_COUNT, "in manifest"};
    const char *expected = "a mapping with 'entries:' (see manifests/README.md)";
    if (loader->tree.root == NO_NODE || is_null(loader, node_at(loader, loader->tree.root))) {
        report(loader, no_position(), "manifest is empty; expected %s", expected);
        return;
    }
    const node *root = node_at(loader, loader->tree.root);
    if (root->kind != NODE_MAPPING) {
        report_wrong_type(loader, root, "the manifest", expected);
        return;
    }
    size_t values[TOP_KEY_COUNT], key_nodes[TOP_KEY_COUNT];
    read_keys(loader, loader->tree.root, &set, values, key_nodes);
    if (values[TOP_ARCHIVE] != NO_NODE)
        read_archive_name(loader, values[TOP_ARCHIVE]);
    else
        default_archive_name(loader);
    if (values[TOP_ALIGNMENT] != NO_NODE) read_alignment(loader, values[TOP_ALIGNMENT]);
    if (values[TOP_METADATA] != NO_NODE) read_metadata_style(loader, values[TOP_METADATA]);
    if (values[TOP_SOURCES] != NO_NODE) read_sources(loader, values[TOP_SOURCES]);
    if (values[TOP_ENTRIES] != NO_NODE)
        read_entries(loader, values[TOP_ENTRIES]);
    else
        report(loader, root->position, "missing key 'entries' in manifest; expected 'entries:' "
               "with a list of entries");
}

/* ---- public ----------------------------------------------------------- */

static void free_strings(char **strings, size_t count) {
    for (size_t i = 0; i < count; i++) free(strings[i]);
    free(strings);
}

static void free_entry(irpa_manifest_entry *entry) {
    free(entry->name);
    free(entry->metadata);
    free(entry->tensor);
    free_strings(entry->include, entry->include_count);
    free_strings(entry->exclude, entry->exclude_count);
    free_strings(entry->splat_globs, entry->splat_glob_count);
    for (size_t i = 0; i < entry->rename_count; i++) {
        free(entry->renames[i].from);
        free(entry->renames[i].to);
    }
    free(entry->renames);
}

void irpa_manifest_free(irpa_manifest *manifest) {
    if (!manifest) return;
    for (size_t i = 0; i < manifest->source_count; i++) {
        free(manifest->sources[i].key);
        free(manifest->sources[i].path);
        free(manifest->sources[i].resolved_path);
        free(manifest->sources[i].format);
        for (size_t h = 0; h < manifest->sources[i].header_count; h++)
            free(manifest->sources[i].headers[h]);
        free(manifest->sources[i].headers);
    }
    free(manifest->sources);
    for (size_t i = 0; i < manifest->entry_count; i++) free_entry(&manifest->entries[i]);
    free(manifest->entries);
    free(manifest->archive_name);
    free(manifest->path);
    free(manifest);
}

irpa_manifest *irpa_manifest_parse(const char *path, const char *text, size_t text_length,
                                   irpa_errors *errors) {
    loader loader = {.path = path ? path : "(manifest)", .errors = errors};
    if (text_length > MAX_MANIFEST_BYTES) {
        irpa_error(errors, "%s: manifest is %zu bytes; expected at most %zu bytes (256 MiB)",
                   loader.path, text_length, MAX_MANIFEST_BYTES);
        return NULL;
    }
    loader.manifest = calloc(1, sizeof *loader.manifest);
    if (!loader.manifest || !(loader.manifest->path = strdup(loader.path))) {
        free(loader.manifest);
        irpa_error(errors, "%s: out of memory", loader.path);
        return NULL;
    }
    loader.manifest->alignment = 64;
    build_tree(&loader, text ? text : "", text ? text_length : 0);
    if (loader.error_count == 0) read_manifest(&loader);
    free_tree(&loader.tree);
    free(loader.source_keys.slots);
    free(loader.entry_names.slots);
    if (loader.error_count > 0) {
        irpa_manifest_free(loader.manifest);
        return NULL;
    }
    return loader.manifest;
}

irpa_manifest *irpa_manifest_load_fd(int fd, const char *path, irpa_errors *errors) {
    char *text = NULL;
    size_t length = 0;
    switch (irpa_read_fd(fd, MAX_MANIFEST_BYTES, &text, &length)) {
    case IRPA_READ_TOO_LARGE:
        irpa_error(errors, "%s: manifest is larger than %zu bytes (256 MiB); expected a smaller "
                   "file", path, MAX_MANIFEST_BYTES);
        return NULL;
    case IRPA_READ_FAILED:
        irpa_error(errors, "%s: cannot read: %s; expected a readable manifest file", path,
                   strerror(errno));
        return NULL;
    case IRPA_READ_OK:
        break;
    }
    irpa_manifest *manifest = irpa_manifest_parse(path, text, length, errors);
    free(text);
    return manifest;
}

irpa_manifest *irpa_manifest_load(const char *path, irpa_errors *errors) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        irpa_error(errors, "%s: cannot open: %s; expected a readable manifest file", path,
                   strerror(errno));
        return NULL;
    }
    irpa_manifest *manifest = irpa_manifest_load_fd(fd, path, errors);
    close(fd);
    return manifest;
}
