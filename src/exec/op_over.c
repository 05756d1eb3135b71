/*
 * The OVER aggregate operator (plan/rel.h sluice_over_plan): Flink's over
 * aggregation, agg(x) OVER (PARTITION BY p ORDER BY t ROWS|RANGE BETWEEN
 * n PRECEDING AND CURRENT ROW), with Flink's RowTimeRowsBoundedPreceding-,
 * RowTimeRangeBoundedPreceding-, RowTime*Unbounded- and ProcTime*
 * functions' semantics.  Every input row comes out once, extended by one
 * value per aggregate over its frame (insert-only output).
 *
 * Rows wait in one pending list until they can be processed: with event
 * time until the watermark reaches their time (on_watermark), with
 * processing time until the end of their batch (all rows of a batch share
 * its processing time, so a RANGE frame sees the whole batch as ties,
 * like Flink's per-millisecond buffering).  Ready rows are processed in
 * (time, arrival) order over all partitions, so the output is in time
 * order too.
 *
 * Per partition: the aggregates' slots (exec/aggregate.h) and, for a
 * bounded frame, the rows in it (a ring in processing order; ROWS: at most
 * `preceding` rows after an emit, RANGE: the rows a later time can still
 * reach).  A row entering the frame is added to every slot; a row leaving
 * it is retracted where the function can, and the others (MIN/MAX,
 * APPROX_COUNT_DISTINCT) are recomputed from the rows kept before the
 * next emit.  Unbounded frames keep the slots only.
 *
 * MIN/MAX over a bounded frame (no retract in their fixed slot): either
 * recomputed from the frame's rows before an emit when a row left it
 * (O(frame) per row), or replaced by the retractable extreme of
 * aggregate.h (a value -> count map; O(1) per row, a scan of the map when
 * the extreme leaves).  Measured with MIN and MAX of random BIGINTs over
 * 200k rows in 100 partitions, event time, on a loaded 2-core machine
 * (best of 3, ms, recompute / map): ROWS 2 PRECEDING 70 / 93 and 123 /
 * 206, ROWS 10 199-430 / 145-253, ROWS 16 381-467 / 106-236, ROWS 100
 * 888-2523 / 139-361, ROWS 1000 29111 / 412; RANGE over ~2 rows 53-97 /
 * 142-240.  So ROWS frames of at most OVER_RECOMPUTE_MAX_ROWS rows
 * recompute, larger ROWS frames and every RANGE frame (whose size the
 * plan does not bound) keep the map.  APPROX_COUNT_DISTINCT over a
 * bounded frame is always recomputed.
 *
 * Strings: rows are copied, each row one allocation with its strings; the
 * extreme a MIN/MAX slot holds is copied into memory of the partition
 * (the slot's add copies it into a scratch arena first).  Output rows are
 * copied into an arena reset after each push downstream, so that a row
 * may leave the state while it is still queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "exec/row_copy.h"
#include "exec/operator.h"


/* A ROWS frame of at most this many preceding rows recomputes MIN/MAX;
 * larger ones and RANGE frames keep a retractable extreme (measured, see
 * above). */
#define OVER_RECOMPUTE_MAX_ROWS 4

struct opart;

/* One row held by the operator: pending or in a frame. */
typedef struct orow {
    int64_t time;                  /* event time, or processing time */
    uint64_t seq;                  /* arrival order */
    struct opart *part;
    size_t bytes;                  /* the allocation */
    sluice_value v[];              /* width values, then their strings */
} orow;

/* The extreme a MIN/MAX slot holds, copied here. */
typedef struct owned_str {
    char *s;
    uint32_t len;
} owned_str;

typedef struct opart {
    struct opart *next;            /* hash chain */
    uint64_t hash;
    orow **ring;                   /* the frame's rows, oldest at head */
    size_t head, n, cap;
    size_t npending;               /* its rows in the pending list */
    int64_t stamp;                 /* RANGE: the time being processed */
    int dirty;                     /* a row left since the non-retracting slots were computed */
    uint32_t snap_id;
    sluice_agg_slot *slots;        /* naggs */
    owned_str *own;                /* naggs, or NULL when no aggregate holds a string */
    size_t bytes;                  /* this allocation (keys' strings included) */
    sluice_value keys[];           /* npartition */
} opart;

