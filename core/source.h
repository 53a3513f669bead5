/* source.h: a model file an archive draws bytes from.
 *
 * A source is opened once, read-only, when its manifest is resolved, and a
 * snapshot of its stat is kept. Every later read goes through the same
 * descriptor, so a source deleted or replaced by rename keeps serving the
 * bytes it had; a source truncated or rewritten in place is detected by
 * comparing a fresh fstat with the snapshot (irpa_source_changed). */
#ifndef IRPA_SOURCE_H
#define IRPA_SOURCE_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "errors.h"

typedef struct irpa_source {
    char *path;             /* path as opened (relative to the cwd or absolute), owned; for a
                               URL source the URL as messages show it (irpa_http_redact:
                               no query string, no user:password@) */
    char *url;              /* a URL source's URL as written (requests, shards beside an
                               index, telling sources apart), owned; NULL for a file */
    int fd;                 /* read-only descriptor, -1 when closed */
    uint64_t size;          /* st_size at open, in bytes */
    struct timespec mtime;  /* st_mtim at open */
    dev_t dev;              /* st_dev at open */
    ino_t ino;              /* st_ino at open */
    struct irpa_url_source *remote; /* an http(s) URL source (url_source.h), else NULL;
                                       then fd is -1, reads and close go to remote_ops, and
                                       its freshness is irpa_url_probe's (freshness.h) */
    const struct irpa_remote_ops *remote_ops;
} irpa_source;

/* What a source that is not a local file does (url_source.c fills it), so
 * that this file needs none of it to link. */
typedef struct irpa_remote_ops {
    int (*pread)(struct irpa_url_source *remote, void *buffer, uint64_t length, uint64_t offset);
    int (*changed)(struct irpa_url_source *remote, char *why, size_t why_size);
    void (*close)(struct irpa_url_source *remote);
} irpa_remote_ops;

/* Opens `path` read-only and takes the stat snapshot. `where` prefixes the
 * error ("m.yaml:4:7"); it may be NULL. Refuses anything but a regular file
 * (opened non-blocking, so a FIFO cannot hang the caller). Returns 0, or -1
 * with one error naming the path and the errno text. */
int irpa_source_open(irpa_source *source, const char *path, const char *where,
                     irpa_errors *errors);

/* Opens `path` for reading on the caller's behalf (for instance with
 * another user's rights) with `flags` (O_RDONLY and more); returns a
 * descriptor, or -1 with errno set. */
typedef int (*irpa_open_function)(void *context, const char *path, int flags);

/* irpa_source_open, opening through `open_file(context, ...)`; a NULL
 * `open_file` is open(2) with the caller's own rights. */
int irpa_source_open_with(irpa_source *source, const char *path, const char *where,
                          irpa_open_function open_file, void *context, irpa_errors *errors);

/* Closes the descriptor and frees the path; safe on a zeroed or closed source. */
void irpa_source_close(irpa_source *source);

/* Compares a fresh fstat of the open descriptor with the snapshot (a file
 * source; freshness.h picks the probe for each kind).
 * Returns 0 when unchanged; otherwise 1 and writes to `why` (size `why_size`)
 * how it changed ("truncated from 1024 to 512 bytes", "modified in place
 * (mtime changed)"). The fresh stat goes to `now` when it is not NULL (its
 * st_nlink is 0 once the file has no name left). */
int irpa_source_changed(const irpa_source *source, struct stat *now, char *why,
                        size_t why_size);

/* Whether (dev, ino) is the file that was opened. */
int irpa_source_is(const irpa_source *source, dev_t dev, ino_t ino);

/* Whether the path still names the file that was opened (same dev and
 * inode). 0 when it was deleted or replaced by another file, 1 otherwise. */
int irpa_source_path_is_current(const irpa_source *source);

/* Reads exactly `length` bytes at `offset` into `buffer` (pread, retrying
 * short reads and EINTR). Returns 0, or -1 with errno set (EIO on EOF). */
int irpa_source_pread(const irpa_source *source, void *buffer, uint64_t length,
                      uint64_t offset);

#endif
