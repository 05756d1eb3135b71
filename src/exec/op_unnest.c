/*
 * The unnest operator (FROM src CROSS JOIN UNNEST(array) [WITH ORDINALITY]
 * AS t(column [, position])): between the scan and the query's calc, it
 * expands each source row into one row per element of its array
 * (exec/unnest.c, a flatMap as Flink's, Trino's and PostgreSQL's CROSS JOIN
 * UNNEST) and pushes the extended rows — the source's columns, the element
 * and, WITH ORDINALITY, its 1-based position — on.  Stateless: nothing to
 * snapshot.  Each output row keeps its input row's record, so a dead
 * letter downstream names the record the row came from.
 */
#include <stdlib.h>
#include <string.h>

#include "exec/operator.h"
#include "exec/unnest.h"

typedef struct unnest_op {
    sluice_op base;
    sluice_unnest_out out;               /* the expanded rows of the batch */
    sluice_value *packed;                /* the input rows of a selection, packed */
    size_t packed_cap;
    const sluice_record **recs;          /* per output row: its input row's record */
    size_t recs_cap;
} unnest_op;

static sluice_err_t unnest_process(sluice_op *op, const sluice_op_batch *in) {
    unnest_op *u = (unnest_op *)op;
    const sluice_value *rows = in->rows;
    if (in->sel) {
        /* a selection: expand the selected rows only, packed in order */
        if (in->nrows * in->ncolumns > u->packed_cap) {
            sluice_value *np = realloc(u->packed, in->nrows * in->ncolumns * sizeof *np);
            if (!np) return SLUICE_ERR_NOMEM;
            u->packed = np;
            u->packed_cap = in->nrows * in->ncolumns;
        }
        for (size_t i = 0; i < in->nrows; i++)
            memcpy(u->packed + i * in->ncolumns, in->rows + (size_t)in->sel[i] * in->ncolumns,
                   in->ncolumns * sizeof *u->packed);
        rows = u->packed;
    }
    sluice_err_t err = sluice_unnest_expand(op->q, rows, in->nrows, in->ncolumns, op->ctx->batch_arena, &u->out);
    if (err) return err;
    if (u->out.nrows > u->recs_cap) {
        const sluice_record **nr = realloc(u->recs, u->out.nrows * sizeof *nr);
        if (!nr) return SLUICE_ERR_NOMEM;
        u->recs = nr;
        u->recs_cap = u->out.nrows;
    }
    for (size_t i = 0; i < u->out.nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, u->out.origin[i]);
        u->recs[i] = in->recs ? in->recs[r] : NULL;
    }
    if (u->out.nrows == 0) return SLUICE_OK;
    sluice_op_batch b = *in;
    b.rows = u->out.rows;
    b.ncolumns = op->q->unnest->extended.schema.ncolumns;
    b.sel = NULL;
    b.nrows = u->out.nrows;
    b.kinds = NULL;
    b.recs = in->recs ? u->recs : NULL;
    b.sp = &op->q->unnest->extended;
    return op->down->ops->process(op->down, &b);
}

static void unnest_close(sluice_op *op) {
    unnest_op *u = (unnest_op *)op;
    sluice_unnest_out_free(&u->out);
    free(u->packed);
    free(u->recs);
    free(u);
}

static const sluice_op_ops unnest_ops = {
    .name = "unnest",
    .process = unnest_process,
    .close = unnest_close,
};

sluice_op *sluice_op_unnest_new(const sluice_query_plan *q, sluice_op_ctx *ctx, sluice_op *down) {
    unnest_op *u = calloc(1, sizeof *u);
    if (!u) return NULL;
    u->base.ops = &unnest_ops;
    u->base.q = q;
    u->base.ctx = ctx;
    u->base.down = down;
    return &u->base;
}
