/*
 * Functions bound by the profile (docs/sql.md "CREATE FUNCTION"): parsing
 * and planning with errors at FILE:LINE:COL, and the batched calls of
 * exec/udf.c (rows per call, results per row, on_error) against an
 * in-process binding that records its calls.
 *
 * The pipeline is the two declaration lines below followed by the sink on
 * line 3, so an error in the sink is at p.sql:3:COL, COL counted by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "exec/udf.h"
#include "sluice_test.h"
#include "sql/parser.h"

static const char decls[] =
    "CREATE FUNCTION score(review VARCHAR, boost DOUBLE) RETURNS DOUBLE;\n"
    "CREATE SOURCE r (product VARCHAR, review VARCHAR, n BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts);\n";

static sluice_arena *arena;
static sluice_plan *plan;
static sluice_ast_pipeline *ast;
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
    snprintf(sql, sizeof sql, "%s%s\n", decls, sink);
    sluice_err_t err = sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr);
    if (err != SLUICE_OK) fail_msg("syntax error where none was expected: %s", errstr);
    return sluice_plan_build(ast, &plan, errstr, sizeof errstr);
}

static void plan_fails_at(const char *sink, int line, int col, const char *phrase) {
    assert_int_equal(build(sink), SLUICE_ERR_SQL);
    assert_null(plan);
    char want[64];
    snprintf(want, sizeof want, "p.sql:%d:%d: ", line, col);
    if (strncmp(errstr, want, strlen(want)) != 0) fail_msg("expected '%s...', got '%s'", want, errstr);
    if (!strstr(errstr, phrase)) fail_msg("expected '%s' in '%s'", phrase, errstr);
}

/* ---- parsing ---------------------------------------------------------------- */

static void test_create_function_is_parsed(void **state) {
    (void)state;
    const char sql[] = "create function Sentiment(review VARCHAR(200), w BIGINT) returns DOUBLE deterministic;\n"
                       "CREATE FUNCTION now_ms() RETURNS BIGINT;\n"
                       "CREATE SOURCE r (review VARCHAR);\n"
                       "CREATE SINK o AS SELECT review FROM r;\n";
    assert_int_equal(sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr), SLUICE_OK);
    assert_int_equal(ast->nfunctions, 2);
    const sluice_ast_function *f = &ast->functions[0];
    assert_string_equal(f->name, "Sentiment");
    assert_int_equal(f->line, 1);
    assert_int_equal(f->col, 17);
    assert_int_equal(f->nargs, 2);
    assert_string_equal(f->arg_names[0], "review");
    assert_int_equal(f->arg_types[0], SLUICE_TYPE_VARCHAR);
    assert_string_equal(f->arg_names[1], "w");
    assert_int_equal(f->arg_types[1], SLUICE_TYPE_BIGINT);
    assert_int_equal(f->returns, SLUICE_TYPE_DOUBLE);
    assert_int_equal(f->deterministic, 1);
    assert_int_equal(ast->functions[1].nargs, 0);
    assert_int_equal(ast->functions[1].returns, SLUICE_TYPE_BIGINT);
    assert_int_equal(ast->functions[1].deterministic, 0);
}

static void test_create_function_without_returns(void **state) {
    (void)state;
    const char sql[] = "CREATE FUNCTION f(x VARCHAR) DOUBLE;\n";
    assert_int_equal(sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr), SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:1:30: syntax error at 'DOUBLE': expected RETURNS");
}

static void test_create_function_with_a_bad_type(void **state) {
    (void)state;
    const char sql[] = "CREATE FUNCTION f(x BLOB) RETURNS DOUBLE;\n";
    assert_int_equal(sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr), SLUICE_ERR_SQL);
    assert_true(strncmp(errstr, "p.sql:1:21: syntax error at 'BLOB'", 34) == 0);
}

/* ---- planning ----------------------------------------------------------------- */

static void test_call_is_typed_and_becomes_a_site(void **state) {
    (void)state;
    assert_int_equal(build("CREATE SINK o AS SELECT product, SCORE(review, n) AS s FROM r WHERE score(review, 1.5) > 0;"),
                     SLUICE_OK);
    const sluice_query_plan *q = &plan->queries[0];
    assert_int_equal(plan->nfunctions, 1);
    assert_int_equal(q->schema.columns[1].type, SLUICE_TYPE_DOUBLE);
    assert_int_equal(q->nudf_sites, 2);
    assert_int_equal(q->outputs[1]->kind, SLUICE_EXPR_UDF);
    /* a BIGINT argument is widened to the declared DOUBLE */
    assert_int_equal(q->outputs[1]->args[1]->kind, SLUICE_EXPR_CAST);
    assert_int_equal(q->outputs[1]->args[1]->type, SLUICE_TYPE_DOUBLE);
}

static void test_unknown_function_is_still_an_error(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT scor(review, 1.0) AS s FROM r;", 3, 25, "unknown function 'SCOR'");
}

static void test_wrong_number_of_arguments(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT score(review) AS s FROM r;", 3, 25,
                  "score takes 2 arguments (VARCHAR, DOUBLE), got 1");
}

