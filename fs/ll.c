/* ll.c: FUSE low-level operations (ll.h). */
#include "ll.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "net_reads.h"
#include "prefetch.h"
#include "readahead.h"
#include "url_cache.h"
#include "url_source.h"

#define IRPAFS_MAX_REQUEST (1u << 20)  /* bytes: the largest read we ever ask for */
#define SPLICE_SLACK_PAGES 8            /* pipe pages libfuse wants beyond the data (see below) */
#define ZERO_BUFFER_SIZE (1u << 20)     /* bytes of the shared zero buffer */
#define MAX_BACKGROUND 128              /* readahead requests the kernel may have pending */

/* Zero bytes for padding and zero runs; never written. */
static uint8_t zero_buffer[ZERO_BUFFER_SIZE];

static irpafs_context *context_of(fuse_req_t req) { return fuse_req_userdata(req); }

static irpafs_version *version_of(const struct fuse_file_info *fi) {
    return (irpafs_version *)(uintptr_t)fi->fh;
}

/* ---- request size and the splice pipe ------------------------------------ */

/* libfuse splices a reply (16-byte header + data) through a pipe, and does
 * so only when the pipe can hold pagesize * (buffers + 2) + reply bytes; it
 * can grow its pipe up to /proc/sys/fs/pipe-max-size (1 MiB by default)
 * without privileges. A 1 MiB read never fits, and libfuse's fallback then
 * allocates and frees a 1 MiB buffer per request. So the largest request
 * we ask the kernel for is the pipe's size less some slack, and a reply
 * that would not fit anyway (many small pieces) is copied once into a
 * buffer each thread keeps. */
static size_t page_size;        /* bytes */
static size_t pipe_capacity;    /* bytes: /proc/sys/fs/pipe-max-size */
static size_t request_limit;    /* bytes: the largest read we ask for */
static pthread_once_t limits_once = PTHREAD_ONCE_INIT;
static pthread_key_t copy_buffer_key;

static void compute_limits(void) {
    unsigned long pipe_max = 1u << 20;
    FILE *file = fopen("/proc/sys/fs/pipe-max-size", "re");
    if (file) {
        if (fscanf(file, "%lu", &pipe_max) != 1) pipe_max = 1u << 20;
        fclose(file);
    }
    size_t page = page_size = (size_t)sysconf(_SC_PAGESIZE);
    pipe_capacity = pipe_max;
    size_t limit = pipe_max > (SPLICE_SLACK_PAGES + 32) * page
                       ? pipe_max - SPLICE_SLACK_PAGES * page
                       : 32 * page;
    limit -= limit % page;
    request_limit = limit < IRPAFS_MAX_REQUEST ? limit : IRPAFS_MAX_REQUEST;
    pthread_key_create(&copy_buffer_key, free);
}

size_t irpafs_request_limit(void) {
    pthread_once(&limits_once, compute_limits);
    return request_limit;
}

/* This thread's copy buffer of request_limit bytes, kept until it exits. */
static uint8_t *copy_buffer(void) {
    uint8_t *buffer = pthread_getspecific(copy_buffer_key);
    if (buffer) return buffer;
    buffer = malloc(request_limit);
    if (buffer && pthread_setspecific(copy_buffer_key, buffer) != 0) {
        free(buffer);
        buffer = NULL;
    }
    return buffer;
}

/* ---- init -------------------------------------------------------------- */

static void irpafs_init(void *userdata, struct fuse_conn_info *conn) {
    irpafs_context *context = userdata;
    size_t limit = irpafs_request_limit();
    conn->max_write = (unsigned)limit;  /* also sets max_pages, the largest read */
    if (conn->max_readahead > limit) conn->max_readahead = (unsigned)limit;
    if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
    conn->want &= ~(unsigned)FUSE_CAP_SPLICE_MOVE;
    if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
    /* Readahead requests are "background" ones, and past max_background
     * (12 by default) the kernel queues every new one, of any file, behind
     * those pending: reads of a stalled URL server would hold up the
     * readahead of local archives. */
    if (conn->max_background < MAX_BACKGROUND) {
        conn->max_background = MAX_BACKGROUND;
        conn->congestion_threshold = MAX_BACKGROUND * 3 / 4;
    }
    if (context->conn_options) fuse_apply_conn_info_opts(context->conn_options, conn);
}

/* ---- attributes and names ---------------------------------------------- */

