/* manifest_sources.c: the schema of `sources:` and of `source: KEY`
 * (manifest_sources.h). */
#include "manifest_sources.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h" /* irpa_is_url */
#include "suggest.h"

/* Source keys in loader->source_keys: the hash of source `index`'s key. */
static uint64_t source_key_hash(const void *sources, size_t index) {
    return irpa_fnv1a_string(((const irpa_manifest_source *)sources)[index].key);
}

/* Whether source `index` has the key `key`. */
static bool source_has_key(const void *sources, size_t index, const void *key) {
    return strcmp(((const irpa_manifest_source *)sources)[index].key, key) == 0;
}

/* The manifest's directory with its trailing '/' ("" when none) + path;
 * absolute paths and URLs are kept. */
static char *resolve_path(irpa_loader *loader, const char *path) {
    if (irpa_is_url(path)) return irpa_loader_copy(loader, path, strlen(path));
    const char *manifest_path = loader->manifest->path;
    const char *slash = strrchr(manifest_path, '/');
    size_t directory_length =
        (path[0] == '/' || !slash) ? 0 : (size_t)(slash - manifest_path) + 1;
    size_t path_length = strlen(path);
    char *resolved = malloc(directory_length + path_length + 1);
    if (!resolved) {
        irpa_report_out_of_memory(&loader->reporter);
        return NULL;
    }
    memcpy(resolved, manifest_path, directory_length);
    memcpy(resolved + directory_length, path, path_length + 1);
    return resolved;
}

static void read_source_format(irpa_loader *loader, size_t index, irpa_manifest_source *source) {
    static const char *const formats[] = {"gguf", "safetensors", "raw"};
    size_t format_count = sizeof formats / sizeof *formats;
    const char *text;
    size_t length;
    if (!irpa_loader_text(loader, index, "'format'", "gguf, safetensors or raw", false, &text,
                          &length))
        return;
    for (size_t i = 0; i < format_count; i++) {
        if (strlen(formats[i]) == length && memcmp(formats[i], text, length) == 0) {
            source->format = irpa_loader_copy(loader, text, length);
            return;
        }
    }
    char shown[IRPA_SHOWN_SIZE], tail[IRPA_SUGGESTION_TAIL_SIZE];
    irpa_report(&loader->reporter, irpa_tree_node(&loader->tree, index)->position,
                "unknown source format '%s'%s", irpa_show(shown, text, length),
                irpa_suggestion_tail(tail, text, length, formats, format_count,
                                     "expected gguf, safetensors or raw"));
}

/* An HTTP header name: a token (RFC 9110). */
static bool is_header_name(const char *text, size_t length) {
    for (size_t i = 0; i < length; i++)
        if (text[i] == '\0' ||
            (!isalnum((unsigned char)text[i]) && !strchr("!#$%&'*+-.^_`|~", text[i])))
            return false;
    return length > 0;
}

/* One `headers:` pair, checked, as "Name: value"; NULL when reported. */
static char *read_source_header(irpa_loader *loader, size_t name_index, size_t value_index) {
    const char *name, *value;
    size_t name_length, value_length;
    if (!irpa_loader_text(loader, name_index, "header name", "a header name such as "
                          "'Authorization'", false, &name, &name_length) ||
        !irpa_loader_text(loader, value_index, "header value", "a string", false, &value,
                          &value_length))
        return NULL;
    char shown[IRPA_SHOWN_SIZE];
    irpa_position at = irpa_tree_node(&loader->tree, name_index)->position;
    if (!is_header_name(name, name_length)) {
        irpa_report(&loader->reporter, at, "header name '%s' is not a valid HTTP header name",
                    irpa_show(shown, name, name_length));
        return NULL;
    }
    if (memchr(value, '\r', value_length) || memchr(value, '\n', value_length)) {
        irpa_report(&loader->reporter, irpa_tree_node(&loader->tree, value_index)->position,
                    "the value of header '%s' has a line break (CR or LF)",
                    irpa_show(shown, name, name_length));
        return NULL;
    }
    char *line = malloc(name_length + value_length + 3);
    if (!line) {
        irpa_report_out_of_memory(&loader->reporter);
        return NULL;
    }
    sprintf(line, "%.*s: %.*s", (int)name_length, name, (int)value_length, value);
    return line;
}

/* `headers:` of a URL source: a mapping of header names to values (the
 * values may hold ${VAR}, expanded when the source is opened). */
static void read_source_headers(irpa_loader *loader, size_t index, irpa_manifest_source *source) {
    const irpa_node *mapping = irpa_tree_node(&loader->tree, index);
    if (mapping->kind != IRPA_NODE_MAPPING) {
        irpa_loader_wrong_type(loader, mapping, "'headers'",
                               "a mapping of header names to values, e.g. {Authorization: ...}");
        return;
    }
    size_t pair_count = mapping->child_count / 2;
    source->headers = calloc(pair_count ? pair_count : 1, sizeof *source->headers);
    if (!source->headers) {
        irpa_report_out_of_memory(&loader->reporter);
        return;
    }
    for (size_t i = 0; i < pair_count && !loader->reporter.out_of_memory; i++) {
        char *line = read_source_header(loader, irpa_tree_child(&loader->tree, mapping, 2 * i),
                                        irpa_tree_child(&loader->tree, mapping, 2 * i + 1));
        if (line) source->headers[source->header_count++] = line;
    }
}

