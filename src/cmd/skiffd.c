/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiffd.c - the platform daemon's executable: options, then the keeper
 * split (docs/daemon.md).
 *
 * Started by hand or by systemd, skiffd forks: the parent becomes the
 * keeper (the subreaper that holds containers and their output, and
 * restarts the daemon if it dies), the child runs the daemon.  When a
 * keeper already runs for this run directory, a hand-started skiffd asks
 * it to start the daemon (if none runs) and exits.  The keeper re-executes
 * this binary with --from-keeper to restart the daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon.h"
#include "daemon/keeper.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: skiffd [options]\n\n"
		"  --run-dir DIR         sockets, pid files, runtime state (default /run/skiff)\n"
		"  --data-dir DIR        store, images, logs, volumes (default /var/lib/skiff)\n"
		"  --cgroup-parent NAME  cgroup subtree for containers (default skiff)\n"
		"  --metrics-addr H:P    also serve GET /metrics on this TCP address\n"
		"  --max-helpers N       containers created in parallel (default 16)\n"
		"  --log-format FMT      text or json (default text)\n"
		"  --debug               debug logging\n"
		"  --version             print the version\n");
}

static int fail(struct sk_error *err)
{
	sk_log_error("%s", err ? err->msg : "unknown error");
	sk_error_free(err);
	return 1;
}

/* Hand-started while a keeper lives: let it start the daemon. */
static int handoff(int fd, const char *run_dir)
{
	struct sk_error *err = NULL;
	struct sk_keeper_msg m;
	int r = sk_keeper_spawn_daemon(fd, &err);

	if (r >= 0)
		r = sk_keeper_recv(fd, &m, &err);
	close(fd);
	if (r < 0)
		return fail(err);
	if (m.type == SK_KEEPER_MSG_ERROR) {
		sk_log_error("keeper: %s", m.text);
		return 1;
	}
	sk_info("keeper (pid %d) for %s started the daemon", (int)sk_keeper_pid(run_dir), run_dir);
	return 0;
}

/* argv for the keeper to restart the daemon: this binary, the same options, --from-keeper. */
static char **daemon_argv(int argc, char **argv)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char **v = NULL;

	exe[n > 0 ? n : 0] = '\0';
	sk_strv_push(&v, n > 0 ? exe : argv[0]);
	for (int i = 1; i < argc; i++)
		sk_strv_push(&v, argv[i]);
	sk_strv_push(&v, "--from-keeper");
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "cgroup-parent", required_argument, NULL, 'c' },
		{ "metrics-addr", required_argument, NULL, 'm' },
		{ "max-helpers", required_argument, NULL, 'j' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "from-keeper", no_argument, NULL, 'K' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sk_daemon_config cfg = { .run_dir = "/run/skiff", .data_dir = "/var/lib/skiff" };
	struct sk_error *err = NULL;
	bool from_keeper = false;
	int c, fd = -1, r;
	int64_t n;
	pid_t pid;

	sk_log_set_prefix("skiffd");
	sk_log_set_level(SK_LOG_INFO); /* events and decisions, to stderr (the journal) */
	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			cfg.run_dir = optarg;
			break;
		case 'D':
			cfg.data_dir = optarg;
			break;
		case 'c':
			cfg.cgroup_parent = optarg;
			break;
		case 'm':
			cfg.metrics_addr = optarg;
			break;
		case 'j':
			if (sk_parse_int64(optarg, &n) < 0 || n < 1 || n > 256) {
				sk_log_error("--max-helpers: want 1..256, not '%s'", optarg);
				return 2;
			}
			cfg.max_helpers = (unsigned)n;
			break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				sk_log_error("--log-format: want text or json, not '%s'", optarg);
				return 2;
			}
			(void)sk_log_open(NULL,
					  !strcmp(optarg, "json") ? SK_LOG_JSON : SK_LOG_TEXT);
			break;
		case 'd':
			sk_log_set_level(SK_LOG_DEBUG);
			break;
		case 'K':
			from_keeper = true;
			break;
		case 'v':
			printf("skiffd version %s (commit %s)\n", SK_VERSION, SK_COMMIT);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		sk_log_error("skiffd must run as root");
		return 1;
	}
	if (from_keeper)
		return sk_daemon_main(&cfg, &err) < 0 ? fail(err) : 0;

	if (sk_mkdir_p(cfg.run_dir, 0700) < 0) {
		sk_log_error("mkdir '%s': %s", cfg.run_dir, strerror(errno));
		return 1;
	}
	if (sk_keeper_connect(cfg.run_dir, &fd, &err) == 0)
		return handoff(fd, cfg.run_dir);
	sk_error_free(err);
	err = NULL;

	pid = fork();
	if (pid < 0) {
		sk_log_error("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0)
		return sk_daemon_main(&cfg, &err) < 0 ? fail(err) : 0;

	char **v = daemon_argv(argc, argv);
	struct sk_keeper_config kc = { .run_dir = cfg.run_dir, .daemon_argv = v };
	sk_log_set_prefix("skiff-keeper");
	(void)prctl(PR_SET_NAME, "skiff-keeper");
	r = sk_keeper_run(&kc, pid, &err);
	sk_strv_free(v);
	return r < 0 ? fail(err) : 0;
}
