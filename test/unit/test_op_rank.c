/*
 * The rank operator (exec/op_rank.c, plan/rel.h sluice_rank_plan) driven
 * directly with hand-built plans: rows (p VARCHAR, o BIGINT, id BIGINT)
 * are pushed one batch at a time and what the operator pushes downstream
 * is rendered as "KIND p,o,id[#rank]" and compared with the changelog
 * worked out by hand in the comments.  A randomised check applies the
 * changelog to a multiset and compares it with a naive recomputation of
 * the top-N; snapshots are restored and corrupted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/operator.h"
#include "sluice_test.h"

/* ---------------- plans over (p VARCHAR, o BIGINT, id BIGINT, t TIMESTAMP) ---------------- */

enum { NC = 4 };
static const sluice_type_t types[NC] = {SLUICE_TYPE_VARCHAR, SLUICE_TYPE_BIGINT, SLUICE_TYPE_BIGINT,
                                        SLUICE_TYPE_TIMESTAMP};
static sluice_expr col_expr[NC];
static sluice_expr *col[NC];
static sluice_expr *part_exprs[1];
static sluice_expr *order_exprs[2];
static int order_desc[2];

static sluice_rank_plan plan_of(sluice_rank_fn fn, int64_t limit, int desc, int output_rank, int append_only) {
    for (size_t c = 0; c < NC; c++) {
        memset(&col_expr[c], 0, sizeof col_expr[c]);
        col_expr[c].kind = SLUICE_EXPR_COLUMN;
        col_expr[c].type = types[c];
        col_expr[c].column = c;
        col[c] = &col_expr[c];
    }
    part_exprs[0] = col[0];
    order_exprs[0] = col[1];
    order_exprs[1] = col[2];
    order_desc[0] = desc;
    order_desc[1] = 0;
    sluice_rank_plan rp;
    memset(&rp, 0, sizeof rp);
    rp.name = "t.rank";
    rp.fn = fn;
    rp.width = NC;
    rp.types = types;
    rp.partition = part_exprs;
    rp.npartition = 1;
    rp.order = order_exprs;
    rp.order_desc = order_desc;
    rp.norder = 1;
    rp.limit = limit;
    rp.output_rank = output_rank;
    rp.append_only_input = append_only;
    return rp;
}

/* ---------------- a downstream operator rendering what it gets ---------------- */

enum { MAXOUT = 8192, LINE = 64 };
static struct {
    size_t n;
    char line[MAXOUT][LINE];
} got;

static void render(char *buf, size_t cap, sluice_row_kind kind, const sluice_value *v, size_t nc) {
    size_t len = (size_t)snprintf(buf, cap, "%s ", sluice_row_kind_name(kind));
    for (size_t c = 0; c < nc && len < cap; c++) {
        const char *sep = c == 0 ? "" : c == NC ? "#" : ",";
        if (c == 3) continue; /* the time column is shown by the dedup tests only through id */
        if (v[c].type == SLUICE_TYPE_NULL) {
            len += (size_t)snprintf(buf + len, cap - len, "%sN", sep);
        } else if (v[c].type == SLUICE_TYPE_ARRAY) {
            len += (size_t)snprintf(buf + len, cap - len, "%s[", sep);
            for (uint32_t e = 0; e < v[c].u.a->count && len < cap; e++) {
                const sluice_value *ev = &v[c].u.a->values[e];
                len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", e ? "|" : "", (int)ev->len, ev->u.s);
            }
            if (len < cap) len += (size_t)snprintf(buf + len, cap - len, "]");
        } else if (v[c].type == SLUICE_TYPE_VARCHAR) {
            len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", sep, (int)v[c].len, v[c].u.s);
        } else {
            len += (size_t)snprintf(buf + len, cap - len, "%s%lld", sep, (long long)v[c].u.i);
        }
    }
}

static sluice_err_t capture_process(sluice_op *op, const sluice_op_batch *in) {
    (void)op;
    for (size_t i = 0; i < in->nrows && got.n < MAXOUT; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        render(got.line[got.n++], LINE, in->kinds ? in->kinds[r] : SLUICE_ROW_INSERT, in->rows + r * in->ncolumns,
               in->ncolumns);
    }
    return SLUICE_OK;
}

static void capture_close(sluice_op *op) {
    (void)op;
}

static const sluice_op_ops capture_ops = {.name = "capture", .process = capture_process, .close = capture_close};
static sluice_op capture = {.ops = &capture_ops};

static sluice_transform_stats stats;
static sluice_op_ctx ctx;

static int setup(void **state) {
    (void)state;
    memset(&stats, 0, sizeof stats);
    memset(&ctx, 0, sizeof ctx);
    memset(&got, 0, sizeof got);
    ctx.batch_arena = sluice_arena_new(0);
    ctx.stats = &stats;
    return ctx.batch_arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_arena_destroy(ctx.batch_arena);
    return 0;
}

static sluice_op *open_rank(const sluice_rank_plan *rp) {
    sluice_op *op = sluice_op_rank_new(rp, &ctx, &capture);
    assert_non_null(op);
    assert_int_equal(op->ops->open(op), SLUICE_OK);
    return op;
}

/* Push one row (p, o, id) with kind; o == NONE is NULL.  The partition's
 * text lives in a buffer overwritten after the call, so that a row the
 * operator kept must have been copied. */
#define NONE INT64_MIN
static char pbuf[32];
static sluice_err_t push_t(sluice_op *op, sluice_row_kind kind, const char *p, int64_t o, int64_t id, int64_t t) {
    snprintf(pbuf, sizeof pbuf, "%s", p);
    sluice_value row[NC];
    row[0] = sluice_value_varchar(pbuf, strlen(pbuf));
    row[1] = o == NONE ? sluice_value_null() : sluice_value_bigint(o);
    row[2] = sluice_value_bigint(id);
    row[3] = sluice_value_timestamp(t);
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = row;
    b.ncolumns = NC;
    b.nrows = 1;
    b.kinds = &kind;
    sluice_err_t err = op->ops->process(op, &b);
    memset(pbuf, 'X', sizeof pbuf - 1);
    return err;
}

