/*
 * The session window operator: SESSION(ts, INTERVAL gap), after Flink's
 * session windows (a merging window assigner).  Per group key, a session is
 * a maximal run of rows whose consecutive times are less than `gap` apart:
 * window_start = its first time, window_end = its last time + gap.  A row
 * at t is a window [t, t+gap) of its own, merged with each open session of
 * its key that it overlaps — at most two, when it bridges the gap between
 * them — so rows out of order extend a session backwards or merge two
 * (their aggregate slots merge: COUNT, SUM, AVG add, MIN, MAX compare).
 * Windows are half-open as everywhere in docs/sql.md: a row exactly `gap`
 * after the last one starts a new session (Flink's TimeWindow.intersects
 * would also merge windows that only touch).
 *
 * A session is final once the watermark reaches its window_end (the spec's
 * "plus the session gap"); it is pushed downstream then, as an insert, and
 * its state freed.  Only EMIT APPEND is planned: a session's key
 * (window_start) changes as it grows, so an updated row could not replace
 * the row emitted before.
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
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "exec/operator.h"

typedef struct ses_hdr {
    int64_t start, last;       /* first and last event time; window_end = last + gap */
} ses_hdr;                     /* followed by naggs sluice_agg_slot */

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

typedef struct ses_op {
    sluice_op base;
    session_state *st;
    sluice_emitter em;
    sluice_value *keys;        /* ngroup scratch */
    uint64_t sum_overflows;
    size_t snap_pos;           /* snapshot iterator: next piece */
} ses_op;

static skey_hdr *skey_at(const session_state *ss, size_t i) {
    return (skey_hdr *)(ss->keys + i * ss->key_stride);
}
static sluice_value *skey_values(skey_hdr *k) {
    return (sluice_value *)(k + 1);
}
static ses_hdr *ses_at(const session_state *ss, const skey_hdr *k, size_t j) {
    return (ses_hdr *)(k->ses + j * ss->ses_stride);
}
static sluice_agg_slot *ses_aggs(ses_hdr *h) {
    return (sluice_agg_slot *)(h + 1);
}

/* Free what the slots of session h own (DISTINCT maps, sketches). */
static void ses_destroy(const sluice_query_plan *q, ses_hdr *h) {
    sluice_agg_slot *s = ses_aggs(h);
    for (size_t m = 0; m < q->naggs; m++)
        if (sluice_agg_owns(&q->aggs[m])) q->aggs[m].fn->destroy(&q->aggs[m], &s[m]);
}

static void session_state_free(const sluice_query_plan *q, session_state *ss) {
    if (!ss) return;
    for (size_t i = 0; i < ss->nkeys; i++) {
        skey_hdr *k = skey_at(ss, i);
        for (size_t j = 0; j < k->nses; j++) ses_destroy(q, ses_at(ss, k, j));
        free(k->ses);
    }
    free(ss->keys);
    free(ss->table);
    sluice_arena_destroy(ss->arena);
    free(ss);
}

