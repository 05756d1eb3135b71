/*
 * Unit tests for the everyday scalar functions with Flink's names
 * (docs/sql.md "Functions"; src/sql/plan_func.c, src/exec/func_*.c): each
 * expression is compiled by the real parser and planner as the output of
 * a stateless query over the source
 *   t (a BIGINT, b BIGINT, x DOUBLE, s VARCHAR, u VARCHAR, p BOOLEAN, ts TIMESTAMP)
 * and evaluated over hand-made rows; expected values are computed by hand
 * (dates from the calendar: 2024-02-29 was a Thursday).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "plan/plan.h"
#include "sluice_test.h"
#include "sql/parser.h"

enum { A, B, X, S, U, P, TS, NCOLS };

#define DAY INT64_C(86400000)
/* 2024-02-29 13:45:07.123 UTC: 2024-01-01 is day 19723 of the epoch, + 59 days */
#define T_LEAP (INT64_C(19782) * DAY + INT64_C(49507123))
#define T2001 INT64_C(978307200000) /* 2001-01-01 00:00:00 UTC */

typedef struct compiled {
    sluice_arena *ast_arena;
    sluice_plan *plan;
} compiled;

static compiled plans[128];
static size_t nplans;
static sluice_arena *eval_arena;
static sluice_value R[NCOLS];
static char errstr[1024];

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

/* Build `SELECT <expr> AS v FROM t`: SLUICE_OK (the plan kept), or the
 * error with its message in errstr. */
static sluice_err_t build(const char *expr, const sluice_expr **out) {
    char sql[4096];
    snprintf(sql, sizeof sql,
             "CREATE SOURCE t (a BIGINT, b BIGINT, x DOUBLE, s VARCHAR, u VARCHAR, p BOOLEAN,\n"
             "                 ts TIMESTAMP);\n"
             "CREATE SINK o AS SELECT %s AS v FROM t;\n",
             expr);
    if (nplans == sizeof plans / sizeof plans[0]) fail_msg("too many plans in one test");
    compiled *c = &plans[nplans];
    c->ast_arena = sluice_arena_new(0);
    errstr[0] = '\0';
    sluice_ast_pipeline *ast = NULL;
    sluice_err_t err = sluice_sql_parse(sql, strlen(sql), "e.sql", c->ast_arena, &ast, errstr, sizeof errstr);
    if (err == SLUICE_OK) err = sluice_plan_build(ast, &c->plan, errstr, sizeof errstr);
    if (err != SLUICE_OK) {
        sluice_arena_destroy(c->ast_arena);
        return err;
    }
    nplans++;
    *out = c->plan->queries[0].outputs[0];
    return SLUICE_OK;
}

static const sluice_expr *compile(const char *expr) {
    const sluice_expr *e = NULL;
    if (build(expr, &e) != SLUICE_OK) fail_msg("'%s' failed: %s", expr, errstr);
    return e;
}

/* The plan error of expr (which must not plan). */
static const char *plan_error(const char *expr) {
    const sluice_expr *e;
    if (build(expr, &e) == SLUICE_OK) fail_msg("'%s' planned, expected an error", expr);
    return errstr;
}

#define assert_plan_error(expr, phrase)                                                             \
    do {                                                                                            \
        const char *m_ = plan_error(expr);                                                          \
        if (!strstr(m_, (phrase))) fail_msg("%s: expected '%s' in: %s", expr, (phrase), m_);        \
    } while (0)

static sluice_value ev(const char *expr) { return sluice_expr_eval(compile(expr), R, eval_arena); }

#define assert_null_v(expr)                                                                        \
    do {                                                                                           \
        sluice_value v_ = ev(expr);                                                                \
        if (v_.type != SLUICE_TYPE_NULL) fail_msg("%s: expected NULL, got type %d", expr, v_.type); \
    } while (0)

#define assert_bigint_v(expr, want)                                                                \
    do {                                                                                           \
        sluice_value v_ = ev(expr);                                                                \
        if (v_.type != SLUICE_TYPE_BIGINT) fail_msg("%s: expected BIGINT, got type %d", expr, v_.type); \
        if (v_.u.i != (int64_t)(want)) fail_msg("%s: expected %lld, got %lld", expr, (long long)(want), (long long)v_.u.i); \
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
        if (v_.u.i != (int64_t)(want)) fail_msg("%s: expected %lld, got %lld", expr, (long long)(want), (long long)v_.u.i); \
    } while (0)

