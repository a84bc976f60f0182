/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-exec.c - `skiff exec SERVICE[.N] CMD...`: run a command in a
 * running replica.  skiffd has no exec route (docs/api.md): the CLI asks it
 * for the runtime root (GET /v1/info) and the replica's container id (ps),
 * then calls the runtime library in-process (sk_container_exec), which gives
 * -t a real terminal and the exit status directly.
 *
 * The process starts as a copy of the container's own (env, cwd, user,
 * capabilities, rlimits from its config.json); the options override args,
 * env, cwd and user.
 */
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <inttypes.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cmd/skiff-cli.h"
#include "runtime/container.h"

struct exec_args {
	struct skiff_app_sel sel;
	bool tty, detach;
	char **env;
	const char *cwd, *user;
	int64_t index; /* 0: from SERVICE.N, else 1 */
	const char *target;
	char **cmd; /* borrowed from argv */
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: skiff exec [-f FILE] [-p NAME] [-T|-t] [-d] [-e K=V]... [-w DIR] [-u USER]\n"
	       "                  [--index N] SERVICE[.N] CMD [ARG...]\n");
}

static int parse_args(int argc, char **argv, struct exec_args *a)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "no-TTY", no_argument, NULL, 'T' },
		{ "tty", no_argument, NULL, 't' },
		{ "detach", no_argument, NULL, 'd' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "index", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool tty_set = false;
	int c;

	while ((c = getopt_long(argc, argv, "+f:p:Ttde:w:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a->sel.file = optarg;
			break;
		case 'p':
			a->sel.project = optarg;
			break;
		case 'T':
		case 't':
			a->tty = c == 't';
			tty_set = true;
			break;
		case 'd':
			a->detach = true;
			break;
		case 'e':
			sk_strv_push(&a->env, optarg);
			break;
		case 'w':
			a->cwd = optarg;
			break;
		case 'u':
			a->user = optarg;
			break;
		case 'i':
			if (sk_parse_int64(optarg, &a->index) < 0 || a->index < 1) {
				fprintf(stderr, "skiff: exec: --index: invalid value '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	if (!tty_set)
		a->tty = !a->detach && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	a->target = argv[optind];
	a->cmd = argv + optind + 1;
	return -1;
}

/* The replica `target` names (SERVICE or SERVICE.N, --index N); sets *ret_id. */
static int find_container(json_t *reps, const struct exec_args *a, char **ret_id,
			  struct sk_error **err)
{
	_cleanup_free_ char *svc = sk_strdup(a->target);
	int64_t index = a->index ? a->index : 1;
	char *dot = strrchr(svc, '.');
	bool whole = false;
	json_t *rep;
	size_t i;

	json_array_foreach(reps, i, rep) whole |=
	    !strcmp(json_string_value(json_object_get(rep, "service")) ?: "", svc);
	if (!whole && dot && sk_parse_int64(dot + 1, &index) == 0 && index >= 1)
		*dot = '\0';
	json_array_foreach(reps, i, rep)
	{
		const char *state = json_string_value(json_object_get(rep, "state")) ?: "";
		if (strcmp(json_string_value(json_object_get(rep, "service")) ?: "", svc) ||
		    json_integer_value(json_object_get(rep, "index")) != index)
			continue;
		if (strcmp(state, "running"))
			return sk_error_set(err, 0, "replica %s.%" PRId64 " is not running (%s)",
					    svc, index, state);
		const char *id = json_string_value(json_object_get(rep, "container_id"));
		if (!id)
			return sk_error_set(
			    err, EPROTO, "replica %s.%" PRId64 " has no container_id", svc, index);
		*ret_id = sk_strdup(id);
		return 0;
	}
	return sk_error_set(err, ENOENT, "no replica %s.%" PRId64, svc, index);
}

/*
 * Opens <rootfs>/<rel> for reading with symlinks resolved inside the
 * rootfs (a container's /etc/passwd must not name a host file); NULL when
 * it cannot be opened.
 */
static FILE *fopen_in_root(const char *rootfs, const char *rel)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	_cleanup_close_ int dir = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;
	FILE *f;

	if (dir < 0)
		return NULL;
	fd = (int)syscall(SYS_openat2, dir, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) /* before Linux 5.6: no symlinks at all */
		fd = openat(dir, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "r")))
		close(fd);
	return f;
}

/* USER[:GROUP], names looked up in the container's /etc/passwd and /etc/group. */
static int resolve_user(const char *rootfs, const char *spec, uint32_t *ret_uid, uint32_t *ret_gid,
			struct sk_error **err)
{
	_cleanup_free_ char *u = sk_strdup(spec);
	char *g = strchr(u, ':');
	int64_t uid = -1, gid = -1;
	FILE *f;

	if (g)
		*g++ = '\0';
	if (sk_parse_int64(u, &uid) < 0 || uid < 0 || uid > UINT32_MAX)
		uid = -1;
	if ((f = fopen_in_root(rootfs, "etc/passwd"))) {
		struct passwd *pw;
		while ((pw = fgetpwent(f)))
			if (uid < 0 ? !strcmp(pw->pw_name, u) : pw->pw_uid == (uid_t)uid) {
				uid = pw->pw_uid;
				gid = pw->pw_gid;
				break;
			}
		fclose(f);
	}
	if (uid < 0)
		return sk_error_set(err, 0, "no user '%s' in the container", u);
	if (g) {
		if (sk_parse_int64(g, &gid) < 0 || gid < 0 || gid > UINT32_MAX) {
			gid = -1;
			if ((f = fopen_in_root(rootfs, "etc/group"))) {
				struct group *gr;
				while ((gr = fgetgrent(f)))
					if (!strcmp(gr->gr_name, g)) {
						gid = gr->gr_gid;
						break;
					}
				fclose(f);
			}
		}
		if (gid < 0)
			return sk_error_set(err, 0, "no group '%s' in the container", g);
	}
	*ret_uid = (uint32_t)uid;
	*ret_gid = gid < 0 ? 0 : (uint32_t)gid;
	return 0;
}

/* K=V replaces K in env; a bare K takes its value from our environment. */
static void env_set(char ***env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	_cleanup_free_ char *owned = NULL;

	if (!eq) {
		_cleanup_free_ char *k = sk_strndup(kv, klen);
		const char *v = getenv(k);
		if (!v)
			return;
		kv = owned = sk_asprintf("%s=%s", k, v);
	}
	for (char **p = *env; p && *p; p++)
		if (!strncmp(*p, kv, klen) && (*p)[klen] == '=') {
			free(*p);
			*p = sk_strdup(kv);
			return;
		}
	sk_strv_push(env, kv);
}

/* The container's process with the command line's changes. */
static int build_process(const struct sk_state *st, const struct exec_args *a, struct sk_spec *spec,
			 struct sk_error **err)
{
	struct sk_process *p;
	int r;

	if (!spec->process) {
		spec->process = sk_new0(struct sk_process, 1);
		spec->process->cwd = sk_strdup("/");
	}
	p = spec->process;
	sk_strv_free(p->args);
	p->args = sk_strv_copy(a->cmd);
	p->terminal = a->tty;
	p->has_console_size = false;
	for (char **e = a->env; e && *e; e++)
		env_set(&p->env, *e);
	if (a->cwd) {
		free(p->cwd);
		p->cwd = sk_strdup(a->cwd);
	}
	if (a->user) {
		if ((r = resolve_user(st->rootfs, a->user, &p->user.uid, &p->user.gid, err)) < 0)
			return r;
		free(p->user.additional_gids);
		p->user.additional_gids = NULL;
		p->user.n_additional_gids = 0;
	}
	return 0;
}

/* runtime_root from GET /v1/info and the container id from ps. */
static int locate(const struct skiff_opts *o, const struct exec_args *a, char **ret_root,
		  char **ret_id)
{
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL;
	struct sk_error *err = NULL;
	json_t *info = NULL, *reps;
	const char *root;
	int r;

	if ((r = skiff_app_name(&a->sel, false, &app)) != 0 || (r = skiff_connect(o, &c)) != 0)
		return r;
	if (skiff_call(c, "GET", "/v1/info", NULL, &info, &err) < 0)
		return skiff_fail(err);
	root = json_string_value(json_object_get(info, "runtime_root"));
	if (!root) {
		json_decref(info);
		sk_error_set(&err, EPROTO, "GET /v1/info: no runtime_root in the answer");
		return skiff_fail(err);
	}
	*ret_root = sk_strdup(root);
	json_decref(info);
	if (!(reps = skiff_get_replicas(c, app)))
		return 1;
	r = find_container(reps, a, ret_id, &err);
	json_decref(reps);
	if (r < 0) {
		sk_error_prefix(&err, "exec");
		return skiff_fail(err);
	}
	return 0;
}

int skiff_cmd_exec(const struct skiff_opts *o, int argc, char **argv)
{
	struct exec_args a = { 0 };
	_cleanup_strv_ char **env = NULL;
	_cleanup_free_ char *root = NULL, *id = NULL;
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	_cleanup_(sk_spec_freep) struct sk_spec *spec = NULL;
	struct sk_error *err = NULL;
	int r, status = 0;

	skiff_app_sel_init(&a.sel, o);
	r = parse_args(argc, argv, &a);
	env = a.env;
	if (r >= 0)
		return r;
	if ((r = locate(o, &a, &root, &id)) != 0)
		return r;

	struct sk_runtime rt = { .root = root };
	struct sk_exec_opts eo = { .detach = a.detach };
	if (sk_state_load(root, id, &st, &err) < 0 || sk_container_spec(st, &spec, &err) < 0 ||
	    build_process(st, &a, spec, &err) < 0 ||
	    sk_container_exec(&rt, id, spec->process, &eo, &status, &err) < 0) {
		sk_error_prefix(&err, "exec in '%s'", id);
		return skiff_fail(err);
	}
	return a.detach ? 0 : status;
}
