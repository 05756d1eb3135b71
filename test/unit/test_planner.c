/*
 * Unit tests for the planner (docs/sql.md): semantic errors with their
 * FILE:LINE:COL, and the compiled plan of valid queries (output schema,
 * default PRIMARY KEY, output mode, windows).
 *
 * Every pipeline is the three source lines below followed by the sink on
 * line 4, so an error in the sink is at p.sql:4:COL, COL counted by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/aggregate.h"
#include "plan/plan.h"
#include "sluice_test.h"
#include "sql/parser.h"

static const char sources[] =
    "CREATE SOURCE f (ts TIMESTAMP, delay BIGINT, dist DOUBLE, origin VARCHAR, ok BOOLEAN,\n"
    "                 WATERMARK FOR ts AS ts - INTERVAL '5' MINUTE);\n"
    "CREATE SOURCE nowm (t2 TIMESTAMP, v BIGINT);\n";

static sluice_arena *arena;
static sluice_plan *plan;
static char errstr[1024];

static int setup(void **state) {
    (void)state;
    arena = sluice_arena_new(0);
    plan = NULL;
    errstr[0] = '\0';
    return arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_plan_free(plan);
    sluice_arena_destroy(arena);
    return 0;
}

static sluice_err_t build(const char *sink) {
    char sql[4096];
    snprintf(sql, sizeof sql, "%s%s\n", sources, sink);
    sluice_ast_pipeline *ast = NULL;
    sluice_err_t err = sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr);
    if (err != SLUICE_OK) fail_msg("syntax error where none was expected: %s", errstr);
    return sluice_plan_build(ast, &plan, errstr, sizeof errstr);
}

static const sluice_query_plan *plan_ok(const char *sink) {
    if (build(sink) != SLUICE_OK) fail_msg("plan failed: %s", errstr);
    assert_int_equal(plan->nqueries, 1);
    return &plan->queries[0];
}

static void plan_fails_at(const char *sink, int col, const char *phrase) {
    assert_int_equal(build(sink), SLUICE_ERR_SQL);
    assert_null(plan);
    char want[64];
    snprintf(want, sizeof want, "p.sql:4:%d: ", col);
    if (strncmp(errstr, want, strlen(want)) != 0) fail_msg("expected '%s...', got '%s'", want, errstr);
    if (!strstr(errstr, phrase)) fail_msg("expected '%s' in '%s'", phrase, errstr);
}

/* ---- semantic errors ------------------------------------------------------------ */

static void test_unknown_column(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT nope AS v FROM f;", 25, "unknown column 'nope'");
}

static void test_unknown_source_in_from(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT delay FROM nosuch;", 36, "unknown source, table or view 'nosuch'");
}

static void test_aggregate_in_where(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT delay FROM f WHERE COUNT(*) > 1;", 44, "not allowed in WHERE");
    teardown(state);
    setup(state);
    plan_fails_at("CREATE SINK o AS SELECT delay FROM f WHERE delay > 1 AND SUM(delay) > 3;", 58,
                  "not allowed in WHERE");
}

static void test_nested_aggregate(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT origin, SUM(MAX(delay)) AS s FROM f GROUP BY origin;", 37, "nested");
}

static void test_non_grouped_column_in_select(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT origin, delay FROM f GROUP BY origin;", 33, "GROUP BY");
}

static void test_append_on_non_windowed_aggregate(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT origin, COUNT(*) AS n FROM f GROUP BY origin EMIT APPEND;", 75,
                  "APPEND");
}

static void test_window_on_column_without_watermark(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT COUNT(*) AS n FROM nowm GROUP BY TUMBLE(t2, INTERVAL '1' HOUR);", 65,
                  "WATERMARK");
}

/* The bug: INTERVAL '106751991167' DAY (int64's last whole day) planned, and
 * a SESSION's window_end wrapped around to before its window_start.
 * Windows and watermark delays are at most 10,000 years. */
