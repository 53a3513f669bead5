/* prefetch.c: the prefetch worker (prefetch.h). */
#include "prefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ll.h"
#include "threads.h"
#include "log.h"
#include "net.h"
#include "url_source.h"

#define STREAMS 8                       /* readers followed at once (per mount) */
#define PENDING 64                      /* inodes whose cache drop is queued */
#define CHUNK_MAX (4u << 20)            /* bytes per push (in notify_store calls of a request each) */
#define CONTINUE_BEFORE (256u << 10)    /* bytes: a read starting this far before the last end continues it */
#define CONTINUE_AFTER (1u << 20)       /* bytes: ... or this far after it (pads, skipped entries) */
#define STREAM_AFTER 2                  /* reads in a row continuing the last: a stream */
#define LEAD_MIN (2u << 20)             /* bytes: pushes start at least this far past the reader,
                                           beyond the kernel's own readahead (two requests) */

/* A source range the worker brought into the page cache (one_copy). */
typedef struct owned_range {
    uint32_t source;       /* index into the archive's sources */
    uint64_t start, end;   /* source bytes, page-aligned */
    uint64_t archive_end;  /* archive offset: droppable once pushed and read past it */
} owned_range;

/* One reader of one archive version. */
typedef struct stream {
    irpafs_version *version;  /* the version read, with a reference; NULL: the slot is free */
    uint64_t inode;        /* its inode number, where pushes go */
    uint64_t next;         /* archive offset where the last read ended */
    unsigned hits;         /* reads in a row that continued the one before */
    bool streaming;        /* the worker pushes ahead of it */
    bool stopped;          /* released, or the kernel forgot it: the worker frees it */
    bool busy;             /* the worker works on it outside the lock */
    unsigned generation;   /* bumped when the stream (re)starts */
    uint64_t used;         /* when last read (a counter), for reuse of slots */
    uint64_t reader;       /* archive offset: the furthest read end while streaming */
    uint64_t pushed;       /* archive offset: pushed (or read) up to here */
    /* Worker only (touched under `busy` or once stopped): */
    unsigned seen_generation;  /* the generation `announced` belongs to */
    uint64_t announced;        /* archive offset: sources announced (WILLNEED) up to here */
    owned_range *owned;        /* ranges to drop once pushed, in archive order */
    size_t owned_count, owned_capacity;
    uint32_t last_source;      /* source of the last range announced, UINT32_MAX: none */
    uint64_t last_end;         /* its end, page-aligned source offset */
} stream;

struct irpafs_prefetch {
    struct fuse_session *session;  /* where pushes and invalidations go */
    uint64_t window;               /* bytes kept ahead of a reader; 0: no pushing */
    uint64_t chunk;                /* bytes per push, page multiple */
    uint64_t step;                 /* bytes between tripwires, chunk multiple */
    bool one_copy;                 /* drop source pages the worker brought in, once pushed */
    size_t page;                   /* bytes */
    unsigned char *residency;      /* mincore vector for a chunk of source bytes */
    pthread_mutex_t mutex;         /* guards what follows */
    pthread_cond_t wake;           /* signalled when there is work, or at stop */
    bool stop;                     /* the worker must end */
    uint64_t clock;                /* counts reads, for stream.used */
    stream streams[STREAMS];
    uint64_t pending[PENDING];     /* inodes whose page cache to drop */
    size_t pending_count;
    pthread_t thread;
    /* Counts for the debug log at stop (worker only, but starts under the mutex): */
    uint64_t starts;               /* streams started */
    uint64_t pushes;               /* notify_store calls */
    uint64_t pushed_bytes;         /* bytes they pushed */
    uint64_t dropped_bytes;        /* source bytes dropped (one_copy) */
    uint64_t invalidations;        /* notify_inval_inode calls */
};

/* ---- the read handlers' side (short, under the mutex) ------------------- */

static stream *find_stream(irpafs_prefetch *prefetch, uint64_t inode) {
    for (size_t i = 0; i < STREAMS; i++) {
        stream *candidate = &prefetch->streams[i];
        if (candidate->version && !candidate->stopped && candidate->inode == inode)
            return candidate;
    }
    return NULL;
}

