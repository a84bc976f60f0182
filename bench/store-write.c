// SPDX-License-Identifier: Apache-2.0
// store-write - what a store write costs the control loop.
//
// Usage: store-write DIR [N]
//   Opens DIR/skiff.db as skiffd's control loop does (WAL, synchronous=NORMAL,
//   manual checkpoints), makes one app with 100 replicas and times N (default
//   20000) sk_store_replica_observe() calls: one commit each, then batched 100
//   per transaction, then one commit each while another thread checkpoints on
//   its own handle every 10 ms.  Prints rate and p50/p99/max latency.  To see
//   that the loop thread never fsyncs (the design, see store.h):
//   strace -f -e trace=fsync,fdatasync build/rel/store-write DIR
//
// Build (release library):
//   make build/rel/libskiff.a && cc -O2 -std=gnu11 -D_GNU_SOURCE -Isrc/lib
//     -o build/rel/store-write bench/store-write.c build/rel/libskiff.a
//     $(pkg-config --libs sqlite3 jansson) -lpthread
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "daemon/store.h"

#define REPLICAS 100

static atomic_int stop_checkpointer;

static void die(struct sk_error *e)
{
	fprintf(stderr, "store-write: %s\n", e ? e->msg : "failed");
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *lat, int n, uint64_t total_ns)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("%-34s %9.0f updates/s  p50 %6.1f us  p99 %7.1f us  max %8.1f us\n", what,
	       n / (total_ns / 1e9), lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, lat[n - 1] / 1e3);
}

static void run(struct sk_store *s, const char *what, int n, int batch)
{
	uint64_t *lat = calloc((size_t)n, sizeof(*lat));
	struct sk_error *e = NULL;
	uint64_t t0 = sk_now_ns();

	for (int i = 0; i < n; i++) {
		struct sk_store_replica_obs o = { .state = SK_STORE_OBS_RUNNING,
						  .pid = i + 1,
						  .restarts = i };
		uint64_t a = sk_now_ns();
		if (batch && i % batch == 0 && sk_store_begin(s, &e) < 0)
			die(e);
		if (sk_store_replica_observe(s, "bench", "web", 1 + i % REPLICAS, &o, &e) < 0)
			die(e);
		if (batch && (i % batch == batch - 1 || i == n - 1) && sk_store_commit(s, &e) < 0)
			die(e);
		lat[i] = sk_now_ns() - a;
	}
	report(what, lat, n, sk_now_ns() - t0);
	free(lat);
}

static void *checkpointer(void *dir)
{
	struct sk_store *s = NULL;
	struct sk_error *e = NULL;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (sk_store_open(dir, NULL, &s, &e) < 0)
		die(e);
	while (!atomic_load(&stop_checkpointer)) {
		if (sk_store_checkpoint(s, NULL, NULL, &e) < 0)
			die(e);
		nanosleep(&ts, NULL);
	}
	sk_store_close(s);
	return NULL;
}

static void setup_app(struct sk_store *s)
{
	struct sk_store_service_spec svc = { "web", "h", REPLICAS };
	struct sk_store_app_spec app = { "bench", "/", "{}", &svc, 1 };
	struct sk_error *e = NULL;

	if (sk_store_app_put(s, &app, NULL, NULL, &e) < 0)
		die(e);
	for (int i = 1; i <= REPLICAS; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "bench-web-%d", i);
		struct sk_store_replica r = {
			.app = "bench", .service = "web", .index = i, .container_id = cid
		};
		if (sk_store_replica_upsert(s, &r, &e) < 0)
			die(e);
	}
}

int main(int argc, char **argv)
{
	struct sk_store_opts o = { .manual_checkpoint = true };
	struct sk_store *s = NULL;
	struct sk_error *e = NULL;
	int n = argc > 2 ? atoi(argv[2]) : 20000;
	pthread_t th;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: store-write DIR [N]\n");
		return 2;
	}
	if (sk_store_open(argv[1], &o, &s, &e) < 0)
		die(e);
	setup_app(s);
	run(s, "one commit per update", n, 0);
	run(s, "100 updates per commit", n, 100);
	pthread_create(&th, NULL, checkpointer, argv[1]);
	run(s, "one commit each, checkpoint thread", n, 0);
	atomic_store(&stop_checkpointer, 1);
	pthread_join(th, NULL);
	sk_store_close(s);
	return 0;
}