static void set_s(const char *text) { R[S] = sluice_value_varchar(text, strlen(text)); }
static void set_u(const char *text) { R[U] = sluice_value_varchar(text, strlen(text)); }

/* ---- MOD, GREATEST, LEAST, IF, NULLIF ---- */

static void test_mod_has_the_sign_of_the_dividend(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(-7);
    R[B] = sluice_value_bigint(0);
    assert_bigint_v("MOD(7, 3)", 1);
    assert_bigint_v("MOD(a, 3)", -1);
    assert_bigint_v("MOD(7, -3)", 1);
    assert_null_v("MOD(a, b)");
    assert_null_v("MOD(a, NULL)");
    R[A] = sluice_value_bigint(INT64_MIN);
    assert_bigint_v("MOD(a, -1)", 0);
    R[X] = sluice_value_double(7.5);
    assert_int_equal(compile("MOD(x, 2)")->type, SLUICE_TYPE_DOUBLE);
    assert_double_v("MOD(x, 2)", 1.5);
    assert_plan_error("MOD(s, 2)", "argument 1 of MOD needs a number, got VARCHAR");
    assert_plan_error("MOD(1)", "MOD takes 2 arguments, got 1");
}

static void test_greatest_and_least_are_null_when_any_argument_is(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(3);
    assert_bigint_v("GREATEST(1, a, 2)", 3);
    assert_bigint_v("LEAST(1, a, 2)", 1);
    assert_double_v("GREATEST(1, 2.5)", 2.5);
    assert_double_v("LEAST(a, 4.5)", 3.0);
    assert_null_v("GREATEST(a, NULL, 7)");
    assert_null_v("LEAST(b, 1)");
    assert_str_v("LEAST('b', 'ab', 'c')", "ab");
    R[TS] = sluice_value_timestamp(T2001);
    assert_ts_v("GREATEST(ts, TIMESTAMP '2000-01-01 00:00:00')", T2001);
    assert_plan_error("GREATEST(1, 'a')", "GREATEST arguments mix BIGINT and VARCHAR");
}

static void test_if_takes_the_else_branch_for_false_and_null(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(3);
    assert_str_v("IF(a > 1, 'big', 'small')", "big");
    assert_str_v("IF(a > 5, 'big', 'small')", "small");
    assert_bigint_v("IF(p, 1, 2)", 2); /* p is NULL */
    R[P] = sluice_value_bool(1);
    assert_double_v("IF(p, 1, 2.5)", 1.0);
    assert_plan_error("IF(a, 1, 2)", "argument 1 of IF needs a BOOLEAN, got BIGINT");
    assert_plan_error("IF(p, 1, 'x')", "IF arguments mix BIGINT and VARCHAR");
}

static void test_nullif(void **state) {
    (void)state;
    R[A] = sluice_value_bigint(3);
    assert_null_v("NULLIF(a, 3)");
    assert_bigint_v("NULLIF(a, 4)", 3);
    assert_null_v("NULLIF(a, 3.0)");
    assert_null_v("NULLIF(b, 1)");
    assert_bigint_v("NULLIF(a, b)", 3);
    set_s("");
    assert_null_v("NULLIF(s, '')");
}

/* ---- strings ---- */

static void test_concat_and_the_pipe_operator(void **state) {
    (void)state;
    set_s("ab");
    R[A] = sluice_value_bigint(5);
    assert_str_v("'x' || s || 'y'", "xaby");
    assert_str_v("CONCAT(s, '-', a)", "ab-5");
    assert_str_v("CONCAT(s)", "ab");
    assert_null_v("CONCAT(s, NULL)");
    assert_null_v("u || 'z'");
    assert_int_equal(compile("s || s")->type, SLUICE_TYPE_VARCHAR);
    /* || binds tighter than comparison, as * does */
    assert_bool_v("'a' || 'b' = 'ab'", 1);
    assert_plan_error("CONCAT(SPLIT(s, ','))", "argument 1 of CONCAT needs a value that is not an ARRAY");
}

static void test_concat_ws_skips_nulls(void **state) {
    (void)state;
    assert_str_v("CONCAT_WS('-', 'a', NULL, 'b')", "a-b");
    assert_str_v("CONCAT_WS(', ', 'a', 'b', 'c')", "a, b, c");
    assert_str_v("CONCAT_WS(',', NULL)", "");
    assert_null_v("CONCAT_WS(NULL, 'a', 'b')");
    assert_str_v("CONCAT_WS('', 'a', 'b')", "ab");
}

