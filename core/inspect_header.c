/* inspect_header.c: the archive reader's first stage (inspect_reader.h):
 * the header's fields, and its three segments against the file, the header
 * and each other. */
#include <inttypes.h>

#include "checked.h"
#include "inspect_reader.h"
#include "le.h"

/* The offset and length of the segment described at `at`. */
static irpa_inspected_range read_segment(const uint8_t *at) {
    return (irpa_inspected_range){irpa_le64(at + offsetof(irpa_format_segment, offset)),
                                  irpa_le64(at + offsetof(irpa_format_segment, length))};
}

static void read_header_fields(reader *r) {
    const uint8_t *b = r->bytes;
    irpa_inspected_header *h = &r->inspected->header;
    h->magic = irpa_le32(b + IRPA_HEADER_AT(magic));
    h->version_major = irpa_le16(b + IRPA_HEADER_AT(version_major));
    h->version_minor = irpa_le16(b + IRPA_HEADER_AT(version_minor));
    h->header_size = irpa_le64(b + IRPA_HEADER_AT(header_size));
    h->next_header_offset = irpa_le64(b + IRPA_HEADER_AT(next_header_offset));
    h->flags = irpa_le64(b + IRPA_HEADER_AT(flags));
    h->entry_count = irpa_le64(b + IRPA_HEADER_AT(entry_count));
    h->entry_segment = read_segment(b + IRPA_HEADER_AT(entry_segment));
    h->metadata_segment = read_segment(b + IRPA_HEADER_AT(metadata_segment));
    h->storage_segment = read_segment(b + IRPA_HEADER_AT(storage_segment));
    r->inspected->header_read = true;
}

bool inspect_header_prefix(reader *r) {
    if (r->size < 4) {
        fail(r, 0, "file is %" PRIu64 " bytes, too short to be an IRPA archive "
                   "(an 88-byte header is needed)", r->size);
        return false;
    }
    uint32_t magic = irpa_le32(r->bytes);
    if (magic != IRPA_MAGIC) {
        fail(r, IRPA_HEADER_AT(magic),
             "magic 0x%08" PRIx32 " is not 0x%08x (\"IRPA\"): not an IRPA archive",
             magic, IRPA_MAGIC);
        return false;
    }
    if (r->size < IRPA_HEADER_SIZE) {
        fail(r, 0, "file is %" PRIu64 " bytes, shorter than the %d-byte header (truncated)",
             r->size, IRPA_HEADER_SIZE);
        return false;
    }
    read_header_fields(r);
    const irpa_inspected_header *h = &r->inspected->header;
    bool readable = true;
    if (h->version_major != 0) {
        fail(r, IRPA_HEADER_AT(version_major),
             "version_major %u is not 0 (only IRPA 0.0 is supported)",
             (unsigned)h->version_major);
        readable = false;
    }
    if (h->version_minor != 0) {
        fail(r, IRPA_HEADER_AT(version_minor),
             "version_minor %u is not 0 (only IRPA 0.0 is supported)",
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
    uint64_t storage_field = IRPA_HEADER_AT(storage_segment);
    bool storage = segment_field == storage_field || other_field == storage_field;
    return storage ? SEVERITY_ERROR : SEVERITY_WARNING;
}

/* Checks one segment against overflow, the file and the header; false when
 * it does not lie inside the file. */
static bool check_segment(reader *r, const char *name, uint64_t field_offset,
                          irpa_inspected_range segment) {
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
        inspect_report(r, overlap_severity(field_offset, IRPA_HEADER_AT(magic) /* the header */),
                       field_offset,
               "%s [%" PRIu64 ", %" PRIu64 ") overlaps the header [0, %d)", name,
               segment.offset, end, IRPA_HEADER_SIZE);
    return true;
}

static bool ranges_overlap(irpa_inspected_range a, irpa_inspected_range b) {
    if (a.length == 0 || b.length == 0) return false;
    return a.offset < b.offset + b.length && b.offset < a.offset + a.length;
}

static void check_segments_disjoint(reader *r) {
    const irpa_inspected_header *h = &r->inspected->header;
    struct { const char *name; uint64_t at; irpa_inspected_range range; } segments[3] = {
        {"entry_segment", IRPA_HEADER_AT(entry_segment), h->entry_segment},
        {"metadata_segment", IRPA_HEADER_AT(metadata_segment), h->metadata_segment},
        {"storage_segment", IRPA_HEADER_AT(storage_segment), h->storage_segment},
    };
    for (int later = 1; later < 3; later++)
        for (int earlier = 0; earlier < later; earlier++) {
            irpa_inspected_range a = segments[later].range, b = segments[earlier].range;
            if (!ranges_overlap(a, b)) continue;
            inspect_report(r, overlap_severity(segments[later].at, segments[earlier].at),
                   segments[later].at, "%s [%" PRIu64 ", %" PRIu64 ") overlaps %s [%" PRIu64
                   ", %" PRIu64 ")", segments[later].name, a.offset, a.offset + a.length,
                   segments[earlier].name, b.offset, b.offset + b.length);
        }
}

void inspect_header(reader *r) {
    const irpa_inspected_header *h = &r->inspected->header;
    if (h->next_header_offset != 0)
        fail(r, IRPA_HEADER_AT(next_header_offset), "next_header_offset %" PRIu64
             " is not 0: chained archives are not supported", h->next_header_offset);
    if (h->flags != 0)
        warn(r, IRPA_HEADER_AT(flags), "header flags 0x%" PRIx64 " are not 0 (IREE ignores them)",
             h->flags);
    bool entry_ok =
        check_segment(r, "entry_segment", IRPA_HEADER_AT(entry_segment), h->entry_segment);
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
