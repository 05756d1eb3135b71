/*
 * The scan operator (exec/op_scan.h): records -> rows of the source's
 * columns, partitions, watermark, malformed records.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "exec/op_scan.h"

static int same_topic(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The state of input partition (topic, p), created on first sight. */
static sluice_scan_partition *partition_get(sluice_op_scan *s, const char *topic, int32_t p, int64_t now) {
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i].partition == p && same_topic(s->parts[i].topic, topic)) return &s->parts[i];
    if (s->nparts == s->pcap) {
        size_t nc = s->pcap ? s->pcap * 2 : 4;
        sluice_scan_partition *np = realloc(s->parts, nc * sizeof *np);
        if (!np) return NULL;
        s->parts = np;
        s->pcap = nc;
    }
    char *t = NULL;
    if (topic && !(t = strdup(topic))) return NULL;
    sluice_scan_partition *ps = &s->parts[s->nparts++];
    ps->topic = t;
    ps->partition = p;
    ps->max_ts = SLUICE_TS_MIN;
    ps->last_seen_ms = now;
    return ps;
}

/* Remember where the first malformed record of the micro-batch was and
 * why, for the warning sluice_op_scan_warn_malformed() writes when there is
 * no dead-letter file to keep it. */
static void note_first_malformed(sluice_op_scan *s, const sluice_record *rec, const char *reason) {
    char pos[400];
    if (s->src && s->src->ops->position)
        s->src->ops->position(s->src, rec, pos, sizeof pos);
    else
        snprintf(pos, sizeof pos, "partition %d offset %lld", (int)rec->partition, (long long)rec->offset);
    snprintf(s->first_malformed, sizeof s->first_malformed, "%s: %s", pos, reason[0] ? reason : "malformed record");
}

void sluice_op_scan_warn_malformed(sluice_op_scan *s) {
    if (!s->malformed_unlogged) return;
    sluice_log(SLUICE_LOG_WARN, NULL, "source", s->sp->name,
               "%llu malformed record%s dropped in this micro-batch (set [pipeline] dead_letter to keep them); "
               "the first at %s",
               (unsigned long long)s->malformed_unlogged, s->malformed_unlogged == 1 ? "" : "s", s->first_malformed);
    s->malformed_unlogged = 0;
}

sluice_err_t sluice_op_scan_decode(sluice_op_scan *s, sluice_source *src, const sluice_record_batch *in, int64_t now) {
    sluice_op_ctx *ctx = s->base.ctx;
    const sluice_source_plan *sp = s->sp;
    size_t nc = sp->schema.ncolumns;
    s->src = src;
    if (in->count > s->rows_cap) {
        /* row indices of a selection are 32 bits (operator.h) */
        if (in->count > UINT32_MAX) return SLUICE_ERR_NOMEM;
        size_t cap = in->count;
        sluice_value *nr = realloc(s->rows, cap * nc * sizeof *nr);
        if (!nr) return SLUICE_ERR_NOMEM;
        s->rows = nr;
        const sluice_record **nrec = realloc(s->recs, cap * sizeof *nrec);
        if (!nrec) return SLUICE_ERR_NOMEM;
        s->recs = nrec;
        s->rows_cap = cap;
    }
    s->nrows = 0;
    sluice_scan_partition *ps = NULL;
    for (size_t a = 0; a < in->nassigned; a++)
        if (!partition_get(s, in->assigned[a].topic, in->assigned[a].partition, now)) return SLUICE_ERR_NOMEM;
    char reason[512];
    for (size_t r = 0; r < in->count; r++) {
        const sluice_record *rec = &in->records[r];
        ctx->stats->input_rows++;
        s->input_rows++;
        if (!ps || ps->partition != rec->partition || !same_topic(ps->topic, rec->topic)) {
            if (!(ps = partition_get(s, rec->topic, rec->partition, now))) return SLUICE_ERR_NOMEM;
        }
        ps->last_seen_ms = now;
        sluice_value *row = s->rows + s->nrows * nc;
        if (s->nspecs) {
            reason[0] = '\0';
            if (sluice_decoder_decode(s->dec, rec->value, rec->value_len, s->decoded, ctx->batch_arena, reason,
                                      sizeof reason) != SLUICE_OK) {
                ctx->stats->malformed_rows++;
                s->malformed_rows++;
                sluice_op_dead_letter(ctx, sp, s->src, rec, NULL, reason[0] ? reason : "malformed record");
                if (!sluice_dead_letter_keeps(ctx->dlq) && !s->malformed_unlogged++) note_first_malformed(s, rec, reason);
                continue;
            }
        }
        if (s->reads_record_time && !sluice_ts_in_range(rec->timestamp_ms)) {
            /* a producer can set any int64 as a Kafka record's timestamp:
             * outside TIMESTAMP's range it is malformed, as a decoded one */
            snprintf(reason, sizeof reason,
                     "record timestamp %lld ms is outside 0000-01-01 .. 9999-12-31 (METADATA FROM 'timestamp')",
                     (long long)rec->timestamp_ms);
            ctx->stats->malformed_rows++;
            s->malformed_rows++;
            sluice_op_dead_letter(ctx, sp, s->src, rec, NULL, reason);
            if (!sluice_dead_letter_keeps(ctx->dlq) && !s->malformed_unlogged++) note_first_malformed(s, rec, reason);
            continue;
        }
        for (size_t c = 0; c < nc; c++) row[c] = sluice_value_null();
        for (size_t k = 0; k < s->nspecs; k++) row[s->spec_col[k]] = s->decoded[k];
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
        s->recs[s->nrows++] = rec;
    }
    if (in->end_of_input) s->ended = 1;
    if (in->count) s->had_input = 1;
    return SLUICE_OK;
}

