/*
 * results.db over SQLite. Every write that matters is its own transaction,
 * committed before the call returns, so the file is consistent after a
 * crash, a kill -9 or a power cut at any moment (WAL, synchronous=FULL).
 * The figure columns come from store/figures.h: a figure that was not
 * measured is stored as NULL, never as 0.
 */
#include "store/store.h"
#include "store/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <sqlite3.h>

#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *const load_kind_names[] = { "concurrency", "request_rate" };
static const char *const meas_status_names[] = {
	"ok", "unstable", "failed", "over_threshold",
};
static const char *const variant_status_names[VARIANT_STATUS_COUNT] = {
	"pending", "loading", "measuring", "measured", "load_failed",
	"server_crashed", "out_of_memory", "unstable", "failed",
};

const char *load_kind_name(enum load_kind k)
{
	return k == LOAD_REQUEST_RATE ? load_kind_names[1] : load_kind_names[0];
}

static int parse_name(const char *s, const char *const *names, int n, int def);

static const char *const phase_names[] = { "sweep", "interleaved" };

const char *measurement_phase_name(enum measurement_phase p)
{
	return p == PHASE_INTERLEAVED ? phase_names[1] : phase_names[0];
}

enum measurement_phase store_measurement_phase_parse(const char *s)
{
	return (enum measurement_phase)parse_name(s, phase_names, 2, PHASE_SWEEP);
}

const char *measurement_status_name(enum measurement_status s)
{
	if ((unsigned)s >= sizeof(meas_status_names) / sizeof(meas_status_names[0]))
		return "failed";
	return meas_status_names[s];
}

const char *variant_status_name(enum variant_status s)
{
	if ((unsigned)s >= VARIANT_STATUS_COUNT)
		return "failed";
	return variant_status_names[s];
}

bool variant_status_final(enum variant_status s)
{
	return s >= VARIANT_MEASURED && s < VARIANT_STATUS_COUNT;
}

static int parse_name(const char *s, const char *const *names, int n, int def)
{
	for (int i = 0; s && i < n; i++) {
		if (!strcmp(s, names[i]))
			return i;
	}
	return def;
}

enum measurement_status store_measurement_status_parse(const char *s)
{
	return (enum measurement_status)parse_name(s, meas_status_names, 4, MEAS_FAILED);
}

enum load_kind store_load_kind_parse(const char *s)
{
	return (enum load_kind)parse_name(s, load_kind_names, 2, LOAD_CONCURRENCY);
}

double store_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void store_time_iso(double t, char *buf, size_t size)
{
	time_t secs = (time_t)floor(t);
	int ms = (int)((t - floor(t)) * 1000);
	struct tm tm;
	char base[24];

	if (ms > 999)
		ms = 999;
	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03dZ", base, ms);
}

/* Parses store_time_iso()'s text back (timegm is glibc/BSD; _DEFAULT_SOURCE). */
static double parse_iso(const char *s)
{
	struct tm tm;
	int ms = 0;

	if (!s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + ms / 1000.0;
}

/*
 * What the user can do about an SQLite error code (and the errno of the
 * system call that failed, for an I/O error): a damaged file, a full disk
 * or size limit, a file locked by another program. "" for the others.
 */
static const char *db_advice(int code, int sys_errno)
{
	if ((code & 0xff) == SQLITE_IOERR && (sys_errno == ENOSPC || sys_errno == EFBIG ||
					      sys_errno == EDQUOT))
		code = SQLITE_FULL;
	if (code == SQLITE_IOERR_WRITE || code == SQLITE_IOERR_FSYNC ||
	    code == SQLITE_IOERR_TRUNCATE || code == SQLITE_IOERR_SHMSIZE)
		return " (writing the file failed: the disk may be full or the file at its size "
		       "limit (ulimit -f); every measurement committed before is kept: fix it and "
		       "run again with the same export path to resume)";
	switch (code & 0xff) {
	case SQLITE_NOTADB:
		return " (not an SQLite database: not an infertune results.db)";
	case SQLITE_CORRUPT:
		return " (the file is damaged: truncated or overwritten; infertune leaves it as it "
		       "is: move it aside to start afresh, or restore a copy)";
	case SQLITE_FULL:
		return " (the disk is full or the file hit its size limit: every measurement "
		       "committed before is kept; free space and run again with the same export "
		       "path to resume)";
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return " (the file or its folder is not writable)";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return " (another program holds the file locked)";
	default:
		return "";
	}
}

int store_db_error(struct store *s, struct it_error *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);

	if ((code & 0xff) == SQLITE_CONSTRAINT)
		return it_error_set(err, IT_ERR_STATE, "%s: %s: %s", s->path, what,
				    sqlite3_errmsg(s->db));
	return it_error_set(err, IT_ERR_IO, "%s: %s: %s%s", s->path, what,
			    sqlite3_errmsg(s->db), db_advice(code, sqlite3_system_errno(s->db)));
}

static int exec_sql(struct store *s, const char *sql, struct it_error *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		it_error_set(err, IT_ERR_IO, "%s: %s%s", s->path,
			     msg ? msg : sqlite3_errstr(rc),
			     db_advice(sqlite3_extended_errcode(s->db),
				       sqlite3_system_errno(s->db)));
		sqlite3_free(msg);
		return IT_ERR_IO;
	}
	return 0;
}

