/*
 * Unit tests for loadgen/h1: the bytes of a request, and the response
 * parser on what Triton, libmicrohttpd and nginx send, each response fed
 * whole, in every two-piece split and byte by byte (all must agree); the
 * messages for every way a response can be malformed or cut short; the
 * check that a 200 answer to an inference can be a KServe response.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen/fetch.h"
#include "loadgen/h1.h"

/* What feeding one response gave. */
struct outcome {
	enum h1_status st;      /* after the last piece (and EOF, if asked) */
	size_t used;            /* bytes of the text the response took */
	int status;
	bool keep_alive;
	bool first_byte_seen;
	uint64_t body_bytes;
	char body[H1_BODY_KEEP];
	size_t body_len;
	char error[sizeof(((struct h1_parser *)0)->error)];
};

/* What a test expects of a response. */
struct expect {
	enum h1_status st;
	int status;
	bool keep_alive;
	const char *body;       /* the whole body; NULL: not checked */
	size_t used;            /* bytes of the text it takes; 0: all */
	const char *error;      /* H1_ERROR: a part of the message */
};

/*
 * Feeds text[0..len) in pieces ending at cuts[0..n_cuts) (increasing) and
 * at len, each piece copied into a heap block of its exact size so that
 * ASan sees any read past it. Stops at H1_DONE or H1_ERROR; with eof, an
 * unfinished response then sees the connection close.
 */
static void feed(const char *text, size_t len, const size_t *cuts,
		 size_t n_cuts, bool eof, struct outcome *o)
{
	struct h1_parser p;
	enum h1_status st = H1_MORE;
	size_t start = 0;

	memset(o, 0, sizeof(*o));
	h1_parser_init(&p);
	for (size_t i = 0; i <= n_cuts && st == H1_MORE; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;
		size_t n = end - start, used = (size_t)-1;
		char *piece = malloc(n ? n : 1);

		assert_non_null(piece);
		memcpy(piece, text + start, n);
		st = h1_parse(&p, piece, n, &used);
		free(piece);
		if (st == H1_MORE)
			assert_int_equal(used, n);
		if (st == H1_DONE) {
			assert_true(used <= n);
			o->used = start + used;
		}
		start = end;
	}
	if (st == H1_MORE) {
		o->used = len;
		if (eof)
			st = h1_parse_eof(&p);
	}
	o->st = st;
	o->status = p.status;
	o->keep_alive = p.keep_alive;
	o->first_byte_seen = p.first_byte_seen;
	o->body_bytes = p.body_bytes;
	o->body_len = p.body_keep_len;
	memcpy(o->body, p.body_keep, p.body_keep_len);
	if (st == H1_ERROR) {
		assert_true(p.error[0] != '\0');
		assert_true(strlen(p.error) < sizeof(p.error));
		memcpy(o->error, p.error, sizeof(o->error));
	}
	h1_parser_release(&p);
}

static void same_outcome(const struct outcome *a, const struct outcome *b,
			 const char *how)
{
	bool same = a->st == b->st && !strcmp(a->error, b->error);

	/* on H1_ERROR only the message is defined */
	if (same && a->st != H1_ERROR)
		same = a->used == b->used && a->status == b->status &&
		       a->keep_alive == b->keep_alive &&
		       a->first_byte_seen == b->first_byte_seen &&
		       a->body_bytes == b->body_bytes &&
		       a->body_len == b->body_len &&
		       !memcmp(a->body, b->body, a->body_len);
	if (!same)
		fail_msg("%s: st %d vs %d, used %zu vs %zu, status %d vs %d, keep_alive %d vs %d, body %llu vs %llu bytes, error '%s' vs '%s'",
			 how, a->st, b->st, a->used, b->used, a->status,
			 b->status, a->keep_alive, b->keep_alive,
			 (unsigned long long)a->body_bytes,
			 (unsigned long long)b->body_bytes, a->error, b->error);
}

/*
 * Feeds text whole and checks the outcome against e; then in every
 * two-piece split (empty pieces included) and byte by byte, which must
 * give the same outcome as whole.
 */
