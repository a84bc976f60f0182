/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - the image index and the store's lifecycle: open and lock,
 * lookup by name or id, tag, remove, garbage collection and prune.
 *
 * The index is one JSON file, images.json, rewritten atomically (temp file,
 * fsync, rename) under an exclusive flock() of <root>/lock; readers take
 * the lock shared.  A JSON file rather than SQLite: the index is small
 * (an entry per image, a few hundred bytes each), is read whole by every
 * command, changes only on import/tag/rm/prune, and a file a user can read
 * with jq is worth more here than queries.  Content (blobs, layers) is
 * immutable and named by digest, so the index is the only mutable state.
 *
 * Containers' rootfs (rootfs.c) record the image and layers they use in
 * containers/<id>/info.json, so that rm and prune leave them alone.
 */
#include "image/image-internal.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#define SK_INDEX_FILE "images.json"

const char *sk_image_store_root(const struct sk_image_store *s)
{
	return s->root;
}

static void info_release(struct sk_image_info *i)
{
	free(i->id);
	free(i->manifest_digest);
	free(i->manifest_media_type);
	sk_strv_free(i->names);
	free(i->created);
	free(i->imported);
	sk_strv_free(i->diff_ids);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int load_image(json_t *v, struct sk_image_info *i, const char *path, struct sk_error **err)
{
	const char *id = jstr(v, "id"), *md = jstr(v, "manifest");

	if (!id || !md || sk_digest_validate(id, NULL) < 0 || sk_digest_validate(md, NULL) < 0)
		return sk_error_set(err, 0, "%s: an image without a valid id or manifest", path);
	i->id = sk_strdup(id);
	i->manifest_digest = sk_strdup(md);
	i->manifest_media_type = sk_strdup(jstr(v, "mediaType") ?: SK_MT_OCI_MANIFEST);
	i->names = sk_json_strv(json_object_get(v, "names")) ?: sk_new0(char *, 1);
	i->created = sk_strdup(jstr(v, "created"));
	i->imported = sk_strdup(jstr(v, "imported"));
	i->size = (uint64_t)json_integer_value(json_object_get(v, "size"));
	i->diff_ids = sk_json_strv(json_object_get(v, "layers")) ?: sk_new0(char *, 1);
	for (char **d = i->diff_ids; *d; d++)
		if (sk_digest_validate(*d, NULL) < 0)
			return sk_error_set(err, 0, "%s: image %s: invalid layer '%s'", path, id,
					    *d);
	return 0;
}

static int load_index(struct sk_image_store *s, struct sk_error **err)
{
	_cleanup_free_ char *path = sk_path_join(s->root, SK_INDEX_FILE);
	json_error_t je;
	json_t *root, *images, *v;
	size_t i;
	int r = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (access(path, F_OK) < 0 && errno == ENOENT) {
			s->layers = sk_json_must(json_object());
			return 0;
		}
		s->layers = sk_json_must(json_object());
		return sk_error_set(err, 0, "%s: invalid JSON at line %d: %s", path, je.line,
				    je.text);
	}
	images = json_object_get(root, "images");
	s->layers = json_incref(json_object_get(root, "layers"));
	if (!json_is_object(s->layers)) {
		json_decref(s->layers);
		s->layers = sk_json_must(json_object());
	}
	if (json_is_array(images)) {
		s->images = sk_new0(struct sk_image_info, json_array_size(images) + 1);
		json_array_foreach(images, i, v)
		{
			s->n_images++;
			r = load_image(v, &s->images[i], path, err);
			if (r < 0)
				break;
		}
	}
	json_decref(root);
	return r;
}

