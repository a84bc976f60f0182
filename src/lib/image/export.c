/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export.c - `skiff image export`: an image as an OCI image layout, either
 * a directory or an oci-archive tar, with the manifest, config and layer
 * blobs copied byte for byte from the store, so digests (and the image id)
 * are the ones it was imported with.  index.json names the image with the
 * org.opencontainers.image.ref.name and io.containerd.image.name
 * annotations, which podman load and skopeo read.  The output appears only
 * when complete: a directory is built under a temp name, a tar written to
 * one, then renamed.
 */
#include "image/image-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct emitter {
	struct sk_image_store *s;
	int dirfd;	   /* directory output, or -1 */
	struct archive *w; /* archive output, or NULL */
	const char *path;
};

static int emit_dir_entry(struct emitter *em, const char *name)
{
	struct archive_entry *e;
	int r = 0;

	if (em->dirfd >= 0)
		return mkdirat(em->dirfd, name, 0755) < 0 && errno != EEXIST ? -errno : 0;
	e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(em->w, e) < ARCHIVE_WARN)
		r = -EIO;
	archive_entry_free(e);
	return r;
}

static int emit_file(struct emitter *em, const char *name, const char *buf, size_t len,
		     struct sk_error **err)
{
	struct archive_entry *e;
	int r = 0;

	if (em->dirfd >= 0) {
		_cleanup_close_ int fd =
		    openat(em->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return sk_error_errno(err, "create '%s/%s'", em->path, name);
		r = sk_write_all(fd, buf, len);
		return r < 0 ? sk_error_set(err, -r, "write '%s/%s'", em->path, name) : 0;
	}
	e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(em->w, e) < ARCHIVE_WARN ||
	    (len && archive_write_data(em->w, buf, len) != (la_ssize_t)len))
		r = sk_error_set(err, 0, "write '%s': %s: %s", em->path, name,
				 archive_error_string(em->w));
	archive_entry_free(e);
	return r;
}

static int emit_blob(struct emitter *em, const char *digest, struct sk_error **err)
{
	_cleanup_free_ char *name = sk_asprintf("blobs/sha256/%s", sk_digest_hex(digest));
	_cleanup_close_ int src = sk_blob_open(em->s, digest, err);
	_cleanup_close_ int dst = -1;
	struct archive_entry *e;
	struct stat st;
	char buf[1 << 16];
	ssize_t n;
	int r = 0;

	if (src < 0 || fstat(src, &st) < 0)
		return src < 0 ? src : sk_error_errno(err, "stat blob %s", digest);
	if (em->dirfd >= 0) {
		dst = openat(em->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (dst < 0)
			return errno == EEXIST
				   ? 0
				   : sk_error_errno(err, "create '%s/%s'", em->path, name);
		for (off_t left = st.st_size; left > 0; left -= n) {
			n = copy_file_range(src, NULL, dst, NULL, (size_t)left, 0);
			if (n <= 0)
				return sk_error_errno(err, "copy blob %s to '%s'", digest,
						      em->path);
		}
		return 0;
	}
	e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_mtime(e, st.st_mtime, 0);
	if (archive_write_header(em->w, e) < ARCHIVE_WARN)
		r = sk_error_set(err, 0, "write '%s': %s", em->path, archive_error_string(em->w));
	while (r == 0 && (n = read(src, buf, sizeof(buf))) > 0)
		if (archive_write_data(em->w, buf, (size_t)n) != n)
			r = sk_error_set(err, 0, "write '%s': %s", em->path,
					 archive_error_string(em->w));
	if (r == 0 && n < 0)
		r = sk_error_errno(err, "read blob %s", digest);
	archive_entry_free(e);
	return r;
}

static char *index_json(const struct sk_image_info *in, const char *name, size_t manifest_len)
{
	json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", in->manifest_media_type, "digest",
			      in->manifest_digest, "size", (json_int_t)manifest_len);
	json_t *x;
	char *out;

	if (name)
		sk_json_set(sk_json_must(d), "annotations",
			    json_pack("{s:s, s:s}", "org.opencontainers.image.ref.name", name,
				      "io.containerd.image.name", name));
	x = json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2, "mediaType", SK_MT_OCI_INDEX,
		      "manifests", sk_json_must(d));
	out = json_dumps(sk_json_must(x), JSON_INDENT(2));
	json_decref(x);
	if (!out)
		abort();
	return out;
}