static void entry_from_attributes(const irpafs_context *context, const struct stat *attributes,
                                  struct fuse_entry_param *entry) {
    memset(entry, 0, sizeof *entry);
    entry->ino = attributes->st_ino;
    entry->attr = *attributes;
    entry->attr_timeout = context->timeout;
    entry->entry_timeout = context->timeout;
}

static void irpafs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    irpafs_context *context = context_of(req);
    irpafs_readahead_apply_once(context);
    if (parent != IRPAFS_ROOT_INODE) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    struct stat attributes;
    if (irpafs_table_lookup(context->table, name, &attributes) != 0) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct fuse_entry_param entry;
    entry_from_attributes(context, &attributes, &entry);
    if (fuse_reply_entry(req, &entry) != 0)
        irpafs_table_forget(context->table, entry.ino, 1);
}

static void irpafs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    irpafs_table_forget(context_of(req)->table, ino, nlookup);
    fuse_reply_none(req);
}

static void irpafs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
    irpafs_table *table = context_of(req)->table;
    for (size_t i = 0; i < count; i++) irpafs_table_forget(table, forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

static void irpafs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    irpafs_context *context = context_of(req);
    irpafs_readahead_apply_once(context);
    struct stat attributes;
    if (ino == IRPAFS_ROOT_INODE) {
        irpafs_table_root_attributes(context->table, &attributes);
    } else if (fi && fi->fh) {
        irpafs_version_attributes(version_of(fi), &attributes);
    } else {
        irpafs_version *version = irpafs_table_get(context->table, ino);
        if (!version) {
            fuse_reply_err(req, ENOENT);
            return;
        }
        irpafs_version_attributes(version, &attributes);
        irpafs_version_put(version);
    }
    fuse_reply_attr(req, &attributes, context->timeout);
}

/* ---- files ------------------------------------------------------------- */

static void irpafs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    irpafs_context *context = context_of(req);
    irpafs_readahead_apply_once(context);
    if (ino == IRPAFS_ROOT_INODE) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    irpafs_version *version = irpafs_table_get(context->table, ino);
    if (!version) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)version;
    fi->keep_cache = 1;  /* versions never change: keep pages between opens */
    fi->direct_io = 0;   /* IREE maps the file MAP_SHARED */
    if (fuse_reply_open(req, fi) != 0) irpafs_version_put(version);
}

static void irpafs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    irpafs_prefetch_release(context_of(req)->prefetch, ino);  /* before the reply frees req */
    irpafs_version_put(version_of(fi));
    fuse_reply_err(req, 0);
}

#define LOCAL_SEGMENTS 16  /* segments a read holds on its stack before it allocates */

irpa_segment *irpafs_map_range(const irpa_archive *archive, uint64_t offset, uint64_t length,
                               irpa_segment *local, size_t local_count, size_t *count) {
    size_t capacity = local_count, used = 0;
    irpa_segment *segments = local;
    while (length > 0 && offset < archive->file_size) {
        if (used == capacity) {
            irpa_segment *grown = malloc(2 * capacity * sizeof *grown);
            if (!grown) {
                if (segments != local) free(segments);
                return NULL;
            }
            memcpy(grown, segments, used * sizeof *grown);
            if (segments != local) free(segments);
            segments = grown;
            capacity *= 2;
        }
        uint64_t covered = 0;
        used += irpa_archive_map(archive, offset, length, segments + used, capacity - used, &covered);
        if (covered == 0 && used < capacity) break;  /* end of file */
        offset += covered;
        length -= covered;
    }
    *count = used;
    return segments;
}

/* Buffers a reply of these segments takes: one per segment, a zero run one
 * per ZERO_BUFFER_SIZE of the shared zero buffer. */
static size_t reply_buffers(const irpa_segment *segments, size_t count) {
    size_t buffers = 0;
    for (size_t i = 0; i < count; i++)
        buffers += segments[i].kind == IRPA_SEGMENT_ZERO
                       ? (size_t)((segments[i].length + ZERO_BUFFER_SIZE - 1) / ZERO_BUFFER_SIZE)
                       : 1;
    return buffers;
}

