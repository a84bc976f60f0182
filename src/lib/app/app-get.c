/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-get.c - diagnostics and typed getters over the positioned YAML tree.
 *
 * Every value the model builder reads goes through here: a scalar is
 * interpolated first (compose interpolates before it converts types, so
 * `replicas: ${N:-2}` works), then converted strictly.  A problem becomes
 * one diagnostic "file:line:col: path: what" at the offending node.
 */
#include "app/app-internal.h"

#include <string.h>
#include <strings.h>

#include "base/util.h"

static _printf_(5, 0) void diag_v(struct sk_app_ctx *c, enum sk_app_diag_level lvl,
				  const struct sk_yn *n, const char *path, const char *fmt,
				  va_list ap)
{
	_cleanup_free_ char *what = NULL;
	struct sk_app_diags *d = c->diags;
	int line = n ? n->line : 0, col = n ? n->col : 0;
	const char *w = lvl == SK_APP_WARNING ? "warning: " : "";
	char *msg;

	if (vasprintf(&what, fmt, ap) < 0)
		abort();
	if (line > 0)
		msg = sk_asprintf("%s:%d:%d: %s%s%s%s", c->file, line, col, w, path ? path : "",
				  path ? ": " : "", what);
	else
		msg = sk_asprintf("%s: %s%s%s%s", c->file, w, path ? path : "", path ? ": " : "",
				  what);
	d->v = sk_realloc(d->v, (d->n + 1) * sizeof(*d->v));
	d->v[d->n++] = (struct sk_app_diag){ .level = lvl, .line = line, .col = col, .msg = msg };
	if (lvl == SK_APP_ERROR)
		d->n_errors++;
}

void sk_app_diag(struct sk_app_ctx *c, enum sk_app_diag_level lvl, const struct sk_yn *n,
		 const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_v(c, lvl, n, path, fmt, ap);
	va_end(ap);
}

