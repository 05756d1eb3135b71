/*
 * The query engine (transform module "sql") as a DAG of operators
 * (exec/operator.h, docs/architecture.md "The operator DAG").  Derived
 * relations (views, subqueries, joins, rankings, OVER: plan->rels) are
 * built first, in dependency order, each ending in a tee that feeds its
 * readers; then each sink's query, whose first operator reads a source's
 * scan or a relation's tee:
 *
 *   scan(source) ──> calc(query) ──> [window_agg | session](query) ──> sink(query)
 *                └─> calc(query') ──> sink(query')          (stateless)
 *
 * This file builds the DAG from the plan, drives it per micro-batch —
 * process() pushes each poll's rows from the scan down every query's
 * chain; end_batch() advances the watermarks and hands each stateful
 * operator its watermark (on_watermark), which emits into the sink — and
 * frames the operators' snapshots.
 *
 * Processing time (PROCTIME(), as in Flink): a row's time is the wall
 * clock when its records are processed (read once per poll), and the
 * windows of such a query are closed by the wall clock read at the end of
 * each micro-batch in place of a watermark; the end of a bounded input
 * closes them all.  So processing-time results depend on when rows arrive
 * and are not reproduced by a replay of the same input.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "exec/engine.h"
#include "exec/op_scan.h"
#include "exec/operator.h"

typedef struct dag_query {
    sluice_op *unnest;         /* CROSS JOIN UNNEST, or NULL */
    sluice_op *calc;           /* the query's filter (its first operator without UNNEST) */
    sluice_op *state;          /* window_agg or session; NULL for a stateless query */
    sluice_op *sink;
} dag_query;

/* A derived relation (plan.h sluice_rel): a query block ending in a
 * projection, a join or a rank node; its rows leave through the tee.  A
 * UNION ALL has no operator: its readers read each branch's tee. */
typedef struct dag_rel {
    dag_query q;               /* QUERY: its chain (q.sink is the projection) */
    sluice_op *node;           /* JOIN, RANK */
    sluice_op *tee;            /* NULL for UNION */
    int64_t wm;                /* its watermark: the minimum over its inputs (ms) */
    int had_input;             /* records reached a source under it in this micro-batch */
    int ended;                 /* every source under it has ended */
} dag_rel;

typedef struct sluice_engine {
    sluice_transform base;
    const sluice_plan *plan;
    sluice_op_scan **scans;    /* per source */
    dag_query *queries;        /* per query */
    dag_rel *rels;             /* per derived relation (plan->rels) */
    sluice_op_ctx ctx;
    int epoch_open;            /* process() or end_batch() ran since the last reset */
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

static void begin_epoch(sluice_engine *en) {
    if (en->epoch_open) return;
    sluice_arena_reset(en->ctx.batch_arena);
    for (size_t i = 0; i < en->plan->nqueries; i++) sluice_op_sink_clear(en->queries[i].sink);
    for (size_t i = 0; i < en->plan->nsources; i++) en->scans[i]->had_input = 0;
    if (!en->batch_time_set) en->batch_time = sluice_clock_realtime_ms();
    for (size_t i = 0; i < en->plan->nrels; i++)
        if (en->rels[i].tee) sluice_op_tee_set_time(en->rels[i].tee, en->rels[i].wm, en->proc_wm);
    en->epoch_open = 1;
}

static sluice_err_t engine_process(sluice_transform *t, size_t source, sluice_source *src,
                                   const sluice_record_batch *in, char *errstr, size_t errstr_size) {
    sluice_engine *en = (sluice_engine *)t;
    if (source >= en->plan->nsources)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "transform: no source %zu", source);
    begin_epoch(en);
    sluice_op_scan *s = en->scans[source];
    if (sluice_op_scan_decode(s, src, in, en->batch_time) != SLUICE_OK)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "transform: out of memory");
    if (s->proctime && s->nrows) proc_clock(en);
    en->ctx.err[0] = '\0';
    size_t k = 0;
    sluice_err_t err = sluice_op_scan_push(s, en->proc_wm, en->proc_now, &k);
    if (err) {
        if (en->ctx.err[0]) return sluice_seterr(errstr, errstr_size, err, "%s", en->ctx.err);
        return sluice_seterr(errstr, errstr_size, err, "sink %s: %s",
                             s->downs[k]->q ? s->downs[k]->q->name : s->sp->name, sluice_err2str(err));
    }
    return SLUICE_OK;
}

