/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns-responder.h - the state of the DNS responder shared by its two
 * halves: dns-publish.c (listeners and snapshots, on publishers' threads)
 * and dns.c (the responder thread).  See dns.c for who owns what.
 */
#ifndef SK_NET_DNS_RESPONDER_H
#define SK_NET_DNS_RESPONDER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/spares.h"
#include "net/dns-internal.h"

#define DNS_MAX_PENDING 256
#define DNS_MAX_CONNS 64
#define DNS_FORWARD_TIMEOUT (2 * 1000000000ull)
#define DNS_TCP_IDLE (10 * 1000000000ull)
#define DNS_CONN_OUT_MAX (256 * 1024)
#define DNS_UDP_BUDGET 64 /* datagrams per wakeup and socket, for fairness */
#define DNS_MAX_UPTCP 16  /* queries forwarded over TCP at once */

enum handler_kind {
	H_EVENT,
	H_UDP,
	H_TCP,
	H_CONN,
	H_UPSTREAM,
	H_UPTCP,
};

struct handler {
	enum handler_kind kind;
};

struct listener {
	struct handler hu, ht; /* epoll data of udp_fd and tcp_fd */
	atomic_int refs;
	struct in_addr addr;
	int udp_fd, tcp_fd;
	/* publishers, under pub_lock: fds taken from the spares, given back if the publish
	 * that opened the listener fails */
	bool udp_adopted, tcp_adopted, fresh;
	/* responder thread only */
	bool registered;
	const struct sk_dns_zone *zone; /* in the responder's snapshot; NULL: retired */
};

struct snapshot {
	uint64_t gen;
	struct sk_dns_zone *zones;
	struct listener **listeners; /* one reference each, parallel to zones */
	size_t n;
};

struct conn {
	struct handler h;
	struct conn *next;
	int fd;
	bool dead, eof;
	uint64_t id, deadline;
	struct listener *l;
	size_t in_len;
	uint8_t in[2 + SK_DNS_QUERY_MAX];
	uint8_t *out;
	size_t out_len, out_off;
};

/* A query that came over TCP, forwarded over its own TCP connection. */
struct uptcp {
	struct handler h;
	int fd; /* -1: slot free */
	uint64_t conn_id, deadline;
	uint8_t *q; /* the query, length-prefixed */
	size_t q_len, q_off;
	uint8_t *r; /* the reply, length-prefixed: 2 bytes, then as many as they say */
	size_t r_len, r_off;
};

struct pending {
	bool used;
	uint16_t new_id, old_id;
	uint64_t deadline;
	struct listener *l; /* UDP: reply from its socket to client */
	struct sockaddr_in client;
	uint64_t conn_id; /* TCP: the connection, 0 for UDP */
	uint8_t *query;
	size_t query_len;
};

struct sk_dns {
	pthread_t thread;
	bool started;
	int epfd, evfd, upstream_fd;
	struct handler h_event, h_upstream;
	uint16_t port;
	atomic_bool stop;
	_Atomic(struct snapshot *) mailbox;

	pthread_mutex_t pub_lock;
	struct listener **pub; /* the last published listeners, one reference each */
	size_t n_pub;
	uint64_t pub_gen;
	/*
	 * Listeners a publish dropped that the responder may still serve: kept
	 * (and reused if named again) until it adopted that generation, so a
	 * quick remove-and-add of an address never hits EADDRINUSE.
	 */
	struct retired {
		struct listener *l;
		uint64_t gen;
	} * retired;
	size_t n_retired;
	atomic_uint_fast64_t adopted_gen;
	struct sk_spares
	    spares; /* sockets a previous skiffd served (sk_dns_adopt), under pub_lock */

	/* responder thread only */
	struct snapshot *cur;
	struct conn *conns;
	size_t n_conns;
	uint64_t next_conn_id;
	struct pending pend[DNS_MAX_PENDING];
	size_t n_pending;
	struct sockaddr_in upstream; /* valid when upstream_fd >= 0 */
	struct uptcp uptcp[DNS_MAX_UPTCP];
	size_t n_uptcp;
	unsigned rot;
	uint64_t rng;
	uint8_t *buf, *out;
};

/* Drops a reference; the last one closes the sockets.  Accepts NULL. */
void sk_dns_listener_unref(struct listener *l);
/* Frees a snapshot and drops its listener references.  Accepts NULL. */
void sk_dns_snapshot_free(struct snapshot *s);

#endif