static void test_window_and_watermark_intervals_are_at_most_10000_years(void **state) {
    (void)state;
    plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY TUMBLE(ts, INTERVAL '3652425' DAY);");
    sluice_plan_free(plan);
    plan = NULL;
    plan_fails_at("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY TUMBLE(ts, INTERVAL '3652426' DAY);", 66,
                  "at most INTERVAL '3652425' DAY");
    plan_fails_at("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY SESSION(ts, INTERVAL '106751991167' DAY);",
                  67, "at most INTERVAL '3652425' DAY");
    plan_fails_at("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY HOP(ts, INTERVAL '1' HOUR, INTERVAL "
                  "'3652426' DAY);",
                  82, "at most INTERVAL '3652425' DAY");
    const char *sql = "CREATE SOURCE g (ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '3652426' DAY);\n"
                      "CREATE SINK o AS SELECT ts FROM g;\n";
    sluice_ast_pipeline *ast = NULL;
    assert_int_equal(sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr), SLUICE_OK);
    assert_int_equal(sluice_plan_build(ast, &plan, errstr, sizeof errstr), SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:1:57: a WATERMARK delay must be at most INTERVAL '3652425' DAY (10,000 years)");
}

static void test_hop_size_not_a_multiple_of_slide(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY HOP(ts, INTERVAL '2' MINUTE, INTERVAL '5' "
                  "MINUTE);",
                  84, "multiple");
}

/* An expression without AS is named as Flink names it: EXPR$<position>. */
static void test_expression_without_alias(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT delay, delay + 1 FROM f;");
    assert_string_equal(q->schema.columns[1].name, "EXPR$1");
}

static void test_duplicate_output_name(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT delay, dist AS delay FROM f;", 32, "duplicate output column 'delay'");
}

static void test_primary_key_naming_a_non_output_column(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o PRIMARY KEY (delay, nope) AS SELECT delay FROM f;", 35, "'nope'");
}

static void test_type_error_varchar_plus_bigint(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT 'a' + 1 AS v FROM f;", 25, "VARCHAR and BIGINT");
}

static void test_type_error_where_not_boolean(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT delay FROM f WHERE delay;", 44, "BOOLEAN");
}

/* ---- relational errors ----------------------------------------------------------- */

/* The statements fail with `phrase` at FILE:LINE:COL (line and column as
 * `at` says, "L:C"). */
static void rel_fails(const char *stmts, const char *at, const char *phrase) {
    assert_int_equal(build(stmts), SLUICE_ERR_SQL);
    assert_null(plan);
    char want[64];
    snprintf(want, sizeof want, "p.sql:%s: ", at);
    if (strncmp(errstr, want, strlen(want)) != 0) fail_msg("expected '%s...', got '%s'", want, errstr);
    if (!strstr(errstr, phrase)) fail_msg("expected '%s' in '%s'", phrase, errstr);
}

static void test_view_errors(void **state) {
    (void)state;
    rel_fails("CREATE VIEW v AS SELECT * FROM v;\nCREATE SINK o AS SELECT * FROM v;", "4:32", "view 'v' reads itself");
    teardown(state), setup(state);
    rel_fails("CREATE VIEW f AS SELECT * FROM nowm;\nCREATE SINK o AS SELECT * FROM f;", "4:13",
              "view 'f' has the name of a source");
    teardown(state), setup(state);
    rel_fails("CREATE VIEW v AS SELECT v FROM nowm;\nCREATE VIEW v AS SELECT v FROM nowm;\n"
              "CREATE SINK o AS SELECT * FROM v;", "5:13", "duplicate view 'v'");
}

static void test_join_errors(void **state) {
    (void)state;
    /* both sides have a column ts */
    rel_fails("CREATE SINK o AS SELECT ts FROM f JOIN f AS g ON f.delay = g.delay;", "4:25", "'ts' is ambiguous");
    teardown(state), setup(state);
    rel_fails("CREATE SINK o AS SELECT f.ts FROM f JOIN nowm ON f.origin = nowm.v;", "4:50", "cannot join VARCHAR with BIGINT");
    teardown(state), setup(state);
    /* AS OF a versioned table needs the left input's event time */
    rel_fails("CREATE SINK o AS SELECT f.ts FROM f JOIN f FOR SYSTEM_TIME AS OF f.dist AS g ON f.origin = g.origin;",
              "4:66", "event-time column of the left input");
}

