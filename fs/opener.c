/* opener.c: opening a file with the rights of a manifest's owner, from a
 * root server: a short-lived child takes the owner's file-system identity,
 * opens, and hands the descriptor back over a socket (SCM_RIGHTS)
 * (security_internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "security_internal.h"

#define OPEN_TIMEOUT_MS 10000  /* how long a source may take to open as its owner */

/* Room for the control message that carries one descriptor, aligned. */
typedef union descriptor_control {
    char buffer[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
} descriptor_control;

/* In the child: sends `error` and, when it is 0, the descriptor. Only
 * async-signal-safe calls. */
static void send_result(int socket_fd, int error, int fd) {
    struct iovec data = {.iov_base = &error, .iov_len = sizeof error};
    descriptor_control control;
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
    descriptor_control control;
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

int open_as_owner(void *context, const char *path, int flags) {
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
