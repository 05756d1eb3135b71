/*
 * The rank operator: top-N per partition, ROW_NUMBER / RANK / DENSE_RANK
 * OVER (PARTITION BY .. ORDER BY ..) <= limit (plan/rel.h
 * sluice_rank_plan), and with ROW_NUMBER, limit 1 and a time ORDER BY,
 * deduplication.  Semantics are Flink's: AppendOnlyTopNFunction for an
 * append-only input (only the rows that can still rank are kept),
 * RetractableTopNFunction for an updating one (every row of the partition
 * is kept, so that a retraction brings the next row in).
 *
 * Per input row the operator changes its partition's sorted rows
 * (exec/rank_table.h) and emits the difference of the partition's result
 * — the rows ranking <= limit — between before and after:
 *   - without the rank column, a row leaving the result as a delete and a
 *     row entering it as an insert (a row whose rank changes stays in the
 *     result, so emits nothing);
 *   - with the rank column, the result is a set of (row, rank); per rank,
 *     in rank order, a rank whose row changed is an update-before of the
 *     old (row, rank) and an update-after of the new one, a rank no row
 *     has any more a delete, a new rank an insert (Flink emits ROW_NUMBER
 *     by rank position: a consumer keyed by (partition, rank) sees an
 *     update; several rows of one RANK are paired in rank order).
 * Applied in order to a multiset, either gives the result.  Ties keep
 * arrival order, but deduplication keeping the last row (ROW_NUMBER <= 1
 * over one TIMESTAMP, DESC) puts a new row before its equals.
 *
 * Only ranks at and after the changed position can change (the rank of a
 * row depends only on the rows before it), and the rows in the output are
 * always a prefix of the partition: so the difference is computed over
 * the rows from the changed position to the end of the output, and a
 * change behind the output costs a binary search.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "exec/operator.h"
#include "exec/rank_table.h"

/* A row of a partition's result: the row and its rank. */
typedef struct ranked {
    sluice_rank_row *r;
    uint32_t rank;
} ranked;

typedef struct rank_op {
    sluice_op base;
    const sluice_rank_plan *rp;
    sluice_rank_table t;
    sluice_value *keys;            /* npartition scratch */
    sluice_value *order;           /* norder scratch */
    ranked *before, *after;        /* the result from the changed position on */
    size_t cap_before, cap_after;
    /* output: rows queued for downstream; their strings are the rows' */
    size_t owidth;                 /* width (+ 1 with the rank) */
    sluice_value *out;             /* SLUICE_EMIT_BATCH x owidth */
    sluice_row_kind *kinds;
    size_t nout;
    const sluice_op_batch *in;     /* the batch being processed (times of the output) */
    /* rows out of the state but maybe queued: freed after the next push */
    sluice_rank_row **dead;
    size_t ndead, cap_dead;
    uint64_t unmatched;            /* retractions of rows the state does not hold */
    int keep_last;                 /* deduplication keeping the last row: a tie goes first */
    /* snapshot iterator */
    int snap_started;
    size_t snap_bucket;
    sluice_rank_part *snap_part;
} rank_op;

static sluice_err_t rank_open(sluice_op *op) {
    rank_op *o = (rank_op *)op;
    const sluice_rank_plan *rp = o->rp;
    o->owidth = rp->width + (rp->output_rank ? 1 : 0);
    /* Flink's deduplication (ROW_NUMBER <= 1 over one time column)
     * keeping the last row: a row whose time equals the kept one's
     * replaces it (Flink's RowTimeDeduplicateFunction, currentTime >=
     * previousTime), where a top-N keeps the earlier of two ties */
    o->keep_last = rp->fn == SLUICE_RANK_ROW_NUMBER && rp->limit == 1 && rp->norder == 1 && rp->order_desc &&
                   rp->order_desc[0] && rp->order[0]->type == SLUICE_TYPE_TIMESTAMP;
    o->keys = calloc(rp->npartition + 1, sizeof *o->keys);
    o->order = calloc(rp->norder + 1, sizeof *o->order);
    o->out = calloc((size_t)SLUICE_EMIT_BATCH * (o->owidth ? o->owidth : 1), sizeof *o->out);
    o->kinds = calloc(SLUICE_EMIT_BATCH, sizeof *o->kinds);
    return o->keys && o->order && o->out && o->kinds ? SLUICE_OK : SLUICE_ERR_NOMEM;
}

