/* SPDX-License-Identifier: Apache-2.0 */
/*
 * udpecho.c - a UDP echo server for skiff's examples and system tests, built
 * -static (busybox's nc has no UDP mode): answers each datagram to its
 * sender, prefixed with "<hostname>:<sender's port>:", so a client sees which
 * replica answered (and, behind skiff's proxy, through which flow).  Not a
 * server to build on.
 *
 * Environment: PORT (5353), ADDR (0.0.0.0).  Prints "udpecho: NAME listening
 * on ADDR:PORT" once bound; SIGTERM/SIGINT: "shutting down", exit 0 (it may
 * be a container's pid 1, which the default action of SIGTERM spares).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int env_port(void)
{
	const char *s = getenv("PORT");
	char *end;
	long v;

	if (!s || !*s)
		return 5353;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

int main(void)
{
	static char in[65536], out[65536 + 128];
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: recvfrom returns */
	struct sockaddr_in a = { .sin_family = AF_INET };
	const char *addr = getenv("ADDR");
	char name[64] = "udpecho";
	int port = env_port(), fd;

	if (port < 0) {
		fprintf(stderr, "udpecho: invalid PORT\n");
		return 2;
	}
	if (!addr || !*addr)
		addr = "0.0.0.0";
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		fprintf(stderr, "udpecho: invalid ADDR '%s'\n", addr);
		return 2;
	}
	a.sin_port = htons((unsigned short)port);
	(void)gethostname(name, sizeof(name) - 1);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "udpecho: bind %s:%d: %s\n", addr, port, strerror(errno));
		return 1;
	}
	printf("udpecho: %s listening on %s:%d\n", name, addr, port);
	fflush(stdout);
	while (!stop) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&peer, &pl);
		int h;

		if (n < 0)
			continue; /* EINTR (then stop is set), or an error of an earlier send */
		h = snprintf(out, sizeof(out), "%s:%u:", name, ntohs(peer.sin_port));
		if ((size_t)h + (size_t)n > sizeof(out))
			n = (ssize_t)(sizeof(out) - (size_t)h);
		memcpy(out + h, in, (size_t)n);
		(void)sendto(fd, out, (size_t)h + (size_t)n, 0, (struct sockaddr *)&peer, pl);
	}
	printf("udpecho: shutting down\n");
	return 0;
}
