/*
 * The top tier, the cost order, the gain interval and the recommendation
 * sentence. Why a tier at all: on a noisy machine three configurations
 * that cannot differ (max_batch_size 1, 2 and 4 at concurrency 1) measured
 * 16.6, 15.0 and 14.3 infer/s, and Model Analyzer's strict order
 * recommended the largest batch on noise. The tests below only ever
 * remove a configuration from the tier when the data shows it worse, so a
 * configuration without the data for a test is judged by its value, as
 * Model Analyzer would.
 */
#include "analyze/tier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/config.h"
#include "stats/interval.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* ---- the window samples of a figure ---- */

enum window_value { WV_NONE, WV_THROUGHPUT, WV_LATENCY_AVG, WV_STABILIZING };

/* The percentile the measurement stabilized on ("percentile=99" in its profile key), or 0. */
static int stabilizing_percentile(const struct store_measurement *m)
{
	const char *p = strstr(m->profile_key, "percentile=");

	return p ? (int)strtol(p + strlen("percentile="), NULL, 10) : 0;
}

static int figure_percentile(enum figure f)
{
	switch (f) {
	case FIG_LATENCY_P50: return 50;
	case FIG_LATENCY_P90: return 90;
	case FIG_LATENCY_P95: return 95;
	case FIG_LATENCY_P99: return 99;
	default: return 0;
	}
}

/* Which window value samples figure f of a and b; WV_NONE when none does. */
static enum window_value window_value_of(enum figure f, const struct store_measurement *a,
					 const struct store_measurement *b)
{
	int p = figure_percentile(f);

	if (f == FIG_THROUGHPUT)
		return WV_THROUGHPUT;
	if (f == FIG_LATENCY_AVG)
		return WV_LATENCY_AVG;
	if (p && stabilizing_percentile(a) == p && (!b || stabilizing_percentile(b) == p))
		return WV_STABILIZING;
	return WV_NONE;
}

/* The merged windows' values of kind wv; caller frees. *n is how many. */
static double *window_values(const struct store_measurement *m, enum window_value wv,
			     size_t *n)
{
	double *x = xcalloc(m->n_windows + 1, sizeof(*x));

	*n = 0;
	for (size_t i = 0; i < m->n_windows; i++) {
		const struct store_window *w = &m->windows[i];

		if (!w->merged || !w->valid)
			continue;
		x[(*n)++] = wv == WV_THROUGHPUT ? (w->completion_rate > 0 ?
						   w->completion_rate : w->throughput) :
			    wv == WV_LATENCY_AVG ? w->latency_avg_ms : w->stabilizing_latency_ms;
	}
	return x;
}

/* Welch's test of a − b on their windows; false when either has fewer than 2. */
static bool windows_welch(const struct store_measurement *a, const struct store_measurement *b,
			  enum window_value wv, struct stats_two_sample *out, double *b_mean)
{
	size_t na = 0, nb = 0;
	double *xa, *xb;
	bool ok = false;

	if (wv == WV_NONE)
		return false;
	xa = window_values(a, wv, &na);
	xb = window_values(b, wv, &nb);
	if (na >= 2 && nb >= 2) {
		struct stats_interval iv;

		ok = stats_welch_test(xa, na, xb, nb, STATS_CONFIDENCE, out);
		stats_mean_interval(xb, nb, STATS_CONFIDENCE, b_mean, &iv);
	}
	free(xa);
	free(xb);
	return ok;
}

/* ---- the tier ---- */

