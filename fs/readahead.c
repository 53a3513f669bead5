/* readahead.c: setting the mount's read_ahead_kb (readahead.h). */
#include "readahead.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_mountinfo(char *text) {
    char *out = text;
    for (char *in = text; *in; in++) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' &&
            in[3] >= '0' && in[3] <= '7') {
            *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
            in += 3;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

int irpafs_readahead_find_device(const char *mountpoint, char *device, size_t size) {
    FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
    if (!mountinfo) return -1;
    char *line = NULL;
    size_t capacity = 0;
    int found = -1;
    while (getline(&line, &capacity, mountinfo) > 0) {
        /* mount-id parent-id major:minor root mount-point ... */
        char *fields[5] = {0};
        char *cursor = line, *saved = NULL;
        for (int i = 0; i < 5; i++, cursor = NULL) fields[i] = strtok_r(cursor, " \n", &saved);
        if (!fields[4]) continue;
        unescape_mountinfo(fields[4]);
        if (strcmp(fields[4], mountpoint) != 0 || strncmp(fields[2], "0:", 2) != 0) continue;
        if ((size_t)snprintf(device, size, "%s", fields[2]) < size) found = 0;
    }
    free(line);
    fclose(mountinfo);
    return found;
}

void irpafs_readahead_apply_once(irpafs_context *context) {
    if (atomic_load(&context->readahead_applied)) return;
    if (atomic_exchange(&context->readahead_applied, true)) return;
    if (context->readahead_kb == 0 || context->bdi_name[0] == '\0') return;
    char path[96];
    snprintf(path, sizeof path, "/sys/class/bdi/%s/read_ahead_kb", context->bdi_name);
    FILE *file = fopen(path, "we");
    int error = file ? 0 : errno;
    if (file) {
        if (fprintf(file, "%u\n", context->readahead_kb) < 0) error = errno ? errno : EIO;
        if (fclose(file) != 0 && !error) error = errno;
    }
    if (error) {
        /* Not root, or /sys read-only: only worth a warning when asked for. */
        int priority = context->readahead_explicit ? LOG_WARNING : LOG_DEBUG;
        irpafs_log(priority, "cannot set readahead to %u KiB (%s): %s; keeping the kernel's",
                   context->readahead_kb, path, strerror(error));
        return;
    }
    irpafs_log(LOG_DEBUG, "readahead set to %u KiB (%s)", context->readahead_kb, path);
}
