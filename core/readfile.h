/* readfile.h: reading a whole file into memory, with a limit. */
#ifndef IRPA_READFILE_H
#define IRPA_READFILE_H

#include <stddef.h>

typedef enum irpa_read_result {
    IRPA_READ_OK,         /* *text holds the whole file */
    IRPA_READ_TOO_LARGE,  /* the file has more than `limit` bytes; nothing returned */
    IRPA_READ_FAILED,     /* read(2) or memory failed; errno says why; nothing returned */
} irpa_read_result;

/* Reads `fd` from its current position to its end, at most `limit` bytes
 * (a file of limit + 1 bytes or more is IRPA_READ_TOO_LARGE). On success
 * *text is an owned buffer of *length bytes plus a terminating NUL. Retries
 * EINTR; works on pipes and files whose size changes while read. */
irpa_read_result irpa_read_fd(int fd, size_t limit, char **text, size_t *length);

#endif
