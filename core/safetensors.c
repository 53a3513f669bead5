/* safetensors.c: the tensor list of a .safetensors file, and the shard list
 * of a model.safetensors.index.json.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON, then the data
 * section, which runs to the end of the file. The JSON is an object: an
 * optional "__metadata__" (null, or an object of strings) and, per tensor,
 * {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]} with the
 * offsets relative to the data section (8 + N).
 *
 * We accept what Hugging Face's safetensors crate (the reference reader)
 * accepts and reject what it rejects, rule by rule; tests/model/
 * SAFETENSORS_RULES.md lists each rule, the crate's behaviour, ours and the
 * test case that checks it, including the few places where we differ on
 * purpose (duplicate keys, which the format forbids, are rejected) or
 * because of the JSON library. In short: N at most 100,000,000; strict
 * JSON, arrays and objects nested at most 127 deep; end >= begin;
 * end - begin = product(shape) * bits / 8 with overflow checks and whole
 * bytes; the tensors, sorted by offsets, cover the data section exactly,
 * with no hole and no overlap, up to the end of the file. Unknown keys of a
 * tensor are ignored. The dtypes are those of the crate's Dtype enum (see
 * safetensors_dtypes), with bit sizes 4 for F4 and 6 for the F6 types. */
#include "model.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "le.h"

#define SAFETENSORS_MAX_HEADER_BYTES 100000000u /* the crate's MAX_HEADER_SIZE */
#define SAFETENSORS_INDEX_MAX_BYTES 100000000u  /* largest index file read */
#define SHOWN_NAME_BYTES 120                    /* bytes of a name kept for messages */
#define SAFETENSORS_MAX_NESTING 127             /* serde_json's recursion limit, 128, less one */

typedef struct safetensors_dtype {
    const char *name;         /* as the header spells it */
    uint32_t bits;            /* bits per element */
    const char *torch_dtype;  /* iree-turbine name, or NULL */
} safetensors_dtype;

static const safetensors_dtype safetensors_dtypes[] = {
    {"BOOL", 8, "bool"},
    {"F4", 4, NULL},
    {"F6_E2M3", 6, NULL},
    {"F6_E3M2", 6, NULL},
    {"U8", 8, "uint8"},
    {"I8", 8, "int8"},
    {"F8_E5M2", 8, "float8_e5m2"},
    {"F8_E4M3", 8, "float8_e4m3fn"},
    {"F8_E8M0", 8, NULL},
    {"F8_E4M3FNUZ", 8, "float8_e4m3fnuz"},
    {"F8_E5M2FNUZ", 8, "float8_e5m2fnuz"},
    {"I16", 16, "int16"},
    {"U16", 16, "uint16"},
    {"F16", 16, "float16"},
    {"BF16", 16, "bfloat16"},
    {"I32", 32, "int32"},
    {"U32", 32, "uint32"},
    {"F32", 32, "float32"},
    {"C64", 64, "complex64"},
    {"F64", 64, "float64"},
    {"I64", 64, "int64"},
    {"U64", 64, "uint64"},
};

/* The dtype spelt by the `length` bytes at `name` (which may hold a NUL). */
static const safetensors_dtype *find_dtype(const char *name, size_t length) {
    for (size_t i = 0; i < sizeof safetensors_dtypes / sizeof safetensors_dtypes[0]; i++) {
        const char *known = safetensors_dtypes[i].name;
        if (strlen(known) == length && memcmp(known, name, length) == 0) {
            return &safetensors_dtypes[i];
        }
    }
    return NULL;
}

/* Copies `name` into `out`, truncated, with what is not printable ASCII
 * replaced, so that it can go in a message. */
static void printable_name(const char *name, char *out, size_t out_size) {
    snprintf(out, out_size, "%s", name);
    for (unsigned char *c = (unsigned char *)out; *c; c++) {
        if (*c < 0x20 || *c >= 0x7f) *c = '?';
    }
}

/* Whether `value` nests arrays and objects more than `levels` deep (a
 * container counts as one level, a scalar as none). */
static bool nests_deeper_than(json_t *value, unsigned levels) {
    if (!json_is_object(value) && !json_is_array(value)) return false;
    if (levels == 0) return true;
    if (json_is_array(value)) {
        for (size_t i = 0; i < json_array_size(value); i++) {
            if (nests_deeper_than(json_array_get(value, i), levels - 1)) return true;
        }
        return false;
    }
    const char *key;
    json_t *member;
    json_object_foreach(value, key, member) {
        if (nests_deeper_than(member, levels - 1)) return true;
    }
    return false;
}

