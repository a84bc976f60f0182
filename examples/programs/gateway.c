/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway.c - the demo shop's front door: a small HTTP/1.1 server that answers
 * each request by asking one backend service, built -static for the
 * skiff-demo/gateway image.  It shows what skiff's service proxy does (which
 * replica answered, retries, fallback); it is not a reverse proxy to build on.
 *
 *   GET /                 a small HTML index
 *   GET /healthz          200 "ok" (the gateway's own health)
 *   GET /catalog          GET /items of CATALOG
 *   GET /recommendations  GET /recommendations of RECOMMENDATIONS
 *
 * A forwarded answer keeps the upstream's status, Content-Type and body, and
 * gets "X-Served-By: V" when the upstream sent "x-skiff-upstream: V" (skiff's
 * proxy names the replica it chose).  An upstream that cannot be resolved,
 * refuses, resets or answers junk gives 502; one that has not answered after
 * TIMEOUT_MS (resolution, connect and answer together) gives 504.
 *
 * Names are resolved without blocking the loop: an IPv4 literal, else the
 * first match in /etc/hosts, else an A query over UDP to the first IPv4
 * nameserver of /etc/resolv.conf (127.0.0.1 without one), asked anew for
 * every request (skiff's DNS answers with short TTLs).  No search domains:
 * skiff's DNS answers bare service names.  glibc's getaddrinfo() does work in
 * a -static binary in a bare root (files and dns are built in), but it blocks
 * and draws a link-time warning; this is a few dozen lines with strict bounds.
 *
 * Environment: PORT (8080; 0 picks one, shown in the startup line), ADDR
 * (0.0.0.0), CATALOG ("catalog:80"), RECOMMENDATIONS ("recommendations:80"),
 * TIMEOUT_MS (2000).  Logs each request on stdout ("GET /catalog 200 1.2ms
 * catalog:80 ...").  SIGTERM/SIGINT: "shutting down", exit 0.  One poll()
 * loop; each client connection has at most one upstream request at a time
 * (pipelined requests wait their turn).  Client requests are parsed with the
 * same strict rules as shopd.c (minihttp.h).
 */
#define _GNU_SOURCE /* memmem, strcasestr, accept4 */
#include <ctype.h>
#include <poll.h>
#include <sys/random.h>

#include "minihttp.h"

#define MAX_CONN 256
#define IN_MAX 8192
#define UP_MAX 32768 /* an upstream's whole answer, head and body */
#define OUT_MAX (UP_MAX + 1024)
#define IDLE_MS 60000
#define HOST_MAX 253
#define DNS_MAX 1232 /* a UDP answer we read; more is cut (and then malformed) */

struct upstream {
	const char *route, *path; /* the gateway's path, the path asked upstream */
	char host[HOST_MAX + 1], spec[HOST_MAX + 8];
	uint16_t port;
};

enum state { ST_READ, ST_RESOLVE, ST_CONNECT, ST_SEND, ST_RECV, ST_WRITE };

struct conn {
	int fd, ufd; /* fd -1: a free slot; ufd: UDP while resolving, then TCP */
	enum state st;
	bool have_head;
	const struct upstream *up;
	uint16_t qid;	  /* of the DNS query kept in buf[0..qlen) */
	int ustatus;	  /* once have_head: the upstream's status, */
	long uclen;	  /* Content-Length (-1: until EOF), */
	size_t uhead_len; /* where its body starts */
	char uctype[96], userved[96];
	size_t in_len, qlen, buf_len, buf_off, out_len, out_off;
	int64_t deadline_ms; /* the upstream's deadline, else the idle limit */
	struct http_req req;
	char in[IN_MAX], buf[UP_MAX], out[OUT_MAX];
};

struct server {
	int lfd;
	long timeout_ms;
	char host[128];
	size_t nconn;
	struct upstream ups[2];
	struct conn conns[MAX_CONN];
};

/* Copies src[0..len) to dst (cap bytes, NUL-terminated), each byte outside
 * printable ASCII, and '"', '\\', '<', '>', '&', replaced by '_': safe in a
 * header, a JSON string and HTML. */
static void copy_safe(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < cap; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[i] = ch < 0x20 || ch > 0x7e || strchr("\"\\<>&", ch) ? '_' : (char)ch;
	}
	dst[i] = '\0';
}

static void close_upstream(struct conn *c)
{
	if (c->ufd >= 0)
		close(c->ufd);
	c->ufd = -1;
}

/*
 * Queues the answer to c's current request (body[0..len); served, when not
 * NULL, as X-Served-By), logs it with note, and moves c to ST_WRITE.
 */
static void respond(struct conn *c, int status, const char *ctype, const char *served,
		    const char *body, size_t len, const char *note)
{
	int n;

	close_upstream(c);
	http_close_after(&c->req, status);
	n = snprintf(c->out, sizeof(c->out),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%s%s"
		     "Connection: %s\r\n\r\n",
		     status, http_reason(status), ctype, len, served ? "X-Served-By: " : "",
		     served ? served : "", served ? "\r\n" : "",
		     status == 405 ? "Allow: GET, HEAD\r\n" : "",
		     c->req.closing ? "close" : "keep-alive");
	c->out_len = n < 0 || (size_t)n >= sizeof(c->out) ? 0 : (size_t)n;
	if (!c->req.head && len <= sizeof(c->out) - c->out_len) {
		memcpy(c->out + c->out_len, body, len);
		c->out_len += len;
	}
	c->out_off = 0;
	c->st = ST_WRITE;
	c->deadline_ms = now_us() / 1000 + IDLE_MS;
	http_log(&c->req, status, note);
}

/* A 502 or 504 from the gateway itself; its body and log say "SPEC: why". */
static void fail(struct conn *c, int status, const char *why)
{
	char note[HOST_MAX + 128], body[sizeof(note) + 1];
	int n = snprintf(note, sizeof(note), "%s: %s", c->up->spec, why);

	if (n > 0 && (size_t)n < sizeof(note) - 2)
		note[strlen(c->up->spec) + 2] = (char)tolower((unsigned char)why[0]); /* strerror */
	snprintf(body, sizeof(body), "%s\n", note);
	respond(c, status, "text/plain", NULL, body, strlen(body), note);
}

/* ---------------------------------------------------------------- names */

/* The first IPv4 address for name in /etc/hosts: 0, or -1. */
static int hosts_lookup(const char *name, struct in_addr *ret)
{
	FILE *f = fopen("/etc/hosts", "re");
	char line[512];
	int r = -1;

	while (f && r < 0 && fgets(line, sizeof(line), f)) {
		char *save, *addr, *alias;
		struct in_addr a;
		line[strcspn(line, "#\n")] = '\0';
		addr = strtok_r(line, " \t", &save);
		if (!addr || inet_pton(AF_INET, addr, &a) != 1)
			continue; /* a comment, blank, IPv6 or junk line */
		while (r < 0 && (alias = strtok_r(NULL, " \t", &save)))
			if (!strcasecmp(alias, name)) {
				*ret = a;
				r = 0;
			}
	}
	if (f)
		fclose(f);
	return r;
}

/* The first IPv4 nameserver of /etc/resolv.conf; 127.0.0.1 without one. */
static struct in_addr nameserver(void)
{
	struct in_addr a = { .s_addr = htonl(INADDR_LOOPBACK) }, b;
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512], *save, *k, *v;

	while (f && fgets(line, sizeof(line), f)) {
		k = strtok_r(line, " \t\r\n", &save);
		v = k ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		if (v && !strcmp(k, "nameserver") && inet_pton(AF_INET, v, &b) == 1) {
			a = b;
			break;
		}
	}
	if (f)
		fclose(f);
	return a;
}

/*
 * Sends an A query for c->up->host to the nameserver from a new UDP socket
 * (c->ufd), keeping the query in c->buf for dns_parse().  Returns 0, or -1
 * with errno set.
 */
static int dns_send(struct conn *c)
{
	struct sockaddr_in ns = { .sin_family = AF_INET, .sin_port = htons(53) };
	uint8_t *q = (uint8_t *)c->buf;
	const char *label = c->up->host;
	size_t off = 12;

	if (getrandom(&c->qid, sizeof(c->qid), GRND_NONBLOCK) != sizeof(c->qid))
		c->qid = (uint16_t)(now_us() ^ getpid());
	memset(q, 0, 12);
	q[0] = (uint8_t)(c->qid >> 8), q[1] = (uint8_t)c->qid;
	q[2] = 0x01;	 /* RD */
	q[5] = 1;	 /* QDCOUNT */
	while (*label) { /* host was checked: labels of 1..63 bytes, 253 in all */
		size_t n = strcspn(label, ".");
		q[off++] = (uint8_t)n;
		memcpy(q + off, label, n);
		off += n;
		label += n + (label[n] == '.');
	}
	memcpy(q + off, "\0\0\1\0\1", 5); /* root, QTYPE A, QCLASS IN */
	c->qlen = off + 5;
	ns.sin_addr = nameserver();
	c->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->ufd < 0 || connect(c->ufd, (struct sockaddr *)&ns, sizeof(ns)) < 0 ||
	    send(c->ufd, q, c->qlen, 0) != (ssize_t)c->qlen)
		return -1;
	return 0;
}

