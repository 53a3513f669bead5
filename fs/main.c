/* main.c: irpafs's command line, and the life of a mount.
 *
 *   irpafs [options] MANIFEST_DIR|MANIFEST.yaml MOUNTPOINT
 *
 * FUSE conventions (-f, -d, -s, -o opt[,opt], -h, -V), so that mount.fuse3,
 * /etc/fstab and systemd mount units can start it. Our own -o options are
 * taken out of the arguments first; libfuse's own connection options
 * (max_readahead=, no_splice_write, ...) next; what is left are mount options
 * for fuse_session_new. The mount is always read-only (`ro` is added last,
 * after whatever `rw` mount.fuse3 passes). */
#include <errno.h>
#include <limits.h>
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "ll.h"
#include "log.h"
#include "net.h"
#include "number.h"
#include "net_reads.h"
#include "prefetch.h"
#include "readahead.h"
#include "security.h"
#include "table.h"
#include "url_cache.h"
#include "watch.h"

#define IRPAFS_CACHE_TIMEOUT 1.0  /* seconds; changes are also pushed to the kernel */

/* What the command line says, beyond libfuse's own options. */
typedef struct command_line {
    char *manifests;        /* MANIFEST_DIR or MANIFEST.yaml, owned */
    const char *mountpoint; /* MOUNTPOINT as given (fuse_parse_cmdline takes it) */
    unsigned readahead_kb;  /* -o readahead_kb=N */
    int readahead_given;    /* 1 when -o readahead_kb was given */
    char *prefetch;         /* -o prefetch=SIZE as given, owned, or NULL */
    char *one_copy;         /* -o one_copy=1|0 as given, owned, or NULL */
    char *net_timeout;      /* -o net_timeout=SECONDS as given, owned, or NULL */
    char *cache_dir;        /* -o cache_dir=DIR as given, owned, or NULL */
    char *cache_size;       /* -o cache_size=SIZE as given, owned, or NULL */
} command_line;

static const struct fuse_opt irpafs_options[] = {
    {"readahead_kb=%u", offsetof(command_line, readahead_kb), 0},
    {"readahead_kb=", offsetof(command_line, readahead_given), 1},
    {"prefetch=%s", offsetof(command_line, prefetch), 0},
    {"one_copy=%s", offsetof(command_line, one_copy), 0},
    {"net_timeout=%s", offsetof(command_line, net_timeout), 0},
    {"cache_dir=%s", offsetof(command_line, cache_dir), 0},
    {"cache_size=%s", offsetof(command_line, cache_size), 0},
    FUSE_OPT_END,
};

/* fuse_opt callback: the first non-option is the manifests, the second
 * (the mount point) is noted and left for fuse_parse_cmdline. */
static int take_manifests(void *data, const char *arg, int key, struct fuse_args *args) {
    (void)args;
    command_line *line = data;
    if (key != FUSE_OPT_KEY_NONOPT) return 1;
    if (line->manifests) {
        if (!line->mountpoint) line->mountpoint = arg;
        return 1;
    }
    line->manifests = strdup(arg);
    return line->manifests ? 0 : -1;
}

