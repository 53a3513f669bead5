/* watch.c: the inotify thread (watch.h). */
#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "threads.h"

#define WATCH_EVENTS                                                                          \
    (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB |         \
     IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF)

/* What inotify said of the writer of one manifest name (watch.h). */
typedef enum writer_state {
    JUST_CREATED,   /* created, nothing written yet: held while empty or freshly written */
    BEING_WRITTEN,  /* written to, not closed since: held */
    WRITER_DONE,    /* closed after writing, renamed in, or changed otherwise: goes */
} writer_state;

typedef struct writer_note {
    char *file_name;                /* manifest name in the directory, owned */
    writer_state state;             /* what the last event about it said */
} writer_note;

struct irpafs_watch {
    irpafs_table *table;            /* what to rescan */
    writer_note *notes;             /* names with something known of their writer */
    size_t note_count;              /* notes held */
    size_t note_capacity;           /* slots in notes */
    struct fuse_session *session;   /* where to send invalidations */
    int inotify_fd;                 /* inotify instance watching the directory */
    int stop_fd;                    /* eventfd: readable once stop is asked */
    int rescan_fd;                  /* eventfd: readable after SIGHUP */
    pthread_t thread;               /* the watching thread */
};

/* The rescan_fd SIGHUP writes to, -1 when SIGHUP is not ours: session data
 * (a process serves one mount, so it has at most one watch). */
static volatile sig_atomic_t sighup_fd = -1;

static void on_sighup(int signal_number) {
    (void)signal_number;
    int saved_errno = errno;
    uint64_t one = 1;
    int fd = sighup_fd;
    if (fd >= 0 && write(fd, &one, sizeof one) < 0) { /* a full counter: already pending */ }
    errno = saved_errno;
}

/* SIGHUP rescans from now on, instead of ending the server (libfuse's
 * handler, installed before us). */
static void take_sighup(irpafs_watch *watch) {
    sighup_fd = watch->rescan_fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sighup;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(SIGHUP, &action, NULL) != 0)
        irpafs_log(LOG_WARNING, "SIGHUP will end the server: sigaction: %s", strerror(errno));
}

/* Ignores SIGHUP while the server stops (the watch and its descriptors go). */
static void release_sighup(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_IGN;
    sigemptyset(&action.sa_mask);
    sigaction(SIGHUP, &action, NULL);
    sighup_fd = -1;
}

/* Reads an eventfd's counter back to zero; whether it was set. */
static bool consume(int eventfd_fd) {
    uint64_t count = 0;
    return read(eventfd_fd, &count, sizeof count) == (ssize_t)sizeof count && count > 0;
}

/* ---- writers ----------------------------------------------------------- */

static writer_note *note_find(irpafs_watch *watch, const char *file_name) {
    for (size_t i = 0; i < watch->note_count; i++)
        if (strcmp(watch->notes[i].file_name, file_name) == 0) return &watch->notes[i];
    return NULL;
}

/* Records what is known of a name's writer; out of memory, nothing is
 * known (the settle rule applies). */
static void note_set(irpafs_watch *watch, const char *file_name, writer_state state) {
    writer_note *note = note_find(watch, file_name);
    if (note) {
        note->state = state;
        return;
    }
    if (watch->note_count == watch->note_capacity) {
        size_t capacity = watch->note_capacity ? watch->note_capacity * 2 : 16;
        writer_note *grown = realloc(watch->notes, capacity * sizeof *grown);
        if (!grown) return;
        watch->notes = grown;
        watch->note_capacity = capacity;
    }
    char *copy = strdup(file_name);
    if (!copy) return;
    watch->notes[watch->note_count++] = (writer_note){.file_name = copy, .state = state};
}

#define ANY_NAME NULL  /* notes_drop: whatever the name */
#define ANY_STATE (-1)  /* notes_drop: whatever the state */

/* Forgets the notes of `file_name` in `state` (ANY_NAME, ANY_STATE). */
static void notes_drop(irpafs_watch *watch, const char *file_name, int state) {
    size_t kept = 0;
    for (size_t i = 0; i < watch->note_count; i++) {
        writer_note *note = &watch->notes[i];
        bool drop = (file_name == ANY_NAME || strcmp(note->file_name, file_name) == 0) &&
                    (state == ANY_STATE || (int)note->state == state);
        if (drop) free(note->file_name);
        else watch->notes[kept++] = *note;
    }
    watch->note_count = kept;
}

