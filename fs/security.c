/* security.c: loading a manifest safely (security.h). The rule for the
 * archive's permissions is in permissions.c; the other files of this
 * module are listed in security_internal.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "manifest.h"
#include "net.h"
#include "resolve.h"
#include "security_internal.h"

/* Checks who may have written the manifest; -1 with an error when refused. */
static int check_manifest_owner(const char *path, const struct stat *st, irpa_errors *errors) {
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return irpa_error(errors,
                          "%s: refused: the manifest is writable by %s (mode %04o), so others "
                          "than its owner could choose what it serves; fix with: chmod go-w %s",
                          path, (st->st_mode & S_IWOTH) ? "everyone" : "its group",
                          (unsigned)(st->st_mode & 07777), path);
    struct stat link;
    if (lstat(path, &link) == 0 && S_ISLNK(link.st_mode) && link.st_uid != 0 &&
        link.st_uid != st->st_uid)
        return irpa_error(errors,
                          "%s: refused: a symlink owned by uid %u to a file owned by uid %u; "
                          "a manifest symlink must belong to root or to the file's owner",
                          path, (unsigned)link.st_uid, (unsigned)st->st_uid);
    return 0;
}

/* Opens the manifest, checks it and loads it from that descriptor. */
static irpa_manifest *read_manifest(const char *path, struct stat *st, irpa_errors *errors) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        irpa_error(errors, "%s: cannot open: %s; expected a readable manifest file", path,
                   strerror(errno));
        return NULL;
    }
    irpa_manifest *manifest = NULL;
    if (fstat(fd, st) != 0) {
        irpa_error(errors, "%s: cannot stat: %s", path, strerror(errno));
    } else if (!S_ISREG(st->st_mode)) {
        irpa_error(errors, "%s: not a regular file", path);
    } else if (check_manifest_owner(path, st, errors) == 0) {
        manifest = irpa_manifest_load_fd(fd, path, errors);
    }
    close(fd);
    return manifest;
}

irpa_archive *irpafs_load_manifest(const char *path, irpafs_access *access,
                                   struct stat *manifest_stat, irpa_errors *errors) {
    struct stat st;
    irpa_manifest *manifest = read_manifest(path, &st, errors);
    if (!manifest) return NULL;
    if (manifest_stat) *manifest_stat = st;
    owner_identity owner;
    if (owner_identity_init(&owner, st.st_uid, st.st_gid) != 0) {
        owner_identity_clear(&owner);
        irpa_manifest_free(manifest);
        irpa_error(errors, "%s: out of memory", path);
        return NULL;
    }
    bool as_owner = geteuid() == 0 && st.st_uid != 0;
    size_t errors_before = errors->count;
    irpafs_net_apply(manifest, st.st_uid);
    irpa_archive *archive =
        irpa_resolve_with(manifest, as_owner ? open_as_owner : NULL, &owner, errors);
    bool manifest_acl = irpafs_acl_found(-1, path);
    if (archive) access_compute(archive, &st, manifest_acl, &owner, access);
    if (!archive && as_owner && irpa_errors_have(errors, errors_before, IRPA_ERROR_SOURCE_OPEN))
        irpa_error(errors, "%s: its sources are opened with the rights of its owner, uid %u",
                   path, (unsigned)st.st_uid);
    owner_identity_clear(&owner);
    irpa_manifest_free(manifest);
    return archive;
}

void irpafs_check_manifest_directory(const char *directory) {
    struct stat st;
    if (stat(directory, &st) != 0 || !(st.st_mode & (S_IWGRP | S_IWOTH)) ||
        (st.st_mode & S_ISVTX))
        return;
    irpafs_log(LOG_WARNING,
               "manifest directory %s is writable by %s (mode %04o) without the sticky bit: "
               "they can remove or replace anyone's manifests; fix with: chmod +t %s (or go-w)",
               directory, (st.st_mode & S_IWOTH) ? "everyone" : "its group",
               (unsigned)(st.st_mode & 07777), directory);
}
