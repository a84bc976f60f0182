/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-interp.c - Compose interpolation (${VAR:-default} and friends), dotenv
 * parsing and shell-like word splitting.
 *
 * Semantics follow compose-spec: `$$` is a literal dollar, `$` not followed
 * by a name or `{` stays as it is, an unset variable becomes "" (and the
 * caller warns), operands of :- - :? ? :+ + are interpolated only when used
 * and may nest up to SK_INTERP_MAX_DEPTH levels.  The closing brace of
 * `${...}` is found as compose-go finds it: each `${` opens, any `}` closes.
 */
#include "app/app-interp.h"

#include <ctype.h>
#include <string.h>

#include "base/util.h"

#define SK_INTERP_MAX_DEPTH 16
#define SK_INTERP_MAX_OUT (1u << 20)

void sk_app_buf_add(struct sk_app_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = sk_realloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sk_app_buf_addc(struct sk_app_buf *b, char c)
{
	sk_app_buf_add(b, &c, 1);
}

void sk_app_buf_adds(struct sk_app_buf *b, const char *s)
{
	sk_app_buf_add(b, s, strlen(s));
}

char *sk_app_buf_take(struct sk_app_buf *b)
{
	char *s = b->s ? b->s : sk_strdup("");

	*b = (struct sk_app_buf){ 0 };
	return s;
}

static void buf_release(struct sk_app_buf *b)
{
	free(b->s);
	*b = (struct sk_app_buf){ 0 };
}

struct interp {
	sk_app_lookup_cb lookup;
	void *userdata;
	char ***unset;
	struct sk_error **err;
};

static bool name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* Index of the `}` closing the `${` at s[0], or -1. */
static long closing_brace(const char *s, size_t n)
{
	int open = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '}' && --open == 0)
			return (long)i;
		if (s[i] == '$' && i + 1 < n && s[i + 1] == '{') {
			open++;
			i++;
		}
	}
	return -1;
}

static int expand(struct interp *ip, const char *s, size_t n, int depth, struct sk_app_buf *out);

static int invalid(struct interp *ip, const char *s, size_t n)
{
	return sk_error_set(ip->err, 0,
			    "invalid interpolation format \"%.*s\" (a literal $ is written $$)",
			    (int)(n > 80 ? 80 : n), s);
}

static void note_unset(struct interp *ip, const char *name)
{
	if (ip->unset)
		sk_strv_push(ip->unset, name);
}

/* Applies the operator `op` ("", ":-", "-", ":?", "?", ":+", "+") of one ${...}. */
static int apply(struct interp *ip, const char *name, const char *op, const char *arg, size_t argn,
		 int depth, struct sk_app_buf *out)
{
	const char *v = ip->lookup(ip->userdata, name);
	bool colon = op[0] == ':';
	bool usable = v && (!colon || *v);
	char kind = op[colon ? 1 : 0];

	if (kind == '\0') {
		if (!v)
			note_unset(ip, name);
		sk_app_buf_adds(out, v ? v : "");
		return 0;
	}
	if (kind == '-') {
		if (usable) {
			sk_app_buf_adds(out, v);
			return 0;
		}
		return expand(ip, arg, argn, depth + 1, out);
	}
	if (kind == '+')
		return usable ? expand(ip, arg, argn, depth + 1, out) : 0;
	/* '?' */
	if (usable) {
		sk_app_buf_adds(out, v);
		return 0;
	}
	struct sk_app_buf msg = { 0 };
	int r = expand(ip, arg, argn, depth + 1, &msg);
	if (r == 0)
		r = sk_error_set(ip->err, 0, "required variable %s is missing a value%s%s", name,
				 msg.len ? ": " : "", msg.len ? msg.s : "");
	buf_release(&msg);
	return r;
}

/* s[0..n) is the whole "${...}" expression. */
static int braced(struct interp *ip, const char *s, size_t n, int depth, struct sk_app_buf *out)
{
	const char *body = s + 2, *end = s + n - 1;
	const char *p = body;
	static const char *const ops[] = { ":-", ":?", ":+", "-", "?", "+" };
	_cleanup_free_ char *name = NULL;

	if (p >= end || !name_start(*p))
		return invalid(ip, s, n);
	while (p < end && name_char(*p))
		p++;
	name = sk_strndup(body, p - body);
	if (p == end)
		return apply(ip, name, "", NULL, 0, depth, out);
	for (size_t i = 0; i < SK_ELEMENTSOF(ops); i++) {
		size_t ol = strlen(ops[i]);
		if ((size_t)(end - p) >= ol && !strncmp(p, ops[i], ol))
			return apply(ip, name, ops[i], p + ol, end - p - ol, depth, out);
	}
	return invalid(ip, s, n);
}

