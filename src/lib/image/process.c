/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.c - an image config becomes a container's default process: the
 * command (Entrypoint + Cmd with docker's override rules), the environment,
 * the working directory and the user, the last resolved against the image's
 * own /etc/passwd and /etc/group.  Those files are read with openat2()
 * RESOLVE_IN_ROOT so a symlink in the image cannot point the lookup at the
 * host's files.  Also writes a runtime bundle (config.json) for an image.
 */
#include "image/image-internal.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>

#define SK_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SK_ID_MAX 0xfffffffeu

/* Reads rootfs/<rel> without leaving rootfs; "" when it does not exist. */
static int read_in_root(const char *rootfs, const char *rel, char **ret, struct sk_error **err)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	char proc[64];
	size_t len;
	int r;

	if (root < 0)
		return sk_error_errno(err, "open rootfs '%s'", rootfs);
	fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ENOENT) {
			*ret = sk_strdup("");
			return 0;
		}
		return sk_error_errno(err, "open '%s/%s'", rootfs, rel);
	}
	/* reopen the file we resolved safely: its /proc link is not re-resolved */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	r = sk_read_file(proc, ret, &len);
	return r < 0 ? sk_error_set(err, -r, "read '%s/%s'", rootfs, rel) : 0;
}

/* Splits a passwd/group line into at most n ':' fields; returns the count. */
static size_t split_fields(char *line, char **f, size_t n)
{
	size_t i = 0;

	while (i < n && line)
		f[i++] = strsep(&line, ":");
	return i;
}

