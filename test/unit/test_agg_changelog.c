/*
 * Aggregation over a changelog (src/exec/op_window_agg.c with
 * exec/agg_multiset.c and exec/agg_hll.c), driven directly: rows of the
 * source `ev` (ts, k, v) with a change kind each are pushed into the
 * window aggregate operator, whose downstream keeps what it is given; the
 * rows and kinds pushed are compared with values worked out by hand in the
 * comments.  Also: DISTINCT, FILTER, APPROX_COUNT_DISTINCT, snapshot round
 * trips of their state, the planner's refusals over an updating input and
 * the sink dropping update-befores for a keyed output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/agg_hll.h"
#include "exec/operator.h"
#include "sluice_test.h"
#include "sql/parser.h"

static const char decls[] = "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, WATERMARK FOR ts AS ts);\n";

static sluice_arena *arena;
static sluice_plan *plan;
static sluice_transform_stats stats;
static sluice_op_ctx ctx;

/* ---- a downstream operator that keeps what it is given, as text ---- */

enum { MAXROWS = 32 };
static struct {
    size_t nrows;
    char row[MAXROWS][128]; /* "KIND v3,v4,..." : the post row from column 3 (keys, results) */
} got;

static sluice_err_t capture_process(sluice_op *op, const sluice_op_batch *in) {
    (void)op;
    for (size_t i = 0; i < in->nrows && got.nrows < MAXROWS; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        char *o = got.row[got.nrows++];
        size_t len = (size_t)snprintf(o, 128, "%s", sluice_row_kind_name(in->kinds ? in->kinds[r] : SLUICE_ROW_INSERT));
        for (size_t c = SLUICE_POST_GROUP0; c < in->ncolumns && len < 120; c++) {
            const sluice_value *v = &in->rows[r * in->ncolumns + c];
            switch (v->type) {
            case SLUICE_TYPE_NULL: len += (size_t)snprintf(o + len, 128 - len, "%sNULL", c == SLUICE_POST_GROUP0 ? " " : ","); break;
            case SLUICE_TYPE_VARCHAR:
                len += (size_t)snprintf(o + len, 128 - len, "%s%.*s", c == SLUICE_POST_GROUP0 ? " " : ",", (int)v->len, v->u.s);
                break;
            case SLUICE_TYPE_DOUBLE: len += (size_t)snprintf(o + len, 128 - len, "%s%g", c == SLUICE_POST_GROUP0 ? " " : ",", v->u.d); break;
            default: len += (size_t)snprintf(o + len, 128 - len, "%s%lld", c == SLUICE_POST_GROUP0 ? " " : ",", (long long)v->u.i); break;
            }
        }
    }
    return SLUICE_OK;
}

static void capture_close(sluice_op *op) {
    (void)op;
}

static const sluice_op_ops capture_ops = {.name = "capture", .process = capture_process, .close = capture_close};
static sluice_op capture = {.ops = &capture_ops};

/* The rows captured since the last call, one per line; then forgotten. */
static const char *taken(void) {
    static char out[MAXROWS * 130];
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < got.nrows; i++) len += (size_t)snprintf(out + len, sizeof out - len, "%s\n", got.row[i]);
    got.nrows = 0;
    return out;
}

static int setup(void **state) {
    (void)state;
    arena = sluice_arena_new(0);
    plan = NULL;
    memset(&stats, 0, sizeof stats);
    memset(&ctx, 0, sizeof ctx);
    memset(&got, 0, sizeof got);
    ctx.batch_arena = sluice_arena_new(0);
    ctx.stats = &stats;
    return arena && ctx.batch_arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_plan_free(plan);
    sluice_arena_destroy(arena);
    sluice_arena_destroy(ctx.batch_arena);
    return 0;
}

/* Plan `sink` over ev; 0 on success, else the error in errstr. */
static char errstr[512];
static sluice_err_t try_build(const char *sink) {
    char sql[2048];
    snprintf(sql, sizeof sql, "%s%s\n", decls, sink);
    sluice_ast_pipeline *ast;
    errstr[0] = '\0';
    sluice_err_t err = sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr);
    if (err == SLUICE_OK) err = sluice_plan_build(ast, &plan, errstr, sizeof errstr);
    return err;
}

static sluice_query_plan *build(const char *sink) {
    if (try_build(sink) != SLUICE_OK) fail_msg("%s", errstr);
    return &plan->queries[0];
}

