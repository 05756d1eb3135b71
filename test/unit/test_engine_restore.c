/*
 * Engine snapshots restored into a fresh engine (docs/checkpoints.md):
 * a state of many groups in TUMBLE, HOP, SESSION, top-N and unwindowed
 * queries is snapshotted between micro-batches, restored into a new engine,
 * and the rest of the input is processed.  What the restored engine emits
 * must be exactly what an engine that was never interrupted emits for the
 * same micro-batches, and the final per-key totals must be the ones
 * computed here from the input.  Restore also refuses snapshots that do
 * not fit the pipeline, and still reads format version 1.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/engine.h"
#include "format/format.h"
#include "sql/parser.h"
#include "state/codec.h"

static const char pipeline_sql[] =
    "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE, WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE);\n"
    "CREATE SINK tumble AS SELECT window_start, k, COUNT(*) AS n, SUM(v) AS s, MIN(v) AS lo, MAX(k) AS hk,\n"
    "  AVG(x) AS ax, SUM(x) AS sx FROM ev GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k EMIT APPEND;\n"
    "CREATE SINK hop AS SELECT window_start, window_end, k, COUNT(v) AS n, MAX(x) AS mx FROM ev\n"
    "  GROUP BY HOP(ts, INTERVAL '5' MINUTE, INTERVAL '15' MINUTE), k EMIT UPDATE;\n"
    "CREATE SINK ses AS SELECT window_start, window_end, k, COUNT(*) AS n, SUM(v) AS s, MIN(k) AS mk FROM ev\n"
    "  GROUP BY SESSION(ts, INTERVAL '3' MINUTE), k EMIT APPEND;\n"
    "CREATE SINK top AS SELECT window_start, rank, k, SUM(v) AS s FROM ev\n"
    "  GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k ORDER BY SUM(v) DESC LIMIT 5 EMIT UPDATE;\n"
    "CREATE SINK total AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM ev GROUP BY k EMIT UPDATE;\n";

enum { NKEYS = 3000, NBATCHES = 12, ROWS_PER_BATCH = 4000, CUT = 7 };
#define T0 INT64_C(978307200000) /* 2001-01-01 00:00:00 UTC */

typedef struct harness {
    sluice_arena *arena;
    sluice_plan *plan;
} harness;

