/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import-docker.c - docker-archive importers: the manifest.json form that
 * `docker save` and `podman save` write ([{Config, RepoTags, Layers}]), and
 * the older form with a `repositories` file and <id>/json + <id>/layer.tar
 * per layer.  Both become ordinary OCI images in the store: the config blob
 * is kept byte for byte (so the image id is docker's), the layer.tar files
 * become layer blobs, and an OCI manifest is written for them.
 */
#include "image/image-internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

const char *sk_layer_media_type_sniff(struct sk_image_store *s, const char *digest)
{
	_cleanup_close_ int fd = sk_blob_open(s, digest, NULL);
	unsigned char b[4] = { 0 };

	if (fd >= 0 && sk_read_all(fd, b, 4) == 4) {
		if (b[0] == 0x1f && b[1] == 0x8b)
			return SK_MT_OCI_LAYER_GZIP;
		if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
			return SK_MT_OCI_LAYER_ZSTD;
	}
	return SK_MT_OCI_LAYER;
}

static int64_t blob_size(struct sk_image_store *s, const char *digest)
{
	_cleanup_free_ char *p = sk_asprintf("blobs/sha256/%s", sk_digest_hex(digest));
	struct stat st;

	return fstatat(s->dirfd, p, &st, 0) == 0 ? st.st_size : -1;
}

/* An OCI manifest for a config and the layer blobs (store digests). */
static char *make_manifest(struct sk_image_store *s, const char *config, size_t config_len,
			   char **layer_digests)
{
	json_t *m = sk_json_must(json_object()), *layers = sk_json_must(json_array());
	char cd[72];
	char *out;

	sk_sha256_buf(config, config_len, cd);
	sk_json_set(m, "schemaVersion", json_integer(2));
	sk_json_set(m, "mediaType", json_string(SK_MT_OCI_MANIFEST));
	sk_json_set(m, "config",
		    json_pack("{s:s, s:s, s:I}", "mediaType", SK_MT_OCI_CONFIG, "digest", cd,
			      "size", (json_int_t)config_len));
	for (char **d = layer_digests; d && *d; d++)
		sk_json_append(layers, json_pack("{s:s, s:s, s:I}", "mediaType",
						 sk_layer_media_type_sniff(s, *d), "digest", *d,
						 "size", (json_int_t)blob_size(s, *d)));
	sk_json_set(m, "layers", layers);
	out = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (!out)
		abort();
	return out;
}

/* "blobs/sha256/<hex>" or "<hex>.json" or "<hex>/layer.tar": the digest the name promises. */
static char *digest_from_name(const char *name)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	_cleanup_free_ char *d = NULL;

	if (sk_str_has_prefix(name, "blobs/sha256/"))
		d = sk_asprintf("sha256:%s", base);
	else if (strlen(base) == 69 && !strcmp(base + 64, ".json"))
		d = sk_asprintf("sha256:%.64s", base);
	return d && sk_digest_validate(d, NULL) == 0 ? TAKE_PTR(d) : NULL;
}

struct dentry {
	char *config;
	size_t config_len;
	size_t *wants; /* indexes into src.wants, one per layer */
	size_t n_layers;
};

static int docker_entry(struct sk_import *im, const struct sk_docker_manifest_entry *e,
			struct dentry *de, struct sk_error **err)
{
	_cleanup_(sk_image_config_freep) struct sk_image_config *c = NULL;
	_cleanup_free_ char *want = digest_from_name(e->config);
	char got[72];
	int r = sk_src_read(&im->src, e->config, &de->config, &de->config_len, err);

