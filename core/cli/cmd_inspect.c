/* cmd_inspect.c: `irpa inspect`, listing and checking archives.
 *
 *   irpa inspect [--json] [--strict] FILE.irpa...   list and check archives
 *   irpa inspect [--json] --manifest M   where each entry of M's archive comes from
 *
 * Text output is iree-dump-parameters' listing with each entry's type and
 * metadata appended; notes go to stderr as "note: ..." lines, errors and
 * warnings as "irpa: ..." lines. Exit status: 0 ok (warnings allowed unless
 * --strict), 1 I/O error, 2 malformed archive or usage error. */
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "commands.h"
#include "errors.h"
#include "inspect.h"
#include "inspect_print.h"
#include "resolve.h"

typedef struct inspect_options {
    bool json;                 /* --json: JSON instead of text */
    bool strict;               /* --strict: warnings fail like errors */
    const char *manifest;      /* --manifest M: explain M's archive instead of files */
    char **files;              /* archive paths given */
    int file_count;            /* paths in files */
} inspect_options;

static void usage(FILE *out) {
    fprintf(out,
            "usage: irpa inspect [--json] [--strict] FILE.irpa...   ('-' reads standard input)\n"
            "       irpa inspect [--json] --manifest MANIFEST.yaml\n"
            "\n"
            "Lists and checks IREE parameter archives: the same columns as IREE's\n"
            "iree-dump-parameters (start, end, length, key), then each entry's type and\n"
            "metadata. Every problem is reported with the file, byte offset and field:\n"
            "errors for what IREE rejects or what is unsafe to use, warnings for what\n"
            "IREE accepts but its own builder never writes.\n"
            "\n"
            "  --json               one JSON object per archive (an array for several)\n"
            "  --strict             warnings fail too (exit status 2)\n"
            "  --manifest M.yaml    where each entry's bytes come from (source, offset)\n"
            "                       and where they land in the archive M describes\n"
            "  -h, --help           this help\n"
            "\n"
            "Exit status: 0 ok (warnings allowed unless --strict), 1 I/O error,\n"
            "2 malformed archive or usage error.\n");
}

/* Parses the arguments; returns -1 (after printing why) on a usage error. */
static int parse_options(int argc, char **argv, inspect_options *options, bool *help) {
    memset(options, 0, sizeof *options);
    *help = false;
    options->files = calloc((size_t)argc + 1, sizeof *options->files);
    if (!options->files) {
        fprintf(stderr, "irpa inspect: out of memory\n");
        return -1;
    }
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || arg[0] != '-' || !strcmp(arg, "-")) {
            options->files[options->file_count++] = argv[i];
        } else if (!strcmp(arg, "--")) {
            options_done = true;
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            *help = true;
        } else if (!strcmp(arg, "--json")) {
            options->json = true;
        } else if (!strcmp(arg, "--strict")) {
            options->strict = true;
        } else if (!strcmp(arg, "--manifest") || !strcmp(arg, "-m")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "irpa inspect: %s needs a manifest path\n", arg);
                return -1;
            }
            options->manifest = argv[++i];
        } else if (!strncmp(arg, "--manifest=", 11)) {
            options->manifest = arg + 11;
        } else {
            fprintf(stderr, "irpa inspect: unknown option '%s'\n", arg);
            return -1;
        }
    }
    if (*help) return 0;
    if (options->manifest && options->file_count > 0) {
        fprintf(stderr, "irpa inspect: give either archives or --manifest, not both\n");
        return -1;
    }
    if (options->manifest && options->strict) {
        fprintf(stderr, "irpa inspect: --strict checks archives; with --manifest, use irpa check\n");
        return -1;
    }
    if (!options->manifest && options->file_count == 0) {
        fprintf(stderr, "irpa inspect: no archive given\n");
        return -1;
    }
    return 0;
}

static void print_notes_and_warnings(const irpa_inspected_archive *inspected) {
    irpa_errors_print(&inspected->notes, stderr, "note: ");
    irpa_errors_print(&inspected->warnings, stderr, "irpa: ");
}

#define STDIN_LIMIT (1ull << 30)  /* largest archive read from standard input */

