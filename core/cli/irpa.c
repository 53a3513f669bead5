/* irpa: build, inspect and write manifests for IREE parameter archives. */
#include <stdio.h>
#include <string.h>

#include "commands.h"


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
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

/* The command called NAME, or -1. */
static int find_command(const char *name) {
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (!strcmp(name, commands[i].name)) return (int)i;
    return -1;
}

static void usage(FILE *out) {
    fprintf(out, "usage: irpa COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  irpa %s\n", commands[i].summary);
    fprintf(out, "\n'irpa help COMMAND' or 'irpa COMMAND --help' for a command's options;\n"
                 "irpa(1), irpa-manifest(5). Exit status: 0 ok, 1 system error, "
                 "2 bad usage or input.\n");
}

static void unknown_command(const char *name) {
    fprintf(stderr, "irpa: unknown command '%s'\n", name);
    usage(stderr);
}

/* irpa help [COMMAND]: the overview, or the command's own --help. */
static int help(int argc, char **argv) {
    if (argc < 3) {
        usage(stdout);
        return IRPA_EXIT_OK;
    }
    if (argc > 3) {
        fprintf(stderr, "irpa help: expected one COMMAND\n");
        return IRPA_EXIT_BAD_INPUT;
    }
    if (!strcmp(argv[2], "help")) {
        usage(stdout);
        return IRPA_EXIT_OK;
    }
    int command = find_command(argv[2]);
    if (command < 0) {
        unknown_command(argv[2]);
        return IRPA_EXIT_BAD_INPUT;
    }
    char help_option[] = "--help";
    char *help_argv[] = {argv[2], help_option, NULL};
    return commands[command].run(2, help_argv);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return IRPA_EXIT_BAD_INPUT;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return IRPA_EXIT_OK;
    }
    if (!strcmp(argv[1], "help")) return help(argc, argv);
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("irpa %s\n", IRPA_VERSION);
        return IRPA_EXIT_OK;
    }
    int command = find_command(argv[1]);
    if (command >= 0) return commands[command].run(argc - 1, argv + 1);
    unknown_command(argv[1]);
    return IRPA_EXIT_BAD_INPUT;
}
