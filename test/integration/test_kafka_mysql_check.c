/*
 * `sluice check` validates what `run` validates before it reads input,
 * connector options included, without connecting or opening anything for
 * writing: a bad value of any connector's option (file, Kafka properties,
 * MySQL options) fails check with exit status 2 and the option's
 * FILE:LINE; a good profile passes, creates no output file and needs no
 * reachable broker or database.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;
static char sql_path[4200], ini_path[4200], out_path[4200], err_path[4200], in_path[4200], sink_path[4200];

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("check");
    if (!dir) return -1;
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    snprintf(in_path, sizeof in_path, "%s/in.jsonl", dir);
    snprintf(sink_path, sizeof sink_path, "%s/out.csv", dir);
    if (sluice_test_write_file(sql_path, "CREATE SOURCE ev (k VARCHAR, v BIGINT);\n"
                                         "CREATE SINK out AS SELECT k, v FROM ev;\n") != 0)
        return -1;
    return sluice_test_write_file(in_path, "{\"k\":\"a\",\"v\":1}\n");
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

/* check with this profile (%1$s: the input path, %2$s: the sink path):
 * exit 2, and stderr holds "p.test.ini:LINE" and `phrase` */
static void check_fails(const char *fmt, int line, const char *phrase) {
    char ini[16384];
    snprintf(ini, sizeof ini, fmt, in_path, sink_path);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    const char *argv[] = {"check", sql_path, NULL};
    int rc = sluice_test_run_cli(argv, out_path, err_path);
    char *t = sluice_test_read_file(err_path, NULL);
    assert_non_null(t);
    char want[4300];
    snprintf(want, sizeof want, "%s:%d", ini_path, line);
    if (rc != 2 || !strstr(t, want) || !strstr(t, phrase))
        fail_msg("check of\n%s\nexited %d, expected 2 with '%s' and '%s' in:\n%s", ini, rc, want, phrase, t);
    free(t);
}

static void test_check_rejects_bad_connector_options_with_file_and_line(void **state) {
    (void)state;
    check_fails("[source ev]\npath = %1$s\nformat = xml\n", 3, "expected json, csv or lines");
    check_fails("[source ev]\npath = %1$s\nfollow = sometimes\n", 3, "expected true or false");
    check_fails("[source ev]\npath = %1$s\n[sink out]\nconnector = file\npath = %2$s\ncsv.delimiter = ab\n", 6,
                "csv.delimiter");
    check_fails("[source ev]\nconnector = kafka\ntopic = t\nkafka.bootstrap.servers = 127.0.0.1:1\n"
                "kafka.fetch.wait.max.ms = banana\n",
                5, "fetch.wait.max.ms");
    check_fails("[source ev]\nconnector = kafka\ntopic = t\nstartingOffsets = yesterday\n", 4,
                "expected earliest or latest");
    check_fails("[source ev]\npath = %1$s\n[sink out]\nconnector = kafka\ntopic = o\n"
                "kafka.bootstrap.servers = 127.0.0.1:1\nkafka.linger.ms = -5\n",
                7, "linger.ms");
    check_fails("[source ev]\npath = %1$s\n[mysql]\nhost = 127.0.0.1\ndatabase = d\n[sink out]\nconnector = mysql\n"
                "varchar_length = 99999\n",
                8, "at most 16383");
    check_fails("[mysql]\nhost = 127.0.0.1\ndatabase = d\n[source ev]\nconnector = mysql\ntable = t\n"
                "incrementing_column = id\npoll_interval = soon\n",
                8, "expected a duration");
}

/* The mysql connectors' option tables: a value of the wrong type in a
 * source or sink section or in [mysql] fails check naming the key and its
 * FILE:LINE (the [mysql] section's values used to be refused without
 * them), and `sluice connectors` lists every option. */
