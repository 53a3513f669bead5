/* net.h: what the mount does for URL sources (core/url_source.h).
 *
 * -o net_timeout=SECONDS bounds one read of a URL source, retries
 * included (default: IRPA_HTTP_DEFAULT_TIMEOUT_MS); it is set once, before
 * the first manifest loads, and applied to each manifest before it is
 * resolved. Reads of URL sources are answered from memory (their bytes
 * cannot be spliced from a descriptor). */
#ifndef IRPAFS_NET_H
#define IRPAFS_NET_H

#include <stdbool.h>
#include <sys/types.h>

#include <fuse_lowlevel.h>

#include "archive.h"
#include "errors.h"
#include "manifest.h"

#define IRPAFS_NET_TIMEOUT_MAX_S 3600
#define IRPAFS_NET_CACHE_DEFAULT_GIB 10u /* -o cache_size without a value */
#define IRPAFS_NET_CACHE_MAX (UINT64_C(1) << 40) /* largest -o cache_size (1 TiB) */

/* Parses "-o net_timeout=" 's value (whole seconds, 1 to
 * IRPAFS_NET_TIMEOUT_MAX_S) and keeps it. 0, or -1 when it is not one. */
int irpafs_net_set_timeout(const char *seconds);

/* The bound of one read of a URL source, in ms (-o net_timeout). */
long irpafs_net_timeout_ms(void);

/* Gives `manifest` (owned by `owner`) the mount's read bound for its URL
 * sources; ${VAR} in its headers is refused unless its owner is the
 * server's own user (another user's manifest must not send the server's
 * secrets to a URL of its choice). */
void irpafs_net_apply(irpa_manifest *manifest, uid_t owner);

/* Logs why reads of URL sources among `segments` failed (a network fault;
 * a replaced object is logged by the source checks), at most once a
 * minute per source, so an operator sees the cause of the EIO. */
void irpafs_net_report_faults(const irpa_archive *archive, const irpa_segment *segments,
                              size_t count);

/* Sets up what every manifest loaded after uses: the chunk store reads go
 * through (core/url_chunks.h), and with `cache_directory` the on-disk
 * cache of URL-source bytes (-o cache_dir=DIR, cache_size=SIZE;
 * url_cache.h). 0, or -1 with one error. */
int irpafs_net_open(const char *cache_directory, uint64_t cache_limit, irpa_errors *errors);

/* The server stops: reads of URL sources in progress end at once (EIO),
 * not at their timeout. */
void irpafs_net_stopping(void);

/* Gives back the chunk store's memory no read uses any more
 * (irpa_url_chunks_trim), and once it holds none, the free memory malloc
 * keeps: whether the store still holds some (call again in a second). */
bool irpafs_net_trim(void);

/* Closes them, once no archive is served any more. */
void irpafs_net_close(void);

/* A reply of `count` segments of which some read URL sources, read into
 * memory: one buffer, freed with the vector. NULL with *error set: EIO
 * when a source was replaced (the cache must go), ETIMEDOUT for a network
 * fault, ENOMEM. (The prefetch thread pushes URL bytes with it.) */
struct fuse_bufvec *irpafs_net_bufvec(const irpa_archive *archive, const irpa_segment *segments,
                                      size_t count, int *error);

#endif