/* A slot for a new stream: a free one, else the least recently used one
 * that is not streaming (its file is returned in *evicted to put after the
 * lock); NULL when all are streaming. */
static stream *claim_slot(irpafs_prefetch *prefetch, irpafs_version **evicted) {
    stream *oldest = NULL;
    for (size_t i = 0; i < STREAMS; i++) {
        stream *slot = &prefetch->streams[i];
        if (!slot->version) return slot;
        if (!slot->streaming && !slot->stopped && !slot->busy && slot->owned_count == 0 &&
            (!oldest || slot->used < oldest->used))
            oldest = slot;
    }
    if (oldest) *evicted = oldest->version;
    return oldest;
}

static bool continues(const stream *reader, uint64_t offset) {
    return offset + CONTINUE_BEFORE >= reader->next && offset <= reader->next + CONTINUE_AFTER;
}

static uint64_t round_up(uint64_t value, uint64_t unit) {
    return value % unit ? value - value % unit + unit : value;
}

/* Bytes between a reader that starts (or outran the pushes) and the first
 * push: the reader's own reads fill them meanwhile, so the pushes can get
 * ahead of it rather than race it for the same pages (a quarter window). */
static uint64_t lead(const irpafs_prefetch *prefetch) {
    return prefetch->step > LEAD_MIN ? prefetch->step : LEAD_MIN;
}

/* Starts (or restarts) pushing after archive offset `end`. */
static void start_streaming(irpafs_prefetch *prefetch, stream *reader, uint64_t end) {
    reader->streaming = true;
    reader->generation++;
    prefetch->starts++;
    reader->reader = end;
    reader->pushed = round_up(end + lead(prefetch), prefetch->page);
}

/* Whether the worker has something to push for the stream. */
static bool wants_push(const irpafs_prefetch *prefetch, const stream *reader) {
    return reader->version && reader->streaming && !reader->stopped && !reader->busy &&
           reader->pushed < reader->version->archive->file_size &&
           reader->pushed < reader->reader + prefetch->window;
}

void irpafs_prefetch_note_read(irpafs_prefetch *prefetch, irpafs_version *version, uint64_t inode,
                               uint64_t offset, uint64_t size) {
    if (!prefetch || prefetch->window == 0) return;
    irpafs_version *evicted = NULL;
    uint64_t end = offset + size;
    pthread_mutex_lock(&prefetch->mutex);
    stream *reader = find_stream(prefetch, inode);
    if (!reader && (reader = claim_slot(prefetch, &evicted))) {
        memset(reader, 0, offsetof(stream, seen_generation));
        reader->version = irpafs_version_hold(version);
        reader->inode = inode;
        reader->seen_generation = 0;  /* not busy: the worker is not looking */
        reader->next = end;
    } else if (reader && reader->streaming && offset + prefetch->window >= reader->reader &&
               offset <= (reader->pushed > reader->reader ? reader->pushed : reader->reader) +
                             prefetch->chunk + CONTINUE_AFTER) {
        /* Near the reader: a tripwire, the kernel's readahead, a read that
         * arrives out of order (several threads), a read of the chunk being
         * pushed. Only forward counts. */
        if (end > reader->reader) reader->reader = reader->next = end;
        /* Past the pushes: the reader outran them (cold sources, a busy
         * machine); they start again a lead past it. */
        if (end > reader->pushed) reader->pushed = round_up(end + lead(prefetch), prefetch->page);
    } else if (reader) {
        reader->hits = continues(reader, offset) ? reader->hits + 1 : 0;
        reader->streaming = false;
        reader->next = end;
        if (reader->hits >= STREAM_AFTER) start_streaming(prefetch, reader, end);
    }
    if (reader) {
        reader->used = ++prefetch->clock;
        if (wants_push(prefetch, reader)) pthread_cond_signal(&prefetch->wake);
    }
    pthread_mutex_unlock(&prefetch->mutex);
    irpafs_version_put(evicted);
}

