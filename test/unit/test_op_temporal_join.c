/*
 * The event-time temporal join operator (src/exec/op_temporal_join.c)
 * driven directly with hand-built plans (plan/rel.h): orders (id BIGINT,
 * cur VARCHAR, t TIMESTAMP) joined with the versioned table of rates
 * (cur VARCHAR, rate BIGINT, t TIMESTAMP) FOR SYSTEM_TIME AS OF o.t ON
 * o.cur = r.cur — Flink's currency-rates example.  What it pushes
 * downstream is captured as text ("+I[1,EUR,2000,EUR,114,1000]"; "-" is
 * NULL) and compared with the rows worked out by hand in the comments.  A
 * seeded random check compares the output with a naive "version valid at
 * t" computed over the whole input.
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

static char *got;
static size_t got_len, got_cap;
static int64_t got_watermark;

static void append(const char *s) {
    size_t n = strlen(s);
    if (got_len + n + 2 > got_cap) {
        got_cap = (got_len + n + 2) * 2;
        got = realloc(got, got_cap);
        assert_non_null(got);
    }
    if (got_len) got[got_len++] = ' ';
    memcpy(got + got_len, s, n + 1);
    got_len += n;
}

static sluice_err_t capture_process(sluice_op *op, const sluice_op_batch *in) {
    (void)op;
    got_watermark = in->watermark;
    assert_null(in->recs);
    for (size_t i = 0; i < in->nrows; i++) {
        size_t r = sluice_op_batch_row_index(in, i);
        sluice_row_kind k = in->kinds ? in->kinds[r] : SLUICE_ROW_INSERT;
        assert_int_equal(k, SLUICE_ROW_INSERT); /* insert-only */
        const sluice_value *row = in->rows + r * in->ncolumns;
        char buf[256];
        size_t len = (size_t)snprintf(buf, sizeof buf, "+I[");
        for (size_t c = 0; c < in->ncolumns; c++) {
            const sluice_value *v = &row[c];
            const char *sep = c ? "," : "";
            if (v->type == SLUICE_TYPE_NULL)
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%s-", sep);
            else if (v->type == SLUICE_TYPE_VARCHAR)
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.*s", sep, (int)v->len, v->u.s);
            else
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", sep, (long long)v->u.i);
        }
        snprintf(buf + len, sizeof buf - len, "]");
        append(buf);
    }
    return SLUICE_OK;
}

static void capture_close(sluice_op *op) {
    (void)op;
}

static const sluice_op_ops capture_ops = {.name = "capture", .process = capture_process, .close = capture_close};
static sluice_op capture = {.ops = &capture_ops};

static const char *output(void) {
    return got_len ? got : "";
}

static void forget(void) {
    got_len = 0;
    if (got) got[0] = 0;
}

/* Check the captured rows, then forget them. */
#define EXPECT(text)                            \
    do {                                        \
        assert_string_equal(output(), (text));  \
        forget();                               \
    } while (0)

/* ---- the plan ---- */

static const sluice_type_t order_types[3] = {SLUICE_TYPE_BIGINT, SLUICE_TYPE_VARCHAR, SLUICE_TYPE_TIMESTAMP};
static const sluice_type_t rate_types[3] = {SLUICE_TYPE_VARCHAR, SLUICE_TYPE_BIGINT, SLUICE_TYPE_TIMESTAMP};

static sluice_expr key_l = {.kind = SLUICE_EXPR_COLUMN, .type = SLUICE_TYPE_VARCHAR, .column = 1};
static sluice_expr key_r = {.kind = SLUICE_EXPR_COLUMN, .type = SLUICE_TYPE_VARCHAR, .column = 0};
static sluice_expr *lkeys[1] = {&key_l};
static sluice_expr *rkeys[1] = {&key_r};

