/*
 * Unit tests for expression evaluation (docs/sql.md "Expressions"): each
 * expression is compiled by the real parser and planner as the output of a
 * stateless query and evaluated over hand-made rows of the source
 *   t (a BIGINT, b BIGINT, x DOUBLE, y DOUBLE, s VARCHAR, p BOOLEAN,
 *      q BOOLEAN, ts TIMESTAMP)
 * so that nothing is folded away at plan time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "sluice_test.h"
#include "sql/parser.h"

enum { A, B, X, Y, S, P, Q, TS, NCOLS };

#define T2001 INT64_C(978307200000) /* 2001-01-01 00:00:00 UTC */

typedef struct compiled {
    sluice_arena *ast_arena;
    sluice_plan *plan;
} compiled;

static compiled plans[64];
static size_t nplans;
static sluice_arena *eval_arena;
static sluice_value R[NCOLS];

static int setup(void **state) {
    (void)state;
    nplans = 0;
    eval_arena = sluice_arena_new(0);
    for (int i = 0; i < NCOLS; i++) R[i] = sluice_value_null();
    return eval_arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    for (size_t i = 0; i < nplans; i++) {
        sluice_plan_free(plans[i].plan);
        sluice_arena_destroy(plans[i].ast_arena);
    }
    sluice_arena_destroy(eval_arena);
    return 0;
}

/* Compile `SELECT <expr> AS v FROM t` and return v's expression. */
static const sluice_expr *compile(const char *expr) {
    char sql[2048];
    snprintf(sql, sizeof sql,
             "CREATE SOURCE t (a BIGINT, b BIGINT, x DOUBLE, y DOUBLE, s VARCHAR, p BOOLEAN, q BOOLEAN,\n"
             "                 ts TIMESTAMP);\n"
             "CREATE SINK o AS SELECT %s AS v FROM t;\n",
             expr);
    if (nplans == sizeof plans / sizeof plans[0]) fail_msg("too many plans in one test");
    compiled *c = &plans[nplans];
    c->ast_arena = sluice_arena_new(0);
    char err[1024] = "";
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(sql, strlen(sql), "e.sql", c->ast_arena, &ast, err, sizeof err) != SLUICE_OK)
        fail_msg("parse of '%s' failed: %s", expr, err);
    if (sluice_plan_build(ast, &c->plan, err, sizeof err) != SLUICE_OK) {
        sluice_arena_destroy(c->ast_arena);
        fail_msg("plan of '%s' failed: %s", expr, err);
    }
    nplans++;
    assert_int_equal(c->plan->nqueries, 1);
    assert_int_equal(c->plan->queries[0].aggregate, 0);
    return c->plan->queries[0].outputs[0];
}

static sluice_type_t type_of(const char *expr) {
    return compile(expr)->type;
}

static sluice_value ev(const char *expr) {
    return sluice_expr_eval(compile(expr), R, eval_arena);
}

#define assert_null_v(expr)                                                                        \
    do {                                                                                           \
        sluice_value v_ = ev(expr);                                                                \
        if (v_.type != SLUICE_TYPE_NULL) fail_msg("%s: expected NULL, got type %d", expr, v_.type); \
    } while (0)

#define assert_bigint_v(expr, want)                                                                \
    do {                                                                                           \
        sluice_value v_ = ev(expr);                                                                \
        if (v_.type != SLUICE_TYPE_BIGINT) fail_msg("%s: expected BIGINT, got type %d", expr, v_.type); \
        assert_int_equal(v_.u.i, (want));                                                          \
    } while (0)

#define assert_double_v(expr, want)                                                                \
    do {                                                                                           \
        sluice_value v_ = ev(expr);                                                                \
        if (v_.type != SLUICE_TYPE_DOUBLE) fail_msg("%s: expected DOUBLE, got type %d", expr, v_.type); \
        if (fabs(v_.u.d - (want)) > 1e-12) fail_msg("%s: expected %.17g, got %.17g", expr, (double)(want), v_.u.d); \
    } while (0)

#define assert_bool_v(expr, want)                                                                  \
    do {                                                                                           \
        sluice_value v_ = ev(expr);                                                                \
        if (v_.type != SLUICE_TYPE_BOOLEAN) fail_msg("%s: expected BOOLEAN, got type %d", expr, v_.type); \
        if (v_.u.i != (want)) fail_msg("%s: expected %s", expr, (want) ? "TRUE" : "FALSE");        \
    } while (0)

