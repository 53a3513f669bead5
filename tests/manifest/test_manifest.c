/* test_manifest.c: the YAML manifest loader (core/manifest.c).
 *
 * Valid manifests of every entry kind are checked field by field; every
 * class of error is checked by its exact message, with line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "manifest.h"
#include "number.h"

#define PATH "dir/m.yaml"

/* Parses `text` as PATH and fails the test, listing the errors, when it
 * does not load. */
static irpa_manifest *parse_ok(const char *path, const char *text) {
    irpa_errors errors = {0};
    irpa_manifest *manifest = irpa_manifest_parse(path, text, strlen(text), &errors);
    if (!manifest || errors.count) {
        irpa_errors_print(&errors, stderr, "unexpected: ");
        irpa_errors_clear(&errors);
        irpa_manifest_free(manifest);
        fail_msg("manifest did not load");
    }
    return manifest;
}

/* expect_error calls that did not get their message; each test checks it
 * is 0 at its end, so one run lists every mismatch. */
static size_t mismatches;

/* Parses `text` as PATH and checks that it fails with `message` among its
 * errors. */
static void expect_error(const char *text, const char *message) {
    irpa_errors errors = {0};
    irpa_manifest *manifest = irpa_manifest_parse(PATH, text, strlen(text), &errors);
    bool found = false;
    for (size_t i = 0; i < errors.count; i++)
        if (strcmp(errors.messages[i], message) == 0) found = true;
    if (manifest || !found) {
        fprintf(stderr, "wanted: %s\n", message);
        irpa_errors_print(&errors, stderr, "got:    ");
    }
    irpa_errors_clear(&errors);
    irpa_manifest_free(manifest);
    if (manifest || !found) mismatches++;
}

/* Number of errors `text` gets. */
static size_t error_count(const char *text) {
    irpa_errors errors = {0};
    irpa_manifest *manifest = irpa_manifest_parse(PATH, text, strlen(text), &errors);
    size_t count = errors.count;
    assert_null(manifest);
    irpa_errors_clear(&errors);
    return count;
}

static const uint8_t *pattern_of(const char *splat) {
    char text[256];
    snprintf(text, sizeof text, "entries:\n  - {name: s, splat: %s, length: 16}\n", splat);
    irpa_manifest *manifest = parse_ok(PATH, text);
    static uint8_t pattern[16];
    memcpy(pattern, manifest->entries[0].pattern, sizeof pattern);
    assert_int_equal(manifest->entries[0].kind, IRPA_MANIFEST_SPLAT);
    irpa_manifest_free(manifest);
    return pattern;
}

static uint8_t pattern_length_of(const char *splat) {
    char text[256];
    snprintf(text, sizeof text, "entries:\n  - {name: s, splat: %s, length: 16}\n", splat);
    irpa_manifest *manifest = parse_ok(PATH, text);
    uint8_t length = manifest->entries[0].pattern_length;
    irpa_manifest_free(manifest);
    return length;
}

/* ---- valid manifests -------------------------------------------------- */

static const char every_kind[] =
    "archive: model.irpa\n"
    "alignment: 0x1000\n"
    "metadata: pytorch\n"
    "sources:\n"
    "  gg: ../models/llama.gguf\n"
    "  st: {path: /abs/model.safetensors, format: safetensors}\n"
    "  blob:\n"
    "    path: raw.bin\n"
    "    format: raw\n"
    "entries:\n"
    "  - name: token_embd.weight\n"
    "    source: gg\n"
    "    offset: 1344\n"
    "    length: 512000\n"
    "    metadata: \"any text\"\n"
    "  - name: blk.0.ffn_norm.weight\n"
    "    splat: {type: f32, value: 1.0}\n"
    "    length: 32\n"
    "  - name: embed\n"
    "    source: st\n"
    "    tensor: model.embed_tokens.weight\n"
    "  - source: st\n"
    "    tensor: lm_head.weight\n"
    "  - source: st\n"
    "    include: [\"model.layers.*\", \"model.norm.*\"]\n"
    "    exclude: [\"*.rotary_emb.*\"]\n"
    "    rename: [{from: \"model.\", to: \"\"}, {from: a, to: b}]\n"
    "    splat: [\"*.bias\"]\n"
    "  - name: pattern\n"
    "    splat: \"0000803f\"\n"
    "    length: 0x10\n"
    "  - source: blob\n"
    "    include: \"*\"\n"
    "    splat: \"*.bias\"\n";

