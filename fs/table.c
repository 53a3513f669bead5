/* table.c: the mount table: the table itself, and what the FUSE
 * operations ask of it (table.h; its other files: table_internal.h). */
#include "table.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "search.h"
#include "table_internal.h"

/* ---- the table --------------------------------------------------------- */

irpafs_table *irpafs_table_new(const char *path, irpa_errors *errors) {
    char *absolute = realpath(path, NULL);
    if (!absolute) {
        irpa_error(errors, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (stat(absolute, &st) != 0) {
        irpa_error(errors, "%s: %s", path, strerror(errno));
        free(absolute);
        return NULL;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        irpa_error(errors, "%s: neither a directory of manifests nor a manifest file", path);
        free(absolute);
        return NULL;
    }
    irpafs_table *table = calloc(1, sizeof *table);
    if (!table) {
        free(absolute);
        irpa_error(errors, "out of memory");
        return NULL;
    }
    table->path = absolute;
    if (S_ISDIR(st.st_mode)) {
        table->directory = strdup(absolute);
    } else {
        char *slash = strrchr(absolute, '/');
        table->single_name = strdup(slash + 1);
        table->directory = slash == absolute ? strdup("/") : strndup(absolute, (size_t)(slash - absolute));
    }
    if (!table->directory || (S_ISREG(st.st_mode) && !table->single_name)) {
        free(table->directory);
        free(table->single_name);
        free(table->path);
        free(table);
        irpa_error(errors, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&table->mutex, NULL);
    clock_gettime(CLOCK_REALTIME, &table->root_mtime);
    return table;
}

void irpafs_table_free(irpafs_table *table) {
    if (!table) return;
    for (size_t i = 0; i < table->record_count; i++) free(table->records[i].file_name);
    free(table->records);
    free(table->inodes);
    free(table->listed);
    /* Whatever still holds references (open handles the kernel never
     * released, lookups never forgotten) is gone with the session. */
    irpafs_version *version = table->newest;
    while (version) {
        irpafs_version *older = version->older;
        version_free(version);
        version = older;
    }
    pthread_mutex_destroy(&table->mutex);
    free(table->path);
    free(table->directory);
    free(table->single_name);
    free(table);
}

const char *irpafs_table_directory(const irpafs_table *table) { return table->directory; }

bool irpafs_table_is_single(const irpafs_table *table) { return table->single_name != NULL; }

const char *irpafs_table_path(const irpafs_table *table) { return table->path; }

/* ---- operations used by FUSE ------------------------------------------ */

static bool name_before(const void *items, size_t index, const void *key) {
    return strcmp(((irpafs_version *const *)items)[index]->archive->name, key) < 0;
}

irpafs_version *listed_by_name(const irpafs_table *table, const char *name) {
    size_t position = irpa_lower_bound(table->listed, table->listed_count, name_before, name);
    if (position < table->listed_count && strcmp(table->listed[position]->archive->name, name) == 0)
        return table->listed[position];
    return NULL;
}

int irpafs_table_lookup(irpafs_table *table, const char *name, struct stat *attributes) {
    pthread_mutex_lock(&table->mutex);
    irpafs_version *version = listed_by_name(table, name);
    if (version) {
        version->lookups++;
        irpafs_version_attributes(version, attributes);
    }
    pthread_mutex_unlock(&table->mutex);
    return version ? 0 : -1;
}

void irpafs_table_forget(irpafs_table *table, uint64_t inode, uint64_t count) {
    irpafs_version *released = NULL;
    pthread_mutex_lock(&table->mutex);
    long index = inode_index(table, inode);
    if (index >= 0) {
        irpafs_version *version = table->inodes[index];
        version->lookups = count > version->lookups ? 0 : version->lookups - count;
        released = inode_table_settle(table, (size_t)index);
    }
    pthread_mutex_unlock(&table->mutex);
    irpafs_version_put(released);
}

irpafs_version *irpafs_table_get(irpafs_table *table, uint64_t inode) {
    pthread_mutex_lock(&table->mutex);
    long index = inode_index(table, inode);
    irpafs_version *version = index >= 0 ? table->inodes[index] : NULL;
    if (version) atomic_fetch_add(&version->references, 1);
    pthread_mutex_unlock(&table->mutex);
    return version;
}

void irpafs_table_root_attributes(irpafs_table *table, struct stat *attributes) {
    memset(attributes, 0, sizeof *attributes);
    attributes->st_ino = IRPAFS_ROOT_INODE;
    attributes->st_mode = S_IFDIR | 0555;
    attributes->st_nlink = 2;
    attributes->st_uid = getuid();
    attributes->st_gid = getgid();
    attributes->st_blksize = IRPAFS_BLOCK_SIZE;
    pthread_mutex_lock(&table->mutex);
    attributes->st_atim = table->root_mtime;
    attributes->st_mtim = table->root_mtime;
    attributes->st_ctim = table->root_mtime;
    pthread_mutex_unlock(&table->mutex);
}

static int dirent_order(const void *a, const void *b) {
    return strcmp(((const irpafs_dirent *)a)->name, ((const irpafs_dirent *)b)->name);
}

void irpafs_dirents_free(irpafs_dirent *entries, size_t count) {
    if (!entries) return;
    for (size_t i = 0; i < count; i++) free(entries[i].name);
    free(entries);
}

long irpafs_table_list(irpafs_table *table, irpafs_dirent **entries) {
    *entries = NULL;
    pthread_mutex_lock(&table->mutex);
    size_t count = 0;
    irpafs_dirent *list = calloc(table->inode_count ? table->inode_count : 1, sizeof *list);
    bool failed = list == NULL;
    for (size_t i = 0; !failed && i < table->inode_count; i++) {
        irpafs_version *version = table->inodes[i];
        if (!version->listed) continue;
        list[count].name = strdup(version->archive->name);
        list[count].inode = version->inode;
        if (!list[count].name) failed = true;
        else count++;
    }
    pthread_mutex_unlock(&table->mutex);
    if (failed) {
        irpafs_dirents_free(list, count);
        return -1;
    }
    qsort(list, count, sizeof *list, dirent_order);
    *entries = list;
    return (long)count;
}

void irpafs_table_totals(irpafs_table *table, uint64_t *files, uint64_t *bytes) {
    *files = 0;
    *bytes = 0;
    pthread_mutex_lock(&table->mutex);
    for (size_t i = 0; i < table->inode_count; i++) {
        if (!table->inodes[i]->listed) continue;
        (*files)++;
        *bytes += table->inodes[i]->archive->file_size;
    }
    pthread_mutex_unlock(&table->mutex);
}

/* ---- changes ----------------------------------------------------------- */

void changes_add(irpafs_changes *changes, const char *name) {
    if (!changes) return;
    if (changes->count == changes->capacity) {
        size_t capacity = changes->capacity ? changes->capacity * 2 : 8;
        char **grown = realloc(changes->names, capacity * sizeof *grown);
        if (!grown) return;  /* the entry timeout bounds staleness anyway */
        changes->names = grown;
        changes->capacity = capacity;
    }
    char *copy = strdup(name);
    if (copy) changes->names[changes->count++] = copy;
}

void irpafs_changes_clear(irpafs_changes *changes) {
    for (size_t i = 0; i < changes->count; i++) free(changes->names[i]);
    free(changes->names);
    changes->names = NULL;
    changes->count = changes->capacity = 0;
}