void irpafs_prefetch_source_changed(irpafs_prefetch *prefetch, uint64_t inode) {
    if (!prefetch) return;
    pthread_mutex_lock(&prefetch->mutex);
    bool queued = false;
    for (size_t i = 0; i < prefetch->pending_count; i++) queued |= prefetch->pending[i] == inode;
    /* A full queue drops the request: the next failing read asks again. */
    if (!queued && prefetch->pending_count < PENDING) {
        prefetch->pending[prefetch->pending_count++] = inode;
        pthread_cond_signal(&prefetch->wake);
    }
    stream *reader = find_stream(prefetch, inode);
    if (reader) reader->streaming = false;
    pthread_mutex_unlock(&prefetch->mutex);
}

void irpafs_prefetch_release(irpafs_prefetch *prefetch, uint64_t inode) {
    if (!prefetch || prefetch->window == 0) return;
    pthread_mutex_lock(&prefetch->mutex);
    stream *reader = find_stream(prefetch, inode);
    if (reader) {
        reader->stopped = true;
        pthread_cond_signal(&prefetch->wake);
    }
    pthread_mutex_unlock(&prefetch->mutex);
}

/* ---- the worker's side (outside the mutex) ------------------------------ */

/* Drops the owned source ranges that end at or before archive offset
 * `pushed` (all with UINT64_MAX). */
static void drop_owned(irpafs_prefetch *prefetch, stream *reader, uint64_t pushed) {
    const irpa_archive *archive = reader->version->archive;
    size_t dropped = 0;
    while (dropped < reader->owned_count && reader->owned[dropped].archive_end <= pushed) {
        const owned_range *range = &reader->owned[dropped++];
        prefetch->dropped_bytes += range->end - range->start;
        posix_fadvise(archive->sources[range->source].fd, (off_t)range->start,
                      (off_t)(range->end - range->start), POSIX_FADV_DONTNEED);
    }
    if (dropped == 0) return;
    memmove(reader->owned, reader->owned + dropped,
            (reader->owned_count - dropped) * sizeof *reader->owned);
    reader->owned_count -= dropped;
}

static void remember_owned(stream *reader, uint32_t source, uint64_t start, uint64_t end,
                           uint64_t archive_end) {
    if (reader->owned_count == reader->owned_capacity) {
        size_t capacity = reader->owned_capacity ? 2 * reader->owned_capacity : 16;
        owned_range *grown = realloc(reader->owned, capacity * sizeof *grown);
        if (!grown) return;  /* the range stays cached: no harm */
        reader->owned = grown;
        reader->owned_capacity = capacity;
    }
    reader->owned[reader->owned_count++] =
        (owned_range){.source = source, .start = start, .end = end, .archive_end = archive_end};
}

/* Remembers as ours the pages of source bytes [start, end) (page-aligned)
 * that are not in the page cache now (mincore on a mapping of them). */
static void remember_uncached(irpafs_prefetch *prefetch, stream *reader, uint32_t source,
                              uint64_t start, uint64_t end, uint64_t archive_end) {
    int fd = reader->version->archive->sources[source].fd;
    /* A run may span more source bytes than its archive bytes (pads under
     * a page between merged segments): look at a chunk at a time, the size
     * of the residency vector. */
    for (uint64_t from = start; from < end; from += prefetch->chunk) {
        size_t length = (size_t)(end - from < prefetch->chunk ? end - from : prefetch->chunk);
        size_t pages = length / prefetch->page;
        void *mapping = mmap(NULL, length, PROT_READ, MAP_SHARED, fd, (off_t)from);
        if (mapping == MAP_FAILED) return;
        if (mincore(mapping, length, prefetch->residency) == 0) {
            for (size_t i = 0; i < pages;) {
                size_t j = i;
                while (j < pages && !(prefetch->residency[j] & 1)) j++;
                if (j > i)
                    remember_owned(reader, source, from + i * prefetch->page,
                                   from + j * prefetch->page, archive_end);
                i = j + 1;
            }
        }
        munmap(mapping, length);
    }
}

/* Announces one run of source bytes [start, end) that archive bytes up to
 * `archive_end` come from: WILLNEED, and with one_copy, first remembers
 * its pages that are not cached as ours. A page shared with the run
 * announced just before (same source) was looked at then. */