/* The query planned as if its FROM were an updating relation. */
static sluice_query_plan *build_updating(const char *sink) {
    sluice_query_plan *q = build(sink);
    if (sluice_plan_input_updating(plan, q, 2, 1, errstr, sizeof errstr) != SLUICE_OK) fail_msg("%s", errstr);
    return q;
}

/* ---- input rows of ev: (ts, k, v) with a kind; v NUL_V is NULL, k NULL is NULL ---- */

#define NUL_V INT64_MIN
enum { NCOLS = 3, MAXIN = 16 };
static sluice_value in_rows[MAXIN * NCOLS];
static sluice_row_kind in_kinds[MAXIN];
static sluice_record in_recs[MAXIN];
static const sluice_record *in_rec_ptrs[MAXIN];

typedef struct in_row {
    sluice_row_kind kind;
    const char *k;
    int64_t v;
} in_row;

static sluice_op_batch batch(const in_row *rows, size_t n) {
    assert_true(n <= MAXIN);
    for (size_t i = 0; i < n; i++) {
        in_rows[i * NCOLS + 0] = sluice_value_timestamp((int64_t)i * 1000);
        in_rows[i * NCOLS + 1] = rows[i].k ? sluice_value_varchar(rows[i].k, strlen(rows[i].k)) : sluice_value_null();
        in_rows[i * NCOLS + 2] = rows[i].v == NUL_V ? sluice_value_null() : sluice_value_bigint(rows[i].v);
        in_kinds[i] = rows[i].kind;
        in_recs[i].offset = (int64_t)i;
        in_rec_ptrs[i] = &in_recs[i];
    }
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = in_rows;
    b.ncolumns = NCOLS;
    b.nrows = n;
    b.kinds = in_kinds;
    b.recs = in_rec_ptrs;
    b.sp = &plan->sources[0];
    b.watermark = b.proc_watermark = b.proc_time = SLUICE_TS_MIN;
    return b;
}

#define I SLUICE_ROW_INSERT
#define UB SLUICE_ROW_UPDATE_BEFORE
#define UA SLUICE_ROW_UPDATE_AFTER
#define D SLUICE_ROW_DELETE

static sluice_op *open_agg(const sluice_query_plan *q) {
    sluice_op *op = sluice_op_window_agg_new(q, &ctx, &capture);
    assert_non_null(op);
    assert_int_equal(op->ops->open(op), SLUICE_OK);
    return op;
}

/* Push rows as one micro-batch and emit; returns what was pushed on. */
static const char *step(sluice_op *op, const in_row *rows, size_t n) {
    sluice_op_batch b = batch(rows, n);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->ops->on_watermark(op, 0, 1), 0);
    sluice_arena_reset(ctx.batch_arena);
    return taken();
}

/* ---- retraction ---- */

static void test_retractions_update_count_sum_min_max_and_delete_an_emptied_group(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build_updating("CREATE SINK out AS SELECT k, COUNT(*) AS n, SUM(v) AS s, MIN(v) AS lo, MAX(v) AS hi, "
                       "AVG(v) AS a FROM ev GROUP BY k;");
    assert_int_equal(q->input_updating, 1);
    sluice_op *op = open_agg(q);
    /* a: 5 3 9 -> n 3, sum 17, min 3, max 9, avg 17/3; b: 7 */
    const in_row b1[] = {{I, "a", 5}, {I, "a", 3}, {I, "b", 7}, {I, "a", 9}};
    assert_string_equal(step(op, b1, 4), "+I a,3,17,3,9,5.66667\n+I b,1,7,7,7,7\n");
    assert_int_equal(op->ops->state_rows(op), 2);
    /* a: 3 deleted, 9 updated to 1 -> 5 1: n 2, sum 6, min 1, max 5 (the
     * max 9 retracted: the next one comes from the multiset), avg 3.
     * b: its only row deleted -> a delete of its last row, and no state.
     * c: a retraction for a group that never was is ignored. */
    const in_row b2[] = {{D, "a", 3}, {UB, "a", 9}, {UA, "a", 1}, {D, "b", 7}, {D, "c", 1}};
    assert_string_equal(step(op, b2, 5), "-U a,3,17,3,9,5.66667\n+U a,2,6,1,5,3\n-D b,1,7,7,7,7\n");
    assert_int_equal(op->ops->state_rows(op), 1);
    /* b comes back: a new group, an insert */
    const in_row b3[] = {{I, "b", 4}};
    assert_string_equal(step(op, b3, 1), "+I b,1,4,4,4,4\n");
    /* a goes to zero and back within one batch: still an update */
    const in_row b4[] = {{D, "a", 5}, {D, "a", 1}, {I, "a", 8}};
    assert_string_equal(step(op, b4, 3), "-U a,2,6,1,5,3\n+U a,1,8,8,8,8\n");
    assert_int_equal(op->ops->state_rows(op), 2);
    sluice_op_close(op);
}