static int expand(struct interp *ip, const char *s, size_t n, int depth, struct sk_app_buf *out)
{
	if (depth > SK_INTERP_MAX_DEPTH)
		return sk_error_set(ip->err, 0, "interpolation nested deeper than %d levels",
				    SK_INTERP_MAX_DEPTH);
	for (size_t i = 0; i < n;) {
		const char *d = memchr(s + i, '$', n - i);
		size_t lit = d ? (size_t)(d - (s + i)) : n - i;

		sk_app_buf_add(out, s + i, lit);
		i += lit;
		if (i >= n)
			break;
		if (out->len > SK_INTERP_MAX_OUT)
			return sk_error_set(ip->err, 0, "interpolated value longer than %u bytes",
					    SK_INTERP_MAX_OUT);
		if (i + 1 < n && s[i + 1] == '$') {
			sk_app_buf_addc(out, '$');
			i += 2;
		} else if (i + 1 < n && s[i + 1] == '{') {
			long close = closing_brace(s + i, n - i);
			if (close < 0)
				return invalid(ip, s + i, n - i);
			int r = braced(ip, s + i, close + 1, depth, out);
			if (r < 0)
				return r;
			i += close + 1;
		} else if (i + 1 < n && name_start(s[i + 1])) {
			size_t j = i + 1;
			while (j < n && name_char(s[j]))
				j++;
			_cleanup_free_ char *name = sk_strndup(s + i + 1, j - i - 1);
			int r = apply(ip, name, "", NULL, 0, depth, out);
			if (r < 0)
				return r;
			i = j;
		} else {
			sk_app_buf_addc(out, '$');
			i++;
		}
	}
	return 0;
}

int sk_app_interpolate(const char *in, sk_app_lookup_cb lookup, void *userdata, char **ret,
		       char ***unset, struct sk_error **err)
{
	struct interp ip = { .lookup = lookup, .userdata = userdata, .unset = unset, .err = err };
	struct sk_app_buf out = { 0 };
	int r;

	r = expand(&ip, in, strlen(in), 0, &out);
	if (r < 0) {
		buf_release(&out);
		return r;
	}
	*ret = sk_app_buf_take(&out);
	return 0;
}

/* ---- key/value lists ------------------------------------------------- */

struct sk_app_kv *sk_app_kvs_get(const struct sk_app_kvs *kvs, const char *key)
{
	for (size_t i = 0; i < kvs->n; i++)
		if (!strcmp(kvs->v[i].key, key))
			return &kvs->v[i];
	return NULL;
}

void sk_app_kvs_set(struct sk_app_kvs *kvs, const char *key, const char *value)
{
	struct sk_app_kv *kv = sk_app_kvs_get(kvs, key);

	if (kv) {
		free(kv->value);
		kv->value = sk_strdup(value);
		return;
	}
	kvs->v = sk_realloc(kvs->v, (kvs->n + 1) * sizeof(*kvs->v));
	kvs->v[kvs->n++] = (struct sk_app_kv){ sk_strdup(key), sk_strdup(value) };
}

void sk_app_kvs_release(struct sk_app_kvs *kvs)
{
	for (size_t i = 0; i < kvs->n; i++) {
		free(kvs->v[i].key);
		free(kvs->v[i].value);
	}
	free(kvs->v);
	*kvs = (struct sk_app_kvs){ 0 };
}

/* ---- dotenv ------------------------------------------------------------ */

struct dotenv {
	const char *p, *end;
	const char *name;
	int line;
	sk_app_lookup_cb lookup;
	void *userdata;
	struct sk_app_kvs *kvs;
	struct sk_error **err;
};

/* Variables in a dotenv value: the caller's lookup first, then keys defined above. */
static const char *dotenv_lookup(void *userdata, const char *name)
{
	struct dotenv *d = userdata;
	const char *v = d->lookup ? d->lookup(d->userdata, name) : NULL;
	struct sk_app_kv *kv;

	if (v)
		return v;
	kv = sk_app_kvs_get(d->kvs, name);
	return kv ? kv->value : NULL;
}

static int dotenv_fail(struct dotenv *d, const char *what)
{
	return sk_error_set(d->err, 0, "%s:%d: %s", d->name, d->line, what);
}

static void skip_blanks(struct dotenv *d)
{
	while (d->p < d->end && (*d->p == ' ' || *d->p == '\t'))
		d->p++;
}

/* After a value: only blanks and an optional comment up to the end of line. */
static int dotenv_eol(struct dotenv *d)
{
	skip_blanks(d);
	if (d->p < d->end && *d->p == '#')
		while (d->p < d->end && *d->p != '\n')
			d->p++;
	if (d->p < d->end && *d->p == '\r')
		d->p++;
	if (d->p < d->end && *d->p != '\n')
		return dotenv_fail(d, "unexpected characters after the value");
	return 0;
}

static int dotenv_interp(struct dotenv *d, const char *raw, char **ret)
{
	_cleanup_error_ struct sk_error *e = NULL;

	if (sk_app_interpolate(raw, dotenv_lookup, d, ret, NULL, &e) < 0)
		return dotenv_fail(d, e->msg);
	return 0;
}

