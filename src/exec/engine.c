/*
 * The query engine (transform module "sql").
 *
 * Semantics (docs/sql.md): rows of a micro-batch are judged against the
 * watermark as it stood when the batch began (Spark's rule); a row adds to
 * each of its windows that is still open and is late only when none is
 * (Flink's rule for hopping windows); the watermark of a source is the
 * minimum over its non-idle partitions of (max event time - delay)
 * (Flink's rule); a bounded source that ended has watermark +infinity.
 *
 * State: per query, the open windows sorted by start; per window an
 * open-addressing hash table of groups with fixed-width aggregate slots,
 * and an arena for the group keys' strings, freed with the window.
 *
 * Processing time (PROCTIME(), as in Flink): a row's time is the wall
 * clock when its records are processed (read once per poll), and the
 * windows of such a query are closed by the wall clock read at the end of
 * each micro-batch in place of a watermark; the end of a bounded input
 * closes them all.  So processing-time results depend on when rows arrive
 * and are not reproduced by a replay of the same input.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "exec/aggregate.h"
#include "exec/engine.h"
#include "exec/udf.h"
#include "exec/unnest.h"
#include "state/codec.h"

/* ---------------- aggregate slots ---------------- */

/* One fixed-size slot per aggregate and group; its function
 * (exec/aggregate.h) says what it holds. */
typedef sluice_agg_slot agg_slot;

/* Group entry: header, then ngroup key values, then naggs slots. */
typedef struct entry_hdr {
    uint64_t hash;
    uint32_t dirty;
    uint32_t rank;             /* top-N: rank in the last emitted ranking, 0 = none */
} entry_hdr;

/* A slot of a window's group table: the entry index + 1 in the low 32 bits
 * (0 = empty), the high 32 bits of the group's hash above them, so that a
 * probe compares keys only when the tags match. */
typedef uint64_t gslot;

static gslot gslot_make(uint64_t hash, size_t idx) {
    return (hash & 0xffffffff00000000ULL) | (uint64_t)(uint32_t)(idx + 1);
}
static int gslot_tag_eq(gslot s, uint64_t hash) {
    return (s >> 32) == (hash >> 32);
}
static size_t gslot_idx(gslot s) {
    return (size_t)(uint32_t)s - 1;
}

typedef struct win_state {
    int64_t start, end;
    sluice_arena *arena;
    unsigned char *entries;
    size_t nentries, cap;
    gslot *table;              /* see gslot; 0 = empty */
    size_t tcap;               /* power of two */
    uint32_t *dirty;           /* entries changed since the last emit */
    size_t ndirty, dcap;
    size_t nranked;            /* top-N: rows of the last emitted ranking */
} win_state;

/* SESSION windows: per group key, its open sessions. */
typedef struct ses_hdr {
    int64_t start, last;       /* first and last event time; window_end = last + gap */
} ses_hdr;                     /* followed by naggs agg_slot */

typedef struct skey_hdr {
    uint64_t hash;
    unsigned char *ses;        /* nses sessions of ses_stride bytes (malloc'd) */
    uint32_t nses, cap;
} skey_hdr;                    /* followed by ngroup key values */

typedef struct session_state {
    unsigned char *keys;       /* nkeys entries of key_stride bytes */
    size_t nkeys, kcap;
    uint32_t *table;           /* key index + 1; 0 = empty */
    size_t tcap;               /* power of two */
    size_t key_stride, ses_stride;
    size_t nsessions;
    sluice_arena *arena;       /* strings of the keys and of MIN/MAX slots */
    size_t arena_live;         /* arena bytes in use after the last compaction */
} session_state;

typedef struct query_state {
    const sluice_query_plan *q;
    session_state *ses;        /* SESSION windows, else NULL */
    size_t stride;             /* bytes per entry */
    win_state **windows;       /* sorted by start */
    size_t nwindows, wcap;
    size_t last;               /* index of the window used last */
    sluice_row_batch out;
    sluice_value *keys;        /* ngroup scratch */
    sluice_value *args;        /* naggs scratch */
    sluice_value *post;        /* post-aggregation row scratch */
    int64_t *starts;           /* HOP window starts scratch */
    size_t max_windows;
    uint64_t rows_emitted;
    uint32_t *rank_idx;        /* top-N scratch: entry indices, a heap then in rank order */
    sluice_value *rank_val;    /* top-N scratch: their ORDER BY values */
    size_t rank_cap;
    uint64_t late_rows;
    uint64_t sum_overflows;    /* integer SUMs of a group that overflowed to NULL */
    sluice_unnest_out unnest;  /* CROSS JOIN UNNEST: the expanded rows of the batch (exec/unnest.c) */
    const sluice_record **unnest_recs; /* per expanded row: its input record */
    size_t unnest_recs_cap;
} query_state;

typedef struct partition_state {
    char *topic;               /* NULL for sources without topics */
    int32_t partition;
    int64_t max_ts;            /* SLUICE_TS_MIN until an event time is seen */
    int64_t last_seen_ms;      /* processing time (wall clock ms) of its last record */
} partition_state;

typedef struct source_state {
    const sluice_source_plan *sp;
    sluice_engine_source_options opts;
    sluice_decoder *dec;
    sluice_field_spec *specs;
    size_t *spec_col;
    size_t nspecs;
    sluice_value *decoded;     /* nspecs scratch */
    sluice_value *rows;        /* nrows * ncolumns of the current poll */
    const sluice_record **recs;
    size_t nrows, rows_cap;
    partition_state *parts;
    size_t nparts, pcap;
    int64_t watermark;
    int ended;
    int had_input;             /* records arrived in the current epoch */
    int proctime;              /* some query of the source has PROCTIME() windows */
    size_t *queries;
    size_t nqueries;
    sluice_source *src;        /* borrowed, for dead-letter positions */
    uint64_t input_rows, malformed_rows;
    /* without a dead-letter file: malformed records dropped in this
     * micro-batch, and the first one's position and reason, for the warning */
    uint64_t malformed_unlogged;
    char first_malformed[512];
} source_state;

typedef struct sluice_engine {
    sluice_transform base;
    const sluice_plan *plan;
    source_state *sources;
    query_state *queries;
    sluice_arena *batch_arena; /* decoded strings of the current micro-batch */
    int epoch_open;            /* process() or end_batch() ran since the last reset */
    sluice_dead_letter *dlq;
    sluice_transform_stats stats;
    sluice_engine_clock_fn clock; /* processing time, ms since the epoch */
    void *clock_ctx;
    int64_t proc_now;          /* processing time of the rows being processed */
    int frozen;                /* at the last end_batch: without new input no watermark
                                  can advance and no clock-driven window close, so no
                                  state can be freed (see state_frozen()) */
    int64_t proc_wm;           /* processing time at the end of the last micro-batch:
                                  PROCTIME() windows ending at or before it are final */
    int64_t batch_time;        /* processing time of the current micro-batch (idle
                                  partitions); set_time() or the wall clock */
    int batch_time_set;
} sluice_engine;

static int64_t realtime_clock(void *ctx) {
    (void)ctx;
    return sluice_clock_realtime_ms();
}

/* Read the processing-time clock; never goes backwards. */
static int64_t proc_clock(sluice_engine *en) {
    int64_t now = en->clock(en->clock_ctx);
    if (now > en->proc_now) en->proc_now = now;
    return en->proc_now;
}

static entry_hdr *entry_at(const query_state *qs, const win_state *w, size_t i) {
    return (entry_hdr *)(w->entries + i * qs->stride);
}
static sluice_value *entry_keys(entry_hdr *e) {
    return (sluice_value *)(e + 1);
}
static agg_slot *entry_aggs(const query_state *qs, entry_hdr *e) {
    return (agg_slot *)(entry_keys(e) + qs->q->ngroup);
}

/* ---------------- windows ---------------- */

static void window_free(win_state *w) {
    if (!w) return;
    sluice_arena_destroy(w->arena);
    free(w->entries);
    free(w->table);
    free(w->dirty);
    free(w);
}

static win_state *window_new(int64_t start, int64_t end) {
    /* the planner's sizes and slides are positive, and times are bounded
     * (SANE_TIME), so a window is never empty */
    assert(start < end);
    win_state *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->start = start;
    w->end = end;
    w->arena = sluice_arena_new(16 * 1024);
    w->tcap = 16;
    w->table = calloc(w->tcap, sizeof *w->table);
    if (!w->arena || !w->table) {
        window_free(w);
        return NULL;
    }
    return w;
}

/* The window starting at `start`, created when missing; NULL on OOM. */
static win_state *window_get(query_state *qs, int64_t start) {
    if (qs->nwindows && qs->windows[qs->last]->start == start) return qs->windows[qs->last];
    size_t lo = 0, hi = qs->nwindows;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (qs->windows[mid]->start < start) lo = mid + 1;
        else hi = mid;
    }
    if (lo < qs->nwindows && qs->windows[lo]->start == start) {
        qs->last = lo;
        return qs->windows[lo];
    }
    if (qs->nwindows == qs->wcap) {
        size_t nc = qs->wcap ? qs->wcap * 2 : 16;
        win_state **nw = realloc(qs->windows, nc * sizeof *nw);
        if (!nw) return NULL;
        qs->windows = nw;
        qs->wcap = nc;
    }
    int64_t end = qs->q->window == SLUICE_WINDOW_NONE ? SLUICE_TS_MAX : start + qs->q->size_ms;
    win_state *w = window_new(start, end);
    if (!w) return NULL;
    memmove(qs->windows + lo + 1, qs->windows + lo, (qs->nwindows - lo) * sizeof *qs->windows);
    qs->windows[lo] = w;
    qs->nwindows++;
    qs->last = lo;
    return w;
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

/* Rebuild w's table with tcap slots (a power of two > nentries). */
static int table_rehash(query_state *qs, win_state *w, size_t tcap) {
    gslot *nt = calloc(tcap, sizeof *nt);
    if (!nt) return -1;
    hint_huge(nt, tcap * sizeof *nt);
    for (size_t i = 0; i < w->nentries; i++) {
        uint64_t hash = entry_at(qs, w, i)->hash;
        size_t h = hash & (tcap - 1);
        while (nt[h]) h = (h + 1) & (tcap - 1);
        nt[h] = gslot_make(hash, i);
    }
    free(w->table);
    w->table = nt;
    w->tcap = tcap;
    return 0;
}

static int table_grow(query_state *qs, win_state *w) {
    return table_rehash(qs, w, w->tcap * 2);
}

static int copy_string(sluice_arena *a, sluice_value *v) {
    if (v->type == SLUICE_TYPE_ARRAY) return sluice_value_copy(a, v, v); /* UNNEST: ARRAY outputs, deep */
    if (v->type != SLUICE_TYPE_VARCHAR) return 0;
    char *p = sluice_arena_alloc(a, v->len ? v->len : 1);
    if (!p) return -1;
    if (v->len) memcpy(p, v->u.s, v->len);
    v->u.s = p;
    return 0;
}