#define assert_str_v(expr, want)                                                                   \
    do {                                                                                           \
        sluice_value v_ = ev(expr);                                                                \
        if (v_.type != SLUICE_TYPE_VARCHAR) fail_msg("%s: expected VARCHAR, got type %d", expr, v_.type); \
        if (v_.len != strlen(want) || memcmp(v_.u.s, (want), v_.len) != 0)                         \
            fail_msg("%s: expected '%s', got '%.*s'", expr, (want), (int)v_.len, v_.u.s);         \
    } while (0)

#define assert_ts_v(expr, want)                                                                    \
    do {                                                                                           \
        sluice_value v_ = ev(expr);                                                                \
        if (v_.type != SLUICE_TYPE_TIMESTAMP) fail_msg("%s: expected TIMESTAMP, got type %d", expr, v_.type); \
        assert_int_equal(v_.u.i, (want));                                                          \
    } while (0)

/* ---- arithmetic ------------------------------------------------------------ */

static void test_bigint_arithmetic_stays_bigint(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(7);
    R[B] = sluice_value_bigint(3);
    assert_int_equal(type_of("a + b"), SLUICE_TYPE_BIGINT);
    assert_bigint_v("a + b", 10);
    assert_bigint_v("a - b", 4);
    assert_bigint_v("a * b", 21);
    assert_bigint_v("-a", -7);
    assert_bigint_v("a - b * 2", 1);
    assert_bigint_v("(a - b) * 2", 8);
}

static void test_integer_division_truncates_toward_zero(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(7);
    R[B] = sluice_value_bigint(2);
    assert_bigint_v("a / b", 3);
    assert_bigint_v("-a / b", -3);
    assert_bigint_v("a % b", 1);
    assert_bigint_v("-a % b", -1);
    assert_bigint_v("a % -b", 1);
}

static void test_mixed_arithmetic_promotes_to_double(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(7);
    R[X] = sluice_value_double(0.5);
    assert_int_equal(type_of("a + x"), SLUICE_TYPE_DOUBLE);
    assert_int_equal(type_of("x * 2"), SLUICE_TYPE_DOUBLE);
    assert_double_v("a + x", 7.5);
    assert_double_v("a * x", 3.5);
    assert_double_v("a / x", 14.0);
    assert_double_v("x - a", -6.5);
    assert_double_v("a / 2.0", 3.5);
    assert_double_v("-x", -0.5);
}

static void test_division_by_zero_is_null(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(7);
    R[B] = sluice_value_bigint(0);
    R[X] = sluice_value_double(1.5);
    R[Y] = sluice_value_double(0.0);
    assert_null_v("a / b");
    assert_null_v("a % b");
    assert_null_v("x / y");
    assert_null_v("a / y");
    assert_null_v("x / b");
}

static void test_integer_overflow_is_null(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(INT64_MAX);
    R[B] = sluice_value_bigint(INT64_MIN);
    assert_null_v("a + 1");
    assert_null_v("a * 2");
    assert_null_v("b - 1");
    assert_null_v("-b");
    assert_null_v("b / -1");
    assert_bigint_v("a - 1", INT64_MAX - 1);
    assert_bigint_v("b + a", -1);
}

static void test_null_propagates_through_arithmetic(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(7);
    R[X] = sluice_value_double(2.0);
    /* b and y are NULL */
    assert_null_v("a + b");
    assert_null_v("b * 0");
    assert_null_v("x - y");
    assert_null_v("-b");
    assert_null_v("a + NULL");
    assert_null_v("b / 0");
}

static void test_comparisons(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(3);
    R[B] = sluice_value_bigint(5);
    R[X] = sluice_value_double(3.0);
    R[S] = sluice_value_varchar("abc", 3);
    assert_bool_v("a < b", 1);
    assert_bool_v("a <= b", 1);
    assert_bool_v("a > b", 0);
    assert_bool_v("a >= b", 0);
    assert_bool_v("a = b", 0);
    assert_bool_v("a <> b", 1);
    assert_bool_v("a != b", 1);
    assert_bool_v("a = x", 1);
    assert_bool_v("s = 'abc'", 1);
    assert_bool_v("s < 'abd'", 1);
    assert_bool_v("s < 'ab'", 0);
    assert_bool_v("s > 'ab'", 1);
}

static void test_comparison_with_null_is_null(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(3);
    assert_null_v("a = b");
    assert_null_v("b = b");
    assert_null_v("a <> b");
    assert_null_v("a < NULL");
}

/* ---- three-valued logic ---------------------------------------------------- */

typedef enum { F = 0, T = 1, N = 2 } tv;

static sluice_value tv_value(tv t) {
    return t == N ? sluice_value_null() : sluice_value_bool(t == T);
}