static void test_every_kind(void **state) {
    (void)state;
    irpa_manifest *m = parse_ok(PATH, every_kind);
    assert_string_equal(m->path, PATH);
    assert_string_equal(m->archive_name, "model.irpa");
    assert_int_equal(m->alignment, 4096);
    assert_true(m->metadata_pytorch);

    assert_int_equal(m->source_count, 3);
    assert_string_equal(m->sources[0].key, "gg");
    assert_string_equal(m->sources[0].path, "../models/llama.gguf");
    assert_string_equal(m->sources[0].resolved_path, "dir/../models/llama.gguf");
    assert_null(m->sources[0].format);
    assert_int_equal(m->sources[0].position.line, 5);
    assert_int_equal(m->sources[0].position.column, 7);
    assert_string_equal(m->sources[1].key, "st");
    assert_string_equal(m->sources[1].resolved_path, "/abs/model.safetensors");
    assert_string_equal(m->sources[1].format, "safetensors");
    assert_string_equal(m->sources[2].resolved_path, "dir/raw.bin");
    assert_string_equal(m->sources[2].format, "raw");

    assert_int_equal(m->entry_count, 7);
    const irpa_manifest_entry *range = &m->entries[0];
    assert_int_equal(range->kind, IRPA_MANIFEST_RANGE);
    assert_string_equal(range->name, "token_embd.weight");
    assert_int_equal(range->source, 0);
    assert_int_equal(range->offset, 1344);
    assert_int_equal(range->length, 512000);
    assert_int_equal(range->metadata_length, 8);
    assert_memory_equal(range->metadata, "any text", 8);
    assert_int_equal(range->position.line, 11);
    assert_int_equal(range->position.column, 5);
    assert_int_equal(range->offset_position.line, 13);
    assert_int_equal(range->offset_position.column, 13);
    assert_int_equal(range->length_position.line, 14);

    const irpa_manifest_entry *splat = &m->entries[1];
    assert_int_equal(splat->kind, IRPA_MANIFEST_SPLAT);
    assert_string_equal(splat->name, "blk.0.ffn_norm.weight");
    assert_int_equal(splat->source, -1);
    assert_int_equal(splat->length, 32);
    assert_int_equal(splat->pattern_length, 4);
    assert_memory_equal(splat->pattern, "\x00\x00\x80\x3f", 4);
    assert_null(splat->metadata);

    const irpa_manifest_entry *tensor = &m->entries[2];
    assert_int_equal(tensor->kind, IRPA_MANIFEST_TENSOR);
    assert_string_equal(tensor->name, "embed");
    assert_int_equal(tensor->source, 1);
    assert_string_equal(tensor->tensor, "model.embed_tokens.weight");
    assert_int_equal(m->entries[3].kind, IRPA_MANIFEST_TENSOR);
    assert_null(m->entries[3].name);
    assert_string_equal(m->entries[3].tensor, "lm_head.weight");

    const irpa_manifest_entry *all = &m->entries[4];
    assert_int_equal(all->kind, IRPA_MANIFEST_ALL);
    assert_null(all->name);
    assert_int_equal(all->source, 1);
    assert_int_equal(all->include_count, 2);
    assert_string_equal(all->include[0], "model.layers.*");
    assert_string_equal(all->include[1], "model.norm.*");
    assert_int_equal(all->exclude_count, 1);
    assert_string_equal(all->exclude[0], "*.rotary_emb.*");
    assert_int_equal(all->rename_count, 2);
    assert_string_equal(all->renames[0].from, "model.");
    assert_string_equal(all->renames[0].to, "");
    assert_string_equal(all->renames[1].from, "a");
    assert_string_equal(all->renames[1].to, "b");
    assert_int_equal(all->splat_glob_count, 1);
    assert_string_equal(all->splat_globs[0], "*.bias");

    const irpa_manifest_entry *hex = &m->entries[5];
    assert_int_equal(hex->kind, IRPA_MANIFEST_SPLAT);
    assert_int_equal(hex->length, 16);
    assert_int_equal(hex->pattern_length, 4);
    assert_memory_equal(hex->pattern, "\x00\x00\x80\x3f", 4);

    const irpa_manifest_entry *single = &m->entries[6];
    assert_int_equal(single->kind, IRPA_MANIFEST_ALL);
    assert_int_equal(single->source, 2);
    assert_int_equal(single->include_count, 1);
    assert_string_equal(single->include[0], "*");
    assert_int_equal(single->splat_glob_count, 1);
    assert_int_equal(single->exclude_count, 0);
    assert_null(single->exclude);
    irpa_manifest_free(m);
}

static void test_defaults(void **state) {
    (void)state;
    const char *text = "entries: []\n";
    irpa_manifest *m = parse_ok("some/where/llama.yaml", text);
    assert_string_equal(m->archive_name, "llama.irpa");
    assert_int_equal(m->alignment, 64);
    assert_false(m->metadata_pytorch);
    assert_int_equal(m->entry_count, 0);
    assert_int_equal(m->source_count, 0);
    irpa_manifest_free(m);
    m = parse_ok("x.yml", text);
    assert_string_equal(m->archive_name, "x.irpa");
    irpa_manifest_free(m);
    m = parse_ok("/etc/irpa/manifest", text);
    assert_string_equal(m->archive_name, "manifest.irpa");
    irpa_manifest_free(m);
    m = parse_ok("a.b.yaml", "archive: other.irpa\nentries: []\n");
    assert_string_equal(m->archive_name, "other.irpa");
    irpa_manifest_free(m);
}

static void test_resolved_paths(void **state) {
    (void)state;
    const char *text = "sources:\n  a: x.gguf\n  b: /abs/y.gguf\n  c: ../z/w.gguf\nentries: []\n";
    irpa_manifest *m = parse_ok("m.yaml", text);
    assert_string_equal(m->sources[0].resolved_path, "x.gguf");
    assert_string_equal(m->sources[1].resolved_path, "/abs/y.gguf");
    assert_string_equal(m->sources[2].resolved_path, "../z/w.gguf");
    irpa_manifest_free(m);
    m = parse_ok("/srv/models/m.yaml", text);
    assert_string_equal(m->sources[0].resolved_path, "/srv/models/x.gguf");
    assert_string_equal(m->sources[1].resolved_path, "/abs/y.gguf");
    assert_string_equal(m->sources[2].resolved_path, "/srv/models/../z/w.gguf");
    assert_string_equal(m->sources[2].path, "../z/w.gguf");
    irpa_manifest_free(m);
}

static void test_numbers(void **state) {
    (void)state;
    irpa_manifest *m = parse_ok(PATH,
        "sources: {s: f}\n"
        "entries:\n"
        "  - {name: a, source: s, offset: 0xffffffffffffffff, length: 0}\n"
        "  - {name: b, source: s, offset: 18446744073709551614, length: 1}\n"
        "  - {name: c, source: s, offset: \"0X1f\", length: 007}\n");
    assert_int_equal(m->entries[0].offset, UINT64_MAX);
    assert_int_equal(m->entries[1].offset, UINT64_MAX - 1);
    assert_int_equal(m->entries[2].offset, 31);
    assert_int_equal(m->entries[2].length, 7);
    irpa_manifest_free(m);
    m = parse_ok(PATH, "alignment: 1\nentries: []\n");
    assert_int_equal(m->alignment, 1);
    irpa_manifest_free(m);
    m = parse_ok(PATH, "alignment: 1073741824\nentries: []\n");
    assert_int_equal(m->alignment, 1u << 30);
    irpa_manifest_free(m);
}

