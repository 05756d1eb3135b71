/*
 * sluice plan — the relational nodes of a plan beyond the query block:
 * joins of two inputs and ranking (ROW_NUMBER/RANK/DENSE_RANK OVER ...
 * filtered by rank <= N).  A query block (plan.h, sluice_query_plan) reads
 * one input row shape; these nodes combine or rank the rows of other
 * nodes and feed further blocks, so that a pipeline's SQL becomes a DAG
 * (docs/architecture.md "The operator DAG").  Built by the planner,
 * read-only while running.  Private to the engine.
 *
 * Rows between nodes carry a change kind (sluice/changelog.h): insert,
 * update-before, update-after, delete, with Flink's meaning — a consumer
 * applying them in order to a multiset of rows gets the node's result
 * (an update-before or delete names the exact values to take back).
 */
#ifndef SLUICE_PLAN_REL_H
#define SLUICE_PLAN_REL_H

#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"

/** The kinds of join (SQL; Flink's regular join semantics). */
typedef enum sluice_join_type {
    SLUICE_JOIN_INNER = 0,
    SLUICE_JOIN_LEFT,        /**< every left row; right columns NULL without a match */
    SLUICE_JOIN_RIGHT,       /**< every right row; left columns NULL without a match */
    SLUICE_JOIN_FULL         /**< both */
} sluice_join_type;

/** How a join bounds its state. */
typedef enum sluice_join_strategy {
    SLUICE_JOIN_REGULAR = 0, /**< every row of both sides is kept (state_ttl_ms bounds it) */
    SLUICE_JOIN_INTERVAL     /**< Flink's interval join: rows are kept while the
                                  watermark can still bring a partner (see below) */
} sluice_join_strategy;

/**
 * A join of a left and a right input.  The joined row is the left row's
 * columns followed by the right row's (left_width + right_width values).
 * Two rows join when every key pair is equal (SQL equality: a NULL key
 * joins nothing) and `residual`, evaluated over the joined row, is TRUE.
 * The values of a key pair are compared as grouping keys are (same type,
 * same value): the planner gives both keys of a pair one type, casting
 * one of them where the SQL types differ (BIGINT = DOUBLE).
 * nkeys may be 0 (a cross join filtered by residual: every row of one side
 * meets every row of the other).
 *
 * Output changelog (Flink's StreamingJoinOperator): a row arriving on one
 * side as insert or update-after is stored and emits, per matching row of
 * the other side, the joined row as insert; arriving as update-before or
 * delete it is removed (one equal row) and emits, per match, the joined
 * row as delete.  Equal rows count one by one (two equal left rows meet a
 * right row twice).  For outer joins a row without a partner emits itself
 * padded with NULLs (insert), and that padded row is deleted when its
 * first partner arrives (and inserted again when its last partner goes);
 * a row with a NULL key is padded at once, and its retraction deletes the
 * padded row.  A retraction of a row the state does not hold (dropped by
 * the TTL) still takes back its joined rows with the rows held, as in
 * Flink.
 *
 * INTERVAL: right.time BETWEEN left.time + lower_ms AND left.time +
 * upper_ms (both inclusive; times are ms since the Unix epoch, columns
 * left_time and right_time, TIMESTAMP).  Both inputs must be append-only.
 * A row is dropped from state when the watermark (min of both inputs)
 * has passed the last time a partner could have: a left row at t when wm
 * > t + upper_ms, a right row at t when wm > t - lower_ms.  Outer
 * interval joins emit a left (right) row without partner padded with
 * NULLs when it is dropped, not on arrival.  A row that arrives when the
 * watermark has already passed its last partner's time is joined with the
 * rows held but not kept, and padded at once when it met none (Flink's
 * TimeIntervalJoin); so is a row with a NULL key or time.  The watermark is
 * the one of the last on_watermark() (none before the first).
 *
 * REGULAR with state_ttl_ms > 0: a row not matched or updated for that
 * long in processing time is dropped from state (Flink's table.exec.
 * state.ttl) without output; results may then miss matches, as in Flink.
 * The times are the batches' proc_time; the state is cleaned as each batch
 * arrives, so a row last used at t is gone for a batch at t + state_ttl_ms.
 */
typedef struct sluice_join_plan {
    const char *name;              /**< for messages and explain, e.g. "q.join1" */
    sluice_join_type type;
    sluice_join_strategy strategy;
    size_t left_width, right_width;
    const sluice_type_t *left_types;   /**< left_width: the left row's column types */
    const sluice_type_t *right_types;  /**< right_width */
    size_t nkeys;
    sluice_expr **left_keys;       /**< nkeys, over the left row */
    sluice_expr **right_keys;      /**< nkeys, over the right row */
    sluice_expr *residual;         /**< over the joined row, or NULL */
    int64_t state_ttl_ms;          /**< REGULAR: 0 = keep for ever */
    size_t left_time, right_time;  /**< INTERVAL: the time columns */
    int64_t lower_ms, upper_ms;    /**< INTERVAL: bounds, lower <= upper */
    int left_append_only;          /**< the left input never retracts (planner's knowledge) */
    int right_append_only;
} sluice_join_plan;

