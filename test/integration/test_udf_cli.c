/*
 * A function bound by the profile, end to end through the sluice binary:
 * `[function sentiment]` with connector = c loads the example shared object
 * (test/support/afinn_udf.c, the AFINN-165 lexicon of fixtures/models/) and
 * scores reviews; the expected scores are summed by hand from the lexicon
 * (love 3, good 3, bad -3, naïve -2, hate -3, great 3).  Also: sluice check
 * validates [function] sections without loading them, binding errors name
 * FILE:LINE, the ABI version is checked, and on_error decides the fate of
 * the rows of a failed call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_test.h"

static char *dir;
static char sql_path[4200], ini_path[4200], in_path[4200], out_path[4200], dl_path[4200], err_path[4200];

static const char pipeline_sql[] =
    "CREATE FUNCTION sentiment(review VARCHAR) RETURNS DOUBLE;\n"
    "CREATE SOURCE reviews (product VARCHAR, review VARCHAR);\n"
    "CREATE SINK scored AS SELECT product, sentiment(review) AS score,\n"
    "  CASE WHEN sentiment(review) > 0 THEN 'positive' WHEN sentiment(review) < 0 THEN 'negative'\n"
    "       ELSE 'neutral' END AS label\n"
    "FROM reviews WHERE review IS NOT NULL;\n";

static const char input[] = "{\"product\":\"p1\",\"review\":\"I love it, good stuff\"}\n"
                            "{\"product\":\"p2\",\"review\":\"Bad. Really BAD and naïve\"}\n"
                            "{\"product\":\"p1\",\"review\":null}\n"
                            "{\"product\":\"p3\",\"review\":\"nothing to say\"}\n"
                            "{\"product\":\"p4\",\"review\":\"boom\"}\n"
                            "{\"product\":\"p2\",\"review\":\"hate the lid, great pot\"}\n";

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("udf_cli");
    if (!dir) return -1;
    snprintf(sql_path, sizeof sql_path, "%s/reviews.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/reviews.test.ini", dir);
    snprintf(in_path, sizeof in_path, "%s/reviews.jsonl", dir);
    snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);
    snprintf(dl_path, sizeof dl_path, "%s/dead.jsonl", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    if (sluice_test_write_file(sql_path, pipeline_sql) || sluice_test_write_file(in_path, input)) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

/* The profile; `function` is the body of [function sentiment] (after
 * the connector line, which is on line 12). */
static void write_ini(const char *function) {
    char ini[20000];
    snprintf(ini, sizeof ini,
             "[pipeline]\n"
             "trigger = available_now\n"
             "dead_letter = %s\n"
             "[source reviews]\n"
             "path = %s\n"
             "format = json\n"
             "[sink scored]\n"
             "connector = file\n"
             "path = %s\n"
             "format = json\n"
             "[function sentiment]\n"
             "connector = c\n"
             "%s",
             dl_path, in_path, out_path, function);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    remove(out_path);
    remove(dl_path);
}

static int run(const char *cmd) {
    const char *argv[] = {cmd, sql_path, "--quiet", NULL};
    return sluice_test_run_cli(argv, NULL, err_path);
}

static char *file_text(const char *path) {
    char *t = sluice_test_read_file(path, NULL);
    if (!t) t = strdup("");
    return t;
}

static void expect_stderr(const char *phrase) {
    char *e = file_text(err_path);
    if (!strstr(e, phrase)) fail_msg("expected '%s' in stderr: %s", phrase, e);
    free(e);
}

static char afinn[6000];

static const char *afinn_section(const char *symbol, const char *extra) {
    snprintf(afinn, sizeof afinn, "library = %s\nsymbol = %s\nlexicon = %s\n%s", SLUICE_AFINN_LIBRARY, symbol,
             sluice_test_fixture("models/afinn-165/afinn-165.tsv"), extra);
    return afinn;
}

