/* splat.c: typed splat patterns (splat.h). */
#include "splat.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "le.h"
#include "manifest_report.h"
#include "number.h"
#include "suggest.h"

typedef enum splat_class { SPLAT_SIGNED, SPLAT_UNSIGNED, SPLAT_FLOAT } splat_class;

typedef struct splat_type {
    const char *name;       /* as written in the manifest */
    splat_class class;      /* how the value is read */
    uint8_t width;          /* bytes of the pattern */
    uint8_t exponent_bits;  /* float: bits of the exponent */
    uint8_t fraction_bits;  /* float: bits of the fraction (without the implicit 1) */
    const char *largest;    /* float: the largest finite magnitude, for messages */
} splat_type;

static const splat_type splat_types[] = {
    {"i8", SPLAT_SIGNED, 1, 0, 0, NULL},
    {"i16", SPLAT_SIGNED, 2, 0, 0, NULL},
    {"i32", SPLAT_SIGNED, 4, 0, 0, NULL},
    {"i64", SPLAT_SIGNED, 8, 0, 0, NULL},
    {"u8", SPLAT_UNSIGNED, 1, 0, 0, NULL},
    {"u16", SPLAT_UNSIGNED, 2, 0, 0, NULL},
    {"u32", SPLAT_UNSIGNED, 4, 0, 0, NULL},
    {"u64", SPLAT_UNSIGNED, 8, 0, 0, NULL},
    {"f16", SPLAT_FLOAT, 2, 5, 10, "65504"},
    {"bf16", SPLAT_FLOAT, 2, 8, 7, "3.3895e+38"},
    {"f32", SPLAT_FLOAT, 4, 8, 23, "3.4028e+38"},
    {"f64", SPLAT_FLOAT, 8, 11, 52, "1.7977e+308"},
};
#define SPLAT_TYPE_COUNT (sizeof splat_types / sizeof splat_types[0])

/* The name of every splat type, in table order. */
static void splat_type_names(const char *names[SPLAT_TYPE_COUNT]) {
    for (size_t i = 0; i < SPLAT_TYPE_COUNT; i++) names[i] = splat_types[i].name;
}

const char *irpa_splat_type_list(char out[IRPA_SPLAT_TYPE_LIST_SIZE]) {
    const char *names[SPLAT_TYPE_COUNT];
    splat_type_names(names);
    return irpa_join_words(out, IRPA_SPLAT_TYPE_LIST_SIZE, names, SPLAT_TYPE_COUNT);
}

static void store_pattern(uint8_t *pattern, uint64_t value, unsigned width) {
    switch (width) {
    case 1: pattern[0] = (uint8_t)value; break;
    case 2: irpa_put_le16(pattern, (uint16_t)value); break;
    case 4: irpa_put_le32(pattern, (uint32_t)value); break;
    default: irpa_put_le64(pattern, value); break;
    }
}

/* `value` as a binary float with `exponent_bits` and `fraction_bits`
 * (f16: 5, 10; bf16: 8, 7), rounded to nearest, ties to even. */
static uint32_t narrow_float(double value, unsigned exponent_bits, unsigned fraction_bits) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    uint32_t sign = (uint32_t)(bits >> 63) << (exponent_bits + fraction_bits);
    int double_exponent = (int)((bits >> 52) & 0x7ff);
    uint64_t double_fraction = bits & ((UINT64_C(1) << 52) - 1);
    uint32_t all_ones = (UINT32_C(1) << exponent_bits) - 1;
    uint32_t infinity = all_ones << fraction_bits;
    if (double_exponent == 0x7ff)
        return sign | infinity | (double_fraction ? UINT32_C(1) << (fraction_bits - 1) : 0);
    if (double_exponent == 0) return sign; /* double subnormals are far below any result's */
    int bias = (int)(all_ones >> 1);
    int exponent = double_exponent - 1023;
    if (exponent > bias) return sign | infinity;
    uint64_t significand = double_fraction | (UINT64_C(1) << 52);
    int minimum_exponent = 1 - bias;
    unsigned shift = 52 - fraction_bits;
    if (exponent < minimum_exponent) shift += (unsigned)(minimum_exponent - exponent);
    if (shift > 60) return sign;
    uint64_t kept = significand >> shift;
    uint64_t dropped = significand & ((UINT64_C(1) << shift) - 1);
    uint64_t half = UINT64_C(1) << (shift - 1);
    if (dropped > half || (dropped == half && (kept & 1))) kept++;
    uint64_t encoded = kept; /* subnormal: the fraction alone (a carry makes it normal) */
    if (exponent >= minimum_exponent)
        encoded = ((uint64_t)(exponent + bias - 1) << fraction_bits) + kept;
    if (encoded >= infinity) return sign | infinity;
    return sign | (uint32_t)encoded;
}