static void test_splat_values(void **state) {
    (void)state;
    assert_memory_equal(pattern_of("{type: f32, value: 1.0}"), "\x00\x00\x80\x3f", 4);
    assert_memory_equal(pattern_of("{type: f32, value: -2}"), "\x00\x00\x00\xc0", 4);
    assert_memory_equal(pattern_of("{type: f16, value: 1.0}"), "\x00\x3c", 2);
    assert_memory_equal(pattern_of("{type: f16, value: 0.1}"), "\x66\x2e", 2);
    assert_memory_equal(pattern_of("{type: f16, value: 65504}"), "\xff\x7b", 2);
    assert_memory_equal(pattern_of("{type: f16, value: 65519}"), "\xff\x7b", 2);
    assert_memory_equal(pattern_of("{type: f16, value: 5.960464477539063e-08}"), "\x01\x00", 2);
    assert_memory_equal(pattern_of("{type: f16, value: 2.98023223876953125e-08}"), "\x00\x00", 2);
    assert_memory_equal(pattern_of("{type: f16, value: 6.103515625e-05}"), "\x00\x04", 2);
    /* 1 + 2^-11 is halfway between 1 and the next f16: ties to even (1). */
    assert_memory_equal(pattern_of("{type: f16, value: 1.00048828125}"), "\x00\x3c", 2);
    /* 1 + 3 * 2^-11 is halfway between two f16s: ties to the even one above. */
    assert_memory_equal(pattern_of("{type: f16, value: 1.00146484375}"), "\x02\x3c", 2);
    assert_memory_equal(pattern_of("{type: f16, value: -.inf}"), "\x00\xfc", 2);
    assert_memory_equal(pattern_of("{type: f32, value: inf}"), "\x00\x00\x80\x7f", 4);
    assert_memory_equal(pattern_of("{type: f16, value: .nan}"), "\x00\x7e", 2);
    assert_memory_equal(pattern_of("{type: bf16, value: 1.0}"), "\x80\x3f", 2);
    assert_memory_equal(pattern_of("{type: bf16, value: 3.140625}"), "\x49\x40", 2);
    /* 1 + 2^-8 is halfway between two bf16s: ties to even (1). */
    assert_memory_equal(pattern_of("{type: bf16, value: 1.00390625}"), "\x80\x3f", 2);
    assert_memory_equal(pattern_of("{type: f64, value: 1.0}"), "\x00\x00\x00\x00\x00\x00\xf0\x3f", 8);
    assert_memory_equal(pattern_of("{type: i8, value: -1}"), "\xff", 1);
    assert_memory_equal(pattern_of("{type: i8, value: -128}"), "\x80", 1);
    assert_memory_equal(pattern_of("{type: u16, value: 0x1234}"), "\x34\x12", 2);
    assert_memory_equal(pattern_of("{type: i32, value: -2}"), "\xfe\xff\xff\xff", 4);
    assert_memory_equal(pattern_of("{type: u64, value: 18446744073709551615}"),
                        "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    assert_memory_equal(pattern_of("{type: i64, value: -9223372036854775808}"),
                        "\x00\x00\x00\x00\x00\x00\x00\x80", 8);
    assert_int_equal(pattern_length_of("{type: u8, value: 255}"), 1);
    assert_int_equal(pattern_length_of("{type: bf16, value: 0}"), 2);
    assert_int_equal(pattern_length_of("{type: f64, value: 0}"), 8);
    assert_memory_equal(pattern_of("\"0102030405060708090a0b0c0d0e0f10\""),
                        "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
    assert_int_equal(pattern_length_of("\"0102030405060708090a0b0c0d0e0f10\""), 16);
    assert_memory_equal(pattern_of("AbCd"), "\xab\xcd", 2);
}

static void test_entry_name_from_tensor_is_checked(void **state) {
    (void)state;
    expect_error("sources: {s: f}\nentries:\n  - {source: s, tensor: a}\n  - {name: a, splat: \"00\", length: 1}\n",
                 PATH ":4:12: duplicate entry name 'a', first at line 3; expected each name once in the archive");
    assert_int_equal(mismatches, 0);
}

static void test_many_entries(void **state) {
    (void)state;
    size_t count = 100000;
    size_t capacity = 64 + count * 64;
    char *text = malloc(capacity);
    assert_non_null(text);
    size_t used = (size_t)snprintf(text, capacity, "sources:\n  m: model.gguf\nentries:\n");
    for (size_t i = 0; i < count; i++)
        used += (size_t)snprintf(text + used, capacity - used,
                                 "  - {name: tensor.%zu, source: m, offset: %zu, length: 4}\n",
                                 i, i * 4);
    irpa_errors errors = {0};
    irpa_manifest *m = irpa_manifest_parse(PATH, text, used, &errors);
    irpa_errors_print(&errors, stderr, "unexpected: ");
    assert_non_null(m);
    assert_int_equal(m->entry_count, count);
    assert_string_equal(m->entries[count - 1].name, "tensor.99999");
    assert_int_equal(m->entries[count - 1].offset, (count - 1) * 4);
    assert_int_equal(m->entries[count - 1].position.line, count + 3);
    irpa_manifest_free(m);

    /* The same with one duplicate at the end: exactly one error. */
    used += (size_t)snprintf(text + used, capacity - used,
                             "  - {name: tensor.5, source: m, offset: 0, length: 4}\n");
    m = irpa_manifest_parse(PATH, text, used, &errors);
    assert_null(m);
    assert_int_equal(errors.count, 1);
    char wanted[200];
    snprintf(wanted, sizeof wanted, PATH ":%zu:12: duplicate entry name 'tensor.5', first at "
             "line 9; expected each name once in the archive", count + 4);
    assert_string_equal(errors.messages[0], wanted);
    irpa_errors_clear(&errors);
    free(text);
}

static void test_load_file(void **state) {
    (void)state;
    char directory[] = "/tmp/irpa-manifest-XXXXXX";
    assert_non_null(mkdtemp(directory));
    char path[256];
    snprintf(path, sizeof path, "%s/tiny.yaml", directory);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("sources: {m: ../model.gguf}\nentries:\n  - {source: m}\n", file);
    fclose(file);
    irpa_errors errors = {0};
    irpa_manifest *m = irpa_manifest_load(path, &errors);
    assert_non_null(m);
    assert_string_equal(m->archive_name, "tiny.irpa");
    char wanted[512];
    snprintf(wanted, sizeof wanted, "%s/../model.gguf", directory);
    assert_string_equal(m->sources[0].resolved_path, wanted);
    irpa_manifest_free(m);
    unlink(path);
    rmdir(directory);

    m = irpa_manifest_load(path, &errors);
    assert_null(m);
    assert_int_equal(errors.count, 1);
    snprintf(wanted, sizeof wanted, "%s: cannot open: No such file or directory; expected a "
             "readable manifest file", path);
    assert_string_equal(errors.messages[0], wanted);
    irpa_errors_clear(&errors);
}

/* ---- errors ----------------------------------------------------------- */

static void test_yaml_syntax_errors(void **state) {
    (void)state;
    expect_error("entries:\n  - name: a\n  name: b\n x: [\n",
                 PATH ":3:3: YAML syntax error: did not find expected '-' indicator "
                 "(while parsing a block collection at 2:3); expected valid YAML");
    expect_error("entries: [a, b\n",
                 PATH ":2:1: YAML syntax error: did not find expected ',' or ']' "
                 "(while parsing a flow sequence at 1:10); expected valid YAML");
    expect_error("entries: \"abc\n",
                 PATH ":2:1: YAML syntax error: found unexpected end of stream "
                 "(while scanning a quoted scalar at 1:10); expected valid YAML");
    expect_error("a: \xff\n", PATH ":1:4: YAML syntax error: invalid leading UTF-8 octet "
                 "(byte 0xff); expected printable UTF-8 text");
    /* A NUL byte in the text (not in a quoted escape) is a control character. */
    irpa_errors errors = {0};
    assert_null(irpa_manifest_parse(PATH, "entries: []\n\0\n", 14, &errors));
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.messages[0], PATH ":2:1: YAML syntax error: control characters "
                        "are not allowed (byte 0x00); expected printable UTF-8 text");
    irpa_errors_clear(&errors);
    expect_error("entries: []\n---\nentries: []\n",
                 PATH ":2:1: a second YAML document starts here; expected one document per manifest");
    assert_int_equal(mismatches, 0);
}

