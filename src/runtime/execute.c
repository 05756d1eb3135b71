#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "runtime/execute.h"
#include "base/log.h"
#include "base/stop.h"
#include "format/format.h"
#include "state/codec.h"
#include "state/epoch_log.h"

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

sluice_err_t sluice_exec_init(sluice_exec *x) {
    x->batches = calloc(x->nsources + 1, sizeof *x->batches);
    x->ended = calloc(x->nsources + 1, sizeof *x->ended);
    x->rows_emitted = calloc(x->nsinks + 1, sizeof *x->rows_emitted);
    x->committed = calloc(x->nsinks + 1, sizeof *x->committed);
    x->pos = calloc(x->nsources + 1, sizeof *x->pos);
    x->npos = calloc(x->nsources + 1, sizeof *x->npos);
    if (!x->batches || !x->ended || !x->rows_emitted || !x->committed || !x->pos || !x->npos) return SLUICE_ERR_NOMEM;
    x->last_snapshot = -1;
    if (x->checkpoint_every < 1) x->checkpoint_every = 1;
    for (size_t k = 0; k < x->nsinks; k++)
        x->committed[k] = x->sinks[k]->ops->committed_epoch ? x->sinks[k]->ops->committed_epoch(x->sinks[k]) : -1;
    for (size_t i = 0; i < x->nsources; i++)
        if (sluice_record_batch_init(&x->batches[i]) != SLUICE_OK) return SLUICE_ERR_NOMEM;
    if (!x->max_records) x->max_records = 65536;
    x->last_start_ms = sluice_clock_monotonic_ms();
    x->last_stats.watermark = SLUICE_TS_MIN;
    return SLUICE_OK;
}

void sluice_exec_free(sluice_exec *x) {
    if (!x) return;
    if (x->batches)
        for (size_t i = 0; i < x->nsources; i++) sluice_record_batch_free(&x->batches[i]);
    free(x->batches);
    free(x->ended);
    free(x->rows_emitted);
    free(x->committed);
    for (size_t i = 0; x->pos && i < x->nsources; i++) {
        for (size_t j = 0; j < x->npos[i]; j++) free(x->pos[i][j].topic);
        free(x->pos[i]);
    }
    free(x->pos);
    free(x->npos);
    x->batches = NULL;
    x->ended = NULL;
    x->rows_emitted = NULL;
    x->committed = NULL;
    x->pos = NULL;
    x->npos = NULL;
}

static void progress_line(sluice_exec *x, int64_t epoch, uint64_t input, double start_s, double end_s,
                          int64_t since_last_ms, const sluice_transform_stats *st, const uint64_t *emitted) {
    FILE *f = x->progress;
    double dur = end_s - start_s;
    fprintf(f, "{\"batch_id\":%" PRId64 ",\"input_rows\":%" PRIu64 ",\"input_rows_per_second\":%.1f,"
               "\"processed_rows_per_second\":%.1f,\"duration_ms\":%.3f,\"watermark\":",
            epoch, input, since_last_ms > 0 ? input * 1000.0 / (double)since_last_ms : 0.0,
            dur > 0 ? input / dur : 0.0, dur * 1000.0);
    if (st->watermark == SLUICE_TS_MIN) {
        fputs("null", f);
    } else if (st->watermark == SLUICE_TS_MAX) {
        fputs("\"+infinity\"", f);
    } else {
        char buf[40];
        size_t n = sluice_ts_render(st->watermark, buf, sizeof buf);
        sluice_json_write_string(f, buf, n);
    }
    fprintf(f, ",\"state_rows\":%" PRIu64 ",\"late_rows\":%" PRIu64 ",\"malformed_rows\":%" PRIu64 ",\"sinks\":{",
            st->state_rows, st->late_rows - x->last_stats.late_rows,
            st->malformed_rows - x->last_stats.malformed_rows);
    for (size_t k = 0; k < x->nsinks; k++) {
        if (k) fputc(',', f);
        sluice_json_write_string(f, x->sink_names[k], strlen(x->sink_names[k]));
        fprintf(f, ":{\"rows_emitted\":%" PRIu64 "}", emitted[k]);
    }
    fputs("}}\n", f);
    fflush(f);
}

/* Backpressure (max_state_bytes): while the state is at the cap, sources
 * are not polled, so the pipeline stops reading instead of growing; the
 * watermark can still advance (idle partitions) and free windows.  Returns
 * 1 to pause, 0 to read, -1 (errstr set) when the cap can never be met: the
 * state that nothing frees without more input (COMPLETE mode, aggregation
 * without a window, or windows whose watermark cannot advance while reading
 * is paused) is at the cap by itself, so pausing would last forever. */
