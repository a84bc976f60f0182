/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-ports.c - the short and long syntaxes of `ports:`, `volumes:` and
 * `tmpfs:` into structured entries.
 *
 * Ports: "[IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTO]" (IPv6 in
 * brackets) or {target, published, host_ip, protocol, mode, name,
 * app_protocol}.  Volumes: "SOURCE:TARGET[:OPTS]" or "TARGET", a source
 * starting with /, . or ~ being a bind mount (made absolute against the
 * compose file's directory), anything else a named volume that must be
 * declared at the top level; or the long form {type, source, target, ...}.
 */
#include "app/app-internal.h"

#include <string.h>

#include "base/util.h"

/* "80" or "8000-8010" into [lo, hi]. */
static int port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	_cleanup_free_ char *copy = sk_strdup(s);
	char *dash = strchr(copy, '-');
	int a, b;

	if (dash)
		*dash++ = '\0';
	if (sk_parse_int(copy, &a) < 0 || a < 1 || a > 65535)
		return -EINVAL;
	b = a;
	if (dash && (sk_parse_int(dash, &b) < 0 || b < a || b > 65535))
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int proto_parse(const char *s, enum sk_app_proto *ret)
{
	static const char *const names[] = { "tcp", "udp", "sctp" };

	for (size_t i = 0; i < SK_ELEMENTSOF(names); i++)
		if (!strcmp(s, names[i])) {
			*ret = (enum sk_app_proto)i;
			return 0;
		}
	return -EINVAL;
}

/* Checks that host and container ranges can map onto each other. */
static int ranges_fit(const struct sk_app_port *p)
{
	unsigned hn = p->host_end - p->host_start, cn = p->container_end - p->container_start;

	if (!p->host_start)
		return 0;
	return hn == cn || cn == 0 ? 0 : -EINVAL;
}

static int port_short(const char *spec, struct sk_app_port *p)
{
	_cleanup_free_ char *s = sk_strdup(spec);
	char *rest = s, *slash = strrchr(s, '/'), *last;

	if (slash) {
		*slash = '\0';
		if (proto_parse(slash + 1, &p->proto) < 0)
			return -EINVAL;
	}
	if (*rest == '[') { /* [v6]:host:container */
		char *close = strchr(rest, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		*close = '\0';
		p->host_ip = sk_strdup(rest + 1);
		rest = close + 2;
	}
	last = strrchr(rest, ':');
	if (last) {
		*last = '\0';
		char *host = strrchr(rest, ':');
		if (host) {
			*host++ = '\0';
			if (p->host_ip || !*rest || strchr(rest, ':')) /* IPv6 needs brackets */
				return -EINVAL;
			p->host_ip = sk_strdup(rest);
		} else
			host = rest;
		if (strchr(host, ':') ||
		    (*host && port_range(host, &p->host_start, &p->host_end) < 0))
			return -EINVAL;
		rest = last + 1;
	} else if (p->host_ip)
		return -EINVAL;
	if (port_range(rest, &p->container_start, &p->container_end) < 0)
		return -EINVAL;
	return ranges_fit(p);
}

static int port_long(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct sk_app_port *p)
{
	int r = 0;
	bool target = false;

	for (size_t i = 0; i < v->n; i++) {
		const struct sk_yn *k = sk_yn_key(v, i), *val = sk_yn_val(v, i);
		_cleanup_free_ char *kp = sk_app_path(path, k->text), *s = NULL;
		if (!strcmp(k->text, "name"))
			r |= sk_app_get_str(c, val, kp, &p->name);
		else if (!strcmp(k->text, "app_protocol"))
			r |= sk_app_get_str(c, val, kp, &p->app_protocol);
		else if (!strcmp(k->text, "host_ip"))
			r |= sk_app_get_str(c, val, kp, &p->host_ip);
		else if (!strcmp(k->text, "mode")) {
			if (sk_app_get_str(c, val, kp, &s) == 0 && strcmp(s, "host") &&
			    strcmp(s, "ingress"))
				r |= sk_app_fail(c, val, kp, "invalid mode \"%s\" (host, ingress)",
						 s);
		} else if (sk_app_get_str(c, val, kp, &s) < 0)
			r = -EINVAL;
		else if (!strcmp(k->text, "target")) {
			target = true;
			if (port_range(s, &p->container_start, &p->container_end) < 0)
				r |= sk_app_fail(c, val, kp, "invalid port \"%s\"", s);
		} else if (!strcmp(k->text, "published")) {
			if (port_range(s, &p->host_start, &p->host_end) < 0)
				r |= sk_app_fail(c, val, kp, "invalid port \"%s\"", s);
		} else if (!strcmp(k->text, "protocol")) {
			if (proto_parse(s, &p->proto) < 0)
				r |= sk_app_fail(c, val, kp,
						 "invalid protocol \"%s\" (tcp, udp, sctp)", s);
		} else
			r |= sk_app_fail(c, k, kp, "unknown field");
	}
	if (!target && !r)
		return sk_app_fail(c, v, path, "target is required");
	if (!r && ranges_fit(p) < 0)
		return sk_app_fail(c, v, path, "published and target port ranges differ in size");
	return r ? -EINVAL : 0;
}

static bool ports_overlap(const struct sk_app_port *a, const struct sk_app_port *b)
{
	if (a->proto != b->proto)
		return false;
	return a->container_start <= b->container_end && b->container_start <= a->container_end &&
	       a->host_start == b->host_start &&
	       !strcmp(a->host_ip ? a->host_ip : "", b->host_ip ? b->host_ip : "");
}

int sk_app_ports_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		       struct sk_app_service *svc)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_SEQ) < 0)
		return -EINVAL;
	svc->ports = sk_new0(struct sk_app_port, n->n);
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path_i(path, i), *s = NULL;
		struct sk_app_port port = { 0 };
		int pr;
		if (n->items[i]->type == SK_YN_MAP)
			pr = port_long(c, n->items[i], p, &port);
		else if ((pr = sk_app_get_str(c, n->items[i], p, &s)) == 0 &&
			 port_short(s, &port) < 0)
			pr = sk_app_fail(c, n->items[i], p,
					 "invalid port \"%s\" ([IP:][HOST:]CONTAINER[/PROTO])", s);
		for (size_t j = 0; pr == 0 && j < svc->n_ports; j++)
			if (ports_overlap(&svc->ports[j], &port))
				pr =
				    sk_app_fail(c, n->items[i], p, "duplicate container port %u/%s",
						port.container_start,
						port.proto == SK_APP_UDP    ? "udp"
						: port.proto == SK_APP_SCTP ? "sctp"
									    : "tcp");
		if (pr < 0) {
			sk_app_port_release(&port);
			r = -EINVAL;
			continue;
		}
		svc->ports[svc->n_ports++] = port;
	}
	return r;
}

