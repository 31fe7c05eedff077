/*
 * HTTP/1.1 framing for the load engine's fast transport: the bytes of a
 * request built once, and an incremental parser of the responses that come
 * back on a kept-alive connection (RFC 9112: status line, header fields,
 * a body delimited by Content-Length, by chunked transfer coding, or by the
 * end of the connection). No I/O: the caller feeds whatever recv() gave.
 * Depends on util/ and libc only.
 */
#ifndef INFERTUNE_LOADGEN_H1_H
#define INFERTUNE_LOADGEN_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The status line and header fields of one response may take this much. */
#define H1_HEAD_MAX 65536
/** How many bytes of a body the parser keeps (for error messages). */
#define H1_BODY_KEEP 256

enum h1_status {
	H1_MORE = 0,    /* the response is not complete: feed more bytes */
	H1_DONE,        /* one whole response has been parsed */
	H1_ERROR,       /* the bytes are not HTTP/1.x: see parser.error */
};

/**
 * Parser of the responses on one connection. Embedded value struct:
 * h1_parser_init() before first use, h1_parser_release() at the end;
 * h1_parser_reset() before each response. Not thread-safe (one connection,
 * one thread).
 */
struct h1_parser {
	/* --- results, valid once h1_parse() returned H1_DONE --- */
	int status;                     /* 200, 400, ... (1xx answers are skipped) */
	bool keep_alive;                /* false: the server closes after this response */
	uint64_t body_bytes;            /* body length (after de-chunking) */
	char body_keep[H1_BODY_KEEP];   /* the body's first bytes */
	size_t body_keep_len;
	bool first_byte_seen;           /* some byte of this response has arrived */
	char error[160];                /* H1_ERROR: what was wrong, for a person */

	/* --- private --- */
	int state;
	char *head;                     /* partial status line + headers, grown on demand */
	size_t head_len, head_alloc;
	uint64_t remaining;             /* body or chunk bytes still to come */
	bool chunked;
	bool until_close;               /* no length: the body ends with the connection */
	bool http10;
	bool interim_seen;              /* a 1xx response was skipped */
	unsigned chunk_digits;          /* chunk-size line: hex digits so far */
	bool chunk_ext;                 /* chunk-size line: in an extension */
	bool chunk_cr;                  /* saw CR, LF expected */
	size_t head_scan;               /* head[0..head_scan) searched: where the unfinished line starts */
	size_t line_bytes;              /* chunk-size or trailer line: bytes so far */
	size_t trailer_bytes;           /* trailer section: bytes so far */
};

void h1_parser_init(struct h1_parser *p);
void h1_parser_release(struct h1_parser *p);
/** Prepares p for the next response on the same connection; keeps storage. */
void h1_parser_reset(struct h1_parser *p);

/**
 * Feeds len bytes. *used gets how many belong to the current response: on
 * H1_DONE the rest belong to the next one (a pipelining server), on H1_MORE
 * it is len, on H1_ERROR it is meaningless. Allocates only when a status
 * line and header fields arrive split over several calls. After H1_ERROR
 * every call returns H1_ERROR again; a call after H1_DONE without
 * h1_parser_reset() is an error.
 */
enum h1_status h1_parse(struct h1_parser *p, const char *data, size_t len,
			size_t *used);

/**
 * The peer closed the connection. H1_DONE when that ends a body without a
 * length (HTTP/1.0 style; keep_alive is then false), or when the response
 * was already complete; otherwise H1_ERROR with a message that says how
 * much of the response had arrived ("connection closed before the response
 * began", "... in the middle of the response header", "... 120 bytes before
 * the end of the body", "... in a chunked body").
 */
enum h1_status h1_parse_eof(struct h1_parser *p);

/**
 * Builds the bytes of a POST: request line, Host, the given header lines
 * ("Name: value", without CRLF; each gets one), Content-Length, a blank
 * line, then the body (body may be NULL when body_len is 0). Returns a heap
 * buffer (caller frees with free()) and its length in *len; a NUL follows
 * the bytes, not counted in *len.
 */
char *h1_request_build(const char *host_port, const char *path,
		       const char *const *headers, size_t n_headers,
		       const void *body, size_t body_len, size_t *len);

#endif
