/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime-cli-process.c - skiff-runtime's exec, ps, update, spec and
 * features subcommands, with runc's options.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/util.h"
#include "cmd/runtime-cli.h"
#include "runtime/mountopt.h"

static _printf_(1, 2) int fail_msg(const char *fmt, ...)
{
	struct sk_error *err = NULL;
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	sk_error_set(&err, 0, "%s", msg);
	free(msg);
	return sk_cli_fail(err);
}

enum {
	OPT_CONSOLE = 256,
	OPT_PID_FILE,
	OPT_CWD,
	OPT_NNP,
	OPT_PRESERVE,
	OPT_APPARMOR,
	OPT_LABEL,
	OPT_CGROUP,
	OPT_IGNORE_PAUSED,
};

struct exec_args {
	struct sk_exec_opts o;
	const char *process_file;
	bool tty, nnp;
	const char *cwd, *user;
	char **env, **caps, **gids;
};

static void exec_args_release(struct exec_args *a)
{
	sk_strv_free(a->env);
	sk_strv_free(a->caps);
	sk_strv_free(a->gids);
}

static int parse_exec(int argc, char **argv, struct exec_args *a)
{
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "tty", no_argument, NULL, 't' },
		{ "detach", no_argument, NULL, 'd' },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "env", required_argument, NULL, 'e' },
		{ "cwd", required_argument, NULL, OPT_CWD },
		{ "user", required_argument, NULL, 'u' },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "cap", required_argument, NULL, 'c' },
		{ "no-new-privs", no_argument, NULL, OPT_NNP },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
		{ "apparmor", required_argument, NULL, OPT_APPARMOR },
		{ "process-label", required_argument, NULL, OPT_LABEL },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
		{ 0 },
	};
	int c, n;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+p:tde:u:g:c:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->process_file = optarg;
			break;
		case 't':
			a->tty = true;
			break;
		case 'd':
			a->o.detach = true;
			break;
		case OPT_CONSOLE:
			a->o.console_socket = optarg;
			break;
		case OPT_PID_FILE:
			a->o.pid_file = optarg;
			break;
		case 'e':
			sk_strv_push(&a->env, optarg);
			break;
		case OPT_CWD:
			a->cwd = optarg;
			break;
		case 'u':
			a->user = optarg;
			break;
		case 'g':
			sk_strv_push(&a->gids, optarg);
			break;
		case 'c':
			sk_strv_push(&a->caps, optarg);
			break;
		case OPT_NNP:
			a->nnp = true;
			break;
		case OPT_PRESERVE:
			if (sk_parse_int(optarg, &n) < 0 || n < 0)
				return fail_msg("exec: --preserve-fds: not a count: '%s'", optarg);
			a->o.preserve_fds = (unsigned)n;
			break;
		case OPT_APPARMOR:
		case OPT_LABEL:
		case OPT_CGROUP:
		case OPT_IGNORE_PAUSED:
			break;
		default:
			return fail_msg("exec: %s", "invalid option");
		}
	}
	return 0;
}

static int apply_user(json_t *proc, const char *spec)
{
	json_t *user = json_object_get(proc, "user");
	_cleanup_free_ char *copy = sk_strdup(spec);
	char *colon = strchr(copy, ':');
	int64_t uid, gid = -1;

	if (colon)
		*colon = '\0';
	if (sk_parse_int64(copy, &uid) < 0 || uid < 0 || uid > UINT32_MAX ||
	    (colon && (sk_parse_int64(colon + 1, &gid) < 0 || gid < 0 || gid > UINT32_MAX)))
		return -EINVAL;
	if (!user) {
		user = json_object();
		json_object_set_new(proc, "user", user);
	}
	json_object_set_new(user, "uid", json_integer(uid));
	json_object_set_new(user, "gid", json_integer(gid >= 0 ? gid : 0));
	return 0;
}

static void add_caps(json_t *proc, char **caps)
{
	static const char *const sets[] = { "bounding", "effective", "permitted", "inheritable",
					    "ambient" };
	json_t *c = json_object_get(proc, "capabilities");

	if (!caps)
		return;
	if (!c) {
		c = json_object();
		json_object_set_new(proc, "capabilities", c);
	}
	for (size_t s = 0; s < SK_ELEMENTSOF(sets); s++) {
		json_t *arr = json_object_get(c, sets[s]);
		if (!arr) {
			arr = json_array();
			json_object_set_new(c, sets[s], arr);
		}
		for (char **p = caps; *p; p++)
			json_array_append_new(arr, json_string(*p));
	}
}