/* Find the group with `keys` in w, or add it.  NULL on OOM. */
static entry_hdr *group_get(query_state *qs, win_state *w, const sluice_value *keys, uint64_t hash) {
    size_t ng = qs->q->ngroup;
    size_t mask = w->tcap - 1, h = hash & mask;
    for (gslot s; (s = w->table[h]) != 0; h = (h + 1) & mask) {
        if (!gslot_tag_eq(s, hash)) continue;
        entry_hdr *e = entry_at(qs, w, gslot_idx(s));
        if (e->hash != hash) continue;
        sluice_value *k = entry_keys(e);
        size_t i;
        for (i = 0; i < ng; i++)
            if (!sluice_value_equal(&k[i], &keys[i])) break;
        if (i == ng) return e;
    }
    if (w->nentries >= UINT32_MAX - 1) return NULL;
    if (w->nentries == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 16;
        unsigned char *ne = realloc(w->entries, nc * qs->stride);
        if (!ne) return NULL;
        w->entries = ne;
        w->cap = nc;
    }
    size_t i = w->nentries++;
    entry_hdr *e = entry_at(qs, w, i);
    memset(e, 0, qs->stride);
    e->hash = hash;
    sluice_value *k = entry_keys(e);
    for (size_t j = 0; j < ng; j++) {
        k[j] = keys[j];
        if (copy_string(w->arena, &k[j]) != 0) return NULL;
    }
    agg_slot *s = entry_aggs(qs, e);
    for (size_t j = 0; j < qs->q->naggs; j++) qs->q->aggs[j].fn->init(&qs->q->aggs[j], &s[j]);
    w->table[h] = gslot_make(hash, i);
    if (w->nentries * 2 > w->tcap && table_grow(qs, w) != 0) return NULL;
    /* the open-addressing probe ends only while the table is at most half full */
    assert(w->nentries <= w->cap && w->nentries * 2 <= w->tcap);
    return entry_at(qs, w, i);
}

/* Make room for n more groups in w (restore: sizes are known), so that
 * they are added without growing the entries or the table: one
 * allocation each, the table at most half full. */
static int window_reserve(query_state *qs, win_state *w, size_t n) {
    size_t want = w->nentries + n;
    if (want > w->cap) {
        unsigned char *ne = realloc(w->entries, want * qs->stride);
        if (!ne) return -1;
        hint_huge(ne, want * qs->stride);
        w->entries = ne;
        w->cap = want;
    }
    size_t tcap = w->tcap;
    while (want * 2 > tcap) tcap *= 2;
    return tcap != w->tcap ? table_rehash(qs, w, tcap) : 0;
}

static int mark_dirty(win_state *w, query_state *qs, entry_hdr *e) {
    if (e->dirty) return 0;
    if (w->ndirty == w->dcap) {
        size_t nc = w->dcap ? w->dcap * 2 : 16;
        uint32_t *nd = realloc(w->dirty, nc * sizeof *nd);
        if (!nd) return -1;
        w->dirty = nd;
        w->dcap = nc;
    }
    e->dirty = 1;
    w->dirty[w->ndirty++] = (uint32_t)(((unsigned char *)e - w->entries) / qs->stride);
    /* a group is listed once (its dirty flag) */
    assert(w->ndirty <= w->nentries);
    return 0;
}

/* The result of aggregate ag in slot s. */
static inline sluice_value agg_result(const sluice_agg_plan *ag, const agg_slot *s) {
    return ag->fn->result(ag, s);
}

/* Count a SUM that overflowed to NULL and say so, at the 1st, 10th, 100th,
 * ... time in a query (a warning per group could flood the log). */
static void note_sum_overflow(query_state *qs) {
    uint64_t n = ++qs->sum_overflows;
    uint64_t p = 1;
    while (p < n && p <= UINT64_MAX / 10) p *= 10;
    if (p != n) return;
    sluice_log(SLUICE_LOG_WARN, NULL, "engine", qs->q->name,
               "integer overflow in SUM: its result is NULL for the group (%llu so far); "
               "use SUM(CAST(x AS DOUBLE)) for totals beyond the BIGINT range",
               (unsigned long long)n);
}

/* Fresh aggregate slots for the aggregates of q. */
static void slots_init(const sluice_query_plan *q, agg_slot *s) {
    memset(s, 0, q->naggs * sizeof *s);
    for (size_t j = 0; j < q->naggs; j++) q->aggs[j].fn->init(&q->aggs[j], &s[j]);
}

/* ---------------- emit ---------------- */

/* Fill qs->post for a group: window bounds, keys, aggregate results; rank
 * NULL. */
static void fill_post(query_state *qs, int64_t start, int64_t end, const sluice_value *keys, const agg_slot *s) {
    const sluice_query_plan *q = qs->q;
    sluice_value *post = qs->post;
    post[SLUICE_POST_WINDOW_START] = sluice_value_timestamp(start);
    post[SLUICE_POST_WINDOW_END] = sluice_value_timestamp(end);
    post[SLUICE_POST_RANK] = sluice_value_null();
    memcpy(post + SLUICE_POST_GROUP0, keys, q->ngroup * sizeof(sluice_value));
    for (size_t j = 0; j < q->naggs; j++) post[SLUICE_POST_GROUP0 + q->ngroup + j] = agg_result(&q->aggs[j], &s[j]);
}

/* HAVING over qs->post (true without HAVING). */
static int having_ok(query_state *qs) {
    if (!qs->q->having) return 1;
    sluice_value h = sluice_expr_eval(qs->q->having, qs->post, qs->out.arena);
    return sluice_value_is_true(&h);
}

/* Evaluate the outputs over qs->post into a new output row. */
static int emit_post(query_state *qs) {
    const sluice_query_plan *q = qs->q;
    sluice_arena *arena = qs->out.arena;
    sluice_value *row = sluice_row_batch_append(&qs->out);
    if (!row) return -1;
    for (size_t j = 0; j < q->schema.ncolumns; j++) {
        row[j] = sluice_expr_eval(q->outputs[j], qs->post, arena);
        if (copy_string(arena, &row[j]) != 0) return -1;
    }
    qs->rows_emitted++;
    return 0;
}

static int emit_group(query_state *qs, const win_state *w, entry_hdr *e) {
    fill_post(qs, w->start, w->end, entry_keys(e), entry_aggs(qs, e));
    if (!having_ok(qs)) return 0;
    return emit_post(qs);
}

static int emit_window_all(query_state *qs, win_state *w) {
    for (size_t i = 0; i < w->nentries; i++)
        if (emit_group(qs, w, entry_at(qs, w, i)) != 0) return -1;
    return 0;
}

static int emit_window_dirty(query_state *qs, win_state *w) {
    for (size_t i = 0; i < w->ndirty; i++) {
        entry_hdr *e = entry_at(qs, w, w->dirty[i]);
        e->dirty = 0;
        if (emit_group(qs, w, e) != 0) return -1;
    }
    w->ndirty = 0;
    return 0;
}

static void clear_dirty(query_state *qs, win_state *w) {
    for (size_t i = 0; i < w->ndirty; i++) entry_at(qs, w, w->dirty[i])->dirty = 0;
    w->ndirty = 0;
}

/* ---------------- top-N ---------------- */

/* 1 when group ia (ORDER BY value va) ranks before group ib: by the value,
 * DESC or ASC, NULL lowest (Spark's and Flink's default null ordering),
 * then by the group keys ascending in GROUP BY order (docs/sql.md: ties
 * broken by the group key's order). */
static int topn_before(const query_state *qs, const win_state *w, const sluice_value *va, uint32_t ia,
                       const sluice_value *vb, uint32_t ib) {
    int c = sluice_value_compare(va, vb);
    if (qs->q->order_desc) c = -c;
    if (c) return c < 0;
    const sluice_value *ka = entry_keys(entry_at(qs, w, ia)), *kb = entry_keys(entry_at(qs, w, ib));
    for (size_t g = 0; g < qs->q->ngroup; g++)
        if ((c = sluice_value_compare(&ka[g], &kb[g])) != 0) return c < 0;
    return ia < ib;
}

/* Restore the heap below position i of the first n scratch entries: the
 * root is the group ranked last, so that a better one can replace it. */
static void topn_sift_down(query_state *qs, const win_state *w, size_t i, size_t n) {
    uint32_t *idx = qs->rank_idx;
    sluice_value *val = qs->rank_val;
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && topn_before(qs, w, &val[worst], idx[worst], &val[l], idx[l])) worst = l;
        if (r < n && topn_before(qs, w, &val[worst], idx[worst], &val[r], idx[r])) worst = r;
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

/* Rank the groups of w that pass HAVING: qs->rank_idx[0 .. *n) gets the
 * entry indices of the best `limit` of them in rank order.  O(groups x
 * log limit).  -1 on OOM. */
