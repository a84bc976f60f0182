/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec.c - config.json in, struct sk_spec out: the top level of the OCI
 * runtime-spec parser (ociVersion, root, hostname, mounts, hooks,
 * annotations) and the destructors.
 *
 * The process, linux and linux.resources sections live in spec-process.c,
 * spec-linux.c and spec-resources.c; the typed getters that name bad fields
 * by JSON path in spec-json.c.  Nothing here touches the kernel.
 */
#include "oci/spec-internal.h"

#include <ctype.h>
#include <string.h>

#include "base/util.h"

/* Reads a run of decimal digits; false when there is none. */
static bool read_number(const char **s, unsigned long *ret)
{
	unsigned long n = 0;
	const char *p = *s;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > 1000)
			return false;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	*s = p;
	*ret = n;
	return true;
}

/* 1.0.x, 1.1.x and 1.2.x, with an optional "-rc.1" / "-dev" / "+meta" suffix. */
static bool version_supported(const char *v)
{
	unsigned long major, minor, patch;

	if (!read_number(&v, &major) || *v++ != '.' || !read_number(&v, &minor) || *v++ != '.' ||
	    !read_number(&v, &patch))
		return false;
	if (*v && *v != '-' && *v != '+')
		return false;
	return major == 1 && minor <= 2;
}

static int parse_version(const struct sk_oj *j, json_t *root, struct sk_spec *s)
{
	int r = sk_oj_str(j, root, "", "ociVersion", true, &s->oci_version);

	if (r < 0)
		return r;
	if (!version_supported(s->oci_version))
		return sk_oj_fail(j, NULL, "ociVersion", "unsupported version \"%s\"",
				  s->oci_version);
	return 0;
}

static int parse_root(const struct sk_oj *j, json_t *root, struct sk_spec *s)
{
	json_t *o;
	int r;

	r = sk_oj_member(j, root, "", "root", JSON_OBJECT, true, &o);
	if (r < 0)
		return r;
	if ((r = sk_oj_str(j, o, "root", "path", true, &s->root_path)) < 0 ||
	    (r = sk_oj_bool(j, o, "root", "readonly", &s->root_readonly, NULL)) < 0)
		return r;
	if (!*s->root_path)
		return sk_oj_fail(j, "root", "path", "must not be empty");
	return 0;
}

int sk_oci_parse_id_mappings(const struct sk_oj *j, json_t *obj, const char *path, const char *key,
			     struct sk_id_mapping **ret, size_t *ret_n)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, obj, path, key, JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	*ret = sk_new0(struct sk_id_mapping, json_array_size(arr));
	for (size_t i = 0; i < json_array_size(arr); i++) {
		_cleanup_free_ char *ep = NULL;
		struct sk_id_mapping *m = &(*ret)[i];
		json_t *o;

		*ret_n = i;
		if ((r = sk_oj_elem_object(j, arr, i, path, key, &o, &ep)) < 0 ||
		    (r = sk_oj_u32(j, o, ep, "containerID", true, &m->container_id, NULL)) < 0 ||
		    (r = sk_oj_u32(j, o, ep, "hostID", true, &m->host_id, NULL)) < 0 ||
		    (r = sk_oj_u32(j, o, ep, "size", true, &m->size, NULL)) < 0)
			return r;
		if (m->size == 0)
			return sk_oj_fail(j, ep, "size", "must not be zero");
	}
	*ret_n = json_array_size(arr);
	return 0;
}

static int parse_mount(const struct sk_oj *j, json_t *o, const char *p, struct sk_mount *m)
{
	int r;

	if ((r = sk_oj_str(j, o, p, "destination", true, &m->destination)) < 0)
		return r;
	if (m->destination[0] != '/')
		return sk_oj_fail(j, p, "destination", "\"%s\" is not an absolute path",
				  m->destination);
	if ((r = sk_oj_str(j, o, p, "type", false, &m->type)) < 0 ||
	    (r = sk_oj_str(j, o, p, "source", false, &m->source)) < 0 ||
	    (r = sk_oj_strv(j, o, p, "options", false, &m->options)) < 0 ||
	    (r = sk_oci_parse_id_mappings(j, o, p, "uidMappings", &m->uid_mappings,
					  &m->n_uid_mappings)) < 0 ||
	    (r = sk_oci_parse_id_mappings(j, o, p, "gidMappings", &m->gid_mappings,
					  &m->n_gid_mappings)) < 0)
		return r;
	return 0;
}

static int parse_mounts(const struct sk_oj *j, json_t *root, struct sk_spec *s)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, root, "", "mounts", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	s->mounts = sk_new0(struct sk_mount, json_array_size(arr));
	s->n_mounts = json_array_size(arr); /* zeroed entries are safe to free */
	for (size_t i = 0; i < s->n_mounts; i++) {
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		if ((r = sk_oj_elem_object(j, arr, i, "", "mounts", &o, &ep)) < 0 ||
		    (r = parse_mount(j, o, ep, &s->mounts[i])) < 0)
			return r;
	}
	return 0;
}

static int parse_hook(const struct sk_oj *j, json_t *o, const char *p, struct sk_hook *h)
{
	int64_t timeout = 0;
	int r;

	if ((r = sk_oj_str(j, o, p, "path", true, &h->path)) < 0)
		return r;
	if (h->path[0] != '/')
		return sk_oj_fail(j, p, "path", "\"%s\" is not an absolute path", h->path);
	if ((r = sk_oj_strv(j, o, p, "args", false, &h->args)) < 0 ||
	    (r = sk_oj_strv(j, o, p, "env", false, &h->env)) < 0)
		return r;
	r = sk_oj_int(j, o, p, "timeout", false, INT32_MIN, INT32_MAX, &timeout, &h->has_timeout);
	if (r < 0)
		return r;
	if (h->has_timeout && timeout <= 0)
		return sk_oj_fail(j, p, "timeout", "must be greater than zero (got %lld)",
				  (long long)timeout);
	h->timeout = (int)timeout;
	return 0;
}

