/*
 * Relational SQL end to end through the embedding API (docs/sql.md
 * "Views, subqueries and joins"): views read by several queries, a query
 * over a subquery, window TVFs, UNION ALL, SELECT * and qualified names,
 * and the watermark of a derived relation.  Expected rows are worked out by
 * hand in the comments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/sluice.h"
#include "sluice_test_engine.h"

/* A view read by two sinks: one row of input feeds both (one read). */
static void test_a_view_read_by_two_sinks(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE VIEW big AS SELECT ts, k, v * 10 AS v10 FROM ev WHERE v > 1;\n"
                            "CREATE SINK all_rows AS SELECT * FROM big;\n"
                            "CREATE SINK per_minute AS SELECT b.k, COUNT(*) AS n, SUM(b.v10) AS s, window_start\n"
                            "  FROM TABLE(TUMBLE(TABLE big, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) AS b\n"
                            "  GROUP BY b.k, window_start, window_end;\n",
                            "all_rows,per_minute", NULL);
    sluice_test_push_ev("00:00:05", "a", 1); /* filtered out by the view */
    sluice_test_push_ev("00:00:10", "a", 2);
    sluice_test_push_ev("00:00:20", "b", 3);
    sluice_test_push_ev("00:00:50", "a", 4);
    sluice_test_push_ev("00:01:30", "b", 5);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("all_rows"), "2001-01-01 00:00:10,a,20\n"
                                                               "2001-01-01 00:00:20,b,30\n"
                                                               "2001-01-01 00:00:50,a,40\n"
                                                               "2001-01-01 00:01:30,b,50\n");
    /* watermark 00:01:30 closes [00:00, 00:01): a 2 rows (20+40), b 1 row (30);
     * a window TVF aggregate emits final rows only (Flink) */
    assert_string_equal(sluice_test_take("per_minute"), "a,2,60,2001-01-01 00:00:00\n"
                                                        "b,1,30,2001-01-01 00:00:00\n");
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("per_minute"), "b,1,50,2001-01-01 00:01:00\n");
}

/* A non-windowed aggregate over the final rows of a window aggregate in a
 * subquery (an aggregate of an aggregate). */
static void test_aggregate_over_a_window_subquery(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT k, SUM(n) AS total, MAX(n) AS busiest FROM (\n"
                            "  SELECT k, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))\n"
                            "  GROUP BY k, window_start, window_end) GROUP BY k;\n",
                            "out", NULL);
    sluice_test_push_ev("00:00:01", "a", 1);
    sluice_test_push_ev("00:00:02", "a", 1);
    sluice_test_push_ev("00:00:03", "b", 1);
    sluice_test_push_ev("00:00:15", "a", 1);
    sluice_test_step();
    /* wm 00:00:15 closes [0, 10): a 2, b 1 */
    assert_string_equal(sluice_test_take("out"), "+I,a,2,2\n+I,b,1,1\n");
    sluice_test_end_input();
    /* [10, 20): a 1 -> a total 3, busiest still 2 */
    assert_string_equal(sluice_test_take("out"), "+U,a,3,2\n");
}

/* HOP as a window TVF: each row in size/slide windows. */
static void test_hop_tvf(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, window_end, COUNT(*) AS n\n"
                            "  FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))\n"
                            "  GROUP BY window_start, window_end;\n",
                            "out", NULL);
    sluice_test_push_ev("00:00:01", "a", 1); /* [-5, 5), [0, 10) */
    sluice_test_push_ev("00:00:07", "a", 1); /* [0, 10), [5, 15) */
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "2000-12-31 23:59:55,2001-01-01 00:00:05,1\n"
                                                 "2001-01-01 00:00:00,2001-01-01 00:00:10,2\n"
                                                 "2001-01-01 00:00:05,2001-01-01 00:00:15,1\n");
}

/* UNION ALL of two branches; SELECT * of it; Flink's EXPR$n names. */
static void test_union_all(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE VIEW u AS SELECT k, v FROM ev WHERE v < 2\n"
                            "  UNION ALL SELECT UPPER(k), v + 100 FROM ev WHERE v >= 2;\n"
                            "CREATE SINK out AS SELECT * FROM u;\n",
                            "out", NULL);
    sluice_test_push_ev("00:00:01", "a", 1);
    sluice_test_push_ev("00:00:02", "b", 2);
    sluice_test_end_input();
    /* each row goes down one branch */
    assert_string_equal(sluice_test_take("out"), "B,102\na,1\n");
}

