/* fuzz_inspect.c: libFuzzer target for the archive reader and its printers.
 * Any input must give a listing and messages, never a crash, an
 * out-of-bounds read, a leak or a hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "inspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    irpa_listing listing;
    irpa_errors errors = {0};
    int status = irpa_inspect_memory("fuzz.irpa", data, size, &listing, &errors);
    FILE *sink = fopen("/dev/null", "w");
    if (sink) {
        if (status == IRPA_INSPECT_OK) irpa_listing_print_text(&listing, sink);
        irpa_listing_print_json(&listing, &errors, sink);
        fclose(sink);
    }
    irpa_listing_free(&listing);
    irpa_errors_clear(&errors);
    return 0;
}
