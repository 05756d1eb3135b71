/*
 * The planner's lookup joins (src/sql/plan_lookup.c): FROM probe JOIN t
 * FOR SYSTEM_TIME AS OF probe.p ON ... over a CREATE TABLE without a
 * watermark.  The plan of valid joins (keys, casts, residual, LEFT, the
 * table not read as a source, explain) and the errors with their
 * FILE:LINE:COL.  Every pipeline is the two declarations below followed by
 * the sink on line 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "plan/rel.h"
#include "sluice_test.h"
#include "sql/parser.h"

static const char decls[] = "CREATE SOURCE bid (auction BIGINT, price DOUBLE, name VARCHAR);\n"
                            "CREATE TABLE dim (key BIGINT, `value` VARCHAR, d DOUBLE);\n";

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
    snprintf(sql, sizeof sql, "%s%s\n", decls, sink);
    sluice_ast_pipeline *ast = NULL;
    sluice_err_t err = sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr);
    if (err != SLUICE_OK) fail_msg("syntax error where none was expected: %s", errstr);
    return sluice_plan_build(ast, &plan, errstr, sizeof errstr);
}

/* The lookup relation of a plan that must build. */
static const sluice_lookup_plan *lookup_ok(const char *sink) {
    if (build(sink) != SLUICE_OK) fail_msg("plan failed: %s", errstr);
    for (size_t i = 0; i < plan->nrels; i++)
        if (plan->rels[i].kind == SLUICE_REL_LOOKUP) return plan->rels[i].lookup;
    fail_msg("no lookup relation");
    return NULL;
}

static void fails_at(const char *sink, int col, const char *phrase) {
    assert_int_equal(build(sink), SLUICE_ERR_SQL);
    assert_null(plan);
    char want[64];
    snprintf(want, sizeof want, "p.sql:3:%d: ", col);
    if (strncmp(errstr, want, strlen(want)) != 0) fail_msg("expected '%s...', got '%s'", want, errstr);
    if (!strstr(errstr, phrase)) fail_msg("expected '%s' in '%s'", phrase, errstr);
}

#define PROBE "(SELECT *, PROCTIME() AS p FROM bid) B "

/* Nexmark q13's shape: one key, MOD(auction, 10) over the probe row
 * against the table's column 0; the joined row is the probe's 4 columns
 * then the table's 3; dim is not a source. */
static void test_q13_shape_plans_a_lookup_relation(void **state) {
    (void)state;
    const sluice_lookup_plan *lp = lookup_ok("CREATE SINK o AS SELECT B.auction, S.`value` FROM " PROBE
                                             "JOIN dim FOR SYSTEM_TIME AS OF B.p AS S ON MOD(B.auction, 10) = S.key;");
    assert_string_equal(lp->table_name, "dim");
    assert_int_equal(lp->left_outer, 0);
    assert_int_equal(lp->probe_width, 4);
    assert_int_equal(lp->table_width, 3);
    assert_int_equal(lp->nkeys, 1);
    assert_int_equal(lp->table_key_cols[0], 0);
    assert_int_equal(lp->probe_keys[0]->type, SLUICE_TYPE_BIGINT);
    assert_null(lp->residual);
    assert_null(lp->table_binding);
    assert_int_equal(plan->nsources, 1); /* dim is looked up, not read */
    assert_int_equal(plan->queries[0].schema.ncolumns, 2);
    assert_int_equal(plan->queries[0].schema.columns[1].type, SLUICE_TYPE_VARCHAR);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sluice_plan_explain(plan, f);
    fclose(f);
    if (!strstr(text, "lookup:     INNER JOIN of B with lookup table dim on 1 key (key)\n"
                      "  state:      none (one batched lookup per input batch)"))
        fail_msg("no lookup in:\n%s", text);
    free(text);
}

/* The key's other side may be written first; a BIGINT probe key against
 * a DOUBLE column is cast to DOUBLE (the table's type decides); the
 * condition that is not an equality of the two sides is the residual;
 * LEFT JOIN is outer. */
static void test_keys_casts_residual_and_left(void **state) {
    (void)state;
    const sluice_lookup_plan *lp =
        lookup_ok("CREATE SINK o AS SELECT B.name, S.d FROM " PROBE "LEFT JOIN dim FOR SYSTEM_TIME AS OF B.p AS S "
                  "ON S.d = B.auction AND B.name = S.`value` AND S.key > 3;");
    assert_int_equal(lp->left_outer, 1);
    assert_int_equal(lp->nkeys, 2);
    assert_int_equal(lp->table_key_cols[0], 2);
    assert_int_equal(lp->probe_keys[0]->kind, SLUICE_EXPR_CAST);
    assert_int_equal(lp->probe_keys[0]->type, SLUICE_TYPE_DOUBLE);
    assert_int_equal(lp->table_key_cols[1], 1);
    assert_int_equal(lp->probe_keys[1]->type, SLUICE_TYPE_VARCHAR);
    assert_non_null(lp->residual);
}

/* Errors.  Columns counted by hand on line 3: "CREATE SINK o AS SELECT
 * B.auction FROM " and PROBE are 78 characters, so JOIN (where a join's
 * errors point) is at column 79; "JOIN dim FOR SYSTEM_TIME AS OF " puts
 * the AS OF expression at 110, and "B.p AS S ON " the ON condition (an
 * equality points at its left operand) at 122. */
static void test_key_type_mismatch(void **state) {
    (void)state;
    fails_at("CREATE SINK o AS SELECT B.auction FROM " PROBE "JOIN dim FOR SYSTEM_TIME AS OF B.p AS S "
             "ON B.name = S.key;",
             122, "cannot join VARCHAR with BIGINT (lookup key dim.key)");
}

static void test_no_key_equality(void **state) {
    (void)state;
    fails_at("CREATE SINK o AS SELECT B.auction FROM " PROBE "JOIN dim FOR SYSTEM_TIME AS OF B.p AS S "
             "ON B.auction > S.key;",
             79, "a lookup join needs an equality between a column of dim and the left side in ON");
}

static void test_right_join_is_refused(void **state) {
    (void)state;
    fails_at("CREATE SINK o AS SELECT B.auction FROM " PROBE "RIGHT JOIN dim FOR SYSTEM_TIME AS OF B.p AS S "
             "ON B.auction = S.key;",
             79, "a lookup join (FOR SYSTEM_TIME AS OF table dim) is INNER or LEFT");
}

static void test_as_of_must_be_a_timestamp(void **state) {
    (void)state;
    fails_at("CREATE SINK o AS SELECT B.auction FROM " PROBE "JOIN dim FOR SYSTEM_TIME AS OF B.auction AS S "
             "ON B.auction = S.key;",
             110, "FOR SYSTEM_TIME AS OF needs a TIMESTAMP of the left side");
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_q13_shape_plans_a_lookup_relation),
        T(test_keys_casts_residual_and_left),
        T(test_key_type_mismatch),
        T(test_no_key_equality),
        T(test_right_join_is_refused),
        T(test_as_of_must_be_a_timestamp),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
