/* SPDX-License-Identifier: Apache-2.0 */
/*
 * layers.c - unpacked layers: layers/<diffid-hex>/, one per diff id and
 * shared by every image that has it, plus the short links under l/ that
 * keep overlay's lowerdir option short (as containers-storage does).
 *
 * A layer blob is decompressed by one libarchive reader (any filter, "raw"
 * format) whose output feeds a second, tar-only reader through a callback
 * that hashes every uncompressed byte: the diff id is checked on the same
 * pass that unpacks, and the layer is unpacked into layers/.tmp-* and only
 * renamed into place once it hashed right.  A layer that is there is
 * therefore complete.
 */
#include "image/image-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#define SK_LAYER_BUF (1 << 17)

struct feed {
	struct archive *src; /* the decompressing reader */
	struct sk_sha256 *h;
	uint64_t bytes;
	char *buf;
	bool failed;
	char *src_error;
};

static la_ssize_t feed_read(struct archive *a, void *userdata, const void **buf)
{
	struct feed *f = userdata;
	la_ssize_t n = archive_read_data(f->src, f->buf, SK_LAYER_BUF);

	if (n < 0) {
		f->failed = true;
		if (!f->src_error)
			f->src_error = sk_strdup(archive_error_string(f->src) ?: "read error");
		if (a)
			archive_set_error(a, EIO, "%s", f->src_error);
		return -1;
	}
	sk_sha256_update(f->h, f->buf, (size_t)n);
	f->bytes += (uint64_t)n;
	*buf = f->buf;
	return n;
}

/* Reads what the tar reader left (end-of-archive padding) into the hash. */
static int feed_drain(struct feed *f)
{
	for (;;) {
		const void *b;
		la_ssize_t n = feed_read(NULL, f, &b);

		if (n <= 0)
			return n < 0 ? -1 : 0;
	}
}

