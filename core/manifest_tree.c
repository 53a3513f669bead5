/* manifest_tree.c: YAML text -> a tree of positioned values (manifest_tree.h). */
#include "manifest_tree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 32                /* deepest nesting of lists and mappings */
#define MAX_NODES ((size_t)4 << 20) /* most YAML values in one manifest */

typedef struct open_collection {
    size_t node;           /* the collection's node index */
    size_t pending_start;  /* where its finished children start in `pending` */
} open_collection;

/* The tree being built, and what building needs besides. */
typedef struct builder {
    irpa_tree *tree;
    irpa_reporter *reporter;
    size_t *pending;                  /* finished nodes whose parent has not ended yet */
    size_t pending_count, pending_capacity;
    open_collection open[MAX_DEPTH];  /* collections started and not yet ended */
    size_t depth;                     /* entries used in `open` */
} builder;

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

static void report_syntax_error(irpa_reporter *reporter, const yaml_parser_t *parser,
                                const char *text, size_t length) {
    if (parser->error == YAML_MEMORY_ERROR) {
        irpa_report_out_of_memory(reporter);
        return;
    }
    const char *problem = parser->problem ? parser->problem : "unreadable input";
    if (parser->error == YAML_READER_ERROR) {
        irpa_position at = position_of_offset(text, length, parser->problem_offset);
        irpa_report(reporter, at,
                    "YAML syntax error: %s (byte 0x%02x); expected printable UTF-8 text", problem,
                    parser->problem_value >= 0 ? (unsigned)parser->problem_value : 0u);
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
        irpa_report(reporter, tab_at, "a tab in indentation; YAML indents with spaces only");
        return;
    }
    if (parser->context) {
        irpa_position context_at = position_of_mark(parser->context_mark);
        irpa_report(reporter, at, "YAML syntax error: %s (%s at %u:%u); expected valid YAML",
                    problem, parser->context, context_at.line, context_at.column);
    } else {
        irpa_report(reporter, at, "YAML syntax error: %s; expected valid YAML", problem);
    }
}

/* Adds a node; its index in *index. */
static bool add_node(builder *b, irpa_node_kind kind, yaml_mark_t mark, size_t *index) {
    irpa_tree *tree = b->tree;
    if (tree->node_count >= MAX_NODES) {
        irpa_report(b->reporter, position_of_mark(mark),
                    "manifest has more than %zu YAML values; expected a smaller manifest",
                    MAX_NODES);
        return false;
    }
    if (!reserve((void **)&tree->nodes, &tree->node_capacity, tree->node_count + 1,
                 sizeof *tree->nodes)) {
        irpa_report_out_of_memory(b->reporter);
        return false;
    }
    *index = tree->node_count++;
    tree->nodes[*index] = (irpa_node){.kind = kind, .position = position_of_mark(mark)};
    return true;
}

/* Hands a finished node to its parent (or makes it the root). */
static bool finish_node(builder *b, size_t index) {
    if (b->depth == 0) {
        b->tree->root = index;
        return true;
    }
    if (!reserve((void **)&b->pending, &b->pending_capacity, b->pending_count + 1,
                 sizeof *b->pending)) {
        irpa_report_out_of_memory(b->reporter);
        return false;
    }
    b->pending[b->pending_count++] = index;
    return true;
}

static bool add_scalar(builder *b, const yaml_event_t *event) {
    irpa_tree *tree = b->tree;
    size_t length = event->data.scalar.length;
    size_t index;
    if (!add_node(b, IRPA_NODE_SCALAR, event->start_mark, &index)) return false;
    if (length >= SIZE_MAX - tree->text_length - 1 ||
        !reserve((void **)&tree->text, &tree->text_capacity, tree->text_length + length + 1, 1)) {
        irpa_report_out_of_memory(b->reporter);
        return false;
    }
    irpa_node *scalar = &tree->nodes[index];
    scalar->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    scalar->text_offset = tree->text_length;
    scalar->text_length = length;
    if (length > 0) memcpy(tree->text + tree->text_length, event->data.scalar.value, length);
    tree->text[tree->text_length + length] = '\0';
    tree->text_length += length + 1;
    return finish_node(b, index);
}

