/* text.c: escaping bytes for one line of text (text.h). */
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at bytes[0], or 0 if there is none. */
static size_t utf8_sequence_length(const uint8_t *bytes, uint64_t available) {
    uint8_t lead = bytes[0];
    size_t length;
    uint32_t minimum;
    if (lead < 0x80) return 1;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2, minimum = 0x80;
    else if (lead >= 0xe0 && lead <= 0xef) length = 3, minimum = 0x800;
    else if (lead >= 0xf0 && lead <= 0xf4) length = 4, minimum = 0x10000;
    else return 0;
    if (available < length) return 0;
    uint32_t code = lead & (0x7f >> length);
    for (size_t i = 1; i < length; i++) {
        if ((bytes[i] & 0xc0) != 0x80) return 0;
        code = code << 6 | (bytes[i] & 0x3f);
    }
    if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
    return length;
}

size_t irpa_escape_char(const uint8_t *bytes, uint64_t available,
                        char out[IRPA_ESCAPED_CHAR_MAX]) {
    static const char digits[] = "0123456789abcdef";
    uint8_t byte = bytes[0];
    size_t sequence = utf8_sequence_length(bytes, available);
    const char *named = byte == '\n' ? "\\n" : byte == '\r' ? "\\r" : byte == '\t' ? "\\t" : NULL;
    if (named) {
        strcpy(out, named);
        return 1;
    }
    if (sequence == 0 || byte < 0x20 || byte == 0x7f) {
        out[0] = '\\', out[1] = 'x', out[2] = digits[byte >> 4], out[3] = digits[byte & 15];
        out[4] = '\0';
        return 1;
    }
    memcpy(out, bytes, sequence);
    out[sequence] = '\0';
    return sequence;
}

char *irpa_escape(const uint8_t *bytes, uint64_t length, uint64_t limit) {
    uint64_t shown = length < limit ? length : limit;
    if (shown > (SIZE_MAX - 4) / 4) return NULL;
    char *text = malloc(4 * (size_t)shown + 4);  /* "\xNN" per byte at most, "...", NUL */
    if (!text) return NULL;
    size_t used = 0;
    for (uint64_t i = 0; i < shown;) {
        i += irpa_escape_char(bytes + i, shown - i, text + used);
        used += strlen(text + used);
    }
    strcpy(text + used, length > limit ? "..." : "");
    return text;
}

bool irpa_is_text(const uint8_t *bytes, uint64_t length) {
    uint64_t i = 0;
    while (i < length) {
        uint8_t byte = bytes[i];
        if ((byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7f)
            return false;
        size_t sequence = utf8_sequence_length(bytes + i, length - i);
        if (sequence == 0) return false;
        i += sequence;
    }
    return true;
}