/* `value` as float `type`: its bits. */
static uint64_t float_bits(const splat_type *type, double value) {
    if (type->width == 2) return narrow_float(value, type->exponent_bits, type->fraction_bits);
    if (type->width == 4) {
        float single = (float)value;
        uint32_t single_bits;
        memcpy(&single_bits, &single, sizeof single_bits);
        return single_bits;
    }
    uint64_t double_bits;
    memcpy(&double_bits, &value, sizeof double_bits);
    return double_bits;
}

/* Encodes the float `text` as `type` into `pattern`; false, with the reason
 * in `why`, when it is not a number or too large for the type. */
static bool encode_float_value(const splat_type *type, const char *text, uint8_t *pattern,
                               char *why, size_t why_size) {
    char shown[IRPA_SHOWN_SIZE];
    size_t length = strlen(text);
    double value;
    bool overflowed;
    if (!irpa_parse_float(text, length, &value, &overflowed)) {
        snprintf(why, why_size, "splat value '%s' is not a number; expected a number for %s",
                 irpa_show(shown, text, length), type->name);
        return false;
    }
    uint64_t encoded = float_bits(type, value);
    uint64_t fraction_mask = (UINT64_C(1) << type->fraction_bits) - 1;
    uint64_t exponent_mask = ((UINT64_C(1) << type->exponent_bits) - 1) << type->fraction_bits;
    bool became_infinite = (encoded & exponent_mask) == exponent_mask && !(encoded & fraction_mask);
    if (overflowed || (became_infinite && !isinf(value))) {
        snprintf(why, why_size, "splat value '%s' is too large for %s; expected a magnitude "
                 "of at most %s", irpa_show(shown, text, length), type->name, type->largest);
        return false;
    }
    store_pattern(pattern, encoded, type->width);
    return true;
}

/* Encodes the integer `text` as `type` into `pattern`; false, with the
 * reason in `why`, when it is not an integer or out of the type's range. */
static bool encode_integer_value(const splat_type *type, const char *text, uint8_t *pattern,
                                 char *why, size_t why_size) {
    char shown[IRPA_SHOWN_SIZE];
    size_t length = strlen(text);
    unsigned bits = 8u * type->width;
    uint64_t maximum = type->class == SPLAT_SIGNED ? (UINT64_C(1) << (bits - 1)) - 1
                       : bits == 64               ? UINT64_MAX
                                                  : (UINT64_C(1) << bits) - 1;
    uint64_t most_negative = type->class == SPLAT_SIGNED ? UINT64_C(1) << (bits - 1) : 0;
    char range[64];
    if (type->class == SPLAT_SIGNED)
        snprintf(range, sizeof range, "-%llu to %llu", (unsigned long long)most_negative,
                 (unsigned long long)maximum);
    else
        snprintf(range, sizeof range, "0 to %llu", (unsigned long long)maximum);
    uint64_t magnitude = 0;
    bool negative;
    irpa_number_status status = irpa_parse_integer(text, length, &magnitude, &negative);
    if (status == IRPA_NUMBER_NOT_INTEGER) {
        snprintf(why, why_size, "splat value '%s' is not an integer; expected an integer "
                 "from %s for %s", irpa_show(shown, text, length), range, type->name);
        return false;
    }
    if (status == IRPA_NUMBER_TOO_LARGE || (negative && magnitude > most_negative) ||
        (!negative && magnitude > maximum)) {
        snprintf(why, why_size, "splat value '%s' is out of range for %s; expected %s",
                 irpa_show(shown, text, length), type->name, range);
        return false;
    }
    uint64_t value = negative ? (uint64_t)0 - magnitude : magnitude;
    store_pattern(pattern, value, type->width);
    return true;
}

/* The type named `name`, or NULL with the reason in `why`. */
static const splat_type *find_type(const char *name, char *why, size_t why_size) {
    for (size_t i = 0; i < SPLAT_TYPE_COUNT; i++)
        if (strcmp(splat_types[i].name, name) == 0) return &splat_types[i];
    const char *names[SPLAT_TYPE_COUNT];
    splat_type_names(names);
    char shown[IRPA_SHOWN_SIZE], tail[IRPA_SUGGESTION_TAIL_SIZE];
    size_t length = strlen(name);
    snprintf(why, why_size, "unknown splat type '%s'%s", irpa_show(shown, name, length),
             irpa_suggestion_tail(tail, name, length, names, SPLAT_TYPE_COUNT, NULL));
    return NULL;
}

irpa_splat_fault irpa_splat_encode(const char *type_name, const char *value,
                                   uint8_t pattern[16], uint8_t *pattern_length, char *why,
                                   size_t why_size) {
    const splat_type *type = find_type(type_name, why, why_size);
    if (!type) return IRPA_SPLAT_BAD_TYPE;
    if (!value) return IRPA_SPLAT_OK;
    bool encoded = type->class == SPLAT_FLOAT
                       ? encode_float_value(type, value, pattern, why, why_size)
                       : encode_integer_value(type, value, pattern, why, why_size);
    if (!encoded) return IRPA_SPLAT_BAD_VALUE;
    *pattern_length = type->width;
    return IRPA_SPLAT_OK;
}