static int over_state_cap(sluice_exec *x, char *errstr, size_t errstr_size) {
    if (!x->max_state_bytes || !x->transform->ops->stats) return 0;
    sluice_transform_stats st;
    memset(&st, 0, sizeof st);
    x->transform->ops->stats(x->transform, &st);
    if (st.kept_state_bytes >= x->max_state_bytes) {
        sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                      "max_state_bytes = %llu can never be met: the state is %llu bytes, and %llu of them cannot be "
                      "freed while reading is paused (COMPLETE-mode or unwindowed aggregations keep every group; "
                      "windows wait for a watermark that cannot advance without input); raise max_state_bytes or "
                      "remove it",
                      (unsigned long long)x->max_state_bytes, (unsigned long long)st.state_bytes,
                      (unsigned long long)st.kept_state_bytes);
        return -1;
    }
    int over = st.state_bytes >= x->max_state_bytes;
    if (over && !x->backpressure)
        sluice_log(SLUICE_LOG_WARN, x->pipeline, "execute", NULL,
                   "state is %llu bytes, at max_state_bytes = %llu: reading paused until windows are finalized",
                   (unsigned long long)st.state_bytes, (unsigned long long)x->max_state_bytes);
    else if (!over && x->backpressure)
        sluice_log(SLUICE_LOG_INFO, x->pipeline, "execute", NULL, "state is %llu bytes, under max_state_bytes: reading again",
                   (unsigned long long)st.state_bytes);
    x->backpressure = over;
    return over;
}

static void notify(sluice_exec *x, int64_t epoch, uint64_t input, double start_s, const uint64_t *rows,
                   const double *commit_s) {
    if (!x->on_step) return;
    sluice_step_info info;
    info.epoch = epoch;
    info.input_rows = input;
    info.duration_s = mono_s() - start_s;
    info.sink_rows = rows;
    info.sink_commit_s = commit_s;
    info.backpressure = x->backpressure;
    x->on_step(x->on_step_ctx, &info);
}

/* ---------------- checkpointing (docs/checkpoints.md) ----------------
 *
 * The offsets and state records' payloads are state/epoch_log.h's. */

typedef sluice_log_range range;

/* The offset range of each partition among the records of b. */
static size_t batch_ranges(const sluice_record_batch *b, range **out) {
    range *r = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < b->count; i++) {
        const sluice_record *rec = &b->records[i];
        size_t k;
        for (k = 0; k < n; k++)
            if (r[k].partition == rec->partition &&
                (r[k].topic == rec->topic || (r[k].topic && rec->topic && strcmp(r[k].topic, rec->topic) == 0)))
                break;
        if (k == n) {
            if (n == cap) {
                range *nr = realloc(r, (cap = cap ? cap * 2 : 4) * sizeof *nr);
                if (!nr) {
                    free(r);
                    *out = NULL;
                    return (size_t)-1;
                }
                r = nr;
            }
            r[n].topic = rec->topic;
            r[n].partition = rec->partition;
            r[n].start = rec->offset;
            r[n].end = rec->offset + 1;
            n++;
        } else {
            if (rec->offset < r[k].start) r[k].start = rec->offset;
            if (rec->offset + 1 > r[k].end) r[k].end = rec->offset + 1;
        }
    }
    *out = r;
    return n;
}

static sluice_exec_position *position_get(sluice_exec *x, size_t i, const char *topic, int32_t partition) {
    for (size_t j = 0; j < x->npos[i]; j++) {
        sluice_exec_position *p = &x->pos[i][j];
        if (p->partition == partition && (p->topic == topic || (p->topic && topic && strcmp(p->topic, topic) == 0)))
            return p;
    }
    sluice_exec_position *np = realloc(x->pos[i], (x->npos[i] + 1) * sizeof *np);
    if (!np) return NULL;
    x->pos[i] = np;
    sluice_exec_position *p = &np[x->npos[i]];
    p->topic = topic ? strdup(topic) : NULL;
    if (topic && !p->topic) return NULL;
    p->partition = partition;
    p->next = INT64_MIN;
    p->set_aside = 0;
    x->npos[i]++;
    return p;
}

static sluice_err_t log_epoch(sluice_exec *x, int64_t now, const int *polled, char *errstr, size_t errstr_size) {
    sluice_logged_input *in = calloc(x->nsources + 1, sizeof *in);
    range **ranges = calloc(x->nsources + 1, sizeof *ranges);
    sluice_err_t err = in && ranges ? SLUICE_OK : SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < x->nsources && !err; i++) {
        const sluice_record_batch *b = &x->batches[i];
        size_t n = polled[i] ? batch_ranges(b, &ranges[i]) : 0;
        if (n == (size_t)-1) {
            err = SLUICE_ERR_NOMEM;
            break;
        }
        in[i].ended = polled[i] && b->end_of_input;
        in[i].n = (uint32_t)n;
        in[i].r = ranges[i];
        /* the assignment the engine saw, so that a replay holds the
         * watermark for the same partitions */
        in[i].na = polled[i] ? (uint32_t)b->nassigned : 0;
        in[i].assigned = b->assigned;
    }
    void *payload = NULL;
    size_t len = 0;
    if (!err) err = sluice_epoch_log_encode(now, in, x->nsources, &payload, &len);
    for (size_t i = 0; ranges && i < x->nsources; i++) free(ranges[i]);
    free(ranges);
    free(in);
    if (err) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "checkpoint: out of memory");
    err = sluice_ckpt_write(x->ckpt, SLUICE_CKPT_OFFSETS, x->epoch, payload, len, errstr, errstr_size);
    free(payload);
    return err;
}

