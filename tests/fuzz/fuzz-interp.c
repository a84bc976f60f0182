/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-interp.c - libFuzzer target for the hand-written parsers of
 * src/lib/app/app-interp.c: ${VAR} interpolation, dotenv files and
 * shell-like word splitting.  The input is used whole for each; a lookup
 * with a few set, empty and unset variables exercises every operator.
 * Seeds live in tests/fuzz/corpus/fuzz-interp/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "app/app-interp.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *ud, const char *name)
{
	if (!strcmp(name, "A"))
		return "value";
	if (!strcmp(name, "E"))
		return "";
	if (!strcmp(name, "L"))
		return "${A}$$ $A"; /* values are never re-interpolated */
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = sk_strndup((const char *)data, size), *out = NULL;
	char **unset = NULL, **words = NULL;
	struct sk_error *err = NULL;
	struct sk_app_kvs kvs = { 0 };

	if (sk_app_interpolate(s, lookup, NULL, &out, &unset, &err) == 0 && !out)
		__builtin_trap();
	free(out);
	sk_strv_free(unset);
	sk_error_free(err);
	err = NULL;

	(void)sk_app_dotenv_parse((const char *)data, size, ".env", lookup, NULL, &kvs, &err);
	sk_app_kvs_release(&kvs);
	sk_error_free(err);

	if (sk_app_shlex_split(s, &words) == 0)
		sk_strv_free(words);
	free(s);
	return 0;
}
