/*
 * Fuzz target: the load generator's HTTP/1.1 response parser (loadgen/h1),
 * fed whatever a server under test might send back on one kept-alive
 * connection (pipelined responses, then the connection closes). The bytes
 * are parsed twice: whole, and cut into pieces of 1 to 16 bytes chosen by
 * the bytes themselves, each piece in a heap block of its exact size.
 * Both feedings must agree on every response (status, keep-alive, body
 * length and kept bytes, where it ends) and on the final outcome and error;
 * kept body bytes stay within H1_BODY_KEEP and the head within H1_HEAD_MAX.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "loadgen/h1.h"
#include "util/xalloc.h"

#define MAX_RESPONSES 64

struct response {
	int status;
	bool keep_alive;
	uint64_t body_bytes;
	char body[H1_BODY_KEEP];
	size_t body_len;
	size_t end;             /* offset in the input just past the response */
};

struct outcome {
	struct response r[MAX_RESPONSES];
	size_t n;
	enum h1_status last;    /* after the close: H1_DONE or H1_ERROR */
	char error[sizeof(((struct h1_parser *)0)->error)];
};

static void record(const struct h1_parser *p, size_t end, struct outcome *o)
{
	struct response *r = &o->r[o->n++];

	FUZZ_CHECK(p->status >= 100 && p->status <= 999, "a status has three digits");
	FUZZ_CHECK(p->body_keep_len <= H1_BODY_KEEP && p->body_keep_len <= p->body_bytes,
		   "kept body bytes within H1_BODY_KEEP and the body");
	r->status = p->status;
	r->keep_alive = p->keep_alive;
	r->body_bytes = p->body_bytes;
	memcpy(r->body, p->body_keep, p->body_keep_len);
	r->body_len = p->body_keep_len;
	r->end = end;
}

/* Feeds data[0..size) in pieces of `cut` bytes (0: whole); the connection then closes. */
static void feed(const uint8_t *data, size_t size, bool cut, struct outcome *o)
{
	struct h1_parser p;
	enum h1_status st = H1_MORE;
	size_t at = 0;

	memset(o, 0, sizeof(*o));
	h1_parser_init(&p);
	while (at < size && o->n < MAX_RESPONSES) {
		size_t n = cut ? 1 + (size_t)data[at] % 16 : size - at, used = (size_t)-1;
		char *piece;

		if (n > size - at)
			n = size - at;
		piece = xmemdup(data + at, n);
		st = h1_parse(&p, piece, n, &used);
		free(piece);
		FUZZ_CHECK(p.head_len <= H1_HEAD_MAX, "the head is kept within H1_HEAD_MAX");
		if (st == H1_ERROR)
			break;
		if (st == H1_MORE) {
			FUZZ_CHECK(used == n, "an unfinished response takes every byte");
			at += n;
			continue;
		}
		FUZZ_CHECK(used <= n, "a response takes at most what it was fed");
		at += used;
		record(&p, at, o);
		if (!p.keep_alive)
			break; /* the client closes: what follows is not read */
		h1_parser_reset(&p);
		st = H1_MORE;
	}
	if (st == H1_MORE && o->n < MAX_RESPONSES) {
		st = h1_parse_eof(&p);
		if (st == H1_DONE && p.first_byte_seen)
			record(&p, size, o);
	}
	o->last = st;
	if (st == H1_ERROR) {
		FUZZ_CHECK(p.error[0] != '\0', "a parse error says what was wrong");
		memcpy(o->error, p.error, sizeof(o->error));
	}
	h1_parser_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome whole, pieces;

	feed(data, size, false, &whole);
	feed(data, size, true, &pieces);
	FUZZ_CHECK(whole.last == pieces.last, "the outcome does not depend on the cuts");
	FUZZ_CHECK(!strcmp(whole.error, pieces.error), "the error does not depend on the cuts");
	FUZZ_CHECK(whole.n == pieces.n, "the responses do not depend on the cuts");
	for (size_t i = 0; i < whole.n; i++) {
		const struct response *a = &whole.r[i], *b = &pieces.r[i];

		FUZZ_CHECK(a->status == b->status && a->keep_alive == b->keep_alive &&
			   a->body_bytes == b->body_bytes && a->body_len == b->body_len &&
			   !memcmp(a->body, b->body, a->body_len) && a->end == b->end,
			   "each response does not depend on the cuts");
	}
	return 0;
}
