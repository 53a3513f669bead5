/* security.c: loading a manifest safely, and an archive's permissions
 * (security.h).
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
#include "security.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "manifest.h"
#include "net.h"
#include "resolve.h"

#define OPEN_TIMEOUT_MS 10000  /* how long a source may take to open as its owner */
#define MANIFEST_READ_LIMIT (((size_t)256 << 20) + 1) /* the loader refuses more than 256 MiB */

/* The identity of a manifest's owner. */
typedef struct owner_identity {
    uid_t uid;            /* the owner */
    gid_t gid;            /* primary group (from passwd, else the manifest's group) */
    gid_t *groups;        /* every group of the owner, primary included, owned */
    int group_count;      /* groups held */
    bool groups_known;    /* the owner has a passwd entry: groups is exact */
} owner_identity;

/* ---- the owner --------------------------------------------------------- */

static int identity_init(owner_identity *owner, uid_t uid, gid_t manifest_gid) {
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

static void identity_clear(owner_identity *owner) {
    free(owner->groups);
    owner->groups = NULL;
}

/* 1 when gid is one of the owner's groups, 0 when not, -1 when unknown. */
static int owner_in_group(const owner_identity *owner, gid_t gid) {
    for (int i = 0; i < owner->group_count; i++)
        if (owner->groups[i] == gid) return 1;
    return owner->groups_known ? 0 : -1;
}

/* ---- opening as the owner ---------------------------------------------- */

/* In the child: sends `error` and, when it is 0, the descriptor. Only
 * async-signal-safe calls. */
static void send_result(int socket_fd, int error, int fd) {
    struct iovec data = {.iov_base = &error, .iov_len = sizeof error};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1};
    if (error == 0) {
        message.msg_control = control.buffer;
        message.msg_controllen = sizeof control.buffer;
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &fd, sizeof fd);
    }
    while (sendmsg(socket_fd, &message, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

/* In the parent: the descriptor the child sent, or -1 with errno. */
static int receive_result(int socket_fd) {
    int error = EIO;
    struct iovec data = {.iov_base = &error, .iov_len = sizeof error};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1,
                             .msg_control = control.buffer,
                             .msg_controllen = sizeof control.buffer};
    ssize_t got;
    do got = recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    int fd = -1;
    for (struct cmsghdr *header = got > 0 ? CMSG_FIRSTHDR(&message) : NULL; header;
         header = CMSG_NXTHDR(&message, header))
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS)
            memcpy(&fd, CMSG_DATA(header), sizeof fd);
    if (got != (ssize_t)sizeof error) error = EIO;  /* the child died before answering */
    if (error == 0 && fd >= 0) return fd;
    if (fd >= 0) close(fd);
    errno = error ? error : EIO;
    return -1;
}

/* In the child: takes the owner's file-system identity: supplementary
 * groups, fsgid and fsuid, then empties its effective capabilities; its
 * real, effective and saved ids stay root's, so the owner cannot signal or
 * trace it, while every permission check of path lookup and open is made
 * as the owner's. Raw system calls: they change this (single-threaded)
 * process only. 0, or an errno value. */
static int become_owner_for_files(const owner_identity *owner) {
    if (syscall(SYS_setgroups, (size_t)owner->group_count, owner->groups) != 0)
        return errno ? errno : EPERM;
    syscall(SYS_setfsgid, owner->gid);
    syscall(SYS_setfsuid, owner->uid);
    /* setfs*id return the previous id: asking again with -1 tells whether
     * the change was made */
    if ((gid_t)syscall(SYS_setfsgid, (gid_t)-1) != owner->gid ||
        (uid_t)syscall(SYS_setfsuid, (uid_t)-1) != owner->uid)
        return EPERM;
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return errno ? errno : EPERM;
    data[0].effective = data[1].effective = 0;
    if (syscall(SYS_capset, &header, data) != 0) return errno ? errno : EPERM;
    return 0;
}

/* open(2), refusing procfs magic links (/proc/self/fd/N, .../cwd, ...),
 * which would reach files past directories the owner cannot search
 * (openat2; plain open on kernels before 5.6). */
static int open_without_magic_links(const char *path, int flags) {
    struct open_how how = {.flags = (uint64_t)flags, .resolve = RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS) return open(path, flags);
    return (int)fd;
}

/* In the child: becomes the owner and opens `path`; reports on
 * `socket_fd`. Only async-signal-safe calls. */