static void test_replace(void **state) {
    (void)state;
    assert_str_v("REPLACE('aaa', 'aa', 'b')", "ba");
    assert_str_v("REPLACE('hello world', 'o', '0')", "hell0 w0rld");
    assert_str_v("REPLACE('abc', 'x', 'y')", "abc");
    assert_str_v("REPLACE('abc', 'b', '')", "ac");
    /* Java's String.replace: an empty target goes around every character */
    assert_str_v("REPLACE('aé', '', '-')", "-a-é-");
    assert_str_v("REPLACE('héllo', 'é', 'e')", "hello");
    assert_null_v("REPLACE('abc', 'b', NULL)");
    assert_null_v("REPLACE(s, 'b', 'c')");
}

static void test_split_index_is_zero_based(void **state) {
    (void)state;
    assert_str_v("SPLIT_INDEX('a,b,,c', ',', 0)", "a");
    assert_str_v("SPLIT_INDEX('a,b,,c', ',', 1)", "b");
    assert_str_v("SPLIT_INDEX('a,b,,c', ',', 2)", "");
    assert_str_v("SPLIT_INDEX('a,b,,c', ',', 3)", "c");
    assert_null_v("SPLIT_INDEX('a,b,,c', ',', 4)");
    assert_null_v("SPLIT_INDEX('a,b', ',', -1)");
    assert_str_v("SPLIT_INDEX('a::b', '::', 1)", "b");
    assert_str_v("SPLIT_INDEX('abc', ',', 0)", "abc");
    assert_str_v("SPLIT_INDEX(',a', ',', 0)", "");
    assert_null_v("SPLIT_INDEX('', ',', 0)");
    assert_str_v("SPLIT_INDEX('a b', '', 1)", "b");
    assert_null_v("SPLIT_INDEX(s, ',', 0)");
    assert_null_v("SPLIT_INDEX('a', NULL, 0)");
    assert_null_v("SPLIT_INDEX('a', ',', NULL)");
}

/* ---- regular expressions ---- */

static void test_regexp_matches_any_substring(void **state) {
    (void)state;
    assert_bool_v("REGEXP('abc', 'b')", 1);
    assert_bool_v("REGEXP('abc', '^b')", 0);
    assert_bool_v("REGEXP('', 'x*')", 1);
    assert_bool_v("REGEXP('Straße', '^Stra.e$')", 1); /* '.' is one character */
    assert_null_v("REGEXP(s, 'a')");
    set_s("abc");
    assert_null_v("REGEXP(s, u)");
    set_u("c$");
    assert_bool_v("REGEXP(s, u)", 1);
}

static void test_regexp_extract_groups(void **state) {
    (void)state;
    assert_str_v("REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', 2)", "bar");
    assert_str_v("REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', 1)", "the");
    assert_str_v("REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)')", "foothebar");
    assert_null_v("REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', 3)");
    assert_null_v("REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', -1)");
    assert_null_v("REGEXP_EXTRACT('xyz', 'a(b)')");
    assert_null_v("REGEXP_EXTRACT('ac', 'a(b)?c', 1)"); /* the group took no part */
    assert_str_v("REGEXP_EXTRACT('héllo', 'h.l')", "hél");
    assert_str_v("REGEXP_EXTRACT('x=12&y=7', 'y=(\\d+)', 1)", "7");
}

static void test_regexp_replace_all_matches(void **state) {
    (void)state;
    assert_str_v("REGEXP_REPLACE('foobar', 'oo|ar', '')", "fb");
    assert_str_v("REGEXP_REPLACE('abc', 'x*', '-')", "-a-b-c-");
    assert_str_v("REGEXP_REPLACE('john smith', '(\\w+) (\\w+)', '$2 $1')", "smith john");
    assert_str_v("REGEXP_REPLACE('a.b', '\\.', '\\$')", "a$b"); /* Java's \\$: a literal $ */
    assert_str_v("REGEXP_REPLACE('ac', 'a(b)?c', '[$1]')", "[]");
    assert_null_v("REGEXP_REPLACE('abc', 'b', NULL)");
    assert_null_v("REGEXP_REPLACE('abc', '(b)', '$2')"); /* no group 2 */
}

static void test_bad_constant_pattern_is_a_plan_error(void **state) {
    (void)state;
    /* line 3, column 25 is where the expression starts */
    assert_plan_error("REGEXP(s, '(')", "e.sql:3:35: REGEXP: bad regular expression: missing closing parenthesis");
    assert_plan_error("REGEXP_EXTRACT(s, 'a[')", "e.sql:3:43: REGEXP_EXTRACT: bad regular expression");
    assert_plan_error("REGEXP_REPLACE(s, '\\xff(', 'x')", "REGEXP_REPLACE: bad regular expression");
}

