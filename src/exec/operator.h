/*
 * sluice exec — the operator contract.  A query plan runs as a DAG of
 * operators (docs/architecture.md "The operator DAG"): per source one scan
 * (records -> rows), per query block a calc (filter, bound functions), at
 * most one stateful operator (window aggregate or session) and a sink (the
 * output batch of the query) or, for a block other queries read, a
 * projection and a tee; joins, rankings and OVER aggregations are nodes of
 * their own between blocks.  Every operator is one sluice_op behind one
 * sluice_op_ops, in the style of the connector ops (sluice/module.h).
 * Private.
 *
 * Batches, not rows, cross operator boundaries: an operator's process()
 * runs its loop over a whole batch and pushes what it produces to its
 * downstream operator as batches, so the per-row work stays in one loop
 * per operator (no per-row indirect calls).
 */
#ifndef SLUICE_EXEC_OPERATOR_H
#define SLUICE_EXEC_OPERATOR_H

#include <stddef.h>
#include <stdint.h>

#include "base/dead_letter.h"
#include "exec/aggregate.h"
#include "plan/plan.h"
#include "plan/rel.h"
#include "sluice/batch.h"
#include "sluice/changelog.h"
#include "sluice/module.h"
#include "state/codec.h"

/** What the operators of one DAG share (owned by the DAG, borrowed by
 *  every operator). */
typedef struct sluice_op_ctx {
    sluice_arena *batch_arena;     /**< strings of the current micro-batch (reset per micro-batch) */
    sluice_dead_letter *dlq;       /**< late and failed rows; may be NULL */
    sluice_transform_stats *stats; /**< pipeline counters (late_rows) */
    char err[512];                 /**< why the last process() failed, when it says more than its code */
} sluice_op_ctx;

/**
 * A batch of rows between two operators.  Row i of the batch (0 <= i <
 * nrows) is rows + sluice_op_batch_row_index(b, i) * ncolumns.  Everything
 * is borrowed from the operator that pushed the batch and valid only
 * during the process() call it is given to.
 */
typedef struct sluice_op_batch {
    const sluice_value *rows;           /**< row-major values */
    size_t ncolumns;
    const uint32_t *sel;                /**< NULL: rows 0 .. nrows; else the indices of the rows (ascending) */
    size_t nrows;                       /**< rows of the batch */
    const sluice_row_kind *kinds;       /**< per row index, or NULL: every row is an insert */
    /* where the rows came from, for dead letters (NULL for derived rows) */
    const sluice_record *const *recs;   /**< per row index: the record it was decoded from */
    const sluice_source_plan *sp;
    sluice_source *src;                 /**< for the position of a dead letter */
    /* time, in ms since the Unix epoch */
    int64_t watermark;                  /**< event-time watermark of the source as the micro-batch began */
    int64_t proc_watermark;             /**< processing time that closed PROCTIME() windows last */
    int64_t proc_time;                  /**< processing time of these rows */
} sluice_op_batch;

static inline size_t sluice_op_batch_row_index(const sluice_op_batch *b, size_t i) {
    return b->sel ? b->sel[i] : i;
}

typedef struct sluice_op sluice_op;

/**
 * The operations of an operator.  Every function but process() may be NULL
 * when the operator has nothing to do there (a stateless operator has no
 * snapshot, restore, clear or state).
 */
