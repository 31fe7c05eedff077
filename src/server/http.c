/*
 * The HTTP front on libmicrohttpd (MHD). Shape of one request:
 *
 *  1. MHD calls on_request() once the headers are in (*con_cls NULL): the
 *     path is routed and a struct http_req is attached to the connection. A
 *     body announced larger than --http-max-input-size is refused here, before
 *     anything is allocated (MHD then closes the connection after the answer).
 *  2. MHD calls again for each chunk of the body: it is appended under the
 *     same cap (a chunked body that grows past it is discarded and refused
 *     at the end).
 *  3. The last call (no more data) dispatches. Every endpoint but infer
 *     answers at once. Infer takes a reference to the model version, parses
 *     the body (kserve_parse_infer), SUSPENDS the connection and queues the
 *     request; the scheduler's completion callback (on a worker thread)
 *     writes the response into the http_req and resumes the connection; MHD
 *     calls on_request() once more and the stored response is queued.
 *  4. MHD's completion notification frees the http_req: per-request memory
 *     lives exactly until the response is sent.
 *
 * Threads: MHD runs a pool of epoll threads (each owning a share of the
 * connections); suspended connections cost a socket and an http_req, no
 * thread, so thousands of requests can wait in a scheduler queue.
 */
#include "server/http.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "model/config.h"
#include "model/repository.h"
#include "model/schema.h"
#include "server/http_deadline.h"
#include "server/infer.h"
#include "server/kserve.h"
#include "util/log.h"
#include "server/metrics.h"
#include "server/models.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#ifndef INFERTUNE_VERSION
#define INFERTUNE_VERSION "0.0.0"
#endif

#define CONTENT_JSON "application/json"
#define CONTENT_BINARY "application/octet-stream"
/* Prometheus' own content type for format 0.0.4, charset as Triton sends it. */
#define CONTENT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"
#define HEADER_INFERENCE_LENGTH "Inference-Header-Content-Length"
#define DEFAULT_CONNECTION_LIMIT 65536u
#define MAX_THREADS 16u
/* Per-connection MHD memory: headers plus the read buffer for body chunks. */
#define CONNECTION_MEMORY_BYTES ((size_t)64 << 10)
#define LISTEN_BACKLOG 4096u
/* Bodies up to this size get their buffer in one allocation from Content-Length. */
#define BODY_PREALLOC_MAX ((size_t)1 << 20)

/*
 * The extensions actually implemented, in Triton's order (protocol.md §1.2).
 * No classification, sequence, shared memory, trace or logging.
 */
static const char *const extensions[] = {
	"model_repository", "model_configuration", "binary_tensor_data",
	"parameters", "statistics",
};

enum server_kind { KIND_API, KIND_METRICS };

struct http_server {
	enum server_kind kind;
	struct MHD_Daemon *daemon;
	struct models *models;
	struct collectors *collectors;
	size_t max_input_bytes;
	int port;
	atomic_bool stopping;
	atomic_long in_flight;      /* infer requests suspended or not yet answered */
	char *metadata;             /* GET /v2 body, built once */
	size_t metadata_len;
	struct http_deadlines *deadlines; /* NULL: no deadline for reading requests */
};

enum req_phase {
	PHASE_RECEIVING,  /* headers in, body arriving */
	PHASE_WAITING,    /* infer queued, connection suspended */
	PHASE_ANSWERED,   /* the completion callback stored the response */
};

/* Per request state: attached to the MHD connection, freed when the request completes. */
struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct http_route route;
	enum req_phase phase;
	bool counted;             /* counted in srv->in_flight */
	bool nul_in_path;         /* "%00" in the raw path: refused with 400 */
	/* body */
	bool wants_body;
	bool too_large;
	char *body;
	size_t body_len, body_alloc;
	struct http_watch *watch;   /* the connection's read deadline; NULL: none */
	/* infer */
	struct served_model *sm;
	/* the stored answer of an infer (PHASE_ANSWERED) */
	unsigned status;
	char *resp;
	size_t resp_len;
	bool resp_binary;
	size_t resp_json_len;
};

/* ---- routing ---- */

/* Splits path into at most max segments; false when a segment is empty or there are too many. */
static size_t split_path(const char *path, const char **seg, size_t *len,
			 size_t max, bool *ok)
{
	size_t n = 0;
	const char *p = path;

	*ok = true;
	if (*p != '/') {
		*ok = false;
		return 0;
	}
	while (*p == '/') {
		const char *start = ++p;

		while (*p && *p != '/')
			p++;
		if (p == start || n == max) {
			*ok = false; /* "//", a trailing "/", or too deep */
			return n;
		}
		seg[n] = start;
		len[n] = (size_t)(p - start);
		n++;
	}
	return n;
}