static int topn_rank(query_state *qs, win_state *w, size_t *n_out) {
    const sluice_query_plan *q = qs->q;
    size_t cap = w->nentries < (uint64_t)q->limit ? w->nentries : (size_t)q->limit;
    if (cap > qs->rank_cap) {
        uint32_t *ni = realloc(qs->rank_idx, cap * sizeof *ni);
        if (!ni) return -1;
        qs->rank_idx = ni;
        sluice_value *nv = realloc(qs->rank_val, cap * sizeof *nv);
        if (!nv) return -1;
        qs->rank_val = nv;
        qs->rank_cap = cap;
    }
    uint32_t *idx = qs->rank_idx;
    sluice_value *val = qs->rank_val;
    size_t n = 0;
    for (size_t i = 0; i < w->nentries; i++) {
        entry_hdr *e = entry_at(qs, w, i);
        agg_slot *s = entry_aggs(qs, e);
        if (q->having) {
            fill_post(qs, w->start, w->end, entry_keys(e), s);
            if (!having_ok(qs)) continue;
        }
        sluice_value v = agg_result(&q->aggs[q->order_agg], &s[q->order_agg]);
        if (n < cap) {
            /* sift up */
            size_t j = n++;
            while (j > 0 && topn_before(qs, w, &val[(j - 1) / 2], idx[(j - 1) / 2], &v, (uint32_t)i)) {
                idx[j] = idx[(j - 1) / 2];
                val[j] = val[(j - 1) / 2];
                j = (j - 1) / 2;
            }
            idx[j] = (uint32_t)i;
            val[j] = v;
        } else if (n && topn_before(qs, w, &v, (uint32_t)i, &val[0], idx[0])) {
            idx[0] = (uint32_t)i;
            val[0] = v;
            topn_sift_down(qs, w, 0, n);
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
        topn_sift_down(qs, w, 0, m - 1);
    }
    /* the heap never holds more than LIMIT groups */
    assert(n <= cap && (uint64_t)n <= (uint64_t)q->limit);
    *n_out = n;
    return 0;
}

/* Emit the n ranked groups of qs->rank_idx with their rank. */
static int topn_emit_ranked(query_state *qs, win_state *w, size_t n) {
    for (size_t r = 0; r < n; r++) {
        entry_hdr *e = entry_at(qs, w, qs->rank_idx[r]);
        fill_post(qs, w->start, w->end, entry_keys(e), entry_aggs(qs, e));
        qs->post[SLUICE_POST_RANK] = sluice_value_bigint((int64_t)r + 1);
        if (emit_post(qs) != 0) return -1;
    }
    return 0;
}

/* APPEND (a finalized window) and COMPLETE: the window's top n. */
static int topn_emit_window(query_state *qs, win_state *w) {
    size_t n;
    if (topn_rank(qs, w, &n) != 0) return -1;
    return topn_emit_ranked(qs, w, n);
}

/* UPDATE: when a group of w changed in this batch, rank again, and re-emit
 * the window's top n if the ranking differs from the one emitted last (a
 * ranked group changed, moved, entered or left).  The rows replace the
 * previous ranking in a sink that upserts by (window_start, window_end,
 * rank), the default PRIMARY KEY when rank is selected. */
static int topn_emit_update(query_state *qs, win_state *w) {
    if (!w->ndirty) return 0;
    size_t n;
    if (topn_rank(qs, w, &n) != 0) return -1;
    int changed = n != w->nranked;
    for (size_t r = 0; r < n; r++) {
        const entry_hdr *e = entry_at(qs, w, qs->rank_idx[r]);
        if (e->dirty || e->rank != r + 1) changed = 1;
    }
    for (size_t i = 0; i < w->nentries; i++) entry_at(qs, w, i)->rank = 0;
    for (size_t r = 0; r < n; r++) entry_at(qs, w, qs->rank_idx[r])->rank = (uint32_t)(r + 1);
    w->nranked = n;
    clear_dirty(qs, w);
    return changed ? topn_emit_ranked(qs, w, n) : 0;
}

/* Drop the windows whose end the watermark has reached (never the single
 * state of a non-windowed aggregate). */
static void finalize_windows(query_state *qs, int64_t wm) {
    if (qs->q->window == SLUICE_WINDOW_NONE) return;
    size_t n = 0;
    while (n < qs->nwindows && qs->windows[n]->end <= wm) window_free(qs->windows[n++]);
    if (!n) return;
    /* windows are sorted by start and share one size, so also by end */
    memmove(qs->windows, qs->windows + n, (qs->nwindows - n) * sizeof *qs->windows);
    qs->nwindows -= n;
    qs->last = 0;
}

/* ---------------- session windows ---------------- */
/*
 * SESSION(ts, INTERVAL gap), after Flink's session windows (a merging
 * window assigner).  Per group key, a session is a maximal run of rows
 * whose consecutive times are less than `gap` apart: window_start = its
 * first time, window_end = its last time + gap.  A row at t is a window
 * [t, t+gap) of its own, merged with each open session of its key that it
 * overlaps — at most two, when it bridges the gap between them — so rows
 * out of order extend a session backwards or merge two (their aggregate
 * slots merge: COUNT, SUM, AVG add, MIN, MAX compare).  Windows are
 * half-open as everywhere in docs/sql.md: a row exactly `gap` after the
 * last one starts a new session (Flink's TimeWindow.intersects would also
 * merge windows that only touch).
 *
 * A session is final once the watermark reaches its window_end (the spec's
 * "plus the session gap"); it is emitted then and its state freed.  Only
 * EMIT APPEND is planned: a session's key (window_start) changes as it
 * grows, so an updated row could not replace the row emitted before.
 *
 * Late rows, as Flink's WindowOperator judges merging windows (the merged
 * window is late when its end is at or before the watermark): a row at t is
 * late when t + gap <= watermark (as the batch began) and no open session of
 * its key lies within gap of t.  A row that joins an open session is never
 * late, since the merged session ends at or after that session's end, which
 * is past the watermark.  A row near a session already final but with
 * t + gap > watermark starts a new session: the final one's state is gone,
 * as in Flink.
 *
 * State: one open-addressing table keyed by group key; each key holds a
 * small array of its open sessions (malloc'd per key, not per row).  Keys
 * without sessions are dropped when sessions are finalized; the strings
 * (keys, MIN/MAX values) live in one arena per query, compacted when it
 * holds more than twice the live bytes, so state stays bounded by the open
 * sessions.
 */

static skey_hdr *skey_at(const session_state *ss, size_t i) {
    return (skey_hdr *)(ss->keys + i * ss->key_stride);
}
static sluice_value *skey_values(skey_hdr *k) {
    return (sluice_value *)(k + 1);
}
static ses_hdr *ses_at(const session_state *ss, const skey_hdr *k, size_t j) {
    return (ses_hdr *)(k->ses + j * ss->ses_stride);
}
static agg_slot *ses_aggs(ses_hdr *h) {
    return (agg_slot *)(h + 1);
}

static void session_state_free(session_state *ss) {
    if (!ss) return;
    for (size_t i = 0; i < ss->nkeys; i++) free(skey_at(ss, i)->ses);
    free(ss->keys);
    free(ss->table);
    sluice_arena_destroy(ss->arena);
    free(ss);
}

static session_state *session_state_new(const sluice_query_plan *q) {
    session_state *ss = calloc(1, sizeof *ss);
    if (!ss) return NULL;
    ss->key_stride = sizeof(skey_hdr) + q->ngroup * sizeof(sluice_value);
    ss->ses_stride = sizeof(ses_hdr) + q->naggs * sizeof(agg_slot);
    ss->tcap = 16;
    ss->table = calloc(ss->tcap, sizeof *ss->table);
    ss->arena = sluice_arena_new(16 * 1024);
    if (!ss->table || !ss->arena) {
        session_state_free(ss);
        return NULL;
    }
    return ss;
}

/* Rebuild the key table with tcap slots (a power of two > 2 x nkeys). */
static int skey_rehash(session_state *ss, size_t tcap) {
    uint32_t *nt = calloc(tcap, sizeof *nt);
    if (!nt) return -1;
    for (size_t i = 0; i < ss->nkeys; i++) {
        size_t h = skey_at(ss, i)->hash & (tcap - 1);
        while (nt[h]) h = (h + 1) & (tcap - 1);
        nt[h] = (uint32_t)(i + 1);
    }
    free(ss->table);
    ss->table = nt;
    ss->tcap = tcap;
    return 0;
}

/* Index of the key `keys` (hash), or -1. */
static long skey_find(const session_state *ss, size_t ngroup, const sluice_value *keys, uint64_t hash) {
    size_t mask = ss->tcap - 1;
    for (size_t h = hash & mask; ss->table[h]; h = (h + 1) & mask) {
        size_t idx = ss->table[h] - 1;
        skey_hdr *k = skey_at(ss, idx);
        if (k->hash != hash) continue;
        const sluice_value *kv = skey_values(k);
        size_t i;
        for (i = 0; i < ngroup; i++)
            if (!sluice_value_equal(&kv[i], &keys[i])) break;
        if (i == ngroup) return (long)idx;
    }
    return -1;
}

/* Add the key `keys` (not present); its index, or -1 on OOM. */
static long skey_add(session_state *ss, size_t ngroup, const sluice_value *keys, uint64_t hash) {
    if (ss->nkeys >= UINT32_MAX - 1) return -1;
    if (ss->nkeys == ss->kcap) {
        size_t nc = ss->kcap ? ss->kcap * 2 : 16;
        unsigned char *nk = realloc(ss->keys, nc * ss->key_stride);
        if (!nk) return -1;
        ss->keys = nk;
        ss->kcap = nc;
    }
    size_t i = ss->nkeys;
    skey_hdr *k = skey_at(ss, i);
    memset(k, 0, ss->key_stride);
    k->hash = hash;
    sluice_value *kv = skey_values(k);
    for (size_t j = 0; j < ngroup; j++) {
        kv[j] = keys[j];
        if (copy_string(ss->arena, &kv[j]) != 0) return -1;
    }
    ss->nkeys++;
    if (ss->nkeys * 2 > ss->tcap) {
        if (skey_rehash(ss, ss->tcap * 2) != 0) return -1;
    } else {
        size_t mask = ss->tcap - 1, h = hash & mask;
        while (ss->table[h]) h = (h + 1) & mask;
        ss->table[h] = (uint32_t)(i + 1);
    }
    return (long)i;
}

/* Copy every live string into a fresh arena and drop the old one, once the
 * arena holds more than twice the bytes live at the last compaction. */
static int session_compact_strings(const sluice_query_plan *q, session_state *ss) {
    if (sluice_arena_used(ss->arena) <= 2 * ss->arena_live + 64 * 1024) return 0;
    sluice_arena *na = sluice_arena_new(16 * 1024);
    if (!na) return -1;
    for (size_t i = 0; i < ss->nkeys; i++) {
        skey_hdr *k = skey_at(ss, i);
        sluice_value *kv = skey_values(k);
        for (size_t g = 0; g < q->ngroup; g++)
            if (copy_string(na, &kv[g]) != 0) goto fail;
        for (size_t j = 0; j < k->nses; j++) {
            agg_slot *a = ses_aggs(ses_at(ss, k, j));
            for (size_t m = 0; m < q->naggs; m++)
                if (q->aggs[m].fn->holds_string && a[m].n &&
                    copy_string(na, &a[m].v) != 0)
                    goto fail;
        }
    }
    sluice_arena_destroy(ss->arena);
    ss->arena = na;
    ss->arena_live = sluice_arena_used(na);
    return 0;
fail:
    /* the old strings are still in place: keep them */
    sluice_arena_destroy(na);
    return -1;
}

/* Emit and free the sessions whose window_end the watermark has reached;
 * drop the keys left without sessions. */
static int session_finalize(query_state *qs, int64_t wm) {
    const sluice_query_plan *q = qs->q;
    session_state *ss = qs->ses;
    size_t kept = 0;
    for (size_t i = 0; i < ss->nkeys; i++) {
        skey_hdr *k = skey_at(ss, i);
        for (size_t j = 0; j < k->nses;) {
            ses_hdr *h = ses_at(ss, k, j);
            int64_t end = h->last + q->gap_ms;
            if (end > wm) {
                j++;
                continue;
            }
            fill_post(qs, h->start, end, skey_values(k), ses_aggs(h));
            if (having_ok(qs) && emit_post(qs) != 0) return -1;
            if (j + 1 < k->nses) memcpy(h, ses_at(ss, k, k->nses - 1), ss->ses_stride);
            k->nses--;
            ss->nsessions--;
        }
        if (!k->nses) {
            free(k->ses);
            continue;
        }
        if (kept != i) memcpy(skey_at(ss, kept), k, ss->key_stride);
        kept++;
    }
    if (kept == ss->nkeys) return 0;
    ss->nkeys = kept;
    size_t tcap = 16;
    while (tcap < 2 * kept + 2) tcap *= 2;
    if (skey_rehash(ss, tcap) != 0) return -1;
    return session_compact_strings(q, ss);
}

static int query_emit(query_state *qs, int64_t wm, int had_input) {
    const sluice_query_plan *q = qs->q;
    if (!q->aggregate) return 0; /* stateless rows were emitted in process() */
    if (qs->ses) return session_finalize(qs, wm); /* EMIT APPEND only (planner) */
    switch (q->emit) {
    case SLUICE_EMIT_APPEND:
        for (size_t i = 0; i < qs->nwindows && qs->windows[i]->end <= wm; i++) {
            clear_dirty(qs, qs->windows[i]);
            if ((q->topn ? topn_emit_window(qs, qs->windows[i]) : emit_window_all(qs, qs->windows[i])) != 0)
                return -1;
        }
        for (size_t i = 0; i < qs->nwindows; i++) clear_dirty(qs, qs->windows[i]);
        finalize_windows(qs, wm);
        break;
    case SLUICE_EMIT_UPDATE:
        for (size_t i = 0; i < qs->nwindows; i++)
            if ((q->topn ? topn_emit_update(qs, qs->windows[i]) : emit_window_dirty(qs, qs->windows[i])) != 0)
                return -1;
        finalize_windows(qs, wm);
        break;
    case SLUICE_EMIT_COMPLETE:
        /* Spark: complete mode keeps the whole result table (state is not
         * dropped by the watermark); late rows are still dropped.  A trigger
         * that brought no records runs no micro-batch, so emits nothing. */
        if (!had_input) break;
        for (size_t i = 0; i < qs->nwindows; i++) {
            clear_dirty(qs, qs->windows[i]);
            if ((q->topn ? topn_emit_window(qs, qs->windows[i]) : emit_window_all(qs, qs->windows[i])) != 0)
                return -1;
        }
        break;
    default: break;
    }
    return 0;
}

/* ---------------- processing ---------------- */

static void dead_letter(sluice_engine *en, source_state *ss, const sluice_record *rec, const char *sink,
                        const char *reason) {
    char pos[512];
    if (ss->src && ss->src->ops->position)
        ss->src->ops->position(ss->src, rec, pos, sizeof pos);
    else
        snprintf(pos, sizeof pos, "partition %d offset %lld", (int)rec->partition, (long long)rec->offset);
    if (!en->dlq) return;
    sluice_dead_letter_write(en->dlq, ss->sp->name, sink, pos, reason, rec->value, rec->value_len);
}

/* Remember where the first malformed record of the micro-batch was and
 * why, for the warning warn_malformed() writes when there is no dead-letter
 * file to keep it. */
static void note_first_malformed(source_state *ss, const sluice_record *rec, const char *reason) {
    char pos[400];
    if (ss->src && ss->src->ops->position)
        ss->src->ops->position(ss->src, rec, pos, sizeof pos);
    else
        snprintf(pos, sizeof pos, "partition %d offset %lld", (int)rec->partition, (long long)rec->offset);
    snprintf(ss->first_malformed, sizeof ss->first_malformed, "%s: %s", pos,
             reason[0] ? reason : "malformed record");
}

/* Malformed records dropped without a dead-letter file are not only
 * counted (the progress line, which --quiet hides): one warning per source
 * and micro-batch says how many, and where and why the first one was. */
static void warn_malformed(sluice_engine *en) {
    for (size_t i = 0; i < en->plan->nsources; i++) {
        source_state *ss = &en->sources[i];
        if (!ss->malformed_unlogged) continue;
        sluice_log(SLUICE_LOG_WARN, NULL, "source", ss->sp->name,
                   "%llu malformed record%s dropped in this micro-batch (set [pipeline] dead_letter to keep them); "
                   "the first at %s",
                   (unsigned long long)ss->malformed_unlogged, ss->malformed_unlogged == 1 ? "" : "s",
                   ss->first_malformed);
        ss->malformed_unlogged = 0;
    }
}

static void begin_epoch(sluice_engine *en) {
    if (en->epoch_open) return;
    sluice_arena_reset(en->batch_arena);
    for (size_t i = 0; i < en->plan->nqueries; i++) sluice_row_batch_clear(&en->queries[i].out);
    for (size_t i = 0; i < en->plan->nsources; i++) en->sources[i].had_input = 0;
    if (!en->batch_time_set) en->batch_time = sluice_clock_realtime_ms();
    en->epoch_open = 1;
}

static int same_topic(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The state of input partition (topic, p), created on first sight. */
static partition_state *partition_get(source_state *ss, const char *topic, int32_t p, int64_t now) {
    for (size_t i = 0; i < ss->nparts; i++)
        if (ss->parts[i].partition == p && same_topic(ss->parts[i].topic, topic)) return &ss->parts[i];
    if (ss->nparts == ss->pcap) {
        size_t nc = ss->pcap ? ss->pcap * 2 : 4;
        partition_state *np = realloc(ss->parts, nc * sizeof *np);
        if (!np) return NULL;
        ss->parts = np;
        ss->pcap = nc;
    }
    char *t = NULL;
    if (topic && !(t = strdup(topic))) return NULL;
    partition_state *ps = &ss->parts[ss->nparts++];
    ps->topic = t;
    ps->partition = p;
    ps->max_ts = SLUICE_TS_MIN;
    ps->last_seen_ms = now;
    return ps;
}

/* Point q's bound-function calls at row r; 1 when a call of that row failed
 * under on_error = dead_letter (the row is set aside, exec/udf.h). */
static int udf_row_failed(sluice_engine *en, query_state *qs, source_state *ss, size_t r) {
    sluice_udf_state *st = qs->q->udf;
    st->row = r;
    if (!st->failed[r]) return 0;
    dead_letter(en, ss, ss->recs[r], qs->q->name, st->reason);
    return 1;
}

static sluice_err_t run_stateless(sluice_engine *en, query_state *qs, source_state *ss) {
    const sluice_query_plan *q = qs->q;
    size_t nc = ss->sp->schema.ncolumns;
    for (size_t r = 0; r < ss->nrows; r++) {
        const sluice_value *row = ss->rows + r * nc;
        if (q->udf && udf_row_failed(en, qs, ss, r)) continue;
        if (q->where) {
            sluice_value c = sluice_expr_eval(q->where, row, en->batch_arena);
            if (!sluice_value_is_true(&c)) continue;
        }
        sluice_value *out = sluice_row_batch_append(&qs->out);
        if (!out) return SLUICE_ERR_NOMEM;
        for (size_t j = 0; j < q->schema.ncolumns; j++) {
            out[j] = sluice_expr_eval(q->outputs[j], row, qs->out.arena);
            if (copy_string(qs->out.arena, &out[j]) != 0) return SLUICE_ERR_NOMEM;
        }
        qs->rows_emitted++;
    }
    return SLUICE_OK;
}

static sluice_err_t run_aggregate(sluice_engine *en, query_state *qs, source_state *ss) {
    const sluice_query_plan *q = qs->q;
    size_t nc = ss->sp->schema.ncolumns;
    int64_t wm = q->proctime ? en->proc_wm : ss->watermark; /* as the batch began */
    int64_t single = 0;
    for (size_t r = 0; r < ss->nrows; r++) {
        const sluice_value *row = ss->rows + r * nc;
        if (q->udf && udf_row_failed(en, qs, ss, r)) continue;
        if (q->where) {
            sluice_value c = sluice_expr_eval(q->where, row, en->batch_arena);
            if (!sluice_value_is_true(&c)) continue;
        }
        size_t nwin = 1;
        const int64_t *starts = &single;
        if (q->window != SLUICE_WINDOW_NONE) {
            int64_t t;
            if (q->proctime) {
                t = en->proc_now;
            } else {
                const sluice_value *ts = &row[q->ts_column];
                if (ts->type == SLUICE_TYPE_NULL) {
                    en->stats.late_rows++;
                    qs->late_rows++;
                    dead_letter(en, ss, ss->recs[r], q->name,
                                "null event time: the row has no value for the window column");
                    continue;
                }
                t = ts->u.i;
            }
            if (q->window == SLUICE_WINDOW_TUMBLE) {
                qs->starts[0] = sluice_window_tumble_start(t, q->size_ms);
                nwin = 1;
            } else {
                nwin = sluice_window_hop_starts(t, q->slide_ms, q->size_ms, qs->starts, qs->max_windows);
            }
            starts = qs->starts;
        }
        uint64_t hash = 0x51ed270b27eb0bULL;
        for (size_t k = 0; k < q->ngroup; k++) {
            qs->keys[k] = sluice_expr_eval(q->group[k], row, en->batch_arena);
            hash = sluice_value_hash(&qs->keys[k], hash);
        }
        for (size_t k = 0; k < q->naggs; k++)
            qs->args[k] = q->aggs[k].arg ? sluice_expr_eval(q->aggs[k].arg, row, en->batch_arena) : sluice_value_null();
        int added = 0;
        for (size_t wi = 0; wi < nwin; wi++) {
            if (q->window != SLUICE_WINDOW_NONE && starts[wi] + q->size_ms <= wm) continue; /* finalized */
            win_state *w = window_get(qs, starts[wi]);
            if (!w) return SLUICE_ERR_NOMEM;
            entry_hdr *e = group_get(qs, w, qs->keys, hash);
            if (!e) return SLUICE_ERR_NOMEM;
            agg_slot *s = entry_aggs(qs, e);
            for (size_t k = 0; k < q->naggs; k++)
                switch (q->aggs[k].fn->add(&q->aggs[k], &s[k], &qs->args[k], w->arena)) {
                case 0: break;
                case 1: note_sum_overflow(qs); break;
                default: return SLUICE_ERR_NOMEM;
                }
            if (mark_dirty(w, qs, e) != 0) return SLUICE_ERR_NOMEM;
            added = 1;
        }
        if (!added) {
            en->stats.late_rows++;
            qs->late_rows++;
            dead_letter(en, ss, ss->recs[r], q->name, "late");
        }
    }
    return SLUICE_OK;
}

/* SESSION windows (see "session windows" above): add each row to the open
 * session of its key it falls in, merging sessions it bridges. */
static sluice_err_t run_session(sluice_engine *en, query_state *qs, source_state *ss) {
    const sluice_query_plan *q = qs->q;
    session_state *st = qs->ses;
    size_t nc = ss->sp->schema.ncolumns;
    int64_t wm = q->proctime ? en->proc_wm : ss->watermark; /* as the batch began */
    int64_t gap = q->gap_ms;
    for (size_t r = 0; r < ss->nrows; r++) {
        const sluice_value *row = ss->rows + r * nc;
        if (q->udf && udf_row_failed(en, qs, ss, r)) continue;
        if (q->where) {
            sluice_value c = sluice_expr_eval(q->where, row, en->batch_arena);
            if (!sluice_value_is_true(&c)) continue;
        }
        int64_t t;
        if (q->proctime) {
            t = en->proc_now;
        } else {
            const sluice_value *ts = &row[q->ts_column];
            if (ts->type == SLUICE_TYPE_NULL) {
                en->stats.late_rows++;
                qs->late_rows++;
                dead_letter(en, ss, ss->recs[r], q->name, "null event time: the row has no value for the window column");
                continue;
            }
            t = ts->u.i;
        }
        uint64_t hash = 0x51ed270b27eb0bULL;
        for (size_t k = 0; k < q->ngroup; k++) {
            qs->keys[k] = sluice_expr_eval(q->group[k], row, en->batch_arena);
            hash = sluice_value_hash(&qs->keys[k], hash);
        }
        long ki = skey_find(st, q->ngroup, qs->keys, hash);
        /* the open sessions [start, last + gap) that [t, t + gap) overlaps */
        size_t hit[2], nhit = 0;
        if (ki >= 0) {
            skey_hdr *k = skey_at(st, (size_t)ki);
            for (size_t j = 0; j < k->nses && nhit < 2; j++) {
                const ses_hdr *h = ses_at(st, k, j);
                if (t < h->last + gap && h->start < t + gap) hit[nhit++] = j;
            }
        }
        if (!nhit && t + gap <= wm) {
            en->stats.late_rows++;
            qs->late_rows++;
            dead_letter(en, ss, ss->recs[r], q->name, "late");
            continue;
        }
        if (ki < 0 && (ki = skey_add(st, q->ngroup, qs->keys, hash)) < 0) return SLUICE_ERR_NOMEM;
        skey_hdr *k = skey_at(st, (size_t)ki);
        ses_hdr *h;
        if (!nhit) {
            if (k->nses == k->cap) {
                uint32_t ncap = k->cap ? k->cap * 2 : 2;
                unsigned char *n = realloc(k->ses, ncap * st->ses_stride);
                if (!n) return SLUICE_ERR_NOMEM;
                k->ses = n;
                k->cap = ncap;
            }
            h = ses_at(st, k, k->nses++);
            h->start = h->last = t;
            slots_init(q, ses_aggs(h));
            st->nsessions++;
        } else {
            h = ses_at(st, k, hit[0]);
            assert(h->start <= h->last);
            if (t < h->start) h->start = t;
            if (t > h->last) h->last = t;
            if (nhit == 2) {
                /* the row bridges two sessions: merge the second into the first */
                ses_hdr *o = ses_at(st, k, hit[1]);
                if (o->start < h->start) h->start = o->start;
                if (o->last > h->last) h->last = o->last;
                for (size_t m = 0; m < q->naggs; m++)
                    if (q->aggs[m].fn->merge(&q->aggs[m], &ses_aggs(h)[m], &ses_aggs(o)[m])) note_sum_overflow(qs);
                if (hit[1] + 1 < k->nses) memcpy(o, ses_at(st, k, k->nses - 1), st->ses_stride);
                k->nses--;
                st->nsessions--;
            }
        }
        agg_slot *s = ses_aggs(h);
        for (size_t m = 0; m < q->naggs; m++) {
            sluice_value a = q->aggs[m].arg ? sluice_expr_eval(q->aggs[m].arg, row, en->batch_arena) : sluice_value_null();
            switch (q->aggs[m].fn->add(&q->aggs[m], &s[m], &a, st->arena)) {
            case 0: break;
            case 1: note_sum_overflow(qs); break;
            default: return SLUICE_ERR_NOMEM;
            }
        }
    }
    return SLUICE_OK;
}

/* UNNEST hook (exec/unnest.c): expand ss's rows for qs's CROSS JOIN UNNEST
 * and make *view a copy of ss whose rows, records and row shape (the
 * extended source plan) are the expanded ones; run_*() read only those
 * from it.  In an operator DAG this is an operator of its own between the
 * decoder and the query's filter. */
static sluice_err_t unnest_view(sluice_engine *en, query_state *qs, const source_state *ss, source_state *view) {
    sluice_err_t err = sluice_unnest_expand(qs->q, ss->rows, ss->nrows, ss->sp->schema.ncolumns, en->batch_arena,
                                            &qs->unnest);
    if (err) return err;
    if (qs->unnest.nrows > qs->unnest_recs_cap) {
        const sluice_record **r = realloc(qs->unnest_recs, qs->unnest.cap * sizeof *r);
        if (!r) return SLUICE_ERR_NOMEM;
        qs->unnest_recs = r;
        qs->unnest_recs_cap = qs->unnest.cap;
    }
    for (size_t i = 0; i < qs->unnest.nrows; i++) qs->unnest_recs[i] = ss->recs[qs->unnest.origin[i]];
    *view = *ss;
    view->sp = &qs->q->unnest->extended;
    view->rows = qs->unnest.rows;
    view->nrows = qs->unnest.nrows;
    view->recs = qs->unnest_recs;
    return SLUICE_OK;
}

static sluice_err_t engine_process(sluice_transform *t, size_t source, sluice_source *src,
                                   const sluice_record_batch *in, char *errstr, size_t errstr_size) {
    sluice_engine *en = (sluice_engine *)t;
    if (source >= en->plan->nsources)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "transform: no source %zu", source);
    begin_epoch(en);
    source_state *ss = &en->sources[source];
    const sluice_source_plan *sp = ss->sp;
    size_t nc = sp->schema.ncolumns;
    ss->src = src;
    if (in->count > ss->rows_cap) {
        size_t cap = in->count;
        sluice_value *nr = realloc(ss->rows, cap * nc * sizeof *nr);
        if (!nr) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "transform: out of memory");
        ss->rows = nr;
        const sluice_record **nrec = realloc(ss->recs, cap * sizeof *nrec);
        if (!nrec) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "transform: out of memory");
        ss->recs = nrec;
        ss->rows_cap = cap;
    }
    ss->nrows = 0;
    int64_t now = en->batch_time;
    partition_state *ps = NULL;
    for (size_t a = 0; a < in->nassigned; a++)
        if (!partition_get(ss, in->assigned[a].topic, in->assigned[a].partition, now))
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "transform: out of memory");
    char reason[512];
    for (size_t r = 0; r < in->count; r++) {
        const sluice_record *rec = &in->records[r];
        en->stats.input_rows++;
        ss->input_rows++;
        if (!ps || ps->partition != rec->partition || !same_topic(ps->topic, rec->topic)) {
            if (!(ps = partition_get(ss, rec->topic, rec->partition, now)))
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "transform: out of memory");
        }
        ps->last_seen_ms = now;
        sluice_value *row = ss->rows + ss->nrows * nc;
        if (ss->nspecs) {
            reason[0] = '\0';
            if (sluice_decoder_decode(ss->dec, rec->value, rec->value_len, ss->decoded, en->batch_arena, reason,
                                      sizeof reason) != SLUICE_OK) {
                en->stats.malformed_rows++;
                ss->malformed_rows++;
                dead_letter(en, ss, rec, NULL, reason[0] ? reason : "malformed record");
                if (!sluice_dead_letter_keeps(en->dlq) && !ss->malformed_unlogged++) note_first_malformed(ss, rec, reason);
                continue;
            }
        }
        for (size_t c = 0; c < nc; c++) row[c] = sluice_value_null();
        for (size_t k = 0; k < ss->nspecs; k++) row[ss->spec_col[k]] = ss->decoded[k];
        for (size_t c = 0; c < nc; c++) {
            switch (sp->metadata[c]) {
            case SLUICE_META_NONE: break;
            case SLUICE_META_TIMESTAMP: row[c] = sluice_value_timestamp(rec->timestamp_ms); break;
            case SLUICE_META_KEY:
                if (rec->key) row[c] = sluice_value_varchar(rec->key, rec->key_len);
                break;
            case SLUICE_META_TOPIC:
                if (rec->topic) row[c] = sluice_value_varchar(rec->topic, strlen(rec->topic));
                break;
            case SLUICE_META_PARTITION: row[c] = sluice_value_bigint(rec->partition); break;
            case SLUICE_META_OFFSET: row[c] = sluice_value_bigint(rec->offset); break;
            }
        }
        if (sp->has_watermark) {
            const sluice_value *ts = &row[sp->watermark_column];
            if (ts->type == SLUICE_TYPE_TIMESTAMP && ts->u.i > ps->max_ts) ps->max_ts = ts->u.i;
        }
        ss->recs[ss->nrows++] = rec;
    }
    if (in->end_of_input) ss->ended = 1;
    if (in->count) ss->had_input = 1;
    if (ss->proctime && ss->nrows) proc_clock(en);
    for (size_t k = 0; k < ss->nqueries; k++) {
        query_state *qs = &en->queries[ss->queries[k]];
        source_state view, *in = ss; /* UNNEST: the query reads the expanded rows (unnest_view) */
        if (qs->q->unnest) {
            sluice_err_t uerr = unnest_view(en, qs, ss, &view);
            if (uerr) return sluice_seterr(errstr, errstr_size, uerr, "sink %s: %s", qs->q->name, sluice_err2str(uerr));
            in = &view;
        }
        if (qs->q->udf) {
            char sub[400];
            sluice_err_t uerr = sluice_udf_prefetch(en->plan, qs->q, in->rows, in->nrows, in->sp->schema.ncolumns,
                                                    en->batch_arena, sub, sizeof sub);
            if (uerr == SLUICE_ERR_NOMEM) return sluice_seterr(errstr, errstr_size, uerr, "transform: out of memory");
            if (uerr) return sluice_seterr(errstr, errstr_size, uerr, "sink %s: %s", qs->q->name, sub);
        }
        sluice_err_t err = qs->ses ? run_session(en, qs, in)
                           : qs->q->aggregate ? run_aggregate(en, qs, in)
                                              : run_stateless(en, qs, in);
        if (err) return sluice_seterr(errstr, errstr_size, err, "sink %s: %s", qs->q->name, sluice_err2str(err));
    }
    return SLUICE_OK;
}

