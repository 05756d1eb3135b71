/*
 * Exactly-once of a view-on-view pipeline from Kafka into MySQL across
 * crashes (docs/checkpoints.md "What a test must show"): deterministic bids
 * (kafka_auctions.h) in a 4-partition topic, view `big` over the source (a
 * filter and a projection), view `busy` over `big` (a 10 s window aggregate
 * per bidder), and two MySQL sinks over `busy`: `windows`, its rows as they
 * are (APPEND, keyless: a duplicate or a loss shows) and `bidders`, an
 * aggregate over it upserted by its PRIMARY KEY (bidder).  sluice is killed
 * with SIGKILL at 20+ random instants and made to abort() before and after
 * a MySQL commit and halfway through snapshot and offsets writes, restarted
 * each time until the input is consumed; the tables must equal those of
 * one uninterrupted run, row for row.
 */
#include "sluice_test.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "crash_support.h"
#include "kafka_auctions.h"
#include "kafka_support.h"
#include "mariadb.h"

static sluice_test_mariadb db;
static sluice_test_broker *broker;

static const char *sql =
    SLUICE_AUCTIONS_BID_SQL
    "CREATE VIEW big AS SELECT bidder, auction, price * 2 AS doubled, dateTime FROM bid WHERE price > 100;\n"
    "CREATE VIEW busy AS SELECT bidder, window_start, window_end, COUNT(*) AS n, SUM(doubled) AS total,\n"
    "    MAX(doubled) AS top, MIN(doubled) AS low\n"
    "  FROM TABLE(TUMBLE(TABLE big, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))\n"
    "  GROUP BY bidder, window_start, window_end;\n"
    "CREATE SINK windows AS SELECT bidder, window_start, n, total, top, low FROM busy EMIT APPEND;\n"
    "CREATE SINK bidders AS SELECT bidder, COUNT(*) AS windows, SUM(n) AS bids, MAX(top) AS best,\n"
    "    SUM(total) AS total FROM busy WHERE n > 1 GROUP BY bidder EMIT UPDATE;\n";

static char dir[4096], sql_path[4200], ini_path[4200], err_path[4200];
static long nbids;

static int setup(void **state) {
    (void)state;
    char *d = sluice_test_mkdtemp("kafka-mysql-view-crash");
    snprintf(dir, sizeof dir, "%s", d);
    free(d);
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    if (sluice_test_mariadb_start(&db, "kafka-mysql-view-crash") != 0) return -1;
    const char *topics[] = {"auction:4", "bid:4", NULL};
    if (!(broker = sluice_test_broker_start(1, topics))) return -1;
    if ((nbids = sluice_auctions_produce(sluice_test_broker_bootstrap(broker))) < 10000) return -1;
    return sluice_test_write_file(sql_path, sql);
}

static int teardown(void **state) {
    (void)state;
    sluice_test_mariadb_stop(&db);
    sluice_test_broker_stop(broker);
    return 0;
}

/* profile: the checkpoint `cp`, tables in database `database`, consumer
 * groups of cycle `group` with the default group settings */
static void write_ini(const char *database, const char *cp, int group) {
    char my[2048], ini[16384];
    sluice_test_mariadb_ini(&db, database, my, sizeof my);
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\nmax_batch_rows = 500\ncheckpoint_dir = %s\n%s\n"
             "[kafka]\nbootstrap.servers = %s\n"
                          "[source bid]\nconnector = kafka\ntopic = bid\nformat = json\nstartingOffsets = earliest\n"
             "group.id = view-crash-%d\n"
             "[sink windows]\nconnector = mysql\n[sink bidders]\nconnector = mysql\n",
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
        "SELECT bidder, window_start, n, total, top, low FROM `%s`.windows ORDER BY bidder, window_start",
        "SELECT COUNT(*), COUNT(DISTINCT bidder, window_start) FROM `%s`.windows",
        "SELECT bidder, windows, bids, best, total FROM `%s`.bidders ORDER BY bidder"};
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
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
}

/* The uninterrupted run against the workload: 30 bidders over 23 minutes
 * of 10 s windows, 9 bids in 10 over the price filter. */
static void check_reference(void) {
    char *n = table("ref", "SELECT COUNT(*), COUNT(DISTINCT window_start), SUM(n) FROM `%s`.windows");
    long rows = 0, windows = 0, bids = 0;
    if (sscanf(n, "%ld|%ld|%ld", &rows, &windows, &bids) != 3 || windows < 130 || rows < 3000 ||
        bids < nbids * 8 / 10 || bids > nbids * 95 / 100) {
        char *log = sluice_test_read_file(err_path, NULL);
        fail_msg("the uninterrupted run's windows table: '%s' (bids: %ld)\n%s", n, nbids, log ? log : "");
    }
    free(n);
    n = table("ref", "SELECT COUNT(*) FROM `%s`.bidders");
    assert_string_equal(n, "30\n");
    free(n);
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

static void test_views_to_mysql_survive_sigkill_and_aborts(void **state) {
    (void)state;
    static char cp_ref[4300], cp[4300];
    snprintf(cp_ref, sizeof cp_ref, "%s/cp-ref", dir);
    snprintf(cp, sizeof cp, "%s/cp", dir);
    assert_int_equal(sluice_test_mariadb_exec(&db, "CREATE DATABASE ref; CREATE DATABASE crash"), 0);
    write_ini("ref", cp_ref, 0);
    int64_t t0 = sluice_test_now_ms();
    int st = sluice_crash_wait(sluice_crash_start(sql_path, err_path, NULL));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *log = sluice_test_read_file(err_path, NULL);
        fail_msg("the uninterrupted run failed:\n%s", log ? log : "");
    }
    long span_us = (long)(sluice_test_now_ms() - t0) * 1000;
    check_reference();
    const sluice_crash_test t = {.name = "kafka-views-to-mysql",
                                 .sql_path = sql_path,
                                 .err_path = err_path,
                                 .sinks = (const char *const[]){"windows", "bidders", NULL},
                                 .connector = "mysql",
                                 .seed = 7122026,
                                 .min_recoveries = 5, /* about half of the 10 to 21 its runs reach */
                                 .kill_min_us = 1000,
                                 .started_marker = "(kafka): assigned",
                                 .kill_span_us = span_us,
                                 .ctx = cp,
                                 .before_run = before_run,
                                 .compare = assert_tables_equal,
                                 .new_cycle = new_cycle};
    sluice_crash_drive(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_views_to_mysql_survive_sigkill_and_aborts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
