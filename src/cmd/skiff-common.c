/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-common.c - what the app verbs of `skiff` (up, ps, logs, exec, ...)
 * share: choosing the app like `docker compose` does, connecting to skiffd
 * and calling its API (docs/api.md), reading NDJSON streams, and printing
 * tables, sizes, durations and times.  No verb lives here.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "base/util.h"
#include "cmd/skiff-cli.h"

#define NDJSON_MAX_LINE (4u << 20)

void skiff_app_sel_init(struct skiff_app_sel *sel, const struct skiff_opts *o)
{
	sel->file = o->file;
	sel->project = o->project;
}

/* Loads the compose file only to learn the app's name; errors are printed. */
static int name_from_file(const char *file, char **ret_name)
{
	struct sk_app_load_opts lo = { .file = file };
	_cleanup_(sk_app_freep) struct sk_app *app = NULL;
	struct sk_app_diags diags = { 0 };
	struct sk_error *err = NULL;
	int r;

	r = sk_app_load(&lo, &app, &diags, &err);
	for (size_t i = 0; r < 0 && i < diags.n; i++)
		if (diags.v[i].level == SK_APP_ERROR)
			fprintf(stderr, "%s\n", diags.v[i].msg);
	if (r < 0 && diags.n_errors == 0) {
		sk_app_diags_release(&diags);
		return skiff_fail(err);
	}
	sk_error_free(err);
	sk_app_diags_release(&diags);
	if (r < 0)
		return 1;
	*ret_name = sk_strdup(app->name);
	return 0;
}

int skiff_app_name(const struct skiff_app_sel *sel, bool optional, char **ret_name)
{
	_cleanup_free_ char *found = NULL;
	struct sk_error *err = NULL;

	if (sel->project) {
		char *n = sk_app_normalize_name(sel->project);
		if (!n) {
			sk_error_set(&err, 0, "invalid project name '%s'", sel->project);
			return skiff_fail(err);
		}
		*ret_name = n;
		return 0;
	}
	if (sel->file)
		return name_from_file(sel->file, ret_name);
	if (sk_app_find_file(".", &found, &err) < 0) {
		if (optional) {
			sk_error_free(err);
			*ret_name = NULL;
			return 0;
		}
		sk_error_prefix(&err, "no app given (use -p NAME or -f FILE)");
		return skiff_fail(err);
	}
	return name_from_file(found, ret_name);
}

int skiff_connect(const struct skiff_opts *o, struct sk_api_client **ret)
{
	struct sk_error *err = NULL;
	int r;

	r = sk_api_client_new(o->sock, ret, &err);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		sk_error_free(err);
		fprintf(stderr,
			"skiff: cannot reach skiffd at %s: start it with `skiffd &` or "
			"`systemctl start skiffd`\n",
			o->sock);
		return 1;
	}
	return r < 0 ? skiff_fail(err) : 0;
}

int skiff_call(struct sk_api_client *c, const char *method, const char *path, json_t *body,
	       json_t **ret_json, struct sk_error **err)
{
	_cleanup_free_ char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct sk_api_reply reply = { 0 };
	json_t *j = NULL;
	json_error_t jerr;
	int r;

	r = sk_api_client_request(c, method, path, "application/json", s, s ? strlen(s) : 0, NULL,
				  NULL, &reply, err);
	if (r < 0)
		return r;
	if (reply.body_len > 0)
		j = json_loadb(reply.body, reply.body_len, 0, &jerr);
	if (reply.status < 200 || reply.status > 299) {
		const char *msg = json_string_value(json_object_get(j, "error"));
		int code = reply.status == 404 ? ENOENT : reply.status == 409 ? EEXIST : EIO;
		/* the daemon's message stands alone: no strerror() appended */
		if (msg)
			(void)sk_error_set(err, 0, "%s", msg);
		else
			(void)sk_error_set(err, 0, "%s %s: HTTP status %d", method, path,
					   reply.status);
		if (err && *err)
			(*err)->code = code;
		r = -code;
	} else if (reply.body_len > 0 && !j) {
		r = sk_error_set(err, EPROTO, "%s %s: invalid JSON in the answer: %s", method, path,
				 jerr.text);
	} else if (ret_json) {
		*ret_json = TAKE_PTR(j);
	}
	json_decref(j);
	sk_api_reply_release(&reply);
	return r;
}

