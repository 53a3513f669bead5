#include "url_source.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "http.h"
#include "url_cache.h"
#include "url_chunks.h"

/* Small reads are served from one block fetched ahead: a GGUF header read
 * 64 KiB at a time costs one request per URL_BLOCK, not one per window. */
#define URL_BLOCK (256u << 10)

struct irpa_url_source {
    irpa_http_object *object;
    atomic_bool replaced;
    pthread_mutex_t lock;       /* guards the block (never held across a request) */
    uint8_t *block;             /* URL_BLOCK bytes, or NULL */
    uint64_t block_start, block_length;
    irpa_url_cache *cache;      /* on-disk cache, or NULL */
    irpa_url_chunks *chunks;    /* the mount's chunk store, or NULL */
    _Atomic int64_t slow_until_ms; /* a chunk did not arrive within the timeout: reads take no
                                    * chunks; fetches ahead try again from this monotonic ms.
                                    * 0: chunks are used */
    int64_t slow_pause_ms;      /* how long after such a chunk (twice the timeout) */
    irpa_cache_key key;         /* this URL and identity in the cache */
    char replaced_why[448];     /* set once, before `replaced` */
    pthread_mutex_t error_lock; /* guards last_error */
    char last_error[384];
    _Atomic int64_t reported_ms; /* monotonic ms of the last fault reported, 0: none */
    atomic_bool timed_out;      /* the last failed read timed out (IRPA_HTTP_STALL) */
};

static const irpa_remote_ops url_ops = {irpa_url_source_pread, irpa_url_source_changed,
                                        irpa_url_source_close};

int irpa_url_source_open(irpa_source *source, const char *url, const char *const *headers,
                         size_t header_count, const irpa_url_options *options,
                         const char *where, irpa_errors *errors) {
    const char *sep = where ? ": " : "";
    where = where ? where : "";
    memset(source, 0, sizeof *source);
    source->fd = -1;
    irpa_url_source *remote = calloc(1, sizeof *remote);
    if (!remote) return irpa_error(errors, "%s%sout of memory", where, sep);
    irpa_http_error error;
    if (irpa_http_open(url, headers, header_count, options->timeout_ms,
                       !options->no_environment, &remote->object, &error) != 0) {
        free(remote);
        return irpa_error(errors, "%s%scannot open source %s", where, sep, error.message);
    }
    pthread_mutex_init(&remote->lock, NULL);
    pthread_mutex_init(&remote->error_lock, NULL);
    source->path = strdup(irpa_http_shown(remote->object));
    source->url = strdup(url);
    if (!source->path || !source->url) {
        free(source->path);
        free(source->url);
        source->path = source->url = NULL;
        irpa_url_source_close(remote);
        return irpa_error(errors, "%s%sout of memory", where, sep);
    }
    remote->cache = options->cache;
    remote->chunks = options->chunks;
    remote->slow_pause_ms =
        2 * (options->timeout_ms > 0 ? options->timeout_ms : IRPA_HTTP_DEFAULT_TIMEOUT_MS);
    irpa_http_set_stop(remote->object, options->stop);
    remote->key = irpa_url_cache_key(url, irpa_http_identity(remote->object));
    source->remote = remote;
    source->remote_ops = &url_ops;
    source->size = irpa_http_size(remote->object);
    return 0;
}

static void note_failure(irpa_url_source *remote, const irpa_http_error *error) {
    pthread_mutex_lock(&remote->error_lock);
    snprintf(remote->last_error, sizeof remote->last_error, "%s", error->message);
    atomic_store(&remote->timed_out, error->fault == IRPA_HTTP_STALL);
    if (error->fault == IRPA_HTTP_REPLACED && !atomic_load(&remote->replaced)) {
        snprintf(remote->replaced_why, sizeof remote->replaced_why,
                 "was replaced on the server (opened as %s)",
                 irpa_http_identity(remote->object));
        atomic_store(&remote->replaced, true);
    }
    pthread_mutex_unlock(&remote->error_lock);
    errno = error->fault == IRPA_HTTP_REPLACED ? ESTALE : EIO;
}

/* Copies the bytes from the block when it holds them; under the lock. */
static bool copy_from_block(irpa_url_source *remote, void *buffer, uint64_t length,
                            uint64_t offset) {
    pthread_mutex_lock(&remote->lock);
    bool held = remote->block && offset >= remote->block_start &&
                offset + length <= remote->block_start + remote->block_length;
    if (held) memcpy(buffer, remote->block + (offset - remote->block_start), length);
    pthread_mutex_unlock(&remote->lock);
    return held;
}

