/* manifest_sources.h: the manifest's `sources:` and the entries' `source:`.
 *
 * `sources:` maps keys to source files: a path (relative to the manifest's
 * directory, or absolute), or {path: P, format: gguf|safetensors|raw}. Keys
 * are unique; an entry's `source: KEY` must name one of them. Everything
 * the schema says about a source is read here.
 *
 *   irpa_read_sources     `sources:` -> manifest->sources, keys checked
 *   irpa_read_source_key  an entry's `source: KEY` -> the source's index */
#ifndef IRPA_MANIFEST_SOURCES_H
#define IRPA_MANIFEST_SOURCES_H

#include <stddef.h>

#include "manifest_read.h"

/* Reads the mapping `index` (the value of `sources:`) into the loader's
 * manifest, reporting every problem. */
void irpa_read_sources(irpa_loader *loader, size_t index);

/* Reads scalar `index` (the value of an entry's `source:`): the index of
 * the source it names in *source, or a report naming the nearest key.
 * The sources must have been read. */
void irpa_read_source_key(irpa_loader *loader, size_t index, long *source);

#endif