static bool seg_is(const char *seg, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(seg, word, len);
}

static void set_model(struct http_route *r, const char *seg, size_t len)
{
	if (len >= sizeof(r->model)) {
		r->model_too_long = true;
		len = sizeof(r->model) - 1;
	}
	memcpy(r->model, seg, len);
	r->model[len] = '\0';
}

/* "[0-9]+" into r->version; an out-of-range value marks bad_version. */
static bool set_version(struct http_route *r, const char *seg, size_t len)
{
	int64_t v = 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		int d = seg[i] - '0';

		if (seg[i] < '0' || seg[i] > '9')
			return false;
		if (v > (INT64_MAX - d) / 10)
			r->bad_version = true;
		else
			v = v * 10 + d;
	}
	r->version = v;
	return true;
}

void http_route_parse(const char *method, const char *path,
		      struct http_route *out)
{
	const char *seg[8];
	size_t len[8], n;
	bool ok, get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	size_t tail;

	memset(out, 0, sizeof(*out));
	out->version = -1;
	out->endpoint = HTTP_EP_NOT_FOUND;
	out->method_ok = true;
	n = split_path(path, seg, len, 8, &ok);
	if (!ok || n < 1 || !seg_is(seg[0], len[0], "v2"))
		return;
	if (n == 1) {
		out->endpoint = HTTP_EP_SERVER_METADATA;
		out->method_ok = get;
		return;
	}
	if (seg_is(seg[1], len[1], "health")) {
		if (n == 3 && seg_is(seg[2], len[2], "live"))
			out->endpoint = HTTP_EP_HEALTH_LIVE;
		else if (n == 3 && seg_is(seg[2], len[2], "ready"))
			out->endpoint = HTTP_EP_HEALTH_READY;
		else
			return; /* /v2/health/other: 404 whatever the method */
		out->method_ok = get;
		return;
	}
	if (seg_is(seg[1], len[1], "models")) {
		if (n == 2)
			return;
		/* Special-cased before the model regex, as in Triton. */
		if (n == 3 && seg_is(seg[2], len[2], "stats")) {
			out->endpoint = HTTP_EP_STATS_ALL;
			out->method_ok = get;
			return;
		}
		set_model(out, seg[2], len[2]);
		tail = 3;
		if (n >= 5 && seg_is(seg[3], len[3], "versions")) {
			if (!set_version(out, seg[4], len[4]))
				return;
			tail = 5;
		}
		if (n == tail) {
			out->endpoint = HTTP_EP_MODEL_METADATA;
			out->method_ok = get;
		} else if (n == tail + 1 && seg_is(seg[tail], len[tail], "infer")) {
			out->endpoint = HTTP_EP_MODEL_INFER;
			out->method_ok = post;
		} else if (n == tail + 1 && seg_is(seg[tail], len[tail], "ready")) {
			out->endpoint = HTTP_EP_MODEL_READY;
			out->method_ok = get;
		} else if (n == tail + 1 && seg_is(seg[tail], len[tail], "config")) {
			out->endpoint = HTTP_EP_MODEL_CONFIG;
			out->method_ok = get;
		} else if (n == tail + 1 && seg_is(seg[tail], len[tail], "stats")) {
			out->endpoint = HTTP_EP_MODEL_STATS;
			out->method_ok = get;
		} else if ((n == tail + 1 && (seg_is(seg[tail], len[tail], "generate") ||
					       seg_is(seg[tail], len[tail], "generate_stream"))) ||
			   (n == tail + 2 && seg_is(seg[tail], len[tail], "trace") &&
			    seg_is(seg[tail + 1], len[tail + 1], "setting"))) {
			out->endpoint = HTTP_EP_UNSUPPORTED;
			out->what = seg_is(seg[tail], len[tail], "trace") ?
				    "the trace extension" : "the generate extension";
		}
		return;
	}
	if (seg_is(seg[1], len[1], "repository")) {
		/* /v2/repository(?:/([^/]+))?/(index|models/([^/]+)/(load|unload)) */
		size_t k = 2;

		if (n == 3 && seg_is(seg[2], len[2], "index")) {
			out->endpoint = HTTP_EP_REPO_INDEX;
		} else if (n == 4 && seg_is(seg[3], len[3], "index")) {
			out->endpoint = HTTP_EP_REPO_INDEX;
			out->repository_named = true;
		} else {
			if (n == 6) {
				out->repository_named = true;
				k = 3;
			}
			if (n - k != 3 || !seg_is(seg[k], len[k], "models"))
				return;
			set_model(out, seg[k + 1], len[k + 1]);
			if (seg_is(seg[k + 2], len[k + 2], "load"))
				out->endpoint = HTTP_EP_REPO_LOAD;
			else if (seg_is(seg[k + 2], len[k + 2], "unload"))
				out->endpoint = HTTP_EP_REPO_UNLOAD;
			else
				return;
		}
		out->method_ok = post;
		return;
	}
	if (seg_is(seg[1], len[1], "systemsharedmemory") ||
	    seg_is(seg[1], len[1], "cudasharedmemory")) {
		/* (?:/region/([^/]+))?/(status|register|unregister) */
		const char *act = seg[n - 1];
		size_t alen = len[n - 1];

		if (!(n == 3 || (n == 5 && seg_is(seg[2], len[2], "region"))))
			return;
		if (!seg_is(act, alen, "status") && !seg_is(act, alen, "register") &&
		    !seg_is(act, alen, "unregister"))
			return;
		out->endpoint = HTTP_EP_UNSUPPORTED;
		out->what = "the shared memory extensions";
		out->method_ok = seg_is(act, alen, "status") ? get : post;
		return;
	}
	if ((n == 3 && seg_is(seg[1], len[1], "trace") && seg_is(seg[2], len[2], "setting")) ||
	    (n == 2 && seg_is(seg[1], len[1], "logging"))) {
		out->endpoint = HTTP_EP_UNSUPPORTED;
		out->what = n == 2 ? "the logging extension" : "the trace extension";
		out->method_ok = get || post;
	}
}

