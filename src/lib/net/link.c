/* SPDX-License-Identifier: Apache-2.0 */
/*
 * link.c - links, addresses and routes in the caller's network namespace:
 * skiff's bridges, deleting links, finding links by their alias (what the
 * janitor uses), and the route check that keeps app subnets off the host's
 * own networks.  The container side of a veth is in veth.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "base/util.h"
#include "net/net-internal.h"
#include "net/net.h"

static int open_nl(struct sk_nl *nl, const char *what, const char *name, struct sk_error **err)
{
	int r = sk_nl_open(nl, NETLINK_ROUTE);

	if (r < 0)
		return sk_error_set(err, -r, "%s '%s': netlink socket", what, name);
	return 0;
}

static int bridge_configure(struct sk_nl *nl, const struct sk_nl_link *l, const char *alias,
			    struct in_addr gw, int prefix, unsigned mtu, struct sk_error **err)
{
	struct sk_nl_link_change c = { .alias = alias, .mtu = mtu ? mtu : 1500, .up = true };
	char a[INET_ADDRSTRLEN];
	int r;

	r = sk_nl_link_change(nl, l->ifindex, &c);
	if (r < 0)
		return sk_error_set(err, -r, "configure bridge '%s'", l->name);
	r = sk_nl_addr(nl, true, l->ifindex, gw, prefix);
	if (r < 0 && r != -EEXIST)
		return sk_error_set(err, -r, "add address %s/%d to bridge '%s'",
				    inet_ntop(AF_INET, &gw, a, sizeof(a)), prefix, l->name);
	return 0;
}

int sk_net_bridge_ensure(const char *name, const char *alias, struct in_addr gw, int prefix,
			 unsigned mtu, struct sk_error **err)
{
	struct sk_nl nl;
	struct sk_nl_link l;
	bool created = false;
	int r;

	if (prefix < 1 || prefix > 32)
		return sk_error_set(err, EINVAL, "create bridge '%s': bad prefix /%d", name,
				    prefix);
	r = open_nl(&nl, "create bridge", name, err);
	if (r < 0)
		return r;
	r = sk_nl_link_get(&nl, name, &l);
	if (r == -ENODEV) {
		struct nlmsghdr *nlh = sk_nl_put(&nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
		struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		struct nlattr *info;

		/* A fixed MAC, 02:42 + the gateway address: a bridge otherwise takes the lowest
		 * MAC of its ports, which changes as veths come and go, and containers'
		 * neighbour entries for the gateway and the virtual addresses on the bridge
		 * would point at a MAC nobody answers to any more. */
		uint8_t mac[6] = { 0x02, 0x42 };

		memcpy(mac + 2, &gw.s_addr, 4);
		ifi->ifi_family = AF_UNSPEC;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
		mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
		info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
		mnl_attr_nest_end(nlh, info);
		r = sk_nl_talk(&nl, NULL, NULL);
		created = r == 0;
		if (r == 0 || r == -EEXIST) /* EEXIST: another caller won the race */
			r = sk_nl_link_get(&nl, name, &l);
	}
	if (r < 0) {
		sk_nl_close(&nl);
		return sk_error_set(err, -r, "create bridge '%s'", name);
	}
	if (strcmp(l.kind, "bridge") != 0) {
		sk_nl_close(&nl);
		return sk_error_set(err, EEXIST, "create bridge '%s': a link of kind '%s'", name,
				    l.kind[0] ? l.kind : "none");
	}
	r = bridge_configure(&nl, &l, alias, gw, prefix, mtu, err);
	if (r < 0 && created)
		(void)sk_nl_link_del(&nl, l.ifindex);
	sk_nl_close(&nl);
	return r;
}

int sk_net_link_delete(const char *ifname, struct sk_error **err)
{
	struct sk_nl nl;
	struct sk_nl_link l;
	int r;

	r = open_nl(&nl, "delete link", ifname, err);
	if (r < 0)
		return r;
	r = sk_nl_link_get(&nl, ifname, &l);
	if (r == 0)
		r = sk_nl_link_del(&nl, l.ifindex);
	sk_nl_close(&nl);
	if (r == -ENODEV)
		return 0;
	return r < 0 ? sk_error_set(err, -r, "delete link '%s'", ifname) : 0;
}

bool sk_net_link_exists(const char *ifname)
{
	struct sk_nl nl;
	struct sk_nl_link l;
	int r;

	if (sk_nl_open(&nl, NETLINK_ROUTE) < 0)
		return false;
	r = sk_nl_link_get(&nl, ifname, &l);
	sk_nl_close(&nl);
	return r == 0;
}