void sk_app_port_release(struct sk_app_port *p)
{
	free(p->host_ip);
	free(p->name);
	free(p->app_protocol);
}

/* ---- volumes ----------------------------------------------------------- */

char *sk_app_clean_path(const char *in)
{
	char *out = sk_malloc0(strlen(in) + 2);
	size_t len = 0;

	for (const char *p = in; *p;) {
		const char *e = strchrnul(p, '/');
		size_t n = e - p;
		if (n == 0 || (n == 1 && p[0] == '.')) {
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
		} else {
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p = *e ? e + 1 : e;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return out;
}

static char *bind_source(struct sk_app_ctx *c, const char *src)
{
	_cleanup_free_ char *joined = NULL;

	if (src[0] == '~' && (src[1] == '/' || !src[1])) {
		const char *home = sk_app_env_lookup(c, "HOME");
		joined = sk_asprintf("%s/%s", home ? home : "/", src + 1);
	} else
		joined = src[0] == '/' ? sk_strdup(src) : sk_asprintf("%s/%s", c->dir, src);
	return sk_app_clean_path(joined);
}

static bool volume_declared(struct sk_app_ctx *c, const char *name)
{
	for (size_t i = 0; c->app && i < c->app->n_volumes; i++)
		if (!strcmp(c->app->volumes[i].name, name))
			return true;
	return false;
}

static int mount_opts(const char *opts, struct sk_app_mount *m)
{
	static const char *const propagations[] = { "shared",  "slave",	 "private",
						    "rshared", "rslave", "rprivate" };
	_cleanup_free_ char *copy = sk_strdup(opts);
	char *save = NULL;

	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		bool known = false;
		if (!strcmp(o, "ro") || !strcmp(o, "rw"))
			m->read_only = known = !strcmp(o, "ro");
		if (!strcmp(o, "rw"))
			known = true;
		else if (!strcmp(o, "z") || !strcmp(o, "Z")) {
			free(m->selinux);
			m->selinux = sk_strdup(o);
			known = true;
		} else if (!strcmp(o, "nocopy"))
			m->nocopy = known = true;
		else if (!strcmp(o, "cached") || !strcmp(o, "delegated") ||
			 !strcmp(o, "consistent"))
			known = true;
		for (size_t i = 0; i < SK_ELEMENTSOF(propagations); i++)
			if (!strcmp(o, propagations[i])) {
				free(m->propagation);
				m->propagation = sk_strdup(o);
				known = true;
			}
		if (!known)
			return -EINVAL;
	}
	return 0;
}

static int volume_short(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			const char *spec, struct sk_app_mount *m)
{
	_cleanup_strv_ char **parts = sk_new0(char *, 1);
	_cleanup_free_ char *copy = sk_strdup(spec);
	size_t np;

	for (char *p = copy, *colon; p; p = colon ? colon + 1 : NULL) {
		colon = strchr(p, ':');
		if (colon)
			*colon = '\0';
		sk_strv_push(&parts, p);
	}
	np = sk_strv_length(parts);
	if (np > 3 || !*parts[np == 1 ? 0 : 1])
		return sk_app_fail(c, n, path, "invalid volume \"%s\" (SOURCE:TARGET[:MODE])",
				   spec);
	m->type = SK_APP_MOUNT_VOLUME;
	m->target = sk_strdup(np == 1 ? parts[0] : parts[1]);
	if (np == 3 && mount_opts(parts[2], m) < 0)
		return sk_app_fail(c, n, path, "invalid volume mode \"%s\"", parts[2]);
	if (np == 1)
		return 0;
	if (strchr("/.~", parts[0][0])) {
		m->type = SK_APP_MOUNT_BIND;
		m->source = bind_source(c, parts[0]);
		m->create_host_path = true;
		return 0;
	}
	m->source = sk_strdup(parts[0]);
	if (!volume_declared(c, m->source))
		return sk_app_fail(
		    c, n, path,
		    "volume \"%s\" is not declared under the top-level volumes:", m->source);
	return 0;
}

static int octal_mode(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, uint32_t *ret)
{
	_cleanup_free_ char *s = NULL;
	char *end;
	long v;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 8);
	if (!*s || *end || errno || v < 0 || v > 07777)
		return sk_app_fail(c, n, path, "invalid mode \"%s\" (octal, like 1777)", s);
	*ret = (uint32_t)v;
	return 0;
}

