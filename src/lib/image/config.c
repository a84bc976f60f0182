/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the image config document (image-spec config.md, which is
 * also what docker writes): parsing into struct sk_image_config and
 * loading an image's config from the store.  Turning it into a process is
 * process.c's job.
 */
#include "image/image-internal.h"

#include <string.h>

struct ctx {
	const char *name;
	struct sk_error **err;
};

static int bad(struct ctx *c, const char *field, const char *what)
{
	return sk_error_set(c->err, 0, "%s: %s: %s", c->name, field, what);
}

static int get_string(struct ctx *c, json_t *obj, const char *key, const char *field, char **ret)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad(c, field, "not a string");
	*ret = sk_strdup(json_string_value(v));
	return 0;
}

static int get_strv(struct ctx *c, json_t *obj, const char *key, const char *field, char ***ret)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	*ret = sk_json_strv(v);
	return *ret ? 0 : bad(c, field, "not an array of strings");
}

/* {"80/tcp": {}} -> ["80/tcp"] */
static int get_keys(struct ctx *c, json_t *obj, const char *key, const char *field, char ***ret)
{
	json_t *v = json_object_get(obj, key), *e;
	const char *k;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return bad(c, field, "not an object");
	json_object_foreach(v, k, e) sk_strv_push(ret, k);
	return 0;
}

static int get_labels(struct ctx *c, json_t *obj, struct sk_image_config *cfg)
{
	json_t *v = json_object_get(obj, "Labels"), *e;
	const char *k;
	size_t i = 0;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return bad(c, "config.Labels", "not an object");
	cfg->labels = sk_new0(struct sk_kv, json_object_size(v) + 1);
	json_object_foreach(v, k, e)
	{
		if (!json_is_string(e))
			return sk_error_set(c->err, 0, "%s: config.Labels.%s: not a string",
					    c->name, k);
		cfg->labels[i].key = sk_strdup(k);
		cfg->labels[i].value = sk_strdup(json_string_value(e));
		cfg->n_labels = ++i;
	}
	return 0;
}

