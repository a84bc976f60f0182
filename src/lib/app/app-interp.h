/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-interp.h - Compose variable interpolation and dotenv files.
 *
 * Both are hand-written parsers of untrusted text (tests/fuzz/fuzz-interp.c).
 * They know nothing of YAML: they turn one string into another, asking a
 * lookup callback for variables.  Internal to src/lib/app and its tests.
 */
#ifndef SK_APP_INTERP_H
#define SK_APP_INTERP_H

#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"

/* Returns the value of `name`, or NULL when it is unset. */
typedef const char *(*sk_app_lookup_cb)(void *userdata, const char *name);

/* A growable NUL-terminated string. */
struct sk_app_buf {
	char *s;
	size_t len, cap;
};
void sk_app_buf_add(struct sk_app_buf *b, const char *s, size_t n);
void sk_app_buf_addc(struct sk_app_buf *b, char c);
void sk_app_buf_adds(struct sk_app_buf *b, const char *s);
/* Returns the string (never NULL) and resets the buffer. */
char *sk_app_buf_take(struct sk_app_buf *b);

/*
 * Interpolates ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a},
 * ${VAR+a}, $VAR and $$ in `in`.  Returns 0 and *ret (owned), or -EINVAL
 * with *err ("required variable X is missing a value: msg", "invalid
 * interpolation format ...").  Names of unset variables substituted by ""
 * are appended to *unset (may be NULL) for the caller to warn about.
 */
int sk_app_interpolate(const char *in, sk_app_lookup_cb lookup, void *userdata, char **ret,
		       char ***unset, struct sk_error **err);

/*
 * Parses a dotenv file (KEY=VALUE lines, `export`, # comments, single quotes
 * literal, double quotes with escapes and interpolation, unquoted values
 * interpolated and cut at " #").  Appends to *kvs (a later key replaces an
 * earlier one).  `lookup` resolves ${VAR} before the file's own keys.
 * Errors read "NAME:LINE: what".
 */
int sk_app_dotenv_parse(const char *buf, size_t len, const char *name, sk_app_lookup_cb lookup,
			void *userdata, struct sk_app_kvs *kvs, struct sk_error **err);

/* kvs helpers: set replaces an existing key's value; get returns NULL when absent. */
void sk_app_kvs_set(struct sk_app_kvs *kvs, const char *key, const char *value);
struct sk_app_kv *sk_app_kvs_get(const struct sk_app_kvs *kvs, const char *key);
void sk_app_kvs_release(struct sk_app_kvs *kvs);

/* Splits a command line as Python's shlex.split (POSIX mode) does; -EINVAL on an open quote. */
int sk_app_shlex_split(const char *s, char ***ret);

#endif