/* 1 when, with no more input, no state can ever be freed: no query runs
 * over PROCTIME() (the clock closes those windows), and each source that
 * has not ended either has no partition that can still become idle (every
 * one is idle already, or idleness is off), so its watermark, the minimum
 * over the partitions that are not idle, cannot move. */
static int state_frozen(const sluice_engine *en, int64_t now) {
    for (size_t k = 0; k < en->plan->nqueries; k++)
        if (en->plan->queries[k].proctime) return 0;
    for (size_t i = 0; i < en->plan->nrels; i++)
        if (en->plan->rels[i].kind == SLUICE_REL_QUERY && en->plan->rels[i].query->proctime) return 0;
    for (size_t i = 0; i < en->plan->nsources; i++) {
        const sluice_op_scan *s = en->scans[i];
        if (s->ended || !s->sp->has_watermark || s->opts.idle_timeout_ms <= 0) continue;
        for (size_t j = 0; j < s->nparts; j++)
            if (now - s->parts[j].last_seen_ms < s->opts.idle_timeout_ms) return 0;
    }
    return 1;
}

/* The watermark of an input (a source's, or a relation's as last
 * computed), whether records reached it in this micro-batch, and whether
 * it has ended. */
static void input_time(const sluice_engine *en, sluice_input in, int64_t *wm, int *had, int *ended) {
    if (in.derived) {
        const dag_rel *dr = &en->rels[in.index];
        *wm = dr->wm;
        *had = dr->had_input;
        *ended = dr->ended;
        return;
    }
    const sluice_op_scan *s = en->scans[in.index];
    *wm = s->watermark;
    *had = s->had_input;
    *ended = s->ended;
}

/* A relation's watermark: the minimum over its inputs (Flink's rule for
 * operators with several inputs). */
static void rel_time(sluice_engine *en, size_t i) {
    const sluice_rel *r = &en->plan->rels[i];
    dag_rel *dr = &en->rels[i];
    int64_t wm = SLUICE_TS_MAX;
    int had = 0, ended = 1;
    for (size_t k = 0; k < r->ninputs; k++) {
        int64_t w;
        int h, e;
        input_time(en, r->inputs[k], &w, &h, &e);
        if (w < wm) wm = w;
        had |= h;
        ended &= e;
    }
    dr->wm = wm;
    dr->had_input = had;
    dr->ended = ended;
}