static void test_window_tvf_errors(void **state) {
    (void)state;
    rel_fails("CREATE SINK o AS SELECT origin, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE f, DESCRIPTOR(ts), "
              "INTERVAL '1' HOUR)) GROUP BY origin;",
              "4:52", "GROUP BY window_start, window_end");
    teardown(state), setup(state);
    rel_fails("CREATE SINK o AS SELECT COUNT(*) AS n FROM TABLE(TUMBLE(TABLE nowm, DESCRIPTOR(t2), INTERVAL '1' HOUR)) "
              "GROUP BY window_start, window_end;",
              "4:80", "needs 'WATERMARK FOR t2");
    teardown(state), setup(state);
    /* a window over the updating result of an aggregate */
    rel_fails("CREATE VIEW c AS SELECT origin, COUNT(*) AS n, MAX(ts) AS ts FROM f GROUP BY origin;\n"
              "CREATE SINK o AS SELECT COUNT(*) AS n FROM c GROUP BY TUMBLE(ts, INTERVAL '1' HOUR);",
              "5:62", "not an event-time column");
}

static void test_ranking_errors(void **state) {
    (void)state;
    rel_fails("CREATE SINK o AS SELECT origin FROM (SELECT origin, ROW_NUMBER() OVER (ORDER BY delay) AS r FROM f);",
              "4:13", "needs WHERE r <= N");
    teardown(state), setup(state);
    rel_fails("CREATE SINK o AS SELECT origin, ROW_NUMBER() OVER (ORDER BY delay) AS r, delay FROM f;", "4:33",
              "allowed only as the last SELECT item");
    teardown(state), setup(state);
    rel_fails("CREATE SINK o AS SELECT origin, AVG(delay) OVER (PARTITION BY origin ORDER BY dist) AS a FROM f;",
              "4:79", "event-time column");
}

static void test_insert_into_a_table(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE TABLE t (o VARCHAR, d BIGINT, PRIMARY KEY (o) NOT ENFORCED) WITH ('connector' = 'blackhole');\n"
                "INSERT INTO t SELECT origin, SUM(delay) FROM f GROUP BY origin;");
    /* the table's names by position, its key; the table is no source */
    assert_string_equal(q->schema.columns[0].name, "o");
    assert_string_equal(q->schema.columns[1].name, "d");
    assert_int_equal(q->schema.npk, 1);
    assert_int_equal(plan->nsources, 2);
    teardown(state), setup(state);
    rel_fails("CREATE TABLE t (o VARCHAR);\nINSERT INTO t SELECT origin, delay FROM f;", "5:13",
              "the SELECT has 2 columns, the table 1");
}

/* ---- SESSION windows ----------------------------------------------------------- */

#define SESSION_HEAD "CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY SESSION(ts, INTERVAL '5' MINUTE)"

static void test_session_needs_emit_append(void **state) {
    (void)state;
    /* without EMIT a SESSION query emits final sessions (APPEND) */
    assert_int_equal(plan_ok(SESSION_HEAD ";")->emit, SLUICE_EMIT_APPEND);
    teardown(state);
    setup(state);
    plan_fails_at(SESSION_HEAD " EMIT UPDATE;", 93, "SESSION windows support EMIT APPEND only");
    teardown(state);
    setup(state);
    plan_fails_at(SESSION_HEAD " EMIT COMPLETE;", 93, "add EMIT APPEND");
}

static void test_session_takes_a_time_and_a_gap(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY SESSION(ts) EMIT APPEND;", 55,
                  "SESSION takes (time_column, INTERVAL gap)");
}

static void test_session_cannot_be_ranked(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT window_start, origin, COUNT(*) AS n FROM f GROUP BY SESSION(ts, INTERVAL '5' "
                  "MINUTE), origin ORDER BY n DESC LIMIT 3 EMIT APPEND;",
                  127, "needs TUMBLE or HOP windows");
}

static void test_session_plan(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT window_start, window_end, origin, COUNT(*) AS n FROM f "
                "GROUP BY SESSION(ts, INTERVAL '30' MINUTE), origin EMIT APPEND;");
    assert_int_equal(q->window, SLUICE_WINDOW_SESSION);
    assert_int_equal(q->gap_ms, 30 * 60000);
    assert_false(q->proctime);
    assert_int_equal(q->emit, SLUICE_EMIT_APPEND);
    assert_int_equal(q->schema.npk, 3);
    teardown(state);
    setup(state);
    q = plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n FROM nowm GROUP BY SESSION(PROCTIME(), INTERVAL '1' MINUTE) "
                "EMIT APPEND;");
    assert_int_equal(q->window, SLUICE_WINDOW_SESSION);
    assert_true(q->proctime);
}

