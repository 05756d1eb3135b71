/*
 * Joins and rankings through the binary, over two CSV sources (docs/sql.md
 * "Joins", "Top-N and deduplication"): regular inner and left joins, an
 * interval join, an aggregate over a join's result (and over that
 * aggregate), ROW_NUMBER deduplication, RANK top-N, and the event-time
 * temporal join of Flink's currency-rates example.  Every expected output
 * is worked out by hand in the comments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_test.h"

static char *dir;

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("joins");
    return dir ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return -1;
    free(dir);
    return 0;
}

static void put(const char *name, const char *text) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(sluice_test_write_file(path, text), 0);
}

/* Run p.sql with a profile binding sources a and b (a.csv, b.csv) and a
 * CSV file sink out/NAME.csv for each of `sinks` (space separated). */
/* extra [pipeline] lines for the next run() */
static const char *pipeline_extra = "";

/* Write the profile and run; the exit status (stderr in DIR/stderr). */
static int run_status(const char *sinks);

static void run(const char *sinks) {
    int rc = run_status(sinks);
    if (rc != 0) {
        char err[4300];
        snprintf(err, sizeof err, "%s/stderr", dir);
        char *e = sluice_test_read_file(err, NULL);
        fail_msg("sluice exited %d: %s", rc, e ? e : "");
    }
}

static int run_status(const char *sinks) {
    char ini[8192];
    int n = snprintf(ini, sizeof ini,
                     "[pipeline]\ntrigger = available_now\n%s\n"
                     "[source a]\nconnector = file\npath = %s/a.csv\nformat = csv\n"
                     "[source b]\nconnector = file\npath = %s/b.csv\nformat = csv\n",
                     pipeline_extra, dir, dir);
    char list[512];
    snprintf(list, sizeof list, "%s", sinks);
    for (char *s = strtok(list, " "); s; s = strtok(NULL, " "))
        n += snprintf(ini + n, sizeof ini - (size_t)n, "[sink %s]\nconnector = file\npath = %s/out/%s.csv\nformat = csv\n",
                      s, dir, s);
    put("p.ini", ini);
    char sql[4300], cfg[4300], err[4300];
    snprintf(sql, sizeof sql, "%s/p.sql", dir);
    snprintf(cfg, sizeof cfg, "%s/p.ini", dir);
    snprintf(err, sizeof err, "%s/stderr", dir);
    const char *argv[] = {"run", sql, "--config", cfg, "--quiet", NULL};
    return sluice_test_run_cli(argv, NULL, err);
}