/* residual: r.rate > 115 (column 4 of the joined row) */
static sluice_expr res_rate = {.kind = SLUICE_EXPR_COLUMN, .type = SLUICE_TYPE_BIGINT, .column = 4};
static sluice_expr res_115 = {.kind = SLUICE_EXPR_CONST, .type = SLUICE_TYPE_BIGINT};
static sluice_expr *res_args[2] = {&res_rate, &res_115};
static sluice_expr residual_gt = {
    .kind = SLUICE_EXPR_CMP, .type = SLUICE_TYPE_BOOLEAN, .op = SLUICE_OP_GT, .args = res_args, .nargs = 2};

static sluice_temporal_join_plan plan_of(int left_outer, int with_residual) {
    sluice_temporal_join_plan tp;
    memset(&tp, 0, sizeof tp);
    tp.name = "q.temporal";
    tp.left_outer = left_outer;
    tp.left_width = tp.right_width = 3;
    tp.left_types = order_types;
    tp.right_types = rate_types;
    tp.nkeys = 1;
    tp.left_keys = lkeys;
    tp.right_keys = rkeys;
    tp.left_time = tp.right_time = 2;
    res_115.constant = sluice_value_bigint(115);
    tp.residual = with_residual ? &residual_gt : NULL;
    return tp;
}

static sluice_op *tj_new(const sluice_temporal_join_plan *tp) {
    sluice_op *j = sluice_op_temporal_join_new(tp, &ctx, &capture);
    assert_non_null(j);
    return j;
}

/* ---- input ---- */

/* Push the rows of spec, one batch, into side (0 orders, 1 rates):
 * "+I 1 EUR 2000, -D EUR 114 4000" — kind, then the side's three values
 * ("-" = NULL). */
static void push(sluice_op *j, int side, const char *spec) {
    enum { MAX = 64 };
    static sluice_value rows[MAX * 3];
    static sluice_row_kind kinds[MAX];
    static char texts[MAX][16];
    const sluice_type_t *types = side ? rate_types : order_types;
    size_t n = 0;
    const char *p = spec;
    while (*p && n < MAX) {
        char kind[3], a[16], b[16], c[16];
        int used = 0;
        if (sscanf(p, " %2s %15s %15s %15[^,]%n", kind, a, b, c, &used) != 4) fail_msg("bad spec at %s", p);
        p += used;
        if (*p == ',') p++;
        kinds[n] = !strcmp(kind, "+I")   ? SLUICE_ROW_INSERT
                   : !strcmp(kind, "-U") ? SLUICE_ROW_UPDATE_BEFORE
                   : !strcmp(kind, "+U") ? SLUICE_ROW_UPDATE_AFTER
                                         : SLUICE_ROW_DELETE;
        const char *vals[3] = {a, b, c};
        for (size_t col = 0; col < 3; col++) {
            sluice_value *v = &rows[n * 3 + col];
            if (!strcmp(vals[col], "-")) {
                *v = sluice_value_null();
            } else if (types[col] == SLUICE_TYPE_VARCHAR) {
                snprintf(texts[n], sizeof texts[n], "%s", vals[col]);
                *v = sluice_value_varchar(texts[n], strlen(texts[n]));
            } else if (types[col] == SLUICE_TYPE_TIMESTAMP) {
                *v = sluice_value_timestamp(atoll(vals[col]));
            } else {
                *v = sluice_value_bigint(atoll(vals[col]));
            }
        }
        n++;
    }
    sluice_op_batch bt;
    memset(&bt, 0, sizeof bt);
    bt.rows = rows;
    bt.ncolumns = 3;
    bt.nrows = n;
    bt.kinds = kinds;
    bt.watermark = SLUICE_TS_MIN;
    bt.proc_watermark = SLUICE_TS_MIN;
    bt.proc_time = 1000;
    sluice_op *in = sluice_op_temporal_join_input(j, side);
    assert_non_null(in);
    assert_int_equal(in->ops->process(in, &bt), SLUICE_OK);
    /* the strings were the batch's: scribble over them, the state must have copied */
    for (size_t i = 0; i < n; i++) memset(texts[i], '#', sizeof texts[i] - 1);
}

