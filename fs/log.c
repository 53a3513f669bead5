/* log.c: stderr while attached, syslog when detached (log.h). */

#include "log.h"

#include <fuse_log.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Where messages go; written at startup and once at detach, read by every
 * thread. */
static atomic_bool log_to_stderr = true;
static atomic_bool log_to_syslog = false;
static atomic_bool log_debug = false;

static void write_line(int priority, const char *fmt, va_list args) {
    if (priority >= LOG_DEBUG && !atomic_load(&log_debug)) return;
    char line[2048];
    vsnprintf(line, sizeof line, fmt, args);
    size_t length = strlen(line);
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
        line[--length] = '\0';
    for (char *c = line; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    if (atomic_load(&log_to_stderr)) fprintf(stderr, "irpafs: %s\n", line);
    if (atomic_load(&log_to_syslog)) syslog(priority, "%s", line);
}

/* libfuse may build one line from several calls: collect the pieces per
 * thread and write whole lines. */
static _Thread_local char pending[2048];
static _Thread_local size_t pending_length;

static void write_pending(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_pending(int priority, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    write_line(priority, fmt, args);
    va_end(args);
}

static void fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list args) {
    int priority = (int)level;  /* fuse_log_level mirrors syslog's priorities */
    if (priority < LOG_EMERG || priority > LOG_DEBUG) priority = LOG_INFO;
    char piece[2048];
    vsnprintf(piece, sizeof piece, fmt, args);
    for (const char *c = piece; *c; c++) {
        if (*c == '\n') {
            pending[pending_length] = '\0';
            write_pending(priority, "%s", pending);
            pending_length = 0;
        } else if (pending_length + 1 < sizeof pending) {
            pending[pending_length++] = *c;
        }
    }
}

void irpafs_log_open(bool foreground, bool debug) {
    atomic_store(&log_debug, debug);
    atomic_store(&log_to_stderr, true);
    atomic_store(&log_to_syslog, !foreground);
    if (!foreground) openlog("irpafs", LOG_PID, LOG_DAEMON);
    fuse_set_log_func(fuse_log_to_ours);
}

void irpafs_log_detached(void) {
    atomic_store(&log_to_syslog, true);
    atomic_store(&log_to_stderr, false);
}

void irpafs_log(int priority, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    write_line(priority, fmt, args);
    va_end(args);
}

void irpafs_log_errors(const char *prefix, const irpa_errors *errors) {
    for (size_t i = 0; i < errors->count; i++)
        irpafs_log(LOG_ERR, "%s%s", prefix ? prefix : "", errors->messages[i]);
}

void irpafs_log_close(void) {
    if (atomic_load(&log_to_syslog)) closelog();
    fuse_set_log_func(NULL);
}