static void check_tv(const char *expr, tv want) {
    sluice_value v = ev(expr);
    if (want == N) {
        if (v.type != SLUICE_TYPE_NULL)
            fail_msg("%s with p=%d q=%d: expected NULL", expr, R[P].type ? (int)R[P].u.i : -1,
                     R[Q].type ? (int)R[Q].u.i : -1);
    } else if (v.type != SLUICE_TYPE_BOOLEAN || v.u.i != (want == T)) {
        fail_msg("%s with p=%d q=%d: expected %s", expr, R[P].type ? (int)R[P].u.i : -1,
                 R[Q].type ? (int)R[Q].u.i : -1, want == T ? "TRUE" : "FALSE");
    }
}

static void test_and_truth_table(void **state) {
    (void)state;
    static const tv want[3][3] = {/* q = F  T  N */
                                  /* p=F */ {F, F, F},
                                  /* p=T */ {F, T, N},
                                  /* p=N */ {F, N, N}};
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 3; q++) {
            R[P] = tv_value((tv)p);
            R[Q] = tv_value((tv)q);
            check_tv("p AND q", want[p][q]);
        }
}

static void test_or_truth_table(void **state) {
    (void)state;
    static const tv want[3][3] = {/* q = F  T  N */
                                  /* p=F */ {F, T, N},
                                  /* p=T */ {T, T, T},
                                  /* p=N */ {N, T, N}};
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 3; q++) {
            R[P] = tv_value((tv)p);
            R[Q] = tv_value((tv)q);
            check_tv("p OR q", want[p][q]);
        }
}

static void test_not_truth_table(void **state) {
    (void)state;
    static const tv want[3] = {T, F, N};
    for (int p = 0; p < 3; p++) {
        R[P] = tv_value((tv)p);
        check_tv("NOT p", want[p]);
    }
}

static void test_and_binds_tighter_than_or(void **state) {
    (void)state;
    R[P] = sluice_value_bool(1);
    R[Q] = sluice_value_bool(0);
    /* TRUE OR (FALSE AND FALSE) = TRUE; (TRUE OR FALSE) AND FALSE would be FALSE */
    assert_bool_v("p OR q AND q", 1);
    assert_bool_v("NOT q AND p", 1);
}

static void test_is_null_and_is_not_null(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(0);
    R[S] = sluice_value_varchar("", 0);
    assert_bool_v("a IS NULL", 0);
    assert_bool_v("a IS NOT NULL", 1);
    assert_bool_v("b IS NULL", 1);
    assert_bool_v("b IS NOT NULL", 0);
    assert_bool_v("s IS NULL", 0);
    assert_bool_v("p IS NULL", 1);
    assert_bool_v("(a + b) IS NULL", 1);
}

/* ---- IN, BETWEEN, LIKE ----------------------------------------------------- */

static void test_in_list(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(2);
    R[S] = sluice_value_varchar("SFO", 3);
    assert_bool_v("a IN (1, 2, 3)", 1);
    assert_bool_v("a IN (4, 5)", 0);
    assert_bool_v("a NOT IN (4, 5)", 1);
    assert_bool_v("a NOT IN (1, 2)", 0);
    assert_bool_v("s IN ('LAX', 'SFO')", 1);
    assert_bool_v("s IN ('sfo')", 0);
    assert_bool_v("a IN (2.0, 7.5)", 1);
}

static void test_in_list_with_nulls(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(2);
    R[B] = sluice_value_bigint(3);
    /* a match wins over NULL; no match with a NULL in the list is NULL */
    assert_bool_v("a IN (1, 2, NULL)", 1);
    assert_null_v("b IN (1, 2, NULL)");
    assert_null_v("b NOT IN (1, 2, NULL)");
    assert_bool_v("a NOT IN (1, 2, NULL)", 0);
    assert_null_v("y IN (1.0, 2.0)");
    assert_null_v("y NOT IN (1.0, 2.0)");
    assert_null_v("b IN (1, a + y)");
}

static void test_between_is_inclusive(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(5);
    assert_bool_v("a BETWEEN 1 AND 10", 1);
    assert_bool_v("a BETWEEN 5 AND 5", 1);
    assert_bool_v("a BETWEEN 1 AND 5", 1);
    assert_bool_v("a BETWEEN 6 AND 10", 0);
    assert_bool_v("a BETWEEN 10 AND 1", 0);
    assert_bool_v("a NOT BETWEEN 1 AND 10", 0);
    assert_bool_v("a NOT BETWEEN 6 AND 10", 1);
    assert_bool_v("a BETWEEN 4.5 AND 5.5", 1);
}

static void test_between_with_nulls(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(5);
    R[X] = sluice_value_double(20.0);
    /* b is NULL: 5 >= NULL is NULL, 5 <= 10 TRUE -> NULL; 20 <= 10 FALSE -> FALSE */
    assert_null_v("a BETWEEN b AND 10");
    assert_null_v("a NOT BETWEEN b AND 10");
    assert_bool_v("x BETWEEN b AND 10", 0);
    assert_bool_v("x NOT BETWEEN b AND 10", 1);
    assert_null_v("b BETWEEN 1 AND 10");
}

