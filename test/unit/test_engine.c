/*
 * The transform end to end through the embedding API (docs/sql.md "Output
 * modes" and "Time, lateness, end of input"): a pipeline reads the memory
 * source `ev`, fed record by record, and writes every sink to a CSV file so
 * that each emitted row is seen, batch by batch, in order.  Expected rows are
 * worked out by hand in the comments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "connectors/connectors.h"
#include "sluice/sluice.h"
#include "sluice_test_engine.h"

/* Dead letters as parsed JSON objects (caller frees with cJSON_Delete). */
static size_t dead_letters(cJSON **out, size_t max) {
    char *text = sluice_test_read_file(sluice_test_engine_dead_letter_path(), NULL);
    assert_non_null(text);
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save)) {
        out[n] = cJSON_Parse(l);
        if (!out[n]) fail_msg("dead letter is not JSON: %s", l);
        n++;
    }
    free(text);
    return n;
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- TUMBLE, APPEND, watermark ---------------------------------------------------- */

static const char tumble_append[] = SLUICE_TEST_SOURCE
    "CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n, SUM(v) AS s FROM ev\n"
    "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k EMIT APPEND;\n";

static void test_append_emits_a_window_only_when_the_watermark_reaches_its_end(void **state) {
    (void)state;
    sluice_test_engine_open(tumble_append, "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:05:00", "b", 2);
    sluice_test_push_ev("00:09:59", "a", 3);
    sluice_test_step();
    /* watermark 00:09:59 < window_end 00:10: nothing yet */
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_push_ev("00:10:00", "a", 4);
    sluice_test_step();
    /* watermark 00:10:00 reaches the end of [00:00, 00:10) */
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,2001-01-01 00:10:00,a,2,4\n"
                                     "2001-01-01 00:00:00,2001-01-01 00:10:00,b,1,2\n");
    sluice_test_push_ev("00:15:00", "a", 5);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
}

static void test_append_emits_every_open_window_at_end_of_input(void **state) {
    (void)state;
    sluice_test_engine_open(tumble_append, "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:12:00", "a", 2);
    sluice_test_push_ev("00:25:00", "b", 3);
    sluice_test_step();
    /* watermark 00:25: [00:00,00:10) and [00:10,00:20) are final */
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,2001-01-01 00:10:00,a,1,1\n"
                                     "2001-01-01 00:10:00,2001-01-01 00:20:00,a,1,2\n");
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:20:00,2001-01-01 00:30:00,b,1,3\n");
    assert_int_equal(sluice_test_stats().watermark, SLUICE_TS_MAX);
}

static void test_append_emits_each_window_once(void **state) {
    (void)state;
    sluice_test_engine_open(tumble_append, "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:11:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,2001-01-01 00:10:00,a,1,1\n");
    sluice_test_push_ev("00:12:00", "a", 1);
    sluice_test_step();
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:10:00,2001-01-01 00:20:00,a,2,2\n");
}

static void test_watermark_delay_keeps_a_window_open(void **state) {
    (void)state;
    sluice_test_engine_open("CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE,\n"
                  "                  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE);\n"
                  "CREATE SINK out AS SELECT window_start, COUNT(*) AS n FROM ev\n"
                  "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE) EMIT APPEND;\n",
                  "out", NULL);
    sluice_test_push_ev("00:02:00", "a", 1);
    sluice_test_push_ev("00:10:30", "a", 1);
    sluice_test_step();
    /* watermark 00:09:30: [00:00,00:10) still open */
    assert_int_equal(sluice_test_stats().watermark, SLUICE_TEST_T2001 + 9 * SLUICE_TEST_MIN_MS + 30000);
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_push_ev("00:09:45", "a", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().late_rows, 0);
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_push_ev("00:11:00", "a", 1);
    sluice_test_step();
    /* watermark 00:10:00 */
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,2\n");
}