/** The ranking functions of OVER (Flink/SQL:2003 semantics). */
typedef enum sluice_rank_fn {
    SLUICE_RANK_ROW_NUMBER = 0,    /**< 1, 2, 3, ... ties broken arbitrarily but stably */
    SLUICE_RANK_RANK,              /**< ties share a rank; gaps after ties */
    SLUICE_RANK_DENSE_RANK         /**< ties share a rank; no gaps */
} sluice_rank_fn;

/**
 * Top-N per partition (Flink's Top-N and deduplication):
 *
 *   SELECT ... FROM (SELECT ..., fn() OVER (PARTITION BY p ORDER BY o) AS r FROM in)
 *   WHERE r <= limit
 *
 * The output row is the input row, followed by the rank (BIGINT) when
 * output_rank.  The node keeps, per partition, the rows that rank within
 * `limit` (and for an updating input every row of the partition, so that
 * a retraction can bring the next one in, as Flink's RetractableTopN).
 *
 * Output changelog: the result is the multiset of rows ranking <= limit
 * (with output_rank: of (row, rank) pairs); each input row's change of it
 * is emitted at once.  Without output_rank a row entering is an insert, a
 * row leaving a delete (deletes first); a row whose rank changes stays in
 * the result and emits nothing.  With output_rank the changes are per
 * rank, in rank order, as Flink emits them for ROW_NUMBER (its streaming
 * Top-N has no RANK/DENSE_RANK; they pair the rows of one rank in rank
 * order the same way): a rank now held by another
 * row is an update-before of (old row, rank) then an update-after of
 * (new row, rank); a rank no row holds any more a delete; a new rank an
 * insert (so a row moving from rank 2 to 3 shows as the updates of ranks
 * 2 and 3, and a consumer keyed by (partition, rank) sees updates).
 * ORDER BY compares as sluice_value_compare, NULLs first in ASC and last
 * in DESC (Flink).  Ties keep arrival order for ROW_NUMBER (the earlier
 * row ranks first) — except deduplication keeping the last row (ROW_NUMBER,
 * limit 1, one ORDER BY key of type TIMESTAMP, DESC), where a later row
 * with an equal time replaces the kept one, as Flink's keep-last
 * deduplication does.
 *
 * An update-before or delete takes back one equal row (all columns equal,
 * NULL equal to NULL), the lowest ranked of the equal ones; one the node
 * does not hold is ignored with a warning (Flink logs it too).  A
 * retraction reaching a node with append_only_input fails the pipeline:
 * the rows it would bring back were not kept.
 */
typedef struct sluice_rank_plan {
    const char *name;              /**< for messages and explain */
    sluice_rank_fn fn;
    size_t width;                  /**< columns of the input row */
    const sluice_type_t *types;    /**< width */
    sluice_expr **partition;       /**< over the input row; npartition may be 0 (one partition) */
    size_t npartition;
    sluice_expr **order;           /**< over the input row, norder >= 1 */
    const int *order_desc;         /**< norder: 1 = DESC */
    size_t norder;
    int64_t limit;                 /**< >= 1 */
    int output_rank;               /**< append the rank column */
    int append_only_input;         /**< the input never retracts */
} sluice_rank_plan;

/**
 * Event-time temporal join (Flink's "versioned table" join):
 *
 *   FROM probe p JOIN versioned v FOR SYSTEM_TIME AS OF p.t ON p.k = v.k
 *
 * The right input is a versioned table: a changelog of rows keyed by the
 * key columns (insert / update-after give the version valid from its time
 * column's value; delete ends the key's validity from its time), with a
 * watermark.  Each left row at time t (its left_time column) is joined with
 * the version of its key valid at t — the right row with the greatest
 * time <= t — when the watermark (minimum of both inputs) reaches t, so
 * that every version up to t has arrived.  INNER: a left row without such
 * a version produces nothing; LEFT: it is padded with NULLs.  Left rows
 * wait in state until then; versions older than the newest one at or
 * below the watermark are dropped.  Output: insert-only, the left row's
 * columns followed by the right row's.  The left input must be
 * append-only.  Left rows at or below the watermark when they arrive
 * (late) are joined at once with what is held.
 *
 * Details (Flink's TemporalRowTimeJoinOperator where it has an answer):
 * - the right input is an upsert changelog of its key: update-before rows
 *   are ignored (the update-after that follows gives the new version);
 *   two versions of a key at the same time: the later arrival replaces
 *   the earlier (Flink keeps a map time -> row per key);
 * - key pairs compare as grouping keys (the planner gives both keys of a
 *   pair one type, as for sluice_join_plan);
 * - the residual is checked against the one version valid at t; when it
 *   fails no older version is tried (INNER: nothing, LEFT: padded);
 * - a left row with a NULL key joins nothing; one with a NULL time cannot
 *   wait for a watermark and is decided at once (INNER: dropped, LEFT:
 *   padded); a right row with a NULL key is never chosen and is not kept,
 *   one with a NULL time cannot be placed and is dropped, counted as late;
 * - the left rows the watermark reaches are emitted in the order of their
 *   time, ties in arrival order;
 * - cleanup also drops the newest version at or below the watermark when
 *   it is an end (a delete): later left rows would find no version either
 *   way (sluice's choice, so that a deleted key leaves no state; it only
 *   differs from Flink for a right row arriving late, below the
 *   watermark, with a time before that delete).
 */
