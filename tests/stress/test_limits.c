/* test_limits: the layout and irpa_archive_map at sizes no disk here holds:
 * offsets near 2^63 and 2^64 and 100,000 entries. The sources are fake
 * (no descriptor, a size set by hand): only the layout math is exercised,
 * never a read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "archive.h"
#include "irpa_format.h"
#include "le.h"

#define TWO_TO_62 (UINT64_C(1) << 62)
#define TWO_TO_63 (UINT64_C(1) << 63)

/* A new archive holding one fake source of `size` bytes (index 0). */
static irpa_archive *archive_with_fake_source(uint64_t size) {
    irpa_errors errors = {0};
    irpa_archive *archive = irpa_archive_new(IRPA_DEFAULT_ALIGNMENT, &errors);
    assert_non_null(archive);
    irpa_source source = {.path = strdup("fake.bin"), .fd = -1, .size = size};
    assert_int_equal(irpa_archive_add_source(archive, &source, &errors), 0);
    irpa_errors_clear(&errors);
    return archive;
}

static void add_data(irpa_archive *archive, const char *name, uint64_t offset, uint64_t length) {
    irpa_errors errors = {0};
    int status = irpa_archive_add_data(archive, name, 0, offset, length, NULL, 0, "test", &errors);
    if (status != 0) fprintf(stderr, "%s\n", errors.count ? errors.messages[0] : "?");
    assert_int_equal(status, 0);
    irpa_errors_clear(&errors);
}

static uint64_t read_u64(const uint8_t *at) { return irpa_le64(at); }

/* The single segment describing `length` bytes at `offset`. */
static irpa_segment one_segment(const irpa_archive *archive, uint64_t offset, uint64_t length) {
    irpa_segment segments[4];
    uint64_t covered = 0;
    size_t count = irpa_archive_map(archive, offset, length, segments, 4, &covered);
    assert_int_equal(count, 1);
    assert_int_equal(covered, segments[0].length);
    return segments[0];
}

/* Tensors of almost 2^62 bytes at source offsets up to 2^63 - 1: the
 * storage offsets, the header fields and the map at the far end. */
static void test_offsets_near_2_63(void **state) {
    (void)state;
    uint64_t source_size = TWO_TO_63 - 1;
    irpa_archive *archive = archive_with_fake_source(source_size);
    add_data(archive, "last_page", source_size - 4096, 4096);  /* ends at the source's end */
    add_data(archive, "first_half", 0, TWO_TO_62);
    add_data(archive, "second_half", TWO_TO_62, TWO_TO_62 - 16384);
    irpa_errors errors = {0};
    assert_int_equal(irpa_archive_finish(archive, &errors), 0);
    const irpa_entry *last_page = &archive->entries[0];
    const irpa_entry *second = &archive->entries[2];
    assert_int_equal(last_page->storage_offset, 0);
    assert_int_equal(archive->entries[1].storage_offset, 4096);
    assert_int_equal(second->storage_offset, 4096 + TWO_TO_62);
    uint64_t storage_end = archive->storage_offset + 4096 + TWO_TO_62 + TWO_TO_62 - 16384;
    assert_int_equal(archive->storage_length, TWO_TO_63 - 12288);
    assert_int_equal(archive->file_size, (storage_end + 4095) / 4096 * 4096);
    assert_true(archive->file_size <= (uint64_t)INT64_MAX);
    /* The header says the same (little-endian u64 fields). */
    assert_int_equal(read_u64(archive->head + IRPA_HEADER_AT(storage_segment.offset)),
                     archive->storage_offset);
    assert_int_equal(read_u64(archive->head + IRPA_HEADER_AT(storage_segment.length)),
                     archive->storage_length);
    /* Entry 3's storage offset in the entry table (entries are 80 apart). */
    assert_int_equal(read_u64(archive->head + IRPA_ENTRY_TABLE_OFFSET + 2 * 80 +
                              IRPA_DATA_AT(storage.offset)),
                     second->storage_offset);

    /* The last bytes of the last tensor, then the zero padding to the end. */
    uint64_t tensor_end = archive->storage_offset + second->storage_offset + second->length;
    irpa_segment tail = one_segment(archive, tensor_end - 100, 100);
    assert_int_equal(tail.kind, IRPA_SEGMENT_SOURCE);
    assert_int_equal(tail.source_offset, TWO_TO_62 + second->length - 100);
    irpa_segment segments[4];
    uint64_t covered = 0;
    size_t count = irpa_archive_map(archive, tensor_end - 10, 1000000, segments, 4, &covered);
    assert_int_equal(covered, archive->file_size - (tensor_end - 10));
    assert_int_equal(count, archive->file_size > tensor_end ? 2 : 1);
    /* The last page of the source, first in storage. */
    irpa_segment first = one_segment(archive, archive->storage_offset + 4000, 96);
    assert_int_equal(first.kind, IRPA_SEGMENT_SOURCE);
    assert_int_equal(first.source_offset, source_size - 96);
    /* Nothing past the end. */
    assert_int_equal(irpa_archive_map(archive, archive->file_size, 10, segments, 4, &covered), 0);
    assert_int_equal(covered, 0);
    assert_int_equal(irpa_archive_map(archive, UINT64_MAX, 10, segments, 4, &covered), 0);
    irpa_archive_free(archive);
}

/* An archive past 2^63 bytes (the same range three times) lays out and maps
 * with 64-bit offsets (irpafs refuses to serve it: off_t is signed). */
