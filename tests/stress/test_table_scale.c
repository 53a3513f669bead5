/* test_table_scale: the mount table (fs/table.c) with thousands of
 * manifests, without mounting: every name is found by lookup and by inode,
 * the listing is complete and sorted, and after removing, changing and
 * adding hundreds at once the table holds exactly the new state. Scan
 * times are printed for information. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "table.h"

#define MANIFESTS 3000

static char directory[PATH_MAX];

/* Manifest m<index>.yaml: archive m<index>.irpa, one entry of `length` bytes. */
static void write_manifest(int index, int length) {
    char path[PATH_MAX + 64], temporary[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/m%05d.yaml", directory, index);
    snprintf(temporary, sizeof temporary, "%s/.m%05d.tmp", directory, index);
    FILE *out = fopen(temporary, "w");
    assert_non_null(out);
    fprintf(out, "sources:\n  s: {path: src.bin, format: raw}\n"
                 "entries:\n  - {name: a, source: s, offset: 0, length: %d}\n", length);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(chmod(temporary, 0644), 0);
    assert_int_equal(rename(temporary, path), 0);
}

static void remove_manifest(int index) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/m%05d.yaml", directory, index);
    assert_int_equal(unlink(path), 0);
}

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static long timed_scan(irpafs_table *table, const char *what) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    irpafs_changes changes = {0};
    long served = irpafs_table_scan(table, &changes);
    printf("%s: %ld served, %zu names changed, %.3f s\n", what, served, changes.count,
           seconds_since(&start));
    irpafs_changes_clear(&changes);
    return served;
}

/* The length of the one entry of the archive served as m<index>.irpa, by
 * lookup and then by inode (both must agree); -1 when not served. */
static long served_length(irpafs_table *table, int index) {
    char name[32];
    snprintf(name, sizeof name, "m%05d.irpa", index);
    struct stat attributes;
    if (irpafs_table_lookup(table, name, &attributes) != 0) return -1;
    irpafs_version *file = irpafs_table_get(table, (uint64_t)attributes.st_ino);
    assert_non_null(file);
    assert_string_equal(file->archive->name, name);
    long length = (long)file->archive->entries[0].length;
    irpafs_version_put(file);
    irpafs_table_forget(table, (uint64_t)attributes.st_ino, 1);
    return length;
}

static int length_of(int index, int variant) { return 1 + (index * 7 + variant * 13) % 4000; }

static void test_thousands_of_manifests(void **state) {
    (void)state;
    irpa_errors errors = {0};
    irpafs_table *table = irpafs_table_new(directory, &errors);
    assert_non_null(table);
    for (int i = 0; i < MANIFESTS; i++) write_manifest(i, length_of(i, 0));
    assert_int_equal(timed_scan(table, "first scan"), MANIFESTS);
    assert_int_equal(timed_scan(table, "rescan, nothing changed"), MANIFESTS);
    for (int i = 0; i < MANIFESTS; i++) assert_int_equal(served_length(table, i), length_of(i, 0));

    irpafs_dirent *entries = NULL;
    long listed = irpafs_table_list(table, &entries);
    assert_int_equal(listed, MANIFESTS);
    for (long i = 0; i < listed; i++) {
        if (i > 0) assert_true(strcmp(entries[i - 1].name, entries[i].name) < 0);
        irpafs_version *file = irpafs_table_get(table, entries[i].inode);
        assert_non_null(file);
        assert_string_equal(file->archive->name, entries[i].name);
        irpafs_version_put(file);
    }
    irpafs_dirents_free(entries, (size_t)listed);

    /* A third removed, a fifth changed, 500 added, in one scan. */
    for (int i = 0; i < MANIFESTS; i += 3) remove_manifest(i);
    for (int i = 1; i < MANIFESTS; i += 5)
        if (i % 3 != 0) write_manifest(i, length_of(i, 1));
    for (int i = MANIFESTS; i < MANIFESTS + 500; i++) write_manifest(i, length_of(i, 0));
    long expected = 0;
    for (int i = 0; i < MANIFESTS + 500; i++) expected += i >= MANIFESTS || i % 3 != 0;
    assert_int_equal(timed_scan(table, "after removing, changing, adding"), expected);
    for (int i = 0; i < MANIFESTS + 500; i++) {
        long want = i < MANIFESTS && i % 3 == 0 ? -1
                    : i < MANIFESTS && i % 5 == 1 ? length_of(i, 1)
                                                  : length_of(i, 0);
        assert_int_equal(served_length(table, i), want);
    }
    listed = irpafs_table_list(table, &entries);
    assert_int_equal(listed, expected);
    irpafs_dirents_free(entries, (size_t)listed);
    uint64_t files = 0, bytes = 0;
    irpafs_table_totals(table, &files, &bytes);
    assert_int_equal(files, (uint64_t)expected);

    /* A newcomer claims a served name: it is refused, the served one stays. */
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/zz.yaml", directory);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fprintf(out, "archive: m00002.irpa\nentries: []\n");
    assert_int_equal(fclose(out), 0);
    assert_int_equal(timed_scan(table, "with a duplicate name"), expected);
    assert_int_equal(served_length(table, 2), length_of(2, 0));
    assert_int_equal(served_length(table, 4), length_of(4, 0));
    irpafs_table_free(table);
}

static int setup(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(directory, sizeof directory, "%s/test_table_scale.XXXXXX", tmp);
    if (!mkdtemp(directory)) return -1;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/src.bin", directory);
    FILE *out = fopen(path, "wb");
    if (!out) return -1;
    for (int i = 0; i < 4096; i++) fputc(i & 0xff, out);
    fclose(out);
    return chmod(path, 0644);
}

static int teardown(void **state) {
    (void)state;
    char command[PATH_MAX + 16];
    snprintf(command, sizeof command, "rm -rf '%s'", directory);
    return system(command) == 0 ? 0 : -1;
}

int main(void) {
    irpafs_log_open(true, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_thousands_of_manifests, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