static int emit_layout(struct emitter *em, const struct sk_image_info *in, const char *name,
		       struct sk_error **err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	_cleanup_(sk_image_manifest_freep) struct sk_image_manifest *m = NULL;
	_cleanup_free_ char *mbuf = NULL, *index = NULL;
	size_t mlen;
	int r = sk_blob_read(em->s, in->manifest_digest, &mbuf, &mlen, err);

	if (r == 0)
		r = sk_image_manifest_parse(mbuf, mlen, in->manifest_digest, &m, err);
	if (r < 0)
		return r;
	if ((r = emit_file(em, "oci-layout", layout, strlen(layout), err)) < 0)
		return r;
	if (emit_dir_entry(em, "blobs") < 0 || emit_dir_entry(em, "blobs/sha256") < 0)
		return sk_error_set(err, EIO, "create '%s/blobs/sha256'", em->path);
	if ((r = emit_blob(em, in->manifest_digest, err)) < 0 ||
	    (r = emit_blob(em, in->id, err)) < 0)
		return r;
	for (size_t i = 0; i < m->n_layers; i++)
		if ((r = emit_blob(em, m->layers[i].digest, err)) < 0)
			return r;
	index = index_json(in, name, mlen);
	return emit_file(em, "index.json", index, strlen(index), err);
}

int sk_image_export(struct sk_image_store *s, const char *name, const char *path,
		    enum sk_image_export_format format, struct sk_error **err)
{
	_cleanup_free_ char *tmp = sk_asprintf("%s.tmp-%d", path, getpid()), *norm = NULL;
	struct emitter em = { .s = s, .dirfd = -1, .path = path };
	const struct sk_image_info *in;
	const char *ref;
	struct stat st;
	int r = sk_image_lookup(s, name, &in, err);

	if (r < 0)
		return r;
	if (lstat(path, &st) == 0)
		return sk_error_set(err, EEXIST, "export to '%s'", path);
	/* the name it was asked by, when that is one of its names */
	ref = in->names[0];
	if (sk_image_name_normalize(name, &norm, NULL) == 0)
		for (char **n = in->names; *n; n++)
			if (!strcmp(*n, norm))
				ref = *n;
	if (format == SK_IMAGE_EXPORT_OCI_DIR) {
		if (mkdir(tmp, 0755) < 0)
			return sk_error_errno(err, "create '%s'", tmp);
		em.dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = em.dirfd < 0 ? sk_error_errno(err, "open '%s'", tmp)
				 : emit_layout(&em, in, ref, err);
		if (em.dirfd >= 0)
			close(em.dirfd);
	} else {
		em.w = archive_write_new();
		if (!em.w)
			abort();
		archive_write_set_format_pax_restricted(em.w);
		if (archive_write_open_filename(em.w, tmp) != ARCHIVE_OK)
			r = sk_error_set(err, 0, "create '%s': %s", tmp,
					 archive_error_string(em.w));
		else
			r = emit_layout(&em, in, ref, err);
		if (r == 0 && archive_write_close(em.w) != ARCHIVE_OK)
			r = sk_error_set(err, 0, "write '%s': %s", tmp, archive_error_string(em.w));
		archive_write_free(em.w);
	}
	if (r == 0 && rename(tmp, path) < 0)
		r = sk_error_errno(err, "rename '%s' to '%s'", tmp, path);
	if (r < 0)
		(void)sk_rm_rf(tmp);
	return r;
}
