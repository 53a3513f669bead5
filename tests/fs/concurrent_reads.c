/* concurrent_reads: THREADS threads read a file at random offsets and
 * sizes (pread) for a bounded number of iterations each and check every
 * byte against an expected file held in memory. Now and then a thread drops
 * the file's pages from the page cache (posix_fadvise DONTNEED) so that
 * reads keep reaching the server.
 *
 *   concurrent_reads FILE EXPECTED [THREADS [ITERATIONS [SEED]]]
 *
 * Exit 0 when every read returned exactly the expected bytes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct shared {
    const char *path;        /* file under test */
    const uint8_t *expected; /* its expected bytes */
    size_t size;             /* bytes in expected */
    unsigned iterations;     /* reads per thread */
} shared;

typedef struct worker {
    const shared *common;
    uint64_t seed;           /* xorshift state */
    unsigned failures;       /* mismatches or errors seen */
    uint64_t bytes;          /* bytes checked */
    pthread_t thread;
} worker;

static uint64_t next_random(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void *run(void *argument) {
    worker *self = argument;
    const shared *common = self->common;
    int fd = open(common->path, O_RDONLY);
    if (fd < 0) {
        perror(common->path);
        self->failures++;
        return NULL;
    }
    size_t capacity = 4u << 20;
    uint8_t *buffer = malloc(capacity);
    for (unsigned i = 0; buffer && i < common->iterations && self->failures < 5; i++) {
        uint64_t r = next_random(&self->seed);
        /* sizes: mostly small, some up to 4 MiB; offsets anywhere, some past the end */
        size_t size = (r & 3) == 0 ? (size_t)(next_random(&self->seed) % capacity) + 1
                                   : (size_t)(next_random(&self->seed) % 65536) + 1;
        off_t offset = (off_t)(next_random(&self->seed) % (common->size + 8192));
        if ((r & 0x3f) == 1) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ssize_t got = pread(fd, buffer, size, offset);
        size_t want = (size_t)offset >= common->size ? 0
                      : (common->size - (size_t)offset < size ? common->size - (size_t)offset : size);
        if (got < 0) {
            fprintf(stderr, "pread(%zu at %lld): %s\n", size, (long long)offset, strerror(errno));
            self->failures++;
            continue;
        }
        if ((size_t)got != want || memcmp(buffer, common->expected + (want ? offset : 0), want) != 0) {
            fprintf(stderr, "read of %zu at %lld: got %zd bytes, expected %zu, or bytes differ\n",
                    size, (long long)offset, got, want);
            self->failures++;
        }
        self->bytes += (uint64_t)got;
    }
    free(buffer);
    close(fd);
    return NULL;
}

static uint8_t *read_whole(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    uint8_t *bytes = length >= 0 ? malloc((size_t)length + 1) : NULL;
    if (bytes && fread(bytes, 1, (size_t)length, file) != (size_t)length) {
        free(bytes);
        bytes = NULL;
    }
    fclose(file);
    *size = (size_t)length;
    return bytes;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: concurrent_reads FILE EXPECTED [THREADS [ITERATIONS [SEED]]]\n");
        return 2;
    }
    shared common = {.path = argv[1], .iterations = argc > 4 ? (unsigned)atoi(argv[4]) : 2000};
    unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : 8;
    uint64_t seed = argc > 5 ? strtoull(argv[5], NULL, 0) : 0x9e3779b97f4a7c15ull;
    uint8_t *expected = read_whole(argv[2], &common.size);
    if (!expected || threads == 0 || threads > 64) {
        fprintf(stderr, "cannot read %s (or bad thread count)\n", argv[2]);
        return 2;
    }
    common.expected = expected;
    worker workers[64];
    memset(workers, 0, sizeof workers);
    for (unsigned i = 0; i < threads; i++) {
        workers[i].common = &common;
        workers[i].seed = seed + 0x632be59bd9b4e019ull * (i + 1);
        if (pthread_create(&workers[i].thread, NULL, run, &workers[i]) != 0) return 1;
    }
    unsigned failures = 0;
    uint64_t bytes = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(workers[i].thread, NULL);
        failures += workers[i].failures;
        bytes += workers[i].bytes;
    }
    free(expected);
    if (failures) {
        fprintf(stderr, "%u failed reads\n", failures);
        return 1;
    }
    printf("ok: %u threads x %u reads, %llu bytes checked\n", threads, common.iterations,
           (unsigned long long)bytes);
    return 0;
}