/* The container's process with the command line's changes, as runc exec builds it. */
static int build_inline_process(const struct sk_runtime *rt, const char *id, struct exec_args *a,
				char **args, struct sk_process **ret, struct sk_error **err)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	_cleanup_free_ char *cfg = NULL, *text = NULL;
	int r;

	if ((r = sk_state_load(rt->root, id, &st, err)) < 0)
		return r;
	cfg = sk_state_file(st, "config.json");
	if ((r = sk_read_file(cfg, &text, NULL)) < 0)
		return sk_error_set(err, -r, "read '%s'", cfg);
	json_t *root = json_loads(text, 0, NULL);
	json_t *proc = json_deep_copy(json_object_get(root, "process"));
	json_decref(root);
	if (!json_is_object(proc)) {
		json_decref(proc);
		proc = json_object();
	}
	json_t *argv = json_array();
	for (char **p = args; *p; p++)
		json_array_append_new(argv, json_string(*p));
	json_object_set_new(proc, "args", argv);
	json_object_set_new(proc, "terminal", json_boolean(a->tty));
	json_t *env = json_object_get(proc, "env");
	if (!env) {
		env = json_array();
		json_object_set_new(proc, "env", env);
	}
	for (char **p = a->env; p && *p; p++)
		json_array_append_new(env, json_string(*p));
	if (a->cwd)
		json_object_set_new(proc, "cwd", json_string(a->cwd));
	if (!json_object_get(proc, "cwd"))
		json_object_set_new(proc, "cwd", json_string("/"));
	if (a->user && apply_user(proc, a->user) < 0) {
		json_decref(proc);
		return sk_error_set(err, 0, "exec: --user: invalid value '%s' (want UID[:GID])",
				    a->user);
	}
	if (a->gids) {
		json_t *user = json_object_get(proc, "user");
		json_t *g = json_array();
		for (char **p = a->gids; *p; p++) {
			int64_t v;
			if (sk_parse_int64(*p, &v) == 0)
				json_array_append_new(g, json_integer(v));
		}
		json_object_set_new(user, "additionalGids", g);
	}
	add_caps(proc, a->caps);
	if (a->nnp)
		json_object_set_new(proc, "noNewPrivileges", json_true());
	_cleanup_free_ char *doc = json_dumps(proc, JSON_COMPACT);
	json_decref(proc);
	return sk_spec_parse_process(doc, strlen(doc), "exec", ret, err);
}

int sk_cli_exec(const struct sk_runtime *rt, int argc, char **argv)
{
	struct exec_args a = { 0 };
	_cleanup_(sk_process_freep) struct sk_process *p = NULL;
	struct sk_error *err = NULL;
	int status = 0, r;

	if (parse_exec(argc, argv, &a)) {
		exec_args_release(&a);
		return 1;
	}
	if (optind >= argc) {
		exec_args_release(&a);
		return fail_msg("exec: %s", "requires a container id");
	}
	const char *id = argv[optind];
	if (a.process_file) {
		_cleanup_free_ char *text = NULL;
		size_t len;
		r = sk_read_file(a.process_file, &text, &len);
		if (r < 0)
			sk_error_set(&err, -r, "exec: read '%s'", a.process_file);
		else
			r = sk_spec_parse_process(text, len, a.process_file, &p, &err);
	} else if (optind + 1 >= argc) {
		r = sk_error_set(&err, 0, "exec: requires a command to run (or --process)");
	} else {
		r = build_inline_process(rt, id, &a, argv + optind + 1, &p, &err);
	}
	if (r == 0)
		r = sk_container_exec(rt, id, p, &a.o, &status, &err);
	exec_args_release(&a);
	if (r < 0)
		return sk_cli_fail(err);
	return status;
}

static int cmp_pid(const void *x, const void *y)
{
	return *(const pid_t *)x - *(const pid_t *)y;
}