/* Figure f of m significantly worse than best's (both have it). */
static bool figure_worse(enum figure f, const struct store_measurement *best,
			 const struct store_measurement *m)
{
	int dir = figure_table[f].direction;
	struct stats_two_sample t;
	double b_mean, mlo, mhi, blo, bhi;

	if (figure_percentile(f)) {
		figures_interval(&m->fig, f, &mlo, &mhi);
		figures_interval(&best->fig, f, &blo, &bhi);
		/* Less is better: worse when m's interval lies wholly above best's. */
		if (!isnan(mlo) && !isnan(bhi))
			return mlo > bhi * (1 + TIER_MARGIN);
	}
	if (windows_welch(m, best, window_value_of(f, m, best), &t, &b_mean) &&
	    stats_interval_known(&t.diff_ci)) {
		/* Centred on the reported figures, as the gain's interval (figure_gain_ci). */
		double half = (t.diff_ci.hi - t.diff_ci.lo) / 2;
		double d = m->fig.v[f] - best->fig.v[f];
		double margin = TIER_MARGIN * fabs(best->fig.v[f]);

		return dir > 0 ? d + half < -margin : d - half > margin;
	}
	return dir * (m->fig.v[f] - best->fig.v[f]) < -TIER_MARGIN * fabs(best->fig.v[f]);
}

bool tier_worse(const struct objective_set *o, const struct store_measurement *best,
		const struct store_measurement *m)
{
	for (size_t i = 0; i < o->n_obj; i++) {
		enum figure f = o->obj[i].fig;
		bool hb = figures_has(&best->fig, f), hm = figures_has(&m->fig, f);

		if (hb != hm)
			return hb;
		if (hb && figure_worse(f, best, m))
			return true;
	}
	return false;
}

/* The intra-op threads a CPU instance uses: its parameter, else 1. */
static double config_threads(const struct model_config *cfg)
{
	int32_t t = model_config_intra_op_threads(cfg);

	return t > 0 ? (double)t : 1;
}

void tier_cost_of(const char *config_pbtxt, const struct store_measurement *best,
		  unsigned gpu_count, struct tier_cost *out)
{
	static const enum figure memory[] = { FIG_GPU_USED_MEMORY, FIG_SERVER_RSS,
					      FIG_CPU_USED_RAM };
	struct model_config *cfg = model_config_parse(config_pbtxt, strlen(config_pbtxt),
						      "variant", NULL);

	memset(out, 0, sizeof(*out));
	out->resources = 1;
	if (cfg) {
		out->max_batch_size = cfg->max_batch_size;
		out->resources = cfg->n_instance_groups ? 0 : config_threads(cfg);
	}
	for (size_t i = 0; cfg && i < cfg->n_instance_groups; i++) {
		const struct model_instance_group *g = &cfg->instance_groups[i];
		double count = g->count ? g->count : 1;

		out->gpu = out->gpu || g->kind == INSTANCE_KIND_GPU;
		if (g->kind == INSTANCE_KIND_GPU)
			out->resources += count * (g->n_gpus ? (double)g->n_gpus :
						   gpu_count ? (double)gpu_count : 1);
		else
			out->resources += count * config_threads(cfg);
	}
	for (size_t i = 0; best && i < sizeof(memory) / sizeof(memory[0]) && !out->has_memory; i++) {
		out->has_memory = figures_has(&best->fig, memory[i]);
		out->memory_mb = figures_get(&best->fig, memory[i], 0);
	}
	model_config_free(cfg);
}

int tier_cost_compare(const struct tier_cost *a, const struct tier_cost *b,
		      enum tier_reason *why)
{
	enum tier_reason r = TIER_EQUAL_COST;
	int c = 0;

	if (a->resources != b->resources) {
		r = TIER_FEWER_RESOURCES;
		c = a->resources < b->resources ? -1 : 1;
	} else if (a->max_batch_size != b->max_batch_size) {
		r = TIER_SMALLER_BATCH;
		c = a->max_batch_size < b->max_batch_size ? -1 : 1;
	} else if (a->has_memory && b->has_memory &&
		   fabs(a->memory_mb - b->memory_mb) >
		   TIER_MEMORY_TOLERANCE * fmax(a->memory_mb, b->memory_mb)) {
		r = TIER_LESS_MEMORY;
		c = a->memory_mb < b->memory_mb ? -1 : 1;
	}
	if (why)
		*why = r;
	return c;
}

