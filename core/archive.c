/* archive.c: the IRPA v0 layout and archive_map. See archive.h. */
#include "archive.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- little-endian stores into the head -------------------------------- */

static void put_u8(uint8_t *at, uint8_t value) { at[0] = value; }

static void put_u16(uint8_t *at, uint16_t value) {
    for (int i = 0; i < 2; i++) at[i] = (uint8_t)(value >> (8 * i));
}

static void put_u32(uint8_t *at, uint32_t value) {
    for (int i = 0; i < 4; i++) at[i] = (uint8_t)(value >> (8 * i));
}

static void put_u64(uint8_t *at, uint64_t value) {
    for (int i = 0; i < 8; i++) at[i] = (uint8_t)(value >> (8 * i));
}

/* ---- checked arithmetic ------------------------------------------------ */

/* *out = value rounded up to a multiple of `alignment` (a power of two);
 * returns -1 on overflow. */
static int align_up(uint64_t value, uint64_t alignment, uint64_t *out) {
    uint64_t mask = alignment - 1;
    if (value > UINT64_MAX - mask) return -1;
    *out = (value + mask) & ~mask;
    return 0;
}

static int add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

static int is_power_of_two(uint64_t value) { return value && !(value & (value - 1)); }

/* ---- name index: open addressing over entry indices --------------------- */

typedef struct irpa_name_index {
    size_t *slots;    /* entry index + 1, 0 = empty */
    size_t capacity;  /* power of two */
    size_t used;      /* filled slots */
} irpa_name_index;

static uint64_t hash_name(const char *name, uint64_t length) {
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    for (uint64_t i = 0; i < length; i++) {
        hash ^= (uint8_t)name[i];
        hash *= 1099511628211ull;
    }
    return hash;
}

/* Finds the slot holding `name`, or the empty slot where it would go. */
static size_t *name_slot(const irpa_archive *archive, const char *name, uint64_t length) {
    irpa_name_index *index = archive->names;
    size_t mask = index->capacity - 1;
    for (size_t slot = hash_name(name, length) & mask;; slot = (slot + 1) & mask) {
        size_t held = index->slots[slot];
        if (!held) return &index->slots[slot];
        const irpa_entry *entry = &archive->entries[held - 1];
        if (entry->name_length == length && !memcmp(entry->name, name, length))
            return &index->slots[slot];
    }
}

static int name_index_grow(irpa_archive *archive) {
    irpa_name_index *index = archive->names;
    if ((index->used + 1) * 2 <= index->capacity) return 0;
    size_t capacity = index->capacity ? index->capacity * 2 : 64;
    size_t *slots = calloc(capacity, sizeof *slots);
    if (!slots) return -1;
    size_t *old_slots = index->slots;
    size_t old_capacity = index->capacity;
    index->slots = slots;
    index->capacity = capacity;
    for (size_t i = 0; i < old_capacity; i++) {
        if (!old_slots[i]) continue;
        const irpa_entry *entry = &archive->entries[old_slots[i] - 1];
        *name_slot(archive, entry->name, entry->name_length) = old_slots[i];
    }
    free(old_slots);
    return 0;
}

/* ---- building ---------------------------------------------------------- */

irpa_archive *irpa_archive_new(uint64_t alignment, irpa_errors *errors) {
    if (!is_power_of_two(alignment)) {
        irpa_error(errors, "alignment %llu is not a power of two",
                   (unsigned long long)alignment);
        return NULL;
    }
    irpa_archive *archive = calloc(1, sizeof *archive);
    irpa_name_index *names = calloc(1, sizeof *names);
    if (!archive || !names) {
        free(archive);
        free(names);
        irpa_error(errors, "out of memory");
        return NULL;
    }
    archive->alignment = alignment;
    archive->names = names;
    return archive;
}

void irpa_archive_free(irpa_archive *archive) {
    if (!archive) return;
    for (size_t i = 0; i < archive->source_count; i++) irpa_source_close(&archive->sources[i]);
    for (size_t i = 0; i < archive->entry_count; i++) {
        free(archive->entries[i].name);
        free(archive->entries[i].metadata);
    }
    if (archive->names) free(archive->names->slots);
    free(archive->names);
    free(archive->sources);
    free(archive->entries);
    free(archive->data_entries);
    free(archive->head);
    free(archive->name);
    free(archive);
}

