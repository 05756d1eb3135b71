/*
 * The join operator (src/exec/op_join.c) driven directly with hand-built
 * plans (plan/rel.h): rows pushed into its two inputs, what it pushes
 * downstream captured as text ("+I[1,a,1,x]"; "-" is NULL) and compared
 * with the changelog worked out by hand in the comments.  A seeded random
 * check applies the output changelog to a multiset and compares it with a
 * nested-loop join of the final inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/operator.h"
#include "sluice_test.h"
#include "state/codec.h"

static sluice_transform_stats stats;
static sluice_op_ctx ctx;

/* ---- a downstream operator that renders what it is given ---- */

static char got[1 << 16];
static size_t got_len;
static size_t got_rows;

static void render(char *buf, size_t cap, const sluice_value *row, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    for (size_t c = 0; c < n && len < cap; c++) {
        const sluice_value *v = &row[c];
        const char *sep = c ? "," : "";
        if (v->type == SLUICE_TYPE_NULL)
            len += (size_t)snprintf(buf + len, cap - len, "%s-", sep);
        else if (v->type == SLUICE_TYPE_VARCHAR)
            len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", sep, (int)v->len, v->u.s);
        else
            len += (size_t)snprintf(buf + len, cap - len, "%s%lld", sep, (long long)v->u.i);
    }
}

/* the rows captured, for the random check */
typedef struct out_row {
    char text[128];
    int del;
} out_row;
static out_row *outs;
static size_t nouts, outs_cap;

static int64_t got_proc_time, got_watermark; /* of the last batch */

static sluice_err_t capture_process(sluice_op *op, const sluice_op_batch *in) {
    (void)op;
    got_proc_time = in->proc_time;
    got_watermark = in->watermark;
    assert_null(in->recs); /* derived rows */
    for (size_t i = 0; i < in->nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        sluice_row_kind k = in->kinds ? in->kinds[r] : SLUICE_ROW_INSERT;
        char row[128];
        render(row, sizeof row, in->rows + r * in->ncolumns, in->ncolumns);
        if (got_len < sizeof got - 256)
            got_len += (size_t)snprintf(got + got_len, sizeof got - got_len, "%s%s[%s]", got_len ? " " : "",
                                        sluice_row_kind_name(k), row);
        got_rows++;
        if (nouts == outs_cap) {
            outs_cap = outs_cap ? outs_cap * 2 : 256;
            outs = realloc(outs, outs_cap * sizeof *outs);
            assert_non_null(outs);
        }
        snprintf(outs[nouts].text, sizeof outs[nouts].text, "%s", row);
        outs[nouts++].del = k == SLUICE_ROW_DELETE || k == SLUICE_ROW_UPDATE_BEFORE;
    }
    return SLUICE_OK;
}

static void capture_close(sluice_op *op) {
    (void)op;
}

static const sluice_op_ops capture_ops = {.name = "capture", .process = capture_process, .close = capture_close};
static sluice_op capture = {.ops = &capture_ops};

/* Check the captured changelog, then forget it. */
#define EXPECT(text)                       \
    do {                                   \
        assert_string_equal(got, (text));  \
        got_len = 0;                       \
        got[0] = 0;                        \
    } while (0)

/* ---- plans: both sides (k BIGINT, v VARCHAR) or (k BIGINT, t TIMESTAMP) ---- */

static const sluice_type_t str_types[2] = {SLUICE_TYPE_BIGINT, SLUICE_TYPE_VARCHAR};
static const sluice_type_t time_types[2] = {SLUICE_TYPE_BIGINT, SLUICE_TYPE_TIMESTAMP};

static sluice_expr key_l = {.kind = SLUICE_EXPR_COLUMN, .type = SLUICE_TYPE_BIGINT, .column = 0};
static sluice_expr key_r = {.kind = SLUICE_EXPR_COLUMN, .type = SLUICE_TYPE_BIGINT, .column = 0};
static sluice_expr *lkeys[1] = {&key_l};
static sluice_expr *rkeys[1] = {&key_r};

/* residual: left.v <> right.v (columns 1 and 3 of the joined row) */
static sluice_expr res_a = {.kind = SLUICE_EXPR_COLUMN, .type = SLUICE_TYPE_VARCHAR, .column = 1};
static sluice_expr res_b = {.kind = SLUICE_EXPR_COLUMN, .type = SLUICE_TYPE_VARCHAR, .column = 3};
static sluice_expr *res_args[2] = {&res_a, &res_b};
static sluice_expr residual_ne = {
    .kind = SLUICE_EXPR_CMP, .type = SLUICE_TYPE_BOOLEAN, .op = SLUICE_OP_NE, .args = res_args, .nargs = 2};

static sluice_join_plan plan_of(sluice_join_type type, sluice_join_strategy strategy) {
    sluice_join_plan jp;
    memset(&jp, 0, sizeof jp);
    jp.name = "t.join";
    jp.type = type;
    jp.strategy = strategy;
    jp.left_width = jp.right_width = 2;
    jp.left_types = jp.right_types = strategy == SLUICE_JOIN_INTERVAL ? time_types : str_types;
    jp.nkeys = 1;
    jp.left_keys = lkeys;
    jp.right_keys = rkeys;
    jp.left_time = jp.right_time = 1;
    return jp;
}

