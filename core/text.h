/* text.h: showing arbitrary bytes (names, metadata) as one line of text.
 *
 * Archive names and metadata are bytes: usually UTF-8, but a crafted file
 * can hold anything. Messages and the `irpa inspect` listing show them
 * through one escaping rule: valid UTF-8 without control characters as is,
 * "\n", "\r", "\t" for those, every other byte as "\xNN". */
#ifndef IRPA_TEXT_H
#define IRPA_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRPA_ESCAPED_CHAR_MAX 5  /* bytes irpa_escape_char writes, with the NUL */

/* Escapes the character starting at bytes[0] (`available` > 0 bytes
 * follow) into `out`, NUL-terminated. Returns the input bytes it took. */
size_t irpa_escape_char(const uint8_t *bytes, uint64_t available, char out[IRPA_ESCAPED_CHAR_MAX]);

/* A new NUL-terminated escaped copy of at most `limit` of the `length`
 * bytes, with "..." when cut (UINT64_MAX: no limit); NULL when out of
 * memory. */
char *irpa_escape(const uint8_t *bytes, uint64_t length, uint64_t limit);

/* Whether bytes are text that can be shown on one line: valid UTF-8 whose
 * only control characters are tab, newline and carriage return. */
bool irpa_is_text(const uint8_t *bytes, uint64_t length);

#endif
