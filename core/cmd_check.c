#include <stdio.h>
#include "commands.h"
int irpa_cmd_check(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "irpa check: not implemented yet\n");
    return 1;
}
