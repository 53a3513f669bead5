/* archive.c: the IRPA v0 layout and archive_map. See archive.h. */
#include "archive.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "hash.h"
#include "irpa_format.h"
#include "le.h"
#include "search.h"

/* ---- checked arithmetic ------------------------------------------------ */

/* *out = value rounded up to a multiple of `alignment` (a power of two);
 * returns -1 on overflow. */
static int align_up(uint64_t value, uint64_t alignment, uint64_t *out) {
    uint64_t mask = alignment - 1;
    if (irpa_add_overflows(value, mask, out)) return -1;
    *out &= ~mask;
    return 0;
}

static int add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return irpa_add_overflows(a, b, out) ? -1 : 0;
}

/* ---- name index: entry indices by name (hash.h) ------------------------- */

typedef struct name_key {
    const char *name;  /* the name looked up */
    uint64_t length;   /* its bytes */
} name_key;

static uint64_t hash_name(const char *name, uint64_t length) { return irpa_fnv1a(name, length); }

static uint64_t entry_name_hash(const void *items, size_t index) {
    const irpa_entry *entry = &((const irpa_entry *)items)[index];
    return hash_name(entry->name, entry->name_length);
}

static bool entry_has_name(const void *items, size_t index, const void *key) {
    const irpa_entry *entry = &((const irpa_entry *)items)[index];
    const name_key *wanted = key;
    return entry->name_length == wanted->length &&
           !memcmp(entry->name, wanted->name, wanted->length);
}

/* The slot holding `name`, or the empty slot where it would go. */
static size_t *name_slot(const irpa_archive *archive, const char *name, uint64_t length) {
    name_key key = {name, length};
    return irpa_index_table_slot(&archive->names, hash_name(name, length), entry_has_name,
                                 archive->entries, &key);
}

/* ---- building ---------------------------------------------------------- */

irpa_archive *irpa_archive_new(uint64_t alignment, irpa_errors *errors) {
    if (!irpa_is_power_of_two(alignment)) {
        irpa_error(errors, "alignment %llu is not a power of two",
                   (unsigned long long)alignment);
        return NULL;
    }
    irpa_archive *archive = calloc(1, sizeof *archive);
    if (!archive) {
        irpa_error(errors, "out of memory");
        return NULL;
    }
    archive->alignment = alignment;
    return archive;
}

void irpa_archive_free(irpa_archive *archive) {
    if (!archive) return;
    for (size_t i = 0; i < archive->source_count; i++) irpa_source_close(&archive->sources[i]);
    for (size_t i = 0; i < archive->entry_count; i++) {
        free(archive->entries[i].name);
        free(archive->entries[i].metadata);
    }
    irpa_index_table_free(&archive->names);
    free(archive->sources);
    free(archive->entries);
    free(archive->data_entries);
    free(archive->head);
    free(archive->name);
    free(archive);
}

long irpa_archive_find(const irpa_archive *archive, const char *name) {
    name_key key = {name, strlen(name)};
    size_t index = irpa_index_table_find(&archive->names, hash_name(key.name, key.length),
                                         entry_has_name, archive->entries, &key);
    return index == SIZE_MAX ? -1 : (long)index;
}

long irpa_archive_add_source(irpa_archive *archive, irpa_source *source, irpa_errors *errors) {
    irpa_source *grown =
        realloc(archive->sources, (archive->source_count + 1) * sizeof *grown);
    if (!grown) return irpa_error(errors, "out of memory");
    archive->sources = grown;
    archive->sources[archive->source_count] = *source;
    memset(source, 0, sizeof *source);
    source->fd = -1;
    return (long)archive->source_count++;
}

static const char *prefix(const char *where) { return where ? where : ""; }
static const char *separator(const char *where) { return where ? ": " : ""; }