static void advance_watermark(source_state *ss, int64_t now) {
    if (ss->ended) {
        ss->watermark = SLUICE_TS_MAX;
        return;
    }
    if (!ss->sp->has_watermark) return;
    int64_t wm = SLUICE_TS_MAX;
    int any = 0;
    for (size_t i = 0; i < ss->nparts; i++) {
        const partition_state *p = &ss->parts[i];
        if (ss->opts.idle_timeout_ms > 0 && now - p->last_seen_ms >= ss->opts.idle_timeout_ms) continue;
        /* a partition without an event time yet holds the watermark back
         * until it is idle (Flink: a split's watermark starts at -inf) */
        int64_t pw = p->max_ts == SLUICE_TS_MIN ? SLUICE_TS_MIN : p->max_ts - ss->sp->watermark_delay_ms;
        if (pw < wm) wm = pw;
        any = 1;
    }
    int64_t before = ss->watermark;
    if (any && wm > ss->watermark) ss->watermark = wm;
    /* a watermark never goes back (each partition's max_ts only grows) */
    assert(ss->watermark >= before);
    (void)before;
}

/* 1 when, with no more input, no state can ever be freed: no query runs
 * over PROCTIME() (the clock closes those windows), and each source that
 * has not ended either has no partition that can still become idle (every
 * one is idle already, or idleness is off), so its watermark, the minimum
 * over the partitions that are not idle, cannot move. */
