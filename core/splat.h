/* splat.h: the pattern of a typed splat, `splat: {type: T, value: V}`.
 *
 * The types are i8 ... i64, u8 ... u64, f16, bf16, f32 and f64; a value is
 * encoded little-endian at the type's width. f16 and bf16 are rounded from
 * a double to nearest, ties to even; a finite value too large for its type
 * is refused rather than made infinite.
 *
 *   irpa_splat_encode      "f32", "1.0" -> 00 00 80 3f
 *   irpa_splat_type_list   "i8, i16, ..., f64", for messages */
#ifndef IRPA_SPLAT_H
#define IRPA_SPLAT_H

#include <stddef.h>
#include <stdint.h>

#define IRPA_SPLAT_TYPE_LIST_SIZE 128 /* room for irpa_splat_type_list */

typedef enum irpa_splat_fault {
    IRPA_SPLAT_OK,
    IRPA_SPLAT_BAD_TYPE,   /* not one of i8 ... u64, f16, bf16, f32, f64 */
    IRPA_SPLAT_BAD_VALUE,  /* not a number of the type, or out of its range */
} irpa_splat_fault;

/* The pattern of a typed splat, as `splat: {type: T, value: V}` reads it:
 * `value` ("1.0", "-3", ".inf") encoded as `type` ("f32"), little-endian,
 * into `pattern`, with *pattern_length its width in bytes. A NULL `value`
 * checks the type alone. On a fault, `why` receives the message the loader
 * gives ("unknown splat type 'f33'; did you mean 'f32'?"). */
irpa_splat_fault irpa_splat_encode(const char *type, const char *value, uint8_t pattern[16],
                                   uint8_t *pattern_length, char *why, size_t why_size);

/* Every splat type's name, "i8, i16, ..., f64", written into `out`. */
const char *irpa_splat_type_list(char out[IRPA_SPLAT_TYPE_LIST_SIZE]);

#endif
