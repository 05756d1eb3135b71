/*
 * `[function sentiment]` with connector = http against a model server on
 * loopback (test/support/model_server.c, which scores with the same AFINN
 * function as the C binding, so the expected rows are those of
 * test_udf_cli.c): requests per batch_size, retries, a server that fails,
 * hangs or stops answering mid-run, and a stop signal while waiting.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_server.h"
#include "sluice_test.h"

static char *dir;
static char sql_path[4200], ini_path[4200], in_path[4200], out_path[4200], dl_path[4200], err_path[4200];
static model_server *server;

static const char pipeline_sql[] =
    "CREATE FUNCTION sentiment(review VARCHAR) RETURNS DOUBLE;\n"
    "CREATE SOURCE reviews (product VARCHAR, review VARCHAR);\n"
    "CREATE SINK scored AS SELECT product, sentiment(review) AS score,\n"
    "  CASE WHEN sentiment(review) > 0 THEN 'positive' WHEN sentiment(review) < 0 THEN 'negative'\n"
    "       ELSE 'neutral' END AS label\n"
    "FROM reviews WHERE review IS NOT NULL;\n";

/* Six rows: one call site evaluated three times per row, so each site
 * sends 6 instances. */
static const char input[] = "{\"product\":\"p1\",\"review\":\"I love it, good stuff\"}\n"
                            "{\"product\":\"p2\",\"review\":\"Bad. Really BAD and naïve\"}\n"
                            "{\"product\":\"p1\",\"review\":null}\n"
                            "{\"product\":\"p3\",\"review\":\"nothing to say\"}\n"
                            "{\"product\":\"p4\",\"review\":\"boom\"}\n"
                            "{\"product\":\"p2\",\"review\":\"hate the lid, great pot\"}\n";

static const char expected[] = "{\"product\":\"p1\",\"score\":6,\"label\":\"positive\"}\n"
                               "{\"product\":\"p2\",\"score\":-8,\"label\":\"negative\"}\n"
                               "{\"product\":\"p3\",\"score\":0,\"label\":\"neutral\"}\n"
                               "{\"product\":\"p4\",\"score\":0,\"label\":\"neutral\"}\n"
                               "{\"product\":\"p2\",\"score\":0,\"label\":\"neutral\"}\n";

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("udf_http");
    if (!dir) return -1;
    snprintf(sql_path, sizeof sql_path, "%s/reviews.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/reviews.test.ini", dir);
    snprintf(in_path, sizeof in_path, "%s/reviews.jsonl", dir);
    snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);
    snprintf(dl_path, sizeof dl_path, "%s/dead.jsonl", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    if (sluice_test_write_file(sql_path, pipeline_sql) || sluice_test_write_file(in_path, input)) return -1;
    server = model_server_start(sluice_test_fixture("models/afinn-165/afinn-165.tsv"));
    return server ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    model_server_stop(server);
    free(dir);
    return 0;
}

static void write_ini(const char *extra) {
    char ini[20000];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\ndead_letter = %s\n"
             "[source reviews]\npath = %s\nformat = json\n"
             "[sink scored]\nconnector = file\npath = %s\nformat = json\n"
             "[function sentiment]\nconnector = http\nurl = http://127.0.0.1:%d/v1/models/sentiment:predict\n%s",
             dl_path, in_path, out_path, model_server_port(server), extra);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    remove(out_path);
    remove(dl_path);
}

static int run(void) {
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    return sluice_test_run_cli(argv, NULL, err_path);
}

static char *file_text(const char *path) {
    char *t = sluice_test_read_file(path, NULL);
    return t ? t : strdup("");
}

static void expect_file(const char *path, const char *want) {
    char *t = file_text(path);
    assert_string_equal(t, want);
    free(t);
}

static size_t lines_of(const char *path) {
    char *t = file_text(path);
    size_t n = 0;
    for (const char *p = t; *p; p++) n += *p == '\n';
    free(t);
    return n;
}