/* Appends an entry with `name` and a copy of `metadata`; checks the name. */
static irpa_entry *append_entry(irpa_archive *archive, const char *name, const void *metadata,
                                uint64_t metadata_length, const char *where,
                                irpa_errors *errors) {
    if (archive->head) {
        irpa_error(errors, "%s%sarchive already laid out", prefix(where), separator(where));
        return NULL;
    }
    uint64_t name_length = strlen(name);
    if (name_length == 0) {
        irpa_error(errors, "%s%sempty entry name", prefix(where), separator(where));
        return NULL;
    }
    if (irpa_index_table_reserve(&archive->names, entry_name_hash, archive->entries) != 0) {
        irpa_error(errors, "out of memory");
        return NULL;
    }
    size_t *slot = name_slot(archive, name, name_length);
    if (*slot) {
        irpa_error(errors, "%s%sduplicate entry name '%s' (entry %zu has it already)",
                   prefix(where), separator(where), name, *slot);
        return NULL;
    }
    if ((archive->entry_count & (archive->entry_count - 1)) == 0) {
        size_t capacity = archive->entry_count ? archive->entry_count * 2 : 16;
        irpa_entry *grown = realloc(archive->entries, capacity * sizeof *grown);
        if (!grown) {
            irpa_error(errors, "out of memory");
            return NULL;
        }
        archive->entries = grown;
    }
    irpa_entry *entry = &archive->entries[archive->entry_count];
    memset(entry, 0, sizeof *entry);
    entry->name = strdup(name);
    entry->name_length = name_length;
    if (metadata_length) {
        entry->metadata = malloc(metadata_length);
        if (entry->metadata) memcpy(entry->metadata, metadata, metadata_length);
        entry->metadata_length = metadata_length;
    }
    if (!entry->name || (metadata_length && !entry->metadata)) {
        free(entry->name);
        free(entry->metadata);
        irpa_error(errors, "out of memory");
        return NULL;
    }
    irpa_index_table_fill(&archive->names, slot, archive->entry_count++);
    return entry;
}

int irpa_archive_add_data(irpa_archive *archive, const char *name, uint32_t source,
                          uint64_t source_offset, uint64_t length,
                          const void *metadata, uint64_t metadata_length,
                          const char *where, irpa_errors *errors) {
    if (source >= archive->source_count)
        return irpa_error(errors, "%s%sno source %u", prefix(where), separator(where), source);
    const irpa_source *from = &archive->sources[source];
    uint64_t end;
    if (add_u64(source_offset, length, &end) != 0)
        return irpa_error(errors,
                          "%s%soffset %llu + length %llu overflows 64 bits", prefix(where),
                          separator(where), (unsigned long long)source_offset,
                          (unsigned long long)length);
    if (end > from->size)
        return irpa_error(errors,
                          "%s%sbytes %llu..%llu are past the end of source '%s' (%llu bytes)",
                          prefix(where), separator(where), (unsigned long long)source_offset,
                          (unsigned long long)end, from->path,
                          (unsigned long long)from->size);
    irpa_entry *entry = append_entry(archive, name, metadata, metadata_length, where, errors);
    if (!entry) return -1;
    entry->type = IRPA_ENTRY_DATA;
    entry->length = length;
    entry->source = source;
    entry->source_offset = source_offset;
    return 0;
}

int irpa_archive_add_splat(irpa_archive *archive, const char *name,
                           const void *pattern, uint8_t pattern_length, uint64_t length,
                           const void *metadata, uint64_t metadata_length,
                           const char *where, irpa_errors *errors) {
    if (pattern_length == 0 || pattern_length > IRPA_MAX_PATTERN ||
        !irpa_is_power_of_two(pattern_length))
        return irpa_error(errors, "%s%ssplat pattern of %u bytes; expected 1, 2, 4, 8 or 16",
                          prefix(where), separator(where), pattern_length);
    if (length % pattern_length != 0)
        return irpa_error(errors,
                          "%s%ssplat pattern of %u bytes does not divide length %llu",
                          prefix(where), separator(where), pattern_length,
                          (unsigned long long)length);
    irpa_entry *entry = append_entry(archive, name, metadata, metadata_length, where, errors);
    if (!entry) return -1;
    entry->type = IRPA_ENTRY_SPLAT;
    entry->length = length;
    memcpy(entry->pattern, pattern, pattern_length);
    entry->pattern_length = pattern_length;
    return 0;
}

/* ---- layout ------------------------------------------------------------ */

