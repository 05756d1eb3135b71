/*
 * The lookup-join operator (src/exec/op_lookup_join.c) driven directly
 * with hand-built plans (plan/rel.h sluice_lookup_plan) and a hand-built
 * lookup table (exec/lookup.h) of rows (k BIGINT, v VARCHAR):
 *   (1, 'a'), (2, 'b'), (2, 'c'), (NULL, 'n')
 * Probe rows are (id BIGINT, k BIGINT); what the operator pushes
 * downstream is captured as text ("+I[10,1,1,a]"; "-" is NULL) and
 * compared with the rows worked out by hand in the comments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/lookup.h"
#include "exec/operator.h"
#include "sluice_test.h"

static sluice_transform_stats stats;
static sluice_op_ctx ctx;

/* ---- the table ---- */

static sluice_value table_rows[4][2];
static size_t calls, keys_asked;
static int fail_next;

static sluice_err_t table_lookup(sluice_lookup_table *t, const size_t *key_cols, size_t nkeycols,
                                 const sluice_value *keys, size_t n, int64_t now_ms, sluice_lookup_result *out,
                                 char *err, size_t err_size) {
    (void)t, (void)now_ms;
    calls++;
    keys_asked += n;
    if (fail_next) {
        fail_next = 0;
        snprintf(err, err_size, "connection refused");
        return SLUICE_ERR_IO;
    }
    assert_int_equal(nkeycols, 1);
    assert_int_equal(key_cols[0], 0);
    out->nrows = 0;
    assert_int_equal(sluice_lookup_result_reserve(out, n, 0), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_not_equal(keys[i].type, SLUICE_TYPE_NULL); /* NULL keys are never asked */
        out->first[i] = out->nrows;
        out->count[i] = 0;
        for (size_t r = 0; r < 4; r++)
            if (sluice_value_equal(&table_rows[r][0], &keys[i])) {
                assert_int_equal(sluice_lookup_result_reserve(out, n, 1), 0);
                out->rows[out->nrows++] = table_rows[r];
                out->count[i]++;
            }
    }
    return SLUICE_OK;
}

static void table_close(sluice_lookup_table *t) {
    (void)t;
}

static sluice_lookup_table table = {.name = "dim", .width = 2, .lookup = table_lookup, .close = table_close};

/* ---- a downstream operator that renders what it is given ---- */

static char got[1 << 15];
static size_t got_len, got_rows, got_batches;

static sluice_err_t capture_process(sluice_op *op, const sluice_op_batch *in) {
    (void)op;
    got_batches++;
    assert_int_equal(in->ncolumns, 4);
    for (size_t i = 0; i < in->nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        sluice_row_kind k = in->kinds ? in->kinds[r] : SLUICE_ROW_INSERT;
        const sluice_value *row = in->rows + r * in->ncolumns;
        got_rows++;
        if (got_len > sizeof got - 256) continue;
        got_len += (size_t)snprintf(got + got_len, sizeof got - got_len, "%s%s[", got_len ? " " : "",
                                    sluice_row_kind_name(k));
        for (size_t c = 0; c < 4; c++) {
            const sluice_value *v = &row[c];
            const char *sep = c ? "," : "";
            if (v->type == SLUICE_TYPE_NULL) got_len += (size_t)snprintf(got + got_len, sizeof got - got_len, "%s-", sep);
            else if (v->type == SLUICE_TYPE_VARCHAR)
                got_len += (size_t)snprintf(got + got_len, sizeof got - got_len, "%s%.*s", sep, (int)v->len, v->u.s);
            else got_len += (size_t)snprintf(got + got_len, sizeof got - got_len, "%s%lld", sep, (long long)v->u.i);
        }
        got_len += (size_t)snprintf(got + got_len, sizeof got - got_len, "]");
    }
    return SLUICE_OK;
}

static void capture_close(sluice_op *op) {
    (void)op;
}

static const sluice_op_ops capture_ops = {.name = "capture", .process = capture_process, .close = capture_close};
static sluice_op capture = {.ops = &capture_ops};

#define EXPECT(text)                      \
    do {                                  \
        assert_string_equal(got, (text)); \
        got_len = 0;                      \
        got[0] = 0;                       \
    } while (0)

/* ---- the plan: probe (id, k) ++ table (k, v), key probe.k = table.k ---- */

static const sluice_type_t probe_types[2] = {SLUICE_TYPE_BIGINT, SLUICE_TYPE_BIGINT};
static const sluice_type_t table_types[2] = {SLUICE_TYPE_BIGINT, SLUICE_TYPE_VARCHAR};
static sluice_expr probe_k = {.kind = SLUICE_EXPR_COLUMN, .type = SLUICE_TYPE_BIGINT, .column = 1};
static sluice_expr *probe_keys[1] = {&probe_k};
static size_t table_key_cols[1] = {0};

