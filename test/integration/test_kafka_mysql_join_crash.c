/*
 * Exactly-once of joins from Kafka into MySQL across crashes
 * (docs/checkpoints.md "What a test must show"): deterministic auctions and
 * bids (kafka_auctions.h) in two 4-partition topics, read by two kafka
 * sources into three MySQL sinks:
 *   - `matched`: auction LEFT JOIN bid, keyless and updating: an auction's
 *     NULL-padded row is inserted, then deleted (DELETE ... LIMIT 1) when
 *     its first bid arrives (a lost or replayed delete shows);
 *   - `categories`: an aggregate over auction JOIN bid, upserted by its
 *     PRIMARY KEY (category);
 *   - `active`: a window join of two window aggregates (sellers who bid in
 *     the 10 s window in which they opened auctions), APPEND, keyless.
 * sluice is killed with SIGKILL at 20+ random instants and made to abort()
 * before and after a MySQL commit and halfway through snapshot and offsets
 * writes, restarted each time until the input is consumed; the tables must
 * equal those of one uninterrupted run, row for row.  The runs print their
 * progress lines, from which the test counts the runs that restored join
 * state from a snapshot (see join_state_restored()).
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
    SLUICE_AUCTIONS_SQL
    "CREATE SINK matched AS SELECT A.id, A.category, B.bidder, B.price, B.dateTime AS bid_time\n"
    "FROM auction A LEFT JOIN bid B ON A.id = B.auction EMIT UPDATE;\n"
    "CREATE SINK categories AS SELECT A.category, COUNT(*) AS bids, SUM(B.price) AS volume, MAX(B.price) AS top\n"
    "FROM auction A, bid B WHERE A.id = B.auction GROUP BY A.category EMIT UPDATE;\n"
    "CREATE SINK active AS SELECT S.seller, S.starttime, S.auctions, B.bids, B.volume\n"
    "FROM (SELECT seller, window_start AS starttime, window_end AS endtime, COUNT(*) AS auctions\n"
    "      FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))\n"
    "      GROUP BY seller, window_start, window_end) S\n"
    "JOIN (SELECT bidder, window_start AS starttime, window_end AS endtime, COUNT(*) AS bids, SUM(price) AS volume\n"
    "      FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))\n"
    "      GROUP BY bidder, window_start, window_end) B\n"
    "ON S.seller = B.bidder AND S.starttime = B.starttime AND S.endtime = B.endtime EMIT APPEND;\n";

static char dir[4096], sql_path[4200], ini_path[4200], err_path[4200];
static long nbids;

static int setup(void **state) {
    (void)state;
    char *d = sluice_test_mkdtemp("kafka-mysql-join-crash");
    snprintf(dir, sizeof dir, "%s", d);
    free(d);
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    if (sluice_test_mariadb_start(&db, "kafka-mysql-join-crash") != 0) return -1;
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
             "[source auction]\nconnector = kafka\ntopic = auction\nformat = json\nstartingOffsets = earliest\n"
             "group.id = join-crash-a-%d\n"
             "[source bid]\nconnector = kafka\ntopic = bid\nformat = json\nstartingOffsets = earliest\n"
             "group.id = join-crash-b-%d\n"
             "[sink matched]\nconnector = mysql\n[sink categories]\nconnector = mysql\n"
             "[sink active]\nconnector = mysql\n",
             cp, my, sluice_test_broker_bootstrap(broker), group, group);
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
        "SELECT id, category, bidder, price, bid_time FROM `%s`.matched ORDER BY id, bidder, price, bid_time",
        "SELECT category, bids, volume, top FROM `%s`.categories ORDER BY category",
        "SELECT seller, starttime, auctions, bids, volume FROM `%s`.active ORDER BY seller, starttime",
        "SELECT COUNT(*), COUNT(DISTINCT seller, starttime) FROM `%s`.active",
        "SELECT COUNT(*), COUNT(bidder) FROM `%s`.matched"};
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

/* The checks of the uninterrupted run against the workload itself: every
 * bid on an existing auction is matched (the bids on auctions created later
 * too), every category-0 auction has a bid (so no padded row of it is
 * left: its deletes happened), each category has its row, and most
 * windows of the last minutes are closed. */
