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
 * rows, inserts.  UPDATE pushes a group's first row as an insert and every
 * later row of it as an update-before of the row pushed last (its exact
 * values, kept when the group first changed in the micro-batch) followed
 * by an update-after, as Flink's GroupAggFunction; a group that no longer
 * passes HAVING, or whose rows were all retracted, goes as a delete of the
 * row pushed last.  The sink drops the update-befores when it upserts by a
 * key.  COMPLETE pushes the whole result table each micro-batch (Spark's
 * complete mode: it replaces the one before), a group's first row as an
 * insert, later ones as update-afters, nothing retracted.  Top-N rows
 * under COMPLETE are update-afters of the window's ranking.
 *
 * Input change kinds: inserts and update-afters add to a group;
 * update-befores and deletes retract from it (planned only without a
 * window, over an updating input: q->input_updating, where every group
 * counts its rows and is dropped when the count reaches 0; a retraction
 * for a group that does not exist is ignored, as Flink does).  A FILTER
 * of an aggregate decides per row whether the row adds to (or retracts
 * from) that aggregate.
 *
 * State: the open windows sorted by start, each with its group table
 * (exec/group_table.h).  HOP and CUMULATE windows under APPEND are sliced
 * instead (exec/window_slices.h): the state is the open slices sorted by
 * start, each row updates the one slice holding it, and a window, when the
 * watermark passes its end, is the merge of its slices.  (UPDATE and
 * COMPLETE push every open window's changes each micro-batch: HOP keeps
 * one group table per window there.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/group_table.h"
#include "exec/op_topn.h"
#include "exec/operator.h"
#include "exec/window_slices.h"

typedef struct wagg {
    sluice_op base;
    sluice_windows ws;
    sluice_emitter em;
    sluice_topn topn;
    sluice_value *keys;            /* ngroup scratch */
    sluice_value *args;            /* naggs scratch */
    unsigned char *skip;           /* naggs scratch: FILTER not TRUE for the row */
    uint32_t *dead;                /* entries whose rows were all retracted, found by an emit */
    size_t ndead, dead_cap;
    int64_t *starts;               /* HOP window starts scratch */
    size_t max_windows;
    uint64_t sum_overflows;
    size_t snap_pos;               /* snapshot iterator: next piece */
    int sliceable;                 /* HOP or CUMULATE under APPEND */
    int sliced;                    /* ws holds slices (else windows: a HOP
                                      snapshot of per-window state restored) */
    sluice_slicing sl;
    sluice_windows comb;           /* sliced: the window being emitted */
    size_t comb_hint;              /* groups of the window emitted last */
    int64_t done;                  /* sliced: the windows ending at or before
                                      it were emitted (INT64_MIN: none yet) */
} wagg;

static sluice_err_t wagg_open(sluice_op *op) {
    wagg *a = (wagg *)op;
    const sluice_query_plan *q = op->q;
    sluice_windows_init(&a->ws, q);
    sluice_windows_init(&a->comb, q);
    a->sliceable = (q->window == SLUICE_WINDOW_HOP || q->window == SLUICE_WINDOW_CUMULATE) &&
                   q->emit == SLUICE_EMIT_APPEND;
    a->sliced = a->sliceable;
    a->done = INT64_MIN;
    if (a->sliceable) sluice_slicing_init(&a->sl, q);
    a->max_windows = q->window == SLUICE_WINDOW_HOP ? (size_t)(q->size_ms / q->slide_ms) : 1;
    a->keys = calloc(q->ngroup + 1, sizeof *a->keys);
    a->args = calloc(q->naggs + 1, sizeof *a->args);
    a->skip = calloc(q->naggs + 1, 1);
    if (!a->skip) return SLUICE_ERR_NOMEM;
    a->starts = calloc(a->max_windows, sizeof *a->starts);
    if (!a->keys || !a->args || !a->starts) return SLUICE_ERR_NOMEM;
    return sluice_emitter_init(&a->em, q, op->ctx, op->down);
}

static void late(sluice_op *op, const sluice_op_batch *b, size_t r, const char *reason) {
    op->ctx->stats->late_rows++;
    op->late_rows++;
    sluice_op_dead_letter(op->ctx, b->sp, b->src, b->recs ? b->recs[r] : NULL, op->q->name, reason);
}

/* Group e of w is about to change: list it as dirty and, the first time
 * in the micro-batch, keep the results it was last pushed with (strings
 * copied into the batch's arena: a retraction may free them) for the
 * update-before.  0, or -1 out of memory. */
static int touch(wagg *a, sluice_window *w, sluice_group_hdr *e, sluice_arena *arena) {
    if (e->flags & SLUICE_GROUP_DIRTY) return 0;
    if (sluice_window_mark_dirty_slow(&a->ws, w, e) != 0) return -1;
    if (!a->ws.keep_prev || !(e->flags & SLUICE_GROUP_EMITTED)) return 0;
    const sluice_query_plan *q = a->ws.q;
    sluice_value *prev = w->prev + (w->ndirty - 1) * q->naggs;
    const sluice_agg_slot *s = sluice_group_slots(&a->ws, e);
    for (size_t k = 0; k < q->naggs; k++) {
        prev[k] = q->aggs[k].fn->result(&q->aggs[k], &s[k]);
        if (sluice_op_copy_string(arena, &prev[k]) != 0) return -1;
    }
    return 0;
}

/* An update-before or delete row (keys and arguments in a's scratch):
 * take its values back out of its group.  Only planned without a window. */
static sluice_err_t retract_row(wagg *a, uint64_t hash) {
    const sluice_query_plan *q = a->ws.q;
    if (!q->input_updating || q->window != SLUICE_WINDOW_NONE) {
        snprintf(a->base.ctx->err, sizeof a->base.ctx->err,
                 "query %s: a retraction (update-before or delete) reached an aggregate planned for an append-only "
                 "input", q->name);
        return SLUICE_ERR_RUNTIME;
    }
    sluice_window *w = sluice_windows_get(&a->ws, 0);
    if (!w) return SLUICE_ERR_NOMEM;
    size_t h;
    sluice_group_hdr *e = sluice_window_find(&a->ws, w, a->keys, hash, &h);
    if (!e) return SLUICE_OK; /* nothing to retract from (Flink ignores it too) */
    if (touch(a, w, e, a->base.ctx->batch_arena) != 0) return SLUICE_ERR_NOMEM;
    (*sluice_group_rows(&a->ws, e))--;
    sluice_agg_slot *s = sluice_group_slots(&a->ws, e);
    for (size_t k = 0; k < q->naggs; k++) {
        if (a->skip[k]) continue;
        if (q->aggs[k].fn->retract(&q->aggs[k], &s[k], &a->args[k]) == 1)
            sluice_op_note_sum_overflow(q, &a->sum_overflows);
    }
    return SLUICE_OK;
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
            /* windows aligned to the epoch shifted by offset_ms (Flink's
             * window TVF offset): assign t - offset, then shift back */
            if (a->sliced) {
                /* one slice; late when every window of the row has closed */
                if (!SLUICE_SANE_TIME(t)) {
                    late(op, b, r, "event time out of range");
                    continue;
                }
                int64_t last_end = sluice_slice_last_end(&a->sl, t);
                if (last_end <= wm) {
                    late(op, b, r, "late");
                    continue;
                }
                sluice_window *w = sluice_windows_get(&a->ws, sluice_slice_start(&a->sl, t));
                if (!w) return SLUICE_ERR_NOMEM;
                w->end = last_end; /* freed when the last window needing it closes */
                a->starts[0] = w->start;
                nwin = 1;
            } else if (q->window == SLUICE_WINDOW_TUMBLE) {
                a->starts[0] = sluice_window_tumble_start(t - q->offset_ms, q->size_ms) + q->offset_ms;
                nwin = 1;
            } else {
                nwin = sluice_window_hop_starts(t - q->offset_ms, q->slide_ms, q->size_ms, a->starts, a->max_windows);
                for (size_t w = 0; w < nwin; w++) a->starts[w] += q->offset_ms;
            }
            starts = a->starts;
        }
        uint64_t hash = 0x51ed270b27eb0bULL;
        for (size_t k = 0; k < q->ngroup; k++) {
            a->keys[k] = sluice_expr_eval(q->group[k], row, arena);
            hash = sluice_value_hash(&a->keys[k], hash);
        }
        for (size_t k = 0; k < q->naggs; k++) {
            const sluice_agg_plan *ag = &q->aggs[k];
            if (ag->filter) {
                sluice_value f = sluice_expr_eval(ag->filter, row, arena);
                a->skip[k] = !sluice_value_is_true(&f);
            }
            a->args[k] = ag->arg ? sluice_expr_eval(ag->arg, row, arena) : sluice_value_null();
        }
        sluice_row_kind kind = b->kinds ? b->kinds[r] : SLUICE_ROW_INSERT;
        if (kind == SLUICE_ROW_UPDATE_BEFORE || kind == SLUICE_ROW_DELETE) {
            sluice_err_t err = retract_row(a, hash);
            if (err) return err;
            continue;
        }
        int added = 0;
        for (size_t wi = 0; wi < nwin; wi++) {
            if (q->window != SLUICE_WINDOW_NONE && !a->sliced && starts[wi] + q->size_ms <= wm) continue; /* finalized */
            sluice_window *w = sluice_windows_get(&a->ws, starts[wi]);
            if (!w) return SLUICE_ERR_NOMEM;
            sluice_group_hdr *e = sluice_window_group(&a->ws, w, a->keys, hash);
            /* a slice is never emitted itself: no changes to list */
            if (!e || (!a->sliced && touch(a, w, e, arena) != 0)) return SLUICE_ERR_NOMEM;
            if (a->ws.rows_off) (*sluice_group_rows(&a->ws, e))++;
            sluice_agg_slot *s = sluice_group_slots(&a->ws, e);
            for (size_t k = 0; k < q->naggs; k++) {
                if (a->skip[k]) continue;
                switch (q->aggs[k].fn->add(&q->aggs[k], &s[k], &a->args[k], w->arena)) {
                case 0: break;
                case 1: sluice_op_note_sum_overflow(q, &a->sum_overflows); break;
                default: return SLUICE_ERR_NOMEM;
                }
            }
            added = 1;
        }
        if (!added) late(op, b, r, "late");
    }
    return SLUICE_OK;
}