static void test_pattern_of_the_row_is_compiled_and_cached(void **state) {
    (void)state;
    const sluice_expr *e = compile("REGEXP_EXTRACT(s, u, 1)");
    char subject[64], pattern[64];
    /* more patterns than the cache holds, twice round */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 20; i++) {
            snprintf(subject, sizeof subject, "k%d=v%d", i, i * 7);
            snprintf(pattern, sizeof pattern, "k%d=(v\\d+)", i);
            set_s(subject);
            set_u(pattern);
            sluice_value v = sluice_expr_eval(e, R, eval_arena);
            char want[32];
            snprintf(want, sizeof want, "v%d", i * 7);
            assert_int_equal(v.type, SLUICE_TYPE_VARCHAR);
            assert_int_equal(v.len, strlen(want));
            assert_memory_equal(v.u.s, want, v.len);
        }
    set_u("(");
    assert_null_v("REGEXP_EXTRACT(s, u, 1)"); /* a bad pattern of a row is NULL */
    assert_null_v("REGEXP(s, u)");
}

static void test_pathological_pattern_gives_up(void **state) {
    (void)state;
    char text[64];
    memset(text, 'a', 40);
    strcpy(text + 40, "b");
    set_s(text);
    /* exponential backtracking without a match limit */
    sluice_value v = ev("REGEXP(s, '^(a|aa)+$')");
    assert_true(v.type == SLUICE_TYPE_NULL || (v.type == SLUICE_TYPE_BOOLEAN && v.u.i == 0));
}

/* ---- JSON_VALUE ---- */

static void test_json_value(void **state) {
    (void)state;
    set_s("{\"a\":{\"b\":[1,2.5,\"x\",true,null,{\"c\":1},2.0,-3]},\"k y\":\"q\\\"t\",\"big\":18446744073709551615}");
    assert_str_v("JSON_VALUE(s, '$.a.b[0]')", "1");
    assert_str_v("JSON_VALUE(s, '$.a.b[1]')", "2.5");
    assert_str_v("JSON_VALUE(s, '$.a.b[2]')", "x");
    assert_str_v("JSON_VALUE(s, '$.a.b[3]')", "true");
    assert_null_v("JSON_VALUE(s, '$.a.b[4]')"); /* JSON null */
    assert_null_v("JSON_VALUE(s, '$.a.b[5]')"); /* an object */
    assert_str_v("JSON_VALUE(s, '$.a.b[6]')", "2.0");
    assert_str_v("JSON_VALUE(s, '$.a.b[7]')", "-3");
    assert_null_v("JSON_VALUE(s, '$.a.b[8]')"); /* absent */
    assert_null_v("JSON_VALUE(s, '$.a')");      /* an object */
    assert_null_v("JSON_VALUE(s, '$.nope')");
    assert_str_v("JSON_VALUE(s, '$[''k y'']')", "q\"t");
    assert_str_v("JSON_VALUE(s, '$.big')", "18446744073709551615");
    assert_str_v("JSON_VALUE(s, 'lax $.a.b[2]')", "x");
    assert_str_v("JSON_VALUE('\"top\"', '$')", "top");
    set_s("{\"a\": 1");
    assert_null_v("JSON_VALUE(s, '$.a')"); /* not JSON */
    set_s("not json");
    assert_null_v("JSON_VALUE(s, '$.a')");
    assert_null_v("JSON_VALUE(u, '$.a')");
    set_s("{\"a\":1}");
    assert_null_v("JSON_VALUE(s, u)");
    set_u("a.b");
    assert_null_v("JSON_VALUE(s, u)"); /* a bad path of a row */
    set_u("$.a");
    assert_str_v("JSON_VALUE(s, u)", "1");
    assert_plan_error("JSON_VALUE(s, '$.a[*]')", "e.sql:3:39: JSON_VALUE: '$.a[*]' is not a JSON path");
}

/* ---- dates and times ---- */

