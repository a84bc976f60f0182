/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image-util.c - small helpers the image module's files share: jansson
 * wrappers that abort on allocation failure (as skiff does everywhere),
 * string-list conversions and timestamps.
 */
#include "image/image-internal.h"

#include <time.h>

json_t *sk_json_must(json_t *v)
{
	if (!v)
		abort();
	return v;
}

void sk_json_set(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, sk_json_must(v)) < 0)
		abort();
}

void sk_json_append(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, sk_json_must(v)) < 0)
		abort();
}

char **sk_json_strv(json_t *arr)
{
	char **v;
	json_t *e;
	size_t i;

	if (!json_is_array(arr))
		return NULL;
	json_array_foreach(arr, i, e) if (!json_is_string(e)) return NULL;
	v = sk_new0(char *, json_array_size(arr) + 1);
	json_array_foreach(arr, i, e) v[i] = sk_strdup(json_string_value(e));
	return v;
}

json_t *sk_strv_json(char *const *v)
{
	json_t *a = sk_json_must(json_array());

	for (; v && *v; v++)
		sk_json_append(a, json_string(*v));
	return a;
}

char *sk_image_now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return sk_strdup(buf);
}
