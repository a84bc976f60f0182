/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-spec.c - libFuzzer target for the OCI runtime-spec parser.
 *
 * Feeds each input to sk_spec_parse(), sk_spec_parse_process() and
 * sk_spec_parse_resources() (a config.json, an `exec --process` document
 * and an `update --resources` document are all untrusted) and frees
 * whatever comes back, so ASan sees leaks and double frees on every
 * error path.  Seeds live in tests/fuzz/corpus/fuzz-spec/.
 */
#include <stddef.h>
#include <stdint.h>

#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct sk_spec *spec = NULL;
	struct sk_process *p = NULL;
	struct sk_resources *r = NULL;
	struct sk_error *err = NULL;

	if (sk_spec_parse(json, size, "config.json", &spec, &err) == 0)
		(void)sk_spec_namespace(spec, SK_NS_USER);
	sk_spec_free(spec);
	sk_error_free(err);
	err = NULL;

	(void)sk_spec_parse_process(json, size, "process.json", &p, &err);
	sk_process_free(p);
	sk_error_free(err);
	err = NULL;

	(void)sk_spec_parse_resources(json, size, "resources.json", &r, &err);
	sk_resources_free(r);
	sk_error_free(err);
	return 0;
}