static void test_date_format_pattern_letters(void **state) {
    (void)state;
    R[TS] = sluice_value_timestamp(T_LEAP);
    assert_str_v("DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')", "2024-02-29 13:45:07");
    assert_str_v("DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss.SSS')", "2024-02-29 13:45:07.123");
    assert_str_v("DATE_FORMAT(ts, 'yy/M/d h:mm a')", "24/2/29 1:45 PM");
    assert_str_v("DATE_FORMAT(ts, 'EEE, d MMM yyyy')", "Thu, 29 Feb 2024");
    assert_str_v("DATE_FORMAT(ts, 'EEEE d MMMM, D')", "Thursday 29 February, 60");
    assert_str_v("DATE_FORMAT(ts, 'yyyy-MM-dd''T''HH:mm''''ss')", "2024-02-29T13:45'07");
    assert_str_v("DATE_FORMAT(ts, 'S|SS|SSSS')", "1|12|1230");
    assert_str_v("DATE_FORMAT(ts, 'HH:mm')", "13:45");
    assert_str_v("DATE_FORMAT('2024-02-29 13:45:07', 'HH')", "13");
    assert_null_v("DATE_FORMAT('not a time', 'HH')");
    assert_null_v("DATE_FORMAT(ts, u)");
    set_u("dd.MM.yyyy");
    assert_str_v("DATE_FORMAT(ts, u)", "29.02.2024");
    set_u("yyyy-QQ");
    assert_null_v("DATE_FORMAT(ts, u)"); /* an unsupported letter of a row */
    R[TS] = sluice_value_timestamp(-1);
    assert_str_v("DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss.SSS')", "1969-12-31 23:59:59.999");
    assert_plan_error("DATE_FORMAT(ts, 'yyyy-QQ')", "e.sql:3:41: DATE_FORMAT: date pattern letter 'Q' is not supported");
    assert_plan_error("DATE_FORMAT(ts, 'yyyy ''T')", "unterminated quoted text");
}

static void test_date_functions_never_fail_out_of_range(void **state) {
    (void)state;
    const char *exprs[] = {"DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss.SSS EEEE D a h')", "YEAR(ts)", "WEEK(ts)",
                           "DAYOFWEEK(ts)", "EXTRACT(EPOCH FROM ts)", "TIMESTAMPADD(MONTH, 1, ts)",
                           "TIMESTAMPADD(YEAR, -1000000, ts)", "TIMESTAMPDIFF(MONTH, ts, TIMESTAMP '2000-01-01 00:00:00')",
                           "TIMESTAMPADD(DAY, 1, ts)"};
    int64_t values[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX, -1, 0, INT64_C(253402300800000)};
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        const sluice_expr *e = compile(exprs[i]);
        for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
            R[TS] = sluice_value_timestamp(values[k]);
            (void)sluice_expr_eval(e, R, eval_arena);
        }
    }
    R[TS] = sluice_value_timestamp(INT64_MAX);
    assert_null_v("TIMESTAMPADD(DAY, 1, ts)");
    assert_null_v("TIMESTAMPADD(MONTH, 1, ts)");
    R[A] = sluice_value_bigint(INT64_MAX);
    R[TS] = sluice_value_timestamp(0);
    assert_null_v("TIMESTAMPADD(SECOND, a, ts)");
    assert_null_v("TIMESTAMPADD(MONTH, a, ts)");
    assert_null_v("TIMESTAMPADD(YEAR, a, ts)");
}

static void test_to_timestamp(void **state) {
    (void)state;
    assert_ts_v("TO_TIMESTAMP('2024-02-29 13:45:07')", T_LEAP - 123);
    assert_ts_v("TO_TIMESTAMP('2024-02-29 13:45:07.123')", T_LEAP);
    assert_ts_v("TO_TIMESTAMP('29/02/2024', 'dd/MM/yyyy')", INT64_C(19782) * DAY);
    assert_ts_v("TO_TIMESTAMP('20240229134507', 'yyyyMMddHHmmss')", T_LEAP - 123);
    assert_ts_v("TO_TIMESTAMP('2024-02-29 01:45:07.123 PM', 'yyyy-MM-dd hh:mm:ss.SSS a')", T_LEAP);
    assert_ts_v("TO_TIMESTAMP('Thu, 29 Feb 2024', 'EEE, d MMM yyyy')", INT64_C(19782) * DAY);
    assert_ts_v("TO_TIMESTAMP('2001', 'yyyy')", T2001);
    assert_null_v("TO_TIMESTAMP('2023-02-29', 'yyyy-MM-dd')"); /* no such day */
    assert_null_v("TO_TIMESTAMP('2024-13-01', 'yyyy-MM-dd')");
    assert_null_v("TO_TIMESTAMP('2024-02-29 24:00:00')");
    assert_null_v("TO_TIMESTAMP('2024-02-29x', 'yyyy-MM-dd')"); /* trailing text */
    assert_null_v("TO_TIMESTAMP('10000-01-01', 'yyyy-MM-dd')"); /* past 9999 */
    assert_null_v("TO_TIMESTAMP('garbage')");
    assert_null_v("TO_TIMESTAMP(s)");
    assert_null_v("TO_TIMESTAMP('2024', u)");
    assert_plan_error("TO_TIMESTAMP(s, 'yyyy-ww')", "date pattern letter 'w' is not supported");
}

