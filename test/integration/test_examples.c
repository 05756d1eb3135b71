/*
 * End-to-end: run each example pipeline of fixtures/pipelines/ with the test
 * profile on the real fixture data, write its sink to a CSV file, and compare
 * the final result table with the expected output computed independently by
 * fixtures/oracle/make_expected.sh (SQLite).
 *
 * An UPDATE or COMPLETE sink's file has a first column `op` (the rows'
 * change kinds); it is applied as an upsert table applies a changelog
 * (sluice_result_table_apply_changelog) and dropped before comparing.
 *
 * Comparison rules (test/support/result_table.h): same header; a keyed sink
 * keeps the last row written per primary key (an APPEND sink must write
 * every key once) and is matched by key, a stateless sink is compared in
 * output order; numbers are equal within a relative 1e-9, other fields byte
 * for byte.
 */
#include "sluice_test.h"
#include "result_table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load_csv(const char *path, sluice_result_table *t) {
    char err[4608];
    int rc = sluice_result_table_load_csv(path, t, err, sizeof err);
    if (rc != 0) print_error("%s\n", err);
    return rc;
}

/* ---- running the examples -------------------------------------------------- */

typedef struct example_sink {
    const char *sink;      /* the CREATE SINK name */
    const char *keys[4];   /* primary key columns, NULL-terminated; none = stateless
                              (or, when not append, a changelog without a key) */
    int append;            /* EMIT APPEND: every key written once */
    /* an estimate (APPROX_COUNT_DISTINCT) and the exact column the oracle
     * wrote for it too: checked within the estimate's error, then compared
     * as the exact value */
    const char *approx, *exact;
} example_sink;

typedef struct example {
    const char *name;          /* fixtures/pipelines/NAME.sql */
    example_sink sinks[4];     /* compared with expected/NAME/SINK.csv; .sink NULL ends */
} example;

#define WINDOW_RANK {"window_start", "window_end", "rank"}

static const example examples[] = {
    {.name = "flights", .sinks = {{.sink = "delays_by_origin", .keys = {"window_start", "origin"}, .append = 1}}},
    {.name = "stocks", .sinks = {{.sink = "moving_avg", .keys = {"window_start", "symbol"}, .append = 1}}},
    {.name = "earthquakes", .sinks = {{.sink = "strong_quakes", .keys = {NULL}, .append = 1}}},
    {.name = "flights_top", .sinks = {{.sink = "top_origins", .keys = WINDOW_RANK, .append = 1}}},
    {.name = "flight_routes",
     .sinks = {{.sink = "routes_by_origin", .keys = {"origin"}, .append = 0},
               {.sink = "daily_routes",
                .keys = {"window_start"},
                .append = 1,
                .approx = "origins_approx",
                .exact = "origins"},
               {.sink = "route_totals", .keys = {NULL}, .append = 0}}},
    {.name = "flight_alerts", .sinks = {{.sink = "delay_alerts", .keys = {NULL}, .append = 1}}},
    {.name = "quake_regions",
     .sinks = {{.sink = "quakes_by_region", .keys = {"window_start", "window_end", "region"}, .append = 1}}},
    {.name = "saga_views",
     .sinks = {{.sink = "kafka_streams", .keys = {"window_start", "window_end", "top_5"}, .append = 1}}},
    {.name = "shop_orders",
     .sinks = {{.sink = "orders_by_shop", .keys = {"window_start", "shopid", "region"}, .append = 0}}},
    {.name = "orders_analytics",
     .sinks = {{.sink = "orders_by_shop", .keys = {"window_start", "shopid", "region"}, .append = 0},
               {.sink = "top_products", .keys = WINDOW_RANK, .append = 0}}},
    {.name = "order_alerts",
     .sinks = {{.sink = "alerts_highvolume", .keys = {NULL}, .append = 1},
               {.sink = "alerts_critical", .keys = {NULL}, .append = 1}}},
    {.name = "leaderboards",
     .sinks = {{.sink = "most_reviewed", .keys = WINDOW_RANK, .append = 1},
               {.sink = "best_rated", .keys = WINDOW_RANK, .append = 1},
               {.sink = "top_pages", .keys = WINDOW_RANK, .append = 0}}},
    {.name = "ticks",
     .sinks = {{.sink = "moving_avg", .keys = {"window_start", "symbol"}, .append = 1},
               {.sink = "moving_avg_live", .keys = {"window_start", "symbol"}, .append = 0},
               {.sink = "price_range", .keys = {"window_start", "symbol"}, .append = 0},
               {.sink = "sp500_moving_avg", .keys = {"window_start"}, .append = 1}}},
    {.name = "registrations",
     .sinks = {{.sink = "registrations_per_store", .keys = {"window_start", "store_id"}, .append = 0}}},
    {.name = "sentiment", .sinks = {{.sink = "sentiment_output", .keys = {NULL}, .append = 1}}},
};

