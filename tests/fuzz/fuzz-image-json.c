/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-image-json.c - libFuzzer target for the image-spec documents an
 * import reads from untrusted archives: the image manifest, the image
 * index, docker-archive's manifest.json and the image config, plus image
 * reference normalization.  Whatever is parsed is freed, so ASan sees
 * leaks and double frees on every error path.  Seeds live in
 * tests/fuzz/corpus/fuzz-image-json/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct sk_image_manifest *m = NULL;
	struct sk_image_index *x = NULL;
	struct sk_docker_manifest *d = NULL;
	struct sk_image_config *c = NULL;
	struct sk_error *err = NULL;
	char *name, *norm = NULL;

	(void)sk_image_manifest_parse(json, size, "manifest", &m, &err);
	sk_image_manifest_free(m);
	sk_error_free(err);
	err = NULL;

	if (sk_image_index_parse(json, size, "index.json", &x, &err) == 0)
		for (size_t i = 0; i < x->n_manifests; i++)
			(void)sk_descriptor_matches_platform(&x->manifests[i], "linux/arm/v7");
	sk_image_index_free(x);
	sk_error_free(err);
	err = NULL;

	(void)sk_docker_manifest_parse(json, size, "manifest.json", &d, &err);
	sk_docker_manifest_free(d);
	sk_error_free(err);
	err = NULL;

	if (sk_image_config_parse(json, size, "config", &c, &err) == 0) {
		struct sk_process p = { 0 };
		struct sk_error *e2 = NULL;

		/* numeric users only: no rootfs to read */
		(void)sk_image_apply_config(c, NULL, NULL, &p, &e2);
		sk_strv_free(p.args);
		sk_strv_free(p.env);
		free(p.cwd);
		free(p.user.additional_gids);
		sk_error_free(e2);
	}
	sk_image_config_free(c);
	sk_error_free(err);
	err = NULL;

	if (size < 512) {
		name = strndup(json, size);
		if (name) {
			(void)sk_image_name_normalize(name, &norm, &err);
			free(norm);
			sk_error_free(err);
			free(name);
		}
	}
	return 0;
}
