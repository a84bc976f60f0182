/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blobs.c - the content-addressed blob store: blobs/sha256/<hex>.
 *
 * A blob is written to an unnamed O_TMPFILE in blobs/sha256 while its
 * sha256 and size are computed, then checked against what the manifest
 * promised, fsynced and only then linked under its name.  A mismatch, a
 * short read or a crash therefore leaves nothing behind: no partial blob
 * ever has a name.  Where O_TMPFILE is missing a named ".tmp-" file is
 * used and removed on failure (prune removes any a crash left).
 */
#include "image/image-internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct sk_blob_writer {
	struct sk_image_store *s;
	int dirfd;
	int fd;
	char *tmp_name; /* NULL with O_TMPFILE */
	struct sk_sha256 *h;
	uint64_t size;
};

int sk_blob_writer_new(struct sk_image_store *s, struct sk_blob_writer **ret, struct sk_error **err)
{
	_cleanup_close_ int dirfd =
	    openat(s->dirfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct sk_blob_writer *w;
	int fd;

	if (dirfd < 0)
		return sk_error_errno(err, "open '%s/blobs/sha256'", s->root);
	w = sk_new0(struct sk_blob_writer, 1);
	fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		for (int i = 0; i < 100 && fd < 0; i++) {
			free(w->tmp_name);
			w->tmp_name = sk_asprintf(".tmp-%d-%d", getpid(), rand());
			fd = openat(dirfd, w->tmp_name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
				    0644);
		}
	}
	if (fd < 0) {
		int r = sk_error_errno(err, "create blob in '%s/blobs/sha256'", s->root);
		free(w->tmp_name);
		free(w);
		return r;
	}
	w->s = s;
	w->fd = fd;
	w->dirfd = TAKE_FD(dirfd);
	w->h = sk_sha256_new();
	*ret = w;
	return 0;
}

int sk_blob_writer_write(struct sk_blob_writer *w, const void *buf, size_t len,
			 struct sk_error **err)
{
	int r = sk_write_all(w->fd, buf, len);

	if (r < 0)
		return sk_error_set(err, -r, "write blob");
	sk_sha256_update(w->h, buf, len);
	w->size += len;
	return 0;
}

uint64_t sk_blob_writer_size(const struct sk_blob_writer *w)
{
	return w->size;
}

static int link_blob(struct sk_blob_writer *w, const char *hex)
{
	char proc[64];

	if (w->tmp_name)
		return renameat(w->dirfd, w->tmp_name, w->dirfd, hex) < 0 ? -errno : 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", w->fd);
	if (linkat(AT_FDCWD, proc, w->dirfd, hex, AT_SYMLINK_FOLLOW) < 0)
		return errno == EEXIST ? 0 : -errno; /* same content is there already */
	return 0;
}

int sk_blob_writer_commit(struct sk_blob_writer *w, const char *what, const char *digest,
			  int64_t size, char ret_digest[72], struct sk_error **err)
{
	char got[72];
	int r;

	sk_sha256_final(w->h, got);
	w->h = NULL;
	if (size >= 0 && w->size != (uint64_t)size) {
		if (w->size < (uint64_t)size)
			return sk_error_set(
			    err, 0, "%s: truncated blob %s: %" PRIu64 " of %" PRId64 " bytes", what,
			    digest ? digest : got, w->size, size);
		return sk_error_set(
		    err, 0, "%s: size mismatch for blob %s: %" PRIu64 " bytes, expected %" PRId64,
		    what, digest ? digest : got, w->size, size);
	}
	if (digest && strcmp(digest, got) != 0)
		return sk_error_set(err, 0, "%s: digest mismatch for blob %s: content is %s", what,
				    digest, got);
	if (fsync(w->fd) < 0)
		return sk_error_errno(err, "%s: fsync blob %s", what, got);
	r = link_blob(w, sk_digest_hex(got));
	if (r < 0)
		return sk_error_set(err, -r, "%s: store blob %s", what, got);
	free(w->tmp_name);
	w->tmp_name = NULL;
	if (fsync(w->dirfd) < 0)
		return sk_error_errno(err, "fsync '%s/blobs/sha256'", w->s->root);
	if (ret_digest)
		memcpy(ret_digest, got, 72);
	return 0;
}

