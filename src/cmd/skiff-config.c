/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-config.c - `skiff config`: load, interpolate and validate a compose
 * file and print the resolved app, like `docker compose config`.
 *
 * Warnings and errors are printed one per line as "file:line:col: ...", the
 * way compilers do, so editors can jump to them; any error means exit 1.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "base/util.h"
#include "cmd/skiff-cli.h"

enum config_output { OUT_YAML, OUT_JSON, OUT_SERVICES, OUT_HASH, OUT_QUIET };

static void usage(FILE *f)
{
	fprintf(f, "usage: skiff config [-f FILE] [-p NAME] [--env-file FILE] [--profile NAME]...\n"
		   "                    [--json | --services | --hash SERVICE | -q]\n");
}

static int print_app(const struct sk_app *app, enum config_output out, const char *hash_of)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *s = NULL;

	switch (out) {
	case OUT_QUIET:
		return 0;
	case OUT_SERVICES:
		for (size_t i = 0; i < app->n_services; i++)
			printf("%s\n", app->services[i].name);
		return 0;
	case OUT_HASH: {
		const struct sk_app_service *svc = sk_app_service_find(app, hash_of);
		if (!svc) {
			fprintf(stderr, "skiff: config: no service \"%s\"\n", hash_of);
			return 1;
		}
		s = sk_app_service_hash(svc);
		printf("%s\n", s);
		return 0;
	}
	case OUT_JSON:
		s = sk_app_to_json(app, true);
		printf("%s\n", s);
		return 0;
	case OUT_YAML:
		s = sk_app_to_yaml(app, &err);
		if (!s)
			return skiff_fail(TAKE_PTR(err));
		fputs(s, stdout);
		return 0;
	}
	return 1;
}

int skiff_cmd_config(const struct skiff_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "services", no_argument, NULL, 's' },
		{ "hash", required_argument, NULL, 'H' },
		{ "profile", required_argument, NULL, 'P' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sk_app_load_opts lo = { 0 };
	_cleanup_strv_ char **profiles = NULL;
	enum config_output out = OUT_YAML;
	const char *hash_of = NULL;
	_cleanup_(sk_app_freep) struct sk_app *app = NULL;
	struct sk_app_diags diags = { 0 };
	struct sk_error *err = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "f:p:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			lo.file = optarg;
			break;
		case 'p':
			lo.project_name = optarg;
			break;
		case 'j':
			out = OUT_JSON;
			break;
		case 's':
			out = OUT_SERVICES;
			break;
		case 'H':
			out = OUT_HASH;
			hash_of = optarg;
			break;
		case 'P':
			sk_strv_push(&profiles, optarg);
			break;
		case 'e':
			lo.env_file = optarg;
			break;
		case 'q':
			out = OUT_QUIET;
			break;
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
	lo.profiles = profiles;
	r = sk_app_load(&lo, &app, &diags, &err);
	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "%s\n", diags.v[i].msg);
	if (r < 0 && diags.n_errors == 0)
		return skiff_fail(err);
	sk_error_free(err);
	sk_app_diags_release(&diags);
	if (r < 0)
		return 1;
	return print_app(app, out, hash_of);
}
