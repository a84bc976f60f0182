/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import-rootfs.c - an image from a plain root filesystem: a tarball (any
 * compression; stored as the layer blob as it is) or a directory (packed
 * into an uncompressed pax tar with libarchive, numeric owners, xattrs and
 * hard links kept).  The config comes from the import options: Entrypoint,
 * Cmd, Env, WorkingDir, User and ExposedPorts.
 */
#include "image/image-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>

static la_ssize_t tar_write(struct archive *a, void *userdata, const void *buf, size_t len)
{
	struct sk_blob_writer *w = userdata;
	struct sk_error *e = NULL;

	if (sk_blob_writer_write(w, buf, len, &e) < 0) {
		archive_set_error(a, e->code ? e->code : EIO, "%s", e->msg);
		sk_error_free(e);
		return -1;
	}
	return (la_ssize_t)len;
}

/* Name of a disk entry relative to the root being packed ("." for the root). */
static const char *relative(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (strncmp(path, root, n))
		return NULL;
	path += n;
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static int copy_data(struct archive *disk, struct archive *w, struct sk_error **err,
		     const char *name)
{
	char buf[1 << 16];
	la_ssize_t n;

	while ((n = archive_read_data(disk, buf, sizeof(buf))) > 0)
		if (archive_write_data(w, buf, (size_t)n) != n)
			return sk_error_set(err, 0, "pack '%s': %s", name, archive_error_string(w));
	return n < 0 ? sk_error_set(err, 0, "read '%s': %s", name, archive_error_string(disk)) : 0;
}

static int pack_entries(struct archive *disk, struct archive *w, const char *root,
			struct sk_error **err)
{
	struct archive_entry_linkresolver *lr = archive_entry_linkresolver_new();
	struct archive_entry *e = archive_entry_new(), *sparse = NULL;
	int r = 0;

	archive_entry_linkresolver_set_strategy(lr, archive_format(w));
	while (r == 0) {
		struct archive_entry *out;
		const char *rel;
		int ar = archive_read_next_header2(disk, e);

		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = sk_error_set(err, 0, "read '%s': %s", root, archive_error_string(disk));
			break;
		}
		(void)archive_read_disk_descend(disk);
		rel = relative(archive_entry_pathname(e), root);
		if (!rel)
			continue;
		archive_entry_copy_pathname(e, rel);
		archive_entry_set_uname(e, NULL);
		archive_entry_set_gname(e, NULL);
		out = e;
		archive_entry_linkify(lr, &out, &sparse);
		if (!out)
			continue;
		if (archive_write_header(w, out) < ARCHIVE_WARN) {
			r = sk_error_set(err, 0, "pack '%s': %s", rel, archive_error_string(w));
			break;
		}
		if (archive_entry_size(out) > 0 && !archive_entry_hardlink(out))
			r = copy_data(disk, w, err, rel);
	}
	archive_entry_free(e);
	archive_entry_linkresolver_free(lr);
	return r;
}

/* Packs directory `path` into a new tar blob; ret: its digest. */
static int pack_dir(struct sk_import *im, char ret[72], struct sk_error **err)
{
	_cleanup_(sk_blob_writer_freep) struct sk_blob_writer *bw = NULL;
	struct archive *disk = NULL, *w = NULL;
	int r = sk_blob_writer_new(im->s, &bw, err);

	if (r < 0)
		return r;
	disk = archive_read_disk_new();
	w = archive_write_new();
	if (!disk || !w)
		abort();
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	archive_write_set_format_pax_restricted(w);
	archive_write_set_bytes_in_last_block(w, 1);
	if (archive_write_open(w, bw, NULL, tar_write, NULL) != ARCHIVE_OK ||
	    archive_read_disk_open(disk, im->path) != ARCHIVE_OK)
		r = sk_error_set(err, 0, "pack '%s': %s", im->path,
				 archive_error_string(archive_errno(w) ? w : disk));
	else
		r = pack_entries(disk, w, im->path, err);
	if (r == 0 && archive_write_close(w) != ARCHIVE_OK)
		r = sk_error_set(err, 0, "pack '%s': %s", im->path, archive_error_string(w));
	archive_write_free(w);
	archive_read_free(disk);
	if (r == 0)
		r = sk_blob_writer_commit(bw, im->path, NULL, -1, ret, err);
	return r;
}

