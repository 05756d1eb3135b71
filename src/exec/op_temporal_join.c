/*
 * The event-time temporal join operator (plan/rel.h
 * sluice_temporal_join_plan), as Flink's TemporalRowTimeJoinOperator:
 *
 *   FROM orders o JOIN rates FOR SYSTEM_TIME AS OF o.t ON o.k = r.k
 *
 * State (exec/versioned_state.h): the right input as a versioned table
 * (per key its versions ordered by time; a delete is kept as an end), and
 * the left (probe) rows waiting for the watermark, in a binary heap
 * ordered by (time, arrival).  When the watermark (minimum of both
 * inputs) reaches a left row's time every version up to that time has
 * arrived, so the row leaves the heap — the rows of one watermark in time
 * order — and is joined with the version of its key valid at its time;
 * the residual is checked over that one pair (an older version is not
 * tried instead, as in Flink).  Then every key drops the versions older
 * than its newest one at or below the watermark.
 *
 * Output: insert-only rows of left_width + right_width values, queued and
 * pushed downstream SLUICE_EMIT_BATCH at a time and at the end of every
 * process() and on_watermark().  A queued row points into the left row it
 * came from, so a left row taken off the heap is freed only once the
 * queue holding it has gone downstream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/operator.h"
#include "exec/versioned_state.h"

typedef struct tj_op tj_op;

/* A waiting left row in the heap: its order inline, so that sifting
 * compares without touching the rows. */
typedef struct tj_wait {
    int64_t time, seq;
    sluice_vrow *r;
} tj_wait;

/* What receives the batches of one side. */
typedef struct tj_input {
    sluice_op base;
    tj_op *j;
    int side;
} tj_input;

struct tj_op {
    sluice_op base;
    const sluice_temporal_join_plan *tp;
    tj_input in[2];
    sluice_vtable versions;        /* the right input */
    tj_wait *heap;                 /* waiting left rows, min-heap on (time, seq) */
    size_t nheap, heap_cap;
    size_t heap_bytes;             /* of the rows in the heap */
    int64_t next_seq;              /* arrival number of the next left row */
    sluice_vrow **done;            /* left rows joined whose output is queued */
    size_t ndone;
    size_t owidth;                 /* left_width + right_width */
    int64_t wm;                    /* the last watermark given to on_watermark */
    int64_t out_wm;                /* the output's watermark: wm as the micro-batch began */
    int64_t proc_time, proc_wm;    /* of the last input batch, for the output's */
    sluice_value *keys;            /* nkeys scratch */
    sluice_value *joined;          /* owidth scratch, for the residual */
    sluice_value *out;             /* queued output rows, SLUICE_EMIT_BATCH x owidth */
    size_t nout;
    sluice_err_t down_err;         /* what downstream returned when a flush failed */
    sluice_arena *scratch;         /* keys and residual values of one call */
    /* snapshot iterator */
    int snap_pos;                  /* 0 header, 1 left rows, 2 versions, 3 done */
    size_t snap_i;                 /* next heap index / version index in snap_g */
    sluice_vgroup *snap_g;
};

/* Rows per snapshot piece. */
#define SNAP_CHUNK 512
/* The u8 after late_rows that says "a temporal join" (0 windows, 1
 * sessions, 2 joins). */
#define SNAP_TAG_TEMPORAL 3

static const char *tj_name(const tj_op *j) {
    return j->tp->name ? j->tp->name : "";
}

/* ---------------- output ---------------- */

static void free_done(tj_op *j) {
    for (size_t i = 0; i < j->ndone; i++) free(j->done[i]);
    j->ndone = 0;
}

static int flush(tj_op *j) {
    if (!j->nout) {
        free_done(j);
        return 0;
    }
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = j->out;
    b.ncolumns = j->owidth;
    b.nrows = j->nout;
    /* kinds NULL: every row an insert; recs NULL: a joined row comes from
     * two records */
    b.watermark = j->out_wm;
    b.proc_watermark = j->proc_wm;
    b.proc_time = j->proc_time;
    j->nout = 0;
    j->down_err = j->base.down->ops->process(j->base.down, &b);
    free_done(j);
    return j->down_err == SLUICE_OK ? 0 : -1;
}

