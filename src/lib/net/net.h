/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.h - container networking primitives: persistent network namespaces,
 * Linux bridges, veth pairs, addresses and routes over netlink (libmnl), the
 * address arithmetic of IPAM, and opt-in outbound NAT.
 *
 * Every function acts in the caller's network namespace unless it takes a
 * netns path.  Creating functions undo what they did when they fail.
 * Deleting functions succeed when the object is already gone.  Links skiff
 * creates carry an interface alias (IFLA_IFALIAS) naming their owner, so a
 * janitor can find what a dead daemon left without guessing from names.
 *
 * This is not a policy layer: which subnet an app gets and which address a
 * replica gets are the daemon's decisions (it persists leases in its store).
 */
#ifndef SK_NET_NET_H
#define SK_NET_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* ---- network namespaces ------------------------------------------------ */

/*
 * A new network namespace kept alive by a bind mount on `path` (created;
 * parent dir must exist; -EEXIST when path exists).  The caller's own
 * namespace never changes: a helper thread unshares.
 */
int sk_netns_create(const char *path, struct sk_error **err);
/* Unmounts and unlinks `path`; 0 when it does not exist. */
int sk_netns_delete(const char *path, struct sk_error **err);

/* ---- links ------------------------------------------------------------- */

/*
 * Creates bridge `name` (if missing) with alias `alias`, address gw/prefix
 * (added if missing), `mtu` (0: 1500), and brings it up.
 */
int sk_net_bridge_ensure(const char *name, const char *alias, struct in_addr gw, int prefix,
			 unsigned mtu, struct sk_error **err);

struct sk_net_attach {
	const char *bridge;	/* host side joins this bridge */
	const char *host_if;	/* host side name (<= 15 chars) */
	const char *alias;	/* alias of the host side */
	const char *netns_path; /* the container's netns (a bind-mounted nsfs file) */
	const char *ifname;	/* container side name, e.g. "eth0" */
	struct in_addr addr;	/* container side address */
	int prefix;
	struct in_addr gw;  /* default route via; INADDR_ANY: none */
	unsigned mtu;	    /* 0: the bridge's MTU */
	bool mac_from_addr; /* container side MAC 02:42:<addr> (stable across restarts) */
};

/*
 * Creates a veth pair, moves the peer into a->netns_path, names it
 * a->ifname, sets MTU, address, brings it and lo up, adds the default route;
 * the host side joins the bridge and comes up.  On failure nothing is left.
 */
int sk_net_veth_attach(const struct sk_net_attach *a, struct sk_error **err);

/* Deletes a link (a veth's peer goes with it); 0 when it does not exist. */
int sk_net_link_delete(const char *ifname, struct sk_error **err);

/* Names of links whose alias starts with `alias_prefix`: a NULL-terminated array (free with sk_strv_free, base/cleanup.h). */
int sk_net_links_by_alias(const char *alias_prefix, char ***ret_names, struct sk_error **err);

/* True when link `ifname` exists. */
bool sk_net_link_exists(const char *ifname);

/* Adds / deletes an IPv4 address on a link (adding one that exists, or deleting one that does not: 0). */
int sk_net_addr_add(const char *ifname, struct in_addr addr, int prefix, struct sk_error **err);
int sk_net_addr_del(const char *ifname, struct in_addr addr, int prefix, struct sk_error **err);

/*
 * True when an IPv4 route in the main table overlaps net/prefix (used to
 * pick free subnets).  Default routes do not count; when the routes cannot
 * be read the answer is true (do not hand the subnet out).
 */
bool sk_net_route_overlaps(struct in_addr net, int prefix);

/* ---- IPAM arithmetic --------------------------------------------------- */

/* Parses "a.b.c.d/n" (n in 8..30, host bits zero) into *ret_net and *ret_prefix. */
int sk_ipam_parse_cidr(const char *cidr, struct in_addr *ret_net, int *ret_prefix,
		       struct sk_error **err);
/* The gateway of a subnet: its first host address (.1 of a /24). */
struct in_addr sk_ipam_gateway(struct in_addr net, int prefix);
/*
 * The lowest host address of net/prefix that is not the network, the
 * gateway, the broadcast, nor in used[0..n_used).  -ENOSPC when full.
 */
int sk_ipam_next(struct in_addr net, int prefix, const struct in_addr *used, size_t n_used,
		 struct in_addr *ret);
/* True when addr is a host address of net/prefix. */
bool sk_ipam_contains(struct in_addr net, int prefix, struct in_addr addr);

/* ---- outbound NAT (opt-in per app) ------------------------------------- */

/*
 * Lets net/prefix behind `bridge` reach outside: enables IPv4 forwarding and
 * adds a masquerade rule in skiff's own nftables table ("skiff", family ip),
 * tagged with `tag` so disable removes exactly it.  Never called by tests
 * outside a network namespace they made.
 */
int sk_net_egress_enable(const char *tag, const char *bridge, struct in_addr net, int prefix,
			 struct sk_error **err);
int sk_net_egress_disable(const char *tag, struct sk_error **err);

#endif