/* The offset after the (possibly compressed) name at r[off], or -1. */
static long dns_skip_name(const uint8_t *r, size_t n, size_t off)
{
	while (off < n) {
		uint8_t len = r[off];
		if (len == 0)
			return (long)off + 1;
		if ((len & 0xc0) == 0xc0)
			return off + 2 <= n ? (long)off + 2 : -1;
		if (len & 0xc0)
			return -1; /* the reserved label types */
		off += 1 + (size_t)len;
	}
	return -1;
}

/*
 * The first A record in the answer r[0..n) to the query q[0..qlen).
 * Returns 0 and *ret, -EAGAIN for an answer to another query (ignore it),
 * -ENOENT for no such name or no A record, -EBADMSG for anything malformed
 * or truncated, -EIO for another error code.
 */
static int dns_parse(const uint8_t *q, size_t qlen, const uint8_t *r, size_t n, struct in_addr *ret)
{
	size_t off = qlen, an;

	if (n < 12 || r[0] != q[0] || r[1] != q[1] || !(r[2] & 0x80))
		return -EAGAIN;
	if (r[2] & 0x02)
		return -EBADMSG; /* TC: an A answer for one name should fit */
	if ((r[3] & 0x0f) == 3)
		return -ENOENT;
	if (r[3] & 0x0f)
		return -EIO;
	if (n < qlen || r[4] != 0 || r[5] != 1 || memcmp(r + qlen - 4, q + qlen - 4, 4))
		return -EBADMSG;
	for (size_t i = 12; i < qlen - 4; i++)
		if (tolower(r[i]) != tolower(q[i]))
			return -EBADMSG; /* not the question we asked */
	an = (size_t)r[6] << 8 | r[7];
	for (size_t i = 0; i < an; i++) {
		long next = dns_skip_name(r, n, off);
		size_t type, class, rdlen;
		if (next < 0 || (size_t)next + 10 > n)
			return -EBADMSG;
		off = (size_t)next;
		type = (size_t)r[off] << 8 | r[off + 1];
		class = (size_t)r[off + 2] << 8 | r[off + 3];
		rdlen = (size_t)r[off + 8] << 8 | r[off + 9];
		off += 10;
		if (off + rdlen > n)
			return -EBADMSG;
		if (type == 1 && class == 1 && rdlen == 4) {
			memcpy(&ret->s_addr, r + off, 4);
			return 0;
		}
		off += rdlen; /* a CNAME, say: its A record follows */
	}
	return -ENOENT;
}

