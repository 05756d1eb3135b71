/*
 * HOP and CUMULATE windows by slicing (exec/window_slices.h, docs/sql.md
 * "Windows"): each row lands in one slice, a window is the merge of its
 * slices when the watermark passes its end.  Expected rows are worked out
 * by hand in the comments; a seeded random input is also checked against
 * the per-window assignment (every window containing a row, unless it had
 * closed when the row's micro-batch began) computed here; snapshots
 * round-trip, and a snapshot of per-window HOP state written before slicing
 * still restores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/engine.h"
#include "format/format.h"
#include "sluice_test_engine.h"
#include "sql/parser.h"
#include "state/codec.h"

#define D "2001-01-01 "

/* ---- HOP -------------------------------------------------------------------------------- */

static const char hop_2_10[] = SLUICE_TEST_SOURCE
    "CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n, SUM(v) AS s\n"
    "  FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '10' MINUTE))\n"
    "  GROUP BY window_start, window_end, k;\n";

static void test_hop_of_five_slices_emits_windows_in_order_from_shared_slices(void **state) {
    (void)state;
    sluice_test_engine_open(hop_2_10, "out", NULL);
    /* 00:01 a in the windows ending 00:02 .. 00:10, 00:03 a in those ending
     * 00:04 .. 00:12, 00:07 b in those ending 00:08 .. 00:16 */
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:03:00", "a", 2);
    sluice_test_push_ev("00:07:00", "b", 5);
    sluice_test_step();
    /* watermark 00:07: the windows ending 00:02, 00:04, 00:06 */
    assert_string_equal(sluice_test_take_in_order("out"), "2000-12-31 23:52:00," D "00:02:00,a,1,1\n"
                                                         "2000-12-31 23:54:00," D "00:04:00,a,2,3\n"
                                                         "2000-12-31 23:56:00," D "00:06:00,a,2,3\n");
    /* one group per slice (00:00, 00:02, 00:06), not one per open window (8) */
    assert_int_equal(sluice_test_stats().state_rows, 3);
    sluice_test_push_ev("00:12:00", "a", 1);
    sluice_test_step();
    /* watermark 00:12: the windows ending 00:08, 00:10, 00:12, each the
     * merge of its slices, in the order of their ends */
    assert_string_equal(sluice_test_take_in_order("out"), "2000-12-31 23:58:00," D "00:08:00,a,2,3\n"
                                                         "2000-12-31 23:58:00," D "00:08:00,b,1,5\n"
                                                         D "00:00:00," D "00:10:00,a,2,3\n"
                                                         D "00:00:00," D "00:10:00,b,1,5\n"
                                                         D "00:02:00," D "00:12:00,a,1,2\n"
                                                         D "00:02:00," D "00:12:00,b,1,5\n");
    /* the slices 00:00 and 00:02 are needed by no open window: freed */
    assert_int_equal(sluice_test_stats().state_rows, 2);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), D "00:04:00," D "00:14:00,b,1,5\n"
                                                         D "00:04:00," D "00:14:00,a,1,1\n"
                                                         D "00:06:00," D "00:16:00,b,1,5\n"
                                                         D "00:06:00," D "00:16:00,a,1,1\n"
                                                         D "00:08:00," D "00:18:00,a,1,1\n"
                                                         D "00:10:00," D "00:20:00,a,1,1\n"
                                                         D "00:12:00," D "00:22:00,a,1,1\n");
    assert_int_equal(sluice_test_stats().late_rows, 0);
}