static sluice_err_t advance_positions(sluice_exec *x, const int *polled, char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < x->nsources; i++) {
        if (!polled[i]) continue;
        const sluice_record_batch *b = &x->batches[i];
        for (size_t r = 0; r < b->count; r++) {
            sluice_exec_position *p = position_get(x, i, b->records[r].topic, b->records[r].partition);
            if (!p) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "checkpoint: out of memory");
            if (b->records[r].offset + 1 > p->next) p->next = b->records[r].offset + 1;
            p->set_aside = 0;
        }
    }
    return SLUICE_OK;
}

static sluice_err_t snapshot(sluice_exec *x, int64_t epoch, char *errstr, size_t errstr_size) {
    void *blob = NULL;
    size_t blen = 0;
    sluice_err_t err = x->transform->ops->snapshot(x->transform, &blob, &blen, errstr, errstr_size);
    if (err) return err;
    sluice_logged_positions *pos = calloc(x->nsources + 1, sizeof *pos);
    sluice_logged_position **lists = calloc(x->nsources + 1, sizeof *lists);
    void *payload = NULL;
    size_t len = 0;
    err = pos && lists ? SLUICE_OK : SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < x->nsources && !err; i++) {
        if (x->npos[i] && !(lists[i] = calloc(x->npos[i], sizeof *lists[i]))) {
            err = SLUICE_ERR_NOMEM;
            break;
        }
        for (size_t j = 0; j < x->npos[i]; j++)
            lists[i][j] = (sluice_logged_position){x->pos[i][j].topic, x->pos[i][j].partition, x->pos[i][j].next};
        /* only an input's end is kept: a source drained under available_now
         * (a Kafka topic with nothing more now) is read again next run */
        pos[i] = (sluice_logged_positions){x->ended[i] == SLUICE_EXEC_END, (uint32_t)x->npos[i], lists[i]};
    }
    if (!err) err = sluice_state_record_encode(pos, x->nsources, blob, blen, &payload, &len);
    for (size_t i = 0; lists && i < x->nsources; i++) free(lists[i]);
    free(lists);
    free(pos);
    free(blob);
    if (err) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "checkpoint: out of memory");
    err = sluice_ckpt_write(x->ckpt, SLUICE_CKPT_STATE, epoch, payload, len, errstr, errstr_size);
    free(payload);
    if (!err) err = sluice_ckpt_prune(x->ckpt, epoch, errstr, errstr_size);
    if (!err) x->last_snapshot = epoch;
    return err;
}

sluice_err_t sluice_exec_checkpoint(sluice_exec *x, char *errstr, size_t errstr_size) {
    if (!x->ckpt || x->abandoned || x->epoch == 0 || x->last_snapshot == x->epoch - 1) return SLUICE_OK;
    return snapshot(x, x->epoch - 1, errstr, errstr_size);
}

/* ---------------- one micro-batch ---------------- */

/* The rest of an epoch once the sources' batches are in x->batches and
 * processed: emit, log the input ranges (unless replaying: logged already),
 * commit the sinks, snapshot, commit the sources. */
static sluice_err_t finish_epoch(sluice_exec *x, const int *polled, uint64_t input, int64_t now, int replay,
                                 int64_t start_ms, double start_s, char *errstr, size_t errstr_size) {
    const sluice_row_batch **outs = calloc(x->nsinks + 1, sizeof *outs);
    uint64_t *emitted = calloc(x->nsinks + 1, sizeof *emitted);
    double *commit_s = calloc(x->nsinks + 1, sizeof *commit_s);
    sluice_err_t err = SLUICE_OK;
    if (!outs || !emitted || !commit_s) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "execute: out of memory");
        goto done;
    }
    err = x->transform->ops->end_batch(x->transform, x->epoch, outs, x->nsinks, errstr, errstr_size);
    if (err) goto done;
    size_t out_rows = 0;
    for (size_t k = 0; k < x->nsinks; k++) out_rows += outs[k]->nrows;
    int any_end = 0;
    for (size_t i = 0; i < x->nsources; i++) any_end |= polled[i] && x->batches[i].end_of_input;
    if (!replay && input == 0 && out_rows == 0 && !(x->ckpt && any_end)) {
        notify(x, -1, 0, start_s, NULL, NULL);
        goto done; /* nothing happened: not an epoch */
    }
    if (x->ckpt && !replay && (err = log_epoch(x, now, polled, errstr, errstr_size))) goto done;

    /* sink: epochs an earlier run committed are not written again */
    for (size_t k = 0; k < x->nsinks && !err; k++) {
        if (x->epoch <= x->committed[k]) continue;
        sluice_sink *s = x->sinks[k];
        double t0 = mono_s();
        err = s->ops->write(s, x->epoch, outs[k], errstr, errstr_size);
        commit_s[k] = mono_s() - t0;
        emitted[k] = outs[k]->nrows;
    }
    for (size_t k = 0; k < x->nsinks && !err; k++) {
        if (x->epoch <= x->committed[k]) continue;
        sluice_sink *s = x->sinks[k];
        double t0 = mono_s();
        if (s->ops->commit) err = s->ops->commit(s, x->epoch, errstr, errstr_size);
        commit_s[k] += mono_s() - t0;
    }
    if (!err && x->dlq) err = sluice_dead_letter_flush(x->dlq, errstr, errstr_size);
    if (!err && x->ckpt) err = advance_positions(x, polled, errstr, errstr_size);
    if (!err && x->ckpt && x->epoch - x->last_snapshot >= x->checkpoint_every)
        err = snapshot(x, x->epoch, errstr, errstr_size);
    for (size_t i = 0; i < x->nsources && !err; i++) {
        sluice_source *src = x->sources[i];
        if (src->ops->commit) err = src->ops->commit(src, x->epoch, errstr, errstr_size);
    }
    if (!err && x->progress) {
        sluice_transform_stats st;
        memset(&st, 0, sizeof st);
        if (x->transform->ops->stats) x->transform->ops->stats(x->transform, &st);
        progress_line(x, x->epoch, input, start_s, mono_s(), start_ms - x->last_start_ms, &st, emitted);
        x->last_stats = st;
    }
    if (err) goto done;
    /* rows out: those of committed epochs (an abandoned epoch's do not count) */
    for (size_t k = 0; k < x->nsinks; k++) x->rows_emitted[k] += emitted[k];
    notify(x, x->epoch, input, start_s, emitted, commit_s);
    x->last_start_ms = start_ms;
    x->epoch++;
    x->epochs_run++;
