/* reload_reads: while a manifest is being replaced again and again, THREADS
 * threads keep opening FILE and reading all of it (in random piece sizes,
 * sometimes through a MAP_SHARED mapping), and check that each open saw
 * one whole version: exactly EXPECTED_A or exactly EXPECTED_B (told apart
 * by size), never a mix, never an error.
 *
 *   reload_reads FILE EXPECTED_A EXPECTED_B [THREADS [ITERATIONS]]
 *
 * Prints how many opens saw each version. Exit 0 when all were whole. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct version {
    uint8_t *bytes;  /* expected content */
    size_t size;     /* bytes */
} version;

static const char *path;
static version versions[2];
static unsigned iterations = 200;
static atomic_uint seen[2];
static atomic_uint failures;

static int load(const char *file, version *out) {
    FILE *in = fopen(file, "rb");
    if (!in) return -1;
    fseek(in, 0, SEEK_END);
    long length = ftell(in);
    fseek(in, 0, SEEK_SET);
    out->bytes = malloc(length > 0 ? (size_t)length : 1);
    out->size = (size_t)length;
    size_t got = out->bytes ? fread(out->bytes, 1, out->size, in) : 0;
    fclose(in);
    return got == out->size ? 0 : -1;
}

static uint64_t next_random(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void failed(const char *what, int error) {
    fprintf(stderr, "%s: %s\n", what, error ? strerror(error) : "bytes differ");
    atomic_fetch_add(&failures, 1);
}

/* Reads the whole open file and compares it with the version of its size. */
static void check_open_file(int fd, uint64_t *state, uint8_t *buffer) {
    struct stat st;
    if (fstat(fd, &st) != 0) return failed("fstat", errno);
    int which = (size_t)st.st_size == versions[0].size ? 0
                : (size_t)st.st_size == versions[1].size ? 1 : -1;
    if (which < 0) return failed("size matches neither version", 0);
    const version *expected = &versions[which];
    if ((next_random(state) & 3) == 0) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        void *mapped = mmap(NULL, expected->size, PROT_READ, MAP_SHARED, fd, 0);
        if (mapped == MAP_FAILED) return failed("mmap", errno);
        if (memcmp(mapped, expected->bytes, expected->size) != 0) failed("mapped version", 0);
        munmap(mapped, expected->size);
    } else {
        size_t at = 0;
        while (at < expected->size) {
            size_t piece = (size_t)(next_random(state) % (256 * 1024)) + 1;
            ssize_t got = pread(fd, buffer, piece, (off_t)at);
            if (got <= 0) return failed("pread", got < 0 ? errno : EIO);
            if (memcmp(buffer, expected->bytes + at, (size_t)got) != 0)
                return failed("read version", 0);
            at += (size_t)got;
        }
    }
    atomic_fetch_add(&seen[which], 1);
}

static void *run(void *argument) {
    uint64_t state = (uint64_t)(uintptr_t)argument * 0x9e3779b97f4a7c15ull + 1;
    uint8_t *buffer = malloc(256 * 1024);
    for (unsigned i = 0; buffer && i < iterations && atomic_load(&failures) < 5; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            failed("open", errno);
            continue;
        }
        check_open_file(fd, &state, buffer);
        close(fd);
    }
    free(buffer);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: reload_reads FILE EXPECTED_A EXPECTED_B [THREADS [ITERATIONS]]\n");
        return 2;
    }
    path = argv[1];
    unsigned threads = argc > 4 ? (unsigned)atoi(argv[4]) : 4;
    if (argc > 5) iterations = (unsigned)atoi(argv[5]);
    if (load(argv[2], &versions[0]) != 0 || load(argv[3], &versions[1]) != 0 ||
        versions[0].size == versions[1].size || threads == 0 || threads > 64) {
        fprintf(stderr, "cannot load two versions of different sizes\n");
        return 2;
    }
    pthread_t ids[64];
    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&ids[i], NULL, run, (void *)(uintptr_t)(i + 1)) != 0) return 1;
    for (unsigned i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    free(versions[0].bytes);
    free(versions[1].bytes);
    printf("opens: %u saw A, %u saw B, %u failures\n", atomic_load(&seen[0]),
           atomic_load(&seen[1]), atomic_load(&failures));
    return atomic_load(&failures) ? 1 : 0;
}