/* Reads and parses the JSON header; sets *data_start (8 + N). */
static json_t *load_header(const irpa_source *source, uint64_t *data_start, irpa_errors *errors) {
    const char *path = source->path;
    if (source->size < 8) {
        return irpa_error(errors,
                          "%s: file is %" PRIu64 " bytes, too short for a safetensors header "
                          "length (8 bytes)",
                          path, source->size),
               NULL;
    }
    unsigned char length_bytes[8];
    if (irpa_source_pread(source, length_bytes, 8, 0) != 0) {
        return irpa_error(errors, "%s: read failed: %m", path), NULL;
    }
    uint64_t header_length = irpa_le64(length_bytes);
    if (header_length > SAFETENSORS_MAX_HEADER_BYTES) {
        return irpa_error(errors,
                          "%s: header length %" PRIu64 " is too large (the limit is %u bytes)",
                          path, header_length, SAFETENSORS_MAX_HEADER_BYTES),
               NULL;
    }
    if (header_length > source->size - 8) {
        return irpa_error(errors,
                          "%s: header length %" PRIu64 " runs past end of file (%" PRIu64
                          " bytes; truncated?)",
                          path, header_length, source->size),
               NULL;
    }
    char *text = malloc(header_length ? header_length : 1);
    if (!text) return irpa_error(errors, "%s: out of memory", path), NULL;
    if (irpa_source_pread(source, text, header_length, 8) != 0) {
        free(text);
        return irpa_error(errors, "%s: read failed: %m", path), NULL;
    }
    const char *nul = memchr(text, '\0', header_length);
    if (nul) {
        uint64_t nul_at = 8 + (uint64_t)(nul - text);
        free(text);
        return irpa_error(errors,
                          "%s: header is not valid JSON: NUL byte at file offset %" PRIu64, path,
                          nul_at),
               NULL;
    }
    json_error_t json_error;
    json_t *root = json_loadb(text, header_length, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                              &json_error);
    free(text);
    if (!root) {
        return irpa_error(errors, "%s: header is not valid JSON: line %d column %d: %s", path,
                          json_error.line, json_error.column, json_error.text),
               NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return irpa_error(errors, "%s: header is not a JSON object", path), NULL;
    }
    if (nests_deeper_than(root, SAFETENSORS_MAX_NESTING)) {
        json_decref(root);
        return irpa_error(errors,
                          "%s: header nests arrays and objects more than %d deep (the "
                          "reference reader's limit)",
                          path, SAFETENSORS_MAX_NESTING),
               NULL;
    }
    *data_start = 8 + header_length;
    return root;
}

/* "__metadata__" is null (as absent) or an object of strings. */
static int check_metadata(const irpa_source *source, json_t *metadata, irpa_errors *errors) {
    if (json_is_null(metadata)) return 0;
    if (!json_is_object(metadata)) {
        return irpa_error(errors, "%s: __metadata__ is neither null nor an object of strings",
                          source->path);
    }
    const char *key;
    json_t *value;
    json_object_foreach(metadata, key, value) {
        if (!json_is_string(value)) {
            char shown[SHOWN_NAME_BYTES];
            printable_name(key, shown, sizeof shown);
            return irpa_error(errors, "%s: __metadata__ value of '%s' is not a string",
                              source->path, shown);
        }
    }
    return 0;
}

/* Reads a JSON integer that must be >= 0. */
static bool get_count(json_t *value, uint64_t *out) {
    if (!json_is_integer(value) || json_integer_value(value) < 0) return false;
    *out = (uint64_t)json_integer_value(value);
    return true;
}

static int read_shape(const irpa_source *source, const char *shown, json_t *shape,
                      irpa_tensor *tensor, irpa_errors *errors) {
    if (!json_is_array(shape)) {
        return irpa_error(errors, "%s: tensor '%s': shape is not an array", source->path, shown);
    }
    size_t rank = json_array_size(shape);
    if (rank > UINT32_MAX) {
        return irpa_error(errors, "%s: tensor '%s': too many dimensions", source->path, shown);
    }
    tensor->shape = calloc(rank ? rank : 1, sizeof *tensor->shape);
    if (!tensor->shape) return irpa_error(errors, "%s: out of memory", source->path);
    tensor->rank = (uint32_t)rank;
    for (size_t d = 0; d < rank; d++) {
        if (!get_count(json_array_get(shape, d), &tensor->shape[d])) {
            return irpa_error(errors,
                              "%s: tensor '%s': shape[%zu] is not a non-negative integer",
                              source->path, shown, d);
        }
    }
    return 0;
}

