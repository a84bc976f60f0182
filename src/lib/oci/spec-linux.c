/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec-linux.c - the "linux" object of config.json: namespaces, id
 * mappings, time offsets, devices, cgroupsPath, rootfs propagation,
 * seccomp, sysctl, masked and read-only paths, personality.
 *
 * linux.resources is parsed by spec-resources.c.  Names are checked against
 * the spec's lists (namespace types, seccomp actions, operators,
 * architectures and flags); seccomp names stay strings for the runtime to
 * map to libseccomp.  intelRdt, memoryPolicy and netDevices are ignored.
 */
#include "oci/spec-internal.h"

#include <string.h>

#include "base/log.h"

static int parse_namespace(const struct sk_oj *j, json_t *o, const char *p, struct sk_linux *l,
			   size_t i)
{
	_cleanup_free_ char *type = NULL;
	struct sk_namespace *ns = &l->namespaces[i];
	int t, r;

	if ((r = sk_oj_str(j, o, p, "type", true, &type)) < 0 ||
	    (r = sk_oj_str(j, o, p, "path", false, &ns->path)) < 0)
		return r;
	t = sk_ns_type_from_name(type);
	if (t < 0)
		return sk_oj_fail(j, p, "type", "unknown namespace type \"%s\"", type);
	ns->type = (enum sk_ns_type)t;
	if (ns->path && !*ns->path)
		ns->path = (free(ns->path), NULL);
	for (size_t k = 0; k < i; k++)
		if (l->namespaces[k].type == ns->type)
			return sk_oj_fail(j, p, "type", "duplicate namespace type \"%s\"", type);
	return 0;
}

static int parse_namespaces(const struct sk_oj *j, json_t *obj, const char *path,
			    struct sk_linux *l)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, obj, path, "namespaces", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	l->namespaces = sk_new0(struct sk_namespace, json_array_size(arr));
	for (size_t i = 0; i < json_array_size(arr); i++) {
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		l->n_namespaces = i + 1;
		if ((r = sk_oj_elem_object(j, arr, i, path, "namespaces", &o, &ep)) < 0 ||
		    (r = parse_namespace(j, o, ep, l, i)) < 0)
			return r;
	}
	return 0;
}

static int parse_time_offsets(const struct sk_oj *j, json_t *obj, const char *path,
			      struct sk_linux *l)
{
	_cleanup_free_ char *tp = sk_oj_join(path, "timeOffsets");
	const char *clock;
	json_t *o, *v;
	int r;

	r = sk_oj_member(j, obj, path, "timeOffsets", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	l->time_offsets = sk_new0(struct sk_kv, json_object_size(o));
	json_object_foreach(o, clock, v)
	{
		_cleanup_free_ char *cp = sk_oj_join(tp, clock);
		int64_t secs = 0, nsecs = 0;
		json_t *off;

		if (strcmp(clock, "monotonic") != 0 && strcmp(clock, "boottime") != 0)
			return sk_oj_fail(j, tp, NULL, "unknown clock \"%s\"", clock);
		if ((r = sk_oj_member(j, o, tp, clock, JSON_OBJECT, true, &off)) < 0 ||
		    (r = sk_oj_int(j, off, cp, "secs", false, INT64_MIN, INT64_MAX, &secs, NULL)) <
			0 ||
		    (r = sk_oj_int(j, off, cp, "nanosecs", false, 0, 999999999, &nsecs, NULL)) < 0)
			return r;
		l->time_offsets[l->n_time_offsets].key = sk_strdup(clock);
		l->time_offsets[l->n_time_offsets].value =
		    sk_asprintf("%lld %lld", (long long)secs, (long long)nsecs);
		l->n_time_offsets++;
	}
	return 0;
}

static int parse_device(const struct sk_oj *j, json_t *o, const char *p, struct sk_device *d)
{
	_cleanup_free_ char *type = NULL;
	bool need_numbers;
	int r;

	if ((r = sk_oj_str(j, o, p, "path", true, &d->path)) < 0 ||
	    (r = sk_oj_str(j, o, p, "type", true, &type)) < 0)
		return r;
	if (d->path[0] != '/')
		return sk_oj_fail(j, p, "path", "\"%s\" is not an absolute path", d->path);
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return sk_oj_fail(j, p, "type", "unknown device type \"%s\"", type);
	d->type = type[0];
	need_numbers = d->type != 'p';
	if ((r = sk_oj_int(j, o, p, "major", need_numbers, 0, INT64_MAX, &d->major, NULL)) < 0 ||
	    (r = sk_oj_int(j, o, p, "minor", need_numbers, 0, INT64_MAX, &d->minor, NULL)) < 0 ||
	    (r = sk_oj_u32(j, o, p, "fileMode", false, &d->file_mode, &d->has_file_mode)) < 0 ||
	    (r = sk_oj_u32(j, o, p, "uid", false, &d->uid, &d->has_uid)) < 0 ||
	    (r = sk_oj_u32(j, o, p, "gid", false, &d->gid, &d->has_gid)) < 0)
		return r;
	return 0;
}

static int parse_devices(const struct sk_oj *j, json_t *obj, const char *path, struct sk_linux *l)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, obj, path, "devices", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	l->devices = sk_new0(struct sk_device, json_array_size(arr));
	l->n_devices = json_array_size(arr);
	for (size_t i = 0; i < l->n_devices; i++) {
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		if ((r = sk_oj_elem_object(j, arr, i, path, "devices", &o, &ep)) < 0 ||
		    (r = parse_device(j, o, ep, &l->devices[i])) < 0)
			return r;
	}
	return 0;
}