static void open_in_child(const owner_identity *owner, const char *path, int flags,
                          int socket_fd) {
    /* The descriptors the server holds (other manifests' sources, its
     * standard streams) are not this user's business, nor reachable
     * through /proc/self/fd: close them all but the socket. */
    if (socket_fd > 0) syscall(SYS_close_range, 0u, (unsigned)socket_fd - 1, 0u);
    syscall(SYS_close_range, (unsigned)socket_fd + 1, ~0u, 0u);
    int fd = -1;
    int error = become_owner_for_files(owner);
    if (error == 0 && (fd = open_without_magic_links(path, flags)) < 0) error = errno;
    send_result(socket_fd, error, fd);
}

/* Waits up to OPEN_TIMEOUT_MS for the child's answer; -1 with errno
 * ETIMEDOUT (the child is killed) when it does not come. */
static int await_child(int socket_fd, pid_t child) {
    struct pollfd ready = {.fd = socket_fd, .events = POLLIN};
    int polled;
    do polled = poll(&ready, 1, OPEN_TIMEOUT_MS);
    while (polled < 0 && errno == EINTR);
    if (polled > 0) return receive_result(socket_fd);
    kill(child, SIGKILL);
    errno = polled == 0 ? ETIMEDOUT : errno;
    return -1;
}

/* irpa_open_function: opens `path` in a child process that has taken the
 * manifest's owner's file-system identity (fsuid, fsgid, supplementary
 * groups; no effective capability left). A child that does not answer (a
 * path on a file system that hangs) is killed after OPEN_TIMEOUT_MS, and
 * the open fails with ETIMEDOUT. */
static int open_as_owner(void *context, const char *path, int flags) {
    const owner_identity *owner = context;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    pid_t child = fork();
    if (child < 0) {
        int saved = errno;
        close(pair[0]);
        close(pair[1]);
        errno = saved;
        return -1;
    }
    if (child == 0) {
        close(pair[0]);
        open_in_child(owner, path, flags, pair[1]);
        _exit(0);
    }
    close(pair[1]);
    int fd = await_child(pair[0], child);
    int saved = errno;
    close(pair[0]);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
    }
    errno = saved;
    return fd;
}

/* ---- the manifest ------------------------------------------------------ */

/* Reads the whole descriptor (up to MANIFEST_READ_LIMIT bytes). */
static char *read_all(int fd, size_t *length) {
    size_t capacity = 65536, used = 0;
    char *text = malloc(capacity);
    while (text && used < MANIFEST_READ_LIMIT) {
        if (used == capacity) {
            capacity = capacity * 2 > MANIFEST_READ_LIMIT ? MANIFEST_READ_LIMIT : capacity * 2;
            char *grown = realloc(text, capacity);
            if (!grown) break;
            text = grown;
        }
        ssize_t got = read(fd, text + used, capacity - used);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) break;
        if (got == 0) {
            *length = used;
            return text;
        }
        used += (size_t)got;
    }
    if (text && used >= MANIFEST_READ_LIMIT) {
        *length = used;
        return text;
    }
    free(text);
    return NULL;
}

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

/* Opens and reads the manifest; parses it. */
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
        size_t length = 0;
        char *text = read_all(fd, &length);
        if (!text)
            irpa_error(errors, "%s: cannot read: %s", path, strerror(errno ? errno : ENOMEM));
        else
            manifest = irpa_manifest_parse(path, text, length, errors);
        free(text);
    }
    close(fd);
    return manifest;
}

/* ---- the permission rule ----------------------------------------------- */

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

/* Whether a getxattr-style call found a POSIX access ACL beyond the mode
 * bits (an ACL with only the three base entries is never stored). */
static bool acl_found(ssize_t size) { return size > 0; }

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
        bool acl = known && acl_found(getxattr(path, "system.posix_acl_access", NULL, 0));
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
        bool acl = known && acl_found(fgetxattr(fd, "system.posix_acl_access", NULL, 0));
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
    const unsigned char *bytes = (const unsigned char *)fields;
    for (size_t i = 0; i < sizeof fields; i++) {
        *hash ^= bytes[i];
        *hash *= 0x100000001b3ull;
    }
}

#define FINGERPRINT_SEED 0xcbf29ce484222325ull