static void test_hop_out_of_order_and_late_rows_count_in_their_open_windows_only(void **state) {
    (void)state;
    sluice_test_engine_open(hop_2_10, "out", NULL);
    sluice_test_push_ev("00:01:00", "a", 1);
    sluice_test_push_ev("00:09:00", "a", 1);
    sluice_test_step();
    /* watermark 00:09: the windows ending 00:02 .. 00:08 hold 00:01 only */
    assert_string_equal(sluice_test_take_in_order("out"), "2000-12-31 23:52:00," D "00:02:00,a,1,1\n"
                                                         "2000-12-31 23:54:00," D "00:04:00,a,1,1\n"
                                                         "2000-12-31 23:56:00," D "00:06:00,a,1,1\n"
                                                         "2000-12-31 23:58:00," D "00:08:00,a,1,1\n");
    /* out of order, into the slice 00:02 between 00:00 and 00:08, which is
     * still open: the windows ending 00:04 .. 00:08 closed (it does not go
     * to them), those ending 00:10 and 00:12 are open */
    sluice_test_push_ev("00:03:00", "a", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take("out"), "");
    assert_int_equal(sluice_test_stats().late_rows, 0);
    sluice_test_push_ev("00:11:00", "b", 1);
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), D "00:00:00," D "00:10:00,a,3,3\n");
    /* 00:01:30: every window of it (ends 00:02 .. 00:10) closed: late */
    sluice_test_push_ev("00:01:30", "a", 1);
    sluice_test_step();
    assert_int_equal(sluice_test_stats().late_rows, 1);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), D "00:02:00," D "00:12:00,a,2,2\n"
                                                         D "00:02:00," D "00:12:00,b,1,1\n"
                                                         D "00:04:00," D "00:14:00,a,1,1\n"
                                                         D "00:04:00," D "00:14:00,b,1,1\n"
                                                         D "00:06:00," D "00:16:00,a,1,1\n"
                                                         D "00:06:00," D "00:16:00,b,1,1\n"
                                                         D "00:08:00," D "00:18:00,a,1,1\n"
                                                         D "00:08:00," D "00:18:00,b,1,1\n"
                                                         D "00:10:00," D "00:20:00,b,1,1\n");
}

static void test_hop_top_1_ranks_the_merged_windows(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, rank, k, COUNT(*) AS n\n"
                            "  FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '4' MINUTE))\n"
                            "  GROUP BY window_start, window_end, k ORDER BY n DESC LIMIT 1;\n",
                            "out", NULL);
    /* a twice in slice 00:00, b once in 00:00 and twice in 00:02: [23:58,00:02)
     * a 2; [00:00,00:04) a 2 b 3 -> b; [00:02,00:06) b 2 */
    sluice_test_push_ev("00:00:10", "a", 1);
    sluice_test_push_ev("00:00:20", "a", 1);
    sluice_test_push_ev("00:01:00", "b", 1);
    sluice_test_push_ev("00:02:00", "b", 1);
    sluice_test_push_ev("00:03:00", "b", 1);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), "2000-12-31 23:58:00,1,a,2\n" D "00:00:00,1,b,3\n"
                                                         D "00:02:00,1,b,2\n");
}

/* ---- CUMULATE ----------------------------------------------------------------------------- */

static void test_cumulate_row_at_a_period_start_is_in_every_window_of_it(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n, SUM(v) AS s\n"
                            "  FROM TABLE(CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '6' MINUTE))\n"
                            "  GROUP BY window_start, window_end, k;\n",
                            "out", NULL);
    /* period [00:00,00:06): windows ending 00:02, 00:04, 00:06, all starting 00:00 */
    sluice_test_push_ev("00:00:00", "a", 1); /* in all three */
    sluice_test_push_ev("00:03:00", "a", 2); /* ending 00:04 and 00:06 */
    sluice_test_push_ev("00:05:00", "b", 4); /* ending 00:06 */
    sluice_test_step();
    /* watermark 00:05: the windows ending 00:02 and 00:04 */
    assert_string_equal(sluice_test_take_in_order("out"), D "00:00:00," D "00:02:00,a,1,1\n"
                                                         D "00:00:00," D "00:04:00,a,2,3\n");
    sluice_test_push_ev("00:07:00", "b", 8); /* period [00:06,00:12) */
    sluice_test_step();
    assert_string_equal(sluice_test_take_in_order("out"), D "00:00:00," D "00:06:00,a,2,3\n"
                                                         D "00:00:00," D "00:06:00,b,1,4\n");
    /* the period's slices are freed with its last window */
    assert_int_equal(sluice_test_stats().state_rows, 1);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), D "00:06:00," D "00:08:00,b,1,8\n"
                                                         D "00:06:00," D "00:10:00,b,1,8\n"
                                                         D "00:06:00," D "00:12:00,b,1,8\n");
}

static void test_cumulate_offset_shifts_the_periods(void **state) {
    (void)state;
    sluice_test_engine_open(SLUICE_TEST_SOURCE
                            "CREATE SINK out AS SELECT window_start, window_end, COUNT(*) AS n\n"
                            "  FROM TABLE(CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '4' MINUTE,\n"
                            "                      INTERVAL '1' MINUTE))\n"
                            "  GROUP BY window_start, window_end;\n",
                            "out", NULL);
    /* periods [00:01,00:05), [00:05,00:09) */
    sluice_test_push_ev("00:02:00", "a", 1);
    sluice_test_push_ev("00:06:00", "a", 1);
    sluice_test_end_input();
    assert_string_equal(sluice_test_take_in_order("out"), D "00:01:00," D "00:03:00,1\n"
                                                         D "00:01:00," D "00:05:00,1\n"
                                                         D "00:05:00," D "00:07:00,1\n"
                                                         D "00:05:00," D "00:09:00,1\n");
}

