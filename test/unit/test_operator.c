/*
 * The operator contract (src/exec/operator.h) driven directly, without the
 * DAG: rows of the source `ev` are built by hand, pushed as one batch into
 * an operator whose downstream is a capturing operator, and what the
 * operator pushes on (rows and their change kinds) is compared with values
 * worked out by hand in the comments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/operator.h"
#include "sluice_test.h"
#include "sql/parser.h"

#define MIN_MS (60 * 1000LL)

static const char decls[] = "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE, WATERMARK FOR ts AS ts);\n";

static sluice_arena *arena;
static sluice_plan *plan;
static sluice_transform_stats stats;
static sluice_op_ctx ctx;

/* ---- a downstream operator that keeps what it is given ---- */

enum { MAXROWS = 16, MAXCOLS = 8 };
static struct {
    size_t batches, nrows;
    sluice_value v[MAXROWS][MAXCOLS];
    char s[MAXROWS][MAXCOLS][16]; /* VARCHAR bytes, NUL-terminated */
    sluice_row_kind kind[MAXROWS];
    size_t index[MAXROWS];        /* the row's index in its batch's rows */
} got;

static sluice_err_t capture_process(sluice_op *op, const sluice_op_batch *in) {
    (void)op;
    got.batches++;
    for (size_t i = 0; i < in->nrows && got.nrows < MAXROWS; i++) {
        size_t r = sluice_op_batch_row_index(in, i), n = got.nrows++;
        got.index[n] = r;
        got.kind[n] = in->kinds ? in->kinds[r] : SLUICE_ROW_INSERT;
        for (size_t c = 0; c < in->ncolumns && c < MAXCOLS; c++) {
            sluice_value v = in->rows[r * in->ncolumns + c];
            if (v.type == SLUICE_TYPE_VARCHAR) {
                snprintf(got.s[n][c], sizeof got.s[n][c], "%.*s", (int)v.len, v.u.s);
                v.u.s = got.s[n][c];
            }
            got.v[n][c] = v;
        }
    }
    return SLUICE_OK;
}

static void capture_close(sluice_op *op) {
    (void)op;
}

static const sluice_op_ops capture_ops = {.name = "capture", .process = capture_process, .close = capture_close};
static sluice_op capture = {.ops = &capture_ops};

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

static const sluice_query_plan *build(const char *sink) {
    char sql[2048], errstr[512];
    snprintf(sql, sizeof sql, "%s%s\n", decls, sink);
    sluice_ast_pipeline *ast;
    if (sluice_sql_parse(sql, strlen(sql), "p.sql", arena, &ast, errstr, sizeof errstr) != SLUICE_OK ||
        sluice_plan_build(ast, &plan, errstr, sizeof errstr) != SLUICE_OK)
        fail_msg("%s", errstr);
    return &plan->queries[0];
}

/* ---- input rows of ev: (ts, k, v, x) ---- */

enum { NCOLS = 4, MAXIN = 8 };
static sluice_value in_rows[MAXIN * NCOLS];
static sluice_record in_recs[MAXIN];
static const sluice_record *in_rec_ptrs[MAXIN];

static sluice_op_batch batch_of(const int64_t *ts_min, const char *const *k, const int64_t *v, size_t n,
                                int64_t watermark) {
    for (size_t i = 0; i < n; i++) {
        in_rows[i * NCOLS + 0] = sluice_value_timestamp(ts_min[i] * MIN_MS);
        in_rows[i * NCOLS + 1] = sluice_value_varchar(k[i], strlen(k[i]));
        in_rows[i * NCOLS + 2] = sluice_value_bigint(v[i]);
        in_rows[i * NCOLS + 3] = sluice_value_null();
        in_recs[i].offset = (int64_t)i;
        in_rec_ptrs[i] = &in_recs[i];
    }
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = in_rows;
    b.ncolumns = NCOLS;
    b.nrows = n;
    b.recs = in_rec_ptrs;
    b.sp = &plan->sources[0];
    b.watermark = watermark;
    b.proc_watermark = b.proc_time = SLUICE_TS_MIN;
    return b;
}

