/*
 * The sink operator: the output of one query in a micro-batch.  Evaluates
 * the query's SELECT items over each row it gets — the source row of a
 * stateless query, the post-aggregation row (plan.h) of an aggregating
 * one — into a sluice_row_batch of the query's schema (strings copied into
 * its arena), with each row's change kind (the batch's `kinds`, which stay
 * NULL while every row is an insert).
 *
 * Update-before rows are dropped when the query's output has a PRIMARY KEY:
 * the sink upserts by the key, so the update-after that follows replaces
 * the row (Flink's upsert sinks drop them too); without a key they pass,
 * and the sink writes the full retract changelog.
 */
#include <stdlib.h>

#include "exec/operator.h"

typedef struct sink_op {
    sluice_op base;
    sluice_row_batch out;
} sink_op;

static sluice_err_t sink_open(sluice_op *op) {
    return sluice_row_batch_init(&((sink_op *)op)->out, &op->q->schema) == SLUICE_OK ? SLUICE_OK : SLUICE_ERR_NOMEM;
}

static sluice_err_t sink_process(sluice_op *op, const sluice_op_batch *in) {
    sink_op *s = (sink_op *)op;
    const sluice_query_plan *q = op->q;
    sluice_arena *arena = s->out.arena;
    /* the bound functions of a stateless query's SELECT read the source row's results */
    sluice_udf_state *udf = q->aggregate ? NULL : q->udf;
    for (size_t i = 0; i < in->nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        sluice_row_kind kind = in->kinds ? (sluice_row_kind)in->kinds[r] : SLUICE_ROW_INSERT;
        if (kind == SLUICE_ROW_UPDATE_BEFORE && q->schema.npk > 0) continue;
        const sluice_value *row = in->rows + r * in->ncolumns;
        if (udf) udf->row = r;
        sluice_value *o = sluice_row_batch_append_kind(&s->out, kind);
        if (!o) return SLUICE_ERR_NOMEM;
        for (size_t j = 0; j < q->schema.ncolumns; j++) {
            o[j] = sluice_expr_eval(q->outputs[j], row, arena);
            if (sluice_op_copy_string(arena, &o[j]) != 0) return SLUICE_ERR_NOMEM;
        }
    }
    return SLUICE_OK;
}

static void sink_close(sluice_op *op) {
    sink_op *s = (sink_op *)op;
    sluice_row_batch_free(&s->out);
    free(s);
}

static const sluice_op_ops sink_ops = {
    .name = "sink",
    .open = sink_open,
    .process = sink_process,
    .close = sink_close,
};

sluice_op *sluice_op_sink_new(const sluice_query_plan *q, sluice_op_ctx *ctx) {
    sink_op *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->base.ops = &sink_ops;
    s->base.q = q;
    s->base.ctx = ctx;
    return &s->base;
}

const sluice_row_batch *sluice_op_sink_output(const sluice_op *sink) {
    return &((const sink_op *)sink)->out;
}

void sluice_op_sink_clear(sluice_op *sink) {
    sluice_row_batch_clear(&((sink_op *)sink)->out);
}
