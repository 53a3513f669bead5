/* manifest_paths.c: how `irpa manifest` writes a source's path
 * (manifest_paths.h). */
#include "manifest_paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

/* Drops "." components and repeated '/' of an absolute path, in place
 * ("/a/./b//c" -> "/a/b/c"). ".." is kept: taking it away lexically would
 * be wrong after a symlink. */
static void drop_dot_components(char *path) {
    char *out = path;
    const char *in = path;
    while (*in) {
        in += strspn(in, "/");
        size_t length = strcspn(in, "/");
        if (length && !(length == 1 && in[0] == '.')) {
            *out++ = '/';
            memmove(out, in, length);
            out += length;
        }
        in += length;
    }
    if (out == path) *out++ = '/';
    *out = 0;
}

char *irpa_cli_absolute_path(const char *path) {
    if (irpa_is_url(path)) return strdup(path); /* a URL is written as given */
    char *joined = NULL;
    if (path[0] == '/') {
        joined = strdup(path);
    } else {
        char *current = getcwd(NULL, 0);
        if (current && asprintf(&joined, "%s/%s", current, path) < 0) joined = NULL;
        free(current);
    }
    if (joined) drop_dot_components(joined);
    return joined;
}

char *irpa_cli_relative_path(const char *absolute, const char *directory) {
    char *base = realpath(directory, NULL);
    if (!base) return NULL;
    const char *below = absolute, *base_rest = base;
    for (;;) {
        const char *name = below + strspn(below, "/");
        const char *base_name = base_rest + strspn(base_rest, "/");
        size_t length = strcspn(name, "/"), base_length = strcspn(base_name, "/");
        if (!base_length || !name[length] || length != base_length ||
            memcmp(name, base_name, length) != 0)
            break;
        below = name + length;
        base_rest = base_name + base_length;
    }
    size_t ups = 0; /* directories of the real base below the shared ones */
    for (const char *c = base_rest + strspn(base_rest, "/"); *c; c += strspn(c, "/")) {
        ups++;
        c += strcspn(c, "/");
    }
    below += strspn(below, "/");
    char *result = malloc(3 * ups + strlen(below) + 1);
    if (result) {
        result[0] = 0;
        for (size_t i = 0; i < ups; i++) strcat(result, "../");
        strcat(result, below);
    }
    free(base);
    return result;
}
