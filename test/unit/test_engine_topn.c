/*
 * Top-N per window end to end (docs/sql.md: `ORDER BY agg DESC|ASC LIMIT n`
 * on a windowed aggregate, the `rank` pseudo-column, ties broken by the
 * group key's order; output modes as in Spark Structured Streaming).
 * Expected rows are worked out by hand in the comments.
 */
#include <stdio.h>
#include <string.h>

#include "connectors/connectors.h"
#include "sluice_test_engine.h"

#define W0 "2001-01-01 00:00:00"
#define W1 "2001-01-01 00:10:00"
#define W2 "2001-01-01 00:20:00"

static const char top3_append[] = SLUICE_TEST_SOURCE
    "CREATE SINK out AS SELECT window_start, rank, k, COUNT(*) AS n FROM ev\n"
    "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k ORDER BY COUNT(*) DESC LIMIT 3 EMIT APPEND;\n";

static void test_append_emits_the_top_n_in_rank_order_ties_broken_by_key(void **state) {
    (void)state;
    sluice_test_engine_open(top3_append, "out", NULL);
    /* c x3, b x2, a x2, d x1 in [00:00, 00:10) */
    sluice_test_push_ev("00:01:00", "d", 1);
    sluice_test_push_ev("00:02:00", "c", 1);
    sluice_test_push_ev("00:03:00", "b", 1);
    sluice_test_push_ev("00:04:00", "c", 1);
    sluice_test_push_ev("00:05:00", "b", 1);
    sluice_test_push_ev("00:06:00", "a", 1);
    sluice_test_push_ev("00:07:00", "c", 1);
    sluice_test_push_ev("00:08:00", "a", 1);
    sluice_test_step();
    /* not final yet */
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_push_ev("00:10:00", "z", 1);
    sluice_test_step();
    /* a and b tie at 2: a ranks first by key; d (1) is fourth and dropped */
    assert_string_equal(sluice_test_take_in_order("out"), W0 ",1,c,3\n" W0 ",2,a,2\n" W0 ",3,b,2\n");
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), W1 ",1,z,1\n");
}

static void test_asc_ranks_the_smallest_first(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT rank, k, SUM(v) AS s FROM ev\n"
                            "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k ORDER BY s ASC LIMIT 2 EMIT APPEND;\n",
                            "out", NULL);
    /* sums: a 5, b 1, c 1, d 7 */
    sluice_test_push_ev("00:01:00", "a", 2);
    sluice_test_push_ev("00:02:00", "d", 7);
    sluice_test_push_ev("00:03:00", "c", 1);
    sluice_test_push_ev("00:04:00", "a", 3);
    sluice_test_push_ev("00:05:00", "b", 1);
    sluice_test_end_input();
    /* b and c tie at 1: b first by key */
    assert_string_equal(sluice_test_take_in_order("out"), "1,b,1\n2,c,1\n");
}

static void test_limit_larger_than_the_groups_emits_every_group(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, rank, k, MAX(v) AS m FROM ev\n"
                            "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k ORDER BY MAX(v) DESC LIMIT 10 EMIT APPEND;\n",
                            "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 4);
    sluice_test_push_ev("00:02:00", "b", 9);
    sluice_test_push_ev("00:11:00", "a", 1);
    sluice_test_end_input();
    /* two windows, each ranked on its own, in window order */
    assert_string_equal(sluice_test_take_in_order("out"), W0 ",1,b,9\n" W0 ",2,a,4\n" W1 ",1,a,1\n");
}

static void test_null_order_values_rank_lowest(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT rank, k, MAX(v) AS m FROM ev\n"
                            "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k ORDER BY m DESC LIMIT 3 EMIT APPEND;\n",
                            "out", NULL);
    sluice_test_push("{\"ts\": \"2001-01-01 00:01:00\", \"k\": \"a\"}"); /* MAX(v) of a is NULL */
    sluice_test_push_ev("00:02:00", "b", -5);
    sluice_test_push_ev("00:03:00", "c", 3);
    sluice_test_end_input();
    /* NULL is the lowest value: last in DESC */
    assert_string_equal(sluice_test_take_in_order("out"), "1,c,3\n2,b,-5\n3,a,\n");
}

