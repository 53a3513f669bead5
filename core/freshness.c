/* freshness.c: whether an archive's sources still hold their bytes
 * (freshness.h). */
#include "freshness.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "clock.h"

#define CHECKED_BITS 1024  /* sources a read tracks in a bitmap (beyond: a search) */

/* ---- the file probe ------------------------------------------------------ */

static bool file_changed(const irpa_source *source, bool *nameless, char *why, size_t why_size) {
    struct stat now;
    if (irpa_source_changed(source, &now, why, why_size)) return true;
    *nameless = now.st_nlink == 0;  /* deleted, or renamed over */
    return false;
}

static bool file_name_current(const irpa_source *source) {
    return irpa_source_path_is_current(source);
}

const irpa_freshness_probe irpa_file_probe = {
    .changed = file_changed,
    .name_current = file_name_current,
};

/* ---- the URL probe ------------------------------------------------------- */

/* A URL source has no stat to compare: every range it reads is conditional
 * on the identity recorded at open (url_source.h), so a replaced object is
 * found by a read, which marks it replaced for good. The probe reports that
 * mark; a URL has no name that can be renamed over. */
static bool url_changed(const irpa_source *source, bool *nameless, char *why, size_t why_size) {
    (void)nameless;
    return source->remote_ops->changed(source->remote, why, why_size) != 0;
}

const irpa_freshness_probe irpa_url_probe = {
    .changed = url_changed,
    .name_current = NULL,
};

const irpa_freshness_probe *irpa_freshness_probe_for(const irpa_source *source) {
    return source->remote ? &irpa_url_probe : &irpa_file_probe;
}

/* ---- setting up -------------------------------------------------------- */

int irpa_freshness_init(irpa_freshness *freshness, const irpa_archive *archive) {
    size_t count = archive->source_count;
    freshness->archive = archive;
    freshness->clock = (irpa_freshness_clock){.now_ns = irpa_monotonic_ns,
                                              .now_ms = irpa_coarse_ms};
    freshness->sources = calloc(count ? count : 1, sizeof *freshness->sources);
    if (!freshness->sources) return -1;
    for (size_t i = 0; i < count; i++) {
        irpa_source_freshness *state = &freshness->sources[i];
        state->probe = irpa_freshness_probe_for(&archive->sources[i]);
        atomic_init(&state->reported, 0);
        atomic_init(&state->name_checked_ms, 0);
        atomic_init(&state->found_unchanged_ns, 0);
    }
    return 0;
}

void irpa_freshness_free(irpa_freshness *freshness) {
    free(freshness->sources);
    freshness->sources = NULL;
}

/* ---- the policy ---------------------------------------------------------- */

/* Whether this call is the one to report `what` about the source (once). */
static bool first_report(irpa_source_freshness *state, irpa_staleness what) {
    return !(atomic_fetch_or(&state->reported, (unsigned)what) & (unsigned)what);
}

/* Whether a check found the source unchanged less than
 * IRPA_FRESHNESS_TRUST_NS before `now_ns`. */
static bool recently_unchanged(const irpa_source_freshness *state, int64_t now_ns) {
    long long last = atomic_load_explicit(&state->found_unchanged_ns, memory_order_relaxed);
    return last != 0 && now_ns - last < IRPA_FRESHNESS_TRUST_NS;
}

/* Whether the source's name should be looked up now: at most every
 * IRPA_FRESHNESS_NAME_CHECK_MS, and by one of the threads that ask. */
static bool name_check_due(irpa_source_freshness *state, int64_t now_ms) {
    long long last = atomic_load(&state->name_checked_ms);
    if (last != 0 && now_ms - last < IRPA_FRESHNESS_NAME_CHECK_MS) return false;
    return atomic_compare_exchange_strong(&state->name_checked_ms, &last, (long long)now_ms);
}

/* Whether the source is no longer the one its name leads to. */
static bool replaced(irpa_freshness *freshness, irpa_source_freshness *state, uint32_t source,
                     bool nameless) {
    if (nameless) return true;
    return state->probe->name_current && name_check_due(state, freshness->clock.now_ms()) &&
           !state->probe->name_current(&freshness->archive->sources[source]);
}

/* One source, at `now_ns`. */
static int check_one(irpa_freshness *freshness, uint32_t source, bool trust_recent,
                     int64_t now_ns, irpa_freshness_report report, void *context) {
    irpa_source_freshness *state = &freshness->sources[source];
    if (trust_recent && recently_unchanged(state, now_ns)) return 0;
    char why[256];
    bool nameless = false;
    if (state->probe->changed(&freshness->archive->sources[source], &nameless, why, sizeof why)) {
        if (first_report(state, IRPA_SOURCE_CHANGED) && report)
            report(context, source, IRPA_SOURCE_CHANGED, why);
        return -1;
    }
    atomic_store_explicit(&state->found_unchanged_ns, (long long)now_ns, memory_order_relaxed);
    bool reported = atomic_load(&state->reported) & IRPA_SOURCE_REPLACED;
    if (!reported && replaced(freshness, state, source, nameless) &&
        first_report(state, IRPA_SOURCE_REPLACED) && report)
        report(context, source, IRPA_SOURCE_REPLACED, NULL);
    return 0;
}

int irpa_freshness_check_source(irpa_freshness *freshness, uint32_t source, bool trust_recent,
                                irpa_freshness_report report, void *context) {
    return check_one(freshness, source, trust_recent, freshness->clock.now_ns(), report, context);
}

/* Whether the source of segments[index] was checked for an earlier segment
 * of the same read; `checked` holds a bit per source below CHECKED_BITS
 * (O(1)), beyond that the earlier segments are searched. */
static bool already_checked(const irpa_segment *segments, size_t index, uint64_t *checked) {
    uint32_t source = segments[index].source;
    if (source < CHECKED_BITS) {
        uint64_t bit = UINT64_C(1) << (source % 64);
        bool before = checked[source / 64] & bit;
        checked[source / 64] |= bit;
        return before;
    }
    for (size_t i = 0; i < index; i++)
        if (segments[i].kind == IRPA_SEGMENT_SOURCE && segments[i].source == source) return true;
    return false;
}

int irpa_freshness_check(irpa_freshness *freshness, const irpa_segment *segments, size_t count,
                         bool trust_recent, irpa_freshness_report report, void *context) {
    uint64_t checked[CHECKED_BITS / 64] = {0};
    int64_t now_ns = freshness->clock.now_ns();
    for (size_t i = 0; i < count; i++) {
        if (segments[i].kind != IRPA_SEGMENT_SOURCE || already_checked(segments, i, checked))
            continue;
        if (check_one(freshness, segments[i].source, trust_recent, now_ns, report, context) != 0)
            return -1;
    }
    return 0;
}
