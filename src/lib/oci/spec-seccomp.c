/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec-seccomp.c - linux.seccomp of config.json: default action,
 * architectures, filter flags, listener, and the syscall rules with their
 * argument comparisons.
 *
 * Every action, operator, architecture and flag name is checked against
 * the lists the runtime-spec gives (names.c) and stored as a string; the
 * runtime maps the strings to libseccomp and builds the filter.  The same
 * object read alone (sk_spec_parse_seccomp) checks a profile file.
 */
#include "oci/spec-internal.h"

#include <string.h>

/* Checks that every entry of the string array `v` is a name from `table`. */
static int check_names(const struct sk_oj *j, char **v, const char *path, const char *key,
		       const char *const *table, const char *what)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!sk_oci_name_in(table, v[i])) {
			_cleanup_free_ char *p = sk_oj_elem(path, key, i);

			return sk_oj_fail(j, p, NULL, "unknown %s \"%s\"", what, v[i]);
		}
	return 0;
}

static int parse_action(const struct sk_oj *j, json_t *o, const char *p, const char *key,
			char **ret)
{
	int r = sk_oj_str(j, o, p, key, true, ret);

	if (r < 0)
		return r;
	if (!sk_oci_name_in(sk_oci_seccomp_actions, *ret))
		return sk_oj_fail(j, p, key, "unknown seccomp action \"%s\"", *ret);
	return 0;
}

static int parse_arg(const struct sk_oj *j, json_t *o, const char *p, struct sk_seccomp_arg *a)
{
	uint32_t index = 0;
	int r;

	if ((r = sk_oj_u32(j, o, p, "index", true, &index, NULL)) < 0 ||
	    (r = sk_oj_u64(j, o, p, "value", true, &a->value, NULL)) < 0 ||
	    (r = sk_oj_u64(j, o, p, "valueTwo", false, &a->value_two, NULL)) < 0 ||
	    (r = sk_oj_str(j, o, p, "op", true, &a->op)) < 0)
		return r;
	/* a syscall has at most six arguments */
	if (index > 5)
		return sk_oj_fail(j, p, "index", "%u is out of range [0, 5]", index);
	a->index = index;
	if (!sk_oci_name_in(sk_oci_seccomp_operators, a->op))
		return sk_oj_fail(j, p, "op", "unknown seccomp operator \"%s\"", a->op);
	return 0;
}

static int parse_args(const struct sk_oj *j, json_t *o, const char *p,
		      struct sk_seccomp_syscall *sc)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, o, p, "args", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	sc->args = sk_new0(struct sk_seccomp_arg, json_array_size(arr));
	sc->n_args = json_array_size(arr);
	for (size_t i = 0; i < sc->n_args; i++) {
		_cleanup_free_ char *ep = NULL;
		json_t *e;

		if ((r = sk_oj_elem_object(j, arr, i, p, "args", &e, &ep)) < 0 ||
		    (r = parse_arg(j, e, ep, &sc->args[i])) < 0)
			return r;
	}
	return 0;
}

static int parse_syscall(const struct sk_oj *j, json_t *o, const char *p,
			 struct sk_seccomp_syscall *sc)
{
	int r;

	if ((r = sk_oj_strv(j, o, p, "names", true, &sc->names)) < 0)
		return r;
	if (!sc->names[0])
		return sk_oj_fail(j, p, "names", "must not be empty");
	if ((r = parse_action(j, o, p, "action", &sc->action)) < 0 ||
	    (r = sk_oj_u32(j, o, p, "errnoRet", false, &sc->errno_ret, &sc->has_errno_ret)) < 0 ||
	    (r = parse_args(j, o, p, sc)) < 0)
		return r;
	return 0;
}

static int parse_syscalls(const struct sk_oj *j, json_t *obj, const char *path,
			  struct sk_seccomp *s)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, obj, path, "syscalls", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	s->syscalls = sk_new0(struct sk_seccomp_syscall, json_array_size(arr));
	s->n_syscalls = json_array_size(arr);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		if ((r = sk_oj_elem_object(j, arr, i, path, "syscalls", &o, &ep)) < 0 ||
		    (r = parse_syscall(j, o, ep, &s->syscalls[i])) < 0)
			return r;
	}
	return 0;
}

/* SCMP_ACT_NOTIFY hands syscalls to a listener, so there must be one to hand them to. */
static int check_notify(const struct sk_oj *j, const char *path, const struct sk_seccomp *s)
{
	if (strcmp(s->default_action, "SCMP_ACT_NOTIFY") == 0)
		return sk_oj_fail(j, path, "defaultAction",
				  "SCMP_ACT_NOTIFY cannot be the default action");
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (strcmp(s->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0 && !s->listener_path) {
			_cleanup_free_ char *p = sk_oj_elem(path, "syscalls", i);

			return sk_oj_fail(j, p, "action",
					  "SCMP_ACT_NOTIFY requires %s.listenerPath", path);
		}
	return 0;
}

int sk_oci_parse_seccomp(const struct sk_oj *j, json_t *obj, const char *path, struct sk_seccomp *s)
{
	int r;

	if ((r = parse_action(j, obj, path, "defaultAction", &s->default_action)) < 0 ||
	    (r = sk_oj_u32(j, obj, path, "defaultErrnoRet", false, &s->default_errno_ret,
			   &s->has_default_errno_ret)) < 0 ||
	    (r = sk_oj_strv(j, obj, path, "architectures", false, &s->architectures)) < 0 ||
	    (r = check_names(j, s->architectures, path, "architectures", sk_oci_seccomp_archs,
			     "seccomp architecture")) < 0 ||
	    (r = sk_oj_strv(j, obj, path, "flags", false, &s->flags)) < 0 ||
	    (r = check_names(j, s->flags, path, "flags", sk_oci_seccomp_flags, "seccomp flag")) <
		0 ||
	    (r = sk_oj_str(j, obj, path, "listenerPath", false, &s->listener_path)) < 0 ||
	    (r = sk_oj_str(j, obj, path, "listenerMetadata", false, &s->listener_metadata)) < 0 ||
	    (r = parse_syscalls(j, obj, path, s)) < 0)
		return r;
	return check_notify(j, path, s);
}

void sk_oci_seccomp_free(struct sk_seccomp *s)
{
	if (!s)
		return;
	free(s->default_action);
	sk_strv_free(s->architectures);
	sk_strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		struct sk_seccomp_syscall *sc = &s->syscalls[i];

		sk_strv_free(sc->names);
		free(sc->action);
		for (size_t k = 0; k < sc->n_args; k++)
			free(sc->args[k].op);
		free(sc->args);
	}
	free(s->syscalls);
	free(s);
}

void sk_seccomp_free(struct sk_seccomp *s)
{
	sk_oci_seccomp_free(s);
}

int sk_spec_parse_seccomp(const char *json, size_t len, const char *name, struct sk_seccomp **ret,
			  struct sk_error **err)
{
	struct sk_oj j = { .name = name ? name : "seccomp.json", .err = err };
	_cleanup_(sk_seccomp_freep) struct sk_seccomp *s = NULL;
	json_t *root = NULL;
	int r;

	r = sk_oj_load(&j, json, len, &root);
	if (r < 0)
		return r;
	s = sk_new0(struct sk_seccomp, 1);
	r = sk_oci_parse_seccomp(&j, root, "", s);
	json_decref(root);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}
