/* http_redirect.h: redirects, followed by hand for http.c (libcurl's
 * CURLOPT_FOLLOWLOCATION would send every header but Authorization and
 * Cookie to whatever host a redirect names).
 *
 * A request walks a chain: it starts at the manifest's URL (or at the
 * object's remembered target), and each 3xx reply with a Location moves it
 * to that target, at most IRPA_HTTP_MAX_REDIRECTS times, never back to a URL
 * it already asked, never from an https manifest URL to anything but
 * https. The manifest's headers go only to targets of the manifest URL's
 * origin (scheme, host and port); the conditional and Range headers, which
 * are the client's own, go everywhere. A target appears in messages only
 * redacted (irpa_http_redact).
 *
 * The memo is an object's remembered target: where the last redirect chain
 * ended, so that later reads go straight there (one round trip, not one per
 * hop). A read from it answered 400/401/403/404/410 (a presigned URL that
 * expired: S3 and CDNs say 403, GCS 400) starts over once at the manifest's
 * URL. */
#ifndef IRPA_HTTP_REDIRECT_H
#define IRPA_HTTP_REDIRECT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"

#define IRPA_HTTP_MAX_REDIRECTS 10

typedef struct irpa_redirect_chain {
    char *url;         /* where the next request goes (owned) */
    bool send_headers; /* whether it carries the manifest's headers */
    bool from_memo;    /* started at the object's remembered target */
    int hops;          /* redirects followed */
    uint64_t visited[IRPA_HTTP_MAX_REDIRECTS + 1]; /* FNV-1a of each URL asked */
} irpa_redirect_chain;

typedef struct irpa_redirect_memo {
    pthread_mutex_t lock;
    char *url;         /* the remembered target (owned), NULL: none */
    bool send_headers; /* whether it gets the manifest's headers */
} irpa_redirect_memo;

#define IRPA_HTTP_ORIGIN_SIZE 320 /* bytes of an origin key, its NUL included */

/* A URL's origin as one string, "scheme://host:port": scheme and host in
 * lower case, the scheme's default port when none is written (no user,
 * password, path or query). 0, or -1: not a URL libcurl can use, or a key
 * longer than `size`. */
int irpa_http_origin_key(const char *url, char *out, size_t size);

/* Whether URLs `a` and `b` have the same origin (the same origin key). */
bool irpa_http_same_origin(const char *a, const char *b);

/* Takes `chain` (its hops so far) from its URL to `target`, the Location of
 * a `status` reply; `manifest_url` is the object's URL, `shown` how messages
 * show it. 0, or -1 with `error` set (a loop, too many redirects, a target
 * that is not http(s), https to http) and the chain unchanged. */
int irpa_redirect_follow(irpa_redirect_chain *chain, const char *manifest_url, const char *shown,
                         const char *target, long status, irpa_http_error *error);

/* Adds to `error`'s message the URL the chain failed at, redacted, when it
 * is not `manifest_url` (a redirect target, or the remembered one). */
void irpa_redirect_name_target(const irpa_redirect_chain *chain, const char *manifest_url,
                               irpa_http_error *error);

void irpa_redirect_chain_free(irpa_redirect_chain *chain);

void irpa_redirect_memo_init(irpa_redirect_memo *memo);
void irpa_redirect_memo_destroy(irpa_redirect_memo *memo);

/* Starts `chain` at the remembered target, or at `manifest_url` when there
 * is none. 0, or -1 (out of memory). */
int irpa_redirect_memo_start(irpa_redirect_memo *memo, irpa_redirect_chain *chain,
                             const char *manifest_url);

/* After a chain's request succeeded: remembers where a chain that was
 * redirected ended; a chain from the manifest URL that was not redirected
 * clears the memo. */
void irpa_redirect_memo_keep(irpa_redirect_memo *memo, const irpa_redirect_chain *chain);

/* Whether a chain that failed with `error` goes back to the manifest's URL:
 * it started at the remembered target and was told 400/401/403/404/410.
 * Then the memo is cleared and the chain restarted there (false when out of
 * memory). */
bool irpa_redirect_memo_fall_back(irpa_redirect_memo *memo, irpa_redirect_chain *chain,
                                  const char *manifest_url, const irpa_http_error *error);

#endif
