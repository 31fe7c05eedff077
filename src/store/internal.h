/*
 * What store.c and query.c share and nobody outside src/store/ sees: the
 * store's fields and the statement helpers, so there is one way to prepare
 * a statement and one wording of a database error. Private to src/store/.
 */
#ifndef INFERTUNE_STORE_INTERNAL_H
#define INFERTUNE_STORE_INTERNAL_H

#include <stdbool.h>

#include <sqlite3.h>

#include "store/figures.h"
#include "store/store.h"

struct it_error;

struct store {
	sqlite3 *db;
	char *path;
	bool readonly;          /* store_open_readonly(): no checkpoint on close */
	char *figure_columns;   /* "throughput, latency_avg_ms, ..." */
	char *figure_params;    /* "?, ?, ..." */
	bool has_v2;            /* measurements has the columns of schema 2 */
	char *meas_v2_columns;  /* "throughput_lo, throughput_hi, ..., phase, precision_met,
				 * stopped_early, client_cpu_share"; constants for schema 1 */
	bool has_batch_stats;   /* the batch_stats table of schema 3 exists (and so does
				 * measurement_windows.completion_rate) */
};

/** Sets err from the connection's last error ("<path>: what: message"); returns the code. */
int store_db_error(struct store *s, struct it_error *err, const char *what);

/** Prepares sql into *st (NULL on failure). The caller finalizes *st. */
int store_prepare(struct store *s, const char *sql, sqlite3_stmt **st,
		  struct it_error *err);

/** *has: whether `table` has a column named `column`. */
int store_table_has_column(struct store *s, const char *table, const char *column,
			   bool *has, struct it_error *err);

/** Column i as a string the caller frees, NULL for SQL NULL. */
char *store_column_strdup(sqlite3_stmt *st, int i);

/** The FIG_COUNT figure columns from column `first` on; NULL leaves a figure absent. */
void store_read_figures(sqlite3_stmt *st, int first, struct figures *fs);

/**
 * Reads the columns of s->meas_v2_columns from column `first` on: the
 * bounds into fs (NULL leaves a bound unknown), the rest into m when not
 * NULL. Returns the column after them.
 */
int store_read_meas_v2(sqlite3_stmt *st, int first, struct figures *fs,
		       struct store_measurement *m);

/** "sweep" / "interleaved" → the phase; anything else reads as PHASE_SWEEP. */
enum measurement_phase store_measurement_phase_parse(const char *s);

/** "ok", ... → the status; NULL and unknown words read as MEAS_FAILED. */
enum measurement_status store_measurement_status_parse(const char *s);

/** "request_rate" → LOAD_REQUEST_RATE; anything else reads as LOAD_CONCURRENCY. */
enum load_kind store_load_kind_parse(const char *s);

#endif
