/*
 * The planner's relational part: what a query's FROM reads.  A table name
 * is a source (CREATE SOURCE, or a CREATE TABLE that a query reads) or a
 * view; a subquery, a view, a join and a ranking (ROW_NUMBER() OVER ...)
 * become derived relations (plan.h sluice_rel) that the query binds over
 * like a source's row.  Relations are appended to plan->rels after their
 * inputs, so that index order is a topological order of the DAG.
 *
 * Semantics follow Flink SQL: regular joins keep both inputs (state_ttl
 * bounds them), inner joins of append-only inputs are append-only, outer
 * joins and rankings produce updates; a window TVF is aggregated with
 * GROUP BY window_start, window_end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exec/aggregate.h"
#include "plan/plan.h"
#include "plan/rel.h"
#include "sql/ast.h"
#include "sql/planner_int.h"

/* What the planner knows of the views and relations being planned. */
typedef struct rel_ctx {
    const sluice_ast_pipeline *ast;
    long *view_rel;      /* per view: its relation, -1 not planned yet, -2 being planned */
    size_t cap;          /* plan->rels capacity (never moves: rows are pointed to) */
    unsigned counter;    /* for names of relations */
} rel_ctx;

typedef sluice_from_side from_side;

static size_t count_blocks(const sluice_ast_sink *s);

static size_t count_from(const sluice_ast_from *f) {
    if (!f) return 0;
    switch (f->kind) {
    case SLUICE_FROM_TABLE: return 1;
    case SLUICE_FROM_SUBQUERY: return 1 + count_blocks(f->query);
    case SLUICE_FROM_JOIN: return 1 + count_from(f->left) + count_from(f->right);
    case SLUICE_FROM_WINDOW: return 1 + count_from(f->table);
    }
    return 1;
}

/* Relations a select block may create, at most (QUERY, RANK, UNION, joins). */
static size_t count_blocks(const sluice_ast_sink *s) {
    size_t n = 0;
    for (; s; s = s->union_all) n += 3 + 2 * count_from(s->from_item);
    return n;
}

sluice_err_t sluice_planner_rels_init(bind_ctx *c, const sluice_ast_pipeline *ast, sluice_plan *plan) {
    rel_ctx *r = sluice_arena_alloc(c->arena, sizeof *r);
    if (!r) return SLUICE_ERR_NOMEM;
    memset(r, 0, sizeof *r);
    r->ast = ast;
    r->view_rel = sluice_arena_alloc(c->arena, (ast->nviews + 1) * sizeof *r->view_rel);
    if (!r->view_rel) return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < ast->nviews; i++) r->view_rel[i] = -1;
    size_t cap = 8;
    for (size_t i = 0; i < ast->nviews; i++) cap += count_blocks(ast->views[i].query);
    for (size_t i = 0; i < ast->nsinks; i++) cap += count_blocks(&ast->sinks[i]);
    plan->rels = sluice_arena_alloc(c->arena, cap * sizeof *plan->rels);
    if (!plan->rels) return SLUICE_ERR_NOMEM;
    r->cap = cap;
    c->rels = r;
    return SLUICE_OK;
}

static sluice_rel *new_rel(bind_ctx *c, sluice_rel_kind kind, const char *name, size_t ninputs) {
    sluice_plan *plan = c->plan;
    if (plan->nrels >= c->rels->cap) {
        sluice_planner_err(c, 1, 1, "too many relations");
        return NULL;
    }
    sluice_rel *r = &plan->rels[plan->nrels];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->name = name;
    r->inputs = sluice_arena_alloc(c->arena, (ninputs + 1) * sizeof *r->inputs);
    if (!r->inputs) return NULL;
    r->ninputs = ninputs;
    r->row.derived = 1;
    r->row.rel = plan->nrels;
    r->row.name = name;
    plan->nrels++;
    return r;
}

static char *name_of(bind_ctx *c, const char *base, const char *what) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s.%s%u", base ? base : "query", what, ++c->rels->counter);
    char *n = sluice_arena_alloc(c->arena, strlen(buf) + 1);
    return n ? strcpy(n, buf) : NULL;
}

/* Allocate the arrays of a row of n columns (zeroed). */
static int row_alloc(bind_ctx *c, sluice_source_plan *row, size_t n) {
    size_t m = n + 1;
    row->columns = sluice_arena_alloc(c->arena, m * sizeof *row->columns);
    row->defs = sluice_arena_alloc(c->arena, m * sizeof *row->defs);
    row->metadata = sluice_arena_alloc(c->arena, m * sizeof *row->metadata);
    row->ts_formats = sluice_arena_alloc(c->arena, m * sizeof *row->ts_formats);
    row->used = sluice_arena_alloc(c->arena, m * sizeof *row->used);
    row->qualifiers = sluice_arena_alloc(c->arena, m * sizeof *row->qualifiers);
    row->hidden = sluice_arena_alloc(c->arena, m);
    if (!row->columns || !row->defs || !row->metadata || !row->ts_formats || !row->used || !row->qualifiers ||
        !row->hidden)
        return -1;
    memset(row->columns, 0, m * sizeof *row->columns);
    memset(row->defs, 0, m * sizeof *row->defs);
    memset(row->metadata, 0, m * sizeof *row->metadata);
    memset(row->ts_formats, 0, m * sizeof *row->ts_formats);
    memset(row->used, 0, m * sizeof *row->used);
    memset((void *)row->qualifiers, 0, m * sizeof *row->qualifiers);
    memset(row->hidden, 0, m);
    row->schema.ncolumns = n;
    row->schema.columns = row->columns;
    return 0;
}

static void row_set(sluice_source_plan *row, size_t j, const char *name, sluice_type_t type, sluice_type_t elem) {
    row->columns[j].name = name;
    row->columns[j].type = type;
    row->defs[j].name = name;
    row->defs[j].type = type;
    row->defs[j].elem_type = elem;
}

/* The first source under an input (for names in messages and for the
 * processing-time flag of the scan). */
static size_t leaf_source(const sluice_plan *plan, sluice_input in) {
    while (in.derived) {
        const sluice_rel *r = &plan->rels[in.index];
        in = r->kind == SLUICE_REL_QUERY ? r->query->input : r->inputs[0];
    }
    return in.index;
}

/* The row of an input. */
static sluice_source_plan *input_row(sluice_plan *plan, sluice_input in) {
    return in.derived ? &plan->rels[in.index].row : &plan->sources[in.index];
}

/* Every column of a source read into a join or a relation is decoded. */
static void use_all(sluice_plan *plan, sluice_input in) {
    if (in.derived) return;
    sluice_source_plan *s = &plan->sources[in.index];
    for (size_t i = 0; i < s->schema.ncolumns; i++) s->used[i] = 1;
}

static long plan_select_rel(bind_ctx *c, const sluice_ast_sink *s, const char *name);

