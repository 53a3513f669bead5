/* test_url_chunks.c: the chunk store (core/url_chunks.h) against a fake
 * object whose byte at offset i is (i * 7 + i / 4096) & 0xff, with fetches
 * counted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "url_chunks.h"

#define MIB (UINT64_C(1) << 20)
#define OBJECT_SIZE (2 * IRPA_URL_CHUNK + 123) /* two whole chunks and a short one */

static uint8_t byte_at(uint64_t offset) { return (uint8_t)((offset * 7 + offset / 4096) & 0xff); }

/* The fake object: counts fetches, can fail, can run a nested read. */
typedef struct fake {
    int fetches;                   /* calls so far */
    uint64_t last_offset, last_length;
    int fail_errno;                /* nonzero: the next fetch fails with it */
    void (*during)(struct fake *); /* run inside the next fetch, then cleared */
    irpa_url_chunks *chunks;
} fake;

static int fake_fetch(void *owner, void *buffer, uint64_t length, uint64_t offset) {
    fake *object = owner;
    object->fetches++;
    object->last_offset = offset;
    object->last_length = length;
    if (object->during) {
        void (*during)(fake *) = object->during;
        object->during = NULL;
        during(object);
    }
    if (object->fail_errno) {
        errno = object->fail_errno;
        object->fail_errno = 0;
        return -1;
    }
    for (uint64_t i = 0; i < length; i++) ((uint8_t *)buffer)[i] = byte_at(offset + i);
    return 0;
}

static void expect_bytes(const uint8_t *buffer, uint64_t length, uint64_t offset) {
    for (uint64_t i = 0; i < length; i++)
        if (buffer[i] != byte_at(offset + i)) fail_msg("byte %llu is wrong", (unsigned long long)(offset + i));
}

static int read_bytes(fake *object, uint8_t *buffer, uint64_t length, uint64_t offset) {
    return irpa_url_chunks_read(object->chunks, object, OBJECT_SIZE, fake_fetch, buffer, length,
                                offset);
}

static void sleep_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {}
}

static int setup(void **state) {
    fake *object = calloc(1, sizeof *object);
    object->chunks = irpa_url_chunks_new(4);
    *state = object;
    return object->chunks ? 0 : -1;
}

static int teardown(void **state) {
    fake *object = *state;
    irpa_url_chunks_forget(object->chunks, object);
    irpa_url_chunks_free(object->chunks);
    free(object);
    return 0;
}

/* A read fetches its whole chunk, once; the next reads of it cost nothing. */
static void test_a_chunk_at_a_time(void **state) {
    fake *object = *state;
    uint8_t *buffer = malloc(MIB);
    for (uint64_t offset = 0; offset < 4 * MIB; offset += MIB) {
        assert_int_equal(read_bytes(object, buffer, MIB, offset), 0);
        expect_bytes(buffer, MIB, offset);
    }
    assert_int_equal(object->fetches, 1);
    assert_int_equal(object->last_offset, 0);
    assert_int_equal(object->last_length, IRPA_URL_CHUNK);
    free(buffer);
}

/* Once every byte of a chunk was served, it leaves: reading it again fetches. */
static void test_a_chunk_read_through_leaves(void **state) {
    fake *object = *state;
    uint8_t *buffer = malloc(MIB);
    for (uint64_t offset = 0; offset < IRPA_URL_CHUNK; offset += MIB)
        assert_int_equal(read_bytes(object, buffer, MIB, offset), 0);
    assert_int_equal(object->fetches, 1);
    assert_int_equal(read_bytes(object, buffer, MIB, 0), 0);
    assert_int_equal(object->fetches, 2);
    free(buffer);
}

/* A read across chunks takes both; the last chunk is short. */
static void test_across_chunks_and_the_short_last(void **state) {
    fake *object = *state;
    uint8_t buffer[8192];
    assert_int_equal(read_bytes(object, buffer, sizeof buffer, IRPA_URL_CHUNK - 4096), 0);
    expect_bytes(buffer, sizeof buffer, IRPA_URL_CHUNK - 4096);
    assert_int_equal(object->fetches, 2);
    assert_int_equal(read_bytes(object, buffer, 123, 2 * IRPA_URL_CHUNK), 0);
    expect_bytes(buffer, 123, 2 * IRPA_URL_CHUNK);
    assert_int_equal(object->last_length, 123);
}

/* A failed fetch fails the read with its errno, holds nothing, and the next
 * read fetches again. */