int store_prepare(struct store *s, const char *sql, sqlite3_stmt **st,
		  struct it_error *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return store_db_error(s, err, "prepare");
	}
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, double t)
{
	char buf[40];

	store_time_iso(t, buf, sizeof(buf));
	sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

static void bind_opt_double(sqlite3_stmt *st, int i, bool has, double v)
{
	if (has && isfinite(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

char *store_column_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static void column_copy(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(buf, size, "%s", t ? (const char *)t : "");
}

/* Begins an immediate transaction (the writer lock is taken at once). */
static int tx_begin(struct store *s, struct it_error *err)
{
	return exec_sql(s, "BEGIN IMMEDIATE", err);
}

static int tx_commit(struct store *s, struct it_error *err)
{
	return exec_sql(s, "COMMIT", err);
}

static void tx_rollback(struct store *s)
{
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- schema --------------------------------------------------------------- */

static void add_figure_columns(struct strbuf *sb)
{
	for (int i = 0; i < FIG_COUNT; i++)
		strbuf_addf(sb, "  %s REAL,\n", figure_table[i].column);
}

/*
 * The columns schema 2 added to measurements (docs/results-db.md): the
 * 95% interval bounds of the figures that have one, the phase, the
 * precision rule's verdict, racing's early stop, the client's CPU share.
 */
static void add_measurement_v2_columns(struct strbuf *sb)
{
	for (int i = 0; i < FIG_COUNT; i++) {
		if (figure_has_interval((enum figure)i))
			strbuf_addf(sb, "  %s_lo REAL,\n  %s_hi REAL,\n",
				    figure_table[i].column, figure_table[i].column);
	}
	strbuf_adds(sb,
		"  phase TEXT NOT NULL DEFAULT 'sweep' CHECK (phase IN ('sweep','interleaved')),\n"
		"  precision_met INTEGER,\n"
		"  stopped_early INTEGER NOT NULL DEFAULT 0,\n"
		"  client_cpu_share REAL,\n");
}

/* CREATE TABLE <name> with the measurements columns of this schema. */
static void add_measurements_table(struct strbuf *sb, const char *name)
{
	strbuf_addf(sb,
		"CREATE TABLE %s (\n"
		"  id INTEGER PRIMARY KEY,\n"
		"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
		"  variant_id INTEGER NOT NULL REFERENCES variants(id),\n"
		"  profile_key TEXT NOT NULL,\n"
		"  batch_size INTEGER NOT NULL,\n"
		"  load_kind TEXT NOT NULL CHECK (load_kind IN ('concurrency','request_rate')),\n"
		"  load_value REAL NOT NULL,\n"
		"  status TEXT NOT NULL CHECK (status IN ('ok','unstable','failed','over_threshold')),\n"
		"  message TEXT,\n", name);
	add_figure_columns(sb);
	strbuf_adds(sb,
		"  request_count INTEGER,\n"
		"  failed_count INTEGER,\n"
		"  window_count INTEGER NOT NULL,\n"
		"  merged_first INTEGER,\n"
		"  merged_count INTEGER,\n"
		"  window_mode TEXT NOT NULL,\n"
		"  window_ms REAL,\n"
		"  window_requests INTEGER,\n"
		"  stability_pct REAL,\n"
		"  client_saturated INTEGER NOT NULL,\n"
		"  started_at TEXT NOT NULL,\n"
		"  finished_at TEXT NOT NULL,\n"
		"  duration_s REAL NOT NULL,\n");
	add_measurement_v2_columns(sb);
	/* The phase is part of the identity: an interleaved level never replaces the sweep's. */
	strbuf_adds(sb,
		"  UNIQUE (variant_id, profile_key, batch_size, load_kind, load_value, phase)\n"
		");\n");
}

/*
 * The table schema 3 added: the server's executions per batch size of each
 * measurement (its merged windows' statistics deltas).
 */
static void add_batch_stats_table(struct strbuf *sb)
{
	strbuf_adds(sb,
		"CREATE TABLE batch_stats (\n"
		"  measurement_id INTEGER NOT NULL REFERENCES measurements(id),\n"
		"  batch_size INTEGER NOT NULL,\n"
		"  execution_count INTEGER NOT NULL,\n"
		"  compute_input_ns INTEGER NOT NULL,\n"
		"  compute_infer_ns INTEGER NOT NULL,\n"
		"  compute_output_ns INTEGER NOT NULL,\n"
		"  PRIMARY KEY (measurement_id, batch_size)\n"
		");\n");
}

/*
 * What the predictive search predicted for a point before measuring it
 * (schema 3; docs/results-db.md), with the measurement that checked it.
 */
#define PREDICTIONS_ROLE_DECL \
	"role TEXT NOT NULL DEFAULT 'guided' CHECK (role IN ('probe','guided'))"

static void add_predictions_table(struct strbuf *sb)
{
	strbuf_adds(sb,
		"CREATE TABLE predictions (\n"
		"  id INTEGER PRIMARY KEY,\n"
		"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
		"  variant_id INTEGER NOT NULL REFERENCES variants(id),\n"
		"  load_kind TEXT NOT NULL CHECK (load_kind IN ('concurrency','request_rate')),\n"
		"  load_value REAL NOT NULL,\n");
	add_figure_columns(sb);
	strbuf_adds(sb,
		"  rel_uncertainty REAL NOT NULL,\n"
		"  model TEXT NOT NULL,\n"
		"  measurement_id INTEGER REFERENCES measurements(id),\n"
		"  created_at TEXT NOT NULL,\n"
		"  " PREDICTIONS_ROLE_DECL "\n"
		");\n");
}

/*
 * The rankings columns of the top tier and the cost order (issue #12;
 * docs/results-db.md). create_schema() writes them; migrate_columns()
 * adds them to a file of the same schema version written before them.
 */
static const struct {
	const char *name, *decl;
} rankings_tier_columns[] = {
	{ "gain_lo_pct", "REAL" },
	{ "gain_hi_pct", "REAL" },
	{ "in_top_tier", "INTEGER NOT NULL DEFAULT 0" },
	{ "measured_rank", "INTEGER" },
	{ "borderline", "TEXT" },
	{ "recommendation", "TEXT" },
};

static void add_rankings_tier_columns(struct strbuf *sb)
{
	for (size_t i = 0; i < sizeof(rankings_tier_columns) / sizeof(rankings_tier_columns[0]); i++)
		strbuf_addf(sb, "  %s %s,\n", rankings_tier_columns[i].name,
			    rankings_tier_columns[i].decl);
}

/* *cols: the comma-separated column names of table. */
static int table_column_list(struct store *s, const char *table, struct strbuf *cols,
			     struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct strbuf sql;
	int rc, step;

	strbuf_init(&sql, 0);
	strbuf_addf(&sql, "SELECT name FROM pragma_table_info('%s')", table);
	rc = store_prepare(s, sql.buf, &st, err);
	strbuf_release(&sql);
	if (rc)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		strbuf_addf(cols, "%s%s", cols->len ? ", " : "", sqlite3_column_text(st, 0));
	if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading a table's columns");
	sqlite3_finalize(st);
	return rc;
}

int store_table_has_column(struct store *s, const char *table, const char *column,
			   bool *has, struct it_error *err)
{
	struct strbuf cols, all, want;
	int rc;

	*has = false;
	strbuf_init(&cols, 0);
	strbuf_init(&all, 0);
	strbuf_init(&want, 0);
	rc = table_column_list(s, table, &cols, err);
	if (!rc) {
		/* ", a, b, c, " holds ", b, " exactly when b is a column. */
		strbuf_addf(&all, ", %s, ", cols.buf);
		strbuf_addf(&want, ", %s, ", column);
		*has = strstr(all.buf, want.buf) != NULL;
	}
	strbuf_release(&want);
	strbuf_release(&all);
	strbuf_release(&cols);
	return rc;
}

/*
 * ALTER TABLE ADD COLUMN for each column added within schema 3 that a
 * file lacks: the tier columns of rankings, the role of predictions.
 */
static int migrate_columns(struct store *s, struct it_error *err)
{
	struct strbuf sql;
	bool has = false;
	int rc;

	rc = store_table_has_column(s, "predictions", "role", &has, err);
	if (!rc && !has)
		rc = exec_sql(s, "ALTER TABLE predictions ADD COLUMN " PREDICTIONS_ROLE_DECL, err);
	if (rc)
		return rc;

	strbuf_init(&sql, 0);
	for (size_t i = 0; i < sizeof(rankings_tier_columns) / sizeof(rankings_tier_columns[0]) &&
	     !rc; i++) {
		has = false;
		rc = store_table_has_column(s, "rankings", rankings_tier_columns[i].name, &has, err);
		if (rc || has)
			continue;
		strbuf_setlen(&sql, 0);
		strbuf_addf(&sql, "ALTER TABLE rankings ADD COLUMN %s %s",
			    rankings_tier_columns[i].name, rankings_tier_columns[i].decl);
		rc = exec_sql(s, sql.buf, err);
	}
	strbuf_release(&sql);
	return rc;
}

/*
 * Schema 1 -> 2, in place: measurements gets the columns of
 * add_measurement_v2_columns() (NULL bounds, phase 'sweep': every row of
 * schema 1 is a sweep's) and the phase joins its uniqueness key. A UNIQUE
 * constraint cannot be altered, so the table is rebuilt the way SQLite
 * documents ("other kinds of table schema changes": foreign keys off,
 * copy, drop, rename), in one transaction with the version bump.
 */
static int migrate_v1(struct store *s, struct it_error *err)
{
	struct strbuf sql, cols;
	int rc;

	strbuf_init(&sql, 0);
	strbuf_init(&cols, 0);
	rc = table_column_list(s, "measurements", &cols, err);
	if (rc)
		goto out;
	strbuf_adds(&sql, "BEGIN IMMEDIATE;\n");
	add_measurements_table(&sql, "measurements_v2");
	strbuf_addf(&sql,
		"INSERT INTO measurements_v2 (%s) SELECT %s FROM measurements;\n"
		"DROP TABLE measurements;\n"
		"ALTER TABLE measurements_v2 RENAME TO measurements;\n"
		"CREATE INDEX measurements_by_variant ON measurements(variant_id);\n"
		"UPDATE meta SET value = '%d' WHERE key = 'schema_version';\n"
		"PRAGMA user_version = %d;\n"
		"COMMIT;\n", cols.buf, cols.buf, STORE_SCHEMA_VERSION_V2,
		STORE_SCHEMA_VERSION_V2);
	rc = exec_sql(s, "PRAGMA foreign_keys=OFF", err);
	if (rc)
		goto out;
	rc = exec_sql(s, sql.buf, err);
	if (rc) {
		tx_rollback(s);
		it_error_prefix(err, "migrating results.db from schema version 1");
	}
	if (exec_sql(s, "PRAGMA foreign_keys=ON", rc ? NULL : err) && !rc)
		rc = IT_ERR_IO;
out:
	strbuf_release(&cols);
	strbuf_release(&sql);
	return rc;
}

/*
 * Schema 2 -> 3, in place: the batch_stats and predictions tables, empty
 * (the measurements of an older file have none), and the windows' completion_rate column
 * (NULL in older rows), in one transaction with the version bump.
 */
static int migrate_v2(struct store *s, struct it_error *err)
{
	struct strbuf sql;
	int rc;

	strbuf_init(&sql, 0);
	strbuf_adds(&sql, "BEGIN IMMEDIATE;\n");
	add_batch_stats_table(&sql);
	add_predictions_table(&sql);
	strbuf_adds(&sql, "ALTER TABLE measurement_windows ADD COLUMN completion_rate REAL;\n");
	strbuf_addf(&sql,
		"UPDATE meta SET value = '%d' WHERE key = 'schema_version';\n"
		"PRAGMA user_version = %d;\n"
		"COMMIT;\n", STORE_SCHEMA_VERSION, STORE_SCHEMA_VERSION);
	rc = exec_sql(s, sql.buf, err);
	if (rc) {
		tx_rollback(s);
		it_error_prefix(err, "migrating results.db from schema version 2");
	}
	strbuf_release(&sql);
	return rc;
}

static int create_schema(struct store *s, struct it_error *err)
{
	struct strbuf sql;
	int rc;

	strbuf_init(&sql, 0);
	strbuf_addf(&sql,
		"CREATE TABLE meta (\n"
		"  key TEXT PRIMARY KEY,\n"
		"  value TEXT NOT NULL\n"
		");\n"
		"INSERT INTO meta VALUES ('schema_version', '%d');\n"
		"INSERT INTO meta VALUES ('created_by', 'infertune analyze');\n"
		"CREATE TABLE runs (\n"
		"  id INTEGER PRIMARY KEY,\n"
		"  started_at TEXT NOT NULL,\n"
		"  finished_at TEXT,\n"
		"  status TEXT NOT NULL CHECK (status IN ('running','completed','interrupted','failed')),\n"
		"  message TEXT,\n"
		"  command_line TEXT NOT NULL,\n"
		"  options_json TEXT NOT NULL,\n"
		"  search_mode TEXT NOT NULL,\n"
		"  server_mode TEXT NOT NULL,\n"
		"  server_url TEXT,\n"
		"  profile_key TEXT NOT NULL,\n"
		"  gpus_json TEXT NOT NULL,\n"
		"  infertune_version TEXT NOT NULL\n"
		");\n"
		"CREATE TABLE models (\n"
		"  id INTEGER PRIMARY KEY,\n"
		"  name TEXT NOT NULL UNIQUE,\n"
		"  platform TEXT,\n"
		"  backend TEXT,\n"
		"  config_pbtxt TEXT NOT NULL,\n"
		"  config_json TEXT NOT NULL,\n"
		"  repository TEXT,\n"
		"  first_run_id INTEGER REFERENCES runs(id)\n"
		");\n"
		"CREATE TABLE variants (\n"
		"  id INTEGER PRIMARY KEY,\n"
		"  model_id INTEGER NOT NULL REFERENCES models(id),\n"
		"  name TEXT NOT NULL UNIQUE,\n"
		"  variant_index INTEGER,\n"
		"  is_default INTEGER NOT NULL,\n"
		"  config_key TEXT NOT NULL,\n"
		"  config_pbtxt TEXT NOT NULL,\n"
		"  config_json TEXT NOT NULL,\n"
		"  max_batch_size INTEGER NOT NULL,\n"
		"  instance_count INTEGER NOT NULL,\n"
		"  instance_kind TEXT NOT NULL,\n"
		"  dynamic_batching INTEGER NOT NULL,\n"
		"  label TEXT NOT NULL,\n"
		"  status TEXT NOT NULL,\n"
		"  failure_reason TEXT,\n"
		"  created_run_id INTEGER REFERENCES runs(id),\n"
		"  created_at TEXT NOT NULL,\n"
		"  updated_at TEXT NOT NULL,\n"
		"  UNIQUE (model_id, config_key)\n"
		");\n",
		STORE_SCHEMA_VERSION);
	add_measurements_table(&sql, "measurements");
	strbuf_adds(&sql,
		"CREATE TABLE measurement_windows (\n"
		"  measurement_id INTEGER NOT NULL REFERENCES measurements(id),\n"
		"  window_index INTEGER NOT NULL,\n"
		"  duration_ms REAL NOT NULL,\n"
		"  request_count INTEGER NOT NULL,\n"
		"  failed_count INTEGER NOT NULL,\n"
		"  throughput REAL NOT NULL,\n"
		"  latency_avg_ms REAL,\n"
		"  stabilizing_latency_ms REAL,\n"
		"  valid INTEGER NOT NULL,\n"
		"  merged INTEGER NOT NULL,\n"
		"  completion_rate REAL,\n"
		"  PRIMARY KEY (measurement_id, window_index)\n"
		");\n"
		"CREATE TABLE measurement_gpus (\n"
		"  measurement_id INTEGER NOT NULL REFERENCES measurements(id),\n"
		"  gpu_uuid TEXT NOT NULL,\n"
		"  utilization_pct REAL,\n"
		"  used_memory_mb REAL,\n"
		"  total_memory_mb REAL,\n"
		"  power_w REAL,\n"
		"  PRIMARY KEY (measurement_id, gpu_uuid)\n"
		");\n");
	add_batch_stats_table(&sql);
	add_predictions_table(&sql);
	strbuf_adds(&sql,
		"CREATE TABLE server_only (\n"
		"  id INTEGER PRIMARY KEY,\n"
		"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
		"  started_at TEXT NOT NULL,\n"
		"  duration_s REAL NOT NULL,\n");
	add_figure_columns(&sql);
	strbuf_adds(&sql,
		"  finished_at TEXT NOT NULL\n"
		");\n"
		"CREATE TABLE server_only_gpus (\n"
		"  server_only_id INTEGER NOT NULL REFERENCES server_only(id),\n"
		"  gpu_uuid TEXT NOT NULL,\n"
		"  utilization_pct REAL,\n"
		"  used_memory_mb REAL,\n"
		"  total_memory_mb REAL,\n"
		"  power_w REAL,\n"
		"  PRIMARY KEY (server_only_id, gpu_uuid)\n"
		");\n"
		"CREATE TABLE rankings (\n"
		"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
		"  model_id INTEGER NOT NULL REFERENCES models(id),\n"
		"  rank INTEGER NOT NULL,\n"
		"  variant_id INTEGER NOT NULL REFERENCES variants(id),\n"
		"  best_measurement_id INTEGER REFERENCES measurements(id),\n"
		"  satisfies_constraints INTEGER NOT NULL,\n"
		"  gain_vs_default_pct REAL,\n");
	add_rankings_tier_columns(&sql);
	strbuf_adds(&sql,
		"  PRIMARY KEY (run_id, model_id, rank)\n"
		");\n"
		"CREATE TABLE events (\n"
		"  id INTEGER PRIMARY KEY,\n"
		"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
		"  at TEXT NOT NULL,\n"
		"  variant_id INTEGER REFERENCES variants(id),\n"
		"  kind TEXT NOT NULL,\n"
		"  message TEXT NOT NULL\n"
		");\n"
		"CREATE INDEX measurements_by_variant ON measurements(variant_id);\n"
		"CREATE INDEX variants_by_model ON variants(model_id);\n");
	strbuf_addf(&sql, "PRAGMA user_version = %d;\n", STORE_SCHEMA_VERSION);
	rc = tx_begin(s, err);
	if (!rc) {
		rc = exec_sql(s, sql.buf, err);
		if (rc)
			tx_rollback(s);
		else
			rc = tx_commit(s, err);
	}
	strbuf_release(&sql);
	return rc;
}

/*
 * SQLite's quick_check over the whole file (milliseconds for a results.db
 * of a few MB): a damaged file is refused before anything reads or writes
 * it, so an analysis never runs on, or adds to, a file it cannot trust.
 */
static int integrity_check(struct store *s, struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	const char *first;
	int rc;

	rc = store_prepare(s, "PRAGMA quick_check(1)", &st, err);
	if (rc)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = store_db_error(s, err, "checking the file");
	} else {
		first = (const char *)sqlite3_column_text(st, 0);
		if (!first || strcmp(first, "ok")) {
			rc = it_error_set(err, IT_ERR_IO, "%s: damaged: %s%s", s->path,
					  first ? first : "(no answer)", db_advice(SQLITE_CORRUPT, 0));
			for (char *c = err ? err->message : NULL; c && *c; c++)
				if (*c == '\n')
					*c = ' ';
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int user_version(struct store *s, int *version, struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = store_prepare(s, "PRAGMA user_version", &st, err);
	if (rc)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = store_db_error(s, err, "reading the schema version");
		goto out;
	}
	*version = sqlite3_column_int(st, 0);
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * The figure column list and its placeholders, for the statements that read
 * or write them all, and the measurement columns of schema 2: their names,
 * or for a file of schema 1 (read-only) what they mean there (no bounds,
 * a sweep, precision unknown, not stopped early, share unknown).
 */
static void figure_lists(struct store *s)
{
	struct strbuf cols, params, v2;

	strbuf_init(&cols, 0);
	strbuf_init(&params, 0);
	strbuf_init(&v2, 0);
	for (int i = 0; i < FIG_COUNT; i++) {
		strbuf_addf(&cols, "%s%s", i ? ", " : "", figure_table[i].column);
		strbuf_adds(&params, i ? ", ?" : "?");
		if (!figure_has_interval((enum figure)i))
			continue;
		if (s->has_v2)
			strbuf_addf(&v2, "%s_lo, %s_hi, ", figure_table[i].column,
				    figure_table[i].column);
		else
			strbuf_adds(&v2, "NULL, NULL, ");
	}
	strbuf_adds(&v2, s->has_v2 ? "phase, precision_met, stopped_early, client_cpu_share" :
		    "'sweep', NULL, 0, NULL");
	s->figure_columns = strbuf_detach(&cols, NULL);
	s->figure_params = strbuf_detach(&params, NULL);
	s->meas_v2_columns = strbuf_detach(&v2, NULL);
}

int store_open(const char *path, struct store **out, struct it_error *err)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int version = 0, rc;

	s->path = xstrdup(path);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		rc = it_error_set(err, IT_ERR_IO, "%s: cannot open: %s", path,
				  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/*
	 * WAL: a reader (the report, a curious user with sqlite3) never blocks
	 * the analysis, and a crash mid-commit leaves the last committed state.
	 * synchronous=FULL: a committed measurement survives a power cut too.
	 */
	rc = integrity_check(s, err);
	if (rc)
		goto out;
	rc = exec_sql(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
		      "PRAGMA foreign_keys=ON;", err);
	if (rc)
		goto out;
	rc = user_version(s, &version, err);
	if (rc)
		goto out;
	if (version == 0) {
		sqlite3_stmt *st = NULL;
		bool empty;

		/* Version 0 with tables in it is some other program's database. */
		rc = store_prepare(s, "SELECT count(*) FROM sqlite_master", &st, err);
		if (rc)
			goto out;
		empty = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0;
		sqlite3_finalize(st);
		if (!empty) {
			rc = it_error_set(err, IT_ERR_UNSUPPORTED,
					  "%s: holds tables but no infertune schema version; not an infertune results database",
					  path);
			goto out;
		}
		rc = create_schema(s, err);
		if (rc)
			goto out;
	} else if (version == STORE_SCHEMA_VERSION_V1 || version == STORE_SCHEMA_VERSION_V2) {
		/* One step at a time: 1 -> 2 -> 3. */
		if (version == STORE_SCHEMA_VERSION_V1)
			rc = migrate_v1(s, err);
		if (!rc)
			rc = migrate_v2(s, err);
		if (!rc)
			rc = migrate_columns(s, err);
		if (rc)
			goto out;
	} else if (version != STORE_SCHEMA_VERSION) {
		rc = it_error_set(err, IT_ERR_UNSUPPORTED,
				  "%s: results database schema version %d; this infertune reads version %d",
				  path, version, STORE_SCHEMA_VERSION);
		goto out;
	} else {
		rc = migrate_columns(s, err);
		if (rc)
			goto out;
	}
	s->has_v2 = true;
	s->has_batch_stats = true;
	figure_lists(s);
	*out = s;
	s = NULL;
out:
	store_close(s);
	return rc;
}

/*
 * No pragma, no schema check and no write: the report reads the files of
 * every infertune build as they are, also while an analysis writes them
 * (WAL lets a reader in without blocking the writer).
 */
int store_open_readonly(const char *path, struct store **out,
			struct it_error *err)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int rc = 0;

	s->path = xstrdup(path);
	s->readonly = true;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = it_error_set(err, IT_ERR_IO, "%s: cannot open: %s", path,
				  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(s->db, 10000);
	rc = integrity_check(s, err);
	if (rc)
		goto out;
	/* A file of schema 1 (or no infertune file: its first query fails) lacks them. */
	store_table_has_column(s, "measurements", "phase", &s->has_v2, NULL);
	/* Schemas 1 and 2 have no batch_stats table (no table: no column either). */
	store_table_has_column(s, "batch_stats", "batch_size", &s->has_batch_stats, NULL);
	figure_lists(s);
	*out = s;
	s = NULL;
out:
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->db && s->readonly) {
		sqlite3_close(s->db);
	} else if (s->db) {
		/* Fold the WAL into the main file so a copied results.db is complete. */
		sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
					  NULL, NULL);
		sqlite3_close(s->db);
	}
	free(s->figure_columns);
	free(s->figure_params);
	free(s->meas_v2_columns);
	free(s->path);
	free(s);
}

/* ---- meta ----------------------------------------------------------------- */

int store_meta_set(struct store *s, const char *key, const char *value,
		   struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	/* The version row mirrors PRAGMA user_version; only create_schema() writes it. */
	if (!strcmp(key, "schema_version"))
		return it_error_set(err, IT_ERR_INVALID, "%s: meta key '%s' is not writable",
				    s->path, key);
	rc = store_prepare(s, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_error(s, err, "setting a meta row");
	sqlite3_finalize(st);
	return rc;
}

/* ---- runs, models ---------------------------------------------------------- */

int store_run_begin(struct store *s, const struct store_run *run,
		    int64_t *run_id, struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = store_prepare(s, "INSERT INTO runs (started_at, status, command_line, options_json, "
			   "search_mode, server_mode, server_url, profile_key, gpus_json, "
			   "infertune_version) VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
			   &st, err);
	if (rc)
		return rc;
	bind_time(st, 1, store_now());
	bind_text(st, 2, run->command_line ? run->command_line : "");
	bind_text(st, 3, run->options_json ? run->options_json : "{}");
	bind_text(st, 4, run->search_mode ? run->search_mode : "");
	bind_text(st, 5, run->server_mode ? run->server_mode : "");
	bind_text(st, 6, run->server_url);
	bind_text(st, 7, run->profile_key ? run->profile_key : "");
	bind_text(st, 8, run->gpus_json ? run->gpus_json : "[]");
	bind_text(st, 9, run->version ? run->version : "");
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_error(s, err, "recording the run");
	else
		*run_id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return rc;
}

int store_run_finish(struct store *s, int64_t run_id, const char *status,
		     const char *message, struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = store_prepare(s, "UPDATE runs SET finished_at = ?, status = ?, message = ? WHERE id = ?",
			   &st, err);
	if (rc)
		return rc;
	bind_time(st, 1, store_now());
	bind_text(st, 2, status);
	bind_text(st, 3, message);
	sqlite3_bind_int64(st, 4, run_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_error(s, err, "finishing the run");
	sqlite3_finalize(st);
	return rc;
}

int store_run_close_stale(struct store *s, int64_t *n, struct it_error *err)
{
	int rc = exec_sql(s, "UPDATE runs SET status = 'failed', "
			  "message = 'ended without finishing (killed?)' WHERE status = 'running'",
			  err);

	if (!rc)
		*n = sqlite3_changes(s->db);
	return rc;
}

static int count_rows(struct store *s, const char *sql, int64_t *n,
		      struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		rc = store_db_error(s, err, "counting");
	sqlite3_finalize(st);
	return rc;
}

int store_run_count(struct store *s, int64_t *n, struct it_error *err)
{
	return count_rows(s, "SELECT count(*) FROM runs", n, err);
}

int store_measurement_count(struct store *s, int64_t *n, struct it_error *err)
{
	return count_rows(s, "SELECT count(*) FROM measurements", n, err);
}

int store_model_get_or_add(struct store *s, const char *name,
			   const char *platform, const char *backend,
			   const char *config_pbtxt, const char *config_json,
			   const char *repository, int64_t run_id,
			   int64_t *model_id, struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	rc = store_prepare(s, "SELECT id FROM models WHERE name = ?", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, name);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*model_id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return store_db_error(s, err, "looking up a model");
	rc = store_prepare(s, "INSERT INTO models (name, platform, backend, config_pbtxt, "
			   "config_json, repository, first_run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
			   &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, name);
	bind_text(st, 2, platform && *platform ? platform : NULL);
	bind_text(st, 3, backend && *backend ? backend : NULL);
	bind_text(st, 4, config_pbtxt);
	bind_text(st, 5, config_json);
	bind_text(st, 6, repository);
	sqlite3_bind_int64(st, 7, run_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_error(s, err, "adding a model");
	else
		*model_id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return rc;
}

/* ---- variants -------------------------------------------------------------- */

void store_variant_release(struct store_variant *v)
{
	if (!v)
		return;
	free(v->config_key);
	free(v->config_pbtxt);
	free(v->config_json);
	free(v->label);
	free(v->failure_reason);
	memset(v, 0, sizeof(*v));
}

#define VARIANT_COLUMNS "id, model_id, name, variant_index, is_default, config_key, " \
	"config_pbtxt, config_json, max_batch_size, instance_count, instance_kind, " \
	"dynamic_batching, label, status, failure_reason, created_run_id"

static void read_variant(sqlite3_stmt *st, struct store_variant *v)
{
	char status[32];

	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(st, 0);
	v->model_id = sqlite3_column_int64(st, 1);
	column_copy(st, 2, v->name, sizeof(v->name));
	v->variant_index = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 :
			   sqlite3_column_int64(st, 3);
	v->is_default = sqlite3_column_int(st, 4) != 0;
	v->config_key = store_column_strdup(st, 5);
	v->config_pbtxt = store_column_strdup(st, 6);
	v->config_json = store_column_strdup(st, 7);
	v->max_batch_size = sqlite3_column_int(st, 8);
	v->instance_count = sqlite3_column_int(st, 9);
	column_copy(st, 10, v->instance_kind, sizeof(v->instance_kind));
	v->dynamic_batching = sqlite3_column_int(st, 11) != 0;
	v->label = store_column_strdup(st, 12);
	column_copy(st, 13, status, sizeof(status));
	v->status = (enum variant_status)parse_name(status, variant_status_names,
						   VARIANT_STATUS_COUNT, VARIANT_FAILED);
	v->failure_reason = store_column_strdup(st, 14);
	v->created_run_id = sqlite3_column_int64(st, 15);
}

int store_variant_find(struct store *s, int64_t model_id, const char *key,
		       struct store_variant *out, bool *found,
		       struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	*found = false;
	rc = store_prepare(s, "SELECT " VARIANT_COLUMNS " FROM variants WHERE model_id = ? AND config_key = ?",
			   &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, model_id);
	bind_text(st, 2, key);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		read_variant(st, out);
		*found = true;
	} else if (step != SQLITE_DONE) {
		rc = store_db_error(s, err, "looking up a variant");
	}
	sqlite3_finalize(st);
	return rc;
}

int store_variant_get(struct store *s, int64_t id, struct store_variant *out,
		      struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	rc = store_prepare(s, "SELECT " VARIANT_COLUMNS " FROM variants WHERE id = ?", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		read_variant(st, out);
	else if (step == SQLITE_DONE)
		rc = it_error_set(err, IT_ERR_NOT_FOUND, "no variant %lld", (long long)id);
	else
		rc = store_db_error(s, err, "reading a variant");
	sqlite3_finalize(st);
	return rc;
}

int store_variant_next_index(struct store *s, int64_t model_id, int64_t *n,
			     struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = store_prepare(s, "SELECT coalesce(max(variant_index) + 1, 0) FROM variants WHERE model_id = ?",
			   &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, model_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		rc = store_db_error(s, err, "numbering a variant");
	sqlite3_finalize(st);
	return rc;
}

int store_variant_add(struct store *s, struct store_variant *v,
		      struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	double now = store_now();
	int rc;

	rc = store_prepare(s, "INSERT INTO variants (model_id, name, variant_index, is_default, "
			   "config_key, config_pbtxt, config_json, max_batch_size, instance_count, "
			   "instance_kind, dynamic_batching, label, status, failure_reason, "
			   "created_run_id, created_at, updated_at) "
			   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, v->model_id);
	bind_text(st, 2, v->name);
	if (v->variant_index >= 0)
		sqlite3_bind_int64(st, 3, v->variant_index);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int(st, 4, v->is_default);
	bind_text(st, 5, v->config_key);
	bind_text(st, 6, v->config_pbtxt);
	bind_text(st, 7, v->config_json);
	sqlite3_bind_int(st, 8, v->max_batch_size);
	sqlite3_bind_int(st, 9, v->instance_count);
	bind_text(st, 10, v->instance_kind);
	sqlite3_bind_int(st, 11, v->dynamic_batching);
	bind_text(st, 12, v->label ? v->label : "");
	bind_text(st, 13, variant_status_name(v->status));
	bind_text(st, 14, v->failure_reason);
	sqlite3_bind_int64(st, 15, v->created_run_id);
	bind_time(st, 16, now);
	bind_time(st, 17, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_error(s, err, "adding a variant");
	else
		v->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return rc;
}

int store_variant_set_status(struct store *s, int64_t variant_id,
			     enum variant_status status, const char *reason,
			     struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = store_prepare(s, "UPDATE variants SET status = ?, failure_reason = ?, updated_at = ? WHERE id = ?",
			   &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, variant_status_name(status));
	bind_text(st, 2, reason);
	bind_time(st, 3, store_now());
	sqlite3_bind_int64(st, 4, variant_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_error(s, err, "updating a variant");
	sqlite3_finalize(st);
	return rc;
}

int store_variants_of_model(struct store *s, int64_t model_id,
			    struct store_variant **out, size_t *n,
			    struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct store_variant *vs = NULL;
	size_t count = 0, alloc = 0;
	int rc, step;

	rc = store_prepare(s, "SELECT " VARIANT_COLUMNS " FROM variants WHERE model_id = ? ORDER BY id",
			   &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, model_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		XGROW(vs, alloc, count + 1);
		read_variant(st, &vs[count++]);
	}
	if (step != SQLITE_DONE) {
		rc = store_db_error(s, err, "listing variants");
		for (size_t i = 0; i < count; i++)
			store_variant_release(&vs[i]);
		free(vs);
		vs = NULL;
		count = 0;
	}
	sqlite3_finalize(st);
	*out = vs;
	*n = count;
	return rc;
}

/* ---- measurements ---------------------------------------------------------- */

void store_measurement_release(struct store_measurement *m)
{
	if (!m)
		return;
	free(m->windows);
	free(m->gpus);
	free(m->batch_stats);
	m->windows = NULL;
	m->n_windows = 0;
	m->gpus = NULL;
	m->n_gpus = 0;
	m->batch_stats = NULL;
	m->n_batch_stats = 0;
}

void store_server_only_release(struct store_server_only *so)
{
	if (!so)
		return;
	free(so->gpus);
	so->gpus = NULL;
	so->n_gpus = 0;
}

static int insert_gpus(struct store *s, const char *table, const char *owner_col,
		       int64_t owner, const struct store_gpu *gpus, size_t n,
		       struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	char sql[256];
	int rc;

	if (!n)
		return 0;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO %s (%s, gpu_uuid, utilization_pct, used_memory_mb, "
		 "total_memory_mb, power_w) VALUES (?, ?, ?, ?, ?, ?)", table, owner_col);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct store_gpu *g = &gpus[i];

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, owner);
		bind_text(st, 2, g->uuid);
		bind_opt_double(st, 3, g->has_utilization, g->utilization_pct);
		bind_opt_double(st, 4, g->has_used_memory, g->used_memory_mb);
		bind_opt_double(st, 5, g->has_total_memory, g->total_memory_mb);
		bind_opt_double(st, 6, g->has_power, g->power_w);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = store_db_error(s, err, "adding GPU figures");
	}
	sqlite3_finalize(st);
	return rc;
}

static int read_gpus(struct store *s, const char *table, const char *owner_col,
		     int64_t owner, struct store_gpu **out, size_t *n,
		     struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct store_gpu *gs = NULL;
	size_t count = 0, alloc = 0;
	char sql[256];
	int rc, step;

	snprintf(sql, sizeof(sql),
		 "SELECT gpu_uuid, utilization_pct, used_memory_mb, total_memory_mb, power_w "
		 "FROM %s WHERE %s = ? ORDER BY gpu_uuid", table, owner_col);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, owner);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_gpu *g;

		XGROW(gs, alloc, count + 1);
		g = &gs[count++];
		memset(g, 0, sizeof(*g));
		column_copy(st, 0, g->uuid, sizeof(g->uuid));
		g->has_utilization = sqlite3_column_type(st, 1) != SQLITE_NULL;
		g->utilization_pct = sqlite3_column_double(st, 1);
		g->has_used_memory = sqlite3_column_type(st, 2) != SQLITE_NULL;
		g->used_memory_mb = sqlite3_column_double(st, 2);
		g->has_total_memory = sqlite3_column_type(st, 3) != SQLITE_NULL;
		g->total_memory_mb = sqlite3_column_double(st, 3);
		g->has_power = sqlite3_column_type(st, 4) != SQLITE_NULL;
		g->power_w = sqlite3_column_double(st, 4);
	}
	if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading GPU figures");
	sqlite3_finalize(st);
	if (rc) {
		free(gs);
		return rc;
	}
	*out = gs;
	*n = count;
	return 0;
}

static int insert_batch_stats(struct store *s, const struct store_measurement *m,
			      struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!m->n_batch_stats)
		return 0;
	rc = store_prepare(s, "INSERT INTO batch_stats (measurement_id, batch_size, "
			   "execution_count, compute_input_ns, compute_infer_ns, "
			   "compute_output_ns) VALUES (?, ?, ?, ?, ?, ?)", &st, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < m->n_batch_stats && !rc; i++) {
		const struct store_batch_stat *b = &m->batch_stats[i];

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, m->id);
		sqlite3_bind_int64(st, 2, b->batch_size);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)b->execution_count);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)b->compute_input_ns);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)b->compute_infer_ns);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)b->compute_output_ns);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = store_db_error(s, err, "adding batch statistics");
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * The batch statistics of m->id into m. Read with every measurement, as
 * the windows and GPUs are, rather than by a getter of their own: one
 * array more in a struct every reader already releases, so no caller (a
 * resume, the interleaved phase, a predictor) can forget to ask for them.
 * A file without the table (schemas 1, 2) reads as none.
 */
