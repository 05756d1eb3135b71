/*
 * VAR_SAMP, VAR_POP, STDDEV_SAMP, STDDEV_POP through the engine: a TUMBLE
 * window, SESSION windows that merge when a late row bridges them, NULL
 * arguments, and a snapshot/restore between the two micro-batches.
 *
 * Key a gets the textbook set 2,4,4,4,5,5,7,9 (population variance 4,
 * standard deviation 2, sample variance 32/7) plus NULLs; its rows at
 * 00:00-00:02 and 00:06-00:08 form two sessions (gap 3 minutes) until the
 * second batch brings 00:04 and 00:05, which bridge them into one.  Key b
 * has the single value 3 and a NULL: VAR_POP 0, the sample forms NULL.
 */
#include "sluice_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/engine.h"
#include "sql/parser.h"

static const char pipeline_sql[] =
    "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, x BIGINT, WATERMARK FOR ts AS ts - INTERVAL '5' MINUTE);\n"
    "CREATE SINK w AS SELECT k, VAR_POP(x) AS vp, VAR_SAMP(x) AS vs, STDDEV_POP(x) AS sp, STDDEV_SAMP(x) AS ss,\n"
    "  COUNT(x) AS n FROM ev GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), k EMIT APPEND;\n"
    "CREATE SINK s AS SELECT k, window_start, window_end, VAR_POP(x) AS vp, VAR_SAMP(x) AS vs,\n"
    "  STDDEV_SAMP(x) AS ss FROM ev GROUP BY SESSION(ts, INTERVAL '3' MINUTE), k EMIT APPEND;\n";

#define ROW(t, k, x) "{\"ts\":\"2001-01-01T00:" t ":00Z\",\"k\":\"" k "\",\"x\":" x "}"
static const char *const batch1[] = {
    ROW("00", "a", "2"), ROW("00", "a", "null"), ROW("01", "a", "4"), ROW("02", "a", "4"),
    ROW("06", "a", "5"), ROW("07", "a", "7"),    ROW("08", "a", "9"), ROW("01", "b", "3"),
    ROW("02", "b", "null"),
};
static const char *const batch2[] = {ROW("04", "a", "4"), ROW("05", "a", "5")};

#define T0 INT64_C(978307200000) /* 2001-01-01 00:00 UTC */
#define MIN_MS INT64_C(60000)

typedef struct harness {
    sluice_arena *arena;
    sluice_plan *plan;
} harness;