/* ---- responses ---- */

/* Queues a response; takes ownership of body (malloc'd or NULL). */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
			       const char *content_type, char *body,
			       size_t len, long long inference_header_len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, body ?
					       MHD_RESPMEM_MUST_FREE :
					       MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					content_type);
	if (inference_header_len >= 0) {
		char num[32];

		snprintf(num, sizeof(num), "%lld", inference_header_len);
		MHD_add_response_header(resp, HEADER_INFERENCE_LENGTH, num);
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result respond_empty(struct MHD_Connection *conn,
				     unsigned status)
{
	return respond(conn, status, NULL, NULL, 0, -1);
}

static char *error_body(const char *message, size_t *len)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	kserve_write_error(&sb, message);
	return strbuf_detach(&sb, len);
}

/* {"error":"<message>"} with Content-Type application/json (protocol.md §1.7). */
static enum MHD_Result respond_error(struct MHD_Connection *conn,
				     unsigned status, const char *message)
{
	size_t len;
	char *body = error_body(message, &len);

	return respond(conn, status, CONTENT_JSON, body, len, -1);
}

static enum MHD_Result respond_it_error(struct MHD_Connection *conn,
					const struct it_error *err)
{
	return respond_error(conn, (unsigned)kserve_http_status(err->code),
			     err->message[0] ? err->message : it_strerror(err->code));
}

/* Serialises and releases j. */
static enum MHD_Result respond_json(struct MHD_Connection *conn,
				    unsigned status, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(j);
	if (!text)
		return respond_error(conn, 500, "failed to serialise the response");
	return respond(conn, status, CONTENT_JSON, text, strlen(text), -1);
}

/* ---- request bodies ---- */

/* Content-Length as announced; false when absent or not a number. */
static bool content_length(struct MHD_Connection *conn, uint64_t *out)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_LENGTH);

	return v && http_parse_content_length(v, out);
}