static void test_wrong_argument_type(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT score(n, 1.0) AS s FROM r;", 3, 31,
                  "argument 1 (review) of score needs VARCHAR, got BIGINT");
}

static void test_call_over_aggregated_rows_is_refused(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT product, score(product, 1.0) AS s FROM r GROUP BY product;", 3, 34,
                  "not over aggregated rows");
}

static void test_call_in_an_aggregate_argument_is_allowed(void **state) {
    (void)state;
    assert_int_equal(build("CREATE SINK o AS SELECT product, AVG(score(review, 0.0)) AS s FROM r GROUP BY product;"),
                     SLUICE_OK);
    assert_int_equal(plan->queries[0].nudf_sites, 1);
}

static void test_nested_calls_are_refused(void **state) {
    (void)state;
    plan_fails_at("CREATE SINK o AS SELECT score(review, score(review, 1.0)) AS s FROM r;", 3, 39,
                  "cannot be an argument of another such function");
}

static void test_function_named_like_a_builtin(void **state) {
    (void)state;
    const char sql[] = "CREATE FUNCTION lower(x VARCHAR) RETURNS VARCHAR;\n"
                       "CREATE SOURCE r (review VARCHAR);\n"
                       "CREATE SINK o AS SELECT review FROM r;\n";
    assert_int_equal(sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr), SLUICE_OK);
    assert_int_equal(sluice_plan_build(ast, &plan, errstr, sizeof errstr), SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:1:17: CREATE FUNCTION lower: a built-in function has that name");
}

static void test_duplicate_function(void **state) {
    (void)state;
    const char sql[] = "CREATE FUNCTION f(x VARCHAR) RETURNS DOUBLE;\n"
                       "CREATE FUNCTION F(y VARCHAR) RETURNS DOUBLE;\n"
                       "CREATE SOURCE r (review VARCHAR);\n"
                       "CREATE SINK o AS SELECT review FROM r;\n";
    assert_int_equal(sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr), SLUICE_OK);
    assert_int_equal(sluice_plan_build(ast, &plan, errstr, sizeof errstr), SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:2:17: duplicate function 'F'");
}

/* ---- batched calls ----------------------------------------------------------- */

/* The binding under test: records the size of each call; result = the
 * review's length + boost; a call fails when one of its reviews is "boom". */
typedef struct recorder {
    size_t calls, sizes[64];
} recorder;

static int record_call(void *ctx, size_t nrows, size_t nargs, const sluice_value *args, sluice_value *results,
                       unsigned char *failed, char *err, size_t err_size) {
    (void)failed;
    recorder *rc = ctx;
    assert_int_equal(nargs, 2);
    if (rc->calls < 64) rc->sizes[rc->calls] = nrows;
    rc->calls++;
    for (size_t r = 0; r < nrows; r++) {
        const sluice_value *a = &args[r * nargs];
        if (a[0].type == SLUICE_TYPE_VARCHAR && a[0].len == 4 && memcmp(a[0].u.s, "boom", 4) == 0) {
            snprintf(err, err_size, "model exploded");
            return -1;
        }
        results[r] = a[0].type == SLUICE_TYPE_NULL ? sluice_value_null()
                                                   : sluice_value_double((double)a[0].len + a[1].u.d);
    }
    return 0;
}

/* rows of (product, review, n, ts) */
static sluice_value rows[7 * 4];

static void fill_rows(const char *const *reviews, size_t n) {
    for (size_t r = 0; r < n; r++) {
        rows[r * 4] = sluice_value_varchar("p", 1);
        rows[r * 4 + 1] = reviews[r] ? sluice_value_varchar(reviews[r], strlen(reviews[r])) : sluice_value_null();
        rows[r * 4 + 2] = sluice_value_bigint((int64_t)r);
        rows[r * 4 + 3] = sluice_value_timestamp(0);
    }
}

static sluice_value value_at(const sluice_query_plan *q, size_t r) {
    q->udf->row = r;
    return sluice_expr_eval(q->outputs[0], rows + r * 4, arena);
}

static void test_rows_are_sent_batch_size_at_a_time(void **state) {
    (void)state;
    assert_int_equal(build("CREATE SINK o AS SELECT score(review, 0.5) AS s FROM r;"), SLUICE_OK);
    recorder rc = {0};
    sluice_udf_binding b = {"score", record_call, &rc, 2, 2, SLUICE_UDF_DEAD_LETTER};
    plan->functions[0].binding = &b;
    static const char *const reviews[] = {"a", "bb", NULL, "dddd", "eeeee", "ffffff", "g"};
    fill_rows(reviews, 7);
    const sluice_query_plan *q = &plan->queries[0];
    assert_int_equal(sluice_udf_prefetch(plan, q, rows, 7, 4, arena, errstr, sizeof errstr), SLUICE_OK);
    /* 7 rows, batch_size 2: ceil(7/2) = 4 calls of 2, 2, 2, 1 rows */
    assert_int_equal(rc.calls, 4);
    assert_int_equal(rc.sizes[0], 2);
    assert_int_equal(rc.sizes[1], 2);
    assert_int_equal(rc.sizes[2], 2);
    assert_int_equal(rc.sizes[3], 1);
    const double want[] = {1.5, 2.5, -1, 4.5, 5.5, 6.5, 1.5};
    for (size_t r = 0; r < 7; r++) {
        sluice_value v = value_at(q, r);
        if (r == 2) {
            assert_int_equal(v.type, SLUICE_TYPE_NULL);
            continue;
        }
        assert_int_equal(v.type, SLUICE_TYPE_DOUBLE);
        assert_true(v.u.d == want[r]);
    }
    /* one call for a whole batch when batch_size exceeds it */
    rc.calls = 0;
    b.batch_size = b.call_rows = 512;
    assert_int_equal(sluice_udf_prefetch(plan, q, rows, 7, 4, arena, errstr, sizeof errstr), SLUICE_OK);
    assert_int_equal(rc.calls, 1);
    assert_int_equal(rc.sizes[0], 7);
}