static json_t *ports_json(char **expose)
{
	json_t *o = sk_json_must(json_object());

	for (; expose && *expose; expose++) {
		_cleanup_free_ char *p =
		    strchr(*expose, '/') ? sk_strdup(*expose) : sk_asprintf("%s/tcp", *expose);
		sk_json_set(o, p, json_object());
	}
	return o;
}

static char *rootfs_config(const struct sk_image_import_opts *o, const char *diff_id)
{
	_cleanup_free_ char *now = sk_image_now_rfc3339();
	json_t *c = sk_json_must(json_object()), *cc = sk_json_must(json_object()), *env;
	char *out;

	env = o->env ? sk_strv_json(o->env)
		     : json_pack("[s]", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
					"/sbin:/bin");
	sk_json_set(cc, "Env", env);
	if (o->entrypoint)
		sk_json_set(cc, "Entrypoint", sk_strv_json(o->entrypoint));
	if (o->cmd)
		sk_json_set(cc, "Cmd", sk_strv_json(o->cmd));
	if (o->workdir)
		sk_json_set(cc, "WorkingDir", json_string(o->workdir));
	if (o->user)
		sk_json_set(cc, "User", json_string(o->user));
	if (o->expose)
		sk_json_set(cc, "ExposedPorts", ports_json(o->expose));
	sk_json_set(c, "created", json_string(now));
	sk_json_set(c, "architecture", json_string("amd64"));
	sk_json_set(c, "os", json_string("linux"));
	sk_json_set(c, "config", cc);
	sk_json_set(c, "rootfs", json_pack("{s:s, s:[s]}", "type", "layers", "diff_ids", diff_id));
	sk_json_set(c, "history",
		    json_pack("[{s:s, s:s}]", "created", now, "created_by", "skiff image import"));
	out = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	if (!out)
		abort();
	return out;
}

int sk_import_rootfs(struct sk_import *im, bool is_dir, struct sk_error **err)
{
	_cleanup_free_ char *config = NULL, *manifest = NULL;
	_cleanup_close_ int fd = -1;
	char digest[72], diff[72];
	json_t *m;
	int r;

	sk_import_progress(im, im->path, 0, 0);
	if (is_dir) {
		r = pack_dir(im, digest, err);
	} else {
		fd = open(im->path, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? sk_error_errno(err, "open '%s'", im->path)
			   : sk_blob_put_fd(im->s, fd, im->path, NULL, -1, digest, err);
	}
	if (r < 0)
		return r;
	r = sk_layer_ensure_unknown(im->s, digest, diff, err);
	if (r < 0) {
		sk_error_prefix(err, "%s", im->path);
		return r;
	}
	config = rootfs_config(im->o, diff);
	{
		char cd[72];
		_cleanup_close_ int bfd = sk_blob_open(im->s, digest, err);
		off_t size = bfd < 0 ? 0 : lseek(bfd, 0, SEEK_END);

		sk_sha256_buf(config, strlen(config), cd);
		m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}]}", "schemaVersion",
			      2, "mediaType", SK_MT_OCI_MANIFEST, "config", "mediaType",
			      SK_MT_OCI_CONFIG, "digest", cd, "size", (json_int_t)strlen(config),
			      "layers", "mediaType", sk_layer_media_type_sniff(im->s, digest),
			      "digest", digest, "size", (json_int_t)size);
	}
	manifest = json_dumps(sk_json_must(m), JSON_COMPACT);
	json_decref(m);
	if (!manifest)
		abort();
	return sk_import_commit(im, manifest, strlen(manifest), config, strlen(config), NULL, err);
}