/* The planner's error for sql, or NULL when it plans. */
static const char *plan_error(const char *sql) {
    static char err[512];
    sluice_arena *a = sluice_arena_new(0);
    sluice_ast_pipeline *ast = NULL;
    sluice_plan *plan = NULL;
    const char *out = NULL;
    if (sluice_sql_parse(sql, strlen(sql), "c.sql", a, &ast, err, sizeof err) != SLUICE_OK ||
        sluice_plan_build(ast, &plan, err, sizeof err) != SLUICE_OK)
        out = err;
    else
        sluice_plan_free(plan);
    sluice_arena_destroy(a);
    return out;
}

static void test_cumulate_is_planned_with_a_step_dividing_its_size_and_append_only(void **state) {
    (void)state;
    const char *e = plan_error(SLUICE_TEST_SOURCE
                               "CREATE SINK out AS SELECT window_end, COUNT(*) AS n\n"
                               "  FROM TABLE(CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '4' MINUTE, INTERVAL '6' MINUTE))\n"
                               "  GROUP BY window_start, window_end;\n");
    assert_non_null(e);
    assert_non_null(strstr(e, "CUMULATE size must be a multiple of its step"));
    e = plan_error(SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT window_end, COUNT(*) AS n\n"
                                      "  FROM TABLE(CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '6' "
                                      "MINUTE))\n"
                                      "  GROUP BY window_start, window_end EMIT UPDATE;\n");
    assert_non_null(e);
    assert_non_null(strstr(e, "CUMULATE windows support EMIT APPEND only"));
    assert_null(plan_error(SLUICE_TEST_SOURCE
                           "CREATE SINK out AS SELECT window_end, COUNT(*) AS n\n"
                           "  FROM TABLE(CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '6' MINUTE))\n"
                           "  GROUP BY window_start, window_end;\n"));
}

/* ---- against the per-window assignment, seeded random input ----------------------------------- */

enum { NROWS = 3000, NK = 5, MAXWIN = 8 };
#define T0 INT64_C(978307200000) /* 2001-01-01 00:00:00 UTC */

typedef struct model_row {
    int64_t start, end;
    int k;
    long n, s;
} model_row;

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorted lines of text (modified in place); returns how many. */
static size_t split_sorted(char *text, char **lines, size_t max) {
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof *lines, cmp_str);
    return n;
}

