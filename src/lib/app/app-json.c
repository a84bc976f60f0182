/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-json.c - the app model as canonical JSON: every field present
 * (null when unset), keys sorted, durations as Go duration strings ("1m30s"),
 * sizes in bytes.  This is what the daemon API carries, what the per-service
 * config hash is computed over and what `skiff config` prints.  The way
 * back is app-json-in.c.
 */
#include "app/app-internal.h"

#include <string.h>

#include "base/util.h"

static const char *const restart_names[] = { "no", "always", "on-failure", "unless-stopped" };
static const char *const dep_names[] = { "service_started", "service_healthy",
					 "service_completed_successfully" };
static const char *const rp_names[] = { "none", "on-failure", "any" };
static const char *const proto_names[] = { "tcp", "udp", "sctp" };
static const char *const mount_names[] = { "bind", "volume", "tmpfs" };
static const char *const hc_names[] = { "inherit", "CMD", "CMD-SHELL", "NONE" };
static const char *const probe_names[] = { "none", "http", "tcp" };
static const char *const proxy_mode_names[] = { "http", "tcp" };
static const char *const lb_names[] = { "round_robin", "least_request" };

/* Writes v (< 1000 units of `unit` digits) with its fraction, trailing zeros trimmed. */
static void frac(struct sk_app_buf *b, int64_t v, int64_t unit)
{
	char digits[32];
	int n;

	snprintf(digits, sizeof(digits), "%lld", (long long)(v / unit));
	sk_app_buf_adds(b, digits);
	if (v % unit == 0)
		return;
	n = snprintf(digits, sizeof(digits), "%0*lld",
		     unit == 1000      ? 3
		     : unit == 1000000 ? 6
				       : 9,
		     (long long)(v % unit));
	while (n > 0 && digits[n - 1] == '0')
		digits[--n] = '\0';
	sk_app_buf_addc(b, '.');
	sk_app_buf_adds(b, digits);
}

/* Formats nanoseconds as Go's time.Duration.String() does: "1h2m3.5s", "500ms", "0s". */
static char *duration_str(int64_t ns)
{
	struct sk_app_buf b = { 0 };
	const int64_t s = SK_APP_NS_PER_SEC;

	if (ns == 0)
		return sk_strdup("0s");
	if (ns < 1000) {
		frac(&b, ns, 1);
		sk_app_buf_adds(&b, "ns");
	} else if (ns < 1000000) {
		frac(&b, ns, 1000);
		sk_app_buf_adds(&b, "us");
	} else if (ns < s) {
		frac(&b, ns, 1000000);
		sk_app_buf_adds(&b, "ms");
	} else {
		char t[32];
		if (ns >= 3600 * s) {
			snprintf(t, sizeof(t), "%lldh", (long long)(ns / (3600 * s)));
			sk_app_buf_adds(&b, t);
			ns %= 3600 * s;
		}
		if (b.len || ns >= 60 * s) {
			snprintf(t, sizeof(t), "%lldm", (long long)(ns / (60 * s)));
			sk_app_buf_adds(&b, t);
			ns %= 60 * s;
		}
		frac(&b, ns, s);
		sk_app_buf_addc(&b, 's');
	}
	return sk_app_buf_take(&b);
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jdur(int64_t ns)
{
	_cleanup_free_ char *s = duration_str(ns);

	return json_string(s);
}

static json_t *jstrv(char *const *v)
{
	json_t *a;

	if (!v)
		return json_null();
	a = json_array();
	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *jkvs(const struct sk_app_kvs *kvs)
{
	json_t *o = json_object();

	for (size_t i = 0; i < kvs->n; i++)
		json_object_set_new(o, kvs->v[i].key, jstr(kvs->v[i].value));
	return o;
}

static json_t *jport(const struct sk_app_port *p)
{
	return json_pack("{s:o,s:i,s:i,s:i,s:i,s:s,s:o,s:o}", "host_ip", jstr(p->host_ip),
			 "host_start", p->host_start, "host_end", p->host_end, "container_start",
			 p->container_start, "container_end", p->container_end, "protocol",
			 proto_names[p->proto], "name", jstr(p->name), "app_protocol",
			 jstr(p->app_protocol));
}

static json_t *jmount(const struct sk_app_mount *m)
{
	return json_pack("{s:s,s:o,s:s,s:b,s:b,s:o,s:o,s:b,s:o,s:I,s:I,s:o}", "type",
			 mount_names[m->type], "source", jstr(m->source), "target", m->target,
			 "read_only", m->read_only, "create_host_path", m->create_host_path,
			 "propagation", jstr(m->propagation), "selinux", jstr(m->selinux), "nocopy",
			 m->nocopy, "subpath", jstr(m->subpath), "tmpfs_size",
			 (json_int_t)m->tmpfs_size, "tmpfs_mode", (json_int_t)m->tmpfs_mode,
			 "options", jstr(m->options));
}

static json_t *jmounts(const struct sk_app_mount *m, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, jmount(&m[i]));
	return a;
}

static json_t *jres(const struct sk_app_resources *r)
{
	return json_pack("{s:f,s:I,s:I}", "cpus", r->cpus, "memory", (json_int_t)r->memory, "pids",
			 (json_int_t)r->pids);
}

static json_t *jhealthcheck(const struct sk_app_healthcheck *h)
{
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:i}", "kind", hc_names[h->kind], "test",
			 jstrv(h->test), "interval", jdur(h->interval_ns), "timeout",
			 jdur(h->timeout_ns), "start_period", jdur(h->start_period_ns),
			 "start_interval", jdur(h->start_interval_ns), "retries", h->retries);
}

