/* manifest_report.c: the manifest loader's problems (manifest_report.h). */
#include "manifest_report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void irpa_report(irpa_reporter *reporter, irpa_position at, const char *fmt, ...) {
    reporter->error_count++;
    if (!reporter->errors) return;
    char *what = NULL;
    va_list args;
    va_start(args, fmt);
    int written = vasprintf(&what, fmt, args);
    va_end(args);
    if (written < 0) {
        irpa_error(reporter->errors, "%s:%u:%u: out of memory", reporter->path, at.line,
                   at.column);
        return;
    }
    irpa_error(reporter->errors, "%s:%u:%u: %s", reporter->path, at.line, at.column, what);
    free(what);
}

void irpa_report_out_of_memory(irpa_reporter *reporter) {
    if (!reporter->out_of_memory)
        irpa_report(reporter, irpa_no_position(),
                    "out of memory while loading the manifest; expected it to fit");
    reporter->out_of_memory = true;
}

const char *irpa_show(char shown[IRPA_SHOWN_SIZE], const char *text, size_t length) {
    size_t limit = IRPA_SHOWN_SIZE - 4;
    size_t kept = length <= limit ? length : limit;
    if (kept < length)
        while (kept > 0 && ((unsigned char)text[kept] & 0xc0) == 0x80) kept--;
    for (size_t i = 0; i < kept; i++) {
        unsigned char c = (unsigned char)text[i];
        shown[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (kept < length) {
        memcpy(shown + kept, "...", 4);
    } else {
        shown[kept] = '\0';
    }
    return shown;
}