bool http_parse_content_length(const char *value, uint64_t *out)
{
	uint64_t n = 0;

	if (!*value)
		return false;
	for (const char *v = value; *v; v++) {
		if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*out = n;
	return true;
}

/*
 * Appends a chunk under the cap. The buffer is sized from Content-Length up
 * front when it is known (one allocation per body), else doubled.
 */
static void body_append(struct http_req *r, const char *data, size_t n)
{
	if (r->too_large)
		return;
	if (n > r->srv->max_input_bytes - r->body_len) {
		r->too_large = true;
		free(r->body);
		r->body = NULL;
		r->body_len = r->body_alloc = 0;
		return;
	}
	if (r->body_len + n > r->body_alloc) {
		size_t want = r->body_alloc ? r->body_alloc * 2 : 4096;

		while (want < r->body_len + n)
			want *= 2;
		if (want > r->srv->max_input_bytes)
			want = r->srv->max_input_bytes;
		r->body = xrealloc(r->body, want);
		r->body_alloc = want;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
}

static char *body_detach(struct http_req *r, size_t *len)
{
	char *b = r->body ? r->body : xmalloc(0);

	*len = r->body_len;
	r->body = NULL;
	r->body_len = r->body_alloc = 0;
	return b;
}

/*
 * The body as JSON for the repository endpoints: NULL (not an error) when
 * empty, as Triton accepts an empty body there.
 */
static int body_json(struct http_req *r, json_t **out, struct it_error *err)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (!r->body_len)
		return 0;
	j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return it_error_set(err, IT_ERR_PARSE,
				    "failed to parse the request JSON buffer: %s at line %d column %d",
				    jerr.text, jerr.line, jerr.column);
	if (!json_is_object(j)) {
		json_decref(j);
		return it_error_set(err, IT_ERR_INVALID,
				    "the request JSON must be an object");
	}
	*out = j;
	return 0;
}

/* ---- endpoints ---- */

/* The route's model name and version are usable; else err says why (400). */
static bool check_model_name(struct http_req *r, struct it_error *err)
{
	if (r->route.model_too_long) {
		it_error_set(err, IT_ERR_INVALID,
			     "model name is longer than %d bytes",
			     REPOSITORY_NAME_MAX);
		return false;
	}
	if (r->route.bad_version) {
		it_error_set(err, IT_ERR_INVALID,
			     "failed to get model version from specified version string");
		return false;
	}
	/* Names are only ever looked up, but refuse anything that could name a path. */
	return repository_check_name(r->route.model, err) == 0;
}

static enum MHD_Result handle_health(struct http_req *r, bool ready)
{
	bool ok = !atomic_load(&r->srv->stopping);

	if (ok && ready)
		ok = models_all_ready(r->srv->models);
	/* 200 true, 400 false, both with an empty body (protocol.md §1.1). */
	return respond_empty(r->conn, ok ? 200 : 400);
}

static enum MHD_Result handle_model_ready(struct http_req *r)
{
	struct it_error err = { 0 };

	if (!check_model_name(r, &err))
		return respond_it_error(r->conn, &err);
	if (!models_is_ready(r->srv->models, r->route.model, r->route.version))
		return respond_error(r->conn, 400, "Model version not ready");
	return respond_empty(r->conn, 200);
}

static enum MHD_Result handle_model_metadata(struct http_req *r)
{
	struct it_error err = { 0 };
	json_t *j = NULL;

	if (!check_model_name(r, &err) ||
	    models_metadata_json(r->srv->models, r->route.model,
				 r->route.version, &j, &err))
		return respond_it_error(r->conn, &err);
	return respond_json(r->conn, 200, j);
}

static enum MHD_Result handle_model_config(struct http_req *r)
{
	struct it_error err = { 0 };
	struct served_model *sm = NULL;
	json_t *j;

	if (!check_model_name(r, &err) ||
	    models_acquire(r->srv->models, r->route.model, r->route.version,
			   &sm, &err))
		return respond_it_error(r->conn, &err);
	/* Every field, int64 as numbers: exactly Triton's /config (protocol.md §3.3). */
	j = model_config_to_json(served_model_config(sm), SCHEMA_JSON_ALL_FIELDS);
	served_model_release(sm);
	return respond_json(r->conn, 200, j);
}

static enum MHD_Result handle_stats(struct http_req *r, bool all)
{
	struct it_error err = { 0 };
	json_t *j = NULL;

	if (!all && !check_model_name(r, &err))
		return respond_it_error(r->conn, &err);
	if (models_stats_json(r->srv->models, all ? NULL : r->route.model,
			      all ? -1 : r->route.version, &j, &err))
		return respond_it_error(r->conn, &err);
	return respond_json(r->conn, 200, j);
}

static enum MHD_Result handle_repo_index(struct http_req *r)
{
	struct it_error err = { 0 };
	json_t *req = NULL, *ready;
	bool ready_only = false;

	if (r->route.repository_named)
		return respond_error(r->conn, 501,
				     "'repository_name' specification is not supported");
	if (body_json(r, &req, &err))
		return respond_it_error(r->conn, &err);
	ready = req ? json_object_get(req, "ready") : NULL;
	if (ready && !json_is_boolean(ready)) {
		json_decref(req);
		return respond_error(r->conn, 400,
				     "Unable to parse 'ready': expected a boolean");
	}
	ready_only = ready && json_is_true(ready);
	json_decref(req);
	return respond_json(r->conn, 200,
			    models_index_json(r->srv->models, ready_only));
}

static enum MHD_Result handle_repo_load(struct http_req *r, bool load)
{
	struct it_error err = { 0 };
	json_t *req = NULL, *params, *cfg_json = NULL;
	const char *key;
	json_t *value;
	int rc;

	if (r->route.repository_named)
		return respond_error(r->conn, 501,
				     "'repository_name' specification is not supported");
	if (!check_model_name(r, &err))
		return respond_it_error(r->conn, &err);
	if (body_json(r, &req, &err))
		return respond_it_error(r->conn, &err);
	params = req ? json_object_get(req, "parameters") : NULL;
	if (params && !json_is_object(params)) {
		rc = it_error_set(&err, IT_ERR_INVALID,
				  "Unable to parse 'parameters': expected an object");
		goto out;
	}
	if (load && params) {
		json_object_foreach(params, key, value) {
			json_error_t jerr;

			if (!strcmp(key, "config")) {
				/* A string holding ModelConfig JSON, as Model Analyzer sends it. */
				if (!json_is_string(value)) {
					rc = it_error_set(&err, IT_ERR_INVALID,
							  "Unable to parse 'config': expected a string holding the model configuration JSON");
					goto out;
				}
				cfg_json = json_loadb(json_string_value(value),
						      json_string_length(value),
						      JSON_REJECT_DUPLICATES, &jerr);
				if (!cfg_json) {
					rc = it_error_set(&err, IT_ERR_INVALID,
							  "failed to load '%s': the 'config' parameter is not valid JSON: %s at line %d column %d",
							  r->route.model, jerr.text, jerr.line,
							  jerr.column);
					goto out;
				}
			} else if (!strncmp(key, "file:", 5)) {
				rc = it_error_set(&err, IT_ERR_UNSUPPORTED,
						  "load parameter '%s': model file overrides are not supported",
						  key);
				goto out;
			}
			/* Other keys are ignored, as Triton ignores unknown load parameters. */
		}
	} else if (!load && params) {
		json_t *ud = json_object_get(params, "unload_dependents");

		if (ud && !json_is_boolean(ud)) {
			rc = it_error_set(&err, IT_ERR_INVALID,
					  "Unable to parse 'unload_dependents': expected a boolean");
			goto out;
		}
		/* No ensembles, so there are never dependents to unload. */
	}
	if (load)
		rc = models_load(r->srv->models, r->route.model, cfg_json, &err);
	else
		rc = models_unload(r->srv->models, r->route.model, &err);
out:
	json_decref(cfg_json);
	json_decref(req);
	if (rc) {
		log_warning("%s of '%s' failed: %s", load ? "load" : "unload",
			    r->route.model, err.message);
		return respond_it_error(r->conn, &err);
	}
	log_info("%s model '%s'", load ? "loaded" : "unloaded", r->route.model);
	return respond_empty(r->conn, 200);
}

/* Inference-Header-Content-Length (any case): -1 when absent. */
static int inference_header_length(struct MHD_Connection *conn,
				   long long *out, struct it_error *err)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    HEADER_INFERENCE_LENGTH);

	*out = -1;
	return v ? kserve_parse_header_length(v, out, err) : 0;
}

