/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.c - strict number parsing, whole-file I/O, directory helpers.
 */
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SK_READ_FILE_MAX (16u << 20)

int sk_parse_int64(const char *s, int64_t *ret)
{
	char *end = NULL;
	long long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int sk_parse_uint64(const char *s, uint64_t *ret)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int sk_parse_int(const char *s, int *ret)
{
	int64_t v;
	int r = sk_parse_int64(s, &v);

	if (r < 0)
		return r;
	if (v < INT_MIN || v > INT_MAX)
		return -ERANGE;
	*ret = (int)v;
	return 0;
}

int sk_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t sk_read_all(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, (char *)buf + done, len - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int sk_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t cap = 4096, len = 0;

	if (fd < 0)
		return -errno;
	buf = sk_malloc0(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= SK_READ_FILE_MAX)
				return -EFBIG;
			cap *= 2;
			buf = sk_realloc(buf, cap);
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int sk_read_file(const char *path, char **ret, size_t *ret_len)
{
	return sk_read_file_at(AT_FDCWD, path, ret, ret_len);
}

int sk_write_file_at(int dirfd, const char *path, const char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/* Kernel interface files take one write; a short write is an error. */
	ssize_t w;
	do
		w = write(fd, buf, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	if ((size_t)w != len)
		return -EIO;
	return 0;
}

int sk_write_file(const char *path, const char *buf, size_t len)
{
	return sk_write_file_at(AT_FDCWD, path, buf, len);
}

int sk_write_file_atomic(const char *path, const char *buf, size_t len, mode_t mode, bool sync)
{
	_cleanup_free_ char *tmp = sk_asprintf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = sk_write_all(fd, buf, len);
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

int sk_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = sk_strdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int rm_rf_at(int parent, const char *name, dev_t dev)
{
	_cleanup_close_ int fd =
	    openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return errno == ENOTDIR || errno == ELOOP
			   ? (unlinkat(parent, name, 0) < 0 ? -errno : 0)
			   : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_dev != dev)
		return -EXDEV; /* a mount point: never descend */
	d = fdopendir(TAKE_FD(fd));
	if (!d)
		return -errno;
	for (struct dirent *de; (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int q = de->d_type == DT_DIR ? rm_rf_at(dirfd(d), de->d_name, dev)
					     : (unlinkat(dirfd(d), de->d_name, 0) < 0 ? -errno : 0);
		if (q < 0 && q != -ENOENT && r == 0)
			r = q;
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int sk_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	return rm_rf_at(AT_FDCWD, path, st.st_dev);
}

bool sk_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t sk_strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

char **sk_strv_copy(char *const *v)
{
	size_t n = sk_strv_length(v);
	char **c = sk_new0(char *, n + 1);

	for (size_t i = 0; i < n; i++)
		c[i] = sk_strdup(v[i]);
	return c;
}

void sk_strv_push(char ***v, const char *s)
{
	size_t n = sk_strv_length(*v);

	*v = sk_realloc(*v, sizeof(char *) * (n + 2));
	(*v)[n] = sk_strdup(s);
	(*v)[n + 1] = NULL;
}

char *sk_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return sk_asprintf("%.*s/%s", (int)la, a, b);
}

int64_t sk_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint64_t sk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sk_close_fds_except(int keep_a, int keep_b)
{
	int keep[2] = { keep_a < keep_b ? keep_a : keep_b, keep_a < keep_b ? keep_b : keep_a };
	unsigned from = 3;

	for (size_t i = 0; i < 2; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			(void)close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	(void)close_range(from, ~0u, 0);
}
