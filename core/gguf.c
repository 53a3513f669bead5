/* gguf.c: the tensor list of a GGUF v2/v3 file.
 *
 * Layout (little-endian): magic "GGUF", u32 version, u64 tensor_count,
 * u64 kv_count; kv_count metadata pairs (string key, u32 value type, value);
 * tensor_count tensor infos (string name, u32 n_dims, n_dims u64 dims
 * innermost first, u32 ggml type, u64 offset); then the data section, which
 * starts at the end of the infos rounded up to `general.alignment` (a u32,
 * 32 when absent). A string is a u64 length and that many bytes. A tensor's
 * absolute offset is data_start + its info offset.
 *
 * The header is read through a small window with pread; tensor data is
 * never read. Every count and length is checked against the bytes left in
 * the file before anything is allocated or looped over, so the work and the
 * memory are bounded by the file's size. */
#include "model.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ggml_types.h"
#include "le.h"

#define GGUF_HEADER_BYTES 24
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4           /* GGML_MAX_DIMS */
#define GGUF_MAX_ARRAY_DEPTH 8    /* arrays nested deeper are refused */
#define GGUF_MAX_NAME_BYTES 65535 /* longest tensor name accepted */
#define GGUF_MIN_KV_BYTES 13      /* key length + value type + one-byte value */
#define GGUF_MIN_TENSOR_INFO_BYTES 24 /* name length + n_dims + type + offset */
#define GGUF_WINDOW_BYTES 65536
#define GGUF_SHOWN_KEY_BYTES 120  /* bytes of a key kept for error messages */

enum gguf_value_type {
    GGUF_UINT8 = 0,
    GGUF_INT8 = 1,
    GGUF_UINT16 = 2,
    GGUF_INT16 = 3,
    GGUF_UINT32 = 4,
    GGUF_INT32 = 5,
    GGUF_FLOAT32 = 6,
    GGUF_BOOL = 7,
    GGUF_STRING = 8,
    GGUF_ARRAY = 9,
    GGUF_UINT64 = 10,
    GGUF_INT64 = 11,
    GGUF_FLOAT64 = 12,
};

typedef struct gguf_reader {
    const irpa_source *source;  /* the file */
    irpa_errors *errors;        /* where problems go */
    uint64_t position;          /* file offset of the next byte to read */
    unsigned char *window;      /* GGUF_WINDOW_BYTES of file bytes */
    uint64_t window_start;      /* file offset of window[0] */
    uint64_t window_length;     /* valid bytes in window */
    char key[GGUF_SHOWN_KEY_BYTES + 4]; /* current metadata key, printable, for messages */
} gguf_reader;

static uint64_t bytes_left(const gguf_reader *reader) {
    return reader->source->size - reader->position;
}

/* Copies `length` bytes at the reader's position into `out` and advances. */
static int read_bytes(gguf_reader *reader, void *out, uint64_t length, const char *what) {
    if (length > bytes_left(reader)) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": file ends inside %s (needs %" PRIu64
                          " bytes, %" PRIu64 " left)",
                          reader->source->path, reader->position, what, length,
                          bytes_left(reader));
    }
    unsigned char *dest = out;
    while (length > 0) {
        uint64_t window_end = reader->window_start + reader->window_length;
        if (reader->position < reader->window_start || reader->position >= window_end) {
            uint64_t fill = bytes_left(reader);
            if (fill > GGUF_WINDOW_BYTES) fill = GGUF_WINDOW_BYTES;
            if (irpa_source_pread(reader->source, reader->window, fill, reader->position) != 0) {
                return irpa_error(reader->errors, "%s: offset %" PRIu64 ": read failed: %m",
                                  reader->source->path, reader->position);
            }
            reader->window_start = reader->position;
            reader->window_length = fill;
            window_end = reader->window_start + fill;
        }
        uint64_t chunk = window_end - reader->position;
        if (chunk > length) chunk = length;
        memcpy(dest, reader->window + (reader->position - reader->window_start), chunk);
        dest += chunk;
        length -= chunk;
        reader->position += chunk;
    }
    return 0;
}