static void test_explain_shows_a_session_window(void **state) {
    (void)state;
    plan_ok(SESSION_HEAD " EMIT APPEND;");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    sluice_plan_explain(plan, out);
    fclose(out);
    if (!strstr(text, "window:     SESSION(ts, INTERVAL '5' MINUTE) per key"))
        fail_msg("no SESSION window in:\n%s", text);
    free(text);
}

/* ---- top-N: ORDER BY <aggregate> LIMIT n per window ------------------------------- */

#define TOPN_HEAD "CREATE SINK o AS SELECT window_start, origin, COUNT(*) AS n FROM f GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), origin "

static void test_topn_limit_without_order_by(void **state) {
    (void)state;
    /* LIMIT at column 115 */
    plan_fails_at(TOPN_HEAD "LIMIT 3;", 115, "LIMIT needs ORDER BY");
}

static void test_topn_order_by_without_limit(void **state) {
    (void)state;
    /* the ORDER BY expression `n` at column 124 */
    plan_fails_at(TOPN_HEAD "ORDER BY n DESC;", 124, "ORDER BY needs LIMIT");
}

static void test_topn_on_a_non_windowed_aggregate(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT origin, COUNT(*) AS n FROM f GROUP BY origin ORDER BY n DESC LIMIT 3;", 79,
                  "needs a windowed aggregate");
}

static void test_topn_on_a_stateless_query(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT origin, delay FROM f ORDER BY delay DESC LIMIT 3;", 55,
                  "needs a windowed aggregate");
}

static void test_topn_order_by_must_be_an_aggregate(void **state) {
    (void)state;
    plan_fails_at(TOPN_HEAD "ORDER BY origin LIMIT 3;", 124, "must be an aggregate");
}

static void test_topn_limit_zero(void **state) {
    (void)state;
    plan_fails_at(TOPN_HEAD "ORDER BY n DESC LIMIT 0;", 131, "LIMIT 0");
}

static void test_topn_rank_in_having(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT window_start, origin, COUNT(*) AS n FROM f GROUP BY TUMBLE(ts, INTERVAL '1' "
                  "HOUR), origin HAVING rank < 2 ORDER BY n DESC LIMIT 3;",
                  122, "'rank' cannot be used in HAVING");
}

static void test_rank_outside_a_topn_query(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT window_start, origin, rank FROM f GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), "
                  "origin;",
                  47, "'rank' exists only in a top-N query");
    teardown(state);
    setup(state);
    plan_fails_at("CREATE SINK o AS SELECT rank FROM f;", 25, "'rank' exists only in a top-N query");
}

static void test_topn_plan_by_alias_desc(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT window_start, window_end, rank, origin, COUNT(*) AS n, MAX(delay) AS m FROM f "
                "GROUP BY TUMBLE(ts, INTERVAL '1' DAY), origin ORDER BY m DESC LIMIT 3 EMIT APPEND;");
    assert_true(q->topn);
    assert_true(q->order_desc);
    assert_int_equal(q->limit, 3);
    assert_int_equal(q->naggs, 2);
    assert_int_equal(q->order_agg, 1); /* MAX(delay), the second slot */
    assert_int_equal(q->schema.columns[2].type, SLUICE_TYPE_BIGINT);
    /* default key: window_start, window_end, rank */
    assert_int_equal(q->schema.npk, 3);
    assert_int_equal(q->schema.pk[0], 0);
    assert_int_equal(q->schema.pk[1], 1);
    assert_int_equal(q->schema.pk[2], 2);
}

static void test_topn_plan_by_an_aggregate_not_selected_asc(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok(TOPN_HEAD "ORDER BY SUM(dist) ASC LIMIT 5;");
    assert_true(q->topn);
    assert_false(q->order_desc);
    assert_int_equal(q->limit, 5);
    assert_int_equal(q->naggs, 2);
    assert_int_equal(q->order_agg, 1);
    assert_ptr_equal(q->aggs[1].fn, sluice_agg_find("SUM", 0));
    /* rank not selected: the usual key needs window_end too, so none */
    assert_int_equal(q->schema.npk, 0);
}