static void test_having_filters_groups_before_ranking(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT rank, k, COUNT(*) AS n FROM ev\n"
                            "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k HAVING MIN(v) > 0\n"
                            "ORDER BY n DESC LIMIT 2 EMIT APPEND;\n",
                            "out", NULL);
    /* a: 3 rows but MIN(v) = 0, filtered out; b 2, c 1 */
    sluice_test_push_ev("00:01:00", "a", 0);
    sluice_test_push_ev("00:02:00", "a", 1);
    sluice_test_push_ev("00:03:00", "a", 1);
    sluice_test_push_ev("00:04:00", "b", 1);
    sluice_test_push_ev("00:05:00", "b", 1);
    sluice_test_push_ev("00:06:00", "c", 1);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), "1,b,2\n2,c,1\n");
}

static void test_several_group_keys_break_ties_in_group_by_order(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT rank, k, v, COUNT(*) AS n FROM ev\n"
                            "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k, v ORDER BY n DESC LIMIT 3 EMIT APPEND;\n",
                            "out", NULL);
    /* all groups count 1: order by k, then by v */
    sluice_test_push_ev("00:01:00", "b", 1);
    sluice_test_push_ev("00:02:00", "a", 9);
    sluice_test_push_ev("00:03:00", "a", 2);
    sluice_test_push_ev("00:04:00", "c", 0);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), "1,a,2,1\n2,a,9,1\n3,b,1,1\n");
}

static const char top2_update[] = SLUICE_TEST_SOURCE
    "CREATE SINK out AS SELECT window_start, window_end, rank, k, COUNT(*) AS n FROM ev\n"
    "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k ORDER BY n DESC LIMIT 2 EMIT UPDATE;\n";