static void test_extract_and_the_field_functions(void **state) {
    (void)state;
    R[TS] = sluice_value_timestamp(T_LEAP);
    assert_bigint_v("YEAR(ts)", 2024);
    assert_bigint_v("QUARTER(ts)", 1);
    assert_bigint_v("MONTH(ts)", 2);
    assert_bigint_v("WEEK(ts)", 9);
    assert_bigint_v("DAYOFYEAR(ts)", 60);
    assert_bigint_v("DAYOFMONTH(ts)", 29);
    assert_bigint_v("DAYOFWEEK(ts)", 5); /* Thursday; 1 = Sunday */
    assert_bigint_v("HOUR(ts)", 13);
    assert_bigint_v("MINUTE(ts)", 45);
    assert_bigint_v("SECOND(ts)", 7);
    assert_bigint_v("EXTRACT(YEAR FROM ts)", 2024);
    assert_bigint_v("EXTRACT(day FROM ts)", 29);
    assert_bigint_v("EXTRACT(DOW FROM ts)", 5);
    assert_bigint_v("EXTRACT(DOY FROM ts)", 60);
    assert_bigint_v("EXTRACT(MILLISECOND FROM ts)", 7123);
    assert_bigint_v("EXTRACT(EPOCH FROM ts)", T_LEAP / 1000);
    assert_bigint_v("EXTRACT(HOUR FROM ts + INTERVAL '11' HOUR)", 0);
    /* one ms before the epoch: Wednesday 1969-12-31 23:59:59.999 */
    R[TS] = sluice_value_timestamp(-1);
    assert_bigint_v("YEAR(ts)", 1969);
    assert_bigint_v("SECOND(ts)", 59);
    assert_bigint_v("DAYOFWEEK(ts)", 4);
    assert_bigint_v("EXTRACT(EPOCH FROM ts)", -1);
    /* ISO weeks at the turn of a year */
    assert_bigint_v("WEEK(TIMESTAMP '2021-01-01 00:00:00')", 53);
    assert_bigint_v("WEEK(TIMESTAMP '2018-12-31 00:00:00')", 1);
    assert_bigint_v("WEEK(TIMESTAMP '2020-12-31 00:00:00')", 53);
    assert_bigint_v("WEEK(TIMESTAMP '2024-12-30 00:00:00')", 1);
    assert_bigint_v("WEEK(TIMESTAMP '2023-01-01 00:00:00')", 52);
    R[TS] = sluice_value_null();
    assert_null_v("HOUR(ts)");
    assert_null_v("EXTRACT(YEAR FROM ts)");
    assert_plan_error("EXTRACT(FORTNIGHT FROM ts)", "e.sql:3:33: EXTRACT needs a unit");
    assert_plan_error("HOUR(s)", "argument 1 of HOUR needs a TIMESTAMP, got VARCHAR");
}

static void test_timestampadd(void **state) {
    (void)state;
    R[TS] = sluice_value_timestamp(T_LEAP);
    R[A] = sluice_value_bigint(-2);
    assert_ts_v("TIMESTAMPADD(DAY, 1, ts)", T_LEAP + DAY);
    assert_ts_v("TIMESTAMPADD(HOUR, a, ts)", T_LEAP - 2 * 3600000);
    assert_ts_v("TIMESTAMPADD(WEEK, 1, ts)", T_LEAP + 7 * DAY);
    assert_ts_v("TIMESTAMPADD(SECOND, 1, ts)", T_LEAP + 1000);
    assert_ts_v("TIMESTAMPADD(MINUTE, 1, ts)", T_LEAP + 60000);
    assert_ts_v("TIMESTAMPADD(MILLISECOND, 1, ts)", T_LEAP + 1);
    /* calendar units keep the day, or take the month's last */
    assert_ts_v("TIMESTAMPADD(MONTH, 1, ts)", T_LEAP + 29 * DAY);  /* 2024-03-29 */
    assert_ts_v("TIMESTAMPADD(YEAR, 1, ts)", T_LEAP + 365 * DAY);  /* 2025-02-28 */
    assert_ts_v("TIMESTAMPADD(YEAR, -4, ts)", T_LEAP - 1461 * DAY); /* 2020-02-29 */
    assert_ts_v("TIMESTAMPADD(QUARTER, 1, TIMESTAMP '2024-01-31 00:00:00')",
                INT64_C(19723) * DAY + (31 + 29 + 31 + 30 - 1) * DAY); /* 2024-04-30 */
    assert_ts_v("TIMESTAMPADD(MONTH, -1, TIMESTAMP '2024-03-31 00:00:00')", INT64_C(19782) * DAY);
    assert_null_v("TIMESTAMPADD(DAY, NULL, ts)");
    assert_null_v("TIMESTAMPADD(DAY, 1, NULL)");
    assert_plan_error("TIMESTAMPADD(DOW, 1, ts)", "TIMESTAMPADD needs a unit");
    assert_plan_error("TIMESTAMPADD('DAY', 1, ts)", "TIMESTAMPADD needs a unit word");
}

