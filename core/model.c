#include "model.h"
#include <stdlib.h>
irpa_model_format irpa_model_detect(const irpa_source *source, const char *forced) {
    (void)source; (void)forced;
    return IRPA_FORMAT_RAW;
}
char *irpa_pytorch_metadata(const irpa_tensor *tensor, size_t *length) {
    (void)tensor; *length = 0;
    return NULL;
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
