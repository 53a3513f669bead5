/* test_inspect.c: irpa_inspect_memory on crafted archives, one defect at a
 * time, and on IREE's reference archives. Every error must name the file,
 * the byte offset and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "inspect.h"
#include "inspect_print.h"
#include "irpa_format.h"
#include "le.h"
#include "text.h"

/* ---- a small independent writer of canonical archives -------------------- */

/* Field offsets (irpa_format.h): of the header, an entry, a data entry, a splat. */
#define H(field) IRPA_HEADER_AT(field)
#define E(field) IRPA_ENTRY_AT(field)
#define D(field) IRPA_DATA_AT(field)
#define S(field) IRPA_SPLAT_AT(field)

typedef struct spec {
    const char *name;      /* entry key */
    int type;              /* IRPA_ENTRY_DATA or _SPLAT */
    uint64_t length;       /* bytes of the parameter */
    uint8_t fill;          /* DATA: every data byte */
    uint8_t pattern[16];   /* SPLAT: the pattern */
    uint8_t pattern_length; /* SPLAT: its length */
    const char *metadata;  /* metadata text or NULL */
} spec;

typedef struct crafted {
    uint8_t *bytes;                 /* the file */
    uint64_t size;                  /* its size */
    uint64_t entry_offset[8];       /* where each entry record starts */
    uint64_t data_start[8];         /* DATA: absolute offset of the bytes */
    uint64_t metadata_offset;       /* metadata segment offset */
    uint64_t storage_offset;        /* storage segment offset */
} crafted;

static uint64_t align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

static void put64(uint8_t *at, uint64_t value) { irpa_put_le64(at, value); }

static uint64_t get64(const uint8_t *at) { return irpa_le64(at); }

static uint64_t record_size(const spec *s) { return irpa_entry_type_size((uint32_t)s->type); }

/* Lays the entries out as IREE's builder does (irpa-format.md). */
static crafted craft(const spec *specs, size_t count) {
    crafted c = {0};
    uint64_t position = IRPA_ENTRY_TABLE_OFFSET, entry_end = IRPA_ENTRY_TABLE_OFFSET;
    for (size_t i = 0; i < count; i++) {
        position = align_up(position, IRPA_ENTRY_ALIGNMENT);
        c.entry_offset[i] = position;
        position += record_size(&specs[i]);
        entry_end = position;
    }
    c.metadata_offset = entry_end;
    uint64_t metadata_end = c.metadata_offset;
    for (size_t i = 0; i < count; i++)
        metadata_end += strlen(specs[i].name) +
                        (specs[i].metadata ? strlen(specs[i].metadata) : 0);
    bool any_data = false;
    for (size_t i = 0; i < count; i++) any_data |= specs[i].type == IRPA_ENTRY_DATA;
    c.storage_offset = any_data ? align_up(metadata_end, IRPA_DEFAULT_ALIGNMENT) : metadata_end;
    uint64_t storage_length = 0;
    for (size_t i = 0; i < count; i++) {
        if (specs[i].type != IRPA_ENTRY_DATA) continue;
        uint64_t relative = align_up(storage_length, IRPA_DEFAULT_ALIGNMENT);
        c.data_start[i] = c.storage_offset + relative;
        storage_length = relative + specs[i].length;
    }
    c.size = align_up(c.storage_offset + storage_length, IRPA_FILE_ALIGNMENT);
    if (c.size == 0) c.size = IRPA_FILE_ALIGNMENT;
    c.bytes = calloc(1, c.size);
    assert_non_null(c.bytes);
    uint8_t *b = c.bytes;
    irpa_put_le32(b + H(magic), IRPA_MAGIC);
    put64(b + H(header_size), IRPA_HEADER_SIZE);
    put64(b + H(entry_count), count);
    put64(b + H(entry_segment.offset), IRPA_ENTRY_TABLE_OFFSET);
    put64(b + H(entry_segment.length), entry_end - IRPA_ENTRY_TABLE_OFFSET);
    put64(b + H(metadata_segment.offset), count ? c.metadata_offset : IRPA_ENTRY_TABLE_OFFSET);
    put64(b + H(metadata_segment.length), metadata_end - c.metadata_offset);
    put64(b + H(storage_segment.offset), count ? c.storage_offset : IRPA_ENTRY_TABLE_OFFSET);
    put64(b + H(storage_segment.length), storage_length);
    uint64_t metadata_at = 0;
    for (size_t i = 0; i < count; i++) {
        const spec *s = &specs[i];
        uint8_t *e = b + c.entry_offset[i];
        uint64_t name_length = strlen(s->name);
        uint64_t metadata_length = s->metadata ? strlen(s->metadata) : 0;
        put64(e + E(entry_size), record_size(s));
        irpa_put_le32(e + E(type), (uint32_t)s->type);
        put64(e + E(name.offset), metadata_at);
        put64(e + E(name.length), name_length);
        memcpy(b + c.metadata_offset + metadata_at, s->name, name_length);
        metadata_at += name_length;
        if (metadata_length) {
            put64(e + E(metadata.offset), metadata_at);
            put64(e + E(metadata.length), metadata_length);
            memcpy(b + c.metadata_offset + metadata_at, s->metadata, metadata_length);
            metadata_at += metadata_length;
        }
        if (s->type == IRPA_ENTRY_DATA) {
            put64(e + E(minimum_alignment), IRPA_DEFAULT_ALIGNMENT);
            put64(e + D(storage.offset), c.data_start[i] - c.storage_offset);
            put64(e + D(storage.length), s->length);
            memset(b + c.data_start[i], s->fill, s->length);
        } else {
            put64(e + S(length), s->length);
            memcpy(e + S(pattern), s->pattern, s->pattern_length);
            e[S(pattern_length)] = s->pattern_length;
        }
    }
    return c;
}

