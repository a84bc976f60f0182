/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-compose.c - libFuzzer target for the whole compose loader: libfyaml
 * events into the positioned tree (anchors, aliases, merge keys), the model
 * builder, validation, and then JSON out, back in and out again (which must
 * give the same text) plus the YAML emitter and config hashes.  Seeds live
 * in tests/fuzz/corpus/fuzz-compose/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "app/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_env[] = { "TAG=1", "EMPTY=", "HOME=/root", NULL };

static void round_trip(const struct sk_app *app)
{
	char *j1 = sk_app_to_json(app, false), *j2, *yaml;
	struct sk_app *back = NULL;
	struct sk_error *err = NULL;

	if (sk_app_from_json(j1, strlen(j1), &back, &err) < 0)
		__builtin_trap(); /* our own JSON must load */
	j2 = sk_app_to_json(back, false);
	if (strcmp(j1, j2))
		__builtin_trap();
	for (size_t i = 0; i < app->n_services; i++)
		free(sk_app_service_hash(&app->services[i]));
	yaml = sk_app_to_yaml(app, &err);
	free(yaml);
	sk_error_free(err);
	free(j1);
	free(j2);
	sk_app_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_app_load_opts o = { .environ = fuzz_env,
				      .project_name = "fuzz",
				      .env_file = "/dev/null" };
	struct sk_app_diags diags = { 0 };
	struct sk_error *err = NULL;
	struct sk_app *app = NULL;

	if (sk_app_parse((const char *)data, size, "/nonexistent/compose.yaml", &o, &app, &diags,
			 &err) == 0) {
		round_trip(app);
		sk_app_free(app);
	}
	sk_app_diags_release(&diags);
	sk_error_free(err);
	return 0;
}
