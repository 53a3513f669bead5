/* url_source.h: a source that is an http:// or https:// URL (http.h).
 *
 * It fills the same irpa_source as a local file (source.h), with fd -1 and
 * `remote` set; source.c sends each call on a remote source here. Its
 * identity is recorded when it is opened (at manifest load); a read that
 * finds the object replaced marks it replaced for good, so the freshness
 * checks report it (irpa_url_probe, freshness.h: the mount logs it once and
 * gives EIO, as for a rewritten file) until the manifest is loaded again. Other faults
 * fail that read only. Small reads (a model header parsed a window at a
 * time) are served from one block of URL_BLOCK bytes fetched ahead; larger
 * ones a chunk at a time when the options give a chunk store (the mount's,
 * url_chunks.h), else as they come, through the on-disk cache when there
 * is one (url_cache.h). */
#ifndef IRPA_URL_SOURCE_H
#define IRPA_URL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive.h"
#include "errors.h"
#include "source.h"
#include "url_options.h"

typedef struct irpa_url_source irpa_url_source;

/* Opens `url` with request headers `headers` ("Name: value", ${VAR}
 * expanded here unless options->no_environment), reads bounded by
 * options->timeout_ms and cached in options->cache (url_options.h).
 * `where` prefixes the error; it may be NULL. 0, or -1 with one error. */
int irpa_url_source_open(irpa_source *source, const char *url, const char *const *headers,
                         size_t header_count, const irpa_url_options *options,
                         const char *where, irpa_errors *errors);

/* Exactly `length` bytes at `offset`: 0, or -1 with errno EIO (ESTALE
 * once the object was replaced); irpa_url_source_error says why. */
int irpa_url_source_pread(irpa_url_source *remote, void *buffer, uint64_t length,
                          uint64_t offset);

/* Whether a read found the object replaced; `why` then says so. */
int irpa_url_source_changed(irpa_url_source *remote, char *why, size_t why_size);

/* The message of the last failed read (no header value, no query string). */
void irpa_url_source_error(irpa_url_source *remote, char *out, size_t out_size);

/* Whether a failed read should be reported now: true at most once per
 * `interval_ms` per source (the first time, and then after that long). */
bool irpa_url_source_report_due(irpa_url_source *remote, int64_t interval_ms);

/* Bytes of the on-disk cache's block files, read in place. */
typedef struct irpa_cached_piece {
    int fd;            /* a block file, open; the caller closes it */
    uint64_t position; /* where the bytes start in it */
    uint64_t length;
} irpa_cached_piece;

/* Where the on-disk cache holds bytes [offset, offset + length) of the
 * object, when it holds them all (no request; the mount splices its reply
 * from there): their pieces in order, at most `max`, in `pieces`, and their
 * count; 0 when the cache misses a byte or more than `max` pieces would be
 * needed (nothing is left open). */
size_t irpa_url_source_cached_pieces(irpa_url_source *remote, uint64_t offset, uint64_t length,
                                     irpa_cached_piece *pieces, size_t max);

/* Bytes [offset, offset + length) of the object in place, in the chunk of
 * the store that holds them (fetched first if need be), held until
 * irpa_url_source_unpin: the mount replies from there without a copy. 0
 * with *bytes and *pin set; 1 when this does not apply (no store, an
 * on-disk cache, a small read, bytes across two chunks, no slot free:
 * read with irpa_url_source_pread); -1 with errno set as pread sets it. */
int irpa_url_source_pin(irpa_url_source *remote, uint64_t offset, uint64_t length,
                        const void **bytes, void **pin);

/* irpa_url_source_pin when a chunk held in memory has the bytes already:
 * no request, no wait. Whether it pinned them. */
bool irpa_url_source_pin_held(irpa_url_source *remote, uint64_t offset, uint64_t length,
                              const void **bytes, void **pin);

void irpa_url_source_unpin(irpa_url_source *remote, void *pin);

/* Whether bytes [offset, offset + length) of the object have chunks
 * neither held nor being fetched in the source's chunk store (false
 * without one): a fetch ahead there would fetch something. */
bool irpa_url_source_ahead_due(irpa_url_source *remote, uint64_t offset, uint64_t length);

/* Fetches those chunks into the store (url_chunks.h), from the calling
 * thread: the mount's network threads read ahead of a streaming reader
 * with it. 0, or -1 with errno set as a read sets it. */
int irpa_url_source_fetch_ahead(irpa_url_source *remote, uint64_t offset, uint64_t length);

void irpa_url_source_close(irpa_url_source *remote);

/* The server of the first URL source these segments read, as an origin
 * key (irpa_http_origin), NULL when none does (the mount then replies from
 * memory: such bytes cannot be spliced from a descriptor; the key names the
 * server its read waits on). */
const char *irpa_segments_first_origin(const irpa_archive *archive, const irpa_segment *segments,
                                       size_t count);

/* The server of a URL source, as an origin key (irpa_http_origin). */
const char *irpa_url_source_origin(const irpa_url_source *remote);

#endif
