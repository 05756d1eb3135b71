/*
 * The OVER aggregate operator (exec/op_over.c, plan/rel.h
 * sluice_over_plan) driven directly with hand-built plans: rows
 * (p VARCHAR, x BIGINT, t TIMESTAMP, s VARCHAR, id BIGINT) are pushed one
 * batch at a time, watermarks are given, and what the operator pushes
 * downstream is rendered as "p,x,t,s,id|COUNT(*),COUNT(x),SUM(x),AVG(x),
 * MIN(x),MAX(x),MIN(s),MAX(s)" and compared with the results worked out
 * by hand in the comments.  A randomised check compares every output row
 * with a naive recomputation of its frame; snapshots are restored,
 * truncated and corrupted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/operator.h"
#include "sluice_test.h"

enum { NC = 5, NAGG = 8 };
static const sluice_type_t types[NC] = {SLUICE_TYPE_VARCHAR, SLUICE_TYPE_BIGINT, SLUICE_TYPE_TIMESTAMP,
                                        SLUICE_TYPE_VARCHAR, SLUICE_TYPE_BIGINT};
static sluice_expr col_expr[NC];
static sluice_expr *col[NC];
static sluice_expr *part_exprs[1];
static sluice_agg_plan aggs[NAGG];

#define NONE INT64_MIN
#define SEC 1000

/* The plan: PARTITION BY p ORDER BY t, the aggregates of the header. */
static sluice_over_plan plan_of(int rows, int64_t preceding, int proctime) {
    for (size_t c = 0; c < NC; c++) {
        memset(&col_expr[c], 0, sizeof col_expr[c]);
        col_expr[c].kind = SLUICE_EXPR_COLUMN;
        col_expr[c].type = types[c];
        col_expr[c].column = c;
        col[c] = &col_expr[c];
    }
    part_exprs[0] = col[0];
    static const struct {
        const char *name;
        int star, column;
        sluice_type_t result;
    } a[NAGG] = {{"COUNT", 1, -1, SLUICE_TYPE_BIGINT}, {"COUNT", 0, 1, SLUICE_TYPE_BIGINT},
                 {"SUM", 0, 1, SLUICE_TYPE_BIGINT},    {"AVG", 0, 1, SLUICE_TYPE_DOUBLE},
                 {"MIN", 0, 1, SLUICE_TYPE_BIGINT},    {"MAX", 0, 1, SLUICE_TYPE_BIGINT},
                 {"MIN", 0, 3, SLUICE_TYPE_VARCHAR},   {"MAX", 0, 3, SLUICE_TYPE_VARCHAR}};
    for (size_t k = 0; k < NAGG; k++) {
        memset(&aggs[k], 0, sizeof aggs[k]);
        aggs[k].fn = sluice_agg_find(a[k].name, a[k].star);
        assert_non_null(aggs[k].fn);
        aggs[k].arg = a[k].column < 0 ? NULL : col[a[k].column];
        aggs[k].result_type = a[k].result;
    }
    sluice_over_plan op;
    memset(&op, 0, sizeof op);
    op.name = "t.over";
    op.width = NC;
    op.types = types;
    op.partition = part_exprs;
    op.npartition = 1;
    op.time_column = 2;
    op.proctime = proctime;
    op.rows = rows;
    op.preceding = preceding;
    op.aggs = aggs;
    op.naggs = NAGG;
    return op;
}

/* ---------------- a downstream operator rendering what it gets ---------------- */

enum { MAXOUT = 20000, LINE = 96 };
static struct {
    size_t n;
    char line[MAXOUT][LINE];
} got;

static void render(char *buf, size_t cap, const sluice_value *v, size_t nc) {
    size_t len = 0;
    for (size_t c = 0; c < nc && len < cap; c++) {
        const char *sep = c == 0 ? "" : c == NC ? "|" : ",";
        if (v[c].type == SLUICE_TYPE_NULL)
            len += (size_t)snprintf(buf + len, cap - len, "%sN", sep);
        else if (v[c].type == SLUICE_TYPE_VARCHAR)
            len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", sep, (int)v[c].len, v[c].u.s);
        else if (v[c].type == SLUICE_TYPE_DOUBLE)
            len += (size_t)snprintf(buf + len, cap - len, "%s%g", sep, v[c].u.d);
        else
            len += (size_t)snprintf(buf + len, cap - len, "%s%lld", sep, (long long)v[c].u.i);
    }
}

