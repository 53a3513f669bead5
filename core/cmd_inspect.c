#include <stdio.h>
#include "commands.h"
int irpa_cmd_inspect(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "irpa inspect: not implemented yet\n");
    return 1;
}
