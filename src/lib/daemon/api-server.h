/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api-server.h - skiffd's HTTP/JSON API server on the event loop.
 *
 * Listens on a unix socket (mode 0600, created atomically) and optionally
 * on a TCP address meant for loopback (/metrics), parses requests with
 * base/http.h and dispatches them to handlers registered by method and path
 * pattern ("/v1/apps/{app}/services/{service}").  Handlers answer at once or
 * later (async): the request and response stay valid until the handler
 * completes the response exactly once, with sk_api_respond*() or
 * sk_api_stream_end().  Streaming responses (`logs -f`, `events -f`) use
 * chunked transfer coding.  Requests on a connection are answered in order,
 * one at a time (pipelined requests wait).  Connections, head and body
 * sizes, buffered output and idle time are bounded; errors are JSON
 * {"error": "..."} with a fitting status.
 *
 * Not here: authentication beyond the socket's mode (root only), TLS,
 * HTTP/2.  Everything runs on the loop's thread.
 */
#ifndef SK_DAEMON_API_SERVER_H
#define SK_DAEMON_API_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/http.h"
#include "base/loop.h"

struct sk_api_server;
struct sk_api_request;
struct sk_api_response;

typedef void (*sk_api_handler_cb)(struct sk_api_request *req, struct sk_api_response *resp,
				  void *userdata);
/* The client went away before the response was completed. */
typedef void (*sk_api_close_cb)(struct sk_api_response *resp, void *userdata);

struct sk_api_server_config {
	size_t max_connections;	      /* 0: 128; further clients wait in the backlog */
	size_t max_body;	      /* request body; 0: 1 MiB; larger gets 413 */
	size_t max_output;	      /* buffered output per connection; 0: 4 MiB */
	uint64_t idle_timeout_ns;     /* to send a whole request; 0: 60 s */
	struct sk_http_limits limits; /* all zero: SK_HTTP_LIMITS_DEFAULT */
};

/* Route flags. */
enum {
	SK_API_ROUTE_TCP = 1u << 0, /* also served on the TCP listener (else unix socket only) */
};

/* Creates a server on `loop` (cfg NULL: defaults).  Aborts on allocation failure. */
struct sk_api_server *sk_api_server_new(struct sk_loop *loop,
					const struct sk_api_server_config *cfg);

/*
 * Closes the listeners (removing the socket file it created) and every
 * connection; pending responses see their close callback and must still
 * be completed by their handlers.  Accepts NULL.
 */
void sk_api_server_free(struct sk_api_server *srv);
static inline void sk_api_server_freep(struct sk_api_server **s)
{
	sk_api_server_free(*s);
}

/*
 * Registers a handler for `method` and `pattern` (segments are literals or
 * {name}; a {name} matches one non-empty segment, percent-decoded).  Routes
 * are tried in registration order.  A path that matches a pattern under
 * another method gets 405, no match 404.  Patterns are programmer input:
 * a malformed one aborts.
 */
void sk_api_server_route(struct sk_api_server *srv, const char *method, const char *pattern,
			 unsigned flags, sk_api_handler_cb cb, void *userdata);

/*
 * Listens on the unix socket `path`, mode 0600, bound under a temporary
 * name in a private directory and renamed into place, so the path never
 * exists with another mode.  A socket file already at `path` is replaced
 * only if nobody accepts connections on it (-EADDRINUSE otherwise); any
 * other file there is an error (-EEXIST).
 */
int sk_api_server_listen_unix(struct sk_api_server *srv, const char *path, struct sk_error **err);

/*
 * Listens on TCP `addr` (an IPv4 or IPv6 literal, e.g. "127.0.0.1") and
 * `port` (0: any; the port is returned in *ret_port when given).  Only
 * routes flagged SK_API_ROUTE_TCP are served there.
 */
int sk_api_server_listen_tcp(struct sk_api_server *srv, const char *addr, uint16_t port,
			     uint16_t *ret_port, struct sk_error **err);

/* Open connections (for tests and metrics). */
size_t sk_api_server_connections(const struct sk_api_server *srv);

/* ---- requests: valid until the response is completed ---- */

const char *sk_api_request_method(const struct sk_api_request *req);
/* The path without the query string, as sent (not decoded). */
const char *sk_api_request_path(const struct sk_api_request *req);
/* A {name} from the route pattern, percent-decoded; NULL when there is none. */
const char *sk_api_request_param(const struct sk_api_request *req, const char *name);
/* The first query parameter `name`, percent-decoded ('+' is a space); NULL when absent. */
const char *sk_api_request_query(const struct sk_api_request *req, const char *name);
/* The first header field `name` (case-insensitive); NULL when absent. */
const char *sk_api_request_header(const struct sk_api_request *req, const char *name);
const char *sk_api_request_body(const struct sk_api_request *req, size_t *ret_len);
/*
 * Parses the body as JSON once; *ret_json is borrowed (owned by the
 * request).  Returns 0, or -EINVAL with a message naming line and column.
 */
int sk_api_request_json(struct sk_api_request *req, json_t **ret_json, struct sk_error **err);
/* True when the request came in on the TCP listener. */
bool sk_api_request_is_tcp(const struct sk_api_request *req);

/* ---- responses: complete each exactly once ---- */

/* Adds a header to the response; before it starts.  Name and value are copied. */
void sk_api_response_header(struct sk_api_response *resp, const char *name, const char *value);
/* Completes the response with a body (copied). */
void sk_api_respond(struct sk_api_response *resp, int status, const char *content_type,
		    const void *body, size_t len);
/* Completes the response with `json` serialized; takes the caller's reference. */
void sk_api_respond_json(struct sk_api_response *resp, int status, json_t *json);
/* Completes the response with {"error": "<formatted message>"}. */
void sk_api_respond_error(struct sk_api_response *resp, int status, const char *fmt, ...)
    _printf_(3, 4);
/* Starts a streamed (chunked) response; complete it with sk_api_stream_end(). */
void sk_api_stream_start(struct sk_api_response *resp, int status, const char *content_type);
/*
 * Sends one chunk.  Returns 0, -EPIPE when the client is gone, or -ENOBUFS
 * when the client reads too slowly and max_output is buffered already
 * (the data is dropped; the handler decides whether to end the stream).
 */
int sk_api_stream_write(struct sk_api_response *resp, const void *buf, size_t len);
void sk_api_stream_end(struct sk_api_response *resp);
/* Calls cb when the client disconnects before the response is complete. */
void sk_api_response_on_close(struct sk_api_response *resp, sk_api_close_cb cb, void *userdata);
/*
 * Streaming with bounded memory: sk_api_stream_room() is how many bytes
 * sk_api_stream_write() accepts now; when it was short, `cb` runs once the
 * connection's output has drained to half of max_output (again each time).
 */
void sk_api_response_on_drain(struct sk_api_response *resp, sk_api_close_cb cb, void *userdata);
size_t sk_api_stream_room(const struct sk_api_response *resp);
bool sk_api_response_closed(const struct sk_api_response *resp);
struct sk_api_request *sk_api_response_request(struct sk_api_response *resp);

#endif
