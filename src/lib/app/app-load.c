/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-load.c - sk_app_load(): the compose file, its environment (process
 * environment over .env), the project name and the top-level sections
 * (name, services, volumes, networks, secrets, x-skiff, x- extensions).
 *
 * Parsing goes on after an error so that one run reports every problem;
 * diagnostics come back sorted by position, and the first error is also
 * returned as the struct sk_error.
 */
#include "app/app-internal.h"

#include <ctype.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

extern char **environ;

static const char *const default_files[] = { "compose.yaml", "compose.yml", "docker-compose.yaml",
					     "docker-compose.yml" };

int sk_app_find_file(const char *dir, char **ret_path, struct sk_error **err)
{
	for (size_t i = 0; i < SK_ELEMENTSOF(default_files); i++) {
		_cleanup_free_ char *p =
		    dir ? sk_path_join(dir, default_files[i]) : sk_strdup(default_files[i]);
		if (access(p, F_OK) == 0) {
			*ret_path = TAKE_PTR(p);
			return 0;
		}
	}
	return sk_error_set(err, ENOENT,
			    "no compose file (compose.yaml, compose.yml, docker-compose.yaml, "
			    "docker-compose.yml) in %s",
			    dir ? dir : "the current directory");
}

char *sk_app_normalize_name(const char *s)
{
	char *out = sk_malloc0(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		char ch = (char)tolower((unsigned char)*s);
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ((ch == '_' || ch == '-') && o != out))
			*o++ = ch;
	}
	if (o == out) {
		free(out);
		return NULL;
	}
	return out;
}

static void env_init(struct sk_app_ctx *c, char *const *env)
{
	for (char *const *e = env ? env : environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || eq == *e)
			continue;
		_cleanup_free_ char *k = sk_strndup(*e, eq - *e);
		sk_app_kvs_set(&c->env, k, eq + 1);
	}
}

/* The .env: its values apply only where the environment has none. */
static int dotenv_load(struct sk_app_ctx *c, const char *path, bool required, struct sk_error **err)
{
	_cleanup_free_ char *buf = NULL;
	struct sk_app_kvs vars = { 0 };
	size_t len;
	int r;

	r = sk_read_file(path, &buf, &len);
	if (r == -ENOENT && !required)
		return 0;
	if (r < 0)
		return sk_error_set(err, -r, "read %s", path);
	r = sk_app_dotenv_parse(buf, len, path, sk_app_env_lookup, c, &vars, err);
	for (size_t i = 0; r == 0 && i < vars.n; i++)
		if (!sk_app_kvs_get(&c->env, vars.v[i].key))
			sk_app_kvs_set(&c->env, vars.v[i].key, vars.v[i].value);
	sk_app_kvs_release(&vars);
	return r;
}

static int project_name(struct sk_app_ctx *c, const struct sk_yn *root,
			const struct sk_app_load_opts *o, struct sk_app *app)
{
	const struct sk_yn *n = sk_yn_get(root, "name");
	_cleanup_free_ char *from_file = NULL, *base = sk_strdup(c->dir);
	const char *env = sk_app_env_lookup(c, "COMPOSE_PROJECT_NAME");
	const char *raw;

	if (n && sk_app_get_str(c, n, "name", &from_file) < 0)
		return -EINVAL;
	raw = o && o->project_name ? o->project_name
	      : env && *env	   ? env
	      : from_file	   ? from_file
				   : basename(base);
	app->name = sk_app_normalize_name(raw);
	if (!app->name)
		return sk_app_fail(c, o && o->project_name ? NULL : n, "name",
				   "project name \"%s\" has no letters or digits", raw);
	return 0;
}

