/* test_model.c: the GGUF and safetensors readers against real files, IREE's
 * reference archives, the malformed files in testdata/bad, and small files
 * crafted here. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ggml_types.h"
#include "model.h"

/* ---- helpers ---- */

static const char *testdata(void) {
    const char *dir = getenv("IRPA_TESTDATA");
    if (!dir) fail_msg("IRPA_TESTDATA is not set");
    return dir;
}

static char *path_join(const char *a, const char *b) {
    char *joined = NULL;
    assert_true(asprintf(&joined, "%s/%s", a, b) >= 0);
    return joined;
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in `dir` ending with `suffix`. */
static char **list_dir(const char *dir, const char *suffix, size_t *count) {
    DIR *handle = opendir(dir);
    if (!handle) fail_msg("cannot open %s: %s", dir, strerror(errno));
    char **names = NULL;
    *count = 0;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        size_t length = strlen(entry->d_name), suffix_length = strlen(suffix);
        if (entry->d_name[0] == '.' || length < suffix_length ||
            strcmp(entry->d_name + length - suffix_length, suffix) != 0) {
            continue;
        }
        names = realloc(names, (*count + 1) * sizeof *names);
        assert_non_null(names);
        names[(*count)++] = strdup(entry->d_name);
    }
    closedir(handle);
    qsort(names, *count, sizeof *names, compare_strings);
    return names;
}

static void free_names(char **names, size_t count) {
    for (size_t i = 0; i < count; i++) free(names[i]);
    free(names);
}

static unsigned char *read_range(const char *path, uint64_t offset, uint64_t length) {
    FILE *file = fopen(path, "rb");
    if (!file) fail_msg("cannot open %s", path);
    unsigned char *bytes = malloc(length ? length : 1);
    assert_non_null(bytes);
    assert_int_equal(fseeko(file, (off_t)offset, SEEK_SET), 0);
    assert_int_equal(fread(bytes, 1, length, file), length);
    fclose(file);
    return bytes;
}

static int errors_contain(const irpa_errors *errors, const char *needle) {
    for (size_t i = 0; i < errors->count; i++) {
        if (strstr(errors->messages[i], needle)) return 1;
    }
    return 0;
}

static void print_errors(const irpa_errors *errors) {
    irpa_errors_print(errors, stderr, "  error: ");
}

/* ---- reference archives ---- */

typedef struct reference_entry {
    char key[256];
    uint64_t start;
    uint64_t length;
} reference_entry;

/* Parses iree-dump-parameters lines "start | end | length | `key`". */
static reference_entry *parse_dump(const char *dump_path, size_t *count) {
    FILE *file = fopen(dump_path, "r");
    if (!file) fail_msg("cannot open %s", dump_path);
    reference_entry *entries = NULL;
    *count = 0;
    char line[1024];
    while (fgets(line, sizeof line, file)) {
        uint64_t start, end, length;
        char key[256];
        if (sscanf(line, " %" SCNu64 " | %" SCNu64 " | %" SCNu64 " | `%255[^`]`", &start, &end,
                   &length, key) != 4) {
            continue;
        }
        assert_int_equal(end - start, length);
        entries = realloc(entries, (*count + 1) * sizeof *entries);
        assert_non_null(entries);
        snprintf(entries[*count].key, sizeof entries[*count].key, "%s", key);
        entries[*count].start = start;
        entries[*count].length = length;
        (*count)++;
    }
    fclose(file);
    return entries;
}

/* A model's tensors, with the path of the file each lives in. */
typedef struct located_tensors {
    irpa_tensor_list lists[8];  /* one per file */
    char *paths[8];             /* file of each list */
    size_t files;               /* lists used */
} located_tensors;

static void read_model_file(const char *path, located_tensors *out) {
    irpa_source source = {0};
    irpa_errors errors = {0};
    assert_int_equal(irpa_source_open(&source, path, NULL, &errors), 0);
    irpa_model_format format = irpa_model_detect(&source, NULL);
    irpa_tensor_list list = {0};
    int status = -1;
    if (format == IRPA_FORMAT_GGUF) {
        status = irpa_gguf_read(&source, &list, &errors);
    } else if (format == IRPA_FORMAT_SAFETENSORS) {
        status = irpa_safetensors_read(&source, &list, &errors);
    } else {
        fail_msg("%s: detected as format %d", path, (int)format);
    }
    if (status != 0) print_errors(&errors);
    assert_int_equal(status, 0);
    assert_true(out->files < 8);
    out->lists[out->files] = list;
    out->paths[out->files] = strdup(path);
    out->files++;
    irpa_source_close(&source);
    irpa_errors_clear(&errors);
}

static void free_located(located_tensors *located) {
    for (size_t i = 0; i < located->files; i++) {
        irpa_tensor_list_free(&located->lists[i]);
        free(located->paths[i]);
    }
}

static void compare_with_reference(const located_tensors *located, const char *reference_name) {
    char *reference_dir = path_join(testdata(), "reference");
    char *dump_name = NULL, *irpa_name = NULL;
    assert_true(asprintf(&dump_name, "%s.dump.txt", reference_name) >= 0);
    assert_true(asprintf(&irpa_name, "%s.irpa", reference_name) >= 0);
    char *dump_path = path_join(reference_dir, dump_name);
    char *irpa_path = path_join(reference_dir, irpa_name);
    size_t entry_count = 0;
    reference_entry *entries = parse_dump(dump_path, &entry_count);

    size_t index = 0;
    for (size_t f = 0; f < located->files; f++) {
        const irpa_tensor_list *list = &located->lists[f];
        for (size_t t = 0; t < list->count; t++, index++) {
            const irpa_tensor *tensor = &list->tensors[t];
            if (index >= entry_count) fail_msg("%s: more tensors than the reference", reference_name);
            if (strcmp(tensor->name, entries[index].key) != 0) {
                fail_msg("%s: tensor %zu is '%s', reference has '%s'", reference_name, index,
                         tensor->name, entries[index].key);
            }
            assert_int_equal(tensor->length, entries[index].length);
            unsigned char *ours = read_range(located->paths[f], tensor->offset, tensor->length);
            unsigned char *theirs = read_range(irpa_path, entries[index].start, tensor->length);
            if (memcmp(ours, theirs, tensor->length) != 0) {
                fail_msg("%s: bytes of '%s' differ from the reference", reference_name,
                         tensor->name);
            }
            free(ours);
            free(theirs);
        }
    }
    assert_int_equal(index, entry_count);
    free(entries);
    free(dump_path);
    free(irpa_path);
    free(dump_name);
    free(irpa_name);
    free(reference_dir);
}

