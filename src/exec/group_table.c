/*
 * The windows of a grouped aggregate and their group tables
 * (exec/group_table.h): creation, growth, the dirty lists, restore inserts.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "exec/group_table.h"
#include "exec/operator.h"

/* Free what the slots of entry e own (a value map, sketch registers). */
static void entry_destroy(const sluice_windows *ws, sluice_group_hdr *e) {
    const sluice_query_plan *q = ws->q;
    sluice_agg_slot *s = sluice_group_slots(ws, e);
    for (size_t j = 0; j < q->naggs; j++)
        if (sluice_agg_owns(&q->aggs[j])) q->aggs[j].fn->destroy(&q->aggs[j], &s[j]);
}

/* Copy the bytes of key v (a VARCHAR: packed, a string key needs no
 * alignment; an ARRAY: deep) into arena; 0 or -1 OOM. */
static int intern_key(sluice_arena *arena, sluice_value *v) {
    if (v->type != SLUICE_TYPE_VARCHAR) return sluice_op_copy_string(arena, v);
    char *p = sluice_arena_alloc_packed(arena, v->len);
    if (!p) return -1;
    if (v->len) memcpy(p, v->u.s, v->len);
    v->u.s = p;
    return 0;
}

static void window_free(const sluice_windows *ws, sluice_window *w) {
    if (!w) return;
    if (ws && ws->owns)
        for (size_t i = 0; i < w->nentries; i++) entry_destroy(ws, sluice_window_entry(ws, w, i));
    sluice_arena_destroy(w->arena);
    free(w->entries);
    free(w->table);
    free(w->dirty);
    free(w->prev);
    free(w);
}

static sluice_window *window_new(int64_t start, int64_t end) {
    /* the planner's sizes and slides are positive, and times are bounded
     * (SANE_TIME), so a window is never empty */
    assert(start < end);
    sluice_window *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->start = start;
    w->end = end;
    w->arena = sluice_arena_new(16 * 1024);
    w->tcap = 16;
    w->table = calloc(w->tcap, sizeof *w->table);
    if (!w->arena || !w->table) {
        window_free(NULL, w);
        return NULL;
    }
    return w;
}

void sluice_windows_init(sluice_windows *ws, const sluice_query_plan *q) {
    memset(ws, 0, sizeof *ws);
    ws->q = q;
    ws->stride = sizeof(sluice_group_hdr) + q->ngroup * sizeof(sluice_value) + q->naggs * sizeof(sluice_agg_slot);
    if (q->input_updating) {
        ws->rows_off = ws->stride;
        ws->stride += sizeof(int64_t);
    }
    for (size_t j = 0; j < q->naggs; j++) ws->owns |= sluice_agg_owns(&q->aggs[j]);
    /* the previous results of an updated group go out as its update-before */
    ws->keep_prev = q->emit == SLUICE_EMIT_UPDATE && !q->topn && q->naggs > 0;
}

void sluice_windows_clear(sluice_windows *ws) {
    for (size_t i = 0; i < ws->n; i++) window_free(ws, ws->w[i]);
    ws->n = 0;
    ws->last = 0;
}

void sluice_windows_free(sluice_windows *ws) {
    sluice_windows_clear(ws);
    free(ws->w);
    ws->w = NULL;
    ws->cap = 0;
}

sluice_window *sluice_windows_get_slow(sluice_windows *ws, int64_t start) {
    size_t lo = 0, hi = ws->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ws->w[mid]->start < start) lo = mid + 1;
        else hi = mid;
    }
    if (lo < ws->n && ws->w[lo]->start == start) {
        ws->last = lo;
        return ws->w[lo];
    }
    if (ws->n == ws->cap) {
        size_t nc = ws->cap ? ws->cap * 2 : 16;
        sluice_window **nw = realloc(ws->w, nc * sizeof *nw);
        if (!nw) return NULL;
        ws->w = nw;
        ws->cap = nc;
    }
    int64_t end = ws->q->window == SLUICE_WINDOW_NONE ? SLUICE_TS_MAX : start + ws->q->size_ms;
    sluice_window *w = window_new(start, end);
    if (!w) return NULL;
    memmove(ws->w + lo + 1, ws->w + lo, (ws->n - lo) * sizeof *ws->w);
    ws->w[lo] = w;
    ws->n++;
    ws->last = lo;
    return w;
}

void sluice_windows_finalize(sluice_windows *ws, int64_t wm) {
    if (ws->q->window == SLUICE_WINDOW_NONE) return;
    size_t n = 0;
    while (n < ws->n && ws->w[n]->end <= wm) window_free(ws, ws->w[n++]);
    if (!n) return;
    /* windows are sorted by start and share one size, so also by end (a
     * slice's end, its last window's, rises with its start too) */
    memmove(ws->w, ws->w + n, (ws->n - n) * sizeof *ws->w);
    ws->n -= n;
    ws->last = 0;
}

