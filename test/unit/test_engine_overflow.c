/*
 * Integer overflow in SUM: the rule of the README ("an integer overflow
 * gives NULL") holds for SUM too.  A BIGINT SUM whose exact value leaves
 * [INT64_MIN, INT64_MAX] is NULL for its group from then on, across
 * micro-batches, session merges and a snapshot/restore; sums that reach the
 * bounds exactly are kept.  Expected values are worked out by hand below
 * (INT64_MAX = 9223372036854775807, INT64_MIN = -9223372036854775808).
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/engine.h"
#include "format/format.h"
#include "sql/parser.h"

static const char pipeline_sql[] =
    "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE);\n"
    "CREATE SINK total AS SELECT k, COUNT(*) AS n, SUM(v) AS s, AVG(v) AS a FROM ev GROUP BY k EMIT UPDATE;\n"
    "CREATE SINK ses AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM ev\n"
    "  GROUP BY SESSION(ts, INTERVAL '3' MINUTE), k EMIT APPEND;\n";

typedef struct harness {
    sluice_arena *arena;
    sluice_plan *plan;
} harness;

static void plan_open(harness *h) {
    char err[512];
    h->arena = sluice_arena_new(0);
    assert_non_null(h->arena);
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(pipeline_sql, strlen(pipeline_sql), "o.sql", h->arena, &ast, err, sizeof err) != SLUICE_OK)
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

/* One micro-batch of JSON lines (NULL-terminated) into t; returns what the
 * sinks got, "SINK:csv-row" lines (caller frees). */
static char *batch(sluice_transform *t, int64_t epoch, const char *const *lines, int end) {
    enum { SLOT = 200 };
    size_t n = 0;
    while (lines[n]) n++;
    sluice_record *recs = calloc(n + 1, sizeof *recs);
    char *text = calloc(n + 1, SLOT + SLUICE_RECORD_PADDING);
    assert_true(recs && text);
    static int64_t offset;
    for (size_t i = 0; i < n; i++) {
        char *p = text + i * (SLOT + SLUICE_RECORD_PADDING);
        size_t len = strlen(lines[i]);
        assert_true(len < SLOT);
        memcpy(p, lines[i], len);
        recs[i].value = p;
        recs[i].value_len = len;
        recs[i].offset = ++offset;
    }
    char err[512];
    sluice_record_batch in = {.records = recs, .count = n, .capacity = n, .end_of_input = end};
    if (t->ops->process(t, 0, NULL, &in, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    const sluice_row_batch *out[2];
    if (t->ops->end_batch(t, epoch, out, 2, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    for (int k = 0; k < 2; k++)
        for (size_t r = 0; r < out[k]->nrows; r++) {
            fprintf(f, "%s:", k ? "ses" : "total");
            sluice_csv_write_row(f, out[k]->values + r * out[k]->schema->ncolumns, out[k]->schema->ncolumns, ',');
        }
    fclose(f);
    free(recs);
    free(text);
    return buf;
}

#define EV(ts, k, v) "{\"ts\":\"2001-01-01 00:" ts "\",\"k\":\"" k "\",\"v\":" v "}"

static void test_sum_reaching_the_bounds_exactly_is_kept(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    sluice_transform *t = engine_open(&h);
    /* a: (INT64_MAX - 1) + 1 = INT64_MAX exactly; b: -INT64_MAX + -1 = INT64_MIN exactly */
    const char *b0[] = {EV("00:00", "a", "9223372036854775806"), EV("00:01", "a", "1"),
                        EV("00:02", "b", "-9223372036854775807"), EV("00:03", "b", "-1"), NULL};
    char *out = batch(t, 0, b0, 0);
    assert_string_equal(out, "total:a,2,9223372036854775807,4.611686018427388e+18\n"
                             "total:b,2,-9223372036854775808,-4.611686018427388e+18\n");
    free(out);
    /* and back down from the bound: INT64_MAX + (-7) = 9223372036854775800 */
    const char *b1[] = {EV("00:04", "a", "-7"), NULL};
    out = batch(t, 1, b1, 0);
    assert_string_equal(out, "total:a,3,9223372036854775800,3.0744573456182584e+18\n");
    free(out);
    t->ops->destroy(t);
    plan_close(&h);
}

static void test_overflowed_sum_is_null_and_stays_null_through_a_snapshot(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    sluice_transform *t = engine_open(&h);
    /* a: INT64_MAX + 1 overflows: NULL; c: INT64_MIN + -1 overflows: NULL;
     * z stays small: 2 + 3 = 5.  COUNT goes on counting; AVG sums in DOUBLE
     * (9223372036854775807 + 1) / 2 = 4611686018427387904 = 4.611686018427388e+18. */
    const char *b0[] = {EV("00:00", "a", "9223372036854775807"), EV("00:01", "a", "1"),
                        EV("00:00", "c", "-9223372036854775808"), EV("00:01", "c", "-1"),
                        EV("00:02", "z", "2"), EV("00:03", "z", "3"), NULL};
    char *out = batch(t, 0, b0, 0);
    assert_string_equal(out, "total:a,2,,4.611686018427388e+18\n"
                             "total:c,2,,-4.611686018427388e+18\n"
                             "total:z,2,5,2.5\n");
    free(out);

    void *snap = NULL;
    size_t snap_len = 0;
    char err[512];
    if (t->ops->snapshot(t, &snap, &snap_len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    t->ops->destroy(t);

    sluice_transform *r = engine_open(&h);
    if (r->ops->restore(r, snap, snap_len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    free(snap);
    /* -1 would bring a's exact sum back to INT64_MAX, but the exact sum is no
     * longer known: it stays NULL.  z: 5 + 10 = 15. */
    const char *b1[] = {EV("00:04", "a", "-1"), EV("00:05", "z", "10"), NULL};
    out = batch(r, 1, b1, 0);
    assert_string_equal(out, "total:a,3,,3.0744573456182584e+18\ntotal:z,3,15,5\n");
    free(out);
    r->ops->destroy(r);
    plan_close(&h);
}

static void test_session_merge_overflow_is_null(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    sluice_transform *t = engine_open(&h);
    /* two sessions of key s (00:00 and 00:04, 3-minute gap: [00:00, 00:03)
     * and [00:04, 00:07)), each summing INT64_MAX - 10 = 9223372036854775797;
     * a row at 00:02 bridges them into one [00:00, 00:07) whose sum
     * 2 * 9223372036854775797 + 1 overflows: NULL. */
    const char *b0[] = {EV("00:00", "s", "9223372036854775797"), EV("00:04", "s", "9223372036854775797"),
                        EV("00:02", "s", "1"), NULL};
    char *out = batch(t, 0, b0, 0);
    /* total: s's sum overflowed with the second row already; AVG in DOUBLE:
     * (2^63 + 2^63 + 1) / 3 = 2^64 / 3 = 6148914691236517205.3 */
    assert_string_equal(out, "total:s,3,,6.148914691236517e+18\n");
    free(out);
    const char *b1[] = {NULL};
    out = batch(t, 1, b1, 1);
    /* the merged session, at the end of input */
    assert_string_equal(out, "ses:s,3,\n");
    free(out);
    t->ops->destroy(t);
    plan_close(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_reaching_the_bounds_exactly_is_kept),
        cmocka_unit_test(test_overflowed_sum_is_null_and_stays_null_through_a_snapshot),
        cmocka_unit_test(test_session_merge_overflow_is_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