done:
    free(outs);
    free(emitted);
    free(commit_s);
    return err;
}

sluice_err_t sluice_exec_step(sluice_exec *x, int *done, char *errstr, size_t errstr_size) {
    sluice_err_t err;
    *done = 0;
    int64_t start_ms = sluice_clock_monotonic_ms();
    double start_s = mono_s();
    /* micro-batches start every trigger interval, counted from the start of
     * the last one (Spark's ProcessingTime trigger): a batch that took long
     * leaves less of the interval to wait, none when it took longer */
    int64_t deadline = x->last_start_ms + x->trigger_ms;
    if (deadline < start_ms) deadline = start_ms;
    int64_t now = sluice_clock_realtime_ms();
    uint64_t input = 0;
    int live = 0;
    int paused = over_state_cap(x, errstr, errstr_size);
    if (paused < 0) return SLUICE_ERR_RUNTIME;
    if (paused) {
        /* wait one trigger interval (at least 50 ms) before looking again */
        int64_t wait = x->trigger_ms > 50 ? x->trigger_ms : 50;
        sluice_stop_sleep_ms(wait);
        for (size_t i = 0; i < x->nsources; i++) live |= !x->ended[i];
        now = sluice_clock_realtime_ms();
    }
    if (x->transform->ops->set_time) x->transform->ops->set_time(x->transform, now);
    int *polled = calloc(x->nsources + 1, sizeof *polled);
    if (!polled) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "execute: out of memory");

    /* getDataSource */
    for (size_t i = 0; i < x->nsources && !paused; i++) {
        if (x->ended[i]) continue;
        sluice_record_batch *b = &x->batches[i];
        sluice_record_batch_clear(b);
        int64_t wait = x->available_now ? 0 : deadline - sluice_clock_monotonic_ms();
        if (wait < 0) wait = 0;
        if (wait > INT32_MAX) wait = INT32_MAX;
        sluice_source *src = x->sources[i];
        err = src->ops->poll(src, b, x->max_records, (int)wait, errstr, errstr_size);
        if (err) goto fail;
        polled[i] = 1;
        x->rows_in += b->count;
        /* A bounded source's end finalizes its windows (end_of_input); under
         * available_now a source with nothing more only stops this run: its
         * open windows stay open (docs/connectors.md). */
        if (b->end_of_input || (x->available_now && b->count == 0)) {
            x->ended[i] = b->end_of_input ? SLUICE_EXEC_END : SLUICE_EXEC_DRAINED;
        } else {
            live = 1;
        }
        input += b->count;
        /* transform: decode, filter, windows, aggregates */
        err = x->transform->ops->process(x->transform, i, src, b, errstr, errstr_size);
        if (err) goto fail;
    }
    *done = !live;
    err = finish_epoch(x, polled, input, now, 0, start_ms, start_s, errstr, errstr_size);
fail:
    free(polled);
    return err;
}

/* ---------------- recovery ---------------- */

/* A replay poll handed out rec, of a partition its epoch did not read.
 * The record is not lost when the checkpoint has a position for the
 * partition (recovery seeks every position at its end); otherwise the
 * lowest such offset becomes the partition's position. */
