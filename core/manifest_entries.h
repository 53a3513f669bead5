/* manifest_entries.h: the manifest's `entries:`.
 *
 * Each entry is one of four kinds, told by its keys: a byte range of a
 * source (name, source, offset, length), a splat (name, splat, length), a
 * tensor of a source (source, tensor, and a name when it differs), or every
 * tensor of a source (source, with include/exclude globs, renames and splat
 * globs). Keys another kind needs, or that this kind does not allow, are
 * reported with the kind's phrase; names are unique across the archive.
 *
 *   irpa_read_entries  `entries:` -> manifest->entries, names checked */
#ifndef IRPA_MANIFEST_ENTRIES_H
#define IRPA_MANIFEST_ENTRIES_H

#include <stddef.h>

#include "manifest_read.h"

/* Reads the list `index` (the value of `entries:`) into the loader's
 * manifest, reporting every problem. The sources must have been read. */
void irpa_read_entries(irpa_loader *loader, size_t index);

#endif
