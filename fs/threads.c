/* threads.c: threads that leave the stop signals to the session loop (threads.h). */
#include "threads.h"

#include <signal.h>

int irpafs_thread_start(pthread_t *thread, void *(*run)(void *), void *argument) {
    sigset_t blocked, previous;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGQUIT);
    sigaddset(&blocked, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &blocked, &previous);
    int error = pthread_create(thread, NULL, run, argument);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    return error;
}