typedef struct over_op {
    sluice_op base;
    const sluice_over_plan *op;
    sluice_agg_plan *aggs;         /* the plan's, MIN/MAX made retractable where chosen */
    int *recompute;                /* naggs: 1 = no retract, recomputed from the frame */
    int any_recompute, any_string;
    int bounded;                   /* preceding >= 0 */
    /* partitions: chained hash table */
    opart **buckets;
    size_t nbuckets, nparts;
    /* pending rows (unsorted; sorted when processed) */
    orow **pend;
    size_t npend, cap_pend;
    uint64_t next_seq;
    int64_t wm;                    /* the last watermark (INT64_MIN: none) */
    int64_t proc_last;             /* processing time: the last batch's (clamped monotonic) */
    /* memory */
    size_t bytes;                  /* rows, partitions, owned strings */
    size_t owned_bytes;            /* what owning slots hold (maps, registers) */
    size_t nrows;                  /* rows held (pending + frames) */
    sluice_arena *scratch;         /* strings added to MIN/MAX slots before they are copied */
    sluice_value *keys;            /* npartition scratch */
    /* output */
    size_t owidth;
    sluice_value *out;             /* SLUICE_EMIT_BATCH x owidth */
    size_t nout;
    sluice_arena *out_arena;       /* the queued rows' strings */
    int64_t out_proc_wm, out_proc_time;
    uint64_t sum_overflows;
    /* snapshot iterator */
    int snap_stage;                /* 0 header, 1 partitions, 2 pending count, 3 pending rows */
    size_t snap_bucket, snap_index;
    opart *snap_part;
    uint32_t snap_ids;
} over_op;

/* ---------------- rows ---------------- */


static orow *row_new(over_op *o, const sluice_value *row, int64_t time, opart *p) {
    size_t w = o->op->width, extra = 0;
    for (size_t c = 0; c < w; c++) extra += sluice_row_deep_bytes(&row[c]);
    size_t bytes = sizeof(orow) + w * sizeof(sluice_value) + extra;
    orow *r = malloc(bytes);
    if (!r) return NULL;
    r->time = time;
    r->seq = o->next_seq++;
    r->part = p;
    r->bytes = bytes;
    char *cur = (char *)(r->v + w);
    for (size_t c = 0; c < w; c++) sluice_row_deep_copy(&row[c], &r->v[c], &cur);
    o->bytes += bytes;
    o->nrows++;
    return r;
}

static void row_free(over_op *o, orow *r) {
    o->bytes -= r->bytes;
    o->nrows--;
    free(r);
}

/* ---------------- partitions ---------------- */

static void part_free_slots(over_op *o, opart *p) {
    for (size_t k = 0; k < o->op->naggs; k++)
        if (sluice_agg_owns(&o->aggs[k])) {
            o->owned_bytes -= o->aggs[k].fn->owned_bytes(&o->aggs[k], &p->slots[k]);
            o->aggs[k].fn->destroy(&o->aggs[k], &p->slots[k]);
        }
    if (p->own)
        for (size_t k = 0; k < o->op->naggs; k++) {
            o->bytes -= p->own[k].len;
            free(p->own[k].s);
            p->own[k].s = NULL;
            p->own[k].len = 0;
        }
}

/* Fresh slots for aggregate k of p (what it held destroyed). */
static void slot_reset(over_op *o, opart *p, size_t k) {
    sluice_agg_plan *ag = &o->aggs[k];
    if (sluice_agg_owns(ag)) {
        o->owned_bytes -= ag->fn->owned_bytes(ag, &p->slots[k]);
        ag->fn->destroy(ag, &p->slots[k]);
    }
    memset(&p->slots[k], 0, sizeof p->slots[k]);
    ag->fn->init(ag, &p->slots[k]);
}

static opart *part_find(over_op *o, const sluice_value *keys, uint64_t hash) {
    if (!o->nbuckets) return NULL;
    size_t np = o->op->npartition;
    for (opart *p = o->buckets[hash & (o->nbuckets - 1)]; p; p = p->next) {
        if (p->hash != hash) continue;
        size_t k = 0;
        while (k < np && sluice_value_equal(&p->keys[k], &keys[k])) k++;
        if (k == np) return p;
    }
    return NULL;
}

static int table_grow(over_op *o) {
    size_t nb = o->nbuckets ? o->nbuckets * 2 : 64;
    opart **b = calloc(nb, sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < o->nbuckets; i++)
        for (opart *p = o->buckets[i], *next; p; p = next) {
            next = p->next;
            p->next = b[p->hash & (nb - 1)];
            b[p->hash & (nb - 1)] = p;
        }
    o->bytes += (nb - o->nbuckets) * sizeof *b;
    free(o->buckets);
    o->buckets = b;
    o->nbuckets = nb;
    return 0;
}

/* The partition of keys, created (keys copied) when new; NULL out of memory. */
static opart *part_get(over_op *o, const sluice_value *keys, uint64_t hash) {
    opart *p = part_find(o, keys, hash);
    if (p) return p;
    if (o->nparts >= o->nbuckets && table_grow(o) != 0) return NULL;
    size_t np = o->op->npartition, na = o->op->naggs, extra = 0;
    for (size_t k = 0; k < np; k++) extra += sluice_row_deep_bytes(&keys[k]);
    size_t bytes = sizeof(opart) + np * sizeof(sluice_value) + extra;
    p = calloc(1, bytes);
    if (!p) return NULL;
    p->slots = calloc(na + 1, sizeof *p->slots);
    p->own = o->any_string ? calloc(na + 1, sizeof *p->own) : NULL;
    if (!p->slots || (o->any_string && !p->own)) {
        free(p->slots);
        free(p->own);
        free(p);
        return NULL;
    }
    char *cur = (char *)(p->keys + np);
    for (size_t k = 0; k < np; k++) sluice_row_deep_copy(&keys[k], &p->keys[k], &cur);
    for (size_t k = 0; k < na; k++) o->aggs[k].fn->init(&o->aggs[k], &p->slots[k]);
    p->bytes = bytes + (na + 1) * sizeof *p->slots + (p->own ? (na + 1) * sizeof *p->own : 0);
    p->hash = hash;
    p->stamp = INT64_MIN;
    p->next = o->buckets[hash & (o->nbuckets - 1)];
    o->buckets[hash & (o->nbuckets - 1)] = p;
    o->nparts++;
    o->bytes += p->bytes;
    return p;
}

