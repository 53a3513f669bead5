/* irpa: build, inspect and write manifests for IREE parameter archives. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

#ifndef IRPA_VERSION
#define IRPA_VERSION "0.1.0"
#endif

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"build", irpa_cmd_build, "build MANIFEST -o OUT     write the archive a manifest describes"},
    {"inspect", irpa_cmd_inspect, "inspect FILE.irpa         list and check an archive (--json, --manifest M)"},
    {"manifest", irpa_cmd_manifest, "manifest SOURCE... [-o M] write a manifest for GGUF/safetensors files"},
    {"check", irpa_cmd_check, "check MANIFEST...         report every error in manifests, or a summary"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: irpa COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  irpa %s\n", commands[i].summary);
    fprintf(out, "\n'irpa COMMAND --help' for a command's options. Exit status: 0 ok, "
                 "1 system error, 2 bad usage or input.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return IRPA_EXIT_BAD_INPUT;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return IRPA_EXIT_OK;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("irpa %s\n", IRPA_VERSION);
        return IRPA_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "irpa: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return IRPA_EXIT_BAD_INPUT;
}
