/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.c - what an import reads from: a directory (an OCI layout) or a
 * tar (oci-archive, docker-archive, any compression libarchive reads).
 *
 * An archive is read twice and never unpacked to a scratch dir.  Pass 1
 * (sk_src_open) lists the entries and keeps the small files in memory:
 * index.json, manifest.json, manifests and configs are what decide what the
 * archive holds, and they may come in any order.  Pass 2 (sk_src_fetch)
 * streams only the blobs the importer asked for (sk_src_want) straight into
 * the blob store, each verified while it streams.  On a plain tar libarchive
 * skips the other entries' data by seeking.
 */
#include "image/image-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#define SK_SRC_SMALL (1u << 20)	    /* always kept */
#define SK_SRC_MEM_MAX (256u << 20) /* all kept files together */
#define SK_SRC_MAX_ENTRIES 1000000

static const char *clean_name(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	return name;
}

static int open_archive(const char *path, struct archive **ret, struct sk_error **err)
{
	struct archive *a = archive_read_new();

	if (!a)
		abort();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 1 << 17) != ARCHIVE_OK) {
		int r = sk_error_set(err, archive_errno(a) > 0 ? archive_errno(a) : 0,
				     "open '%s': %s", path, archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* Keeps a copy of the entry when it is small or looks like JSON. */
static int keep_small(struct sk_src *src, struct archive *a, struct archive_entry *e,
		      const char *name, struct sk_error **err)
{
	int64_t size = archive_entry_size(e);
	_cleanup_free_ char *buf = NULL;
	la_ssize_t n;

	if (size < 0 || size > SK_IMAGE_JSON_MAX || src->mem + (uint64_t)size > SK_SRC_MEM_MAX)
		return 0;
	buf = sk_malloc0((size_t)size + 1);
	n = archive_read_data(a, buf, (size_t)size);
	if (n < 0)
		return sk_error_set(err, 0, "%s: read '%s': %s", src->path, name,
				    archive_error_string(a));
	if (n != size)
		return sk_error_set(err, 0, "%s: '%s' is truncated", src->path, name);
	if (size > SK_SRC_SMALL && buf[0] != '{' && buf[0] != '[')
		return 0;
	src->files = sk_realloc(src->files, sizeof(*src->files) * (src->n_files + 1));
	src->files[src->n_files++] =
	    (struct sk_src_file){ .name = sk_strdup(name), .buf = TAKE_PTR(buf), .len = (size_t)n };
	src->mem += (uint64_t)n;
	return 0;
}

static int scan(struct sk_src *src, struct sk_error **err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	size_t n = 0;
	int r = open_archive(src->path, &a, err);

	while (r == 0) {
		int ar = archive_read_next_header(a, &e);
		const char *name;

		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = sk_error_set(err, 0, "%s: %s", src->path, archive_error_string(a));
			break;
		}
		if (++n > SK_SRC_MAX_ENTRIES) {
			r = sk_error_set(err, 0, "%s: more than %d entries", src->path,
					 SK_SRC_MAX_ENTRIES);
			break;
		}
		name = archive_entry_pathname(e) ?: archive_entry_pathname_utf8(e);
		if (!name)
			continue;
		name = clean_name(name);
		if (n <= 4096) /* enough to tell what the archive is */
			sk_strv_push(&src->names, name);
		if (archive_entry_filetype(e) == AE_IFREG)
			r = keep_small(src, a, e, name, err);
	}
	archive_read_free(a);
	return r;
}

int sk_src_open(struct sk_src *src, const char *path, struct sk_error **err)
{
	struct stat st;

	memset(src, 0, sizeof(*src));
	src->path = path;
	src->dirfd = -1;
	src->names = sk_new0(char *, 1);
	if (stat(path, &st) < 0)
		return sk_error_errno(err, "import '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		src->is_dir = true;
		src->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (src->dirfd < 0)
			return sk_error_errno(err, "open '%s'", path);
		return 0;
	}
	return scan(src, err);
}

void sk_src_release(struct sk_src *src)
{
	for (size_t i = 0; i < src->n_files; i++) {
		free(src->files[i].name);
		free(src->files[i].buf);
	}
	free(src->files);
	for (size_t i = 0; i < src->n_wants; i++) {
		free(src->wants[i].name);
		free(src->wants[i].digest);
	}
	free(src->wants);
	sk_strv_free(src->names);
	if (src->dirfd >= 0)
		close(src->dirfd);
}

bool sk_src_has(struct sk_src *src, const char *name)
{
	struct stat st;

	if (src->is_dir)
		return fstatat(src->dirfd, name, &st, 0) == 0;
	for (char **n = src->names; *n; n++)
		if (!strcmp(*n, name))
			return true;
	return false;
}

static const struct sk_src_file *find_file(struct sk_src *src, const char *name)
{
	for (size_t i = 0; i < src->n_files; i++)
		if (!strcmp(src->files[i].name, name))
			return &src->files[i];
	return NULL;
}

/* A name inside the source may not climb out of a directory source. */
static bool safe_name(const char *name)
{
	return name[0] != '/' && strcmp(name, "..") && !sk_str_has_prefix(name, "../") &&
	       !strstr(name, "/../") &&
	       !(strlen(name) >= 3 && !strcmp(name + strlen(name) - 3, "/.."));
}

int sk_src_read(struct sk_src *src, const char *name, char **ret, size_t *ret_len,
		struct sk_error **err)
{
	const struct sk_src_file *f;

	name = clean_name(name);
	if (!safe_name(name))
		return sk_error_set(err, 0, "%s: invalid name '%s'", src->path, name);
	if (src->is_dir) {
		int r = sk_read_file_at(src->dirfd, name, ret, ret_len);

		if (r == -ENOENT)
			return sk_error_set(err, ENOENT, "%s: missing '%s'", src->path, name);
		return r < 0 ? sk_error_set(err, -r, "%s: read '%s'", src->path, name) : 0;
	}
	f = find_file(src, name);
	if (!f)
		return sk_error_set(err, sk_src_has(src, name) ? EFBIG : ENOENT, "%s: '%s'",
				    src->path, name);
	*ret = sk_malloc0(f->len + 1);
	memcpy(*ret, f->buf, f->len);
	*ret_len = f->len;
	return 0;
}

size_t sk_src_want(struct sk_src *src, const char *name, const char *digest, int64_t size)
{
	name = clean_name(name);
	for (size_t i = 0; i < src->n_wants; i++)
		if (!strcmp(src->wants[i].name, name))
			return i;
	src->wants = sk_realloc(src->wants, sizeof(*src->wants) * (src->n_wants + 1));
	src->wants[src->n_wants] = (struct sk_src_want){ .name = sk_strdup(name),
							 .digest = sk_strdup(digest),
							 .size = size };
	return src->n_wants++;
}

static int fetch_entry(struct sk_import *im, struct archive *a, struct sk_src_want *w,
		       struct sk_error **err)
{
	_cleanup_(sk_blob_writer_freep) struct sk_blob_writer *bw = NULL;
	_cleanup_free_ char *what = sk_asprintf("%s: %s", im->path, w->name);
	char buf[1 << 16];
	int r = sk_blob_writer_new(im->s, &bw, err);

	if (r < 0)
		return r;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));

		if (n == 0)
			break;
		if (n < 0)
			return sk_error_set(err, 0, "%s: %s", what, archive_error_string(a));
		r = sk_blob_writer_write(bw, buf, (size_t)n, err);
		if (r < 0)
			return r;
		sk_import_progress(im, w->name, sk_blob_writer_size(bw),
				   w->size > 0 ? (uint64_t)w->size : 0);
	}
	return sk_blob_writer_commit(bw, what, w->digest, w->size, w->got, err);
}