static void push(sluice_op *op, sluice_row_kind kind, const char *p, int64_t o, int64_t id) {
    assert_int_equal(push_t(op, kind, p, o, id, 0), SLUICE_OK);
}

#define I SLUICE_ROW_INSERT
#define UB SLUICE_ROW_UPDATE_BEFORE
#define UA SLUICE_ROW_UPDATE_AFTER
#define D SLUICE_ROW_DELETE

/* The lines pushed since the last call equal the NULL-terminated list. */
static size_t seen;
static void expect(const char *const *lines) {
    size_t n = 0;
    while (lines[n]) n++;
    for (size_t i = 0; i < n || seen + i < got.n; i++) {
        const char *want = i < n ? lines[i] : "(nothing)";
        const char *have = seen + i < got.n ? got.line[seen + i] : "(nothing)";
        if (strcmp(want, have) != 0) fail_msg("output %zu: expected \"%s\", got \"%s\"", i, want, have);
    }
    seen = got.n;
}
#define EXPECT(...) expect((const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_NONE() expect((const char *const[]){NULL})

/* ---------------- ROW_NUMBER ---------------- */

/* ROW_NUMBER ORDER BY o ASC <= 3, no rank column.  o: 5, 3, 7, 4, 9.
 * top after each: {5}, {3,5}, {3,5,7}, {3,4,5} (7 pushed out), 9 beyond. */
static void test_row_number_limit3_asc(void **state) {
    (void)state;
    seen = 0;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 3, 0, 0, 1);
    sluice_op *op = open_rank(&rp);
    push(op, I, "a", 5, 1);
    EXPECT("+I a,5,1");
    push(op, I, "a", 3, 2);
    EXPECT("+I a,3,2");
    push(op, I, "a", 7, 3);
    EXPECT("+I a,7,3");
    push(op, I, "a", 4, 4);
    EXPECT("-D a,7,3", "+I a,4,4");
    push(op, I, "a", 9, 5);
    EXPECT_NONE();
    /* append-only: only the 3 rows that rank are kept */
    assert_int_equal(op->ops->state_rows(op), 3);
    sluice_op_close(op);
}

/* The same with the rank column: Flink's positional updates.
 *   5: +I 5#1
 *   3: rank 1 now 3, rank 2 is 5:      -U 5#1 +U 3#1, +I 5#2
 *   7: +I 7#3
 *   4: rank 2 now 4, rank 3 now 5:     -U 5#2 +U 4#2, -U 7#3 +U 5#3
 *   9: nothing */
static void test_row_number_rank_column(void **state) {
    (void)state;
    seen = 0;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 3, 0, 1, 1);
    sluice_op *op = open_rank(&rp);
    push(op, I, "a", 5, 1);
    EXPECT("+I a,5,1#1");
    push(op, I, "a", 3, 2);
    EXPECT("-U a,5,1#1", "+U a,3,2#1", "+I a,5,1#2");
    push(op, I, "a", 7, 3);
    EXPECT("+I a,7,3#3");
    push(op, I, "a", 4, 4);
    EXPECT("-U a,5,1#2", "+U a,4,4#2", "-U a,7,3#3", "+U a,5,1#3");
    push(op, I, "a", 9, 5);
    EXPECT_NONE();
    sluice_op_close(op);
}

/* Ties of ROW_NUMBER keep arrival order: the earlier row ranks first.
 * DESC <= 2: 5 (id 1), 5 (id 2), 5 (id 3) -> ids 1, 2 rank; 3 does not. */
static void test_row_number_ties_by_arrival(void **state) {
    (void)state;
    seen = 0;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 2, 1, 1, 1);
    sluice_op *op = open_rank(&rp);
    push(op, I, "a", 5, 1);
    push(op, I, "a", 5, 2);
    push(op, I, "a", 5, 3);
    EXPECT("+I a,5,1#1", "+I a,5,2#2");
    assert_int_equal(op->ops->state_rows(op), 2);
    sluice_op_close(op);
}

/* Several ORDER BY keys, each its own direction: ORDER BY o DESC, id ASC,
 * ROW_NUMBER <= 2 with the rank column, rows (o, id):
 *   (5,2): +I (5,2)#1
 *   (5,1): before (5,2):                -U (5,2)#1 +U (5,1)#1, +I (5,2)#2
 *   (7,3): first:                       -U (5,1)#1 +U (7,3)#1, -U (5,2)#2 +U (5,1)#2
 *   (7,4): after (7,3), before (5,1):   -U (5,1)#2 +U (7,4)#2 */
static void test_several_order_keys(void **state) {
    (void)state;
    seen = 0;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 2, 1, 1, 1);
    rp.norder = 2; /* o DESC, id ASC */
    sluice_op *op = open_rank(&rp);
    push(op, I, "a", 5, 2);
    EXPECT("+I a,5,2#1");
    push(op, I, "a", 5, 1);
    EXPECT("-U a,5,2#1", "+U a,5,1#1", "+I a,5,2#2");
    push(op, I, "a", 7, 3);
    EXPECT("-U a,5,1#1", "+U a,7,3#1", "-U a,5,2#2", "+U a,5,1#2");
    push(op, I, "a", 7, 4);
    EXPECT("-U a,5,1#2", "+U a,7,4#2");
    sluice_op_close(op);
}

/* ---------------- RANK and DENSE_RANK ---------------- */

/* RANK ORDER BY o DESC <= 2, rows (o, id): (10,1) (10,2) (8,3) (12,4) (12,5).
 *   (10,1): rank 1                                     +I 1#1
 *   (10,2): tie, rank 1                                +I 2#1
 *   (8,3):  rank 3 > 2: nothing, not kept
 *   (12,4): 4#1, 1#2, 2#2: rank 1 changes row, 2 moves to rank 2 with 1
 *           -U 1#1 +U 4#1, -D 2#1, +I 1#2, +I 2#2
 *   (12,5): 4#1, 5#1, then 1 and 2 at rank 3: out     +I 5#1, -D 1#2, -D 2#2
 * Without the rank column: +I 1, +I 2, +I 4, then -D 1, -D 2, +I 5. */