/* A tab in indentation that stops libyaml's scanner is named as such, where
 * it is; a tab elsewhere is not blamed. */
static void test_tab_in_indentation(void **state) {
    (void)state;
    expect_error("sources:\n  st: a.gguf\nentries:\n\t- source: st\n",
                 PATH ":4:1: a tab in indentation; YAML indents with spaces only");
    expect_error("sources:\n  st: a.gguf\nentries:\n  - source: st\n  \t exclude: [a]\n",
                 PATH ":5:3: a tab in indentation; YAML indents with spaces only");
    expect_error("sources:\n  st: a.gguf\nentries:\n  -\tsource: st\n",
                 PATH ":4:4: a tab in indentation; YAML indents with spaces only");
    expect_error("sources:\n\tst: a.gguf\nentries:\n  - source: st\n",
                 PATH ":2:1: a tab in indentation; YAML indents with spaces only");
    expect_error("entries:\n  - name: a\n    metadata: |\n   \tx\n",
                 PATH ":4:4: a tab in indentation; YAML indents with spaces only");
    /* Tabs may indent [flow] collections: an error elsewhere on the line is
     * not the tab's. Nor is one after a tab that follows a value. */
    expect_error("entries: [\n\ta, @b]\n",
                 PATH ":2:5: YAML syntax error: found character that cannot start any token "
                 "(while scanning for the next token at 2:5); expected valid YAML");
    expect_error("entries:\t\n  - name: a\t\n  name: b\n",
                 PATH ":3:3: YAML syntax error: did not find expected '-' indicator "
                 "(while parsing a block collection at 2:3); expected valid YAML");
    assert_int_equal(mismatches, 0);
}

static void test_empty_and_wrong_root(void **state) {
    (void)state;
    expect_error("", PATH ":1:1: manifest is empty; expected a mapping with 'entries:' (see manifests/README.md)");
    expect_error("# nothing\n", PATH ":1:1: manifest is empty; expected a mapping with 'entries:' (see manifests/README.md)");
    expect_error("- a\n", PATH ":1:1: the manifest is a list; expected a mapping with 'entries:' (see manifests/README.md)");
    expect_error("archive: a.irpa\n",
                 PATH ":1:1: missing key 'entries' in manifest; expected 'entries:' with a list of entries");
    expect_error("entries:\n", PATH ":1:9: 'entries' has no value; expected a list of entries");
    expect_error("entries: {a: b}\n", PATH ":1:10: 'entries' is a mapping; expected a list of entries");
    assert_int_equal(mismatches, 0);
}

static void test_aliases_and_depth(void **state) {
    (void)state;
    expect_error("a: &x [1, 2]\nb: *x\nentries: []\n",
                 PATH ":2:4: YAML alias '*x' is not supported; expected the value written out in full");
    /* A billion laughs is refused at its first alias. */
    expect_error("a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nentries: []\n",
                 PATH ":2:8: YAML alias '*a' is not supported; expected the value written out in full");
    char deep[200];
    memset(deep, '[', 100);
    strcpy(deep + 100, "\n");
    expect_error(deep, PATH ":1:33: lists and mappings nest deeper than 32 levels; expected a flatter manifest");
    assert_int_equal(mismatches, 0);
}

static void test_unknown_keys(void **state) {
    (void)state;
    expect_error("sources: {s: f}\nentries:\n  - name: a\n    source: s\n    offset: 0\n    lenght: 4\n",
                 PATH ":6:5: unknown key 'lenght' in entry; did you mean 'length'?");
    expect_error("entires: []\n", PATH ":1:1: unknown key 'entires' in manifest; did you mean 'entries'?");
    expect_error("colour: red\nentries: []\n",
                 PATH ":1:1: unknown key 'colour' in manifest; expected one of: archive, "
                 "alignment, metadata, sources, entries");
    expect_error("sources: {s: {path: f, fromat: raw}}\nentries: []\n",
                 PATH ":1:24: unknown key 'fromat' in source; did you mean 'format'?");
    expect_error("entries:\n  - {name: a, length: 4, splat: {type: f32, valeu: 1}}\n",
                 PATH ":2:45: unknown key 'valeu' in splat; did you mean 'value'?");
    expect_error("sources: {s: f}\nentries:\n  - {source: s, rename: [{form: a, to: b}]}\n",
                 PATH ":3:27: unknown key 'form' in rename; did you mean 'from'?");
    assert_int_equal(mismatches, 0);
}