static void test_update_re_emits_a_window_only_when_its_ranking_changes(void **state) {
    (void)state;
    sluice_test_engine_open(top2_update, "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:01:10", "a", 1);
    sluice_test_push_ev("00:01:20", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "+I," W0 "," W1 ",1,a,2\n+I," W0 "," W1 ",2,b,1\n");
    /* c 1 ties with b 1 and ranks after it: third, outside the top 2 */
    sluice_test_push_ev("00:02:00", "c", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "");
    /* c 3 passes a: the whole ranking is emitted again */
    sluice_test_push_ev("00:03:00", "c", 1);
    sluice_test_push_ev("00:03:10", "c", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "+U," W0 "," W1 ",1,c,3\n+U," W0 "," W1 ",2,a,2\n");
    /* b 2 ties with a 2 and stays behind it (key order): no change */
    sluice_test_push_ev("00:04:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "");
    /* a 3 ties with c 3 and ranks first by key */
    sluice_test_push_ev("00:05:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "+U," W0 "," W1 ",1,a,3\n+U," W0 "," W1 ",2,c,3\n");
    /* a ranked group changing value without moving re-emits too */
    sluice_test_push_ev("00:06:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "+U," W0 "," W1 ",1,a,4\n+U," W0 "," W1 ",2,c,3\n");
    /* the window closes: nothing more in UPDATE */
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), "");
}

static void test_update_upserts_the_ranking_by_window_and_rank(void **state) {
    (void)state;
    char sql_path[4200], ini_path[4200], errstr[1024];
    snprintf(sql_path, sizeof sql_path, "%s/m.sql", sluice_test_engine_dir());
    snprintf(ini_path, sizeof ini_path, "%s/m.test.ini", sluice_test_engine_dir());
    assert_int_equal(sluice_test_write_file(sql_path, top2_update), 0);
    assert_int_equal(sluice_test_write_file(ini_path, "[source ev]\nconnector = memory\n"), 0);
    sluice_pipeline_options o;
    memset(&o, 0, sizeof o);
    o.sql_path = sql_path;
    o.quiet = 1;
    sluice_pipeline *p = NULL;
    if (sluice_pipeline_open(&o, &p, errstr, sizeof errstr) != SLUICE_OK) fail_msg("open: %s", errstr);
    sluice_test_engine_adopt(p);
    sluice_sink *sink = sluice_pipeline_sink(p, "out");
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:02:00", "b", 1);
    sluice_test_step();
    sluice_test_push_ev("00:03:00", "c", 1);
    sluice_test_push_ev("00:04:00", "c", 1);
    sluice_test_push_ev("00:05:00", "b", 1);
    sluice_test_push_ev("00:05:10", "b", 1);
    sluice_test_step();
    sluice_test_end_input();
    /* rows written: (1 a 1) (2 b 1), then (1 b 3) (2 c 2); the sink keeps one
     * row per (window_start, window_end, rank): the last ranking */
    assert_int_equal(sluice_memory_sink_rows_written(sink), 4);
    assert_int_equal(sluice_memory_sink_nrows(sink), 2);
    const sluice_value *r0 = sluice_memory_sink_row(sink, 0);
    const sluice_value *r1 = sluice_memory_sink_row(sink, 1);
    assert_int_equal(r0[2].u.i, 1);
    assert_memory_equal(r0[3].u.s, "b", 1);
    assert_int_equal(r0[4].u.i, 3);
    assert_int_equal(r1[2].u.i, 2);
    assert_memory_equal(r1[3].u.s, "c", 1);
    assert_int_equal(r1[4].u.i, 2);
}

static void test_complete_emits_every_window_top_n_each_batch(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, rank, k, COUNT(*) AS n FROM ev\n"
                            "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k ORDER BY n DESC LIMIT 1 EMIT COMPLETE;\n",
                            "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:02:00", "b", 1);
    sluice_test_push_ev("00:03:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "+U," W0 ",1,b,2\n");
    sluice_test_push_ev("00:21:00", "c", 1);
    sluice_test_step();
    /* the closed window stays in the result table (Spark's complete mode) */
    assert_string_equal(sluice_test_take_in_order("out"), "+U," W0 ",1,b,2\n+U," W2 ",1,c,1\n");
    /* a trigger without input emits nothing */
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "");
}

static void test_hop_windows_are_ranked_each_on_its_own(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, rank, k, COUNT(*) AS n FROM ev\n"
                            "GROUP BY HOP(ts, INTERVAL '5' MINUTE, INTERVAL '10' MINUTE), k\n"
                            "ORDER BY n DESC LIMIT 1 EMIT APPEND;\n",
                            "out", NULL);
    /* a at 00:01, 00:02 -> [23:55,00:05) and [00:00,00:10); b at 00:06, 00:07, 00:08
     * -> [00:00,00:10) and [00:05,00:15) */
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:02:00", "a", 1);
    sluice_test_push_ev("00:06:00", "b", 1);
    sluice_test_push_ev("00:07:00", "b", 1);
    sluice_test_push_ev("00:08:00", "b", 1);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), "2000-12-31 23:55:00,1,a,2\n" W0 ",1,b,3\n"
                                                          "2001-01-01 00:05:00,1,b,3\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, sluice_test_engine_setup, sluice_test_engine_teardown)
        T(test_append_emits_the_top_n_in_rank_order_ties_broken_by_key),
        T(test_asc_ranks_the_smallest_first),
        T(test_limit_larger_than_the_groups_emits_every_group),
        T(test_null_order_values_rank_lowest),
        T(test_having_filters_groups_before_ranking),
        T(test_several_group_keys_break_ties_in_group_by_order),
        T(test_update_re_emits_a_window_only_when_its_ranking_changes),
        T(test_update_upserts_the_ranking_by_window_and_rank),
        T(test_complete_emits_every_window_top_n_each_batch),
        T(test_hop_windows_are_ranked_each_on_its_own),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