/* Whether a name just created is a file open for writing (a regular file
 * with one link) rather than a symlink or a hard link to a finished file. */
static bool created_for_writing(const irpafs_watch *watch, const char *file_name) {
    char path[PATH_MAX];
    const char *directory = irpafs_table_directory(watch->table);
    if (snprintf(path, sizeof path, "%s/%s", strcmp(directory, "/") == 0 ? "" : directory,
                 file_name) >= (int)sizeof path)
        return false;
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1;
}

/* Takes note of an event about a manifest name; returns whether it can
 * change what is served (then a scan is due). */
static bool note_event(irpafs_watch *watch, const struct inotify_event *event) {
    uint32_t mask = event->mask;
    if (mask & (IN_DELETE | IN_MOVED_FROM)) {
        notes_drop(watch, event->name, ANY_STATE);
        return true;
    }
    if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        note_set(watch, event->name, WRITER_DONE);
        return true;
    }
    if (mask & IN_MODIFY) {
        note_set(watch, event->name, BEING_WRITTEN);
        return false;
    }
    if ((mask & IN_CREATE) && created_for_writing(watch, event->name)) {
        /* Held only while empty: a name linked in and its other name
         * removed before we looked, or a file created read-only, has no
         * close-after-write to come. */
        note_set(watch, event->name, JUST_CREATED);
        return true;
    }
    const writer_note *note = note_find(watch, event->name);
    if (!note || note->state == WRITER_DONE) note_set(watch, event->name, WRITER_DONE);
    return true;
}

/* Whether the mtime is IRPAFS_WATCH_SETTLE_MS away from now. */
static bool settled(const struct stat *st) {
    int64_t age_ms = irpa_age_ms(st->st_mtim);
    return age_ms >= IRPAFS_WATCH_SETTLE_MS || age_ms <= -IRPAFS_WATCH_SETTLE_MS;
}

/* The watcher's load gate (table.h): a manifest being written is held
 * back, one whose writer is done goes, one with nothing known goes once
 * settled. A name just created goes once it has bytes that have settled: a
 * scan that comes between the writer's first write and the event saying
 * so (IN_MODIFY, which holds it back until the close) must not load it. */
static bool writer_done(void *context, const char *file_name, const struct stat *st) {
    const writer_note *note = note_find(context, file_name);
    if (note && note->state == JUST_CREATED) return st->st_size > 0 && settled(st);
    if (note) return note->state == WRITER_DONE;
    return settled(st);
}

/* ---- the thread -------------------------------------------------------- */

/* Reads every pending event; returns whether one may change what is
 * served (events about other files, say a model being copied in, are
 * ignored). */
static bool drain_events(irpafs_watch *watch) {
    bool any = false;
    char buffer[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t got = read(watch->inotify_fd, buffer, sizeof buffer);
        if (got <= 0) break;
        for (char *at = buffer; at < buffer + got;) {
            const struct inotify_event *event = (const struct inotify_event *)at;
            if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
                irpafs_log(LOG_WARNING, "manifest directory %s was removed or moved",
                           irpafs_table_directory(watch->table));
            if (event->mask & IN_Q_OVERFLOW) {
                irpafs_log(LOG_WARNING, "inotify queue overflow; rescanning %s",
                           irpafs_table_directory(watch->table));
                notes_drop(watch, ANY_NAME, ANY_STATE);
            }
            if (event->len == 0) any = true;  /* the directory itself, or an overflow */
            else if (irpafs_table_is_manifest_name(watch->table, event->name))
                any |= note_event(watch, event);
            at += sizeof *event + event->len;
        }
    }
    return any;
}

/* Scans the table: every change when `everything` (SIGHUP), otherwise
 * those whose writer is done. */
static void rescan(irpafs_watch *watch, bool everything) {
    drain_events(watch);  /* what writers did up to now */
    irpafs_changes changes = {0};
    long served = everything ? irpafs_table_scan(watch->table, &changes)
                             : irpafs_table_scan_gated(watch->table, writer_done, watch, &changes);
    if (served >= 0) {
        notes_drop(watch, ANY_NAME, WRITER_DONE);  /* considered */
        for (size_t i = 0; i < changes.count; i++)
            fuse_lowlevel_notify_inval_entry(watch->session, IRPAFS_ROOT_INODE, changes.names[i],
                                             strlen(changes.names[i]));
        if (changes.count > 0)
            fuse_lowlevel_notify_inval_inode(watch->session, IRPAFS_ROOT_INODE, 0, 0);
    }
    irpafs_changes_clear(&changes);
}