static sluice_err_t engine_end_batch(sluice_transform *t, int64_t epoch, const sluice_row_batch **out,
                                     size_t nsinks, char *errstr, size_t errstr_size) {
    (void)epoch;
    sluice_engine *en = (sluice_engine *)t;
    if (nsinks != en->plan->nqueries)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "transform: %zu sinks, plan has %zu", nsinks,
                             en->plan->nqueries);
    begin_epoch(en);
    for (size_t i = 0; i < en->plan->nsources; i++) sluice_op_scan_warn_malformed(en->scans[i]);
    int64_t now = en->batch_time;
    for (size_t i = 0; i < en->plan->nsources; i++) sluice_op_scan_advance_watermark(en->scans[i], now);
    en->frozen = state_frozen(en, now);
    for (size_t i = 0; i < en->plan->nsources; i++)
        if (en->scans[i]->proctime) {
            en->proc_wm = proc_clock(en);
            break;
        }
    /* relations in dependency order: what one emits on its watermark
     * reaches its readers before they get theirs */
    for (size_t i = 0; i < en->plan->nrels; i++) {
        const sluice_rel *r = &en->plan->rels[i];
        dag_rel *dr = &en->rels[i];
        rel_time(en, i);
        sluice_op *op = r->kind == SLUICE_REL_QUERY ? dr->q.state : dr->node;
        int64_t wm = dr->wm;
        if (r->kind == SLUICE_REL_QUERY && r->query->proctime) wm = dr->ended ? SLUICE_TS_MAX : en->proc_wm;
        if (op && op->ops->on_watermark && op->ops->on_watermark(op, wm, dr->had_input) != 0)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "%s: out of memory", r->name);
    }
    for (size_t k = 0; k < en->plan->nqueries; k++) {
        dag_query *dq = &en->queries[k];
        const sluice_query_plan *q = &en->plan->queries[k];
        int64_t in_wm;
        int had, ended;
        input_time(en, q->input, &in_wm, &had, &ended);
        int64_t wm = q->proctime ? (ended ? SLUICE_TS_MAX : en->proc_wm) : in_wm;
        if (dq->state && dq->state->ops->on_watermark(dq->state, wm, had) != 0)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s: out of memory", q->name);
        out[k] = sluice_op_sink_output(dq->sink);
    }
    en->epoch_open = 0;
    en->batch_time_set = 0;
    return SLUICE_OK;
}

static void engine_resume(sluice_transform *t, int64_t now_ms) {
    sluice_engine *en = (sluice_engine *)t;
    for (size_t i = 0; i < en->plan->nsources; i++)
        for (size_t p = 0; p < en->scans[i]->nparts; p++)
            if (en->scans[i]->parts[p].last_seen_ms < now_ms) en->scans[i]->parts[p].last_seen_ms = now_ms;
}

static void engine_set_time(sluice_transform *t, int64_t now_ms) {
    sluice_engine *en = (sluice_engine *)t;
    en->batch_time = now_ms;
    en->batch_time_set = 1;
}

/* ---------------- snapshots (checkpointing) ----------------
 *
 * Taken between micro-batches, when no emit is pending.  The frame
 * (state/codec.h encoding; docs/architecture.md "Snapshot bytes"):
 *   u32 version
 *   per source: the scan's state
 *   per query:  its stateful operator's state; a stateless query writes
 *               i64 late_rows, u8 0, u32 0 (no windows)
 *   i64 proc_wm, i64 proc_now
 * Version 1 lacks the string_bytes fields of the operators' states; it is
 * still read.  Restore checks what it decodes against the plan and refuses
 * anything else as SLUICE_ERR_MALFORMED.
 */

/* The operator holding a relation's state, or NULL. */
static sluice_op *rel_state(const sluice_engine *en, size_t i) {
    const dag_rel *dr = &en->rels[i];
    sluice_op *op = en->plan->rels[i].kind == SLUICE_REL_QUERY ? dr->q.state : dr->node;
    return op && op->ops->snapshot_begin ? op : NULL;
}

static void snapshot_op(sluice_op *op, sluice_enc *e) {
    op->ops->snapshot_begin(op);
    while (op->ops->snapshot_next(op, e)) {
    }
    op->ops->snapshot_end(op);
}