/* A table name in FROM: a source (or read CREATE TABLE), else a view. */
static sluice_err_t resolve_table(bind_ctx *c, const sluice_ast_from *f, from_side *out) {
    sluice_plan *plan = c->plan;
    long si = sluice_plan_source_index(plan, f->name);
    out->alias = f->alias ? f->alias : f->name;
    if (si >= 0) {
        out->in.derived = 0;
        out->in.index = (size_t)si;
        out->row = &plan->sources[si];
        out->updating = 0;
        return SLUICE_OK;
    }
    const sluice_ast_pipeline *ast = c->rels->ast;
    for (size_t v = 0; v < ast->nviews; v++) {
        if (strcmp(ast->views[v].name, f->name) != 0) continue;
        long ri = c->rels->view_rel[v];
        if (ri == -2)
            return sluice_planner_err(c, f->line, f->col, "view '%s' reads itself", f->name), SLUICE_ERR_SQL;
        if (ri == -1) {
            c->rels->view_rel[v] = -2;
            ri = plan_select_rel(c, ast->views[v].query, ast->views[v].name);
            if (ri < 0) return SLUICE_ERR_SQL;
            c->rels->view_rel[v] = ri;
        }
        out->in.derived = 1;
        out->in.index = (size_t)ri;
        out->row = &plan->rels[ri].row;
        out->updating = plan->rels[ri].updating;
        return SLUICE_OK;
    }
    char list[300] = "";
    for (size_t i = 0; i < plan->nsources; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, plan->sources[i].name, sizeof list - strlen(list) - 1);
    }
    for (size_t v = 0; v < ast->nviews; v++) {
        if (list[0]) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, ast->views[v].name, sizeof list - strlen(list) - 1);
    }
    return sluice_planner_err(c, f->line, f->col, "unknown source, table or view '%s' in FROM (known: %s)", f->name,
                              list[0] ? list : "none; declare one with CREATE SOURCE"),
           SLUICE_ERR_SQL;
}

static sluice_err_t resolve_item(bind_ctx *c, const sluice_ast_from *f, const sluice_ast *where, from_side *out,
                                 const char *base);

/* ---------------- joins ---------------- */

/* The CREATE TABLE called name when it declares a lookup table (no
 * watermark), else NULL. */
static const sluice_ast_source *lookup_table_decl(const sluice_ast_pipeline *ast, const char *name) {
    for (size_t i = 0; i < ast->nsources; i++)
        if (ast->sources[i].is_table && !ast->sources[i].has_watermark && strcmp(ast->sources[i].name, name) == 0)
            return &ast->sources[i];
    return NULL;
}


/* Which sides an expression's columns come from: bit 0 left, bit 1
 * right, bit 2 a column of neither (or ambiguous). */
static int sides_of(const sluice_ast *a, const from_side *l, const from_side *r) {
    if (!a) return 0;
    if (a->kind == SLUICE_AST_COLUMN) {
        int amb1, amb2;
        long i = sluice_planner_resolve(l->row, l->alias, a->qualifier, a->name, &amb1);
        long j = sluice_planner_resolve(r->row, r->alias, a->qualifier, a->name, &amb2);
        if (amb1 || amb2 || (i >= 0 && j >= 0)) return 4;
        return i >= 0 ? 1 : j >= 0 ? 2 : 4;
    }
    int m = 0;
    for (size_t k = 0; k < a->nargs; k++) m |= sides_of(a->args[k], l, r);
    return m;
}

/* Bind a over one side's row (a temporary context; errors go to c). */
static sluice_expr *bind_over(bind_ctx *c, const sluice_ast *a, const from_side *side, const char *clause) {
    bind_ctx t = *c;
    t.src = side->row;
    t.alias = side->alias;
    t.clause = clause;
    t.post = 0;
    t.tvf = NULL;
    return sluice_planner_bind(&t, a);
}

/* Split a condition into its AND-ed conjuncts (arena). */
static size_t conjuncts(bind_ctx *c, const sluice_ast *a, const sluice_ast ***out, size_t n) {
    if (!a) return n;
    if (a->kind == SLUICE_AST_BINARY && a->op == SLUICE_OP_AND) {
        n = conjuncts(c, a->args[0], out, n);
        return conjuncts(c, a->args[1], out, n);
    }
    const sluice_ast **v = sluice_arena_alloc(c->arena, (n + 1) * sizeof *v);
    if (!v) return n;
    if (n) memcpy(v, *out, n * sizeof *v);
    v[n] = a;
    *out = v;
    return n + 1;
}

static int numeric(sluice_type_t t) { return t == SLUICE_TYPE_BIGINT || t == SLUICE_TYPE_DOUBLE; }

/* CAST e to DOUBLE (both sides of a BIGINT = DOUBLE key compare as DOUBLE). */
static sluice_expr *as_double(bind_ctx *c, sluice_expr *e) {
    if (e->type == SLUICE_TYPE_DOUBLE) return e;
    sluice_expr *x = sluice_arena_alloc(c->arena, sizeof *x);
    sluice_expr **args = sluice_arena_alloc(c->arena, sizeof *args);
    if (!x || !args) return NULL;
    memset(x, 0, sizeof *x);
    x->kind = SLUICE_EXPR_CAST;
    x->type = SLUICE_TYPE_DOUBLE;
    args[0] = e;
    x->args = args;
    x->nargs = 1;
    return x;
}

/* 1 when column col of a side's rows is a time attribute: a source's (or
 * a projection's) watermark column, or the window_end of a window
 * aggregate's final rows (each is emitted once the watermark reaches it). */
static int time_attr(const sluice_plan *plan, const from_side *sd, size_t col) {
    if (sd->row->has_watermark && sd->row->watermark_column == col) return 1;
    if (!sd->in.derived) return 0;
    const sluice_rel *r = &plan->rels[sd->in.index];
    if (r->kind != SLUICE_REL_QUERY || !r->query->aggregate || r->query->window == SLUICE_WINDOW_NONE ||
        r->query->emit != SLUICE_EMIT_APPEND)
        return 0;
    const sluice_expr *o = r->query->outputs[col];
    return o->kind == SLUICE_EXPR_COLUMN && o->column == SLUICE_POST_WINDOW_END;
}

/* a as `column [+|- INTERVAL]` of one side: 1 (left) or 2 (right), with
 * the column and the offset in ms; 0 otherwise. */
static int time_term(const sluice_ast *a, const from_side *l, const from_side *r, size_t *col, int64_t *off) {
    *off = 0;
    if (a->kind == SLUICE_AST_BINARY && (a->op == SLUICE_OP_ADD || a->op == SLUICE_OP_SUB) &&
        a->args[1]->kind == SLUICE_AST_INTERVAL) {
        *off = a->op == SLUICE_OP_ADD ? a->args[1]->lit.u.i : -a->args[1]->lit.u.i;
        a = a->args[0];
    }
    if (a->kind != SLUICE_AST_COLUMN) return 0;
    int amb1, amb2;
    long i = sluice_planner_resolve(l->row, l->alias, a->qualifier, a->name, &amb1);
    long j = sluice_planner_resolve(r->row, r->alias, a->qualifier, a->name, &amb2);
    if (amb1 || amb2 || (i >= 0) == (j >= 0)) return 0;
    *col = (size_t)(i >= 0 ? i : j);
    return i >= 0 ? 1 : 2;
}