/* Queue left ++ right (NULL: padded with NULLs).  0, or -1 when
 * downstream failed. */
static int emit(tj_op *j, const sluice_value *left, const sluice_value *right) {
    const sluice_temporal_join_plan *tp = j->tp;
    sluice_value *o = j->out + j->nout * j->owidth;
    memcpy(o, left, tp->left_width * sizeof *o);
    o += tp->left_width;
    if (right) memcpy(o, right, tp->right_width * sizeof *o);
    else
        for (size_t c = 0; c < tp->right_width; c++) o[c] = sluice_value_null();
    if (++j->nout == SLUICE_EMIT_BATCH && flush(j) != 0) return -1;
    return 0;
}

/* ---------------- matching ---------------- */

/* The time column c of row x into *t; 0 when it is NULL. */
static int row_time(const sluice_value *x, size_t c, int64_t *t) {
    if (x[c].type == SLUICE_TYPE_NULL) return 0;
    *t = x[c].u.i;
    return 1;
}

/* The key values of row x of side s into j->keys; 0 when one is NULL. */
static int eval_keys(tj_op *j, int s, const sluice_value *x, sluice_arena *arena) {
    sluice_expr **ke = s == 0 ? j->tp->left_keys : j->tp->right_keys;
    for (size_t k = 0; k < j->tp->nkeys; k++) {
        j->keys[k] = sluice_expr_eval(ke[k], x, arena);
        if (j->keys[k].type == SLUICE_TYPE_NULL) return 0;
    }
    return 1;
}

/* Join left row x at time t (has_time 0: its time is NULL) with the
 * version of its key valid at t; emits at most one row.  Returns 1 when
 * it emitted, 0 when not, -1 when downstream failed. */
static int probe(tj_op *j, const sluice_value *x, int64_t t, int has_time) {
    const sluice_temporal_join_plan *tp = j->tp;
    const sluice_vrow *v = NULL;
    if (has_time && eval_keys(j, 0, x, j->scratch)) {
        sluice_vgroup *g = sluice_vtable_group(&j->versions, j->keys, sluice_vtable_keys_hash(j->keys, tp->nkeys));
        v = g ? sluice_vtable_at(g, t) : NULL;
        if (v && v->end) v = NULL;
    }
    if (v && tp->residual) {
        memcpy(j->joined, x, tp->left_width * sizeof *x);
        memcpy(j->joined + tp->left_width, v->v, tp->right_width * sizeof *x);
        sluice_value ok = sluice_expr_eval(tp->residual, j->joined, j->scratch);
        if (!sluice_value_is_true(&ok)) v = NULL;
    }
    if (!v && !tp->left_outer) return 0;
    return emit(j, x, v ? v->v : NULL) == 0 ? 1 : -1;
}

/* ---------------- the heap of waiting left rows ---------------- */

static int before(const tj_wait *a, const tj_wait *b) {
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static int heap_push(tj_op *j, sluice_vrow *r) {
    if (j->nheap == j->heap_cap) {
        size_t nc = j->heap_cap ? j->heap_cap * 2 : 64;
        tj_wait *nh = realloc(j->heap, nc * sizeof *nh);
        if (!nh) return -1;
        j->heap = nh;
        j->heap_cap = nc;
    }
    tj_wait w = {r->time, r->seq, r};
    size_t i = j->nheap++;
    while (i > 0 && before(&w, &j->heap[(i - 1) / 2])) {
        j->heap[i] = j->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    j->heap[i] = w;
    j->heap_bytes += r->bytes;
    return 0;
}

static sluice_vrow *heap_pop(tj_op *j) {
    sluice_vrow *top = j->heap[0].r;
    tj_wait last = j->heap[--j->nheap];
    size_t i = 0, n = j->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(&j->heap[c + 1], &j->heap[c])) c++;
        if (!before(&j->heap[c], &last)) break;
        j->heap[i] = j->heap[c];
        i = c;
    }
    if (n) j->heap[i] = last;
    j->heap_bytes -= top->bytes;
    return top;
}