static void watermark(sluice_op *j, int64_t wm) {
    assert_int_equal(j->ops->on_watermark(j, wm, 1), 0);
}

static int setup(void **state) {
    (void)state;
    memset(&stats, 0, sizeof stats);
    memset(&ctx, 0, sizeof ctx);
    ctx.batch_arena = sluice_arena_new(0);
    ctx.stats = &stats;
    forget();
    return ctx.batch_arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_arena_destroy(ctx.batch_arena);
    free(got);
    got = NULL;
    got_len = got_cap = 0;
    return 0;
}

/* ---- the examples ---- */

/* Flink's currency rates: each order takes the rate valid at its time,
 * whether the rate arrived before or after the order; rows leave in time
 * order once the watermark reaches them. */
static void test_currency_rates_take_the_rate_valid_at_the_order_time(void **state) {
    (void)state;
    sluice_temporal_join_plan tp = plan_of(0, 0);
    sluice_op *j = tj_new(&tp);
    push(j, 1, "+I EUR 114 1000, +I USD 102 1000");
    /* out of order: order 2 (6000) before order 3 (3000) */
    push(j, 0, "+I 1 EUR 2000, +I 2 EUR 6000, +I 3 USD 3000");
    EXPECT("");
    watermark(j, 1500);
    EXPECT(""); /* no order at or below 1500 */
    assert_int_equal(j->ops->state_rows(j), 5); /* 3 orders + 2 versions */
    /* the EUR rate changes at 5000, after order 2 (6000) arrived */
    push(j, 1, "+U EUR 116 5000");
    assert_int_equal(j->ops->state_rows(j), 6);
    watermark(j, 6000);
    EXPECT("+I[1,EUR,2000,EUR,114,1000] +I[3,USD,3000,USD,102,1000] +I[2,EUR,6000,EUR,116,5000]");
    assert_int_equal(got_watermark, 1500); /* the watermark as the micro-batch began */
    /* EUR 114 (1000) is older than EUR 116 (5000), the newest at or below
     * 6000: dropped; USD keeps its only version */
    assert_int_equal(j->ops->state_rows(j), 2);
    /* versions out of order within the watermark delay: 119 at 10000
     * arrives before 118 at 9000 */
    push(j, 0, "+I 4 EUR 11000, +I 5 EUR 9500, +I 6 EUR 8000");
    push(j, 1, "+U EUR 119 10000, +U EUR 118 9000");
    watermark(j, 12000);
    EXPECT("+I[6,EUR,8000,EUR,116,5000] +I[5,EUR,9500,EUR,118,9000] +I[4,EUR,11000,EUR,119,10000]");
    assert_int_equal(j->ops->state_rows(j), 2); /* EUR 119 (10000), USD 102 */
    assert_true(j->ops->state_bytes(j) > 0);
    sluice_op_close(j);
}

/* A delete ends the key's version from its time until a new insert; a key
 * deleted for good leaves the state once the watermark passes the delete. */
static void test_a_deleted_key_has_no_version_until_inserted_again(void **state) {
    (void)state;
    for (int outer = 0; outer <= 1; outer++) {
        sluice_temporal_join_plan tp = plan_of(outer, 0);
        sluice_op *j = tj_new(&tp);
        push(j, 1, "+I EUR 114 1000, -D EUR 114 4000, +I EUR 120 8000, +I USD 102 1000, -D USD 102 3000");
        push(j, 0, "+I 1 EUR 2000, +I 2 EUR 5000, +I 3 EUR 9000, +I 4 USD 3500, +I 5 USD 2999");
        assert_int_equal(j->ops->state_rows(j), 10);
        watermark(j, 10000);
        if (outer)
            EXPECT("+I[1,EUR,2000,EUR,114,1000] +I[5,USD,2999,USD,102,1000] +I[4,USD,3500,-,-,-] "
                   "+I[2,EUR,5000,-,-,-] +I[3,EUR,9000,EUR,120,8000]");
        else
            EXPECT("+I[1,EUR,2000,EUR,114,1000] +I[5,USD,2999,USD,102,1000] +I[3,EUR,9000,EUR,120,8000]");
        /* EUR keeps 120 (8000); USD's end (3000) and all before it go */
        assert_int_equal(j->ops->state_rows(j), 1);
        push(j, 0, "+I 6 USD 11000");
        watermark(j, 12000);
        EXPECT(outer ? "+I[6,USD,11000,-,-,-]" : "");
        sluice_op_close(j);
    }
}

