/* resolve.c: manifest -> archive. See resolve.h. */
#include "resolve.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "http.h"
#include "search.h"
#include "suggest.h"
#include "url_source.h"

#define SUGGEST_WINDOW IRPA_SUGGEST_MAX_CANDIDATES /* tensor names compared for a "did you mean" */

/* What one manifest source became: one archive source per file (a
 * safetensors index brings several), and, once an entry names tensors, the
 * tensors of each file. */
typedef struct resolved_source {
    int failed;                 /* opening or reading it failed: skip its entries */
    irpa_model_format format;   /* what the file is */
    uint32_t *files;            /* archive source index of each file (shard), owned */
    size_t file_count;          /* files (shards) it spans */
    int tensors_read;           /* tensor lists below are filled */
    irpa_tensor_list *tensors;  /* per file, file_count of them */
    struct named_tensor *by_name; /* every tensor sorted by name, built on first lookup */
    size_t named_count;         /* entries in by_name */
} resolved_source;

/* A tensor of a source, for lookup by name. */
typedef struct named_tensor {
    const char *name;           /* the tensor's name (owned by its list) */
    uint32_t file;              /* which file of the source */
    size_t index;               /* its index in that file's list */
} named_tensor;

/* The archive's sources by the path they were opened with and by file
 * identity (st_dev, st_ino), so that a file named by several keys, index
 * entries or paths is opened once (a path seen before is not even opened
 * again: the FUSE server opens each source in a child process). */
typedef struct file_table {
    irpa_index_table by_path;      /* archive->sources by path */
    irpa_index_table by_identity;  /* archive->sources by (st_dev, st_ino) */
} file_table;

/* The source tensor an archive entry was made from, for messages. */
typedef struct entry_origin {
    const char *tensor;         /* its name in the source (owned by the tensor list); NULL
                                   for entries not made from a tensor */
    long source;                /* index of its manifest source */
} entry_origin;

typedef struct resolver {
    const irpa_manifest *manifest;
    irpa_archive *archive;
    file_table files;           /* every archive source, by identity */
    resolved_source *sources;   /* one per manifest source */
    entry_origin *origins;      /* per archive entry, origin_count of them */
    size_t origin_count;
    irpa_resolve_hooks hooks;   /* what the caller is told of; all may be NULL */
    irpa_open_function open_file; /* opens source files; NULL = open(2) */
    void *open_context;
    const irpa_manifest_source *opening; /* the source being opened (its URL headers) */
    irpa_errors *errors;
} resolver;

/* "m.yaml:12:5" for a manifest position. */
static void format_where(const irpa_manifest *manifest, irpa_position position, char *where,
                         size_t where_size) {
    snprintf(where, where_size, "%s:%u:%u", manifest->path, position.line, position.column);
}

int irpa_glob_match(const char *glob, const char *name) {
    return fnmatch(glob, name, 0) == 0;
}

/* ---- sources ----------------------------------------------------------- */

static uint64_t hash_identity(dev_t dev, ino_t ino) {
    return irpa_fnv1a_add(irpa_fnv1a(&dev, sizeof dev), &ino, sizeof ino);
}

/* What tells sources apart: a file's path, a URL as written (its query too). */
static const char *opened_as(const irpa_source *source) {
    return source->url ? source->url : source->path;
}

static uint64_t path_hash_of(const void *sources, size_t index) {
    return irpa_fnv1a_string(opened_as(&((const irpa_source *)sources)[index]));
}

static uint64_t identity_hash_of(const void *sources, size_t index) {
    const irpa_source *source = &((const irpa_source *)sources)[index];
    return hash_identity(source->dev, source->ino);
}

static bool has_path(const void *sources, size_t index, const void *path) {
    return strcmp(opened_as(&((const irpa_source *)sources)[index]), path) == 0;
}

static bool is_same_file(const void *sources, size_t index, const void *other) {
    const irpa_source *file = other;
    return irpa_source_is(&((const irpa_source *)sources)[index], file->dev, file->ino);
}