static void test_topn_without_rank_keeps_the_group_key(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT window_start, window_end, origin, COUNT(*) AS n FROM f "
                "GROUP BY HOP(ts, INTERVAL '1' HOUR, INTERVAL '2' HOUR), origin ORDER BY COUNT(*) DESC LIMIT 2;");
    assert_true(q->topn);
    assert_int_equal(q->order_agg, 0);
    assert_int_equal(q->schema.npk, 3);
    assert_int_equal(q->schema.pk[2], 2);
}

static void test_explain_shows_topn(void **state) {
    (void)state;
    plan_ok("CREATE SINK o AS SELECT window_start, window_end, rank, origin, COUNT(*) AS n FROM f "
            "GROUP BY TUMBLE(ts, INTERVAL '1' DAY), origin ORDER BY n DESC LIMIT 3 EMIT APPEND;");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    sluice_plan_explain(plan, out);
    fclose(out);
    if (!strstr(text, "top-N:      3 per window by COUNT(*) DESC"))
        fail_msg("no top-N line in:\n%s", text);
    assert_non_null(strstr(text, "primary key: window_start, window_end, rank"));
    free(text);
}

/* ---- PROCTIME(): processing-time windows ----------------------------------------- */

static void test_proctime_window_needs_no_watermark(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok(
        "CREATE SINK o AS SELECT window_start, COUNT(*) AS n FROM nowm GROUP BY TUMBLE(PROCTIME(), INTERVAL '1' MINUTE);");
    assert_true(q->proctime);
    assert_int_equal(q->window, SLUICE_WINDOW_TUMBLE);
    assert_int_equal(q->size_ms, 60000);
    /* the event-time column is not read */
    assert_false(plan->sources[1].used[0]);
    teardown(state);
    setup(state);
    q = plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY HOP(PROCTIME(), INTERVAL '1' MINUTE, INTERVAL "
                "'2' MINUTE) EMIT APPEND;");
    assert_true(q->proctime);
    assert_int_equal(q->window, SLUICE_WINDOW_HOP);
}

static void test_proctime_takes_no_arguments(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT COUNT(*) AS n FROM nowm GROUP BY TUMBLE(PROCTIME(t2), INTERVAL '1' MINUTE);",
                  65, "PROCTIME() takes no arguments");
}

/* PROCTIME() outside a window's time argument is a TIMESTAMP column of
 * processing time (Flink's PROCTIME() in a view or subquery, which a
 * lookup join reads); it took "only as the time argument of a window"
 * before. */
static void test_proctime_outside_a_window(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT v, PROCTIME() AS p FROM nowm;");
    assert_int_equal(q->schema.ncolumns, 2);
    assert_int_equal(q->schema.columns[1].type, SLUICE_TYPE_TIMESTAMP);
    sluice_plan_free(plan);
    plan = NULL;
    plan_fails_at("CREATE SINK o AS SELECT PROCTIME(v) AS p FROM nowm;", 25, "PROCTIME() takes no arguments");
}

static void test_explain_shows_a_proctime_window(void **state) {
    (void)state;
    plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n FROM nowm GROUP BY TUMBLE(PROCTIME(), INTERVAL '1' MINUTE);");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    sluice_plan_explain(plan, out);
    fclose(out);
    if (!strstr(text, "window:     TUMBLE(PROCTIME(), INTERVAL '1' MINUTE) (processing time"))
        fail_msg("no PROCTIME window in:\n%s", text);
    free(text);
}

static void test_emit_update_on_stateless_query(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT delay FROM f EMIT UPDATE;", 43, "UPDATE");
}

static void test_cast_of_a_bad_literal_is_an_error(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT CAST('abc' AS BIGINT) AS v FROM f;", 30, "'abc'");
}

/* ---- the plan of valid queries --------------------------------------------------- */