static void test_timestampdiff_truncates(void **state) {
    (void)state;
    assert_bigint_v("TIMESTAMPDIFF(DAY, TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-02-29 13:45:07')", 59);
    assert_bigint_v("TIMESTAMPDIFF(HOUR, TIMESTAMP '2024-02-29 13:45:07', TIMESTAMP '2024-01-01 00:00:00')",
                    -(59 * 24 + 13));
    assert_bigint_v("TIMESTAMPDIFF(SECOND, TIMESTAMP '2024-01-01 00:00:01.500', TIMESTAMP '2024-01-01 00:00:00')",
                    -1);
    assert_bigint_v("TIMESTAMPDIFF(WEEK, TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-15 00:00:00')", 2);
    assert_bigint_v("TIMESTAMPDIFF(MONTH, TIMESTAMP '2024-01-31 00:00:00', TIMESTAMP '2024-02-29 00:00:00')", 0);
    assert_bigint_v("TIMESTAMPDIFF(MONTH, TIMESTAMP '2024-01-31 00:00:00', TIMESTAMP '2024-03-31 00:00:00')", 2);
    assert_bigint_v("TIMESTAMPDIFF(MONTH, TIMESTAMP '2024-03-31 00:00:00', TIMESTAMP '2024-01-31 00:00:00')", -2);
    assert_bigint_v("TIMESTAMPDIFF(MONTH, TIMESTAMP '2024-03-31 00:00:00', TIMESTAMP '2024-01-31 00:00:01')", -1);
    assert_bigint_v("TIMESTAMPDIFF(YEAR, TIMESTAMP '2000-02-29 00:00:00', TIMESTAMP '2024-02-28 00:00:00')", 23);
    assert_bigint_v("TIMESTAMPDIFF(QUARTER, TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-12-31 00:00:00')", 3);
    assert_null_v("TIMESTAMPDIFF(DAY, ts, TIMESTAMP '2024-01-01 00:00:00')");
}

static void test_current_timestamp_is_the_wall_clock_per_row(void **state) {
    (void)state;
    const char *exprs[] = {"CURRENT_TIMESTAMP", "NOW()", "LOCALTIMESTAMP", "current_timestamp"};
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        const sluice_expr *e = compile(exprs[i]);
        assert_int_equal(e->type, SLUICE_TYPE_TIMESTAMP);
        assert_int_equal(e->kind, SLUICE_EXPR_FUNC); /* not folded at plan time */
        int64_t before = sluice_clock_realtime_ms();
        sluice_value v = sluice_expr_eval(e, R, eval_arena);
        int64_t after = sluice_clock_realtime_ms();
        assert_int_equal(v.type, SLUICE_TYPE_TIMESTAMP);
        assert_true(v.u.i >= before && v.u.i <= after);
    }
    /* a call over it is not folded either */
    assert_int_equal(compile("YEAR(CURRENT_TIMESTAMP)")->kind, SLUICE_EXPR_FUNC);
    assert_plan_error("NOW(1)", "NOW takes 0 arguments, got 1");
}

/* ---- any input ---- */