/* Makes room in both tables for one more source. */
static int grow_files(resolver *r) {
    const irpa_source *sources = r->archive->sources;
    if (irpa_index_table_reserve(&r->files.by_path, path_hash_of, sources) != 0 ||
        irpa_index_table_reserve(&r->files.by_identity, identity_hash_of, sources) != 0)
        return irpa_error(r->errors, "out of memory");
    return 0;
}

/* Opens a file, or a URL with the headers of the source being opened. */
static int open_local_or_url(resolver *r, irpa_source *source, const char *path,
                             const char *where) {
    if (!irpa_is_url(path))
        return irpa_source_open_with(source, path, where, r->open_file, r->open_context,
                                     r->errors);
    const irpa_manifest_source *declared = r->opening;
    return irpa_url_source_open(source, path,
                                declared ? (const char *const *)declared->headers : NULL,
                                declared ? declared->header_count : 0,
                                &r->manifest->url_options, where, r->errors);
}

/* Opens `path` and returns its archive source index: a file already open
 * (the same file under another key, path or index entry) is not opened
 * again, so every distinct file has one descriptor. */
static int open_file(resolver *r, const char *path, const char *where) {
    if (grow_files(r) != 0) return -1;
    size_t *by_path = irpa_index_table_slot(&r->files.by_path, irpa_fnv1a_string(path), has_path,
                                            r->archive->sources, path);
    if (*by_path) return (int)(*by_path - 1);
    irpa_source source;
    if (open_local_or_url(r, &source, path, where) != 0) return -1;
    /* A URL has no (dev, ino): it is the same source by its URL alone. */
    size_t *by_identity =
        source.remote ? NULL
                      : irpa_index_table_slot(&r->files.by_identity,
                                              hash_identity(source.dev, source.ino),
                                              is_same_file, r->archive->sources, &source);
    if (by_identity && *by_identity) {
        irpa_source_close(&source);
        return (int)(*by_identity - 1);
    }
    long index = irpa_archive_add_source(r->archive, &source, r->errors);
    if (index < 0) {
        irpa_source_close(&source);
        return -1;
    }
    irpa_index_table_fill(&r->files.by_path, by_path, (size_t)index);
    if (by_identity) irpa_index_table_fill(&r->files.by_identity, by_identity, (size_t)index);
    return (int)index;
}

static int open_index_shards(resolver *r, resolved_source *resolved, const char *where) {
    const irpa_source *index = &r->archive->sources[resolved->files[0]];
    char **shards = NULL;
    size_t shard_count = 0;
    if (irpa_safetensors_index_read(index, &shards, &shard_count, r->errors) != 0) return -1;
    uint32_t *files = malloc((shard_count ? shard_count : 1) * sizeof *files);
    int status = files ? 0 : irpa_error(r->errors, "out of memory");
    for (size_t i = 0; i < shard_count; i++) {
        int file = status == 0 ? open_file(r, shards[i], where) : -1;
        if (file < 0) status = -1;
        else files[i] = (uint32_t)file;
        free(shards[i]);
    }
    free(shards);
    if (status != 0) {
        free(files);
        return -1;
    }
    free(resolved->files);
    resolved->files = files;
    resolved->file_count = shard_count;
    return 0;
}

static int open_source(resolver *r, size_t index) {
    const irpa_manifest_source *declared = &r->manifest->sources[index];
    resolved_source *resolved = &r->sources[index];
    char where[4096];
    format_where(r->manifest, declared->position, where, sizeof where);
    r->opening = declared;
    int file = open_file(r, declared->resolved_path, where);
    if (file < 0) return -1;
    resolved->files = malloc(sizeof *resolved->files);
    if (!resolved->files) return irpa_error(r->errors, "out of memory");
    resolved->files[0] = (uint32_t)file;
    resolved->file_count = 1;
    resolved->format = irpa_model_detect(&r->archive->sources[file], declared->format);
    if (resolved->format == IRPA_FORMAT_SAFETENSORS_INDEX)
        return open_index_shards(r, resolved, where);
    return 0;
}