static sluice_op *restart_op(sluice_op *j, const sluice_join_plan *jp);
static size_t snapshot(sluice_op *j, sluice_enc *e);

/* ---- input ---- */

static int64_t now_ms = 1000;      /* processing time of the next batch */

/* Push the rows of spec, one batch, into side (0 left, 1 right) of join:
 * "+I 1 a, -D 2 b, +U - c" — kind, key ("-" = NULL), value (text, or a
 * number for a TIMESTAMP side). */
static void push(sluice_op *join, int side, const sluice_join_plan *jp, const char *spec) {
    enum { MAX = 64 };
    static sluice_value rows[MAX * 2];
    static sluice_row_kind kinds[MAX];
    static char texts[MAX][16];
    size_t n = 0;
    const char *p = spec;
    while (*p && n < MAX) {
        char kind[3], key[16], val[16];
        int used = 0;
        if (sscanf(p, " %2s %15s %15[^,]%n", kind, key, val, &used) != 3) fail_msg("bad spec at %s", p);
        p += used;
        if (*p == ',') p++;
        kinds[n] = !strcmp(kind, "+I")   ? SLUICE_ROW_INSERT
                   : !strcmp(kind, "-U") ? SLUICE_ROW_UPDATE_BEFORE
                   : !strcmp(kind, "+U") ? SLUICE_ROW_UPDATE_AFTER
                                         : SLUICE_ROW_DELETE;
        rows[n * 2] = !strcmp(key, "-") ? sluice_value_null() : sluice_value_bigint(atoll(key));
        const sluice_type_t *types = side ? jp->right_types : jp->left_types;
        if (!strcmp(val, "-")) {
            rows[n * 2 + 1] = sluice_value_null();
        } else if (types[1] == SLUICE_TYPE_TIMESTAMP) {
            rows[n * 2 + 1] = sluice_value_timestamp(atoll(val));
        } else {
            snprintf(texts[n], sizeof texts[n], "%s", val);
            rows[n * 2 + 1] = sluice_value_varchar(texts[n], strlen(texts[n]));
        }
        n++;
    }
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = rows;
    b.ncolumns = 2;
    b.nrows = n;
    b.kinds = kinds;
    b.watermark = SLUICE_TS_MIN;
    b.proc_watermark = SLUICE_TS_MIN;
    b.proc_time = now_ms;
    sluice_op *in = sluice_op_join_input(join, side);
    assert_non_null(in);
    assert_int_equal(in->ops->process(in, &b), SLUICE_OK);
    /* the strings were the batch's: scribble over them, the state must have copied */
    for (size_t i = 0; i < n; i++) memset(texts[i], '#', sizeof texts[i] - 1);
}

static int setup(void **state) {
    (void)state;
    memset(&stats, 0, sizeof stats);
    memset(&ctx, 0, sizeof ctx);
    ctx.batch_arena = sluice_arena_new(0);
    ctx.stats = &stats;
    got_len = 0;
    got[0] = 0;
    got_rows = 0;
    nouts = 0;
    now_ms = 1000;
    return ctx.batch_arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_arena_destroy(ctx.batch_arena);
    free(outs);
    outs = NULL;
    outs_cap = nouts = 0;
    return 0;
}

static sluice_op *join_new(const sluice_join_plan *jp) {
    sluice_op *j = sluice_op_join_new(jp, &ctx, &capture);
    assert_non_null(j);
    return j;
}

/* ---- regular joins ---- */

static void test_inner_join_emits_each_match_and_takes_it_back_on_delete(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_INNER, SLUICE_JOIN_REGULAR);
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I 1 a, +I 2 b");
    EXPECT(""); /* nothing on the right yet */
    push(j, 1, &jp, "+I 1 x, +I 3 y");
    EXPECT("+I[1,a,1,x]");
    push(j, 0, &jp, "+I 1 c");
    EXPECT("+I[1,c,1,x]");
    /* the right row goes: both of its joined rows go, in the left's arrival order */
    push(j, 1, &jp, "-D 1 x");
    EXPECT("-D[1,a,1,x] -D[1,c,1,x]");
    /* an update of the left row: -U takes back, +U adds (as delete and insert) */
    push(j, 1, &jp, "+I 2 z");
    EXPECT("+I[2,b,2,z]");
    push(j, 0, &jp, "-U 2 b, +U 2 bb");
    EXPECT("-D[2,b,2,z] +I[2,bb,2,z]");
    /* left {1a, 1c, 2bb}, right {3y, 2z} */
    assert_int_equal(j->ops->state_rows(j), 5);
    assert_true(j->ops->state_bytes(j) > 0);
    sluice_op_close(j);
}

