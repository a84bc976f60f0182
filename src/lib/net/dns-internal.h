/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns-internal.h - what the DNS responder (dns.c) needs from the wire
 * codec (dns-wire.c) beyond sk_dns_answer(): the TCP flavour of answering
 * and the SERVFAIL a forwarded query gets when the upstream stays silent.
 */
#ifndef SK_NET_DNS_INTERNAL_H
#define SK_NET_DNS_INTERNAL_H

#include "net/dns.h"

#define SK_DNS_HEADER 12
#define SK_DNS_UDP_MAX 1232   /* what we advertise and the most we send over UDP */
#define SK_DNS_MSG_MAX 65535  /* a TCP message */
#define SK_DNS_QUERY_MAX 4096 /* larger queries are not read */

#define SK_DNS_RCODE_SERVFAIL 2

/*
 * sk_dns_answer() with a choice of transport: over UDP a reply is limited
 * to 512 bytes, or the EDNS payload size the query advertises (at most
 * SK_DNS_UDP_MAX); over TCP only by cap.
 */
enum sk_dns_verdict sk_dns_answer_ex(const struct sk_dns_zone *z, const uint8_t *q, size_t len,
				     unsigned rot, bool tcp, uint8_t *out, size_t cap,
				     size_t *ret_len);

/*
 * A reply with `rcode` and no records to query q (echoing its id, question
 * and OPT).  False when q is not a query one can answer (it was not
 * accepted by sk_dns_answer()) or cap is too small.
 */
bool sk_dns_error_reply(const uint8_t *q, size_t len, int rcode, uint8_t *out, size_t cap,
			size_t *ret_len);

#endif