static sluice_err_t set_aside(sluice_exec *x, size_t i, const sluice_record *rec) {
    for (size_t j = 0; j < x->npos[i]; j++) {
        sluice_exec_position *p = &x->pos[i][j];
        if (p->partition != rec->partition ||
            !(p->topic == rec->topic || (p->topic && rec->topic && strcmp(p->topic, rec->topic) == 0)))
            continue;
        if (p->set_aside && rec->offset < p->next) p->next = rec->offset;
        return SLUICE_OK;
    }
    sluice_exec_position *p = position_get(x, i, rec->topic, rec->partition);
    if (!p) return SLUICE_ERR_NOMEM;
    p->next = rec->offset;
    p->set_aside = 1;
    sluice_log(SLUICE_LOG_DEBUG, x->pipeline, "execute", x->source_names[i],
               "recovery: the replay of epoch %lld was handed partition %d from offset %lld, which that epoch did "
               "not read: the partition is read from there after recovery",
               (long long)x->epoch, (int)rec->partition, (long long)rec->offset);
    return SLUICE_OK;
}

/* Read exactly the logged ranges of one source into x->batches[i] (copies),
 * seeking each partition to its range start first.  Records of other
 * partitions are set aside (set_aside()). */
static sluice_err_t replay_read(sluice_exec *x, size_t i, const range *r, size_t n, char *errstr,
                                size_t errstr_size) {
    sluice_source *src = x->sources[i];
    sluice_record_batch *out = &x->batches[i];
    sluice_record_batch scratch;
    sluice_err_t err = SLUICE_OK; /* also the result when no range is logged (an epoch that only saw the end) */
    if (n > 0 && src->ops->no_replay) {
        /* A source that keeps no copy of its input (a socket) cannot give
         * this epoch's records again: they were lost with the run that
         * stopped before a snapshot held them.  Say so loudly and go on
         * without them, as Spark's socket source does: a pipeline that
         * crashed once must still restart (docs/connectors.md, "The socket
         * source"). */
        int64_t lost = 0;
        for (size_t k = 0; k < n; k++) lost += r[k].end - r[k].start;
        sluice_log(SLUICE_LOG_ERROR, x->pipeline, "execute", x->source_names[i],
                   "recovery: epoch %lld read %lld record(s) from source %s (partition %d, offsets %lld to %lld%s), "
                   "which its connector cannot read again: they were lost with the run that stopped before "
                   "checkpointing them; the epoch is replayed without them",
                   (long long)x->epoch, (long long)lost, x->source_names[i], (int)r[0].partition,
                   (long long)r[0].start, (long long)r[0].end - 1, n > 1 ? ", and more partitions" : "");
        x->lost_rows += (uint64_t)lost;
        return SLUICE_OK;
    }
    if (sluice_record_batch_init(&scratch) != SLUICE_OK) return SLUICE_ERR_NOMEM;
    for (size_t k = 0; k < n; k++)
        if ((err = src->ops->seek(src, r[k].topic, r[k].partition, r[k].start, errstr, errstr_size))) goto done;
    int64_t *seen = calloc(n + 1, sizeof *seen);
    if (!seen) {
        err = SLUICE_ERR_NOMEM;
        goto done;
    }
    for (size_t k = 0; k < n; k++) seen[k] = r[k].start;
    int64_t deadline = sluice_clock_monotonic_ms() + 60000;
    for (;;) {
        size_t complete = 0;
        for (size_t k = 0; k < n; k++) complete += seen[k] >= r[k].end;
        if (complete == n) break;
        if (sluice_stop_requested()) {
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_STOPPED,
                                "recovery: stopped while replaying epoch %lld (it is replayed at the next start)",
                                (long long)x->epoch);
            break;
        }
        if (sluice_clock_monotonic_ms() > deadline) {
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                "recovery: source %s did not deliver the logged input range of epoch %lld again "
                                "within 60 s: the input no longer holds it",
                                x->source_names[i], (long long)x->epoch);
            break;
        }
        sluice_record_batch_clear(&scratch);
        if ((err = src->ops->poll(src, &scratch, x->max_records, SLUICE_STOP_SLICE_MS, errstr, errstr_size))) break;
        for (size_t j = 0; j < scratch.count; j++) {
            const sluice_record *rec = &scratch.records[j];
            size_t k;
            for (k = 0; k < n; k++)
                if (r[k].partition == rec->partition &&
                    (r[k].topic == rec->topic || (r[k].topic && rec->topic && strcmp(r[k].topic, rec->topic) == 0)))
                    break;
            if (k == n) {
                /* A partition this epoch did not read (a consumer that
                 * assigned itself every partition fetches them all): the
                 * source counts the record as handed out, so unless the
                 * checkpoint knows where the partition stands, the final
                 * positioning of recovery must put it back here, or the
                 * record would never be read. */
                if ((err = set_aside(x, i, rec))) break;
                continue;
            }
            if (rec->offset < r[k].start || rec->offset >= r[k].end) continue;
            if (rec->offset + 1 > seen[k]) seen[k] = rec->offset + 1;
            sluice_record *c = sluice_record_batch_push(out);
            if (!c) {
                err = SLUICE_ERR_NOMEM;
                break;
            }
            *c = *rec;
            char *v = sluice_arena_alloc(out->arena, rec->value_len + SLUICE_RECORD_PADDING);
            char *key = rec->key ? sluice_arena_strndup(out->arena, rec->key, rec->key_len) : NULL;
            char *topic = rec->topic ? sluice_arena_strndup(out->arena, rec->topic, strlen(rec->topic)) : NULL;
            if (!v || (rec->key && !key) || (rec->topic && !topic)) {
                err = SLUICE_ERR_NOMEM;
                break;
            }
            memcpy(v, rec->value, rec->value_len);
            memset(v + rec->value_len, 0, SLUICE_RECORD_PADDING);
            c->value = v;
            c->key = key;
            c->topic = topic;
        }
        if (err) break;
        if (scratch.end_of_input) {
            size_t done_k = 0;
            for (size_t k = 0; k < n; k++) done_k += seen[k] >= r[k].end;
            if (done_k < n)
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                    "recovery: source %s ended before the logged input range of epoch %lld: the "
                                    "input was truncated or replaced",
                                    x->source_names[i], (long long)x->epoch);
            break;
        }
    }
    free(seen);
