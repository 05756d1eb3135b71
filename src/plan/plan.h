/*
 * sluice plan — the compiled plan of a pipeline: bound, typed expressions,
 * the decode plan of each source, and per query (sink) the filter, window
 * assigner, aggregate slots, projection and output mode.  Built once by the
 * planner (src/sql/planner.c) from the AST; read-only while running.
 * Private to the engine.
 */
#ifndef SLUICE_PLAN_PLAN_H
#define SLUICE_PLAN_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "format/format.h"
#include "sluice/arena.h"
#include "sluice/error.h"
#include "sluice/value.h"
#include "plan/terms.h"

/* The SQL behind a plan, kept for explain: opaque here (src/sql/ast.h). */
struct sluice_ast;
struct sluice_ast_pipeline;

typedef enum sluice_expr_kind {
    SLUICE_EXPR_CONST,     /**< constant */
    SLUICE_EXPR_COLUMN,    /**< row[column] */
    SLUICE_EXPR_NEG,       /**< -args[0] */
    SLUICE_EXPR_NOT,       /**< NOT args[0] */
    SLUICE_EXPR_ARITH,     /**< op: ADD SUB MUL DIV MOD */
    SLUICE_EXPR_CMP,       /**< op: EQ NE LT LE GT GE */
    SLUICE_EXPR_AND,
    SLUICE_EXPR_OR,
    SLUICE_EXPR_IS_NULL,   /**< negated: IS NOT NULL */
    SLUICE_EXPR_IN,        /**< args[0] IN args[1..] */
    SLUICE_EXPR_BETWEEN,   /**< args[0] BETWEEN args[1] AND args[2] */
    SLUICE_EXPR_LIKE,      /**< args[0] LIKE args[1] */
    SLUICE_EXPR_CASE,      /**< layout as sluice_ast CASE */
    SLUICE_EXPR_CAST,      /**< CAST(args[0] AS type) */
    SLUICE_EXPR_FUNC,      /**< func(args) */
    SLUICE_EXPR_UDF,       /**< a bound function (CREATE FUNCTION): site->values[*site->row] */
    SLUICE_EXPR_SUBSCRIPT  /**< args[0][args[1]]: ARRAY element, 1-based, NULL out of range */
} sluice_expr_kind;

typedef enum sluice_func {
    SLUICE_FN_LOWER, SLUICE_FN_UPPER, SLUICE_FN_LENGTH, SLUICE_FN_SUBSTR, SLUICE_FN_TRIM,
    SLUICE_FN_ABS, SLUICE_FN_ROUND, SLUICE_FN_FLOOR, SLUICE_FN_CEIL, SLUICE_FN_COALESCE,
    SLUICE_FN_SPLIT,        /**< SPLIT(text, delimiter) -> ARRAY<VARCHAR> (Flink's SPLIT) */
    SLUICE_FN_CARDINALITY   /**< CARDINALITY(array) -> BIGINT */
} sluice_func;

struct sluice_udf_site;
struct sluice_expr;

/** Evaluation of a function of the built-in table (src/sql/plan_func.c,
 *  src/exec/func_*.c): it evaluates its own arguments (so IF and
 *  CONCAT_WS decide which), and returns its result as sluice_expr_eval. */
typedef sluice_value (*sluice_expr_fn)(const struct sluice_expr *e, const sluice_value *row, sluice_arena *arena);

/** A bound expression.  Evaluation never fails: SQL NULL propagates, and
 *  a division by zero, an integer overflow or a CAST that does not convert
 *  gives NULL. */
