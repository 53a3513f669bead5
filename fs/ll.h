/* ll.h: the FUSE low-level operations of irpafs.
 *
 * The root (inode 1) is a read-only directory listing the mount table; every
 * other inode is one version of an archive (table.h). Reads describe the
 * requested range with irpa_archive_map and reply with a buffer vector:
 * header bytes from memory, zero padding from a shared zero buffer, tensor
 * bytes as (source fd, offset) pieces that libfuse splices to the kernel.
 * Sources are checked for change before each reply (version.h,
 * core/freshness.h): a changed source turns reads into EIO (logged once per
 * source), never wrong bytes. The mount is read-only: the kernel refuses
 * every operation that would modify anything with EROFS. */
#ifndef IRPAFS_LL_H
#define IRPAFS_LL_H

#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "table.h"

/* What the operations share (the session's userdata). */
typedef struct irpafs_context {
    irpafs_table *table;                      /* the mount table */
    struct fuse_conn_info_opts *conn_options; /* connection options from -o, or NULL */
    double timeout;                           /* attribute and entry cache timeout, seconds */
    unsigned readahead_kb;                    /* read_ahead_kb to set on the mount's bdi; 0 = leave */
    bool readahead_explicit;                  /* readahead_kb came from -o (else the default) */
    char bdi_name[32];                        /* "MAJOR:MINOR" of the mount, "" when unknown */
    atomic_bool readahead_applied;            /* readahead_kb was written (or tried) */
    uint64_t prefetch_window;                 /* -o prefetch: bytes pushed ahead of a reader, 0 = off */
    bool one_copy;                            /* -o one_copy: drop source pages once pushed */
    struct irpafs_prefetch *prefetch;         /* the prefetch worker (prefetch.h), or NULL */
    struct irpafs_net_reads *net_reads;       /* network threads (net_reads.h), or NULL */
} irpafs_context;

/* The largest read the kernel is asked for, in bytes: 1 MiB, or less so
 * that a reply fits the splice pipe (/proc/sys/fs/pipe-max-size). */
size_t irpafs_request_limit(void);

/* Segments describing archive bytes [offset, offset + length): in `local`
 * (local_count of them) when they fit, else in a heap array the caller
 * frees. NULL on ENOMEM. */
irpa_segment *irpafs_map_range(const irpa_archive *archive, uint64_t offset, uint64_t length,
                               irpa_segment *local, size_t local_count, size_t *count);

/* A buffer vector for the segments (memory, the shared zero buffer, source
 * descriptors to splice from), to free(); NULL on ENOMEM. */
struct fuse_bufvec *irpafs_bufvec_for(const irpa_archive *archive, const irpa_segment *segments,
                                      size_t count);

/* Answers a read of archive bytes [offset, offset + size) of `version`
 * (inode `inode`). With `may_hand_over`, a read of URL sources is handed
 * to the network threads (net_reads.h), which answer it with this
 * function. 0 when it was answered with bytes or handed over, else the
 * errno it was answered with. */
int irpafs_serve_read(fuse_req_t req, irpafs_context *context, irpafs_version *version,
                      uint64_t inode, uint64_t offset, size_t size, bool may_hand_over);

/* The operations table. */
const struct fuse_lowlevel_ops *irpafs_ll_operations(void);

#endif