sluice_err_t sluice_op_scan_push(sluice_op_scan *s, int64_t proc_watermark, int64_t proc_time, size_t *failed_down) {
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = s->rows;
    b.ncolumns = s->sp->schema.ncolumns;
    b.nrows = s->nrows;
    b.recs = s->recs;
    b.sp = s->sp;
    b.src = s->src;
    b.watermark = s->watermark;
    b.proc_watermark = proc_watermark;
    b.proc_time = proc_time;
    for (size_t k = 0; k < s->ndowns; k++) {
        sluice_err_t err = s->downs[k]->ops->process(s->downs[k], &b);
        if (err) {
            *failed_down = k;
            return err;
        }
    }
    return SLUICE_OK;
}

void sluice_op_scan_advance_watermark(sluice_op_scan *s, int64_t now) {
    if (s->ended) {
        s->watermark = SLUICE_TS_MAX;
        return;
    }
    if (!s->sp->has_watermark) return;
    int64_t wm = SLUICE_TS_MAX;
    int any = 0;
    for (size_t i = 0; i < s->nparts; i++) {
        const sluice_scan_partition *p = &s->parts[i];
        if (s->opts.idle_timeout_ms > 0 && now - p->last_seen_ms >= s->opts.idle_timeout_ms) continue;
        /* a partition without an event time yet holds the watermark back
         * until it is idle (Flink: a split's watermark starts at -inf) */
        int64_t pw = p->max_ts == SLUICE_TS_MIN ? SLUICE_TS_MIN : p->max_ts - s->sp->watermark_delay_ms;
        if (pw < wm) wm = pw;
        any = 1;
    }
    int64_t before = s->watermark;
    if (any && wm > s->watermark) s->watermark = wm;
    /* a watermark never goes back (each partition's max_ts only grows) */
    assert(s->watermark >= before);
    (void)before;
}

/* ---------------- snapshot ----------------
 * i64 watermark, u8 ended, u32 npartitions; per partition: str topic,
 * u32 partition, i64 max_ts, i64 last_seen_ms. */

static void scan_snapshot_begin(sluice_op *op) {
    ((sluice_op_scan *)op)->snap_pos = 0;
}

static int scan_snapshot_next(sluice_op *op, sluice_enc *e) {
    sluice_op_scan *s = (sluice_op_scan *)op;
    if (s->snap_pos == 0) {
        sluice_enc_i64(e, s->watermark);
        sluice_enc_u8(e, (uint8_t)s->ended);
        sluice_enc_u32(e, (uint32_t)s->nparts);
        s->snap_pos = 1;
        return 1;
    }
    if (s->snap_pos > s->nparts) return 0;
    const sluice_scan_partition *p = &s->parts[s->snap_pos++ - 1];
    sluice_enc_str(e, p->topic);
    sluice_enc_u32(e, (uint32_t)p->partition);
    sluice_enc_i64(e, p->max_ts);
    sluice_enc_i64(e, p->last_seen_ms);
    return 1;
}

static void scan_snapshot_end(sluice_op *op) {
    ((sluice_op_scan *)op)->snap_pos = 0;
}

static void scan_clear(sluice_op *op) {
    sluice_op_scan *s = (sluice_op_scan *)op;
    for (size_t p = 0; p < s->nparts; p++) free(s->parts[p].topic);
    s->nparts = 0;
    s->watermark = SLUICE_TS_MIN;
    s->ended = 0;
}

