/* irpa check MANIFEST...: report every error of each manifest, or a summary. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "manifest.h"
#include "resolve.h"

static void print_summary(const char *path, const irpa_archive *archive) {
    size_t splats = archive->entry_count - archive->data_count;
    printf("%s: ok: %s, %zu entries (%zu data, %zu splat), %llu bytes, %zu source file%s\n",
           path, archive->name ? archive->name : "(unnamed)", archive->entry_count,
           archive->data_count, splats, (unsigned long long)archive->file_size,
           archive->source_count, archive->source_count == 1 ? "" : "s");
    for (size_t i = 0; i < archive->source_count; i++)
        printf("  source %s (%llu bytes)\n", archive->sources[i].path,
               (unsigned long long)archive->sources[i].size);
}

int irpa_cmd_check(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(argc < 2 ? stderr : stdout, "usage: irpa check MANIFEST...\n");
        return argc < 2 ? IRPA_EXIT_BAD_INPUT : IRPA_EXIT_OK;
    }
    int status = IRPA_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        irpa_errors errors = {0};
        irpa_archive *archive = irpa_open_manifest(argv[i], &errors);
        if (archive)
            print_summary(argv[i], archive);
        else
            status = IRPA_EXIT_BAD_INPUT;
        irpa_errors_print(&errors, stderr, NULL);
        irpa_errors_clear(&errors);
        irpa_archive_free(archive);
    }
    return status;
}
