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

#endif
