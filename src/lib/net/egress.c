/* SPDX-License-Identifier: Apache-2.0 */
/*
 * egress.c - opt-in outbound NAT for an app subnet with libnftnl.
 *
 * skiff keeps its rules in a table of its own, `table ip skiff`, with one
 * nat chain `postrouting` (hook postrouting, priority srcnat).  Each app
 * that may reach outside gets one rule,
 *
 *     ip saddr <net>/<prefix> oifname != "<bridge>" masquerade comment "<tag>"
 *
 * and the comment (the rule's userdata, as nft(8) writes it) is how
 * disable finds exactly that app's rules again: by tag, never by position
 * or handle remembered from earlier.  Enable replaces an existing rule of
 * the same tag in the same transaction, so it is idempotent; disable
 * deletes the table once no rule is left in it.  Other tables (firewalld,
 * docker, the admin's own) are never read or touched.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "base/util.h"
#include "net/net-internal.h"
#include "net/net.h"

#define EGRESS_TABLE "skiff"
#define EGRESS_CHAIN "postrouting"
#define EGRESS_BATCH 65536

/* Rules found in skiff's table by a dump. */
struct egress_dump {
	const char *tag;
	uint64_t *handles; /* rules carrying tag */
	char **chains;	   /* ... and their chains */
	size_t n_match;
	size_t n_other; /* rules with another (or no) tag */
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **ret = data;
	uint8_t len = nftnl_udata_len(attr);
	const char *v = nftnl_udata_get(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len > 0 && v[len - 1] == '\0')
		*ret = v;
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct egress_dump *d = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *comment = NULL;
	const void *ud;
	uint32_t ud_len = 0;

	if (!r)
		abort();
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
	    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE) ?: "", EGRESS_TABLE) != 0) {
		nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &ud_len);
	if (ud)
		(void)nftnl_udata_parse(ud, ud_len, comment_cb, &comment);
	if (comment && strcmp(comment, d->tag) == 0) {
		d->handles = sk_realloc(d->handles, (d->n_match + 1) * sizeof(*d->handles));
		d->handles[d->n_match++] = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
		sk_strv_push(&d->chains, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN) ?: EGRESS_CHAIN);
	} else {
		d->n_other++;
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

static void egress_dump_release(struct egress_dump *d)
{
	free(d->handles);
	sk_strv_free(d->chains);
}

/* Lists the rules of skiff's table; an absent table has none. */
static int dump_rules(struct sk_nl *nl, struct egress_dump *d)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!r)
		abort();
	nlh = nftnl_rule_nlmsg_build_hdr(nl->buf, NFT_MSG_GETRULE, NFPROTO_IPV4, NLM_F_DUMP,
					 ++nl->seq);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, EGRESS_TABLE);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	ret = sk_nl_talk(nl, rule_cb, d);
	return ret == -ENOENT ? 0 : ret;
}

/* ---- the transaction ---- */

struct batch {
	char *buf;
	size_t len;
	unsigned n_acks;
};

static char *batch_tail(struct batch *b)
{
	assert(b->len + 4096 <= EGRESS_BATCH);
	return b->buf + b->len;
}

static void batch_done(struct batch *b, struct nlmsghdr *nlh)
{
	b->len += MNL_ALIGN(nlh->nlmsg_len);
	if (nlh->nlmsg_flags & NLM_F_ACK)
		b->n_acks++;
}

static void put_table(struct batch *b, struct sk_nl *nl, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		abort();
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, EGRESS_TABLE);
	nlh = nftnl_table_nlmsg_build_hdr(batch_tail(b), type, NFPROTO_IPV4, flags | NLM_F_ACK,
					  ++nl->seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_done(b, nlh);
}

static void put_chain(struct batch *b, struct sk_nl *nl)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		abort();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, EGRESS_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, EGRESS_CHAIN);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 100); /* srcnat */
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nftnl_chain_nlmsg_build_hdr(batch_tail(b), NFT_MSG_NEWCHAIN, NFPROTO_IPV4,
					  NLM_F_CREATE | NLM_F_ACK, ++nl->seq);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	batch_done(b, nlh);
}