static void test_output_schema_names_and_types(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT window_start, window_end, origin, COUNT(*) AS n, COUNT(delay) AS nd, "
                "SUM(delay) AS sd, SUM(dist) AS sx, AVG(delay) AS ad, MIN(origin) AS mo, MAX(ts) AS mt, "
                "MIN(dist) AS mind FROM f GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), origin;");
    static const struct {
        const char *name;
        sluice_type_t type;
    } want[] = {{"window_start", SLUICE_TYPE_TIMESTAMP}, {"window_end", SLUICE_TYPE_TIMESTAMP},
                {"origin", SLUICE_TYPE_VARCHAR},         {"n", SLUICE_TYPE_BIGINT},
                {"nd", SLUICE_TYPE_BIGINT},              {"sd", SLUICE_TYPE_BIGINT},
                {"sx", SLUICE_TYPE_DOUBLE},              {"ad", SLUICE_TYPE_DOUBLE},
                {"mo", SLUICE_TYPE_VARCHAR},             {"mt", SLUICE_TYPE_TIMESTAMP},
                {"mind", SLUICE_TYPE_DOUBLE}};
    assert_int_equal(q->schema.ncolumns, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < q->schema.ncolumns; i++) {
        assert_string_equal(q->schema.columns[i].name, want[i].name);
        if (q->schema.columns[i].type != want[i].type)
            fail_msg("column %s: type %s, expected %s", want[i].name, sluice_type_name(q->schema.columns[i].type),
                     sluice_type_name(want[i].type));
    }
    assert_true(q->aggregate);
}

static void test_column_name_without_alias_is_the_column(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT origin, delay AS d, `dist` FROM f;");
    assert_string_equal(q->schema.columns[0].name, "origin");
    assert_string_equal(q->schema.columns[1].name, "d");
    assert_string_equal(q->schema.columns[2].name, "dist");
}

static void test_default_primary_key_of_windowed_aggregate(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT window_start, window_end, origin, COUNT(*) AS n "
                                         "FROM f GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), origin;");
    assert_int_equal(q->schema.npk, 3);
    assert_int_equal(q->schema.pk[0], 0);
    assert_int_equal(q->schema.pk[1], 1);
    assert_int_equal(q->schema.pk[2], 2);
}

static void test_no_default_primary_key_when_a_key_column_is_not_selected(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT window_start, COUNT(*) AS n "
                                         "FROM f GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), origin;");
    assert_int_equal(q->schema.npk, 0);
}

static void test_default_primary_key_of_non_windowed_aggregate(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n, origin FROM f GROUP BY origin;");
    assert_int_equal(q->schema.npk, 1);
    assert_int_equal(q->schema.pk[0], 1);
    assert_int_equal(q->window, SLUICE_WINDOW_NONE);
}

static void test_default_primary_key_with_group_by_expression(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT LOWER(origin) AS o, COUNT(*) AS n FROM f GROUP BY LOWER(origin);");
    assert_int_equal(q->schema.npk, 1);
    assert_int_equal(q->schema.pk[0], 0);
}

static void test_stateless_query_has_no_primary_key(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT ts, delay FROM f WHERE delay > 60;");
    assert_int_equal(q->schema.npk, 0);
    assert_false(q->aggregate);
}

static void test_explicit_primary_key_in_its_order(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o PRIMARY KEY (origin, window_start) AS SELECT window_start, origin, COUNT(*) AS n "
                "FROM f GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), origin;");
    assert_int_equal(q->schema.npk, 2);
    assert_int_equal(q->schema.pk[0], 1);
    assert_int_equal(q->schema.pk[1], 0);
}

static void test_aggregate_defaults_to_update(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT origin, COUNT(*) AS n FROM f GROUP BY origin;");
    assert_int_equal(q->emit, SLUICE_EMIT_UPDATE);
}

static void test_windowed_aggregate_defaults_to_update(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE);");
    assert_int_equal(q->emit, SLUICE_EMIT_UPDATE);
}

static void test_stateless_query_is_append(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT delay FROM f;");
    assert_int_equal(q->emit, SLUICE_EMIT_APPEND);
}

static void test_explicit_emit_modes_are_kept(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT origin, COUNT(*) AS n FROM f GROUP BY origin EMIT COMPLETE;");
    assert_int_equal(q->emit, SLUICE_EMIT_COMPLETE);
    teardown(state);
    setup(state);
    q = plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE) EMIT APPEND;");
    assert_int_equal(q->emit, SLUICE_EMIT_APPEND);
}

static void test_aggregate_without_group_by(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n, MAX(delay) AS m FROM f;");
    assert_true(q->aggregate);
    assert_int_equal(q->ngroup, 0);
    assert_int_equal(q->naggs, 2);
    assert_int_equal(q->emit, SLUICE_EMIT_UPDATE);
}

