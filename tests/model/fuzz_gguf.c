/* fuzz_gguf.c: libFuzzer target for the GGUF reader. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    irpa_source source = {0};
    int fd = fuzz_open_source(data, size, &source);
    if (fd < 0) return 0;
    fuzz_read_tensors(&source, irpa_gguf_read);
    irpa_source_close(&source);
    close(fd);
    return 0;
}