static bool parse_id(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (sk_parse_uint64(s, &v) < 0 || v > SK_ID_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

struct user_lookup {
	const char *user;  /* name or number */
	const char *group; /* NULL: the user's primary group */
	uint32_t uid, gid;
	char *name; /* the user's name, when passwd has it */
	bool found_user, found_group;
	uint32_t *gids;
	size_t n_gids;
};

static void scan_passwd(char *buf, struct user_lookup *u, bool numeric)
{
	char *save = NULL, *f[7];

	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint32_t uid, gid;

		if (split_fields(line, f, 7) < 4 || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
			continue;
		if (numeric ? uid == u->uid : !strcmp(f[0], u->user)) {
			u->uid = uid;
			u->gid = gid;
			u->name = sk_strdup(f[0]);
			u->found_user = true;
			return;
		}
	}
}

static bool member_of(char *members, const char *name)
{
	char *save = NULL;

	for (char *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
		if (!strcmp(m, name))
			return true;
	return false;
}

static void scan_group(char *buf, struct user_lookup *u, bool numeric_group)
{
	char *save = NULL, *f[4];

	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = split_fields(line, f, 4);
		uint32_t gid;

		if (n < 3 || !parse_id(f[2], &gid))
			continue;
		if (u->group && !u->found_group &&
		    (numeric_group ? gid == u->gid : !strcmp(f[0], u->group))) {
			u->gid = gid;
			u->found_group = true;
		}
		if (u->name && n == 4 && u->n_gids < 64 && member_of(f[3], u->name)) {
			u->gids = sk_realloc(u->gids, sizeof(uint32_t) * (u->n_gids + 1));
			u->gids[u->n_gids++] = gid;
		}
	}
}

int sk_image_resolve_user(const char *rootfs, const char *spec, uint32_t *ret_uid,
			  uint32_t *ret_gid, uint32_t **ret_gids, size_t *ret_n_gids,
			  struct sk_error **err)
{
	_cleanup_free_ char *copy = sk_strdup(spec && *spec ? spec : "0"), *passwd = NULL,
			    *group = NULL;
	struct user_lookup u = { .user = copy };
	char *colon = strchr(copy, ':');
	bool num_user, num_group = false;
	int r = 0;

	if (colon) {
		*colon = '\0';
		u.group = colon + 1;
		num_group = parse_id(u.group, &u.gid);
	}
	num_user = parse_id(u.user, &u.uid);
	if ((!num_user || (u.group && !num_group) || !u.group) && rootfs) {
		if ((r = read_in_root(rootfs, "etc/passwd", &passwd, err)) < 0 ||
		    (r = read_in_root(rootfs, "etc/group", &group, err)) < 0)
			goto out;
		scan_passwd(passwd, &u, num_user);
		if (num_group && u.group)
			u.gid = (uint32_t)strtoul(u.group, NULL, 10);
		scan_group(group, &u, num_group);
	}
	if (!num_user && !u.found_user) {
		r = sk_error_set(err, 0, "user '%s' not found in %s/etc/passwd", u.user,
				 rootfs ? rootfs : "(no rootfs)");
		goto out;
	}
	if (u.group && !num_group && !u.found_group) {
		r = sk_error_set(err, 0, "group '%s' not found in %s/etc/group", u.group,
				 rootfs ? rootfs : "(no rootfs)");
		goto out;
	}
	if (!u.group && !u.found_user)
		u.gid = 0; /* a uid without a passwd entry: group root, as docker does */
	*ret_uid = u.uid;
	*ret_gid = u.gid;
	if (ret_gids) {
		*ret_gids = TAKE_PTR(u.gids);
		*ret_n_gids = u.n_gids;
	}
out:
	free(u.gids);
	free(u.name);
	return r;
}

/* Appends "K=V" to env, replacing an entry with the same key. */
static void env_set(char ***env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);

	for (char **e = *env; e && *e; e++)
		if (!strncmp(*e, kv, klen) && ((*e)[klen] == '=' || (*e)[klen] == '\0')) {
			free(*e);
			*e = sk_strdup(kv);
			return;
		}
	sk_strv_push(env, kv);
}

static char **build_args(const struct sk_image_config *c, const struct sk_image_overrides *o)
{
	char *const *ep = c->entrypoint, *const *cmd = c->cmd;
	char **args = sk_new0(char *, 1);

	if (o && o->entrypoint) {
		ep = o->entrypoint;
		cmd = NULL; /* docker: a new entrypoint drops the image's Cmd */
	}
	if (o && o->cmd)
		cmd = o->cmd;
	for (; ep && *ep; ep++)
		sk_strv_push(&args, *ep);
	for (; cmd && *cmd; cmd++)
		sk_strv_push(&args, *cmd);
	return args;
}

int sk_image_apply_config(const struct sk_image_config *c, const struct sk_image_overrides *o,
			  const char *rootfs, struct sk_process *p, struct sk_error **err)
{
	_cleanup_strv_ char **args = build_args(c, o), **env = sk_new0(char *, 1);
	const char *wd = o && o->workdir ? o->workdir : c->working_dir;
	const char *user = o && o->user ? o->user : c->user;
	uint32_t uid, gid, *gids = NULL;
	size_t n_gids = 0;
	int r;

	if (!args[0])
		return sk_error_set(err, 0, "image has no command: no Entrypoint or Cmd given");
	r = sk_image_resolve_user(rootfs, user, &uid, &gid, &gids, &n_gids, err);
	if (r < 0)
		return r;
	env_set(&env, SK_DEFAULT_PATH);
	for (char **e = c->env; e && *e; e++)
		env_set(&env, *e);
	for (char **e = o ? o->env : NULL; e && *e; e++)
		env_set(&env, *e);

	sk_strv_free(p->args);
	p->args = TAKE_PTR(args);
	sk_strv_free(p->env);
	p->env = TAKE_PTR(env);
	free(p->cwd);
	p->cwd = !wd || !*wd	? sk_strdup("/")
		 : wd[0] == '/' ? sk_strdup(wd)
				: sk_asprintf("/%s", wd);
	p->user.uid = uid;
	p->user.gid = gid;
	free(p->user.additional_gids);
	p->user.additional_gids = gids;
	p->user.n_additional_gids = n_gids;
	return 0;
}

static json_t *process_json(json_t *proc, const struct sk_process *p)
{
	json_t *user = sk_json_must(json_object()), *gids = sk_json_must(json_array());

	sk_json_set(proc, "terminal", json_false());
	sk_json_set(user, "uid", json_integer(p->user.uid));
	sk_json_set(user, "gid", json_integer(p->user.gid));
	for (size_t i = 0; i < p->user.n_additional_gids; i++)
		sk_json_append(gids, json_integer(p->user.additional_gids[i]));
	if (p->user.n_additional_gids)
		sk_json_set(user, "additionalGids", gids);
	else
		json_decref(gids);
	sk_json_set(proc, "user", user);
	sk_json_set(proc, "args", sk_strv_json(p->args));
	sk_json_set(proc, "env", sk_strv_json(p->env));
	sk_json_set(proc, "cwd", json_string(p->cwd));
	return proc;
}

int sk_image_bundle_write(const struct sk_image_config *c, const char *rootfs, const char *dir,
			  struct sk_error **err)
{
	_cleanup_(sk_process_freep) struct sk_process *p = sk_new0(struct sk_process, 1);
	_cleanup_free_ char *def = sk_spec_default_json(false), *out = NULL, *path = NULL;
	json_t *doc, *root;
	int r = sk_image_apply_config(c, NULL, rootfs, p, err);

	if (r < 0)
		return r;
	doc = sk_json_must(json_loads(def, 0, NULL));
	process_json(json_object_get(doc, "process"), p);
	root = sk_json_must(json_object());
	sk_json_set(root, "path", json_string(rootfs));
	sk_json_set(root, "readonly", json_false());
	sk_json_set(doc, "root", root);
	out = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (!out)
		abort();
	r = sk_mkdir_p(dir, 0755);
	if (r < 0)
		return sk_error_set(err, -r, "create bundle '%s'", dir);
	path = sk_path_join(dir, "config.json");
	r = sk_write_file_atomic(path, out, strlen(out), 0644, true);
	return r < 0 ? sk_error_set(err, -r, "write '%s'", path) : 0;
}
