/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.c - parsing of the image-spec documents that say what an image
 * is made of: the image manifest, the image index (and docker's manifest
 * list), and docker-archive's manifest.json.  Every document comes from an
 * untrusted archive: sizes are bounded, types checked, digests validated,
 * and the first problem is reported with the document's name and the field.
 * The image config lives in config.c.
 */
#include "image/image-internal.h"

#include <string.h>

static bool str_in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

bool sk_media_type_is_manifest(const char *mt)
{
	static const char *const set[] = { SK_MT_OCI_MANIFEST, SK_MT_DOCKER_MANIFEST, NULL };

	return mt && str_in(mt, set);
}

bool sk_media_type_is_index(const char *mt)
{
	static const char *const set[] = { SK_MT_OCI_INDEX, SK_MT_DOCKER_LIST, NULL };

	return mt && str_in(mt, set);
}

bool sk_media_type_is_layer(const char *mt)
{
	static const char *const set[] = {
		SK_MT_OCI_LAYER,
		SK_MT_OCI_LAYER_GZIP,
		SK_MT_OCI_LAYER_ZSTD,
		SK_MT_DOCKER_LAYER,
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
		NULL,
	};

	return mt && str_in(mt, set);
}

static int load(const char *json, size_t len, const char *name, json_t **ret, struct sk_error **err)
{
	json_error_t je;
	json_t *root;

	if (len > SK_IMAGE_JSON_MAX)
		return sk_error_set(err, EFBIG, "%s", name);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return sk_error_set(err, 0, "%s: invalid JSON at line %d: %s", name, je.line,
				    je.text);
	if (!json_is_object(root) && !json_is_array(root)) {
		json_decref(root);
		return sk_error_set(err, 0, "%s: not a JSON object", name);
	}
	*ret = root;
	return 0;
}

static int opt_string(json_t *obj, const char *key, const char *name, const char *path, char **ret,
		      struct sk_error **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return sk_error_set(err, 0, "%s: %s%s: not a string", name, path, key);
	*ret = sk_strdup(json_string_value(v));
	return 0;
}

static void descriptor_release(struct sk_image_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->ref_name);
	free(d->containerd_name);
	free(d->os);
	free(d->architecture);
	free(d->variant);
}

/* Parses a descriptor at `path` ("layers[2]."). */
static int descriptor_parse(json_t *v, const char *name, const char *path,
			    struct sk_image_descriptor *d, struct sk_error **err)
{
	json_t *size, *ann, *plat;
	int r;

	if (!json_is_object(v))
		return sk_error_set(err, 0, "%s: %s: not an object", name, path);
	if ((r = opt_string(v, "mediaType", name, path, &d->media_type, err)) < 0 ||
	    (r = opt_string(v, "digest", name, path, &d->digest, err)) < 0)
		return r;
	if (sk_digest_validate(d->digest, err) < 0) {
		sk_error_prefix(err, "%s: %sdigest", name, path);
		return -EINVAL;
	}
	size = json_object_get(v, "size");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return sk_error_set(err, 0, "%s: %ssize: not a non-negative integer", name, path);
	d->size = json_integer_value(size);
	ann = json_object_get(v, "annotations");
	if (json_is_object(ann)) {
		if ((r = opt_string(ann, "org.opencontainers.image.ref.name", name, path,
				    &d->ref_name, err)) < 0 ||
		    (r = opt_string(ann, "io.containerd.image.name", name, path,
				    &d->containerd_name, err)) < 0)
			return r;
	}
	plat = json_object_get(v, "platform");
	if (json_is_object(plat)) {
		d->has_platform = true;
		if ((r = opt_string(plat, "os", name, path, &d->os, err)) < 0 ||
		    (r = opt_string(plat, "architecture", name, path, &d->architecture, err)) < 0 ||
		    (r = opt_string(plat, "variant", name, path, &d->variant, err)) < 0)
			return r;
	}
	return 0;
}

bool sk_descriptor_matches_platform(const struct sk_image_descriptor *d, const char *platform)
{
	_cleanup_free_ char *p = sk_strdup(platform ? platform : "linux/amd64");
	char *arch = strchr(p, '/'), *variant;

	if (!d->has_platform)
		return true;
	if (!arch)
		return false;
	*arch++ = '\0';
	variant = strchr(arch, '/');
	if (variant)
		*variant++ = '\0';
	if (!d->os || strcmp(d->os, p) || !d->architecture || strcmp(d->architecture, arch))
		return false;
	return !variant || (d->variant && !strcmp(d->variant, variant));
}

int sk_image_manifest_parse(const char *json, size_t len, const char *name,
			    struct sk_image_manifest **ret, struct sk_error **err)
{
	_cleanup_(sk_image_manifest_freep) struct sk_image_manifest *m = NULL;
	json_t *root = NULL, *layers, *sv;
	size_t i;
	int r = load(json, len, name, &root, err);

