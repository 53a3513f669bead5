/* inspect_print.h: how `irpa inspect` shows an archive. The library
 * (inspect.h) reads and checks it; this prints what was read: the listing
 * (the text iree-dump-parameters prints, with each entry's type and
 * metadata added) and the JSON object. `irpa inspect --manifest` prints
 * manifest entries with the same columns. */
#ifndef IRPA_INSPECT_PRINT_H
#define IRPA_INSPECT_PRINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "errors.h"
#include "inspect.h"

/* Prints the listing of the archive as iree-dump-parameters does: the same
 * five header lines and "%16s | %16s | %16s | `key`" rows ('-' start and
 * end for splats), each row followed by "  [data]" or "  [splat pattern
 * HEX]" and, when the entry has metadata, "  metadata: TEXT" (printable
 * text with C-style escapes) or "  metadata: hex HEX"; then one empty line. */
void irpa_print_listing(const irpa_inspected_archive *inspected, FILE *out);

/* The five lines iree-dump-parameters starts a scope with. */
void irpa_print_scope_header(FILE *out, uint64_t entry_count, uint64_t total_bytes);

/* One row's four columns: "%16s | %16s | %16s | `key`", start and end '-'
 * when `has_range` is false (splats). No newline. */
void irpa_print_columns(FILE *out, bool has_range, uint64_t start, uint64_t end,
                        uint64_t length, const uint8_t *name, uint64_t name_length);

/* Appends "  metadata: TEXT" (escaped as irpa_print_escaped does) when the
 * bytes are UTF-8 text, else "  metadata: hex HEX"; nothing when empty. */
void irpa_print_metadata(FILE *out, const uint8_t *metadata, uint64_t length);

/* Writes bytes as one line of text, escaped as text.h says. */
void irpa_print_escaped(FILE *out, const uint8_t *bytes, uint64_t length);

/* Writes `length` bytes as lowercase hex into `out` (2 * length + 1 bytes). */
void irpa_hex(const uint8_t *bytes, uint64_t length, char *out);

/* A JSON string of the bytes when they are UTF-8, else of their escaped
 * form; NULL when out of memory. */
json_t *irpa_json_text(const uint8_t *bytes, uint64_t length);

/* The inspected archive as a new JSON object: path, file_size, read_with,
 * valid (no errors), header, entries, total_bytes, then the messages by
 * severity: errors (those in `errors`, may be NULL), warnings and notes.
 * NULL when out of memory. */
json_t *irpa_inspected_archive_to_json(const irpa_inspected_archive *inspected,
                                       const irpa_errors *errors);

/* Prints a JSON value indented by 2, keys in order, then a newline.
 * Returns 0, or -1 when writing failed. */
int irpa_print_json(const json_t *value, FILE *out);

#endif