typedef struct sluice_temporal_join_plan {
    const char *name;              /**< for messages and explain */
    int left_outer;                /**< LEFT JOIN */
    size_t left_width, right_width;
    const sluice_type_t *left_types, *right_types;
    size_t nkeys;
    sluice_expr **left_keys;       /**< over the left row */
    sluice_expr **right_keys;      /**< over the right row (its primary key) */
    size_t left_time, right_time;  /**< TIMESTAMP columns (ms) */
    sluice_expr *residual;         /**< over the joined row, or NULL */
} sluice_temporal_join_plan;

/**
 * OVER aggregates (Flink's over aggregation):
 *
 *   SELECT ..., agg(x) OVER (PARTITION BY p ORDER BY t
 *                            ROWS BETWEEN n PRECEDING AND CURRENT ROW) AS a
 *
 * For each input row, the aggregates over the rows of its partition in the
 * frame that ends at the row: ROWS — the row and the `preceding` rows
 * before it in the order (preceding < 0: every earlier row, UNBOUNDED
 * PRECEDING); RANGE — the rows whose time is in [t - preceding, t]
 * (preceding in ms; < 0 unbounded), so rows with equal times see each
 * other and get the same results (Flink's RANGE semantics).
 *
 * ORDER BY is a time attribute of the input (time_column): with event time
 * (proctime 0) rows are held until the watermark (on_watermark) passes
 * their time, then processed in time order (ties in arrival order), and a
 * row that arrives with its time at or below the watermark is late:
 * dropped and counted (op->late_rows), as Flink drops late rows of an OVER
 * aggregation; so is a row whose time is NULL.  With processing time
 * (proctime 1) rows are processed as they arrive, at the end of their
 * batch, and their time is the batch's proc_time (time_column is not
 * read): the rows of one batch are ties for a RANGE frame.  The input
 * must be append-only: a retraction fails the pipeline.
 *
 * Output: insert-only; the input row followed by one column per aggregate
 * (aggs[k].result_type).  State: per partition the rows the frame may still
 * need (ROWS: the last `preceding`; RANGE: those within `preceding` of the
 * watermark) and the rows waiting for the watermark.
 */
typedef struct sluice_over_plan {
    const char *name;              /**< for messages and explain */
    size_t width;                  /**< columns of the input row */
    const sluice_type_t *types;    /**< width */
    sluice_expr **partition;       /**< over the input row; npartition may be 0 */
    size_t npartition;
    size_t time_column;            /**< the ORDER BY column (TIMESTAMP) */
    int proctime;                  /**< 1: processing time (arrival order) */
    int rows;                      /**< 1: ROWS frame; 0: RANGE frame */
    int64_t preceding;             /**< ROWS: rows before the current one; RANGE: ms; < 0: unbounded */
    sluice_agg_plan *aggs;         /**< naggs; their arg (and filter) over the input row */
    size_t naggs;
} sluice_over_plan;

struct sluice_lookup_table;

/**
 * Lookup join (Flink's lookup join, processing time):
 *
 *   FROM probe p [LEFT] JOIN t FOR SYSTEM_TIME AS OF p.proc [AS s] ON f(p) = s.k
 *
 * Each probe row is joined with the rows the lookup table `table_name`
 * holds for its key when the row is processed: key i is probe_keys[i]
 * (over the probe row) equal to the table's column table_key_cols[i]
 * (SQL equality; the planner casts the probe's key to the column's type,
 * so a NULL key or one that does not convert matches nothing).  The output
 * row is the probe row followed by the table row (probe_width +
 * table_width values); `residual` over it must be TRUE.  INNER: a probe
 * row without a match gives nothing; LEFT: it is padded with NULLs.  Each
 * output row keeps its probe row's change kind (an append-only probe
 * gives an append-only output).  Stateless: the results depend on the
 * table's contents at processing time, as in Flink, so a replay after a
 * failure is at-least-once unless the table does not change.
 */
typedef struct sluice_lookup_plan {
    const char *name;              /**< for messages and explain, e.g. "q13.lookup1" */
    const char *table_name;        /**< the CREATE TABLE looked up */
    int left_outer;                /**< LEFT JOIN */
    size_t probe_width, table_width;
    const sluice_type_t *probe_types, *table_types;
    const sluice_source_plan *table; /**< the table's declared columns (formats, for a connector) */
    size_t nkeys;                  /**< >= 1 */
    sluice_expr **probe_keys;      /**< over the probe row, of the key column's type */
    size_t *table_key_cols;        /**< the table's key columns */
    sluice_expr *residual;         /**< over the joined row, or NULL */
    const struct sluice_ast *as_of_ast, *on_ast;  /**< for explain */
    struct sluice_lookup_table *table_binding; /**< set by the pipeline before running (exec/lookup.h) */
} sluice_lookup_plan;

#endif