static int dotenv_quoted(struct dotenv *d, char q, char **ret)
{
	struct sk_app_buf b = { 0 };
	int r;

	d->p++;
	while (d->p < d->end && *d->p != q) {
		char c = *d->p++;
		if (c == '\n')
			d->line++;
		if (q == '"' && c == '\\' && d->p < d->end) {
			char e = *d->p++;
			c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
			if (e != 'n' && e != 't' && e != 'r' && e != '"' && e != '\\' && e != '$')
				sk_app_buf_addc(&b, '\\');
			if (e == '$') { /* \$ is a literal dollar: keep it from interpolation */
				sk_app_buf_adds(&b, "$$");
				continue;
			}
		}
		sk_app_buf_addc(&b, c);
	}
	if (d->p >= d->end) {
		buf_release(&b);
		return dotenv_fail(d, "unterminated quoted value");
	}
	d->p++;
	if (q == '\'') {
		*ret = sk_app_buf_take(&b);
		return 0;
	}
	_cleanup_free_ char *raw = sk_app_buf_take(&b);
	r = dotenv_interp(d, raw, ret);
	return r;
}

static int dotenv_plain(struct dotenv *d, char **ret)
{
	const char *s = d->p;
	size_t n;
	_cleanup_free_ char *raw = NULL;

	while (d->p < d->end && *d->p != '\n') {
		if (*d->p == '#' && (d->p == s || d->p[-1] == ' ' || d->p[-1] == '\t'))
			break;
		d->p++;
	}
	n = d->p - s;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	raw = sk_strndup(s, n);
	return dotenv_interp(d, raw, ret);
}

static int dotenv_line(struct dotenv *d)
{
	const char *k;
	_cleanup_free_ char *key = NULL, *value = NULL;
	int r;

	skip_blanks(d);
	if (d->p >= d->end || *d->p == '\n' || *d->p == '#' || *d->p == '\r')
		return dotenv_eol(d); /* blank or comment line */
	if (d->end - d->p > 7 && !strncmp(d->p, "export", 6) &&
	    (d->p[6] == ' ' || d->p[6] == '\t')) {
		d->p += 7;
		skip_blanks(d);
	}
	k = d->p;
	if (d->p >= d->end || !name_start(*d->p))
		return dotenv_fail(d, "expected a variable name");
	while (d->p < d->end && (name_char(*d->p) || *d->p == '.' || *d->p == '-'))
		d->p++;
	key = sk_strndup(k, d->p - k);
	skip_blanks(d);
	if (d->p >= d->end || *d->p != '=')
		return dotenv_fail(d, "expected '=' after the variable name");
	d->p++;
	skip_blanks(d);
	if (d->p < d->end && (*d->p == '\'' || *d->p == '"'))
		r = dotenv_quoted(d, *d->p, &value);
	else
		r = dotenv_plain(d, &value);
	if (r < 0)
		return r;
	r = dotenv_eol(d);
	if (r < 0)
		return r;
	sk_app_kvs_set(d->kvs, key, value);
	return 0;
}

int sk_app_dotenv_parse(const char *buf, size_t len, const char *name, sk_app_lookup_cb lookup,
			void *userdata, struct sk_app_kvs *kvs, struct sk_error **err)
{
	struct dotenv d = { .p = buf,
			    .end = buf + len,
			    .name = name,
			    .line = 1,
			    .lookup = lookup,
			    .userdata = userdata,
			    .kvs = kvs,
			    .err = err };

	while (d.p < d.end) {
		int r = dotenv_line(&d);
		if (r < 0)
			return r;
		if (d.p < d.end) { /* at '\n' */
			d.p++;
			d.line++;
		}
	}
	return 0;
}

/* ---- shlex ------------------------------------------------------------- */

int sk_app_shlex_split(const char *s, char ***ret)
{
	_cleanup_strv_ char **v = sk_new0(char *, 1);
	struct sk_app_buf w = { 0 };
	bool in_word = false;

	for (const char *p = s;; p++) {
		char c = *p;
		if (c == '\0' || isspace((unsigned char)c)) {
			if (in_word) {
				_cleanup_free_ char *word = sk_app_buf_take(&w);
				sk_strv_push(&v, word);
			}
			in_word = false;
			if (c == '\0')
				break;
			continue;
		}
		in_word = true;
		if (c == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q)
				goto open_quote;
			sk_app_buf_add(&w, p + 1, q - p - 1);
			p = q;
		} else if (c == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' &&
				    (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
					p++;
				sk_app_buf_addc(&w, *p);
			}
			if (!*p)
				goto open_quote;
		} else if (c == '\\' && p[1]) {
			sk_app_buf_addc(&w, *++p);
		} else {
			sk_app_buf_addc(&w, c);
		}
	}
	*ret = TAKE_PTR(v);
	return 0;
open_quote:
	buf_release(&w);
	return -EINVAL;
}
