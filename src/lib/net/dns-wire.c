/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns-wire.c - the DNS message codec of the embedded responder: parses
 * one query (RFC 1035 header, one question, EDNS0 OPT from RFC 6891) and
 * writes the reply.  Pure functions, no I/O, no allocation.
 *
 * Untrusted input: every read is bounds-checked against the message
 * length; names are limited to 255 bytes and labels to 63; compression
 * pointers (which a query has no reason to carry) are followed only
 * strictly backwards, each one before the previous target and at most 16
 * times, so a pointer loop cannot spin.  What does not parse gets FORMERR
 * when its header is readable, and nothing when it is not a query.
 *
 * This is not a resolver or a general codec: it reads questions, and
 * writes answers of A records only.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "net/dns-internal.h"

#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080
#define OPCODE(f) (((f) >> 11) & 0xf)

#define T_A 1
#define T_OPT 41
#define T_ANY 255
#define C_IN 1
#define C_ANY 255

enum {
	RC_NOERROR = 0,
	RC_FORMERR = 1,
	RC_NXDOMAIN = 3,
	RC_NOTIMP = 4,
	RC_REFUSED = 5,
	RC_BADVERS = 16,
};

enum parse {
	P_OK,
	P_DROP,
	P_FORMERR,
	P_NOTIMP,
};

struct query {
	uint16_t id, flags, qtype, qclass;
	uint8_t qname[255]; /* wire form, uncompressed, the asker's case */
	size_t qname_len;
	char name[256]; /* lowercase, dotted, no trailing dot; "" for the root */
	bool plain;	/* no byte in a label that could not be in a record name */
	bool edns;
	uint16_t udp_size;
	uint8_t edns_version;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* Reads the question name at *off; on success *off is just past it in m. */
static bool read_qname(const uint8_t *m, size_t len, size_t *off, struct query *qr)
{
	size_t p = *off, end = 0, limit = SIZE_MAX, wl = 0, nl = 0;
	int jumps = 0;

	qr->plain = true;
	for (;;) {
		uint8_t c;

		if (p >= len)
			return false;
		c = m[p];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (p + 1 >= len)
				return false;
			target = (size_t)(c & 0x3f) << 8 | m[p + 1];
			if (!end)
				end = p + 2;
			if (target >= p || target >= limit || ++jumps > 16)
				return false;
			limit = target;
			p = target;
			continue;
		}
		if (c & 0xc0) /* 0x40, 0x80: obsolete extended label types */
			return false;
		if (c == 0)
			break;
		if (p + 1 + c > len || wl + 1 + c + 1 > sizeof(qr->qname))
			return false;
		qr->qname[wl++] = c;
		if (nl)
			qr->name[nl++] = '.';
		for (size_t i = 0; i < c; i++) {
			uint8_t b = m[p + 1 + i];

			qr->qname[wl++] = b;
			if (b == '.' || b <= ' ' || b >= 0x7f)
				qr->plain = false;
			qr->name[nl++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
		}
		p += 1 + c;
	}
	qr->qname[wl++] = 0;
	qr->qname_len = wl;
	qr->name[nl] = '\0';
	*off = end ? end : p + 1;
	return true;
}

/* Steps over a name in another section (not followed, only checked). */
static bool skip_name(const uint8_t *m, size_t len, size_t *off)
{
	size_t p = *off, total = 0;

	for (;;) {
		uint8_t c;

		if (p >= len)
			return false;
		c = m[p];
		if ((c & 0xc0) == 0xc0) {
			if (p + 2 > len)
				return false;
			*off = p + 2;
			return true;
		}
		if (c & 0xc0)
			return false;
		if (c == 0) {
			*off = p + 1;
			return true;
		}
		p += 1 + (size_t)c;
		total += 1 + (size_t)c;
		if (total > 254)
			return false;
	}
}

/* Reads the records after the question, looking for the OPT record. */
static enum parse read_records(const uint8_t *m, size_t len, size_t off, struct query *qr)
{
	unsigned n_skip = (unsigned)rd16(m + 6) + rd16(m + 8), n_ar = rd16(m + 10);

