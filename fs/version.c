/* version.c: one version of an archive: its life, its attributes, its
 * sources' freshness (version.h). */
#include "version.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "table_internal.h"

static struct timespec newest_time(struct timespec a, struct timespec b) {
    return irpa_time_compare(a, b) >= 0 ? a : b;
}

/* Above this many bytes of header and entries, freeing a version gives its
 * memory back to the system (malloc_trim): glibc would otherwise keep it
 * in the arena of whichever thread freed it. */
#define IRPAFS_TRIM_BYTES (1u << 20)

void version_free(irpafs_version *version) {
    const irpa_archive *archive = version->archive;
    bool large = archive->head_length + archive->entry_count * sizeof(irpa_entry) > IRPAFS_TRIM_BYTES;
    irpa_archive_free(version->archive);
    free(version->manifest_path);
    irpa_freshness_free(&version->freshness);
    free(version);
    if (large) malloc_trim(0);
}

/* Unlinks a version from the list of live ones (table mutex held). */
static void version_unlink(irpafs_version *version) {
    irpafs_table *table = version->table;
    if (version->newer) version->newer->older = version->older;
    else table->newest = version->older;
    if (version->older) version->older->newer = version->newer;
    version->older = version->newer = NULL;
}

irpafs_version *irpafs_version_hold(irpafs_version *version) {
    atomic_fetch_add(&version->references, 1);
    return version;
}

void irpafs_version_put(irpafs_version *version) {
    if (!version) return;
    if (atomic_fetch_sub(&version->references, 1) != 1) return;
    irpafs_table *table = version->table;
    pthread_mutex_lock(&table->mutex);
    version_unlink(version);
    pthread_mutex_unlock(&table->mutex);
    version_free(version);
}

irpafs_version *version_new(irpafs_table *table, const char *manifest_path,
                            struct timespec manifest_mtime, irpa_archive *archive) {
    irpafs_version *version = calloc(1, sizeof *version);
    if (!version) return NULL;
    version->manifest_path = strdup(manifest_path);
    if (!version->manifest_path || irpa_freshness_init(&version->freshness, archive) != 0) {
        free(version->manifest_path);
        free(version);
        return NULL;
    }
    version->archive = archive;
    version->table = table;
    version->mtime = manifest_mtime;
    for (size_t i = 0; i < archive->source_count; i++)
        version->mtime = newest_time(version->mtime, archive->sources[i].mtime);
    atomic_init(&version->references, 1);
    pthread_mutex_lock(&table->mutex);
    version->older = table->newest;
    if (table->newest) table->newest->newer = version;
    table->newest = version;
    pthread_mutex_unlock(&table->mutex);
    return version;
}

void irpafs_version_attributes(const irpafs_version *version, struct stat *attributes) {
    memset(attributes, 0, sizeof *attributes);
    attributes->st_ino = (ino_t)version->inode;
    attributes->st_mode = S_IFREG | version->access.mode;
    attributes->st_nlink = 1;
    attributes->st_uid = version->access.uid;
    attributes->st_gid = version->access.gid;
    attributes->st_size = (off_t)version->archive->file_size;
    attributes->st_blksize = IRPAFS_BLOCK_SIZE;
    attributes->st_blocks = (blkcnt_t)((version->archive->file_size + 511) / 512);
    attributes->st_atim = version->mtime;
    attributes->st_mtim = version->mtime;
    attributes->st_ctim = version->mtime;
}

/* irpa_freshness_report: logs what a read of a changed source gets. */
static void report_source(void *context, uint32_t index, irpa_staleness what, const char *why) {
    const irpafs_version *version = context;
    const irpa_archive *archive = version->archive;
    const char *path = archive->sources[index].path;
    if (what == IRPA_SOURCE_CHANGED)
        irpafs_log(LOG_ERR,
                   "archive %s: source %s %s; reads fail with EIO until the manifest %s is "
                   "reloaded",
                   archive->name, path, why, version->manifest_path);
    else
        irpafs_log(LOG_WARNING,
                   "archive %s: source %s was deleted or replaced; serving the bytes it had "
                   "when the manifest %s was loaded (touch the manifest to pick up a new file)",
                   archive->name, path, version->manifest_path);
}

int irpafs_version_check_sources(irpafs_version *version, const irpa_segment *segments,
                                 size_t count, bool trust_recent) {
    return irpa_freshness_check(&version->freshness, segments, count, trust_recent,
                                report_source, version) == 0
               ? 0
               : EIO;
}