/* Reads all of standard input (at most STDIN_LIMIT bytes) into *bytes. */
static int read_stdin(uint8_t **bytes, uint64_t *size, irpa_errors *errors) {
    size_t capacity = 1 << 16, length = 0;
    uint8_t *buffer = malloc(capacity);
    while (buffer) {
        if (length == capacity) {
            if (capacity >= STDIN_LIMIT) {
                free(buffer);
                return irpa_error(errors, "(stdin): more than %llu bytes: too large to read",
                                  (unsigned long long)STDIN_LIMIT);
            }
            uint8_t *grown = realloc(buffer, capacity * 2);
            if (!grown) break;
            buffer = grown;
            capacity *= 2;
        }
        size_t got = fread(buffer + length, 1, capacity - length, stdin);
        length += got;
        if (got == 0) {
            if (ferror(stdin)) {
                free(buffer);
                return irpa_error(errors, "(stdin): cannot read");
            }
            *bytes = buffer;
            *size = length;
            return 0;
        }
    }
    free(buffer);
    return irpa_error(errors, "(stdin): out of memory");
}

/* irpa_inspect_file, or for "-" standard input read into *stdin_bytes. */
static int inspect_path(const char *path, irpa_inspected_archive *inspected, uint8_t **stdin_bytes,
                        irpa_errors *errors) {
    if (strcmp(path, "-") != 0) return irpa_inspect_file(path, inspected, errors);
    uint64_t size = 0;
    memset(inspected, 0, sizeof *inspected);
    if (read_stdin(stdin_bytes, &size, errors) != 0) return IRPA_INSPECT_IO_ERROR;
    return irpa_inspect_memory("(stdin)", *stdin_bytes, size, inspected, errors);
}

/* Inspects one archive; prints it (text) or appends it to `array` (JSON).
 * Returns the exit status for this file. */
static int inspect_one(const char *path, const inspect_options *options, json_t *array) {
    irpa_errors errors = {0};
    irpa_inspected_archive inspected;
    uint8_t *stdin_bytes = NULL;
    int result = inspect_path(path, &inspected, &stdin_bytes, &errors);
    bool warned = options->strict && inspected.warnings.count > 0;
    int status = result == IRPA_INSPECT_IO_ERROR              ? IRPA_EXIT_FAILURE
                 : result == IRPA_INSPECT_MALFORMED || warned ? IRPA_EXIT_BAD_INPUT
                                                              : IRPA_EXIT_OK;
    if (options->json && result != IRPA_INSPECT_IO_ERROR) {
        json_t *object = irpa_inspected_archive_to_json(&inspected, &errors);
        if (!object || json_array_append_new(array, object) != 0) status = IRPA_EXIT_FAILURE;
    } else if (result == IRPA_INSPECT_OK) {
        irpa_print_listing(&inspected, stdout);
    }
    print_notes_and_warnings(&inspected);
    irpa_errors_print(&errors, stderr, "irpa: ");
    irpa_errors_clear(&errors);
    irpa_inspected_archive_free(&inspected);
    free(stdin_bytes);
    return status;
}

/* Combines per-file statuses: an I/O error outranks a malformed archive. */
static int worse(int a, int b) {
    if (a == IRPA_EXIT_FAILURE || b == IRPA_EXIT_FAILURE) return IRPA_EXIT_FAILURE;
    return a > b ? a : b;
}

static int print_json(const json_t *value) { return irpa_print_json(value, stdout); }

static int inspect_files(const inspect_options *options) {
    json_t *array = options->json ? json_array() : NULL;
    if (options->json && !array) {
        fprintf(stderr, "irpa inspect: out of memory\n");
        return IRPA_EXIT_FAILURE;
    }
    int status = IRPA_EXIT_OK;
    for (int i = 0; i < options->file_count; i++)
        status = worse(status, inspect_one(options->files[i], options, array));
    if (options->json) {
        json_t *shown = json_array_size(array) == 1 ? json_array_get(array, 0) : array;
        if (json_array_size(array) > 0 || options->file_count > 1)
            if (print_json(shown) != 0) status = worse(status, IRPA_EXIT_FAILURE);
        json_decref(array);
    }
    if (fflush(stdout) != 0) {
        perror("irpa inspect: writing the listing");
        status = IRPA_EXIT_FAILURE;
    }
    return status;
}

/* ---- --manifest ----------------------------------------------------------- */

static uint64_t entry_start(const irpa_archive *archive, const irpa_entry *entry) {
    return archive->storage_offset + entry->storage_offset;
}

static void print_manifest_row(const irpa_archive *archive, const irpa_entry *entry) {
    bool data = entry->type == IRPA_ENTRY_DATA;
    uint64_t start = data && entry->length ? entry_start(archive, entry) : 0;
    irpa_print_columns(stdout, data, start, start + entry->length, entry->length,
                       (const uint8_t *)entry->name, entry->name_length);
    if (entry->type == IRPA_ENTRY_DATA) {
        const irpa_source *source = &archive->sources[entry->source];
        printf("  [data] from %s offset %" PRIu64, source->path, entry->source_offset);
    } else {
        char pattern[2 * IRPA_MAX_PATTERN + 1];
        irpa_hex(entry->pattern, entry->pattern_length, pattern);
        printf("  [splat pattern %s]", pattern);
    }
    irpa_print_metadata(stdout, entry->metadata, entry->metadata_length);
    putchar('\n');
}

