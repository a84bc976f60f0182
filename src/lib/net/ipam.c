/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipam.c - IPv4 address arithmetic for app subnets: parsing a CIDR,
 * the gateway, the next free host address, membership.  Pure functions;
 * which leases exist is the daemon's record, not ours.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "net/net-internal.h"
#include "net/net.h"

int sk_ipam_parse_cidr(const char *cidr, struct in_addr *ret_net, int *ret_prefix,
		       struct sk_error **err)
{
	const char *slash = strchr(cidr, '/');
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	int prefix;

	if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
		return sk_error_set(err, EINVAL, "subnet '%s': not a.b.c.d/n", cidr);
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1)
		return sk_error_set(err, EINVAL, "subnet '%s': bad address", cidr);
	/* Digits only: sk_parse_int would take a sign or leading space. */
	if (slash[1] < '0' || slash[1] > '9' || sk_parse_int(slash + 1, &prefix) < 0)
		return sk_error_set(err, EINVAL, "subnet '%s': bad prefix length", cidr);
	if (prefix < 8 || prefix > 30)
		return sk_error_set(err, EINVAL, "subnet '%s': prefix length must be 8..30", cidr);
	if (ntohl(a.s_addr) & ~sk_net_mask(prefix))
		return sk_error_set(err, EINVAL, "subnet '%s': host bits set", cidr);
	*ret_net = a;
	*ret_prefix = prefix;
	return 0;
}

struct in_addr sk_ipam_gateway(struct in_addr net, int prefix)
{
	uint32_t n = ntohl(net.s_addr) & sk_net_mask(prefix);

	return (struct in_addr){ htonl(n + 1) };
}

bool sk_ipam_contains(struct in_addr net, int prefix, struct in_addr addr)
{
	uint32_t mask = sk_net_mask(prefix), n = ntohl(net.s_addr) & mask, a = ntohl(addr.s_addr);

	if ((a & mask) != n)
		return false;
	if (prefix >= 31) /* point-to-point: both addresses are hosts */
		return true;
	return a != n && a != (n | ~mask);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int sk_ipam_next(struct in_addr net, int prefix, const struct in_addr *used, size_t n_used,
		 struct in_addr *ret)
{
	uint32_t mask = sk_net_mask(prefix), n = ntohl(net.s_addr) & mask;
	uint32_t gw = ntohl(sk_ipam_gateway(net, prefix).s_addr);
	_cleanup_free_ uint32_t *u = NULL;
	size_t i = 0;

	if (prefix < 1 || prefix > 30)
		return -EINVAL;
	/* Sorted, one pass: O(n log n) even for a /8 with many leases. */
	u = sk_new0(uint32_t, n_used + 1);
	for (size_t k = 0; k < n_used; k++)
		u[k] = ntohl(used[k].s_addr);
	if (n_used > 1)
		qsort(u, n_used, sizeof(*u), cmp_u32);
	for (uint32_t a = n + 1; a < (n | ~mask); a++) {
		while (i < n_used && u[i] < a)
			i++;
		if (a == gw || (i < n_used && u[i] == a))
			continue;
		*ret = (struct in_addr){ htonl(a) };
		return 0;
	}
	return -ENOSPC;
}