static void test_bytes_that_are_not_utf8(void **state) {
    (void)state;
    set_s("a\xff\xfe,b");
    assert_str_v("CONCAT(s, '!')", "a\xff\xfe,b!");
    assert_str_v("REPLACE(s, '\xff', 'x')", "ax\xfe,b");
    assert_str_v("SPLIT_INDEX(s, ',', 0)", "a\xff\xfe");
    assert_str_v("REPLACE(s, '', '.')", ".a.\xff.\xfe.,.b.");
    assert_null_v("REGEXP(s, 'a')");
    assert_null_v("REGEXP_EXTRACT(s, 'a')");
    assert_null_v("REGEXP_REPLACE(s, 'a', 'b')");
    assert_null_v("JSON_VALUE(s, '$.a')");
    set_s("{\"a\":\"\xff\"}");
    assert_null_v("JSON_VALUE(s, '$.a')");
    set_s("\xf0\x9f");
    assert_str_v("REPLACE(s, '', '-')", "-\xf0-\x9f-"); /* a truncated sequence: byte by byte */
}

static void test_huge_inputs(void **state) {
    (void)state;
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    R[S] = sluice_value_varchar(big, n);
    sluice_value v = ev("REPLACE(s, 'a', 'bb')");
    assert_int_equal(v.type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(v.len, 2 * n);
    v = ev("REGEXP_REPLACE(s, 'a', 'bb')");
    assert_int_equal(v.type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(v.len, 2 * n);
    assert_int_equal(v.u.s[2 * n - 1], 'b');
    v = ev("CONCAT_WS(',', s, s, s)");
    assert_int_equal(v.len, 3 * n + 2);
    v = ev("s || s");
    assert_int_equal(v.len, 2 * n);
    assert_bool_v("REGEXP(s, 'a$')", 1);
    assert_null_v("SPLIT_INDEX(s, 'b', 1)");
    assert_null_v("JSON_VALUE(s, '$.a')");
    /* a long date pattern */
    char expr[700];
    char pat[600];
    for (int i = 0; i < 150; i++) memcpy(pat + 4 * i, "yyyy", 4);
    pat[600 - 1] = '\0';
    pat[596] = '\0';
    snprintf(expr, sizeof expr, "DATE_FORMAT(ts, '%s')", pat);
    assert_plan_error(expr, "repeated more than 64 times");
    R[TS] = sluice_value_timestamp(T2001);
    char many[300];
    for (int i = 0; i < 60; i++) memcpy(many + 4 * i, "yyy-", 4);
    many[240] = '\0';
    snprintf(expr, sizeof expr, "DATE_FORMAT(ts, '%s')", many);
    v = ev(expr);
    assert_int_equal(v.type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(v.len, 60 * 5);
    free(big);
}

static void test_builtin_names_are_refused_for_create_function(void **state) {
    (void)state;
    const char *sql = "CREATE FUNCTION concat(x VARCHAR) RETURNS VARCHAR;\n"
                      "CREATE SOURCE t (s VARCHAR);\n"
                      "CREATE SINK o AS SELECT s FROM t;\n";
    sluice_arena *arena = sluice_arena_new(0);
    sluice_ast_pipeline *ast = NULL;
    sluice_plan *plan = NULL;
    assert_int_equal(sluice_sql_parse(sql, strlen(sql), "f.sql", arena, &ast, errstr, sizeof errstr), SLUICE_OK);
    assert_int_equal(sluice_plan_build(ast, &plan, errstr, sizeof errstr), SLUICE_ERR_SQL);
    assert_non_null(strstr(errstr, "f.sql:1:17: CREATE FUNCTION concat: a built-in function has that name"));
    sluice_arena_destroy(arena);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T_(test_mod_has_the_sign_of_the_dividend),
        T_(test_greatest_and_least_are_null_when_any_argument_is),
        T_(test_if_takes_the_else_branch_for_false_and_null),
        T_(test_nullif),
        T_(test_concat_and_the_pipe_operator),
        T_(test_concat_ws_skips_nulls),
        T_(test_replace),
        T_(test_split_index_is_zero_based),
        T_(test_regexp_matches_any_substring),
        T_(test_regexp_extract_groups),
        T_(test_regexp_replace_all_matches),
        T_(test_bad_constant_pattern_is_a_plan_error),
        T_(test_pattern_of_the_row_is_compiled_and_cached),
        T_(test_pathological_pattern_gives_up),
        T_(test_json_value),
        T_(test_date_format_pattern_letters),
        T_(test_date_functions_never_fail_out_of_range),
        T_(test_to_timestamp),
        T_(test_extract_and_the_field_functions),
        T_(test_timestampadd),
        T_(test_timestampdiff_truncates),
        T_(test_current_timestamp_is_the_wall_clock_per_row),
        T_(test_bytes_that_are_not_utf8),
        T_(test_huge_inputs),
        T_(test_builtin_names_are_refused_for_create_function),
#undef T_
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
