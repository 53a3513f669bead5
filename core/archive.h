/* archive.h: the IRPA v0 layout, and the one function that says where any
 * byte of an archive comes from.
 *
 * An archive is built by adding sources and entries in archive order, then
 * calling irpa_archive_finish, which lays it out exactly as IREE's builder
 * (irpa_format.h has every field; ../shared/docs/irpa-format.md the prose):
 *
 *   [0, 88)                header
 *   [96, ...)              entry table: entries 16-aligned, last not padded
 *   metadata_offset        names and metadata blobs, entry by entry, no gaps
 *   storage_offset         metadata end rounded up to 64 (not rounded when
 *                          there is no data entry); data entries at running
 *                          storage size rounded up to their alignment
 *   file_size              storage end rounded up to 4096
 *
 * Everything before storage_offset is kept in memory (`head`); the storage
 * segment is source ranges and zero padding. irpa_archive_map turns any byte
 * range into segments; the FUSE server and `irpa build` both consume them, so
 * a mounted and a built archive cannot differ. All offsets are uint64_t and
 * every sum is checked for overflow. */
#ifndef IRPA_ARCHIVE_H
#define IRPA_ARCHIVE_H

#include <stdint.h>
#include <stddef.h>

#include "errors.h"
#include "hash.h"
#include "irpa_format.h"
#include "source.h"

typedef struct irpa_entry {
    char *name;                /* entry key, NUL-terminated, owned */
    uint64_t name_length;      /* bytes of name, without the NUL */
    uint8_t *metadata;         /* metadata blob, owned; NULL when none */
    uint64_t metadata_length;  /* bytes of metadata; 0 = none */
    irpa_entry_type type;      /* SPLAT or DATA */
    uint64_t length;           /* bytes the parameter occupies */
    uint32_t source;           /* DATA: index into the archive's sources */
    uint64_t source_offset;    /* DATA: byte offset of the data in that source */
    uint64_t storage_offset;   /* DATA: offset within the storage segment (set by finish) */
    uint8_t pattern[IRPA_MAX_PATTERN]; /* SPLAT: pattern bytes, zero past its length */
    uint8_t pattern_length;    /* SPLAT: 1, 2, 4, 8 or 16 */
} irpa_entry;

typedef struct irpa_archive {
    char *name;                   /* file name in a mount ("model.irpa"), owned; may be NULL */
    dev_t manifest_dev;           /* the manifest file's st_dev, when known (else 0) */
    ino_t manifest_ino;           /* the manifest file's st_ino, when known (else 0) */
    uint64_t alignment;           /* data alignment and minimum_alignment of data entries */
    irpa_source *sources;         /* opened source files, owned */
    size_t source_count;          /* sources held */
    irpa_entry *entries;          /* entries in archive order, owned */
    size_t entry_count;           /* entries held */
    size_t *data_entries;         /* indices of DATA entries, in storage order (set by finish) */
    size_t data_count;            /* DATA entries */
    uint8_t *head;                /* bytes [0, head_length) of the file (set by finish) */
    uint64_t head_length;         /* = storage_offset */
    uint64_t entry_table_length;  /* entry segment length, bytes */
    uint64_t metadata_offset;     /* metadata segment offset in the file */
    uint64_t metadata_length;     /* metadata segment length, bytes */
    uint64_t storage_offset;      /* storage segment offset in the file */
    uint64_t storage_length;      /* storage segment length, bytes */
    uint64_t file_size;           /* bytes of the whole archive */
    irpa_index_table names;       /* entries by name, for duplicates and irpa_archive_find */
} irpa_archive;

/* A new, empty archive; alignment must be a power of two (64 = IREE's). */
irpa_archive *irpa_archive_new(uint64_t alignment, irpa_errors *errors);

/* Frees the archive, closing its sources. NULL is fine. */
void irpa_archive_free(irpa_archive *archive);

/* Takes ownership of an opened source (the struct is moved: *source is
 * zeroed). Returns its index, or -1. */
long irpa_archive_add_source(irpa_archive *archive, irpa_source *source, irpa_errors *errors);

/* The index of the entry named `name`, or -1 when there is none. */
long irpa_archive_find(const irpa_archive *archive, const char *name);

/* Adds a data entry: `length` bytes at `source_offset` of source `source`.
 * Checks the range against the source's size and 64-bit overflow, and the
 * name against the names already added. `where` prefixes errors ("m.yaml:7:5");
 * metadata is copied. Returns 0 or -1. */
int irpa_archive_add_data(irpa_archive *archive, const char *name, uint32_t source,
                          uint64_t source_offset, uint64_t length,
                          const void *metadata, uint64_t metadata_length,
                          const char *where, irpa_errors *errors);

/* Adds a splat entry of `length` bytes filled with `pattern`
 * (`pattern_length` of 1, 2, 4, 8 or 16, dividing length). Returns 0 or -1. */
int irpa_archive_add_splat(irpa_archive *archive, const char *name,
                           const void *pattern, uint8_t pattern_length, uint64_t length,
                           const void *metadata, uint64_t metadata_length,
                           const char *where, irpa_errors *errors);

/* Lays the archive out: storage offsets, segment offsets, the in-memory head
 * bytes, the file size. O(entries). Returns 0, or -1 if anything would pass
 * 2^64 - 1. No entry may be added after. */
int irpa_archive_finish(irpa_archive *archive, irpa_errors *errors);

typedef enum irpa_segment_kind {
    IRPA_SEGMENT_MEMORY,  /* bytes at `memory` */
    IRPA_SEGMENT_ZERO,    /* `length` zero bytes */
    IRPA_SEGMENT_SOURCE,  /* `length` bytes of source `source` at `source_offset` */
} irpa_segment_kind;

typedef struct irpa_segment {
    irpa_segment_kind kind;  /* where the bytes come from */
    uint64_t length;         /* bytes in this segment, > 0 */
    const uint8_t *memory;   /* MEMORY: the bytes (inside the archive's head) */
    uint32_t source;         /* SOURCE: index into the archive's sources */
    uint64_t source_offset;  /* SOURCE: byte offset in that source */
} irpa_segment;

/* The one function that decides which byte comes from where.
 * Describes archive bytes [offset, offset + length), clipped at file_size,
 * as consecutive segments written to `segments` (at most `max_segments`).
 * Returns the number of segments; *covered receives the bytes they describe
 * (less than asked at end of file or when max_segments ran out: call again
 * from offset + *covered). O(log entries + segments). */
size_t irpa_archive_map(const irpa_archive *archive, uint64_t offset, uint64_t length,
                        irpa_segment *segments, size_t max_segments, uint64_t *covered);

/* Fills `buffer` with the bytes `count` segments (from irpa_archive_map)
 * describe, one after the other, reading sources with pread. Returns 0, or
 * -1 with errno set (EIO when a source is shorter than its snapshot). */
int irpa_archive_fill(const irpa_archive *archive, const irpa_segment *segments, size_t count,
                      void *buffer);

/* Fills `buffer` with archive bytes [offset, offset + length) clipped at
 * file_size, reading sources with pread. Returns the bytes filled (0 at or
 * past the end), or -1 with errno set (EIO when a source is shorter than
 * its snapshot). Does not check sources for change; callers that must
 * (the FUSE server) do so around it. */
int64_t irpa_archive_read(const irpa_archive *archive, uint64_t offset, uint64_t length,
                          void *buffer);

#endif
