/*
 * The projection of a query block whose rows another query reads (a view
 * or subquery: plan.h sluice_rel of kind QUERY).  Like the sink operator it
 * evaluates the SELECT items over each row it gets — the input row of a
 * stateless block, the post-aggregation row of an aggregating one — but
 * pushes the rows downstream as a batch, each with its change kind, instead
 * of collecting them for a connector.  Strings live in the micro-batch
 * arena: an operator downstream that keeps a row copies it.
 */
#include <stdlib.h>
#include <string.h>

#include "exec/operator.h"

typedef struct project_op {
    sluice_op base;
    sluice_value *rows;
    sluice_row_kind *kinds;
    size_t cap;
} project_op;

static sluice_err_t project_process(sluice_op *op, const sluice_op_batch *in) {
    project_op *p = (project_op *)op;
    const sluice_query_plan *q = op->q;
    size_t w = q->schema.ncolumns;
    if (in->nrows > p->cap) {
        size_t cap = in->nrows;
        sluice_value *r = realloc(p->rows, cap * w * sizeof *r);
        if (!r) return SLUICE_ERR_NOMEM;
        p->rows = r;
        sluice_row_kind *k = realloc(p->kinds, cap * sizeof *k);
        if (!k) return SLUICE_ERR_NOMEM;
        p->kinds = k;
        p->cap = cap;
    }
    sluice_udf_state *udf = q->aggregate ? NULL : q->udf;
    sluice_arena *arena = op->ctx->batch_arena;
    for (size_t i = 0; i < in->nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        const sluice_value *row = in->rows + r * in->ncolumns;
        if (udf) udf->row = r;
        sluice_value *o = p->rows + i * w;
        for (size_t j = 0; j < w; j++) {
            o[j] = sluice_expr_eval(q->outputs[j], row, arena);
            if (sluice_op_copy_string(arena, &o[j]) != 0) return SLUICE_ERR_NOMEM;
        }
        p->kinds[i] = in->kinds ? (sluice_row_kind)in->kinds[r] : SLUICE_ROW_INSERT;
    }
    sluice_op_batch out = *in;
    out.rows = p->rows;
    out.ncolumns = w;
    out.sel = NULL;
    out.kinds = in->kinds ? p->kinds : NULL;
    out.recs = NULL;
    return op->down->ops->process(op->down, &out);
}

static void project_close(sluice_op *op) {
    project_op *p = (project_op *)op;
    free(p->rows);
    free(p->kinds);
    free(p);
}

static const sluice_op_ops project_ops = {
    .name = "project",
    .process = project_process,
    .close = project_close,
};

sluice_op *sluice_op_project_new(const sluice_query_plan *q, sluice_op_ctx *ctx, sluice_op *down) {
    project_op *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->base.ops = &project_ops;
    p->base.q = q;
    p->base.ctx = ctx;
    p->base.down = down;
    return &p->base;
}