/* Bound a join of append-only inputs by time, so that its state is freed
 * as the watermark passes (docs/sql.md "Joins"):
 *  - a window join: a key pair is the window_end of two window aggregates:
 *    the rows of a window meet only rows of the same window, and no row of
 *    it comes after the watermark passed its end (Flink's window join);
 *  - an interval join: the conditions bound right.t - left.t below and
 *    above, for time attributes t (Flink's interval join).
 * Either makes it an INTERVAL join over those columns; the conditions stay
 * where they are, so the result is the same as the regular join's for
 * rows that are not late. */
static void bound_by_time(bind_ctx *c, sluice_join_plan *jp, const from_side *l, const from_side *r,
                          const sluice_ast **cj, size_t ncj) {
    const sluice_plan *plan = c->plan;
    for (size_t k = 0; k < jp->nkeys; k++) {
        const sluice_expr *le = jp->left_keys[k], *re = jp->right_keys[k];
        if (le->kind == SLUICE_EXPR_COLUMN && re->kind == SLUICE_EXPR_COLUMN && time_attr(plan, l, le->column) &&
            time_attr(plan, r, re->column)) {
            jp->strategy = SLUICE_JOIN_INTERVAL;
            jp->left_time = le->column;
            jp->right_time = re->column;
            jp->lower_ms = jp->upper_ms = 0;
            return;
        }
    }
    /* bounds on right.t - left.t from `x op y` conjuncts and BETWEENs */
    int have_lo = 0, have_hi = 0;
    int64_t lo = 0, hi = 0;
    size_t lt = 0, rt = 0;
    for (size_t k = 0; k < ncj; k++) {
        const sluice_ast *a = cj[k];
        const sluice_ast *pairs[2][2];
        sluice_ast_op ops[2];
        size_t np = 0;
        if (a->kind == SLUICE_AST_BETWEEN && !a->negated) {
            pairs[0][0] = a->args[0], pairs[0][1] = a->args[1], ops[0] = SLUICE_OP_GE;
            pairs[1][0] = a->args[0], pairs[1][1] = a->args[2], ops[1] = SLUICE_OP_LE;
            np = 2;
        } else if (a->kind == SLUICE_AST_BINARY &&
                   (a->op == SLUICE_OP_GE || a->op == SLUICE_OP_GT || a->op == SLUICE_OP_LE || a->op == SLUICE_OP_LT)) {
            pairs[0][0] = a->args[0], pairs[0][1] = a->args[1], ops[0] = a->op;
            np = 1;
        }
        for (size_t m = 0; m < np; m++) {
            size_t cx, cy;
            int64_t ox, oy;
            int sx = time_term(pairs[m][0], l, r, &cx, &ox), sy = time_term(pairs[m][1], l, r, &cy, &oy);
            if (!sx || !sy || sx == sy) continue;
            /* x + ox op y + oy  =>  (right - left) op' bound */
            sluice_ast_op op = ops[m];
            size_t lcol = sx == 1 ? cx : cy, rcol = sx == 1 ? cy : cx;
            if (!time_attr(plan, l, lcol) || !time_attr(plan, r, rcol)) continue;
            if ((have_lo || have_hi) && (lcol != lt || rcol != rt)) continue;
            lt = lcol;
            rt = rcol;
            int64_t bound;
            if (sx == 2) { /* r + ox op l + oy  =>  r - l op oy - ox */
                bound = oy - ox;
            } else { /* l + ox op r + oy  =>  r - l op' ox - oy, op reversed */
                bound = ox - oy;
                op = op == SLUICE_OP_GE ? SLUICE_OP_LE : op == SLUICE_OP_GT ? SLUICE_OP_LT
                   : op == SLUICE_OP_LE ? SLUICE_OP_GE : SLUICE_OP_GT;
            }
            if (op == SLUICE_OP_GT) op = SLUICE_OP_GE, bound += 1;
            if (op == SLUICE_OP_LT) op = SLUICE_OP_LE, bound -= 1;
            if (op == SLUICE_OP_GE && (!have_lo || bound > lo)) lo = bound, have_lo = 1;
            if (op == SLUICE_OP_LE && (!have_hi || bound < hi)) hi = bound, have_hi = 1;
        }
    }
    if (!have_lo || !have_hi || lo > hi) return;
    jp->strategy = SLUICE_JOIN_INTERVAL;
    jp->left_time = lt;
    jp->right_time = rt;
    jp->lower_ms = lo;
    jp->upper_ms = hi;
}

static const sluice_join_type join_types[] = {
    [SLUICE_AST_JOIN_INNER] = SLUICE_JOIN_INNER, [SLUICE_AST_JOIN_LEFT] = SLUICE_JOIN_LEFT,
    [SLUICE_AST_JOIN_RIGHT] = SLUICE_JOIN_RIGHT, [SLUICE_AST_JOIN_FULL] = SLUICE_JOIN_FULL,
    [SLUICE_AST_JOIN_CROSS] = SLUICE_JOIN_INNER,
};

/* A JOIN item: both sides, then the join relation whose row is the left
 * row's columns followed by the right's, each known by its side's alias.
 * Equalities between the sides in ON (and, for inner joins, in the
 * query's WHERE, which still filters the joined rows) become the join
 * keys; the rest of ON is the residual condition. */
/* The column types of a row (arena). */
static const sluice_type_t *row_types(bind_ctx *c, const sluice_source_plan *row) {
    sluice_type_t *t = sluice_arena_alloc(c->arena, (row->schema.ncolumns + 1) * sizeof *t);
    if (t)
        for (size_t i = 0; i < row->schema.ncolumns; i++) t[i] = row->columns[i].type;
    return t;
}

/* The row of a join: the left side's columns, then the right's, each known
 * by its side's qualifier.  0, or -1 out of memory. */
static int join_row(bind_ctx *c, sluice_source_plan *row, const from_side *l, const from_side *r) {
    size_t nl = l->row->schema.ncolumns, n = nl + r->row->schema.ncolumns;
    if (row_alloc(c, row, n) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        const from_side *sd = i < nl ? l : r;
        size_t k = i < nl ? i : i - nl;
        row_set(row, i, sd->row->columns[k].name, sd->row->columns[k].type, sd->row->defs[k].elem_type);
        row->qualifiers[i] = sd->row->qualifiers ? sd->row->qualifiers[k] : sd->alias;
        if (sd->row->hidden && sd->row->hidden[k]) row->hidden[i] = 1;
    }
    return 0;
}

/* The equi-keys and the residual condition of a join. */
typedef struct join_cond {
    sluice_expr **left_keys, **right_keys;
    size_t nkeys;
    sluice_expr *residual;
} join_cond;

/* From the conjuncts cj (the first `non` from ON, the rest from WHERE):
 * each equality between an expression of the left side and one of the
 * right is a key pair (both given one type); the other ON conjuncts,
 * bound over the joined row `row`, are the residual. */