static bool open_node(builder *b, irpa_node_kind kind, yaml_mark_t mark) {
    if (b->depth >= MAX_DEPTH) {
        irpa_report(b->reporter, position_of_mark(mark),
                    "lists and mappings nest deeper than %d levels; expected a flatter manifest",
                    MAX_DEPTH);
        return false;
    }
    size_t index;
    if (!add_node(b, kind, mark, &index)) return false;
    b->open[b->depth++] = (open_collection){index, b->pending_count};
    return true;
}

static bool close_node(builder *b) {
    irpa_tree *tree = b->tree;
    if (b->depth == 0) return true; /* libyaml never does this */
    open_collection closing = b->open[--b->depth];
    size_t count = b->pending_count - closing.pending_start;
    if (!reserve((void **)&tree->children, &tree->child_capacity, tree->child_count + count,
                 sizeof *tree->children)) {
        irpa_report_out_of_memory(b->reporter);
        return false;
    }
    irpa_node *collection = &tree->nodes[closing.node];
    collection->first_child = tree->child_count;
    collection->child_count = count;
    if (count > 0)
        memcpy(tree->children + tree->child_count, b->pending + closing.pending_start,
               count * sizeof *tree->children);
    tree->child_count += count;
    b->pending_count = closing.pending_start;
    return finish_node(b, closing.node);
}

/* An alias is reported and stands in the tree as a null scalar, so the
 * parse can go on to find other problems. */
static bool add_alias(builder *b, const yaml_event_t *event) {
    char shown[IRPA_SHOWN_SIZE];
    const char *anchor = (const char *)event->data.alias.anchor;
    irpa_report(b->reporter, position_of_mark(event->start_mark),
                "YAML alias '*%s' is not supported; expected the value written out in full",
                irpa_show(shown, anchor ? anchor : "", anchor ? strlen(anchor) : 0));
    size_t index;
    if (!add_node(b, IRPA_NODE_SCALAR, event->start_mark, &index)) return false;
    b->tree->nodes[index].plain = true;
    b->tree->nodes[index].text_offset = IRPA_NO_NODE;
    return finish_node(b, index);
}

/* One event into the tree; false to stop reading. */
static bool take_event(builder *b, const yaml_event_t *event, size_t *document_count) {
    switch (event->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*document_count > 1) {
            irpa_report(b->reporter, position_of_mark(event->start_mark),
                        "a second YAML document starts here; expected one document per manifest");
            return false;
        }
        return true;
    case YAML_SCALAR_EVENT:
        return add_scalar(b, event);
    case YAML_ALIAS_EVENT:
        return add_alias(b, event);
    case YAML_SEQUENCE_START_EVENT:
        return open_node(b, IRPA_NODE_SEQUENCE, event->start_mark);
    case YAML_MAPPING_START_EVENT:
        return open_node(b, IRPA_NODE_MAPPING, event->start_mark);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return close_node(b);
    default:
        return true;
    }
}

void irpa_tree_build(irpa_tree *tree, irpa_reporter *reporter, const char *text, size_t length) {
    tree->root = IRPA_NO_NODE;
    builder b = {.tree = tree, .reporter = reporter};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        irpa_report_out_of_memory(reporter);
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    size_t document_count = 0;
    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            report_syntax_error(reporter, &parser, text, length);
            break;
        }
        bool go_on = event.type != YAML_STREAM_END_EVENT &&
                     take_event(&b, &event, &document_count);
        yaml_event_delete(&event);
        if (!go_on) break;
    }
    yaml_parser_delete(&parser);
    free(b.pending);
}

void irpa_tree_free(irpa_tree *tree) {
    free(tree->nodes);
    free(tree->children);
    free(tree->text);
}

bool irpa_tree_is_null(const irpa_tree *tree, const irpa_node *node) {
    if (node->kind != IRPA_NODE_SCALAR || !node->plain) return false;
    const char *text = irpa_tree_text(tree, node);
    return node->text_length == 0 || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
           strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}

bool irpa_tree_scalar_is(const irpa_tree *tree, const irpa_node *node, const char *word) {
    return node->kind == IRPA_NODE_SCALAR && node->text_length == strlen(word) &&
           memcmp(irpa_tree_text(tree, node), word, node->text_length) == 0;
}