static void check_model_dir(const char *subdir, const char *suffix, size_t expected_files) {
    char *models = path_join(testdata(), "models");
    char *dir = path_join(models, subdir);
    size_t count = 0;
    char **names = list_dir(dir, suffix, &count);
    assert_int_equal(count, expected_files);
    for (size_t i = 0; i < count; i++) {
        char *path = path_join(dir, names[i]);
        located_tensors located = {0};
        read_model_file(path, &located);
        char *reference = strndup(names[i], strlen(names[i]) - strlen(suffix));
        compare_with_reference(&located, reference);
        free(reference);
        free_located(&located);
        free(path);
    }
    free_names(names, count);
    free(dir);
    free(models);
}

static void test_gguf_models_match_reference(void **state) {
    (void)state;
    check_model_dir("gguf", ".gguf", 4);
}

static void test_safetensors_models_match_reference(void **state) {
    (void)state;
    check_model_dir("safetensors", ".safetensors", 2);
}

static void test_sharded_model_matches_reference(void **state) {
    (void)state;
    char *index_path = NULL;
    assert_true(asprintf(&index_path, "%s/models/safetensors/sharded/model.safetensors.index.json",
                         testdata()) >= 0);
    irpa_source source = {0};
    irpa_errors errors = {0};
    assert_int_equal(irpa_source_open(&source, index_path, NULL, &errors), 0);
    assert_int_equal(irpa_model_detect(&source, NULL), IRPA_FORMAT_SAFETENSORS_INDEX);
    char **shards = NULL;
    size_t shard_count = 0;
    int status = irpa_safetensors_index_read(&source, &shards, &shard_count, &errors);
    if (status != 0) print_errors(&errors);
    assert_int_equal(status, 0);
    assert_int_equal(shard_count, 6);
    located_tensors located = {0};
    for (size_t i = 0; i < shard_count; i++) {
        char expected[128];
        snprintf(expected, sizeof expected, "/model-%05zu-of-00006.safetensors", i + 1);
        assert_non_null(strstr(shards[i], expected));
        read_model_file(shards[i], &located);
        free(shards[i]);
    }
    free(shards);
    compare_with_reference(&located, "sharded");
    free_located(&located);
    irpa_source_close(&source);
    irpa_errors_clear(&errors);
    free(index_path);
}

/* A few facts of the real files beyond the byte comparison. */
static void test_model_details(void **state) {
    (void)state;
    char *path = NULL;
    assert_true(asprintf(&path, "%s/models/gguf/llama-2-tiny-random.gguf", testdata()) >= 0);
    located_tensors located = {0};
    read_model_file(path, &located);
    const irpa_tensor_list *list = &located.lists[0];
    assert_int_equal(list->count, 12);
    const irpa_tensor *embedding = &list->tensors[0];
    assert_string_equal(embedding->name, "token_embd.weight");
    assert_string_equal(embedding->dtype, "F16");
    assert_string_equal(embedding->torch_dtype, "float16");
    assert_int_equal(embedding->rank, 2);
    assert_int_equal(embedding->shape[0], 32000); /* vocab outermost */
    free_located(&located);
    free(path);

    assert_true(asprintf(&path, "%s/models/safetensors/model.with_metadata.safetensors",
                         testdata()) >= 0);
    located_tensors st = {0};
    read_model_file(path, &st);
    list = &st.lists[0];
    assert_int_equal(list->count, 36);
    assert_string_equal(list->tensors[0].name, "int64_3");
    assert_string_equal(list->tensors[0].dtype, "I64");
    assert_string_equal(list->tensors[0].torch_dtype, "int64");
    assert_int_equal(list->tensors[2].rank, 3);
    assert_int_equal(list->tensors[2].shape[0], 3);
    assert_int_equal(list->tensors[2].shape[2], 7);
    free_located(&st);
    free(path);
}

/* The inputs checked in for the fuzzers are valid files too. */
static void test_checked_in_corpus(void **state) {
    (void)state;
    const char *root = getenv("IRPA_SOURCE_ROOT");
    assert_non_null(root);
    char *path = NULL;
    assert_true(asprintf(&path, "%s/tests/model/corpus/fuzz_gguf/every-value-type-v3.gguf",
                         root) >= 0);
    located_tensors gguf = {0};
    read_model_file(path, &gguf);
    const irpa_tensor_list *list = &gguf.lists[0];
    assert_int_equal(list->count, 3);
    assert_string_equal(list->tensors[0].dtype, "Q4_K");
    assert_int_equal(list->tensors[0].length, 576);
    assert_int_equal(list->tensors[0].offset % 64, 0);
    assert_int_equal(list->tensors[1].offset, list->tensors[0].offset + 640);
    assert_int_equal(list->tensors[1].rank, 4);
    assert_int_equal(list->tensors[1].shape[0], 2);
    assert_int_equal(list->tensors[1].shape[3], 3);
    assert_string_equal(list->tensors[2].torch_dtype, "bfloat16");
    free_located(&gguf);
    free(path);

    assert_true(asprintf(&path, "%s/tests/model/corpus/fuzz_safetensors/sub-byte-types.safetensors",
                         root) >= 0);
    located_tensors st = {0};
    read_model_file(path, &st);
    list = &st.lists[0];
    assert_int_equal(list->count, 5);
    static const char *const dtypes[] = {"F4", "F6_E2M3", "C64", "F8_E8M0", "BF16"};
    static const uint64_t lengths[] = {3, 3, 8, 2, 0};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(list->tensors[i].dtype, dtypes[i]);
        assert_int_equal(list->tensors[i].length, lengths[i]);
    }
    assert_string_equal(list->tensors[2].torch_dtype, "complex64");
    assert_null(list->tensors[0].torch_dtype);
    free_located(&st);
    free(path);
}