	for (unsigned i = 0; i < n_skip + n_ar; i++) {
		size_t start = off;
		uint16_t type, rdlen;

		if (!skip_name(m, len, &off) || off + 10 > len)
			return P_FORMERR;
		type = rd16(m + off);
		rdlen = rd16(m + off + 8);
		if (i >= n_skip && type == T_OPT) {
			uint32_t ttl = (uint32_t)rd16(m + off + 4) << 16 | rd16(m + off + 6);

			if (qr->edns || m[start] != 0) /* one OPT, owned by the root */
				return P_FORMERR;
			qr->edns = true;
			qr->udp_size = rd16(m + off + 2);
			qr->edns_version = (uint8_t)(ttl >> 16);
		}
		off += 10;
		if (off + rdlen > len)
			return P_FORMERR;
		off += rdlen;
	}
	return P_OK;
}

static enum parse parse_query(const uint8_t *m, size_t len, struct query *qr)
{
	size_t off = SK_DNS_HEADER;

	*qr = (struct query){ 0 };
	if (len < SK_DNS_HEADER)
		return P_DROP;
	qr->id = rd16(m);
	qr->flags = rd16(m + 2);
	if (qr->flags & F_QR)
		return P_DROP; /* a response: answering it could start a loop */
	if (OPCODE(qr->flags) != 0)
		return P_NOTIMP;
	if (rd16(m + 4) != 1)
		return P_FORMERR;
	if (!read_qname(m, len, &off, qr) || off + 4 > len)
		return P_FORMERR;
	qr->qtype = rd16(m + off);
	qr->qclass = rd16(m + off + 2);
	return read_records(m, len, off + 4, qr);
}

/* ---- replies ---- */

struct reply {
	uint8_t *out;
	size_t len, limit;
	uint16_t flags;
	uint16_t counts[4];
};

static bool put(struct reply *r, const void *p, size_t n)
{
	if (r->len + n > r->limit)
		return false;
	memcpy(r->out + r->len, p, n);
	r->len += n;
	return true;
}

static size_t reply_limit(const struct query *qr, bool tcp, size_t cap)
{
	size_t lim = 512;

	if (tcp)
		return cap < SK_DNS_MSG_MAX ? cap : SK_DNS_MSG_MAX;
	if (qr && qr->edns && qr->udp_size > lim)
		lim = qr->udp_size < SK_DNS_UDP_MAX ? qr->udp_size : SK_DNS_UDP_MAX;
	return cap < lim ? cap : lim;
}

/* The header of a reply to qr with rcode's low bits; RA when we recurse for it. */
static bool reply_start(struct reply *r, const struct query *qr, int rcode, bool ra)
{
	uint8_t h[SK_DNS_HEADER] = { 0 };

	if (r->limit < SK_DNS_HEADER)
		return false;
	r->flags = F_QR | (qr->flags & (0xf << 11)) | (qr->flags & F_RD) | (ra ? F_RA : 0) |
		   (uint16_t)(rcode & 0xf);
	wr16(h, qr->id);
	return put(r, h, sizeof(h));
}

static void reply_finish(struct reply *r)
{
	wr16(r->out + 2, r->flags);
	for (int i = 0; i < 4; i++)
		wr16(r->out + 4 + 2 * i, r->counts[i]);
}

static bool put_question(struct reply *r, const struct query *qr)
{
	uint8_t tc[4];

	wr16(tc, qr->qtype);
	wr16(tc + 2, qr->qclass);
	if (r->len + qr->qname_len + 4 > r->limit)
		return false;
	put(r, qr->qname, qr->qname_len);
	put(r, tc, 4);
	r->counts[0] = 1;
	return true;
}

/* OPT: root owner, our payload size, extended rcode bits, version 0. */
static void put_opt(struct reply *r, int rcode)
{
	uint8_t opt[11] = { 0 };

	wr16(opt + 1, T_OPT);
	wr16(opt + 3, SK_DNS_UDP_MAX);
	wr32(opt + 5, (uint32_t)(rcode >> 4) << 24);
	if (put(r, opt, sizeof(opt)))
		r->counts[3] = 1;
}

static bool put_a(struct reply *r, struct in_addr a, uint32_t ttl)
{
	uint8_t rr[16];

	wr16(rr, 0xc000 | SK_DNS_HEADER); /* the question's name */
	wr16(rr + 2, T_A);
	wr16(rr + 4, C_IN);
	wr32(rr + 6, ttl);
	wr16(rr + 10, 4);
	memcpy(rr + 12, &a, 4);
	return put(r, rr, sizeof(rr));
}

static const struct sk_dns_record *lookup(const struct sk_dns_zone *z, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < z->n_records; i++) {
		const char *rn = z->records[i].name;
		size_t l = rn ? strlen(rn) : 0;

		if (l > 0 && rn[l - 1] == '.')
			l--;
		if (l == n && strncasecmp(rn, name, n) == 0)
			return &z->records[i];
	}
	return NULL;
}

