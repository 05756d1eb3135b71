/*
 * ARRAY values and UNNEST (docs/sql.md "ARRAY and UNNEST"): the parser and
 * planner (good SQL and errors with their FILE:LINE:COL), SPLIT /
 * CARDINALITY / a[i] (folded by the planner, so evaluated by
 * src/exec/expr.c), array equality, order and hash, rendering, the state
 * codec, JSON decoding of array columns, and the row expansion of
 * src/exec/unnest.c.  Expected values are worked out by hand.
 *
 * Every pipeline is the two source lines below followed by the sink on
 * line 3, so an error in the sink is at p.sql:3:COL, COL counted by hand.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "exec/unnest.h"
#include "format/format.h"
#include "sluice/batch.h"
#include "sql/parser.h"
#include "sql/unparse.h"
#include "state/codec.h"

static const char sources[] =
    "CREATE SOURCE f (ts TIMESTAMP, line VARCHAR, tags ARRAY<VARCHAR>, nums ARRAY<BIGINT>,\n"
    "                 WATERMARK FOR ts AS ts);\n";

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
    plan = NULL;
    sluice_arena_destroy(arena);
    return 0;
}

static sluice_err_t parse(const char *sink, sluice_ast_pipeline **ast) {
    char sql[4096];
    snprintf(sql, sizeof sql, "%s%s\n", sources, sink);
    return sluice_sql_parse(sql, strlen(sql), "p.sql", arena, ast, errstr, sizeof errstr);
}

static sluice_err_t build(const char *sink) {
    sluice_ast_pipeline *ast = NULL;
    if (parse(sink, &ast) != SLUICE_OK) fail_msg("syntax error where none was expected: %s", errstr);
    return sluice_plan_build(ast, &plan, errstr, sizeof errstr);
}

static const sluice_query_plan *plan_ok(const char *sink) {
    if (build(sink) != SLUICE_OK) fail_msg("plan failed: %s", errstr);
    return &plan->queries[0];
}

static void expect_error_at(int line, int col, const char *phrase) {
    char want[64];
    snprintf(want, sizeof want, "p.sql:%d:%d: ", line, col);
    if (strncmp(errstr, want, strlen(want)) != 0) fail_msg("expected '%s...', got '%s'", want, errstr);
    if (!strstr(errstr, phrase)) fail_msg("expected '%s' in '%s'", phrase, errstr);
}

static void plan_fails_at(const char *sink, int col, const char *phrase) {
    assert_int_equal(build(sink), SLUICE_ERR_SQL);
    assert_null(plan);
    expect_error_at(3, col, phrase);
}

static void parse_fails_at(const char *sink, int col, const char *phrase) {
    sluice_ast_pipeline *ast = NULL;
    assert_int_equal(parse(sink, &ast), SLUICE_ERR_SQL);
    expect_error_at(3, col, phrase);
}

/* ---- parser and unparser ---------------------------------------------------------- */