/* ------------------------------------------------------------- upstream */

/* Connects c->ufd to addr:port and queues the request: ST_CONNECT or ST_SEND,
 * or answers 502. */
static void upstream_connect(struct conn *c, struct in_addr addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->up->port) };
	int n;

	close_upstream(c);
	sa.sin_addr = addr;
	n = snprintf(c->buf, sizeof(c->buf),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: skiff-demo-gateway\r\n"
		     "Connection: close\r\n\r\n",
		     c->up->path, c->up->host);
	c->buf_len = (size_t)n; /* < 400 bytes: host and path are bounded */
	c->buf_off = 0;
	c->ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->ufd >= 0 && connect(c->ufd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		c->st = ST_SEND;
	else if (c->ufd >= 0 && errno == EINPROGRESS)
		c->st = ST_CONNECT;
	else
		fail(c, 502, strerror(errno));
}

/* Starts forwarding c's request to u: resolves u's host, then connects. */
static void upstream_start(struct server *s, struct conn *c, const struct upstream *u)
{
	struct in_addr a;

	c->up = u;
	c->have_head = false;
	c->deadline_ms = c->req.t0_us / 1000 + s->timeout_ms;
	if (inet_pton(AF_INET, u->host, &a) == 1 || hosts_lookup(u->host, &a) == 0)
		upstream_connect(c, a);
	else if (dns_send(c) == 0)
		c->st = ST_RESOLVE;
	else
		fail(c, 502, "cannot ask the nameserver");
}

