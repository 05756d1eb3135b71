/*
 * PROCTIME() windows end to end (docs/sql.md; Flink's processing-time
 * windows): a row's time is the clock when it is processed, and windows
 * close when the clock at the end of a micro-batch reaches their end.  The
 * engine's clock is replaced by a fake one (sluice_engine_set_clock), so
 * no test depends on the wall clock.
 */
#include <stdio.h>
#include <string.h>

#include "exec/engine.h"
#include "sluice_test_engine.h"

#define T0 SLUICE_TEST_T2001
#define SEC INT64_C(1000)

/* no WATERMARK: the source has no event time */
#define PSOURCE "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE);\n"

static int64_t fake_now;

static int64_t fake_clock(void *ctx) {
    return *(const int64_t *)ctx;
}

static void open_with_fake_clock(const char *sql) {
    sluice_test_engine_open(sql, "out", NULL);
    sluice_transform *t = sluice_pipeline_transform(sluice_test_engine_pipeline());
    assert_non_null(t);
    sluice_engine_set_clock(t, fake_clock, &fake_now);
}

static const char tumble_append[] = PSOURCE
    "CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n FROM ev\n"
    "GROUP BY TUMBLE(PROCTIME(), INTERVAL '1' MINUTE), k EMIT APPEND;\n";

static void test_rows_fall_in_the_window_of_the_clock_and_close_by_it(void **state) {
    (void)state;
    open_with_fake_clock(tumble_append);
    fake_now = T0 + 10 * SEC;
    /* the event times in the records do not matter */
    sluice_test_push_ev("07:00:00", "a", 1);
    sluice_test_push_ev("03:00:00", "a", 1);
    sluice_test_push_ev("05:00:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    /* a batch without input still closes windows by the clock */
    fake_now = T0 + 59 * SEC + 999;
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    fake_now = T0 + 60 * SEC;
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,2001-01-01 00:01:00,a,2\n"
                                                 "2001-01-01 00:00:00,2001-01-01 00:01:00,b,1\n");
    assert_int_equal(sluice_test_stats().state_rows, 0);
    fake_now = T0 + 90 * SEC;
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    /* the end of a bounded input closes every window */
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:01:00,2001-01-01 00:02:00,a,1\n");
    assert_int_equal(sluice_test_stats().late_rows, 0);
}

static void test_update_emits_changed_rows_each_batch(void **state) {
    (void)state;
    open_with_fake_clock(PSOURCE "CREATE SINK out AS SELECT window_start, COUNT(*) AS n, SUM(v) AS s FROM ev\n"
                                 "GROUP BY TUMBLE(PROCTIME(), INTERVAL '1' MINUTE);\n");
    fake_now = T0 + 5 * SEC;
    sluice_test_push_ev("00:00:00", "a", 2);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,2001-01-01 00:00:00,1,2\n");
    fake_now = T0 + 30 * SEC;
    sluice_test_push_ev("00:00:00", "a", 3);
    sluice_test_step();
    /* no key (window_end is not an output column): update-before, then update-after */
    assert_string_equal(sluice_test_take_in_order("out"), "-U,2001-01-01 00:00:00,1,2\n+U,2001-01-01 00:00:00,2,5\n");
    fake_now = T0 + 61 * SEC;
    sluice_test_push_ev("00:00:00", "a", 4);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,2001-01-01 00:01:00,1,4\n");
}

static void test_hop_windows_by_the_clock(void **state) {
    (void)state;
    open_with_fake_clock(PSOURCE "CREATE SINK out AS SELECT window_start, COUNT(*) AS n FROM ev\n"
                                 "GROUP BY HOP(PROCTIME(), INTERVAL '30' SECOND, INTERVAL '1' MINUTE) EMIT APPEND;\n");
    /* 00:00:40 is in [00:00:00, 00:01:00) and [00:00:30, 00:01:30) */
    fake_now = T0 + 40 * SEC;
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_step();
    /* 00:01:05 is in [00:00:30, 00:01:30) and [00:01:00, 00:02:00); the clock
     * at the end of this batch closes [00:00:00, 00:01:00) */
    fake_now = T0 + 65 * SEC;
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,1\n");
    fake_now = T0 + 90 * SEC;
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:30,2\n");
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:01:00,1\n");
}

static void test_a_clock_stepping_back_reads_as_the_last_time(void **state) {
    (void)state;
    open_with_fake_clock(tumble_append);
    fake_now = T0 + 70 * SEC;
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_step();
    /* the wall clock is set back a minute: processing time stays 00:01:10,
     * so the row joins [00:01, 00:02) and is not late */
    fake_now = T0 + 10 * SEC;
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    assert_int_equal(sluice_test_stats().late_rows, 0);
    fake_now = T0 + 120 * SEC;
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:01:00,2001-01-01 00:02:00,a,2\n");
}

static void test_a_source_with_a_watermark_can_have_proctime_windows(void **state) {
    (void)state;
    open_with_fake_clock(SLUICE_TEST_SOURCE
                         "CREATE SINK out AS SELECT window_start, COUNT(*) AS n FROM ev\n"
                         "GROUP BY TUMBLE(PROCTIME(), INTERVAL '1' MINUTE) EMIT APPEND;\n");
    /* the source's watermark plays no part in a PROCTIME() window */
    fake_now = T0 + 20 * SEC;
    sluice_test_push_ev("09:00:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    fake_now = T0 + 60 * SEC;
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,1\n");
}

static void test_session_windows_by_the_clock(void **state) {
    (void)state;
    open_with_fake_clock(PSOURCE "CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n FROM ev\n"
                                 "GROUP BY SESSION(PROCTIME(), INTERVAL '1' MINUTE), k EMIT APPEND;\n");
    fake_now = T0;
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_step();
    fake_now = T0 + 30 * SEC;
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_step();
    /* the session [00:00:00, 00:01:30) is open until the clock reaches its end */
    fake_now = T0 + 89 * SEC;
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    fake_now = T0 + 90 * SEC;
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,2001-01-01 00:01:30,a,2\n");
}

static void test_the_default_clock_is_the_wall_clock(void **state) {
    (void)state;
    sluice_test_engine_open(PSOURCE "CREATE SINK out AS SELECT COUNT(*) AS n FROM ev\n"
                                    "GROUP BY TUMBLE(PROCTIME(), INTERVAL '1' DAY) EMIT APPEND;\n",
                            "out", NULL);
    sluice_transform *t = sluice_pipeline_transform(sluice_test_engine_pipeline());
    sluice_engine_set_clock(t, fake_clock, &fake_now);
    sluice_engine_set_clock(t, NULL, NULL); /* back to the wall clock */
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_push_ev("00:00:00", "a", 1);
    /* whatever the day, the end of input emits the one window holding both */
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "2\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, sluice_test_engine_setup, sluice_test_engine_teardown)
        T(test_rows_fall_in_the_window_of_the_clock_and_close_by_it),
        T(test_update_emits_changed_rows_each_batch),
        T(test_hop_windows_by_the_clock),
        T(test_a_clock_stepping_back_reads_as_the_last_time),
        T(test_a_source_with_a_watermark_can_have_proctime_windows),
        T(test_session_windows_by_the_clock),
        T(test_the_default_clock_is_the_wall_clock),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
