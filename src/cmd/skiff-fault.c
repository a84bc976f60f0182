/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-fault.c - `skiff fault`: inject delays and aborts into a service's
 * traffic at runtime, through skiff's proxy, or list what is injected.
 *
 *   skiff [-p APP] fault                      list faults per service
 *   skiff [-p APP] fault SERVICE [--delay DUR] [--jitter DUR]
 *         [--delay-percent P] [--abort STATUS] [--abort-percent P]
 *   skiff [-p APP] fault SERVICE --clear      no faults for SERVICE
 *
 * Arguments are checked here before anything is sent; the daemon checks
 * them again (the API is public).
 */
#include <getopt.h>
#include <math.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "base/util.h"
#include "cmd/skiff-cli.h"

static const char usage[] =
    "usage: skiff fault [-f FILE] [-p NAME] [SERVICE [--delay DUR] [--jitter DUR]\n"
    "                   [--delay-percent P] [--abort STATUS] [--abort-percent P] | --clear]\n";

static bool percent_ok(const char *s, double *ret)
{
	char *end = NULL;
	double v = strtod(s, &end);

	if (!*s || !end || (*end && strcmp(end, "%")) || !isfinite(v) || v < 0 || v > 100)
		return false;
	*ret = v;
	return true;
}

static char *dur_text(int64_t ns)
{
	if (ns % 1000000 == 0)
		return sk_asprintf("%" PRId64 "ms", ns / 1000000);
	return sk_asprintf("%" PRId64 "us", ns / 1000);
}