static void test_duplicates_are_counted_and_joined_once_each(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_INNER, SLUICE_JOIN_REGULAR);
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I 1 a, +I 1 a");
    push(j, 1, &jp, "+I 1 x");
    /* two equal left rows: the joined row twice */
    EXPECT("+I[1,a,1,x] +I[1,a,1,x]");
    push(j, 1, &jp, "+I 1 x");
    EXPECT("+I[1,a,1,x] +I[1,a,1,x]");
    assert_int_equal(j->ops->state_rows(j), 4);
    /* one left copy goes: it joined the two right rows */
    push(j, 0, &jp, "-D 1 a");
    EXPECT("-D[1,a,1,x] -D[1,a,1,x]");
    assert_int_equal(j->ops->state_rows(j), 3);
    sluice_op_close(j);
}

static void test_null_keys_never_match(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_INNER, SLUICE_JOIN_REGULAR);
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I - a");
    push(j, 1, &jp, "+I - x");
    EXPECT("");
    assert_int_equal(j->ops->state_rows(j), 0); /* they could never join: not kept */
    sluice_op_close(j);
    /* LEFT: the NULL-key row is padded, for good */
    jp = plan_of(SLUICE_JOIN_LEFT, SLUICE_JOIN_REGULAR);
    j = join_new(&jp);
    push(j, 1, &jp, "+I - x");
    push(j, 0, &jp, "+I - a");
    EXPECT("+I[-,a,-,-]");
    push(j, 0, &jp, "-D - a");
    EXPECT("-D[-,a,-,-]");
    sluice_op_close(j);
}

static void test_left_join_pads_and_brings_the_padded_row_back(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_LEFT, SLUICE_JOIN_REGULAR);
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I 1 a");
    EXPECT("+I[1,a,-,-]");
    /* first partner: the padded row goes, the joined row comes */
    push(j, 1, &jp, "+I 1 x");
    EXPECT("-D[1,a,-,-] +I[1,a,1,x]");
    /* second partner: only the joined row */
    push(j, 1, &jp, "+I 1 y");
    EXPECT("+I[1,a,1,y]");
    push(j, 1, &jp, "-D 1 x");
    EXPECT("-D[1,a,1,x]");
    /* last partner goes (as update-before): the padded row comes back */
    push(j, 1, &jp, "-U 1 y");
    EXPECT("-D[1,a,1,y] +I[1,a,-,-]");
    /* a right row without left partner: nothing (not kept by LEFT) */
    push(j, 1, &jp, "+I 2 z");
    EXPECT("");
    /* the left row goes while unmatched: its padded row goes */
    push(j, 0, &jp, "-D 1 a");
    EXPECT("-D[1,a,-,-]");
    assert_int_equal(j->ops->state_rows(j), 1);
    sluice_op_close(j);
}

static void test_right_join_pads_right_rows(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_RIGHT, SLUICE_JOIN_REGULAR);
    sluice_op *j = join_new(&jp);
    push(j, 1, &jp, "+I 1 x, +I 1 x");
    EXPECT("+I[-,-,1,x] +I[-,-,1,x]");
    /* both equal right rows lose their padded row */
    push(j, 0, &jp, "+I 1 a, +I 2 b");
    EXPECT("-D[-,-,1,x] -D[-,-,1,x] +I[1,a,1,x] +I[1,a,1,x]");
    push(j, 0, &jp, "-D 1 a");
    EXPECT("-D[1,a,1,x] -D[1,a,1,x] +I[-,-,1,x] +I[-,-,1,x]");
    sluice_op_close(j);
}

static void test_full_join_pads_both_sides(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_FULL, SLUICE_JOIN_REGULAR);
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I 1 a");
    push(j, 1, &jp, "+I 2 y");
    EXPECT("+I[1,a,-,-] +I[-,-,2,y]");
    push(j, 1, &jp, "+I 1 x");
    EXPECT("-D[1,a,-,-] +I[1,a,1,x]");
    push(j, 0, &jp, "+I 2 b");
    EXPECT("-D[-,-,2,y] +I[2,b,2,y]");
    /* the left 1a goes: the right 1x has no partner left */
    push(j, 0, &jp, "-D 1 a");
    EXPECT("-D[1,a,1,x] +I[-,-,1,x]");
    sluice_op_close(j);
}

static void test_residual_filters_pairs_and_decides_padding(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_LEFT, SLUICE_JOIN_REGULAR);
    jp.residual = &residual_ne; /* left.v <> right.v */
    sluice_op *j = join_new(&jp);
    push(j, 1, &jp, "+I 1 a, +I 1 b");
    push(j, 0, &jp, "+I 1 a");
    /* (1a,1a) fails the residual; (1a,1b) joins */
    EXPECT("+I[1,a,1,b]");
    push(j, 1, &jp, "-D 1 b");
    /* the only partner that passed goes: padded */
    EXPECT("-D[1,a,1,b] +I[1,a,-,-]");
    push(j, 1, &jp, "-D 1 a");
    EXPECT(""); /* it never joined */
    sluice_op_close(j);
}