/* INNER drops an order without a version (unknown key, NULL key, NULL
 * time, a time before the first version); LEFT pads it with NULLs.  A
 * NULL time cannot wait for a watermark: it is decided at once. */
static void test_inner_drops_and_left_pads_orders_without_a_version(void **state) {
    (void)state;
    for (int outer = 0; outer <= 1; outer++) {
        sluice_temporal_join_plan tp = plan_of(outer, 0);
        sluice_op *j = tj_new(&tp);
        push(j, 1, "+I EUR 114 1000, +I - 1 1000, +I GBP 90 -");
        assert_int_equal(j->ops->state_rows(j), 1); /* NULL key and NULL time are no versions */
        assert_int_equal(j->late_rows, 1);          /* the version without a time */
        push(j, 0, "+I 1 EUR 500, +I 2 CHF 2000, +I 3 - 2000, +I 4 EUR -, +I 5 EUR 2000, +I 6 GBP 2000");
        EXPECT(outer ? "+I[4,EUR,-,-,-,-]" : "");
        watermark(j, 3000);
        if (outer)
            EXPECT("+I[1,EUR,500,-,-,-] +I[2,CHF,2000,-,-,-] +I[3,-,2000,-,-,-] +I[5,EUR,2000,EUR,114,1000] "
                   "+I[6,GBP,2000,-,-,-]");
        else
            EXPECT("+I[5,EUR,2000,EUR,114,1000]");
        sluice_op_close(j);
    }
}

/* The residual is checked against the version valid at the order's time
 * only: when it fails, no older version is tried instead. */
static void test_residual_is_checked_on_the_valid_version_only(void **state) {
    (void)state;
    for (int outer = 0; outer <= 1; outer++) {
        sluice_temporal_join_plan tp = plan_of(outer, 1); /* rate > 115 */
        sluice_op *j = tj_new(&tp);
        push(j, 1, "+I EUR 120 1000, +U EUR 110 3000, +U EUR 130 5000");
        push(j, 0, "+I 1 EUR 2000, +I 2 EUR 4000, +I 3 EUR 6000");
        watermark(j, 7000);
        if (outer)
            EXPECT("+I[1,EUR,2000,EUR,120,1000] +I[2,EUR,4000,-,-,-] +I[3,EUR,6000,EUR,130,5000]");
        else
            EXPECT("+I[1,EUR,2000,EUR,120,1000] +I[3,EUR,6000,EUR,130,5000]");
        sluice_op_close(j);
    }
}

/* An order at or below the watermark when it arrives is joined at once
 * with the versions still held: those the cleanup dropped are gone. */
static void test_late_orders_join_at_once_with_what_is_held(void **state) {
    (void)state;
    sluice_temporal_join_plan tp = plan_of(1, 0);
    sluice_op *j = tj_new(&tp);
    push(j, 1, "+I EUR 114 1000, +U EUR 116 4000, +U EUR 118 9000");
    watermark(j, 5000);
    EXPECT("");
    assert_int_equal(j->ops->state_rows(j), 2); /* 114 dropped: 116 (4000) is the newest at or below 5000 */
    push(j, 0, "+I 1 EUR 2000, +I 2 EUR 4500, +I 3 EUR 5000, +I 4 EUR 5001");
    /* 1 would have met 114, no longer held: padded; 2 and 3 meet 116; 4
     * waits for the watermark */
    EXPECT("+I[1,EUR,2000,-,-,-] +I[2,EUR,4500,EUR,116,4000] +I[3,EUR,5000,EUR,116,4000]");
    assert_int_equal(j->ops->state_rows(j), 3);
    watermark(j, 5000); /* not an advance */
    EXPECT("");
    watermark(j, 10000);
    EXPECT("+I[4,EUR,5001,EUR,116,4000]");
    sluice_op_close(j);
}

