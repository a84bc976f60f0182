/* SPDX-License-Identifier: Apache-2.0 */
/*
 * caps.h - applying a process's capability sets to the calling process.
 *
 * The sets come from struct sk_caps (oci/spec.h): bit masks of CAP_*
 * numbers.  A set whose has_ flag is false is empty, as in runc: a process
 * with a "capabilities" object but no "ambient" list gets no ambient caps.
 * Capabilities above the running kernel's cap_last_cap are ignored with a
 * debug line, like runc.  This uses raw capset(2) and prctl(2), not libcap.
 *
 * The usual order (finalize.c): sk_caps_drop_bounding() while still
 * privileged, then change user with PR_SET_KEEPCAPS set, then
 * sk_caps_set().  sk_caps_apply() does both steps for callers that do not
 * change user.
 */
#ifndef SK_RUNTIME_CAPS_H
#define SK_RUNTIME_CAPS_H

#include <stdint.h>

#include "base/error.h"
#include "oci/spec.h"

/*
 * The highest capability the running kernel knows, read once from
 * /proc/sys/kernel/cap_last_cap and cached in the module's only global
 * (a fact about the kernel that cannot change while we run).  Falls back to
 * CAP_LAST_CAP of the headers when the file cannot be read.
 */
int sk_caps_last_cap(void);

/* The mask of all capabilities the running kernel knows. */
uint64_t sk_caps_kernel_mask(void);

/*
 * Drops every capability not in c->bounding from the bounding set
 * (PR_CAPBSET_DROP; needs CAP_SETPCAP).  Returns 0 or a negative errno with
 * *err naming the capability.
 */
int sk_caps_drop_bounding(const struct sk_caps *c, struct sk_error **err);

/*
 * Sets the inheritable, permitted and effective sets with capset(2), then
 * clears the ambient set and raises each capability of c->ambient.  Returns
 * 0 or a negative errno with *err naming the step.
 */
int sk_caps_set(const struct sk_caps *c, struct sk_error **err);

/* sk_caps_drop_bounding() followed by sk_caps_set(). */
int sk_caps_apply(const struct sk_caps *c, struct sk_error **err);

#endif