static int volume_long_sub(struct sk_app_ctx *c, const struct sk_yn *k, const struct sk_yn *v,
			   const char *path, struct sk_app_mount *m)
{
	int r = 0;

	if (sk_app_want(c, v, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < v->n; i++) {
		const struct sk_yn *sk = sk_yn_key(v, i), *sv = sk_yn_val(v, i);
		_cleanup_free_ char *p = sk_app_path(path, sk->text);
		if (!strcmp(sk->text, "propagation"))
			r |= sk_app_get_str(c, sv, p, &m->propagation);
		else if (!strcmp(sk->text, "create_host_path"))
			r |= sk_app_get_bool(c, sv, p, &m->create_host_path);
		else if (!strcmp(sk->text, "selinux"))
			r |= sk_app_get_str(c, sv, p, &m->selinux);
		else if (!strcmp(sk->text, "nocopy"))
			r |= sk_app_get_bool(c, sv, p, &m->nocopy);
		else if (!strcmp(sk->text, "subpath"))
			r |= sk_app_get_str(c, sv, p, &m->subpath);
		else if (!strcmp(sk->text, "size"))
			r |= sk_app_get_bytes(c, sv, p, &m->tmpfs_size);
		else if (!strcmp(sk->text, "mode")) /* octal digits, as chmod takes them */
			r |= octal_mode(c, sv, p, &m->tmpfs_mode);
		else
			sk_app_warn(c, sk, NULL, "%s is not supported by skiff, ignored", p);
	}
	return r ? -EINVAL : 0;
}

static int volume_type(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		       struct sk_app_mount *m)
{
	_cleanup_free_ char *s = NULL;

	if (sk_app_get_str(c, v, path, &s) < 0)
		return -EINVAL;
	if (!strcmp(s, "bind"))
		m->type = SK_APP_MOUNT_BIND;
	else if (!strcmp(s, "volume"))
		m->type = SK_APP_MOUNT_VOLUME;
	else if (!strcmp(s, "tmpfs"))
		m->type = SK_APP_MOUNT_TMPFS;
	else
		return sk_app_fail(c, v, path,
				   "unsupported volume type \"%s\" (bind, volume, tmpfs)", s);
	return 0;
}

static int volume_long(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		       struct sk_app_mount *m)
{
	const struct sk_yn *type = sk_yn_get(n, "type");
	_cleanup_free_ char *tp = sk_app_path(path, "type");
	int r = 0;

	if (!type)
		return sk_app_fail(c, n, path, "type is required");
	if (volume_type(c, type, tp, m) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "type") || !strcmp(k->text, "consistency"))
			continue;
		if (!strcmp(k->text, "source"))
			r |= sk_app_get_str(c, v, p, &m->source);
		else if (!strcmp(k->text, "target"))
			r |= sk_app_get_str(c, v, p, &m->target);
		else if (!strcmp(k->text, "read_only"))
			r |= sk_app_get_bool(c, v, p, &m->read_only);
		else if (!strcmp(k->text, "bind") || !strcmp(k->text, "volume") ||
			 !strcmp(k->text, "tmpfs"))
			r |= volume_long_sub(c, k, v, p, m);
		else
			sk_app_warn(c, k, NULL, "%s is not supported by skiff, ignored", p);
	}
	if (r)
		return -EINVAL;
	if (!m->target)
		return sk_app_fail(c, n, path, "target is required");
	if (m->type == SK_APP_MOUNT_BIND) {
		if (!m->source)
			return sk_app_fail(c, n, path, "a bind mount needs a source");
		char *abs = bind_source(c, m->source);
		free(m->source);
		m->source = abs;
	} else if (m->type == SK_APP_MOUNT_VOLUME && m->source && !volume_declared(c, m->source))
		return sk_app_fail(
		    c, n, path,
		    "volume \"%s\" is not declared under the top-level volumes:", m->source);
	return 0;
}