/* A source's value: a path, or {path: P, format: F, headers: {...}}. */
static void read_source_value(irpa_loader *loader, size_t index, irpa_manifest_source *source) {
    static const char *const keys[] = {"path", "format", "headers"};
    static const irpa_key_set set = {keys, 3, "in source"};
    const char *expected = "a path or {path: FILE, format: gguf|safetensors|raw}";
    const irpa_tree *tree = &loader->tree;
    const irpa_node *value = irpa_tree_node(tree, index);
    source->position = value->position;
    size_t path_index = index;
    if (value->kind == IRPA_NODE_SEQUENCE || irpa_tree_is_null(tree, value) ||
        irpa_node_is_alias(value)) {
        char what[IRPA_SHOWN_SIZE + 16], shown[IRPA_SHOWN_SIZE];
        snprintf(what, sizeof what, "source '%s'",
                 irpa_show(shown, source->key, strlen(source->key)));
        irpa_loader_wrong_type(loader, value, what, expected);
        return;
    }
    size_t headers_index = IRPA_NO_NODE;
    if (value->kind == IRPA_NODE_MAPPING) {
        size_t values[3], key_nodes[3];
        irpa_loader_keys(loader, index, &set, values, key_nodes);
        if (values[1] != IRPA_NO_NODE) read_source_format(loader, values[1], source);
        headers_index = values[2];
        if (values[0] == IRPA_NO_NODE) {
            irpa_report(&loader->reporter, value->position, "missing key 'path' in source; "
                        "expected 'path:' with the source file's path");
            return;
        }
        path_index = values[0];
    }
    source->path = irpa_loader_string(loader, path_index, "source path", "a file path");
    if (!source->path) return;
    if (!source->path[0]) {
        irpa_report(&loader->reporter, irpa_tree_node(tree, path_index)->position,
                    "source path is empty; expected a file path");
        return;
    }
    source->resolved_path = resolve_path(loader, source->path);
    if (headers_index != IRPA_NO_NODE && !irpa_is_url(source->path))
        irpa_report(&loader->reporter, irpa_tree_node(tree, headers_index)->position,
                    "'headers' apply only to an http:// or https:// source; '%s' is a file path",
                    source->path);
    else if (headers_index != IRPA_NO_NODE)
        read_source_headers(loader, headers_index, source);
}

/* Reads key `key_index` and the value after it as the next source. */
static void read_source(irpa_loader *loader, size_t key_index, size_t value_index) {
    irpa_manifest *manifest = loader->manifest;
    const irpa_node *key_node = irpa_tree_node(&loader->tree, key_index);
    char *key = irpa_loader_string(loader, key_index, "source key", "a name such as 'model'");
    if (!key) return;
    if (!key[0]) {
        irpa_report(&loader->reporter, key_node->position,
                    "source key is empty; expected a name such as 'model'");
        free(key);
        return;
    }
    size_t first = irpa_loader_add_name(loader, &loader->source_keys, source_key_hash,
                                        source_has_key, manifest->sources, key,
                                        manifest->source_count);
    if (first != IRPA_NO_NODE) {
        char shown[IRPA_SHOWN_SIZE];
        irpa_report(&loader->reporter, key_node->position, "duplicate source '%s', first at "
                    "line %u; expected each source key once", irpa_show(shown, key, strlen(key)),
                    manifest->sources[first].position.line);
        free(key);
        return;
    }
    if (loader->reporter.out_of_memory) {
        free(key);
        return;
    }
    irpa_manifest_source *source = &manifest->sources[manifest->source_count++];
    source->key = key;
    source->position = key_node->position;
    read_source_value(loader, value_index, source);
}

void irpa_read_sources(irpa_loader *loader, size_t index) {
    const irpa_node *mapping = irpa_tree_node(&loader->tree, index);
    if (mapping->kind != IRPA_NODE_MAPPING) {
        irpa_loader_wrong_type(loader, mapping, "'sources'", "a mapping of source keys to paths");
        return;
    }
    size_t pair_count = mapping->child_count / 2;
    if (pair_count == 0) return;
    irpa_manifest *manifest = loader->manifest;
    manifest->sources = calloc(pair_count, sizeof *manifest->sources);
    if (!manifest->sources) {
        irpa_report_out_of_memory(&loader->reporter);
        return;
    }
    for (size_t i = 0; i < pair_count && !loader->reporter.out_of_memory; i++)
        read_source(loader, irpa_tree_child(&loader->tree, mapping, 2 * i),
                    irpa_tree_child(&loader->tree, mapping, 2 * i + 1));
}

void irpa_read_source_key(irpa_loader *loader, size_t index, long *source) {
    const char *key;
    size_t length;
    if (!irpa_loader_text(loader, index, "'source'", "a key defined under 'sources:'", false,
                          &key, &length))
        return;
    const irpa_manifest *manifest = loader->manifest;
    size_t found = irpa_index_table_find(&loader->source_keys, irpa_fnv1a_string(key),
                                         source_has_key, manifest->sources, key);
    if (found != SIZE_MAX) {
        *source = (long)found;
        return;
    }
    char shown[IRPA_SHOWN_SIZE], tail[IRPA_SUGGESTION_TAIL_SIZE];
    irpa_position at = irpa_tree_node(&loader->tree, index)->position;
    if (manifest->source_count == 0) {
        irpa_report(&loader->reporter, at, "source '%s' is not defined; expected a key defined "
                    "under 'sources:' (there are none)", irpa_show(shown, key, length));
        return;
    }
    const char *candidates[IRPA_SUGGEST_MAX_CANDIDATES];
    size_t candidate_count = 0;
    if (manifest->source_count <= IRPA_SUGGEST_MAX_CANDIDATES)
        for (size_t i = 0; i < manifest->source_count; i++)
            candidates[candidate_count++] = manifest->sources[i].key;
    irpa_report(&loader->reporter, at, "source '%s' is not defined%s",
                irpa_show(shown, key, length),
                irpa_suggestion_tail(tail, key, length, candidates, candidate_count,
                                     "expected a key defined under 'sources:'"));
}