static void test_kind_keys(void **state) {
    (void)state;
    expect_error("sources: {s: f}\nentries:\n  - {source: s, tensor: t, offset: 4}\n",
                 PATH ":3:28: key 'offset' is not allowed in an entry that names a tensor; "
                 "expected only name, source, tensor, metadata");
    expect_error("sources: {s: f}\nentries:\n  - {source: s, include: a, metadata: x}\n",
                 PATH ":3:29: key 'metadata' is not allowed in an entry that takes every tensor "
                 "of a source; expected only source, include, exclude, rename, splat");
    expect_error("entries:\n  - {name: a, splat: \"00\", length: 1, tensor_x: 1, offset: 3}\n",
                 PATH ":2:52: key 'offset' is not allowed in an entry that repeats a pattern; "
                 "expected only name, splat, length, metadata");
    expect_error("sources: {s: f}\nentries:\n  - {name: a, source: s, offset: 0, length: 1, include: x}\n",
                 PATH ":3:48: key 'include' is not allowed in an entry that copies a byte range; "
                 "expected only name, source, offset, length, metadata");
    expect_error("entries:\n  - {name: a}\n",
                 PATH ":2:5: entry is not a range, a splat, a tensor nor a whole source; expected "
                 "'source' with 'offset' and 'length', 'splat' with 'length', 'source' with "
                 "'tensor', or 'source' alone");
    assert_int_equal(mismatches, 0);
}

static void test_missing_keys(void **state) {
    (void)state;
    expect_error("sources: {s: f}\nentries:\n  - name: a\n    source: s\n    offset: 0\n",
                 PATH ":3:5: missing key 'length' in an entry that copies a byte range; "
                 "expected 'length:' with a number of bytes");
    expect_error("sources: {s: f}\nentries:\n  - {source: s, length: 3}\n",
                 PATH ":3:5: missing key 'name' in an entry that copies a byte range; "
                 "expected 'name:' with the entry's name in the archive");
    expect_error("entries:\n  - {splat: \"00\", length: 3}\n",
                 PATH ":2:5: missing key 'name' in an entry that repeats a pattern; "
                 "expected 'name:' with the entry's name in the archive");
    expect_error("entries:\n  - {name: a, tensor: t}\n",
                 PATH ":2:5: missing key 'source' in an entry that names a tensor; "
                 "expected 'source:' with a key defined under 'sources:'");
    expect_error("entries:\n  - {name: a, splat: {type: f32}, length: 4}\n",
                 PATH ":2:22: missing key 'value' in splat; expected 'value:' with a number");
    expect_error("sources: {s: {format: raw}}\nentries: []\n",
                 PATH ":1:14: missing key 'path' in source; expected 'path:' with the source "
                 "file's path");
    expect_error("sources: {s: f}\nentries:\n  - {source: s, rename: {from: a}}\n",
                 PATH ":3:25: missing key 'to' in rename; expected 'to:' with its replacement "
                 "(\"\" to remove it)");
    assert_int_equal(mismatches, 0);
}

static void test_wrong_types(void **state) {
    (void)state;
    expect_error("sources: {s: f}\nentries:\n  - {name: [a], source: s, offset: 0, length: 1}\n",
                 PATH ":3:12: 'name' is a list; expected the entry's name");
    expect_error("sources: {s: f}\nentries:\n  - {name: a, source: s, offset: {}, length: 1}\n",
                 PATH ":3:34: offset is a mapping; expected a whole number of bytes");
    expect_error("sources: [a]\nentries: []\n",
                 PATH ":1:10: 'sources' is a list; expected a mapping of source keys to paths");
    expect_error("sources: {s: [a]}\nentries: []\n",
                 PATH ":1:14: source 's' is a list; expected a path or {path: FILE, format: "
                 "gguf|safetensors|raw}");
    expect_error("sources: {s: }\nentries: []\n",
                 PATH ":1:14: source 's' has no value; expected a path or {path: FILE, format: "
                 "gguf|safetensors|raw}");
    expect_error("entries: [abc]\n",
                 PATH ":1:11: entry is a string; expected a mapping such as {name: N, source: S, "
                 "offset: O, length: L}");
    expect_error("sources: {s: f}\nentries:\n  - {source: s, include: {a: b}}\n",
                 PATH ":3:26: 'include' is a mapping; expected a glob or a list of globs");
    expect_error("sources: {s: f}\nentries:\n  - {source: s, exclude: [[a]]}\n",
                 PATH ":3:27: a glob is a list; expected a string such as \"model.layers.*\"");
    expect_error("sources: {s: f}\nentries:\n  - {source: s, rename: abc}\n",
                 PATH ":3:25: 'rename' is a string; expected a list of {from: PREFIX, to: REPLACEMENT}");
    expect_error("entries:\n  - {name: a, splat: {type: [f32], value: 1}, length: 4}\n",
                 PATH ":2:29: splat type is a list; expected a type such as f32");
    expect_error("archive: {a: b}\nentries: []\n",
                 PATH ":1:10: 'archive' is a mapping; expected a file name such as model.irpa");
    expect_error("entries:\n  - {name: \"a\\0b\", splat: \"00\", length: 1}\n",
                 PATH ":2:12: 'name' contains a NUL character; expected the entry's name");
    assert_int_equal(mismatches, 0);
}