static void test_no_keys_is_a_nested_loop(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_INNER, SLUICE_JOIN_REGULAR);
    jp.nkeys = 0;
    jp.residual = &residual_ne;
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I 1 a, +I 2 b, +I - c");
    push(j, 1, &jp, "+I 7 a");
    /* every left row meets it; 1a fails the residual; a NULL column is no key */
    EXPECT("+I[2,b,7,a] +I[-,c,7,a]");
    sluice_op_close(j);
}

static void test_state_ttl_drops_rows_unused_for_that_long(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_INNER, SLUICE_JOIN_REGULAR);
    jp.state_ttl_ms = 100;
    sluice_op *j = join_new(&jp);
    now_ms = 1000;
    push(j, 0, &jp, "+I 1 a, +I 2 b");
    now_ms = 1050;
    push(j, 1, &jp, "+I 1 x"); /* matches 1a: 1a is used at 1050 */
    EXPECT("+I[1,a,1,x]");
    assert_int_equal(got_proc_time, 1050); /* the output carries its input's processing time */
    assert_int_equal(j->ops->state_rows(j), 3);
    /* at 1100, 2b (last used at 1000) has been unused for 100 ms: dropped
     * before the batch; 1a (1050) stays */
    now_ms = 1100;
    push(j, 1, &jp, "+I 2 y, +I 1 z");
    EXPECT("+I[1,a,1,z]");
    assert_int_equal(j->ops->state_rows(j), 4); /* 1a, 1x, 2y, 1z */
    /* the times of last use survive a snapshot */
    j = restart_op(j, &jp);
    /* at 1149 nothing is 100 ms old yet (1x at 1050 is 99 ms old) */
    now_ms = 1149;
    push(j, 0, &jp, "+I 9 q");
    assert_int_equal(j->ops->state_rows(j), 5);
    /* at 1150: 1x (1050) goes; 1a was used at 1100 by 1z, so it stays */
    now_ms = 1150;
    push(j, 0, &jp, "+I 9 q");
    assert_int_equal(j->ops->state_rows(j), 5); /* 1a, 2y, 1z, 9q x2 */
    sluice_op_close(j);
}

/* Rows are copied deeply: an ARRAY's elements outlive the batch. */
static void test_array_values_are_copied_into_the_state(void **state) {
    (void)state;
    static const sluice_type_t ltypes[2] = {SLUICE_TYPE_BIGINT, SLUICE_TYPE_ARRAY};
    sluice_join_plan jp = plan_of(SLUICE_JOIN_INNER, SLUICE_JOIN_REGULAR);
    jp.left_types = ltypes;
    sluice_op *j = join_new(&jp);
    char bytes[2][4] = {"ab", "cde"};
    sluice_array *a = sluice_array_new(ctx.batch_arena, SLUICE_TYPE_VARCHAR, 3);
    assert_non_null(a);
    a->values[0] = sluice_value_varchar(bytes[0], 2);
    a->values[2] = sluice_value_varchar(bytes[1], 3); /* [ab, NULL, cde] */
    sluice_value row[2] = {sluice_value_bigint(1), sluice_value_array(a)};
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = row;
    b.ncolumns = 2;
    b.nrows = 1;
    sluice_op *in = sluice_op_join_input(j, 0);
    assert_int_equal(in->ops->process(in, &b), SLUICE_OK);
    memset(bytes, 'z', sizeof bytes);
    sluice_arena_reset(ctx.batch_arena);
    j = restart_op(j, &jp);
    nouts = 0;
    push(j, 1, &jp, "+I 1 x");
    assert_int_equal(nouts, 1);
    /* the capture renders an ARRAY by its element count; check the elements */
    sluice_enc e;
    snapshot(j, &e);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    sluice_arena *ar = sluice_arena_new(0);
    sluice_dec_i64(&d);
    sluice_dec_u8(&d);
    sluice_dec_i64(&d);
    assert_int_equal(sluice_dec_i64(&d), 1); /* one left row */
    assert_int_equal(sluice_dec_i64(&d), 1); /* one right row */
    assert_int_equal(sluice_dec_u32(&d), 1);
    assert_int_equal(sluice_dec_i64(&d), 1); /* count */
    sluice_dec_i64(&d);
    sluice_dec_i64(&d);
    sluice_value k = sluice_dec_value(&d, ar), arr = sluice_dec_value(&d, ar);
    assert_false(d.bad);
    assert_int_equal(k.u.i, 1);
    assert_int_equal(arr.type, SLUICE_TYPE_ARRAY);
    assert_int_equal(arr.u.a->count, 3);
    assert_memory_equal(arr.u.a->values[0].u.s, "ab", 2);
    assert_int_equal(arr.u.a->values[1].type, SLUICE_TYPE_NULL);
    assert_memory_equal(arr.u.a->values[2].u.s, "cde", 3);
    sluice_arena_destroy(ar);
    free(e.data);
    sluice_op_close(j);
}

/* ---- interval joins: right.t BETWEEN left.t - 10 AND left.t + 5 ---- */

