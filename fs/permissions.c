/* permissions.c: the archive's owner, group and mode (security.h).
 *
 * The permission rule. Let M be the manifest's owner, and the objects be
 * the manifest file, every source file (needing read) and every directory
 * on each source file's canonical path, "/" included (needing search). For
 * an object o with owner uo, group go and bits (owner, group, other) for
 * the permission it needs:
 *   - the archive's group B is the group all source files share, or the
 *     manifest's group when they do not share one (or there is none);
 *   - owner read: M can use every o as Linux decides it (owner bits when
 *     uo == M, group bits when go is one of M's groups, other bits
 *     otherwise; both group and other bits when M's groups are unknown).
 *     Always set when M is root;
 *   - group read: for every o, (uo == M or o's owner bit) and (go == B ?
 *     o's group bit : o's group and other bits);
 *   - other read: for every o, (uo == M or o's owner bit) and o's other bit
 *     and (go == B or o's group bit).
 *   - an object with a POSIX access ACL (whose named entries may deny what
 *     the bits allow) takes group and other read away, and owner read
 *     unless M owns it (and its owner bit allows) or M is root;
 *   - an object that cannot be examined takes group and other read away,
 *     and owner read unless M is root.
 * A user the kernel puts in the archive's group class is not M and is in
 * B; whatever o's owner or group is to them, the bits required above let
 * them use o. Likewise for the other class (not M, not in B). So the
 * archive never grants more than the objects do; it may grant less (a user
 * who owns o, or is in go, while o's bits for them are wider). Root reads
 * every archive, as it reads every source. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "clock.h"
#include "hash.h"
#include "security_internal.h"

/* Which classes of users the archive lets read. */
typedef struct grants {
    bool owner;  /* the manifest's owner */
    bool group;  /* members of the archive's group */
    bool other;  /* everyone else */
} grants;

/* Narrows `granted` by one object (see the rule at the top). `need` is 4
 * (read) or 1 (search). */
static void restrict_by(grants *granted, const owner_identity *owner, gid_t archive_gid,
                        const struct stat *object, unsigned need, bool extended_acl) {
    unsigned mode = (unsigned)object->st_mode;
    bool owner_bit = (mode >> 6) & need, group_bit = (mode >> 3) & need, other_bit = mode & need;
    if (extended_acl) {
        /* Named ACL entries may deny what the mode bits allow: only the
         * object's owner (whose entry is the owner bits) is certain. */
        if (owner->uid != 0) granted->owner &= object->st_uid == owner->uid && owner_bit;
        granted->group = granted->other = false;
        return;
    }
    if (owner->uid != 0) {
        bool owner_can;
        if (object->st_uid == owner->uid) {
            owner_can = owner_bit;
        } else {
            int member = owner_in_group(owner, object->st_gid);
            owner_can = member > 0 ? group_bit : member == 0 ? other_bit : group_bit && other_bit;
        }
        granted->owner &= owner_can;
    }
    bool owner_of_object_can = object->st_uid == owner->uid || owner_bit;
    bool same_group = object->st_gid == archive_gid;
    granted->group &= owner_of_object_can && (same_group ? group_bit : group_bit && other_bit);
    granted->other &= owner_of_object_can && other_bit && (same_group || group_bit);
}

/* The canonical path of an open descriptor (malloc'd), or NULL. */
static char *descriptor_path(int fd) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    char *path = malloc(PATH_MAX);
    if (!path) return NULL;
    ssize_t length = readlink(link, path, PATH_MAX - 1);
    if (length <= 0 || path[0] != '/') {
        free(path);
        return NULL;
    }
    path[length] = '\0';
    return path;
}

/* Called for each object the rule looks at: its stat and the permission
 * needed (4 read, 1 search), or NULL when it cannot be known. */
typedef void (*object_visitor)(void *context, const struct stat *object, unsigned need,
                               bool extended_acl);

bool irpafs_acl_found(int fd, const char *path) {
    const char *name = "system.posix_acl_access";
    return (fd >= 0 ? fgetxattr(fd, name, NULL, 0) : getxattr(path, name, NULL, 0)) > 0;
}

/* Visits every directory on the canonical path of a source, "/" first. */
static void visit_directories(const irpa_source *source, object_visitor visit, void *context) {
    char *path = descriptor_path(source->fd);
    if (!path) {
        visit(context, NULL, 1, false);
        return;
    }
    for (char *slash = path; slash; slash = strchr(slash + 1, '/')) {
        char saved = slash[1];
        slash[1] = '\0';  /* the prefix up to and including this '/' */
        struct stat directory;
        bool known = stat(path, &directory) == 0 && S_ISDIR(directory.st_mode);
        bool acl = known && irpafs_acl_found(-1, path);
        visit(context, known ? &directory : NULL, 1, acl);
        slash[1] = saved;
    }
    free(path);
}