static void test_integers(void **state) {
    (void)state;
    const char *head = "sources: {s: f}\nentries:\n";
    char text[300];
    snprintf(text, sizeof text, "%s  - {name: a, source: s, offset: 1.5, length: 1}\n", head);
    expect_error(text, PATH ":3:34: offset '1.5' is not an integer; expected a whole number of "
                 "bytes (decimal or 0x hex)");
    snprintf(text, sizeof text, "%s  - {name: a, source: s, offset: 0, length: \"abc\"}\n", head);
    expect_error(text, PATH ":3:45: length 'abc' is not an integer; expected a whole number of "
                 "bytes (decimal or 0x hex)");
    snprintf(text, sizeof text, "%s  - {name: a, source: s, offset: 0x, length: 1}\n", head);
    expect_error(text, PATH ":3:34: offset '0x' is not an integer; expected a whole number of "
                 "bytes (decimal or 0x hex)");
    snprintf(text, sizeof text, "%s  - {name: a, source: s, offset: -5, length: 1}\n", head);
    expect_error(text, PATH ":3:34: offset '-5' is negative; expected a number of bytes from 0 "
                 "to 18446744073709551615");
    snprintf(text, sizeof text, "%s  - {name: a, source: s, offset: 18446744073709551616, length: 1}\n", head);
    expect_error(text, PATH ":3:34: offset '18446744073709551616' is out of range; expected at "
                 "most 18446744073709551615 (2^64-1)");
    snprintf(text, sizeof text, "%s  - {name: a, source: s, offset: 0, length: 0x10000000000000000}\n", head);
    expect_error(text, PATH ":3:45: length '0x10000000000000000' is out of range; expected at "
                 "most 18446744073709551615 (2^64-1)");
    snprintf(text, sizeof text, "%s  - {name: a, source: s, offset: 0xffffffffffffffff, length: 1}\n", head);
    expect_error(text, PATH ":3:34: offset 18446744073709551615 + length 1 overflows 64 bits; "
                 "expected the range to end at most at 18446744073709551615");
    assert_int_equal(mismatches, 0);
}

static void test_names_and_sources(void **state) {
    (void)state;
    expect_error("entries:\n  - {name: w, splat: \"00\", length: 1}\n  - {name: x, splat: \"00\", length: 1}\n"
                 "  - name: w\n    splat: \"00\"\n    length: 1\n",
                 PATH ":4:11: duplicate entry name 'w', first at line 2; expected each name once in the archive");
    expect_error("sources:\n  gg: a.gguf\n  st: b.safetensors\n  gg: c.gguf\nentries: []\n",
                 PATH ":4:3: duplicate source 'gg', first at line 2; expected each source key once");
    expect_error("alignment: 4\nentries: []\nalignment: 8\n",
                 PATH ":3:1: duplicate key 'alignment' in manifest, first at line 1; expected each key once");
    expect_error("sources: {s: f}\nentries:\n  - {name: a, source: s, offset: 0, length: 1, offset: 2}\n",
                 PATH ":3:48: duplicate key 'offset' in entry, first at line 3; expected each key once");
    expect_error("sources: {gg: a, st: b}\nentries:\n  - {source: gx}\n",
                 PATH ":3:14: source 'gx' is not defined; did you mean 'gg'?");
    expect_error("sources: {gg: a}\nentries:\n  - {source: model}\n",
                 PATH ":3:14: source 'model' is not defined; expected a key defined under 'sources:'");
    expect_error("entries:\n  - {source: model}\n",
                 PATH ":2:14: source 'model' is not defined; expected a key defined under "
                 "'sources:' (there are none)");
    expect_error("entries:\n  - {name: \"\", splat: \"00\", length: 1}\n",
                 PATH ":2:12: entry name is empty; expected a non-empty name");
    expect_error("sources: {s: f}\nentries:\n  - {source: s, tensor: \"\"}\n",
                 PATH ":3:25: tensor name is empty; expected the tensor's name in the source");
    expect_error("sources: {s: \"\"}\nentries: []\n",
                 PATH ":1:14: source path is empty; expected a file path");
    expect_error("sources: {\"\": f}\nentries: []\n",
                 PATH ":1:11: source key is empty; expected a name such as 'model'");
    assert_int_equal(mismatches, 0);
}

static void test_archive_names(void **state) {
    (void)state;
    expect_error("archive: a/b.irpa\nentries: []\n",
                 PATH ":1:10: archive name 'a/b.irpa' contains '/'; expected a file name such as model.irpa");
    expect_error("archive: ..\nentries: []\n",
                 PATH ":1:10: archive name '..' is not a file name; expected a file name such as model.irpa");
    expect_error("archive: .\nentries: []\n",
                 PATH ":1:10: archive name '.' is not a file name; expected a file name such as model.irpa");
    expect_error("archive: model.bin\nentries: []\n",
                 PATH ":1:10: archive name 'model.bin' does not end in '.irpa'; expected a file name such as model.irpa");
    expect_error("archive: .irpa\nentries: []\n",
                 PATH ":1:10: archive name '.irpa' has nothing before '.irpa'; expected a file name such as model.irpa");
    irpa_errors errors = {0};
    irpa_manifest *m = irpa_manifest_parse("dir/.yaml", "entries: []\n", 12, &errors);
    assert_null(m);
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.messages[0],
                        "dir/.yaml:1:1: archive name '.irpa' (made from the manifest's file name; add 'archive:') "
                        "has nothing before '.irpa'; expected a file name such as model.irpa");
    irpa_errors_clear(&errors);
    assert_int_equal(mismatches, 0);
}

static void test_alignment_and_metadata(void **state) {
    (void)state;
    expect_error("alignment: 48\nentries: []\n",
                 PATH ":1:12: alignment 48 is not a power of two; expected a power of two from 1 "
                 "to 1073741824 (2^30)");
    expect_error("alignment: 0\nentries: []\n",
                 PATH ":1:12: alignment 0 is out of range; expected a power of two from 1 to "
                 "1073741824 (2^30)");
    expect_error("alignment: 0x80000000\nentries: []\n",
                 PATH ":1:12: alignment 2147483648 is out of range; expected a power of two from "
                 "1 to 1073741824 (2^30)");
    expect_error("metadata: torch\nentries: []\n",
                 PATH ":1:11: metadata 'torch' is not supported; expected 'pytorch' (or no "
                 "'metadata' key)");
    expect_error("sources: {s: {path: f, format: ggml}}\nentries: []\n",
                 PATH ":1:32: unknown source format 'ggml'; did you mean 'gguf'?");
    expect_error("sources: {s: {path: f, format: onnx}}\nentries: []\n",
                 PATH ":1:32: unknown source format 'onnx'; expected gguf, safetensors or raw");
    assert_int_equal(mismatches, 0);
}

