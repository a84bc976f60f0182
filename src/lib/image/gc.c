/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc.c - garbage collection of the store's content: blobs no image's
 * manifest names, layers no image or container uses, short links to
 * layers that are gone, and temp files and dirs a crash left behind.
 * Runs under the store's exclusive lock, so no import is in flight.
 * If any image's manifest cannot be read, nothing is removed.
 */
#include "image/image-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static void keep(json_t *set, const char *digest)
{
	sk_json_set(set, sk_digest_hex(digest), json_true());
}

static int mark(struct sk_image_store *s, json_t *blobs, json_t *layers, struct sk_error **err)
{
	json_t *cl = sk_store_container_layers(s), *v;
	size_t k;

	for (size_t i = 0; i < s->n_images; i++) {
		const struct sk_image_info *in = &s->images[i];
		_cleanup_(sk_image_manifest_freep) struct sk_image_manifest *m = NULL;
		_cleanup_free_ char *buf = NULL;
		size_t len;
		int r;

		keep(blobs, in->id);
		keep(blobs, in->manifest_digest);
		for (char **d = in->diff_ids; *d; d++)
			keep(layers, *d);
		r = sk_blob_read(s, in->manifest_digest, &buf, &len, err);
		if (r == 0)
			r = sk_image_manifest_parse(buf, len, in->manifest_digest, &m, err);
		if (r < 0) {
			json_decref(cl);
			sk_error_prefix(err, "image %s", in->id);
			return r;
		}
		for (size_t l = 0; l < m->n_layers; l++)
			keep(blobs, m->layers[l].digest);
	}
	json_array_foreach(cl, k, v) if (sk_digest_validate(json_string_value(v), NULL) == 0)
	    keep(layers, json_string_value(v));
	json_decref(cl);
	return 0;
}

/* Removes every entry of dir `rel` whose name is not in `set`. */
static int sweep(struct sk_image_store *s, const char *rel, json_t *set, bool links,
		 uint64_t *freed, struct sk_error **err)
{
	int fd = openat(s->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? 0 : sk_error_errno(err, "open '%s/%s'", s->root, rel);
	}
	while ((de = readdir(d)) && r == 0) {
		_cleanup_free_ char *path = NULL;
		char target[PATH_MAX];
		const char *name = de->d_name;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (links) {
			ssize_t n = readlinkat(dirfd(d), name, target, sizeof(target) - 1);

			if (n > 0) {
				target[n] = '\0';
				name = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
			}
		}
		if (json_object_get(set, name))
			continue;
		path = sk_asprintf("%s/%s/%s", s->root, rel, de->d_name);
		*freed += sk_tree_size(dirfd(d), de->d_name);
		r = sk_rm_rf(path);
		if (r < 0)
			r = sk_error_set(err, -r, "remove '%s'", path);
	}
	closedir(d);
	return r;
}

int sk_store_gc(struct sk_image_store *s, uint64_t *freed, struct sk_error **err)
{
	json_t *blobs = sk_json_must(json_object()), *layers = sk_json_must(json_object());
	json_t *v;
	const char *k;
	void *tmp;
	int r = mark(s, blobs, layers, err);

	if (r == 0)
		r = sweep(s, "blobs/sha256", blobs, false, freed, err);
	if (r == 0)
		r = sweep(s, "layers", layers, false, freed, err);
	if (r == 0)
		r = sweep(s, "l", layers, true, freed, err);
	if (r == 0) {
		bool changed = false;

		json_object_foreach_safe(s->layers, tmp, k,
					 v) if (sk_digest_validate(k, NULL) < 0 ||
						!json_object_get(layers, sk_digest_hex(k)))
		{
			json_object_del(s->layers, k);
			changed = true;
		}
		if (changed)
			r = sk_store_save(s, err);
	}
	json_decref(blobs);
	json_decref(layers);
	return r;
}