int sk_app_volumes_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			 struct sk_app_service *svc)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_SEQ) < 0)
		return -EINVAL;
	svc->volumes = sk_new0(struct sk_app_mount, n->n);
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path_i(path, i), *s = NULL;
		struct sk_app_mount m = { 0 };
		int vr;
		if (n->items[i]->type == SK_YN_MAP)
			vr = volume_long(c, n->items[i], p, &m);
		else if ((vr = sk_app_get_str(c, n->items[i], p, &s)) == 0)
			vr = volume_short(c, n->items[i], p, s, &m);
		if (vr == 0 && m.target[0] != '/')
			vr = sk_app_fail(c, n->items[i], p,
					 "target \"%s\" must be an absolute path", m.target);
		if (vr < 0) {
			sk_app_mount_release(&m);
			r = -EINVAL;
			continue;
		}
		char *clean = sk_app_clean_path(m.target);
		free(m.target);
		m.target = clean;
		svc->volumes[svc->n_volumes++] = m;
	}
	return r;
}

/* "/run" or "/run:size=64m,mode=1777,noexec" */
static int tmpfs_one(const char *spec, struct sk_app_mount *m)
{
	_cleanup_free_ char *copy = sk_strdup(spec);
	char *colon = strchr(copy, ':'), *save = NULL;
	struct sk_app_buf other = { 0 };
	int r = 0;

	m->type = SK_APP_MOUNT_TMPFS;
	if (colon)
		*colon++ = '\0';
	if (copy[0] != '/')
		return -EINVAL;
	m->target = sk_app_clean_path(copy);
	for (char *o = colon ? strtok_r(colon, ",", &save) : NULL; o && r == 0;
	     o = strtok_r(NULL, ",", &save)) {
		int64_t mode;
		if (sk_str_has_prefix(o, "size="))
			r = sk_app_parse_bytes(o + 5, &m->tmpfs_size);
		else if (sk_str_has_prefix(o, "mode=")) {
			char *end;
			mode = strtol(o + 5, &end, 8);
			r = *end || end == o + 5 || mode < 0 || mode > 07777 ? -EINVAL : 0;
			m->tmpfs_mode = (uint32_t)mode;
		} else {
			if (other.len)
				sk_app_buf_addc(&other, ',');
			sk_app_buf_adds(&other, o);
		}
	}
	if (other.len)
		m->options = sk_app_buf_take(&other);
	free(other.s);
	return r;
}

int sk_app_tmpfs_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		       struct sk_app_service *svc)
{
	_cleanup_strv_ char **v = NULL;
	size_t len;
	int r = 0;

	if (sk_app_get_strv(c, n, path, true, &v) < 0)
		return -EINVAL;
	len = sk_strv_length(v);
	svc->tmpfs = sk_new0(struct sk_app_mount, len);
	for (size_t i = 0; i < len; i++) {
		struct sk_app_mount m = { 0 };
		if (tmpfs_one(v[i], &m) < 0) {
			_cleanup_free_ char *p =
			    n->type == SK_YN_SEQ ? sk_app_path_i(path, i) : sk_strdup(path);
			sk_app_mount_release(&m);
			r = sk_app_fail(c, n->type == SK_YN_SEQ ? n->items[i] : n, p,
					"invalid tmpfs \"%s\" (/PATH[:size=N,mode=OCTAL,...])",
					v[i]);
			continue;
		}
		svc->tmpfs[svc->n_tmpfs++] = m;
	}
	return r;
}

void sk_app_mount_release(struct sk_app_mount *m)
{
	free(m->source);
	free(m->target);
	free(m->propagation);
	free(m->selinux);
	free(m->subpath);
	free(m->options);
}