static sluice_err_t capture_process(sluice_op *op, const sluice_op_batch *in) {
    (void)op;
    assert_null(in->kinds); /* insert-only */
    assert_true(in->ncolumns > NC);
    for (size_t i = 0; i < in->nrows && got.n < MAXOUT; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        render(got.line[got.n++], LINE, in->rows + r * in->ncolumns, in->ncolumns);
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
static size_t seen;

static int setup(void **state) {
    (void)state;
    memset(&stats, 0, sizeof stats);
    memset(&ctx, 0, sizeof ctx);
    memset(&got, 0, sizeof got);
    seen = 0;
    ctx.batch_arena = sluice_arena_new(0);
    ctx.stats = &stats;
    return ctx.batch_arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_arena_destroy(ctx.batch_arena);
    return 0;
}

static sluice_op *open_over(const sluice_over_plan *op) {
    sluice_op *o = sluice_op_over_new(op, &ctx, &capture);
    assert_non_null(o);
    assert_int_equal(o->ops->open(o), SLUICE_OK);
    return o;
}

/* Push one row (p, x, t, s, id) at processing time proc; x == NONE is
 * NULL.  The strings live in buffers overwritten after the call, so that a
 * row the operator kept must have been copied. */
static char pbuf[32], sbuf[32];
static void push_at(sluice_op *op, const char *p, int64_t x, int64_t t, const char *s, int64_t id, int64_t proc) {
    snprintf(pbuf, sizeof pbuf, "%s", p);
    snprintf(sbuf, sizeof sbuf, "%s", s);
    sluice_value row[NC];
    row[0] = sluice_value_varchar(pbuf, strlen(pbuf));
    row[1] = x == NONE ? sluice_value_null() : sluice_value_bigint(x);
    row[2] = t == NONE ? sluice_value_null() : sluice_value_timestamp(t);
    row[3] = sluice_value_varchar(sbuf, strlen(sbuf));
    row[4] = sluice_value_bigint(id);
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = row;
    b.ncolumns = NC;
    b.nrows = 1;
    b.proc_time = proc;
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    memset(pbuf, 'X', sizeof pbuf - 1);
    memset(sbuf, 'Y', sizeof sbuf - 1);
}

static void push(sluice_op *op, const char *p, int64_t x, int64_t t, const char *s, int64_t id) {
    push_at(op, p, x, t, s, id, 0);
}

static void wm(sluice_op *op, int64_t w) {
    assert_int_equal(op->ops->on_watermark(op, w, 1), 0);
    sluice_arena_reset(ctx.batch_arena);
}

/* The lines pushed since the last call equal the NULL-terminated list. */
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
#define NOTHING() expect((const char *const[]){NULL})

/* ---------------- hand-computed cases ---------------- */

/* ROWS BETWEEN 2 PRECEDING AND CURRENT ROW, event time: rows wait for the
 * watermark, come out in time order whatever their arrival order, each
 * with the aggregates over itself and the 2 rows before it in its
 * partition; a row at or below the watermark is late. */
static void test_rows_2_preceding(void **state) {
    (void)state;
    sluice_over_plan op = plan_of(1, 2, 0);
    sluice_op *o = open_over(&op);
    push(o, "a", 1, 1000, "m", 1);
    push(o, "a", 5, 3000, "z", 2);
    push(o, "a", 3, 2000, "c", 3); /* out of order, within the watermark */
    push(o, "b", 10, 1500, "q", 4);
    push(o, "a", NONE, 4000, "b", 5);
    NOTHING();
    wm(o, 3500);
    /* a@1000 {1}; b@1500 {10}; a@2000 {1,3}; a@3000 {1,3,5} */
    EXPECT("a,1,1000,m,1|1,1,1,1,1,1,m,m", "b,10,1500,q,4|1,1,10,10,10,10,q,q",
           "a,3,2000,c,3|2,2,4,2,1,3,c,m", "a,5,3000,z,2|3,3,9,3,1,5,c,z");
    push(o, "a", 2, 3400, "a", 6); /* late: 3400 <= 3500 */
    push(o, "a", 2, 3500, "a", 7); /* late: at the watermark */
    push(o, "a", 2, NONE, "a", 8); /* no time */
    assert_int_equal(o->late_rows, 3);
    assert_int_equal(stats.late_rows, 3);
    push(o, "a", 7, 5000, "y", 9);
    wm(o, 6000);
    /* a@4000 {3,5,NULL}: COUNT(*) 3, COUNT(x) 2, SUM 8, AVG 4, MIN 3, MAX 5,
     * strings {c,z,b}; a@5000 {5,NULL,7}: 3, 2, 12, 6, 5, 7, {z,b,y} */
    EXPECT("a,N,4000,b,5|3,2,8,4,3,5,b,z", "a,7,5000,y,9|3,2,12,6,5,7,b,z");
    /* state: the last 2 rows of a, the last row of b */
    assert_int_equal(o->ops->state_rows(o), 3);
    assert_true(o->ops->state_bytes(o) > 0);
    sluice_op_close(o);
}

/* RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW: the frame
 * of a row at t is the rows at [t - 10s, t], both ends included; rows of
 * one time see each other and get the same results, also when a
 * watermark below their time came between their arrivals. */
static void test_range_10s_ties(void **state) {
    (void)state;
    sluice_over_plan op = plan_of(0, 10 * SEC, 0);
    sluice_op *o = open_over(&op);
    push(o, "a", 1, 0, "k", 1);
    push(o, "a", 2, 5 * SEC, "d", 2);
    wm(o, 4999);
    /* t=0: {1} */
    EXPECT("a,1,0,k,1|1,1,1,1,1,1,k,k");
    push(o, "a", 3, 5 * SEC, "e", 3); /* a tie, after a watermark below it */
    push(o, "a", 4, 12 * SEC, "a", 4);
    push(o, "a", 5, 15 * SEC, "w", 5);
    push(o, "a", 7, 25 * SEC, "f", 6);
    push(o, "a", 6, 26 * SEC, "g", 7);
    wm(o, 30 * SEC);
    /* t=5s (both): {1,2,3}; t=12s: [2s,12s] {2,3,4}; t=15s: [5s,15s]
     * {2,3,4,5}; t=25s: [15s,25s] {5,7} (15s included); t=26s: [16s,26s] {7,6} */
    EXPECT("a,2,5000,d,2|3,3,6,2,1,3,d,k", "a,3,5000,e,3|3,3,6,2,1,3,d,k", "a,4,12000,a,4|3,3,9,3,2,4,a,e",
           "a,5,15000,w,5|4,4,14,3.5,2,5,a,w", "a,7,25000,f,6|2,2,12,6,5,7,f,w", "a,6,26000,g,7|2,2,13,6.5,6,7,f,g");
    /* the frame a row after 30s can reach: rows at > 20s */
    assert_int_equal(o->ops->state_rows(o), 2);
    wm(o, 100 * SEC);
    assert_int_equal(o->ops->state_rows(o), 0); /* nothing left: the partition went */
    size_t empty = o->ops->state_bytes(o);
    push(o, "a", 8, 101 * SEC, "h", 8);
    wm(o, 102 * SEC);
    EXPECT("a,8,101000,h,8|1,1,8,8,8,8,h,h");
    assert_true(o->ops->state_bytes(o) > empty);
    sluice_op_close(o);
}

/* UNBOUNDED PRECEDING: ROWS counts every earlier row; RANGE also the
 * row's ties.  The state is one accumulator per partition, no rows. */
static void test_unbounded(void **state) {
    (void)state;
    for (int rows = 0; rows < 2; rows++) {
        sluice_over_plan op = plan_of(rows, -1, 0);
        sluice_op *o = open_over(&op);
        push(o, "a", 1, 1000, "m", 1);
        push(o, "b", 4, 1000, "x", 2);
        push(o, "a", 2, 2000, "n", 3);
        push(o, "a", NONE, 2000, "b", 4);
        wm(o, 5000);
        if (rows)
            EXPECT("a,1,1000,m,1|1,1,1,1,1,1,m,m", "b,4,1000,x,2|1,1,4,4,4,4,x,x", "a,2,2000,n,3|2,2,3,1.5,1,2,m,n",
                   "a,N,2000,b,4|3,2,3,1.5,1,2,b,n");
        else
            EXPECT("a,1,1000,m,1|1,1,1,1,1,1,m,m", "b,4,1000,x,2|1,1,4,4,4,4,x,x", "a,2,2000,n,3|3,2,3,1.5,1,2,b,n",
                   "a,N,2000,b,4|3,2,3,1.5,1,2,b,n");
        assert_int_equal(o->ops->state_rows(o), 2); /* two partitions' accumulators */
        push(o, "a", 0, 9000, "a", 5);
        wm(o, 9000);
        EXPECT("a,0,9000,a,5|4,3,3,1,0,2,a,n");
        sluice_op_close(o);
        seen = got.n = 0;
    }
}

/* Processing time: rows are processed as their batch arrives; the rows
 * of one batch share its processing time (RANGE ties). */
static void test_proctime(void **state) {
    (void)state;
    sluice_over_plan op = plan_of(1, 1, 1);
    sluice_op *o = open_over(&op);
    push_at(o, "a", 1, NONE, "m", 1, 100);
    EXPECT("a,1,N,m,1|1,1,1,1,1,1,m,m");
    push_at(o, "a", 2, NONE, "n", 2, 100);
    EXPECT("a,2,N,n,2|2,2,3,1.5,1,2,m,n");
    push_at(o, "a", 3, NONE, "c", 3, 200);
    EXPECT("a,3,N,c,3|2,2,5,2.5,2,3,c,n");
    assert_int_equal(o->late_rows, 0);
    sluice_op_close(o);

    /* RANGE 50 ms: a batch of two rows at 100, then one at 120 (sees
     * them), then one at 200 (does not) */
    op = plan_of(0, 50, 1);
    o = open_over(&op);
    sluice_value rows[2 * NC];
    for (int i = 0; i < 2; i++) {
        rows[i * NC + 0] = sluice_value_varchar("a", 1);
        rows[i * NC + 1] = sluice_value_bigint(i + 1);
        rows[i * NC + 2] = sluice_value_null();
        rows[i * NC + 3] = sluice_value_varchar(i ? "b" : "a", 1);
        rows[i * NC + 4] = sluice_value_bigint(i + 1);
    }
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = rows;
    b.ncolumns = NC;
    b.nrows = 2;
    b.proc_time = 100;
    assert_int_equal(o->ops->process(o, &b), SLUICE_OK);
    EXPECT("a,1,N,a,1|2,2,3,1.5,1,2,a,b", "a,2,N,b,2|2,2,3,1.5,1,2,a,b");
    push_at(o, "a", 4, NONE, "z", 3, 120);
    EXPECT("a,4,N,z,3|3,3,7,2.33333,1,4,a,z");
    push_at(o, "a", 5, NONE, "y", 4, 200);
    EXPECT("a,5,N,y,4|1,1,5,5,5,5,y,y");
    assert_int_equal(o->ops->state_rows(o), 1);
    sluice_op_close(o);
}

/* A retraction cannot be taken back from emitted frames: refused. */
static void test_refuses_retraction(void **state) {
    (void)state;
    sluice_over_plan op = plan_of(1, 2, 0);
    sluice_op *o = open_over(&op);
    sluice_value row[NC] = {sluice_value_varchar("a", 1), sluice_value_bigint(1), sluice_value_timestamp(1),
                            sluice_value_varchar("a", 1), sluice_value_bigint(1)};
    sluice_row_kind kind = SLUICE_ROW_DELETE;
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = row;
    b.ncolumns = NC;
    b.nrows = 1;
    b.kinds = &kind;
    assert_int_equal(o->ops->process(o, &b), SLUICE_ERR_RUNTIME);
    assert_non_null(strstr(ctx.err, "append-only"));
    sluice_op_close(o);
}

/* COUNT(DISTINCT x), SUM(x) FILTER (WHERE x > 0) and
 * APPROX_COUNT_DISTINCT(x) over ROWS 2 PRECEDING (and the distinct
 * count over a RANGE frame): each value once, rows whose filter is not
 * TRUE skipped, the estimate recomputed as rows leave. */
static void test_distinct_filter_hll(void **state) {
    (void)state;
    sluice_over_plan op = plan_of(1, 2, 0);
    static sluice_expr zero, gt;
    static sluice_expr *gt_args[2];
    memset(&zero, 0, sizeof zero);
    zero.kind = SLUICE_EXPR_CONST;
    zero.type = SLUICE_TYPE_BIGINT;
    zero.constant = sluice_value_bigint(0);
    memset(&gt, 0, sizeof gt);
    gt.kind = SLUICE_EXPR_CMP;
    gt.type = SLUICE_TYPE_BOOLEAN;
    gt.op = SLUICE_OP_GT;
    gt_args[0] = col[1];
    gt_args[1] = &zero;
    gt.args = gt_args;
    gt.nargs = 2;
    static sluice_agg_plan ag[3];
    memset(ag, 0, sizeof ag);
    ag[0].fn = &sluice_agg_distinct;
    ag[0].inner = sluice_agg_find("COUNT", 0);
    ag[0].distinct = 1;
    ag[0].arg = col[1];
    ag[0].result_type = SLUICE_TYPE_BIGINT;
    ag[1].fn = sluice_agg_find("SUM", 0);
    ag[1].arg = col[1];
    ag[1].filter = &gt;
    ag[1].result_type = SLUICE_TYPE_BIGINT;
    ag[2].fn = sluice_agg_find("APPROX_COUNT_DISTINCT", 0);
    ag[2].arg = col[1];
    ag[2].result_type = SLUICE_TYPE_BIGINT;
    op.aggs = ag;
    op.naggs = 3;
    for (int range = 0; range < 2; range++) {
        if (range) {
            op.rows = 0;
            op.preceding = 2500;
        }
        sluice_op *o = open_over(&op);
        static const int64_t xs[] = {4, 4, -1, 4, 7, 7};
        for (int i = 0; i < 6; i++) push(o, "a", xs[i], 1000 * (i + 1), "s", i + 1);
        wm(o, 10000);
        /* frames (ROWS 2 and RANGE 2.5 s hold the same rows here):
         * {4} {4,4} {4,4,-1} {4,-1,4} {-1,4,7} {4,7,7}
         * COUNT(DISTINCT): 1 1 2 2 3 2; SUM FILTER (x > 0): 4 8 8 8 11 18;
         * the estimate of a few values is exact: 1 1 2 2 3 2 */
        EXPECT("a,4,1000,s,1|1,4,1", "a,4,2000,s,2|1,8,1", "a,-1,3000,s,3|2,8,2", "a,4,4000,s,4|2,8,2",
               "a,7,5000,s,5|3,11,3", "a,7,6000,s,6|2,18,2");
        assert_true(o->ops->state_bytes(o) > 0);
        sluice_op_close(o);
    }
}

/* ---------------- randomised check against a naive recomputation ---------------- */

static uint64_t rng;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct trow {
    int p;
    int64_t x, t, id;
    int64_t pos;                   /* index in its partition, (time, arrival) order */
    char s[4];
} trow;

/* Feed `steps` random rows (3 partitions, times within a disorder of 3 s,
 * some late, some NULL x) and watermarks into op; the rows not late are
 * appended to kept. */
static int64_t feed_wm, feed_max, feed_id;
static void feed(sluice_op *op, trow *kept, size_t *nkept, int steps) {
    for (int step = 0; step < steps; step++) {
        if (next_rand() % 8 == 0) {
            int64_t w = feed_max - (int64_t)(next_rand() % 3000);
            if (w > feed_wm) {
                feed_wm = w;
                wm(op, w);
            }
            continue;
        }
        trow r;
        r.p = (int)(next_rand() % 3);
        uint64_t x = next_rand() % 12;
        r.x = x == 11 ? NONE : (int64_t)x - 3;
        r.t = feed_max - 2500 + (int64_t)(next_rand() % 3500);
        if (r.t < 0) r.t = (int64_t)(next_rand() % 100);
        r.t -= r.t % 250; /* ties */
        if (r.t > feed_max) feed_max = r.t;
        r.id = ++feed_id;
        snprintf(r.s, sizeof r.s, "%c%c", 'a' + (int)(next_rand() % 5), 'a' + (int)(next_rand() % 3));
        char p[8];
        snprintf(p, sizeof p, "p%d", r.p);
        push(op, p, r.x, r.t, r.s, r.id);
        if (r.t > feed_wm) kept[(*nkept)++] = r;
    }
}

/* The expected output line of row c over the rows kept, sorted in
 * (time, arrival) order with pos their index in their partition: the
 * aggregates over a naive scan of c's frame. */
static void naive_line(char *buf, size_t cap, const trow *kept, size_t n, const trow *c, int rows, int64_t preceding) {
    int64_t cnt = 0, cntx = 0, sum = 0, mn = 0, mx = 0;
    const char *smin = NULL, *smax = NULL;
    for (size_t i = 0; i < n; i++) {
        const trow *r = &kept[i];
        if (r->p != c->p) continue;
        int in = rows ? r->pos <= c->pos && (preceding < 0 || r->pos >= c->pos - preceding)
                      : r->t <= c->t && (preceding < 0 || r->t >= c->t - preceding);
        if (!in) continue;
        cnt++;
        if (!smin || strcmp(r->s, smin) < 0) smin = r->s;
        if (!smax || strcmp(r->s, smax) > 0) smax = r->s;
        if (r->x == NONE) continue;
        if (!cntx || r->x < mn) mn = r->x;
        if (!cntx || r->x > mx) mx = r->x;
        cntx++;
        sum += r->x;
    }
    char xs[24];
    if (c->x == NONE) snprintf(xs, sizeof xs, "N");
    else snprintf(xs, sizeof xs, "%lld", (long long)c->x);
    int len = snprintf(buf, cap, "p%d,%s,%lld,%s,%lld|%lld,%lld,", c->p, xs, (long long)c->t, c->s, (long long)c->id,
                       (long long)cnt, (long long)cntx);
    if (cntx)
        snprintf(buf + len, cap - (size_t)len, "%lld,%g,%lld,%lld,%s,%s", (long long)sum, (double)sum / (double)cntx,
                 (long long)mn, (long long)mx, smin, smax);
    else
        snprintf(buf + len, cap - (size_t)len, "N,N,N,N,%s,%s", smin, smax);
}

static int cmp_trow(const void *a, const void *b) {
    const trow *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void check_random(int rows, int64_t preceding, uint64_t seed) {
    sluice_over_plan op = plan_of(rows, preceding, 0);
    sluice_op *o = open_over(&op);
    static trow kept[4000];
    size_t n = 0;
    rng = seed;
    feed_wm = INT64_MIN;
    feed_max = 10000;
    feed_id = 0;
    got.n = 0;
    feed(o, kept, &n, 3000);
    wm(o, INT64_MAX - 1);
    assert_int_equal(got.n, n);
    assert_true(n > 1500);
    assert_int_equal(o->late_rows, (uint64_t)feed_id - n);
    assert_true(o->late_rows > 10);
    /* the output is in (time, arrival) order */
    qsort(kept, n, sizeof *kept, cmp_trow);
    int64_t npart[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) kept[i].pos = npart[kept[i].p]++;
    char want[LINE];
    for (size_t i = 0; i < n; i++) {
        naive_line(want, sizeof want, kept, n, &kept[i], rows, preceding);
        if (strcmp(want, got.line[i]) != 0)
            fail_msg("rows %d preceding %lld seed %llu, output %zu: expected \"%s\", got \"%s\"", rows,
                     (long long)preceding, (unsigned long long)seed, i, want, got.line[i]);
    }
    sluice_op_close(o);
    got.n = 0;
}

static void test_random_against_naive(void **state) {
    (void)state;
    static const struct {
        int rows;
        int64_t preceding;
    } frames[] = {{1, 0}, {1, 2}, {1, 7}, {1, 60}, {1, -1}, {0, 0}, {0, 1000}, {0, 10 * SEC}, {0, -1}};
    for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++)
        for (uint64_t seed = 1; seed <= 3; seed++) check_random(frames[f].rows, frames[f].preceding, seed * 7919);
}

/* ---------------- snapshots ---------------- */

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
 * uninterrupted run's, for each kind of frame (pending rows included). */
static void test_snapshot_restore_continues(void **state) {
    (void)state;
    static const struct {
        int rows;
        int64_t preceding;
    } frames[] = {{1, 2}, {1, 60}, {1, -1}, {0, 1000}, {0, -1}};
    static trow kept[4000];
    static char first[MAXOUT][LINE];
    for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++) {
        sluice_over_plan op = plan_of(frames[f].rows, frames[f].preceding, 0);
        sluice_op *a = open_over(&op);
        size_t n = 0;
        rng = 99 + f;
        feed_wm = INT64_MIN;
        feed_max = 10000;
        feed_id = 0;
        feed(a, kept, &n, 600);
        sluice_enc e = snapshot(a);
        size_t rows_a = a->ops->state_rows(a), bytes_a = a->ops->state_bytes(a);
        uint64_t late_a = a->late_rows;
        uint64_t rng_at = rng;
        int64_t wm_at = feed_wm, max_at = feed_max, id_at = feed_id;
        size_t n_at = n;
        /* uninterrupted */
        got.n = 0;
        feed(a, kept, &n, 600);
        wm(a, INT64_MAX - 1);
        size_t n1 = got.n;
        memcpy(first, got.line, n1 * LINE);
        sluice_op_close(a);
        /* restored */
        sluice_op *b = open_over(&op);
        sluice_dec d;
        sluice_dec_init(&d, e.data, e.len);
        assert_int_equal(b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION), 0);
        assert_int_equal(d.pos, e.len);
        assert_int_equal(b->ops->state_rows(b), rows_a);
        assert_int_equal(b->late_rows, late_a);
        assert_true(b->ops->state_bytes(b) > 0 && b->ops->state_bytes(b) <= bytes_a + 4096);
        sluice_enc e2 = snapshot(b);
        assert_int_equal(e2.len, e.len);
        assert_memory_equal(e2.data, e.data, e.len);
        free(e2.data);
        got.n = 0;
        rng = rng_at;
        feed_wm = wm_at;
        feed_max = max_at;
        feed_id = id_at;
        n = n_at;
        feed(b, kept, &n, 600);
        wm(b, INT64_MAX - 1);
        assert_true(n1 > 100);
        assert_int_equal(got.n, n1);
        for (size_t i = 0; i < n1; i++) assert_string_equal(got.line[i], first[i]);
        sluice_op_close(b);
        free(e.data);
        got.n = 0;
    }
}