/* ---------------- emit ---------------- */

static int note_dead(wagg *a, size_t i) {
    if (a->ndead == a->dead_cap) {
        size_t nc = a->dead_cap ? a->dead_cap * 2 : 16;
        uint32_t *nd = realloc(a->dead, nc * sizeof *nd);
        if (!nd) return -1;
        a->dead = nd;
        a->dead_cap = nc;
    }
    a->dead[a->ndead++] = (uint32_t)i;
    return 0;
}

static int desc_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a < b) - (a > b);
}

/* Drop the groups whose rows were all retracted (after their deletes were
 * pushed): from the highest index down, so that the entry moved into a
 * hole is never one still to drop. */
static int drop_dead(wagg *a, sluice_window *w) {
    if (!a->ndead) return 0;
    if (sluice_emitter_flush(&a->em) != 0) return -1;
    qsort(a->dead, a->ndead, sizeof *a->dead, desc_u32);
    for (size_t i = 0; i < a->ndead; i++) sluice_window_remove_group(&a->ws, w, a->dead[i]);
    a->ndead = 0;
    return 0;
}

/* How a group's row goes out. */
typedef enum emit_as {
    AS_FINAL,       /* APPEND: an insert, once */
    AS_TABLE,       /* COMPLETE: the row again in the whole result table,
                       an insert the first time, then an update-after */
    AS_CHANGELOG    /* UPDATE: the change against the row pushed last */
} emit_as;