/* ---------------- output ---------------- */

static void free_dead(rank_op *o) {
    for (size_t i = 0; i < o->ndead; i++) sluice_rank_row_free(&o->t, o->dead[i]);
    o->ndead = 0;
}

/* Push the queued rows downstream, then free the rows they pointed into. */
static sluice_err_t flush(rank_op *o) {
    sluice_err_t err = SLUICE_OK;
    if (o->nout) {
        sluice_op_batch b;
        memset(&b, 0, sizeof b);
        b.rows = o->out;
        b.ncolumns = o->owidth;
        b.nrows = o->nout;
        b.kinds = o->kinds;
        if (o->in) {
            b.watermark = o->in->watermark;
            b.proc_watermark = o->in->proc_watermark;
            b.proc_time = o->in->proc_time;
        }
        o->nout = 0;
        err = o->base.down->ops->process(o->base.down, &b);
    }
    free_dead(o);
    return err;
}

static sluice_err_t emit(rank_op *o, const sluice_rank_row *r, uint32_t rank, sluice_row_kind kind) {
    sluice_value *dst = o->out + o->nout * o->owidth;
    memcpy(dst, r->v, o->rp->width * sizeof *dst);
    if (o->rp->output_rank) dst[o->rp->width] = sluice_value_bigint(rank);
    o->kinds[o->nout++] = kind;
    return o->nout == SLUICE_EMIT_BATCH ? flush(o) : SLUICE_OK;
}

/* A row out of the state, freed once what was queued of it is pushed. */
static int bury(rank_op *o, sluice_rank_row *r) {
    if (o->ndead == o->cap_dead) {
        size_t nc = o->cap_dead ? o->cap_dead * 2 : 16;
        sluice_rank_row **nd = realloc(o->dead, nc * sizeof *nd);
        if (!nd) return -1;
        o->dead = nd;
        o->cap_dead = nc;
    }
    o->dead[o->ndead++] = r;
    return 0;
}

/* ---------------- ranking ---------------- */

/* The rank of the row at position pos with ORDER BY values `ord`, after
 * the row at pos - 1 (ORDER BY values prev_ord, rank prev_rank). */
static uint32_t rank_after(const sluice_rank_plan *rp, size_t pos, const sluice_value *ord, const sluice_value *prev_ord,
                           uint32_t prev_rank) {
    if (pos == 0) return 1;
    if (rp->fn == SLUICE_RANK_ROW_NUMBER) return pos + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(pos + 1);
    if (sluice_rank_order_cmp(rp, prev_ord, ord) == 0) return prev_rank;
    if (rp->fn == SLUICE_RANK_RANK) return pos + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(pos + 1);
    return prev_rank == UINT32_MAX ? UINT32_MAX : prev_rank + 1;
}

static int reserve(ranked **a, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < n) nc *= 2;
    ranked *na = realloc(*a, nc * sizeof *na);
    if (!na) return -1;
    *a = na;
    *cap = nc;
    return 0;
}

static int rows_equal(const sluice_value *a, const sluice_value *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!sluice_value_equal(&a[i], &b[i])) return 0;
    return 1;
}

/* The rows of p in the output from position pos on, with their ranks, into
 * o->before: the output is a prefix, so they end at the first row outside. */
static int collect_before(rank_op *o, const sluice_rank_part *p, sluice_rank_pos pos, size_t *n) {
    size_t k = 0;
    for (; !sluice_rank_is_end(p, pos) && sluice_rank_at(p, pos)->out_rank; pos = sluice_rank_next(p, pos)) {
        if (reserve(&o->before, &o->cap_before, k + 1) != 0) return -1;
        sluice_rank_row *r = sluice_rank_at(p, pos);
        o->before[k].r = r;
        o->before[k++].rank = r->out_rank;
    }
    *n = k;
    return 0;
}

/* The rows of p ranking <= limit from position pos on, into o->after;
 * *index set to pos's index.  The row before pos, if any, is in the
 * output (its out_rank is its rank), so the index costs a walk over
 * chunks of the output only. */