static void announce_run(irpafs_prefetch *prefetch, stream *reader, uint32_t source,
                         uint64_t start, uint64_t end, uint64_t archive_end) {
    int fd = reader->version->archive->sources[source].fd;
    uint64_t first = start - start % prefetch->page, last = round_up(end, prefetch->page);
    if (source == reader->last_source && first < reader->last_end && reader->last_end > start)
        first = reader->last_end < last ? reader->last_end : last;
    if (prefetch->one_copy && first < last)
        remember_uncached(prefetch, reader, source, first, last, archive_end);
    reader->last_source = source;
    reader->last_end = last;
    posix_fadvise(fd, (off_t)start, (off_t)(end - start), POSIX_FADV_WILLNEED);
}

/* Announces the sources of archive bytes [offset, offset + length), at
 * most a chunk: the drops of one_copy go chunk by chunk. */
static void announce_chunk(irpafs_prefetch *prefetch, stream *reader, uint64_t offset,
                           uint64_t length) {
    irpa_segment local[16];
    size_t count = 0;
    irpa_segment *segments =
        irpafs_map_range(reader->version->archive, offset, length, local, 16, &count);
    if (!segments) return;
    uint64_t archive_end = offset + length;
    for (size_t i = 0; i < count;) {
        if (segments[i].kind != IRPA_SEGMENT_SOURCE) {
            i++;
            continue;
        }
        uint32_t source = segments[i].source;
        uint64_t start = segments[i].source_offset, end = start + segments[i].length;
        for (i++; i < count && segments[i].kind == IRPA_SEGMENT_SOURCE &&
                  segments[i].source == source && segments[i].source_offset >= end &&
                  segments[i].source_offset - end < prefetch->page;
             i++)
            end = segments[i].source_offset + segments[i].length;
        /* A URL source has no descriptor: nothing to ask the kernel to
         * read ahead, nothing in the page cache to drop. */
        if (reader->version->archive->sources[source].fd >= 0)
            announce_run(prefetch, reader, source, start, end, archive_end);
    }
    if (segments != local) free(segments);
}

/* Announces the sources of archive bytes [from, to), chunk by chunk. */
static void announce(irpafs_prefetch *prefetch, stream *reader, uint64_t from, uint64_t to) {
    while (from < to) {
        uint64_t end = from - from % prefetch->chunk + prefetch->chunk;
        if (end > to) end = to;
        announce_chunk(prefetch, reader, from, end - from);
        from = end;
    }
}

/* Pushes archive bytes [offset, offset + length), at most a request's
 * worth, to the inode with the checks a spliced read makes: the sources
 * are checked before, and again after (a source rewritten during the push
 * gets the cache dropped). The bytes are spliced from the source
 * descriptors, as a read reply is: one copy, into the mount's pages. */
static int push_piece(irpafs_prefetch *prefetch, irpafs_version *version, uint64_t inode,
                      uint64_t offset, uint64_t length) {
    irpa_segment local[16];
    size_t count = 0;
    irpa_segment *segments = irpafs_map_range(version->archive, offset, length, local, 16, &count);
    if (!segments) return ENOMEM;
    int error = irpafs_version_check_sources(version, segments, count, false);
    struct fuse_bufvec *vector = NULL;
    if (!error && irpa_segments_first_origin(version->archive, segments, count))
        vector = irpafs_net_bufvec(version->archive, segments, count, &error); /* URL bytes */
    else if (!error)
        vector = irpafs_bufvec_for(version->archive, segments, count);
    if (!error && !vector) error = ENOMEM;
    if (!error) {
        int result = fuse_lowlevel_notify_store(prefetch->session, (fuse_ino_t)inode,
                                                (off_t)offset, vector, 0);
        error = result < 0 ? -result
                           : irpafs_version_check_sources(version, segments, count, false);
    }
    free(vector);
    if (segments != local) free(segments);
    if (error == EIO) {
        prefetch->invalidations++;
        fuse_lowlevel_notify_inval_inode(prefetch->session, (fuse_ino_t)inode, 0, 0);
    }
    if (!error) {
        prefetch->pushes++;
        prefetch->pushed_bytes += length;
    }
    return error;
}

/* Pushes archive bytes [offset, offset + length) in pieces that splice (a
 * request's worth: a larger piece would not fit libfuse's pipe). 0, EIO (a
 * source changed: the cache is dropped), or another errno (ENOENT: the
 * kernel forgot the inode). */
