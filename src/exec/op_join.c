/*
 * The join operator (plan/rel.h sluice_join_plan): regular joins (INNER,
 * LEFT, RIGHT, FULL) of two changelog inputs, as Flink's
 * StreamingJoinOperator, and interval joins, as Flink's
 * TimeIntervalJoin, both over equi-keys and a residual predicate.
 *
 * State: per side the rows received and not taken back, by key
 * (exec/join_state.h), each distinct row with its count and, on a side
 * whose rows are kept by an outer join, the number of rows of the other
 * side it joins (Flink's numOfAssociations), which tells when its
 * NULL-padded row is to be taken back or emitted again.
 *
 * A row arriving on one side is matched against the other side's group
 * of its key (every row of the other side when there are no keys), the
 * residual checked per pair, then stored or taken out of its own side.
 * The output is rows of left_width + right_width values with inserts and
 * deletes only (rel.h), queued and pushed downstream SLUICE_EMIT_BATCH at
 * a time and at the end of every process() and on_watermark(); the rows'
 * strings are the input batch's or the state's, so the queue is flushed
 * before the state frees rows.
 *
 * Cleanup: with state_ttl_ms, the list of each side is kept in the order
 * of last use (a match or an update moves a row to the tail) and rows
 * unused for state_ttl_ms of processing time are dropped from its head
 * before each batch, without output (Flink's state TTL).  An interval join
 * keeps the list in event-time order and drops, at each watermark, the
 * rows the watermark has passed (rel.h), emitting the padded row of an
 * outer side's row that never joined.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/join_state.h"
#include "exec/operator.h"

typedef struct join_op join_op;

/* What receives the batches of one side. */
typedef struct join_input {
    sluice_op base;
    join_op *j;
    int side;
} join_input;

struct join_op {
    sluice_op base;
    const sluice_join_plan *jp;
    join_input in[2];
    sluice_join_side st[2];
    int outer[2];                  /* the side's rows are kept without partner (padded) */
    int interval;
    size_t owidth;                 /* left_width + right_width */
    int64_t wm;                    /* the last watermark given to on_watermark */
    int64_t out_wm;                /* the output's watermark: wm as the micro-batch began */
    int64_t proc_time, proc_wm;    /* of the input batch being processed, for the output's */
    sluice_value *keys;            /* nkeys scratch */
    sluice_value *joined;          /* owidth scratch, for the residual */
    sluice_value *out;             /* queued output rows, SLUICE_EMIT_BATCH x owidth */
    sluice_row_kind *kinds;
    size_t nout;
    sluice_err_t down_err;         /* what downstream returned when a flush failed */
    sluice_arena *scratch;         /* restore: decoded values before their copy */
    /* snapshot iterator */
    int snap_pos;                  /* 0 header, 1 rows, 2 done */
    int snap_side;
    sluice_join_row *snap_row;
};

/* Rows per snapshot piece. */
#define SNAP_CHUNK 512
/* The u8 after late_rows that says "a join" (0 windows, 1 sessions). */
#define SNAP_TAG_JOIN 2