struct fuse_bufvec *irpafs_bufvec_for(const irpa_archive *archive, const irpa_segment *segments,
                                      size_t count) {
    size_t buffers = reply_buffers(segments, count);
    struct fuse_bufvec *vector =
        calloc(1, sizeof *vector + (buffers ? buffers - 1 : 0) * sizeof vector->buf[0]);
    if (!vector) return NULL;
    vector->count = buffers;
    size_t next = 0;
    for (size_t i = 0; i < count; i++) {
        const irpa_segment *segment = &segments[i];
        if (segment->kind == IRPA_SEGMENT_ZERO) {
            for (uint64_t left = segment->length; left > 0;) {
                size_t piece = left > ZERO_BUFFER_SIZE ? ZERO_BUFFER_SIZE : (size_t)left;
                vector->buf[next++] = (struct fuse_buf){.size = piece, .mem = zero_buffer};
                left -= piece;
            }
        } else if (segment->kind == IRPA_SEGMENT_MEMORY) {
            vector->buf[next++] =
                (struct fuse_buf){.size = (size_t)segment->length, .mem = (void *)segment->memory};
        } else {
            vector->buf[next++] = (struct fuse_buf){
                .size = (size_t)segment->length,
                .flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK,
                .fd = archive->sources[segment->source].fd,
                .pos = (off_t)segment->source_offset,
            };
        }
    }
    return vector;
}

/* Whether libfuse can splice a reply of these segments (see above). */
static bool splice_fits(const irpa_segment *segments, size_t count, size_t size) {
    size_t page = page_size;
    size_t buffers = reply_buffers(segments, count);
    return size >= 2 * page && page * (buffers + 3) + size + 16 <= pipe_capacity;
}

/* Replies with one copy into this thread's buffer. 0, or an errno. */
static int reply_copied(fuse_req_t req, const irpa_archive *archive,
                        const irpa_segment *segments, size_t count) {
    uint8_t *buffer = copy_buffer();
    if (!buffer) return ENOMEM;
    size_t used = 0;
    for (size_t i = 0; i < count; i++) used += (size_t)segments[i].length;
    if (irpa_archive_fill(archive, segments, count, buffer) != 0) return EIO;
    fuse_reply_buf(req, (const char *)buffer, used);
    return 0;
}

/* Replies with the bytes of one segment of a URL source straight from the
 * chunk that holds them (core/url_chunks.h), without copying them first:
 * 0, EIO (the fetch failed), or -1 when that does not apply (the caller
 * copies). */
static int reply_pinned(fuse_req_t req, const irpa_archive *archive, const irpa_segment *segment) {
    irpa_url_source *remote = archive->sources[segment->source].remote;
    const void *bytes;
    void *pin;
    int pinned = irpa_url_source_pin(remote, segment->source_offset, segment->length, &bytes, &pin);
    if (pinned > 0) return -1;
    if (pinned < 0) return EIO;
    fuse_reply_buf(req, bytes, (size_t)segment->length);
    irpa_url_source_unpin(remote, pin);
    return 0;
}

/* Replies to a read of one segment of a URL source from the on-disk cache
 * (-o cache_dir) when it holds all its bytes: local reads, no need to
 * hand them to the network threads, spliced from the block files as a
 * local source's are (a copy through memory measured 0.72x a local
 * source's speed). Whether it replied. */
#define CACHED_PIECES (IRPAFS_MAX_REQUEST / IRPA_CACHE_BLOCK + 1) /* blocks one read spans */
static bool reply_cached(fuse_req_t req, const irpa_archive *archive, const irpa_segment *segments,
                         size_t count) {
    if (count != 1 || segments[0].length > request_limit) return false;
    irpa_url_source *remote = archive->sources[segments[0].source].remote;
    irpa_cached_piece pieces[CACHED_PIECES];
    size_t pieces_count = irpa_url_source_cached_pieces(
        remote, segments[0].source_offset, segments[0].length, pieces, CACHED_PIECES);
    if (pieces_count == 0) return false;
    struct fuse_bufvec *vector =
        calloc(1, sizeof *vector + (pieces_count - 1) * sizeof vector->buf[0]);
    if (vector) {
        vector->count = pieces_count;
        for (size_t i = 0; i < pieces_count; i++)
            vector->buf[i] = (struct fuse_buf){.size = (size_t)pieces[i].length,
                                               .flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK,
                                               .fd = pieces[i].fd,
                                               .pos = (off_t)pieces[i].position};
        fuse_reply_data(req, vector, 0);
    }
    for (size_t i = 0; i < pieces_count; i++) close(pieces[i].fd);
    free(vector);
    return vector != NULL;
}

/* Replies to a read of one segment of a URL source straight from a chunk
 * held in memory, when one holds its bytes: no network, so no hand-over
 * to the network threads (it costs a wake-up and a thread switch per
 * read). Whether it replied. */
