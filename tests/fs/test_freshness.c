/* test_freshness: the source freshness policy (core/freshness.h), without a
 * mount: checks against the snapshot, the trust window, rate-limited name
 * checks, one report per source and kind, one check per source per read,
 * a probe for another kind of source plugged in, URL sources on their own
 * probe, and irpa build using the same policy. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "build.h"
#include "freshness.h"
#include "resolve.h"

#define SOURCES 2

/* The test's clocks. */
static int64_t fake_ns = 1000000000, fake_ms = 1000000;
static int64_t now_ns(void) { return fake_ns; }
static int64_t now_ms(void) { return fake_ms; }

typedef struct report {
    uint32_t source;
    irpa_staleness what;
    char why[256];
} report;

typedef struct fixture {
    char directory[64];
    char paths[SOURCES][128];
    irpa_source sources[SOURCES];
    irpa_archive archive;
    irpa_freshness freshness;
    report reports[16];
    size_t report_count;
} fixture;

static void write_file(const char *path, size_t size) {
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    for (size_t i = 0; i < size; i++) fputc('a' + (int)(i % 26), file);
    assert_int_equal(fclose(file), 0);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->directory, "/tmp/test_freshness.XXXXXX");
    assert_non_null(mkdtemp(f->directory));
    for (int i = 0; i < SOURCES; i++) {
        snprintf(f->paths[i], sizeof f->paths[i], "%s/source%d", f->directory, i);
        write_file(f->paths[i], 4096);
        assert_int_equal(irpa_source_open(&f->sources[i], f->paths[i], NULL, NULL), 0);
    }
    f->archive.sources = f->sources;
    f->archive.source_count = SOURCES;
    assert_int_equal(irpa_freshness_init(&f->freshness, &f->archive), 0);
    f->freshness.clock = (irpa_freshness_clock){.now_ns = now_ns, .now_ms = now_ms};
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    irpa_freshness_free(&f->freshness);
    for (int i = 0; i < SOURCES; i++) {
        irpa_source_close(&f->sources[i]);
        unlink(f->paths[i]);
    }
    char moved[160];
    snprintf(moved, sizeof moved, "%s/moved", f->directory);
    unlink(moved);
    rmdir(f->directory);
    free(f);
    return 0;
}

static void record(void *context, uint32_t source, irpa_staleness what, const char *why) {
    fixture *f = context;
    assert_true(f->report_count < 16);
    report *r = &f->reports[f->report_count++];
    r->source = source;
    r->what = what;
    snprintf(r->why, sizeof r->why, "%s", why ? why : "");
}

/* One read of `source`: a segment of it. */
static int read_source(fixture *f, uint32_t source, bool trust_recent) {
    irpa_segment segment = {.kind = IRPA_SEGMENT_SOURCE, .length = 16, .source = source};
    return irpa_freshness_check(&f->freshness, &segment, 1, trust_recent, record, f);
}

/* Rewrites the first byte in place and moves the mtime a second on. */
static void rewrite_in_place(const char *path) {
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "z", 1, 0), 1);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    times[1].tv_sec += 1;
    assert_int_equal(futimens(fd, times), 0);
    close(fd);
}

static void test_unchanged_sources_pass(void **state) {
    fixture *f = *state;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(read_source(f, 0, false), 0);
        assert_int_equal(read_source(f, 1, true), 0);
        fake_ms += 5000;
    }
    assert_int_equal(f->report_count, 0);
}

static void test_truncated_source_fails_and_is_reported_once(void **state) {
    fixture *f = *state;
    assert_int_equal(truncate(f->paths[1], 1024), 0);
    assert_int_equal(read_source(f, 0, false), 0);
    assert_int_equal(read_source(f, 1, false), -1);
    assert_int_equal(read_source(f, 1, false), -1);
    assert_int_equal(f->report_count, 1);
    assert_int_equal(f->reports[0].source, 1);
    assert_int_equal(f->reports[0].what, IRPA_SOURCE_CHANGED);
    assert_string_equal(f->reports[0].why, "truncated from 4096 to 1024 bytes");
}

/* A trusting read skips a check made less than 1 ms before; an untrusting
 * one never does, and neither does a trusting read after the window. */
static void test_trust_window(void **state) {
    fixture *f = *state;
    assert_int_equal(read_source(f, 0, true), 0);  /* found unchanged at fake_ns */
    rewrite_in_place(f->paths[0]);
    fake_ns += IRPA_FRESHNESS_TRUST_NS / 2;
    assert_int_equal(read_source(f, 0, true), 0);
    assert_int_equal(f->report_count, 0);
    assert_int_equal(read_source(f, 0, false), -1);
    assert_int_equal(f->report_count, 1);
    assert_string_equal(f->reports[0].why, "modified in place (mtime changed)");

    /* source 1: the window ends */
    assert_int_equal(read_source(f, 1, true), 0);
    rewrite_in_place(f->paths[1]);
    fake_ns += IRPA_FRESHNESS_TRUST_NS;
    assert_int_equal(read_source(f, 1, true), -1);
    assert_int_equal(f->report_count, 2);
    assert_int_equal(f->reports[1].source, 1);
}