done:
    sluice_record_batch_free(&scratch);
    return err;
}

static sluice_err_t replay_epoch(sluice_exec *x, const void *payload, size_t len, char *errstr,
                                 size_t errstr_size) {
    sluice_arena *tmp = sluice_arena_new(0);
    int *polled = calloc(x->nsources + 1, sizeof *polled);
    sluice_logged_input *in = calloc(x->nsources + 1, sizeof *in);
    sluice_err_t err = SLUICE_OK;
    if (!tmp || !polled || !in) {
        err = SLUICE_ERR_NOMEM;
        goto done;
    }
    int64_t start_ms = sluice_clock_monotonic_ms();
    double start_s = mono_s();
    int64_t now = 0;
    err = sluice_epoch_log_decode(payload, len, x->nsources, tmp, &now, in);
    if (err == SLUICE_ERR_MALFORMED)
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_MALFORMED,
                            "recovery: the offsets record of epoch %lld does not decode", (long long)x->epoch);
    if (err) goto done;
    if (x->transform->ops->set_time) x->transform->ops->set_time(x->transform, now);
    uint64_t input = 0;
    for (size_t i = 0; i < x->nsources && !err; i++) {
        sluice_record_batch_clear(&x->batches[i]);
        if (!(in[i].n || in[i].ended || in[i].na)) continue;
        polled[i] = 1;
        err = replay_read(x, i, in[i].r, in[i].n, errstr, errstr_size);
        if (err) break;
        x->batches[i].assigned = in[i].assigned;
        x->batches[i].nassigned = in[i].na;
        x->batches[i].end_of_input = in[i].ended;
        if (in[i].ended) x->ended[i] = SLUICE_EXEC_END;
        input += x->batches[i].count;
        err = x->transform->ops->process(x->transform, i, x->sources[i], &x->batches[i], errstr, errstr_size);
    }
    if (!err) err = finish_epoch(x, polled, input, now, 1, start_ms, start_s, errstr, errstr_size);
done:
    sluice_arena_destroy(tmp);
    free(polled);
    free(in);
    return err;
}

/* Restore the snapshot of epoch s (its payload, borrowed). */
static sluice_err_t restore_snapshot(sluice_exec *x, int64_t s, const void *payload, size_t len, char *errstr,
                                     size_t errstr_size) {
    sluice_arena *tmp = sluice_arena_new(0);
    sluice_logged_positions *pos = calloc(x->nsources + 1, sizeof *pos);
    sluice_err_t err = tmp && pos ? SLUICE_OK : SLUICE_ERR_NOMEM;
    const void *blob = NULL;
    size_t blen = 0;
    if (!err) err = sluice_state_record_decode(payload, len, x->nsources, tmp, pos, &blob, &blen);
    if (err == SLUICE_ERR_MALFORMED)
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_MALFORMED, "recovery: snapshot %lld does not decode",
                            (long long)s);
    for (size_t i = 0; i < x->nsources && !err; i++) {
        x->ended[i] = pos[i].ended ? SLUICE_EXEC_END : 0;
        for (uint32_t j = 0; j < pos[i].n && !err; j++) {
            sluice_exec_position *p = position_get(x, i, pos[i].p[j].topic, pos[i].p[j].partition);
            if (!p) err = SLUICE_ERR_NOMEM;
            else p->next = pos[i].p[j].next;
        }
    }
    if (!err) err = x->transform->ops->restore(x->transform, blob, blen, errstr, errstr_size);
    sluice_arena_destroy(tmp);
    free(pos);
    return err;
}

/* A partition recovery positions before the first poll. */
typedef struct prepos {
    size_t source;
    const char *topic;
    int32_t partition;
    int64_t offset;
    int covered; /* the replay seeks it before the source's first poll */
} prepos;

static prepos *prepos_find(prepos *v, size_t n, size_t source, const char *topic, int32_t partition) {
    for (size_t k = 0; k < n; k++)
        if (v[k].source == source && v[k].partition == partition &&
            (v[k].topic == topic || (v[k].topic && topic && strcmp(v[k].topic, topic) == 0)))
            return &v[k];
    return NULL;
}

/* Append e to *v (*n entries, room for *cap); the new entry, or NULL when
 * out of memory. */