static void print_usage(const char *program) {
    printf("usage: %s [options] MANIFEST_DIR|MANIFEST.yaml MOUNTPOINT\n\n"
           "Serves every manifest in MANIFEST_DIR (*.yaml, *.yml), or the one manifest\n"
           "given, as a read-only IREE parameter archive (.irpa) in MOUNTPOINT.\n"
           "Manifests added, changed or removed in MANIFEST_DIR show up live.\n\n"
           "irpafs options:\n"
           "    -o readahead_kb=N      kernel readahead of the mount in KiB (default %zu:\n"
           "                           the largest read request, sized to splice;\n"
           "                           0 = leave the kernel's; needs root)\n"
           "    -o prefetch=SIZE       bytes kept in the page cache ahead of a streaming\n"
           "                           reader (K, M, G suffixes; default 0 = off; %uM\n"
           "                           speeds up cold reads)\n"
           "    -o one_copy=1|0        drop source pages irpafs read in once they are in\n"
           "                           the mount's cache (default 0)\n"
           "    -o net_timeout=SECONDS a read of a URL source fails (EIO) after this long,\n"
           "                           retries included (default %d)\n"
           "    -o cache_dir=DIR       keep URL-source bytes read in DIR (created 0700),\n"
           "                           across restarts, least recently used evicted\n"
           "    -o cache_size=SIZE     the most DIR holds (K, M, G suffixes; default %uG)\n\n",
           program, irpafs_request_limit() / 1024, IRPAFS_PREFETCH_SUGGESTED >> 20,
           IRPA_HTTP_DEFAULT_TIMEOUT_MS / 1000, IRPAFS_NET_CACHE_DEFAULT_GIB);
    fuse_cmdline_help();
    fuse_lowlevel_help();
}

/* "-o" argument with our default mount options; the user's come after it
 * and win. fsname is the manifest path, with ',' and '\' escaped. */
static char *default_mount_options(const char *fsname) {
    size_t length = strlen(fsname);
    char *escaped = malloc(2 * length + 1);
    if (!escaped) return NULL;
    char *out = escaped;
    for (const char *in = fsname; *in; in++) {
        if (*in == ',' || *in == '\\') *out++ = '\\';
        *out++ = *in;
    }
    *out = '\0';
    char *option = NULL;
    if (asprintf(&option, "-osubtype=irpafs,default_permissions,fsname=%s", escaped) < 0)
        option = NULL;
    free(escaped);
    return option;
}

/* Every source of every manifest stays open while it is served: raise the
 * soft limit on descriptors to the hard one (often 1024 -> 524288), so a
 * directory of thousands of manifests is not cut short by EMFILE. */
static void raise_descriptor_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
        irpafs_log(LOG_DEBUG, "cannot raise the descriptor limit: %s", strerror(errno));
}

/* The first scan of the table; -1 (logged) when nothing can be mounted. */
static int first_scan(irpafs_table *table, const char *manifests) {
    irpafs_check_manifest_directory(irpafs_table_directory(table));
    long served = irpafs_table_scan(table, NULL);
    if (served < 0 || (served == 0 && irpafs_table_is_single(table))) {
        irpafs_log(LOG_ERR, "nothing to mount: %s %s", manifests,
                   served < 0 ? "cannot be read" : "is not a valid manifest");
        return -1;
    }
    if (served == 0)
        irpafs_log(LOG_WARNING,
                   "no valid manifest in %s yet; the mount stays empty until one appears",
                   irpafs_table_directory(table));
    return 0;
}

