/* http.c: objects over HTTP(S), read by ranges with libcurl (http.h); the
 * text of requests (header lines with ${VAR}, URLs in messages) is
 * http_text.c, redirects (followed by hand) http_redirect.c. */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "http_redirect.h"

#define MAX_ATTEMPTS 4
#define FIRST_BACKOFF_MS 100
#define MIN_PIECE (256u << 10) /* a large read is split in ranges of at least this */
#define MAX_PIECES 8           /* ranges of one read in flight */
#define MAX_IDLE_MULTIS 4      /* multi handles (each with its connections) kept for reuse */
/* libcurl's receive buffer per transfer (its default is 16 KiB: a recv
 * and a poll every 16 KiB). Measured on loopback, an 818 MiB archive read
 * through the mount cost the server 80-140 CPU ticks with 256 KiB, against
 * 145-195 with the default; 1 MiB did no better. */
#define RECEIVE_BUFFER (256L << 10)

struct irpa_http_object {
    char *url;
    char shown[512];            /* the URL as messages show it (irpa_http_redact) */
    char origin[IRPA_HTTP_ORIGIN_SIZE]; /* its origin key (irpa_http_origin_key) */
    struct curl_slist *headers; /* the manifest's headers, expanded */
    long timeout_ms;
    uint64_t size;
    char etag[256];             /* strong ETag, "" when none */
    char last_modified[128];    /* when there is no strong ETag */
    char identity[420];
    irpa_redirect_memo memo;    /* where the last redirect chain ended */
    const atomic_bool *stop;    /* when true, reads end at once (the program stops), or NULL */
    CURLSH *share;              /* DNS and TLS sessions across reads */
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    /* Idle multi handles: each keeps its own connections, and is used by
     * one read at a time (libcurl cannot share connections across threads). */
    pthread_mutex_t idle_lock;
    CURLM *idle[MAX_IDLE_MULTIS];
    size_t idle_count;
};

/* One ranged GET and what its reply said. */
typedef struct transfer {
    irpa_http_object *object;
    CURL *easy;
    irpa_redirect_chain chain;  /* where the request goes, with which headers */
    bool conditional;           /* a read of the object opened (If-Match...) */
    struct curl_slist *request_headers;
    uint8_t *buffer;
    uint64_t start, length; /* bytes asked for */
    uint64_t got;           /* bytes received */
    long status;            /* of the last reply */
    bool has_range;         /* a Content-Range was seen */
    uint64_t range_start, range_end, range_total;
    long long content_length; /* -1 when not given */
    char etag[256];
    char last_modified[128];
    bool overflow;          /* more bytes than asked */
    CURLcode code;
    char curl_message[CURL_ERROR_SIZE];
    int attempts;
} transfer;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_FAILED_INIT;