static void test_retracting_null_arguments_and_strings(void **state) {
    (void)state;
    const sluice_query_plan *q = build_updating(
        "CREATE SINK out AS SELECT COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS s, MIN(k) AS lo, MAX(k) AS hi FROM ev;");
    sluice_op *op = open_agg(q);
    /* NULL v counts for COUNT(*) only; NULL k is no extreme */
    const in_row b1[] = {{I, "pear", NUL_V}, {I, "apple", 2}, {I, NULL, 3}, {I, "zebra", NUL_V}};
    assert_string_equal(step(op, b1, 4), "+I 4,2,5,apple,zebra\n");
    /* take back apple (the min; its string leaves the state) and the NULL k */
    const in_row b2[] = {{D, "apple", 2}, {D, NULL, 3}};
    assert_string_equal(step(op, b2, 2), "-U 4,2,5,apple,zebra\n+U 2,0,NULL,pear,zebra\n");
    const in_row b3[] = {{D, "pear", NUL_V}, {D, "zebra", NUL_V}};
    assert_string_equal(step(op, b3, 2), "-D 2,0,NULL,pear,zebra\n");
    assert_int_equal(op->ops->state_rows(op), 0);
    sluice_op_close(op);
}

static void test_a_retraction_on_an_append_only_plan_fails_the_batch(void **state) {
    (void)state;
    const sluice_query_plan *q = build("CREATE SINK out AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k;");
    sluice_op *op = open_agg(q);
    const in_row rows[] = {{D, "a", 1}};
    sluice_op_batch b = batch(rows, 1);
    assert_int_equal(op->ops->process(op, &b), SLUICE_ERR_RUNTIME);
    assert_non_null(strstr(ctx.err, "append-only"));
    sluice_op_close(op);
}

/* Groups that come and go leave no garbage behind: the strings of removed
 * groups are dropped when the window's arena is compacted. */
static void test_groups_coming_and_going_keep_the_state_bounded(void **state) {
    (void)state;
    const sluice_query_plan *q = build_updating("CREATE SINK out AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k;");
    sluice_op *op = open_agg(q);
    static char keys[MAXIN][80];
    in_row add[MAXIN], del[MAXIN];
    size_t most = 0;
    for (int round = 0; round < 1000; round++) {
        for (size_t i = 0; i < MAXIN; i++) {
            snprintf(keys[i], sizeof keys[i], "a key of 64 bytes, different in every round: %06d-%02zu ........",
                     round, i);
            add[i] = (in_row){I, keys[i], 1};
            del[i] = (in_row){D, keys[i], 1};
        }
        step(op, add, MAXIN);
        step(op, del, MAXIN);
        assert_int_equal(op->ops->state_rows(op), 0);
        size_t b = op->ops->state_bytes(op);
        if (b > most) most = b;
    }
    /* 1000 x 16 keys of 64 bytes came and went: 1 MB of strings; what is
     * kept stays near the 64 KiB before a compaction */
    assert_true(most < 256 * 1024);
    sluice_op_close(op);
}

/* ---- HAVING on a changelog ---- */

static void test_a_group_leaving_having_is_deleted(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build_updating("CREATE SINK out AS SELECT k, SUM(v) AS s FROM ev GROUP BY k HAVING SUM(v) > 10;");
    sluice_op *op = open_agg(q);
    const in_row b1[] = {{I, "a", 5}};
    assert_string_equal(step(op, b1, 1), "");
    const in_row b2[] = {{I, "a", 8}};
    assert_string_equal(step(op, b2, 1), "+I a,13\n");
    const in_row b3[] = {{D, "a", 5}};
    assert_string_equal(step(op, b3, 1), "-D a,13\n");
    const in_row b4[] = {{I, "a", 3}};
    assert_string_equal(step(op, b4, 1), "+I a,11\n");
    sluice_op_close(op);
}

