/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff.c - the skiff command line: global options and the table of
 * subcommands.  Each subcommand lives in its own skiff-<name>.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "cmd/skiff-cli.h"

static const struct {
	const char *name;
	int (*fn)(const struct skiff_opts *o, int argc, char **argv);
	const char *help;
} commands[] = {
	{ "image", skiff_cmd_image, "import, list, inspect, tag, export and remove images" },
	{ "config", skiff_cmd_config, "validate a compose file and print the resolved app" },
	{ "up", skiff_cmd_up, "create or update the app's containers and follow their logs" },
	{ "down", skiff_cmd_down, "stop and remove the app's containers (-v: and volumes)" },
	{ "ps", skiff_cmd_ps, "list the app's replicas" },
	{ "logs", skiff_cmd_logs, "print (and follow) the app's logs" },
	{ "exec", skiff_cmd_exec, "run a command in a running replica" },
	{ "scale", skiff_cmd_scale, "set services' replica counts" },
	{ "fault", skiff_cmd_fault, "inject delays and aborts into a service's traffic" },
	{ "stop", skiff_cmd_stop, "stop services" },
	{ "start", skiff_cmd_start, "start stopped services" },
	{ "restart", skiff_cmd_restart, "restart services" },
	{ "top", skiff_cmd_top, "list the processes of each replica" },
	{ "events", skiff_cmd_events, "print (and follow) skiffd's events" },
	{ "inspect", skiff_cmd_inspect, "print the app, a service or a replica as JSON" },
};

int skiff_fail(struct sk_error *err)
{
	fprintf(stderr, "skiff: %s\n", err ? err->msg : "unknown error");
	sk_error_free(err);
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: skiff [--store DIR] [--sock PATH] [-f FILE] [-p NAME] [--debug] command "
		   "[options]\n"
		   "             [arguments]\n\ncommands:\n");
	for (size_t i = 0; i < SK_ELEMENTSOF(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "sock", required_argument, NULL, 'S' },
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct skiff_opts o = { .store = getenv("SKIFF_STORE"), .sock = "/run/skiff/skiffd.sock" };
	int c;

	if (!o.store)
		o.store = "/var/lib/skiff";
	if (getenv("SKIFF_SOCK") && *getenv("SKIFF_SOCK"))
		o.sock = getenv("SKIFF_SOCK");
	sk_log_set_prefix("skiff");
	while ((c = getopt_long(argc, argv, "+hvf:p:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.store = optarg;
			break;
		case 'S':
			o.sock = optarg;
			break;
		case 'f':
			o.file = optarg;
			break;
		case 'p':
			o.project = optarg;
			break;
		case 'd':
			sk_log_set_level(SK_LOG_DEBUG);
			break;
		case 'v':
			printf("skiff version %s (commit %s)\n", SK_VERSION, SK_COMMIT);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < SK_ELEMENTSOF(commands); i++)
		if (!strcmp(commands[i].name, argv[optind])) {
			char **sub = argv + optind;
			int n = argc - optind;
			optind =
			    0; /* 0: getopt re-initializes (each verb its own ordering rules) */
			return commands[i].fn(&o, n, sub);
		}
	fprintf(stderr, "skiff: unknown command '%s' (see skiff --help)\n", argv[optind]);
	return 2;
}
