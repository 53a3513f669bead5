/* truncate_race: a source truncated between two small reads of the mounted
 * archive, with no time in between for anything else to notice.
 *
 *   truncate_race MOUNTED_ARCHIVE SOURCE NEW_SIZE OFFSET
 *
 * Reads 4 KiB at OFFSET (page-aligned) with O_DIRECT, so that each read is
 * one request to the server; truncates SOURCE to NEW_SIZE; reads the same 4
 * KiB again at once. The first read must succeed and the second must fail
 * with EIO: a small read may trust the server's check of a moment ago, and
 * its pread must then still catch the truncation, never serve zeros. Exit
 * status 0 when it does, 1 otherwise (with a one-line reason). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 4096

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: truncate_race MOUNTED_ARCHIVE SOURCE NEW_SIZE OFFSET\n");
        return 2;
    }
    off_t new_size = (off_t)strtoll(argv[3], NULL, 10);
    off_t offset = (off_t)strtoll(argv[4], NULL, 10);
    void *buffer = NULL;
    if (posix_memalign(&buffer, BLOCK, BLOCK) != 0) return 1;
    int fd = open(argv[1], O_RDONLY | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "truncate_race: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    ssize_t got = pread(fd, buffer, BLOCK, offset);
    if (got != BLOCK) {
        fprintf(stderr, "truncate_race: first read: %zd (%s)\n", got, strerror(errno));
        return 1;
    }
    if (truncate(argv[2], new_size) != 0) {
        fprintf(stderr, "truncate_race: truncate %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    errno = 0;
    got = pread(fd, buffer, BLOCK, offset);
    if (got >= 0 || errno != EIO) {
        fprintf(stderr, "truncate_race: read after truncation: %zd bytes (%s), expected EIO\n",
                got, got < 0 ? strerror(errno) : "data");
        return 1;
    }
    close(fd);
    free(buffer);
    return 0;
}
