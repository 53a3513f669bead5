/* model.c: what kind of file a model is, the iree-turbine metadata of a
 * tensor, and freeing tensor lists. */
#include "model.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "le.h"

#define DETECT_MAX_SAFETENSORS_HEADER 100000000u /* Hugging Face's header limit */

/* Whether the file name (for a URL: its path, not the query) ends with `suffix`. */
static bool has_suffix(const char *path, const char *suffix) {
    size_t path_length = irpa_url_path_length(path), suffix_length = strlen(suffix);
    return path_length >= suffix_length &&
           strncasecmp(path + path_length - suffix_length, suffix, suffix_length) == 0;
}

bool irpa_is_legacy_ggml_magic(const unsigned char *magic) {
    static const char *const legacy[] = {"lmgg", "fmgg", "tjgg", "algg", "nsgg"};
    for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++) {
        if (memcmp(magic, legacy[i], 4) == 0) return true;
    }
    return false;
}

/* A plausible safetensors start: a header length that fits the file and the
 * Hugging Face limit, followed by '{'. */
static bool looks_like_safetensors(const irpa_source *source, const unsigned char *head,
                                   size_t head_length) {
    if (head_length < 9) return false;
    uint64_t header_length = irpa_le64(head);
    return header_length >= 2 && header_length <= DETECT_MAX_SAFETENSORS_HEADER &&
           header_length <= source->size - 8 && head[8] == '{';
}

static irpa_model_format forced_format(const char *forced, const char *path) {
    if (strcmp(forced, "gguf") == 0) return IRPA_FORMAT_GGUF;
    if (strcmp(forced, "safetensors") == 0) {
        return has_suffix(path, ".json") ? IRPA_FORMAT_SAFETENSORS_INDEX
                                         : IRPA_FORMAT_SAFETENSORS;
    }
    if (strcmp(forced, "raw") == 0) return IRPA_FORMAT_RAW;
    return IRPA_FORMAT_UNKNOWN;
}

irpa_model_format irpa_model_detect(const irpa_source *source, const char *forced) {
    if (forced) return forced_format(forced, source->path);
    unsigned char head[9] = {0};
    size_t head_length = source->size < sizeof head ? (size_t)source->size : sizeof head;
    bool have_head = head_length > 0 && irpa_source_pread(source, head, head_length, 0) == 0;
    if (have_head && head_length >= 4 &&
        (memcmp(head, "GGUF", 4) == 0 || irpa_is_legacy_ggml_magic(head))) {
        return IRPA_FORMAT_GGUF;
    }
    if (has_suffix(source->path, ".safetensors")) return IRPA_FORMAT_SAFETENSORS;
    if (has_suffix(source->path, ".json")) return IRPA_FORMAT_SAFETENSORS_INDEX;
    if (has_suffix(source->path, ".gguf")) return IRPA_FORMAT_GGUF;
    if (have_head && looks_like_safetensors(source, head, head_length)) {
        return IRPA_FORMAT_SAFETENSORS;
    }
    return IRPA_FORMAT_RAW;
}

/* What iree-turbine's params.py (_make_tensor_metadata) records of a dtype,
 * as torch reports it: dtype_desc = {"class_name": type(dtype).__name__
 * (always "dtype"), "is_complex", "is_floating_point", "is_signed",
 * "itemsize"}, in that order. Torch facts (c10/core/ScalarType.h):
 * is_signed is numeric_limits<T>::is_signed, so false for bool and the
 * unsigned integers, true for every float type including float8 and
 * bfloat16, and true for complex; is_floating_point is true for the float
 * types (float8 included) and false for complex; itemsize is the element's
 * byte size (1 for bool and float8, 8 for complex64). */
typedef struct torch_dtype_desc {
    const char *name;        /* turbine's dtype name */
    bool is_complex;         /* torch.dtype.is_complex */
    bool is_floating_point;  /* torch.dtype.is_floating_point */
    bool is_signed;          /* torch.dtype.is_signed */
    unsigned itemsize;       /* torch.dtype.itemsize */
} torch_dtype_desc;

static const torch_dtype_desc torch_dtypes[] = {
    {"float32", false, true, true, 4},
    {"float64", false, true, true, 8},
    {"complex64", true, false, true, 8},
    {"complex128", true, false, true, 16},
    {"float16", false, true, true, 2},
    {"bfloat16", false, true, true, 2},
    {"int8", false, false, true, 1},
    {"int16", false, false, true, 2},
    {"int32", false, false, true, 4},
    {"int64", false, false, true, 8},
    {"uint8", false, false, false, 1},
    {"uint16", false, false, false, 2},
    {"uint32", false, false, false, 4},
    {"uint64", false, false, false, 8},
    {"bool", false, false, false, 1},
    {"float8_e4m3fn", false, true, true, 1},
    {"float8_e4m3fnuz", false, true, true, 1},
    {"float8_e5m2", false, true, true, 1},
    {"float8_e5m2fnuz", false, true, true, 1},
};

static const torch_dtype_desc *find_torch_dtype(const char *name) {
    for (size_t i = 0; i < sizeof torch_dtypes / sizeof torch_dtypes[0]; i++) {
        if (strcmp(torch_dtypes[i].name, name) == 0) return &torch_dtypes[i];
    }
    return NULL;
}

static const char *json_bool(bool value) {
    return value ? "true" : "false";
}

/* Python's json.dumps with default separators (", " and ": "). */
char *irpa_pytorch_metadata(const irpa_tensor *tensor, size_t *length) {
    *length = 0;
    if (!tensor->torch_dtype) return NULL;
    const torch_dtype_desc *desc = find_torch_dtype(tensor->torch_dtype);
    if (!desc) return NULL;
    char *text = NULL;
    size_t text_length = 0;
    FILE *out = open_memstream(&text, &text_length);
    if (!out) return NULL;
    fprintf(out, "PYTORCH:{\"type\": \"Tensor\", \"dtype\": \"%s\", \"shape\": [", desc->name);
    for (uint32_t d = 0; d < tensor->rank; d++) {
        fprintf(out, "%s%" PRIu64, d ? ", " : "", tensor->shape[d]);
    }
    fprintf(out,
            "], \"dtype_desc\": {\"class_name\": \"dtype\", \"is_complex\": %s, "
            "\"is_floating_point\": %s, \"is_signed\": %s, \"itemsize\": %u}}",
            json_bool(desc->is_complex), json_bool(desc->is_floating_point),
            json_bool(desc->is_signed), desc->itemsize);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    *length = text_length;
    return text;
}

void irpa_tensor_list_free(irpa_tensor_list *list) {
    for (size_t i = 0; i < list->count; i++) {
        free(list->tensors[i].name);
        free(list->tensors[i].shape);
    }
    free(list->tensors);
    list->tensors = NULL;
    list->count = 0;
}
