/* fuzz_gguf.c: libFuzzer target for the GGUF reader. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    irpa_source source = {0};
    int fd = fuzz_open_source(data, size, &source);
    if (fd < 0) return 0;
    irpa_errors errors = {0};
    irpa_tensor_list list = {0};
    (void)irpa_model_detect(&source, NULL);
    if (irpa_gguf_read(&source, &list, &errors) == 0) {
        if (errors.count != 0) abort();
        fuzz_check_tensors(&source, &list);
    } else if (errors.count == 0) {
        abort(); /* a failure must say why */
    }
    irpa_tensor_list_free(&list);
    irpa_errors_clear(&errors);
    irpa_source_close(&source);
    close(fd);
    return 0;
}
