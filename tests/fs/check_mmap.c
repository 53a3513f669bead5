/* check_mmap: maps a file MAP_SHARED, PROT_READ, as IREE maps a parameter
 * archive, and checks every byte against an expected file read with read(2).
 *
 *   check_mmap MAPPED EXPECTED
 *
 * Walks the mapping front to back and then back to front in page steps (so
 * both sequential and reverse faults reach the server), and compares
 * everything. Exit 0 when identical, 1 otherwise. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint8_t *read_whole(const char *path, size_t *size) {
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        if (fd >= 0) close(fd);
        return NULL;
    }
    *size = (size_t)st.st_size;
    uint8_t *bytes = malloc(*size ? *size : 1);
    size_t done = 0;
    while (bytes && done < *size) {
        ssize_t got = read(fd, bytes + done, *size - done);
        if (got <= 0) {
            perror(path);
            free(bytes);
            bytes = NULL;
            break;
        }
        done += (size_t)got;
    }
    close(fd);
    return bytes;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: check_mmap MAPPED EXPECTED\n");
        return 2;
    }
    size_t expected_size = 0;
    uint8_t *expected = read_whole(argv[2], &expected_size);
    if (!expected) return 1;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    if ((size_t)st.st_size != expected_size) {
        fprintf(stderr, "%s: %lld bytes, expected %zu\n", argv[1], (long long)st.st_size,
                expected_size);
        return 1;
    }
    if (expected_size == 0) return 0;
    const uint8_t *mapped = mmap(NULL, expected_size, PROT_READ, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    long page = sysconf(_SC_PAGESIZE);
    uint64_t sum = 0;
    for (size_t at = 0; at < expected_size; at += (size_t)page) sum += mapped[at];
    for (size_t at = expected_size; at-- > 0;) {
        if (at % (size_t)page == 0) sum += mapped[at];
    }
    int status = 0;
    if (memcmp(mapped, expected, expected_size) != 0) {
        size_t at = 0;
        while (mapped[at] == expected[at]) at++;
        fprintf(stderr, "%s: byte %zu is 0x%02x, expected 0x%02x\n", argv[1], at, mapped[at],
                expected[at]);
        status = 1;
    }
    munmap((void *)mapped, expected_size);
    close(fd);
    free(expected);
    if (status == 0) printf("ok: %zu bytes mapped and identical (page sum %llu)\n", expected_size,
                            (unsigned long long)sum);
    return status;
}