static void print_file(const char *label, const char *path) {
    char *text = sluice_test_read_file(path, NULL);
    if (text && *text) print_error("%s:\n%s\n", label, text);
    free(text);
}

static void compare_tables(const example_sink *ex, const sluice_result_table *exp,
                           const sluice_result_table *act) {
    const sluice_result_rules rules = {.keys = ex->keys, .unique = ex->append};
    sluice_result_assert_equal(ex->sink, exp, act, &rules);
}

/* Column `approx` of every row is within the error of APPROX_COUNT_DISTINCT
 * (HyperLogLog, standard error 0.81 %: 4 of them, and 1 for the rounding of
 * small counts) of column `exact`; then it takes the exact value, which
 * the oracle wrote for both. */
static void check_estimate(const example_sink *s, sluice_result_table *act) {
    long a = sluice_result_table_column(act, s->approx), x = sluice_result_table_column(act, s->exact);
    assert_true(a >= 0 && x >= 0);
    for (size_t r = 0; r < act->nrows; r++) {
        char **f = act->rows[r].fields;
        double est = strtod(f[a], NULL), exact = strtod(f[x], NULL);
        if (fabs(est - exact) > 0.0325 * exact + 1.0)
            fail_msg("%s row %zu: %s %s is not within the error of %s %s", s->sink, r + 1, s->approx, f[a], s->exact,
                     f[x]);
        char *copy = strdup(f[x]);
        assert_non_null(copy);
        free(f[a]);
        f[a] = copy;
    }
}

/* Runs fixtures/pipelines/NAME.sql with the test profile, every sink of `ex`
 * bound to a CSV file (more arguments in `extra`, NULL-terminated), and
 * compares each with expected/NAME/SINK.csv. */
static void run_example_with(const example *ex, const char *const *extra) {
    char *dir = sluice_test_mkdtemp(ex->name);
    assert_non_null(dir);

    enum { MAXARGS = 64, MAXSETS = 16 };
    char sets[MAXSETS][4608];
    size_t ns = 0, na = 0;
    const char *argv[MAXARGS];
    char sql[512], dead[4096], so[4096], se[4096];
    snprintf(sql, sizeof sql, "fixtures/pipelines/%s.sql", ex->name);
    snprintf(dead, sizeof dead, "%s/%s.dead.jsonl", dir, ex->name);
    snprintf(so, sizeof so, "%s/stdout.txt", dir);
    snprintf(se, sizeof se, "%s/stderr.txt", dir);
    argv[na++] = "run";
    argv[na++] = sql;
    argv[na++] = "--profile";
    argv[na++] = "test";
    argv[na++] = "--quiet";
    for (const example_sink *s = ex->sinks; s < ex->sinks + 4 && s->sink; s++) {
        snprintf(sets[ns++], sizeof sets[0], "sink %s.connector=file", s->sink);
        snprintf(sets[ns++], sizeof sets[0], "sink %s.path=%s/%s.csv", s->sink, dir, s->sink);
        snprintf(sets[ns++], sizeof sets[0], "sink %s.format=csv", s->sink);
    }
    snprintf(sets[ns++], sizeof sets[0], "pipeline.dead_letter=%s", dead);
    for (size_t i = 0; i < ns; i++) {
        argv[na++] = "--set";
        argv[na++] = sets[i];
    }
    for (size_t i = 0; extra && extra[i] && na + 1 < MAXARGS; i++) argv[na++] = extra[i];
    argv[na] = NULL;

    int rc = sluice_test_run_cli(argv, so, se);
    if (rc != 0) {
        print_file("stdout", so);
        print_file("stderr", se);
        fail_msg("sluice run %s: exit status %d, expected 0", sql, rc);
    }

    size_t dead_len = 0;
    char *dead_text = sluice_test_read_file(dead, &dead_len);
    if (dead_text && dead_len > 0) {
        print_error("dead-letter output %s:\n%.2000s\n", dead, dead_text);
        fail_msg("%s: %zu bytes of dead letters on a clean data set", ex->name, dead_len);
    }
    free(dead_text);

    for (const example_sink *s = ex->sinks; s < ex->sinks + 4 && s->sink; s++) {
        char expected_rel[512], out[4608];
        snprintf(expected_rel, sizeof expected_rel, "expected/%s/%s.csv", ex->name, s->sink);
        snprintf(out, sizeof out, "%s/%s.csv", dir, s->sink);
        sluice_result_table exp, act;
        assert_int_equal(load_csv(sluice_test_fixture(expected_rel), &exp), 0);
        assert_int_equal(load_csv(out, &act), 0);
        if (!s->append) {
            /* an UPDATE or COMPLETE sink's file is a changelog: its `op`
             * column says which row is a key's final one; without a key,
             * update-befores and deletes take back the rows they name */
            char err[512];
            if ((s->keys[0] ? sluice_result_table_apply_changelog(&act, s->keys, err, sizeof err)
                            : sluice_result_table_apply_retractions(&act, err, sizeof err)) != 0)
                fail_msg("%s: %s", out, err);
        }
        if (s->approx) check_estimate(s, &act);
        compare_tables(s, &exp, &act);
        sluice_result_table_free(&exp);
        sluice_result_table_free(&act);
    }
    free(dir);
}