int sk_app_fail(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_v(c, SK_APP_ERROR, n, path, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void sk_app_warn(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, const char *fmt,
		 ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_v(c, SK_APP_WARNING, n, path, fmt, ap);
	va_end(ap);
}

void sk_app_diags_release(struct sk_app_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	*d = (struct sk_app_diags){ 0 };
}

const char *sk_app_env_lookup(void *ctx, const char *name)
{
	struct sk_app_ctx *c = ctx;
	struct sk_app_kv *kv = sk_app_kvs_get(&c->env, name);

	return kv ? kv->value : NULL;
}

char *sk_app_path(const char *path, const char *key)
{
	return path && *path ? sk_asprintf("%s.%s", path, key) : sk_strdup(key);
}

char *sk_app_abspath(const struct sk_app_ctx *c, const char *p)
{
	size_t n = strlen(c->dir);

	if (p[0] == '/')
		return sk_strdup(p);
	return sk_asprintf("%s%s%s", c->dir, n && c->dir[n - 1] == '/' ? "" : "/", p);
}

char *sk_app_path_i(const char *path, size_t i)
{
	return sk_asprintf("%s[%zu]", path, i);
}

static const char *type_name(const struct sk_yn *n)
{
	return n->type == SK_YN_MAP ? "a mapping" : n->type == SK_YN_SEQ ? "a list" : "a scalar";
}

int sk_app_want(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, enum sk_yn_type t)
{
	static const char *const names[] = { "a scalar", "a list", "a mapping" };

	if (n && n->type == t)
		return 0;
	if (!n || sk_yn_is_null(n))
		return sk_app_fail(c, n, path, "must be %s, not empty", names[t]);
	return sk_app_fail(c, n, path, "must be %s, not %s", names[t], type_name(n));
}

/* Interpolates a scalar; null stays NULL only when `allow_null`. */
static int scalar(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, char **ret)
{
	_cleanup_error_ struct sk_error *e = NULL;
	_cleanup_strv_ char **unset = NULL;
	int r;

	if (!n || n->type != SK_YN_SCALAR)
		return sk_app_want(c, n, path, SK_YN_SCALAR);
	r = sk_app_interpolate(n->text, sk_app_env_lookup, c, ret, &unset, &e);
	if (r < 0)
		return sk_app_fail(c, n, path, "%s", e->msg);
	for (char **u = unset; u && *u; u++)
		sk_app_warn(c, n, path, "variable \"%s\" is not set, substituting an empty string",
			    *u);
	return 0;
}

int sk_app_get_str(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, char **ret)
{
	if (n && sk_yn_is_null(n))
		return sk_app_fail(c, n, path, "must be a string, not empty");
	return scalar(c, n, path, ret);
}

int sk_app_get_bool(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on", "y" }, *const no[] = { "false",
										       "no", "off",
										       "n" };
	_cleanup_free_ char *s = NULL;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	for (size_t i = 0; i < SK_ELEMENTSOF(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*ret = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return sk_app_fail(c, n, path, "invalid boolean \"%s\"", s);
}

int sk_app_get_int(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, int64_t min,
		   int64_t max, int64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int64_t v;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	if (sk_parse_int64(s, &v) < 0)
		return sk_app_fail(c, n, path, "invalid integer \"%s\"", s);
	if (v < min || v > max)
		return sk_app_fail(c, n, path, "%s is out of range (%lld..%lld)", s, (long long)min,
				   (long long)max);
	*ret = v;
	return 0;
}

int sk_app_get_duration(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, int64_t *ret)
{
	_cleanup_free_ char *s = NULL;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	if (sk_app_parse_duration(s, ret) < 0)
		return sk_app_fail(c, n, path, "invalid duration \"%s\"", s);
	return 0;
}

int sk_app_get_bytes(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	if (sk_app_parse_bytes(s, ret) < 0)
		return sk_app_fail(c, n, path, "invalid byte size \"%s\"", s);
	return 0;
}

int sk_app_get_cpus(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, double *ret)
{
	_cleanup_free_ char *s = NULL;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	if (sk_app_parse_cpus(s, ret) < 0)
		return sk_app_fail(c, n, path, "invalid cpus \"%s\"", s);
	return 0;
}

int sk_app_get_strv(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		    bool allow_string, char ***ret)
{
	_cleanup_strv_ char **v = sk_new0(char *, 1);
	int r = 0;

	if (allow_string && n && n->type == SK_YN_SCALAR) {
		char *s;
		if (sk_app_get_str(c, n, path, &s) < 0)
			return -EINVAL;
		sk_strv_push(&v, s);
		free(s);
		*ret = TAKE_PTR(v);
		return 0;
	}
	if (sk_app_want(c, n, path, SK_YN_SEQ) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path_i(path, i), *s = NULL;
		if (sk_app_get_str(c, n->items[i], p, &s) < 0) {
			r = -EINVAL;
			continue;
		}
		sk_strv_push(&v, s);
	}
	if (r == 0)
		*ret = TAKE_PTR(v);
	return r;
}

static int kvs_from_list(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			 bool keep_null, struct sk_app_kvs *kvs)
{
	int r = 0;

	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path_i(path, i), *s = NULL;
		char *eq;
		if (sk_app_get_str(c, n->items[i], p, &s) < 0) {
			r = -EINVAL;
			continue;
		}
		eq = strchr(s, '=');
		if (eq)
			*eq = '\0';
		if (!*s) {
			r = sk_app_fail(c, n->items[i], p, "empty key in \"%s\"",
					n->items[i]->text);
			continue;
		}
		sk_app_kvs_set(kvs, s, eq ? eq + 1 : keep_null ? NULL : "");
	}
	return r;
}

int sk_app_get_kvs(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, bool keep_null,
		   struct sk_app_kvs *ret)
{
	struct sk_app_kvs kvs = { 0 };
	int r = 0;

	if (n && n->type == SK_YN_SEQ)
		r = kvs_from_list(c, n, path, keep_null, &kvs);
	else if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	else
		for (size_t i = 0; i < n->n; i++) {
			const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
			_cleanup_free_ char *p = sk_app_path(path, k->text), *s = NULL;
			if (sk_yn_is_null(v)) {
				sk_app_kvs_set(&kvs, k->text, keep_null ? NULL : "");
				continue;
			}
			if (scalar(c, v, p, &s) < 0) {
				r = -EINVAL;
				continue;
			}
			sk_app_kvs_set(&kvs, k->text, s);
		}
	if (r < 0) {
		sk_app_kvs_release(&kvs);
		return r;
	}
	*ret = kvs;
	return 0;
}

static json_t *scalar_json(struct sk_app_ctx *c, const struct sk_yn *n, const char *path)
{
	_cleanup_free_ char *s = NULL;
	int64_t i;

	if (sk_yn_is_null(n))
		return json_null();
	if (scalar(c, n, path, &s) < 0)
		return NULL;
	if (n->plain && (!strcmp(s, "true") || !strcmp(s, "false")))
		return json_boolean(!strcmp(s, "true"));
	if (n->plain && sk_parse_int64(s, &i) == 0)
		return json_integer(i);
	return json_string(s);
}

json_t *sk_app_yn_to_json(struct sk_app_ctx *c, const struct sk_yn *n, const char *path)
{
	json_t *j;

	if (c->budget == 0) {
		sk_app_fail(c, n, path,
			    "extension value too large (aliases expand to too many nodes)");
		return NULL;
	}
	c->budget--;
	if (n->type == SK_YN_SCALAR)
		return scalar_json(c, n, path);
	j = n->type == SK_YN_SEQ ? json_array() : json_object();
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *v = n->type == SK_YN_SEQ ? n->items[i] : sk_yn_val(n, i);
		_cleanup_free_ char *p = n->type == SK_YN_SEQ
					     ? sk_app_path_i(path, i)
					     : sk_app_path(path, sk_yn_key(n, i)->text);
		json_t *e = sk_app_yn_to_json(c, v, p);
		if (!e) {
			json_decref(j);
			return NULL;
		}
		if (n->type == SK_YN_SEQ)
			json_array_append_new(j, e);
		else
			json_object_set_new(j, sk_yn_key(n, i)->text, e);
	}
	return j;
}
