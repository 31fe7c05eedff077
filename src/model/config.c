/*
 * ModelConfig: parse, check, view, edit, print. The canonical tree (see
 * model/schema) is the only state; the typed view in struct model_config is
 * rebuilt from it by build_view(), which is also where Triton's semantic
 * checks live (core: model_config_utils.cc ValidateModelConfig and
 * ValidateIOShape), each reported at the position of the node at fault.
 */
#include "model/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/schema.h"
#include "pbtxt/pbtxt.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define CONFIG_MAX_FILE_BYTES ((size_t)16 << 20)

/* Every array behind the typed view, freed together when the view is rebuilt. */
struct view_storage {
	void **blocks;
	size_t n_blocks;
	size_t alloc_blocks;
};

static void *view_alloc(struct view_storage *vs, size_t n, size_t size)
{
	void *p = xcalloc(n, size);

	XGROW(vs->blocks, vs->alloc_blocks, vs->n_blocks + 1);
	vs->blocks[vs->n_blocks++] = p;
	return p;
}

static void view_storage_free(struct view_storage *vs)
{
	if (!vs)
		return;
	for (size_t i = 0; i < vs->n_blocks; i++)
		free(vs->blocks[i]);
	free(vs->blocks);
	free(vs);
}

/*
 * Tree readers. They run on a normalised tree, where integers are decimal,
 * bools are true/false and enums are names, so they cannot fail.
 */
static const char *str_field(const struct pbtxt_node *msg, const char *name)
{
	const struct pbtxt_node *n = pbtxt_node_find(msg, name);

	return n ? n->value : "";
}

static int64_t i64_value(const struct pbtxt_node *n)
{
	return strtoll(n->value, NULL, 10);
}

static uint64_t u64_value(const struct pbtxt_node *n)
{
	return strtoull(n->value, NULL, 10);
}

static int64_t i64_field(const struct pbtxt_node *msg, const char *name)
{
	const struct pbtxt_node *n = pbtxt_node_find(msg, name);

	return n ? i64_value(n) : 0;
}

static uint64_t u64_field(const struct pbtxt_node *msg, const char *name)
{
	const struct pbtxt_node *n = pbtxt_node_find(msg, name);

	return n ? u64_value(n) : 0;
}

static bool bool_field(const struct pbtxt_node *msg, const char *name)
{
	const struct pbtxt_node *n = pbtxt_node_find(msg, name);

	return n && !strcmp(n->value, "true");
}

/* Enum number of a field holding an enum name, via the schema descriptor. */
static int enum_field(const struct pbtxt_node *msg,
		      const struct pb_message *desc, const char *name)
{
	const struct pbtxt_node *n = pbtxt_node_find(msg, name);
	const struct pb_field *f = pb_message_field(desc, name, false);
	const struct pb_enum_value *v;

	if (!n || !f || !f->enum_type)
		return 0;
	v = pb_enum_by_name(f->enum_type, n->value, false);
	return v ? v->number : 0;
}

static const struct pb_message *field_message(const struct pb_message *desc,
					      const char *name)
{
	const struct pb_field *f = pb_message_field(desc, name, false);

	return f ? f->message : NULL;
}

static int64_t *collect_i64(struct view_storage *vs,
			    const struct pbtxt_node *msg, const char *name,
			    size_t *n_out)
{
	size_t n = pbtxt_node_count(msg, name);
	int64_t *v = view_alloc(vs, n, sizeof(*v));
	size_t k = 0;

	for (size_t i = 0; i < msg->n_children; i++)
		if (!strcmp(msg->children[i]->name, name))
			v[k++] = i64_value(msg->children[i]);
	*n_out = n;
	return v;
}

static int32_t *collect_i32(struct view_storage *vs,
			    const struct pbtxt_node *msg, const char *name,
			    size_t *n_out)
{
	size_t n = pbtxt_node_count(msg, name);
	int32_t *v = view_alloc(vs, n, sizeof(*v));
	size_t k = 0;

	for (size_t i = 0; i < msg->n_children; i++)
		if (!strcmp(msg->children[i]->name, name))
			v[k++] = (int32_t)i64_value(msg->children[i]);
	*n_out = n;
	return v;
}

/*
 * Where to point at a message node: its '{' when it is one element of a list
 * (`input [ {...}, {...} ]` gives every element the field name's position),
 * else its field name. JSON-built nodes have no position (line 0).
 */
