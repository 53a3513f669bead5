/* inspect_checks.c: the archive reader's third stage (inspect_reader.h):
 * checks across entries, once every entry is known: names and metadata that
 * share bytes, duplicate names, overlapping data, non-zero padding. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "inspect_reader.h"

static int compare_names(const void *a, const void *b, void *context) {
    const irpa_inspected_archive *inspected = context;
    const irpa_inspected_entry *x = &inspected->entries[*(const uint64_t *)a];
    const irpa_inspected_entry *y = &inspected->entries[*(const uint64_t *)b];
    uint64_t common = x->name_length < y->name_length ? x->name_length : y->name_length;
    int order = common ? memcmp(x->name, y->name, common) : 0;
    if (order) return order;
    if (x->name_length != y->name_length) return x->name_length < y->name_length ? -1 : 1;
    return *(const uint64_t *)a < *(const uint64_t *)b ? -1 : 1;
}

static int compare_starts(const void *a, const void *b, void *context) {
    const irpa_inspected_archive *inspected = context;
    const irpa_inspected_entry *x = &inspected->entries[*(const uint64_t *)a];
    const irpa_inspected_entry *y = &inspected->entries[*(const uint64_t *)b];
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return *(const uint64_t *)a < *(const uint64_t *)b ? -1 : 1;
}

/* Indices of the valid parameter entries (data only when `data_only`). */
static uint64_t *select_entries(reader *r, bool data_only, uint64_t *count) {
    const irpa_inspected_archive *inspected = r->inspected;
    *count = 0;
    if (inspected->entry_count == 0) return NULL;
    uint64_t *indices = malloc(inspected->entry_count * sizeof *indices);
    if (!indices) {
        r->out_of_memory = true;
        return NULL;
    }
    for (uint64_t i = 0; i < inspected->entry_count; i++) {
        const irpa_inspected_entry *entry = &inspected->entries[i];
        if (!entry->valid || !irpa_inspected_entry_is_parameter(entry)) continue;
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
    const irpa_inspected_archive *inspected = r->inspected;
    uint64_t metadata_base = inspected->header.metadata_segment.offset;
    *count = 0;
    if (inspected->entry_count == 0) return NULL;
    text_reference *refs = malloc(2 * inspected->entry_count * sizeof *refs);
    if (!refs) {
        r->out_of_memory = true;
        return NULL;
    }
    for (uint64_t i = 0; i < inspected->entry_count; i++) {
        const irpa_inspected_entry *entry = &inspected->entries[i];
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
static void drop_text_reference(irpa_inspected_entry *entry, bool is_name) {
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
void inspect_text_overlaps(reader *r) {
    size_t count;
    text_reference *refs = collect_text_references(r, &count);
    if (!refs) return;
    qsort(refs, count, sizeof *refs, compare_text_references);
    const text_reference *furthest = NULL;  /* kept reference ending last */
    for (size_t i = 0; i < count; i++) {
        const text_reference *ref = &refs[i];
        if (furthest && ref->start < furthest->end) {
            irpa_inspected_entry *entry = &r->inspected->entries[ref->entry];
            uint64_t field = ref->is_name ? IRPA_ENTRY_AT(name) : IRPA_ENTRY_AT(metadata);
            fail(r, entry->entry_offset + field,
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

static bool same_name(const irpa_inspected_entry *a, const irpa_inspected_entry *b) {
    return a->name_length == b->name_length &&
           (a->name_length == 0 || !memcmp(a->name, b->name, a->name_length));
}

void inspect_duplicate_names(reader *r) {
    uint64_t count;
    uint64_t *indices = select_entries(r, false, &count);
    if (!indices) return;
    qsort_r(indices, count, sizeof *indices, compare_names, r->inspected);
    uint64_t first = 0;  /* position in indices of the first entry with this name */
    for (uint64_t i = 1; i < count; i++) {
        const irpa_inspected_entry *original = &r->inspected->entries[indices[first]];
        const irpa_inspected_entry *entry = &r->inspected->entries[indices[i]];
        if (!same_name(original, entry)) {
            first = i;
            continue;
        }
        char *name = inspect_message_name(entry->name, entry->name_length);
        warn(r, entry->entry_offset + IRPA_ENTRY_AT(name), "entry %" PRIu64 ": duplicate name `%s` "
             "(entry %" PRIu64 " at offset %" PRIu64 " has it too; IREE uses the first)",
             indices[i],
             name ? name : "?", indices[first], original->entry_offset);
        free(name);
    }
    free(indices);
}

void inspect_data_overlaps(reader *r) {
    uint64_t count;
    uint64_t *indices = select_entries(r, true, &count);
    if (!indices) return;
    qsort_r(indices, count, sizeof *indices, compare_starts, r->inspected);
    const irpa_inspected_entry *furthest = NULL;  /* ends last among those seen */
    uint64_t furthest_index = 0;
    for (uint64_t i = 0; i < count; i++) {
        const irpa_inspected_entry *entry = &r->inspected->entries[indices[i]];
        if (furthest && entry->start < furthest->end) {
            char *name = inspect_message_name(entry->name, entry->name_length);
            char *other = inspect_message_name(furthest->name, furthest->name_length);
            warn(r, entry->entry_offset + IRPA_DATA_AT(storage),
                 "entry %" PRIu64 " `%s` data [%" PRIu64
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

void inspect_padding(reader *r) {
    inspect_remember_used(r, 0, IRPA_HEADER_SIZE);
    if (r->out_of_memory) return;
    qsort(r->used, r->used_count, sizeof *r->used, compare_used);
    uint64_t cursor = 0;
    for (size_t i = 0; i < r->used_count; i++) {
        if (r->used[i].start > cursor) check_zero(r, cursor, r->used[i].start);
        if (r->used[i].end > cursor) cursor = r->used[i].end;
    }
    if (cursor < r->size) check_zero(r, cursor, r->size);
}

void inspect_sum_lengths(irpa_inspected_archive *inspected) {
    uint64_t total = 0;
    for (uint64_t i = 0; i < inspected->entry_count; i++) {
        const irpa_inspected_entry *entry = &inspected->entries[i];
        if (!irpa_inspected_entry_is_parameter(entry)) continue;
        if (irpa_add_overflows(total, entry->length, &total)) total = UINT64_MAX;
    }
    inspected->total_bytes = total;
}