static bool reply_held(fuse_req_t req, irpafs_context *context, irpafs_version *version,
                       uint64_t inode, uint64_t offset, const irpa_segment *segments,
                       size_t count) {
    const irpa_archive *archive = version->archive;
    if (count != 1 || segments[0].kind != IRPA_SEGMENT_SOURCE) return false;
    irpa_url_source *remote = archive->sources[segments[0].source].remote;
    const void *bytes;
    void *pin;
    /* A source that changed: the usual path finds out why, and says so. */
    if (!remote || irpafs_version_check_sources(version, segments, count, true) != 0 ||
        !irpa_url_source_pin_held(remote, segments[0].source_offset, segments[0].length, &bytes,
                                  &pin))
        return false;
    /* Before the reply: after it, the handle (and the version) may be released. */
    irpafs_prefetch_note_read(context->prefetch, version, inode, offset, segments[0].length);
    irpafs_net_reads_served(context->net_reads, version, offset, segments[0].length);
    fuse_reply_buf(req, bytes, (size_t)segments[0].length);
    irpa_url_source_unpin(remote, pin);  /* the source lives until its pins are gone */
    return true;
}

int irpafs_serve_read(fuse_req_t req, irpafs_context *context, irpafs_version *version,
                      uint64_t inode, uint64_t offset, size_t size, bool may_hand_over) {
    irpafs_prefetch *prefetch = context->prefetch;  /* req is gone after the reply */
    const irpa_archive *archive = version->archive;
    if (offset >= archive->file_size || size == 0) {
        fuse_reply_buf(req, NULL, 0);
        return 0;
    }
    size_t count = 0;
    irpa_segment local[LOCAL_SEGMENTS];
    irpa_segment *segments = irpafs_map_range(archive, offset, size, local, LOCAL_SEGMENTS, &count);
    if (!segments) {
        fuse_reply_err(req, ENOMEM);
        return ENOMEM;
    }
    const char *url = irpa_segments_first_origin(archive, segments, count);
    /* A read of URL sources goes to the network threads, unless the on-disk
     * cache or a chunk in memory has its bytes (no network to wait on). */
    if (url && may_hand_over && context->net_reads &&
        (reply_cached(req, archive, segments, count) ||
         reply_held(req, context, version, inode, offset, segments, count) ||
         irpafs_net_reads_submit(context->net_reads, req, version, inode, offset, size, url))) {
        if (segments != local) free(segments);
        return 0;
    }
    uint64_t covered = 0;
    for (size_t i = 0; i < count; i++) covered += segments[i].length;
    /* A spliced reply checks every source every time: a source truncated
     * under a splice would send a short reply, which the kernel takes for
     * the end of the file. A small reply copied with pread may trust a
     * recent check (freshness.h): such a pread fails on a truncated source
     * anyway. URL bytes are always copied: they come from memory. */
    bool copied = (!splice_fits(segments, count, (size_t)covered) || url) &&
                  covered <= request_limit;
    int error = irpafs_version_check_sources(version, segments, count, copied);
    bool changed = error == EIO;  /* a source changed: the page cache must go */
    /* Before the reply: after it, the handle (and the file) may be released.
     * Only tells the prefetch worker; never pushes from here (page locks). */
    if (!error) irpafs_prefetch_note_read(prefetch, version, inode, offset, covered);
    if (!error && copied) {
        error = count == 1 && url ? reply_pinned(req, archive, &segments[0]) : -1;
        if (error < 0) error = reply_copied(req, archive, segments, count);
        /* A pread that failed or came up short: find out why, and log it.
         * A network fault changed nothing: the cache stays. */
        if (error == EIO)
            changed = irpafs_version_check_sources(version, segments, count, false) == EIO;
        if (error == EIO) irpafs_net_report_faults(archive, segments, count);
    } else if (!error) {
        struct fuse_bufvec *vector = irpafs_bufvec_for(archive, segments, count);
        if (vector) fuse_reply_data(req, vector, 0);
        else error = ENOMEM;
        free(vector);
    }
    if (segments != local) free(segments);
    if (error) {
        fuse_reply_err(req, error);
        if (changed) irpafs_prefetch_source_changed(prefetch, inode);
    }
    return error;
}