static uint64_t entry_size(const irpa_entry *entry) { return irpa_entry_type_size(entry->type); }

/* Computes every offset; no bytes yet. */
static int compute_layout(irpa_archive *archive, irpa_errors *errors) {
    uint64_t entry_end = IRPA_ENTRY_TABLE_OFFSET;  /* end of the last entry so far */
    uint64_t metadata_length = 0;
    uint64_t storage_length = 0;
    archive->data_count = 0;
    for (size_t i = 0; i < archive->entry_count; i++) {
        irpa_entry *entry = &archive->entries[i];
        uint64_t entry_start = entry_end;
        if (i > 0 && align_up(entry_end, IRPA_ENTRY_ALIGNMENT, &entry_start) != 0) goto overflow;
        if (add_u64(entry_start, entry_size(entry), &entry_end) != 0) goto overflow;
        if (add_u64(metadata_length, entry->name_length, &metadata_length) != 0 ||
            add_u64(metadata_length, entry->metadata_length, &metadata_length) != 0)
            goto overflow;
        if (entry->type != IRPA_ENTRY_DATA) continue;
        if (align_up(storage_length, archive->alignment, &entry->storage_offset) != 0 ||
            add_u64(entry->storage_offset, entry->length, &storage_length) != 0)
            goto overflow;
        archive->data_entries[archive->data_count++] = i;
    }
    archive->entry_table_length = entry_end - IRPA_ENTRY_TABLE_OFFSET;
    archive->metadata_offset = entry_end;
    archive->metadata_length = metadata_length;
    uint64_t metadata_end;
    if (add_u64(entry_end, metadata_length, &metadata_end) != 0) goto overflow;
    archive->storage_offset = metadata_end;
    if (archive->data_count > 0 &&
        align_up(metadata_end, archive->alignment, &archive->storage_offset) != 0)
        goto overflow;
    archive->storage_length = storage_length;
    uint64_t storage_end;
    if (add_u64(archive->storage_offset, storage_length, &storage_end) != 0 ||
        align_up(storage_end, IRPA_FILE_ALIGNMENT, &archive->file_size) != 0)
        goto overflow;
    if (archive->file_size < IRPA_FILE_ALIGNMENT) archive->file_size = IRPA_FILE_ALIGNMENT;
    archive->head_length = archive->storage_offset;
    return 0;
overflow:
    return irpa_error(errors, "archive layout overflows 64 bits");
}

static void write_header(const irpa_archive *archive, uint8_t *head) {
    irpa_put_le32(head + IRPA_HEADER_AT(magic), IRPA_MAGIC);
    /* version_major, version_minor, next_header_offset and flags stay 0 */
    irpa_put_le64(head + IRPA_HEADER_AT(header_size), IRPA_HEADER_SIZE);
    irpa_put_le64(head + IRPA_HEADER_AT(entry_count), archive->entry_count);
    irpa_put_le64(head + IRPA_HEADER_AT(entry_segment.offset), IRPA_ENTRY_TABLE_OFFSET);
    irpa_put_le64(head + IRPA_HEADER_AT(entry_segment.length), archive->entry_table_length);
    irpa_put_le64(head + IRPA_HEADER_AT(metadata_segment.offset), archive->metadata_offset);
    irpa_put_le64(head + IRPA_HEADER_AT(metadata_segment.length), archive->metadata_length);
    irpa_put_le64(head + IRPA_HEADER_AT(storage_segment.offset), archive->storage_offset);
    irpa_put_le64(head + IRPA_HEADER_AT(storage_segment.length), archive->storage_length);
}

