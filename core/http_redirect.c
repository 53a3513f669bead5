/* http_redirect.c: redirects followed by hand, and an object's remembered
 * target (http_redirect.h). */
#include "http_redirect.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"

/* A URL's scheme, host and port (the scheme's default when not written). */
typedef struct origin {
    char *scheme, *host, *port; /* owned by libcurl (curl_free) */
} origin;

static void origin_free(origin *o) {
    curl_free(o->scheme);
    curl_free(o->host);
    curl_free(o->port);
}

/* 0 with `out` set (origin_free it), or -1: not a URL libcurl can use. */
static int origin_of(const char *url, origin *out) {
    *out = (origin){0};
    CURLU *parsed = curl_url();
    if (!parsed) return -1;
    int status = curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
                         curl_url_get(parsed, CURLUPART_SCHEME, &out->scheme, 0) == CURLUE_OK &&
                         curl_url_get(parsed, CURLUPART_HOST, &out->host, 0) == CURLUE_OK &&
                         curl_url_get(parsed, CURLUPART_PORT, &out->port, CURLU_DEFAULT_PORT) ==
                             CURLUE_OK
                     ? 0
                     : -1;
    curl_url_cleanup(parsed);
    if (status != 0) origin_free(out);
    return status;
}

int irpa_http_origin_key(const char *url, char *out, size_t size) {
    origin parts;
    if (origin_of(url, &parts) != 0) return -1;
    int length = snprintf(out, size, "%s://%s:%s", parts.scheme, parts.host, parts.port);
    origin_free(&parts);
    if (length < 0 || (size_t)length >= size) return -1;
    for (char *c = out; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    return 0;
}

bool irpa_http_same_origin(const char *a, const char *b) {
    char first[IRPA_HTTP_ORIGIN_SIZE], second[IRPA_HTTP_ORIGIN_SIZE];
    return irpa_http_origin_key(a, first, sizeof first) == 0 &&
           irpa_http_origin_key(b, second, sizeof second) == 0 && strcmp(first, second) == 0;
}

/* Why `target` may not be followed from an object at `manifest_url`, or NULL. */
static const char *refusal(const char *manifest_url, const char *target) {
    bool https = strncasecmp(target, "https://", 8) == 0;
    if (!https && strncasecmp(target, "http://", 7) != 0) return "it is not an http(s) URL";
    if (!https && strncasecmp(manifest_url, "https://", 8) == 0)
        return "an https URL is never followed to http";
    return NULL;
}

static bool visited(const irpa_redirect_chain *chain, uint64_t hash) {
    for (int i = 0; i <= chain->hops; i++)
        if (chain->visited[i] == hash) return true;
    return false;
}

/* Starts `chain` at a copy of `url`. 0, or -1 (out of memory). */
static int chain_start(irpa_redirect_chain *chain, const char *url, bool send_headers,
                       bool from_memo) {
    char *copy = strdup(url);
    if (!copy) return -1;
    free(chain->url);
    *chain = (irpa_redirect_chain){.url = copy, .send_headers = send_headers,
                                   .from_memo = from_memo};
    chain->visited[0] = irpa_fnv1a_string(url);
    return 0;
}

int irpa_redirect_follow(irpa_redirect_chain *chain, const char *manifest_url, const char *shown,
                         const char *target, long status, irpa_http_error *error) {
    char target_shown[512];
    irpa_http_redact(target, target_shown, sizeof target_shown);
    const char *why = refusal(manifest_url, target);
    if (why)
        return irpa_http_fail(error, IRPA_HTTP_BAD_REQUEST, status,
                              "%s: HTTP %ld redirect to %s not followed: %s", shown, status,
                              target_shown, why);
    uint64_t hash = irpa_fnv1a_string(target);
    if (visited(chain, hash))
        return irpa_http_fail(error, IRPA_HTTP_OTHER, status,
                              "%s: redirect loop: HTTP %ld back to %s", shown, status,
                              target_shown);
    if (chain->hops >= IRPA_HTTP_MAX_REDIRECTS)
        return irpa_http_fail(error, IRPA_HTTP_OTHER, status,
                              "%s: more than %d redirects (the last to %s)", shown,
                              IRPA_HTTP_MAX_REDIRECTS, target_shown);
    char *copy = strdup(target);
    if (!copy) return irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
    free(chain->url);
    chain->url = copy;
    chain->send_headers = irpa_http_same_origin(manifest_url, target);
    chain->visited[++chain->hops] = hash;
    return 0;
}

void irpa_redirect_name_target(const irpa_redirect_chain *chain, const char *manifest_url,
                               irpa_http_error *error) {
    if (strcmp(chain->url, manifest_url) == 0) return;
    char shown[512];
    irpa_http_redact(chain->url, shown, sizeof shown);
    size_t used = strlen(error->message);
    snprintf(error->message + used, sizeof error->message - used, " (redirected to %s)", shown);
}

void irpa_redirect_chain_free(irpa_redirect_chain *chain) {
    free(chain->url);
    chain->url = NULL;
}

void irpa_redirect_memo_init(irpa_redirect_memo *memo) {
    *memo = (irpa_redirect_memo){.url = NULL};
    pthread_mutex_init(&memo->lock, NULL);
}

void irpa_redirect_memo_destroy(irpa_redirect_memo *memo) {
    pthread_mutex_destroy(&memo->lock);
    free(memo->url);
}

int irpa_redirect_memo_start(irpa_redirect_memo *memo, irpa_redirect_chain *chain,
                             const char *manifest_url) {
    pthread_mutex_lock(&memo->lock);
    int status = memo->url ? chain_start(chain, memo->url, memo->send_headers, true)
                           : chain_start(chain, manifest_url, true, false);
    pthread_mutex_unlock(&memo->lock);
    return status;
}

void irpa_redirect_memo_keep(irpa_redirect_memo *memo, const irpa_redirect_chain *chain) {
    if (chain->hops == 0 && chain->from_memo) return;
    char *target = chain->hops > 0 ? strdup(chain->url) : NULL; /* none when out of memory */
    pthread_mutex_lock(&memo->lock);
    char *old = memo->url;
    memo->url = target;
    memo->send_headers = chain->send_headers;
    pthread_mutex_unlock(&memo->lock);
    free(old);
}

bool irpa_redirect_memo_fall_back(irpa_redirect_memo *memo, irpa_redirect_chain *chain,
                                  const char *manifest_url, const irpa_http_error *error) {
    bool expired = error->fault == IRPA_HTTP_NOT_FOUND || error->fault == IRPA_HTTP_FORBIDDEN ||
                   error->status == 400;
    if (!chain->from_memo || !expired) return false;
    pthread_mutex_lock(&memo->lock);
    char *old = memo->url;
    memo->url = NULL;
    pthread_mutex_unlock(&memo->lock);
    free(old);
    return chain_start(chain, manifest_url, true, false) == 0;
}
