/* test_security: the archive permission rule and the manifest checks of
 * fs/security.c, without mounting and without other users (runs as any
 * user): the manifest and its sources belong to whoever runs the test, so
 * only modes change, except in the cases run as root only, which give
 * files other owners and groups (bare ids, no accounts) to check the group
 * and other clauses one by one; tests/fs/security.sh covers owners,
 * groups, other users and the kernel's checks, and lists which case
 * catches each clause of the rule. */
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
#include "security.h"

typedef struct fixture {
    char directory[PATH_MAX];  /* a 0755 temporary directory */
    char manifest[PATH_MAX + 32];  /* its m.yaml */
} fixture;

/* Whether every directory above `path` lets everyone search it (else the
 * expected modes below do not hold). */
static bool ancestors_searchable(const char *path) {
    char prefix[PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s", path);
    for (char *slash = strrchr(prefix, '/'); slash; slash = strrchr(prefix, '/')) {
        *slash = '\0';
        struct stat st;
        if (stat(prefix[0] ? prefix : "/", &st) != 0 || !(st.st_mode & S_IXOTH) ||
            !(st.st_mode & S_IXGRP))
            return false;
    }
    return true;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(f->directory, sizeof f->directory, "%s/test_security.XXXXXX", tmp);
    if (!mkdtemp(f->directory) || chmod(f->directory, 0755) != 0) return -1;
    snprintf(f->manifest, sizeof f->manifest, "%s/m.yaml", f->directory);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    char command[2 * PATH_MAX + 64];
    snprintf(command, sizeof command, "chmod -R u+rwx '%s'; rm -rf '%s'", f->directory,
             f->directory);
    int status = system(command);
    free(f);
    return status == 0 ? 0 : -1;
}

/* Writes `path` (4096 bytes) with `mode`. */
static void write_source(const char *path, mode_t mode) {
    unlink(path);  /* a previous case may have left it read-only */
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    for (int i = 0; i < 4096; i++) fputc(i & 0xff, out);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* m.yaml with one range of each of `count` sources (relative to the
 * directory), `mode`. */
static void write_manifest_of(const fixture *f, const char *const *sources, size_t count,
                              mode_t mode) {
    FILE *out = fopen(f->manifest, "w");
    assert_non_null(out);
    fprintf(out, "sources:\n");
    for (size_t i = 0; i < count; i++) fprintf(out, "  s%zu: %s\n", i, sources[i]);
    fprintf(out, "entries:\n");
    for (size_t i = 0; i < count; i++)
        fprintf(out, "  - name: a%zu\n    source: s%zu\n    offset: 0\n    length: 1024\n", i, i);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(chmod(f->manifest, mode), 0);
}

/* m.yaml with one range of `source` (relative to the directory), `mode`. */
static void write_manifest(const fixture *f, const char *source, mode_t mode) {
    write_manifest_of(f, &source, 1, mode);
}

/* Loads m.yaml; returns the mode shown, or -1 when it is refused. */
static int loaded_mode(const fixture *f, irpafs_access *access) {
    irpa_errors errors = {0};
    irpa_archive *archive = irpafs_load_manifest(f->manifest, access, NULL, &errors);
    irpa_errors_clear(&errors);
    if (!archive) return -1;
    irpa_archive_free(archive);
    return (int)access->mode;
}

static void test_mode_follows_the_source(void **state) {
    fixture *f = *state;
    if (!ancestors_searchable(f->directory)) skip();
    char source[PATH_MAX + 32];
    snprintf(source, sizeof source, "%s/s.bin", f->directory);
    static const struct {
        mode_t source_mode;
        int archive_mode;
    } cases[] = {
        {0644, 0444}, {0640, 0440}, {0600, 0400}, {0444, 0444},
        {0604, 0404},  /* the source's group (the archive's) may not read it: neither here */
        {0040, 0440},  /* only its group may read it: refused to a non-root owner */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_source(source, cases[i].source_mode);
        write_manifest(f, "s.bin", 0644);
        irpafs_access access;
        int mode = loaded_mode(f, &access);
        if (cases[i].source_mode == 0040 && getuid() != 0) {
            assert_int_equal(mode, -1);  /* its owner cannot open it at all */
            continue;
        }
        if (mode != cases[i].archive_mode)
            fail_msg("source %04o: archive %04o, expected %04o", (unsigned)cases[i].source_mode,
                     (unsigned)mode, (unsigned)cases[i].archive_mode);
        struct stat st;
        assert_int_equal(stat(source, &st), 0);
        assert_int_equal(access.uid, getuid());
        assert_int_equal(access.gid, st.st_gid);
    }
}

static void test_mode_follows_directories_and_the_manifest(void **state) {
    fixture *f = *state;
    if (!ancestors_searchable(f->directory)) skip();
    char directory[PATH_MAX + 32], source[PATH_MAX + 64];
    snprintf(directory, sizeof directory, "%s/sub", f->directory);
    snprintf(source, sizeof source, "%s/s.bin", directory);
    assert_int_equal(mkdir(directory, 0755), 0);
    write_source(source, 0644);
    static const struct {
        mode_t directory_mode;
        mode_t manifest_mode;
        int archive_mode;
    } cases[] = {
        {0755, 0644, 0444}, {0711, 0644, 0444}, {0750, 0644, 0440}, {0700, 0644, 0400},
        {0754, 0644, 0440},  /* others may list it, not search it */
        {0755, 0640, 0440}, {0755, 0600, 0400}, {0755, 0444, 0444},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(chmod(directory, cases[i].directory_mode), 0);
        write_manifest(f, "sub/s.bin", 0644);
        assert_int_equal(chmod(f->manifest, cases[i].manifest_mode), 0);
        irpafs_access access;
        int mode = loaded_mode(f, &access);
        if (mode != cases[i].archive_mode)
            fail_msg("directory %04o, manifest %04o: archive %04o, expected %04o",
                     (unsigned)cases[i].directory_mode, (unsigned)cases[i].manifest_mode,
                     (unsigned)mode, (unsigned)cases[i].archive_mode);
        assert_int_equal(unlink(f->manifest), 0);
    }
}

/* Ids with no account: the rule only compares them. */
#define GROUP_A 54321
#define GROUP_B 54322
#define GROUP_C 54323
#define SOMEONE 54324

/* Root only (it gives files other owners and groups): sources, and a
 * source's directory, whose group and other bits disagree or whose group
 * is not the archive's. The manifest's owner is root, so owner read is
 * always granted: these cases are about the group and other classes (the
 * clauses they check are listed at the top of tests/fs/security.sh, which
 * checks them again with real users and the kernel). */
static void test_group_and_other_bits_disagree(void **state) {
    fixture *f = *state;
    if (getuid() != 0 || !ancestors_searchable(f->directory)) skip();
    static const struct {
        mode_t first_mode;   /* first.bin, owned by first_uid:first_gid */
        uid_t first_uid;
        gid_t first_gid;
        mode_t second_mode;  /* second.bin, owned by root:second_gid; 0: none */
        gid_t second_gid;
        gid_t manifest_gid;  /* the archive's group when the sources' differ */
        int archive_mode;
    } cases[] = {
        {0604, 0, GROUP_A, 0644, 0, 0, 0400},  /* A's members may be others here */
        {0604, 0, GROUP_A, 0644, GROUP_A, 0, 0404},  /* A is the archive's group */
        {0604, 0, GROUP_A, 0644, GROUP_B, GROUP_A, 0404},  /* likewise, by the manifest */
        {0604, 0, GROUP_A, 0644, GROUP_B, GROUP_C, 0400},
        {0640, 0, GROUP_A, 0644, GROUP_B, GROUP_A, 0440},
        {0640, 0, GROUP_A, 0644, GROUP_B, GROUP_C, 0400},  /* C's members may not be A's */
        {0644, 0, GROUP_A, 0644, GROUP_B, 0, 0444},
        {0044, SOMEONE, GROUP_A, 0, 0, 0, 0400},  /* its owner may be in any class */
        {0600, SOMEONE, GROUP_A, 0, 0, 0, 0400},
        {0644, SOMEONE, GROUP_A, 0, 0, 0, 0444},
    };
    char first[PATH_MAX + 32], second[PATH_MAX + 32];
    snprintf(first, sizeof first, "%s/first.bin", f->directory);
    snprintf(second, sizeof second, "%s/second.bin", f->directory);
    static const char *const names[] = {"first.bin", "second.bin"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_source(first, 0600);
        assert_int_equal(chown(first, cases[i].first_uid, cases[i].first_gid), 0);
        assert_int_equal(chmod(first, cases[i].first_mode), 0);
        size_t count = 1;
        if (cases[i].second_mode) {
            write_source(second, 0600);
            assert_int_equal(chown(second, 0, cases[i].second_gid), 0);
            assert_int_equal(chmod(second, cases[i].second_mode), 0);
            count = 2;
        }
        write_manifest_of(f, names, count, 0644);
        assert_int_equal(chown(f->manifest, 0, cases[i].manifest_gid), 0);
        irpafs_access access;
        int mode = loaded_mode(f, &access);
        if (mode != cases[i].archive_mode)
            fail_msg("case %zu: %04o %u:%u, then %04o :%u, manifest :%u: archive %04o, "
                     "expected %04o", i, (unsigned)cases[i].first_mode,
                     (unsigned)cases[i].first_uid, (unsigned)cases[i].first_gid,
                     (unsigned)cases[i].second_mode, (unsigned)cases[i].second_gid,
                     (unsigned)cases[i].manifest_gid, (unsigned)mode,
                     (unsigned)cases[i].archive_mode);
    }
}

/* Root only: a directory above the source whose group is not the
 * archive's (a 0644 root:root source). */
static void test_directory_of_another_group(void **state) {
    fixture *f = *state;
    if (getuid() != 0 || !ancestors_searchable(f->directory)) skip();
    char directory[PATH_MAX + 32], source[PATH_MAX + 64];
    snprintf(directory, sizeof directory, "%s/sub", f->directory);
    snprintf(source, sizeof source, "%s/s.bin", directory);
    assert_int_equal(mkdir(directory, 0755), 0);
    write_source(source, 0644);
    assert_int_equal(chown(source, 0, 0), 0);
    static const struct {
        mode_t directory_mode;
        gid_t directory_gid;
        int archive_mode;
    } cases[] = {
        {0701, GROUP_A, 0400},  /* A's members, who may not search it, may be others */
        {0701, 0, 0404},        /* its group is the archive's */
        {0710, GROUP_A, 0400},
        {0711, GROUP_A, 0444},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(chown(directory, 0, cases[i].directory_gid), 0);
        assert_int_equal(chmod(directory, cases[i].directory_mode), 0);
        write_manifest(f, "sub/s.bin", 0644);
        assert_int_equal(chown(f->manifest, 0, 0), 0);
        irpafs_access access;
        int mode = loaded_mode(f, &access);
        if (mode != cases[i].archive_mode)
            fail_msg("directory %04o :%u: archive %04o, expected %04o",
                     (unsigned)cases[i].directory_mode, (unsigned)cases[i].directory_gid,
                     (unsigned)mode, (unsigned)cases[i].archive_mode);
    }
}

static void test_writable_manifest_is_refused(void **state) {
    fixture *f = *state;
    char source[PATH_MAX + 32];
    snprintf(source, sizeof source, "%s/s.bin", f->directory);
    write_source(source, 0644);
    static const mode_t refused[] = {0664, 0646, 0666, 0620, 0602};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        write_manifest(f, "s.bin", refused[i]);
        irpafs_access access;
        irpa_errors errors = {0};
        irpa_archive *archive = irpafs_load_manifest(f->manifest, &access, NULL, &errors);
        assert_null(archive);
        assert_int_equal(errors.count, 1);
        assert_non_null(strstr(errors.messages[0], "refused: the manifest is writable by"));
        assert_non_null(strstr(errors.messages[0], "chmod go-w"));
        assert_non_null(strstr(errors.messages[0], f->manifest));
        irpa_errors_clear(&errors);
    }
    write_manifest(f, "s.bin", 0644);
    irpafs_access access;
    assert_int_not_equal(loaded_mode(f, &access), -1);
}

static void test_changed_permissions_are_noticed(void **state) {
    fixture *f = *state;
    char source[PATH_MAX + 32];
    snprintf(source, sizeof source, "%s/s.bin", f->directory);
    write_source(source, 0644);
    write_manifest(f, "s.bin", 0644);
    irpafs_access access;
    irpa_errors errors = {0};
    irpa_archive *archive = irpafs_load_manifest(f->manifest, &access, NULL, &errors);
    assert_non_null(archive);
    access.checked_ms -= IRPAFS_ACCESS_CHECK_INTERVAL_MS;  /* as if checked long ago */
    assert_false(irpafs_access_changed(archive, &access));
    access.checked_ms -= IRPAFS_ACCESS_CHECK_INTERVAL_MS;
    assert_int_equal(chmod(source, 0640), 0);
    assert_true(irpafs_access_changed(archive, &access));
    /* and not again before the interval has passed */
    assert_false(irpafs_access_changed(archive, &access));
    access.checked_ms -= IRPAFS_ACCESS_CHECK_INTERVAL_MS;
    assert_int_equal(chmod(f->directory, 0700), 0);
    assert_true(irpafs_access_changed(archive, &access));
    irpa_archive_free(archive);
}

/* Whether an error of `errors` contains `text`. */
static bool some_error_has(const irpa_errors *errors, const char *text) {
    for (size_t i = 0; i < errors->count; i++)
        if (strstr(errors->messages[i], text)) return true;
    return false;
}

/* As root, a manifest of another owner whose source that owner cannot open
 * gets one more line saying whose rights opened it; the decision is made
 * by the error's kind, not its text: a source that opens but is refused
 * (a directory) named "cannot open source" gets no such line. */
static void test_owner_rights_are_named_when_a_source_cannot_open(void **state) {
    if (geteuid() != 0) skip();
    fixture *f = *state;
    char source[PATH_MAX + 64];
    snprintf(source, sizeof source, "%s/s.bin", f->directory);
    write_source(source, 0600);  /* root's: uid 4242 cannot open it */
    write_manifest(f, "s.bin", 0644);
    assert_int_equal(chown(f->manifest, 4242, 4242), 0);
    irpafs_access access;
    irpa_errors errors = {0};
    assert_null(irpafs_load_manifest(f->manifest, &access, NULL, &errors));
    assert_true(some_error_has(&errors, "cannot open source"));
    assert_true(some_error_has(&errors, "its sources are opened with the rights of its owner, "
                                        "uid 4242"));
    irpa_errors_clear(&errors);

    snprintf(source, sizeof source, "%s/cannot open source", f->directory);
    assert_int_equal(mkdir(source, 0755), 0);
    write_manifest(f, "cannot open source", 0644);
    assert_int_equal(chown(f->manifest, 4242, 4242), 0);
    assert_null(irpafs_load_manifest(f->manifest, &access, NULL, &errors));
    assert_true(some_error_has(&errors, "is not a regular file"));
    assert_false(some_error_has(&errors, "rights of its owner"));
    irpa_errors_clear(&errors);
}

int main(void) {
    irpafs_log_open(true, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode_follows_the_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode_follows_directories_and_the_manifest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_and_other_bits_disagree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_of_another_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable_manifest_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_permissions_are_noticed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_rights_are_named_when_a_source_cannot_open,
                                        setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    irpafs_log_close();
    return failed;
}