	if (r < 0)
		return r;
	m = sk_new0(struct sk_image_manifest, 1);
	sv = json_object_get(root, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
		r = sk_error_set(err, 0, "%s: schemaVersion: not 2", name);
		goto out;
	}
	if ((r = opt_string(root, "mediaType", name, "", &m->media_type, err)) < 0)
		goto out;
	if (m->media_type && !sk_media_type_is_manifest(m->media_type)) {
		r = sk_error_set(err, 0, "%s: wrong mediaType '%s' for an image manifest", name,
				 m->media_type);
		goto out;
	}
	if ((r = descriptor_parse(json_object_get(root, "config"), name, "config.", &m->config,
				  err)) < 0)
		goto out;
	layers = json_object_get(root, "layers");
	if (!json_is_array(layers)) {
		r = sk_error_set(err, 0, "%s: layers: not an array", name);
		goto out;
	}
	if (json_array_size(layers) > SK_IMAGE_MAX_LAYERS) {
		r = sk_error_set(err, 0, "%s: layers: more than %d", name, SK_IMAGE_MAX_LAYERS);
		goto out;
	}
	m->layers = sk_new0(struct sk_image_descriptor, json_array_size(layers) + 1);
	json_array_foreach(layers, i, sv)
	{
		char path[48];

		snprintf(path, sizeof(path), "layers[%zu].", i);
		m->n_layers++;
		if ((r = descriptor_parse(sv, name, path, &m->layers[i], err)) < 0)
			goto out;
		if (!sk_media_type_is_layer(m->layers[i].media_type)) {
			r = sk_error_set(
			    err, 0, "%s: %smediaType: wrong mediaType '%s' for a layer", name, path,
			    m->layers[i].media_type ? m->layers[i].media_type : "");
			goto out;
		}
	}
	*ret = TAKE_PTR(m);
out:
	json_decref(root);
	return r;
}

int sk_image_index_parse(const char *json, size_t len, const char *name,
			 struct sk_image_index **ret, struct sk_error **err)
{
	_cleanup_(sk_image_index_freep) struct sk_image_index *x = NULL;
	_cleanup_free_ char *mt = NULL;
	json_t *root = NULL, *ms, *v;
	size_t i;
	int r = load(json, len, name, &root, err);

	if (r < 0)
		return r;
	x = sk_new0(struct sk_image_index, 1);
	v = json_object_get(root, "schemaVersion");
	if (!json_is_integer(v) || json_integer_value(v) != 2) {
		r = sk_error_set(err, 0, "%s: schemaVersion: not 2", name);
		goto out;
	}
	if ((r = opt_string(root, "mediaType", name, "", &mt, err)) < 0)
		goto out;
	if (mt && !sk_media_type_is_index(mt)) {
		r = sk_error_set(err, 0, "%s: wrong mediaType '%s' for an image index", name, mt);
		goto out;
	}
	ms = json_object_get(root, "manifests");
	if (!json_is_array(ms)) {
		r = sk_error_set(err, 0, "%s: manifests: not an array", name);
		goto out;
	}
	if (json_array_size(ms) > 4096) {
		r = sk_error_set(err, 0, "%s: manifests: too many", name);
		goto out;
	}
	x->manifests = sk_new0(struct sk_image_descriptor, json_array_size(ms) + 1);
	json_array_foreach(ms, i, v)
	{
		char path[48];

		snprintf(path, sizeof(path), "manifests[%zu].", i);
		x->n_manifests++;
		if ((r = descriptor_parse(v, name, path, &x->manifests[i], err)) < 0)
			goto out;
	}
	*ret = TAKE_PTR(x);
out:
	json_decref(root);
	return r;
}

static int strv_field(json_t *obj, const char *key, const char *name, size_t i, bool required,
		      char ***ret, struct sk_error **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			return sk_error_set(err, 0, "%s: [%zu].%s: missing", name, i, key);
		return 0;
	}
	*ret = sk_json_strv(v);
	if (!*ret)
		return sk_error_set(err, 0, "%s: [%zu].%s: not an array of strings", name, i, key);
	return 0;
}

int sk_docker_manifest_parse(const char *json, size_t len, const char *name,
			     struct sk_docker_manifest **ret, struct sk_error **err)
{
	_cleanup_(sk_docker_manifest_freep) struct sk_docker_manifest *m = NULL;
	json_t *root = NULL, *v;
	size_t i;
	int r = load(json, len, name, &root, err);

	if (r < 0)
		return r;
	if (!json_is_array(root) || json_array_size(root) == 0 || json_array_size(root) > 4096) {
		r = sk_error_set(err, 0, "%s: not a non-empty array of images", name);
		goto out;
	}
	m = sk_new0(struct sk_docker_manifest, 1);
	m->entries = sk_new0(struct sk_docker_manifest_entry, json_array_size(root));
	json_array_foreach(root, i, v)
	{
		struct sk_docker_manifest_entry *e = &m->entries[i];
		json_t *c = json_object_get(v, "Config");

		m->n_entries++;
		if (!json_is_string(c)) {
			r = sk_error_set(err, 0, "%s: [%zu].Config: not a string", name, i);
			goto out;
		}
		e->config = sk_strdup(json_string_value(c));
		if ((r = strv_field(v, "RepoTags", name, i, false, &e->repo_tags, err)) < 0 ||
		    (r = strv_field(v, "Layers", name, i, true, &e->layers, err)) < 0)
			goto out;
		if (sk_strv_length(e->layers) > SK_IMAGE_MAX_LAYERS) {
			r = sk_error_set(err, 0, "%s: [%zu].Layers: more than %d", name, i,
					 SK_IMAGE_MAX_LAYERS);
			goto out;
		}
	}
	*ret = TAKE_PTR(m);
out:
	json_decref(root);
	return r;
}

void sk_image_manifest_free(struct sk_image_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_release(&m->layers[i]);
	free(m->layers);
	free(m);
}

void sk_image_index_free(struct sk_image_index *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n_manifests; i++)
		descriptor_release(&x->manifests[i]);
	free(x->manifests);
	free(x);
}

void sk_docker_manifest_free(struct sk_docker_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_entries; i++) {
		free(m->entries[i].config);
		sk_strv_free(m->entries[i].repo_tags);
		sk_strv_free(m->entries[i].layers);
	}
	free(m->entries);
	free(m);
}
