/* errors.h: one-line error messages, collected and reported in one place.
 *
 * Every fallible function in core/ takes an `irpa_errors *` and appends one
 * line per problem it finds, already prefixed with where it is
 * ("m.yaml:12:5: ...", "model.gguf: offset 24: ..."), then returns -1 (or
 * NULL). Only the program's top level prints them. Passing NULL discards. */
#ifndef IRPA_ERRORS_H
#define IRPA_ERRORS_H

#include <stddef.h>
#include <stdio.h>

typedef struct irpa_errors {
    char **messages;  /* one-line messages, no trailing newline, owned */
    size_t count;     /* messages held */
    size_t capacity;  /* slots allocated in messages */
} irpa_errors;

/* Appends a formatted message; always returns -1 so callers can
 * `return irpa_error(errors, ...)`. Never fails: on ENOMEM the message is
 * replaced by a fixed "out of memory" line. */
int irpa_error(irpa_errors *errors, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes every message, one per line, each prefixed by `prefix` ("irpa: ")
 * when it is not NULL. */
void irpa_errors_print(const irpa_errors *errors, FILE *out, const char *prefix);

/* Frees every message and resets the list to empty. */
void irpa_errors_clear(irpa_errors *errors);

#endif
