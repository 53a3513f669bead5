/* inspect_print.c: the text listing and the JSON form of an inspected
 * archive (inspect_print.h). */
#include "inspect_print.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* The lines iree-dump-parameters frames a scope with. */
static const char rule_line[] =
    "//===-----------------------------------------------------------------"
    "---------------------------------------------===//";
static const char columns_rule[] =
    "//===------------+------------------+------------------+--------------"
    "---------------------------------------------===//";
static const char columns_line[] =
    "//         Start |              End |           Length | Key";
static const char columns_end[] =
    "//---------------+------------------+------------------+--------------"
    "------------------------------------------------//";

static void print_hex(FILE *out, const uint8_t *bytes, uint64_t length) {
    for (uint64_t i = 0; i < length; i++) fprintf(out, "%02x", bytes[i]);
}

void irpa_hex(const uint8_t *bytes, uint64_t length, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (uint64_t i = 0; i < length; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * length] = '\0';
}

void irpa_print_escaped(FILE *out, const uint8_t *bytes, uint64_t length) {
    char shown[IRPA_ESCAPED_CHAR_MAX];
    for (uint64_t i = 0; i < length;) {
        i += irpa_escape_char(bytes + i, length - i, shown);
        fputs(shown, out);
    }
}

void irpa_print_columns(FILE *out, bool has_range, uint64_t start, uint64_t end,
                        uint64_t length, const uint8_t *name, uint64_t name_length) {
    char start_text[24] = "-", end_text[24] = "-";
    if (has_range) {
        snprintf(start_text, sizeof start_text, "%" PRIu64, start);
        snprintf(end_text, sizeof end_text, "%" PRIu64, end);
    }
    fprintf(out, "%16s | %16s | %16" PRIu64 " | `", start_text, end_text, length);
    irpa_print_escaped(out, name, name_length);
    fputc('`', out);
}

void irpa_print_metadata(FILE *out, const uint8_t *metadata, uint64_t length) {
    if (length == 0) return;
    fputs("  metadata: ", out);
    if (irpa_is_text(metadata, length)) {
        irpa_print_escaped(out, metadata, length);
    } else {
        fputs("hex ", out);
        print_hex(out, metadata, length);
    }
}

/* The pattern bytes a splat's pattern_length covers, at most all 16. */
static uint8_t pattern_bytes_shown(const irpa_inspected_entry *entry) {
    return entry->pattern_length <= IRPA_MAX_PATTERN ? entry->pattern_length : IRPA_MAX_PATTERN;
}

static void print_row(const irpa_inspected_entry *entry, FILE *out) {
    irpa_print_columns(out, entry->type == IRPA_ENTRY_DATA, entry->start, entry->end,
                       entry->length, entry->name, entry->name_length);
    if (entry->type == IRPA_ENTRY_DATA) {
        fputs("  [data]", out);
    } else {
        fputs("  [splat pattern ", out);
        uint8_t shown = pattern_bytes_shown(entry);
        print_hex(out, entry->pattern, shown);
        fputc(']', out);
    }
    irpa_print_metadata(out, entry->metadata, entry->metadata_length);
    fputc('\n', out);
}

void irpa_print_scope_header(FILE *out, uint64_t entry_count, uint64_t total_bytes) {
    fprintf(out, "%s\n", rule_line);
    fprintf(out, "// Parameter scope <global> (%" PRIu64 " entries, %" PRIu64 " total bytes)\n",
            entry_count, total_bytes);
    fprintf(out, "%s\n%s\n%s\n", columns_rule, columns_line, columns_end);
}

void irpa_print_listing(const irpa_inspected_archive *inspected, FILE *out) {
    uint64_t parameters = 0;
    for (uint64_t i = 0; i < inspected->entry_count; i++)
        if (irpa_inspected_entry_is_parameter(&inspected->entries[i])) parameters++;
    irpa_print_scope_header(out, parameters, inspected->total_bytes);
    for (uint64_t i = 0; i < inspected->entry_count; i++)
        if (irpa_inspected_entry_is_parameter(&inspected->entries[i]))
            print_row(&inspected->entries[i], out);
    fputc('\n', out);
}

/* ---- JSON ---------------------------------------------------------------- */

/* A JSON integer, or a decimal string for values past INT64_MAX. */
static json_t *json_u64(uint64_t value) {
    if (value <= (uint64_t)INT64_MAX) return json_integer((json_int_t)value);
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, value);
    return json_string(text);
}

static json_t *json_hex(const uint8_t *bytes, uint64_t length) {
    char *text = malloc(2 * length + 1);
    if (!text) return NULL;
    irpa_hex(bytes, length, text);
    json_t *value = json_stringn(text, 2 * length);
    free(text);
    return value;
}

json_t *irpa_json_text(const uint8_t *bytes, uint64_t length) {
    json_t *value = json_stringn(length ? (const char *)bytes : "", length);
    if (value) return value;
    char *escaped = irpa_escape(bytes, length, UINT64_MAX);
    if (!escaped) return NULL;
    value = json_string(escaped);
    free(escaped);
    return value;
}

/* Sets key to value, taking the reference; false when value is NULL. */
static bool put(json_t *object, const char *key, json_t *value) {
    return value && json_object_set_new(object, key, value) == 0;
}