static void global_init(void) { global_status = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* The object's request headers (irpa_http_header_line). */
static int expand_headers(irpa_http_object *object, const char *const *headers, size_t count,
                          bool environment, irpa_http_error *error) {
    for (size_t i = 0; i < count; i++) {
        char *line = NULL;
        if (irpa_http_header_line(headers[i], environment, &line, error) != 0) return -1;
        struct curl_slist *list = curl_slist_append(object->headers, line);
        free(line);
        if (!list) return irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
        object->headers = list;
    }
    return 0;
}

/* Whether the header line `line` (`length` bytes) is `name:`; then *value
 * is its value, trimmed, and *value_length its length. */
static bool header_is(const char *line, size_t length, const char *name, const char **value,
                      size_t *value_length) {
    size_t name_length = strlen(name);
    if (length <= name_length || strncasecmp(line, name, name_length) != 0 ||
        line[name_length] != ':')
        return false;
    const char *start = line + name_length + 1, *end = line + length;
    while (start < end && (*start == ' ' || *start == '\t')) start++;
    while (end > start && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    *value = start;
    *value_length = (size_t)(end - start);
    return true;
}

static void copy_value(char *out, size_t out_size, const char *value, size_t length) {
    if (length >= out_size) length = out_size - 1;
    memcpy(out, value, length);
    out[length] = '\0';
}

/* "bytes A-B/T" or "bytes * /T" (T may be '*'). */
static void parse_content_range(transfer *t, const char *value, size_t length) {
    char text[128];
    copy_value(text, sizeof text, value, length);
    unsigned long long start, end, total;
    if (sscanf(text, "bytes %llu-%llu/%llu", &start, &end, &total) == 3) {
        t->has_range = true;
        t->range_start = start, t->range_end = end, t->range_total = total;
    } else if (sscanf(text, "bytes */%llu", &total) == 1) {
        t->has_range = true;
        t->range_start = 1, t->range_end = 0, t->range_total = total;
    }
}

static size_t on_header(char *line, size_t size, size_t count, void *context) {
    transfer *t = context;
    size_t length = size * count;
    const char *value;
    size_t value_length;
    if (length > 5 && strncmp(line, "HTTP/", 5) == 0) {
        const char *space = memchr(line, ' ', length);
        t->status = space ? strtol(space + 1, NULL, 10) : 0;
        t->has_range = false;
        t->content_length = -1;
        t->etag[0] = t->last_modified[0] = '\0';
    } else if (header_is(line, length, "content-length", &value, &value_length)) {
        t->content_length = strtoll(value, NULL, 10);
    } else if (header_is(line, length, "content-range", &value, &value_length)) {
        parse_content_range(t, value, value_length);
    } else if (header_is(line, length, "etag", &value, &value_length)) {
        copy_value(t->etag, sizeof t->etag, value, value_length);
    } else if (header_is(line, length, "last-modified", &value, &value_length)) {
        copy_value(t->last_modified, sizeof t->last_modified, value, value_length);
    }
    return length;
}

/* Takes body bytes only from a 206 reply, and never more than asked; a
 * redirect's body is skipped (its connection is kept). */
static size_t on_body(char *data, size_t size, size_t count, void *context) {
    transfer *t = context;
    size_t length = size * count;
    if (t->status >= 300 && t->status < 400) return length;
    if (t->status != 206) return 0;  /* aborts: judged by its status */
    if (length > t->length - t->got) {
        t->overflow = true;
        return 0;
    }
    memcpy(t->buffer + t->got, data, length);
    t->got += length;
    return length;
}

/* ---- one transfer ----------------------------------------------------- */

static void lock_share(CURL *handle, curl_lock_data data, curl_lock_access access, void *context) {
    (void)handle, (void)access;
    irpa_http_object *object = context;
    pthread_mutex_lock(&object->locks[data < CURL_LOCK_DATA_LAST ? data : 0]);
}

static void unlock_share(CURL *handle, curl_lock_data data, void *context) {
    (void)handle;
    irpa_http_object *object = context;
    pthread_mutex_unlock(&object->locks[data < CURL_LOCK_DATA_LAST ? data : 0]);
}

/* The request headers of a transfer's next request: the object's when its
 * chain sends them, then the Range and conditional headers. */
static int set_request_headers(transfer *t) {
    const irpa_http_object *object = t->object;
    curl_slist_free_all(t->request_headers);
    t->request_headers = NULL;
    for (const struct curl_slist *h = object->headers; h && t->chain.send_headers; h = h->next)
        if (!(t->request_headers = curl_slist_append(t->request_headers, h->data))) return -1;
    char line[512];
    snprintf(line, sizeof line, "Range: bytes=%" PRIu64 "-%" PRIu64, t->start,
             t->start + t->length - 1);
    if (!(t->request_headers = curl_slist_append(t->request_headers, line))) return -1;
    if (!t->conditional) return 0;
    if (object->etag[0]) {
        snprintf(line, sizeof line, "If-Match: %s", object->etag);
        if (!(t->request_headers = curl_slist_append(t->request_headers, line))) return -1;
    } else if (object->last_modified[0]) {
        snprintf(line, sizeof line, "If-Unmodified-Since: %s", object->last_modified);
        if (!(t->request_headers = curl_slist_append(t->request_headers, line))) return -1;
        snprintf(line, sizeof line, "If-Range: %s", object->last_modified);
        if (!(t->request_headers = curl_slist_append(t->request_headers, line))) return -1;
    }
    return 0;
}

static void reset_reply(transfer *t) {
    t->got = 0;
    t->status = 0;
    t->has_range = t->overflow = false;
    t->content_length = -1;
    t->etag[0] = t->last_modified[0] = '\0';
    t->curl_message[0] = '\0';
    t->code = CURLE_OK;
}

/* Makes the easy handle of a transfer, each limit within `remaining_ms`. */
static int prepare(transfer *t, long remaining_ms) {
    irpa_http_object *object = t->object;
    reset_reply(t);
    if (!t->easy && !(t->easy = curl_easy_init())) return -1;
    CURL *e = t->easy;
    long stall_s = object->timeout_ms / 3000;
    if (stall_s < 1) stall_s = 1;
    if (stall_s > 10) stall_s = 10;
    long connect_ms = object->timeout_ms / 3 < remaining_ms ? object->timeout_ms / 3 : remaining_ms;
    curl_easy_setopt(e, CURLOPT_URL, t->chain.url);
    curl_easy_setopt(e, CURLOPT_SHARE, object->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, RECEIVE_BUFFER);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* by hand: http_redirect.h */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms > 0 ? connect_ms : 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, remaining_ms > 0 ? remaining_ms : 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall_s);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "irpafs/" IRPA_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->request_headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->curl_message);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    return 0;
}

