/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-logs.c - `skiff logs`: the app's log lines from skiffd's NDJSON
 * stream (GET /v1/apps/{app}/logs), printed like `docker compose logs`:
 * "web-1  | message", the prefix colored per service on a terminal, with
 * -t an RFC 3339 timestamp after it.  A record marked partial is held
 * until the rest of its line arrives.  `skiff up` uses the same printer.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cmd/skiff-cli.h"

/* A line still being assembled from partial records. */
struct pending {
	char *service, *stream;
	int64_t index;
	char *text;
	int64_t time_ns;
};

struct printer {
	const struct skiff_logs_opts *o;
	struct pending *v;
	size_t n;
	char *error; /* an {"error"} object instead of records: a failed request */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: skiff logs [--file FILE] [-p NAME] [-f] [--tail N] [--since WHEN] [-t]\n"
		   "                  [--no-prefix] [--no-color] [SERVICE...]\n"
		   "WHEN is a duration before now (10m), an RFC 3339 time or Unix seconds.\n");
}

static const char *color_of(const char *service)
{
	static const char *const colors[] = { "36", "33", "32", "35", "34", "96", "93", "92" };
	uint32_t h = 2166136261u;

	for (const char *p = service; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return colors[h % SK_ELEMENTSOF(colors)];
}

static void print_line(const struct printer *p, const char *service, int64_t index, int64_t time_ns,
		       const char *a, const char *b)
{
	const struct skiff_logs_opts *o = p->o;

	if (!o->no_prefix) {
		_cleanup_free_ char *name = sk_asprintf("%s-%" PRId64, service, index);
		if (o->color)
			printf("\033[%sm%-*s |\033[0m ", color_of(service), o->width, name);
		else
			printf("%-*s | ", o->width, name);
	}
	if (o->timestamps) {
		char ts[48];
		skiff_format_time(time_ns, 9, ts, sizeof(ts));
		printf("%s ", ts);
	}
	printf("%s%s\n", a, b);
}

static struct pending *find_pending(struct printer *p, const char *service, int64_t index,
				    const char *stream)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].index == index && !strcmp(p->v[i].service, service) &&
		    !strcmp(p->v[i].stream, stream))
			return &p->v[i];
	return NULL;
}

static void drop_pending(struct printer *p, struct pending *q)
{
	free(q->service);
	free(q->stream);
	free(q->text);
	*q = p->v[--p->n];
}

static int on_record(json_t *rec, void *userdata)
{
	struct printer *p = userdata;
	const char *service = json_string_value(json_object_get(rec, "service"));
	const char *stream = json_string_value(json_object_get(rec, "stream"));
	const char *msg = json_string_value(json_object_get(rec, "msg"));
	int64_t index = json_integer_value(json_object_get(rec, "index"));
	int64_t t = json_integer_value(json_object_get(rec, "time_ns"));
	bool partial = json_is_true(json_object_get(rec, "partial"));
	struct pending *q;

	if (!service || !msg) {
		const char *e = json_string_value(json_object_get(rec, "error"));
		if (e && !p->error)
			p->error = sk_strdup(e);
		return 0;
	}
	stream = stream ? stream : "stdout";
	q = find_pending(p, service, index, stream);
	if (partial) {
		if (q) {
			char *joined = sk_asprintf("%s%s", q->text, msg);
			free(q->text);
			q->text = joined;
		} else {
			p->v = sk_realloc(p->v, sizeof(*p->v) * (p->n + 1));
			p->v[p->n++] = (struct pending){ .service = sk_strdup(service),
							 .stream = sk_strdup(stream),
							 .index = index,
							 .text = sk_strdup(msg),
							 .time_ns = t };
		}
		return 0;
	}
	if (q) {
		print_line(p, service, index, q->time_ns, q->text, msg);
		drop_pending(p, q);
	} else {
		print_line(p, service, index, t, msg, "");
	}
	if (p->o->follow)
		fflush(stdout);
	return 0;
}

