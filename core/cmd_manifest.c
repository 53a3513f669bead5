#include <stdio.h>
#include "commands.h"
int irpa_cmd_manifest(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "irpa manifest: not implemented yet\n");
    return 1;
}