static void plan_open(harness *h) {
    char err[512];
    h->arena = sluice_arena_new(0);
    assert_non_null(h->arena);
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(pipeline_sql, strlen(pipeline_sql), "restore.sql", h->arena, &ast, err, sizeof err) !=
        SLUICE_OK)
        fail_msg("%s", err);
    if (sluice_plan_build(ast, &h->plan, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
}

static void plan_close(harness *h) {
    sluice_plan_free(h->plan);
    sluice_arena_destroy(h->arena);
}

static sluice_transform *engine_open(const harness *h) {
    sluice_engine_source_options opts = {.format = SLUICE_FORMAT_JSON};
    sluice_transform *t = NULL;
    char err[512];
    if (sluice_engine_new(h->plan, &opts, NULL, NULL, &t, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    return t;
}

/* Row r of the input: keys k0000..k2999 in a shuffled order, times rising
 * 150 ms a row with up to 50 s of disorder (less than the watermark's
 * delay, so no row is late), values that take every sign. */
static int64_t row_ts(int r) {
    return T0 + (int64_t)r * 150 + (int64_t)((r * 7919) % 50) * 1000 - 25000;
}
static int row_key(int r) {
    return (int)(((int64_t)r * 7919 + (r / 5000) * 13) % NKEYS);
}
static long row_v(int r) {
    return (long)((r * 31) % 201) - 100;
}

typedef struct records {
    sluice_record *recs;
    char *text;
} records;

/* The JSON records of micro-batch b (each followed by the padding the
 * decoders may read). */
static records batch_records(int b) {
    enum { SLOT = 160 };
    records out;
    out.recs = calloc(ROWS_PER_BATCH, sizeof *out.recs);
    out.text = calloc(ROWS_PER_BATCH, SLOT + SLUICE_RECORD_PADDING);
    assert_true(out.recs && out.text);
    for (int i = 0; i < ROWS_PER_BATCH; i++) {
        int r = b * ROWS_PER_BATCH + i;
        char ts[40];
        sluice_ts_render(row_ts(r), ts, sizeof ts);
        char *p = out.text + (size_t)i * (SLOT + SLUICE_RECORD_PADDING);
        int n = snprintf(p, SLOT, "{\"ts\":\"%s\",\"k\":\"k%04d\",\"v\":%ld,\"x\":%d.25}", ts, row_key(r), row_v(r),
                         r % 17);
        assert_true(n > 0 && n < SLOT);
        out.recs[i].value = p;
        out.recs[i].value_len = (size_t)n;
        out.recs[i].partition = 0;
        out.recs[i].offset = r + 1;
    }
    return out;
}

/* Everything the sinks received, one line per row: "epoch sink csv". */
typedef struct output {
    char *text;
    size_t len;
    FILE *f;
} output;

static void run_batch(sluice_transform *t, int b, int end, output *o) {
    char err[512];
    records rs = batch_records(b);
    sluice_record_batch in = {.records = rs.recs, .count = ROWS_PER_BATCH, .capacity = ROWS_PER_BATCH};
    in.end_of_input = end;
    if (t->ops->process(t, 0, NULL, &in, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    const sluice_row_batch *out[5];
    if (t->ops->end_batch(t, b, out, 5, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    for (int k = 0; k < 5; k++) {
        for (size_t r = 0; r < out[k]->nrows; r++) {
            fprintf(o->f, "%d %d ", b, k);
            sluice_csv_write_row(o->f, out[k]->values + r * out[k]->schema->ncolumns, out[k]->schema->ncolumns, ',');
        }
    }
    free(rs.recs);
    free(rs.text);
}

static void snapshot(sluice_transform *t, void **buf, size_t *len) {
    char err[512];
    if (t->ops->snapshot(t, buf, len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
}

/* Batches [from, NBATCHES) into engine t, the last one ending the input. */
static void run_batches(sluice_transform *t, int from, int to, output *o) {
    for (int b = from; b < to; b++) run_batch(t, b, b == NBATCHES - 1, o);
}

static void output_open(output *o) {
    o->text = NULL;
    o->len = 0;
    o->f = open_memstream(&o->text, &o->len);
    assert_non_null(o->f);
}
static void output_close(output *o) {
    fclose(o->f);
}

static void test_restored_engine_continues_exactly_like_an_uninterrupted_one(void **state) {
    (void)state;
    harness h;
    plan_open(&h);

    /* the uninterrupted run */
    output whole, before, after;
    output_open(&whole);
    sluice_transform *a = engine_open(&h);
    run_batches(a, 0, CUT, &whole);
    fflush(whole.f);
    size_t cut_at = whole.len;
    run_batches(a, CUT, NBATCHES, &whole);
    output_close(&whole);

    /* the same input, snapshotted after CUT batches into a fresh engine */
    output_open(&before);
    sluice_transform *b = engine_open(&h);
    run_batches(b, 0, CUT, &before);
    output_close(&before);
    void *snap = NULL;
    size_t snap_len = 0;
    snapshot(b, &snap, &snap_len);
    sluice_transform_stats st;
    b->ops->stats(b, &st);
    b->ops->destroy(b);
    /* many groups of every kind are in the state */
    assert_true(st.state_rows > 3 * NKEYS);

    sluice_transform *c = engine_open(&h);
    char err[512];
    if (c->ops->restore(c, snap, snap_len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    sluice_transform_stats st2;
    c->ops->stats(c, &st2);
    assert_int_equal(st2.state_rows, st.state_rows);
    assert_int_equal(st2.watermark, st.watermark);
    /* the restored state snapshots to the same bytes */
    void *again = NULL;
    size_t again_len = 0;
    snapshot(c, &again, &again_len);
    assert_int_equal(again_len, snap_len);
    assert_memory_equal(again, snap, snap_len);
    free(again);

    output_open(&after);
    run_batches(c, CUT, NBATCHES, &after);
    output_close(&after);

    /* before the cut both emitted the same; after it, the restored engine
     * emits exactly what the uninterrupted one did */
    assert_int_equal(before.len, cut_at);
    assert_memory_equal(before.text, whole.text, cut_at);
    assert_true(after.len > 1000);
    assert_int_equal(after.len, whole.len - cut_at);
    assert_memory_equal(after.text, whole.text + cut_at, after.len);

    /* and the last UPDATE of each key of `total` holds its count and sum over
     * the whole input, computed here */
    static long count[NKEYS], sum[NKEYS];
    static int seen[NKEYS];
    memset(count, 0, sizeof count);
    memset(sum, 0, sizeof sum);
    memset(seen, 0, sizeof seen);
    for (int r = 0; r < NBATCHES * ROWS_PER_BATCH; r++) {
        count[row_key(r)]++;
        sum[row_key(r)] += row_v(r);
    }
    int keys = 0;
    /* walk the restored run's output backwards: the last row of a key wins */
    char *text = after.text;
    for (char *end = text + after.len; end > text;) {
        char *line = end - 1;
        while (line > text && line[-1] != '\n') line--;
        int batch, sink, key;
        long n, s;
        /* sscanf on a copy of the line: on the whole buffer glibc measures
         * the rest of it at every call */
        char one[256];
        snprintf(one, sizeof one, "%.*s", (int)(end - line), line);
        if (sscanf(one, "%d %d k%d,%ld,%ld", &batch, &sink, &key, &n, &s) == 5 && sink == 4 && !seen[key]) {
            seen[key] = 1;
            keys++;
            assert_int_equal(n, count[key]);
            assert_int_equal(s, sum[key]);
        }
        end = line;
    }
    assert_int_equal(keys, NKEYS);
    /* every query emitted after the cut */
    int per_sink[5] = {0};
    for (char *line = after.text; line < after.text + after.len;) {
        int batch, sink;
        char *nl = memchr(line, '\n', (size_t)(after.text + after.len - line));
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)((nl ? nl : after.text + after.len) - line), line);
        if (sscanf(one, "%d %d ", &batch, &sink) == 2 && sink >= 0 && sink < 5) per_sink[sink]++;
        line = nl ? nl + 1 : after.text + after.len;
    }
    for (int k = 0; k < 5; k++) {
        print_message("sink %d: %d rows after the cut\n", k, per_sink[k]);
        assert_true(per_sink[k] > 10);
    }

    free(snap);
    free(whole.text);
    free(before.text);
    free(after.text);
    a->ops->destroy(a);
    c->ops->destroy(c);
    plan_close(&h);
}

/* A snapshot taken after a few batches, for the tests below. */
static void small_snapshot(const harness *h, void **snap, size_t *len) {
    output o;
    output_open(&o);
    sluice_transform *t = engine_open(h);
    run_batches(t, 0, 2, &o);
    output_close(&o);
    free(o.text);
    snapshot(t, snap, len);
    t->ops->destroy(t);
}

static void test_restore_refuses_cut_or_altered_snapshots(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    void *snap = NULL;
    size_t len = 0;
    small_snapshot(&h, &snap, &len);
    unsigned char *bad = malloc(len + 1);
    assert_non_null(bad);
    char err[512];
    sluice_transform *t = engine_open(&h);
    /* cut short at several places */
    for (size_t cut = 0; cut < len; cut += len / 97 + 1)
        assert_int_equal(t->ops->restore(t, snap, cut, err, sizeof err), SLUICE_ERR_MALFORMED);
    /* a byte too many */
    memcpy(bad, snap, len);
    bad[len] = 0;
    assert_int_equal(t->ops->restore(t, bad, len + 1, err, sizeof err), SLUICE_ERR_MALFORMED);
    /* an unknown version */
    memcpy(bad, snap, len);
    bad[0] = 99;
    assert_int_equal(t->ops->restore(t, bad, len, err, sizeof err), SLUICE_ERR_MALFORMED);
    assert_non_null(strstr(err, "does not decode"));
    /* after a refused snapshot the state is empty, and the intact one restores */
    sluice_transform_stats st;
    t->ops->stats(t, &st);
    assert_int_equal(st.state_rows, 0);
    assert_int_equal(t->ops->restore(t, snap, len, err, sizeof err), SLUICE_OK);
    t->ops->destroy(t);
    free(bad);
    free(snap);
    plan_close(&h);
}

static void test_restore_refuses_a_group_listed_twice(void **state) {
    (void)state;
    harness h;
    char err[512];
    sluice_arena *a = sluice_arena_new(0);
    sluice_ast_pipeline *ast = NULL;
    static const char sql[] = "CREATE SOURCE ev (k VARCHAR, v BIGINT);\n"
                              "CREATE SINK total AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k EMIT UPDATE;\n";
    assert_int_equal(sluice_sql_parse(sql, strlen(sql), "dup.sql", a, &ast, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_plan_build(ast, &h.plan, err, sizeof err), SLUICE_OK);
    h.arena = a;
    sluice_transform *t = engine_open(&h);
    /* version 2: one source (watermark, not ended, no partitions), one
     * query with one window at 0 holding groups "a" and "b" (or "a" twice) */
    for (int twice = 0; twice < 2; twice++) {
        sluice_enc e = {0};
        sluice_enc_u32(&e, 2);
        sluice_enc_i64(&e, INT64_MIN);
        sluice_enc_u8(&e, 0);
        sluice_enc_u32(&e, 0);
        sluice_enc_i64(&e, 0); /* late_rows */
        sluice_enc_u8(&e, 0);  /* windows */
        sluice_enc_u32(&e, 1);
        sluice_enc_i64(&e, 0);  /* start */
        sluice_enc_u32(&e, 0);  /* nranked */
        sluice_enc_u32(&e, 2);  /* groups */
        sluice_enc_i64(&e, 32); /* string bytes */
        for (int g = 0; g < 2; g++) {
            sluice_enc_u32(&e, 0);
            sluice_value k = sluice_value_varchar(g && !twice ? "b" : "a", 1);
            sluice_enc_value(&e, &k);
            sluice_enc_u8(&e, SLUICE_TYPE_NULL);
            sluice_enc_i64(&e, 0);
            sluice_enc_i64(&e, 3); /* n */
        }
        sluice_enc_i64(&e, INT64_MIN);
        sluice_enc_i64(&e, INT64_MIN);
        assert_false(e.oom);
        assert_int_equal(t->ops->restore(t, e.data, e.len, err, sizeof err), twice ? SLUICE_ERR_MALFORMED : SLUICE_OK);
        free(e.data);
    }
    t->ops->destroy(t);
    plan_close(&h);
}

/* Copy one aggregate slot: u8 type, the value's bytes (VARCHAR) or 8 raw
 * bytes, then i64 n. */
static void copy_slot(sluice_dec *d, sluice_enc *e, sluice_arena *tmp) {
    size_t save = d->pos;
    uint8_t ty = sluice_dec_u8(d);
    d->pos = save;
    if (ty == SLUICE_TYPE_VARCHAR) {
        sluice_value v = sluice_dec_value(d, tmp);
        sluice_enc_value(e, &v);
    } else {
        sluice_enc_u8(e, sluice_dec_u8(d));
        sluice_enc_i64(e, sluice_dec_i64(d));
    }
    sluice_enc_i64(e, sluice_dec_i64(d));
}

static void test_restore_reads_format_version_1(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    void *snap = NULL;
    size_t len = 0;
    small_snapshot(&h, &snap, &len);
    /* version 1 is version 2 without the string_bytes of each window and of
     * each session table: rewrite the snapshot without them */
    sluice_transform *t = engine_open(&h);
    char err[512];
    assert_int_equal(t->ops->restore(t, snap, len, err, sizeof err), SLUICE_OK);
    sluice_dec d;
    sluice_dec_init(&d, snap, len);
    sluice_enc e = {0};
    sluice_arena *tmp = sluice_arena_new(0);
    assert_int_equal(sluice_dec_u32(&d), 2);
    sluice_enc_u32(&e, 1);
    /* one source */
    sluice_enc_i64(&e, sluice_dec_i64(&d));
    sluice_enc_u8(&e, sluice_dec_u8(&d));
    uint32_t np = sluice_dec_u32(&d);
    sluice_enc_u32(&e, np);
    for (uint32_t p = 0; p < np; p++) {
        sluice_enc_str(&e, sluice_dec_str(&d, tmp));
        sluice_enc_u32(&e, sluice_dec_u32(&d));
        sluice_enc_i64(&e, sluice_dec_i64(&d));
        sluice_enc_i64(&e, sluice_dec_i64(&d));
    }
    /* queries: copy the bytes between the string_bytes fields */
    for (size_t k = 0; k < h.plan->nqueries; k++) {
        const sluice_query_plan *q = &h.plan->queries[k];
        sluice_enc_i64(&e, sluice_dec_i64(&d));
        uint8_t kind = sluice_dec_u8(&d);
        sluice_enc_u8(&e, kind);
        uint32_t n = sluice_dec_u32(&d);
        sluice_enc_u32(&e, n);
        if (kind == 1) {
            (void)sluice_dec_i64(&d);
            for (uint32_t i = 0; i < n; i++) {
                for (size_t g = 0; g < q->ngroup; g++) {
                    sluice_value v = sluice_dec_value(&d, tmp);
                    sluice_enc_value(&e, &v);
                }
                uint32_t ns = sluice_dec_u32(&d);
                sluice_enc_u32(&e, ns);
                for (uint32_t j = 0; j < ns; j++) {
                    sluice_enc_i64(&e, sluice_dec_i64(&d));
                    sluice_enc_i64(&e, sluice_dec_i64(&d));
                    for (size_t m = 0; m < q->naggs; m++) copy_slot(&d, &e, tmp);
                }
            }
            continue;
        }
        for (uint32_t w = 0; w < n; w++) {
            sluice_enc_i64(&e, sluice_dec_i64(&d));
            sluice_enc_u32(&e, sluice_dec_u32(&d));
            uint32_t ne = sluice_dec_u32(&d);
            sluice_enc_u32(&e, ne);
            (void)sluice_dec_i64(&d);
            for (uint32_t i = 0; i < ne; i++) {
                sluice_enc_u32(&e, sluice_dec_u32(&d));
                for (size_t g = 0; g < q->ngroup; g++) {
                    sluice_value v = sluice_dec_value(&d, tmp);
                    sluice_enc_value(&e, &v);
                }
                for (size_t m = 0; m < q->naggs; m++) copy_slot(&d, &e, tmp);
            }
        }
    }
    sluice_enc_i64(&e, sluice_dec_i64(&d));
    sluice_enc_i64(&e, sluice_dec_i64(&d));
    assert_false(d.bad);
    assert_int_equal(d.pos, len);
    assert_false(e.oom);
    assert_true(e.len < len);
    /* the version 1 snapshot restores to the same state: it snapshots (as
     * version 2) to the original bytes */
    sluice_transform *u = engine_open(&h);
    if (u->ops->restore(u, e.data, e.len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    void *again = NULL;
    size_t again_len = 0;
    snapshot(u, &again, &again_len);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, snap, len);
    free(again);
    free(e.data);
    free(snap);
    sluice_arena_destroy(tmp);
    t->ops->destroy(t);
    u->ops->destroy(u);
    plan_close(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restored_engine_continues_exactly_like_an_uninterrupted_one),
        cmocka_unit_test(test_restore_refuses_cut_or_altered_snapshots),
        cmocka_unit_test(test_restore_refuses_a_group_listed_twice),
        cmocka_unit_test(test_restore_reads_format_version_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
