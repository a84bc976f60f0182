/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-dns.c - the embedded DNS responder.
 *
 * sk_dns_answer() with hand-made queries: A and ANY answers rotated, other
 * types, NXDOMAIN and forwarding verdicts, case and trailing dots, EDNS0
 * (payload size, echoed OPT, BADVERS), truncation, and malformed input
 * (short, responses, wrong counts, bad labels, overlong names, compression
 * loops and forward pointers, truncated records, duplicate OPT).
 *
 * Then the responder itself, with real UDP and TCP clients, inside a
 * network namespace this process made (main() unshares it), on 127.0.0.x
 * and a non-53 port; the fake upstream for forwarding is a UDP socket on
 * 127.0.0.2:53 there, named by a temporary resolv.conf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "base/util.h"
#include "net/dns.h"

#define PORT 5399

static bool isolated;

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A query for `name` (dotted) of `type`; edns > 0 adds an OPT with that payload size. */
static size_t make_query(uint8_t *q, uint16_t id, const char *name, uint16_t type, uint16_t edns)
{
	size_t n = 12;

	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01; /* RD */
	q[5] = 1;
	q[11] = edns ? 1 : 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		q[n++] = (uint8_t)l;
		memcpy(q + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(type >> 8);
	q[n++] = (uint8_t)type;
	q[n++] = 0;
	q[n++] = 1;
	if (edns) {
		uint8_t opt[11] = { 0, 0, 41, (uint8_t)(edns >> 8), (uint8_t)edns };
		memcpy(q + n, opt, sizeof(opt));
		n += sizeof(opt);
	}
	return n;
}

static struct in_addr shop_addrs[] = { { 0 }, { 0 }, { 0 } };
static struct sk_dns_record shop_records[] = {
	{ .name = "catalog", .addrs = shop_addrs, .n_addrs = 3 },
	{ .name = "shop-catalog-1", .addrs = shop_addrs, .n_addrs = 1 },
	{ .name = "trailing.", .addrs = shop_addrs + 1, .n_addrs = 1 },
	{ .name = "empty", .addrs = NULL, .n_addrs = 0 },
};

static struct sk_dns_zone shop_zone(bool forward)
{
	shop_addrs[0] = ip("10.88.1.2");
	shop_addrs[1] = ip("10.88.1.3");
	shop_addrs[2] = ip("10.88.1.4");
	return (struct sk_dns_zone){ .listen = ip("127.0.0.1"),
				     .forward = forward,
				     .ttl = 5,
				     .records = shop_records,
				     .n_records = SK_ELEMENTSOF(shop_records) };
}

struct reply {
	enum sk_dns_verdict v;
	uint8_t m[70000];
	size_t len;
};

static void ask(const struct sk_dns_zone *z, const uint8_t *q, size_t len, unsigned rot, size_t cap,
		struct reply *r)
{
	r->len = 0;
	r->v = sk_dns_answer(z, q, len, rot, r->m, cap, &r->len);
	if (r->v == SK_DNS_REPLY) {
		assert_true(r->len >= 12 && r->len <= cap);
		assert_int_equal(rd16(r->m), rd16(q)); /* id */
		assert_true(r->m[2] & 0x80);	       /* QR */
	}
}

static int rcode(const struct reply *r)
{
	return r->m[3] & 0xf;
}

/* The i-th A answer's address, the answers starting right after the question. */
static const char *answer_addr(const struct reply *r, size_t qlen, int i, char *buf)
{
	const uint8_t *rr = r->m + qlen + (size_t)i * 16;

	assert_int_equal(rd16(rr), 0xc00c);
	assert_int_equal(rd16(rr + 2), 1);
	assert_int_equal(rd16(rr + 10), 4);
	return inet_ntop(AF_INET, rr + 12, buf, INET_ADDRSTRLEN);
}

/* ---- sk_dns_answer ---- */

static void test_answer_a_rotated(void **state)
{
	struct sk_dns_zone z = shop_zone(false);
	static struct reply r;
	uint8_t q[512];
	size_t n = make_query(q, 0x1234, "catalog", 1, 0);
	char a[INET_ADDRSTRLEN];

	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(r.v, SK_DNS_REPLY);
	assert_int_equal(rcode(&r), 0);
	assert_true(r.m[2] & 0x04);  /* AA */
	assert_true(r.m[2] & 0x01);  /* RD echoed */
	assert_false(r.m[2] & 0x02); /* not TC */
	assert_int_equal(rd16(r.m + 4), 1);
	assert_int_equal(rd16(r.m + 6), 3);
	assert_int_equal(r.len, n + 3 * 16);
	assert_memory_equal(r.m + 12, q + 12, n - 12); /* the question, echoed */
	assert_string_equal(answer_addr(&r, n, 0, a), "10.88.1.2");
	assert_string_equal(answer_addr(&r, n, 2, a), "10.88.1.4");
	assert_int_equal(rd16(r.m + n + 6) << 16 | rd16(r.m + n + 8), 5); /* TTL */
	ask(&z, q, n, 1, 512, &r);
	assert_string_equal(answer_addr(&r, n, 0, a), "10.88.1.3");
	assert_string_equal(answer_addr(&r, n, 2, a), "10.88.1.2");
	ask(&z, q, n, 5, 512, &r);
	assert_string_equal(answer_addr(&r, n, 0, a), "10.88.1.4");

	/* Case-insensitive, the asker's case echoed; ANY answers A. */
	n = make_query(q, 7, "Shop-CATALOG-1", 255, 0);
	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(rcode(&r), 0);
	assert_int_equal(rd16(r.m + 6), 1);
	assert_memory_equal(r.m + 12, q + 12, n - 12);
	/* A record name written with a trailing dot still matches. */
	n = make_query(q, 7, "trailing", 1, 0);
	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(rd16(r.m + 6), 1);
	assert_string_equal(answer_addr(&r, n, 0, a), "10.88.1.3");
	z.ttl = 0;
	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(rd16(r.m + n + 6) << 16 | rd16(r.m + n + 8), 2); /* default TTL */
}

static void test_answer_other_types(void **state)
{
	struct sk_dns_zone z = shop_zone(true);
	static struct reply r;
	uint8_t q[512];
	size_t n;

	/* AAAA, MX for a known name: NOERROR, no answers, never forwarded. */
	n = make_query(q, 1, "catalog", 28, 0);
	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(r.v, SK_DNS_REPLY);
	assert_int_equal(rcode(&r), 0);
	assert_int_equal(rd16(r.m + 6), 0);
	assert_int_equal(r.len, n);
	n = make_query(q, 1, "catalog", 15, 0);
	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(rd16(r.m + 6), 0);
	/* A known name without addresses. */
	n = make_query(q, 1, "empty", 1, 0);
	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(rcode(&r), 0);
	assert_int_equal(rd16(r.m + 6), 0);
	/* Class CH: refused. */
	n = make_query(q, 1, "catalog", 1, 0);
	q[n - 1] = 3;
	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(rcode(&r), 5);
}

static void test_answer_unknown(void **state)
{
	struct sk_dns_zone z = shop_zone(false);
	static struct reply r;
	uint8_t q[512];
	size_t n = make_query(q, 9, "example.org", 1, 0);

	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(r.v, SK_DNS_REPLY);
	assert_int_equal(rcode(&r), 3); /* NXDOMAIN */
	assert_int_equal(rd16(r.m + 6), 0);
	assert_false(r.m[3] & 0x80); /* no RA: this zone does not recurse */
	/* A name that only looks like a record once its label's dot is read as a separator. */
	n = make_query(q, 9, "x", 1, 0);
	q[12] = 9;
	memcpy(q + 13, "1.catalog", 9);
	q[22] = 0;
	q[23] = 0, q[24] = 1, q[25] = 0, q[26] = 1;
	ask(&z, q, 27, 0, 512, &r);
	assert_int_equal(rcode(&r), 3);
	/* The root. */
	n = make_query(q, 9, "", 1, 0);
	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(rcode(&r), 3);

	z = shop_zone(true);
	n = make_query(q, 9, "example.org", 1, 0);
	ask(&z, q, n, 0, 512, &r);
	assert_int_equal(r.v, SK_DNS_FORWARD);
}

static void test_answer_edns(void **state)
{
	struct sk_dns_zone z = shop_zone(false);
	static struct reply r;
	uint8_t q[512];
	size_t n = make_query(q, 3, "catalog", 1, 4096), qlen = n - 11;
	const uint8_t *opt;

	ask(&z, q, n, 0, 4096, &r);
	assert_int_equal(rcode(&r), 0);
	assert_int_equal(rd16(r.m + 6), 3);
	assert_int_equal(rd16(r.m + 10), 1); /* OPT echoed */
	assert_int_equal(r.len, qlen + 3 * 16 + 11);
	opt = r.m + qlen + 3 * 16;
	assert_int_equal(opt[0], 0);
	assert_int_equal(rd16(opt + 1), 41);
	assert_int_equal(rd16(opt + 3), 1232);

	/* EDNS version 1: BADVERS (extended rcode 1 in the OPT, 0 in the header). */
	q[n - 11 + 6] = 1;
	ask(&z, q, n, 0, 4096, &r);
	assert_int_equal(rcode(&r), 0);
	assert_int_equal(rd16(r.m + 6), 0);
	assert_int_equal(rd16(r.m + 10), 1);
	assert_int_equal(r.m[r.len - 11 + 5], 1);
}

static void test_answer_truncation(void **state)
{
	struct in_addr many[100];
	struct sk_dns_record rec = { .name = "big", .addrs = many, .n_addrs = 100 };
	struct sk_dns_zone z = { .records = &rec, .n_records = 1 };
	static struct reply r;
	uint8_t q[512];
	size_t n = make_query(q, 3, "big", 1, 0);

	for (int i = 0; i < 100; i++)
		many[i] = (struct in_addr){ htonl(0x0a000001u + (uint32_t)i) };
	/* Plain UDP: 512 bytes at most, TC, as many answers as fit. */
	ask(&z, q, n, 0, 65535, &r);
	assert_true(r.len <= 512);
	assert_true(r.m[2] & 0x02);
	assert_int_equal(rd16(r.m + 6), (512 - n) / 16);
	/* EDNS 4096: capped at 1232, OPT still there. */
	n = make_query(q, 3, "big", 1, 4096);
	ask(&z, q, n, 0, 65535, &r);
	assert_true(r.len <= 1232 && r.len > 1200);
	assert_true(r.m[2] & 0x02);
	assert_int_equal(rd16(r.m + 10), 1);
	/* EDNS 100: below 512 means 512. */
	n = make_query(q, 3, "big", 1, 100);
	ask(&z, q, n, 0, 65535, &r);
	assert_true(r.len <= 512 && r.len > 480);
	/* A small buffer. */
	ask(&z, q, n, 0, 100, &r);
	assert_true(r.len <= 100);
	assert_true(r.m[2] & 0x02);
	ask(&z, q, n, 0, 14, &r);
	assert_int_equal(r.v, SK_DNS_REPLY);
	assert_int_equal(r.len, 12);
	assert_int_equal(rd16(r.m + 4), 0);
	assert_true(r.m[2] & 0x02);
	ask(&z, q, n, 0, 11, &r);
	assert_int_equal(r.v, SK_DNS_DROP);
}

static void expect(const struct sk_dns_zone *z, const uint8_t *q, size_t len, enum sk_dns_verdict v,
		   int rc)
{
	static struct reply r;

	ask(z, q, len, 0, 512, &r);
	assert_int_equal(r.v, v);
	if (v == SK_DNS_REPLY) {
		assert_int_equal(rcode(&r), rc);
		if (rc == 1 || rc == 4) /* header only */
			assert_int_equal(r.len, 12);
	}
}

static void test_answer_malformed(void **state)
{
	struct sk_dns_zone z = shop_zone(false);
	uint8_t q[1024], b[1024];
	size_t n = make_query(q, 5, "catalog", 1, 0);

	expect(&z, q, n, SK_DNS_REPLY, 0);
	for (size_t l = 0; l < 12; l++)
		expect(&z, q, l, SK_DNS_DROP, 0);
	/* Every truncation of the question is FORMERR. */
	for (size_t l = 12; l < n; l++)
		expect(&z, q, l, SK_DNS_REPLY, 1);
	/* A response is not answered. */
	memcpy(b, q, n);
	b[2] |= 0x80;
	expect(&z, b, n, SK_DNS_DROP, 0);
	/* Opcodes other than QUERY. */
	memcpy(b, q, n);
	b[2] |= 2 << 3; /* STATUS */
	expect(&z, b, n, SK_DNS_REPLY, 4);
	/* QDCOUNT 0 and 2. */
	memcpy(b, q, n);
	b[5] = 0;
	expect(&z, b, n, SK_DNS_REPLY, 1);
	b[5] = 2;
	expect(&z, b, n, SK_DNS_REPLY, 1);
	/* Label types 01 and 10. */
	memcpy(b, q, n);
	b[12] = 0x47;
	expect(&z, b, n, SK_DNS_REPLY, 1);
	b[12] = 0x87;
	expect(&z, b, n, SK_DNS_REPLY, 1);
	/* A name longer than 255 bytes. */
	memset(b, 0, sizeof(b));
	memcpy(b, q, 12);
	for (int i = 0; i < 5; i++) {
		b[12 + i * 64] = 63;
		memset(b + 13 + i * 64, 'a', 63);
	}
	expect(&z, b, 12 + 5 * 64 + 5, SK_DNS_REPLY, 1);
	/* Compression: a pointer to itself, a loop, a forward pointer. */
	memcpy(b, q, 12);
	b[12] = 0xc0, b[13] = 12, b[14] = 0, b[15] = 1, b[16] = 0, b[17] = 1;
	expect(&z, b, 18, SK_DNS_REPLY, 1);
	b[12] = 1, b[13] = 'a', b[14] = 0xc0, b[15] = 12;
	b[16] = 0, b[17] = 1, b[18] = 0, b[19] = 1;
	expect(&z, b, 20, SK_DNS_REPLY, 1);
	b[12] = 0xc0, b[13] = 14, b[14] = 0, b[15] = 0, b[16] = 1, b[17] = 0, b[18] = 1;
	expect(&z, b, 19, SK_DNS_REPLY, 1);
	/* A pointer at the end of the message. */
	b[12] = 0xc0;
	expect(&z, b, 13, SK_DNS_REPLY, 1);
	/* A pointer into the header is followed safely (and names nothing we know). */
	b[12] = 0xc0, b[13] = 11, b[14] = 0, b[15] = 1, b[16] = 0, b[17] = 1;
	b[11] = 0; /* ARCOUNT 0, and the root label */
	expect(&z, b, 18, SK_DNS_REPLY, 3);

	/* Records after the question: truncated, two OPTs, an OPT not owned by the root. */
	n = make_query(q, 5, "catalog", 1, 1232);
	expect(&z, q, n, SK_DNS_REPLY, 0);
	expect(&z, q, n - 1, SK_DNS_REPLY, 1);
	memcpy(b, q, n);
	memcpy(b + n, q + n - 11, 11);
	b[11] = 2;
	expect(&z, b, n + 11, SK_DNS_REPLY, 1);
	memcpy(b, q, n - 11);
	b[n - 11] = 0xc0; /* owner: a pointer to the question's name, not the root */
	b[n - 10] = 12;
	memcpy(b + n - 9, q + n - 10, 10);
	expect(&z, b, n + 1, SK_DNS_REPLY, 1);
	/* An answer record in a query is skipped, its RDLENGTH checked. */
	memcpy(b, q, n - 11);
	b[7] = 1, b[11] = 0;
	memcpy(b + n - 11, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x01\x02\x03\x04", 16);
	expect(&z, b, n - 11 + 16, SK_DNS_REPLY, 0);
	expect(&z, b, n - 11 + 15, SK_DNS_REPLY, 1);
}

/* ---- the responder ---- */

static int udp_client(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	return fd;
}

/* Sends q over UDP to addr:PORT and waits for one reply; returns its length (0: none). */
static size_t udp_ask(const char *addr, const uint8_t *q, size_t len, uint8_t *out, int ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(PORT),
				  .sin_addr = ip(addr) };
	int fd = udp_client();
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n = 0;

	assert_int_equal(sendto(fd, q, len, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)len);
	if (poll(&p, 1, ms) == 1)
		n = recv(fd, out, 65535, 0);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

/* With half_close, the client shuts its writing side after the query (as some resolvers do). */
static size_t tcp_ask_ex(const char *addr, const uint8_t *q, size_t len, uint8_t *out,
			 bool half_close)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(PORT),
				  .sin_addr = ip(addr) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct timeval tv = { .tv_sec = 3 };
	size_t want;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return 0;
	}
	/* Two writes: the responder must reassemble. */
	assert_int_equal(write(fd, hdr, 2), 2);
	assert_int_equal(write(fd, q, len), (ssize_t)len);
	if (half_close)
		assert_int_equal(shutdown(fd, SHUT_WR), 0);
	if (sk_read_all(fd, hdr, 2) != 2) {
		close(fd);
		return 0;
	}
	want = (size_t)hdr[0] << 8 | hdr[1];
	assert_int_equal(sk_read_all(fd, out, want), (ssize_t)want);
	close(fd);
	return want;
}