typedef struct sluice_expr {
    sluice_expr_kind kind;
    sluice_type_t type;         /**< result type; SLUICE_TYPE_NULL: always NULL */
    sluice_type_t elem_type;    /**< type ARRAY: the elements' type */
    sluice_ast_op op;           /**< ARITH, CMP */
    int negated;                /**< IS NOT NULL, NOT IN, NOT BETWEEN, NOT LIKE */
    sluice_func func;
    size_t column;              /**< COLUMN */
    sluice_value constant;      /**< CONST */
    int has_operand, has_else;  /**< CASE */
    size_t nwhen;
    struct sluice_expr **args;
    size_t nargs;
    struct sluice_udf_site *site;  /**< UDF: where its per-row results are */
    int proctime;               /**< PROCTIME(): a processing-time attribute (windows over it
                                     are processing-time windows) */
    int window_time;            /**< window_time (window_end - 1 ms): the event-time attribute
                                     of a window aggregate's rows */
    sluice_expr_fn fn;          /**< FUNC of the built-in table: its evaluation (else `func`) */
    void *aux;                  /**< fn's plan-time data (compiled pattern, unit), or NULL */
} sluice_expr;

/** Evaluate e over `row`.  Strings produced by functions are allocated
 *  from `arena`; strings taken from the row are returned borrowed. */
sluice_value sluice_expr_eval(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);

/** 1 when v is BOOLEAN true (NULL and false are not true: SQL WHERE). */
static inline int sluice_value_is_true(const sluice_value *v) {
    return v->type == SLUICE_TYPE_BOOLEAN && v->u.i;
}

/** CAST of one value to `to` (NULL when it does not convert).  VARCHAR
 *  results are allocated from arena.  An ARRAY casts to VARCHAR only: its
 *  JSON text (as sluice_value_render). */
sluice_value sluice_value_cast(const sluice_value *v, sluice_type_t to, sluice_arena *arena);

/** SQL LIKE with % (any run of characters) and _ (one character: one
 *  UTF-8 code point, as in Flink, Spark and PostgreSQL), no escape
 *  character; other pattern characters match themselves exactly (case
 *  sensitive).  1 on a match.  (text.c) */
int sluice_like_match(const char *s, size_t slen, const char *p, size_t plen);

/** UPPER (upper != 0) or LOWER of UTF-8 text, by Unicode case mapping
 *  (utf8proc, Unicode 15): UPPER is the full mapping, one-to-many where
 *  SpecialCasing.txt says so unconditionally ('straße' -> 'STRASSE', as
 *  Java's toUpperCase in Flink and Spark); LOWER is the simple one-to-one
 *  mapping ('İ' -> 'i'; no final-sigma rule, as utf8proc and PostgreSQL's
 *  libc locales).  The result (possibly longer than s) is allocated from
 *  arena; NULL when the arena is exhausted.  (text.c) */
sluice_value sluice_text_case(const char *s, size_t len, int upper, sluice_arena *arena);

/* ------------------------------------------------------------------ */

typedef enum sluice_window_kind {
    SLUICE_WINDOW_NONE = 0,
    SLUICE_WINDOW_TUMBLE,
    SLUICE_WINDOW_HOP,
    SLUICE_WINDOW_SESSION,
    SLUICE_WINDOW_CUMULATE      /**< Flink's CUMULATE TVF: [s, s + k * slide) for
                                     k = 1 .. size / slide, s = offset + j * size */
} sluice_window_kind;

typedef enum sluice_metadata {
    SLUICE_META_NONE = 0,
    SLUICE_META_TIMESTAMP, SLUICE_META_KEY, SLUICE_META_TOPIC,
    SLUICE_META_PARTITION, SLUICE_META_OFFSET
} sluice_metadata;

/** How one CREATE SOURCE is read. */
typedef struct sluice_source_plan {
    const char *name;
    sluice_schema schema;           /**< declared columns, in order (no pk) */
    sluice_column *columns;
    sluice_ast_column_def *defs;    /**< the declarations (for PATH/FORMAT) */
    sluice_metadata *metadata;      /**< per column */
    sluice_ts_format **ts_formats;  /**< per column; NULL = ISO-8601 / not TIMESTAMP */
    int *used;                      /**< per column: read by some query */
    int has_watermark;
    size_t watermark_column;
    int64_t watermark_delay_ms;     /**< WATERMARK FOR c AS c - delay */
    /* the row of a derived relation (a view, subquery or join; plan.h
     * sluice_rel): NULL for a source */
    const char **qualifiers;        /**< per column: the table alias it is known by, or NULL */
    unsigned char *hidden;          /**< per column: not part of SELECT * (planner's helper columns) */
    int derived;                    /**< 1: the row of plan->rels[rel], not a source */
    size_t rel;
} sluice_source_plan;

