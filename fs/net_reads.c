/* net_reads.c: the network threads (net_reads.h). */
#include "net_reads.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "ll.h"
#include "log.h"
#include "net.h"
#include "threads.h"
#include "url_chunks.h"
#include "url_source.h"

#define AHEAD_STEPS (IRPAFS_NET_AHEAD / IRPA_URL_CHUNK) /* fetches ahead queued per read */
#define STREAM_SLACK (2u << 20) /* bytes: a read starting this close to the last end continues it */

/* A read handed over (req set), or a fetch ahead (req NULL). */
typedef struct net_job {
    struct net_job *next;
    fuse_req_t req;
    irpafs_version *version;  /* held until the job is done */
    uint64_t inode;
    uint64_t offset, length;  /* archive bytes */
    const char *origin;       /* its first URL source's server (irpa_url_source_origin) */
    int64_t queued_ms;        /* monotonic ms when it was handed over */
} net_job;

struct irpafs_net_reads {
    irpafs_context *context;
    pthread_mutex_t mutex;    /* guards what follows */
    pthread_cond_t work;      /* a job was queued, a server's slot freed, or stop */
    bool stop;
    bool trim_due;            /* jobs ran since the chunk store's last trim left nothing */
    bool trimmer;             /* a thread waits to trim the store (one at a time) */
    net_job *head, *tail;     /* queued jobs, oldest first */
    net_job *running[NET_THREADS]; /* jobs being served, by thread */
    pthread_t threads[NET_THREADS];
    bool seated[NET_THREADS]; /* a thread took this index */
    size_t started;           /* threads running */
};

static bool same_origin(const net_job *a, const net_job *b) {
    return a->origin == b->origin || strcmp(a->origin, b->origin) == 0;
}

/* Whether the job may start now: its server has a thread to spare. */
static bool may_start(const irpafs_net_reads *reads, const net_job *job) {
    size_t busy = 0;
    for (size_t i = 0; i < NET_THREADS; i++)
        if (reads->running[i] && same_origin(reads->running[i], job)) busy++;
    return busy < NET_THREADS_PER_ORIGIN;
}

/* Takes the oldest job that may start, or NULL. Under the mutex. */
static net_job *take_job(irpafs_net_reads *reads) {
    net_job *previous = NULL;
    for (net_job *job = reads->head; job; previous = job, job = job->next) {
        if (!may_start(reads, job)) continue;
        if (previous) previous->next = job->next;
        else reads->head = job->next;
        if (reads->tail == job) reads->tail = previous;
        job->next = NULL;
        return job;
    }
    return NULL;
}

static void free_job(net_job *job) {
    irpafs_version_put(job->version);
    free(job);
}

/* Fetches the URL-source bytes of the job's archive range into the chunk
 * store, but for what the reader has passed meanwhile (its own reads
 * fetched that, and a chunk read through is gone: fetching it again would
 * fetch it twice). Errors are left to the read that will need the bytes. */
static void fetch_ahead(const net_job *job) {
    const irpa_archive *archive = job->version->archive;
    uint64_t reader = atomic_load(&job->version->url_next);
    uint64_t start = job->offset > reader ? job->offset : reader, end = job->offset + job->length;
    if (start >= end) return;
    irpa_segment local[16];
    size_t count = 0;
    irpa_segment *segments = irpafs_map_range(archive, start, end - start, local, 16, &count);
    if (!segments) return;
    for (size_t i = 0; i < count; i++) {
        if (segments[i].kind != IRPA_SEGMENT_SOURCE) continue;
        irpa_url_source *remote = archive->sources[segments[i].source].remote;
        if (remote && irpa_url_source_fetch_ahead(remote, segments[i].source_offset,
                                                  segments[i].length) != 0)
            break;
    }
    if (segments != local) free(segments);
}

/* Whether the archive range has URL-source bytes not yet held or being
 * fetched, and the first such source's server in *origin. */
static bool ahead_due(const irpa_archive *archive, uint64_t offset, uint64_t length,
                      const char **origin) {
    irpa_segment local[16];
    size_t count = 0;
    irpa_segment *segments = irpafs_map_range(archive, offset, length, local, 16, &count);
    if (!segments) return false;
    bool due = false;
    for (size_t i = 0; i < count && !due; i++) {
        if (segments[i].kind != IRPA_SEGMENT_SOURCE) continue;
        const irpa_source *source = &archive->sources[segments[i].source];
        due = source->remote && irpa_url_source_ahead_due(source->remote,
                                                          segments[i].source_offset,
                                                          segments[i].length);
        if (due) *origin = irpa_url_source_origin(source->remote);
    }
    if (segments != local) free(segments);
    return due;
}