/* Reads the nameserver's answer: connects, waits on, or answers 502. */
static void upstream_resolved(struct conn *c)
{
	uint8_t r[DNS_MAX];
	ssize_t n = recv(c->ufd, r, sizeof(r), 0);
	struct in_addr a;
	int e;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		fail(c, 502, errno == ECONNREFUSED ? "no nameserver answers" : strerror(errno));
		return;
	}
	e = dns_parse((uint8_t *)c->buf, c->qlen, r, (size_t)n, &a);
	if (e == 0)
		upstream_connect(c, a);
	else if (e != -EAGAIN)
		fail(c, 502, e == -ENOENT ? "unknown host" : "bad DNS answer");
}

/*
 * Parses the upstream's head, NUL-terminated at buf[head_len - 2]: status,
 * Content-Length, Content-Type, x-skiff-upstream.  Returns 0, or -1 when it
 * is malformed or chunked.
 */
static int upstream_head(struct conn *c, char *h)
{
	char *eol = strstr(h, "\r\n");
	long v;

	*eol = '\0';
	if (strncmp(h, "HTTP/1.", 7) || (h[7] != '0' && h[7] != '1') || h[8] != ' ' ||
	    strspn(h + 9, "0123456789") != 3 || (h[12] && h[12] != ' '))
		return -1;
	c->ustatus = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
	if (c->ustatus < 200 || c->ustatus > 599)
		return -1; /* 1xx: nothing was asked that calls for one */
	c->uclen = -1;
	strcpy(c->uctype, "application/octet-stream");
	c->userved[0] = '\0';
	for (h = eol + 2; *h; h = eol + 2) {
		char *colon = h + strspn(h, TCHARS), *val;
		eol = strstr(h, "\r\n");
		*eol = '\0';
		if (colon == h || *colon != ':')
			return -1;
		*colon = '\0';
		val = colon + 1 + strspn(colon + 1, " \t");
		if (!strcasecmp(h, "content-length") &&
		    (c->uclen >= 0 || parse_num(val, 0, UP_MAX, &v) < 0))
			return -1; /* two, or junk: which one would be the body? */
		if (!strcasecmp(h, "content-length"))
			c->uclen = v;
		else if (!strcasecmp(h, "transfer-encoding"))
			return -1;
		else if (!strcasecmp(h, "content-type"))
			copy_safe(c->uctype, sizeof(c->uctype), val, strcspn(val, " \t"));
		else if (!strcasecmp(h, "x-skiff-upstream"))
			copy_safe(c->userved, sizeof(c->userved), val, strcspn(val, " \t"));
	}
	return 0;
}