static size_t tcp_ask(const char *addr, const uint8_t *q, size_t len, uint8_t *out)
{
	return tcp_ask_ex(addr, q, len, out, false);
}

static const char *first_addr(const uint8_t *m, size_t qlen, char *buf)
{
	return inet_ntop(AF_INET, m + qlen + 12, buf, INET_ADDRSTRLEN);
}

struct dns_fixture {
	char dir[64];
	char resolv[96];
	int upstream;
	struct sk_dns *d;
};

static int dns_setup(void **state)
{
	struct dns_fixture *f = sk_new0(struct dns_fixture, 1);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(53),
				  .sin_addr = ip("127.0.0.2") };
	const char *conf = "# test\nsearch example.com\nnameserver fe80::1\nnameserver 127.0.0.2\n"
			   "nameserver 127.0.0.9\n";
	_cleanup_error_ struct sk_error *err = NULL;

	f->upstream = -1;
	*state = f;
	if (!isolated)
		return 0;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sk-test-dns-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->resolv, sizeof(f->resolv), "%s/resolv.conf", f->dir);
	assert_int_equal(sk_write_file_atomic(f->resolv, conf, strlen(conf), 0644, false), 0);
	f->upstream = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(f->upstream, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(sk_dns_new(&(struct sk_dns_opts){ .port = PORT, .resolv_conf = f->resolv },
				    &f->d, &err),
			 0);
	return 0;
}