static int open_root(struct sk_image_store *s, const char *root, bool write, struct sk_error **err)
{
	static const char *const dirs[] = { "blobs", "blobs/sha256", "layers",
					    "l",     "containers",   NULL };
	int r;

	if (write) {
		r = sk_mkdir_p(root, 0700);
		if (r < 0)
			return sk_error_set(err, -r, "create store '%s'", root);
	}
	s->dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		if (errno == ENOENT && !write)
			return 0; /* no store yet: an empty one */
		return sk_error_errno(err, "open store '%s'", root);
	}
	for (const char *const *d = dirs; write && *d; d++)
		if (mkdirat(s->dirfd, *d, 0700) < 0 && errno != EEXIST)
			return sk_error_errno(err, "create '%s/%s'", root, *d);
	s->lock_fd =
	    openat(s->dirfd, "lock", (write ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		if (errno == ENOENT && !write)
			return 0;
		return sk_error_errno(err, "open '%s/lock'", root);
	}
	while (flock(s->lock_fd, write ? LOCK_EX : LOCK_SH) < 0)
		if (errno != EINTR)
			return sk_error_errno(err, "lock '%s/lock'", root);
	return 0;
}

int sk_image_store_open(const char *root, bool write, struct sk_image_store **ret,
			struct sk_error **err)
{
	struct sk_image_store *s = sk_new0(struct sk_image_store, 1);
	int r;

	s->root = sk_strdup(root);
	s->dirfd = s->lock_fd = -1;
	s->write = write;
	r = open_root(s, root, write, err);
	if (r == 0)
		r = load_index(s, err);
	if (r < 0) {
		sk_image_store_free(s);
		return r;
	}
	if (!s->images)
		s->images = sk_new0(struct sk_image_info, 1);
	*ret = s;
	return 0;
}

void sk_image_store_free(struct sk_image_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_images; i++)
		info_release(&s->images[i]);
	free(s->images);
	json_decref(s->layers);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the flock */
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->root);
	free(s);
}

int sk_store_reload(struct sk_image_store *s, struct sk_error **err)
{
	for (size_t i = 0; i < s->n_images; i++)
		info_release(&s->images[i]);
	free(s->images);
	s->images = NULL;
	s->n_images = 0;
	json_decref(s->layers);
	s->layers = NULL;
	int r = load_index(s, err);
	if (!s->images)
		s->images = sk_new0(struct sk_image_info, 1);
	return r;
}

const struct sk_image_info *sk_image_list(const struct sk_image_store *s, size_t *ret_n)
{
	*ret_n = s->n_images;
	return s->images;
}

int sk_store_save(struct sk_image_store *s, struct sk_error **err)
{
	_cleanup_free_ char *path = sk_path_join(s->root, SK_INDEX_FILE), *out = NULL;
	json_t *doc = sk_json_must(json_object()), *images = sk_json_must(json_array());
	int r;

	assert(s->write);
	for (size_t i = 0; i < s->n_images; i++) {
		struct sk_image_info *in = &s->images[i];
		json_t *o = sk_json_must(json_object());

		sk_json_set(o, "id", json_string(in->id));
		sk_json_set(o, "manifest", json_string(in->manifest_digest));
		sk_json_set(o, "mediaType", json_string(in->manifest_media_type));
		sk_json_set(o, "names", sk_strv_json(in->names));
		sk_json_set(o, "created", in->created ? json_string(in->created) : json_null());
		sk_json_set(o, "imported", json_string(in->imported ? in->imported : ""));
		sk_json_set(o, "size", json_integer((json_int_t)in->size));
		sk_json_set(o, "layers", sk_strv_json(in->diff_ids));
		sk_json_append(images, o);
	}
	sk_json_set(doc, "version", json_integer(1));
	sk_json_set(doc, "images", images);
	sk_json_set(doc, "layers", json_incref(s->layers));
	out = json_dumps(doc, JSON_INDENT(1));
	json_decref(doc);
	if (!out)
		abort();
	if (syncfs(s->dirfd) < 0) /* layers unpacked before this index names them */
		return sk_error_errno(err, "sync store '%s'", s->root);
	r = sk_write_file_atomic(path, out, strlen(out), 0600, true);
	return r < 0 ? sk_error_set(err, -r, "write '%s'", path) : 0;
}