bool sk_layer_exists(struct sk_image_store *s, const char *diff_id)
{
	_cleanup_free_ char *p = sk_asprintf("layers/%s", sk_digest_hex(diff_id));
	struct stat st;

	return fstatat(s->dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int open_decompressor(int fd, struct archive **ret, const char *digest,
			     struct sk_error **err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	if (!a)
		abort();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, fd, SK_LAYER_BUF) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		int r = sk_error_set(err, 0, "layer %s: %s", digest, archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* Opens the lower layers' dirs, top first, for hard links into them. */
static int open_lowers(struct sk_image_store *s, char *const *lowers, size_t n, int **ret,
		       struct sk_error **err)
{
	int *fds = sk_new0(int, n + 1);

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = sk_asprintf("layers/%s", sk_digest_hex(lowers[n - 1 - i]));

		fds[i] = openat(s->dirfd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0) {
			int r = sk_error_errno(err, "open lower layer %s", lowers[n - 1 - i]);
			while (i-- > 0)
				close(fds[i]);
			free(fds);
			return r;
		}
	}
	*ret = fds;
	return 0;
}

static int unpack_stream(struct sk_image_store *s, int blob_fd, const char *digest,
			 const char *diff_id, int dirfd, const struct sk_unpack_opts *uo,
			 uint64_t *ret_size, char ret_got[72], struct sk_error **err)
{
	struct feed f = { .h = sk_sha256_new(), .buf = sk_malloc0(SK_LAYER_BUF) };
	struct archive *tar = NULL;
	char got[72];
	int r = open_decompressor(blob_fd, &f.src, digest, err);

	if (r < 0)
		goto out;
	tar = archive_read_new();
	if (!tar)
		abort();
	archive_read_support_format_tar(tar);
	if (archive_read_open(tar, &f, NULL, feed_read, NULL) != ARCHIVE_OK) {
		r = sk_error_set(err, 0, "layer %s: %s", digest,
				 f.src_error ?: archive_error_string(tar));
		goto out;
	}
	r = sk_unpack_archive(tar, dirfd, uo, err);
	if (r == 0 && feed_drain(&f) < 0)
		r = -EIO;
	if (f.failed) {
		/* the decompressor's complaint explains the tar reader's */
		if (err) {
			sk_error_free(*err);
			*err = NULL;
		}
		r = sk_error_set(err, 0, "layer %s: corrupt %s data: %s", digest,
				 archive_filter_name(f.src, 0), f.src_error);
		goto out;
	}
	if (r < 0) {
		sk_error_prefix(err, "layer %s", digest);
		goto out;
	}
	sk_sha256_final(f.h, got);
	f.h = NULL;
	memcpy(ret_got, got, 72);
	if (diff_id && strcmp(got, diff_id) != 0) {
		r = sk_error_set(err, 0,
				 "layer %s: diff_id mismatch: uncompressed content is %s, "
				 "config rootfs.diff_ids says %s",
				 digest, got, diff_id);
		goto out;
	}
	*ret_size = f.bytes;
out:
	if (tar)
		archive_read_free(tar);
	if (f.src)
		archive_read_free(f.src);
	sk_sha256_free(f.h);
	free(f.buf);
	free(f.src_error);
	return r;
}

static void rm_at(struct sk_image_store *s, const char *rel)
{
	_cleanup_free_ char *p = sk_path_join(s->root, rel);

	(void)sk_rm_rf(p);
}

static int ensure(struct sk_image_store *s, const char *digest, const char *diff_id,
		  char *const *lowers, size_t n_lowers, char ret_diff_id[72], struct sk_error **err)
{
	_cleanup_free_ char *tmp = NULL, *final = NULL;
	_cleanup_close_ int blob = -1, dirfd = -1;
	struct sk_unpack_opts uo = { .overlay_whiteouts = true };
	int *fds = NULL;
	uint64_t size = 0;
	char got[72];
	int r;

	blob = sk_blob_open(s, digest, err);
	if (blob < 0)
		return blob;
	tmp = sk_asprintf("layers/.tmp-%s-%d", sk_digest_hex(digest), getpid());
	rm_at(s, tmp);
	if (mkdirat(s->dirfd, tmp, 0755) < 0)
		return sk_error_errno(err, "create '%s/%s'", s->root, tmp);
	dirfd = openat(s->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		r = sk_error_errno(err, "open '%s/%s'", s->root, tmp);
		goto fail;
	}
	r = open_lowers(s, lowers, n_lowers, &fds, err);
	if (r < 0)
		goto fail;
	uo.lower_fds = fds;
	uo.n_lowers = n_lowers;
	r = unpack_stream(s, blob, digest, diff_id, dirfd, &uo, &size, got, err);
	for (size_t i = 0; i < n_lowers; i++)
		close(fds[i]);
	free(fds);
	if (r < 0)
		goto fail;
	if (ret_diff_id)
		memcpy(ret_diff_id, got, 72);
	if (sk_layer_exists(s, got)) {
		rm_at(s, tmp); /* the same content came in another blob */
		return 0;
	}
	final = sk_asprintf("layers/%s", sk_digest_hex(got));
	if (renameat(s->dirfd, tmp, s->dirfd, final) < 0) {
		r = sk_error_errno(err, "rename layer into '%s/%s'", s->root, final);
		goto fail;
	}
	sk_store_set_layer_size(s, got, size);
	return 0;
fail:
	rm_at(s, tmp);
	return r;
}

int sk_layer_ensure(struct sk_image_store *s, const char *digest, const char *diff_id,
		    char *const *lowers, size_t n_lowers, struct sk_error **err)
{
	if (sk_layer_exists(s, diff_id))
		return 0;
	return ensure(s, digest, diff_id, lowers, n_lowers, NULL, err);
}

int sk_layer_ensure_unknown(struct sk_image_store *s, const char *digest, char ret_diff_id[72],
			    struct sk_error **err)
{
	return ensure(s, digest, NULL, NULL, 0, ret_diff_id, err);
}

char *sk_layer_short_name(const char *diff_id)
{
	return sk_strndup(sk_digest_hex(diff_id), SK_IMAGE_SHORT_LINK_LEN);
}

int sk_layer_link(struct sk_image_store *s, const char *diff_id, char **ret, struct sk_error **err)
{
	_cleanup_free_ char *name = sk_layer_short_name(diff_id), *rel = sk_asprintf("l/%s", name),
			    *target = sk_asprintf("../layers/%s", sk_digest_hex(diff_id));
	char buf[PATH_MAX];
	ssize_t n;

	if (symlinkat(target, s->dirfd, rel) < 0) {
		if (errno != EEXIST)
			return sk_error_errno(err, "create link '%s/%s'", s->root, rel);
		n = readlinkat(s->dirfd, rel, buf, sizeof(buf) - 1);
		if (n < 0)
			return sk_error_errno(err, "read link '%s/%s'", s->root, rel);
		buf[n] = '\0';
		if (strcmp(buf, target) != 0)
			return sk_error_set(err, EEXIST, "link '%s/%s' points to '%s'", s->root,
					    rel, buf);
	}
	*ret = sk_asprintf("%s/%s", s->root, rel);
	return 0;
}

static uint64_t tree_size_fd(int fd, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	uint64_t total = 0;

	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		total += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode) && depth < 256) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				total += tree_size_fd(sub, depth + 1);
		}
	}
	closedir(d);
	return total;
}

uint64_t sk_tree_size(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
			   ? (uint64_t)st.st_blocks * 512
			   : 0;
	return tree_size_fd(fd, 0);
}