/* Bytes product(shape) * bits / 8, overflow-checked; -1 with a message. */
static int expected_bytes(const irpa_source *source, const char *shown, const irpa_tensor *tensor,
                          uint32_t bits, uint64_t *bytes, irpa_errors *errors) {
    uint64_t elements = 1;
    for (uint32_t d = 0; d < tensor->rank; d++) {
        uint64_t dim = tensor->shape[d];
        if (dim != 0 && elements > UINT64_MAX / dim) {
            return irpa_error(errors, "%s: tensor '%s': shape overflows 64 bits", source->path,
                              shown);
        }
        elements *= dim;
    }
    if (elements > UINT64_MAX / bits) {
        return irpa_error(errors, "%s: tensor '%s': size in bits overflows 64 bits", source->path,
                          shown);
    }
    uint64_t total_bits = elements * bits;
    if (total_bits % 8 != 0) {
        return irpa_error(errors,
                          "%s: tensor '%s': %" PRIu64 " elements of %" PRIu32
                          " bits do not fill whole bytes",
                          source->path, shown, elements, bits);
    }
    *bytes = total_bits / 8;
    return 0;
}

/* Field `key` of a tensor entry; or, for the array form
 * [dtype, shape, data_offsets] that the reference reader also takes (serde
 * reads a struct from an array of its fields), the field at `position`. */
static json_t *entry_field(json_t *info, size_t position, const char *key) {
    return json_is_array(info) ? json_array_get(info, position) : json_object_get(info, key);
}

/* The name a "dtype" value spells: a string, or serde's other spelling of an
 * enum value, {"F16": null}. */
static bool dtype_spelling(json_t *value, const char **name, size_t *length) {
    if (json_is_string(value)) {
        *name = json_string_value(value);
        *length = json_string_length(value);
        return true;
    }
    void *only = json_is_object(value) && json_object_size(value) == 1 ? json_object_iter(value)
                                                                       : NULL;
    if (!only || !json_is_null(json_object_iter_value(only))) return false;
    *name = json_object_iter_key(only);
    *length = strlen(*name);
    return true;
}

static const safetensors_dtype *read_dtype(const irpa_source *source, const char *shown,
                                           json_t *value, irpa_errors *errors) {
    const char *name = NULL;
    size_t length = 0;
    if (!dtype_spelling(value, &name, &length)) {
        irpa_error(errors, "%s: tensor '%s': missing or non-string \"dtype\"", source->path,
                   shown);
        return NULL;
    }
    const safetensors_dtype *dtype = find_dtype(name, length);
    if (!dtype) {
        char dtype_shown[SHOWN_NAME_BYTES];
        printable_name(name, dtype_shown, sizeof dtype_shown);
        irpa_error(errors, "%s: tensor '%s': unsupported dtype '%s'", source->path, shown,
                   dtype_shown);
    }
    return dtype;
}

static int read_tensor_entry(const irpa_source *source, const char *name, json_t *info,
                             uint64_t data_start, irpa_tensor *tensor, irpa_errors *errors) {
    const char *path = source->path;
    char shown[SHOWN_NAME_BYTES];
    printable_name(name, shown, sizeof shown);
    tensor->name = strdup(name);
    if (!tensor->name) return irpa_error(errors, "%s: out of memory", path);
    if (json_is_array(info) && json_array_size(info) != 3) {
        return irpa_error(errors,
                          "%s: tensor '%s': entry is an array of %zu values, not "
                          "[dtype, shape, data_offsets]",
                          path, shown, json_array_size(info));
    }
    if (!json_is_object(info) && !json_is_array(info)) {
        return irpa_error(errors, "%s: tensor '%s': entry is not an object", path, shown);
    }
    const safetensors_dtype *dtype = read_dtype(source, shown, entry_field(info, 0, "dtype"),
                                                errors);
    if (!dtype) return -1;
    json_t *offsets = entry_field(info, 2, "data_offsets");
    snprintf(tensor->dtype, sizeof tensor->dtype, "%s", dtype->name);
    tensor->torch_dtype = dtype->torch_dtype;
    if (read_shape(source, shown, entry_field(info, 1, "shape"), tensor, errors) != 0) return -1;

    uint64_t begin = 0, end = 0;
    if (!json_is_array(offsets) || json_array_size(offsets) != 2 ||
        !get_count(json_array_get(offsets, 0), &begin) ||
        !get_count(json_array_get(offsets, 1), &end)) {
        return irpa_error(errors,
                          "%s: tensor '%s': \"data_offsets\" is not [begin, end] with "
                          "non-negative integers",
                          path, shown);
    }
    if (end < begin) {
        return irpa_error(errors, "%s: tensor '%s': data_offsets end %" PRIu64
                          " is before begin %" PRIu64, path, shown, end, begin);
    }
    uint64_t data_size = source->size - data_start;
    if (end > data_size) {
        return irpa_error(errors,
                          "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                          "] run past end of file (data section is %" PRIu64 " bytes)",
                          path, shown, begin, end, data_size);
    }
    uint64_t bytes = 0;
    if (expected_bytes(source, shown, tensor, dtype->bits, &bytes, errors) != 0) return -1;
    if (end - begin != bytes) {
        return irpa_error(errors,
                          "%s: tensor '%s': data_offsets span %" PRIu64
                          " bytes but its %s shape needs %" PRIu64 " (size mismatch)",
                          path, shown, end - begin, dtype->name, bytes);
    }
    tensor->offset = data_start + begin;
    tensor->length = bytes;
    return 0;
}