size_t sluice_windows_bytes(const sluice_windows *ws) {
    size_t bytes = ws->cap * sizeof(sluice_window *);
    for (size_t i = 0; i < ws->n; i++) {
        const sluice_window *w = ws->w[i];
        bytes += sizeof *w + w->cap * ws->stride + w->tcap * sizeof(sluice_gslot) + w->dcap * sizeof(uint32_t) +
                 sluice_arena_bytes(w->arena);
        if (ws->keep_prev) bytes += w->dcap * ws->q->naggs * sizeof(sluice_value);
        /* value maps and sketches: a pass over the groups */
        for (size_t i = 0; ws->owns && i < w->nentries; i++)
            bytes += sluice_agg_slots_owned_bytes(ws->q, sluice_group_slots(ws, sluice_window_entry(ws, w, i)));
    }
    return bytes;
}

/* Ask for transparent huge pages over the 2 MiB-aligned interior of a
 * large allocation not touched yet (fewer page faults when it is filled). */
static void hint_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || bytes < 2 * huge) return;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

/* Rebuild w's table with tcap slots (a power of two > nentries): a pass
 * over the old slots, whose tags and the headers' hash_lo are the hashes. */
static int table_rehash(sluice_windows *ws, sluice_window *w, size_t tcap) {
    sluice_gslot *nt = calloc(tcap, sizeof *nt);
    if (!nt) return -1;
    hint_huge(nt, tcap * sizeof *nt);
    for (size_t j = 0; j < w->tcap; j++) {
        sluice_gslot s = w->table[j];
        if (!s) continue;
        size_t h = sluice_window_entry(ws, w, sluice_gslot_idx(s))->hash_lo & (tcap - 1);
        while (nt[h]) h = (h + 1) & (tcap - 1);
        nt[h] = s;
    }
    free(w->table);
    w->table = nt;
    w->tcap = tcap;
    return 0;
}

sluice_group_hdr *sluice_window_add_group(sluice_windows *ws, sluice_window *w, const sluice_value *keys,
                                          uint64_t hash, size_t h) {
    const sluice_query_plan *q = ws->q;
    size_t ng = q->ngroup;
    if (w->nentries >= SLUICE_WINDOW_MAX_GROUPS) return NULL;
    if (w->nentries == w->cap) {
        /* by an eighth: what is allocated and not used yet (counted in the
         * state's bytes) stays under 12.5 %; a large block grows in place
         * (glibc's realloc remaps its pages) */
        size_t nc = w->cap + (w->cap / 8 > 16 ? w->cap / 8 : 16); /* a restored cap may be anything */
        if (nc > SLUICE_WINDOW_MAX_GROUPS) nc = SLUICE_WINDOW_MAX_GROUPS;
        unsigned char *ne = realloc(w->entries, nc * ws->stride);
        if (!ne) return NULL;
        w->entries = ne;
        w->cap = nc;
    }
    size_t i = w->nentries++;
    sluice_group_hdr *e = sluice_window_entry(ws, w, i);
    memset(e, 0, ws->stride);
    e->hash_lo = (uint32_t)hash;
    sluice_value *k = sluice_group_keys(e);
    for (size_t j = 0; j < ng; j++) {
        k[j] = keys[j];
        if (intern_key(w->arena, &k[j]) != 0) return NULL;
    }
    sluice_agg_slot *s = sluice_group_slots(ws, e);
    for (size_t j = 0; j < q->naggs; j++) q->aggs[j].fn->init(&q->aggs[j], &s[j]);
    w->table[h] = sluice_gslot_make(hash, i);
    if (sluice_gtable_full(w->nentries, w->tcap) && table_rehash(ws, w, w->tcap * 2) != 0) return NULL;
    /* the open-addressing probe ends only while the table has an empty slot */
    assert(w->nentries <= w->cap && !sluice_gtable_full(w->nentries, w->tcap));
    return sluice_window_entry(ws, w, i);
}

int sluice_window_reserve(sluice_windows *ws, sluice_window *w, size_t n) {
    size_t want = w->nentries + n;
    if (n > SLUICE_WINDOW_MAX_GROUPS || want > SLUICE_WINDOW_MAX_GROUPS) return -1;
    if (want > w->cap) {
        unsigned char *ne = realloc(w->entries, want * ws->stride);
        if (!ne) return -1;
        hint_huge(ne, want * ws->stride);
        w->entries = ne;
        w->cap = want;
    }
    size_t tcap = w->tcap;
    while (sluice_gtable_full(want, tcap)) tcap *= 2;
    return tcap != w->tcap ? table_rehash(ws, w, tcap) : 0;
}

