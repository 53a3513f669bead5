/* net_reads.h: reads of URL sources, served by the mount's network threads.
 *
 * A read that needs bytes of a URL source may wait on the network for up
 * to -o net_timeout. Served by one of libfuse's worker threads (10 at most
 * by default), a few such reads of a stalled server would take them all,
 * and every other archive of the mount, local ones included, would wait
 * with them. So the read handler hands such a read over (the request is
 * answered later, from here) and its worker goes back to the kernel at
 * once; only a read whose bytes are in memory already (a chunk) or on
 * local disk (the cache dir) is answered by the handler itself. NET_THREADS threads serve the reads handed over, first come first
 * served, but at most NET_THREADS_PER_ORIGIN at a time per server
 * (scheme, host and port of the read's first URL source; the default port
 * when none is written, names in any case): a
 * stalled server holds up only reads of itself, which end with EIO at the
 * timeout.
 *
 * After a read that continues the one before it in its archive, the next
 * IRPAFS_NET_AHEAD bytes of the archive (in archive order: the layout is
 * known) are fetched ahead into the mount's chunk store (core/url_chunks.h),
 * by the same threads and within the same limits, so a streaming reader
 * finds its next chunks in memory. */
#ifndef IRPAFS_NET_READS_H
#define IRPAFS_NET_READS_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

#include "version.h"

#define NET_THREADS 16             /* threads serving reads of URL sources */
#define NET_THREADS_PER_ORIGIN 8   /* of which at most this many for one server */
#define IRPAFS_NET_AHEAD (32u << 20) /* bytes fetched ahead of a streaming reader */

typedef struct irpafs_net_reads irpafs_net_reads;
struct irpafs_context;

/* The queue, with no thread yet (they start with the first read). NULL on
 * ENOMEM. */
irpafs_net_reads *irpafs_net_reads_new(struct irpafs_context *context);

/* Answers the reads still queued with EIO, waits for those being served
 * (within about a second once irpafs_net_stopping was called, net.h),
 * and frees the queue. NULL is fine. */
void irpafs_net_reads_stop(irpafs_net_reads *reads);

/* A read of URL bytes of `version` is answered in place, from a chunk
 * held in memory, without a hand-over: fetches ahead follow it as they
 * follow a read handed over. Call it before the reply (the version may go
 * once it is sent). Never waits. */
void irpafs_net_reads_served(irpafs_net_reads *reads, irpafs_version *version, uint64_t offset,
                             uint64_t length);

/* Hands over the read of archive bytes [offset, offset + size) of
 * `version` (inode `inode`), whose first URL source is on server `origin`
 * (irpa_segments_first_origin; it lives as long as the version): it is
 * answered later, from a network thread. false when it could not be
 * queued (no memory, no thread): the caller serves it. */
bool irpafs_net_reads_submit(irpafs_net_reads *reads, fuse_req_t req, irpafs_version *version,
                             uint64_t inode, uint64_t offset, size_t size,
                             const char *origin);

#endif
