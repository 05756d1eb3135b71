/*
 * SESSION windows end to end (docs/sql.md; Flink's session windows): per
 * key, a session is a maximal run of rows less than `gap` apart,
 * [first, last + gap); rows out of order extend or merge sessions; a
 * session is final, emitted (EMIT APPEND) and freed once the watermark
 * reaches its end.  Expected rows are worked out by hand in the comments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/engine.h"
#include "sluice_test_engine.h"

#define D "2001-01-01 "

static const char sessions[] = SLUICE_TEST_SOURCE
    "CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n FROM ev\n"
    "GROUP BY SESSION(ts, INTERVAL '5' MINUTE), k EMIT APPEND;\n";

static void test_rows_less_than_gap_apart_share_a_session(void **state) {
    (void)state;
    sluice_test_engine_open(sessions, "out", NULL);
    /* 00:04:59 is 1 s under the gap after 00:00:00: same session; 00:09:59 is
     * exactly the gap after 00:04:59: a new session */
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_push_ev("00:04:59", "a", 1);
    sluice_test_push_ev("00:09:59", "a", 1);
    sluice_test_step();
    /* watermark 00:09:59 reaches the end of [00:00:00, 00:09:59) */
    assert_string_equal(sluice_test_take("out"), D "00:00:00," D "00:09:59,a,2\n");
    assert_int_equal(sluice_test_stats().state_rows, 1);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), D "00:09:59," D "00:14:59,a,1\n");
    assert_int_equal(sluice_test_stats().state_rows, 0);
}

static void test_a_session_closes_only_when_the_watermark_reaches_its_end(void **state) {
    (void)state;
    sluice_test_engine_open(sessions, "out", NULL);
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_push_ev("00:03:00", "a", 1);
    sluice_test_push_ev("00:07:59", "b", 1);
    sluice_test_step();
    /* a's session ends at 00:08:00; the watermark is 00:07:59 */
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_push_ev("00:08:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), D "00:00:00," D "00:08:00,a,2\n");
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), D "00:07:59," D "00:13:00,b,2\n");
}

static void test_a_row_out_of_order_extends_a_session_backwards(void **state) {
    (void)state;
    sluice_test_engine_open(sessions, "out", NULL);
    /* a: [00:10, 00:23) from 00:10, 00:14, 00:18; b moves the watermark to 00:20 */
    sluice_test_push_ev("00:10:00", "a", 1);
    sluice_test_push_ev("00:14:00", "a", 1);
    sluice_test_push_ev("00:18:00", "a", 1);
    sluice_test_push_ev("00:20:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    /* 00:06 + gap = 00:11 <= watermark 00:20, but it is within the gap of a's
     * open session: it joins it and is not late (Flink's merging windows) */
    sluice_test_push_ev("00:06:00", "a", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().late_rows, 0);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), D "00:06:00," D "00:23:00,a,4\n"
                                                 D "00:20:00," D "00:25:00,b,1\n");
}

static void test_a_bridging_row_merges_two_sessions_and_their_aggregates(void **state) {
    (void)state;
    /* a watermark 10 minutes behind keeps both sessions open */
    sluice_test_engine_open("CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE,\n"
                            "                  WATERMARK FOR ts AS ts - INTERVAL '10' MINUTE);\n"
                            "CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n, COUNT(v) AS nv,\n"
                            "  SUM(v) AS s, MIN(v) AS lo, MAX(v) AS hi, AVG(v) AS a, SUM(x) AS sx FROM ev\n"
                            "GROUP BY SESSION(ts, INTERVAL '5' MINUTE), k EMIT APPEND;\n",
                            "out", NULL);
    /* S1 = [00:00, 00:08) from 00:00 (v 1) and 00:03 (v 5); S2 = [00:12, 00:17)
     * from 00:12 (v 2) and a row without v */
    sluice_test_push("{\"ts\": \"2001-01-01 00:00:00\", \"k\": \"a\", \"v\": 1, \"x\": 0.5}");
    sluice_test_push("{\"ts\": \"2001-01-01 00:03:00\", \"k\": \"a\", \"v\": 5, \"x\": 0.25}");
    sluice_test_push("{\"ts\": \"2001-01-01 00:12:00\", \"k\": \"a\", \"v\": 2}");
    sluice_test_push("{\"ts\": \"2001-01-01 00:12:30\", \"k\": \"a\", \"x\": 1.0}");
    sluice_test_step();
    assert_int_equal(sluice_test_stats().state_rows, 2);
    /* 00:07:30 is within the gap of 00:03 (before 00:08) and of 00:12 (00:12 is
     * before 00:12:30): one session [00:00, 00:17:30) */
    sluice_test_push("{\"ts\": \"2001-01-01 00:07:30\", \"k\": \"a\", \"v\": 10}");
    sluice_test_step();
    assert_int_equal(sluice_test_stats().state_rows, 1);
    sluice_test_end_input();
    /* 5 rows, v 1 5 2 10: SUM 18, MIN 1, MAX 10, AVG 4.5; x 0.5 0.25 1.0 */
    assert_string_equal(sluice_test_take("out"), D "00:00:00," D "00:17:30,a,5,4,18,1,10,4.5,1.75\n");
}