static void test_archive_past_2_63(void **state) {
    (void)state;
    uint64_t length = TWO_TO_62 + (TWO_TO_62 >> 1);  /* 1.5 * 2^62 */
    irpa_archive *archive = archive_with_fake_source(length);
    add_data(archive, "a", 0, length);
    add_data(archive, "b", 0, length);
    irpa_errors errors = {0};
    assert_int_equal(irpa_archive_finish(archive, &errors), 0);
    assert_true(archive->file_size > TWO_TO_63);
    uint64_t b_start = archive->storage_offset + archive->entries[1].storage_offset;
    irpa_segment near_end = one_segment(archive, b_start + length - 64, 64);
    assert_int_equal(near_end.kind, IRPA_SEGMENT_SOURCE);
    assert_int_equal(near_end.source_offset, length - 64);
    irpa_segment past_2_63 = one_segment(archive, TWO_TO_63 + 12345, 8);
    assert_int_equal(past_2_63.kind, IRPA_SEGMENT_SOURCE);
    assert_int_equal(past_2_63.source_offset, TWO_TO_63 + 12345 - b_start);
    irpa_archive_free(archive);
}

/* Layouts that would pass 2^64 - 1 are refused with a message, never wrapped. */
static void test_layout_past_2_64_is_refused(void **state) {
    (void)state;
    uint64_t length = TWO_TO_63 - 2;
    irpa_archive *archive = archive_with_fake_source(length);
    add_data(archive, "a", 0, length);
    add_data(archive, "b", 0, length);
    add_data(archive, "c", 0, length);
    irpa_errors errors = {0};
    assert_int_equal(irpa_archive_finish(archive, &errors), -1);
    assert_int_equal(errors.count, 1);
    assert_non_null(strstr(errors.messages[0], "overflows 64 bits"));
    irpa_errors_clear(&errors);
    irpa_archive_free(archive);

    /* Two storage segments of 2^63 - 64 and padding: just past 2^64 - 4096. */
    archive = archive_with_fake_source(UINT64_MAX);
    add_data(archive, "x", 0, TWO_TO_63);
    add_data(archive, "y", 0, TWO_TO_63 - 4096);
    assert_int_equal(irpa_archive_finish(archive, &errors), -1);
    irpa_errors_clear(&errors);
    irpa_archive_free(archive);

    /* A range whose end passes 2^64. */
    archive = archive_with_fake_source(UINT64_MAX);
    assert_int_equal(irpa_archive_add_data(archive, "z", 0, UINT64_MAX - 10, 11, NULL, 0, "m.yaml:3:5",
                                           &errors),
                     -1);
    assert_non_null(strstr(errors.messages[0], "overflows 64 bits"));
    irpa_errors_clear(&errors);
    irpa_archive_free(archive);
}

/* 100,000 entries of pseudo-random lengths: every map of a random range
 * agrees with a linear walk over the entries; map time printed. */
#define MANY 100000
static uint64_t next_random(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Where archive byte `offset` comes from, by walking every entry:
 * the source offset, or UINT64_MAX for header or padding. */
static uint64_t linear_source_offset(const irpa_archive *archive, uint64_t offset) {
    if (offset < archive->storage_offset) return UINT64_MAX;
    uint64_t storage = offset - archive->storage_offset;
    for (size_t i = 0; i < archive->entry_count; i++) {
        const irpa_entry *entry = &archive->entries[i];
        if (storage >= entry->storage_offset && storage < entry->storage_offset + entry->length)
            return entry->source_offset + (storage - entry->storage_offset);
    }
    return UINT64_MAX;
}

static void test_100000_entries(void **state) {
    (void)state;
    uint64_t random_state = 88172645463325252ull;
    uint64_t source_size = UINT64_C(1) << 40;
    irpa_archive *archive = archive_with_fake_source(source_size);
    char name[32];
    for (size_t i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "blk.%zu.weight", i);
        uint64_t length = 1 + next_random(&random_state) % 5000;
        add_data(archive, name, next_random(&random_state) % (source_size - length), length);
    }
    irpa_errors errors = {0};
    /* A duplicate among 100,000 names is still found. */
    assert_int_equal(irpa_archive_add_data(archive, "blk.77777.weight", 0, 1, 1, NULL, 0, "m", &errors), -1);
    irpa_errors_clear(&errors);
    assert_int_equal(irpa_archive_finish(archive, &errors), 0);
    assert_int_equal(read_u64(archive->head + IRPA_HEADER_AT(entry_count)), MANY);
    for (int sample = 0; sample < 2000; sample++) {
        uint64_t offset = next_random(&random_state) % archive->file_size;
        irpa_segment segment = one_segment(archive, offset, 1);
        uint64_t expected = linear_source_offset(archive, offset);
        if (expected == UINT64_MAX) {
            assert_int_not_equal(segment.kind, IRPA_SEGMENT_SOURCE);
        } else {
            assert_int_equal(segment.kind, IRPA_SEGMENT_SOURCE);
            assert_int_equal(segment.source_offset, expected);
        }
    }
    /* 1 MiB windows: consecutive segments that cover the window exactly. */
    irpa_segment segments[4096];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    uint64_t total_segments = 0;
    for (int sample = 0; sample < 20000; sample++) {
        uint64_t offset = next_random(&random_state) % archive->file_size;
        uint64_t covered = 0;
        size_t count = irpa_archive_map(archive, offset, 1 << 20, segments, 4096, &covered);
        uint64_t sum = 0;
        for (size_t i = 0; i < count; i++) sum += segments[i].length;
        assert_int_equal(sum, covered);
        assert_true(covered > 0);
        total_segments += count;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("100,000 entries, %llu-byte archive: 20,000 maps of 1 MiB (%llu segments) in %.3f s\n",
           (unsigned long long)archive->file_size, (unsigned long long)total_segments, seconds);
    irpa_archive_free(archive);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_near_2_63),
        cmocka_unit_test(test_archive_past_2_63),
        cmocka_unit_test(test_layout_past_2_64_is_refused),
        cmocka_unit_test(test_100000_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