/* Whether a fetch ahead of the same bytes is queued or running. Under the mutex. */
static bool ahead_known(const irpafs_net_reads *reads, const irpafs_version *version,
                        uint64_t offset) {
    for (const net_job *job = reads->head; job; job = job->next)
        if (!job->req && job->version == version && job->offset == offset) return true;
    for (size_t i = 0; i < NET_THREADS; i++) {
        const net_job *job = reads->running[i];
        if (job && !job->req && job->version == version && job->offset == offset) return true;
    }
    return false;
}

static void enqueue(irpafs_net_reads *reads, net_job *job) {
    if (reads->tail) reads->tail->next = job;
    else reads->head = job;
    reads->tail = job;
    pthread_cond_signal(&reads->work);
}

static bool start_threads(irpafs_net_reads *reads);

/* After a read of [offset, offset + length) that continued the one before
 * it: queues fetches ahead of the next IRPAFS_NET_AHEAD bytes, a chunk's
 * worth each (in parallel), where they would fetch something. */
static void queue_ahead(irpafs_net_reads *reads, irpafs_version *version, uint64_t end) {
    const irpa_archive *archive = version->archive;
    for (uint64_t step = 0; step < AHEAD_STEPS; step++) {
        uint64_t offset = end + step * IRPA_URL_CHUNK;
        const char *origin = NULL;
        if (offset >= archive->file_size) break;
        if (!ahead_due(archive, offset, IRPA_URL_CHUNK, &origin)) continue;
        net_job *job = calloc(1, sizeof *job);
        if (!job) return;
        *job = (net_job){.version = version, .offset = offset, .length = IRPA_URL_CHUNK,
                         .origin = origin};
        pthread_mutex_lock(&reads->mutex);
        bool queue = !reads->stop && !ahead_known(reads, version, offset) && start_threads(reads);
        if (queue) {
            job->version = irpafs_version_hold(version);
            enqueue(reads, job);
        }
        pthread_mutex_unlock(&reads->mutex);
        if (!queue) free(job);
    }
}

/* Logs, at most once a minute, that a read timed out waiting for a
 * network thread (no URL: it may hold a user:password). */
static void report_queue_timeout(const net_job *job) {
    static _Atomic int64_t reported_ms;
    int64_t now = irpa_monotonic_ms(), last = atomic_load(&reported_ms);
    if (last != 0 && now - last < 60000) return;
    if (!atomic_compare_exchange_strong(&reported_ms, &last, now)) return;
    irpafs_log(LOG_WARNING, "archive %s: a read waited longer than -o net_timeout for a "
               "network thread (its server is slow or stalled) and gets EIO (said at most once "
               "a minute)", job->version->archive->name);
}

/* Records a read of the version's URL bytes: whether it streams (starts
 * where the version's last read ended). */
static bool note_read(irpafs_version *version, uint64_t offset, uint64_t length) {
    uint64_t last = atomic_exchange(&version->url_next, offset + length);
    return offset <= last + STREAM_SLACK && offset + STREAM_SLACK >= last;
}

/* Serves one job, outside the mutex. */
static void run_job(irpafs_net_reads *reads, net_job *job) {
    if (!job->req) {
        fetch_ahead(job);
        return;
    }
    /* A read that waited its whole bound in the queue (its server's
     * threads all waited on a stalled server meanwhile) fails now, as it
     * would have at the server. */
    if (irpa_monotonic_ms() - job->queued_ms > irpafs_net_timeout_ms()) {
        report_queue_timeout(job);
        fuse_reply_err(job->req, EIO);
        return;
    }
    bool streams = note_read(job->version, job->offset, job->length);
    int error = irpafs_serve_read(job->req, reads->context, job->version, job->inode,
                                  job->offset, (size_t)job->length, false);
    if (!error && streams) queue_ahead(reads, job->version, job->offset + job->length);
}

void irpafs_net_reads_served(irpafs_net_reads *reads, irpafs_version *version, uint64_t offset,
                             uint64_t length) {
    if (note_read(version, offset, length)) queue_ahead(reads, version, offset + length);
}

