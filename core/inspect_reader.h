/* inspect_reader.h: what the parts of the archive reader share (private to
 * core/inspect*.c; the interface is inspect.h).
 *
 * One inspection is a `reader` passed through four stages, in this order:
 *   inspect_header.c   magic, version, header fields and the three segments
 *   inspect_entries.c  the entry table walk: each entry's fields, its name,
 *                      metadata, data range or splat pattern
 *   inspect_checks.c   whole-archive checks once the entries are known:
 *                      shared names, duplicates, overlapping data, padding
 *   inspect.c          the entry points: memory or file, and freeing
 * Every finding goes through inspect_report (fail, warn), which locates it
 * in the file. */
#ifndef IRPA_INSPECT_READER_H
#define IRPA_INSPECT_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "inspect.h"

#define MESSAGE_NAME_LIMIT 120  /* name bytes quoted in a message */

/* A byte range of the file that holds a structure (not padding). */
typedef struct used_range {
    uint64_t start;  /* first byte */
    uint64_t end;    /* past the last byte */
} used_range;

/* What one inspection works on. */
typedef struct reader {
    const char *path;          /* file name for messages */
    const uint8_t *bytes;      /* the whole file */
    uint64_t size;             /* bytes of the file */
    irpa_inspected_archive *inspected; /* filled as we go */
    irpa_errors *errors;       /* where errors go (may be NULL) */
    size_t error_count;        /* errors this inspection reported */
    bool segments_valid;       /* every segment lies inside the file */
    bool walk_complete;        /* every declared entry was located */
    used_range *used;          /* structures found, for the padding check */
    size_t used_count;         /* ranges held in used */
    size_t used_capacity;      /* slots allocated in used */
    bool out_of_memory;        /* an allocation failed: checks were skipped */
} reader;

/* How bad a finding is (inspect.h): an error (IREE rejects the archive, or
 * using it would be unsafe) or a warning (IREE accepts it, its builder never
 * writes it). */
typedef enum severity {
    SEVERITY_ERROR,
    SEVERITY_WARNING,
} severity;

/* Appends "PATH: offset N: [warning: ]MESSAGE" to the list of its severity
 * (errors: r->errors, counted; warnings: the inspected archive's). */
__attribute__((format(printf, 4, 5)))
void inspect_report(reader *r, severity level, uint64_t offset, const char *fmt, ...);

/* An error, or a warning, about the field at file offset `offset`. */
#define fail(r, offset, ...) inspect_report(r, SEVERITY_ERROR, offset, __VA_ARGS__)
#define warn(r, offset, ...) inspect_report(r, SEVERITY_WARNING, offset, __VA_ARGS__)

/* Records [start, start + length) as holding a structure, for the padding
 * check; nothing for length 0. */
void inspect_remember_used(reader *r, uint64_t start, uint64_t length);

/* inspect_header.c: checks magic, size, version and header_size, the fields
 * that decide whether the rest can be read at all, and reads the header.
 * Returns false to stop. */
bool inspect_header_prefix(reader *r);

/* inspect_header.c: checks the header's other fields and its segments;
 * sets r->segments_valid. */
void inspect_header(reader *r);

/* inspect_entries.c: reads and checks every entry the header declares;
 * sets r->walk_complete when each was located. */
void inspect_entries(reader *r);

/* inspect_checks.c: names and metadata blobs that share bytes (an error:
 * the later ones are dropped). */
void inspect_text_overlaps(reader *r);

/* inspect_checks.c: duplicate names and overlapping data (warnings). */
void inspect_duplicate_names(reader *r);
void inspect_data_overlaps(reader *r);

/* inspect_checks.c: every byte outside the structures found must be zero. */
void inspect_padding(reader *r);

/* inspect_checks.c: inspected->total_bytes, the sum of parameter lengths. */
void inspect_sum_lengths(irpa_inspected_archive *inspected);

/* An escaped copy of a name for a message (text.h), cut at
 * MESSAGE_NAME_LIMIT bytes; NULL when out of memory. */
char *inspect_message_name(const uint8_t *name, uint64_t length);

#endif
