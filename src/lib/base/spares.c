/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spares.c - bound sockets kept for reuse (spares.h).
 */
#include "base/spares.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

void sk_spares_add(struct sk_spares *s, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return;
	}
	s->fds = sk_realloc(s->fds, (s->n + 1) * sizeof(int));
	s->fds[s->n++] = fd;
}

int sk_spares_take(struct sk_spares *s, int type, const struct sockaddr *addr, socklen_t len)
{
	for (size_t i = 0; i < s->n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss), tl = sizeof(int);
		int t, fd = s->fds[i];

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &tl) < 0 || t != type ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 || sl != len ||
		    memcmp(&ss, addr, len) != 0)
			continue;
		s->fds[i] = s->fds[--s->n];
		return fd;
	}
	return -1;
}

void sk_spares_close(struct sk_spares *s)
{
	for (size_t i = 0; i < s->n; i++)
		close(s->fds[i]);
	free(s->fds);
	s->fds = NULL;
	s->n = 0;
}
