#include "manifest.h"
/* placeholder until the loader lands */
irpa_manifest *irpa_manifest_parse(const char *path, const char *text, size_t text_length,
                                   irpa_errors *errors) {
    (void)text; (void)text_length;
    irpa_error(errors, "%s: manifest loader not implemented", path);
    return NULL;
}
irpa_manifest *irpa_manifest_load(const char *path, irpa_errors *errors) {
    return irpa_manifest_parse(path, "", 0, errors);
}
void irpa_manifest_free(irpa_manifest *manifest) { (void)manifest; }