/* ---------------- input ---------------- */

/* One left row.  SLUICE_OK, SLUICE_ERR_NOMEM, or what downstream returned. */
static sluice_err_t left_row(tj_op *j, const sluice_value *x) {
    int64_t t = 0;
    int has_time = row_time(x, j->tp->left_time, &t);
    if (!has_time || (j->wm != INT64_MIN && t <= j->wm)) {
        /* no time to wait for, or late: every version it could have met
         * that is still held is here now */
        return probe(j, x, t, has_time) < 0 ? j->down_err : SLUICE_OK;
    }
    sluice_vrow *r = sluice_vrow_new(x, j->tp->left_width);
    if (!r) return SLUICE_ERR_NOMEM;
    r->time = t;
    r->seq = j->next_seq++;
    if (heap_push(j, r) != 0) {
        free(r);
        return SLUICE_ERR_NOMEM;
    }
    return SLUICE_OK;
}

/* One right row of kind `kind`. */
static sluice_err_t right_row(tj_op *j, const sluice_value *x, sluice_row_kind kind) {
    /* an update-before is followed by the update-after that replaces its
     * key's version (an upsert changelog keyed by the right keys) */
    if (kind == SLUICE_ROW_UPDATE_BEFORE) return SLUICE_OK;
    int64_t t;
    if (!row_time(x, j->tp->right_time, &t)) {
        /* a version without a time cannot be placed */
        j->base.late_rows++;
        if (j->base.ctx->stats) j->base.ctx->stats->late_rows++;
        return SLUICE_OK;
    }
    /* a NULL key can never be chosen (SQL equality) */
    if (!eval_keys(j, 1, x, j->scratch)) return SLUICE_OK;
    int rc = sluice_vtable_put(&j->versions, j->keys, sluice_vtable_keys_hash(j->keys, j->tp->nkeys), x, t,
                               kind == SLUICE_ROW_DELETE, 0);
    return rc < 0 ? SLUICE_ERR_NOMEM : SLUICE_OK;
}

static sluice_err_t input_process(sluice_op *op, const sluice_op_batch *in) {
    tj_input *ti = (tj_input *)op;
    tj_op *j = ti->j;
    size_t want = ti->side == 0 ? j->tp->left_width : j->tp->right_width;
    if (in->ncolumns < want) {
        snprintf(op->ctx->err, sizeof op->ctx->err, "temporal join %s: %s input has %zu columns, the plan %zu",
                 tj_name(j), ti->side == 0 ? "left" : "right", in->ncolumns, want);
        return SLUICE_ERR_INVALID;
    }
    j->proc_time = in->proc_time;
    j->proc_wm = in->proc_watermark;
    j->out_wm = j->wm;
    sluice_arena_reset(j->scratch);
    for (size_t i = 0; i < in->nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        sluice_row_kind kind = in->kinds ? in->kinds[r] : SLUICE_ROW_INSERT;
        const sluice_value *x = in->rows + r * in->ncolumns;
        sluice_err_t err;
        if (ti->side == 1) {
            err = right_row(j, x, kind);
        } else if (kind != SLUICE_ROW_INSERT && kind != SLUICE_ROW_UPDATE_AFTER) {
            /* the planner gives this join an append-only left input only;
             * dropping a retraction would leave a wrong result */
            snprintf(op->ctx->err, sizeof op->ctx->err, "temporal join %s: the left input must be append-only",
                     tj_name(j));
            err = SLUICE_ERR_INVALID;
        } else {
            err = left_row(j, x);
        }
        if (err == SLUICE_ERR_NOMEM)
            snprintf(op->ctx->err, sizeof op->ctx->err, "temporal join %s: out of memory", tj_name(j));
        if (err) {
            j->nout = 0; /* rows of this batch: their strings go with it */
            return err;
        }
    }
    return flush(j) == 0 ? SLUICE_OK : j->down_err;
}

static void input_close(sluice_op *op) {
    (void)op; /* owned by the join */
}

static const sluice_op_ops input_ops = {
    .name = "temporal_join_input",
    .process = input_process,
    .close = input_close,
};