/* post row of k: [0] window_start [1] window_end [2] rank [3] k [4] COUNT(*) [5] SUM(v) */
static void assert_post(size_t n, int64_t start_ms, int64_t end_ms, const char *k, int64_t count, int64_t sum,
                        sluice_row_kind kind) {
    assert_true(n < got.nrows);
    assert_int_equal(got.v[n][0].u.i, start_ms);
    assert_int_equal(got.v[n][1].u.i, end_ms);
    assert_int_equal(got.v[n][2].type, SLUICE_TYPE_NULL);
    assert_string_equal(got.s[n][3], k);
    assert_int_equal(got.v[n][4].u.i, count);
    assert_int_equal(got.v[n][5].u.i, sum);
    assert_int_equal(got.kind[n], kind);
}

static void test_row_kind_names_are_flinks(void **state) {
    (void)state;
    assert_string_equal(sluice_row_kind_name(SLUICE_ROW_INSERT), "+I");
    assert_string_equal(sluice_row_kind_name(SLUICE_ROW_UPDATE_BEFORE), "-U");
    assert_string_equal(sluice_row_kind_name(SLUICE_ROW_UPDATE_AFTER), "+U");
    assert_string_equal(sluice_row_kind_name(SLUICE_ROW_DELETE), "-D");
    assert_string_equal(sluice_row_kind_name((sluice_row_kind)7), "?");
}

static void test_window_agg_pushes_a_window_as_inserts_when_the_watermark_closes_it(void **state) {
    (void)state;
    const sluice_query_plan *q = build("CREATE SINK out AS SELECT window_start, k, COUNT(*) AS n, SUM(v) AS s FROM ev "
                                       "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k EMIT APPEND;");
    sluice_op *op = sluice_op_window_agg_new(q, &ctx, &capture);
    assert_non_null(op);
    assert_int_equal(op->ops->open(op), SLUICE_OK);
    /* a@00:01 v1, b@00:05 v2, a@00:12 v3, a@00:03 v4: windows [0,10) {a: 2 rows, 5; b: 1, 2}, [10,20) {a: 1, 3} */
    const int64_t ts[] = {1, 5, 12, 3};
    const char *const k[] = {"a", "b", "a", "a"};
    const int64_t v[] = {1, 2, 3, 4};
    sluice_op_batch b = batch_of(ts, k, v, 4, SLUICE_TS_MIN);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(got.nrows, 0); /* nothing before a watermark */
    assert_int_equal(op->ops->state_rows(op), 3);
    /* watermark 00:09:59: no window ends at or before it */
    assert_int_equal(op->ops->on_watermark(op, 10 * MIN_MS - 1000, 1), 0);
    assert_int_equal(got.nrows, 0);
    /* watermark 00:10: [0,10) is final, its groups in the order they came, then freed */
    assert_int_equal(op->ops->on_watermark(op, 10 * MIN_MS, 1), 0);
    assert_int_equal(got.nrows, 2);
    assert_int_equal(got.batches, 1); /* one batch, not a call per row */
    assert_post(0, 0, 10 * MIN_MS, "a", 2, 5, SLUICE_ROW_INSERT);
    assert_post(1, 0, 10 * MIN_MS, "b", 1, 2, SLUICE_ROW_INSERT);
    assert_int_equal(op->ops->state_rows(op), 1);
    /* a row of the closed window is late: counted, not added */
    const int64_t ts2[] = {9};
    const int64_t v2[] = {100};
    b = batch_of(ts2, k, v2, 1, 10 * MIN_MS);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->late_rows, 1);
    assert_int_equal(stats.late_rows, 1);
    assert_int_equal(op->ops->on_watermark(op, SLUICE_TS_MAX, 1), 0);
    assert_int_equal(got.nrows, 3);
    assert_post(2, 10 * MIN_MS, 20 * MIN_MS, "a", 1, 3, SLUICE_ROW_INSERT);
    assert_int_equal(op->ops->state_rows(op), 0);
    sluice_op_close(op);
}