/* ---- malformed files ---- */

typedef struct bad_case {
    const char *file;     /* name in testdata/bad */
    const char *problem;  /* substring the error must contain */
} bad_case;

static const bad_case bad_cases[] = {
    {"gguf-hdr-wrap-first-offset.gguf", "data offset 18446744073709551600 is not a multiple"},
    {"gguf-huge-counts.bin", "tensor count 18446744073709551615 cannot fit"},
    {"gguf-kv-arr-huge-n.bin", "array length 4294967295 cannot fit"},
    {"gguf-kv-huge-strlen.bin", "metadata count 1 cannot fit in a 32-byte file"},
    {"gguf-tensor-huge-dims.bin", "overflows"},
    {"gguf-trunc-magic.bin", "too short for a GGUF magic"},
    {"ollama-api-test.6byte-truncated.gguf", "too short for a GGUF header"},
    {"whisper.cpp-for-tests-ggml-tiny.legacy-lmgg.bin", "not a GGUF file (found magic 'lmgg'"},
    {"safetensors_abuse_attempt_1.safetensors", "header length 1000 runs past end of file"},
    {"st-duplicate-key.safetensors", "duplicate object key"},
    {"st-hdrlen-2pow63.safetensors", "header length 9223372036854775808 is too large"},
    {"st-not-json.safetensors", "header is not valid JSON: NUL byte at file offset 8"},
    {"st-offset-past-eof.safetensors", "run past end of file"},
    {"st-trunc-header.safetensors", "runs past end of file"},
};

static const bad_case *find_bad_case(const char *file) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        if (strcmp(bad_cases[i].file, file) == 0) return &bad_cases[i];
    }
    return NULL;
}

static void test_bad_files_get_clear_errors(void **state) {
    (void)state;
    char *dir = path_join(testdata(), "bad");
    size_t count = 0;
    char **names = list_dir(dir, "", &count);
    assert_true(count >= sizeof bad_cases / sizeof bad_cases[0]);
    for (size_t i = 0; i < count; i++) {
        const bad_case *expected = find_bad_case(names[i]);
        if (!expected) fail_msg("bad/%s has no expected error in this test", names[i]);
        char *path = path_join(dir, names[i]);
        irpa_source source = {0};
        irpa_errors errors = {0};
        assert_int_equal(irpa_source_open(&source, path, NULL, &errors), 0);
        irpa_model_format format = irpa_model_detect(&source, NULL);
        irpa_tensor_list list = {0};
        int status;
        if (format == IRPA_FORMAT_SAFETENSORS) {
            status = irpa_safetensors_read(&source, &list, &errors);
        } else {
            /* GGUF by magic, or raw bytes: only the GGUF reader applies. */
            assert_true(format == IRPA_FORMAT_GGUF || strncmp(names[i], "gguf-", 5) == 0);
            status = irpa_gguf_read(&source, &list, &errors);
        }
        if (status != -1 || !errors_contain(&errors, path) ||
            !errors_contain(&errors, expected->problem)) {
            print_errors(&errors);
            fail_msg("bad/%s: expected an error naming the file and '%s'", names[i],
                     expected->problem);
        }
        assert_int_equal(list.count, 0);
        irpa_source_close(&source);
        irpa_errors_clear(&errors);
        free(path);
    }
    free_names(names, count);
    free(dir);
}

/* ---- crafted files ---- */

typedef struct buffer {
    unsigned char *bytes;  /* contents */
    size_t length;         /* bytes used */
} buffer;

static void put(buffer *b, const void *data, size_t length) {
    b->bytes = realloc(b->bytes, b->length + length + 1);
    assert_non_null(b->bytes);
    memcpy(b->bytes + b->length, data, length);
    b->length += length;
}

static void put_u32(buffer *b, uint32_t value) {
    unsigned char bytes[4];
    for (int i = 0; i < 4; i++) bytes[i] = (unsigned char)(value >> (8 * i));
    put(b, bytes, 4);
}

static void put_u64(buffer *b, uint64_t value) {
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)(value >> (8 * i));
    put(b, bytes, 8);
}

static void put_string(buffer *b, const char *text) {
    put_u64(b, strlen(text));
    put(b, text, strlen(text));
}

static void put_zeros(buffer *b, size_t count) {
    for (size_t i = 0; i < count; i++) put(b, "", 1);
}

static void pad_to(buffer *b, size_t alignment) {
    while (b->length % alignment) put(b, "", 1);
}

static char temp_dir[64];

static int make_temp_dir(void **state) {
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/irpa-test-model-XXXXXX");
    return mkdtemp(temp_dir) ? 0 : -1;
}

static int remove_temp_dir(void **state) {
    (void)state;
    DIR *handle = opendir(temp_dir);
    if (!handle) return 0;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char *path = path_join(temp_dir, entry->d_name);
        unlink(path);
        free(path);
    }
    closedir(handle);
    rmdir(temp_dir);
    return 0;
}

static char *write_temp(const char *name, const void *bytes, size_t length) {
    char *path = path_join(temp_dir, name);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(bytes, 1, length, file), length);
    fclose(file);
    return path;
}

/* Reads `bytes` written as `name` with the reader detection picks;
 * returns its status and leaves the list and errors to the caller. */
static int read_crafted(const char *name, const void *bytes, size_t length,
                        irpa_tensor_list *list, irpa_errors *errors, char **path_out) {
    char *path = write_temp(name, bytes, length);
    irpa_source source = {0};
    assert_int_equal(irpa_source_open(&source, path, NULL, errors), 0);
    irpa_model_format format = irpa_model_detect(&source, NULL);
    int status;
    if (format == IRPA_FORMAT_SAFETENSORS) {
        status = irpa_safetensors_read(&source, list, errors);
    } else {
        assert_int_equal(format, IRPA_FORMAT_GGUF);
        status = irpa_gguf_read(&source, list, errors);
    }
    irpa_source_close(&source);
    if (path_out) {
        *path_out = path;
    } else {
        free(path);
    }
    return status;
}