/* True when tier member b must come before a (cheaper; equal cost keeps the measured order). */
static bool cheaper(const struct tier_cost *cost, const struct rank_entry *a,
		    const struct rank_entry *b)
{
	int c = tier_cost_compare(&cost[b->input], &cost[a->input], NULL);

	return c < 0 || (c == 0 && b->measured_rank < a->measured_rank);
}

/* Marks the members of the tier of rk[0]; returns how many. */
static size_t mark_tier(const struct objective_set *o, const struct rank_input *in, size_t n,
			struct rank_entry *rk)
{
	const struct store_measurement *best;
	size_t count = 1;

	if (!n || rk[0].best < 0)
		return 0;
	best = &in[rk[0].input].ms[rk[0].best];
	rk[0].in_tier = true;
	for (size_t i = 1; i < n && rk[0].passes; i++) {
		const struct rank_entry *e = &rk[i];

		if (e->best < 0 || !e->passes)
			continue;
		rk[i].in_tier = !tier_worse(o, best, &in[e->input].ms[e->best]);
		count += rk[i].in_tier;
	}
	return count;
}

size_t tier_apply(const struct objective_set *o, const struct rank_input *in, size_t n,
		  const struct tier_cost *cost, struct rank_entry *rk,
		  enum tier_reason *why)
{
	struct rank_entry *out = xcalloc(n + 1, sizeof(*out));
	size_t n_tier = mark_tier(o, in, n, rk), k = 0;

	*why = TIER_ALONE;
	/* The tier in cost order (insertion: stable), then the others as ranked. */
	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (!rk[i].in_tier)
			continue;
		j = k++;
		while (j > 0 && cheaper(cost, &out[j - 1], &rk[i])) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = rk[i];
	}
	for (size_t i = 0; i < n; i++)
		if (!rk[i].in_tier)
			out[k++] = rk[i];
	if (n_tier > 1) {
		/* The reason is what set rank 1 apart from the runner-up in cost. */
		tier_cost_compare(&cost[out[0].input], &cost[out[1].input], why);
	}
	memcpy(rk, out, n * sizeof(*rk));
	free(out);
	return n_tier;
}

size_t tier_rank_choice(const struct store_measurement *ms, size_t n, bool use_interleaved,
			size_t *idx)
{
	size_t k = 0;

	for (size_t i = 0; use_interleaved && i < n; i++)
		if (ms[i].phase == PHASE_INTERLEAVED && measurement_valid(&ms[i])) {
			idx[0] = i;
			return 1;
		}
	for (size_t i = 0; i < n; i++)
		if (ms[i].phase == PHASE_SWEEP)
			idx[k++] = i;
	return k;
}

size_t tier_rank(const struct objective_set *o, const struct tier_variant *tv, size_t n,
		 bool use_interleaved, unsigned gpu_count, struct rank_entry *rk,
		 enum tier_reason *why, bool *gpu)
{
	struct rank_input *in = xcalloc(n ? n : 1, sizeof(*in));
	struct tier_cost *cost = xcalloc(n ? n : 1, sizeof(*cost));
	size_t **idx = xcalloc(n ? n : 1, sizeof(*idx)), n_tier;

