#include "url_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "hash.h"
#include "le.h"

#define NAME_SIZE 64
#define PART_PREFIX ".part"
/* A block file: MAGIC, the key's length (8 bytes, little-endian), the key, the bytes. */
#define MAGIC "irpacb1\n"
#define MAGIC_SIZE 8
#define PREFIX_SIZE (MAGIC_SIZE + 8)

struct irpa_url_cache {
    int directory;            /* descriptor of the cache directory */
    uint64_t limit;           /* bytes */
    _Atomic uint64_t bytes;   /* bytes held (recounted by each eviction) */
    pthread_mutex_t evicting; /* one eviction at a time */
    _Atomic unsigned long serial; /* names partial writes apart */
};

typedef struct held_block {
    struct timespec used; /* mtime: touched on each hit */
    uint64_t size;
    char name[NAME_SIZE];
} held_block;

irpa_cache_key irpa_url_cache_key(const char *url, const char *identity) {
    uint64_t first = irpa_fnv1a_add(irpa_fnv1a_string(url), "\n", 1);
    uint64_t second = irpa_fnv1a_add(irpa_fnv1a_string(identity), "\n", 1);
    first = irpa_fnv1a_add(first, identity, strlen(identity));
    second = irpa_fnv1a_add(second, url, strlen(url));
    char *text = NULL;
    if (asprintf(&text, "%s\n%s", url, identity) < 0) text = NULL;
    return (irpa_cache_key){first, second, text};
}

void irpa_url_cache_key_free(irpa_cache_key *key) {
    free(key->text);
    key->text = NULL;
}

/* Whether the block file `fd` (`file_size` bytes) holds `key` and `block_length` bytes. */
static bool holds_key(int fd, uint64_t file_size, const char *key, uint64_t block_length) {
    size_t key_length = strlen(key);
    if (file_size != PREFIX_SIZE + key_length + block_length) return false;
    uint8_t *stored = malloc(PREFIX_SIZE + key_length);
    if (!stored) return false;
    bool same = pread(fd, stored, PREFIX_SIZE + key_length, 0) ==
                    (ssize_t)(PREFIX_SIZE + key_length) &&
                memcmp(stored, MAGIC, MAGIC_SIZE) == 0 &&
                irpa_le64(stored + MAGIC_SIZE) == key_length &&
                memcmp(stored + PREFIX_SIZE, key, key_length) == 0;
    free(stored);
    return same;
}

static void block_name(char name[NAME_SIZE], irpa_cache_key key, uint64_t block) {
    snprintf(name, NAME_SIZE, "%016llx%016llx-%llu", (unsigned long long)key.first,
             (unsigned long long)key.second, (unsigned long long)block);
}

static bool is_block_name(const char *name) { return name[0] != '.'; }

/* The blocks in the directory (stale partial writes removed); *count set.
 * NULL when it cannot be listed. */