static int skip_bytes(gguf_reader *reader, uint64_t length, const char *what) {
    if (length > bytes_left(reader)) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": %s of %" PRIu64
                          " bytes runs past end of file (%" PRIu64 " bytes left)",
                          reader->source->path, reader->position, what, length,
                          bytes_left(reader));
    }
    reader->position += length;
    return 0;
}

static int read_u32(gguf_reader *reader, uint32_t *value, const char *what) {
    uint8_t bytes[4];
    if (read_bytes(reader, bytes, 4, what) != 0) return -1;
    *value = irpa_le32(bytes);
    return 0;
}

static int read_u64(gguf_reader *reader, uint64_t *value, const char *what) {
    uint8_t bytes[8];
    if (read_bytes(reader, bytes, 8, what) != 0) return -1;
    *value = irpa_le64(bytes);
    return 0;
}

/* Reads a string's length and checks that its bytes are in the file. */
static int read_string_length(gguf_reader *reader, uint64_t *length, const char *what) {
    uint64_t length_at = reader->position;
    if (read_u64(reader, length, what) != 0) return -1;
    if (*length > bytes_left(reader)) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": %s length %" PRIu64
                          " runs past end of file (%" PRIu64 " bytes left)",
                          reader->source->path, length_at, what, *length, bytes_left(reader));
    }
    return 0;
}

/* Replaces what is not printable ASCII, so a name can go in a message. */
static void make_printable(char *text) {
    for (unsigned char *c = (unsigned char *)text; *c; c++) {
        if (*c < 0x20 || *c >= 0x7f) *c = '?';
    }
}

static size_t fixed_value_bytes(uint32_t type) {
    switch (type) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_BOOL: return 1;
    case GGUF_UINT16: case GGUF_INT16: return 2;
    case GGUF_UINT32: case GGUF_INT32: case GGUF_FLOAT32: return 4;
    case GGUF_UINT64: case GGUF_INT64: case GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static int skip_value(gguf_reader *reader, uint32_t type, unsigned depth, uint64_t type_at);

static int skip_array(gguf_reader *reader, unsigned depth) {
    uint64_t array_at = reader->position;
    if (depth >= GGUF_MAX_ARRAY_DEPTH) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": key '%s': arrays nested more than %d deep",
                          reader->source->path, array_at, reader->key, GGUF_MAX_ARRAY_DEPTH);
    }
    uint32_t element_type;
    uint64_t count;
    if (read_u32(reader, &element_type, "an array's element type") != 0) return -1;
    uint64_t count_at = reader->position;
    if (read_u64(reader, &count, "an array's length") != 0) return -1;
    size_t element_bytes = fixed_value_bytes(element_type);
    /* Smallest encoding of one element: strings need their 8-byte length,
     * arrays their 4-byte type and 8-byte count. */
    uint64_t min_element_bytes = element_bytes ? element_bytes
                                 : element_type == GGUF_STRING ? 8
                                 : element_type == GGUF_ARRAY ? 12 : 1;
    if (count > bytes_left(reader) / min_element_bytes) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": key '%s': array length %" PRIu64
                          " cannot fit in the %" PRIu64 " bytes left in the file",
                          reader->source->path, count_at, reader->key, count, bytes_left(reader));
    }
    if (element_bytes) {
        return skip_bytes(reader, count * element_bytes, "array");
    }
    for (uint64_t i = 0; i < count; i++) {
        if (skip_value(reader, element_type, depth + 1, array_at) != 0) return -1;
    }
    return 0;
}