typedef struct sluice_op_ops {
    const char *name;

    /** Allocate what the operator needs before its first batch.
     *  SLUICE_OK or SLUICE_ERR_NOMEM. */
    sluice_err_t (*open)(sluice_op *op);

    /** Consume one batch (borrowed) and push what it yields to op->down.
     *  SLUICE_OK, or an error with op->ctx->err saying why when it says
     *  more than the code (SLUICE_ERR_NOMEM).  NULL for the scan, whose
     *  input is records (exec/op_scan.h). */
    sluice_err_t (*process)(sluice_op *op, const sluice_op_batch *in);

    /** The watermark (ms; for PROCTIME() queries the processing time) has
     *  reached wm at the end of a micro-batch: emit what the emit mode
     *  says (close windows, update rows) to op->down.  had_input: records
     *  arrived for the source in this micro-batch (COMPLETE mode emits only
     *  then, as Spark runs no micro-batch without data).  0, or -1 out of
     *  memory. */
    int (*on_watermark)(sluice_op *op, int64_t wm, int had_input);

    /* Snapshot, Redis-style: begin, then next() until it returns 0, then
     * end.  Each next() appends the next piece of the state to e
     * (state/codec.h) and returns 1; 0 when nothing is left.  The state must
     * not change between begin and end.  The caller only frames the pieces
     * (version, order); the bytes are those docs/architecture.md lists. */
    void (*snapshot_begin)(sluice_op *op);
    int (*snapshot_next)(sluice_op *op, sluice_enc *e);
    void (*snapshot_end)(sluice_op *op);

    /** Replace the state by the one a snapshot of this operator's format
     *  `version` holds at d (borrowed; strings are copied).  0; -1 with
     *  d->bad set when the bytes do not decode for this plan; -1 with
     *  d->bad clear when out of memory. */
    int (*restore)(sluice_op *op, sluice_dec *d, uint32_t version);

    /** Drop every piece of state (a failed restore leaves none). */
    void (*clear)(sluice_op *op);

    /** Bytes of memory the state holds now. */
    size_t (*state_bytes)(const sluice_op *op);
    /** Groups (open sessions) the state holds now. */
    size_t (*state_rows)(const sluice_op *op);

    /** Release the operator and everything it owns (the op itself too).
     *  NULL-safe through sluice_op_close(). */
    void (*close)(sluice_op *op);
} sluice_op_ops;

/** The part every operator starts with. */
struct sluice_op {
    const sluice_op_ops *ops;
    sluice_op *down;                /**< downstream operator (borrowed); NULL for a sink */
    sluice_op_ctx *ctx;             /**< borrowed from the DAG */
    const sluice_query_plan *q;     /**< the query it serves (borrowed); NULL for a scan */
    uint64_t late_rows;             /**< rows it dropped as late (or without event time) */
};

static inline void sluice_op_close(sluice_op *op) {
    if (op) op->ops->close(op);
}

/* ---------------- the operators ---------------- */

/** CROSS JOIN UNNEST: one row per element of each row's array, the
 *  source's columns extended by the element (and its position WITH
 *  ORDINALITY); stateless (exec/op_unnest.c, exec/unnest.h). */
sluice_op *sluice_op_unnest_new(const sluice_query_plan *q, sluice_op_ctx *ctx, sluice_op *down);

/** Filter: rows whose bound-function call failed (on_error = dead_letter)
 *  go to the dead letter, then WHERE; passes the rows left as a selection
 *  of its input batch.  Computes the query's bound functions over the
 *  batch first (exec/udf.h).  plan borrowed. */
sluice_op *sluice_op_calc_new(const sluice_plan *plan, const sluice_query_plan *q, sluice_op_ctx *ctx,
                              sluice_op *down);

/** Window assignment and grouped aggregates: TUMBLE, HOP and unwindowed
 *  GROUP BY, emit modes APPEND, UPDATE, COMPLETE, HAVING and top-N
 *  (exec/op_topn.h).  Pushes post-aggregation rows (plan.h) downstream. */
sluice_op *sluice_op_window_agg_new(const sluice_query_plan *q, sluice_op_ctx *ctx, sluice_op *down);

/** SESSION windows (Flink's merging session windows; exec/op_session.c). */
sluice_op *sluice_op_session_new(const sluice_query_plan *q, sluice_op_ctx *ctx, sluice_op *down);

/** The output of one query: evaluates the SELECT items over each row it
 *  gets (the source row of a stateless query, else the post-aggregation
 *  row) into a sluice_row_batch, with each row's change kind. */
sluice_op *sluice_op_sink_new(const sluice_query_plan *q, sluice_op_ctx *ctx);
/** The rows collected since the last clear (owned by the sink). */
const sluice_row_batch *sluice_op_sink_output(const sluice_op *sink);
/** Empty the output (a new micro-batch). */
void sluice_op_sink_clear(sluice_op *sink);