static sluice_err_t engine_snapshot(sluice_transform *t, void **buf, size_t *len, char *errstr, size_t errstr_size) {
    sluice_engine *en = (sluice_engine *)t;
    sluice_enc e = {0};
    sluice_enc_u32(&e, SLUICE_SNAPSHOT_VERSION);
    for (size_t i = 0; i < en->plan->nsources; i++) snapshot_op(&en->scans[i]->base, &e);
    for (size_t k = 0; k < en->plan->nqueries; k++) {
        dag_query *dq = &en->queries[k];
        if (dq->state) {
            snapshot_op(dq->state, &e);
        } else {
            sluice_enc_i64(&e, (int64_t)dq->sink->late_rows);
            sluice_enc_u8(&e, 0);
            sluice_enc_u32(&e, 0);
        }
    }
    for (size_t i = 0; i < en->plan->nrels; i++) {
        sluice_op *op = rel_state(en, i);
        if (op) snapshot_op(op, &e);
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

static sluice_err_t engine_restore(sluice_transform *t, const void *buf, size_t len, char *errstr,
                                   size_t errstr_size) {
    sluice_engine *en = (sluice_engine *)t;
    sluice_dec d;
    sluice_dec_init(&d, buf, len);
    int oom = 0;
    uint32_t version = sluice_dec_u32(&d);
    if (version < SLUICE_SNAPSHOT_VERSION_MIN || version > SLUICE_SNAPSHOT_VERSION) d.bad = 1;
    for (size_t i = 0; i < en->plan->nsources && !d.bad && !oom; i++) {
        sluice_op *op = &en->scans[i]->base;
        if (op->ops->restore(op, &d, version) != 0 && !d.bad) oom = 1;
    }
    for (size_t k = 0; k < en->plan->nqueries && !d.bad && !oom; k++) {
        dag_query *dq = &en->queries[k];
        if (dq->state) {
            if (dq->state->ops->restore(dq->state, &d, version) != 0 && !d.bad) oom = 1;
            continue;
        }
        dq->sink->late_rows = (uint64_t)sluice_dec_i64(&d);
        if (sluice_dec_u8(&d) != 0 || sluice_dec_u32(&d) != 0) d.bad = 1; /* state for a stateless query */
    }
    for (size_t i = 0; i < en->plan->nrels && !d.bad && !oom; i++) {
        sluice_op *op = rel_state(en, i);
        if (op && op->ops->restore(op, &d, version) != 0 && !d.bad) oom = 1;
    }
    if (!oom) {
        en->proc_wm = sluice_dec_i64(&d);
        en->proc_now = sluice_dec_i64(&d);
        if ((!SLUICE_SANE_TIME(en->proc_wm) && en->proc_wm != SLUICE_TS_MIN) ||
            (!SLUICE_SANE_TIME(en->proc_now) && en->proc_now != SLUICE_TS_MIN))
            d.bad = 1;
        if (!d.bad && d.pos != len) d.bad = 1;
    }
    if (oom || d.bad) {
        /* leave an empty state, not a part of the snapshot */
        for (size_t k = 0; k < en->plan->nqueries; k++)
            if (en->queries[k].state) en->queries[k].state->ops->clear(en->queries[k].state);
        for (size_t i = 0; i < en->plan->nrels; i++) {
            sluice_op *op = rel_state(en, i);
            if (op && op->ops->clear) op->ops->clear(op);
        }
        for (size_t i = 0; i < en->plan->nsources; i++) en->scans[i]->base.ops->clear(&en->scans[i]->base);
        en->proc_wm = en->proc_now = SLUICE_TS_MIN;
    }
    if (oom)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "transform: out of memory restoring a snapshot");
    if (d.bad)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_MALFORMED,
                             "transform: the state snapshot does not decode for this pipeline");
    /* the relations' watermarks follow from the restored sources' */
    for (size_t i = 0; i < en->plan->nrels; i++) rel_time(en, i);
    return SLUICE_OK;
}

/* ---------------- stats ---------------- */

static size_t query_state_bytes(const dag_query *dq) {
    return dq->state ? dq->state->ops->state_bytes(dq->state) : 0;
}

/* Groups held now; for SESSION windows, open sessions. */
static size_t query_state_rows(const dag_query *dq) {
    return dq->state ? dq->state->ops->state_rows(dq->state) : 0;
}

