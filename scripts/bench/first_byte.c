/* first_byte: starts a FUSE server and times how long until a file in its
 * mount can be read.
 *
 *   first_byte TIMEOUT_MS FILE -- SERVER [ARGS...]
 *
 * Forks and execs SERVER (which should stay in the foreground, -f, so that
 * its process id is the server's), with standard input from /dev/null and
 * standard output sent to standard error. Then tries, every 200 µs, to open
 * FILE and read its first byte. On success prints
 *   "MILLISECONDS PID"
 * and exits 0, leaving the server running. Exits 1 when the server exits
 * first or TIMEOUT_MS passes (the server is then killed). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

static int first_byte_readable(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char byte;
    ssize_t got = pread(fd, &byte, 1, 0);
    close(fd);
    return got == 1;
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: first_byte TIMEOUT_MS FILE -- SERVER [ARGS...]\n");
        return 2;
    }
    double timeout_ms = strtod(argv[1], NULL);
    const char *path = argv[2];
    double start = now_ms();
    pid_t server = fork();
    if (server < 0) {
        perror("first_byte: fork");
        return 1;
    }
    if (server == 0) {
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0) dup2(null_fd, 0);
        dup2(2, 1);
        execvp(argv[4], argv + 4);
        fprintf(stderr, "first_byte: %s: %s\n", argv[4], strerror(errno));
        _exit(127);
    }
    const struct timespec pause = {0, 200000};
    for (;;) {
        if (first_byte_readable(path)) {
            printf("%.3f %d\n", now_ms() - start, (int)server);
            return 0;
        }
        int status;
        if (waitpid(server, &status, WNOHANG) == server) {
            fprintf(stderr, "first_byte: %s exited (status %d) before %s could be read\n",
                    argv[4], WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                    path);
            return 1;
        }
        if (now_ms() - start > timeout_ms) {
            fprintf(stderr, "first_byte: %s not readable after %.0f ms; stopping %s\n", path,
                    timeout_ms, argv[4]);
            kill(server, SIGTERM);
            return 1;
        }
        nanosleep(&pause, NULL);
    }
}
