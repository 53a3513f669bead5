/* version.h: one version of an archive, as the mount serves it.
 *
 * A version is the archive laid out from its manifest as it was when
 * loaded, with its own inode number (table.h). It is immutable but for its
 * reference count, the table's bookkeeping (under the table's mutex) and
 * the freshness of its sources (core/freshness.h), which reads update. */
#ifndef IRPAFS_VERSION_H
#define IRPAFS_VERSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "archive.h"
#include "freshness.h"
#include "security.h"

typedef struct irpafs_version {
    uint64_t inode;               /* inode number in the mount (0 until listed) */
    char *manifest_path;          /* the manifest it was loaded from, owned */
    irpa_archive *archive;        /* the laid-out archive; archive->name is the file name; owned */
    struct timespec mtime;        /* newest mtime of the manifest and its sources */
    irpafs_access access;         /* owner, group and mode shown (security.h) */
    gid_t manifest_gid;           /* the manifest's group when loaded (access.uid: its owner) */
    mode_t manifest_mode;         /* the manifest's permission bits when loaded */
    atomic_uint references;       /* owners: the manifest record, the table, each open handle */
    irpa_freshness freshness;     /* what reads found of its sources (freshness.h) */
    _Atomic uint64_t url_next;    /* where the last read of URL sources ended (net_reads.h) */
    uint64_t lookups;             /* kernel lookup count (table mutex) */
    bool listed;                  /* the current version of its name, in the directory (table mutex) */
    bool in_inode_table;          /* the table holds a reference (table mutex) */
    struct irpafs_table *table;   /* the table it belongs to */
    struct irpafs_version *older; /* previous version alive, any name (table mutex) */
    struct irpafs_version *newer; /* next version alive, any name (table mutex) */
} irpafs_version;

/* Takes one more reference on a version the caller holds; returns it. */
irpafs_version *irpafs_version_hold(irpafs_version *version);

/* Drops a reference; frees the version with the last one. */
void irpafs_version_put(irpafs_version *version);

/* Attributes of a version. */
void irpafs_version_attributes(const irpafs_version *version, struct stat *attributes);

/* Checks each source the segments of one read touch (irpa_freshness_check)
 * and logs what it reports: a changed source once per source (reads fail),
 * a deleted or replaced one once (its old bytes are still served). 0 when
 * the read may be served, EIO when a source changed. `trust_recent`: a
 * small reply copied with pread, which may trust a check made less than
 * IRPA_FRESHNESS_TRUST_NS ago. */
int irpafs_version_check_sources(irpafs_version *version, const irpa_segment *segments,
                                 size_t count, bool trust_recent);

#endif