/* Reads what the upstream sent; answers the client once it is complete. */
static void upstream_read(struct conn *c)
{
	ssize_t n = recv(c->ufd, c->buf + c->buf_len, sizeof(c->buf) - c->buf_len, 0);
	size_t body;
	char *end;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		fail(c, 502, errno == ECONNRESET ? "connection reset" : strerror(errno));
		return;
	}
	c->buf_len += (size_t)n;
	if (!c->have_head && (end = memmem(c->buf, c->buf_len, "\r\n\r\n", 4))) {
		c->uhead_len = (size_t)(end - c->buf) + 4;
		end[2] = '\0';
		if (memchr(c->buf, '\0', c->uhead_len - 2) || upstream_head(c, c->buf) < 0) {
			fail(c, 502, "bad answer");
			return;
		}
		c->have_head = true;
	}
	body = c->have_head ? c->buf_len - c->uhead_len : 0;
	if (c->have_head && c->uclen >= 0 && body >= (size_t)c->uclen)
		body = (size_t)c->uclen; /* complete; what follows is junk */
	else if (n > 0 && c->buf_len < sizeof(c->buf))
		return; /* more to come */
	if (n > 0 && c->buf_len == sizeof(c->buf))
		fail(c, 502, "answer too large");
	else if (n == 0 && (!c->have_head || c->uclen >= 0))
		fail(c, 502, "closed before the end of its answer");
	else
		respond(c, c->ustatus, c->uctype, c->userved[0] ? c->userved : NULL,
			c->buf + c->uhead_len, body, c->up->spec);
}

/* Moves c's upstream request on after poll() reported on c->ufd. */
static void upstream_step(struct conn *c)
{
	int err = 0;
	ssize_t n;

	if (c->st == ST_RESOLVE) {
		upstream_resolved(c);
	} else if (c->st == ST_CONNECT) {
		socklen_t len = sizeof(err);
		if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err)
			fail(c, 502, strerror(err));
		else
			c->st = ST_SEND;
	}
	while (c->st == ST_SEND && c->buf_off < c->buf_len) {
		n = send(c->ufd, c->buf + c->buf_off, c->buf_len - c->buf_off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			fail(c, 502, strerror(errno));
		if (n < 0)
			return;
		c->buf_off += (size_t)n;
	}
	if (c->st == ST_SEND) {
		c->buf_len = c->buf_off = 0;
		c->st = ST_RECV;
	} else if (c->st == ST_RECV) {
		upstream_read(c);
	}
}

/* --------------------------------------------------------------- client */

static void route(struct server *s, struct conn *c)
{
	char *q = strchr(c->req.target, '?'), body[1024];
	size_t plen = q ? (size_t)(q - c->req.target) : strlen(c->req.target);
	int n;

#define IS(p) (plen == strlen(p) && !strncmp(c->req.target, p, plen))
	if (IS("/")) {
		n = snprintf(body, sizeof(body),
			     "<!doctype html>\n<title>skiff demo shop</title>\n"
			     "<h1>skiff demo shop</h1>\n<p>gateway %s asks:</p>\n<ul>\n"
			     "<li><a href=\"/catalog\">/catalog</a> - %s (the catalog)\n"
			     "<li><a href=\"/recommendations\">/recommendations</a> - %s "
			     "(popular titles when it is down)\n</ul>\n",
			     s->host, s->ups[0].spec, s->ups[1].spec);
		respond(c, 200, "text/html", NULL, body, n < 0 ? 0 : strlen(body), NULL);
	} else if (IS("/healthz")) {
		respond(c, 200, "text/plain", NULL, "ok\n", 3, NULL);
	} else if (IS(s->ups[0].route)) {
		upstream_start(s, c, &s->ups[0]);
	} else if (IS(s->ups[1].route)) {
		upstream_start(s, c, &s->ups[1]);
	} else {
		respond(c, 404, "text/plain", NULL, "not found\n", 10, NULL);
	}
#undef IS
}

/* Answers the request head at the start of c->in, or starts its upstream
 * request.  Returns false when no complete head is buffered yet. */
static bool handle_request(struct server *s, struct conn *c)
{
	int st = http_take_head(&c->req, c->in, &c->in_len, sizeof(c->in));

	if (st < 0)
		return false;
	if (st == 405)
		respond(c, st, "text/plain", NULL, "GET and HEAD only\n", 18, NULL);
	else if (st)
		respond(c, st, "text/plain", NULL, "bad request\n", 12, NULL);
	else
		route(s, c);
	return true;
}

static void conn_close(struct server *s, struct conn *c)
{
	close_upstream(c);
	close(c->fd);
	c->fd = -1;
	s->nconn--;
}

/* Moves c on as far as it goes without blocking: reads what arrived (when
 * readable), writes the pending answer, takes on buffered requests.  May
 * close c. */
