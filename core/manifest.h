/* manifest.h: a manifest, as read from its YAML file (manifests/README.md).
 *
 * Loading parses and checks everything that can be checked without opening
 * a source: keys, types, ranges, names, patterns. Every problem becomes one
 * error "FILE:LINE:COL: what is wrong; what was expected", and loading goes
 * on to report the others. Sources are opened later, by resolve.h. */
#ifndef IRPA_MANIFEST_H
#define IRPA_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "splat.h"   /* irpa_splat_encode */
#include "suggest.h" /* irpa_suggest */
#include "url_options.h"

typedef struct irpa_position {
    uint32_t line;    /* 1-based line in the manifest */
    uint32_t column;  /* 1-based column in the manifest */
} irpa_position;

typedef struct irpa_manifest_source {
    char *key;               /* the name entries use to refer to it, owned */
    char *path;              /* the path as written in the manifest, owned */
    char *resolved_path;     /* path relative to the manifest's directory, or absolute, owned */
    char *format;            /* "gguf", "safetensors", "raw" when forced by `format:`, else NULL */
    irpa_position position;  /* where the path (or the source's mapping) is */
    char **headers;          /* URL sources: `headers:` as "Name: value", ${VAR} unexpanded, owned */
    size_t header_count;
} irpa_manifest_source;

typedef enum irpa_manifest_entry_kind {
    IRPA_MANIFEST_RANGE,   /* name + source + offset + length */
    IRPA_MANIFEST_SPLAT,   /* name + splat + length */
    IRPA_MANIFEST_TENSOR,  /* name (optional) + source + tensor */
    IRPA_MANIFEST_ALL,     /* source + include/exclude/rename/splat: every tensor */
} irpa_manifest_entry_kind;

typedef struct irpa_rename {
    char *from;  /* prefix to replace, owned */
    char *to;    /* its replacement, owned */
} irpa_rename;

typedef struct irpa_manifest_entry {
    irpa_manifest_entry_kind kind;
    irpa_position position;        /* where the entry's mapping starts */
    char *name;                    /* archive key; NULL for ALL, and for TENSOR when not given */
    long source;                   /* index into the manifest's sources; -1 for SPLAT */
    uint64_t offset;               /* RANGE: absolute byte offset in the source */
    uint64_t length;               /* RANGE, SPLAT: bytes */
    irpa_position offset_position; /* RANGE: where `offset` is */
    irpa_position length_position; /* RANGE, SPLAT: where `length` is */
    uint8_t *metadata;             /* the entry's metadata blob, owned; NULL when none */
    size_t metadata_length;        /* bytes of metadata */
    uint8_t pattern[16];           /* SPLAT: pattern bytes, little-endian */
    uint8_t pattern_length;        /* SPLAT: 1, 2, 4, 8 or 16 */
    char *tensor;                  /* TENSOR: the tensor's name in the source, owned */
    char **include;                /* ALL: globs a tensor must match one of (none = all), owned */
    size_t include_count;
    char **exclude;                /* ALL: globs that drop a tensor, owned */
    size_t exclude_count;
    irpa_rename *renames;          /* ALL: prefix replacements, first match wins, owned */
    size_t rename_count;
    char **splat_globs;            /* ALL: tensors matching one become zero splats, owned */
    size_t splat_glob_count;
} irpa_manifest_entry;

typedef struct irpa_manifest {
    char *path;                     /* the manifest's path as given, used in every message, owned */
    char *archive_name;             /* `archive:` or the file name with .irpa, owned */
    uint64_t alignment;             /* power of two; 64 by default */
    bool metadata_pytorch;          /* `metadata: pytorch` */
    irpa_manifest_source *sources;  /* in manifest order, owned */
    size_t source_count;
    irpa_manifest_entry *entries;   /* in archive order, owned */
    size_t entry_count;
    irpa_url_options url_options;   /* URL sources: not from the file, the caller sets it
                                       before resolving (zero: the defaults) */
} irpa_manifest;

/* Reads and checks the manifest at `path`. NULL, with every error found, on
 * failure. */
irpa_manifest *irpa_manifest_load(const char *path, irpa_errors *errors);

/* Same, reading the open descriptor `fd` to its end (at most 256 MiB);
 * `path` names the manifest in messages and resolves relative source
 * paths. The descriptor stays open. */
irpa_manifest *irpa_manifest_load_fd(int fd, const char *path, irpa_errors *errors);

/* Same, from text in memory; `path` is used for messages and to resolve
 * relative source paths. (The fuzzer's entry point.) */
irpa_manifest *irpa_manifest_parse(const char *path, const char *text, size_t text_length,
                                   irpa_errors *errors);

void irpa_manifest_free(irpa_manifest *manifest);

#endif