static void test_rows_exactly_gap_apart_stay_apart_and_chains_merge(void **state) {
    (void)state;
    sluice_test_engine_open("CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE,\n"
                            "                  WATERMARK FOR ts AS ts - INTERVAL '1' HOUR);\n"
                            "CREATE SINK out AS SELECT window_start, window_end, MIN(k) AS lo, MAX(k) AS hi,\n"
                            "  COUNT(*) AS n FROM ev GROUP BY SESSION(ts, INTERVAL '5' MINUTE) EMIT APPEND;\n",
                            "out", NULL);
    /* no group key: one key.  A [00:00,00:05) z, B [00:10,00:15) b, C [00:20,00:25) m */
    sluice_test_push_ev("00:20:00", "m", 1);
    sluice_test_push_ev("00:00:00", "z", 1);
    sluice_test_push_ev("00:10:00", "b", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().state_rows, 3);
    /* 00:15 is exactly the gap after B's 00:10 and before C's 00:20: a session
     * D [00:15, 00:20) of its own */
    sluice_test_push_ev("00:15:00", "q", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().state_rows, 4);
    /* 00:05 likewise: E [00:05, 00:10).  00:04 then joins A and E: [00:00, 00:10).
     * 00:09 joins that and B: [00:00, 00:15) holding z c a y b */
    sluice_test_push_ev("00:05:00", "c", 1);
    sluice_test_push_ev("00:04:00", "a", 1);
    sluice_test_push_ev("00:09:00", "y", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().state_rows, 3);
    sluice_test_end_input();
    /* MIN/MAX over strings merged across sessions */
    assert_string_equal(sluice_test_take("out"), D "00:00:00," D "00:15:00,a,z,5\n"
                                                 D "00:15:00," D "00:20:00,q,q,1\n"
                                                 D "00:20:00," D "00:25:00,m,m,1\n");
}

static void test_keys_have_independent_sessions(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n, SUM(v) AS s FROM ev\n"
                            "WHERE v > 0 GROUP BY SESSION(ts, INTERVAL '5' MINUTE), k HAVING SUM(v) < 100 EMIT APPEND;\n",
                            "out", NULL);
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_push_ev("00:03:00", "b", 2);
    sluice_test_push_ev("00:04:00", "c", 0);   /* WHERE drops it */
    sluice_test_push_ev("00:06:00", "a", 3);   /* 6 min after a's last: a new session */
    sluice_test_push_ev("00:07:00", "b", 4);   /* 4 min after b's last: same session */
    sluice_test_push_ev("00:08:00", "d", 500); /* HAVING drops its row */
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), D "00:00:00," D "00:05:00,a,1,1\n"
                                                 D "00:03:00," D "00:12:00,b,2,6\n"
                                                 D "00:06:00," D "00:11:00,a,1,3\n");
}