/** Where a query block or a relational node reads its rows. */
typedef struct sluice_input {
    int derived;                    /**< 0: plan->sources[index]; 1: plan->rels[index] */
    size_t index;
} sluice_input;

struct sluice_agg_fn;
struct sluice_udf_binding;

/** One CREATE FUNCTION: a scalar function whose implementation the
 *  profile binds (`[function NAME]`, src/exec/udf.h). */
typedef struct sluice_function_plan {
    const char *name;
    int line, col;
    const char **arg_names;
    sluice_type_t *arg_types;
    size_t nargs;
    sluice_type_t returns;
    int deterministic;
    struct sluice_udf_binding *binding;  /**< set by the pipeline before running; NULL: unbound */
} sluice_function_plan;

/** Per query, the state of its bound-function calls over the batch being
 *  evaluated (written by the engine only, exec/udf.c): the engine computes
 *  every call's results for the whole batch first, in batched calls, then
 *  evaluates rows with `row` set to the row's index. */
typedef struct sluice_udf_state {
    size_t row;                     /**< index of the row being evaluated */
    unsigned char *failed;          /**< per row: a call failed (on_error = dead_letter) */
    char reason[256];               /**< why, for the dead letter */
    size_t cap;                     /**< rows allocated in failed and in each site */
} sluice_udf_state;

/** One call of a bound function in a query. */
typedef struct sluice_udf_site {
    size_t function;                /**< index into plan->functions */
    struct sluice_expr **args;      /**< over the source row */
    size_t nargs;
    sluice_value *values;           /**< per row of the batch: the result */
    sluice_udf_state *state;        /**< its query's */
} sluice_udf_site;

/** One aggregate call of a query. */
typedef struct sluice_agg_plan {
    const struct sluice_agg_fn *fn; /**< its function (exec/aggregate.h) */
    sluice_expr *arg;               /**< over the source row; NULL for COUNT(*) */
    sluice_type_t result_type;
    sluice_expr *filter;            /**< FILTER (WHERE cond) over the source row, or NULL:
                                         a row counts for this aggregate only when cond is TRUE */
    int distinct;                   /**< NAME(DISTINCT x): each distinct value once */
    const struct sluice_agg_fn *inner; /**< when fn keeps a multiset of the values
                                         (DISTINCT, or MIN/MAX over an updating input): the
                                         function applied over it; else NULL */
} sluice_agg_plan;

/*
 * A query's post-aggregation row, over which SELECT items and HAVING are
 * bound when the query aggregates:
 *   [0] window_start  [1] window_end  [2] rank (top-N only, else NULL)
 *   [3 .. 3+ngroup) group keys
 *   [3+ngroup .. 3+ngroup+naggs) aggregate results
 * For a stateless query SELECT items are bound over the source row.
 */
#define SLUICE_POST_WINDOW_START 0
#define SLUICE_POST_WINDOW_END 1
#define SLUICE_POST_RANK 2
#define SLUICE_POST_GROUP0 3

/*
 * FROM src CROSS JOIN UNNEST(array) [WITH ORDINALITY] AS t(column [, ordinality]):
 * each source row becomes one row per element of `array` (evaluated over
 * the source row), the source's columns followed by the element and, WITH
 * ORDINALITY, its 1-based position; a NULL or empty array gives no row
 * (Flink's and Trino's CROSS JOIN semantics).  Every other expression of
 * the query (WHERE, GROUP BY, aggregates, SELECT) is bound over that
 * extended row, whose shape is `extended`.  Expanded by exec/unnest.c.
 */
typedef struct sluice_unnest_plan {
    sluice_expr *array;             /**< over the source row; type ARRAY */
    sluice_type_t elem_type;        /**< the element column's type */
    int ordinality;                 /**< WITH ORDINALITY: a position column follows */
    size_t ncols_in;                /**< the source's columns */
    const char *column;             /**< the element column's name */
    const char *ordinality_column;  /**< or NULL */
    const struct sluice_ast *array_ast;    /**< for explain */
    sluice_source_plan extended;    /**< the source plan with the new columns appended */
} sluice_unnest_plan;