static void expect_failure(const char *name, const buffer *b, const char *problem) {
    irpa_tensor_list list = {0};
    irpa_errors errors = {0};
    char *path = NULL;
    int status = read_crafted(name, b->bytes, b->length, &list, &errors, &path);
    if (status != -1 || !errors_contain(&errors, problem) || !errors_contain(&errors, path)) {
        print_errors(&errors);
        fail_msg("%s: expected an error naming the file and containing '%s'", name, problem);
    }
    irpa_tensor_list_free(&list);
    irpa_errors_clear(&errors);
    free(path);
}

static void expect_success(const char *name, const buffer *b, irpa_tensor_list *list) {
    irpa_errors errors = {0};
    int status = read_crafted(name, b->bytes, b->length, list, &errors, NULL);
    if (status != 0) {
        print_errors(&errors);
        fail_msg("%s: expected success", name);
    }
    irpa_errors_clear(&errors);
}

typedef struct gguf_tensor_spec {
    const char *name;   /* tensor name */
    uint32_t n_dims;    /* dimensions */
    uint64_t dims[5];   /* innermost first */
    uint32_t type;      /* ggml type id */
    uint64_t offset;    /* relative to the data section */
} gguf_tensor_spec;

/* A GGUF v3 file: header, `kv` (already encoded, kv_count pairs), tensor
 * infos, padding to `alignment`, and `data_bytes` zero bytes of data. */
static buffer make_gguf(uint32_t version, const buffer *kv, uint64_t kv_count,
                        const gguf_tensor_spec *tensors, size_t tensor_count, size_t alignment,
                        size_t data_bytes) {
    buffer b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, version);
    put_u64(&b, tensor_count);
    put_u64(&b, kv_count);
    if (kv) put(&b, kv->bytes, kv->length);
    for (size_t i = 0; i < tensor_count; i++) {
        put_string(&b, tensors[i].name);
        put_u32(&b, tensors[i].n_dims);
        for (uint32_t d = 0; d < tensors[i].n_dims; d++) put_u64(&b, tensors[i].dims[d]);
        put_u32(&b, tensors[i].type);
        put_u64(&b, tensors[i].offset);
    }
    pad_to(&b, alignment);
    put_zeros(&b, data_bytes);
    return b;
}

typedef struct quant_fact {
    const char *name;     /* GGUF name */
    uint32_t id;          /* ggml type id */
    uint32_t block;       /* elements per block */
    uint32_t bytes;       /* bytes per block */
} quant_fact;

/* Sizes from ggml-common.h's block structs (see ggml_types.c). */
static const quant_fact quant_facts[] = {
    {"F32", 0, 1, 4},         {"F16", 1, 1, 2},          {"Q4_0", 2, 32, 18},
    {"Q4_1", 3, 32, 20},      {"Q5_0", 6, 32, 22},       {"Q5_1", 7, 32, 24},
    {"Q8_0", 8, 32, 34},      {"Q8_1", 9, 32, 36},       {"Q2_K", 10, 256, 84},
    {"Q3_K", 11, 256, 110},   {"Q4_K", 12, 256, 144},    {"Q5_K", 13, 256, 176},
    {"Q6_K", 14, 256, 210},   {"Q8_K", 15, 256, 292},    {"IQ2_XXS", 16, 256, 66},
    {"IQ2_XS", 17, 256, 74},  {"IQ3_XXS", 18, 256, 98},  {"IQ1_S", 19, 256, 50},
    {"IQ4_NL", 20, 32, 18},   {"IQ3_S", 21, 256, 110},   {"IQ2_S", 22, 256, 82},
    {"IQ4_XS", 23, 256, 136}, {"I8", 24, 1, 1},          {"I16", 25, 1, 2},
    {"I32", 26, 1, 4},        {"I64", 27, 1, 8},         {"F64", 28, 1, 8},
    {"IQ1_M", 29, 256, 56},   {"BF16", 30, 1, 2},        {"TQ1_0", 34, 256, 54},
    {"TQ2_0", 35, 256, 66},   {"MXFP4", 39, 32, 17},
};

static void test_ggml_type_sizes(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof quant_facts / sizeof quant_facts[0]; i++) {
        const quant_fact *fact = &quant_facts[i];
        const irpa_ggml_type *type = irpa_ggml_type_by_id(fact->id);
        assert_non_null(type);
        assert_string_equal(type->name, fact->name);
        assert_int_equal(type->block_size, fact->block);
        assert_int_equal(type->type_size, fact->bytes);
        assert_ptr_equal(irpa_ggml_type_by_name(fact->name), type);

        /* Through a real file: 2 blocks per row, 3 rows. */
        gguf_tensor_spec spec = {"w", 2, {2 * (uint64_t)fact->block, 3}, fact->id, 0};
        uint64_t data_bytes = 2ull * fact->bytes * 3;
        buffer b = make_gguf(3, NULL, 0, &spec, 1, 32, data_bytes);
        irpa_tensor_list list = {0};
        expect_success("types.gguf", &b, &list);
        assert_int_equal(list.count, 1);
        assert_int_equal(list.tensors[0].length, data_bytes);
        assert_string_equal(list.tensors[0].dtype, fact->name);
        assert_int_equal(list.tensors[0].offset, b.length - data_bytes);
        assert_int_equal(list.tensors[0].shape[0], 3);
        assert_int_equal(list.tensors[0].shape[1], 2 * (uint64_t)fact->block);
        if (fact->block > 1) assert_null(list.tensors[0].torch_dtype);
        irpa_tensor_list_free(&list);
        free(b.bytes);

        if (fact->block > 1) {
            gguf_tensor_spec ragged = {"w", 2, {fact->block + 1, 3}, fact->id, 0};
            buffer bad = make_gguf(3, NULL, 0, &ragged, 1, 32, 4096);
            expect_failure("ragged.gguf", &bad, "not a multiple of the type's block size");
            free(bad.bytes);
        }
    }
    assert_null(irpa_ggml_type_by_id(4));
    assert_null(irpa_ggml_type_by_id(31));
    assert_null(irpa_ggml_type_by_id(1000));
}