/* Push group e (entry i) of w, as `as` says.  AS_CHANGELOG: an insert the
 * first time, then an update-before of the row pushed last (`prev`, its
 * results) and an update-after; a delete of the row pushed last when the
 * group no longer passes HAVING or has no rows.  A group without rows is
 * listed to be dropped. */
static int emit_group(wagg *a, const sluice_window *w, size_t i, emit_as as, const sluice_value *prev) {
    sluice_group_hdr *e = sluice_window_entry(&a->ws, w, i);
    const sluice_value *keys = sluice_group_keys(e);
    const sluice_agg_slot *slots = sluice_group_slots(&a->ws, e);
    int gone = a->ws.rows_off && *sluice_group_rows(&a->ws, e) <= 0;
    if (gone && note_dead(a, i) != 0) return -1;
    int pass = 0;
    if (!gone) {
        sluice_emitter_fill(&a->em, w->start, w->end, keys, slots);
        pass = sluice_emitter_having(&a->em);
    }
    int was = (e->flags & SLUICE_GROUP_EMITTED) != 0;
    if (as != AS_CHANGELOG) {
        /* a COMPLETE table replaces the one before: a row that left it is
         * not in it, and nothing is retracted */
        if (!pass) return 0;
        e->flags |= SLUICE_GROUP_EMITTED;
        return sluice_emitter_push(&a->em, as == AS_TABLE && was ? SLUICE_ROW_UPDATE_AFTER : SLUICE_ROW_INSERT);
    }
    if (was && pass && (prev || a->base.q->naggs == 0)) {
        /* a result that did not change is not emitted again (Flink's
         * GroupAggFunction compares the previous and the new row) */
        int same = 1;
        for (size_t k = 0; k < a->base.q->naggs && same; k++) {
            const sluice_agg_plan *ag = &a->base.q->aggs[k];
            sluice_value v = ag->fn->result(ag, &slots[k]);
            same = sluice_value_equal(&v, &prev[k]);
        }
        if (same) return 0;
    }
    if (was) {
        if (prev) sluice_emitter_fill_values(&a->em, w->start, w->end, keys, prev);
        else sluice_emitter_fill(&a->em, w->start, w->end, keys, slots);
        if (sluice_emitter_push(&a->em, pass ? SLUICE_ROW_UPDATE_BEFORE : SLUICE_ROW_DELETE) != 0) return -1;
    }
    if (!pass) {
        e->flags &= ~SLUICE_GROUP_EMITTED;
        return 0;
    }
    e->flags |= SLUICE_GROUP_EMITTED;
    if (was) sluice_emitter_fill(&a->em, w->start, w->end, keys, slots);
    return sluice_emitter_push(&a->em, was ? SLUICE_ROW_UPDATE_AFTER : SLUICE_ROW_INSERT);
}