static void test_a_failed_fetch(void **state) {
    fake *object = *state;
    uint8_t buffer[4096];
    object->fail_errno = ESTALE;
    assert_int_equal(read_bytes(object, buffer, sizeof buffer, 0), -1);
    assert_int_equal(errno, ESTALE);
    assert_false(irpa_url_chunks_covered(object->chunks, object, OBJECT_SIZE, 0, 4096));
    assert_int_equal(read_bytes(object, buffer, sizeof buffer, 0), 0);
    expect_bytes(buffer, sizeof buffer, 0);
    assert_int_equal(object->fetches, 2);
}

static fake *nested_object;
static int nested_result;
static uint64_t nested_length;

static void nested_read(fake *object) {
    (void)object;
    uint8_t buffer[4096];
    nested_result = read_bytes(nested_object, buffer, sizeof buffer, IRPA_URL_CHUNK + 4096);
    nested_length = nested_object->last_length;
    if (nested_result == 0) expect_bytes(buffer, sizeof buffer, IRPA_URL_CHUNK + 4096);
}

/* With no slot to take (the only one is being fetched), a read fetches
 * just its own bytes. */
static void test_no_slot_reads_its_own_bytes(void **state) {
    fake *object = *state;
    irpa_url_chunks *one = irpa_url_chunks_new(1);
    fake other = {.chunks = one};
    fake outer = {.chunks = one, .during = nested_read};
    nested_object = &other;
    uint8_t buffer[4096];
    assert_int_equal(read_bytes(&outer, buffer, sizeof buffer, 0), 0);  /* holds the one slot */
    assert_int_equal(nested_result, 0);
    assert_int_equal(nested_length, 4096);  /* not a chunk */
    irpa_url_chunks_forget(one, &outer);
    irpa_url_chunks_forget(one, &other);
    irpa_url_chunks_free(one);
    (void)object;
}

/* Fetches ahead fill free slots, never take a chunk not read yet, and the
 * reads that follow find their chunks. */
static void test_fetch_ahead(void **state) {
    fake *object = *state;  /* 4 slots */
    assert_true(!irpa_url_chunks_covered(object->chunks, object, OBJECT_SIZE, 0, OBJECT_SIZE));
    assert_int_equal(irpa_url_chunks_fetch_ahead(object->chunks, object, OBJECT_SIZE, fake_fetch,
                                                 IRPA_URL_CHUNK, 2 * IRPA_URL_CHUNK),
                     0);
    assert_int_equal(object->fetches, 2);
    assert_true(irpa_url_chunks_covered(object->chunks, object, OBJECT_SIZE, IRPA_URL_CHUNK,
                                        IRPA_URL_CHUNK + 123));
    /* Again: nothing to do. */
    assert_int_equal(irpa_url_chunks_fetch_ahead(object->chunks, object, OBJECT_SIZE, fake_fetch,
                                                 IRPA_URL_CHUNK, 2 * IRPA_URL_CHUNK),
                     0);
    assert_int_equal(object->fetches, 2);
    uint8_t buffer[4096];
    assert_int_equal(read_bytes(object, buffer, sizeof buffer, IRPA_URL_CHUNK + MIB), 0);
    expect_bytes(buffer, sizeof buffer, IRPA_URL_CHUNK + MIB);
    assert_int_equal(object->fetches, 2);

    /* Two slots, both holding chunks fetched ahead and not read: a fetch
     * ahead of another chunk leaves them alone. */
    irpa_url_chunks *two = irpa_url_chunks_new(2);
    fake small = {.chunks = two};
    assert_int_equal(irpa_url_chunks_fetch_ahead(two, &small, OBJECT_SIZE, fake_fetch, 0,
                                                 2 * IRPA_URL_CHUNK),
                     0);
    assert_int_equal(small.fetches, 2);
    assert_int_equal(irpa_url_chunks_fetch_ahead(two, &small, OBJECT_SIZE, fake_fetch,
                                                 2 * IRPA_URL_CHUNK, 123),
                     0);
    assert_int_equal(small.fetches, 2);
    assert_false(irpa_url_chunks_covered(two, &small, OBJECT_SIZE, 2 * IRPA_URL_CHUNK, 123));
    irpa_url_chunks_forget(two, &small);
    irpa_url_chunks_free(two);
}