static void test_scores_reviews_with_the_c_function(void **state) {
    (void)state;
    write_ini(afinn_section("sluice_afinn_sentiment", "batch_size = 2\n"));
    assert_int_equal(run("run"), 0);
    char *out = file_text(out_path);
    assert_string_equal(out, "{\"product\":\"p1\",\"score\":6,\"label\":\"positive\"}\n"
                             "{\"product\":\"p2\",\"score\":-8,\"label\":\"negative\"}\n"
                             "{\"product\":\"p3\",\"score\":0,\"label\":\"neutral\"}\n"
                             "{\"product\":\"p4\",\"score\":0,\"label\":\"neutral\"}\n"
                             "{\"product\":\"p2\",\"score\":0,\"label\":\"neutral\"}\n");
    free(out);
}

static void test_failed_call_goes_to_the_dead_letter(void **state) {
    (void)state;
    /* batch_size 2: rows 5 and 6 (boom, hate ... great) share the failing call */
    write_ini(afinn_section("sluice_afinn_sentiment", "batch_size = 2\nfail_on = boom\n"));
    assert_int_equal(run("run"), 0);
    char *out = file_text(out_path);
    assert_string_equal(out, "{\"product\":\"p1\",\"score\":6,\"label\":\"positive\"}\n"
                             "{\"product\":\"p2\",\"score\":-8,\"label\":\"negative\"}\n"
                             "{\"product\":\"p3\",\"score\":0,\"label\":\"neutral\"}\n");
    free(out);
    char *dl = file_text(dl_path);
    size_t lines = 0;
    for (const char *p = dl; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 2);
    assert_non_null(strstr(dl, "function sentiment failed: review 'boom' (fail_on)"));
    assert_non_null(strstr(dl, "\"sink\":\"scored\""));
    free(dl);
}

static void test_on_error_null(void **state) {
    (void)state;
    write_ini(afinn_section("sluice_afinn_sentiment", "batch_size = 2\nfail_on = boom\non_error = null\n"));
    assert_int_equal(run("run"), 0);
    char *out = file_text(out_path);
    assert_string_equal(out, "{\"product\":\"p1\",\"score\":6,\"label\":\"positive\"}\n"
                             "{\"product\":\"p2\",\"score\":-8,\"label\":\"negative\"}\n"
                             "{\"product\":\"p3\",\"score\":0,\"label\":\"neutral\"}\n"
                             "{\"product\":\"p4\",\"score\":null,\"label\":\"neutral\"}\n"
                             "{\"product\":\"p2\",\"score\":null,\"label\":\"neutral\"}\n");
    free(out);
}

static void test_on_error_fail(void **state) {
    (void)state;
    write_ini(afinn_section("sluice_afinn_sentiment", "fail_on = boom\non_error = fail\n"));
    assert_int_equal(run("run"), 1); /* a runtime failure: nothing of the batch is written */
    expect_stderr("function sentiment failed: review 'boom' (fail_on)");
    char *out = file_text(out_path);
    assert_string_equal(out, "");
    free(out);
}

/* A call in an aggregate's argument: computed per input row, then summed
 * (SUM skips the NULL of the NULL review). */
static void test_call_in_an_aggregate(void **state) {
    (void)state;
    char agg_sql[4300];
    snprintf(agg_sql, sizeof agg_sql, "%s/agg.sql", dir);
    assert_int_equal(sluice_test_write_file(agg_sql, "CREATE FUNCTION sentiment(review VARCHAR) RETURNS DOUBLE;\n"
                                                     "CREATE SOURCE reviews (product VARCHAR, review VARCHAR);\n"
                                                     "CREATE SINK scored AS SELECT product, SUM(sentiment(review)) "
                                                     "AS total, COUNT(*) AS n FROM reviews GROUP BY product;\n"),
                     0);
    write_ini(afinn_section("sluice_afinn_sentiment", "batch_size = 4\n"));
    const char *argv[] = {"run", agg_sql, "--config", ini_path, "--quiet", NULL};
    assert_int_equal(sluice_test_run_cli(argv, NULL, err_path), 0);
    char *out = file_text(out_path);
    assert_string_equal(out, "{\"op\":\"+I\",\"product\":\"p1\",\"total\":6,\"n\":2}\n"
                             "{\"op\":\"+I\",\"product\":\"p2\",\"total\":-8,\"n\":2}\n"
                             "{\"op\":\"+I\",\"product\":\"p3\",\"total\":0,\"n\":1}\n"
                             "{\"op\":\"+I\",\"product\":\"p4\",\"total\":0,\"n\":1}\n");
    free(out);
}