static void test_window_agg_update_pushes_a_group_first_as_insert_then_as_update_before_and_after(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build("CREATE SINK out AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM ev GROUP BY k EMIT UPDATE;");
    sluice_op *op = sluice_op_window_agg_new(q, &ctx, &capture);
    assert_non_null(op);
    assert_int_equal(op->ops->open(op), SLUICE_OK);
    const int64_t ts[] = {1, 2, 3};
    const char *const k[] = {"a", "a", "b"};
    const int64_t v[] = {1, 2, 5};
    sluice_op_batch b = batch_of(ts, k, v, 3, SLUICE_TS_MIN);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->ops->on_watermark(op, 3 * MIN_MS, 1), 0);
    /* without a window: bounds [0, +inf) */
    assert_int_equal(got.nrows, 2);
    assert_post(0, 0, SLUICE_TS_MAX, "a", 2, 3, SLUICE_ROW_INSERT);
    assert_post(1, 0, SLUICE_TS_MAX, "b", 1, 5, SLUICE_ROW_INSERT);
    /* a again: only a changed, and it was pushed before: its previous row
     * (2, 3) as update-before, then the new one (3, 13) as update-after */
    const int64_t ts2[] = {4};
    const int64_t v2[] = {10};
    b = batch_of(ts2, k, v2, 1, 3 * MIN_MS);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->ops->on_watermark(op, 4 * MIN_MS, 1), 0);
    assert_int_equal(got.nrows, 4);
    assert_post(2, 0, SLUICE_TS_MAX, "a", 2, 3, SLUICE_ROW_UPDATE_BEFORE);
    assert_post(3, 0, SLUICE_TS_MAX, "a", 3, 13, SLUICE_ROW_UPDATE_AFTER);
    sluice_op_close(op);
}

/* Top-N under UPDATE: a rank pushed before comes again as update-after, a
 * new rank as insert. */
static void test_topn_update_pushes_new_ranks_as_inserts_and_known_ranks_as_update_after(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build("CREATE SINK out AS SELECT window_start, rank, k, COUNT(*) AS n, SUM(v) AS s FROM ev "
              "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k ORDER BY COUNT(*) DESC LIMIT 2 EMIT UPDATE;");
    sluice_op *op = sluice_op_window_agg_new(q, &ctx, &capture);
    assert_int_equal(op->ops->open(op), SLUICE_OK);
    const int64_t ts[] = {1, 2};
    const char *const k[] = {"a", "b", "b"};
    const int64_t v[] = {1, 2, 3};
    /* a@00:01: ranking (a) */
    sluice_op_batch b = batch_of(ts, k, v, 1, SLUICE_TS_MIN);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->ops->on_watermark(op, 1 * MIN_MS, 1), 0);
    assert_int_equal(got.nrows, 1);
    assert_int_equal(got.v[0][2].u.i, 1);
    assert_string_equal(got.s[0][3], "a");
    assert_int_equal(got.kind[0], SLUICE_ROW_INSERT);
    /* b@00:02 twice: ranking (b 2, a 1): rank 1 was pushed before, rank 2 is new */
    const int64_t ts2[] = {2, 2};
    b = batch_of(ts2, k + 1, v + 1, 2, 1 * MIN_MS);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->ops->on_watermark(op, 2 * MIN_MS, 1), 0);
    assert_int_equal(got.nrows, 3);
    assert_int_equal(got.v[1][2].u.i, 1);
    assert_string_equal(got.s[1][3], "b");
    assert_int_equal(got.v[1][4].u.i, 2);
    assert_int_equal(got.kind[1], SLUICE_ROW_UPDATE_AFTER);
    assert_int_equal(got.v[2][2].u.i, 2);
    assert_string_equal(got.s[2][3], "a");
    assert_int_equal(got.kind[2], SLUICE_ROW_INSERT);
    sluice_op_close(op);
}

/* A session is pushed once, as an insert, when the watermark reaches its
 * last row + gap. */
static void test_session_pushes_a_closed_session_as_insert(void **state) {
    (void)state;
    const sluice_query_plan *q =
        build("CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n, SUM(v) AS s FROM ev "
              "GROUP BY SESSION(ts, INTERVAL '5' MINUTE), k EMIT APPEND;");
    sluice_op *op = sluice_op_session_new(q, &ctx, &capture);
    assert_int_equal(op->ops->open(op), SLUICE_OK);
    /* a@00:01, a@00:04 (one session [00:01, 00:09)), a@00:20 (another) */
    const int64_t ts[] = {1, 4, 20};
    const char *const k[] = {"a", "a", "a"};
    const int64_t v[] = {1, 2, 4};
    sluice_op_batch b = batch_of(ts, k, v, 3, SLUICE_TS_MIN);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    assert_int_equal(op->ops->state_rows(op), 2);
    assert_int_equal(op->ops->on_watermark(op, 9 * MIN_MS - 1, 1), 0);
    assert_int_equal(got.nrows, 0);
    assert_int_equal(op->ops->on_watermark(op, 9 * MIN_MS, 1), 0);
    assert_int_equal(got.nrows, 1);
    assert_post(0, 1 * MIN_MS, 9 * MIN_MS, "a", 2, 3, SLUICE_ROW_INSERT);
    assert_int_equal(op->ops->state_rows(op), 1);
    sluice_op_close(op);
}