static void test_late_rows(void **state) {
    (void)state;
    sluice_test_engine_open(sessions, "out", NULL);
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_push_ev("00:02:00", "c", 1);
    sluice_test_push_ev("00:20:00", "b", 1);
    sluice_test_step();
    /* watermark 00:20: a [00:00, 00:05) and c [00:02, 00:07) are final */
    assert_string_equal(sluice_test_take("out"), D "00:00:00," D "00:05:00,a,1\n" D "00:02:00," D "00:07:00,c,1\n");
    /* 00:15 + gap = 00:20 <= watermark and a has no open session: late */
    sluice_test_push_ev("00:15:00", "a", 1);
    /* 00:03 joins nothing open for c (its session is gone): late */
    sluice_test_push_ev("00:03:00", "c", 1);
    /* b has an open session [00:20, 00:25): 00:16 is within the gap and joins it */
    sluice_test_push_ev("00:16:00", "b", 1);
    /* 00:15:01 + gap > watermark: a new session for a, not late */
    sluice_test_push_ev("00:15:01", "a", 1);
    /* no event time: dead-lettered too */
    sluice_test_push("{\"k\": \"a\", \"v\": 1}");
    sluice_test_step();
    assert_int_equal(sluice_test_stats().late_rows, 3);
    assert_string_equal(sluice_test_take("out"), "");
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), D "00:15:01," D "00:20:01,a,1\n" D "00:16:00," D "00:25:00,b,2\n");
    char *dl = sluice_test_read_file(sluice_test_engine_dead_letter_path(), NULL);
    assert_non_null(dl);
    assert_non_null(strstr(dl, "\"reason\":\"late\""));
    assert_non_null(strstr(dl, "null event time"));
    free(dl);
}

static void test_a_row_near_a_final_session_starts_a_new_one(void **state) {
    (void)state;
    sluice_test_engine_open(sessions, "out", NULL);
    sluice_test_push_ev("00:00:00", "a", 1);
    sluice_test_push_ev("00:03:00", "a", 1);
    sluice_test_push_ev("00:09:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), D "00:00:00," D "00:08:00,a,2\n");
    /* 00:07 is within the gap of a's final session, but that state is gone
     * (Flink); 00:07 + gap = 00:12 > watermark 00:09: a session of its own */
    sluice_test_push_ev("00:07:00", "a", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().late_rows, 0);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take("out"), D "00:07:00," D "00:12:00,a,1\n" D "00:09:00," D "00:14:00,b,1\n");
}

static void test_state_is_freed_as_sessions_close(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, k, COUNT(*) AS n, MAX(k) AS mk FROM ev\n"
                            "GROUP BY SESSION(ts, INTERVAL '1' MINUTE), k EMIT APPEND;\n",
                            "out", NULL);
    sluice_transform *t = sluice_pipeline_transform(sluice_test_engine_pipeline());
    char k[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof k, "a-rather-long-key-name-number-%06d", i);
        sluice_test_push_ev("00:00:00", k, 1);
    }
    sluice_test_step();
    assert_int_equal(sluice_test_stats().state_rows, 3000);
    size_t full = sluice_engine_state_bytes(t);
    sluice_test_push_ev("00:10:00", "z", 1);
    sluice_test_step();
    /* 3000 sessions final and freed, their keys and strings with them */
    assert_int_equal(sluice_test_stats().state_rows, 1);
    size_t after = sluice_engine_state_bytes(t);
    if (after * 4 > full) fail_msg("state %zu bytes with 3000 sessions, %zu after they closed", full, after);
    sluice_test_end_input();
    assert_int_equal(sluice_test_stats().state_rows, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, sluice_test_engine_setup, sluice_test_engine_teardown)
        T(test_rows_less_than_gap_apart_share_a_session),
        T(test_a_session_closes_only_when_the_watermark_reaches_its_end),
        T(test_a_row_out_of_order_extends_a_session_backwards),
        T(test_a_bridging_row_merges_two_sessions_and_their_aggregates),
        T(test_rows_exactly_gap_apart_stay_apart_and_chains_merge),
        T(test_keys_have_independent_sessions),
        T(test_late_rows),
        T(test_a_row_near_a_final_session_starts_a_new_one),
        T(test_state_is_freed_as_sessions_close),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