static int64_t sat_add(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t sat_sub(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* ---------------- output ---------------- */

static int flush(join_op *j) {
    if (!j->nout) return 0;
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = j->out;
    b.ncolumns = j->owidth;
    b.nrows = j->nout;
    b.kinds = j->kinds;
    /* joined rows come from no one record (recs NULL); their event-time
     * watermark is the minimum of both inputs' as the micro-batch began */
    b.watermark = j->out_wm;
    b.proc_watermark = j->proc_wm;
    b.proc_time = j->proc_time;
    j->nout = 0;
    j->down_err = j->base.down->ops->process(j->base.down, &b);
    return j->down_err == SLUICE_OK ? 0 : -1;
}

/* Queue `times` copies of the row left ++ right (NULL: that side padded
 * with NULLs).  0, or -1 when downstream failed. */
static int emit(join_op *j, const sluice_value *left, const sluice_value *right, sluice_row_kind kind, int64_t times) {
    const sluice_join_plan *jp = j->jp;
    for (int64_t t = 0; t < times; t++) {
        sluice_value *o = j->out + j->nout * j->owidth;
        if (left) memcpy(o, left, jp->left_width * sizeof *o);
        else
            for (size_t c = 0; c < jp->left_width; c++) o[c] = sluice_value_null();
        o += jp->left_width;
        if (right) memcpy(o, right, jp->right_width * sizeof *o);
        else
            for (size_t c = 0; c < jp->right_width; c++) o[c] = sluice_value_null();
        j->kinds[j->nout++] = kind;
        if (j->nout == SLUICE_EMIT_BATCH && flush(j) != 0) return -1;
    }
    return 0;
}

/* The padded row of row x of side s. */
static int emit_padded(join_op *j, int s, const sluice_value *x, sluice_row_kind kind, int64_t times) {
    return s == 0 ? emit(j, x, NULL, kind, times) : emit(j, NULL, x, kind, times);
}

/* ---------------- matching ---------------- */

/* The time column of row x of side s, or 0 when it is NULL. */
static int row_time(const join_op *j, int s, const sluice_value *x, int64_t *t) {
    const sluice_value *v = &x[s == 0 ? j->jp->left_time : j->jp->right_time];
    if (v->type == SLUICE_TYPE_NULL) return 0;
    *t = v->u.i;
    return 1;
}

/* Whether left row l and right row r (same keys) join: the interval bounds,
 * then the residual over the joined row. */
static int pair_joins(join_op *j, const sluice_value *l, int64_t lt, const sluice_value *r, int64_t rt) {
    const sluice_join_plan *jp = j->jp;
    if (j->interval) {
        int64_t d;
        if (__builtin_sub_overflow(rt, lt, &d) || d < jp->lower_ms || d > jp->upper_ms) return 0;
    }
    if (!jp->residual) return 1;
    memcpy(j->joined, l, jp->left_width * sizeof *l);
    memcpy(j->joined + jp->left_width, r, jp->right_width * sizeof *r);
    sluice_value v = sluice_expr_eval(jp->residual, j->joined, j->base.ctx->batch_arena);
    return sluice_value_is_true(&v);
}

/* Whether a row of side s at time t can no longer meet a partner once the
 * watermark is wm (rel.h). */
static int interval_expired(const join_op *j, int s, int64_t t, int64_t wm) {
    if (wm == INT64_MIN) return 0;
    return s == 0 ? wm > sat_add(t, j->jp->upper_ms) : wm > sat_sub(t, j->jp->lower_ms);
}

/* The key values of row x of side s into j->keys; 0 when one is NULL (the
 * row joins nothing). */
static int eval_keys(join_op *j, int s, const sluice_value *x, sluice_arena *arena) {
    sluice_expr **ke = s == 0 ? j->jp->left_keys : j->jp->right_keys;
    for (size_t k = 0; k < j->jp->nkeys; k++) {
        j->keys[k] = sluice_expr_eval(ke[k], x, arena);
        if (j->keys[k].type == SLUICE_TYPE_NULL) return 0;
    }
    return 1;
}

/* One input row x of side s with kind `kind` at processing time now.
 * SLUICE_OK, SLUICE_ERR_NOMEM, or what downstream returned. */
static sluice_err_t join_row(join_op *j, int s, const sluice_value *x, sluice_row_kind kind, int64_t now) {
    const sluice_join_plan *jp = j->jp;
    int o = 1 - s;
    int acc = kind == SLUICE_ROW_INSERT || kind == SLUICE_ROW_UPDATE_AFTER;
    sluice_row_kind jk = acc ? SLUICE_ROW_INSERT : SLUICE_ROW_DELETE;
    int64_t xt = 0;
    if (!eval_keys(j, s, x, j->base.ctx->batch_arena) || (j->interval && !row_time(j, s, x, &xt))) {
        /* SQL equality: a NULL key (or time) never meets a partner */
        if (j->outer[s] && emit_padded(j, s, x, jk, 1) != 0) return j->down_err;
        return SLUICE_OK;
    }
    uint64_t khash = sluice_join_keys_hash(j->keys, jp->nkeys);
    int64_t matched = 0;
    sluice_join_group *og = sluice_join_side_group(&j->st[o], j->keys, khash);
    for (sluice_join_row *m = og ? og->rows : NULL; m; m = m->gnext) {
        int ok = s == 0 ? pair_joins(j, x, xt, m->v, m->time) : pair_joins(j, m->v, m->time, x, xt);
        if (!ok) continue;
        matched += m->count;
        if (jp->state_ttl_ms > 0 && !j->interval) {
            m->touched = now;
            sluice_join_list_append(&j->st[o], m);
        }
        const sluice_value *l = s == 0 ? x : m->v, *r = s == 0 ? m->v : x;
        if (acc) {
            if (j->outer[o] && !j->interval && m->partners == 0 && emit_padded(j, o, m->v, SLUICE_ROW_DELETE, m->count) != 0)
                return j->down_err;
            if (emit(j, l, r, SLUICE_ROW_INSERT, m->count) != 0) return j->down_err;
            if (j->outer[o]) m->partners++;
        } else {
            if (emit(j, l, r, SLUICE_ROW_DELETE, m->count) != 0) return j->down_err;
            if (j->outer[o] && m->partners > 0 && --m->partners == 0 && !j->interval &&
                emit_padded(j, o, m->v, SLUICE_ROW_INSERT, m->count) != 0)
                return j->down_err;
        }
    }
    /* an interval join emits a padded row when the row leaves the state */
    if (matched == 0 && j->outer[s] && !j->interval && emit_padded(j, s, x, jk, 1) != 0) return j->down_err;

    sluice_join_side *st = &j->st[s];
    uint64_t rhash = sluice_join_row_hash(x, st->width);
    sluice_join_row *r = sluice_join_side_row(st, x, rhash);
    if (!acc) {
        if (!r) return SLUICE_OK; /* not held (dropped by the TTL): its matches were taken back above */
        if (--r->count == 0) {
            r->count = 1; /* what remove() takes off the side's total */
            sluice_join_side_remove(st, r);
        } else {
            st->nrows--;
            if (jp->state_ttl_ms > 0 && !j->interval) {
                r->touched = now;
                sluice_join_list_append(st, r);
            }
        }
        return SLUICE_OK;
    }
    if (j->interval && interval_expired(j, s, xt, j->wm)) {
        /* too late to meet any later row (Flink's TimeIntervalJoin keeps
         * it out of state and pads it at once) */
        if (matched == 0 && j->outer[s] && emit_padded(j, s, x, SLUICE_ROW_INSERT, 1) != 0) return j->down_err;
        return SLUICE_OK;
    }
    if (r) {
        r->count++;
        st->nrows++;
    } else {
        r = sluice_join_side_add(st, j->keys, khash, x, rhash);
        if (!r) return SLUICE_ERR_NOMEM;
        r->time = xt;
        if (j->interval) sluice_join_list_insert_by_time(st, r);
        else sluice_join_list_append(st, r);
    }
    /* every copy joins the rows held now */
    r->partners = j->outer[s] ? matched : 0;
    r->touched = now;
    if (jp->state_ttl_ms > 0 && !j->interval) sluice_join_list_append(st, r);
    return SLUICE_OK;
}

/* Drop the rows of both sides unused for state_ttl_ms by now. */
static void expire_ttl(join_op *j, int64_t now) {
    if (j->jp->state_ttl_ms <= 0 || j->interval || now == INT64_MIN) return;
    int64_t limit = sat_sub(now, j->jp->state_ttl_ms);
    for (int s = 0; s < 2; s++)
        while (j->st[s].head && j->st[s].head->touched <= limit) sluice_join_side_remove(&j->st[s], j->st[s].head);
}

static sluice_err_t join_process_side(join_op *j, int s, const sluice_op_batch *in) {
    sluice_op *op = &j->base;
    j->proc_time = in->proc_time;
    j->proc_wm = in->proc_watermark;
    j->out_wm = j->wm;
    expire_ttl(j, in->proc_time);
    for (size_t i = 0; i < in->nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        sluice_row_kind kind = in->kinds ? in->kinds[r] : SLUICE_ROW_INSERT;
        sluice_err_t err = join_row(j, s, in->rows + r * in->ncolumns, kind, in->proc_time);
        if (err == SLUICE_ERR_NOMEM) {
            snprintf(op->ctx->err, sizeof op->ctx->err, "join %s: out of memory", j->jp->name ? j->jp->name : "");
            return err;
        }
        if (err) return err;
    }
    return flush(j) == 0 ? SLUICE_OK : j->down_err;
}

static sluice_err_t input_process(sluice_op *op, const sluice_op_batch *in) {
    join_input *ji = (join_input *)op;
    size_t want = ji->side == 0 ? ji->j->jp->left_width : ji->j->jp->right_width;
    if (in->ncolumns < want) {
        /* a row carries at least the side's columns; the join reads those */
        snprintf(op->ctx->err, sizeof op->ctx->err, "join %s: %s input has %zu columns, the plan %zu",
                 ji->j->jp->name ? ji->j->jp->name : "", ji->side == 0 ? "left" : "right", in->ncolumns, want);
        return SLUICE_ERR_INVALID;
    }
    return join_process_side(ji->j, ji->side, in);
}

static void input_close(sluice_op *op) {
    (void)op; /* owned by the join */
}

static const sluice_op_ops input_ops = {
    .name = "join_input",
    .process = input_process,
    .close = input_close,
};

/* The join itself takes no batch: its inputs do. */
static sluice_err_t join_process(sluice_op *op, const sluice_op_batch *in) {
    (void)in;
    snprintf(op->ctx->err, sizeof op->ctx->err, "join: push rows through sluice_op_join_input()");
    return SLUICE_ERR_INVALID;
}

/* Interval: drop the rows wm has passed, oldest first, padding those of an
 * outer side that never joined. */
static int join_on_watermark(sluice_op *op, int64_t wm, int had_input) {
    join_op *j = (join_op *)op;
    (void)had_input;
    if (wm <= j->wm) return 0;
    j->out_wm = j->wm;
    j->wm = wm;
    if (!j->interval) return 0;
    for (int s = 0; s < 2; s++) {
        sluice_join_side *st = &j->st[s];
        if (j->outer[s])
            for (sluice_join_row *r = st->head; r && interval_expired(j, s, r->time, wm); r = r->lnext)
                if (r->partners == 0 && emit_padded(j, s, r->v, SLUICE_ROW_INSERT, r->count) != 0) return -1;
        /* the queued rows hold the strings of the rows about to be freed */
        if (flush(j) != 0) return -1;
        while (st->head && interval_expired(j, s, st->head->time, wm)) sluice_join_side_remove(st, st->head);
    }
    return 0;
}

/* ---------------- snapshot ----------------
 * i64 late_rows, u8 2, i64 watermark, i64 left rows, i64 right rows
 * (distinct rows); then the rows of the left side, then the right's, each
 * in its list's order, in pieces of u32 n and n rows; a row: i64 count,
 * i64 partners, i64 touched, then its width values. */

static void join_snapshot_begin(sluice_op *op) {
    join_op *j = (join_op *)op;
    j->snap_pos = 0;
    j->snap_side = 0;
    j->snap_row = NULL;
}

static int join_snapshot_next(sluice_op *op, sluice_enc *e) {
    join_op *j = (join_op *)op;
    if (j->snap_pos == 0) {
        sluice_enc_i64(e, (int64_t)op->late_rows);
        sluice_enc_u8(e, SNAP_TAG_JOIN);
        sluice_enc_i64(e, j->wm);
        sluice_enc_i64(e, (int64_t)j->st[0].ndistinct);
        sluice_enc_i64(e, (int64_t)j->st[1].ndistinct);
        j->snap_pos = 1;
        j->snap_side = 0;
        j->snap_row = j->st[0].head;
        return 1;
    }
    if (j->snap_pos != 1) return 0;
    while (!j->snap_row) {
        if (j->snap_side == 1) {
            j->snap_pos = 2;
            return 0;
        }
        j->snap_side = 1;
        j->snap_row = j->st[1].head;
    }
    const sluice_join_side *st = &j->st[j->snap_side];
    uint32_t n = 0;
    for (sluice_join_row *r = j->snap_row; r && n < SNAP_CHUNK; r = r->lnext) n++;
    sluice_enc_u32(e, n);
    for (uint32_t i = 0; i < n; i++, j->snap_row = j->snap_row->lnext) {
        const sluice_join_row *r = j->snap_row;
        sluice_enc_i64(e, r->count);
        sluice_enc_i64(e, r->partners);
        sluice_enc_i64(e, r->touched);
        for (size_t c = 0; c < st->width; c++) sluice_enc_value(e, &r->v[c]);
    }
    return 1;
}

static void join_snapshot_end(sluice_op *op) {
    join_op *j = (join_op *)op;
    j->snap_pos = 0;
    j->snap_row = NULL;
}

static void join_clear(sluice_op *op) {
    join_op *j = (join_op *)op;
    sluice_join_side_clear(&j->st[0]);
    sluice_join_side_clear(&j->st[1]);
    j->wm = INT64_MIN;
    j->nout = 0;
}

/* Decode one row of side s and add it; returns as restore. */
static int restore_row(join_op *j, int s, sluice_dec *d) {
    const sluice_join_plan *jp = j->jp;
    sluice_join_side *st = &j->st[s];
    const sluice_type_t *types = s == 0 ? jp->left_types : jp->right_types;
    sluice_arena_reset(j->scratch);
    int64_t count = sluice_dec_i64(d), partners = sluice_dec_i64(d), touched = sluice_dec_i64(d);
    sluice_value *row = j->joined; /* owidth >= width */
    for (size_t c = 0; c < st->width && !d->bad; c++) {
        row[c] = sluice_dec_value(d, j->scratch);
        if (row[c].type != SLUICE_TYPE_NULL && row[c].type != types[c]) d->bad = 1;
    }
    if (d->bad) return -1;
    if (count < 1 || count > ((int64_t)1 << 40) || partners < 0 || partners > ((int64_t)1 << 50) ||
        (!j->outer[s] && partners != 0) || (!SLUICE_SANE_TIME(touched) && touched != INT64_MIN))
        goto bad;
    int64_t t = 0;
    if (!eval_keys(j, s, row, j->scratch) || (j->interval && !row_time(j, s, row, &t))) goto bad; /* never held */
    /* the list's order: event time (interval) or last use (TTL) */
    if (st->tail && (j->interval ? st->tail->time > t : jp->state_ttl_ms > 0 && st->tail->touched > touched)) goto bad;
    uint64_t khash = sluice_join_keys_hash(j->keys, jp->nkeys);
    uint64_t rhash = sluice_join_row_hash(row, st->width);
    if (sluice_join_side_row(st, row, rhash)) goto bad; /* a duplicate is a count */
    sluice_join_row *r = sluice_join_side_add(st, j->keys, khash, row, rhash);
    if (!r) return -1;
    r->count = count;
    st->nrows += count - 1;
    r->partners = partners;
    r->touched = touched;
    r->time = t;
    sluice_join_list_append(st, r);
    return 0;
bad:
    d->bad = 1;
    return -1;
}

static int join_restore(sluice_op *op, sluice_dec *d, uint32_t version) {
    join_op *j = (join_op *)op;
    (void)version; /* one format since joins exist */
    join_clear(op);
    op->late_rows = (uint64_t)sluice_dec_i64(d);
    if (sluice_dec_u8(d) != SNAP_TAG_JOIN) d->bad = 1;
    int64_t wm = sluice_dec_i64(d);
    int64_t n[2];
    n[0] = sluice_dec_i64(d);
    n[1] = sluice_dec_i64(d);
    if (!d->bad && !SLUICE_SANE_TIME(wm) && wm != INT64_MIN && wm != INT64_MAX) d->bad = 1;
    /* every row takes at least 28 bytes */
    for (int s = 0; s < 2; s++)
        if (n[s] < 0 || (uint64_t)n[s] > (d->len - d->pos) / 28) d->bad = 1;
    if (d->bad) goto fail;
    j->wm = wm;
    for (int s = 0; s < 2; s++) {
        int64_t left = n[s];
        while (left > 0) {
            uint32_t c = sluice_dec_u32(d);
            if (d->bad || c == 0 || c > SNAP_CHUNK || (int64_t)c > left) {
                d->bad = 1;
                goto fail;
            }
            for (uint32_t i = 0; i < c; i++)
                if (restore_row(j, s, d) != 0) goto fail;
            left -= c;
        }
    }
    return 0;
fail:
    join_clear(op);
    return -1;
}

static size_t join_state_bytes(const sluice_op *op) {
    const join_op *j = (const join_op *)op;
    return j->st[0].bytes + j->st[1].bytes;
}

/* Rows held, duplicates counted. */
static size_t join_state_rows(const sluice_op *op) {
    const join_op *j = (const join_op *)op;
    return (size_t)(j->st[0].nrows + j->st[1].nrows);
}

static void join_close(sluice_op *op) {
    join_op *j = (join_op *)op;
    sluice_join_side_free(&j->st[0]);
    sluice_join_side_free(&j->st[1]);
    sluice_arena_destroy(j->scratch);
    free(j->keys);
    free(j->joined);
    free(j->out);
    free(j->kinds);
    free(j);
}

static const sluice_op_ops join_ops = {
    .name = "join",
    .process = join_process,
    .on_watermark = join_on_watermark,
    .snapshot_begin = join_snapshot_begin,
    .snapshot_next = join_snapshot_next,
    .snapshot_end = join_snapshot_end,
    .restore = join_restore,
    .clear = join_clear,
    .state_bytes = join_state_bytes,
    .state_rows = join_state_rows,
    .close = join_close,
};

sluice_op *sluice_op_join_new(const struct sluice_join_plan *jp, sluice_op_ctx *ctx, sluice_op *down) {
    join_op *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->base.ops = &join_ops;
    j->base.ctx = ctx;
    j->base.down = down;
    j->jp = jp;
    j->interval = jp->strategy == SLUICE_JOIN_INTERVAL;
    j->outer[0] = jp->type == SLUICE_JOIN_LEFT || jp->type == SLUICE_JOIN_FULL;
    j->outer[1] = jp->type == SLUICE_JOIN_RIGHT || jp->type == SLUICE_JOIN_FULL;
    j->owidth = jp->left_width + jp->right_width;
    j->wm = j->out_wm = j->proc_time = j->proc_wm = INT64_MIN;
    sluice_join_side_init(&j->st[0], jp->left_width, jp->nkeys);
    sluice_join_side_init(&j->st[1], jp->right_width, jp->nkeys);
    for (int s = 0; s < 2; s++) {
        j->in[s].base.ops = &input_ops;
        j->in[s].base.ctx = ctx;
        j->in[s].base.down = &j->base;
        j->in[s].j = j;
        j->in[s].side = s;
    }
    j->keys = calloc(jp->nkeys + 1, sizeof *j->keys);
    j->joined = calloc(j->owidth + 1, sizeof *j->joined);
    j->out = calloc((size_t)SLUICE_EMIT_BATCH * (j->owidth ? j->owidth : 1), sizeof *j->out);
    j->kinds = calloc(SLUICE_EMIT_BATCH, sizeof *j->kinds);
    j->scratch = sluice_arena_new(0);
    if (!j->keys || !j->joined || !j->out || !j->kinds || !j->scratch) {
        join_close(&j->base);
        return NULL;
    }
    return &j->base;
}

sluice_op *sluice_op_join_input(sluice_op *join, int side) {
    if (!join || join->ops != &join_ops || (side != 0 && side != 1)) return NULL;
    return &((join_op *)join)->in[side].base;
}
