/*
 * Exactly-once into MySQL across crashes (docs/checkpoints.md): the
 * flights pipeline from the file source into a keyless APPEND table (plain
 * inserts: a duplicate would show) and a keyed UPDATE table, killed with
 * SIGKILL at 20+ random instants and made to abort() before and after the
 * MySQL commit and halfway through snapshot and offsets writes, restarted
 * each time; the tables must equal those of one
 * uninterrupted run, row for row.
 */
#include "sluice_test.h"
#include "crash_support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mariadb.h"

static sluice_test_mariadb db;

static const char *sql = SLUICE_CRASH_SQL;

static char dir[4096], sql_path[4200], ini_path[4200], err_path[4200];

static int setup(void **state) {
    (void)state;
    char *d = sluice_test_mkdtemp("mysql-crash");
    snprintf(dir, sizeof dir, "%s", d);
    free(d);
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    if (sluice_test_mariadb_start(&db, "mysql-crash") != 0) return -1;
    return sluice_test_write_file(sql_path, sql);
}

static int teardown(void **state) {
    (void)state;
    sluice_test_mariadb_stop(&db);
    return 0;
}

/* profile: the checkpoint `cp`, tables in database `database` */
static void write_ini(const char *database, const char *cp) {
    char my[2048], ini[16384];
    sluice_test_mariadb_ini(&db, database, my, sizeof my);
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\nmax_batch_rows = 50\ncheckpoint_dir = %s\n%s\n"
             "[source flights]\npath = %s\n[sink hourly]\nconnector = mysql\n[sink totals]\nconnector = mysql\n",
             cp, my, sluice_test_fixture("data/flights-20k.jsonl"));
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
}


static char *table(const char *database, const char *query) {
    char q[1024];
    snprintf(q, sizeof q, query, database);
    char *rows = sluice_test_mariadb_rows(&db, q);
    assert_non_null(rows);
    return rows;
}

static void assert_tables_equal(void *ctx, int cycle) {
    (void)ctx;
    (void)cycle;
    static const char *queries[] = {
        "SELECT window_start, origin, n, max_delay FROM `%s`.hourly ORDER BY window_start, origin, n, max_delay",
        "SELECT origin, n, total FROM `%s`.totals ORDER BY origin",
        "SELECT COUNT(*), COUNT(DISTINCT window_start, origin) FROM `%s`.hourly"};
    for (size_t i = 0; i < 3; i++) {
        char *a = table("ref", queries[i]), *b = table("crash", queries[i]);
        if (strcmp(a, b) != 0) {
            size_t k = 0;
            while (a[k] && a[k] == b[k]) k++;
            fail_msg("query %zu differs from the uninterrupted run at byte %zu: got '%.80s', expected '%.80s'", i, k,
                     b + k, a + k);
        }
        free(a);
        free(b);
    }
    char *count = table("ref", "SELECT COUNT(*) FROM `%s`.hourly");
    assert_string_equal(count, "17473\n");
    free(count);
}

/* a new cycle: no checkpoint, empty database */
static void new_cycle(void *ctx, int cycle) {
    (void)ctx;
    (void)cycle;
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/cp'", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sluice_test_mariadb_exec(&db, "DROP DATABASE crash; CREATE DATABASE crash"), 0);
}

static void test_sigkill_and_aborts_into_mysql(void **state) {
    (void)state;
    char cp_ref[4300], cp[4300];
    snprintf(cp_ref, sizeof cp_ref, "%s/cp-ref", dir);
    snprintf(cp, sizeof cp, "%s/cp", dir);
    assert_int_equal(sluice_test_mariadb_exec(&db, "CREATE DATABASE ref; CREATE DATABASE crash"), 0);
    write_ini("ref", cp_ref);
    int st = sluice_crash_wait(sluice_crash_start(sql_path, err_path, NULL));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    write_ini("crash", cp);
    const sluice_crash_test t = {.name = "file-to-mysql",
                                 .sql_path = sql_path,
                                 .err_path = err_path,
                                 .sinks = (const char *const[]){"totals", "hourly", NULL},
                                 .connector = "mysql",
                                 .seed = 4242,
                                 .min_recoveries = 11, /* about half of the 22 to 43 its runs reach */
                                 .kill_min_us = 2000,
                                 .kill_span_us = 150000,
                                 .compare = assert_tables_equal,
                                 .new_cycle = new_cycle};
    sluice_crash_drive(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_and_aborts_into_mysql),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