static int compare_by_offset(const void *left, const void *right) {
    const irpa_tensor *const *a = left;
    const irpa_tensor *const *b = right;
    if ((*a)->offset != (*b)->offset) return (*a)->offset < (*b)->offset ? -1 : 1;
    if ((*a)->length != (*b)->length) return (*a)->length < (*b)->length ? -1 : 1;
    return *a < *b ? -1 : *a > *b;
}

/* The tensors, by offset, must tile [data_start, end of file) exactly. */
static int check_coverage(const irpa_source *source, const irpa_tensor_list *list,
                          uint64_t data_start, irpa_errors *errors) {
    const char *path = source->path;
    const irpa_tensor **sorted = malloc((list->count ? list->count : 1) * sizeof *sorted);
    if (!sorted) return irpa_error(errors, "%s: out of memory", path);
    for (size_t i = 0; i < list->count; i++) sorted[i] = &list->tensors[i];
    qsort(sorted, list->count, sizeof *sorted, compare_by_offset);
    uint64_t covered = data_start;
    const char *previous = NULL;
    int status = 0;
    for (size_t i = 0; i < list->count && status == 0; i++) {
        char shown[SHOWN_NAME_BYTES], previous_shown[SHOWN_NAME_BYTES];
        printable_name(sorted[i]->name, shown, sizeof shown);
        printable_name(previous ? previous : "", previous_shown, sizeof previous_shown);
        uint64_t begin = sorted[i]->offset - data_start;
        if (sorted[i]->offset > covered) {
            status = irpa_error(errors,
                                "%s: hole in the data section: bytes [%" PRIu64 ", %" PRIu64
                                ") before tensor '%s' belong to no tensor",
                                path, covered - data_start, begin, shown);
        } else if (sorted[i]->offset < covered) {
            status = irpa_error(errors,
                                "%s: tensor '%s' at data offset %" PRIu64
                                " overlaps tensor '%s' (which ends at %" PRIu64 ")",
                                path, shown, begin, previous_shown, covered - data_start);
        }
        covered = sorted[i]->offset + sorted[i]->length;
        previous = sorted[i]->name;
    }
    if (status == 0 && covered != source->size) {
        status = irpa_error(errors,
                            "%s: hole in the data section: its last %" PRIu64
                            " bytes (to end of file) belong to no tensor",
                            path, source->size - covered);
    }
    free(sorted);
    return status;
}

int irpa_safetensors_read(const irpa_source *source, irpa_tensor_list *out,
                          irpa_errors *errors) {
    uint64_t data_start = 0;
    json_t *root = load_header(source, &data_start, errors);
    if (!root) return -1;
    irpa_tensor_list list = {0};
    size_t entries = json_object_size(root);
    list.tensors = calloc(entries ? entries : 1, sizeof *list.tensors);
    int status = list.tensors ? 0 : irpa_error(errors, "%s: out of memory", source->path);
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        if (status != 0) break;
        if (strcmp(key, "__metadata__") == 0) {
            status = check_metadata(source, value, errors);
            continue;
        }
        irpa_tensor *tensor = &list.tensors[list.count++];
        status = read_tensor_entry(source, key, value, data_start, tensor, errors);
    }
    json_decref(root);
    if (status == 0) status = check_coverage(source, &list, data_start, errors);
    if (status != 0) {
        irpa_tensor_list_free(&list);
        return -1;
    }
    *out = list;
    return 0;
}

/* ---- model.safetensors.index.json ---- */