static void check_random(int cumulate, unsigned seed) {
    const int64_t step = 2 * 60000, size = cumulate ? 8 * 60000 : 10 * 60000;
    char sql[1024];
    snprintf(sql, sizeof sql,
             SLUICE_TEST_SOURCE "CREATE SINK out AS SELECT window_start, window_end, k, COUNT(*) AS n, SUM(v) AS s\n"
                                "  FROM TABLE(%s(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '%d' MINUTE))\n"
                                "  GROUP BY window_start, window_end, k;\n",
             cumulate ? "CUMULATE" : "HOP", cumulate ? 8 : 10);
    sluice_test_engine_open(sql, "out", NULL);
    static model_row model[NROWS * MAXWIN];
    size_t nmodel = 0;
    long late = 0;
    srand(seed);
    int64_t wm = INT64_MIN, max_ts = INT64_MIN; /* as the micro-batch began; the highest time pushed */
    size_t cap = 1 << 20, len = 0;
    char *got = malloc(cap);
    assert_non_null(got);
    for (int r = 0; r < NROWS;) {
        int batch = 1 + rand() % 12;
        for (int i = 0; i < batch && r < NROWS; i++, r++) {
            /* rising about 1.2 s a row, up to 15 minutes out of order */
            int64_t t = T0 + (int64_t)r * 1200 - (int64_t)(rand() % 900) * 1000;
            int k = rand() % NK;
            long v = rand() % 100 - 50;
            char ts[40], json[160];
            sluice_ts_render(t, ts, sizeof ts);
            snprintf(json, sizeof json, "{\"ts\": \"%s\", \"k\": \"k%d\", \"v\": %ld}", ts, k, v);
            sluice_test_push(json);
            if (t > max_ts) max_ts = t;
            /* the per-window assignment: every window containing t not closed */
            int added = 0;
            for (int64_t end = (t / step) * step + step; end <= t + size; end += step) {
                int64_t start = cumulate ? (t / size) * size : end - size;
                if (cumulate && end > start + size) break;
                if (end <= wm) continue;
                size_t m;
                for (m = 0; m < nmodel; m++)
                    if (model[m].end == end && model[m].start == start && model[m].k == k) break;
                if (m == nmodel) model[nmodel++] = (model_row){start, end, k, 0, 0};
                model[m].n++;
                model[m].s += v;
                added = 1;
            }
            late += !added;
        }
        sluice_test_step();
        wm = max_ts;
        const char *t = sluice_test_take("out");
        size_t tl = strlen(t);
        assert_true(len + tl < cap);
        memcpy(got + len, t, tl);
        len += tl;
    }
    sluice_test_end_input();
    const char *t = sluice_test_take("out");
    assert_true(len + strlen(t) < cap);
    memcpy(got + len, t, strlen(t) + 1);
    assert_int_equal(sluice_test_stats().late_rows, late);
    assert_true(late > 0 && nmodel > 100);
    /* the model's rows as the sink writes them */
    char *want = malloc(nmodel * 96 + 1);
    assert_non_null(want);
    size_t wl = 0;
    for (size_t m = 0; m < nmodel; m++) {
        char s0[40], s1[40];
        sluice_ts_render(model[m].start, s0, sizeof s0);
        sluice_ts_render(model[m].end, s1, sizeof s1);
        wl += (size_t)sprintf(want + wl, "%s,%s,k%d,%ld,%ld\n", s0, s1, model[m].k, model[m].n, model[m].s);
    }
    char **a = malloc(nmodel * sizeof *a), **b = malloc((nmodel + 1) * sizeof *b);
    assert_true(a && b);
    size_t na = split_sorted(want, a, nmodel), nb = split_sorted(got, b, nmodel + 1);
    assert_int_equal(nb, na);
    for (size_t i = 0; i < na; i++) assert_string_equal(b[i], a[i]);
    free(a);
    free(b);
    free(want);
    free(got);
}

static void test_hop_equals_the_per_window_assignment_on_random_input(void **state) {
    (void)state;
    check_random(0, 17);
}

static void test_cumulate_equals_the_per_window_assignment_on_random_input(void **state) {
    (void)state;
    check_random(1, 29);
}


/* ---- snapshots ------------------------------------------------------------------------------ */

typedef struct harness {
    sluice_arena *arena;
    sluice_plan *plan;
    size_t nsinks;
} harness;

static void plan_open(harness *h, const char *sql, size_t nsinks) {
    char err[512];
    h->arena = sluice_arena_new(0);
    h->nsinks = nsinks;
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(sql, strlen(sql), "snap.sql", h->arena, &ast, err, sizeof err) != SLUICE_OK ||
        sluice_plan_build(ast, &h->plan, err, sizeof err) != SLUICE_OK)
        fail_msg("%s", err);
}

static void plan_close(harness *h) {
    sluice_plan_free(h->plan);
    sluice_arena_destroy(h->arena);
}