static void conn_step(struct server *s, struct conn *c, bool readable)
{
	int r = readable ? http_recv(c->fd, c->in, &c->in_len, sizeof(c->in)) : 1;

	if (r < 0)
		conn_close(s, c); /* EOF (a half-close too) or an error */
	if (c->fd < 0 || r == 0)
		return;
	if (c->st == ST_READ)
		c->deadline_ms = now_us() / 1000 + IDLE_MS; /* progress */
	while (c->st == ST_READ || c->st == ST_WRITE) {
		size_t sent = c->out_off;
		r = c->st == ST_WRITE ? http_send(c->fd, c->out, &c->out_off, c->out_len) : 1;
		if (c->out_off != sent)
			c->deadline_ms = now_us() / 1000 + IDLE_MS; /* progress */
		if (r < 0)
			conn_close(s, c);
		if (r <= 0)
			return;
		c->out_len = c->out_off = 0;
		c->st = ST_READ;
		if (c->req.closing) {
			conn_close(s, c);
			return;
		}
		if (!handle_request(s, c))
			return;
	}
}

static void accept_all(struct server *s)
{
	for (size_t i = 0; i < MAX_CONN && s->nconn < MAX_CONN; i++) {
		struct conn *c = &s->conns[i];
		int fd;
		if (c->fd >= 0)
			continue;
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a transient error: poll again */
		memset(c, 0, offsetof(struct conn, in));
		c->fd = fd;
		c->ufd = -1;
		c->st = ST_READ;
		c->deadline_ms = now_us() / 1000 + IDLE_MS;
		s->nconn++;
	}
}

/* Answers 504 for upstream requests past their deadline, closes idle
 * connections; returns how long poll() may sleep (-1: no timer). */
static int timers(struct server *s)
{
	int64_t now = now_us() / 1000, next = -1;
	char why[64];

	for (size_t i = 0; i < MAX_CONN; i++) {
		struct conn *c = &s->conns[i];
		if (c->fd >= 0 && c->deadline_ms <= now && c->st != ST_READ && c->st != ST_WRITE) {
			snprintf(why, sizeof(why), "no answer within %ld ms", s->timeout_ms);
			fail(c, 504, why);
			conn_step(s, c, false);
		} else if (c->fd >= 0 && c->deadline_ms <= now) {
			conn_close(s, c); /* idle, or not reading its answer */
		}
		if (c->fd >= 0 && (next < 0 || c->deadline_ms - now < next))
			next = c->deadline_ms > now ? c->deadline_ms - now : 0;
	}
	return (int)next;
}

/* u from the environment variable env ("HOST[:PORT]", def when unset).
 * Returns 0, or -1 when HOST is not a DNS name or IPv4 address or PORT is
 * not in 1..65535. */
static int upstream_init(struct upstream *u, const char *env, const char *def)
{
	const char *v = getenv(env) ? getenv(env) : def, *colon = strchr(v, ':');
	size_t len = colon ? (size_t)(colon - v) : strlen(v), label = 0;
	long port = 80;

	if (len == 0 || len > HOST_MAX || (colon && parse_num(colon + 1, 1, 65535, &port) < 0))
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && (isalnum((unsigned char)v[i]) || v[i] == '-')) {
			label++;
			continue;
		}
		if ((i < len && v[i] != '.') || label == 0 || label > 63)
			return -1; /* another character, an empty or a long label */
		label = 0;
	}
	memcpy(u->host, v, len);
	u->host[len] = '\0';
	u->port = (uint16_t)port;
	snprintf(u->spec, sizeof(u->spec), "%s:%ld", u->host, port);
	return 0;
}