static json_t *load_index(const irpa_source *source, irpa_errors *errors) {
    const char *path = source->path;
    if (source->size > SAFETENSORS_INDEX_MAX_BYTES) {
        return irpa_error(errors, "%s: index file of %" PRIu64 " bytes is too large (limit %u)",
                          path, source->size, SAFETENSORS_INDEX_MAX_BYTES),
               NULL;
    }
    char *text = malloc(source->size ? source->size : 1);
    if (!text) return irpa_error(errors, "%s: out of memory", path), NULL;
    if (irpa_source_pread(source, text, source->size, 0) != 0) {
        free(text);
        return irpa_error(errors, "%s: read failed: %m", path), NULL;
    }
    json_error_t json_error;
    json_t *root = json_loadb(text, source->size, JSON_REJECT_DUPLICATES, &json_error);
    free(text);
    if (!root) {
        return irpa_error(errors, "%s:%d:%d: invalid JSON: %s", path, json_error.line,
                          json_error.column, json_error.text),
               NULL;
    }
    return root;
}

/* A shard name must be a plain file name in the index's directory. */
static bool is_plain_file_name(const char *name) {
    return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

static int compare_strings(const void *left, const void *right) {
    return strcmp(*(const char *const *)left, *(const char *const *)right);
}

/* Collects the distinct shard names, sorted; borrowed from the JSON. */
static int collect_shard_names(const irpa_source *source, json_t *weight_map,
                               const char ***names, size_t *count, irpa_errors *errors) {
    size_t entries = json_object_size(weight_map);
    const char **all = malloc((entries ? entries : 1) * sizeof *all);
    if (!all) return irpa_error(errors, "%s: out of memory", source->path);
    size_t used = 0;
    const char *tensor_name;
    json_t *shard;
    json_object_foreach(weight_map, tensor_name, shard) {
        char shown[SHOWN_NAME_BYTES];
        printable_name(tensor_name, shown, sizeof shown);
        if (!json_is_string(shard)) {
            free(all);
            return irpa_error(errors, "%s: weight_map entry '%s' is not a file name string",
                              source->path, shown);
        }
        const char *file = json_string_value(shard);
        if (!is_plain_file_name(file)) {
            char file_shown[SHOWN_NAME_BYTES];
            printable_name(file, file_shown, sizeof file_shown);
            free(all);
            return irpa_error(errors,
                              "%s: weight_map entry '%s' names shard '%s', which is not a plain "
                              "file name in the index's directory",
                              source->path, shown, file_shown);
        }
        all[used++] = file;
    }
    qsort(all, used, sizeof *all, compare_strings);
    size_t distinct = 0;
    for (size_t i = 0; i < used; i++) {
        if (distinct == 0 || strcmp(all[distinct - 1], all[i]) != 0) all[distinct++] = all[i];
    }
    *names = all;
    *count = distinct;
    return 0;
}

/* `file` beside the index: in its directory, or for a URL the URL's path
 * up to its last '/' (the query and fragment, which may hold a '/', dropped). */
static char *join_directory(const char *index_path, const char *file) {
    size_t path_length = irpa_url_path_length(index_path);
    const char *slash = NULL;
    for (size_t i = 0; i < path_length; i++)
        if (index_path[i] == '/') slash = index_path + i;
    char *joined = NULL;
    if (!slash) {
        joined = strdup(file);
    } else if (asprintf(&joined, "%.*s/%s", (int)(slash - index_path), index_path, file) < 0) {
        joined = NULL;
    }
    return joined;
}

int irpa_safetensors_index_read(const irpa_source *source, char ***shards,
                                size_t *shard_count, irpa_errors *errors) {
    json_t *root = load_index(source, errors);
    if (!root) return -1;
    json_t *weight_map = json_object_get(root, "weight_map");
    if (!json_is_object(weight_map)) {
        json_decref(root);
        return irpa_error(errors, "%s: no \"weight_map\" object (not a safetensors index?)",
                          source->path);
    }
    const char **names = NULL;
    size_t count = 0;
    if (collect_shard_names(source, weight_map, &names, &count, errors) != 0) {
        json_decref(root);
        return -1;
    }
    char **paths = calloc(count ? count : 1, sizeof *paths);
    int status = paths ? 0 : irpa_error(errors, "%s: out of memory", source->path);
    for (size_t i = 0; i < count && status == 0; i++) {
        paths[i] = join_directory(source->url ? source->url : source->path, names[i]);
        if (!paths[i]) status = irpa_error(errors, "%s: out of memory", source->path);
    }
    free(names);
    json_decref(root);
    if (status != 0) {
        for (size_t i = 0; paths && i < count; i++) free(paths[i]);
        free(paths);
        return -1;
    }
    *shards = paths;
    *shard_count = count;
    return 0;
}