static int read_batch_stats(struct store *s, struct store_measurement *m,
			    struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t alloc = 0;
	int rc, step;

	if (!s->has_batch_stats)
		return 0;
	rc = store_prepare(s, "SELECT batch_size, execution_count, compute_input_ns, "
			   "compute_infer_ns, compute_output_ns FROM batch_stats "
			   "WHERE measurement_id = ? ORDER BY batch_size", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, m->id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_batch_stat *b;

		XGROW(m->batch_stats, alloc, m->n_batch_stats + 1);
		b = &m->batch_stats[m->n_batch_stats++];
		b->batch_size = sqlite3_column_int64(st, 0);
		b->execution_count = (uint64_t)sqlite3_column_int64(st, 1);
		b->compute_input_ns = (uint64_t)sqlite3_column_int64(st, 2);
		b->compute_infer_ns = (uint64_t)sqlite3_column_int64(st, 3);
		b->compute_output_ns = (uint64_t)sqlite3_column_int64(st, 4);
	}
	if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading batch statistics");
	sqlite3_finalize(st);
	return rc;
}

static void bind_figures(sqlite3_stmt *st, int first, const struct figures *fs)
{
	for (int i = 0; i < FIG_COUNT; i++)
		bind_opt_double(st, first + i, figures_has(fs, (enum figure)i),
				fs->v[i]);
}