static void check_response(const char *text, size_t len, bool eof,
			   const struct expect *e)
{
	struct outcome whole, o;
	size_t *cuts = malloc((len ? len : 1) * sizeof(*cuts));
	char how[64];

	assert_non_null(cuts);
	feed(text, len, NULL, 0, eof, &whole);
	if (whole.st != e->st)
		fail_msg("'%.60s': status %d, expected %d (error '%s')", text,
			 whole.st, e->st, whole.error);
	if (e->st == H1_ERROR) {
		if (!strstr(whole.error, e->error))
			fail_msg("'%.60s': message '%s' lacks '%s'", text,
				 whole.error, e->error);
	} else {
		assert_int_equal(whole.status, e->status);
		assert_int_equal(whole.keep_alive, e->keep_alive);
		assert_int_equal(whole.used, e->used ? e->used : len);
		assert_true(whole.first_byte_seen);
		if (e->body) {
			size_t n = strlen(e->body);
			size_t keep = n < H1_BODY_KEEP ? n : H1_BODY_KEEP;

			assert_int_equal(whole.body_bytes, n);
			assert_int_equal(whole.body_len, keep);
			assert_memory_equal(whole.body, e->body, keep);
		}
	}

	for (size_t k = 0; k <= len; k++) {
		cuts[0] = k;
		feed(text, len, cuts, 1, eof, &o);
		snprintf(how, sizeof(how), "split at %zu", k);
		same_outcome(&o, &whole, how);
	}
	for (size_t k = 1; k < len; k++)
		cuts[k - 1] = k;
	if (len > 1) {
		feed(text, len, cuts, len - 1, eof, &o);
		same_outcome(&o, &whole, "byte by byte");
	}
	free(cuts);
}

static void check_str(const char *text, bool eof, const struct expect *e)
{
	check_response(text, strlen(text), eof, e);
}

static void test_request_build(void **state)
{
	static const char want[] =
		"POST /v2/models/simple/infer HTTP/1.1\r\n"
		"Host: 127.0.0.1:8000\r\n"
		"Content-Type: application/json\r\n"
		"Inference-Header-Content-Length: 13\r\n"
		"Content-Length: 13\r\n"
		"\r\n"
		"{\"inputs\":[]}";
	static const char want_empty[] =
		"POST / HTTP/1.1\r\nHost: h:1\r\nContent-Length: 0\r\n\r\n";
	static const char want_binary[] =
		"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na\0b";
	const char *headers[] = {
		"Content-Type: application/json",
		"Inference-Header-Content-Length: 13",
	};
	size_t len = 0;
	char *buf;

	(void)state;
	buf = h1_request_build("127.0.0.1:8000", "/v2/models/simple/infer",
			       headers, 2, "{\"inputs\":[]}", 13, &len);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, len);
	assert_int_equal(buf[len], '\0');
	free(buf);

	buf = h1_request_build("h:1", "/", NULL, 0, NULL, 0, &len);
	assert_int_equal(len, sizeof(want_empty) - 1);
	assert_memory_equal(buf, want_empty, len);
	free(buf);

	/* a binary tensor body: NULs and all */
	buf = h1_request_build("h", "/b", NULL, 0, "a\0b", 3, &len);
	assert_int_equal(len, sizeof(want_binary) - 1);
	assert_memory_equal(buf, want_binary, len);
	free(buf);
}

static void test_typical_responses(void **state)
{
	static const char triton_body[] =
		"{\"model_name\":\"simple\",\"model_version\":\"1\",\"outputs\":"
		"[{\"name\":\"OUTPUT0\",\"datatype\":\"INT32\",\"shape\":[1,16],"
		"\"data\":[2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32]}]}";
	static const char nginx_body[] =
		"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
		"<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
		"<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n";
	char text[1024];
	struct expect e = { .st = H1_DONE, .status = 200, .keep_alive = true };

	(void)state;
	/* Triton's HTTP endpoint: a JSON infer response */
	snprintf(text, sizeof(text),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 strlen(triton_body), triton_body);
	e.body = triton_body;
	check_str(text, false, &e);

	/* libmicrohttpd (infertune serve): a readiness probe, empty body */
	e.body = "";
	check_str("HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\n"
		  "Content-Length: 0\r\n"
		  "Date: Mon, 03 Jun 2024 10:00:00 GMT\r\n\r\n", false, &e);

	/* nginx in front of a dead upstream */
	snprintf(text, sizeof(text),
		 "HTTP/1.1 502 Bad Gateway\r\nServer: nginx/1.24.0\r\n"
		 "Date: Mon, 03 Jun 2024 10:00:00 GMT\r\n"
		 "Content-Type: text/html\r\nContent-Length: %zu\r\n"
		 "Connection: keep-alive\r\n\r\n%s",
		 strlen(nginx_body), nginx_body);
	e.status = 502;
	e.body = nginx_body;
	check_str(text, false, &e);

	/* the server closes after this one */
	e.status = 400;
	e.keep_alive = false;
	e.body = "{\"error\":\"bad input\"}";
	check_str("HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n"
		  "Content-Type: application/json\r\nContent-Length: 21\r\n"
		  "Connection: close\r\n\r\n{\"error\":\"bad input\"}", false, &e);
}