/* Three entries: a0 (100 bytes of 0x11, with metadata), s (splat f32 1.0),
 * b1 (32 bytes of 0x22). */
static const spec three[] = {
    {"a0", IRPA_ENTRY_DATA, 100, 0x11, {0}, 0, "PYTORCH:{\"type\": \"Tensor\"}"},
    {"s", IRPA_ENTRY_SPLAT, 32, 0, {0x00, 0x00, 0x80, 0x3f}, 4, NULL},
    {"b1", IRPA_ENTRY_DATA, 32, 0x22, {0}, 0, NULL},
};

static crafted craft_three(void) { return craft(three, 3); }

/* ---- helpers ------------------------------------------------------------ */

typedef struct result {
    int status;            /* irpa_inspect_memory's return */
    irpa_inspected_archive inspected;  /* what was read */
    irpa_errors errors;    /* errors reported */
} result;

static result inspect(const crafted *c) {
    result r = {0};
    r.status = irpa_inspect_memory("x.irpa", c->bytes, c->size, &r.inspected, &r.errors);
    return r;
}

static void release(result *r, crafted *c) {
    irpa_inspected_archive_free(&r->inspected);
    irpa_errors_clear(&r->errors);
    free(c->bytes);
}

static bool has_message(const irpa_errors *list, const char *text) {
    for (size_t i = 0; i < list->count; i++)
        if (strstr(list->messages[i], text)) return true;
    return false;
}

static void dump(const char *what, const irpa_errors *list) {
    for (size_t i = 0; i < list->count; i++) print_message("%s: %s\n", what, list->messages[i]);
}

/* Asserts the inspection failed with an error containing `text`. */
static void expect_error(result *r, const char *text) {
    if (r->status != IRPA_INSPECT_MALFORMED || !has_message(&r->errors, text)) {
        dump("error", &r->errors);
        print_message("expected an error containing: %s\n", text);
        fail();
    }
}

/* Asserts a warning containing `text` and, when `alone`, no error. */
static void expect_warning_of(result *r, const char *text, bool alone) {
    if (!has_message(&r->inspected.warnings, text) ||
        (alone && (r->status != IRPA_INSPECT_OK || r->errors.count != 0))) {
        dump("error", &r->errors);
        dump("warning", &r->inspected.warnings);
        print_message("expected a warning%s containing: %s\n", alone ? " and no error" : "",
                      text);
        fail();
    }
}

/* Asserts the inspection succeeded with a warning containing `text`. */
static void expect_warning(result *r, const char *text) { expect_warning_of(r, text, true); }

/* Every error starts with "x.irpa: offset N: ". */
static void expect_errors_located(const result *r) {
    for (size_t i = 0; i < r->errors.count; i++)
        assert_true(!strncmp(r->errors.messages[i], "x.irpa: offset ", 15));
}

/* ---- valid archives -------------------------------------------------------- */

static void valid_archive_is_listed(void **state) {
    (void)state;
    crafted c = craft_three();
    result r = inspect(&c);
    dump("error", &r.errors);
    dump("warning", &r.inspected.warnings);
    dump("note", &r.inspected.notes);
    assert_int_equal(r.status, IRPA_INSPECT_OK);
    assert_int_equal(r.errors.count, 0);
    assert_int_equal(r.inspected.warnings.count, 0);
    assert_int_equal(r.inspected.notes.count, 0);
    assert_int_equal(r.inspected.entry_count, 3);
    assert_int_equal(r.inspected.total_bytes, 164);
    const irpa_inspected_entry *a0 = &r.inspected.entries[0];
    assert_int_equal(a0->type, IRPA_ENTRY_DATA);
    assert_int_equal(a0->start, c.data_start[0]);
    assert_int_equal(a0->end, c.data_start[0] + 100);
    assert_int_equal(a0->name_length, 2);
    assert_memory_equal(a0->name, "a0", 2);
    assert_int_equal(a0->metadata_length, strlen(three[0].metadata));
    const irpa_inspected_entry *s = &r.inspected.entries[1];
    assert_int_equal(s->type, IRPA_ENTRY_SPLAT);
    assert_int_equal(s->pattern_length, 4);
    assert_int_equal(s->length, 32);
    assert_int_equal(r.inspected.entries[2].start, c.data_start[2]);
    assert_int_equal(c.data_start[2] % 64, 0);
    release(&r, &c);
}