static void test_splat_errors(void **state) {
    (void)state;
    expect_error("entries:\n  - {name: a, splat: \"000102030405060708090a0b0c0d0e0f10\", length: 17}\n",
                 PATH ":2:22: splat pattern '000102030405060708090a0b0c0d0e0f10' is 17 bytes; "
                 "expected at most 16 bytes");
    expect_error("entries:\n  - {name: a, splat: \"000000\", length: 3}\n",
                 PATH ":2:22: splat pattern '000000' is 3 bytes; expected 1, 2, 4, 8 or 16 bytes");
    expect_error("entries:\n  - {name: a, splat: \"0000803f\", length: 10}\n",
                 PATH ":2:42: length 10 is not a multiple of the splat pattern's 4 bytes; "
                 "expected a multiple of 4");
    expect_error("entries:\n  - {name: a, splat: {type: f16, value: 1}, length: 3}\n",
                 PATH ":2:53: length 3 is not a multiple of the splat pattern's 2 bytes; "
                 "expected a multiple of 2");
    expect_error("entries:\n  - {name: a, splat: xyz0, length: 2}\n",
                 PATH ":2:22: splat pattern 'xyz0' is not hex; expected hex digits, two per "
                 "byte, such as \"0000803f\"");
    expect_error("entries:\n  - {name: a, splat: \"000\", length: 2}\n",
                 PATH ":2:22: splat pattern '000' has an odd number of hex digits; expected two per byte");
    expect_error("entries:\n  - {name: a, splat: \"\", length: 2}\n",
                 PATH ":2:22: splat pattern is empty; expected 1, 2, 4, 8 or 16 bytes as hex digits");
    expect_error("entries:\n  - {name: a, splat: {type: f23, value: 1}, length: 4}\n",
                 PATH ":2:29: unknown splat type 'f23'; did you mean 'f32'?");
    expect_error("entries:\n  - {name: a, splat: {type: complex, value: 1}, length: 4}\n",
                 PATH ":2:29: unknown splat type 'complex'; expected one of: i8, i16, i32, i64, "
                 "u8, u16, u32, u64, f16, bf16, f32, f64");
    expect_error("entries:\n  - {name: a, splat: {type: u8, value: 256}, length: 4}\n",
                 PATH ":2:40: splat value '256' is out of range for u8; expected 0 to 255");
    expect_error("entries:\n  - {name: a, splat: {type: u8, value: -1}, length: 4}\n",
                 PATH ":2:40: splat value '-1' is out of range for u8; expected 0 to 255");
    expect_error("entries:\n  - {name: a, splat: {type: i8, value: -129}, length: 4}\n",
                 PATH ":2:40: splat value '-129' is out of range for i8; expected -128 to 127");
    expect_error("entries:\n  - {name: a, splat: {type: i16, value: 1.5}, length: 4}\n",
                 PATH ":2:41: splat value '1.5' is not an integer; expected an integer from "
                 "-32768 to 32767 for i16");
    expect_error("entries:\n  - {name: a, splat: {type: f32, value: one}, length: 4}\n",
                 PATH ":2:41: splat value 'one' is not a number; expected a number for f32");
    expect_error("entries:\n  - {name: a, splat: {type: f16, value: 65520}, length: 4}\n",
                 PATH ":2:41: splat value '65520' is too large for f16; expected a magnitude of "
                 "at most 65504");
    expect_error("entries:\n  - {name: a, splat: {type: f32, value: 1e39}, length: 4}\n",
                 PATH ":2:41: splat value '1e39' is too large for f32; expected a magnitude of "
                 "at most 3.4028e+38");
    expect_error("entries:\n  - {name: a, splat: {type: f64, value: 1e400}, length: 8}\n",
                 PATH ":2:41: splat value '1e400' is too large for f64; expected a magnitude of "
                 "at most 1.7977e+308");
    expect_error("entries:\n  - {name: a, splat: {type: bf16, value: -1e39}, length: 8}\n",
                 PATH ":2:42: splat value '-1e39' is too large for bf16; expected a magnitude of "
                 "at most 3.3895e+38");
    assert_int_equal(mismatches, 0);
}

static void test_every_error_is_reported(void **state) {
    (void)state;
    /* Three independent problems in three places: three errors. */
    assert_int_equal(error_count("alignment: 3\n"
                                 "entries:\n"
                                 "  - {name: a, splat: \"000\", length: 2}\n"
                                 "  - {name: b, splat: {type: u8, value: 300}, length: 1}\n"),
                     3);
    /* Errors with no list to put them in still fail the load. */
    irpa_manifest *m = irpa_manifest_parse(PATH, "alignment: 3\nentries: []\n", 26, NULL);
    assert_null(m);
}

static void test_size_cap(void **state) {
    (void)state;
    irpa_errors errors = {0};
    /* The length alone is refused before the text is read. */
    irpa_manifest *m = irpa_manifest_parse(PATH, "", ((size_t)256 << 20) + 1, &errors);
    assert_null(m);
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.messages[0], PATH ": manifest is 268435457 bytes; expected at "
                        "most 268435456 bytes (256 MiB)");
    irpa_errors_clear(&errors);
}

/* The source key table grows (and rehashes) many times over: lookups,
 * duplicates and the "did you mean" limit still hold. */
static void test_many_sources(void **state) {
    (void)state;
    enum { SOURCES = 300 };
    char *sources = NULL, text[SOURCES * 24 + 200];
    size_t sources_length = 0;
    FILE *stream = open_memstream(&sources, &sources_length);
    assert_non_null(stream);
    fprintf(stream, "sources:\n");
    for (int i = 0; i < SOURCES; i++) fprintf(stream, "  k%d: f%d.gguf\n", i, i);
    assert_int_equal(fclose(stream), 0);
    snprintf(text, sizeof text, "%sentries:\n  - {source: k150, tensor: t}\n"
             "  - {source: k299, tensor: u}\n", sources);
    irpa_manifest *m = parse_ok(PATH, text);
    assert_int_equal(m->source_count, SOURCES);
    assert_int_equal(m->entries[0].source, 150);
    assert_int_equal(m->entries[1].source, 299);
    irpa_manifest_free(m);
    /* More than 256 keys: no suggestion, however near. */
    snprintf(text, sizeof text, "%sentries:\n  - {source: k1500, tensor: t}\n", sources);
    expect_error(text, PATH ":303:14: source 'k1500' is not defined; expected a key defined "
                 "under 'sources:'");
    snprintf(text, sizeof text, "%s  k5: again.gguf\nentries: []\n", sources);
    expect_error(text, PATH ":302:3: duplicate source 'k5', first at line 7; expected each "
                 "source key once");
    assert_int_equal(mismatches, 0);
    free(sources);
}

