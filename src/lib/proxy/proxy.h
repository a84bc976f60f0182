/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy.h - skiff's load-balancing proxy: HTTP/1.1, raw TCP and UDP, on its
 * own worker threads, driven by immutable configuration snapshots.
 *
 * The control loop (skiffd, or the standalone skiff-proxy) describes what to
 * serve in a struct sk_proxy_config: listeners (address:port -> cluster) and
 * clusters (a service's ready endpoints plus its policy: balancing, timeouts,
 * retries, outlier ejection, bulkhead, fallback cluster, fault injection).
 * sk_proxy_publish() copies the config into a new snapshot and swaps it in
 * atomically; workers pick it up at their next event and never wait on the
 * caller.  State that must outlive a snapshot (per-endpoint ejection state and
 * outstanding counts, per-cluster statistics, connection pools) is kept by
 * the proxy, keyed by cluster name and endpoint id, so publishing the same
 * endpoints again loses nothing.  An endpoint that disappears from a cluster
 * gets no new requests; requests in flight to it finish (drain).
 *
 * This is not a configuration parser for users: skiffd builds the config from
 * the app model, skiff-proxy from a JSON file (sk_proxy_config_from_json).
 */
#ifndef SK_PROXY_PROXY_H
#define SK_PROXY_PROXY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/error.h"

/* SK_PROXY_UDP: datagrams, per client flow (docs/proxy.md); its listeners are UDP sockets. */
enum sk_proxy_mode { SK_PROXY_HTTP, SK_PROXY_TCP, SK_PROXY_UDP };
enum sk_proxy_lb { SK_PROXY_ROUND_ROBIN, SK_PROXY_LEAST_REQUEST };

/* Retry conditions (bits of sk_proxy_policy.retry_on). */
#define SK_PROXY_RETRY_CONNECT 0x1u /* connect refused/unreachable/timeout: always safe */
#define SK_PROXY_RETRY_RESET 0x2u   /* reset or EOF before a response head (idempotent methods) */
#define SK_PROXY_RETRY_STATUS 0x4u  /* a status listed in retry_status (idempotent methods) */
#define SK_PROXY_RETRY_TIMEOUT 0x8u /* per-try timeout (idempotent methods) */

struct sk_proxy_policy {
	enum sk_proxy_mode mode;
	enum sk_proxy_lb lb;
	uint64_t connect_timeout_ns; /* 0: 2 s */
	uint64_t try_timeout_ns;     /* per try, until the response head; 0: none */
	uint64_t total_timeout_ns;   /* whole request incl. retries; 0: none */
	uint64_t idle_timeout_ns;    /* keep-alive, pooled upstreams, tunnels (0: 60 s); udp: a flow
				    * without datagrams (0: 30 s) */

	int retry_attempts; /* retries after the first try; 0: none */
	unsigned retry_on;  /* SK_PROXY_RETRY_* */
	int retry_status[8];
	size_t n_retry_status;
	uint64_t retry_backoff_ns;     /* base, doubled per retry with jitter; 0: 25 ms */
	uint64_t retry_max_backoff_ns; /* 0: 10 x base */
	double retry_budget_percent; /* retries in flight <= this % of requests in flight; 0: 20 */
	int retry_min_concurrency;   /* retries always allowed below this many in flight; 0: 3 */

	int outlier_consecutive_5xx;	   /* 0: off */
	int outlier_consecutive_failures;  /* connect failures / resets / timeouts; 0: off */
	uint64_t outlier_base_ejection_ns; /* 0: 30 s; ejection k lasts k x base (capped 300 s) */
	int outlier_max_ejection_percent;  /* 0: 50; at least one endpoint may be ejected */

	/* bulkhead: requests (http), connections (tcp) or flows (udp) in flight; 0: unlimited */
	int64_t max_concurrent;
};

/*
 * Fault injection (HTTP mode; TCP mode delays the connect or closes; UDP mode
 * only aborts: a datagram from a client is dropped).
 */
struct sk_proxy_fault {
	uint64_t delay_ns, delay_jitter_ns; /* delay = delay_ns +/- uniform(jitter) */
	double delay_percent;		    /* 0..100 */
	int abort_status;		    /* 0: no aborts */
	double abort_percent;		    /* 0..100 */
};

