/* iree_read: reads every entry of an .irpa file the way IREE's runtime loads
 * parameters, in one of its two modes.
 *
 *   iree_read mmap|file FILE.irpa
 *
 * What IREE does (read in iree-org/iree, runtime/src/iree/, at b48a595,
 * 2026-08; the CPU devices local-sync and local-task):
 *
 * - file: `--parameter_mode=file`, the default of iree-run-module and the
 *   other C tools (tooling/parameter_util.c). The file is opened O_RDONLY
 *   (io/file_handle.c, iree_io_file_handle_open); the index is parsed from a
 *   temporary mapping of the whole file (io/formats/irpa/irpa_parser.c:
 *   iree_io_file_map_view, PROT_READ, MAP_SHARED, MADV_DONTDUMP), which is
 *   unmapped once the entry table is read; then each parameter is one
 *   queue_read into a newly allocated buffer, which on these devices is
 *   iree_hal_fd_file_read (hal/utils/fd_file.c): pread of the whole entry,
 *   looping on short reads (or the same read through io_uring when the
 *   device has an async proactor).
 *   This program: open, map the whole file, parse the header and entry table
 *   through the mapping, unmap, then pread every data entry in entry order,
 *   each in one call, into one reused buffer. IREE may have up to 16 such
 *   reads in flight (parameter_index_provider.h); this reads one at a time.
 *
 * - mmap: `--parameter_mode=mmap` of the C tools until 2025-07 (removed by
 *   commit 8b1a8e75), and still the default of the Python API,
 *   ParameterIndex.load(path, mmap=True) (bindings/python/io.cc). The whole
 *   file is mapped read-only (iree_io_file_contents_map: PROT_READ,
 *   MAP_PRIVATE, MADV_DONTDUMP; the older C path used MAP_SHARED) and
 *   wrapped as a host allocation; the index is parsed through that mapping,
 *   which stays for the program's life; each parameter is then either
 *   imported as a buffer aliasing the mapping (read when the program touches
 *   it) or, when the import fails, copied out of the mapping (queue_read
 *   becomes queue_copy from the mapping's storage buffer, a memcpy on CPU).
 *   Either way every byte of every entry is faulted in through the mapping.
 *   This program: open, map the whole file (PROT_READ, MAP_PRIVATE), parse
 *   the header and entry table through it, then memcpy every data entry in
 *   entry order out of the mapping into one reused buffer; unmap at the end.
 *
 * Prints "ENTRIES DATA_BYTES NANOSECONDS", the time covering everything from
 * open to close. Exit status 1 on an I/O error, 2 on bad usage or a file that
 * is not a well-formed archive. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "irpa_format.h" /* core/: the format, written down once */
#include "le.h"


typedef enum read_mode { mode_mmap, mode_file } read_mode;

static uint64_t now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* True when [offset, offset + length) lies within [0, limit). */
static int within(uint64_t offset, uint64_t length, uint64_t limit) {
    return offset <= limit && length <= limit - offset;
}

static int read_fully(int fd, uint8_t *buffer, uint64_t length, uint64_t offset) {
    while (length > 0) {
        ssize_t got = pread(fd, buffer, (size_t)length, (off_t)offset);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        buffer += got;
        length -= (uint64_t)got;
        offset += (uint64_t)got;
    }
    return 0;
}

/* A data entry's bytes: offset from the start of the file, and length. */
typedef struct range {
    uint64_t offset;
    uint64_t length;
} range;

typedef struct entry_table {
    uint64_t entries;  /* entries walked */
    range *data;       /* the data entries, in entry order */
    uint64_t data_count;
    uint64_t largest;  /* longest data entry */
    unsigned name_sum; /* sum of name bytes, so that touching them is not optimised out */
} entry_table;

/* Appends a data entry to `table`. 0, or -1 when out of memory. */
static int add_data(entry_table *table, uint64_t offset, uint64_t length) {
    if ((table->data_count & (table->data_count - 1)) == 0) {  /* 0, 1, 2, 4...: grow */
        uint64_t capacity = table->data_count ? 2 * table->data_count : 1;
        range *grown = realloc(table->data, capacity * sizeof *grown);
        if (!grown) return -1;
        table->data = grown;
    }
    table->data[table->data_count++] = (range){offset, length};
    if (length > table->largest) table->largest = length;
    return 0;
}

/* Parses the header and walks the entry table through `map`, touching each
 * name. 0, 1 when out of memory, 2 on a malformed archive. */