static void test_like_percent_and_underscore(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("hello", 5);
    assert_bool_v("s LIKE 'hello'", 1);
    assert_bool_v("s LIKE 'h%'", 1);
    assert_bool_v("s LIKE '%o'", 1);
    assert_bool_v("s LIKE '%ll%'", 1);
    assert_bool_v("s LIKE '%'", 1);
    assert_bool_v("s LIKE 'h_llo'", 1);
    assert_bool_v("s LIKE '_____'", 1);
    assert_bool_v("s LIKE '____'", 0);
    assert_bool_v("s LIKE 'h_lo'", 0);
    assert_bool_v("s LIKE 'hell'", 0);
    assert_bool_v("s LIKE 'HELLO'", 0);
    assert_bool_v("s LIKE 'h%l%o'", 1);
    assert_bool_v("s LIKE '%%%'", 1);
    assert_bool_v("s LIKE 'x%'", 0);
    assert_bool_v("s NOT LIKE 'x%'", 1);
    assert_bool_v("s NOT LIKE 'h%'", 0);
}

static void test_like_backtracks(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("mississippi", 11);
    assert_bool_v("s LIKE '%iss%ppi'", 1);
    assert_bool_v("s LIKE '%issip%'", 1);
    assert_bool_v("s LIKE 'm%ss%ss%'", 1);
    assert_bool_v("s LIKE '%ss_ss_pp'", 0);
    assert_bool_v("s LIKE '%ss_ss_pp_'", 1);
    assert_bool_v("s LIKE '%sip_i'", 1);
}

static void test_like_on_empty_string(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("", 0);
    assert_bool_v("s LIKE ''", 1);
    assert_bool_v("s LIKE '%'", 1);
    assert_bool_v("s LIKE '_'", 0);
}

static void test_like_with_null_is_null(void **state) {
    (void)state;
    assert_null_v("s LIKE 'a%'");
    assert_null_v("s NOT LIKE 'a%'");
    R[S] = sluice_value_varchar("a", 1);
    assert_null_v("s LIKE NULL");
}

/* ---- CASE -------------------------------------------------------------------- */

static void test_searched_case(void **state) {
    (void)state;
    const char *e = "CASE WHEN a > 5 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END";
    R[A] = sluice_value_bigint(7);
    assert_str_v(e, "big");
    R[A] = sluice_value_bigint(3);
    assert_str_v(e, "small");
    R[A] = sluice_value_bigint(-1);
    assert_str_v(e, "none");
    /* a NULL condition is not true: falls through to ELSE */
    R[A] = sluice_value_null();
    assert_str_v(e, "none");
}

static void test_searched_case_without_else_is_null(void **state) {
    (void)state;
    const char *e = "CASE WHEN a > 5 THEN 'big' WHEN a > 0 THEN 'small' END";
    R[A] = sluice_value_bigint(-1);
    assert_null_v(e);
    R[A] = sluice_value_bigint(1);
    assert_str_v(e, "small");
}

static void test_simple_case(void **state) {
    (void)state;
    const char *e = "CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END";
    R[A] = sluice_value_bigint(1);
    assert_str_v(e, "one");
    R[A] = sluice_value_bigint(2);
    assert_str_v(e, "two");
    R[A] = sluice_value_bigint(9);
    assert_str_v(e, "many");
    /* NULL matches no WHEN, not even WHEN NULL */
    R[A] = sluice_value_null();
    assert_str_v(e, "many");
    assert_str_v("CASE a WHEN NULL THEN 'null' ELSE 'other' END", "other");
}

static void test_simple_case_without_else_is_null(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(3);
    assert_null_v("CASE a WHEN 1 THEN 'one' END");
}

static void test_case_branches_promote_to_double(void **state) {
    (void)state;
    const char *e = "CASE WHEN p THEN 1 ELSE 2.5 END";
    assert_int_equal(type_of(e), SLUICE_TYPE_DOUBLE);
    R[P] = sluice_value_bool(1);
    assert_double_v(e, 1.0);
    R[P] = sluice_value_bool(0);
    assert_double_v(e, 2.5);
}

/* ---- CAST -------------------------------------------------------------------- */

static void test_cast_numbers(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(7);
    R[X] = sluice_value_double(7.9);
    R[Y] = sluice_value_double(-7.9);
    assert_double_v("CAST(a AS DOUBLE)", 7.0);
    /* toward zero, like Flink and Spark */
    assert_bigint_v("CAST(x AS BIGINT)", 7);
    assert_bigint_v("CAST(y AS BIGINT)", -7);
}