static int node_line(const struct pbtxt_node *n)
{
	return n->list_line && n->value_line ? n->value_line : n->line;
}

static int node_col(const struct pbtxt_node *n)
{
	return n->list_line && n->value_line ? n->value_col : n->col;
}

#define NODE_ERR(cfg, err, node, ...)                                        \
	it_error_at((err), IT_ERR_INVALID, (cfg)->source, node_line(node),   \
		    node_col(node), __VA_ARGS__)

static int check_dims(const struct model_config *cfg,
		      const struct pbtxt_node *tensor, const char *what,
		      const char *field, struct it_error *err)
{
	for (size_t i = 0; i < tensor->n_children; i++) {
		const struct pbtxt_node *d = tensor->children[i];
		int64_t v;

		if (strcmp(d->name, field))
			continue;
		v = i64_value(d);
		if (v < 1 && v != -1)
			return it_error_at(err, IT_ERR_INVALID, cfg->source,
					   d->value_line, d->value_col,
					   "%s: %s must be integers >= 1, or -1 for a variable-size dimension (found %" PRId64 ")",
					   what, field, v);
	}
	return 0;
}

/* Element count of a shape, or -1 when a dimension is variable. */
static int64_t element_count(const int64_t *dims, size_t n)
{
	int64_t count = 1;

	for (size_t i = 0; i < n; i++) {
		if (dims[i] < 0)
			return -1;
		if (dims[i] && count > INT64_MAX / dims[i])
			return INT64_MAX;
		count *= dims[i];
	}
	return count;
}

static int view_tensor(struct model_config *cfg, struct view_storage *vs,
		       const struct pbtxt_node *node, bool is_input,
		       struct model_tensor *t, struct it_error *err)
{
	const struct pb_message *desc =
		field_message(&pb_ModelConfig, is_input ? "input" : "output");
	const char *kind = is_input ? "input" : "output";
	const struct pbtxt_node *reshape = pbtxt_node_find(node, "reshape");
	char what[160];
	int rc;

	t->name = str_field(node, "name");
	t->data_type = (enum datatype)enum_field(node, desc, "data_type");
	t->format = (enum tensor_format)enum_field(node, desc, "format");
	t->dims = collect_i64(vs, node, "dims", &t->n_dims);
	t->has_reshape = reshape != NULL;
	if (reshape)
		t->reshape = collect_i64(vs, reshape, "shape", &t->n_reshape);
	t->optional = bool_field(node, "optional");
	t->is_shape_tensor = bool_field(node, "is_shape_tensor");
	t->allow_ragged_batch = bool_field(node, "allow_ragged_batch");
	t->line = node_line(node);
	t->col = node_col(node);

	if (!t->name[0])
		return NODE_ERR(cfg, err, node, "%s must specify 'name'", kind);
	snprintf(what, sizeof(what), "%s '%s'", kind, t->name);
	if (t->data_type == DATATYPE_INVALID)
		return NODE_ERR(cfg, err, node, "%s must specify 'data_type'",
				what);
	if (!t->n_dims)
		return NODE_ERR(cfg, err, node, "%s must specify 'dims'", what);
	rc = check_dims(cfg, node, what, "dims", err);
	if (rc)
		return rc;
	if (reshape) {
		int64_t a, b;

		if (!t->n_reshape && cfg->max_batch_size == 0)
			return NODE_ERR(cfg, err, reshape,
					"%s cannot have an empty reshape in a non-batching model (max_batch_size 0)",
					what);
		rc = check_dims(cfg, reshape, what, "shape", err);
		if (rc)
			return rc;
		a = element_count(t->dims, t->n_dims);
		b = element_count(t->reshape, t->n_reshape);
		/* An empty reshape stands for a dims of element count 1. */
		if (a >= 0 && b >= 0 && a != b && !(t->n_reshape == 0 && a == 1))
			return NODE_ERR(cfg, err, reshape,
					"%s has %" PRId64 " elements in 'dims' but %" PRId64 " in 'reshape'",
					what, a, b);
	}
	return 0;
}