static int state_frozen(const sluice_engine *en, int64_t now) {
    for (size_t k = 0; k < en->plan->nqueries; k++)
        if (en->plan->queries[k].proctime) return 0;
    for (size_t i = 0; i < en->plan->nsources; i++) {
        const source_state *ss = &en->sources[i];
        if (ss->ended || !ss->sp->has_watermark || ss->opts.idle_timeout_ms <= 0) continue;
        for (size_t j = 0; j < ss->nparts; j++)
            if (now - ss->parts[j].last_seen_ms < ss->opts.idle_timeout_ms) return 0;
    }
    return 1;
}

static sluice_err_t engine_end_batch(sluice_transform *t, int64_t epoch, const sluice_row_batch **out,
                                     size_t nsinks, char *errstr, size_t errstr_size) {
    (void)epoch;
    sluice_engine *en = (sluice_engine *)t;
    if (nsinks != en->plan->nqueries)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "transform: %zu sinks, plan has %zu", nsinks,
                             en->plan->nqueries);
    begin_epoch(en);
    warn_malformed(en);
    int64_t now = en->batch_time;
    for (size_t i = 0; i < en->plan->nsources; i++) advance_watermark(&en->sources[i], now);
    en->frozen = state_frozen(en, now);
    for (size_t i = 0; i < en->plan->nsources; i++)
        if (en->sources[i].proctime) {
            en->proc_wm = proc_clock(en);
            break;
        }
    for (size_t k = 0; k < en->plan->nqueries; k++) {
        query_state *qs = &en->queries[k];
        const source_state *ss = &en->sources[qs->q->source];
        int64_t wm = qs->q->proctime ? (ss->ended ? SLUICE_TS_MAX : en->proc_wm) : ss->watermark;
        if (query_emit(qs, wm, ss->had_input) != 0)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s: out of memory", qs->q->name);
        out[k] = &qs->out;
    }
    en->epoch_open = 0;
    en->batch_time_set = 0;
    return SLUICE_OK;
}

