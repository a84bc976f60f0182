/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns.h - the embedded DNS responder: answers containers' queries for
 * service, replica and container names with A records from a snapshot the
 * control loop publishes, on its own thread.
 *
 * One responder serves every app: each zone listens (UDP and TCP) on its
 * app's bridge gateway address, port 53, and answers only from its own
 * records.  A name with several addresses is answered with all of them,
 * rotated per query (round-robin DNS), TTL `ttl` (short, so clients follow
 * replicas coming and going).  A known name asked for another type gets an
 * empty NOERROR answer; an unknown name gets NXDOMAIN, or, when the zone
 * forwards, is relayed to the host's resolvers (from /etc/resolv.conf when
 * the responder started) and the answer relayed back.
 *
 * The wire format is parsed by hand (no Debian package offers a small
 * server-side DNS message codec); sk_dns_answer() is the parser's entry
 * point for tests and the fuzz target tests/fuzz/fuzz-dns.c.
 */
#ifndef SK_NET_DNS_H
#define SK_NET_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct sk_dns_record {
	char *name; /* lowercase, no trailing dot: "catalog", "shop-catalog-1", "1.catalog" */
	struct in_addr *addrs;
	size_t n_addrs;
};

struct sk_dns_zone {
	struct in_addr listen; /* the address to serve on (port 53, or the responder's port) */
	bool forward;	       /* unknown names go to the host's resolvers */
	uint32_t ttl;	       /* 0: 2 s */
	struct sk_dns_record *records;
	size_t n_records;
};

struct sk_dns_opts {
	uint16_t port;		 /* 0: 53 (tests use another port) */
	const char *resolv_conf; /* NULL: /etc/resolv.conf */
};

struct sk_dns;

/* Starts the responder thread (no zones yet). */
int sk_dns_new(const struct sk_dns_opts *o, struct sk_dns **ret, struct sk_error **err);
/*
 * Replaces all zones (copied; caller keeps its own).  Opens sockets for new
 * listen addresses, closes those no longer named.  On a bind failure the old
 * zones stay.  Never waits on the responder thread.
 */
int sk_dns_publish(struct sk_dns *d, const struct sk_dns_zone *zones, size_t n_zones,
		   struct sk_error **err);
void sk_dns_free(struct sk_dns *d);

/*
 * Takes fd, a socket a previous responder was bound to (kept by skiff's
 * keeper while skiffd restarted), as a spare: a publish that needs that
 * address and type uses it, so queries that queued on it are answered.
 */
void sk_dns_adopt(struct sk_dns *d, int fd);
/* Closes the spares no publish has used. */
void sk_dns_close_spares(struct sk_dns *d);
/* Copies (dup, CLOEXEC) of the published UDP and TCP sockets on addr: the count (0-2). */
size_t sk_dns_listener_fds(struct sk_dns *d, struct in_addr addr, int out[2]);
static inline void sk_dns_freep(struct sk_dns **d)
{
	sk_dns_free(*d);
}

enum sk_dns_verdict {
	SK_DNS_REPLY,	/* *ret_len bytes of reply in out */
	SK_DNS_FORWARD, /* unknown name in a forwarding zone: relay the query */
	SK_DNS_DROP,	/* not a query worth an answer (a response, too short) */
};

/*
 * Answers one query message q[0..len) from zone z into out (cap bytes;
 * replies that do not fit are truncated with TC set).  `rot` rotates the
 * address order.  Malformed queries with a readable header get FORMERR,
 * unsupported opcodes NOTIMP.  Pure function: no I/O.
 * The reply is sized as for UDP: at most 512 bytes, or the query's EDNS
 * payload size up to 1232 (the responder answers TCP without that limit).
 */
enum sk_dns_verdict sk_dns_answer(const struct sk_dns_zone *z, const uint8_t *q, size_t len,
				  unsigned rot, uint8_t *out, size_t cap, size_t *ret_len);

#endif
