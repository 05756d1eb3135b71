/*
 * The window aggregate operator: window assignment (TUMBLE, HOP, or one
 * state without a window) and grouped aggregates, emitted per the emit
 * mode (Spark Structured Streaming's APPEND, UPDATE, COMPLETE), with HAVING
 * and top-N (exec/op_topn.h).
 *
 * Semantics (docs/sql.md): rows of a micro-batch are judged against the
 * watermark as it stood when the batch began (Spark's rule); a row adds to
 * each of its windows that is still open and is late only when none is
 * (Flink's rule for hopping windows).  PROCTIME() windows take the
 * processing time of the rows and are closed by the processing time at the
 * end of each micro-batch.
 *
 * Change kinds of the rows pushed (Flink's RowKind): APPEND pushes final
 * rows, inserts; UPDATE and COMPLETE push a group's first row as an
 * insert and every later row of it as an update-after (the sinks upsert by
 * the PRIMARY KEY, so no update-before is pushed); top-N rows under
 * COMPLETE are update-afters of the window's ranking.
 *
 * State: the open windows sorted by start, each with its group table
 * (exec/group_table.h).
 */
#include <stdlib.h>
#include <string.h>

#include "exec/group_table.h"
#include "exec/op_topn.h"
#include "exec/operator.h"

typedef struct wagg {
    sluice_op base;
    sluice_windows ws;
    sluice_emitter em;
    sluice_topn topn;
    sluice_value *keys;            /* ngroup scratch */
    sluice_value *args;            /* naggs scratch */
    int64_t *starts;               /* HOP window starts scratch */
    size_t max_windows;
    uint64_t sum_overflows;
    size_t snap_pos;               /* snapshot iterator: next piece */
} wagg;

static sluice_err_t wagg_open(sluice_op *op) {
    wagg *a = (wagg *)op;
    const sluice_query_plan *q = op->q;
    sluice_windows_init(&a->ws, q);
    a->max_windows = q->window == SLUICE_WINDOW_HOP ? (size_t)(q->size_ms / q->slide_ms) : 1;
    a->keys = calloc(q->ngroup + 1, sizeof *a->keys);
    a->args = calloc(q->naggs + 1, sizeof *a->args);
    a->starts = calloc(a->max_windows, sizeof *a->starts);
    if (!a->keys || !a->args || !a->starts) return SLUICE_ERR_NOMEM;
    return sluice_emitter_init(&a->em, q, op->ctx, op->down);
}

static void late(sluice_op *op, const sluice_op_batch *b, size_t r, const char *reason) {
    op->ctx->stats->late_rows++;
    op->late_rows++;
    sluice_op_dead_letter(op->ctx, b->sp, b->src, b->recs ? b->recs[r] : NULL, op->q->name, reason);
}

/* The hot path: per row, its windows, its group in each, and the
 * aggregates' add. */
static sluice_err_t wagg_process(sluice_op *op, const sluice_op_batch *b) {
    wagg *a = (wagg *)op;
    const sluice_query_plan *q = op->q;
    sluice_arena *arena = op->ctx->batch_arena;
    size_t nc = b->ncolumns;
    int64_t wm = q->proctime ? b->proc_watermark : b->watermark; /* as the batch began */
    int64_t single = 0;
    for (size_t i = 0; i < b->nrows; i++) {
        size_t r = sluice_op_batch_row_index(b, i);
        const sluice_value *row = b->rows + r * nc;
        if (q->udf) q->udf->row = r;
        size_t nwin = 1;
        const int64_t *starts = &single;
        if (q->window != SLUICE_WINDOW_NONE) {
            int64_t t;
            if (q->proctime) {
                t = b->proc_time;
            } else {
                const sluice_value *ts = &row[q->ts_column];
                if (ts->type == SLUICE_TYPE_NULL) {
                    late(op, b, r, "null event time: the row has no value for the window column");
                    continue;
                }
                t = ts->u.i;
            }
            if (q->window == SLUICE_WINDOW_TUMBLE) {
                a->starts[0] = sluice_window_tumble_start(t, q->size_ms);
                nwin = 1;
            } else {
                nwin = sluice_window_hop_starts(t, q->slide_ms, q->size_ms, a->starts, a->max_windows);
            }
            starts = a->starts;
        }
        uint64_t hash = 0x51ed270b27eb0bULL;
        for (size_t k = 0; k < q->ngroup; k++) {
            a->keys[k] = sluice_expr_eval(q->group[k], row, arena);
            hash = sluice_value_hash(&a->keys[k], hash);
        }
        for (size_t k = 0; k < q->naggs; k++)
            a->args[k] = q->aggs[k].arg ? sluice_expr_eval(q->aggs[k].arg, row, arena) : sluice_value_null();
        int added = 0;
        for (size_t wi = 0; wi < nwin; wi++) {
            if (q->window != SLUICE_WINDOW_NONE && starts[wi] + q->size_ms <= wm) continue; /* finalized */
            sluice_window *w = sluice_windows_get(&a->ws, starts[wi]);
            if (!w) return SLUICE_ERR_NOMEM;
            sluice_group_hdr *e = sluice_window_group(&a->ws, w, a->keys, hash);
            if (!e) return SLUICE_ERR_NOMEM;
            sluice_agg_slot *s = sluice_group_slots(&a->ws, e);
            for (size_t k = 0; k < q->naggs; k++)
                switch (q->aggs[k].fn->add(&q->aggs[k], &s[k], &a->args[k], w->arena)) {
                case 0: break;
                case 1: sluice_op_note_sum_overflow(q, &a->sum_overflows); break;
                default: return SLUICE_ERR_NOMEM;
                }
            if (sluice_window_mark_dirty(&a->ws, w, e) != 0) return SLUICE_ERR_NOMEM;
            added = 1;
        }
        if (!added) late(op, b, r, "late");
    }
    return SLUICE_OK;
}

