
#include "errors.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char out_of_memory[] = "out of memory";

static void append(irpa_errors *errors, char *message) {
    if (errors->count == errors->capacity) {
        size_t capacity = errors->capacity ? errors->capacity * 2 : 8;
        char **grown = realloc(errors->messages, capacity * sizeof *grown);
        if (!grown) {
            if (message != out_of_memory) free(message);
            if (errors->count > 0) {
                char *last = errors->messages[errors->count - 1];
                if (last != out_of_memory) free(last);
                errors->messages[errors->count - 1] = out_of_memory;
            }
            return;
        }
        errors->messages = grown;
        errors->capacity = capacity;
    }
    errors->messages[errors->count++] = message;
}

int irpa_error(irpa_errors *errors, const char *fmt, ...) {
    if (!errors) return -1;
    va_list args;
    va_start(args, fmt);
    char *message = NULL;
    if (vasprintf(&message, fmt, args) < 0) message = out_of_memory;
    va_end(args);
    /* One line per error: fold any newline a caller's text carried. */
    for (char *c = message; message != out_of_memory && *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    append(errors, message);
    return -1;
}

void irpa_errors_print(const irpa_errors *errors, FILE *out, const char *prefix) {
    for (size_t i = 0; i < errors->count; i++)
        fprintf(out, "%s%s\n", prefix ? prefix : "", errors->messages[i]);
}

void irpa_errors_clear(irpa_errors *errors) {
    for (size_t i = 0; i < errors->count; i++)
        if (errors->messages[i] != out_of_memory) free(errors->messages[i]);
    free(errors->messages);
    errors->messages = NULL;
    errors->count = errors->capacity = 0;
}
