/* manifest.c: a manifest's YAML text -> irpa_manifest (manifest.h; the
 * schema and every message are described in manifests/README.md).
 *
 * Two steps. First the text becomes a tree of positioned values
 * (manifest_tree.c), in bounded work and memory whatever the input. Then
 * the tree is checked against the schema and turned into a manifest: the
 * top level here, `sources:` in manifest_sources.c, `entries:` in
 * manifest_entries.c, all written on the node readers of manifest_read.c.
 * Every problem becomes one error (manifest_report.c) and checking goes on.
 * Names are checked for duplicates with hash tables (hash.h), so large
 * manifests load in linear time.
 *
 *   irpa_manifest_load / _load_fd / _parse   a file, a descriptor, text -> manifest
 *   irpa_manifest_free */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checked.h"
#include "manifest_entries.h"
#include "manifest_read.h"
#include "manifest_sources.h"
#include "readfile.h"

#define MAX_MANIFEST_BYTES ((size_t)256 << 20) /* larger manifests are refused */
#define MAX_ALIGNMENT ((uint64_t)1 << 30)      /* largest `alignment:` */

/* ---- top level -------------------------------------------------------- */

/* A name for the archive in the mount: a plain file name ending in .irpa. */
static bool archive_name_ok(irpa_loader *loader, const char *name, irpa_position at,
                            const char *from) {
    char shown[IRPA_SHOWN_SIZE];
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
    irpa_report(&loader->reporter, at, "archive name '%s'%s %s; expected a file name such as "
                "model.irpa", irpa_show(shown, name, length), from, problem);
    return false;
}

/* The manifest's file name with .yaml or .yml replaced by .irpa (or .irpa
 * added). */
static void default_archive_name(irpa_loader *loader) {
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
        irpa_report_out_of_memory(&loader->reporter);
        return;
    }
    memcpy(name, base, length);
    memcpy(name + length, ".irpa", 6);
    if (!archive_name_ok(loader, name, irpa_no_position(),
                         " (made from the manifest's file name; add 'archive:')")) {
        free(name);
        return;
    }
    loader->manifest->archive_name = name;
}

static void read_archive_name(irpa_loader *loader, size_t index) {
    char *name = irpa_loader_string(loader, index, "'archive'", "a file name such as model.irpa");
    if (!name) return;
    if (!archive_name_ok(loader, name, irpa_tree_node(&loader->tree, index)->position, "")) {
        free(name);
        return;
    }
    loader->manifest->archive_name = name;
}

static void read_alignment(irpa_loader *loader, size_t index) {
    uint64_t alignment;
    if (!irpa_loader_u64(loader, index, "alignment", &alignment)) return;
    irpa_position at = irpa_tree_node(&loader->tree, index)->position;
    if (alignment == 0 || alignment > MAX_ALIGNMENT) {
        irpa_report(&loader->reporter, at, "alignment %llu is out of range; expected a power of "
                    "two from 1 to 1073741824 (2^30)", (unsigned long long)alignment);
        return;
    }
    if (!irpa_is_power_of_two(alignment)) {
        irpa_report(&loader->reporter, at, "alignment %llu is not a power of two; expected a "
                    "power of two from 1 to 1073741824 (2^30)", (unsigned long long)alignment);
        return;
    }
    loader->manifest->alignment = alignment;
}

static void read_metadata_style(irpa_loader *loader, size_t index) {
    const char *text;
    size_t length;
    if (!irpa_loader_text(loader, index, "'metadata'", "pytorch", false, &text, &length)) return;
    if (length == 7 && memcmp(text, "pytorch", 7) == 0) {
        loader->manifest->metadata_pytorch = true;
        return;
    }
    char shown[IRPA_SHOWN_SIZE];
    irpa_report(&loader->reporter, irpa_tree_node(&loader->tree, index)->position,
                "metadata '%s' is not supported; expected 'pytorch' (or no 'metadata' key)",
                irpa_show(shown, text, length));
}

enum top_key { TOP_ARCHIVE, TOP_ALIGNMENT, TOP_METADATA, TOP_SOURCES, TOP_ENTRIES, TOP_KEY_COUNT };

static void read_manifest(irpa_loader *loader) {
    static const char *const keys[TOP_KEY_COUNT] = {"archive", "alignment", "metadata",
                                                    "sources", "entries"};
    static const irpa_key_set set = {keys, TOP_KEY_COUNT, "in manifest"};
    const char *expected = "a mapping with 'entries:' (see manifests/README.md)";
    const irpa_tree *tree = &loader->tree;
    if (tree->root == IRPA_NO_NODE || irpa_tree_is_null(tree, irpa_tree_node(tree, tree->root))) {
        irpa_report(&loader->reporter, irpa_no_position(), "manifest is empty; expected %s",
                    expected);
        return;
    }
    const irpa_node *root = irpa_tree_node(tree, tree->root);
    if (root->kind != IRPA_NODE_MAPPING) {
        irpa_loader_wrong_type(loader, root, "the manifest", expected);
        return;
    }
    size_t values[TOP_KEY_COUNT], key_nodes[TOP_KEY_COUNT];
    irpa_loader_keys(loader, tree->root, &set, values, key_nodes);
    if (values[TOP_ARCHIVE] != IRPA_NO_NODE)
        read_archive_name(loader, values[TOP_ARCHIVE]);
    else
        default_archive_name(loader);
    if (values[TOP_ALIGNMENT] != IRPA_NO_NODE) read_alignment(loader, values[TOP_ALIGNMENT]);
    if (values[TOP_METADATA] != IRPA_NO_NODE) read_metadata_style(loader, values[TOP_METADATA]);
    if (values[TOP_SOURCES] != IRPA_NO_NODE) irpa_read_sources(loader, values[TOP_SOURCES]);
    if (values[TOP_ENTRIES] != IRPA_NO_NODE)
        irpa_read_entries(loader, values[TOP_ENTRIES]);
    else
        irpa_report(&loader->reporter, root->position, "missing key 'entries' in manifest; "
                    "expected 'entries:' with a list of entries");
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
        free_strings(manifest->sources[i].headers, manifest->sources[i].header_count);
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
    const char *shown_path = path ? path : "(manifest)";
    irpa_loader loader = {.reporter = {.path = shown_path, .errors = errors}};
    if (text_length > MAX_MANIFEST_BYTES) {
        irpa_error(errors, "%s: manifest is %zu bytes; expected at most %zu bytes (256 MiB)",
                   shown_path, text_length, MAX_MANIFEST_BYTES);
        return NULL;
    }
    loader.manifest = calloc(1, sizeof *loader.manifest);
    if (!loader.manifest || !(loader.manifest->path = strdup(shown_path))) {
        free(loader.manifest);
        irpa_error(errors, "%s: out of memory", shown_path);
        return NULL;
    }
    loader.manifest->alignment = 64;
    irpa_tree_build(&loader.tree, &loader.reporter, text ? text : "", text ? text_length : 0);
    if (loader.reporter.error_count == 0) read_manifest(&loader);
    irpa_tree_free(&loader.tree);
    irpa_index_table_free(&loader.source_keys);
    irpa_index_table_free(&loader.entry_names);
    if (loader.reporter.error_count > 0) {
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
