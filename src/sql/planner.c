/*
 * The planner: binds names, checks types and the rules of docs/sql.md, and
 * compiles the AST into a plan (plan/plan.h).  Errors name FILE:LINE:COL.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exec/aggregate.h"
#include "plan/plan.h"
#include "sql/ast.h"
#include "sql/planner_int.h"
#include "exec/udf.h"
#include "format/format.h"

void *sluice_planner_err(bind_ctx *c, int line, int col, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sluice_seterr(c->errstr, c->errsz, SLUICE_ERR_SQL, "%s:%d:%d: %s", c->file, line, col, msg);
    return NULL;
}

/* ---------------- AST helpers ---------------- */

static int is_aggregate_name(const char *n) {
    return sluice_agg_is_name(n);
}

static int is_window_name(const char *n) {
    return strcmp(n, "TUMBLE") == 0 || strcmp(n, "HOP") == 0 || strcmp(n, "SESSION") == 0;
}

static int ast_has_aggregate(const sluice_ast *a) {
    if (!a) return 0;
    if (a->kind == SLUICE_AST_FUNC && is_aggregate_name(a->name)) return 1;
    for (size_t i = 0; i < a->nargs; i++)
        if (ast_has_aggregate(a->args[i])) return 1;
    return 0;
}

static int ast_equal(const sluice_ast *a, const sluice_ast *b) {
    if (a->kind != b->kind || a->op != b->op || a->negated != b->negated || a->star != b->star ||
        a->distinct != b->distinct || !a->filter != !b->filter || (a->filter && !ast_equal(a->filter, b->filter)) ||
        a->nargs != b->nargs || a->has_operand != b->has_operand || a->has_else != b->has_else ||
        a->nwhen != b->nwhen)
        return 0;
    switch (a->kind) {
    case SLUICE_AST_LITERAL:
    case SLUICE_AST_INTERVAL:
        if (a->lit.type != b->lit.type) return 0;
        if (!sluice_value_equal(&a->lit, &b->lit)) return 0;
        break;
    case SLUICE_AST_COLUMN:
        /* q.c and c are the same column when c is unambiguous (the binder checks that) */
        if (strcmp(a->name, b->name) != 0) return 0;
        if (a->qualifier && b->qualifier && strcmp(a->qualifier, b->qualifier) != 0) return 0;
        break;
    case SLUICE_AST_FUNC:
        if (strcmp(a->name, b->name) != 0) return 0;
        break;
    case SLUICE_AST_CAST:
        if (a->cast_type != b->cast_type) return 0;
        break;
    default: break;
    }
    for (size_t i = 0; i < a->nargs; i++)
        if (!ast_equal(a->args[i], b->args[i])) return 0;
    return 1;
}


/* ---------------- typing ---------------- */

static int is_numeric(sluice_type_t t) {
    return t == SLUICE_TYPE_BIGINT || t == SLUICE_TYPE_DOUBLE;
}

/* Common type of two branches (CASE, COALESCE, IN); -1 when incompatible. */
static int common_type(sluice_type_t a, sluice_type_t b) {
    if (a == SLUICE_TYPE_NULL) return b;
    if (b == SLUICE_TYPE_NULL) return a;
    if (a == b) return a;
    if (is_numeric(a) && is_numeric(b)) return SLUICE_TYPE_DOUBLE;
    return -1;
}

static int comparable(sluice_type_t a, sluice_type_t b) {
    return common_type(a, b) >= 0;
}

static sluice_expr *new_expr(bind_ctx *c, sluice_expr_kind kind, sluice_type_t type, size_t nargs) {
    sluice_expr *e = sluice_arena_alloc(c->arena, sizeof *e);
    if (!e) return sluice_planner_err(c, 0, 0, "out of memory");
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->type = type;
    e->nargs = nargs;
    if (nargs) {
        e->args = sluice_arena_alloc(c->arena, nargs * sizeof(sluice_expr *));
        if (!e->args) return sluice_planner_err(c, 0, 0, "out of memory");
    }
    return e;
}

/* Fold an expression whose arguments are all constants into a constant. */
static sluice_expr *fold(bind_ctx *c, sluice_expr *e) {
    if (e->kind == SLUICE_EXPR_CONST || e->kind == SLUICE_EXPR_COLUMN) return e;
    for (size_t i = 0; i < e->nargs; i++)
        if (e->args[i]->kind != SLUICE_EXPR_CONST) return e;
    sluice_value v = sluice_expr_eval(e, NULL, c->arena);
    if (v.type == SLUICE_TYPE_VARCHAR) {
        char *p = sluice_arena_strndup(c->arena, v.u.s, v.len);
        if (!p) return sluice_planner_err(c, 0, 0, "out of memory");
        v.u.s = p;
    } else if (v.type == SLUICE_TYPE_ARRAY && sluice_value_copy(c->arena, &v, &v) != 0) {
        return sluice_planner_err(c, 0, 0, "out of memory");
    }
    sluice_type_t type = e->type, elem = e->elem_type;
    memset(e, 0, sizeof *e);
    e->kind = SLUICE_EXPR_CONST;
    e->type = type;
    e->elem_type = elem;
    e->constant = v;
    return e;
}

/* Make a VARCHAR constant compared with a TIMESTAMP into a TIMESTAMP
 * constant (`date >= '2001-01-02'`). */
static sluice_expr *coerce_ts_literal(bind_ctx *c, sluice_expr *e, const sluice_ast *a, sluice_type_t want) {
    if (want != SLUICE_TYPE_TIMESTAMP || e->kind != SLUICE_EXPR_CONST || e->type != SLUICE_TYPE_VARCHAR)
        return e;
    int64_t ms;
    if (sluice_ts_parse(NULL, e->constant.u.s, e->constant.len, &ms) != 0)
        return sluice_planner_err(c, a->line, a->col, "'%.*s' is not a TIMESTAMP (expected e.g. '2001-01-01 00:00:00')",
                        (int)e->constant.len, e->constant.u.s);
    e->type = SLUICE_TYPE_TIMESTAMP;
    e->constant = sluice_value_timestamp(ms);
    return e;
}

static sluice_expr *bind(bind_ctx *c, const sluice_ast *a);


long sluice_planner_find_column(const sluice_source_plan *s, const char *name) {
    for (size_t i = 0; i < s->schema.ncolumns; i++)
        if (strcmp(s->columns[i].name, name) == 0) return (long)i;
    return -1;
}

long sluice_planner_resolve(const sluice_source_plan *s, const char *alias, const char *qualifier, const char *name,
                            int *ambiguous) {
    long found = -1;
    *ambiguous = 0;
    for (size_t i = 0; i < s->schema.ncolumns; i++) {
        if (strcmp(s->columns[i].name, name) != 0) continue;
        if (qualifier) {
            const char *q = s->qualifiers ? s->qualifiers[i] : alias;
            if (!q || strcmp(q, qualifier) != 0) continue;
        }
        if (found >= 0) {
            *ambiguous = 1;
            return found;
        }
        found = (long)i;
    }
    return found;
}

/* The column a COLUMN node names in c->src (qualifier included), or -1;
 * -2 with the error set when the name is ambiguous. */
static long find_ast_column(bind_ctx *c, const sluice_ast *a) {
    int amb;
    long i = sluice_planner_resolve(c->src, c->alias, a->qualifier, a->name, &amb);
    if (amb) {
        sluice_planner_err(c, a->line, a->col, "column '%s' is ambiguous in %s: qualify it with its table's alias",
                           a->name, c->clause);
        return -2;
    }
    return i;
}

static void *unknown_column(bind_ctx *c, const sluice_ast *a) {
    if (a->qualifier)
        return sluice_planner_err(c, a->line, a->col, "unknown column '%s.%s' in %s", a->qualifier, a->name, c->clause);
    char list[400] = "";
    for (size_t i = 0; i < c->src->schema.ncolumns; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, c->src->columns[i].name, sizeof list - strlen(list) - 1);
    }
    if (c->windowed) strncat(list, ", window_start, window_end", sizeof list - strlen(list) - 1);
    return sluice_planner_err(c, a->line, a->col, "unknown column '%s' in %s (source %s has: %s)", a->name, c->clause,
                    c->src->name, list);
}

static void *not_topn_rank(bind_ctx *c, const sluice_ast *a) {
    return sluice_planner_err(c, a->line, a->col,
                    "'rank' exists only in a top-N query (GROUP BY a window ... ORDER BY <aggregate> DESC LIMIT n)");
}

static sluice_expr *bind_column(bind_ctx *c, const sluice_ast *a) {
    if (c->post && !c->in_agg) {
        if (c->windowed && c->q->window != SLUICE_WINDOW_SESSION && strcmp(a->name, "window_time") == 0) {
            /* Flink's window_time: window_end - 1 ms, the time attribute of a
             * window's rows (a window over them places each in the window
             * that holds its last instant) */
            sluice_expr *end = new_expr(c, SLUICE_EXPR_COLUMN, SLUICE_TYPE_TIMESTAMP, 0);
            sluice_expr *one = new_expr(c, SLUICE_EXPR_CONST, SLUICE_TYPE_INTERVAL, 0);
            sluice_expr *e = new_expr(c, SLUICE_EXPR_ARITH, SLUICE_TYPE_TIMESTAMP, 2);
            if (!end || !one || !e) return NULL;
            end->column = SLUICE_POST_WINDOW_END;
            one->constant.type = SLUICE_TYPE_INTERVAL;
            one->constant.u.i = 1;
            e->op = SLUICE_OP_SUB;
            e->args[0] = end;
            e->args[1] = one;
            e->window_time = 1;
            return e;
        }
        if (c->windowed && (strcmp(a->name, "window_start") == 0 || strcmp(a->name, "window_end") == 0)) {
            sluice_expr *e = new_expr(c, SLUICE_EXPR_COLUMN, SLUICE_TYPE_TIMESTAMP, 0);
            if (e) e->column = strcmp(a->name, "window_start") == 0 ? SLUICE_POST_WINDOW_START : SLUICE_POST_WINDOW_END;
            return e;
        }
        if (c->topn && strcmp(a->name, "rank") == 0) {
            if (strcmp(c->clause, "SELECT") != 0)
                return sluice_planner_err(c, a->line, a->col,
                                "'rank' cannot be used in %s: groups are ranked after HAVING has filtered them",
                                c->clause);
            sluice_expr *e = new_expr(c, SLUICE_EXPR_COLUMN, SLUICE_TYPE_BIGINT, 0);
            if (e) e->column = SLUICE_POST_RANK;
            return e;
        }
        if (find_ast_column(c, a) != -1)
            return sluice_planner_err(c, a->line, a->col,
                            "column '%s' in %s must appear in GROUP BY or be used in an aggregate function",
                            a->name, c->clause);
        if (strcmp(a->name, "rank") == 0) return not_topn_rank(c, a);
        return unknown_column(c, a);
    }
    long i = find_ast_column(c, a);
    if (i == -2) return NULL;
    if (i < 0) {
        if (strcmp(a->name, "window_start") == 0 || strcmp(a->name, "window_end") == 0)
            return sluice_planner_err(c, a->line, a->col,
                            "'%s' exists only in a query with GROUP BY TUMBLE(...), HOP(...) or SESSION(...)", a->name);
        if (strcmp(a->name, "rank") == 0) return not_topn_rank(c, a);
        return unknown_column(c, a);
    }
    sluice_expr *e = new_expr(c, SLUICE_EXPR_COLUMN, c->src->columns[i].type, 0);
    if (e) {
        e->elem_type = c->src->defs[i].elem_type;
        e->column = (size_t)i;
        c->src->used[i] = 1;
    }
    return e;
}

