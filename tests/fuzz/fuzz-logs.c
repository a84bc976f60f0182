/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-logs.c - libFuzzer target for the CRI log record parser.
 *
 * Splits each input at '\n' and parses every line with
 * sk_logs_parse_line() (log files can be damaged or foreign).  A line that
 * parses must point its message inside the line, and its time must survive
 * a format/parse round trip, so a wrong date computation shows as a crash
 * (and UBSan sees an overflow for a year past int64 nanoseconds).
 * Seeds live in tests/fuzz/corpus/fuzz-logs/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/logs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *line, size_t len)
{
	struct sk_logs_record rec, again;
	char ts[31], buf[64];

	if (sk_logs_parse_line(line, len, &rec) < 0)
		return;
	if (rec.msg < line || rec.msg + rec.len != line + len)
		abort();
	sk_logs_format_time(rec.time_ns, ts);
	snprintf(buf, sizeof(buf), "%s stdout F", ts);
	if (sk_logs_parse_line(buf, strlen(buf), &again) < 0 || again.time_ns != rec.time_ns)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		check(p, (size_t)(stop - p));
		p = stop + 1;
	}
	return 0;
}