/*
 * The scheduler's completion callback (a worker thread): build the answer,
 * free the request, drop the model reference, resume the connection. After
 * MHD_resume_connection() the http_req belongs to MHD's thread again.
 */
static void infer_complete(struct infer_request *req, void *arg)
{
	struct http_req *r = arg;
	struct it_error err = { 0 };
	struct strbuf sb;
	size_t json_len = 0;
	bool binary = false;
	int rc = req->status;

	strbuf_init(&sb, 0);
	if (!rc) {
		rc = kserve_write_response(req, served_model_name(r->sm),
					   served_model_version(r->sm), &sb,
					   &json_len, &binary, &err);
	} else {
		err = req->error;
		if (!err.message[0])
			it_error_set(&err, rc, "inference failed: %s", it_strerror(rc));
	}
	infer_request_free(req);
	served_model_release(r->sm);
	r->sm = NULL;
	if (rc) {
		strbuf_release(&sb);
		r->status = (unsigned)kserve_http_status(rc);
		r->resp = error_body(err.message, &r->resp_len);
		r->resp_binary = false;
	} else {
		r->status = 200;
		r->resp = strbuf_detach(&sb, &r->resp_len);
		r->resp_binary = binary;
		r->resp_json_len = json_len;
	}
	r->phase = PHASE_ANSWERED;
	MHD_resume_connection(r->conn);
}

static enum MHD_Result handle_infer(struct http_req *r)
{
	struct it_error err = { 0 };
	struct infer_request *req;
	struct served_model *sm = NULL;
	const char *enc;
	long long header_len;
	size_t len;
	char *body;

