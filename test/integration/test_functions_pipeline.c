/*
 * The scalar functions end to end through the sluice binary: a pipeline
 * in the shape of Nexmark's q14 (a bid's time of day, DATE_FORMAT,
 * SPLIT_INDEX and REGEXP_EXTRACT of its URL, JSON_VALUE, || and MOD) with
 * the user function count_char bound as a C shared object
 * (test/support/count_char_udf.c), over a small file into a file sink.
 * The expected rows are worked out by hand from the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_test.h"

static char *dir;
static char sql_path[4200], ini_path[4200], in_path[4200], out_path[4200], err_path[4200];

static const char pipeline_sql[] =
    "CREATE FUNCTION count_char(s VARCHAR, c VARCHAR) RETURNS BIGINT;\n"
    "CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, url VARCHAR, dateTime TIMESTAMP,\n"
    "                   extra VARCHAR);\n"
    "CREATE SINK out AS\n"
    "SELECT auction, bidder, 0.5 * price AS price,\n"
    "  CASE WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime'\n"
    "       WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime'\n"
    "       ELSE 'otherTime' END AS bidTimeType,\n"
    "  DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS d, DATE_FORMAT(dateTime, 'HH:mm') AS t,\n"
    "  SPLIT_INDEX(url, '/', 3) AS dir1,\n"
    "  REGEXP_EXTRACT(url, 'channel_id=([^&]*)', 1) AS channel_id,\n"
    "  JSON_VALUE(extra, '$.tag') AS tag,\n"
    "  'a' || CAST(MOD(auction, 10) AS VARCHAR) AS bucket,\n"
    "  count_char(extra, 'c') AS c_counts\n"
    "FROM bid\n"
    "WHERE 0.5 * price > 10 AND NOT REGEXP(url, 'spam');\n";

static const char input[] =
    "{\"auction\":1001,\"bidder\":7,\"price\":100,\"url\":\"https://nx.com/dir1/item?channel_id=ab&x=1\","
    "\"dateTime\":\"2015-07-15 09:30:00\",\"extra\":\"{\\\"tag\\\":\\\"ccc\\\"}\"}\n"
    "{\"auction\":1002,\"bidder\":8,\"price\":10,\"url\":\"https://nx.com/d/i\","
    "\"dateTime\":\"2015-07-15 10:00:00\",\"extra\":null}\n"
    "{\"auction\":1003,\"bidder\":9,\"price\":60,\"url\":\"https://nx.com/spam/i\","
    "\"dateTime\":\"2015-07-15 10:00:00\",\"extra\":null}\n"
    "{\"auction\":1014,\"bidder\":9,\"price\":31,\"url\":\"https://nx.com/x\","
    "\"dateTime\":\"2015-07-16 19:05:59.999\",\"extra\":\"cxc\"}\n"
    "{\"auction\":1025,\"bidder\":10,\"price\":40,\"url\":\"nx\","
    "\"dateTime\":\"2015-07-16 23:59:00\",\"extra\":null}\n";

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("functions_pipeline");
    if (!dir) return -1;
    snprintf(sql_path, sizeof sql_path, "%s/q.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/q.test.ini", dir);
    snprintf(in_path, sizeof in_path, "%s/bid.jsonl", dir);
    snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    char ini[20000];
    snprintf(ini, sizeof ini,
             "[pipeline]\n"
             "trigger = available_now\n"
             "[source bid]\n"
             "path = %s\n"
             "format = json\n"
             "[sink out]\n"
             "connector = file\n"
             "path = %s\n"
             "format = json\n"
             "[function count_char]\n"
             "connector = c\n"
             "library = %s\n"
             "symbol = sluice_count_char\n",
             in_path, out_path, SLUICE_COUNT_CHAR_LIBRARY);
    if (sluice_test_write_file(sql_path, pipeline_sql) || sluice_test_write_file(in_path, input) ||
        sluice_test_write_file(ini_path, ini))
        return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

static void test_functions_over_a_file(void **state) {
    (void)state;
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    int rc = sluice_test_run_cli(argv, NULL, err_path);
    if (rc != 0) {
        char *e = sluice_test_read_file(err_path, NULL);
        fail_msg("sluice run exited %d: %s", rc, e ? e : "");
    }
    char *out = sluice_test_read_file(out_path, NULL);
    assert_non_null(out);
    assert_string_equal(
        out,
        "{\"auction\":1001,\"bidder\":7,\"price\":50,\"bidTimeType\":\"dayTime\",\"d\":\"2015-07-15\",\"t\":\"09:30\","
        "\"dir1\":\"dir1\",\"channel_id\":\"ab\",\"tag\":\"ccc\",\"bucket\":\"a1\",\"c_counts\":3}\n"
        "{\"auction\":1014,\"bidder\":9,\"price\":15.5,\"bidTimeType\":\"otherTime\",\"d\":\"2015-07-16\","
        "\"t\":\"19:05\",\"dir1\":\"x\",\"channel_id\":null,\"tag\":null,\"bucket\":\"a4\",\"c_counts\":2}\n"
        "{\"auction\":1025,\"bidder\":10,\"price\":20,\"bidTimeType\":\"nightTime\",\"d\":\"2015-07-16\","
        "\"t\":\"23:59\",\"dir1\":null,\"channel_id\":null,\"tag\":null,\"bucket\":\"a5\",\"c_counts\":0}\n");
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_functions_over_a_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
