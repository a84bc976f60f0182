/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-kernel-opts.c - service keys that are one kernel setting each:
 * shm_size (the size of /dev/shm), pid (host: no pid namespace),
 * memswap_limit, mem_swappiness and oom_kill_disable (memory cgroup).
 *
 * memswap_limit is memory plus swap, as in Docker: a positive value needs
 * a memory limit no larger than itself, so it is checked once the limits
 * are resolved (sk_app_memswap_check).  What the values do to the spec is
 * specgen's business.
 */
#include "app/app-internal.h"

#include <string.h>

int sk_app_shm_size_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			  struct sk_app_service *s)
{
	if (sk_app_get_bytes(c, v, path, &s->shm_size) < 0)
		return -EINVAL;
	if (s->shm_size == 0 || s->shm_size > INT64_MAX)
		return sk_app_fail(c, v, path, "must be more than 0 bytes");
	return 0;
}

int sk_app_pid_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct sk_app_service *s)
{
	_cleanup_free_ char *m = NULL;

	if (sk_app_get_str(c, v, path, &m) < 0)
		return -EINVAL;
	if (strcmp(m, "host"))
		return sk_app_fail(c, v, path, "invalid pid \"%s\" (only host is supported)", m);
	s->pid_host = true;
	return 0;
}

int sk_app_mem_swappiness_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
				struct sk_app_service *s)
{
	return sk_app_get_int(c, v, path, 0, 100, &s->mem_swappiness);
}

int sk_app_oom_kill_disable_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
				  struct sk_app_service *s)
{
	return sk_app_get_bool(c, v, path, &s->oom_kill_disable);
}

/* memswap_limit: "-1" (unlimited swap) or a byte size. */
int sk_app_memswap_check(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			 struct sk_app_service *s)
{
	_cleanup_free_ char *str = NULL;
	uint64_t bytes;

	if (!v)
		return 0;
	if (sk_app_get_str(c, v, path, &str) < 0)
		return -EINVAL;
	if (!strcmp(str, "-1")) {
		s->memswap_limit = -1;
		return 0;
	}
	if (sk_app_parse_bytes(str, &bytes) < 0 || bytes == 0 || bytes > INT64_MAX)
		return sk_app_fail(c, v, path, "invalid byte size \"%s\" (or -1 for unlimited)",
				   str);
	if (!s->limits.memory)
		return sk_app_fail(c, v, path, "needs a memory limit (mem_limit)");
	if (bytes < s->limits.memory)
		return sk_app_fail(
		    c, v, path, "%s is less than the memory limit (it is memory plus swap)", str);
	s->memswap_limit = (int64_t)bytes;
	return 0;
}
