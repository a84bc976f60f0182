/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-ps.c - `skiff ps`: the app's replicas as skiffd reports them
 * (GET /v1/apps/{app}/ps), as a table with human units or, with --json,
 * as the daemon's replica objects.  Like `docker compose ps`, replicas
 * that are not running (exited, never started) show only with -a.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "base/util.h"
#include "cmd/skiff-cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: skiff ps [-f FILE] [-p NAME] [-a] [--json] [SERVICE...]\n");
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static int64_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : (int64_t)json_number_value(v);
}

static bool shown(json_t *rep, bool all, char **services)
{
	const char *state = str(rep, "state");

	if (!all && (!strcmp(state, "exited") || !strcmp(state, "none")))
		return false;
	if (!services || !*services)
		return true;
	for (char **s = services; *s; s++)
		if (!strcmp(*s, str(rep, "service")))
			return true;
	return false;
}

static void add_row(struct skiff_table *t, json_t *rep, int64_t now)
{
	char state[64], restarts[24], uptime[32] = "-", cpu[32], mem[32], pid[24] = "-";
	const char *health = str(rep, "health");
	json_t *code = json_object_get(rep, "exit_code");
	int64_t started = num(rep, "started_ns");

	if (!strcmp(str(rep, "state"), "exited") && json_is_integer(code))
		snprintf(state, sizeof(state), "exited (%" JSON_INTEGER_FORMAT ")",
			 json_integer_value(code));
	else
		snprintf(state, sizeof(state), "%s", str(rep, "state"));
	snprintf(restarts, sizeof(restarts), "%" PRId64, num(rep, "restarts"));
	if (!strcmp(str(rep, "state"), "running") && started > 0)
		skiff_human_duration(now - started, uptime, sizeof(uptime));
	snprintf(cpu, sizeof(cpu), "%.2fs", json_number_value(json_object_get(rep, "cpu_seconds")));
	skiff_human_bytes((uint64_t)num(rep, "memory_bytes"), mem, sizeof(mem));
	if (num(rep, "pid") > 0)
		snprintf(pid, sizeof(pid), "%" PRId64, num(rep, "pid"));
	const char *row[] = { str(rep, "name"),
			      str(rep, "service"),
			      state,
			      !*health || !strcmp(health, "none") ? "-" : health,
			      restarts,
			      uptime,
			      cpu,
			      mem,
			      pid,
			      *str(rep, "address") ? str(rep, "address") : "-" };
	skiff_table_add(t, row);
}

int skiff_cmd_ps(const struct skiff_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const headers[] = { "NAME",	 "SERVICE", "STATE", "HEALTH", "RESTARTS",
					       "UPTIME", "CPU",	    "MEM",   "PID",    "ADDRESS" };
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL;
	struct skiff_app_sel sel;
	bool all = false, as_json = false;
	json_t *reps, *rep, *out;
	size_t i;
	int ch, r;

	skiff_app_sel_init(&sel, o);
	while ((ch = getopt_long(argc, argv, "f:p:ah", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			sel.file = optarg;
			break;
		case 'p':
			sel.project = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((r = skiff_app_name(&sel, false, &app)) != 0 || (r = skiff_connect(o, &c)) != 0)
		return r;
	if (!(reps = skiff_get_replicas(c, app)))
		return 1;
	out = json_array();
	json_array_foreach(reps, i, rep) if (shown(rep, all, argv + optind))
	    json_array_append(out, rep);
	json_decref(reps);
	if (as_json) {
		_cleanup_free_ char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "[]");
	} else {
		struct skiff_table t;
		int64_t now = skiff_now_ns();

		skiff_table_init(&t, SK_ELEMENTSOF(headers), headers);
		json_array_foreach(out, i, rep) add_row(&t, rep, now);
		skiff_table_print(&t, stdout);
		skiff_table_release(&t);
	}
	json_decref(out);
	return 0;
}
