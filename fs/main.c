#include <stdio.h>
int main(void) {
    fprintf(stderr, "irpafs: not implemented yet\n");
    return 1;
}