/* An idle multi handle of the object (with the connections it keeps), or a new one. */
static CURLM *take_multi(irpa_http_object *object) {
    CURLM *multi = NULL;
    pthread_mutex_lock(&object->idle_lock);
    if (object->idle_count > 0) multi = object->idle[--object->idle_count];
    pthread_mutex_unlock(&object->idle_lock);
    return multi ? multi : curl_multi_init();
}

/* Gives back a multi handle no transfer uses any more, for the next read. */
static void return_multi(irpa_http_object *object, CURLM *multi) {
    pthread_mutex_lock(&object->idle_lock);
    bool kept = object->idle_count < MAX_IDLE_MULTIS;
    if (kept) object->idle[object->idle_count++] = multi;
    pthread_mutex_unlock(&object->idle_lock);
    if (!kept) curl_multi_cleanup(multi);
}

/* Runs the transfers together until each has ended, on a multi handle
 * this thread alone uses meanwhile. */
static bool stopping(const irpa_http_object *object) {
    return object->stop && atomic_load(object->stop);
}

void irpa_http_set_stop(irpa_http_object *object, const atomic_bool *stop) { object->stop = stop; }

static int run(transfer **transfers, size_t count, long remaining_ms) {
    irpa_http_object *object = transfers[0]->object;
    CURLM *multi = take_multi(object);
    if (!multi) return -1;
    for (size_t i = 0; i < count; i++) {
        if (prepare(transfers[i], remaining_ms) != 0 ||
            curl_multi_add_handle(multi, transfers[i]->easy) != CURLM_OK) {
            for (size_t j = 0; j < i; j++) curl_multi_remove_handle(multi, transfers[j]->easy);
            return_multi(object, multi);
            return -1;
        }
    }
    int running = 1;
    while (running) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) break;
        if (running && stopping(object)) break;
        if (running) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    CURLMsg *message;
    int left;
    while ((message = curl_multi_info_read(multi, &left)))
        if (message->msg == CURLMSG_DONE) {
            transfer *t = NULL;
            curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            if (t) t->code = message->data.result;
        }
    for (size_t i = 0; i < count; i++) curl_multi_remove_handle(multi, transfers[i]->easy);
    return_multi(object, multi);
    return 0;
}

static irpa_http_fault fault_of_code(CURLcode code) {
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return IRPA_HTTP_STALL;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return IRPA_HTTP_RESET;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        return IRPA_HTTP_TLS;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return IRPA_HTTP_BAD_REQUEST;
    default:
        return IRPA_HTTP_OTHER;
    }
}