static int parse_propagation(const struct sk_oj *j, json_t *obj, const char *path,
			     struct sk_linux *l)
{
	static const char *const modes[] = { "shared",	   "slave",	  "private",
					     "unbindable", "rshared",	  "rslave",
					     "rprivate",   "runbindable", NULL };
	int r;

	r = sk_oj_str(j, obj, path, "rootfsPropagation", false, &l->rootfs_propagation);
	if (r < 0 || !l->rootfs_propagation)
		return r;
	if (!*l->rootfs_propagation) {
		l->rootfs_propagation = (free(l->rootfs_propagation), NULL);
		return 0;
	}
	if (!sk_oci_name_in(modes, l->rootfs_propagation))
		return sk_oj_fail(j, path, "rootfsPropagation", "unknown propagation \"%s\"",
				  l->rootfs_propagation);
	return 0;
}

static int parse_personality(const struct sk_oj *j, json_t *obj, const char *path,
			     struct sk_linux *l)
{
	_cleanup_free_ char *pp = sk_oj_join(path, "personality");
	struct sk_personality *p;
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "personality", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	p = l->personality = sk_new0(struct sk_personality, 1);
	if ((r = sk_oj_str(j, o, pp, "domain", true, &p->domain)) < 0 ||
	    (r = sk_oj_strv(j, o, pp, "flags", false, &p->flags)) < 0)
		return r;
	if (strcmp(p->domain, "LINUX") != 0 && strcmp(p->domain, "LINUX32") != 0)
		return sk_oj_fail(j, pp, "domain", "unknown personality domain \"%s\"", p->domain);
	return 0;
}

static int parse_seccomp_section(const struct sk_oj *j, json_t *obj, const char *path,
				 struct sk_linux *l)
{
	_cleanup_free_ char *sp = sk_oj_join(path, "seccomp");
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "seccomp", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	l->seccomp = sk_new0(struct sk_seccomp, 1);
	return sk_oci_parse_seccomp(j, o, sp, l->seccomp);
}

static int parse_resources_section(const struct sk_oj *j, json_t *obj, const char *path,
				   struct sk_linux *l)
{
	_cleanup_free_ char *rp = sk_oj_join(path, "resources");
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "resources", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	l->has_resources = true;
	return sk_oci_parse_resources(j, o, rp, &l->resources);
}

static void note_ignored(json_t *obj, const char *path)
{
	static const char *const ignored[] = { "intelRdt", "memoryPolicy", "netDevices" };

	for (size_t i = 0; i < SK_ELEMENTSOF(ignored); i++)
		if (json_object_get(obj, ignored[i]))
			sk_debug("%s.%s is not supported; ignored", path, ignored[i]);
}

int sk_oci_parse_linux(const struct sk_oj *j, json_t *obj, const char *path, struct sk_linux *l)
{
	int r;

	if ((r = parse_namespaces(j, obj, path, l)) < 0 ||
	    (r = sk_oci_parse_id_mappings(j, obj, path, "uidMappings", &l->uid_mappings,
					  &l->n_uid_mappings)) < 0 ||
	    (r = sk_oci_parse_id_mappings(j, obj, path, "gidMappings", &l->gid_mappings,
					  &l->n_gid_mappings)) < 0 ||
	    (r = parse_time_offsets(j, obj, path, l)) < 0 ||
	    (r = parse_devices(j, obj, path, l)) < 0 ||
	    (r = sk_oj_str(j, obj, path, "cgroupsPath", false, &l->cgroups_path)) < 0 ||
	    (r = parse_resources_section(j, obj, path, l)) < 0 ||
	    (r = parse_propagation(j, obj, path, l)) < 0 ||
	    (r = parse_seccomp_section(j, obj, path, l)) < 0 ||
	    (r = sk_oj_kv(j, obj, path, "sysctl", &l->sysctl, &l->n_sysctl)) < 0 ||
	    (r = sk_oj_strv(j, obj, path, "maskedPaths", false, &l->masked_paths)) < 0 ||
	    (r = sk_oj_strv(j, obj, path, "readonlyPaths", false, &l->readonly_paths)) < 0 ||
	    (r = sk_oj_str(j, obj, path, "mountLabel", false, &l->mount_label)) < 0 ||
	    (r = parse_personality(j, obj, path, l)) < 0)
		return r;
	note_ignored(obj, path);
	return 0;
}

void sk_oci_linux_free(struct sk_linux *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	sk_oj_kv_free(l->time_offsets, l->n_time_offsets);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	sk_oci_resources_release(&l->resources);
	free(l->rootfs_propagation);
	sk_oci_seccomp_free(l->seccomp);
	sk_oj_kv_free(l->sysctl, l->n_sysctl);
	sk_strv_free(l->masked_paths);
	sk_strv_free(l->readonly_paths);
	free(l->mount_label);
	if (l->personality) {
		free(l->personality->domain);
		sk_strv_free(l->personality->flags);
		free(l->personality);
	}
	free(l);
}
