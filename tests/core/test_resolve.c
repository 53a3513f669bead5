/* Unit tests of manifest resolution (core/resolve.c): each distinct source
 * file is opened once per resolve, however many keys, paths or index
 * entries name it, and however many files there are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolve.h"

typedef struct open_count {
    size_t calls;  /* open() calls the resolver asked for */
} open_count;

static int counting_open(void *context, const char *path, int flags) {
    ((open_count *)context)->calls++;
    return open(path, flags);
}

static size_t open_descriptors(void) {
    DIR *directory = opendir("/proc/self/fd");
    assert_non_null(directory);
    size_t count = 0;
    while (readdir(directory)) count++;
    closedir(directory);
    return count;
}

static void test_each_file_is_opened_once(void **state) {
    (void)state;
    const char *testdata = getenv("IRPA_TESTDATA");
    assert_non_null(testdata);
    char shards[4096], alias_directory[] = "/tmp/irpa-test-resolve-XXXXXX", alias[4200];
    snprintf(shards, sizeof shards, "%s/models/safetensors/sharded", testdata);
    assert_non_null(mkdtemp(alias_directory));
    snprintf(alias, sizeof alias, "%s/shard3.safetensors", alias_directory);
    char target[4200];
    snprintf(target, sizeof target, "%s/model-00003-of-00006.safetensors", shards);
    assert_int_equal(symlink(target, alias), 0);
    /* The index (whose 6 shards are opened through it), shard 3 by its
     * own path, by a symlink, and the index again under another key. */
    char *text = NULL;
    assert_true(asprintf(&text,
                         "sources:\n"
                         "  a: %s/model.safetensors.index.json\n"
                         "  b: %s\n"
                         "  c: %s\n"
                         "  d: %s/model.safetensors.index.json\n"
                         "entries:\n"
                         "  - source: a\n"
                         "  - {name: x, source: b, offset: 0, length: 8}\n"
                         "  - {name: y, source: c, offset: 8, length: 8}\n"
                         "  - {name: z, source: d, tensor: float32_35}\n",
                         shards, target, alias, shards) > 0);
    irpa_errors errors = {0};
    irpa_manifest *manifest = irpa_manifest_parse("/m.yaml", text, strlen(text), &errors);
    assert_non_null(manifest);
    size_t descriptors_before = open_descriptors();
    open_count count = {0};
    irpa_archive *archive = irpa_resolve_with(manifest, counting_open, &count, &errors);
    irpa_errors_print(&errors, stderr, NULL);
    assert_non_null(archive);
    assert_int_equal(archive->source_count, 7); /* the index and its 6 shards */
    assert_int_equal(open_descriptors(), descriptors_before + 7);
    /* a path opened before is not opened again; the symlink is, once,
     * and found to be shard 3 */
    assert_int_equal(count.calls, 8);
    for (size_t i = 0; i < archive->entry_count; i++)
        if (archive->entries[i].type == IRPA_ENTRY_DATA)
            assert_true(archive->entries[i].source < 7);
    irpa_archive_free(archive);
    assert_int_equal(open_descriptors(), descriptors_before);
    irpa_manifest_free(manifest);
    irpa_errors_clear(&errors);
    free(text);
    unlink(alias);
    rmdir(alias_directory);
}

/* Forty files, each named by its path, by the same path under a second
 * key and by a symlink: the tables of paths and of file identities grow
 * (and rehash) several times, and every file still has one descriptor. */
static void test_many_files_are_opened_once(void **state) {
    (void)state;
    enum { FILES = 40 };
    char directory[] = "/tmp/irpa-test-resolve-many-XXXXXX";
    assert_non_null(mkdtemp(directory));
    char *text = NULL;
    size_t text_length = 0;
    FILE *manifest_text = open_memstream(&text, &text_length);
    assert_non_null(manifest_text);
    fprintf(manifest_text, "sources:\n");
    for (int i = 0; i < FILES; i++) {
        char path[200], link[200];
        snprintf(path, sizeof path, "%s/file%d", directory, i);
        snprintf(link, sizeof link, "%s/link%d", directory, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "0123456789abcdef", 16), 16);
        close(fd);
        assert_int_equal(symlink(path, link), 0);
        fprintf(manifest_text, "  f%d: %s\n  g%d: %s\n  l%d: %s\n", i, path, i, path, i, link);
    }
    fprintf(manifest_text, "entries:\n");
    for (int i = 0; i < FILES; i++)
        fprintf(manifest_text,
                "  - {name: f%d, source: f%d, offset: 0, length: 4}\n"
                "  - {name: g%d, source: g%d, offset: 4, length: 4}\n"
                "  - {name: l%d, source: l%d, offset: 8, length: 4}\n",
                i, i, i, i, i, i);
    assert_int_equal(fclose(manifest_text), 0);
    irpa_errors errors = {0};
    irpa_manifest *manifest = irpa_manifest_parse("/m.yaml", text, text_length, &errors);
    irpa_errors_print(&errors, stderr, NULL);
    assert_non_null(manifest);
    open_count count = {0};
    irpa_archive *archive = irpa_resolve_with(manifest, counting_open, &count, &errors);
    irpa_errors_print(&errors, stderr, NULL);
    assert_non_null(archive);
    assert_int_equal(archive->source_count, FILES);
    /* each path once (the second key's path is known); each link once,
     * and found to be its file */
    assert_int_equal(count.calls, 2 * FILES);
    assert_int_equal(archive->entry_count, 3 * FILES);
    for (size_t i = 0; i < archive->entry_count; i += 3) {
        assert_int_equal(archive->entries[i + 1].source, archive->entries[i].source);
        assert_int_equal(archive->entries[i + 2].source, archive->entries[i].source);
        if (i) assert_int_not_equal(archive->entries[i].source, archive->entries[i - 3].source);
    }
    irpa_archive_free(archive);
    irpa_manifest_free(manifest);
    irpa_errors_clear(&errors);
    free(text);
    for (int i = 0; i < FILES; i++) {
        char path[200];
        snprintf(path, sizeof path, "%s/file%d", directory, i);
        unlink(path);
        snprintf(path, sizeof path, "%s/link%d", directory, i);
        unlink(path);
    }
    rmdir(directory);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_file_is_opened_once),
        cmocka_unit_test(test_many_files_are_opened_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
