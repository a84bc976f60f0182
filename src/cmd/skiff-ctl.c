/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-ctl.c - the small app verbs of `skiff`, one API call each (plus
 * printing): down, scale, stop, start, restart, top, events and inspect.
 * Each selects the app like `docker compose` (-p NAME, -f FILE, or the
 * compose file in the cwd) and prints the daemon's error message as is.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "base/util.h"
#include "cmd/skiff-cli.h"

/* -f FILE, -p NAME and -h, the only options of most verbs; returns -1 to go on, else the exit code. */
static int parse_app_opts(int argc, char **argv, struct skiff_app_sel *sel, const char *usage)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+f:p:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			sel->file = optarg;
			break;
		case 'p':
			sel->project = optarg;
			break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fprintf(stderr, "usage: %s\n", usage);
			return 2;
		}
	}
	return -1;
}

/* Selects the app and connects; returns 0, or the exit code after printing. */
static int open_app(const struct skiff_opts *o, const struct skiff_app_sel *sel, char **ret_app,
		    struct sk_api_client **ret_c)
{
	int r = skiff_app_name(sel, false, ret_app);

	return r ? r : skiff_connect(o, ret_c);
}

/* POST {app}/<verb> with {"services": [...]} and print "<verb-ed>: N". */
static int services_verb(const struct skiff_opts *o, int argc, char **argv, const char *verb,
			 const char *key)
{
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL, *path = NULL,
			    *usage = sk_asprintf("skiff %s [-f FILE] [-p NAME] [SERVICE...]", verb);
	struct sk_error *err = NULL;
	struct skiff_app_sel sel;
	json_t *body, *svcs, *ans = NULL;
	int r;

	skiff_app_sel_init(&sel, o);
	if ((r = parse_app_opts(argc, argv, &sel, usage)) >= 0)
		return r;
	if ((r = open_app(o, &sel, &app, &c)) != 0)
		return r;
	svcs = json_array();
	for (int i = optind; i < argc; i++)
		json_array_append_new(svcs, json_string(argv[i]));
	body = json_pack("{s:o}", "services", svcs);
	_cleanup_free_ char *suffix = sk_asprintf("/%s", verb);
	path = skiff_app_path(app, suffix);
	r = skiff_call(c, "POST", path, body, &ans, &err);
	json_decref(body);
	if (r < 0)
		return skiff_fail(err);
	printf("%s: %" JSON_INTEGER_FORMAT "\n", key,
	       json_integer_value(json_object_get(ans, key)));
	json_decref(ans);
	return 0;
}

int skiff_cmd_stop(const struct skiff_opts *o, int argc, char **argv)
{
	return services_verb(o, argc, argv, "stop", "stopped");
}

int skiff_cmd_start(const struct skiff_opts *o, int argc, char **argv)
{
	return services_verb(o, argc, argv, "start", "started");
}

int skiff_cmd_restart(const struct skiff_opts *o, int argc, char **argv)
{
	return services_verb(o, argc, argv, "restart", "restarted");
}

int skiff_cmd_scale(const struct skiff_opts *o, int argc, char **argv)
{
	static const char usage[] = "skiff scale [-f FILE] [-p NAME] SERVICE=N...";
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL, *path = NULL;
	struct skiff_app_sel sel;
	int r;

	skiff_app_sel_init(&sel, o);
	if ((r = parse_app_opts(argc, argv, &sel, usage)) >= 0)
		return r;
	if (optind >= argc) {
		fprintf(stderr, "usage: %s\n", usage);
		return 2;
	}
	/* every argument is checked before anything is sent */
	for (int i = optind; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		int64_t n;
		if (!eq || eq == argv[i] || sk_parse_int64(eq + 1, &n) < 0 || n < 0 || n > 1000) {
			fprintf(stderr,
				"skiff: scale: invalid argument '%s' (want SERVICE=N, N 0..1000)\n",
				argv[i]);
			return 2;
		}
	}
	if ((r = open_app(o, &sel, &app, &c)) != 0)
		return r;
	path = skiff_app_path(app, "/scale");
	for (int i = optind; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		_cleanup_free_ char *svc = sk_strndup(argv[i], (size_t)(eq - argv[i]));
		struct sk_error *err = NULL;
		json_t *body, *ans = NULL;
		int64_t n = 0;

		(void)sk_parse_int64(eq + 1, &n);
		body = json_pack("{s:s, s:I}", "service", svc, "replicas", (json_int_t)n);
		r = skiff_call(c, "POST", path, body, &ans, &err);
		json_decref(body);
		if (r < 0)
			return skiff_fail(err);
		printf("%s: %" JSON_INTEGER_FORMAT " -> %" JSON_INTEGER_FORMAT "\n", svc,
		       json_integer_value(json_object_get(ans, "from")),
		       json_integer_value(json_object_get(ans, "to")));
		json_decref(ans);
	}
	return 0;
}

