/* irpa manifest SOURCE... : write a manifest of explicit byte ranges.
 *
 * The command builds, in memory, the manifest a user would write by hand
 * (one whole-model entry per SOURCE, with the command line's include,
 * exclude, rename and splat rules), resolves it exactly as `irpa build`
 * would, and prints every resulting entry as an explicit range or splat,
 * each with a comment giving the tensor's dtype and shape. Every option is
 * checked (against all sources together) before anything is written. The
 * sources are written by absolute path as given, symlinks kept, or with
 * --relative relative to the manifest's folder. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "http.h"
#include "manifest.h"
#include "manifest_paths.h"
#include "resolve.h"

typedef struct string_list {
    char **items;  /* owned strings */
    size_t count;
} string_list;

typedef struct options {
    const char *out_path;  /* -o, or NULL for standard output */
    string_list include, exclude, rename_from, rename_to;
    string_list splat;        /* --splat globs */
    string_list splat_value;  /* per --splat: "TYPE=VALUE", or "" for a zero splat */
    string_list splat_option; /* per --splat: the option's text, for messages */
    int pytorch;           /* --metadata pytorch */
    int relative;          /* --relative: source paths relative to the manifest's folder */
    string_list headers;   /* --header "Name: value": URL sources' headers, ${VAR} kept */
} options;

#define RULE_KINDS 4 /* include, exclude, rename, splat (irpa_rule_kind) */

/* A typed --splat over tensors of another dtype: the first, and how many. */
typedef struct splat_misfit {
    size_t count;         /* tensors it does not fit */
    char *tensor;         /* the first one's name, owned */
    char dtype[16];       /* the first one's dtype */
} splat_misfit;

/* What the archive does not keep about an entry (its tensor's type and
 * shape), and how the command line's rules fared across all sources. */
typedef struct tensor_notes {
    char **comments;      /* per entry index: "F16 [4096, 32000]", owned; NULL when none */
    const char **splats;  /* per entry index: "TYPE=VALUE" of a typed --splat, or NULL */
    size_t count;         /* slots in both arrays */
    size_t *uses[RULE_KINDS]; /* per rule kind, per option: tensors it applied to */
    splat_misfit *misfits;    /* per --splat */
    const options *opts;  /* the command line */
} tensor_notes;

static int push(string_list *list, const char *value) {
    char **grown = realloc(list->items, (list->count + 1) * sizeof *grown);
    if (!grown) return -1;
    list->items = grown;
    list->items[list->count] = strdup(value);
    return list->items[list->count++] ? 0 : -1;
}