static void test_watermark_advances_only_at_the_end_of_a_batch(void **state) {
    (void)state;
    sluice_test_engine_open(tumble_append, "out", NULL);
    /* in one batch, 00:05 after 00:15 is judged against the watermark at the
     * batch's start (none), so it is not late */
    sluice_test_push_ev("00:15:00", "a", 1);
    sluice_test_push_ev("00:05:00", "a", 2);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().late_rows, 0);
    assert_int_equal(sluice_test_stats().watermark, SLUICE_TEST_T2001 + 15 * SLUICE_TEST_MIN_MS);
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,2001-01-01 00:10:00,a,1,2\n");
}

static void test_same_row_in_the_next_batch_is_late(void **state) {
    (void)state;
    sluice_test_engine_open(tumble_append, "out", NULL);
    sluice_test_push_ev("00:15:00", "a", 1);
    sluice_test_step();
    sluice_test_push_ev("00:05:00", "a", 2);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().late_rows, 1);
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_end_input();
    /* the late row is in no window */
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:10:00,2001-01-01 00:20:00,a,1,1\n");
}

static void test_late_row_is_dead_lettered_with_reason_late(void **state) {
    (void)state;
    sluice_test_engine_open(tumble_append, "out", NULL);
    sluice_test_push_ev("00:15:00", "a", 1);
    sluice_test_step();
    sluice_test_push("{\"ts\": \"2001-01-01 00:05:00\", \"k\": \"a\", \"v\": 2}");
    sluice_test_step();
    sluice_pipeline_stats st = sluice_test_stats();
    assert_int_equal(st.late_rows, 1);
    assert_int_equal(st.dead_letters, 1);
    assert_int_equal(st.malformed_rows, 0);
    cJSON *dl[8];
    assert_int_equal(dead_letters(dl, 8), 1);
    assert_string_equal(jstr(dl[0], "reason"), "late");
    assert_string_equal(jstr(dl[0], "source"), "ev");
    assert_string_equal(jstr(dl[0], "sink"), "out");
    assert_string_equal(jstr(dl[0], "raw"), "{\"ts\": \"2001-01-01 00:05:00\", \"k\": \"a\", \"v\": 2}");
    /* the second record pushed: offset 1 of partition 0 */
    assert_non_null(jstr(dl[0], "position"));
    assert_non_null(strstr(jstr(dl[0], "position"), "1"));
    cJSON_Delete(dl[0]);
}

static void test_state_is_freed_once_the_watermark_passes_the_window(void **state) {
    (void)state;
    sluice_test_engine_open(tumble_append, "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:02:00", "b", 1);
    sluice_test_push_ev("00:03:00", "c", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().state_rows, 3);
    sluice_test_push_ev("00:12:00", "a", 1);
    sluice_test_step();
    /* [00:00,00:10) is gone, [00:10,00:20) holds one group */
    assert_int_equal(sluice_test_stats().state_rows, 1);
}

/* ---- HOP ----------------------------------------------------------------------------- */

static void test_hop_row_counts_in_every_open_window_it_falls_in(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT window_start, window_end, COUNT(*) AS n FROM ev\n"
                         "GROUP BY HOP(ts, INTERVAL '5' MINUTE, INTERVAL '10' MINUTE) EMIT APPEND;\n",
                  "out", NULL);
    sluice_test_push_ev("00:07:00", "a", 1); /* [00:00,00:10) [00:05,00:15) */
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_push_ev("00:12:00", "a", 1); /* [00:05,00:15) [00:10,00:20) */
    sluice_test_step();
    /* watermark 00:12: [00:00,00:10) is final */
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,2001-01-01 00:10:00,1\n");
    /* 00:08 is in [00:00,00:10), finalized and ignored, and in [00:05,00:15), open */
    sluice_test_push_ev("00:08:00", "a", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().late_rows, 0);
    assert_string_equal(sluice_test_take("out"), "");
    /* 00:03 is in [23:55,00:05) and [00:00,00:10), both finalized: late */
    sluice_test_push_ev("00:03:00", "a", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().late_rows, 1);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:05:00,2001-01-01 00:15:00,3\n"
                                     "2001-01-01 00:10:00,2001-01-01 00:20:00,1\n");
}