/* COMPLETE re-emits the whole table, never an update-before: two groups
 * with equal rows stay two rows for a sink that replaces its table. */
static void test_complete_pushes_the_table_without_retractions(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build_updating("CREATE SINK out AS SELECT COUNT(*) AS n FROM ev GROUP BY k EMIT COMPLETE;");
    sluice_op *op = open_agg(q);
    const in_row b1[] = {{I, "a", 1}, {I, "b", 1}};
    /* post rows: the key, then the count (the output has the count only) */
    assert_string_equal(step(op, b1, 2), "+I a,1\n+I b,1\n");
    const in_row b2[] = {{I, "a", 1}};
    assert_string_equal(step(op, b2, 1), "+U a,2\n+U b,1\n");
    /* b's rows retracted: it is no longer in the table, nor in the state */
    const in_row b3[] = {{D, "b", 1}};
    assert_string_equal(step(op, b3, 1), "+U a,2\n");
    assert_int_equal(op->ops->state_rows(op), 1);
    sluice_op_close(op);
}

/* ---- DISTINCT, FILTER ---- */

static void test_distinct_and_filter_on_an_append_only_input(void **state) {
    (void)state;
    const sluice_query_plan *q = build(
        "CREATE SINK out AS SELECT k, COUNT(DISTINCT v) AS d, SUM(DISTINCT v) AS sd, AVG(DISTINCT v) AS ad, "
        "COUNT(*) FILTER (WHERE v > 2) AS big, SUM(v) FILTER (WHERE v <> 2) AS s2, "
        "COUNT(DISTINCT v) FILTER (WHERE v < 3) AS dsmall, MIN(DISTINCT v) AS lo FROM ev GROUP BY k;");
    assert_non_null(q->aggs[0].inner);
    assert_null(q->aggs[6].inner); /* MIN(DISTINCT v) is MIN(v) */
    sluice_op *op = open_agg(q);
    /* a: 1 2 2 3 NULL 3 -> distinct {1,2,3}: count 3, sum 6, avg 2; v > 2:
     * 3 3 -> 2 (NULL is not TRUE); SUM where v <> 2: 1+3+3 = 7; distinct
     * below 3: {1,2} -> 2; min 1 */
    const in_row b1[] = {{I, "a", 1}, {I, "a", 2}, {I, "a", 2}, {I, "a", 3}, {I, "a", NUL_V}, {I, "a", 3}};
    assert_string_equal(step(op, b1, 6), "+I a,3,6,2,2,7,2,1\n");
    /* a 4th distinct value and a repeat */
    const in_row b2[] = {{I, "a", 10}, {I, "a", 1}};
    assert_string_equal(step(op, b2, 2), "-U a,3,6,2,2,7,2,1\n+U a,4,16,4,3,18,2,1\n");
    /* a group whose rows all fail the filter: COUNT 0, SUM NULL */
    const in_row b3[] = {{I, "b", 2}};
    assert_string_equal(step(op, b3, 1), "+I b,1,2,2,0,NULL,1,2\n");
    sluice_op_close(op);
}

static void test_distinct_retracts_a_value_with_its_last_copy(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build_updating("CREATE SINK out AS SELECT COUNT(DISTINCT k) AS d, SUM(DISTINCT v) AS s, "
                       "COUNT(DISTINCT k) FILTER (WHERE v > 1) AS df FROM ev;");
    sluice_op *op = open_agg(q);
    /* k {x, y}: 2; v {1, 2}: 3; k where v > 1: {y} */
    const in_row b1[] = {{I, "x", 1}, {I, "x", 1}, {I, "y", 2}};
    assert_string_equal(step(op, b1, 3), "+I 2,3,1\n");
    /* one copy of (x, 1) leaves: x and 1 are still there, the result is
     * unchanged and not emitted again (as Flink's GroupAggFunction) */
    const in_row b2[] = {{D, "x", 1}};
    assert_string_equal(step(op, b2, 1), "");
    /* the last copy leaves: {y}, {2} */
    assert_string_equal(step(op, b2, 1), "-U 2,3,1\n+U 1,2,1\n");
    sluice_op_close(op);
}