static void test_check_types_mysql_options_from_their_tables(void **state) {
    (void)state;
    check_fails("[mysql]\nhost = 127.0.0.1\ndatabase = d\n[source ev]\nconnector = mysql\ntable = t\n"
                "incrementing_column = id\nbatch_rows = many\n",
                8, "batch_rows = 'many': expected integer >= 1");
    check_fails("[source ev]\npath = %1$s\n[mysql]\nhost = 127.0.0.1\ndatabase = d\n[sink out]\nconnector = mysql\n"
                "batch_bytes = 1M\n",
                8, "batch_bytes = '1M': expected integer >= 1024");
    check_fails("[source ev]\npath = %1$s\n[mysql]\nhost = 127.0.0.1\ndatabase = d\nconnect_timeout = soon\n"
                "[sink out]\nconnector = mysql\n",
                6, "[mysql] connect_timeout = 'soon': expected a duration such as 30s or 500ms");
    check_fails("[source ev]\npath = %1$s\n[mysql]\nhost = 127.0.0.1\nport = http\ndatabase = d\n"
                "[sink out]\nconnector = mysql\n",
                5, "[mysql] port = 'http': expected integer from 1 to 65535");
    check_fails("[mysql]\nhost = 127.0.0.1\ndatabase = d\npassword = hunter2\nssl_mode = sometimes\n"
                "[source ev]\nconnector = mysql\ntable = t\nincrementing_column = id\n",
                5, "[mysql] ssl_mode = 'sometimes': expected disabled, preferred, required");

    const char *argv[] = {"connectors", NULL};
    assert_int_equal(sluice_test_run_cli(argv, out_path, err_path), 0);
    char *t = sluice_test_read_file(out_path, NULL);
    assert_non_null(t);
    const char *src = strstr(t, "### Source `mysql`"), *sink = strstr(t, "### Sink `mysql`");
    const char *shared = strstr(t, "### `[mysql]`");
    if (!src || !sink || !shared) fail_msg("sluice connectors:\n%s", t);
    static const char *const source_keys[] = {"table", "incrementing_column", "poll_interval", "batch_rows",
                                              "retry_timeout", NULL};
    static const char *const sink_keys[] = {"table", "create_table", "varchar_length", "batch_bytes",
                                            "retry_timeout", NULL};
    static const char *const shared_keys[] = {"host", "port", "socket", "user", "password", "database", "ssl_mode",
                                              "ssl_ca", "ssl_capath", "ssl_cert", "ssl_key", "ssl_cipher",
                                              "ssl_crl", "connect_timeout", "read_timeout", "write_timeout",
                                              "retry_timeout", NULL};
    const struct {
        const char *at;
        const char *const *keys;
    } lists[] = {{src, source_keys}, {sink, sink_keys}, {shared, shared_keys}};
    for (size_t i = 0; i < 3; i++) {
        const char *end = strstr(lists[i].at + 4, "\n### ");
        for (const char *const *k = lists[i].keys; *k; k++) {
            char row[100];
            snprintf(row, sizeof row, "\n| `%s` |", *k);
            const char *hit = strstr(lists[i].at, row);
            if (!hit || (end && hit > end)) fail_msg("no row for %s after '%.20s' in:\n%s", *k, lists[i].at, t);
        }
    }
    assert_non_null(strstr(shared, "| `port` | integer from 1 to 65535 | `3306` |"));
    assert_non_null(strstr(shared, "| `database` | text | required |"));
    free(t);
}

static void test_check_passes_a_good_profile_without_connecting_or_writing(void **state) {
    (void)state;
    /* nothing listens on 127.0.0.1:1 and no database runs: check does not connect */
    char ini[8192];
    snprintf(ini, sizeof ini,
             "[kafka]\nbootstrap.servers = 127.0.0.1:1\nsasl.password = hunter2\n"
             "[mysql]\nhost = 127.0.0.1\nport = 1\ndatabase = d\npassword = hunter2\n"
             "[source ev]\nconnector = kafka\ntopic = t\nkafka.fetch.wait.max.ms = 100\n"
             "[sink out]\nconnector = file\npath = %s\n",
             sink_path);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    const char *argv[] = {"check", sql_path, NULL};
    assert_int_equal(sluice_test_run_cli(argv, out_path, err_path), 0);
    struct stat st;
    assert_int_not_equal(stat(sink_path, &st), 0); /* the file sink was not created */
    /* the bindings it prints mask the secrets */
    char *t = sluice_test_read_file(out_path, NULL);
    assert_non_null(t);
    assert_non_null(strstr(t, "password = ****"));
    assert_null(strstr(t, "hunter2"));
    free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_rejects_bad_connector_options_with_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_passes_a_good_profile_without_connecting_or_writing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_check_types_mysql_options_from_their_tables, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