/* Reads the tensor lists of a source the first time an entry needs them. */
static int read_tensors(resolver *r, size_t index, const char *where) {
    resolved_source *resolved = &r->sources[index];
    if (resolved->tensors_read) return 0;
    const irpa_manifest_source *declared = &r->manifest->sources[index];
    if (resolved->format == IRPA_FORMAT_RAW || resolved->format == IRPA_FORMAT_UNKNOWN)
        return irpa_error(r->errors,
                          "%s: source '%s' (%s) is not a GGUF or safetensors file; "
                          "only byte ranges can be taken from it (or set its format:)",
                          where, declared->key, r->archive->sources[resolved->files[0]].path);
    resolved->tensors = calloc(resolved->file_count ? resolved->file_count : 1,
                               sizeof *resolved->tensors);
    if (!resolved->tensors) return irpa_error(r->errors, "out of memory");
    resolved->tensors_read = 1;
    for (size_t i = 0; i < resolved->file_count; i++) {
        const irpa_source *file = &r->archive->sources[resolved->files[i]];
        int status = resolved->format == IRPA_FORMAT_GGUF
                         ? irpa_gguf_read(file, &resolved->tensors[i], r->errors)
                         : irpa_safetensors_read(file, &resolved->tensors[i], r->errors);
        if (status != 0) {
            resolved->failed = 1;
            return -1;
        }
    }
    return 0;
}

static void free_resolved(resolver *r) {
    for (size_t i = 0; i < r->manifest->source_count; i++) {
        resolved_source *resolved = &r->sources[i];
        for (size_t f = 0; resolved->tensors && f < resolved->file_count; f++)
            irpa_tensor_list_free(&resolved->tensors[f]);
        free(resolved->tensors);
        free(resolved->by_name);
        free(resolved->files);
    }
    free(r->sources);
}

/* ---- entries ----------------------------------------------------------- */

/* Notes that the archive's last entry was made from `tensor` of manifest
 * source `source`. */
static int note_origin(resolver *r, const irpa_tensor *tensor, long source) {
    size_t index = r->archive->entry_count - 1;
    if (index >= r->origin_count) {
        size_t count = index * 2 + 16;
        entry_origin *grown = realloc(r->origins, count * sizeof *grown);
        if (!grown) return irpa_error(r->errors, "out of memory");
        memset(grown + r->origin_count, 0, (count - r->origin_count) * sizeof *grown);
        r->origins = grown;
        r->origin_count = count;
    }
    r->origins[index] = (entry_origin){tensor->name, source};
    return 0;
}

/* When another tensor already gave an entry this name, reports both
 * tensors (the archive alone could only say the name is taken). */
static int report_tensors_sharing(resolver *r, const char *name, const irpa_tensor *tensor,
                                  long source, const char *where) {
    long existing = irpa_archive_find(r->archive, name);
    if (existing < 0 || (size_t)existing >= r->origin_count || !r->origins[existing].tensor)
        return 0;
    const entry_origin *first = &r->origins[existing];
    const char *first_key = r->manifest->sources[first->source].key;
    const char *key = r->manifest->sources[source].key;
    if (first->source == source)
        return irpa_error(r->errors,
                          "%s: duplicate entry name '%s': tensors '%s' and '%s' of source '%s' "
                          "both get it; rename one of them",
                          where, name, first->tensor, tensor->name, key);
    return irpa_error(r->errors,
                      "%s: duplicate entry name '%s': tensor '%s' of source '%s' and tensor "
                      "'%s' of source '%s' both get it; rename one of them",
                      where, name, first->tensor, first_key, tensor->name, key);
}