static int parse_hook_kind(const struct sk_oj *j, json_t *hooks, enum sk_hook_kind kind,
			   struct sk_spec *s)
{
	const char *key = sk_oci_hook_names[kind];
	json_t *arr;
	int r;

	r = sk_oj_member(j, hooks, "hooks", key, JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	s->hooks[kind] = sk_new0(struct sk_hook, json_array_size(arr));
	s->n_hooks[kind] = json_array_size(arr);
	for (size_t i = 0; i < s->n_hooks[kind]; i++) {
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		if ((r = sk_oj_elem_object(j, arr, i, "hooks", key, &o, &ep)) < 0 ||
		    (r = parse_hook(j, o, ep, &s->hooks[kind][i])) < 0)
			return r;
	}
	return 0;
}

static int parse_hooks(const struct sk_oj *j, json_t *root, struct sk_spec *s)
{
	json_t *hooks;
	int r;

	r = sk_oj_member(j, root, "", "hooks", JSON_OBJECT, false, &hooks);
	if (r < 0 || !hooks)
		return r;
	for (int k = 0; k < SK_HOOK__COUNT; k++) {
		r = parse_hook_kind(j, hooks, (enum sk_hook_kind)k, s);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_sections(const struct sk_oj *j, json_t *root, struct sk_spec *s)
{
	json_t *o;
	int r;

	r = sk_oj_member(j, root, "", "process", JSON_OBJECT, false, &o);
	if (r < 0)
		return r;
	if (o) {
		s->process = sk_new0(struct sk_process, 1);
		r = sk_oci_parse_process(j, o, "process", s->process);
		if (r < 0)
			return r;
	}
	r = sk_oj_member(j, root, "", "linux", JSON_OBJECT, false, &o);
	if (r < 0)
		return r;
	if (o) {
		s->linux_ = sk_new0(struct sk_linux, 1);
		r = sk_oci_parse_linux(j, o, "linux", s->linux_);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_spec(const struct sk_oj *j, json_t *root, struct sk_spec *s)
{
	int r;

	if ((r = parse_version(j, root, s)) < 0 || (r = parse_root(j, root, s)) < 0 ||
	    (r = sk_oj_str(j, root, "", "hostname", false, &s->hostname)) < 0 ||
	    (r = sk_oj_str(j, root, "", "domainname", false, &s->domainname)) < 0 ||
	    (r = parse_mounts(j, root, s)) < 0 || (r = parse_hooks(j, root, s)) < 0 ||
	    (r = sk_oj_kv(j, root, "", "annotations", &s->annotations, &s->n_annotations)) < 0 ||
	    (r = parse_sections(j, root, s)) < 0)
		return r;
	return 0;
}

int sk_spec_parse(const char *json, size_t len, const char *name, struct sk_spec **ret,
		  struct sk_error **err)
{
	struct sk_oj j = { .name = name ? name : "config.json", .err = err };
	_cleanup_(sk_spec_freep) struct sk_spec *s = NULL;
	json_t *root = NULL;
	int r;

	r = sk_oj_load(&j, json, len, &root);
	if (r < 0)
		return r;
	s = sk_new0(struct sk_spec, 1);
	r = parse_spec(&j, root, s);
	json_decref(root);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int sk_spec_load(const char *path, struct sk_spec **ret, struct sk_error **err)
{
	_cleanup_free_ char *buf = NULL;
	const char *base = strrchr(path, '/');
	size_t len = 0;
	int r;

	base = base ? base + 1 : path;
	r = sk_read_file(path, &buf, &len);
	if (r < 0)
		return sk_error_set(err, -r, "read '%s'", path);
	return sk_spec_parse(buf, len, strcmp(base, "config.json") == 0 ? base : path, ret, err);
}

const struct sk_namespace *sk_spec_namespace(const struct sk_spec *spec, enum sk_ns_type type)
{
	if (!spec || !spec->linux_)
		return NULL;
	for (size_t i = 0; i < spec->linux_->n_namespaces; i++)
		if (spec->linux_->namespaces[i].type == type)
			return &spec->linux_->namespaces[i];
	return NULL;
}

static void mount_release(struct sk_mount *m)
{
	free(m->destination);
	free(m->type);
	free(m->source);
	sk_strv_free(m->options);
	free(m->uid_mappings);
	free(m->gid_mappings);
}

static void hook_release(struct sk_hook *h)
{
	free(h->path);
	sk_strv_free(h->args);
	sk_strv_free(h->env);
}

void sk_spec_free(struct sk_spec *spec)
{
	if (!spec)
		return;
	free(spec->oci_version);
	free(spec->root_path);
	sk_process_free(spec->process);
	free(spec->hostname);
	free(spec->domainname);
	for (size_t i = 0; i < spec->n_mounts; i++)
		mount_release(&spec->mounts[i]);
	free(spec->mounts);
	for (int k = 0; k < SK_HOOK__COUNT; k++) {
		for (size_t i = 0; i < spec->n_hooks[k]; i++)
			hook_release(&spec->hooks[k][i]);
		free(spec->hooks[k]);
	}
	sk_oj_kv_free(spec->annotations, spec->n_annotations);
	sk_oci_linux_free(spec->linux_);
	free(spec);
}