static void test_cast_double_out_of_bigint_range_is_null(void **state) {
    (void)state;
    R[X] = sluice_value_double(1e19);
    R[Y] = sluice_value_double(NAN);
    assert_null_v("CAST(x AS BIGINT)");
    assert_null_v("CAST(y AS BIGINT)");
    assert_null_v("CAST(-x AS BIGINT)");
}

static void test_cast_varchar_to_numbers(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("42", 2);
    assert_bigint_v("CAST(s AS BIGINT)", 42);
    assert_double_v("CAST(s AS DOUBLE)", 42.0);
    R[S] = sluice_value_varchar(" -17 ", 5);
    assert_bigint_v("CAST(s AS BIGINT)", -17);
    R[S] = sluice_value_varchar("2.5", 3);
    assert_double_v("CAST(s AS DOUBLE)", 2.5);
}

static void test_cast_bad_strings_are_null(void **state) {
    (void)state;
    static const char *bad[] = {"", "abc", "4x", "1 2", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        R[S] = sluice_value_varchar(bad[i], strlen(bad[i]));
        sluice_value v = ev("CAST(s AS BIGINT)");
        if (v.type != SLUICE_TYPE_NULL) fail_msg("CAST('%s' AS BIGINT) is not NULL", bad[i]);
    }
    R[S] = sluice_value_varchar("x1.5", 4);
    assert_null_v("CAST(s AS DOUBLE)");
    R[S] = sluice_value_varchar("yes", 3);
    assert_null_v("CAST(s AS BOOLEAN)");
    R[S] = sluice_value_varchar("not a time", 10);
    assert_null_v("CAST(s AS TIMESTAMP)");
}

static void test_cast_varchar_to_boolean(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("true", 4);
    assert_bool_v("CAST(s AS BOOLEAN)", 1);
    R[S] = sluice_value_varchar("FALSE", 5);
    assert_bool_v("CAST(s AS BOOLEAN)", 0);
}

static void test_cast_varchar_to_timestamp(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("2001-01-01 00:47:00", 19);
    assert_ts_v("CAST(s AS TIMESTAMP)", T2001 + 47 * 60000);
    R[S] = sluice_value_varchar("2001-01-01T00:00:01.5Z", 22);
    assert_ts_v("CAST(s AS TIMESTAMP)", T2001 + 1500);
}

static void test_cast_to_varchar(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(-42);
    R[X] = sluice_value_double(2.5);
    R[Y] = sluice_value_double(0.1);
    R[P] = sluice_value_bool(1);
    R[Q] = sluice_value_bool(0);
    R[TS] = sluice_value_timestamp(T2001);
    assert_str_v("CAST(a AS VARCHAR)", "-42");
    assert_str_v("CAST(x AS VARCHAR)", "2.5");
    assert_str_v("CAST(y AS VARCHAR)", "0.1");
    assert_str_v("CAST(p AS VARCHAR)", "true");
    assert_str_v("CAST(q AS VARCHAR)", "false");
    assert_str_v("CAST(ts AS VARCHAR)", "2001-01-01 00:00:00");
    R[TS] = sluice_value_timestamp(T2001 + 250);
    assert_str_v("CAST(ts AS VARCHAR)", "2001-01-01 00:00:00.250");
}

static void test_cast_boolean_and_bigint(void **state) {
    (void)state;
    R[P] = sluice_value_bool(1);
    R[A] = sluice_value_bigint(0);
    R[B] = sluice_value_bigint(5);
    assert_bigint_v("CAST(p AS BIGINT)", 1);
    assert_bool_v("CAST(a AS BOOLEAN)", 0);
    assert_bool_v("CAST(b AS BOOLEAN)", 1);
}

static void test_cast_timestamp_and_bigint(void **state) {
    (void)state;
    R[TS] = sluice_value_timestamp(T2001);
    R[A] = sluice_value_bigint(1000);
    assert_bigint_v("CAST(ts AS BIGINT)", T2001);
    assert_ts_v("CAST(a AS TIMESTAMP)", 1000);
}

static void test_cast_null_is_null_of_the_target_type(void **state) {
    (void)state;
    assert_int_equal(type_of("CAST(NULL AS BIGINT)"), SLUICE_TYPE_BIGINT);
    assert_null_v("CAST(NULL AS BIGINT)");
    assert_null_v("CAST(a AS VARCHAR)");
    assert_null_v("CAST(s AS DOUBLE)");
    assert_null_v("CAST(ts AS BIGINT)");
}

/* ---- time ---------------------------------------------------------------------- */