static void empty_archive_is_valid(void **state) {
    (void)state;
    crafted c = craft(NULL, 0);
    result r = inspect(&c);
    dump("error", &r.errors);
    assert_int_equal(r.status, IRPA_INSPECT_OK);
    assert_int_equal(r.inspected.entry_count, 0);
    release(&r, &c);
}

/* noinline: gcc 12 at -O3 mistakes the open_memstream buffer for a dangling local */
__attribute__((noinline)) static char *capture_text(const irpa_inspected_archive *inspected) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    irpa_print_listing(inspected, out);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void text_output_matches_iree_columns(void **state) {
    (void)state;
    crafted c = craft_three();
    result r = inspect(&c);
    char *text = capture_text(&r.inspected);
    char expected[2048];
    snprintf(expected, sizeof expected,
             "// Parameter scope <global> (3 entries, 164 total bytes)\n"
             "//===------------+------------------+------------------+---------------------"
             "--------------------------------------===//\n"
             "//         Start |              End |           Length | Key\n"
             "//---------------+------------------+------------------+---------------------"
             "-----------------------------------------//\n"
             "%16llu | %16llu |              100 | `a0`  [data]  metadata: "
             "PYTORCH:{\"type\": \"Tensor\"}\n"
             "               - |                - |               32 | `s`  [splat pattern "
             "0000803f]\n"
             "%16llu | %16llu |               32 | `b1`  [data]\n"
             "\n",
             (unsigned long long)c.data_start[0], (unsigned long long)c.data_start[0] + 100,
             (unsigned long long)c.data_start[2], (unsigned long long)c.data_start[2] + 32);
    const char *after_rule = strchr(text, '\n');
    assert_non_null(after_rule);
    size_t rule_length = (size_t)(after_rule - text);
    assert_string_equal(after_rule + 1, expected);
    assert_int_equal(rule_length, 120);
    free(text);
    release(&r, &c);
}

static void binary_metadata_is_shown_as_hex(void **state) {
    (void)state;
    static const spec one[] = {{"k", IRPA_ENTRY_DATA, 8, 1, {0}, 0, "\x01\x02"}};
    crafted c = craft(one, 1);
    result r = inspect(&c);
    assert_int_equal(r.status, IRPA_INSPECT_OK);
    char *text = capture_text(&r.inspected);
    assert_non_null(strstr(text, "`k`  [data]  metadata: hex 0102\n"));
    free(text);
    release(&r, &c);
}

static void json_output_has_every_field(void **state) {
    (void)state;
    crafted c = craft_three();
    result r = inspect(&c);
    json_t *object = irpa_inspected_archive_to_json(&r.inspected, &r.errors);
    assert_non_null(object);
    assert_true(json_is_true(json_object_get(object, "valid")));
    json_t *entries = json_object_get(object, "entries");
    assert_int_equal(json_array_size(entries), 3);
    json_t *a0 = json_array_get(entries, 0);
    assert_string_equal(json_string_value(json_object_get(a0, "name")), "a0");
    assert_string_equal(json_string_value(json_object_get(a0, "type")), "data");
    assert_int_equal(json_integer_value(json_object_get(a0, "start")), c.data_start[0]);
    assert_string_equal(json_string_value(json_object_get(a0, "metadata")), three[0].metadata);
    json_t *s = json_array_get(entries, 1);
    assert_string_equal(json_string_value(json_object_get(s, "pattern")), "0000803f");
    json_t *header = json_object_get(object, "header");
    assert_int_equal(json_integer_value(json_object_get(header, "entry_count")), 3);
    assert_int_equal(json_integer_value(json_object_get(object, "total_bytes")), 164);
    json_decref(object);
    release(&r, &c);
}

static void json_output_carries_errors(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 16, 4096);
    result r = inspect(&c);
    json_t *object = irpa_inspected_archive_to_json(&r.inspected, &r.errors);
    assert_non_null(object);
    assert_true(json_is_false(json_object_get(object, "valid")));
    json_t *errors = json_object_get(object, "errors");
    assert_int_equal(json_array_size(errors), r.errors.count);
    assert_non_null(strstr(json_string_value(json_array_get(errors, 0)), "next_header_offset"));
    json_decref(object);
    release(&r, &c);
}