/* FILTER (WHERE cond) of aggregate a: cond over the same row as the
 * argument, BOOLEAN. */
static sluice_expr *bind_agg_filter(bind_ctx *c, const sluice_ast *a) {
    c->in_agg = 1;
    sluice_expr *f = bind(c, a->filter);
    c->in_agg = 0;
    if (f && f->type != SLUICE_TYPE_BOOLEAN && f->type != SLUICE_TYPE_NULL)
        return sluice_planner_err(c, a->filter->line, a->filter->col, "FILTER needs a BOOLEAN condition, got %s",
                                  sluice_type_name(f->type));
    return f;
}

static sluice_expr *bind_aggregate(bind_ctx *c, const sluice_ast *a) {
    if (!c->post)
        return sluice_planner_err(c, a->line, a->col, "aggregate function %s is not allowed in %s", a->name, c->clause);
    if (c->in_agg)
        return sluice_planner_err(c, a->line, a->col, "aggregate function %s cannot be nested in another aggregate", a->name);
    /* the same aggregate twice shares one slot */
    for (size_t k = 0; k < c->naggs; k++) {
        if (ast_equal(c->agg_asts[k], a)) {
            sluice_expr *e = new_expr(c, SLUICE_EXPR_COLUMN, c->aggs[k].result_type, 0);
            if (e) e->column = SLUICE_POST_GROUP0 + c->ngroup + k;
            return e;
        }
    }
    sluice_agg_plan ag;
    memset(&ag, 0, sizeof ag);
    ag.fn = sluice_agg_find(a->name, a->star);
    if (!ag.fn) return sluice_planner_err(c, a->line, a->col, "only COUNT accepts '*'");
    if (!a->star) {
        if (a->nargs != 1)
            return sluice_planner_err(c, a->line, a->col, "%s takes exactly one argument", a->name);
        c->in_agg = 1;
        ag.arg = bind(c, a->args[0]);
        c->in_agg = 0;
        if (!ag.arg) return NULL;
    }
    /* an ARRAY has no sum or order that an aggregate could keep (its
     * elements would also outlive the batch they were decoded in) */
    if (ag.arg && ag.arg->type == SLUICE_TYPE_ARRAY && strcmp(a->name, "COUNT") != 0)
        return sluice_planner_err(c, a->args[0]->line, a->args[0]->col, "%s of an ARRAY is not supported", a->name);
    char why[160];
    int rt = ag.fn->type(ag.arg ? ag.arg->type : SLUICE_TYPE_NULL, why, sizeof why);
    if (rt < 0) return sluice_planner_err(c, a->args[0]->line, a->args[0]->col, "%s", why);
    ag.result_type = (sluice_type_t)rt;
    if (a->filter && !(ag.filter = bind_agg_filter(c, a))) return NULL;
    /* DISTINCT changes nothing for MIN, MAX and APPROX_COUNT_DISTINCT; the
     * others see each distinct value once (exec/agg_multiset.c) */
    ag.distinct = a->distinct;
    if (a->distinct && ag.fn->retract && !ag.fn->destroy) {
        if (ag.arg->type == SLUICE_TYPE_ARRAY)
            return sluice_planner_err(c, a->args[0]->line, a->args[0]->col, "%s(DISTINCT ...) of an ARRAY is not supported",
                                      a->name);
        ag.inner = ag.fn;
        ag.fn = &sluice_agg_distinct;
    }
    if (c->naggs == c->agg_cap) {
        size_t nc = c->agg_cap ? c->agg_cap * 2 : 8;
        sluice_agg_plan *na = sluice_arena_alloc(c->arena, nc * sizeof *na);
        sluice_ast **nn = sluice_arena_alloc(c->arena, nc * sizeof *nn);
        if (!na || !nn) return sluice_planner_err(c, 0, 0, "out of memory");
        if (c->naggs) {
            memcpy(na, c->aggs, c->naggs * sizeof *na);
            memcpy(nn, c->agg_asts, c->naggs * sizeof *nn);
        }
        c->aggs = na;
        c->agg_asts = nn;
        c->agg_cap = nc;
    }
    c->aggs[c->naggs] = ag;
    c->agg_asts[c->naggs] = (sluice_ast *)a;
    sluice_expr *e = new_expr(c, SLUICE_EXPR_COLUMN, ag.result_type, 0);
    if (e) e->column = SLUICE_POST_GROUP0 + c->ngroup + c->naggs;
    c->naggs++;
    return e;
}

static const char *type_list(const sluice_type_t *t, size_t n, char *buf, size_t size) {
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", i ? ", " : "", sluice_type_name(t[i]));
    }
    return buf;
}

/* A call of a function declared with CREATE FUNCTION: arity and argument
 * types are checked against the declaration (BIGINT widens to DOUBLE, NULL
 * fits any type), and the call becomes a site whose results the engine
 * computes per batch (exec/udf.c). */
static sluice_expr *bind_udf(bind_ctx *c, const sluice_ast *a, size_t fi) {
    const sluice_function_plan *f = &c->plan->functions[fi];
    if (c->post && !c->in_agg)
        return sluice_planner_err(c, a->line, a->col,
                        "function %s is bound by the profile: call it in WHERE, in the SELECT of a query "
                        "without GROUP BY, in a GROUP BY key or in an aggregate's argument, not over "
                        "aggregated rows",
                        f->name);
    if (c->in_unnest)
        return sluice_planner_err(c, a->line, a->col,
                        "function %s is bound by the profile: its call cannot be in the UNNEST expression",
                        f->name);
    if (c->in_udf)
        return sluice_planner_err(c, a->line, a->col,
                        "function %s is bound by the profile: its call cannot be an argument of another such "
                        "function (compute it in a separate query)",
                        f->name);
    char types[200];
    if (a->star || a->nargs != f->nargs)
        return sluice_planner_err(c, a->line, a->col, "%s takes %zu argument%s (%s), got %zu", f->name, f->nargs,
                        f->nargs == 1 ? "" : "s", type_list(f->arg_types, f->nargs, types, sizeof types),
                        a->nargs);
    sluice_expr *e = new_expr(c, SLUICE_EXPR_UDF, f->returns, a->nargs);
    if (!e) return NULL;
    c->in_udf = 1;
    for (size_t i = 0; i < a->nargs; i++) {
        sluice_expr *x = bind(c, a->args[i]);
        if (!x) return NULL;
        sluice_type_t want = f->arg_types[i];
        if (x->type != want && x->type != SLUICE_TYPE_NULL &&
            !(want == SLUICE_TYPE_DOUBLE && x->type == SLUICE_TYPE_BIGINT))
            return sluice_planner_err(c, a->args[i]->line, a->args[i]->col, "argument %zu (%s) of %s needs %s, got %s", i + 1,
                            f->arg_names[i], f->name, sluice_type_name(want), sluice_type_name(x->type));
        if (want == SLUICE_TYPE_DOUBLE && x->type == SLUICE_TYPE_BIGINT) {
            sluice_expr *cast = new_expr(c, SLUICE_EXPR_CAST, SLUICE_TYPE_DOUBLE, 1);
            if (!cast) return NULL;
            cast->args[0] = x;
            x = cast;
        }
        e->args[i] = x;
    }
    c->in_udf = 0;
    sluice_query_plan *q = c->q;
    if (!q->udf) {
        q->udf = sluice_arena_alloc(c->arena, sizeof *q->udf);
        if (!q->udf) return sluice_planner_err(c, 0, 0, "out of memory");
        memset(q->udf, 0, sizeof *q->udf);
    }
    sluice_udf_site **sites = sluice_arena_alloc(c->arena, (q->nudf_sites + 1) * sizeof *sites);
    sluice_udf_site *site = sluice_arena_alloc(c->arena, sizeof *site);
    if (!sites || !site) return sluice_planner_err(c, 0, 0, "out of memory");
    if (q->nudf_sites) memcpy(sites, q->udf_sites, q->nudf_sites * sizeof *sites);
    memset(site, 0, sizeof *site);
    site->function = fi;
    site->args = e->args;
    site->nargs = e->nargs;
    site->state = q->udf;
    sites[q->nudf_sites++] = site;
    q->udf_sites = sites;
    e->site = site;
    return e; /* never folded: the function is called at run time */
}

/* DISTINCT and FILTER belong to aggregate calls: the first other call in
 * a that has one, or NULL. */
static const sluice_ast *misplaced_agg_clause(const sluice_ast *a) {
    if (!a) return NULL;
    if (a->kind == SLUICE_AST_FUNC && (a->distinct || a->filter) && !is_aggregate_name(a->name)) return a;
    for (size_t i = 0; i < a->nargs; i++) {
        const sluice_ast *m = misplaced_agg_clause(a->args[i]);
        if (m) return m;
    }
    return NULL;
}

static void *misplaced_agg_clause_err(bind_ctx *c, const sluice_ast *m) {
    return sluice_planner_err(c, m->line, m->col, "%s belongs to aggregate functions only, and %s is not one",
                              m->distinct ? "DISTINCT" : "FILTER", m->name);
}