	if (r < 0)
		return r;
	sk_sha256_buf(de->config, de->config_len, got);
	if (want && strcmp(want, got))
		return sk_error_set(err, 0, "%s: %s: digest mismatch for blob %s: content is %s",
				    im->path, e->config, want, got);
	r = sk_image_config_parse(de->config, de->config_len, e->config, &c, err);
	if (r < 0) {
		sk_error_prefix(err, "%s", im->path);
		return r;
	}
	de->n_layers = sk_strv_length(e->layers);
	if (de->n_layers != sk_strv_length(c->diff_ids))
		return sk_error_set(err, 0, "%s: %s: %zu layers but %zu diff ids", im->path,
				    e->config, de->n_layers, sk_strv_length(c->diff_ids));
	de->wants = sk_new0(size_t, de->n_layers + 1);
	for (size_t i = 0; i < de->n_layers; i++) {
		_cleanup_free_ char *d = digest_from_name(e->layers[i]);

		de->wants[i] =
		    sk_src_want(&im->src, e->layers[i],
				sk_str_has_prefix(e->layers[i], "blobs/") ? d : NULL, -1);
	}
	return 0;
}

static int commit_entry(struct sk_import *im, struct dentry *de, char **names,
			struct sk_error **err)
{
	_cleanup_strv_ char **digests = sk_new0(char *, 1);
	_cleanup_free_ char *manifest = NULL;

	for (size_t i = 0; i < de->n_layers; i++)
		sk_strv_push(&digests, im->src.wants[de->wants[i]].got);
	manifest = make_manifest(im->s, de->config, de->config_len, digests);
	return sk_import_commit(im, manifest, strlen(manifest), de->config, de->config_len,
				im->o->name ? NULL : names, err);
}

int sk_import_docker(struct sk_import *im, struct sk_error **err)
{
	_cleanup_(sk_docker_manifest_freep) struct sk_docker_manifest *m = NULL;
	_cleanup_free_ char *buf = NULL;
	struct dentry *de = NULL;
	size_t len;
	int r = sk_src_read(&im->src, "manifest.json", &buf, &len, err);

	if (r == 0)
		r = sk_docker_manifest_parse(buf, len, "manifest.json", &m, err);
	if (r < 0) {
		sk_error_prefix(err, "%s", im->path);
		return r;
	}
	de = sk_new0(struct dentry, m->n_entries);
	for (size_t i = 0; i < m->n_entries && r == 0; i++)
		r = docker_entry(im, &m->entries[i], &de[i], err);
	if (r == 0)
		r = sk_src_fetch(im, err);
	for (size_t i = 0; i < m->n_entries && r == 0; i++)
		r = commit_entry(im, &de[i], m->entries[i].repo_tags, err);
	for (size_t i = 0; i < m->n_entries; i++) {
		free(de[i].config);
		free(de[i].wants);
	}
	free(de);
	return r;
}

/* ---- the older form: repositories + <id>/json + <id>/layer.tar ---- */

static bool valid_v1_id(const char *id)
{
	return id && strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64;
}

/* Layer ids of the image whose top layer is `top`, bottom first. */
static int v1_chain(struct sk_import *im, const char *top, char ***ret, json_t **ret_top,
		    struct sk_error **err)
{
	_cleanup_strv_ char **chain = sk_new0(char *, 1);
	_cleanup_free_ char *id = sk_strdup(top);
	size_t n;

	while (id) {
		_cleanup_free_ char *name = NULL, *buf = NULL;
		const char *parent;
		json_t *j;
		size_t len;
		int r;

		if (!valid_v1_id(id) || sk_strv_length(chain) >= SK_IMAGE_MAX_LAYERS)
			return sk_error_set(err, 0, "%s: invalid layer id or chain at '%.80s'",
					    im->path, id);
		name = sk_asprintf("%s/json", id);
		r = sk_src_read(&im->src, name, &buf, &len, err);
		if (r < 0)
			return r;
		j = json_loadb(buf, len, 0, NULL);
		if (!json_is_object(j)) {
			json_decref(j);
			return sk_error_set(err, 0, "%s: %s: invalid JSON", im->path, name);
		}
		sk_strv_push(&chain, id);
		parent = json_string_value(json_object_get(j, "parent"));
		free(id);
		id = sk_strdup(parent);
		if (!*ret_top)
			*ret_top = json_incref(j);
		json_decref(j);
	}
	n = sk_strv_length(chain);
	for (size_t i = 0; i < n / 2; i++) {
		char *t = chain[i];
		chain[i] = chain[n - 1 - i];
		chain[n - 1 - i] = t;
	}
	*ret = TAKE_PTR(chain);
	return 0;
}

