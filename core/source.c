
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

int irpa_source_open(irpa_source *source, const char *path, const char *where,
                     irpa_errors *errors) {
    return irpa_source_open_with(source, path, where, NULL, NULL, errors);
}

int irpa_source_open_with(irpa_source *source, const char *path, const char *where,
                          irpa_open_function open_file, void *context, irpa_errors *errors) {
    const char *sep = where ? ": " : "";
    where = where ? where : "";
    memset(source, 0, sizeof *source);
    source->fd = -1;
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd = open_file ? open_file(context, path, flags) : open(path, flags);
    if (fd < 0)
        return irpa_error_of_kind(errors, IRPA_ERROR_SOURCE_OPEN,
                                  "%s%scannot open source '%s': %s", where, sep, path,
                                  strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        return irpa_error(errors, "%s%scannot stat source '%s': %s", where, sep, path,
                          strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return irpa_error(errors, "%s%ssource '%s' is not a regular file", where, sep, path);
    }
    int status_flags = fcntl(fd, F_GETFL);
    if (status_flags >= 0) fcntl(fd, F_SETFL, status_flags & ~O_NONBLOCK);
    source->path = strdup(path);
    if (!source->path) {
        close(fd);
        return irpa_error(errors, "%s%sout of memory", where, sep);
    }
    source->fd = fd;
    source->size = (uint64_t)st.st_size;
    source->mtime = st.st_mtim;
    source->dev = st.st_dev;
    source->ino = st.st_ino;
    return 0;
}

void irpa_source_close(irpa_source *source) {
    if (source->remote) source->remote_ops->close(source->remote);
    source->remote = NULL;
    if (source->fd >= 0) close(source->fd);
    source->fd = -1;
    free(source->path);
    source->path = NULL;
    free(source->url);
    source->url = NULL;
}

int irpa_source_changed(const irpa_source *source, struct stat *now, char *why,
                        size_t why_size) {
    struct stat local;
    struct stat *st_pointer = now ? now : &local;
    if (fstat(source->fd, st_pointer) != 0) {
        snprintf(why, why_size, "cannot be checked: %s", strerror(errno));
        return 1;
    }
    if ((uint64_t)st_pointer->st_size < source->size) {
        snprintf(why, why_size, "truncated from %llu to %llu bytes",
                 (unsigned long long)source->size, (unsigned long long)st_pointer->st_size);
        return 1;
    }
    if ((uint64_t)st_pointer->st_size != source->size) {
        snprintf(why, why_size, "size changed from %llu to %llu bytes",
                 (unsigned long long)source->size, (unsigned long long)st_pointer->st_size);
        return 1;
    }
    if (!irpa_same_time(st_pointer->st_mtim, source->mtime)) {
        snprintf(why, why_size, "modified in place (mtime changed)");
        return 1;
    }
    return 0;
}

int irpa_source_path_is_current(const irpa_source *source) {
    struct stat st;
    if (stat(source->path, &st) != 0) return 0;
    return irpa_source_is(source, st.st_dev, st.st_ino);
}

int irpa_source_is(const irpa_source *source, dev_t dev, ino_t ino) {
    return !source->remote && source->dev == dev && source->ino == ino;
}

int irpa_source_pread(const irpa_source *source, void *buffer, uint64_t length,
                      uint64_t offset) {
    if (source->remote) return source->remote_ops->pread(source->remote, buffer, length, offset);
    char *out = buffer;
    while (length > 0) {
        size_t chunk = length > (1u << 30) ? (1u << 30) : (size_t)length;
        ssize_t got = pread(source->fd, out, chunk, (off_t)offset);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) {
            errno = EIO;
            return -1;
        }
        out += got;
        offset += (uint64_t)got;
        length -= (uint64_t)got;
    }
    return 0;
}