static void test_gguf_versions(void **state) {
    (void)state;
    buffer v1 = make_gguf(1, NULL, 0, NULL, 0, 1, 0);
    irpa_tensor_list list = {0};
    irpa_errors errors = {0};
    char *path = NULL;
    assert_int_equal(read_crafted("model.gguf", v1.bytes, v1.length, &list, &errors, &path), -1);
    assert_int_equal(errors.count, 1);
    char expected[512];
    snprintf(expected, sizeof expected, "%s: GGUF version 1 is not supported (only 2 and 3)", path);
    assert_string_equal(errors.messages[0], expected);
    irpa_errors_clear(&errors);
    free(path);
    free(v1.bytes);

    buffer big_endian = make_gguf(0x03000000u, NULL, 0, NULL, 0, 1, 0);
    expect_failure("big.gguf", &big_endian, "big-endian GGUF (version 3 byte-swapped)");
    free(big_endian.bytes);

    buffer v4 = make_gguf(4, NULL, 0, NULL, 0, 1, 0);
    expect_failure("v4.gguf", &v4, "GGUF version 4 is not supported");
    free(v4.bytes);

    for (uint32_t version = 2; version <= 3; version++) {
        buffer ok = make_gguf(version, NULL, 0, NULL, 0, 1, 0);
        expect_success("ok.gguf", &ok, &list);
        assert_int_equal(list.count, 0);
        free(ok.bytes);
    }
}

static void test_gguf_unknown_type(void **state) {
    (void)state;
    gguf_tensor_spec spec = {"w", 1, {32}, 31, 0};
    buffer b = make_gguf(3, NULL, 0, &spec, 1, 32, 256);
    expect_failure("unknown.gguf", &b, "ggml type 31, which is unknown or unsupported");
    free(b.bytes);
}

static void test_gguf_alignment(void **state) {
    (void)state;
    const uint32_t bad_values[] = {0, 48, 3};
    for (size_t i = 0; i < 3; i++) {
        buffer kv = {0};
        put_string(&kv, "general.alignment");
        put_u32(&kv, 4);
        put_u32(&kv, bad_values[i]);
        buffer b = make_gguf(3, &kv, 1, NULL, 0, 1, 0);
        expect_failure("align.gguf", &b, "is not a nonzero power of two");
        free(b.bytes);
        free(kv.bytes);
    }
    buffer kv = {0};
    put_string(&kv, "general.alignment");
    put_u32(&kv, 10); /* uint64 */
    put_u64(&kv, 64);
    buffer wrong_type = make_gguf(3, &kv, 1, NULL, 0, 1, 0);
    expect_failure("align.gguf", &wrong_type, "expected uint32");
    free(wrong_type.bytes);
    free(kv.bytes);

    /* 256-byte alignment moves the data section and the offsets. */
    buffer good_kv = {0};
    put_string(&good_kv, "general.alignment");
    put_u32(&good_kv, 4);
    put_u32(&good_kv, 256);
    gguf_tensor_spec specs[2] = {{"a", 1, {8}, 0, 0}, {"b", 1, {4}, 1, 256}};
    buffer good = make_gguf(3, &good_kv, 1, specs, 2, 256, 512);
    irpa_tensor_list list = {0};
    expect_success("align.gguf", &good, &list);
    assert_int_equal(list.count, 2);
    assert_int_equal(list.tensors[0].offset, good.length - 512);
    assert_int_equal(list.tensors[0].offset % 256, 0);
    assert_int_equal(list.tensors[1].offset, good.length - 256);
    assert_int_equal(list.tensors[1].length, 8);
    irpa_tensor_list_free(&list);
    free(good.bytes);
    free(good_kv.bytes);

    /* An offset that is not a multiple of the alignment. */
    gguf_tensor_spec misaligned = {"a", 1, {8}, 0, 4};
    buffer bad = make_gguf(3, NULL, 0, &misaligned, 1, 32, 64);
    expect_failure("misaligned.gguf", &bad, "is not a multiple of the alignment 32");
    free(bad.bytes);
}

/* One pair of every value type, arrays of each, and nested arrays. */
static buffer every_value_type(uint64_t *kv_count) {
    buffer kv = {0};
    *kv_count = 0;
    for (uint32_t type = 0; type <= 12; type++) {
        char key[32];
        snprintf(key, sizeof key, "value.%u", type);
        put_string(&kv, key);
        put_u32(&kv, type);
        switch (type) {
        case 0: case 1: case 7: put(&kv, "\1", 1); break;
        case 2: case 3: put(&kv, "\1\2", 2); break;
        case 4: case 5: case 6: put_u32(&kv, 7); break;
        case 10: case 11: case 12: put_u64(&kv, 7); break;
        case 8: put_string(&kv, "hello"); break;
        case 9: /* array of arrays of strings */
            put_u32(&kv, 9);
            put_u64(&kv, 2);
            put_u32(&kv, 8);
            put_u64(&kv, 2);
            put_string(&kv, "x");
            put_string(&kv, "");
            put_u32(&kv, 8);
            put_u64(&kv, 0);
            break;
        }
        (*kv_count)++;
        if (type != 8 && type != 9) {
            snprintf(key, sizeof key, "array.%u", type);
            put_string(&kv, key);
            put_u32(&kv, 9);
            put_u32(&kv, type);
            put_u64(&kv, 3);
            size_t size = (type <= 1 || type == 7) ? 1 : type <= 3 ? 2 : type <= 6 ? 4 : 8;
            put_zeros(&kv, 3 * size);
            (*kv_count)++;
        }
    }
    put_string(&kv, "array.strings");
    put_u32(&kv, 9);
    put_u32(&kv, 8);
    put_u64(&kv, 2);
    put_string(&kv, "a");
    put_string(&kv, "bc");
    (*kv_count)++;
    return kv;
}