/* A small read is copied from a held chunk, and only from one. */
static void test_copy_held(void **state) {
    fake *object = *state;
    uint8_t buffer[4096];
    assert_false(irpa_url_chunks_copy_held(object->chunks, object, buffer, sizeof buffer, 0));
    assert_int_equal(read_bytes(object, buffer, sizeof buffer, 0), 0);
    memset(buffer, 0, sizeof buffer);
    assert_true(irpa_url_chunks_copy_held(object->chunks, object, buffer, sizeof buffer, 8192));
    expect_bytes(buffer, sizeof buffer, 8192);
    assert_false(irpa_url_chunks_copy_held(object->chunks, object, buffer, sizeof buffer,
                                           IRPA_URL_CHUNK - 2048));  /* spans into chunk 1 */
    assert_int_equal(object->fetches, 1);
}

/* A forgotten owner's chunks are gone; another owner's stay. */
static void test_forget(void **state) {
    fake *object = *state;
    fake other = {.chunks = object->chunks};
    uint8_t buffer[4096];
    assert_int_equal(read_bytes(object, buffer, sizeof buffer, 0), 0);
    assert_int_equal(read_bytes(&other, buffer, sizeof buffer, 0), 0);
    irpa_url_chunks_forget(object->chunks, object);
    assert_false(irpa_url_chunks_covered(object->chunks, object, OBJECT_SIZE, 0, 4096));
    assert_true(irpa_url_chunks_covered(object->chunks, &other, OBJECT_SIZE, 0, 4096));
    irpa_url_chunks_forget(object->chunks, &other);
}

/* A pinned chunk gives its bytes in place, is not taken for another chunk
 * while pinned, and leaves at the unpin once read through. */
static void test_pin(void **state) {
    fake *object = *state;
    irpa_url_chunks *one = irpa_url_chunks_new(1);
    fake small = {.chunks = one};
    const uint8_t *bytes = NULL;
    void *pin = NULL;
    assert_int_equal(irpa_url_chunks_pin(one, &small, OBJECT_SIZE, fake_fetch, IRPA_URL_CHUNK, 0,
                                         &bytes, &pin),
                     0);
    expect_bytes(bytes, IRPA_URL_CHUNK, 0);
    /* The only slot is pinned: a read of another chunk reads just its bytes. */
    uint8_t buffer[4096];
    assert_int_equal(irpa_url_chunks_read(one, &small, OBJECT_SIZE, fake_fetch, buffer,
                                          sizeof buffer, IRPA_URL_CHUNK),
                     0);
    expect_bytes(buffer, sizeof buffer, IRPA_URL_CHUNK);
    assert_int_equal(small.last_length, sizeof buffer);
    assert_true(irpa_url_chunks_covered(one, &small, OBJECT_SIZE, 0, 4096));
    irpa_url_chunks_unpin(one, pin);  /* read through: it leaves */
    assert_false(irpa_url_chunks_copy_held(one, &small, buffer, sizeof buffer, 0));
    /* Bytes across two chunks cannot be pinned. */
    assert_int_equal(irpa_url_chunks_pin(one, &small, OBJECT_SIZE, fake_fetch, 8192,
                                         IRPA_URL_CHUNK - 4096, &bytes, &pin),
                     1);
    irpa_url_chunks_forget(one, &small);
    irpa_url_chunks_free(one);
    (void)object;
}

/* A chunk read through is not fetched ahead again for 2 s (a fetch ahead
 * queued before the reader passed it would fetch it twice), but a read of
 * it fetches it at once. */
static void test_a_chunk_read_through_is_not_fetched_ahead(void **state) {
    fake *object = *state;
    uint8_t *buffer = malloc(IRPA_URL_CHUNK);
    assert_int_equal(read_bytes(object, buffer, IRPA_URL_CHUNK, 0), 0);  /* it leaves */
    assert_int_equal(object->fetches, 1);
    assert_false(irpa_url_chunks_copy_held(object->chunks, object, buffer, 4096, 0));
    assert_true(irpa_url_chunks_covered(object->chunks, object, OBJECT_SIZE, 0, 4096));
    assert_int_equal(irpa_url_chunks_fetch_ahead(object->chunks, object, OBJECT_SIZE, fake_fetch,
                                                 0, 2 * IRPA_URL_CHUNK),
                     0);
    assert_int_equal(object->fetches, 2);  /* the second chunk only */
    assert_int_equal(object->last_offset, IRPA_URL_CHUNK);
    assert_int_equal(read_bytes(object, buffer, 4096, 0), 0);  /* the reader came back */
    expect_bytes(buffer, 4096, 0);
    assert_int_equal(object->fetches, 3);
    assert_int_equal(object->last_offset, 0);
    /* Read through again, and 2 s later: fetched ahead again. */
    assert_int_equal(read_bytes(object, buffer, IRPA_URL_CHUNK - 4096, 4096), 0);
    sleep_ms(2100);
    assert_int_equal(irpa_url_chunks_fetch_ahead(object->chunks, object, OBJECT_SIZE, fake_fetch,
                                                 0, 4096),
                     0);
    assert_int_equal(object->fetches, 4);
    assert_int_equal(object->last_offset, 0);
    free(buffer);
}