static int dns_teardown(void **state)
{
	struct dns_fixture *f = *state;

	sk_dns_free(f->d);
	if (f->upstream >= 0)
		close(f->upstream);
	if (f->dir[0])
		(void)sk_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Asks until the answer's first address is `want` (publishing is asynchronous). */
static void wait_first(const char *addr, const char *name, const char *want)
{
	uint8_t q[512], m[65536];
	size_t n = make_query(q, 1, name, 1, 0);
	char a[INET_ADDRSTRLEN];

	for (int i = 0; i < 100; i++) {
		size_t len = udp_ask(addr, q, n, m, 500);
		if (len > n && rd16(m + 6) > 0 && strcmp(first_addr(m, n, a), want) == 0)
			return;
		usleep(10000);
	}
	fail_msg("%s never answered %s for %s", addr, want, name);
}

static void test_responder(void **state)
{
	struct dns_fixture *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_dns_zone z = shop_zone(false), zones[2];
	struct sk_dns_record moved = { .name = "catalog", .addrs = shop_addrs + 2, .n_addrs = 1 };
	uint8_t q[512], m[65536];
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	size_t n, len;

	if (!isolated)
		skip();
	assert_int_equal(sk_dns_publish(f->d, &z, 1, &err), 0);
	wait_first("127.0.0.1", "shop-catalog-1", "10.88.1.2");

	/* UDP: all three addresses, in another order the next time. */
	n = make_query(q, 0xbeef, "catalog", 1, 0);
	len = udp_ask("127.0.0.1", q, n, m, 2000);
	assert_int_equal(len, n + 3 * 16);
	assert_int_equal(rd16(m), 0xbeef);
	first_addr(m, n, a);
	len = udp_ask("127.0.0.1", q, n, m, 2000);
	assert_int_equal(len, n + 3 * 16);
	assert_string_not_equal(first_addr(m, n, b), a);
	/* NXDOMAIN. */
	n = make_query(q, 2, "nope", 1, 0);
	len = udp_ask("127.0.0.1", q, n, m, 2000);
	assert_int_equal(len, n);
	assert_int_equal(m[3] & 0xf, 3);
	/* TCP. */
	n = make_query(q, 0x4242, "catalog", 1, 0);
	len = tcp_ask("127.0.0.1", q, n, m);
	assert_int_equal(len, n + 3 * 16);
	assert_int_equal(rd16(m), 0x4242);
	/* A garbage TCP message closes the connection. */
	q[2] |= 0x80;
	assert_int_equal(tcp_ask("127.0.0.1", q, n, m), 0);

	/* Republish: new answers, a second zone on another address. */
	z.records = &moved;
	z.n_records = 1;
	zones[0] = z;
	zones[1] = shop_zone(false);
	zones[1].listen = ip("127.0.0.3");
	assert_int_equal(sk_dns_publish(f->d, zones, 2, &err), 0);
	wait_first("127.0.0.1", "catalog", "10.88.1.4");
	wait_first("127.0.0.3", "shop-catalog-1", "10.88.1.2");
	n = make_query(q, 2, "shop-catalog-1", 1, 0);
	len = udp_ask("127.0.0.1", q, n, m, 2000);
	assert_int_equal(m[3] & 0xf, 3); /* zone 1 no longer has it */

	/* A bind failure keeps the old zones. */
	zones[1].listen = ip("192.0.2.1");
	assert_true(sk_dns_publish(f->d, zones, 2, &err) < 0);
	assert_non_null(strstr(err->msg, "dns: listen on 192.0.2.1:5399/udp"));
	sk_error_free(TAKE_PTR(err));
	wait_first("127.0.0.3", "shop-catalog-1", "10.88.1.2");
	/* Two zones on one address. */
	zones[1].listen = zones[0].listen;
	assert_int_equal(sk_dns_publish(f->d, zones, 2, &err), -EINVAL);
	sk_error_free(TAKE_PTR(err));

	/* Dropping a zone closes its sockets; remove and re-add in a row works. */
	assert_int_equal(sk_dns_publish(f->d, zones, 1, &err), 0);
	zones[1].listen = ip("127.0.0.3");
	assert_int_equal(sk_dns_publish(f->d, zones, 2, &err), 0);
	assert_int_equal(sk_dns_publish(f->d, zones, 1, &err), 0);
	for (int i = 0; i < 100; i++) {
		n = make_query(q, 2, "catalog", 1, 0);
		if (tcp_ask("127.0.0.3", q, n, m) == 0)
			break;
		usleep(10000);
	}
	assert_int_equal(tcp_ask("127.0.0.3", q, n, m), 0);
	assert_int_equal(sk_dns_publish(f->d, NULL, 0, &err), 0);
	assert_null(err);
}

static void test_responder_forward(void **state)
{
	struct dns_fixture *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_dns_zone z = shop_zone(true);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(PORT),
				  .sin_addr = ip("127.0.0.1") },
			   from;
	socklen_t fl = sizeof(from);
	uint8_t q[512], up[512], m[65536];
	struct pollfd p;
	size_t n;
	ssize_t got;
	int c;

	if (!isolated)
		skip();
	assert_int_equal(sk_dns_publish(f->d, &z, 1, &err), 0);
	wait_first("127.0.0.1", "catalog", "10.88.1.2");

	/* The upstream sees the query under another id and answers it. */
	n = make_query(q, 0x1111, "example.org", 1, 0);
	c = udp_client();
	assert_int_equal(sendto(c, q, n, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)n);
	p = (struct pollfd){ .fd = f->upstream, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	got = recvfrom(f->upstream, up, sizeof(up), 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(got, (ssize_t)n);
	assert_memory_equal(up + 2, q + 2, n - 2);
	up[2] |= 0x80;
	up[3] = 0x80 | 3; /* RA, NXDOMAIN: the upstream's verdict */
	/* A stray reply with an unknown id is ignored. */
	up[0] ^= 0x55;
	assert_int_equal(sendto(f->upstream, up, n, 0, (struct sockaddr *)&from, fl), (ssize_t)n);
	up[0] ^= 0x55;
	assert_int_equal(sendto(f->upstream, up, n, 0, (struct sockaddr *)&from, fl), (ssize_t)n);
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(c, m, sizeof(m), 0), (ssize_t)n);
	assert_int_equal(rd16(m), 0x1111);
	assert_int_equal(m[3], 0x80 | 3);
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 100), 0); /* only one reply */

	/* Known names are still answered locally. */
	n = make_query(q, 0x2222, "catalog", 1, 0);
	assert_int_equal(udp_ask("127.0.0.1", q, n, m, 2000), n + 3 * 16);

	/* An upstream that stays silent: SERVFAIL after about 2 s. */
	n = make_query(q, 0x3333, "slow.example.org", 1, 0);
	assert_int_equal(sendto(c, q, n, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)n);
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 8000), 1); /* 2 s, with room for a loaded machine */
	assert_int_equal(recv(c, m, sizeof(m), 0), (ssize_t)n);
	assert_int_equal(rd16(m), 0x3333);
	assert_int_equal(m[3] & 0xf, 2);
	close(c);
	/* Drain what the upstream got. */
	while (recv(f->upstream, up, sizeof(up), MSG_DONTWAIT) > 0)
		;
}