static const example *find_example(const char *name) {
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        if (strcmp(examples[i].name, name) == 0) return &examples[i];
    return NULL;
}

static void test_example(void **state) {
    const example *ex = find_example(*state);
    assert_non_null(ex);
    run_example_with(ex, NULL);
}

/* The same pipeline cut into small micro-batches: UPDATE and COMPLETE sinks
 * then emit many intermediate rows, and their final tables must still
 * match. */
static void test_example_small_batches(void **state) {
    const example *ex = find_example(*state);
    assert_non_null(ex);
    const char *extra[] = {"--set", "pipeline.max_batch_rows=97", NULL};
    run_example_with(ex, extra);
}

/* The test profile's default sink: the in-memory table, printed at exit with
 * a line "sink NAME: N rows". */
static void test_flights_memory_sink(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("flights_memory");
    assert_non_null(dir);
    char so[4096], se[4096];
    snprintf(so, sizeof so, "%s/stdout.txt", dir);
    snprintf(se, sizeof se, "%s/stderr.txt", dir);

    const char *argv[] = {"run", "fixtures/pipelines/flights.sql", "--profile", "test", "--quiet", NULL};
    int rc = sluice_test_run_cli(argv, so, se);
    if (rc != 0) {
        print_file("stderr", se);
        fail_msg("sluice run fixtures/pipelines/flights.sql: exit status %d, expected 0", rc);
    }

    sluice_result_table exp;
    assert_int_equal(load_csv(sluice_test_fixture("expected/flights/delays_by_origin.csv"), &exp), 0);
    char want[128];
    snprintf(want, sizeof want, "sink delays_by_origin: %zu rows", exp.nrows);
    sluice_result_table_free(&exp);

    char *text = sluice_test_read_file(so, NULL);
    assert_non_null(text);
    int found = 0;
    size_t wl = strlen(want);
    for (const char *line = text; line && *line && !found;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && line[len - 1] == '\r') len--;
        found = len == wl && memcmp(line, want, wl) == 0;
        line = nl ? nl + 1 : NULL;
    }
    if (!found) {
        print_error("stdout:\n%.4000s\n", text);
        fail_msg("stdout has no line '%s'", want);
    }
    free(text);
    free(dir);
}

/* The word-count example (fixtures/pipelines/word_count.sql: CROSS JOIN
 * UNNEST(SPLIT(LOWER(value), ' ')), counts per word per minute and the top
 * 10 words per minute) on fixtures/data/words.txt.  Its windows are minutes
 * of the time the file was read (METADATA FROM 'timestamp'), so they depend
 * on the clock: the file is read at once, every row must be in the same one
 * minute, and the other columns are compared with the oracle's
 * expected/word_count/SINK.csv (computed without window columns). */
static void strip_one_window(const char *sink, const sluice_result_table *in, sluice_result_table *out) {
    assert_true(in->header.nfields > 2);
    assert_string_equal(in->header.fields[0], "window_start");
    assert_string_equal(in->header.fields[1], "window_end");
    sluice_result_table_init(out);
    assert_int_equal(sluice_result_table_set_header(out, (const char *const *)in->header.fields + 2,
                                                    in->header.nfields - 2),
                     0);
    for (size_t r = 0; r < in->nrows; r++) {
        const sluice_result_row *row = &in->rows[r];
        assert_int_equal(row->nfields, in->header.nfields);
        if (strcmp(row->fields[0], in->rows[0].fields[0]) != 0)
            fail_msg("%s: rows in two windows (%s, %s): the file was not read at once", sink, in->rows[0].fields[0],
                     row->fields[0]);
        /* minute bounds, "YYYY-MM-DD HH:MM:00" */
        for (int f = 0; f < 2; f++) {
            assert_int_equal(strlen(row->fields[f]), 19);
            assert_string_equal(row->fields[f] + 17, "00");
        }
        assert_string_not_equal(row->fields[0], row->fields[1]);
        assert_int_equal(sluice_result_table_append(out, (const char *const *)row->fields + 2, row->nfields - 2), 0);
    }
}

