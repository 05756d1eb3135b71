/*
 * The state the engine reports as kept for good without more input
 * (sluice_transform_stats.kept_state_bytes), on which a max_state_bytes
 * that can never be met is detected: every group of an unwindowed or
 * COMPLETE-mode aggregation, and the windows of event-time queries once no
 * partition can still become idle (30 s, the default idle_timeout, after
 * the last record), since the watermark cannot advance then.  Times are
 * set by hand (set_time), no sleeping.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/engine.h"
#include "format/format.h"
#include "sql/parser.h"

#define SRC "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE);\n"
#define NOW INT64_C(1700000000000)

typedef struct harness {
    sluice_arena *arena;
    sluice_plan *plan;
    sluice_transform *t;
} harness;

static void open_engine(harness *h, const char *sql) {
    char err[512];
    h->arena = sluice_arena_new(0);
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(sql, strlen(sql), "k.sql", h->arena, &ast, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    if (sluice_plan_build(ast, &h->plan, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    sluice_engine_source_options opts = {.format = SLUICE_FORMAT_JSON, .idle_timeout_ms = 30000};
    if (sluice_engine_new(h->plan, &opts, NULL, NULL, &h->t, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
}

static void close_engine(harness *h) {
    h->t->ops->destroy(h->t);
    sluice_plan_free(h->plan);
    sluice_arena_destroy(h->arena);
}

/* One micro-batch at processing time `now` with n records (keys k0..), all
 * in the minute 00:00 of 2024-01-01. */
static void batch(harness *h, int64_t epoch, int64_t now, int n) {
    enum { SLOT = 96 };
    sluice_record *recs = calloc((size_t)n + 1, sizeof *recs);
    char *text = calloc((size_t)n + 1, SLOT + SLUICE_RECORD_PADDING);
    for (int i = 0; i < n; i++) {
        char *p = text + (size_t)i * (SLOT + SLUICE_RECORD_PADDING);
        recs[i].value = p;
        recs[i].value_len = (size_t)snprintf(p, SLOT, "{\"ts\":\"2024-01-01T00:00:01Z\",\"k\":\"k%d\"}", i);
        recs[i].offset = i;
    }
    char err[512];
    h->t->ops->set_time(h->t, now);
    sluice_record_batch in = {.records = recs, .count = (size_t)n, .capacity = (size_t)n};
    if (h->t->ops->process(h->t, 0, NULL, &in, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    const sluice_row_batch *out[1];
    if (h->t->ops->end_batch(h->t, epoch, out, 1, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    free(recs);
    free(text);
}

static sluice_transform_stats stats(harness *h) {
    sluice_transform_stats st;
    memset(&st, 0, sizeof st);
    h->t->ops->stats(h->t, &st);
    return st;
}

static void test_windows_are_kept_once_no_partition_can_become_idle(void **state) {
    (void)state;
    harness h;
    open_engine(&h, SRC "CREATE SINK w AS SELECT window_start, k, COUNT(*) AS n FROM ev\n"
                        "GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), k EMIT APPEND;\n");
    batch(&h, 0, NOW, 100);
    sluice_transform_stats st = stats(&h);
    assert_true(st.state_bytes > 0);
    /* the partition can still go idle (and the watermark move): nothing kept */
    assert_int_equal(st.kept_state_bytes, 0);
    batch(&h, 1, NOW + 29999, 0);
    assert_int_equal(stats(&h).kept_state_bytes, 0);
    /* 30 s without a record: idle; the watermark can no longer move */
    batch(&h, 2, NOW + 30000, 0);
    st = stats(&h);
    assert_true(st.state_bytes > 0);
    assert_int_equal(st.kept_state_bytes, st.state_bytes);
    /* a record makes it live again */
    batch(&h, 3, NOW + 30001, 1);
    assert_int_equal(stats(&h).kept_state_bytes, 0);
    close_engine(&h);
}

static void test_unwindowed_and_complete_groups_are_always_kept(void **state) {
    (void)state;
    static const char *const sqls[] = {
        SRC "CREATE SINK w AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k;\n",
        SRC "CREATE SINK w AS SELECT window_start, k, COUNT(*) AS n FROM ev\n"
            "GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), k EMIT COMPLETE;\n",
    };
    for (int q = 0; q < 2; q++) {
        harness h;
        open_engine(&h, sqls[q]);
        batch(&h, 0, NOW, 100);
        sluice_transform_stats st = stats(&h);
        assert_true(st.state_bytes > 0);
        assert_int_equal(st.kept_state_bytes, st.state_bytes);
        close_engine(&h);
    }
}

static void test_proctime_windows_are_never_kept(void **state) {
    (void)state;
    harness h;
    open_engine(&h, "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR);\n"
                    "CREATE SINK w AS SELECT window_start, k, COUNT(*) AS n FROM ev\n"
                    "GROUP BY TUMBLE(PROCTIME(), INTERVAL '1' HOUR), k EMIT APPEND;\n");
    batch(&h, 0, NOW, 100);
    batch(&h, 1, NOW + 60000, 0);
    sluice_transform_stats st = stats(&h);
    assert_true(st.state_bytes > 0);
    assert_int_equal(st.kept_state_bytes, 0); /* the clock will close the hour */
    close_engine(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_are_kept_once_no_partition_can_become_idle),
        cmocka_unit_test(test_unwindowed_and_complete_groups_are_always_kept),
        cmocka_unit_test(test_proctime_windows_are_never_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
