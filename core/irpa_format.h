/* irpa_format.h: the IRPA v0 parameter archive, byte by byte.
 *
 * The one description of the on-disk format in the code: the writer
 * (archive.c), the reader (inspect_*.c) and the tests take every size and
 * field offset from here. The prose, and what IREE checks, is in
 * ../shared/docs/irpa-format.md; IREE's own is runtime/src/iree/schemas/
 * parameter_archive.h.
 *
 * Everything is little-endian and packed: 8-byte fields sit at unaligned
 * offsets. The structs below describe the layout; they are never read or
 * written through (use le.h at IRPA_*_AT(field)), so the host's byte order
 * and alignment do not matter. The static assertions pin each struct to the
 * spec's sizes.
 *
 * A file, as IREE's builder lays it out (archive.h has the details):
 *
 *   [0, 88)              header (irpa_format_header); bytes 88..95 zero
 *   [96, ...)            entry segment: entries in order, each starting
 *                        16-aligned, the last not padded
 *   metadata_segment     names and metadata blobs, entry by entry, no gaps
 *   storage_segment      data entries' bytes, each aligned to its
 *                        minimum_alignment (64)
 *   ... 4096-aligned     the file is padded with zeros to a multiple of 4096
 *
 * Segment offsets are absolute file offsets (relative to the header, which
 * is at 0); an entry's name and metadata offsets are relative to the
 * metadata segment, a data entry's storage offset to the storage segment. */
#ifndef IRPA_FORMAT_H
#define IRPA_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* ---- constants ------------------------------------------------------------ */

#define IRPA_MAGIC 0x41505249u       /* the bytes "IRPA", read as a little-endian u32 */
#define IRPA_HEADER_SIZE 88          /* bytes of the header; header_size must say this */
#define IRPA_ENTRY_TABLE_OFFSET 96   /* where IREE's builder starts the entry segment */
#define IRPA_ENTRY_HEADER_SIZE 60    /* bytes every entry starts with (a skip entry's size) */
#define IRPA_DATA_ENTRY_SIZE 76      /* bytes of a data entry */
#define IRPA_SPLAT_ENTRY_SIZE 85     /* bytes of a splat entry */
#define IRPA_MAX_PATTERN 16          /* longest splat pattern, bytes */

/* ---- alignment rules ---------------------------------------------------- */

#define IRPA_ENTRY_ALIGNMENT 16      /* each entry starts at a multiple of this */
#define IRPA_DEFAULT_ALIGNMENT 64    /* storage segment and data entries (IREE's) */
#define IRPA_FILE_ALIGNMENT 4096     /* the file size is a multiple of this */

/* ---- entry types (the u32 `type` field) --------------------------------- */

typedef enum irpa_entry_type {
    IRPA_ENTRY_SKIP = 0,      /* ignored by readers; never written by us */
    IRPA_ENTRY_SPLAT = 1,     /* a pattern repeated over `length` bytes; no storage */
    IRPA_ENTRY_DATA = 2,      /* bytes in the storage segment */
    IRPA_ENTRY_EXTERNAL = 3,  /* bytes in another file; IREE's parser rejects it */
} irpa_entry_type;

/* ---- the header, at file offset 0 --------------------------------------- */

typedef struct __attribute__((packed)) irpa_format_segment {
    uint64_t offset;  /* file offset of the segment's first byte */
    uint64_t length;  /* bytes of the segment */
} irpa_format_segment;

typedef struct __attribute__((packed)) irpa_format_header {
    uint32_t magic;                        /* 0: IRPA_MAGIC */
    uint16_t version_major;                /* 4: 0 */
    uint16_t version_minor;                /* 6: 0 */
    uint64_t header_size;                  /* 8: IRPA_HEADER_SIZE */
    uint64_t next_header_offset;           /* 16: 0 (chained archives: IREE misreads them) */
    uint64_t flags;                        /* 24: 0 */
    uint64_t entry_count;                  /* 32: entries in the entry segment */
    irpa_format_segment entry_segment;     /* 40: the entries */
    irpa_format_segment metadata_segment;  /* 56: names and metadata blobs */
    irpa_format_segment storage_segment;   /* 72: data entries' bytes */
} irpa_format_header;