static void plan_open(harness *h) {
    char err[512];
    h->arena = sluice_arena_new(0);
    assert_non_null(h->arena);
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(pipeline_sql, strlen(pipeline_sql), "var.sql", h->arena, &ast, err, sizeof err) != SLUICE_OK)
        fail_msg("%s", err);
    if (sluice_plan_build(ast, &h->plan, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
}

static sluice_transform *engine_open(const harness *h) {
    sluice_engine_source_options opts = {.format = SLUICE_FORMAT_JSON};
    sluice_transform *t = NULL;
    char err[512];
    if (sluice_engine_new(h->plan, &opts, NULL, NULL, &t, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    return t;
}

/* What the sinks emitted, by key. */
typedef struct seen {
    int w_rows, s_rows;
    sluice_value w[2][6];   /* [a, b] x columns of w */
    sluice_value s[2][6];   /* the last session row of each key */
    int s_count[2];
} seen;

static void run_batch(sluice_transform *t, const char *const *rows, size_t n, int end, seen *out) {
    char err[512];
    static char text[16][200 + SLUICE_RECORD_PADDING];
    sluice_record recs[16];
    memset(recs, 0, sizeof recs);
    for (size_t i = 0; i < n; i++) {
        memset(text[i], 0, sizeof text[i]);
        memcpy(text[i], rows[i], strlen(rows[i]));
        recs[i].value = text[i];
        recs[i].value_len = strlen(rows[i]);
    }
    sluice_record_batch in = {.records = recs, .count = n, .capacity = 16, .end_of_input = end};
    if (t->ops->process(t, 0, NULL, &in, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    const sluice_row_batch *o[2];
    if (t->ops->end_batch(t, 1, o, 2, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    for (size_t r = 0; r < o[0]->nrows; r++) {
        const sluice_value *v = o[0]->values + r * 6;
        int k = v[0].u.s[0] - 'a';
        memcpy(out->w[k], v, sizeof out->w[k]);
        out->w_rows++;
    }
    for (size_t r = 0; r < o[1]->nrows; r++) {
        const sluice_value *v = o[1]->values + r * 6;
        int k = v[0].u.s[0] - 'a';
        memcpy(out->s[k], v, sizeof out->s[k]);
        out->s_count[k]++;
        out->s_rows++;
    }
}

static void assert_double(sluice_value v, double want) {
    assert_int_equal(v.type, SLUICE_TYPE_DOUBLE);
    if (!(fabs(v.u.d - want) <= 1e-12 * (1 + fabs(want)))) fail_msg("got %.17g, want %.17g", v.u.d, want);
}

static void check(const seen *o) {
    assert_int_equal(o->w_rows, 2);
    /* TUMBLE: a */
    assert_double(o->w[0][1], 4.0);
    assert_double(o->w[0][2], 32.0 / 7.0);
    assert_double(o->w[0][3], 2.0);
    assert_double(o->w[0][4], sqrt(32.0 / 7.0));
    assert_int_equal(o->w[0][5].u.i, 8);
    /* b: one value */
    assert_double(o->w[1][1], 0.0);
    assert_int_equal(o->w[1][2].type, SLUICE_TYPE_NULL);
    assert_double(o->w[1][3], 0.0);
    assert_int_equal(o->w[1][4].type, SLUICE_TYPE_NULL);
    assert_int_equal(o->w[1][5].u.i, 1);
    /* SESSION: a's two sessions merged into one, 00:00 .. 00:08 + 3 min */
    assert_int_equal(o->s_count[0], 1);
    assert_int_equal(o->s[0][1].u.i, T0);
    assert_int_equal(o->s[0][2].u.i, T0 + 11 * MIN_MS);
    assert_double(o->s[0][3], 4.0);
    assert_double(o->s[0][4], 32.0 / 7.0);
    assert_double(o->s[0][5], sqrt(32.0 / 7.0));
    assert_int_equal(o->s_count[1], 1);
    assert_double(o->s[1][3], 0.0);
    assert_int_equal(o->s[1][4].type, SLUICE_TYPE_NULL);
    assert_int_equal(o->s[1][5].type, SLUICE_TYPE_NULL);
}

static void test_variance_uninterrupted(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    sluice_transform *t = engine_open(&h);
    seen o;
    memset(&o, 0, sizeof o);
    run_batch(t, batch1, sizeof batch1 / sizeof batch1[0], 0, &o);
    assert_int_equal(o.w_rows + o.s_rows, 0); /* the watermark is 00:03: nothing closed */
    run_batch(t, batch2, 2, 1, &o);
    check(&o);
    t->ops->destroy(t);
    sluice_plan_free(h.plan);
    sluice_arena_destroy(h.arena);
}

static void test_variance_across_snapshot_restore(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    sluice_transform *t = engine_open(&h);
    seen o;
    memset(&o, 0, sizeof o);
    run_batch(t, batch1, sizeof batch1 / sizeof batch1[0], 0, &o);
    void *snap = NULL;
    size_t len = 0;
    char err[512];
    if (t->ops->snapshot(t, &snap, &len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    t->ops->destroy(t);
    sluice_transform *u = engine_open(&h);
    if (u->ops->restore(u, snap, len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    /* the restored state snapshots to the same bytes but for the wall
     * clock's trailing i64 proc_wm, i64 proc_now */
    void *again = NULL;
    size_t again_len = 0;
    if (u->ops->snapshot(u, &again, &again_len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, snap, len - 16);
    run_batch(u, batch2, 2, 1, &o);
    check(&o);
    free(snap);
    free(again);
    u->ops->destroy(u);
    sluice_plan_free(h.plan);
    sluice_arena_destroy(h.arena);
}

/* A variance needs a number, named at the argument (file:line:col). */
static void test_variance_of_text_is_refused(void **state) {
    (void)state;
    static const char sql[] = "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR);\n"
                              "CREATE SINK o AS SELECT STDDEV_SAMP(k) AS s FROM ev;\n";
    char err[512];
    sluice_arena *arena = sluice_arena_new(0);
    sluice_ast_pipeline *ast = NULL;
    assert_int_equal(sluice_sql_parse(sql, strlen(sql), "bad.sql", arena, &ast, err, sizeof err), SLUICE_OK);
    sluice_plan *plan = NULL;
    assert_int_equal(sluice_plan_build(ast, &plan, err, sizeof err), SLUICE_ERR_SQL);
    assert_string_equal(err, "bad.sql:2:37: STDDEV_SAMP needs a number, got VARCHAR");
    sluice_arena_destroy(arena);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variance_uninterrupted),
        cmocka_unit_test(test_variance_across_snapshot_restore),
        cmocka_unit_test(test_variance_of_text_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