	if (!check_model_name(r, &err))
		return respond_it_error(r->conn, &err);
	enc = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					  MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (enc && strcmp(enc, "identity")) {
		it_error_set(&err, IT_ERR_UNSUPPORTED,
			     "Content-Encoding '%s' is not supported; send the request uncompressed",
			     enc);
		return respond_it_error(r->conn, &err);
	}
	if (inference_header_length(r->conn, &header_len, &err) ||
	    models_acquire(r->srv->models, r->route.model, r->route.version,
			   &sm, &err))
		return respond_it_error(r->conn, &err);
	body = body_detach(r, &len);
	/* Takes the body in every case; validates before any large allocation. */
	req = kserve_parse_infer(served_model_config(sm), body, len, header_len,
				 &err);
	if (!req) {
		served_model_release(sm);
		return respond_it_error(r->conn, &err);
	}
	req->on_complete = infer_complete;
	req->on_complete_arg = r;
	r->sm = sm;
	r->phase = PHASE_WAITING;
	r->counted = true;
	atomic_fetch_add(&r->srv->in_flight, 1);
	/* Suspend before queueing: the completion may resume at once from another thread. */
	MHD_suspend_connection(r->conn);
	if (served_model_enqueue(sm, req, &err)) {
		/* Refused (queue full, unloading): answer through the same resume path. */
		infer_request_free(req);
		served_model_release(sm);
		r->sm = NULL;
		/*
		 * A full queue (max_queue_size) is Triton's UNAVAILABLE: 503,
		 * not the 400 of a size limit in a request.
		 */
		r->status = err.code == IT_ERR_LIMIT ? 503 :
			    (unsigned)kserve_http_status(err.code ? err.code : IT_ERR_STATE);
		r->resp = error_body(err.message[0] ? err.message :
				     "the model is being unloaded", &r->resp_len);
		r->phase = PHASE_ANSWERED;
		MHD_resume_connection(r->conn);
	}
	return MHD_YES;
}

static enum MHD_Result respond_answered(struct http_req *r)
{
	char *body = r->resp;

	r->resp = NULL;
	if (r->status != 200)
		return respond(r->conn, r->status, CONTENT_JSON, body, r->resp_len, -1);
	if (r->resp_binary)
		return respond(r->conn, 200, CONTENT_BINARY, body, r->resp_len,
			       (long long)r->resp_json_len);
	return respond(r->conn, 200, CONTENT_JSON, body, r->resp_len, -1);
}

static enum MHD_Result dispatch(struct http_req *r)
{
	struct http_server *srv = r->srv;

	if (r->too_large) {
		char msg[160];

		snprintf(msg, sizeof(msg),
			 "request body is larger than the maximum input size of %zu bytes (--http-max-input-size)",
			 srv->max_input_bytes);
		return respond_error(r->conn, 400, msg);
	}
	switch (r->route.endpoint) {
	case HTTP_EP_SERVER_METADATA:
		return respond(r->conn, 200, CONTENT_JSON,
			       xmemdup(srv->metadata, srv->metadata_len),
			       srv->metadata_len, -1);
	case HTTP_EP_HEALTH_LIVE:
		return handle_health(r, false);
	case HTTP_EP_HEALTH_READY:
		return handle_health(r, true);
	case HTTP_EP_MODEL_METADATA:
		return handle_model_metadata(r);
	case HTTP_EP_MODEL_READY:
		return handle_model_ready(r);
	case HTTP_EP_MODEL_CONFIG:
		return handle_model_config(r);
	case HTTP_EP_MODEL_STATS:
		return handle_stats(r, false);
	case HTTP_EP_STATS_ALL:
		return handle_stats(r, true);
	case HTTP_EP_MODEL_INFER:
		return handle_infer(r);
	case HTTP_EP_REPO_INDEX:
		return handle_repo_index(r);
	case HTTP_EP_REPO_LOAD:
		return handle_repo_load(r, true);
	case HTTP_EP_REPO_UNLOAD:
		return handle_repo_load(r, false);
	case HTTP_EP_UNSUPPORTED: {
		char msg[128];

		snprintf(msg, sizeof(msg), "infertune does not support %s",
			 r->route.what);
		return respond_error(r->conn, 501, msg);
	}
	case HTTP_EP_NOT_FOUND:
		break;
	}
	return respond_error(r->conn, 404, "Not Found");
}

/*
 * MHD percent-decodes the path before on_request() sees it, so an escaped
 * NUL would cut it short unseen: "/v2/models/m%00x/ready" would arrive as
 * the metadata route of "m". The raw URI is shown here first; the marker
 * returned becomes the request's *con_cls, and on_request() refuses it.
 */
static char nul_in_path;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	size_t path_len = strcspn(uri, "?");

	(void)cls;
	(void)conn;
	for (size_t i = 0; i + 3 <= path_len; i++)
		if (uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0')
			return &nul_in_path;
	return NULL;
}