static int push(irpafs_prefetch *prefetch, irpafs_version *version, uint64_t inode, uint64_t offset,
                uint64_t length) {
    uint64_t piece = irpafs_request_limit();
    for (uint64_t done = 0; done < length; done += piece) {
        uint64_t left = length - done;
        int error =
            push_piece(prefetch, version, inode, offset + done, left < piece ? left : piece);
        if (error) return error;
    }
    return 0;
}

/* What the worker does next, taken under the lock. */
typedef struct job {
    stream *reader;        /* the stream to push for, or NULL */
    uint64_t start, end;   /* archive bytes to push */
    uint64_t announce_to;  /* archive offset to announce sources up to */
    uint64_t reader_at;    /* archive offset the reader had reached when taken */
    unsigned generation;   /* the stream's generation when taken */
} job;

/* The next chunk of the stream: from its frontier to the next chunk
 * boundary, less the page at a step boundary (a tripwire). */
static job next_job(const irpafs_prefetch *prefetch, stream *reader) {
    uint64_t size = reader->version->archive->file_size;
    uint64_t start = reader->pushed;
    uint64_t end = start - start % prefetch->chunk + prefetch->chunk;
    if (end > size) end = size;
    if (start % prefetch->step == 0 && start > reader->reader) start += prefetch->page;
    if (start > end) start = end;
    uint64_t announce_to = end + prefetch->window;  /* a window past the push */
    if (announce_to > size) announce_to = size;
    return (job){.reader = reader, .start = start, .end = end, .announce_to = announce_to,
                 .reader_at = reader->reader, .generation = reader->generation};
}

/* Frees a stopped stream's resources; returns its file to put after the lock. */
static irpafs_version *free_stream(irpafs_prefetch *prefetch, stream *reader) {
    if (reader->version) drop_owned(prefetch, reader, UINT64_MAX);
    irpafs_version *version = reader->version;
    free(reader->owned);
    memset(reader, 0, sizeof *reader);
    return version;
}

/* Announces ahead, pushes the job's chunk, drops what one_copy owns and
 * is pushed. 0, or the errno that ends the stream. */
static int run_job(irpafs_prefetch *prefetch, job *work) {
    stream *reader = work->reader;
    if (reader->seen_generation != work->generation || reader->announced < work->start) {
        /* A new stream, or one that jumped ahead: announce from here on. */
        reader->seen_generation = work->generation;
        reader->announced = work->start;
        reader->last_source = UINT32_MAX;
    }
    /* Two chunks per push at most: the frontier moves out a window past
     * the pushes without delaying the first ones. */
    uint64_t announce_to = reader->announced + 2 * prefetch->chunk;
    if (announce_to > work->announce_to) announce_to = work->announce_to;
    if (reader->announced < announce_to) {
        announce(prefetch, reader, reader->announced, announce_to);
        reader->announced = announce_to;
    }
    int error = work->start < work->end
                    ? push(prefetch, reader->version, reader->inode, work->start,
                           work->end - work->start)
                    : 0;
    if (error) {
        irpafs_log(LOG_DEBUG, "prefetch of %s (inode %llu) stops: %s",
                   reader->version->archive->name, (unsigned long long)reader->inode,
                   strerror(error));
        return error;
    }
    /* Source bytes go once they are in the mount's cache: pushed, or read
     * by the reader itself (what it read between its position and the
     * pushes, after a jump ahead, is not pushed). A chunk more is kept: the
     * next push may share a page. */
    uint64_t done = work->end < work->reader_at ? work->end : work->reader_at;
    if (done > prefetch->chunk) drop_owned(prefetch, reader, done - prefetch->chunk);
    return 0;
}

