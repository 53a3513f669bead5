/* owner.c: the identity of a manifest's owner (security_internal.h). */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "security_internal.h"

int owner_identity_init(owner_identity *owner, uid_t uid, gid_t manifest_gid) {
    memset(owner, 0, sizeof *owner);
    owner->uid = uid;
    owner->gid = manifest_gid;
    if (uid == 0) return 0;  /* root reads everything: its groups are never needed */
    char buffer[16384];
    struct passwd entry, *found = NULL;
    if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found) {
        owner->gid = found->pw_gid;
        int count = 32;
        for (int attempt = 0; attempt < 8; attempt++) {
            gid_t *groups = realloc(owner->groups, (size_t)count * sizeof *groups);
            if (!groups) return -1;
            owner->groups = groups;
            int wanted = count;
            if (getgrouplist(found->pw_name, found->pw_gid, groups, &wanted) >= 0) {
                owner->group_count = wanted;
                owner->groups_known = true;
                return 0;
            }
            count = wanted > count ? wanted : count * 2;
        }
    }
    /* No passwd entry (or an absurd group list): the manifest's group only. */
    free(owner->groups);
    owner->groups = malloc(sizeof *owner->groups);
    if (!owner->groups) return -1;
    owner->groups[0] = owner->gid;
    owner->group_count = 1;
    owner->groups_known = false;
    return 0;
}

void owner_identity_clear(owner_identity *owner) {
    free(owner->groups);
    owner->groups = NULL;
}

int owner_in_group(const owner_identity *owner, gid_t gid) {
    for (int i = 0; i < owner->group_count; i++)
        if (owner->groups[i] == gid) return 1;
    return owner->groups_known ? 0 : -1;
}
