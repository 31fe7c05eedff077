/*
 * The strategy registry and the search handle: it enforces the
 * next/feed alternation so that a strategy never sees two outcomes for one
 * point, or an outcome for a point it did not propose, and it keeps back
 * the points that would oversubscribe the CPU (space.max_cpu_threads).
 */
#include "analyze/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

const struct search_ops *const search_registry[] = {
	&search_brute,
	&search_quick,
	&search_manual,
	&search_predictive,
	NULL,
};

struct search {
	const struct search_ops *ops;
	const struct search_space *space;
	void *state;
	bool awaiting;          /* a point was proposed and not fed yet */
	bool done;
	size_t proposed;
};

const struct search_ops *search_find(const char *name)
{
	for (size_t i = 0; search_registry[i]; i++) {
		if (!strcmp(search_registry[i]->name, name))
			return search_registry[i];
	}
	return NULL;
}

int search_new(const struct search_ops *ops, const struct search_space *space,
	       const struct objective_set *objectives, struct search **out,
	       struct it_error *err)
{
	struct search *s;
	void *state = NULL;
	int rc;

	if (space->min_instances < 1 || space->max_instances < space->min_instances)
		return it_error_set(err, IT_ERR_INVALID,
				    "instance count range %d..%d is empty",
				    space->min_instances, space->max_instances);
	if (space->batching &&
	    (space->min_mbs < 1 || space->max_mbs < space->min_mbs))
		return it_error_set(err, IT_ERR_INVALID,
				    "max_batch_size range %d..%d is empty",
				    space->min_mbs, space->max_mbs);
	rc = ops->start(space, objectives, &state, err);
	if (rc)
		return rc;
	s = xcalloc(1, sizeof(*s));
	s->ops = ops;
	s->space = space;
	s->state = state;
	*out = s;
	return 0;
}

/*
 * More intra-op threads in all instances than cores: on a CPU the instances
 * then take the cores from each other, and such a configuration measures
 * worse than one that fits (two ResNet-50 or BERT instances of two threads
 * on two cores lose half their throughput as soon as both are busy).
 */
static bool oversubscribed(const struct search_space *sp,
			   const struct search_point *p)
{
	int64_t inst;

	if (!sp->max_cpu_threads || p->is_default || !p->threads)
		return false;
	inst = p->instance_count ? p->instance_count : sp->default_instances;
	return inst * p->threads > sp->max_cpu_threads;
}

bool search_next(struct search *s, struct search_point *out)
{
	if (s->done || s->awaiting)
		return false;
	for (;;) {
		struct search_outcome none;

		memset(out, 0, sizeof(*out));
		out->manual = -1;
		if (!s->ops->next(s->state, out)) {
			s->done = true;
			return false;
		}
		if (!oversubscribed(s->space, out))
			break;
		/* Told as a configuration that gave nothing: strategies move on. */
		memset(&none, 0, sizeof(none));
		s->ops->feed(s->state, &none);
	}
	s->awaiting = true;
	s->proposed++;
	return true;
}

void search_feed(struct search *s, const struct search_outcome *outcome)
{
	if (!s->awaiting)
		return;
	s->awaiting = false;
	s->ops->feed(s->state, outcome);
}

size_t search_proposed(const struct search *s)
{
	return s->proposed;
}

size_t search_remaining(const struct search *s)
{
	size_t r;

	if (s->done)
		return 0;
	r = s->ops->remaining(s->state);
	/* The strategies count the point being measured; it is not to come. */
	if (s->awaiting && r)
		r--;
	return r;
}

const char *search_name(const struct search *s)
{
	return s->ops->name;
}

void search_free(struct search *s)
{
	if (!s)
		return;
	s->ops->free(s->state);
	free(s);
}

void search_point_label(const struct search_point *p, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (p->is_default) {
		n += (size_t)snprintf(buf + n, size - n, "default");
	} else {
		if (p->manual >= 0)
			n += (size_t)snprintf(buf + n, size - n, "manual=%ld", p->manual);
		if (p->instance_count && n < size)
			n += (size_t)snprintf(buf + n, size - n, "%sinstances=%d",
					      n ? " " : "", p->instance_count);
		if (p->threads && n < size)
			n += (size_t)snprintf(buf + n, size - n, "%sthreads=%d",
					      n ? " " : "", p->threads);
		if (p->max_batch_size && n < size)
			n += (size_t)snprintf(buf + n, size - n, "%smax_batch_size=%d",
					      n ? " " : "", p->max_batch_size);
		if (p->preferred_batch_size && n < size)
			n += (size_t)snprintf(buf + n, size - n, " preferred_batch_size=%d",
					      p->preferred_batch_size);
		if (p->queue_delay_us && n < size)
			n += (size_t)snprintf(buf + n, size - n, " queue_delay_us=%u",
					      p->queue_delay_us);
	}
	if (p->concurrency && n < size)
		snprintf(buf + n, size - n, " @concurrency=%llu",
			 (unsigned long long)p->concurrency);
	else if (p->request_rate > 0 && n < size)
		snprintf(buf + n, size - n, " @request_rate=%g", p->request_rate);
}

bool search_prediction(const struct search *s, struct search_prediction *out)
{
	return s->ops->prediction && s->awaiting && s->ops->prediction(s->state, out);
}

const char *search_note(const struct search *s)
{
	return s->ops->note ? s->ops->note(s->state) : "";
}
