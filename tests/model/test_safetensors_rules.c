/* test_safetensors_rules.c: the safetensors reader against the reference
 * reader's rules, one generated file per row of SAFETENSORS_RULES.md.
 *
 * Each case is a header (and a data section of 0, 1, 2... bytes) written
 * to a temporary file and read with irpa_safetensors_read. A case says what
 * Hugging Face's safetensors crate does with the file and what we do: we
 * accept (with so many tensors) or we reject with an error that names the
 * file and contains `problem`. Where the two differ the case is marked
 * `differs`, and SAFETENSORS_RULES.md says why. The test also checks that
 * SAFETENSORS_RULES.md names every case here and no other.
 *
 * With IRPA_RULES_DUMP=DIR the files are written to DIR (as NAME.safetensors)
 * and kept, to run another reader over them. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "model.h"

typedef struct rule_case {
    const char *name;           /* the case, as SAFETENSORS_RULES.md names it */
    const char *header;         /* header bytes (may hold NULs), or NULL: built by `build` */
    size_t header_size;         /* bytes of `header` */
    char *(*build)(size_t *size);  /* builds a header too long to write here */
    size_t data_bytes;          /* bytes of data after the header */
    bool declares_length;       /* the length field says `declared_length`, not header_size */
    uint64_t declared_length;   /* the header length written in the first 8 bytes */
    bool cut;                   /* the file is cut to `cut_to` bytes */
    size_t cut_to;              /* bytes kept */
    bool reference_accepts;     /* what the safetensors crate does */
    bool differs;               /* we decide otherwise (see SAFETENSORS_RULES.md) */
    const char *problem;        /* NULL: we accept; else a part of our error */
    size_t tensors;             /* tensors listed when accepted */
    const char *first;          /* when set: the name of the first tensor listed */
} rule_case;

#define HEADER(text) .header = (text), .header_size = sizeof(text) - 1
#define ACCEPTED .reference_accepts = true
#define REJECTED .reference_accepts = false

/* A tensor of 4 U8 at [0, 4): with 4 data bytes, a valid file on its own. */
#define TENSOR_A "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}"
#define ONLY_A "{" TENSOR_A "}"
/* A tensor entry of `dtype`, shape `shape`, offsets `offsets`, named "a". */
#define ENTRY(dtype, shape, offsets) \
    "{\"a\":{\"dtype\":" dtype ",\"shape\":" shape ",\"data_offsets\":" offsets "}}"

/* ---- headers built at run time ---- */

typedef struct dtype_fact {
    const char *name;  /* as the header spells it */
    unsigned shape;    /* elements: enough for whole bytes */
    unsigned bytes;    /* bytes they take */
} dtype_fact;

/* Every member of the crate's Dtype enum (safetensors/src/tensor.rs). */
static const dtype_fact every_dtype[] = {
    {"BOOL", 1, 1},    {"F4", 2, 1},      {"F6_E2M3", 4, 3},     {"F6_E3M2", 4, 3},
    {"U8", 1, 1},      {"I8", 1, 1},      {"F8_E5M2", 1, 1},     {"F8_E4M3", 1, 1},
    {"F8_E8M0", 1, 1}, {"F8_E4M3FNUZ", 1, 1}, {"F8_E5M2FNUZ", 1, 1}, {"I16", 1, 2},
    {"U16", 1, 2},     {"F16", 1, 2},     {"BF16", 1, 2},        {"I32", 1, 4},
    {"U32", 1, 4},     {"F32", 1, 4},     {"C64", 1, 8},         {"F64", 1, 8},
    {"I64", 1, 8},     {"U64", 1, 8},
};
#define EVERY_DTYPE_COUNT (sizeof every_dtype / sizeof every_dtype[0])
#define EVERY_DTYPE_BYTES 67