static json_t *jrestart_policy(const struct sk_app_restart_policy *rp)
{
	if (!rp->set)
		return json_null();
	return json_pack("{s:s,s:o,s:I,s:o}", "condition", rp_names[rp->condition], "delay",
			 jdur(rp->delay_ns), "max_attempts", (json_int_t)rp->max_attempts, "window",
			 jdur(rp->window_ns));
}

static json_t *jdeps(const struct sk_app_service *s)
{
	json_t *o = json_object();

	for (size_t i = 0; i < s->n_depends_on; i++) {
		const struct sk_app_dep *d = &s->depends_on[i];
		json_object_set_new(o, d->service,
				    json_pack("{s:s,s:b,s:b}", "condition", dep_names[d->condition],
					      "required", d->required, "restart", d->restart));
	}
	return o;
}

static json_t *jnetmode(const struct sk_app_service *s)
{
	static const char *const names[] = { "default", "host", "none", "service:", "container:" };

	if (s->network_mode_ref)
		return json_sprintf("%s%s", names[s->network_mode], s->network_mode_ref);
	return json_string(names[s->network_mode]);
}

static json_t *jnetworks(const struct sk_app_service *s)
{
	json_t *o = json_object();

	for (size_t i = 0; i < s->n_networks; i++) {
		const struct sk_app_netattach *a = &s->networks[i];
		json_object_set_new(o, a->network,
				    json_pack("{s:o,s:o,s:o}", "aliases", jstrv(a->aliases),
					      "ipv4_address", jstr(a->ipv4_address), "ipv6_address",
					      jstr(a->ipv6_address)));
	}
	return o;
}

