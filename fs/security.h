/* security.h: who may read an archive, and whose rights load it.
 *
 * A manifest is loaded from one open descriptor: it is refused when its
 * mode lets its group or others write it, or when it is a symlink owned by
 * someone else than root and the file's owner. When the server runs as root
 * and the manifest's owner is not root, every source file (safetensors
 * shards included) is opened by a short-lived child process that has taken
 * the owner's fsuid, fsgid and supplementary groups (and no effective
 * capability), and hands the descriptor back over a socket: paths and
 * symlinks are followed exactly as the owner could follow them. Otherwise sources are opened with the
 * server's own rights.
 *
 * The archive's owner, group and mode (irpafs_access) are computed from the
 * permission bits, owners and groups of the manifest, every source file and
 * every directory on each source's canonical path, so that the kernel's
 * default_permissions check on the archive never lets a user read what
 * those bits would not let them read (the exact rule is in
 * the README's Security section and in permissions.c). They never depend on the
 * server's own rights. */
#ifndef IRPAFS_SECURITY_H
#define IRPAFS_SECURITY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "archive.h"
#include "errors.h"

#define IRPAFS_ACCESS_CHECK_INTERVAL_MS 4000  /* sources' permissions rechecked at most this often */

/* The owner, group and permission bits an archive is shown with. */
typedef struct irpafs_access {
    uid_t uid;                     /* the manifest's owner */
    gid_t gid;                     /* the sources' common group, else the manifest's group */
    mode_t mode;                   /* a subset of 0444: read for owner, group, others */
    uint64_t sources_fingerprint;  /* hash of the owners, groups and modes of the sources and
                                      their directories when computed (scanner only) */
    int64_t checked_ms;            /* when last computed or checked, CLOCK_MONOTONIC_COARSE ms
                                      (scanner only) */
} irpafs_access;

/* Loads and resolves the manifest at `path` as described above and fills
 * *access. `manifest_stat` receives the fstat of the manifest read (may be
 * NULL). NULL, with the reasons in `errors`, when it is refused or
 * invalid. */
irpa_archive *irpafs_load_manifest(const char *path, irpafs_access *access,
                                   struct stat *manifest_stat, irpa_errors *errors);

/* Whether the owners, groups or modes of the archive's sources or of the
 * directories above them changed since `access` was computed (chmod,
 * chown, a directory renamed): then the manifest must be loaded again for
 * the archive's permissions to follow. Looks at most every
 * IRPAFS_ACCESS_CHECK_INTERVAL_MS (false in between); not for changes of
 * the owner's group memberships. */
bool irpafs_access_changed(const irpa_archive *archive, irpafs_access *access);

/* Whether the file (open descriptor `fd`, or `path` when fd is -1) has a
 * POSIX access ACL beyond its mode bits, whose named entries may deny what
 * the bits allow (an ACL with only the three base entries is never stored). */
bool irpafs_acl_found(int fd, const char *path);

/* Logs a warning when `directory` (the manifest directory) lets its group
 * or everyone create files without the sticky bit: then they can remove or
 * replace other people's manifests. */
void irpafs_check_manifest_directory(const char *directory);

/* Gives up what the server does not need once mounted. When running as
 * root: sets no_new_privs and keeps only the capabilities to open files as
 * root (CAP_DAC_READ_SEARCH), to take a manifest owner's identity
 * (CAP_SETUID, CAP_SETGID) and to unmount at exit (CAP_SYS_ADMIN), in the
 * effective, permitted and bounding sets. Call before starting threads:
 * capabilities are per thread, inherited by threads created later. A
 * user's server has no capability to drop, and keeps the right to run the
 * set-uid fusermount3 that unmounts it at exit. 0, or -1 with an error. */
int irpafs_drop_privileges(irpa_errors *errors);

#endif