/* Free p and its frame (it must have no pending rows); unlinked by the caller. */
static void part_destroy(over_op *o, opart *p) {
    for (size_t i = 0; i < p->n; i++) row_free(o, p->ring[(p->head + i) % p->cap]);
    part_free_slots(o, p);
    o->bytes -= p->cap * sizeof *p->ring + p->bytes;
    o->nparts--;
    free(p->ring);
    free(p->slots);
    free(p->own);
    free(p);
}

static void part_unlink_destroy(over_op *o, opart *p) {
    opart **pp = &o->buckets[p->hash & (o->nbuckets - 1)];
    while (*pp != p) pp = &(*pp)->next;
    *pp = p->next;
    part_destroy(o, p);
}

static int ring_push(over_op *o, opart *p, orow *r) {
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 4;
        orow **nr = malloc(nc * sizeof *nr);
        if (!nr) return -1;
        for (size_t i = 0; i < p->n; i++) nr[i] = p->ring[(p->head + i) % p->cap];
        free(p->ring);
        o->bytes += (nc - p->cap) * sizeof *nr;
        p->ring = nr;
        p->cap = nc;
        p->head = 0;
    }
    p->ring[(p->head + p->n++) % p->cap] = r;
    return 0;
}

static orow *ring_at(const opart *p, size_t i) {
    return p->ring[(p->head + i) % p->cap];
}

/* ---------------- aggregates ---------------- */

/* Copy the string a MIN/MAX slot took from the scratch arena into p's own
 * memory (the old one freed).  0 or -1. */
static int capture(over_op *o, opart *p, size_t k) {
    sluice_agg_slot *s = &p->slots[k];
    if (!o->aggs[k].fn->holds_string || s->v.type != SLUICE_TYPE_VARCHAR || s->v.u.s == p->own[k].s) return 0;
    char *c = malloc(s->v.len ? s->v.len : 1);
    if (!c) return -1;
    if (s->v.len) memcpy(c, s->v.u.s, s->v.len);
    o->bytes -= p->own[k].len;
    free(p->own[k].s);
    p->own[k].s = c;
    p->own[k].len = s->v.len ? s->v.len : 1;
    o->bytes += p->own[k].len;
    s->v.u.s = c;
    return 0;
}

/* Fold (sign > 0) or take back (sign < 0) row into aggregate k of p; the
 * non-retracting ones are only marked stale when a row leaves.  0, or
 * SLUICE_ERR_NOMEM. */
static sluice_err_t agg_apply(over_op *o, opart *p, size_t k, const sluice_value *row, int sign) {
    sluice_agg_plan *ag = &o->aggs[k];
    sluice_arena *arena = o->base.ctx->batch_arena;
    if (sign < 0 && o->recompute[k]) {
        p->dirty = 1;
        return SLUICE_OK;
    }
    if (sign > 0 && o->recompute[k] && p->dirty) return SLUICE_OK; /* recomputed before the next emit */
    if (ag->filter) {
        sluice_value f = sluice_expr_eval(ag->filter, row, arena);
        if (!sluice_value_is_true(&f)) return SLUICE_OK;
    }
    sluice_value a = ag->arg ? sluice_expr_eval(ag->arg, row, arena) : sluice_value_null();
    size_t before = sluice_agg_owns(ag) ? ag->fn->owned_bytes(ag, &p->slots[k]) : 0;
    int rc = sign > 0 ? ag->fn->add(ag, &p->slots[k], &a, o->scratch) : ag->fn->retract(ag, &p->slots[k], &a);
    if (sluice_agg_owns(ag)) o->owned_bytes += ag->fn->owned_bytes(ag, &p->slots[k]) - before;
    if (rc < 0) return SLUICE_ERR_NOMEM;
    if (rc == 1) {
        uint64_t n = ++o->sum_overflows;
        if ((n & (n - 1)) == 0)
            sluice_log(SLUICE_LOG_WARN, NULL, "engine", o->op->name,
                       "an integer SUM over a frame overflowed and is NULL for its partition (%llu so far)",
                       (unsigned long long)n);
    }
    if (sign > 0 && capture(o, p, k) != 0) return SLUICE_ERR_NOMEM;
    return SLUICE_OK;
}