/* Every group of w: final (APPEND) or the whole result table (COMPLETE). */
static int emit_window_all(wagg *a, sluice_window *w, int final) {
    for (size_t i = 0; i < w->nentries; i++)
        if (emit_group(a, w, i, final ? AS_FINAL : AS_TABLE, NULL) != 0) return -1;
    sluice_window_clear_dirty(&a->ws, w);
    return drop_dead(a, w);
}

static int emit_window_dirty(wagg *a, sluice_window *w) {
    for (size_t i = 0; i < w->ndirty; i++) {
        sluice_group_hdr *e = sluice_window_entry(&a->ws, w, w->dirty[i]);
        e->flags &= ~SLUICE_GROUP_DIRTY;
        if (emit_group(a, w, w->dirty[i], AS_CHANGELOG, sluice_window_prev(&a->ws, w, i)) != 0) return -1;
    }
    w->ndirty = 0;
    return drop_dead(a, w);
}

/* After a flush: the strings of the groups removed (and of MIN/MAX values
 * replaced) are garbage in the windows' arenas, which live as long as the
 * window (forever without one); copy the live ones out now and then. */
static int compact(wagg *a) {
    if (a->ws.q->topn) return 0; /* the ranking borrows them between emits */
    for (size_t i = 0; i < a->ws.n; i++)
        if (sluice_window_compact_strings(&a->ws, a->ws.w[i]) != 0) return -1;
    return 0;
}

/* APPEND over slices: every window ending after a->done and at or before
 * wm that holds a slice, in the order of their ends, as the merge of its
 * slices; then the slices no open window needs are freed. */
static int emit_sliced(wagg *a, int64_t wm) {
    const sluice_query_plan *q = a->ws.q;
    sluice_windows *ws = &a->ws;
    while (ws->n) {
        /* the first window of the oldest slice not emitted yet: slices
         * whose windows all closed are gone, so it holds that slice */
        int64_t end = sluice_slice_next_end(&a->sl, ws->w[0]->start);
        if (end <= a->done) end = sluice_slice_next_end(&a->sl, a->done);
        if (end > wm) break;
        sluice_window *w = sluice_slices_combine(ws, &a->comb, sluice_slice_window_start(&a->sl, end), end,
                                                 a->comb_hint, &a->sum_overflows);
        if (!w) return -1;
        if ((q->topn ? sluice_topn_emit_window(&a->topn, &a->comb, w, &a->em, SLUICE_ROW_INSERT)
                     : emit_window_all(a, w, 1)) != 0)
            return -1;
        /* the rows borrow strings of the window and of its slices */
        if (sluice_emitter_flush(&a->em) != 0) return -1;
        a->comb_hint = w->nentries;
        sluice_windows_clear(&a->comb);
        a->done = end;
        sluice_windows_finalize(ws, end);
    }
    if (wm > a->done) a->done = wm;
    sluice_windows_finalize(ws, wm);
    return 0;
}