/* A percentage: an integer when it is one (20, not 20.0). */
static json_t *jpercent(double v)
{
	if (v >= 0 && v <= 1e9 && v == (double)(json_int_t)v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* retries.on: the named conditions, then the statuses (sorted at parse). */
static json_t *jretry_on(const struct sk_app_proxy *px)
{
	json_t *a = json_array();

	if (px->retry_on & SK_APP_RETRY_CONNECT)
		json_array_append_new(a, json_string("connect-failure"));
	if (px->retry_on & SK_APP_RETRY_RESET)
		json_array_append_new(a, json_string("reset"));
	if (px->retry_on & SK_APP_RETRY_TIMEOUT)
		json_array_append_new(a, json_string("timeout"));
	for (size_t i = 0; i < px->n_retry_status && i < SK_ELEMENTSOF(px->retry_status); i++)
		json_array_append_new(a, json_integer(px->retry_status[i]));
	return a;
}

/* x-skiff.proxy in the shape of the compose file, every field present. */
static json_t *jproxy(const struct sk_app_proxy *px)
{
	json_t *retries =
	    json_pack("{s:i,s:o,s:o,s:o,s:o}", "attempts", px->retry_attempts, "on", jretry_on(px),
		      "backoff", jdur(px->retry_backoff_ns), "max_backoff",
		      jdur(px->retry_max_backoff_ns), "budget", jpercent(px->retry_budget_percent));
	json_t *outlier =
	    json_pack("{s:i,s:i,s:o,s:i}", "consecutive_5xx", px->outlier_consecutive_5xx,
		      "consecutive_failures", px->outlier_consecutive_failures,
		      "base_ejection_time", jdur(px->outlier_base_ejection_ns),
		      "max_ejection_percent", px->outlier_max_ejection_percent);

	return json_pack("{s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o}", "mode",
			 proxy_mode_names[px->mode], "balance", lb_names[px->balance], "internal",
			 px->internal, "connect_timeout", jdur(px->connect_timeout_ns), "timeout",
			 jdur(px->try_timeout_ns), "total_timeout", jdur(px->total_timeout_ns),
			 "idle_timeout", jdur(px->idle_timeout_ns), "max_concurrent",
			 (json_int_t)px->max_concurrent, "drain", jdur(px->drain_ns), "retries",
			 retries, "outlier", outlier);
}

json_t *sk_app_fault_json(const struct sk_app_fault *f)
{
	return json_pack("{s:{s:o,s:o,s:o},s:{s:i,s:o}}", "delay", "fixed", jdur(f->delay_ns),
			 "jitter", jdur(f->delay_jitter_ns), "percent", jpercent(f->delay_percent),
			 "abort", "status", f->abort_status, "percent", jpercent(f->abort_percent));
}

static json_t *jxskiff(const struct sk_app_skiff_service *x)
{
	const struct sk_app_probe *p = &x->probe;
	json_t *health = json_null();

	if (p->kind != SK_APP_PROBE_NONE) {
		json_t *pj =
		    json_pack("{s:i,s:o,s:o,s:i,s:o}", "port", p->port, "interval",
			      jdur(p->interval_ns), "timeout", jdur(p->timeout_ns), "retries",
			      p->retries, "start_period", jdur(p->start_period_ns));
		if (p->kind == SK_APP_PROBE_HTTP) {
			json_object_set_new(pj, "path", json_string(p->path));
			json_object_set_new(pj, "status",
					    json_sprintf("%d-%d", p->status_min, p->status_max));
		}
		health = json_pack("{s:o}", probe_names[p->kind], pj);
	}
	return json_pack("{s:o,s:b,s:o,s:o,s:o}", "health", health, "restart_unhealthy",
			 x->restart_unhealthy, "proxy", jproxy(&x->proxy), "fault",
			 sk_app_fault_json(&x->fault), "fallback", jstr(x->fallback));
}

/* security_opt: seccomp "default", "unconfined" or the profile's path (with its JSON). */
static json_t *jsecurity(const struct sk_app_security *sec)
{
	static const char *const names[] = { "default", "unconfined" };
	json_t *profile = sec->seccomp_profile ? json_loads(sec->seccomp_profile, 0, NULL) : NULL;

	return json_pack("{s:o,s:o,s:o}", "seccomp",
			 sec->seccomp == SK_APP_SECCOMP_PROFILE ? jstr(sec->seccomp_file)
								: json_string(names[sec->seccomp]),
			 "seccomp_profile", profile ? profile : json_null(), "no_new_privileges",
			 sec->no_new_privileges < 0 ? json_null()
						    : json_boolean(sec->no_new_privileges));
}

static json_t *jid(int64_t id)
{
	return id < 0 ? json_null() : json_integer(id);
}

/* secrets: what the daemon mounts (an environment secret's value included). */
static json_t *jsecret_refs(const struct sk_app_service *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n_secrets; i++) {
		const struct sk_app_secret_ref *r = &s->secrets[i];
		json_array_append_new(
		    a, json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:i}", "source", r->source, "target",
				 r->target, "file", jstr(r->file), "content", jstr(r->content),
				 "uid", jid(r->uid), "gid", jid(r->gid), "mode", (int)r->mode));
	}
	return a;
}