static sluice_expr *bind_func(bind_ctx *c, const sluice_ast *a) {
    if (misplaced_agg_clause(a) == a) return misplaced_agg_clause_err(c, a);
    long fi = c->plan ? sluice_plan_function_index(c->plan, a->name) : -1;
    if (fi >= 0) return bind_udf(c, a, (size_t)fi);
    static const struct { const char *name; sluice_func fn; size_t min, max; } fns[] = {
        {"LOWER", SLUICE_FN_LOWER, 1, 1}, {"UPPER", SLUICE_FN_UPPER, 1, 1},
        {"LENGTH", SLUICE_FN_LENGTH, 1, 1}, {"SUBSTR", SLUICE_FN_SUBSTR, 2, 3},
        {"SUBSTRING", SLUICE_FN_SUBSTR, 2, 3}, {"TRIM", SLUICE_FN_TRIM, 1, 1},
        {"ABS", SLUICE_FN_ABS, 1, 1}, {"ROUND", SLUICE_FN_ROUND, 1, 2},
        {"FLOOR", SLUICE_FN_FLOOR, 1, 1}, {"CEIL", SLUICE_FN_CEIL, 1, 1},
        {"CEILING", SLUICE_FN_CEIL, 1, 1}, {"COALESCE", SLUICE_FN_COALESCE, 1, 64},
        {"SPLIT", SLUICE_FN_SPLIT, 2, 2}, {"CARDINALITY", SLUICE_FN_CARDINALITY, 1, 1},
    };
    if (is_aggregate_name(a->name)) return bind_aggregate(c, a);
    /* the everyday functions of Flink: a table of their own (plan_func.c) */
    const sluice_func_def *def = sluice_func_find(a->name);
    if (def) return sluice_plan_func(c, a, def);
    if (is_window_name(a->name))
        return sluice_planner_err(c, a->line, a->col, "%s(...) is allowed only as an item of GROUP BY", a->name);
    if (strcmp(a->name, "PROCTIME") == 0) {
        /* a column of processing time (Flink's PROCTIME() in a view or
         * subquery, read by a lookup join): the wall clock when the row is
         * processed, evaluated as NOW() */
        if (a->nargs) return sluice_planner_err(c, a->line, a->col, "PROCTIME() takes no arguments");
        sluice_expr *e = sluice_plan_func(c, a, sluice_func_find("NOW"));
        if (e) e->proctime = 1;
        return e;
    }
    size_t k;
    for (k = 0; k < sizeof fns / sizeof fns[0]; k++)
        if (strcmp(fns[k].name, a->name) == 0) break;
    if (k == sizeof fns / sizeof fns[0]) {
        char aggs[256];
        sluice_agg_names(aggs, sizeof aggs);
        return sluice_planner_err(c, a->line, a->col,
                        "unknown function '%s' (known: %s LOWER UPPER LENGTH SUBSTR TRIM ABS "
                        "ROUND FLOOR CEIL COALESCE SPLIT CARDINALITY CAST, and those of docs/sql.md "
                        "\"Functions\")",
                        a->name, aggs);
    }
    if (a->star || a->nargs < fns[k].min || a->nargs > fns[k].max)
        return sluice_planner_err(c, a->line, a->col, "%s takes %zu%s argument%s", a->name, fns[k].min,
                        fns[k].max > fns[k].min ? " or more" : "", fns[k].min == 1 && fns[k].max == 1 ? "" : "s");
    sluice_expr *e = new_expr(c, SLUICE_EXPR_FUNC, SLUICE_TYPE_NULL, a->nargs);
    if (!e) return NULL;
    e->func = fns[k].fn;
    for (size_t i = 0; i < a->nargs; i++)
        if (!(e->args[i] = bind(c, a->args[i]))) return NULL;
    sluice_type_t t0 = e->args[0]->type;
#define NEED(i, cond, what)                                                                            \
    if (!(cond) && e->args[i]->type != SLUICE_TYPE_NULL)                                               \
        return sluice_planner_err(c, a->args[i]->line, a->args[i]->col, "%s needs %s, got %s", a->name, what,      \
                        sluice_type_name(e->args[i]->type));
    switch (e->func) {
    case SLUICE_FN_LOWER:
    case SLUICE_FN_UPPER:
    case SLUICE_FN_TRIM:
        NEED(0, t0 == SLUICE_TYPE_VARCHAR, "a VARCHAR");
        e->type = SLUICE_TYPE_VARCHAR;
        break;
    case SLUICE_FN_LENGTH:
        NEED(0, t0 == SLUICE_TYPE_VARCHAR, "a VARCHAR");
        e->type = SLUICE_TYPE_BIGINT;
        break;
    case SLUICE_FN_SUBSTR:
        NEED(0, t0 == SLUICE_TYPE_VARCHAR, "a VARCHAR");
        NEED(1, e->args[1]->type == SLUICE_TYPE_BIGINT, "a BIGINT start");
        if (a->nargs > 2) NEED(2, e->args[2]->type == SLUICE_TYPE_BIGINT, "a BIGINT length");
        e->type = SLUICE_TYPE_VARCHAR;
        break;
    case SLUICE_FN_ABS:
    case SLUICE_FN_FLOOR:
    case SLUICE_FN_CEIL:
    case SLUICE_FN_ROUND:
        NEED(0, is_numeric(t0), "a number");
        if (a->nargs > 1) NEED(1, e->args[1]->type == SLUICE_TYPE_BIGINT, "a BIGINT number of digits");
        e->type = t0 == SLUICE_TYPE_NULL ? SLUICE_TYPE_DOUBLE : t0;
        break;
    case SLUICE_FN_SPLIT:
        NEED(0, t0 == SLUICE_TYPE_VARCHAR, "a VARCHAR text");
        NEED(1, e->args[1]->type == SLUICE_TYPE_VARCHAR, "a VARCHAR delimiter");
        e->type = SLUICE_TYPE_ARRAY;
        e->elem_type = SLUICE_TYPE_VARCHAR;
        break;
    case SLUICE_FN_CARDINALITY:
        NEED(0, t0 == SLUICE_TYPE_ARRAY, "an ARRAY");
        e->type = SLUICE_TYPE_BIGINT;
        break;
    case SLUICE_FN_COALESCE: {
        int t = SLUICE_TYPE_NULL;
        for (size_t i = 0; i < a->nargs; i++) {
            if (e->args[i]->type == SLUICE_TYPE_ARRAY)
                return sluice_planner_err(c, a->args[i]->line, a->args[i]->col, "COALESCE of an ARRAY is not supported");
            t = common_type((sluice_type_t)t, e->args[i]->type);
            if (t < 0)
                return sluice_planner_err(c, a->args[i]->line, a->args[i]->col, "COALESCE arguments mix %s and %s",
                                sluice_type_name(e->args[0]->type), sluice_type_name(e->args[i]->type));
        }
        e->type = (sluice_type_t)t;
        break;
    }
    }
#undef NEED
    return fold(c, e);
}

static sluice_expr *bind_binary(bind_ctx *c, const sluice_ast *a) {
    sluice_expr *l = bind(c, a->args[0]);
    if (!l) return NULL;
    sluice_expr *r = bind(c, a->args[1]);
    if (!r) return NULL;
    sluice_type_t lt = l->type, rt = r->type;
    sluice_expr *e;
    switch (a->op) {
    case SLUICE_OP_AND:
    case SLUICE_OP_OR:
        if ((lt != SLUICE_TYPE_BOOLEAN && lt != SLUICE_TYPE_NULL) || (rt != SLUICE_TYPE_BOOLEAN && rt != SLUICE_TYPE_NULL))
            return sluice_planner_err(c, a->line, a->col, "%s needs BOOLEAN operands, got %s and %s", sluice_ast_op_text(a->op),
                            sluice_type_name(lt), sluice_type_name(rt));
        e = new_expr(c, a->op == SLUICE_OP_AND ? SLUICE_EXPR_AND : SLUICE_EXPR_OR, SLUICE_TYPE_BOOLEAN, 2);
        break;
    case SLUICE_OP_EQ: case SLUICE_OP_NE: case SLUICE_OP_LT:
    case SLUICE_OP_LE: case SLUICE_OP_GT: case SLUICE_OP_GE:
        if (!(l = coerce_ts_literal(c, l, a->args[0], rt))) return NULL;
        if (!(r = coerce_ts_literal(c, r, a->args[1], lt))) return NULL;
        lt = l->type;
        rt = r->type;
        if (!comparable(lt, rt))
            return sluice_planner_err(c, a->line, a->col, "cannot compare %s with %s", sluice_type_name(lt),
                            sluice_type_name(rt));
        e = new_expr(c, SLUICE_EXPR_CMP, SLUICE_TYPE_BOOLEAN, 2);
        break;
    default: {
        /* arithmetic */
        int t = -1;
        if ((is_numeric(lt) || lt == SLUICE_TYPE_NULL) && (is_numeric(rt) || rt == SLUICE_TYPE_NULL))
            t = (lt == SLUICE_TYPE_DOUBLE || rt == SLUICE_TYPE_DOUBLE) ? SLUICE_TYPE_DOUBLE : SLUICE_TYPE_BIGINT;
        else if (lt == SLUICE_TYPE_TIMESTAMP && rt == SLUICE_TYPE_INTERVAL &&
                 (a->op == SLUICE_OP_ADD || a->op == SLUICE_OP_SUB))
            t = SLUICE_TYPE_TIMESTAMP;
        else if (lt == SLUICE_TYPE_INTERVAL && rt == SLUICE_TYPE_TIMESTAMP && a->op == SLUICE_OP_ADD)
            t = SLUICE_TYPE_TIMESTAMP;
        else if (lt == SLUICE_TYPE_TIMESTAMP && rt == SLUICE_TYPE_TIMESTAMP && a->op == SLUICE_OP_SUB)
            t = SLUICE_TYPE_INTERVAL;
        else if (lt == SLUICE_TYPE_INTERVAL && rt == SLUICE_TYPE_INTERVAL &&
                 (a->op == SLUICE_OP_ADD || a->op == SLUICE_OP_SUB))
            t = SLUICE_TYPE_INTERVAL;
        else if (((lt == SLUICE_TYPE_INTERVAL && rt == SLUICE_TYPE_BIGINT) ||
                  (lt == SLUICE_TYPE_BIGINT && rt == SLUICE_TYPE_INTERVAL && a->op == SLUICE_OP_MUL)) &&
                 (a->op == SLUICE_OP_MUL || a->op == SLUICE_OP_DIV))
            t = SLUICE_TYPE_INTERVAL;
        if (t < 0)
            return sluice_planner_err(c, a->line, a->col, "operator '%s' cannot be applied to %s and %s", sluice_ast_op_text(a->op),
                            sluice_type_name(lt), sluice_type_name(rt));
        e = new_expr(c, SLUICE_EXPR_ARITH, (sluice_type_t)t, 2);
        break;
    }
    }
    if (!e) return NULL;
    e->op = a->op;
    e->args[0] = l;
    e->args[1] = r;
    return fold(c, e);
}

/* Flink's group window auxiliary functions: TUMBLE_START(ts, size),
 * HOP_END(ts, slide, size), SESSION_START(ts, gap), ... name the bounds of
 * the query's window. */
static const struct {
    const char *name;
    size_t column;
} window_aux[] = {
    {"TUMBLE_START", SLUICE_POST_WINDOW_START}, {"TUMBLE_END", SLUICE_POST_WINDOW_END},
    {"HOP_START", SLUICE_POST_WINDOW_START},    {"HOP_END", SLUICE_POST_WINDOW_END},
    {"SESSION_START", SLUICE_POST_WINDOW_START}, {"SESSION_END", SLUICE_POST_WINDOW_END},
};