static sluice_err_t join_conditions(bind_ctx *c, const sluice_ast **cj, size_t ncj, size_t non, const from_side *l,
                                    const from_side *r, sluice_source_plan *row, join_cond *jc) {
    memset(jc, 0, sizeof *jc);
    jc->left_keys = sluice_arena_alloc(c->arena, (ncj + 1) * sizeof *jc->left_keys);
    jc->right_keys = sluice_arena_alloc(c->arena, (ncj + 1) * sizeof *jc->right_keys);
    if (!jc->left_keys || !jc->right_keys) return SLUICE_ERR_NOMEM;
    sluice_ast **residual = sluice_arena_alloc(c->arena, (non + 1) * sizeof *residual);
    if (!residual) return SLUICE_ERR_NOMEM;
    size_t nres = 0;
    for (size_t k = 0; k < ncj; k++) {
        const sluice_ast *a = cj[k];
        int key = 0;
        if (a->kind == SLUICE_AST_BINARY && a->op == SLUICE_OP_EQ) {
            int s0 = sides_of(a->args[0], l, r), s1 = sides_of(a->args[1], l, r);
            const sluice_ast *la = NULL, *ra = NULL;
            if (s0 == 1 && s1 == 2) la = a->args[0], ra = a->args[1];
            else if (s0 == 2 && s1 == 1) la = a->args[1], ra = a->args[0];
            if (la) {
                sluice_expr *le = bind_over(c, la, l, "ON"), *re = le ? bind_over(c, ra, r, "ON") : NULL;
                if (!le || !re) return SLUICE_ERR_SQL;
                if (le->type != re->type) {
                    if (!numeric(le->type) || !numeric(re->type))
                        return sluice_planner_err(c, a->line, a->col, "cannot join %s with %s",
                                                  sluice_type_name(le->type), sluice_type_name(re->type)),
                               SLUICE_ERR_SQL;
                    if (!(le = as_double(c, le)) || !(re = as_double(c, re))) return SLUICE_ERR_NOMEM;
                }
                if (le->type == SLUICE_TYPE_ARRAY)
                    return sluice_planner_err(c, a->line, a->col, "cannot join on an ARRAY"), SLUICE_ERR_SQL;
                jc->left_keys[jc->nkeys] = le;
                jc->right_keys[jc->nkeys] = re;
                jc->nkeys++;
                key = 1;
            }
        }
        if (!key && k < non) residual[nres++] = (sluice_ast *)a;
    }
    if (nres) {
        /* bound over the joined row: AND of the conjuncts left */
        bind_ctx t = *c;
        t.src = row;
        t.alias = NULL;
        t.clause = "ON";
        t.post = 0;
        t.tvf = NULL;
        sluice_expr *res = NULL;
        for (size_t k = 0; k < nres; k++) {
            sluice_expr *e = sluice_planner_bind(&t, residual[k]);
            if (!e) return SLUICE_ERR_SQL;
            if (e->type != SLUICE_TYPE_BOOLEAN && e->type != SLUICE_TYPE_NULL)
                return sluice_planner_err(c, residual[k]->line, residual[k]->col, "ON needs a BOOLEAN condition, got %s",
                                          sluice_type_name(e->type)),
                       SLUICE_ERR_SQL;
            if (!res) {
                res = e;
                continue;
            }
            sluice_expr *and = sluice_arena_alloc(c->arena, sizeof *and);
            sluice_expr **args = sluice_arena_alloc(c->arena, 2 * sizeof *args);
            if (!and || !args) return SLUICE_ERR_NOMEM;
            memset(and, 0, sizeof *and);
            and->kind = SLUICE_EXPR_AND;
            and->type = SLUICE_TYPE_BOOLEAN;
            args[0] = res;
            args[1] = e;
            and->args = args;
            and->nargs = 2;
            res = and;
        }
        jc->residual = res;
    }
    return SLUICE_OK;
}

/* FROM l JOIN v FOR SYSTEM_TIME AS OF l.t [AS alias] ON l.k = v.k: the
 * event-time temporal join of l's rows with the version of v valid at
 * their time (Flink's versioned-table join; plan/rel.h).  v is a source
 * (or view) with a watermark; each of its rows is a new version of its key. */
static sluice_err_t plan_temporal_join(bind_ctx *c, const sluice_ast_from *f, const from_side *l, from_side *out,
                                       const char *base) {
    sluice_plan *plan = c->plan;
    const sluice_ast_from *rf = f->right;
    from_side r;
    sluice_err_t err = resolve_table(c, rf, &r);
    if (err) return err;
    if (f->join != SLUICE_AST_JOIN_INNER && f->join != SLUICE_AST_JOIN_LEFT)
        return sluice_planner_err(c, f->line, f->col, "a temporal join is an INNER or a LEFT join"), SLUICE_ERR_SQL;
    if (!r.row->has_watermark || r.updating)
        return sluice_planner_err(c, rf->line, rf->col,
                                  "FOR SYSTEM_TIME AS OF %s: a versioned table needs a WATERMARK (or, for a lookup "
                                  "table, declare it with CREATE TABLE without one)",
                                  rf->name),
               SLUICE_ERR_SQL;
    if (l->updating)
        return sluice_planner_err(c, f->line, f->col,
                                  "the left input of a temporal join must be append-only (no updates or deletes)"),
               SLUICE_ERR_SQL;
    size_t lcol;
    int64_t off;
    if (time_term(rf->as_of, l, &r, &lcol, &off) != 1 || off != 0 || !time_attr(plan, l, lcol))
        return sluice_planner_err(c, rf->as_of->line, rf->as_of->col,
                                  "FOR SYSTEM_TIME AS OF needs the event-time column of the left input (its "
                                  "WATERMARK column)"),
               SLUICE_ERR_SQL;
    use_all(plan, l->in);
    use_all(plan, r.in);
    sluice_temporal_join_plan *tp = sluice_arena_alloc(c->arena, sizeof *tp);
    if (!tp) return SLUICE_ERR_NOMEM;
    memset(tp, 0, sizeof *tp);
    tp->left_outer = f->join == SLUICE_AST_JOIN_LEFT;
    tp->left_width = l->row->schema.ncolumns;
    tp->right_width = r.row->schema.ncolumns;
    if (!(tp->left_types = row_types(c, l->row)) || !(tp->right_types = row_types(c, r.row))) return SLUICE_ERR_NOMEM;
    tp->left_time = lcol;
    tp->right_time = r.row->watermark_column;
    sluice_rel *rel = new_rel(c, SLUICE_REL_TEMPORAL, name_of(c, base, "temporal_join"), 2);
    if (!rel || !rel->name) return SLUICE_ERR_NOMEM;
    tp->name = rel->name;
    rel->inputs[0] = l->in;
    rel->inputs[1] = r.in;
    rel->temporal = tp;
    if (join_row(c, &rel->row, l, &r) != 0) return SLUICE_ERR_NOMEM;
    const sluice_ast **cj = NULL;
    size_t n = conjuncts(c, f->on, &cj, 0);
    join_cond jc;
    if ((err = join_conditions(c, cj, n, n, l, &r, &rel->row, &jc)) != SLUICE_OK) return err;
    if (jc.nkeys == 0)
        return sluice_planner_err(c, f->line, f->col,
                                  "a temporal join needs ON equalities with the versioned table's key"),
               SLUICE_ERR_SQL;
    tp->left_keys = jc.left_keys;
    tp->right_keys = jc.right_keys;
    tp->nkeys = jc.nkeys;
    tp->residual = jc.residual;
    out->in.derived = 1;
    out->in.index = rel->row.rel;
    out->row = &rel->row;
    out->alias = NULL;
    out->updating = 0;
    return SLUICE_OK;
}

