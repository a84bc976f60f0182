/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy-internal.h - the proxy's private structures, shared by its files:
 * persistent state (per cluster, per endpoint), immutable snapshots, worker
 * threads with their timers, client sessions and upstream connections.
 *
 * Threading: a snapshot is immutable once published and refcounted;
 * publish hands each worker its own reference through an atomic exchange
 * (no lock on the worker side).  Each worker holds one reference to every
 * snapshot its sessions still use and counts those uses itself (no atomics
 * per request).  Persistent state
 * (struct sk_proxy_cstate / sk_proxy_estate) lives until sk_proxy_free();
 * its counters are relaxed atomics; each endpoint's connection pool has one
 * slot per worker, touched only by that worker.  Sessions, upstream
 * connections and timers belong to one worker and are never shared.
 */
#ifndef SK_PROXY_INTERNAL_H
#define SK_PROXY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/http.h"
#include "base/spares.h"
#include "proxy/proxy.h"

#define SK_PROXY_MAX_THREADS 64
#define SK_PROXY_NBUCKETS 15
#define SK_PROXY_NMETHODS 10 /* GET HEAD POST PUT DELETE PATCH OPTIONS TRACE CONNECT OTHER */
#define SK_PROXY_NCLASSES 5  /* 1xx (a 101 upgrade) 2xx 3xx 4xx 5xx */

#define SK_PROXY_IN_SIZE (16 * 1024)  /* client and upstream input; bounds a head */
#define SK_PROXY_OUT_SIZE (20 * 1024) /* client output: a rewritten head fits */
#define SK_PROXY_RBUF_MAX (80 * 1024) /* request bytes kept for a retry (64 KiB of body) */
#define SK_PROXY_MAX_HEAD (16 * 1024 - 512)

typedef _Atomic uint64_t sk_proxy_ctr;