/* Writes the fields of one entry at `at` (flags stay 0). */
static void write_entry(const irpa_archive *archive, const irpa_entry *entry, uint8_t *at,
                        uint64_t name_offset) {
    irpa_put_le64(at + IRPA_ENTRY_AT(entry_size), entry_size(entry));
    irpa_put_le32(at + IRPA_ENTRY_AT(type), (uint32_t)entry->type);
    irpa_put_le64(at + IRPA_ENTRY_AT(name.offset), name_offset);
    irpa_put_le64(at + IRPA_ENTRY_AT(name.length), entry->name_length);
    if (entry->metadata_length) {
        irpa_put_le64(at + IRPA_ENTRY_AT(metadata.offset), name_offset + entry->name_length);
        irpa_put_le64(at + IRPA_ENTRY_AT(metadata.length), entry->metadata_length);
    }
    if (entry->type == IRPA_ENTRY_DATA) {
        irpa_put_le64(at + IRPA_ENTRY_AT(minimum_alignment), archive->alignment);
        irpa_put_le64(at + IRPA_DATA_AT(storage.offset), entry->storage_offset);
        irpa_put_le64(at + IRPA_DATA_AT(storage.length), entry->length);
    } else {
        irpa_put_le64(at + IRPA_SPLAT_AT(length), entry->length);
        memcpy(at + IRPA_SPLAT_AT(pattern), entry->pattern, entry->pattern_length);
        at[IRPA_SPLAT_AT(pattern_length)] = entry->pattern_length;
    }
}

/* Writes the entry table and the metadata segment. */
static void write_entries(const irpa_archive *archive, uint8_t *head) {
    uint64_t entry_start = IRPA_ENTRY_TABLE_OFFSET;
    uint64_t metadata_cursor = 0;  /* offset within the metadata segment */
    for (size_t i = 0; i < archive->entry_count; i++) {
        const irpa_entry *entry = &archive->entries[i];
        uint8_t *metadata = head + archive->metadata_offset + metadata_cursor;
        write_entry(archive, entry, head + entry_start, metadata_cursor);
        memcpy(metadata, entry->name, entry->name_length);
        if (entry->metadata_length)
            memcpy(metadata + entry->name_length, entry->metadata, entry->metadata_length);
        metadata_cursor += entry->name_length + entry->metadata_length;
        entry_start += irpa_entry_stride(entry_size(entry));
    }
}

int irpa_archive_finish(irpa_archive *archive, irpa_errors *errors) {
    if (archive->head) return 0;
    archive->data_entries = malloc((archive->entry_count + 1) * sizeof(size_t));
    if (!archive->data_entries) return irpa_error(errors, "out of memory");
    if (compute_layout(archive, errors) != 0) return -1;
    /* The head is [0, storage_offset) and never shorter than the header. */
    uint64_t head_alloc = archive->head_length < IRPA_ENTRY_TABLE_OFFSET
                              ? IRPA_ENTRY_TABLE_OFFSET
                              : archive->head_length;
    if (head_alloc > SIZE_MAX) return irpa_error(errors, "archive header too large");
    archive->head = calloc(1, (size_t)head_alloc);
    if (!archive->head)
        return irpa_error(errors, "out of memory for a %llu-byte archive header",
                          (unsigned long long)head_alloc);
    write_header(archive, archive->head);
    write_entries(archive, archive->head);
    return 0;
}

/* ---- mapping ----------------------------------------------------------- */

/* Whether data entry `index` (of data_entries) starts at or before storage
 * offset *key: those sort before the key. */
static bool starts_at_or_before(const void *items, size_t index, const void *key) {
    const irpa_archive *archive = items;
    return archive->entries[archive->data_entries[index]].storage_offset <=
           *(const uint64_t *)key;
}

/* Index into data_entries of the last data entry starting at or before
 * storage offset `position`, or data_count when there is none. */
static size_t find_data_entry(const irpa_archive *archive, uint64_t position) {
    size_t after = irpa_lower_bound(archive, archive->data_count, starts_at_or_before, &position);
    return after == 0 ? archive->data_count : after - 1;
}

/* Whether `next` continues `previous`: zero after zero, or the bytes right
 * after it in the same source (tensors stored back to back). */
static int continues(const irpa_segment *previous, const irpa_segment *next) {
    if (previous->kind != next->kind) return 0;
    if (next->kind == IRPA_SEGMENT_ZERO) return 1;
    return next->kind == IRPA_SEGMENT_SOURCE && previous->source == next->source &&
           previous->source_offset + previous->length == next->source_offset;
}

/* Appends a segment, merged into the previous one when it continues it.
 * Returns 0 when out of room. */