/** A join of two inputs (plan/rel.h, exec/op_join.c).  Rows reach it
 *  through its two inputs: push the left input's batches into
 *  sluice_op_join_input(join, 0) and the right's into (join, 1); the joined
 *  rows go to down.  on_watermark(join, wm) takes the minimum watermark of
 *  both inputs.  plan borrowed. */
sluice_op *sluice_op_join_new(const struct sluice_join_plan *jp, sluice_op_ctx *ctx, sluice_op *down);
/** The operator that takes side `side` (0 left, 1 right) of a join; owned
 *  by the join (closing it is a no-op). */
sluice_op *sluice_op_join_input(sluice_op *join, int side);

/** Event-time temporal join (plan/rel.h, exec/op_temporal_join.c): left
 *  (probe) rows into sluice_op_temporal_join_input(op, 0), the versioned
 *  table's changelog into (op, 1).  plan borrowed. */
sluice_op *sluice_op_temporal_join_new(const struct sluice_temporal_join_plan *tp, sluice_op_ctx *ctx,
                                       sluice_op *down);
sluice_op *sluice_op_temporal_join_input(sluice_op *join, int side);

/** OVER aggregates (plan/rel.h, exec/op_over.c).  plan borrowed. */
sluice_op *sluice_op_over_new(const struct sluice_over_plan *op, sluice_op_ctx *ctx, sluice_op *down);

/** Top-N per partition, ROW_NUMBER/RANK/DENSE_RANK <= N (plan/rel.h,
 *  exec/op_rank.c).  plan borrowed. */
sluice_op *sluice_op_rank_new(const struct sluice_rank_plan *rp, sluice_op_ctx *ctx, sluice_op *down);

/** Lookup join (plan/rel.h sluice_lookup_plan, exec/op_lookup_join.c):
 *  the probe rows are pushed into it, the joined rows go to down; the
 *  table is lp->table_binding, asked once per batch.  Stateless.  plan
 *  borrowed. */
sluice_op *sluice_op_lookup_join_new(const struct sluice_lookup_plan *lp, sluice_op_ctx *ctx, sluice_op *down);

/** The output of a query block that other queries read (a view or
 *  subquery): evaluates the SELECT items like the sink operator and pushes
 *  the rows, with their change kinds, to down (exec/op_project.c). */
sluice_op *sluice_op_project_new(const sluice_query_plan *q, sluice_op_ctx *ctx, sluice_op *down);

/** Where a derived relation's rows leave it: hands each batch to every
 *  reader added with sluice_op_tee_add(), stamped with row (borrowed) as
 *  its shape and the time set by sluice_op_tee_set_time() (exec/op_tee.c). */
sluice_op *sluice_op_tee_new(const sluice_source_plan *row, sluice_op_ctx *ctx);
/** Add a reader; 0, or -1 out of memory. */
int sluice_op_tee_add(sluice_op *tee, sluice_op *down);
/** The relation's watermark and processing-time watermark (ms) as the
 *  micro-batch began. */
void sluice_op_tee_set_time(sluice_op *tee, int64_t watermark, int64_t proc_watermark);

/* ---------------- helpers the operators share ---------------- */

/** Write the row of record rec (of source sp / instance src) to the dead
 *  letter with its position; sink NULL for a source-level failure. */
void sluice_op_dead_letter(sluice_op_ctx *ctx, const sluice_source_plan *sp, sluice_source *src,
                           const sluice_record *rec, const char *sink, const char *reason);

/** Copy the bytes of a VARCHAR value, or an ARRAY deeply, into arena
 *  (other types: no-op).  0, or -1 out of memory. */
int sluice_op_copy_string(sluice_arena *a, sluice_value *v);

/** Count a SUM that overflowed to NULL in query q (*counter), and warn at
 *  the 1st, 10th, 100th, ... time (a warning per group could flood the
 *  log). */
void sluice_op_note_sum_overflow(const sluice_query_plan *q, uint64_t *counter);

/**
 * Where an aggregating operator builds its output: the post-aggregation
 * row of one group (plan.h: window bounds, rank, keys, results), checked
 * against HAVING, then queued with its change kind; the queue goes
 * downstream as one batch every SLUICE_EMIT_BATCH rows and on flush.  The
 * rows' strings stay the state's: flush before the state frees them.
 */
