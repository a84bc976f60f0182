/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-proxy.c - the standalone proxy: reads a JSON configuration
 * (docs/proxy.md), serves it with the proxy library, reloads it on SIGHUP,
 * exits 0 on SIGTERM/SIGINT and optionally serves GET /metrics.
 *
 * The main thread only handles signals (signalfd) and the small metrics
 * server (one request per connection, blocking briefly on a loopback
 * client); the proxy's workers carry the traffic.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "base/http.h"
#include "base/util.h"
#include "proxy/proxy.h"

static int load(const char *path, struct sk_proxy_config **ret, struct sk_error **err)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	int r;

	if (!j)
		return sk_error_set(err, EINVAL, "%s:%d: %s", path, jerr.line, jerr.text);
	r = sk_proxy_config_from_json(j, ret, err);
	json_decref(j);
	if (r < 0)
		sk_error_prefix(err, "%s", path);
	return r;
}

/* "/udp" for a listener of a udp cluster, else "". */
static const char *listener_proto(const struct sk_proxy_config *c,
				  const struct sk_proxy_listener *l)
{
	for (size_t i = 0; i < c->n_clusters; i++)
		if (strcmp(c->clusters[i].name, l->cluster) == 0)
			return c->clusters[i].policy.mode == SK_PROXY_UDP ? "/udp" : "";
	return "";
}

static void describe(const struct sk_proxy_config *c, char *buf, size_t n)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < c->n_listeners && off < n; i++) {
		const struct sockaddr_storage *a = &c->listeners[i].addr;
		const char *proto = listener_proto(c, &c->listeners[i]);
		char h[64] = "";
		unsigned port;

		if (a->ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, h,
				  sizeof(h));
			port = ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
			off += (size_t)snprintf(buf + off, n - off, "%s[%s]:%u%s", i ? ", " : "", h,
						port, proto);
		} else {
			inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, h,
				  sizeof(h));
			port = ntohs(((const struct sockaddr_in *)a)->sin_port);
			off += (size_t)snprintf(buf + off, n - off, "%s%s:%u%s", i ? ", " : "", h,
						port, proto);
		}
	}
}

static int load_and_publish(struct sk_proxy *p, const char *path, bool announce)
{
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	char where[1024];

	if (load(path, &c, &err) < 0 || sk_proxy_publish(p, c, &err) < 0) {
		fprintf(stderr, "skiff-proxy: %s\n", err ? err->msg : "error");
		return -1;
	}
	describe(c, where, sizeof(where));
	fprintf(stderr, "skiff-proxy: %s %s\n",
		announce ? "listening on" : "reloaded, listening on", where);
	return 0;
}

static int metrics_listen(const char *addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(addr, ':');
	int fd, one = 1, port;

	if (!colon || (size_t)(colon - addr) >= sizeof(host) ||
	    sk_parse_int(colon + 1, &port) < 0 || port < 0 || port > 65535)
		return -EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -EINVAL;
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* One request, one response, close.  A slow client gets 2 s. */
static void metrics_serve(struct sk_proxy *p, int lfd)
{
	_cleanup_close_ int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	struct sk_http_parser hp;
	char buf[8192];
	size_t len = 0, used;
	struct sk_http_str d;
	int r = SK_HTTP_AGAIN;
	struct timeval tv = { 2, 0 };

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sk_http_parser_init(&hp, SK_HTTP_REQUEST, NULL);
	while (r == SK_HTTP_AGAIN && len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		r = sk_http_parse(&hp, buf, len, &used, &d);
	}
	if (r == SK_HTTP_HEAD && sk_http_str_eq(hp.msg.method, "GET") &&
	    (sk_http_str_eq(hp.msg.target, "/metrics") ||
	     (hp.msg.target.len > 9 && memcmp(hp.msg.target.p, "/metrics?", 9) == 0))) {
		_cleanup_free_ char *text = NULL;
		_cleanup_free_ char *head = NULL;

		if (sk_proxy_metrics(p, &text, NULL) == 0) {
			head = sk_asprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
					   "version=0.0.4\r\nContent-Length: %zu\r\nConnection: "
					   "close\r\n\r\n",
					   strlen(text));
			if (sk_write_all(fd, head, strlen(head)) == 0)
				(void)sk_write_all(fd, text, strlen(text));
		}
	} else {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n"
					 "Connection: close\r\n\r\nnot found\n";

		(void)sk_write_all(fd, nf, sizeof(nf) - 1);
	}
	sk_http_parser_release(&hp);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: skiff-proxy --config FILE [--threads N] [--metrics-addr HOST:PORT]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "metrics-addr", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_(sk_proxy_freep) struct sk_proxy *p = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_close_ int sfd = -1, mfd = -1;
	struct sk_proxy_opts po = { 0 };
	const char *config = NULL, *maddr = NULL;
	sigset_t mask;
	int c, n;

	while ((c = getopt_long(argc, argv, "c:t:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 't':
			if (sk_parse_int(optarg, &n) < 0 || n < 1 || n > 64) {
				fprintf(stderr, "skiff-proxy: invalid --threads '%s'\n", optarg);
				return 2;
			}
			po.threads = (unsigned)n;
			break;
		case 'm':
			maddr = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!config || optind != argc) {
		usage(stderr);
		return 2;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGPIPE);
	/* blocked before the workers start, so they inherit the mask */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("skiff-proxy: signalfd");
		return 1;
	}
	if (maddr) {
		mfd = metrics_listen(maddr);
		if (mfd < 0) {
			fprintf(stderr, "skiff-proxy: metrics address '%s': %s\n", maddr,
				strerror(-mfd));
			return 1;
		}
	}
	if (sk_proxy_new(&po, &p, &err) < 0) {
		fprintf(stderr, "skiff-proxy: %s\n", err->msg);
		return 1;
	}
	if (load_and_publish(p, config, true) < 0)
		return 1;
	for (;;) {
		struct pollfd pf[2] = { { sfd, POLLIN, 0 }, { mfd, POLLIN, 0 } };
		struct signalfd_siginfo si;

		if (poll(pf, mfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("skiff-proxy: poll");
			return 1;
		}
		if (pf[0].revents && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP)
				(void)load_and_publish(p, config, false);
			else if (si.ssi_signo != SIGPIPE)
				return 0;
		}
		if (mfd >= 0 && pf[1].revents)
			metrics_serve(p, mfd);
	}
}