/* Serves a small read from the block, fetching a new block first when it
 * does not hold the bytes. The request runs without the lock (other reads
 * of the source go on meanwhile; two misses may both fetch), and the block
 * fetched replaces the held one under the lock. 0, or -1 with errno set. */
static int read_through_block(irpa_url_source *remote, void *buffer, uint64_t length,
                              uint64_t offset) {
    if (copy_from_block(remote, buffer, length, offset)) return 0;
    uint64_t size = irpa_http_size(remote->object);
    uint64_t block_length = size - offset < URL_BLOCK ? size - offset : URL_BLOCK;
    uint8_t *fetched = malloc(URL_BLOCK);
    if (!fetched) {
        errno = ENOMEM;
        return -1;
    }
    irpa_http_error error;
    if (irpa_http_read(remote->object, fetched, block_length, offset, &error) != 0) {
        free(fetched);
        note_failure(remote, &error);
        return -1;
    }
    memcpy(buffer, fetched, length);
    pthread_mutex_lock(&remote->lock);
    uint8_t *old = remote->block;
    remote->block = fetched;
    remote->block_start = offset;
    remote->block_length = block_length;
    pthread_mutex_unlock(&remote->lock);
    free(old);
    return 0;
}

/* Copies what the cache's blocks hold of bytes [offset, offset + length)
 * into `buffer`; the first and last block missing in *missing_first and
 * *missing_last (UINT64_MAX in *missing_first when none is). */
static void copy_cached(irpa_url_source *remote, void *buffer, uint64_t length, uint64_t offset,
                        uint64_t *missing_first, uint64_t *missing_last) {
    const uint64_t block = IRPA_CACHE_BLOCK, size = irpa_http_size(remote->object);
    uint64_t first = offset / block, last = (offset + length - 1) / block;
    *missing_first = UINT64_MAX;
    *missing_last = 0;
    for (uint64_t b = first; b <= last; b++) {
        uint64_t start = b * block, end = start + block < size ? start + block : size;
        uint64_t from = offset > start ? offset : start;
        uint64_t to = offset + length < end ? offset + length : end;
        if (irpa_url_cache_get(remote->cache, remote->key, b, end - start,
                               (uint8_t *)buffer + (from - offset), from - start, to - from))
            continue;
        if (*missing_first == UINT64_MAX) *missing_first = b;
        *missing_last = b;
    }
}

/* Bytes served from the cache count as read from the chunks that hold
 * them too (a chunk fetched through the cache is read from there). */
static void served_from_cache(irpa_url_source *remote, uint64_t length, uint64_t offset) {
    if (remote->chunks)
        irpa_url_chunks_served(remote->chunks, remote, irpa_http_size(remote->object), offset,
                               length);
}

/* Whether the cache held every byte of the read (copied into `buffer`). */
static bool read_cached(irpa_url_source *remote, void *buffer, uint64_t length, uint64_t offset) {
    uint64_t missing_first, missing_last;
    if (!remote->cache) return false;
    copy_cached(remote, buffer, length, offset, &missing_first, &missing_last);
    if (missing_first != UINT64_MAX) return false;
    served_from_cache(remote, length, offset);
    return true;
}

/* Serves a read from the cache's blocks, fetching (in one ranged read)
 * the blocks from the first missing one to the last, and storing them.
 * 0, or -1 with errno set. */
static int read_through_cache(irpa_url_source *remote, void *buffer, uint64_t length,
                              uint64_t offset) {
    const uint64_t block = IRPA_CACHE_BLOCK, size = irpa_http_size(remote->object);
    uint64_t missing_first, missing_last;
    copy_cached(remote, buffer, length, offset, &missing_first, &missing_last);
    if (missing_first == UINT64_MAX) return 0;
    uint64_t fetch_start = missing_first * block;
    uint64_t fetch_end = (missing_last + 1) * block < size ? (missing_last + 1) * block : size;
    /* Blocks that lie within the read (a chunk's do) are fetched in place. */
    bool in_place = fetch_start >= offset && fetch_end <= offset + length;
    uint8_t *fetched = in_place ? (uint8_t *)buffer + (fetch_start - offset)
                                : malloc((size_t)(fetch_end - fetch_start));
    if (!fetched) {
        errno = ENOMEM;
        return -1;
    }
    irpa_http_error error;
    if (irpa_http_read(remote->object, fetched, fetch_end - fetch_start, fetch_start,
                       &error) != 0) {
        if (!in_place) free(fetched);
        note_failure(remote, &error);
        return -1;
    }
    for (uint64_t b = missing_first; b <= missing_last; b++) {
        uint64_t start = b * block, end = start + block < size ? start + block : size;
        irpa_url_cache_put(remote->cache, remote->key, b, fetched + (start - fetch_start),
                           end - start);
    }
    if (in_place) return 0;
    uint64_t from = offset > fetch_start ? offset : fetch_start;
    uint64_t to = offset + length < fetch_end ? offset + length : fetch_end;
    memcpy((uint8_t *)buffer + (from - offset), fetched + (from - fetch_start), to - from);
    free(fetched);
    return 0;
}

