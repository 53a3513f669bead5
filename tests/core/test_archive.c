/* Unit tests of the IRPA layout and archive_map (core/archive.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "build.h"
#include "irpa_format.h"
#include "le.h"

static uint64_t get_u64(const uint8_t *at) { return irpa_le64(at); }

/* A temporary source file of `size` bytes, byte i = (i * 7 + 3) & 0xff in
 * the first `filled` bytes, a sparse hole after. */
static irpa_source make_source(uint64_t size, uint64_t filled) {
    char path[] = "/tmp/irpa-test-source-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    uint8_t *bytes = malloc(filled ? filled : 1);
    for (uint64_t i = 0; i < filled; i++) bytes[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(write(fd, bytes, filled), (ssize_t)filled);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    free(bytes);
    close(fd);
    irpa_source source;
    irpa_errors errors = {0};
    assert_int_equal(irpa_source_open(&source, path, NULL, &errors), 0);
    unlink(path);
    return source;
}

static irpa_archive *new_archive(void) {
    irpa_errors errors = {0};
    irpa_archive *archive = irpa_archive_new(64, &errors);
    assert_non_null(archive);
    return archive;
}

static void finish(irpa_archive *archive) {
    irpa_errors errors = {0};
    int status = irpa_archive_finish(archive, &errors);
    if (status != 0) irpa_errors_print(&errors, stderr, "finish: ");
    assert_int_equal(status, 0);
    irpa_errors_clear(&errors);
}

/* Reads the whole archive through irpa_archive_read. */
static uint8_t *read_all(const irpa_archive *archive) {
    uint8_t *bytes = malloc(archive->file_size);
    assert_int_equal(irpa_archive_read(archive, 0, archive->file_size, bytes),
                     (int64_t)archive->file_size);
    return bytes;
}

/* irpa_format.h says what the spec's tables say (../shared/docs/irpa-format.md). */
static void test_format_matches_the_spec(void **state) {
    (void)state;
    static const struct { size_t at, expected; } fields[] = {
        {IRPA_HEADER_AT(magic), 0}, {IRPA_HEADER_AT(version_major), 4},
        {IRPA_HEADER_AT(version_minor), 6}, {IRPA_HEADER_AT(header_size), 8},
        {IRPA_HEADER_AT(next_header_offset), 16}, {IRPA_HEADER_AT(flags), 24},
        {IRPA_HEADER_AT(entry_count), 32}, {IRPA_HEADER_AT(entry_segment.offset), 40},
        {IRPA_HEADER_AT(entry_segment.length), 48}, {IRPA_HEADER_AT(metadata_segment.offset), 56},
        {IRPA_HEADER_AT(metadata_segment.length), 64}, {IRPA_HEADER_AT(storage_segment.offset), 72},
        {IRPA_HEADER_AT(storage_segment.length), 80}, {IRPA_ENTRY_AT(entry_size), 0},
        {IRPA_ENTRY_AT(type), 8}, {IRPA_ENTRY_AT(flags), 12}, {IRPA_ENTRY_AT(name.offset), 20},
        {IRPA_ENTRY_AT(name.length), 28}, {IRPA_ENTRY_AT(metadata.offset), 36},
        {IRPA_ENTRY_AT(metadata.length), 44}, {IRPA_ENTRY_AT(minimum_alignment), 52},
        {IRPA_DATA_AT(storage.offset), 60}, {IRPA_DATA_AT(storage.length), 68},
        {IRPA_SPLAT_AT(length), 60}, {IRPA_SPLAT_AT(pattern), 68},
        {IRPA_SPLAT_AT(pattern_length), 84},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        assert_int_equal(fields[i].at, fields[i].expected);
    assert_int_equal(irpa_entry_type_size(IRPA_ENTRY_SKIP), 60);
    assert_int_equal(irpa_entry_type_size(IRPA_ENTRY_SPLAT), 85);
    assert_int_equal(irpa_entry_type_size(IRPA_ENTRY_DATA), 76);
    assert_int_equal(irpa_entry_type_size(IRPA_ENTRY_EXTERNAL), 0);
    assert_int_equal(irpa_entry_type_size(9), 0);
    assert_int_equal(irpa_entry_stride(76), 80);
    assert_int_equal(irpa_entry_stride(85), 96);
    assert_int_equal(irpa_entry_stride(64), 64);
    assert_int_equal(irpa_le32((const uint8_t *)"IRPA"), IRPA_MAGIC);
}

static void test_empty_archive_is_4096_bytes(void **state) {
    (void)state;
    irpa_archive *archive = new_archive();
    finish(archive);
    assert_int_equal(archive->file_size, 4096);
    uint8_t *bytes = read_all(archive);
    assert_memory_equal(bytes, "IRPA", 4);
    assert_int_equal(get_u64(bytes + IRPA_HEADER_AT(header_size)), 88);
    size_t segments[] = {IRPA_HEADER_AT(entry_segment), IRPA_HEADER_AT(metadata_segment),
                         IRPA_HEADER_AT(storage_segment)};
    for (int segment = 0; segment < 3; segment++) {
        const uint8_t *at = bytes + segments[segment];
        assert_int_equal(get_u64(at + offsetof(irpa_format_segment, offset)), 96);
        assert_int_equal(get_u64(at + offsetof(irpa_format_segment, length)), 0);
    }
    for (int i = 88; i < 4096; i++) assert_int_equal(bytes[i], 0);
    free(bytes);
    irpa_archive_free(archive);
}

static void test_four_entries_land_at_448_512_576_640(void **state) {
    (void)state;
    irpa_archive *archive = new_archive();
    irpa_source source = make_source(128, 128);
    irpa_errors errors = {0};
    assert_int_equal(irpa_archive_add_source(archive, &source, &errors), 0);
    const char *names[] = {"a0", "a1", "b0", "b1"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(irpa_archive_add_data(archive, names[i], 0, 32 * (uint64_t)i, 32, NULL,
                                               0, NULL, &errors), 0);
    finish(archive);
    assert_int_equal(archive->entry_table_length, 316);
    assert_int_equal(archive->storage_offset, 448);
    assert_int_equal(archive->file_size, 4096);
    uint8_t *bytes = read_all(archive);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(archive->storage_offset + archive->entries[i].storage_offset,
                         448 + 64 * i);
        for (int b = 0; b < 32; b++)
            assert_int_equal(bytes[448 + 64 * i + b], (uint8_t)((32 * i + b) * 7 + 3));
    }
    /* entry_size, type and minimum_alignment of the third entry (at 96 + 2*80) */
    const uint8_t *third = bytes + 256;
    assert_int_equal(get_u64(third + IRPA_ENTRY_AT(entry_size)), 76);
    assert_int_equal(third[IRPA_ENTRY_AT(type)], 2);
    assert_int_equal(get_u64(third + IRPA_ENTRY_AT(minimum_alignment)), 64);
    free(bytes);
    irpa_archive_free(archive);
}

static void test_splat_entry_bytes(void **state) {
    (void)state;
    irpa_archive *archive = new_archive();
    irpa_errors errors = {0};
    const uint8_t one[4] = {0x00, 0x00, 0x80, 0x3f};
    assert_int_equal(irpa_archive_add_splat(archive, "ones", one, 4, 32, "m", 1, NULL, &errors),
                     0);
    finish(archive);
    uint8_t *bytes = read_all(archive);
    const uint8_t *entry = bytes + 96;
    assert_int_equal(get_u64(entry + IRPA_ENTRY_AT(entry_size)), 85);
    assert_int_equal(entry[IRPA_ENTRY_AT(type)], 1);
    assert_int_equal(get_u64(entry + IRPA_ENTRY_AT(name.offset)), 0);
    assert_int_equal(get_u64(entry + IRPA_ENTRY_AT(name.length)), 4);
    assert_int_equal(get_u64(entry + IRPA_ENTRY_AT(metadata.offset)), 4);
    assert_int_equal(get_u64(entry + IRPA_ENTRY_AT(metadata.length)), 1);
    assert_int_equal(get_u64(entry + IRPA_ENTRY_AT(minimum_alignment)), 0);
    assert_int_equal(get_u64(entry + IRPA_SPLAT_AT(length)), 32);
    assert_memory_equal(entry + IRPA_SPLAT_AT(pattern), one, 4);
    assert_int_equal(entry[IRPA_SPLAT_AT(pattern_length)], 4);
    /* no data entry: storage starts right after the metadata, unrounded */
    assert_int_equal(archive->storage_offset, 96 + 85 + 5);
    assert_memory_equal(bytes + 96 + 85, "onesm", 5);
    assert_int_equal(archive->file_size, 4096);
    free(bytes);
    irpa_archive_free(archive);
}

static void test_bad_splats_and_names_are_refused(void **state) {
    (void)state;
    irpa_archive *archive = new_archive();
    irpa_errors errors = {0};
    const uint8_t pattern[16] = {0};
    assert_int_equal(irpa_archive_add_splat(archive, "x", pattern, 3, 30, NULL, 0, "m:1:1",
                                            &errors), -1);
    assert_string_equal(errors.messages[0], "m:1:1: splat pattern of 3 bytes; expected 1, 2, 4, 8 or 16");
    assert_int_equal(irpa_archive_add_splat(archive, "x", pattern, 4, 30, NULL, 0, "m:2:1",
                                            &errors), -1);
    assert_string_equal(errors.messages[1], "m:2:1: splat pattern of 4 bytes does not divide length 30");
    assert_int_equal(irpa_archive_add_splat(archive, "", pattern, 4, 32, NULL, 0, "m:3:1",
                                            &errors), -1);
    assert_string_equal(errors.messages[2], "m:3:1: empty entry name");
    assert_int_equal(irpa_archive_add_splat(archive, "x", pattern, 4, 32, NULL, 0, "m:4:1",
                                            &errors), 0);
    assert_int_equal(irpa_archive_add_splat(archive, "x", pattern, 4, 32, NULL, 0, "m:5:1",
                                            &errors), -1);
    assert_string_equal(errors.messages[3], "m:5:1: duplicate entry name 'x' (entry 1 has it already)");
    irpa_errors_clear(&errors);
    irpa_archive_free(archive);
    assert_null(irpa_archive_new(48, &errors));
    assert_string_equal(errors.messages[0], "alignment 48 is not a power of two");
    irpa_errors_clear(&errors);
}

static void test_ranges_past_source_or_overflowing_are_refused(void **state) {
    (void)state;
    irpa_archive *archive = new_archive();
    irpa_source source = make_source(100, 100);
    irpa_errors errors = {0};
    irpa_archive_add_source(archive, &source, &errors);
    assert_int_equal(irpa_archive_add_data(archive, "a", 0, 90, 11, NULL, 0, "m:1:1", &errors),
                     -1);
    assert_non_null(strstr(errors.messages[0], "m:1:1: bytes 90..101 are past the end of source"));
    assert_non_null(strstr(errors.messages[0], "(100 bytes)"));
    assert_int_equal(irpa_archive_add_data(archive, "a", 0, UINT64_MAX, 2, NULL, 0, "m:2:1",
                                           &errors), -1);
    assert_string_equal(errors.messages[1],
                        "m:2:1: offset 18446744073709551615 + length 2 overflows 64 bits");
    irpa_errors_clear(&errors);
    irpa_archive_free(archive);
}

/* A 5 GiB tensor from a sparse 6 GiB source: offsets past 4 GiB everywhere. */
static void test_tensor_and_archive_over_4_gib(void **state) {
    (void)state;
    const uint64_t gib = 1ull << 30;
    irpa_archive *archive = new_archive();
    irpa_source source = make_source(6 * gib, 4096);
    irpa_errors errors = {0};
    irpa_archive_add_source(archive, &source, &errors);
    assert_int_equal(irpa_archive_add_data(archive, "small", 0, 0, 100, NULL, 0, NULL, &errors), 0);
    assert_int_equal(irpa_archive_add_data(archive, "huge", 0, 1, 5 * gib, NULL, 0, NULL, &errors), 0);
    assert_int_equal(irpa_archive_add_data(archive, "tail", 0, 6 * gib - 10, 10, NULL, 0, NULL, &errors), 0);
    finish(archive);
    const irpa_entry *huge = &archive->entries[1];
    const irpa_entry *tail = &archive->entries[2];
    assert_int_equal(huge->storage_offset, 128);
    assert_int_equal(tail->storage_offset, 128 + 5 * gib); /* already 64-aligned */
    assert_int_equal(archive->storage_length, 128 + 5 * gib + 10);
    uint64_t end = archive->storage_offset + archive->storage_length;
    assert_int_equal(archive->file_size, (end + 4095) / 4096 * 4096);
    assert_true(archive->file_size > 5 * gib);
    /* The header records the 64-bit storage length. */
    assert_int_equal(get_u64(archive->head + IRPA_HEADER_AT(storage_segment.length)),
                     archive->storage_length);
    /* Map a window straddling the end of the huge tensor. */
    uint64_t at = archive->storage_offset + 128 + 5 * gib - 8;
    irpa_segment segments[8];
    uint64_t covered;
    size_t count = irpa_archive_map(archive, at, 32, segments, 8, &covered);
    assert_int_equal(covered, 32);
    assert_int_equal(count, 3);
    assert_int_equal(segments[0].kind, IRPA_SEGMENT_SOURCE);
    assert_int_equal(segments[0].source_offset, 1 + 5 * gib - 8);
    assert_int_equal(segments[0].length, 8);
    assert_int_equal(segments[1].kind, IRPA_SEGMENT_SOURCE);
    assert_int_equal(segments[1].source_offset, 6 * gib - 10);
    assert_int_equal(segments[1].length, 10);
    assert_int_equal(segments[2].kind, IRPA_SEGMENT_ZERO); /* padding to 4096 */
    assert_int_equal(segments[2].length, 14);
    irpa_archive_free(archive);
}

/* Every byte of an archive with gaps, splats and empty entries maps to the
 * same bytes whatever the window, and windows are contiguous. */
static void test_map_windows_agree_with_whole_read(void **state) {
    (void)state;
    irpa_archive *archive = new_archive();
    irpa_source source = make_source(10000, 10000);
    irpa_errors errors = {0};
    irpa_archive_add_source(archive, &source, &errors);
    const uint8_t zero[2] = {0};
    irpa_archive_add_data(archive, "d0", 0, 5, 1000, NULL, 0, NULL, &errors);
    irpa_archive_add_splat(archive, "s0", zero, 2, 64, NULL, 0, NULL, &errors);
    irpa_archive_add_data(archive, "empty", 0, 0, 0, NULL, 0, NULL, &errors);
    irpa_archive_add_data(archive, "d1", 0, 3000, 1, "meta", 4, NULL, &errors);
    irpa_archive_add_data(archive, "d2", 0, 7, 4097, NULL, 0, NULL, &errors);
    assert_int_equal(errors.count, 0);
    finish(archive);
    uint8_t *whole = read_all(archive);
    uint8_t *window = malloc(archive->file_size);
    srand(42);
    for (int trial = 0; trial < 2000; trial++) {
        uint64_t offset = (uint64_t)rand() % (archive->file_size + 10);
        uint64_t length = (uint64_t)rand() % 5000;
        int64_t got = irpa_archive_read(archive, offset, length, window);
        uint64_t expect = offset >= archive->file_size ? 0
                          : length < archive->file_size - offset ? length
                                                                 : archive->file_size - offset;
        assert_int_equal(got, (int64_t)expect);
        if (expect) assert_memory_equal(window, whole + offset, expect);
    }
    /* data bytes are where the layout says */
    const irpa_entry *d2 = &archive->entries[4];
    for (int i = 0; i < 4097; i++)
        assert_int_equal(whole[archive->storage_offset + d2->storage_offset + i],
                         (uint8_t)((7 + i) * 7 + 3));
    free(window);
    free(whole);
    irpa_archive_free(archive);
}

/* Tensors stored back to back in a source, and back to back in the
 * archive, come out as one segment: one copy or splice for all of them. */
static void test_back_to_back_tensors_map_to_one_segment(void **state) {
    (void)state;
    irpa_archive *archive = new_archive();
    irpa_source source = make_source(4096, 4096);
    irpa_errors errors = {0};
    irpa_archive_add_source(archive, &source, &errors);
    irpa_archive_add_data(archive, "a", 0, 100, 128, NULL, 0, NULL, &errors);
    irpa_archive_add_data(archive, "b", 0, 228, 64, NULL, 0, NULL, &errors);
    irpa_archive_add_data(archive, "c", 0, 1000, 64, NULL, 0, NULL, &errors); /* a jump */
    finish(archive);
    irpa_segment segments[8];
    uint64_t covered;
    size_t count = irpa_archive_map(archive, archive->storage_offset, 256, segments, 8, &covered);
    assert_int_equal(covered, 256);
    assert_int_equal(count, 2);
    assert_int_equal(segments[0].source_offset, 100);
    assert_int_equal(segments[0].length, 192);
    assert_int_equal(segments[1].source_offset, 1000);
    assert_int_equal(segments[1].length, 64);
    irpa_archive_free(archive);
}

/* An archive of two 1 MiB tensors of one source: the first at a source
 * offset on the same place within a page as its place in the archive (so
 * irpa build copies it with copy_file_range), the second a page offset
 * that differs by 100 bytes (copied through a buffer). */
static irpa_archive *two_tensor_archive(irpa_source *source, uint64_t first_offset,
                                        uint64_t second_offset) {
    irpa_errors errors = {0};
    irpa_archive *archive = new_archive();
    assert_int_equal(irpa_archive_add_source(archive, source, &errors), 0);
    assert_int_equal(irpa_archive_add_data(archive, "lined_up", 0, first_offset, 1 << 20, NULL,
                                           0, NULL, &errors), 0);
    assert_int_equal(irpa_archive_add_data(archive, "shifted", 0, second_offset, 1 << 20, NULL,
                                           0, NULL, &errors), 0);
    finish(archive);
    return archive;
}

static void test_build_writes_what_read_returns_both_ways(void **state) {
    (void)state;
    /* A first layout tells where the tensors land in the archive. */
    irpa_source probe = make_source(4 << 20, 4 << 20);
    irpa_archive *layout = two_tensor_archive(&probe, 0, 0);
    uint64_t first_at = layout->storage_offset + layout->entries[0].storage_offset;
    uint64_t second_at = layout->storage_offset + layout->entries[1].storage_offset;
    irpa_archive_free(layout);

    irpa_source source = make_source(4 << 20, 4 << 20);
    irpa_archive *archive =
        two_tensor_archive(&source, 4096 + first_at % 4096, 8192 + (second_at + 100) % 4096);
    char path[] = "/tmp/irpa-test-build-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    irpa_errors errors = {0};
    assert_int_equal(irpa_build_to_path(archive, path, NULL, NULL, &errors), 0);
    uint8_t *expected = read_all(archive);
    uint8_t *built = malloc(archive->file_size);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, built, archive->file_size, 0), (ssize_t)archive->file_size);
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)archive->file_size);
    close(fd);
    unlink(path);
    assert_memory_equal(built, expected, archive->file_size);
    /* and the bytes are the source's, where the entries say */
    const uint8_t *shifted = expected + second_at;
    uint64_t shifted_source = 8192 + (second_at + 100) % 4096;
    for (uint64_t i = 0; i < 1 << 20; i += 4099)
        assert_int_equal(shifted[i], (uint8_t)((shifted_source + i) * 7 + 3));
    free(expected);
    free(built);
    irpa_archive_free(archive);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_matches_the_spec),
        cmocka_unit_test(test_empty_archive_is_4096_bytes),
        cmocka_unit_test(test_four_entries_land_at_448_512_576_640),
        cmocka_unit_test(test_splat_entry_bytes),
        cmocka_unit_test(test_bad_splats_and_names_are_refused),
        cmocka_unit_test(test_ranges_past_source_or_overflowing_are_refused),
        cmocka_unit_test(test_tensor_and_archive_over_4_gib),
        cmocka_unit_test(test_map_windows_agree_with_whole_read),
        cmocka_unit_test(test_back_to_back_tensors_map_to_one_segment),
        cmocka_unit_test(test_build_writes_what_read_returns_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
