/* SPDX-License-Identifier: Apache-2.0 */
/*
 * caps.c - bounding, inheritable, permitted, effective and ambient
 * capability sets of the calling process, with raw capset(2) and prctl(2).
 *
 * It is not a capability name table (oci/spec.c has that) and it does not
 * change user ids: finalize.c orders these calls around setresuid().
 */
#include "runtime/caps.h"

#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* Cached /proc/sys/kernel/cap_last_cap; 0 means not read yet. */
static int cached_last_cap;

int sk_caps_last_cap(void)
{
	_cleanup_free_ char *buf = NULL;
	int v;

	if (cached_last_cap > 0)
		return cached_last_cap;
	v = CAP_LAST_CAP;
	if (sk_read_file("/proc/sys/kernel/cap_last_cap", &buf, NULL) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		if (sk_parse_int(buf, &v) < 0 || v <= 0 || v > 63)
			v = CAP_LAST_CAP;
	}
	cached_last_cap = v;
	return v;
}

uint64_t sk_caps_kernel_mask(void)
{
	int last = sk_caps_last_cap();

	return last >= 63 ? UINT64_MAX : (1ull << (last + 1)) - 1;
}

static const char *cap_name(int cap, char *buf, size_t len)
{
	const char *n = sk_cap_to_name(cap);

	if (n)
		return n;
	snprintf(buf, len, "capability %d", cap);
	return buf;
}

/* The set if the config has it, else empty; unknown capabilities dropped. */
static uint64_t known(const char *set, bool has, uint64_t mask)
{
	uint64_t unknown;

	if (!has)
		return 0;
	unknown = mask & ~sk_caps_kernel_mask();
	if (unknown)
		sk_debug("capabilities: ignoring %s capabilities unknown to the kernel: 0x%llx",
			 set, (unsigned long long)unknown);
	return mask & sk_caps_kernel_mask();
}

int sk_caps_drop_bounding(const struct sk_caps *c, struct sk_error **err)
{
	uint64_t keep = known("bounding", c->has_bounding, c->bounding);
	int last = sk_caps_last_cap();
	char buf[32];

	for (int cap = 0; cap <= last; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0)
			return sk_error_errno(err, "drop %s from the bounding set",
					      cap_name(cap, buf, sizeof(buf)));
	}
	return 0;
}

static int set_ambient(uint64_t ambient, struct sk_error **err)
{
	int last = sk_caps_last_cap();
	char buf[32];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return sk_error_errno(err, "clear the ambient capability set");
	for (int cap = 0; cap <= last; cap++) {
		if (!(ambient & (1ull << cap)))
			continue;
		/* A cap not in permitted and inheritable cannot be ambient; runc
		 * (and its default spec relies on this) warns and goes on. */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0) {
			if (errno != EPERM)
				return sk_error_errno(err, "raise ambient capability %s",
						      cap_name(cap, buf, sizeof(buf)));
			sk_debug("ambient capability %s not raised: not permitted and inheritable",
				 cap_name(cap, buf, sizeof(buf)));
		}
	}
	return 0;
}

int sk_caps_set(const struct sk_caps *c, struct sk_error **err)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	uint64_t inh = known("inheritable", c->has_inheritable, c->inheritable);
	uint64_t prm = known("permitted", c->has_permitted, c->permitted);
	uint64_t eff = known("effective", c->has_effective, c->effective);
	uint64_t amb = known("ambient", c->has_ambient, c->ambient);

	memset(data, 0, sizeof(data));
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		data[i].inheritable = (uint32_t)(inh >> (32 * i));
		data[i].permitted = (uint32_t)(prm >> (32 * i));
		data[i].effective = (uint32_t)(eff >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return sk_error_errno(
		    err, "capset inheritable 0x%llx permitted 0x%llx effective 0x%llx",
		    (unsigned long long)inh, (unsigned long long)prm, (unsigned long long)eff);
	return set_ambient(amb, err);
}

int sk_caps_apply(const struct sk_caps *c, struct sk_error **err)
{
	int r = sk_caps_drop_bounding(c, err);

	return r < 0 ? r : sk_caps_set(c, err);
}