static int fetch_dir(struct sk_import *im, struct sk_src_want *w, struct sk_error **err)
{
	_cleanup_free_ char *what = sk_asprintf("%s/%s", im->path, w->name);
	_cleanup_close_ int fd = -1;

	if (!safe_name(w->name))
		return sk_error_set(err, 0, "%s: invalid name", what);
	fd = openat(im->src.dirfd, w->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT && w->digest
			   ? sk_error_set(err, 0, "%s: missing blob %s", im->path, w->digest)
			   : sk_error_errno(err, "open '%s'", what);
	sk_import_progress(im, w->name, 0, w->size > 0 ? (uint64_t)w->size : 0);
	return sk_blob_put_fd(im->s, fd, what, w->digest, w->size, w->got, err);
}

static struct sk_src_want *wanted(struct sk_src *src, const char *name)
{
	for (size_t i = 0; i < src->n_wants; i++)
		if (!src->wants[i].got[0] && !strcmp(src->wants[i].name, name))
			return &src->wants[i];
	return NULL;
}

static int fetch_archive(struct sk_import *im, struct sk_error **err)
{
	struct sk_src *src = &im->src;
	struct archive *a = NULL;
	struct archive_entry *e;
	int r = open_archive(src->path, &a, err);

	while (r == 0) {
		int ar = archive_read_next_header(a, &e);
		struct sk_src_want *w;
		const char *name;

		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = sk_error_set(err, 0, "%s: %s", src->path, archive_error_string(a));
			break;
		}
		name = archive_entry_pathname(e) ?: archive_entry_pathname_utf8(e);
		if (!name || archive_entry_filetype(e) != AE_IFREG ||
		    !(w = wanted(src, clean_name(name))))
			continue;
		r = fetch_entry(im, a, w, err);
	}
	archive_read_free(a);
	return r;
}

int sk_src_fetch(struct sk_import *im, struct sk_error **err)
{
	struct sk_src *src = &im->src;
	int r = 0;

	for (size_t i = 0; i < src->n_wants; i++) {
		struct sk_src_want *w = &src->wants[i];

		if (w->digest && sk_blob_exists(im->s, w->digest)) {
			memcpy(w->got, w->digest, 72);
			continue;
		}
		if (src->is_dir) {
			r = fetch_dir(im, w, err);
			if (r < 0)
				return r;
		}
	}
	if (!src->is_dir) {
		bool need = false;

		for (size_t i = 0; i < src->n_wants; i++)
			need |= !src->wants[i].got[0];
		if (need && (r = fetch_archive(im, err)) < 0)
			return r;
	}
	for (size_t i = 0; i < src->n_wants; i++)
		if (!src->wants[i].got[0]) {
			if (src->wants[i].digest)
				return sk_error_set(err, 0, "%s: missing blob %s", src->path,
						    src->wants[i].digest);
			return sk_error_set(err, 0, "%s: missing '%s'", src->path,
					    src->wants[i].name);
		}
	return 0;
}