static void test_word_count_example(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("word_count");
    assert_non_null(dir);
    char sets[5][4608], so[4096], se[4096];
    snprintf(so, sizeof so, "%s/stdout.txt", dir);
    snprintf(se, sizeof se, "%s/stderr.txt", dir);
    snprintf(sets[0], sizeof sets[0], "sink word_counts.path=%s/word_counts.csv", dir);
    snprintf(sets[1], sizeof sets[1], "sink top_words.path=%s/top_words.csv", dir);
    snprintf(sets[2], sizeof sets[2], "pipeline.dead_letter=%s/dead.jsonl", dir);
    const char *argv[] = {"run", "fixtures/pipelines/word_count.sql", "--profile", "test", "--quiet",
                          "--set", "sink word_counts.connector=file", "--set", "sink word_counts.format=csv",
                          "--set", sets[0],
                          "--set", "sink top_words.connector=file", "--set", "sink top_words.format=csv",
                          "--set", sets[1], "--set", sets[2], NULL};
    int rc = sluice_test_run_cli(argv, so, se);
    if (rc != 0) {
        print_file("stderr", se);
        fail_msg("sluice run fixtures/pipelines/word_count.sql: exit status %d, expected 0", rc);
    }
    static const struct {
        const char *sink;
        const char *keys[2];
    } sinks[] = {{"word_counts", {"word", NULL}}, {"top_words", {"rank", NULL}}};
    for (size_t i = 0; i < 2; i++) {
        char expected_rel[128], out[4608];
        snprintf(expected_rel, sizeof expected_rel, "expected/word_count/%s.csv", sinks[i].sink);
        snprintf(out, sizeof out, "%s/%s.csv", dir, sinks[i].sink);
        sluice_result_table exp, act, stripped;
        assert_int_equal(load_csv(sluice_test_fixture(expected_rel), &exp), 0);
        assert_int_equal(load_csv(out, &act), 0);
        assert_true(act.nrows > 0);
        /* EMIT UPDATE output carries the changelog's op column: applied per
         * (window, key), the last row of a key counts */
        const char *cl_keys[] = {"window_start", sinks[i].keys[0], NULL};
        char why[256];
        if (sluice_result_table_apply_changelog(&act, cl_keys, why, sizeof why) != 0)
            fail_msg("%s: %s", sinks[i].sink, why);
        strip_one_window(sinks[i].sink, &act, &stripped);
        const sluice_result_rules rules = {.keys = sinks[i].keys, .unique = 0};
        sluice_result_assert_equal(sinks[i].sink, &exp, &stripped, &rules);
        sluice_result_table_free(&exp);
        sluice_result_table_free(&act);
        sluice_result_table_free(&stripped);
    }
    free(dir);
}

#define EXAMPLE(fn, pipeline) {.name = #fn "(" pipeline ")", .test_func = fn, .initial_state = (void *)pipeline}

int main(void) {
    const struct CMUnitTest tests[] = {
        EXAMPLE(test_example, "flights"),
        EXAMPLE(test_example, "stocks"),
        EXAMPLE(test_example, "earthquakes"),
        EXAMPLE(test_example, "flights_top"),
        EXAMPLE(test_example, "flight_routes"),
        EXAMPLE(test_example, "flight_alerts"),
        EXAMPLE(test_example, "quake_regions"),
        EXAMPLE(test_example, "saga_views"),
        EXAMPLE(test_example, "shop_orders"),
        EXAMPLE(test_example, "orders_analytics"),
        EXAMPLE(test_example, "order_alerts"),
        EXAMPLE(test_example, "leaderboards"),
        EXAMPLE(test_example, "ticks"),
        EXAMPLE(test_example, "registrations"),
        EXAMPLE(test_example, "sentiment"),
        EXAMPLE(test_example_small_batches, "quake_regions"),
        EXAMPLE(test_example_small_batches, "flight_routes"),
        EXAMPLE(test_example_small_batches, "shop_orders"),
        EXAMPLE(test_example_small_batches, "orders_analytics"),
        EXAMPLE(test_example_small_batches, "leaderboards"),
        EXAMPLE(test_example_small_batches, "ticks"),
        EXAMPLE(test_example_small_batches, "sentiment"),
        cmocka_unit_test(test_flights_memory_sink),
        cmocka_unit_test(test_word_count_example),
    };
    /* sentiment.test.ini binds its function to the example of this build */
    setenv("SLUICE_AFINN_LIBRARY", SLUICE_AFINN_LIBRARY, 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