static uint64_t sources_fingerprint(const irpa_archive *archive) {
    uint64_t hash = FINGERPRINT_SEED;
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

static int64_t monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void compute_access(const irpa_archive *archive, const struct stat *manifest_stat,
                           bool manifest_acl, const owner_identity *owner,
                           irpafs_access *access) {
    rule_state state = {
        .granted = {.owner = true, .group = true, .other = true},
        .owner = owner,
        .archive_gid = archive_group(archive, manifest_stat),
        .fingerprint = FINGERPRINT_SEED,
    };
    restrict_by(&state.granted, owner, state.archive_gid, manifest_stat, 4, manifest_acl);
    visit_sources(archive, apply_rule, &state);
    access->uid = owner->uid;
    access->gid = state.archive_gid;
    access->mode = (state.granted.owner ? S_IRUSR : 0) | (state.granted.group ? S_IRGRP : 0) |
                   (state.granted.other ? S_IROTH : 0);
    access->sources_fingerprint = state.fingerprint;
    access->checked_ms = monotonic_ms();
}

bool irpafs_access_changed(const irpa_archive *archive, irpafs_access *access) {
    int64_t now = monotonic_ms();
    if (now - access->checked_ms < IRPAFS_ACCESS_CHECK_INTERVAL_MS) return false;
    access->checked_ms = now;
    return sources_fingerprint(archive) != access->sources_fingerprint;
}

/* Whether an error since `first` is about opening a source. */
static bool open_failed(const irpa_errors *errors, size_t first) {
    for (size_t i = first; i < errors->count; i++)
        if (strstr(errors->messages[i], "cannot open source")) return true;
    return false;
}

irpa_archive *irpafs_load_manifest(const char *path, irpafs_access *access,
                                   struct stat *manifest_stat, irpa_errors *errors) {
    struct stat st;
    irpa_manifest *manifest = read_manifest(path, &st, errors);
    if (!manifest) return NULL;
    if (manifest_stat) *manifest_stat = st;
    owner_identity owner;
    if (identity_init(&owner, st.st_uid, st.st_gid) != 0) {
        identity_clear(&owner);
        irpa_manifest_free(manifest);
        irpa_error(errors, "%s: out of memory", path);
        return NULL;
    }
    bool as_owner = geteuid() == 0 && st.st_uid != 0;
    size_t errors_before = errors->count;
    irpafs_net_apply(manifest, st.st_uid);
    irpa_archive *archive =
        irpa_resolve_with(manifest, as_owner ? open_as_owner : NULL, &owner, errors);
    bool manifest_acl = acl_found(getxattr(path, "system.posix_acl_access", NULL, 0));
    if (archive) compute_access(archive, &st, manifest_acl, &owner, access);
    if (!archive && as_owner && open_failed(errors, errors_before))
        irpa_error(errors, "%s: its sources are opened with the rights of its owner, uid %u",
                   path, (unsigned)st.st_uid);
    identity_clear(&owner);
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

/* ---- privileges -------------------------------------------------------- */

static bool capability_kept(unsigned capability) {
    return capability == CAP_DAC_READ_SEARCH || capability == CAP_SETUID ||
           capability == CAP_SETGID || capability == CAP_SYS_ADMIN;
}

/* The highest capability number the kernel knows. */
static unsigned last_capability(void) {
    unsigned last = CAP_LAST_CAP;
    FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "r");
    if (file) {
        if (fscanf(file, "%u", &last) != 1 || last > 63) last = CAP_LAST_CAP;
        fclose(file);
    }
    return last;
}

int irpafs_drop_privileges(irpa_errors *errors) {
    /* A user's server holds no capability, and unmounts at exit through
     * the set-uid fusermount3, which no_new_privs would disarm. */
    if (geteuid() != 0) return 0;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return irpa_error(errors, "cannot set no_new_privs: %s", strerror(errno));
    uint64_t kept = 0;
    unsigned last = last_capability();
    for (unsigned capability = 0; capability <= last; capability++) {
        if (capability_kept(capability)) {
            kept |= UINT64_C(1) << capability;
            continue;
        }
        /* EPERM without CAP_SETPCAP (a bounding set already reduced by
         * whoever started us): the effective and permitted sets below still
         * go, and with no_new_privs nothing can be regained by exec. */
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL &&
            errno != EPERM)
            return irpa_error(errors, "cannot drop capability %u from the bounding set: %s",
                              capability, strerror(errno));
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0)
        return irpa_error(errors, "cannot read capabilities: %s", strerror(errno));
    for (int word = 0; word < 2; word++) {
        uint32_t mask = (uint32_t)(kept >> (32 * word));
        data[word].effective &= mask;
        data[word].permitted &= mask;
        data[word].inheritable = 0;
    }
    if (syscall(SYS_capset, &header, data) != 0)
        return irpa_error(errors, "cannot drop capabilities: %s", strerror(errno));
    return 0;
}