static void irpafs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
                        struct fuse_file_info *fi) {
    if (offset < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    irpafs_serve_read(req, context_of(req), version_of(fi), ino, (uint64_t)offset, size, true);
}

/* ---- the directory ----------------------------------------------------- */

/* An open listing: the names as they were at opendir. */
typedef struct listing {
    irpafs_dirent *entries;  /* sorted names with their inode numbers */
    size_t count;            /* entries held */
} listing;

static void irpafs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    irpafs_context *context = context_of(req);
    irpafs_readahead_apply_once(context);
    if (ino != IRPAFS_ROOT_INODE) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    listing *snapshot = calloc(1, sizeof *snapshot);
    long count = snapshot ? irpafs_table_list(context->table, &snapshot->entries) : -1;
    if (count < 0) {
        free(snapshot);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    snapshot->count = (size_t)count;
    fi->fh = (uint64_t)(uintptr_t)snapshot;
    if (fuse_reply_open(req, fi) != 0) {
        irpafs_dirents_free(snapshot->entries, snapshot->count);
        free(snapshot);
    }
}

static void irpafs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino;
    listing *snapshot = (listing *)(uintptr_t)fi->fh;
    irpafs_dirents_free(snapshot->entries, snapshot->count);
    free(snapshot);
    fuse_reply_err(req, 0);
}

/* Directory offsets: 1 is after ".", 2 after "..", 2 + i + 1 after entry i. */
static void list_directory(fuse_req_t req, size_t size, off_t offset, struct fuse_file_info *fi,
                           bool plus) {
    irpafs_context *context = context_of(req);
    listing *snapshot = (listing *)(uintptr_t)fi->fh;
    if (size > IRPAFS_MAX_REQUEST) size = IRPAFS_MAX_REQUEST;
    char *buffer = malloc(size ? size : 1);
    if (!buffer) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t used = 0;
    for (off_t position = offset < 0 ? 0 : offset; (size_t)position < snapshot->count + 2;
         position++) {
        const char *name = position == 0 ? "." : position == 1 ? ".." : snapshot->entries[position - 2].name;
        struct fuse_entry_param entry;
        memset(&entry, 0, sizeof entry);
        entry.attr.st_mode = position < 2 ? S_IFDIR : S_IFREG;
        entry.attr.st_ino = position < 2 ? IRPAFS_ROOT_INODE : snapshot->entries[position - 2].inode;
        size_t room = size - used;
        if (!plus) {
            size_t needed = fuse_add_direntry(req, buffer + used, room, name, &entry.attr, position + 1);
            if (needed > room) break;
            used += needed;
            continue;
        }
        if (fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0) > room) break;
        if (position >= 2) {
            struct stat attributes;
            if (irpafs_table_lookup(context->table, name, &attributes) != 0) continue;  /* gone */
            entry_from_attributes(context, &attributes, &entry);
        }
        used += fuse_add_direntry_plus(req, buffer + used, room, name, &entry, position + 1);
    }
    fuse_reply_buf(req, buffer, used);
    free(buffer);
}

static void irpafs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
                           struct fuse_file_info *fi) {
    (void)ino;
    list_directory(req, size, offset, fi, false);
}

static void irpafs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
                               struct fuse_file_info *fi) {
    (void)ino;
    list_directory(req, size, offset, fi, true);
}

static void irpafs_statfs(fuse_req_t req, fuse_ino_t ino) {
    (void)ino;
    uint64_t files = 0, bytes = 0;
    irpafs_table_totals(context_of(req)->table, &files, &bytes);
    struct statvfs totals;
    memset(&totals, 0, sizeof totals);
    totals.f_bsize = IRPAFS_BLOCK_SIZE;       /* preferred I/O size */
    totals.f_frsize = IRPA_FILE_ALIGNMENT;    /* unit of f_blocks: archives are multiples of it */
    totals.f_blocks = (fsblkcnt_t)(bytes / IRPA_FILE_ALIGNMENT);
    totals.f_files = (fsfilcnt_t)(files + 1);
    totals.f_namemax = 255;
    totals.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &totals);
}

/* No operation that writes: the mount is always read-only (main.c adds
 * `ro`), so the kernel refuses every write, create, rename, chmod, link and
 * xattr change with EROFS before asking (tests/fs/readonly.sh). open still
 * refuses a write mode itself. */
static const struct fuse_lowlevel_ops operations = {
    .init = irpafs_init,
    .lookup = irpafs_lookup,
    .forget = irpafs_forget,
    .forget_multi = irpafs_forget_multi,
    .getattr = irpafs_getattr,
    .open = irpafs_open,
    .read = irpafs_read,
    .release = irpafs_release,
    .opendir = irpafs_opendir,
    .readdir = irpafs_readdir,
    .readdirplus = irpafs_readdirplus,
    .releasedir = irpafs_releasedir,
    .statfs = irpafs_statfs,
};

const struct fuse_lowlevel_ops *irpafs_ll_operations(void) { return &operations; }