static void engine_resume(sluice_transform *t, int64_t now_ms) {
    sluice_engine *en = (sluice_engine *)t;
    for (size_t i = 0; i < en->plan->nsources; i++)
        for (size_t p = 0; p < en->sources[i].nparts; p++)
            if (en->sources[i].parts[p].last_seen_ms < now_ms) en->sources[i].parts[p].last_seen_ms = now_ms;
}

static void engine_set_time(sluice_transform *t, int64_t now_ms) {
    sluice_engine *en = (sluice_engine *)t;
    en->batch_time = now_ms;
    en->batch_time_set = 1;
}

/* ---------------- snapshots (checkpointing) ----------------
 *
 * Taken between micro-batches, when no emit is pending (dirty lists are
 * empty).  Layout (state/codec.h encoding), version 2:
 *   u32 version
 *   per source: i64 watermark, u8 ended, u32 npartitions,
 *               per partition: str topic, u32 partition, i64 max_ts, i64 last_seen_ms
 *   per query:  i64 late_rows, u8 kind (0 windows, 1 sessions)
 *     windows:  u32 nwindows (ascending starts); per window: i64 start,
 *               u32 nranked, u32 ngroups, i64 string_bytes;
 *               per group: u32 rank, ngroup values, naggs slots
 *     sessions: u32 nkeys, i64 string_bytes; per key: ngroup values,
 *               u32 nsessions; per session: i64 start, i64 last, naggs slots
 *   i64 proc_wm, i64 proc_now
 * A slot is what its aggregate function's encode writes (exec/aggregate.c):
 * for COUNT, SUM, AVG, MIN and MAX u8 type, then the value's bytes for
 * VARCHAR, else the 8 raw bytes of its payload (accumulators keep their
 * payload under the NULL tag), then i64 n; for the variances u8 0, f64
 * mean, f64 m2, i64 n.  string_bytes is what the strings of the window (the key
 * table) take in memory once restored, so that restore allocates them at
 * once (bounded by the payload's size); restore checks it against the
 * strings it decoded.
 *
 * Version 1 is version 2 without the two string_bytes fields; it is still
 * read.  Restore checks what it decodes against the plan (value types,
 * ranks, window starts, duplicate groups, session overlaps) and refuses
 * anything else as SLUICE_ERR_MALFORMED.
 */

#define SNAPSHOT_VERSION 2
#define SNAPSHOT_VERSION_MIN 1

/* Times restored from a snapshot are sentinels or within +-2^62 ms, so
 * that the engine's arithmetic on them cannot overflow. */
#define SANE_TIME(t) ((t) >= -((int64_t)1 << 62) && (t) <= ((int64_t)1 << 62))

static void enc_slot(sluice_enc *e, const sluice_agg_plan *ag, const agg_slot *s) {
    ag->fn->encode(ag, e, s);
}

/* Decode a slot of aggregate ag into s (VARCHAR bytes into arena) and check
 * it against the plan. */
static int dec_slot(sluice_dec *d, const sluice_agg_plan *ag, agg_slot *s, sluice_arena *arena) {
    return ag->fn->decode(ag, d, s, arena);
}

/* Decode a group key of planned type `type` (NULL or that type). */
static sluice_value dec_key(sluice_dec *d, sluice_type_t type, sluice_arena *arena) {
    sluice_value v = sluice_dec_value(d, arena);
    if (!d->bad && v.type != SLUICE_TYPE_NULL && v.type != type) d->bad = 1;
    return v;
}

static uint64_t keys_hash(const sluice_value *keys, size_t n) {
    uint64_t hash = 0x51ed270b27eb0bULL;
    for (size_t k = 0; k < n; k++) hash = sluice_value_hash(&keys[k], hash);
    return hash;
}

/* Arena bytes of a copied string of len bytes (sluice_arena_alloc rounds
 * to 16, at least 16). */
static int64_t string_bytes(const sluice_value *v) {
    if (v->type != SLUICE_TYPE_VARCHAR) return 0;
    return (int64_t)(((v->len ? v->len : 1) + 15u) & ~(size_t)15u);
}

/* The bytes the string of slot s takes (MIN/MAX of VARCHAR; other slots
 * hold no string, whatever their bits look like). */
static int64_t slot_string_bytes(const sluice_agg_plan *ag, const agg_slot *s) {
    return ag->fn->holds_string ? string_bytes(&s->v) : 0;
}

static sluice_err_t engine_snapshot(sluice_transform *t, void **buf, size_t *len, char *errstr, size_t errstr_size) {
    sluice_engine *en = (sluice_engine *)t;
    sluice_enc e = {0};
    sluice_enc_u32(&e, SNAPSHOT_VERSION);
    for (size_t i = 0; i < en->plan->nsources; i++) {
        const source_state *ss = &en->sources[i];
        sluice_enc_i64(&e, ss->watermark);
        sluice_enc_u8(&e, (uint8_t)ss->ended);
        sluice_enc_u32(&e, (uint32_t)ss->nparts);
        for (size_t p = 0; p < ss->nparts; p++) {
            sluice_enc_str(&e, ss->parts[p].topic);
            sluice_enc_u32(&e, (uint32_t)ss->parts[p].partition);
            sluice_enc_i64(&e, ss->parts[p].max_ts);
            sluice_enc_i64(&e, ss->parts[p].last_seen_ms);
        }
    }
    for (size_t k = 0; k < en->plan->nqueries; k++) {
        const query_state *qs = &en->queries[k];
        const sluice_query_plan *q = qs->q;
        sluice_enc_i64(&e, (int64_t)qs->late_rows);
        sluice_enc_u8(&e, qs->ses ? 1 : 0);
        if (qs->ses) {
            const session_state *st = qs->ses;
            int64_t sbytes = 0;
            for (size_t i = 0; i < st->nkeys; i++) {
                skey_hdr *kh = skey_at(st, i);
                const sluice_value *kv = skey_values(kh);
                for (size_t g = 0; g < q->ngroup; g++) sbytes += string_bytes(&kv[g]);
                for (size_t j = 0; j < kh->nses; j++) {
                    const agg_slot *a = ses_aggs(ses_at(st, kh, j));
                    for (size_t m = 0; m < q->naggs; m++) sbytes += slot_string_bytes(&q->aggs[m], &a[m]);
                }
            }
            sluice_enc_u32(&e, (uint32_t)st->nkeys);
            sluice_enc_i64(&e, sbytes);
            for (size_t i = 0; i < st->nkeys; i++) {
                skey_hdr *kh = skey_at(st, i);
                const sluice_value *kv = skey_values(kh);
                for (size_t g = 0; g < q->ngroup; g++) sluice_enc_value(&e, &kv[g]);
                sluice_enc_u32(&e, kh->nses);
                for (size_t j = 0; j < kh->nses; j++) {
                    ses_hdr *h = ses_at(st, kh, j);
                    sluice_enc_i64(&e, h->start);
                    sluice_enc_i64(&e, h->last);
                    const agg_slot *a = ses_aggs(h);
                    for (size_t m = 0; m < q->naggs; m++) enc_slot(&e, &q->aggs[m], &a[m]);
                }
            }
        } else {
            sluice_enc_u32(&e, (uint32_t)qs->nwindows);
            for (size_t w = 0; w < qs->nwindows; w++) {
                const win_state *ws = qs->windows[w];
                int64_t sbytes = 0;
                for (size_t i = 0; i < ws->nentries; i++) {
                    entry_hdr *eh = entry_at(qs, ws, i);
                    const sluice_value *kv = entry_keys(eh);
                    for (size_t g = 0; g < q->ngroup; g++) sbytes += string_bytes(&kv[g]);
                    const agg_slot *a = entry_aggs(qs, eh);
                    for (size_t m = 0; m < q->naggs; m++) sbytes += slot_string_bytes(&q->aggs[m], &a[m]);
                }
                sluice_enc_i64(&e, ws->start);
                sluice_enc_u32(&e, (uint32_t)ws->nranked);
                sluice_enc_u32(&e, (uint32_t)ws->nentries);
                sluice_enc_i64(&e, sbytes);
                for (size_t i = 0; i < ws->nentries; i++) {
                    entry_hdr *eh = entry_at(qs, ws, i);
                    sluice_enc_u32(&e, eh->rank);
                    const sluice_value *kv = entry_keys(eh);
                    for (size_t g = 0; g < q->ngroup; g++) sluice_enc_value(&e, &kv[g]);
                    const agg_slot *a = entry_aggs(qs, eh);
                    for (size_t m = 0; m < q->naggs; m++) enc_slot(&e, &q->aggs[m], &a[m]);
                }
            }
        }
    }
    sluice_enc_i64(&e, en->proc_wm);
    sluice_enc_i64(&e, en->proc_now);
    if (e.oom) {
        free(e.data);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "transform: out of memory for a snapshot");
    }
    *buf = e.data;
    *len = e.len;
    return SLUICE_OK;
}

static void clear_query_state(query_state *qs) {
    for (size_t w = 0; w < qs->nwindows; w++) window_free(qs->windows[w]);
    qs->nwindows = 0;
    qs->last = 0;
    if (qs->ses) {
        session_state *fresh = session_state_new(qs->q);
        if (fresh) {
            session_state_free(qs->ses);
            qs->ses = fresh;
        }
    }
}

/* The arena block size for strings of `hint` bytes (a snapshot's
 * string_bytes) with `left` payload bytes to decode: every string takes at
 * least 5 payload bytes and at most 4 times that in the arena. */
static size_t arena_block_for(int64_t hint, size_t left) {
    size_t cap = left / 4 < SIZE_MAX / 16 ? left * 4 : SIZE_MAX / 4;
    size_t b = hint > 0 ? (uint64_t)hint > cap ? cap : (size_t)hint : 0;
    return b < 16 * 1024 ? 16 * 1024 : b;
}

/* Insert entry i of ws (decoded, its hash set) into the table, sized by
 * window_reserve(); -1 when a group with the same keys is there already. */
static int restore_insert(query_state *qs, win_state *ws, size_t i) {
    entry_hdr *e = entry_at(qs, ws, i);
    uint64_t hash = e->hash;
    size_t mask = ws->tcap - 1, h = hash & mask;
    for (gslot s; (s = ws->table[h]) != 0; h = (h + 1) & mask) {
        if (!gslot_tag_eq(s, hash)) continue;
        entry_hdr *o = entry_at(qs, ws, gslot_idx(s));
        if (o->hash != hash) continue;
        size_t g;
        for (g = 0; g < qs->q->ngroup; g++)
            if (!sluice_value_equal(&entry_keys(o)[g], &entry_keys(e)[g])) break;
        if (g == qs->q->ngroup) return -1;
    }
    ws->table[h] = gslot_make(hash, i);
    return 0;
}

/* How many decoded groups restore keeps ahead of their table inserts: the
 * bucket of each is prefetched when it is decoded, and written this many
 * groups later, so that the cache misses of the random inserts overlap. */
#define RESTORE_AHEAD 16

/* Restore the ne groups of window ws straight into its entries (strings
 * into its arena).  0, or -1 with d->bad set for a malformed snapshot, or -1
 * with d->bad clear when out of memory. */