/* ---- partitions ------------------------------------------------------------------------ */

static const char count_append[] = SLUICE_TEST_SOURCE
    "CREATE SINK out AS SELECT window_start, COUNT(*) AS n FROM ev\n"
    "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE) EMIT APPEND;\n";

static void test_watermark_is_the_minimum_over_partitions(void **state) {
    (void)state;
    sluice_test_engine_open(count_append, "out", NULL);
    sluice_test_push_ev_p(0, "00:01:00", "a", 1);
    sluice_test_push_ev_p(1, "00:02:00", "a", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().watermark, SLUICE_TEST_T2001 + 1 * SLUICE_TEST_MIN_MS);
    sluice_test_push_ev_p(0, "00:25:00", "a", 1);
    sluice_test_step();
    /* partition 1 is at 00:02 and holds the watermark back */
    assert_int_equal(sluice_test_stats().watermark, SLUICE_TEST_T2001 + 2 * SLUICE_TEST_MIN_MS);
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_push_ev_p(1, "00:05:00", "a", 1);
    sluice_test_step();
    /* not late for the slow partition */
    assert_int_equal(sluice_test_stats().late_rows, 0);
    assert_int_equal(sluice_test_stats().watermark, SLUICE_TEST_T2001 + 5 * SLUICE_TEST_MIN_MS);
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_push_ev_p(1, "00:21:00", "a", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().watermark, SLUICE_TEST_T2001 + 21 * SLUICE_TEST_MIN_MS);
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,3\n");
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:20:00,2\n");
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_idle_partition_stops_holding_the_watermark_back(void **state) {
    (void)state;
    sluice_test_engine_open(count_append, "out", "idle_timeout = 50ms");
    sluice_test_push_ev_p(0, "00:01:00", "a", 1);
    sluice_test_push_ev_p(1, "00:02:00", "a", 1);
    sluice_test_step();
    sluice_test_push_ev_p(0, "00:25:00", "a", 1);
    sluice_test_step();
    /* partition 1 says nothing more; partition 0 keeps sending */
    int64_t deadline = mono_ms() + 5000;
    while (sluice_test_stats().watermark < SLUICE_TEST_T2001 + 25 * SLUICE_TEST_MIN_MS && mono_ms() < deadline) {
        sluice_test_push_ev_p(0, "00:25:00", "a", 1);
        sluice_test_step();
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    assert_int_equal(sluice_test_stats().watermark, SLUICE_TEST_T2001 + 25 * SLUICE_TEST_MIN_MS);
    assert_string_equal(sluice_test_take("out"), "2001-01-01 00:00:00,2\n");
    assert_int_equal(sluice_test_stats().late_rows, 0);
}

/* ---- output modes ------------------------------------------------------------------------ */

static void test_update_emits_only_the_groups_changed_in_the_batch(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM ev GROUP BY k;\n", "out",
                  NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:02:00", "b", 2);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,a,1,1\n+I,b,1,2\n");
    sluice_test_push_ev("00:03:00", "a", 5);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+U,a,2,6\n");
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_push_ev("00:04:00", "b", 1);
    sluice_test_push_ev("00:05:00", "b", 1);
    sluice_test_step();
    /* one row per changed group, with its values after the batch */
    assert_string_equal(sluice_test_take("out"), "+U,b,3,4\n");
}

static void test_update_on_a_window_emits_changed_rows_before_it_closes(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT window_start, COUNT(*) AS n FROM ev\n"
                         "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE) EMIT UPDATE;\n",
                  "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,2001-01-01 00:00:00,1\n");
    sluice_test_push_ev("00:02:00", "a", 1);
    sluice_test_push_ev("00:11:00", "a", 1);
    sluice_test_step();
    /* no PRIMARY KEY (window_end is not an output column): the sink keeps
     * the update-before of the window's previous row, right before its
     * update-after */
    assert_string_equal(sluice_test_take_in_order("out"),
                        "-U,2001-01-01 00:00:00,1\n+U,2001-01-01 00:00:00,2\n+I,2001-01-01 00:10:00,1\n");
    sluice_test_push_ev("00:03:00", "a", 1); /* late: [00:00,00:10) closed at watermark 00:11 */
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    assert_int_equal(sluice_test_stats().late_rows, 1);
}