int skiff_cmd_down(const struct skiff_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "volumes", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char usage[] = "usage: skiff down [-f FILE] [-p NAME] [-v]\n";
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL, *path = NULL;
	struct sk_error *err = NULL;
	struct skiff_app_sel sel;
	bool volumes = false;
	json_t *ans = NULL, *id;
	size_t i;
	int ch, r;

	skiff_app_sel_init(&sel, o);
	while ((ch = getopt_long(argc, argv, "f:p:vh", opts, NULL)) != -1) {
		if (ch == 'f')
			sel.file = optarg;
		else if (ch == 'p')
			sel.project = optarg;
		else if (ch == 'v')
			volumes = true;
		else {
			fputs(usage, ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	if ((r = open_app(o, &sel, &app, &c)) != 0)
		return r;
	path = skiff_app_path(app, volumes ? "?volumes=1" : NULL);
	if (skiff_call(c, "DELETE", path, NULL, &ans, &err) < 0)
		return skiff_fail(err);
	json_array_foreach(json_object_get(ans, "removed"), i, id)
	    printf("removed %s\n", json_string_value(id));
	json_decref(ans);
	return 0;
}

int skiff_cmd_top(const struct skiff_opts *o, int argc, char **argv)
{
	static const char *const headers[] = { "PID", "PPID", "UID", "STATE", "CMD" };
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL, *path = NULL;
	struct sk_error *err = NULL;
	struct skiff_app_sel sel;
	json_t *ans = NULL, *rep, *proc;
	size_t i, k;
	int r;

	skiff_app_sel_init(&sel, o);
	if ((r = parse_app_opts(argc, argv, &sel, "skiff top [-f FILE] [-p NAME] [SERVICE...]")) >=
	    0)
		return r;
	if ((r = open_app(o, &sel, &app, &c)) != 0)
		return r;
	path = skiff_app_path(app, "/top");
	if (skiff_call(c, "GET", path, NULL, &ans, &err) < 0)
		return skiff_fail(err);
	bool first = true;
	json_array_foreach(json_object_get(ans, "replicas"), i, rep)
	{
		const char *svc = json_string_value(json_object_get(rep, "service"));
		bool want = optind >= argc;
		struct skiff_table t;

		for (int a = optind; a < argc && !want; a++)
			want = svc && !strcmp(argv[a], svc);
		if (!want)
			continue;
		printf("%s%s\n", first ? "" : "\n",
		       json_string_value(json_object_get(rep, "name")));
		first = false;
		skiff_table_init(&t, SK_ELEMENTSOF(headers), headers);
		json_array_foreach(json_object_get(rep, "processes"), k, proc)
		{
			char pid[24], ppid[24], uid[24];
			snprintf(pid, sizeof(pid), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(json_object_get(proc, "pid")));
			snprintf(ppid, sizeof(ppid), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(json_object_get(proc, "ppid")));
			snprintf(uid, sizeof(uid), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(json_object_get(proc, "uid")));
			const char *row[] = { pid, ppid, uid,
					      json_string_value(json_object_get(proc, "state")),
					      json_string_value(json_object_get(proc, "cmd")) };
			skiff_table_add(&t, row);
		}
		skiff_table_print(&t, stdout);
		skiff_table_release(&t);
	}
	json_decref(ans);
	return 0;
}

/* ---- events --------------------------------------------------------- */

struct events_out {
	bool as_json;
	char *error; /* an {"error"} object instead of events: a failed request */
};

/* "2026-11-26T10:00:00.123Z app service.1 exit message k=v ..." */
static int print_event(json_t *ev, void *userdata)
{
	struct events_out *eo = userdata;
	const char *svc = json_string_value(json_object_get(ev, "service"));
	const char *msg = json_string_value(json_object_get(ev, "message"));
	json_t *rep = json_object_get(ev, "replica"), *v;
	const char *key;
	char ts[48];

	if (!json_object_get(ev, "type") && json_is_string(json_object_get(ev, "error"))) {
		if (!eo->error)
			eo->error = sk_strdup(json_string_value(json_object_get(ev, "error")));
		return 0;
	}
	if (eo->as_json) {
		_cleanup_free_ char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		fflush(stdout);
		return 0;
	}
	skiff_format_time(json_integer_value(json_object_get(ev, "time_ns")), 3, ts, sizeof(ts));
	printf("%s %s ", ts, json_string_value(json_object_get(ev, "app")) ?: "-");
	if (svc && *svc && json_integer_value(rep) > 0)
		printf("%s.%" JSON_INTEGER_FORMAT, svc, json_integer_value(rep));
	else
		printf("%s", svc && *svc ? svc : "-");
	printf(" %s", json_string_value(json_object_get(ev, "type")) ?: "-");
	if (msg && *msg)
		printf(" %s", msg);
	json_object_foreach(json_object_get(ev, "attrs"), key, v)
	{
		if (json_is_string(v)) {
			printf(" %s=%s", key, json_string_value(v));
		} else {
			_cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			printf(" %s=%s", key, s);
		}
	}
	printf("\n");
	fflush(stdout);
	return 0;
}

static int events_stream(struct sk_api_client *c, const char *path, struct events_out *eo)
{
	struct skiff_ndjson nd = { .cb = print_event, .userdata = eo };
	struct sk_api_reply reply = { 0 };
	struct sk_error *err = NULL;
	int r;

	r = sk_api_client_request(c, "GET", path, NULL, NULL, 0, skiff_ndjson_feed, &nd, &reply,
				  &err);
	if (r == 0 && nd.len > 0)
		(void)skiff_ndjson_feed("\n", 1, &nd);
	skiff_ndjson_release(&nd);
	if (r == 0 && (reply.status < 200 || reply.status > 299) && eo->error)
		r = sk_error_set(&err, 0, "%s", eo->error);
	else if (r == 0 && (reply.status < 200 || reply.status > 299))
		r = sk_error_set(&err, 0, "GET %s: HTTP status %d", path, reply.status);
	else if (nd.error)
		r = sk_error_set(&err, -nd.error, "GET %s: bad event", path);
	sk_api_reply_release(&reply);
	free(eo->error);
	return r < 0 ? skiff_fail(err) : 0;
}

int skiff_cmd_events(const struct skiff_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'F' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char usage[] =
	    "usage: skiff events [--file FILE] [-p NAME] [-f] [--json] [--since WHEN]\n";
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL, *path = NULL, *q = sk_strdup("");
	struct events_out eo = { 0 };
	struct sk_error *err = NULL;
	struct skiff_app_sel sel;
	bool follow = false;
	int64_t since = 0;
	json_t *ans = NULL, *ev;
	size_t i;
	int ch, r;

	skiff_app_sel_init(&sel, o);
	while ((ch = getopt_long(argc, argv, "fp:h", opts, NULL)) != -1) {
		if (ch == 'F')
			sel.file = optarg;
		else if (ch == 'p')
			sel.project = optarg;
		else if (ch == 'f')
			follow = true;
		else if (ch == 'j')
			eo.as_json = true;
		else if (ch == 's' && skiff_parse_since(optarg, &since) == 0)
			continue;
		else {
			fputs(usage, ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	/* without -p, -f or a compose file here: every app's events */
	if ((r = skiff_app_name(&sel, true, &app)) != 0 || (r = skiff_connect(o, &c)) != 0)
		return r;
	if (app) {
		_cleanup_free_ char *e = skiff_url_escape(app);
		free(q);
		q = sk_asprintf("app=%s", e);
	}
	if (since > 0) {
		char *n = sk_asprintf("%s%ssince=%" PRId64, q, *q ? "&" : "", since);
		free(q);
		q = n;
	}
	path = sk_asprintf("/v1/events%s%s%s%s", *q || follow ? "?" : "", q,
			   *q && follow ? "&" : "", follow ? "follow=1" : "");
	if (follow)
		return events_stream(c, path, &eo);
	if (skiff_call(c, "GET", path, NULL, &ans, &err) < 0)
		return skiff_fail(err);
	json_array_foreach(json_object_get(ans, "events"), i, ev)(void) print_event(ev, &eo);
	json_decref(ans);
	return 0;
}

/* ---- inspect -------------------------------------------------------- */

/* The part of GET /v1/apps/{app} that `what` names: a service or a replica; NULL if none. */
static json_t *inspect_filter(json_t *doc, const char *app, const char *what)
{
	json_t *svc = NULL, *s, *rep, *reps = json_array(), *out = NULL;
	size_t i;

	json_array_foreach(
	    json_object_get(doc, "services"), i,
	    s) if (!strcmp(json_string_value(json_object_get(s, "name")) ?: "", what)) svc = s;
	json_array_foreach(json_object_get(doc, "replicas"), i, rep)
	{
		const char *name = json_string_value(json_object_get(rep, "name")) ?: "";
		const char *rs = json_string_value(json_object_get(rep, "service")) ?: "";
		_cleanup_free_ char *short_name =
		    sk_asprintf("%s-%" JSON_INTEGER_FORMAT, rs,
				json_integer_value(json_object_get(rep, "index")));

		if (!svc && (!strcmp(name, what) || !strcmp(short_name, what))) {
			out = json_incref(rep);
			break;
		}
		if (svc && !strcmp(rs, what))
			json_array_append(reps, rep);
	}
	if (svc)
		out =
		    json_pack("{s:s, s:O, s:O?, s:O}", "app", app, "service", svc, "model",
			      json_object_get(
				  json_object_get(json_object_get(doc, "model"), "services"), what),
			      "replicas", reps);
	json_decref(reps);
	return out;
}

int skiff_cmd_inspect(const struct skiff_opts *o, int argc, char **argv)
{
	static const char usage[] = "skiff inspect [-f FILE] [-p NAME] [SERVICE|REPLICA]";
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL, *path = NULL, *s = NULL;
	struct sk_error *err = NULL;
	struct skiff_app_sel sel;
	json_t *doc = NULL, *out;
	int r;

	skiff_app_sel_init(&sel, o);
	if ((r = parse_app_opts(argc, argv, &sel, usage)) >= 0)
		return r;
	if (argc - optind > 1) {
		fprintf(stderr, "usage: %s\n", usage);
		return 2;
	}
	if ((r = open_app(o, &sel, &app, &c)) != 0)
		return r;
	path = skiff_app_path(app, NULL);
	if (skiff_call(c, "GET", path, NULL, &doc, &err) < 0)
		return skiff_fail(err);
	out = optind < argc ? inspect_filter(doc, app, argv[optind]) : json_incref(doc);
	json_decref(doc);
	if (!out) {
		sk_error_set(&err, 0, "no service or replica '%s' in app '%s'", argv[optind], app);
		return skiff_fail(err);
	}
	s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(out);
	printf("%s\n", s);
	return 0;
}