static int parse_archive(const char *path, const uint8_t *map, uint64_t file_size,
                         entry_table *out) {
    if (file_size < IRPA_HEADER_SIZE || irpa_le32(map + IRPA_HEADER_AT(magic)) != IRPA_MAGIC ||
        irpa_le64(map + IRPA_HEADER_AT(header_size)) != IRPA_HEADER_SIZE) {
        fprintf(stderr, "iree_read: %s: not an IRPA v0 archive\n", path);
        return 2;
    }
    uint64_t entry_count = irpa_le64(map + IRPA_HEADER_AT(entry_count));
    uint64_t entries_offset = irpa_le64(map + IRPA_HEADER_AT(entry_segment.offset)), entries_length = irpa_le64(map + IRPA_HEADER_AT(entry_segment.length));
    uint64_t metadata_offset = irpa_le64(map + IRPA_HEADER_AT(metadata_segment.offset)), metadata_length = irpa_le64(map + IRPA_HEADER_AT(metadata_segment.length));
    uint64_t storage_offset = irpa_le64(map + IRPA_HEADER_AT(storage_segment.offset)), storage_length = irpa_le64(map + IRPA_HEADER_AT(storage_segment.length));
    if (!within(entries_offset, entries_length, file_size) ||
        !within(metadata_offset, metadata_length, file_size) ||
        !within(storage_offset, storage_length, file_size)) {
        fprintf(stderr, "iree_read: %s: a segment lies past the end of the file\n", path);
        return 2;
    }
    uint64_t position = 0;
    for (uint64_t i = 0; i < entry_count; i++) {
        const uint8_t *entry = map + entries_offset + position;
        if (!within(position, IRPA_ENTRY_HEADER_SIZE, entries_length)) goto malformed;
        uint64_t entry_size = irpa_le64(entry + IRPA_ENTRY_AT(entry_size));
        uint64_t name_offset = irpa_le64(entry + IRPA_ENTRY_AT(name.offset)), name_length = irpa_le64(entry + IRPA_ENTRY_AT(name.length));
        if (entry_size < IRPA_ENTRY_HEADER_SIZE || !within(position, entry_size, entries_length) ||
            !within(name_offset, name_length, metadata_length))
            goto malformed;
        for (uint64_t k = 0; k < name_length; k++)
            out->name_sum += map[metadata_offset + name_offset + k];
        if (irpa_le32(entry + IRPA_ENTRY_AT(type)) == IRPA_ENTRY_DATA) {
            if (entry_size < IRPA_DATA_ENTRY_SIZE) goto malformed;
            uint64_t data_offset = irpa_le64(entry + IRPA_DATA_AT(storage.offset)), data_length = irpa_le64(entry + IRPA_DATA_AT(storage.length));
            if (!within(data_offset, data_length, storage_length)) goto malformed;
            if (add_data(out, storage_offset + data_offset, data_length) != 0) {
                fprintf(stderr, "iree_read: out of memory\n");
                return 1;
            }
        }
        out->entries++;
        position += (entry_size + 15) & ~(uint64_t)15;
    }
    return 0;
malformed:
    fprintf(stderr, "iree_read: %s: malformed entry table\n", path);
    return 2;
}

/* Reads every data entry of `table` into `buffer` (of table->largest bytes):
 * with pread from `fd` when `map` is NULL, else by copying out of `map`.
 * 0, or 1 on an I/O error. */
static int read_entries(const char *path, int fd, const uint8_t *map, const entry_table *table,
                        uint8_t *buffer) {
    volatile uint8_t sink = 0;  /* keeps the copies from being optimised out */
    for (uint64_t i = 0; i < table->data_count; i++) {
        range data = table->data[i];
        if (data.length == 0) continue;
        if (map) {
            memcpy(buffer, map + data.offset, data.length);
        } else if (read_fully(fd, buffer, data.length, data.offset) != 0) {
            fprintf(stderr, "iree_read: %s: pread at %llu: %s\n", path,
                    (unsigned long long)data.offset,
                    errno ? strerror(errno) : "unexpected end of file");
            return 1;
        }
        sink ^= buffer[0] ^ buffer[data.length - 1];
    }
    (void)sink;
    return 0;
}

/* Maps, parses and reads the open file `fd` in `mode`. 0, 1 or 2 as main. */
static int load_archive(const char *path, int fd, read_mode mode, entry_table *table) {
    struct stat info;
    if (fstat(fd, &info) != 0) {
        fprintf(stderr, "iree_read: %s: %s\n", path, strerror(errno));
        return 1;
    }
    uint64_t file_size = (uint64_t)info.st_size;
    int flags = mode == mode_mmap ? MAP_PRIVATE : MAP_SHARED;
    uint8_t *map = file_size ? mmap(NULL, file_size, PROT_READ, flags, fd, 0) : NULL;
    if (map == MAP_FAILED || !map) {
        fprintf(stderr, "iree_read: %s: mmap: %s\n", path, map ? strerror(errno) : "empty file");
        return 1;
    }
    madvise(map, file_size, MADV_DONTDUMP);
    int status = parse_archive(path, map, file_size, table);
    if (mode == mode_file) {  /* IREE unmaps once the index is built */
        munmap(map, file_size);
        map = NULL;
    }
    uint8_t *buffer = NULL;
    if (status == 0 && table->largest > 0 && !(buffer = malloc(table->largest))) {
        fprintf(stderr, "iree_read: out of memory\n");
        status = 1;
    }
    if (status == 0) status = read_entries(path, fd, map, table, buffer);
    free(buffer);
    if (map) munmap(map, file_size);
    return status;
}

int main(int argc, char **argv) {
    read_mode mode = mode_file;
    if (argc == 3 && strcmp(argv[1], "mmap") == 0) mode = mode_mmap;
    if (argc != 3 || (mode == mode_file && strcmp(argv[1], "file") != 0)) {
        fprintf(stderr, "usage: iree_read mmap|file FILE.irpa\n");
        return 2;
    }
    const char *path = argv[2];
    uint64_t start = now_ns();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "iree_read: %s: %s\n", path, strerror(errno));
        return 1;
    }
    entry_table table = {0};
    int status = load_archive(path, fd, mode, &table);
    close(fd);
    uint64_t elapsed = now_ns() - start;
    uint64_t data_bytes = 0;
    for (uint64_t i = 0; i < table.data_count; i++) data_bytes += table.data[i].length;
    free(table.data);
    if (status == 0)
        printf("%llu %llu %llu\n", (unsigned long long)table.entries,
               (unsigned long long)data_bytes, (unsigned long long)elapsed);
    return status;
}
