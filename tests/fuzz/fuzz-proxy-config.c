/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-proxy-config.c - libFuzzer target for skiff-proxy's JSON
 * configuration (sk_proxy_config_from_json): durations, addresses, enums,
 * arrays and unknown fields.  Whatever is parsed is freed, so ASan sees
 * leaks on every error path.  Seeds live in
 * tests/fuzz/corpus/fuzz-proxy-config/.
 */
#include <stddef.h>
#include <stdint.h>

#include "proxy/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_proxy_config *c = NULL;
	struct sk_error *err = NULL;
	json_t *j = json_loadb((const char *)data, size, 0, NULL);

	if (!j)
		return 0;
	(void)sk_proxy_config_from_json(j, &c, &err);
	sk_proxy_config_free(c);
	sk_error_free(err);
	json_decref(j);
	return 0;
}