static void test_interval_bounds_are_inclusive(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_INNER, SLUICE_JOIN_INTERVAL);
    jp.lower_ms = -10;
    jp.upper_ms = 5;
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I 1 100");
    push(j, 1, &jp, "+I 1 89, +I 1 90, +I 1 105, +I 1 106, +I 2 100");
    /* 90 = 100 - 10 and 105 = 100 + 5 are in; 89 and 106 are out */
    EXPECT("+I[1,100,1,90] +I[1,100,1,105]");
    push(j, 0, &jp, "+I 1 95");
    /* 95: right rows in [85, 100]: 89, 90 */
    EXPECT("+I[1,95,1,89] +I[1,95,1,90]");
    sluice_op_close(j);
}

static void test_interval_state_is_cleaned_by_the_watermark(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_INNER, SLUICE_JOIN_INTERVAL);
    jp.lower_ms = -10;
    jp.upper_ms = 5;
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I 1 100");
    push(j, 1, &jp, "+I 1 120");
    EXPECT("");
    assert_int_equal(j->ops->state_rows(j), 2);
    /* left at 100 is kept while wm <= 105; right at 120 while wm <= 130 */
    assert_int_equal(j->ops->on_watermark(j, 105, 1), 0);
    assert_int_equal(j->ops->state_rows(j), 2);
    assert_int_equal(j->ops->on_watermark(j, 106, 1), 0);
    assert_int_equal(j->ops->state_rows(j), 1);
    /* a right row at 104 is kept while wm <= 114; the left 100 it would
     * have met is gone */
    push(j, 1, &jp, "+I 1 104");
    EXPECT("");
    assert_int_equal(j->ops->state_rows(j), 2);
    /* a late left row at 100 (kept only while wm <= 105) still meets what is
     * held, but is not kept */
    push(j, 0, &jp, "+I 1 100");
    EXPECT("+I[1,100,1,104]");
    assert_int_equal(j->ops->state_rows(j), 2);
    assert_int_equal(j->ops->on_watermark(j, 131, 1), 0);
    assert_int_equal(j->ops->state_rows(j), 0);
    sluice_op_close(j);
}

static void test_outer_interval_pads_a_row_without_partner_when_it_expires(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_FULL, SLUICE_JOIN_INTERVAL);
    jp.lower_ms = 0;
    jp.upper_ms = 10;
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I 1 100, +I 2 100");
    push(j, 1, &jp, "+I 1 105, +I 3 50");
    /* interval outer rows are padded when they leave the state, not on arrival */
    EXPECT("+I[1,100,1,105]");
    /* wm 60: right 50 (kept while wm <= 50) expires unmatched */
    assert_int_equal(j->ops->on_watermark(j, 60, 1), 0);
    EXPECT("+I[-,-,3,50]");
    assert_true(got_watermark == SLUICE_TS_MIN); /* the watermark before this one */
    /* wm 111: left 100s expire (kept while wm <= 110); 2/100 never joined; right
     * 105 expires too (kept while wm <= 105) but joined */
    assert_int_equal(j->ops->on_watermark(j, 111, 1), 0);
    EXPECT("+I[2,100,-,-]");
    assert_int_equal(got_watermark, 60);
    assert_int_equal(j->ops->state_rows(j), 0);
    /* a row already too late on arrival: padded at once */
    push(j, 0, &jp, "+I 4 50");
    EXPECT("+I[4,50,-,-]");
    assert_int_equal(j->ops->state_rows(j), 0);
    sluice_op_close(j);
}

/* ---- snapshot ---- */

static size_t snapshot(sluice_op *j, sluice_enc *e) {
    memset(e, 0, sizeof *e);
    j->ops->snapshot_begin(j);
    size_t pieces = 0;
    while (j->ops->snapshot_next(j, e)) pieces++;
    j->ops->snapshot_end(j);
    assert_false(e->oom);
    return pieces;
}

