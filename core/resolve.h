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

/* irpa_resolve, calling `hook` (which may be NULL) for every tensor entry. */
irpa_archive *irpa_resolve_hooked(const irpa_manifest *manifest, irpa_tensor_hook hook,
                                  void *context, irpa_errors *errors);

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