static int collect_after(rank_op *o, const sluice_rank_part *p, sluice_rank_pos pos, size_t *n, size_t *index) {
    const sluice_rank_plan *rp = o->rp;
    size_t w = rp->width, k = 0;
    const sluice_rank_row *prev = sluice_rank_before(p, pos, NULL);
    const sluice_value *prev_ord = prev ? sluice_rank_row_order(prev, w) : NULL;
    uint32_t prev_rank = prev ? prev->out_rank : 0;
    size_t idx = prev ? sluice_rank_index(p, pos) : 0;
    *index = idx;
    for (; !sluice_rank_is_end(p, pos); pos = sluice_rank_next(p, pos), idx++) {
        sluice_rank_row *r = sluice_rank_at(p, pos);
        const sluice_value *ord = sluice_rank_row_order(r, w);
        uint32_t rank = rank_after(rp, idx, ord, prev_ord, prev_rank);
        if ((int64_t)rank > rp->limit) break;
        if (reserve(&o->after, &o->cap_after, k + 1) != 0) return -1;
        o->after[k].r = r;
        o->after[k++].rank = rank;
        prev_ord = ord;
        prev_rank = rank;
    }
    *n = k;
    return 0;
}

/* Emit the difference between o->before (nb) and o->after (na), then give
 * every row its new out_rank. */
static sluice_err_t emit_diff(rank_op *o, size_t nb, size_t na) {
    const sluice_rank_plan *rp = o->rp;
    sluice_err_t err = SLUICE_OK;
    if (rp->output_rank) {
        /* per rank, in rank order: the set of (row, rank) pairs */
        size_t i = 0, j = 0;
        while (err == SLUICE_OK && (i < nb || j < na)) {
            if (j == na || (i < nb && o->before[i].rank < o->after[j].rank)) {
                err = emit(o, o->before[i].r, o->before[i].rank, SLUICE_ROW_DELETE);
                i++;
            } else if (i == nb || o->after[j].rank < o->before[i].rank) {
                err = emit(o, o->after[j].r, o->after[j].rank, SLUICE_ROW_INSERT);
                j++;
            } else {
                if (o->before[i].r != o->after[j].r && !rows_equal(o->before[i].r->v, o->after[j].r->v, rp->width)) {
                    err = emit(o, o->before[i].r, o->before[i].rank, SLUICE_ROW_UPDATE_BEFORE);
                    if (err == SLUICE_OK) err = emit(o, o->after[j].r, o->after[j].rank, SLUICE_ROW_UPDATE_AFTER);
                }
                i++;
                j++;
            }
        }
    } else {
        /* the set of rows: leaving ones deleted, then entering ones inserted */
        for (size_t j = 0; j < na; j++) o->after[j].r->mark = 1;
        for (size_t i = 0; i < nb && err == SLUICE_OK; i++)
            if (!o->before[i].r->mark) err = emit(o, o->before[i].r, o->before[i].rank, SLUICE_ROW_DELETE);
        for (size_t j = 0; j < na && err == SLUICE_OK; j++)
            if (!o->after[j].r->out_rank) err = emit(o, o->after[j].r, o->after[j].rank, SLUICE_ROW_INSERT);
        for (size_t j = 0; j < na; j++) o->after[j].r->mark = 0;
    }
    for (size_t i = 0; i < nb; i++) o->before[i].r->out_rank = 0;
    for (size_t j = 0; j < na; j++) o->after[j].r->out_rank = o->after[j].rank;
    return err;
}

/* Drop the rows of p after the first `keep` (append-only input: they
 * rank beyond limit and no retraction can bring them back). */
static int trim(rank_op *o, sluice_rank_part *p, size_t keep) {
    while (p->n > keep)
        if (bury(o, sluice_rank_part_remove(&o->t, p, sluice_rank_last(p), NULL)) != 0) return -1;
    return 0;
}