static void test_snapshot_restore_continues_as_without_interruption(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_FULL, SLUICE_JOIN_REGULAR);
    const char *before[][2] = {{"+I 1 a, +I 1 a, +I 2 b", "+I 1 x, +I 3 y"}, {"-D 2 b", "+I 2 z"}};
    const char *after[][2] = {{"+I 3 c, -D 1 a", "-D 1 x, +I 2 w"}, {"-D 1 a", "-D 3 y"}};
    /* uninterrupted */
    sluice_op *j = join_new(&jp);
    for (size_t i = 0; i < 2; i++) {
        push(j, 0, &jp, before[i][0]);
        push(j, 1, &jp, before[i][1]);
    }
    got_len = 0;
    for (size_t i = 0; i < 2; i++) {
        push(j, 0, &jp, after[i][0]);
        push(j, 1, &jp, after[i][1]);
    }
    static char want[sizeof got];
    memcpy(want, got, sizeof got);
    sluice_op_close(j);
    /* interrupted after `before` */
    got_len = 0;
    j = join_new(&jp);
    for (size_t i = 0; i < 2; i++) {
        push(j, 0, &jp, before[i][0]);
        push(j, 1, &jp, before[i][1]);
    }
    sluice_enc e;
    snapshot(j, &e);
    size_t bytes = j->ops->state_bytes(j), rows = j->ops->state_rows(j);
    sluice_op_close(j);
    got_len = 0;
    j = join_new(&jp);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(j->ops->restore(j, &d, SLUICE_SNAPSHOT_VERSION), 0);
    assert_int_equal(d.pos, e.len);
    assert_int_equal(j->ops->state_rows(j), rows);
    assert_int_equal(j->ops->state_bytes(j), bytes);
    /* the same snapshot again */
    sluice_enc e2;
    snapshot(j, &e2);
    assert_int_equal(e2.len, e.len);
    assert_memory_equal(e2.data, e.data, e.len);
    free(e2.data);
    for (size_t i = 0; i < 2; i++) {
        push(j, 0, &jp, after[i][0]);
        push(j, 1, &jp, after[i][1]);
    }
    assert_string_equal(got, want);
    assert_true(strlen(want) > 0);
    sluice_op_close(j);
    free(e.data);
}

/* Every truncation and many corruptions of a snapshot: restore refuses
 * (d.bad, no state) or accepts, never crashes; the operator goes on. */
static void test_restore_of_damaged_bytes_is_refused_without_crash(void **state) {
    (void)state;
    sluice_join_plan jp = plan_of(SLUICE_JOIN_FULL, SLUICE_JOIN_REGULAR);
    jp.state_ttl_ms = 1000;
    sluice_op *j = join_new(&jp);
    push(j, 0, &jp, "+I 1 alpha, +I 1 alpha, +I 2 beta, +I - n");
    push(j, 1, &jp, "+I 1 xx, +I 3 yy");
    sluice_enc e;
    snapshot(j, &e);
    sluice_op_close(j);
    j = join_new(&jp);
    for (size_t len = 0; len < e.len; len++) {
        sluice_dec d;
        sluice_dec_init(&d, e.data, len);
        assert_int_equal(j->ops->restore(j, &d, SLUICE_SNAPSHOT_VERSION), -1);
        assert_true(d.bad);
        assert_int_equal(j->ops->state_rows(j), 0);
    }
    unsigned char *buf = malloc(e.len);
    assert_non_null(buf);
    srand(7);
    size_t accepted = 0;
    for (int round = 0; round < 4000; round++) {
        memcpy(buf, e.data, e.len);
        int flips = 1 + rand() % 3;
        for (int f = 0; f < flips; f++) buf[(size_t)rand() % e.len] = (unsigned char)rand();
        sluice_dec d;
        sluice_dec_init(&d, buf, e.len);
        int rc = j->ops->restore(j, &d, SLUICE_SNAPSHOT_VERSION);
        if (rc != 0) {
            assert_true(d.bad);
            assert_int_equal(j->ops->state_rows(j), 0);
            continue;
        }
        accepted++;
        /* a count may have been changed to billions: the rows would be
         * emitted as often, as for an honest state of that many rows */
        if (j->ops->state_rows(j) > 1000) continue;
        /* whatever was accepted, the operator keeps working */
        push(j, 0, &jp, "+I 1 alpha, -D 1 alpha, +I 3 c");
        push(j, 1, &jp, "-D 1 xx, +I 2 q, -D 3 yy");
        assert_int_equal(j->ops->on_watermark(j, 5000, 1), 0);
    }
    assert_true(accepted > 0); /* e.g. a changed letter of a string */
    free(buf);
    sluice_op_close(j);
    free(e.data);
}

/* ---- the random check against a nested-loop join ---- */

typedef struct mrow {
    int64_t k; /* -1 = NULL */
    int64_t v; /* a letter, or a time */
    int64_t n;
} mrow;

static void mrow_one(char *buf, size_t cap, const mrow *m, int num) {
    char k[24] = "-";
    if (m->k >= 0) snprintf(k, sizeof k, "%lld", (long long)m->k);
    if (num) snprintf(buf, cap, "%s,%lld", k, (long long)m->v);
    else snprintf(buf, cap, "%s,%c", k, (char)m->v);
}

/* The text of the joined row l ++ r as the capture renders it (NULL: padded). */
static void mrow_text(char *buf, size_t cap, const mrow *l, const mrow *r, int num) {
    char a[48] = "-,-", b[48] = "-,-";
    if (l) mrow_one(a, sizeof a, l, num);
    if (r) mrow_one(b, sizeof b, r, num);
    snprintf(buf, cap, "%s,%s", a, b);
}

/* a multiset of texts */
typedef struct tset {
    char (*t)[128];
    int64_t *n;
    size_t len, cap;
} tset;

static int64_t *tset_at(tset *s, const char *text) {
    for (size_t i = 0; i < s->len; i++)
        if (!strcmp(s->t[i], text)) return &s->n[i];
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->t = realloc(s->t, s->cap * sizeof *s->t);
        s->n = realloc(s->n, s->cap * sizeof *s->n);
        assert_true(s->t && s->n);
    }
    snprintf(s->t[s->len], sizeof s->t[s->len], "%s", text);
    s->n[s->len] = 0;
    return &s->n[s->len++];
}