/* A one-shot TCP upstream on 127.0.0.2:53: answers one query with `reply_len` bytes. */
struct tcp_upstream {
	int lfd;
	size_t reply_len;
	uint16_t got_id;
};

static void *tcp_upstream_main(void *arg)
{
	struct tcp_upstream *t = arg;
	uint8_t hdr[2], q[512], *r = sk_malloc0(t->reply_len + 2);
	int fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
	size_t n;

	if (fd >= 0 && sk_read_all(fd, hdr, 2) == 2 &&
	    (n = (size_t)(hdr[0] << 8 | hdr[1])) <= sizeof(q) &&
	    sk_read_all(fd, q, n) == (ssize_t)n) {
		t->got_id = (uint16_t)(q[0] << 8 | q[1]);
		r[0] = (uint8_t)(t->reply_len >> 8);
		r[1] = (uint8_t)t->reply_len;
		memset(r + 2, 'x', t->reply_len);
		memcpy(r + 2, q, n);
		r[4] |= 0x80;		/* QR */
		(void)!write(fd, r, 1); /* in pieces: the responder reassembles */
		(void)!write(fd, r + 1, t->reply_len + 1);
	}
	if (fd >= 0)
		close(fd);
	free(r);
	return NULL;
}

/* A query that came over TCP is forwarded over TCP: a long answer arrives whole. */
static void test_responder_forward_tcp(void **state)
{
	struct dns_fixture *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_dns_zone z = shop_zone(true);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(53),
				  .sin_addr = ip("127.0.0.2") };
	struct tcp_upstream t = { .reply_len = 3000 };
	static uint8_t m[65536];
	uint8_t q[512];
	pthread_t th;
	size_t n, got;

	if (!isolated)
		skip();
	assert_int_equal(sk_dns_publish(f->d, &z, 1, &err), 0);
	wait_first("127.0.0.1", "catalog", "10.88.1.2");
	t.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(t.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(t.lfd, 4), 0);
	assert_int_equal(pthread_create(&th, NULL, tcp_upstream_main, &t), 0);
	n = make_query(q, 0x4444, "big.example.org", 1, 0);
	got =
	    tcp_ask_ex("127.0.0.1", q, n, m, true); /* the answer still comes after a half-close */
	assert_int_equal(pthread_join(th, NULL), 0);
	close(t.lfd);
	assert_int_equal(t.got_id, 0x4444); /* its own connection: the id goes through as is */
	assert_int_equal(got, 3000);
	assert_int_equal(rd16(m), 0x4444);
	assert_true(m[2] & 0x80);
	assert_memory_equal(m + 12, q + 12, n - 12);
	assert_int_equal(m[2999], 'x');

	/* No TCP upstream: SERVFAIL at once, over the client's connection. */
	n = make_query(q, 0x5555, "other.example.org", 1, 0);
	got = tcp_ask("127.0.0.1", q, n, m);
	assert_int_equal(got, n);
	assert_int_equal(rd16(m), 0x5555);
	assert_int_equal(m[3] & 0xf, 2);
}