static char *logs_path(const char *app, const struct skiff_logs_opts *o)
{
	_cleanup_free_ char *base = skiff_app_path(app, "/logs"), *svcs = NULL;
	char *q = sk_strdup("");

	for (char **s = o->services; s && *s; s++) {
		_cleanup_free_ char *e = skiff_url_escape(*s);
		char *n = sk_asprintf("%s%s%s", svcs ? svcs : "", svcs ? "," : "", e);
		free(svcs);
		svcs = n;
	}
#define ADD(...)                                                                                   \
	do {                                                                                       \
		_cleanup_free_ char *_a = sk_asprintf(__VA_ARGS__);                                \
		char *_n = sk_asprintf("%s%s%s", q, *q ? "&" : "?", _a);                           \
		free(q);                                                                           \
		q = _n;                                                                            \
	} while (0)
	if (svcs)
		ADD("service=%s", svcs);
	if (o->tail >= 0)
		ADD("tail=%" PRId64, o->tail);
	if (o->since_ns > 0)
		ADD("since=%" PRId64, o->since_ns);
	if (o->follow)
		ADD("follow=1");
#undef ADD
	char *path = sk_asprintf("%s%s", base, q);
	free(q);
	return path;
}

int skiff_logs_stream(struct sk_api_client *c, const char *app, const struct skiff_logs_opts *lo,
		      struct sk_error **err)
{
	_cleanup_free_ char *path = logs_path(app, lo);
	struct printer p = { .o = lo };
	struct skiff_ndjson nd = { .cb = on_record, .userdata = &p };
	struct sk_api_reply reply = { 0 };
	int r;

	r = sk_api_client_request(c, "GET", path, NULL, NULL, 0, skiff_ndjson_feed, &nd, &reply,
				  err);
	/* what is left: a last record without its newline */
	if (r == 0 && nd.len > 0)
		(void)skiff_ndjson_feed("\n", 1, &nd);
	if (nd.error)
		r = sk_error_set(err, -nd.error, "GET %s: bad log record", path);
	else if (r == 0 && (reply.status < 200 || reply.status > 299))
		r = sk_error_set(err, 0, "%s",
				 p.error ? p.error : "logs: unexpected HTTP status from skiffd");
	while (p.n > 0) {
		print_line(&p, p.v[0].service, p.v[0].index, p.v[0].time_ns, p.v[0].text, "");
		drop_pending(&p, &p.v[0]);
	}
	free(p.v);
	free(p.error);
	fflush(stdout);
	skiff_ndjson_release(&nd);
	sk_api_reply_release(&reply);
	return r;
}

/* The widest "service-N" of the replicas, for aligned prefixes. */
static int prefix_width(json_t *reps)
{
	json_t *rep;
	size_t i;
	int w = 0;

	json_array_foreach(reps, i, rep)
	{
		_cleanup_free_ char *n = sk_asprintf(
		    "%s-%" JSON_INTEGER_FORMAT, json_string_value(json_object_get(rep, "service")),
		    json_integer_value(json_object_get(rep, "index")));
		if ((int)strlen(n) > w)
			w = (int)strlen(n);
	}
	return w + 1;
}

int skiff_cmd_logs(const struct skiff_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'F' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 's' },
		{ "timestamps", no_argument, NULL, 't' },
		{ "no-prefix", no_argument, NULL, 'P' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL;
	struct skiff_logs_opts lo = { .tail = -1, .color = isatty(STDOUT_FILENO) };
	struct sk_error *err = NULL;
	struct skiff_app_sel sel;
	json_t *reps;
	int ch, r;

	skiff_app_sel_init(&sel, o);
	while ((ch = getopt_long(argc, argv, "fp:n:th", opts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			sel.file = optarg;
			break;
		case 'p':
			sel.project = optarg;
			break;
		case 'f':
			lo.follow = true;
			break;
		case 'n':
			if (!strcmp(optarg, "all"))
				lo.tail = -1;
			else if (sk_parse_int64(optarg, &lo.tail) < 0 || lo.tail < 0) {
				fprintf(stderr, "skiff: logs: --tail: invalid value '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			if (skiff_parse_since(optarg, &lo.since_ns) < 0) {
				fprintf(stderr, "skiff: logs: --since: invalid value '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			lo.timestamps = true;
			break;
		case 'P':
			lo.no_prefix = true;
			break;
		case 'C':
			lo.color = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	lo.services = argv + optind;
	if ((r = skiff_app_name(&sel, false, &app)) != 0 || (r = skiff_connect(o, &c)) != 0)
		return r;
	if (!lo.no_prefix) {
		if (!(reps = skiff_get_replicas(c, app)))
			return 1;
		lo.width = prefix_width(reps);
		json_decref(reps);
	}
	if (skiff_logs_stream(c, app, &lo, &err) < 0)
		return skiff_fail(err);
	return 0;
}
