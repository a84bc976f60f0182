/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logs-format.c - one CRI log record as text: formatting the timestamp and
 * parsing a line back into a record.  Parsed by hand because it is a
 * four-field line; tests/fuzz/fuzz-logs.c feeds it arbitrary bytes.
 */
#include "daemon/logs.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

const char *sk_logs_stream_name(enum sk_logs_stream s)
{
	return s == SK_LOGS_STDERR ? "stderr" : "stdout";
}

void sk_logs_format_time(int64_t time_ns, char buf[static 31])
{
	int64_t sec = time_ns / 1000000000LL, ns = time_ns % 1000000000LL;
	time_t t;
	struct tm tm;

	if (ns < 0) {
		ns += 1000000000LL;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		memcpy(buf, "1970-01-01T00:00:00.000000000Z", 31);
		return;
	}
	/* "YYYY-MM-DDTHH:MM:SS" then ".nnnnnnnnnZ", digits written by hand so
	 * the length is fixed (and FORTIFY sees no possible truncation). */
	if (strftime(buf, 20, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
		memcpy(buf, "1970-01-01T00:00:00.000000000Z", 31);
		return;
	}
	buf[19] = '.';
	for (int i = 28; i >= 20; i--, ns /= 10)
		buf[i] = (char)('0' + ns % 10);
	buf[29] = 'Z';
	buf[30] = '\0';
}

/* Reads exactly n digits at *p; -1 when they are not all digits. */
static int digits(const char **p, const char *end, int n)
{
	int v = 0;

	if (end - *p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* The fraction after '.', 1-9 digits, as nanoseconds. */
static int fraction(const char **p, const char *end, int64_t *ns)
{
	int n = 0;

	*ns = 0;
	if (!expect(p, end, '.'))
		return 0;
	while (*p < end && **p >= '0' && **p <= '9' && n < 9) {
		*ns = *ns * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || (*p < end && **p >= '0' && **p <= '9'))
		return -EINVAL;
	for (; n < 9; n++)
		*ns *= 10;
	return 0;
}

/* "Z" or "+hh:mm" / "-hh:mm" as seconds east of UTC. */
static int zone(const char **p, const char *end, int64_t *off)
{
	int sign, h, m;

	*off = 0;
	if (expect(p, end, 'Z'))
		return 0;
	if (*p >= end || (**p != '+' && **p != '-'))
		return -EINVAL;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	h = digits(p, end, 2);
	if (h < 0 || h > 23 || !expect(p, end, ':'))
		return -EINVAL;
	m = digits(p, end, 2);
	if (m < 0 || m > 59)
		return -EINVAL;
	*off = sign * (h * 3600 + m * 60);
	return 0;
}

/* An RFC 3339 timestamp at *p, advancing past it. */
static int parse_time(const char **p, const char *end, int64_t *ret)
{
	int y, mo, d, h, mi, s;
	int64_t ns, off, secs;

	y = digits(p, end, 4);
	if (y < 0 || !expect(p, end, '-') || (mo = digits(p, end, 2)) < 1 || mo > 12 ||
	    !expect(p, end, '-'))
		return -EINVAL;
	d = digits(p, end, 2);
	if (d < 1 || d > days_in_month(y, mo) || !(expect(p, end, 'T') || expect(p, end, 't')))
		return -EINVAL;
	h = digits(p, end, 2);
	if (h < 0 || h > 23 || !expect(p, end, ':') || (mi = digits(p, end, 2)) < 0 || mi > 59 ||
	    !expect(p, end, ':') || (s = digits(p, end, 2)) < 0 || s > 60)
		return -EINVAL;
	if (fraction(p, end, &ns) < 0 || zone(p, end, &off) < 0)
		return -EINVAL;
	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	/* int64 nanoseconds reach from 1677 to 2262 */
	if (secs <= INT64_MIN / 1000000000LL || secs >= INT64_MAX / 1000000000LL)
		return -ERANGE;
	*ret = secs * 1000000000LL + ns;
	return 0;
}

static int parse_stream(const char **p, const char *end, enum sk_logs_stream *ret)
{
	if (end - *p >= 6 && memcmp(*p, "stdout", 6) == 0)
		*ret = SK_LOGS_STDOUT;
	else if (end - *p >= 6 && memcmp(*p, "stderr", 6) == 0)
		*ret = SK_LOGS_STDERR;
	else
		return -EINVAL;
	*p += 6;
	return 0;
}

int sk_logs_parse_line(const char *line, size_t len, struct sk_logs_record *ret)
{
	const char *p = line, *end = line + len;
	struct sk_logs_record rec = { 0 };

	if (parse_time(&p, end, &rec.time_ns) < 0 || !expect(&p, end, ' '))
		return -EINVAL;
	if (parse_stream(&p, end, &rec.stream) < 0 || !expect(&p, end, ' '))
		return -EINVAL;
	if (expect(&p, end, 'P'))
		rec.partial = true;
	else if (!expect(&p, end, 'F'))
		return -EINVAL;
	/* "... F" with nothing after it is an empty line, too */
	if (p < end && !expect(&p, end, ' '))
		return -EINVAL;
	rec.msg = p;
	rec.len = (size_t)(end - p);
	*ret = rec;
	return 0;
}