static void put_rule_del(struct batch *b, struct sk_nl *nl, const char *chain, uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		abort();
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, EGRESS_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nlh = nftnl_rule_nlmsg_build_hdr(batch_tail(b), NFT_MSG_DELRULE, NFPROTO_IPV4, NLM_F_ACK,
					 ++nl->seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_done(b, nlh);
}

static struct nftnl_expr *expr(const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		abort();
	return e;
}

/* ip saddr net/prefix oifname != bridge masquerade comment tag */
static void put_rule_masq(struct batch *b, struct sk_nl *nl, const char *tag, const char *bridge,
			  struct in_addr net, int prefix)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(512);
	uint32_t mask = htonl(sk_net_mask(prefix)), zero = 0, saddr = net.s_addr & mask;
	char ifname[IFNAMSIZ] = { 0 };
	struct nftnl_expr *e;
	struct nlmsghdr *nlh;

	if (!r || !ud)
		abort();
	snprintf(ifname, sizeof(ifname), "%s", bridge);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, EGRESS_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, EGRESS_CHAIN);

	e = expr("payload");
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, 12); /* iphdr.saddr */
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	e = expr("bitwise");
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
	nftnl_rule_add_expr(r, e);
	e = expr("cmp");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &saddr, 4);
	nftnl_rule_add_expr(r, e);
	e = expr("meta");
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_OIFNAME);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	e = expr("cmp");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_NEQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, ifname, sizeof(ifname));
	nftnl_rule_add_expr(r, e);
	nftnl_rule_add_expr(r, expr("masq"));

	if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, tag))
		abort();
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
	nlh = nftnl_rule_nlmsg_build_hdr(batch_tail(b), NFT_MSG_NEWRULE, NFPROTO_IPV4,
					 NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, ++nl->seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	nftnl_udata_buf_free(ud);
	batch_done(b, nlh);
}

/*
 * Sends a begin..end transaction and collects one ACK per message.  The
 * kernel processes a batch inside sendmsg() and reports every error, so
 * the answers are queued by the time sendto() returns; poll() is only a
 * safety net.  Returns 0 or the first -errno the kernel reported.
 */
static int batch_send(struct sk_nl *nl, struct batch *b)
{
	int fd = mnl_socket_get_fd(nl->sock), first = 0;
	unsigned acks = 0;

	if (mnl_socket_sendto(nl->sock, b->buf, b->len) < 0)
		return -errno;
	while (acks < b->n_acks) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int left;

		if (poll(&p, 1, 2000) == 0)
			return first ? first : -ETIMEDOUT;
		n = recv(fd, nl->buf, SK_NL_BUF, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		left = (int)n;
		for (const struct nlmsghdr *h = (void *)nl->buf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			acks++;
			if (e->error < 0 && !first)
				first = e->error;
		}
	}
	return first;
}

static int egress_apply(struct sk_nl *nl, const char *tag, const char *bridge, struct in_addr net,
			int prefix)
{
	struct egress_dump d = { .tag = tag };
	struct batch b = { 0 };
	int r;

	r = dump_rules(nl, &d);
	if (r < 0) {
		egress_dump_release(&d);
		return r;
	}
	if (!bridge && d.n_match == 0) {
		egress_dump_release(&d);
		return 0; /* disable of something not there */
	}
	b.buf = sk_malloc0(EGRESS_BATCH);
	b.len += MNL_ALIGN(nftnl_batch_begin(b.buf, ++nl->seq)->nlmsg_len);
	if (bridge) {
		put_table(&b, nl, NFT_MSG_NEWTABLE, NLM_F_CREATE);
		put_chain(&b, nl);
	}
	for (size_t i = 0; i < d.n_match && i < 64; i++)
		put_rule_del(&b, nl, d.chains[i], d.handles[i]);
	if (bridge)
		put_rule_masq(&b, nl, tag, bridge, net, prefix);
	else if (d.n_other == 0 && d.n_match <= 64)
		put_table(&b, nl, NFT_MSG_DELTABLE, 0);
	b.len += MNL_ALIGN(nftnl_batch_end(batch_tail(&b), ++nl->seq)->nlmsg_len);
	r = batch_send(nl, &b);
	free(b.buf);
	egress_dump_release(&d);
	return r;
}

int sk_net_egress_enable(const char *tag, const char *bridge, struct in_addr net, int prefix,
			 struct sk_error **err)
{
	struct sk_nl nl;
	int r;

	if (!tag[0] || strlen(tag) > 200 || strlen(bridge) >= IFNAMSIZ || prefix < 0 || prefix > 32)
		return sk_error_set(err, EINVAL, "enable egress '%s': bad argument", tag);
	r = sk_write_file("/proc/sys/net/ipv4/ip_forward", "1", 1);
	if (r < 0)
		return sk_error_set(err, -r, "enable egress '%s': enable ip_forward", tag);
	r = sk_nl_open(&nl, NETLINK_NETFILTER);
	if (r == 0) {
		r = egress_apply(&nl, tag, bridge, net, prefix);
		sk_nl_close(&nl);
	}
	if (r < 0)
		return sk_error_set(err, -r,
				    "enable egress '%s': add masquerade rule to table ip %s", tag,
				    EGRESS_TABLE);
	return 0;
}

int sk_net_egress_disable(const char *tag, struct sk_error **err)
{
	struct sk_nl nl;
	int r;

	r = sk_nl_open(&nl, NETLINK_NETFILTER);
	if (r == 0) {
		r = egress_apply(&nl, tag, NULL, (struct in_addr){ 0 }, 0);
		sk_nl_close(&nl);
	}
	if (r < 0)
		return sk_error_set(err, -r, "disable egress '%s': delete rules from table ip %s",
				    tag, EGRESS_TABLE);
	return 0;
}
