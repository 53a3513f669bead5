/* fuzz_common.h: puts a fuzz input in a memfd so a reader can open it as a
 * file by path, and checks what every reader promises of its tensors. */
#ifndef IRPA_FUZZ_COMMON_H
#define IRPA_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"

/* Opens `data` as a source; returns the memfd (close it after), or -1. */
static int fuzz_open_source(const uint8_t *data, size_t size, irpa_source *source) {
    int fd = memfd_create("irpa-fuzz", MFD_CLOEXEC);
    if (fd < 0) return -1;
    size_t written = 0;
    while (written < size) {
        ssize_t n = write(fd, data + written, size - written);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        written += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (irpa_source_open(source, path, NULL, NULL) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Every tensor lies inside the file and has a consistent shape. */
static void fuzz_check_tensors(const irpa_source *source, const irpa_tensor_list *list) {
    for (size_t i = 0; i < list->count; i++) {
        const irpa_tensor *tensor = &list->tensors[i];
        if (tensor->offset > source->size || tensor->length > source->size - tensor->offset) {
            abort();
        }
        if (!tensor->name || (tensor->rank > 0 && !tensor->shape)) abort();
        size_t length = 0;
        char *metadata = irpa_pytorch_metadata(tensor, &length);
        if (tensor->torch_dtype && !metadata) abort();
        free(metadata);
    }
}

/* Runs `read` (a model.h reader) on the source: success must come with no
 * error and tensors inside the file, failure with a message. */
static void fuzz_read_tensors(const irpa_source *source,
                              int (*read)(const irpa_source *, irpa_tensor_list *,
                                          irpa_errors *)) {
    irpa_errors errors = {0};
    irpa_tensor_list list = {0};
    (void)irpa_model_detect(source, NULL);
    if (read(source, &list, &errors) == 0) {
        if (errors.count != 0) abort();
        fuzz_check_tensors(source, &list);
    } else if (errors.count == 0) {
        abort(); /* a failure must say why */
    }
    irpa_tensor_list_free(&list);
    irpa_errors_clear(&errors);
}

#endif
