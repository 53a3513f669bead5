/* test_table: the mount table (fs/table.c) without mounting: which
 * manifests are served, names, inode numbers, versions on reload, lookup
 * counts and references. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "log.h"
#include "table.h"

/* A temporary directory with a 10000-byte source file "src.bin". */
typedef struct fixture {
    char directory[PATH_MAX];  /* the manifest directory, absolute */
} fixture;

static void write_file(const fixture *f, const char *name, const char *text) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", f->directory, name);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    assert_int_equal(fclose(out), 0);
    /* readable by all whatever the umask: the archive's mode follows it */
    assert_int_equal(chmod(path, 0644), 0);
}

/* A manifest of one data entry of `length` bytes, optionally naming its archive. */
static void write_manifest(const fixture *f, const char *name, const char *archive, int length) {
    char text[512];
    snprintf(text, sizeof text,
             "%s%s%s"
             "sources:\n  s0: src.bin\n"
             "entries:\n  - name: a\n    source: s0\n    offset: 0\n    length: %d\n",
             archive ? "archive: " : "", archive ? archive : "", archive ? "\n" : "", length);
    write_file(f, name, text);
}

static void remove_file(const fixture *f, const char *name) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", f->directory, name);
    assert_int_equal(unlink(path), 0);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(f->directory, sizeof f->directory, "%s/test_table.XXXXXX", tmp);
    if (!mkdtemp(f->directory)) return -1;
    char source[4096];
    memset(source, 0x5a, sizeof source);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/src.bin", f->directory);
    FILE *out = fopen(path, "wb");
    if (!out) return -1;
    for (int i = 0; i < 3; i++) fwrite(source, 1, sizeof source, out);
    fclose(out);
    if (chmod(path, 0644) != 0) return -1;  /* whatever the umask */
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    char command[PATH_MAX + 16];
    snprintf(command, sizeof command, "rm -rf '%s'", f->directory);
    int status = system(command);
    free(f);
    return status == 0 ? 0 : -1;
}

static irpafs_table *open_table(const char *path) {
    irpa_errors errors = {0};
    irpafs_table *table = irpafs_table_new(path, &errors);
    irpa_errors_clear(&errors);
    return table;
}

static bool changed(const irpafs_changes *changes, const char *name) {
    for (size_t i = 0; i < changes->count; i++)
        if (strcmp(changes->names[i], name) == 0) return true;
    return false;
}

static void test_serves_valid_skips_invalid_hidden_and_duplicates(void **state) {
    fixture *f = *state;
    write_manifest(f, "one.yaml", NULL, 64);
    write_manifest(f, "two.yml", "second.irpa", 128);
    write_file(f, "bad.yaml", "entries: [\n");
    write_manifest(f, "dup1.yaml", "same.irpa", 64);
    write_manifest(f, "dup2.yaml", "same.irpa", 64);
    write_manifest(f, ".hidden.yaml", NULL, 64);
    write_file(f, "notes.txt", "not a manifest");
    irpafs_table *table = open_table(f->directory);
    assert_non_null(table);
    assert_false(irpafs_table_is_single(table));
    irpafs_changes changes = {0};
    assert_int_equal(irpafs_table_scan(table, &changes), 2);
    assert_true(changed(&changes, "one.irpa"));
    assert_true(changed(&changes, "second.irpa"));
    irpafs_changes_clear(&changes);
    irpafs_dirent *entries = NULL;
    assert_int_equal(irpafs_table_list(table, &entries), 2);
    assert_string_equal(entries[0].name, "one.irpa");
    assert_string_equal(entries[1].name, "second.irpa");
    irpafs_dirents_free(entries, 2);
    /* a rescan with nothing changed changes nothing */
    assert_int_equal(irpafs_table_scan(table, &changes), 2);
    assert_int_equal(changes.count, 0);
    /* removing one duplicate serves the other */
    remove_file(f, "dup2.yaml");
    assert_int_equal(irpafs_table_scan(table, &changes), 3);
    assert_true(changed(&changes, "same.irpa"));
    irpafs_changes_clear(&changes);
    irpafs_table_free(table);
}