	/* Shallow copies of the chosen measurements: rank_input wants an array. */
	for (size_t i = 0; i < n; i++) {
		struct store_measurement *copy = xcalloc(tv[i].n ? tv[i].n : 1, sizeof(*copy));

		idx[i] = xcalloc(tv[i].n ? tv[i].n : 1, sizeof(**idx));
		in[i].variant_id = tv[i].variant_id;
		in[i].n = tier_rank_choice(tv[i].ms, tv[i].n, use_interleaved, idx[i]);
		for (size_t k = 0; k < in[i].n; k++)
			copy[k] = tv[i].ms[idx[i][k]];
		in[i].ms = copy;
	}
	objective_rank(o, in, n, rk);
	for (size_t i = 0; i < n; i++)
		tier_cost_of(tv[rk[i].input].config_pbtxt,
			     rk[i].best >= 0 ? &in[rk[i].input].ms[rk[i].best] : NULL, gpu_count,
			     &cost[rk[i].input]);
	n_tier = tier_apply(o, in, n, cost, rk, why);
	*gpu = n && cost[rk[0].input].gpu;
	for (size_t i = 0; i < n; i++)
		if (rk[i].best >= 0)
			rk[i].best = (long)idx[rk[i].input][rk[i].best];
	for (size_t i = 0; i < n; i++) {
		free((void *)in[i].ms);
		free(idx[i]);
	}
	free(idx);
	free(in);
	free(cost);
	return n_tier;
}

/* ---- the gain over the default ---- */

/* Figure f's gain interval, % of base (sign-corrected); false when none. */
static bool figure_gain_ci(enum figure f, const struct store_measurement *base,
			   const struct store_measurement *m, double *lo, double *hi)
{
	int dir = figure_table[f].direction;
	struct stats_two_sample t;
	double b_mean, d_lo, d_hi, mlo, mhi, blo, bhi, denom;

	if (windows_welch(m, base, window_value_of(f, m, base), &t, &b_mean) &&
	    stats_interval_known(&t.diff_ci) && base->fig.v[f] != 0) {
		/*
		 * Welch's half-width around the reported figures' difference:
		 * the windows' completion rates and the reported throughput
		 * (perf_analyzer's count over time) differ by the edges' one
		 * request, several percent on a slow model, and the gain shown
		 * must lie inside its interval.
		 */
		double half = (t.diff_ci.hi - t.diff_ci.lo) / 2;
		double d = m->fig.v[f] - base->fig.v[f];

		d_lo = d - half;
		d_hi = d + half;
		denom = base->fig.v[f];
	} else if (figures_interval(&m->fig, f, &mlo, &mhi) &&
		   figures_interval(&base->fig, f, &blo, &bhi) && base->fig.v[f] != 0) {
		d_lo = mlo - bhi;
		d_hi = mhi - blo;
		denom = base->fig.v[f];
	} else {
		return false;
	}
	*lo = (dir > 0 ? d_lo : -d_hi) / fabs(denom) * 100;
	*hi = (dir > 0 ? d_hi : -d_lo) / fabs(denom) * 100;
	return true;
}

void tier_gain(const struct objective_set *o, const struct store_measurement *base,
	       const struct store_measurement *m, bool tied, struct tier_gain *out)
{
	memset(out, 0, sizeof(*out));
	out->pct = objective_gain_pct(o, &base->fig, &m->fig, &out->has);
	out->has_ci = out->has;
	for (size_t i = 0; i < o->n_obj && out->has_ci; i++) {
		enum figure f = o->obj[i].fig;
		double lo, hi;

		if (!figures_has(&base->fig, f) || !figures_has(&m->fig, f))
			continue;
		if (!figure_gain_ci(f, base, m, &lo, &hi)) {
			out->has_ci = false;
			break;
		}
		out->lo_pct += o->obj[i].weight * lo;
		out->hi_pct += o->obj[i].weight * hi;
	}
	if (!out->has_ci)
		out->lo_pct = out->hi_pct = NAN;
	out->significant = out->has && (out->has_ci ? out->lo_pct > TIER_MARGIN * 100 :
					 !tied && out->pct > TIER_MARGIN * 100);
}

/* ---- borderline constraints ---- */