static held_block *list_blocks(irpa_url_cache *cache, size_t *count, uint64_t *total) {
    int copy = dup(cache->directory);
    DIR *listing = copy >= 0 ? fdopendir(copy) : NULL;
    if (!listing) {
        if (copy >= 0) close(copy);
        return NULL;
    }
    rewinddir(listing);
    size_t capacity = 64, used = 0;
    held_block *blocks = malloc(capacity * sizeof *blocks);
    *total = 0;
    struct dirent *entry;
    while (blocks && (entry = readdir(listing))) {
        struct stat st;
        if (strncmp(entry->d_name, PART_PREFIX, strlen(PART_PREFIX)) == 0) {
            unlinkat(cache->directory, entry->d_name, 0); /* a write that never finished */
            continue;
        }
        if (!is_block_name(entry->d_name) || strlen(entry->d_name) >= NAME_SIZE ||
            fstatat(cache->directory, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (used == capacity) {
            held_block *bigger = realloc(blocks, 2 * capacity * sizeof *blocks);
            if (!bigger) break;
            blocks = bigger, capacity *= 2;
        }
        blocks[used].used = st.st_mtim;
        blocks[used].size = (uint64_t)st.st_size;
        snprintf(blocks[used].name, NAME_SIZE, "%s", entry->d_name);
        *total += (uint64_t)st.st_size;
        used++;
    }
    closedir(listing);
    *count = used;
    return blocks;
}

irpa_url_cache *irpa_url_cache_open(const char *directory, uint64_t limit,
                                    irpa_errors *errors) {
    if (limit < IRPA_CACHE_BLOCK) {
        irpa_error(errors, "cache_size must be at least %u bytes", IRPA_CACHE_BLOCK);
        return NULL;
    }
    if (mkdir(directory, 0700) != 0 && errno != EEXIST) {
        irpa_error(errors, "cache_dir %s: %s", directory, strerror(errno));
        return NULL;
    }
    int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        irpa_error(errors, "cache_dir %s: %s", directory, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        close(fd);
        irpa_error(errors, "cache_dir %s must be owned by uid %u and writable by it alone "
                   "(anyone who can write there decides the bytes served)", directory,
                   (unsigned)geteuid());
        return NULL;
    }
    irpa_url_cache *cache = calloc(1, sizeof *cache);
    if (!cache) {
        close(fd);
        irpa_error(errors, "out of memory");
        return NULL;
    }
    cache->directory = fd;
    cache->limit = limit;
    pthread_mutex_init(&cache->evicting, NULL);
    size_t count = 0;
    uint64_t total = 0;
    free(list_blocks(cache, &count, &total));
    atomic_store(&cache->bytes, total);
    return cache;
}

void irpa_url_cache_close(irpa_url_cache *cache) {
    if (!cache) return;
    close(cache->directory);
    pthread_mutex_destroy(&cache->evicting);
    free(cache);
}

uint64_t irpa_url_cache_bytes(irpa_url_cache *cache) { return atomic_load(&cache->bytes); }

int irpa_url_cache_open_block(irpa_url_cache *cache, irpa_cache_key key, uint64_t block,
                              uint64_t block_length, uint64_t *data_offset) {
    if (!key.text) return -1;
    char name[NAME_SIZE];
    block_name(name, key, block);
    int fd = openat(cache->directory, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !holds_key(fd, (uint64_t)st.st_size, key.text, block_length)) {
        close(fd);
        return -1;
    }
    futimens(fd, NULL); /* most recently used */
    *data_offset = PREFIX_SIZE + strlen(key.text);
    return fd;
}

bool irpa_url_cache_get(irpa_url_cache *cache, irpa_cache_key key, uint64_t block,
                        uint64_t block_length, void *buffer, uint64_t offset, uint64_t length) {
    if (offset + length > block_length) return false;
    uint64_t data;
    int fd = irpa_url_cache_open_block(cache, key, block, block_length, &data);
    if (fd < 0) return false;
    bool hit = pread(fd, buffer, (size_t)length, (off_t)(data + offset)) == (ssize_t)length;
    close(fd);
    return hit;
}

static int by_use(const void *a, const void *b) {
    const held_block *x = a, *y = b;
    return irpa_time_compare(x->used, y->used);
}

/* Removes least recently used blocks until the cache holds at most 7/8 of
 * its limit (so each eviction makes room for several blocks). */
static void evict(irpa_url_cache *cache) {
    pthread_mutex_lock(&cache->evicting);
    size_t count = 0;
    uint64_t total = 0;
    held_block *blocks = list_blocks(cache, &count, &total);
    if (blocks && total > cache->limit) {
        qsort(blocks, count, sizeof *blocks, by_use);
        uint64_t target = cache->limit - cache->limit / 8;
        for (size_t i = 0; i < count && total > target; i++)
            if (unlinkat(cache->directory, blocks[i].name, 0) == 0) total -= blocks[i].size;
    }
    if (blocks) atomic_store(&cache->bytes, total);
    free(blocks);
    pthread_mutex_unlock(&cache->evicting);
}

static bool write_all(int fd, const uint8_t *bytes, uint64_t length) {
    while (length > 0) {
        ssize_t written = write(fd, bytes, (size_t)length);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return false;
        bytes += written;
        length -= (uint64_t)written;
    }
    return true;
}

void irpa_url_cache_put(irpa_url_cache *cache, irpa_cache_key key, uint64_t block,
                        const void *bytes, uint64_t length) {
    if (!key.text) return;
    char name[NAME_SIZE], part[NAME_SIZE + 16];
    block_name(name, key, block);
    size_t key_length = strlen(key.text);
    uint8_t prefix[PREFIX_SIZE];
    memcpy(prefix, MAGIC, MAGIC_SIZE);
    irpa_put_le64(prefix + MAGIC_SIZE, key_length);
    snprintf(part, sizeof part, PART_PREFIX "%ld-%lu", (long)getpid(),
             (unsigned long)atomic_fetch_add(&cache->serial, 1));
    int fd = openat(cache->directory, part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return;
    bool written = write_all(fd, prefix, PREFIX_SIZE) &&
                   write_all(fd, (const uint8_t *)key.text, key_length) &&
                   write_all(fd, bytes, length);
    if (close(fd) != 0) written = false;
    if (!written || renameat(cache->directory, part, cache->directory, name) != 0) {
        unlinkat(cache->directory, part, 0);
        return;
    }
    length += PREFIX_SIZE + key_length;
    if (atomic_fetch_add(&cache->bytes, length) + length > cache->limit) evict(cache);
}