static void test_status_line_forms(void **state)
{
	struct expect e = { .st = H1_DONE, .status = 200, .keep_alive = true,
			    .body = "ok" };

	(void)state;
	/* an empty reason phrase, with and without its space */
	check_str("HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok", false, &e);
	check_str("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", false, &e);
	/* bare LF line endings, and a mix */
	e.status = 404;
	check_str("HTTP/1.1 404 Not Found\nContent-Length: 2\n\nok", false, &e);
	check_str("HTTP/1.1 404 Not Found\r\nContent-Length: 2\n\r\nok", false, &e);
	/* names are case-insensitive; OWS around values is not part of them */
	e.status = 599;
	check_str("HTTP/1.1 599 Odd\r\ncontent-LENGTH:\t 2 \r\n\r\nok", false, &e);
	/* a repeated, identical Content-Length is fine */
	e.status = 200;
	check_str("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
		  false, &e);
	/* HTTP/1.0: keep-alive only when asked for */
	check_str("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
		  false, &e);
	e.keep_alive = false;
	check_str("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, &e);
}

static void test_connection_tokens(void **state)
{
	struct expect e = { .st = H1_DONE, .status = 200, .body = "" };

	(void)state;
	e.keep_alive = false;
	check_str("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\n"
		  "Content-Length: 0\r\n\r\n", false, &e);
	check_str("HTTP/1.1 200 OK\r\nConnection: TE\r\nconnection: ,close,\r\n"
		  "Content-Length: 0\r\n\r\n", false, &e);
	e.keep_alive = true;
	/* "closed" and "x-close" are other tokens, not close */
	check_str("HTTP/1.1 200 OK\r\nConnection: closed, x-close, upgrade\r\n"
		  "Content-Length: 0\r\n\r\n", false, &e);
	check_str("HTTP/1.0 200 OK\r\nConnection: TE, keep-alive\r\n"
		  "Content-Length: 0\r\n\r\n", false, &e);
}

/*
 * Consumes a stream of responses as a connection loop does, in pieces of
 * `piece` bytes: on H1_DONE the rest of the piece starts the next
 * response. Returns how many responses finished; their statuses go to
 * statuses[] and their body sizes to bodies[].
 */
static size_t stream(const char *text, size_t len, size_t piece,
		     int *statuses, uint64_t *bodies, size_t max)
{
	struct h1_parser p;
	size_t n_done = 0;

	h1_parser_init(&p);
	for (size_t start = 0; start < len; start += piece) {
		size_t n = len - start < piece ? len - start : piece;
		size_t off = 0;

		while (off < n) {
			size_t used;
			enum h1_status st = h1_parse(&p, text + start + off,
						     n - off, &used);

			if (st == H1_ERROR)
				fail_msg("piece %zu at %zu: %s", piece, start, p.error);
			if (st == H1_MORE) {
				assert_int_equal(used, n - off);
				break;
			}
			assert_true(n_done < max);
			statuses[n_done] = p.status;
			bodies[n_done] = p.body_bytes;
			n_done++;
			off += used;
			h1_parser_reset(&p);
		}
	}
	h1_parser_release(&p);
	return n_done;
}

static void test_back_to_back(void **state)
{
	static const char r1[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	static const char r2[] = "HTTP/1.1 204 No Content\r\n\r\n";
	static const char r3[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "3\r\nabc\r\n0\r\n\r\n";
	static const char r4[] = "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n";
	char text[512];
	size_t len1 = sizeof(r1) - 1, len, used;
	struct h1_parser p;
	int statuses[8];
	uint64_t bodies[8];

	(void)state;
	len = (size_t)snprintf(text, sizeof(text), "%s%s%s%s", r1, r2, r3, r4);

	/* used = the first response's length; the rest parses as the next */
	h1_parser_init(&p);
	assert_int_equal(h1_parse(&p, text, len, &used), H1_DONE);
	assert_int_equal(used, len1);
	assert_int_equal(p.status, 200);
	assert_int_equal(p.body_bytes, 5);
	/* the whole head came in one call: parsed in place, nothing allocated */
	assert_null(p.head);
	h1_parser_reset(&p);
	assert_int_equal(h1_parse(&p, text + len1, len - len1, &used), H1_DONE);
	assert_int_equal(used, sizeof(r2) - 1);
	assert_int_equal(p.status, 204);
	h1_parser_release(&p);

	/* every piece size, as a connection loop would see them */
	for (size_t piece = 1; piece <= len; piece++) {
		size_t n = stream(text, len, piece, statuses, bodies, 8);

		assert_int_equal(n, 4);
		assert_int_equal(statuses[0], 200);
		assert_int_equal(bodies[0], 5);
		assert_int_equal(statuses[1], 204);
		assert_int_equal(bodies[1], 0);
		assert_int_equal(statuses[2], 200);
		assert_int_equal(bodies[2], 3);
		assert_int_equal(statuses[3], 503);
		assert_int_equal(bodies[3], 0);
	}
}

static void test_chunked(void **state)
{
	struct expect e = { .st = H1_DONE, .status = 200, .keep_alive = true,
			    .body = "hello, world" };

	(void)state;
	/* extensions (with the BWS RFC 9112 allows), trailers */
	check_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5;name=value\r\nhello\r\n"
		  "7 ; a=\"b;c\"\r\n, world\r\n"
		  "0\r\nX-Checksum: 1234\r\nX-Other: y\r\n\r\n", false, &e);
	/* upper and lower case hex, leading zeros, no trailers, bare LF */
	e.body = "0123456789abcdef0123456789";
	check_str("HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\n"
		  "0A\n0123456789\nf\nabcdef012345678\n1\n9\n000\n\n", false,
		  &e);
	/* chunked as the final coding wins over Content-Length */
	e.body = "abc";
	check_str("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
		  "Transfer-Encoding: gzip, chunked\r\n\r\n"
		  "3\r\nabc\r\n0\r\n\r\n", false, &e);
	/* empty list elements do not count as codings (RFC 9110 5.6.1) */
	check_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked, ,\r\n\r\n"
		  "3\r\nabc\r\n0\r\n\r\n", false, &e);
	/* a final coding other than chunked: the close ends the body */
	e.keep_alive = false;
	check_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
		  "abc", true, &e);
}

