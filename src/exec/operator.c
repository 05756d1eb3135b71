/*
 * What the operators share (exec/operator.h): dead letters of a row, string
 * copies, the SUM overflow warning, and the emitter through which the
 * aggregating operators hand their rows downstream a batch at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "exec/operator.h"

void sluice_op_dead_letter(sluice_op_ctx *ctx, const sluice_source_plan *sp, sluice_source *src,
                           const sluice_record *rec, const char *sink, const char *reason) {
    char pos[512];
    if (!rec) { /* a row a join, a view or a subquery derived: no record to show */
        if (ctx->dlq) sluice_dead_letter_write(ctx->dlq, sp ? sp->name : "", sink, "derived row", reason, "", 0);
        return;
    }
    if (src && src->ops->position)
        src->ops->position(src, rec, pos, sizeof pos);
    else
        snprintf(pos, sizeof pos, "partition %d offset %lld", (int)rec->partition, (long long)rec->offset);
    if (!ctx->dlq) return;
    sluice_dead_letter_write(ctx->dlq, sp->name, sink, pos, reason, rec->value, rec->value_len);
}

int sluice_op_copy_string(sluice_arena *a, sluice_value *v) {
    if (v->type == SLUICE_TYPE_ARRAY) return sluice_value_copy(a, v, v); /* UNNEST: ARRAY outputs, deep */
    if (v->type != SLUICE_TYPE_VARCHAR) return 0;
    char *p = sluice_arena_alloc(a, v->len ? v->len : 1);
    if (!p) return -1;
    if (v->len) memcpy(p, v->u.s, v->len);
    v->u.s = p;
    return 0;
}

void sluice_op_note_sum_overflow(const sluice_query_plan *q, uint64_t *counter) {
    uint64_t n = ++*counter;
    uint64_t p = 1;
    while (p < n && p <= UINT64_MAX / 10) p *= 10;
    if (p != n) return;
    sluice_log(SLUICE_LOG_WARN, NULL, "engine", q->name,
               "integer overflow in SUM: its result is NULL for the group (%llu so far); "
               "use SUM(CAST(x AS DOUBLE)) for totals beyond the BIGINT range",
               (unsigned long long)n);
}

/* ---------------- emitter ---------------- */

sluice_err_t sluice_emitter_init(sluice_emitter *em, const sluice_query_plan *q, sluice_op_ctx *ctx,
                                 sluice_op *down) {
    memset(em, 0, sizeof *em);
    em->q = q;
    em->down = down;
    em->arena = ctx->batch_arena;
    em->width = SLUICE_POST_GROUP0 + q->ngroup + q->naggs;
    em->post = calloc(em->width, sizeof *em->post);
    em->rows = calloc((size_t)SLUICE_EMIT_BATCH * em->width, sizeof *em->rows);
    em->kinds = calloc(SLUICE_EMIT_BATCH, sizeof *em->kinds);
    return em->post && em->rows && em->kinds ? SLUICE_OK : SLUICE_ERR_NOMEM;
}

void sluice_emitter_free(sluice_emitter *em) {
    free(em->post);
    free(em->rows);
    free(em->kinds);
    em->post = em->rows = NULL;
    em->kinds = NULL;
}

void sluice_emitter_fill(sluice_emitter *em, int64_t start, int64_t end, const sluice_value *keys,
                         const sluice_agg_slot *s) {
    const sluice_query_plan *q = em->q;
    sluice_value *post = em->post;
    post[SLUICE_POST_WINDOW_START] = sluice_value_timestamp(start);
    post[SLUICE_POST_WINDOW_END] = sluice_value_timestamp(end);
    post[SLUICE_POST_RANK] = sluice_value_null();
    memcpy(post + SLUICE_POST_GROUP0, keys, q->ngroup * sizeof(sluice_value));
    for (size_t j = 0; j < q->naggs; j++) post[SLUICE_POST_GROUP0 + q->ngroup + j] = q->aggs[j].fn->result(&q->aggs[j], &s[j]);
}

void sluice_emitter_fill_values(sluice_emitter *em, int64_t start, int64_t end, const sluice_value *keys,
                                const sluice_value *results) {
    const sluice_query_plan *q = em->q;
    sluice_value *post = em->post;
    post[SLUICE_POST_WINDOW_START] = sluice_value_timestamp(start);
    post[SLUICE_POST_WINDOW_END] = sluice_value_timestamp(end);
    post[SLUICE_POST_RANK] = sluice_value_null();
    memcpy(post + SLUICE_POST_GROUP0, keys, q->ngroup * sizeof(sluice_value));
    memcpy(post + SLUICE_POST_GROUP0 + q->ngroup, results, q->naggs * sizeof(sluice_value));
}

int sluice_emitter_having(sluice_emitter *em) {
    if (!em->q->having) return 1;
    sluice_value h = sluice_expr_eval(em->q->having, em->post, em->arena);
    return sluice_value_is_true(&h);
}

int sluice_emitter_flush(sluice_emitter *em) {
    if (!em->n) return 0;
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = em->rows;
    b.ncolumns = em->width;
    b.nrows = em->n;
    b.kinds = em->kinds;
    em->n = 0;
    return em->down->ops->process(em->down, &b) == SLUICE_OK ? 0 : -1;
}

int sluice_emitter_push(sluice_emitter *em, sluice_row_kind kind) {
    memcpy(em->rows + em->n * em->width, em->post, em->width * sizeof *em->post);
    em->kinds[em->n++] = kind;
    return em->n == SLUICE_EMIT_BATCH ? sluice_emitter_flush(em) : 0;
}

/* ---------------- snapshot pieces ---------------- */

size_t sluice_snap_arena_block(int64_t hint, size_t left) {
    size_t cap = left / 4 < SIZE_MAX / 16 ? left * 4 : SIZE_MAX / 4;
    size_t b = hint > 0 ? (uint64_t)hint > cap ? cap : (size_t)hint : 0;
    return b < 16 * 1024 ? 16 * 1024 : b;
}
