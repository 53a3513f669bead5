/* ggml_types.h: the element types a GGUF tensor can have, and their sizes.
 *
 * ggml stores tensors in blocks: `block_size` consecutive elements of the
 * innermost dimension take `type_size` bytes. Plain types (F32, I16, ...)
 * have blocks of one element. A tensor's innermost dimension must be a
 * multiple of its type's block size. */
#ifndef IRPA_GGML_TYPES_H
#define IRPA_GGML_TYPES_H

#include <stdint.h>

typedef struct irpa_ggml_type {
    uint32_t id;              /* the ggml_type number stored in GGUF tensor infos */
    const char *name;         /* GGUF name of the type: "F16", "Q4_K", "IQ2_XXS" */
    uint32_t block_size;      /* elements per block */
    uint32_t type_size;       /* bytes per block */
    const char *torch_dtype;  /* iree-turbine dtype name, NULL for quantized types */
} irpa_ggml_type;

/* The type with ggml_type number `id`, or NULL when it is unknown (or one of
 * the numbers ggml retired). */
const irpa_ggml_type *irpa_ggml_type_by_id(uint32_t id);

/* The type named `name` ("Q4_K"), or NULL. */
const irpa_ggml_type *irpa_ggml_type_by_name(const char *name);

/* Bytes a tensor of `type` with `n_dims` dimensions `dims` (innermost first,
 * as GGUF stores them) occupies. Returns 0 and sets *bytes; or -1 with *why
 * set to a static explanation: the innermost dimension is not a multiple of
 * the block size, or the size does not fit in 63 bits. */
int irpa_ggml_tensor_bytes(const irpa_ggml_type *type, const uint64_t *dims, uint32_t n_dims,
                           uint64_t *bytes, const char **why);

#endif
