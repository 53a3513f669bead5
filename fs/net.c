#include "net.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static long net_timeout_ms;  /* 0: core's default; set before the first scan */

int irpafs_net_set_timeout(const char *seconds) {
    char *end;
    errno = 0;
    long value = strtol(seconds, &end, 10);
    if (errno || end == seconds || *end || value < 1 || value > IRPAFS_NET_TIMEOUT_MAX_S)
        return -1;
    net_timeout_ms = value * 1000;
    return 0;
}

void irpafs_net_apply(irpa_manifest *manifest, uid_t owner) {
    manifest->net_timeout_ms = net_timeout_ms;
    manifest->no_environment = owner != geteuid();
}