/* residual: v <> 'c' (column 3 of the joined row) */
static sluice_expr res_v = {.kind = SLUICE_EXPR_COLUMN, .type = SLUICE_TYPE_VARCHAR, .column = 3};
static sluice_expr res_c = {.kind = SLUICE_EXPR_CONST, .type = SLUICE_TYPE_VARCHAR};
static sluice_expr *res_args[2] = {&res_v, &res_c};
static sluice_expr residual_ne_c = {
    .kind = SLUICE_EXPR_CMP, .type = SLUICE_TYPE_BOOLEAN, .op = SLUICE_OP_NE, .args = res_args, .nargs = 2};

static sluice_lookup_plan plan_of(int left_outer, sluice_expr *residual) {
    sluice_lookup_plan lp;
    memset(&lp, 0, sizeof lp);
    lp.name = "t.lookup1";
    lp.table_name = "dim";
    lp.left_outer = left_outer;
    lp.probe_width = lp.table_width = 2;
    lp.probe_types = probe_types;
    lp.table_types = table_types;
    lp.nkeys = 1;
    lp.probe_keys = probe_keys;
    lp.table_key_cols = table_key_cols;
    lp.residual = residual;
    lp.table_binding = &table;
    return lp;
}

/* Push rows "KIND id k, ..." (k may be '-' for NULL) into the operator. */
static sluice_err_t push(sluice_op *op, const char *spec) {
    enum { MAX = 600 };
    static sluice_value rows[MAX * 2];
    static sluice_row_kind kinds[MAX];
    size_t n = 0;
    const char *p = spec;
    while (*p && n < MAX) {
        char kind[3], id[16], key[16];
        int used = 0;
        if (sscanf(p, " %2s %15s %15[^,]%n", kind, id, key, &used) != 3) fail_msg("bad spec at %s", p);
        p += used;
        if (*p == ',') p++;
        kinds[n] = !strcmp(kind, "+I")   ? SLUICE_ROW_INSERT
                   : !strcmp(kind, "-U") ? SLUICE_ROW_UPDATE_BEFORE
                   : !strcmp(kind, "+U") ? SLUICE_ROW_UPDATE_AFTER
                                         : SLUICE_ROW_DELETE;
        rows[2 * n] = sluice_value_bigint(atoll(id));
        rows[2 * n + 1] = key[0] == '-' ? sluice_value_null() : sluice_value_bigint(atoll(key));
        n++;
    }
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = rows;
    b.ncolumns = 2;
    b.nrows = n;
    b.kinds = kinds;
    b.watermark = b.proc_watermark = SLUICE_TS_MIN;
    b.proc_time = 1000;
    return op->ops->process(op, &b);
}

static int setup(void **state) {
    (void)state;
    memset(&stats, 0, sizeof stats);
    memset(&ctx, 0, sizeof ctx);
    ctx.batch_arena = sluice_arena_new(0);
    ctx.stats = &stats;
    got_len = got_rows = got_batches = 0;
    got[0] = 0;
    calls = keys_asked = 0;
    fail_next = 0;
    static const char *vs[4] = {"a", "b", "c", "n"};
    for (int r = 0; r < 4; r++) {
        table_rows[r][0] = r == 3 ? sluice_value_null() : sluice_value_bigint(r == 0 ? 1 : 2);
        table_rows[r][1] = sluice_value_varchar(vs[r], 1);
    }
    res_c.constant = sluice_value_varchar("c", 1);
    return ctx.batch_arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_arena_destroy(ctx.batch_arena);
    return 0;
}

/* Inner: 10 (k 1) meets (1,a); 11 (k 2) meets (2,b) and (2,c) in table
 * order; 12 (k 3) meets nothing; 13 (k NULL) is not asked (the table's
 * NULL key row matches no key).  One lookup for the batch, of 3 keys. */
static void test_inner_join_asks_once_per_batch_and_emits_every_match(void **state) {
    (void)state;
    sluice_lookup_plan lp = plan_of(0, NULL);
    sluice_op *op = sluice_op_lookup_join_new(&lp, &ctx, &capture);
    assert_non_null(op);
    assert_int_equal(push(op, "+I 10 1, +I 11 2, +I 12 3, +I 13 -"), SLUICE_OK);
    EXPECT("+I[10,1,1,a] +I[11,2,2,b] +I[11,2,2,c]");
    assert_int_equal(calls, 1);
    assert_int_equal(keys_asked, 3);
    /* nothing is kept between batches: the same key is asked again */
    assert_int_equal(push(op, "+I 14 1"), SLUICE_OK);
    EXPECT("+I[14,1,1,a]");
    assert_int_equal(calls, 2);
    assert_null(op->ops->snapshot_begin); /* stateless: nothing to snapshot */
    sluice_op_close(op);
}

