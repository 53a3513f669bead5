/* inspect.h: reading and validating an IRPA v0 archive.
 *
 * The reader checks everything IREE's parser checks (runtime/src/iree/io/
 * formats/irpa/irpa_parser.c, see ../shared/docs/irpa-format.md) and more.
 * Each finding has a severity, kept apart by the list it goes to:
 *
 *   errors (IREE rejects the archive, or using it is unsafe or undefined):
 *     - file shorter than the 88-byte header, wrong magic, version other
 *       than 0.0, header_size other than 88 (IREE rejects)
 *     - next_header_offset != 0 (chained archives: IREE misreads them)
 *     - a segment past the end of the file (IREE rejects); one whose offset
 *       + length overflows 64 bits (IREE's check wraps: out-of-bounds reads)
 *     - the storage segment overlapping the header or another segment (a
 *       parameter's bytes would be the archive's structures; writing it,
 *       which IREE can do in place, corrupts them)
 *     - entry_count that the entry segment cannot hold; an entry header or
 *       entry_size past the entry segment; entry_size below the size its
 *       type needs (skip 60, data 76, splat 85); external (type 3) and
 *       unknown entry types (IREE rejects all of these)
 *     - name or metadata references outside the metadata segment, data
 *       ranges outside the storage segment (IREE rejects; 64-bit overflow
 *       of offset + length, which IREE's check misses, too)
 *     - names and metadata blobs that share bytes (IREE copies each entry's
 *       name and metadata: a small file could make it allocate gigabytes)
 *     - splat pattern_length 0 or above 16 (IREE rejects above 16), splat
 *       length not a multiple of pattern_length (the bytes are undefined)
 *   warnings (IREE accepts the archive; its builder never writes this):
 *     - non-zero padding: any byte not in the header, an entry, a name, a
 *       metadata blob or a data range (the pattern bytes past
 *       pattern_length too); checked only when no error was found, since
 *       until then the structures are not all known
 *     - the entry and metadata segments overlapping the header or each other
 *     - a data entry's storage.offset not a multiple of its
 *       minimum_alignment, data not aligned in the file, a minimum_alignment
 *       that is not a power of two; a splat's minimum_alignment other than
 *       0; a splat pattern_length of 3, 5, 6, 7 or 9 to 15
 *     - duplicate names (IREE uses the first), overlapping data ranges
 *     - entries not 16-aligned, non-zero flags, entry_size larger than the
 *       type needs, skip entries, empty names, a file size that is not a
 *       multiple of 4096
 *   notes (about how the file was read, not about the archive):
 *     - irpa_inspect_file: mmap failed and the file was read instead
 *
 * Every message is one line naming the file, the byte offset of the field
 * and the field: "x.irpa: offset 40: entry_segment.offset 4096 + length 76
 * is past the end of the file (4096 bytes)"; a warning says so after the
 * offset ("x.irpa: offset 90: warning: non-zero padding ..."). All errors are reported, not
 * only the first, as long as the structures after an error can still be
 * located safely.
 *
 * The reader never reads outside [bytes, bytes + size), never allocates more
 * than the input can justify, and runs in O(size log entries).
 *
 * What it returns is an irpa_inspected_archive: the header and entries as
 * stored, with the warnings and notes. It prints nothing; the listing and
 * the JSON of `irpa inspect` are core/cli/inspect_print.h. The reader's
 * stages are core/inspect_*.c (inspect_reader.h). */
#ifndef IRPA_INSPECT_H
#define IRPA_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"
#include "irpa_format.h"

/* Return values of irpa_inspect_memory and irpa_inspect_file. */
#define IRPA_INSPECT_OK 0          /* no errors (warnings and notes are allowed) */
#define IRPA_INSPECT_MALFORMED -1  /* errors were reported; *out holds what was read */
#define IRPA_INSPECT_IO_ERROR -2   /* the file could not be opened, mapped or read */

typedef struct irpa_inspected_range {
    uint64_t offset;  /* segment offset in the file (as stored) */
    uint64_t length;  /* segment length in bytes (as stored) */
} irpa_inspected_range;