/* Every truncation fails with d->bad and leaves no state; random
 * corruptions fail with d->bad or restore something, never crash. */
static void test_snapshot_corrupt(void **state) {
    (void)state;
    static trow kept[4000];
    for (int unbounded = 0; unbounded < 2; unbounded++) {
        sluice_over_plan op = plan_of(unbounded, unbounded ? -1 : 1000, 0);
        sluice_op *a = open_over(&op);
        size_t n = 0;
        rng = 5;
        feed_wm = INT64_MIN;
        feed_max = 10000;
        feed_id = 0;
        feed(a, kept, &n, 60);
        sluice_enc e = snapshot(a);
        sluice_op_close(a);
        sluice_op *b = open_over(&op);
        for (size_t len = 0; len < e.len; len++) {
            sluice_dec d;
            sluice_dec_init(&d, e.data, len);
            assert_int_equal(b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION), -1);
            assert_true(d.bad);
            assert_int_equal(b->ops->state_rows(b), 0);
        }
        unsigned char *c = malloc(e.len);
        assert_non_null(c);
        rng = 11;
        for (int trial = 0; trial < 3000; trial++) {
            memcpy(c, e.data, e.len);
            int flips = 1 + (int)(next_rand() % 3);
            for (int k = 0; k < flips; k++) c[next_rand() % e.len] ^= (unsigned char)(1 + next_rand() % 255);
            sluice_dec d;
            sluice_dec_init(&d, c, e.len);
            if (b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION) != 0) {
                assert_true(d.bad);
                assert_int_equal(b->ops->state_rows(b), 0);
            } else {
                /* what restored runs */
                wm(b, INT64_MAX - 1);
            }
        }
        free(c);
        /* a snapshot of another operator (tag 2: rank) */
        e.data[8] = 2;
        sluice_dec d;
        sluice_dec_init(&d, e.data, e.len);
        assert_int_equal(b->ops->restore(b, &d, SLUICE_SNAPSHOT_VERSION), -1);
        assert_true(d.bad);
        b->ops->clear(b);
        assert_int_equal(b->ops->state_rows(b), 0);
        sluice_op_close(b);
        free(e.data);
        got.n = 0;
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_2_preceding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_10s_ties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unbounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proctime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_retraction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_distinct_filter_hll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_naive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_restore_continues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_corrupt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