/* Two versions at the same time: the later arrival replaces the first (a
 * map keyed by time, as Flink); an update-before changes nothing. */
static void test_same_time_version_is_replaced_and_update_before_ignored(void **state) {
    (void)state;
    sluice_temporal_join_plan tp = plan_of(0, 0);
    sluice_op *j = tj_new(&tp);
    push(j, 1, "+I EUR 114 1000, -U EUR 114 1000, +U EUR 115 1000, -U EUR 115 2000");
    assert_int_equal(j->ops->state_rows(j), 1);
    push(j, 0, "+I 1 EUR 1000, +I 2 EUR 2500, +I 3 EUR 2500");
    watermark(j, 3000);
    EXPECT("+I[1,EUR,1000,EUR,115,1000] +I[2,EUR,2500,EUR,115,1000] +I[3,EUR,2500,EUR,115,1000]");
    sluice_op_close(j);
}

/* The left input is append-only: a retraction there is an error, not a
 * silently dropped row. */
static void test_a_retraction_on_the_left_is_refused(void **state) {
    (void)state;
    sluice_temporal_join_plan tp = plan_of(0, 0);
    sluice_op *j = tj_new(&tp);
    sluice_value row[3] = {sluice_value_bigint(1), sluice_value_varchar("EUR", 3), sluice_value_timestamp(5)};
    sluice_row_kind kind = SLUICE_ROW_DELETE;
    sluice_op_batch b;
    memset(&b, 0, sizeof b);
    b.rows = row;
    b.ncolumns = 3;
    b.nrows = 1;
    b.kinds = &kind;
    sluice_op *in = sluice_op_temporal_join_input(j, 0);
    assert_int_equal(in->ops->process(in, &b), SLUICE_ERR_INVALID);
    assert_non_null(strstr(ctx.err, "append-only"));
    /* too few columns */
    b.ncolumns = 2;
    b.kinds = NULL;
    assert_int_equal(in->ops->process(in, &b), SLUICE_ERR_INVALID);
    /* the join itself takes no batch; other operators are not its inputs */
    assert_int_equal(j->ops->process(j, &b), SLUICE_ERR_INVALID);
    assert_null(sluice_op_temporal_join_input(j, 2));
    assert_null(sluice_op_temporal_join_input(&capture, 0));
    sluice_op_close(j);
}

/* One watermark releasing more rows than one output batch holds: every
 * row arrives intact (the queue goes downstream before the rows it points
 * into are freed), in time order. */
static void test_more_rows_than_one_output_batch(void **state) {
    (void)state;
    enum { N = 2500 };
    sluice_temporal_join_plan tp = plan_of(1, 0);
    sluice_op *j = tj_new(&tp);
    push(j, 1, "+I EUR 114 0");
    for (int i = N - 1; i >= 0; i -= 50) {
        char spec[50 * 32] = "";
        size_t len = 0;
        for (int k = 0; k < 50; k++)
            len += (size_t)snprintf(spec + len, sizeof spec - len, "%s+I %d %s %d", k ? ", " : "", i - k,
                                    (i - k) % 2 ? "EUR" : "USD", 10 + i - k);
        push(j, 0, spec);
    }
    assert_int_equal(j->ops->state_rows(j), N + 1);
    watermark(j, 100000);
    char *want = NULL;
    size_t cap = 0, len = 0;
    for (int i = 0; i < N; i++) {
        char row[64];
        int n = i % 2 ? snprintf(row, sizeof row, "%s+I[%d,EUR,%d,EUR,114,0]", i ? " " : "", i, 10 + i)
                      : snprintf(row, sizeof row, "%s+I[%d,USD,%d,-,-,-]", i ? " " : "", i, 10 + i);
        if (len + (size_t)n + 1 > cap) {
            cap = (len + (size_t)n + 1) * 2;
            want = realloc(want, cap);
            assert_non_null(want);
        }
        memcpy(want + len, row, (size_t)n + 1);
        len += (size_t)n;
    }
    assert_string_equal(output(), want);
    free(want);
    assert_int_equal(j->ops->state_rows(j), 1);
    sluice_op_close(j);
}

