// SPDX-License-Identifier: Apache-2.0
// spawn-time - run one command, print its wall time and rusage.
//
// Usage: spawn-time OUTFILE CMD [ARG...]
//   CMD runs with stdin /dev/null and stdout+stderr to OUTFILE. Prints one line
//   "wall_ns status utime_us stime_us maxrss_kib" on stdout.
//
// Why C and not Python's os.posix_spawn: Linux keeps the peak RSS of the mm a
// process execs *from* in its ru_maxrss (exec_mmap -> setmax_mm_hiwater_rss),
// so a child spawned from a 13 MiB Python reports at least 13 MiB. This
// helper is a few hundred KiB, so ru_maxrss is the runtime's (and, as Linux
// reports it for wait4, the peak of any child the runtime reaped). Wall time
// is CLOCK_MONOTONIC around vfork+exec+wait4; the helper's own start-up is
// outside it.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: spawn-time OUTFILE CMD [ARG...]\n");
		return 2;
	}
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || out < 0) {
		perror("spawn-time: open");
		return 2;
	}
	fflush(stdout);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = vfork();
	if (pid == 0) {
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execv(argv[2], argv + 2);
		int e = errno;
		(void)!write(2, "spawn-time: cannot exec ", 24);
		(void)!write(2, argv[2], strlen(argv[2]));
		(void)!write(2, ": ", 2);
		(void)!write(2, strerror(e), strlen(strerror(e)));
		(void)!write(2, "\n", 1);
		_exit(127);
	}
	if (pid < 0) {
		perror("spawn-time: vfork");
		return 2;
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("spawn-time: wait4");
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long ns =
	    (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	printf("%lld %d %lld %lld %ld\n", ns, status,
	       (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss);
	return 0;
}
