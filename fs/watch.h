/* watch.h: live manifests.
 *
 * A thread watches the manifest directory with inotify and keeps, per
 * manifest name, what the events say of its writer:
 *   - being written: IN_MODIFY, or IN_CREATE of a regular file with one
 *     link (a file just opened with O_CREAT; held while empty, and until
 *     its bytes are IRPAFS_WATCH_SETTLE_MS old, in case its IN_MODIFY has
 *     not been read yet);
 *   - writer done: IN_CLOSE_WRITE, IN_MOVED_TO (an editor's or a tool's
 *     rename into place), IN_CREATE of a symlink or of a hard link, and
 *     IN_ATTRIB when no write is under way (chmod, chown, touch);
 *   - nothing known: forgotten at IN_DELETE, IN_MOVED_FROM and at a queue
 *     overflow.
 * Scans load a changed manifest only when its writer is done; one being
 * written keeps serving its previous version (or nothing, when new) until
 * it is closed, whatever pauses the writer makes. A changed manifest with
 * nothing known (edited through a symlink, or written while events were
 * lost) is loaded once its mtime is IRPAFS_WATCH_SETTLE_MS old.
 *
 * An event that can change what is served (not IN_MODIFY, not a creation
 * for writing) starts a scan after a short quiet period (an editor's events
 * arrive in bursts), at most IRPAFS_WATCH_MAX_DELAY_MS after the first
 * event; then the kernel is told to drop what it cached for every name that
 * changed (fuse_lowlevel_notify_inval_entry) and the root's attributes.
 * There is also a scan every IRPAFS_WATCH_RESCAN_MS (for what inotify
 * cannot see: a manifest that is a symlink to a file elsewhere, sources'
 * permissions), under the same rule, and at once on SIGHUP, which loads
 * every change, written or not: while a watch runs, SIGHUP rescans instead
 * of ending the server. */
#ifndef IRPAFS_WATCH_H
#define IRPAFS_WATCH_H

#include <fuse_lowlevel.h>

#include "errors.h"
#include "table.h"

#define IRPAFS_WATCH_QUIET_MS 50       /* rescan after this long without events */
#define IRPAFS_WATCH_MAX_DELAY_MS 300  /* ... or this long after the first event */
#define IRPAFS_WATCH_RESCAN_MS 5000    /* rescan at least this often */
#define IRPAFS_WATCH_SETTLE_MS 2000    /* a change without events loads once this old */

typedef struct irpafs_watch irpafs_watch;

/* Starts watching the table's directory; notifications go to `session`.
 * Takes SIGHUP over (call it after fuse_set_signal_handlers). NULL with an
 * error when inotify or the thread cannot be set up; SIGHUP then still ends
 * the server. */
irpafs_watch *irpafs_watch_start(irpafs_table *table, struct fuse_session *session,
                                 irpa_errors *errors);

/* Stops the thread and frees the watch; SIGHUP is ignored from then on.
 * NULL is fine. */
void irpafs_watch_stop(irpafs_watch *watch);

#endif