static sluice_expr *bind(bind_ctx *c, const sluice_ast *a) {
    if (a->kind == SLUICE_AST_FUNC)
        for (size_t i = 0; i < sizeof window_aux / sizeof window_aux[0]; i++) {
            if (strcmp(a->name, window_aux[i].name) != 0) continue;
            if (!c->post || c->in_agg || !c->windowed)
                return sluice_planner_err(c, a->line, a->col, "%s needs a query with GROUP BY %.*s(...)", a->name,
                                          (int)(strchr(a->name, '_') - a->name), a->name);
            sluice_expr *e = new_expr(c, SLUICE_EXPR_COLUMN, SLUICE_TYPE_TIMESTAMP, 0);
            if (e) e->column = window_aux[i].column;
            return e;
        }
    /* in aggregate mode, a GROUP BY expression is a reference to its key */
    if (c->post && !c->in_agg) {
        for (size_t i = 0; i < c->ngroup; i++) {
            if (ast_equal(c->group_asts[i], a)) {
                sluice_expr *e = new_expr(c, SLUICE_EXPR_COLUMN, c->group_exprs[i]->type, 0);
                if (e) e->column = SLUICE_POST_GROUP0 + i;
                return e;
            }
        }
    }
    sluice_expr *e;
    switch (a->kind) {
    case SLUICE_AST_LITERAL:
    case SLUICE_AST_INTERVAL:
        e = new_expr(c, SLUICE_EXPR_CONST, (sluice_type_t)a->lit.type, 0);
        if (e) e->constant = a->lit;
        return e;
    case SLUICE_AST_COLUMN: return bind_column(c, a);
    case SLUICE_AST_UNARY: {
        sluice_expr *x = bind(c, a->args[0]);
        if (!x) return NULL;
        if (a->op == SLUICE_OP_NOT) {
            if (x->type != SLUICE_TYPE_BOOLEAN && x->type != SLUICE_TYPE_NULL)
                return sluice_planner_err(c, a->line, a->col, "NOT needs a BOOLEAN, got %s", sluice_type_name(x->type));
            e = new_expr(c, SLUICE_EXPR_NOT, SLUICE_TYPE_BOOLEAN, 1);
        } else {
            if (!is_numeric(x->type) && x->type != SLUICE_TYPE_INTERVAL && x->type != SLUICE_TYPE_NULL)
                return sluice_planner_err(c, a->line, a->col, "unary '%s' needs a number, got %s", sluice_ast_op_text(a->op),
                                sluice_type_name(x->type));
            if (a->op == SLUICE_OP_PLUS) return x;
            e = new_expr(c, SLUICE_EXPR_NEG, x->type, 1);
        }
        if (!e) return NULL;
        e->args[0] = x;
        return fold(c, e);
    }
    case SLUICE_AST_BINARY: return bind_binary(c, a);
    case SLUICE_AST_IS_NULL:
        e = new_expr(c, SLUICE_EXPR_IS_NULL, SLUICE_TYPE_BOOLEAN, 1);
        if (!e || !(e->args[0] = bind(c, a->args[0]))) return NULL;
        e->negated = a->negated;
        return fold(c, e);
    case SLUICE_AST_IN:
    case SLUICE_AST_BETWEEN: {
        e = new_expr(c, a->kind == SLUICE_AST_IN ? SLUICE_EXPR_IN : SLUICE_EXPR_BETWEEN, SLUICE_TYPE_BOOLEAN,
                     a->nargs);
        if (!e) return NULL;
        e->negated = a->negated;
        for (size_t i = 0; i < a->nargs; i++)
            if (!(e->args[i] = bind(c, a->args[i]))) return NULL;
        for (size_t i = 1; i < a->nargs; i++) {
            if (!(e->args[i] = coerce_ts_literal(c, e->args[i], a->args[i], e->args[0]->type))) return NULL;
            if (!comparable(e->args[0]->type, e->args[i]->type))
                return sluice_planner_err(c, a->args[i]->line, a->args[i]->col, "cannot compare %s with %s",
                                sluice_type_name(e->args[0]->type), sluice_type_name(e->args[i]->type));
        }
        return fold(c, e);
    }
    case SLUICE_AST_LIKE:
        e = new_expr(c, SLUICE_EXPR_LIKE, SLUICE_TYPE_BOOLEAN, 2);
        if (!e) return NULL;
        e->negated = a->negated;
        for (int i = 0; i < 2; i++) {
            if (!(e->args[i] = bind(c, a->args[i]))) return NULL;
            if (e->args[i]->type != SLUICE_TYPE_VARCHAR && e->args[i]->type != SLUICE_TYPE_NULL)
                return sluice_planner_err(c, a->args[i]->line, a->args[i]->col, "LIKE needs VARCHAR operands, got %s",
                                sluice_type_name(e->args[i]->type));
        }
        return fold(c, e);
    case SLUICE_AST_CASE: {
        e = new_expr(c, SLUICE_EXPR_CASE, SLUICE_TYPE_NULL, a->nargs);
        if (!e) return NULL;
        e->has_operand = a->has_operand;
        e->has_else = a->has_else;
        e->nwhen = a->nwhen;
        for (size_t i = 0; i < a->nargs; i++)
            if (!(e->args[i] = bind(c, a->args[i]))) return NULL;
        size_t i = a->has_operand ? 1 : 0;
        int t = SLUICE_TYPE_NULL;
        for (size_t w = 0; w < a->nwhen; w++, i += 2) {
            sluice_type_t ct = e->args[i]->type;
            if (a->has_operand ? !comparable(e->args[0]->type, ct)
                               : (ct != SLUICE_TYPE_BOOLEAN && ct != SLUICE_TYPE_NULL))
                return sluice_planner_err(c, a->args[i]->line, a->args[i]->col, "WHEN needs %s, got %s",
                                a->has_operand ? sluice_type_name(e->args[0]->type) : "a BOOLEAN condition",
                                sluice_type_name(ct));
            if ((t = common_type((sluice_type_t)t, e->args[i + 1]->type)) < 0)
                return sluice_planner_err(c, a->args[i + 1]->line, a->args[i + 1]->col, "CASE branches mix types (%s)",
                                sluice_type_name(e->args[i + 1]->type));
        }
        if (a->has_else && (t = common_type((sluice_type_t)t, e->args[i]->type)) < 0)
            return sluice_planner_err(c, a->args[i]->line, a->args[i]->col, "CASE branches mix types (%s)",
                            sluice_type_name(e->args[i]->type));
        if (t == SLUICE_TYPE_ARRAY)
            return sluice_planner_err(c, a->line, a->col, "CASE over ARRAY values is not supported");
        e->type = (sluice_type_t)t;
        return fold(c, e);
    }
    case SLUICE_AST_CAST: {
        e = new_expr(c, SLUICE_EXPR_CAST, a->cast_type, 1);
        if (!e || !(e->args[0] = bind(c, a->args[0]))) return NULL;
        sluice_type_t from = e->args[0]->type;
        if (from == SLUICE_TYPE_INTERVAL && a->cast_type != SLUICE_TYPE_BIGINT && a->cast_type != SLUICE_TYPE_VARCHAR)
            return sluice_planner_err(c, a->line, a->col, "cannot CAST INTERVAL to %s", sluice_type_name(a->cast_type));
        if (from == SLUICE_TYPE_ARRAY && a->cast_type != SLUICE_TYPE_VARCHAR)
            return sluice_planner_err(c, a->line, a->col, "cannot CAST ARRAY to %s (only to VARCHAR: its JSON text)",
                            sluice_type_name(a->cast_type));
        int literal = a->args[0]->kind == SLUICE_AST_LITERAL && a->args[0]->lit.type == SLUICE_TYPE_VARCHAR;
        e = fold(c, e);
        if (e && literal && e->kind == SLUICE_EXPR_CONST && e->constant.type == SLUICE_TYPE_NULL)
            return sluice_planner_err(c, a->args[0]->line, a->args[0]->col, "'%.*s' is not a valid %s",
                            (int)a->args[0]->lit.len, a->args[0]->lit.u.s, sluice_type_name(a->cast_type));
        return e;
    }
    case SLUICE_AST_FUNC: return bind_func(c, a);
    case SLUICE_AST_OVER:
        return sluice_planner_err(c, a->line, a->col,
                                  "%s() OVER (...) is allowed only as the last SELECT item of a subquery or view that "
                                  "an enclosing query filters by rank (WHERE r <= N: Flink's Top-N)",
                                  a->name);
    case SLUICE_AST_SUBSCRIPT: {
        e = new_expr(c, SLUICE_EXPR_SUBSCRIPT, SLUICE_TYPE_NULL, 2);
        if (!e) return NULL;
        for (int i = 0; i < 2; i++)
            if (!(e->args[i] = bind(c, a->args[i]))) return NULL;
        sluice_type_t bt = e->args[0]->type, it = e->args[1]->type;
        if (bt != SLUICE_TYPE_ARRAY && bt != SLUICE_TYPE_NULL)
            return sluice_planner_err(c, a->args[0]->line, a->args[0]->col, "[...] needs an ARRAY, got %s",
                            sluice_type_name(bt));
        if (it != SLUICE_TYPE_BIGINT && it != SLUICE_TYPE_NULL)
            return sluice_planner_err(c, a->args[1]->line, a->args[1]->col, "an ARRAY index must be a BIGINT, got %s",
                            sluice_type_name(it));
        e->type = bt == SLUICE_TYPE_ARRAY ? e->args[0]->elem_type : SLUICE_TYPE_NULL;
        return fold(c, e);
    }
    }
    return sluice_planner_err(c, a->line, a->col, "unsupported expression");
}

/* ---------------- queries ---------------- */

static int is_window_pseudo(const sluice_ast *a, const char *which) {
    return a->kind == SLUICE_AST_COLUMN && strcmp(a->name, which) == 0;
}