typedef struct irpa_inspected_header {
    uint32_t magic;                       /* 0x41505249, the bytes "IRPA" */
    uint16_t version_major;               /* 0 */
    uint16_t version_minor;               /* 0 */
    uint64_t header_size;                 /* 88 */
    uint64_t next_header_offset;          /* 0; anything else is a chained archive */
    uint64_t flags;                       /* 0 */
    uint64_t entry_count;                 /* entries the table declares */
    irpa_inspected_range entry_segment;   /* the entry table */
    irpa_inspected_range metadata_segment; /* names and metadata blobs */
    irpa_inspected_range storage_segment; /* data entries' bytes */
} irpa_inspected_header;

typedef struct irpa_inspected_entry {
    uint64_t entry_offset;       /* file offset of the entry record */
    uint64_t entry_size;         /* entry_size field: bytes of the record */
    uint32_t type;               /* type field: an irpa_entry_type, or unknown */
    uint64_t flags;              /* flags field */
    const uint8_t *name;         /* name bytes inside the bytes read; NULL when none */
    uint64_t name_length;        /* bytes of name, no NUL (0 when unresolvable) */
    uint64_t name_offset;        /* name.offset within the metadata segment */
    const uint8_t *metadata;     /* metadata inside the bytes read; NULL when none */
    uint64_t metadata_length;    /* bytes of metadata held (0 when NULL) */
    uint64_t metadata_offset;    /* metadata.offset within the metadata segment */
    uint64_t minimum_alignment;  /* minimum_alignment field */
    uint64_t length;             /* DATA: storage.length; SPLAT: length; else 0 */
    uint64_t storage_offset;     /* DATA: storage.offset within the storage segment */
    uint64_t start;              /* DATA: absolute offset of the first byte; 0 when empty (IREE) */
    uint64_t end;                /* DATA: absolute file offset past the last byte */
    uint8_t pattern[IRPA_MAX_PATTERN]; /* SPLAT: the 16 pattern bytes as stored */
    uint8_t pattern_length;      /* SPLAT: pattern_length field */
    bool valid;                  /* no error was reported for this entry */
} irpa_inspected_entry;

typedef struct irpa_inspected_archive {
    char *path;                   /* file name used in messages, owned */
    uint64_t file_size;           /* bytes of the file */
    bool mapped;                  /* irpa_inspect_file: read through mmap (else read()) */
    bool header_read;             /* the header fields below were read */
    irpa_inspected_header header; /* header fields as stored */
    irpa_inspected_entry *entries; /* entries read, in table order, owned */
    uint64_t entry_count;         /* entries held (less than declared if the walk stopped) */
    uint64_t total_bytes;         /* sum of the lengths of splat and data entries */
    irpa_errors warnings;         /* one-line warnings, "PATH: offset N: warning: ..." */
    irpa_errors notes;            /* one-line notes, prefixed like errors */
    void *mapping;                /* irpa_inspect_file: the mmap'd file, owned; else NULL */
    uint8_t *buffer;              /* irpa_inspect_file: the file read into memory, owned */
} irpa_inspected_archive;

/* Reads and checks the archive held in bytes [0, size). `path` names it in
 * messages. Fills *out (which must be freed with irpa_inspected_archive_free,
 * whatever the result), appends every error to `errors`, every warning to
 * out->warnings and every note to out->notes.
 * Names and metadata point into `bytes`, which must outlive *out.
 * Returns IRPA_INSPECT_OK or IRPA_INSPECT_MALFORMED. */
int irpa_inspect_memory(const char *path, const uint8_t *bytes, uint64_t size,
                        irpa_inspected_archive *out, irpa_errors *errors);

/* Opens `path`, maps the whole file read-only and shared (as IREE does;
 * falls back to reading it when mmap fails and the file is at most 1 GiB)
 * and inspects it; *out keeps the mapping until freed. Returns
 * IRPA_INSPECT_OK, IRPA_INSPECT_MALFORMED, or IRPA_INSPECT_IO_ERROR with one
 * error naming the path and the errno text. */
int irpa_inspect_file(const char *path, irpa_inspected_archive *out, irpa_errors *errors);

/* "skip", "splat", "data", "external" or "unknown" for an entry type code. */
const char *irpa_inspect_type_name(uint32_t type);

/* Frees what the inspected archive owns and zeroes it. NULL is fine. */
void irpa_inspected_archive_free(irpa_inspected_archive *inspected);

/* Whether an entry is listed as a parameter (splat or data), as IREE's
 * index and iree-dump-parameters do; skip entries are not. */
bool irpa_inspected_entry_is_parameter(const irpa_inspected_entry *entry);

#endif