static int list(struct sk_api_client *c, const char *app)
{
	_cleanup_free_ char *path = skiff_app_path(app, "/faults");
	static const char *const headers[] = { "SERVICE", "DELAY",   "DELAY %",
					       "ABORT",	  "ABORT %", "SOURCE" };
	struct skiff_table t;
	struct sk_error *err = NULL;
	json_t *ans = NULL, *e;
	size_t i;

	if (skiff_call(c, "GET", path, NULL, &ans, &err) < 0)
		return skiff_fail(err);
	skiff_table_init(&t, SK_ELEMENTSOF(headers), headers);
	json_array_foreach(json_object_get(ans, "faults"), i, e)
	{
		json_t *f = json_object_get(e, "fault");
		json_t *dl = json_object_get(f, "delay"), *ab = json_object_get(f, "abort");
		const char *fixed = json_string_value(json_object_get(dl, "fixed"));
		const char *jit = json_string_value(json_object_get(dl, "jitter"));
		_cleanup_free_ char *delay =
		    sk_asprintf("%s%s%s", fixed ? fixed : "0", jit && strcmp(jit, "0s") ? " ±" : "",
				jit && strcmp(jit, "0s") ? jit : "");
		_cleanup_free_ char *dp =
		    sk_asprintf("%g", json_number_value(json_object_get(dl, "percent")));
		_cleanup_free_ char *st = sk_asprintf(
		    "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(ab, "status")));
		_cleanup_free_ char *apc =
		    sk_asprintf("%g", json_number_value(json_object_get(ab, "percent")));
		const char *row[] = {
			json_string_value(json_object_get(e, "service")), delay, dp, st, apc,
			json_string_value(json_object_get(e, "source"))
		};
		skiff_table_add(&t, row);
	}
	skiff_table_print(&t, stdout);
	skiff_table_release(&t);
	json_decref(ans);
	return 0;
}

/* Builds the fault body from the options; returns -1 to go on, else the exit code. */
static int parse_fault(int argc, char **argv, struct skiff_app_sel *sel, json_t **ret,
		       bool *ret_clear)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "delay", required_argument, NULL, 'd' },
		{ "jitter", required_argument, NULL, 'j' },
		{ "delay-percent", required_argument, NULL, 'D' },
		{ "abort", required_argument, NULL, 'a' },
		{ "abort-percent", required_argument, NULL, 'A' },
		{ "clear", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int64_t delay = 0, jitter = 0, status = 0;
	double dp = -1, ap = -1;
	bool any = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "f:p:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			sel->file = optarg;
			break;
		case 'p':
			sel->project = optarg;
			break;
		case 'd':
		case 'j':
			if (sk_app_parse_duration(optarg, ch == 'd' ? &delay : &jitter) < 0 ||
			    (ch == 'd' ? delay : jitter) > 3600LL * 1000000000LL) {
				fprintf(stderr,
					"skiff: fault: --%s '%s': not a duration (1h at most)\n",
					ch == 'd' ? "delay" : "jitter", optarg);
				return 2;
			}
			any = true;
			break;
		case 'D':
		case 'A':
			if (!percent_ok(optarg, ch == 'D' ? &dp : &ap)) {
				fprintf(stderr, "skiff: fault: --%s '%s': want a number 0..100\n",
					ch == 'D' ? "delay-percent" : "abort-percent", optarg);
				return 2;
			}
			any = true;
			break;
		case 'a':
			if (sk_parse_int64(optarg, &status) < 0 || status < 200 || status > 599) {
				fprintf(stderr,
					"skiff: fault: --abort '%s': want a status 200..599\n",
					optarg);
				return 2;
			}
			any = true;
			break;
		case 'c':
			*ret_clear = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (*ret_clear && any) {
		fprintf(stderr, "skiff: fault: --clear takes no other fault option\n");
		return 2;
	}
	if ((*ret_clear || any) && optind >= argc) {
		fprintf(stderr, "skiff: fault: which SERVICE?\n");
		return 2;
	}
	if (!*ret_clear && optind < argc && !any) {
		fprintf(stderr, "skiff: fault: give --delay and/or --abort (or --clear)\n");
		return 2;
	}
	if (jitter > delay) {
		fprintf(stderr, "skiff: fault: --jitter may not exceed --delay\n");
		return 2;
	}
	if ((dp >= 0 && !delay) || (ap >= 0 && !status)) {
		fprintf(stderr, "skiff: fault: a percent needs its --delay or --abort\n");
		return 2;
	}
	if (!*ret_clear && any) {
		_cleanup_free_ char *dt = dur_text(delay), *jt = dur_text(jitter);
		json_t *b = json_object();
		if (delay)
			json_object_set_new(b, "delay",
					    json_pack("{s:s, s:s, s:f}", "fixed", dt, "jitter", jt,
						      "percent", dp >= 0 ? dp : 100.0));
		if (status)
			json_object_set_new(b, "abort",
					    json_pack("{s:I, s:f}", "status", (json_int_t)status,
						      "percent", ap >= 0 ? ap : 100.0));
		*ret = b;
	}
	return -1;
}

int skiff_cmd_fault(const struct skiff_opts *o, int argc, char **argv)
{
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_free_ char *app = NULL, *path = NULL, *suffix = NULL;
	struct sk_error *err = NULL;
	struct skiff_app_sel sel;
	json_t *body = NULL, *ans = NULL;
	bool clear = false;
	int r;

	skiff_app_sel_init(&sel, o);
	if ((r = parse_fault(argc, argv, &sel, &body, &clear)) >= 0)
		return r;
	if (optind + 1 < argc || (clear && optind >= argc)) {
		json_decref(body);
		fputs(usage, stderr);
		return 2;
	}
	r = skiff_app_name(&sel, false, &app);
	if (r == 0)
		r = skiff_connect(o, &c);
	if (r != 0) {
		json_decref(body);
		return r;
	}
	if (optind >= argc)
		return list(c, app);
	suffix = sk_asprintf("/services/%s/fault", argv[optind]);
	path = skiff_app_path(app, suffix);
	r = skiff_call(c, clear ? "DELETE" : "PUT", path, body, &ans, &err);
	json_decref(body);
	if (r < 0)
		return skiff_fail(err);
	json_decref(ans);
	if (clear)
		printf("%s: no faults\n", argv[optind]);
	else
		printf("%s: fault injected\n", argv[optind]);
	return 0;
}
