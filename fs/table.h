/* table.h: the mount table, what the root directory of a mount holds.
 *
 * Each valid manifest is one file. A file is one *version* of an archive:
 * the archive laid out from the manifest as it was when loaded, with its own
 * inode number. When a manifest changes, its name is given a new version
 * (and a new inode); the old version lives on while the kernel or an open
 * handle still refers to it, so an open file keeps serving the bytes it was
 * opened with, page cache included.
 *
 * Inode numbers come from a 64-bit hash of the archive name, so an
 * unchanged manifest has the same inode number in every mount; a version
 * whose number is still taken by an older version (or another name) takes
 * the next hash in its sequence. 1 is the root.
 *
 * Scanning (irpafs_table_scan) is done by one thread at a time (startup,
 * then the watcher). Everything the FUSE operations use is behind the
 * table's mutex, except the archive of a version, which is immutable, and
 * the reference count, which is atomic. */
#ifndef IRPAFS_TABLE_H
#define IRPAFS_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "archive.h"
#include "errors.h"
#include "security.h"
#include "version.h"

#define IRPAFS_ROOT_INODE 1          /* FUSE's root inode number */
/* st_blksize, which sizes cp's and stdio's buffers (not FUSE requests:
 * readahead sizes those). 128 KiB: with 1 MiB, cp wrote its copy in 1 MiB
 * pieces, and 1 MiB writes into ext4 on Linux 6.18 made a 1 GiB cp out of
 * the mount take 1.4-2.5 s instead of 0.46-0.50 s (README, Performance). */
#define IRPAFS_BLOCK_SIZE (128u * 1024)

typedef struct irpafs_table irpafs_table;

/* What a scan changed, for the kernel's caches. */
typedef struct irpafs_changes {
    char **names;         /* directory entries added, removed or given a new version, owned */
    size_t count;         /* names held */
    size_t capacity;      /* slots in names */
} irpafs_changes;

/* A table serving `path`: a directory of manifests (*.yaml, *.yml, not
 * hidden) or a single manifest file. Only checks that the path exists;
 * NULL with an error otherwise. Does not scan. */
irpafs_table *irpafs_table_new(const char *path, irpa_errors *errors);

/* Frees the table and every version it still knows, whatever their counts
 * (call once the session is gone). */
void irpafs_table_free(irpafs_table *table);

/* The directory to watch for manifest changes (absolute). */
const char *irpafs_table_directory(const irpafs_table *table);

/* Whether the table serves one manifest file rather than a directory. */
bool irpafs_table_is_single(const irpafs_table *table);

/* Whether a file of that name in the directory can be a manifest the
 * table serves (*.yaml or *.yml and not hidden; or the one file). */
bool irpafs_table_is_manifest_name(const irpafs_table *table, const char *name);

/* The path it serves, as given at creation made absolute: the manifest
 * directory or the one manifest file (for fsname and log lines). */
const char *irpafs_table_path(const irpafs_table *table);

/* Re-reads the directory: loads manifests that are new or changed (by
 * stat), drops removed ones, and publishes the result. Names whose entry
 * changed are appended to `changes` (may be NULL). Returns the number of
 * files served, or -1 when the directory cannot be read (logged).
 *
 * - A manifest that does not load has every error logged, once per change
 *   of the file. If a version of it is served, that version (its last good
 *   one) stays served, logged as failing, as long as the manifest's owner is
 *   the same; when it loads again it replaces that version ("recovered").
 *   A failure caused by a change of the sources' permissions alone (the
 *   manifest unchanged) withdraws the version: its permissions no longer
 *   hold.
 * - An archive name claimed by several manifests stays with the one that
 *   serves it; the others are refused (logged once). When none serves it
 *   yet, the manifest named after it (m.yaml or m.yml for m.irpa) takes it
 *   if it is the only such one; otherwise none is served.
 * - After the first scan, every archive added, replaced, recovered or
 *   removed is logged (one line each). */
long irpafs_table_scan(irpafs_table *table, irpafs_changes *changes);

/* Whether a scan may load a manifest whose file changed (by stat) since it
 * was last loaded: `file_name` in the directory, `st` its stat now. A
 * manifest the gate holds back keeps what it served (or nothing, when it is
 * new) until a later scan is let through. */
typedef bool irpafs_load_gate(void *context, const char *file_name, const struct stat *st);

/* irpafs_table_scan, loading only the changed manifests `gate` lets
 * through (the watcher's scans: not while a writer holds the file). A
 * change of the sources' permissions alone reloads without asking; if the
 * gate holds the manifest back then, its archive is withdrawn until it can
 * be loaded. */
long irpafs_table_scan_gated(irpafs_table *table, irpafs_load_gate *gate, void *gate_context,
                             irpafs_changes *changes);

void irpafs_changes_clear(irpafs_changes *changes);

/* Lookup of `name` in the root: on success fills *attributes, counts one
 * kernel lookup and returns 0; -1 when absent. */
int irpafs_table_lookup(irpafs_table *table, const char *name, struct stat *attributes);

/* Drops `count` kernel lookups of `inode` (forget). */
void irpafs_table_forget(irpafs_table *table, uint64_t inode, uint64_t count);

/* The version behind `inode`, with a reference for the caller (put it back
 * with irpafs_version_put), or NULL. */
irpafs_version *irpafs_table_get(irpafs_table *table, uint64_t inode);

/* Attributes of the root directory. */
void irpafs_table_root_attributes(irpafs_table *table, struct stat *attributes);

/* One directory entry of a listing snapshot. */
typedef struct irpafs_dirent {
    char *name;        /* file name, owned */
    uint64_t inode;    /* its inode number when the snapshot was taken */
} irpafs_dirent;

/* The listed names, sorted, as a snapshot (free with irpafs_dirents_free).
 * Returns the count, or -1 on ENOMEM. */
long irpafs_table_list(irpafs_table *table, irpafs_dirent **entries);

void irpafs_dirents_free(irpafs_dirent *entries, size_t count);

/* Totals for statfs: files listed and their bytes. */
void irpafs_table_totals(irpafs_table *table, uint64_t *files, uint64_t *bytes);

#endif