/* Adds one source tensor as a data entry (or a zero splat when `as_splat`). */
static int add_tensor(resolver *r, const irpa_manifest_entry *entry, const char *name,
                      uint32_t file, const irpa_tensor *tensor, int as_splat,
                      const char *where) {
    if (!*name)
        return irpa_error(r->errors,
                          "%s: source '%s' has a tensor with an empty name, which an archive "
                          "entry cannot have; leave it out (exclude) or rename it",
                          where, r->manifest->sources[entry->source].key);
    if (report_tensors_sharing(r, name, tensor, entry->source, where) != 0) return -1;
    const void *metadata = entry->metadata;
    uint64_t metadata_length = entry->metadata_length;
    char *pytorch = NULL;
    if (!metadata && r->manifest->metadata_pytorch) {
        size_t length = 0;
        pytorch = irpa_pytorch_metadata(tensor, &length);
        metadata = pytorch;
        metadata_length = length;
    }
    int status;
    if (as_splat) {
        static const uint8_t zero = 0;
        status = irpa_archive_add_splat(r->archive, name, &zero, 1, tensor->length, metadata,
                                        metadata_length, where, r->errors);
    } else {
        status = irpa_archive_add_data(r->archive, name, file, tensor->offset, tensor->length,
                                       metadata, metadata_length, where, r->errors);
    }
    free(pytorch);
    if (status == 0) status = note_origin(r, tensor, entry->source);
    if (status == 0 && r->hooks.tensor)
        r->hooks.tensor(r->hooks.context, r->archive->entry_count - 1, tensor);
    return status;
}

/* Whether `name` matches one of `globs`; each glob that does is told to
 * the rule hook as rule `kind` of manifest entry `entry`. */
static int matches_any(const resolver *r, const irpa_manifest_entry *entry, irpa_rule_kind kind,
                       char *const *globs, size_t count, const char *name) {
    int matched = 0;
    for (size_t i = 0; i < count && (!matched || r->hooks.rule); i++) {
        if (!irpa_glob_match(globs[i], name)) continue;
        matched = 1;
        if (r->hooks.rule)
            r->hooks.rule(r->hooks.context, (size_t)(entry - r->manifest->entries), kind, i);
    }
    return matched;
}

/* The archive name of a tensor after the entry's renames (first match
 * wins, and is told to the rule hook). */
static char *renamed(const resolver *r, const irpa_manifest_entry *entry, const char *name) {
    for (size_t i = 0; i < entry->rename_count; i++) {
        const irpa_rename *rename = &entry->renames[i];
        size_t from_length = strlen(rename->from);
        if (strncmp(name, rename->from, from_length) != 0) continue;
        if (r->hooks.rule)
            r->hooks.rule(r->hooks.context, (size_t)(entry - r->manifest->entries),
                          IRPA_RULE_RENAME, i);
        char *result = NULL;
        if (asprintf(&result, "%s%s", rename->to, name + from_length) < 0) return NULL;
        return result;
    }
    return strdup(name);
}

static int add_all_tensors(resolver *r, const irpa_manifest_entry *entry, const char *where) {
    const resolved_source *resolved = &r->sources[entry->source];
    size_t matched = 0;
    int status = 0;
    for (size_t f = 0; f < resolved->file_count; f++) {
        const irpa_tensor_list *list = &resolved->tensors[f];
        for (size_t t = 0; t < list->count; t++) {
            const irpa_tensor *tensor = &list->tensors[t];
            if (entry->include_count &&
                !matches_any(r, entry, IRPA_RULE_INCLUDE, entry->include, entry->include_count,
                             tensor->name))
                continue;
            if (matches_any(r, entry, IRPA_RULE_EXCLUDE, entry->exclude, entry->exclude_count,
                            tensor->name))
                continue;
            matched++;
            char *name = renamed(r, entry, tensor->name);
            if (!name) return irpa_error(r->errors, "out of memory");
            int as_splat = matches_any(r, entry, IRPA_RULE_SPLAT, entry->splat_globs,
                                       entry->splat_glob_count, tensor->name);
            if (add_tensor(r, entry, name, resolved->files[f], tensor, as_splat,
                           where) != 0)
                status = -1;
            free(name);
        }
    }
    if (entry->include_count && matched == 0 && !r->hooks.rule)
        return irpa_error(r->errors, "%s: no tensor of source '%s' matches the include globs",
                          where, r->manifest->sources[entry->source].key);
    return status;
}