long irpa_archive_find(const irpa_archive *archive, const char *name) {
    if (!archive->names || !archive->names->capacity) return -1;
    size_t held = *name_slot(archive, name, strlen(name));
    return held ? (long)held - 1 : -1;
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
    if (name_index_grow(archive) != 0) {
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
    archive->entry_count++;
    archive->names->used++;
    *slot = archive->entry_count;
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
        !is_power_of_two(pattern_length))
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

static uint64_t entry_size(const irpa_entry *entry) {
    return entry->type == IRPA_ENTRY_DATA ? IRPA_DATA_ENTRY_SIZE : IRPA_SPLAT_ENTRY_SIZE;
}

/* Computes every offset; no bytes yet. */
static int compute_layout(irpa_archive *archive, irpa_errors *errors) {
    uint64_t entry_end = IRPA_ENTRY_TABLE_OFFSET;  /* end of the last entry so far */
    uint64_t metadata_length = 0;
    uint64_t storage_length = 0;
    archive->data_count = 0;
    for (size_t i = 0; i < archive->entry_count; i++) {
        irpa_entry *entry = &archive->entries[i];
        uint64_t entry_start = entry_end;
        if (i > 0 && align_up(entry_end, 16, &entry_start) != 0) goto overflow;
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
    put_u32(head + 0, 0x41505249u); /* "IRPA" */
    put_u16(head + 4, 0);           /* version_major */
    put_u16(head + 6, 0);           /* version_minor */
    put_u64(head + 8, IRPA_HEADER_SIZE);
    put_u64(head + 16, 0);          /* next_header_offset */
    put_u64(head + 24, 0);          /* flags */
    put_u64(head + 32, archive->entry_count);
    put_u64(head + 40, IRPA_ENTRY_TABLE_OFFSET);
    put_u64(head + 48, archive->entry_table_length);
    put_u64(head + 56, archive->metadata_offset);
    put_u64(head + 64, archive->metadata_length);
    put_u64(head + 72, archive->storage_offset);
    put_u64(head + 80, archive->storage_length);
}

/* Writes the entry table and the metadata segment. */
static void write_entries(const irpa_archive *archive, uint8_t *head) {
    uint64_t entry_start = IRPA_ENTRY_TABLE_OFFSET;
    uint64_t metadata_cursor = 0;  /* offset within the metadata segment */
    for (size_t i = 0; i < archive->entry_count; i++) {
        const irpa_entry *entry = &archive->entries[i];
        uint8_t *at = head + entry_start;
        uint8_t *metadata = head + archive->metadata_offset + metadata_cursor;
        put_u64(at + 0, entry_size(entry));
        put_u32(at + 8, (uint32_t)entry->type);
        put_u64(at + 12, 0);  /* flags */
        put_u64(at + 20, metadata_cursor);
        put_u64(at + 28, entry->name_length);
        memcpy(metadata, entry->name, entry->name_length);
        metadata_cursor += entry->name_length;
        if (entry->metadata_length) {
            put_u64(at + 36, metadata_cursor);
            put_u64(at + 44, entry->metadata_length);
            memcpy(metadata + entry->name_length, entry->metadata, entry->metadata_length);
            metadata_cursor += entry->metadata_length;
        }
        if (entry->type == IRPA_ENTRY_DATA) {
            put_u64(at + 52, archive->alignment);  /* minimum_alignment */
            put_u64(at + 60, entry->storage_offset);
            put_u64(at + 68, entry->length);
        } else {
            put_u64(at + 60, entry->length);
            memcpy(at + 68, entry->pattern, entry->pattern_length);
            put_u8(at + 84, entry->pattern_length);
        }
        entry_start = (entry_start + entry_size(entry) + 15) & ~(uint64_t)15;
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

/* Index into data_entries of the last data entry starting at or before
 * storage offset `position`, or data_count when there is none. */
static size_t find_data_entry(const irpa_archive *archive, uint64_t position) {
    size_t low = 0, high = archive->data_count; /* answer in [low - 1, high) */
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        const irpa_entry *entry = &archive->entries[archive->data_entries[middle]];
        if (entry->storage_offset <= position)
            low = middle + 1;
        else
            high = middle;
    }
    return low == 0 ? archive->data_count : low - 1;
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
