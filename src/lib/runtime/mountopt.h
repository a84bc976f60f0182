/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mountopt.h - OCI mount options ("ro", "rbind", "rslave", "size=64k") to
 * mount(2) flags, propagation, recursive attributes and a data string.
 *
 * Pure functions: nothing here touches the kernel.
 */
#ifndef SK_RUNTIME_MOUNTOPT_H
#define SK_RUNTIME_MOUNTOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct sk_mountopt {
	unsigned long flags;	     /* MS_* to set, MS_BIND/MS_REC included */
	unsigned long clear;	     /* MS_* explicitly cleared ("rw", "suid", ...) */
	unsigned long propagation;   /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (+MS_REC) or 0 */
	uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* for recursive options (rro, rnosuid...) */
	bool tmpcopyup;
	bool idmap, ridmap;
	char *data; /* comma-joined options mount(2) passes to the filesystem, or NULL */
};

/* Parses options (NULL-terminated, may be NULL).  Unknown options go to data. */
int sk_mountopt_parse(char *const *options, struct sk_mountopt *ret, struct sk_error **err);
void sk_mountopt_release(struct sk_mountopt *o);

/* Parses a propagation name ("rslave", "shared", ...) to MS_* flags; -EINVAL when unknown. */
int sk_mountopt_propagation(const char *name, unsigned long *ret);

/* The option names this parser knows (for features.json): i < sk_mountopt_count(). */
size_t sk_mountopt_count(void);
const char *sk_mountopt_name(size_t i);

#endif