static void test_calc_pushes_the_rows_where_holds_as_a_selection(void **state) {
    (void)state;
    const sluice_query_plan *q = build("CREATE SINK out AS SELECT k, v FROM ev WHERE v > 1;");
    sluice_op *op = sluice_op_calc_new(plan, q, &ctx, &capture);
    assert_non_null(op);
    const int64_t ts[] = {1, 2, 3, 4};
    const char *const k[] = {"a", "b", "c", "d"};
    const int64_t v[] = {1, 2, 0, 7};
    sluice_op_batch b = batch_of(ts, k, v, 4, SLUICE_TS_MIN);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    /* rows 1 (b, 2) and 3 (d, 7), the same rows, not copies */
    assert_int_equal(got.batches, 1);
    assert_int_equal(got.nrows, 2);
    assert_int_equal(got.index[0], 1);
    assert_int_equal(got.index[1], 3);
    assert_string_equal(got.s[1][1], "d");
    sluice_op_close(op);
}

/* Snapshot pieces of a window aggregate: the header (late rows, kind,
 * window count), then one piece per window; restored into a fresh
 * operator, it writes the same bytes. */
static void test_window_agg_snapshot_iterator_writes_one_piece_per_window_and_restores(void **state) {
    (void)state;
    const sluice_query_plan *q = build("CREATE SINK out AS SELECT window_start, k, COUNT(*) AS n, SUM(v) AS s FROM ev "
                                       "GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k EMIT APPEND;");
    sluice_op *op = sluice_op_window_agg_new(q, &ctx, &capture);
    assert_int_equal(op->ops->open(op), SLUICE_OK);
    const int64_t ts[] = {1, 5, 12, 25};
    const char *const k[] = {"a", "b", "a", "c"};
    const int64_t v[] = {1, 2, 3, 4};
    sluice_op_batch b = batch_of(ts, k, v, 4, SLUICE_TS_MIN);
    assert_int_equal(op->ops->process(op, &b), SLUICE_OK);
    sluice_enc e = {0};
    op->ops->snapshot_begin(op);
    size_t pieces = 0;
    while (op->ops->snapshot_next(op, &e)) pieces++;
    op->ops->snapshot_end(op);
    assert_false(e.oom);
    assert_int_equal(pieces, 1 + 3); /* header + windows [0,10) [10,20) [20,30) */
    /* header: i64 late_rows 0, u8 0 (windows), u32 3; then the first window's i64 start 0 */
    static const unsigned char head[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_true(e.len > sizeof head);
    assert_memory_equal(e.data, head, sizeof head);

    sluice_op *op2 = sluice_op_window_agg_new(q, &ctx, &capture);
    assert_int_equal(op2->ops->open(op2), SLUICE_OK);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(op2->ops->restore(op2, &d, SLUICE_SNAPSHOT_VERSION), 0);
    assert_int_equal(d.pos, e.len);
    assert_int_equal(op2->ops->state_rows(op2), 4);
    sluice_enc e2 = {0};
    op2->ops->snapshot_begin(op2);
    while (op2->ops->snapshot_next(op2, &e2)) {
    }
    op2->ops->snapshot_end(op2);
    assert_int_equal(e2.len, e.len);
    assert_memory_equal(e2.data, e.data, e.len);
    /* a truncated snapshot is refused as malformed, the state left empty */
    op2->ops->clear(op2);
    sluice_dec_init(&d, e.data, e.len - 1);
    assert_int_equal(op2->ops->restore(op2, &d, SLUICE_SNAPSHOT_VERSION), -1);
    assert_true(d.bad);
    op2->ops->clear(op2);
    assert_int_equal(op2->ops->state_rows(op2), 0);
    free(e.data);
    free(e2.data);
    sluice_op_close(op);
    sluice_op_close(op2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_kind_names_are_flinks),
        cmocka_unit_test_setup_teardown(test_window_agg_pushes_a_window_as_inserts_when_the_watermark_closes_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_window_agg_update_pushes_a_group_first_as_insert_then_as_update_before_and_after,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_topn_update_pushes_new_ranks_as_inserts_and_known_ranks_as_update_after,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_pushes_a_closed_session_as_insert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calc_pushes_the_rows_where_holds_as_a_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_agg_snapshot_iterator_writes_one_piece_per_window_and_restores,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
