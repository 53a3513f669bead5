/* inspect.c: the archive reader's entry points (inspect.h): inspecting
 * bytes in memory stage by stage (inspect_reader.h), opening and mapping a
 * file, freeing what was read; and the reader's shared reporting. */
#include "inspect_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"
#include "text.h"

#define READ_FALLBACK_LIMIT (1ull << 30) /* largest file read when mmap fails */

/* ---- reporting, shared by the stages ------------------------------------ */

void inspect_report(reader *r, severity level, uint64_t offset, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *message = NULL;
    if (vasprintf(&message, fmt, args) < 0) message = NULL;
    va_end(args);
    irpa_errors *list = level == SEVERITY_ERROR ? r->errors : &r->inspected->warnings;
    irpa_error(list, "%s: offset %" PRIu64 ": %s%s", r->path, offset,
               level == SEVERITY_WARNING ? "warning: " : "",
               message ? message : "out of memory");
    free(message);
    if (level == SEVERITY_ERROR) r->error_count++;
}

void inspect_remember_used(reader *r, uint64_t start, uint64_t length) {
    if (length == 0) return;
    if (r->used_count == r->used_capacity) {
        size_t capacity = r->used_capacity ? r->used_capacity * 2 : 64;
        used_range *grown = realloc(r->used, capacity * sizeof *grown);
        if (!grown) {
            r->out_of_memory = true;
            return;
        }
        r->used = grown;
        r->used_capacity = capacity;
    }
    r->used[r->used_count++] = (used_range){start, start + length};
}

char *inspect_message_name(const uint8_t *name, uint64_t length) {
    return irpa_escape(name, length, MESSAGE_NAME_LIMIT);
}

bool irpa_inspected_entry_is_parameter(const irpa_inspected_entry *entry) {
    return entry->type == IRPA_ENTRY_SPLAT || entry->type == IRPA_ENTRY_DATA;
}

const char *irpa_inspect_type_name(uint32_t type) {
    switch (type) {
    case IRPA_ENTRY_SKIP: return "skip";
    case IRPA_ENTRY_SPLAT: return "splat";
    case IRPA_ENTRY_DATA: return "data";
    case IRPA_ENTRY_EXTERNAL: return "external";
    default: return "unknown";
    }
}

/* ---- entry points ------------------------------------------------------- */

int irpa_inspect_memory(const char *path, const uint8_t *bytes, uint64_t size,
                        irpa_inspected_archive *out, irpa_errors *errors) {
    memset(out, 0, sizeof *out);
    out->path = strdup(path ? path : "(memory)");
    out->file_size = size;
    reader r = {.path = out->path ? out->path : "(memory)", .bytes = bytes, .size = size,
                .inspected = out, .errors = errors};
    if (inspect_header_prefix(&r)) {
        inspect_header(&r);
        if (r.segments_valid) inspect_entries(&r);
        inspect_text_overlaps(&r);
        if (r.walk_complete) {
            /* Padding is only known once every structure is: after any
             * error, referenced bytes would be misreported as padding. */
            bool structure_known = r.error_count == 0;
            inspect_duplicate_names(&r);
            inspect_data_overlaps(&r);
            if (structure_known) inspect_padding(&r);
        }
    }
    if (r.out_of_memory) {
        irpa_error(errors, "%s: out of memory while checking the archive", r.path);
        r.error_count++;
    }
    free(r.used);
    inspect_sum_lengths(out);
    return r.error_count ? IRPA_INSPECT_MALFORMED : IRPA_INSPECT_OK;
}

/* Reads the `size` bytes of the file into a new buffer (the mmap fallback);
 * a file that ends before them fails with EIO. */
static uint8_t *read_whole_file(int fd, uint64_t size) {
    char *text = NULL;
    size_t length = 0;
    irpa_read_result result = irpa_read_fd(fd, READ_FALLBACK_LIMIT, &text, &length);
    if (result == IRPA_READ_TOO_LARGE) errno = EFBIG;
    if (result != IRPA_READ_OK) return NULL;
    if (length < size) {
        free(text);
        errno = EIO;
        return NULL;
    }
    return (uint8_t *)text;
}

int irpa_inspect_file(const char *path, irpa_inspected_archive *out, irpa_errors *errors) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        irpa_error(errors, "%s: cannot open: %s", path, strerror(errno));
        return IRPA_INSPECT_IO_ERROR;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const char *why = S_ISREG(st.st_mode) ? strerror(errno) : "not a regular file";
        irpa_error(errors, "%s: cannot inspect: %s", path, why);
        close(fd);
        return IRPA_INSPECT_IO_ERROR;
    }
    uint64_t size = (uint64_t)st.st_size;
    void *mapping = NULL;
    int map_errno = 0;
    uint8_t *buffer = NULL;
    const uint8_t *bytes = NULL;
    if (size > 0) {
        mapping = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (mapping == MAP_FAILED) {
            map_errno = errno;
            mapping = NULL;
            if (size > READ_FALLBACK_LIMIT) {
                irpa_error(errors, "%s: cannot map the file (%s) and it is too large to read "
                           "(%" PRIu64 " bytes)", path, strerror(map_errno), size);
                close(fd);
                return IRPA_INSPECT_IO_ERROR;
            }
            buffer = read_whole_file(fd, size);
            if (!buffer) {
                irpa_error(errors, "%s: cannot read: %s", path, strerror(errno));
                close(fd);
                return IRPA_INSPECT_IO_ERROR;
            }
        }
        bytes = mapping ? mapping : buffer;
    }
    close(fd);
    static const uint8_t nothing[1] = {0};
    int result = irpa_inspect_memory(path, bytes ? bytes : nothing, size, out, errors);
    out->mapping = mapping;
    out->buffer = buffer;
    out->mapped = mapping != NULL;
    if (map_errno != 0)
        irpa_error(&out->notes, "%s: cannot map the file (%s), read it instead; IREE maps "
                   "archives and would refuse this one", path, strerror(map_errno));
    return result;
}

void irpa_inspected_archive_free(irpa_inspected_archive *inspected) {
    if (!inspected) return;
    if (inspected->mapping) munmap(inspected->mapping, inspected->file_size);
    free(inspected->buffer);
    free(inspected->entries);
    free(inspected->path);
    irpa_errors_clear(&inspected->warnings);
    irpa_errors_clear(&inspected->notes);
    memset(inspected, 0, sizeof *inspected);
}