void sk_store_set_layer_size(struct sk_image_store *s, const char *diff_id, uint64_t size)
{
	sk_json_set(s->layers, diff_id, json_pack("{s:I}", "size", (json_int_t)size));
}

static bool strv_has(char **v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

static void strv_remove(char **v, const char *s)
{
	size_t n = sk_strv_length(v);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s)) {
			free(v[i]);
			memmove(&v[i], &v[i + 1], sizeof(char *) * (n - i));
			return;
		}
}

static bool is_hex(const char *s)
{
	return *s && strspn(s, "0123456789abcdef") == strlen(s);
}

/* Index of the image `name` names, or -ENOENT; *ret_by_name: matched which name. */
static int find(const struct sk_image_store *s, const char *name, const char **ret_by_name,
		struct sk_error **err)
{
	const char *hex = sk_str_has_prefix(name, "sha256:") ? name + 7 : name;
	_cleanup_free_ char *norm = NULL, *local = NULL;
	int found = -1;

	*ret_by_name = NULL;
	if (strlen(hex) >= 4 && strlen(hex) <= SK_DIGEST_HEX_LEN && is_hex(hex)) {
		for (size_t i = 0; i < s->n_images; i++)
			if (sk_str_has_prefix(s->images[i].id + 7, hex)) {
				if (found >= 0)
					return sk_error_set(
					    err, 0, "image id prefix '%s' is ambiguous", name);
				found = (int)i;
			}
		if (found >= 0 || hex != name)
			return found >= 0 ? found : sk_error_set(err, ENOENT, "image '%s'", name);
	}
	if (sk_image_name_normalize(name, &norm, err) < 0)
		return -EINVAL;
	if (!strchr(name, '/'))
		local = sk_asprintf("localhost/%s", norm + strlen("docker.io/library/"));
	for (int pass = 0; pass < 2; pass++) {
		const char *want = pass == 0 ? norm : local;

		for (size_t i = 0; want && i < s->n_images; i++)
			for (char **n = s->images[i].names; *n; n++)
				if (!strcmp(*n, want)) {
					*ret_by_name = *n;
					return (int)i;
				}
	}
	return sk_error_set(err, ENOENT, "image '%s'", name);
}

int sk_image_lookup(const struct sk_image_store *s, const char *name,
		    const struct sk_image_info **ret, struct sk_error **err)
{
	const char *by;
	int i = find(s, name, &by, err);

	if (i < 0)
		return i;
	*ret = &s->images[i];
	return 0;
}

static void take_name(struct sk_image_store *s, const char *name)
{
	for (size_t i = 0; i < s->n_images; i++)
		strv_remove(s->images[i].names, name);
}

int sk_store_add_image(struct sk_image_store *s, const char *manifest_digest,
		       const char *manifest_media_type, const char *config_digest,
		       const struct sk_image_config *c, const char *name, char **ret_id,
		       struct sk_error **err)
{
	struct sk_image_info *in = NULL;

	for (size_t i = 0; i < s->n_images; i++)
		if (!strcmp(s->images[i].id, config_digest))
			in = &s->images[i];
	if (!in) {
		s->images = sk_realloc(s->images, sizeof(*s->images) * (s->n_images + 2));
		in = &s->images[s->n_images++];
		memset(in, 0, sizeof(*in) * 2);
		in->id = sk_strdup(config_digest);
		in->manifest_digest = sk_strdup(manifest_digest);
		in->manifest_media_type = sk_strdup(manifest_media_type);
		in->names = sk_new0(char *, 1);
		in->created = sk_strdup(c->created);
		in->imported = sk_image_now_rfc3339();
		in->diff_ids = sk_strv_copy(c->diff_ids);
		for (char **d = c->diff_ids; *d; d++)
			in->size += (uint64_t)json_integer_value(
			    json_object_get(json_object_get(s->layers, *d), "size"));
	}
	if (name && *name) {
		_cleanup_free_ char *norm = NULL;
		int r = sk_image_name_normalize(name, &norm, err);

		if (r < 0)
			return r;
		take_name(s, norm);
		sk_strv_push(&in->names, norm);
	}
	if (ret_id)
		*ret_id = sk_strdup(in->id);
	return 0;
}