static void test_chunked_then_next(void **state)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				"3\r\nabc\r\n0\r\n\r\n";
	static const char next[] = "HTTP/1.1 200 OK\r\n";
	char text[256];
	struct h1_parser p;
	size_t used;

	(void)state;
	h1_parser_init(&p);
	assert_int_equal(h1_parse(&p, r, sizeof(r) - 14, &used), H1_MORE);
	assert_true(p.chunked);
	assert_false(p.until_close);
	h1_parser_release(&p);
	/* the response ends at the blank line after the last chunk */
	snprintf(text, sizeof(text), "%s%s", r, next);
	check_str(text, false, &(struct expect){
		.st = H1_DONE, .status = 200, .keep_alive = true, .body = "abc",
		.used = sizeof(r) - 1 });
	/* where a chunk size belongs, a status line is an error */
	snprintf(text, sizeof(text), "%.*s%s", (int)sizeof(r) - 14, r, next);
	check_str(text, false, &(struct expect){
		.st = H1_ERROR, .error = "invalid character \"H\" in a chunk size" });
}

static void test_interim_responses(void **state)
{
	struct expect e = { .st = H1_DONE, .status = 200, .keep_alive = true,
			    .body = "ok" };

	(void)state;
	check_str("HTTP/1.1 100 Continue\r\n\r\n"
		  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, &e);
	/* 103 with fields, twice, then a chunked final response */
	e.status = 201;
	check_str("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
		  "HTTP/1.1 103 Early Hints\r\nContent-Length: 7\r\n\r\n"
		  "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "2\r\nok\r\n0\r\n\r\n", false, &e);
	/* a 101 ends HTTP/1.1 on the connection: we never ask for one */
	check_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", false,
		  &(struct expect){ .st = H1_ERROR, .error = "switched protocols" });
}

