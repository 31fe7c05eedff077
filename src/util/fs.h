/*
 * Small file-system helpers with explicit size caps and errors that name the
 * path. Depends on util/error, util/strbuf.
 */
#ifndef INFERTUNE_UTIL_FS_H
#define INFERTUNE_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>

struct it_error;

/**
 * Reads a whole regular file into a NUL-terminated buffer. Fails with
 * IT_ERR_NOT_FOUND, IT_ERR_IO or IT_ERR_LIMIT (larger than max_bytes).
 * On success *data is caller-owned (free()) and *len its length.
 */
int fs_read_file(const char *path, size_t max_bytes, char **data, size_t *len,
		 struct it_error *err);

/**
 * Writes data to path atomically: a temporary file in the same folder,
 * fsync, rename. Never leaves a half-written file at `path`.
 */
int fs_write_file_atomic(const char *path, const void *data, size_t len,
			 struct it_error *err);

/** True when path names a directory (following symlinks). */
bool fs_is_dir(const char *path);
/** True when path names a regular file (following symlinks). */
bool fs_is_file(const char *path);

/** Joins a and b with one '/'; caller frees. */
char *fs_join(const char *a, const char *b);

/**
 * Checks that name is one plain path component, so that fs_join(dir, name)
 * stays inside dir: not empty, not "." or "..", no '/', '\\' or control
 * characters. Returns 0 or IT_ERR_INVALID with a message that starts with
 * `what` ("model name", "default_model_filename"). Pure function.
 */
int fs_check_component(const char *name, const char *what,
		       struct it_error *err);

/**
 * Creates path and every missing parent (mode 0777 less the umask), as
 * `mkdir -p` does. IT_ERR_IO names the component that could not be created,
 * or path when it exists and is not a folder.
 */
int fs_mkdir_p(const char *path, struct it_error *err);

/**
 * Removes path and, for a folder, everything below it, as `rm -rf` does,
 * without following symbolic links (a link is removed, not its target).
 * A path that does not exist is not an error. IT_ERR_IO names what could
 * not be removed; what was removed before that stays removed.
 */
int fs_rm_rf(const char *path, struct it_error *err);

/** True when path is a folder with no entries, or does not exist. */
bool fs_dir_is_empty(const char *path);

#endif