/* ---- snapshot ---- */

static void snapshot(sluice_op *j, sluice_enc *e) {
    memset(e, 0, sizeof *e);
    j->ops->snapshot_begin(j);
    while (j->ops->snapshot_next(j, e)) {
    }
    j->ops->snapshot_end(j);
    assert_false(e->oom);
}

/* Replace j by a new operator restored from a snapshot of j. */
static sluice_op *round_trip(sluice_op *j, const sluice_temporal_join_plan *tp) {
    sluice_enc e;
    snapshot(j, &e);
    size_t rows = j->ops->state_rows(j), bytes = j->ops->state_bytes(j);
    uint64_t late = j->late_rows;
    sluice_op_close(j);
    j = tj_new(tp);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(j->ops->restore(j, &d, SLUICE_SNAPSHOT_VERSION), 0);
    assert_int_equal(d.pos, e.len);
    assert_int_equal(j->ops->state_rows(j), rows);
    assert_true(j->ops->state_bytes(j) <= bytes); /* tables are sized for what is held, not what was */
    assert_int_equal(j->late_rows, late);
    /* the same snapshot again */
    sluice_enc e2;
    snapshot(j, &e2);
    assert_int_equal(e2.len, e.len);
    assert_memory_equal(e2.data, e.data, e.len);
    free(e2.data);
    free(e.data);
    return j;
}

static const char *const snap_before[][2] = {
    {"+I EUR 114 1000, +I USD 102 1000, +I GBP - 1000", "+I 1 EUR 2000, +I 2 USD 6000, +I 3 EUR 3000"},
    {"+U EUR 116 5000, -D USD 102 5500, +I CHF 95 7000", "+I 4 EUR 8000, +I 5 CHF 7500, +I 6 EUR 8000"},
};
static const int64_t snap_before_wm[2] = {2500, 4500};
static const char *const snap_after[][2] = {
    {"+U EUR 117 7000, +I USD 103 8000", "+I 7 USD 9000, +I 8 EUR 3000, +I 9 GBP 9500"},
    {"-D EUR 117 9000", "+I 10 EUR 10000"},
};
static const int64_t snap_after_wm[2] = {8000, 20000};

static void run(sluice_op *j, const char *const spec[][2], const int64_t *wms) {
    for (size_t i = 0; i < 2; i++) {
        push(j, 1, spec[i][0]);
        push(j, 0, spec[i][1]);
        watermark(j, wms[i]);
    }
}

/* A snapshot taken with orders waiting, several versions and an end held
 * restores to an operator that goes on exactly as the original. */
static void test_snapshot_restore_continues_as_without_interruption(void **state) {
    (void)state;
    for (int outer = 0; outer <= 1; outer++) {
        sluice_temporal_join_plan tp = plan_of(outer, 0);
        sluice_op *j = tj_new(&tp);
        run(j, snap_before, snap_before_wm);
        forget();
        run(j, snap_after, snap_after_wm);
        char *want = strdup(output());
        assert_non_null(want);
        assert_true(strlen(want) > 0);
        sluice_op_close(j);

        forget();
        j = tj_new(&tp);
        run(j, snap_before, snap_before_wm);
        /* waiting: orders 2, 4, 5, 6; versions: EUR 114, 116; USD 102, its
         * end; GBP; CHF 95 */
        assert_int_equal(j->ops->state_rows(j), 10);
        j = round_trip(j, &tp);
        forget();
        run(j, snap_after, snap_after_wm);
        assert_string_equal(output(), want);
        free(want);
        sluice_op_close(j);
    }
}