static sluice_err_t plan_join(bind_ctx *c, const sluice_ast_from *f, const sluice_ast *where, from_side *out,
                              const char *base) {
    sluice_plan *plan = c->plan;
    from_side l, r;
    sluice_err_t err = resolve_item(c, f->left, where, &l, base);
    if (err) return err;
    if (f->right->kind == SLUICE_FROM_TABLE && f->right->as_of) {
        /* FOR SYSTEM_TIME AS OF: a CREATE TABLE without a watermark is a
         * lookup table (processing time); a table with one is a versioned
         * table (event-time temporal join) */
        const sluice_ast_source *t = lookup_table_decl(c->rels->ast, f->right->name);
        if (t) return sluice_planner_lookup_join(c, f, &l, t, out, base);
        return plan_temporal_join(c, f, &l, out, base);
    }
    if ((err = resolve_item(c, f->right, where, &r, base)) != SLUICE_OK) return err;
    if (f->left->kind == SLUICE_FROM_WINDOW || f->right->kind == SLUICE_FROM_WINDOW)
        return sluice_planner_err(c, f->line, f->col,
                                  "a window TVF must be aggregated in its own query before a join (Flink's window "
                                  "join reads two window aggregates)"),
               SLUICE_ERR_SQL;
    use_all(plan, l.in);
    use_all(plan, r.in);

    sluice_join_plan *jp = sluice_arena_alloc(c->arena, sizeof *jp);
    if (!jp) return SLUICE_ERR_NOMEM;
    memset(jp, 0, sizeof *jp);
    jp->type = join_types[f->join];
    jp->strategy = SLUICE_JOIN_REGULAR;
    jp->left_width = l.row->schema.ncolumns;
    jp->right_width = r.row->schema.ncolumns;
    if (!(jp->left_types = row_types(c, l.row)) || !(jp->right_types = row_types(c, r.row))) return SLUICE_ERR_NOMEM;
    jp->left_append_only = !l.updating;
    jp->right_append_only = !r.updating;

    sluice_rel *rel = new_rel(c, SLUICE_REL_JOIN, name_of(c, base, "join"), 2);
    if (!rel || !rel->name) return SLUICE_ERR_NOMEM;
    jp->name = rel->name;
    rel->inputs[0] = l.in;
    rel->inputs[1] = r.in;
    rel->join = jp;
    rel->updating = l.updating || r.updating || jp->type != SLUICE_JOIN_INNER;
    if (join_row(c, &rel->row, &l, &r) != 0) return SLUICE_ERR_NOMEM;

    /* keys and residual */
    const sluice_ast **cj = NULL;
    size_t non = conjuncts(c, f->on, &cj, 0);
    size_t ncj = jp->type == SLUICE_JOIN_INNER ? conjuncts(c, where, &cj, non) : non;
    join_cond jc;
    if ((err = join_conditions(c, cj, ncj, non, &l, &r, &rel->row, &jc)) != SLUICE_OK) return err;
    jp->left_keys = jc.left_keys;
    jp->right_keys = jc.right_keys;
    jp->nkeys = jc.nkeys;
    jp->residual = jc.residual;
    if (!l.updating && !r.updating) bound_by_time(c, jp, &l, &r, cj, ncj);
    out->in.derived = 1;
    out->in.index = rel->row.rel;
    out->row = &rel->row;
    out->alias = NULL;
    out->updating = rel->updating;
    return SLUICE_OK;
}

static sluice_err_t resolve_item(bind_ctx *c, const sluice_ast_from *f, const sluice_ast *where, from_side *out,
                                 const char *base) {
    switch (f->kind) {
    case SLUICE_FROM_TABLE: return resolve_table(c, f, out);
    case SLUICE_FROM_SUBQUERY: {
        long ri = plan_select_rel(c, f->query, f->alias ? f->alias : name_of(c, base, "subquery"));
        if (ri < 0) return SLUICE_ERR_SQL;
        out->in.derived = 1;
        out->in.index = (size_t)ri;
        out->row = &c->plan->rels[ri].row;
        out->alias = f->alias;
        out->updating = c->plan->rels[ri].updating;
        return SLUICE_OK;
    }
    case SLUICE_FROM_WINDOW: {
        sluice_err_t err = resolve_item(c, f->table, where, out, base);
        if (f->alias) out->alias = f->alias;
        return err;
    }
    case SLUICE_FROM_JOIN: return plan_join(c, f, where, out, base);
    }
    return SLUICE_ERR_SQL;
}

sluice_err_t sluice_planner_from(bind_ctx *c, const sluice_ast_sink *s, sluice_query_plan *q) {
    from_side side;
    sluice_err_t err = resolve_item(c, s->from_item, s->where, &side, s->name);
    if (err) return err;
    q->input = side.in;
    q->source = leaf_source(c->plan, side.in);
    q->input_updating = side.updating;
    c->src = side.row;
    c->alias = side.alias;
    c->tvf = s->from_item->kind == SLUICE_FROM_WINDOW ? s->from_item : NULL;
    if (side.in.derived) {
        /* a rank relation: the query's WHERE gives its N */
        sluice_rel *rel = &c->plan->rels[side.in.index];
        if (rel->kind == SLUICE_REL_RANK) {
            const sluice_ast **cj = NULL;
            size_t n = conjuncts(c, s->where, &cj, 0);
            const char *rname = rel->row.columns[rel->row.schema.ncolumns - 1].name;
            int64_t limit = -1;
            for (size_t k = 0; k < n; k++) {
                const sluice_ast *a = cj[k];
                if (a->kind != SLUICE_AST_BINARY || a->nargs != 2) continue;
                const sluice_ast *x = a->args[0], *y = a->args[1];
                sluice_ast_op op = a->op;
                if (y->kind == SLUICE_AST_COLUMN && x->kind == SLUICE_AST_LITERAL) {
                    const sluice_ast *t = x;
                    x = y;
                    y = t;
                    op = op == SLUICE_OP_GE ? SLUICE_OP_LE : op == SLUICE_OP_GT ? SLUICE_OP_LT : op;
                }
                if (x->kind != SLUICE_AST_COLUMN || strcmp(x->name, rname) != 0 || y->kind != SLUICE_AST_LITERAL ||
                    y->lit.type != SLUICE_TYPE_BIGINT)
                    continue;
                int64_t v = y->lit.u.i;
                if (op == SLUICE_OP_LT) v = v - 1;
                else if (op != SLUICE_OP_LE && !(op == SLUICE_OP_EQ && v == 1)) continue;
                if (limit < 0 || v < limit) limit = v;
            }
            if (limit < 1)
                return sluice_planner_err(c, s->line, s->col,
                                          "a query reading %s() OVER (...) AS %s needs WHERE %s <= N (N >= 1): "
                                          "Flink's Top-N",
                                          rel->rank->fn == SLUICE_RANK_ROW_NUMBER ? "ROW_NUMBER"
                                          : rel->rank->fn == SLUICE_RANK_RANK     ? "RANK"
                                                                                  : "DENSE_RANK",
                                          rname, rname),
                       SLUICE_ERR_SQL;
            if (rel->rank->limit && rel->rank->limit != limit)
                return sluice_planner_err(c, s->line, s->col,
                                          "the ranking %s is read with two different limits", rel->name),
                       SLUICE_ERR_SQL;
            rel->rank->limit = limit;
        }
    }
    return SLUICE_OK;
}