/* irpa_suggestion_tail: the one way a message ends when a word is none of
 * those it could be. */
static void test_suggestion_tail(void **state) {
    (void)state;
    static const char *const words[] = {"name", "length"};
    char tail[IRPA_SUGGESTION_TAIL_SIZE];
    assert_string_equal(irpa_suggestion_tail(tail, "lenght", 6, words, 2, NULL),
                        "; did you mean 'length'?");
    assert_string_equal(irpa_suggestion_tail(tail, "colour", 6, words, 2, NULL),
                        "; expected one of: name, length");
    assert_string_equal(irpa_suggestion_tail(tail, "colour", 6, words, 2, "expected a name"),
                        "; expected a name");
    assert_string_equal(irpa_suggestion_tail(tail, "colour", 6, words, 2, ""), "");
    assert_string_equal(irpa_suggestion_tail(tail, "nam", 3, words, 2, ""),
                        "; did you mean 'name'?");
    /* Only the given bytes are the word. */
    assert_string_equal(irpa_suggestion_tail(tail, "lenghtzzzz", 6, words, 2, ""),
                        "; did you mean 'length'?");
    assert_string_equal(irpa_suggestion_tail(tail, "lenghtzzzz", 10, words, 2, ""), "");
    /* Too far (3 edits), or shorter than the edits it takes: no suggestion. */
    assert_string_equal(irpa_suggestion_tail(tail, "lxngxx", 6, words, 2, ""), "");
    static const char *const short_words[] = {"ab"};
    assert_string_equal(irpa_suggestion_tail(tail, "xy", 2, short_words, 1, ""), "");
    assert_string_equal(irpa_suggest("nmae", words, 2), "name");
    assert_null(irpa_suggest("zzzzzz", words, 2));
}

/* The splat types are one table: every type the messages list encodes. */
static void test_splat_type_list(void **state) {
    (void)state;
    char list[IRPA_SPLAT_TYPE_LIST_SIZE];
    assert_string_equal(irpa_splat_type_list(list),
                        "i8, i16, i32, i64, u8, u16, u32, u64, f16, bf16, f32, f64");
    char *names = strdup(list), *context = NULL;
    assert_non_null(names);
    size_t types = 0;
    for (char *name = strtok_r(names, ", ", &context); name;
         name = strtok_r(NULL, ", ", &context)) {
        uint8_t pattern[16], width = 0;
        char why[256] = "";
        assert_int_equal(irpa_splat_encode(name, "1", pattern, &width, why, sizeof why),
                         IRPA_SPLAT_OK);
        assert_int_equal(width, (size_t)atoi(name + strcspn(name, "0123456789")) / 8);
        types++;
    }
    assert_int_equal(types, 12);
    free(names);
}

/* number.h: integers, every digit checked before the overflow is said. */
static void test_number_parsing(void **state) {
    (void)state;
    uint64_t value = 7;
    bool negative = true;
    assert_int_equal(irpa_parse_integer("18446744073709551615", 20, &value, &negative),
                     IRPA_NUMBER_OK);
    assert_true(value == UINT64_MAX && !negative);
    assert_int_equal(irpa_parse_integer("0xFFFFffffFFFFffff", 18, &value, &negative),
                     IRPA_NUMBER_OK);
    assert_true(value == UINT64_MAX);
    assert_int_equal(irpa_parse_integer("18446744073709551616", 20, &value, &negative),
                     IRPA_NUMBER_TOO_LARGE);
    assert_int_equal(irpa_parse_integer("184467440737095516150", 21, &value, &negative),
                     IRPA_NUMBER_TOO_LARGE);
    assert_int_equal(irpa_parse_integer("0x10000000000000000", 19, &value, &negative),
                     IRPA_NUMBER_TOO_LARGE);
    /* A bad digit after the overflow: not an integer at all. */
    assert_int_equal(irpa_parse_integer("99999999999999999999x", 21, &value, &negative),
                     IRPA_NUMBER_NOT_INTEGER);
    assert_int_equal(irpa_parse_integer("-0", 2, &value, &negative), IRPA_NUMBER_OK);
    assert_true(value == 0 && negative);
    assert_int_equal(irpa_parse_integer("-", 1, &value, &negative), IRPA_NUMBER_NOT_INTEGER);
    assert_int_equal(irpa_parse_integer("0x", 2, &value, &negative), IRPA_NUMBER_NOT_INTEGER);
    assert_int_equal(irpa_parse_integer("+1", 2, &value, &negative), IRPA_NUMBER_NOT_INTEGER);
    assert_int_equal(irpa_parse_integer("0x1g", 4, &value, &negative), IRPA_NUMBER_NOT_INTEGER);
    double number;
    bool overflowed;
    assert_true(irpa_parse_float("-.Inf", 5, &number, &overflowed) && number < 0 &&
                number * 0 != 0);
    assert_true(irpa_parse_float("1e400", 5, &number, &overflowed) && overflowed);
    assert_false(irpa_parse_float(" 1", 2, &number, &overflowed));
    assert_false(irpa_parse_float("1x", 2, &number, &overflowed));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_resolved_paths),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_splat_values),
        cmocka_unit_test(test_entry_name_from_tensor_is_checked),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_tab_in_indentation),
        cmocka_unit_test(test_empty_and_wrong_root),
        cmocka_unit_test(test_aliases_and_depth),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_kind_keys),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_names_and_sources),
        cmocka_unit_test(test_archive_names),
        cmocka_unit_test(test_alignment_and_metadata),
        cmocka_unit_test(test_splat_errors),
        cmocka_unit_test(test_every_error_is_reported),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_many_sources),
        cmocka_unit_test(test_suggestion_tail),
        cmocka_unit_test(test_splat_type_list),
        cmocka_unit_test(test_number_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