static void json_output_carries_warnings(void **state) {
    (void)state;
    crafted c = craft_three();
    c.bytes[90] = 1;
    result r = inspect(&c);
    json_t *object = irpa_inspected_archive_to_json(&r.inspected, &r.errors);
    assert_non_null(object);
    assert_true(json_is_true(json_object_get(object, "valid")));
    assert_int_equal(json_array_size(json_object_get(object, "errors")), 0);
    json_t *warnings = json_object_get(object, "warnings");
    assert_int_equal(json_array_size(warnings), 1);
    assert_non_null(strstr(json_string_value(json_array_get(warnings, 0)),
                           "offset 90: warning: non-zero padding"));
    json_decref(object);
    release(&r, &c);
}

/* ---- the header ------------------------------------------------------------ */

static void truncated_header(void **state) {
    (void)state;
    crafted c = craft_three();
    c.size = 50;
    result r = inspect(&c);
    expect_error(&r, "x.irpa: offset 0: file is 50 bytes, shorter than the 88-byte header");
    c.size = 0;
    irpa_inspected_archive_free(&r.inspected);
    irpa_errors_clear(&r.errors);
    r = inspect(&c);
    expect_error(&r, "x.irpa: offset 0: file is 0 bytes, too short");
    release(&r, &c);
}

static void truncated_file(void **state) {
    (void)state;
    crafted c = craft_three();
    uint64_t storage_length = get64(c.bytes + H(storage_segment.length));
    c.size = c.storage_offset + 10;
    result r = inspect(&c);
    char expected[256];
    snprintf(expected, sizeof expected,
             "x.irpa: offset 72: storage_segment.offset %llu + length %llu is past the end of "
             "the file (%llu bytes)", (unsigned long long)c.storage_offset,
             (unsigned long long)storage_length, (unsigned long long)c.size);
    expect_error(&r, expected);
    expect_warning_of(&r, "x.irpa: offset 0: warning: file size", false);
    expect_warning_of(&r, "is not a multiple of 4096", false);
    release(&r, &c);
}

static void wrong_magic(void **state) {
    (void)state;
    crafted c = craft_three();
    c.bytes[0] = 'J';
    result r = inspect(&c);
    expect_error(&r, "x.irpa: offset 0: magic 0x4150524a is not 0x41505249");
    assert_int_equal(r.errors.count, 1);
    release(&r, &c);
}

static void wrong_version(void **state) {
    (void)state;
    crafted c = craft_three();
    c.bytes[4] = 1;
    c.bytes[6] = 2;
    result r = inspect(&c);
    expect_error(&r, "x.irpa: offset 4: version_major 1 is not 0");
    expect_error(&r, "x.irpa: offset 6: version_minor 2 is not 0");
    release(&r, &c);
}

static void wrong_header_size(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 8, 96);
    result r = inspect(&c);
    expect_error(&r, "x.irpa: offset 8: header_size 96 is not 88");
    release(&r, &c);
}

static void chained_archive(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 16, 4096);
    result r = inspect(&c);
    expect_error(&r, "x.irpa: offset 16: next_header_offset 4096 is not 0: chained archives "
                     "are not supported");
    assert_int_equal(r.inspected.entry_count, 3);  /* the rest was still read */
    release(&r, &c);
}

static void header_flags_are_a_warning(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 24, 1);
    result r = inspect(&c);
    expect_warning(&r, "x.irpa: offset 24: warning: header flags 0x1 are not 0");
    release(&r, &c);
}

static void entry_segment_past_end(void **state) {
    (void)state;
    static const spec one[] = {{"a", IRPA_ENTRY_DATA, 8, 1, {0}, 0, NULL}};
    crafted c = craft(one, 1);
    assert_int_equal(c.size, 4096);
    put64(c.bytes + 40, 4096);
    result r = inspect(&c);
    expect_error(&r, "x.irpa: offset 40: entry_segment.offset 4096 + length 76 is past the end "
                     "of the file (4096 bytes)");
    expect_errors_located(&r);
    release(&r, &c);
}

static void segment_overflow(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 56, UINT64_MAX - 4);
    result r = inspect(&c);
    expect_error(&r, "x.irpa: offset 56: metadata_segment.offset 18446744073709551611 + length");
    expect_error(&r, "overflows 64 bits");
    release(&r, &c);
}

/* Names read from the entry table: strange, but IREE loads it. */
static void metadata_over_entries_is_a_warning(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 56, 96);
    result r = inspect(&c);
    expect_warning_of(&r, "x.irpa: offset 56: warning: metadata_segment [96, ", false);
    expect_warning_of(&r, "overlaps entry_segment [96, ", false);
    release(&r, &c);
}

