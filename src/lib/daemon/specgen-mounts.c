/* SPDX-License-Identifier: Apache-2.0 */
/*
 * specgen-mounts.c - the mounts of a replica's config.json: the default
 * spec's, then the service's bind mounts, named and anonymous volumes,
 * tmpfs entries, secrets and the /etc/resolv.conf and /etc/hosts binds.
 *
 * It creates the host directories and files those need (volume
 * directories, missing bind sources with create_host_path, volume
 * subpaths, the files of environment secrets) and nothing else:
 * mounting is the runtime's job.  The naming and ordering rules are in
 * specgen.h.
 */
#include "daemon/specgen-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

static json_t *mount_new(const char *dest, const char *type, const char *src)
{
	json_t *m = sk_sg_must(json_object());

	sk_sg_set(m, "destination", json_string(dest));
	sk_sg_set(m, "type", json_string(type));
	sk_sg_set(m, "source", json_string(src));
	sk_sg_set(m, "options", json_array());
	return m;
}

static void mount_opt(json_t *m, const char *opt)
{
	sk_sg_append(json_object_get(m, "options"), json_string(opt));
}

static json_t *bind_json(const char *dest, const char *src, const char *propagation, bool ro)
{
	json_t *m = mount_new(dest, "bind", src);

	mount_opt(m, "rbind");
	mount_opt(m, propagation ? propagation : "rprivate");
	if (ro)
		mount_opt(m, "ro");
	return m;
}

/* /etc/resolv.conf and /etc/hosts: read-only, nothing to execute or open as a device. */
static json_t *host_file_json(const char *dest, const char *src)
{
	json_t *m = bind_json(dest, src, NULL, true);

	mount_opt(m, "nosuid");
	mount_opt(m, "nodev");
	mount_opt(m, "noexec");
	return m;
}

static int bind_mount(const struct sk_app_mount *m, json_t **ret, struct sk_error **err)
{
	struct stat st;
	int r;

	if (stat(m->source, &st) < 0) {
		if (errno != ENOENT || !m->create_host_path)
			return sk_error_errno(err, "bind source '%s'", m->source);
		r = sk_mkdir_p(m->source, 0755);
		if (r < 0)
			return sk_error_set(err, -r, "create bind source '%s'", m->source);
	}
	*ret = bind_json(m->target, m->source, m->propagation, m->read_only);
	return 0;
}

/*
 * Creates dir/sub one component at a time, never following a symlink: the
 * volume's content is the container's and must not point the bind mount
 * elsewhere on the host.  (A running container could still swap a
 * component for a symlink before the runtime mounts it.)
 */
static int subpath_make(const char *dir, const char *sub, struct sk_error **err)
{
	_cleanup_free_ char *copy = sk_strdup(sub);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL;

	if (fd < 0)
		return sk_error_errno(err, "open '%s'", dir);
	if (sub[0] == '/')
		return sk_error_set(err, 0, "subpath '%s' must be relative", sub);
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next;

		if (!strcmp(c, ".") || !strcmp(c, ".."))
			return sk_error_set(err, 0, "subpath '%s': '.' and '..' are not allowed",
					    sub);
		if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
			return sk_error_errno(err, "subpath '%s': create '%s'", sub, c);
		next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return sk_error_errno(err, "subpath '%s': open '%s'", sub, c);
		close(fd);
		fd = next;
	}
	return 0;
}

static int volume_mount(const struct sk_app_mount *m, const struct sk_specgen_opts *o,
			unsigned *n_anon, json_t **ret, struct sk_error **err)
{
	_cleanup_free_ char *name = NULL, *dir = NULL, *src = NULL;
	int r;

	if (m->source && (!*m->source || strchr(m->source, '/') || !strcmp(m->source, "..")))
		return sk_error_set(err, 0, "invalid volume name '%s'", m->source);
	name = m->source ? sk_asprintf("%s_%s", o->app, m->source)
			 : sk_asprintf("%s_%s_anon_%u", o->app, o->container_id, ++*n_anon);
	if (!o->volumes_dir)
		return sk_error_set(err, 0, "volume '%s': no volumes directory", name);
	dir = sk_path_join(o->volumes_dir, name);
	r = sk_mkdir_p(dir, 0755);
	if (r < 0)
		return sk_error_set(err, -r, "create volume '%s'", dir);
	if (m->subpath && *m->subpath) {
		if ((r = subpath_make(dir, m->subpath, err)) < 0)
			return r;
		src = sk_path_join(dir, m->subpath);
	} else
		src = TAKE_PTR(dir);
	*ret = bind_json(m->target, src, NULL, m->read_only);
	return 0;
}