static void test_rank_ties(void **state) {
    (void)state;
    for (int with_rank = 0; with_rank < 2; with_rank++) {
        seen = got.n;
        sluice_rank_plan rp = plan_of(SLUICE_RANK_RANK, 2, 1, with_rank, 1);
        sluice_op *op = open_rank(&rp);
        push(op, I, "a", 10, 1);
        push(op, I, "a", 10, 2);
        if (with_rank)
            EXPECT("+I a,10,1#1", "+I a,10,2#1");
        else
            EXPECT("+I a,10,1", "+I a,10,2");
        push(op, I, "a", 8, 3);
        EXPECT_NONE();
        assert_int_equal(op->ops->state_rows(op), 2);
        push(op, I, "a", 12, 4);
        if (with_rank)
            EXPECT("-U a,10,1#1", "+U a,12,4#1", "-D a,10,2#1", "+I a,10,1#2", "+I a,10,2#2");
        else
            EXPECT("+I a,12,4");
        push(op, I, "a", 12, 5);
        if (with_rank)
            EXPECT("+I a,12,5#1", "-D a,10,1#2", "-D a,10,2#2");
        else
            EXPECT("-D a,10,1", "-D a,10,2", "+I a,12,5");
        assert_int_equal(op->ops->state_rows(op), 2);
        sluice_op_close(op);
    }
}

/* DENSE_RANK ORDER BY o DESC <= 2, the same rows.
 *   (10,1) +I 1#1; (10,2) +I 2#1; (8,3): dense rank 2  +I 3#2
 *   (12,4): 4#1, 1#2, 2#2, 3#3 (out)
 *           -U 1#1 +U 4#1, -D 2#1, -U 3#2 +U 1#2, +I 2#2
 *   (12,5): 4#1, 5#1, 1#2, 2#2                         +I 5#1
 * Without the rank column: +I 1, +I 2, +I 3, then -D 3 +I 4, then +I 5. */
static void test_dense_rank_ties(void **state) {
    (void)state;
    for (int with_rank = 0; with_rank < 2; with_rank++) {
        seen = got.n;
        sluice_rank_plan rp = plan_of(SLUICE_RANK_DENSE_RANK, 2, 1, with_rank, 1);
        sluice_op *op = open_rank(&rp);
        push(op, I, "a", 10, 1);
        push(op, I, "a", 10, 2);
        push(op, I, "a", 8, 3);
        if (with_rank)
            EXPECT("+I a,10,1#1", "+I a,10,2#1", "+I a,8,3#2");
        else
            EXPECT("+I a,10,1", "+I a,10,2", "+I a,8,3");
        push(op, I, "a", 12, 4);
        if (with_rank)
            EXPECT("-U a,10,1#1", "+U a,12,4#1", "-D a,10,2#1", "-U a,8,3#2", "+U a,10,1#2", "+I a,10,2#2");
        else
            EXPECT("-D a,8,3", "+I a,12,4");
        assert_int_equal(op->ops->state_rows(op), 3);
        push(op, I, "a", 12, 5);
        if (with_rank)
            EXPECT("+I a,12,5#1");
        else
            EXPECT("+I a,12,5");
        sluice_op_close(op);
    }
}

/* ---------------- NULLs and partitions ---------------- */

/* NULL sorts first in ASC and last in DESC (Flink).  ROW_NUMBER <= 2 over
 * o: 5, NULL, 3.
 *   ASC:  {5}, {N,5}, {N,3}: +I 5, +I N, -D 5 +I 3
 *   DESC: {5}, {5,N}, {5,3}: +I 5, +I N, -D N +I 3 */
static void test_null_order_keys(void **state) {
    (void)state;
    seen = 0;
    sluice_rank_plan asc = plan_of(SLUICE_RANK_ROW_NUMBER, 2, 0, 0, 1);
    sluice_op *op = open_rank(&asc);
    push(op, I, "a", 5, 1);
    push(op, I, "a", NONE, 2);
    push(op, I, "a", 3, 3);
    EXPECT("+I a,5,1", "+I a,N,2", "-D a,5,1", "+I a,3,3");
    sluice_op_close(op);
    sluice_rank_plan desc = plan_of(SLUICE_RANK_ROW_NUMBER, 2, 1, 0, 1);
    op = open_rank(&desc);
    push(op, I, "a", 5, 1);
    push(op, I, "a", NONE, 2);
    push(op, I, "a", 3, 3);
    EXPECT("+I a,5,1", "+I a,N,2", "-D a,N,2", "+I a,3,3");
    sluice_op_close(op);
}

/* Partitions rank apart; a NULL partition key is a partition of its own.
 * ROW_NUMBER ORDER BY o DESC <= 1 with the rank column. */
static void test_partitions(void **state) {
    (void)state;
    seen = 0;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 1, 1, 1, 1);
    sluice_op *op = open_rank(&rp);
    push(op, I, "a", 5, 1);
    push(op, I, "b", 3, 2);
    push(op, I, "a", 4, 3);   /* below a's 5 */
    push(op, I, "b", 6, 4);   /* replaces b's 3 */
    push(op, I, "c", 1, 5);
    push(op, I, "a", 7, 6);   /* replaces a's 5 */
    EXPECT("+I a,5,1#1", "+I b,3,2#1", "-U b,3,2#1", "+U b,6,4#1", "+I c,1,5#1", "-U a,5,1#1", "+U a,7,6#1");
    assert_int_equal(op->ops->state_rows(op), 3);
    sluice_op_close(op);

    /* no PARTITION BY: one partition; many partitions grow the table */
    rp = plan_of(SLUICE_RANK_ROW_NUMBER, 1, 0, 0, 1);
    rp.npartition = 0;
    op = open_rank(&rp);
    push(op, I, "a", 5, 1);
    push(op, I, "b", 3, 2);
    push(op, I, "c", 4, 3);
    EXPECT("+I a,5,1", "-D a,5,1", "+I b,3,2");
    sluice_op_close(op);
    rp = plan_of(SLUICE_RANK_ROW_NUMBER, 1, 0, 0, 1);
    op = open_rank(&rp);
    char p[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(p, sizeof p, "p%d", i);
        push(op, I, p, i, i);
        push(op, I, p, i + 1, i); /* never ranks */
    }
    assert_int_equal(op->ops->state_rows(op), 1000);
    assert_int_equal(got.n - seen, 1000);
    seen = got.n;
    sluice_op_close(op);
}

