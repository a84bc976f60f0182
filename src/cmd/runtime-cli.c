/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime-cli.c - skiff-runtime's lifecycle subcommands: create, start,
 * run, state, kill, delete, list, pause, resume.  Option names, output
 * formats and exit codes follow runc, which clients (conmon, containerd's
 * shim) depend on.  exec, ps, update, spec and features are in
 * runtime-cli-process.c.
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "cmd/runtime-cli.h"

int sk_cli_fail(struct sk_error *err)
{
	const char *msg = err ? err->msg : "unknown error";

	sk_log_error("%s", msg);
	if (sk_log_fd() != STDERR_FILENO)
		fprintf(stderr, "skiff-runtime: %s\n", msg);
	sk_error_free(err);
	return 1;
}

static int usage_error(const char *cmd, const char *what)
{
	struct sk_error *err = NULL;
	sk_error_set(&err, 0, "%s: %s", cmd, what);
	return sk_cli_fail(err);
}

/* The one container id a command takes. */
static const char *one_id(int argc, char **argv, const char *cmd)
{
	if (optind != argc - 1) {
		usage_error(cmd, optind >= argc ? "requires a container id"
						: "takes exactly one container id");
		return NULL;
	}
	return argv[optind];
}

enum { OPT_PID_FILE = 256, OPT_CONSOLE, OPT_NO_PIVOT, OPT_NO_KEYRING, OPT_PRESERVE, OPT_KEEP };

static int parse_create(int argc, char **argv, struct sk_create_opts *o, bool run)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, OPT_NO_KEYRING },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
		{ "detach", no_argument, NULL, 'd' },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "no-subreaper", no_argument, NULL, OPT_KEEP },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, run ? "+b:d" : "+b:", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bundle = optarg;
			break;
		case OPT_PID_FILE:
			o->pid_file = optarg;
			break;
		case OPT_CONSOLE:
			o->console_socket = optarg;
			break;
		case OPT_NO_PIVOT:
			o->no_pivot = true;
			break;
		case OPT_NO_KEYRING:
			o->no_new_keyring = true;
			break;
		case OPT_PRESERVE: {
			int n;
			if (sk_parse_int(optarg, &n) < 0 || n < 0)
				return usage_error(argv[0], "--preserve-fds: not a count");
			o->preserve_fds = (unsigned)n;
			break;
		}
		case 'd':
			if (!run)
				return usage_error(argv[0], "unknown option --detach");
			o->detach = true;
			break;
		case OPT_KEEP:
			break;
		default:
			return usage_error(argv[0], "invalid option");
		}
	}
	return 0;
}

int sk_cli_create(const struct sk_runtime *rt, int argc, char **argv)
{
	struct sk_create_opts o = { 0 };
	struct sk_error *err = NULL;
	const char *id;

	if (parse_create(argc, argv, &o, false) || !(id = one_id(argc, argv, "create")))
		return 1;
	if (sk_container_create(rt, id, &o, &err) < 0)
		return sk_cli_fail(err);
	return 0;
}

int sk_cli_run(const struct sk_runtime *rt, int argc, char **argv)
{
	struct sk_create_opts o = { 0 };
	struct sk_error *err = NULL;
	const char *id;
	int status = 0;

	if (parse_create(argc, argv, &o, true) || !(id = one_id(argc, argv, "run")))
		return 1;
	if (sk_container_run(rt, id, &o, &status, &err) < 0)
		return sk_cli_fail(err);
	return status;
}

/* Commands that take only an id and call one library function. */
static int simple(const struct sk_runtime *rt, int argc, char **argv,
		  int (*fn)(const struct sk_runtime *, const char *, struct sk_error **))
{
	struct sk_error *err = NULL;
	const char *id;

	optind = 1;
	if (getopt_long_only(argc, argv, "+", (struct option[]){ { 0 } }, NULL) != -1)
		return usage_error(argv[0], "invalid option");
	if (!(id = one_id(argc, argv, argv[0])))
		return 1;
	if (fn(rt, id, &err) < 0)
		return sk_cli_fail(err);
	return 0;
}

int sk_cli_start(const struct sk_runtime *rt, int argc, char **argv)
{
	return simple(rt, argc, argv, sk_container_start);
}

int sk_cli_pause(const struct sk_runtime *rt, int argc, char **argv)
{
	return simple(rt, argc, argv, sk_container_pause);
}

int sk_cli_resume(const struct sk_runtime *rt, int argc, char **argv)
{
	return simple(rt, argc, argv, sk_container_resume);
}

static int print_state(const struct sk_runtime *rt, const char *id, struct sk_error **err)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	int r = sk_state_load(rt->root, id, &st, err);

	if (r < 0)
		return r;
	_cleanup_free_ char *doc = sk_state_json(st, sk_state_status(st), true);
	printf("%s\n", doc);
	return 0;
}