/* The connection's watch (http_deadline.h), or NULL when there are no deadlines. */
static struct http_watch *watch_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_req *r = *con_cls;
	uint64_t announced;

	(void)version;
	if (!r || *con_cls == &nul_in_path) {
		r = xcalloc(1, sizeof(*r));
		r->srv = srv;
		r->conn = conn;
		r->nul_in_path = *con_cls == &nul_in_path;
		r->watch = watch_of(conn);
		*con_cls = r;
		http_watch_headers(r->watch);
		http_route_parse(method, url, &r->route);
		log_verbose(2, "HTTP request: %s %s", method, url);
		/* Only the POST endpoints read a body; anything else is drained and dropped. */
		r->wants_body = !r->nul_in_path && r->route.method_ok &&
				(r->route.endpoint == HTTP_EP_MODEL_INFER ||
				 r->route.endpoint == HTTP_EP_REPO_INDEX ||
				 r->route.endpoint == HTTP_EP_REPO_LOAD ||
				 r->route.endpoint == HTTP_EP_REPO_UNLOAD);
		if (r->wants_body && content_length(conn, &announced)) {
			if (announced > srv->max_input_bytes) {
				/* Refused before reading or allocating; MHD closes after the answer. */
				r->too_large = true;
				http_watch_request_read(r->watch);
				return dispatch(r);
			}
			/*
			 * One allocation for the usual body; a large announced
			 * size is not trusted before the bytes arrive.
			 */
			if (announced) {
				r->body_alloc = announced < BODY_PREALLOC_MAX ?
						(size_t)announced : BODY_PREALLOC_MAX;
				r->body = xmalloc(r->body_alloc);
			}
		}
		return MHD_YES;
	}
	if (r->phase == PHASE_ANSWERED)
		return respond_answered(r);
	if (r->phase == PHASE_WAITING)
		return MHD_YES; /* not reached: a suspended connection is not called */
	if (*upload_data_size) {
		http_watch_body(r->watch, *upload_data_size);
		if (r->wants_body)
			body_append(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	http_watch_request_read(r->watch);
	if (r->nul_in_path)
		return respond_error(conn, 400,
				     "the request path contains an escaped NUL byte (%00)");
	if (!r->route.method_ok)
		return respond_error(conn, 405, "Method Not Allowed");
	return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_req *r = *con_cls;

	http_watch_answered(watch_of(conn));
	if (!r || *con_cls == &nul_in_path) {
		*con_cls = NULL; /* ended before on_request() took the marker */
		return;
	}
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		log_verbose(2, "HTTP request ended early (code %d)", (int)toe);
	if (r->counted)
		atomic_fetch_sub(&srv->in_flight, 1);
	/* Suspended connections are never terminated, so r->sm is NULL here. */
	free(r->body);
	free(r->resp);
	free(r);
	*con_cls = NULL;
}

/* ---- metrics listener ---- */

static enum MHD_Result on_metrics(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct strbuf sb;
	size_t len;
	char *text;

	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		*con_cls = srv; /* mark the first call; no per-request state */
		http_watch_headers(watch_of(conn));
		return MHD_YES;
	}
	if (*upload_data_size) {
		http_watch_body(watch_of(conn), *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	http_watch_request_read(watch_of(conn));
	if (strcmp(method, "GET"))
		return respond_error(conn, 405, "Method Not Allowed");
	/* Triton: regex "/metrics/?"; anything else is 400 with an empty body. */
	if (strcmp(url, "/metrics") && strcmp(url, "/metrics/"))
		return respond(conn, 400, CONTENT_PROMETHEUS, NULL, 0, -1);
	strbuf_init(&sb, 0);
	metrics_render(srv->models, srv->collectors, &sb);
	text = strbuf_detach(&sb, &len);
	return respond(conn, 200, CONTENT_PROMETHEUS, text, len, -1);
}

static void on_metrics_completed(void *cls, struct MHD_Connection *conn,
				 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con_cls;
	(void)toe;
	http_watch_answered(watch_of(conn));
}

/* ---- lifecycle ---- */

/* Opens and closes each connection's watch; MHD notifies "closed" before closing the socket. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *h = cls;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		http_watch_close(h->deadlines, *socket_context);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	*socket_context = ci ? http_watch_open(h->deadlines, ci->connect_fd) : NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_warning("HTTP: %s", buf);
}

static char *build_metadata(size_t *len)
{
	json_t *ext = json_array();
	json_t *j;
	char *text;

	for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++)
		json_array_append_new(ext, json_string(extensions[i]));
	j = json_pack("{s:s, s:s, s:o}", "name", "infertune", "version",
		      INFERTUNE_VERSION, "extensions", ext);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	*len = strlen(text);
	return text;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > (long)MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

static int start_daemon(struct http_server *h,
			const struct http_server_options *opts,
			MHD_AccessHandlerCallback handler,
			struct it_error *err)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	const union MHD_DaemonInfo *info;
	unsigned threads = opts->thread_count ? opts->thread_count : default_threads();
	unsigned limit = opts->connection_limit ? opts->connection_limit :
			 DEFAULT_CONNECTION_LIMIT;
	unsigned flags;
	char port[16];
	int gai, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", opts->port);
	gai = getaddrinfo(opts->address, port, &hints, &ai);
	if (gai)
		return it_error_set(err, IT_ERR_INVALID,
				    "cannot use address '%s': %s", opts->address,
				    gai_strerror(gai));
	/* ITC: needed to resume connections and to quiesce the listener. */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
		MHD_USE_ERROR_LOG;
	if (h->kind == KIND_API)
		flags |= MHD_ALLOW_SUSPEND_RESUME;
	else
		threads = 1;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	rc = opts->header_timeout_s ?
	     http_deadlines_start(opts->header_timeout_s, &h->deadlines, err) : 0;
	if (rc) {
		freeaddrinfo(ai);
		return rc;
	}
	{
		struct MHD_OptionItem o[] = {
			{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },
			{ MHD_OPTION_SOCK_ADDR, 0, ai->ai_addr },
			{ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)limit, NULL },
			/*
			 * An inactivity timeout: reset by every byte received or
			 * sent, so it closes silent and half-open clients but not
			 * a trickling one. Suspended connections (an infer
			 * waiting for its model) are exempt.
			 */
			{ MHD_OPTION_CONNECTION_TIMEOUT,
			  (intptr_t)opts->idle_timeout_s, NULL },
			{ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			  (intptr_t)CONNECTION_MEMORY_BYTES, NULL },
			{ MHD_OPTION_LISTEN_BACKLOG_SIZE, (intptr_t)LISTEN_BACKLOG, NULL },
			{ MHD_OPTION_NOTIFY_COMPLETED,
			  h->kind == KIND_API ? (intptr_t)on_completed :
			  (intptr_t)on_metrics_completed, h },
			{ MHD_OPTION_NOTIFY_CONNECTION,
			  h->deadlines ? (intptr_t)on_connection : 0, h },
			{ MHD_OPTION_URI_LOG_CALLBACK,
			  h->kind == KIND_API ? (intptr_t)on_uri : 0, h },
			/* A pool of one is no pool: MHD warns, so leave it out. */
			{ threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
			  (intptr_t)threads, NULL },
			{ MHD_OPTION_END, 0, NULL },
		};

		h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handler, h,
					     MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	}
	freeaddrinfo(ai);
	if (!h->daemon)
		return it_error_set(err, IT_ERR_IO,
				    "cannot listen on %s:%d (address in use, or not allowed)",
				    opts->address, opts->port);
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : opts->port;
	return 0;
}

