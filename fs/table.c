/* table.c: the mount table: manifests found, versions served (table.h). */
#include "table.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "security.h"

/* A manifest file in the directory, as the last scan found it. Only the
 * scanning thread touches records. */
typedef struct manifest_record {
    char *file_name;          /* name in the directory, owned */
    dev_t dev;                /* st_dev when loaded */
    ino_t ino;                /* st_ino when loaded */
    off_t size;               /* st_size when loaded */
    struct timespec mtime;    /* st_mtim when loaded */
    struct timespec ctime;    /* st_ctim when loaded */
    irpafs_version *file;        /* the version loaded from it (a reference), NULL when invalid */
    bool failing;             /* the file no longer loads; `file` is its last good version */
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
    irpafs_version **inodes;         /* versions the kernel may refer to (a reference each), by inode number */
    size_t inode_count;           /* inodes held */
    size_t inode_capacity;        /* slots in inodes */
    irpafs_version **listed;         /* the listed versions, sorted by archive name */
    size_t listed_count;          /* versions in listed */
    irpafs_version *newest;          /* every version alive, newest first (older/newer links) */
    struct timespec root_mtime;   /* last time the directory's content changed */
    bool directory_failing;       /* the last scan could not read the directory (logged) */
    bool published;               /* a scan was published: changes are logged from now on */
};

/* ---- versions ---------------------------------------------------------- */

static struct timespec newest_time(struct timespec a, struct timespec b) {
    if (a.tv_sec != b.tv_sec) return a.tv_sec > b.tv_sec ? a : b;
    return a.tv_nsec >= b.tv_nsec ? a : b;
}

/* Above this many bytes of header and entries, freeing a version gives its
 * memory back to the system (malloc_trim): glibc would otherwise keep it
 * in the arena of whichever thread freed it. */
#define IRPAFS_TRIM_BYTES (1u << 20)

static void version_free(irpafs_version *file) {
    bool large = file->archive->head_length + file->archive->entry_count * sizeof(irpa_entry) >
                 IRPAFS_TRIM_BYTES;
    irpa_archive_free(file->archive);
    free(file->manifest_path);
    free(file->reported);
    free(file->path_checked);
    free(file->found_unchanged);
    free(file);
    if (large) malloc_trim(0);
}

/* Unlinks a version from the list of live ones (table mutex held). */
static void version_unlink(irpafs_version *file) {
    irpafs_table *table = file->table;
    if (file->newer) file->newer->older = file->older;
    else table->newest = file->older;
    if (file->older) file->older->newer = file->newer;
    file->older = file->newer = NULL;
}

irpafs_version *irpafs_version_hold(irpafs_version *file) {
    atomic_fetch_add(&file->references, 1);
    return file;
}

void irpafs_version_put(irpafs_version *file) {
    if (!file) return;
    if (atomic_fetch_sub(&file->references, 1) != 1) return;
    irpafs_table *table = file->table;
    pthread_mutex_lock(&table->mutex);
    version_unlink(file);
    pthread_mutex_unlock(&table->mutex);
    version_free(file);
}

/* A new version owning `archive`, one reference (the caller's). */
static irpafs_version *version_new(irpafs_table *table, const char *manifest_path,
                                struct timespec manifest_mtime, irpa_archive *archive) {
    irpafs_version *file = calloc(1, sizeof *file);
    if (!file) return NULL;
    file->manifest_path = strdup(manifest_path);
    size_t slots = archive->source_count ? archive->source_count : 1;
    file->reported = calloc(slots, sizeof *file->reported);
    file->path_checked = calloc(slots, sizeof *file->path_checked);
    file->found_unchanged = calloc(slots, sizeof *file->found_unchanged);
    if (!file->manifest_path || !file->reported || !file->path_checked ||
        !file->found_unchanged) {
        free(file->manifest_path);
        free(file->reported);
        free(file->path_checked);
        free(file->found_unchanged);
        free(file);
        return NULL;
    }
    file->archive = archive;
    file->table = table;
    file->mtime = manifest_mtime;
    for (size_t i = 0; i < archive->source_count; i++)
        file->mtime = newest_time(file->mtime, archive->sources[i].mtime);
    atomic_init(&file->references, 1);
    pthread_mutex_lock(&table->mutex);
    file->older = table->newest;
    if (table->newest) table->newest->newer = file;
    table->newest = file;
    pthread_mutex_unlock(&table->mutex);
    return file;
}

