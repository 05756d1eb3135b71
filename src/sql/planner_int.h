/*
 * sluice sql — what the planner's files share (planner.c binds
 * expressions and plans queries; plan_source.c plans CREATE SOURCE).
 * Private to src/sql/.
 */
#ifndef SLUICE_SQL_PLANNER_INT_H
#define SLUICE_SQL_PLANNER_INT_H

#include <stddef.h>

#include "plan/plan.h"
#include "sql/ast.h"

/* The longest window size, slide, gap or watermark delay: 10,000 years
 * (3,652,425 days).  With event times kept to years 0000-9999
 * (format.h), a window's end and a watermark then stay far inside int64;
 * INTERVAL '106751991167' DAY used to give a SESSION whose window_end
 * wrapped around to before its window_start. */
#define MAX_TIME_INTERVAL_MS (3652425LL * 86400000LL)

typedef struct bind_ctx {
    const char *file;
    char *errstr;
    size_t errsz;
    sluice_arena *arena;
    sluice_source_plan *src;
    const char *clause;      /* "WHERE", "SELECT", ... for messages */
    /* aggregate (post) mode */
    int post;
    int windowed;
    sluice_ast **group_asts;
    sluice_expr **group_exprs;
    size_t ngroup;
    sluice_ast **agg_asts;
    sluice_agg_plan *aggs;
    size_t naggs, agg_cap;
    int in_agg;              /* binding an aggregate's argument */
    int topn;                /* ORDER BY ... LIMIT: `rank` exists */
    sluice_plan *plan;       /* for CREATE FUNCTION */
    sluice_query_plan *q;    /* the query being bound (its bound-function calls) */
    int in_udf;              /* binding a bound function's argument */
    int in_unnest;           /* binding the array expression of UNNEST */
    const char *alias;       /* what a qualifier names in src when src has no per-column
                                qualifiers (the FROM table's alias or name) */
    const struct sluice_ast_from *tvf;  /* FROM TABLE(TUMBLE(...)): the window TVF, or NULL */
    struct rel_ctx *rels;    /* views and relations being planned (plan_rel.c) */
} bind_ctx;

/** Write "FILE:LINE:COL: message" into c's error buffer (SLUICE_ERR_SQL).
 *  Returns NULL, so a binder can `return sluice_planner_err(...)`. */
void *sluice_planner_err(bind_ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Index of the column called name in source s (exact match), or -1. */
long sluice_planner_find_column(const sluice_source_plan *s, const char *name);

/** Index of the column `name` of row s that `qualifier` (NULL: any)
 *  names, where a column without its own qualifier (s->qualifiers NULL)
 *  is known by `alias`; -1 when none; *ambiguous = 1 when several match. */
long sluice_planner_resolve(const sluice_source_plan *s, const char *alias, const char *qualifier, const char *name,
                            int *ambiguous);

/** Plan one query block over its FROM into q (terminal: the query of a
 *  sink; else of a view or subquery).  SLUICE_OK, or SLUICE_ERR_SQL /
 *  NOMEM with the message in c. */
sluice_err_t sluice_planner_query(bind_ctx *c, sluice_plan *plan, const struct sluice_ast_sink *s,
                                  sluice_query_plan *q, int terminal);

/** Resolve the FROM clause of s (plan_rel.c): plans the views, subqueries
 *  and joins it reads as relations, and sets q->input, q->source,
 *  q->input_updating, and c->src, c->alias, c->tvf for binding the rest. */
sluice_err_t sluice_planner_from(bind_ctx *c, const struct sluice_ast_sink *s, sluice_query_plan *q);

/** The window of a window TVF (TABLE(TUMBLE|HOP|SESSION(...))) into q
 *  (plan_rel.c). */
sluice_err_t sluice_planner_window_tvf(bind_ctx *c, const struct sluice_ast_from *f, sluice_query_plan *q);

/** Prepare the planning of relations for pipeline ast (views), before
 *  any query: allocates c->rels and plan->rels.  (plan_rel.c) */
sluice_err_t sluice_planner_rels_init(bind_ctx *c, const sluice_ast_pipeline *ast, sluice_plan *plan);

/** One input of a FROM (plan_rel.c): where its rows come from and how
 *  its columns are named. */
typedef struct sluice_from_side {
    sluice_input in;
    sluice_source_plan *row;
    const char *alias;   /**< qualifier of row's columns when row has none of its own */
    int updating;        /**< its rows carry retractions */
} sluice_from_side;

/** FROM l JOIN t FOR SYSTEM_TIME AS OF ... [AS alias] ON ...: a lookup
 *  join of l's rows against lookup table t (a CREATE TABLE without a
 *  watermark, bound in the profile), planned as a relation into *out
 *  (plan_lookup.c).  base names the relation. */
sluice_err_t sluice_planner_lookup_join(bind_ctx *c, const struct sluice_ast_from *f, const sluice_from_side *l,
                                        const sluice_ast_source *table, sluice_from_side *out, const char *base);

/** A new relation of kind with ninputs inputs, named "base.whatN"
 *  (plan_rel.c); NULL with the error in c. */
sluice_rel *sluice_planner_new_rel(bind_ctx *c, sluice_rel_kind kind, const char *base, const char *what,
                                   size_t ninputs);
/** Allocate the arrays of a relation's row of n columns; 0 or -1 (NOMEM). */
int sluice_planner_row_alloc(bind_ctx *c, sluice_source_plan *row, size_t n);
/** Name and type column j of a relation's row. */
void sluice_planner_row_set(sluice_source_plan *row, size_t j, const char *name, sluice_type_t type,
                            sluice_type_t elem);
/** Every column of a source read by a relation is decoded. */
void sluice_planner_use_all(sluice_plan *plan, sluice_input in);

/** Plan a SELECT (and its UNION ALL branches) as a derived relation named
 *  name; its index in plan->rels, or -1 with the error in c. */
long sluice_planner_select_rel(bind_ctx *c, const struct sluice_ast_sink *s, const char *name);

/** 1 when some query or view reads `name` in its FROM. */
int sluice_planner_table_read(const sluice_ast_pipeline *ast, const char *name);

/** 1 when two expressions are the same SQL (planner.c). */
int sluice_planner_ast_equal(const sluice_ast *a, const sluice_ast *b);

/** Plan one CREATE SOURCE: its columns, metadata, timestamp formats and
 *  watermark (plan_source.c).  SLUICE_OK, or SLUICE_ERR_SQL / NOMEM with
 *  the message in c. */
sluice_err_t sluice_planner_source(bind_ctx *c, const sluice_ast_source *s, sluice_source_plan *sp);

/** Bind one expression (planner.c's binder, for plan_func.c). */
sluice_expr *sluice_planner_bind(bind_ctx *c, const sluice_ast *a);

/** Fold e into a constant when its arguments all are (planner.c). */
sluice_expr *sluice_planner_fold(bind_ctx *c, sluice_expr *e);

/** A function of the built-in table (plan_func.c): its name, arity, the
 *  types it takes and its evaluation. */
typedef struct sluice_func_def sluice_func_def;

/** The built-in table's entry called name (case-insensitive), or NULL. */
const sluice_func_def *sluice_func_find(const char *name);

/** Bind a call of def: arguments, their types, the result type and any
 *  plan-time work (a constant pattern compiled once); folds the call when
 *  its arguments are constants and it is deterministic.  NULL with
 *  "FILE:LINE:COL: ..." in c on an error. */
sluice_expr *sluice_plan_func(bind_ctx *c, const sluice_ast *a, const sluice_func_def *def);

#endif