/* Orders by name, then by position in the source, so the first of
 * equal names (across shards) is the one found. */
static int compare_named(const void *a, const void *b) {
    const named_tensor *left = a, *right = b;
    int order = strcmp(left->name, right->name);
    if (order) return order;
    if (left->file != right->file) return left->file < right->file ? -1 : 1;
    return left->index < right->index ? -1 : left->index > right->index;
}

/* Sorts a source's tensors by name once, so that each tensor entry is a
 * binary search rather than a scan of every tensor. */
static int index_by_name(resolver *r, resolved_source *resolved) {
    if (resolved->by_name) return 0;
    size_t count = 0;
    for (size_t f = 0; f < resolved->file_count; f++) count += resolved->tensors[f].count;
    resolved->by_name = malloc((count ? count : 1) * sizeof *resolved->by_name);
    if (!resolved->by_name) return irpa_error(r->errors, "out of memory");
    for (size_t f = 0; f < resolved->file_count; f++)
        for (size_t t = 0; t < resolved->tensors[f].count; t++)
            resolved->by_name[resolved->named_count++] =
                (named_tensor){resolved->tensors[f].tensors[t].name, (uint32_t)f, t};
    qsort(resolved->by_name, resolved->named_count, sizeof *resolved->by_name, compare_named);
    return 0;
}

/* "has no tensor 'x'", with the nearest name when one is near. The names
 * compared are the SUGGEST_WINDOW around where `x` would sort (a typo
 * past the first letters keeps a name near its place), so a source of
 * any size costs the same. */
static int report_missing_tensor(const resolver *r, const irpa_manifest_entry *entry,
                                 size_t sorted_at, const char *where) {
    const resolved_source *resolved = &r->sources[entry->source];
    const char *candidates[SUGGEST_WINDOW];
    size_t first = sorted_at > SUGGEST_WINDOW / 2 ? sorted_at - SUGGEST_WINDOW / 2 : 0;
    size_t count = 0;
    for (size_t i = first; i < resolved->named_count && count < SUGGEST_WINDOW; i++)
        candidates[count++] = resolved->by_name[i].name;
    char tail[IRPA_SUGGESTION_TAIL_SIZE];
    return irpa_error(r->errors, "%s: source '%s' has no tensor '%s'%s", where,
                      r->manifest->sources[entry->source].key, entry->tensor,
                      irpa_suggestion_tail(tail, entry->tensor, strlen(entry->tensor),
                                           candidates, count, ""));
}

/* Whether tensor `index` of a source's by_name sorts before the name `key`. */
static bool name_before(const void *by_name, size_t index, const void *key) {
    return strcmp(((const named_tensor *)by_name)[index].name, key) < 0;
}

static int add_named_tensor(resolver *r, const irpa_manifest_entry *entry, const char *where) {
    resolved_source *resolved = &r->sources[entry->source];
    if (index_by_name(r, resolved) != 0) return -1;
    size_t low = irpa_lower_bound(resolved->by_name, resolved->named_count, name_before,
                                  entry->tensor);
    if (low == resolved->named_count || strcmp(resolved->by_name[low].name, entry->tensor) != 0)
        return report_missing_tensor(r, entry, low, where);
    const named_tensor *found = &resolved->by_name[low];
    const char *name = entry->name ? entry->name : entry->tensor;
    return add_tensor(r, entry, name, resolved->files[found->file],
                      &resolved->tensors[found->file].tensors[found->index], 0, where);
}

static int add_range(resolver *r, const irpa_manifest_entry *entry, const char *where) {
    const resolved_source *resolved = &r->sources[entry->source];
    if (resolved->format == IRPA_FORMAT_SAFETENSORS_INDEX)
        return irpa_error(r->errors,
                          "%s: source '%s' is a safetensors index of several files; a byte "
                          "range needs a single file",
                          where, r->manifest->sources[entry->source].key);
    char length_where[4096];
    format_where(r->manifest, entry->length_position, length_where, sizeof length_where);
    return irpa_archive_add_data(r->archive, entry->name, resolved->files[0], entry->offset,
                                 entry->length, entry->metadata, entry->metadata_length,
                                 length_where, r->errors);
}

