/* SPDX-License-Identifier: Apache-2.0 */
/*
 * specgen-internal.h - what the specgen*.c files share: jansson helpers
 * that abort on allocation failure, the mounts builder and the default
 * seccomp profile.
 */
#ifndef SK_DAEMON_SPECGEN_INTERNAL_H
#define SK_DAEMON_SPECGEN_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>

#include "daemon/specgen.h"

static inline json_t *sk_sg_must(json_t *v)
{
	if (!v)
		abort();
	return v;
}

static inline void sk_sg_set(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, sk_sg_must(v)) < 0)
		abort();
}

static inline void sk_sg_append(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, sk_sg_must(v)) < 0)
		abort();
}

/*
 * Replaces doc.mounts' entries and appends the service's: volumes, tmpfs,
 * /etc/resolv.conf and /etc/hosts; creates volume and bind directories.
 * Errors are prefixed by the caller with the service name.
 */
int sk_specgen_mounts(json_t *doc, const struct sk_app_service *svc,
		      const struct sk_specgen_opts *o, struct sk_error **err);

/*
 * skiff's default seccomp profile (specgen-seccomp.c) for a process holding
 * the capabilities in `caps` (1ull << CAP_X): a new linux.seccomp object.
 */
json_t *sk_specgen_seccomp_default(uint64_t caps);
/*
 * A profile file's JSON (OCI linux.seccomp or Docker's format) as the
 * linux.seccomp object for a process holding `caps`: Docker's includes,
 * excludes and archMap resolved.  0 and *ret (new), or -EINVAL.
 */
int sk_specgen_seccomp_profile(const char *text, uint64_t caps, json_t **ret,
			       struct sk_error **err);

#endif