void irpafs_version_attributes(const irpafs_version *file, struct stat *attributes) {
    memset(attributes, 0, sizeof *attributes);
    attributes->st_ino = (ino_t)file->inode;
    attributes->st_mode = S_IFREG | file->access.mode;
    attributes->st_nlink = 1;
    attributes->st_uid = file->access.uid;
    attributes->st_gid = file->access.gid;
    attributes->st_size = (off_t)file->archive->file_size;
    attributes->st_blksize = IRPAFS_BLOCK_SIZE;
    attributes->st_blocks = (blkcnt_t)((file->archive->file_size + 511) / 512);
    attributes->st_atim = file->mtime;
    attributes->st_mtim = file->mtime;
    attributes->st_ctim = file->mtime;
}

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
    irpafs_version *file = table->newest;
    while (file) {
        irpafs_version *older = file->older;
        version_free(file);
        file = older;
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

/* ---- inode numbers ----------------------------------------------------- */

static uint64_t name_hash(const char *name) {
    uint64_t hash = 0xcbf29ce484222325ull;  /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        hash ^= *c;
        hash *= 0x100000001b3ull;
    }
    return hash;
}

/* The attempt-th inode number candidate for a name (0 = the stable one).
 * Kept below 2^63: some programs hold inode numbers in signed integers. */
static uint64_t inode_candidate(uint64_t hash, uint64_t attempt) {
    uint64_t x = hash + attempt * 0x9e3779b97f4a7c15ull;
    if (attempt > 0) {  /* splitmix64 finalizer for the fallbacks */
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        x ^= x >> 31;
    }
    return x & 0x7fffffffffffffffull;
}

/* Where `inode` is, or would be inserted, in the sorted inode array. */
static size_t inode_position(const irpafs_table *table, uint64_t inode) {
    size_t low = 0, high = table->inode_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (table->inodes[middle]->inode < inode) low = middle + 1;
        else high = middle;
    }
    return low;
}

static long inode_index(const irpafs_table *table, uint64_t inode) {
    size_t position = inode_position(table, inode);
    if (position < table->inode_count && table->inodes[position]->inode == inode)
        return (long)position;
    return -1;
}

static uint64_t allocate_inode(const irpafs_table *table, const char *name) {
    uint64_t hash = name_hash(name);
    for (uint64_t attempt = 0;; attempt++) {
        uint64_t inode = inode_candidate(hash, attempt);
        if (inode > IRPAFS_ROOT_INODE && inode_index(table, inode) < 0) return inode;
    }
}

static int inode_table_add(irpafs_table *table, irpafs_version *file) {
    if (table->inode_count == table->inode_capacity) {
        size_t capacity = table->inode_capacity ? table->inode_capacity * 2 : 16;
        irpafs_version **grown = realloc(table->inodes, capacity * sizeof *grown);
        if (!grown) return -1;
        table->inodes = grown;
        table->inode_capacity = capacity;
    }
    size_t position = inode_position(table, file->inode);
    memmove(&table->inodes[position + 1], &table->inodes[position],
            (table->inode_count - position) * sizeof *table->inodes);
    table->inodes[position] = file;
    table->inode_count++;
    file->in_inode_table = true;
    atomic_fetch_add(&file->references, 1);
    return 0;
}

/* Removes inodes[index] when it is neither listed nor known to the kernel;
 * returns the version whose table reference the caller must put (outside
 * the mutex), or NULL. */
static irpafs_version *inode_table_settle(irpafs_table *table, size_t index) {
    irpafs_version *file = table->inodes[index];
    if (file->listed || file->lookups > 0) return NULL;
    table->inode_count--;
    memmove(&table->inodes[index], &table->inodes[index + 1],
            (table->inode_count - index) * sizeof *table->inodes);
    file->in_inode_table = false;
    return file;
}

/* ---- operations used by FUSE ------------------------------------------ */

