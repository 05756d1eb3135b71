/*
 * A grouped aggregate's state through a snapshot and a restore: short,
 * long, empty and NULL string keys come back in the group table's layout
 * (packed key strings, the table sized from the snapshot's counts), and
 * the restored engine answers the next micro-batch as the original does.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/engine.h"
#include "format/format.h"
#include "sql/parser.h"

static const char pipeline_sql[] =
    "CREATE SOURCE ev (k VARCHAR, v BIGINT);\n"
    "CREATE SINK s AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM ev GROUP BY k EMIT UPDATE;\n";

enum { NKEYS = 3000, SLOT = 96 };

typedef struct harness {
    sluice_arena *arena;
    sluice_plan *plan;
} harness;

static void plan_open(harness *h) {
    char err[512];
    h->arena = sluice_arena_new(0);
    assert_non_null(h->arena);
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(pipeline_sql, strlen(pipeline_sql), "rt.sql", h->arena, &ast, err, sizeof err) != SLUICE_OK)
        fail_msg("%s", err);
    if (sluice_plan_build(ast, &h->plan, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
}

static sluice_transform *engine_open(const harness *h) {
    sluice_engine_source_options opts = {.format = SLUICE_FORMAT_JSON};
    sluice_transform *t = NULL;
    char err[512];
    if (sluice_engine_new(h->plan, &opts, NULL, NULL, &t, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    return t;
}

/* Key i: NULL for 6, "" for 2, a 40-byte string for i % 4 == 1, else a
 * short one. */
static int row_json(char *p, size_t size, int i, int v) {
    if (i == 6) return snprintf(p, size, "{\"k\":null,\"v\":%d}", v);
    if (i == 2) return snprintf(p, size, "{\"k\":\"\",\"v\":%d}", v);
    if (i % 4 == 1) return snprintf(p, size, "{\"k\":\"a-long-key-that-is-forty-bytes-or-%05d\",\"v\":%d}", i, v);
    return snprintf(p, size, "{\"k\":\"k%d\",\"v\":%d}", i, v);
}

/* One micro-batch: every key once with v = vbase + i; what the sink got,
 * as CSV lines in a malloc'd string. */
static char *run_batch(sluice_transform *t, int vbase, int64_t epoch) {
    char err[512];
    static sluice_record recs[NKEYS];
    static char text[NKEYS][SLOT + SLUICE_RECORD_PADDING];
    memset(recs, 0, sizeof recs);
    for (int i = 0; i < NKEYS; i++) {
        memset(text[i], 0, sizeof text[i]);
        int len = row_json(text[i], SLOT, i, vbase + i);
        recs[i].value = text[i];
        recs[i].value_len = (size_t)len;
        recs[i].offset = epoch * NKEYS + i + 1;
    }
    sluice_record_batch in = {.records = recs, .count = NKEYS, .capacity = NKEYS};
    if (t->ops->process(t, 0, NULL, &in, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    const sluice_row_batch *out[1];
    if (t->ops->end_batch(t, epoch, out, 1, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    char *buf = NULL;
    size_t blen = 0;
    FILE *o = open_memstream(&buf, &blen);
    assert_non_null(o);
    for (size_t r = 0; r < out[0]->nrows; r++) {
        fprintf(o, "%d ", out[0]->kinds ? (int)out[0]->kinds[r] : 0);
        sluice_csv_write_row(o, out[0]->values + r * out[0]->schema->ncolumns, out[0]->schema->ncolumns, ',');
    }
    fclose(o);
    return buf;
}

static void test_restored_state_answers_as_the_original(void **state) {
    (void)state;
    harness h;
    plan_open(&h);
    sluice_transform *a = engine_open(&h);
    free(run_batch(a, 0, 0));
    void *snap = NULL;
    size_t len = 0;
    char err[512];
    if (a->ops->snapshot(a, &snap, &len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    sluice_transform *b = engine_open(&h);
    if (b->ops->restore(b, snap, len, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    free(snap);
    /* the second batch adds 1000 + i to each key: COUNT 2, SUM 2i + 1000 */
    char *oa = run_batch(a, 1000, 1), *ob = run_batch(b, 1000, 1);
    assert_string_equal(oa, ob);
    assert_non_null(strstr(ob, "k0,2,1000\n"));
    assert_non_null(strstr(ob, "a-long-key-that-is-forty-bytes-or-02997,2,6994\n"));
    assert_non_null(strstr(ob, ",2,1004\n")); /* the empty key (i = 2) */
    assert_non_null(strstr(ob, ",2,1012\n")); /* the NULL key (i = 6) */
    free(oa);
    free(ob);
    a->ops->destroy(a);
    b->ops->destroy(b);
    sluice_plan_free(h.plan);
    sluice_arena_destroy(h.arena);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restored_state_answers_as_the_original),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
