/*
 * The collector registry and the opened set. One lock serialises reads: the
 * procfs collector's utilisation is a delta against its previous read, so
 * two concurrent scrapes must not interleave.
 */
#include "metrics/collector.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

const struct collector_ops *const collector_registry[] = {
	&collector_procfs,
	&collector_rapl,
	&collector_nvml,
	NULL,
};

struct opened_collector {
	const struct collector_ops *ops;
	void *state;    /* NULL when not available */
	char *why;      /* reason it is not available, else NULL */
};

struct collectors {
	pthread_mutex_t lock;
	struct opened_collector *items;
	size_t n_items;
};

struct collectors *collectors_open(void)
{
	struct collectors *c = xcalloc(1, sizeof(*c));
	size_t n = 0;

	while (collector_registry[n])
		n++;
	pthread_mutex_init(&c->lock, NULL);
	c->items = xcalloc(n ? n : 1, sizeof(*c->items));
	c->n_items = n;
	for (size_t i = 0; i < n; i++) {
		struct opened_collector *o = &c->items[i];
		struct it_error err = { 0 };

		o->ops = collector_registry[i];
		if (o->ops->open(&o->state, &err)) {
			o->state = NULL;
			o->why = xstrdup(err.message[0] ? err.message : "not available");
		}
	}
	return c;
}

bool collectors_status(const struct collectors *c, size_t i,
		       const char **name, bool *available, const char **why)
{
	if (!c || i >= c->n_items)
		return false;
	*name = c->items[i].ops->name;
	*available = c->items[i].state != NULL;
	*why = c->items[i].why;
	return true;
}

int collectors_read(struct collectors *c, struct metrics_reading *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_items; i++) {
		struct opened_collector *o = &c->items[i];

		if (o->state)
			o->ops->read(o->state, out, NULL);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void collectors_free(struct collectors *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_items; i++) {
		if (c->items[i].state)
			c->items[i].ops->close(c->items[i].state);
		free(c->items[i].why);
	}
	free(c->items);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