/* Judges a read's reply against the object: 0, or -1 with `error` set. */
static int judge_read(const transfer *t, irpa_http_error *error) {
    const irpa_http_object *object = t->object;
    const char *url = object->shown;
    if (t->status >= 300 && t->status != 200 && t->status != 206) {
        irpa_http_fault fault = irpa_http_status_fault(t->status);
        if (t->status == 416 && t->has_range && t->range_total != object->size)
            fault = IRPA_HTTP_REPLACED;
        if (fault == IRPA_HTTP_REPLACED)
            return irpa_http_fail(error, fault, t->status,
                             "%s: the object was replaced on the server (opened as %s)", url,
                             object->identity);
        return irpa_http_fail(error, fault, t->status, "%s: HTTP %ld %s", url, t->status,
                         irpa_http_status_text(t->status));
    }
    if (t->status == 200)
        return irpa_http_fail(error, object->etag[0] ? IRPA_HTTP_RANGE : IRPA_HTTP_REPLACED, 200,
                         object->etag[0] ? "%s: the server ignored the range request"
                                         : "%s: the object was replaced on the server "
                                           "(opened as %s)",
                         url, object->identity);
    if (t->code != CURLE_OK && !(t->code == CURLE_WRITE_ERROR && t->status == 206 && !t->overflow))
        return irpa_http_fail(error, fault_of_code(t->code), 0, "%s: %s", url,
                         t->curl_message[0] ? t->curl_message : curl_easy_strerror(t->code));
    if (t->overflow || !t->has_range || t->range_start != t->start ||
        t->range_end != t->start + t->length - 1)
        return irpa_http_fail(error, IRPA_HTTP_OTHER, t->status,
                         "%s: the server answered another range than the one asked for", url);
    if (t->range_total != object->size || (object->etag[0] && t->etag[0] &&
                                           strcmp(t->etag, object->etag) != 0))
        return irpa_http_fail(error, IRPA_HTTP_REPLACED, t->status,
                         "%s: the object was replaced on the server (opened as %s)", url,
                         object->identity);
    if (t->got != t->length)
        return irpa_http_fail(error, IRPA_HTTP_RESET, t->status, "%s: the reply ended early", url);
    return 0;
}

static bool worth_retrying(const irpa_http_error *error) {
    return error->fault == IRPA_HTTP_RESET || error->fault == IRPA_HTTP_STALL ||
           (error->fault == IRPA_HTTP_STATUS && (error->status >= 500 || error->status == 429));
}

static void sleep_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {}
}

/* What a transfer's reply leads to. */
typedef enum step {
    STEP_DONE,  /* judged good */
    STEP_AGAIN, /* to be sent again now: redirected, or back to the manifest's URL */
    STEP_RETRY, /* failed, may pass: again after a backoff */
    STEP_FAIL,  /* failed for good */
} step;

/* Judges a reply (judge_read, judge_open): 0, or -1 with `error` set. */
typedef int judge_fn(const transfer *t, irpa_http_error *error);

/* Follows a transfer's redirect, or judges its reply (`error` set unless DONE). */
static step next_step(transfer *t, judge_fn *judge, irpa_http_error *error) {
    irpa_http_object *object = t->object;
    char *target = NULL;
    if (t->status >= 300 && t->status < 400 &&
        curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &target) == CURLE_OK && target) {
        if (irpa_redirect_follow(&t->chain, object->url, object->shown, target, t->status,
                                 error) != 0)
            return STEP_FAIL;
    } else if (judge(t, error) == 0) {
        irpa_redirect_memo_keep(&object->memo, &t->chain);
        return STEP_DONE;
    } else if (!irpa_redirect_memo_fall_back(&object->memo, &t->chain, object->url, error)) {
        irpa_redirect_name_target(&t->chain, object->url, error);
        return worth_retrying(error) ? STEP_RETRY : STEP_FAIL;
    }
    *error = (irpa_http_error){0};
    if (set_request_headers(t) == 0) return STEP_AGAIN;
    irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
    return STEP_FAIL;
}

/* Runs `transfers` (redirects followed at once) with retries until each
 * succeeded, one failed for good, or the deadline passed. 0, or -1 with
 * the first failure. */