/* Fills pfd[2 + 2i] (client) and pfd[3 + 2i] (upstream) for each slot. */
static void poll_set(struct server *s, struct pollfd *pfd)
{
	static const short up_ev[] = { [ST_RESOLVE] = POLLIN,
				       [ST_CONNECT] = POLLOUT,
				       [ST_SEND] = POLLOUT,
				       [ST_RECV] = POLLIN };

	pfd[1] = (struct pollfd){ .fd = s->nconn < MAX_CONN ? s->lfd : -1, .events = POLLIN };
	for (size_t i = 0; i < MAX_CONN; i++) {
		struct conn *c = &s->conns[i];
		short ev = c->st == ST_READ ? POLLIN : c->st == ST_WRITE ? POLLOUT : 0;
		bool up = c->fd >= 0 && c->st != ST_READ && c->st != ST_WRITE;
		pfd[2 + 2 * i] = (struct pollfd){ .fd = c->fd, .events = ev };
		pfd[3 + 2 * i] =
		    (struct pollfd){ .fd = up ? c->ufd : -1, .events = up ? up_ev[c->st] : 0 };
	}
}

/* Handles what poll() reported for the connections. */
static void poll_done(struct server *s, struct pollfd *pfd)
{
	for (size_t i = 0; i < MAX_CONN; i++) {
		struct conn *c = &s->conns[i];
		short rev = pfd[2 + 2 * i].revents, urev = pfd[3 + 2 * i].revents;
		if (c->fd < 0 || pfd[2 + 2 * i].fd != c->fd)
			continue; /* free, or closed and reused during this round */
		if (rev & (POLLIN | POLLOUT)) {
			conn_step(s, c, rev & POLLIN);
		} else if (rev) {
			conn_close(s, c); /* POLLHUP or POLLERR while its upstream works */
		} else if (urev && pfd[3 + 2 * i].fd == c->ufd) {
			upstream_step(c);
			if (c->st == ST_WRITE)
				conn_step(s, c, false);
		}
	}
}

int main(void)
{
	static struct server srv; /* ~19 MiB of buffers, touched as connections come */
	static struct pollfd pfd[2 + 2 * MAX_CONN];
	const char *port_s = getenv("PORT") ? getenv("PORT") : "8080";
	const char *addr = getenv("ADDR") ? getenv("ADDR") : "0.0.0.0";
	const char *timeout_s = getenv("TIMEOUT_MS") ? getenv("TIMEOUT_MS") : "2000";
	long port;

	srv.ups[0].route = "/catalog", srv.ups[0].path = "/items";
	srv.ups[1].route = srv.ups[1].path = "/recommendations";
	if (parse_num(port_s, 0, 65535, &port) < 0 ||
	    parse_num(timeout_s, 1, 600000, &srv.timeout_ms) < 0 ||
	    upstream_init(&srv.ups[0], "CATALOG", "catalog:80") < 0 ||
	    upstream_init(&srv.ups[1], "RECOMMENDATIONS", "recommendations:80") < 0) {
		fprintf(stderr, "gateway: invalid PORT, TIMEOUT_MS, CATALOG or RECOMMENDATIONS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pfd[0] = (struct pollfd){ .fd = http_signalfd(), .events = POLLIN };
	(void)gethostname(srv.host, sizeof(srv.host) - 1); /* stays "" if it fails */
	copy_safe(srv.host, sizeof(srv.host), srv.host, strlen(srv.host));
	for (size_t i = 0; i < MAX_CONN; i++)
		srv.conns[i].fd = srv.conns[i].ufd = -1;
	srv.lfd = http_listen(addr, &port);
	if (srv.lfd < 0) {
		fprintf(stderr, "gateway: listen on %s:%ld: %s\n", addr, port, strerror(errno));
		return 1;
	}
	printf("gateway: listening on %s:%ld (pid %ld, replica %s), catalog %s, "
	       "recommendations %s, timeout %ld ms\n",
	       addr, port, (long)getpid(), srv.host, srv.ups[0].spec, srv.ups[1].spec,
	       srv.timeout_ms);
	for (;;) {
		int timeout = timers(&srv), r;
		poll_set(&srv, pfd);
		r = poll(pfd, 2 + 2 * MAX_CONN, timeout);
		if (r < 0 && errno != EINTR) {
			perror("gateway: poll");
			return 1;
		}
		if (r > 0 && pfd[0].revents) {
			printf("shutting down\n");
			close(srv.lfd);
			return 0;
		}
		if (r > 0 && pfd[1].revents)
			accept_all(&srv);
		if (r > 0)
			poll_done(&srv, pfd);
	}
}