struct alias_dump {
	const char *prefix;
	char **names;
};

static int alias_cb(const struct nlmsghdr *nlh, void *data)
{
	struct alias_dump *d = data;
	const struct nlattr *name = NULL, *alias = NULL, *a;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
	{
		if (mnl_attr_validate(a, MNL_TYPE_STRING) < 0)
			continue;
		if (mnl_attr_get_type(a) == IFLA_IFNAME)
			name = a;
		else if (mnl_attr_get_type(a) == IFLA_IFALIAS)
			alias = a;
	}
	if (name && alias && sk_str_has_prefix(mnl_attr_get_str(alias), d->prefix))
		sk_strv_push(&d->names, mnl_attr_get_str(name));
	return MNL_CB_OK;
}

int sk_net_links_by_alias(const char *alias_prefix, char ***ret_names, struct sk_error **err)
{
	struct alias_dump d = { .prefix = alias_prefix };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct sk_nl nl;
	int r;

	r = open_nl(&nl, "list links by alias", alias_prefix, err);
	if (r < 0)
		return r;
	nlh = sk_nl_put(&nl, RTM_GETLINK, NLM_F_DUMP);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = sk_nl_talk(&nl, alias_cb, &d);
	sk_nl_close(&nl);
	if (r < 0) {
		sk_strv_free(d.names);
		return sk_error_set(err, -r, "list links by alias '%s'", alias_prefix);
	}
	*ret_names = d.names ? d.names : sk_new0(char *, 1);
	return 0;
}

static int addr_change(bool add, const char *ifname, struct in_addr addr, int prefix,
		       struct sk_error **err)
{
	const char *what = add ? "add" : "delete";
	char a[INET_ADDRSTRLEN];
	struct sk_nl_link l;
	struct sk_nl nl;
	int r;

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if (prefix < 0 || prefix > 32)
		return sk_error_set(err, EINVAL, "%s address %s/%d on '%s': bad prefix", what, a,
				    prefix, ifname);
	r = sk_nl_open(&nl, NETLINK_ROUTE);
	if (r == 0) {
		r = sk_nl_link_get(&nl, ifname, &l);
		if (r == 0)
			r = sk_nl_addr(&nl, add, l.ifindex, addr, prefix);
		sk_nl_close(&nl);
	}
	if ((add && r == -EEXIST) || (!add && r == -EADDRNOTAVAIL))
		r = 0;
	if (r < 0)
		return sk_error_set(err, -r, "%s address %s/%d on '%s'", what, a, prefix, ifname);
	return 0;
}

int sk_net_addr_add(const char *ifname, struct in_addr addr, int prefix, struct sk_error **err)
{
	return addr_change(true, ifname, addr, prefix, err);
}

int sk_net_addr_del(const char *ifname, struct in_addr addr, int prefix, struct sk_error **err)
{
	return addr_change(false, ifname, addr, prefix, err);
}

struct overlap_dump {
	uint32_t net;
	int prefix;
	bool found;
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct overlap_dump *d = data;
	const struct nlattr *a;
	uint32_t table = rtm->rtm_table, dst = 0;
	int p;

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		if (mnl_attr_get_type(a) == RTA_TABLE && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			table = mnl_attr_get_u32(a);
		if (mnl_attr_get_type(a) == RTA_DST && mnl_attr_get_payload_len(a) == 4)
			memcpy(&dst, mnl_attr_get_payload(a), 4);
	}
	/* A default route covers everything and says nothing about a subnet being taken. */
	if (table != RT_TABLE_MAIN || rtm->rtm_dst_len == 0)
		return MNL_CB_OK;
	p = rtm->rtm_dst_len < d->prefix ? rtm->rtm_dst_len : d->prefix;
	if (((ntohl(dst) ^ d->net) & sk_net_mask(p)) == 0)
		d->found = true;
	return MNL_CB_OK;
}

bool sk_net_route_overlaps(struct in_addr net, int prefix)
{
	struct overlap_dump d = { .net = ntohl(net.s_addr), .prefix = prefix };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct sk_nl nl;

	if (sk_nl_open(&nl, NETLINK_ROUTE) < 0)
		return true; /* cannot tell: do not hand the subnet out */
	nlh = sk_nl_put(&nl, RTM_GETROUTE, NLM_F_DUMP);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	if (sk_nl_talk(&nl, route_cb, &d) < 0)
		d.found = true;
	sk_nl_close(&nl);
	return d.found;
}