void store_read_figures(sqlite3_stmt *st, int first, struct figures *fs)
{
	memset(fs, 0, sizeof(*fs));
	for (int i = 0; i < FIG_COUNT; i++) {
		if (sqlite3_column_type(st, first + i) != SQLITE_NULL)
			figures_set(fs, (enum figure)i, sqlite3_column_double(st, first + i));
	}
}

/* Binds the values of s->meas_v2_columns from parameter i on; returns the next. */
static int bind_meas_v2(sqlite3_stmt *st, int i, const struct store_measurement *m)
{
	for (int f = 0; f < FIG_COUNT; f++) {
		double lo, hi;

		if (!figure_has_interval((enum figure)f))
			continue;
		figures_interval(&m->fig, (enum figure)f, &lo, &hi);
		bind_opt_double(st, i++, true, lo);
		bind_opt_double(st, i++, true, hi);
	}
	bind_text(st, i++, measurement_phase_name(m->phase));
	if (m->precision_known)
		sqlite3_bind_int(st, i++, m->precision_met);
	else
		sqlite3_bind_null(st, i++);
	sqlite3_bind_int(st, i++, m->stopped_early);
	bind_opt_double(st, i++, true, m->client_cpu_share);
	return i;
}

int store_read_meas_v2(sqlite3_stmt *st, int first, struct figures *fs,
		       struct store_measurement *m)
{
	int i = first;