typedef struct sluice_query_plan {
    const char *name;               /**< the sink name (or the view's / subquery's name) */
    size_t source;                  /**< index into plan->sources: the source read, or for a
                                         query over a derived relation the first source under it */
    sluice_input input;             /**< what the query reads: that source, or a relation */
    sluice_unnest_plan *unnest;     /**< CROSS JOIN UNNEST, or NULL */
    sluice_expr *where;             /**< or NULL */
    int aggregate;                  /**< 0: stateless (filter + projection) */
    int input_updating;             /**< the rows reaching the aggregate carry retractions
                                         (update-before, delete): set by the planner of the
                                         FROM clause; 0 keeps the append-only state */
    sluice_window_kind window;
    int proctime;                   /**< windows over PROCTIME(): the wall clock
                                         at processing time, not ts_column */
    size_t ts_column;               /**< event-time column of the window */
    int64_t size_ms, slide_ms;      /**< TUMBLE: slide == size; SESSION: 0;
                                         CUMULATE: slide = step, size = the largest window */
    int64_t offset_ms;              /**< TUMBLE/HOP: windows start at offset + k * slide
                                         (0 <= offset < slide; Flink's window TVF offset);
                                         CUMULATE: at offset + k * size (0 <= offset < size) */
    int64_t gap_ms;                 /**< SESSION: the gap closing a session */
    sluice_expr **group;            /**< group keys over the source row */
    size_t ngroup;
    sluice_agg_plan *aggs;
    size_t naggs;
    sluice_expr **outputs;          /**< one per output column */
    sluice_expr *having;            /**< over the post-aggregation row, or NULL */
    sluice_emit_mode emit;          /**< resolved: never DEFAULT */
    /* top-N per window: ORDER BY aggs[order_agg] DESC|ASC LIMIT limit */
    int topn;
    size_t order_agg;               /**< index into aggs */
    int order_desc;
    int64_t limit;                  /**< >= 1 */
    const struct sluice_ast *order_ast;    /**< the aggregate, for explain */
    sluice_schema schema;           /**< output columns + PRIMARY KEY */
    /* the SQL text behind the plan, for explain (borrowed from the AST) */
    const struct sluice_ast *where_ast, *having_ast;
    struct sluice_ast **group_asts;        /**< ngroup */
    struct sluice_ast **agg_asts;          /**< naggs */
    sluice_udf_site **udf_sites;    /**< calls of bound functions, in binding order */
    size_t nudf_sites;
    sluice_udf_state *udf;          /**< their state (NULL when nudf_sites == 0) */
} sluice_query_plan;

/** The kinds of derived relation (a view, a subquery, a join, ...). */
typedef enum sluice_rel_kind {
    SLUICE_REL_QUERY,               /**< a query block: query */
    SLUICE_REL_JOIN,                /**< join (plan/rel.h) of inputs[0] (left) and inputs[1] */
    SLUICE_REL_RANK,                /**< rank (plan/rel.h) over inputs[0] */
    SLUICE_REL_UNION,               /**< UNION ALL of inputs[0 .. ninputs) */
    SLUICE_REL_TEMPORAL,            /**< event-time temporal join (plan/rel.h) of inputs[0] (probe)
                                         and inputs[1] (versioned table) */
    SLUICE_REL_OVER,                /**< OVER aggregates (plan/rel.h) over inputs[0] */
    SLUICE_REL_LOOKUP               /**< lookup join (plan/rel.h) of inputs[0] against a lookup table */
} sluice_rel_kind;

/**
 * A derived relation: rows that queries read like a source's, computed by
 * the nodes of the plan.  Relations are in plan->rels in dependency order
 * (a relation's inputs come before it), so that index order is a
 * topological order of the DAG.
 */