/* ---------------- deduplication ---------------- */

/* Keep-first: ROW_NUMBER OVER (PARTITION BY p ORDER BY t ASC) <= 1: a
 * partition's first row is emitted once, later ones never (a tie too). */
static void test_dedup_keep_first(void **state) {
    (void)state;
    seen = 0;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 1, 0, 0, 1);
    order_exprs[0] = col[3];
    sluice_op *op = open_rank(&rp);
    assert_int_equal(push_t(op, I, "a", 0, 1, 1000), SLUICE_OK);
    assert_int_equal(push_t(op, I, "b", 0, 2, 1000), SLUICE_OK);
    assert_int_equal(push_t(op, I, "a", 0, 3, 1000), SLUICE_OK); /* tie: the first stays */
    assert_int_equal(push_t(op, I, "a", 0, 4, 2000), SLUICE_OK);
    assert_int_equal(push_t(op, I, "b", 0, 5, 3000), SLUICE_OK);
    EXPECT("+I a,0,1", "+I b,0,2");
    assert_int_equal(op->ops->state_rows(op), 2);
    sluice_op_close(op);
}

/* Keep-last: ORDER BY t DESC <= 1: every later row (an equal time too, as
 * Flink's keep-last deduplication) replaces the kept one.  Without the
 * rank column -D old +I new; with it -U old#1 +U new#1. */
static void test_dedup_keep_last(void **state) {
    (void)state;
    for (int with_rank = 0; with_rank < 2; with_rank++) {
        seen = got.n;
        sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 1, 1, with_rank, 1);
        order_exprs[0] = col[3];
        sluice_op *op = open_rank(&rp);
        assert_int_equal(push_t(op, I, "a", 0, 1, 1000), SLUICE_OK);
        assert_int_equal(push_t(op, I, "a", 0, 2, 2000), SLUICE_OK);
        assert_int_equal(push_t(op, I, "a", 0, 3, 2000), SLUICE_OK); /* equal time: the last wins */
        assert_int_equal(push_t(op, I, "a", 0, 4, 1500), SLUICE_OK); /* older: nothing */
        if (with_rank)
            EXPECT("+I a,0,1#1", "-U a,0,1#1", "+U a,0,2#1", "-U a,0,2#1", "+U a,0,3#1");
        else
            EXPECT("+I a,0,1", "-D a,0,1", "+I a,0,2", "-D a,0,2", "+I a,0,3");
        assert_int_equal(op->ops->state_rows(op), 1);
        sluice_op_close(op);
    }
}

/* ---------------- retractions ---------------- */

/* Updating input, ROW_NUMBER ORDER BY o DESC <= 2, rows (o, id).
 *   +I (5,1)        {5}             +I 5#1
 *   +I (9,2)        {9,5}           -U 5#1 +U 9#1, +I 5#2      | +I 9
 *   +I (7,3)        {9,7} (5 kept)  -U 5#2 +U 7#2              | -D 5, +I 7
 *   -D (9,2)        {7,5}: 5 back   -U 9#1 +U 7#1, -U 7#2 +U 5#2 | -D 9, +I 5
 *   -U (5,1)        {7}             -D 5#2                     | -D 5
 *   +U (8,1)        {8,7}           -U 7#1 +U 8#1, +I 7#2      | +I 8
 *   -D (6,9)        not held: ignored
 *   -D (7,3)        {8}             -D 7#2                     | -D 7
 *   -D (8,1)        {}              -D 8#1                     | -D 8 */
static void test_retractions(void **state) {
    (void)state;
    for (int with_rank = 0; with_rank < 2; with_rank++) {
        seen = got.n;
        sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 2, 1, with_rank, 0);
        sluice_op *op = open_rank(&rp);
        size_t empty_bytes = op->ops->state_bytes(op);
        push(op, I, "a", 5, 1);
        push(op, I, "a", 9, 2);
        if (with_rank)
            EXPECT("+I a,5,1#1", "-U a,5,1#1", "+U a,9,2#1", "+I a,5,1#2");
        else
            EXPECT("+I a,5,1", "+I a,9,2");
        push(op, I, "a", 7, 3);
        if (with_rank)
            EXPECT("-U a,5,1#2", "+U a,7,3#2");
        else
            EXPECT("-D a,5,1", "+I a,7,3");
        assert_int_equal(op->ops->state_rows(op), 3); /* every row of the partition */
        push(op, D, "a", 9, 2);
        if (with_rank)
            EXPECT("-U a,9,2#1", "+U a,7,3#1", "-U a,7,3#2", "+U a,5,1#2");
        else
            EXPECT("-D a,9,2", "+I a,5,1");
        push(op, UB, "a", 5, 1);
        if (with_rank)
            EXPECT("-D a,5,1#2");
        else
            EXPECT("-D a,5,1");
        push(op, UA, "a", 8, 1);
        if (with_rank)
            EXPECT("-U a,7,3#1", "+U a,8,1#1", "+I a,7,3#2");
        else
            EXPECT("+I a,8,1");
        push(op, D, "a", 6, 9);
        push(op, D, "b", 6, 9);
        EXPECT_NONE();
        push(op, D, "a", 7, 3);
        push(op, D, "a", 8, 1);
        if (with_rank)
            EXPECT("-D a,7,3#2", "-D a,8,1#1");
        else
            EXPECT("-D a,7,3", "-D a,8,1");
        assert_int_equal(op->ops->state_rows(op), 0);
        /* the partition went with its last row; the buckets stay */
        assert_true(op->ops->state_bytes(op) >= empty_bytes);
        assert_true(op->ops->state_bytes(op) <= empty_bytes + 16 * sizeof(void *));
        sluice_op_close(op);
    }
}