static int restore_window(query_state *qs, win_state *ws, sluice_dec *d, uint32_t ne, uint32_t nranked,
                          int64_t sbytes) {
    const sluice_query_plan *q = qs->q;
    if (window_reserve(qs, ws, ne) != 0) return -1;
    size_t block = arena_block_for(sbytes, d->len - d->pos);
    if (block > 16 * 1024) {
        /* one block for every string of the window (it is empty yet) */
        sluice_arena *a = sluice_arena_new(block);
        if (!a) return -1;
        sluice_arena_destroy(ws->arena);
        ws->arena = a;
    }
    ws->nranked = nranked;
    int64_t have = 0;
    size_t base = ws->nentries, mask = ws->tcap - 1;
    for (uint32_t i = 0; i < ne; i++) {
        entry_hdr *e = entry_at(qs, ws, base + i);
        e->dirty = 0;
        e->rank = sluice_dec_u32(d);
        if (e->rank > nranked) d->bad = 1;
        sluice_value *k = entry_keys(e);
        for (size_t g = 0; g < q->ngroup; g++) k[g] = dec_key(d, q->group[g]->type, ws->arena);
        agg_slot *a = entry_aggs(qs, e);
        for (size_t m = 0; m < q->naggs; m++) dec_slot(d, &q->aggs[m], &a[m], ws->arena);
        if (d->bad) return -1;
        for (size_t g = 0; g < q->ngroup; g++) have += string_bytes(&k[g]);
        for (size_t m = 0; m < q->naggs; m++) have += slot_string_bytes(&q->aggs[m], &a[m]);
        e->hash = keys_hash(k, q->ngroup);
        __builtin_prefetch(&ws->table[e->hash & mask], 1, 1);
        ws->nentries++;
        if (i >= RESTORE_AHEAD && restore_insert(qs, ws, base + i - RESTORE_AHEAD) != 0) goto dup;
    }
    for (uint32_t i = ne > RESTORE_AHEAD ? ne - RESTORE_AHEAD : 0; i < ne; i++)
        if (restore_insert(qs, ws, base + i) != 0) goto dup;
    if (sbytes >= 0 && have != sbytes) goto dup; /* not what the snapshot said */
    return 0;
dup:
    d->bad = 1;
    return -1;
}

static int cmp_session(const void *a, const void *b) {
    const ses_hdr *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

/* Restore the nk keys of a SESSION query with their sessions.  Same
 * returns as restore_window(). */
static int restore_sessions(query_state *qs, sluice_dec *d, uint32_t nk, int64_t sbytes) {
    const sluice_query_plan *q = qs->q;
    session_state *st = qs->ses;
    size_t block = arena_block_for(sbytes, d->len - d->pos);
    if (block > 16 * 1024) {
        sluice_arena *a = sluice_arena_new(block);
        if (!a) return -1;
        sluice_arena_destroy(st->arena);
        st->arena = a;
    }
    if (nk > d->len - d->pos) { /* every key takes at least one byte */
        d->bad = 1;
        return -1;
    }
    if (nk) {
        unsigned char *keys = realloc(st->keys, (size_t)nk * st->key_stride);
        if (!keys) return -1;
        st->keys = keys;
        st->kcap = nk;
        size_t tcap = 16;
        while (tcap < 2 * (size_t)nk + 2) tcap *= 2;
        if (skey_rehash(st, tcap) != 0) return -1;
    }
    sluice_value *keys = qs->keys;
    ses_hdr *sorted = NULL;
    size_t sorted_cap = 0;
    int rc = 0;
    int64_t have = 0;
    for (uint32_t i = 0; i < nk && !d->bad; i++) {
        for (size_t g = 0; g < q->ngroup; g++) keys[g] = dec_key(d, q->group[g]->type, st->arena);
        uint32_t ns = sluice_dec_u32(d);
        /* every session takes at least 16 bytes; a key without one is not kept */
        if (d->bad || ns == 0 || ns > (d->len - d->pos) / 16) {
            d->bad = 1;
            break;
        }
        for (size_t g = 0; g < q->ngroup; g++) have += string_bytes(&keys[g]);
        uint64_t hash = keys_hash(keys, q->ngroup);
        if (skey_find(st, q->ngroup, keys, hash) >= 0) {
            d->bad = 1;
            break;
        }
        long idx = skey_add(st, q->ngroup, keys, hash);
        if (idx < 0) {
            rc = -1;
            break;
        }
        skey_hdr *kh = skey_at(st, (size_t)idx);
        if (!(kh->ses = malloc((size_t)ns * st->ses_stride))) {
            rc = -1;
            break;
        }
        kh->cap = ns;
        for (uint32_t j = 0; j < ns && !d->bad; j++) {
            ses_hdr *h = ses_at(st, kh, j);
            h->start = sluice_dec_i64(d);
            h->last = sluice_dec_i64(d);
            if (!SANE_TIME(h->start) || !SANE_TIME(h->last) || h->start > h->last) d->bad = 1;
            agg_slot *a = ses_aggs(h);
            for (size_t m = 0; m < q->naggs && !d->bad; m++) {
                dec_slot(d, &q->aggs[m], &a[m], st->arena);
                have += slot_string_bytes(&q->aggs[m], &a[m]);
            }
            if (d->bad) break;
            kh->nses++;
            st->nsessions++;
        }
        if (d->bad || ns < 2) continue;
        /* the sessions of a key never overlap: [start, last + gap) */
        if (ns > sorted_cap) {
            ses_hdr *n = realloc(sorted, ns * sizeof *n);
            if (!n) {
                rc = -1;
                break;
            }
            sorted = n;
            sorted_cap = ns;
        }
        for (uint32_t j = 0; j < ns; j++) sorted[j] = *ses_at(st, kh, j);
        qsort(sorted, ns, sizeof *sorted, cmp_session);
        for (uint32_t j = 1; j < ns; j++)
            if (sorted[j].start < sorted[j - 1].last + q->gap_ms) d->bad = 1;
    }
    free(sorted);
    st->arena_live = sluice_arena_used(st->arena);
    if (!rc && sbytes >= 0 && have != sbytes) d->bad = 1; /* not what the snapshot said */
    return d->bad ? -1 : rc;
}

static sluice_err_t engine_restore(sluice_transform *t, const void *buf, size_t len, char *errstr,
                                   size_t errstr_size) {
    sluice_engine *en = (sluice_engine *)t;
    sluice_dec d;
    sluice_dec_init(&d, buf, len);
    sluice_arena *tmp = sluice_arena_new(0);
    if (!tmp) return SLUICE_ERR_NOMEM;
    int oom = 0;
    uint32_t version = sluice_dec_u32(&d);
    if (version < SNAPSHOT_VERSION_MIN || version > SNAPSHOT_VERSION) d.bad = 1;
    for (size_t i = 0; i < en->plan->nsources && !d.bad; i++) {
        source_state *ss = &en->sources[i];
        for (size_t p = 0; p < ss->nparts; p++) free(ss->parts[p].topic);
        ss->nparts = 0;
        ss->watermark = sluice_dec_i64(&d);
        uint8_t ended = sluice_dec_u8(&d);
        ss->ended = ended != 0;
        if (ended > 1 || (!SANE_TIME(ss->watermark) && ss->watermark != SLUICE_TS_MIN &&
                          ss->watermark != SLUICE_TS_MAX))
            d.bad = 1;
        uint32_t np = sluice_dec_u32(&d);
        for (uint32_t p = 0; p < np && !d.bad; p++) {
            size_t at = d.pos;
            const char *topic = sluice_dec_str(&d, tmp);
            /* a topic name is a C string: its encoded bytes hold no NUL */
            int nul_inside = topic && d.pos - at - 4 != strlen(topic);
            int32_t part = (int32_t)sluice_dec_u32(&d);
            int64_t max_ts = sluice_dec_i64(&d);
            int64_t seen = sluice_dec_i64(&d);
            if (d.bad || nul_inside || (!SANE_TIME(max_ts) && max_ts != SLUICE_TS_MIN) || !SANE_TIME(seen)) {
                d.bad = 1;
                break;
            }
            size_t before = ss->nparts;
            partition_state *ps = partition_get(ss, topic, part, seen);
            if (!ps) {
                oom = 1;
                goto out;
            }
            if (ss->nparts == before) d.bad = 1; /* listed twice */
            ps->max_ts = max_ts;
            ps->last_seen_ms = seen;
        }
    }
    for (size_t k = 0; k < en->plan->nqueries && !d.bad; k++) {
        query_state *qs = &en->queries[k];
        const sluice_query_plan *q = qs->q;
        clear_query_state(qs);
        qs->late_rows = (uint64_t)sluice_dec_i64(&d);
        uint8_t kind = sluice_dec_u8(&d);
        if (kind != (qs->ses ? 1 : 0)) d.bad = 1;
        if (d.bad) break;
        if (qs->ses) {
            uint32_t nk = sluice_dec_u32(&d);
            int64_t sbytes = version >= 2 ? sluice_dec_i64(&d) : -1;
            if (version >= 2 && sbytes < 0) d.bad = 1;
            if (!d.bad && restore_sessions(qs, &d, nk, sbytes) != 0 && !d.bad) {
                oom = 1;
                goto out;
            }
            continue;
        }
        uint32_t nw = sluice_dec_u32(&d);
        /* a query without windows has one state at start 0; stateless ones none */
        if (!q->aggregate ? nw != 0 : q->window == SLUICE_WINDOW_NONE ? nw > 1 : 0) d.bad = 1;
        for (uint32_t w = 0; w < nw && !d.bad; w++) {
            int64_t start = sluice_dec_i64(&d);
            uint32_t nranked = sluice_dec_u32(&d);
            uint32_t ne = sluice_dec_u32(&d);
            int64_t sbytes = version >= 2 ? sluice_dec_i64(&d) : -1;
            if (version >= 2 && sbytes < 0) d.bad = 1;
            if (d.bad) break;
            /* ascending starts; every group takes at least 4 bytes */
            if ((q->window == SLUICE_WINDOW_NONE ? start != 0 : !SANE_TIME(start)) ||
                (qs->nwindows && qs->windows[qs->nwindows - 1]->start >= start) || ne > (d.len - d.pos) / 4 ||
                nranked > ne || (q->topn ? (int64_t)nranked > q->limit : nranked != 0)) {
                d.bad = 1;
                break;
            }
            win_state *ws = window_get(qs, start);
            if (!ws || (restore_window(qs, ws, &d, ne, nranked, sbytes) != 0 && !d.bad)) {
                oom = 1;
                goto out;
            }
        }
    }
    en->proc_wm = sluice_dec_i64(&d);
    en->proc_now = sluice_dec_i64(&d);
    if ((!SANE_TIME(en->proc_wm) && en->proc_wm != SLUICE_TS_MIN) ||
        (!SANE_TIME(en->proc_now) && en->proc_now != SLUICE_TS_MIN))
        d.bad = 1;
    if (!d.bad && d.pos != len) d.bad = 1;
out:
    sluice_arena_destroy(tmp);
    if (oom || d.bad) {
        /* leave an empty state, not a part of the snapshot */
        for (size_t k = 0; k < en->plan->nqueries; k++) clear_query_state(&en->queries[k]);
        for (size_t i = 0; i < en->plan->nsources; i++) {
            source_state *ss = &en->sources[i];
            for (size_t p = 0; p < ss->nparts; p++) free(ss->parts[p].topic);
            ss->nparts = 0;
            ss->watermark = SLUICE_TS_MIN;
            ss->ended = 0;
        }
        en->proc_wm = en->proc_now = SLUICE_TS_MIN;
    }
    if (oom)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "transform: out of memory restoring a snapshot");
    if (d.bad)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_MALFORMED,
                             "transform: the state snapshot does not decode for this pipeline");
    return SLUICE_OK;
}

