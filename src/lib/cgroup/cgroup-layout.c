/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-layout.c - which cgroup hierarchies this host mounts, and cgroup paths.
 *
 * Parses /proc/self/mountinfo once per process into the list of hierarchies
 * (v1 mounts with their controllers from the super options, named ones such
 * as name=systemd, one cgroup2 mount with the controllers in its root's
 * cgroup.controllers), turns a spec's cgroupsPath into a cgroupfs path
 * (including systemd's "slice:prefix:name"), and holds the small file
 * helpers every cgroup file uses.  It creates and changes nothing.
 */
#include "cgroup-internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "base/util.h"

/*
 * The host layout, parsed on first use and kept for the life of the process
 * (the one global of this module: mounts do not change under a runtime).
 */
static struct sk_cgroup_layout *host_layout;
static pthread_mutex_t host_layout_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const v1_controllers[] = {
	"cpu",	 "cpuacct",    "cpuset",  "memory", "devices", "freezer", "net_cls", "net_prio",
	"blkio", "perf_event", "hugetlb", "pids",   "rdma",    "misc",	  "debug",
};

/* ---- small file helpers shared with the backends ---- */

int sk_cgroup_write(const char *dir, const char *file, const char *value, struct sk_error **err)
{
	_cleanup_free_ char *p = sk_path_join(dir, file);
	int r = sk_write_file(p, value, strlen(value));

	if (r < 0)
		return sk_error_set(err, -r, "write '%s' to '%s'", value, p);
	return 0;
}

int sk_cgroup_writef(const char *dir, const char *file, struct sk_error **err, const char *fmt, ...)
{
	_cleanup_free_ char *v = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		abort();
	va_end(ap);
	return sk_cgroup_write(dir, file, v, err);
}

int sk_cgroup_read(const char *dir, const char *file, char **ret)
{
	_cleanup_free_ char *p = sk_path_join(dir, file);

	return sk_read_file(p, ret, NULL);
}

int sk_cgroup_read_u64(const char *dir, const char *file, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = sk_cgroup_read(dir, file, &s);

	if (r < 0)
		return r;
	s[strcspn(s, "\n")] = '\0';
	if (!strcmp(s, "max")) {
		*ret = UINT64_MAX;
		return 0;
	}
	return sk_parse_uint64(s, ret);
}

int sk_cgroup_read_key(const char *dir, const char *file, const char *key, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	size_t klen = strlen(key);
	int r = sk_cgroup_read(dir, file, &s);

	if (r < 0)
		return r;
	for (char *save = NULL, *line = strtok_r(s, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, key, klen) != 0 || line[klen] != ' ')
			continue;
		return sk_parse_uint64(line + klen + 1, ret);
	}
	return -ENOENT;
}

bool sk_cgroup_has_file(const char *dir, const char *file)
{
	_cleanup_free_ char *p = sk_path_join(dir, file);

	return access(p, F_OK) == 0;
}

/* ---- host layout ---- */

void sk_cgroup_hierarchy_release(struct sk_cgroup_hierarchy *h)
{
	free(h->mountpoint);
	free(h->controllers);
	free(h->dir);
}

void sk_cgroup_layout_free(struct sk_cgroup_layout *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		sk_cgroup_hierarchy_release(&l->h[i]);
	free(l->h);
	free(l);
}

/* Undoes mountinfo's octal escapes ("\040" for a space) in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

static bool is_v1_controller(const char *tok)
{
	if (sk_str_has_prefix(tok, "name="))
		return true;
	for (size_t i = 0; i < SK_ELEMENTSOF(v1_controllers); i++)
		if (!strcmp(tok, v1_controllers[i]))
			return true;
	return false;
}

/* "rw,nosuid,cpu,cpuacct" -> "cpu,cpuacct"; NULL when none is a controller. */
static char *v1_controllers_from_opts(const char *opts)
{
	_cleanup_free_ char *copy = sk_strdup(opts);
	char *out = NULL, *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!is_v1_controller(t))
			continue;
		char *n = out ? sk_asprintf("%s,%s", out, t) : sk_strdup(t);
		free(out);
		out = n;
	}
	return out;
}

static bool layout_has_v2(const struct sk_cgroup_layout *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->h[i].v2)
			return true;
	return false;
}

static bool layout_has_v1(const struct sk_cgroup_layout *l, const char *controllers)
{
	for (size_t i = 0; i < l->n; i++)
		if (!l->h[i].v2 && !strcmp(l->h[i].controllers, controllers))
			return true;
	return false;
}

static void layout_add(struct sk_cgroup_layout *l, const char *mountpoint, char *controllers,
		       bool v2)
{
	l->h = sk_realloc(l->h, sizeof(*l->h) * (l->n + 1));
	l->h[l->n++] = (struct sk_cgroup_hierarchy){
		.mountpoint = sk_strdup(mountpoint),
		.controllers = controllers,
		.v2 = v2,
	};
}