typedef struct sluice_rel {
    sluice_rel_kind kind;
    const char *name;               /**< e.g. the view's name, "q9.join1", for messages */
    sluice_source_plan row;         /**< the shape of its rows (derived = 1) */
    sluice_input *inputs;
    size_t ninputs;
    sluice_query_plan *query;       /**< QUERY */
    struct sluice_join_plan *join;  /**< JOIN */
    struct sluice_rank_plan *rank;  /**< RANK */
    struct sluice_temporal_join_plan *temporal; /**< TEMPORAL */
    struct sluice_over_plan *over;  /**< OVER */
    struct sluice_lookup_plan *lookup; /**< LOOKUP */
    int updating;                   /**< its rows carry retractions */
} sluice_rel;

/** Something a plan must release besides its arena (a compiled regular
 *  expression): run by sluice_plan_free(), newest first. */
typedef struct sluice_plan_cleanup {
    void (*fn)(void *arg);
    void *arg;
    struct sluice_plan_cleanup *next;
} sluice_plan_cleanup;

typedef struct sluice_plan {
    const char *filename;
    sluice_source_plan *sources;
    size_t nsources;
    sluice_rel *rels;               /**< derived relations, in dependency order */
    size_t nrels;
    sluice_query_plan *queries;
    size_t nqueries;
    sluice_function_plan *functions; /**< CREATE FUNCTION, in order */
    size_t nfunctions;
    sluice_arena *arena;            /**< owns every plan object and string */
    sluice_plan_cleanup *cleanups;  /**< in the arena; run before it is destroyed */
} sluice_plan;

/** Bind and type-check a parsed pipeline and compile it into a plan.
 *  Semantic errors return SLUICE_ERR_SQL with errstr
 *  "FILE:LINE:COL: <what is wrong>" (docs/sql.md "Errors").  The plan
 *  borrows names and strings from the AST: keep the AST's arena alive
 *  until sluice_plan_free().  Free with sluice_plan_free(). */
sluice_err_t sluice_plan_build(const struct sluice_ast_pipeline *ast, sluice_plan **out,
                               char *errstr, size_t errstr_size);

/** Make the aggregates of query q take input rows of every change kind
 *  (sets q->input_updating; Flink's GroupAggFunction with retraction):
 *  MIN and MAX keep the multiset of their values, so that a retracted
 *  extreme gives way to the next.  Refused, as Flink refuses them, with
 *  SLUICE_ERR_SQL and "FILE:LINE:COL: ..." in errstr: a window (TUMBLE,
 *  HOP, SESSION; reported at line:col) and APPROX_COUNT_DISTINCT, which
 *  cannot retract (reported at its call).  The planner calls it for a
 *  query whose FROM yields an updating relation.  (sql/plan_changelog.c) */
sluice_err_t sluice_plan_input_updating(const sluice_plan *plan, sluice_query_plan *q, int line, int col,
                                        char *errstr, size_t errstr_size);

/** Print the plan of every query in a readable form (sluice explain). */
void sluice_plan_explain(const sluice_plan *plan, FILE *out);

void sluice_plan_free(sluice_plan *plan);

/** Index of the source called name, or -1. */
long sluice_plan_source_index(const sluice_plan *plan, const char *name);

/** Index of the function called name (case-insensitive), or -1. */
long sluice_plan_function_index(const sluice_plan *plan, const char *name);

/** Index of the query (sink) called name, or -1. */
long sluice_plan_query_index(const sluice_plan *plan, const char *name);

/* ------------------------------------------------------------------ */
/* Window assignment (Calcite/Flink group windows, aligned to the epoch) */

/** Start of the TUMBLE window of size `size_ms` containing ts: the largest
 *  multiple of size_ms <= ts (floor, also for negative ts). */
int64_t sluice_window_tumble_start(int64_t ts, int64_t size_ms);

/** The HOP windows [s, s+size) containing ts, s a multiple of slide:
 *  writes their starts in increasing order to starts[] (at most
 *  size/slide entries) and returns how many. */
size_t sluice_window_hop_starts(int64_t ts, int64_t slide_ms, int64_t size_ms,
                                int64_t *starts, size_t max);

#endif
