/* inspect_entries.c: the archive reader's second stage (inspect_reader.h):
 * the walk through the entry table, each entry's common fields, its name
 * and metadata in the metadata segment, and the fields of its type. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "inspect_reader.h"
#include "le.h"

/* Checks a reference into a segment; stores the absolute file offset of its
 * first byte in *absolute. References of length 0 are always fine (IREE). */
static bool check_reference(reader *r, uint64_t field_offset, uint64_t index, const char *field,
                            uint64_t offset, uint64_t length, irpa_inspected_range segment,
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
static bool read_entry_strings(reader *r, irpa_inspected_entry *entry, uint64_t index) {
    const uint8_t *at = r->bytes + entry->entry_offset;
    irpa_inspected_range segment = r->inspected->header.metadata_segment;
    uint64_t name_at, metadata_at;
    entry->name_offset = irpa_le64(at + IRPA_ENTRY_AT(name));
    uint64_t name_length = irpa_le64(at + IRPA_ENTRY_AT(name.length));
    entry->metadata_offset = irpa_le64(at + IRPA_ENTRY_AT(metadata));
    uint64_t metadata_length = irpa_le64(at + IRPA_ENTRY_AT(metadata.length));
    bool ok = true;
    if (check_reference(r, entry->entry_offset + IRPA_ENTRY_AT(name), index, "name",
                        entry->name_offset,
                        name_length, segment, "metadata", &name_at)) {
        entry->name = r->bytes + name_at;
        entry->name_length = name_length;
        inspect_remember_used(r, name_at, name_length);
    } else {
        ok = false;
    }
    if (check_reference(r, entry->entry_offset + IRPA_ENTRY_AT(metadata), index, "metadata",
                        entry->metadata_offset, metadata_length, segment, "metadata",
                        &metadata_at)) {
        if (metadata_length > 0) {
            entry->metadata = r->bytes + metadata_at;
            entry->metadata_length = metadata_length;
            inspect_remember_used(r, metadata_at, metadata_length);
        }
    } else {
        ok = false;
    }
    if (ok && name_length == 0 && irpa_inspected_entry_is_parameter(entry))
        warn(r, entry->entry_offset + IRPA_ENTRY_AT(name), "entry %" PRIu64 " has an empty name",
             index);
    return ok;
}

static bool read_data_entry(reader *r, irpa_inspected_entry *entry, uint64_t index) {
    const uint8_t *at = r->bytes + entry->entry_offset;
    irpa_inspected_range storage = r->inspected->header.storage_segment;
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
static bool read_splat_entry(reader *r, irpa_inspected_entry *entry, uint64_t index) {
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
        fail(r, entry->entry_offset + IRPA_SPLAT_AT(length),
             "entry %" PRIu64 ": splat length %" PRIu64
             " is not a multiple of pattern_length %u", index,
             entry->length, (unsigned)pattern_length);
        ok = false;
    }
    for (size_t i = pattern_length; i < sizeof entry->pattern; i++)
        if (entry->pattern[i] != 0) {
            warn(r, entry->entry_offset + IRPA_SPLAT_AT(pattern) + i,
                 "non-zero padding at offset %" PRIu64 " (entry %" PRIu64
                 ": pattern byte %zu is past pattern_length %u)",
                 entry->entry_offset + IRPA_SPLAT_AT(pattern) + i, index, i,
                 (unsigned)pattern_length);
            break;
        }
    if (entry->minimum_alignment != 0)
        warn(r, entry->entry_offset + IRPA_ENTRY_AT(minimum_alignment), "entry %" PRIu64
             ": splat minimum_alignment %" PRIu64 " is not 0 (IREE ignores it)", index,
             entry->minimum_alignment);
    return ok;
}

/* Checks the entry's type and size, then reads the fields its type has. */
static bool read_entry_body(reader *r, irpa_inspected_entry *entry, uint64_t index) {
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
        fail(r, entry->entry_offset + IRPA_ENTRY_AT(entry_size),
             "entry %" PRIu64 ": entry_size %" PRIu64
             " is smaller than a %s entry (%" PRIu64 " bytes)", index, entry->entry_size,
             irpa_inspect_type_name(entry->type), needed);
        return false;
    }
    if (entry->entry_size > needed)
        warn(r, entry->entry_offset + IRPA_ENTRY_AT(entry_size),
             "entry %" PRIu64 ": entry_size %" PRIu64
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
    return (length - IRPA_ENTRY_HEADER_SIZE) / irpa_entry_stride(IRPA_ENTRY_HEADER_SIZE) + 1;
}

void inspect_entries(reader *r) {
    const irpa_inspected_header *h = &r->inspected->header;
    irpa_inspected_archive *inspected = r->inspected;
    uint64_t capacity = entries_that_fit(h->entry_segment.length);
    if (capacity > h->entry_count) capacity = h->entry_count;
    if (capacity > 0) {
        inspected->entries = calloc(capacity, sizeof *inspected->entries);
        if (!inspected->entries) {
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
                 index, remaining, IRPA_ENTRY_HEADER_SIZE, h->entry_count,
                 IRPA_HEADER_AT(entry_count),
                 h->entry_segment.length);
            return;
        }
        irpa_inspected_entry *entry = &inspected->entries[inspected->entry_count++];
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
        inspect_remember_used(r, position, entry->entry_size);
        if (entry->flags != 0)
            warn(r, position + IRPA_ENTRY_AT(flags), "entry %" PRIu64 ": flags 0x%" PRIx64
                 " are not 0", index, entry->flags);
        bool strings_ok = read_entry_strings(r, entry, index);
        bool body_ok = read_entry_body(r, entry, index);
        entry->valid = strings_ok && body_ok;
        if (entry->valid && entry->type == IRPA_ENTRY_DATA)
            inspect_remember_used(r, entry->start, entry->length);
        uint64_t step = irpa_entry_stride(entry->entry_size);
        if (step > remaining) step = remaining;
        position += step;
        remaining -= step;
    }
    r->walk_complete = true;
}