static int run_with_retries(transfer **transfers, size_t count, int64_t deadline_ms,
                            judge_fn *judge, irpa_http_error *error) {
    transfer *pending[MAX_PIECES];
    size_t pending_count = count;
    memcpy(pending, transfers, count * sizeof *pending);
    long backoff_ms = FIRST_BACKOFF_MS;
    for (int attempt = 1;;) {
        int64_t remaining = deadline_ms - (int64_t)irpa_monotonic_ms();
        if (remaining <= 0)
            return error->fault != IRPA_HTTP_OK
                       ? -1
                       : irpa_http_fail(error, IRPA_HTTP_STALL, 0, "%s: timed out",
                                   transfers[0]->object->shown);
        if (run(pending, pending_count, (long)remaining) != 0)
            return irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
        if (stopping(transfers[0]->object))
            return irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "%s: read abandoned: stopping",
                                  transfers[0]->object->shown);
        size_t again = 0;
        bool failed = false, final = false;
        for (size_t i = 0; i < pending_count; i++) {
            irpa_http_error this_error = {0};
            step next = next_step(pending[i], judge, &this_error);
            if (next == STEP_DONE) continue;
            if ((next == STEP_RETRY && !failed) || next == STEP_FAIL) *error = this_error;
            failed = failed || next != STEP_AGAIN;
            final = final || next == STEP_FAIL;
            pending[again++] = pending[i];
        }
        if (again == 0) return 0;
        pending_count = again;
        if (!failed) continue;
        remaining = deadline_ms - (int64_t)irpa_monotonic_ms();
        if (final || ++attempt > MAX_ATTEMPTS || remaining <= backoff_ms) return -1;
        sleep_ms(backoff_ms);
        backoff_ms *= 2;
    }
}

/* Sets up a transfer of `length` bytes at `start` into `buffer`, from the
 * object's remembered target or its URL. 0, or -1 (out of memory). */
static int transfer_init(transfer *t, irpa_http_object *object, uint8_t *buffer, uint64_t start,
                         uint64_t length, bool conditional) {
    *t = (transfer){.object = object, .buffer = buffer, .start = start, .length = length,
                    .conditional = conditional};
    if (irpa_redirect_memo_start(&object->memo, &t->chain, object->url) != 0) return -1;
    return set_request_headers(t);
}

static void transfer_free(transfer *t) {
    if (t->easy) curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->request_headers);
    irpa_redirect_chain_free(&t->chain);
}

int irpa_http_read(irpa_http_object *object, void *buffer, uint64_t length, uint64_t offset,
                   irpa_http_error *error) {
    *error = (irpa_http_error){0};
    if (length == 0) return 0;
    if (offset > object->size || length > object->size - offset)
        return irpa_http_fail(error, IRPA_HTTP_RANGE, 0, "%s: bytes %" PRIu64 "+%" PRIu64
                         " are past the end of the object (%" PRIu64 " bytes)",
                         object->shown, offset, length, object->size);
    uint64_t piece = (length + MAX_PIECES - 1) / MAX_PIECES;
    if (piece < MIN_PIECE) piece = MIN_PIECE;
    size_t count = (size_t)((length + piece - 1) / piece);
    transfer pieces[MAX_PIECES];
    transfer *pointers[MAX_PIECES];
    memset(pieces, 0, sizeof pieces);
    int status = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t start = (uint64_t)i * piece;
        pointers[i] = &pieces[i];
        if (status == 0 &&
            transfer_init(&pieces[i], object, (uint8_t *)buffer + start, offset + start,
                          length - start < piece ? length - start : piece, true) != 0)
            status = irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
    }
    if (status == 0)
        status = run_with_retries(pointers, count,
                                  (int64_t)irpa_monotonic_ms() + object->timeout_ms, judge_read,
                                  error);
    for (size_t i = 0; i < count; i++) transfer_free(&pieces[i]);
    return status;
}

/* ---- open ------------------------------------------------------------- */

/* Records size and identity from the reply to the first-byte GET. An
 * empty object has no first byte: a server answers 416 with its size 0, or
 * 200 with an empty body. */