static size_t query_state_bytes(const query_state *qs) {
    size_t bytes = qs->wcap * sizeof(win_state *);
    for (size_t w = 0; w < qs->nwindows; w++) {
        const win_state *ws = qs->windows[w];
        bytes += sizeof *ws + ws->cap * qs->stride + ws->tcap * sizeof(gslot) + ws->dcap * sizeof(uint32_t) +
                 sluice_arena_used(ws->arena);
    }
    const session_state *st = qs->ses;
    if (st) {
        bytes += sizeof *st + st->kcap * st->key_stride + st->tcap * sizeof(uint32_t) + sluice_arena_used(st->arena);
        size_t nsessions = 0;
        for (size_t i = 0; i < st->nkeys; i++) {
            bytes += skey_at(st, i)->cap * st->ses_stride;
            nsessions += skey_at(st, i)->nses;
        }
        /* the open-session count the stats report is the keys' sessions */
        assert(nsessions == st->nsessions);
        (void)nsessions;
    }
    return bytes;
}

/* Groups held now; for SESSION windows, open sessions. */
static size_t query_state_rows(const query_state *qs) {
    size_t rows = qs->ses ? qs->ses->nsessions : 0;
    for (size_t w = 0; w < qs->nwindows; w++) rows += qs->windows[w]->nentries;
    return rows;
}

static void engine_stats(sluice_transform *t, sluice_transform_stats *out) {
    sluice_engine *en = (sluice_engine *)t;
    *out = en->stats;
    out->state_rows = 0;
    out->state_bytes = 0;
    out->kept_state_bytes = 0;
    for (size_t k = 0; k < en->plan->nqueries; k++) {
        const sluice_query_plan *q = &en->plan->queries[k];
        size_t bytes = query_state_bytes(&en->queries[k]);
        out->state_rows += query_state_rows(&en->queries[k]);
        out->state_bytes += bytes;
        /* COMPLETE keeps every group (Spark's rule); without a window a
         * group never closes */
        if (en->frozen || (q->aggregate && (q->emit == SLUICE_EMIT_COMPLETE || q->window == SLUICE_WINDOW_NONE)))
            out->kept_state_bytes += bytes;
    }
    /* size_t sums: a wrap-around (a "negative" size) would show here */
    assert(out->kept_state_bytes <= out->state_bytes);
    int64_t wm = SLUICE_TS_MAX;
    int any = 0;
    for (size_t i = 0; i < en->plan->nsources; i++) {
        if (!en->sources[i].sp->has_watermark) continue;
        any = 1;
        if (en->sources[i].watermark < wm) wm = en->sources[i].watermark;
    }
    out->watermark = any ? wm : SLUICE_TS_MIN;
}

void sluice_engine_set_clock(sluice_transform *t, sluice_engine_clock_fn fn, void *ctx) {
    sluice_engine *en = (sluice_engine *)t;
    en->clock = fn ? fn : realtime_clock;
    en->clock_ctx = fn ? ctx : NULL;
}

void sluice_engine_set_dead_letter(sluice_transform *t, sluice_dead_letter *dlq) {
    ((sluice_engine *)t)->dlq = dlq;
}

int64_t sluice_engine_source_watermark(const sluice_transform *t, size_t source) {
    const sluice_engine *en = (const sluice_engine *)t;
    return en->sources[source].watermark;
}

size_t sluice_engine_state_bytes(const sluice_transform *t) {
    const sluice_engine *en = (const sluice_engine *)t;
    size_t bytes = 0;
    for (size_t k = 0; k < en->plan->nqueries; k++) bytes += query_state_bytes(&en->queries[k]);
    return bytes;
}

void sluice_engine_query_stats_get(const sluice_transform *t, size_t query, sluice_engine_query_stats *out) {
    const sluice_engine *en = (const sluice_engine *)t;
    const query_state *qs = &en->queries[query];
    out->late_rows = qs->late_rows;
    out->state_rows = query_state_rows(qs);
    out->state_bytes = query_state_bytes(qs);
    /* a PROCTIME() query progresses by processing time, not by a watermark */
    out->watermark = qs->q->proctime ? en->proc_wm : en->sources[qs->q->source].watermark;
}

void sluice_engine_source_stats_get(const sluice_transform *t, size_t source, sluice_engine_source_stats *out) {
    const sluice_engine *en = (const sluice_engine *)t;
    out->input_rows = en->sources[source].input_rows;
    out->malformed_rows = en->sources[source].malformed_rows;
}

static void engine_destroy(sluice_transform *t) {
    sluice_engine *en = (sluice_engine *)t;
    if (!en) return;
    if (en->sources) {
        for (size_t i = 0; i < en->plan->nsources; i++) {
            source_state *ss = &en->sources[i];
            sluice_decoder_free(ss->dec);
            free(ss->specs);
            free(ss->spec_col);
            free(ss->decoded);
            free(ss->rows);
            free(ss->recs);
            for (size_t p = 0; p < ss->nparts; p++) free(ss->parts[p].topic);
            free(ss->parts);
            free(ss->queries);
        }
    }
    if (en->queries) {
        for (size_t k = 0; k < en->plan->nqueries; k++) {
            query_state *qs = &en->queries[k];
            for (size_t w = 0; w < qs->nwindows; w++) window_free(qs->windows[w]);
            free(qs->windows);
            sluice_row_batch_free(&qs->out);
            free(qs->keys);
            free(qs->args);
            free(qs->post);
            free(qs->starts);
            free(qs->rank_idx);
            free(qs->rank_val);
            session_state_free(qs->ses);
            sluice_unnest_out_free(&qs->unnest);
            free(qs->unnest_recs);
        }
    }
    free(en->sources);
    free(en->queries);
    sluice_arena_destroy(en->batch_arena);
    free(en);
}

const sluice_transform_ops sluice_engine_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "sql",
    .process = engine_process,
    .end_batch = engine_end_batch,
    .stats = engine_stats,
    .destroy = engine_destroy,
    .set_time = engine_set_time,
    .resume = engine_resume,
    .snapshot = engine_snapshot,
    .restore = engine_restore,
};

static sluice_err_t setup_source(sluice_engine *en, size_t i, const sluice_engine_source_options *opts,
                                 sluice_source *src, char *errstr, size_t errstr_size) {
    source_state *ss = &en->sources[i];
    const sluice_source_plan *sp = &en->plan->sources[i];
    size_t nc = sp->schema.ncolumns;
    ss->sp = sp;
    ss->opts = *opts;
    ss->src = src;
    ss->watermark = SLUICE_TS_MIN;
    ss->specs = calloc(nc, sizeof *ss->specs);
    ss->spec_col = calloc(nc, sizeof *ss->spec_col);
    ss->decoded = calloc(nc, sizeof *ss->decoded);
    ss->queries = calloc(en->plan->nqueries + 1, sizeof *ss->queries);
    if (!ss->specs || !ss->spec_col || !ss->decoded || !ss->queries) return SLUICE_ERR_NOMEM;
    for (size_t c = 0; c < nc; c++) {
        if (!sp->used[c] || sp->metadata[c] != SLUICE_META_NONE) continue;
        sluice_field_spec *f = &ss->specs[ss->nspecs];
        f->name = sp->columns[c].name;
        f->path = sp->defs[c].path;
        f->type = sp->columns[c].type;
        f->elem_type = sp->defs[c].elem_type; /* ARRAY<T> (UNNEST) */
        f->ts_format = sp->ts_formats[c];
        ss->spec_col[ss->nspecs++] = c;
    }
    if (ss->nspecs) {
        sluice_decoder_options dopt;
        memset(&dopt, 0, sizeof dopt);
        dopt.format = opts->format;
        dopt.csv_delimiter = opts->csv_delimiter;
        if (src) {
            dopt.csv_header = src->csv_header;
            dopt.csv_header_len = src->csv_header_len;
        }
        char e[400];
        sluice_err_t err = sluice_decoder_new(&dopt, ss->specs, ss->nspecs, &ss->dec, e, sizeof e);
        if (err) return sluice_seterr(errstr, errstr_size, err, "source %s: %s", sp->name, e);
    }
    for (size_t k = 0; k < en->plan->nqueries; k++)
        if (en->plan->queries[k].source == i) {
            ss->queries[ss->nqueries++] = k;
            if (en->plan->queries[k].proctime) ss->proctime = 1;
        }
    return SLUICE_OK;
}

sluice_err_t sluice_engine_new(const sluice_plan *plan, const sluice_engine_source_options *opts,
                               sluice_source *const *srcs, sluice_dead_letter *dlq, sluice_transform **out,
                               char *errstr, size_t errstr_size) {
    sluice_engine *en = calloc(1, sizeof *en);
    if (!en) return SLUICE_ERR_NOMEM;
    en->base.ops = &sluice_engine_ops;
    en->plan = plan;
    en->dlq = dlq;
    en->stats.watermark = SLUICE_TS_MIN;
    en->clock = realtime_clock;
    en->proc_now = en->proc_wm = SLUICE_TS_MIN;
    en->batch_arena = sluice_arena_new(256 * 1024);
    en->sources = calloc(plan->nsources + 1, sizeof *en->sources);
    en->queries = calloc(plan->nqueries + 1, sizeof *en->queries);
    sluice_err_t err = SLUICE_OK;
    if (!en->batch_arena || !en->sources || !en->queries) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < plan->nsources; i++)
        if ((err = setup_source(en, i, &opts[i], srcs ? srcs[i] : NULL, errstr, errstr_size)) != SLUICE_OK) goto fail;
    for (size_t k = 0; k < plan->nqueries; k++) {
        query_state *qs = &en->queries[k];
        const sluice_query_plan *q = &plan->queries[k];
        qs->q = q;
        qs->stride = sizeof(entry_hdr) + q->ngroup * sizeof(sluice_value) + q->naggs * sizeof(agg_slot);
        qs->max_windows = q->window == SLUICE_WINDOW_HOP ? (size_t)(q->size_ms / q->slide_ms) : 1;
        qs->keys = calloc(q->ngroup + 1, sizeof *qs->keys);
        qs->args = calloc(q->naggs + 1, sizeof *qs->args);
        qs->post = calloc(SLUICE_POST_GROUP0 + q->ngroup + q->naggs, sizeof *qs->post);
        qs->starts = calloc(qs->max_windows, sizeof *qs->starts);
        if (q->window == SLUICE_WINDOW_SESSION && !(qs->ses = session_state_new(q))) {
            err = SLUICE_ERR_NOMEM;
            goto fail;
        }
        if (!qs->keys || !qs->args || !qs->post || !qs->starts || sluice_row_batch_init(&qs->out, &q->schema) != SLUICE_OK) {
            err = SLUICE_ERR_NOMEM;
            goto fail;
        }
    }
    *out = &en->base;
    return SLUICE_OK;
fail:
    if (err == SLUICE_ERR_NOMEM) sluice_seterr(errstr, errstr_size, err, "transform: out of memory");
    engine_destroy(&en->base);
    return err;
}
