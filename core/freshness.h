/* freshness.h: whether an archive's sources still hold the bytes they had.
 *
 * One policy for every reader of sources (the FUSE server's reads, `irpa
 * build`'s copies): one call per read, over the segments it covers.
 *
 * - Every check is a probe of the source against the snapshot taken when it
 *   was opened (for a file: fstat of its descriptor against size and mtime,
 *   see irpa_source_changed). A source that changed (truncated, rewritten
 *   in place) is stale: the read must fail.
 * - A caller that may trust a recent check (`trust_recent`: the FUSE
 *   server's small copied reads, whose pread fails on a truncated source
 *   anyway) skips the probe when a read found the source unchanged less
 *   than IRPA_FRESHNESS_TRUST_NS ago.
 * - Whether the source is still the one its name leads to (a file replaced
 *   by rename keeps serving its old bytes through the open descriptor) is
 *   looked up at most every IRPA_FRESHNESS_NAME_CHECK_MS per source: it
 *   decides only a report.
 * - Each kind of finding is reported once per source: the module calls the
 *   caller's report function, the caller logs (core prints nothing).
 *
 * A kind of source is checked through its probe (irpa_freshness_probe):
 * the policy above is the same for all. Files are probed with fstat; URL
 * sources (url_source.h) report whether a read found the object replaced
 * (each range request is conditional on the identity seen at open). */
#ifndef IRPA_FRESHNESS_H
#define IRPA_FRESHNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive.h"
#include "source.h"

#define IRPA_FRESHNESS_TRUST_NS 1000000     /* a trusting read skips a check this recent */
#define IRPA_FRESHNESS_NAME_CHECK_MS 1000   /* a source's name is looked up at most this often */

/* What a check found, as reported (bits: each is reported once per source). */
typedef enum irpa_staleness {
    IRPA_SOURCE_CHANGED = 1u,   /* truncated or modified in place: reads fail */
    IRPA_SOURCE_REPLACED = 2u,  /* deleted or renamed away: its old bytes are still served */
} irpa_staleness;

/* How one kind of source is checked. */
typedef struct irpa_freshness_probe {
    /* Cheap, on every check: whether the source differs from its snapshot
     * (true, with how in `why`); sets *nameless when the source is known to
     * have no name left (a file deleted or renamed over). */
    bool (*changed)(const irpa_source *source, bool *nameless, char *why, size_t why_size);
    /* Costly, rate-limited: whether the name the source was opened by
     * still leads to it. NULL: a kind whose name cannot be replaced. */
    bool (*name_current)(const irpa_source *source);
} irpa_freshness_probe;

/* The probe for files (fstat against the snapshot; stat of the path). */
extern const irpa_freshness_probe irpa_file_probe;

/* The probe for URL sources (a replaced object, as a read found it). */
extern const irpa_freshness_probe irpa_url_probe;

/* The probe for a source of the kind `source` is. */
const irpa_freshness_probe *irpa_freshness_probe_for(const irpa_source *source);

/* What the checks of one source have seen; shared by reading threads. */
typedef struct irpa_source_freshness {
    const irpa_freshness_probe *probe;  /* how it is checked */
    atomic_uint reported;               /* irpa_staleness bits already reported */
    atomic_llong name_checked_ms;       /* when its name was last looked up (coarse ms; 0: never) */
    atomic_llong found_unchanged_ns;    /* when a check last found it unchanged (ns; 0: never) */
} irpa_source_freshness;

/* The clocks the policy reads (tests replace them). */
typedef struct irpa_freshness_clock {
    int64_t (*now_ns)(void);  /* for the trust window: irpa_monotonic_ns */
    int64_t (*now_ms)(void);  /* for name checks: irpa_coarse_ms */
} irpa_freshness_clock;

/* The freshness of every source of one archive (of one version, in the
 * FUSE server). */
typedef struct irpa_freshness {
    const irpa_archive *archive;      /* whose sources are checked; not owned */
    irpa_source_freshness *sources;   /* one per archive->sources[i], owned */
    irpa_freshness_clock clock;       /* the system's clocks unless a test set others */
} irpa_freshness;

/* Called when something must be reported now: `source` is the index in
 * archive->sources, `why` says how it changed (IRPA_SOURCE_CHANGED only,
 * else NULL). Called at most once per source and kind. */
typedef void (*irpa_freshness_report)(void *context, uint32_t source, irpa_staleness what,
                                      const char *why);

/* Sets up the freshness of `archive`'s sources (nothing checked yet).
 * 0, or -1 out of memory. */
int irpa_freshness_init(irpa_freshness *freshness, const irpa_archive *archive);

void irpa_freshness_free(irpa_freshness *freshness);

/* Checks each source that segments[0, count) read from, once per source,
 * by the policy above; calls `report` (may be NULL) for what must be
 * reported now. 0 when the read may be served, -1 when a source changed
 * (the read must fail: EIO). */
int irpa_freshness_check(irpa_freshness *freshness, const irpa_segment *segments, size_t count,
                         bool trust_recent, irpa_freshness_report report, void *context);

/* The same for one source, by its index. */
int irpa_freshness_check_source(irpa_freshness *freshness, uint32_t source, bool trust_recent,
                                irpa_freshness_report report, void *context);

#endif
