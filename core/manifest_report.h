/* manifest_report.h: where the manifest loader's problems go.
 *
 * Every problem found while loading a manifest becomes one error
 * "FILE:LINE:COL: what is wrong; what was expected", and is counted even
 * when nobody collects the messages, so that loading can go on to find the
 * others and still fail. Text taken from the manifest is quoted through
 * irpa_show, so no message grows without bound or carries control bytes.
 *
 *   irpa_report                 "m.yaml:12:5: ..." into the errors, counted
 *   irpa_report_out_of_memory   the one out-of-memory error, then stop
 *   irpa_show                   manifest text, cut and cleaned for a message */
#ifndef IRPA_MANIFEST_REPORT_H
#define IRPA_MANIFEST_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "manifest.h"

#define IRPA_SHOWN_SIZE 72 /* buffer for a value quoted in a message */

typedef struct irpa_reporter {
    const char *path;     /* the manifest's path as given, the start of every message */
    irpa_errors *errors;  /* where messages go (may be NULL) */
    size_t error_count;   /* errors found so far, counted even when `errors` is NULL */
    bool out_of_memory;   /* an allocation failed: stop */
} irpa_reporter;

/* Where a problem with no better place is reported: 1:1. */
static inline irpa_position irpa_no_position(void) { return (irpa_position){1, 1}; }

/* Adds "PATH:LINE:COL: MESSAGE" and counts it. */
void irpa_report(irpa_reporter *reporter, irpa_position at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports running out of memory (once) and marks the loading as stopped. */
void irpa_report_out_of_memory(irpa_reporter *reporter);

/* Copies `text` for quoting in a message: at most IRPA_SHOWN_SIZE - 4
 * bytes, with control characters as '?' and "..." when cut. */
const char *irpa_show(char shown[IRPA_SHOWN_SIZE], const char *text, size_t length);

#endif
