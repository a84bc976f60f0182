/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-runtime.c - the OCI runtime's command line, compatible with runc's.
 *
 * Parses global options and dispatches to one small function per
 * subcommand; each calls the runtime library and prints its error once.
 * Options are accepted with one or two dashes, as runc's CLI library does,
 * because podman's conmon and containerd's shim pass them both ways.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "cmd/runtime-cli.h"

static const struct sk_cli_command commands[] = {
	{ "create", sk_cli_create, "create a container" },
	{ "start", sk_cli_start, "start a created container" },
	{ "run", sk_cli_run, "create and start a container" },
	{ "state", sk_cli_state, "output the state of a container" },
	{ "kill", sk_cli_kill, "send a signal to the container's init process" },
	{ "delete", sk_cli_delete, "delete a container and its resources" },
	{ "list", sk_cli_list, "list containers" },
	{ "ps", sk_cli_ps, "list the processes in a container" },
	{ "exec", sk_cli_exec, "run a process in a running container" },
	{ "pause", sk_cli_pause, "suspend every process in a container" },
	{ "resume", sk_cli_resume, "resume a paused container" },
	{ "update", sk_cli_update, "update a container's resource limits" },
	{ "spec", sk_cli_spec, "write a new default config.json" },
	{ "features", sk_cli_features, "show what this runtime supports" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: skiff-runtime [global options] command [command options] [arguments]\n\n"
		   "global options:\n"
		   "  --root DIR            state directory (default /run/skiff-runtime)\n"
		   "  --log FILE            log to FILE instead of stderr\n"
		   "  --log-format FORMAT   text or json\n"
		   "  --debug               log debug messages\n"
		   "  --systemd-cgroup      accepted; cgroupfs is used when systemd is absent\n"
		   "  --version, --help\n\ncommands:\n");
	for (size_t i = 0; i < SK_ELEMENTSOF(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "systemd-cgroup", no_argument, NULL, 's' },
		{ "criu", required_argument, NULL, 'c' },
		{ "rootless", required_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sk_runtime rt = { .root = "/run/skiff-runtime" };
	const char *log_path = NULL;
	enum sk_log_format fmt = SK_LOG_TEXT;
	int c;

	sk_log_set_prefix("skiff-runtime");
	while ((c = getopt_long_only(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rt.root = optarg;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr,
					"skiff-runtime: --log-format: unknown format '%s'\n",
					optarg);
				return 1;
			}
			fmt = strcmp(optarg, "json") ? SK_LOG_TEXT : SK_LOG_JSON;
			break;
		case 'd':
			sk_log_set_level(SK_LOG_DEBUG);
			break;
		case 's':
			rt.systemd_cgroup = true;
			break;
		case 'c':
		case 'R':
			break;
		case 'v':
			printf("skiff-runtime version %s\ncommit: %s\nspec: %s\n", SK_VERSION,
			       SK_COMMIT, SK_OCI_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (sk_log_open(log_path, fmt) < 0) {
		fprintf(stderr, "skiff-runtime: open log '%s': %m\n", log_path);
		return 1;
	}
	if (rt.systemd_cgroup)
		sk_warn(
		    "--systemd-cgroup: systemd is not used, cgroups are managed through cgroupfs");
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < SK_ELEMENTSOF(commands); i++)
		if (!strcmp(commands[i].name, name)) {
			optind++;
			return commands[i].fn(&rt, argc - optind + 1, argv + optind - 1);
		}
	sk_log_error("no such command: %s", name);
	if (log_path)
		fprintf(stderr, "skiff-runtime: no such command: %s\n", name);
	return 1;
}
