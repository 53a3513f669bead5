/* irpa build MANIFEST -o OUT|DIR: materialize the archive a manifest describes. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "clock.h"
#include "commands.h"
#include "resolve.h"

typedef struct progress_state {
    int show;                  /* draw a bar: stderr is a terminal */
    int64_t started_ns;        /* when writing began (irpa_monotonic_ns) */
    double last_drawn;         /* seconds since start of the last draw */
    sigset_t interrupts;       /* blocked signals that cancel the build */
} progress_state;

static double seconds_since(int64_t start_ns) {
    return (double)(irpa_monotonic_ns() - start_ns) / 1e9;
}

static void human_bytes(double bytes, char *out, size_t out_size) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 4) {
        bytes /= 1024;
        unit++;
    }
    snprintf(out, out_size, unit ? "%.1f %s" : "%.0f %s", bytes, units[unit]);
}

static void draw_bar(progress_state *state, uint64_t done, uint64_t total, double elapsed) {
    char done_text[32], total_text[32], rate_text[32];
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    human_bytes((double)done, done_text, sizeof done_text);
    human_bytes((double)total, total_text, sizeof total_text);
    human_bytes(rate, rate_text, sizeof rate_text);
    int width = 30, filled = total ? (int)((double)done / (double)total * width) : width;
    char bar[31];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = 0;
    long left = rate > 0 ? (long)((double)(total - done) / rate) : 0;
    fprintf(stderr, "\r[%s] %s / %s  %s/s  %ld:%02ld left ", bar, done_text, total_text,
            rate_text, left / 60, left % 60);
    state->last_drawn = elapsed;
}

/* Progress callback: draws the bar at most 10 times a second and cancels
 * when an interrupt (blocked while building) is pending. */
static int on_progress(uint64_t done, uint64_t total, void *context) {
    progress_state *state = context;
    sigset_t pending;
    sigpending(&pending);
    for (int signal = 1; signal < NSIG; signal++)
        if (sigismember(&state->interrupts, signal) && sigismember(&pending, signal)) return 1;
    if (!state->show) return 0;
    double elapsed = seconds_since(state->started_ns);
    if (done == total || elapsed - state->last_drawn >= 0.1) draw_bar(state, done, total, elapsed);
    if (done == total) fputc('\n', stderr);
    return 0;
}

static void usage(FILE *out) {
    fprintf(out, "usage: irpa build MANIFEST -o OUT.irpa   (-o - writes to standard output)\n"
                 "       irpa build MANIFEST -o DIR        (writes DIR/ARCHIVE, the manifest's\n"
                 "                                          'archive:' or its name with .irpa)\n"
                 "  -q, --quiet   no progress bar\n");
}

int irpa_cmd_build(int argc, char **argv) {
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *out_path = NULL;
    int quiet = 0, option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "o:qh", options, NULL)) != -1) {
        switch (option) {
        case 'o': out_path = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return IRPA_EXIT_OK;
        default: usage(stderr); return IRPA_EXIT_BAD_INPUT;
        }
    }
    if (optind != argc - 1 || !out_path) {
        fprintf(stderr, "irpa build: %s\n", !out_path ? "missing -o OUT" : "expected one MANIFEST");
        usage(stderr);
        return IRPA_EXIT_BAD_INPUT;
    }
    irpa_errors errors = {0};
    irpa_archive *archive = irpa_open_manifest(argv[optind], &errors);
    if (!archive) {
        irpa_errors_print(&errors, stderr, "irpa build: ");
        irpa_errors_clear(&errors);
        return IRPA_EXIT_BAD_INPUT;
    }
    progress_state state = {.show = !quiet && isatty(STDERR_FILENO) && strcmp(out_path, "-")};
    state.started_ns = irpa_monotonic_ns();
    /* Interrupts are held while writing and checked between chunks, so an
     * interrupted build still removes its temporary file. */
    sigemptyset(&state.interrupts);
    sigaddset(&state.interrupts, SIGINT);
    sigaddset(&state.interrupts, SIGTERM);
    sigaddset(&state.interrupts, SIGHUP);
    sigset_t previous;
    sigprocmask(SIG_BLOCK, &state.interrupts, &previous);
    signal(SIGPIPE, SIG_IGN);
    /* A file-size limit (ulimit -f) then fails the write with EFBIG, which is
     * reported and cleaned up like a full disk, instead of killing us with
     * the temporary file left behind. */
    signal(SIGXFSZ, SIG_IGN);
    int status = irpa_build_to_path(archive, out_path, on_progress, &state, &errors);
    irpa_archive_free(archive);
    if (status != 0) {
        if (state.show) fputc('\n', stderr);
        irpa_errors_print(&errors, stderr, "irpa build: ");
    }
    irpa_errors_clear(&errors);
    sigprocmask(SIG_SETMASK, &previous, NULL); /* a pending interrupt now ends us */
    return status == 0 ? IRPA_EXIT_OK : IRPA_EXIT_FAILURE;
}
