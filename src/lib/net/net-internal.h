/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net-internal.h - what the files of src/lib/net share and nobody else
 * sees: a small request/response wrapper around a libmnl socket, link
 * lookups and changes by ifindex, and the helper that opens a netlink
 * socket inside another network namespace without moving the caller.
 */
#ifndef SK_NET_INTERNAL_H
#define SK_NET_INTERNAL_H

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

/* One netlink socket and its buffers.  Not thread-safe; cheap to open. */
struct sk_nl {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
	char *buf; /* SK_NL_BUF bytes, for building requests and receiving replies */
};

#define SK_NL_BUF 32768

/* Opens a NETLINK_ROUTE (or `bus`) socket in the caller's netns.  0 or -errno. */
int sk_nl_open(struct sk_nl *nl, int bus);
/*
 * Opens a NETLINK_ROUTE socket in the network namespace `netns_fd` refers
 * to.  A short-lived thread setns()es and opens it; the calling thread's
 * namespace never changes, and a netlink socket keeps acting in the netns
 * it was created in.  0 or -errno.
 */
int sk_nl_open_in_netns(struct sk_nl *nl, int netns_fd);
void sk_nl_close(struct sk_nl *nl);

/* A header for a new request in nl->buf, with a fresh sequence number. */
struct nlmsghdr *sk_nl_put(struct sk_nl *nl, uint16_t type, uint16_t flags);

/*
 * Sends the request in nl->buf and reads replies until the ACK (or
 * NLMSG_DONE of a dump); each data message goes to cb (may be NULL).
 * Returns 0 or the kernel's -errno.  An interrupted dump is retried.
 */
int sk_nl_talk(struct sk_nl *nl, mnl_cb_t cb, void *data);

struct sk_nl_link {
	int ifindex;
	unsigned mtu;
	unsigned flags;		/* IFF_* */
	char kind[16];		/* IFLA_INFO_KIND, "" when none */
	char name[IF_NAMESIZE]; /* IFLA_IFNAME */
};

/* Looks up link `name`: 0, -ENODEV when it does not exist, or -errno. */
int sk_nl_link_get(struct sk_nl *nl, const char *name, struct sk_nl_link *ret);

/* A change to an existing link; zero fields are left alone. */
struct sk_nl_link_change {
	const char *alias;
	unsigned mtu;
	int master;
	bool up;
};
int sk_nl_link_change(struct sk_nl *nl, int ifindex, const struct sk_nl_link_change *c);
int sk_nl_link_del(struct sk_nl *nl, int ifindex);

int sk_nl_addr(struct sk_nl *nl, bool add, int ifindex, struct in_addr addr, int prefix);
/* Adds a default route via gw out of ifindex in the main table. */
int sk_nl_route_default(struct sk_nl *nl, int ifindex, struct in_addr gw);

/* The mask of a prefix length 0..32, host order. */
static inline uint32_t sk_net_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

#endif
