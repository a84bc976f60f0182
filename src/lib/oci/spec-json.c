/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec-json.c - typed, path-naming getters over jansson values.
 *
 * Every field the OCI spec parser reads goes through these helpers, so a
 * wrong type, a negative number for an unsigned field or a real where an
 * integer belongs yields one error that names the field by its JSON path
 * ("config.json: process.user.uid: must not be negative (got -1)").  They
 * know nothing of the spec's meaning; spec*.c validate that.
 */
#include "oci/spec-internal.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

int sk_oj_fail(const struct sk_oj *j, const char *path, const char *key, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *where = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	where = sk_oj_join(path ? path : "", key ? key : "");
	if (*where)
		return sk_error_set(j->err, 0, "%s: %s: %s", j->name, where, msg);
	return sk_error_set(j->err, 0, "%s: %s", j->name, msg);
}

char *sk_oj_join(const char *path, const char *key)
{
	if (!*path)
		return sk_strdup(key);
	if (!*key)
		return sk_strdup(path);
	return sk_asprintf("%s.%s", path, key);
}

char *sk_oj_elem(const char *path, const char *key, size_t i)
{
	_cleanup_free_ char *base = sk_oj_join(path, key);

	return sk_asprintf("%s[%zu]", base, i);
}

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

int sk_oj_member(const struct sk_oj *j, json_t *obj, const char *path, const char *key,
		 json_type type, bool required, json_t **ret)
{
	json_t *v = json_object_get(obj, key);
	json_type got;

	*ret = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return sk_oj_fail(j, path, key, "required field is missing");
		return 0;
	}
	got = json_typeof(v);
	if (got == JSON_FALSE)
		got = JSON_TRUE;
	if (type == JSON_FALSE)
		type = JSON_TRUE;
	if (got != type)
		return sk_oj_fail(j, path, key, "expected %s, got %s", type_name(type),
				  type_name(json_typeof(v)));
	*ret = v;
	return 0;
}

int sk_oj_str(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	      char **ret)
{
	json_t *v;
	int r;

	r = sk_oj_member(j, obj, path, key, JSON_STRING, required, &v);
	if (r < 0 || !v)
		return r;
	free(*ret);
	*ret = sk_strdup(json_string_value(v));
	return 0;
}

int sk_oj_bool(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool *ret,
	       bool *has)
{
	json_t *v;
	int r;

	if (has)
		*has = false;
	r = sk_oj_member(j, obj, path, key, JSON_TRUE, false, &v);
	if (r < 0 || !v)
		return r;
	*ret = json_is_true(v);
	if (has)
		*has = true;
	return 0;
}

/* Without libm: every double of magnitude 2^52 or more is a whole number. */
static bool is_integral(double d)
{
	if (!isfinite(d))
		return false;
	if (d >= 4503599627370496.0 || d <= -4503599627370496.0)
		return true;
	return (double)(int64_t)d == d;
}

int sk_oj_int_value(const struct sk_oj *j, json_t *v, const char *path, const char *key,
		    int64_t min, int64_t max, int64_t *ret)
{
	int64_t n;

	if (j->ints_as_reals && json_is_real(v) && is_integral(json_real_value(v))) {
		double d = json_real_value(v);

		/* 2^63 is exact as a double; anything at or beyond it cannot be an int64 */
		if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
			return sk_oj_fail(j, path, key, "%.0f is out of range [%lld, %lld]", d,
					  (long long)min, (long long)max);
		n = (int64_t)d;
	} else if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else {
		return sk_oj_fail(j, path, key, "expected integer, got %s",
				  type_name(json_typeof(v)));
	}
	if (min == 0 && n < 0)
		return sk_oj_fail(j, path, key, "must not be negative (got %lld)", (long long)n);
	if (n < min || n > max)
		return sk_oj_fail(j, path, key, "%lld is out of range [%lld, %lld]", (long long)n,
				  (long long)min, (long long)max);
	*ret = n;
	return 0;
}

int sk_oj_int(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	      int64_t min, int64_t max, int64_t *ret, bool *has)
{
	json_t *v = json_object_get(obj, key);
	int64_t n;
	int r;

	if (has)
		*has = false;
	if (!v || json_is_null(v)) {
		if (required)
			return sk_oj_fail(j, path, key, "required field is missing");
		return 0;
	}
	r = sk_oj_int_value(j, v, path, key, min, max, &n);
	if (r < 0)
		return r;
	*ret = n;
	if (has)
		*has = true;
	return 0;
}

