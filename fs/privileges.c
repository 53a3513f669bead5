/* privileges.c: what a mounted server gives up (security.h:
 * irpafs_drop_privileges). */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "security_internal.h"

static bool capability_kept(unsigned capability) {
    return capability == CAP_DAC_READ_SEARCH || capability == CAP_SETUID ||
           capability == CAP_SETGID || capability == CAP_SYS_ADMIN;
}

/* The highest capability number the kernel knows. */
static unsigned last_capability(void) {
    unsigned last = CAP_LAST_CAP;
    FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "r");
    if (file) {
        if (fscanf(file, "%u", &last) != 1 || last > 63) last = CAP_LAST_CAP;
        fclose(file);
    }
    return last;
}

int irpafs_drop_privileges(irpa_errors *errors) {
    /* A user's server holds no capability, and unmounts at exit through
     * the set-uid fusermount3, which no_new_privs would disarm. */
    if (geteuid() != 0) return 0;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return irpa_error(errors, "cannot set no_new_privs: %s", strerror(errno));
    uint64_t kept = 0;
    unsigned last = last_capability();
    for (unsigned capability = 0; capability <= last; capability++) {
        if (capability_kept(capability)) {
            kept |= UINT64_C(1) << capability;
            continue;
        }
        /* EPERM without CAP_SETPCAP (a bounding set already reduced by
         * whoever started us): the effective and permitted sets below still
         * go, and with no_new_privs nothing can be regained by exec. */
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL &&
            errno != EPERM)
            return irpa_error(errors, "cannot drop capability %u from the bounding set: %s",
                              capability, strerror(errno));
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0)
        return irpa_error(errors, "cannot read capabilities: %s", strerror(errno));
    for (int word = 0; word < 2; word++) {
        uint32_t mask = (uint32_t)(kept >> (32 * word));
        data[word].effective &= mask;
        data[word].permitted &= mask;
        data[word].inheritable = 0;
    }
    if (syscall(SYS_capset, &header, data) != 0)
        return irpa_error(errors, "cannot drop capabilities: %s", strerror(errno));
    return 0;
}

