/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-units.c - strict parsers for the units compose files use: Go
 * durations ("1m30s", "500ms", "1.5s"), byte sizes with binary multipliers
 * as docker's go-units reads them ("64m", "1.5gb", "2GiB") and CPU counts.
 * Junk, overflow and negative values are -EINVAL / -ERANGE, never clamped.
 */
#include "app/app.h"

#include <string.h>

#include "base/util.h"

/* Reads digits[.digits] at *p: integer part and the fraction as num/den. */
static int read_decimal(const char **p, uint64_t *ret_int, uint64_t *ret_num, uint64_t *ret_den)
{
	const char *s = *p;
	uint64_t v = 0, num = 0, den = 1;
	bool any = false;

	for (; *s >= '0' && *s <= '9'; s++, any = true) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++, any = true)
			if (den < 1000000000000000000ULL) { /* digits beyond 1e-18 do not matter */
				num = num * 10 + (uint64_t)(*s - '0');
				den *= 10;
			}
	}
	if (!any)
		return -EINVAL;
	*p = s;
	*ret_int = v;
	*ret_num = num;
	*ret_den = den;
	return 0;
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 }, /* U+03BC greek mu */
	{ "ms", 1000000 },
	{ "s", 1000000000ULL },
	{ "m", 60ULL * 1000000000ULL },
	{ "h", 3600ULL * 1000000000ULL },
};

static int duration_unit(const char **p, uint64_t *ret)
{
	size_t best = 0;
	int found = -1;

	for (size_t i = 0; i < SK_ELEMENTSOF(duration_units); i++) {
		size_t l = strlen(duration_units[i].name);
		if (!strncmp(*p, duration_units[i].name, l) && l > best) {
			best = l;
			found = (int)i;
		}
	}
	if (found < 0)
		return -EINVAL;
	*p += best;
	*ret = duration_units[found].ns;
	return 0;
}

int sk_app_parse_duration(const char *s, int64_t *ret_ns)
{
	uint64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (*p == '+')
		p++;
	if (!strcmp(p, "0")) {
		*ret_ns = 0;
		return 0;
	}
	while (*p) {
		uint64_t v, num, den, unit;
		int r = read_decimal(&p, &v, &num, &den);
		if (r < 0)
			return r;
		if (duration_unit(&p, &unit) < 0)
			return -EINVAL;
		if (v > (uint64_t)INT64_MAX / unit)
			return -ERANGE;
		v *= unit;
		/* num/den < 1, so num * (unit / den) stays below unit */
		v += (uint64_t)((long double)num * (long double)unit / (long double)den);
		if (v > (uint64_t)INT64_MAX - total)
			return -ERANGE;
		total += v;
	}
	*ret_ns = (int64_t)total;
	return 0;
}

int sk_app_parse_bytes(const char *s, uint64_t *ret)
{
	static const char units[] = "kmgtp";
	const char *p = s;
	uint64_t v, num, den, mult = 1;
	long double frac;
	int r;

	if (!s)
		return -EINVAL;
	r = read_decimal(&p, &v, &num, &den);
	if (r < 0)
		return r;
	if (*p == ' ')
		p++;
	if (*p) {
		const char *u = strchr(units, *p | 0x20);
		if (u && *p != ' ') {
			for (const char *q = units; q <= u; q++)
				mult *= 1024;
			p++;
			if (*p == 'i' || *p == 'I')
				p++;
		}
		if (*p == 'b' || *p == 'B')
			p++;
	}
	if (*p || p[-1] == ' ')
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	frac = (long double)num * (long double)mult / (long double)den;
	if ((long double)(v * mult) + frac > 18446744073709551615.0L)
		return -ERANGE;
	*ret = v * mult + (uint64_t)frac;
	return 0;
}

int sk_app_parse_cpus(const char *s, double *ret)
{
	const char *p = s;
	uint64_t v, num, den;
	int r;

	if (!s)
		return -EINVAL;
	r = read_decimal(&p, &v, &num, &den);
	if (r < 0)
		return r;
	if (*p)
		return -EINVAL;
	if (v > 1024 || (v == 1024 && num))
		return -ERANGE;
	*ret = (double)v + (double)num / (double)den;
	return 0;
}
