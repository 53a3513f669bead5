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
#include <unistd.h>

#include "ll.h"
#include "log.h"
#include "prefetch.h"
#include "readahead.h"
#include "security.h"
#include "table.h"
#include "watch.h"

#define IRPAFS_VERSION "0.1.0"
#define IRPAFS_CACHE_TIMEOUT 1.0  /* seconds; changes are also pushed to the kernel */

/* What the command line says, beyond libfuse's own options. */
typedef struct command_line {
    char *manifests;        /* MANIFEST_DIR or MANIFEST.yaml, owned */
    unsigned readahead_kb;  /* -o readahead_kb=N */
    int readahead_given;    /* 1 when -o readahead_kb was given */
    char *prefetch;         /* -o prefetch=SIZE as given, owned, or NULL */
    char *one_copy;         /* -o one_copy=1|0 as given, owned, or NULL */
} command_line;

static const struct fuse_opt irpafs_options[] = {
    {"readahead_kb=%u", offsetof(command_line, readahead_kb), 0},
    {"readahead_kb=", offsetof(command_line, readahead_given), 1},
    {"prefetch=%s", offsetof(command_line, prefetch), 0},
    {"one_copy=%s", offsetof(command_line, one_copy), 0},
    FUSE_OPT_END,
};

/* fuse_opt callback: the first non-option is the manifests, the second
 * (the mount point) is left for fuse_parse_cmdline. */
static int take_manifests(void *data, const char *arg, int key, struct fuse_args *args) {
    (void)args;
    command_line *line = data;
    if (key != FUSE_OPT_KEY_NONOPT || line->manifests) return 1;
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
           "                           the mount's cache (default 0)\n\n",
           program, irpafs_request_limit() / 1024, IRPAFS_PREFETCH_SUGGESTED >> 20);
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

/* The table with its first scan done; NULL (logged) when nothing can be mounted. */
static irpafs_table *load_table(const char *manifests) {
    irpa_errors errors = {0};
    irpafs_table *table = irpafs_table_new(manifests, &errors);
    if (!table) {
        irpafs_log_errors("cannot serve ", &errors);
        irpa_errors_clear(&errors);
        return NULL;
    }
    irpafs_check_manifest_directory(irpafs_table_directory(table));
    long served = irpafs_table_scan(table, NULL);
    if (served < 0 || (served == 0 && irpafs_table_is_single(table))) {
        irpafs_log(LOG_ERR, "nothing to mount: %s %s", manifests,
                   served < 0 ? "cannot be read" : "is not a valid manifest");
        irpafs_table_free(table);
        return NULL;
    }
    if (served == 0)
        irpafs_log(LOG_WARNING,
                   "no valid manifest in %s yet; the mount stays empty until one appears",
                   irpafs_table_directory(table));
    return table;
}