static char *build_every_dtype(size_t *size) {
    char *text = NULL;
    FILE *out = open_memstream(&text, size);
    assert_non_null(out);
    unsigned offset = 0;
    fputc('{', out);
    for (size_t i = 0; i < EVERY_DTYPE_COUNT; i++) {
        fprintf(out, "%s\"t%zu\":{\"dtype\":\"%s\",\"shape\":[%u],\"data_offsets\":[%u,%u]}",
                i ? "," : "", i, every_dtype[i].name, every_dtype[i].shape, offset,
                offset + every_dtype[i].bytes);
        offset += every_dtype[i].bytes;
    }
    fputc('}', out);
    fclose(out);
    assert_int_equal(offset, EVERY_DTYPE_BYTES);
    return text;
}

/* A zero-sized tensor whose ignored field "x" holds `levels` nested
 * arrays: with the header object and the tensor's, levels + 2 deep. */
static char *build_nested(unsigned levels, size_t *size) {
    char *text = NULL;
    FILE *out = open_memstream(&text, size);
    assert_non_null(out);
    fputs("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"x\":", out);
    for (unsigned i = 0; i < levels; i++) fputc('[', out);
    for (unsigned i = 0; i < levels; i++) fputc(']', out);
    fputs("}}", out);
    fclose(out);
    return text;
}

static char *build_nesting_127(size_t *size) {
    return build_nested(125, size);
}

static char *build_nesting_128(size_t *size) {
    return build_nested(126, size);
}

/* ---- the cases: one per row of SAFETENSORS_RULES.md ---- */

