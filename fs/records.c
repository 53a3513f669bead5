/* records.c: the manifests a scan finds, each with the version it serves
 * (its last good one while it fails to load) (table_internal.h). Only the
 * scanning thread touches records. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "search.h"
#include "table_internal.h"

bool name_has_suffix(const char *name, const char *suffix) {
    size_t length = strlen(name), suffix_length = strlen(suffix);
    return length > suffix_length && strcmp(name + length - suffix_length, suffix) == 0;
}

bool irpafs_table_is_manifest_name(const irpafs_table *table, const char *name) {
    if (table->single_name) return strcmp(name, table->single_name) == 0;
    if (name[0] == '.') return false;
    return name_has_suffix(name, ".yaml") || name_has_suffix(name, ".yml");
}

/* Whether `name` can be a file name in the root directory. */
static bool is_valid_file_name(const char *name) {
    size_t length = strlen(name);
    return length > 0 && length <= NAME_MAX && strchr(name, '/') == NULL &&
           strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static bool record_matches(const manifest_record *record, const struct stat *st) {
    return record->dev == st->st_dev && record->ino == st->st_ino && record->size == st->st_size &&
           irpa_same_time(record->mtime, st->st_mtim) && irpa_same_time(record->ctime, st->st_ctim);
}

/* The record of `file_name` among those known before this scan (sorted);
 * records added by this scan are new names and are not searched. */
static bool record_before(const void *items, size_t index, const void *key) {
    return strcmp(((const manifest_record *)items)[index].file_name, key) < 0;
}

static manifest_record *record_find(irpafs_table *table, const char *file_name) {
    size_t position =
        irpa_lower_bound(table->records, table->sorted_records, record_before, file_name);
    if (position < table->sorted_records &&
        strcmp(table->records[position].file_name, file_name) == 0)
        return &table->records[position];
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
    irpafs_version *version = version_new(table, path, st->st_mtim, archive);
    if (!version) {
        irpa_error(errors, "%s: out of memory", path);
        irpa_archive_free(archive);
    } else {
        version->access = access;  /* before it is listed: read without the mutex */
        version->manifest_gid = read_st.st_gid;
        version->manifest_mode = read_st.st_mode & 07777;
    }
    return version;
}

/* Whether the file at `path` is still the one `st` described before it was
 * loaded: a writer that started meanwhile (after the events that let the
 * load through were read) may have left it half-written. */
static bool unchanged_since(const char *path, const struct stat *st) {
    struct stat now;
    return stat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
           now.st_size == st->st_size && irpa_same_time(now.st_mtim, st->st_mtim) &&
           irpa_same_time(now.st_ctim, st->st_ctim);
}

/* Whether the permissions `served` was computed with still hold for the
 * manifest as `st` describes it now: same owner, group and mode, and no ACL
 * (whose entries could deny what the mode allows). A version that fails
 * this is withdrawn rather than kept while its manifest does not load. */
static bool manifest_permissions_hold(const irpafs_version *served, const char *path,
                                      const struct stat *st) {
    return served->access.uid == st->st_uid && served->manifest_gid == st->st_gid &&
           served->manifest_mode == (st->st_mode & 07777) && !irpafs_acl_found(-1, path);
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
    irpafs_version_put(record->version);
    record->version = NULL;
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
        irpafs_version_put(record->version);
        record->version = loaded;
        return;
    }
    const irpafs_version *served = record->version;
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
        if (record->version &&
            irpafs_access_changed(record->version->archive, &record->version->access))
            record_reload(table, record, path, st, false);
        return;
    }
    if (gate && !gate(gate_context, record->file_name, st)) {
        /* Held back (being written): what it serves stays, unless the
         * permissions it was served with no longer hold. */
        if (record->version &&
            (irpafs_access_changed(record->version->archive, &record->version->access) ||
             !manifest_permissions_hold(record->version, path, st))) {
            irpafs_log(LOG_WARNING,
                       "archive %s: its permissions changed (sources, or the manifest's owner, "
                       "group, mode or ACL) while manifest %s is being written; withdrawn until "
                       "it is loaded again", record->version->archive->name, path);
            record_withdraw(record);
        }
        return;
    }
    record_reload(table, record, path, st, true);
}

int records_scan(irpafs_table *table, irpafs_load_gate *gate, void *gate_context) {
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
    irpafs_version_put(record->version);
    free(record->file_name);
}

static int record_order(const void *a, const void *b) {
    return strcmp(((const manifest_record *)a)->file_name,
                  ((const manifest_record *)b)->file_name);
}

/* Sorted by name for record_find; a name a directory listing returned
 * twice, as it may while files are renamed, keeps one record. */
void records_drop_unseen(irpafs_table *table) {
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