static void test_complete_emits_the_whole_table_each_batch(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM ev GROUP BY k EMIT COMPLETE;\n",
                  "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:02:00", "b", 2);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,a,1,1\n+I,b,1,2\n");
    sluice_test_push_ev("00:03:00", "a", 5);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+U,a,2,6\n+U,b,1,2\n");
    sluice_test_push_ev("00:04:00", "c", 7);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,c,1,7\n+U,a,2,6\n+U,b,1,2\n");
}

static void test_complete_emits_nothing_when_a_trigger_brings_no_input(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k EMIT COMPLETE;\n", "out",
                  NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,a,1\n");
    /* no new data: no micro-batch (Spark runs none), so nothing is emitted */
    sluice_test_step();
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    assert_int_equal(sluice_test_stats().epochs, 1);
    sluice_test_push_ev("00:02:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,b,1\n+U,a,1\n");
}

/* ---- filters and groups ----------------------------------------------------------------- */

static void test_having_filters_aggregated_rows(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k HAVING COUNT(*) >= 2;\n",
                  "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:02:00", "a", 1);
    sluice_test_push_ev("00:03:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,a,2\n");
    sluice_test_push_ev("00:04:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,b,2\n");
}

static void test_where_filters_rows_before_aggregation(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM ev WHERE v > 1 GROUP BY k;\n",
                  "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:02:00", "a", 5);
    sluice_test_push_ev("00:03:00", "b", 1);
    sluice_test_push("{\"ts\": \"2001-01-01 00:04:00\", \"k\": \"b\"}"); /* v NULL: WHERE is not true */
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,a,1,5\n");
}

static void test_null_group_keys_form_one_group(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k;\n", "out", NULL);
    sluice_test_push_ev("00:01:00", NULL, 1);
    sluice_test_push("{\"ts\": \"2001-01-01 00:02:00\", \"k\": null, \"v\": 1}");
    sluice_test_push_ev("00:03:00", "a", 1);
    sluice_test_step();
    /* NULL is an empty CSV field */
    assert_string_equal(sluice_test_take("out"), "+I,,2\n+I,a,1\n");
    sluice_test_push_ev("00:04:00", NULL, 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+U,,3\n");
}

static void test_count_column_skips_nulls_and_count_star_does_not(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS s, AVG(v) AS a,\n"
                         "MIN(v) AS lo, MAX(v) AS hi FROM ev GROUP BY k;\n",
                  "out", NULL);
    sluice_test_push("{\"ts\": \"2001-01-01 00:01:00\", \"k\": \"a\", \"v\": 1}");
    sluice_test_push("{\"ts\": \"2001-01-01 00:02:00\", \"k\": \"a\", \"v\": null}");
    sluice_test_push("{\"ts\": \"2001-01-01 00:03:00\", \"k\": \"a\"}");
    sluice_test_push("{\"ts\": \"2001-01-01 00:04:00\", \"k\": \"a\", \"v\": 4}");
    sluice_test_step();
    /* 4 rows, 2 values: SUM 5, AVG 2.5, MIN 1, MAX 4 */
    assert_string_equal(sluice_test_take("out"), "+I,a,4,2,5,2.5,1,4\n");
}

static void test_aggregates_over_only_nulls_are_null_and_count_is_zero(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS s, AVG(v) AS a,\n"
                         "MIN(v) AS lo, MAX(v) AS hi, SUM(x) AS sx FROM ev GROUP BY k;\n",
                  "out", NULL);
    sluice_test_push("{\"ts\": \"2001-01-01 00:01:00\", \"k\": \"a\", \"v\": null}");
    sluice_test_push("{\"ts\": \"2001-01-01 00:02:00\", \"k\": \"a\"}");
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,a,2,0,,,,,\n");
}