static void free_list(string_list *list) {
    for (size_t i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
}

static char **copy_strings(const string_list *list) {
    char **copy = calloc(list->count + 1, sizeof *copy);
    for (size_t i = 0; copy && i < list->count; i++) copy[i] = strdup(list->items[i]);
    return copy;
}

/* Whether a typed splat ("f32=1.0") fills `tensor` with its value: the
 * tensor's dtype is the splat's type (BOOL takes u8 or i8), and its length
 * a multiple of the type's width. An f32 pattern over F64 or F8 data would
 * write other numbers, or not fit. */
static int splat_fits(const char *typed, const irpa_tensor *tensor) {
    size_t type_length = strcspn(typed, "=");
    char type[16];
    snprintf(type, sizeof type, "%.*s", (int)type_length, typed);
    uint8_t pattern[16], width = 1;
    if (irpa_splat_encode(type, typed + type_length + 1, pattern, &width, NULL, 0) !=
        IRPA_SPLAT_OK)
        return 0;
    int same_type = strcasecmp(type, tensor->dtype) == 0 ||
                    (strcmp(tensor->dtype, "BOOL") == 0 && width == 1 && type[0] != 'f');
    return same_type && tensor->length % width == 0;
}

static void note_misfit(splat_misfit *misfit, const irpa_tensor *tensor) {
    if (misfit->count++ == 0) {
        misfit->tensor = strdup(tensor->name);
        snprintf(misfit->dtype, sizeof misfit->dtype, "%s", tensor->dtype);
    }
}

static void note_rule(void *context, size_t manifest_entry, irpa_rule_kind kind,
                      size_t rule_index) {
    (void)manifest_entry; /* every source has the same rules: the command line's */
    tensor_notes *notes = context;
    notes->uses[kind][rule_index]++;
}

static void note_tensor(void *context, size_t entry_index, const irpa_tensor *tensor) {
    tensor_notes *notes = context;
    if (entry_index >= notes->count) {
        size_t count = entry_index * 2 + 16;
        char **grown = realloc(notes->comments, count * sizeof *grown);
        if (grown) notes->comments = grown;
        const char **grown_splats = realloc(notes->splats, count * sizeof *grown_splats);
        if (grown_splats) notes->splats = grown_splats;
        if (!grown || !grown_splats) return;
        memset(grown + notes->count, 0, (count - notes->count) * sizeof *grown);
        memset(grown_splats + notes->count, 0, (count - notes->count) * sizeof *grown_splats);
        notes->count = count;
    }
    const string_list *globs = &notes->opts->splat;
    for (size_t i = 0; i < globs->count; i++) {
        if (!irpa_glob_match(globs->items[i], tensor->name)) continue;
        const char *typed = notes->opts->splat_value.items[i];
        if (typed[0] && !splat_fits(typed, tensor)) note_misfit(&notes->misfits[i], tensor);
        if (typed[0]) notes->splats[entry_index] = typed;
        break;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) return;
    fprintf(out, "%s [", tensor->dtype);
    for (uint32_t d = 0; d < tensor->rank; d++)
        fprintf(out, "%s%llu", d ? ", " : "", (unsigned long long)tensor->shape[d]);
    fprintf(out, "]");
    fclose(out);
    notes->comments[entry_index] = text;
}

/* A manifest with one whole-model entry per source, as if written by hand. */
static irpa_manifest *command_line_manifest(char **sources, size_t source_count,
                                            const options *opts) {
    irpa_manifest *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->path = strdup("command line");
    m->alignment = 64;
    m->metadata_pytorch = opts->pytorch;
    m->sources = calloc(source_count, sizeof *m->sources);
    m->entries = calloc(source_count, sizeof *m->entries);
    if (!m->path || !m->sources || !m->entries) return m;
    for (size_t i = 0; i < source_count; i++) {
        irpa_manifest_source *source = &m->sources[i];
        source->key = strdup(sources[i]); /* messages name the source as typed */
        source->path = strdup(sources[i]);
        source->resolved_path = strdup(sources[i]);
        source->position = (irpa_position){1, (uint32_t)i + 1};
        if (irpa_is_url(sources[i]) && opts->headers.count) {
            source->headers = copy_strings(&opts->headers);
            source->header_count = source->headers ? opts->headers.count : 0;
        }
        m->source_count++;
        irpa_manifest_entry *entry = &m->entries[i];
        entry->kind = IRPA_MANIFEST_ALL;
        entry->position = source->position;
        entry->source = (long)i;
        entry->include = copy_strings(&opts->include);
        entry->include_count = opts->include.count;
        entry->exclude = copy_strings(&opts->exclude);
        entry->exclude_count = opts->exclude.count;
        entry->splat_globs = copy_strings(&opts->splat);
        entry->splat_glob_count = opts->splat.count;
        entry->renames = calloc(opts->rename_from.count + 1, sizeof *entry->renames);
        for (size_t r = 0; entry->renames && r < opts->rename_from.count; r++) {
            entry->renames[r].from = strdup(opts->rename_from.items[r]);
            entry->renames[r].to = strdup(opts->rename_to.items[r]);
            entry->rename_count++;
        }
        m->entry_count++;
    }
    return m;
}

/* Writes a YAML double-quoted scalar. */
static void put_quoted(FILE *out, const uint8_t *bytes, uint64_t length) {
    fputc('"', out);
    for (uint64_t i = 0; i < length; i++) {
        uint8_t c = bytes[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* The sources the written manifest names: those an entry draws bytes
 * from (not, say, a safetensors index, whose shards are named instead),
 * keyed s0, s1... in archive order, each file once. */
typedef struct written_sources {
    char **paths;  /* per archive source: the path to write, owned; NULL when unused */
    long *keys;    /* per archive source: its key number, -1 when unused */
    size_t count;  /* archive sources */
} written_sources;

static void free_written(written_sources *written) {
    for (size_t i = 0; written->paths && i < written->count; i++) free(written->paths[i]);
    free(written->paths);
    free(written->keys);
}

/* Fills `written` for the archive: absolute paths, or with `relative` paths
 * relative to the folder the manifest is written to. */
static int name_sources(const irpa_archive *archive, const options *opts,
                        written_sources *written, irpa_errors *errors) {
    written->count = archive->source_count;
    written->paths = calloc(written->count + 1, sizeof *written->paths);
    written->keys = malloc((written->count + 1) * sizeof *written->keys);
    if (!written->paths || !written->keys) return irpa_error(errors, "out of memory");
    for (size_t i = 0; i < written->count; i++) written->keys[i] = -1;
    for (size_t i = 0; i < archive->entry_count; i++)
        if (archive->entries[i].type == IRPA_ENTRY_DATA) written->keys[archive->entries[i].source] = 0;
    char *directory_copy = strdup(opts->out_path ? opts->out_path : ".");
    if (!directory_copy) return irpa_error(errors, "out of memory");
    const char *directory = dirname(directory_copy);
    long next_key = 0;
    int status = 0;
    for (size_t i = 0; status == 0 && i < written->count; i++) {
        if (written->keys[i] < 0) continue;
        written->keys[i] = next_key++;
        const irpa_source *source = &archive->sources[i];
        const char *path = source->url ? source->url : source->path; /* as written */
        char *absolute = irpa_cli_absolute_path(path);
        if (!absolute)
            status = irpa_error(errors, "%s: cannot make the path absolute: %s", path,
                                strerror(errno));
        else if (!opts->relative || irpa_is_url(path))
            written->paths[i] = absolute, absolute = NULL;
        else if (!(written->paths[i] = irpa_cli_relative_path(absolute, directory)))
            status = irpa_error(errors, "%s: cannot resolve the manifest's folder: %s",
                                directory, strerror(errno));
        free(absolute);
    }
    free(directory_copy);
    return status;
}

/* A URL source with --header: {path: URL, headers: {Name: value...}}. */
static void print_url_source(FILE *out, const char *url, const string_list *headers) {
    fprintf(out, "\n    path: ");
    put_quoted(out, (const uint8_t *)url, strlen(url));
    fprintf(out, "\n    headers:");
    for (size_t h = 0; h < headers->count; h++) {
        const char *line = headers->items[h];
        size_t name_length = strcspn(line, ":");
        const char *value = line + name_length + (line[name_length] ? 1 : 0);
        value += strspn(value, " \t");
        fprintf(out, "\n      ");
        put_quoted(out, (const uint8_t *)line, name_length);
        fprintf(out, ": ");
        put_quoted(out, (const uint8_t *)value, strlen(value));
    }
}

static void print_manifest(FILE *out, const irpa_archive *archive, const tensor_notes *notes,
                           const written_sources *written) {
    fprintf(out, "# written by `irpa manifest`: every entry is an explicit byte range of a source\n");
    fprintf(out, "sources:%s\n", archive->data_count ? "" : " {}");
    for (size_t i = 0; i < written->count; i++) {
        if (written->keys[i] < 0) continue;
        fprintf(out, "  s%ld:", written->keys[i]);
        if (irpa_is_url(written->paths[i]) && notes->opts->headers.count)
            print_url_source(out, written->paths[i], &notes->opts->headers);
        else
            fprintf(out, " "), put_quoted(out, (const uint8_t *)written->paths[i],
                                          strlen(written->paths[i]));
        fprintf(out, "\n");
    }
    fprintf(out, "entries:%s\n", archive->entry_count ? "" : " []");
    for (size_t i = 0; i < archive->entry_count; i++) {
        const irpa_entry *entry = &archive->entries[i];
        const char *comment = i < notes->count ? notes->comments[i] : NULL;
        fprintf(out, "  - name: ");
        put_quoted(out, (const uint8_t *)entry->name, entry->name_length);
        fprintf(out, comment ? "   # %s\n" : "\n", comment);
        if (entry->type == IRPA_ENTRY_DATA) {
            fprintf(out, "    source: s%ld\n    offset: %llu\n    length: %llu\n",
                    written->keys[entry->source], (unsigned long long)entry->source_offset,
                    (unsigned long long)entry->length);
        } else if (i < notes->count && notes->splats[i]) {
            const char *spec = notes->splats[i], *equals = strchr(spec, '=');
            fprintf(out, "    splat: {type: %.*s, value: %s}\n    length: %llu\n",
                    (int)(equals - spec), spec, equals + 1, (unsigned long long)entry->length);
        } else {
            fprintf(out, "    splat: \"");
            for (int b = 0; b < entry->pattern_length; b++) fprintf(out, "%02x", entry->pattern[b]);
            fprintf(out, "\"\n    length: %llu\n", (unsigned long long)entry->length);
        }
        if (entry->metadata_length) {
            fprintf(out, "    metadata: ");
            put_quoted(out, entry->metadata, entry->metadata_length);
            fprintf(out, "\n");
        }
    }
}

/* Writes the text to the output path via a temporary file and rename. */
static int write_output(const char *out_path, const irpa_archive *archive,
                        const tensor_notes *notes, const written_sources *written,
                        irpa_errors *errors) {
    if (!out_path) {
        print_manifest(stdout, archive, notes, written);
        return fflush(stdout) == 0 ? 0 : irpa_error(errors, "<stdout>: write failed");
    }
    char *temporary = NULL;
    if (asprintf(&temporary, "%s.tmp.XXXXXX", out_path) < 0)
        return irpa_error(errors, "out of memory");
    int status = 0;
    int fd = mkstemp(temporary);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        status = irpa_error(errors, "%s: cannot create: %s", out_path, strerror(errno));
        if (fd >= 0) close(fd);
    } else {
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
        print_manifest(out, archive, notes, written);
        if (fflush(out) != 0 || fsync(fileno(out)) != 0)
            status = irpa_error(errors, "%s: write failed: %s", out_path, strerror(errno));
        if (fclose(out) != 0 && status == 0)
            status = irpa_error(errors, "%s: write failed: %s", out_path, strerror(errno));
        if (status == 0 && rename(temporary, out_path) != 0)
            status = irpa_error(errors, "%s: %s", out_path, strerror(errno));
    }
    if (status != 0 && fd >= 0) unlink(temporary);
    free(temporary);
    return status;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: irpa manifest SOURCE... [-o M.yaml] [--relative] [--include GLOB]\n"
            "                      [--exclude GLOB] [--rename FROM=TO] [--splat GLOB[=TYPE=VALUE]]\n"
            "                      [--metadata pytorch] [--header 'NAME: VALUE']\n"
            "SOURCE: a .gguf, .safetensors or model.safetensors.index.json file. Options may\n"
            "repeat; globs match tensor names, renames replace a name prefix (first match);\n"
            "--splat makes matching tensors zero splats, or splats of VALUE as TYPE (f32=1.0).\n"
            "Source paths are written absolute, as given (symlinks kept); --relative writes\n"
            "them relative to the folder of M.yaml (of the current directory for -o - or none).\n"
            "SOURCE may be an http:// or https:// URL; --header is sent with each request to\n"
            "it and written to the manifest as given (${VAR}: an environment variable).\n");
}

/* Checks the TYPE=VALUE of `--splat GLOB=TYPE=VALUE` as a manifest's
 * `splat: {type: TYPE, value: VALUE}` is checked. */
static int check_typed_splat(const char *option, const char *typed) {
    size_t type_length = strcspn(typed, "=");
    char *type = strndup(typed, type_length);
    uint8_t pattern[16], width;
    char why[256];
    irpa_splat_fault fault =
        type ? irpa_splat_encode(type, typed + type_length + 1, pattern, &width, why, sizeof why)
             : IRPA_SPLAT_BAD_TYPE;
    if (fault != IRPA_SPLAT_OK)
        fprintf(stderr, "irpa manifest: --splat '%s': %s\n", option, type ? why : "out of memory");
    free(type);
    return fault == IRPA_SPLAT_OK ? 0 : -1;
}

static int parse_options(int argc, char **argv, options *opts) {
    static const struct option long_options[] = {
        {"output", required_argument, NULL, 'o'},   {"include", required_argument, NULL, 'i'},
        {"exclude", required_argument, NULL, 'x'},  {"rename", required_argument, NULL, 'r'},
        {"splat", required_argument, NULL, 's'},    {"metadata", required_argument, NULL, 'm'},
        {"relative", no_argument, NULL, 'R'},       {"help", no_argument, NULL, 'h'},
        {"header", required_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "o:h", long_options, NULL)) != -1) {
        char *equals;
        switch (option) {
        case 'o': opts->out_path = strcmp(optarg, "-") ? optarg : NULL; break;
        case 'R': opts->relative = 1; break;
        case 'H':
            if (!strchr(optarg, ':') || optarg[0] == ':' || strpbrk(optarg, "\r\n")) {
                fprintf(stderr, "irpa manifest: --header: expected 'NAME: VALUE' on one line\n");
                return -1;
            }
            push(&opts->headers, optarg);
            break;
        case 'i': push(&opts->include, optarg); break;
        case 'x': push(&opts->exclude, optarg); break;
        case 's':
            equals = strchr(optarg, '=');
            if (equals && (!strchr(equals + 1, '=') || equals[1] == '=')) {
                fprintf(stderr, "irpa manifest: --splat %s: expected GLOB or GLOB=TYPE=VALUE\n",
                        optarg);
                return -1;
            }
            if (equals && check_typed_splat(optarg, equals + 1) != 0) return -1;
            push(&opts->splat_option, optarg);
            if (equals) *equals = 0;
            push(&opts->splat, optarg);
            push(&opts->splat_value, equals ? equals + 1 : "");
            if (equals) *equals = '=';
            break;
        case 'r':
            equals = strchr(optarg, '=');
            if (!equals || equals == optarg) {
                fprintf(stderr, "irpa manifest: --rename %s: expected FROM=TO\n", optarg);
                return -1;
            }
            *equals = 0;
            push(&opts->rename_from, optarg);
            push(&opts->rename_to, equals + 1);
            *equals = '=';
            break;
        case 'm':
            if (strcmp(optarg, "pytorch") != 0) {
                fprintf(stderr, "irpa manifest: --metadata %s: expected 'pytorch'\n", optarg);
                return -1;
            }
            opts->pytorch = 1;
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "irpa manifest: expected at least one SOURCE\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

static int start_notes(tensor_notes *notes) {
    const options *opts = notes->opts;
    const size_t counts[RULE_KINDS] = {
        [IRPA_RULE_INCLUDE] = opts->include.count, [IRPA_RULE_EXCLUDE] = opts->exclude.count,
        [IRPA_RULE_RENAME] = opts->rename_from.count, [IRPA_RULE_SPLAT] = opts->splat.count};
    int failed = 0;
    for (int kind = 0; kind < RULE_KINDS; kind++)
        failed |= !(notes->uses[kind] = calloc(counts[kind] + 1, sizeof *notes->uses[kind]));
    notes->misfits = calloc(opts->splat.count + 1, sizeof *notes->misfits);
    return failed || !notes->misfits ? -1 : 0;
}

static void free_notes(tensor_notes *notes) {
    for (size_t i = 0; i < notes->count; i++) free(notes->comments[i]);
    free(notes->comments);
    free(notes->splats);
    for (int kind = 0; kind < RULE_KINDS; kind++) free(notes->uses[kind]);
    for (size_t i = 0; notes->misfits && i < notes->opts->splat.count; i++)
        free(notes->misfits[i].tensor);
    free(notes->misfits);
}

/* Every option must do something: a glob that matches no tensor of any
 * source, a rename that renames none, and a typed splat over tensors of
 * another dtype are errors. */
static int check_rules(const tensor_notes *notes, irpa_errors *errors) {
    const options *opts = notes->opts;
    size_t errors_before = errors->count;
    for (size_t i = 0; i < opts->include.count; i++)
        if (!notes->uses[IRPA_RULE_INCLUDE][i])
            irpa_error(errors, "--include '%s' matches no tensor", opts->include.items[i]);
    for (size_t i = 0; i < opts->exclude.count; i++)
        if (!notes->uses[IRPA_RULE_EXCLUDE][i])
            irpa_error(errors, "--exclude '%s' matches no tensor%s", opts->exclude.items[i],
                       opts->include.count ? " that --include keeps" : "");
    for (size_t i = 0; i < opts->rename_from.count; i++)
        if (!notes->uses[IRPA_RULE_RENAME][i])
            irpa_error(errors, "--rename '%s=%s' renames no tensor: no name kept starts with "
                       "'%s', or an earlier --rename takes each one that does",
                       opts->rename_from.items[i], opts->rename_to.items[i],
                       opts->rename_from.items[i]);
    for (size_t i = 0; i < opts->splat.count; i++) {
        const splat_misfit *misfit = &notes->misfits[i];
        const char *option = opts->splat_option.items[i];
        if (!notes->uses[IRPA_RULE_SPLAT][i]) {
            irpa_error(errors, "--splat '%s' matches no tensor%s", option,
                       opts->include.count || opts->exclude.count ? " that is kept" : "");
        } else if (misfit->count) {
            size_t type_length = strcspn(opts->splat_value.items[i], "=");
            char more[64] = "";
            if (misfit->count > 1)
                snprintf(more, sizeof more, " (nor are %zu more it matches)", misfit->count - 1);
            irpa_error(errors, "--splat '%s': tensor '%s' is %s, not %.*s%s; a typed splat "
                       "must have the tensor's dtype (or use a zero splat: --splat '%s')",
                       option, misfit->tensor ? misfit->tensor : "?", misfit->dtype,
                       (int)type_length, opts->splat_value.items[i], more,
                       opts->splat.items[i]);
        }
    }
    return errors->count == errors_before ? 0 : -1;
}

int irpa_cmd_manifest(int argc, char **argv) {
    options opts = {0};
    int parsed = parse_options(argc, argv, &opts);
    int status = parsed < 0 ? IRPA_EXIT_BAD_INPUT : IRPA_EXIT_OK;
    irpa_errors errors = {0};
    irpa_manifest *manifest = NULL;
    irpa_archive *archive = NULL;
    tensor_notes notes = {.opts = &opts};
    written_sources written = {0};
    if (parsed == 0 && start_notes(&notes) != 0) {
        irpa_error(&errors, "out of memory");
        status = IRPA_EXIT_FAILURE;
    } else if (parsed == 0) {
        manifest = command_line_manifest(argv + optind, (size_t)(argc - optind), &opts);
        irpa_resolve_hooks hooks = {note_tensor, note_rule, &notes};
        archive = manifest ? irpa_resolve_hooked(manifest, &hooks, &errors) : NULL;
        if (!archive || check_rules(&notes, &errors) != 0)
            status = IRPA_EXIT_BAD_INPUT;
        else if (name_sources(archive, &opts, &written, &errors) != 0 ||
                 write_output(opts.out_path, archive, &notes, &written, &errors) != 0)
            status = IRPA_EXIT_FAILURE;
    }
    irpa_errors_print(&errors, stderr, "irpa manifest: ");
    irpa_errors_clear(&errors);
    free_notes(&notes);
    free_written(&written);
    irpa_archive_free(archive);
    irpa_manifest_free(manifest);
    free_list(&opts.include);
    free_list(&opts.headers);
    free_list(&opts.exclude);
    free_list(&opts.splat);
    free_list(&opts.splat_value);
    free_list(&opts.splat_option);
    free_list(&opts.rename_from);
    free_list(&opts.rename_to);
    return status;
}