/* A retraction behind the output changes nothing visible; taking back one
 * of two equal rows takes the one ranked lower. */
static void test_retraction_behind_output_and_duplicates(void **state) {
    (void)state;
    seen = 0;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 2, 0, 1, 0);
    sluice_op *op = open_rank(&rp);
    push(op, I, "a", 1, 1);
    push(op, I, "a", 1, 1);
    push(op, I, "a", 1, 1);
    push(op, I, "a", 2, 2);
    EXPECT("+I a,1,1#1", "+I a,1,1#2");
    push(op, D, "a", 2, 2);   /* rank 4 */
    push(op, D, "a", 1, 1);   /* the third copy, rank 3 */
    EXPECT_NONE();
    push(op, D, "a", 1, 1);   /* {1#1, 1#2} -> {1#1} */
    EXPECT("-D a,1,1#2");
    assert_int_equal(op->ops->state_rows(op), 1);
    sluice_op_close(op);
}

/* A retraction reaching a ranking planned for an append-only input fails
 * the pipeline (the rows it would bring back were not kept). */
static void test_retraction_into_append_only_fails(void **state) {
    (void)state;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 2, 0, 0, 1);
    sluice_op *op = open_rank(&rp);
    push(op, I, "a", 1, 1);
    assert_int_not_equal(push_t(op, D, "a", 1, 1, 0), SLUICE_OK);
    assert_non_null(strstr(ctx.err, "append-only"));
    sluice_op_close(op);
}

/* Batches of many rows, through a selection, whose changes pass
 * SLUICE_EMIT_BATCH output rows: the rows pushed out of the state stay
 * valid until they went downstream (valgrind checks the reads).
 * ROW_NUMBER ASC <= 2000 with the rank column over an updating input:
 * 1500 rows o = 1..1500 (+I each at rank o), then o = 0 moves every row
 * one rank down (1500 -U/+U pairs in rank order, then +I of o = 1500 at
 * rank 1501), then taking o = 0 back moves them up again. */
static void test_large_batches(void **state) {
    (void)state;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 2000, 0, 1, 0);
    sluice_op *op = open_rank(&rp);
    enum { N = 1500 };
    static sluice_value rows[(N + 2) * NC];
    static uint32_t sel[N + 1];
    static sluice_row_kind kinds[N + 2];
    static char text[N + 2][8];
    for (size_t i = 0; i < N + 2; i++) {
        snprintf(text[i], sizeof text[i], "a");
        rows[i * NC + 0] = sluice_value_varchar(text[i], 1);
        rows[i * NC + 1] = sluice_value_bigint((int64_t)i); /* row 0: o = 0 */
        rows[i * NC + 2] = sluice_value_bigint((int64_t)i);
        rows[i * NC + 3] = sluice_value_timestamp(0);
        kinds[i] = I;
    }
    /* the batch selects rows 1 .. N (row 0 and row N + 1 are not in it) */
    for (size_t i = 0; i < N; i++) sel[i] = (uint32_t)(i + 1);
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = rows;
    b.ncolumns = NC;
    b.sel = sel;
    b.nrows = N;
    b.kinds = kinds;
    got.n = 0;
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(got.n, N);
    assert_string_equal(got.line[0], "+I a,1,1#1");
    assert_string_equal(got.line[N - 1], "+I a,1500,1500#1500");
    /* o = 0 first: rank k now holds o = k - 1 */
    got.n = 0;
    sel[0] = 0;
    b.nrows = 1;
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(got.n, 2 * N + 1);
    assert_string_equal(got.line[0], "-U a,1,1#1");
    assert_string_equal(got.line[1], "+U a,0,0#1");
    assert_string_equal(got.line[2 * N - 2], "-U a,1500,1500#1500");
    assert_string_equal(got.line[2 * N - 1], "+U a,1499,1499#1500");
    assert_string_equal(got.line[2 * N], "+I a,1500,1500#1501");
    /* take o = 0 back, then o = 1500 .. 1, in one batch: the first moves
     * every row back up a rank, each later one deletes the last rank */
    static sluice_value back[(N + 1) * NC];
    memcpy(back, rows, NC * sizeof *back);
    for (size_t i = 1; i <= N; i++) memcpy(back + i * NC, rows + (N + 1 - i) * NC, NC * sizeof *back);
    for (size_t i = 0; i < N + 1; i++) kinds[i] = D;
    got.n = 0;
    b.rows = back;
    b.sel = NULL;
    b.nrows = N + 1;
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->ops->state_rows(op), 0);
    assert_int_equal(got.n, 2 * N + 1 + N);
    assert_string_equal(got.line[0], "-U a,0,0#1");
    assert_string_equal(got.line[1], "+U a,1,1#1");
    assert_string_equal(got.line[2 * N], "-D a,1500,1500#1501");
    assert_string_equal(got.line[2 * N + 1], "-D a,1500,1500#1500");
    assert_string_equal(got.line[got.n - 1], "-D a,1,1#1");
    sluice_op_close(op);
    got.n = seen = 0;
}

/* ARRAY and VARCHAR values are copied deep: the input's bytes are gone
 * when a kept row leaves the result. */