static void snapshot_of(sluice_op *op, sluice_enc *e) {
    memset(e, 0, sizeof *e);
    op->ops->snapshot_begin(op);
    while (op->ops->snapshot_next(op, e)) {
    }
    op->ops->snapshot_end(op);
    assert_false(e->oom);
}

/* Sessions merge DISTINCT maps and sketches; FILTER applies per row. */
static void test_sessions_merge_distinct_and_sketches(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build("CREATE SINK out AS SELECT k, COUNT(DISTINCT v) AS d, APPROX_COUNT_DISTINCT(v) AS ad, "
              "COUNT(*) FILTER (WHERE v > 1) AS f FROM ev GROUP BY SESSION(ts, INTERVAL '20' SECOND), k EMIT APPEND;");
    sluice_op *op = sluice_op_session_new(q, &ctx, &capture);
    assert_non_null(op);
    assert_int_equal(op->ops->open(op), SLUICE_OK);
    /* a at 0 s (v 1) and at 30 s, 31 s (v 2, 2): sessions [0, 20) and [30, 51) */
    const in_row rows[] = {{I, "a", 1}, {I, "a", 2}, {I, "a", 2}};
    sluice_op_batch b = batch(rows, 3);
    in_rows[1 * NCOLS] = sluice_value_timestamp(30000);
    in_rows[2 * NCOLS] = sluice_value_timestamp(31000);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->ops->state_rows(op), 2);
    /* through a snapshot: the restored sessions go on */
    sluice_enc e;
    snapshot_of(op, &e);
    sluice_op_close(op);
    op = sluice_op_session_new(q, &ctx, &capture);
    assert_int_equal(op->ops->open(op), SLUICE_OK);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(op->ops->restore(op, &d, SLUICE_SNAPSHOT_VERSION), 0);
    assert_int_equal(d.pos, e.len);
    free(e.data);
    /* a at 15 s (v 3) bridges them: one session of v {1, 2, 2, 3} */
    const in_row bridge[] = {{I, "a", 3}};
    b = batch(bridge, 1);
    in_rows[0] = sluice_value_timestamp(15000);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->ops->state_rows(op), 1);
    assert_int_equal(op->ops->on_watermark(op, SLUICE_TS_MAX, 1), 0);
    /* distinct 3, estimate 3, rows with v > 1: 3 */
    assert_string_equal(taken(), "+I a,3,3,3\n");
    sluice_op_close(op);
}

/* The state's size (what max_state_bytes caps) counts the value maps and
 * sketches the slots own. */
static void test_state_bytes_count_value_maps_and_sketches(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build("CREATE SINK out AS SELECT COUNT(DISTINCT k) AS d, APPROX_COUNT_DISTINCT(k) AS ad FROM ev;");
    sluice_op *op = open_agg(q);
    const in_row one[] = {{I, "k", 1}};
    step(op, one, 1);
    size_t before = op->ops->state_bytes(op);
    /* a sketch is 16 KiB however many values it counts */
    assert_true(before > SLUICE_HLL_M);
    static char keys[MAXIN][40];
    in_row rows[MAXIN];
    for (size_t i = 0; i < MAXIN; i++) {
        snprintf(keys[i], sizeof keys[i], "a-distinct-value-of-32-bytes-%03zu", i);
        rows[i] = (in_row){I, keys[i], 1};
    }
    step(op, rows, MAXIN);
    /* 16 more values of 32 bytes, each with its map entry */
    assert_true(op->ops->state_bytes(op) >= before + MAXIN * (32 + sizeof(sluice_value)));
    sluice_op_close(op);
}

/* ---- snapshots of the new state ---- */

