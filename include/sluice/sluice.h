/*
 * sluice — the embedding API: open a pipeline (SQL + profile), run it,
 * read its sinks.  The command line (src/cli) is a thin layer over this.
 */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sluice/arena.h"
#include "sluice/batch.h"
#include "sluice/error.h"
#include "sluice/module.h"
#include "sluice/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version string, e.g. "0.1.0". */
const char *sluice_version(void);

typedef struct sluice_pipeline sluice_pipeline;

typedef struct sluice_pipeline_options {
    const char *sql_path;        /**< the pipeline's .sql file (required) */
    const char *profile;         /**< profile name; NULL = "test" */
    const char *config_path;     /**< profile file; NULL = <dir>/<stem>.<profile>.ini
                                      beside the .sql file */
    const char *const *sets;     /**< --set SECTION.KEY=VALUE overrides */
    size_t nsets;
    int quiet;                   /**< 1: no progress lines */
    FILE *progress;              /**< where progress lines go; NULL = stderr */
    int validate_only;           /**< 1: parse, plan, bind and validate options,
                                      but open no module (sluice check) */
} sluice_pipeline_options;

/** Parse the SQL, plan it, read the profile file, bind every source and
 *  sink to a connector, validate their options and open them (unless
 *  validate_only) — everything that can fail before input is read.
 *  Returns SLUICE_ERR_SQL (FILE:LINE:COL in errstr), SLUICE_ERR_CONFIG
 *  (FILE:LINE), SLUICE_ERR_UNAVAILABLE (a connector not built in), or an
 *  I/O error of a module's open().  On success *out is owned by the caller
 *  (sluice_pipeline_close()). */
sluice_err_t sluice_pipeline_open(const sluice_pipeline_options *opts, sluice_pipeline **out,
                                  char *errstr, size_t errstr_size);

/** Run one micro-batch (epoch): poll every source once, transform, write
 *  and commit every sink, commit sources.  *done is set to 1 when every
 *  source has reached the end of its input (bounded) or, under
 *  `trigger = available_now`, has nothing more.  Errors are runtime
 *  failures (exit status 1). */
sluice_err_t sluice_pipeline_step(sluice_pipeline *p, int *done, char *errstr, size_t errstr_size);

/** execute(): run micro-batches until the input ends, *stop becomes
 *  non-zero or a process-wide stop is requested (a non-zero *stop becomes
 *  one; the sluice command's SIGINT/SIGTERM handler requests it).  stop may
 *  be NULL.  A stop seen between micro-batches returns SLUICE_OK after a
 *  snapshot; a stop that ends a wait inside a micro-batch (a broker, a
 *  database) abandons that epoch and returns SLUICE_ERR_STOPPED: nothing of
 *  it is committed and no snapshot is taken, so a checkpoint replays it.
 *  Logs a `stopping` event on a stop and a `summary` event on every
 *  return. */
sluice_err_t sluice_pipeline_run(sluice_pipeline *p, const volatile sig_atomic_t *stop,
                                 char *errstr, size_t errstr_size);

/** Print every sink's end-of-run summary (the memory sink's result table)
 *  to out, in the order of the SQL. */
sluice_err_t sluice_pipeline_report(sluice_pipeline *p, FILE *out, char *errstr, size_t errstr_size);

/** Print the plan of each query and the binding of each source and sink
 *  (connector and options; values of keys that look secret are masked). */
void sluice_pipeline_describe(const sluice_pipeline *p, FILE *out);

/** The opened instance of the source / sink called name (borrowed, valid
 *  until close), or NULL. */
sluice_source *sluice_pipeline_source(sluice_pipeline *p, const char *name);
sluice_sink *sluice_pipeline_sink(sluice_pipeline *p, const char *name);

/** The pipeline's transform, the query engine (borrowed, valid until
 *  close), or NULL before it is created (validate_only). */
sluice_transform *sluice_pipeline_transform(sluice_pipeline *p);

/** The port of the metrics endpoint (`[pipeline] metrics`), 0 when off. */
int sluice_pipeline_metrics_port(const sluice_pipeline *p);

/** Counters since the start of the run. */
typedef struct sluice_pipeline_stats {
    int64_t epochs;            /**< micro-batches run */
    uint64_t input_rows;
    uint64_t late_rows;
    uint64_t malformed_rows;
    uint64_t dead_letters;
    uint64_t state_rows;
    int64_t watermark;         /**< ms; SLUICE_TS_MIN before any */
} sluice_pipeline_stats;

void sluice_pipeline_stats_get(const sluice_pipeline *p, sluice_pipeline_stats *out);

/** Close sinks and sources and free everything.  NULL-safe. */
void sluice_pipeline_close(sluice_pipeline *p);

/** Parse and plan a .sql file and print the plan of each query (sluice
 *  explain).  Returns SLUICE_ERR_SQL with FILE:LINE:COL in errstr. */
sluice_err_t sluice_explain_file(const char *sql_path, FILE *out, char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif
