/* stress: the endurance driver. Reader threads open the archives of a
 * mount, read them at random (pread and mmap) and close them, while one
 * thread changes, removes and adds manifests and replaces a source by
 * rename, and another lists the directory. Every byte read is compared
 * with the `irpa build` output of the version the open file is.
 *
 *   stress WORK NAMES VERSIONS GENERATIONS SECONDS THREADS SEED
 *
 * WORK holds (made by endurance.sh):
 *   versions/k<K>_v<V>.yaml   manifest text of version V of archive k<K>.irpa
 *   manifests/                the directory served (k<K>.yaml live)
 *   src/shared.bin            the source replaced by rename, between
 *   src/shared.g<G>.bin       its generations (contents)
 *   expected/k<K>_v<V>_g<G>.irpa  `irpa build` of version V with generation G
 *   mnt/                      the mount
 *
 * An open file is one version: which one is found from its size and first
 * 4096 bytes, narrowed by every later read (versions that do not use the
 * replaced source are the same bytes for every generation). At the end the
 * manifests are put back to version 0 and the source to generation 0.
 * Prints counts; exit 0 when every byte matched and nothing failed. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 64
#define MAX_VERSIONS 8
#define MAX_GENERATIONS 4
#define IDENTIFY_BYTES 4096     /* bytes read first to tell the version */
#define MAX_READ (256u << 10)   /* largest random read */
#define READS_PER_OPEN 24       /* random reads before closing */

typedef struct expected_file {
    uint8_t *bytes;  /* `irpa build` output */
    size_t size;     /* its length */
} expected_file;

static const char *work;
static unsigned names, versions, generations;
static expected_file expected[MAX_NAMES][MAX_VERSIONS][MAX_GENERATIONS];
static atomic_bool stopping;

/* Counters printed at the end. */
static atomic_ulong opens, absent, reads, mapped_reads, bytes_checked, failures;
static atomic_ulong changes, removals, additions, replacements, listings;
static atomic_ulong seen_version[MAX_VERSIONS];

/* Reports "FAIL: <what><detail>[: <errno text>]" and counts it. */
static void failure(const char *what, const char *detail, int error) {
    fprintf(stderr, "FAIL: %s%s%s%s\n", what, detail ? detail : "", error ? ": " : "",
            error ? strerror(error) : "");
    atomic_fetch_add(&failures, 1);
}

static uint64_t next_random(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static int load_file(const char *path, expected_file *out) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    out->size = (size_t)st.st_size;
    out->bytes = malloc(out->size ? out->size : 1);
    size_t done = 0;
    while (out->bytes && done < out->size) {
        ssize_t got = read(fd, out->bytes + done, out->size - done);
        if (got <= 0) break;
        done += (size_t)got;
    }
    close(fd);
    return out->bytes && done == out->size ? 0 : -1;
}

static char *work_path(const char *format, unsigned a, unsigned b, unsigned c) {
    char relative[256];
    snprintf(relative, sizeof relative, format, a, b, c);
    char *path = NULL;
    if (asprintf(&path, "%s/%s", work, relative) < 0) return NULL;
    return path;
}

/* Writes `bytes` to a hidden file beside `target` and renames it over. */
static int replace_file(const char *target, const uint8_t *bytes, size_t size) {
    char *temporary = NULL;
    const char *slash = strrchr(target, '/');
    if (asprintf(&temporary, "%.*s/.%s.tmp", (int)(slash - target), target, slash + 1) < 0)
        return -1;
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t done = 0;
    while (fd >= 0 && done < size) {
        ssize_t wrote = write(fd, bytes + done, size - done);
        if (wrote <= 0) break;
        done += (size_t)wrote;
    }
    int status = fd >= 0 && done == size && close(fd) == 0 ? rename(temporary, target) : -1;
    if (status != 0) unlink(temporary);
    free(temporary);
    return status;
}

/* ---- readers ------------------------------------------------------------ */

/* The versions an open file can still be: bit (v * MAX_GENERATIONS + g). */
typedef uint64_t candidates;

static candidates identify(unsigned k, const uint8_t *first, size_t first_length, size_t size) {
    candidates possible = 0;
    for (unsigned v = 0; v < versions; v++)
        for (unsigned g = 0; g < generations; g++) {
            const expected_file *file = &expected[k][v][g];
            if (file->size == size && memcmp(file->bytes, first, first_length) == 0)
                possible |= 1ull << (v * MAX_GENERATIONS + g);
        }
    return possible;
}

static candidates narrow(unsigned k, candidates possible, const uint8_t *bytes, size_t offset,
                         size_t length) {
    candidates left = 0;
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(possible & (1ull << bit))) continue;
        const expected_file *file = &expected[k][bit / MAX_GENERATIONS][bit % MAX_GENERATIONS];
        if (memcmp(file->bytes + offset, bytes, length) == 0) left |= 1ull << bit;
    }
    return left;
}

static int first_version(candidates possible) {
    for (unsigned bit = 0; bit < 64; bit++)
        if (possible & (1ull << bit)) return (int)(bit / MAX_GENERATIONS);
    return -1;
}