/* LEFT: 12 (k 3) and 13 (k NULL) are padded with NULLs; the residual
 * v <> 'c' drops (11,2,c), but 11 still met (2,b), so it is not padded. */
static void test_left_join_pads_rows_without_a_match(void **state) {
    (void)state;
    sluice_lookup_plan lp = plan_of(1, &residual_ne_c);
    sluice_op *op = sluice_op_lookup_join_new(&lp, &ctx, &capture);
    assert_non_null(op);
    assert_int_equal(push(op, "+I 10 1, +I 11 2, +I 12 3, +I 13 -"), SLUICE_OK);
    EXPECT("+I[10,1,1,a] +I[11,2,2,b] +I[12,3,-,-] +I[13,-,-,-]");
    sluice_op_close(op);
}

/* A match that the residual rejects counts as no match: with the table
 * row (2,b) changed to (2,c), key 2 meets only 'c' rows, rejected, so a
 * LEFT join pads the probe row and an INNER join drops it. */
static void test_residual_rejected_matches_leave_the_row_unmatched(void **state) {
    (void)state;
    table_rows[1][1] = sluice_value_varchar("c", 1);
    sluice_lookup_plan lp = plan_of(1, &residual_ne_c);
    sluice_op *op = sluice_op_lookup_join_new(&lp, &ctx, &capture);
    assert_int_equal(push(op, "+I 11 2"), SLUICE_OK);
    EXPECT("+I[11,2,-,-]");
    sluice_op_close(op);
    lp = plan_of(0, &residual_ne_c);
    op = sluice_op_lookup_join_new(&lp, &ctx, &capture);
    assert_int_equal(push(op, "+I 11 2"), SLUICE_OK);
    EXPECT("");
    sluice_op_close(op);
}

/* Change kinds pass through: each joined row keeps its probe row's. */
static void test_change_kinds_pass_through(void **state) {
    (void)state;
    sluice_lookup_plan lp = plan_of(1, NULL);
    sluice_op *op = sluice_op_lookup_join_new(&lp, &ctx, &capture);
    assert_int_equal(push(op, "+I 10 1, -U 10 1, +U 10 3, -D 11 2"), SLUICE_OK);
    EXPECT("+I[10,1,1,a] -U[10,1,1,a] +U[10,3,-,-] -D[11,2,2,b] -D[11,2,2,c]");
    sluice_op_close(op);
}

/* More joined rows than SLUICE_EMIT_BATCH (1024) go down in several
 * batches: 600 probe rows of key 2 meet (2,b) and (2,c), 1200 rows, in a
 * batch of 1024 and one of 176. */
static void test_large_outputs_are_split_into_batches(void **state) {
    (void)state;
    sluice_lookup_plan lp = plan_of(0, NULL);
    sluice_op *op = sluice_op_lookup_join_new(&lp, &ctx, &capture);
    static char spec[600 * 9 + 1];
    spec[0] = 0;
    for (int i = 0; i < 600; i++) strcat(spec, i ? ", +I 1 2" : "+I 1 2");
    assert_int_equal(push(op, spec), SLUICE_OK);
    assert_int_equal(got_rows, 1200);
    assert_int_equal(got_batches, 2);
    assert_int_equal(calls, 1);
    sluice_op_close(op);
}

/* No table bound, or a lookup that fails: an error that says why. */
static void test_unbound_table_and_failed_lookup_are_errors(void **state) {
    (void)state;
    sluice_lookup_plan lp = plan_of(0, NULL);
    lp.table_binding = NULL;
    sluice_op *op = sluice_op_lookup_join_new(&lp, &ctx, &capture);
    assert_int_equal(push(op, "+I 10 1"), SLUICE_ERR_INVALID);
    assert_non_null(strstr(ctx.err, "lookup table dim is not bound"));
    sluice_op_close(op);
    lp = plan_of(0, NULL);
    op = sluice_op_lookup_join_new(&lp, &ctx, &capture);
    fail_next = 1;
    assert_int_equal(push(op, "+I 10 1"), SLUICE_ERR_IO);
    assert_non_null(strstr(ctx.err, "t.lookup1: lookup in dim failed: connection refused"));
    EXPECT("");
    sluice_op_close(op);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inner_join_asks_once_per_batch_and_emits_every_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_join_pads_rows_without_a_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_residual_rejected_matches_leave_the_row_unmatched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_kinds_pass_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_outputs_are_split_into_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unbound_table_and_failed_lookup_are_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