/* Skips one metadata value of `type`; `type_at` is where the type was read. */
static int skip_value(gguf_reader *reader, uint32_t type, unsigned depth, uint64_t type_at) {
    size_t fixed = fixed_value_bytes(type);
    if (fixed) return skip_bytes(reader, fixed, "value");
    if (type == GGUF_STRING) {
        uint64_t length;
        if (read_string_length(reader, &length, "string value") != 0) return -1;
        return skip_bytes(reader, length, "string value");
    }
    if (type == GGUF_ARRAY) return skip_array(reader, depth);
    return irpa_error(reader->errors,
                      "%s: offset %" PRIu64 ": key '%s': unknown metadata value type %" PRIu32,
                      reader->source->path, type_at, reader->key, type);
}

typedef struct gguf_header {
    uint32_t version;        /* 2 or 3 */
    uint64_t tensor_count;   /* tensor infos that follow the metadata */
    uint64_t kv_count;       /* metadata pairs */
    uint32_t alignment;      /* general.alignment, or the default */
    bool alignment_seen;     /* general.alignment was present */
} gguf_header;

static void describe_magic(const unsigned char magic[4], char *out, size_t out_size) {
    char shown[5];
    for (int i = 0; i < 4; i++) shown[i] = (magic[i] >= 0x20 && magic[i] < 0x7f) ? (char)magic[i] : '?';
    shown[4] = '\0';
    snprintf(out, out_size, "'%s' (bytes %02x %02x %02x %02x)", shown, magic[0], magic[1],
             magic[2], magic[3]);
}

static uint32_t byte_swap32(uint32_t value) {
    return (value >> 24) | ((value >> 8) & 0xff00u) | ((value << 8) & 0xff0000u) | (value << 24);
}

static int read_magic_and_version(gguf_reader *reader, gguf_header *header) {
    const char *path = reader->source->path;
    if (reader->source->size < 4) {
        return irpa_error(reader->errors,
                          "%s: file is %" PRIu64 " bytes, too short for a GGUF magic (truncated?)",
                          path, reader->source->size);
    }
    unsigned char magic[4];
    if (read_bytes(reader, magic, 4, "the magic") != 0) return -1;
    if (memcmp(magic, "GGUF", 4) != 0) {
        char shown[64];
        describe_magic(magic, shown, sizeof shown);
        if (irpa_is_legacy_ggml_magic(magic)) {
            return irpa_error(reader->errors,
                              "%s: not a GGUF file (found magic %s: a legacy ggml model from "
                              "before GGUF; convert it to GGUF first)",
                              path, shown);
        }
        return irpa_error(reader->errors, "%s: not a GGUF file (found magic %s)", path, shown);
    }
    if (reader->source->size < GGUF_HEADER_BYTES) {
        return irpa_error(reader->errors,
                          "%s: file is %" PRIu64 " bytes, too short for a GGUF header (%d bytes; "
                          "truncated?)",
                          path, reader->source->size, GGUF_HEADER_BYTES);
    }
    if (read_u32(reader, &header->version, "the version") != 0) return -1;
    uint32_t swapped = byte_swap32(header->version);
    if (header->version > 0xffff && swapped >= 1 && swapped <= 3) {
        return irpa_error(reader->errors,
                          "%s: big-endian GGUF (version %" PRIu32 " byte-swapped) is not "
                          "supported (only little-endian)",
                          path, swapped);
    }
    if (header->version != 2 && header->version != 3) {
        return irpa_error(reader->errors,
                          "%s: GGUF version %" PRIu32 " is not supported (only 2 and 3)", path,
                          header->version);
    }
    return 0;
}

