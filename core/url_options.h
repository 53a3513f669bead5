/* url_options.h: how URL sources are opened and read, set by the program
 * (not by the manifest file): irpafs from its -o options. */
#ifndef IRPA_URL_OPTIONS_H
#define IRPA_URL_OPTIONS_H

#include <stdatomic.h>
#include <stdbool.h>

struct irpa_url_cache;
struct irpa_url_chunks;

typedef struct irpa_url_options {
    long timeout_ms;              /* bound of one read, retries included; 0: the default */
    bool no_environment;          /* ${VAR} in headers refused (a manifest another user wrote) */
    struct irpa_url_cache *cache; /* on-disk cache of their bytes (url_cache.h), or NULL */
    struct irpa_url_chunks *chunks; /* reads a chunk at a time through these (url_chunks.h),
                                       or NULL: each read fetches its own bytes */
    const atomic_bool *stop;      /* true: reads in progress end at once (EIO), or NULL */
} irpa_url_options;

#endif