/* A header-only reply (FORMERR, NOTIMP): nothing past the header was understood. */
static enum sk_dns_verdict bare_reply(const struct query *qr, int rcode, uint8_t *out, size_t cap,
				      size_t *ret_len)
{
	struct reply r = { .out = out, .limit = cap };

	if (!reply_start(&r, qr, rcode, false))
		return SK_DNS_DROP;
	reply_finish(&r);
	*ret_len = r.len;
	return SK_DNS_REPLY;
}

/* Header, question, answers (may be none), OPT; TC when something did not fit. */
static enum sk_dns_verdict full_reply(const struct query *qr, const struct sk_dns_zone *z,
				      const struct sk_dns_record *rec, int rcode, unsigned rot,
				      bool tcp, uint8_t *out, size_t cap, size_t *ret_len)
{
	struct reply r = { .out = out, .limit = reply_limit(qr, tcp, cap) };
	size_t opt = qr->edns ? 11 : 0;
	bool ra = z ? z->forward : true;

	if (!reply_start(&r, qr, rcode, ra))
		return SK_DNS_DROP;
	if (z && rcode != RC_REFUSED)
		r.flags |= F_AA;
	if (!put_question(&r, qr)) {
		r.flags |= F_TC;
		goto done;
	}
	if (rec && rec->n_addrs > 0) {
		uint32_t ttl = z->ttl ? z->ttl : 2;

		size_t keep = opt < r.limit - r.len ? opt : r.limit - r.len; /* room for OPT */

		r.limit -= keep;
		for (size_t i = 0; i < rec->n_addrs; i++) {
			if (!put_a(&r, rec->addrs[(rot + i) % rec->n_addrs], ttl)) {
				r.flags |= F_TC;
				break;
			}
			r.counts[1]++;
		}
		r.limit += keep;
	}
	if (qr->edns)
		put_opt(&r, rcode);
done:
	reply_finish(&r);
	*ret_len = r.len;
	return SK_DNS_REPLY;
}

enum sk_dns_verdict sk_dns_answer_ex(const struct sk_dns_zone *z, const uint8_t *q, size_t len,
				     unsigned rot, bool tcp, uint8_t *out, size_t cap,
				     size_t *ret_len)
{
	const struct sk_dns_record *rec;
	struct query qr;

	switch (parse_query(q, len, &qr)) {
	case P_DROP:
		return SK_DNS_DROP;
	case P_FORMERR:
		return bare_reply(&qr, RC_FORMERR, out, cap, ret_len);
	case P_NOTIMP:
		return bare_reply(&qr, RC_NOTIMP, out, cap, ret_len);
	case P_OK:
		break;
	}
	if (qr.edns && qr.edns_version != 0)
		return full_reply(&qr, NULL, NULL, RC_BADVERS, rot, tcp, out, cap, ret_len);
	if (qr.qclass != C_IN && qr.qclass != C_ANY)
		return full_reply(&qr, z, NULL, RC_REFUSED, rot, tcp, out, cap, ret_len);
	rec = qr.plain ? lookup(z, qr.name) : NULL;
	if (!rec && z->forward)
		return SK_DNS_FORWARD;
	if (!rec)
		return full_reply(&qr, z, NULL, RC_NXDOMAIN, rot, tcp, out, cap, ret_len);
	if (qr.qtype != T_A && qr.qtype != T_ANY)
		rec = NULL; /* the name exists, this type does not: NOERROR, no answers */
	return full_reply(&qr, z, rec, RC_NOERROR, rot, tcp, out, cap, ret_len);
}

enum sk_dns_verdict sk_dns_answer(const struct sk_dns_zone *z, const uint8_t *q, size_t len,
				  unsigned rot, uint8_t *out, size_t cap, size_t *ret_len)
{
	return sk_dns_answer_ex(z, q, len, rot, false, out, cap, ret_len);
}

bool sk_dns_error_reply(const uint8_t *q, size_t len, int rcode, uint8_t *out, size_t cap,
			size_t *ret_len)
{
	struct query qr;

	if (parse_query(q, len, &qr) != P_OK)
		return false;
	return full_reply(&qr, NULL, NULL, rcode, 0, false, out, cap, ret_len) == SK_DNS_REPLY;
}