/* ---- entries, in the entry segment -------------------------------------- */

/* The 60 bytes every entry starts with (all of a skip entry). */
typedef struct __attribute__((packed)) irpa_format_entry_header {
    uint64_t entry_size;         /* 0: bytes of this entry, without trailing padding */
    uint32_t type;               /* 8: irpa_entry_type */
    uint64_t flags;              /* 12: 0 */
    irpa_format_segment name;    /* 20: within the metadata segment; no NUL */
    irpa_format_segment metadata;/* 36: within the metadata segment; length 0 = none (offset 0) */
    uint64_t minimum_alignment;  /* 52: data: IRPA_DEFAULT_ALIGNMENT; splat: 0 */
} irpa_format_entry_header;

typedef struct __attribute__((packed)) irpa_format_data_entry {
    irpa_format_entry_header header;  /* 0: type IRPA_ENTRY_DATA */
    irpa_format_segment storage;      /* 60: within the storage segment */
} irpa_format_data_entry;

typedef struct __attribute__((packed)) irpa_format_splat_entry {
    irpa_format_entry_header header;   /* 0: type IRPA_ENTRY_SPLAT */
    uint64_t length;                   /* 60: bytes the parameter occupies */
    uint8_t pattern[IRPA_MAX_PATTERN]; /* 68: the pattern, zero past pattern_length */
    uint8_t pattern_length;            /* 84: 1, 2, 4, 8 or 16 */
} irpa_format_splat_entry;

_Static_assert(sizeof(irpa_format_header) == IRPA_HEADER_SIZE, "IRPA header size");
_Static_assert(sizeof(irpa_format_entry_header) == IRPA_ENTRY_HEADER_SIZE, "IRPA entry header");
_Static_assert(sizeof(irpa_format_data_entry) == IRPA_DATA_ENTRY_SIZE, "IRPA data entry");
_Static_assert(sizeof(irpa_format_splat_entry) == IRPA_SPLAT_ENTRY_SIZE, "IRPA splat entry");

/* ---- verbs ------------------------------------------------------------------ */

/* Byte offset of a field: of the header from the file's start, of an entry
 * from the entry's start. IRPA_HEADER_AT(storage_segment.length) is 80,
 * IRPA_DATA_AT(storage.offset) is 60. */
#define IRPA_HEADER_AT(field) offsetof(irpa_format_header, field)
#define IRPA_ENTRY_AT(field) offsetof(irpa_format_entry_header, field)
#define IRPA_DATA_AT(field) offsetof(irpa_format_data_entry, field)
#define IRPA_SPLAT_AT(field) offsetof(irpa_format_splat_entry, field)

/* Bytes an entry of `type` needs, or 0 for a type without a known size
 * (external and unknown types). */
static inline uint64_t irpa_entry_type_size(uint32_t type) {
    switch (type) {
    case IRPA_ENTRY_SKIP: return IRPA_ENTRY_HEADER_SIZE;
    case IRPA_ENTRY_SPLAT: return IRPA_SPLAT_ENTRY_SIZE;
    case IRPA_ENTRY_DATA: return IRPA_DATA_ENTRY_SIZE;
    default: return 0;
    }
}

/* Bytes from an entry's start to the next entry's: entry_size rounded up
 * to IRPA_ENTRY_ALIGNMENT (entry_size must be at most 2^64 - 16). */
static inline uint64_t irpa_entry_stride(uint64_t entry_size) {
    return (entry_size + IRPA_ENTRY_ALIGNMENT - 1) & ~(uint64_t)(IRPA_ENTRY_ALIGNMENT - 1);
}

#endif
