/* make_model: writes a synthetic safetensors model with deterministic bytes,
 * for the demo and the benchmark.
 *
 *   make_model OUT.safetensors [TOTAL_MIB] [TENSORS]
 *
 * Tensors alternate F16, F32 and BF16, named like a transformer's
 * ("model.layers.N.mlp.up_proj.weight", ...), sizes spread around
 * TOTAL / TENSORS; the JSON header is not padded, so the data section starts
 * at an offset that is not 8- or 64-aligned, as in real files. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = {"self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                    "mlp.up_proj.weight", "mlp.down_proj.weight",
                                    "input_layernorm.weight"};
static const char *const dtypes[] = {"F16", "F32", "BF16"};
static const unsigned dtype_bytes[] = {2, 4, 2};

typedef struct tensor {
    char name[96];
    const char *dtype;
    uint64_t rows, columns;  /* shape */
    uint64_t bytes;          /* rows * columns * element size */
} tensor;

static int write_data(FILE *out, uint64_t bytes, uint64_t *state) {
    static uint8_t block[1 << 16];
    while (bytes > 0) {
        size_t chunk = bytes < sizeof block ? (size_t)bytes : sizeof block;
        for (size_t i = 0; i < chunk; i += 8) {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            memcpy(block + i, state, chunk - i < 8 ? chunk - i : 8);
        }
        if (fwrite(block, 1, chunk, out) != chunk) return -1;
        bytes -= chunk;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: make_model OUT.safetensors [TOTAL_MIB=8] [TENSORS=24]\n");
        return 2;
    }
    uint64_t total = (argc > 2 ? strtoull(argv[2], NULL, 10) : 8) << 20;
    size_t count = argc > 3 ? strtoul(argv[3], NULL, 10) : 24;
    if (count == 0 || total == 0) {
        fprintf(stderr, "make_model: TOTAL_MIB and TENSORS must be positive\n");
        return 2;
    }
    tensor *tensors = calloc(count, sizeof *tensors);
    if (!tensors) return 1;
    uint64_t average = total / count;
    for (size_t i = 0; i < count; i++) {
        tensor *t = &tensors[i];
        unsigned kind = (unsigned)(i % 5), dtype = (unsigned)(i % 3);
        snprintf(t->name, sizeof t->name, "model.layers.%zu.%s", i / 5, kinds[kind]);
        t->dtype = dtypes[dtype];
        /* norms are small vectors; matrices vary from 1/2 to 3/2 of the average */
        uint64_t target = kind == 4 ? 4096 : average / 2 + (average * (i % 7)) / 6;
        t->columns = 64 + 32 * (i % 3);
        t->rows = target / (t->columns * dtype_bytes[dtype]);
        if (t->rows == 0) t->rows = 1;
        t->bytes = t->rows * t->columns * dtype_bytes[dtype];
    }
    FILE *out = fopen(argv[1], "wb");
    if (!out) {
        fprintf(stderr, "make_model: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    /* The header: measure, then write it. */
    char *header = NULL;
    size_t header_size = 0;
    FILE *json = open_memstream(&header, &header_size);
    fprintf(json, "{\"__metadata__\":{\"format\":\"pt\",\"generator\":\"irpafs make_model\"}");
    uint64_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        fprintf(json, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu,%llu],\"data_offsets\":[%llu,%llu]}",
                tensors[i].name, tensors[i].dtype, (unsigned long long)tensors[i].rows,
                (unsigned long long)tensors[i].columns, (unsigned long long)offset,
                (unsigned long long)(offset + tensors[i].bytes));
        offset += tensors[i].bytes;
    }
    fprintf(json, "}");
    fclose(json);
    uint8_t length[8];
    for (int i = 0; i < 8; i++) length[i] = (uint8_t)((uint64_t)header_size >> (8 * i));
    uint64_t state = 0x9e3779b97f4a7c15ull;
    int status = fwrite(length, 1, 8, out) == 8 && fwrite(header, 1, header_size, out) == header_size
                     ? 0 : -1;
    for (size_t i = 0; status == 0 && i < count; i++)
        status = write_data(out, tensors[i].bytes, &state);
    if (fclose(out) != 0) status = -1;
    free(header);
    free(tensors);
    if (status != 0) {
        fprintf(stderr, "make_model: %s: write failed\n", argv[1]);
        remove(argv[1]);
        return 1;
    }
    return 0;
}
