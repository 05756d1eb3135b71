/*
 * Snapshot compatibility of the aggregate slots (docs/checkpoints.md):
 * fixtures/snapshots/aggregates-v2.snap was written by the engine before
 * the aggregates became a descriptor table (src/exec/aggregate.c), from the
 * input below.  Every aggregate kind is in it, in TUMBLE, SESSION and
 * unwindowed queries: COUNT(*), COUNT(x), integer and DOUBLE SUM (one
 * overflowed), AVG, MIN/MAX of VARCHAR, DOUBLE, TIMESTAMP and BOOLEAN, with
 * NULL arguments and a group whose MIN/MAX saw only NULLs.
 *
 * Today's engine must (1) write the same bytes for the same input, and
 * (2) restore the old file and finish the input with the results computed
 * by hand below.
 *
 * Slot encoding written down (version 2, state/codec.h): a slot is u8 tag,
 * then for a VARCHAR value its u32 length and bytes, else the 8 raw bytes
 * of the payload (COUNT: 0; SUM/AVG accumulators under the NULL tag 0;
 * MIN/MAX: the value under its type's tag, or NULL tag and 0 bytes while
 * n = 0; an overflowed integer SUM: tag 0x80 and 0), then i64 n.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/engine.h"
#include "format/format.h"
#include "sql/parser.h"

static const char pipeline_sql[] =
    "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE, b BOOLEAN,\n"
    "  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE);\n"
    "CREATE SINK w AS SELECT window_start, k, COUNT(*) AS c, COUNT(x) AS cx, SUM(v) AS s, SUM(x) AS sx,\n"
    "  AVG(v) AS av, MIN(k) AS mk, MAX(x) AS mx, MIN(ts) AS mt, MAX(b) AS mb FROM ev\n"
    "  GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k EMIT APPEND;\n"
    "CREATE SINK s AS SELECT window_start, window_end, k, COUNT(*) AS c, SUM(v) AS s, AVG(x) AS ax,\n"
    "  MAX(k) AS mk, MIN(v) AS mv FROM ev GROUP BY SESSION(ts, INTERVAL '3' MINUTE), k EMIT APPEND;\n"
    "CREATE SINK t AS SELECT k, COUNT(*) AS c, SUM(v) AS s, MIN(x) AS mx FROM ev GROUP BY k EMIT UPDATE;\n";

/* 2001-01-01 00:00 .. 00:07 UTC: two keys, one window, sessions a (00:00,
 * 00:02, 00:04 -> one) and b (00:01, 00:06 -> two sessions). */
static const char *const rows[] = {
    "{\"ts\":\"2001-01-01T00:00:00Z\",\"k\":\"a\",\"v\":9223372036854775000,\"x\":1.5,\"b\":false}",
    "{\"ts\":\"2001-01-01T00:01:00Z\",\"k\":\"b\",\"v\":-4,\"x\":null,\"b\":null}",
    "{\"ts\":\"2001-01-01T00:02:00Z\",\"k\":\"a\",\"v\":1000,\"x\":-2.25,\"b\":true}",
    "{\"ts\":\"2001-01-01T00:04:00Z\",\"k\":\"a\",\"v\":null,\"x\":4,\"b\":null}",
    "{\"ts\":\"2001-01-01T00:06:00Z\",\"k\":\"b\",\"v\":10,\"x\":null,\"b\":null}",
};
enum { NROWS = sizeof rows / sizeof rows[0] };

#define GOLDEN "snapshots/aggregates-v2.snap"

typedef struct harness {
    sluice_arena *arena;
    sluice_plan *plan;
} harness;