/* ---------------- emit ---------------- */

/* Push group e of w when it passes HAVING: an insert the first time, an
 * update-after later (final: always an insert). */
static int emit_group(wagg *a, const sluice_window *w, sluice_group_hdr *e, int final) {
    sluice_emitter_fill(&a->em, w->start, w->end, sluice_group_keys(e), sluice_group_slots(&a->ws, e));
    if (!sluice_emitter_having(&a->em)) return 0;
    sluice_row_kind kind = !final && (e->flags & SLUICE_GROUP_EMITTED) ? SLUICE_ROW_UPDATE_AFTER : SLUICE_ROW_INSERT;
    e->flags |= SLUICE_GROUP_EMITTED;
    return sluice_emitter_push(&a->em, kind);
}

static int emit_window_all(wagg *a, sluice_window *w, int final) {
    for (size_t i = 0; i < w->nentries; i++)
        if (emit_group(a, w, sluice_window_entry(&a->ws, w, i), final) != 0) return -1;
    return 0;
}

static int emit_window_dirty(wagg *a, sluice_window *w) {
    for (size_t i = 0; i < w->ndirty; i++) {
        sluice_group_hdr *e = sluice_window_entry(&a->ws, w, w->dirty[i]);
        e->flags &= ~SLUICE_GROUP_DIRTY;
        if (emit_group(a, w, e, 0) != 0) return -1;
    }
    w->ndirty = 0;
    return 0;
}

static int wagg_on_watermark(sluice_op *op, int64_t wm, int had_input) {
    wagg *a = (wagg *)op;
    const sluice_query_plan *q = op->q;
    sluice_windows *ws = &a->ws;
    switch (q->emit) {
    case SLUICE_EMIT_APPEND:
        for (size_t i = 0; i < ws->n && ws->w[i]->end <= wm; i++) {
            sluice_window_clear_dirty(ws, ws->w[i]);
            if ((q->topn ? sluice_topn_emit_window(&a->topn, ws, ws->w[i], &a->em, SLUICE_ROW_INSERT)
                         : emit_window_all(a, ws->w[i], 1)) != 0)
                return -1;
        }
        for (size_t i = 0; i < ws->n; i++) sluice_window_clear_dirty(ws, ws->w[i]);
        /* the rows hold strings of the windows about to be freed */
        if (sluice_emitter_flush(&a->em) != 0) return -1;
        sluice_windows_finalize(ws, wm);
        break;
    case SLUICE_EMIT_UPDATE:
        for (size_t i = 0; i < ws->n; i++)
            if ((q->topn ? sluice_topn_emit_update(&a->topn, ws, ws->w[i], &a->em) : emit_window_dirty(a, ws->w[i])) != 0)
                return -1;
        if (sluice_emitter_flush(&a->em) != 0) return -1;
        sluice_windows_finalize(ws, wm);
        break;
    case SLUICE_EMIT_COMPLETE:
        /* Spark: complete mode keeps the whole result table (state is not
         * dropped by the watermark); late rows are still dropped.  A trigger
         * that brought no records runs no micro-batch, so emits nothing. */
        if (!had_input) break;
        for (size_t i = 0; i < ws->n; i++) {
            sluice_window_clear_dirty(ws, ws->w[i]);
            if ((q->topn ? sluice_topn_emit_window(&a->topn, ws, ws->w[i], &a->em, SLUICE_ROW_UPDATE_AFTER)
                         : emit_window_all(a, ws->w[i], 0)) != 0)
                return -1;
        }
        if (sluice_emitter_flush(&a->em) != 0) return -1;
        break;
    default: break;
    }
    return 0;
}