/* The join itself takes no batch: its inputs do. */
static sluice_err_t tj_process(sluice_op *op, const sluice_op_batch *in) {
    (void)in;
    snprintf(op->ctx->err, sizeof op->ctx->err, "temporal join: push rows through sluice_op_temporal_join_input()");
    return SLUICE_ERR_INVALID;
}

/* Join the left rows wm has reached, in time order, then drop the versions
 * no later row can choose. */
static int tj_on_watermark(sluice_op *op, int64_t wm, int had_input) {
    tj_op *j = (tj_op *)op;
    (void)had_input;
    if (wm <= j->wm) return 0;
    j->out_wm = j->wm;
    j->wm = wm;
    sluice_arena_reset(j->scratch);
    while (j->nheap && j->heap[0].time <= wm) {
        sluice_vrow *r = heap_pop(j);
        int rc = probe(j, r->v, r->time, 1);
        if (rc > 0) j->done[j->ndone++] = r; /* its queued row points into it */
        else free(r);
        if (rc < 0) return -1;
    }
    /* the queued rows point into versions about to be dropped */
    if (flush(j) != 0) return -1;
    sluice_vtable_cleanup(&j->versions, wm);
    return 0;
}

/* ---------------- snapshot ----------------
 * i64 late_rows, u8 3, i64 watermark, i64 next_seq, i64 left rows,
 * i64 versions; then the waiting left rows (in heap order), in pieces of
 * u32 n (1 .. 512) and n times: i64 seq, left_width values; then the
 * versions, key after key in the order the keys were first seen, each
 * key's oldest first, in pieces of u32 n (1 .. 512) and n times: u8 end,
 * right_width values. */

static void tj_snapshot_begin(sluice_op *op) {
    tj_op *j = (tj_op *)op;
    j->snap_pos = 0;
    j->snap_i = 0;
    j->snap_g = NULL;
}

static int tj_snapshot_next(sluice_op *op, sluice_enc *e) {
    tj_op *j = (tj_op *)op;
    if (j->snap_pos == 0) {
        sluice_enc_i64(e, (int64_t)op->late_rows);
        sluice_enc_u8(e, SNAP_TAG_TEMPORAL);
        sluice_enc_i64(e, j->wm);
        sluice_enc_i64(e, j->next_seq);
        sluice_enc_i64(e, (int64_t)j->nheap);
        sluice_enc_i64(e, (int64_t)j->versions.nversions);
        j->snap_pos = 1;
        j->snap_i = 0;
        return 1;
    }
    if (j->snap_pos == 1) {
        if (j->snap_i < j->nheap) {
            uint32_t n = (uint32_t)(j->nheap - j->snap_i < SNAP_CHUNK ? j->nheap - j->snap_i : SNAP_CHUNK);
            sluice_enc_u32(e, n);
            for (uint32_t i = 0; i < n; i++, j->snap_i++) {
                const sluice_vrow *r = j->heap[j->snap_i].r;
                sluice_enc_i64(e, r->seq);
                for (size_t c = 0; c < j->tp->left_width; c++) sluice_enc_value(e, &r->v[c]);
            }
            return 1;
        }
        j->snap_pos = 2;
        j->snap_g = j->versions.head;
        j->snap_i = 0;
    }
    if (j->snap_pos != 2) return 0;
    if (!j->snap_g) {
        j->snap_pos = 3;
        return 0;
    }
    /* count what this piece takes, across keys */
    uint32_t n = 0;
    sluice_vgroup *g = j->snap_g;
    size_t i = j->snap_i;
    while (g && n < SNAP_CHUNK) {
        size_t take = g->n - i < SNAP_CHUNK - n ? g->n - i : SNAP_CHUNK - n;
        n += (uint32_t)take;
        i += take;
        if (i == g->n) {
            g = g->next;
            i = 0;
        }
    }
    sluice_enc_u32(e, n);
    for (uint32_t k = 0; k < n; k++) {
        const sluice_vrow *r = j->snap_g->vs[j->snap_i];
        sluice_enc_u8(e, (uint8_t)r->end);
        for (size_t c = 0; c < j->tp->right_width; c++) sluice_enc_value(e, &r->v[c]);
        if (++j->snap_i == j->snap_g->n) {
            j->snap_g = j->snap_g->next;
            j->snap_i = 0;
        }
    }
    return 1;
}