static void test_parse_unnest_with_ordinality(void **state) {
    (void)state;
    sluice_ast_pipeline *ast = NULL;
    assert_int_equal(parse("CREATE SINK o AS SELECT w, p FROM f CROSS JOIN UNNEST(SPLIT(line, ' ')) "
                           "WITH ORDINALITY AS t(w, p) WHERE nums[2] > 1;",
                           &ast),
                     SLUICE_OK);
    assert_int_equal(ast->sources[0].columns[2].type, SLUICE_TYPE_ARRAY);
    assert_int_equal(ast->sources[0].columns[2].elem_type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(ast->sources[0].columns[3].elem_type, SLUICE_TYPE_BIGINT);
    const sluice_ast_sink *k = &ast->sinks[0];
    assert_non_null(k->unnest);
    assert_int_equal(k->unnest->kind, SLUICE_AST_FUNC);
    assert_string_equal(k->unnest->name, "SPLIT");
    assert_int_equal(k->unnest_line, 3);
    assert_int_equal(k->unnest_col, 48);
    assert_true(k->with_ordinality);
    assert_string_equal(k->unnest_alias, "t");
    assert_string_equal(k->unnest_column, "w");
    assert_string_equal(k->unnest_ordinality, "p");
    assert_int_equal(k->unnest_ordinality_col, 97);
    /* nums[2] > 1: the subscript binds tighter than the comparison */
    assert_int_equal(k->where->kind, SLUICE_AST_BINARY);
    assert_int_equal(k->where->args[0]->kind, SLUICE_AST_SUBSCRIPT);
    assert_string_equal(k->where->args[0]->args[0]->name, "nums");
}

static void test_unparse_round_trips_unnest(void **state) {
    (void)state;
    sluice_ast_pipeline *ast = NULL;
    assert_int_equal(parse("CREATE SINK o AS SELECT w, -nums[1 + 1] AS m FROM f CROSS JOIN UNNEST(tags) t (w);", &ast),
                     SLUICE_OK);
    char *text = sluice_sql_unparse(ast, NULL);
    assert_non_null(text);
    assert_string_equal(text, "CREATE SOURCE `f` (\n"
                              "    `ts` TIMESTAMP,\n"
                              "    `line` VARCHAR,\n"
                              "    `tags` ARRAY<VARCHAR>,\n"
                              "    `nums` ARRAY<BIGINT>,\n"
                              "    WATERMARK FOR `ts` AS `ts`);\n"
                              "CREATE SINK `o` AS SELECT `w`, - `nums`[1 + 1] AS `m`\n"
                              "    FROM `f` CROSS JOIN UNNEST(`tags`) AS `t`(`w`);\n");
    sluice_ast_pipeline *again = NULL;
    if (sluice_sql_parse(text, strlen(text), "u.sql", arena, &again, errstr, sizeof errstr) != SLUICE_OK)
        fail_msg("%s", errstr);
    char *text2 = sluice_sql_unparse(again, NULL);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
}

static void test_parse_errors(void **state) {
    (void)state;
    /*        1         2         3         4         5         6         7
     * 3456789012345678901234567890123456789012345678901234567890123456789012 */
    parse_fails_at("CREATE SINK o AS SELECT w FROM f CROSS UNNEST(tags) AS t(w);", 40, "expected JOIN");
    parse_fails_at("CREATE SINK o AS SELECT w FROM f CROSS JOIN UNNEST(tags) AS t(w, p);", 64,
                   "a second column needs WITH ORDINALITY");
    parse_fails_at("CREATE SINK o AS SELECT w FROM f CROSS JOIN UNNEST(tags) WITH ORDINALITY AS t(w);", 80,
                   "a second column name for WITH ORDINALITY");
    parse_fails_at("CREATE SINK o AS SELECT w FROM f CROSS JOIN UNNEST(tags) WITH ORDER AS t(w);", 63,
                   "expected ORDINALITY");
    parse_fails_at("CREATE SINK o AS SELECT w FROM f CROSS JOIN UNNEST(tags);", 57, "a table alias for UNNEST");
    parse_fails_at("CREATE SINK o AS SELECT tags[1 AS w FROM f;", 32, "expected ']'");
    parse_fails_at("CREATE SINK o AS SELECT CAST(line AS ARRAY<VARCHAR>) AS w FROM f;", 38, "expected a column type");
    /* arrays of arrays, in a source */
    sluice_ast_pipeline *ast = NULL;
    const char *bad = "CREATE SOURCE g (a ARRAY<ARRAY<BIGINT>>);";
    assert_int_equal(sluice_sql_parse(bad, strlen(bad), "p.sql", arena, &ast, errstr, sizeof errstr), SLUICE_ERR_SQL);
    expect_error_at(1, 26, "arrays of arrays are not supported");
}

/* ---- planner ------------------------------------------------------------------------ */

static void test_plan_extends_the_row(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT window_start, w, COUNT(*) AS n, MAX(p) AS last FROM f "
                "CROSS JOIN UNNEST(tags) WITH ORDINALITY AS t(w, p) WHERE w <> '' "
                "GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), w;");
    assert_non_null(q->unnest);
    assert_int_equal(q->unnest->ncols_in, 4);
    assert_int_equal(q->unnest->elem_type, SLUICE_TYPE_VARCHAR);
    assert_true(q->unnest->ordinality);
    assert_int_equal(q->unnest->extended.schema.ncolumns, 6);
    assert_string_equal(q->unnest->extended.columns[4].name, "w");
    assert_int_equal(q->unnest->extended.columns[5].type, SLUICE_TYPE_BIGINT);
    /* the group key is the element column, the aggregate reads the position */
    assert_int_equal(q->group[0]->kind, SLUICE_EXPR_COLUMN);
    assert_int_equal(q->group[0]->column, 4);
    assert_int_equal(q->aggs[1].arg->column, 5);
    assert_int_equal(q->schema.columns[3].type, SLUICE_TYPE_BIGINT);
    /* the decoder reads tags (UNNEST) and ts (the window); not line or nums */
    assert_int_equal(plan->sources[0].used[0], 1);
    assert_int_equal(plan->sources[0].used[1], 0);
    assert_int_equal(plan->sources[0].used[2], 1);
    assert_int_equal(plan->sources[0].used[3], 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    sluice_plan_explain(plan, out);
    fclose(out);
    if (!strstr(text, "tags ARRAY<VARCHAR>, nums ARRAY<BIGINT> (unused)"))
        fail_msg("explain: %s", text);
    if (!strstr(text, "  unnest:     UNNEST(tags) WITH ORDINALITY: one row per element, appending w VARCHAR, "
                      "p BIGINT (1-based position)\n"))
        fail_msg("explain: %s", text);
    free(text);
}

static void test_plan_errors(void **state) {
    (void)state;
    /*        1         2         3         4         5         6         7         8
     * 3456789012345678901234567890123456789012345678901234567890123456789012345678901 */
    plan_fails_at("CREATE SINK o AS SELECT w FROM f CROSS JOIN UNNEST(line) AS t(w);", 52,
                  "UNNEST needs an ARRAY (e.g. SPLIT(text, ' ') or a column declared ARRAY<VARCHAR>), got VARCHAR");
    plan_fails_at("CREATE SINK o AS SELECT line FROM f CROSS JOIN UNNEST(tags) AS t(line);", 66,
                  "UNNEST column 'line' is already a column of source f");
    plan_fails_at("CREATE SINK o AS SELECT w FROM f CROSS JOIN UNNEST(tags) WITH ORDINALITY AS t(w, w);", 82,
                  "UNNEST names column 'w' twice");
    plan_fails_at("CREATE SINK o AS SELECT tags, COUNT(*) AS n FROM f GROUP BY tags;", 61,
                  "GROUP BY an ARRAY is not supported");
    plan_fails_at("CREATE SINK o AS SELECT MIN(tags) AS m FROM f;", 29, "MIN of an ARRAY is not supported");
    plan_fails_at("CREATE SINK o AS SELECT SUM(nums) AS m FROM f;", 29, "SUM of an ARRAY is not supported");
    plan_fails_at("CREATE SINK o AS SELECT CAST(nums AS BIGINT) AS m FROM f;", 25, "cannot CAST ARRAY to BIGINT");
    plan_fails_at("CREATE SINK o AS SELECT line[1] AS m FROM f;", 25, "[...] needs an ARRAY, got VARCHAR");
    plan_fails_at("CREATE SINK o AS SELECT tags['1'] AS m FROM f;", 30, "an ARRAY index must be a BIGINT, got VARCHAR");
    plan_fails_at("CREATE SINK o AS SELECT CARDINALITY(line) AS m FROM f;", 37, "CARDINALITY needs an ARRAY, got VARCHAR");
    plan_fails_at("CREATE SINK o AS SELECT SPLIT(line, 1) AS m FROM f;", 37, "SPLIT needs a VARCHAR delimiter");
    plan_fails_at("CREATE SINK o AS SELECT COALESCE(tags, tags) AS m FROM f;", 34, "COALESCE of an ARRAY");
    /* an ORDER BY over an array can only be an aggregate of one */
    plan_fails_at("CREATE SINK o AS SELECT window_start, line, MAX(tags) AS m FROM f "
                  "GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), line ORDER BY m DESC LIMIT 3;",
                  49, "MAX of an ARRAY is not supported");
    plan_fails_at("CREATE SINK o PRIMARY KEY (tags) AS SELECT tags FROM f;", 28,
                  "PRIMARY KEY column 'tags' is an ARRAY");
    /* a COUNT of arrays counts the non-NULL ones: fine */
    plan_ok("CREATE SINK o AS SELECT COUNT(tags) AS n FROM f EMIT UPDATE;");
}

/* ---- expressions (constants, folded by the planner) ---------------------------------- */

/* The value of constant expression `expr`, folded at planning. */
static sluice_value fold(const char *expr) {
    char sink[1024];
    snprintf(sink, sizeof sink, "CREATE SINK o AS SELECT %s AS v FROM f;", expr);
    sluice_plan_free(plan);
    plan = NULL;
    const sluice_query_plan *q = plan_ok(sink);
    if (q->outputs[0]->kind != SLUICE_EXPR_CONST) fail_msg("'%s' was not folded", expr);
    return q->outputs[0]->constant;
}

static void expect_text(const char *expr, const char *want) {
    sluice_value v = fold(expr);
    if (!want) {
        if (v.type != SLUICE_TYPE_NULL) fail_msg("%s: expected NULL, got type %d", expr, v.type);
        return;
    }
    if (v.type != SLUICE_TYPE_VARCHAR) fail_msg("%s: expected VARCHAR, got type %d", expr, v.type);
    if (v.len != strlen(want) || memcmp(v.u.s, want, v.len) != 0)
        fail_msg("%s: expected %s, got %.*s", expr, want, (int)v.len, v.u.s);
}

static void expect_bigint(const char *expr, long long want) {
    sluice_value v = fold(expr);
    if (v.type != SLUICE_TYPE_BIGINT || v.u.i != want) fail_msg("%s: expected %lld", expr, want);
}

static void test_split(void **state) {
    (void)state;
    expect_text("CAST(SPLIT('a b', ' ') AS VARCHAR)", "[\"a\",\"b\"]");
    /* delimiters at both ends and in a row give empty pieces (Flink) */
    expect_text("CAST(SPLIT(',a,,b,', ',') AS VARCHAR)", "[\"\",\"a\",\"\",\"b\",\"\"]");
    /* no delimiter: the text is the one piece, '' included */
    expect_text("CAST(SPLIT('abc', 'longer than abc') AS VARCHAR)", "[\"abc\"]");
    expect_text("CAST(SPLIT('', ' ') AS VARCHAR)", "[\"\"]");
    /* an empty delimiter splits characters (code points, not bytes) */
    expect_text("CAST(SPLIT('añb', '') AS VARCHAR)", "[\"a\",\"ñ\",\"b\"]");
    expect_text("CAST(SPLIT('', '') AS VARCHAR)", "[]");
    /* a multi-byte delimiter */
    expect_text("CAST(SPLIT('x→y→→z', '→') AS VARCHAR)", "[\"x\",\"y\",\"\",\"z\"]");
    expect_text("CAST(SPLIT('a::b:c', '::') AS VARCHAR)", "[\"a\",\"b:c\"]");
    /* JSON text escapes quotes, backslashes and control characters */
    expect_text("CAST(SPLIT('q\"|b\\|t', '|') AS VARCHAR)", "[\"q\\\"\",\"b\\\\\",\"t\"]");
    expect_text("CAST(SPLIT('a\tb', '|') AS VARCHAR)", "[\"a\\tb\"]");
    /* NULL in, NULL out */
    expect_text("CAST(SPLIT(NULL, ',') AS VARCHAR)", NULL);
    expect_text("CAST(SPLIT('a', NULL) AS VARCHAR)", NULL);
    /* the pieces are VARCHARs */
    expect_text("SPLIT('a,b', ',')[2]", "b");
}

static void test_cardinality_and_element_access(void **state) {
    (void)state;
    expect_bigint("CARDINALITY(SPLIT('a b c', ' '))", 3);
    expect_bigint("CARDINALITY(SPLIT('', ' '))", 1);
    expect_bigint("CARDINALITY(SPLIT('', ''))", 0);
    assert_int_equal(fold("CARDINALITY(SPLIT(NULL, ' '))").type, SLUICE_TYPE_NULL);
    /* 1-based; out of range (0, negative, past the end) and NULL index are NULL */
    expect_text("SPLIT('a,b,c', ',')[1]", "a");
    expect_text("SPLIT('a,b,c', ',')[3]", "c");
    expect_text("SPLIT('a,b,c', ',')[0]", NULL);
    expect_text("SPLIT('a,b,c', ',')[4]", NULL);
    expect_text("SPLIT('a,b,c', ',')[-1]", NULL);
    expect_text("SPLIT('a,b,c', ',')[NULL]", NULL);
    expect_text("SPLIT(NULL, ',')[1]", NULL);
    expect_text("SPLIT('a,b,c', ',')[9223372036854775807]", NULL);
    /* comparisons of arrays: elementwise */
    assert_int_equal(fold("SPLIT('a,b', ',') = SPLIT('a b', ' ')").u.i, 1);
    assert_int_equal(fold("SPLIT('a,b', ',') < SPLIT('a,c', ',')").u.i, 1);
    assert_int_equal(fold("SPLIT('a', ',') < SPLIT('a,a', ',')").u.i, 1);
}

/* ---- values: order, equality, hash, rendering, codec ----------------------------------- */

static sluice_value arr(sluice_type_t t, size_t n, const sluice_value *v) {
    sluice_array *a = sluice_array_new(arena, t, n);
    assert_non_null(a);
    for (size_t i = 0; i < n; i++) a->values[i] = v[i];
    return sluice_value_array(a);
}

static void test_array_values(void **state) {
    (void)state;
    assert_int_equal(sizeof(sluice_value), 16);
    sluice_value ab[] = {sluice_value_varchar("a", 1), sluice_value_varchar("b", 1)};
    sluice_value ab2[] = {sluice_value_varchar("a", 1), sluice_value_varchar("bx", 2)};
    sluice_value x = arr(SLUICE_TYPE_VARCHAR, 2, ab), y = arr(SLUICE_TYPE_VARCHAR, 2, ab);
    sluice_value z = arr(SLUICE_TYPE_VARCHAR, 2, ab2), one = arr(SLUICE_TYPE_VARCHAR, 1, ab);
    sluice_value empty = arr(SLUICE_TYPE_VARCHAR, 0, NULL);
    assert_true(sluice_value_equal(&x, &y));
    assert_int_equal(sluice_value_compare(&x, &y), 0);
    assert_int_equal(sluice_value_hash(&x, 7), sluice_value_hash(&y, 7));
    assert_false(sluice_value_equal(&x, &z));
    assert_true(sluice_value_compare(&x, &z) < 0);   /* "b" < "bx" */
    assert_true(sluice_value_compare(&one, &x) < 0); /* a prefix first */
    assert_true(sluice_value_compare(&empty, &one) < 0);
    assert_false(sluice_value_equal(&one, &x));
    assert_int_not_equal(sluice_value_hash(&one, 7), sluice_value_hash(&x, 7));
    /* [NULL] and [] differ */
    sluice_value n1[] = {sluice_value_null()};
    sluice_value withnull = arr(SLUICE_TYPE_VARCHAR, 1, n1);
    assert_false(sluice_value_equal(&withnull, &empty));
    assert_true(sluice_value_compare(&withnull, &one) < 0); /* NULL first */
    /* a deep copy outlives what it borrowed */
    sluice_value c;
    assert_int_equal(sluice_value_copy(arena, &z, &c), 0);
    assert_ptr_not_equal(c.u.a, z.u.a);
    assert_ptr_not_equal(c.u.a->values[1].u.s, z.u.a->values[1].u.s);
    assert_true(sluice_value_equal(&c, &z));
    assert_string_equal(sluice_type_name(SLUICE_TYPE_ARRAY), "ARRAY");
}

static void test_array_rendering(void **state) {
    (void)state;
    sluice_value mixed[] = {sluice_value_bigint(-3), sluice_value_null(), sluice_value_bigint(7)};
    sluice_value v = arr(SLUICE_TYPE_BIGINT, 3, mixed);
    char buf[64];
    assert_int_equal(sluice_value_render(&v, buf, sizeof buf), 11);
    assert_string_equal(buf, "[-3,null,7]");
    /* truncated like snprintf: the full length returned */
    assert_int_equal(sluice_value_render(&v, buf, 5), 11);
    assert_string_equal(buf, "[-3,");
    sluice_value d[] = {sluice_value_double(0.1), sluice_value_double(1.0 / 0.0), sluice_value_bool(1),
                        sluice_value_timestamp(978307200000)};
    v = arr(SLUICE_TYPE_DOUBLE, 4, d);
    sluice_value_render(&v, buf, sizeof buf);
    assert_string_equal(buf, "[0.1,null,true,\"2001-01-01 00:00:00\"]");
    /* ill-formed UTF-8 becomes U+FFFD */
    sluice_value s[] = {sluice_value_varchar("a\xff", 2)};
    v = arr(SLUICE_TYPE_VARCHAR, 1, s);
    sluice_value_render(&v, buf, sizeof buf);
    assert_string_equal(buf, "[\"a\xEF\xBF\xBD\"]");
    /* a JSON row holds the array itself, not a string */
    sluice_column cols[] = {{"tags", SLUICE_TYPE_ARRAY}};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sluice_value t[] = {sluice_value_varchar("x", 1), sluice_value_varchar("y\"", 2)};
    sluice_value row[] = {arr(SLUICE_TYPE_VARCHAR, 2, t)};
    assert_int_equal(sluice_json_write_row(f, cols, row, 1), SLUICE_OK);
    fclose(f);
    assert_string_equal(text, "{\"tags\":[\"x\",\"y\\\"\"]}\n");
    free(text);
}

static void test_array_codec(void **state) {
    (void)state;
    sluice_value e[] = {sluice_value_varchar("ab", 2), sluice_value_null(), sluice_value_varchar("", 0)};
    sluice_value v = arr(SLUICE_TYPE_VARCHAR, 3, e);
    sluice_enc enc;
    memset(&enc, 0, sizeof enc);
    sluice_enc_value(&enc, &v);
    assert_false(enc.oom);
    sluice_dec d;
    sluice_dec_init(&d, enc.data, enc.len);
    sluice_value back = sluice_dec_value(&d, arena);
    assert_false(d.bad);
    assert_int_equal(d.pos, enc.len);
    assert_int_equal(back.type, SLUICE_TYPE_ARRAY);
    assert_int_equal(back.u.a->elem_type, SLUICE_TYPE_VARCHAR);
    assert_true(sluice_value_equal(&back, &v));
    /* every truncation is refused, not read past */
    for (size_t n = 0; n < enc.len; n++) {
        sluice_dec_init(&d, enc.data, n);
        sluice_dec_value(&d, arena);
        assert_true(d.bad);
    }
    /* a count beyond the bytes left, an element of another type, nesting */
    unsigned char huge[] = {SLUICE_TYPE_ARRAY, SLUICE_TYPE_BIGINT, 0xff, 0xff, 0xff, 0x7f};
    sluice_dec_init(&d, huge, sizeof huge);
    sluice_dec_value(&d, arena);
    assert_true(d.bad);
    unsigned char other[] = {SLUICE_TYPE_ARRAY, SLUICE_TYPE_BIGINT, 1, 0, 0, 0, SLUICE_TYPE_DOUBLE, 0, 0, 0, 0, 0, 0, 0, 0};
    sluice_dec_init(&d, other, sizeof other);
    sluice_dec_value(&d, arena);
    assert_true(d.bad);
    unsigned char nested[] = {SLUICE_TYPE_ARRAY, SLUICE_TYPE_ARRAY, 1, 0, 0, 0, SLUICE_TYPE_ARRAY, SLUICE_TYPE_BIGINT, 0, 0, 0, 0};
    sluice_dec_init(&d, nested, sizeof nested);
    sluice_dec_value(&d, arena);
    assert_true(d.bad);
    free(enc.data);
}

/* ---- JSON decoding ------------------------------------------------------------------- */

static sluice_err_t decode(sluice_decoder *dec, const char *json, sluice_value *out, char *reason) {
    size_t len = strlen(json);
    char *buf = malloc(len + SLUICE_RECORD_PADDING);
    memcpy(buf, json, len);
    memset(buf + len, '7', SLUICE_RECORD_PADDING);
    sluice_err_t rc = sluice_decoder_decode(dec, buf, len, out, arena, reason, 256);
    free(buf);
    return rc;
}

static void test_json_array_columns(void **state) {
    (void)state;
    sluice_field_spec specs[] = {{.name = "tags", .type = SLUICE_TYPE_ARRAY, .elem_type = SLUICE_TYPE_VARCHAR},
                                 {.name = "nums", .type = SLUICE_TYPE_ARRAY, .elem_type = SLUICE_TYPE_BIGINT}};
    sluice_decoder_options o = {.format = SLUICE_FORMAT_JSON};
    sluice_decoder *dec = NULL;
    char reason[256];
    assert_int_equal(sluice_decoder_new(&o, specs, 2, &dec, reason, sizeof reason), SLUICE_OK);
    sluice_value out[2];
    /* under ARRAY<VARCHAR>, numbers, objects and arrays are their JSON text,
     * null a NULL element (Flink's JSON format) */
    assert_int_equal(decode(dec, "{\"tags\": [\"a\", 1.5, null, {\"x\": [1]}, [2, 3], true], \"nums\": [1, \"2\", null, 3.0]}",
                            out, reason),
                     SLUICE_OK);
    char buf[128];
    sluice_value_render(&out[0], buf, sizeof buf);
    assert_string_equal(buf, "[\"a\",\"1.5\",null,\"{\\\"x\\\": [1]}\",\"[2, 3]\",\"true\"]");
    assert_int_equal(out[1].type, SLUICE_TYPE_ARRAY);
    assert_int_equal(out[1].u.a->elem_type, SLUICE_TYPE_BIGINT);
    sluice_value_render(&out[1], buf, sizeof buf);
    assert_string_equal(buf, "[1,2,null,3]");
    /* empty, null, absent */
    assert_int_equal(decode(dec, "{\"tags\": [], \"nums\": null}", out, reason), SLUICE_OK);
    assert_int_equal(out[0].type, SLUICE_TYPE_ARRAY);
    assert_int_equal(out[0].u.a->count, 0);
    assert_int_equal(out[1].type, SLUICE_TYPE_NULL);
    /* an element that does not convert, or no array: the record is malformed */
    assert_int_equal(decode(dec, "{\"nums\": [1, \"x\"]}", out, reason), SLUICE_ERR_MALFORMED);
    assert_string_equal(reason, "column 'nums': expected BIGINT, got \"x\"");
    assert_int_equal(decode(dec, "{\"nums\": [[1]]}", out, reason), SLUICE_ERR_MALFORMED);
    assert_string_equal(reason, "column 'nums': expected BIGINT, got [1]");
    assert_int_equal(decode(dec, "{\"tags\": \"a b\"}", out, reason), SLUICE_ERR_MALFORMED);
    assert_string_equal(reason, "column 'tags': expected ARRAY, got \"a b\"");
    assert_int_equal(decode(dec, "{\"tags\": [\"a\",]}", out, reason), SLUICE_ERR_MALFORMED);
    sluice_decoder_free(dec);
    /* CSV has no arrays */
    o.format = SLUICE_FORMAT_CSV;
    dec = NULL;
    assert_int_equal(sluice_decoder_new(&o, specs, 2, &dec, reason, sizeof reason), SLUICE_ERR_CONFIG);
    assert_null(dec);
    assert_string_equal(reason, "column 'tags': an ARRAY column needs format = json (a CSV field or a line holds no array)");
}

/* ---- the row expansion ---------------------------------------------------------------- */

static void test_unnest_expand(void **state) {
    (void)state;
    const sluice_query_plan *q =
        plan_ok("CREATE SINK o AS SELECT line, w, p FROM f CROSS JOIN UNNEST(tags) WITH ORDINALITY AS t(w, p);");
    sluice_value two[] = {sluice_value_varchar("x", 1), sluice_value_null()};
    sluice_value one[] = {sluice_value_varchar("z", 1)};
    sluice_value rows[4 * 4];
    for (size_t i = 0; i < 16; i++) rows[i] = sluice_value_null();
    rows[0 * 4 + 1] = sluice_value_varchar("r0", 2);
    rows[0 * 4 + 2] = arr(SLUICE_TYPE_VARCHAR, 2, two);        /* two elements, one NULL */
    rows[1 * 4 + 1] = sluice_value_varchar("r1", 2);            /* tags NULL: no row */
    rows[2 * 4 + 1] = sluice_value_varchar("r2", 2);
    rows[2 * 4 + 2] = arr(SLUICE_TYPE_VARCHAR, 0, NULL);        /* empty: no row */
    rows[3 * 4 + 1] = sluice_value_varchar("r3", 2);
    rows[3 * 4 + 2] = arr(SLUICE_TYPE_VARCHAR, 1, one);
    sluice_unnest_out out;
    memset(&out, 0, sizeof out);
    assert_int_equal(sluice_unnest_expand(q, rows, 4, 4, arena, &out), SLUICE_OK);
    assert_int_equal(out.nrows, 3);
    static const struct { size_t origin; const char *line, *w; long p; } want[] = {
        {0, "r0", "x", 1}, {0, "r0", NULL, 2}, {3, "r3", "z", 1}};
    for (size_t i = 0; i < 3; i++) {
        const sluice_value *o = out.rows + i * 6;
        assert_int_equal(out.origin[i], want[i].origin);
        assert_int_equal(o[1].len, 2);
        assert_memory_equal(o[1].u.s, want[i].line, 2);
        if (want[i].w) {
            assert_int_equal(o[4].type, SLUICE_TYPE_VARCHAR);
            assert_memory_equal(o[4].u.s, want[i].w, 1);
        } else {
            assert_int_equal(o[4].type, SLUICE_TYPE_NULL);
        }
        assert_int_equal(o[5].type, SLUICE_TYPE_BIGINT);
        assert_int_equal(o[5].u.i, want[i].p);
    }
    /* the wrong width is refused */
    assert_int_equal(sluice_unnest_expand(q, rows, 4, 3, arena, &out), SLUICE_ERR_INVALID);
    assert_int_equal(out.nrows, 0);
    sluice_unnest_out_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_unnest_with_ordinality, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unparse_round_trips_unnest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_extends_the_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cardinality_and_element_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_rendering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_codec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_array_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unnest_expand, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