static void test_no_body_statuses(void **state)
{
	static const char r204[] = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
	static const char r304[] = "HTTP/1.1 304 Not Modified\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	char text[256];

	(void)state;
	/* whatever the headers say, the next bytes begin the next response */
	snprintf(text, sizeof(text), "%sHTTP/1.1 200 OK\r\n\r\n", r204);
	check_str(text, false, &(struct expect){
		.st = H1_DONE, .status = 204, .keep_alive = true, .body = "",
		.used = sizeof(r204) - 1 });
	snprintf(text, sizeof(text), "%s0123456789", r304);
	check_str(text, false, &(struct expect){
		.st = H1_DONE, .status = 304, .keep_alive = true, .body = "",
		.used = sizeof(r304) - 1 });
}

static void test_until_close(void **state)
{
	static const char r10[] = "HTTP/1.0 200 OK\r\nServer: BaseHTTP/0.6\r\n\r\nhello";
	struct expect e = { .st = H1_DONE, .status = 200, .keep_alive = false,
			    .body = "hello" };
	struct outcome o;
	struct h1_parser p;
	size_t used;

	(void)state;
	/* without EOF the response never ends ... */
	feed(r10, sizeof(r10) - 1, NULL, 0, false, &o);
	assert_int_equal(o.st, H1_MORE);
	assert_int_equal(o.body_bytes, 5);
	h1_parser_init(&p);
	assert_int_equal(h1_parse(&p, r10, sizeof(r10) - 1, &used), H1_MORE);
	assert_int_equal(used, sizeof(r10) - 1);
	assert_true(p.until_close);
	assert_false(p.chunked);
	assert_int_equal(h1_parse_eof(&p), H1_DONE);
	assert_false(p.keep_alive);
	h1_parser_release(&p);
	/* ... and EOF completes it */
	check_str(r10, true, &e);
	/* HTTP/1.1 without a length: even keep-alive cannot keep it */
	check_str("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nhello", true, &e);
	/* an empty body */
	check_str("HTTP/1.0 500 Oops\r\n\r\n", true,
		  &(struct expect){ .st = H1_DONE, .status = 500, .body = "" });
}

static void test_eof_messages(void **state)
{
	struct expect e = { .st = H1_ERROR };

	(void)state;
	e.error = "connection closed before the response began";
	check_str("", true, &e);
	e.error = "connection closed in the middle of the response header";
	check_str("HTTP/1.1 200 OK\r\nContent-Le", true, &e);
	check_str("H", true, &e);
	e.error = "connection closed 120 bytes before the end of the body";
	check_str("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n"
		  "0123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789", true, &e);
	e.error = "connection closed in a chunked body";
	check_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		  true, &e);
	check_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5\r\nhello\r\n0\r\nTrailer: x\r\n", true, &e);
	e.error = "after an interim 100 response";
	check_str("HTTP/1.1 100 Continue\r\n\r\n", true, &e);
	/* a complete response is not spoilt by the close that follows */
	check_str("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true,
		  &(struct expect){ .st = H1_DONE, .status = 200,
				    .keep_alive = true, .body = "" });
}