int sk_oj_u64(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	      uint64_t *ret, bool *has)
{
	json_t *v = json_object_get(obj, key);
	int64_t n = 0;
	bool set = false;
	int r;

	/* beyond int64 only in a document re-read with reals (see struct sk_oj) */
	if (j->ints_as_reals && json_is_real(v) && is_integral(json_real_value(v)) &&
	    json_real_value(v) >= 9223372036854775808.0) {
		double d = json_real_value(v);

		*ret = d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
		if (has)
			*has = true;
		return 0;
	}
	r = sk_oj_int(j, obj, path, key, required, 0, INT64_MAX, &n, &set);
	if (r < 0)
		return r;
	if (set)
		*ret = (uint64_t)n;
	if (has)
		*has = set;
	return 0;
}

int sk_oj_u32(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	      uint32_t *ret, bool *has)
{
	int64_t n = 0;
	bool set = false;
	int r;

	r = sk_oj_int(j, obj, path, key, required, 0, UINT32_MAX, &n, &set);
	if (r < 0)
		return r;
	if (set)
		*ret = (uint32_t)n;
	if (has)
		*has = set;
	return 0;
}

int sk_oj_strv(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	       char ***ret)
{
	_cleanup_strv_ char **v = NULL;
	json_t *arr, *e;
	size_t i;
	int r;

	r = sk_oj_member(j, obj, path, key, JSON_ARRAY, required, &arr);
	if (r < 0 || !arr)
		return r;
	v = sk_new0(char *, json_array_size(arr) + 1);
	json_array_foreach(arr, i, e)
	{
		if (!json_is_string(e)) {
			_cleanup_free_ char *p = sk_oj_elem(path, key, i);

			return sk_oj_fail(j, p, NULL, "expected string, got %s",
					  type_name(json_typeof(e)));
		}
		v[i] = sk_strdup(json_string_value(e));
	}
	sk_strv_free(*ret);
	*ret = TAKE_PTR(v);
	return 0;
}

int sk_oj_elem_object(const struct sk_oj *j, json_t *arr, size_t i, const char *path,
		      const char *key, json_t **ret, char **ret_path)
{
	_cleanup_free_ char *p = sk_oj_elem(path, key, i);
	json_t *e = json_array_get(arr, i);

	if (!json_is_object(e))
		return sk_oj_fail(j, p, NULL, "expected object, got %s", type_name(json_typeof(e)));
	*ret = e;
	*ret_path = TAKE_PTR(p);
	return 0;
}

void sk_oj_kv_free(struct sk_kv *kv, size_t n)
{
	if (!kv)
		return;
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

int sk_oj_kv(const struct sk_oj *j, json_t *obj, const char *path, const char *key,
	     struct sk_kv **ret, size_t *ret_n)
{
	_cleanup_free_ char *base = sk_oj_join(path, key);
	struct sk_kv *kv;
	const char *k;
	json_t *o, *v;
	size_t n = 0;
	int r;

	r = sk_oj_member(j, obj, path, key, JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	kv = sk_new0(struct sk_kv, json_object_size(o));
	json_object_foreach(o, k, v)
	{
		if (!*k)
			r = sk_oj_fail(j, base, NULL, "empty key");
		else if (!json_is_string(v))
			r = sk_oj_fail(j, base, k, "expected string, got %s",
				       type_name(json_typeof(v)));
		if (r < 0) {
			sk_oj_kv_free(kv, n);
			return r;
		}
		kv[n].key = sk_strdup(k);
		kv[n].value = sk_strdup(json_string_value(v));
		n++;
	}
	sk_oj_kv_free(*ret, *ret_n);
	*ret = kv;
	*ret_n = n;
	return 0;
}

int sk_oj_load(struct sk_oj *j, const char *json, size_t len, json_t **ret)
{
	json_error_t jerr;
	json_t *root;

	root = json_loadb(json, len, 0, &jerr);
	if (!root && strstr(jerr.text, "too big")) {
		root = json_loadb(json, len, JSON_DECODE_INT_AS_REAL, &jerr);
		j->ints_as_reals = true;
	}
	if (!root)
		return sk_error_set(j->err, 0, "%s: line %d column %d: %s", j->name, jerr.line,
				    jerr.column, jerr.text);
	if (!json_is_object(root)) {
		const char *t = type_name(json_typeof(root));

		json_decref(root);
		return sk_oj_fail(j, NULL, NULL, "expected a JSON object, got %s", t);
	}
	*ret = root;
	return 0;
}