/* The interval of figure f of m; false when it has none. Unknown bounds are ±inf. */
static bool constraint_interval(const struct store_measurement *m, enum figure f,
				double *lo, double *hi)
{
	enum window_value wv = window_value_of(f, m, NULL);

	figures_interval(&m->fig, f, lo, hi);
	if (isnan(*lo) && isnan(*hi) && (wv == WV_THROUGHPUT || wv == WV_LATENCY_AVG)) {
		struct stats_interval iv;
		size_t n = 0;
		double mean, *x = window_values(m, wv, &n);

		if (stats_mean_interval(x, n, STATS_CONFIDENCE, &mean, &iv)) {
			*lo = iv.lo;
			*hi = iv.hi;
		}
		free(x);
	}
	if (isnan(*lo) && isnan(*hi))
		return false;
	if (isnan(*lo))
		*lo = -INFINITY;
	if (isnan(*hi))
		*hi = INFINITY;
	return true;
}

void tier_borderline(const struct objective_set *o, const struct store_measurement *m,
		     char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < o->n_con; i++) {
		const struct constraint *c = &o->con[i];
		double lo, hi;
		bool straddles;

		if (!figures_has(&m->fig, c->fig) || !constraint_interval(m, c->fig, &lo, &hi))
			continue;
		straddles = (c->has_max && lo <= c->max && c->max <= hi) ||
			    (c->has_min && lo <= c->min && c->min <= hi);
		if (straddles && used < size)
			used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
						 figure_table[c->fig].tag);
	}
}

/* ---- the sentence ---- */

static const char *reason_text(enum tier_reason r, bool gpu)
{
	switch (r) {
	case TIER_FEWER_RESOURCES:
		return gpu ? "the fewest GPU instances" : "the fewest instances × threads";
	case TIER_SMALLER_BATCH:
		return "the smallest batch and the same resources";
	case TIER_LESS_MEMORY:
		return "the least memory at the same resources and batch";
	default:
		return "equal cost: the best measured";
	}
}

/* "A", "A and B", "A, B and C". */
static void name_list(const char *const *names, size_t n, struct strbuf *sb)
{
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", names[i]);
}

static void gain_sentence(const struct tier_summary *s, struct strbuf *sb)
{
	const struct tier_gain *g = &s->gain;

	if (!s->has_default || s->recommended_is_default || !g->has)
		return;
	if (g->significant)
		strbuf_addf(sb, " It is %.1f%% better than the default configuration", g->pct);
	else
		strbuf_addf(sb, " No significant gain over the default configuration: %+.1f%%",
			    g->pct);
	if (g->side_by_side)
		strbuf_adds(sb, ", measured side by side");
	if (g->has_ci)
		strbuf_addf(sb, " (95%% interval %+.1f%% to %+.1f%%).", g->lo_pct, g->hi_pct);
	else
		strbuf_adds(sb, " (no interval: too few windows).");
}

void tier_sentence(const struct tier_summary *s, struct strbuf *sb)
{
	const char *rec = s->n_tier ? s->names[0] : "";

	if (!s->n_tier)
		return;
	if (s->n_tier > 1) {
		name_list(s->names, s->n_tier, sb);
		strbuf_addf(sb, " are equal within measurement noise; recommending %s", rec);
		if (s->recommended_is_default)
			strbuf_adds(sb, ", the default configuration, as good as anything measured");
		strbuf_addf(sb, ": %s.", reason_text(s->reason, s->gpu));
	} else if (!s->passes) {
		strbuf_addf(sb, "Recommending %s: the least violation of the constraints, which no "
			    "configuration meets.", rec);
	} else if (s->n_ranked == 1) {
		strbuf_addf(sb, "Recommending %s: the only configuration measured.", rec);
	} else if (s->recommended_is_default) {
		strbuf_addf(sb, "Recommending %s: the default configuration is the best measured.",
			    rec);
	} else {
		strbuf_addf(sb, "Recommending %s: better than every other configuration beyond "
			    "measurement noise.", rec);
	}
	gain_sentence(s, sb);
	if (s->borderline && *s->borderline)
		strbuf_addf(sb, " Borderline (the 95%% interval straddles a constraint's limit): %s.",
			    s->borderline);
}