static prepos *prepos_add(prepos **v, size_t *n, size_t *cap, prepos e) {
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        prepos *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return NULL;
        *v = nv;
        *cap = nc;
    }
    (*v)[*n] = e;
    return &(*v)[(*n)++];
}

/* Before the first poll of a recovery that replays epochs, position every
 * partition it will read: at its snapshot position, or, for a partition
 * first read after the snapshot, at the start of its first logged range.
 * A consumer group then assigns each of them at an offset it was given,
 * without looking one up: librdkafka (2.0) can lose a seek that lands
 * while it looks up a partition's start (committed offset or
 * auto.offset.reset) and fetch from that start, which with
 * startingOffsets = latest would skip records.  Partitions the first
 * replayed epoch of their source reads are left out: replay_read() seeks
 * them before that source's first poll (a file source's seek rescans the
 * file).  `list` holds the n logged epochs, s the snapshot's epoch (-1:
 * none). */
static sluice_err_t preposition(sluice_exec *x, const int64_t *list, size_t n, int64_t s, char *errstr,
                                size_t errstr_size) {
    sluice_err_t err = SLUICE_OK;
    prepos *v = NULL;
    size_t nv = 0, cap = 0;
    int *first_seen = calloc(x->nsources + 1, sizeof *first_seen);
    sluice_logged_input *in = calloc(x->nsources + 1, sizeof *in);
    sluice_arena *tmp = sluice_arena_new(0);
    if (!first_seen || !in || !tmp) {
        err = SLUICE_ERR_NOMEM;
        goto done;
    }
    int64_t expect = s + 1;
    size_t replayed = 0;
    for (size_t k = 0; k < n && !err; k++) {
        if (list[k] <= s) continue;
        if (list[k] != expect) break; /* sluice_exec_recover() reports the gap */
        expect++;
        void *payload = NULL;
        size_t len = 0;
        char sub[512];
        if (sluice_ckpt_read(x->ckpt, SLUICE_CKPT_OFFSETS, list[k], &payload, &len, sub, sizeof sub) != SLUICE_OK)
            break;
        if (replayed++ == 0) {
            /* the snapshot's positions */
            for (size_t i = 0; i < x->nsources && !err; i++)
                for (size_t j = 0; j < x->npos[i] && !err; j++)
                    if (!prepos_add(&v, &nv, &cap,
                                    (prepos){i, x->pos[i][j].topic, x->pos[i][j].partition, x->pos[i][j].next, 0}))
                        err = SLUICE_ERR_NOMEM;
        }
        int64_t now;
        sluice_err_t derr = sluice_epoch_log_decode(payload, len, x->nsources, tmp, &now, in);
        free(payload);
        /* a record that does not decode: sluice_exec_recover() reports it */
        if (derr == SLUICE_ERR_NOMEM) err = derr;
        if (derr) break;
        for (size_t i = 0; i < x->nsources && !err; i++) {
            for (uint32_t r = 0; r < in[i].n && !err; r++) {
                prepos *p = prepos_find(v, nv, i, in[i].r[r].topic, in[i].r[r].partition);
                if (!p && !(p = prepos_add(&v, &nv, &cap,
                                           (prepos){i, in[i].r[r].topic, in[i].r[r].partition, in[i].r[r].start, 0}))) {
                    err = SLUICE_ERR_NOMEM;
                    break;
                }
                if (!first_seen[i]) p->covered = 1;
            }
            if (in[i].n) first_seen[i] = 1;
        }
    }
    for (size_t k = 0; k < nv && !err; k++)
        if (!v[k].covered)
            err = x->sources[v[k].source]->ops->seek(x->sources[v[k].source], v[k].topic, v[k].partition,
                                                     v[k].offset, errstr, errstr_size);
done:
    free(v);
    free(first_seen);
    free(in);
    sluice_arena_destroy(tmp);
    return err;
}

