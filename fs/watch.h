/* watch.h: live manifests.
 *
 * A thread watches the manifest directory with inotify. After a change it
 * waits for a short quiet period (an editor's writes arrive in bursts), at
 * most IRPAFS_WATCH_MAX_DELAY_MS after the first event, rescans the table,
 * and tells the kernel to drop what it cached for every name that changed
 * (fuse_lowlevel_notify_inval_entry) and the root's attributes. It also
 * rescans every IRPAFS_WATCH_RESCAN_MS, which catches what inotify cannot
 * see (a manifest that is a symlink to a file elsewhere being edited), and
 * at once on SIGHUP: while a watch runs, SIGHUP rescans instead of ending
 * the server. */
#ifndef IRPAFS_WATCH_H
#define IRPAFS_WATCH_H

#include <fuse_lowlevel.h>

#include "errors.h"
#include "table.h"

#define IRPAFS_WATCH_QUIET_MS 50       /* rescan after this long without events */
#define IRPAFS_WATCH_MAX_DELAY_MS 300  /* ... or this long after the first event */
#define IRPAFS_WATCH_RESCAN_MS 5000    /* rescan at least this often */

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
