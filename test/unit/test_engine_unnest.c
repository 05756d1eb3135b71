/*
 * CROSS JOIN UNNEST end to end through the embedding API (docs/sql.md
 * "ARRAY and UNNEST"): words of the memory source's `k` counted per minute,
 * the top words per minute, ARRAY columns read from JSON and written as
 * JSON text, late rows after the expansion.  Expected rows are worked out
 * by hand in the comments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/sluice.h"
#include "sluice_test_engine.h"

static const char word_count[] = SLUICE_TEST_SOURCE
    "CREATE SINK counts AS SELECT window_start, word, COUNT(*) AS n FROM ev\n"
    "CROSS JOIN UNNEST(SPLIT(LOWER(k), ' ')) AS t(word) WHERE word <> ''\n"
    "GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), word EMIT APPEND;\n"
    "CREATE SINK top AS SELECT window_start, rank, word, COUNT(*) AS n FROM ev\n"
    "CROSS JOIN UNNEST(SPLIT(LOWER(k), ' ')) AS t(word) WHERE word <> ''\n"
    "GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), word ORDER BY n DESC LIMIT 2 EMIT APPEND;\n";

static void test_words_counted_per_minute(void **state) {
    (void)state;
    sluice_test_engine_open(word_count, "counts,top", NULL);
    sluice_test_push_ev("00:00:05", "the cat", 1);
    sluice_test_push_ev("00:00:30", "The  dog", 2);    /* two spaces: an empty word, dropped */
    sluice_test_push_ev("00:00:59", "", 3);            /* [''] : dropped */
    sluice_test_push_ev("00:01:10", "dog eat dog", 4);
    sluice_test_push("{\"ts\": \"2001-01-01 00:01:20\", \"v\": 5}"); /* k NULL: SPLIT NULL, no row */
    sluice_test_step();
    /* watermark 00:01:20 closes [00:00, 00:01): the 2, cat 1, dog 1 */
    assert_string_equal(sluice_test_take("counts"), "2001-01-01 00:00:00,cat,1\n"
                                                    "2001-01-01 00:00:00,dog,1\n"
                                                    "2001-01-01 00:00:00,the,2\n");
    /* top 2: the (2), then cat and dog tie at 1: cat first (key order) */
    assert_string_equal(sluice_test_take_in_order("top"), "2001-01-01 00:00:00,1,the,2\n"
                                                          "2001-01-01 00:00:00,2,cat,1\n");
    sluice_test_push_ev("00:01:40", "EAT", 6);
    sluice_test_end_input();
    /* [00:01, 00:02): dog 2, eat 2 */
    assert_string_equal(sluice_test_take("counts"), "2001-01-01 00:01:00,dog,2\n"
                                                    "2001-01-01 00:01:00,eat,2\n");
    assert_string_equal(sluice_test_take_in_order("top"), "2001-01-01 00:01:00,1,dog,2\n"
                                                          "2001-01-01 00:01:00,2,eat,2\n");
    sluice_pipeline_stats st = sluice_test_stats();
    assert_int_equal(st.input_rows, 6);
    assert_int_equal(st.late_rows, 0);
}

static void test_ordinality_and_array_output(void **state) {
    (void)state;
    sluice_test_engine_open("CREATE SOURCE ev (id BIGINT, tags ARRAY<VARCHAR>);\n"
                            "CREATE SINK out AS SELECT id, pos, tag, CARDINALITY(tags) AS n, tags FROM ev\n"
                            "CROSS JOIN UNNEST(tags) WITH ORDINALITY AS t(tag, pos);\n",
                            "out", NULL);
    sluice_test_push("{\"id\": 1, \"tags\": [\"a\", null, \"c\"]}");
    sluice_test_push("{\"id\": 2, \"tags\": []}");
    sluice_test_push("{\"id\": 3}");
    sluice_test_push("{\"id\": 4, \"tags\": [\"x,y\"]}");
    sluice_test_step();
    /* one row per element, NULL elements included; none for [] or NULL; the
     * array itself as its JSON text in CSV (quoted: it holds commas/quotes) */
    assert_string_equal(sluice_test_take_in_order("out"),
                        "1,1,a,3,\"[\"\"a\"\",null,\"\"c\"\"]\"\n"
                        "1,2,,3,\"[\"\"a\"\",null,\"\"c\"\"]\"\n"
                        "1,3,c,3,\"[\"\"a\"\",null,\"\"c\"\"]\"\n"
                        "4,1,\"x,y\",1,\"[\"\"x,y\"\"]\"\n");
}

/* An array's JSON text longer than any fixed buffer is written whole. */
static void test_long_array_output_is_not_cut(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT SPLIT(k, ' ') AS words FROM ev;\n", "out",
                            NULL);
    char words[400] = "", want[1200] = "\"[";
    for (int i = 0; i < 40; i++) {
        char w[16];
        snprintf(w, sizeof w, "%sw%02d", i ? " " : "", i);
        strcat(words, w);
        snprintf(w, sizeof w, "%s\"\"w%02d\"\"", i ? "," : "", i);
        strcat(want, w);
    }
    strcat(want, "]\"\n");
    sluice_test_push_ev("00:00:01", words, 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), want);
}

static void test_a_late_row_is_dead_lettered_once_per_element(void **state) {
    (void)state;
    sluice_test_engine_open(word_count, "counts,top", NULL);
    sluice_test_push_ev("00:02:00", "a", 1);
    sluice_test_step();
    sluice_test_push_ev("00:00:10", "late words", 2);
    sluice_test_step();
    /* each of the late record's two rows is late for each of the two sinks */
    assert_int_equal(sluice_test_stats().late_rows, 4);
    char *dl = sluice_test_read_file(sluice_test_engine_dead_letter_path(), NULL);
    assert_non_null(dl);
    size_t lines = 0;
    for (const char *p = dl; (p = strstr(p, "late words")) != NULL; p++) lines++;
    assert_int_equal(lines, 4);
    free(dl);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_words_counted_per_minute, sluice_test_engine_setup,
                                        sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_ordinality_and_array_output, sluice_test_engine_setup,
                                        sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_long_array_output_is_not_cut, sluice_test_engine_setup,
                                        sluice_test_engine_teardown),
        cmocka_unit_test_setup_teardown(test_a_late_row_is_dead_lettered_once_per_element,
                                        sluice_test_engine_setup, sluice_test_engine_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
