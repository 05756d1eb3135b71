/*
 * Lookup joins (Flink's lookup join: FOR SYSTEM_TIME AS OF a
 * processing-time attribute of the probe side, against a CREATE TABLE
 * without a watermark that the profile binds to a `[lookup NAME]`
 * section).  Planned as a SLUICE_REL_LOOKUP relation (plan/rel.h
 * sluice_lookup_plan) over the probe input; the table is not an input of
 * the DAG but is asked per batch by the operator (exec/op_lookup_join.c).
 *
 * ON must hold at least one equality between a column of the table and an
 * expression over the probe row (the lookup keys, as Flink requires); the
 * rest of ON is a residual condition over the joined row.
 */
#include <string.h>

#include "plan/plan.h"
#include "plan/rel.h"
#include "sql/ast.h"
#include "sql/planner_int.h"

/* Which sides an expression's columns come from: bit 0 the probe, bit 1
 * the table, bit 2 a column of neither (or of both: ambiguous). */
static int sides_of(const sluice_ast *a, const sluice_from_side *l, const sluice_from_side *r) {
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

static sluice_expr *bind_over(bind_ctx *c, const sluice_ast *a, sluice_source_plan *row, const char *alias,
                              const char *clause) {
    bind_ctx t = *c;
    t.src = row;
    t.alias = alias;
    t.clause = clause;
    t.post = 0;
    t.tvf = NULL;
    return sluice_planner_bind(&t, a);
}

/* The AND-ed conjuncts of a into v (at most max); how many. */
static size_t conjuncts(const sluice_ast *a, const sluice_ast **v, size_t n, size_t max) {
    if (!a) return n;
    if (a->kind == SLUICE_AST_BINARY && a->op == SLUICE_OP_AND && a->nargs == 2) {
        n = conjuncts(a->args[0], v, n, max);
        return conjuncts(a->args[1], v, n, max);
    }
    if (n < max) v[n] = a;
    return n + 1;
}

static size_t count_conjuncts(const sluice_ast *a) {
    if (!a) return 0;
    if (a->kind == SLUICE_AST_BINARY && a->op == SLUICE_OP_AND && a->nargs == 2)
        return count_conjuncts(a->args[0]) + count_conjuncts(a->args[1]);
    return 1;
}

static int numeric(sluice_type_t t) { return t == SLUICE_TYPE_BIGINT || t == SLUICE_TYPE_DOUBLE; }

static sluice_expr *new_expr(bind_ctx *c, sluice_expr_kind kind, sluice_type_t type, size_t nargs) {
    sluice_expr *x = sluice_arena_alloc(c->arena, sizeof *x);
    sluice_expr **args = sluice_arena_alloc(c->arena, (nargs + 1) * sizeof *args);
    if (!x || !args) return NULL;
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->type = type;
    x->args = args;
    x->nargs = nargs;
    return x;
}

sluice_err_t sluice_planner_lookup_join(bind_ctx *c, const sluice_ast_from *f, const sluice_from_side *l,
                                        const sluice_ast_source *table, sluice_from_side *out, const char *base) {
    const sluice_ast_from *rf = f->right;
    if (f->join != SLUICE_AST_JOIN_INNER && f->join != SLUICE_AST_JOIN_LEFT)
        return sluice_planner_err(c, f->line, f->col, "a lookup join (FOR SYSTEM_TIME AS OF table %s) is INNER or LEFT",
                                  rf->name),
               SLUICE_ERR_SQL;
    if (f->left->kind == SLUICE_FROM_WINDOW)
        return sluice_planner_err(c, f->line, f->col, "a window TVF must be aggregated in its own query before a join"),
               SLUICE_ERR_SQL;
    /* AS OF: a time attribute of the probe row (Flink requires its
     * processing time; the lookup is made when the row is processed) */
    sluice_expr *asof = bind_over(c, rf->as_of, l->row, l->alias, "FOR SYSTEM_TIME AS OF");
    if (!asof) return SLUICE_ERR_SQL;
    if (asof->type != SLUICE_TYPE_TIMESTAMP)
        return sluice_planner_err(c, rf->as_of->line, rf->as_of->col,
                                  "FOR SYSTEM_TIME AS OF needs a TIMESTAMP of the left side, such as a PROCTIME() "
                                  "column, got %s",
                                  sluice_type_name(asof->type)),
               SLUICE_ERR_SQL;

    sluice_source_plan *tsp = sluice_arena_alloc(c->arena, sizeof *tsp);
    if (!tsp) return SLUICE_ERR_NOMEM;
    sluice_err_t err = sluice_planner_source(c, table, tsp);
    if (err) return err;
    for (size_t i = 0; i < tsp->schema.ncolumns; i++)
        if (tsp->metadata[i] != SLUICE_META_NONE || table->columns[i].metadata)
            return sluice_planner_err(c, table->columns[i].line, table->columns[i].col,
                                      "a lookup table has no METADATA columns ('%s')", table->columns[i].name),
                   SLUICE_ERR_SQL;
    sluice_from_side r = {.row = tsp, .alias = rf->alias ? rf->alias : rf->name};

    sluice_lookup_plan *lp = sluice_arena_alloc(c->arena, sizeof *lp);
    if (!lp) return SLUICE_ERR_NOMEM;
    memset(lp, 0, sizeof *lp);
    lp->table_name = table->name;
    lp->left_outer = f->join == SLUICE_AST_JOIN_LEFT;
    lp->probe_width = l->row->schema.ncolumns;
    lp->table_width = tsp->schema.ncolumns;
    lp->table = tsp;
    lp->as_of_ast = rf->as_of;
    lp->on_ast = f->on;
    sluice_type_t *pt = sluice_arena_alloc(c->arena, (lp->probe_width + 1) * sizeof *pt);
    sluice_type_t *tt = sluice_arena_alloc(c->arena, (lp->table_width + 1) * sizeof *tt);
    if (!pt || !tt) return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < lp->probe_width; i++) pt[i] = l->row->columns[i].type;
    for (size_t i = 0; i < lp->table_width; i++) tt[i] = tsp->columns[i].type;
    lp->probe_types = pt;
    lp->table_types = tt;

    sluice_rel *rel = sluice_planner_new_rel(c, SLUICE_REL_LOOKUP, base, "lookup", 1);
    if (!rel) return c->errstr[0] ? SLUICE_ERR_SQL : SLUICE_ERR_NOMEM;
    lp->name = rel->name;
    rel->inputs[0] = l->in;
    rel->lookup = lp;
    rel->updating = l->updating; /* stateless: each row keeps its probe row's change kind */
    sluice_planner_use_all(c->plan, l->in);
    size_t n = lp->probe_width + lp->table_width;
    if (sluice_planner_row_alloc(c, &rel->row, n) != 0) return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int probe = i < lp->probe_width;
        const sluice_source_plan *row = probe ? l->row : tsp;
        size_t k = probe ? i : i - lp->probe_width;
        sluice_planner_row_set(&rel->row, i, row->columns[k].name, row->columns[k].type,
                               probe ? row->defs[k].elem_type : table->columns[k].elem_type);
        rel->row.qualifiers[i] = probe && row->qualifiers ? row->qualifiers[k] : probe ? l->alias : r.alias;
        if (probe && row->hidden && row->hidden[k]) rel->row.hidden[i] = 1;
    }

    /* keys: table_column = expression over the probe row */
    size_t ncj = count_conjuncts(f->on);
    const sluice_ast **cj = sluice_arena_alloc(c->arena, (ncj + 1) * sizeof *cj);
    lp->probe_keys = sluice_arena_alloc(c->arena, (ncj + 1) * sizeof *lp->probe_keys);
    lp->table_key_cols = sluice_arena_alloc(c->arena, (ncj + 1) * sizeof *lp->table_key_cols);
    if (!cj || !lp->probe_keys || !lp->table_key_cols) return SLUICE_ERR_NOMEM;
    conjuncts(f->on, cj, 0, ncj);
    for (size_t k = 0; k < ncj; k++) {
        const sluice_ast *a = cj[k];
        if (a->kind != SLUICE_AST_BINARY || a->op != SLUICE_OP_EQ || a->nargs != 2) continue;
        const sluice_ast *pa = NULL, *ta = NULL;
        for (int s = 0; s < 2 && !pa; s++)
            if (a->args[s]->kind == SLUICE_AST_COLUMN && sides_of(a->args[s], l, &r) == 2 &&
                sides_of(a->args[1 - s], l, &r) == 1)
                ta = a->args[s], pa = a->args[1 - s];
        if (!pa) continue;
        int amb;
        long col = sluice_planner_resolve(tsp, r.alias, ta->qualifier, ta->name, &amb);
        sluice_expr *pe = bind_over(c, pa, l->row, l->alias, "ON");
        if (!pe) return SLUICE_ERR_SQL;
        sluice_type_t kt = tsp->columns[col].type;
        if (kt == SLUICE_TYPE_ARRAY)
            return sluice_planner_err(c, a->line, a->col, "cannot look up an ARRAY column ('%s')", ta->name),
                   SLUICE_ERR_SQL;
        if (pe->type != kt && pe->type != SLUICE_TYPE_NULL) {
            if (!numeric(pe->type) || !numeric(kt))
                return sluice_planner_err(c, a->line, a->col, "cannot join %s with %s (lookup key %s.%s)",
                                          sluice_type_name(pe->type), sluice_type_name(kt), table->name, ta->name),
                       SLUICE_ERR_SQL;
            /* the table's key type decides, so that keys hash as the table's values */
            sluice_expr *x = new_expr(c, SLUICE_EXPR_CAST, kt, 1);
            if (!x) return SLUICE_ERR_NOMEM;
            x->args[0] = pe;
            pe = x;
        }
        lp->probe_keys[lp->nkeys] = pe;
        lp->table_key_cols[lp->nkeys] = (size_t)col;
        lp->nkeys++;
        cj[k] = NULL; /* a key, not residual */
    }
    if (!lp->nkeys)
        return sluice_planner_err(c, f->line, f->col,
                                  "a lookup join needs an equality between a column of %s and the left side in ON "
                                  "(the lookup key), as in Flink",
                                  table->name),
               SLUICE_ERR_SQL;
    for (size_t k = 0; k < ncj; k++) {
        if (!cj[k]) continue;
        sluice_expr *e = bind_over(c, cj[k], &rel->row, NULL, "ON");
        if (!e) return SLUICE_ERR_SQL;
        if (e->type != SLUICE_TYPE_BOOLEAN && e->type != SLUICE_TYPE_NULL)
            return sluice_planner_err(c, cj[k]->line, cj[k]->col, "ON needs a BOOLEAN condition, got %s",
                                      sluice_type_name(e->type)),
                   SLUICE_ERR_SQL;
        if (!lp->residual) {
            lp->residual = e;
            continue;
        }
        sluice_expr *and = new_expr(c, SLUICE_EXPR_AND, SLUICE_TYPE_BOOLEAN, 2);
        if (!and) return SLUICE_ERR_NOMEM;
        and->args[0] = lp->residual;
        and->args[1] = e;
        lp->residual = and;
    }
    out->in.derived = 1;
    out->in.index = rel->row.rel;
    out->row = &rel->row;
    out->alias = NULL;
    out->updating = rel->updating;
    return SLUICE_OK;
}