char *skiff_url_escape(const char *s)
{
	char *out = sk_malloc0(strlen(s) * 3 + 1), *p = out;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || strchr("._~-", ch))
			*p++ = (char)ch;
		else
			p += sprintf(p, "%%%02X", ch);
	}
	*p = '\0';
	return out;
}

char *skiff_app_path(const char *app, const char *suffix)
{
	_cleanup_free_ char *e = skiff_url_escape(app);

	return sk_asprintf("/v1/apps/%s%s", e, suffix ? suffix : "");
}

json_t *skiff_get_replicas(struct sk_api_client *c, const char *app)
{
	_cleanup_free_ char *path = skiff_app_path(app, "/ps");
	struct sk_error *err = NULL;
	json_t *j = NULL, *reps;

	if (skiff_call(c, "GET", path, NULL, &j, &err) < 0) {
		skiff_fail(err);
		return NULL;
	}
	reps = json_object_get(j, "replicas");
	if (!json_is_array(reps)) {
		json_decref(j);
		sk_error_set(&err, EPROTO, "GET %s: no \"replicas\" array in the answer", path);
		skiff_fail(err);
		return NULL;
	}
	json_incref(reps);
	json_decref(j);
	return reps;
}

/* ---- NDJSON --------------------------------------------------------- */

static int ndjson_line(struct skiff_ndjson *n, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *obj;
	int r;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	obj = json_loadb(line, len, 0, &jerr);
	if (!obj) {
		n->error = -EPROTO;
		return 1;
	}
	r = n->cb(obj, n->userdata);
	json_decref(obj);
	return r;
}

int skiff_ndjson_feed(const char *data, size_t len, void *userdata)
{
	struct skiff_ndjson *n = userdata;
	size_t start = 0;

	n->buf = sk_realloc(n->buf, n->len + len + 1);
	memcpy(n->buf + n->len, data, len);
	n->len += len;
	for (size_t i = 0; i < n->len; i++) {
		if (n->buf[i] != '\n')
			continue;
		int r = ndjson_line(n, n->buf + start, i - start);
		start = i + 1;
		if (r) {
			n->len = 0;
			return r;
		}
	}
	memmove(n->buf, n->buf + start, n->len - start);
	n->len -= start;
	if (n->len > NDJSON_MAX_LINE) {
		n->error = -EMSGSIZE;
		return 1;
	}
	return 0;
}

void skiff_ndjson_release(struct skiff_ndjson *n)
{
	free(n->buf);
	n->buf = NULL;
	n->len = 0;
}

/* ---- tables --------------------------------------------------------- */

void skiff_table_init(struct skiff_table *t, size_t n_cols, const char *const *headers)
{
	*t = (struct skiff_table){ .n_cols = n_cols };
	skiff_table_add(t, headers);
}

void skiff_table_add(struct skiff_table *t, const char *const *row)
{
	t->cells = sk_realloc(t->cells, sizeof(char *) * t->n_cols * (t->n_rows + 1));
	for (size_t i = 0; i < t->n_cols; i++)
		t->cells[t->n_rows * t->n_cols + i] = sk_strdup(row[i] ? row[i] : "-");
	t->n_rows++;
}

