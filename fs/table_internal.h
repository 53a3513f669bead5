/* table_internal.h: what the files of the mount table share (table.c,
 * version.c, inodes.c, records.c, publish.c); not for the rest of fs/.
 *
 *   table.c    the table itself, and what FUSE operations ask of it
 *   version.c  a version's life: created, held, put, freed; its attributes
 *   inodes.c   inode numbers, and the table of versions by inode number
 *   records.c  the manifests found by a scan, each with its last good version
 *   publish.c  which record serves each archive name, and publishing that */
#ifndef IRPAFS_TABLE_INTERNAL_H
#define IRPAFS_TABLE_INTERNAL_H

#include <pthread.h>

#include "table.h"

/* A manifest file in the directory, as the last scan found it. Only the
 * scanning thread touches records. */
typedef struct manifest_record {
    char *file_name;          /* name in the directory, owned */
    dev_t dev;                /* st_dev when loaded */
    ino_t ino;                /* st_ino when loaded */
    off_t size;               /* st_size when loaded */
    struct timespec mtime;    /* st_mtim when loaded */
    struct timespec ctime;    /* st_ctim when loaded */
    irpafs_version *version;  /* the version loaded from it (a reference), NULL when invalid */
    bool failing;             /* the file no longer loads; `version` is its last good version */
    bool seen;                /* found by the scan in progress */
    bool fresh;               /* (re)loaded by the scan in progress */
    bool recovered;           /* loaded by the scan in progress after failing */
} manifest_record;

struct irpafs_table {
    char *path;                   /* the path served (directory or manifest), absolute, owned */
    char *directory;              /* the directory holding the manifests, absolute, owned */
    char *single_name;            /* file name of the one manifest served, or NULL for a directory */
    manifest_record *records;     /* manifests known (scanner only) */
    size_t record_count;          /* records held */
    size_t record_capacity;       /* slots in records */
    size_t sorted_records;        /* records[0, sorted_records) are sorted by file_name */
    pthread_mutex_t mutex;        /* guards everything below and the files' table fields */
    irpafs_version **inodes;      /* versions the kernel may refer to (a reference each), sorted
                                     by inode number */
    size_t inode_count;           /* inodes held */
    size_t inode_capacity;        /* slots in inodes */
    irpafs_version **listed;      /* the listed versions, sorted by archive name */
    size_t listed_count;          /* versions in listed */
    irpafs_version *newest;       /* every version alive, newest first (older/newer links) */
    struct timespec root_mtime;   /* last time the directory's content changed */
    bool directory_failing;       /* the last scan could not read the directory (logged) */
    bool published;               /* a scan was published: changes are logged from now on */
};

/* version.c */

/* A new version owning `archive`, linked into the table's live versions,
 * with one reference (the caller's); NULL out of memory. */
irpafs_version *version_new(irpafs_table *table, const char *manifest_path,
                            struct timespec manifest_mtime, irpa_archive *archive);

/* Frees a version whatever its references (the table's end). */
void version_free(irpafs_version *version);

/* inodes.c (table mutex held) */

/* The index of `inode` in table->inodes, or -1. */
long inode_index(const irpafs_table *table, uint64_t inode);

/* A free inode number for archive `name`: its stable one when free. */
uint64_t inode_allocate(const irpafs_table *table, const char *name);

/* Adds a version (its inode set) to table->inodes, with a reference for
 * the table. 0, or -1 out of memory. */
int inode_table_add(irpafs_table *table, irpafs_version *version);

/* Removes inodes[index] when it is neither listed nor known to the kernel;
 * returns the version whose table reference the caller must put (outside
 * the mutex), or NULL. */
irpafs_version *inode_table_settle(irpafs_table *table, size_t index);

/* table.c */

/* The listed version named `name`, or NULL (table mutex held, or the
 * scanning thread, which alone changes the listing). */
irpafs_version *listed_by_name(const irpafs_table *table, const char *name);

/* Appends `name` to `changes` (may be NULL). */
void changes_add(irpafs_changes *changes, const char *name);

/* records.c (the scanning thread) */

/* Whether `name` ends with `suffix` and has more before it. */
bool name_has_suffix(const char *name, const char *suffix);

/* Visits the directory: marks, loads and reloads records (changed ones
 * only when `gate` lets them through; all when it is NULL). -1 when the
 * directory cannot be read. */
int records_scan(irpafs_table *table, irpafs_load_gate *gate, void *gate_context);

/* Forgets records of manifests that are gone, and sorts the rest by name. */
void records_drop_unseen(irpafs_table *table);

#endif