static int view_tensors(struct model_config *cfg, struct view_storage *vs,
			bool is_input, struct it_error *err)
{
	const char *field = is_input ? "input" : "output";
	size_t n = pbtxt_node_count(cfg->tree, field);
	struct model_tensor *ts = view_alloc(vs, n, sizeof(*ts));
	size_t k = 0;
	int rc;

	for (size_t i = 0; i < cfg->tree->n_children; i++) {
		const struct pbtxt_node *node = cfg->tree->children[i];

		if (strcmp(node->name, field))
			continue;
		rc = view_tensor(cfg, vs, node, is_input, &ts[k], err);
		if (rc)
			return rc;
		for (size_t j = 0; j < k; j++)
			if (!strcmp(ts[j].name, ts[k].name))
				return NODE_ERR(cfg, err, node,
						"%s name '%s' is used twice (first at %d:%d)",
						field, ts[k].name, ts[j].line,
						ts[j].col);
		k++;
	}
	if (is_input) {
		cfg->inputs = ts;
		cfg->n_inputs = n;
	} else {
		cfg->outputs = ts;
		cfg->n_outputs = n;
	}
	return 0;
}

static int view_instance_groups(struct model_config *cfg,
				struct view_storage *vs, struct it_error *err)
{
	const struct pb_message *desc =
		field_message(&pb_ModelConfig, "instance_group");
	size_t n = pbtxt_node_count(cfg->tree, "instance_group");
	struct model_instance_group *gs = view_alloc(vs, n, sizeof(*gs));
	size_t k = 0;

	for (size_t i = 0; i < cfg->tree->n_children; i++) {
		const struct pbtxt_node *node = cfg->tree->children[i];
		const struct pbtxt_node *count;
		struct model_instance_group *g = &gs[k];

		if (strcmp(node->name, "instance_group"))
			continue;
		g->name = str_field(node, "name");
		g->kind = (enum instance_kind)enum_field(node, desc, "kind");
		g->gpus = collect_i32(vs, node, "gpus", &g->n_gpus);
		g->line = node_line(node);
		g->col = node_col(node);
		count = pbtxt_node_find(node, "count");
		/* Triton: "Default is 1"; it turns an unset count into 1. */
		g->count = count ? (int32_t)i64_value(count) : 1;
		if (g->count < 1)
			return it_error_at(err, IT_ERR_INVALID, cfg->source,
					   count->value_line, count->value_col,
					   "instance_group %zu: count must be >= 1 (found %d)",
					   k, (int)g->count);
		if ((g->kind == INSTANCE_KIND_CPU ||
		     g->kind == INSTANCE_KIND_MODEL) && g->n_gpus)
			return NODE_ERR(cfg, err, node,
					"instance_group %zu has kind %s but lists GPUs; 'gpus' is only valid with KIND_GPU or KIND_AUTO",
					k, instance_kind_name(g->kind));
		for (size_t j = 0; j < node->n_children; j++) {
			const struct pbtxt_node *gpu = node->children[j];

			if (!strcmp(gpu->name, "gpus") && i64_value(gpu) < 0)
				return it_error_at(err, IT_ERR_INVALID, cfg->source,
						   gpu->value_line, gpu->value_col,
						   "instance_group %zu: GPU id %lld is negative",
						   k, (long long)i64_value(gpu));
		}
		k++;
	}
	cfg->instance_groups = gs;
	cfg->n_instance_groups = n;
	return 0;
}

static void view_queue_policy(const struct pbtxt_node *node,
			      struct model_queue_policy *p)
{
	p->timeout_action = strcmp(str_field(node, "timeout_action"), "DELAY") ? 0 : 1;
	p->default_timeout_us = u64_field(node, "default_timeout_microseconds");
	p->allow_timeout_override = bool_field(node, "allow_timeout_override");
	p->max_queue_size = (uint32_t)u64_field(node, "max_queue_size");
}

static int view_dynamic_batching(struct model_config *cfg,
				 struct view_storage *vs,
				 const struct pbtxt_node *node,
				 struct it_error *err)
{
	struct model_dynamic_batching *db = &cfg->dynamic_batching;
	const struct pbtxt_node *dqp = pbtxt_node_find(node, "default_queue_policy");
	struct model_priority_queue_policy *pq;
	size_t n_pq = pbtxt_node_count(node, "priority_queue_policy");
	size_t k = 0;