	for (int f = 0; f < FIG_COUNT; f++) {
		double b[2];

		if (!figure_has_interval((enum figure)f))
			continue;
		for (int k = 0; k < 2; k++, i++)
			b[k] = sqlite3_column_type(st, i) == SQLITE_NULL ? NAN :
			       sqlite3_column_double(st, i);
		figures_set_interval(fs, (enum figure)f, b[0], b[1]);
	}
	if (m) {
		m->phase = store_measurement_phase_parse((const char *)sqlite3_column_text(st, i));
		m->precision_known = sqlite3_column_type(st, i + 1) != SQLITE_NULL;
		m->precision_met = sqlite3_column_int(st, i + 1) != 0;
		m->stopped_early = sqlite3_column_int(st, i + 2) != 0;
		m->client_cpu_share = sqlite3_column_type(st, i + 3) == SQLITE_NULL ? NAN :
				      sqlite3_column_double(st, i + 3);
	}
	return i + 4;
}

int store_measurement_add(struct store *s, struct store_measurement *m,
			  struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct strbuf sql;
	int rc, i = 1;

	strbuf_init(&sql, 0);
	strbuf_addf(&sql, "INSERT INTO measurements (run_id, variant_id, profile_key, "
		    "batch_size, load_kind, load_value, status, message, %s, request_count, "
		    "failed_count, window_count, merged_first, merged_count, window_mode, "
		    "window_ms, window_requests, stability_pct, client_saturated, started_at, "
		    "finished_at, duration_s, %s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, %s, ?, ?, ?, ?, "
		    "?, ?, ?, ?, ?, ?, ?, ?, ?", s->figure_columns, s->meas_v2_columns,
		    s->figure_params);
	for (int f = 0; f < FIG_COUNT; f++)
		strbuf_adds(&sql, figure_has_interval((enum figure)f) ? ", ?, ?" : "");
	strbuf_adds(&sql, ", ?, ?, ?, ?)");
	rc = tx_begin(s, err);
	if (rc)
		goto out;
	rc = store_prepare(s, sql.buf, &st, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, i++, m->run_id);
	sqlite3_bind_int64(st, i++, m->variant_id);
	bind_text(st, i++, m->profile_key);
	sqlite3_bind_int64(st, i++, m->batch_size);
	bind_text(st, i++, load_kind_name(m->load_kind));
	sqlite3_bind_double(st, i++, m->load_value);
	bind_text(st, i++, measurement_status_name(m->status));
	bind_text(st, i++, m->message[0] ? m->message : NULL);
	bind_figures(st, i, &m->fig);
	i += FIG_COUNT;
	if (m->status == MEAS_OK || m->status == MEAS_OVER_THRESHOLD) {
		sqlite3_bind_int64(st, i++, (sqlite3_int64)m->request_count);
		sqlite3_bind_int64(st, i++, (sqlite3_int64)m->failed_count);
	} else {
		sqlite3_bind_null(st, i++);
		sqlite3_bind_null(st, i++);
	}
	sqlite3_bind_int64(st, i++, m->window_count);
	if (m->merged_count) {
		sqlite3_bind_int64(st, i++, m->merged_first);
		sqlite3_bind_int64(st, i++, m->merged_count);
	} else {
		sqlite3_bind_null(st, i++);
		sqlite3_bind_null(st, i++);
	}
	bind_text(st, i++, m->window_mode[0] ? m->window_mode : "time_windows");
	bind_opt_double(st, i++, m->window_ms > 0, m->window_ms);
	if (m->window_requests)
		sqlite3_bind_int64(st, i++, (sqlite3_int64)m->window_requests);
	else
		sqlite3_bind_null(st, i++);
	sqlite3_bind_double(st, i++, m->stability_pct);
	sqlite3_bind_int(st, i++, m->client_saturated);
	bind_time(st, i++, m->started_at);
	bind_time(st, i++, m->finished_at);
	sqlite3_bind_double(st, i++, m->finished_at - m->started_at);
	bind_meas_v2(st, i, m);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = store_db_error(s, err, "adding a measurement");
		goto fail;
	}
	m->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	st = NULL;

	if (m->n_windows) {
		rc = store_prepare(s, "INSERT INTO measurement_windows (measurement_id, window_index, "
				   "duration_ms, request_count, failed_count, throughput, latency_avg_ms, "
				   "stabilizing_latency_ms, valid, merged, completion_rate) "
				   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st, err);
		if (rc)
			goto fail;
		for (size_t w = 0; w < m->n_windows; w++) {
			const struct store_window *win = &m->windows[w];

			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, m->id);
			sqlite3_bind_int64(st, 2, win->index);
			sqlite3_bind_double(st, 3, win->duration_ms);
			sqlite3_bind_int64(st, 4, (sqlite3_int64)win->request_count);
			sqlite3_bind_int64(st, 5, (sqlite3_int64)win->failed_count);
			sqlite3_bind_double(st, 6, win->throughput);
			bind_opt_double(st, 7, win->request_count > 0, win->latency_avg_ms);
			bind_opt_double(st, 8, win->request_count > 0,
					win->stabilizing_latency_ms);
			sqlite3_bind_int(st, 9, win->valid);
			sqlite3_bind_int(st, 10, win->merged);
			bind_opt_double(st, 11, win->completion_rate > 0, win->completion_rate);
			if (sqlite3_step(st) != SQLITE_DONE) {
				rc = store_db_error(s, err, "adding a window");
				goto fail;
			}
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	rc = insert_gpus(s, "measurement_gpus", "measurement_id", m->id, m->gpus,
			 m->n_gpus, err);
	if (!rc)
		rc = insert_batch_stats(s, m, err);
	if (rc)
		goto fail;
	rc = tx_commit(s, err);
	if (rc)
		goto fail;
	goto out;
fail:
	sqlite3_finalize(st);
	st = NULL;
	tx_rollback(s);
	m->id = 0;
out:
	sqlite3_finalize(st);
	strbuf_release(&sql);
	return rc;
}