/* A parameter's bytes on the names: an error. */
static void storage_over_metadata(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 72, c.metadata_offset);
    result r = inspect(&c);
    char expected[160];
    snprintf(expected, sizeof expected, "x.irpa: offset 72: storage_segment [%llu, ",
             (unsigned long long)c.metadata_offset);
    expect_error(&r, expected);
    expect_error(&r, "overlaps metadata_segment [");
    release(&r, &c);
}

static void segment_over_header(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 72, 64);
    result r = inspect(&c);
    expect_error(&r, "x.irpa: offset 72: storage_segment [64, ");
    expect_error(&r, "overlaps the header [0, 88)");
    release(&r, &c);
}

/* ---- entries --------------------------------------------------------------- */

static void entry_count_too_large(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 32, 1000000000000ull);
    result r = inspect(&c);
    expect_error(&r, "entry 3: the entry segment has 0 bytes left, fewer than the 60 of an "
                     "entry header (entry_count 1000000000000 at offset 32 is too large");
    expect_errors_located(&r);
    release(&r, &c);
}

static void entry_size_smaller_than_type(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + c.entry_offset[0], 70);
    result r = inspect(&c);
    char expected[128];
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: entry 0: entry_size 70 is "
             "smaller than a data entry (76 bytes)", (unsigned long long)c.entry_offset[0]);
    expect_error(&r, expected);
    release(&r, &c);
}

static void entry_size_below_header(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + c.entry_offset[1], 12);
    result r = inspect(&c);
    expect_error(&r, "entry 1: entry_size 12 is smaller than an entry header (60 bytes)");
    release(&r, &c);
}

static void entry_size_past_segment(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + c.entry_offset[2], 1000);
    result r = inspect(&c);
    expect_error(&r, "entry 2: entry_size 1000 is past the end of the entry segment");
    release(&r, &c);
}

static void larger_entry_size_is_a_warning(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + c.entry_offset[0], 78);  /* the 2 extra bytes are zero padding */
    result r = inspect(&c);
    expect_warning(&r, "entry 0: entry_size 78 is larger than a data entry (76 bytes)");
    release(&r, &c);
}

static void unknown_and_external_types(void **state) {
    (void)state;
    crafted c = craft_three();
    irpa_put_le32(c.bytes + c.entry_offset[0] + E(type), 3);
    irpa_put_le32(c.bytes + c.entry_offset[2] + E(type), 7);
    result r = inspect(&c);
    char expected[160];
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: entry 0: type 3 (external) is not "
             "supported", (unsigned long long)c.entry_offset[0] + 8);
    expect_error(&r, expected);
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: entry 2: unknown type 7",
             (unsigned long long)c.entry_offset[2] + 8);
    expect_error(&r, expected);
    release(&r, &c);
}

static void name_outside_metadata_segment(void **state) {
    (void)state;
    crafted c = craft_three();
    uint64_t metadata_length = get64(c.bytes + H(metadata_segment.length));
    char expected[200];
    put64(c.bytes + c.entry_offset[1] + E(name.offset), metadata_length);
    result r = inspect(&c);
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: entry 1: name.offset %llu + length "
             "1 is past the end of the metadata segment (%llu bytes)",
             (unsigned long long)c.entry_offset[1] + E(name.offset), (unsigned long long)metadata_length,
             (unsigned long long)metadata_length);
    expect_error(&r, expected);
    release(&r, &c);
}

static void metadata_reference_overflow(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + c.entry_offset[0] + E(metadata.offset), UINT64_MAX);
    result r = inspect(&c);
    expect_error(&r, "entry 0: metadata.offset 18446744073709551615 + length 26 overflows 64 bits");
    release(&r, &c);
}

static void data_outside_storage_segment(void **state) {
    (void)state;
    crafted c = craft_three();
    uint64_t storage_length = get64(c.bytes + H(storage_segment.length));
    put64(c.bytes + c.entry_offset[2] + D(storage.length), 64);  /* b1 grows from 32 to 64 bytes */
    result r = inspect(&c);
    char expected[200];
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: entry 2: storage.offset 128 + "
             "length 64 is past the end of the storage segment (%llu bytes)",
             (unsigned long long)c.entry_offset[2] + D(storage.offset), (unsigned long long)storage_length);
    expect_error(&r, expected);
    release(&r, &c);
}

static void storage_reference_overflow(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + c.entry_offset[2] + D(storage.offset), UINT64_MAX - 15);
    result r = inspect(&c);
    expect_error(&r, "entry 2: storage.offset 18446744073709551600 + length 32 overflows 64 bits");
    release(&r, &c);
}

