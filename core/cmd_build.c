#include <stdio.h>
#include "commands.h"
int irpa_cmd_build(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "irpa build: not implemented yet\n");
    return 1;
}