static sluice_err_t plan_window(bind_ctx *c, const sluice_ast *w, sluice_query_plan *q) {
    int hop = strcmp(w->name, "HOP") == 0, session = strcmp(w->name, "SESSION") == 0;
    size_t want = hop ? 3 : 2;
    if (w->nargs != want)
        return sluice_planner_err(c, w->line, w->col, "%s takes (%s)", w->name,
                        hop ? "time_column, INTERVAL slide, INTERVAL size"
                            : session ? "time_column, INTERVAL gap" : "time_column, INTERVAL size"),
               SLUICE_ERR_SQL;
    const sluice_ast *ts = w->args[0];
    long ci = -1;
    if (ts->kind == SLUICE_AST_FUNC && strcmp(ts->name, "PROCTIME") == 0) {
        if (ts->nargs || ts->star)
            return sluice_planner_err(c, ts->line, ts->col, "PROCTIME() takes no arguments"), SLUICE_ERR_SQL;
        q->proctime = 1;
    } else {
        if (ts->kind != SLUICE_AST_COLUMN)
            return sluice_planner_err(c, ts->line, ts->col,
                            "the first argument of %s must be the source's event-time column or PROCTIME()",
                            w->name),
                   SLUICE_ERR_SQL;
        ci = sluice_planner_find_column(c->src, ts->name);
        if (ci < 0) return unknown_column(c, ts), SLUICE_ERR_SQL;
        if (c->src->derived && (!c->src->has_watermark || c->src->watermark_column != (size_t)ci))
            return sluice_planner_err(c, ts->line, ts->col,
                                      "window on column '%s' of %s: not an event-time column (a source's WATERMARK "
                                      "column kept by a projection, or a window's window_time)",
                                      ts->name, c->src->name),
                   SLUICE_ERR_SQL;
        if (!c->src->has_watermark || c->src->watermark_column != (size_t)ci)
            return sluice_planner_err(c, ts->line, ts->col,
                            "window on column '%s' needs 'WATERMARK FOR %s AS ...' in CREATE SOURCE %s (or use "
                            "PROCTIME() for processing-time windows)",
                            ts->name, ts->name, c->src->name),
                   SLUICE_ERR_SQL;
    }
    int64_t iv[2];
    for (size_t i = 1; i < want; i++) {
        const sluice_ast *x = w->args[i];
        if (x->kind != SLUICE_AST_INTERVAL || x->lit.u.i <= 0)
            return sluice_planner_err(c, x->line, x->col, "expected a positive INTERVAL, e.g. INTERVAL '1' HOUR"),
                   SLUICE_ERR_SQL;
        if (x->lit.u.i > MAX_TIME_INTERVAL_MS)
            return sluice_planner_err(c, x->line, x->col, "a window's INTERVAL must be at most INTERVAL '%lld' DAY (10,000 years)",
                            MAX_TIME_INTERVAL_MS / 86400000LL),
                   SLUICE_ERR_SQL;
        iv[i - 1] = x->lit.u.i;
    }
    q->window = hop ? SLUICE_WINDOW_HOP : session ? SLUICE_WINDOW_SESSION : SLUICE_WINDOW_TUMBLE;
    if (!q->proctime) {
        q->ts_column = (size_t)ci;
        c->src->used[ci] = 1;
    }
    if (hop) {
        q->slide_ms = iv[0];
        q->size_ms = iv[1];
        if (q->size_ms % q->slide_ms != 0)
            return sluice_planner_err(c, w->args[2]->line, w->args[2]->col,
                            "HOP size must be a multiple of its slide (size %" PRId64 " ms, slide %" PRId64 " ms)",
                            q->size_ms, q->slide_ms),
                   SLUICE_ERR_SQL;
        if (q->size_ms / q->slide_ms > 1024)
            return sluice_planner_err(c, w->args[2]->line, w->args[2]->col,
                            "HOP size/slide is %" PRId64 ": at most 1024 windows per row are supported",
                            q->size_ms / q->slide_ms),
                   SLUICE_ERR_SQL;
    } else if (session) {
        q->gap_ms = iv[0];
    } else {
        q->size_ms = q->slide_ms = iv[0];
    }
    return SLUICE_OK;
}

/* The rules of top-N (docs/sql.md): `ORDER BY agg [DESC|ASC] LIMIT n` on a
 * TUMBLE or HOP aggregate, both clauses or neither.  Sets q->topn. */
static sluice_err_t check_topn(bind_ctx *c, const sluice_ast_sink *s, sluice_query_plan *q) {
    if (!s->order_by && s->limit < 0) return SLUICE_OK;
    if (!s->order_by)
        return sluice_planner_err(c, s->limit_line, s->limit_col,
                        "LIMIT needs ORDER BY <aggregate> DESC|ASC before it: top-N ranks the groups of each window "
                        "by an aggregate"),
               SLUICE_ERR_SQL;
    const sluice_ast *o = s->order_by;
    if (s->limit < 0)
        return sluice_planner_err(c, o->line, o->col,
                        "ORDER BY needs LIMIT n: a stream is ordered only as the top n groups of each window"),
               SLUICE_ERR_SQL;
    if (q->window == SLUICE_WINDOW_NONE)
        return sluice_planner_err(c, o->line, o->col,
                        "ORDER BY ... LIMIT (top-N per window) needs a windowed aggregate: GROUP BY TUMBLE(...) or "
                        "HOP(...) and the keys to rank"),
               SLUICE_ERR_SQL;
    if (q->window == SLUICE_WINDOW_SESSION)
        return sluice_planner_err(c, o->line, o->col,
                        "ORDER BY ... LIMIT (top-N per window) needs TUMBLE or HOP windows: each SESSION window "
                        "belongs to one key, so there is nothing to rank"),
               SLUICE_ERR_SQL;
    if (s->limit == 0)
        return sluice_planner_err(c, s->limit_line, s->limit_col, "LIMIT 0 keeps no row: top-N needs n >= 1"), SLUICE_ERR_SQL;
    q->topn = 1;
    q->order_desc = s->order_desc;
    q->limit = s->limit;
    c->topn = 1;
    return SLUICE_OK;
}

/* Bind the ORDER BY of a top-N query: an aggregate of the query, written
 * out or as the alias of a SELECT item (the same aggregate shares a slot). */
static sluice_err_t plan_order_by(bind_ctx *c, const sluice_ast_sink *s, sluice_query_plan *q,
                                  const sluice_column *cols) {
    const sluice_ast *o = s->order_by;
    if (o->kind == SLUICE_AST_COLUMN) {
        for (size_t j = 0; j < s->nitems; j++)
            if (strcmp(cols[j].name, o->name) == 0) {
                o = s->items[j].expr;
                break;
            }
    }
    if (o->kind != SLUICE_AST_FUNC || !is_aggregate_name(o->name))
        return sluice_planner_err(c, s->order_by->line, s->order_by->col,
                        "ORDER BY of a top-N query must be an aggregate of the query (e.g. COUNT(*)) or the alias of "
                        "one in SELECT"),
               SLUICE_ERR_SQL;
    c->clause = "ORDER BY";
    sluice_expr *e = bind(c, o);
    if (!e) return SLUICE_ERR_SQL;
    q->order_agg = e->column - SLUICE_POST_GROUP0 - q->ngroup;
    q->order_ast = o;
    return SLUICE_OK;
}

/* The default PRIMARY KEY of a top-N query that selects window_start,
 * window_end and rank: their positions in pk[]; 0 when one is missing. */
static size_t topn_default_key(const sluice_ast_sink *s, size_t *pk) {
    static const char *const want[] = {"window_start", "window_end", "rank"};
    size_t n = 0;
    for (size_t j = 0; j < s->nitems; j++) {
        const sluice_ast *x = s->items[j].expr;
        for (size_t w = 0; w < 3; w++)
            if (x->kind == SLUICE_AST_COLUMN && strcmp(x->name, want[w]) == 0) pk[n++] = j;
    }
    return n == 3 ? n : 0;
}


/* CROSS JOIN UNNEST: bind the array expression over the source row, then
 * make the extended row (the source's columns, the element, the position)
 * the one the rest of the query binds over (c->src). */
static sluice_err_t plan_unnest(bind_ctx *c, const sluice_ast_sink *s, sluice_query_plan *q) {
    const sluice_source_plan *src = c->src;
    sluice_unnest_plan *u = sluice_arena_alloc(c->arena, sizeof *u);
    if (!u) return SLUICE_ERR_NOMEM;
    memset(u, 0, sizeof *u);
    c->clause = "UNNEST";
    c->in_unnest = 1;
    u->array = bind(c, s->unnest);
    c->in_unnest = 0;
    if (!u->array) return SLUICE_ERR_SQL;
    if (u->array->type != SLUICE_TYPE_ARRAY)
        return sluice_planner_err(c, s->unnest->line, s->unnest->col,
                        "UNNEST needs an ARRAY (e.g. SPLIT(text, ' ') or a column declared ARRAY<VARCHAR>), got %s",
                        sluice_type_name(u->array->type)),
               SLUICE_ERR_SQL;
    const char *names[2] = {s->unnest_column, s->unnest_ordinality};
    const int lines[2] = {s->unnest_column_line, s->unnest_ordinality_line};
    const int cols[2] = {s->unnest_column_col, s->unnest_ordinality_col};
    size_t k = s->unnest_ordinality ? 2 : 1;
    for (size_t j = 0; j < k; j++) {
        if (sluice_planner_find_column(src, names[j]) >= 0)
            return sluice_planner_err(c, lines[j], cols[j], "UNNEST column '%s' is already a column of source %s", names[j],
                            src->name),
                   SLUICE_ERR_SQL;
        if (j == 1 && strcmp(names[0], names[1]) == 0)
            return sluice_planner_err(c, lines[j], cols[j], "UNNEST names column '%s' twice", names[j]), SLUICE_ERR_SQL;
    }
    u->elem_type = u->array->elem_type;
    u->ordinality = s->with_ordinality;
    u->ncols_in = src->schema.ncolumns;
    u->column = names[0];
    u->ordinality_column = names[1];
    u->array_ast = s->unnest;
    size_t n = src->schema.ncolumns, m = n + k;
    sluice_source_plan *x = &u->extended;
    *x = *src;
    x->columns = sluice_arena_alloc(c->arena, m * sizeof *x->columns);
    x->defs = sluice_arena_alloc(c->arena, m * sizeof *x->defs);
    x->metadata = sluice_arena_alloc(c->arena, m * sizeof *x->metadata);
    x->ts_formats = sluice_arena_alloc(c->arena, m * sizeof *x->ts_formats);
    x->used = sluice_arena_alloc(c->arena, m * sizeof *x->used);
    if (!x->columns || !x->defs || !x->metadata || !x->ts_formats || !x->used) return SLUICE_ERR_NOMEM;
    memcpy(x->columns, src->columns, n * sizeof *x->columns);
    memcpy(x->defs, src->defs, n * sizeof *x->defs);
    memcpy(x->metadata, src->metadata, n * sizeof *x->metadata);
    memcpy(x->ts_formats, src->ts_formats, n * sizeof *x->ts_formats); /* borrowed: freed with the source */
    memset(x->used, 0, m * sizeof *x->used);
    for (size_t j = 0; j < k; j++) {
        sluice_type_t t = j == 0 ? u->elem_type : SLUICE_TYPE_BIGINT;
        x->columns[n + j].name = names[j];
        x->columns[n + j].type = t;
        memset(&x->defs[n + j], 0, sizeof x->defs[n + j]);
        x->defs[n + j].name = names[j];
        x->defs[n + j].type = t;
        x->defs[n + j].line = lines[j];
        x->defs[n + j].col = cols[j];
        x->metadata[n + j] = SLUICE_META_NONE;
        x->ts_formats[n + j] = NULL;
    }
    x->schema.ncolumns = m;
    x->schema.columns = x->columns;
    q->unnest = u;
    c->src = x;
    return SLUICE_OK;
}