static void test_gguf_metadata_types(void **state) {
    (void)state;
    uint64_t kv_count = 0;
    buffer kv = every_value_type(&kv_count);
    gguf_tensor_spec specs[2] = {{"first", 4, {2, 3, 4, 5}, 0, 0},
                                 {"second", 0, {0}, 26, 480}};
    buffer b = make_gguf(2, &kv, kv_count, specs, 2, 32, 484); /* ends with "second" */
    irpa_tensor_list list = {0};
    expect_success("values.gguf", &b, &list);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.tensors[0].name, "first");
    assert_int_equal(list.tensors[0].rank, 4);
    assert_int_equal(list.tensors[0].shape[0], 5);
    assert_int_equal(list.tensors[0].shape[3], 2);
    assert_int_equal(list.tensors[0].length, 2 * 3 * 4 * 5 * 4);
    assert_string_equal(list.tensors[0].torch_dtype, "float32");
    assert_int_equal(list.tensors[1].rank, 0);
    assert_int_equal(list.tensors[1].length, 4);
    assert_string_equal(list.tensors[1].dtype, "I32");
    irpa_tensor_list_free(&list);

    /* Every truncation of this file is an error, never a crash. */
    for (size_t length = 0; length < b.length; length++) {
        irpa_errors errors = {0};
        int status = read_crafted("cut.gguf", b.bytes, length, &list, &errors, NULL);
        if (status != -1) fail_msg("truncated to %zu bytes: accepted", length);
        assert_true(errors.count >= 1);
        irpa_errors_clear(&errors);
    }
    free(b.bytes);
    free(kv.bytes);

    buffer bad_kv = {0};
    put_string(&bad_kv, "weird");
    put_u32(&bad_kv, 13);
    put_u32(&bad_kv, 0);
    buffer bad = make_gguf(3, &bad_kv, 1, NULL, 0, 1, 0);
    expect_failure("weird.gguf", &bad, "key 'weird': unknown metadata value type 13");
    free(bad.bytes);
    free(bad_kv.bytes);

    /* Arrays nested deeper than the bound. */
    buffer deep_kv = {0};
    put_string(&deep_kv, "deep");
    put_u32(&deep_kv, 9);
    for (int i = 0; i < 20; i++) {
        put_u32(&deep_kv, 9);
        put_u64(&deep_kv, 1);
    }
    put_u32(&deep_kv, 0);
    put_u64(&deep_kv, 0);
    buffer deep = make_gguf(3, &deep_kv, 1, NULL, 0, 1, 0);
    expect_failure("deep.gguf", &deep, "nested more than");
    free(deep.bytes);
    free(deep_kv.bytes);
}

static void test_gguf_tensor_infos(void **state) {
    (void)state;
    gguf_tensor_spec five = {"w", 5, {1, 1, 1, 1, 1}, 0, 0};
    buffer b = make_gguf(3, NULL, 0, &five, 1, 32, 64);
    expect_failure("dims.gguf", &b, "has 5 dimensions (at most 4)");
    free(b.bytes);

    gguf_tensor_spec twins[2] = {{"w", 1, {8}, 0, 0}, {"w", 1, {8}, 0, 32}};
    b = make_gguf(3, NULL, 0, twins, 2, 32, 64);
    expect_failure("twins.gguf", &b, "tensor name 'w' appears twice");
    free(b.bytes);

    gguf_tensor_spec negative = {"w", 2, {8, UINT64_MAX}, 0, 0};
    b = make_gguf(3, NULL, 0, &negative, 1, 32, 64);
    expect_failure("negative.gguf", &b, "is negative");
    free(b.bytes);

    gguf_tensor_spec huge = {"w", 2, {1ull << 40, 1ull << 40}, 0, 0};
    b = make_gguf(3, NULL, 0, &huge, 1, 32, 64);
    expect_failure("huge.gguf", &b, "overflows");
    free(b.bytes);

    gguf_tensor_spec past = {"w", 1, {8}, 0, 64};
    b = make_gguf(3, NULL, 0, &past, 1, 32, 64);
    expect_failure("past.gguf", &b, "tensor 'w' (F32, 32 bytes at data offset 64");
    free(b.bytes);

    buffer not_gguf = {0};
    put(&not_gguf, "GGJTxxxxxxxxxxxxxxxxxxxxxxxxxx", 30);
    expect_failure("x.gguf", &not_gguf, "not a GGUF file (found magic 'GGJT'");
    free(not_gguf.bytes);
}

/* A safetensors file from a JSON header and `data_bytes` bytes of data. */
static buffer make_safetensors(const char *json, size_t data_bytes) {
    buffer b = {0};
    put_u64(&b, strlen(json));
    put(&b, json, strlen(json));
    for (size_t i = 0; i < data_bytes; i++) {
        unsigned char byte = (unsigned char)i;
        put(&b, &byte, 1);
    }
    return b;
}

