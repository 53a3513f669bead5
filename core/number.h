/* number.h: numbers as a manifest writes them.
 *
 * Integers are decimal or 0x hex, with an optional '-'; the whole text must
 * be the number (no spaces, no '+'). Floats are what strtod reads, plus
 * YAML's .inf and .nan spellings. Every digit goes through checked.h, so a
 * number too large for 64 bits is said to be, never wrapped.
 *
 *   irpa_parse_integer  "-3", "0x40" -> magnitude and sign
 *   irpa_parse_float    "1.5e3", "-.inf" -> double
 *   irpa_hex_digit      '7', 'f' -> 7, 15
 *   irpa_parse_size     "64M", "1T" -> bytes (command-line sizes) */
#ifndef IRPA_NUMBER_H
#define IRPA_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum irpa_number_status {
    IRPA_NUMBER_OK,
    IRPA_NUMBER_NOT_INTEGER,  /* empty, or a character that is not a digit of its base */
    IRPA_NUMBER_TOO_LARGE,    /* its magnitude is over 2^64 - 1 */
} irpa_number_status;

/* The integer in the `length` bytes of `text`: its magnitude in *magnitude
 * (set only when IRPA_NUMBER_OK), and whether it starts with '-' in
 * *negative (always set; "-0" is negative with magnitude 0). */
irpa_number_status irpa_parse_integer(const char *text, size_t length, uint64_t *magnitude,
                                      bool *negative);

/* The float in `text` (NUL-terminated, `length` bytes before the NUL):
 * false when it is not a number. *overflowed tells a finite number too
 * large for a double (then *value is infinite). */
bool irpa_parse_float(const char *text, size_t length, double *value, bool *overflowed);

/* A size as options write it: decimal bytes with an optional K, M, G or T
 * suffix...  0, or -1 when
 * it is not one (nothing else may follow; no sign, no spaces). */
int irpa_parse_size(const char *text, uint64_t max, uint64_t *bytes);

/* The value of hex digit `c`, or -1. */
int irpa_hex_digit(char c);

#endif