static sluice_err_t plan_query_body(bind_ctx *base, sluice_plan *plan, const sluice_ast_sink *s,
                                    sluice_query_plan *q, int terminal);

sluice_err_t sluice_planner_query(bind_ctx *base, sluice_plan *plan, const sluice_ast_sink *s, sluice_query_plan *q,
                                  int terminal) {
    sluice_err_t err = plan_query_body(base, plan, s, q, terminal);
    /* the input columns its UNNEST row reads are marked read in the input
     * itself (the decoder reads only those) */
    if (err == SLUICE_OK && q->unnest) {
        sluice_source_plan *src = q->input.derived ? &plan->rels[q->input.index].row : &plan->sources[q->input.index];
        for (size_t i = 0; i < src->schema.ncolumns; i++) src->used[i] |= q->unnest->extended.used[i];
    }
    return err;
}

/* The name of SELECT item i: its alias, the column it is, else Flink's
 * EXPR$i. */
static const char *expr_name(bind_ctx *c, const sluice_ast_select_item *it, size_t i) {
    if (it->alias) return it->alias;
    if (it->expr->kind == SLUICE_AST_COLUMN) return it->expr->name;
    char buf[32];
    snprintf(buf, sizeof buf, "EXPR$%zu", i);
    char *n = sluice_arena_alloc(c->arena, strlen(buf) + 1);
    if (n) strcpy(n, buf);
    return n;
}

/* The SELECT list with * and q.* expanded into the columns of the input
 * row (c->src) they stand for, and every item named: written into *out
 * (arena).  Output names that repeat get Flink's suffixes 0, 1, ...  */
static sluice_err_t expand_items(bind_ctx *c, const sluice_ast_sink *s, sluice_ast_select_item **out, size_t *nout) {
    size_t cap = 0;
    for (size_t i = 0; i < s->nitems; i++) cap += s->items[i].star ? c->src->schema.ncolumns : 1;
    sluice_ast_select_item *v = sluice_arena_alloc(c->arena, (cap + 1) * sizeof *v);
    if (!v) return SLUICE_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->nitems; i++) {
        const sluice_ast_select_item *it = &s->items[i];
        if (!it->star) {
            v[n] = *it;
            if (!(v[n].alias = expr_name(c, it, n))) return SLUICE_ERR_NOMEM;
            n++;
            continue;
        }
        size_t before = n;
        for (size_t j = 0; j < c->src->schema.ncolumns; j++) {
            if (c->src->hidden && c->src->hidden[j]) continue;
            const char *q = c->src->qualifiers ? c->src->qualifiers[j] : c->alias;
            if (it->star_qualifier && (!q || strcmp(q, it->star_qualifier) != 0)) continue;
            sluice_ast *col = sluice_arena_alloc(c->arena, sizeof *col);
            if (!col) return SLUICE_ERR_NOMEM;
            memset(col, 0, sizeof *col);
            col->kind = SLUICE_AST_COLUMN;
            col->line = it->line;
            col->col = it->col;
            col->name = c->src->columns[j].name;
            col->qualifier = q;
            col->height = 1;
            memset(&v[n], 0, sizeof v[n]);
            v[n].expr = col;
            v[n].alias = col->name;
            v[n].line = it->line;
            v[n].col = it->col;
            n++;
        }
        if (n == before)
            return sluice_planner_err(c, it->line, it->col, it->star_qualifier ? "no table '%s' in FROM" : "%s: no columns",
                                      it->star_qualifier ? it->star_qualifier : "*"),
                   SLUICE_ERR_SQL;
    }
    /* unique output names (Calcite's uniquify: name0, name1, ...) where a * made them repeat */
    for (size_t i = 0; i < n; i++) {
        int star_made = 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[j].alias, v[i].alias) == 0) star_made = 1;
        if (!star_made) continue;
        int from_star = v[i].expr && v[i].expr->kind == SLUICE_AST_COLUMN && v[i].alias == v[i].expr->name;
        if (!from_star) continue; /* a duplicate alias the user wrote: reported below */
        for (unsigned k = 0;; k++) {
            char buf[300];
            snprintf(buf, sizeof buf, "%s%u", v[i].alias, k);
            int taken = 0;
            for (size_t j = 0; j < n; j++)
                if (strcmp(v[j].alias, buf) == 0) taken = 1;
            if (taken) continue;
            char *nm = sluice_arena_alloc(c->arena, strlen(buf) + 1);
            if (!nm) return SLUICE_ERR_NOMEM;
            v[i].alias = strcpy(nm, buf);
            break;
        }
    }
    *out = v;
    *nout = n;
    return SLUICE_OK;
}

