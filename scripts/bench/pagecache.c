/* pagecache: drops or measures the page cache of files, for the benchmark.
 *
 *   pagecache evict FILE...      posix_fadvise(DONTNEED) over each whole file
 *   pagecache resident FILE...   prints "PERCENT FILE": pages in the page cache
 *
 * On a FUSE mount `evict` drops the mounted file's pages only (the kernel's
 * copy of what the server sent), never the server's sources: the benchmark
 * uses it to read through the server with its sources still cached. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int evict(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "pagecache: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int status = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    if (status != 0) {
        fprintf(stderr, "pagecache: %s: posix_fadvise: %s\n", path, strerror(status));
        return -1;
    }
    return 0;
}

static int print_resident(const char *path) {
    int fd = open(path, O_RDONLY);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0) {
        fprintf(stderr, "pagecache: %s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = ((size_t)info.st_size + page_size - 1) / page_size;
    if (pages == 0) {
        printf("100.0 %s\n", path);
        close(fd);
        return 0;
    }
    void *map = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    unsigned char *vector = malloc(pages);
    int status = -1;
    if (map != MAP_FAILED && vector && mincore(map, (size_t)info.st_size, vector) == 0) {
        size_t resident_pages = 0;
        for (size_t i = 0; i < pages; i++) resident_pages += vector[i] & 1;
        printf("%.1f %s\n", 100.0 * (double)resident_pages / (double)pages, path);
        status = 0;
    } else {
        fprintf(stderr, "pagecache: %s: mmap/mincore: %s\n", path, strerror(errno));
    }
    free(vector);
    if (map != MAP_FAILED) munmap(map, (size_t)info.st_size);
    return status;
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "evict") != 0 && strcmp(argv[1], "resident") != 0)) {
        fprintf(stderr, "usage: pagecache evict|resident FILE...\n");
        return 2;
    }
    int (*action)(const char *) = strcmp(argv[1], "evict") == 0 ? evict : print_resident;
    int status = 0;
    for (int i = 2; i < argc; i++)
        if (action(argv[i]) != 0) status = 1;
    return status;
}
