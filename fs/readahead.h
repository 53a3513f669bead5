/* readahead.h: a larger kernel readahead for the mount (-o readahead_kb=N).
 *
 * The kernel's readahead for a FUSE mount starts at 128 KiB and is capped
 * by what the server asks for at init; the per-mount value lives in
 * /sys/class/bdi/MAJOR:MINOR/read_ahead_kb, where MAJOR:MINOR is the
 * mount's device (MAJOR is 0 for FUSE). It can only be raised once the
 * connection is initialised, so it is written when the first request after
 * init arrives (before any file can be opened). Needs root; failure is
 * logged (as a warning when -o readahead_kb was given, as debug output for
 * the default) and otherwise ignored. */
#ifndef IRPAFS_READAHEAD_H
#define IRPAFS_READAHEAD_H

#include <stddef.h>

#include "ll.h"

/* Finds the device of the newest mount at `mountpoint` in
 * /proc/self/mountinfo, without touching the mount. 0, or -1 when not found. */
int irpafs_readahead_find_device(const char *mountpoint, char *device, size_t size);

/* Writes context->readahead_kb for context->bdi_name, once per mount. */
void irpafs_readahead_apply_once(irpafs_context *context);

#endif