static json_t *julimits(const struct sk_app_service *s)
{
	json_t *o = json_object();

	for (size_t i = 0; i < s->n_ulimits; i++)
		json_object_set_new(o, s->ulimits[i].name,
				    json_pack("{s:I,s:I}", "soft", (json_int_t)s->ulimits[i].soft,
					      "hard", (json_int_t)s->ulimits[i].hard));
	return o;
}

static json_t *jports(const struct sk_app_service *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n_ports; i++)
		json_array_append_new(a, jport(&s->ports[i]));
	return a;
}

/* Adds the x- extension fields stored as a JSON object string. */
static void add_extensions(json_t *o, const char *ext)
{
	json_t *x = ext ? json_loads(ext, 0, NULL) : NULL;
	const char *k;
	json_t *v;

	json_object_foreach(x, k, v) json_object_set(o, k, v);
	json_decref(x);
}

json_t *sk_app_service_json(const struct sk_app_service *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "image", jstr(s->image));
	json_object_set_new(o, "command", jstrv(s->command));
	json_object_set_new(o, "entrypoint", jstrv(s->entrypoint));
	json_object_set_new(o, "environment", jkvs(&s->environment));
	json_object_set_new(o, "env_files", jstrv(s->env_files));
	json_object_set_new(o, "working_dir", jstr(s->working_dir));
	json_object_set_new(o, "user", jstr(s->user));
	json_object_set_new(o, "hostname", jstr(s->hostname));
	json_object_set_new(o, "domainname", jstr(s->domainname));
	json_object_set_new(o, "ports", jports(s));
	json_object_set_new(o, "expose", jstrv(s->expose));
	json_object_set_new(o, "volumes", jmounts(s->volumes, s->n_volumes));
	json_object_set_new(o, "tmpfs", jmounts(s->tmpfs, s->n_tmpfs));
	json_object_set_new(o, "depends_on", jdeps(s));
	json_object_set_new(o, "healthcheck", jhealthcheck(&s->healthcheck));
	json_object_set_new(o, "restart", json_string(restart_names[s->restart]));
	json_object_set_new(o, "restart_max_retries", json_integer(s->restart_max_retries));
	json_object_set_new(o, "replicas", json_integer(s->replicas));
	json_object_set_new(o, "limits", jres(&s->limits));
	json_object_set_new(o, "reservations", jres(&s->reservations));
	json_object_set_new(o, "restart_policy", jrestart_policy(&s->restart_policy));
	json_object_set_new(o, "cap_add", jstrv(s->cap_add));
	json_object_set_new(o, "cap_drop", jstrv(s->cap_drop));
	json_object_set_new(o, "read_only", json_boolean(s->read_only));
	json_object_set_new(o, "privileged", json_boolean(s->privileged));
	json_object_set_new(o, "init", json_boolean(s->init));
	json_object_set_new(o, "security_opt", jsecurity(&s->security));
	json_object_set_new(o, "secrets", jsecret_refs(s));
	json_object_set_new(o, "shm_size", json_integer((json_int_t)s->shm_size));
	json_object_set_new(o, "pid", s->pid_host ? json_string("host") : json_null());
	json_object_set_new(o, "memswap_limit", json_integer(s->memswap_limit));
	json_object_set_new(o, "mem_swappiness",
			    s->mem_swappiness < 0 ? json_null() : json_integer(s->mem_swappiness));
	json_object_set_new(o, "oom_kill_disable", json_boolean(s->oom_kill_disable));
	json_object_set_new(o, "stop_signal", jstr(s->stop_signal));
	json_object_set_new(o, "stop_grace_period", jdur(s->stop_grace_period_ns));
	json_object_set_new(o, "ulimits", julimits(s));
	json_object_set_new(o, "sysctls", jkvs(&s->sysctls));
	json_object_set_new(o, "labels", jkvs(&s->labels));
	json_object_set_new(o, "cpuset", jstr(s->cpuset));
	json_object_set_new(o, "cpu_shares", json_integer(s->cpu_shares));
	json_object_set_new(o, "oom_score_adj", json_integer(s->oom_score_adj));
	json_object_set_new(o, "profiles", jstrv(s->profiles));
	json_object_set_new(o, "network_mode", jnetmode(s));
	json_object_set_new(o, "networks", jnetworks(s));
	json_object_set_new(o, "x-skiff", jxskiff(&s->x_skiff));
	add_extensions(o, s->extensions);
	return o;
}