/* The top layer's v1 json, made an image config with the layers' diff ids. */
static char *v1_config(json_t *top, char **diff_ids)
{
	static const char *const drop[] = { "id",	 "parent",    "Size", "layer_id",
					    "parent_id", "throwaway", NULL };
	json_t *c = json_deep_copy(top);
	char *out;

	for (const char *const *d = drop; *d; d++)
		json_object_del(c, *d);
	if (!json_object_get(c, "architecture"))
		sk_json_set(c, "architecture", json_string("amd64"));
	if (!json_object_get(c, "os"))
		sk_json_set(c, "os", json_string("linux"));
	sk_json_set(c, "rootfs",
		    json_pack("{s:s, s:o}", "type", "layers", "diff_ids", sk_strv_json(diff_ids)));
	out = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	if (!out)
		abort();
	return out;
}

static int v1_image(struct sk_import *im, const char *top, char **names, struct sk_error **err)
{
	_cleanup_strv_ char **chain = NULL, **digests = sk_new0(char *, 1),
			    **diff_ids = sk_new0(char *, 1);
	_cleanup_free_ char *config = NULL, *manifest = NULL;
	json_t *topj = NULL;
	size_t *w;
	size_t n;
	int r = v1_chain(im, top, &chain, &topj, err);

	if (r < 0) {
		json_decref(topj);
		return r;
	}
	n = sk_strv_length(chain);
	w = sk_new0(size_t, n + 1);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *name = sk_asprintf("%s/layer.tar", chain[i]);
		w[i] = sk_src_want(&im->src, name, NULL, -1);
	}
	r = sk_src_fetch(im, err);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *d = im->src.wants[w[i]].got;
		char diff[72];

		sk_strv_push(&digests, d);
		if (!strcmp(sk_layer_media_type_sniff(im->s, d), SK_MT_OCI_LAYER))
			memcpy(diff, d, 72); /* an uncompressed layer is its own diff id */
		else
			r = sk_layer_ensure_unknown(im->s, d, diff, err);
		sk_strv_push(&diff_ids, diff);
	}
	free(w);
	if (r == 0) {
		config = v1_config(topj, diff_ids);
		manifest = make_manifest(im->s, config, strlen(config), digests);
		r = sk_import_commit(im, manifest, strlen(manifest), config, strlen(config),
				     im->o->name ? NULL : names, err);
	}
	json_decref(topj);
	return r;
}

int sk_import_docker_legacy(struct sk_import *im, struct sk_error **err)
{
	_cleanup_free_ char *buf = NULL;
	json_t *repos, *tags, *id;
	const char *repo, *tag;
	size_t len;
	int r = sk_src_read(&im->src, "repositories", &buf, &len, err);

	if (r < 0)
		return r;
	repos = json_loadb(buf, len, 0, NULL);
	if (!json_is_object(repos)) {
		json_decref(repos);
		return sk_error_set(err, 0, "%s: repositories: not a JSON object", im->path);
	}
	json_object_foreach(repos, repo, tags)
	{
		json_object_foreach(tags, tag, id)
		{
			_cleanup_strv_ char **names = sk_new0(char *, 1);
			_cleanup_free_ char *name = sk_asprintf("%s:%s", repo, tag);

			if (!json_is_string(id)) {
				r = sk_error_set(err, 0, "%s: repositories: %s: not an id",
						 im->path, name);
				goto out;
			}
			sk_strv_push(&names, name);
			r = v1_image(im, json_string_value(id), names, err);
			if (r < 0)
				goto out;
		}
	}
out:
	json_decref(repos);
	return r;
}
