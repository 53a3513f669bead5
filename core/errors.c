
#include "errors.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char out_of_memory[] = "out of memory";

/* Grows both arrays to `capacity` slots; 0, or -1 out of memory (then
 * nothing held is lost). */
static int grow(irpa_errors *errors, size_t capacity) {
    char **messages = realloc(errors->messages, capacity * sizeof *messages);
    if (!messages) return -1;
    errors->messages = messages;
    irpa_error_kind *kinds = realloc(errors->kinds, capacity * sizeof *kinds);
    if (!kinds) return -1;
    errors->kinds = kinds;
    errors->capacity = capacity;
    return 0;
}

static void append(irpa_errors *errors, irpa_error_kind kind, char *message) {
    if (errors->count == errors->capacity) {
        if (grow(errors, errors->capacity ? errors->capacity * 2 : 8) != 0) {
            if (message != out_of_memory) free(message);
            if (errors->count > 0) {
                char *last = errors->messages[errors->count - 1];
                if (last != out_of_memory) free(last);
                errors->messages[errors->count - 1] = out_of_memory;
            }
            return;
        }
    }
    errors->kinds[errors->count] = kind;
    errors->messages[errors->count++] = message;
}

static int add(irpa_errors *errors, irpa_error_kind kind, const char *fmt, va_list args) {
    if (!errors) return -1;
    char *message = NULL;
    if (vasprintf(&message, fmt, args) < 0) message = out_of_memory;
    /* One line per error: fold any newline a caller's text carried. */
    for (char *c = message; message != out_of_memory && *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    append(errors, kind, message);
    return -1;
}

int irpa_error(irpa_errors *errors, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    add(errors, IRPA_ERROR_OTHER, fmt, args);
    va_end(args);
    return -1;
}

int irpa_error_of_kind(irpa_errors *errors, irpa_error_kind kind, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    add(errors, kind, fmt, args);
    va_end(args);
    return -1;
}

bool irpa_errors_have(const irpa_errors *errors, size_t first, irpa_error_kind kind) {
    for (size_t i = first; i < errors->count; i++)
        if (errors->kinds[i] == kind) return true;
    return false;
}

void irpa_errors_print(const irpa_errors *errors, FILE *out, const char *prefix) {
    for (size_t i = 0; i < errors->count; i++)
        fprintf(out, "%s%s\n", prefix ? prefix : "", errors->messages[i]);
}

void irpa_errors_clear(irpa_errors *errors) {
    for (size_t i = 0; i < errors->count; i++)
        if (errors->messages[i] != out_of_memory) free(errors->messages[i]);
    free(errors->messages);
    free(errors->kinds);
    errors->messages = NULL;
    errors->kinds = NULL;
    errors->count = errors->capacity = 0;
}