static int top_volume(struct sk_app_ctx *c, const struct sk_yn *k, const struct sk_yn *v,
		      const char *path, struct sk_app_volume *vol)
{
	int r = 0;

	vol->name = sk_strdup(k->text);
	if (sk_yn_is_null(v))
		return 0;
	if (sk_app_want(c, v, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < v->n; i++) {
		const struct sk_yn *fk = sk_yn_key(v, i), *fv = sk_yn_val(v, i);
		_cleanup_free_ char *p = sk_app_path(path, fk->text);
		if (!strcmp(fk->text, "name"))
			r |= sk_app_get_str(c, fv, p, &vol->ext_name);
		else if (!strcmp(fk->text, "external"))
			r |= sk_app_get_bool(c, fv, p, &vol->external);
		else if (!strcmp(fk->text, "driver"))
			r |= sk_app_get_str(c, fv, p, &vol->driver);
		else if (!strcmp(fk->text, "driver_opts"))
			r |= sk_app_get_kvs(c, fv, p, false, &vol->driver_opts);
		else if (!strcmp(fk->text, "labels"))
			r |= sk_app_get_kvs(c, fv, p, false, &vol->labels);
		else if (!sk_str_has_prefix(fk->text, "x-"))
			sk_app_warn(c, fk, NULL, "%s is not supported by skiff, ignored", p);
	}
	return r ? -EINVAL : 0;
}

static int ipam(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		struct sk_app_network *net)
{
	const struct sk_yn *cfg = sk_yn_get(v, "config");
	_cleanup_free_ char *p = sk_app_path(path, "config");
	int r = 0;

	if (sk_app_want(c, v, path, SK_YN_MAP) < 0)
		return -EINVAL;
	if (!cfg)
		return 0;
	if (sk_app_want(c, cfg, p, SK_YN_SEQ) < 0)
		return -EINVAL;
	net->subnets = sk_new0(char *, 1);
	for (size_t i = 0; i < cfg->n; i++) {
		_cleanup_free_ char *pi = sk_app_path_i(p, i), *ps = sk_app_path(pi, "subnet"),
				    *s = NULL;
		const struct sk_yn *sub = sk_yn_get(cfg->items[i], "subnet");
		if (!sub)
			continue;
		if (sk_app_get_str(c, sub, ps, &s) < 0)
			r = -EINVAL;
		else
			sk_strv_push(&net->subnets, s);
	}
	return r;
}

static int top_network(struct sk_app_ctx *c, const struct sk_yn *k, const struct sk_yn *v,
		       const char *path, struct sk_app_network *net)
{
	int r = 0;

	net->name = sk_strdup(k->text);
	if (sk_yn_is_null(v))
		return 0;
	if (sk_app_want(c, v, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < v->n; i++) {
		const struct sk_yn *fk = sk_yn_key(v, i), *fv = sk_yn_val(v, i);
		_cleanup_free_ char *p = sk_app_path(path, fk->text);
		if (!strcmp(fk->text, "name"))
			r |= sk_app_get_str(c, fv, p, &net->ext_name);
		else if (!strcmp(fk->text, "external"))
			r |= sk_app_get_bool(c, fv, p, &net->external);
		else if (!strcmp(fk->text, "internal"))
			r |= sk_app_get_bool(c, fv, p, &net->internal);
		else if (!strcmp(fk->text, "enable_ipv6"))
			r |= sk_app_get_bool(c, fv, p, &net->enable_ipv6);
		else if (!strcmp(fk->text, "driver"))
			r |= sk_app_get_str(c, fv, p, &net->driver);
		else if (!strcmp(fk->text, "driver_opts"))
			r |= sk_app_get_kvs(c, fv, p, false, &net->driver_opts);
		else if (!strcmp(fk->text, "labels"))
			r |= sk_app_get_kvs(c, fv, p, false, &net->labels);
		else if (!strcmp(fk->text, "ipam"))
			r |= ipam(c, fv, p, net);
		else if (!sk_str_has_prefix(fk->text, "x-"))
			sk_app_warn(c, fk, NULL, "%s is not supported by skiff, ignored", p);
	}
	return r ? -EINVAL : 0;
}

static int volumes_section(struct sk_app_ctx *c, const struct sk_yn *n, struct sk_app *app)
{
	int r = 0;

	if (sk_yn_is_null(n))
		return 0;
	if (sk_app_want(c, n, "volumes", SK_YN_MAP) < 0)
		return -EINVAL;
	app->volumes = sk_new0(struct sk_app_volume, n->n);
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path("volumes", sk_yn_key(n, i)->text);
		r |= top_volume(c, sk_yn_key(n, i), sk_yn_val(n, i), p,
				&app->volumes[app->n_volumes++]);
	}
	return r ? -EINVAL : 0;
}

static int networks_section(struct sk_app_ctx *c, const struct sk_yn *n, struct sk_app *app)
{
	int r = 0;

	if (sk_yn_is_null(n))
		return 0;
	if (sk_app_want(c, n, "networks", SK_YN_MAP) < 0)
		return -EINVAL;
	app->networks = sk_new0(struct sk_app_network, n->n);
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path("networks", sk_yn_key(n, i)->text);
		r |= top_network(c, sk_yn_key(n, i), sk_yn_val(n, i), p,
				 &app->networks[app->n_networks++]);
	}
	return r ? -EINVAL : 0;
}