/* Bytes [offset, offset + length) from the server, or from the cache
 * when there is one. 0, or -1 with errno set (note_failure). */
static int fetch_range(irpa_url_source *remote, void *buffer, uint64_t length, uint64_t offset) {
    if (remote->cache) return read_through_cache(remote, buffer, length, offset);
    irpa_http_error error;
    if (irpa_http_read(remote->object, buffer, length, offset, &error) == 0) return 0;
    note_failure(remote, &error);
    return -1;
}

/* fetch_range as the chunk store calls it. A chunk that timed out (a
 * server too slow to send 16 MiB within the timeout, or a stalled one)
 * turns chunks off for the source's reads: they ask for their own bytes,
 * as they would without a chunk store, and can succeed on a slow link
 * where every chunk would time out. Twice the timeout later, one fetch
 * ahead tries a chunk again (a failed fetch ahead fails no read); when it
 * arrives in time, reads take chunks again. */
static int fetch_chunk(void *owner, void *buffer, uint64_t length, uint64_t offset) {
    irpa_url_source *remote = owner;
    if (fetch_range(remote, buffer, length, offset) == 0) {
        atomic_store(&remote->slow_until_ms, 0);
        return 0;
    }
    int error = errno;
    if (atomic_load(&remote->timed_out))
        atomic_store(&remote->slow_until_ms, irpa_monotonic_ms() + remote->slow_pause_ms);
    errno = error;
    return -1;
}

/* Whether reads leave chunks alone: a chunk timed out lately. */
static bool slow(irpa_url_source *remote) { return atomic_load(&remote->slow_until_ms) != 0; }

/* Whether a fetch ahead would take chunks now: chunks are on, or their
 * pause is over. */
static bool ahead_allowed(irpa_url_source *remote) {
    int64_t until = atomic_load(&remote->slow_until_ms);
    return until == 0 || irpa_monotonic_ms() >= until;
}

/* ahead_allowed, and a fetch ahead that tries chunks again after their
 * pause claims the try: the next pause starts now, so one fetch ahead at a
 * time waits on a server that may still be slow (each holds one of its
 * network threads for up to the timeout). */
static bool claim_fetch_ahead(irpa_url_source *remote) {
    int64_t until = atomic_load(&remote->slow_until_ms), now = irpa_monotonic_ms();
    if (until == 0) return true;
    return now >= until && atomic_compare_exchange_strong(&remote->slow_until_ms, &until,
                                                          now + remote->slow_pause_ms);
}

/* 0 when bytes [offset, offset + length) may be read: the object was not
 * found replaced (else ESTALE) and holds them (else EIO); -1 with errno. */
static int readable(irpa_url_source *remote, uint64_t offset, uint64_t length) {
    if (atomic_load(&remote->replaced)) {
        errno = ESTALE;
        return -1;
    }
    uint64_t size = irpa_http_size(remote->object);
    if (offset > size || length > size - offset) {
        errno = EIO;
        return -1;
    }
    return 0;
}

int irpa_url_source_pread(irpa_url_source *remote, void *buffer, uint64_t length,
                          uint64_t offset) {
    if (readable(remote, offset, length) != 0) return -1;
    uint64_t size = irpa_http_size(remote->object);
    if (length == 0) return 0;
    if (length < URL_BLOCK / 4 && remote->chunks &&
        irpa_url_chunks_copy_held(remote->chunks, remote, buffer, length, offset))
        return 0;
    if (length < URL_BLOCK / 4 && !remote->cache)
        return read_through_block(remote, buffer, length, offset);
    if (!remote->chunks || length < URL_BLOCK / 4 || slow(remote))
        return fetch_range(remote, buffer, length, offset);
    /* Bytes the on-disk cache holds are read from there, as they come
     * (through a chunk they would be copied once more). */
    if (read_cached(remote, buffer, length, offset)) return 0;
    return irpa_url_chunks_read(remote->chunks, remote, size, fetch_chunk, buffer, length, offset);
}

static void close_pieces(irpa_cached_piece *pieces, size_t count) {
    for (size_t i = 0; i < count; i++) close(pieces[i].fd);
}