static void test_value_maps_and_row_counts_snapshot_and_restore(void **state) {
    (void)state;
    const sluice_query_plan *q = build_updating(
        "CREATE SINK out AS SELECT k, COUNT(DISTINCT v) AS d, MAX(v) AS hi, MIN(k) AS lo, COUNT(*) AS n FROM ev GROUP BY k;");
    sluice_op *op = open_agg(q);
    const in_row b1[] = {{I, "a", 5}, {I, "a", 9}, {I, "a", 9}, {I, "b", 1}, {I, "b", NUL_V}};
    assert_string_equal(step(op, b1, 5), "+I a,2,9,a,3\n+I b,1,1,b,2\n");
    sluice_enc e;
    snapshot_of(op, &e);
    sluice_op *op2 = open_agg(q);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(op2->ops->restore(op2, &d, SLUICE_SNAPSHOT_VERSION), 0);
    assert_int_equal(d.pos, e.len);
    assert_int_equal(op2->ops->state_rows(op2), 2);
    sluice_enc e2;
    snapshot_of(op2, &e2);
    assert_int_equal(e2.len, e.len);
    assert_memory_equal(e2.data, e.data, e.len);
    /* the restored state retracts: both 9s leave (max back to 5, distinct
     * 1); b's rows all leave (delete) */
    const in_row b2[] = {{D, "a", 9}, {UB, "a", 9}, {UA, "a", 5}, {D, "b", 1}, {D, "b", NUL_V}};
    assert_string_equal(step(op2, b2, 5), "-U a,2,9,a,3\n+U a,1,5,a,2\n-D b,1,1,b,2\n");
    /* every truncation is refused as malformed, and leaves no state */
    for (size_t cut = 0; cut < e.len; cut += 3) {
        op2->ops->clear(op2);
        sluice_dec_init(&d, e.data, cut);
        assert_int_equal(op2->ops->restore(op2, &d, SLUICE_SNAPSHOT_VERSION), -1);
        assert_true(d.bad);
        op2->ops->clear(op2);
        assert_int_equal(op2->ops->state_rows(op2), 0);
    }
    free(e.data);
    free(e2.data);
    sluice_op_close(op);
    sluice_op_close(op2);
}

static void test_distinct_and_sketch_of_a_window_snapshot_and_restore(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build("CREATE SINK out AS SELECT window_start, k, COUNT(DISTINCT v) AS d, APPROX_COUNT_DISTINCT(v) AS ad "
              "FROM ev GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), k EMIT APPEND;");
    sluice_op *op = open_agg(q);
    const in_row rows[] = {{I, "a", 1}, {I, "a", 2}, {I, "a", 2}, {I, "b", NUL_V}};
    sluice_op_batch b = batch(rows, 4);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    sluice_enc e;
    snapshot_of(op, &e);
    sluice_op *op2 = open_agg(q);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(op2->ops->restore(op2, &d, SLUICE_SNAPSHOT_VERSION), 0);
    sluice_enc e2;
    snapshot_of(op2, &e2);
    assert_int_equal(e2.len, e.len);
    assert_memory_equal(e2.data, e.data, e.len);
    /* the window closes: a has 2 distinct values (the sketch too: no shared
     * register), b only NULLs: 0 */
    assert_int_equal(op2->ops->on_watermark(op2, SLUICE_TS_MAX, 1), 0);
    assert_string_equal(taken(), "+I a,2,2\n+I b,0,0\n");
    free(e.data);
    free(e2.data);
    sluice_op_close(op);
    sluice_op_close(op2);
}

/* ---- HyperLogLog ---- */