static int read_counts(gguf_reader *reader, gguf_header *header) {
    const char *path = reader->source->path;
    if (read_u64(reader, &header->tensor_count, "the tensor count") != 0) return -1;
    if (read_u64(reader, &header->kv_count, "the metadata count") != 0) return -1;
    uint64_t left = bytes_left(reader);
    if (header->tensor_count > left / GGUF_MIN_TENSOR_INFO_BYTES) {
        return irpa_error(reader->errors,
                          "%s: offset 8: tensor count %" PRIu64 " cannot fit in a %" PRIu64
                          "-byte file",
                          path, header->tensor_count, reader->source->size);
    }
    if (header->kv_count > left / GGUF_MIN_KV_BYTES) {
        return irpa_error(reader->errors,
                          "%s: offset 16: metadata count %" PRIu64 " cannot fit in a %" PRIu64
                          "-byte file",
                          path, header->kv_count, reader->source->size);
    }
    if (header->tensor_count * GGUF_MIN_TENSOR_INFO_BYTES + header->kv_count * GGUF_MIN_KV_BYTES >
        left) {
        return irpa_error(reader->errors,
                          "%s: offset 8: %" PRIu64 " tensors and %" PRIu64
                          " metadata pairs cannot fit in a %" PRIu64 "-byte file",
                          path, header->tensor_count, header->kv_count, reader->source->size);
    }
    return 0;
}

/* Reads a key into reader->key (truncated, printable) and says whether it
 * is exactly "general.alignment". */
static int read_key(gguf_reader *reader, bool *is_alignment) {
    uint64_t length;
    if (read_string_length(reader, &length, "metadata key") != 0) return -1;
    uint64_t kept = length < GGUF_SHOWN_KEY_BYTES ? length : GGUF_SHOWN_KEY_BYTES;
    if (read_bytes(reader, reader->key, kept, "metadata key") != 0) return -1;
    reader->key[kept] = '\0';
    *is_alignment = length == strlen("general.alignment") &&
                    memcmp(reader->key, "general.alignment", length) == 0;
    make_printable(reader->key);
    if (kept < length) {
        strcat(reader->key, "...");
        if (skip_bytes(reader, length - kept, "metadata key") != 0) return -1;
    }
    return 0;
}

static int read_alignment(gguf_reader *reader, gguf_header *header, uint32_t type,
                          uint64_t type_at) {
    const char *path = reader->source->path;
    if (header->alignment_seen) {
        return irpa_error(reader->errors, "%s: offset %" PRIu64 ": general.alignment appears twice",
                          path, type_at);
    }
    if (type != GGUF_UINT32) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": general.alignment has value type %" PRIu32
                          ", expected uint32 (4)",
                          path, type_at, type);
    }
    uint64_t value_at = reader->position;
    if (read_u32(reader, &header->alignment, "general.alignment") != 0) return -1;
    if (header->alignment == 0 || (header->alignment & (header->alignment - 1)) != 0) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": general.alignment %" PRIu32
                          " is not a nonzero power of two",
                          path, value_at, header->alignment);
    }
    header->alignment_seen = true;
    return 0;
}

static int read_metadata(gguf_reader *reader, gguf_header *header) {
    header->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < header->kv_count; i++) {
        bool is_alignment;
        if (read_key(reader, &is_alignment) != 0) return -1;
        uint64_t type_at = reader->position;
        uint32_t type;
        if (read_u32(reader, &type, "a metadata value type") != 0) return -1;
        int status = is_alignment ? read_alignment(reader, header, type, type_at)
                                  : skip_value(reader, type, 0, type_at);
        if (status != 0) return -1;
    }
    return 0;
}

static int read_tensor_name(gguf_reader *reader, irpa_tensor *tensor) {
    const char *path = reader->source->path;
    uint64_t name_at = reader->position;
    uint64_t length;
    if (read_string_length(reader, &length, "tensor name") != 0) return -1;
    if (length > GGUF_MAX_NAME_BYTES) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": tensor name of %" PRIu64
                          " bytes is longer than %d",
                          path, name_at, length, GGUF_MAX_NAME_BYTES);
    }
    tensor->name = malloc(length + 1);
    if (!tensor->name) return irpa_error(reader->errors, "%s: out of memory", path);
    if (read_bytes(reader, tensor->name, length, "tensor name") != 0) return -1;
    tensor->name[length] = '\0';
    if (memchr(tensor->name, '\0', length) != NULL) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": tensor name contains a NUL byte", path, name_at);
    }
    return 0;
}

