#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/execute.h"
#include "core/log.h"
#include "format/format.h"

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

sluice_err_t sluice_exec_init(sluice_exec *x) {
    x->batches = calloc(x->nsources + 1, sizeof *x->batches);
    x->ended = calloc(x->nsources + 1, sizeof *x->ended);
    x->rows_emitted = calloc(x->nsinks + 1, sizeof *x->rows_emitted);
    if (!x->batches || !x->ended || !x->rows_emitted) return SLUICE_ERR_NOMEM;
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
    x->batches = NULL;
    x->ended = NULL;
    x->rows_emitted = NULL;
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
 * watermark can still advance (idle partitions) and free windows. */
static int over_state_cap(sluice_exec *x) {
    if (!x->max_state_bytes || !x->transform->ops->stats) return 0;
    sluice_transform_stats st;
    memset(&st, 0, sizeof st);
    x->transform->ops->stats(x->transform, &st);
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

sluice_err_t sluice_exec_step(sluice_exec *x, int *done, char *errstr, size_t errstr_size) {
    sluice_err_t err;
    *done = 0;
    int64_t start_ms = sluice_clock_monotonic_ms();
    double start_s = mono_s();
    int64_t deadline = start_ms + x->trigger_ms;
    uint64_t input = 0;
    int live = 0;
    int paused = over_state_cap(x);
    if (paused) {
        /* wait one trigger interval (at least 50 ms) before looking again */
        int64_t wait = x->trigger_ms > 50 ? x->trigger_ms : 50;
        struct timespec ts = {.tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        for (size_t i = 0; i < x->nsources; i++) live |= !x->ended[i];
    }

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
        if (err) return err;
        /* A bounded source's end finalizes its windows (end_of_input); under
         * available_now a source with nothing more only stops this run: its
         * open windows stay open (spec/profiles.md). */
        if (b->end_of_input || (x->available_now && b->count == 0)) {
            x->ended[i] = 1;
        } else {
            live = 1;
        }
        input += b->count;
        /* transform: decode, filter, windows, aggregates */
        err = x->transform->ops->process(x->transform, i, src, b, errstr, errstr_size);
        if (err) return err;
    }

    const sluice_row_batch **outs = calloc(x->nsinks + 1, sizeof *outs);
    if (!outs) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "execute: out of memory");
    err = x->transform->ops->end_batch(x->transform, x->epoch, outs, x->nsinks, errstr, errstr_size);
    if (err) {
        free(outs);
        return err;
    }
    size_t out_rows = 0;
    for (size_t k = 0; k < x->nsinks; k++) out_rows += outs[k]->nrows;
    *done = !live;

    if (input == 0 && out_rows == 0) {
        free(outs);
        notify(x, -1, 0, start_s, NULL, NULL);
        return SLUICE_OK; /* nothing happened: not an epoch */
    }

    /* sink */
    uint64_t *emitted = calloc(x->nsinks + 1, sizeof *emitted);
    double *commit_s = calloc(x->nsinks + 1, sizeof *commit_s);
    if (!emitted || !commit_s) {
        free(outs);
        free(emitted);
        free(commit_s);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "execute: out of memory");
    }
    for (size_t k = 0; k < x->nsinks && !err; k++) {
        sluice_sink *s = x->sinks[k];
        double t0 = mono_s();
        err = s->ops->write(s, x->epoch, outs[k], errstr, errstr_size);
        commit_s[k] = mono_s() - t0;
        emitted[k] = outs[k]->nrows;
        x->rows_emitted[k] += outs[k]->nrows;
    }
    for (size_t k = 0; k < x->nsinks && !err; k++) {
        sluice_sink *s = x->sinks[k];
        double t0 = mono_s();
        if (s->ops->commit) err = s->ops->commit(s, x->epoch, errstr, errstr_size);
        commit_s[k] += mono_s() - t0;
    }
    if (!err && x->dlq) err = sluice_dead_letter_flush(x->dlq, errstr, errstr_size);
    for (size_t i = 0; i < x->nsources && !err; i++) {
        sluice_source *src = x->sources[i];
        if (src->ops->commit) err = src->ops->commit(src, x->epoch, errstr, errstr_size);
    }
    free(outs);
    if (!err && x->progress) {
        sluice_transform_stats st;
        memset(&st, 0, sizeof st);
        if (x->transform->ops->stats) x->transform->ops->stats(x->transform, &st);
        progress_line(x, x->epoch, input, start_s, mono_s(), start_ms - x->last_start_ms, &st, emitted);
        x->last_stats = st;
    }
    if (!err) notify(x, x->epoch, input, start_s, emitted, commit_s);
    free(emitted);
    free(commit_s);
    if (err) return err;
    x->last_start_ms = start_ms;
    x->epoch++;
    return SLUICE_OK;
}

sluice_err_t sluice_execute(sluice_exec *x, const volatile sig_atomic_t *stop, char *errstr, size_t errstr_size) {
    for (;;) {
        if (stop && *stop) return SLUICE_OK;
        int done = 0;
        sluice_err_t err = sluice_exec_step(x, &done, errstr, errstr_size);
        if (err) return err;
        if (done) return SLUICE_OK;
    }
}
