/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-secrets.c - Compose secrets: the top-level `secrets:` section (a file
 * or an environment variable per secret) and each service's `secrets:`
 * list (short "name" or long {source, target, uid, gid, mode}).
 *
 * A service's entry is resolved here against the top-level secret, so the
 * daemon receives what it mounts: the file's absolute path, or the
 * variable's value read from the CLI's environment (and .env) at load
 * time.  External secrets (Swarm's) are an error.  Where the files appear
 * in the container and who owns them is specgen's business.
 */
#include "app/app-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"

#define SECRETS_DIR "/run/secrets"

static int top_secret(struct sk_app_ctx *c, const struct sk_yn *k, const struct sk_yn *v,
		      const char *path, struct sk_app_secret *s)
{
	int r = 0;

	s->name = sk_strdup(k->text);
	if (sk_app_want(c, v, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < v->n; i++) {
		const struct sk_yn *fk = sk_yn_key(v, i), *fv = sk_yn_val(v, i);
		_cleanup_free_ char *p = sk_app_path(path, fk->text), *file = NULL;
		bool ext = false;

		if (!strcmp(fk->text, "file")) {
			if (sk_app_get_str(c, fv, p, &file) < 0) {
				r = -EINVAL;
				continue;
			}
			_cleanup_free_ char *abs = sk_app_abspath(c, file);
			free(s->file);
			s->file = sk_app_clean_path(abs);
		} else if (!strcmp(fk->text, "environment"))
			r |= sk_app_get_str(c, fv, p, &s->environment);
		else if (!strcmp(fk->text, "external")) {
			if (sk_app_get_bool(c, fv, p, &ext) < 0)
				r = -EINVAL;
			else if (ext)
				r |= sk_app_fail(c, fv, p,
						 "external secrets are not supported by skiff");
		} else if (!strcmp(fk->text, "name") || !strcmp(fk->text, "labels") ||
			   !strcmp(fk->text, "driver") || !strcmp(fk->text, "driver_opts") ||
			   !strcmp(fk->text, "template_driver"))
			sk_app_warn(c, fk, NULL, "%s is not supported by skiff, ignored", p);
		else if (!sk_str_has_prefix(fk->text, "x-"))
			r |= sk_app_fail(c, fk, p, "unknown field");
	}
	if (r)
		return -EINVAL;
	if (!!s->file == !!s->environment)
		return sk_app_fail(c, v, path, "needs either file or environment");
	return 0;
}

int sk_app_secrets_section(struct sk_app_ctx *c, const struct sk_yn *n, struct sk_app *app)
{
	int r = 0;

	if (!n || sk_yn_is_null(n))
		return 0;
	if (sk_app_want(c, n, "secrets", SK_YN_MAP) < 0)
		return -EINVAL;
	app->secrets = sk_new0(struct sk_app_secret, n->n);
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path("secrets", sk_yn_key(n, i)->text);
		r |= top_secret(c, sk_yn_key(n, i), sk_yn_val(n, i), p,
				&app->secrets[app->n_secrets++]);
	}
	return r ? -EINVAL : 0;
}

/* Octal digits as chmod takes them ("0400", "400", "0o400"). */
static int secret_mode(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, uint32_t *ret)
{
	_cleanup_free_ char *s = NULL;
	const char *d;
	char *end;
	long v;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	d = sk_str_has_prefix(s, "0o") ? s + 2 : s;
	errno = 0;
	v = strtol(d, &end, 8);
	if (!*d || *end || errno || v < 0 || v > 07777)
		return sk_app_fail(c, n, path, "invalid mode \"%s\" (octal, like 0440)", s);
	*ret = (uint32_t)v;
	return 0;
}

/* A target: relative to /run/secrets or absolute, without "." or ".." parts. */
static int secret_target(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			 const char *t, char **ret)
{
	_cleanup_free_ char *copy = sk_strdup(t);
	char *save = NULL;

	for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save))
		if (!strcmp(p, ".") || !strcmp(p, ".."))
			return sk_app_fail(c, n, path, "invalid target \"%s\" (no . or ..)", t);
	if (!*t || !strcmp(t, "/"))
		return sk_app_fail(c, n, path, "invalid target \"%s\"", t);
	*ret = t[0] == '/' ? sk_strdup(t) : sk_asprintf(SECRETS_DIR "/%s", t);
	return 0;
}

