/* SPDX-License-Identifier: Apache-2.0 */
/*
 * veth.c - plugs a container's network namespace into a bridge with a
 * veth pair.
 *
 * The pair is created with its peer already inside the target namespace
 * (IFLA_NET_NS_FD in the peer's attributes) under its final name, so no
 * temporary name can collide and no half-moved link is ever visible in
 * the host namespace.  The container side is then configured through a
 * netlink socket opened inside that namespace (net-internal.h); the
 * calling thread never changes namespace.  Any failure deletes the host
 * side, which takes the peer with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <string.h>

#include "net/net-internal.h"
#include "net/net.h"

static int veth_create(struct sk_nl *nl, const struct sk_net_attach *a, unsigned mtu, int nsfd)
{
	struct nlmsghdr *nlh = sk_nl_put(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct ifinfomsg peer = { .ifi_family = AF_UNSPEC };
	struct nlattr *info, *data, *p;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, a->host_if);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow its own ifinfomsg inside VETH_INFO_PEER. */
	memcpy(mnl_nlmsg_get_payload_tail(nlh), &peer, sizeof(peer));
	nlh->nlmsg_len += MNL_ALIGN(sizeof(peer));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, a->ifname);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	if (a->mac_from_addr) {
		/* 02:42 + the IPv4 address (Docker's scheme): a replica restarted with its
		 * leased address has the same MAC, so neighbour caches stay right */
		uint8_t mac[6] = { 0x02, 0x42 };
		memcpy(mac + 2, &a->addr.s_addr, 4);
		mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
	}
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return sk_nl_talk(nl, NULL, NULL);
}

/* Configures the container side through a socket in its netns. */
static int veth_configure_peer(const struct sk_net_attach *a, int nsfd, struct sk_error **err)
{
	struct sk_nl_link lo, l;
	const char *step = "netlink socket";
	char ad[INET_ADDRSTRLEN];
	struct sk_nl nl;
	int r;

	r = sk_nl_open_in_netns(&nl, nsfd);
	if (r < 0)
		goto fail;
	step = "find lo";
	r = sk_nl_link_get(&nl, "lo", &lo);
	if (r == 0) {
		step = "bring up lo";
		r = sk_nl_link_change(&nl, lo.ifindex, &(struct sk_nl_link_change){ .up = true });
	}
	if (r == 0) {
		step = "find the link";
		r = sk_nl_link_get(&nl, a->ifname, &l);
	}
	if (r == 0) {
		step = "add address";
		r = sk_nl_addr(&nl, true, l.ifindex, a->addr, a->prefix);
		if (r == -EEXIST)
			r = 0;
	}
	if (r == 0) {
		step = "bring up";
		r = sk_nl_link_change(&nl, l.ifindex, &(struct sk_nl_link_change){ .up = true });
	}
	if (r == 0 && a->gw.s_addr != INADDR_ANY) {
		step = "add default route";
		r = sk_nl_route_default(&nl, l.ifindex, a->gw);
	}
	sk_nl_close(&nl);
	if (r == 0)
		return 0;
fail:
	return sk_error_set(err, -r, "configure '%s' (%s/%d) in netns '%s': %s", a->ifname,
			    inet_ntop(AF_INET, &a->addr, ad, sizeof(ad)), a->prefix, a->netns_path,
			    step);
}

int sk_net_veth_attach(const struct sk_net_attach *a, struct sk_error **err)
{
	_cleanup_close_ int nsfd = -1;
	struct sk_nl_link br, host = { 0 };
	struct sk_nl nl;
	unsigned mtu;
	int r;

	if (strlen(a->host_if) >= IF_NAMESIZE || strlen(a->ifname) >= IF_NAMESIZE ||
	    !a->host_if[0] || !a->ifname[0])
		return sk_error_set(err, EINVAL, "attach '%s': bad link name", a->host_if);
	if (a->prefix < 1 || a->prefix > 32)
		return sk_error_set(err, EINVAL, "attach '%s': bad prefix /%d", a->host_if,
				    a->prefix);
	nsfd = open(a->netns_path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return sk_error_errno(err, "attach '%s': open netns '%s'", a->host_if,
				      a->netns_path);
	r = sk_nl_open(&nl, NETLINK_ROUTE);
	if (r < 0)
		return sk_error_set(err, -r, "attach '%s': netlink socket", a->host_if);
	r = sk_nl_link_get(&nl, a->bridge, &br);
	if (r < 0) {
		sk_nl_close(&nl);
		return sk_error_set(err, -r, "attach '%s': bridge '%s'", a->host_if, a->bridge);
	}
	mtu = a->mtu ? a->mtu : br.mtu ? br.mtu : 1500;
	r = veth_create(&nl, a, mtu, nsfd);
	if (r < 0) {
		sk_nl_close(&nl);
		return sk_error_set(err, -r, "create veth '%s' (peer '%s' in '%s')", a->host_if,
				    a->ifname, a->netns_path);
	}
	/* From here on, failures delete the pair. */
	r = sk_nl_link_get(&nl, a->host_if, &host);
	if (r == 0)
		r = sk_nl_link_change(&nl, host.ifindex,
				      &(struct sk_nl_link_change){
					  .alias = a->alias, .master = br.ifindex, .up = true });
	if (r < 0) {
		sk_error_set(err, -r, "attach '%s' to bridge '%s'", a->host_if, a->bridge);
	} else {
		r = veth_configure_peer(a, nsfd, err);
		if (r < 0)
			sk_error_prefix(err, "attach '%s'", a->host_if);
	}
	if (r < 0 && (host.ifindex > 0 || sk_nl_link_get(&nl, a->host_if, &host) == 0))
		(void)sk_nl_link_del(&nl, host.ifindex);
	sk_nl_close(&nl);
	return r;
}