static void test_timestamp_plus_and_minus_interval(void **state) {
    (void)state;
    R[TS] = sluice_value_timestamp(T2001);
    assert_int_equal(type_of("ts + INTERVAL '5' MINUTE"), SLUICE_TYPE_TIMESTAMP);
    assert_ts_v("ts + INTERVAL '5' MINUTE", T2001 + 300000);
    assert_ts_v("ts - INTERVAL '1' DAY", T2001 - 86400000);
    assert_ts_v("INTERVAL '2' HOURS + ts", T2001 + 7200000);
    assert_ts_v("ts + INTERVAL '250' MILLISECOND", T2001 + 250);
    assert_ts_v("ts - INTERVAL '30' SECONDS", T2001 - 30000);
}

static void test_timestamp_difference_as_milliseconds(void **state) {
    (void)state;
    R[TS] = sluice_value_timestamp(T2001 + 90000);
    assert_bigint_v("CAST(ts - TIMESTAMP '2001-01-01 00:00:00' AS BIGINT)", 90000);
}

static void test_timestamp_compares_with_literal(void **state) {
    (void)state;
    R[TS] = sluice_value_timestamp(T2001 + 1);
    assert_bool_v("ts > TIMESTAMP '2001-01-01 00:00:00'", 1);
    assert_bool_v("ts >= '2001-01-02'", 0);
    assert_bool_v("ts < '2001-01-02'", 1);
    assert_null_v("ts + INTERVAL '1' SECOND > NULL");
}

static void test_timestamp_arithmetic_with_null_is_null(void **state) {
    (void)state;
    assert_null_v("ts + INTERVAL '5' MINUTE");
}

/* ---- functions ------------------------------------------------------------------ */

static void test_lower_and_upper(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("HeLLo 1", 7);
    assert_str_v("LOWER(s)", "hello 1");
    assert_str_v("UPPER(s)", "HELLO 1");
    R[S] = sluice_value_null();
    assert_null_v("LOWER(s)");
    assert_null_v("UPPER(s)");
}

/* Unicode case mapping (utf8proc), values from UnicodeData.txt and
 * SpecialCasing.txt: UPPER is the full mapping (as Java's toUpperCase in
 * Flink and Spark), LOWER the simple one. */
