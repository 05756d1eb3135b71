/*
 * sluice exec — the query engine as a transform module: decode each
 * source's records once, then run every query over them (filter, window
 * assignment, aggregation, watermark, emit) as a DAG of operators
 * (exec/operator.h; implemented in exec/dag.c).  Private.
 */
#ifndef SLUICE_EXEC_ENGINE_H
#define SLUICE_EXEC_ENGINE_H

#include "base/dead_letter.h"
#include "plan/plan.h"
#include "format/format.h"
#include "sluice/module.h"

/** Per source: how its record values are decoded and when a partition
 *  counts as idle. */
typedef struct sluice_engine_source_options {
    sluice_format_kind format;
    char csv_delimiter;        /**< 0 = ',' */
    int64_t idle_timeout_ms;   /**< a partition silent this long stops holding
                                    the watermark back (docs/sql.md) */
} sluice_engine_source_options;

/** Create the engine for `plan` (borrowed; must outlive it).  opts and
 *  srcs have plan->nsources entries; srcs are the opened source instances
 *  (borrowed) whose csv_header, if any, sets up the CSV decoders — a
 *  column missing from a header fails here, before any input is read
 *  (SLUICE_ERR_CONFIG).  dlq receives malformed and late rows (borrowed).
 *  Free with (*out)->ops->destroy(). */
sluice_err_t sluice_engine_new(const sluice_plan *plan, const sluice_engine_source_options *opts,
                               sluice_source *const *srcs, sluice_dead_letter *dlq,
                               sluice_transform **out, char *errstr, size_t errstr_size);

/** The engine's ops (name "sql"). */
extern const sluice_transform_ops sluice_engine_ops;

/** Set (or replace) the dead-letter output (borrowed). */
void sluice_engine_set_dead_letter(sluice_transform *t, sluice_dead_letter *dlq);

/** Current watermark (ms) of source i, SLUICE_TS_MIN before any. */
int64_t sluice_engine_source_watermark(const sluice_transform *t, size_t source);

/** The clock of processing time: wall-clock milliseconds since the Unix
 *  epoch.  ctx is the pointer given to sluice_engine_set_clock(). */
typedef int64_t (*sluice_engine_clock_fn)(void *ctx);

/** Replace the clock that PROCTIME() windows read (default: CLOCK_REALTIME)
 *  — for tests, which must not depend on the wall clock.  fn NULL restores
 *  the default; ctx is borrowed.  The engine never lets processing time go
 *  backwards: a clock that steps back reads as the last time seen. */
void sluice_engine_set_clock(sluice_transform *t, sluice_engine_clock_fn fn, void *ctx);

/** Counters of one query (sink) since start, and its state now. */
typedef struct sluice_engine_query_stats {
    uint64_t late_rows;        /**< rows dropped as late (or without event time) */
    uint64_t state_rows;       /**< groups held now */
    uint64_t state_bytes;      /**< bytes of its state now */
    int64_t watermark;         /**< its source's watermark, ms (PROCTIME() windows:
                                    the processing time they are closed by) */
} sluice_engine_query_stats;

/** Counters of one source since start. */
typedef struct sluice_engine_source_stats {
    uint64_t input_rows;       /**< records received */
    uint64_t malformed_rows;   /**< records that did not decode */
} sluice_engine_source_stats;

void sluice_engine_query_stats_get(const sluice_transform *t, size_t query, sluice_engine_query_stats *out);
void sluice_engine_source_stats_get(const sluice_transform *t, size_t source, sluice_engine_source_stats *out);

/** Bytes of aggregate state held now (window tables and their strings). */
size_t sluice_engine_state_bytes(const sluice_transform *t);

#endif
