/* build.c: archive segments -> a file, atomically. See build.h. */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "freshness.h"
#include "url_source.h"

#define CHUNK_BYTES (64u << 20)  /* most bytes handled between progress calls */
#define COPY_BUFFER (128u << 10) /* the read/write copy's buffer (see copy_source) */
#define REMOTE_CHUNK (8u << 20) /* a URL source is read this much at a time, in ranges */
#define PAGE_BYTES 4096u         /* pages: what decides between the two ways to copy */

typedef struct writer {
    const irpa_archive *archive;
    int fd;                  /* output descriptor */
    const char *out_name;    /* for messages */
    uint8_t *buffer;         /* COPY_BUFFER bytes, zeroed for zero runs; lazily allocated */
    int copy_file_range_ok;  /* 0 once the kernel refused copy_file_range for this pair */
    uint64_t position;       /* archive offset of the next byte written */
    irpa_freshness freshness; /* whether the sources still hold their bytes (freshness.h) */
    irpa_errors *errors;
} writer;

static int write_all(writer *w, const void *bytes, uint64_t length) {
    const uint8_t *at = bytes;
    while (length > 0) {
        size_t chunk = length > (1u << 30) ? (1u << 30) : (size_t)length;
        ssize_t written = write(w->fd, at, chunk);
        if (written < 0) {
            if (errno == EINTR) continue;
            return irpa_error(w->errors, "%s: write failed: %s", w->out_name, strerror(errno));
        }
        at += written;
        length -= (uint64_t)written;
    }
    return 0;
}

static int ensure_buffer(writer *w) {
    if (w->buffer) return 0;
    w->buffer = calloc(1, COPY_BUFFER);
    if (!w->buffer) return irpa_error(w->errors, "out of memory");
    return 0;
}

static int write_zeros(writer *w, uint64_t length) {
    if (ensure_buffer(w) != 0) return -1;
    while (length > 0) {
        uint64_t chunk = length < COPY_BUFFER ? length : COPY_BUFFER;
        memset(w->buffer, 0, (size_t)chunk);
        if (write_all(w, w->buffer, chunk) != 0) return -1;
        length -= chunk;
    }
    return 0;
}

static int source_error(writer *w, const irpa_source *source, const char *what) {
    return irpa_error(w->errors, "%s: source '%s': %s", w->out_name, source->path, what);
}

/* Copies through user space: pread into the buffer, write it out. */
static int copy_by_reading(writer *w, const irpa_source *source, uint64_t offset,
                           uint64_t length) {
    if (ensure_buffer(w) != 0) return -1;
    while (length > 0) {
        uint64_t chunk = length < COPY_BUFFER ? length : COPY_BUFFER;
        if (irpa_source_pread(source, w->buffer, chunk, offset) != 0)
            return source_error(w, source, errno == EIO ? "shorter than when it was opened"
                                                        : strerror(errno));
        if (write_all(w, w->buffer, chunk) != 0) return -1;
        offset += chunk;
        length -= chunk;
    }
    return 0;
}

/* Copies from a URL source REMOTE_CHUNK at a time (each read several
 * ranges in flight, http.h). */
static int copy_remote(writer *w, const irpa_source *source, uint64_t offset, uint64_t length) {
    uint8_t *buffer = malloc(length < REMOTE_CHUNK ? (size_t)length : REMOTE_CHUNK);
    if (!buffer) return irpa_error(w->errors, "out of memory");
    int status = 0;
    while (status == 0 && length > 0) {
        uint64_t chunk = length < REMOTE_CHUNK ? length : REMOTE_CHUNK;
        if (irpa_source_pread(source, buffer, chunk, offset) != 0) {
            char why[384];
            irpa_url_source_error(source->remote, why, sizeof why);
            status = irpa_error(w->errors, "%s: %s", w->out_name, why);
        } else {
            status = write_all(w, buffer, chunk);
        }
        offset += chunk;
        length -= chunk;
    }
    free(buffer);
    return status;
}

/* Copies in the kernel with copy_file_range when the source range sits at
 * the same place within its pages as its place in the archive (whole pages
 * map onto whole pages, and file systems that share extents can). Otherwise
 * each page written straddles two source pages, and copy_file_range took
 * 0.38-0.47 s per GiB against 0.25-0.33 s through a buffer (ext4,
 * Linux 6.18): then, and when the kernel refuses, it copies by reading,
 * COPY_BUFFER at a time as cp does (larger writes make ext4 allocate larger
 * folios: with 512 KiB a 1 GiB build took 0.55-1.9 s). */
static int copy_source(writer *w, const irpa_source *source, uint64_t offset,
                       uint64_t length) {
    if (source->remote) return copy_remote(w, source, offset, length);
    bool pages_line_up = offset % PAGE_BYTES == w->position % PAGE_BYTES;
    while (length > 0 && w->copy_file_range_ok && pages_line_up) {
        loff_t source_offset = (loff_t)offset;
        size_t chunk = length > (1u << 30) ? (1u << 30) : (size_t)length;
        ssize_t copied = copy_file_range(source->fd, &source_offset, w->fd, NULL, chunk, 0);
        if (copied < 0) {
            if (errno == EINTR) continue;
            if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                errno == EBADF || errno == ETXTBSY || errno == EPERM) {
                w->copy_file_range_ok = 0;
                break;
            }
            return source_error(w, source, strerror(errno));
        }
        if (copied == 0) return source_error(w, source, "shorter than when it was opened");
        offset += (uint64_t)copied;
        length -= (uint64_t)copied;
    }
    return length ? copy_by_reading(w, source, offset, length) : 0;
}

/* irpa_freshness_report: a changed source fails the build; a replaced one
 * does not (its descriptor still reads the bytes it had). */
static void report_source(void *context, uint32_t source, irpa_staleness what, const char *why) {
    writer *w = context;
    if (what == IRPA_SOURCE_CHANGED)
        irpa_error(w->errors, "%s: source '%s' changed while building: %s", w->out_name,
                   w->archive->sources[source].path, why);
}

static int check_source(writer *w, uint32_t source) {
    return irpa_freshness_check_source(&w->freshness, source, false, report_source, w);
}

static int write_segment(writer *w, const irpa_segment *segment) {
    int status = -1;
    switch (segment->kind) {
    case IRPA_SEGMENT_MEMORY:
        status = write_all(w, segment->memory, segment->length);
        break;
    case IRPA_SEGMENT_ZERO:
        status = write_zeros(w, segment->length);
        break;
    case IRPA_SEGMENT_SOURCE: {
        const irpa_source *source = &w->archive->sources[segment->source];
        status = check_source(w, segment->source) != 0
                     ? -1
                     : copy_source(w, source, segment->source_offset, segment->length);
        break;
    }
    }
    w->position += segment->length;
    return status;
}

int irpa_build_write_fd(const irpa_archive *archive, int fd, const char *out_name,
                        irpa_progress_fn progress, void *context, irpa_errors *errors) {
    writer w = {.archive = archive, .fd = fd, .out_name = out_name,
                .copy_file_range_ok = 1, .errors = errors};
    if (irpa_freshness_init(&w.freshness, archive) != 0) return irpa_error(errors, "out of memory");
    int status = 0;
    uint64_t position = 0;
    while (status == 0 && position < archive->file_size) {
        irpa_segment segments[64];
        uint64_t covered;
        size_t count = irpa_archive_map(archive, position, CHUNK_BYTES, segments, 64, &covered);
        for (size_t i = 0; status == 0 && i < count; i++) status = write_segment(&w, &segments[i]);
        position += covered;
        if (status == 0 && progress && progress(position, archive->file_size, context) != 0)
            status = irpa_error(errors, "%s: interrupted", out_name);
    }
    /* Sources checked once more at the end: a change during the last copy counts. */
    for (size_t i = 0; status == 0 && i < archive->source_count; i++)
        status = check_source(&w, (uint32_t)i);
    irpa_freshness_free(&w.freshness);
    free(w.buffer);
    return status;
}

/* A temporary path beside `out_path`: DIR/.NAME.XXXXXX, with at most the
 * first 200 bytes of NAME, so that it fits in a file name (255 bytes) when
 * NAME does. */
static char *temporary_path(const char *out_path) {
    char *copy_dir = strdup(out_path), *copy_base = strdup(out_path);
    char *result = NULL;
    if (copy_dir && copy_base &&
        asprintf(&result, "%s/.%.200s.XXXXXX", dirname(copy_dir), basename(copy_base)) < 0)
        result = NULL;
    free(copy_dir);
    free(copy_base);
    return result;
}

static void sync_directory_of(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int dir = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        fsync(dir);
        close(dir);
    }
    free(copy);
}

/* `out_path`, or DIR/<archive name> when it names an existing directory.
 * Returns a new string, or NULL with an error. */
static char *destination_path(const irpa_archive *archive, const char *out_path,
                              irpa_errors *errors) {
    struct stat st;
    size_t length = strlen(out_path);
    if (length == 0) {
        irpa_error(errors, "the output path is empty");
        return NULL;
    }
    bool is_directory = stat(out_path, &st) == 0 && S_ISDIR(st.st_mode);
    if (!is_directory && out_path[length - 1] == '/') {
        irpa_error(errors, "%s: no such directory", out_path);
        return NULL;
    }
    if (!is_directory) {
        char *copy = strdup(out_path);
        if (!copy) irpa_error(errors, "out of memory");
        return copy;
    }
    if (!archive->name) {
        irpa_error(errors, "%s: is a directory, and the archive has no name to write in it",
                   out_path);
        return NULL;
    }
    char *joined = NULL;
    if (asprintf(&joined, "%s%s%s", out_path, out_path[length - 1] == '/' ? "" : "/",
                 archive->name) < 0) {
        irpa_error(errors, "out of memory");
        return NULL;
    }
    return joined;
}