struct sk_proxy_endpoint {
	char *id; /* stable name (the replica id); labels metrics, keys ejection state */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct sk_proxy_cluster {
	char *name; /* unique, e.g. "shop/catalog:80" */
	char *app;  /* metric labels */
	char *service;
	struct sk_proxy_policy policy;
	struct sk_proxy_fault fault;
	char *fallback; /* cluster name, or NULL: used when no endpoint can answer (not udp) */
	struct sk_proxy_endpoint *endpoints; /* ready endpoints only */
	size_t n_endpoints;
};

/* A TCP listener, or a UDP socket when its cluster is in udp mode. */
struct sk_proxy_listener {
	struct sockaddr_storage addr; /* the address and port to listen on */
	socklen_t addrlen;
	char *cluster; /* name of a cluster of the same config */
};

struct sk_proxy_config {
	struct sk_proxy_listener *listeners;
	size_t n_listeners;
	struct sk_proxy_cluster *clusters;
	size_t n_clusters;
};

struct sk_proxy_opts {
	unsigned threads; /* worker threads; 0: one per online CPU, at most 4 */
};

struct sk_proxy;

/* Starts the workers (no listeners yet).  Returns 0 and *ret, or a negative errno. */
int sk_proxy_new(const struct sk_proxy_opts *o, struct sk_proxy **ret, struct sk_error **err);

/*
 * Makes `c` the configuration; the caller keeps ownership of `c` (it is
 * copied).  Opens listeners that are new (SO_REUSEPORT, one socket per
 * worker), closes those no longer named.  On failure (a bind error, a
 * listener naming an unknown cluster, a fallback cycle, a fallback across
 * udp and the other modes) the previous configuration stays in force and
 * *err names the address ('ADDR', or 'ADDR/udp' for a UDP listener) or the
 * cluster.  A TCP and a UDP listener may share an address.
 * Call from one thread at a time.  Never waits for a worker.
 */
int sk_proxy_publish(struct sk_proxy *p, const struct sk_proxy_config *c, struct sk_error **err);

/*
 * Takes fd, a listening socket a previous proxy opened (kept by skiff's
 * keeper while skiffd restarted), as a spare: a later publish that opens a
 * listener of the same type and address uses it instead of a new socket,
 * so connections queued on it while nobody accepted are served.
 */
void sk_proxy_adopt(struct sk_proxy *p, int fd);

/* Closes the spares no publish has used. */
void sk_proxy_close_spares(struct sk_proxy *p);

/*
 * Copies (dup, CLOEXEC) of the listening sockets of the current listener of
 * this type (SOCK_STREAM, SOCK_DGRAM) and address, at most max: the count.
 */
size_t sk_proxy_listener_fds(struct sk_proxy *p, int type, const struct sockaddr_storage *addr,
			     socklen_t addrlen, int *out, size_t max);

/*
 * Appends the proxy's metrics in Prometheus text exposition format to a
 * newly allocated *ret_text (caller frees): skiff_service_requests_total
 * {app,service,method,code}, skiff_service_request_duration_seconds
 * (histogram), skiff_endpoint_requests_total{app,service,replica,code},
 * skiff_service_active_connections, skiff_service_retries_total,
 * skiff_service_ejections_total, skiff_service_fallbacks_total,
 * skiff_service_rejected_total, skiff_service_faults_total{kind}; with udp
 * clusters skiff_service_udp_datagrams_total{direction},
 * skiff_service_udp_dropped_total and skiff_service_udp_flows_total.
 */
int sk_proxy_metrics(struct sk_proxy *p, char **ret_text, struct sk_error **err);

/* Stops the workers, closes every socket, frees everything.  Accepts NULL. */
void sk_proxy_free(struct sk_proxy *p);
static inline void sk_proxy_freep(struct sk_proxy **p)
{
	sk_proxy_free(*p);
}

/* Config from JSON (the format is documented in docs/proxy.md).  *ret is freed with sk_proxy_config_free(). */
int sk_proxy_config_from_json(json_t *j, struct sk_proxy_config **ret, struct sk_error **err);
void sk_proxy_config_free(struct sk_proxy_config *c);
static inline void sk_proxy_config_freep(struct sk_proxy_config **c)
{
	sk_proxy_config_free(*c);
}

#endif
