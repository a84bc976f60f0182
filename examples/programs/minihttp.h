/* SPDX-License-Identifier: Apache-2.0 */
/*
 * minihttp.h - what shopd.c and gateway.c share of serving HTTP/1.1: the
 * strict request-head parser (request line and header fields), reason
 * phrases, the log line, strict decimal numbers, the monotonic clock, and
 * the listening socket and SIGTERM/SIGINT signalfd of their poll() loops.
 *
 * A header of static functions rather than a .c of its own: each example
 * program is built from one translation unit (the Makefile's
 * build/examples/% rule, scripts/mk-demo-images.sh), and this keeps it so.
 * Include it after defining _GNU_SOURCE (memmem, strcasestr).
 */
#ifndef MINIHTTP_H
#define MINIHTTP_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TCHARS "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/* A connection's current request, as http_take_head() parsed it. */
struct http_req {
	bool closing, head;	    /* answer with "Connection: close"; a HEAD request */
	int64_t t0_us;		    /* when its head was taken, for the log line */
	char method[8], target[96]; /* "" when the request line was bad */
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Strict decimal in [lo, hi]: -1 on junk, a sign, overflow or out of range. */
static int parse_num(const char *s, long lo, long hi, long *ret)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*ret = v;
	return 0;
}

/* The reason phrase for the statuses the programs answer with; for any
 * other (an upstream's, say) its class: the code is what counts. */
static const char *http_reason(int status)
{
	return status == 200   ? "OK"
	       : status == 400 ? "Bad Request"
	       : status == 404 ? "Not Found"
	       : status == 405 ? "Method Not Allowed"
	       : status == 431 ? "Request Header Fields Too Large"
	       : status == 502 ? "Bad Gateway"
	       : status == 503 ? "Service Unavailable"
	       : status == 504 ? "Gateway Timeout"
	       : status == 505 ? "HTTP Version Not Supported"
	       : status < 400  ? "Other"
	       : status < 500  ? "Client Error"
			       : "Server Error";
}

/* Before answering r with status: after a malformed request the rest of the
 * stream cannot be trusted, so the answer closes the connection. */
static void http_close_after(struct http_req *r, int status)
{
	if (status == 400 || status == 405 || status == 431 || status == 505)
		r->closing = true;
}

/* Logs the answer to r on stdout: "GET / 200 0.1ms", then " note" if any. */
static void http_log(const struct http_req *r, int status, const char *note)
{
	printf("%s %s %d %.1fms%s%s\n", r->method[0] ? r->method : "-",
	       r->target[0] ? r->target : "-", status, (double)(now_us() - r->t0_us) / 1000.0,
	       note ? " " : "", note ? note : "");
}

/* The header lines after the request line (NUL-terminated, each ending in
 * CRLF).  Returns the HTTP status to answer with, 0 if they are fine. */
static int http_parse_headers(struct http_req *r, char *h, bool http11)
{
	bool host = false;

	while (*h) {
		char *eol = strstr(h, "\r\n"), *colon = h + strspn(h, TCHARS), *v, *e;
		*eol = '\0';
		if (colon == h || *colon != ':')
			return 400; /* an empty name, space before the colon, obs-fold */
		*colon = '\0';
		v = colon + 1 + strspn(colon + 1, " \t");
		for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		for (char *p = v; *p; p++)
			if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
				return 400; /* a bare CR or another control character */
		host |= !strcasecmp(h, "host");
		if (!strcasecmp(h, "transfer-encoding") ||
		    (!strcasecmp(h, "content-length") && strcmp(v, "0")))
			return 400; /* no request bodies here */
		if (!strcasecmp(h, "connection") && strcasestr(v, "close"))
			r->closing = true;
		h = eol + 2;
	}
	return http11 && !host ? 400 : 0;
}

/* The request line (NUL-terminated): sets r->method, target, closing, head.
 * Returns the HTTP status to answer with, 0 if it is fine. */
static int http_parse_request_line(struct http_req *r, char *line)
{
	char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL, *ver;

	if (!sp2 || strchr(sp2 + 1, ' ') || sp1 == line || sp1[1] != '/')
		return 400;
	*sp1 = *sp2 = '\0';
	ver = sp2 + 1;
	for (char *p = sp1 + 1; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return 400;
	if (line[strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")] || strlen(line) >= sizeof(r->method) ||
	    strlen(sp1 + 1) >= sizeof(r->target))
		return 400;
	if (strcmp(ver, "HTTP/1.1") && strcmp(ver, "HTTP/1.0"))
		return strncmp(ver, "HTTP/", 5) ? 400 : 505;
	strcpy(r->method, line);
	strcpy(r->target, sp1 + 1);
	r->closing = strcmp(ver, "HTTP/1.1") != 0;
	r->head = !strcmp(line, "HEAD");
	return 0;
}

/*
 * Takes the request head at the start of in[0..*in_len) (a buffer of cap
 * bytes) into r, and drops it from in.  Returns -1 when no complete head is
 * buffered yet, else the HTTP status to answer with: 431 when the head fills
 * the buffer, 400 when it is malformed, 405 for a method but GET and HEAD,
 * 505 for an HTTP version but 1.0 and 1.1, 0 for a request to route.
 */
static int http_take_head(struct http_req *r, char *in, size_t *in_len, size_t cap)
{
	char *end = memmem(in, *in_len, "\r\n\r\n", 4), *eol;
	size_t used;
	int st;

	if (!end && *in_len < cap)
		return -1;
	r->method[0] = r->target[0] = '\0';
	r->head = false; /* http_parse_request_line sets it and closing */
	r->t0_us = now_us();
	used = end ? (size_t)(end - in) + 4 : *in_len;
	st = !end ? 431 : memchr(in, '\0', used) ? 400 : 0; /* too long, or a NUL byte */
	if (!st) {
		end[2] = '\0'; /* keeps the last header line's CRLF */
		eol = strstr(in, "\r\n");
		*eol = '\0';
		if (!(st = http_parse_request_line(r, in)))
			st = http_parse_headers(r, eol + 2, !r->closing);
	}
	if (!st && strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		st = 405;
	memmove(in, in + used, *in_len - used);
	*in_len -= used;
	return st;
}

/* Reads what arrived on fd into in[*in_len..cap).  Returns 1 when it read
 * something, 0 when nothing was there yet (EAGAIN, EINTR), -1 at EOF (a
 * half-close too) or on an error. */
static int http_recv(int fd, char *in, size_t *in_len, size_t cap)
{
	ssize_t n = recv(fd, in + *in_len, cap - *in_len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	*in_len += (size_t)n;
	return 1;
}

/* Sends buf[*off..len) on fd as far as it goes without blocking, moving *off
 * on.  Returns 1 when all of it is sent, 0 when fd would block, -1 on an
 * error (errno set). */
static int http_send(int fd, const char *buf, size_t *off, size_t len)
{
	while (*off < len) {
		ssize_t n = send(fd, buf + *off, len - *off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n < 0)
			return -1;
		*off += (size_t)n;
	}
	return 1;
}

/* SIGTERM and SIGINT blocked and readable from the returned signalfd. */
static int http_signalfd(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	return signalfd(-1, &mask, SFD_CLOEXEC);
}

/* A non-blocking TCP socket listening on addr:*port (*port 0: the kernel
 * picks one, and *port is set to it).  Returns it, or -1 with errno set. */
static int http_listen(const char *addr, long *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)*port) };
	socklen_t salen = sizeof(sa);

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
		*port = ntohs(sa.sin_port);
	return fd;
}

#endif /* MINIHTTP_H */