/* Column order of measurement reads: fixed columns, the figures, s->meas_v2_columns. */
#define MEAS_FIXED "id, run_id, variant_id, profile_key, batch_size, load_kind, load_value, " \
	"status, message, request_count, failed_count, window_count, merged_first, " \
	"merged_count, window_mode, window_ms, window_requests, stability_pct, " \
	"client_saturated, started_at, finished_at"
#define MEAS_N_FIXED 21

static int read_measurement(struct store *s, sqlite3_stmt *st,
			    struct store_measurement *m, struct it_error *err)
{
	sqlite3_stmt *ws = NULL;
	char kind[32], status[32], started[40], finished[40];
	size_t alloc = 0;
	int rc, step;

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	m->run_id = sqlite3_column_int64(st, 1);
	m->variant_id = sqlite3_column_int64(st, 2);
	column_copy(st, 3, m->profile_key, sizeof(m->profile_key));
	m->batch_size = sqlite3_column_int64(st, 4);
	column_copy(st, 5, kind, sizeof(kind));
	m->load_kind = store_load_kind_parse(kind);
	m->load_value = sqlite3_column_double(st, 6);
	column_copy(st, 7, status, sizeof(status));
	m->status = store_measurement_status_parse(status);
	column_copy(st, 8, m->message, sizeof(m->message));
	m->request_count = (uint64_t)sqlite3_column_int64(st, 9);
	m->failed_count = (uint64_t)sqlite3_column_int64(st, 10);
	m->window_count = (uint32_t)sqlite3_column_int64(st, 11);
	m->merged_first = (uint32_t)sqlite3_column_int64(st, 12);
	m->merged_count = (uint32_t)sqlite3_column_int64(st, 13);
	column_copy(st, 14, m->window_mode, sizeof(m->window_mode));
	m->window_ms = sqlite3_column_double(st, 15);
	m->window_requests = (uint64_t)sqlite3_column_int64(st, 16);
	m->stability_pct = sqlite3_column_double(st, 17);
	m->client_saturated = sqlite3_column_int(st, 18) != 0;
	column_copy(st, 19, started, sizeof(started));
	column_copy(st, 20, finished, sizeof(finished));
	m->started_at = parse_iso(started);
	m->finished_at = parse_iso(finished);
	store_read_figures(st, MEAS_N_FIXED, &m->fig);
	store_read_meas_v2(st, MEAS_N_FIXED + FIG_COUNT, &m->fig, m);

