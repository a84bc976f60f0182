/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - a strict, incremental, zero-copy HTTP/1.1 request and response
 * parser (RFC 9110/9112) for skiffd's API and the proxy's fast path.
 *
 * It is a pull parser: each sk_http_parse() call reports one event (the
 * message head, a slice of body, the end of the message) and how many bytes
 * of `buf` it consumed.  The caller drops consumed bytes and presents the
 * unconsumed rest again, followed by new data, on the next call.  The head
 * is consumed only as a whole, so until SK_HTTP_HEAD the caller keeps the
 * head's bytes contiguous; the parser remembers how far it has scanned, so
 * feeding a head byte by byte costs O(n), not O(n^2).  No allocation happens
 * per message or header, and no callbacks are made.
 *
 * Zero-copy: the strings in struct sk_http_msg (method, target, reason,
 * header names and values) point into the `buf` of the call that returned
 * SK_HTTP_HEAD and stay valid as long as the caller keeps those bytes; body
 * slices point into the `buf` of the call that returned them.
 *
 * Strictness, to make request smuggling impossible rather than unlikely:
 * lines end in CRLF only (a bare LF is an error, not a line end); obs-fold
 * continuation lines, whitespace before the colon, control characters and
 * NUL in values, non-token characters in names and methods are errors;
 * Content-Length and Transfer-Encoding together, more than one
 * Content-Length (even equal ones), a Transfer-Encoding whose last coding is
 * not chunked, or any Transfer-Encoding on an HTTP/1.0 request, are errors;
 * chunk sizes must be hex without overflow.  This holds for responses too
 * (a backend that frames ambiguously gets a 502 from the proxy, not a
 * guess).  Each rule has its own error code.  Only HTTP/1.0 and HTTP/1.1
 * are accepted.  Empty lines before a request line are skipped (RFC 9112
 * section 2.2).  Trailer fields are validated like headers and dropped.
 *
 * This is not a message builder and not a URL parser.
 */
#ifndef SK_BASE_HTTP_H
#define SK_BASE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A slice of the caller's buffer; not NUL-terminated. */
struct sk_http_str {
	const char *p;
	size_t len;
};

struct sk_http_header {
	struct sk_http_str name, value; /* value without surrounding whitespace */
};

enum sk_http_kind { SK_HTTP_REQUEST, SK_HTTP_RESPONSE };

/* Bounds on what a peer can make us hold. */
struct sk_http_limits {
	size_t max_line;    /* request/status line, one header line, a chunk-size line */
	size_t max_headers; /* header fields (and trailer fields) per message */
	size_t max_head;    /* the whole head, and the whole trailer section */
};
#define SK_HTTP_LIMITS_DEFAULT ((struct sk_http_limits){ 8192, 100, 65536 })

enum sk_http_flag {
	SK_HTTP_F_KEEP_ALIVE = 1u << 0,	     /* the connection may carry another message */
	SK_HTTP_F_CHUNKED = 1u << 1,	     /* Transfer-Encoding ends in chunked */
	SK_HTTP_F_CONTENT_LENGTH = 1u << 2,  /* content_length is set */
	SK_HTTP_F_EXPECT_CONTINUE = 1u << 3, /* Expect: 100-continue */
	SK_HTTP_F_UPGRADE = 1u << 4,	     /* Connection: upgrade and an Upgrade field */
	SK_HTTP_F_BODY = 1u << 5,	     /* body events follow the head */
	SK_HTTP_F_BODY_TO_EOF = 1u << 6,     /* response body ends when the peer closes */
};

struct sk_http_msg {
	struct sk_http_str method, target; /* requests */
	int status;			   /* responses: 100-999 */
	struct sk_http_str reason;	   /* responses, may be empty */
	int version_minor;		   /* HTTP/1.<version_minor>: 0 or 1 */
	const struct sk_http_header *headers;
	size_t n_headers;
	uint64_t content_length; /* when SK_HTTP_F_CONTENT_LENGTH */
	unsigned flags;		 /* enum sk_http_flag */
};

/* sk_http_parse() events (>= 0) and errors (< 0, each a distinct rule). */
enum sk_http_result {
	SK_HTTP_AGAIN = 0, /* need more bytes */
	SK_HTTP_HEAD = 1,  /* p->msg holds the head */
	SK_HTTP_DATA = 2,  /* *ret_data holds body bytes */
	SK_HTTP_DONE = 3,  /* message complete; the parser waits for the next one */

