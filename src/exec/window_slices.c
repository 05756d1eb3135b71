/*
 * Window slicing for HOP and CUMULATE windows: slice assignment, window
 * ends, and the merge of slices into a window (exec/window_slices.h).
 */
#include "exec/window_slices.h"

#include "exec/operator.h"

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

void sluice_slicing_init(sluice_slicing *sl, const sluice_query_plan *q) {
    sl->cumulate = q->window == SLUICE_WINDOW_CUMULATE;
    sl->slide = q->slide_ms;
    sl->size = q->size_ms;
    sl->offset = q->offset_ms;
    /* HOP sizes are multiples of the slide (the planner's rule), so the gcd
     * is the slide; it is computed anyway, as Flink does */
    sl->slice = sl->cumulate ? q->slide_ms : gcd64(q->size_ms, q->slide_ms);
}

/* The times below are bounded by SLUICE_SANE_TIME (the caller's check), so
 * that no sum overflows. */

int64_t sluice_slice_start(const sluice_slicing *sl, int64_t t) {
    return floor_div(t - sl->offset, sl->slice) * sl->slice + sl->offset;
}

int64_t sluice_slice_last_end(const sluice_slicing *sl, int64_t t) {
    /* HOP: the last window containing t starts at the last slide boundary
     * at or before t; CUMULATE: the largest window of t's period ends it */
    int64_t unit = sl->cumulate ? sl->size : sl->slide;
    return floor_div(t - sl->offset, unit) * unit + sl->offset + sl->size;
}

int64_t sluice_slice_next_end(const sluice_slicing *sl, int64_t t) {
    return floor_div(t - sl->offset, sl->slide) * sl->slide + sl->offset + sl->slide;
}

int64_t sluice_slice_window_start(const sluice_slicing *sl, int64_t end) {
    if (!sl->cumulate) return end - sl->size;
    /* the period [s, s + size) holding the window's last instant */
    return floor_div(end - 1 - sl->offset, sl->size) * sl->size + sl->offset;
}

sluice_window *sluice_slices_combine(sluice_windows *slices, sluice_windows *into, int64_t start, int64_t end,
                                     size_t hint, uint64_t *overflows) {
    const sluice_query_plan *q = slices->q;
    sluice_window *w = sluice_windows_get(into, start);
    if (!w) return NULL;
    w->end = end;
    size_t most = hint, first = slices->n;
    for (size_t i = 0; i < slices->n; i++) {
        const sluice_window *s = slices->w[i];
        if (s->start < start || s->start >= end) continue;
        if (first == slices->n) first = i;
        if (s->nentries > most) most = s->nentries;
    }
    /* at least the largest slice's groups (or the hint): no rehash until
     * past them */
    if (most && sluice_window_reserve(into, w, most) != 0) return NULL;
    for (size_t i = first; i < slices->n && slices->w[i]->start < end; i++) {
        sluice_window *s = slices->w[i];
        for (size_t j = 0; j < s->nentries; j++) {
            sluice_group_hdr *from = sluice_window_entry(slices, s, j);
            sluice_group_hdr *e = sluice_window_group(into, w, sluice_group_keys(from), sluice_snap_keys_hash(sluice_group_keys(from), q->ngroup));
            if (!e) return NULL;
            sluice_agg_slot *dst = sluice_group_slots(into, e);
            const sluice_agg_slot *src = sluice_group_slots(slices, from);
            for (size_t k = 0; k < q->naggs; k++) {
                switch (q->aggs[k].fn->merge(&q->aggs[k], &dst[k], &src[k])) {
                case 0: break;
                case 1: sluice_op_note_sum_overflow(q, overflows); break;
                default: return NULL;
                }
            }
        }
    }
    return w;
}