/* ---------------- select blocks as relations ---------------- */

static const struct {
    const char *name;
    sluice_rank_fn fn;
} rank_fns[] = {{"ROW_NUMBER", SLUICE_RANK_ROW_NUMBER}, {"RANK", SLUICE_RANK_RANK}, {"DENSE_RANK", SLUICE_RANK_DENSE_RANK}};

static long plan_block_rel(bind_ctx *c, const sluice_ast_sink *s, const char *name);

/* A block whose last SELECT item is fn() OVER (PARTITION BY p ORDER BY o)
 * AS r: the block without it, with the PARTITION BY and ORDER BY
 * expressions as hidden columns, then the rank relation over it, whose row
 * is that block's followed by r. */
static long plan_rank_rel(bind_ctx *c, const sluice_ast_sink *s, const char *name) {
    const sluice_ast_select_item *last = &s->items[s->nitems - 1];
    const sluice_ast *over = last->expr;
    size_t fi = 0;
    while (fi < 3 && strcmp(rank_fns[fi].name, over->name) != 0) fi++;
    if (fi == 3)
        return sluice_planner_err(c, over->line, over->col,
                                  "%s() OVER: the functions over a window of rows are ROW_NUMBER, RANK and DENSE_RANK",
                                  over->name),
               -1;
    if (over->ncall_args || over->star || over->frame)
        return sluice_planner_err(c, over->line, over->col,
                                  "%s() takes no argument and no frame (ROWS/RANGE) in OVER", over->name),
               -1;
    if (!last->alias)
        return sluice_planner_err(c, over->line, over->col, "name the rank: %s() OVER (...) AS r", over->name), -1;
    size_t nk = over->nargs;
    sluice_ast_sink inner = *s;
    sluice_ast_select_item *items = sluice_arena_alloc(c->arena, (s->nitems - 1 + nk + 1) * sizeof *items);
    if (!items) return -1;
    memcpy(items, s->items, (s->nitems - 1) * sizeof *items);
    for (size_t k = 0; k < nk; k++) {
        sluice_ast_select_item *it = &items[s->nitems - 1 + k];
        memset(it, 0, sizeof *it);
        it->expr = over->args[k];
        it->line = over->args[k]->line;
        it->col = over->args[k]->col;
        char buf[32];
        snprintf(buf, sizeof buf, "$rank_key%zu", k);
        char *nm = sluice_arena_alloc(c->arena, strlen(buf) + 1);
        if (!nm) return -1;
        it->alias = strcpy(nm, buf);
    }
    inner.items = items;
    inner.nitems = s->nitems - 1 + nk;
    long pi = plan_block_rel(c, &inner, name_of(c, name, "ranked"));
    if (pi < 0) return -1;
    sluice_plan *plan = c->plan;
    sluice_rel *p = &plan->rels[pi];
    size_t w = p->row.schema.ncolumns;
    sluice_rank_plan *rp = sluice_arena_alloc(c->arena, sizeof *rp);
    if (!rp) return -1;
    memset(rp, 0, sizeof *rp);
    rp->fn = rank_fns[fi].fn;
    rp->width = w;
    sluice_type_t *types = sluice_arena_alloc(c->arena, (w + 1) * sizeof *types);
    rp->partition = sluice_arena_alloc(c->arena, (nk + 1) * sizeof *rp->partition);
    rp->order = sluice_arena_alloc(c->arena, (nk + 1) * sizeof *rp->order);
    int *desc = sluice_arena_alloc(c->arena, (nk + 1) * sizeof *desc);
    if (!types || !rp->partition || !rp->order || !desc) return -1;
    for (size_t i = 0; i < w; i++) types[i] = p->row.columns[i].type;
    rp->types = types;
    for (size_t k = 0; k < nk; k++) {
        size_t col = w - nk + k;
        sluice_expr *e = sluice_arena_alloc(c->arena, sizeof *e);
        if (!e) return -1;
        memset(e, 0, sizeof *e);
        e->kind = SLUICE_EXPR_COLUMN;
        e->type = types[col];
        e->column = col;
        if (k < over->npartition) {
            rp->partition[rp->npartition++] = e;
        } else {
            desc[rp->norder] = over->order_desc[k - over->npartition];
            rp->order[rp->norder++] = e;
        }
    }
    rp->order_desc = desc;
    rp->append_only_input = !p->updating;
    rp->output_rank = 1;
    sluice_rel *rel = new_rel(c, SLUICE_REL_RANK, name, 1);
    if (!rel) return -1;
    rp->name = rel->name;
    rel->inputs[0].derived = 1;
    rel->inputs[0].index = pi;
    rel->rank = rp;
    rel->updating = 1;
    if (row_alloc(c, &rel->row, w + 1) != 0) return -1;
    p = &plan->rels[pi];
    for (size_t i = 0; i < w; i++) {
        row_set(&rel->row, i, p->row.columns[i].name, p->row.columns[i].type, p->row.defs[i].elem_type);
        rel->row.hidden[i] = i >= w - nk;
        rel->row.qualifiers[i] = NULL;
    }
    row_set(&rel->row, w, last->alias, SLUICE_TYPE_BIGINT, SLUICE_TYPE_NULL);
    rel->row.qualifiers = NULL;
    return (long)rel->row.rel;
}

static int is_rank_fn(const char *name) {
    for (size_t i = 0; i < 3; i++)
        if (strcmp(rank_fns[i].name, name) == 0) return 1;
    return 0;
}

static int is_over_agg(const sluice_ast_select_item *it) {
    return it->expr && it->expr->kind == SLUICE_AST_OVER && !is_rank_fn(it->expr->name);
}

static sluice_expr *column_ref(bind_ctx *c, size_t col, sluice_type_t type) {
    sluice_expr *e = sluice_arena_alloc(c->arena, sizeof *e);
    if (!e) return NULL;
    memset(e, 0, sizeof *e);
    e->kind = SLUICE_EXPR_COLUMN;
    e->type = type;
    e->column = col;
    return e;
}

static sluice_ast_select_item hidden_item(bind_ctx *c, sluice_ast *expr, const char *fmt, size_t k) {
    sluice_ast_select_item it;
    memset(&it, 0, sizeof it);
    it.expr = expr;
    it.line = expr->line;
    it.col = expr->col;
    char buf[48];
    snprintf(buf, sizeof buf, fmt, k);
    char *nm = sluice_arena_alloc(c->arena, strlen(buf) + 1);
    it.alias = nm ? strcpy(nm, buf) : NULL;
    return it;
}

/* A block whose last SELECT items are agg(x) OVER (PARTITION BY p ORDER BY
 * t [frame]) AS a (Flink's over aggregation; all over the same window):
 * the block without them, with the partition keys, the time and the
 * aggregates' arguments as hidden columns, then the OVER relation over it,
 * whose row is that block's followed by one column per aggregate. */
