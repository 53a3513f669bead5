/* fuzz_manifest.c: libFuzzer target for the manifest loader.
 *
 * Any bytes, parsed as a manifest: the loader must never crash, hang, leak
 * or read out of bounds, and must return a manifest exactly when it added
 * no error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    irpa_errors errors = {0};
    irpa_manifest *manifest =
        irpa_manifest_parse("fuzz/m.yaml", (const char *)data, size, &errors);
    if ((manifest != NULL) == (errors.count > 0)) abort();
    irpa_manifest_free(manifest);
    irpa_errors_clear(&errors);
    return 0;
}