/* Reads n_dims and the dimensions (innermost first) of the tensor `shown`. */
static int read_tensor_dims(gguf_reader *reader, const char *shown, uint32_t *n_dims,
                            uint64_t dims[GGUF_MAX_DIMS]) {
    const char *path = reader->source->path;
    uint64_t count_at = reader->position;
    if (read_u32(reader, n_dims, "a tensor's dimension count") != 0) return -1;
    if (*n_dims > GGUF_MAX_DIMS) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": tensor '%s' has %" PRIu32
                          " dimensions (at most %d)",
                          path, count_at, shown, *n_dims, GGUF_MAX_DIMS);
    }
    for (uint32_t d = 0; d < *n_dims; d++) {
        uint64_t dim_at = reader->position;
        if (read_u64(reader, &dims[d], "a tensor dimension") != 0) return -1;
        if (dims[d] > INT64_MAX) {
            return irpa_error(reader->errors,
                              "%s: offset %" PRIu64 ": tensor '%s' dimension %" PRIu32
                              " is negative (%" PRId64 ")",
                              path, dim_at, shown, d, (int64_t)dims[d]);
        }
    }
    return 0;
}

static int read_tensor_type(gguf_reader *reader, const char *shown,
                            const irpa_ggml_type **type) {
    uint64_t type_at = reader->position;
    uint32_t type_id;
    if (read_u32(reader, &type_id, "a tensor type") != 0) return -1;
    *type = irpa_ggml_type_by_id(type_id);
    if (!*type) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": tensor '%s' has ggml type %" PRIu32
                          ", which is unknown or unsupported",
                          reader->source->path, type_at, shown, type_id);
    }
    return 0;
}

static int read_tensor_offset(gguf_reader *reader, const gguf_header *header, const char *shown,
                              uint64_t *offset) {
    uint64_t offset_at = reader->position;
    if (read_u64(reader, offset, "a tensor offset") != 0) return -1;
    if (*offset % header->alignment != 0) {
        return irpa_error(reader->errors,
                          "%s: offset %" PRIu64 ": tensor '%s' data offset %" PRIu64
                          " is not a multiple of the alignment %" PRIu32,
                          reader->source->path, offset_at, shown, *offset, header->alignment);
    }
    return 0;
}

/* Reads one tensor info; tensor->offset is left relative to the data section. */
static int read_tensor_info(gguf_reader *reader, const gguf_header *header, irpa_tensor *tensor) {
    const char *path = reader->source->path;
    if (read_tensor_name(reader, tensor) != 0) return -1;
    char shown[GGUF_SHOWN_KEY_BYTES + 4];
    snprintf(shown, sizeof shown, "%s", tensor->name);
    make_printable(shown);

    uint64_t dims_at = reader->position;
    uint32_t n_dims = 0;
    uint64_t dims[GGUF_MAX_DIMS];
    const irpa_ggml_type *type = NULL;
    if (read_tensor_dims(reader, shown, &n_dims, dims) != 0) return -1;
    if (read_tensor_type(reader, shown, &type) != 0) return -1;
    const char *why = NULL;
    if (irpa_ggml_tensor_bytes(type, dims, n_dims, &tensor->length, &why) != 0) {
        return irpa_error(reader->errors, "%s: offset %" PRIu64 ": tensor '%s' (%s): %s", path,
                          dims_at, shown, type->name, why);
    }
    if (read_tensor_offset(reader, header, shown, &tensor->offset) != 0) return -1;

    snprintf(tensor->dtype, sizeof tensor->dtype, "%s", type->name);
    tensor->torch_dtype = type->torch_dtype;
    tensor->rank = n_dims;
    tensor->shape = calloc(n_dims ? n_dims : 1, sizeof *tensor->shape);
    if (!tensor->shape) return irpa_error(reader->errors, "%s: out of memory", path);
    for (uint32_t d = 0; d < n_dims; d++) tensor->shape[d] = dims[n_dims - 1 - d];
    return 0;
}