static void test_avg_is_double_and_sum_keeps_bigint(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, SUM(v) AS s, AVG(v) AS a, SUM(x) AS sx FROM ev GROUP BY k;\n",
                  "out", NULL);
    sluice_test_push("{\"ts\": \"2001-01-01 00:01:00\", \"k\": \"a\", \"v\": 1, \"x\": 0.5}");
    sluice_test_push("{\"ts\": \"2001-01-01 00:02:00\", \"k\": \"a\", \"v\": 2, \"x\": 0.25}");
    sluice_test_step();
    /* SUM 3, AVG 1.5, SUM(x) 0.75 */
    assert_string_equal(sluice_test_take("out"), "+I,a,3,1.5,0.75\n");
}

static void test_min_max_on_varchar_compare_bytewise_across_batches(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT MIN(k) AS lo, MAX(k) AS hi, COUNT(*) AS n FROM ev;\n", "out",
                  NULL);
    sluice_test_push_ev("00:01:00", "pear", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "+I,pear,pear,1\n");
    sluice_test_push_ev("00:02:00", "apple", 1);
    sluice_test_step();
    /* no GROUP BY, so no key: the previous row goes out as update-before */
    assert_string_equal(sluice_test_take_in_order("out"), "-U,pear,pear,1\n+U,apple,pear,2\n");
    sluice_test_push_ev("00:03:00", "zebra", 1);
    sluice_test_push_ev("00:04:00", "Zed", 1);
    sluice_test_step();
    /* 'Z' (0x5A) sorts before 'a' (0x61) */
    assert_string_equal(sluice_test_take_in_order("out"), "-U,apple,pear,2\n+U,Zed,zebra,4\n");
}

/* ---- stateless queries, malformed records, several queries -------------------------------- */

static void test_the_tallest_accepted_expressions_plan_and_evaluate(void **state) {
    (void)state;
    /* 256 levels, the parser's limit: v + v + ... (256 terms, 255 '+'),
     * NOT NOT ... (255 NOT, even) and 255 nested ABS(; with v = 3:
     * 256 * 3 = 768, v > 0 is true, |...| of -3 is 3. */
    char sql[8192];
    size_t n = (size_t)snprintf(sql, sizeof sql, "%sCREATE SINK out AS SELECT v", SLUICE_TEST_SOURCE);
    for (int i = 1; i < 256; i++) n += (size_t)snprintf(sql + n, sizeof sql - n, "+v");
    n += (size_t)snprintf(sql + n, sizeof sql - n, " AS s, ");
    for (int i = 0; i < 254; i++) n += (size_t)snprintf(sql + n, sizeof sql - n, "NOT ");
    n += (size_t)snprintf(sql + n, sizeof sql - n, "v > 0 AS b, ");
    for (int i = 0; i < 254; i++) n += (size_t)snprintf(sql + n, sizeof sql - n, "ABS(");
    n += (size_t)snprintf(sql + n, sizeof sql - n, "-v");
    for (int i = 0; i < 254; i++) n += (size_t)snprintf(sql + n, sizeof sql - n, ")");
    snprintf(sql + n, sizeof sql - n, " AS a FROM ev;\n");
    sluice_test_engine_open(sql, "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 3);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "768,true,3\n");
}

static void test_stateless_query_emits_one_row_per_matching_row_in_order(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT v, k, v * 2 AS w FROM ev WHERE v > 2;\n", "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 5);
    sluice_test_push_ev("00:02:00", "b", 1);
    sluice_test_push_ev("00:03:00", "c", 7);
    sluice_test_push_ev("00:04:00", "d", 3);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "5,a,10\n7,c,14\n3,d,6\n");
    sluice_test_push_ev("00:00:00", "e", 9); /* a stateless query has no late rows */
    sluice_test_push_ev("00:05:00", "f", 2);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "9,e,18\n");
    assert_int_equal(sluice_test_stats().late_rows, 0);
}

