/* http.h: objects on HTTP(S) servers, read by byte ranges (libcurl).
 *
 * An object is opened once: one ranged GET of its first byte gives its size
 * and its identity (a strong ETag, else Last-Modified and the size).
 * Every later read is a ranged GET made conditional on that identity
 * (If-Match, or If-Unmodified-Since + If-Range), and its reply is checked
 * (206, the Content-Range asked for, the same total size and ETag), so an
 * object replaced on the server gives IRPA_HTTP_REPLACED, never bytes of
 * two versions. Redirects are followed by hand (http_redirect.h; the
 * Hugging Face Hub answers 302 to a CDN), at most 10, never back to a URL
 * already asked, an https URL only to https: the object's headers go only
 * to targets of its URL's origin (scheme, host, port), none of them to
 * another (Authorization and Cookie included); the Range and conditional
 * headers go to every hop. Where a chain ended is remembered, so later
 * reads go straight there, and left once for the object's URL when it
 * answers 400/401/403/404/410 (an expired presigned URL); every reply is
 * checked as above wherever it came from. TLS is verified. Connections are
 * reused across reads (a few idle multi handles per object, each used by
 * one thread at a time; DNS and TLS sessions shared), and a large read is
 * several ranges in flight.
 *
 * Every read ends within the object's timeout: connect and transfer
 * limits, a stalled transfer abandoned, bounded retries with backoff for
 * faults that may pass (reset, stall, 5xx); 404, 403, 416 and a replaced
 * object are not retried. Errors are values with a category. Header
 * values (tokens) never appear in a message, and a URL's query string
 * (a presigned URL's signature) is shown as "?...", a redirect target's
 * too. */
#ifndef IRPA_HTTP_H
#define IRPA_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef enum irpa_http_fault {
    IRPA_HTTP_OK,
    IRPA_HTTP_BAD_REQUEST,  /* the URL or a header cannot be used (never sent) */
    IRPA_HTTP_NOT_FOUND,    /* 404, 410 */
    IRPA_HTTP_FORBIDDEN,    /* 401, 403 */
    IRPA_HTTP_RANGE,        /* 416, or a server that ignores ranges */
    IRPA_HTTP_REPLACED,     /* the object is not the one opened (412, other ETag, size) */
    IRPA_HTTP_RESET,        /* connection refused, reset or closed early */
    IRPA_HTTP_STALL,        /* connect or transfer timeout, a stalled server */
    IRPA_HTTP_STATUS,       /* another HTTP status (5xx...) */
    IRPA_HTTP_TLS,          /* certificate or TLS failure */
    IRPA_HTTP_OTHER,        /* out of memory, protocol error, anything else */
} irpa_http_fault;

typedef struct irpa_http_error {
    irpa_http_fault fault;
    long status;        /* the HTTP status when there was one, else 0 */
    char message[384];  /* "http://h/m.gguf: HTTP 404 Not Found" (no header value, no query) */
} irpa_http_error;

/* How long a read may take in all, retries included (net_timeout). */
#define IRPA_HTTP_DEFAULT_TIMEOUT_MS 30000

typedef struct irpa_http_object irpa_http_object;

/* Whether `path` is an http:// or https:// URL (case-insensitive scheme).
 * Inline: the manifest loader uses it without linking libcurl. */
static inline bool irpa_is_url(const char *path) {
    return strncasecmp(path, "http://", 7) == 0 || strncasecmp(path, "https://", 8) == 0;
}

/* The length of `path` without a URL's query string and fragment (the
 * whole length for a file path, where '?' and '#' are plain characters):
 * what a file name suffix or a URL's directory is taken from. */
static inline size_t irpa_url_path_length(const char *path) {
    return irpa_is_url(path) ? strcspn(path, "?#") : strlen(path);
}

/* Expands ${NAME} in `text` from the environment into a new string (*out,
 * owned); with `environment` false any ${ is refused. `header` names the
 * header in messages. A missing variable, an unterminated ${, or a CR or
 * LF in the result is an error naming the header and the variable, never
 * the value. 0, or -1 with `error` set. */
int irpa_http_expand(const char *header, const char *text, bool environment, char **out,
                     irpa_http_error *error);

/* The request line of `header` ("Name: value", ${VAR} not yet expanded)
 * into *line (owned): ${VAR} expanded in the value only (irpa_http_expand);
 * a name that is not a token, or a CR or LF in the value (as written or
 * expanded), is refused: nothing can add a header line. 0, or -1 with
 * `error` set. */
int irpa_http_header_line(const char *header, bool environment, char **line,
                          irpa_http_error *error);

/* Opens the object at `url` with request headers `headers[i]` ("Name:
 * value", ${VAR} not yet expanded; see irpa_http_expand), each read
 * bounded by `timeout_ms` (0: the default). 0 with *out set, or -1 with
 * `error` set. */
int irpa_http_open(const char *url, const char *const *headers, size_t header_count,
                   long timeout_ms, bool environment, irpa_http_object **out,
                   irpa_http_error *error);

uint64_t irpa_http_size(const irpa_http_object *object);

/* The identity recorded at open: "ETag \"abc\"" or "Last-Modified ..., 1234 bytes". */
const char *irpa_http_identity(const irpa_http_object *object);

/* The URL as every message shows it (irpa_http_redact, at most 511 bytes). */
const char *irpa_http_shown(const irpa_http_object *object);

/* The server the object is on, as an origin key (irpa_http_origin_key:
 * "scheme://host:port", no user or password): reads are limited per server. */
const char *irpa_http_origin(const irpa_http_object *object);

/* Reads exactly `length` bytes at `offset` (within the size) into
 * `buffer`; safe from several threads at once. 0, or -1 with `error` set. */
int irpa_http_read(irpa_http_object *object, void *buffer, uint64_t length, uint64_t offset,
                   irpa_http_error *error);

/* Reads of the object end within about a second, failed, once *stop is
 * true (a server that stops does not wait out a stalled read). */
void irpa_http_set_stop(irpa_http_object *object, const atomic_bool *stop);

/* `url` with its query string shown as "?..." and any user:password@
 * dropped, into `out` (size `out_size`). */
void irpa_http_redact(const char *url, char *out, size_t out_size);

/* Sets `error` (its fault, HTTP status or 0, and message); returns -1. */
int irpa_http_fail(irpa_http_error *error, irpa_http_fault fault, long status,
                   const char *format, ...) __attribute__((format(printf, 4, 5)));

/* The fault of an HTTP error status (404 is IRPA_HTTP_NOT_FOUND...), and
 * its reason phrase ("" for one not listed). */
irpa_http_fault irpa_http_status_fault(long status);
const char *irpa_http_status_text(long status);

void irpa_http_close(irpa_http_object *object);

#endif