static int scan_restore(sluice_op *op, sluice_dec *d, uint32_t version) {
    (void)version;
    sluice_op_scan *s = (sluice_op_scan *)op;
    scan_clear(op);
    sluice_arena *tmp = sluice_arena_new(0);
    if (!tmp) return -1;
    int rc = 0;
    s->watermark = sluice_dec_i64(d);
    uint8_t ended = sluice_dec_u8(d);
    s->ended = ended != 0;
    if (ended > 1 ||
        (!SLUICE_SANE_TIME(s->watermark) && s->watermark != SLUICE_TS_MIN && s->watermark != SLUICE_TS_MAX))
        d->bad = 1;
    uint32_t np = sluice_dec_u32(d);
    for (uint32_t p = 0; p < np && !d->bad; p++) {
        size_t at = d->pos;
        const char *topic = sluice_dec_str(d, tmp);
        /* a topic name is a C string: its encoded bytes hold no NUL */
        int nul_inside = topic && d->pos - at - 4 != strlen(topic);
        int32_t part = (int32_t)sluice_dec_u32(d);
        int64_t max_ts = sluice_dec_i64(d);
        int64_t seen = sluice_dec_i64(d);
        if (d->bad || nul_inside || (!SLUICE_SANE_TIME(max_ts) && max_ts != SLUICE_TS_MIN) || !SLUICE_SANE_TIME(seen)) {
            d->bad = 1;
            break;
        }
        size_t before = s->nparts;
        sluice_scan_partition *ps = partition_get(s, topic, part, seen);
        if (!ps) {
            rc = -1;
            break;
        }
        if (s->nparts == before) d->bad = 1; /* listed twice */
        ps->max_ts = max_ts;
        ps->last_seen_ms = seen;
    }
    sluice_arena_destroy(tmp);
    return d->bad ? -1 : rc;
}

static void scan_close(sluice_op *op) {
    sluice_op_scan *s = (sluice_op_scan *)op;
    sluice_decoder_free(s->dec);
    free(s->specs);
    free(s->spec_col);
    free(s->decoded);
    free(s->rows);
    free(s->recs);
    for (size_t p = 0; p < s->nparts; p++) free(s->parts[p].topic);
    free(s->parts);
    free(s->downs);
    free(s);
}

static const sluice_op_ops scan_ops = {
    .name = "scan",
    .snapshot_begin = scan_snapshot_begin,
    .snapshot_next = scan_snapshot_next,
    .snapshot_end = scan_snapshot_end,
    .restore = scan_restore,
    .clear = scan_clear,
    .close = scan_close,
};

sluice_err_t sluice_op_scan_new(const sluice_plan *plan, size_t index, const sluice_engine_source_options *opts,
                                sluice_source *src, sluice_op_ctx *ctx, sluice_op_scan **out, char *errstr,
                                size_t errstr_size) {
    *out = NULL;
    sluice_op_scan *s = calloc(1, sizeof *s);
    if (!s) return SLUICE_ERR_NOMEM;
    const sluice_source_plan *sp = &plan->sources[index];
    size_t nc = sp->schema.ncolumns;
    s->base.ops = &scan_ops;
    s->base.ctx = ctx;
    s->sp = sp;
    s->opts = *opts;
    s->src = src;
    s->watermark = SLUICE_TS_MIN;
    s->specs = calloc(nc, sizeof *s->specs);
    s->spec_col = calloc(nc, sizeof *s->spec_col);
    s->decoded = calloc(nc, sizeof *s->decoded);
    s->downs = calloc(plan->nqueries + 2 * plan->nrels + 1, sizeof *s->downs);
    if (!s->specs || !s->spec_col || !s->decoded || !s->downs) {
        scan_close(&s->base);
        return SLUICE_ERR_NOMEM;
    }
    for (size_t c = 0; c < nc; c++) {
        if (sp->used[c] && sp->metadata[c] == SLUICE_META_TIMESTAMP) s->reads_record_time = 1;
        if (!sp->used[c] || sp->metadata[c] != SLUICE_META_NONE) continue;
        sluice_field_spec *f = &s->specs[s->nspecs];
        f->name = sp->columns[c].name;
        f->path = sp->defs[c].path;
        f->type = sp->columns[c].type;
        f->elem_type = sp->defs[c].elem_type; /* ARRAY<T> (UNNEST) */
        f->ts_format = sp->ts_formats[c];
        s->spec_col[s->nspecs++] = c;
    }
    if (s->nspecs) {
        sluice_decoder_options dopt;
        memset(&dopt, 0, sizeof dopt);
        dopt.format = opts->format;
        dopt.csv_delimiter = opts->csv_delimiter;
        if (src) {
            dopt.csv_header = src->csv_header;
            dopt.csv_header_len = src->csv_header_len;
        }
        char e[400];
        sluice_err_t err = sluice_decoder_new(&dopt, s->specs, s->nspecs, &s->dec, e, sizeof e);
        if (err) {
            scan_close(&s->base);
            return sluice_seterr(errstr, errstr_size, err, "source %s: %s", sp->name, e);
        }
    }
    for (size_t k = 0; k < plan->nqueries; k++)
        if (plan->queries[k].source == index && plan->queries[k].proctime) s->proctime = 1;
    for (size_t k = 0; k < plan->nrels; k++)
        if (plan->rels[k].kind == SLUICE_REL_QUERY && plan->rels[k].query->source == index &&
            plan->rels[k].query->proctime)
            s->proctime = 1;
    *out = s;
    return SLUICE_OK;
}
