/* threads.h: starting the server's own threads.
 *
 * libfuse's session loop ends on SIGINT, SIGTERM and SIGQUIT (SIGHUP
 * rescans, watch.h) only when the signal interrupts the thread that waits
 * in the loop; its worker threads block those signals for that reason. A
 * thread of ours that took one would leave the loop waiting for the next
 * request, so ours block them too. */
#ifndef IRPAFS_THREADS_H
#define IRPAFS_THREADS_H

#include <pthread.h>

/* pthread_create with those signals blocked in the new thread: 0, or an errno. */
int irpafs_thread_start(pthread_t *thread, void *(*run)(void *), void *argument);

#endif
