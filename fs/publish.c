/* publish.c: which manifest serves each archive name, and publishing the
 * result of a scan (table.h: irpafs_table_scan; table_internal.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "search.h"
#include "table_internal.h"

static int claim_order(const void *a, const void *b) {
    const manifest_record *x = *(manifest_record *const *)a, *y = *(manifest_record *const *)b;
    int by_name = strcmp(x->version->archive->name, y->version->archive->name);
    return by_name ? by_name : strcmp(x->file_name, y->file_name);
}

/* The file name of the manifest a version was loaded from. */
static const char *manifest_file_name(const irpafs_version *version) {
    const char *slash = strrchr(version->manifest_path, '/');
    return slash ? slash + 1 : version->manifest_path;
}

/* Whether manifest `file_name` is named after archive `name`, as the
 * default name is made (core/manifest.c: m.yaml or m.yml for m.irpa). */
static bool named_after(const char *file_name, const char *name) {
    size_t stem = strlen(file_name);
    if (name_has_suffix(file_name, ".yaml")) stem -= 5;
    else if (name_has_suffix(file_name, ".yml")) stem -= 4;
    return strlen(name) == stem + 5 && strncmp(file_name, name, stem) == 0 &&
           strcmp(name + stem, ".irpa") == 0;
}

/* Which of claims[0, count), all claiming one name, keeps it: the one
 * whose manifest serves it now (table->listed is read without the mutex:
 * only the scanning thread changes it), else the only one named after it;
 * NULL when none. Sets *serving when the winner serves it now. */
static manifest_record *clash_winner(const irpafs_table *table, manifest_record **claims,
                                     size_t count, bool *serving) {
    const char *name = claims[0]->version->archive->name;
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
    const char *name = claims[0]->version->archive->name;
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
        if (table->records[i].version) claims[count++] = &table->records[i];
    qsort(claims, count, sizeof *claims, claim_order);
    size_t kept = 0;
    for (size_t start = 0; start < count;) {
        size_t end = start + 1;
        const char *name = claims[start]->version->archive->name;
        while (end < count && strcmp(claims[end]->version->archive->name, name) == 0) end++;
        manifest_record *winner =
            end - start == 1 ? claims[start] : resolve_clash(table, &claims[start], end - start);
        if (winner) claims[kept++] = winner;
        start = end;
    }
    *claims_out = claims;
    return (long)kept;
}

static bool claim_before(const void *items, size_t index, const void *key) {
    return strcmp(((manifest_record *const *)items)[index]->version->archive->name, key) < 0;
}

/* The version claims[0, count) (sorted by archive name) give `name`, or NULL. */
static irpafs_version *claimed_version(manifest_record **claims, size_t count, const char *name) {
    size_t position = irpa_lower_bound(claims, count, claim_before, name);
    if (position < count && strcmp(claims[position]->version->archive->name, name) == 0)
        return claims[position]->version;
    return NULL;
}

static void log_version(const char *what, const irpafs_version *version) {
    irpafs_log(LOG_INFO, "archive %s %s (manifest %s, %zu entr%s, %llu bytes)",
               version->archive->name, what, version->manifest_path, version->archive->entry_count,
               version->archive->entry_count == 1 ? "y" : "ies",
               (unsigned long long)version->archive->file_size);
}

/* Logs what publishing `claims` will change, one line per archive name
 * (table->listed read without the mutex: only the scanning thread changes
 * it). Not for the first scan: the start of serving is logged as a whole. */
static void log_changes(const irpafs_table *table, manifest_record **claims, size_t count) {
    if (!table->published) return;
    for (size_t i = 0; i < count; i++) {
        const irpafs_version *version = claims[i]->version;
        const irpafs_version *before = listed_by_name(table, version->archive->name);
        if (before == version) continue;
        if (!before) log_version("added", version);
        else if (claims[i]->recovered) log_version("recovered: its manifest loads again", version);
        else log_version("replaced", version);
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
        irpafs_version *version = table->inodes[i];
        if (!version->listed || claimed_version(claims, count, version->archive->name) == version)
            continue;
        version->listed = false;
        changed = true;
        changes_add(changes, version->archive->name);
        irpafs_version *gone = inode_table_settle(table, i);
        if (gone) released[(*released_count)++] = gone;
    }
    for (size_t i = 0; i < count; i++) {
        irpafs_version *version = claims[i]->version;
        if (version->listed) continue;
        version->inode = inode_allocate(table, version->archive->name);
        if (inode_table_add(table, version) != 0) {
            irpafs_log(LOG_ERR, "out of memory: %s is not served", version->archive->name);
            continue;
        }
        version->listed = true;
        changed = true;
        changes_add(changes, version->archive->name);
    }
    free(table->listed);
    table->listed = listed;
    table->listed_count = 0;
    for (size_t i = 0; i < count; i++)  /* claims are sorted by archive name */
        if (claims[i]->version->listed) table->listed[table->listed_count++] = claims[i]->version;
    if (changed) clock_gettime(CLOCK_REALTIME, &table->root_mtime);
}

long irpafs_table_scan_gated(irpafs_table *table, irpafs_load_gate *gate, void *gate_context,
                             irpafs_changes *changes) {
    if (records_scan(table, gate, gate_context) != 0) return -1;
    records_drop_unseen(table);
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

