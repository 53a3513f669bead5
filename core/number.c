/* number.c: numbers as a manifest writes them (number.h). */
#include "number.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"

int irpa_hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decimal or 0x hex, without sign. Every character is checked, so a long
 * text with a bad digit is NOT_INTEGER rather than TOO_LARGE. */
static irpa_number_status parse_magnitude(const char *text, size_t length, uint64_t *value) {
    unsigned base = 10;
    if (length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text += 2;
        length -= 2;
    }
    if (length == 0) return IRPA_NUMBER_NOT_INTEGER;
    uint64_t result = 0;
    bool too_large = false;
    for (size_t i = 0; i < length; i++) {
        int digit = irpa_hex_digit(text[i]);
        if (digit < 0 || (unsigned)digit >= base) return IRPA_NUMBER_NOT_INTEGER;
        if (!too_large && (irpa_mul_overflows(result, base, &result) ||
                           irpa_add_overflows(result, (uint64_t)digit, &result)))
            too_large = true;
    }
    if (too_large) return IRPA_NUMBER_TOO_LARGE;
    *value = result;
    return IRPA_NUMBER_OK;
}

irpa_number_status irpa_parse_integer(const char *text, size_t length, uint64_t *magnitude,
                                      bool *negative) {
    *negative = length > 0 && text[0] == '-';
    if (*negative) {
        text++;
        length--;
    }
    return parse_magnitude(text, length, magnitude);
}

/* Whether `text` is one of the `count` `words`. */
static bool is_one_of(const char *text, const char *const *words, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(text, words[i]) == 0) return true;
    return false;
}

bool irpa_parse_float(const char *text, size_t length, double *value, bool *overflowed) {
    static const char *const infinities[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
    static const char *const negative_infinities[] = {"-.inf", "-.Inf", "-.INF"};
    static const char *const nans[] = {".nan", ".NaN", ".NAN"};
    *overflowed = false;
    if (is_one_of(text, infinities, sizeof infinities / sizeof *infinities))
        return *value = HUGE_VAL, true;
    size_t negative_count = sizeof negative_infinities / sizeof *negative_infinities;
    if (is_one_of(text, negative_infinities, negative_count))
        return *value = -HUGE_VAL, true;
    if (is_one_of(text, nans, sizeof nans / sizeof *nans)) return *value = NAN, true;
    if (length == 0 || strlen(text) != length || text[0] == ' ' || text[0] == '\t' ||
        text[0] == '\n' || text[0] == '\r' || text[0] == '\f' || text[0] == '\v')
        return false;
    char *end = NULL;
    errno = 0;
    *value = strtod(text, &end);
    *overflowed = errno == ERANGE && isinf(*value);
    return end == text + length;
}

int irpa_parse_size(const char *text, uint64_t max, uint64_t *bytes) {
    if (!text || *text < '0' || *text > '9') return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno) return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10;
    else if (*end == 'M' || *end == 'm') shift = 20;
    else if (*end == 'G' || *end == 'g') shift = 30;
    if (shift) end++;
    if (*end || value > (max >> shift)) return -1;
    *bytes = (uint64_t)value << shift;
    return 0;
}