static long plan_over_rel(bind_ctx *c, const sluice_ast_sink *s, const char *name) {
    size_t first = s->nitems;
    while (first > 0 && is_over_agg(&s->items[first - 1])) first--;
    for (size_t i = 0; i < first; i++)
        if (s->items[i].expr && s->items[i].expr->kind == SLUICE_AST_OVER)
            return sluice_planner_err(c, s->items[i].line, s->items[i].col,
                                      "OVER aggregates must be the last SELECT items, after the other columns"),
                   -1;
    const sluice_ast *w = s->items[first].expr;
    size_t nover = s->nitems - first;
    for (size_t j = 0; j < nover; j++) {
        const sluice_ast *o = s->items[first + j].expr;
        if (o->distinct || o->filter)
            return sluice_planner_err(c, o->line, o->col, "DISTINCT and FILTER are not supported with OVER"), -1;
        int same = o->npartition == w->npartition && o->nargs == w->nargs && o->frame == w->frame &&
                   o->preceding == w->preceding;
        for (size_t k = 0; same && k < o->nargs; k++)
            same = sluice_planner_ast_equal(o->args[k], w->args[k]) &&
                   (k < o->npartition || o->order_desc[k - o->npartition] == w->order_desc[k - w->npartition]);
        if (!same)
            return sluice_planner_err(c, o->line, o->col,
                                      "every OVER aggregate of a SELECT must use the same window (PARTITION BY, "
                                      "ORDER BY and frame)"),
                   -1;
    }
    if (w->nargs - w->npartition != 1 || w->order_desc[0])
        return sluice_planner_err(c, w->line, w->col,
                                  "OVER aggregates are ordered by one time column, ascending (Flink's over "
                                  "aggregation)"),
               -1;
    /* the block without the OVER items, plus hidden columns */
    size_t nhidden = w->npartition + 1 + nover;
    sluice_ast_sink inner = *s;
    sluice_ast_select_item *items = sluice_arena_alloc(c->arena, (first + nhidden + 1) * sizeof *items);
    if (!items) return -1;
    memcpy(items, s->items, first * sizeof *items);
    size_t n = first;
    for (size_t k = 0; k < w->npartition; k++) items[n++] = hidden_item(c, w->args[k], "$over_key%zu", k);
    items[n++] = hidden_item(c, w->args[w->npartition], "$over_time%zu", 0);
    size_t argpos = n;
    for (size_t j = 0; j < nover; j++) {
        const sluice_ast *o = s->items[first + j].expr;
        if (o->star || o->ncall_args == 0) {
            /* COUNT(*): no argument column; keep the position with a constant */
            items[n++] = hidden_item(c, w->args[w->npartition], "$over_arg%zu", j);
        } else if (o->ncall_args != 1) {
            return sluice_planner_err(c, o->line, o->col, "%s takes exactly one argument", o->name), -1;
        } else {
            items[n++] = hidden_item(c, o->call_args[0], "$over_arg%zu", j);
        }
    }
    inner.items = items;
    inner.nitems = n;
    long pi = plan_block_rel(c, &inner, name_of(c, name, "over_input"));
    if (pi < 0) return -1;
    sluice_plan *plan = c->plan;
    const sluice_rel *p = &plan->rels[pi];
    const sluice_query_plan *pq = p->query;
    size_t tcol = first + w->npartition;
    if (p->updating || pq->aggregate)
        return sluice_planner_err(c, w->line, w->col,
                                  "OVER aggregates need an input without updates, not the result of an aggregate, "
                                  "join or ranking that updates (Flink's rule)"),
               -1;
    const sluice_source_plan *in = pq->input.derived ? &plan->rels[pq->input.index].row : &plan->sources[pq->input.index];
    const sluice_expr *te = pq->outputs[tcol];
    if (te->kind != SLUICE_EXPR_COLUMN || !in->has_watermark || te->column != in->watermark_column)
        return sluice_planner_err(c, w->args[w->npartition]->line, w->args[w->npartition]->col,
                                  "OVER (ORDER BY ...) needs the input's event-time column (its WATERMARK column)"),
               -1;
    size_t width = p->row.schema.ncolumns;
    sluice_over_plan *op = sluice_arena_alloc(c->arena, sizeof *op);
    if (!op) return -1;
    memset(op, 0, sizeof *op);
    op->width = width;
    sluice_type_t *types = sluice_arena_alloc(c->arena, (width + 1) * sizeof *types);
    op->partition = sluice_arena_alloc(c->arena, (w->npartition + 1) * sizeof *op->partition);
    op->aggs = sluice_arena_alloc(c->arena, (nover + 1) * sizeof *op->aggs);
    if (!types || !op->partition || !op->aggs) return -1;
    for (size_t i = 0; i < width; i++) types[i] = p->row.columns[i].type;
    op->types = types;
    for (size_t k = 0; k < w->npartition; k++)
        if (!(op->partition[op->npartition++] = column_ref(c, first + k, types[first + k]))) return -1;
    op->time_column = tcol;
    op->rows = w->frame == 1;
    op->preceding = w->frame ? w->preceding : -1;
    for (size_t j = 0; j < nover; j++) {
        const sluice_ast *o = s->items[first + j].expr;
        sluice_agg_plan *ag = &op->aggs[op->naggs];
        memset(ag, 0, sizeof *ag);
        ag->fn = sluice_agg_find(o->name, o->star);
        if (!ag->fn)
            return sluice_planner_err(c, o->line, o->col,
                                      o->star ? "only COUNT accepts '*'" : "%s is not an aggregate function", o->name),
                   -1;
        if (!o->star && !(ag->arg = column_ref(c, argpos + j, types[argpos + j]))) return -1;
        char why[160];
        int rt = ag->fn->type(ag->arg ? ag->arg->type : SLUICE_TYPE_NULL, why, sizeof why);
        if (rt < 0) return sluice_planner_err(c, o->line, o->col, "%s", why), -1;
        ag->result_type = (sluice_type_t)rt;
        op->naggs++;
    }
    sluice_rel *rel = new_rel(c, SLUICE_REL_OVER, name, 1);
    if (!rel) return -1;
    op->name = rel->name;
    rel->inputs[0].derived = 1;
    rel->inputs[0].index = (size_t)pi;
    rel->over = op;
    p = &plan->rels[pi];
    if (row_alloc(c, &rel->row, width + nover) != 0) return -1;
    for (size_t i = 0; i < width; i++) {
        row_set(&rel->row, i, p->row.columns[i].name, p->row.columns[i].type, p->row.defs[i].elem_type);
        rel->row.hidden[i] = i >= first;
    }
    for (size_t j = 0; j < nover; j++) {
        const sluice_ast_select_item *it = &s->items[first + j];
        const char *nm = it->alias;
        if (!nm) {
            char buf[32];
            snprintf(buf, sizeof buf, "EXPR$%zu", first + j);
            char *x = sluice_arena_alloc(c->arena, strlen(buf) + 1);
            if (!x) return -1;
            nm = strcpy(x, buf);
        }
        row_set(&rel->row, width + j, nm, op->aggs[j].result_type, SLUICE_TYPE_NULL);
    }
    rel->row.qualifiers = NULL;
    /* the time column passes through: windows may follow */
    rel->row.has_watermark = 1;
    rel->row.watermark_column = tcol;
    rel->row.watermark_delay_ms = in->watermark_delay_ms;
    return (long)rel->row.rel;
}