static int add_entry(resolver *r, const irpa_manifest_entry *entry) {
    char where[4096];
    format_where(r->manifest, entry->position, where, sizeof where);
    if (entry->kind == IRPA_MANIFEST_SPLAT)
        return irpa_archive_add_splat(r->archive, entry->name, entry->pattern,
                                      entry->pattern_length, entry->length, entry->metadata,
                                      entry->metadata_length, where, r->errors);
    if (entry->source < 0 || (size_t)entry->source >= r->manifest->source_count)
        return irpa_error(r->errors, "%s: entry has no valid source", where);
    if (r->sources[entry->source].failed) return -1; /* already reported */
    if (entry->kind == IRPA_MANIFEST_RANGE) return add_range(r, entry, where);
    if (read_tensors(r, (size_t)entry->source, where) != 0) return -1;
    if (entry->kind == IRPA_MANIFEST_TENSOR) return add_named_tensor(r, entry, where);
    return add_all_tensors(r, entry, where);
}

/* Resolves r->manifest with r's hook and opener. */
static irpa_archive *run_resolver(resolver *setup, irpa_errors *errors) {
    size_t errors_before = errors ? errors->count : 0;
    irpa_errors local = {0};
    if (!errors) errors = &local;
    const irpa_manifest *manifest = setup->manifest;
    resolver r = *setup;
    r.errors = errors;
    r.archive = irpa_archive_new(manifest->alignment, errors);
    r.sources = calloc(manifest->source_count + 1, sizeof *r.sources);
    int failed = !r.archive || !r.sources;
    if (!failed && manifest->archive_name) {
        r.archive->name = strdup(manifest->archive_name);
        failed = !r.archive->name;
    }
    for (size_t i = 0; !failed && i < manifest->source_count; i++)
        if (open_source(&r, i) != 0) r.sources[i].failed = 1;
    for (size_t i = 0; !failed && i < manifest->entry_count; i++)
        add_entry(&r, &manifest->entries[i]);
    if (!failed && errors->count == errors_before) irpa_archive_finish(r.archive, errors);
    if (r.sources) free_resolved(&r);
    free(r.origins);
    irpa_index_table_free(&r.files.by_path);
    irpa_index_table_free(&r.files.by_identity);
    irpa_errors_clear(&local);
    if (failed || errors->count != errors_before) {
        if (failed && errors->count == errors_before) irpa_error(errors, "out of memory");
        irpa_archive_free(r.archive);
        return NULL;
    }
    return r.archive;
}

irpa_archive *irpa_resolve(const irpa_manifest *manifest, irpa_errors *errors) {
    return irpa_resolve_hooked(manifest, NULL, errors);
}

irpa_archive *irpa_resolve_with(const irpa_manifest *manifest, irpa_open_function open_file,
                                void *open_context, irpa_errors *errors) {
    resolver r = {.manifest = manifest, .open_file = open_file, .open_context = open_context};
    return run_resolver(&r, errors);
}

irpa_archive *irpa_resolve_hooked(const irpa_manifest *manifest, const irpa_resolve_hooks *hooks,
                                  irpa_errors *errors) {
    resolver r = {.manifest = manifest};
    if (hooks) r.hooks = *hooks;
    return run_resolver(&r, errors);
}

irpa_archive *irpa_open_manifest(const char *path, irpa_errors *errors) {
    irpa_manifest *manifest = irpa_manifest_load(path, errors);
    if (!manifest) return NULL;
    irpa_archive *archive = irpa_resolve(manifest, errors);
    irpa_manifest_free(manifest);
    struct stat st;
    if (archive && stat(path, &st) == 0) {
        archive->manifest_dev = st.st_dev;
        archive->manifest_ino = st.st_ino;
    }
    return archive;
}