static void tj_snapshot_end(sluice_op *op) {
    tj_op *j = (tj_op *)op;
    j->snap_pos = 0;
    j->snap_g = NULL;
}

static void tj_clear(sluice_op *op) {
    tj_op *j = (tj_op *)op;
    sluice_vtable_clear(&j->versions);
    for (size_t i = 0; i < j->nheap; i++) free(j->heap[i].r);
    j->nheap = 0;
    j->heap_bytes = 0;
    free_done(j);
    j->next_seq = 0;
    j->wm = INT64_MIN;
    j->nout = 0;
}

/* Decode width values of the types given into j->joined (owidth >= width). */
static sluice_value *restore_values(tj_op *j, sluice_dec *d, size_t width, const sluice_type_t *types) {
    sluice_value *row = j->joined;
    for (size_t c = 0; c < width && !d->bad; c++) {
        row[c] = sluice_dec_value(d, j->scratch);
        if (row[c].type != SLUICE_TYPE_NULL && row[c].type != types[c]) d->bad = 1;
    }
    return d->bad ? NULL : row;
}

/* One waiting left row; 0, or -1 (d->bad set when the bytes are wrong). */
static int restore_left(tj_op *j, sluice_dec *d) {
    const sluice_temporal_join_plan *tp = j->tp;
    sluice_arena_reset(j->scratch);
    int64_t seq = sluice_dec_i64(d);
    sluice_value *row = restore_values(j, d, tp->left_width, tp->left_types);
    int64_t t;
    if (!row) return -1;
    /* only rows the watermark has not reached wait, each with its number */
    if (seq < 0 || seq >= j->next_seq || !row_time(row, tp->left_time, &t) || !SLUICE_SANE_TIME(t) ||
        (j->wm != INT64_MIN && t <= j->wm)) {
        d->bad = 1;
        return -1;
    }
    sluice_vrow *r = sluice_vrow_new(row, tp->left_width);
    if (!r) return -1;
    r->time = t;
    r->seq = seq;
    if (heap_push(j, r) != 0) {
        free(r);
        return -1;
    }
    return 0;
}

/* One version; returns as restore_left. */
static int restore_version(tj_op *j, sluice_dec *d) {
    const sluice_temporal_join_plan *tp = j->tp;
    sluice_arena_reset(j->scratch);
    uint8_t end = sluice_dec_u8(d);
    sluice_value *row = restore_values(j, d, tp->right_width, tp->right_types);
    int64_t t;
    if (!row) return -1;
    if (end > 1 || !row_time(row, tp->right_time, &t) || !SLUICE_SANE_TIME(t) || !eval_keys(j, 1, row, j->scratch)) {
        d->bad = 1;
        return -1;
    }
    /* a key's versions come oldest first, each time once */
    int rc = sluice_vtable_put(&j->versions, j->keys, sluice_vtable_keys_hash(j->keys, tp->nkeys), row, t, end, 1);
    if (rc > 0) d->bad = 1;
    return rc ? -1 : 0;
}

/* n rows in pieces, each decoded by one(); 0 or -1. */
static int restore_pieces(tj_op *j, sluice_dec *d, int64_t n, int (*one)(tj_op *, sluice_dec *)) {
    while (n > 0) {
        uint32_t c = sluice_dec_u32(d);
        if (d->bad || c == 0 || c > SNAP_CHUNK || (int64_t)c > n) {
            d->bad = 1;
            return -1;
        }
        for (uint32_t i = 0; i < c; i++)
            if (one(j, d) != 0) return -1;
        n -= c;
    }
    return 0;
}