static sluice_op *rel_op_with_state(const sluice_engine *en, size_t i) {
    const dag_rel *dr = &en->rels[i];
    return en->plan->rels[i].kind == SLUICE_REL_QUERY ? dr->q.state : dr->node;
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
    for (size_t i = 0; i < en->plan->nrels; i++) {
        sluice_op *op = rel_op_with_state(en, i);
        if (!op) continue;
        size_t bytes = op->ops->state_bytes ? op->ops->state_bytes(op) : 0;
        out->state_rows += op->ops->state_rows ? op->ops->state_rows(op) : 0;
        out->state_bytes += bytes;
        /* state no watermark frees: regular joins, rankings, aggregates
         * without a window (interval and temporal joins, windows and OVER
         * free theirs as the watermark passes) */
        const sluice_rel *r = &en->plan->rels[i];
        int kept = en->frozen || r->kind == SLUICE_REL_RANK ||
                   (r->kind == SLUICE_REL_JOIN && r->join->strategy == SLUICE_JOIN_REGULAR) ||
                   (r->kind == SLUICE_REL_QUERY && r->query->aggregate &&
                    (r->query->emit == SLUICE_EMIT_COMPLETE || r->query->window == SLUICE_WINDOW_NONE));
        if (kept) out->kept_state_bytes += bytes;
    }
    /* size_t sums: a wrap-around (a "negative" size) would show here */
    assert(out->kept_state_bytes <= out->state_bytes);
    int64_t wm = SLUICE_TS_MAX;
    int any = 0;
    for (size_t i = 0; i < en->plan->nsources; i++) {
        if (!en->scans[i]->sp->has_watermark) continue;
        any = 1;
        if (en->scans[i]->watermark < wm) wm = en->scans[i]->watermark;
    }
    out->watermark = any ? wm : SLUICE_TS_MIN;
}

void sluice_engine_set_clock(sluice_transform *t, sluice_engine_clock_fn fn, void *ctx) {
    sluice_engine *en = (sluice_engine *)t;
    en->clock = fn ? fn : realtime_clock;
    en->clock_ctx = fn ? ctx : NULL;
}

void sluice_engine_set_dead_letter(sluice_transform *t, sluice_dead_letter *dlq) {
    ((sluice_engine *)t)->ctx.dlq = dlq;
}

int64_t sluice_engine_source_watermark(const sluice_transform *t, size_t source) {
    const sluice_engine *en = (const sluice_engine *)t;
    return en->scans[source]->watermark;
}

size_t sluice_engine_state_bytes(const sluice_transform *t) {
    const sluice_engine *en = (const sluice_engine *)t;
    size_t bytes = 0;
    for (size_t k = 0; k < en->plan->nqueries; k++) bytes += query_state_bytes(&en->queries[k]);
    for (size_t i = 0; i < en->plan->nrels; i++) {
        sluice_op *op = rel_op_with_state(en, i);
        if (op && op->ops->state_bytes) bytes += op->ops->state_bytes(op);
    }
    return bytes;
}

void sluice_engine_query_stats_get(const sluice_transform *t, size_t query, sluice_engine_query_stats *out) {
    const sluice_engine *en = (const sluice_engine *)t;
    const dag_query *dq = &en->queries[query];
    const sluice_query_plan *q = &en->plan->queries[query];
    out->late_rows = dq->state ? dq->state->late_rows : dq->sink->late_rows;
    out->state_rows = query_state_rows(dq);
    out->state_bytes = query_state_bytes(dq);
    /* a PROCTIME() query progresses by processing time, not by a watermark */
    int64_t wm;
    int had, ended;
    input_time(en, q->input, &wm, &had, &ended);
    out->watermark = q->proctime ? en->proc_wm : wm;
}

void sluice_engine_source_stats_get(const sluice_transform *t, size_t source, sluice_engine_source_stats *out) {
    const sluice_engine *en = (const sluice_engine *)t;
    out->input_rows = en->scans[source]->input_rows;
    out->malformed_rows = en->scans[source]->malformed_rows;
}