int sk_image_tag(struct sk_image_store *s, const char *src, const char *dst, struct sk_error **err)
{
	_cleanup_free_ char *norm = NULL;
	const char *by;
	int i = find(s, src, &by, err), r;

	if (i < 0)
		return i;
	r = sk_image_name_normalize(dst, &norm, err);
	if (r < 0)
		return r;
	if (strv_has(s->images[i].names, norm))
		return 0;
	take_name(s, norm);
	sk_strv_push(&s->images[i].names, norm);
	return sk_store_save(s, err);
}

/* Calls cb for each containers/<id>/info.json document. */
static void foreach_container(struct sk_image_store *s, void (*cb)(json_t *info, void *ud),
			      void *ud)
{
	int fd =
	    s->dirfd < 0 ? -1 : openat(s->dirfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL, *buf = NULL;
		size_t len;
		json_t *info;

		if (de->d_name[0] == '.')
			continue;
		p = sk_asprintf("containers/%s/info.json", de->d_name);
		if (sk_read_file_at(s->dirfd, p, &buf, &len) < 0)
			continue;
		info = json_loadb(buf, len, 0, NULL);
		if (info)
			cb(info, ud);
		json_decref(info);
	}
	closedir(d);
}

struct in_use {
	const char *id;
	bool found;
};

static void in_use_cb(json_t *info, void *ud)
{
	struct in_use *u = ud;
	const char *id = jstr(info, "image");

	if (id && !strcmp(id, u->id))
		u->found = true;
}

bool sk_store_image_in_use(struct sk_image_store *s, const char *id)
{
	struct in_use u = { .id = id };

	foreach_container(s, in_use_cb, &u);
	return u.found;
}

static void layers_cb(json_t *info, void *ud)
{
	json_t *layers = json_object_get(info, "layers"), *v;
	size_t i;

	json_array_foreach(layers, i, v) if (json_is_string(v)) sk_json_append(ud, json_incref(v));
}

json_t *sk_store_container_layers(struct sk_image_store *s)
{
	json_t *a = sk_json_must(json_array());

	foreach_container(s, layers_cb, a);
	return a;
}

static void remove_image_at(struct sk_image_store *s, size_t i)
{
	info_release(&s->images[i]);
	memmove(&s->images[i], &s->images[i + 1], sizeof(*s->images) * (s->n_images - i));
	s->n_images--;
}

int sk_image_remove(struct sk_image_store *s, const char *name, bool force, struct sk_error **err)
{
	const char *by;
	uint64_t freed = 0;
	int i = find(s, name, &by, err), r;

	if (i < 0)
		return i;
	if (by && sk_strv_length(s->images[i].names) > 1) {
		strv_remove(s->images[i].names, by); /* untag only */
		return sk_store_save(s, err);
	}
	if (!force && sk_store_image_in_use(s, s->images[i].id))
		return sk_error_set(
		    err, EBUSY, "image '%s' is in use by a container (use --force to remove it)",
		    name);
	remove_image_at(s, (size_t)i);
	r = sk_store_save(s, err);
	if (r < 0)
		return r;
	return sk_store_gc(s, &freed, err);
}

int sk_image_prune(struct sk_image_store *s, uint64_t *ret_freed, struct sk_error **err)
{
	uint64_t freed = 0;
	int r;

	for (size_t i = s->n_images; i-- > 0;)
		if (!s->images[i].names[0] && !sk_store_image_in_use(s, s->images[i].id))
			remove_image_at(s, i);
	r = sk_store_save(s, err);
	if (r < 0)
		return r;
	r = sk_store_gc(s, &freed, err);
	if (ret_freed)
		*ret_freed = freed;
	return r;
}
