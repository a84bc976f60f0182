/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec-internal.h - what the files of the OCI spec parser share.
 *
 * Typed getters over jansson values that name the offending field by its
 * JSON path when a value has the wrong type or range, the name tables
 * (capabilities, rlimits, namespaces, seccomp) and the per-section parsers
 * and destructors.  This is not a public header: other modules include only
 * oci/spec.h.
 *
 * Getter conventions: a member that is absent or JSON null counts as "not
 * set": the getter returns 0 and leaves *ret untouched (and sets *has to
 * false when `has` is non-NULL), unless `required` is true, in which case it
 * is an error.  Errors read "NAME: PATH.KEY: what is wrong".
 */
#ifndef SK_OCI_SPEC_INTERNAL_H
#define SK_OCI_SPEC_INTERNAL_H

#include <jansson.h>

#include "base/error.h"
#include "oci/spec.h"

/*
 * Where a parse reports: the document's name and the error out-parameter.
 * jansson holds integers as int64; a document with a larger one (Go tools
 * write RLIM_INFINITY as 18446744073709551615) is re-read with every
 * number as a double, and `ints_as_reals` tells the getters to take
 * integral doubles as integers (unsigned ones saturate at UINT64_MAX).
 */
struct sk_oj {
	const char *name;
	struct sk_error **err;
	bool ints_as_reals;
};

/* Sets the error "NAME: PATH.KEY: MSG"; path and key may be "" or NULL. */
int sk_oj_fail(const struct sk_oj *j, const char *path, const char *key, const char *fmt, ...)
    _printf_(4, 5);

/* "path.key" (or "key" when path is empty); "path.key[i]" for elements. */
char *sk_oj_join(const char *path, const char *key);
char *sk_oj_elem(const char *path, const char *key, size_t i);

/* The member `key` of obj if it has JSON type `type`; NULL when not set. */
int sk_oj_member(const struct sk_oj *j, json_t *obj, const char *path, const char *key,
		 json_type type, bool required, json_t **ret);
int sk_oj_str(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	      char **ret);
int sk_oj_bool(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool *ret,
	       bool *has);
/* An integer within [min, max]; reals and out-of-range values are errors. */
int sk_oj_int(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	      int64_t min, int64_t max, int64_t *ret, bool *has);
/* As sk_oj_int() for a value already fetched (an array element, say). */
int sk_oj_int_value(const struct sk_oj *j, json_t *v, const char *path, const char *key,
		    int64_t min, int64_t max, int64_t *ret);
int sk_oj_u64(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	      uint64_t *ret, bool *has);
int sk_oj_u32(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	      uint32_t *ret, bool *has);
/* An array of strings, returned NULL-terminated (an empty array gives {NULL}). */
int sk_oj_strv(const struct sk_oj *j, json_t *obj, const char *path, const char *key, bool required,
	       char ***ret);
/* Element i of array `arr` (member `key` of path) as an object; *ret_path owned. */
int sk_oj_elem_object(const struct sk_oj *j, json_t *arr, size_t i, const char *path,
		      const char *key, json_t **ret, char **ret_path);
/* An object whose values are all strings; keys must not be empty. */
int sk_oj_kv(const struct sk_oj *j, json_t *obj, const char *path, const char *key,
	     struct sk_kv **ret, size_t *ret_n);
/* Parses a whole document that must be a JSON object; errors carry line:column. */
int sk_oj_load(struct sk_oj *j, const char *json, size_t len, json_t **ret);

void sk_oj_kv_free(struct sk_kv *kv, size_t n);

/* Name tables (names.c).  The string arrays are NULL-terminated. */
extern const char *const sk_oci_seccomp_actions[];
extern const char *const sk_oci_seccomp_operators[];
extern const char *const sk_oci_seccomp_archs[];
extern const char *const sk_oci_seccomp_flags[];
extern const char *const sk_oci_hook_names[SK_HOOK__COUNT + 1];
bool sk_oci_name_in(const char *const *table, const char *name);
/* enum sk_ns_type from "pid", "network", ...; -1 when unknown. */
int sk_ns_type_from_name(const char *name);

/* Section parsers: `path` is the JSON path of `obj` ("" at the top). */
int sk_oci_parse_id_mappings(const struct sk_oj *j, json_t *obj, const char *path, const char *key,
			     struct sk_id_mapping **ret, size_t *ret_n);
int sk_oci_parse_process(const struct sk_oj *j, json_t *obj, const char *path,
			 struct sk_process *p);
int sk_oci_parse_resources(const struct sk_oj *j, json_t *obj, const char *path,
			   struct sk_resources *r);
int sk_oci_parse_linux(const struct sk_oj *j, json_t *obj, const char *path, struct sk_linux *l);
int sk_oci_parse_seccomp(const struct sk_oj *j, json_t *obj, const char *path,
			 struct sk_seccomp *s);

/* Release the contents of embedded structs (the struct itself stays). */
void sk_oci_process_release(struct sk_process *p);
void sk_oci_resources_release(struct sk_resources *r);
void sk_oci_linux_free(struct sk_linux *l);
void sk_oci_seccomp_free(struct sk_seccomp *s);

#endif