static int get_duration(struct ctx *c, json_t *hc, const char *key, int64_t *ret)
{
	json_t *v = json_object_get(hc, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return sk_error_set(c->err, 0, "%s: config.Healthcheck.%s: not a duration", c->name,
				    key);
	*ret = json_integer_value(v);
	return 0;
}

static int get_healthcheck(struct ctx *c, json_t *obj, struct sk_image_config *cfg)
{
	json_t *v = json_object_get(obj, "Healthcheck"), *retries;
	struct sk_image_healthcheck *h;
	int r;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return bad(c, "config.Healthcheck", "not an object");
	h = cfg->healthcheck = sk_new0(struct sk_image_healthcheck, 1);
	if ((r = get_strv(c, v, "Test", "config.Healthcheck.Test", &h->test)) < 0 ||
	    (r = get_duration(c, v, "Interval", &h->interval)) < 0 ||
	    (r = get_duration(c, v, "Timeout", &h->timeout)) < 0 ||
	    (r = get_duration(c, v, "StartPeriod", &h->start_period)) < 0 ||
	    (r = get_duration(c, v, "StartInterval", &h->start_interval)) < 0)
		return r;
	retries = json_object_get(v, "Retries");
	if (retries && !json_is_null(retries)) {
		if (!json_is_integer(retries) || json_integer_value(retries) < 0 ||
		    json_integer_value(retries) > 1000000)
			return bad(c, "config.Healthcheck.Retries", "not a count");
		h->retries = (int)json_integer_value(retries);
	}
	return 0;
}

static int get_process(struct ctx *c, json_t *obj, struct sk_image_config *cfg)
{
	int r;

	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return bad(c, "config", "not an object");
	if ((r = get_strv(c, obj, "Entrypoint", "config.Entrypoint", &cfg->entrypoint)) < 0 ||
	    (r = get_strv(c, obj, "Cmd", "config.Cmd", &cfg->cmd)) < 0 ||
	    (r = get_strv(c, obj, "Env", "config.Env", &cfg->env)) < 0 ||
	    (r = get_string(c, obj, "WorkingDir", "config.WorkingDir", &cfg->working_dir)) < 0 ||
	    (r = get_string(c, obj, "User", "config.User", &cfg->user)) < 0 ||
	    (r = get_string(c, obj, "StopSignal", "config.StopSignal", &cfg->stop_signal)) < 0 ||
	    (r = get_keys(c, obj, "ExposedPorts", "config.ExposedPorts", &cfg->exposed_ports)) <
		0 ||
	    (r = get_keys(c, obj, "Volumes", "config.Volumes", &cfg->volumes)) < 0 ||
	    (r = get_labels(c, obj, cfg)) < 0)
		return r;
	return get_healthcheck(c, obj, cfg);
}

static int get_rootfs(struct ctx *c, json_t *root, struct sk_image_config *cfg)
{
	json_t *rootfs = json_object_get(root, "rootfs"), *type;
	int r;

	if (!json_is_object(rootfs))
		return bad(c, "rootfs", "missing");
	type = json_object_get(rootfs, "type");
	if (!json_is_string(type) || strcmp(json_string_value(type), "layers"))
		return bad(c, "rootfs.type", "not \"layers\"");
	if ((r = get_strv(c, rootfs, "diff_ids", "rootfs.diff_ids", &cfg->diff_ids)) < 0)
		return r;
	if (sk_strv_length(cfg->diff_ids) > SK_IMAGE_MAX_LAYERS)
		return bad(c, "rootfs.diff_ids", "too many layers");
	for (size_t i = 0; cfg->diff_ids && cfg->diff_ids[i]; i++)
		if (sk_digest_validate(cfg->diff_ids[i], c->err) < 0) {
			sk_error_prefix(c->err, "%s: rootfs.diff_ids[%zu]", c->name, i);
			return -EINVAL;
		}
	if (!cfg->diff_ids)
		cfg->diff_ids = sk_new0(char *, 1);
	return 0;
}

int sk_image_config_parse(const char *json, size_t len, const char *name,
			  struct sk_image_config **ret, struct sk_error **err)
{
	_cleanup_(sk_image_config_freep) struct sk_image_config *cfg = NULL;
	struct ctx c = { .name = name, .err = err };
	json_error_t je;
	json_t *root;
	int r;

	if (len > SK_IMAGE_JSON_MAX)
		return sk_error_set(err, EFBIG, "%s", name);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return sk_error_set(err, 0, "%s: invalid JSON at line %d: %s", name, je.line,
				    je.text);
	cfg = sk_new0(struct sk_image_config, 1);
	if (!json_is_object(root)) {
		r = bad(&c, "(root)", "not an object");
		goto out;
	}
	if ((r = get_string(&c, root, "architecture", "architecture", &cfg->architecture)) < 0 ||
	    (r = get_string(&c, root, "os", "os", &cfg->os)) < 0 ||
	    (r = get_string(&c, root, "variant", "variant", &cfg->variant)) < 0 ||
	    (r = get_string(&c, root, "created", "created", &cfg->created)) < 0 ||
	    (r = get_string(&c, root, "author", "author", &cfg->author)) < 0 ||
	    (r = get_process(&c, json_object_get(root, "config"), cfg)) < 0 ||
	    (r = get_rootfs(&c, root, cfg)) < 0)
		goto out;
	*ret = TAKE_PTR(cfg);
out:
	json_decref(root);
	return r;
}

int sk_image_config_load(struct sk_image_store *s, const char *image, struct sk_image_config **ret,
			 struct sk_error **err)
{
	const struct sk_image_info *info;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = sk_image_lookup(s, image, &info, err);

	if (r < 0)
		return r;
	r = sk_blob_read(s, info->id, &buf, &len, err);
	if (r < 0)
		return r;
	return sk_image_config_parse(buf, len, info->id, ret, err);
}

void sk_image_config_free(struct sk_image_config *c)
{
	if (!c)
		return;
	free(c->architecture);
	free(c->os);
	free(c->variant);
	free(c->created);
	free(c->author);
	sk_strv_free(c->entrypoint);
	sk_strv_free(c->cmd);
	sk_strv_free(c->env);
	free(c->working_dir);
	free(c->user);
	free(c->stop_signal);
	sk_strv_free(c->exposed_ports);
	sk_strv_free(c->volumes);
	for (size_t i = 0; i < c->n_labels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	free(c->labels);
	if (c->healthcheck)
		sk_strv_free(c->healthcheck->test);
	free(c->healthcheck);
	sk_strv_free(c->diff_ids);
	free(c);
}
