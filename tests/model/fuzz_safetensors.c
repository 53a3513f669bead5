/* fuzz_safetensors.c: libFuzzer target for the safetensors reader and the
 * safetensors index reader. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_index(const irpa_source *source) {
    irpa_errors errors = {0};
    char **shards = NULL;
    size_t count = 0;
    if (irpa_safetensors_index_read(source, &shards, &count, &errors) == 0) {
        for (size_t i = 0; i < count; i++) free(shards[i]);
        free(shards);
    } else if (errors.count == 0) {
        abort();
    }
    irpa_errors_clear(&errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    irpa_source source = {0};
    int fd = fuzz_open_source(data, size, &source);
    if (fd < 0) return 0;
    fuzz_read_tensors(&source, irpa_safetensors_read);
    fuzz_index(&source);
    irpa_source_close(&source);
    close(fd);
    return 0;
}