/* An insert or update-after of `row` into partition p. */
static sluice_err_t accumulate(rank_op *o, sluice_rank_part *p, const sluice_value *row) {
    const sluice_rank_plan *rp = o->rp;
    size_t w = rp->width;
    /* after its equals: ties keep arrival order (keep-last: before them) */
    sluice_rank_pos pos = sluice_rank_part_search(&o->t, p, o->order, !o->keep_last);
    const sluice_rank_row *prev = sluice_rank_before(p, pos, NULL);
    int ranks = 1;
    if (prev)
        ranks = prev->out_rank && (int64_t)rank_after(rp, sluice_rank_index(p, pos), o->order,
                                                      sluice_rank_row_order(prev, w), prev->out_rank) <= rp->limit;
    if (!ranks && rp->append_only_input) return SLUICE_OK; /* can never rank: not kept */
    sluice_rank_row *r = sluice_rank_row_new(&o->t, row, o->order);
    if (!r) return SLUICE_ERR_NOMEM;
    size_t nb = 0, na = 0, idx = 0;
    if (ranks && collect_before(o, p, pos, &nb) != 0) goto nomem;
    if (sluice_rank_part_insert(&o->t, p, pos, r, &pos) != 0) goto nomem;
    if (!ranks) return SLUICE_OK; /* behind the output: nothing changes */
    if (collect_after(o, p, pos, &na, &idx) != 0) return SLUICE_ERR_NOMEM;
    sluice_err_t err = emit_diff(o, nb, na);
    if (err == SLUICE_OK && rp->append_only_input && trim(o, p, idx + na) != 0) err = SLUICE_ERR_NOMEM;
    return err;
nomem:
    sluice_rank_row_free(&o->t, r);
    return SLUICE_ERR_NOMEM;
}

/* An update-before or delete of `row` from partition p (NULL: none). */
static sluice_err_t retract(rank_op *o, sluice_rank_part *p, const sluice_value *row) {
    const sluice_rank_plan *rp = o->rp;
    size_t w = rp->width;
    sluice_rank_pos pos = {0, 0};
    int found = 0;
    if (p) {
        /* among the rows with its ORDER BY values, the last equal one: it
         * ranks lowest, so taking it back changes the least */
        sluice_rank_pos lo = sluice_rank_part_search(&o->t, p, o->order, 0);
        sluice_rank_pos j = sluice_rank_part_search(&o->t, p, o->order, 1);
        while (!found && !sluice_rank_pos_eq(j, lo))
            found = rows_equal(sluice_rank_before(p, j, &j)->v, row, w);
        pos = j;
    }
    if (!found) {
        /* Flink logs and ignores such a retraction (its state may have
         * expired); here it means the input took back a row it never sent */
        uint64_t n = ++o->unmatched;
        if ((n & (n - 1)) == 0)
            sluice_log(SLUICE_LOG_WARN, NULL, "engine", rp->name,
                       "a retraction of a row the rank node does not hold was ignored (%llu so far)",
                       (unsigned long long)n);
        return SLUICE_OK;
    }
    size_t nb = 0, na = 0, idx = 0;
    int shown = sluice_rank_at(p, pos)->out_rank != 0;
    if (shown && collect_before(o, p, pos, &nb) != 0) return SLUICE_ERR_NOMEM;
    sluice_rank_row *r = sluice_rank_part_remove(&o->t, p, pos, &pos);
    sluice_err_t err = SLUICE_OK;
    if (shown) {
        if (collect_after(o, p, pos, &na, &idx) != 0) err = SLUICE_ERR_NOMEM;
        if (err == SLUICE_OK) err = emit_diff(o, nb, na);
    }
    if (bury(o, r) != 0) {
        sluice_rank_row_free(&o->t, r); /* nothing queued of it is pushed yet: flush first */
        return SLUICE_ERR_NOMEM;
    }
    if (p->n == 0) sluice_rank_part_drop(&o->t, p);
    return err;
}