/* Turns info offsets into absolute ones and checks each range is in the file. */
static int place_tensors(gguf_reader *reader, const gguf_header *header, irpa_tensor_list *list) {
    const char *path = reader->source->path;
    uint64_t infos_end = reader->position;
    uint64_t data_start = infos_end + (header->alignment - infos_end % header->alignment) %
                                          header->alignment;
    for (size_t i = 0; i < list->count; i++) {
        irpa_tensor *tensor = &list->tensors[i];
        uint64_t size = reader->source->size;
        bool fits = data_start <= size && tensor->offset <= size - data_start &&
                    tensor->length <= size - data_start - tensor->offset;
        if (!fits) {
            char shown[GGUF_SHOWN_KEY_BYTES + 4];
            snprintf(shown, sizeof shown, "%s", tensor->name);
            make_printable(shown);
            return irpa_error(reader->errors,
                              "%s: tensor '%s' (%s, %" PRIu64 " bytes at data offset %" PRIu64
                              ", data section at %" PRIu64 ") runs past end of file (%" PRIu64
                              " bytes)",
                              path, shown, tensor->dtype, tensor->length, tensor->offset,
                              data_start, size);
        }
        tensor->offset += data_start;
    }
    return 0;
}

static int compare_tensor_names(const void *left, const void *right) {
    const irpa_tensor *const *a = left;
    const irpa_tensor *const *b = right;
    return strcmp((*a)->name, (*b)->name);
}

static int check_unique_names(const irpa_source *source, const irpa_tensor_list *list,
                              irpa_errors *errors) {
    if (list->count < 2) return 0;
    const irpa_tensor **sorted = malloc(list->count * sizeof *sorted);
    if (!sorted) return irpa_error(errors, "%s: out of memory", source->path);
    for (size_t i = 0; i < list->count; i++) sorted[i] = &list->tensors[i];
    qsort(sorted, list->count, sizeof *sorted, compare_tensor_names);
    int status = 0;
    for (size_t i = 1; i < list->count && status == 0; i++) {
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
            char shown[GGUF_SHOWN_KEY_BYTES + 4];
            snprintf(shown, sizeof shown, "%s", sorted[i]->name);
            make_printable(shown);
            status = irpa_error(errors, "%s: tensor name '%s' appears twice", source->path, shown);
        }
    }
    free(sorted);
    return status;
}

static int read_tensors(gguf_reader *reader, const gguf_header *header, irpa_tensor_list *list) {
    if (header->tensor_count == 0) return 0;
    list->tensors = calloc(header->tensor_count, sizeof *list->tensors);
    if (!list->tensors) return irpa_error(reader->errors, "%s: out of memory", reader->source->path);
    for (uint64_t i = 0; i < header->tensor_count; i++) {
        list->count++;
        if (read_tensor_info(reader, header, &list->tensors[i]) != 0) return -1;
    }
    if (place_tensors(reader, header, list) != 0) return -1;
    return check_unique_names(reader->source, list, reader->errors);
}

int irpa_gguf_read(const irpa_source *source, irpa_tensor_list *out, irpa_errors *errors) {
    gguf_reader reader = {.source = source, .errors = errors};
    irpa_tensor_list list = {0};
    gguf_header header = {0};
    reader.window = malloc(GGUF_WINDOW_BYTES);
    if (!reader.window) return irpa_error(errors, "%s: out of memory", source->path);
    int status = -1;
    if (read_magic_and_version(&reader, &header) == 0 && read_counts(&reader, &header) == 0 &&
        read_metadata(&reader, &header) == 0 && read_tensors(&reader, &header, &list) == 0) {
        status = 0;
    }
    free(reader.window);
    if (status != 0) {
        irpa_tensor_list_free(&list);
        return -1;
    }
    *out = list;
    return 0;
}
