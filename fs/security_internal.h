/* security_internal.h: what the files of the security module share
 * (security.h); not for the rest of fs/.
 *
 *   security.c     loading a manifest: who may have written it, its sources
 *                  opened with its owner's rights, the archive's access
 *   owner.c        the manifest owner's identity (uid, groups)
 *   opener.c       opening a file as that owner: a forked child, SCM_RIGHTS
 *   permissions.c  the permission rule: the archive's owner, group and mode
 *   privileges.c   dropping capabilities once mounted */
#ifndef IRPAFS_SECURITY_INTERNAL_H
#define IRPAFS_SECURITY_INTERNAL_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "security.h"

/* The identity of a manifest's owner. */
typedef struct owner_identity {
    uid_t uid;            /* the owner */
    gid_t gid;            /* primary group (from passwd, else the manifest's group) */
    gid_t *groups;        /* every group of the owner, primary included, owned */
    int group_count;      /* groups held */
    bool groups_known;    /* the owner has a passwd entry: groups is exact */
} owner_identity;

/* owner.c */

/* The identity of `uid`, owner of a manifest of group `manifest_gid`: its
 * groups from passwd and group, or the manifest's group alone when it has
 * no passwd entry. 0, or -1 out of memory (clear it either way). */
int owner_identity_init(owner_identity *owner, uid_t uid, gid_t manifest_gid);

void owner_identity_clear(owner_identity *owner);

/* 1 when gid is one of the owner's groups, 0 when not, -1 when unknown. */
int owner_in_group(const owner_identity *owner, gid_t gid);

/* opener.c */

/* irpa_open_function (`context`: the owner_identity): opens `path` in a
 * child process that has taken the owner's file-system identity (fsuid,
 * fsgid, supplementary groups; no effective capability left). A child that
 * does not answer (a path on a file system that hangs) is killed after
 * OPEN_TIMEOUT_MS, and the open fails with ETIMEDOUT. */
int open_as_owner(void *context, const char *path, int flags);

/* permissions.c */

/* Fills *access by the permission rule for `archive`, loaded from a
 * manifest of stat `manifest_stat` (with an access ACL: `manifest_acl`)
 * owned by `owner`. */
void access_compute(const irpa_archive *archive, const struct stat *manifest_stat,
                    bool manifest_acl, const owner_identity *owner, irpafs_access *access);

#endif