static void plan_open(harness *h) {
    char err[512];
    h->arena = sluice_arena_new(0);
    assert_non_null(h->arena);
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(pipeline_sql, strlen(pipeline_sql), "compat.sql", h->arena, &ast, err, sizeof err) !=
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

/* Process rows[from, to) as one micro-batch (end of input when end) and
 * append what the sinks got to o as "sink csv" lines. */
static void run_batch(sluice_transform *t, int from, int to, int end, FILE *o) {
    char err[512];
    enum { SLOT = 200 };
    sluice_record recs[NROWS];
    static char text[NROWS][SLOT + SLUICE_RECORD_PADDING];
    memset(recs, 0, sizeof recs);
    for (int i = from; i < to; i++) {
        memset(text[i], 0, sizeof text[i]);
        memcpy(text[i], rows[i], strlen(rows[i]));
        recs[i - from].value = text[i];
        recs[i - from].value_len = strlen(rows[i]);
        recs[i - from].offset = i + 1;
    }
    sluice_record_batch in = {.records = recs, .count = (size_t)(to - from), .capacity = NROWS};
    in.end_of_input = end;
    if (t->ops->process(t, 0, NULL, &in, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    const sluice_row_batch *out[3];
    if (t->ops->end_batch(t, 1, out, 3, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    for (int k = 0; k < 3; k++)
        for (size_t r = 0; r < out[k]->nrows; r++) {
            fprintf(o, "%c ", "wst"[k]);
            sluice_csv_write_row(o, out[k]->values + r * out[k]->schema->ncolumns, out[k]->schema->ncolumns, ',');
        }
}

static void test_snapshot_bytes_unchanged(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    sluice_transform *t = engine_open(&h);
    FILE *o = tmpfile();
    run_batch(t, 0, NROWS, 0, o);
    fclose(o);
    void *snap = NULL;
    size_t len = 0;
    char err[512];
    if (t->ops->snapshot(t, &snap, &len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    if (getenv("SLUICE_WRITE_GOLDEN")) {
        FILE *f = fopen(sluice_test_fixture(GOLDEN), "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(snap, 1, len, f), len);
        fclose(f);
    }
    size_t glen = 0;
    char *golden = sluice_test_read_file(sluice_test_fixture(GOLDEN), &glen);
    assert_non_null(golden);
    assert_int_equal(len, glen);
    /* the wall-clock fields differ from run to run: the source partition's
     * last_seen_ms (bytes 33..40: u32 version, i64 watermark, u8 ended,
     * u32 npartitions, str topic "", u32 partition, i64 max_ts before it)
     * and the trailing i64 proc_wm, i64 proc_now */
    assert_true(len > 41 + 16);
    memset((char *)snap + 33, 0, 8);
    memset(golden + 33, 0, 8);
    memset((char *)snap + len - 16, 0, 16);
    memset(golden + len - 16, 0, 16);
    assert_memory_equal(snap, golden, len);
    free(golden);
    free(snap);
    t->ops->destroy(t);
    plan_close(&h);
}

/* The old snapshot restores, and the end of input emits the results
 * computed by hand from rows[] (the unwindowed query t emitted its rows
 * before the snapshot: nothing changed since). */
static void test_old_snapshot_restores(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    sluice_transform *t = engine_open(&h);
    size_t glen = 0;
    char *golden = sluice_test_read_file(sluice_test_fixture(GOLDEN), &glen);
    assert_non_null(golden);
    char err[512];
    if (t->ops->restore(t, golden, glen, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    char *text = NULL;
    size_t tlen = 0;
    FILE *o = open_memstream(&text, &tlen);
    run_batch(t, 0, 0, 1, o);
    fclose(o);
    /* w, key a: 3 rows, x 1.5 -2.25 4 (3 non-NULL), SUM(v) overflowed ->
     * NULL, SUM(x) 3.25, AVG(v) over 2 values overflows nothing in DOUBLE:
     * (9223372036854775000 + 1000) / 2, MIN(k) a, MAX(x) 4, MIN(ts) 00:00,
     * MAX(b) true.  key b: 2 rows, COUNT(x) 0, SUM(v) 6, SUM(x) NULL, AVG(v)
     * 3, MAX(x) NULL, MAX(b) NULL.
     * s: a one session 00:00..00:07 (last 00:04 + 3 min), SUM(v) NULL
     * (overflowed), AVG(x) 3.25/3; b: session 00:06..00:09 (its first
     * session, 00:01..00:04, was emitted before the snapshot: the watermark
     * was 00:05). */
    const char *want =
        "w 2001-01-01 00:00:00,a,3,3,,3.25,4.611686018427388e+18,a,4,2001-01-01 00:00:00,true\n"
        "w 2001-01-01 00:00:00,b,2,0,6,,3,b,,2001-01-01 00:01:00,\n"
        "s 2001-01-01 00:00:00,2001-01-01 00:07:00,a,3,,1.0833333333333333,a,1000\n"
        "s 2001-01-01 00:06:00,2001-01-01 00:09:00,b,1,10,,b,10\n";
    if (strcmp(text, want) != 0) fail_msg("got:\n%s\nwant:\n%s", text, want);
    free(text);
    free(golden);
    t->ops->destroy(t);
    plan_close(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_bytes_unchanged),
        cmocka_unit_test(test_old_snapshot_restores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
