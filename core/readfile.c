/* readfile.c: reading a whole file (readfile.h). */
#include "readfile.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

irpa_read_result irpa_read_fd(int fd, size_t limit, char **text, size_t *length) {
    *text = NULL;
    *length = 0;
    size_t capacity = 0, used = 0;
    char *buffer = NULL;
    for (;;) {
        if (used == capacity) {
            if (capacity > limit) {  /* read limit + 1 bytes: too large */
                free(buffer);
                return IRPA_READ_TOO_LARGE;
            }
            size_t grown = capacity ? capacity * 2 : 65536;
            if (grown > limit) grown = limit + 1;
            char *moved = realloc(buffer, grown + 1);
            if (!moved) {
                free(buffer);
                errno = ENOMEM;
                return IRPA_READ_FAILED;
            }
            buffer = moved;
            capacity = grown;
        }
        ssize_t got = read(fd, buffer + used, capacity - used);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int saved = errno;
            free(buffer);
            errno = saved;
            return IRPA_READ_FAILED;
        }
        if (got == 0) break;
        used += (size_t)got;
    }
    if (used > limit) {
        free(buffer);
        return IRPA_READ_TOO_LARGE;
    }
    buffer[used] = '\0';
    *text = buffer;
    *length = used;
    return IRPA_READ_OK;
}
