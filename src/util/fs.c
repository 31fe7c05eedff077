/*
 * File helpers.
 */
#include "util/fs.h"

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
