/* inspect.c: the IRPA v0 reader and validator (inspect.h). */
#include "inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checked.h"
#include "le.h"

#define READ_FALLBACK_LIMIT (1ull << 30) /* largest file read when mmap fails */
#define MESSAGE_NAME_LIMIT 120          /* name bytes quoted in a message */

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
    irpa_listing *listing;     /* filled as we go */
    irpa_errors *errors;       /* where errors go (may be NULL) */
    size_t error_count;        /* errors this inspection reported */
    bool segments_valid;       /* every segment lies inside the file */
    bool walk_complete;        /* every declared entry was located */
    used_range *used;          /* structures found, for the padding check */
    size_t used_count;         /* ranges held in used */
    size_t used_capacity;      /* slots allocated in used */
    bool out_of_memory;        /* an allocation failed: checks were skipped */
} reader;

/* ---- little helpers ---------------------------------------------------- */

/* How bad a finding is (inspect.h): an error (IREE rejects the archive, or
 * using it would be unsafe) or a warning (IREE accepts it, its builder never
 * writes it). */
typedef enum severity {
    SEVERITY_ERROR,
    SEVERITY_WARNING,
} severity;

/* Appends "PATH: offset N: [warning: ]MESSAGE" to the list of its severity. */
static void vreport(reader *r, severity level, uint64_t offset, const char *fmt,
                    va_list args) {
    char *message = NULL;
    if (vasprintf(&message, fmt, args) < 0) message = NULL;
    irpa_errors *list = level == SEVERITY_ERROR ? r->errors : &r->listing->warnings;
    irpa_error(list, "%s: offset %" PRIu64 ": %s%s", r->path, offset,
               level == SEVERITY_WARNING ? "warning: " : "",
               message ? message : "out of memory");
    free(message);
    if (level == SEVERITY_ERROR) r->error_count++;
}

__attribute__((format(printf, 4, 5)))
static void report(reader *r, severity level, uint64_t offset, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vreport(r, level, offset, fmt, args);
    va_end(args);
}

__attribute__((format(printf, 3, 4)))
static void fail(reader *r, uint64_t offset, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vreport(r, SEVERITY_ERROR, offset, fmt, args);
    va_end(args);
}

__attribute__((format(printf, 3, 4)))
static void warn(reader *r, uint64_t offset, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vreport(r, SEVERITY_WARNING, offset, fmt, args);
    va_end(args);
}

/* Length of the valid UTF-8 sequence at bytes[0], or 0 if there is none. */
static size_t utf8_sequence_length(const uint8_t *bytes, uint64_t available) {
    uint8_t lead = bytes[0];
    size_t length;
    uint32_t minimum;
    if (lead < 0x80) return 1;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2, minimum = 0x80;
    else if (lead >= 0xe0 && lead <= 0xef) length = 3, minimum = 0x800;
    else if (lead >= 0xf0 && lead <= 0xf4) length = 4, minimum = 0x10000;
    else return 0;
    if (available < length) return 0;
    uint32_t code = lead & (0x7f >> length);
    for (size_t i = 1; i < length; i++) {
        if ((bytes[i] & 0xc0) != 0x80) return 0;
        code = code << 6 | (bytes[i] & 0x3f);
    }
    if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
    return length;
}

/* Writes the escaped form of bytes (see irpa_print_escaped) to `out`. */
static void write_escaped(FILE *out, const uint8_t *bytes, uint64_t length) {
    uint64_t i = 0;
    while (i < length) {
        uint8_t byte = bytes[i];
        size_t sequence = utf8_sequence_length(bytes + i, length - i);
        if (byte == '\n') fputs("\\n", out), sequence = 1;
        else if (byte == '\r') fputs("\\r", out), sequence = 1;
        else if (byte == '\t') fputs("\\t", out), sequence = 1;
        else if (sequence == 0 || byte < 0x20 || byte == 0x7f)
            fprintf(out, "\\x%02x", byte), sequence = 1;
        else fwrite(bytes + i, 1, sequence, out);
        i += sequence;
    }
}

