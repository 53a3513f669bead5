/* prefetch.h: pushing archive bytes into the mount's page cache ahead of a
 * streaming reader (-o prefetch=SIZE, -o one_copy=1|0).
 *
 * One worker thread per mount. Read handlers only *tell* it where a reader
 * is (irpafs_prefetch_note_read: a mutex and a few comparisons); the worker
 * does the pushing, with fuse_lowlevel_notify_store, never from inside a
 * request (the kernel may hold the page lock a push waits for).
 *
 * A reader is *streaming* once two of its reads in a row start where the
 * previous one ended (give or take the pads between tensors). From then on
 * the worker keeps the archive bytes up to `window` bytes past the reader in
 * the page cache: it starts a quarter window past the reader (the reader's
 * own reads fill the gap, so the pushes do not race them for the same
 * pages), and pushes chunks spliced from the source descriptors of the same
 * segments (irpa_archive_map), checked as a read checks its sources. Reads
 * served from the page cache never reach the server, so the worker leaves
 * one page unpushed every quarter window (a *tripwire*): the reader's read
 * of it says how far the reader got; a reader that stops stops the
 * pushing, and one that overtakes the pushes gets them restarted a quarter
 * window past it. Random readers never stream: they cost one lock per read.
 *
 * Ahead of the pushes, the source ranges that come next (one more window)
 * are announced with posix_fadvise(WILLNEED), so a cold read keeps the disk
 * busy. With one_copy, the pages of a source range that were not in the
 * page cache when the worker first looked at it (mincore, before announcing
 * it) are dropped from the page cache (POSIX_FADV_DONTNEED) once the range
 * is in the mount's cache and the reader has passed it: the bytes then
 * live once, in the mount's cache. Source pages that were cached before
 * irpafs touched them (another program's) are left alone.
 *
 * A source found changed, by a read or by the worker, gets the archive's
 * page cache dropped (fuse_lowlevel_notify_inval_inode, by the worker), so
 * no byte pushed before the change is served after it is found. Pushes go
 * to the inode of the version being read, so a manifest reload never mixes
 * versions. */
#ifndef IRPAFS_PREFETCH_H
#define IRPAFS_PREFETCH_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "table.h"

/* The default window: off. Measured on a 2-core machine (README,
 * Performance), pushing ahead made cold reads 1.5-1.9x faster (64 MiB was
 * the best of 16, 64 and 256 MiB) but did not speed up reads of cached
 * sources: a push costs the CPU a read through FUSE costs, and the pushes
 * took the core the reads needed. */
#define IRPAFS_PREFETCH_DEFAULT 0
#define IRPAFS_PREFETCH_MAX (UINT64_C(1) << 40) /* largest window (1 TiB): offsets + window fit */
#define IRPAFS_PREFETCH_SUGGESTED (64u << 20)  /* bytes: the window to use for cold reads */

typedef struct irpafs_prefetch irpafs_prefetch;

/* Starts the worker for `session`. `window` 0 pushes nothing (the worker
 * then only drops the cache of archives whose sources changed). NULL with
 * an error when the thread cannot start. */
irpafs_prefetch *irpafs_prefetch_start(struct fuse_session *session, uint64_t window,
                                       bool one_copy, irpa_errors *errors);

/* Stops the worker, joins it and frees everything (NULL is fine). */
void irpafs_prefetch_stop(irpafs_prefetch *prefetch);

/* From a read handler: a read of archive bytes [offset, offset + size) of
 * `file`, whose inode is `inode`. Never blocks for long, never calls FUSE. */
void irpafs_prefetch_note_read(irpafs_prefetch *prefetch, irpafs_version *version, uint64_t inode,
                               uint64_t offset, uint64_t size);

/* From a handler: a read of `inode` found a source changed; the worker
 * drops the inode's page cache. */
void irpafs_prefetch_source_changed(irpafs_prefetch *prefetch, uint64_t inode);

/* From release: a handle of `inode` was closed; its stream stops. */
void irpafs_prefetch_release(irpafs_prefetch *prefetch, uint64_t inode);

#endif