/* Why renaming a new file onto an existing `target` (lstat: a symbolic
 * link is replaced, not followed) in the directory `parent` would fail or
 * do harm; NULL when it would not. */
static const char *replace_problem(const irpa_archive *archive, const struct stat *target,
                                   const struct stat *parent) {
    uid_t me = geteuid();
    if ((parent->st_mode & S_ISVTX) && me != 0 && target->st_uid != me && parent->st_uid != me)
        return "belongs to another user in a sticky directory: it cannot be replaced";
    if (S_ISLNK(target->st_mode)) return NULL;
    if (S_ISDIR(target->st_mode)) return "is a directory";
    if (!S_ISREG(target->st_mode))
        return "exists and is not a regular file (irpa build replaces OUT with a new file; "
               "-o - writes to standard output)";
    for (size_t i = 0; i < archive->source_count; i++)
        if (irpa_source_is(&archive->sources[i], target->st_dev, target->st_ino))
            return "is a source of this archive; building would replace it";
    if (archive->manifest_ino && archive->manifest_dev == target->st_dev &&
        archive->manifest_ino == target->st_ino)
        return "is the manifest of this archive; building would replace it";
    return NULL;
}

/* Checks, before a byte is written, that the archive can be renamed onto
 * `path`: its directory exists and takes new files, and `path` is not
 * something a rename cannot or must not replace. Returns 0 or -1. */
static int check_destination(const irpa_archive *archive, const char *path,
                             irpa_errors *errors) {
    char *copy = strdup(path);
    if (!copy) return irpa_error(errors, "out of memory");
    const char *directory = dirname(copy);
    struct stat parent, target;
    int status = 0;
    if (stat(directory, &parent) != 0)
        status = irpa_error(errors, "%s: directory '%s': %s", path, directory,
                            errno == ENOENT ? "does not exist" : strerror(errno));
    else if (!S_ISDIR(parent.st_mode))
        status = irpa_error(errors, "%s: '%s' is not a directory", path, directory);
    else if (access(directory, W_OK | X_OK) != 0)
        status = irpa_error(errors, "%s: cannot create files in directory '%s': %s", path,
                            directory, strerror(errno));
    else if (lstat(path, &target) != 0) {
        if (errno != ENOENT) status = irpa_error(errors, "%s: %s", path, strerror(errno));
    } else {
        const char *problem = replace_problem(archive, &target, &parent);
        if (problem) status = irpa_error(errors, "%s: %s", path, problem);
    }
    free(copy);
    return status;
}

/* Writes to a temporary file beside `path`, then renames it onto `path`. */
static int write_atomically(const irpa_archive *archive, const char *out_path,
                            irpa_progress_fn progress, void *context, irpa_errors *errors) {
    char *temporary = temporary_path(out_path);
    if (!temporary) return irpa_error(errors, "out of memory");
    int fd = mkostemp(temporary, O_CLOEXEC);
    if (fd < 0) {
        irpa_error(errors, "%s: cannot create a temporary file beside it: %s", out_path,
                   strerror(errno));
        free(temporary);
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    int status = 0;
    if (fchmod(fd, 0666 & ~mask) != 0)
        status = irpa_error(errors, "%s: chmod: %s", temporary, strerror(errno));
    if (status == 0)
        status = irpa_build_write_fd(archive, fd, out_path, progress, context, errors);
    if (status == 0 && fsync(fd) != 0)
        status = irpa_error(errors, "%s: fsync failed: %s", out_path, strerror(errno));
    if (close(fd) != 0 && status == 0)
        status = irpa_error(errors, "%s: close failed: %s", out_path, strerror(errno));
    if (status == 0 && rename(temporary, out_path) != 0)
        status = irpa_error(errors, "%s: cannot rename the temporary file into place: %s",
                            out_path, strerror(errno));
    if (status != 0)
        unlink(temporary);
    else
        sync_directory_of(out_path);
    free(temporary);
    return status;
}

int irpa_build_to_path(const irpa_archive *archive, const char *out_path,
                       irpa_progress_fn progress, void *context, irpa_errors *errors) {
    if (!strcmp(out_path, "-"))
        return irpa_build_write_fd(archive, STDOUT_FILENO, "<stdout>", progress, context,
                                   errors);
    char *destination = destination_path(archive, out_path, errors);
    if (!destination) return -1;
    int status = check_destination(archive, destination, errors);
    if (status == 0) status = write_atomically(archive, destination, progress, context, errors);
    free(destination);
    return status;
}
