/* manifest_paths.h: how `irpa manifest` writes a source's path: as the
 * user typed it, made absolute (symlinks kept), or with --relative relative
 * to the manifest's folder; a URL as given. */
#ifndef IRPA_CLI_MANIFEST_PATHS_H
#define IRPA_CLI_MANIFEST_PATHS_H

/* `path` as the user typed it, made absolute: a relative path gets the
 * current directory in front, "." components and repeated '/' dropped.
 * Symlinks are not resolved, so a link to a model stays the link; a URL is
 * kept as given. An owned string, or NULL (errno set) when the current
 * directory is unknown or out of memory. */
char *irpa_cli_absolute_path(const char *path);

/* An absolute path (from irpa_cli_absolute_path) as seen from `directory`,
 * for --relative. The loader joins the manifest's directory and the path,
 * and the kernel then takes each ".." from the directory's real location,
 * so the ".."s are counted on realpath(directory); the source's own path
 * keeps its symlinks: only the leading directories it shares, name for
 * name, with that real path are replaced by ".."s. An owned string, or
 * NULL when `directory` cannot be resolved. */
char *irpa_cli_relative_path(const char *absolute, const char *directory);

#endif
