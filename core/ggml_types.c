/* ggml_types.c: the ggml type table.
 *
 * Facts from ggml (ggml-org/llama.cpp: ggml/include/ggml.h enum ggml_type,
 * the type_traits table in ggml/src/ggml.c, and the block structs with their
 * static_assert sizes in ggml/src/ggml-common.h). QK_K = 256. Numbers 4, 5
 * (Q4_2, Q4_3), 31-33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) and 36-38 (IQ4_NL_4_4,
 * IQ4_NL_4_8, IQ4_NL_8_8) were retired from GGUF files and are not listed.
 * NVFP4 (40) and Q1_0 (41) are the newest types in upstream ggml. */
#include "ggml_types.h"

#include <stddef.h>
#include <string.h>

static const irpa_ggml_type ggml_types[] = {
    /* id  name       block  bytes  torch */
    {0, "F32", 1, 4, "float32"},
    {1, "F16", 1, 2, "float16"},
    {2, "Q4_0", 32, 18, NULL},     /* f16 scale + 16 bytes of nibbles */
    {3, "Q4_1", 32, 20, NULL},     /* f16 scale, f16 min + 16 bytes */
    {6, "Q5_0", 32, 22, NULL},     /* f16 scale + 4 high-bit bytes + 16 */
    {7, "Q5_1", 32, 24, NULL},     /* f16 scale, f16 min + 4 + 16 */
    {8, "Q8_0", 32, 34, NULL},     /* f16 scale + 32 int8 */
    {9, "Q8_1", 32, 36, NULL},     /* f16 scale, f16 sum + 32 int8 */
    {10, "Q2_K", 256, 84, NULL},   /* 16 scales + 64 quants + 2 f16 */
    {11, "Q3_K", 256, 110, NULL},  /* 32 hmask + 64 quants + 12 scales + f16 */
    {12, "Q4_K", 256, 144, NULL},  /* 2 f16 + 12 scales + 128 quants */
    {13, "Q5_K", 256, 176, NULL},  /* 2 f16 + 12 scales + 32 high bits + 128 */
    {14, "Q6_K", 256, 210, NULL},  /* 128 low + 64 high + 16 scales + f16 */
    {15, "Q8_K", 256, 292, NULL},  /* f32 scale + 256 int8 + 16 int16 sums */
    {16, "IQ2_XXS", 256, 66, NULL},
    {17, "IQ2_XS", 256, 74, NULL},
    {18, "IQ3_XXS", 256, 98, NULL},
    {19, "IQ1_S", 256, 50, NULL},
    {20, "IQ4_NL", 32, 18, NULL},
    {21, "IQ3_S", 256, 110, NULL},
    {22, "IQ2_S", 256, 82, NULL},
    {23, "IQ4_XS", 256, 136, NULL},
    {24, "I8", 1, 1, "int8"},
    {25, "I16", 1, 2, "int16"},
    {26, "I32", 1, 4, "int32"},
    {27, "I64", 1, 8, "int64"},
    {28, "F64", 1, 8, "float64"},
    {29, "IQ1_M", 256, 56, NULL},
    {30, "BF16", 1, 2, "bfloat16"},
    {34, "TQ1_0", 256, 54, NULL},  /* 48 base-3 bytes + 4 + f16 */
    {35, "TQ2_0", 256, 66, NULL},  /* 64 bytes of 2-bit + f16 */
    {39, "MXFP4", 32, 17, NULL},   /* E8M0 scale byte + 16 bytes of E2M1 */
    {40, "NVFP4", 64, 36, NULL},   /* 4 E4M3 scales + 32 bytes of E2M1 */
    {41, "Q1_0", 128, 18, NULL},   /* f16 scale + 16 bytes of bits */
};

const irpa_ggml_type *irpa_ggml_type_by_id(uint32_t id) {
    for (size_t i = 0; i < sizeof ggml_types / sizeof ggml_types[0]; i++) {
        if (ggml_types[i].id == id) {
            return &ggml_types[i];
        }
    }
    return NULL;
}

const irpa_ggml_type *irpa_ggml_type_by_name(const char *name) {
    for (size_t i = 0; i < sizeof ggml_types / sizeof ggml_types[0]; i++) {
        if (strcmp(ggml_types[i].name, name) == 0) {
            return &ggml_types[i];
        }
    }
    return NULL;
}

int irpa_ggml_tensor_bytes(const irpa_ggml_type *type, const uint64_t *dims, uint32_t n_dims,
                           uint64_t *bytes, const char **why) {
    const uint64_t limit = INT64_MAX;
    uint64_t row_elements = n_dims > 0 ? dims[0] : 1;
    if (row_elements % type->block_size != 0) {
        *why = "row length is not a multiple of the type's block size";
        return -1;
    }
    uint64_t total = row_elements / type->block_size;
    if (total > limit / type->type_size) {
        *why = "tensor size overflows 63 bits";
        return -1;
    }
    total *= type->type_size;
    for (uint32_t i = 1; i < n_dims; i++) {
        if (dims[i] != 0 && total > limit / dims[i]) {
            *why = "tensor size overflows 63 bits";
            return -1;
        }
        total *= dims[i];
    }
    *bytes = total;
    return 0;
}