static void test_lookup_attributes_and_stable_inodes(void **state) {
    fixture *f = *state;
    write_manifest(f, "one.yaml", NULL, 64);
    /* everyone can reach src.bin: the archive is 0444 (security.h) */
    assert_int_equal(chmod(f->directory, 0755), 0);
    irpafs_table *table = open_table(f->directory);
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    struct stat st;
    assert_int_equal(irpafs_table_lookup(table, "one.irpa", &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0444);
    assert_int_equal(st.st_size, 4096);
    assert_int_equal(st.st_blksize, IRPAFS_BLOCK_SIZE);
    assert_true((uint64_t)st.st_ino > IRPAFS_ROOT_INODE);
    assert_true((uint64_t)st.st_ino < (UINT64_C(1) << 63));
    assert_int_equal(irpafs_table_lookup(table, "missing.irpa", &st), -1);
    /* another table (another mount) gives the same inode number */
    irpafs_table *again = open_table(f->directory);
    assert_int_equal(irpafs_table_scan(again, NULL), 1);
    struct stat st2;
    assert_int_equal(irpafs_table_lookup(again, "one.irpa", &st2), 0);
    assert_int_equal(st.st_ino, st2.st_ino);
    irpafs_table_free(again);
    irpafs_table_free(table);
}

static void test_reload_makes_a_new_version_and_keeps_the_old(void **state) {
    fixture *f = *state;
    write_manifest(f, "one.yaml", NULL, 64);
    irpafs_table *table = open_table(f->directory);
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    struct stat old_attributes;
    assert_int_equal(irpafs_table_lookup(table, "one.irpa", &old_attributes), 0);
    uint64_t old_inode = (uint64_t)old_attributes.st_ino;
    irpafs_version *opened = irpafs_table_get(table, old_inode);  /* as open() does */
    assert_non_null(opened);

    write_manifest(f, "one.yaml", NULL, 8192);  /* new size: 8192 of data -> 12288 */
    irpafs_changes changes = {0};
    assert_int_equal(irpafs_table_scan(table, &changes), 1);
    assert_true(changed(&changes, "one.irpa"));
    irpafs_changes_clear(&changes);
    struct stat new_attributes;
    assert_int_equal(irpafs_table_lookup(table, "one.irpa", &new_attributes), 0);
    assert_int_not_equal(new_attributes.st_ino, old_inode);
    assert_int_equal(new_attributes.st_size, 12288);

    /* the kernel still knows the old inode: it is still there */
    irpafs_version *old = irpafs_table_get(table, old_inode);
    assert_ptr_equal(old, opened);
    irpafs_version_put(old);
    /* forgotten by the kernel: gone from the table, alive for the open handle */
    irpafs_table_forget(table, old_inode, 1);
    assert_null(irpafs_table_get(table, old_inode));
    assert_int_equal(opened->archive->file_size, 4096);
    irpafs_version_put(opened);
    irpafs_table_free(table);
}

static void test_removed_manifest_is_unlisted(void **state) {
    fixture *f = *state;
    write_manifest(f, "one.yaml", NULL, 64);
    write_manifest(f, "two.yaml", NULL, 64);
    irpafs_table *table = open_table(f->directory);
    assert_int_equal(irpafs_table_scan(table, NULL), 2);
    remove_file(f, "two.yaml");
    irpafs_changes changes = {0};
    assert_int_equal(irpafs_table_scan(table, &changes), 1);
    assert_true(changed(&changes, "two.irpa"));
    irpafs_changes_clear(&changes);
    struct stat st;
    assert_int_equal(irpafs_table_lookup(table, "two.irpa", &st), -1);
    uint64_t files = 0, bytes = 0;
    irpafs_table_totals(table, &files, &bytes);
    assert_int_equal(files, 1);
    assert_int_equal(bytes, 4096);
    irpafs_table_free(table);
}

/* The size of the archive listed as `name`, or -1 when it is not listed. */
static long long listed_size(irpafs_table *table, const char *name) {
    struct stat st;
    if (irpafs_table_lookup(table, name, &st) != 0) return -1;
    return (long long)st.st_size;
}

static void test_failing_manifest_keeps_its_last_good_version(void **state) {
    fixture *f = *state;
    write_manifest(f, "one.yaml", NULL, 64);
    write_file(f, "never.yaml", "entries: [\n");
    irpafs_table *table = open_table(f->directory);
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    assert_int_equal(listed_size(table, "never.irpa"), -1);  /* never good: not served */
    struct stat good;
    assert_int_equal(irpafs_table_lookup(table, "one.irpa", &good), 0);
    /* a typo: the version served so far stays, unchanged */
    write_file(f, "one.yaml", "exclud: x\nsources:\n  s0: src.bin\nentries: []\n");
    irpafs_changes changes = {0};
    assert_int_equal(irpafs_table_scan(table, &changes), 1);
    assert_int_equal(changes.count, 0);
    struct stat kept;
    assert_int_equal(irpafs_table_lookup(table, "one.irpa", &kept), 0);
    assert_int_equal(kept.st_ino, good.st_ino);
    assert_int_equal(kept.st_size, 4096);
    /* fixed: the new version replaces it */
    write_manifest(f, "one.yaml", NULL, 8192);
    assert_int_equal(irpafs_table_scan(table, &changes), 1);
    assert_true(changed(&changes, "one.irpa"));
    irpafs_changes_clear(&changes);
    assert_int_equal(listed_size(table, "one.irpa"), 12288);
    /* broken again, then removed: the archive goes with its manifest */
    write_file(f, "one.yaml", "entries: [\n");
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    assert_int_equal(listed_size(table, "one.irpa"), 12288);
    remove_file(f, "one.yaml");
    assert_int_equal(irpafs_table_scan(table, NULL), 0);
    assert_int_equal(listed_size(table, "one.irpa"), -1);
    irpafs_table_free(table);
}

static void test_name_clash_first_served_wins(void **state) {
    fixture *f = *state;
    write_manifest(f, "a.yaml", "x.irpa", 64);
    irpafs_table *table = open_table(f->directory);
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    /* a newcomer claiming the name is refused; the served one stays */
    write_manifest(f, "b.yaml", "x.irpa", 8192);
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    assert_int_equal(listed_size(table, "x.irpa"), 4096);
    /* the served one reloads: it keeps the name */
    write_manifest(f, "a.yaml", "x.irpa", 128);
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    assert_int_equal(listed_size(table, "x.irpa"), 4096);
    /* ... and while it fails to load */
    write_file(f, "a.yaml", "entries: [\n");
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    assert_int_equal(listed_size(table, "x.irpa"), 4096);
    /* gone: the other one takes the name */
    remove_file(f, "a.yaml");
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    assert_int_equal(listed_size(table, "x.irpa"), 12288);
    irpafs_table_free(table);

    /* none served yet (a new mount): the manifest named after it wins... */
    write_manifest(f, "x.yaml", "x.irpa", 64);
    table = open_table(f->directory);
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    assert_int_equal(listed_size(table, "x.irpa"), 4096);
    irpafs_table_free(table);
    /* ... and when none or two are named after it, none is served */
    write_manifest(f, "x.yml", "x.irpa", 64);
    table = open_table(f->directory);
    assert_int_equal(irpafs_table_scan(table, NULL), 0);
    irpafs_table_free(table);
}

/* A load gate whose answer is *context. */
static bool gate_answer(void *context, const char *file_name, const struct stat *st) {
    (void)file_name;
    (void)st;
    return *(const bool *)context;
}

static void test_gate_holds_back_changed_manifests(void **state) {
    fixture *f = *state;
    write_manifest(f, "one.yaml", NULL, 64);
    write_manifest(f, "gone.yaml", NULL, 64);
    irpafs_table *table = open_table(f->directory);
    assert_int_equal(irpafs_table_scan(table, NULL), 2);
    bool open_gate = false;
    write_manifest(f, "one.yaml", NULL, 8192);
    write_manifest(f, "new.yaml", NULL, 64);
    remove_file(f, "gone.yaml");
    /* held back: the old version stays, the new manifest waits; removal is not held */
    assert_int_equal(irpafs_table_scan_gated(table, gate_answer, &open_gate, NULL), 1);
    assert_int_equal(listed_size(table, "one.irpa"), 4096);
    assert_int_equal(listed_size(table, "new.irpa"), -1);
    assert_int_equal(listed_size(table, "gone.irpa"), -1);
    assert_int_equal(irpafs_table_scan_gated(table, gate_answer, &open_gate, NULL), 1);
    /* let through */
    open_gate = true;
    assert_int_equal(irpafs_table_scan_gated(table, gate_answer, &open_gate, NULL), 2);
    assert_int_equal(listed_size(table, "one.irpa"), 12288);
    assert_int_equal(listed_size(table, "new.irpa"), 4096);
    /* an unchanged manifest is not asked about, and the ungated scan loads all */
    open_gate = false;
    write_manifest(f, "new.yaml", NULL, 8192);
    assert_int_equal(irpafs_table_scan(table, NULL), 2);
    assert_int_equal(listed_size(table, "new.irpa"), 12288);
    irpafs_table_free(table);
}

static void test_single_manifest_file(void **state) {
    fixture *f = *state;
    write_manifest(f, "one.yaml", NULL, 64);
    write_manifest(f, "two.yaml", NULL, 64);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/two.yaml", f->directory);
    irpafs_table *table = open_table(path);
    assert_non_null(table);
    assert_true(irpafs_table_is_single(table));
    assert_string_equal(irpafs_table_directory(table), f->directory);
    assert_true(irpafs_table_is_manifest_name(table, "two.yaml"));
    assert_false(irpafs_table_is_manifest_name(table, "one.yaml"));
    assert_int_equal(irpafs_table_scan(table, NULL), 1);
    struct stat st;
    assert_int_equal(irpafs_table_lookup(table, "two.irpa", &st), 0);
    assert_int_equal(irpafs_table_lookup(table, "one.irpa", &st), -1);
    irpafs_table_free(table);
}

static void test_missing_path_is_refused(void **state) {
    fixture *f = *state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/nowhere", f->directory);
    irpa_errors errors = {0};
    assert_null(irpafs_table_new(path, &errors));
    assert_int_equal(errors.count, 1);
    assert_non_null(strstr(errors.messages[0], "No such file or directory"));
    irpa_errors_clear(&errors);
}

int main(void) {
    irpafs_log_open(true, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_serves_valid_skips_invalid_hidden_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_attributes_and_stable_inodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_makes_a_new_version_and_keeps_the_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_manifest_is_unlisted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_manifest_keeps_its_last_good_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_clash_first_served_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gate_holds_back_changed_manifests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_manifest_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_path_is_refused, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    irpafs_log_close();
    return failed;
}