static void test_arrays_copied(void **state) {
    (void)state;
    static const sluice_type_t atypes[NC] = {SLUICE_TYPE_ARRAY, SLUICE_TYPE_BIGINT, SLUICE_TYPE_BIGINT,
                                             SLUICE_TYPE_TIMESTAMP};
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 1, 0, 0, 1);
    rp.types = atypes;
    rp.npartition = 0;
    col_expr[0].type = SLUICE_TYPE_ARRAY;
    sluice_op *op = open_rank(&rp);
    sluice_arena *a = sluice_arena_new(0);
    for (int i = 0; i < 2; i++) {
        sluice_array *arr = sluice_array_new(a, SLUICE_TYPE_VARCHAR, 2);
        assert_non_null(arr);
        char *x = sluice_arena_strndup(a, i ? "yy" : "xx", 2);
        arr->values[0] = sluice_value_varchar(x, 2);
        sluice_value row[NC] = {sluice_value_array(arr), sluice_value_bigint(5 - i), sluice_value_bigint(i),
                                sluice_value_timestamp(0)};
        sluice_row_kind kind = I;
        sluice_op_batch b;
        memset(&b, 0, sizeof b);
        b.rows = row;
        b.ncolumns = NC;
        b.nrows = 1;
        b.kinds = &kind;
        assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
        memset(x, 'Z', 2);
        memset(arr->values, 0xEE, sizeof *arr->values * 2);
    }
    /* the first row left when the second came */
    assert_int_equal(got.n, 3);
    assert_string_equal(got.line[0], "+I [xx|],5,0");
    assert_string_equal(got.line[1], "-D [xx|],5,0");
    assert_string_equal(got.line[2], "+I [yy|],4,1");
    sluice_arena_destroy(a);
    sluice_op_close(op);
    got.n = seen = 0;
}

/* A batch narrower than the plan's rows is refused, not read past. */
static void test_narrow_batch_refused(void **state) {
    (void)state;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 2, 0, 0, 1);
    sluice_op *op = open_rank(&rp);
    sluice_value row[2] = {sluice_value_varchar("a", 1), sluice_value_bigint(1)};
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = row;
    b.ncolumns = 2;
    b.nrows = 1;
    assert_int_equal(op->ops->process(op, &b), SLUICE_ERR_INVALID);
    assert_non_null(strstr(ctx.err, "columns"));
    assert_int_equal(op->ops->state_rows(op), 0);
    sluice_op_close(op);
}

/* ---------------- against a naive recomputation ---------------- */

/* A multiset of rendered rows (without the kind). */
typedef struct mset {
    char (*s)[LINE];
    size_t n, cap;
} mset;

static void mset_add(mset *m, const char *s) {
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->s = realloc(m->s, m->cap * sizeof *m->s);
        assert_non_null(m->s);
    }
    snprintf(m->s[m->n++], LINE, "%s", s);
}

static void mset_del(mset *m, const char *s) {
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->s[i], s) == 0) {
            memcpy(m->s[i], m->s[--m->n], LINE);
            return;
        }
    fail_msg("retraction of \"%s\", which is not in the result", s);
}

static int cmp_line(const void *a, const void *b) {
    return strcmp(a, b);
}

/* Apply the changelog lines from *from on to m. */
static void apply(mset *m, size_t *from) {
    for (; *from < got.n; (*from)++) {
        const char *l = got.line[*from];
        if (l[0] == '+')
            mset_add(m, l + 3);
        else
            mset_del(m, l + 3);
    }
}

typedef struct trow {
    int p;
    int64_t o, id;
} trow;

static const sluice_rank_plan *naive_rp;
static int cmp_trow(const void *a, const void *b) {
    const trow *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? -1 : 1;
    /* NULL (NONE) first in ASC, last in DESC: the same as the smallest value */
    int c = x->o == y->o ? 0 : x->o < y->o ? -1 : 1;
    if (naive_rp->order_desc[0]) c = -c;
    if (c) return c;
    if (naive_rp->norder > 1 && x->id != y->id) return x->id < y->id ? -1 : 1;
    return 0;
}

/* The top-N of the rows by sorting, rendered into m. */
static void naive(const sluice_rank_plan *rp, const trow *rows, size_t n, mset *m) {
    trow *s = malloc((n + 1) * sizeof *s);
    assert_non_null(s);
    memcpy(s, rows, n * sizeof *s);
    naive_rp = rp;
    qsort(s, n, sizeof *s, cmp_trow);
    m->n = 0;
    int64_t rank = 0, dense = 0;
    for (size_t i = 0, first = 0; i < n; i++) {
        if (i == 0 || s[i].p != s[i - 1].p) {
            first = i;
            rank = dense = 1;
        } else if (cmp_trow(&s[i], &s[i - 1]) != 0) {
            rank = (int64_t)(i - first) + 1;
            dense++;
        }
        int64_t r = rp->fn == SLUICE_RANK_RANK ? rank : rp->fn == SLUICE_RANK_DENSE_RANK ? dense : (int64_t)(i - first) + 1;
        if (r > rp->limit) continue;
        char line[LINE], o[24];
        if (s[i].o == NONE)
            snprintf(o, sizeof o, "N");
        else
            snprintf(o, sizeof o, "%lld", (long long)s[i].o);
        if (rp->output_rank)
            snprintf(line, sizeof line, "p%d,%s,%lld#%lld", s[i].p, o, (long long)s[i].id, (long long)r);
        else
            snprintf(line, sizeof line, "p%d,%s,%lld", s[i].p, o, (long long)s[i].id);
        mset_add(m, line);
    }
    free(s);
}

static void assert_same(mset *a, mset *b) {
    qsort(a->s, a->n, LINE, cmp_line);
    qsort(b->s, b->n, LINE, cmp_line);
    for (size_t i = 0; i < a->n || i < b->n; i++) {
        const char *x = i < a->n ? a->s[i] : "(nothing)", *y = i < b->n ? b->s[i] : "(nothing)";
        if (strcmp(x, y) != 0) fail_msg("result row %zu: changelog gives \"%s\", recomputation \"%s\"", i, x, y);
    }
}

static uint64_t rng;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random inserts (and, for an updating input, retractions of rows held)
 * over 3 partitions and 6 order values with NULLs; after every row the
 * changelog applied to a multiset equals the top-N of the input multiset.
 * ROW_NUMBER orders by (o, id) with distinct ids so that its result is
 * unambiguous; RANK and DENSE_RANK by o alone, with ties. */