/* docker --tmpfs's defaults, then what the entry asks for (later options win). */
static json_t *tmpfs_json(const struct sk_app_mount *m)
{
	json_t *j = mount_new(m->target, "tmpfs", "tmpfs");
	_cleanup_free_ char *copy = m->options ? sk_strdup(m->options) : NULL;
	char *save = NULL, buf[64];

	mount_opt(j, "nosuid");
	mount_opt(j, "nodev");
	mount_opt(j, "noexec");
	if (m->read_only)
		mount_opt(j, "ro");
	if (m->tmpfs_size) {
		snprintf(buf, sizeof(buf), "size=%" PRIu64, m->tmpfs_size);
		mount_opt(j, buf);
	}
	if (m->tmpfs_mode) {
		snprintf(buf, sizeof(buf), "mode=%o", (unsigned)m->tmpfs_mode);
		mount_opt(j, buf);
	}
	for (char *c = copy ? strtok_r(copy, ",", &save) : NULL; c; c = strtok_r(NULL, ",", &save))
		mount_opt(j, c);
	return j;
}

static const char *dest_of(json_t *m)
{
	const char *d = json_string_value(json_object_get(m, "destination"));

	return d ? d : "";
}

/* Appends m to list, replacing an earlier entry for the same destination. */
static void list_put(json_t *list, json_t *m)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		if (!strcmp(dest_of(v), dest_of(m))) {
			if (json_array_set_new(list, i, m) < 0)
				abort();
			return;
		}
	}
	sk_sg_append(list, m);
}

static size_t path_depth(const char *p)
{
	size_t n = 0;

	for (; *p; p++)
		if (*p != '/' && (p[1] == '/' || p[1] == '\0'))
			n++;
	return n;
}

/* Drops defaults the service overrides, then appends its mounts, shallowest first (stable). */
static void merge_mounts(json_t *mounts, json_t *extra)
{
	size_t n = json_array_size(extra);

	for (size_t i = json_array_size(mounts); i-- > 0;)
		for (size_t k = 0; k < n; k++)
			if (!strcmp(dest_of(json_array_get(mounts, i)),
				    dest_of(json_array_get(extra, k)))) {
				json_array_remove(mounts, i);
				break;
			}
	for (size_t depth = 0, done = 0; done < n; depth++)
		for (size_t k = 0; k < n; k++) {
			json_t *m = json_array_get(extra, k);
			if (path_depth(dest_of(m)) != depth)
				continue;
			if (json_array_append(mounts, m) < 0)
				abort();
			done++;
		}
}

/* shm_size: the size= of the default /dev/shm (a service mount there replaces it anyway). */
static void mounts_shm_size(json_t *mounts, uint64_t size)
{
	char buf[64];
	size_t i, k;
	json_t *m, *opt;

	snprintf(buf, sizeof(buf), "size=%" PRIu64, size);
	json_array_foreach(mounts, i, m)
	{
		json_t *opts = json_object_get(m, "options");
		if (strcmp(dest_of(m), "/dev/shm") != 0 || !json_is_array(opts))
			continue;
		json_array_foreach(opts, k, opt)
		{
			if (json_is_string(opt) &&
			    sk_str_has_prefix(json_string_value(opt), "size=")) {
				json_array_remove(opts, k);
				break;
			}
		}
		sk_sg_append(opts, json_string(buf));
	}
}

/* privileged: /sys and /sys/fs/cgroup read-write, as docker --privileged. */
static void mounts_privileged(json_t *mounts)
{
	size_t i, k;
	json_t *m, *opt;

	json_array_foreach(mounts, i, m)
	{
		json_t *opts = json_object_get(m, "options");
		if (strcmp(dest_of(m), "/sys") != 0 && strcmp(dest_of(m), "/sys/fs/cgroup") != 0)
			continue;
		json_array_foreach(opts, k, opt)
		{
			if (json_is_string(opt) && !strcmp(json_string_value(opt), "ro")) {
				json_array_remove(opts, k);
				break;
			}
		}
	}
}

/* The container process's uid and gid (build_process wrote them). */
static void process_ids(json_t *doc, int64_t *uid, int64_t *gid)
{
	json_t *user = json_object_get(json_object_get(doc, "process"), "user");

	*uid = json_integer_value(json_object_get(user, "uid"));
	*gid = json_integer_value(json_object_get(user, "gid"));
}