#define SLUICE_EMIT_BATCH 1024
typedef struct sluice_emitter {
    const sluice_query_plan *q;
    sluice_op *down;               /**< borrowed */
    sluice_arena *arena;           /**< HAVING's strings (borrowed) */
    size_t width;                  /**< values per post row */
    sluice_value *post;            /**< the row being built */
    sluice_value *rows;            /**< queued rows, SLUICE_EMIT_BATCH x width */
    sluice_row_kind *kinds;
    size_t n;
} sluice_emitter;

sluice_err_t sluice_emitter_init(sluice_emitter *em, const sluice_query_plan *q, sluice_op_ctx *ctx,
                                 sluice_op *down);
void sluice_emitter_free(sluice_emitter *em);
/** Fill em->post for a group: bounds [start, end), keys, results of the
 *  slots; rank NULL. */
void sluice_emitter_fill(sluice_emitter *em, int64_t start, int64_t end, const sluice_value *keys,
                         const sluice_agg_slot *slots);
/** Fill em->post as sluice_emitter_fill, with the aggregates' results
 *  given as values (naggs; borrowed until the push). */
void sluice_emitter_fill_values(sluice_emitter *em, int64_t start, int64_t end, const sluice_value *keys,
                                const sluice_value *results);
/** HAVING over em->post (1 without HAVING). */
int sluice_emitter_having(sluice_emitter *em);
/** Queue em->post with kind; 0, or -1 when downstream failed. */
int sluice_emitter_push(sluice_emitter *em, sluice_row_kind kind);
/** Push the queued rows downstream; 0 or -1. */
int sluice_emitter_flush(sluice_emitter *em);

/* ---------------- snapshot pieces the operators share ---------------- */

/** Snapshot format written (docs/architecture.md "Snapshot bytes"); the
 *  oldest still read. */
#define SLUICE_SNAPSHOT_VERSION 2
#define SLUICE_SNAPSHOT_VERSION_MIN 1

/** Times restored from a snapshot are sentinels or within +-2^62 ms, so
 *  that arithmetic on them cannot overflow. */
#define SLUICE_SANE_TIME(t) ((t) >= -((int64_t)1 << 62) && (t) <= ((int64_t)1 << 62))

/** Decode a group key of planned type `type` (NULL or that type; else
 *  d->bad is set).  Strings into arena. */
static inline sluice_value sluice_snap_dec_key(sluice_dec *d, sluice_type_t type, sluice_arena *arena) {
    sluice_value v = sluice_dec_value(d, arena);
    if (!d->bad && v.type != SLUICE_TYPE_NULL && v.type != type) d->bad = 1;
    return v;
}
/** The hash of n group keys, as the operators compute it per row. */
static inline uint64_t sluice_snap_keys_hash(const sluice_value *keys, size_t n) {
    uint64_t hash = 0x51ed270b27eb0bULL;
    for (size_t k = 0; k < n; k++) hash = sluice_value_hash(&keys[k], hash);
    return hash;
}
/** Arena bytes a copied VARCHAR takes (sluice_arena_alloc rounds to 16,
 *  at least 16); 0 for other types. */
static inline int64_t sluice_snap_string_bytes(const sluice_value *v) {
    if (v->type != SLUICE_TYPE_VARCHAR) return 0;
    return (int64_t)(((v->len ? v->len : 1) + 15u) & ~(size_t)15u);
}
/** Arena bytes of the string of slot s of aggregate ag (MIN/MAX of
 *  VARCHAR; other slots hold none, whatever their bits look like). */
static inline int64_t sluice_snap_slot_string_bytes(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    return ag->fn->holds_string ? sluice_snap_string_bytes(&s->v) : 0;
}
/** The arena block size for strings of `hint` bytes (a snapshot's
 *  string_bytes) with `left` payload bytes to decode: every string takes
 *  at least 5 payload bytes and at most 4 times that in the arena. */
size_t sluice_snap_arena_block(int64_t hint, size_t left);

#endif