/* Every truncation and many corruptions of a snapshot: restore refuses
 * (d.bad, no state) or accepts, never crashes; the operator goes on. */
static void test_restore_of_damaged_bytes_is_refused_without_crash(void **state) {
    (void)state;
    sluice_temporal_join_plan tp = plan_of(1, 1);
    sluice_op *j = tj_new(&tp);
    run(j, snap_before, snap_before_wm);
    sluice_enc e;
    snapshot(j, &e);
    sluice_op_close(j);
    j = tj_new(&tp);
    for (size_t len = 0; len < e.len; len++) {
        sluice_dec d;
        sluice_dec_init(&d, e.data, len);
        assert_int_equal(j->ops->restore(j, &d, SLUICE_SNAPSHOT_VERSION), -1);
        assert_true(d.bad);
        assert_int_equal(j->ops->state_rows(j), 0);
    }
    unsigned char *buf = malloc(e.len);
    assert_non_null(buf);
    srand(11);
    size_t accepted = 0;
    for (int round = 0; round < 4000; round++) {
        memcpy(buf, e.data, e.len);
        int flips = 1 + rand() % 3;
        for (int f = 0; f < flips; f++) buf[(size_t)rand() % e.len] = (unsigned char)rand();
        sluice_dec d;
        sluice_dec_init(&d, buf, e.len);
        if (j->ops->restore(j, &d, SLUICE_SNAPSHOT_VERSION) != 0) {
            assert_true(d.bad);
            assert_int_equal(j->ops->state_rows(j), 0);
            continue;
        }
        accepted++;
        /* whatever was accepted, the operator keeps working */
        push(j, 1, "+U EUR 130 9000, -D CHF 95 9100");
        push(j, 0, "+I 11 EUR 9500, +I 12 CHF 9600, +I 13 EUR 100");
        watermark(j, (int64_t)1 << 50);
        forget();
    }
    assert_true(accepted > 0); /* e.g. a changed letter of a string */
    free(buf);
    sluice_op_close(j);
    free(e.data);
}

/* ---- the random check against a naive "version valid at t" ---- */

typedef struct rand_row {
    int side;
    int kind;     /* 0 insert/update-after, 1 delete, 2 update-before */
    int64_t id;   /* orders */
    int key;      /* -1 NULL */
    int64_t rate; /* rates */
    int64_t t;
} rand_row;

static const char *const keys[] = {"AAA", "BBB", "CCC", "DDD", "ZZZ"};

/* The expected output over the whole input: each order, in (time,
 * arrival) order, with the rate of the greatest time <= its time (ties:
 * the later arrival; update-before ignored), unless that is a delete or
 * fails the residual. */
static void naive(const rand_row *in, size_t n, int outer, int residual, char **out) {
    size_t *order = malloc(n * sizeof *order), no = 0;
    assert_non_null(order);
    for (size_t i = 0; i < n; i++)
        if (in[i].side == 0) order[no++] = i;
    /* insertion sort by (t, arrival): stable */
    for (size_t a = 1; a < no; a++)
        for (size_t b = a; b > 0 && in[order[b - 1]].t > in[order[b]].t; b--) {
            size_t tmp = order[b];
            order[b] = order[b - 1];
            order[b - 1] = tmp;
        }
    forget();
    for (size_t a = 0; a < no; a++) {
        const rand_row *o = &in[order[a]];
        const rand_row *best = NULL;
        if (o->key >= 0)
            for (size_t i = 0; i < n; i++) {
                const rand_row *r = &in[i];
                if (r->side != 1 || r->kind == 2 || r->key != o->key || r->t > o->t) continue;
                if (!best || r->t >= best->t) best = r;
            }
        if (best && (best->kind == 1 || (residual && best->rate <= 115))) best = NULL;
        if (!best && !outer) continue;
        char buf[128];
        if (best)
            snprintf(buf, sizeof buf, "+I[%lld,%s,%lld,%s,%lld,%lld]", (long long)o->id, keys[o->key],
                     (long long)o->t, keys[best->key], (long long)best->rate, (long long)best->t);
        else
            snprintf(buf, sizeof buf, "+I[%lld,%s,%lld,-,-,-]", (long long)o->id, o->key >= 0 ? keys[o->key] : "-",
                     (long long)o->t);
        append(buf);
    }
    *out = strdup(output());
    assert_non_null(*out);
    forget();
    free(order);
}