static sluice_err_t rank_process(sluice_op *op, const sluice_op_batch *b) {
    rank_op *o = (rank_op *)op;
    const sluice_rank_plan *rp = o->rp;
    sluice_arena *arena = op->ctx->batch_arena;
    sluice_err_t err = SLUICE_OK;
    if (b->nrows && b->ncolumns < rp->width) {
        snprintf(op->ctx->err, sizeof op->ctx->err, "rank %s: rows of %zu columns, the plan reads %zu", rp->name,
                 b->ncolumns, rp->width);
        return SLUICE_ERR_INVALID;
    }
    o->in = b;
    for (size_t i = 0; i < b->nrows && err == SLUICE_OK; i++) {
        size_t ri = sluice_op_batch_row_index(b, i);
        const sluice_value *row = b->rows + ri * b->ncolumns;
        sluice_row_kind kind = b->kinds ? b->kinds[ri] : SLUICE_ROW_INSERT;
        for (size_t k = 0; k < rp->npartition; k++) o->keys[k] = sluice_expr_eval(rp->partition[k], row, arena);
        for (size_t k = 0; k < rp->norder; k++) o->order[k] = sluice_expr_eval(rp->order[k], row, arena);
        uint64_t hash = sluice_snap_keys_hash(o->keys, rp->npartition);
        if (kind == SLUICE_ROW_INSERT || kind == SLUICE_ROW_UPDATE_AFTER) {
            sluice_rank_part *p = sluice_rank_part_get(&o->t, o->keys, hash);
            err = p ? accumulate(o, p, row) : SLUICE_ERR_NOMEM;
        } else if (rp->append_only_input) {
            /* the rows that could come back in were not kept: going on
             * would lose rows, so the pipeline stops */
            snprintf(op->ctx->err, sizeof op->ctx->err,
                     "rank %s: a retraction reached a ranking planned for an append-only input", rp->name);
            err = SLUICE_ERR_RUNTIME;
        } else {
            err = retract(o, sluice_rank_part_find(&o->t, o->keys, hash), row);
        }
    }
    sluice_err_t ferr = flush(o);
    o->in = NULL;
    return err != SLUICE_OK ? err : ferr;
}

/* ---------------- snapshot ----------------
 * i64 late_rows (0), u8 2, u32 npartitions; per partition: npartition
 * values, u32 nrows; per row in rank order: width values, norder values. */

static void rank_snapshot_begin(sluice_op *op) {
    rank_op *o = (rank_op *)op;
    o->snap_started = 0;
    o->snap_bucket = 0;
    o->snap_part = NULL;
}

static int rank_snapshot_next(sluice_op *op, sluice_enc *e) {
    rank_op *o = (rank_op *)op;
    const sluice_rank_plan *rp = o->rp;
    sluice_rank_table *t = &o->t;
    if (!o->snap_started) {
        o->snap_started = 1;
        sluice_enc_i64(e, (int64_t)op->late_rows);
        sluice_enc_u8(e, 2);
        sluice_enc_u32(e, (uint32_t)t->nparts);
        o->snap_part = t->nbuckets ? t->buckets[0] : NULL;
        return 1;
    }
    while (!o->snap_part) {
        if (++o->snap_bucket >= t->nbuckets) return 0;
        o->snap_part = t->buckets[o->snap_bucket];
    }
    const sluice_rank_part *p = o->snap_part;
    o->snap_part = p->next;
    for (size_t k = 0; k < rp->npartition; k++) sluice_enc_value(e, &p->keys[k]);
    sluice_enc_u32(e, (uint32_t)p->n);
    for (size_t c = 0; c < p->nchunks; c++)
        for (uint32_t j = 0; j < p->chunks[c]->n; j++)
            for (size_t k = 0; k < rp->width + rp->norder; k++) sluice_enc_value(e, &p->chunks[c]->rows[j]->v[k]);
    return 1;
}

static void rank_snapshot_end(sluice_op *op) {
    rank_snapshot_begin(op);
}

/* Decode a value that must be NULL or of type `type`. */
static sluice_value dec_typed(sluice_dec *d, sluice_type_t type, sluice_arena *arena) {
    return sluice_snap_dec_key(d, type, arena);
}

/* Restore one partition; strings decoded into arena first (then copied
 * into the rows). */