static inline void sk_proxy_ctr_add(sk_proxy_ctr *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}
static inline uint64_t sk_proxy_ctr_get(sk_proxy_ctr *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

struct sk_proxy_uconn;

/* One worker's idle connections to one endpoint (most recently used first). */
struct sk_proxy_pool {
	struct sk_proxy_uconn *head, *tail;
};

/* Per endpoint, across snapshots (keyed by cluster name + endpoint id). */
struct sk_proxy_estate {
	struct sk_proxy_estate *next;
	char *id;
	_Atomic int64_t outstanding;
	_Atomic int consec_5xx, consec_fail;
	_Atomic uint64_t ejected_until; /* CLOCK_MONOTONIC ns; 0: not ejected */
	_Atomic int eject_count;
	sk_proxy_ctr requests[SK_PROXY_NCLASSES];
	struct sk_proxy_pool *pools; /* [threads] */
};

/*
 * A worker's share of a cluster's request statistics: only that worker
 * writes it (relaxed atomics so the metrics reader sees whole values), and
 * it has cache lines of its own.
 */
struct sk_proxy_wstats {
	_Alignas(64) sk_proxy_ctr requests[SK_PROXY_NMETHODS][SK_PROXY_NCLASSES];
	sk_proxy_ctr buckets[SK_PROXY_NBUCKETS]; /* non-cumulative; last is +Inf */
	sk_proxy_ctr duration_ns, count;
	sk_proxy_ctr udp[4]; /* enum sk_proxy_udp_stat */
};

/* Per cluster, across snapshots (keyed by name). */
struct sk_proxy_cstate {
	struct sk_proxy_cstate *next;
	char *name, *app, *service; /* labels: written by publish, read by metrics (mutex) */
	struct sk_proxy_estate *endpoints;
	_Atomic int64_t active_requests, active_retries, active_conns;
	_Atomic uint64_t rr;
	struct sk_proxy_wstats *wstats; /* [threads]: one slot per worker, no sharing */
	sk_proxy_ctr retries, ejections, fallbacks, rejected, fault_aborts, fault_delays;
	bool udp; /* some snapshot had it in udp mode: metrics show the udp counters (lock) */
};

/* What epoll's data.ptr points at: every registered object starts with one. */
enum sk_proxy_kind {
	SK_PROXY_K_WAKE,
	SK_PROXY_K_LISTEN,
	SK_PROXY_K_CLIENT,
	SK_PROXY_K_UPSTREAM,
	SK_PROXY_K_UDP_LISTEN, /* forward-udp.c: a UDP listener's socket (struct sk_proxy_ltag) */
	SK_PROXY_K_UDP_FLOW,   /* a flow's socket connected to its endpoint */
	SK_PROXY_K_UDP_TIMER,  /* the worker's flow expiry timerfd */
};
struct sk_proxy_tag {
	enum sk_proxy_kind kind;
};

/* A listening address: one SO_REUSEPORT socket per worker; shared by snapshots. */
struct sk_proxy_lsock {
	_Atomic int ref;   /* memory: snapshots and the sessions it accepted */
	_Atomic int snaps; /* snapshots naming it: the sockets close when none is left */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool udp; /* a UDP socket (its cluster is in udp mode); part of the identity with addr */
	unsigned n;
	struct sk_proxy_ltag {
		struct sk_proxy_tag tag;
		struct sk_proxy_lsock *ls;
	} * tags;      /* [n] */
	int *fds;      /* [n] */
	bool *adopted; /* [n]: fds[i] came from the spares (given back if this publish fails) */
	bool fresh;    /* opened by a publish not completed yet */
};

struct sk_proxy_sep {
	char *id;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct sk_proxy_estate *st;
};

struct sk_proxy_scluster {
	char *name;
	struct sk_proxy_policy policy; /* defaults filled in */
	struct sk_proxy_fault fault;
	int fallback; /* index, or -1 */
	struct sk_proxy_sep *eps;
	size_t n_eps;
	struct sk_proxy_cstate *st;
};

struct sk_proxy_slistener {
	struct sk_proxy_lsock *ls;
	size_t cluster;
};

struct sk_proxy_snap {
	_Atomic int ref;
	uint64_t epoch;
	struct sk_proxy_scluster *clusters;
	size_t n_clusters;
	struct sk_proxy_slistener *listeners;
	size_t n_listeners;
};

/* A timer of a worker's heap. */
struct sk_proxy_timer {
	uint64_t at;
	size_t idx; /* in the heap, or SIZE_MAX */
};

/* A worker's use of a snapshot. */
struct sk_proxy_wsnap {
	struct sk_proxy_snap *snap;
	int users;
	struct sk_proxy_wsnap *next;
};

struct sk_proxy_sess;
struct sk_proxy_udp;

struct sk_proxy_worker {
	struct sk_proxy *p;
	unsigned idx;
	pthread_t thread;
	bool started;
	int epfd, evfd;
	struct sk_proxy_tag wake_tag;
	struct sk_proxy_wsnap *ws;	 /* current first */
	struct sk_proxy_wsnap *released; /* no user left: unreferenced after the batch */
	/* handed over by publish with a reference for this worker (atomic exchange) */
	_Atomic(struct sk_proxy_snap *) pending;
	struct sk_proxy_timer **heap;
	size_t n_heap, cap_heap;
	struct sk_proxy_sess *sessions; /* all, for teardown */
	struct sk_proxy_uconn *uconns;	/* all, for teardown */
	struct sk_proxy_sess *dead_sessions;
	struct sk_proxy_uconn *dead_uconns; /* freed after the batch of events */
	uint64_t now, rng, next_sweep;
	uint64_t accept_resume; /* out of fds: accepting paused until then; 0: not paused */
	/* sessions that stopped with bytes still moving: run again after this batch */
	struct sk_proxy_sess **again;
	size_t n_again, cap_again;
	struct sk_proxy_udp
	    *udp; /* forward-udp.c: flows; NULL until a snapshot has a UDP listener */
};

struct sk_proxy {
	unsigned threads;
	struct sk_proxy_worker *workers;
	_Atomic bool stop;
	pthread_mutex_t lock;	   /* publish, metrics, snapshot hand-over */
	struct sk_proxy_snap *cur; /* under lock */
	uint64_t epoch;
	struct sk_proxy_cstate *cstates; /* under lock */
	struct sk_spares spares; /* adopted listening sockets not (yet) in use, under lock */
};

/* An upstream connection: in use by one session, or idle in a pool. */
struct sk_proxy_uconn {
	struct sk_proxy_tag tag;
	int fd;
	struct sk_proxy_worker *w;
	struct sk_proxy_estate *est;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct sk_proxy_sess *s;	      /* owner, or NULL when pooled */
	struct sk_proxy_uconn *pprev, *pnext; /* pool */
	struct sk_proxy_uconn *aprev, *anext; /* worker's list */
	uint64_t idle_since;
	bool connected, can_read, can_write, eof, reused, got_bytes, pooled;
	bool hup;     /* EPOLLRDHUP seen: read until 0 even after a short read */
	bool wr_shut; /* spliced: our side was shut down for writing (the client's EOF) */
	char *in;
	size_t in_off, in_len;
	struct sk_http_parser resp;
};

enum sk_proxy_rq { SK_PROXY_RQ_HEAD, SK_PROXY_RQ_BODY, SK_PROXY_RQ_DONE };
enum sk_proxy_phase {
	SK_PROXY_P_IDLE,  /* between requests */
	SK_PROXY_P_WAIT,  /* fault delay or retry backoff */
	SK_PROXY_P_TRY,	  /* connecting / sending / awaiting the response head */
	SK_PROXY_P_RESP,  /* streaming the response */
	SK_PROXY_P_CLOSE, /* flushing, then closing */
};
enum sk_proxy_fail { SK_PROXY_F_CONNECT, SK_PROXY_F_RESET, SK_PROXY_F_TIMEOUT, SK_PROXY_F_STATUS };

/* A client connection (HTTP or TCP mode). */
struct sk_proxy_sess {
	struct sk_proxy_tag tag;
	int fd;
	bool tcp; /* splicing bytes: a TCP-mode listener, or an HTTP upgrade after its 101 */
	struct sk_proxy_worker *w;
	struct sk_proxy_lsock *ls;
	struct sk_proxy_cstate *conn_st; /* active_conns taken */
	struct sk_proxy_sess *prev, *next;
	struct sk_proxy_timer timer;
	uint64_t last_active;
	char peer[64];
	bool can_read, can_write, rd_eof, wr_shut, dead, hup;

	char *in; /* SK_PROXY_IN_SIZE */
	size_t in_off, in_len;
	char *out; /* SK_PROXY_OUT_SIZE */
	size_t out_off, out_len;
	struct sk_http_parser req;

	/* the request in progress */
	enum sk_proxy_rq rq;
	unsigned gen; /* bumped by every state change: the run loop's progress signal */
	enum sk_proxy_phase phase;
	struct sk_proxy_wsnap *ws;
	struct sk_proxy_scluster *entry, *cl; /* the listener's cluster; the one trying */
	struct sk_proxy_cstate *active[8];    /* active_requests taken (entry, fallbacks) */
	int n_active;
	struct sk_proxy_sep *ep; /* endpoint of the try */
	struct sk_proxy_uconn *u;
	uint64_t started, try_deadline, total_deadline, connect_deadline, idle_ns;
	int method, tries, retries, version_minor, status;
	uint64_t tried; /* bitmap of endpoint indexes tried in cl */
	bool keep_alive, head_req, chunked_req, expect, replayable, is_retry, in_retry_budget;
	bool resp_chunked, resp_to_close, up_keep, in_request, sent_100, reuse_retried;
	bool timed;   /* the timer holds a try deadline, not the idle check */
	bool more;    /* in the worker's run-again list */
	bool upgrade; /* forwarded with Upgrade: a 101 turns the session into a splice */
	char *rbuf;   /* request bytes for the upstream (kept for replay) */
	size_t rbuf_len, rbuf_cap, up_sent;
};

/* proxy.c */
void sk_proxy_snap_unref(struct sk_proxy_snap *s);
void sk_proxy_lsock_unref(struct sk_proxy_lsock *ls);

/* worker.c */
void *sk_proxy_worker_main(void *arg);
void sk_proxy_timer_set(struct sk_proxy_worker *w, struct sk_proxy_timer *t, uint64_t at);
/*
 * Runs s again once the worker handled its other events.  For a session that
 * stopped its loop at the guard while bytes still moved: with edge-triggered
 * epoll no new event comes for bytes already reported.
 */
void sk_proxy_run_again(struct sk_proxy_sess *s);
void sk_proxy_timer_stop(struct sk_proxy_worker *w, struct sk_proxy_timer *t);
uint64_t sk_proxy_rand(struct sk_proxy_worker *w);
void sk_proxy_ws_release(struct sk_proxy_worker *w, struct sk_proxy_wsnap *ws);
/* A pooled connection to ep (unless `fresh`), or a new one (connecting). */
struct sk_proxy_uconn *sk_proxy_uconn_get(struct sk_proxy_worker *w, struct sk_proxy_sep *ep,
					  bool fresh, int *ret_err);
void sk_proxy_uconn_release(struct sk_proxy_uconn *u, bool reuse);
void sk_proxy_sess_close(struct sk_proxy_sess *s);

/* forward-http.c */
void sk_proxy_http_start(struct sk_proxy_sess *s);
void sk_proxy_http_run(struct sk_proxy_sess *s);
void sk_proxy_http_timer(struct sk_proxy_sess *s);
void sk_proxy_http_abort(struct sk_proxy_sess *s);

/* forward-tcp.c */
void sk_proxy_tcp_start(struct sk_proxy_sess *s, struct sk_proxy_scluster *c);
void sk_proxy_tcp_run(struct sk_proxy_sess *s);
void sk_proxy_tcp_timer(struct sk_proxy_sess *s);
/*
 * Makes s a splice between its client and s->u (connected) from now on:
 * s->out is flushed to the client first, then bytes are copied both ways
 * until both sides are done; the session is closed after `idle_ns` without
 * a byte read.  The caller then runs it with sk_proxy_tcp_run().
 */
void sk_proxy_tcp_splice(struct sk_proxy_sess *s, uint64_t idle_ns);

/* forward-udp.c */
#define SK_PROXY_UDP_MAX_FLOWS 4096 /* per worker; the one idle longest makes room */
/* Socket options of a UDP listener's socket (the destination address of each datagram). */
int sk_proxy_udp_sockopts(int fd, int family);
/* A worker's new snapshot: flows follow it (or end, or pick again with their next datagram). */
void sk_proxy_udp_refresh(struct sk_proxy_worker *w, struct sk_proxy_snap *s);
void sk_proxy_udp_event(struct sk_proxy_worker *w, struct sk_proxy_tag *tag);
void sk_proxy_udp_teardown(struct sk_proxy_worker *w);

/* balance.c: pure functions over snapshot clusters and persistent state */
bool sk_proxy_ejected(const struct sk_proxy_sep *ep, uint64_t now);
/* Picks an endpoint index not ejected, preferring ones not in `avoid`; -1 when none. */
int sk_proxy_pick(struct sk_proxy_scluster *c, uint64_t avoid, uint64_t now, uint64_t rnd);
/*
 * Panic routing (Envoy's healthy panic threshold, at 0 %): when every
 * endpoint of the cluster is ejected, one of them anyway (untried first),
 * rather than failing every request until an ejection ends.  -1 when some
 * endpoint is not ejected or there is none.  Callers try the fallback first.
 */
int sk_proxy_pick_panic(struct sk_proxy_scluster *c, uint64_t avoid, uint64_t now);
/* Records a try's outcome; returns true when it ejected the endpoint. */
bool sk_proxy_outlier_record(struct sk_proxy_scluster *c, struct sk_proxy_sep *ep, bool ok,
			     bool is_5xx, bool is_failure, uint64_t now);
bool sk_proxy_retry_budget_ok(const struct sk_proxy_scluster *c);
uint64_t sk_proxy_backoff(const struct sk_proxy_policy *pol, int retry, uint64_t rnd);
bool sk_proxy_status_retryable(const struct sk_proxy_policy *pol, int status);
bool sk_proxy_roll(double percent, uint64_t rnd);
int sk_proxy_method_index(struct sk_http_str m);
bool sk_proxy_method_idempotent(int idx);
const char *sk_proxy_method_name(int idx);
void sk_proxy_policy_defaults(struct sk_proxy_policy *pol);

/* stats.c */
enum sk_proxy_udp_stat {
	SK_PROXY_UDP_TO_ENDPOINT, /* datagrams sent on to an endpoint */
	SK_PROXY_UDP_TO_CLIENT,	  /* replies sent back to a client */
	SK_PROXY_UDP_DROPPED,	  /* datagrams that could not be sent either way */
	SK_PROXY_UDP_FLOWS,	  /* flows started */
};
void sk_proxy_stats_udp(struct sk_proxy_cstate *c, unsigned worker, enum sk_proxy_udp_stat what);
void sk_proxy_stats_request(struct sk_proxy_cstate *c, unsigned worker, int method, int status,
			    uint64_t duration_ns);
int sk_proxy_status_class(int status);

#endif
