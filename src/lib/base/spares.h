/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spares.h - bound sockets kept for reuse: what a previous skiffd's proxy
 * and DNS responder listened on, handed back by the keeper after a restart
 * (see docs/daemon.md, "Held listening sockets").  A module that is about
 * to bind an address first takes a spare of the same type bound there, so
 * connections and datagrams that queued on it while nobody served them are
 * answered.  Not thread-safe: callers hold their own lock.
 */
#ifndef SK_BASE_SPARES_H
#define SK_BASE_SPARES_H

#include <stddef.h>
#include <sys/socket.h>

struct sk_spares {
	int *fds;
	size_t n;
};

/* Takes fd (set O_NONBLOCK; closed at once when that fails). */
void sk_spares_add(struct sk_spares *s, int fd);

/* A spare of this type (SOCK_STREAM, SOCK_DGRAM) bound to addr, now the caller's; else -1. */
int sk_spares_take(struct sk_spares *s, int type, const struct sockaddr *addr, socklen_t len);

/* Closes every spare left. */
void sk_spares_close(struct sk_spares *s);

#endif