static int restore_part(rank_op *o, sluice_dec *d, sluice_arena *arena) {
    const sluice_rank_plan *rp = o->rp;
    size_t w = rp->width, no = rp->norder;
    for (size_t k = 0; k < rp->npartition; k++) o->keys[k] = dec_typed(d, rp->partition[k]->type, arena);
    uint32_t n = sluice_dec_u32(d);
    /* every value takes at least one byte */
    if (d->bad || n == 0 || n > (d->len - d->pos) / (w + no ? w + no : 1)) goto bad;
    uint64_t hash = sluice_snap_keys_hash(o->keys, rp->npartition);
    if (sluice_rank_part_find(&o->t, o->keys, hash)) goto bad; /* twice */
    sluice_rank_part *p = sluice_rank_part_get(&o->t, o->keys, hash);
    if (!p) return -1;
    sluice_value *row = calloc(w + no + 1, sizeof *row);
    if (!row) return -1;
    for (uint32_t j = 0; j < n; j++) {
        for (size_t c = 0; c < w; c++) row[c] = dec_typed(d, rp->types[c], arena);
        for (size_t k = 0; k < no; k++) row[w + k] = dec_typed(d, rp->order[k]->type, arena);
        if (d->bad) break;
        /* rank order, ties in arrival order */
        if (p->n && sluice_rank_order_cmp(rp, sluice_rank_row_order(sluice_rank_at(p, sluice_rank_last(p)), w),
                                          row + w) > 0) {
            d->bad = 1;
            break;
        }
        sluice_rank_row *r = sluice_rank_row_new(&o->t, row, row + w);
        sluice_rank_pos end = {p->nchunks, 0};
        if (!r || sluice_rank_part_insert(&o->t, p, end, r, NULL) != 0) {
            sluice_rank_row_free(&o->t, r);
            free(row);
            return -1;
        }
    }
    free(row);
    if (d->bad) return -1;
    /* the output is every row ranking <= limit (snapshots follow an emit) */
    size_t na = 0, idx = 0;
    sluice_rank_pos first = {0, 0};
    if (collect_after(o, p, first, &na, &idx) != 0) return -1;
    for (size_t j = 0; j < na; j++) o->after[j].r->out_rank = o->after[j].rank;
    /* an append-only input keeps only rows that rank */
    if (rp->append_only_input && na != p->n) goto bad;
    return 0;
bad:
    d->bad = 1;
    return -1;
}

static int rank_restore(sluice_op *op, sluice_dec *d, uint32_t version) {
    rank_op *o = (rank_op *)op;
    (void)version;
    sluice_rank_table_clear(&o->t);
    free_dead(o);
    int64_t late = sluice_dec_i64(d);
    if (sluice_dec_u8(d) != 2 || late < 0) d->bad = 1;
    uint32_t np = sluice_dec_u32(d);
    /* every partition takes at least its row count */
    if (np > (d->len - d->pos) / 4) d->bad = 1;
    if (d->bad) return -1;
    op->late_rows = (uint64_t)late;
    sluice_arena *arena = sluice_arena_new(0);
    if (!arena) return -1;
    int rc = 0;
    for (uint32_t i = 0; i < np && rc == 0; i++) {
        rc = restore_part(o, d, arena);
        sluice_arena_reset(arena);
    }
    sluice_arena_destroy(arena);
    if (rc != 0) sluice_rank_table_clear(&o->t);
    return rc;
}

static void rank_clear(sluice_op *op) {
    rank_op *o = (rank_op *)op;
    free_dead(o);
    sluice_rank_table_clear(&o->t);
}

static size_t rank_state_bytes(const sluice_op *op) {
    return ((const rank_op *)op)->t.bytes;
}

static size_t rank_state_rows(const sluice_op *op) {
    return ((const rank_op *)op)->t.nrows;
}

static void rank_close(sluice_op *op) {
    rank_op *o = (rank_op *)op;
    free_dead(o);
    sluice_rank_table_free(&o->t);
    free(o->keys);
    free(o->order);
    free(o->before);
    free(o->after);
    free(o->out);
    free(o->kinds);
    free(o->dead);
    free(o);
}

static const sluice_op_ops rank_ops = {
    .name = "rank",
    .open = rank_open,
    .process = rank_process,
    .snapshot_begin = rank_snapshot_begin,
    .snapshot_next = rank_snapshot_next,
    .snapshot_end = rank_snapshot_end,
    .restore = rank_restore,
    .clear = rank_clear,
    .state_bytes = rank_state_bytes,
    .state_rows = rank_state_rows,
    .close = rank_close,
};

sluice_op *sluice_op_rank_new(const sluice_rank_plan *rp, sluice_op_ctx *ctx, sluice_op *down) {
    rank_op *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->base.ops = &rank_ops;
    o->base.ctx = ctx;
    o->base.down = down;
    o->rp = rp;
    sluice_rank_table_init(&o->t, rp);
    return &o->base;
}