/* Waits for work. While the chunk store may hold memory no read uses any
 * more, one idle thread wakes each second to give it back. Under the
 * mutex. */
static void wait_for_work(irpafs_net_reads *reads) {
    if (!reads->trim_due || reads->trimmer) {
        pthread_cond_wait(&reads->work, &reads->mutex);
        return;
    }
    reads->trimmer = true;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    int waited = pthread_cond_timedwait(&reads->work, &reads->mutex, &until);
    if (waited == ETIMEDOUT && !reads->head) {
        reads->trim_due = false;  /* a job run meanwhile sets it again */
        pthread_mutex_unlock(&reads->mutex);
        bool held = irpafs_net_trim();
        pthread_mutex_lock(&reads->mutex);
        reads->trim_due = reads->trim_due || held;
    }
    reads->trimmer = false;
    /* Woken for a job: another idle thread takes the role (this one may
     * wait on a stalled server for the whole timeout). */
    if (waited != ETIMEDOUT && reads->trim_due) pthread_cond_signal(&reads->work);
}

static void *net_thread(void *argument) {
    irpafs_net_reads *reads = argument;
    pthread_mutex_lock(&reads->mutex);
    size_t me = 0;
    while (reads->seated[me]) me++;  /* one index per thread started */
    reads->seated[me] = true;
    while (!reads->stop) {
        net_job *job = take_job(reads);
        if (!job) {
            wait_for_work(reads);
            continue;
        }
        reads->running[me] = job;
        pthread_mutex_unlock(&reads->mutex);
        run_job(reads, job);
        pthread_mutex_lock(&reads->mutex);
        reads->running[me] = NULL;
        reads->trim_due = true;
        /* A job its server's limit held back is this thread's to take next
         * (waking every idle thread after each job cost a fifth of the
         * server's time in wake-ups and contention on the mutex). */
        pthread_mutex_unlock(&reads->mutex);
        free_job(job);  /* outside the mutex: the last put may free a version */
        pthread_mutex_lock(&reads->mutex);
    }
    pthread_mutex_unlock(&reads->mutex);
    return NULL;
}

irpafs_net_reads *irpafs_net_reads_new(irpafs_context *context) {
    irpafs_net_reads *reads = calloc(1, sizeof *reads);
    if (!reads) return NULL;
    reads->context = context;
    pthread_mutex_init(&reads->mutex, NULL);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&reads->work, &monotonic);
    pthread_condattr_destroy(&monotonic);
    return reads;
}

/* Starts the threads not started yet. Under the mutex. false when none runs. */
static bool start_threads(irpafs_net_reads *reads) {
    while (reads->started < NET_THREADS) {
        reads->started++;
        if (irpafs_thread_start(&reads->threads[reads->started - 1], net_thread, reads) != 0) {
            reads->started--;
            break;
        }
    }
    return reads->started > 0;
}

bool irpafs_net_reads_submit(irpafs_net_reads *reads, fuse_req_t req, irpafs_version *version,
                             uint64_t inode, uint64_t offset, size_t size,
                             const char *origin) {
    net_job *job = malloc(sizeof *job);
    if (!job) return false;
    *job = (net_job){.req = req, .version = version, .inode = inode, .offset = offset,
                     .length = size, .origin = origin, .queued_ms = irpa_monotonic_ms()};
    pthread_mutex_lock(&reads->mutex);
    bool queued = !reads->stop && start_threads(reads);
    if (queued) {
        reads->trim_due = true;  /* chunks may be filled from here on */
        job->version = irpafs_version_hold(version);
        enqueue(reads, job);
    }
    pthread_mutex_unlock(&reads->mutex);
    if (!queued) free(job);
    return queued;
}

void irpafs_net_reads_stop(irpafs_net_reads *reads) {
    if (!reads) return;
    pthread_mutex_lock(&reads->mutex);
    reads->stop = true;
    net_job *queued = reads->head;
    reads->head = reads->tail = NULL;
    pthread_cond_broadcast(&reads->work);
    size_t started = reads->started;
    pthread_mutex_unlock(&reads->mutex);
    while (queued) {
        net_job *next = queued->next;
        if (queued->req) fuse_reply_err(queued->req, EIO);
        free_job(queued);
        queued = next;
    }
    for (size_t i = 0; i < started; i++) pthread_join(reads->threads[i], NULL);
    pthread_cond_destroy(&reads->work);
    pthread_mutex_destroy(&reads->mutex);
    free(reads);
}