int sk_cli_state(const struct sk_runtime *rt, int argc, char **argv)
{
	return simple(rt, argc, argv, print_state);
}

static const struct {
	const char *name;
	int num;
} signals[] = {
	{ "HUP", SIGHUP },	 { "INT", SIGINT },	  { "QUIT", SIGQUIT },
	{ "ILL", SIGILL },	 { "TRAP", SIGTRAP },	  { "ABRT", SIGABRT },
	{ "IOT", SIGIOT },	 { "BUS", SIGBUS },	  { "FPE", SIGFPE },
	{ "KILL", SIGKILL },	 { "USR1", SIGUSR1 },	  { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },	 { "PIPE", SIGPIPE },	  { "ALRM", SIGALRM },
	{ "TERM", SIGTERM },	 { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },
	{ "CLD", SIGCHLD },	 { "CONT", SIGCONT },	  { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },	 { "TTIN", SIGTTIN },	  { "TTOU", SIGTTOU },
	{ "URG", SIGURG },	 { "XCPU", SIGXCPU },	  { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },	  { "WINCH", SIGWINCH },
	{ "IO", SIGIO },	 { "POLL", SIGPOLL },	  { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

int sk_cli_parse_signal(const char *s)
{
	int n;

	if (sk_parse_int(s, &n) == 0)
		return n > 0 && n < _NSIG ? n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < SK_ELEMENTSOF(signals); i++)
		if (!strcasecmp(s, signals[i].name))
			return signals[i].num;
	if (!strncasecmp(s, "RTMIN", 5) || !strncasecmp(s, "RTMAX", 5)) {
		bool max = !strncasecmp(s, "RTMAX", 5);
		int off = 0;
		if (s[5] && (sk_parse_int(s + 5, &off) < 0 || (max ? off > 0 : off < 0)))
			return -1;
		n = (max ? SIGRTMAX : SIGRTMIN) + off;
		return n >= SIGRTMIN && n <= SIGRTMAX ? n : -1;
	}
	return -1;
}

int sk_cli_kill(const struct sk_runtime *rt, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { 0 } };
	struct sk_error *err = NULL;
	bool all = false;
	int c, sig = SIGTERM;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+a", opts, NULL)) != -1) {
		if (c != 'a')
			return usage_error("kill", "invalid option");
		all = true;
	}
	if (optind >= argc || argc - optind > 2)
		return usage_error("kill", "usage: kill [--all] <container-id> [signal]");
	if (argc - optind == 2 && (sig = sk_cli_parse_signal(argv[optind + 1])) < 0) {
		sk_error_set(&err, 0, "kill: invalid signal '%s'", argv[optind + 1]);
		return sk_cli_fail(err);
	}
	if (sk_container_kill(rt, argv[optind], sig, all, &err) < 0)
		return sk_cli_fail(err);
	return 0;
}

int sk_cli_delete(const struct sk_runtime *rt, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	bool force = false;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+f", opts, NULL)) != -1) {
		if (c != 'f')
			return usage_error("delete", "invalid option");
		force = true;
	}
	if (optind >= argc)
		return usage_error("delete", "requires a container id");
	for (int i = optind; i < argc; i++) {
		struct sk_error *err = NULL;
		if (sk_container_delete(rt, argv[i], force, &err) < 0)
			rc = sk_cli_fail(err);
	}
	return rc;
}

int sk_cli_list(const struct sk_runtime *rt, int argc, char **argv)
{
	static const struct option opts[] = { { "quiet", no_argument, NULL, 'q' },
					      { "format", required_argument, NULL, 'f' },
					      { 0 } };
	struct sk_error *err = NULL;
	bool quiet = false, json = false;
	_cleanup_strv_ char **ids = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+qf:", opts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "table")))
			json = !strcmp(optarg, "json");
		else
			return usage_error("list", "invalid option (--format is table or json)");
	}
	if (sk_container_list(rt, &ids, &err) < 0)
		return sk_cli_fail(err);
	json_t *arr = json_array();
	if (!quiet && !json)
		printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
	for (size_t i = 0; ids[i]; i++) {
		_cleanup_(sk_state_freep) struct sk_state *st = NULL;
		if (sk_state_load(rt->root, ids[i], &st, NULL) < 0)
			continue;
		enum sk_status s = sk_state_status(st);
		if (quiet) {
			printf("%s\n", st->id);
		} else if (json) {
			_cleanup_free_ char *doc = sk_state_json(st, s, false);
			json_array_append_new(arr, json_loads(doc, 0, NULL));
		} else {
			printf("%-12s %-8d %-10s %-40s %-30s %s\n", st->id,
			       s == SK_STATUS_STOPPED ? 0 : (int)st->pid, sk_status_name(s),
			       st->bundle, st->created, "root");
		}
	}
	if (json) {
		_cleanup_free_ char *out = json_dumps(arr, JSON_COMPACT);
		printf("%s\n", out);
	}
	json_decref(arr);
	return 0;
}