static void test_malformed_records_are_dead_lettered_and_the_pipeline_carries_on(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, v FROM ev;\n", "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push("{not json");
    sluice_test_push("{\"ts\": \"2001-01-01 00:02:00\", \"k\": \"b\", \"v\": \"abc\"}");
    sluice_test_push_ev("00:03:00", "c", 3);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "a,1\nc,3\n");
    sluice_pipeline_stats st = sluice_test_stats();
    assert_int_equal(st.malformed_rows, 2);
    assert_int_equal(st.input_rows, 4);
    assert_int_equal(st.dead_letters, 2);
    cJSON *dl[8];
    assert_int_equal(dead_letters(dl, 8), 2);
    assert_string_equal(jstr(dl[0], "source"), "ev");
    assert_string_equal(jstr(dl[0], "raw"), "{not json");
    assert_non_null(strstr(jstr(dl[0], "position"), "1"));
    assert_true(strlen(jstr(dl[0], "reason")) > 0);
    assert_string_equal(jstr(dl[1], "raw"), "{\"ts\": \"2001-01-01 00:02:00\", \"k\": \"b\", \"v\": \"abc\"}");
    assert_non_null(strstr(jstr(dl[1], "position"), "2"));
    /* the reason names the column that does not convert */
    assert_non_null(strstr(jstr(dl[1], "reason"), "v"));
    assert_null(cJSON_GetObjectItemCaseSensitive(dl[0], "sink"));
    cJSON_Delete(dl[0]);
    cJSON_Delete(dl[1]);
    sluice_test_push_ev("00:04:00", "d", 4);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), "d,4\n");
}

/* A record timestamp (METADATA FROM 'timestamp': a Kafka producer may set
 * any int64) outside TIMESTAMP's range is a malformed record, as a decoded
 * one is: a window at INT64_MAX used to overflow its end. */
static void test_record_time_outside_the_timestamp_range_is_malformed(void **state) {
    (void)state;
    sluice_test_engine_open("CREATE SOURCE ev (k VARCHAR, t TIMESTAMP METADATA FROM 'timestamp',\n"
                            "                  WATERMARK FOR t AS t);\n"
                            "CREATE SINK out AS SELECT window_start, COUNT(*) AS n FROM ev\n"
                            "GROUP BY TUMBLE(t, INTERVAL '1' MINUTE);\n",
                            "out", NULL);
    sluice_test_push_at("{\"k\": \"a\"}", SLUICE_TEST_T2001);
    sluice_test_push_at("{\"k\": \"b\"}", INT64_MAX);
    sluice_test_push_at("{\"k\": \"c\"}", INT64_MIN);
    sluice_test_push_at("{\"k\": \"d\"}", 253402300799999LL + 1); /* 10000-01-01 */
    sluice_test_push_at("{\"k\": \"e\"}", SLUICE_TEST_T2001 + 60000);
    sluice_test_end_input();
    assert_int_equal(sluice_test_stats().malformed_rows, 3);
    assert_string_equal(sluice_test_take("out"), "+I,2001-01-01 00:00:00,1\n+I,2001-01-01 00:01:00,1\n");
}

static void test_two_queries_read_the_same_rows(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK alerts AS SELECT k, v FROM ev WHERE v >= 10;\n"
                         "CREATE SINK totals AS SELECT window_start, COUNT(*) AS n, SUM(v) AS s FROM ev\n"
                         "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE) EMIT APPEND;\n",
                  "alerts,totals", NULL);
    sluice_test_push_ev("00:01:00", "a", 10);
    sluice_test_push_ev("00:02:00", "b", 1);
    sluice_test_push_ev("00:03:00", "c", 12);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("alerts"), "a,10\nc,12\n");
    assert_string_equal(sluice_test_take("totals"), "");
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("totals"), "2001-01-01 00:00:00,3,23\n");
    assert_string_equal(sluice_test_take_in_order("alerts"), "");
}