static sluice_err_t apply_all(over_op *o, opart *p, const sluice_value *row, int sign) {
    for (size_t k = 0; k < o->op->naggs; k++) {
        sluice_err_t err = agg_apply(o, p, k, row, sign);
        if (err != SLUICE_OK) return err;
    }
    return SLUICE_OK;
}

/* Recompute the non-retracting aggregates of p from its frame. */
static sluice_err_t recompute(over_op *o, opart *p) {
    if (!p->dirty) return SLUICE_OK;
    p->dirty = 0;
    for (size_t k = 0; k < o->op->naggs; k++) {
        if (!o->recompute[k]) continue;
        slot_reset(o, p, k);
        for (size_t i = 0; i < p->n; i++) {
            sluice_err_t err = agg_apply(o, p, k, ring_at(p, i)->v, 1);
            if (err != SLUICE_OK) return err;
        }
    }
    return SLUICE_OK;
}

/* Take the oldest row out of p's frame. */
static sluice_err_t evict(over_op *o, opart *p) {
    orow *r = ring_at(p, 0);
    sluice_err_t err = apply_all(o, p, r->v, -1);
    p->head = (p->head + 1) % p->cap;
    p->n--;
    row_free(o, r);
    return err;
}

/* RANGE: take out of p's frame the rows before `from`. */
static sluice_err_t evict_before(over_op *o, opart *p, int64_t from) {
    while (p->n && ring_at(p, 0)->time < from) {
        sluice_err_t err = evict(o, p);
        if (err != SLUICE_OK) return err;
    }
    return SLUICE_OK;
}

/* The first time a RANGE frame ending at t holds (saturating). */
static int64_t range_from(const over_op *o, int64_t t) {
    int64_t from;
    if (__builtin_sub_overflow(t, o->op->preceding, &from)) return INT64_MIN;
    return from;
}

/* ---------------- output ---------------- */

static sluice_err_t flush(over_op *o) {
    if (!o->nout) return SLUICE_OK;
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = o->out;
    b.ncolumns = o->owidth;
    b.nrows = o->nout;
    b.watermark = o->wm;
    b.proc_watermark = o->out_proc_wm;
    b.proc_time = o->out_proc_time;
    o->nout = 0;
    sluice_err_t err = o->base.down->ops->process(o->base.down, &b);
    sluice_arena_reset(o->out_arena);
    return err;
}

/* Queue row r with p's results. */
static sluice_err_t emit(over_op *o, opart *p, const orow *r) {
    const sluice_over_plan *op = o->op;
    sluice_value *dst = o->out + o->nout * o->owidth;
    for (size_t c = 0; c < op->width; c++)
        if (sluice_value_copy(o->out_arena, &r->v[c], &dst[c]) != 0) return SLUICE_ERR_NOMEM;
    for (size_t k = 0; k < op->naggs; k++) {
        sluice_value v = o->aggs[k].fn->result(&o->aggs[k], &p->slots[k]);
        if (sluice_value_copy(o->out_arena, &v, &dst[op->width + k]) != 0) return SLUICE_ERR_NOMEM;
    }
    o->nout++;
    return o->nout == SLUICE_EMIT_BATCH ? flush(o) : SLUICE_OK;
}

/* ---------------- processing ---------------- */

/* ROWS: row r enters its partition's frame and is emitted. */
static sluice_err_t process_rows(over_op *o, orow *r) {
    opart *p = r->part;
    p->npending--;
    sluice_err_t err = apply_all(o, p, r->v, 1);
    if (err == SLUICE_OK && o->bounded) {
        if (ring_push(o, p, r) != 0) {
            row_free(o, r);
            return SLUICE_ERR_NOMEM;
        }
        if (o->any_recompute) err = recompute(o, p);
        if (err == SLUICE_OK) err = emit(o, p, r);
        /* the next row's frame: this one and `preceding` before it */
        while (err == SLUICE_OK && p->n > (uint64_t)o->op->preceding) err = evict(o, p);
        return err;
    }
    if (err == SLUICE_OK) err = emit(o, p, r);
    row_free(o, r);
    return err;
}

/* RANGE: the rows rs[0..n) share one time; each enters its partition's
 * frame, then each is emitted, so that ties see each other. */
static sluice_err_t process_range(over_op *o, orow **rs, size_t n) {
    sluice_err_t err = SLUICE_OK;
    for (size_t i = 0; i < n; i++) {
        orow *r = rs[i];
        opart *p = r->part;
        p->npending--;
        if (err != SLUICE_OK) {
            if (o->bounded) row_free(o, r); /* unbounded: freed below */
            continue;
        }
        if (o->bounded) {
            if (p->stamp != r->time) err = evict_before(o, p, range_from(o, r->time));
            if (err == SLUICE_OK && ring_push(o, p, r) != 0) err = SLUICE_ERR_NOMEM;
            if (err != SLUICE_OK) {
                row_free(o, r);
                continue;
            }
        }
        p->stamp = r->time;
        err = apply_all(o, p, r->v, 1);
    }
    for (size_t i = 0; i < n && err == SLUICE_OK; i++) {
        opart *p = rs[i]->part;
        if (o->any_recompute) err = recompute(o, p);
        if (err == SLUICE_OK) err = emit(o, p, rs[i]);
    }
    if (!o->bounded)
        for (size_t i = 0; i < n; i++) row_free(o, rs[i]);
    return err;
}

