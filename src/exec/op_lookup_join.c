/*
 * The lookup join (plan/rel.h sluice_lookup_plan; Flink's lookup join):
 * per input batch, the keys of every row are evaluated, asked of the
 * lookup table in one batched call (exec/lookup.h), and each row is joined
 * with the table rows returned for its key.  The operator holds no state
 * (nothing to snapshot): the results depend on the table's contents when
 * the batch is processed, as in Flink, so a replay after a failure is
 * at-least-once unless the table does not change.  The joined rows keep
 * their probe row's change kind; they go downstream in batches of at most
 * SLUICE_EMIT_BATCH rows, their strings copied into the micro-batch arena
 * (the table's may change at its next lookup).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "exec/lookup.h"
#include "exec/operator.h"

typedef struct lookup_op {
    sluice_op base;
    const sluice_lookup_plan *lp;
    sluice_value *keys;        /* nkeys per key asked */
    long *row_key;             /* per input row (position in the batch): its key, or -1 (a NULL key) */
    size_t in_cap;
    sluice_lookup_result res;
    sluice_value *rows;        /* SLUICE_EMIT_BATCH joined rows */
    sluice_row_kind *kinds;
    size_t n;                  /* rows queued */
} lookup_op;

/* Push the queued rows downstream. */
static sluice_err_t flush(lookup_op *l, const sluice_op_batch *in) {
    if (!l->n) return SLUICE_OK;
    sluice_op_batch out = *in;
    out.rows = l->rows;
    out.ncolumns = l->lp->probe_width + l->lp->table_width;
    out.sel = NULL;
    out.nrows = l->n;
    out.kinds = in->kinds ? l->kinds : NULL;
    out.recs = NULL;
    out.sp = NULL;
    out.src = NULL;
    l->n = 0;
    return l->base.down->ops->process(l->base.down, &out);
}

/* Queue probe ++ trow (NULLs when trow is NULL) with kind, when the
 * residual holds; 1 queued, 0 filtered out, -1 out of memory or a
 * downstream failure (*err). */
static int emit(lookup_op *l, const sluice_op_batch *in, const sluice_value *probe, const sluice_value *trow,
                sluice_row_kind kind, sluice_err_t *err) {
    const sluice_lookup_plan *lp = l->lp;
    size_t w = lp->probe_width + lp->table_width;
    sluice_value *o = l->rows + l->n * w;
    memcpy(o, probe, lp->probe_width * sizeof *o);
    for (size_t j = 0; j < lp->table_width; j++) o[lp->probe_width + j] = trow ? trow[j] : sluice_value_null();
    sluice_arena *arena = l->base.ctx->batch_arena;
    if (trow && lp->residual) {
        sluice_value ok = sluice_expr_eval(lp->residual, o, arena);
        if (!sluice_value_is_true(&ok)) return 0;
    }
    for (size_t j = 0; trow && j < lp->table_width; j++)
        if (sluice_op_copy_string(arena, &o[lp->probe_width + j]) != 0) {
            *err = SLUICE_ERR_NOMEM;
            return -1;
        }
    l->kinds[l->n++] = kind;
    if (l->n == SLUICE_EMIT_BATCH && (*err = flush(l, in)) != SLUICE_OK) return -1;
    return 1;
}

static sluice_err_t lookup_process(sluice_op *op, const sluice_op_batch *in) {
    lookup_op *l = (lookup_op *)op;
    const sluice_lookup_plan *lp = l->lp;
    sluice_lookup_table *t = lp->table_binding;
    if (!t) {
        snprintf(op->ctx->err, sizeof op->ctx->err,
                 "%s: lookup table %s is not bound (add a [lookup %s] section to the profile)", lp->name,
                 lp->table_name, lp->table_name);
        return SLUICE_ERR_INVALID;
    }
    if (!in->nrows) return SLUICE_OK;
    if (in->nrows > l->in_cap) {
        size_t cap = in->nrows;
        sluice_value *k = realloc(l->keys, cap * lp->nkeys * sizeof *k);
        if (!k) return SLUICE_ERR_NOMEM;
        l->keys = k;
        long *rk = realloc(l->row_key, cap * sizeof *rk);
        if (!rk) return SLUICE_ERR_NOMEM;
        l->row_key = rk;
        l->in_cap = cap;
    }
    /* the keys of the batch; a row with a NULL key matches nothing */
    sluice_arena *arena = op->ctx->batch_arena;
    size_t nk = 0;
    for (size_t i = 0; i < in->nrows; i++) {
        const sluice_value *row = in->rows + sluice_op_batch_row_index(in, i) * in->ncolumns;
        sluice_value *k = l->keys + nk * lp->nkeys;
        int null = 0;
        for (size_t j = 0; j < lp->nkeys && !null; j++) {
            k[j] = sluice_expr_eval(lp->probe_keys[j], row, arena);
            null = k[j].type == SLUICE_TYPE_NULL;
        }
        l->row_key[i] = null ? -1 : (long)nk++;
    }
    if (nk) {
        char err[384] = "";
        sluice_err_t e = t->lookup(t, lp->table_key_cols, lp->nkeys, l->keys, nk, sluice_clock_realtime_ms(), &l->res,
                                   err, sizeof err);
        if (e != SLUICE_OK) {
            if (e == SLUICE_ERR_NOMEM) return e;
            snprintf(op->ctx->err, sizeof op->ctx->err, "%s: lookup in %s failed: %s", lp->name, lp->table_name,
                     err[0] ? err : sluice_err2str(e));
            return e;
        }
    }
    sluice_err_t err = SLUICE_OK;
    for (size_t i = 0; i < in->nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        const sluice_value *row = in->rows + r * in->ncolumns;
        sluice_row_kind kind = in->kinds ? (sluice_row_kind)in->kinds[r] : SLUICE_ROW_INSERT;
        size_t matched = 0;
        if (l->row_key[i] >= 0) {
            size_t k = (size_t)l->row_key[i];
            for (size_t m = 0; m < l->res.count[k]; m++) {
                int rc = emit(l, in, row, l->res.rows[l->res.first[k] + m], kind, &err);
                if (rc < 0) return err;
                matched += (size_t)rc;
            }
        }
        if (!matched && lp->left_outer && emit(l, in, row, NULL, kind, &err) < 0) return err;
    }
    return flush(l, in);
}

static void lookup_close(sluice_op *op) {
    lookup_op *l = (lookup_op *)op;
    free(l->keys);
    free(l->row_key);
    free(l->rows);
    free(l->kinds);
    sluice_lookup_result_free(&l->res);
    free(l);
}

static const sluice_op_ops lookup_ops = {
    .name = "lookup_join",
    .process = lookup_process,
    .close = lookup_close,
};

sluice_op *sluice_op_lookup_join_new(const struct sluice_lookup_plan *lp, sluice_op_ctx *ctx, sluice_op *down) {
    lookup_op *l = calloc(1, sizeof *l);
    size_t w = lp->probe_width + lp->table_width;
    if (!l) return NULL;
    l->base.ops = &lookup_ops;
    l->base.ctx = ctx;
    l->base.down = down;
    l->lp = lp;
    l->rows = malloc(SLUICE_EMIT_BATCH * (w ? w : 1) * sizeof *l->rows);
    l->kinds = malloc(SLUICE_EMIT_BATCH * sizeof *l->kinds);
    if (!l->rows || !l->kinds) {
        lookup_close(&l->base);
        return NULL;
    }
    return &l->base;
}