/* One select block (no UNION) as a relation. */
static long plan_block_rel(bind_ctx *c, const sluice_ast_sink *s, const char *name) {
    if (s->nitems && is_over_agg(&s->items[s->nitems - 1])) return plan_over_rel(c, s, name);
    if (s->nitems && s->items[s->nitems - 1].expr && s->items[s->nitems - 1].expr->kind == SLUICE_AST_OVER)
        return plan_rank_rel(c, s, name);
    sluice_query_plan *q = sluice_arena_alloc(c->arena, sizeof *q);
    if (!q) return -1;
    sluice_ast_sink named = *s;
    named.name = name;
    if (sluice_planner_query(c, c->plan, &named, q, 0) != SLUICE_OK) return -1;
    sluice_rel *rel = new_rel(c, SLUICE_REL_QUERY, name, 1);
    if (!rel) return -1;
    rel->inputs[0] = q->input;
    rel->query = q;
    rel->updating = q->input_updating || (q->aggregate && q->window == SLUICE_WINDOW_NONE);
    size_t n = q->schema.ncolumns;
    if (row_alloc(c, &rel->row, n) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        const sluice_expr *o = q->outputs[i];
        row_set(&rel->row, i, q->schema.columns[i].name, q->schema.columns[i].type, o->elem_type);
        rel->row.hidden[i] = q->schema.columns[i].name[0] == '$';
    }
    rel->row.qualifiers = NULL;
    /* a window aggregate's final rows have window_time as their event
     * time (Flink's cascading windows): each is emitted once the watermark
     * has passed it */
    if (q->aggregate && q->window != SLUICE_WINDOW_NONE && q->emit == SLUICE_EMIT_APPEND && !q->proctime) {
        const sluice_source_plan *in = input_row(c->plan, q->input);
        for (size_t i = 0; i < n; i++)
            if (q->outputs[i]->window_time) {
                rel->row.has_watermark = 1;
                rel->row.watermark_column = i;
                rel->row.watermark_delay_ms = in->watermark_delay_ms;
                break;
            }
    }
    /* the input's event time passes through a projection that keeps the
     * time column as it is (Flink's time attributes) */
    if (!q->aggregate) {
        const sluice_source_plan *in = input_row(c->plan, q->input);
        for (size_t i = 0; i < n && in->has_watermark && !q->unnest; i++) {
            const sluice_expr *o = q->outputs[i];
            if (o->kind == SLUICE_EXPR_COLUMN && o->column == in->watermark_column) {
                rel->row.has_watermark = 1;
                rel->row.watermark_column = i;
                rel->row.watermark_delay_ms = in->watermark_delay_ms;
                break;
            }
        }
    }
    return (long)rel->row.rel;
}

/* A SELECT (with its UNION ALL branches) as a relation; its index, or -1
 * with the error in c. */
static long plan_select_rel(bind_ctx *c, const sluice_ast_sink *s, const char *name) {
    if (!s->union_all) return plan_block_rel(c, s, name);
    size_t nb = 0;
    for (const sluice_ast_sink *b = s; b; b = b->union_all) nb++;
    long *branches = sluice_arena_alloc(c->arena, nb * sizeof *branches);
    if (!branches) return -1;
    size_t k = 0;
    for (const sluice_ast_sink *b = s; b; b = b->union_all, k++) {
        sluice_ast_sink one = *b;
        one.union_all = NULL;
        if ((branches[k] = plan_block_rel(c, &one, name_of(c, name, "union"))) < 0) return -1;
    }
    sluice_plan *plan = c->plan;
    const sluice_source_plan *first = &plan->rels[branches[0]].row;
    size_t n = first->schema.ncolumns;
    k = 0;
    for (const sluice_ast_sink *b = s; b; b = b->union_all, k++) {
        const sluice_source_plan *r = &plan->rels[branches[k]].row;
        if (r->schema.ncolumns != n)
            return sluice_planner_err(c, b->line, b->col, "UNION ALL of %zu and %zu columns", n, r->schema.ncolumns), -1;
        for (size_t j = 0; j < n; j++)
            if (r->columns[j].type != first->columns[j].type)
                return sluice_planner_err(c, b->line, b->col, "UNION ALL: column %zu is %s here and %s in the first SELECT",
                                          j + 1, sluice_type_name(r->columns[j].type),
                                          sluice_type_name(first->columns[j].type)),
                       -1;
    }
    sluice_rel *rel = new_rel(c, SLUICE_REL_UNION, name, nb);
    if (!rel) return -1;
    first = &plan->rels[branches[0]].row;
    if (row_alloc(c, &rel->row, n) != 0) return -1;
    for (size_t j = 0; j < n; j++)
        row_set(&rel->row, j, first->columns[j].name, first->columns[j].type, first->defs[j].elem_type);
    rel->row.qualifiers = NULL;
    for (size_t b = 0; b < nb; b++) {
        rel->inputs[b].derived = 1;
        rel->inputs[b].index = (size_t)branches[b];
        rel->updating |= plan->rels[branches[b]].updating;
    }
    return (long)rel->row.rel;
}

long sluice_planner_select_rel(bind_ctx *c, const sluice_ast_sink *s, const char *name) {
    return plan_select_rel(c, s, name);
}

/* ---------------- which CREATE TABLEs are read ---------------- */

static int from_reads(const sluice_ast_pipeline *ast, const sluice_ast_from *f, const char *name);

static int select_reads(const sluice_ast_pipeline *ast, const sluice_ast_sink *s, const char *name) {
    for (; s; s = s->union_all)
        if (from_reads(ast, s->from_item, name)) return 1;
    return 0;
}

static int from_reads(const sluice_ast_pipeline *ast, const sluice_ast_from *f, const char *name) {
    if (!f) return 0;
    switch (f->kind) {
    case SLUICE_FROM_TABLE:
        /* a lookup table is looked up, not read as a stream */
        return strcmp(f->name, name) == 0 && !(f->as_of && lookup_table_decl(ast, name));
    case SLUICE_FROM_SUBQUERY: return select_reads(ast, f->query, name);
    case SLUICE_FROM_JOIN: return from_reads(ast, f->left, name) || from_reads(ast, f->right, name);
    case SLUICE_FROM_WINDOW: return from_reads(ast, f->table, name);
    }
    return 0;
}

int sluice_planner_table_read(const sluice_ast_pipeline *ast, const char *name) {
    for (size_t i = 0; i < ast->nsinks; i++)
        if (select_reads(ast, &ast->sinks[i], name)) return 1;
    for (size_t i = 0; i < ast->nviews; i++)
        if (select_reads(ast, ast->views[i].query, name)) return 1;
    return 0;
}

/* ---------------- for the other relational planners ---------------- */

sluice_rel *sluice_planner_new_rel(bind_ctx *c, sluice_rel_kind kind, const char *base, const char *what,
                                   size_t ninputs) {
    const char *name = name_of(c, base, what);
    return name ? new_rel(c, kind, name, ninputs) : NULL;
}

int sluice_planner_row_alloc(bind_ctx *c, sluice_source_plan *row, size_t n) {
    return row_alloc(c, row, n);
}

void sluice_planner_row_set(sluice_source_plan *row, size_t j, const char *name, sluice_type_t type,
                            sluice_type_t elem) {
    row_set(row, j, name, type, elem);
}

void sluice_planner_use_all(sluice_plan *plan, sluice_input in) {
    use_all(plan, in);
}