static session_state *session_state_new(const sluice_query_plan *q) {
    session_state *ss = calloc(1, sizeof *ss);
    if (!ss) return NULL;
    ss->key_stride = sizeof(skey_hdr) + q->ngroup * sizeof(sluice_value);
    ss->ses_stride = sizeof(ses_hdr) + q->naggs * sizeof(sluice_agg_slot);
    ss->tcap = 16;
    ss->table = calloc(ss->tcap, sizeof *ss->table);
    ss->arena = sluice_arena_new(16 * 1024);
    if (!ss->table || !ss->arena) {
        session_state_free(q, ss);
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
        if (sluice_op_copy_string(ss->arena, &kv[j]) != 0) return -1;
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
            if (sluice_op_copy_string(na, &kv[g]) != 0) goto fail;
        for (size_t j = 0; j < k->nses; j++) {
            sluice_agg_slot *a = ses_aggs(ses_at(ss, k, j));
            for (size_t m = 0; m < q->naggs; m++)
                if (q->aggs[m].fn->holds_string && a[m].n && sluice_op_copy_string(na, &a[m].v) != 0) goto fail;
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

static sluice_err_t ses_open(sluice_op *op) {
    ses_op *s = (ses_op *)op;
    if (!(s->st = session_state_new(op->q))) return SLUICE_ERR_NOMEM;
    if (!(s->keys = calloc(op->q->ngroup + 1, sizeof *s->keys))) return SLUICE_ERR_NOMEM;
    return sluice_emitter_init(&s->em, op->q, op->ctx, op->down);
}

static void late(sluice_op *op, const sluice_op_batch *b, size_t r, const char *reason) {
    op->ctx->stats->late_rows++;
    op->late_rows++;
    sluice_op_dead_letter(op->ctx, b->sp, b->src, b->recs ? b->recs[r] : NULL, op->q->name, reason);
}

/* Add each row to the open session of its key it falls in, merging
 * sessions it bridges. */
static sluice_err_t ses_process(sluice_op *op, const sluice_op_batch *b) {
    ses_op *so = (ses_op *)op;
    const sluice_query_plan *q = op->q;
    session_state *st = so->st;
    sluice_arena *arena = op->ctx->batch_arena;
    size_t nc = b->ncolumns;
    int64_t wm = q->proctime ? b->proc_watermark : b->watermark; /* as the batch began */
    int64_t gap = q->gap_ms;
    for (size_t i = 0; i < b->nrows; i++) {
        size_t r = sluice_op_batch_row_index(b, i);
        const sluice_value *row = b->rows + r * nc;
        if (q->udf) q->udf->row = r;
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
        uint64_t hash = 0x51ed270b27eb0bULL;
        for (size_t k = 0; k < q->ngroup; k++) {
            so->keys[k] = sluice_expr_eval(q->group[k], row, arena);
            hash = sluice_value_hash(&so->keys[k], hash);
        }
        long ki = skey_find(st, q->ngroup, so->keys, hash);
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
            late(op, b, r, "late");
            continue;
        }
        if (ki < 0 && (ki = skey_add(st, q->ngroup, so->keys, hash)) < 0) return SLUICE_ERR_NOMEM;
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
            sluice_agg_slot *s = ses_aggs(h);
            memset(s, 0, q->naggs * sizeof *s);
            for (size_t j = 0; j < q->naggs; j++) q->aggs[j].fn->init(&q->aggs[j], &s[j]);
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
                    switch (q->aggs[m].fn->merge(&q->aggs[m], &ses_aggs(h)[m], &ses_aggs(o)[m])) {
                    case 0: break;
                    case 1: sluice_op_note_sum_overflow(q, &so->sum_overflows); break;
                    default: return SLUICE_ERR_NOMEM;
                    }
                ses_destroy(q, o);
                if (hit[1] + 1 < k->nses) memcpy(o, ses_at(st, k, k->nses - 1), st->ses_stride);
                k->nses--;
                st->nsessions--;
            }
        }
        sluice_agg_slot *s = ses_aggs(h);
        for (size_t m = 0; m < q->naggs; m++) {
            if (q->aggs[m].filter) {
                sluice_value f = sluice_expr_eval(q->aggs[m].filter, row, arena);
                if (!sluice_value_is_true(&f)) continue;
            }
            sluice_value a = q->aggs[m].arg ? sluice_expr_eval(q->aggs[m].arg, row, arena) : sluice_value_null();
            switch (q->aggs[m].fn->add(&q->aggs[m], &s[m], &a, st->arena)) {
            case 0: break;
            case 1: sluice_op_note_sum_overflow(q, &so->sum_overflows); break;
            default: return SLUICE_ERR_NOMEM;
            }
        }
    }
    return SLUICE_OK;
}

/* Push and free the sessions whose window_end the watermark has reached;
 * drop the keys left without sessions. */
