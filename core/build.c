#include "build.h"
int irpa_build_to_path(const irpa_archive *archive, const char *out_path, irpa_progress_fn progress, void *context, irpa_errors *errors) { (void)archive; (void)out_path; (void)progress; (void)context; return irpa_error(errors, "todo"); }