/* Trim gives the memory of slots empty for a second back: its result says
 * whether memory is still held. Chunks reuse a spare slot's memory
 * meanwhile. */
static void test_trim(void **state) {
    fake *object = *state;
    assert_false(irpa_url_chunks_trim(object->chunks));  /* nothing mapped yet */
    uint8_t *buffer = malloc(IRPA_URL_CHUNK);
    assert_int_equal(read_bytes(object, buffer, IRPA_URL_CHUNK, 0), 0);  /* read through */
    assert_true(irpa_url_chunks_trim(object->chunks));   /* a spare, emptied just now */
    assert_int_equal(read_bytes(object, buffer, IRPA_URL_CHUNK, IRPA_URL_CHUNK), 0);
    expect_bytes(buffer, IRPA_URL_CHUNK, IRPA_URL_CHUNK); /* in the spare's memory */
    sleep_ms(1100);
    assert_false(irpa_url_chunks_trim(object->chunks));  /* given back */
    /* A chunk fetched ahead and not read yet is held (a trim 5 s later
     * would empty it: not waited for here). */
    assert_int_equal(irpa_url_chunks_fetch_ahead(object->chunks, object, OBJECT_SIZE, fake_fetch,
                                                 2 * IRPA_URL_CHUNK, 123),
                     0);
    assert_true(irpa_url_chunks_trim(object->chunks));
    assert_true(irpa_url_chunks_covered(object->chunks, object, OBJECT_SIZE, 2 * IRPA_URL_CHUNK,
                                        123));
    free(buffer);
}

/* Bytes served from elsewhere (the on-disk cache) count against the chunk
 * that holds them: once all are, the chunk leaves. */
static void test_served_elsewhere(void **state) {
    fake *object = *state;
    uint8_t buffer[4096];
    assert_int_equal(read_bytes(object, buffer, sizeof buffer, 0), 0);
    irpa_url_chunks_served(object->chunks, object, OBJECT_SIZE, sizeof buffer,
                           IRPA_URL_CHUNK - 2 * sizeof buffer);
    assert_true(irpa_url_chunks_copy_held(object->chunks, object, buffer, sizeof buffer,
                                          IRPA_URL_CHUNK - sizeof buffer));  /* the last bytes */
    assert_false(irpa_url_chunks_copy_held(object->chunks, object, buffer, sizeof buffer, 0));
    assert_int_equal(object->fetches, 1);
}

/* A chunk another reader is going through is not taken for a new chunk:
 * the new read fetches just its own bytes (with more streams than slots,
 * no stream evicts another's chunk at every read). */
static void test_a_chunk_in_use_stays(void **state) {
    fake *object = *state;
    irpa_url_chunks *one = irpa_url_chunks_new(1);
    fake first = {.chunks = one}, second = {.chunks = one};
    uint8_t buffer[4096];
    assert_int_equal(irpa_url_chunks_read(one, &first, OBJECT_SIZE, fake_fetch, buffer,
                                          sizeof buffer, 0),
                     0);
    assert_int_equal(irpa_url_chunks_read(one, &second, OBJECT_SIZE, fake_fetch, buffer,
                                          sizeof buffer, 0),
                     0);
    expect_bytes(buffer, sizeof buffer, 0);
    assert_int_equal(second.last_length, sizeof buffer);
    assert_true(irpa_url_chunks_covered(one, &first, OBJECT_SIZE, 0, 4096));
    irpa_url_chunks_forget(one, &first);
    irpa_url_chunks_forget(one, &second);
    irpa_url_chunks_free(one);
    (void)object;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_chunk_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_chunk_read_through_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_across_chunks_and_the_short_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_slot_reads_its_own_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_chunk_in_use_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_chunk_read_through_is_not_fetched_ahead, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_served_elsewhere, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