static int push_segment(irpa_segment *segments, size_t max_segments, size_t *count,
                        irpa_segment segment) {
    if (*count > 0 && continues(&segments[*count - 1], &segment)) {
        segments[*count - 1].length += segment.length;
        return 1;
    }
    if (*count == max_segments) return 0;
    segments[(*count)++] = segment;
    return 1;
}

/* Maps bytes within the storage segment region: [position, end) in the file. */
static size_t map_storage(const irpa_archive *archive, uint64_t position, uint64_t end,
                          irpa_segment *segments, size_t max_segments, size_t count,
                          uint64_t *mapped_to) {
    uint64_t storage_position = position - archive->storage_offset;
    size_t data = find_data_entry(archive, storage_position);
    if (data == archive->data_count) data = 0; /* before the first entry */
    while (position < end) {
        storage_position = position - archive->storage_offset;
        const irpa_entry *entry =
            data < archive->data_count ? &archive->entries[archive->data_entries[data]] : NULL;
        irpa_segment segment = {.kind = IRPA_SEGMENT_ZERO};
        uint64_t entry_end = entry ? entry->storage_offset + entry->length : 0;
        if (entry && storage_position >= entry->storage_offset && storage_position < entry_end) {
            uint64_t within = storage_position - entry->storage_offset;
            segment.kind = IRPA_SEGMENT_SOURCE;
            segment.source = entry->source;
            segment.source_offset = entry->source_offset + within;
            segment.length = entry_end - storage_position;
        } else if (entry && storage_position >= entry_end) {
            data++; /* past this entry (or it is empty): look at the next */
            continue;
        } else {
            /* padding before `entry`, or after the last entry */
            uint64_t zero_end = entry ? archive->storage_offset + entry->storage_offset
                                      : archive->file_size;
            segment.length = zero_end - position;
        }
        if (segment.length > end - position) segment.length = end - position;
        if (!push_segment(segments, max_segments, &count, segment)) break;
        position += segment.length;
    }
    *mapped_to = position;
    return count;
}

size_t irpa_archive_map(const irpa_archive *archive, uint64_t offset, uint64_t length,
                        irpa_segment *segments, size_t max_segments, uint64_t *covered) {
    *covered = 0;
    if (offset >= archive->file_size || length == 0 || max_segments == 0) return 0;
    uint64_t end = archive->file_size - offset < length ? archive->file_size : offset + length;
    size_t count = 0;
    uint64_t position = offset;
    if (position < archive->head_length) {
        uint64_t head_end = end < archive->head_length ? end : archive->head_length;
        irpa_segment segment = {.kind = IRPA_SEGMENT_MEMORY,
                                .length = head_end - position,
                                .memory = archive->head + position};
        push_segment(segments, max_segments, &count, segment);
        position = head_end;
    }
    if (position < end)
        count = map_storage(archive, position, end, segments, max_segments, count, &position);
    *covered = position - offset;
    return count;
}

int irpa_archive_fill(const irpa_archive *archive, const irpa_segment *segments, size_t count,
                      void *buffer) {
    uint8_t *out = buffer;
    for (size_t i = 0; i < count; i++) {
        const irpa_segment *segment = &segments[i];
        if (segment->kind == IRPA_SEGMENT_MEMORY)
            memcpy(out, segment->memory, segment->length);
        else if (segment->kind == IRPA_SEGMENT_ZERO)
            memset(out, 0, segment->length);
        else if (irpa_source_pread(&archive->sources[segment->source], out, segment->length,
                                   segment->source_offset) != 0)
            return -1;
        out += segment->length;
    }
    return 0;
}

int64_t irpa_archive_read(const irpa_archive *archive, uint64_t offset, uint64_t length,
                          void *buffer) {
    uint8_t *out = buffer;
    uint64_t done = 0;
    if (length > INT64_MAX) length = INT64_MAX;
    while (done < length) {
        irpa_segment segments[16];
        uint64_t covered;
        size_t count = irpa_archive_map(archive, offset + done, length - done, segments, 16,
                                        &covered);
        if (count == 0) break;
        if (irpa_archive_fill(archive, segments, count, out + done) != 0) return -1;
        done += covered;
    }
    return (int64_t)done;
}