/* IREE does not look at minimum_alignment: a warning. */
static void misaligned_storage_offset_is_a_warning(void **state) {
    (void)state;
    crafted c = craft_three();
    /* move b1's bytes 4 bytes earlier, so that only alignment is wrong */
    uint64_t start = c.data_start[2];
    memmove(c.bytes + start - 4, c.bytes + start, 32);
    memset(c.bytes + start + 28, 0, 4);
    put64(c.bytes + c.entry_offset[2] + D(storage.offset), start - 4 - c.storage_offset);
    put64(c.bytes + 80, get64(c.bytes + H(storage_segment.length)) - 4);
    result r = inspect(&c);
    expect_warning(&r, "entry 2: storage.offset 124 is not a multiple of minimum_alignment 64");
    assert_int_equal(r.inspected.warnings.count, 1);
    release(&r, &c);
}

static void bad_pattern_length(void **state) {
    (void)state;
    crafted c = craft_three();
    uint8_t *splat = c.bytes + c.entry_offset[1];
    splat[S(pattern_length)] = 3;
    result r = inspect(&c);
    char expected[160];
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: warning: entry 1: splat "
             "pattern_length 3 is not 1, 2, 4, 8 or 16", (unsigned long long)c.entry_offset[1] + S(pattern_length));
    expect_error(&r, "entry 1: splat length 32 is not a multiple of pattern_length 3");
    expect_warning_of(&r, expected, false);
    irpa_inspected_archive_free(&r.inspected);
    irpa_errors_clear(&r.errors);
    put64(splat + S(length), 33);  /* 11 repetitions of 3 bytes: IREE loads it, its builder refuses */
    r = inspect(&c);
    expect_warning(&r, expected);
    irpa_inspected_archive_free(&r.inspected);
    irpa_errors_clear(&r.errors);
    splat[S(pattern_length)] = 32;
    r = inspect(&c);
    expect_error(&r, "entry 1: splat pattern_length 32 is not 1, 2, 4, 8 or 16 (IREE rejects");
    irpa_inspected_archive_free(&r.inspected);
    irpa_errors_clear(&r.errors);
    splat[S(pattern_length)] = 0;
    r = inspect(&c);
    expect_error(&r, "entry 1: splat pattern_length 0 is not 1, 2, 4, 8 or 16");
    release(&r, &c);
}

static void splat_length_not_multiple(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + c.entry_offset[1] + S(length), 30);
    result r = inspect(&c);
    char expected[160];
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: entry 1: splat length 30 is not a "
             "multiple of pattern_length 4", (unsigned long long)c.entry_offset[1] + S(length));
    expect_error(&r, expected);
    release(&r, &c);
}

static void pattern_bytes_past_length_are_a_warning(void **state) {
    (void)state;
    crafted c = craft_three();
    uint64_t at = c.entry_offset[1] + S(pattern) + 5;
    c.bytes[at] = 9;
    result r = inspect(&c);
    char expected[160];
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: warning: non-zero padding at offset "
             "%llu (entry 1: pattern byte 5 is past pattern_length 4)", (unsigned long long)at,
             (unsigned long long)at);
    expect_warning(&r, expected);
    release(&r, &c);
}

/* IREE ignores a splat's minimum_alignment; its builder writes 0. */
static void splat_alignment_is_a_warning(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + c.entry_offset[1] + E(minimum_alignment), 3);
    result r = inspect(&c);
    char expected[160];
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: warning: entry 1: splat "
             "minimum_alignment 3 is not 0", (unsigned long long)c.entry_offset[1] + E(minimum_alignment));
    expect_warning(&r, expected);
    assert_int_equal(r.inspected.warnings.count, 1);
    assert_true(r.inspected.entries[1].valid);
    release(&r, &c);
}

/* IREE takes the first on lookup: a warning. */
static void duplicate_names_are_a_warning(void **state) {
    (void)state;
    static const spec twice[] = {
        {"w", IRPA_ENTRY_DATA, 8, 1, {0}, 0, NULL},
        {"v", IRPA_ENTRY_DATA, 8, 2, {0}, 0, NULL},
        {"w", IRPA_ENTRY_SPLAT, 8, 0, {1}, 1, NULL},
    };
    crafted c = craft(twice, 3);
    result r = inspect(&c);
    char expected[160];
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: warning: entry 2: duplicate name "
             "`w` (entry 0 at offset 96 has it too; IREE uses the first)",
             (unsigned long long)c.entry_offset[2] + E(name.offset));
    expect_warning(&r, expected);
    assert_int_equal(r.inspected.warnings.count, 1);
    release(&r, &c);
}

static void shared_name_bytes(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + c.entry_offset[2] + E(name.offset), 0);  /* b1's name now reads a0's bytes */
    result r = inspect(&c);
    char expected[200];
    unsigned long long name_at = c.metadata_offset;
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: entry 2: name [%llu, %llu) overlaps "
             "the name of entry 0 [%llu, %llu) in the metadata segment",
             (unsigned long long)c.entry_offset[2] + E(name.offset), name_at, name_at + 2, name_at,
             name_at + 2);
    expect_error(&r, expected);
    assert_int_equal(r.inspected.entries[2].name_length, 0);
    release(&r, &c);
}