static int ses_on_watermark(sluice_op *op, int64_t wm, int had_input) {
    (void)had_input;
    ses_op *so = (ses_op *)op;
    const sluice_query_plan *q = op->q;
    session_state *ss = so->st;
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
            sluice_emitter_fill(&so->em, h->start, end, skey_values(k), ses_aggs(h));
            if (sluice_emitter_having(&so->em) && sluice_emitter_push(&so->em, SLUICE_ROW_INSERT) != 0) return -1;
            /* the row holds no string of what destroy frees (DISTINCT and
             * APPROX_COUNT_DISTINCT results are numbers) */
            ses_destroy(q, h);
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
    /* the rows hold strings of the arena about to be compacted */
    if (sluice_emitter_flush(&so->em) != 0) return -1;
    if (kept == ss->nkeys) return 0;
    ss->nkeys = kept;
    size_t tcap = 16;
    while (tcap < 2 * kept + 2) tcap *= 2;
    if (skey_rehash(ss, tcap) != 0) return -1;
    return session_compact_strings(q, ss);
}

/* ---------------- snapshot ----------------
 * i64 late_rows, u8 1 (sessions), u32 nkeys, i64 string_bytes (version 2);
 * per key: ngroup values, u32 nsessions; per session: i64 start, i64 last,
 * naggs slots. */

static void ses_snapshot_begin(sluice_op *op) {
    ((ses_op *)op)->snap_pos = 0;
}

static int ses_snapshot_next(sluice_op *op, sluice_enc *e) {
    ses_op *so = (ses_op *)op;
    const sluice_query_plan *q = op->q;
    const session_state *st = so->st;
    if (so->snap_pos == 0) {
        int64_t sbytes = 0;
        for (size_t i = 0; i < st->nkeys; i++) {
            skey_hdr *kh = skey_at(st, i);
            const sluice_value *kv = skey_values(kh);
            for (size_t g = 0; g < q->ngroup; g++) sbytes += sluice_snap_string_bytes(&kv[g]);
            for (size_t j = 0; j < kh->nses; j++) {
                const sluice_agg_slot *a = ses_aggs(ses_at(st, kh, j));
                for (size_t m = 0; m < q->naggs; m++) sbytes += sluice_snap_slot_string_bytes(&q->aggs[m], &a[m]);
            }
        }
        sluice_enc_i64(e, (int64_t)op->late_rows);
        sluice_enc_u8(e, 1);
        sluice_enc_u32(e, (uint32_t)st->nkeys);
        sluice_enc_i64(e, sbytes);
        so->snap_pos = 1;
        return 1;
    }
    if (so->snap_pos > st->nkeys) return 0;
    skey_hdr *kh = skey_at(st, so->snap_pos++ - 1);
    const sluice_value *kv = skey_values(kh);
    for (size_t g = 0; g < q->ngroup; g++) sluice_enc_value(e, &kv[g]);
    sluice_enc_u32(e, kh->nses);
    for (size_t j = 0; j < kh->nses; j++) {
        ses_hdr *h = ses_at(st, kh, j);
        sluice_enc_i64(e, h->start);
        sluice_enc_i64(e, h->last);
        const sluice_agg_slot *a = ses_aggs(h);
        for (size_t m = 0; m < q->naggs; m++) q->aggs[m].fn->encode(&q->aggs[m], e, &a[m]);
    }
    return 1;
}

static void ses_snapshot_end(sluice_op *op) {
    ((ses_op *)op)->snap_pos = 0;
}

static void ses_clear(sluice_op *op) {
    ses_op *so = (ses_op *)op;
    session_state *fresh = session_state_new(op->q);
    if (fresh) {
        session_state_free(op->q, so->st);
        so->st = fresh;
    }
}