bool irpa_is_text(const uint8_t *bytes, uint64_t length) {
    uint64_t i = 0;
    while (i < length) {
        uint8_t byte = bytes[i];
        if ((byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7f)
            return false;
        size_t sequence = utf8_sequence_length(bytes + i, length - i);
        if (sequence == 0) return false;
        i += sequence;
    }
    return true;
}

void irpa_print_escaped(FILE *out, const uint8_t *bytes, uint64_t length) {
    write_escaped(out, bytes, length);
}

/* A NUL-terminated escaped copy of at most `limit` bytes of a name, with
 * "..." when cut; NULL when out of memory. */
static char *escaped_name(const uint8_t *bytes, uint64_t length, uint64_t limit) {
    char *text = NULL;
    size_t text_size = 0;
    FILE *out = open_memstream(&text, &text_size);
    if (!out) return NULL;
    write_escaped(out, bytes, length < limit ? length : limit);
    if (length > limit) fputs("...", out);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

void irpa_hex(const uint8_t *bytes, uint64_t length, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (uint64_t i = 0; i < length; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * length] = '\0';
}

bool irpa_listing_entry_is_parameter(const irpa_listing_entry *entry) {
    return entry->type == IRPA_ENTRY_SPLAT || entry->type == IRPA_ENTRY_DATA;
}

static void remember_used(reader *r, uint64_t start, uint64_t length) {
    if (length == 0) return;
    if (r->used_count == r->used_capacity) {
        size_t capacity = r->used_capacity ? r->used_capacity * 2 : 64;
        used_range *grown = realloc(r->used, capacity * sizeof *grown);
        if (!grown) {
            r->out_of_memory = true;
            return;
        }
        r->used = grown;
        r->used_capacity = capacity;
    }
    r->used[r->used_count++] = (used_range){start, start + length};
}

/* ---- header and segments ----------------------------------------------- */

static void read_header_fields(reader *r) {
    const uint8_t *b = r->bytes;
    irpa_listing_header *h = &r->listing->header;
    h->magic = irpa_le32(b + IRPA_HEADER_AT(magic));
    h->version_major = irpa_le16(b + IRPA_HEADER_AT(version_major));
    h->version_minor = irpa_le16(b + IRPA_HEADER_AT(version_minor));
    h->header_size = irpa_le64(b + IRPA_HEADER_AT(header_size));
    h->next_header_offset = irpa_le64(b + IRPA_HEADER_AT(next_header_offset));
    h->flags = irpa_le64(b + IRPA_HEADER_AT(flags));
    h->entry_count = irpa_le64(b + IRPA_HEADER_AT(entry_count));
    h->entry_segment = (irpa_listing_range){irpa_le64(b + IRPA_HEADER_AT(entry_segment)),
                                            irpa_le64(b + IRPA_HEADER_AT(entry_segment.length))};
    h->metadata_segment = (irpa_listing_range){irpa_le64(b + IRPA_HEADER_AT(metadata_segment)),
                                               irpa_le64(b + IRPA_HEADER_AT(metadata_segment.length))};
    h->storage_segment = (irpa_listing_range){irpa_le64(b + IRPA_HEADER_AT(storage_segment)),
                                              irpa_le64(b + IRPA_HEADER_AT(storage_segment.length))};
    r->listing->header_read = true;
}

/* Checks magic, size, version and header_size: the fields that decide
 * whether the rest can be read at all. Returns false to stop. */
static bool check_header_prefix(reader *r) {
    if (r->size < 4) {
        fail(r, 0, "file is %" PRIu64 " bytes, too short to be an IRPA archive "
                   "(an 88-byte header is needed)", r->size);
        return false;
    }
    uint32_t magic = irpa_le32(r->bytes);
    if (magic != IRPA_MAGIC) {
        fail(r, IRPA_HEADER_AT(magic), "magic 0x%08" PRIx32 " is not 0x%08x (\"IRPA\"): not an IRPA archive",
             magic, IRPA_MAGIC);
        return false;
    }
    if (r->size < IRPA_HEADER_SIZE) {
        fail(r, 0, "file is %" PRIu64 " bytes, shorter than the %d-byte header (truncated)",
             r->size, IRPA_HEADER_SIZE);
        return false;
    }
    read_header_fields(r);
    const irpa_listing_header *h = &r->listing->header;
    bool readable = true;
    if (h->version_major != 0) {
        fail(r, IRPA_HEADER_AT(version_major), "version_major %u is not 0 (only IRPA 0.0 is supported)",
             (unsigned)h->version_major);
        readable = false;
    }
    if (h->version_minor != 0) {
        fail(r, IRPA_HEADER_AT(version_minor), "version_minor %u is not 0 (only IRPA 0.0 is supported)",
             (unsigned)h->version_minor);
        readable = false;
    }
    if (h->header_size != IRPA_HEADER_SIZE) {
        fail(r, IRPA_HEADER_AT(header_size), "header_size %" PRIu64 " is not %d", h->header_size,
             IRPA_HEADER_SIZE);
        readable = false;
    }
    return readable;
}

/* Storage overlapping a structure is an error: a parameter's bytes would be
 * the archive's own header, entries or names, and writing the parameter
 * (IREE can write parameters in place) would corrupt them. The entry and
 * metadata segments overlapping the header or each other is only strange. */
static severity overlap_severity(uint64_t segment_field, uint64_t other_field) {
    bool storage = segment_field == IRPA_HEADER_AT(storage_segment) || other_field == IRPA_HEADER_AT(storage_segment);
    return storage ? SEVERITY_ERROR : SEVERITY_WARNING;
}

/* Checks one segment against overflow, the file and the header; false when
 * it does not lie inside the file. */
static bool check_segment(reader *r, const char *name, uint64_t field_offset,
                          irpa_listing_range segment) {
    uint64_t end;
    if (irpa_add_overflows(segment.offset, segment.length, &end)) {
        fail(r, field_offset, "%s.offset %" PRIu64 " + length %" PRIu64 " overflows 64 bits",
             name, segment.offset, segment.length);
        return false;
    }
    if (segment.length == 0) return true;
    if (end > r->size) {
        fail(r, field_offset, "%s.offset %" PRIu64 " + length %" PRIu64
             " is past the end of the file (%" PRIu64 " bytes)",
             name, segment.offset, segment.length, r->size);
        return false;
    }
    if (segment.offset < IRPA_HEADER_SIZE)
        report(r, overlap_severity(field_offset, IRPA_HEADER_AT(magic) /* the header */), field_offset,
               "%s [%" PRIu64 ", %" PRIu64 ") overlaps the header [0, %d)", name,
               segment.offset, end, IRPA_HEADER_SIZE);
    return true;
}

static bool ranges_overlap(irpa_listing_range a, irpa_listing_range b) {
    if (a.length == 0 || b.length == 0) return false;
    return a.offset < b.offset + b.length && b.offset < a.offset + a.length;
}

static void check_segments_disjoint(reader *r) {
    const irpa_listing_header *h = &r->listing->header;
    struct { const char *name; uint64_t at; irpa_listing_range range; } segments[3] = {
        {"entry_segment", IRPA_HEADER_AT(entry_segment), h->entry_segment},
        {"metadata_segment", IRPA_HEADER_AT(metadata_segment), h->metadata_segment},
        {"storage_segment", IRPA_HEADER_AT(storage_segment), h->storage_segment},
    };
    for (int later = 1; later < 3; later++)
        for (int earlier = 0; earlier < later; earlier++) {
            irpa_listing_range a = segments[later].range, b = segments[earlier].range;
            if (!ranges_overlap(a, b)) continue;
            report(r, overlap_severity(segments[later].at, segments[earlier].at),
                   segments[later].at, "%s [%" PRIu64 ", %" PRIu64 ") overlaps %s [%" PRIu64
                   ", %" PRIu64 ")", segments[later].name, a.offset, a.offset + a.length,
                   segments[earlier].name, b.offset, b.offset + b.length);
        }
}

static void check_header(reader *r) {
    const irpa_listing_header *h = &r->listing->header;
    if (h->next_header_offset != 0)
        fail(r, IRPA_HEADER_AT(next_header_offset), "next_header_offset %" PRIu64
             " is not 0: chained archives are not supported", h->next_header_offset);
    if (h->flags != 0)
        warn(r, IRPA_HEADER_AT(flags), "header flags 0x%" PRIx64 " are not 0 (IREE ignores them)", h->flags);
    bool entry_ok = check_segment(r, "entry_segment", IRPA_HEADER_AT(entry_segment), h->entry_segment);
    bool metadata_ok =
        check_segment(r, "metadata_segment", IRPA_HEADER_AT(metadata_segment), h->metadata_segment);
    bool storage_ok =
        check_segment(r, "storage_segment", IRPA_HEADER_AT(storage_segment), h->storage_segment);
    r->segments_valid = entry_ok && metadata_ok && storage_ok;
    if (r->segments_valid) check_segments_disjoint(r);
    if (r->size % IRPA_FILE_ALIGNMENT != 0)
        warn(r, 0, "file size %" PRIu64 " is not a multiple of %d (IREE's builder pads to it)",
             r->size, IRPA_FILE_ALIGNMENT);
}

/* ---- entries ------------------------------------------------------------ */

/* Checks a reference into a segment; stores the absolute file offset of its
 * first byte in *absolute. References of length 0 are always fine (IREE). */
static bool check_reference(reader *r, uint64_t field_offset, uint64_t index, const char *field,
                            uint64_t offset, uint64_t length, irpa_listing_range segment,
                            const char *segment_name, uint64_t *absolute) {
    uint64_t end;
    *absolute = 0;
    if (length == 0) return true;
    if (irpa_add_overflows(offset, length, &end)) {
        fail(r, field_offset, "entry %" PRIu64 ": %s.offset %" PRIu64 " + length %" PRIu64
             " overflows 64 bits", index, field, offset, length);
        return false;
    }
    if (end > segment.length) {
        fail(r, field_offset, "entry %" PRIu64 ": %s.offset %" PRIu64 " + length %" PRIu64
             " is past the end of the %s segment (%" PRIu64 " bytes)",
             index, field, offset, length, segment_name, segment.length);
        return false;
    }
    *absolute = segment.offset + offset;
    return true;
}

/* Resolves the entry's name and metadata in the metadata segment. */
static bool read_entry_strings(reader *r, irpa_listing_entry *entry, uint64_t index) {
    const uint8_t *at = r->bytes + entry->entry_offset;
    irpa_listing_range segment = r->listing->header.metadata_segment;
    uint64_t name_at, metadata_at;
    entry->name_offset = irpa_le64(at + IRPA_ENTRY_AT(name));
    uint64_t name_length = irpa_le64(at + IRPA_ENTRY_AT(name.length));
    entry->metadata_offset = irpa_le64(at + IRPA_ENTRY_AT(metadata));
    uint64_t metadata_length = irpa_le64(at + IRPA_ENTRY_AT(metadata.length));
    bool ok = true;
    if (check_reference(r, entry->entry_offset + IRPA_ENTRY_AT(name), index, "name", entry->name_offset,
                        name_length, segment, "metadata", &name_at)) {
        entry->name = r->bytes + name_at;
        entry->name_length = name_length;
        remember_used(r, name_at, name_length);
    } else {
        ok = false;
    }
    if (check_reference(r, entry->entry_offset + IRPA_ENTRY_AT(metadata), index, "metadata",
                        entry->metadata_offset, metadata_length, segment, "metadata",
                        &metadata_at)) {
        if (metadata_length > 0) {
            entry->metadata = r->bytes + metadata_at;
            entry->metadata_length = metadata_length;
            remember_used(r, metadata_at, metadata_length);
        }
    } else {
        ok = false;
    }
    if (ok && name_length == 0 && irpa_listing_entry_is_parameter(entry))
        warn(r, entry->entry_offset + IRPA_ENTRY_AT(name), "entry %" PRIu64 " has an empty name", index);
    return ok;
}

static bool read_data_entry(reader *r, irpa_listing_entry *entry, uint64_t index) {
    const uint8_t *at = r->bytes + entry->entry_offset;
    irpa_listing_range storage = r->listing->header.storage_segment;
    uint64_t field = entry->entry_offset + IRPA_DATA_AT(storage);
    entry->storage_offset = irpa_le64(at + IRPA_DATA_AT(storage));
    entry->length = irpa_le64(at + IRPA_DATA_AT(storage.length));
    uint64_t start;
    if (!check_reference(r, field, index, "storage", entry->storage_offset, entry->length,
                         storage, "storage", &start))
        return false;
    /* IREE resolves empty data to file offset 0 and lists it as [0, 0). */
    entry->start = entry->length ? start : 0;
    entry->end = entry->start + entry->length;
    uint64_t alignment = entry->minimum_alignment;
    if (alignment == 0) return true;
    if (!irpa_is_power_of_two(alignment))
        warn(r, entry->entry_offset + IRPA_ENTRY_AT(minimum_alignment),
             "entry %" PRIu64 ": minimum_alignment %" PRIu64 " is not a power of two", index,
             alignment);
    if (entry->storage_offset % alignment != 0)
        warn(r, field, "entry %" PRIu64 ": storage.offset %" PRIu64
             " is not a multiple of minimum_alignment %" PRIu64, index,
             entry->storage_offset, alignment);
    else if (entry->length > 0 && entry->start % alignment != 0)
        warn(r, field, "entry %" PRIu64 ": data at file offset %" PRIu64
             " is not aligned to minimum_alignment %" PRIu64
             " (storage_segment.offset %" PRIu64 " is not)", index, entry->start, alignment,
             storage.offset);
    return true;
}

/* A splat repeats pattern_length bytes over length bytes. Errors: a
 * pattern_length above 16 (IREE rejects it), 0, or one that does not divide
 * length (the parameter's bytes are then undefined). Warnings (IREE accepts
 * them, its builder never writes them): a pattern_length that is not a power
 * of two, pattern bytes past pattern_length, a minimum_alignment (ignored). */
static bool read_splat_entry(reader *r, irpa_listing_entry *entry, uint64_t index) {
    const uint8_t *at = r->bytes + entry->entry_offset;
    entry->length = irpa_le64(at + IRPA_SPLAT_AT(length));
    memcpy(entry->pattern, at + IRPA_SPLAT_AT(pattern), sizeof entry->pattern);
    entry->pattern_length = at[IRPA_SPLAT_AT(pattern_length)];
    uint8_t pattern_length = entry->pattern_length;
    uint64_t field = entry->entry_offset + IRPA_SPLAT_AT(pattern_length);
    if (pattern_length == 0 || pattern_length > sizeof entry->pattern) {
        fail(r, field, "entry %" PRIu64 ": splat pattern_length %u is not 1, 2, 4, 8 or 16 (%s)",
             index, (unsigned)pattern_length,
             pattern_length ? "IREE rejects more than 16" : "nothing to repeat");
        return false;
    }
    if (!irpa_is_power_of_two(pattern_length))
        warn(r, field, "entry %" PRIu64 ": splat pattern_length %u is not 1, 2, 4, 8 or 16",
             index, (unsigned)pattern_length);
    bool ok = true;
    if (entry->length % pattern_length != 0) {
        fail(r, entry->entry_offset + IRPA_SPLAT_AT(length), "entry %" PRIu64 ": splat length %" PRIu64
             " is not a multiple of pattern_length %u", index,
             entry->length, (unsigned)pattern_length);
        ok = false;
    }
    for (size_t i = pattern_length; i < sizeof entry->pattern; i++)
        if (entry->pattern[i] != 0) {
            warn(r, entry->entry_offset + IRPA_SPLAT_AT(pattern) + i,
                 "non-zero padding at offset %" PRIu64 " (entry %" PRIu64
                 ": pattern byte %zu is past pattern_length %u)",
                 entry->entry_offset + IRPA_SPLAT_AT(pattern) + i, index, i, (unsigned)pattern_length);
            break;
        }
    if (entry->minimum_alignment != 0)
        warn(r, entry->entry_offset + IRPA_ENTRY_AT(minimum_alignment), "entry %" PRIu64
             ": splat minimum_alignment %" PRIu64 " is not 0 (IREE ignores it)", index,
             entry->minimum_alignment);
    return ok;
}

const char *irpa_inspect_type_name(uint32_t type) {
    switch (type) {
    case IRPA_ENTRY_SKIP: return "skip";
    case IRPA_ENTRY_SPLAT: return "splat";
    case IRPA_ENTRY_DATA: return "data";
    case IRPA_ENTRY_EXTERNAL: return "external";
    default: return "unknown";
    }
}

/* Checks the entry's type and size, then reads the fields its type has. */
static bool read_entry_body(reader *r, irpa_listing_entry *entry, uint64_t index) {
    uint64_t at_type = entry->entry_offset + IRPA_ENTRY_AT(type);
    if (entry->type == IRPA_ENTRY_EXTERNAL) {
        fail(r, at_type, "entry %" PRIu64 ": type 3 (external) is not supported "
             "(IREE's parser rejects external entries)", index);
        return false;
    }
    uint64_t needed = irpa_entry_type_size(entry->type);
    if (needed == 0) {
        fail(r, at_type, "entry %" PRIu64 ": unknown type %" PRIu32, index, entry->type);
        return false;
    }
    if (entry->entry_size < needed) {
        fail(r, entry->entry_offset + IRPA_ENTRY_AT(entry_size), "entry %" PRIu64 ": entry_size %" PRIu64
             " is smaller than a %s entry (%" PRIu64 " bytes)", index, entry->entry_size,
             irpa_inspect_type_name(entry->type), needed);
        return false;
    }
    if (entry->entry_size > needed)
        warn(r, entry->entry_offset + IRPA_ENTRY_AT(entry_size), "entry %" PRIu64 ": entry_size %" PRIu64
             " is larger than a %s entry (%" PRIu64 " bytes)", index, entry->entry_size,
             irpa_inspect_type_name(entry->type), needed);
    if (entry->type == IRPA_ENTRY_SKIP) {
        warn(r, entry->entry_offset, "entry %" PRIu64 " is a skip entry (ignored by readers)",
             index);
        return true;
    }
    if (entry->type == IRPA_ENTRY_DATA) return read_data_entry(r, entry, index);
    return read_splat_entry(r, entry, index);
}

/* Most entries an entry segment of `length` bytes can hold. */
static uint64_t entries_that_fit(uint64_t length) {
    if (length < IRPA_ENTRY_HEADER_SIZE) return 0;
    return (length - IRPA_ENTRY_HEADER_SIZE) / 64 + 1;
}

static void walk_entries(reader *r) {
    const irpa_listing_header *h = &r->listing->header;
    irpa_listing *listing = r->listing;
    uint64_t capacity = entries_that_fit(h->entry_segment.length);
    if (capacity > h->entry_count) capacity = h->entry_count;
    if (capacity > 0) {
        listing->entries = calloc(capacity, sizeof *listing->entries);
        if (!listing->entries) {
            r->out_of_memory = true;
            irpa_error(r->errors, "%s: out of memory for %" PRIu64 " entries", r->path, capacity);
            r->error_count++;
            return;
        }
    }
    if (h->entry_segment.offset % IRPA_ENTRY_ALIGNMENT != 0 && h->entry_count > 0)
        warn(r, IRPA_HEADER_AT(entry_segment), "entry_segment.offset %" PRIu64
             " is not a multiple of 16: entries are not 16-aligned", h->entry_segment.offset);
    uint64_t position = h->entry_segment.offset;
    uint64_t remaining = h->entry_segment.length;
    for (uint64_t index = 0; index < h->entry_count; index++) {
        if (remaining < IRPA_ENTRY_HEADER_SIZE || index >= capacity) {
            fail(r, position, "entry %" PRIu64 ": the entry segment has %" PRIu64
                 " bytes left, fewer than the %d of an entry header (entry_count %" PRIu64
                 " at offset %zu is too large for entry_segment.length %" PRIu64 ")",
                 index, remaining, IRPA_ENTRY_HEADER_SIZE, h->entry_count, IRPA_HEADER_AT(entry_count),
                 h->entry_segment.length);
            return;
        }
        irpa_listing_entry *entry = &listing->entries[listing->entry_count++];
        const uint8_t *at = r->bytes + position;
        entry->entry_offset = position;
        entry->entry_size = irpa_le64(at + IRPA_ENTRY_AT(entry_size));
        entry->type = irpa_le32(at + IRPA_ENTRY_AT(type));
        entry->flags = irpa_le64(at + IRPA_ENTRY_AT(flags));
        entry->minimum_alignment = irpa_le64(at + IRPA_ENTRY_AT(minimum_alignment));
        if (entry->entry_size < IRPA_ENTRY_HEADER_SIZE || entry->entry_size > remaining) {
            fail(r, position + IRPA_ENTRY_AT(entry_size), "entry %" PRIu64 ": entry_size %" PRIu64
                 " is %s", index, entry->entry_size,
                 entry->entry_size < IRPA_ENTRY_HEADER_SIZE
                     ? "smaller than an entry header (60 bytes)"
                     : "past the end of the entry segment");
            return;
        }
        remember_used(r, position, entry->entry_size);
        if (entry->flags != 0)
            warn(r, position + IRPA_ENTRY_AT(flags), "entry %" PRIu64 ": flags 0x%" PRIx64
                 " are not 0", index, entry->flags);
        bool strings_ok = read_entry_strings(r, entry, index);
        bool body_ok = read_entry_body(r, entry, index);
        entry->valid = strings_ok && body_ok;
        if (entry->valid && entry->type == IRPA_ENTRY_DATA)
            remember_used(r, entry->start, entry->length);
        uint64_t step = irpa_entry_stride(entry->entry_size);
        if (step > remaining) step = remaining;
        position += step;
        remaining -= step;
    }
    r->walk_complete = true;
}

/* ---- whole-archive checks ----------------------------------------------- */

static int compare_names(const void *a, const void *b, void *context) {
    const irpa_listing *listing = context;
    const irpa_listing_entry *x = &listing->entries[*(const uint64_t *)a];
    const irpa_listing_entry *y = &listing->entries[*(const uint64_t *)b];
    uint64_t common = x->name_length < y->name_length ? x->name_length : y->name_length;
    int order = common ? memcmp(x->name, y->name, common) : 0;
    if (order) return order;
    if (x->name_length != y->name_length) return x->name_length < y->name_length ? -1 : 1;
    return *(const uint64_t *)a < *(const uint64_t *)b ? -1 : 1;
}

static int compare_starts(const void *a, const void *b, void *context) {
    const irpa_listing *listing = context;
    const irpa_listing_entry *x = &listing->entries[*(const uint64_t *)a];
    const irpa_listing_entry *y = &listing->entries[*(const uint64_t *)b];
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return *(const uint64_t *)a < *(const uint64_t *)b ? -1 : 1;
}

/* Indices of the valid parameter entries (data only when `data_only`). */
static uint64_t *select_entries(reader *r, bool data_only, uint64_t *count) {
    const irpa_listing *listing = r->listing;
    *count = 0;
    if (listing->entry_count == 0) return NULL;
    uint64_t *indices = malloc(listing->entry_count * sizeof *indices);
    if (!indices) {
        r->out_of_memory = true;
        return NULL;
    }
    for (uint64_t i = 0; i < listing->entry_count; i++) {
        const irpa_listing_entry *entry = &listing->entries[i];
        if (!entry->valid || !irpa_listing_entry_is_parameter(entry)) continue;
        if (data_only && (entry->type != IRPA_ENTRY_DATA || entry->length == 0)) continue;
        indices[(*count)++] = i;
    }
    return indices;
}

/* A name or metadata blob of one entry, in file offsets. */
typedef struct text_reference {
    uint64_t start;  /* first byte */
    uint64_t end;    /* past the last byte */
    uint64_t entry;  /* index of the entry */
    bool is_name;    /* name, else metadata */
} text_reference;

static int compare_text_references(const void *a, const void *b) {
    const text_reference *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->entry != y->entry) return x->entry < y->entry ? -1 : 1;
    return (int)y->is_name - (int)x->is_name;
}

static text_reference *collect_text_references(reader *r, size_t *count) {
    const irpa_listing *listing = r->listing;
    uint64_t metadata_base = listing->header.metadata_segment.offset;
    *count = 0;
    if (listing->entry_count == 0) return NULL;
    text_reference *refs = malloc(2 * listing->entry_count * sizeof *refs);
    if (!refs) {
        r->out_of_memory = true;
        return NULL;
    }
    for (uint64_t i = 0; i < listing->entry_count; i++) {
        const irpa_listing_entry *entry = &listing->entries[i];
        if (entry->name_length) {
            uint64_t start = metadata_base + entry->name_offset;
            refs[(*count)++] = (text_reference){start, start + entry->name_length, i, true};
        }
        if (entry->metadata_length) {
            uint64_t start = metadata_base + entry->metadata_offset;
            refs[(*count)++] = (text_reference){start, start + entry->metadata_length, i, false};
        }
    }
    return refs;
}

/* Forgets a name or metadata blob that overlaps another, so that nothing
 * later reads the same bytes once per entry. */
static void drop_text_reference(irpa_listing_entry *entry, bool is_name) {
    if (is_name) {
        entry->name = NULL;
        entry->name_length = 0;
    } else {
        entry->metadata = NULL;
        entry->metadata_length = 0;
    }
    entry->valid = false;
}

/* Names and metadata blobs must not share bytes (IREE's builder writes each
 * once); overlaps would also let a small file name gigabytes of text. */
static void check_text_overlaps(reader *r) {
    size_t count;
    text_reference *refs = collect_text_references(r, &count);
    if (!refs) return;
    qsort(refs, count, sizeof *refs, compare_text_references);
    const text_reference *furthest = NULL;  /* kept reference ending last */
    for (size_t i = 0; i < count; i++) {
        const text_reference *ref = &refs[i];
        if (furthest && ref->start < furthest->end) {
            irpa_listing_entry *entry = &r->listing->entries[ref->entry];
            fail(r, entry->entry_offset + (ref->is_name ? IRPA_ENTRY_AT(name) : IRPA_ENTRY_AT(metadata)),
                 "entry %" PRIu64 ": %s [%" PRIu64 ", %" PRIu64 ") overlaps the %s of entry %"
                 PRIu64 " [%" PRIu64 ", %" PRIu64 ") in the metadata segment", ref->entry,
                 ref->is_name ? "name" : "metadata", ref->start, ref->end,
                 furthest->is_name ? "name" : "metadata", furthest->entry, furthest->start,
                 furthest->end);
            drop_text_reference(entry, ref->is_name);
            continue;
        }
        furthest = ref;
    }
    free(refs);
}

static bool same_name(const irpa_listing_entry *a, const irpa_listing_entry *b) {
    return a->name_length == b->name_length &&
           (a->name_length == 0 || !memcmp(a->name, b->name, a->name_length));
}

static void check_duplicate_names(reader *r) {
    uint64_t count;
    uint64_t *indices = select_entries(r, false, &count);
    if (!indices) return;
    qsort_r(indices, count, sizeof *indices, compare_names, r->listing);
    uint64_t first = 0;  /* position in indices of the first entry with this name */
    for (uint64_t i = 1; i < count; i++) {
        const irpa_listing_entry *original = &r->listing->entries[indices[first]];
        const irpa_listing_entry *entry = &r->listing->entries[indices[i]];
        if (!same_name(original, entry)) {
            first = i;
            continue;
        }
        char *name = escaped_name(entry->name, entry->name_length, MESSAGE_NAME_LIMIT);
        warn(r, entry->entry_offset + IRPA_ENTRY_AT(name), "entry %" PRIu64 ": duplicate name `%s` "
             "(entry %" PRIu64 " at offset %" PRIu64 " has it too; IREE uses the first)", indices[i],
             name ? name : "?", indices[first], original->entry_offset);
        free(name);
    }
    free(indices);
}

static void check_data_overlaps(reader *r) {
    uint64_t count;
    uint64_t *indices = select_entries(r, true, &count);
    if (!indices) return;
    qsort_r(indices, count, sizeof *indices, compare_starts, r->listing);
    const irpa_listing_entry *furthest = NULL;  /* ends last among those seen */
    uint64_t furthest_index = 0;
    for (uint64_t i = 0; i < count; i++) {
        const irpa_listing_entry *entry = &r->listing->entries[indices[i]];
        if (furthest && entry->start < furthest->end) {
            char *name = escaped_name(entry->name, entry->name_length, MESSAGE_NAME_LIMIT);
            char *other = escaped_name(furthest->name, furthest->name_length, MESSAGE_NAME_LIMIT);
            warn(r, entry->entry_offset + IRPA_DATA_AT(storage), "entry %" PRIu64 " `%s` data [%" PRIu64
                 ", %" PRIu64 ") overlaps entry %" PRIu64 " `%s` data [%" PRIu64 ", %" PRIu64 ")",
                 indices[i], name ? name : "?", entry->start, entry->end, furthest_index,
                 other ? other : "?", furthest->start, furthest->end);
            free(name);
            free(other);
        }
        if (!furthest || entry->end > furthest->end) {
            furthest = entry;
            furthest_index = indices[i];
        }
    }
    free(indices);
}

static int compare_used(const void *a, const void *b) {
    const used_range *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* Reports the first non-zero byte of [start, end), if any. */
static void check_zero(reader *r, uint64_t start, uint64_t end) {
    for (uint64_t at = start; at < end; at++)
        if (r->bytes[at] != 0) {
            warn(r, at, "non-zero padding at offset %" PRIu64 " (byte 0x%02x outside the header, "
                 "entries, names, metadata and data)", at, r->bytes[at]);
            return;
        }
}

/* Every byte outside the structures found must be zero. */
static void check_padding(reader *r) {
    remember_used(r, 0, IRPA_HEADER_SIZE);
    if (r->out_of_memory) return;
    qsort(r->used, r->used_count, sizeof *r->used, compare_used);
    uint64_t cursor = 0;
    for (size_t i = 0; i < r->used_count; i++) {
        if (r->used[i].start > cursor) check_zero(r, cursor, r->used[i].start);
        if (r->used[i].end > cursor) cursor = r->used[i].end;
    }
    if (cursor < r->size) check_zero(r, cursor, r->size);
}

static void sum_lengths(irpa_listing *listing) {
    uint64_t total = 0;
    for (uint64_t i = 0; i < listing->entry_count; i++) {
        const irpa_listing_entry *entry = &listing->entries[i];
        if (!irpa_listing_entry_is_parameter(entry)) continue;
        if (irpa_add_overflows(total, entry->length, &total)) total = UINT64_MAX;
    }
    listing->total_bytes = total;
}

/* ---- entry points ------------------------------------------------------- */

int irpa_inspect_memory(const char *path, const uint8_t *bytes, uint64_t size,
                        irpa_listing *out, irpa_errors *errors) {
    memset(out, 0, sizeof *out);
    out->path = strdup(path ? path : "(memory)");
    out->file_size = size;
    reader r = {.path = out->path ? out->path : "(memory)", .bytes = bytes, .size = size,
                .listing = out, .errors = errors};
    if (check_header_prefix(&r)) {
        check_header(&r);
        if (r.segments_valid) walk_entries(&r);
        check_text_overlaps(&r);
        if (r.walk_complete) {
            /* Padding is only known once every structure is: after any
             * error, referenced bytes would be misreported as padding. */
            bool structure_known = r.error_count == 0;
            check_duplicate_names(&r);
            check_data_overlaps(&r);
            if (structure_known) check_padding(&r);
        }
    }
    if (r.out_of_memory) {
        irpa_error(errors, "%s: out of memory while checking the archive", r.path);
        r.error_count++;
    }
    free(r.used);
    sum_lengths(out);
    return r.error_count ? IRPA_INSPECT_MALFORMED : IRPA_INSPECT_OK;
}

/* Reads the whole file into a new buffer (the mmap fallback). */
static uint8_t *read_whole_file(int fd, uint64_t size) {
    uint8_t *buffer = malloc(size ? size : 1);
    if (!buffer) return NULL;
    uint64_t done = 0;
    while (done < size) {
        ssize_t got = pread(fd, buffer + done, size - done, (off_t)done);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            if (got == 0) errno = EIO;
            free(buffer);
            return NULL;
        }
        done += (uint64_t)got;
    }
    return buffer;
}

int irpa_inspect_file(const char *path, irpa_listing *out, irpa_errors *errors) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        irpa_error(errors, "%s: cannot open: %s", path, strerror(errno));
        return IRPA_INSPECT_IO_ERROR;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const char *why = S_ISREG(st.st_mode) ? strerror(errno) : "not a regular file";
        irpa_error(errors, "%s: cannot inspect: %s", path, why);
        close(fd);
        return IRPA_INSPECT_IO_ERROR;
    }
    uint64_t size = (uint64_t)st.st_size;
    void *mapping = NULL;
    int map_errno = 0;
    uint8_t *buffer = NULL;
    const uint8_t *bytes = NULL;
    if (size > 0) {
        mapping = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (mapping == MAP_FAILED) {
            map_errno = errno;
            mapping = NULL;
            if (size > READ_FALLBACK_LIMIT) {
                irpa_error(errors, "%s: cannot map the file (%s) and it is too large to read "
                           "(%" PRIu64 " bytes)", path, strerror(map_errno), size);
                close(fd);
                return IRPA_INSPECT_IO_ERROR;
            }
            buffer = read_whole_file(fd, size);
            if (!buffer) {
                irpa_error(errors, "%s: cannot read: %s", path, strerror(errno));
                close(fd);
                return IRPA_INSPECT_IO_ERROR;
            }
        }
        bytes = mapping ? mapping : buffer;
    }
    close(fd);
    static const uint8_t nothing[1] = {0};
    int result = irpa_inspect_memory(path, bytes ? bytes : nothing, size, out, errors);
    out->mapping = mapping;
    out->buffer = buffer;
    out->mapped = mapping != NULL;
    if (map_errno != 0)
        irpa_error(&out->notes, "%s: cannot map the file (%s), read it instead; IREE maps "
                   "archives and would refuse this one", path, strerror(map_errno));
    return result;
}

void irpa_listing_free(irpa_listing *listing) {
    if (!listing) return;
    if (listing->mapping) munmap(listing->mapping, listing->file_size);
    free(listing->buffer);
    free(listing->entries);
    free(listing->path);
    irpa_errors_clear(&listing->warnings);
    irpa_errors_clear(&listing->notes);
    memset(listing, 0, sizeof *listing);
}
