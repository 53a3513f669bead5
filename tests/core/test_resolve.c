/* Unit tests of manifest resolution (core/resolve.c): each distinct source
 * file is opened once per resolve, however many keys, paths or index
 * entries name it. */
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_file_is_opened_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