void sk_blob_writer_free(struct sk_blob_writer *w)
{
	if (!w)
		return;
	if (w->tmp_name)
		(void)unlinkat(w->dirfd, w->tmp_name, 0);
	free(w->tmp_name);
	sk_sha256_free(w->h);
	if (w->fd >= 0)
		close(w->fd);
	close(w->dirfd);
	free(w);
}

int sk_blob_put_fd(struct sk_image_store *s, int fd, const char *what, const char *digest,
		   int64_t size, char ret_digest[72], struct sk_error **err)
{
	_cleanup_(sk_blob_writer_freep) struct sk_blob_writer *w = NULL;
	_cleanup_free_ char *buf = sk_malloc0(1 << 17);
	int r = sk_blob_writer_new(s, &w, err);

	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 17);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sk_error_errno(err, "%s: read", what);
		if (n == 0)
			break;
		r = sk_blob_writer_write(w, buf, (size_t)n, err);
		if (r < 0)
			return r;
		/* a blob longer than promised is refused without reading it all */
		if (size >= 0 && sk_blob_writer_size(w) > (uint64_t)size)
			return sk_error_set(err, 0, "%s: blob %s is larger than %" PRId64 " bytes",
					    what, digest ? digest : "", size);
	}
	return sk_blob_writer_commit(w, what, digest, size, ret_digest, err);
}

int sk_blob_put_buf(struct sk_image_store *s, const void *buf, size_t len, char ret_digest[72],
		    struct sk_error **err)
{
	_cleanup_(sk_blob_writer_freep) struct sk_blob_writer *w = NULL;
	char d[72];
	int r;

	sk_sha256_buf(buf, len, d);
	if (sk_blob_exists(s, d)) {
		if (ret_digest)
			memcpy(ret_digest, d, 72);
		return 0;
	}
	r = sk_blob_writer_new(s, &w, err);
	if (r < 0)
		return r;
	r = sk_blob_writer_write(w, buf, len, err);
	if (r < 0)
		return r;
	return sk_blob_writer_commit(w, "generated", d, (int64_t)len, ret_digest, err);
}

bool sk_blob_exists(struct sk_image_store *s, const char *digest)
{
	_cleanup_free_ char *p = sk_asprintf("blobs/sha256/%s", sk_digest_hex(digest));
	struct stat st;

	return fstatat(s->dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int sk_blob_open(struct sk_image_store *s, const char *digest, struct sk_error **err)
{
	_cleanup_free_ char *p = NULL;
	int r = sk_digest_validate(digest, err), fd;

	if (r < 0)
		return r;
	p = sk_asprintf("blobs/sha256/%s", sk_digest_hex(digest));
	fd = openat(s->dirfd, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sk_error_errno(err, "missing blob %s in the store", digest);
	return fd;
}

int sk_blob_read(struct sk_image_store *s, const char *digest, char **ret, size_t *ret_len,
		 struct sk_error **err)
{
	_cleanup_close_ int fd = sk_blob_open(s, digest, err);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	char got[72];
	ssize_t n;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return sk_error_errno(err, "stat blob %s", digest);
	if (st.st_size > SK_IMAGE_JSON_MAX)
		return sk_error_set(err, EFBIG, "blob %s", digest);
	buf = sk_malloc0((size_t)st.st_size + 1);
	n = sk_read_all(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return sk_error_set(err, (int)-n, "read blob %s", digest);
	sk_sha256_buf(buf, (size_t)n, got);
	if (strcmp(got, digest) != 0)
		return sk_error_set(err, 0, "blob %s in the store is corrupt (content is %s)",
				    digest, got);
	buf[n] = '\0';
	if (ret_len)
		*ret_len = (size_t)n;
	*ret = TAKE_PTR(buf);
	return 0;
}