	rc = store_prepare(s, s->has_batch_stats ?
			   "SELECT window_index, duration_ms, request_count, failed_count, "
			   "throughput, latency_avg_ms, stabilizing_latency_ms, valid, merged, "
			   "completion_rate FROM measurement_windows WHERE measurement_id = ? "
			   "ORDER BY window_index" :
			   "SELECT window_index, duration_ms, request_count, failed_count, "
			   "throughput, latency_avg_ms, stabilizing_latency_ms, valid, merged, NULL "
			   "FROM measurement_windows WHERE measurement_id = ? ORDER BY window_index",
			   &ws, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(ws, 1, m->id);
	while ((step = sqlite3_step(ws)) == SQLITE_ROW) {
		struct store_window *w;

		XGROW(m->windows, alloc, m->n_windows + 1);
		w = &m->windows[m->n_windows++];
		w->index = (uint32_t)sqlite3_column_int64(ws, 0);
		w->duration_ms = sqlite3_column_double(ws, 1);
		w->request_count = (uint64_t)sqlite3_column_int64(ws, 2);
		w->failed_count = (uint64_t)sqlite3_column_int64(ws, 3);
		w->throughput = sqlite3_column_double(ws, 4);
		w->latency_avg_ms = sqlite3_column_double(ws, 5);
		w->stabilizing_latency_ms = sqlite3_column_double(ws, 6);
		w->valid = sqlite3_column_int(ws, 7) != 0;
		w->merged = sqlite3_column_int(ws, 8) != 0;
		w->completion_rate = sqlite3_column_type(ws, 9) == SQLITE_NULL ? NAN :
				     sqlite3_column_double(ws, 9);
	}
	if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading windows");
	sqlite3_finalize(ws);
	if (!rc)
		rc = read_gpus(s, "measurement_gpus", "measurement_id", m->id, &m->gpus,
			       &m->n_gpus, err);
	if (!rc)
		rc = read_batch_stats(s, m, err);
	if (rc)
		store_measurement_release(m);
	return rc;
}

int store_measurement_find(struct store *s, int64_t variant_id,
			   const char *profile_key, int64_t batch_size,
			   enum load_kind kind, double value,
			   struct store_measurement *out, bool *found,
			   struct it_error *err)
{
	return store_measurement_find_phase(s, PHASE_SWEEP, variant_id, profile_key,
					    batch_size, kind, value, out, found, err);
}

int store_measurement_find_phase(struct store *s, enum measurement_phase phase,
				 int64_t variant_id, const char *profile_key,
				 int64_t batch_size, enum load_kind kind, double value,
				 struct store_measurement *out, bool *found,
				 struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct strbuf sql;
	int rc, step;

	*found = false;
	/* A file of schema 1 holds sweeps only. */
	if (!s->has_v2 && phase != PHASE_SWEEP)
		return 0;
	strbuf_init(&sql, 0);
	strbuf_addf(&sql, "SELECT " MEAS_FIXED ", %s, %s FROM measurements WHERE variant_id = ? "
		    "AND profile_key = ? AND batch_size = ? AND load_kind = ? AND load_value = ?%s",
		    s->figure_columns, s->meas_v2_columns, s->has_v2 ? " AND phase = ?" : "");
	rc = store_prepare(s, sql.buf, &st, err);
	strbuf_release(&sql);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, variant_id);
	bind_text(st, 2, profile_key);
	sqlite3_bind_int64(st, 3, batch_size);
	bind_text(st, 4, load_kind_name(kind));
	sqlite3_bind_double(st, 5, value);
	if (s->has_v2)
		bind_text(st, 6, measurement_phase_name(phase));
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		rc = read_measurement(s, st, out, err);
		*found = rc == 0;
	} else if (step != SQLITE_DONE) {
		rc = store_db_error(s, err, "looking up a measurement");
	}
	sqlite3_finalize(st);
	return rc;
}