void skiff_table_print(const struct skiff_table *t, FILE *f)
{
	_cleanup_free_ size_t *w = sk_new0(size_t, t->n_cols);

	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_cols; c++) {
			size_t n = strlen(t->cells[r * t->n_cols + c]);
			if (n > w[c])
				w[c] = n;
		}
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *cell = t->cells[r * t->n_cols + c];
			if (c + 1 == t->n_cols)
				fprintf(f, "%s\n", cell);
			else
				fprintf(f, "%-*s  ", (int)w[c], cell);
		}
	}
}

void skiff_table_release(struct skiff_table *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	*t = (struct skiff_table){ 0 };
}

/* ---- units and times ------------------------------------------------ */

void skiff_human_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 "B", n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < SK_ELEMENTSOF(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%s", v, units[u]);
}

void skiff_human_duration(int64_t ns, char *buf, size_t len)
{
	int64_t s = ns > 0 ? ns / 1000000000 : 0;

	if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%" PRId64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%" PRId64 "h", s / 86400, s % 86400 / 3600);
}

void skiff_format_time(int64_t ns, int digits, char *buf, size_t len)
{
	time_t secs = (time_t)(ns / 1000000000);
	int64_t frac = ns % 1000000000;
	struct tm tm;
	char base[32];

	if (frac < 0) {
		frac += 1000000000;
		secs--;
	}
	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (digits == 3)
		snprintf(buf, len, "%s.%03" PRId64 "Z", base, frac / 1000000);
	else if (digits == 9)
		snprintf(buf, len, "%s.%09" PRId64 "Z", base, frac);
	else
		snprintf(buf, len, "%sZ", base);
}

int64_t skiff_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* "123" or "123.456": seconds and up to 9 fractional digits, as nanoseconds. */
static int parse_unix(const char *s, int64_t *ret_ns)
{
	const char *dot = strchr(s, '.');
	_cleanup_free_ char *whole = sk_strndup(s, dot ? (size_t)(dot - s) : strlen(s));
	int64_t secs, frac = 0;
	int digits = 0;

	if (sk_parse_int64(whole, &secs) < 0 || secs < 0 || secs > INT64_MAX / 1000000000 ||
	    !isdigit((unsigned char)whole[0]))
		return -EINVAL;
	if (dot) {
		for (const char *p = dot + 1; *p; p++) {
			if (!isdigit((unsigned char)*p) || ++digits > 9)
				return -EINVAL;
			frac = frac * 10 + (*p - '0');
		}
		if (digits == 0)
			return -EINVAL;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	*ret_ns = secs * 1000000000 + frac;
	return 0;
}

/* RFC 3339: date, optional T time with fraction, then Z or +hh:mm / -hh:mm. */
static int parse_rfc3339(const char *s, int64_t *ret_ns)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%d", &tm);
	int64_t frac = 0, off = 0;
	int digits = 0;

	if (!p)
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p = strptime(p + 1, "%H:%M:%S", &tm);
		if (!p)
			return -EINVAL;
		if (*p == '.') {
			for (p++; isdigit((unsigned char)*p); p++)
				if (++digits <= 9)
					frac = frac * 10 + (*p - '0');
			if (digits == 0)
				return -EINVAL;
			for (int d = digits; d < 9; d++)
				frac *= 10;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int hh, mm, n = 0;
			if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5 || hh > 23 ||
			    mm > 59)
				return -EINVAL;
			off = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
			p += 6;
		} else {
			return -EINVAL;
		}
	}
	if (*p)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret_ns = ((int64_t)t - off) * 1000000000 + frac;
	return 0;
}

int skiff_parse_since(const char *s, int64_t *ret_ns)
{
	int64_t d;

	if (!*s)
		return -EINVAL;
	if (strspn(s, "0123456789.") == strlen(s))
		return parse_unix(s, ret_ns);
	if (strlen(s) >= 10 && s[4] == '-' && s[7] == '-')
		return parse_rfc3339(s, ret_ns);
	if (sk_app_parse_duration(s, &d) < 0)
		return -EINVAL;
	*ret_ns = skiff_now_ns() - d;
	return 0;
}