static int wagg_on_watermark(sluice_op *op, int64_t wm, int had_input) {
    wagg *a = (wagg *)op;
    const sluice_query_plan *q = op->q;
    sluice_windows *ws = &a->ws;
    if (a->sliced) return emit_sliced(a, wm);
    switch (q->emit) {
    case SLUICE_EMIT_APPEND:
        for (size_t i = 0; i < ws->n && ws->w[i]->end <= wm; i++) {
            sluice_window_clear_dirty(ws, ws->w[i]);
            /* final rows: inserts, never against a previous row */
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
        if (compact(a) != 0) return -1;
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
        if (compact(a) != 0) return -1;
        break;
    default: break;
    }
    return 0;
}

/* ---------------- snapshot ----------------
 * i64 late_rows, u8 0 (windows), u32 nwindows (ascending starts); per
 * window: i64 start, u32 nranked, u32 ngroups, i64 string_bytes (version
 * 2); per group: u32 rank, ngroup values, naggs slots, and over an
 * updating input (only) i64 rows, the group's count of rows (> 0).
 * Slices: i64 late_rows, u8 4 (slices), i64 done (the windows ending at or
 * before it were emitted), u32 nslices, then each slice as a window above
 * (nranked 0, ranks 0).  A HOP query restoring a snapshot of windows (u8 0,
 * written before slicing) keeps its windows (not sliced) from then on:
 * windows cannot be split back into slices. */

#define SNAP_WINDOWS 0
#define SNAP_SLICES 4

static void wagg_snapshot_begin(sluice_op *op) {
    ((wagg *)op)->snap_pos = 0;
}

static int wagg_snapshot_next(sluice_op *op, sluice_enc *e) {
    wagg *a = (wagg *)op;
    const sluice_query_plan *q = op->q;
    sluice_windows *ws = &a->ws;
    if (a->snap_pos == 0) {
        sluice_enc_i64(e, (int64_t)op->late_rows);
        sluice_enc_u8(e, a->sliced ? SNAP_SLICES : SNAP_WINDOWS);
        if (a->sliced) sluice_enc_i64(e, a->done);
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
        if (ws->rows_off) sluice_enc_i64(e, *sluice_group_rows(ws, eh));
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

/* Decode a group key of planned type `type` as sluice_snap_dec_key, a
 * VARCHAR's bytes packed into arena (as the group table interns them). */
static sluice_value dec_key(sluice_dec *d, sluice_type_t type, sluice_arena *arena) {
    if (type != SLUICE_TYPE_VARCHAR || d->pos >= d->len || d->p[d->pos] != SLUICE_TYPE_VARCHAR)
        return sluice_snap_dec_key(d, type, arena);
    (void)sluice_dec_u8(d);
    size_t len = 0;
    const void *p = sluice_dec_bytes(d, &len);
    char *s = p ? sluice_arena_alloc_packed(arena, len) : NULL;
    if (!s) {
        d->bad = 1; /* as sluice_dec_value: a short read, or no memory */
        return sluice_value_null();
    }
    if (len) memcpy(s, p, len);
    return sluice_value_varchar(s, len);
}

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
    uint64_t ahead[RESTORE_AHEAD];
    size_t base = w->nentries, mask = w->tcap - 1;
    for (uint32_t i = 0; i < ne; i++) {
        sluice_group_hdr *e = sluice_window_entry(ws, w, base + i);
        /* zeroed: a slot that owns memory is freed whatever the decode did */
        if (ws->owns) memset(e, 0, ws->stride);
        /* every group of a snapshot was emitted (snapshots follow an emit)
         * when it passed HAVING: below */
        e->flags = SLUICE_GROUP_EMITTED;
        uint32_t rank = sluice_dec_u32(d);
        if (rank > nranked) d->bad = 1;
        e->rank = d->bad ? 0 : rank; /* nranked <= ne fits (SLUICE_WINDOW_MAX_GROUPS) */
        sluice_value *k = sluice_group_keys(e);
        for (size_t g = 0; g < q->ngroup; g++) k[g] = dec_key(d, q->group[g]->type, w->arena);
        sluice_agg_slot *s = sluice_group_slots(ws, e);
        int oom = 0;
        for (size_t m = 0; m < q->naggs && !d->bad && !oom; m++)
            oom = q->aggs[m].fn->decode(&q->aggs[m], d, &s[m], w->arena) != 0 && !d->bad;
        if (ws->rows_off) {
            int64_t *rows = sluice_group_rows(ws, e);
            *rows = sluice_dec_i64(d);
            if (*rows <= 0) d->bad = 1;
        }
        if (d->bad || oom) {
            for (size_t m = 0; m < q->naggs && ws->owns; m++)
                if (sluice_agg_owns(&q->aggs[m])) q->aggs[m].fn->destroy(&q->aggs[m], &s[m]);
            return -1;
        }
        if (q->emit == SLUICE_EMIT_UPDATE && !q->topn && q->having && a->em.post) {
            sluice_emitter_fill(&a->em, w->start, w->end, k, s);
            if (!sluice_emitter_having(&a->em)) e->flags = 0;
        }
        for (size_t g = 0; g < q->ngroup; g++) have += sluice_snap_string_bytes(&k[g]);
        for (size_t m = 0; m < q->naggs; m++) have += sluice_snap_slot_string_bytes(&q->aggs[m], &s[m]);
        uint64_t hash = sluice_snap_keys_hash(k, q->ngroup);
        e->hash_lo = (uint32_t)hash;
        __builtin_prefetch(&w->table[hash & mask], 1, 1);
        w->nentries++;
        /* ahead[i % RESTORE_AHEAD]: the hash of group i until it is inserted */
        if (i >= RESTORE_AHEAD &&
            sluice_window_restore_insert(ws, w, base + i - RESTORE_AHEAD, ahead[i % RESTORE_AHEAD]) != 0)
            goto dup;
        ahead[i % RESTORE_AHEAD] = hash;
    }
    for (uint32_t i = ne > RESTORE_AHEAD ? ne - RESTORE_AHEAD : 0; i < ne; i++)
        if (sluice_window_restore_insert(ws, w, base + i, ahead[i % RESTORE_AHEAD]) != 0) goto dup;
    if (sbytes >= 0 && have != sbytes) goto dup; /* not what the snapshot said */
    w->arena_live = sluice_arena_used(w->arena);
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
    uint8_t kind = sluice_dec_u8(d);
    /* slices only for a sliceable query; windows of a CUMULATE query were
     * never written */
    if (kind == SNAP_SLICES ? !a->sliceable : kind != SNAP_WINDOWS || q->window == SLUICE_WINDOW_CUMULATE)
        d->bad = 1;
    a->sliced = kind == SNAP_SLICES && a->sliceable;
    a->done = INT64_MIN;
    if (a->sliced) {
        a->done = sluice_dec_i64(d);
        if (a->done != INT64_MIN && !SLUICE_SANE_TIME(a->done)) d->bad = 1;
    }
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
            (ws->n && ws->w[ws->n - 1]->start >= start) || ne > (d->len - d->pos) / 4 || ne > SLUICE_WINDOW_MAX_GROUPS ||
            nranked > ne ||
            (q->topn && !a->sliced ? (int64_t)nranked > q->limit : nranked != 0)) {
            d->bad = 1;
            break;
        }
        /* a slice is aligned, and some window that needs it is still open */
        int64_t last_end = a->sliced ? sluice_slice_last_end(&a->sl, start) : 0;
        if (a->sliced && (sluice_slice_start(&a->sl, start) != start || last_end <= a->done)) {
            d->bad = 1;
            break;
        }
        sluice_window *w = sluice_windows_get(ws, start);
        if (!w || restore_window(a, w, d, ne, nranked, sbytes) != 0) return -1;
        if (a->sliced) w->end = last_end;
    }
    return d->bad ? -1 : 0;
}

static void wagg_clear(sluice_op *op) {
    wagg *a = (wagg *)op;
    sluice_windows_clear(&a->ws);
    sluice_windows_clear(&a->comb);
    a->sliced = a->sliceable;
    a->done = INT64_MIN;
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
    sluice_windows_free(&a->comb);
    sluice_emitter_free(&a->em);
    sluice_topn_free(&a->topn);
    free(a->keys);
    free(a->args);
    free(a->skip);
    free(a->dead);
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
    sluice_windows_init(&a->comb, q);
    return &a->base;
}
