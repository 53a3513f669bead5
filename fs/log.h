/* log.h: where irpafs's messages go.
 *
 * Until the server detaches, messages go to stderr (and to syslog too when it
 * will run in the background, so that startup problems are in both places);
 * after it detaches, to syslog only. One message is one line. libfuse's own
 * messages are routed through the same function. */
#ifndef IRPAFS_LOG_H
#define IRPAFS_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "errors.h"

/* Starts logging: `foreground` says whether the server stays attached to its
 * terminal; LOG_DEBUG lines are written only when `debug`. Installs the
 * libfuse log function. */
void irpafs_log_open(bool foreground, bool debug);

/* Called after fuse_daemonize: from now on messages go to syslog only. */
void irpafs_log_detached(void);

/* Logs one line at `priority` (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
void irpafs_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs each collected error as one line at LOG_ERR, prefixed by `prefix`. */
void irpafs_log_errors(const char *prefix, const irpa_errors *errors);

/* Closes syslog. */
void irpafs_log_close(void);

#endif