/* A deleted source keeps serving (its descriptor still reads its bytes),
 * reported once by the next check: it has no name left. */
static void test_deleted_source_is_reported_once(void **state) {
    fixture *f = *state;
    assert_int_equal(read_source(f, 0, false), 0);  /* its name was looked up just now */
    assert_int_equal(unlink(f->paths[0]), 0);
    assert_int_equal(read_source(f, 0, false), 0);
    assert_int_equal(f->report_count, 1);
    assert_int_equal(f->reports[0].source, 0);
    assert_int_equal(f->reports[0].what, IRPA_SOURCE_REPLACED);
    assert_int_equal(read_source(f, 0, false), 0);
    assert_int_equal(f->report_count, 1);
}

/* A source replaced by rename while it keeps another name is found by a
 * lookup of its path, made at most every IRPA_FRESHNESS_NAME_CHECK_MS;
 * reported once. */
static void test_replaced_source_is_found_by_a_due_name_check(void **state) {
    fixture *f = *state;
    assert_int_equal(read_source(f, 1, false), 0);  /* its name was looked up just now */
    char moved[160], replacement[160];
    snprintf(moved, sizeof moved, "%s/moved", f->directory);
    snprintf(replacement, sizeof replacement, "%s/replacement", f->directory);
    assert_int_equal(link(f->paths[1], moved), 0);
    write_file(replacement, 4096);
    assert_int_equal(rename(replacement, f->paths[1]), 0);
    fake_ms += IRPA_FRESHNESS_NAME_CHECK_MS / 2;
    assert_int_equal(read_source(f, 1, false), 0);
    assert_int_equal(f->report_count, 0);  /* not due yet */
    fake_ms += IRPA_FRESHNESS_NAME_CHECK_MS;
    assert_int_equal(read_source(f, 1, false), 0);
    assert_int_equal(f->report_count, 1);
    assert_int_equal(f->reports[0].source, 1);
    assert_int_equal(f->reports[0].what, IRPA_SOURCE_REPLACED);
    fake_ms += IRPA_FRESHNESS_NAME_CHECK_MS * 2;
    assert_int_equal(read_source(f, 1, false), 0);
    assert_int_equal(f->report_count, 1);
}

/* Another kind of source, probed by the test: counts the probes. */
static int probes[SOURCES];
static bool stale[SOURCES];

static bool counting_changed(const irpa_source *source, bool *nameless, char *why,
                             size_t why_size) {
    size_t index = source->fd == -2 ? 0 : 1;  /* the fakes' descriptors, below */
    probes[index]++;
    *nameless = false;
    if (stale[index]) snprintf(why, why_size, "ETag changed");
    return stale[index];
}

static const irpa_freshness_probe counting_probe = {.changed = counting_changed};

/* A read touching a source in several segments probes it once; a probe
 * plugged in for another kind of source gets the same policy. */
static void test_one_probe_per_source_per_read(void **state) {
    fixture *f = *state;
    irpa_source fakes[SOURCES] = {{.path = "http://a", .fd = -2}, {.path = "http://b", .fd = -3}};
    irpa_archive archive = {.sources = fakes, .source_count = SOURCES};
    irpa_freshness freshness;
    assert_int_equal(irpa_freshness_init(&freshness, &archive), 0);
    freshness.clock = f->freshness.clock;
    for (int i = 0; i < SOURCES; i++) freshness.sources[i].probe = &counting_probe;
    irpa_segment segments[5] = {
        {.kind = IRPA_SEGMENT_SOURCE, .length = 1, .source = 0},
        {.kind = IRPA_SEGMENT_ZERO, .length = 1},
        {.kind = IRPA_SEGMENT_SOURCE, .length = 1, .source = 1},
        {.kind = IRPA_SEGMENT_SOURCE, .length = 1, .source = 0},
        {.kind = IRPA_SEGMENT_SOURCE, .length = 1, .source = 1},
    };
    assert_int_equal(irpa_freshness_check(&freshness, segments, 5, false, record, f), 0);
    assert_int_equal(probes[0], 1);
    assert_int_equal(probes[1], 1);
    stale[1] = true;
    assert_int_equal(irpa_freshness_check(&freshness, segments, 5, false, record, f), -1);
    assert_int_equal(f->report_count, 1);
    assert_int_equal(f->reports[0].source, 1);
    assert_string_equal(f->reports[0].why, "ETag changed");
    irpa_freshness_free(&freshness);
}

/* A URL source's stand-in: whether a read found its object replaced. */
static bool fake_replaced;

static int fake_url_changed(struct irpa_url_source *remote, char *why, size_t why_size) {
    (void)remote;
    if (fake_replaced) snprintf(why, why_size, "was replaced on the server");
    return fake_replaced;
}