/* Space-separated contents of cgroup.controllers, without the newline. */
static char *v2_controllers(const char *mountpoint)
{
	char *s = NULL;

	if (sk_cgroup_read(mountpoint, "cgroup.controllers", &s) < 0)
		return sk_strdup("");
	s[strcspn(s, "\n")] = '\0';
	return s;
}

/* Adds the cgroup hierarchy that one mountinfo line describes, if any. */
static void layout_add_line(struct sk_cgroup_layout *l, char *line)
{
	char *f[6] = { 0 }, *sep = strstr(line, " - "), *save = NULL;
	char *fstype, *superopts;
	size_t i = 0;

	if (!sep)
		return;
	*sep = '\0';
	for (char *t = strtok_r(line, " ", &save); t && i < 6; t = strtok_r(NULL, " ", &save))
		f[i++] = t;
	fstype = strtok_r(sep + 3, " ", &save);
	(void)strtok_r(NULL, " ", &save); /* source */
	superopts = strtok_r(NULL, " \n", &save);
	if (i < 5 || !fstype || !superopts)
		return;
	unescape_octal(f[4]);
	if (!strcmp(fstype, "cgroup2")) {
		if (!layout_has_v2(l)) /* bind mounts of it come later: first one wins */
			layout_add(l, f[4], v2_controllers(f[4]), true);
	} else if (!strcmp(fstype, "cgroup")) {
		char *c = v1_controllers_from_opts(superopts);
		if (c && !layout_has_v1(l, c))
			layout_add(l, f[4], c, false);
		else
			free(c);
	}
}

int sk_cgroup_layout_parse(const char *mountinfo, struct sk_cgroup_layout **ret,
			   struct sk_error **err)
{
	_cleanup_free_ char *mi = sk_strdup(mountinfo);
	struct sk_cgroup_layout *l = sk_new0(struct sk_cgroup_layout, 1);
	bool v1 = false, v2 = false;

	for (char *save = NULL, *line = strtok_r(mi, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		layout_add_line(l, line);
	for (size_t i = 0; i < l->n; i++) {
		v1 |= !l->h[i].v2;
		v2 |= l->h[i].v2;
	}
	if (!v1 && !v2) {
		sk_cgroup_layout_free(l);
		return sk_error_set(err, ENOENT, "no cgroup filesystem is mounted");
	}
	l->mode = v1 && v2 ? SK_CGROUP_HYBRID : v2 ? SK_CGROUP_V2 : SK_CGROUP_V1;
	*ret = l;
	return 0;
}

static int layout_parse(struct sk_cgroup_layout **ret, struct sk_error **err)
{
	_cleanup_free_ char *mi = NULL;
	int r = sk_read_file("/proc/self/mountinfo", &mi, NULL);

	if (r < 0)
		return sk_error_set(err, -r, "read '/proc/self/mountinfo'");
	return sk_cgroup_layout_parse(mi, ret, err);
}

int sk_cgroup_layout_get(const struct sk_cgroup_layout **ret, struct sk_error **err)
{
	int r = 0;

	pthread_mutex_lock(&host_layout_lock);
	if (!host_layout)
		r = layout_parse(&host_layout, err);
	pthread_mutex_unlock(&host_layout_lock);
	if (r == 0)
		*ret = host_layout;
	return r;
}

int sk_cgroup_mode(enum sk_cgroup_mode *ret, struct sk_error **err)
{
	const struct sk_cgroup_layout *l;
	int r = sk_cgroup_layout_get(&l, err);

	if (r < 0)
		return r;
	*ret = l->mode;
	return 0;
}

/* ---- paths ---- */

/*
 * Collapses "//" and "/./" and rejects "..", so a path can never leave the
 * hierarchy it is joined to.  Returns "/a/b" (or "/") in *ret.
 */
int sk_cgroup_path_normalize(const char *in, char **ret)
{
	_cleanup_free_ char *copy = sk_strdup(in);
	_cleanup_free_ char *out = sk_malloc0(strlen(in) + 2);
	char *save = NULL;

	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, ".."))
			return -EINVAL;
		strcat(out, "/");
		strcat(out, t);
	}
	if (!*out)
		strcpy(out, "/");
	*ret = TAKE_PTR(out);
	return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

int sk_cgroup_expand_slice(const char *slice, char **ret)
{
	static const char suffix[] = ".slice";
	size_t len = strlen(slice), slen = sizeof(suffix) - 1;
	_cleanup_free_ char *name = NULL, *path = NULL;
	char *save = NULL;
	size_t prefix_len = 0;

	if (len <= slen || !has_suffix(slice, suffix) || strchr(slice, '/'))
		return -EINVAL;
	name = sk_strndup(slice, len - slen);
	if (!strcmp(name, "-")) {
		*ret = sk_strdup("/");
		return 0;
	}
	if (name[0] == '-' || name[strlen(name) - 1] == '-' || strstr(name, "--"))
		return -EINVAL;
	path = sk_strdup("");
	for (char *c = strtok_r(name, "-", &save); c; c = strtok_r(NULL, "-", &save)) {
		/* each level is "<all previous components>-<this one>.slice" */
		char *n = sk_asprintf("%s/%.*s%s.slice", path, (int)prefix_len, slice, c);
		prefix_len += strlen(c) + 1;
		free(path);
		path = n;
	}
	*ret = TAKE_PTR(path);
	return 0;
}

