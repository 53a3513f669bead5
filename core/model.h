/* model.h: the tensors of a GGUF or safetensors file, as the readers find them.
 *
 * Readers trust no number in a file: every count, length and offset is
 * checked against the file's size and 64-bit overflow before it is used, so
 * a crafted file gets an error, never a crash, a huge allocation or a hang.
 * A model's tensor order is the file's own (GGUF: tensor-info order;
 * safetensors: key order in the JSON header), which is the order IREE uses. */
#ifndef IRPA_MODEL_H
#define IRPA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "source.h"

typedef enum irpa_model_format {
    IRPA_FORMAT_UNKNOWN,
    IRPA_FORMAT_GGUF,               /* GGUF v2 or v3, little-endian */
    IRPA_FORMAT_SAFETENSORS,        /* one .safetensors file */
    IRPA_FORMAT_SAFETENSORS_INDEX,  /* model.safetensors.index.json naming shards */
    IRPA_FORMAT_RAW,                /* any file: byte ranges only */
} irpa_model_format;

typedef struct irpa_tensor {
    char *name;               /* tensor name as in the file, owned */
    uint64_t offset;          /* absolute byte offset of its data in the file */
    uint64_t length;          /* bytes of data */
    char dtype[16];           /* the file's type name: "F16", "Q4_K", "BF16", "F8_E4M3" */
    const char *torch_dtype;  /* iree-turbine dtype ("float16"), or NULL when torch has none */
    uint32_t rank;            /* number of dimensions */
    uint64_t *shape;          /* dimensions, outermost first (torch order), owned */
} irpa_tensor;

typedef struct irpa_tensor_list {
    irpa_tensor *tensors;  /* in the file's order, owned */
    size_t count;          /* tensors held */
} irpa_tensor_list;

/* What a file is, from its magic and, failing that, its extension
 * (".gguf", ".safetensors", ".json"). `forced` ("gguf", "safetensors",
 * "raw" or NULL) overrides. */
irpa_model_format irpa_model_detect(const irpa_source *source, const char *forced);

/* Reads the tensor list of a GGUF file. Errors name source->path and the
 * byte offset of the bad field. */
int irpa_gguf_read(const irpa_source *source, irpa_tensor_list *out, irpa_errors *errors);

/* Reads the tensor list of a .safetensors file. */
int irpa_safetensors_read(const irpa_source *source, irpa_tensor_list *out,
                          irpa_errors *errors);

/* Reads model.safetensors.index.json: the distinct shard files its
 * weight_map names, resolved relative to the index's directory, sorted by
 * file name. *shards is an owned array of owned strings. */
int irpa_safetensors_index_read(const irpa_source *source, char ***shards,
                                size_t *shard_count, irpa_errors *errors);

/* iree-turbine's metadata blob for a tensor: "PYTORCH:" + JSON with type,
 * dtype, shape and dtype_desc, as iree/turbine/aot/params.py writes it.
 * NULL when the tensor has no torch dtype. Owned by the caller; *length
 * receives its size in bytes. */
char *irpa_pytorch_metadata(const irpa_tensor *tensor, size_t *length);

/* Whether the 4 bytes are the magic of a ggml file from before GGUF
 * ('ggml', 'ggmf', 'ggjt', 'ggla', 'ggsn' as little-endian u32). Such files
 * are detected as GGUF so that its reader can say what they are instead of
 * serving them as raw bytes. */
bool irpa_is_legacy_ggml_magic(const unsigned char *magic);

void irpa_tensor_list_free(irpa_tensor_list *list);

#endif
