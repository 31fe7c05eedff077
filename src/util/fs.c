/*
 * File helpers.
 */
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

int fs_read_file(const char *path, size_t max_bytes, char **data, size_t *len,
		 struct it_error *err)
{
	struct strbuf sb;
	struct stat st;
	char chunk[65536];
	int fd = -1;
	int rc = 0;

	strbuf_init(&sb, max_bytes);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = it_error_at(err, errno == ENOENT ? IT_ERR_NOT_FOUND : IT_ERR_IO,
				 path, 0, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = it_error_at(err, IT_ERR_IO, path, 0, 0, "not a regular file");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = it_error_at(err, IT_ERR_IO, path, 0, 0,
					 "read failed: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (strbuf_add(&sb, chunk, (size_t)n)) {
			rc = it_error_at(err, IT_ERR_LIMIT, path, 0, 0,
					 "file is larger than %zu bytes", max_bytes);
			goto out;
		}
	}
	*data = strbuf_detach(&sb, len);
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&sb);
	return rc;
}

int fs_write_file_atomic(const char *path, const void *data, size_t len,
			 struct it_error *err)
{
	struct strbuf tmp;
	const char *p = data;
	int fd = -1;
	int rc = 0;

	strbuf_init(&tmp, 0);
	strbuf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = it_error_at(err, IT_ERR_IO, path, 0, 0, "cannot create: %s",
				 strerror(errno));
		goto out;
	}
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = it_error_at(err, IT_ERR_IO, path, 0, 0,
					 "write failed: %s", strerror(errno));
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0) {
		rc = it_error_at(err, IT_ERR_IO, path, 0, 0, "fsync failed: %s",
				 strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = it_error_at(err, IT_ERR_IO, path, 0, 0, "close failed: %s",
				 strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp.buf, path) != 0) {
		rc = it_error_at(err, IT_ERR_IO, path, 0, 0, "rename failed: %s",
				 strerror(errno));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp.buf);
	strbuf_release(&tmp);
	return rc;
}

bool fs_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fs_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int fs_check_component(const char *name, const char *what,
		       struct it_error *err)
{
	if (!*name)
		return it_error_set(err, IT_ERR_INVALID, "%s is empty", what);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return it_error_set(err, IT_ERR_INVALID,
				    "%s '%s' is not allowed", what, name);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p == '/' || *p == '\\')
			return it_error_set(err, IT_ERR_INVALID,
					    "%s '%s' contains a path separator",
					    what, name);
		if (*p < 0x20 || *p == 0x7f)
			return it_error_set(err, IT_ERR_INVALID,
					    "%s contains control character 0x%02x",
					    what, *p);
	}
	return 0;
}

char *fs_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);
	size_t sep;
	char *s;

	while (la > 1 && a[la - 1] == '/')
		la--;
	sep = la && a[la - 1] == '/' ? 0 : 1; /* the root "/" has its slash */
	s = xmalloc(la + sep + lb + 1);
	memcpy(s, a, la);
	if (sep)
		s[la] = '/';
	memcpy(s + la + sep, b, lb);
	s[la + sep + lb] = '\0';
	return s;
}

int fs_mkdir_p(const char *path, struct it_error *err)
{
	char *p = NULL;
	int rc = 0;

	if (!*path)
		return it_error_set(err, IT_ERR_INVALID, "cannot create a folder with an empty name");
	p = xstrdup(path);
	/* Each prefix that ends at a '/' (and the whole path), parents first. */
	for (char *s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) && errno != EEXIST) {
			rc = it_error_set(err, IT_ERR_IO, "cannot create %s: %s", p, strerror(errno));
			goto out;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!fs_is_dir(path))
		rc = it_error_set(err, IT_ERR_IO, "%s exists and is not a folder", path);
out:
	free(p);
	return rc;
}

int fs_rm_rf(const char *path, struct it_error *err)
{
	struct stat st;
	struct dirent *e;
	DIR *d = NULL;
	int rc = 0;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : it_error_set(err, IT_ERR_IO, "%s: %s", path,
							   strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path))
			return it_error_set(err, IT_ERR_IO, "cannot remove %s: %s", path,
					    strerror(errno));
		return 0;
	}
	d = opendir(path);
	if (!d)
		return it_error_set(err, IT_ERR_IO, "%s: %s", path, strerror(errno));
	while (!rc) {
		char *child;

		e = readdir(d);
		if (!e)
			break;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		child = fs_join(path, e->d_name);
		rc = fs_rm_rf(child, err);
		free(child);
	}
	closedir(d);
	if (!rc && rmdir(path))
		rc = it_error_set(err, IT_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
	return rc;
}

bool fs_dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return true;
	while (empty) {
		e = readdir(d);
		if (!e)
			break;
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	}
	closedir(d);
	return empty;
}