/* Visits every source file and the directories above it. */
static void visit_sources(const irpa_archive *archive, object_visitor visit, void *context) {
    for (size_t i = 0; i < archive->source_count; i++) {
        if (archive->sources[i].remote) continue; /* a URL: the manifest's rights decide */
        struct stat st;
        int fd = archive->sources[i].fd;
        bool known = fstat(fd, &st) == 0;
        bool acl = known && irpafs_acl_found(fd, NULL);
        visit(context, known ? &st : NULL, 4, acl);
        visit_directories(&archive->sources[i], visit, context);
    }
}

/* What the rule needs while visiting. */
typedef struct rule_state {
    grants granted;               /* narrowed by each object */
    const owner_identity *owner;  /* the manifest's owner */
    gid_t archive_gid;            /* the archive's group */
    uint64_t fingerprint;         /* of the objects visited (sources_fingerprint) */
} rule_state;

static void add_to_fingerprint(void *context, const struct stat *object, unsigned need,
                               bool extended_acl);

static void apply_rule(void *context, const struct stat *object, unsigned need,
                       bool extended_acl) {
    rule_state *state = context;
    add_to_fingerprint(&state->fingerprint, object, need, extended_acl);
    if (object) {
        restrict_by(&state->granted, state->owner, state->archive_gid, object, need,
                    extended_acl);
        return;
    }
    /* unknown: only root keeps access */
    state->granted.owner &= state->owner->uid == 0;
    state->granted.group = state->granted.other = false;
}

/* FNV-1a over the permission-relevant fields of each object (the
 * manifest excluded: its changes are seen by the scan itself). */
static void add_to_fingerprint(void *context, const struct stat *object, unsigned need,
                               bool extended_acl) {
    uint64_t *hash = context;
    uint64_t fields[6] = {need | (extended_acl ? 0x100u : 0u), 0, 0, 0, 0, 0};
    if (object) {
        fields[1] = (uint64_t)object->st_dev;
        fields[2] = (uint64_t)object->st_ino;
        fields[3] = (uint64_t)object->st_uid;
        fields[4] = (uint64_t)object->st_gid;
        fields[5] = (uint64_t)object->st_mode;
    }
    *hash = irpa_fnv1a_add(*hash, fields, sizeof fields);
}

static uint64_t sources_fingerprint(const irpa_archive *archive) {
    uint64_t hash = IRPA_FNV1A_START;
    visit_sources(archive, add_to_fingerprint, &hash);
    return hash;
}

/* The archive's group: the sources' common group, else the manifest's. */
static gid_t archive_group(const irpa_archive *archive, const struct stat *manifest_stat) {
    gid_t common = manifest_stat->st_gid;
    for (size_t i = 0, files = 0; i < archive->source_count; i++) {
        if (archive->sources[i].remote) continue; /* a URL has no group */
        struct stat st;
        if (fstat(archive->sources[i].fd, &st) != 0) return manifest_stat->st_gid;
        if (files++ == 0) common = st.st_gid;
        else if (st.st_gid != common) return manifest_stat->st_gid;
    }
    return common;
}

void access_compute(const irpa_archive *archive, const struct stat *manifest_stat,
                    bool manifest_acl, const owner_identity *owner, irpafs_access *access) {
    rule_state state = {
        .granted = {.owner = true, .group = true, .other = true},
        .owner = owner,
        .archive_gid = archive_group(archive, manifest_stat),
        .fingerprint = IRPA_FNV1A_START,
    };
    restrict_by(&state.granted, owner, state.archive_gid, manifest_stat, 4, manifest_acl);
    visit_sources(archive, apply_rule, &state);
    access->uid = owner->uid;
    access->gid = state.archive_gid;
    access->mode = (state.granted.owner ? S_IRUSR : 0) | (state.granted.group ? S_IRGRP : 0) |
                   (state.granted.other ? S_IROTH : 0);
    access->sources_fingerprint = state.fingerprint;
    access->checked_ms = irpa_coarse_ms();
}

bool irpafs_access_changed(const irpa_archive *archive, irpafs_access *access) {
    int64_t now = irpa_coarse_ms();
    if (now - access->checked_ms < IRPAFS_ACCESS_CHECK_INTERVAL_MS) return false;
    access->checked_ms = now;
    return sources_fingerprint(archive) != access->sources_fingerprint;
}