/* ---------------- snapshot ----------------
 * i64 late_rows, u8 0 (windows), u32 nwindows (ascending starts); per
 * window: i64 start, u32 nranked, u32 ngroups, i64 string_bytes (version
 * 2); per group: u32 rank, ngroup values, naggs slots. */

static void wagg_snapshot_begin(sluice_op *op) {
    ((wagg *)op)->snap_pos = 0;
}

static int wagg_snapshot_next(sluice_op *op, sluice_enc *e) {
    wagg *a = (wagg *)op;
    const sluice_query_plan *q = op->q;
    sluice_windows *ws = &a->ws;
    if (a->snap_pos == 0) {
        sluice_enc_i64(e, (int64_t)op->late_rows);
        sluice_enc_u8(e, 0);
        sluice_enc_u32(e, (uint32_t)ws->n);
        a->snap_pos = 1;
        return 1;
    }
    if (a->snap_pos > ws->n) return 0;
    const sluice_window *w = ws->w[a->snap_pos++ - 1];
    int64_t sbytes = 0;
    for (size_t i = 0; i < w->nentries; i++) {
        sluice_group_hdr *eh = sluice_window_entry(ws, w, i);
        const sluice_value *kv = sluice_group_keys(eh);
        for (size_t g = 0; g < q->ngroup; g++) sbytes += sluice_snap_string_bytes(&kv[g]);
        const sluice_agg_slot *s = sluice_group_slots(ws, eh);
        for (size_t m = 0; m < q->naggs; m++) sbytes += sluice_snap_slot_string_bytes(&q->aggs[m], &s[m]);
    }
    sluice_enc_i64(e, w->start);
    sluice_enc_u32(e, (uint32_t)w->nranked);
    sluice_enc_u32(e, (uint32_t)w->nentries);
    sluice_enc_i64(e, sbytes);
    for (size_t i = 0; i < w->nentries; i++) {
        sluice_group_hdr *eh = sluice_window_entry(ws, w, i);
        sluice_enc_u32(e, eh->rank);
        const sluice_value *kv = sluice_group_keys(eh);
        for (size_t g = 0; g < q->ngroup; g++) sluice_enc_value(e, &kv[g]);
        const sluice_agg_slot *s = sluice_group_slots(ws, eh);
        for (size_t m = 0; m < q->naggs; m++) q->aggs[m].fn->encode(&q->aggs[m], e, &s[m]);
    }
    return 1;
}

static void wagg_snapshot_end(sluice_op *op) {
    ((wagg *)op)->snap_pos = 0;
}

/* How many decoded groups restore keeps ahead of their table inserts: the
 * bucket of each is prefetched when it is decoded, and written this many
 * groups later, so that the cache misses of the random inserts overlap. */
#define RESTORE_AHEAD 16

/* Restore the ne groups of window w straight into its entries (strings
 * into its arena).  Returns as sluice_op_ops.restore. */
static int restore_window(wagg *a, sluice_window *w, sluice_dec *d, uint32_t ne, uint32_t nranked, int64_t sbytes) {
    sluice_windows *ws = &a->ws;
    const sluice_query_plan *q = ws->q;
    if (sluice_window_reserve(ws, w, ne) != 0) return -1;
    size_t block = sluice_snap_arena_block(sbytes, d->len - d->pos);
    if (block > 16 * 1024) {
        /* one block for every string of the window (it is empty yet) */
        sluice_arena *na = sluice_arena_new(block);
        if (!na) return -1;
        sluice_arena_destroy(w->arena);
        w->arena = na;
    }
    w->nranked = nranked;
    int64_t have = 0;
    size_t base = w->nentries, mask = w->tcap - 1;
    for (uint32_t i = 0; i < ne; i++) {
        sluice_group_hdr *e = sluice_window_entry(ws, w, base + i);
        /* every group of a snapshot was emitted (snapshots follow an emit) */
        e->flags = SLUICE_GROUP_EMITTED;
        e->rank = sluice_dec_u32(d);
        if (e->rank > nranked) d->bad = 1;
        sluice_value *k = sluice_group_keys(e);
        for (size_t g = 0; g < q->ngroup; g++) k[g] = sluice_snap_dec_key(d, q->group[g]->type, w->arena);
        sluice_agg_slot *s = sluice_group_slots(ws, e);
        for (size_t m = 0; m < q->naggs; m++) q->aggs[m].fn->decode(&q->aggs[m], d, &s[m], w->arena);
        if (d->bad) return -1;
        for (size_t g = 0; g < q->ngroup; g++) have += sluice_snap_string_bytes(&k[g]);
        for (size_t m = 0; m < q->naggs; m++) have += sluice_snap_slot_string_bytes(&q->aggs[m], &s[m]);
        e->hash = sluice_snap_keys_hash(k, q->ngroup);
        __builtin_prefetch(&w->table[e->hash & mask], 1, 1);
        w->nentries++;
        if (i >= RESTORE_AHEAD && sluice_window_restore_insert(ws, w, base + i - RESTORE_AHEAD) != 0) goto dup;
    }
    for (uint32_t i = ne > RESTORE_AHEAD ? ne - RESTORE_AHEAD : 0; i < ne; i++)
        if (sluice_window_restore_insert(ws, w, base + i) != 0) goto dup;
    if (sbytes >= 0 && have != sbytes) goto dup; /* not what the snapshot said */
    return 0;
dup:
    d->bad = 1;
    return -1;
}

