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

#include <stdbool.h>

/* What kind of problem a message reports, for callers that act on it
 * (the text is for people). */
typedef enum irpa_error_kind {
    IRPA_ERROR_OTHER = 0,    /* anything not named below */
    IRPA_ERROR_SOURCE_OPEN,  /* a source file could not be opened (open(2) failed) */
} irpa_error_kind;

typedef struct irpa_errors {
    char **messages;         /* one-line messages, no trailing newline, owned */
    irpa_error_kind *kinds;  /* the kind of each message */
    size_t count;            /* messages held */
    size_t capacity;         /* slots allocated in messages and kinds */
} irpa_errors;

/* Appends a formatted message; always returns -1 so callers can
 * `return irpa_error(errors, ...)`. Never fails: on ENOMEM the message is
 * replaced by a fixed "out of memory" line. */
int irpa_error(irpa_errors *errors, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* irpa_error, recording the message's kind. */
int irpa_error_of_kind(irpa_errors *errors, irpa_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether a message from index `first` on is of `kind`. */
bool irpa_errors_have(const irpa_errors *errors, size_t first, irpa_error_kind kind);

/* Writes every message, one per line, each prefixed by `prefix` ("irpa: ")
 * when it is not NULL. */
void irpa_errors_print(const irpa_errors *errors, FILE *out, const char *prefix);

/* Frees every message and resets the list to empty. */
void irpa_errors_clear(irpa_errors *errors);

#endif