static int long_form(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct sk_app_secret_ref *ref, const struct sk_yn **ret_src)
{
	_cleanup_free_ char *target = NULL;
	const struct sk_yn *tn = NULL;
	int r = 0;

	for (size_t i = 0; i < v->n; i++) {
		const struct sk_yn *k = sk_yn_key(v, i), *val = sk_yn_val(v, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);

		if (!strcmp(k->text, "source")) {
			r |= sk_app_get_str(c, val, p, &ref->source);
			*ret_src = val;
		} else if (!strcmp(k->text, "target")) {
			r |= sk_app_get_str(c, val, p, &target);
			tn = val;
		} else if (!strcmp(k->text, "uid"))
			r |= sk_app_get_int(c, val, p, 0, UINT32_MAX - 1, &ref->uid);
		else if (!strcmp(k->text, "gid"))
			r |= sk_app_get_int(c, val, p, 0, UINT32_MAX - 1, &ref->gid);
		else if (!strcmp(k->text, "mode")) {
			r |= secret_mode(c, val, p, &ref->mode);
			ref->has_mode = true;
		} else if (!sk_str_has_prefix(k->text, "x-"))
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	if (r)
		return -EINVAL;
	if (!ref->source)
		return sk_app_fail(c, v, path, "source is required");
	if (target) {
		_cleanup_free_ char *p = sk_app_path(path, "target");
		return secret_target(c, tn, p, target, &ref->target);
	}
	return 0;
}

/* The top-level secret `ref->source` names, copied into the reference. */
static int resolve(struct sk_app_ctx *c, const struct sk_yn *at, const char *path,
		   struct sk_app_secret_ref *ref)
{
	const struct sk_app *app = c->app;
	const struct sk_app_secret *s = NULL;
	const char *val;
	json_t *check;
	struct stat st;

	for (size_t i = 0; app && i < app->n_secrets; i++)
		if (!strcmp(app->secrets[i].name, ref->source))
			s = &app->secrets[i];
	if (!s)
		return sk_app_fail(
		    c, at, path,
		    "secret \"%s\" is not declared under the top-level secrets:", ref->source);
	if (!s->file && !s->environment)
		return -EINVAL; /* reported at the declaration */
	if (s->file) {
		if (stat(s->file, &st) < 0)
			return sk_app_fail(c, at, path, "secret \"%s\": file '%s': %s", ref->source,
					   s->file, strerror(errno));
		ref->file = sk_strdup(s->file);
		if (ref->uid >= 0 || ref->gid >= 0 || ref->has_mode)
			sk_app_warn(c, at, path,
				    "uid, gid and mode do not apply to file secret \"%s\" "
				    "(it is bind-mounted as it is), ignored",
				    ref->source);
		return 0;
	}
	val = sk_app_env_lookup(c, s->environment);
	if (!val)
		return sk_app_fail(c, at, path,
				   "secret \"%s\": environment variable \"%s\" is not set",
				   ref->source, s->environment);
	check = json_string(val);
	if (!check)
		return sk_app_fail(c, at, path, "secret \"%s\": the value is not valid UTF-8",
				   ref->source);
	json_decref(check);
	ref->content = sk_strdup(val);
	return 0;
}

static int one_ref(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		   struct sk_app_secret_ref *ref)
{
	const struct sk_yn *src = v;

	*ref = (struct sk_app_secret_ref){ .uid = -1, .gid = -1, .mode = 0400 };
	if (v->type == SK_YN_MAP) {
		if (long_form(c, v, path, ref, &src) < 0)
			return -EINVAL;
	} else if (sk_app_get_str(c, v, path, &ref->source) < 0)
		return -EINVAL;
	if (!ref->target)
		ref->target = sk_asprintf(SECRETS_DIR "/%s", ref->source);
	return resolve(c, src, path, ref);
}

int sk_app_service_secrets_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
				 struct sk_app_service *s)
{
	int r = 0;

	if (sk_app_want(c, v, path, SK_YN_SEQ) < 0)
		return -EINVAL;
	s->secrets = sk_new0(struct sk_app_secret_ref, v->n);
	for (size_t i = 0; i < v->n; i++) {
		_cleanup_free_ char *p = sk_app_path_i(path, i);
		struct sk_app_secret_ref *ref = &s->secrets[s->n_secrets++];

		if (one_ref(c, v->items[i], p, ref) < 0) {
			r = -EINVAL;
			continue;
		}
		for (size_t k = 0; k + 1 < s->n_secrets; k++)
			if (s->secrets[k].target && !strcmp(s->secrets[k].target, ref->target))
				r = sk_app_fail(c, v->items[i], p, "target \"%s\" is used twice",
						ref->target);
	}
	return r;
}

void sk_app_secret_ref_release(struct sk_app_secret_ref *ref)
{
	free(ref->source);
	free(ref->target);
	free(ref->file);
	if (ref->content)
		explicit_bzero(ref->content, strlen(ref->content));
	free(ref->content);
}

void sk_app_secret_release(struct sk_app_secret *s)
{
	free(s->name);
	free(s->file);
	free(s->environment);
}
