/*
 * Exactly-once from Kafka into MySQL across crashes (docs/checkpoints.md
 * "What a test must show"): flights-20k produced keyed by origin into a
 * 4-partition topic of the test broker, read by the kafka source, into a
 * keyless APPEND table (plain inserts: a duplicate would show) and a keyed
 * UPDATE table; sluice is killed with SIGKILL at 20+ random instants and made
 * to abort() before and after the MySQL commit and halfway through snapshot
 * and offsets writes, restarted each time; the tables must
 * equal those of one uninterrupted run, row for row.
 */
#include "sluice_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash_support.h"
#include "kafka_support.h"
#include "mariadb.h"

static sluice_test_mariadb db;
static sluice_test_broker *broker;

static const char *sql = SLUICE_CRASH_SQL;

static char dir[4096], sql_path[4200], ini_path[4200], err_path[4200];

static int setup(void **state) {
    (void)state;
    char *d = sluice_test_mkdtemp("kafka-mysql-crash");
    snprintf(dir, sizeof dir, "%s", d);
    free(d);
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    if (sluice_test_mariadb_start(&db, "kafka-mysql-crash") != 0) return -1;
    const char *topics[] = {"flights:4", NULL};
    if (!(broker = sluice_test_broker_start(1, topics))) return -1;
    if (sluice_test_kafka_produce_file(sluice_test_broker_bootstrap(broker), "flights",
                                       sluice_test_fixture("data/flights-20k.jsonl"), "origin") != 20000)
        return -1;
    return sluice_test_write_file(sql_path, sql);
}

static int teardown(void **state) {
    (void)state;
    sluice_test_mariadb_stop(&db);
    sluice_test_broker_stop(broker);
    return 0;
}

/* profile: the checkpoint `cp`, tables in database `database`, consumer
 * group crash-`group` with the default group settings */
static void write_ini(const char *database, const char *cp, int group) {
    char my[2048], ini[16384];
    sluice_test_mariadb_ini(&db, database, my, sizeof my);
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\nmax_batch_rows = 500\ncheckpoint_dir = %s\n%s\n"
             "[kafka]\nbootstrap.servers = %s\n"
             "[source flights]\nconnector = kafka\ntopic = flights\nformat = json\nstartingOffsets = earliest\n"
             "group.id = crash-%d\n"
             "[sink hourly]\nconnector = mysql\n[sink totals]\nconnector = mysql\n",
             cp, my, sluice_test_broker_bootstrap(broker), group);
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
            fail_msg("query %zu differs from the uninterrupted run at byte %zu: got '%.80s', expected '%.80s' "
                     "(the runs' log: %s)",
                     i, k, b + k, a + k, err_path);
        }
        free(a);
        free(b);
    }
    /* under available_now a Kafka source leaves its last windows open */
    char *count = table("ref", "SELECT COUNT(*) FROM `%s`.hourly");
    if (atol(count) <= 17000) {
        char *log = sluice_test_read_file(err_path, NULL);
        fail_msg("the uninterrupted run wrote %ld hourly rows:\n%s", atol(count), log ? log : "");
    }
    free(count);
}

/* One consumer group per cycle, the same for every restart in it: with a
 * checkpoint_dir the source assigns itself its partitions, so a killed run
 * leaves no group member behind that a restart would wait for. */
static void before_run(void *ctx, int cycle) {
    write_ini("crash", ctx, cycle);
}

/* a new cycle: no checkpoint, empty database */
static void new_cycle(void *ctx, int cycle) {
    (void)cycle;
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", (const char *)ctx);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sluice_test_mariadb_exec(&db, "DROP DATABASE crash; CREATE DATABASE crash"), 0);
}

static void test_kafka_to_mysql_survives_sigkill_and_aborts(void **state) {
    (void)state;
    static char cp_ref[4300], cp[4300];
    snprintf(cp_ref, sizeof cp_ref, "%s/cp-ref", dir);
    snprintf(cp, sizeof cp, "%s/cp", dir);
    assert_int_equal(sluice_test_mariadb_exec(&db, "CREATE DATABASE ref; CREATE DATABASE crash"), 0);
    write_ini("ref", cp_ref, 0);
    int64_t t0 = sluice_test_now_ms();
    int st = sluice_crash_wait(sluice_crash_start(sql_path, err_path, NULL));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    const sluice_crash_test t = {.name = "kafka-to-mysql",
                                 .sql_path = sql_path,
                                 .err_path = err_path,
                                 .sinks = (const char *const[]){"totals", "hourly", NULL},
                                 .connector = "mysql",
                                 .seed = 4242,
                                 .min_recoveries = 8, /* about half of the 15 to 47 its runs reach */
                                 .kill_min_us = 1000,
                                 .started_marker = "(kafka): assigned",
                                 .kill_span_us = (long)(sluice_test_now_ms() - t0) * 1000,
                                 .ctx = cp,
                                 .before_run = before_run,
                                 .compare = assert_tables_equal,
                                 .new_cycle = new_cycle};
    sluice_crash_drive(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_to_mysql_survives_sigkill_and_aborts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