static int pair_ok(const mrow *l, const mrow *r, int nkeys, int residual) {
    if (nkeys && (l->k < 0 || r->k < 0 || l->k != r->k)) return 0;
    return !residual || l->v != r->v;
}

/* The changelog captured, applied to a multiset, against the nested-loop
 * join of the final inputs side[0] x side[1] under ok(). */
static void check_against_nested_loop(unsigned seed, sluice_join_type type, mrow *const side[2], const size_t nside[2],
                                      int (*ok)(const mrow *, const mrow *, const void *), const void *arg, int num) {
    tset have = {0};
    for (size_t i = 0; i < nouts; i++) {
        int64_t *n = tset_at(&have, outs[i].text);
        *n += outs[i].del ? -1 : 1;
        if (*n < 0) fail_msg("seed %u: %s deleted while not present", seed, outs[i].text);
    }
    tset want = {0};
    int outer_l = type == SLUICE_JOIN_LEFT || type == SLUICE_JOIN_FULL;
    int outer_r = type == SLUICE_JOIN_RIGHT || type == SLUICE_JOIN_FULL;
    char text[128];
    for (size_t a = 0; a < nside[0]; a++) {
        int64_t partners = 0;
        for (size_t b = 0; b < nside[1]; b++)
            if (ok(&side[0][a], &side[1][b], arg)) {
                mrow_text(text, sizeof text, &side[0][a], &side[1][b], num);
                *tset_at(&want, text) += side[0][a].n * side[1][b].n;
                partners++;
            }
        if (!partners && outer_l) {
            mrow_text(text, sizeof text, &side[0][a], NULL, num);
            *tset_at(&want, text) += side[0][a].n;
        }
    }
    for (size_t b = 0; b < nside[1] && outer_r; b++) {
        int64_t partners = 0;
        for (size_t a = 0; a < nside[0]; a++) partners += ok(&side[0][a], &side[1][b], arg);
        if (!partners) {
            mrow_text(text, sizeof text, NULL, &side[1][b], num);
            *tset_at(&want, text) += side[1][b].n;
        }
    }
    for (size_t i = 0; i < have.len; i++)
        if (have.n[i] != *tset_at(&want, have.t[i]))
            fail_msg("seed %u type %d: %s %lld times, expected %lld", seed, (int)type, have.t[i],
                     (long long)have.n[i], (long long)*tset_at(&want, have.t[i]));
    for (size_t i = 0; i < want.len; i++)
        if (want.n[i] != *tset_at(&have, want.t[i]))
            fail_msg("seed %u type %d: %s %lld times, expected %lld", seed, (int)type, want.t[i],
                     (long long)*tset_at(&have, want.t[i]), (long long)want.n[i]);
    free(have.t);
    free(have.n);
    free(want.t);
    free(want.n);
}

typedef struct regular_arg {
    int nkeys, residual;
} regular_arg;

static int regular_ok(const mrow *l, const mrow *r, const void *arg) {
    const regular_arg *ra = arg;
    return pair_ok(l, r, ra->nkeys, ra->residual);
}



static void random_round(unsigned seed, sluice_join_type type, int nkeys, int residual, int restart) {
    sluice_join_plan jp = plan_of(type, SLUICE_JOIN_REGULAR);
    jp.nkeys = (size_t)nkeys;
    jp.residual = residual ? &residual_ne : NULL;
    srand(seed);
    nouts = 0;
    got_len = 0;
    sluice_op *j = join_new(&jp);
    mrow side[2][64];
    size_t nside[2] = {0, 0};
    int steps = 120;
    for (int step = 0; step < steps; step++) {
        int s = rand() % 2;
        char spec[512];
        size_t len = 0;
        int nb = 1 + rand() % 4;
        for (int b = 0; b < nb; b++) {
            /* retract a held row (as -D or -U) or add one (as +I or +U) */
            int retract = nside[s] && rand() % 3 == 0;
            mrow r;
            const char *kind;
            if (retract) {
                size_t i = (size_t)rand() % nside[s];
                r = side[s][i];
                if (--side[s][i].n == 0) side[s][i] = side[s][--nside[s]];
                kind = rand() % 2 ? "-D" : "-U";
            } else {
                r.k = rand() % 5 - 1;
                r.v = 'a' + rand() % 3;
                size_t i = 0;
                while (i < nside[s] && !(side[s][i].k == r.k && side[s][i].v == r.v)) i++;
                if (i == nside[s]) {
                    if (nside[s] == 64) continue;
                    side[s][nside[s]] = r;
                    side[s][nside[s]++].n = 0;
                }
                side[s][i].n++;
                kind = rand() % 2 ? "+I" : "+U";
            }
            char key[24];
            if (r.k < 0) snprintf(key, sizeof key, "-");
            else snprintf(key, sizeof key, "%lld", (long long)r.k);
            len += (size_t)snprintf(spec + len, sizeof spec - len, "%s%s %s %c", len ? ", " : "", kind, key, (char)r.v);
        }
        if (len) push(j, s, &jp, spec);
        if (restart && step == steps / 2) j = restart_op(j, &jp);
    }
    regular_arg ra = {nkeys, residual};
    mrow *sides[2] = {side[0], side[1]};
    check_against_nested_loop(seed, type, sides, nside, regular_ok, &ra, 0);
    /* the state holds exactly the final inputs */
    int64_t held = 0;
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < nside[s]; i++) held += (nkeys && side[s][i].k < 0) ? 0 : side[s][i].n;
    assert_int_equal(j->ops->state_rows(j), held);
    sluice_op_close(j);
}

