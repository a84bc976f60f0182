/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netlink.c - rtnetlink requests over libmnl: a socket with its buffers,
 * send-and-wait-for-ACK, dumps, and the link, address and route messages
 * the rest of src/lib/net builds on.  No policy and no error messages here:
 * every function returns 0 or the kernel's -errno and its caller says what
 * it was doing.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <time.h>

#include "net/net-internal.h"

int sk_nl_open(struct sk_nl *nl, int bus)
{
	struct mnl_socket *s = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int one = 1;

	*nl = (struct sk_nl){ 0 };
	if (!s)
		return -errno;
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;
		mnl_socket_close(s);
		return r;
	}
	/* Errors carry only the header of our request back, not all of it. */
	(void)mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->sock = s;
	nl->portid = mnl_socket_get_portid(s);
	nl->seq = (unsigned)time(NULL);
	nl->buf = sk_malloc0(SK_NL_BUF);
	return 0;
}

void sk_nl_close(struct sk_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	*nl = (struct sk_nl){ 0 };
}

struct nlmsghdr *sk_nl_put(struct sk_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(nl->buf, 0, MNL_NLMSG_HDRLEN);
	nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* True when buf[0..n) holds the end (NLMSG_DONE or an error) of request `seq`. */
static bool has_end(const char *buf, ssize_t n, unsigned seq)
{
	int left = (int)n;

	for (const struct nlmsghdr *h = (const void *)buf; mnl_nlmsg_ok(h, left);
	     h = mnl_nlmsg_next(h, &left))
		if (h->nlmsg_seq == seq &&
		    (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/* After an interrupted dump: reads and drops the rest of it. */
static void drain_dump(struct sk_nl *nl, unsigned seq)
{
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, SK_NL_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || has_end(nl->buf, n, seq))
			return;
	}
}

static int talk_once(struct sk_nl *nl, const void *req, size_t req_len, unsigned seq, mnl_cb_t cb,
		     void *data)
{
	if (mnl_socket_sendto(nl->sock, req, req_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, SK_NL_BUF);
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		r = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
		if (r < 0) {
			r = errno ? -errno : -EIO;
			if (r == -EINTR && !has_end(nl->buf, n, seq))
				drain_dump(nl, seq);
			return r;
		}
		if (r == MNL_CB_STOP)
			return 0;
	}
}

int sk_nl_talk(struct sk_nl *nl, mnl_cb_t cb, void *data)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->buf;
	size_t len = nlh->nlmsg_len;
	unsigned seq = nlh->nlmsg_seq;
	_cleanup_free_ void *req = NULL;
	int r = -EINTR;

	/* The receive buffer is nl->buf too: keep the request for a retried dump. */
	req = sk_malloc0(len);
	memcpy(req, nl->buf, len);
	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) /* EXCL shares a bit with DUMP */
		((struct nlmsghdr *)req)->nlmsg_flags |= NLM_F_ACK;
	for (int attempt = 0; attempt < 5 && r == -EINTR; attempt++)
		r = talk_once(nl, req, len, seq, cb, data);
	return r;
}

/* ---- links ---- */

static int link_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFLA_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int linkinfo_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFLA_INFO_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int link_get_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	struct sk_nl_link *l = data;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, tb);
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	if (tb[IFLA_MTU] && mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) >= 0)
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_STRING) >= 0)
		snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_LINKINFO]) {
		const struct nlattr *info[IFLA_INFO_MAX + 1] = { 0 };

		mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_attr_cb, info);
		if (info[IFLA_INFO_KIND] &&
		    mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_STRING) >= 0)
			snprintf(l->kind, sizeof(l->kind), "%s",
				 mnl_attr_get_str(info[IFLA_INFO_KIND]));
	}
	return MNL_CB_OK;
}

int sk_nl_link_get(struct sk_nl *nl, const char *name, struct sk_nl_link *ret)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int r;

	if (!name[0] || strlen(name) >= IF_NAMESIZE)
		return -ENODEV;
	*ret = (struct sk_nl_link){ 0 };
	nlh = sk_nl_put(nl, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = sk_nl_talk(nl, link_get_cb, ret);
	if (r == -ENOENT)
		r = -ENODEV;
	if (r == 0 && ret->ifindex <= 0)
		r = -ENODEV;
	return r;
}

int sk_nl_link_change(struct sk_nl *nl, int ifindex, const struct sk_nl_link_change *c)
{
	struct nlmsghdr *nlh = sk_nl_put(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (c->up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	if (c->alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, c->alias);
	if (c->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, c->mtu);
	if (c->master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)c->master);
	return sk_nl_talk(nl, NULL, NULL);
}

int sk_nl_link_del(struct sk_nl *nl, int ifindex)
{
	struct nlmsghdr *nlh = sk_nl_put(nl, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return sk_nl_talk(nl, NULL, NULL);
}

/* ---- addresses and routes ---- */

int sk_nl_addr(struct sk_nl *nl, bool add, int ifindex, struct in_addr addr, int prefix)
{
	struct nlmsghdr *nlh =
	    sk_nl_put(nl, add ? RTM_NEWADDR : RTM_DELADDR, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(addr), &addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(addr), &addr);
	if (add && prefix < 31) {
		struct in_addr brd = { htonl(ntohl(addr.s_addr) | ~sk_net_mask(prefix)) };
		mnl_attr_put(nlh, IFA_BROADCAST, sizeof(brd), &brd);
	}
	return sk_nl_talk(nl, NULL, NULL);
}

int sk_nl_route_default(struct sk_nl *nl, int ifindex, struct in_addr gw)
{
	struct nlmsghdr *nlh = sk_nl_put(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, sizeof(gw), &gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return sk_nl_talk(nl, NULL, NULL);
}