static void test_approx_count_distinct_is_within_its_error_and_merges(void **state) {
    (void)state;
    const sluice_query_plan *q = build("CREATE SINK out AS SELECT APPROX_COUNT_DISTINCT(v) AS n FROM ev;");
    const sluice_agg_plan *ag = &q->aggs[0];
    assert_int_equal(ag->result_type, SLUICE_TYPE_BIGINT);
    sluice_agg_slot lo, hi, all;
    memset(&lo, 0, sizeof lo);
    memset(&hi, 0, sizeof hi);
    memset(&all, 0, sizeof all);
    /* nothing counted: 0 */
    assert_int_equal(ag->fn->result(ag, &lo).u.i, 0);
    const int64_t n = 200000;
    for (int64_t i = 0; i < n; i++) {
        sluice_value v = sluice_value_bigint(i * 7919);
        assert_int_equal(ag->fn->add(ag, i < n / 2 ? &lo : &hi, &v, NULL), 0);
        assert_int_equal(ag->fn->add(ag, &all, &v, NULL), 0);
        assert_int_equal(ag->fn->add(ag, &all, &v, NULL), 0); /* a repeat changes nothing */
    }
    int64_t est = ag->fn->result(ag, &all).u.i;
    /* standard error 1.04 / sqrt(2^14) = 0.81 %: 4 of them is 3.25 % */
    assert_true(fabs((double)(est - n)) < 0.0325 * (double)n);
    /* merging the halves gives the sketch of the whole, register for register */
    assert_int_equal(ag->fn->merge(ag, &lo, &hi), 0);
    assert_memory_equal(sluice_hll_registers(&lo), sluice_hll_registers(&all), SLUICE_HLL_M);
    assert_int_equal(ag->fn->result(ag, &lo).u.i, est);
    /* small counts: linear counting, off only by values sharing a register
     * (here 2 of the 52 do: 51) */
    sluice_agg_slot few;
    memset(&few, 0, sizeof few);
    for (int64_t i = 0; i < 100; i++) {
        sluice_value v = sluice_value_varchar(i % 2 ? "odd" : "even", i % 2 ? 3 : 4);
        sluice_value x = sluice_value_bigint(i);
        assert_int_equal(ag->fn->add(ag, &few, i < 50 ? &x : &v, NULL), 0);
    }
    assert_int_equal(ag->fn->result(ag, &few).u.i, 51);
    /* a snapshot of each form (dense, sparse) decodes to the same registers */
    sluice_agg_slot *forms[] = {&all, &few};
    for (size_t f = 0; f < 2; f++) {
        sluice_enc e;
        memset(&e, 0, sizeof e);
        ag->fn->encode(ag, &e, forms[f]);
        sluice_agg_slot back;
        memset(&back, 0, sizeof back);
        sluice_dec d;
        sluice_dec_init(&d, e.data, e.len);
        assert_int_equal(ag->fn->decode(ag, &d, &back, NULL), 0);
        assert_int_equal(d.pos, e.len);
        assert_memory_equal(sluice_hll_registers(&back), sluice_hll_registers(forms[f]), SLUICE_HLL_M);
        assert_int_equal(back.n, forms[f]->n);
        /* the running sum restored is the one built value by value */
        assert_int_equal(ag->fn->result(ag, &back).u.i, ag->fn->result(ag, forms[f]).u.i);
        ag->fn->destroy(ag, &back);
        if (f == 1) assert_true(e.len < 1024); /* sparse */
        free(e.data);
    }
    ag->fn->destroy(ag, &lo);
    ag->fn->destroy(ag, &hi);
    ag->fn->destroy(ag, &all);
    ag->fn->destroy(ag, &few);
}

/* ---- the planner ---- */

static void test_planner_refusals_over_an_updating_input(void **state) {
    (void)state;
    sluice_query_plan *q = build("CREATE SINK out AS SELECT k, APPROX_COUNT_DISTINCT(v) AS n FROM ev GROUP BY k;");
    assert_int_equal(sluice_plan_input_updating(plan, q, 2, 1, errstr, sizeof errstr), SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:2:30: APPROX_COUNT_DISTINCT cannot take a value back, so it is not supported "
                                "over an updating input (rows are updated or deleted); use COUNT(DISTINCT ...)");
    sluice_plan_free(plan);
    plan = NULL;
    q = build("CREATE SINK out AS SELECT window_start, COUNT(*) AS n FROM ev GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE);");
    assert_int_equal(sluice_plan_input_updating(plan, q, 2, 71, errstr, sizeof errstr), SLUICE_ERR_SQL);
    assert_non_null(strstr(errstr, "p.sql:2:71: a window (TUMBLE, HOP, SESSION) over an updating input is not supported"));
}