static void random_check(sluice_rank_fn fn, int64_t limit, int desc, int output_rank, int append_only,
                         uint64_t seed, int nparts, int steps, int nvalues) {
    sluice_rank_plan rp = plan_of(fn, limit, desc, output_rank, append_only);
    if (fn == SLUICE_RANK_ROW_NUMBER) rp.norder = 2;
    sluice_op *op = open_rank(&rp);
    trow *rows = calloc((size_t)steps, sizeof *rows);
    assert_non_null(rows);
    size_t n = 0, from = got.n = 0;
    mset have = {0}, want = {0};
    rng = seed;
    for (int step = 0; step < steps; step++) {
        int retract = !append_only && n > 0 && next_rand() % 3 == 0;
        char p[16];
        if (retract) {
            size_t k = next_rand() % n;
            snprintf(p, sizeof p, "p%d", rows[k].p);
            sluice_row_kind kind = next_rand() % 2 ? D : UB;
            assert_int_equal(push_t(op, kind, p, rows[k].o, rows[k].id, 0), SLUICE_OK);
            rows[k] = rows[--n];
        } else {
            trow r = {(int)(next_rand() % (uint64_t)nparts), 0, 0};
            uint64_t o = next_rand() % (uint64_t)(nvalues + 1);
            r.o = o == (uint64_t)nvalues ? NONE : (int64_t)o;
            /* ROW_NUMBER: distinct ids; others: repeated rows too */
            r.id = fn == SLUICE_RANK_ROW_NUMBER ? step : (int64_t)(next_rand() % 4);
            snprintf(p, sizeof p, "p%d", r.p);
            sluice_row_kind kind = next_rand() % 2 ? I : UA;
            assert_int_equal(push_t(op, kind, p, r.o, r.id, 0), SLUICE_OK);
            rows[n++] = r;
        }
        apply(&have, &from);
        naive(&rp, rows, n, &want);
        assert_same(&have, &want);
        assert_true(got.n < MAXOUT); /* nothing was cut */
        got.n = from = 0;            /* the lines are applied */
    }
    sluice_op_close(op);
    free(rows);
    free(have.s);
    free(want.s);
}

static void test_random_against_recomputation(void **state) {
    (void)state;
    static const sluice_rank_fn fns[] = {SLUICE_RANK_ROW_NUMBER, SLUICE_RANK_RANK, SLUICE_RANK_DENSE_RANK};
    static const int64_t limits[] = {1, 2, 3, 5};
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (size_t f = 0; f < 3; f++)
        for (size_t l = 0; l < 4; l++)
            for (int desc = 0; desc < 2; desc++)
                for (int with_rank = 0; with_rank < 2; with_rank++)
                    for (int ao = 0; ao < 2; ao++)
                        random_check(fns[f], limits[l], desc, with_rank, ao, seed++, 3, 400, 6);
}

/* One partition of many rows (its chunks split and empty), the output
 * spanning several chunks (limit 150, and RANK's ties over 100 values). */
static void test_random_large_partition(void **state) {
    (void)state;
    static const sluice_rank_fn fns[] = {SLUICE_RANK_ROW_NUMBER, SLUICE_RANK_RANK, SLUICE_RANK_DENSE_RANK};
    for (size_t f = 0; f < 3; f++)
        for (int with_rank = 0; with_rank < 2; with_rank++) {
            random_check(fns[f], 150, 1, with_rank, 0, 1000 + f, 1, 1500, 100);
            random_check(fns[f], 150, 0, with_rank, 1, 2000 + f, 1, 1500, 1000);
        }
}

/* ---------------- snapshots ---------------- */

/* Run `steps` random rows (the random_check mix) through op. */
static void feed(sluice_op *op, trow *rows, size_t *n, int steps, int append_only) {
    for (int step = 0; step < steps; step++) {
        char p[16];
        if (!append_only && *n > 0 && next_rand() % 3 == 0) {
            size_t k = next_rand() % *n;
            snprintf(p, sizeof p, "p%d", rows[k].p);
            assert_int_equal(push_t(op, D, p, rows[k].o, rows[k].id, 0), SLUICE_OK);
            rows[k] = rows[--*n];
        } else {
            trow r = {(int)(next_rand() % 3), 0, (int64_t)(next_rand() % 4)};
            uint64_t o = next_rand() % 7;
            r.o = o == 6 ? NONE : (int64_t)o;
            snprintf(p, sizeof p, "p%d", r.p);
            assert_int_equal(push_t(op, I, p, r.o, r.id, 0), SLUICE_OK);
            rows[(*n)++] = r;
        }
    }
}

static sluice_enc snapshot(sluice_op *op) {
    sluice_enc e = {0};
    op->ops->snapshot_begin(op);
    while (op->ops->snapshot_next(op, &e)) {
    }
    op->ops->snapshot_end(op);
    assert_false(e.oom);
    return e;
}

/* Snapshot -> restore into a new operator -> continued output equals an
 * uninterrupted run's, for every function, updating and append-only. */
static void test_snapshot_restore_continues(void **state) {
    (void)state;
    static const sluice_rank_fn fns[] = {SLUICE_RANK_ROW_NUMBER, SLUICE_RANK_RANK, SLUICE_RANK_DENSE_RANK};
    for (size_t f = 0; f < 3; f++)
        for (int ao = 0; ao < 2; ao++) {
            sluice_rank_plan rp = plan_of(fns[f], 3, 1, 1, ao);
            trow rows[400];
            size_t n = 0;
            sluice_op *a = open_rank(&rp);
            rng = 42 + f;
            feed(a, rows, &n, 150, ao);
            sluice_enc e = snapshot(a);
            size_t rows_a = a->ops->state_rows(a), bytes_a = a->ops->state_bytes(a);
            uint64_t rng_at = rng;
            trow rows_at[400];
            size_t n_at = n;
            memcpy(rows_at, rows, sizeof rows);
            /* uninterrupted */
            got.n = 0;
            feed(a, rows, &n, 150, ao);
            size_t n1 = got.n;
            static char first[MAXOUT][LINE];
            memcpy(first, got.line, n1 * LINE);
            sluice_op_close(a);
            /* restored */
            sluice_op *b = open_rank(&rp);
            sluice_dec d;
            sluice_dec_init(&d, e.data, e.len);
            assert_int_equal(b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION), 0);
            assert_int_equal(d.pos, e.len);
            assert_int_equal(b->ops->state_rows(b), rows_a);
            assert_true(b->ops->state_bytes(b) > 0 && b->ops->state_bytes(b) <= bytes_a + 4096);
            /* the same bytes again */
            sluice_enc e2 = snapshot(b);
            assert_int_equal(e2.len, e.len);
            free(e2.data);
            got.n = 0;
            rng = rng_at;
            memcpy(rows, rows_at, sizeof rows);
            n = n_at;
            feed(b, rows, &n, 150, ao);
            assert_int_equal(got.n, n1);
            for (size_t i = 0; i < n1; i++) assert_string_equal(got.line[i], first[i]);
            sluice_op_close(b);
            free(e.data);
        }
    got.n = seen = 0;
}