static void overlapping_data_is_a_warning(void **state) {
    (void)state;
    static const spec pair[] = {
        {"first", IRPA_ENTRY_DATA, 100, 7, {0}, 0, NULL},
        {"second", IRPA_ENTRY_DATA, 16, 0, {0}, 0, NULL},
    };
    crafted c = craft(pair, 2);
    put64(c.bytes + c.entry_offset[1] + D(storage.offset), 64);  /* inside first's bytes */
    result r = inspect(&c);
    char expected[200];
    unsigned long long base = c.data_start[0];
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: warning: entry 1 `second` data "
             "[%llu, %llu) overlaps entry 0 `first` data [%llu, %llu)",
             (unsigned long long)c.entry_offset[1] + D(storage.offset), base + 64, base + 80, base, base + 100);
    expect_warning(&r, expected);
    release(&r, &c);
}

/* IREE never reads padding: warnings, one per gap. */
static void nonzero_padding_is_a_warning(void **state) {
    (void)state;
    crafted c = craft_three();
    c.bytes[90] = 0x5a;                        /* between header and entries */
    c.bytes[c.entry_offset[0] + IRPA_DATA_ENTRY_SIZE + 2] = 1; /* between entry 0 and 1 */
    c.bytes[c.data_start[0] + 100] = 2;        /* between a0's and b1's data */
    c.bytes[c.size - 1] = 3;                   /* after the storage segment */
    result r = inspect(&c);
    expect_warning(&r, "x.irpa: offset 90: warning: non-zero padding at offset 90 (byte 0x5a");
    char expected[120];
    unsigned long long at = c.entry_offset[0] + IRPA_DATA_ENTRY_SIZE + 2;
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: warning: non-zero padding at "
             "offset %llu", at, at);
    expect_warning(&r, expected);
    at = c.data_start[0] + 100;
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: warning: non-zero padding at "
             "offset %llu", at, at);
    expect_warning(&r, expected);
    at = c.size - 1;
    snprintf(expected, sizeof expected, "x.irpa: offset %llu: warning: non-zero padding at "
             "offset %llu", at, at);
    expect_warning(&r, expected);
    assert_int_equal(r.inspected.warnings.count, 4);
    release(&r, &c);
}

static void several_errors_are_all_reported(void **state) {
    (void)state;
    crafted c = craft_three();
    put64(c.bytes + 16, 8);                               /* chained */
    irpa_put_le32(c.bytes + c.entry_offset[0] + E(type), 9);            /* unknown type */
    c.bytes[c.entry_offset[1] + S(pattern_length)] = 0;                  /* bad pattern length */
    put64(c.bytes + c.entry_offset[2] + E(name.length), 1000);        /* name past the segment */
    result r = inspect(&c);
    expect_error(&r, "next_header_offset 8");
    expect_error(&r, "entry 0: unknown type 9");
    expect_error(&r, "entry 1: splat pattern_length 0");
    expect_error(&r, "entry 2: name.offset");
    expect_errors_located(&r);
    release(&r, &c);
}

static void skip_entries_are_not_listed(void **state) {
    (void)state;
    crafted c = craft_three();
    uint8_t *splat = c.bytes + c.entry_offset[1];
    irpa_put_le32(splat + E(type), 0);          /* splat -> skip; keep its size */
    memset(splat + S(length), 0, IRPA_SPLAT_ENTRY_SIZE - IRPA_ENTRY_HEADER_SIZE);                  /* a skip entry has no more fields */
    result r = inspect(&c);
    expect_warning(&r, "entry 1 is a skip entry");
    char *text = capture_text(&r.inspected);
    assert_non_null(strstr(text, "(2 entries, 132 total bytes)"));
    assert_null(strstr(text, "`s`"));
    free(text);
    release(&r, &c);
}

/* ---- IREE's own archives --------------------------------------------------- */

static void reference_archives_are_valid(void **state) {
    (void)state;
    const char *testdata = getenv("IRPA_TESTDATA");
    if (!testdata) skip();
    static const char *names[] = {"dummy", "tiny-edit", "ggml-vocab-llama-spm", "overall",
                                  "model.with_metadata", "sharded", "llama-2-tiny-random"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/reference/%s.irpa", testdata, names[i]);
        irpa_inspected_archive inspected;
        irpa_errors errors = {0};
        int status = irpa_inspect_file(path, &inspected, &errors);
        dump("error", &errors);
        dump("warning", &inspected.warnings);
        dump("note", &inspected.notes);
        assert_int_equal(status, IRPA_INSPECT_OK);
        assert_int_equal(inspected.warnings.count, 0);
        assert_int_equal(inspected.notes.count, 0);
        assert_true(inspected.mapped);
        assert_int_equal(inspected.entry_count, inspected.header.entry_count);
        irpa_inspected_archive_free(&inspected);
        irpa_errors_clear(&errors);
    }
}

