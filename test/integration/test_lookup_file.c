/*
 * Lookup joins against a `file` lookup table, end to end through the
 * sluice binary: a followed bid file joined with a CSV side table that is
 * replaced mid-run (the join then sees the new rows), a row of the table
 * that does not decode going to the dead letter, and the profile errors
 * (a looked-up table without a [lookup NAME] section, an unknown key).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sluice_test.h"

static char *dir;
static char sql_path[4200], ini_path[4200], bid_path[4200], side_path[4200], side_tmp[4200], out_path[4200],
    log_path[4200], dlq_path[4200];

static const char pipeline_sql[] =
    "CREATE SOURCE bid (auction BIGINT, price BIGINT);\n"
    "CREATE TABLE side (key BIGINT, `value` VARCHAR);\n"
    "CREATE SINK out AS\n"
    "SELECT B.auction, B.price, S.`value`\n"
    "FROM (SELECT *, PROCTIME() AS p_time FROM bid) B\n"
    "JOIN side FOR SYSTEM_TIME AS OF B.p_time AS S ON MOD(B.auction, 10) = S.key;\n";

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("lookup_file");
    if (!dir) return -1;
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(bid_path, sizeof bid_path, "%s/bid.json", dir);
    snprintf(side_path, sizeof side_path, "%s/side.csv", dir);
    snprintf(side_tmp, sizeof side_tmp, "%s/side.csv.tmp", dir);
    snprintf(out_path, sizeof out_path, "%s/out.json", dir);
    snprintf(log_path, sizeof log_path, "%s/stderr.txt", dir);
    snprintf(dlq_path, sizeof dlq_path, "%s/dlq.jsonl", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

static void write_ini(const char *lookup_section) {
    char ini[32768];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = 20ms\ndead_letter = %s\n"
             "[source bid]\npath = %s\nformat = json\nfollow = true\n"
             "%s"
             "[sink out]\nconnector = file\npath = %s\nformat = json\n",
             dlq_path, bid_path, lookup_section, out_path);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
}

static void append(const char *path, const char *text) {
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms) {
    struct timespec p = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&p, NULL);
}

/* Wait (at most 20 s) until the output holds `lines` lines. */
static void wait_lines(int pid, size_t lines) {
    int64_t deadline = mono_ms() + 20000;
    while (mono_ms() < deadline) {
        char *t = sluice_test_read_file(out_path, NULL);
        size_t n = 0;
        for (const char *p = t; p && *p; p++) n += *p == '\n';
        free(t);
        if (n >= lines) return;
        pause_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    char *e = sluice_test_read_file(log_path, NULL);
    fail_msg("no %zu output lines within 20 s; stderr:\n%s", lines, e ? e : "");
}

/* Bids 11 (key 1), 22 (key 2) and 33 (key 3, not in the table) meet
 * (1,one) and (2,two); the line "x,bad" of the table goes to the dead
 * letter.  The table is then replaced (a rename, as a writer should) by
 * (1,uno), (3,three); bids 41 and 53 then meet (1,uno) and (3,three), and
 * 22 would meet nothing. */
static void test_file_table_replaced_mid_run_is_reloaded(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(sql_path, pipeline_sql), 0);
    write_ini("[lookup side]\nconnector = file\npath = side.csv\nreload_interval = 0\n");
    assert_int_equal(sluice_test_write_file(side_path, "key,value\n1,one\n2,two\nx,bad\n"), 0);
    assert_int_equal(sluice_test_write_file(bid_path, "{\"auction\":11,\"price\":1}\n{\"auction\":22,\"price\":2}\n"
                                                      "{\"auction\":33,\"price\":3}\n"),
                     0);
    assert_int_equal(chdir(dir), 0);
    const char *argv[] = {"run", sql_path, "--config", ini_path, NULL};
    int pid = sluice_test_spawn_cli(argv, NULL, log_path);
    assert_true(pid > 0);
    wait_lines(pid, 2);
    assert_int_equal(sluice_test_write_file(side_tmp, "key,value\n1,uno\n3,three\n"), 0);
    assert_int_equal(rename(side_tmp, side_path), 0);
    append(bid_path, "{\"auction\":41,\"price\":4}\n{\"auction\":22,\"price\":5}\n{\"auction\":53,\"price\":6}\n");
    wait_lines(pid, 4);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(sluice_test_wait_cli(pid, 20000), 0);
    char *out = sluice_test_read_file(out_path, NULL);
    assert_non_null(out);
    assert_string_equal(out, "{\"auction\":11,\"price\":1,\"value\":\"one\"}\n"
                             "{\"auction\":22,\"price\":2,\"value\":\"two\"}\n"
                             "{\"auction\":41,\"price\":4,\"value\":\"uno\"}\n"
                             "{\"auction\":53,\"price\":6,\"value\":\"three\"}\n");
    free(out);
    char *dlq = sluice_test_read_file(dlq_path, NULL);
    assert_non_null(dlq);
    assert_non_null(strstr(dlq, "\"source\":\"side\""));
    assert_non_null(strstr(dlq, "\"position\":\"line 4\""));
    assert_non_null(strstr(dlq, "\"raw\":\"x,bad\""));
    free(dlq);
}

/* A looked-up table without its section, and a section with an unknown
 * key or a bad value: `sluice check` says what to write, where. */
static void test_profile_errors_name_the_section(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(sql_path, pipeline_sql), 0);
    assert_int_equal(chdir(dir), 0);
    const char *argv[] = {"check", sql_path, "--config", ini_path, NULL};

    write_ini("");
    assert_int_equal(sluice_test_run_cli(argv, NULL, log_path), 2);
    char *e = sluice_test_read_file(log_path, NULL);
    assert_non_null(strstr(e, "lookup table side (FOR SYSTEM_TIME AS OF in"));
    assert_non_null(strstr(e, "is not bound: add a [lookup side] section (connector: file"));
    free(e);

    write_ini("[lookup side]\nconnector = file\npath = side.csv\nreload = 1s\n");
    assert_int_equal(sluice_test_run_cli(argv, NULL, log_path), 2);
    e = sluice_test_read_file(log_path, NULL);
    assert_non_null(strstr(e, "p.test.ini:11: unknown key 'reload' in [lookup side] (expected one of: connector, path"));
    free(e);

    write_ini("[lookup side]\nconnector = file\npath = side.csv\nreload_interval = soon\n");
    assert_int_equal(sluice_test_run_cli(argv, NULL, log_path), 2);
    e = sluice_test_read_file(log_path, NULL);
    assert_non_null(strstr(e, "p.test.ini:11: reload_interval = 'soon' in [lookup side]"));
    free(e);

    write_ini("[lookup nosuch]\nconnector = file\npath = side.csv\n");
    assert_int_equal(sluice_test_run_cli(argv, NULL, log_path), 2);
    e = sluice_test_read_file(log_path, NULL);
    assert_non_null(strstr(e, "unknown section [lookup nosuch]"));
    free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_table_replaced_mid_run_is_reloaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_errors_name_the_section, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