int http_server_start(const struct http_server_options *opts,
		      struct models *models, struct http_server **out,
		      struct it_error *err)
{
	struct http_server *h = xcalloc(1, sizeof(*h));
	int rc;

	h->kind = KIND_API;
	h->models = models;
	h->max_input_bytes = opts->max_input_bytes;
	atomic_init(&h->stopping, false);
	atomic_init(&h->in_flight, 0);
	h->metadata = build_metadata(&h->metadata_len);
	rc = start_daemon(h, opts, on_request, err);
	if (rc) {
		http_server_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

int http_metrics_start(const struct http_server_options *opts,
		       struct models *models, struct collectors *collectors,
		       struct http_server **out, struct it_error *err)
{
	struct http_server *h = xcalloc(1, sizeof(*h));
	int rc;

	h->kind = KIND_METRICS;
	h->models = models;
	h->collectors = collectors;
	atomic_init(&h->stopping, false);
	atomic_init(&h->in_flight, 0);
	rc = start_daemon(h, opts, on_metrics, err);
	if (rc) {
		http_server_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

int http_server_port(const struct http_server *h)
{
	return h->port;
}

void http_server_quiesce(struct http_server *h)
{
	MHD_socket fd;

	if (!h || !h->daemon || atomic_exchange(&h->stopping, true))
		return;
	fd = MHD_quiesce_daemon(h->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

bool http_server_drain(struct http_server *h, unsigned timeout_ms)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };

	for (unsigned waited = 0; waited < timeout_ms; waited += 5) {
		if (atomic_load(&h->in_flight) <= 0)
			return true;
		nanosleep(&pause, NULL);
	}
	return atomic_load(&h->in_flight) <= 0;
}

void http_server_free(struct http_server *h)
{
	if (!h)
		return;
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	http_deadlines_free(h->deadlines);
	free(h->metadata);
	free(h);
}
