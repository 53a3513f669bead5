#include "model.h"
int irpa_gguf_read(const irpa_source *source, irpa_tensor_list *out, irpa_errors *errors) {
    (void)out;
    return irpa_error(errors, "%s: GGUF reader not implemented", source->path);
}