static void print_manifest_text(const irpa_archive *archive) {
    uint64_t total = 0;
    for (size_t i = 0; i < archive->entry_count; i++) total += archive->entries[i].length;
    irpa_print_scope_header(stdout, archive->entry_count, total);
    for (size_t i = 0; i < archive->entry_count; i++)
        print_manifest_row(archive, &archive->entries[i]);
    printf("\n");
}

static json_t *manifest_entry_json(const irpa_archive *archive, const irpa_entry *entry) {
    bool data = entry->type == IRPA_ENTRY_DATA;
    json_t *object = json_pack("{s:s, s:o, s:I}", "type", data ? "data" : "splat",
                               "name",
                               irpa_json_text((const uint8_t *)entry->name, entry->name_length),
                               "length", (json_int_t)entry->length);
    if (!object) return NULL;
    if (data) {
        uint64_t first = entry->length ? entry_start(archive, entry) : 0;
        const irpa_source *source = &archive->sources[entry->source];
        json_object_set_new(object, "start", json_integer((json_int_t)first));
        json_object_set_new(object, "end", json_integer((json_int_t)(first + entry->length)));
        json_object_set_new(object, "storage_offset",
                            json_integer((json_int_t)entry->storage_offset));
        json_object_set_new(object, "source", json_string(source->path));
        json_object_set_new(object, "source_offset",
                            json_integer((json_int_t)entry->source_offset));
    } else {
        char pattern[2 * IRPA_MAX_PATTERN + 1];
        irpa_hex(entry->pattern, entry->pattern_length, pattern);
        json_object_set_new(object, "pattern", json_string(pattern));
        json_object_set_new(object, "pattern_length", json_integer(entry->pattern_length));
    }
    if (entry->metadata_length > 0) {
        char *hex = malloc(2 * entry->metadata_length + 1);
        if (hex) irpa_hex(entry->metadata, entry->metadata_length, hex);
        json_t *text = json_stringn((const char *)entry->metadata, entry->metadata_length);
        json_object_set_new(object, "metadata", text ? text : json_null());
        json_object_set_new(object, "metadata_hex", hex ? json_string(hex) : json_null());
        free(hex);
    }
    return object;
}

static int print_manifest_json(const char *manifest, const irpa_archive *archive) {
    json_t *entries = json_array();
    json_t *object = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o}",
                               "manifest", manifest,
                               "file_size", (json_int_t)archive->file_size,
                               "metadata_offset", (json_int_t)archive->metadata_offset,
                               "metadata_length", (json_int_t)archive->metadata_length,
                               "storage_offset", (json_int_t)archive->storage_offset,
                               "storage_length", (json_int_t)archive->storage_length,
                               "entries", entries);
    if (!object) return -1;
    for (size_t i = 0; i < archive->entry_count; i++) {
        json_t *entry = manifest_entry_json(archive, &archive->entries[i]);
        if (!entry || json_array_append_new(entries, entry) != 0) {
            json_decref(object);
            return -1;
        }
    }
    int result = print_json(object);
    json_decref(object);
    return result;
}

static int inspect_manifest(const inspect_options *options) {
    irpa_errors errors = {0};
    irpa_archive *archive = irpa_open_manifest(options->manifest, &errors);
    if (!archive) {
        irpa_errors_print(&errors, stderr, "irpa: ");
        irpa_errors_clear(&errors);
        return IRPA_EXIT_BAD_INPUT;
    }
    int status = IRPA_EXIT_OK;
    if (options->json) {
        if (print_manifest_json(options->manifest, archive) != 0) status = IRPA_EXIT_FAILURE;
    } else {
        print_manifest_text(archive);
    }
    if (fflush(stdout) != 0) status = IRPA_EXIT_FAILURE;
    irpa_archive_free(archive);
    irpa_errors_clear(&errors);
    return status;
}

int irpa_cmd_inspect(int argc, char **argv) {
    inspect_options options;
    bool help;
    int status;
    if (parse_options(argc, argv, &options, &help) != 0) {
        usage(stderr);
        status = IRPA_EXIT_BAD_INPUT;
    } else if (help) {
        usage(stdout);
        status = IRPA_EXIT_OK;
    } else if (options.manifest) {
        status = inspect_manifest(&options);
    } else {
        status = inspect_files(&options);
    }
    free(options.files);
    return status;
}