static void test_default_settings_one_request_per_call_site(void **state) {
    (void)state;
    model_server_set_mode(server, MODEL_OK, 0);
    write_ini("");
    assert_int_equal(run(), 0);
    expect_file(out_path, expected);
    /* batch_size 512 by default: each of the 3 calls in the query is one request of 6 rows */
    assert_int_equal(model_server_requests(server), 3);
    assert_int_equal(model_server_instances(server), 18);
}

static void test_requests_per_batch_size(void **state) {
    (void)state;
    static const struct {
        const char *ini;
        unsigned requests;
    } cases[] = {
        {"batch_size = 4\n", 3 * 2}, /* ceil(6/4) = 2 per call site */
        {"batch_size = 1\n", 3 * 6},
        {"batch_size = 6\n", 3 * 1},
        {"batch_size = 5\nmax_in_flight = 1\n", 3 * 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        model_server_set_mode(server, MODEL_OK, 0);
        write_ini(cases[i].ini);
        assert_int_equal(run(), 0);
        expect_file(out_path, expected);
        assert_int_equal(model_server_requests(server), cases[i].requests);
        assert_int_equal(model_server_instances(server), 18);
    }
    /* never more requests at once than max_in_flight (default 4) */
    model_server_set_mode(server, MODEL_OK, 0);
    write_ini("batch_size = 1\n");
    assert_int_equal(run(), 0);
    assert_true(model_server_max_concurrent(server) <= 4);
    model_server_set_mode(server, MODEL_OK, 0);
    write_ini("batch_size = 1\nmax_in_flight = 1\n");
    assert_int_equal(run(), 0);
    assert_int_equal(model_server_max_concurrent(server), 1);
}

static void test_failed_requests_are_retried(void **state) {
    (void)state;
    /* the first two answers are 500: with the default retries (2) the first
     * call's third attempt succeeds */
    model_server_set_mode(server, MODEL_FAIL_FIRST, 2);
    write_ini("");
    assert_int_equal(run(), 0);
    expect_file(out_path, expected);
    assert_int_equal(model_server_requests(server), 3 + 2);
    assert_int_equal(lines_of(dl_path), 0);
}

static void test_out_of_retries_rows_go_to_the_dead_letter(void **state) {
    (void)state;
    /* three 500s: the first call site's request fails 3 times (1 + 2 retries) */
    model_server_set_mode(server, MODEL_FAIL_FIRST, 3);
    write_ini("");
    assert_int_equal(run(), 0);
    expect_file(out_path, "");
    assert_int_equal(lines_of(dl_path), 6);
    char *dl = file_text(dl_path);
    assert_non_null(strstr(dl, "HTTP status 500 (after 3 attempts)"));
    free(dl);
}

static void test_server_that_dies_mid_run(void **state) {
    (void)state;
    /* one request answered (rows 1-2 of the first site), then connections
     * close unanswered: the other rows fail after their retries */
    model_server_set_mode(server, MODEL_DIE_AFTER, 1);
    write_ini("batch_size = 2\nmax_in_flight = 1\non_error = null\n");
    assert_int_equal(run(), 0);
    expect_file(out_path, "{\"product\":\"p1\",\"score\":6,\"label\":\"neutral\"}\n"
                          "{\"product\":\"p2\",\"score\":-8,\"label\":\"neutral\"}\n"
                          "{\"product\":\"p3\",\"score\":null,\"label\":\"neutral\"}\n"
                          "{\"product\":\"p4\",\"score\":null,\"label\":\"neutral\"}\n"
                          "{\"product\":\"p2\",\"score\":null,\"label\":\"neutral\"}\n");
    /* site 1: 1 answered + 2 chunks x 3 attempts; sites 2 and 3: 3 chunks x 3
     * = 25; libcurl itself reconnects once when a reused connection closes
     * before any answer, which may add one request per chunk */
    unsigned n = model_server_requests(server);
    assert_true(n >= 1 + 6 + 9 + 9 && n <= 1 + 2 * (6 + 9 + 9));
}

static void test_server_that_dies_with_on_error_fail(void **state) {
    (void)state;
    model_server_set_mode(server, MODEL_DIE_AFTER, 0);
    write_ini("on_error = fail\n");
    assert_int_equal(run(), 1);
    expect_file(out_path, "");
    char *e = file_text(err_path);
    assert_non_null(strstr(e, "function sentiment failed: http://127.0.0.1:"));
    free(e);
}

static void test_timeout(void **state) {
    (void)state;
    model_server_set_mode(server, MODEL_HANG, 0);
    write_ini("timeout = 1s\nretries = 1\non_error = null\n");
    assert_int_equal(run(), 0);
    /* each of the 3 sites: 2 attempts of 1 s, then NULL */
    assert_int_equal(model_server_requests(server), 6);
    char *out = file_text(out_path);
    assert_non_null(strstr(out, "{\"product\":\"p1\",\"score\":null,\"label\":\"neutral\"}\n"));
    free(out);
    char *e = file_text(err_path);
    free(e);
}

static void test_stop_while_waiting_for_the_server(void **state) {
    (void)state;
    model_server_set_mode(server, MODEL_HANG, 0);
    write_ini(""); /* default timeout: 30 s */
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    int pid = sluice_test_spawn_cli(argv, NULL, err_path);
    assert_true(pid > 0);
    /* wait for the request to arrive (bounded) */
    for (int i = 0; i < 1000 && model_server_requests(server) == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(model_server_requests(server), 1);
    kill(pid, SIGTERM);
    /* the run ends within the 2 s a stop may take; no checkpoint replays the
     * abandoned batch: exit status 3, nothing written */
    assert_int_equal(sluice_test_wait_cli(pid, 5000), 3);
    expect_file(out_path, "");
}

static void test_bad_http_options(void **state) {
    (void)state;
    const char *argv[] = {"check", sql_path, NULL};
    char ini[10000];
    snprintf(ini, sizeof ini,
             "[source reviews]\npath = %s\nformat = json\n[sink scored]\nconnector = file\npath = %s\nformat = json\n"
             "[function sentiment]\nconnector = http\nurl = ftp://x\n",
             in_path, out_path);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    assert_int_equal(sluice_test_run_cli(argv, NULL, err_path), 2);
    char *e = file_text(err_path);
    assert_non_null(strstr(e, "reviews.test.ini:10: [function sentiment]: connector = http needs url = "));
    free(e);
    write_ini("timeout = soon\n");
    assert_int_equal(sluice_test_run_cli(argv, NULL, err_path), 2);
    e = file_text(err_path);
    assert_non_null(strstr(e, "reviews.test.ini:14: timeout = 'soon' in [function sentiment]"));
    free(e);
    write_ini("model = x\n");
    assert_int_equal(sluice_test_run_cli(argv, NULL, err_path), 2);
    e = file_text(err_path);
    assert_non_null(strstr(e, "reviews.test.ini:14: unknown key 'model' in [function sentiment]"));
    /* the accepted keys, from the connector's option table */
    assert_non_null(strstr(e, "for connector 'http' (expected one of: connector, url, batch_size, timeout, retries, "
                              "max_in_flight, on_error)"));
    free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_settings_one_request_per_call_site),
        cmocka_unit_test(test_requests_per_batch_size),
        cmocka_unit_test(test_failed_requests_are_retried),
        cmocka_unit_test(test_out_of_retries_rows_go_to_the_dead_letter),
        cmocka_unit_test(test_server_that_dies_mid_run),
        cmocka_unit_test(test_server_that_dies_with_on_error_fail),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_stop_while_waiting_for_the_server),
        cmocka_unit_test(test_bad_http_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