/* "system.slice:docker:abc" -> "/system.slice/docker-abc.scope". */
static int systemd_path(const char *spec, char **ret, struct sk_error **err)
{
	_cleanup_free_ char *copy = sk_strdup(spec), *slice_path = NULL;
	char *slice = copy, *prefix, *name, *c1 = strchr(copy, ':'), *c2;

	if (!c1 || !(c2 = strchr(c1 + 1, ':')) || strchr(c2 + 1, ':'))
		return sk_error_set(err, EINVAL, "cgroupsPath '%s': expected slice:prefix:name",
				    spec);
	*c1 = *c2 = '\0';
	prefix = c1 + 1;
	name = c2 + 1;
	if (!*name || strchr(name, '/') || strchr(prefix, '/'))
		return sk_error_set(err, EINVAL, "cgroupsPath '%s': invalid unit name", spec);
	if (sk_cgroup_expand_slice(*slice ? slice : "system.slice", &slice_path) < 0)
		return sk_error_set(err, EINVAL, "cgroupsPath '%s': invalid slice '%s'", spec,
				    slice);
	if (has_suffix(name, ".slice"))
		*ret = sk_path_join(slice_path, name);
	else if (*prefix)
		*ret = sk_asprintf("%s%s%s-%s.scope", slice_path,
				   strcmp(slice_path, "/") ? "/" : "", prefix, name);
	else
		*ret = sk_asprintf("%s%s%s.scope", slice_path, strcmp(slice_path, "/") ? "/" : "",
				   name);
	return 0;
}

/*
 * The calling process's own cgroup, for relative cgroupsPath: the v2 entry
 * ("0::") on pure v2 hosts, else the name=systemd one, else the first line.
 */
static int own_cgroup(char **ret, struct sk_error **err)
{
	_cleanup_free_ char *s = NULL, *v2 = NULL, *named = NULL, *first = NULL;
	enum sk_cgroup_mode mode;
	int r = sk_cgroup_mode(&mode, err);

	if (r < 0)
		return r;
	r = sk_read_file("/proc/self/cgroup", &s, NULL);
	if (r < 0)
		return sk_error_set(err, -r, "read '/proc/self/cgroup'");
	for (char *save = NULL, *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		if (!first)
			first = sk_strdup(c2 + 1);
		if (!strncmp(l, "0::", 3) && !v2)
			v2 = sk_strdup(c2 + 1);
		if (!strncmp(c1 + 1, "name=systemd:", 13) && !named)
			named = sk_strdup(c2 + 1);
	}
	if (mode == SK_CGROUP_V2 && v2)
		*ret = TAKE_PTR(v2);
	else if (named)
		*ret = TAKE_PTR(named);
	else if (first)
		*ret = TAKE_PTR(first);
	else
		return sk_error_set(err, ENOENT, "no cgroup in '/proc/self/cgroup'");
	return 0;
}

int sk_cgroup_resolve_path(const char *cgroups_path, const char *id, bool systemd, char **ret,
			   struct sk_error **err)
{
	_cleanup_free_ char *raw = NULL, *own = NULL;
	int r;

	if (!cgroups_path || !*cgroups_path) {
		if (!id || !*id || strchr(id, '/'))
			return sk_error_set(err, EINVAL, "invalid container id for a cgroup path");
		raw = sk_asprintf("/skiff/%s", id);
	} else if (systemd && cgroups_path[0] != '/') {
		r = systemd_path(cgroups_path, &raw, err);
		if (r < 0)
			return r;
	} else if (cgroups_path[0] == '/') {
		raw = sk_strdup(cgroups_path);
	} else {
		r = own_cgroup(&own, err);
		if (r < 0)
			return r;
		raw = sk_path_join(own, cgroups_path);
	}
	if (sk_cgroup_path_normalize(raw, ret) < 0)
		return sk_error_set(err, EINVAL, "cgroupsPath '%s': '..' is not allowed",
				    cgroups_path);
	return 0;
}

/* Whether `name` is one of the controllers in a "cpu,cpuacct" or "cpu io" list. */
bool sk_cgroup_hierarchy_has(const struct sk_cgroup_hierarchy *h, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = h->controllers; *p;) {
		size_t len = strcspn(p, ", ");
		if (len == n && !strncmp(p, name, n))
			return true;
		p += len;
		p += strspn(p, ", ");
	}
	return false;
}
