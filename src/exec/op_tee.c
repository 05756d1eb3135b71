/*
 * The tee: where the rows of a derived relation (plan.h sluice_rel) leave
 * it.  It hands each batch to every operator that reads the relation — the
 * first operator of each query over it, or a side of a join — after
 * stamping the batch with the relation's row shape and its time: the
 * watermark of the relation as the micro-batch began (the minimum over its
 * inputs), so that a window over derived rows judges lateness as it would
 * over a source's.  Derived rows have no source record (recs NULL): a dead
 * letter of such a row says "derived row".
 */
#include <stdlib.h>

#include "exec/operator.h"

typedef struct tee_op {
    sluice_op base;
    const sluice_source_plan *row;
    sluice_op **downs;
    size_t ndowns, cap;
    int64_t watermark, proc_watermark;
} tee_op;

static sluice_err_t tee_process(sluice_op *op, const sluice_op_batch *in) {
    tee_op *t = (tee_op *)op;
    if (in->nrows == 0) return SLUICE_OK;
    sluice_op_batch b = *in;
    b.sp = t->row;
    b.recs = NULL;
    b.src = NULL;
    b.watermark = t->watermark;
    b.proc_watermark = t->proc_watermark;
    for (size_t k = 0; k < t->ndowns; k++) {
        sluice_err_t err = t->downs[k]->ops->process(t->downs[k], &b);
        if (err) return err;
    }
    return SLUICE_OK;
}

static void tee_close(sluice_op *op) {
    tee_op *t = (tee_op *)op;
    free(t->downs);
    free(t);
}

static const sluice_op_ops tee_ops = {
    .name = "tee",
    .process = tee_process,
    .close = tee_close,
};

sluice_op *sluice_op_tee_new(const sluice_source_plan *row, sluice_op_ctx *ctx) {
    tee_op *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->base.ops = &tee_ops;
    t->base.ctx = ctx;
    t->row = row;
    t->watermark = t->proc_watermark = SLUICE_TS_MIN;
    return &t->base;
}

int sluice_op_tee_add(sluice_op *tee, sluice_op *down) {
    tee_op *t = (tee_op *)tee;
    if (t->ndowns == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4;
        sluice_op **d = realloc(t->downs, cap * sizeof *d);
        if (!d) return -1;
        t->downs = d;
        t->cap = cap;
    }
    t->downs[t->ndowns++] = down;
    return 0;
}

void sluice_op_tee_set_time(sluice_op *tee, int64_t watermark, int64_t proc_watermark) {
    tee_op *t = (tee_op *)tee;
    t->watermark = watermark;
    t->proc_watermark = proc_watermark;
}