static void test_malformed(void **state)
{
	static const struct {
		const char *text;
		const char *needle;
	} cases[] = {
		{ "HTTP/1.1 20 OK\r\n\r\n", "three-digit status code: \"HTTP/1.1 20 OK\"" },
		{ "HTTX/1.1 200 OK\r\n\r\n", "does not begin with HTTP/1.x: \"HTTX/1.1 200 OK\"" },
		{ "HTTP/1.1 2000 OK\r\n\r\n", "three-digit" },
		{ "HTTP/1.1 2000\r\n\r\n", "three-digit" },
		{ "HTTP/1.1 +20 OK\r\n\r\n", "three-digit" },
		{ "HTTP/1.1 600 Nope\r\n\r\n", "600 is not in 100-599" },
		{ "HTTP/1.1 099 X\r\n\r\n", "99 is not in 100-599" },
		{ "HTTP/2 200\r\n\r\n", "HTTP/1.x" },
		{ "\r\n\r\n", "does not begin with HTTP/1.x: \"\"" },
		{ "SSH-2.0-OpenSSH_9.2\r\n", "does not begin with HTTP/1.x: \"SSH-2.0-OpenSSH_9.2\"" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
		  "Content-Length is not a number: \"Content-Length: 12a\"" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "not a number" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n", "not a number" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", "empty Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
		  "too large" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 7\r\n\r\n",
		  "conflicting Content-Length values 5 and 7" },
		{ "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", "invalid header name" },
		{ "HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
		  "without a colon: \"NoColonHere\"" },
		{ "HTTP/1.1 200 OK\r\n: v\r\n\r\n", "empty name" },
		{ "HTTP/1.1 200 OK\r\nX-A: 1\r\n  more\r\n\r\n", "folding" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		  "invalid character \"z\" in a chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n",
		  "invalid character \";\"" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
		  "without a size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\rx",
		  "CR without LF" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "10000000000000000\r\n", "64 bits" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5\r\nhelloX\r\n0\r\n\r\n", "missing CRLF after the data of a chunk (found \"X\"" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5\r\nhello\r0\r\n\r\n", "missing CRLF" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_str(cases[i].text, false, &(struct expect){
			.st = H1_ERROR, .error = cases[i].needle });
}

static void test_error_quote(void **state)
{
	char text[256];
	struct outcome o;

	(void)state;
	/* a long line: quoted, escaped and cut, the message still fits */
	memset(text, 'A', 200);
	memcpy(text + 200, "\x01\r\n\r\n", 6);
	feed(text, strlen(text), NULL, 0, false, &o);
	assert_int_equal(o.st, H1_ERROR);
	assert_non_null(strstr(o.error, "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...\""));
	assert_null(strstr(o.error, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	/* escapes count towards the cut: ten \xNN fill the 40 characters */
	memset(text, 0x7f, 200);
	feed(text, strlen(text), NULL, 0, false, &o);
	assert_int_equal(o.st, H1_ERROR);
	assert_non_null(strstr(o.error, ": \"\\x7f\\x7f\\x7f\\x7f\\x7f"
				       "\\x7f\\x7f\\x7f\\x7f\\x7f...\""));
	/* control bytes are escaped */
	feed("HTTP/1.1 2\x01\t OK\r\n\r\n", 19, NULL, 0, false, &o);
	assert_int_equal(o.st, H1_ERROR);
	assert_non_null(strstr(o.error, "\"HTTP/1.1 2\\x01\\t OK\""));
}

/* A head of exactly `size` bytes: status line, padding, Content-Length: 0. */
static char *make_head(size_t size)
{
	static const char top[] = "HTTP/1.1 200 OK\r\nX-Pad: ";
	static const char tail[] = "\r\nContent-Length: 0\r\n\r\n";
	char *text = malloc(size + 1);

	assert_non_null(text);
	assert_true(size > sizeof(top) + sizeof(tail));
	memcpy(text, top, sizeof(top) - 1);
	memset(text + sizeof(top) - 1, 'p', size - (sizeof(top) - 1) - (sizeof(tail) - 1));
	memcpy(text + size - (sizeof(tail) - 1), tail, sizeof(tail));
	return text;
}

static void test_head_max(void **state)
{
	size_t cuts[H1_HEAD_MAX + 1];
	const size_t splits[] = { 1, 17, 100, H1_HEAD_MAX / 2, H1_HEAD_MAX - 4,
				  H1_HEAD_MAX - 1 };
	char *text;
	struct outcome o;

	(void)state;
	/* exactly H1_HEAD_MAX: fine, whole, split and byte by byte */
	text = make_head(H1_HEAD_MAX);
	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		feed(text, H1_HEAD_MAX, &splits[i], 1, false, &o);
		assert_int_equal(o.st, H1_DONE);
		assert_int_equal(o.used, H1_HEAD_MAX);
	}
	for (size_t k = 1; k < H1_HEAD_MAX; k++)
		cuts[k - 1] = k;
	feed(text, H1_HEAD_MAX, cuts, H1_HEAD_MAX - 1, false, &o);
	assert_int_equal(o.st, H1_DONE);
	assert_int_equal(o.status, 200);
	free(text);

	/* one byte more: refused, however it arrives */
	text = make_head(H1_HEAD_MAX + 1);
	feed(text, H1_HEAD_MAX + 1, NULL, 0, false, &o);
	assert_int_equal(o.st, H1_ERROR);
	assert_non_null(strstr(o.error, "larger than 65536"));
	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		feed(text, H1_HEAD_MAX + 1, &splits[i], 1, false, &o);
		assert_int_equal(o.st, H1_ERROR);
		assert_non_null(strstr(o.error, "larger than"));
	}
	for (size_t k = 1; k <= H1_HEAD_MAX; k++)
		cuts[k - 1] = k;
	feed(text, H1_HEAD_MAX + 1, cuts, H1_HEAD_MAX, false, &o);
	assert_int_equal(o.st, H1_ERROR);
	assert_non_null(strstr(o.error, "larger than"));
	free(text);
}

static void test_head_max_endless(void **state)
{
	struct h1_parser p;
	char piece[1000];
	size_t fed = 0, used;
	enum h1_status st = H1_MORE;

	(void)state;
	/* a header that never ends fails once H1_HEAD_MAX bytes have come */
	h1_parser_init(&p);
	assert_int_equal(h1_parse(&p, "HTTP/1.1 200 OK\r\n", 17, &used), H1_MORE);
	fed = 17;
	memset(piece, 'x', sizeof(piece));
	while (st == H1_MORE && fed < 2 * H1_HEAD_MAX) {
		st = h1_parse(&p, piece, sizeof(piece), &used);
		fed += sizeof(piece);
	}
	assert_int_equal(st, H1_ERROR);
	assert_true(fed >= H1_HEAD_MAX && fed < H1_HEAD_MAX + sizeof(piece));
	assert_non_null(strstr(p.error, "larger than"));
	assert_true(p.head_alloc <= H1_HEAD_MAX);
	/* and stays failed */
	assert_int_equal(h1_parse(&p, "\r\n\r\n", 4, &used), H1_ERROR);
	assert_int_equal(h1_parse_eof(&p), H1_ERROR);
	h1_parser_release(&p);
}

static void test_trailer_max(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "1\r\nx\r\n0\r\n";
	struct h1_parser p;
	size_t fed = 0, used;
	enum h1_status st;

	(void)state;
	/* trailers are skipped, but not forever */
	h1_parser_init(&p);
	st = h1_parse(&p, head, sizeof(head) - 1, &used);
	while (st == H1_MORE && fed < 2 * H1_HEAD_MAX) {
		st = h1_parse(&p, "X-Trailer: y\r\n", 14, &used);
		fed += 14;
	}
	assert_int_equal(st, H1_ERROR);
	assert_true(fed > H1_HEAD_MAX && fed <= H1_HEAD_MAX + 14);
	assert_non_null(strstr(p.error, "trailer section larger than"));
	assert_int_equal(p.body_bytes, 1);
	h1_parser_release(&p);
}

static void test_body_keep(void **state)
{
	char body[1001], body400[401], text[1400];
	size_t len = 0;
	struct outcome o;

	(void)state;
	for (size_t i = 0; i < 1000; i++)
		body[i] = (char)('a' + i % 26);
	body[1000] = '\0';

	/* Content-Length: the first H1_BODY_KEEP bytes kept, all counted */
	len = (size_t)snprintf(text, sizeof(text),
			       "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n%s",
			       body);
	feed(text, len, NULL, 0, false, &o);
	assert_int_equal(o.st, H1_DONE);
	assert_int_equal(o.body_bytes, 1000);
	assert_int_equal(o.body_len, H1_BODY_KEEP);
	assert_memory_equal(o.body, body, H1_BODY_KEEP);
	check_response(text, len, false, &(struct expect){
		.st = H1_DONE, .status = 200, .keep_alive = true, .body = body });

	/* chunked: the kept bytes are the decoded ones, across chunks */
	len = (size_t)snprintf(text, sizeof(text),
			       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			       "64\r\n%.100s\r\n64\r\n%.100s\r\nc8\r\n%.200s\r\n0\r\n\r\n",
			       body, body + 100, body + 200);
	memcpy(body400, body, 400);
	body400[400] = '\0';
	check_response(text, len, false, &(struct expect){
		.st = H1_DONE, .status = 200, .keep_alive = true, .body = body400 });
}

static void test_lifecycle(void **state)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct h1_parser p;
	size_t used;
	char *head;
	size_t head_alloc;

	(void)state;
	h1_parser_init(&p);
	assert_false(p.first_byte_seen);
	assert_int_equal(h1_parse(&p, r, 0, &used), H1_MORE);
	assert_false(p.first_byte_seen);
	/* a head split over two calls is gathered in p.head */
	assert_int_equal(h1_parse(&p, r, 10, &used), H1_MORE);
	assert_int_equal(used, 10);
	assert_true(p.first_byte_seen);
	assert_non_null(p.head);
	assert_int_equal(h1_parse(&p, r + 10, sizeof(r) - 11, &used), H1_DONE);
	assert_int_equal(used, sizeof(r) - 11);
	assert_memory_equal(p.body_keep, "ok", 2);
	/* feeding on without a reset is the caller's bug, and said so */
	assert_int_equal(h1_parse(&p, r, sizeof(r) - 1, &used), H1_ERROR);
	assert_non_null(strstr(p.error, "h1_parser_reset"));

	/* reset keeps the head buffer, forgets the rest */
	head = p.head;
	head_alloc = p.head_alloc;
	h1_parser_reset(&p);
	assert_ptr_equal(p.head, head);
	assert_int_equal(p.head_alloc, head_alloc);
	assert_int_equal(p.status, 0);
	assert_int_equal(p.body_bytes, 0);
	assert_int_equal(p.body_keep_len, 0);
	assert_false(p.first_byte_seen);
	assert_int_equal(p.error[0], '\0');
	assert_int_equal(h1_parse(&p, r, sizeof(r) - 1, &used), H1_DONE);
	assert_int_equal(p.body_bytes, 2);
	h1_parser_release(&p);
	assert_null(p.head);
	assert_int_equal(p.head_alloc, 0);
}