	cfg->has_dynamic_batching = true;
	db->preferred_batch_size = collect_i32(vs, node, "preferred_batch_size",
					       &db->n_preferred_batch_size);
	db->max_queue_delay_us = u64_field(node, "max_queue_delay_microseconds");
	db->preserve_ordering = bool_field(node, "preserve_ordering");
	db->priority_levels = u64_field(node, "priority_levels");
	db->default_priority_level = u64_field(node, "default_priority_level");
	db->has_default_queue_policy = dqp != NULL;
	if (dqp)
		view_queue_policy(dqp, &db->default_queue_policy);
	pq = view_alloc(vs, n_pq, sizeof(*pq));
	for (size_t i = 0; i < node->n_children; i++) {
		const struct pbtxt_node *e = node->children[i];
		const struct pbtxt_node *value;

		if (strcmp(e->name, "priority_queue_policy"))
			continue;
		pq[k].priority_level = u64_field(e, "key");
		value = pbtxt_node_find(e, "value");
		if (value)
			view_queue_policy(value, &pq[k].policy);
		k++;
	}
	db->priority_queue_policy = pq;
	db->n_priority_queue_policy = n_pq;

	if (cfg->max_batch_size <= 0)
		return NODE_ERR(cfg, err, node,
				"dynamic_batching needs max_batch_size > 0 (found %d)",
				(int)cfg->max_batch_size);
	for (size_t i = 0; i < node->n_children; i++) {
		const struct pbtxt_node *p = node->children[i];
		int64_t v;

		if (strcmp(p->name, "preferred_batch_size"))
			continue;
		v = i64_value(p);
		if (v <= 0 || v > cfg->max_batch_size)
			return it_error_at(err, IT_ERR_INVALID, cfg->source,
					   p->value_line, p->value_col,
					   "dynamic_batching: preferred_batch_size %" PRId64 " must be between 1 and max_batch_size (%d)",
					   v, (int)cfg->max_batch_size);
	}
	if (db->priority_levels && db->default_priority_level > db->priority_levels)
		return NODE_ERR(cfg, err, node,
				"dynamic_batching: default_priority_level %" PRIu64 " is above priority_levels %" PRIu64,
				db->default_priority_level, db->priority_levels);
	return 0;
}

static void view_version_policy(struct model_config *cfg,
				struct view_storage *vs)
{
	const struct pbtxt_node *vp = pbtxt_node_find(cfg->tree, "version_policy");
	struct model_version_policy *p = &cfg->version_policy;
	const struct pbtxt_node *choice;

	p->kind = VERSION_POLICY_LATEST;
	p->latest_num_versions = 1;
	if (!vp)
		return;
	choice = pbtxt_node_find(vp, "specific");
	if (pbtxt_node_find(vp, "all")) {
		p->kind = VERSION_POLICY_ALL;
	} else if (choice) {
		p->kind = VERSION_POLICY_SPECIFIC;
		p->versions = collect_i64(vs, choice, "versions", &p->n_versions);
	} else {
		choice = pbtxt_node_find(vp, "latest");
		if (choice)
			p->latest_num_versions =
				(uint32_t)u64_field(choice, "num_versions");
	}
}

static void view_parameters(struct model_config *cfg, struct view_storage *vs)
{
	size_t n = pbtxt_node_count(cfg->tree, "parameters");
	struct model_parameter *ps = view_alloc(vs, n, sizeof(*ps));
	size_t k = 0;

	for (size_t i = 0; i < cfg->tree->n_children; i++) {
		const struct pbtxt_node *e = cfg->tree->children[i];
		const struct pbtxt_node *value;

		if (strcmp(e->name, "parameters"))
			continue;
		ps[k].key = str_field(e, "key");
		value = pbtxt_node_find(e, "value");
		ps[k].value = value ? str_field(value, "string_value") : "";
		k++;
	}
	cfg->parameters = ps;
	cfg->n_parameters = n;
}

static void view_clear(struct model_config *cfg)
{
	view_storage_free(cfg->view_storage);
	cfg->view_storage = NULL;
	cfg->name = cfg->platform = cfg->backend = cfg->runtime = "";
	cfg->default_model_filename = "";
	cfg->max_batch_size = 0;
	memset(&cfg->version_policy, 0, sizeof(cfg->version_policy));
	cfg->inputs = cfg->outputs = NULL;
	cfg->n_inputs = cfg->n_outputs = 0;
	cfg->instance_groups = NULL;
	cfg->n_instance_groups = 0;
	cfg->has_dynamic_batching = false;
	memset(&cfg->dynamic_batching, 0, sizeof(cfg->dynamic_batching));
	cfg->has_sequence_batching = cfg->has_ensemble_scheduling = false;
	cfg->decoupled = false;
	cfg->parameters = NULL;
	cfg->n_parameters = 0;
}