static void test_random_changelogs_match_a_nested_loop_join(void **state) {
    (void)state;
    for (unsigned seed = 1; seed <= 60; seed++)
        for (int type = SLUICE_JOIN_INNER; type <= SLUICE_JOIN_FULL; type++)
            random_round(seed, (sluice_join_type)type, seed % 5 != 0, seed % 3 == 0, seed % 2 == 0);
}

static sluice_op *restart_op(sluice_op *j, const sluice_join_plan *jp) {
    sluice_enc e;
    snapshot(j, &e);
    sluice_op_close(j);
    j = join_new(jp);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(j->ops->restore(j, &d, SLUICE_SNAPSHOT_VERSION), 0);
    assert_int_equal(d.pos, e.len);
    free(e.data);
    return j;
}

typedef struct interval_arg {
    int64_t lower, upper;
} interval_arg;

static int interval_ok(const mrow *l, const mrow *r, const void *arg) {
    const interval_arg *ia = arg;
    return l->k >= 0 && l->k == r->k && r->v - l->v >= ia->lower && r->v - l->v <= ia->upper;
}

/* Append-only inputs whose times never fall behind the watermark: with a
 * last watermark past every bound, the interval join's changelog (padded
 * rows emitted on expiry) equals the nested-loop join. */
static void random_interval_round(unsigned seed, sluice_join_type type, int restart) {
    sluice_join_plan jp = plan_of(type, SLUICE_JOIN_INTERVAL);
    srand(seed);
    jp.lower_ms = -(rand() % 20);
    jp.upper_ms = jp.lower_ms + rand() % 30;
    nouts = 0;
    got_len = 0;
    sluice_op *j = join_new(&jp);
    enum { MAXR = 400 };
    static mrow side[2][MAXR];
    size_t nside[2] = {0, 0};
    int64_t base = 1000;
    int steps = 100;
    for (int step = 0; step < steps; step++) {
        int s = rand() % 2;
        char spec[512];
        size_t len = 0;
        int nb = 1 + rand() % 4;
        for (int b = 0; b < nb && nside[s] < MAXR; b++) {
            mrow r = {rand() % 5 - 1, base + rand() % 40, 1};
            side[s][nside[s]++] = r;
            char key[24];
            if (r.k < 0) snprintf(key, sizeof key, "-");
            else snprintf(key, sizeof key, "%lld", (long long)r.k);
            len += (size_t)snprintf(spec + len, sizeof spec - len, "%s+I %s %lld", len ? ", " : "", key,
                                    (long long)r.v);
        }
        if (len) push(j, s, &jp, spec);
        base += rand() % 8;
        assert_int_equal(j->ops->on_watermark(j, base, 1), 0);
        if (restart && step == steps / 2) j = restart_op(j, &jp);
    }
    assert_int_equal(j->ops->on_watermark(j, SLUICE_TS_MAX, 1), 0);
    assert_int_equal(j->ops->state_rows(j), 0);
    interval_arg ia = {jp.lower_ms, jp.upper_ms};
    mrow *sides[2] = {side[0], side[1]};
    check_against_nested_loop(seed, type, sides, nside, interval_ok, &ia, 1);
    sluice_op_close(j);
}

static void test_random_interval_joins_match_a_nested_loop_join(void **state) {
    (void)state;
    for (unsigned seed = 1; seed <= 40; seed++)
        for (int type = SLUICE_JOIN_INNER; type <= SLUICE_JOIN_FULL; type++)
            random_interval_round(seed, (sluice_join_type)type, seed % 2 == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inner_join_emits_each_match_and_takes_it_back_on_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_are_counted_and_joined_once_each, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_keys_never_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_join_pads_and_brings_the_padded_row_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_right_join_pads_right_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_join_pads_both_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_residual_filters_pairs_and_decides_padding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_keys_is_a_nested_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_ttl_drops_rows_unused_for_that_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_values_are_copied_into_the_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_bounds_are_inclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_state_is_cleaned_by_the_watermark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outer_interval_pads_a_row_without_partner_when_it_expires, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_restore_continues_as_without_interruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_of_damaged_bytes_is_refused_without_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_changelogs_match_a_nested_loop_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_interval_joins_match_a_nested_loop_join, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