/* One random read of the open file (pread or mmap); narrows `possible`. */
static candidates random_read(int fd, unsigned k, size_t size, candidates possible,
                              uint8_t *buffer, uint64_t *state, const char *path) {
    size_t offset = (size_t)(next_random(state) % size);
    size_t length = 1 + (size_t)(next_random(state) % MAX_READ);
    if (length > size - offset) length = size - offset;
    if (next_random(state) % 8 == 0) {
        uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            failure("mmap ", path, errno);
            return 0;
        }
        possible = narrow(k, possible, map + offset, offset, length);
        munmap(map, size);
        atomic_fetch_add(&mapped_reads, 1);
    } else {
        size_t done = 0;
        while (done < length) {
            ssize_t got = pread(fd, buffer + done, length - done, (off_t)(offset + done));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                failure("read ", path, got < 0 ? errno : 0);
                return 0;
            }
            done += (size_t)got;
        }
        possible = narrow(k, possible, buffer, offset, length);
    }
    atomic_fetch_add(&reads, 1);
    atomic_fetch_add(&bytes_checked, length);
    return possible;
}

static void check_one_open(unsigned k, uint8_t *buffer, uint64_t *state) {
    char path[4096];
    snprintf(path, sizeof path, "%s/mnt/k%u.irpa", work, k);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        if (errno == ENOENT) atomic_fetch_add(&absent, 1);
        else failure("open ", path, errno);
        return;
    }
    atomic_fetch_add(&opens, 1);
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < IDENTIFY_BYTES) {
        failure("fstat or size below 4096: ", path, errno);
        close(fd);
        return;
    }
    size_t size = (size_t)st.st_size;
    /* Half the opens drop the file's cached pages first, so their reads
     * reach the server rather than the page cache. */
    if (next_random(state) % 2 == 0) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ssize_t got = pread(fd, buffer, IDENTIFY_BYTES, 0);
    if (got != IDENTIFY_BYTES) {
        failure("read of the first 4096 bytes of ", path, got < 0 ? errno : 0);
        close(fd);
        return;
    }
    candidates possible = identify(k, buffer, IDENTIFY_BYTES, size);
    for (unsigned i = 0; possible && i < READS_PER_OPEN && !atomic_load(&stopping); i++)
        possible = random_read(fd, k, size, possible, buffer, state, path);
    if (!possible) {
        char detail[4200];
        snprintf(detail, sizeof detail, "%s (%zu bytes): bytes match no built version", path, size);
        failure("", detail, 0);
    } else {
        atomic_fetch_add(&seen_version[first_version(possible)], 1);
    }
    if (close(fd) != 0) failure("close ", path, errno);
}

static void *reader(void *argument) {
    uint64_t state = (uint64_t)(uintptr_t)argument * 0x9e3779b97f4a7c15ull + 1;
    uint8_t *buffer = malloc(MAX_READ > IDENTIFY_BYTES ? MAX_READ : IDENTIFY_BYTES);
    if (!buffer) {
        failure("out of memory", NULL, 0);
        return NULL;
    }
    while (!atomic_load(&stopping)) check_one_open((unsigned)(next_random(&state) % names), buffer, &state);
    free(buffer);
    return NULL;
}

/* ---- the directory lister ---------------------------------------------- */

static void *lister(void *argument) {
    (void)argument;
    char *mount = work_path("mnt", 0, 0, 0);
    while (mount && !atomic_load(&stopping)) {
        DIR *dir = opendir(mount);
        if (!dir) {
            failure("opendir ", mount, errno);
            break;
        }
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            struct stat st;
            if (entry->d_name[0] != '.' && fstatat(dirfd(dir), entry->d_name, &st, 0) != 0 &&
                errno != ENOENT)
                failure("stat ", entry->d_name, errno);
        }
        closedir(dir);
        atomic_fetch_add(&listings, 1);
        usleep(50 * 1000);
    }
    free(mount);
    return NULL;
}

/* ---- churn ------------------------------------------------------------- */

static expected_file version_text[MAX_NAMES][MAX_VERSIONS];
static expected_file generation_bytes[MAX_GENERATIONS];

static int put_manifest(unsigned k, unsigned v) {
    char *target = work_path("manifests/k%u.yaml", k, 0, 0);
    int status = target ? replace_file(target, version_text[k][v].bytes, version_text[k][v].size) : -1;
    if (status != 0) failure("cannot write manifest ", target, errno);
    free(target);
    return status;
}

static int put_generation(unsigned g) {
    char *target = work_path("src/shared.bin", 0, 0, 0);
    int status =
        target ? replace_file(target, generation_bytes[g].bytes, generation_bytes[g].size) : -1;
    if (status != 0) failure("cannot replace ", target, errno);
    free(target);
    return status;
}

/* One change: a source replacement (1 in 10), a removal (3 in 20, of a
 * present manifest) or a manifest written at a random version. */