/* A 200 answer is a KServe response only when a JSON object comes first. */
static void test_response_garbage(void **state)
{
	static const char binary[] = "{\"outputs\":[]}\x01\x02";
	char buf[512];
	const char *why;

	(void)state;
	assert_null(lg_response_garbage("{\"model_name\":\"m\"}", 18, buf, sizeof(buf)));
	assert_null(lg_response_garbage(" \r\n{", 4, buf, sizeof(buf)));
	assert_null(lg_response_garbage(binary, sizeof(binary) - 1, buf, sizeof(buf)));
	why = lg_response_garbage("<html>oops</html>", 17, buf, sizeof(buf));
	assert_non_null(why);
	assert_string_equal(why, "HTTP 200 but not a KServe inference response: <html>oops</html>");
	why = lg_response_garbage("", 0, buf, sizeof(buf));
	assert_string_equal(why, "HTTP 200 but not a KServe inference response: (empty body)");
	assert_non_null(lg_response_garbage("\x89PNG", 4, buf, sizeof(buf)));
	assert_non_null(lg_response_garbage("[1, 2]", 6, buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_build),
		cmocka_unit_test(test_typical_responses),
		cmocka_unit_test(test_status_line_forms),
		cmocka_unit_test(test_connection_tokens),
		cmocka_unit_test(test_back_to_back),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunked_then_next),
		cmocka_unit_test(test_interim_responses),
		cmocka_unit_test(test_no_body_statuses),
		cmocka_unit_test(test_until_close),
		cmocka_unit_test(test_eof_messages),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_error_quote),
		cmocka_unit_test(test_head_max),
		cmocka_unit_test(test_head_max_endless),
		cmocka_unit_test(test_trailer_max),
		cmocka_unit_test(test_body_keep),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_response_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
