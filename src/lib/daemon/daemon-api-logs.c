/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon-api-logs.c - GET /v1/apps/{app}/logs: the replicas' log files
 * (written by the keeper in CRI format) merged by time and streamed as
 * NDJSON, with bounded memory: records are read only as fast as the client
 * takes them (sk_api_stream_room / on_drain).  With follow=1 the stream
 * stays open; new records arrive through the readers' inotify fds, and
 * replicas that appear later (scaling, a first start) are picked up by a
 * periodic look, so `skiff logs -f` follows restarts and new replicas.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon-internal.h"
#include "daemon/logs.h"

#define RESCAN_NS (500 * 1000000ULL)

struct source {
	char *service;
	int64_t index;
	char *path;
};

struct logstream {
	struct sk_daemon *d;
	char *app;
	char **services; /* NULL: all */
	struct sk_api_response *resp;
	struct sk_logs_merge *merge;
	struct sk_logs_read_opts opts;
	struct source *src;
	size_t n_src;
	struct sk_loop_io *io;
	int io_fd;
	struct sk_loop_timer *rescan;
	bool follow, blocked;
};

static void logstream_free(struct logstream *ls)
{
	if (ls->io)
		sk_loop_io_remove(ls->io);
	if (ls->rescan)
		sk_loop_timer_remove(ls->rescan);
	sk_logs_merge_free(ls->merge);
	for (size_t i = 0; i < ls->n_src; i++) {
		free(ls->src[i].service);
		free(ls->src[i].path);
	}
	free(ls->src);
	free(ls->app);
	sk_strv_free(ls->services);
	free(ls);
}

static bool want_service(struct logstream *ls, const char *name)
{
	if (!ls->services)
		return true;
	for (size_t i = 0; ls->services[i]; i++)
		if (!strcmp(ls->services[i], name))
			return true;
	return false;
}

static bool have_source(struct logstream *ls, const char *path)
{
	for (size_t i = 0; i < ls->n_src; i++)
		if (!strcmp(ls->src[i].path, path))
			return true;
	return false;
}

static void watch_update(struct logstream *ls);

/* Adds a reader for every replica log not read yet; returns how many were added. */
static size_t sources_scan(struct logstream *ls)
{
	struct sk_dapp *a = sk_dapp_find(ls->d, ls->app);
	size_t added = 0;

	for (size_t i = 0; a && i < a->n_s; i++) {
		if (!want_service(ls, a->s[i]->name))
			continue;
		for (size_t j = 0; j < a->s[i]->n_r; j++) {
			struct sk_dreplica *r = a->s[i]->r[j];
			struct sk_logs_reader *rd = NULL;
			struct sk_error *err = NULL;
			if (have_source(ls, r->log_path))
				continue;
			if (sk_logs_reader_open(r->log_path, &ls->opts, &rd, &err) < 0) {
				sk_error_free(err); /* no output yet */
				continue;
			}
			sk_logs_merge_add(ls->merge, rd);
			ls->src = sk_realloc(ls->src, (ls->n_src + 1) * sizeof(*ls->src));
			ls->src[ls->n_src++] = (struct source){ sk_strdup(a->s[i]->name), r->index,
								sk_strdup(r->log_path) };
			added++;
		}
	}
	return added;
}

/* Streams records while the client has room; ends a non-follow stream at the end. */
static void pump(struct logstream *ls)
{
	char line[SK_LOGS_DEFAULT_MAX_LINE * 2 + 256];

	for (;;) {
		struct sk_logs_record rec;
		struct sk_error *err = NULL;
		int r;
		if (sk_api_stream_room(ls->resp) < sizeof(line)) {
			ls->blocked = true;
			return;
		}
		r = sk_logs_merge_next(ls->merge, &rec, &err);
		if (r < 0) {
			sk_warn("logs of '%s': %s", ls->app, err->msg);
			sk_error_free(err);
			r = 0;
			ls->follow = false;
		}
		if (r == 0) {
			if (!ls->follow) {
				struct sk_api_response *resp = ls->resp;
				sk_api_response_on_close(resp, NULL, NULL);
				sk_api_response_on_drain(resp, NULL, NULL);
				logstream_free(ls);
				sk_api_stream_end(resp);
			}
			return;
		}
		const struct source *s = &ls->src[rec.source];
		json_t *j = json_pack(
		    "{s:s, s:I, s:s, s:I, s:s%, s:b}", "service", s->service, "index",
		    (json_int_t)s->index, "stream", sk_logs_stream_name(rec.stream), "time_ns",
		    (json_int_t)rec.time_ns, "msg", rec.msg, rec.len, "partial", rec.partial);
		if (!j) /* not UTF-8: send it escaped byte by byte as latin-1 would be lossy */
			j = json_pack("{s:s, s:I, s:s, s:I, s:s, s:b}", "service", s->service,
				      "index", (json_int_t)s->index, "stream",
				      sk_logs_stream_name(rec.stream), "time_ns",
				      (json_int_t)rec.time_ns, "msg", "(invalid UTF-8)", "partial",
				      rec.partial);
		size_t n = json_dumpb(j, line, sizeof(line) - 1, JSON_COMPACT);
		json_decref(j);
		if (n == 0 || n >= sizeof(line) - 1)
			continue;
		line[n++] = '\n';
		if (sk_api_stream_write(ls->resp, line, n) < 0)
			return; /* the close callback frees us */
	}
}