/* Rebuilds the typed view from cfg->tree and runs the semantic checks. */
static int build_view(struct model_config *cfg, struct it_error *err)
{
	struct view_storage *vs = xcalloc(1, sizeof(*vs));
	const struct pbtxt_node *t;
	const struct pbtxt_node *mbs;
	int rc;

	view_clear(cfg);
	cfg->view_storage = vs;
	t = cfg->tree;
	cfg->name = str_field(t, "name");
	cfg->platform = str_field(t, "platform");
	cfg->backend = str_field(t, "backend");
	cfg->runtime = str_field(t, "runtime");
	cfg->default_model_filename = str_field(t, "default_model_filename");
	if (cfg->default_model_filename[0]) {
		/* Joined to the version folder by backends: never a path out of it. */
		const struct pbtxt_node *f = pbtxt_node_find(t, "default_model_filename");
		struct it_error e = { 0 };

		if (fs_check_component(cfg->default_model_filename,
				       "default_model_filename", &e))
			return it_error_at(err, e.code, cfg->source, f->value_line,
					   f->value_col, "%s", e.message);
	}
	mbs = pbtxt_node_find(t, "max_batch_size");
	cfg->max_batch_size = (int32_t)i64_field(t, "max_batch_size");
	if (cfg->max_batch_size < 0)
		return it_error_at(err, IT_ERR_INVALID, cfg->source,
				   mbs->value_line, mbs->value_col,
				   "max_batch_size must be >= 0 (found %d)",
				   (int)cfg->max_batch_size);
	view_version_policy(cfg, vs);
	rc = view_tensors(cfg, vs, true, err);
	if (rc)
		return rc;
	rc = view_tensors(cfg, vs, false, err);
	if (rc)
		return rc;
	rc = view_instance_groups(cfg, vs, err);
	if (rc)
		return rc;
	cfg->has_sequence_batching = pbtxt_node_find(t, "sequence_batching") != NULL;
	cfg->has_ensemble_scheduling = pbtxt_node_find(t, "ensemble_scheduling") != NULL;
	t = pbtxt_node_find(cfg->tree, "model_transaction_policy");
	cfg->decoupled = t && bool_field(t, "decoupled");
	view_parameters(cfg, vs);
	t = pbtxt_node_find(cfg->tree, "dynamic_batching");
	if (t) {
		rc = view_dynamic_batching(cfg, vs, t, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Takes ownership of tree (freed on failure). */
static struct model_config *config_from_tree(struct pbtxt_node *tree,
					     const char *source,
					     struct it_error *err)
{
	struct model_config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->tree = tree;
	cfg->source = xstrdup(source ? source : "config");
	if (build_view(cfg, err)) {
		model_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct model_config *model_config_parse(const char *text, size_t len,
					const char *filename,
					struct it_error *err)
{
	struct pbtxt_node *tree = pbtxt_parse(text, len, filename, err);

	if (!tree)
		return NULL;
	if (schema_normalize(tree, &pb_ModelConfig, filename, err)) {
		pbtxt_node_free(tree);
		return NULL;
	}
	return config_from_tree(tree, filename, err);
}

struct model_config *model_config_load_file(const char *path,
					    struct it_error *err)
{
	struct model_config *cfg = NULL;
	char *text = NULL;
	size_t len = 0;

	if (fs_read_file(path, CONFIG_MAX_FILE_BYTES, &text, &len, err))
		goto out;
	cfg = model_config_parse(text, len, path, err);
out:
	free(text);
	return cfg;
}

struct model_config *model_config_from_json(const json_t *json,
					    const char *what,
					    struct it_error *err)
{
	struct pbtxt_node *tree = schema_from_json(json, &pb_ModelConfig, what, err);

	if (!tree)
		return NULL;
	return config_from_tree(tree, what, err);
}

struct model_config *model_config_from_json_text(const char *text, size_t len,
						 const char *what,
						 struct it_error *err)
{
	struct model_config *cfg;
	json_error_t jerr;
	json_t *json;

	/* Protobuf strings may hold NUL bytes; the schema keeps their lengths. */
	json = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!json) {
		/*
		 * jansson's column is that of the last character read, 0 when
		 * the fault is the end of the text at the start of a line: the
		 * position is then column 1 of that line.
		 */
		it_error_at(err, IT_ERR_PARSE, what, jerr.line,
			    jerr.column > 0 ? jerr.column : 1,
			    "invalid JSON: %s", jerr.text);
		return NULL;
	}
	cfg = model_config_from_json(json, what, err);
	json_decref(json);
	return cfg;
}

json_t *model_config_to_json(const struct model_config *cfg, unsigned flags)
{
	return schema_to_json(cfg->tree, &pb_ModelConfig, flags);
}

int model_config_print(const struct model_config *cfg, struct strbuf *out)
{
	return pbtxt_print(cfg->tree, out);
}

int model_config_write_file(const struct model_config *cfg, const char *path,
			    struct it_error *err)
{
	struct strbuf sb;
	int rc;

	strbuf_init(&sb, 0);
	rc = model_config_print(cfg, &sb);
	if (rc) {
		it_error_at(err, rc, path, 0, 0, "config too large to print");
		goto out;
	}
	rc = fs_write_file_atomic(path, sb.buf, sb.len, err);
out:
	strbuf_release(&sb);
	return rc;
}

struct model_config *model_config_clone(const struct model_config *cfg)
{
	struct model_config *copy = xcalloc(1, sizeof(*copy));

	copy->tree = pbtxt_node_clone(cfg->tree);
	copy->source = xstrdup(cfg->source);
	/* The tree was valid in cfg, so its copy is valid too. */
	if (build_view(copy, NULL)) {
		model_config_free(copy);
		return NULL;
	}
	return copy;
}

void model_config_free(struct model_config *cfg)
{
	if (!cfg)
		return;
	view_storage_free(cfg->view_storage);
	pbtxt_node_free(cfg->tree);
	free(cfg->source);
	free(cfg);
}

bool model_config_equal(const struct model_config *a,
			const struct model_config *b)
{
	return pbtxt_node_equal(a->tree, b->tree);
}

const char *model_config_unsupported(const struct model_config *cfg)
{
	if (cfg->has_sequence_batching)
		return "sequence_batching";
	if (cfg->has_ensemble_scheduling)
		return "ensemble_scheduling";
	if (cfg->decoupled)
		return "model_transaction_policy.decoupled";
	return NULL;
}

const char *model_config_parameter(const struct model_config *cfg,
				   const char *key)
{
	for (size_t i = 0; i < cfg->n_parameters; i++)
		if (!strcmp(cfg->parameters[i].key, key))
			return cfg->parameters[i].value;
	return NULL;
}

int32_t model_config_intra_op_threads(const struct model_config *cfg)
{
	const char *v = model_config_parameter(cfg, "INTRA_OP_THREAD_COUNT");
	char *end;
	long t;

	if (!v)
		v = model_config_parameter(cfg, "NUM_THREADS");
	if (!v)
		return 0;
	errno = 0;
	t = strtol(v, &end, 10);
	return !errno && end != v && !*end && t > 0 && t <= INT32_MAX ? (int32_t)t : 0;
}

const char *instance_kind_name(enum instance_kind kind)
{
	switch (kind) {
	case INSTANCE_KIND_AUTO: return "KIND_AUTO";
	case INSTANCE_KIND_GPU: return "KIND_GPU";
	case INSTANCE_KIND_CPU: return "KIND_CPU";
	case INSTANCE_KIND_MODEL: return "KIND_MODEL";
	}
	return "KIND_AUTO";
}

/*
 * Edits. Each works on a copy of the tree, renormalises it (new nodes go
 * to their field-number place, defaults drop out) and rebuilds the view; on
 * any failure the old tree and view come back.
 */
static int edit_commit(struct model_config *cfg, struct pbtxt_node *old,
		       struct it_error *err)
{
	int rc = schema_normalize(cfg->tree, &pb_ModelConfig, cfg->source, err);

	if (!rc)
		rc = build_view(cfg, err);
	if (rc) {
		pbtxt_node_free(cfg->tree);
		cfg->tree = old;
		build_view(cfg, NULL);
		return rc;
	}
	pbtxt_node_free(old);
	return 0;
}

static struct pbtxt_node *edit_begin(struct model_config *cfg)
{
	struct pbtxt_node *old = cfg->tree;

	cfg->tree = pbtxt_node_clone(old);
	return old;
}

static void set_scalar(struct pbtxt_node *msg, const char *name,
		       enum pbtxt_kind kind, const char *value)
{
	pbtxt_node_remove_all(msg, name);
	pbtxt_node_append(msg, pbtxt_node_new_scalar(name, kind, value,
						     strlen(value)));
}

static void append_number(struct pbtxt_node *msg, const char *name,
			  long long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", value);
	pbtxt_node_append(msg, pbtxt_node_new_scalar(name, PBTXT_NUMBER, buf,
						     strlen(buf)));
}

int model_config_set_name(struct model_config *cfg, const char *name,
			  struct it_error *err)
{
	struct pbtxt_node *old = edit_begin(cfg);

	set_scalar(cfg->tree, "name", PBTXT_STRING, name);
	return edit_commit(cfg, old, err);
}

int model_config_set_max_batch_size(struct model_config *cfg, int32_t value,
				    struct it_error *err)
{
	struct pbtxt_node *old = edit_begin(cfg);

	pbtxt_node_remove_all(cfg->tree, "max_batch_size");
	append_number(cfg->tree, "max_batch_size", value);
	return edit_commit(cfg, old, err);
}

int model_config_set_instance_group(struct model_config *cfg,
				    enum instance_kind kind, int32_t count,
				    const int32_t *gpus, size_t n_gpus,
				    struct it_error *err)
{
	struct pbtxt_node *old = edit_begin(cfg);
	struct pbtxt_node *group = pbtxt_node_new_message("instance_group");

	append_number(group, "count", count);
	set_scalar(group, "kind", PBTXT_IDENT, instance_kind_name(kind));
	for (size_t i = 0; i < n_gpus; i++)
		append_number(group, "gpus", gpus[i]);
	pbtxt_node_remove_all(cfg->tree, "instance_group");
	pbtxt_node_append(cfg->tree, group);
	return edit_commit(cfg, old, err);
}

int model_config_set_dynamic_batching(struct model_config *cfg,
				      const int32_t *preferred,
				      size_t n_preferred,
				      uint64_t max_queue_delay_us,
				      struct it_error *err)
{
	struct pbtxt_node *old = edit_begin(cfg);
	struct pbtxt_node *db = pbtxt_node_find(cfg->tree, "dynamic_batching");
	char buf[32];

	if (!db) {
		db = pbtxt_node_new_message("dynamic_batching");
		pbtxt_node_append(cfg->tree, db);
	}
	pbtxt_node_remove_all(db, "preferred_batch_size");
	for (size_t i = 0; i < n_preferred; i++)
		append_number(db, "preferred_batch_size", preferred[i]);
	snprintf(buf, sizeof(buf), "%" PRIu64, max_queue_delay_us);
	set_scalar(db, "max_queue_delay_microseconds", PBTXT_NUMBER, buf);
	return edit_commit(cfg, old, err);
}

int model_config_clear_dynamic_batching(struct model_config *cfg,
					struct it_error *err)
{
	struct pbtxt_node *old = edit_begin(cfg);

	pbtxt_node_remove_all(cfg->tree, "dynamic_batching");
	return edit_commit(cfg, old, err);
}

int model_config_set_parameter(struct model_config *cfg, const char *key,
			       const char *value, struct it_error *err)
{
	struct pbtxt_node *old = edit_begin(cfg);
	struct pbtxt_node *entry;
	struct pbtxt_node *v;

	for (size_t i = cfg->tree->n_children; i-- > 0;) {
		const struct pbtxt_node *e = cfg->tree->children[i];

		if (!strcmp(e->name, "parameters") &&
		    !strcmp(str_field(e, "key"), key))
			pbtxt_node_remove(cfg->tree, i);
	}
	if (value) {
		entry = pbtxt_node_new_message("parameters");
		set_scalar(entry, "key", PBTXT_STRING, key);
		v = pbtxt_node_new_message("value");
		set_scalar(v, "string_value", PBTXT_STRING, value);
		pbtxt_node_append(entry, v);
		pbtxt_node_append(cfg->tree, entry);
	}
	return edit_commit(cfg, old, err);
}
