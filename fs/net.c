#include "net.h"

#include "http.h"
#include "log.h"
#include "url_cache.h"
#include "url_chunks.h"
#include "url_source.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <syslog.h>
#include <stdlib.h>
#include <unistd.h>

static long net_timeout_ms;       /* 0: core's default; set before the first scan */
static irpa_url_cache *url_cache; /* -o cache_dir, or NULL; for the server's lifetime */
static irpa_url_chunks *url_chunks; /* the chunk store, or NULL; for the server's lifetime */
static atomic_bool stopping;        /* the server stops: reads in progress end */

int irpafs_net_set_timeout(const char *seconds) {
    char *end;
    errno = 0;
    long value = strtol(seconds, &end, 10);
    if (errno || end == seconds || *end || value < 1 || value > IRPAFS_NET_TIMEOUT_MAX_S)
        return -1;
    net_timeout_ms = value * 1000;
    return 0;
}

long irpafs_net_timeout_ms(void) {
    return net_timeout_ms ? net_timeout_ms : IRPA_HTTP_DEFAULT_TIMEOUT_MS;
}

void irpafs_net_apply(irpa_manifest *manifest, uid_t owner) {
    manifest->url_options = (irpa_url_options){.timeout_ms = net_timeout_ms,
                                               .no_environment = owner != geteuid(),
                                               .cache = url_cache,
                                               .chunks = url_chunks,
                                               .stop = &stopping};
}

struct fuse_bufvec *irpafs_net_bufvec(const irpa_archive *archive, const irpa_segment *segments,
                                      size_t count, int *error) {
    uint64_t length = 0;
    for (size_t i = 0; i < count; i++) length += segments[i].length;
    struct fuse_bufvec *vector = malloc(sizeof *vector + (size_t)length);
    if (!vector) {
        *error = ENOMEM;
        return NULL;
    }
    uint8_t *bytes = (uint8_t *)(vector + 1);
    if (irpa_archive_fill(archive, segments, count, bytes) != 0) {
        *error = errno == ESTALE ? EIO : ETIMEDOUT;
        free(vector);
        return NULL;
    }
    *vector = (struct fuse_bufvec)FUSE_BUFVEC_INIT((size_t)length);
    vector->buf[0].mem = bytes;
    return vector;
}

int irpafs_net_open(const char *cache_directory, uint64_t cache_limit, irpa_errors *errors) {
    url_chunks = irpa_url_chunks_new(IRPA_URL_CHUNK_SLOTS);
    if (!url_chunks) return irpa_error(errors, "out of memory");
    if (!cache_directory) return 0;
    url_cache = irpa_url_cache_open(cache_directory, cache_limit, errors);
    if (url_cache) return 0;
    irpafs_net_close();
    return -1;
}

void irpafs_net_stopping(void) { atomic_store(&stopping, true); }

bool irpafs_net_trim(void) {
    static atomic_bool store_held; /* the store held memory at the last call */
    if (url_chunks && irpa_url_chunks_trim(url_chunks)) {
        atomic_store(&store_held, true);
        return true;
    }
    /* The store has just given back its last chunk (reads stopped): the
     * threads' malloc arenas give back what libcurl's transfers left free
     * in them too (256 KiB receive buffers; measured 40 MiB after a read). */
    if (atomic_exchange(&store_held, false)) malloc_trim(0);
    return false;
}

void irpafs_net_close(void) {
    irpa_url_cache_close(url_cache);
    url_cache = NULL;
    irpa_url_chunks_free(url_chunks);
    url_chunks = NULL;
}

#define FAULT_REPORT_INTERVAL_MS 60000

void irpafs_net_report_faults(const irpa_archive *archive, const irpa_segment *segments,
                              size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (segments[i].kind != IRPA_SEGMENT_SOURCE) continue;
        irpa_source *source = &archive->sources[segments[i].source];
        char why[384];
        if (!source->remote || irpa_url_source_changed(source->remote, why, sizeof why) ||
            !irpa_url_source_report_due(source->remote, FAULT_REPORT_INTERVAL_MS))
            continue;
        irpa_url_source_error(source->remote, why, sizeof why);
        irpafs_log(LOG_WARNING, "archive %s: %s; reads of it get EIO meanwhile (said at most "
                   "once a minute per source)", archive->name, why);
    }
}