static const irpa_remote_ops fake_url_ops = {.changed = fake_url_changed};

/* A URL source gets the URL probe (no fstat of its -1 descriptor, no name
 * to look up): unchanged until a read found the object replaced, then
 * stale and reported once. */
static void test_url_source_is_probed_by_what_reads_found(void **state) {
    fixture *f = *state;
    irpa_source url = {.path = "http://h/m.gguf", .fd = -1,
                       .remote = (struct irpa_url_source *)f, .remote_ops = &fake_url_ops};
    irpa_archive archive = {.sources = &url, .source_count = 1};
    irpa_freshness freshness;
    assert_int_equal(irpa_freshness_init(&freshness, &archive), 0);
    freshness.clock = f->freshness.clock;
    assert_ptr_equal(freshness.sources[0].probe, &irpa_url_probe);
    irpa_segment segment = {.kind = IRPA_SEGMENT_SOURCE, .length = 16, .source = 0};
    fake_replaced = false;
    assert_int_equal(irpa_freshness_check(&freshness, &segment, 1, false, record, f), 0);
    fake_ms += 10 * IRPA_FRESHNESS_NAME_CHECK_MS;
    assert_int_equal(irpa_freshness_check(&freshness, &segment, 1, false, record, f), 0);
    assert_int_equal(f->report_count, 0);
    fake_replaced = true;
    assert_int_equal(irpa_freshness_check(&freshness, &segment, 1, false, record, f), -1);
    assert_int_equal(irpa_freshness_check(&freshness, &segment, 1, false, record, f), -1);
    assert_int_equal(f->report_count, 1);
    assert_int_equal(f->reports[0].what, IRPA_SOURCE_CHANGED);
    assert_string_equal(f->reports[0].why, "was replaced on the server");
    irpa_freshness_free(&freshness);
}

#define BUILD_SOURCE_BYTES (80u << 20)  /* more than one chunk of irpa build (64 MiB) */

/* irpa_progress_fn: after the first chunk, does to the source what
 * `context` says ("truncate" or "rename"). */
static int change_source(uint64_t done, uint64_t total, void *context) {
    (void)total;
    const char *const *what = context;
    if (done >= BUILD_SOURCE_BYTES) return 0;
    if (strcmp(what[0], "truncate") == 0) assert_int_equal(truncate(what[1], 1 << 20), 0);
    else assert_int_equal(rename(what[1], what[2]), 0);
    return 0;
}

/* irpa build: `change` ("truncate" or "rename") happens to the source
 * during the build; returns irpa_build_write_fd's result, errors in
 * `errors`. */
static int build_while(fixture *f, const char *change, irpa_errors *errors) {
    char manifest[128], moved[160], out[128];
    snprintf(manifest, sizeof manifest, "%s/m.yaml", f->directory);
    snprintf(moved, sizeof moved, "%s/moved", f->directory);
    snprintf(out, sizeof out, "%s/out.irpa", f->directory);
    assert_int_equal(truncate(f->paths[0], BUILD_SOURCE_BYTES), 0);
    FILE *text = fopen(manifest, "w");
    assert_non_null(text);
    fprintf(text, "sources:\n  s: %s\nentries:\n  - name: a\n    source: s\n    offset: 0\n"
                  "    length: %u\n", f->paths[0], BUILD_SOURCE_BYTES);
    assert_int_equal(fclose(text), 0);
    irpa_archive *archive = irpa_open_manifest(manifest, errors);
    assert_non_null(archive);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    const char *what[3] = {change, f->paths[0], moved};
    int status = irpa_build_write_fd(archive, fd, "out.irpa", change_source, what, errors);
    close(fd);
    irpa_archive_free(archive);
    unlink(out);
    unlink(manifest);
    return status;
}

/* irpa build checks its sources by the same policy: one truncated while
 * it is copied fails the build, one renamed away does not (its descriptor
 * still reads the bytes it had). */
static void test_build_checks_sources_by_the_policy(void **state) {
    fixture *f = *state;
    irpa_errors errors = {0};
    assert_int_equal(build_while(f, "truncate", &errors), -1);
    assert_int_equal(errors.count, 1);
    char expected[256];
    snprintf(expected, sizeof expected,
             "out.irpa: source '%s' changed while building: truncated from %u to %u bytes",
             f->paths[0], BUILD_SOURCE_BYTES, 1u << 20);
    assert_string_equal(errors.messages[0], expected);
    irpa_errors_clear(&errors);
    assert_int_equal(build_while(f, "rename", &errors), 0);
    assert_int_equal(errors.count, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unchanged_sources_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_source_fails_and_is_reported_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trust_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_source_is_reported_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_source_is_found_by_a_due_name_check, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_probe_per_source_per_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_source_is_probed_by_what_reads_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_build_checks_sources_by_the_policy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
