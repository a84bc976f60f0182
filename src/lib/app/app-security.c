/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-security.c - a service's `security_opt:` list into struct
 * sk_app_security.
 *
 * Entries are "KEY=VALUE" or, as Docker also reads them, "KEY:VALUE":
 * seccomp=unconfined, seccomp=PATH (a profile file relative to the project
 * directory, read and checked here with the OCI seccomp parser so that the
 * daemon receives its content), no-new-privileges[:true|false].  apparmor,
 * label and systempaths=unconfined are warnings (skiff has no LSM or
 * unmasked-paths support); anything else is an error.  What the options do
 * to the spec is specgen's business.
 */
#include "app/app-internal.h"

#include <string.h>

#include "base/util.h"
#include "oci/spec.h"

/* Reads the profile at `file`, checks it and keeps its canonical JSON. */
static int seccomp_profile(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			   const char *file, struct sk_app_security *sec)
{
	_cleanup_free_ char *abs = sk_app_abspath(c, file), *buf = NULL;
	_cleanup_(sk_seccomp_freep) struct sk_seccomp *parsed = NULL;
	_cleanup_error_ struct sk_error *e = NULL;
	json_t *j;
	size_t len;
	int r;

	r = sk_read_file(abs, &buf, &len);
	if (r < 0)
		return sk_app_fail(c, v, path, "seccomp profile '%s': %s", file, strerror(-r));
	if (sk_spec_parse_seccomp(buf, len, file, &parsed, &e) < 0)
		return sk_app_fail(c, v, path, "%s", e->msg);
	/* config.json numbers are int64 for jansson: a larger one (a mask) cannot pass through */
	j = json_loadb(buf, len, 0, NULL);
	if (!j)
		return sk_app_fail(c, v, path,
				   "seccomp profile '%s': a number above 9223372036854775807 is "
				   "not supported",
				   file);
	free(sec->seccomp_file);
	free(sec->seccomp_profile);
	sec->seccomp_file = TAKE_PTR(abs);
	sec->seccomp_profile = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!sec->seccomp_profile)
		abort();
	sec->seccomp = SK_APP_SECCOMP_PROFILE;
	return 0;
}

static int seccomp_opt(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		       const char *entry, const char *val, struct sk_app_security *sec)
{
	if (!val || !*val)
		return sk_app_fail(c, v, path, "\"%s\": seccomp needs unconfined or a profile file",
				   entry);
	if (!strcmp(val, "unconfined")) {
		sec->seccomp = SK_APP_SECCOMP_UNCONFINED;
		free(sec->seccomp_file);
		free(sec->seccomp_profile);
		sec->seccomp_file = sec->seccomp_profile = NULL;
		return 0;
	}
	return seccomp_profile(c, v, path, val, sec);
}

static int one_opt(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		   struct sk_app_security *sec)
{
	_cleanup_free_ char *entry = NULL, *k = NULL;
	char *val;

	if (sk_app_get_str(c, v, path, &entry) < 0)
		return -EINVAL;
	/* KEY=VALUE; KEY:VALUE when there is no "=" (Docker reads both) */
	k = sk_strdup(entry);
	val = strchr(k, '=');
	if (!val)
		val = strchr(k, ':');
	if (val)
		*val++ = '\0';
	if (!strcmp(k, "seccomp"))
		return seccomp_opt(c, v, path, entry, val, sec);
	if (!strcmp(k, "no-new-privileges")) {
		if (!val || !strcmp(val, "true"))
			sec->no_new_privileges = 1;
		else if (!strcmp(val, "false"))
			sec->no_new_privileges = 0;
		else
			return sk_app_fail(c, v, path,
					   "\"%s\": no-new-privileges takes true or false", entry);
		return 0;
	}
	if ((!strcmp(k, "apparmor") || !strcmp(k, "label")) && val) {
		sk_app_warn(c, v, path, "\"%s\" is not supported by skiff, ignored", entry);
		return 0;
	}
	if (!strcmp(k, "systempaths") && val && !strcmp(val, "unconfined")) {
		sk_app_warn(c, v, path, "\"%s\" is not supported by skiff, ignored", entry);
		return 0;
	}
	return sk_app_fail(c, v, path,
			   "unknown security option \"%s\" (seccomp=unconfined|PATH, "
			   "no-new-privileges[:true|false], apparmor=, label=, "
			   "systempaths=unconfined)",
			   entry);
}

int sk_app_security_opt_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			      struct sk_app_security *sec)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_SEQ) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path_i(path, i);
		if (one_opt(c, n->items[i], p, sec) < 0)
			r = -EINVAL;
	}
	return r;
}

void sk_app_security_release(struct sk_app_security *sec)
{
	free(sec->seccomp_file);
	free(sec->seccomp_profile);
	*sec = (struct sk_app_security){ .no_new_privileges = -1 };
}
