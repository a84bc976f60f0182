/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api-client.h - a small blocking HTTP/JSON client for skiffd's unix socket,
 * used by the `skiff` CLI.
 *
 * One connection, kept alive across requests and reopened when the server
 * closed it.  Responses are read with base/http.h; a streamed (chunked)
 * body can be handed to a callback piece by piece as it arrives
 * (`skiff logs -f`).  Not for use on an event loop: every call blocks,
 * bounded by an optional timeout.
 */
#ifndef SK_DAEMON_API_CLIENT_H
#define SK_DAEMON_API_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

struct sk_api_client;

/* A response.  Owned by the caller; release with sk_api_reply_release(). */
struct sk_api_reply {
	int status;
	char *content_type; /* NULL when absent */
	char *body;	    /* NUL-terminated; empty when streamed to a callback */
	size_t body_len;
};
void sk_api_reply_release(struct sk_api_reply *reply);

/* Receives body bytes as they arrive; return non-zero to stop reading (the connection is dropped). */
typedef int (*sk_api_chunk_cb)(const char *data, size_t len, void *userdata);

/*
 * Connects to the unix socket at `path`.  Returns 0, or a negative errno
 * with "connect to '<path>'" (-ENOENT or -ECONNREFUSED: skiffd not running).
 */
int sk_api_client_new(const char *path, struct sk_api_client **ret, struct sk_error **err);
void sk_api_client_free(struct sk_api_client *c);
static inline void sk_api_client_freep(struct sk_api_client **c)
{
	sk_api_client_free(*c);
}

/* Bounds each send and receive to timeout_ms (0: no bound, the default). */
void sk_api_client_set_timeout(struct sk_api_client *c, unsigned timeout_ms);

/*
 * Sends `method path` with an optional body and reads the response into
 * *ret (set on success only).  With on_chunk, body bytes go to the
 * callback instead of ret->body.  Returns 0 whatever the status, or a
 * negative errno for transport and protocol failures (-ECANCELED when the
 * callback stopped, -EPROTO for a malformed response, -ETIMEDOUT).
 */
int sk_api_client_request(struct sk_api_client *c, const char *method, const char *path,
			  const char *content_type, const void *body, size_t len,
			  sk_api_chunk_cb on_chunk, void *userdata, struct sk_api_reply *ret,
			  struct sk_error **err);

/*
 * JSON convenience: sends `body` (borrowed; NULL for none), expects a 2xx
 * with a JSON body (or none) and returns it in *ret_json (owned; may be
 * NULL when the caller does not want it).  A non-2xx status is an error
 * carrying the server's "error" message: -EINVAL (400), -ENOENT (404),
 * -EEXIST (409), -EBUSY (423/503), -EMSGSIZE (413), -EIO otherwise.
 */
int sk_api_client_call(struct sk_api_client *c, const char *method, const char *path, json_t *body,
		       json_t **ret_json, struct sk_error **err);

#endif
