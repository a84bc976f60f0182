/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import.c - `skiff image import`: tells from the content what `path` is
 * (an OCI layout directory or oci-archive, a docker-archive in either of
 * its forms, or a plain rootfs tarball or directory), imports every image
 * in it, and indexes them all or none.  This file holds the detection, the
 * OCI layout importer and the commit every importer ends with; the docker
 * forms and plain rootfs live in import-docker.c and import-rootfs.c.
 *
 * Every manifest and config is checked against its descriptor (digest,
 * size, media type) before anything is stored; layer blobs are verified
 * while they stream (source.c) and their diff ids while they unpack
 * (layers.c).  When an import fails the index is left as it was and the
 * content the failed import added is garbage-collected.
 */
#include "image/image-internal.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

void sk_import_progress(struct sk_import *im, const char *what, uint64_t done, uint64_t total)
{
	if (im->o && im->o->progress)
		im->o->progress(what, done, total, im->o->userdata);
}

/* Reads a JSON blob of the source and checks it against its descriptor. */
static int read_desc(struct sk_import *im, const struct sk_image_descriptor *d, char **ret,
		     size_t *ret_len, struct sk_error **err)
{
	_cleanup_free_ char *name = sk_asprintf("blobs/sha256/%s", sk_digest_hex(d->digest)),
			    *buf = NULL;
	char got[72];
	size_t len;
	int r = sk_src_read(&im->src, name, &buf, &len, err);

	if (r == -ENOENT) {
		if (err) {
			sk_error_free(*err);
			*err = NULL;
		}
		return sk_error_set(err, 0, "%s: missing blob %s", im->path, d->digest);
	}
	if (r < 0)
		return r;
	if (len < (uint64_t)d->size)
		return sk_error_set(err, 0, "%s: truncated blob %s: %zu of %" PRId64 " bytes",
				    im->path, d->digest, len, d->size);
	if (len != (uint64_t)d->size)
		return sk_error_set(err, 0,
				    "%s: size mismatch for blob %s: %zu bytes, expected %" PRId64,
				    im->path, d->digest, len, d->size);
	sk_sha256_buf(buf, len, got);
	if (strcmp(got, d->digest))
		return sk_error_set(err, 0, "%s: digest mismatch for blob %s: content is %s",
				    im->path, d->digest, got);
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int sk_import_commit(struct sk_import *im, const char *manifest_json, size_t manifest_len,
		     const char *config_json, size_t config_len, char **names,
		     struct sk_error **err)
{
	_cleanup_(sk_image_manifest_freep) struct sk_image_manifest *m = NULL;
	_cleanup_(sk_image_config_freep) struct sk_image_config *c = NULL;
	_cleanup_free_ char *id = NULL;
	char mdigest[72], cdigest[72];
	size_t n;
	int r;

	sk_sha256_buf(manifest_json, manifest_len, mdigest);
	if ((r = sk_image_manifest_parse(manifest_json, manifest_len, mdigest, &m, err)) < 0 ||
	    (r = sk_image_config_parse(config_json, config_len, m->config.digest, &c, err)) < 0)
		return r;
	sk_sha256_buf(config_json, config_len, cdigest);
	if (strcmp(cdigest, m->config.digest))
		return sk_error_set(err, 0, "digest mismatch for blob %s: content is %s",
				    m->config.digest, cdigest);
	n = sk_strv_length(c->diff_ids);
	if (n != m->n_layers)
		return sk_error_set(err, 0, "image %s: %zu layers but %zu diff ids", cdigest,
				    m->n_layers, n);
	if ((r = sk_blob_put_buf(im->s, manifest_json, manifest_len, NULL, err)) < 0 ||
	    (r = sk_blob_put_buf(im->s, config_json, config_len, NULL, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		sk_import_progress(im, c->diff_ids[i], i, n);
		r = sk_layer_ensure(im->s, m->layers[i].digest, c->diff_ids[i], c->diff_ids, i,
				    err);
		if (r < 0) {
			sk_error_prefix(err, "%s", im->path);
			return r;
		}
	}
	r = sk_store_add_image(im->s, mdigest, m->media_type ?: SK_MT_OCI_MANIFEST, cdigest, c,
			       NULL, &id, err);
	for (char **nm = names; r == 0 && nm && *nm; nm++)
		r = sk_store_add_image(im->s, mdigest, NULL, cdigest, c, *nm, NULL, err);
	if (r < 0)
		return r;
	sk_strv_push(&im->ids, id);
	return 0;
}

/* A manifest to import: its bytes, its config's and the names it goes by. */
struct pending {
	char *manifest, *config;
	size_t manifest_len, config_len;
	char **names;
};

static void pending_release(struct pending *p)
{
	free(p->manifest);
	free(p->config);
	sk_strv_free(p->names);
}

static int check_config_type(struct sk_import *im, const struct sk_image_manifest *m,
			     struct sk_error **err)
{
	const char *mt = m->config.media_type;

	if (mt && strcmp(mt, SK_MT_OCI_CONFIG) && strcmp(mt, SK_MT_DOCKER_CONFIG))
		return sk_error_set(err, 0, "%s: wrong mediaType '%s' for image config %s",
				    im->path, mt, m->config.digest);
	return 0;
}

static int add_manifest(struct sk_import *im, const struct sk_image_descriptor *d, const char *name,
			struct pending *p, struct sk_error **err)
{
	_cleanup_(sk_image_manifest_freep) struct sk_image_manifest *m = NULL;
	int r = read_desc(im, d, &p->manifest, &p->manifest_len, err);

	if (r < 0)
		return r;
	r = sk_image_manifest_parse(p->manifest, p->manifest_len, d->digest, &m, err);
	if (r < 0) {
		sk_error_prefix(err, "%s", im->path);
		return r;
	}
	if ((r = check_config_type(im, m, err)) < 0 ||
	    (r = read_desc(im, &m->config, &p->config, &p->config_len, err)) < 0)
		return r;
	for (size_t i = 0; i < m->n_layers; i++) {
		_cleanup_free_ char *bn =
		    sk_asprintf("blobs/sha256/%s", sk_digest_hex(m->layers[i].digest));

		(void)sk_src_want(&im->src, bn, m->layers[i].digest, m->layers[i].size);
	}
	p->names = sk_new0(char *, 1);
	if (name)
		sk_strv_push(&p->names, name);
	return 0;
}

/* A ref name that is a whole reference ("docker.io/x/y:1"), not just a tag. */
static const char *descriptor_name(const struct sk_image_descriptor *d)
{
	if (d->containerd_name)
		return d->containerd_name;
	if (d->ref_name && (strchr(d->ref_name, '/') || strchr(d->ref_name, ':')))
		return d->ref_name;
	return NULL;
}

/* Picks the platform's manifest of a nested index. */
static int pick_platform(struct sk_import *im, const struct sk_image_descriptor *d,
			 struct sk_image_descriptor **ret, struct sk_image_index **ret_x,
			 struct sk_error **err)
{
	_cleanup_free_ char *buf = NULL;
	struct sk_image_index *x = NULL;
	size_t len;
	int r = read_desc(im, d, &buf, &len, err);

	if (r == 0)
		r = sk_image_index_parse(buf, len, d->digest, &x, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < x->n_manifests; i++)
		if (sk_media_type_is_manifest(x->manifests[i].media_type) &&
		    sk_descriptor_matches_platform(&x->manifests[i], im->o->platform)) {
			*ret = &x->manifests[i];
			*ret_x = x;
			return 0;
		}
	sk_image_index_free(x);
	return sk_error_set(err, 0, "%s: index %s has no image for platform %s", im->path,
			    d->digest, im->o->platform ?: "linux/amd64");
}

static int collect_oci(struct sk_import *im, struct sk_image_index *x, struct pending **ret,
		       size_t *ret_n, struct sk_error **err)
{
	struct pending *p = sk_new0(struct pending, x->n_manifests + 1);
	size_t n = 0, skipped = 0;
	int r = 0;

	for (size_t i = 0; i < x->n_manifests && r == 0; i++) {
		struct sk_image_descriptor *d = &x->manifests[i];
		struct sk_image_index *nested = NULL;

		if (sk_media_type_is_index(d->media_type)) {
			r = pick_platform(im, d, &d, &nested, err);
			if (r == 0)
				r = add_manifest(im, d, descriptor_name(&x->manifests[i]), &p[n++],
						 err);
			sk_image_index_free(nested);
		} else if (d->media_type && !sk_media_type_is_manifest(d->media_type)) {
			r = sk_error_set(err, 0,
					 "%s: index.json: manifests[%zu]: wrong mediaType '%s'",
					 im->path, i, d->media_type);
		} else if (!sk_descriptor_matches_platform(d, im->o->platform)) {
			skipped++;
		} else {
			r = add_manifest(im, d, descriptor_name(d), &p[n++], err);
		}
	}
	if (r == 0 && n == 0)
		r = sk_error_set(err, 0, "%s: no image%s%s", im->path,
				 skipped ? " for platform " : "",
				 skipped ? (im->o->platform ?: "linux/amd64") : "");
	*ret = p;
	*ret_n = n;
	return r;
}

int sk_import_oci(struct sk_import *im, struct sk_error **err)
{
	_cleanup_(sk_image_index_freep) struct sk_image_index *x = NULL;
	_cleanup_free_ char *buf = NULL;
	struct pending *p = NULL;
	size_t len, n = 0;
	int r = sk_src_read(&im->src, "index.json", &buf, &len, err);

	if (r == 0)
		r = sk_image_index_parse(buf, len, "index.json", &x, err);
	if (r < 0) {
		sk_error_prefix(err, "%s", im->path);
		return r;
	}
	r = collect_oci(im, x, &p, &n, err);
	if (r == 0)
		r = sk_src_fetch(im, err);
	for (size_t i = 0; i < n && r == 0; i++)
		r = sk_import_commit(im, p[i].manifest, p[i].manifest_len, p[i].config,
				     p[i].config_len, im->o->name ? NULL : p[i].names, err);
	for (size_t i = 0; i < n; i++)
		pending_release(&p[i]);
	free(p);
	return r;
}

static bool src_has_suffix(struct sk_src *src, const char *suffix)
{
	size_t sl = strlen(suffix);

	for (char **n = src->names; *n; n++)
		if (strlen(*n) >= sl && !strcmp(*n + strlen(*n) - sl, suffix))
			return true;
	return false;
}

static int dispatch(struct sk_import *im, struct sk_error **err)
{
	struct sk_src *src = &im->src;

	if (src->is_dir)
		return sk_src_has(src, "oci-layout") ? sk_import_oci(im, err)
						     : sk_import_rootfs(im, true, err);
	if (sk_src_has(src, "manifest.json"))
		return sk_import_docker(im, err);
	if (sk_src_has(src, "oci-layout") && sk_src_has(src, "index.json"))
		return sk_import_oci(im, err);
	if (sk_src_has(src, "repositories") && src_has_suffix(src, "/layer.tar"))
		return sk_import_docker_legacy(im, err);
	return sk_import_rootfs(im, false, err);
}

/* Forgets what a failed import indexed in memory and removes what it stored. */
static void rollback(struct sk_image_store *s)
{
	uint64_t freed = 0;

	if (sk_store_reload(s, NULL) == 0)
		(void)sk_store_gc(s, &freed, NULL);
}

int sk_image_import(struct sk_image_store *s, const char *path,
		    const struct sk_image_import_opts *o, char ***ret_ids, struct sk_error **err)
{
	static const struct sk_image_import_opts none = { 0 };
	struct sk_import im = { .s = s, .o = o ? o : &none, .path = path };
	int r;

	assert(s->write);
	if (im.o->name) {
		_cleanup_free_ char *norm = NULL;

		r = sk_image_name_normalize(im.o->name, &norm, err);
		if (r < 0)
			return r;
	}
	r = sk_src_open(&im.src, path, err);
	if (r == 0)
		r = dispatch(&im, err);
	if (r == 0 && im.o->name && sk_strv_length(im.ids) > 1)
		r = sk_error_set(err, 0, "%s: --name given but the archive holds %zu images", path,
				 sk_strv_length(im.ids));
	if (r == 0 && im.o->name)
		r = sk_store_add_image(s, "", NULL, im.ids[0], NULL, im.o->name, NULL, err);
	if (r == 0)
		r = sk_store_save(s, err);
	sk_src_release(&im.src);
	if (r < 0) {
		sk_strv_free(im.ids);
		rollback(s);
		return r;
	}
	if (ret_ids)
		*ret_ids = im.ids;
	else
		sk_strv_free(im.ids);
	return 0;
}
