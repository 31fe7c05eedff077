/*
 * Server assembly. Start-up order follows tritonserver: models load before
 * any port listens (so --exit-on-error can exit without ever having served),
 * then the API, then metrics. Shutdown runs it backwards with the one subtle
 * step in the middle: models are unloaded while the API listener still runs,
 * because unloading waits for every queued request, and their answers go out
 * through the listener's threads; only when those answers are sent may the
 * listener stop (MHD must not be stopped with suspended connections).
 */
#include "server/server.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "metrics/collector.h"
#include "server/http.h"
#include "util/log.h"
#include "server/models.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct server {
	struct server_options opts;
	char *address;
	struct models *models;
	struct collectors *collectors;
	struct http_server *api;
	struct http_server *metrics;
	bool stopped;
};

int server_new(const struct server_options *opts, struct server **out,
	       struct it_error *err)
{
	struct models_options mo = { 0 };
	struct server *s;
	int rc;

	if (!opts->n_repositories)
		return it_error_set(err, IT_ERR_INVALID,
				    "at least one model repository is required");
	s = xcalloc(1, sizeof(*s));
	s->opts = *opts;
	s->address = xstrdup(opts->http_address ? opts->http_address :
			     SERVER_DEFAULT_ADDRESS);
	s->opts.http_address = s->address;
	if (!s->opts.http_max_input_bytes)
		s->opts.http_max_input_bytes = SERVER_DEFAULT_MAX_INPUT_BYTES;
	if (!s->opts.exit_timeout_s)
		s->opts.exit_timeout_s = SERVER_DEFAULT_EXIT_TIMEOUT_S;
	if (!s->opts.http_idle_timeout_s)
		s->opts.http_idle_timeout_s = SERVER_DEFAULT_HTTP_IDLE_TIMEOUT_S;
	if (!s->opts.http_header_timeout_s)
		s->opts.http_header_timeout_s = SERVER_DEFAULT_HTTP_HEADER_TIMEOUT_S;
	/* The caller's arrays are only read now (models_new copies them). */
	s->opts.repositories = NULL;
	s->opts.load_models = NULL;
	mo.repositories = opts->repositories;
	mo.n_repositories = opts->n_repositories;
	mo.control_mode = opts->control_mode;
	mo.load_models = opts->load_models;
	mo.n_load_models = opts->n_load_models;
	rc = models_new(&mo, &s->models, err);
	if (rc) {
		server_free(s);
		return rc;
	}
	if (opts->allow_metrics) {
		const char *name, *why;
		bool available;

		s->collectors = collectors_open();
		for (size_t i = 0; collectors_status(s->collectors, i, &name,
						     &available, &why); i++) {
			if (available)
				log_info("metrics: %s collector available", name);
			else
				log_info("metrics: %s collector not available: %s",
					 name, why);
		}
	}
	*out = s;
	return 0;
}

size_t server_load_models(struct server *s)
{
	return models_load_startup(s->models);
}

struct models *server_models(struct server *s)
{
	return s->models;
}

/*
 * Each connection costs a descriptor: allow as many as the process may open,
 * keeping a few for models, logs and the listeners.
 */
static unsigned connection_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > 1000000)
		return 1000000;
	return rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
}

int server_start(struct server *s, struct it_error *err)
{
	struct http_server_options ho = { 0 };
	int rc;

	ho.address = s->address;
	ho.port = s->opts.http_port;
	ho.max_input_bytes = s->opts.http_max_input_bytes;
	ho.thread_count = s->opts.http_thread_count;
	ho.connection_limit = connection_limit();
	ho.idle_timeout_s = s->opts.http_idle_timeout_s;
	ho.header_timeout_s = s->opts.http_header_timeout_s;
	rc = http_server_start(&ho, s->models, &s->api, err);
	if (rc)
		return rc;
	log_info("Started HTTPService at %s:%d", s->address,
		 http_server_port(s->api));
	if (s->opts.allow_metrics) {
		ho.port = s->opts.metrics_port;
		rc = http_metrics_start(&ho, s->models, s->collectors,
					&s->metrics, err);
		if (rc)
			return rc;
		log_info("Started Metrics Service at %s:%d", s->address,
			 http_server_port(s->metrics));
	}
	return 0;
}

void server_ports(const struct server *s, int *http_port, int *metrics_port)
{
	*http_port = s->api ? http_server_port(s->api) : 0;
	*metrics_port = s->metrics ? http_server_port(s->metrics) : 0;
}

void server_stop(struct server *s)
{
	if (!s || s->stopped)
		return;
	s->stopped = true;
	http_server_quiesce(s->api);
	http_server_quiesce(s->metrics);
	/* Waits for every request that found a model; new ones get 503. */
	if (s->models)
		models_unload_all(s->models);
	if (s->api && !http_server_drain(s->api, s->opts.exit_timeout_s * 1000u))
		log_warning("some answers were still unsent after %u s; closing their connections",
			    s->opts.exit_timeout_s);
	http_server_free(s->api);
	s->api = NULL;
	http_server_free(s->metrics);
	s->metrics = NULL;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	server_stop(s);
	models_free(s->models);
	collectors_free(s->collectors);
	free(s->address);
	free(s);
}
