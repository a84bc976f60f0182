/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.c - the demo app's background worker: a static program for the
 * skiff-demo/worker image that does nothing but produce what skiff has to
 * handle - log lines on both streams, exits with chosen codes, memory use.
 * Not a job runner.
 *
 * Every INTERVAL_MS (default 1000) it logs "NAME: tick N" and counts;
 * every 5th tick goes to stderr ("... tick N (stderr)"), the others to stdout.
 * SIGTERM or SIGINT: logs "NAME: stopping after N ticks", exits 0.
 *
 *   NAME=S         the name in its lines (default "worker")
 *   EXIT_AFTER=N   exit with EXIT_CODE (default 1) after the Nth tick (restart
 *                  tests); EXIT_AFTER=0 exits at once, after the startup line
 *   ALLOC_MB=N     allocate and touch N MiB before the first tick, and keep it
 *                  (OOM tests under a memory limit)
 *
 * The ticks come from a timerfd and the signals from a signalfd, both read in
 * one poll() loop; nothing runs in a signal handler.  Bad settings: exit 2.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MAX_INTERVAL_MS 3600000L
#define MAX_ALLOC_MB 65536L

/* The environment variable name as a strict decimal in [lo, hi], or def when
 * unset; exits 2 on junk, a sign, overflow or out of range. */
static long env_num(const char *name, long def, long lo, long hi)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s)
		return def;
	errno = 0;
	v = (*s >= '0' && *s <= '9') ? strtol(s, &end, 10) : -1;
	if (v < 0 || errno || *end || v < lo || v > hi) {
		fprintf(stderr, "worker: invalid %s '%s' (want %ld..%ld)\n", name, s, lo, hi);
		exit(2);
	}
	return v;
}

/* Allocates mb MiB and writes every page, so that they count against the
 * memory limit.  Never freed: the worker holds it until it exits. */
static void alloc_touch(const char *name, long mb)
{
	long page = sysconf(_SC_PAGESIZE);

	for (long i = 0; i < mb; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			fprintf(stderr, "%s: out of memory after %ld MiB\n", name, i);
			exit(1);
		}
		for (long off = 0; off < (1 << 20); off += page)
			p[off] = (char)i;
		if ((i + 1) % 16 == 0 || i + 1 == mb)
			printf("%s: allocated %ld MiB\n", name, i + 1);
	}
}

int main(void)
{
	const char *name = getenv("NAME") ? getenv("NAME") : "worker";
	long interval = env_num("INTERVAL_MS", 1000, 1, MAX_INTERVAL_MS);
	long exit_after = env_num("EXIT_AFTER", -1, 0, INT32_MAX);
	long exit_code = env_num("EXIT_CODE", 1, 0, 255);
	long alloc_mb = env_num("ALLOC_MB", 0, 0, MAX_ALLOC_MB);
	struct itimerspec its = { 0 };
	struct pollfd pfd[2];
	unsigned long ticks = 0;
	sigset_t mask;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		perror("worker: sigprocmask");
		return 1;
	}
	pfd[0] = (struct pollfd){ .fd = signalfd(-1, &mask, SFD_CLOEXEC), .events = POLLIN };
	pfd[1] =
	    (struct pollfd){ .fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), .events = POLLIN };
	if (pfd[0].fd < 0 || pfd[1].fd < 0) {
		perror("worker: signalfd/timerfd");
		return 1;
	}
	printf("%s: started (pid %ld, every %ld ms)\n", name, (long)getpid(), interval);
	if (exit_after == 0) {
		printf("%s: exiting with %ld after 0 ticks\n", name, exit_code);
		return (int)exit_code;
	}
	alloc_touch(name, alloc_mb);
	its.it_value.tv_sec = its.it_interval.tv_sec = interval / 1000;
	its.it_value.tv_nsec = its.it_interval.tv_nsec = (interval % 1000) * 1000000;
	if (timerfd_settime(pfd[1].fd, 0, &its, NULL) < 0) {
		perror("worker: timerfd_settime");
		return 1;
	}
	for (;;) {
		uint64_t expired;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("worker: poll");
			return 1;
		}
		if (pfd[0].revents) {
			printf("%s: stopping after %lu ticks\n", name, ticks);
			return 0;
		}
		if (!pfd[1].revents ||
		    read(pfd[1].fd, &expired, sizeof(expired)) != sizeof(expired))
			continue;
		/* one line per tick even when the loop fell behind: no bursts */
		ticks++;
		if (ticks % 5 == 0)
			fprintf(stderr, "%s: tick %lu (stderr)\n", name, ticks);
		else
			printf("%s: tick %lu\n", name, ticks);
		if (exit_after > 0 && ticks >= (unsigned long)exit_after) {
			printf("%s: exiting with %ld after %lu ticks\n", name, exit_code, ticks);
			return (int)exit_code;
		}
	}
}