static int judge_open(const transfer *t, irpa_http_error *error) {
    irpa_http_object *object = t->object;
    const char *url = object->shown;
    bool empty = (t->status == 416 && t->has_range && t->range_total == 0) ||
                 (t->status == 200 && t->content_length == 0);
    if (!empty && t->status >= 300 && t->status != 206)
        return irpa_http_fail(error, irpa_http_status_fault(t->status), t->status, "%s: HTTP %ld %s", url,
                         t->status, irpa_http_status_text(t->status));
    if (t->status == 200 && !empty)
        return irpa_http_fail(error, IRPA_HTTP_RANGE, 200,
                         "%s: the server does not answer range requests", url);
    if (!empty && t->code != CURLE_OK)
        return irpa_http_fail(error, fault_of_code(t->code), 0, "%s: %s", url,
                         t->curl_message[0] ? t->curl_message : curl_easy_strerror(t->code));
    if (!t->has_range && !empty)
        return irpa_http_fail(error, IRPA_HTTP_RANGE, t->status,
                         "%s: the reply has no Content-Range with the object's size", url);
    object->size = empty ? 0 : t->range_total;
    bool strong = t->etag[0] == '"';
    if (strong) copy_value(object->etag, sizeof object->etag, t->etag, strlen(t->etag));
    else copy_value(object->last_modified, sizeof object->last_modified, t->last_modified,
                    strlen(t->last_modified));
    if (strong)
        snprintf(object->identity, sizeof object->identity, "ETag %s", object->etag);
    else if (object->last_modified[0])
        snprintf(object->identity, sizeof object->identity, "Last-Modified %s, %" PRIu64 " bytes",
                 object->last_modified, object->size);
    else
        snprintf(object->identity, sizeof object->identity, "%" PRIu64 " bytes", object->size);
    return 0;
}

/* The first byte, to learn the size and identity (an empty object answers 416). */
static int probe(irpa_http_object *object, irpa_http_error *error) {
    uint8_t first;
    transfer t;
    transfer *pointer = &t;
    int status = transfer_init(&t, object, &first, 0, 1, false) == 0
                     ? run_with_retries(&pointer, 1,
                                        (int64_t)irpa_monotonic_ms() + object->timeout_ms,
                                        judge_open, error)
                     : irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
    transfer_free(&t);
    return status;
}

static int make_share(irpa_http_object *object) {
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&object->locks[i], NULL);
    pthread_mutex_init(&object->idle_lock, NULL);
    object->share = curl_share_init();
    if (!object->share) return -1;
    curl_share_setopt(object->share, CURLSHOPT_LOCKFUNC, lock_share);
    curl_share_setopt(object->share, CURLSHOPT_UNLOCKFUNC, unlock_share);
    curl_share_setopt(object->share, CURLSHOPT_USERDATA, object);
    curl_share_setopt(object->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(object->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return 0;
}

int irpa_http_open(const char *url, const char *const *headers, size_t header_count,
                   long timeout_ms, bool environment, irpa_http_object **out,
                   irpa_http_error *error) {
    *error = (irpa_http_error){0};
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_status != CURLE_OK)
        return irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "cannot initialise libcurl");
    irpa_http_object *object = calloc(1, sizeof *object);
    if (!object) return irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
    irpa_redirect_memo_init(&object->memo);
    object->timeout_ms = timeout_ms > 0 ? timeout_ms : IRPA_HTTP_DEFAULT_TIMEOUT_MS;
    irpa_http_redact(url, object->shown, sizeof object->shown);
    if (irpa_http_origin_key(url, object->origin, sizeof object->origin) != 0)
        snprintf(object->origin, sizeof object->origin, "%.*s",  /* a name too long: its start */
                 (int)sizeof object->origin - 1, object->shown);
    object->url = strdup(url);
    int status = object->url && make_share(object) == 0
                     ? 0
                     : irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
    if (status == 0) status = expand_headers(object, headers, header_count, environment, error);
    if (status == 0) status = probe(object, error);
    if (status != 0) {
        irpa_http_close(object);
        return -1;
    }
    *out = object;
    return 0;
}

uint64_t irpa_http_size(const irpa_http_object *object) { return object->size; }

const char *irpa_http_identity(const irpa_http_object *object) { return object->identity; }

const char *irpa_http_shown(const irpa_http_object *object) { return object->shown; }

const char *irpa_http_origin(const irpa_http_object *object) { return object->origin; }

void irpa_http_close(irpa_http_object *object) {
    if (!object) return;
    if (object->share) {
        for (size_t i = 0; i < object->idle_count; i++) curl_multi_cleanup(object->idle[i]);
        curl_share_cleanup(object->share);
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&object->locks[i]);
        pthread_mutex_destroy(&object->idle_lock);
    }
    irpa_redirect_memo_destroy(&object->memo);
    curl_slist_free_all(object->headers);
    free(object->url);
    free(object);
}