static void missing_file_is_an_io_error(void **state) {
    (void)state;
    irpa_inspected_archive inspected;
    irpa_errors errors = {0};
    assert_int_equal(irpa_inspect_file("/nonexistent/x.irpa", &inspected, &errors),
                     IRPA_INSPECT_IO_ERROR);
    assert_true(has_message(&errors, "/nonexistent/x.irpa: cannot open: No such file"));
    irpa_inspected_archive_free(&inspected);
    irpa_errors_clear(&errors);
}

/* One escaping rule (core/text.c) for messages, the listing and JSON. */
static void bytes_are_escaped_for_one_line(void **state) {
    (void)state;
    const uint8_t mixed[] = "a\tb\n\r\x01\x7f\xc3\xa9\xff\xc3";
    char *text = irpa_escape(mixed, sizeof mixed - 1, UINT64_MAX);
    assert_string_equal(text, "a\\tb\\n\\r\\x01\\x7f\xc3\xa9\\xff\\xc3");
    char *printed = NULL;
    size_t printed_size = 0;
    FILE *out = open_memstream(&printed, &printed_size);
    assert_non_null(out);
    irpa_print_escaped(out, mixed, sizeof mixed - 1);
    fclose(out);
    assert_string_equal(printed, text);
    free(printed);
    free(text);
    text = irpa_escape((const uint8_t *)"abcdef", 6, 3);
    assert_string_equal(text, "abc...");
    free(text);
    text = irpa_escape((const uint8_t *)"\xc3\xa9", 2, 1);  /* a character cut in two */
    assert_string_equal(text, "\\xc3...");
    free(text);
    assert_true(irpa_is_text((const uint8_t *)"a\tb\n\xc3\xa9", 6));
    assert_false(irpa_is_text((const uint8_t *)"a\x01", 2));
    assert_false(irpa_is_text((const uint8_t *)"\xc3", 1));
    char hex[9];
    irpa_hex((const uint8_t *)"\x00\x80\x3f\xff", 4, hex);
    assert_string_equal(hex, "00803fff");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bytes_are_escaped_for_one_line),
        cmocka_unit_test(valid_archive_is_listed),
        cmocka_unit_test(empty_archive_is_valid),
        cmocka_unit_test(text_output_matches_iree_columns),
        cmocka_unit_test(binary_metadata_is_shown_as_hex),
        cmocka_unit_test(json_output_has_every_field),
        cmocka_unit_test(json_output_carries_errors),
        cmocka_unit_test(json_output_carries_warnings),
        cmocka_unit_test(truncated_header),
        cmocka_unit_test(truncated_file),
        cmocka_unit_test(wrong_magic),
        cmocka_unit_test(wrong_version),
        cmocka_unit_test(wrong_header_size),
        cmocka_unit_test(chained_archive),
        cmocka_unit_test(header_flags_are_a_warning),
        cmocka_unit_test(entry_segment_past_end),
        cmocka_unit_test(segment_overflow),
        cmocka_unit_test(metadata_over_entries_is_a_warning),
        cmocka_unit_test(storage_over_metadata),
        cmocka_unit_test(segment_over_header),
        cmocka_unit_test(entry_count_too_large),
        cmocka_unit_test(entry_size_smaller_than_type),
        cmocka_unit_test(entry_size_below_header),
        cmocka_unit_test(entry_size_past_segment),
        cmocka_unit_test(larger_entry_size_is_a_warning),
        cmocka_unit_test(unknown_and_external_types),
        cmocka_unit_test(name_outside_metadata_segment),
        cmocka_unit_test(metadata_reference_overflow),
        cmocka_unit_test(data_outside_storage_segment),
        cmocka_unit_test(storage_reference_overflow),
        cmocka_unit_test(misaligned_storage_offset_is_a_warning),
        cmocka_unit_test(bad_pattern_length),
        cmocka_unit_test(splat_length_not_multiple),
        cmocka_unit_test(pattern_bytes_past_length_are_a_warning),
        cmocka_unit_test(splat_alignment_is_a_warning),
        cmocka_unit_test(duplicate_names_are_a_warning),
        cmocka_unit_test(shared_name_bytes),
        cmocka_unit_test(overlapping_data_is_a_warning),
        cmocka_unit_test(nonzero_padding_is_a_warning),
        cmocka_unit_test(several_errors_are_all_reported),
        cmocka_unit_test(skip_entries_are_not_listed),
        cmocka_unit_test(reference_archives_are_valid),
        cmocka_unit_test(missing_file_is_an_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
