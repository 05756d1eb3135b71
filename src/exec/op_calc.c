/*
 * The calc operator: the bound functions of a query computed over a whole
 * batch (exec/udf.h), then per row: a failed call sends the row to the
 * dead letter (on_error = dead_letter), WHERE drops the rows it does not
 * hold for.  Pushes the rows left as a selection of the same rows, so no
 * row is copied; with neither functions nor WHERE it passes the batch on.
 * The projection is the sink's (exec/op_sink.c): SELECT items of a
 * stateless query are evaluated once, into the output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/operator.h"
#include "exec/udf.h"

typedef struct calc_op {
    sluice_op base;
    const sluice_plan *plan;   /* borrowed, for the bindings of functions */
    uint32_t *sel;             /* the selection pushed */
    size_t sel_cap;
} calc_op;

static sluice_err_t calc_process(sluice_op *op, const sluice_op_batch *in) {
    calc_op *c = (calc_op *)op;
    const sluice_query_plan *q = op->q;
    if (!q->udf && !q->where) return op->down->ops->process(op->down, in);
    if (q->udf) {
        /* the scan pushes every row it decoded: no selection */
        char sub[400];
        sluice_err_t err = sluice_udf_prefetch(c->plan, q, in->rows, in->nrows, in->ncolumns, op->ctx->batch_arena,
                                               sub, sizeof sub);
        if (err == SLUICE_ERR_NOMEM) {
            snprintf(op->ctx->err, sizeof op->ctx->err, "transform: out of memory");
            return err;
        }
        if (err) {
            snprintf(op->ctx->err, sizeof op->ctx->err, "sink %s: %s", q->name, sub);
            return err;
        }
    }
    if (in->nrows > c->sel_cap) {
        uint32_t *ns = realloc(c->sel, in->nrows * sizeof *ns);
        if (!ns) return SLUICE_ERR_NOMEM;
        c->sel = ns;
        c->sel_cap = in->nrows;
    }
    size_t n = 0;
    for (size_t i = 0; i < in->nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        const sluice_value *row = in->rows + r * in->ncolumns;
        if (q->udf) {
            sluice_udf_state *st = q->udf;
            st->row = r;
            if (st->failed[r]) {
                sluice_op_dead_letter(op->ctx, in->sp, in->src, in->recs ? in->recs[r] : NULL, q->name, st->reason);
                continue;
            }
        }
        if (q->where) {
            sluice_value v = sluice_expr_eval(q->where, row, op->ctx->batch_arena);
            if (!sluice_value_is_true(&v)) continue;
        }
        c->sel[n++] = (uint32_t)r;
    }
    sluice_op_batch out = *in;
    out.sel = c->sel;
    out.nrows = n;
    return op->down->ops->process(op->down, &out);
}

static void calc_close(sluice_op *op) {
    calc_op *c = (calc_op *)op;
    free(c->sel);
    free(c);
}

static const sluice_op_ops calc_ops = {
    .name = "calc",
    .process = calc_process,
    .close = calc_close,
};

sluice_op *sluice_op_calc_new(const sluice_plan *plan, const sluice_query_plan *q, sluice_op_ctx *ctx,
                              sluice_op *down) {
    calc_op *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->base.ops = &calc_ops;
    c->base.q = q;
    c->base.ctx = ctx;
    c->base.down = down;
    c->plan = plan;
    return &c->base;
}
