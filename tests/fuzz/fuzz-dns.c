/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-dns.c - libFuzzer target for the DNS responder's message codec
 * (net/dns.h, src/lib/net/dns-wire.c).
 *
 * Input: one control byte (bit 0: the zone forwards, bit 1: answer as over
 * TCP, bits 2-7: the reply buffer's size in 16-byte steps, 0 meaning
 * 64 KiB), one rotation byte, then the query message.  Beyond "no crash"
 * it asserts what any reply must satisfy: it fits the buffer (and 512
 * bytes, or 1232 with EDNS, over UDP), is a response carrying the query's
 * id, has at most one question, answers only with 16-byte A records that
 * are the record's addresses, and the records it counts are all there.
 * The SERVFAIL helper must accept whatever was answered or forwarded.
 * Seeds live in tests/fuzz/corpus/fuzz-dns/.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Walks a reply's records with the same bounds rules a client would apply. */
static void check_reply(const uint8_t *m, size_t len, const uint8_t *q, const struct sk_dns_zone *z)
{
	size_t off = SK_DNS_HEADER;
	unsigned qd = rd16(m + 4), an = rd16(m + 6), ns = rd16(m + 8), ar = rd16(m + 10);

	CHECK(len >= SK_DNS_HEADER);
	CHECK(rd16(m) == rd16(q));
	CHECK(m[2] & 0x80);
	CHECK(qd <= 1 && ns == 0 && ar <= 1);
	if (qd) {
		while (off < len && m[off] != 0) {
			CHECK((m[off] & 0xc0) == 0); /* we write the question uncompressed */
			off += 1 + m[off];
		}
		off += 1 + 4;
		CHECK(off <= len);
	}
	for (unsigned i = 0; i < an; i++) {
		bool known = false;

		CHECK(off + 16 <= len);
		CHECK(rd16(m + off) == 0xc00c && rd16(m + off + 2) == 1 && rd16(m + off + 10) == 4);
		for (size_t r = 0; r < z->n_records && !known; r++)
			for (size_t k = 0; k < z->records[r].n_addrs && !known; k++)
				known = memcmp(m + off + 12, &z->records[r].addrs[k], 4) == 0;
		CHECK(known);
		off += 16;
	}
	if (ar) {
		CHECK(off + 11 <= len);
		CHECK(m[off] == 0 && rd16(m + off + 1) == 41);
		off += 11;
	}
	CHECK(off == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[SK_DNS_MSG_MAX];
	struct in_addr addrs[40];
	struct sk_dns_record recs[] = {
		{ .name = "catalog", .addrs = addrs, .n_addrs = 40 },
		{ .name = "a", .addrs = addrs + 1, .n_addrs = 1 },
		{ .name = "1.web", .addrs = addrs + 2, .n_addrs = 2 },
		{ .name = "none", .addrs = NULL, .n_addrs = 0 },
	};
	struct sk_dns_zone z = { .ttl = 3, .records = recs, .n_records = 4 };
	enum sk_dns_verdict v;
	size_t cap, len = SIZE_MAX, n;
	bool tcp;

	if (size < 2)
		return 0;
	for (uint32_t i = 0; i < 40; i++)
		addrs[i].s_addr = htonl(0x0a580100u + i);
	z.forward = data[0] & 1;
	tcp = data[0] & 2;
	cap = (size_t)(data[0] >> 2) * 16;
	if (!cap)
		cap = sizeof(out);
	v = sk_dns_answer_ex(&z, data + 2, size - 2, data[1], tcp, out, cap, &len);
	switch (v) {
	case SK_DNS_REPLY:
		CHECK(len <= cap);
		CHECK(tcp || len <= SK_DNS_UDP_MAX);
		check_reply(out, len, data + 2, &z);
		if ((out[3] & 0xf) == 0 || (out[3] & 0xf) == 3)
			CHECK(sk_dns_error_reply(data + 2, size - 2, 2, out, sizeof(out), &n));
		break;
	case SK_DNS_FORWARD:
		CHECK(z.forward);
		CHECK(sk_dns_error_reply(data + 2, size - 2, 2, out, sizeof(out), &n));
		check_reply(out, n, data + 2, &z);
		break;
	case SK_DNS_DROP:
		CHECK(len == SIZE_MAX);
		break;
	}
	return 0;
}