/* Whether mounting at `mountpoint` would hide the manifests we watch. */
static bool mounts_over_manifests(const char *mountpoint, const irpafs_table *table) {
    char *absolute = realpath(mountpoint, NULL);
    bool same = absolute && strcmp(absolute, irpafs_table_directory(table)) == 0;
    free(absolute);
    return same;
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

/* Mounts, serves until unmounted or signalled, unmounts. Returns the exit status. */
static int serve(struct fuse_args *args, const struct fuse_cmdline_opts *options,
                 irpafs_context *context) {
    struct fuse_session *session =
        fuse_session_new(args, irpafs_ll_operations(), sizeof(struct fuse_lowlevel_ops), context);
    if (!session) return 1;
    int status = 1;
    if (fuse_set_signal_handlers(session) != 0) goto destroy;
    char *absolute_mountpoint = realpath(options->mountpoint, NULL);  /* before it is covered */
    if (fuse_session_mount(session, options->mountpoint) != 0) {
        free(absolute_mountpoint);
        goto remove_handlers;
    }
    if (context->readahead_kb > 0 && absolute_mountpoint &&
        irpafs_readahead_find_device(absolute_mountpoint, context->bdi_name,
                                     sizeof context->bdi_name) != 0)
        context->bdi_name[0] = '\0';
    free(absolute_mountpoint);
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
    irpafs_watch *watch = irpafs_watch_start(context->table, session, &errors);
    if (!watch) {
        irpafs_log_errors("live reload is off: ", &errors);
        irpa_errors_clear(&errors);
    }
    /* The loop returns a negative errno on failure, the signal's number
     * when SIGINT or SIGTERM ended it (SIGHUP too if the watch could not
     * start; otherwise SIGHUP rescans, see watch.h): a normal stop. */
    status = run_session(session, options) < 0 ? 1 : 0;
    irpafs_watch_stop(watch);
    irpafs_prefetch_stop(context->prefetch);  /* before the session goes: it pushes to it */
    context->prefetch = NULL;
unmount:
    fuse_session_unmount(session);
remove_handlers:
    fuse_remove_signal_handlers(session);
destroy:
    fuse_session_destroy(session);
    return status;
}

int main(int argc, char *argv[]) {
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    command_line line = {.manifests = NULL,
                         .readahead_kb = (unsigned)(irpafs_request_limit() / 1024)};
    struct fuse_cmdline_opts options;
    memset(&options, 0, sizeof options);
    int status = 1;
    if (fuse_opt_parse(&args, &line, irpafs_options, take_manifests) != 0) goto done;
    uint64_t prefetch_window = IRPAFS_PREFETCH_DEFAULT;
    if (line.prefetch && irpafs_prefetch_parse_size(line.prefetch, &prefetch_window) != 0) {
        fprintf(stderr, "%s: -o prefetch=%s: not a size (bytes, with an optional K, M or G "
                        "suffix; 0 turns prefetch off)\n", argv[0], line.prefetch);
        status = 2;
        goto done;
    }
    if (line.one_copy && strcmp(line.one_copy, "0") != 0 && strcmp(line.one_copy, "1") != 0) {
        fprintf(stderr, "%s: -o one_copy=%s: must be 1 or 0\n", argv[0], line.one_copy);
        status = 2;
        goto done;
    }
    if (fuse_parse_cmdline(&args, &options) != 0) goto done;
    if (options.show_help) {
        print_usage(argv[0]);
        status = 0;
        goto done;
    }
    if (options.show_version) {
        printf("irpafs version %s\n", IRPAFS_VERSION);
        fflush(stdout);
        fuse_lowlevel_version();
        status = 0;
        goto done;
    }
    if (!line.manifests || !options.mountpoint) {
        fprintf(stderr, "usage: %s [options] MANIFEST_DIR|MANIFEST.yaml MOUNTPOINT\n"
                        "       %s --help for the options\n", argv[0], argv[0]);
        status = 2;
        goto done;
    }
    irpafs_log_open(options.foreground, options.debug);
    irpafs_context context = {
        .prefetch_window = prefetch_window,
        .one_copy = line.one_copy && strcmp(line.one_copy, "1") == 0,
        .timeout = IRPAFS_CACHE_TIMEOUT,
        .readahead_kb = line.readahead_kb,
        .readahead_explicit = line.readahead_given != 0,
        .conn_options = fuse_parse_conn_info_opts(&args),
    };
    atomic_init(&context.readahead_applied, false);
    raise_descriptor_limit();
    context.table = load_table(line.manifests);
    if (context.table && mounts_over_manifests(options.mountpoint, context.table)) {
        irpafs_log(LOG_ERR, "the mount point %s cannot be the manifest directory itself",
                   options.mountpoint);
        irpafs_table_free(context.table);
        context.table = NULL;
    }
    char *defaults = context.table ? default_mount_options(irpafs_table_source(context.table)) : NULL;
    if (defaults && fuse_opt_insert_arg(&args, 1, defaults) == 0 &&
        fuse_opt_add_arg(&args, "-oro") == 0)
        status = serve(&args, &options, &context);
    free(defaults);
    irpafs_table_free(context.table);
    free(context.conn_options);
    irpafs_log_close();
done:
    free(line.manifests);
    free(line.prefetch);
    free(line.one_copy);
    free(options.mountpoint);
    fuse_opt_free_args(&args);
    return status;
}