static json_t *json_range(irpa_inspected_range range) {
    json_t *object = json_object();
    if (!object) return NULL;
    if (put(object, "offset", json_u64(range.offset)) &&
        put(object, "length", json_u64(range.length)))
        return object;
    json_decref(object);
    return NULL;
}

static json_t *json_header(const irpa_inspected_header *h) {
    json_t *object = json_object();
    if (!object) return NULL;
    char magic[11];
    snprintf(magic, sizeof magic, "0x%08" PRIx32, h->magic);
    bool ok = put(object, "magic", json_string(magic)) &&
              put(object, "version_major", json_integer(h->version_major)) &&
              put(object, "version_minor", json_integer(h->version_minor)) &&
              put(object, "header_size", json_u64(h->header_size)) &&
              put(object, "next_header_offset", json_u64(h->next_header_offset)) &&
              put(object, "flags", json_u64(h->flags)) &&
              put(object, "entry_count", json_u64(h->entry_count)) &&
              put(object, "entry_segment", json_range(h->entry_segment)) &&
              put(object, "metadata_segment", json_range(h->metadata_segment)) &&
              put(object, "storage_segment", json_range(h->storage_segment));
    if (ok) return object;
    json_decref(object);
    return NULL;
}

static bool put_type_fields(json_t *object, const irpa_inspected_entry *entry) {
    if (entry->type == IRPA_ENTRY_DATA)
        return put(object, "storage_offset", json_u64(entry->storage_offset)) &&
               put(object, "start", json_u64(entry->start)) &&
               put(object, "end", json_u64(entry->end));
    if (entry->type == IRPA_ENTRY_SPLAT) {
        uint8_t shown = pattern_bytes_shown(entry);
        return put(object, "pattern", json_hex(entry->pattern, shown)) &&
               put(object, "pattern_length", json_integer(entry->pattern_length));
    }
    return true;
}

static bool put_metadata(json_t *object, const irpa_inspected_entry *entry) {
    if (entry->metadata_length == 0)
        return put(object, "metadata", json_null()) && put(object, "metadata_hex", json_null());
    json_t *text = json_stringn((const char *)entry->metadata, entry->metadata_length);
    return put(object, "metadata", text ? text : json_null()) &&
           put(object, "metadata_hex", json_hex(entry->metadata, entry->metadata_length));
}

static json_t *json_entry(const irpa_inspected_entry *entry, uint64_t index) {
    json_t *object = json_object();
    if (!object) return NULL;
    bool ok = put(object, "index", json_u64(index)) &&
              put(object, "type", json_string(irpa_inspect_type_name(entry->type))) &&
              put(object, "type_code", json_u64(entry->type)) &&
              put(object, "name", irpa_json_text(entry->name, entry->name_length)) &&
              put(object, "length", json_u64(entry->length)) &&
              put_type_fields(object, entry) &&
              put_metadata(object, entry) &&
              put(object, "entry_offset", json_u64(entry->entry_offset)) &&
              put(object, "entry_size", json_u64(entry->entry_size)) &&
              put(object, "flags", json_u64(entry->flags)) &&
              put(object, "minimum_alignment", json_u64(entry->minimum_alignment)) &&
              put(object, "valid", json_boolean(entry->valid));
    if (ok) return object;
    json_decref(object);
    return NULL;
}

static json_t *json_messages(const irpa_errors *messages) {
    json_t *array = json_array();
    if (!array || !messages) return array;
    for (size_t i = 0; i < messages->count; i++) {
        json_t *text = irpa_json_text((const uint8_t *)messages->messages[i],
                                 strlen(messages->messages[i]));
        if (!text || json_array_append_new(array, text) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

static json_t *json_entries(const irpa_inspected_archive *inspected) {
    json_t *array = json_array();
    if (!array) return NULL;
    for (uint64_t i = 0; i < inspected->entry_count; i++) {
        json_t *entry = json_entry(&inspected->entries[i], i);
        if (!entry || json_array_append_new(array, entry) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

json_t *irpa_inspected_archive_to_json(const irpa_inspected_archive *inspected,
                                       const irpa_errors *errors) {
    json_t *object = json_object();
    if (!object) return NULL;
    const char *path = inspected->path ? inspected->path : "";
    bool valid = !errors || errors->count == 0;
    bool ok = put(object, "path", irpa_json_text((const uint8_t *)path, strlen(path))) &&
              put(object, "file_size", json_u64(inspected->file_size)) &&
              put(object, "read_with", json_string(inspected->mapped ? "mmap" : "read")) &&
              put(object, "valid", json_boolean(valid)) &&
              put(object, "header", inspected->header_read ? json_header(&inspected->header)
                                                         : json_null()) &&
              put(object, "entries", json_entries(inspected)) &&
              put(object, "total_bytes", json_u64(inspected->total_bytes)) &&
              put(object, "errors", json_messages(errors)) &&
              put(object, "warnings", json_messages(&inspected->warnings)) &&
              put(object, "notes", json_messages(&inspected->notes));
    if (ok) return object;
    json_decref(object);
    return NULL;
}

int irpa_print_json(const json_t *value, FILE *out) {
    int result = json_dumpf(value, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    return result == 0 ? 0 : -1;
}