static int services_section(struct sk_app_ctx *c, const struct sk_yn *n, struct sk_app *app)
{
	int r = 0;

	if (!n || sk_yn_is_null(n))
		return sk_app_fail(c, n, NULL, "no services defined");
	if (sk_app_want(c, n, "services", SK_YN_MAP) < 0)
		return -EINVAL;
	app->services = sk_new0(struct sk_app_service, n->n);
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i);
		_cleanup_free_ char *norm = sk_app_normalize_name(k->text);
		if (!norm || strcmp(norm, k->text) || !isalnum((unsigned char)k->text[0]))
			r |= sk_app_fail(c, k, "services",
					 "invalid service name \"%s\" (use [a-z0-9][a-z0-9_-]*)",
					 k->text);
		r |= sk_app_service_parse(c, k, sk_yn_val(n, i), &app->services[app->n_services++]);
	}
	return r ? -EINVAL : 0;
}

static const char *const top_unsupported[] = { "configs", "include", "models" };

static int top_level(struct sk_app_ctx *c, const struct sk_yn *root, struct sk_app *app)
{
	json_t *x = NULL;
	int r = 0;

	for (size_t i = 0; i < root->n; i++) {
		const struct sk_yn *k = sk_yn_key(root, i), *v = sk_yn_val(root, i);
		bool unsupported = false;
		if (!strcmp(k->text, "name") || !strcmp(k->text, "services") ||
		    !strcmp(k->text, "volumes") || !strcmp(k->text, "networks") ||
		    !strcmp(k->text, "secrets"))
			continue;
		if (!strcmp(k->text, "version")) {
			sk_app_warn(c, k, "version", "is obsolete, ignored");
			continue;
		}
		if (!strcmp(k->text, "x-skiff")) {
			r |= sk_app_xskiff_app_parse(c, v, "x-skiff", &app->x_skiff);
			continue;
		}
		if (sk_str_has_prefix(k->text, "x-")) {
			json_t *j = sk_app_yn_to_json(c, v, k->text);
			if (!x)
				x = json_object();
			if (j)
				json_object_set_new(x, k->text, j);
			continue;
		}
		for (size_t j = 0; j < SK_ELEMENTSOF(top_unsupported); j++)
			unsupported |= !strcmp(k->text, top_unsupported[j]);
		if (unsupported)
			sk_app_warn(c, k, NULL, "%s is not supported by skiff, ignored", k->text);
		else
			r |= sk_app_fail(c, k, k->text, "unknown top-level field");
	}
	if (x) {
		app->extensions = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(x);
	}
	r |= volumes_section(c, sk_yn_get(root, "volumes"), app);
	r |= networks_section(c, sk_yn_get(root, "networks"), app);
	r |= sk_app_secrets_section(c, sk_yn_get(root, "secrets"), app);
	c->app = app;
	r |= services_section(c, sk_yn_get(root, "services"), app);
	return r ? -EINVAL : 0;
}