static int cmp_session(const void *a, const void *b) {
    const ses_hdr *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

/* Restore the nk keys with their sessions. */
static int restore_sessions(ses_op *so, sluice_dec *d, uint32_t nk, int64_t sbytes) {
    const sluice_query_plan *q = so->base.q;
    session_state *st = so->st;
    size_t block = sluice_snap_arena_block(sbytes, d->len - d->pos);
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
    sluice_value *keys = so->keys;
    ses_hdr *sorted = NULL;
    size_t sorted_cap = 0;
    int rc = 0;
    int64_t have = 0;
    for (uint32_t i = 0; i < nk && !d->bad; i++) {
        for (size_t g = 0; g < q->ngroup; g++) keys[g] = sluice_snap_dec_key(d, q->group[g]->type, st->arena);
        uint32_t ns = sluice_dec_u32(d);
        /* every session takes at least 16 bytes; a key without one is not kept */
        if (d->bad || ns == 0 || ns > (d->len - d->pos) / 16) {
            d->bad = 1;
            break;
        }
        for (size_t g = 0; g < q->ngroup; g++) have += sluice_snap_string_bytes(&keys[g]);
        uint64_t hash = sluice_snap_keys_hash(keys, q->ngroup);
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
            if (!SLUICE_SANE_TIME(h->start) || !SLUICE_SANE_TIME(h->last) || h->start > h->last) d->bad = 1;
            sluice_agg_slot *a = ses_aggs(h);
            memset(a, 0, q->naggs * sizeof *a); /* what destroy may free below */
            int oom = 0;
            for (size_t m = 0; m < q->naggs && !d->bad && !oom; m++) {
                oom = q->aggs[m].fn->decode(&q->aggs[m], d, &a[m], st->arena) != 0 && !d->bad;
                have += sluice_snap_slot_string_bytes(&q->aggs[m], &a[m]);
            }
            if (d->bad || oom) {
                ses_destroy(q, h);
                if (oom) rc = -1;
                break;
            }
            kh->nses++;
            st->nsessions++;
        }
        if (rc) break;
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

static int ses_restore(sluice_op *op, sluice_dec *d, uint32_t version) {
    ses_op *so = (ses_op *)op;
    ses_clear(op);
    op->late_rows = (uint64_t)sluice_dec_i64(d);
    if (sluice_dec_u8(d) != 1) d->bad = 1; /* a snapshot of windows */
    if (d->bad) return -1;
    uint32_t nk = sluice_dec_u32(d);
    int64_t sbytes = version >= 2 ? sluice_dec_i64(d) : -1;
    if (version >= 2 && sbytes < 0) d->bad = 1;
    if (d->bad) return -1;
    return restore_sessions(so, d, nk, sbytes);
}

static size_t ses_state_bytes(const sluice_op *op) {
    const session_state *st = ((const ses_op *)op)->st;
    size_t bytes = sizeof *st + st->kcap * st->key_stride + st->tcap * sizeof(uint32_t) + sluice_arena_used(st->arena);
    size_t nsessions = 0;
    const sluice_query_plan *q = op->q;
    int owns = 0;
    for (size_t m = 0; m < q->naggs; m++) owns |= sluice_agg_owns(&q->aggs[m]);
    for (size_t i = 0; i < st->nkeys; i++) {
        skey_hdr *k = skey_at(st, i);
        bytes += k->cap * st->ses_stride;
        nsessions += k->nses;
        /* value maps and sketches */
        for (size_t j = 0; owns && j < k->nses; j++) bytes += sluice_agg_slots_owned_bytes(q, ses_aggs(ses_at(st, k, j)));
    }
    /* the open-session count the stats report is the keys' sessions */
    assert(nsessions == st->nsessions);
    (void)nsessions;
    return bytes;
}

static size_t ses_state_rows(const sluice_op *op) {
    return ((const ses_op *)op)->st->nsessions;
}

static void ses_close(sluice_op *op) {
    ses_op *so = (ses_op *)op;
    session_state_free(op->q, so->st);
    sluice_emitter_free(&so->em);
    free(so->keys);
    free(so);
}

static const sluice_op_ops ses_ops = {
    .name = "session",
    .open = ses_open,
    .process = ses_process,
    .on_watermark = ses_on_watermark,
    .snapshot_begin = ses_snapshot_begin,
    .snapshot_next = ses_snapshot_next,
    .snapshot_end = ses_snapshot_end,
    .restore = ses_restore,
    .clear = ses_clear,
    .state_bytes = ses_state_bytes,
    .state_rows = ses_state_rows,
    .close = ses_close,
};

sluice_op *sluice_op_session_new(const sluice_query_plan *q, sluice_op_ctx *ctx, sluice_op *down) {
    ses_op *so = calloc(1, sizeof *so);
    if (!so) return NULL;
    so->base.ops = &ses_ops;
    so->base.q = q;
    so->base.ctx = ctx;
    so->base.down = down;
    return &so->base;
}
