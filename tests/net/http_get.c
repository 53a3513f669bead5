/* http_get: core/http.c from the command line, for the net tests.
 *
 *   http_get [-t MS] [-H 'Name: value']... URL            size and identity
 *   http_get [-t MS] [-H 'Name: value']... URL OFFSET LENGTH   the bytes, to stdout
 *
 * -W FILE waits (up to 60 s) after the open until FILE exists, then reads:
 * a test changes the server in between.
 * -j N reads the range from N threads at once, 16 times each, on the one
 * object, and fails unless every read gives the same bytes (printed once). 
 * A fault prints "FAULT: message" on stderr (FAULT one of not-found,
 * forbidden, range, replaced, reset, stall, status, tls, bad-request,
 * other) and exits 3. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

static const char *fault_name(irpa_http_fault fault) {
    static const char *const names[] = {"ok",     "bad-request", "not-found", "forbidden",
                                        "range",  "replaced",    "reset",     "stall",
                                        "status", "tls",         "other"};
    return (size_t)fault < sizeof names / sizeof names[0] ? names[fault] : "?";
}

#define MAX_THREADS 16
#define ROUNDS 16

typedef struct reader {
    irpa_http_object *object;
    uint64_t offset, length;
    const char *expected; /* the first read's bytes */
    char *buffer;
    int status;           /* 0, or 3 after a fault or other bytes */
    irpa_http_error error;
} reader;

static void *read_rounds(void *context) {
    reader *r = context;
    for (int round = 0; round < ROUNDS && r->status == 0; round++) {
        if (irpa_http_read(r->object, r->buffer, r->length, r->offset, &r->error) != 0)
            r->status = 3;
        else if (memcmp(r->buffer, r->expected, r->length) != 0)
            r->status = 4;
    }
    return NULL;
}

/* Reads the range from `threads` threads at once; 0 when all agree with `first`. */
static int read_concurrently(irpa_http_object *object, const char *first, uint64_t length,
                             uint64_t offset, int threads) {
    reader readers[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started = 0, status = 0;
    for (int i = 0; i < threads; i++) {
        readers[i] = (reader){object, offset, length, first, malloc(length ? length : 1), 0, {0}};
        if (!readers[i].buffer || pthread_create(&ids[i], NULL, read_rounds, &readers[i]) != 0) {
            free(readers[i].buffer);
            status = 1;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(ids[i], NULL);
        if (readers[i].status == 3)
            fprintf(stderr, "%s: %s\n", fault_name(readers[i].error.fault),
                    readers[i].error.message);
        else if (readers[i].status == 4)
            fprintf(stderr, "other: thread %d read other bytes\n", i);
        if (readers[i].status) status = 3;
        free(readers[i].buffer);
    }
    return status;
}

int main(int argc, char **argv) {
    const char *headers[16];
    size_t header_count = 0;
    long timeout_ms = 0;
    const char *wait_file = NULL;
    int threads = 0;
    int option;
    while ((option = getopt(argc, argv, "t:H:W:j:")) != -1) {
        if (option == 't') timeout_ms = strtol(optarg, NULL, 10);
        else if (option == 'j') threads = atoi(optarg);
        else if (option == 'W') wait_file = optarg;
        else if (option == 'H' && header_count < 16) headers[header_count++] = optarg;
        else return 2;
    }
    if ((optind != argc - 1 && optind != argc - 3) || threads < 0 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: http_get [-t MS] [-H 'Name: value']... URL [OFFSET LENGTH]\n");
        return 2;
    }
    irpa_http_object *object;
    irpa_http_error error;
    if (irpa_http_open(argv[optind], headers, header_count, timeout_ms, true, &object,
                       &error) != 0) {
        fprintf(stderr, "%s: %s\n", fault_name(error.fault), error.message);
        return 3;
    }
    for (int i = 0; wait_file && i < 6000 && access(wait_file, F_OK) != 0; i++) usleep(10000);
    int status = 0;
    if (optind == argc - 1) {
        printf("size %" PRIu64 "\nidentity %s\n", irpa_http_size(object),
               irpa_http_identity(object));
    } else {
        uint64_t offset = strtoull(argv[optind + 1], NULL, 10);
        uint64_t length = strtoull(argv[optind + 2], NULL, 10);
        char *buffer = malloc(length ? length : 1);
        if (!buffer) status = 1;
        else if (irpa_http_read(object, buffer, length, offset, &error) != 0) {
            fprintf(stderr, "%s: %s\n", fault_name(error.fault), error.message);
            status = 3;
        } else if (threads > 0 &&
                   (status = read_concurrently(object, buffer, length, offset, threads)) != 0) {
        } else if (fwrite(buffer, 1, length, stdout) != length) {
            status = 1;
        }
        free(buffer);
    }
    irpa_http_close(object);
    return status;
}