static void check_reference(void) {
    char *n = table("ref", "SELECT COUNT(bidder), SUM(bidder IS NULL), SUM(bidder IS NULL AND category = 0) "
                           "FROM `%s`.matched");
    long matched = 0, padded = -1, padded0 = -1;
    if (sscanf(n, "%ld|%ld|%ld", &matched, &padded, &padded0) != 3 || matched < nbids * 9 / 10 ||
        matched > nbids || padded < 1 || padded0 != 0) {
        char *log = sluice_test_read_file(err_path, NULL);
        fail_msg("the uninterrupted run's matched table: '%s' (bids: %ld)\n%s", n, nbids, log ? log : "");
    }
    free(n);
    n = table("ref", "SELECT COUNT(*), SUM(bids) FROM `%s`.categories");
    char expect[64];
    snprintf(expect, sizeof expect, "10|%ld\n", matched);
    assert_string_equal(n, expect);
    free(n);
    n = table("ref", "SELECT COUNT(*) FROM `%s`.active");
    if (atol(n) < 500) fail_msg("the uninterrupted run wrote %ld rows to active", atol(n));
    free(n);
}

/* Whether a run's log shows join rows restored from a snapshot: it
 * restored one ("recovered: snapshot of epoch S, R epoch(s) replayed",
 * S >= 0), and its first progress line holds more state than the replayed
 * epochs and that first micro-batch can have made, plus all state that is
 * not a join's.  An epoch reads at most 1000 rows (max_batch_rows = 500 per
 * source); a row read adds at most 3 state rows (one per regular join side
 * it enters, LEFT and inner, and one window group); the rest is at most 10
 * category groups and 2 open 10 s windows (watermark delay 4 s) of 30
 * sellers and 30 bidders, 130 in all; everything beyond is join rows. */
static int join_state_restored(void *ctx, const char *log) {
    (void)ctx;
    const char *r = strstr(log, "recovered: snapshot of epoch ");
    long long s = -1, replayed = -1;
    if (!r || sscanf(r, "recovered: snapshot of epoch %lld, %lld epoch(s) replayed", &s, &replayed) != 2 || s < 0 ||
        replayed < 0)
        return 0;
    const char *p = strstr(r, "{\"batch_id\":");
    const char *in = p ? strstr(p, "\"input_rows\":") : NULL, *st = p ? strstr(p, "\"state_rows\":") : NULL;
    if (!in || !st) return 0;
    long long input = atoll(in + strlen("\"input_rows\":")), state = atoll(st + strlen("\"state_rows\":"));
    return state > 3 * (input + 1000 * replayed) + 130;
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

static void test_joins_to_mysql_survive_sigkill_and_aborts(void **state) {
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
    const sluice_crash_test t = {.name = "kafka-joins-to-mysql",
                                 .sql_path = sql_path,
                                 .err_path = err_path,
                                 .sinks = (const char *const[]){"matched", "categories", "active", NULL},
                                 .connector = "mysql",
                                 .seed = 20261207,
                                 .min_recoveries = 8, /* about half of the 13 to 55 its runs reach */
                                 .kill_min_us = 1000,
                                 .started_marker = "(kafka): assigned",
                                 .kill_span_us = span_us,
                                 .progress = 1,
                                 .state_restored = join_state_restored,
                                 /* most kills land before the first micro-batch after a
                                  * recovery ends: 4 to 13 such runs were seen */
                                 .min_state_restores = 2,
                                 .state_name = "join rows",
                                 .ctx = cp,
                                 .before_run = before_run,
                                 .compare = assert_tables_equal,
                                 .new_cycle = new_cycle};
    sluice_crash_drive(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joins_to_mysql_survive_sigkill_and_aborts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