/* runc's table: `ps` output (args from the command line, default -ef) filtered to the pids. */
static int ps_table(pid_t *pids, size_t n, char **ps_args)
{
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid_t child = fork();
	if (child == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		size_t na = sk_strv_length(ps_args);
		char **argv = sk_new0(char *, na + 3);
		argv[0] = "ps";
		if (na == 0)
			argv[1] = "-ef";
		for (size_t i = 0; i < na; i++)
			argv[1 + i] = ps_args[i];
		execvp("ps", argv);
		_exit(127);
	}
	close(pipefd[1]);
	FILE *f = fdopen(pipefd[0], "r");
	char *line = NULL;
	size_t cap = 0;
	int pid_col = -1;
	for (bool header = true; getline(&line, &cap, f) > 0; header = false) {
		_cleanup_free_ char *copy = sk_strdup(line);
		char *save = NULL, *tok = strtok_r(copy, " \t\n", &save);
		int col = 0;
		for (; tok; tok = strtok_r(NULL, " \t\n", &save), col++) {
			if (header && !strcmp(tok, "PID"))
				pid_col = col;
			if (!header && col == pid_col)
				break;
		}
		int v;
		if (header || (tok && sk_parse_int(tok, &v) == 0 &&
			       bsearch(&(pid_t){ v }, pids, n, sizeof(pid_t), cmp_pid)))
			fputs(line, stdout);
	}
	free(line);
	fclose(f);
	int status;
	waitpid(child, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int sk_cli_ps(const struct sk_runtime *rt, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { 0 } };
	struct sk_error *err = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	bool json = false;
	size_t n = 0;
	int c;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c != 'f' || (strcmp(optarg, "json") && strcmp(optarg, "table")))
			return fail_msg("ps: %s", "invalid option (--format is table or json)");
		json = !strcmp(optarg, "json");
	}
	if (optind >= argc)
		return fail_msg("ps: %s", "requires a container id");
	if (sk_container_pids(rt, argv[optind], &pids, &n, &err) < 0)
		return sk_cli_fail(err);
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
		return 0;
	}
	qsort(pids, n, sizeof(pid_t), cmp_pid);
	if (ps_table(pids, n, argv + optind + 1) < 0)
		return fail_msg("ps: %s", "running ps failed");
	return 0;
}

int sk_cli_parse_bytes(const char *s, int64_t *ret)
{
	_cleanup_free_ char *num = sk_strdup(s);
	size_t len = strlen(num);
	int64_t mult = 1, v;

	if (len && (num[len - 1] == 'b' || num[len - 1] == 'B') && len > 1 &&
	    strchr("kKmMgGtT", num[len - 2]))
		num[--len] = '\0';
	if (len && strchr("kKmMgGtT", num[len - 1])) {
		const char *units = "kmgt";
		mult = 1024;
		for (const char *u = units; *u != (num[len - 1] | 0x20); u++)
			mult *= 1024;
		num[--len] = '\0';
	}
	if (sk_parse_int64(num, &v) < 0 || v < -1)
		return -EINVAL;
	*ret = v == -1 ? -1 : v * mult;
	return 0;
}

enum {
	U_MEMORY = 256,
	U_SWAP,
	U_RESERVATION,
	U_KMEM,
	U_KMEM_TCP,
	U_SHARES,
	U_QUOTA,
	U_PERIOD,
	U_RT_PERIOD,
	U_RT_RUNTIME,
	U_CPUS,
	U_MEMS,
	U_PIDS,
	U_BLKIO,
	U_L3,
	U_MEMBW,
};

static int update_flag(struct sk_resources *r, int c, const char *v)
{
	int64_t n;
	uint64_t u;

	switch (c) {
	case U_MEMORY:
	case U_SWAP:
	case U_RESERVATION:
	case U_KMEM:
	case U_KMEM_TCP:
		if (sk_cli_parse_bytes(v, &n) < 0)
			return -EINVAL;
		if (c == U_MEMORY)
			r->memory.has_limit = true, r->memory.limit = n;
		if (c == U_SWAP)
			r->memory.has_swap = true, r->memory.swap = n;
		if (c == U_RESERVATION)
			r->memory.has_reservation = true, r->memory.reservation = n;
		return 0; /* kernel memory limits are deprecated and ignored, as in runc */
	case U_QUOTA:
	case U_RT_RUNTIME:
	case U_PIDS:
		if (sk_parse_int64(v, &n) < 0)
			return -EINVAL;
		if (c == U_QUOTA)
			r->cpu.has_quota = true, r->cpu.quota = n;
		if (c == U_RT_RUNTIME)
			r->cpu.has_realtime_runtime = true, r->cpu.realtime_runtime = n;
		if (c == U_PIDS)
			r->pids.has_limit = true, r->pids.limit = n;
		return 0;
	case U_SHARES:
	case U_PERIOD:
	case U_RT_PERIOD:
	case U_BLKIO:
		if (sk_parse_uint64(v, &u) < 0)
			return -EINVAL;
		if (c == U_SHARES)
			r->cpu.has_shares = true, r->cpu.shares = u;
		if (c == U_PERIOD)
			r->cpu.has_period = true, r->cpu.period = u;
		if (c == U_RT_PERIOD)
			r->cpu.has_realtime_period = true, r->cpu.realtime_period = u;
		if (c == U_BLKIO) {
			if (u > 1000)
				return -EINVAL;
			r->blkio.has_weight = true, r->blkio.weight = (uint16_t)u;
		}
		return 0;
	case U_CPUS:
		free(r->cpu.cpus);
		r->cpu.cpus = sk_strdup(v);
		return 0;
	case U_MEMS:
		free(r->cpu.mems);
		r->cpu.mems = sk_strdup(v);
		return 0;
	default:
		return -ENOTSUP;
	}
}

