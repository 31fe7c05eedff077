/*
 * The KServe v2 inference wire format with Triton's binary tensor extension
 * (protocol.md §1.4-§1.7 and §2): request bodies in, response bodies out,
 * error codes to HTTP statuses. Pure functions over buffers: no sockets, no
 * threads, no global state, so every function is safe to call from any
 * thread. Depends on server/infer, backend/ (struct tensor), model/, util/.
 */
#ifndef INFERTUNE_SERVER_KSERVE_H
#define INFERTUNE_SERVER_KSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct infer_request;
struct model_config;
struct strbuf;
struct it_error;

/**
 * Parses an infer request body for the model `cfg`. `body` (body_len bytes,
 * malloc'd) is taken over in every case: on success it belongs to the
 * returned request (inputs sent as binary point into it), on failure it is
 * freed. header_len is the Inference-Header-Content-Length value, or -1 when
 * the header was absent (the whole body is JSON). Validates everything before
 * any large allocation: JSON well-formed and not nested deeper than 100;
 * every model input present once unless optional, no unknown input or
 * output names; datatype and shape rank match the config (batch dimension
 * first when max_batch_size > 0, at most max_batch_size, the same in every
 * input); element counts and binary sizes add up exactly (BYTES elements
 * walked); FP16/BF16 only as binary; overflow-safe products. Errors, each
 * with a message naming the input, output or field at fault: IT_ERR_PARSE
 * (malformed JSON), IT_ERR_LIMIT (nesting over 100, more than 4 Mi JSON
 * values, a shape product over int64), IT_ERR_INVALID (any other bad
 * request, unknown input/output names included: all HTTP 400 as in Triton)
 * and IT_ERR_UNSUPPORTED (raw binary requests, the classification
 * extension: 501). Binary tensors point into the body unless misaligned for
 * their element type (then copied), so tensor data is always aligned to its
 * element size. Caller frees with infer_request_free().
 */
struct infer_request *kserve_parse_infer(const struct model_config *cfg,
					 void *body, size_t body_len,
					 long long header_len,
					 struct it_error *err);

/**
 * Reads the value of the Inference-Header-Content-Length header into *out:
 * decimal digits, with a leading '-' accepted so that a negative length gets
 * kserve_parse_infer()'s own message. IT_ERR_INVALID, naming the value,
 * when it is not a number or is too large to be a length (*out unchanged).
 */
int kserve_parse_header_length(const char *value, long long *out,
			       struct it_error *err);

/**
 * Writes the response of a completed, successful request: the JSON header
 * ({"id" when non-empty, "model_name", "model_version", "outputs"}) followed
 * by the binary blobs of outputs requested as binary, in output order.
 * *json_len is the JSON header's length; *binary is true when any output is
 * binary (then the HTTP layer sends Content-Type application/octet-stream
 * and Inference-Header-Content-Length: *json_len). Never puts "parameters"
 * on a JSON output. Appends to `out`; *json_len counts only the JSON just
 * appended. Returns 0, or IT_ERR_INVALID when an output cannot be sent as
 * JSON (FP16/BF16 requested as JSON), IT_ERR_INTERNAL when a backend output
 * is inconsistent (byte size vs shape, BYTES prefixes), IT_ERR_LIMIT when
 * out's cap is reached; on error out and the out-parameters are unchanged.
 */
int kserve_write_response(const struct infer_request *req,
			  const char *model_name, const char *model_version,
			  struct strbuf *out, size_t *json_len, bool *binary,
			  struct it_error *err);

/** HTTP status for an IT_ERR_* code, as Triton maps its error codes (§1.7). */
int kserve_http_status(int code);

/** Appends {"error":"<message>"} with JSON escaping. */
void kserve_write_error(struct strbuf *out, const char *message);

#endif