static void test_safetensors_crafted(void **state) {
    (void)state;
    /* Key order is kept even when offsets run the other way. */
    buffer b = make_safetensors(
        "{\"z\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
        "\"__metadata__\":{\"k\":\"v\"},"
        "\"a\":{\"dtype\":\"F4\",\"shape\":[2,3,4],\"data_offsets\":[12,24]},"
        "\"m\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
        "\"e\":{\"dtype\":\"U8\",\"shape\":[0,5],\"data_offsets\":[24,24]}}",
        24);
    irpa_tensor_list list = {0};
    expect_success("order.safetensors", &b, &list);
    assert_int_equal(list.count, 4);
    assert_string_equal(list.tensors[0].name, "z");
    assert_string_equal(list.tensors[1].name, "a");
    assert_string_equal(list.tensors[2].name, "m");
    assert_string_equal(list.tensors[3].name, "e");
    uint64_t data_start = b.length - 24;
    assert_int_equal(list.tensors[0].offset, data_start + 8);
    assert_int_equal(list.tensors[0].length, 4);
    assert_null(list.tensors[1].torch_dtype);
    assert_int_equal(list.tensors[1].length, 12);
    assert_int_equal(list.tensors[2].rank, 0);
    assert_string_equal(list.tensors[2].torch_dtype, "int64");
    assert_int_equal(list.tensors[3].length, 0);
    irpa_tensor_list_free(&list);
    free(b.bytes);

    static const struct {
        const char *json;
        size_t data;
        const char *problem;
    } bad[] = {
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[6,10]}}", 10,
         "hole in the data section: bytes [4, 6) before tensor 'b'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 6,
         "tensor 'b' at data offset 2 overlaps tensor 'a'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 6,
         "hole in the data section: its last 2 bytes"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 6,
         "hole in the data section: bytes [0, 2)"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
         "span 4 bytes but its F32 shape needs 16 (size mismatch)"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,0]}}", 4,
         "end 0 is before begin 4"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,8]}}", 4,
         "run past end of file"},
        {"{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", 1,
         "do not fill whole bytes"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}}",
         1, "shape overflows 64 bits"},
        {"{\"a\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
         "unsupported dtype 'Q4'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is not a non-negative integer"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4]}}", 4, "\"data_offsets\" is not"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value of 'k' is not a string"},
        {"{\"a\":1, \"a\":2}", 0, "duplicate object key"},
        {"{\"a\":{\"dtype\":\"U8\",\n  \"shape\":[4],,}}", 0,
         "header is not valid JSON: line 2 column"},
        {"[1, 2]", 0, "header is not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buffer file = make_safetensors(bad[i].json, bad[i].data);
        expect_failure("bad.safetensors", &file, bad[i].problem);
        free(file.bytes);
    }

    /* Every truncation of a good file is an error. */
    b = make_safetensors("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4);
    for (size_t length = 0; length < b.length; length++) {
        irpa_errors errors = {0};
        char *path = write_temp("cut.safetensors", b.bytes, length);
        irpa_source source = {0};
        assert_int_equal(irpa_source_open(&source, path, NULL, &errors), 0);
        assert_int_equal(irpa_safetensors_read(&source, &list, &errors), -1);
        assert_true(errors.count >= 1);
        irpa_source_close(&source);
        irpa_errors_clear(&errors);
        free(path);
    }
    free(b.bytes);
}

static int read_index(const char *json, char ***shards, size_t *count, irpa_errors *errors) {
    char *path = write_temp("model.safetensors.index.json", json, strlen(json));
    irpa_source source = {0};
    assert_int_equal(irpa_source_open(&source, path, NULL, errors), 0);
    assert_int_equal(irpa_model_detect(&source, NULL), IRPA_FORMAT_SAFETENSORS_INDEX);
    int status = irpa_safetensors_index_read(&source, shards, count, errors);
    irpa_source_close(&source);
    free(path);
    return status;
}