static void test_check_does_not_load_the_library(void **state) {
    (void)state;
    write_ini("library = /nonexistent/libnope.so\nsymbol = f\n");
    assert_int_equal(run("check"), 0);
    /* check prints the binding */
    char so[4300];
    snprintf(so, sizeof so, "%s/stdout.txt", dir);
    const char *argv[] = {"check", sql_path, NULL};
    assert_int_equal(sluice_test_run_cli(argv, so, NULL), 0);
    char *text = file_text(so);
    if (!strstr(text, "function sentiment: connector c\n  connector = c\n  library = /nonexistent/libnope.so\n"))
        fail_msg("no function binding in: %s", text);
    free(text);
    assert_int_equal(run("run"), 2);
    expect_stderr("reviews.test.ini:13: [function sentiment]: cannot load library '/nonexistent/libnope.so'");
}

static void test_check_needs_library_and_symbol(void **state) {
    (void)state;
    write_ini("library = x.so\n");
    assert_int_equal(run("check"), 2);
    expect_stderr("reviews.test.ini:12: [function sentiment]: connector = c needs symbol = ...");
}

static void test_abi_version_is_checked(void **state) {
    (void)state;
    write_ini(afinn_section("sluice_afinn_sentiment_v99", ""));
    assert_int_equal(run("run"), 2);
    expect_stderr("reviews.test.ini:14: [function sentiment]: sluice_afinn_sentiment_v99 in ");
    expect_stderr("has ABI version 99, this sluice expects 1");
}

static void test_unknown_symbol(void **state) {
    (void)state;
    write_ini(afinn_section("nope", ""));
    assert_int_equal(run("run"), 2);
    expect_stderr("reviews.test.ini:14: [function sentiment]: ");
    expect_stderr("has no symbol 'nope'");
}

static void test_bad_options(void **state) {
    (void)state;
    write_ini(afinn_section("sluice_afinn_sentiment", "batch_size = 0\n"));
    assert_int_equal(run("check"), 2);
    expect_stderr("reviews.test.ini:16: batch_size = '0' in [function sentiment]: expected rows per call");
    write_ini(afinn_section("sluice_afinn_sentiment", "on_error = retry\n"));
    assert_int_equal(run("check"), 2);
    expect_stderr("reviews.test.ini:16: on_error = 'retry' in [function sentiment]: expected dead_letter");
    write_ini("library = x.so\nsymbol = f\n[function other]\nconnector = c\n");
    assert_int_equal(run("check"), 2);
    expect_stderr("reviews.test.ini:15:1: unknown section [function other]");
}

static void test_unbound_function(void **state) {
    (void)state;
    char ini[10000];
    snprintf(ini, sizeof ini,
             "[source reviews]\npath = %s\nformat = json\n[sink scored]\nconnector = file\npath = %s\nformat = json\n", in_path,
             out_path);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    assert_int_equal(run("check"), 2);
    expect_stderr("function sentiment (");
    expect_stderr("reviews.sql:1:17) is not bound: add a [function sentiment] section (connector: c, http)");
}

static void test_unknown_connector(void **state) {
    (void)state;
    char ini[10000];
    snprintf(ini, sizeof ini,
             "[source reviews]\npath = %s\nformat = json\n[sink scored]\nconnector = file\npath = %s\nformat = json\n"
             "[function sentiment]\nconnector = grpc\n",
             in_path, out_path);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    assert_int_equal(run("check"), 2);
    expect_stderr("reviews.test.ini:9: [function sentiment]: unknown connector 'grpc'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores_reviews_with_the_c_function),
        cmocka_unit_test(test_failed_call_goes_to_the_dead_letter),
        cmocka_unit_test(test_on_error_null),
        cmocka_unit_test(test_on_error_fail),
        cmocka_unit_test(test_call_in_an_aggregate),
        cmocka_unit_test(test_check_does_not_load_the_library),
        cmocka_unit_test(test_check_needs_library_and_symbol),
        cmocka_unit_test(test_abi_version_is_checked),
        cmocka_unit_test(test_unknown_symbol),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_unbound_function),
        cmocka_unit_test(test_unknown_connector),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