static void test_planner_errors_of_distinct_and_filter(void **state) {
    (void)state;
    assert_int_equal(try_build("CREATE SINK out AS SELECT COUNT(*) FILTER (WHERE v) AS n FROM ev;"), SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:2:50: FILTER needs a BOOLEAN condition, got BIGINT");
    assert_int_equal(try_build("CREATE SINK out AS SELECT COUNT(*) FILTER (WHERE COUNT(*) > 1) AS n FROM ev;"),
                     SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:2:50: aggregate function COUNT cannot be nested in another aggregate");
    assert_int_equal(try_build("CREATE SINK out AS SELECT k FROM ev WHERE COUNT(DISTINCT v) > 1;"), SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:2:43: aggregate function COUNT is not allowed in WHERE");
    assert_int_equal(try_build("CREATE SINK out AS SELECT LOWER(DISTINCT k) AS l FROM ev;"), SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:2:27: DISTINCT belongs to aggregate functions only, and LOWER is not one");
    assert_int_equal(try_build("CREATE SINK out AS SELECT COUNT(*) AS n FROM ev "
                               "GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE) FILTER (WHERE v > 1);"),
                     SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:2:58: FILTER belongs to aggregate functions only, and TUMBLE is not one");
    assert_int_equal(try_build("CREATE SINK out AS SELECT ABS(v) FILTER (WHERE v > 1) AS a FROM ev;"), SLUICE_ERR_SQL);
    assert_string_equal(errstr, "p.sql:2:27: FILTER belongs to aggregate functions only, and ABS is not one");
    /* the same call twice shares a slot; with another DISTINCT or FILTER it does not */
    sluice_query_plan *q = build("CREATE SINK out AS SELECT COUNT(v) AS a, COUNT(DISTINCT v) AS b, COUNT(v) AS c, "
                                 "COUNT(v) FILTER (WHERE v > 1) AS d, COUNT(v) FILTER (WHERE v > 1) AS e FROM ev;");
    assert_int_equal(q->naggs, 3);
    assert_int_equal(q->aggs[1].distinct, 1);
    assert_non_null(q->aggs[2].filter);
}

static void test_explain_shows_distinct_and_filter(void **state) {
    (void)state;
    build("CREATE SINK out AS SELECT COUNT(DISTINCT v) AS d, COUNT(*) FILTER (WHERE v > 1) AS f FROM ev;");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    sluice_plan_explain(plan, out);
    fclose(out);
    if (!strstr(text, "aggregates: COUNT(DISTINCT v), COUNT(*) FILTER (WHERE (v > 1))\n"))
        fail_msg("no DISTINCT or FILTER in:\n%s", text);
    free(text);
}

/* ---- the sink ---- */

static void test_sink_drops_update_before_when_it_upserts_by_a_key(void **state) {
    (void)state;
    const char *sinks[] = {"CREATE SINK out AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k;",
                           "CREATE SINK out AS SELECT COUNT(*) AS n FROM ev;"};
    for (int keyed = 1; keyed >= 0; keyed--) {
        const sluice_query_plan *q = build(sinks[1 - keyed]);
        assert_int_equal(q->schema.npk > 0, keyed);
        sluice_op *sink = sluice_op_sink_new(q, &ctx);
        assert_int_equal(sink->ops->open(sink), SLUICE_OK);
        sluice_op *op = sluice_op_window_agg_new(q, &ctx, sink);
        assert_int_equal(op->ops->open(op), SLUICE_OK);
        const in_row b1[] = {{I, "a", 1}};
        sluice_op_batch b = batch(b1, 1);
        assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
        assert_int_equal(op->ops->on_watermark(op, 0, 1), 0);
        assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
        assert_int_equal(op->ops->on_watermark(op, 0, 1), 0);
        const sluice_row_batch *out = sluice_op_sink_output(sink);
        /* +I 1, (-U 1,) +U 2 */
        assert_int_equal(out->nrows, keyed ? 2 : 3);
        assert_int_equal(out->kinds[0], SLUICE_ROW_INSERT);
        if (!keyed) assert_int_equal(out->kinds[1], SLUICE_ROW_UPDATE_BEFORE);
        assert_int_equal(out->kinds[out->nrows - 1], SLUICE_ROW_UPDATE_AFTER);
        sluice_op_close(op);
        sluice_op_close(sink);
        sluice_plan_free(plan);
        plan = NULL;
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_retractions_update_count_sum_min_max_and_delete_an_emptied_group),
        T(test_retracting_null_arguments_and_strings),
        T(test_a_retraction_on_an_append_only_plan_fails_the_batch),
        T(test_groups_coming_and_going_keep_the_state_bounded),
        T(test_a_group_leaving_having_is_deleted),
        T(test_complete_pushes_the_table_without_retractions),
        T(test_distinct_and_filter_on_an_append_only_input),
        T(test_distinct_retracts_a_value_with_its_last_copy),
        T(test_sessions_merge_distinct_and_sketches),
        T(test_state_bytes_count_value_maps_and_sketches),
        T(test_value_maps_and_row_counts_snapshot_and_restore),
        T(test_distinct_and_sketch_of_a_window_snapshot_and_restore),
        T(test_approx_count_distinct_is_within_its_error_and_merges),
        T(test_planner_refusals_over_an_updating_input),
        T(test_planner_errors_of_distinct_and_filter),
        T(test_explain_shows_distinct_and_filter),
        T(test_sink_drops_update_before_when_it_upserts_by_a_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