static void churn_once(uint64_t *state, bool *present, unsigned *generation) {
    unsigned k = (unsigned)(next_random(state) % names);
    unsigned action = (unsigned)(next_random(state) % 20);
    if (action < 2) {
        *generation = (*generation + 1) % generations;
        if (put_generation(*generation) == 0) atomic_fetch_add(&replacements, 1);
    } else if (action < 5 && present[k]) {
        char *path = work_path("manifests/k%u.yaml", k, 0, 0);
        if (path && unlink(path) == 0) {
            present[k] = false;
            atomic_fetch_add(&removals, 1);
        }
        free(path);
    } else {
        unsigned v = (unsigned)(next_random(state) % versions);
        if (put_manifest(k, v) == 0) {
            atomic_fetch_add(present[k] ? &changes : &additions, 1);
            present[k] = true;
        }
    }
}

/* ---- main -------------------------------------------------------------- */

static int load_everything(void) {
    for (unsigned k = 0; k < names; k++)
        for (unsigned v = 0; v < versions; v++) {
            char *text = work_path("versions/k%u_v%u.yaml", k, v, 0);
            if (!text || load_file(text, &version_text[k][v]) != 0) {
                failure("cannot read ", text, errno);
                free(text);
                return -1;
            }
            free(text);
            for (unsigned g = 0; g < generations; g++) {
                char *built = work_path("expected/k%u_v%u_g%u.irpa", k, v, g);
                if (!built || load_file(built, &expected[k][v][g]) != 0) {
                    failure("cannot read ", built, errno);
                    free(built);
                    return -1;
                }
                free(built);
            }
        }
    for (unsigned g = 0; g < generations; g++) {
        char *path = work_path("src/shared.g%u.bin", g, 0, 0);
        int status = path ? load_file(path, &generation_bytes[g]) : -1;
        if (status != 0) failure("cannot read ", path, errno);
        free(path);
        if (status != 0) return -1;
    }
    return 0;
}

static void free_everything(void) {
    for (unsigned k = 0; k < names; k++)
        for (unsigned v = 0; v < versions; v++) {
            free(version_text[k][v].bytes);
            for (unsigned g = 0; g < generations; g++) free(expected[k][v][g].bytes);
        }
    for (unsigned g = 0; g < generations; g++) free(generation_bytes[g].bytes);
}

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: stress WORK NAMES VERSIONS GENERATIONS SECONDS THREADS SEED\n");
        return 2;
    }
    work = argv[1];
    names = (unsigned)atoi(argv[2]);
    versions = (unsigned)atoi(argv[3]);
    generations = (unsigned)atoi(argv[4]);
    double seconds = atof(argv[5]);
    unsigned threads = (unsigned)atoi(argv[6]);
    uint64_t state = (uint64_t)strtoull(argv[7], NULL, 10) | 1;
    if (names == 0 || names > MAX_NAMES || versions == 0 || versions > MAX_VERSIONS ||
        generations == 0 || generations > MAX_GENERATIONS || threads == 0 || threads > 256) {
        fprintf(stderr, "stress: NAMES 1..%d, VERSIONS 1..%d, GENERATIONS 1..%d, THREADS 1..256\n",
                MAX_NAMES, MAX_VERSIONS, MAX_GENERATIONS);
        return 2;
    }
    if (load_everything() != 0) {
        free_everything();
        return 1;
    }
    /* The manifests start (and end) at version 0, the source at generation 0. */
    bool present[MAX_NAMES];
    for (unsigned k = 0; k < names; k++) present[k] = true;
    unsigned generation = 0;

    pthread_t workers[257];
    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&workers[started], NULL, reader, (void *)(uintptr_t)(started + state)) != 0)
            break;
    pthread_t listing_thread;
    bool listing_started = pthread_create(&listing_thread, NULL, lister, NULL) == 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (seconds_since(&start) < seconds && atomic_load(&failures) == 0) {
        churn_once(&state, present, &generation);
        usleep((useconds_t)(10000 + next_random(&state) % 40000));  /* 10-50 ms */
    }
    atomic_store(&stopping, true);
    for (unsigned i = 0; i < started; i++) pthread_join(workers[i], NULL);
    if (listing_started) pthread_join(listing_thread, NULL);
    if (started < threads) failure("could not start every reader thread", NULL, 0);

    /* Back to the starting state, for the caller's leak counts: every
     * manifest rewritten, so none keeps a version loaded from generation 1. */
    if (generation != 0) put_generation(0);
    for (unsigned k = 0; k < names; k++) put_manifest(k, 0);

    printf("stress: %.1f s, %u readers: %lu opens (%lu absent), %lu reads (%lu through mmap), "
           "%.1f MiB checked; %lu changes, %lu removals, %lu additions, %lu source replacements, "
           "%lu listings; opens per version:",
           seconds_since(&start), threads, atomic_load(&opens), atomic_load(&absent),
           atomic_load(&reads), atomic_load(&mapped_reads),
           (double)atomic_load(&bytes_checked) / (1 << 20), atomic_load(&changes),
           atomic_load(&removals), atomic_load(&additions), atomic_load(&replacements),
           atomic_load(&listings));
    for (unsigned v = 0; v < versions; v++) printf(" v%u=%lu", v, atomic_load(&seen_version[v]));
    printf("; failures %lu\n", atomic_load(&failures));
    free_everything();
    return atomic_load(&failures) == 0 ? 0 : 1;
}