static sluice_transform *transform_open(const harness *h) {
    sluice_engine_source_options opts = {.format = SLUICE_FORMAT_JSON};
    sluice_transform *t = NULL;
    char err[512];
    if (sluice_engine_new(h->plan, &opts, NULL, NULL, &t, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    return t;
}

enum { SNAP_BATCHES = 14, SNAP_ROWS = 600, SNAP_CUT = 8, SLOT = 160 };

/* Micro-batch b (rows of n per batch, times rising 250 ms a row with up to
 * 40 s of disorder, 40 keys) through t; the rows every sink received are
 * appended to o as "batch sink csv" lines. */
static void run_batch(const harness *h, sluice_transform *t, int b, int end, FILE *o) {
    char err[512];
    sluice_record *recs = calloc(SNAP_ROWS, sizeof *recs);
    char *text = calloc(SNAP_ROWS, SLOT + SLUICE_RECORD_PADDING);
    assert_true(recs && text);
    for (int i = 0; i < SNAP_ROWS; i++) {
        int r = b * SNAP_ROWS + i;
        char ts[40];
        sluice_ts_render(T0 + (int64_t)r * 250 - (int64_t)((r * 7919) % 40) * 1000, ts, sizeof ts);
        char *p = text + (size_t)i * (SLOT + SLUICE_RECORD_PADDING);
        int n = snprintf(p, SLOT, "{\"ts\":\"%s\",\"k\":\"k%02d\",\"v\":%d,\"x\":%d.5}", ts, (r * 31) % 40,
                         (r * 13) % 97 - 48, r % 11);
        recs[i].value = p;
        recs[i].value_len = (size_t)n;
        recs[i].offset = r + 1;
    }
    sluice_record_batch in = {.records = recs, .count = SNAP_ROWS, .capacity = SNAP_ROWS};
    in.end_of_input = end;
    if (t->ops->process(t, 0, NULL, &in, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    const sluice_row_batch *out[4];
    if (t->ops->end_batch(t, b, out, h->nsinks, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    for (size_t k = 0; k < h->nsinks; k++)
        for (size_t r = 0; r < out[k]->nrows; r++) {
            fprintf(o, "%d %zu ", b, k);
            sluice_csv_write_row(o, out[k]->values + r * out[k]->schema->ncolumns, out[k]->schema->ncolumns, ',');
        }
    free(recs);
    free(text);
}

static void take_snapshot(sluice_transform *t, void **buf, size_t *len) {
    char err[512];
    if (t->ops->snapshot(t, buf, len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
}

static void test_sliced_state_round_trips_through_a_snapshot(void **state) {
    (void)state;
    harness h;
    plan_open(&h,
              "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE, WATERMARK FOR ts AS ts - INTERVAL '1' "
              "MINUTE);\n"
              "CREATE SINK hop AS SELECT window_start, rank, k, COUNT(*) AS n FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts),\n"
              "  INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)) GROUP BY window_start, window_end, k ORDER BY n DESC LIMIT 3;\n"
              "CREATE SINK cum AS SELECT window_start, window_end, k, COUNT(*) AS n, SUM(v) AS s, MIN(k) AS mk,\n"
              "  MAX(x) AS mx FROM TABLE(CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '4' MINUTE))\n"
              "  GROUP BY window_start, window_end, k;\n",
              2);
    char *whole = NULL, *before = NULL, *after = NULL;
    size_t whole_len = 0, before_len = 0, after_len = 0;
    FILE *fw = open_memstream(&whole, &whole_len);
    sluice_transform *a = transform_open(&h);
    for (int b = 0; b < SNAP_BATCHES; b++) run_batch(&h, a, b, b == SNAP_BATCHES - 1, fw);
    fclose(fw);
    a->ops->destroy(a);

    FILE *fb = open_memstream(&before, &before_len);
    sluice_transform *b = transform_open(&h);
    for (int i = 0; i < SNAP_CUT; i++) run_batch(&h, b, i, 0, fb);
    fclose(fb);
    void *snap = NULL;
    size_t snap_len = 0;
    take_snapshot(b, &snap, &snap_len);
    sluice_transform_stats st;
    b->ops->stats(b, &st);
    b->ops->destroy(b);
    assert_true(st.state_rows > 100);

    sluice_transform *c = transform_open(&h);
    char err[512];
    if (c->ops->restore(c, snap, snap_len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    sluice_transform_stats st2;
    c->ops->stats(c, &st2);
    assert_int_equal(st2.state_rows, st.state_rows);
    void *again = NULL;
    size_t again_len = 0;
    take_snapshot(c, &again, &again_len);
    assert_int_equal(again_len, snap_len);
    assert_memory_equal(again, snap, snap_len);
    free(again);
    /* a cut snapshot is refused */
    sluice_transform *d = transform_open(&h);
    for (size_t cut = 0; cut < snap_len; cut += snap_len / 53 + 1)
        assert_int_equal(d->ops->restore(d, snap, cut, err, sizeof err), SLUICE_ERR_MALFORMED);
    d->ops->destroy(d);

    FILE *fa = open_memstream(&after, &after_len);
    for (int i = SNAP_CUT; i < SNAP_BATCHES; i++) run_batch(&h, c, i, i == SNAP_BATCHES - 1, fa);
    fclose(fa);
    c->ops->destroy(c);
    /* the restored engine emits exactly what the uninterrupted one did */
    assert_true(after_len > 1000);
    assert_int_equal(before_len + after_len, whole_len);
    assert_memory_equal(before, whole, before_len);
    assert_memory_equal(after, whole + before_len, after_len);
    free(whole);
    free(before);
    free(after);
    free(snap);
    plan_close(&h);
}

/* A snapshot of HOP windows as written before slicing (u8 0: one group
 * table per window) restores, and the query goes on with those windows. */
static void test_hop_snapshot_of_windows_still_restores(void **state) {
    (void)state;
    harness h;
    plan_open(&h,
              "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE, WATERMARK FOR ts AS ts);\n"
              "CREATE SINK hop AS SELECT window_start, window_end, COUNT(*) AS n FROM ev\n"
              "  GROUP BY HOP(ts, INTERVAL '5' MINUTE, INTERVAL '10' MINUTE) EMIT APPEND;\n",
              1);
    sluice_transform *t = transform_open(&h);
    /* version 2: one source (no watermark yet, no partitions); the query:
     * windows [00:00,00:10) with 3 rows and [00:05,00:15) with 1 */
    sluice_enc e = {0};
    sluice_enc_u32(&e, 2);
    sluice_enc_i64(&e, INT64_MIN);
    sluice_enc_u8(&e, 0);
    sluice_enc_u32(&e, 0);
    sluice_enc_i64(&e, 0); /* late_rows */
    sluice_enc_u8(&e, 0);  /* windows */
    sluice_enc_u32(&e, 2);
    for (int w = 0; w < 2; w++) {
        sluice_enc_i64(&e, T0 + w * 300000); /* start */
        sluice_enc_u32(&e, 0);               /* nranked */
        sluice_enc_u32(&e, 1);               /* groups */
        sluice_enc_i64(&e, 0);               /* string bytes */
        sluice_enc_u32(&e, 0);               /* rank */
        sluice_enc_u8(&e, SLUICE_TYPE_NULL); /* COUNT(*) */
        sluice_enc_i64(&e, 0);
        sluice_enc_i64(&e, w ? 1 : 3);
    }
    sluice_enc_i64(&e, INT64_MIN);
    sluice_enc_i64(&e, INT64_MIN);
    assert_false(e.oom);
    char err[512];
    if (t->ops->restore(t, e.data, e.len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    /* it snapshots as windows again */
    void *again = NULL;
    size_t again_len = 0;
    take_snapshot(t, &again, &again_len);
    assert_int_equal(again_len, e.len);
    assert_memory_equal(again, e.data, e.len);
    free(again);
    free(e.data);
    /* a row at 00:07 adds to both; the end of input closes them */
    char rec[SLOT + SLUICE_RECORD_PADDING] = {0};
    int n = snprintf(rec, SLOT, "{\"ts\":\"2001-01-01 00:07:00\",\"k\":\"a\",\"v\":1,\"x\":1}");
    sluice_record r = {.value = rec, .value_len = (size_t)n, .offset = 1};
    sluice_record_batch in = {.records = &r, .count = 1, .capacity = 1, .end_of_input = 1};
    if (t->ops->process(t, 0, NULL, &in, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    const sluice_row_batch *out[1];
    if (t->ops->end_batch(t, 0, out, 1, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (size_t i = 0; i < out[0]->nrows; i++)
        sluice_csv_write_row(f, out[0]->values + i * out[0]->schema->ncolumns, out[0]->schema->ncolumns, ',');
    fclose(f);
    assert_string_equal(text, D "00:00:00," D "00:10:00,4\n" D "00:05:00," D "00:15:00,2\n");
    free(text);
    t->ops->destroy(t);
    plan_close(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, sluice_test_engine_setup, sluice_test_engine_teardown)
        T(test_hop_of_five_slices_emits_windows_in_order_from_shared_slices),
        T(test_hop_out_of_order_and_late_rows_count_in_their_open_windows_only),
        T(test_hop_top_1_ranks_the_merged_windows),
        T(test_cumulate_row_at_a_period_start_is_in_every_window_of_it),
        T(test_cumulate_offset_shifts_the_periods),
        T(test_cumulate_is_planned_with_a_step_dividing_its_size_and_append_only),
        T(test_hop_equals_the_per_window_assignment_on_random_input),
        T(test_cumulate_equals_the_per_window_assignment_on_random_input),
        cmocka_unit_test(test_sliced_state_round_trips_through_a_snapshot),
        cmocka_unit_test(test_hop_snapshot_of_windows_still_restores),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