static void failing_batch(sluice_udf_on_error mode, sluice_err_t want) {
    assert_int_equal(build("CREATE SINK o AS SELECT score(review, 0.0) AS s FROM r;"), SLUICE_OK);
    recorder rc = {0};
    sluice_udf_binding b = {"score", record_call, &rc, 2, 2, mode};
    plan->functions[0].binding = &b;
    static const char *const reviews[] = {"a", "bb", "boom", "dddd", "eeeee"};
    fill_rows(reviews, 5);
    const sluice_query_plan *q = &plan->queries[0];
    assert_int_equal(sluice_udf_prefetch(plan, q, rows, 5, 4, arena, errstr, sizeof errstr), want);
}

static void test_on_error_null(void **state) {
    (void)state;
    failing_batch(SLUICE_UDF_NULL, SLUICE_OK);
    const sluice_query_plan *q = &plan->queries[0];
    /* the second call (rows 2 and 3) failed: both are NULL, the others computed */
    assert_true(value_at(q, 0).u.d == 1.0);
    assert_true(value_at(q, 1).u.d == 2.0);
    assert_int_equal(value_at(q, 2).type, SLUICE_TYPE_NULL);
    assert_int_equal(value_at(q, 3).type, SLUICE_TYPE_NULL);
    assert_true(value_at(q, 4).u.d == 5.0);
    for (size_t r = 0; r < 5; r++) assert_int_equal(q->udf->failed[r], 0);
}

static void test_on_error_dead_letter(void **state) {
    (void)state;
    failing_batch(SLUICE_UDF_DEAD_LETTER, SLUICE_OK);
    const sluice_query_plan *q = &plan->queries[0];
    const unsigned char want[] = {0, 0, 1, 1, 0};
    for (size_t r = 0; r < 5; r++) assert_int_equal(q->udf->failed[r], want[r]);
    assert_string_equal(q->udf->reason, "function score failed: model exploded");
}

static void test_on_error_fail(void **state) {
    (void)state;
    failing_batch(SLUICE_UDF_FAIL, SLUICE_ERR_RUNTIME);
    assert_string_equal(errstr, "function score failed: model exploded");
}

static void test_unbound_function(void **state) {
    (void)state;
    assert_int_equal(build("CREATE SINK o AS SELECT score(review, 0.0) AS s FROM r;"), SLUICE_OK);
    static const char *const reviews[] = {"a"};
    fill_rows(reviews, 1);
    assert_int_equal(sluice_udf_prefetch(plan, &plan->queries[0], rows, 1, 4, arena, errstr, sizeof errstr),
                     SLUICE_ERR_INVALID);
    assert_string_equal(errstr, "function score is not bound: add a [function score] section to the profile");
}

static void test_on_error_names(void **state) {
    (void)state;
    sluice_udf_on_error m;
    assert_int_equal(sluice_udf_on_error_parse("null", &m), 0);
    assert_int_equal(m, SLUICE_UDF_NULL);
    assert_int_equal(sluice_udf_on_error_parse("fail", &m), 0);
    assert_int_equal(m, SLUICE_UDF_FAIL);
    assert_int_equal(sluice_udf_on_error_parse("dead_letter", &m), 0);
    assert_int_equal(m, SLUICE_UDF_DEAD_LETTER);
    assert_int_equal(sluice_udf_on_error_parse("ignore", &m), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_create_function_is_parsed),
        T(test_create_function_without_returns),
        T(test_create_function_with_a_bad_type),
        T(test_call_is_typed_and_becomes_a_site),
        T(test_unknown_function_is_still_an_error),
        T(test_wrong_number_of_arguments),
        T(test_wrong_argument_type),
        T(test_call_over_aggregated_rows_is_refused),
        T(test_call_in_an_aggregate_argument_is_allowed),
        T(test_nested_calls_are_refused),
        T(test_function_named_like_a_builtin),
        T(test_duplicate_function),
        T(test_rows_are_sent_batch_size_at_a_time),
        T(test_on_error_null),
        T(test_on_error_dead_letter),
        T(test_on_error_fail),
        T(test_unbound_function),
        T(test_on_error_names),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