static int tj_restore(sluice_op *op, sluice_dec *d, uint32_t version) {
    tj_op *j = (tj_op *)op;
    (void)version; /* one format since temporal joins exist */
    tj_clear(op);
    op->late_rows = (uint64_t)sluice_dec_i64(d);
    if (sluice_dec_u8(d) != SNAP_TAG_TEMPORAL) d->bad = 1;
    int64_t wm = sluice_dec_i64(d), next_seq = sluice_dec_i64(d);
    int64_t nleft = sluice_dec_i64(d), nversions = sluice_dec_i64(d);
    if (d->bad || (!SLUICE_SANE_TIME(wm) && wm != INT64_MIN && wm != INT64_MAX) || next_seq < 0 ||
        nleft < 0 || nleft > next_seq || nversions < 0 ||
        /* every row takes at least one byte per value and its framing */
        (uint64_t)nleft > (d->len - d->pos) / 9 || (uint64_t)nversions > (d->len - d->pos) / 2) {
        d->bad = 1;
        goto fail;
    }
    j->wm = wm;
    j->next_seq = next_seq;
    if (restore_pieces(j, d, nleft, restore_left) != 0 || restore_pieces(j, d, nversions, restore_version) != 0)
        goto fail;
    return 0;
fail:
    tj_clear(op);
    return -1;
}

static size_t tj_state_bytes(const sluice_op *op) {
    const tj_op *j = (const tj_op *)op;
    return j->versions.bytes + j->heap_bytes + j->heap_cap * sizeof *j->heap;
}

/* Waiting left rows plus versions held (ends included). */
static size_t tj_state_rows(const sluice_op *op) {
    const tj_op *j = (const tj_op *)op;
    return j->nheap + j->versions.nversions;
}

static void tj_close(sluice_op *op) {
    tj_op *j = (tj_op *)op;
    tj_clear(op);
    sluice_vtable_free(&j->versions);
    sluice_arena_destroy(j->scratch);
    free(j->heap);
    free(j->done);
    free(j->keys);
    free(j->joined);
    free(j->out);
    free(j);
}

static const sluice_op_ops tj_ops = {
    .name = "temporal_join",
    .process = tj_process,
    .on_watermark = tj_on_watermark,
    .snapshot_begin = tj_snapshot_begin,
    .snapshot_next = tj_snapshot_next,
    .snapshot_end = tj_snapshot_end,
    .restore = tj_restore,
    .clear = tj_clear,
    .state_bytes = tj_state_bytes,
    .state_rows = tj_state_rows,
    .close = tj_close,
};

sluice_op *sluice_op_temporal_join_new(const struct sluice_temporal_join_plan *tp, sluice_op_ctx *ctx,
                                       sluice_op *down) {
    if (!tp || tp->left_time >= tp->left_width || tp->right_time >= tp->right_width) return NULL;
    tj_op *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->base.ops = &tj_ops;
    j->base.ctx = ctx;
    j->base.down = down;
    j->tp = tp;
    j->owidth = tp->left_width + tp->right_width;
    j->wm = j->out_wm = j->proc_time = j->proc_wm = INT64_MIN;
    sluice_vtable_init(&j->versions, tp->right_width, tp->nkeys);
    for (int s = 0; s < 2; s++) {
        j->in[s].base.ops = &input_ops;
        j->in[s].base.ctx = ctx;
        j->in[s].base.down = &j->base;
        j->in[s].j = j;
        j->in[s].side = s;
    }
    j->keys = calloc(tp->nkeys + 1, sizeof *j->keys);
    j->joined = calloc(j->owidth + 1, sizeof *j->joined);
    j->out = calloc((size_t)SLUICE_EMIT_BATCH * (j->owidth ? j->owidth : 1), sizeof *j->out);
    j->done = calloc(SLUICE_EMIT_BATCH, sizeof *j->done);
    j->scratch = sluice_arena_new(0);
    if (!j->keys || !j->joined || !j->out || !j->done || !j->scratch) {
        tj_close(&j->base);
        return NULL;
    }
    return &j->base;
}

sluice_op *sluice_op_temporal_join_input(sluice_op *join, int side) {
    if (!join || join->ops != &tj_ops || (side != 0 && side != 1)) return NULL;
    return &((tj_op *)join)->in[side].base;
}