static void test_memory_sink_keeps_one_row_per_primary_key(void **state) {
    (void)state;
    /* default memory sink: upserted by the default key (k) */
    char sql_path[4200], ini_path[4200], errstr[1024];
    snprintf(sql_path, sizeof sql_path, "%s/m.sql", sluice_test_engine_dir());
    snprintf(ini_path, sizeof ini_path, "%s/m.test.ini", sluice_test_engine_dir());
    assert_int_equal(sluice_test_write_file(sql_path, SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT k, COUNT(*) AS n FROM ev "
                                                             "GROUP BY k;\n"),
                     0);
    assert_int_equal(sluice_test_write_file(ini_path, "[source ev]\nconnector = memory\n"), 0);
    sluice_pipeline_options o;
    memset(&o, 0, sizeof o);
    o.sql_path = sql_path;
    o.quiet = 1;
    sluice_pipeline *p = NULL;
    if (sluice_pipeline_open(&o, &p, errstr, sizeof errstr) != SLUICE_OK) fail_msg("open: %s", errstr);
    sluice_test_engine_adopt(p);
    sluice_sink *sink = sluice_pipeline_sink(p, "out");
    sluice_test_push_ev("00:01:00", "b", 1);
    sluice_test_push_ev("00:02:00", "a", 1);
    sluice_test_step();
    sluice_test_push_ev("00:03:00", "b", 1);
    sluice_test_step();
    sluice_test_end_input();
    assert_int_equal(sluice_memory_sink_nrows(sink), 2);
    assert_int_equal(sluice_memory_sink_rows_written(sink), 3);
    const sluice_value *r0 = sluice_memory_sink_row(sink, 0);
    const sluice_value *r1 = sluice_memory_sink_row(sink, 1);
    assert_int_equal(r0[0].len, 1);
    assert_memory_equal(r0[0].u.s, "a", 1);
    assert_int_equal(r0[1].u.i, 1);
    assert_memory_equal(r1[0].u.s, "b", 1);
    assert_int_equal(r1[1].u.i, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, sluice_test_engine_setup, sluice_test_engine_teardown)
        T(test_append_emits_a_window_only_when_the_watermark_reaches_its_end),
        T(test_append_emits_every_open_window_at_end_of_input),
        T(test_append_emits_each_window_once),
        T(test_watermark_delay_keeps_a_window_open),
        T(test_watermark_advances_only_at_the_end_of_a_batch),
        T(test_same_row_in_the_next_batch_is_late),
        T(test_late_row_is_dead_lettered_with_reason_late),
        T(test_state_is_freed_once_the_watermark_passes_the_window),
        T(test_hop_row_counts_in_every_open_window_it_falls_in),
        T(test_watermark_is_the_minimum_over_partitions),
        T(test_idle_partition_stops_holding_the_watermark_back),
        T(test_update_emits_only_the_groups_changed_in_the_batch),
        T(test_update_on_a_window_emits_changed_rows_before_it_closes),
        T(test_complete_emits_the_whole_table_each_batch),
        T(test_complete_emits_nothing_when_a_trigger_brings_no_input),
        T(test_having_filters_aggregated_rows),
        T(test_where_filters_rows_before_aggregation),
        T(test_null_group_keys_form_one_group),
        T(test_count_column_skips_nulls_and_count_star_does_not),
        T(test_aggregates_over_only_nulls_are_null_and_count_is_zero),
        T(test_avg_is_double_and_sum_keeps_bigint),
        T(test_min_max_on_varchar_compare_bytewise_across_batches),
        T(test_the_tallest_accepted_expressions_plan_and_evaluate),
        T(test_stateless_query_emits_one_row_per_matching_row_in_order),
        T(test_malformed_records_are_dead_lettered_and_the_pipeline_carries_on),
        T(test_record_time_outside_the_timestamp_range_is_malformed),
        T(test_two_queries_read_the_same_rows),
        T(test_memory_sink_keeps_one_row_per_primary_key),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
