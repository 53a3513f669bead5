/* resolve.h: from a loaded manifest to a laid-out archive.
 *
 * Opens each distinct source file once (source.h: a file named by several
 * keys, paths or index entries shares one descriptor), reads GGUF/safetensors
 * headers for entries that name tensors (model.h), expands whole-model
 * entries with their include/exclude/rename/splat rules, adds every entry to
 * an archive in manifest order and lays it out (archive.h). Errors carry the manifest
 * position of the entry or source they concern. */
#ifndef IRPA_RESOLVE_H
#define IRPA_RESOLVE_H

#include "archive.h"
#include "errors.h"
#include "manifest.h"
#include "model.h"

/* Resolves `manifest`; reports every error it can find, not just the first.
 * NULL on any error. */
irpa_archive *irpa_resolve(const irpa_manifest *manifest, irpa_errors *errors);

/* Called for each entry made from a source tensor, with its index in the
 * archive's entries, so a caller can keep what the archive does not (the
 * tensor's dtype and shape). */
typedef void (*irpa_tensor_hook)(void *context, size_t entry_index, const irpa_tensor *tensor);

/* The rules of a whole-model entry. */
typedef enum irpa_rule_kind {
    IRPA_RULE_INCLUDE,  /* include[i] matched a tensor's name */
    IRPA_RULE_EXCLUDE,  /* exclude[i] dropped a tensor include kept */
    IRPA_RULE_RENAME,   /* renames[i] renamed a kept tensor (the first that matches) */
    IRPA_RULE_SPLAT,    /* splat_globs[i] matched a kept tensor */
} irpa_rule_kind;

/* Called each time rule `rule_index` of `kind` of whole-model entry
 * `manifest_entry` (an index into the manifest's entries) applies to a
 * tensor. */
typedef void (*irpa_rule_hook)(void *context, size_t manifest_entry, irpa_rule_kind kind,
                               size_t rule_index);

typedef struct irpa_resolve_hooks {
    irpa_tensor_hook tensor;  /* may be NULL */
    irpa_rule_hook rule;      /* may be NULL; when set, the caller judges rules that apply to
                                 nothing (`irpa manifest` applies one set of rules to several
                                 sources), and an include matching no tensor of its source is
                                 not an error of the resolver */
    void *context;            /* passed to both */
} irpa_resolve_hooks;

/* irpa_resolve, telling `hooks` (which may be NULL) of tensor entries and rules. */
irpa_archive *irpa_resolve_hooked(const irpa_manifest *manifest, const irpa_resolve_hooks *hooks,
                                  irpa_errors *errors);

/* irpa_resolve, opening every source file (shards of a safetensors index
 * included) through `open_file` (source.h; NULL = open(2)). */
irpa_archive *irpa_resolve_with(const irpa_manifest *manifest, irpa_open_function open_file,
                                void *open_context, irpa_errors *errors);

/* irpa_manifest_load + irpa_resolve. */
irpa_archive *irpa_open_manifest(const char *path, irpa_errors *errors);

/* Whether `name` matches the shell glob `glob` ('*', '?', '[...]'; '*'
 * also matches '.' and '/'). */
int irpa_glob_match(const char *glob, const char *name);

#endif
