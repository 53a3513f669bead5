/* fuzz_inspect.c: libFuzzer target for the archive reader and its printers.
 * Any input must give an inspected archive and messages, never a crash, an
 * out-of-bounds read, a leak or a hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "inspect.h"
#include "inspect_print.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    irpa_inspected_archive inspected;
    irpa_errors errors = {0};
    int status = irpa_inspect_memory("fuzz.irpa", data, size, &inspected, &errors);
    FILE *sink = fopen("/dev/null", "w");
    if (sink) {
        if (status == IRPA_INSPECT_OK) irpa_print_listing(&inspected, sink);
        json_t *object = irpa_inspected_archive_to_json(&inspected, &errors);
        if (object) irpa_print_json(object, sink);
        json_decref(object);
        fclose(sink);
    }
    irpa_inspected_archive_free(&inspected);
    irpa_errors_clear(&errors);
    return 0;
}