/* When the next rescan is due (CLOCK_MONOTONIC milliseconds). */
static int64_t next_scan(int64_t first_event, int64_t last_event, int64_t last_scan) {
    if (first_event < 0) return last_scan + IRPAFS_WATCH_RESCAN_MS;
    int64_t quiet = last_event + IRPAFS_WATCH_QUIET_MS;
    int64_t latest = first_event + IRPAFS_WATCH_MAX_DELAY_MS;
    return quiet < latest ? quiet : latest;
}

static void *watch_thread(void *argument) {
    irpafs_watch *watch = argument;
    int64_t first_event = -1, last_event = -1, last_scan = irpa_monotonic_ms();
    for (;;) {
        int64_t wait = next_scan(first_event, last_event, last_scan) - irpa_monotonic_ms();
        struct pollfd fds[3] = {{.fd = watch->stop_fd, .events = POLLIN},
                                {.fd = watch->inotify_fd, .events = POLLIN},
                                {.fd = watch->rescan_fd, .events = POLLIN}};
        int ready = poll(fds, 3, wait > 0 ? (int)wait : 0);
        if (ready < 0 && errno != EINTR) {
            irpafs_log(LOG_ERR, "watching %s: poll: %s", irpafs_table_directory(watch->table),
                       strerror(errno));
            break;
        }
        if (ready > 0 && (fds[0].revents & POLLIN)) break;
        if (ready > 0 && (fds[1].revents & POLLIN) && drain_events(watch)) {
            last_event = irpa_monotonic_ms();
            if (first_event < 0) first_event = last_event;
        }
        bool asked = ready > 0 && (fds[2].revents & POLLIN) && consume(watch->rescan_fd);
        if (asked)
            irpafs_log(LOG_INFO, "SIGHUP: rescanning %s", irpafs_table_directory(watch->table));
        if (asked || irpa_monotonic_ms() >= next_scan(first_event, last_event, last_scan)) {
            rescan(watch, asked);
            first_event = last_event = -1;
            last_scan = irpa_monotonic_ms();
        }
    }
    return NULL;
}

irpafs_watch *irpafs_watch_start(irpafs_table *table, struct fuse_session *session,
                                 irpa_errors *errors) {
    irpafs_watch *watch = calloc(1, sizeof *watch);
    if (!watch) {
        irpa_error(errors, "out of memory");
        return NULL;
    }
    watch->table = table;
    watch->session = session;
    watch->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    watch->rescan_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    watch->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    const char *directory = irpafs_table_directory(table);
    if (watch->stop_fd < 0 || watch->rescan_fd < 0 || watch->inotify_fd < 0 ||
        inotify_add_watch(watch->inotify_fd, directory, WATCH_EVENTS) < 0) {
        irpa_error(errors, "cannot watch %s: %s", directory, strerror(errno));
    } else {
        int error = irpafs_thread_start(&watch->thread, watch_thread, watch);
        if (error == 0) {
            take_sighup(watch);
            return watch;
        }
        irpa_error(errors, "cannot start the watching thread: %s", strerror(error));
    }
    if (watch->stop_fd >= 0) close(watch->stop_fd);
    if (watch->rescan_fd >= 0) close(watch->rescan_fd);
    if (watch->inotify_fd >= 0) close(watch->inotify_fd);
    free(watch);
    return NULL;
}

void irpafs_watch_stop(irpafs_watch *watch) {
    if (!watch) return;
    release_sighup();
    uint64_t one = 1;
    if (write(watch->stop_fd, &one, sizeof one) != (ssize_t)sizeof one)
        irpafs_log(LOG_WARNING, "cannot wake the watching thread: %s", strerror(errno));
    pthread_join(watch->thread, NULL);
    close(watch->stop_fd);
    close(watch->rescan_fd);
    close(watch->inotify_fd);
    notes_drop(watch, ANY_NAME, ANY_STATE);
    free(watch->notes);
    free(watch);
}
