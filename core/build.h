/* build.h: materializing an archive into a real file, atomically.
 *
 * Consumes irpa_archive_map's segments in order: memory and zero segments
 * are written, source segments copied with copy_file_range where the kernel
 * allows (falling back to pread/write). The output goes to a temporary file
 * beside the target, is fsynced and renamed over it; on any failure the
 * temporary file is removed and the target is untouched. */
#ifndef IRPA_BUILD_H
#define IRPA_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "archive.h"
#include "errors.h"

/* Called after each chunk (at most 64 MiB) with bytes written so far and in
 * all; a non-zero return cancels the build (the caller's interrupt check). */
typedef int (*irpa_progress_fn)(uint64_t done, uint64_t total, void *context);

/* Writes the whole archive to `fd` from its current position. Checks each
 * source for change before copying from it. Returns 0 or -1. */
int irpa_build_write_fd(const irpa_archive *archive, int fd, const char *out_name,
                        irpa_progress_fn progress, void *context, irpa_errors *errors);

/* Writes the archive to `out_path` atomically ("-" = standard output, not
 * atomic); an existing directory gets DIR/<archive name> (the manifest's
 * `archive:`). Before writing a byte, checks that the directory exists and
 * takes new files and that the target is not a directory, a device, a FIFO
 * or one of the archive's sources. Returns 0 or -1. */
int irpa_build_to_path(const irpa_archive *archive, const char *out_path,
                       irpa_progress_fn progress, void *context, irpa_errors *errors);

#endif