static int cmp_time_seq(const void *a, const void *b) {
    const orow *x = *(orow *const *)a, *y = *(orow *const *)b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Process the pending rows with time <= wm, in (time, arrival) order. */
static sluice_err_t fire(over_op *o, int64_t wm) {
    size_t nready = 0;
    for (size_t i = 0; i < o->npend; i++)
        if (o->pend[i]->time <= wm) {
            orow *t = o->pend[nready];
            o->pend[nready++] = o->pend[i];
            o->pend[i] = t;
        }
    if (!nready) return SLUICE_OK;
    qsort(o->pend, nready, sizeof *o->pend, cmp_time_seq);
    /* the ready rows leave the list first: each is consumed below */
    orow **ready = malloc(nready * sizeof *ready);
    if (!ready) return SLUICE_ERR_NOMEM;
    memcpy(ready, o->pend, nready * sizeof *ready);
    memmove(o->pend, o->pend + nready, (o->npend - nready) * sizeof *o->pend);
    o->npend -= nready;
    sluice_err_t err = SLUICE_OK;
    size_t i = 0;
    while (i < nready && err == SLUICE_OK) {
        if (o->op->rows) {
            err = process_rows(o, ready[i++]);
            continue;
        }
        size_t j = i + 1;
        while (j < nready && ready[j]->time == ready[i]->time) j++;
        err = process_range(o, ready + i, j - i);
        i = j;
    }
    for (; i < nready; i++) ready[i]->part->npending--, row_free(o, ready[i]);
    free(ready);
    sluice_arena_reset(o->scratch);
    return err;
}

/* RANGE with a bounded frame: rows no row after time wm can reach leave;
 * a partition left with nothing goes. */
static sluice_err_t cleanup(over_op *o, int64_t wm) {
    if (o->op->rows || !o->bounded || wm == INT64_MAX) return SLUICE_OK;
    int64_t from = range_from(o, wm + 1);
    for (size_t b = 0; b < o->nbuckets; b++)
        for (opart *p = o->buckets[b], *next; p; p = next) {
            next = p->next;
            sluice_err_t err = evict_before(o, p, from);
            if (err != SLUICE_OK) return err;
            if (p->n == 0 && p->npending == 0) part_unlink_destroy(o, p);
        }
    return SLUICE_OK;
}

static void late(over_op *o, const sluice_op_batch *b, size_t r, const char *reason) {
    o->base.ctx->stats->late_rows++;
    o->base.late_rows++;
    sluice_op_dead_letter(o->base.ctx, b->sp, b->src, b->recs ? b->recs[r] : NULL, o->op->name, reason);
}

static int pend_push(over_op *o, orow *r) {
    if (o->npend == o->cap_pend) {
        size_t nc = o->cap_pend ? o->cap_pend * 2 : 64;
        orow **np = realloc(o->pend, nc * sizeof *np);
        if (!np) return -1;
        o->bytes += (nc - o->cap_pend) * sizeof *np;
        o->pend = np;
        o->cap_pend = nc;
    }
    o->pend[o->npend++] = r;
    r->part->npending++;
    return 0;
}

static sluice_err_t over_process(sluice_op *bop, const sluice_op_batch *b) {
    over_op *o = (over_op *)bop;
    const sluice_over_plan *op = o->op;
    sluice_arena *arena = bop->ctx->batch_arena;
    if (b->nrows && b->ncolumns < op->width) {
        snprintf(bop->ctx->err, sizeof bop->ctx->err, "over %s: rows of %zu columns, the plan reads %zu", op->name,
                 b->ncolumns, op->width);
        return SLUICE_ERR_INVALID;
    }
    if (!op->proctime && op->time_column >= op->width) {
        snprintf(bop->ctx->err, sizeof bop->ctx->err, "over %s: time column %zu of %zu", op->name, op->time_column,
                 op->width);
        return SLUICE_ERR_INVALID;
    }
    o->out_proc_wm = b->proc_watermark;
    o->out_proc_time = b->proc_time;
    int64_t now = b->proc_time > o->proc_last ? b->proc_time : o->proc_last;
    for (size_t i = 0; i < b->nrows; i++) {
        size_t ri = sluice_op_batch_row_index(b, i);
        const sluice_value *row = b->rows + ri * b->ncolumns;
        sluice_row_kind kind = b->kinds ? b->kinds[ri] : SLUICE_ROW_INSERT;
        if (kind != SLUICE_ROW_INSERT && kind != SLUICE_ROW_UPDATE_AFTER) {
            /* an emitted frame result cannot be taken back: going on would
             * give wrong results, so the pipeline stops (Flink's over
             * aggregation takes append-only input only) */
            snprintf(bop->ctx->err, sizeof bop->ctx->err,
                     "over %s: a retraction reached an OVER aggregate, whose input must be append-only", op->name);
            return SLUICE_ERR_RUNTIME;
        }
        int64_t t = now;
        if (!op->proctime) {
            const sluice_value *tv = &row[op->time_column];
            if (tv->type != SLUICE_TYPE_TIMESTAMP) {
                late(o, b, ri, "null event time: the row has no value for the ORDER BY time column");
                continue;
            }
            t = tv->u.i;
            if (t <= o->wm) {
                late(o, b, ri, "late");
                continue;
            }
        }
        for (size_t k = 0; k < op->npartition; k++) o->keys[k] = sluice_expr_eval(op->partition[k], row, arena);
        opart *p = part_get(o, o->keys, sluice_snap_keys_hash(o->keys, op->npartition));
        orow *r = p ? row_new(o, row, t, p) : NULL;
        if (!r) return SLUICE_ERR_NOMEM;
        if (pend_push(o, r) != 0) {
            row_free(o, r);
            return SLUICE_ERR_NOMEM;
        }
    }
    sluice_err_t err = SLUICE_OK;
    if (op->proctime) {
        o->proc_last = now;
        err = fire(o, now);
        if (err == SLUICE_OK) err = cleanup(o, now);
    }
    sluice_err_t ferr = flush(o);
    return err != SLUICE_OK ? err : ferr;
}

static int over_on_watermark(sluice_op *bop, int64_t wm, int had_input) {
    over_op *o = (over_op *)bop;
    (void)had_input;
    if (o->op->proctime || wm <= o->wm) return 0;
    o->wm = wm;
    sluice_err_t err = fire(o, wm);
    if (err == SLUICE_OK) err = cleanup(o, wm);
    sluice_err_t ferr = flush(o);
    return err == SLUICE_OK && ferr == SLUICE_OK ? 0 : -1;
}

/* ---------------- snapshot ----------------
 * i64 late_rows, u8 3, i64 watermark, i64 proc_last, u32 npartitions;
 * per partition: npartition values, (unbounded frame: naggs slots),
 * u32 nframe; per frame row (processing order): i64 time, width values;
 * then u32 npending; per pending row in (time, arrival) order:
 * u32 partition (its index in the snapshot), i64 time, width values. */

static void over_snapshot_begin(sluice_op *bop) {
    over_op *o = (over_op *)bop;
    o->snap_stage = 0;
    o->snap_bucket = 0;
    o->snap_index = 0;
    o->snap_part = NULL;
    o->snap_ids = 0;
    /* arrival order of ties is the seq order: sorting the list keeps it */
    if (o->npend) qsort(o->pend, o->npend, sizeof *o->pend, cmp_time_seq);
}

static void enc_row(const over_op *o, sluice_enc *e, const orow *r) {
    sluice_enc_i64(e, r->time);
    for (size_t c = 0; c < o->op->width; c++) sluice_enc_value(e, &r->v[c]);
}

static int over_snapshot_next(sluice_op *bop, sluice_enc *e) {
    over_op *o = (over_op *)bop;
    const sluice_over_plan *op = o->op;
    switch (o->snap_stage) {
    case 0:
        sluice_enc_i64(e, (int64_t)bop->late_rows);
        sluice_enc_u8(e, 3);
        sluice_enc_i64(e, o->wm);
        sluice_enc_i64(e, o->proc_last);
        sluice_enc_u32(e, (uint32_t)o->nparts);
        o->snap_stage = 1;
        o->snap_part = o->nbuckets ? o->buckets[0] : NULL;
        return 1;
    case 1: {
        while (!o->snap_part) {
            if (++o->snap_bucket >= o->nbuckets) {
                o->snap_stage = 2;
                return over_snapshot_next(bop, e);
            }
            o->snap_part = o->buckets[o->snap_bucket];
        }
        opart *p = o->snap_part;
        o->snap_part = p->next;
        p->snap_id = o->snap_ids++;
        for (size_t k = 0; k < op->npartition; k++) sluice_enc_value(e, &p->keys[k]);
        if (!o->bounded)
            for (size_t k = 0; k < op->naggs; k++) o->aggs[k].fn->encode(&o->aggs[k], e, &p->slots[k]);
        sluice_enc_u32(e, (uint32_t)p->n);
        for (size_t i = 0; i < p->n; i++) enc_row(o, e, ring_at(p, i));
        return 1;
    }
    case 2:
        sluice_enc_u32(e, (uint32_t)o->npend);
        o->snap_stage = 3;
        return 1;
    default:
        if (o->snap_index >= o->npend) return 0;
        const orow *r = o->pend[o->snap_index++];
        sluice_enc_u32(e, r->part->snap_id);
        enc_row(o, e, r);
        return 1;
    }
}

static void over_snapshot_end(sluice_op *bop) {
    over_op *o = (over_op *)bop;
    o->snap_stage = 0;
    o->snap_part = NULL;
}

static void clear_all(over_op *o) {
    for (size_t i = 0; i < o->npend; i++) o->pend[i]->part->npending--, row_free(o, o->pend[i]);
    o->npend = 0;
    for (size_t b = 0; b < o->nbuckets; b++) {
        for (opart *p = o->buckets[b], *next; p; p = next) {
            next = p->next;
            part_destroy(o, p);
        }
        o->buckets[b] = NULL;
    }
    o->wm = INT64_MIN;
    o->proc_last = INT64_MIN;
    o->nout = 0;
    sluice_arena_reset(o->out_arena);
    sluice_arena_reset(o->scratch);
}

/* Decode one row (time, width values of the plan's types); strings into
 * arena.  0, or -1 with d->bad set. */
static int dec_row(over_op *o, sluice_dec *d, sluice_arena *arena, sluice_value *row, int64_t *time) {
    const sluice_over_plan *op = o->op;
    *time = sluice_dec_i64(d);
    for (size_t c = 0; c < op->width && !d->bad; c++) row[c] = sluice_snap_dec_key(d, op->types[c], arena);
    if (d->bad || !SLUICE_SANE_TIME(*time)) goto bad;
    /* event time: the time is the row's (never NULL: such rows are not kept) */
    if (!op->proctime) {
        const sluice_value *tv = &row[op->time_column];
        if (tv->type != SLUICE_TYPE_TIMESTAMP || tv->u.i != *time) goto bad;
    }
    return 0;
bad:
    d->bad = 1;
    return -1;
}

/* Restore one partition into opart **parts[idx]. */
static int restore_part(over_op *o, sluice_dec *d, sluice_arena *arena, sluice_value *row, opart **parts,
                        uint32_t idx) {
    const sluice_over_plan *op = o->op;
    for (size_t k = 0; k < op->npartition; k++) o->keys[k] = sluice_snap_dec_key(d, op->partition[k]->type, arena);
    if (d->bad) return -1;
    uint64_t hash = sluice_snap_keys_hash(o->keys, op->npartition);
    if (part_find(o, o->keys, hash)) goto bad; /* twice */
    opart *p = part_get(o, o->keys, hash);
    if (!p) return -1;
    parts[idx] = p;
    if (!o->bounded)
        for (size_t k = 0; k < op->naggs; k++) {
            sluice_agg_plan *ag = &o->aggs[k];
            slot_reset(o, p, k);
            int rc = ag->fn->decode(ag, d, &p->slots[k], arena);
            if (sluice_agg_owns(ag)) o->owned_bytes += ag->fn->owned_bytes(ag, &p->slots[k]);
            if (rc != 0 || d->bad) goto bad;
            if (capture(o, p, k) != 0) return -1;
        }
    uint32_t n = sluice_dec_u32(d);
    /* every row takes at least 8 + width bytes */
    if (d->bad || n > (d->len - d->pos) / (8 + op->width)) goto bad;
    if (n && !o->bounded) goto bad; /* unbounded frames keep no rows */
    if (op->rows && o->bounded && (int64_t)n > op->preceding) goto bad;
    for (uint32_t j = 0; j < n; j++) {
        int64_t t;
        if (dec_row(o, d, arena, row, &t) != 0) return -1;
        /* RANGE: in time order, none beyond the watermark (event time) */
        if (!op->rows && p->n && ring_at(p, p->n - 1)->time > t) goto bad;
        if (!op->proctime && t > o->wm) goto bad;
        orow *r = row_new(o, row, t, p);
        if (!r) return -1;
        if (ring_push(o, p, r) != 0) {
            row_free(o, r);
            return -1;
        }
        if (apply_all(o, p, r->v, 1) != SLUICE_OK) return -1;
    }
    if (!op->rows && p->n) p->stamp = ring_at(p, p->n - 1)->time;
    return 0;
bad:
    d->bad = 1;
    return -1;
}

static int restore_body(over_op *o, sluice_dec *d, sluice_arena *arena, sluice_value *row) {
    const sluice_over_plan *op = o->op;
    int64_t late = sluice_dec_i64(d);
    if (sluice_dec_u8(d) != 3 || late < 0) d->bad = 1;
    int64_t wm = sluice_dec_i64(d), proc_last = sluice_dec_i64(d);
    uint32_t np = sluice_dec_u32(d);
    /* every partition takes at least its frame count */
    if (np > (d->len - d->pos) / 4) d->bad = 1;
    if ((wm != INT64_MIN && !SLUICE_SANE_TIME(wm)) || (proc_last != INT64_MIN && !SLUICE_SANE_TIME(proc_last)))
        d->bad = 1;
    if (op->proctime ? wm != INT64_MIN : proc_last != INT64_MIN) d->bad = 1;
    if (d->bad) return -1;
    o->base.late_rows = (uint64_t)late;
    o->wm = wm;
    o->proc_last = proc_last;
    opart **parts = calloc(np + 1, sizeof *parts);
    if (!parts) return -1;
    int rc = 0;
    for (uint32_t i = 0; i < np && rc == 0; i++) {
        rc = restore_part(o, d, arena, row, parts, i);
        sluice_arena_reset(arena);
    }
    uint32_t npend = rc == 0 ? sluice_dec_u32(d) : 0;
    if (rc == 0 && (d->bad || npend > (d->len - d->pos) / (12 + op->width) || (npend && op->proctime))) {
        d->bad = 1;
        rc = -1;
    }
    int64_t last = INT64_MIN;
    for (uint32_t j = 0; j < npend && rc == 0; j++) {
        uint32_t idx = sluice_dec_u32(d);
        int64_t t;
        if (d->bad || idx >= np || dec_row(o, d, arena, row, &t) != 0 || t <= wm || t < last) {
            d->bad = 1;
            rc = -1;
            break;
        }
        last = t;
        orow *r = row_new(o, row, t, parts[idx]);
        if (!r || pend_push(o, r) != 0) {
            if (r) row_free(o, r);
            rc = -1;
        }
        sluice_arena_reset(arena);
    }
    free(parts);
    if (rc == 0 && d->bad) rc = -1;
    return rc;
}

static int over_restore(sluice_op *bop, sluice_dec *d, uint32_t version) {
    over_op *o = (over_op *)bop;
    (void)version;
    clear_all(o);
    sluice_arena *arena = sluice_arena_new(0);
    sluice_value *row = calloc(o->op->width + 1, sizeof *row);
    int rc = arena && row ? restore_body(o, d, arena, row) : -1;
    sluice_arena_destroy(arena);
    free(row);
    sluice_arena_reset(o->scratch);
    if (rc != 0) clear_all(o);
    return rc;
}

static void over_clear(sluice_op *bop) {
    clear_all((over_op *)bop);
}

static size_t over_state_bytes(const sluice_op *bop) {
    const over_op *o = (const over_op *)bop;
    return o->bytes + o->owned_bytes;
}

static size_t over_state_rows(const sluice_op *bop) {
    const over_op *o = (const over_op *)bop;
    return o->nrows + (o->bounded ? 0 : o->nparts);
}

static void over_close(sluice_op *bop) {
    over_op *o = (over_op *)bop;
    if (o->out_arena && o->scratch) clear_all(o);
    free(o->buckets);
    free(o->pend);
    sluice_arena_destroy(o->scratch);
    sluice_arena_destroy(o->out_arena);
    free(o->keys);
    free(o->out);
    free(o->aggs);
    free(o->recompute);
    free(o);
}

static sluice_err_t over_open(sluice_op *bop) {
    over_op *o = (over_op *)bop;
    const sluice_over_plan *op = o->op;
    size_t na = op->naggs;
    o->bounded = op->preceding >= 0;
    o->owidth = op->width + na;
    o->aggs = calloc(na + 1, sizeof *o->aggs);
    o->recompute = calloc(na + 1, sizeof *o->recompute);
    o->keys = calloc(op->npartition + 1, sizeof *o->keys);
    o->out = calloc((size_t)SLUICE_EMIT_BATCH * (o->owidth ? o->owidth : 1), sizeof *o->out);
    o->scratch = sluice_arena_new(0);
    o->out_arena = sluice_arena_new(0);
    if (!o->aggs || !o->recompute || !o->keys || !o->out || !o->scratch || !o->out_arena) return SLUICE_ERR_NOMEM;
    int small = op->rows && op->preceding <= OVER_RECOMPUTE_MAX_ROWS;
    for (size_t k = 0; k < na; k++) {
        o->aggs[k] = op->aggs[k];
        sluice_agg_plan *ag = &o->aggs[k];
        if (!o->bounded || ag->fn->retract) continue;
        const char *name = ag->fn->name;
        if (!small && !ag->fn->destroy && (strcmp(name, "MIN") == 0 || strcmp(name, "MAX") == 0)) {
            /* a large frame: the next extreme from a value -> count map */
            ag->inner = ag->fn;
            ag->fn = &sluice_agg_retractable_extreme;
            continue;
        }
        o->recompute[k] = 1;
        o->any_recompute = 1;
    }
    for (size_t k = 0; k < na; k++) o->any_string |= o->aggs[k].fn->holds_string;
    o->wm = INT64_MIN;
    o->proc_last = INT64_MIN;
    return SLUICE_OK;
}

static const sluice_op_ops over_ops = {
    .name = "over",
    .open = over_open,
    .process = over_process,
    .on_watermark = over_on_watermark,
    .snapshot_begin = over_snapshot_begin,
    .snapshot_next = over_snapshot_next,
    .snapshot_end = over_snapshot_end,
    .restore = over_restore,
    .clear = over_clear,
    .state_bytes = over_state_bytes,
    .state_rows = over_state_rows,
    .close = over_close,
};

sluice_op *sluice_op_over_new(const sluice_over_plan *op, sluice_op_ctx *ctx, sluice_op *down) {
    over_op *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->base.ops = &over_ops;
    o->base.ctx = ctx;
    o->base.down = down;
    o->op = op;
    return &o->base;
}
