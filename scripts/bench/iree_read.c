/* iree_read: reads an .irpa file the way IREE's runtime loads parameters.
 *
 *   iree_read FILE.irpa
 *
 * Opens the file, maps all of it (PROT_READ, MAP_SHARED, as IREE's file
 * handle does), parses the 88-byte header and walks the entry table through
 * the mapping, touching each entry's name in the metadata segment, then
 * preads every data entry's bytes in entry order, each in one call (looping
 * on short reads) into one reused buffer. Prints
 *   "ENTRIES DATA_BYTES NANOSECONDS"
 * where the time covers everything from open to close. Exit status 1 on an
 * I/O error, 2 on a file that is not a well-formed archive. */
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

enum {
    header_bytes = 88,
    entry_common_bytes = 60,
    data_entry_bytes = 76,
    entry_type_data = 2,
};

static uint64_t read_u64(const uint8_t *bytes) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--) value = value << 8 | bytes[i];
    return value;
}

static uint32_t read_u32(const uint8_t *bytes) {
    return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
           (uint32_t)bytes[3] << 24;
}

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

typedef struct totals {
    uint64_t entries;     /* entries walked */
    uint64_t data_bytes;  /* bytes preaded */
    unsigned name_sum;    /* sum of name bytes, so that touching them is not optimised out */
} totals;

/* Walks the entry table in `map` and preads each data entry. 0, 1 on I/O
 * error, 2 on a malformed archive. */
static int read_archive(const char *path, int fd, const uint8_t *map, uint64_t file_size,
                        totals *out) {
    if (file_size < header_bytes || read_u32(map) != 0x41505249u ||
        read_u64(map + 8) != header_bytes) {
        fprintf(stderr, "iree_read: %s: not an IRPA v0 archive\n", path);
        return 2;
    }
    uint64_t entry_count = read_u64(map + 32);
    uint64_t entries_offset = read_u64(map + 40), entries_length = read_u64(map + 48);
    uint64_t metadata_offset = read_u64(map + 56), metadata_length = read_u64(map + 64);
    uint64_t storage_offset = read_u64(map + 72), storage_length = read_u64(map + 80);
    if (!within(entries_offset, entries_length, file_size) ||
        !within(metadata_offset, metadata_length, file_size) ||
        !within(storage_offset, storage_length, file_size)) {
        fprintf(stderr, "iree_read: %s: a segment lies past the end of the file\n", path);
        return 2;
    }
    uint8_t *buffer = NULL;
    uint64_t buffer_size = 0;
    uint64_t position = 0;
    int status = 0;
    for (uint64_t i = 0; i < entry_count && status == 0; i++) {
        const uint8_t *entry = map + entries_offset + position;
        if (!within(position, entry_common_bytes, entries_length)) goto malformed;
        uint64_t entry_size = read_u64(entry);
        uint64_t name_offset = read_u64(entry + 20), name_length = read_u64(entry + 28);
        if (entry_size < entry_common_bytes || !within(position, entry_size, entries_length) ||
            !within(name_offset, name_length, metadata_length))
            goto malformed;
        for (uint64_t k = 0; k < name_length; k++)
            out->name_sum += map[metadata_offset + name_offset + k];
        if (read_u32(entry + 8) == entry_type_data) {
            if (entry_size < data_entry_bytes) goto malformed;
            uint64_t data_offset = read_u64(entry + 60), data_length = read_u64(entry + 68);
            if (!within(data_offset, data_length, storage_length)) goto malformed;
            if (data_length > buffer_size) {
                free(buffer);
                buffer = malloc(data_length);
                buffer_size = buffer ? data_length : 0;
                if (!buffer) {
                    fprintf(stderr, "iree_read: out of memory\n");
                    return 1;
                }
            }
            if (read_fully(fd, buffer, data_length, storage_offset + data_offset) != 0) {
                fprintf(stderr, "iree_read: %s: pread at %llu: %s\n", path,
                        (unsigned long long)(storage_offset + data_offset),
                        errno ? strerror(errno) : "unexpected end of file");
                status = 1;
            }
            out->data_bytes += data_length;
        }
        out->entries++;
        position += (entry_size + 15) & ~(uint64_t)15;
    }
    free(buffer);
    return status;
malformed:
    fprintf(stderr, "iree_read: %s: malformed entry table\n", path);
    free(buffer);
    return 2;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: iree_read FILE.irpa\n");
        return 2;
    }
    uint64_t start = now_ns();
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0) {
        fprintf(stderr, "iree_read: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    uint64_t file_size = (uint64_t)info.st_size;
    const uint8_t *map = file_size ? mmap(NULL, file_size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
    if (map == MAP_FAILED || !map) {
        fprintf(stderr, "iree_read: %s: mmap: %s\n", argv[1], map ? strerror(errno) : "empty file");
        close(fd);
        return 1;
    }
    totals result = {0};
    int status = read_archive(argv[1], fd, map, file_size, &result);
    munmap((void *)map, file_size);
    close(fd);
    uint64_t elapsed = now_ns() - start;
    if (status == 0)
        printf("%llu %llu %llu\n", (unsigned long long)result.entries,
               (unsigned long long)result.data_bytes, (unsigned long long)elapsed);
    return status;
}