static sluice_err_t plan_query_body(bind_ctx *base, sluice_plan *plan, const sluice_ast_sink *s0,
                                    sluice_query_plan *q, int terminal) {
    memset(q, 0, sizeof *q);
    q->name = s0->name;
    bind_ctx cc = *base;
    bind_ctx *c = &cc;
    c->plan = plan;
    c->q = q;
    c->alias = NULL;
    c->tvf = NULL;
    c->topn = 0;
    c->post = 0;
    c->windowed = 0;
    c->naggs = c->agg_cap = 0;
    c->aggs = NULL;
    c->agg_asts = NULL;
    sluice_err_t ferr = sluice_planner_from(c, s0, q);
    if (ferr) return ferr;
    sluice_ast_sink sx = *s0;
    const sluice_ast_sink *s = &sx;
    if ((ferr = expand_items(c, s0, &sx.items, &sx.nitems)) != SLUICE_OK) return ferr;
    if (s0->select_distinct) {
        /* SELECT DISTINCT x, y is GROUP BY x, y (the SQL standard's meaning) */
        if (s0->ngroup_by || ast_has_aggregate(s0->having))
            return sluice_planner_err(c, s0->line, s0->col, "SELECT DISTINCT with GROUP BY: write the GROUP BY alone"),
                   SLUICE_ERR_SQL;
        sluice_ast **g = sluice_arena_alloc(c->arena, (sx.nitems + 1) * sizeof *g);
        if (!g) return SLUICE_ERR_NOMEM;
        for (size_t i = 0; i < sx.nitems; i++) {
            if (ast_has_aggregate(sx.items[i].expr))
                return sluice_planner_err(c, sx.items[i].line, sx.items[i].col,
                                          "SELECT DISTINCT of an aggregate: the aggregate already gives one row"),
                       SLUICE_ERR_SQL;
            g[i] = sx.items[i].expr;
        }
        sx.group_by = g;
        sx.ngroup_by = sx.nitems;
    }
    if (s->unnest) {
        sluice_err_t uerr = plan_unnest(c, s, q);
        if (uerr) return uerr;
    }

    int agg = s->ngroup_by > 0 || ast_has_aggregate(s->having);
    for (size_t i = 0; i < s->nitems; i++) agg |= ast_has_aggregate(s->items[i].expr);
    q->aggregate = agg;

    if (s->where) {
        c->clause = "WHERE";
        if (!(q->where = bind(c, s->where))) return SLUICE_ERR_SQL;
        if (q->where->type != SLUICE_TYPE_BOOLEAN && q->where->type != SLUICE_TYPE_NULL)
            return sluice_planner_err(c, s->where->line, s->where->col, "WHERE needs a BOOLEAN condition, got %s",
                            sluice_type_name(q->where->type)),
                   SLUICE_ERR_SQL;
    }

    /* GROUP BY: at most one window call plus key expressions */
    size_t ng = 0;
    c->group_asts = sluice_arena_alloc(c->arena, (s->ngroup_by + 1) * sizeof(sluice_ast *));
    c->group_exprs = sluice_arena_alloc(c->arena, (s->ngroup_by + 1) * sizeof(sluice_expr *));
    if (!c->group_asts || !c->group_exprs) return SLUICE_ERR_NOMEM;
    const sluice_ast *window_ast = NULL;
    c->clause = "GROUP BY";
    int tvf_bounds = 0; /* window_start and window_end seen in GROUP BY of a window TVF */
    for (size_t i = 0; i < s->ngroup_by; i++) {
        const sluice_ast *g = s->group_by[i];
        if (c->tvf && g->kind == SLUICE_AST_COLUMN &&
            (strcmp(g->name, "window_start") == 0 || strcmp(g->name, "window_end") == 0 ||
             strcmp(g->name, "window_time") == 0)) {
            tvf_bounds |= strcmp(g->name, "window_start") == 0 ? 1 : strcmp(g->name, "window_end") == 0 ? 2 : 0;
            continue;
        }
        if (g->kind == SLUICE_AST_FUNC && is_window_name(g->name)) {
            if (window_ast)
                return sluice_planner_err(c, g->line, g->col, "GROUP BY may contain only one window function"), SLUICE_ERR_SQL;
            window_ast = g;
            const sluice_ast *m = misplaced_agg_clause(g);
            if (m) return misplaced_agg_clause_err(c, m), SLUICE_ERR_SQL;
            sluice_err_t err = plan_window(c, g, q);
            if (err) return err;
            continue;
        }
        if (ast_has_aggregate(g))
            return sluice_planner_err(c, g->line, g->col, "aggregate functions are not allowed in GROUP BY"), SLUICE_ERR_SQL;
        sluice_expr *e = bind(c, g);
        if (!e) return SLUICE_ERR_SQL;
        if (e->type == SLUICE_TYPE_ARRAY)
            return sluice_planner_err(c, g->line, g->col,
                            "GROUP BY an ARRAY is not supported: group by its elements with CROSS JOIN UNNEST"),
                   SLUICE_ERR_SQL;
        c->group_asts[ng] = (sluice_ast *)g;
        c->group_exprs[ng] = e;
        ng++;
    }
    q->group = c->group_exprs;
    q->ngroup = ng;
    if (c->tvf) {
        if (window_ast)
            return sluice_planner_err(c, window_ast->line, window_ast->col,
                                      "GROUP BY a window function over a window TVF: group by window_start, window_end"),
                   SLUICE_ERR_SQL;
        if (tvf_bounds != 3 || !agg)
            return sluice_planner_err(c, c->tvf->line, c->tvf->col,
                                      "a window TVF is supported with GROUP BY window_start, window_end (and keys): "
                                      "Flink's window aggregation"),
                   SLUICE_ERR_SQL;
        sluice_err_t werr = sluice_planner_window_tvf(c, c->tvf, q);
        if (werr) return werr;
    }

    sluice_err_t terr = check_topn(c, s, q);
    if (terr) return terr;

    /* SELECT */
    c->post = agg;
    c->windowed = q->window != SLUICE_WINDOW_NONE;
    c->ngroup = ng;
    c->clause = "SELECT";
    if (s->nitems == 0) return sluice_planner_err(c, s->line, s->col, "SELECT needs at least one item"), SLUICE_ERR_SQL;
    sluice_column *cols = sluice_arena_alloc(c->arena, s->nitems * sizeof *cols);
    q->outputs = sluice_arena_alloc(c->arena, s->nitems * sizeof(sluice_expr *));
    if (!cols || !q->outputs) return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < s->nitems; i++) {
        const sluice_ast_select_item *it = &s->items[i];
        const char *name = it->alias;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cols[j].name, name) == 0)
                return sluice_planner_err(c, it->line, it->col, "duplicate output column '%s' in sink %s", name, s->name),
                       SLUICE_ERR_SQL;
        if (!(q->outputs[i] = bind(c, it->expr))) return SLUICE_ERR_SQL;
        if (q->outputs[i]->type == SLUICE_TYPE_INTERVAL)
            return sluice_planner_err(c, it->line, it->col, "an INTERVAL cannot be an output column; CAST it to BIGINT (ms)"),
                   SLUICE_ERR_SQL;
        cols[i].name = name;
        cols[i].type = q->outputs[i]->type == SLUICE_TYPE_NULL ? SLUICE_TYPE_VARCHAR : q->outputs[i]->type;
    }
    q->schema.ncolumns = s->nitems;
    q->schema.columns = cols;

    if (s->having) {
        if (!agg)
            return sluice_planner_err(c, s->having->line, s->having->col, "HAVING needs GROUP BY or an aggregate function"),
                   SLUICE_ERR_SQL;
        c->clause = "HAVING";
        if (!(q->having = bind(c, s->having))) return SLUICE_ERR_SQL;
        if (q->having->type != SLUICE_TYPE_BOOLEAN && q->having->type != SLUICE_TYPE_NULL)
            return sluice_planner_err(c, s->having->line, s->having->col, "HAVING needs a BOOLEAN condition, got %s",
                            sluice_type_name(q->having->type)),
                   SLUICE_ERR_SQL;
    }
    if (q->topn) {
        sluice_err_t err = plan_order_by(c, s, q, cols);
        if (err) return err;
    }
    q->aggs = c->aggs;
    q->naggs = c->naggs;
    q->where_ast = s->where;
    q->having_ast = s->having;
    q->group_asts = c->group_asts;
    q->agg_asts = c->agg_asts;

    /* output mode */
    q->emit = s->emit;
    if (!terminal && (s->emit == SLUICE_EMIT_COMPLETE || s->emit == SLUICE_EMIT_UPDATE))
        return sluice_planner_err(c, s->emit_line, s->emit_col,
                                  "EMIT is for the query of a sink, not of a view or subquery"),
               SLUICE_ERR_SQL;
    if (q->input_updating && q->window != SLUICE_WINDOW_NONE)
        return sluice_planner_err(c, s->line, s->col,
                                  "a window aggregate needs an input without updates (Flink's rule): this query reads "
                                  "the updating result of an aggregate, join or ranking"),
               SLUICE_ERR_SQL;
    if (!agg && q->input_updating) {
        /* the input's changes pass through: an update stream */
        if (s->emit == SLUICE_EMIT_APPEND || s->emit == SLUICE_EMIT_COMPLETE)
            return sluice_planner_err(c, s->emit_line, s->emit_col,
                                      "this query reads an updating input: its output updates (EMIT UPDATE)"),
                   SLUICE_ERR_SQL;
        q->emit = SLUICE_EMIT_UPDATE;
    } else if (agg && (c->tvf || !terminal) && q->window != SLUICE_WINDOW_NONE && s->emit == SLUICE_EMIT_DEFAULT) {
        /* window TVF aggregation, and windows read by another query: final
         * rows only (Flink's window aggregation) */
        q->emit = SLUICE_EMIT_APPEND;
    } else if (!agg) {
        if (s->emit == SLUICE_EMIT_UPDATE || s->emit == SLUICE_EMIT_COMPLETE)
            return sluice_planner_err(c, s->emit_line, s->emit_col,
                            "EMIT %s needs an aggregate query; a query without GROUP BY or aggregates is always APPEND",
                            s->emit == SLUICE_EMIT_UPDATE ? "UPDATE" : "COMPLETE"),
                   SLUICE_ERR_SQL;
        q->emit = SLUICE_EMIT_APPEND;
    } else if (s->emit == SLUICE_EMIT_DEFAULT && q->window != SLUICE_WINDOW_SESSION) {
        q->emit = SLUICE_EMIT_UPDATE;
    } else if (q->window == SLUICE_WINDOW_SESSION && s->emit == SLUICE_EMIT_DEFAULT) {
        /* final sessions only: the one output mode sessions have (Flink emits
         * a session window when the watermark passes its end) */
        q->emit = SLUICE_EMIT_APPEND;
    } else if (q->window == SLUICE_WINDOW_SESSION && s->emit != SLUICE_EMIT_APPEND) {
        /* see the session window operator, exec/op_session.c */
        int l = s->emit == SLUICE_EMIT_DEFAULT ? (window_ast ? window_ast->line : s->line) : s->emit_line;
        int col = s->emit == SLUICE_EMIT_DEFAULT ? (window_ast ? window_ast->col : s->col) : s->emit_col;
        return sluice_planner_err(c, l, col,
                        "SESSION windows support EMIT APPEND only: a session's key (window_start) changes as it grows "
                        "or merges, so an updated row could not replace the one emitted before; add EMIT APPEND"),
               SLUICE_ERR_SQL;
    } else if (q->window == SLUICE_WINDOW_CUMULATE && q->emit != SLUICE_EMIT_APPEND) {
        /* its windows are slices merged when they close (exec/window_slices.h),
         * Flink's window aggregation: final rows only */
        return sluice_planner_err(c, s->emit_line ? s->emit_line : s->line, s->emit_line ? s->emit_col : s->col,
                        "CUMULATE windows support EMIT APPEND only (final rows, as Flink's window aggregation)"),
               SLUICE_ERR_SQL;
    } else if (s->emit == SLUICE_EMIT_APPEND && q->window == SLUICE_WINDOW_NONE) {
        return sluice_planner_err(c, s->emit_line, s->emit_col,
                        "EMIT APPEND needs a windowed aggregate (GROUP BY TUMBLE(...) or HOP(...)): a non-windowed "
                        "aggregate never finalizes a row; use EMIT UPDATE or COMPLETE"),
               SLUICE_ERR_SQL;
    }

    /* PRIMARY KEY */
    size_t *pk = sluice_arena_alloc(c->arena, (s->nitems + 1) * sizeof *pk);
    if (!pk) return SLUICE_ERR_NOMEM;
    size_t npk = 0;
    if (s->primary_key) {
        for (size_t k = 0; k < s->nprimary_key; k++) {
            size_t j;
            for (j = 0; j < s->nitems; j++)
                if (strcmp(cols[j].name, s->primary_key[k]) == 0) break;
            if (j == s->nitems)
                return sluice_planner_err(c, s->pk_lines[k], s->pk_cols[k], "PRIMARY KEY column '%s' is not an output column of sink %s",
                                s->primary_key[k], s->name),
                       SLUICE_ERR_SQL;
            if (cols[j].type == SLUICE_TYPE_ARRAY)
                return sluice_planner_err(c, s->pk_lines[k], s->pk_cols[k],
                                "PRIMARY KEY column '%s' is an ARRAY: a key must be a scalar", s->primary_key[k]),
                       SLUICE_ERR_SQL;
            for (size_t m = 0; m < npk; m++)
                if (pk[m] == j)
                    return sluice_planner_err(c, s->pk_lines[k], s->pk_cols[k], "PRIMARY KEY names '%s' twice", s->primary_key[k]),
                           SLUICE_ERR_SQL;
            pk[npk++] = j;
        }
    } else if (q->topn && (npk = topn_default_key(s, pk)) > 0) {
        /* window_start, window_end, rank: the sink's upsert replaces the
         * window's ranking */
    } else if (agg) {
        /* default: window_start, window_end and the GROUP BY columns, when
         * every one of them is an output column */
        size_t want = ng + (q->window != SLUICE_WINDOW_NONE ? 2 : 0);
        for (size_t j = 0; j < s->nitems; j++) {
            const sluice_ast *x = s->items[j].expr;
            int part = 0;
            if (q->window != SLUICE_WINDOW_NONE &&
                (is_window_pseudo(x, "window_start") || is_window_pseudo(x, "window_end")))
                part = 1;
            for (size_t g = 0; g < ng && !part; g++) part = ast_equal(c->group_asts[g], x);
            if (part) pk[npk++] = j;
        }
        if (npk < want) npk = 0;
    }
    q->schema.pk = pk;
    q->schema.npk = npk;
    if (q->input_updating && agg) {
        const sluice_ast *at = window_ast ? window_ast : s->items[0].expr;
        return sluice_plan_input_updating(plan, q, at->line, at->col, c->errstr, c->errsz);
    }
    return SLUICE_OK;
}

long sluice_plan_source_index(const sluice_plan *plan, const char *name) {
    for (size_t i = 0; i < plan->nsources; i++)
        if (strcmp(plan->sources[i].name, name) == 0) return (long)i;
    return -1;
}

long sluice_plan_function_index(const sluice_plan *plan, const char *name) {
    for (size_t i = 0; i < plan->nfunctions; i++)
        if (strcasecmp(plan->functions[i].name, name) == 0) return (long)i;
    return -1;
}

/* Names a CREATE FUNCTION may not take: the built-in functions'. */
static int is_builtin_name(const char *n) {
    static const char *const names[] = {"LOWER", "UPPER", "LENGTH", "SUBSTR", "SUBSTRING", "TRIM", "ABS",
                                        "ROUND", "FLOOR", "CEIL", "CEILING", "COALESCE", "CAST", "PROCTIME",
                                        "SPLIT", "CARDINALITY"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(names[i], n) == 0) return 1;
    if (sluice_func_find(n)) return 1;
    char up[64];
    size_t k = 0;
    for (; n[k] && k + 1 < sizeof up; k++) up[k] = (char)toupper((unsigned char)n[k]);
    up[k] = '\0';
    return is_aggregate_name(up) || is_window_name(up);
}

