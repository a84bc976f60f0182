/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-emit.c - the resolved app as YAML for `skiff config`.
 *
 * A small emitter of the canonical JSON (app-json.c), so the YAML and the
 * JSON output never disagree: block mappings and sequences, null fields
 * left out, strings plain when YAML would read them back as the same
 * string and double-quoted (JSON escapes are valid YAML) otherwise.
 */
#include "app/app-internal.h"

#include <string.h>
#include <strings.h>

#include "base/util.h"

/* True when a plain scalar would read back as this very string. */
static bool plain_ok(const char *s)
{
	static const char *const special[] = { "true", "false", "yes", "no", "on",
					       "off",  "null",	"y",   "n",  "~" };
	size_t n = strlen(s);

	if (!n || strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]) || s[n - 1] == ' ' || s[n - 1] == ':')
		return false;
	if (strstr(s, ": ") || strstr(s, " #") || strpbrk(s, "\n\r\t\\"))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	for (size_t i = 0; i < SK_ELEMENTSOF(special); i++)
		if (!strcasecmp(s, special[i]))
			return false;
	/* anything that starts like a number (or .inf/.nan) is quoted */
	if (strchr("0123456789.+", s[0]))
		return false;
	return true;
}

static void scalar_out(struct sk_app_buf *b, json_t *v)
{
	char *s;

	if (json_is_string(v) && plain_ok(json_string_value(v))) {
		sk_app_buf_adds(b, json_string_value(v));
		return;
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!s)
		abort();
	sk_app_buf_adds(b, s);
	free(s);
}

static bool empty_container(json_t *v)
{
	return (json_is_object(v) && json_object_size(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0);
}

static void indent(struct sk_app_buf *b, int n)
{
	for (int i = 0; i < n; i++)
		sk_app_buf_addc(b, ' ');
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void key_out(struct sk_app_buf *b, const char *k)
{
	json_t *s = json_string(k);

	scalar_out(b, s);
	json_decref(s);
	sk_app_buf_addc(b, ':');
}

static void node_out(struct sk_app_buf *b, json_t *v, int depth, bool first_inline);

/* After "key:": a scalar or empty container on the same line, else a nested block. */
static void value_out(struct sk_app_buf *b, json_t *v, int depth)
{
	if (empty_container(v)) {
		sk_app_buf_adds(b, json_is_object(v) ? " {}\n" : " []\n");
	} else if (json_is_object(v) || json_is_array(v)) {
		sk_app_buf_addc(b, '\n');
		node_out(b, v, json_is_object(v) ? depth + 1 : depth, false);
	} else {
		sk_app_buf_addc(b, ' ');
		scalar_out(b, v);
		sk_app_buf_addc(b, '\n');
	}
}

static void seq_out(struct sk_app_buf *b, json_t *v, int depth)
{
	size_t i;
	json_t *e;

	json_array_foreach(v, i, e)
	{
		indent(b, 2 * depth);
		sk_app_buf_addc(b, '-');
		if (json_is_object(e) && !empty_container(e)) {
			sk_app_buf_addc(b, ' ');
			node_out(b, e, depth + 1, true);
		} else if (json_is_array(e) && !empty_container(e)) {
			sk_app_buf_addc(b, '\n');
			seq_out(b, e, depth + 1);
		} else
			value_out(b, e, depth);
	}
}

/* A mapping; with first_inline its first key continues the current line ("- key: v"). */
static void node_out(struct sk_app_buf *b, json_t *v, int depth, bool first_inline)
{
	const char **keys, *k;
	size_t n = 0;
	json_t *e;

	if (json_is_array(v)) {
		seq_out(b, v, depth);
		return;
	}
	keys = sk_new0(const char *, json_object_size(v) + 1);
	json_object_foreach(v, k, e) if (!json_is_null(e)) keys[n++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 || !first_inline)
			indent(b, 2 * depth);
		key_out(b, keys[i]);
		value_out(b, json_object_get(v, keys[i]), depth);
	}
	free(keys);
}

char *sk_app_to_yaml(const struct sk_app *app, struct sk_error **err)
{
	_cleanup_free_ char *json = sk_app_to_json(app, false);
	json_t *j = json_loads(json, 0, NULL);
	struct sk_app_buf b = { 0 };

	if (!j)
		return sk_error_set(err, 0, "app model to YAML: bad JSON"), NULL;
	node_out(&b, j, 0, false);
	json_decref(j);
	return sk_app_buf_take(&b);
}