/* Truncated bytes and every single-byte corruption: restore fails with
 * d->bad (or succeeds on bytes that still decode), never crashes; a
 * failed restore leaves no state. */
static void test_snapshot_corrupt(void **state) {
    (void)state;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_RANK, 2, 0, 1, 0);
    sluice_op *a = open_rank(&rp);
    trow rows[64];
    size_t n = 0;
    rng = 7;
    feed(a, rows, &n, 40, 0);
    sluice_enc e = snapshot(a);
    sluice_op_close(a);
    sluice_op *b = open_rank(&rp);
    for (size_t len = 0; len < e.len; len++) {
        sluice_dec d;
        sluice_dec_init(&d, e.data, len);
        assert_int_equal(b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION), -1);
        assert_true(d.bad);
        assert_int_equal(b->ops->state_rows(b), 0);
    }
    unsigned char *c = malloc(e.len);
    assert_non_null(c);
    static const unsigned char flips[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < e.len; i++)
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(c, e.data, e.len);
            c[i] ^= flips[f];
            sluice_dec d;
            sluice_dec_init(&d, c, e.len);
            if (b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION) != 0) {
                assert_true(d.bad);
                assert_int_equal(b->ops->state_rows(b), 0);
            }
        }
    free(c);
    /* a snapshot of another operator (tag 0: windows) */
    memcpy(e.data + 8, "\0", 1);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION), -1);
    assert_true(d.bad);
    b->ops->clear(b);
    assert_int_equal(b->ops->state_rows(b), 0);
    sluice_op_close(b);
    free(e.data);
}

/* Rows out of rank order, a partition twice, a value of the wrong type
 * and, for an append-only input, a row that does not rank are refused. */
static void test_snapshot_refuses_inconsistent(void **state) {
    (void)state;
    sluice_rank_plan rp = plan_of(SLUICE_RANK_ROW_NUMBER, 1, 0, 0, 1);
    sluice_value row[NC + 1];
    /* header, one partition "a" with rows (o, id) given */
    struct {
        int nparts;
        int twice;
        int64_t o[2];
        int nrows;
        int wrong_type;
        int expect_ok;
    } cases[] = {
        {1, 0, {1, 0}, 1, 0, 1},  /* fine */
        {1, 0, {2, 1}, 2, 0, 0},  /* append-only: the second row does not rank (and is out of order) */
        {2, 1, {1, 0}, 1, 0, 0},  /* partition twice */
        {1, 0, {1, 0}, 1, 1, 0},  /* o is VARCHAR */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sluice_enc e = {0};
        sluice_enc_i64(&e, 0);
        sluice_enc_u8(&e, 2);
        sluice_enc_u32(&e, (uint32_t)cases[k].nparts);
        for (int pi = 0; pi < cases[k].nparts; pi++) {
            sluice_value key = sluice_value_varchar("a", 1);
            sluice_enc_value(&e, &key);
            sluice_enc_u32(&e, (uint32_t)cases[k].nrows);
            for (int r = 0; r < cases[k].nrows; r++) {
                row[0] = key;
                row[1] = cases[k].wrong_type ? sluice_value_varchar("x", 1) : sluice_value_bigint(cases[k].o[r]);
                row[2] = sluice_value_bigint(r);
                row[3] = sluice_value_timestamp(0);
                row[4] = row[1];
                for (int c = 0; c < NC + 1; c++) sluice_enc_value(&e, &row[c]);
            }
        }
        sluice_op *b = open_rank(&rp);
        sluice_dec d;
        sluice_dec_init(&d, e.data, e.len);
        int rc = b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION);
        if (cases[k].expect_ok) {
            assert_int_equal(rc, 0);
            assert_int_equal(b->ops->state_rows(b), 1);
        } else {
            assert_int_equal(rc, -1);
            assert_true(d.bad);
            assert_int_equal(b->ops->state_rows(b), 0);
        }
        sluice_op_close(b);
        free(e.data);
    }
    /* out of order in an updating ranking */
    rp = plan_of(SLUICE_RANK_ROW_NUMBER, 1, 0, 0, 0);
    sluice_enc e = {0};
    sluice_enc_i64(&e, 0);
    sluice_enc_u8(&e, 2);
    sluice_enc_u32(&e, 1);
    sluice_value key = sluice_value_varchar("a", 1);
    sluice_enc_value(&e, &key);
    sluice_enc_u32(&e, 2);
    for (int r = 0; r < 2; r++) {
        row[0] = key;
        row[1] = sluice_value_bigint(2 - r);
        row[2] = sluice_value_bigint(r);
        row[3] = sluice_value_timestamp(0);
        row[4] = row[1];
        for (int c = 0; c < NC + 1; c++) sluice_enc_value(&e, &row[c]);
    }
    sluice_op *b = open_rank(&rp);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION), -1);
    assert_true(d.bad);
    sluice_op_close(b);
    free(e.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_row_number_limit3_asc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_number_rank_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_number_ties_by_arrival, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_order_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rank_ties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dense_rank_ties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_order_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_keep_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_keep_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retractions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retraction_behind_output_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retraction_into_append_only_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_narrow_batch_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arrays_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_recomputation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_large_partition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_restore_continues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_refuses_inconsistent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