static void engine_destroy(sluice_transform *t) {
    sluice_engine *en = (sluice_engine *)t;
    if (!en) return;
    if (en->scans)
        for (size_t i = 0; i < en->plan->nsources; i++) sluice_op_close(en->scans[i] ? &en->scans[i]->base : NULL);
    if (en->queries)
        for (size_t k = 0; k < en->plan->nqueries; k++) {
            sluice_op_close(en->queries[k].unnest);
            sluice_op_close(en->queries[k].calc);
            sluice_op_close(en->queries[k].state);
            sluice_op_close(en->queries[k].sink);
        }
    if (en->rels)
        for (size_t i = 0; i < en->plan->nrels; i++) {
            dag_rel *dr = &en->rels[i];
            sluice_op_close(dr->q.unnest);
            sluice_op_close(dr->q.calc);
            sluice_op_close(dr->q.state);
            sluice_op_close(dr->q.sink);
            sluice_op_close(dr->node);
            sluice_op_close(dr->tee);
        }
    free(en->scans);
    free(en->queries);
    free(en->rels);
    sluice_arena_destroy(en->ctx.batch_arena);
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

/* Make `down` read input `in`: a source's scan, a relation's tee, or each
 * branch of a UNION ALL. */
static sluice_err_t attach(sluice_engine *en, sluice_input in, sluice_op *down) {
    if (!in.derived) {
        sluice_op_scan *s = en->scans[in.index];
        s->downs[s->ndowns++] = down;
        return SLUICE_OK;
    }
    const sluice_rel *r = &en->plan->rels[in.index];
    if (r->kind == SLUICE_REL_UNION) {
        for (size_t k = 0; k < r->ninputs; k++)
            if (attach(en, r->inputs[k], down) != SLUICE_OK) return SLUICE_ERR_NOMEM;
        return SLUICE_OK;
    }
    return sluice_op_tee_add(en->rels[in.index].tee, down) == 0 ? SLUICE_OK : SLUICE_ERR_NOMEM;
}

/* The chain of query q: [unnest ->] calc -> [window_agg | session] -> out,
 * opened from the end (each operator takes its downstream at creation);
 * its first operator reads q's input. */
static sluice_err_t build_chain(sluice_engine *en, const sluice_query_plan *q, dag_query *dq) {
    sluice_op *next = dq->sink;
    if (q->aggregate) {
        dq->state = q->window == SLUICE_WINDOW_SESSION ? sluice_op_session_new(q, &en->ctx, next)
                                                       : sluice_op_window_agg_new(q, &en->ctx, next);
        if (!dq->state || dq->state->ops->open(dq->state) != SLUICE_OK) return SLUICE_ERR_NOMEM;
        next = dq->state;
    }
    if (!(dq->calc = sluice_op_calc_new(en->plan, q, &en->ctx, next))) return SLUICE_ERR_NOMEM;
    sluice_op *first = dq->calc;
    if (q->unnest) {
        /* CROSS JOIN UNNEST: the calc and everything after it see the extended rows */
        if (!(dq->unnest = sluice_op_unnest_new(q, &en->ctx, dq->calc))) return SLUICE_ERR_NOMEM;
        first = dq->unnest;
    }
    return attach(en, q->input, first);
}

static sluice_err_t build_query(sluice_engine *en, size_t k) {
    const sluice_query_plan *q = &en->plan->queries[k];
    dag_query *dq = &en->queries[k];
    if (!(dq->sink = sluice_op_sink_new(q, &en->ctx)) || dq->sink->ops->open(dq->sink) != SLUICE_OK)
        return SLUICE_ERR_NOMEM;
    return build_chain(en, q, dq);
}

/* The operators of relation i; its inputs (lower indexes) exist. */
static sluice_err_t build_rel(sluice_engine *en, size_t i) {
    const sluice_rel *r = &en->plan->rels[i];
    dag_rel *dr = &en->rels[i];
    dr->wm = SLUICE_TS_MIN;
    if (r->kind == SLUICE_REL_UNION) return SLUICE_OK;
    if (!(dr->tee = sluice_op_tee_new(&r->row, &en->ctx))) return SLUICE_ERR_NOMEM;
    switch (r->kind) {
    case SLUICE_REL_QUERY:
        if (!(dr->q.sink = sluice_op_project_new(r->query, &en->ctx, dr->tee))) return SLUICE_ERR_NOMEM;
        return build_chain(en, r->query, &dr->q);
    case SLUICE_REL_JOIN:
        if (!(dr->node = sluice_op_join_new(r->join, &en->ctx, dr->tee)) ||
            (dr->node->ops->open && dr->node->ops->open(dr->node) != SLUICE_OK))
            return SLUICE_ERR_NOMEM;
        if (attach(en, r->inputs[0], sluice_op_join_input(dr->node, 0)) != SLUICE_OK ||
            attach(en, r->inputs[1], sluice_op_join_input(dr->node, 1)) != SLUICE_OK)
            return SLUICE_ERR_NOMEM;
        return SLUICE_OK;
    case SLUICE_REL_RANK:
        if (!(dr->node = sluice_op_rank_new(r->rank, &en->ctx, dr->tee)) ||
            (dr->node->ops->open && dr->node->ops->open(dr->node) != SLUICE_OK))
            return SLUICE_ERR_NOMEM;
        return attach(en, r->inputs[0], dr->node);
    case SLUICE_REL_TEMPORAL:
        if (!(dr->node = sluice_op_temporal_join_new(r->temporal, &en->ctx, dr->tee)) ||
            (dr->node->ops->open && dr->node->ops->open(dr->node) != SLUICE_OK))
            return SLUICE_ERR_NOMEM;
        if (attach(en, r->inputs[0], sluice_op_temporal_join_input(dr->node, 0)) != SLUICE_OK ||
            attach(en, r->inputs[1], sluice_op_temporal_join_input(dr->node, 1)) != SLUICE_OK)
            return SLUICE_ERR_NOMEM;
        return SLUICE_OK;
    case SLUICE_REL_OVER:
        if (!(dr->node = sluice_op_over_new(r->over, &en->ctx, dr->tee)) ||
            (dr->node->ops->open && dr->node->ops->open(dr->node) != SLUICE_OK))
            return SLUICE_ERR_NOMEM;
        return attach(en, r->inputs[0], dr->node);
    case SLUICE_REL_LOOKUP:
        if (!(dr->node = sluice_op_lookup_join_new(r->lookup, &en->ctx, dr->tee))) return SLUICE_ERR_NOMEM;
        return attach(en, r->inputs[0], dr->node);
    case SLUICE_REL_UNION: break;
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
    en->ctx.dlq = dlq;
    en->ctx.stats = &en->stats;
    en->stats.watermark = SLUICE_TS_MIN;
    en->clock = realtime_clock;
    en->proc_now = en->proc_wm = SLUICE_TS_MIN;
    en->ctx.batch_arena = sluice_arena_new(256 * 1024);
    en->scans = calloc(plan->nsources + 1, sizeof *en->scans);
    en->queries = calloc(plan->nqueries + 1, sizeof *en->queries);
    en->rels = calloc(plan->nrels + 1, sizeof *en->rels);
    sluice_err_t err = SLUICE_OK;
    if (!en->ctx.batch_arena || !en->scans || !en->queries || !en->rels) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < plan->nsources; i++)
        if ((err = sluice_op_scan_new(plan, i, &opts[i], srcs ? srcs[i] : NULL, &en->ctx, &en->scans[i], errstr,
                                      errstr_size)) != SLUICE_OK)
            goto fail;
    for (size_t i = 0; i < plan->nrels; i++)
        if ((err = build_rel(en, i)) != SLUICE_OK) goto fail;
    for (size_t k = 0; k < plan->nqueries; k++)
        if ((err = build_query(en, k)) != SLUICE_OK) goto fail;
    *out = &en->base;
    return SLUICE_OK;
fail:
    if (err == SLUICE_ERR_NOMEM) sluice_seterr(errstr, errstr_size, err, "transform: out of memory");
    engine_destroy(&en->base);
    return err;
}