static irpafs_version *listed_by_name(const irpafs_table *table, const char *name) {
    size_t low = 0, high = table->listed_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(table->listed[middle]->archive->name, name);
        if (order == 0) return table->listed[middle];
        if (order < 0) low = middle + 1;
        else high = middle;
    }
    return NULL;
}

int irpafs_table_lookup(irpafs_table *table, const char *name, struct stat *attributes) {
    pthread_mutex_lock(&table->mutex);
    irpafs_version *file = listed_by_name(table, name);
    if (file) {
        file->lookups++;
        irpafs_version_attributes(file, attributes);
    }
    pthread_mutex_unlock(&table->mutex);
    return file ? 0 : -1;
}

void irpafs_table_forget(irpafs_table *table, uint64_t inode, uint64_t count) {
    irpafs_version *released = NULL;
    pthread_mutex_lock(&table->mutex);
    long index = inode_index(table, inode);
    if (index >= 0) {
        irpafs_version *file = table->inodes[index];
        file->lookups = count > file->lookups ? 0 : file->lookups - count;
        released = inode_table_settle(table, (size_t)index);
    }
    pthread_mutex_unlock(&table->mutex);
    irpafs_version_put(released);
}

irpafs_version *irpafs_table_get(irpafs_table *table, uint64_t inode) {
    pthread_mutex_lock(&table->mutex);
    long index = inode_index(table, inode);
    irpafs_version *file = index >= 0 ? table->inodes[index] : NULL;
    if (file) atomic_fetch_add(&file->references, 1);
    pthread_mutex_unlock(&table->mutex);
    return file;
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
        irpafs_version *file = table->inodes[i];
        if (!file->listed) continue;
        list[count].name = strdup(file->archive->name);
        list[count].inode = file->inode;
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

static void changes_add(irpafs_changes *changes, const char *name) {
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

/* ---- scanning ---------------------------------------------------------- */

static bool has_suffix(const char *name, const char *suffix) {
    size_t length = strlen(name), suffix_length = strlen(suffix);
    return length > suffix_length && strcmp(name + length - suffix_length, suffix) == 0;
}

bool irpafs_table_is_manifest_name(const irpafs_table *table, const char *name) {
    if (table->single_name) return strcmp(name, table->single_name) == 0;
    if (name[0] == '.') return false;
    return has_suffix(name, ".yaml") || has_suffix(name, ".yml");
}

/* Whether `name` can be a file name in the root directory. */
static bool is_valid_file_name(const char *name) {
    size_t length = strlen(name);
    return length > 0 && length <= NAME_MAX && strchr(name, '/') == NULL &&
           strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static bool same_time(struct timespec a, struct timespec b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool record_matches(const manifest_record *record, const struct stat *st) {
    return record->dev == st->st_dev && record->ino == st->st_ino && record->size == st->st_size &&
           same_time(record->mtime, st->st_mtim) && same_time(record->ctime, st->st_ctim);
}

/* The record of `file_name` among those known before this scan (sorted);
 * records added by this scan are new names and are not searched. */
static manifest_record *record_find(irpafs_table *table, const char *file_name) {
    size_t low = 0, high = table->sorted_records;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(table->records[middle].file_name, file_name);
        if (order == 0) return &table->records[middle];
        if (order < 0) low = middle + 1;
        else high = middle;
    }
    return NULL;
}

static manifest_record *record_add(irpafs_table *table, const char *file_name) {
    if (table->record_count == table->record_capacity) {
        size_t capacity = table->record_capacity ? table->record_capacity * 2 : 16;
        manifest_record *grown = realloc(table->records, capacity * sizeof *grown);
        if (!grown) return NULL;
        table->records = grown;
        table->record_capacity = capacity;
    }
    manifest_record *record = &table->records[table->record_count];
    memset(record, 0, sizeof *record);
    record->file_name = strdup(file_name);
    if (!record->file_name) return NULL;
    table->record_count++;
    return record;
}

/* Loads the manifest at `path` into a new version; NULL with the reasons
 * in `errors` otherwise. */
static irpafs_version *load_manifest(irpafs_table *table, const char *path, const struct stat *st,
                                  irpa_errors *errors) {
    irpafs_access access = {0};
    struct stat read_st = *st;
    size_t errors_before = errors->count;
    irpa_archive *archive = irpafs_load_manifest(path, &access, &read_st, errors);
    if (archive && !archive->name)
        irpa_error(errors, "%s: the archive has no name", path);
    else if (archive && !is_valid_file_name(archive->name))
        irpa_error(errors, "%s: archive name '%s' cannot be a file name", path, archive->name);
    if (archive && archive->file_size > (uint64_t)INT64_MAX)  /* st_size and offsets are off_t */
        irpa_error(errors, "%s: the archive would be %llu bytes; a file holds at most 2^63 - 1",
                   path, (unsigned long long)archive->file_size);
    if (errors->count > errors_before || !archive) {
        if (errors->count == errors_before) irpa_error(errors, "%s: out of memory", path);
        irpa_archive_free(archive);
        return NULL;
    }
    irpafs_version *file = version_new(table, path, st->st_mtim, archive);
    if (!file) {
        irpa_error(errors, "%s: out of memory", path);
        irpa_archive_free(archive);
    } else {
        file->access = access;  /* before it is listed: read without the mutex */
        file->manifest_gid = read_st.st_gid;
        file->manifest_mode = read_st.st_mode & 07777;
    }
    return file;
}

/* Whether the file at `path` is still the one `st` described before it was
 * loaded: a writer that started meanwhile (after the events that let the
 * load through were read) may have left it half-written. */
static bool unchanged_since(const char *path, const struct stat *st) {
    struct stat now;
    return stat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
           now.st_size == st->st_size && same_time(now.st_mtim, st->st_mtim) &&
           same_time(now.st_ctim, st->st_ctim);
}

/* Whether the permissions `served` was computed with still hold for the
 * manifest as `st` describes it now: same owner, group and mode, and no ACL
 * (whose entries could deny what the mode allows). A version that fails
 * this is withdrawn rather than kept while its manifest does not load. */
static bool manifest_permissions_hold(const irpafs_version *served, const char *path,
                                      const struct stat *st) {
    return served->access.uid == st->st_uid && served->manifest_gid == st->st_gid &&
           served->manifest_mode == (st->st_mode & 07777) &&
           getxattr(path, "system.posix_acl_access", NULL, 0) <= 0;
}

static void record_note_stat(manifest_record *record, const struct stat *st) {
    record->dev = st->st_dev;
    record->ino = st->st_ino;
    record->size = st->st_size;
    record->mtime = st->st_mtim;
    record->ctime = st->st_ctim;
}

/* Drops the record's version (publish unlists it). */
static void record_withdraw(manifest_record *record) {
    irpafs_version_put(record->file);
    record->file = NULL;
    record->failing = false;
}

/* Loads the record's manifest at `path` again. When it does not load, the
 * version served so far stays (the record is failing) if the manifest
 * itself changed, its owner did not, and that version is listed (read
 * without the mutex: only the scanning thread changes `listed`); otherwise
 * it is withdrawn. Logs the errors either way. */
static void record_reload(irpafs_table *table, manifest_record *record, const char *path,
                          const struct stat *st, bool manifest_changed) {
    irpa_errors errors = {0};
    irpafs_version *loaded = load_manifest(table, path, st, &errors);
    if (!unchanged_since(path, st)) {
        /* Changed while it was read: neither its errors nor its archive
         * count; the change's own events (or the next scan) load it. */
        irpafs_version_put(loaded);
        irpa_errors_clear(&errors);
        return;
    }
    record_note_stat(record, st);
    if (loaded) {
        record->recovered = record->failing;
        record->failing = false;
        record->fresh = true;
        irpafs_version_put(record->file);
        record->file = loaded;
        return;
    }
    const irpafs_version *served = record->file;
    bool keep = served && served->listed && manifest_changed &&
                manifest_permissions_hold(served, path, st);
    const char *plural = errors.count == 1 ? "" : "s";
    if (keep)
        irpafs_log(LOG_ERR,
                   "archive %s failing: manifest %s does not load (%zu error%s); its last good "
                   "version stays served:", served->archive->name, path, errors.count, plural);
    else
        irpafs_log(LOG_ERR, "manifest %s is invalid and is not served (%zu error%s):", path,
                   errors.count, plural);
    irpafs_log_errors("  ", &errors);
    irpa_errors_clear(&errors);
    if (keep) record->failing = true;
    else record_withdraw(record);
}

/* Brings one manifest's record up to date with `st`, its stat now. */
static void record_update(irpafs_table *table, manifest_record *record, const char *path,
                          const struct stat *st, irpafs_load_gate *gate, void *gate_context) {
    if (record_matches(record, st)) {
        /* A chmod or chown of a source reloads it too, so that the
         * archive's permissions follow (security.h). */
        if (record->file && irpafs_access_changed(record->file->archive, &record->file->access))
            record_reload(table, record, path, st, false);
        return;
    }
    if (gate && !gate(gate_context, record->file_name, st)) {
        /* Held back (being written): what it serves stays, unless the
         * permissions it was served with no longer hold. */
        if (record->file &&
            (irpafs_access_changed(record->file->archive, &record->file->access) ||
             !manifest_permissions_hold(record->file, path, st))) {
            irpafs_log(LOG_WARNING,
                       "archive %s: its permissions changed (sources, or the manifest's owner, "
                       "group, mode or ACL) while manifest %s is being written; withdrawn until "
                       "it is loaded again", record->file->archive->name, path);
            record_withdraw(record);
        }
        return;
    }
    record_reload(table, record, path, st, true);
}

/* Visits the directory: marks, loads and reloads records (changed ones
 * only when `gate` lets them through; all when it is NULL). -1 when the
 * directory cannot be read. */
static int scan_directory(irpafs_table *table, irpafs_load_gate *gate, void *gate_context) {
    DIR *dir = opendir(table->directory);
    if (!dir) {
        if (!table->directory_failing)
            irpafs_log(LOG_ERR, "cannot read manifest directory %s: %s; serving what was loaded",
                       table->directory, strerror(errno));
        table->directory_failing = true;
        return -1;
    }
    if (table->directory_failing)
        irpafs_log(LOG_INFO, "manifest directory %s is readable again", table->directory);
    table->directory_failing = false;
    for (size_t i = 0; i < table->record_count; i++)
        table->records[i].seen = table->records[i].fresh = table->records[i].recovered = false;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (!irpafs_table_is_manifest_name(table, entry->d_name)) continue;
        char *path = NULL;
        if (asprintf(&path, "%s/%s", strcmp(table->directory, "/") == 0 ? "" : table->directory,
                     entry->d_name) < 0)
            continue;
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        manifest_record *record = record_find(table, entry->d_name);
        if (!record) record = record_add(table, entry->d_name);
        if (!record) {
            irpafs_log(LOG_ERR, "out of memory while scanning %s", table->directory);
            free(path);
            continue;
        }
        record->seen = true;
        record_update(table, record, path, &st, gate, gate_context);
        free(path);
    }
    closedir(dir);
    return 0;
}

static void record_forget(manifest_record *record) {
    irpafs_version_put(record->file);
    free(record->file_name);
}

static int record_order(const void *a, const void *b) {
    return strcmp(((const manifest_record *)a)->file_name,
                  ((const manifest_record *)b)->file_name);
}

/* Forgets records of manifests that are gone, and sorts the rest by name
 * for record_find (a name a directory listing returned twice, as it may
 * while files are renamed, keeps one record). */
static void drop_unseen_records(irpafs_table *table) {
    size_t kept = 0;
    for (size_t i = 0; i < table->record_count; i++) {
        manifest_record *record = &table->records[i];
        if (record->seen) table->records[kept++] = *record;
        else record_forget(record);
    }
    if (kept > 1) qsort(table->records, kept, sizeof *table->records, record_order);
    size_t unique = 0;
    for (size_t i = 0; i < kept; i++) {
        if (unique > 0 &&
            strcmp(table->records[unique - 1].file_name, table->records[i].file_name) == 0)
            record_forget(&table->records[i]);
        else
            table->records[unique++] = table->records[i];
    }
    table->record_count = table->sorted_records = unique;
}

static int claim_order(const void *a, const void *b) {
    const manifest_record *x = *(manifest_record *const *)a, *y = *(manifest_record *const *)b;
    int by_name = strcmp(x->file->archive->name, y->file->archive->name);
    return by_name ? by_name : strcmp(x->file_name, y->file_name);
}

/* The file name of the manifest a version was loaded from. */
static const char *manifest_file_name(const irpafs_version *file) {
    const char *slash = strrchr(file->manifest_path, '/');
    return slash ? slash + 1 : file->manifest_path;
}

/* Whether manifest `file_name` is named after archive `name`, as the
 * default name is made (core/manifest.c: m.yaml or m.yml for m.irpa). */
static bool named_after(const char *file_name, const char *name) {
    size_t stem = strlen(file_name);
    if (has_suffix(file_name, ".yaml")) stem -= 5;
    else if (has_suffix(file_name, ".yml")) stem -= 4;
    return strlen(name) == stem + 5 && strncmp(file_name, name, stem) == 0 &&
           strcmp(name + stem, ".irpa") == 0;
}

/* Which of claims[0, count), all claiming one name, keeps it: the one
 * whose manifest serves it now (table->listed is read without the mutex:
 * only the scanning thread changes it), else the only one named after it;
 * NULL when none. Sets *serving when the winner serves it now. */
static manifest_record *clash_winner(const irpafs_table *table, manifest_record **claims,
                                     size_t count, bool *serving) {
    const char *name = claims[0]->file->archive->name;
    const irpafs_version *listed = listed_by_name(table, name);
    manifest_record *named = NULL;
    size_t named_count = 0;
    for (size_t i = 0; i < count; i++) {
        if (listed && strcmp(manifest_file_name(listed), claims[i]->file_name) == 0) {
            *serving = true;
            return claims[i];
        }
        if (named_after(claims[i]->file_name, name)) {
            named = claims[i];
            named_count++;
        }
    }
    *serving = false;
    return named_count == 1 ? named : NULL;
}

/* Resolves a name claimed by claims[0, count): returns the claim that
 * keeps it, or NULL. Logs the refused ones that were (re)loaded by this
 * scan, so each refusal is logged once. */
static manifest_record *resolve_clash(const irpafs_table *table, manifest_record **claims,
                                      size_t count) {
    bool serving = false;
    manifest_record *winner = clash_winner(table, claims, count, &serving);
    const char *name = claims[0]->file->archive->name;
    bool any_fresh = false;
    for (size_t i = 0; i < count; i++) any_fresh |= claims[i]->fresh;
    for (size_t i = 0; i < count; i++) {
        if (claims[i] == winner) continue;
        if (winner && claims[i]->fresh)
            irpafs_log(LOG_ERR, "manifest %s/%s refused: archive name '%s' %s manifest %s/%s",
                       table->directory, claims[i]->file_name, name,
                       serving ? "is already served from" : "goes to the one named after it,",
                       table->directory, winner->file_name);
        else if (!winner && any_fresh)
            irpafs_log(LOG_ERR,
                       "manifest %s/%s: archive name '%s' is claimed by %zu manifests; "
                       "none of them is served",
                       table->directory, claims[i]->file_name, name, count);
    }
    return winner;
}

/* Records with a version, sorted by archive name, one per name (clashes
 * resolved by resolve_clash). Returns the count kept, or -1 on ENOMEM. */
static long unique_claims(irpafs_table *table, manifest_record ***claims_out) {
    manifest_record **claims = calloc(table->record_count ? table->record_count : 1, sizeof *claims);
    if (!claims) return -1;
    size_t count = 0;
    for (size_t i = 0; i < table->record_count; i++)
        if (table->records[i].file) claims[count++] = &table->records[i];
    qsort(claims, count, sizeof *claims, claim_order);
    size_t kept = 0;
    for (size_t start = 0; start < count;) {
        size_t end = start + 1;
        const char *name = claims[start]->file->archive->name;
        while (end < count && strcmp(claims[end]->file->archive->name, name) == 0) end++;
        manifest_record *winner =
            end - start == 1 ? claims[start] : resolve_clash(table, &claims[start], end - start);
        if (winner) claims[kept++] = winner;
        start = end;
    }
    *claims_out = claims;
    return (long)kept;
}

static irpafs_version *claimed_version(manifest_record **claims, size_t count, const char *name) {
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(claims[middle]->file->archive->name, name);
        if (order == 0) return claims[middle]->file;
        if (order < 0) low = middle + 1;
        else high = middle;
    }
    return NULL;
}

static void log_version(const char *what, const irpafs_version *file) {
    irpafs_log(LOG_INFO, "archive %s %s (manifest %s, %zu entr%s, %llu bytes)",
               file->archive->name, what, file->manifest_path, file->archive->entry_count,
               file->archive->entry_count == 1 ? "y" : "ies",
               (unsigned long long)file->archive->file_size);
}

/* Logs what publishing `claims` will change, one line per archive name
 * (table->listed read without the mutex: only the scanning thread changes
 * it). Not for the first scan: the start of serving is logged as a whole. */
static void log_changes(const irpafs_table *table, manifest_record **claims, size_t count) {
    if (!table->published) return;
    for (size_t i = 0; i < count; i++) {
        const irpafs_version *file = claims[i]->file;
        const irpafs_version *before = listed_by_name(table, file->archive->name);
        if (before == file) continue;
        if (!before) log_version("added", file);
        else if (claims[i]->recovered) log_version("recovered: its manifest loads again", file);
        else log_version("replaced", file);
    }
    for (size_t i = 0; i < table->listed_count; i++) {
        const irpafs_version *before = table->listed[i];
        if (!claimed_version(claims, count, before->archive->name))
            irpafs_log(LOG_INFO, "archive %s removed (manifest %s)", before->archive->name,
                       before->manifest_path);
    }
}

/* Makes the listed versions those of `claims` (table mutex held), with
 * `listed` (room for `count`, owned from now on) as the name index. Versions
 * to put are collected in `released`. */
static void publish(irpafs_table *table, manifest_record **claims, size_t count,
                    irpafs_version **listed, irpafs_changes *changes, irpafs_version **released,
                    size_t *released_count) {
    bool changed = false;
    for (size_t i = table->inode_count; i-- > 0;) {
        irpafs_version *file = table->inodes[i];
        if (!file->listed || claimed_version(claims, count, file->archive->name) == file) continue;
        file->listed = false;
        changed = true;
        changes_add(changes, file->archive->name);
        irpafs_version *gone = inode_table_settle(table, i);
        if (gone) released[(*released_count)++] = gone;
    }
    for (size_t i = 0; i < count; i++) {
        irpafs_version *file = claims[i]->file;
        if (file->listed) continue;
        file->inode = allocate_inode(table, file->archive->name);
        if (inode_table_add(table, file) != 0) {
            irpafs_log(LOG_ERR, "out of memory: %s is not served", file->archive->name);
            continue;
        }
        file->listed = true;
        changed = true;
        changes_add(changes, file->archive->name);
    }
    free(table->listed);
    table->listed = listed;
    table->listed_count = 0;
    for (size_t i = 0; i < count; i++)  /* claims are sorted by archive name */
        if (claims[i]->file->listed) table->listed[table->listed_count++] = claims[i]->file;
    if (changed) clock_gettime(CLOCK_REALTIME, &table->root_mtime);
}

long irpafs_table_scan_gated(irpafs_table *table, irpafs_load_gate *gate, void *gate_context,
                             irpafs_changes *changes) {
    if (scan_directory(table, gate, gate_context) != 0) return -1;
    drop_unseen_records(table);
    manifest_record **claims = NULL;
    long count = unique_claims(table, &claims);
    if (count < 0) {
        irpafs_log(LOG_ERR, "out of memory while scanning %s", table->directory);
        return -1;
    }
    log_changes(table, claims, (size_t)count);
    irpafs_version **released = NULL;
    irpafs_version **listed = calloc(count ? (size_t)count : 1, sizeof *listed);
    pthread_mutex_lock(&table->mutex);
    released = calloc(table->inode_count ? table->inode_count : 1, sizeof *released);
    size_t released_count = 0;
    if (released && listed)
        publish(table, claims, (size_t)count, listed, changes, released, &released_count);
    pthread_mutex_unlock(&table->mutex);
    for (size_t i = 0; i < released_count; i++) irpafs_version_put(released[i]);
    bool published = released && listed;
    if (!published) free(listed);
    table->published |= published;
    free(released);
    free(claims);
    return published ? count : -1;
}

long irpafs_table_scan(irpafs_table *table, irpafs_changes *changes) {
    return irpafs_table_scan_gated(table, NULL, NULL, changes);
}