static void drain_cb(struct sk_api_response *resp, void *userdata)
{
	struct logstream *ls = userdata;

	if (ls->blocked) {
		ls->blocked = false;
		pump(ls);
	}
}

static void closed_cb(struct sk_api_response *resp, void *userdata)
{
	logstream_free(userdata);
}

static void io_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events,
		  void *userdata)
{
	struct logstream *ls = userdata;

	if (!ls->blocked)
		pump(ls);
}

static void watch_update(struct logstream *ls)
{
	struct sk_error *err = NULL;
	int fd = -1;

	if (sk_logs_merge_fd(ls->merge, &fd, &err) < 0) {
		sk_error_free(err);
		return;
	}
	if (fd == ls->io_fd)
		return;
	if (ls->io)
		sk_loop_io_remove(ls->io);
	ls->io = NULL;
	ls->io_fd = fd;
	if (fd >= 0 && sk_loop_io_add(ls->d->loop, fd, SK_LOOP_READ, io_cb, ls, &ls->io, &err) < 0)
		sk_error_free(err);
}

static void rescan_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct logstream *ls = userdata;

	if (sources_scan(ls) > 0) {
		watch_update(ls);
		if (!ls->blocked)
			pump(ls);
	}
}

static void logs_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	const char *name = sk_api_request_param(req, "app");
	const char *q;
	struct sk_dapp *a = sk_dapp_find(d, name);
	struct logstream *ls;
	int64_t v;

	if (!a) {
		sk_api_respond_error(resp, 404, "no such app '%s'", name);
		return;
	}
	ls = sk_malloc0(sizeof(*ls));
	ls->d = d;
	ls->app = sk_strdup(name);
	ls->resp = resp;
	ls->io_fd = -1;
	ls->merge = sk_logs_merge_new();
	sk_logs_read_opts_init(&ls->opts);
	if ((q = sk_api_request_query(req, "service")) && *q) {
		_cleanup_free_ char *copy = sk_strdup(q);
		char *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (!sk_dservice_find(a, t)) {
				sk_api_respond_error(resp, 404, "no such service '%s'", t);
				logstream_free(ls);
				return;
			}
			sk_strv_push(&ls->services, t);
		}
	}
	if ((q = sk_api_request_query(req, "tail")) && *q) {
		if (sk_parse_int64(q, &v) < 0) {
			sk_api_respond_error(resp, 400, "tail: not a number: '%s'", q);
			logstream_free(ls);
			return;
		}
		ls->opts.tail = v;
	}
	if ((q = sk_api_request_query(req, "since")) && *q && sk_parse_int64(q, &v) == 0)
		ls->opts.since_ns = v;
	ls->follow = (q = sk_api_request_query(req, "follow")) && strcmp(q, "0");
	ls->opts.follow = ls->follow;
	sources_scan(ls);
	sk_api_stream_start(resp, 200, "application/x-ndjson");
	sk_api_response_on_close(resp, closed_cb, ls);
	sk_api_response_on_drain(resp, drain_cb, ls);
	if (ls->follow) {
		watch_update(ls);
		ls->rescan = sk_loop_timer_add(d->loop, RESCAN_NS, RESCAN_NS, rescan_cb, ls);
	}
	pump(ls);
}

void sk_daemon_api_logs_route(struct sk_daemon *d)
{
	sk_api_server_route(d->api, "GET", "/v1/apps/{app}/logs", 0, logs_cb, d);
}