static int wagg_restore(sluice_op *op, sluice_dec *d, uint32_t version) {
    wagg *a = (wagg *)op;
    const sluice_query_plan *q = op->q;
    sluice_windows *ws = &a->ws;
    sluice_windows_clear(ws);
    op->late_rows = (uint64_t)sluice_dec_i64(d);
    if (sluice_dec_u8(d) != 0) d->bad = 1; /* a snapshot of sessions */
    uint32_t nw = sluice_dec_u32(d);
    /* a query without windows has one state at start 0 */
    if (q->window == SLUICE_WINDOW_NONE && nw > 1) d->bad = 1;
    for (uint32_t i = 0; i < nw && !d->bad; i++) {
        int64_t start = sluice_dec_i64(d);
        uint32_t nranked = sluice_dec_u32(d);
        uint32_t ne = sluice_dec_u32(d);
        int64_t sbytes = version >= 2 ? sluice_dec_i64(d) : -1;
        if (version >= 2 && sbytes < 0) d->bad = 1;
        if (d->bad) break;
        /* ascending starts; every group takes at least 4 bytes */
        if ((q->window == SLUICE_WINDOW_NONE ? start != 0 : !SLUICE_SANE_TIME(start)) ||
            (ws->n && ws->w[ws->n - 1]->start >= start) || ne > (d->len - d->pos) / 4 || nranked > ne ||
            (q->topn ? (int64_t)nranked > q->limit : nranked != 0)) {
            d->bad = 1;
            break;
        }
        sluice_window *w = sluice_windows_get(ws, start);
        if (!w || restore_window(a, w, d, ne, nranked, sbytes) != 0) return -1;
    }
    return d->bad ? -1 : 0;
}

static void wagg_clear(sluice_op *op) {
    sluice_windows_clear(&((wagg *)op)->ws);
}

static size_t wagg_state_bytes(const sluice_op *op) {
    return sluice_windows_bytes(&((const wagg *)op)->ws);
}

static size_t wagg_state_rows(const sluice_op *op) {
    const sluice_windows *ws = &((const wagg *)op)->ws;
    size_t rows = 0;
    for (size_t i = 0; i < ws->n; i++) rows += ws->w[i]->nentries;
    return rows;
}

static void wagg_close(sluice_op *op) {
    wagg *a = (wagg *)op;
    sluice_windows_free(&a->ws);
    sluice_emitter_free(&a->em);
    sluice_topn_free(&a->topn);
    free(a->keys);
    free(a->args);
    free(a->starts);
    free(a);
}

static const sluice_op_ops wagg_ops = {
    .name = "window_agg",
    .open = wagg_open,
    .process = wagg_process,
    .on_watermark = wagg_on_watermark,
    .snapshot_begin = wagg_snapshot_begin,
    .snapshot_next = wagg_snapshot_next,
    .snapshot_end = wagg_snapshot_end,
    .restore = wagg_restore,
    .clear = wagg_clear,
    .state_bytes = wagg_state_bytes,
    .state_rows = wagg_state_rows,
    .close = wagg_close,
};

sluice_op *sluice_op_window_agg_new(const sluice_query_plan *q, sluice_op_ctx *ctx, sluice_op *down) {
    wagg *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->base.ops = &wagg_ops;
    a->base.q = q;
    a->base.ctx = ctx;
    a->base.down = down;
    sluice_windows_init(&a->ws, q);
    return &a->base;
}