static int load_resources(const char *path, struct sk_resources **ret, struct sk_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	if (!strcmp(path, "-")) {
		size_t cap = 0;
		FILE *f = open_memstream(&text, &cap);
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			fwrite(buf, 1, n, f);
		fclose(f);
		len = cap;
	} else if ((r = sk_read_file(path, &text, &len)) < 0) {
		return sk_error_set(err, -r, "update: read '%s'", path);
	}
	return sk_spec_parse_resources(text, len, strcmp(path, "-") ? path : "stdin", ret, err);
}

int sk_cli_update(const struct sk_runtime *rt, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, U_MEMORY },
		{ "memory-swap", required_argument, NULL, U_SWAP },
		{ "memory-reservation", required_argument, NULL, U_RESERVATION },
		{ "kernel-memory", required_argument, NULL, U_KMEM },
		{ "kernel-memory-tcp", required_argument, NULL, U_KMEM_TCP },
		{ "cpu-shares", required_argument, NULL, U_SHARES },
		{ "cpu-quota", required_argument, NULL, U_QUOTA },
		{ "cpu-period", required_argument, NULL, U_PERIOD },
		{ "cpu-rt-period", required_argument, NULL, U_RT_PERIOD },
		{ "cpu-rt-runtime", required_argument, NULL, U_RT_RUNTIME },
		{ "cpuset-cpus", required_argument, NULL, U_CPUS },
		{ "cpuset-mems", required_argument, NULL, U_MEMS },
		{ "pids-limit", required_argument, NULL, U_PIDS },
		{ "blkio-weight", required_argument, NULL, U_BLKIO },
		{ 0 },
	};
	_cleanup_(sk_resources_freep) struct sk_resources *res = NULL;
	struct sk_error *err = NULL;
	const char *file = NULL;
	struct {
		int c;
		const char *v;
	} flags[32];
	size_t nflags = 0;
	int c;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+r:", opts, NULL)) != -1) {
		if (c == 'r')
			file = optarg;
		else if (c >= U_MEMORY && nflags < SK_ELEMENTSOF(flags))
			flags[nflags].c = c, flags[nflags++].v = optarg;
		else
			return fail_msg("update: %s", "invalid option");
	}
	if (optind != argc - 1)
		return fail_msg("update: %s", "requires exactly one container id");
	if (file && load_resources(file, &res, &err) < 0)
		return sk_cli_fail(err);
	if (!res)
		res = sk_new0(struct sk_resources, 1);
	for (size_t i = 0; i < nflags; i++)
		if (update_flag(res, flags[i].c, flags[i].v) < 0) {
			sk_error_set(&err, 0, "update: --%s: invalid value '%s'",
				     opts[flags[i].c - U_MEMORY + 1].name, flags[i].v);
			return sk_cli_fail(err);
		}
	if (sk_container_update(rt, argv[optind], res, &err) < 0)
		return sk_cli_fail(err);
	return 0;
}

int sk_cli_spec(const struct sk_runtime *rt, int argc, char **argv)
{
	static const struct option opts[] = { { "rootless", no_argument, NULL, 'R' },
					      { "bundle", required_argument, NULL, 'b' },
					      { 0 } };
	const char *bundle = ".";
	bool rootless = false;
	int c;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+b:", opts, NULL)) != -1) {
		if (c == 'R')
			rootless = true;
		else if (c == 'b')
			bundle = optarg;
		else
			return fail_msg("spec: %s", "invalid option");
	}
	_cleanup_free_ char *path = sk_path_join(bundle, "config.json");
	if (access(path, F_OK) == 0)
		return fail_msg("File %s exists. Remove it first", path);
	_cleanup_free_ char *doc = sk_spec_default_json(rootless);
	_cleanup_free_ char *text = sk_asprintf("%s\n", doc);
	int r = sk_write_file_atomic(path, text, strlen(text), 0666 & ~022, false);
	if (r < 0) {
		struct sk_error *err = NULL;
		sk_error_set(&err, -r, "spec: write '%s'", path);
		return sk_cli_fail(err);
	}
	return 0;
}

int sk_cli_features(const struct sk_runtime *rt, int argc, char **argv)
{
	size_t n = sk_mountopt_count();
	_cleanup_free_ const char **opts = sk_new0(const char *, n + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *name = sk_mountopt_name(i);
		if (strcmp(name, "idmap") && strcmp(name, "ridmap")) /* not supported yet */
			opts[k++] = name;
	}
	_cleanup_free_ char *doc = sk_spec_features_json(opts);
	printf("%s\n", doc);
	return 0;
}
