#include "model.h"
int irpa_safetensors_read(const irpa_source *source, irpa_tensor_list *out,
                          irpa_errors *errors) {
    (void)out;
    return irpa_error(errors, "%s: safetensors reader not implemented", source->path);
}
int irpa_safetensors_index_read(const irpa_source *source, char ***shards,
                                size_t *shard_count, irpa_errors *errors) {
    (void)shards; (void)shard_count;
    return irpa_error(errors, "%s: safetensors index reader not implemented", source->path);
}