static const rule_case cases[] = {
    /* The length field and the header's bytes. */
    {.name = "file_shorter_than_length_field", HEADER(""), .cut = true, .cut_to = 5, REJECTED,
     .problem = "file is 5 bytes, too short"},
    {.name = "header_length_over_limit", HEADER("{}"), .declares_length = true,
     .declared_length = 100000001, REJECTED, .problem = "header length 100000001 is too large"},
    {.name = "header_length_at_limit_is_not_too_large", HEADER("{}"), .declares_length = true,
     .declared_length = 100000000, REJECTED,
     .problem = "header length 100000000 runs past end of file"},
    {.name = "header_length_past_end_of_file", HEADER("{}"), .declares_length = true,
     .declared_length = 3, REJECTED, .problem = "header length 3 runs past end of file"},
    {.name = "header_length_zero", HEADER(""), REJECTED, .problem = "header is not valid JSON"},
    {.name = "empty_header_object", HEADER("{}"), ACCEPTED, .tensors = 0},
    {.name = "empty_header_object_with_data", HEADER("{}"), .data_bytes = 1, REJECTED,
     .problem = "its last 1 bytes (to end of file) belong to no tensor"},
    {.name = "leading_whitespace", HEADER(" \n{" TENSOR_A "}"), .data_bytes = 4, ACCEPTED,
     .tensors = 1},
    {.name = "trailing_space_padding", HEADER(ONLY_A "       "), .data_bytes = 4, ACCEPTED,
     .tensors = 1},
    {.name = "trailing_json_whitespace_padding", HEADER(ONLY_A " \t\r\n"), .data_bytes = 4,
     ACCEPTED, .tensors = 1},
    {.name = "trailing_nul_padding", HEADER(ONLY_A "\0\0"), .data_bytes = 4, REJECTED,
     .problem = "NUL byte at file offset 61"},
    {.name = "trailing_garbage", HEADER(ONLY_A "x"), .data_bytes = 4, REJECTED,
     .problem = "header is not valid JSON: line 1 column 54: end of file expected"},
    {.name = "byte_order_mark", HEADER("\xef\xbb\xbf" ONLY_A), .data_bytes = 4, REJECTED,
     .problem = "header is not valid JSON"},
    {.name = "invalid_utf8_in_name", HEADER("{\"\xff\":{\"dtype\":\"U8\",\"shape\":[0],"
                                            "\"data_offsets\":[0,0]}}"),
     REJECTED, .problem = "header is not valid JSON"},
    {.name = "invalid_utf8_in_padding", HEADER(ONLY_A "\xff"), .data_bytes = 4, REJECTED,
     .problem = "header is not valid JSON"},
    {.name = "utf8_name", HEADER("{\"\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[4],"
                                 "\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, ACCEPTED, .tensors = 1, .first = "\xc3\xa9"},
    {.name = "escaped_name", HEADER("{\"\\u0061\\n\":{\"dtype\":\"U8\",\"shape\":[4],"
                                    "\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, ACCEPTED, .tensors = 1, .first = "a\n"},
    {.name = "lone_surrogate_escape", HEADER("{\"a\\ud800\":{\"dtype\":\"U8\",\"shape\":[4],"
                                             "\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, REJECTED, .problem = "header is not valid JSON"},
    {.name = "control_character_in_string", HEADER("{\"a\x01\":{\"dtype\":\"U8\",\"shape\":[4],"
                                                   "\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, REJECTED, .problem = "header is not valid JSON"},
    {.name = "top_level_array", HEADER("[]"), REJECTED, .problem = "header is not a JSON object"},
    {.name = "top_level_string", HEADER("\"a\""), REJECTED,
     .problem = "header is not valid JSON: line 1 column 3"},
    {.name = "trailing_comma", HEADER("{" TENSOR_A ",}"), .data_bytes = 4, REJECTED,
     .problem = "header is not valid JSON"},
    {.name = "nesting_127_deep", .build = build_nesting_127, ACCEPTED, .tensors = 1},
    {.name = "nesting_128_deep", .build = build_nesting_128, REJECTED,
     .problem = "nests arrays and objects more than 127 deep"},
    {.name = "number_out_of_range_in_ignored_field",
     HEADER("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"x\":1e400}}"),
     REJECTED, .problem = "header is not valid JSON"},

    /* Duplicate keys. */
    {.name = "duplicate_tensor_name", HEADER("{" TENSOR_A "," TENSOR_A "}"), .data_bytes = 4,
     ACCEPTED, .differs = true, .problem = "duplicate object key"},
    {.name = "duplicate_metadata", HEADER("{\"__metadata__\":{},\"__metadata__\":{}}"),
     REJECTED, .problem = "duplicate object key"},
    {.name = "duplicate_key_in_metadata",
     HEADER("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}"), ACCEPTED, .differs = true,
     .problem = "duplicate object key"},
    {.name = "duplicate_tensor_field",
     HEADER("{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, REJECTED, .problem = "duplicate object key"},
    {.name = "duplicate_key_in_ignored_field",
     HEADER("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],"
            "\"x\":{\"y\":1,\"y\":2}}}"),
     ACCEPTED, .differs = true, .problem = "duplicate object key"},

    /* __metadata__. */
    {.name = "metadata_absent", HEADER(ONLY_A), .data_bytes = 4, ACCEPTED, .tensors = 1},
    {.name = "metadata_null", HEADER("{\"__metadata__\":null," TENSOR_A "}"), .data_bytes = 4,
     ACCEPTED, .tensors = 1, .first = "a"},
    {.name = "metadata_null_alone", HEADER("{\"__metadata__\":null}"), ACCEPTED, .tensors = 0},
    {.name = "metadata_empty_object", HEADER("{\"__metadata__\":{}," TENSOR_A "}"),
     .data_bytes = 4, ACCEPTED, .tensors = 1},
    {.name = "metadata_strings",
     HEADER("{\"__metadata__\":{\"format\":\"pt\",\"\":\"\"}," TENSOR_A "}"), .data_bytes = 4,
     ACCEPTED, .tensors = 1},
    {.name = "metadata_after_tensors", HEADER("{" TENSOR_A ",\"__metadata__\":{\"k\":\"v\"}}"),
     .data_bytes = 4, ACCEPTED, .tensors = 1, .first = "a"},
    {.name = "metadata_value_with_nul_escape", HEADER("{\"__metadata__\":{\"k\":\"a\\u0000b\"}}"),
     ACCEPTED, .tensors = 0},
    {.name = "metadata_number_value", HEADER("{\"__metadata__\":{\"k\":1}}"), REJECTED,
     .problem = "__metadata__ value of 'k' is not a string"},
    {.name = "metadata_null_value", HEADER("{\"__metadata__\":{\"k\":null}}"), REJECTED,
     .problem = "__metadata__ value of 'k' is not a string"},
    {.name = "metadata_object_value", HEADER("{\"__metadata__\":{\"k\":{}}}"), REJECTED,
     .problem = "__metadata__ value of 'k' is not a string"},
    {.name = "metadata_array", HEADER("{\"__metadata__\":[]}"), REJECTED,
     .problem = "__metadata__ is neither null nor an object of strings"},
    {.name = "metadata_string", HEADER("{\"__metadata__\":\"x\"}"), REJECTED,
     .problem = "__metadata__ is neither null nor an object of strings"},
    {.name = "metadata_key_escaped", HEADER("{\"\\u005f_metadata__\":{\"k\":1}}"), REJECTED,
     .problem = "__metadata__ value of 'k' is not a string"},

    /* Tensor entries. */
    {.name = "key_order_differs_from_offsets",
     HEADER("{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},"
            "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}"),
     .data_bytes = 4, ACCEPTED, .tensors = 2, .first = "b"},
    {.name = "unknown_tensor_fields_ignored",
     HEADER("{\"a\":{\"x\":{\"y\":[1,2.5,null,true]},\"dtype\":\"U8\",\"shape\":[4],"
            "\"data_offsets\":[0,4],\"z\":-0}}"),
     .data_bytes = 4, ACCEPTED, .tensors = 1},
    {.name = "entry_as_array", HEADER("{\"a\":[\"U8\",[4],[0,4]]}"), .data_bytes = 4, ACCEPTED,
     .tensors = 1},
    {.name = "entry_as_array_of_four", HEADER("{\"a\":[\"U8\",[4],[0,4],1]}"), .data_bytes = 4,
     REJECTED, .problem = "entry is an array of 4 values"},
    {.name = "entry_null", HEADER("{\"a\":null}"), REJECTED, .problem = "entry is not an object"},
    {.name = "entry_number", HEADER("{\"a\":1}"), REJECTED, .problem = "entry is not an object"},
    {.name = "missing_dtype", HEADER("{\"a\":{\"shape\":[4],\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, REJECTED, .problem = "missing or non-string \"dtype\""},
    {.name = "missing_shape", HEADER("{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, REJECTED, .problem = "shape is not an array"},
    {.name = "missing_data_offsets", HEADER("{\"a\":{\"dtype\":\"U8\",\"shape\":[4]}}"),
     .data_bytes = 4, REJECTED, .problem = "\"data_offsets\" is not [begin, end]"},
    {.name = "empty_tensor_name", HEADER("{\"\":{\"dtype\":\"U8\",\"shape\":[4],"
                                         "\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, ACCEPTED, .tensors = 1, .first = ""},
    {.name = "tensor_name_with_nul", HEADER("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[4],"
                                            "\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, ACCEPTED, .differs = true, .problem = "NUL byte in object key"},

    /* dtype. */
    {.name = "every_dtype", .build = build_every_dtype, .data_bytes = EVERY_DTYPE_BYTES,
     ACCEPTED, .tensors = EVERY_DTYPE_COUNT},
    {.name = "dtype_unknown", HEADER(ENTRY("\"Q4_K\"", "[4]", "[0,4]")), .data_bytes = 4,
     REJECTED, .problem = "unsupported dtype 'Q4_K'"},
    {.name = "dtype_lowercase", HEADER(ENTRY("\"u8\"", "[4]", "[0,4]")), .data_bytes = 4,
     REJECTED, .problem = "unsupported dtype 'u8'"},
    {.name = "dtype_with_nul", HEADER(ENTRY("\"U8\\u0000\"", "[4]", "[0,4]")), .data_bytes = 4,
     REJECTED, .problem = "unsupported dtype 'U8'"},
    {.name = "dtype_number", HEADER(ENTRY("4", "[4]", "[0,4]")), .data_bytes = 4, REJECTED,
     .problem = "missing or non-string \"dtype\""},
    {.name = "dtype_as_enum_map", HEADER(ENTRY("{\"U8\":null}", "[4]", "[0,4]")),
     .data_bytes = 4, ACCEPTED, .tensors = 1},
    {.name = "dtype_as_enum_map_with_value", HEADER(ENTRY("{\"U8\":[]}", "[4]", "[0,4]")),
     .data_bytes = 4, REJECTED, .problem = "missing or non-string \"dtype\""},
    {.name = "sub_byte_dtype_whole_bytes", HEADER(ENTRY("\"F6_E2M3\"", "[4]", "[0,3]")),
     .data_bytes = 3, ACCEPTED, .tensors = 1},
    {.name = "sub_byte_dtype_partial_byte", HEADER(ENTRY("\"F4\"", "[3]", "[0,2]")),
     .data_bytes = 2, REJECTED, .problem = "3 elements of 4 bits do not fill whole bytes"},

    /* shape. */
    {.name = "scalar_shape", HEADER(ENTRY("\"F32\"", "[]", "[0,4]")), .data_bytes = 4, ACCEPTED,
     .tensors = 1},
    {.name = "zero_dimension", HEADER(ENTRY("\"F32\"", "[0,5]", "[0,0]")), ACCEPTED,
     .tensors = 1},
    {.name = "zero_dimension_with_bytes", HEADER(ENTRY("\"U8\"", "[0]", "[0,4]")),
     .data_bytes = 4, REJECTED, .problem = "span 4 bytes but its U8 shape needs 0"},
    {.name = "shape_not_array", HEADER(ENTRY("\"U8\"", "4", "[0,4]")), .data_bytes = 4,
     REJECTED, .problem = "shape is not an array"},
    {.name = "shape_negative", HEADER(ENTRY("\"U8\"", "[-4]", "[0,4]")), .data_bytes = 4,
     REJECTED, .problem = "shape[0] is not a non-negative integer"},
    {.name = "shape_fraction", HEADER(ENTRY("\"U8\"", "[4.0]", "[0,4]")), .data_bytes = 4,
     REJECTED, .problem = "shape[0] is not a non-negative integer"},
    {.name = "shape_exponent", HEADER(ENTRY("\"U8\"", "[4e0]", "[0,4]")), .data_bytes = 4,
     REJECTED, .problem = "shape[0] is not a non-negative integer"},
    {.name = "shape_string", HEADER(ENTRY("\"U8\"", "[\"4\"]", "[0,4]")), .data_bytes = 4,
     REJECTED, .problem = "shape[0] is not a non-negative integer"},
    {.name = "shape_negative_zero", HEADER(ENTRY("\"U8\"", "[-0]", "[0,0]")), REJECTED,
     .differs = true, .tensors = 1},
    {.name = "shape_overflow", HEADER(ENTRY("\"U8\"", "[4294967296,4294967296]", "[0,0]")),
     REJECTED, .problem = "shape overflows 64 bits"},
    {.name = "shape_overflow_before_zero",
     HEADER(ENTRY("\"U8\"", "[4294967296,4294967296,0]", "[0,0]")), REJECTED,
     .problem = "shape overflows 64 bits"},
    {.name = "shape_zero_before_overflow",
     HEADER(ENTRY("\"U8\"", "[0,4294967296,4294967296]", "[0,0]")), ACCEPTED, .tensors = 1},
    {.name = "shape_bits_overflow", HEADER(ENTRY("\"U64\"", "[2305843009213693952]", "[0,0]")),
     REJECTED, .problem = "size in bits overflows 64 bits"},
    {.name = "integer_2_pow_64_in_ignored_field",
     HEADER("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],"
            "\"x\":18446744073709551616}}"),
     ACCEPTED, .differs = true, .problem = "too big integer"},
    {.name = "shape_dimension_2_pow_63_with_zero",
     HEADER(ENTRY("\"U8\"", "[9223372036854775808,0]", "[0,0]")), ACCEPTED, .differs = true,
     .problem = "too big integer"},

    /* data_offsets. */
    {.name = "offsets_one_value", HEADER(ENTRY("\"U8\"", "[4]", "[4]")), .data_bytes = 4,
     REJECTED, .problem = "\"data_offsets\" is not [begin, end]"},
    {.name = "offsets_three_values", HEADER(ENTRY("\"U8\"", "[4]", "[0,4,4]")), .data_bytes = 4,
     REJECTED, .problem = "\"data_offsets\" is not [begin, end]"},
    {.name = "offsets_object", HEADER(ENTRY("\"U8\"", "[4]", "{\"0\":0,\"1\":4}")),
     .data_bytes = 4, REJECTED, .problem = "\"data_offsets\" is not [begin, end]"},
    {.name = "offsets_negative", HEADER(ENTRY("\"U8\"", "[0]", "[-1,-1]")), REJECTED,
     .problem = "\"data_offsets\" is not [begin, end]"},
    {.name = "offsets_fraction", HEADER(ENTRY("\"U8\"", "[4]", "[0,4.0]")), .data_bytes = 4,
     REJECTED, .problem = "\"data_offsets\" is not [begin, end]"},
    {.name = "offsets_end_before_begin", HEADER(ENTRY("\"U8\"", "[0]", "[4,0]")),
     .data_bytes = 4, REJECTED, .problem = "data_offsets end 0 is before begin 4"},
    {.name = "offsets_size_mismatch", HEADER(ENTRY("\"F32\"", "[2]", "[0,4]")), .data_bytes = 4,
     REJECTED, .problem = "span 4 bytes but its F32 shape needs 8 (size mismatch)"},
    {.name = "offsets_past_end_of_file", HEADER(ENTRY("\"U8\"", "[8]", "[0,8]")),
     .data_bytes = 4, REJECTED, .problem = "run past end of file"},
    {.name = "first_tensor_not_at_zero", HEADER(ENTRY("\"U8\"", "[2]", "[2,4]")),
     .data_bytes = 4, REJECTED, .problem = "bytes [0, 2) before tensor 'a' belong to no tensor"},
    {.name = "hole_between_tensors",
     HEADER("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
            "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}"),
     .data_bytes = 4, REJECTED, .problem = "bytes [1, 2) before tensor 'b' belong to no tensor"},
    {.name = "overlapping_tensors",
     HEADER("{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
            "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}"),
     .data_bytes = 4, REJECTED, .problem = "tensor 'b' at data offset 2 overlaps tensor 'a'"},
    {.name = "same_range_twice",
     HEADER("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
            "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}"),
     .data_bytes = 4, REJECTED, .problem = "overlaps tensor"},
    {.name = "bytes_after_last_tensor", HEADER(ONLY_A), .data_bytes = 6, REJECTED,
     .problem = "its last 2 bytes (to end of file) belong to no tensor"},
    {.name = "zero_sized_between_tensors",
     HEADER("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
            "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]},"
            "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}"),
     .data_bytes = 4, ACCEPTED, .tensors = 3},
    {.name = "zero_sized_at_start_and_end",
     HEADER("{\"s\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}," TENSOR_A ","
            "\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}"),
     .data_bytes = 4, ACCEPTED, .tensors = 3, .first = "s"},
    {.name = "zero_sized_inside_tensor",
     HEADER("{" TENSOR_A ",\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]}}"),
     .data_bytes = 4, REJECTED, .problem = "tensor 'z' at data offset 2 overlaps tensor 'a'"},
    {.name = "zero_sized_past_end",
     HEADER("{" TENSOR_A ",\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[6,6]}}"),
     .data_bytes = 4, REJECTED, .problem = "run past end of file"},
    {.name = "data_section_unaligned", HEADER(ONLY_A " "), .data_bytes = 4, ACCEPTED,
     .tensors = 1},
};

#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* ---- running a case ---- */

static char case_dir[64];
static const char *dump_dir;

static int make_case_dir(void **state) {
    (void)state;
    dump_dir = getenv("IRPA_RULES_DUMP");
    if (dump_dir) return 0;
    snprintf(case_dir, sizeof case_dir, "/tmp/irpa-test-rules-XXXXXX");
    return mkdtemp(case_dir) ? 0 : -1;
}

static int remove_case_dir(void **state) {
    (void)state;
    if (dump_dir) return 0;
    for (size_t i = 0; i < CASE_COUNT; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s.safetensors", case_dir, cases[i].name);
        unlink(path);
    }
    rmdir(case_dir);
    return 0;
}

/* Writes the case's file; returns its path (owned). */
static char *write_case(const rule_case *c) {
    size_t header_size = c->header_size;
    char *built = c->build ? c->build(&header_size) : NULL;
    const char *header = built ? built : c->header;
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s.safetensors", dump_dir ? dump_dir : case_dir, c->name) >=
                0);
    uint64_t length_field = c->declares_length ? c->declared_length : header_size;
    size_t file_size = 8 + header_size + c->data_bytes;
    unsigned char *bytes = malloc(file_size);
    assert_non_null(bytes);
    for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)(length_field >> (8 * i));
    memcpy(bytes + 8, header, header_size);
    for (size_t i = 0; i < c->data_bytes; i++) bytes[8 + header_size + i] = (unsigned char)i;
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    size_t kept = c->cut ? c->cut_to : file_size;
    assert_int_equal(fwrite(bytes, 1, kept, file), kept);
    fclose(file);
    free(bytes);
    free(built);
    return path;
}

static bool errors_contain(const irpa_errors *errors, const char *needle) {
    for (size_t i = 0; i < errors->count; i++) {
        if (strstr(errors->messages[i], needle)) return true;
    }
    return false;
}

static void print_errors(const irpa_errors *errors) {
    for (size_t i = 0; i < errors->count; i++) fprintf(stderr, "  %s\n", errors->messages[i]);
}

/* Runs one case; false (with a message) when we do not behave as it says. */
static bool check_case(const rule_case *c) {
    bool we_accept = c->problem == NULL;
    if ((we_accept != c->reference_accepts) != c->differs) {
        print_error("%s: marked %s the reference, but it says we %s and it %s\n", c->name,
                    c->differs ? "as differing from" : "as agreeing with",
                    we_accept ? "accept" : "reject", c->reference_accepts ? "accepts" : "rejects");
        return false;
    }
    char *path = write_case(c);
    irpa_source source = {0};
    irpa_errors errors = {0};
    assert_int_equal(irpa_source_open(&source, path, NULL, &errors), 0);
    irpa_tensor_list list = {0};
    int status = irpa_safetensors_read(&source, &list, &errors);
    bool ok = true;
    if (we_accept && status != 0) {
        print_error("%s: expected the file to be accepted\n", c->name);
        ok = false;
    } else if (we_accept && list.count != c->tensors) {
        print_error("%s: %zu tensors, expected %zu\n", c->name, list.count, c->tensors);
        ok = false;
    } else if (we_accept && c->first && strcmp(list.tensors[0].name, c->first) != 0) {
        print_error("%s: first tensor '%s', expected '%s'\n", c->name, list.tensors[0].name,
                    c->first);
        ok = false;
    } else if (!we_accept && (status != -1 || !errors_contain(&errors, path) ||
                              !errors_contain(&errors, c->problem))) {
        print_error("%s: expected an error naming the file and containing '%s'\n", c->name,
                    c->problem);
        ok = false;
    }
    if (!ok) print_errors(&errors);
    irpa_tensor_list_free(&list);
    irpa_errors_clear(&errors);
    irpa_source_close(&source);
    free(path);
    return ok;
}

static void test_rules(void **state) {
    (void)state;
    size_t failed = 0;
    for (size_t i = 0; i < CASE_COUNT; i++) failed += !check_case(&cases[i]);
    if (failed) fail_msg("%zu of %zu cases failed", failed, CASE_COUNT);
}

/* The every_dtype file, read back: each dtype's bytes and torch name. */
static void test_every_dtype_details(void **state) {
    (void)state;
    const rule_case *every = NULL;
    for (size_t i = 0; i < CASE_COUNT; i++) {
        if (strcmp(cases[i].name, "every_dtype") == 0) every = &cases[i];
    }
    assert_non_null(every);
    char *path = write_case(every);
    irpa_source source = {0};
    irpa_errors errors = {0};
    assert_int_equal(irpa_source_open(&source, path, NULL, &errors), 0);
    irpa_tensor_list list = {0};
    assert_int_equal(irpa_safetensors_read(&source, &list, &errors), 0);
    assert_int_equal(list.count, EVERY_DTYPE_COUNT);
    for (size_t i = 0; i < EVERY_DTYPE_COUNT; i++) {
        assert_string_equal(list.tensors[i].dtype, every_dtype[i].name);
        assert_int_equal(list.tensors[i].length, every_dtype[i].bytes);
    }
    assert_string_equal(list.tensors[9].torch_dtype, "float8_e4m3fnuz");
    assert_string_equal(list.tensors[10].torch_dtype, "float8_e5m2fnuz");
    assert_null(list.tensors[8].torch_dtype); /* F8_E8M0: no iree-turbine name */
    irpa_tensor_list_free(&list);
    irpa_source_close(&source);
    free(path);
}

/* ---- SAFETENSORS_RULES.md names exactly these cases ---- */

static char *read_rules_table(void) {
    const char *root = getenv("IRPA_SOURCE_ROOT");
    assert_non_null(root);
    char *path = NULL;
    assert_true(asprintf(&path, "%s/tests/model/SAFETENSORS_RULES.md", root) >= 0);
    FILE *file = fopen(path, "r");
    if (!file) fail_msg("cannot open %s", path);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) fwrite(chunk, 1, got, out);
    fclose(out);
    fclose(file);
    free(path);
    return text;
}

static bool is_case_name(const char *name, size_t length) {
    for (size_t i = 0; i < CASE_COUNT; i++) {
        if (strlen(cases[i].name) == length && memcmp(cases[i].name, name, length) == 0) {
            return true;
        }
    }
    return false;
}

/* The case column is a table row's last cell: "| ... | `case_name` |". */
static void test_rules_table_matches_cases(void **state) {
    (void)state;
    char *text = read_rules_table();
    size_t rows = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        size_t length = strlen(line);
        if (line[0] != '|' || length < 4 || strcmp(line + length - 3, "` |") != 0) continue;
        const char *end = line + length - 3;
        const char *start = end;
        while (start > line && start[-1] != '`') start--;
        if (!is_case_name(start, (size_t)(end - start))) {
            fail_msg("SAFETENSORS_RULES.md names case '%.*s', which this test lacks",
                     (int)(end - start), start);
        }
        rows++;
    }
    free(text);
    text = read_rules_table();
    for (size_t i = 0; i < CASE_COUNT; i++) {
        char cell[128];
        snprintf(cell, sizeof cell, "`%s` |", cases[i].name);
        if (!strstr(text, cell)) fail_msg("SAFETENSORS_RULES.md has no row for %s", cases[i].name);
    }
    assert_int_equal(rows, CASE_COUNT);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_every_dtype_details),
        cmocka_unit_test(test_rules_table_matches_cases),
    };
    return cmocka_run_group_tests(tests, make_case_dir, remove_case_dir);
}
