/* pagecache: drops or measures the page cache of files, for the benchmark.
 *
 *   pagecache evict FILE...      posix_fadvise(DONTNEED) over each whole file
 *   pagecache resident FILE...   prints "PERCENT FILE": pages in the page cache
 *   pagecache cached FILE...     prints "BYTES FILE": bytes of its pages in the
 *                                page cache (mincore, whole pages)
 *   pagecache contiguous FILE... prints "PERCENT FILE": of the file's cached
 *                                pages, those whose physical frame directly
 *                                follows the previous page's (needs root)
 *
 * On a FUSE mount `evict` drops the mounted file's pages only (the kernel's
 * copy of what the server sent), never the server's sources: the benchmark
 * uses it to read through the server with its sources still cached.
 *
 * `contiguous` explains the re-read case: copying a file out of the page
 * cache is up to twice as fast when its pages sit in physically consecutive
 * frames, and which frames a file gets is the page allocator's draw at the
 * time it was read, not the file system's doing. */
#include <stdint.h>
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

/* Pages of `path` in the page cache, and its size in pages. 0, or -1 after
 * saying why. */
static int count_resident(const char *path, size_t *resident_pages, size_t *pages) {
    int fd = open(path, O_RDONLY);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0) {
        fprintf(stderr, "pagecache: %s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
    *pages = ((size_t)info.st_size + page_size - 1) / page_size;
    *resident_pages = 0;
    if (*pages == 0) {
        close(fd);
        return 0;
    }
    void *map = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    unsigned char *vector = malloc(*pages);
    int status = -1;
    if (map != MAP_FAILED && vector && mincore(map, (size_t)info.st_size, vector) == 0) {
        for (size_t i = 0; i < *pages; i++) *resident_pages += vector[i] & 1;
        status = 0;
    } else {
        fprintf(stderr, "pagecache: %s: mmap/mincore: %s\n", path, strerror(errno));
    }
    free(vector);
    if (map != MAP_FAILED) munmap(map, (size_t)info.st_size);
    return status;
}

static int print_resident(const char *path) {
    size_t resident_pages, pages;
    if (count_resident(path, &resident_pages, &pages) != 0) return -1;
    printf("%.1f %s\n", pages ? 100.0 * (double)resident_pages / (double)pages : 100.0, path);
    return 0;
}

static int print_cached_bytes(const char *path) {
    size_t resident_pages, pages;
    if (count_resident(path, &resident_pages, &pages) != 0) return -1;
    unsigned long long page_size = (unsigned long long)sysconf(_SC_PAGESIZE);
    printf("%llu %s\n", (unsigned long long)resident_pages * page_size, path);
    return 0;
}

/* Physical frame of the page mapped at `address`, 0 when not present. */
static uint64_t frame_of(int pagemap, const void *address, size_t page_size) {
    uint64_t entry = 0;
    off_t position = (off_t)((uintptr_t)address / page_size * sizeof entry);
    if (pread(pagemap, &entry, sizeof entry, position) != (ssize_t)sizeof entry) return 0;
    if (!(entry & (UINT64_C(1) << 63))) return 0;  /* not present */
    return entry & ((UINT64_C(1) << 55) - 1);
}

static int print_contiguous(const char *path) {
    int fd = open(path, O_RDONLY);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0 || info.st_size == 0) {
        fprintf(stderr, "pagecache: %s: %s\n", path, fd < 0 ? strerror(errno) : "empty or fstat failed");
        if (fd >= 0) close(fd);
        return -1;
    }
    size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = ((size_t)info.st_size + page_size - 1) / page_size;
    /* MAP_POPULATE faults every page in (reading any that is not cached):
     * callers read the whole file first, so this maps what that read left. */
    const uint8_t *map = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd);
    int pagemap = open("/proc/self/pagemap", O_RDONLY);
    if (map == MAP_FAILED || pagemap < 0) {
        fprintf(stderr, "pagecache: %s: mmap or /proc/self/pagemap: %s\n", path, strerror(errno));
        if (map != MAP_FAILED) munmap((void *)map, (size_t)info.st_size);
        if (pagemap >= 0) close(pagemap);
        return -1;
    }
    size_t present = 0, following = 0;
    uint64_t previous = 0;
    for (size_t i = 0; i < pages; i++) {
        uint64_t frame = frame_of(pagemap, map + i * page_size, page_size);
        if (frame != 0) {
            present++;
            if (previous != 0 && frame == previous + 1) following++;
        }
        previous = frame;
    }
    close(pagemap);
    munmap((void *)map, (size_t)info.st_size);
    if (present == 0) {
        fprintf(stderr, "pagecache: %s: no physical frames visible (not root?)\n", path);
        return -1;
    }
    printf("%.1f %s\n", 100.0 * (double)following / (double)present, path);
    return 0;
}

int main(int argc, char **argv) {
    int (*action)(const char *) = NULL;
    if (argc >= 3 && strcmp(argv[1], "evict") == 0) action = evict;
    if (argc >= 3 && strcmp(argv[1], "resident") == 0) action = print_resident;
    if (argc >= 3 && strcmp(argv[1], "cached") == 0) action = print_cached_bytes;
    if (argc >= 3 && strcmp(argv[1], "contiguous") == 0) action = print_contiguous;
    if (!action) {
        fprintf(stderr, "usage: pagecache evict|resident|cached|contiguous FILE...\n");
        return 2;
    }
    int status = 0;
    for (int i = 2; i < argc; i++)
        if (action(argv[i]) != 0) status = 1;
    return status;
}