static json_t *jvolume(const struct sk_app_volume *v)
{
	return json_pack("{s:o,s:b,s:o,s:o,s:o}", "name", jstr(v->ext_name), "external",
			 v->external, "driver", jstr(v->driver), "driver_opts",
			 jkvs(&v->driver_opts), "labels", jkvs(&v->labels));
}

static json_t *jnetwork(const struct sk_app_network *n)
{
	return json_pack("{s:o,s:b,s:b,s:b,s:o,s:o,s:o,s:o}", "name", jstr(n->ext_name), "external",
			 n->external, "internal", n->internal, "enable_ipv6", n->enable_ipv6,
			 "driver", jstr(n->driver), "subnets", jstrv(n->subnets), "driver_opts",
			 jkvs(&n->driver_opts), "labels", jkvs(&n->labels));
}

static json_t *app_json(const struct sk_app *app)
{
	json_t *svcs = json_object(), *vols = json_object(), *nets = json_object();
	json_t *secrets = json_object(), *o;

	for (size_t i = 0; i < app->n_services; i++)
		json_object_set_new(svcs, app->services[i].name,
				    sk_app_service_json(&app->services[i]));
	for (size_t i = 0; i < app->n_volumes; i++)
		json_object_set_new(vols, app->volumes[i].name, jvolume(&app->volumes[i]));
	for (size_t i = 0; i < app->n_networks; i++)
		json_object_set_new(nets, app->networks[i].name, jnetwork(&app->networks[i]));
	for (size_t i = 0; i < app->n_secrets; i++)
		json_object_set_new(secrets, app->secrets[i].name,
				    json_pack("{s:o,s:o}", "file", jstr(app->secrets[i].file),
					      "environment", jstr(app->secrets[i].environment)));
	o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name", jstr(app->name), "file",
		      jstr(app->file), "dir", jstr(app->dir), "services", svcs, "volumes", vols,
		      "networks", nets, "x-skiff",
		      json_pack("{s:b,s:o}", "egress", app->x_skiff.egress, "subnet",
				jstr(app->x_skiff.subnet)));
	json_object_set_new(o, "secrets", secrets);
	add_extensions(o, app->extensions);
	return o;
}

static char *dump(json_t *j, bool pretty)
{
	char *s = json_dumps(j, JSON_SORT_KEYS | (pretty ? JSON_INDENT(2) : JSON_COMPACT));

	json_decref(j);
	if (!s)
		abort();
	return s;
}

char *sk_app_to_json(const struct sk_app *app, bool pretty)
{
	return dump(app_json(app), pretty);
}

char *sk_app_service_to_json(const struct sk_app_service *svc, bool pretty)
{
	return dump(sk_app_service_json(svc), pretty);
}

char *sk_app_service_hash(const struct sk_app_service *svc)
{
	json_t *j = sk_app_service_json(svc);
	_cleanup_free_ char *s = NULL;
	char hex[65];

	/* scaling and start ordering do not recreate containers */
	json_object_del(j, "replicas");
	json_object_del(j, "depends_on");
	json_object_del(j, "profiles");
	/* the proxy's settings for the service are traffic policy: skiffd applies them
	 * to its routing table without touching the containers */
	json_t *x = json_object_get(j, "x-skiff");
	if (x) {
		json_object_del(x, "proxy");
		json_object_del(x, "fault");
		json_object_del(x, "fallback");
	}
	s = dump(j, false);
	sk_app_sha256_hex(s, strlen(s), hex);
	return sk_strdup(hex);
}