	SK_HTTP_E_LINE_TOO_LONG = -1,
	SK_HTTP_E_HEAD_TOO_LARGE = -2,
	SK_HTTP_E_TOO_MANY_HEADERS = -3,
	SK_HTTP_E_BARE_LF = -4,
	SK_HTTP_E_METHOD = -5,
	SK_HTTP_E_TARGET = -6,
	SK_HTTP_E_VERSION = -7,
	SK_HTTP_E_STATUS = -8,
	SK_HTTP_E_HEADER_NAME = -9,
	SK_HTTP_E_SPACE_BEFORE_COLON = -10,
	SK_HTTP_E_HEADER_VALUE = -11,
	SK_HTTP_E_OBS_FOLD = -12,
	SK_HTTP_E_CL_INVALID = -13,
	SK_HTTP_E_CL_MULTIPLE = -14,
	SK_HTTP_E_CL_AND_TE = -15,
	SK_HTTP_E_TE_NOT_CHUNKED = -16,
	SK_HTTP_E_TE_INVALID = -17,
	SK_HTTP_E_TE_HTTP10 = -18,
	SK_HTTP_E_HOST = -19,
	SK_HTTP_E_CHUNK_SIZE = -20,
	SK_HTTP_E_CHUNK_OVERFLOW = -21,
	SK_HTTP_E_CHUNK_EXT = -22,
	SK_HTTP_E_CHUNK_CRLF = -23,
	SK_HTTP_E_TRUNCATED = -24,
	SK_HTTP_E_STATE = -25, /* called again after an error */
};

struct sk_http_parser {
	/* public, read-only */
	struct sk_http_msg msg;
	enum sk_http_kind kind;
	struct sk_http_limits limits;

	/* private */
	int state;
	int error;
	bool no_body_next;   /* the next response answers HEAD */
	size_t scan;	     /* head bytes already scanned */
	size_t line_start;   /* start of the line being scanned */
	size_t lead;	     /* empty lines skipped before the start line */
	size_t n_lines;	     /* lines of the head seen so far */
	uint64_t remaining;  /* bytes left in the body or current chunk */
	size_t trailer_size; /* trailer bytes / fields seen */
	size_t n_trailers;
	struct sk_http_header *hdrs; /* limits.max_headers slots */
};

/*
 * Prepares a parser for requests or responses; `limits` NULL means
 * SK_HTTP_LIMITS_DEFAULT.  Allocates the header table once (aborts on
 * exhaustion).  Release with sk_http_parser_release().
 */
void sk_http_parser_init(struct sk_http_parser *p, enum sk_http_kind kind,
			 const struct sk_http_limits *limits);
void sk_http_parser_release(struct sk_http_parser *p);
/* Forgets any partial message and error; the next byte starts a message. */
void sk_http_parser_reset(struct sk_http_parser *p);
/* The next (non-1xx) response has no body: it answers a HEAD request. */
void sk_http_parser_skip_body(struct sk_http_parser *p);

/*
 * Parses buf[0..len).  Returns an event (enum sk_http_result >= 0) and sets
 * *ret_consumed to the bytes the caller may drop (also on SK_HTTP_AGAIN),
 * or a negative SK_HTTP_E_* code; after an error the parser stays failed
 * until reset.  On SK_HTTP_DATA, *ret_data is the body slice.  Call again
 * after SK_HTTP_HEAD and SK_HTTP_DATA even with no new bytes: the message
 * may be complete (SK_HTTP_DONE needs no bytes).  After SK_HTTP_DONE the
 * rest of buf is the next (pipelined) message.
 */
int sk_http_parse(struct sk_http_parser *p, const char *buf, size_t len, size_t *ret_consumed,
		  struct sk_http_str *ret_data);

/*
 * The peer closed the connection.  Returns SK_HTTP_DONE when that ends a
 * body delimited by close, SK_HTTP_AGAIN (0) between messages, or
 * SK_HTTP_E_TRUNCATED within one.
 */
int sk_http_parse_eof(struct sk_http_parser *p);

/* True while the parser is inside a message (head seen, DONE not yet). */
bool sk_http_parser_in_body(const struct sk_http_parser *p);

/* A short description of an SK_HTTP_E_* code ("content-length and transfer-encoding"). */
const char *sk_http_strerror(int code);
/* The status to answer a request that failed with `code`: 400, 413, 414, 431, 505. */
int sk_http_error_status(int code);

/* The first header named `name` (ASCII case-insensitive), or NULL. */
const struct sk_http_header *sk_http_msg_header(const struct sk_http_msg *m, const char *name);
/* Case-sensitive / ASCII case-insensitive comparison of a slice with a C string. */
bool sk_http_str_eq(struct sk_http_str s, const char *lit);
bool sk_http_str_caseeq(struct sk_http_str s, const char *lit);
/* The standard reason phrase for a status ("Not Found"), "" when unknown. */
const char *sk_http_reason(int status);

#endif