static void expect(const char *sink, const char *want) {
    char path[4300];
    snprintf(path, sizeof path, "%s/out/%s.csv", dir, sink);
    char *got = sluice_test_read_file(path, NULL);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* a: x@1 v1, y@2 v2, z@3 v3, x@20 v4;  b: x@2 w10, y@4 w20, y@25 w30, q@26 w40 */
static const char a_csv[] = "ts,k,v\n"
                            "2024-01-01T00:00:01Z,x,1\n"
                            "2024-01-01T00:00:02Z,y,2\n"
                            "2024-01-01T00:00:03Z,z,3\n"
                            "2024-01-01T00:00:20Z,x,4\n";
static const char b_csv[] = "ts,k,w\n"
                            "2024-01-01T00:00:02Z,x,10\n"
                            "2024-01-01T00:00:04Z,y,20\n"
                            "2024-01-01T00:00:25Z,y,30\n"
                            "2024-01-01T00:00:26Z,q,40\n";
static const char sources[] = "CREATE SOURCE a (ts TIMESTAMP, k VARCHAR, v BIGINT, WATERMARK FOR ts AS ts);\n"
                              "CREATE SOURCE b (ts TIMESTAMP, k VARCHAR, w BIGINT, WATERMARK FOR ts AS ts);\n";

static void write_sources(const char *queries) {
    put("a.csv", a_csv);
    put("b.csv", b_csv);
    char sql[8192];
    snprintf(sql, sizeof sql, "%s%s", sources, queries);
    put("p.sql", sql);
}

static void test_regular_and_interval_joins(void **state) {
    (void)state;
    write_sources("CREATE SINK inner_join AS SELECT a.k, a.v, b.w FROM a, b WHERE a.k = b.k;\n"
                  "CREATE SINK left_join AS SELECT a.k, a.v, b.w FROM a LEFT JOIN b ON a.k = b.k;\n"
                  "CREATE SINK interval_join AS SELECT a.k, a.v, b.w FROM a JOIN b\n"
                  "  ON a.k = b.k AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '5' SECOND;\n");
    run("inner_join left_join interval_join");
    /* x1-x10, x4-x10, y2-y20, y2-y30 (z and q have no partner) */
    expect("inner_join", "k,v,w\nx,1,10\nx,4,10\ny,2,20\ny,2,30\n");
    /* every a row first padded (no b row yet in the same batch order), each
     * padded row deleted when its first partner comes; z stays padded */
    expect("left_join", "op,k,v,w\n+I,x,1,\n+I,y,2,\n+I,z,3,\n+I,x,4,\n-D,x,1,\n+I,x,1,10\n-D,x,4,\n+I,x,4,10\n"
                        "-D,y,2,\n+I,y,2,20\n+I,y,2,30\n");
    /* within [a.ts, a.ts + 5s]: x@1-x@2 and y@2-y@4 only */
    expect("interval_join", "k,v,w\nx,1,10\ny,2,20\n");
}

static void test_aggregates_over_a_join_and_over_an_aggregate(void **state) {
    (void)state;
    write_sources("CREATE VIEW joined AS SELECT a.k, v + w AS s FROM a JOIN b ON a.k = b.k;\n"
                  "CREATE SINK per_key AS SELECT k, SUM(s) AS total, COUNT(*) AS n FROM joined GROUP BY k;\n"
                  "CREATE SINK grand AS SELECT SUM(total) AS grand FROM\n"
                  "  (SELECT k, SUM(s) AS total FROM joined GROUP BY k);\n");
    run("per_key grand");
    /* x: (1+10) + (4+10) = 25; y: (2+20) + (2+30) = 54; 25 + 54 = 79 */
    expect("per_key", "op,k,total,n\n+I,x,25,2\n+I,y,54,2\n");
    expect("grand", "op,grand\n+I,79\n");
}

static void test_deduplication_and_top_n(void **state) {
    (void)state;
    write_sources("CREATE SINK latest AS SELECT k, v FROM\n"
                  "  (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM a) WHERE rn = 1;\n"
                  "CREATE SINK top2 AS SELECT k, w, rk FROM\n"
                  "  (SELECT k, w, RANK() OVER (ORDER BY w DESC) AS rk FROM b) WHERE rk <= 2;\n");
    run("latest top2");
    /* the last row per key: x4 replaces x1 */
    expect("latest", "op,k,v\n+I,x,1\n+I,y,2\n+I,z,3\n-U,x,1\n+U,x,4\n");
    /* ranks change per rank (Flink): 10 | 20,10 | 30,20 | 40,30 */
    expect("top2", "op,k,w,rk\n+I,x,10,1\n-U,x,10,1\n+U,y,20,1\n+I,x,10,2\n-U,y,20,1\n+U,y,30,1\n-U,x,10,2\n"
                   "+U,y,20,2\n-U,y,30,1\n+U,q,40,1\n-U,y,20,2\n+U,y,30,2\n");
}

/* Flink's currency-rates example: each order converted at the rate valid
 * at its time. */
static void test_temporal_join(void **state) {
    (void)state;
    put("a.csv", "ts,id,cur,amount\n"
                 "2024-01-01T00:00:05Z,1,EUR,10\n"
                 "2024-01-01T00:00:15Z,2,EUR,20\n"
                 "2024-01-01T00:00:25Z,3,USD,30\n"
                 "2024-01-01T00:00:40Z,4,EUR,40\n");
    put("b.csv", "ts,cur,rate\n"
                 "2024-01-01T00:00:00Z,EUR,1.5\n"
                 "2024-01-01T00:00:10Z,EUR,2\n"
                 "2024-01-01T00:00:30Z,USD,1\n"
                 "2024-01-01T00:00:35Z,EUR,3\n");
    put("p.sql", "CREATE SOURCE a (ts TIMESTAMP, id BIGINT, cur VARCHAR, amount DOUBLE,\n"
                 "                 WATERMARK FOR ts AS ts - INTERVAL '5' SECOND);\n"
                 "CREATE SOURCE b (ts TIMESTAMP, cur VARCHAR, rate DOUBLE, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND);\n"
                 "CREATE SINK converted AS SELECT o.id, o.amount * r.rate AS eur, r.ts AS rate_time\n"
                 "  FROM a AS o JOIN b FOR SYSTEM_TIME AS OF o.ts AS r ON o.cur = r.cur;\n"
                 "CREATE SINK padded AS SELECT o.id, r.rate FROM a o\n"
                 "  LEFT JOIN b FOR SYSTEM_TIME AS OF o.ts AS r ON o.cur = r.cur;\n");
    run("converted padded");
    /* 1@5 EUR: rate 1.5 (from 0); 2@15: 2 (from 10); 3@25 USD: none yet
     * (USD from 30); 4@40: 3 (from 35) */
    expect("converted", "id,eur,rate_time\n1,15,2024-01-01 00:00:00\n2,40,2024-01-01 00:00:10\n"
                        "4,120,2024-01-01 00:00:35\n");
    expect("padded", "id,rate\n1,1.5\n2,2\n3,\n4,3\n");
}

/* OVER aggregates: per key, the row and the one before it, in event time. */
static void test_over_aggregates(void **state) {
    (void)state;
    put("a.csv", a_csv);
    put("b.csv", b_csv);
    char sql[8192];
    snprintf(sql, sizeof sql, "%s%s", sources,
             "CREATE SINK moving AS SELECT k, v,\n"
             "  AVG(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS avg2,\n"
             "  COUNT(*) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS n FROM a;\n"
             "CREATE SINK running AS SELECT k, w,\n"
             "  SUM(w) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '5' SECOND PRECEDING AND CURRENT ROW) AS s FROM b;\n");
    put("p.sql", sql);
    run("moving running");
    /* x@1: 1; y@2: 2; z@3: 3; x@20: (1 + 4) / 2 */
    expect("moving", "k,v,avg2,n\nx,1,1,1\ny,2,2,1\nz,3,3,1\nx,4,2.5,2\n");
    /* b within 5 s before each row: 10 | 10+20 | 30 | 30+40 */
    expect("running", "k,w,s\nx,10,10\ny,20,30\ny,30,30\nq,40,70\n");
}

/* [pipeline] state_ttl: a regular join's rows expire by processing time
 * (the operator's tests check the expiry); a join whose rows all meet
 * within one micro-batch gives the same result with it, and a bad value is
 * a configuration error naming the line. */
static void test_state_ttl_option(void **state) {
    (void)state;
    write_sources("CREATE SINK inner_join AS SELECT a.k, a.v, b.w FROM a, b WHERE a.k = b.k;\n");
    pipeline_extra = "state_ttl = 1h";
    run("inner_join");
    expect("inner_join", "k,v,w\nx,1,10\nx,4,10\ny,2,20\ny,2,30\n");
    pipeline_extra = "state_ttl = 0s";
    assert_int_equal(run_status("inner_join"), 2);
    pipeline_extra = "";
    char path[4300];
    snprintf(path, sizeof path, "%s/stderr", dir);
    char *e = sluice_test_read_file(path, NULL);
    assert_non_null(e);
    assert_non_null(strstr(e, "p.ini:3:1: state_ttl = '0s': expected a positive duration"));
    free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_regular_and_interval_joins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregates_over_a_join_and_over_an_aggregate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deduplication_and_top_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_temporal_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_over_aggregates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_ttl_option, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