static void push_rand(sluice_op *j, const rand_row *r) {
    char spec[128];
    static const char *const kinds[] = {"+U", "-D", "-U"};
    if (r->side == 0)
        snprintf(spec, sizeof spec, "+I %lld %s %lld", (long long)r->id, r->key >= 0 ? keys[r->key] : "-",
                 (long long)r->t);
    else
        snprintf(spec, sizeof spec, "%s %s %lld %lld", kinds[r->kind], keys[r->key], (long long)r->rate,
                 (long long)r->t);
    push(j, r->side, spec);
}

static void test_random_inputs_match_the_naive_version_at_t(void **state) {
    (void)state;
    enum { N = 1500, DELAY = 50 };
    rand_row *in = malloc(N * sizeof *in);
    assert_non_null(in);
    for (unsigned seed = 1; seed <= 8; seed++) {
        int outer = seed & 1, residual = (seed >> 1) & 1;
        srand(seed);
        sluice_temporal_join_plan tp = plan_of(outer, residual);
        sluice_op *j = tj_new(&tp);
        int64_t now = 1000, wm = SLUICE_TS_MIN;
        size_t peak = 0;
        char *ops_out = NULL;
        forget();
        for (size_t i = 0; i < N; i++) {
            rand_row *r = &in[i];
            memset(r, 0, sizeof *r);
            r->side = rand() % 2;
            /* times after the watermark (nothing late), close enough to tie */
            r->t = now - DELAY + 1 + rand() % (2 * DELAY);
            if (r->side == 0) {
                r->id = (int64_t)i;
                r->key = rand() % 12 == 0 ? -1 : rand() % 5; /* ZZZ never has a version */
            } else {
                int k = rand() % 10;
                r->kind = k < 7 ? 0 : k < 9 ? 1 : 2;
                r->key = rand() % 4;
                r->rate = 100 + rand() % 30;
            }
            push_rand(j, r);
            if (rand() % 8 == 0) {
                now += rand() % 40;
                wm = now - DELAY;
                watermark(j, wm);
            }
            if (j->ops->state_rows(j) > peak) peak = j->ops->state_rows(j);
            if (i == N / 2) j = round_trip(j, &tp); /* the state goes through a snapshot */
        }
        watermark(j, INT64_MAX);
        ops_out = strdup(output());
        assert_non_null(ops_out);
        /* cleanup keeps the state to what the watermark delay holds */
        assert_true(j->ops->state_rows(j) <= 4);
        assert_true(peak < N / 4);
        char *want;
        naive(in, N, outer, residual, &want);
        assert_string_equal(ops_out, want);
        free(want);
        free(ops_out);
        sluice_op_close(j);
    }
    free(in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_currency_rates_take_the_rate_valid_at_the_order_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_deleted_key_has_no_version_until_inserted_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inner_drops_and_left_pads_orders_without_a_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_residual_is_checked_on_the_valid_version_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_orders_join_at_once_with_what_is_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_time_version_is_replaced_and_update_before_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_retraction_on_the_left_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_rows_than_one_output_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_restore_continues_as_without_interruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_of_damaged_bytes_is_refused_without_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_inputs_match_the_naive_version_at_t, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