static void test_safetensors_index(void **state) {
    (void)state;
    char **shards = NULL;
    size_t count = 0;
    irpa_errors errors = {0};
    assert_int_equal(read_index("{\"metadata\":{},\"weight_map\":{\"x\":\"b.safetensors\","
                                "\"y\":\"a.safetensors\",\"z\":\"b.safetensors\"}}",
                                &shards, &count, &errors),
                     0);
    assert_int_equal(count, 2);
    char expected[128];
    snprintf(expected, sizeof expected, "%s/a.safetensors", temp_dir);
    assert_string_equal(shards[0], expected);
    snprintf(expected, sizeof expected, "%s/b.safetensors", temp_dir);
    assert_string_equal(shards[1], expected);
    for (size_t i = 0; i < count; i++) free(shards[i]);
    free(shards);

    static const struct {
        const char *json;
        const char *problem;
    } bad[] = {
        {"{\"weight_map\":{\"x\":\"../x\"}}", "names shard '../x', which is not a plain file"},
        {"{\"weight_map\":{\"x\":\"..\"}}", "which is not a plain file"},
        {"{\"weight_map\":{\"x\":\"/etc/passwd\"}}", "which is not a plain file"},
        {"{\"weight_map\":{\"x\":\"sub/a.safetensors\"}}", "which is not a plain file"},
        {"{\"weight_map\":{\"x\":\"\"}}", "which is not a plain file"},
        {"{\"weight_map\":{\"x\":3}}", "is not a file name string"},
        {"{\"metadata\":{}}", "no \"weight_map\" object"},
        {"{\"weight_map\":{\"x\":\"a\",\"x\":\"b\"}}", "duplicate object key"},
        {"{\"weight_map\":", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        shards = NULL;
        int status = read_index(bad[i].json, &shards, &count, &errors);
        if (status != -1 || !errors_contain(&errors, bad[i].problem) ||
            !errors_contain(&errors, "model.safetensors.index.json")) {
            print_errors(&errors);
            fail_msg("index %s: expected '%s'", bad[i].json, bad[i].problem);
        }
        assert_null(shards);
        irpa_errors_clear(&errors);
    }
}

static irpa_model_format detect_bytes(const char *name, const void *bytes, size_t length,
                                      const char *forced) {
    char *path = write_temp(name, bytes, length);
    irpa_source source = {0};
    irpa_errors errors = {0};
    assert_int_equal(irpa_source_open(&source, path, NULL, &errors), 0);
    irpa_model_format format = irpa_model_detect(&source, forced);
    irpa_source_close(&source);
    free(path);
    return format;
}

static void test_detect(void **state) {
    (void)state;
    assert_int_equal(detect_bytes("a.bin", "GGUF\3\0\0\0", 8, NULL), IRPA_FORMAT_GGUF);
    assert_int_equal(detect_bytes("a.safetensors", "GGUF", 4, NULL), IRPA_FORMAT_GGUF);
    assert_int_equal(detect_bytes("a.bin", "lmgg....", 8, NULL), IRPA_FORMAT_GGUF);
    assert_int_equal(detect_bytes("a.safetensors", "", 0, NULL), IRPA_FORMAT_SAFETENSORS);
    assert_int_equal(detect_bytes("a.SafeTensors", "x", 1, NULL), IRPA_FORMAT_SAFETENSORS);
    assert_int_equal(detect_bytes("a.json", "{}", 2, NULL), IRPA_FORMAT_SAFETENSORS_INDEX);
    assert_int_equal(detect_bytes("a.gguf", "", 0, NULL), IRPA_FORMAT_GGUF);
    assert_int_equal(detect_bytes("a.bin", "\2\0\0\0\0\0\0\0{}", 10, NULL),
                     IRPA_FORMAT_SAFETENSORS);
    assert_int_equal(detect_bytes("a.bin", "\3\0\0\0\0\0\0\0{}", 10, NULL), IRPA_FORMAT_RAW);
    assert_int_equal(detect_bytes("a.bin", "\2\0\0\0\0\0\0\0[]", 10, NULL), IRPA_FORMAT_RAW);
    assert_int_equal(detect_bytes("a.bin", "", 0, NULL), IRPA_FORMAT_RAW);
    assert_int_equal(detect_bytes("a.gguf", "GGUF", 4, "raw"), IRPA_FORMAT_RAW);
    assert_int_equal(detect_bytes("a.bin", "", 0, "gguf"), IRPA_FORMAT_GGUF);
    assert_int_equal(detect_bytes("a.bin", "", 0, "safetensors"), IRPA_FORMAT_SAFETENSORS);
    assert_int_equal(detect_bytes("a.json", "", 0, "safetensors"),
                     IRPA_FORMAT_SAFETENSORS_INDEX);
    assert_int_equal(detect_bytes("a.bin", "", 0, "pickle"), IRPA_FORMAT_UNKNOWN);
}

static void expect_metadata(const char *torch_dtype, uint32_t rank, const uint64_t *shape,
                            const char *expected) {
    irpa_tensor tensor = {.torch_dtype = torch_dtype, .rank = rank, .shape = (uint64_t *)shape};
    size_t length = 99;
    char *text = irpa_pytorch_metadata(&tensor, &length);
    if (!expected) {
        assert_null(text);
        assert_int_equal(length, 0);
        return;
    }
    assert_non_null(text);
    assert_string_equal(text, expected);
    assert_int_equal(length, strlen(expected));
    free(text);
}

static void test_pytorch_metadata(void **state) {
    (void)state;
    const uint64_t shape48[] = {4, 8};
    expect_metadata("float16", 2, shape48,
                    "PYTORCH:{\"type\": \"Tensor\", \"dtype\": \"float16\", \"shape\": [4, 8], "
                    "\"dtype_desc\": {\"class_name\": \"dtype\", \"is_complex\": false, "
                    "\"is_floating_point\": true, \"is_signed\": true, \"itemsize\": 2}}");
    const uint64_t shape3[] = {3};
    expect_metadata("bool", 1, shape3,
                    "PYTORCH:{\"type\": \"Tensor\", \"dtype\": \"bool\", \"shape\": [3], "
                    "\"dtype_desc\": {\"class_name\": \"dtype\", \"is_complex\": false, "
                    "\"is_floating_point\": false, \"is_signed\": false, \"itemsize\": 1}}");
    expect_metadata("uint8", 1, shape3,
                    "PYTORCH:{\"type\": \"Tensor\", \"dtype\": \"uint8\", \"shape\": [3], "
                    "\"dtype_desc\": {\"class_name\": \"dtype\", \"is_complex\": false, "
                    "\"is_floating_point\": false, \"is_signed\": false, \"itemsize\": 1}}");
    expect_metadata("int64", 0, NULL,
                    "PYTORCH:{\"type\": \"Tensor\", \"dtype\": \"int64\", \"shape\": [], "
                    "\"dtype_desc\": {\"class_name\": \"dtype\", \"is_complex\": false, "
                    "\"is_floating_point\": false, \"is_signed\": true, \"itemsize\": 8}}");
    const uint64_t shape357[] = {3, 5, 7};
    expect_metadata("float8_e4m3fn", 3, shape357,
                    "PYTORCH:{\"type\": \"Tensor\", \"dtype\": \"float8_e4m3fn\", "
                    "\"shape\": [3, 5, 7], \"dtype_desc\": {\"class_name\": \"dtype\", "
                    "\"is_complex\": false, \"is_floating_point\": true, \"is_signed\": true, "
                    "\"itemsize\": 1}}");
    expect_metadata("bfloat16", 1, shape3,
                    "PYTORCH:{\"type\": \"Tensor\", \"dtype\": \"bfloat16\", \"shape\": [3], "
                    "\"dtype_desc\": {\"class_name\": \"dtype\", \"is_complex\": false, "
                    "\"is_floating_point\": true, \"is_signed\": true, \"itemsize\": 2}}");
    expect_metadata("complex64", 1, shape3,
                    "PYTORCH:{\"type\": \"Tensor\", \"dtype\": \"complex64\", \"shape\": [3], "
                    "\"dtype_desc\": {\"class_name\": \"dtype\", \"is_complex\": true, "
                    "\"is_floating_point\": false, \"is_signed\": true, \"itemsize\": 8}}");
    expect_metadata("uint32", 1, shape3,
                    "PYTORCH:{\"type\": \"Tensor\", \"dtype\": \"uint32\", \"shape\": [3], "
                    "\"dtype_desc\": {\"class_name\": \"dtype\", \"is_complex\": false, "
                    "\"is_floating_point\": false, \"is_signed\": false, \"itemsize\": 4}}");
    expect_metadata(NULL, 1, shape3, NULL);
    expect_metadata("float4_e2m1fn_x2", 1, shape3, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_models_match_reference),
        cmocka_unit_test(test_safetensors_models_match_reference),
        cmocka_unit_test(test_sharded_model_matches_reference),
        cmocka_unit_test(test_model_details),
        cmocka_unit_test(test_checked_in_corpus),
        cmocka_unit_test(test_bad_files_get_clear_errors),
        cmocka_unit_test(test_ggml_type_sizes),
        cmocka_unit_test(test_gguf_versions),
        cmocka_unit_test(test_gguf_unknown_type),
        cmocka_unit_test(test_gguf_alignment),
        cmocka_unit_test(test_gguf_metadata_types),
        cmocka_unit_test(test_gguf_tensor_infos),
        cmocka_unit_test(test_safetensors_crafted),
        cmocka_unit_test(test_safetensors_index),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_pytorch_metadata),
    };
    return cmocka_run_group_tests_name("model", tests, make_temp_dir, remove_temp_dir);
}