/* Sorts diagnostics by position, keeping insertion order for equal positions. */
static int finish_diags(struct sk_app_diags *d, struct sk_error **err)
{
	for (size_t i = 1; i < d->n; i++) {
		struct sk_app_diag t = d->v[i];
		size_t j = i;
		while (j > 0 && (d->v[j - 1].line > t.line ||
				 (d->v[j - 1].line == t.line && d->v[j - 1].col > t.col))) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = t;
	}
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level == SK_APP_ERROR)
			return sk_error_set(err, 0, "%s", d->v[i].msg);
	return 0;
}

static int build(struct sk_app_ctx *c, const struct sk_yn *root, const struct sk_app_load_opts *o,
		 struct sk_app *app)
{
	int r = 0;

	if (!root || sk_yn_is_null(root))
		return sk_app_fail(c, NULL, NULL, "empty compose file");
	if (sk_app_want(c, root, NULL, SK_YN_MAP) < 0)
		return -EINVAL;
	if (project_name(c, root, o, app) < 0)
		return -EINVAL;
	/* validate even after field errors, so one run lists every problem */
	r |= top_level(c, root, app);
	sk_app_sort_services(app);
	r |= sk_app_validate(c, app, sk_yn_get(root, "services"));
	if (r)
		return -EINVAL;
	return sk_app_profiles_apply(c, app, o ? o->profiles : NULL);
}

static char *abs_dir(const char *file)
{
	_cleanup_free_ char *copy = sk_strdup(file), *cwd = NULL;
	const char *d = dirname(copy);

	if (d[0] == '/')
		return sk_strdup(d);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return sk_strdup(d);
	return !strcmp(d, ".") ? TAKE_PTR(cwd) : sk_asprintf("%s/%s", cwd, d);
}

int sk_app_parse(const char *buf, size_t len, const char *file, const struct sk_app_load_opts *o,
		 struct sk_app **ret_app, struct sk_app_diags *diags, struct sk_error **err)
{
	struct sk_app_diags local = { 0 };
	_cleanup_free_ char *dir = abs_dir(file), *dotenv = NULL;
	struct sk_app_ctx c = {
		.file = file, .dir = dir, .diags = diags ? diags : &local, .budget = 100000
	};
	_cleanup_(sk_app_freep) struct sk_app *app = sk_new0(struct sk_app, 1);
	struct sk_yaml y = { 0 };
	int r;

	env_init(&c, o ? o->environ : NULL);
	dotenv = o && o->env_file ? sk_strdup(o->env_file) : sk_path_join(dir, ".env");
	r = dotenv_load(&c, dotenv, o && o->env_file, err);
	if (r == 0) {
		struct sk_error *yerr = NULL;
		r = sk_app_yaml_parse(buf, len, file, &y, &yerr);
		if (r < 0) { /* a syntax error is a diagnostic too (its text has the position) */
			struct sk_app_diags *d = c.diags;
			d->v = sk_realloc(d->v, (d->n + 1) * sizeof(*d->v));
			d->v[d->n++] = (struct sk_app_diag){ .level = SK_APP_ERROR,
							     .msg = sk_strdup(yerr->msg) };
			d->n_errors++;
			r = sk_error_move(err, &yerr);
		}
	}
	if (r == 0) {
		app->file = sk_strdup(file);
		app->dir = sk_strdup(dir);
		(void)build(&c, y.root, o, app);
		r = finish_diags(c.diags, err);
	}
	sk_app_yaml_release(&y);
	sk_app_kvs_release(&c.env);
	sk_app_diags_release(&local);
	if (r < 0)
		return r;
	*ret_app = TAKE_PTR(app);
	return 0;
}

int sk_app_load(const struct sk_app_load_opts *o, struct sk_app **ret_app,
		struct sk_app_diags *diags, struct sk_error **err)
{
	_cleanup_free_ char *found = NULL, *buf = NULL;
	const char *file = o ? o->file : NULL;
	size_t len;
	int r;

	if (!file) {
		r = sk_app_find_file(NULL, &found, err);
		if (r < 0)
			return r;
		file = found;
	}
	r = sk_read_file(file, &buf, &len);
	if (r < 0)
		return sk_error_set(err, -r, "read %s", file);
	return sk_app_parse(buf, len, file, o, ret_app, diags, err);
}