/* Qualified names, table aliases, q.* and a subquery's alias. */
static void test_qualified_names_and_aliases(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT Q.*, Q.v * 2 AS v2 FROM (SELECT e.k, e.v FROM ev AS e) Q;\n",
                            "out", NULL);
    sluice_test_push_ev("00:00:01", "a", 21);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "a,21,42\n");
}

/* The watermark of a relation is its input's: a row late for a window
 * over a view is dropped as over the source. */
static void test_late_rows_over_a_view(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE VIEW all_ev AS SELECT ts, k FROM ev;\n"
                            "CREATE SINK out AS SELECT k, COUNT(*) AS n FROM\n"
                            "  TABLE(TUMBLE(TABLE all_ev, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\n"
                            "  GROUP BY k, window_start, window_end;\n",
                            "out", NULL);
    sluice_test_push_ev("00:02:00", "a", 1);
    sluice_test_step();
    sluice_test_push_ev("00:00:10", "late", 2); /* its window [00:00, 00:01) closed at 00:02 */
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "a,1\n");
    assert_int_equal(sluice_test_stats().late_rows, 1);
}

/* A window over a window: the hourly sums of 10-minute counts, the inner
 * windows' rows timed by window_time (window_end - 1 ms, Flink's). */
static void test_cascading_windows_by_window_time(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE VIEW tens AS SELECT k, COUNT(*) AS n, window_time FROM\n"
                            "  TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' MINUTE))\n"
                            "  GROUP BY k, window_start, window_end, window_time;\n"
                            "CREATE SINK hourly AS SELECT k, SUM(n) AS n, window_start FROM\n"
                            "  TABLE(TUMBLE(TABLE tens, DESCRIPTOR(window_time), INTERVAL '1' HOUR))\n"
                            "  GROUP BY k, window_start, window_end;\n",
                            "hourly", NULL);
    sluice_test_push_ev("00:05:00", "a", 1);  /* [00:00, 00:10) */
    sluice_test_push_ev("00:55:00", "a", 1);  /* [00:50, 01:00): window_time 00:59:59.999, still hour 0 */
    sluice_test_push_ev("00:59:59", "a", 1);
    sluice_test_push_ev("01:00:00", "a", 1);  /* hour 1 */
    sluice_test_end_input();
    /* (take() sorts the rows) */
    assert_string_equal(sluice_test_take("hourly"), "a,1,2001-01-01 01:00:00\n"
                                                    "a,3,2001-01-01 00:00:00\n");
}

/* A window TVF's offset shifts the windows' alignment. */
static void test_tumble_offset(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, COUNT(*) AS n FROM\n"
                            "  TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' MINUTE, INTERVAL '3' MINUTE))\n"
                            "  GROUP BY window_start, window_end;\n",
                            "out", NULL);
    sluice_test_push_ev("00:02:00", "a", 1); /* [23:53, 00:03) */
    sluice_test_push_ev("00:03:00", "a", 1); /* [00:03, 00:13) */
    sluice_test_push_ev("00:12:59", "a", 1); /* [00:03, 00:13) */
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "2000-12-31 23:53:00,1\n2001-01-01 00:03:00,2\n");
}

/* SELECT DISTINCT is a GROUP BY of every item: a row once per value. */
static void test_select_distinct(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT DISTINCT k, v > 1 AS big FROM ev;\n", "out",
                            NULL);
    sluice_test_push_ev("00:00:01", "a", 1);
    sluice_test_push_ev("00:00:02", "a", 1);
    sluice_test_push_ev("00:00:03", "b", 5);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,a,false\n+I,b,true\n");
    sluice_test_push_ev("00:00:04", "a", 2);
    sluice_test_push_ev("00:00:05", "b", 7);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "+I,a,true\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_view_read_by_two_sinks, sluice_test_engine_setup,
                                        sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_aggregate_over_a_window_subquery, sluice_test_engine_setup,
                                        sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_hop_tvf, sluice_test_engine_setup, sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_union_all, sluice_test_engine_setup, sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_qualified_names_and_aliases, sluice_test_engine_setup,
                                        sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_late_rows_over_a_view, sluice_test_engine_setup,
                                        sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_cascading_windows_by_window_time, sluice_test_engine_setup,
                                        sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_tumble_offset, sluice_test_engine_setup, sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_select_distinct, sluice_test_engine_setup, sluice_test_engine_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