sluice_err_t sluice_exec_recover(sluice_exec *x, char *errstr, size_t errstr_size) {
    if (!x->ckpt) return SLUICE_OK;
    int64_t s;
    sluice_ckpt_view snap;
    sluice_err_t err = sluice_ckpt_map_latest(x->ckpt, SLUICE_CKPT_STATE, &s, &snap, errstr, errstr_size);
    if (err) return err;
    if (s >= 0) {
        err = restore_snapshot(x, s, snap.payload, snap.len, errstr, errstr_size);
        sluice_ckpt_unmap(&snap);
        if (err) return err;
        x->epoch = s + 1;
        x->last_snapshot = s;
    }
    int64_t *list = NULL;
    size_t n = 0;
    if ((err = sluice_ckpt_list(x->ckpt, SLUICE_CKPT_OFFSETS, &list, &n, errstr, errstr_size))) return err;
    err = preposition(x, list, n, s, errstr, errstr_size);
    for (size_t k = 0; k < n && !err; k++) {
        if (list[k] <= s) continue;
        if (list[k] != x->epoch) {
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                "recovery: the checkpoint has the offsets of epoch %lld but not of epoch %lld",
                                (long long)list[k], (long long)x->epoch);
            break;
        }
        void *payload = NULL;
        size_t len = 0;
        char sub[512];
        if ((err = sluice_ckpt_read(x->ckpt, SLUICE_CKPT_OFFSETS, list[k], &payload, &len, sub, sizeof sub))) {
            /* records are put in place by rename after an fsync: a torn one
             * was damaged afterwards, and its epoch may have been committed */
            if (err != SLUICE_ERR_NOMEM)
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                    "recovery: %s; restore it, or start over with sluice checkpoint reset %s (and "
                                    "clear what the sinks committed)",
                                    sub, sluice_ckpt_dir(x->ckpt));
            break;
        }
        err = replay_epoch(x, payload, len, errstr, errstr_size);
        free(payload);
        if (!err) x->replayed++;
    }
    free(list);
    if (err) return err;
    /* A sink commits an epoch only after its offsets are logged, so a sink
     * that committed an epoch the checkpoint does not reach means the
     * checkpoint was reset, replaced or lost files since: running on would
     * skip (lose) that many epochs of new input at the sink. */
    for (size_t k = 0; k < x->nsinks; k++)
        if (x->committed[k] >= x->epoch)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "recovery: sink %s has committed epoch %lld, but checkpoint_dir '%s' only reaches "
                                 "epoch %lld: the checkpoint was reset, replaced or lost files since; restore the "
                                 "checkpoint, or clear the sink's record of committed epochs (file: move the output "
                                 "away and delete PATH.epoch; MySQL: its rows of sluice_commits; Redis: its "
                                 "sluice:commits key; Kafka: a new commits_topic) to start over",
                                 x->sink_names ? x->sink_names[k] : "?", (long long)x->committed[k],
                                 sluice_ckpt_dir(x->ckpt), (long long)x->epoch - 1);
    /* continue from the end of the log */
    for (size_t i = 0; i < x->nsources && !err; i++) {
        sluice_source *src = x->sources[i];
        for (size_t j = 0; j < x->npos[i] && !err; j++)
            err = src->ops->seek(src, x->pos[i][j].topic, x->pos[i][j].partition, x->pos[i][j].next, errstr,
                                 errstr_size);
    }
    /* A file that reached its end in an earlier run is not read again: that
     * end finalized its windows.  Lines appended since would never be read,
     * and the run would exit 0 having read none of them: refuse instead.
     * (Only the file connector: a poll of Kafka with no wait proves
     * nothing.) */
    for (size_t i = 0; i < x->nsources && !err; i++) {
        sluice_source *src = x->sources[i];
        if (x->ended[i] != SLUICE_EXEC_END || strcmp(src->ops->name, "file") != 0) continue;
        sluice_record_batch *b = &x->batches[i];
        sluice_record_batch_clear(b);
        err = src->ops->poll(src, b, 1, 0, errstr, errstr_size);
        if (!err && b->count > 0)
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                "recovery: source %s reached the end of its input in an earlier run (checkpoint_dir "
                                "'%s'), but its file has more now, which this checkpoint would never read; to read "
                                "it, start over (sluice checkpoint reset DIR, and clear what the sinks committed), "
                                "or read a growing file with follow = true",
                                x->source_names ? x->source_names[i] : "?", sluice_ckpt_dir(x->ckpt));
        sluice_record_batch_clear(b);
    }
    if (!err && x->transform->ops->resume) x->transform->ops->resume(x->transform, sluice_clock_realtime_ms());
    if (!err && (s >= 0 || x->replayed))
        sluice_log(SLUICE_LOG_INFO, x->pipeline, "checkpoint", sluice_ckpt_dir(x->ckpt),
                   "recovered: snapshot of epoch %lld, %lld epoch(s) replayed, continuing at epoch %lld",
                   (long long)s, (long long)x->replayed, (long long)x->epoch);
    return err;
}

sluice_err_t sluice_execute(sluice_exec *x, const volatile sig_atomic_t *stop, char *errstr, size_t errstr_size) {
    for (;;) {
        /* the caller's flag becomes the process-wide request, which the
         * connectors' waits watch */
        if (stop && *stop && !sluice_stop_requested()) sluice_stop_request(0);
        if (sluice_stop_requested()) return SLUICE_OK;
        int done = 0;
        uint64_t rows_before = x->rows_in;
        sluice_err_t err = sluice_exec_step(x, &done, errstr, errstr_size);
        if (err && sluice_stop_requested()) {
            /* A wait gave up for the stop (or failed while stopping): the
             * epoch is abandoned.  Its rows are in the transform's state but
             * not in every sink, so no snapshot may be taken now; with a
             * checkpoint the restart re-reads the epoch from its logged or
             * last committed positions. */
            x->abandoned = 1;
            x->abandoned_rows = x->rows_in - rows_before;
            if (err != SLUICE_ERR_STOPPED)
                sluice_log(SLUICE_LOG_WARN, x->pipeline, "execute", NULL, "while stopping: %s", errstr);
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_STOPPED,
                                 "stopped: epoch %lld abandoned (%llu row(s) read in it not written)",
                                 (long long)x->epoch, (unsigned long long)x->abandoned_rows);
        }
        if (err) return err;
        if (done) return SLUICE_OK;
    }
}