static void test_tumble_size_in_ms(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n FROM f GROUP BY TUMBLE(ts, INTERVAL '1' HOUR);");
    assert_int_equal(q->window, SLUICE_WINDOW_TUMBLE);
    assert_int_equal(q->size_ms, 3600000);
    assert_int_equal(q->slide_ms, 3600000);
    assert_int_equal(q->ts_column, 0);
}

static void test_hop_slide_and_size_in_ms(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT COUNT(*) AS n FROM f "
                                         "GROUP BY HOP(ts, INTERVAL '15' MINUTE, INTERVAL '1' HOUR);");
    assert_int_equal(q->window, SLUICE_WINDOW_HOP);
    assert_int_equal(q->slide_ms, 900000);
    assert_int_equal(q->size_ms, 3600000);
}

static void test_watermark_delay_in_ms(void **state) {
    (void)state;
    plan_ok("CREATE SINK o AS SELECT delay FROM f;");
    assert_int_equal(plan->nsources, 2);
    assert_true(plan->sources[0].has_watermark);
    assert_int_equal(plan->sources[0].watermark_column, 0);
    assert_int_equal(plan->sources[0].watermark_delay_ms, 300000);
    assert_false(plan->sources[1].has_watermark);
}

static void test_same_aggregate_twice_shares_a_slot(void **state) {
    (void)state;
    const sluice_query_plan *q = plan_ok("CREATE SINK o AS SELECT origin, COUNT(*) AS n FROM f GROUP BY origin "
                                         "HAVING COUNT(*) > 1;");
    assert_int_equal(q->naggs, 1);
    assert_non_null(q->having);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_unknown_column),
        T(test_unknown_source_in_from),
        T(test_aggregate_in_where),
        T(test_nested_aggregate),
        T(test_non_grouped_column_in_select),
        T(test_append_on_non_windowed_aggregate),
        T(test_window_on_column_without_watermark),
        T(test_hop_size_not_a_multiple_of_slide),
        T(test_window_and_watermark_intervals_are_at_most_10000_years),
        T(test_expression_without_alias),
        T(test_duplicate_output_name),
        T(test_primary_key_naming_a_non_output_column),
        T(test_type_error_varchar_plus_bigint),
        T(test_type_error_where_not_boolean),
        T(test_view_errors),
        T(test_join_errors),
        T(test_window_tvf_errors),
        T(test_ranking_errors),
        T(test_insert_into_a_table),
        T(test_session_needs_emit_append),
        T(test_session_takes_a_time_and_a_gap),
        T(test_session_cannot_be_ranked),
        T(test_session_plan),
        T(test_explain_shows_a_session_window),
        T(test_topn_limit_without_order_by),
        T(test_topn_order_by_without_limit),
        T(test_topn_on_a_non_windowed_aggregate),
        T(test_topn_on_a_stateless_query),
        T(test_topn_order_by_must_be_an_aggregate),
        T(test_topn_limit_zero),
        T(test_topn_rank_in_having),
        T(test_rank_outside_a_topn_query),
        T(test_topn_plan_by_alias_desc),
        T(test_topn_plan_by_an_aggregate_not_selected_asc),
        T(test_topn_without_rank_keeps_the_group_key),
        T(test_explain_shows_topn),
        T(test_proctime_window_needs_no_watermark),
        T(test_proctime_takes_no_arguments),
        T(test_proctime_outside_a_window),
        T(test_explain_shows_a_proctime_window),
        T(test_emit_update_on_stateless_query),
        T(test_cast_of_a_bad_literal_is_an_error),
        T(test_output_schema_names_and_types),
        T(test_column_name_without_alias_is_the_column),
        T(test_default_primary_key_of_windowed_aggregate),
        T(test_no_default_primary_key_when_a_key_column_is_not_selected),
        T(test_default_primary_key_of_non_windowed_aggregate),
        T(test_default_primary_key_with_group_by_expression),
        T(test_stateless_query_has_no_primary_key),
        T(test_explicit_primary_key_in_its_order),
        T(test_aggregate_defaults_to_update),
        T(test_windowed_aggregate_defaults_to_update),
        T(test_stateless_query_is_append),
        T(test_explicit_emit_modes_are_kept),
        T(test_aggregate_without_group_by),
        T(test_tumble_size_in_ms),
        T(test_hop_slide_and_size_in_ms),
        T(test_watermark_delay_in_ms),
        T(test_same_aggregate_twice_shares_a_slot),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
