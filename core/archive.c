#include "archive.h"
irpa_archive *irpa_archive_new(uint64_t alignment, irpa_errors *errors) { (void)alignment; irpa_error(errors, "todo"); return 0; }
void irpa_archive_free(irpa_archive *archive) { (void)archive; }