int store_measurements_of_variant(struct store *s, int64_t variant_id,
				  const char *profile_key,
				  struct store_measurement **out, size_t *n,
				  struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct store_measurement *ms = NULL;
	size_t count = 0, alloc = 0;
	struct strbuf sql;
	int rc, step;

	strbuf_init(&sql, 0);
	/* A level's sweep comes before its interleaved re-measurement (schema 1: no phase). */
	strbuf_addf(&sql, "SELECT " MEAS_FIXED ", %s, %s FROM measurements WHERE variant_id = ?%s "
		    "ORDER BY batch_size, load_kind, load_value, %sid",
		    s->figure_columns, s->meas_v2_columns,
		    profile_key ? " AND profile_key = ?" : "",
		    s->has_v2 ? "phase = 'interleaved', " : "");
	rc = store_prepare(s, sql.buf, &st, err);
	strbuf_release(&sql);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, variant_id);
	if (profile_key)
		bind_text(st, 2, profile_key);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		XGROW(ms, alloc, count + 1);
		rc = read_measurement(s, st, &ms[count], err);
		if (rc)
			break;
		count++;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_db_error(s, err, "listing measurements");
	sqlite3_finalize(st);
	if (rc) {
		for (size_t i = 0; i < count; i++)
			store_measurement_release(&ms[i]);
		free(ms);
		return rc;
	}
	*out = ms;
	*n = count;
	return 0;
}

/* ---- server-only, rankings, events ------------------------------------------ */

int store_server_only_add(struct store *s, struct store_server_only *so,
			  struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct strbuf sql;
	int rc;

	strbuf_init(&sql, 0);
	strbuf_addf(&sql, "INSERT INTO server_only (run_id, started_at, duration_s, %s, "
		    "finished_at) VALUES (?, ?, ?, %s, ?)", s->figure_columns, s->figure_params);
	rc = tx_begin(s, err);
	if (rc)
		goto out;
	rc = store_prepare(s, sql.buf, &st, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, so->run_id);
	bind_time(st, 2, so->started_at);
	sqlite3_bind_double(st, 3, so->duration_s);
	bind_figures(st, 4, &so->fig);
	bind_time(st, 4 + FIG_COUNT, so->started_at + so->duration_s);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = store_db_error(s, err, "adding server-only figures");
		goto fail;
	}
	so->id = sqlite3_last_insert_rowid(s->db);
	rc = insert_gpus(s, "server_only_gpus", "server_only_id", so->id, so->gpus,
			 so->n_gpus, err);
	if (rc)
		goto fail;
	rc = tx_commit(s, err);
	if (rc)
		goto fail;
	goto out;
fail:
	tx_rollback(s);
out:
	sqlite3_finalize(st);
	strbuf_release(&sql);
	return rc;
}

int store_server_only_latest(struct store *s, struct store_server_only *out,
			     bool *found, struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct strbuf sql;
	char started[40];
	int rc, step;

	*found = false;
	strbuf_init(&sql, 0);
	strbuf_addf(&sql, "SELECT id, run_id, started_at, duration_s, %s FROM server_only "
		    "ORDER BY id DESC LIMIT 1", s->figure_columns);
	rc = store_prepare(s, sql.buf, &st, err);
	strbuf_release(&sql);
	if (rc)
		return rc;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(st, 0);
		out->run_id = sqlite3_column_int64(st, 1);
		column_copy(st, 2, started, sizeof(started));
		out->started_at = parse_iso(started);
		out->duration_s = sqlite3_column_double(st, 3);
		store_read_figures(st, 4, &out->fig);
		rc = read_gpus(s, "server_only_gpus", "server_only_id", out->id,
			       &out->gpus, &out->n_gpus, err);
		*found = rc == 0;
	} else if (step != SQLITE_DONE) {
		rc = store_db_error(s, err, "reading server-only figures");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The tier columns of a ranking row, from parameter `first` on (6 of them). */
static void bind_rank_tier(sqlite3_stmt *st, int first, const struct store_rank *r)
{
	bind_opt_double(st, first, r->has_gain_ci, r->gain_lo_pct);
	bind_opt_double(st, first + 1, r->has_gain_ci, r->gain_hi_pct);
	sqlite3_bind_int(st, first + 2, r->in_top_tier);
	if (r->measured_rank)
		sqlite3_bind_int64(st, first + 3, r->measured_rank);
	else
		sqlite3_bind_null(st, first + 3);
	bind_text(st, first + 4, r->borderline[0] ? r->borderline : NULL);
	bind_text(st, first + 5, r->recommendation[0] ? r->recommendation : NULL);
}

int store_ranking_set(struct store *s, int64_t run_id, int64_t model_id,
		      const struct store_rank *ranks, size_t n,
		      struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = tx_begin(s, err);
	if (rc)
		return rc;
	rc = store_prepare(s, "DELETE FROM rankings WHERE run_id = ? AND model_id = ?", &st, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, model_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = store_db_error(s, err, "replacing a ranking");
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = store_prepare(s, "INSERT INTO rankings (run_id, model_id, rank, variant_id, "
			   "best_measurement_id, satisfies_constraints, gain_vs_default_pct, "
			   "gain_lo_pct, gain_hi_pct, in_top_tier, measured_rank, borderline, "
			   "recommendation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st, err);
	if (rc)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_int64(st, 2, model_id);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)i + 1);
		sqlite3_bind_int64(st, 4, ranks[i].variant_id);
		if (ranks[i].best_measurement_id)
			sqlite3_bind_int64(st, 5, ranks[i].best_measurement_id);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int(st, 6, ranks[i].satisfies_constraints);
		bind_opt_double(st, 7, ranks[i].has_gain, ranks[i].gain_vs_default_pct);
		bind_rank_tier(st, 8, &ranks[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = store_db_error(s, err, "adding a ranking");
			goto fail;
		}
	}
	sqlite3_finalize(st);
	return tx_commit(s, err);
fail:
	sqlite3_finalize(st);
	tx_rollback(s);
	return rc;
}

int store_prediction_add(struct store *s, const struct store_prediction *p,
			 struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct strbuf sql;
	int rc;

	/*
	 * A resume predicts again the points it reuses, checked by the same
	 * measurements: the row stored the first time stays the only one, or
	 * the table would grow on every resume. ?2 ?3 ?4 and the measurement's
	 * number repeat the values bound below.
	 */
	strbuf_init(&sql, 0);
	strbuf_addf(&sql, "INSERT INTO predictions (run_id, variant_id, load_kind, load_value, "
		    "%s, rel_uncertainty, model, measurement_id, created_at, role) "
		    "SELECT ?, ?, ?, ?, %s, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM "
		    "predictions WHERE variant_id = ?2 AND load_kind = ?3 AND load_value = ?4 "
		    "AND measurement_id IS ?%d)", s->figure_columns, s->figure_params,
		    7 + FIG_COUNT);
	rc = store_prepare(s, sql.buf, &st, err);
	strbuf_release(&sql);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, p->run_id);
	sqlite3_bind_int64(st, 2, p->variant_id);
	bind_text(st, 3, load_kind_name(p->load_kind));
	sqlite3_bind_double(st, 4, p->load_value);
	bind_figures(st, 5, &p->fig);
	sqlite3_bind_double(st, 5 + FIG_COUNT, p->rel_uncertainty);
	bind_text(st, 6 + FIG_COUNT, p->model);
	if (p->measurement_id)
		sqlite3_bind_int64(st, 7 + FIG_COUNT, p->measurement_id);
	else
		sqlite3_bind_null(st, 7 + FIG_COUNT);
	bind_time(st, 8 + FIG_COUNT, store_now());
	bind_text(st, 9 + FIG_COUNT, p->probe ? "probe" : "guided");
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_error(s, err, "adding a prediction");
	sqlite3_finalize(st);
	return rc;
}

int store_event_add(struct store *s, int64_t run_id, int64_t variant_id,
		    const char *kind, const char *message,
		    struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = store_prepare(s, "INSERT INTO events (run_id, at, variant_id, kind, message) "
			   "VALUES (?, ?, ?, ?, ?)", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, run_id);
	bind_time(st, 2, store_now());
	if (variant_id)
		sqlite3_bind_int64(st, 3, variant_id);
	else
		sqlite3_bind_null(st, 3);
	bind_text(st, 4, kind);
	bind_text(st, 5, message ? message : "");
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_error(s, err, "adding an event");
	sqlite3_finalize(st);
	return rc;
}