static void *worker(void *argument) {
    irpafs_prefetch *prefetch = argument;
    pthread_mutex_lock(&prefetch->mutex);
    while (!prefetch->stop) {
        if (prefetch->pending_count > 0) {
            uint64_t inode = prefetch->pending[--prefetch->pending_count];
            pthread_mutex_unlock(&prefetch->mutex);
            prefetch->invalidations++;
            fuse_lowlevel_notify_inval_inode(prefetch->session, (fuse_ino_t)inode, 0, 0);
            pthread_mutex_lock(&prefetch->mutex);
            continue;
        }
        stream *chosen = NULL;
        for (size_t i = 0; i < STREAMS && !chosen; i++) {
            stream *reader = &prefetch->streams[i];
            if (reader->version && reader->stopped && !reader->busy) {
                irpafs_version *version = free_stream(prefetch, reader);
                pthread_mutex_unlock(&prefetch->mutex);
                irpafs_version_put(version);
                pthread_mutex_lock(&prefetch->mutex);
            } else if (wants_push(prefetch, reader)) {
                chosen = reader;
            }
        }
        if (!chosen) {
            pthread_cond_wait(&prefetch->wake, &prefetch->mutex);
            continue;
        }
        job work = next_job(prefetch, chosen);
        chosen->busy = true;
        pthread_mutex_unlock(&prefetch->mutex);
        int error = run_job(prefetch, &work);
        pthread_mutex_lock(&prefetch->mutex);
        chosen->busy = false;
        if (error) chosen->stopped = true;
        if (chosen->generation == work.generation && chosen->pushed < work.end)
            chosen->pushed = work.end;
    }
    pthread_mutex_unlock(&prefetch->mutex);
    return NULL;
}

/* ---- start and stop ----------------------------------------------------- */

static void prefetch_free(irpafs_prefetch *prefetch) {
    for (size_t i = 0; i < STREAMS; i++)
        irpafs_version_put(free_stream(prefetch, &prefetch->streams[i]));
    pthread_cond_destroy(&prefetch->wake);
    pthread_mutex_destroy(&prefetch->mutex);
    free(prefetch->residency);
    free(prefetch);
}

irpafs_prefetch *irpafs_prefetch_start(struct fuse_session *session, uint64_t window,
                                       bool one_copy, irpa_errors *errors) {
    irpafs_prefetch *prefetch = calloc(1, sizeof *prefetch);
    if (!prefetch) {
        irpa_error(errors, "prefetch: %s", strerror(ENOMEM));
        return NULL;
    }
    prefetch->session = session;
    prefetch->page = (size_t)sysconf(_SC_PAGESIZE);
    prefetch->window = window;
    prefetch->one_copy = one_copy;
    /* A quarter window per push, at most CHUNK_MAX, at least a page;
     * tripwires every quarter window (a chunk multiple). */
    uint64_t chunk = window / 4 < CHUNK_MAX ? window / 4 : CHUNK_MAX;
    chunk -= chunk % prefetch->page;
    prefetch->chunk = chunk ? chunk : prefetch->page;
    prefetch->step = window / 4 - (window / 4) % prefetch->chunk;
    if (prefetch->step == 0) prefetch->step = prefetch->chunk;
    pthread_mutex_init(&prefetch->mutex, NULL);
    pthread_cond_init(&prefetch->wake, NULL);
    if (window > 0) prefetch->residency = malloc(prefetch->chunk / prefetch->page);
    int error = window > 0 && !prefetch->residency ? ENOMEM : 0;
    if (!error) error = irpafs_thread_start(&prefetch->thread, worker, prefetch);
    if (error) {
        irpa_error(errors, "prefetch: cannot start its thread: %s", strerror(error));
        prefetch_free(prefetch);
        return NULL;
    }
    return prefetch;
}

void irpafs_prefetch_stop(irpafs_prefetch *prefetch) {
    if (!prefetch) return;
    pthread_mutex_lock(&prefetch->mutex);
    prefetch->stop = true;
    pthread_cond_signal(&prefetch->wake);
    pthread_mutex_unlock(&prefetch->mutex);
    pthread_join(prefetch->thread, NULL);
    irpafs_log(LOG_DEBUG,
               "prefetch: %llu streams, %llu pushes of %llu bytes, %llu source bytes dropped, "
               "%llu cache invalidations",
               (unsigned long long)prefetch->starts, (unsigned long long)prefetch->pushes,
               (unsigned long long)prefetch->pushed_bytes,
               (unsigned long long)prefetch->dropped_bytes,
               (unsigned long long)prefetch->invalidations);
    prefetch_free(prefetch);
}