/*
 * An environment secret's file: <secrets_dir>/<n>-<source>, owned by the
 * entry's uid/gid (else the container's user) with its mode; rewritten on
 * every create so a changed owner or value applies.
 */
static int secret_file(const struct sk_app_secret_ref *ref, size_t n, const char *secrets_dir,
		       int64_t uid, int64_t gid, char **ret, struct sk_error **err)
{
	_cleanup_free_ char *name = sk_asprintf("%zu-%s", n, ref->source);
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!secrets_dir)
		return sk_error_set(err, 0, "no directory for secret files");
	if (strchr(ref->source, '/'))
		return sk_error_set(err, 0, "invalid secret name");
	r = sk_mkdir_p(secrets_dir, 0700);
	if (r < 0)
		return sk_error_set(err, -r, "create '%s'", secrets_dir);
	path = sk_path_join(secrets_dir, name);
	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sk_error_errno(err, "create '%s'", path);
	if ((r = sk_write_all(fd, ref->content, strlen(ref->content))) < 0)
		return sk_error_set(err, -r, "write '%s'", path);
	if (fchown(fd, (uid_t)(ref->uid >= 0 ? ref->uid : uid),
		   (gid_t)(ref->gid >= 0 ? ref->gid : gid)) < 0 ||
	    fchmod(fd, ref->mode) < 0)
		return sk_error_errno(err, "set owner and mode of '%s'", path);
	*ret = TAKE_PTR(path);
	return 0;
}

/* secrets: read-only binds of the host file, or of the file written for an environment secret. */
static int service_secrets(json_t *extra, json_t *doc, const struct sk_app_service *svc,
			   const struct sk_specgen_opts *o, struct sk_error **err)
{
	int64_t uid, gid;

	process_ids(doc, &uid, &gid);
	for (size_t i = 0; i < svc->n_secrets; i++) {
		const struct sk_app_secret_ref *ref = &svc->secrets[i];
		_cleanup_free_ char *src = NULL;
		int r = 0;

		if (ref->file) {
			struct stat st;
			if (stat(ref->file, &st) < 0)
				r = sk_error_errno(err, "file '%s'", ref->file);
			else
				src = sk_strdup(ref->file);
		} else
			r = secret_file(ref, i, o->secrets_dir, uid, gid, &src, err);
		if (r < 0) {
			sk_error_prefix(err, "secrets: '%s'", ref->source);
			return r;
		}
		list_put(extra, host_file_json(ref->target, src));
	}
	return 0;
}

static int service_volumes(json_t *extra, const struct sk_app_service *svc,
			   const struct sk_specgen_opts *o, struct sk_error **err)
{
	unsigned n_anon = 0;

	for (size_t i = 0; i < svc->n_volumes; i++) {
		const struct sk_app_mount *m = &svc->volumes[i];
		json_t *j = NULL;
		int r = 0;

		if (m->type == SK_APP_MOUNT_BIND)
			r = bind_mount(m, &j, err);
		else if (m->type == SK_APP_MOUNT_VOLUME)
			r = volume_mount(m, o, &n_anon, &j, err);
		else
			j = tmpfs_json(m);
		if (r < 0) {
			sk_error_prefix(err, "volumes: '%s'", m->target);
			return r;
		}
		list_put(extra, j);
	}
	return 0;
}

int sk_specgen_mounts(json_t *doc, const struct sk_app_service *svc,
		      const struct sk_specgen_opts *o, struct sk_error **err)
{
	json_t *mounts = json_object_get(doc, "mounts");
	json_auto_t *extra = sk_sg_must(json_array());
	int r;

	if (!json_is_array(mounts)) {
		mounts = sk_sg_must(json_array());
		sk_sg_set(doc, "mounts", mounts);
	}
	if (o->resolv_conf)
		list_put(extra, host_file_json("/etc/resolv.conf", o->resolv_conf));
	if (o->hosts)
		list_put(extra, host_file_json("/etc/hosts", o->hosts));
	r = service_volumes(extra, svc, o, err);
	if (r < 0)
		return r;
	r = service_secrets(extra, doc, svc, o, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < svc->n_tmpfs; i++)
		list_put(extra, tmpfs_json(&svc->tmpfs[i]));
	if (svc->privileged)
		mounts_privileged(mounts);
	if (svc->shm_size)
		mounts_shm_size(mounts, svc->shm_size);
	merge_mounts(mounts, extra);
	return 0;
}