size_t irpa_url_source_cached_pieces(irpa_url_source *remote, uint64_t offset, uint64_t length,
                                     irpa_cached_piece *pieces, size_t max) {
    if (!remote->cache || length == 0 || readable(remote, offset, length) != 0) return 0;
    const uint64_t block = IRPA_CACHE_BLOCK, size = irpa_http_size(remote->object);
    size_t count = 0;
    for (uint64_t b = offset / block; b <= (offset + length - 1) / block; b++) {
        uint64_t start = b * block, end = start + block < size ? start + block : size;
        uint64_t from = offset > start ? offset : start;
        uint64_t to = offset + length < end ? offset + length : end;
        uint64_t data;
        int fd = count < max ? irpa_url_cache_open_block(remote->cache, remote->key, b,
                                                         end - start, &data)
                             : -1;
        if (fd < 0) {
            close_pieces(pieces, count);
            return 0;
        }
        pieces[count++] = (irpa_cached_piece){fd, data + (from - start), to - from};
    }
    served_from_cache(remote, length, offset);
    return count;
}

/* Whether a read of `length` bytes may be answered straight from a chunk:
 * chunks are on, no on-disk cache (its reads are spliced from its files),
 * and the read is not a small one (those take the block). */
static bool pins_apply(irpa_url_source *remote, uint64_t length) {
    return remote->chunks && !remote->cache && length >= URL_BLOCK / 4 && !slow(remote);
}

int irpa_url_source_pin(irpa_url_source *remote, uint64_t offset, uint64_t length,
                        const void **bytes, void **pin) {
    if (!pins_apply(remote, length)) return 1;
    if (readable(remote, offset, length) != 0) return -1;
    return irpa_url_chunks_pin(remote->chunks, remote, irpa_http_size(remote->object), fetch_chunk,
                               length, offset,
                               (const uint8_t **)bytes, pin);
}

bool irpa_url_source_pin_held(irpa_url_source *remote, uint64_t offset, uint64_t length,
                              const void **bytes, void **pin) {
    return pins_apply(remote, length) && readable(remote, offset, length) == 0 &&
           irpa_url_chunks_pin_held(remote->chunks, remote, length, offset,
                                    (const uint8_t **)bytes, pin);
}

void irpa_url_source_unpin(irpa_url_source *remote, void *pin) {
    irpa_url_chunks_unpin(remote->chunks, pin);
}

bool irpa_url_source_ahead_due(irpa_url_source *remote, uint64_t offset, uint64_t length) {
    return remote->chunks && !atomic_load(&remote->replaced) && ahead_allowed(remote) &&
           !irpa_url_chunks_covered(remote->chunks, remote, irpa_http_size(remote->object),
                                    offset, length);
}

int irpa_url_source_fetch_ahead(irpa_url_source *remote, uint64_t offset, uint64_t length) {
    if (!remote->chunks || atomic_load(&remote->replaced) || !claim_fetch_ahead(remote)) return 0;
    return irpa_url_chunks_fetch_ahead(remote->chunks, remote, irpa_http_size(remote->object),
                                       fetch_chunk, offset, length);
}

int irpa_url_source_changed(irpa_url_source *remote, char *why, size_t why_size) {
    if (!atomic_load(&remote->replaced)) return 0;
    snprintf(why, why_size, "%s", remote->replaced_why);
    return 1;
}

void irpa_url_source_error(irpa_url_source *remote, char *out, size_t out_size) {
    pthread_mutex_lock(&remote->error_lock);
    snprintf(out, out_size, "%s", remote->last_error[0] ? remote->last_error : "read failed");
    pthread_mutex_unlock(&remote->error_lock);
}

bool irpa_url_source_report_due(irpa_url_source *remote, int64_t interval_ms) {
    int64_t now = irpa_monotonic_ms(), last = atomic_load(&remote->reported_ms);
    if (last != 0 && now - last < interval_ms) return false;
    return atomic_compare_exchange_strong(&remote->reported_ms, &last, now ? now : 1);
}

void irpa_url_source_close(irpa_url_source *remote) {
    if (!remote) return;
    irpa_url_chunks_forget(remote->chunks, remote);
    irpa_http_close(remote->object);
    irpa_url_cache_key_free(&remote->key);
    pthread_mutex_destroy(&remote->lock);
    pthread_mutex_destroy(&remote->error_lock);
    free(remote->block);
    free(remote);
}

const char *irpa_url_source_origin(const irpa_url_source *remote) {
    return irpa_http_origin(remote->object);
}

const char *irpa_segments_first_origin(const irpa_archive *archive, const irpa_segment *segments,
                                       size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (segments[i].kind != IRPA_SEGMENT_SOURCE) continue;
        const irpa_url_source *remote = archive->sources[segments[i].source].remote;
        if (remote) return irpa_url_source_origin(remote);
    }
    return NULL;
}