static void test_new_without_upstream(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_dns *d = NULL;

	assert_int_equal(
	    sk_dns_new(&(struct sk_dns_opts){ .port = PORT + 1, .resolv_conf = "/nonexistent" }, &d,
		       &err),
	    0);
	sk_dns_free(d);
	sk_dns_free(NULL);
}

static bool isolate(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int lo;

	if (unshare(CLONE_NEWNET) < 0)
		return false;
	lo = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ioctl(lo, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		(void)ioctl(lo, SIOCSIFFLAGS, &ifr);
	}
	close(lo);
	return true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_a_rotated),
		cmocka_unit_test(test_answer_other_types),
		cmocka_unit_test(test_answer_unknown),
		cmocka_unit_test(test_answer_edns),
		cmocka_unit_test(test_answer_truncation),
		cmocka_unit_test(test_answer_malformed),
		cmocka_unit_test_setup_teardown(test_responder, dns_setup, dns_teardown),
		cmocka_unit_test_setup_teardown(test_responder_forward, dns_setup, dns_teardown),
		cmocka_unit_test_setup_teardown(test_responder_forward_tcp, dns_setup,
						dns_teardown),
		cmocka_unit_test(test_new_without_upstream),
	};

	isolated = isolate();
	if (!isolated)
		fprintf(stderr, "test-dns: cannot unshare a network namespace; responder tests "
				"skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
