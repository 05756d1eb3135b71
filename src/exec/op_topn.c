/*
 * Top-N per window (exec/op_topn.h): a bounded heap over the groups of a
 * window, O(groups x log LIMIT) per ranking.
 */
#include <stdlib.h>

#include "exec/op_topn.h"

void sluice_topn_free(sluice_topn *t) {
    free(t->idx);
    free(t->val);
    t->idx = NULL;
    t->val = NULL;
    t->cap = 0;
}

/* 1 when group ia (ORDER BY value va) ranks before group ib: by the value,
 * DESC or ASC, NULL lowest (Spark's and Flink's default null ordering),
 * then by the group keys ascending in GROUP BY order (docs/sql.md: ties
 * broken by the group key's order). */
static int topn_before(const sluice_windows *ws, const sluice_window *w, const sluice_value *va, uint32_t ia,
                       const sluice_value *vb, uint32_t ib) {
    int c = sluice_value_compare(va, vb);
    if (ws->q->order_desc) c = -c;
    if (c) return c < 0;
    const sluice_value *ka = sluice_group_keys(sluice_window_entry(ws, w, ia));
    const sluice_value *kb = sluice_group_keys(sluice_window_entry(ws, w, ib));
    for (size_t g = 0; g < ws->q->ngroup; g++)
        if ((c = sluice_value_compare(&ka[g], &kb[g])) != 0) return c < 0;
    return ia < ib;
}

/* Restore the heap below position i of the first n scratch entries: the
 * root is the group ranked last, so that a better one can replace it. */
static void topn_sift_down(sluice_topn *t, const sluice_windows *ws, const sluice_window *w, size_t i, size_t n) {
    uint32_t *idx = t->idx;
    sluice_value *val = t->val;
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && topn_before(ws, w, &val[worst], idx[worst], &val[l], idx[l])) worst = l;
        if (r < n && topn_before(ws, w, &val[worst], idx[worst], &val[r], idx[r])) worst = r;
        if (worst == i) return;
        uint32_t ti = idx[i];
        idx[i] = idx[worst];
        idx[worst] = ti;
        sluice_value tv = val[i];
        val[i] = val[worst];
        val[worst] = tv;
        i = worst;
    }
}

/* Rank the groups of w that pass HAVING: t->idx[0 .. *n) gets the entry
 * indices of the best `limit` of them in rank order.  -1 on OOM. */
static int topn_rank(sluice_topn *t, sluice_windows *ws, sluice_window *w, sluice_emitter *em, size_t *n_out) {
    const sluice_query_plan *q = ws->q;
    size_t cap = w->nentries < (uint64_t)q->limit ? w->nentries : (size_t)q->limit;
    if (cap > t->cap) {
        uint32_t *ni = realloc(t->idx, cap * sizeof *ni);
        if (!ni) return -1;
        t->idx = ni;
        sluice_value *nv = realloc(t->val, cap * sizeof *nv);
        if (!nv) return -1;
        t->val = nv;
        t->cap = cap;
    }
    uint32_t *idx = t->idx;
    sluice_value *val = t->val;
    size_t n = 0;
    for (size_t i = 0; i < w->nentries; i++) {
        sluice_group_hdr *e = sluice_window_entry(ws, w, i);
        sluice_agg_slot *s = sluice_group_slots(ws, e);
        if (q->having) {
            sluice_emitter_fill(em, w->start, w->end, sluice_group_keys(e), s);
            if (!sluice_emitter_having(em)) continue;
        }
        sluice_value v = q->aggs[q->order_agg].fn->result(&q->aggs[q->order_agg], &s[q->order_agg]);
        if (n < cap) {
            /* sift up */
            size_t j = n++;
            while (j > 0 && topn_before(ws, w, &val[(j - 1) / 2], idx[(j - 1) / 2], &v, (uint32_t)i)) {
                idx[j] = idx[(j - 1) / 2];
                val[j] = val[(j - 1) / 2];
                j = (j - 1) / 2;
            }
            idx[j] = (uint32_t)i;
            val[j] = v;
        } else if (n && topn_before(ws, w, &v, (uint32_t)i, &val[0], idx[0])) {
            idx[0] = (uint32_t)i;
            val[0] = v;
            topn_sift_down(t, ws, w, 0, n);
        }
    }
    /* heap sort: the worst goes to the end, the best ends at 0 */
    for (size_t m = n; m > 1; m--) {
        uint32_t ti = idx[0];
        idx[0] = idx[m - 1];
        idx[m - 1] = ti;
        sluice_value tv = val[0];
        val[0] = val[m - 1];
        val[m - 1] = tv;
        topn_sift_down(t, ws, w, 0, m - 1);
    }
    /* the heap never holds more than LIMIT groups */
    assert(n <= cap && (uint64_t)n <= (uint64_t)q->limit);
    *n_out = n;
    return 0;
}

/* Push the n ranked groups of t->idx with their rank: ranks up to prev
 * replace a row pushed before (update-after), the others are `kind`. */
static int topn_emit_ranked(sluice_topn *t, sluice_windows *ws, sluice_window *w, sluice_emitter *em, size_t n,
                            sluice_row_kind kind, size_t prev) {
    for (size_t r = 0; r < n; r++) {
        sluice_group_hdr *e = sluice_window_entry(ws, w, t->idx[r]);
        sluice_emitter_fill(em, w->start, w->end, sluice_group_keys(e), sluice_group_slots(ws, e));
        em->post[SLUICE_POST_RANK] = sluice_value_bigint((int64_t)r + 1);
        if (sluice_emitter_push(em, r < prev ? SLUICE_ROW_UPDATE_AFTER : kind) != 0) return -1;
    }
    return 0;
}

int sluice_topn_emit_window(sluice_topn *t, sluice_windows *ws, sluice_window *w, sluice_emitter *em,
                            sluice_row_kind kind) {
    size_t n;
    if (topn_rank(t, ws, w, em, &n) != 0) return -1;
    return topn_emit_ranked(t, ws, w, em, n, kind, 0);
}

/* The rows replace the previous ranking in a sink that upserts by
 * (window_start, window_end, rank), the default PRIMARY KEY when rank is
 * selected. */
int sluice_topn_emit_update(sluice_topn *t, sluice_windows *ws, sluice_window *w, sluice_emitter *em) {
    if (!w->ndirty) return 0;
    size_t n;
    if (topn_rank(t, ws, w, em, &n) != 0) return -1;
    size_t prev = w->nranked;
    int changed = n != prev;
    for (size_t r = 0; r < n; r++) {
        const sluice_group_hdr *e = sluice_window_entry(ws, w, t->idx[r]);
        if ((e->flags & SLUICE_GROUP_DIRTY) || e->rank != r + 1) changed = 1;
    }
    for (size_t i = 0; i < w->nentries; i++) sluice_window_entry(ws, w, i)->rank = 0;
    for (size_t r = 0; r < n; r++) sluice_window_entry(ws, w, t->idx[r])->rank = (uint32_t)(r + 1);
    w->nranked = n;
    sluice_window_clear_dirty(ws, w);
    return changed ? topn_emit_ranked(t, ws, w, em, n, SLUICE_ROW_INSERT, prev) : 0;
}