static sluice_err_t plan_functions(bind_ctx *c, const sluice_ast_pipeline *ast, sluice_plan *plan) {
    plan->functions = sluice_arena_alloc(plan->arena, (ast->nfunctions + 1) * sizeof *plan->functions);
    if (!plan->functions) return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < ast->nfunctions; i++) {
        const sluice_ast_function *f = &ast->functions[i];
        if (is_builtin_name(f->name))
            return sluice_planner_err(c, f->line, f->col, "CREATE FUNCTION %s: a built-in function has that name", f->name),
                   SLUICE_ERR_SQL;
        if (sluice_plan_function_index(plan, f->name) >= 0)
            return sluice_planner_err(c, f->line, f->col, "duplicate function '%s'", f->name), SLUICE_ERR_SQL;
        for (size_t a = 0; a < f->nargs; a++)
            for (size_t b = 0; b < a; b++)
                if (strcasecmp(f->arg_names[a], f->arg_names[b]) == 0)
                    return sluice_planner_err(c, f->line, f->col, "function %s: duplicate argument '%s'", f->name,
                                    f->arg_names[a]),
                           SLUICE_ERR_SQL;
        sluice_function_plan *fp = &plan->functions[plan->nfunctions++];
        memset(fp, 0, sizeof *fp);
        fp->name = f->name;
        fp->line = f->line;
        fp->col = f->col;
        fp->arg_names = f->arg_names;
        fp->arg_types = f->arg_types;
        fp->nargs = f->nargs;
        fp->returns = f->returns;
        fp->deterministic = f->deterministic;
    }
    return SLUICE_OK;
}

long sluice_plan_query_index(const sluice_plan *plan, const char *name) {
    for (size_t i = 0; i < plan->nqueries; i++)
        if (strcmp(plan->queries[i].name, name) == 0) return (long)i;
    return -1;
}

/* The query of one sink.  A UNION ALL or a ranking is planned as a
 * relation the sink's query reads whole (SELECT * FROM (...)).  INSERT
 * INTO a CREATE TABLE names the columns by position, with the table's
 * PRIMARY KEY (Flink's INSERT INTO). */
static sluice_err_t plan_sink(bind_ctx *c, const sluice_ast_pipeline *ast, sluice_plan *plan,
                              const sluice_ast_sink *s, sluice_query_plan *q) {
    const sluice_ast_source *table = NULL;
    for (size_t i = 0; i < ast->nsources; i++)
        if (ast->sources[i].is_table && strcmp(ast->sources[i].name, s->name) == 0) table = &ast->sources[i];
    if (s->insert && !table)
        for (size_t i = 0; i < ast->nsources; i++)
            if (strcmp(ast->sources[i].name, s->name) == 0)
                return sluice_planner_err(c, s->line, s->col, "INSERT INTO %s: that is a source", s->name),
                       SLUICE_ERR_SQL;
    sluice_ast_sink k = *s;
    int wrap = s->union_all || (s->nitems && s->items[s->nitems - 1].expr &&
                                s->items[s->nitems - 1].expr->kind == SLUICE_AST_OVER);
    if (wrap) {
        sluice_ast_sink *inner = sluice_arena_alloc(c->arena, sizeof *inner);
        sluice_ast_from *f = sluice_arena_alloc(c->arena, sizeof *f);
        sluice_ast_select_item *star = sluice_arena_alloc(c->arena, sizeof *star);
        if (!inner || !f || !star) return SLUICE_ERR_NOMEM;
        *inner = *s;
        inner->emit = SLUICE_EMIT_DEFAULT;
        inner->primary_key = NULL;
        inner->nprimary_key = 0;
        memset(f, 0, sizeof *f);
        f->kind = SLUICE_FROM_SUBQUERY;
        f->line = s->line;
        f->col = s->col;
        f->query = inner;
        memset(star, 0, sizeof *star);
        star->star = 1;
        star->line = s->line;
        star->col = s->col;
        memset(&k, 0, sizeof k);
        k.name = s->name;
        k.line = s->line;
        k.col = s->col;
        k.items = star;
        k.nitems = 1;
        k.from_item = f;
        k.limit = -1;
        k.emit = s->emit;
        k.emit_line = s->emit_line;
        k.emit_col = s->emit_col;
        k.primary_key = s->primary_key;
        k.nprimary_key = s->nprimary_key;
        k.pk_lines = s->pk_lines;
        k.pk_cols = s->pk_cols;
        k.pk_line = s->pk_line;
        k.pk_col = s->pk_col;
    }
    int stars = 0;
    for (size_t i = 0; i < k.nitems; i++) stars |= k.items[i].star;
    if (table && !stars) {
        /* the table's column names, by position */
        if (k.nitems != table->ncolumns)
            return sluice_planner_err(c, s->line, s->col, "INSERT INTO %s: the SELECT has %zu columns, the table %zu",
                                      s->name, k.nitems, table->ncolumns),
                   SLUICE_ERR_SQL;
        sluice_ast_select_item *items = sluice_arena_alloc(c->arena, (k.nitems + 1) * sizeof *items);
        if (!items) return SLUICE_ERR_NOMEM;
        for (size_t i = 0; i < k.nitems; i++) {
            items[i] = k.items[i];
            items[i].alias = table->columns[i].name;
        }
        k.items = items;
    }
    if (table && !stars && table->nprimary_key && !k.primary_key) {
        k.primary_key = table->primary_key;
        k.nprimary_key = table->nprimary_key;
        int *lines = sluice_arena_alloc(c->arena, (table->nprimary_key + 1) * sizeof(int));
        if (!lines) return SLUICE_ERR_NOMEM;
        for (size_t i = 0; i < table->nprimary_key; i++) lines[i] = table->line;
        k.pk_lines = k.pk_cols = lines;
    }
    sluice_err_t err = sluice_planner_query(c, plan, &k, q, 1);
    if (err || !table) return err;
    if (q->schema.ncolumns != table->ncolumns)
        return sluice_planner_err(c, s->line, s->col, "INSERT INTO %s: the SELECT has %zu columns, the table %zu",
                                  s->name, q->schema.ncolumns, table->ncolumns),
               SLUICE_ERR_SQL;
    sluice_column *cols = (sluice_column *)q->schema.columns;
    for (size_t j = 0; j < table->ncolumns; j++) cols[j].name = table->columns[j].name;
    return SLUICE_OK;
}

sluice_err_t sluice_plan_build(const sluice_ast_pipeline *ast, sluice_plan **out, char *errstr, size_t errstr_size) {
    sluice_plan *plan = calloc(1, sizeof *plan);
    if (!plan) return SLUICE_ERR_NOMEM;
    plan->arena = sluice_arena_new(0);
    if (!plan->arena) {
        free(plan);
        return SLUICE_ERR_NOMEM;
    }
    plan->filename = ast->filename;
    bind_ctx c;
    memset(&c, 0, sizeof c);
    c.file = ast->filename;
    c.errstr = errstr;
    c.errsz = errstr_size;
    c.arena = plan->arena;
    sluice_err_t err = SLUICE_OK;

    if (ast->nsinks == 0) {
        sluice_planner_err(&c, 1, 1, "the pipeline has no CREATE SINK ... AS SELECT: nothing to compute");
        err = SLUICE_ERR_SQL;
        goto fail;
    }
    plan->sources = sluice_arena_alloc(plan->arena, (ast->nsources + 1) * sizeof *plan->sources);
    c.plan = plan;
    plan->queries = sluice_arena_alloc(plan->arena, ast->nsinks * sizeof *plan->queries);
    if (!plan->sources || !plan->queries) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    if ((err = plan_functions(&c, ast, plan)) != SLUICE_OK) goto fail;
    for (size_t i = 0; i < ast->nsources; i++) {
        const sluice_ast_source *s = &ast->sources[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(ast->sources[j].name, s->name) == 0) {
                sluice_planner_err(&c, s->line, s->col, "duplicate %s '%s'", s->is_table ? "table" : "source", s->name);
                err = SLUICE_ERR_SQL;
                goto fail;
            }
        for (size_t v = 0; v < ast->nviews; v++)
            if (strcmp(ast->views[v].name, s->name) == 0) {
                sluice_planner_err(&c, ast->views[v].line, ast->views[v].col, "view '%s' has the name of a %s",
                                   s->name, s->is_table ? "table" : "source");
                err = SLUICE_ERR_SQL;
                goto fail;
            }
        /* a CREATE TABLE is a source when a query reads it; else it only
         * declares the columns of the sink INSERT INTO writes */
        if (s->is_table && !sluice_planner_table_read(ast, s->name)) continue;
        /* counted even when it fails, so that sluice_plan_free() frees the
         * timestamp formats it compiled before the error */
        err = sluice_planner_source(&c, s, &plan->sources[plan->nsources]);
        plan->nsources++;
        if (err != SLUICE_OK) goto fail;
    }
    for (size_t v = 0; v < ast->nviews; v++)
        for (size_t w = 0; w < v; w++)
            if (strcmp(ast->views[v].name, ast->views[w].name) == 0) {
                sluice_planner_err(&c, ast->views[v].line, ast->views[v].col, "duplicate view '%s'", ast->views[v].name);
                err = SLUICE_ERR_SQL;
                goto fail;
            }
    if ((err = sluice_planner_rels_init(&c, ast, plan)) != SLUICE_OK) goto fail;
    for (size_t i = 0; i < ast->nsinks; i++) {
        const sluice_ast_sink *s = &ast->sinks[i];
        if (sluice_plan_query_index(plan, s->name) >= 0) {
            sluice_planner_err(&c, s->line, s->col, "duplicate sink '%s'", s->name);
            err = SLUICE_ERR_SQL;
            goto fail;
        }
        if ((err = plan_sink(&c, ast, plan, s, &plan->queries[i])) != SLUICE_OK) goto fail;
        plan->nqueries++;
    }
    *out = plan;
    return SLUICE_OK;
fail:
    if (err == SLUICE_ERR_NOMEM) sluice_seterr(errstr, errstr_size, err, "%s: out of memory", ast->filename);
    sluice_plan_free(plan);
    return err;
}

sluice_expr *sluice_planner_bind(bind_ctx *c, const sluice_ast *a) { return bind(c, a); }

sluice_expr *sluice_planner_fold(bind_ctx *c, sluice_expr *e) { return fold(c, e); }

int sluice_planner_ast_equal(const sluice_ast *a, const sluice_ast *b) { return ast_equal(a, b); }

void sluice_plan_free(sluice_plan *plan) {
    if (!plan) return;
    for (size_t k = 0; k < plan->nqueries; k++) sluice_udf_release(&plan->queries[k]);
    for (sluice_plan_cleanup *u = plan->cleanups; u; u = u->next) u->fn(u->arg);
    for (size_t i = 0; i < plan->nsources; i++)
        for (size_t j = 0; j < plan->sources[i].schema.ncolumns; j++) sluice_ts_format_free(plan->sources[i].ts_formats[j]);
    sluice_arena_destroy(plan->arena);
    free(plan);
}