static void test_unicode_case(void **state) {
    (void)state;
    static const struct {
        const char *fn, *in, *want;
    } cases[] = {
        {"UPPER", "stra\xC3\x9F" "e", "STRASSE"},                           /* ß -> SS */
        {"LOWER", "\xC3\x80\xC3\x89\xC3\x8E", "\xC3\xA0\xC3\xA9\xC3\xAE"},   /* ÀÉÎ -> àéî */
        {"UPPER", "\xC3\xA0\xC3\xA9\xC3\xAE", "\xC3\x80\xC3\x89\xC3\x8E"},
        /* κόσμος -> ΚΌΣΜΟΣ (final ς -> Σ); back: κόσμοσ (no final-sigma rule) */
        {"UPPER", "\xCE\xBA\xCF\x8C\xCF\x83\xCE\xBC\xCE\xBF\xCF\x82",
         "\xCE\x9A\xCE\x8C\xCE\xA3\xCE\x9C\xCE\x9F\xCE\xA3"},
        {"LOWER", "\xCE\x9A\xCE\x8C\xCE\xA3\xCE\x9C\xCE\x9F\xCE\xA3",
         "\xCE\xBA\xCF\x8C\xCF\x83\xCE\xBC\xCE\xBF\xCF\x83"},
        {"LOWER", "\xC4\xB0I", "ii"},                   /* Turkish İ -> i (simple mapping) */
        {"UPPER", "\xC4\xB1i", "II"},                   /* dotless ı -> I */
        {"UPPER", "\xEF\xAC\x81", "FI"},                 /* ﬁ ligature */
        {"UPPER", "\xC5\x89", "\xCA\xBC" "N"},            /* ŉ -> ʼN */
        {"UPPER", "\xCE\x90", "\xCE\x99\xCC\x88\xCC\x81"}, /* ΐ -> Ϊ́ (three code points) */
        {"UPPER", "\xC7\x85", "\xC7\x84"},              /* titlecase ǅ -> Ǆ */
        {"UPPER", "\xE2\x84\xAA\xE1\xBA\x9E", "\xE2\x84\xAA\xE1\xBA\x9E"}, /* K-sign, ẞ stay */
        {"LOWER", "\xE1\xBA\x9E", "\xC3\x9F"},           /* ẞ -> ß */
        {"LOWER", "\xC8\xBA", "\xE2\xB1\xA5"},           /* Ⱥ -> ⱥ: two bytes become three */
        {"UPPER", "a1 \xF0\x9F\x98\x80!", "A1 \xF0\x9F\x98\x80!"},    /* no case: unchanged */
        {"LOWER", "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char expr[32];
        snprintf(expr, sizeof expr, "%s(s)", cases[i].fn);
        R[S] = sluice_value_varchar(cases[i].in, strlen(cases[i].in));
        assert_str_v(expr, cases[i].want);
    }
}

/* LENGTH, SUBSTR and LIKE's '_' count characters (code points), not bytes. */
static void test_string_functions_count_characters(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("\xCE\xBA\xCF\x8C\xCF\x83\xCE\xBC\xCE\xBF\xCF\x82", 12); /* κόσμος */
    assert_bigint_v("LENGTH(s)", 6);
    assert_str_v("SUBSTR(s, 2, 3)", "\xCF\x8C\xCF\x83\xCE\xBC");
    assert_str_v("SUBSTR(s, 6)", "\xCF\x82");
    assert_bool_v("s LIKE '______'", 1);
    assert_bool_v("s LIKE '_____'", 0);
    assert_bool_v("s LIKE '_\xCF\x8C%'", 1);
    assert_bool_v("s LIKE '%\xCE\xBF_'", 1);
    assert_bool_v("s LIKE '%_\xCE\xBC__'", 1);
    R[S] = sluice_value_varchar("a\xF0\x9F\x98\x80" "b", 6);
    assert_bigint_v("LENGTH(s)", 3);
    assert_bool_v("s LIKE 'a_b'", 1);
    assert_bool_v("s LIKE '%_'", 1);
    assert_bool_v("s LIKE '___'", 1);
    assert_str_v("SUBSTR(s, 2, 1)", "\xF0\x9F\x98\x80");
    assert_str_v("TRIM(s)", "a\xF0\x9F\x98\x80" "b");
}

static void test_length_counts_characters(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("hello", 5);
    assert_bigint_v("LENGTH(s)", 5);
    R[S] = sluice_value_varchar("", 0);
    assert_bigint_v("LENGTH(s)", 0);
    R[S] = sluice_value_varchar("h\xc3\xa9llo", 6);
    assert_bigint_v("LENGTH(s)", 5);
    R[S] = sluice_value_null();
    assert_null_v("LENGTH(s)");
}

static void test_substr(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("hello", 5);
    assert_str_v("SUBSTR(s, 1)", "hello");
    assert_str_v("SUBSTR(s, 2)", "ello");
    assert_str_v("SUBSTR(s, 2, 3)", "ell");
    assert_str_v("SUBSTR(s, 4, 10)", "lo");
    assert_str_v("SUBSTR(s, 6)", "");
    assert_str_v("SUBSTR(s, 10, 2)", "");
    assert_str_v("SUBSTR(s, 1, 0)", "");
    R[S] = sluice_value_varchar("h\xc3\xa9llo", 6);
    assert_str_v("SUBSTR(s, 2, 2)", "\xc3\xa9l");
}

static void test_substr_with_null_args_is_null(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("hello", 5);
    assert_null_v("SUBSTR(s, a)");
    assert_null_v("SUBSTR(s, 1, a)");
    R[S] = sluice_value_null();
    assert_null_v("SUBSTR(s, 1, 2)");
}

static void test_trim(void **state) {
    (void)state;
    R[S] = sluice_value_varchar("  hi there  ", 12);
    assert_str_v("TRIM(s)", "hi there");
    R[S] = sluice_value_varchar("   ", 3);
    assert_str_v("TRIM(s)", "");
    R[S] = sluice_value_null();
    assert_null_v("TRIM(s)");
}

static void test_abs(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(-5);
    R[X] = sluice_value_double(-2.5);
    assert_bigint_v("ABS(a)", 5);
    assert_bigint_v("ABS(-a)", 5);
    assert_double_v("ABS(x)", 2.5);
    assert_null_v("ABS(b)");
    assert_null_v("ABS(y)");
    R[A] = sluice_value_bigint(INT64_MIN);
    assert_null_v("ABS(a)");
}

static void test_round_half_away_from_zero(void **state) {
    (void)state;
    R[X] = sluice_value_double(2.5);
    R[Y] = sluice_value_double(-2.5);
    assert_double_v("ROUND(x)", 3.0);
    assert_double_v("ROUND(y)", -3.0);
    R[X] = sluice_value_double(1.25);
    assert_double_v("ROUND(x, 1)", 1.3);
    R[X] = sluice_value_double(2.4);
    assert_double_v("ROUND(x)", 2.0);
}

static void test_round_bigint_with_negative_digits(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(1234);
    assert_bigint_v("ROUND(a)", 1234);
    assert_bigint_v("ROUND(a, -2)", 1200);
    R[A] = sluice_value_bigint(1250);
    assert_bigint_v("ROUND(a, -2)", 1300);
    R[A] = sluice_value_bigint(-1250);
    assert_bigint_v("ROUND(a, -2)", -1300);
}

static void test_round_with_null_is_null(void **state) {
    (void)state;
    R[X] = sluice_value_double(2.5);
    assert_null_v("ROUND(y)");
    assert_null_v("ROUND(x, b)");
}

static void test_floor_and_ceil(void **state) {
    (void)state;
    R[X] = sluice_value_double(2.7);
    R[Y] = sluice_value_double(-2.3);
    R[A] = sluice_value_bigint(5);
    assert_double_v("FLOOR(x)", 2.0);
    assert_double_v("FLOOR(y)", -3.0);
    assert_double_v("CEIL(x)", 3.0);
    assert_double_v("CEIL(y)", -2.0);
    assert_bigint_v("FLOOR(a)", 5);
    assert_bigint_v("CEIL(a)", 5);
    assert_null_v("FLOOR(b)");
    assert_null_v("CEIL(b)");
}

static void test_coalesce(void **state) {
    (void)state;
    R[B] = sluice_value_bigint(5);
    assert_bigint_v("COALESCE(a, b, 3)", 5);
    assert_bigint_v("COALESCE(a, 3)", 3);
    assert_null_v("COALESCE(a, b + a)");
    R[S] = sluice_value_varchar("x", 1);
    assert_str_v("COALESCE(NULL, s, 'y')", "x");
}

static void test_coalesce_promotes_to_double(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(3);
    assert_int_equal(type_of("COALESCE(a, x)"), SLUICE_TYPE_DOUBLE);
    assert_double_v("COALESCE(a, x)", 3.0);
    R[A] = sluice_value_null();
    R[X] = sluice_value_double(0.5);
    assert_double_v("COALESCE(a, x)", 0.5);
}

static void test_constant_expression_is_folded_to_the_same_value(void **state) {
    (void)state;
    const sluice_expr *e = compile("1 + 2 * 3");
    assert_int_equal(e->kind, SLUICE_EXPR_CONST);
    assert_bigint_v("1 + 2 * 3", 7);
    assert_null_v("1 / 0");
    assert_str_v("UPPER('ab') ", "AB");
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T_(test_bigint_arithmetic_stays_bigint),
        T_(test_integer_division_truncates_toward_zero),
        T_(test_mixed_arithmetic_promotes_to_double),
        T_(test_division_by_zero_is_null),
        T_(test_integer_overflow_is_null),
        T_(test_null_propagates_through_arithmetic),
        T_(test_comparisons),
        T_(test_comparison_with_null_is_null),
        T_(test_and_truth_table),
        T_(test_or_truth_table),
        T_(test_not_truth_table),
        T_(test_and_binds_tighter_than_or),
        T_(test_is_null_and_is_not_null),
        T_(test_in_list),
        T_(test_in_list_with_nulls),
        T_(test_between_is_inclusive),
        T_(test_between_with_nulls),
        T_(test_like_percent_and_underscore),
        T_(test_like_backtracks),
        T_(test_like_on_empty_string),
        T_(test_like_with_null_is_null),
        T_(test_searched_case),
        T_(test_searched_case_without_else_is_null),
        T_(test_simple_case),
        T_(test_simple_case_without_else_is_null),
        T_(test_case_branches_promote_to_double),
        T_(test_cast_numbers),
        T_(test_cast_double_out_of_bigint_range_is_null),
        T_(test_cast_varchar_to_numbers),
        T_(test_cast_bad_strings_are_null),
        T_(test_cast_varchar_to_boolean),
        T_(test_cast_varchar_to_timestamp),
        T_(test_cast_to_varchar),
        T_(test_cast_boolean_and_bigint),
        T_(test_cast_timestamp_and_bigint),
        T_(test_cast_null_is_null_of_the_target_type),
        T_(test_timestamp_plus_and_minus_interval),
        T_(test_timestamp_difference_as_milliseconds),
        T_(test_timestamp_compares_with_literal),
        T_(test_timestamp_arithmetic_with_null_is_null),
        T_(test_lower_and_upper),
        T_(test_unicode_case),
        T_(test_string_functions_count_characters),
        T_(test_length_counts_characters),
        T_(test_substr),
        T_(test_substr_with_null_args_is_null),
        T_(test_trim),
        T_(test_abs),
        T_(test_round_half_away_from_zero),
        T_(test_round_bigint_with_negative_digits),
        T_(test_round_with_null_is_null),
        T_(test_floor_and_ceil),
        T_(test_coalesce),
        T_(test_coalesce_promotes_to_double),
        T_(test_constant_expression_is_folded_to_the_same_value),
#undef T_
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