/* Undoes mountinfo's octal escapes (\040 for a space...) in place. */
static void unescape_mountinfo(char *text) {
    char *out = text;
    for (const char *in = text; *in; in++) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
            in[3] >= '0' && in[3] <= '7') {
            *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
            in += 3;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

/* Whether a file system other than an automount point is mounted on `path`
 * (canonical), per
 * /proc/self/mountinfo, or else per st_dev (which misses bind mounts);
 * `what` receives its type and source when known. */
static bool has_a_mount(const char *path, char *what, size_t what_size) {
    snprintf(what, what_size, "a file system");
    FILE *mounts = fopen("/proc/self/mountinfo", "re");
    if (!mounts) {
        struct stat st, parent;
        char *above = NULL;
        bool mounted = asprintf(&above, "%s/..", path) >= 0 && stat(path, &st) == 0 &&
                       stat(above, &parent) == 0 &&
                       (st.st_dev != parent.st_dev || st.st_ino == parent.st_ino);
        free(above);
        return mounted;
    }
    char *line = NULL;
    size_t capacity = 0;
    bool found = false;
    char mount_point[PATH_MAX], type[256], source[PATH_MAX];
    /* id parent major:minor root MOUNT-POINT options [tags...] - TYPE SOURCE options */
    while (!found && getline(&line, &capacity, mounts) > 0) {
        const char *separator = strstr(line, " - ");
        if (!separator || sscanf(line, "%*s %*s %*s %*s %4095s", mount_point) != 1) continue;
        unescape_mountinfo(mount_point);
        if (strcmp(mount_point, path) != 0 ||
            sscanf(separator + 3, "%255s %4095s", type, source) != 2)
            continue;
        /* An automount point (systemd's x-systemd.automount, autofs) waits
         * for the real mount to go on top of it: not a mount to refuse. */
        if (strcmp(type, "autofs") == 0) continue;
        found = true;
        unescape_mountinfo(source);
        snprintf(what, what_size, "%s from %s", type, source);
    }
    free(line);
    fclose(mounts);
    return found;
}

/* Whether the mount point can be used: not the manifest directory (the
 * manifests would be hidden), and nothing mounted on it already (a second
 * mount would hide the first). Logs why not. */
static bool mount_point_usable(const char *mountpoint, const irpafs_table *table) {
    if (strcmp(mountpoint, irpafs_table_directory(table)) == 0) {
        irpafs_log(LOG_ERR, "the mount point %s cannot be the manifest directory itself",
                   mountpoint);
        return false;
    }
    char what[PATH_MAX + 300];
    if (has_a_mount(mountpoint, what, sizeof what)) {
        irpafs_log(LOG_ERR,
                   "the mount point %s already has %s mounted on it; unmount it first "
                   "(fusermount3 -u %s or umount), or choose another mount point",
                   mountpoint, what, mountpoint);
        return false;
    }
    return true;
}

static int run_session(struct fuse_session *session, const struct fuse_cmdline_opts *options) {
    if (options->singlethread) return fuse_session_loop(session);
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (!config) return -1;
    fuse_loop_cfg_set_clone_fd(config, (unsigned)options->clone_fd);
    /* fuse_parse_cmdline leaves UINT_MAX in what -o did not set. */
    if (options->max_idle_threads != UINT_MAX)
        fuse_loop_cfg_set_idle_threads(config, options->max_idle_threads);
    if (options->max_threads != UINT_MAX)
        fuse_loop_cfg_set_max_threads(config, options->max_threads);
    int result = fuse_session_loop_mt(session, config);
    fuse_loop_cfg_destroy(config);
    return result;
}

static void log_start(irpafs_table *table, const char *mountpoint) {
    uint64_t files = 0, bytes = 0;
    irpafs_table_totals(table, &files, &bytes);
    irpafs_log(LOG_INFO, "serving %llu archive%s from %s at %s", (unsigned long long)files,
               files == 1 ? "" : "s", irpafs_table_path(table), mountpoint);
}

/* `ended` is what the session loop returned: 0 when unmounted from outside,
 * the signal's number, or a negative errno. */
static void log_stop(int ended, irpafs_table *table, const char *mountpoint) {
    const char *why = ended == 0 ? "unmounted"
                      : ended > 0 ? strsignal(ended)
                                  : strerror(-ended);
    irpafs_log(ended < 0 ? LOG_ERR : LOG_INFO, "stopped serving %s at %s: %s%s",
               irpafs_table_path(table), mountpoint, why, ended == 0 ? "" : "; unmounted");
}

/* Mounts, serves until unmounted or signalled, unmounts. Returns the exit status. */
static int serve(struct fuse_session *session, const struct fuse_cmdline_opts *options,
                 irpafs_context *context, const char *mountpoint) {
    if (fuse_set_signal_handlers(session) != 0) return 1;
    int status = 1;
    if (fuse_session_mount(session, options->mountpoint) != 0) goto remove_handlers;
    if (context->readahead_kb > 0 &&
        irpafs_readahead_find_device(mountpoint, context->bdi_name, sizeof context->bdi_name) != 0)
        context->bdi_name[0] = '\0';
    if (fuse_daemonize(options->foreground) != 0) goto unmount;
    if (!options->foreground) irpafs_log_detached();
    irpa_errors errors = {0};
    /* Before any thread starts: capabilities are per thread. */
    if (irpafs_drop_privileges(&errors) != 0) {
        irpafs_log_errors("", &errors);
        irpa_errors_clear(&errors);
        goto unmount;
    }
    context->prefetch = irpafs_prefetch_start(session, context->prefetch_window,
                                              context->one_copy, &errors);
    if (!context->prefetch) {
        irpafs_log_errors("prefetch is off: ", &errors);
        irpa_errors_clear(&errors);
    }
    context->net_reads = irpafs_net_reads_new(context);  /* NULL: URL reads stay in FUSE's threads */
    log_start(context->table, mountpoint);
    irpafs_watch *watch = irpafs_watch_start(context->table, session, &errors);
    if (!watch) {
        irpafs_log_errors("live reload is off: ", &errors);
        irpa_errors_clear(&errors);
    }
    /* The loop returns a negative errno on failure, the signal's number
     * when SIGINT or SIGTERM ended it (SIGHUP too if the watch could not
     * start; otherwise SIGHUP rescans, see watch.h): a normal stop. */
    int ended = run_session(session, options);
    status = ended < 0 ? 1 : 0;
    irpafs_net_stopping();  /* reads of URL sources end now (a rescan's too) */
    irpafs_watch_stop(watch);
    irpafs_net_reads_stop(context->net_reads);  /* answers what waits; then prefetch may go */
    context->net_reads = NULL;
    irpafs_prefetch_stop(context->prefetch);  /* before the session goes: it pushes to it */
    context->prefetch = NULL;
    fuse_session_unmount(session);
    log_stop(ended, context->table, mountpoint);
    goto remove_handlers;
unmount:
    fuse_session_unmount(session);
remove_handlers:
    fuse_remove_signal_handlers(session);
    return status;
}

/* The session, with our mount options added to the command line's; NULL
 * when libfuse refuses the options (it said which). */
static struct fuse_session *new_session(struct fuse_args *args, irpafs_context *context) {
    char *defaults = default_mount_options(irpafs_table_path(context->table));
    struct fuse_session *session = NULL;
    if (defaults && fuse_opt_insert_arg(args, 1, defaults) == 0 &&
        fuse_opt_add_arg(args, "-oro") == 0)
        session = fuse_session_new(args, irpafs_ll_operations(), sizeof(struct fuse_lowlevel_ops),
                                   context);
    free(defaults);
    return session;
}

/* From a parsed command line to the exit status: the table, checks of the
 * mount point, the session (which checks the remaining options: 2 when it
 * refuses them), the first scan, serving. */
static int run(struct fuse_args *args, const struct fuse_cmdline_opts *options,
               irpafs_context *context, const char *manifests) {
    irpa_errors errors = {0};
    context->table = irpafs_table_new(manifests, &errors);
    if (!context->table) {
        irpafs_log_errors("cannot serve ", &errors);
        irpa_errors_clear(&errors);
        return 1;
    }
    int status = 1;
    struct fuse_session *session = NULL;
    char *mountpoint = realpath(options->mountpoint, NULL);  /* before it is covered */
    if (!mountpoint)
        irpafs_log(LOG_ERR, "mount point %s: %s", options->mountpoint, strerror(errno));
    else if (mount_point_usable(mountpoint, context->table) &&
             !(session = new_session(args, context)))
        status = 2;
    if (session && first_scan(context->table, manifests) == 0)
        status = serve(session, options, context, mountpoint);
    if (session) fuse_session_destroy(session);
    free(mountpoint);
    irpafs_table_free(context->table);
    context->table = NULL;
    return status;
}

int main(int argc, char *argv[]) {
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    command_line line = {.manifests = NULL,
                         .readahead_kb = (unsigned)(irpafs_request_limit() / 1024)};
    struct fuse_cmdline_opts options;
    memset(&options, 0, sizeof options);
    int status = 2;  /* libfuse says what is wrong with the command line */
    if (fuse_opt_parse(&args, &line, irpafs_options, take_manifests) != 0) goto done;
    uint64_t prefetch_window = IRPAFS_PREFETCH_DEFAULT;
    if (line.prefetch && irpa_parse_size(line.prefetch, IRPAFS_PREFETCH_MAX, &prefetch_window) != 0) {
        fprintf(stderr, "%s: -o prefetch=%s: not a size up to 1T (bytes, with an optional "
                        "K, M or G suffix; 0 turns prefetch off)\n", argv[0], line.prefetch);
        status = 2;
        goto done;
    }
    if (line.one_copy && strcmp(line.one_copy, "0") != 0 && strcmp(line.one_copy, "1") != 0) {
        fprintf(stderr, "%s: -o one_copy=%s: must be 1 or 0\n", argv[0], line.one_copy);
        status = 2;
        goto done;
    }
    if (line.net_timeout && irpafs_net_set_timeout(line.net_timeout) != 0) {
        fprintf(stderr, "%s: -o net_timeout=%s: must be whole seconds from 1 to %d\n", argv[0],
                line.net_timeout, IRPAFS_NET_TIMEOUT_MAX_S);
        status = 2;
        goto done;
    }
    uint64_t cache_size = (uint64_t)IRPAFS_NET_CACHE_DEFAULT_GIB << 30;
    if (line.cache_size && (!line.cache_dir ||
                            irpa_parse_size(line.cache_size, IRPAFS_NET_CACHE_MAX, &cache_size) != 0 ||
                            cache_size < IRPA_CACHE_BLOCK)) {
        fprintf(stderr, "%s: -o cache_size=%s: needs cache_dir=DIR, and a size from 1M to 1T "
                        "(bytes, with an optional K, M or G suffix)\n", argv[0], line.cache_size);
        status = 2;
        goto done;
    }
    if (line.mountpoint && access(line.mountpoint, F_OK) != 0) {  /* not a usage error */
        irpafs_log(LOG_ERR, "mount point %s: %s", line.mountpoint, strerror(errno));
        status = 1;
        goto done;
    }
    if (fuse_parse_cmdline(&args, &options) != 0) goto done;
    if (options.show_help) {
        print_usage(argv[0]);
        status = 0;
        goto done;
    }
    if (options.show_version) {
        printf("irpafs version %s\n", IRPA_VERSION);
        fflush(stdout);
        fuse_lowlevel_version();
        status = 0;
        goto done;
    }
    if (!line.manifests || !options.mountpoint) {
        fprintf(stderr, "usage: %s [options] MANIFEST_DIR|MANIFEST.yaml MOUNTPOINT\n"
                        "       %s --help for the options\n", argv[0], argv[0]);
        goto done;
    }
    irpafs_context context = {
        .prefetch_window = prefetch_window,
        .one_copy = line.one_copy && strcmp(line.one_copy, "1") == 0,
        .timeout = IRPAFS_CACHE_TIMEOUT,
        .readahead_kb = line.readahead_kb,
        .readahead_explicit = line.readahead_given != 0,
        .conn_options = fuse_parse_conn_info_opts(&args),
    };
    if (!context.conn_options) goto done;
    atomic_init(&context.readahead_applied, false);
    irpafs_log_open(options.foreground, options.debug);
    raise_descriptor_limit();
    irpa_errors cache_errors = {0};
    if (irpafs_net_open(line.cache_dir, cache_size, &cache_errors) != 0) {
        irpafs_log_errors("cannot serve: ", &cache_errors);
        irpa_errors_clear(&cache_errors);
        free(context.conn_options);
        irpafs_log_close();
        status = 1;
        goto done;
    }
    status = run(&args, &options, &context, line.manifests);
    irpafs_net_close();
    free(context.conn_options);
    irpafs_log_close();
done:
    free(line.manifests);
    free(line.prefetch);
    free(line.one_copy);
    free(line.net_timeout);
    free(line.cache_dir);
    free(line.cache_size);
    free(options.mountpoint);
    fuse_opt_free_args(&args);
    return status;
}