int sluice_window_mark_dirty_slow(sluice_windows *ws, sluice_window *w, sluice_group_hdr *e) {
    if (w->ndirty == w->dcap) {
        size_t nc = w->dcap ? w->dcap * 2 : 16;
        uint32_t *nd = realloc(w->dirty, nc * sizeof *nd);
        if (!nd) return -1;
        w->dirty = nd;
        if (ws->keep_prev) {
            sluice_value *np = realloc(w->prev, nc * ws->q->naggs * sizeof *np);
            if (!np) return -1;
            w->prev = np;
        }
        w->dcap = nc;
    }
    e->flags |= SLUICE_GROUP_DIRTY;
    w->dirty[w->ndirty++] = (uint32_t)(((unsigned char *)e - w->entries) / ws->stride);
    /* a group is listed once (its dirty flag) */
    assert(w->ndirty <= w->nentries);
    return 0;
}

/* The table slot that points at entry i. */
static size_t slot_of(const sluice_windows *ws, const sluice_window *w, size_t i) {
    size_t mask = w->tcap - 1, h = sluice_window_entry(ws, w, i)->hash_lo & mask;
    while (sluice_gslot_idx(w->table[h]) != i) h = (h + 1) & mask;
    return h;
}

void sluice_window_remove_group(sluice_windows *ws, sluice_window *w, size_t i) {
    size_t mask = w->tcap - 1, h = slot_of(ws, w, i);
    if (ws->owns) entry_destroy(ws, sluice_window_entry(ws, w, i));
    /* backward-shift deletion: every later entry of the probe run that may
     * sit in the hole moves into it, so that no probe stops early */
    w->table[h] = 0;
    for (size_t j = (h + 1) & mask; w->table[j]; j = (j + 1) & mask) {
        size_t home = sluice_window_entry(ws, w, sluice_gslot_idx(w->table[j]))->hash_lo & mask;
        if (((j - home) & mask) >= ((j - h) & mask)) {
            w->table[h] = w->table[j];
            w->table[j] = 0;
            h = j;
        }
    }
    size_t last = w->nentries - 1;
    if (i != last) {
        size_t hl = slot_of(ws, w, last);
        w->table[hl] = sluice_gslot_make(sluice_gslot_hash(w->table[hl], sluice_window_entry(ws, w, last)), i);
        memcpy(sluice_window_entry(ws, w, i), sluice_window_entry(ws, w, last), ws->stride);
    }
    w->nentries--;
}

int sluice_window_compact_strings(sluice_windows *ws, sluice_window *w) {
    if (sluice_arena_used(w->arena) <= 2 * w->arena_live + 64 * 1024) return 0;
    const sluice_query_plan *q = ws->q;
    sluice_arena *na = sluice_arena_new(16 * 1024);
    if (!na) return -1;
    /* copies first, so that a failure leaves every entry as it was */
    size_t nvals = w->nentries * (q->ngroup + q->naggs);
    sluice_value *copy = malloc((nvals + 1) * sizeof *copy);
    if (!copy) goto fail;
    for (size_t i = 0, c = 0; i < w->nentries; i++) {
        sluice_group_hdr *e = sluice_window_entry(ws, w, i);
        sluice_agg_slot *sl = sluice_group_slots(ws, e);
        for (size_t g = 0; g < q->ngroup; g++, c++) {
            copy[c] = sluice_group_keys(e)[g];
            if (intern_key(na, &copy[c]) != 0) goto fail;
        }
        for (size_t m = 0; m < q->naggs; m++, c++) {
            copy[c] = sl[m].v;
            if (q->aggs[m].fn->holds_string && sl[m].n && sluice_op_copy_string(na, &copy[c]) != 0) goto fail;
        }
    }
    for (size_t i = 0, c = 0; i < w->nentries; i++) {
        sluice_group_hdr *e = sluice_window_entry(ws, w, i);
        sluice_agg_slot *sl = sluice_group_slots(ws, e);
        for (size_t g = 0; g < q->ngroup; g++, c++) sluice_group_keys(e)[g] = copy[c];
        for (size_t m = 0; m < q->naggs; m++, c++)
            if (q->aggs[m].fn->holds_string && sl[m].n) sl[m].v = copy[c];
    }
    free(copy);
    sluice_arena_destroy(w->arena);
    w->arena = na;
    w->arena_live = sluice_arena_used(na);
    return 0;
fail:
    free(copy);
    sluice_arena_destroy(na);
    return -1;
}

void sluice_window_clear_dirty(sluice_windows *ws, sluice_window *w) {
    for (size_t i = 0; i < w->ndirty; i++) sluice_window_entry(ws, w, w->dirty[i])->flags &= ~SLUICE_GROUP_DIRTY;
    w->ndirty = 0;
}
