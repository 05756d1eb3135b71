/*
 * The memory sink's specifics: upsert by a composite primary key, primary-
 * key ordering, arrival order without a key, string compaction under many
 * upserts, and the report table byte for byte.
 */
#include "sluice_test.h"
#include "conn_support.h"
#include "option_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"

#define HOUR 3600000LL
#define T2001 978307200000LL  /* 2001-01-01 00:00:00 UTC in ms */

static const sluice_column columns[] = {
    {.name = "window_start", .type = SLUICE_TYPE_TIMESTAMP},
    {.name = "origin", .type = SLUICE_TYPE_VARCHAR},
    {.name = "flights", .type = SLUICE_TYPE_BIGINT},
    {.name = "avg_delay", .type = SLUICE_TYPE_DOUBLE},
};
static const size_t pk[] = {0, 1};
static const sluice_schema keyed = {.ncolumns = 4, .columns = columns, .npk = 2, .pk = pk};
static const sluice_schema unkeyed = {.ncolumns = 4, .columns = columns};

static sluice_sink *open_sink(const sluice_schema *schema, sluice_test_cfg *c) {
    sluice_test_cfg_init(c, "delays_by_origin", schema);
    sluice_sink *s = NULL;
    char err[256];
    assert_int_equal(sluice_memory_sink_ops.open(&c->cfg, &s, err, sizeof err), SLUICE_OK);
    return s;
}

static void add(sluice_row_batch *b, int64_t ts, const char *origin, int64_t flights,
                double avg, int null_avg) {
    sluice_value *r = sluice_row_batch_append(b);
    r[0] = sluice_value_timestamp(ts);
    r[1] = sluice_value_varchar(origin, strlen(origin));
    r[2] = sluice_value_bigint(flights);
    r[3] = null_avg ? sluice_value_null() : sluice_value_double(avg);
}

static void write_rows(sluice_sink *s, const sluice_row_batch *b, int64_t epoch) {
    char err[256];
    assert_int_equal(s->ops->write(s, epoch, b, err, sizeof err), SLUICE_OK);
}

static char *report(sluice_sink *s) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    char err[256];
    assert_int_equal(s->ops->report(s, f, err, sizeof err), SLUICE_OK);
    fclose(f);
    return buf;
}

static void upsert_order_and_table(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_sink *s = open_sink(&keyed, &c);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &keyed), SLUICE_OK);
    add(&b, T2001, "DTW", 1, 66, 0);
    add(&b, T2001 + HOUR, "HNL", 1, 95, 0);
    add(&b, T2001, "ATL", 2, 7.5, 0);
    write_rows(s, &b, 1);
    sluice_row_batch_clear(&b);
    add(&b, T2001, "DTW", 3, 40.25, 0);
    add(&b, T2001 + HOUR, "ATL", 1, 0, 1);
    write_rows(s, &b, 2);

    assert_int_equal(sluice_memory_sink_nrows(s), 4);
    assert_int_equal(sluice_memory_sink_rows_written(s), 5);
    const char *origins[] = {"ATL", "DTW", "ATL", "HNL"};
    for (size_t i = 0; i < 4; i++) {
        const sluice_value *r = sluice_memory_sink_row(s, i);
        assert_non_null(r);
        assert_int_equal(r[1].len, 3);
        assert_memory_equal(r[1].u.s, origins[i], 3);
    }
    assert_int_equal(sluice_memory_sink_row(s, 1)[2].u.i, 3);
    assert_null(sluice_memory_sink_row(s, 4));

    char *text = report(s);
    assert_string_equal(text,
                        "sink delays_by_origin: 4 rows\n"
                        " window_start        | origin | flights | avg_delay\n"
                        "---------------------+--------+---------+-----------\n"
                        " 2001-01-01 00:00:00 | ATL    |       2 |       7.5\n"
                        " 2001-01-01 00:00:00 | DTW    |       3 |     40.25\n"
                        " 2001-01-01 01:00:00 | ATL    |       1 |\n"
                        " 2001-01-01 01:00:00 | HNL    |       1 |        95\n"
                        "(4 rows)\n");
    free(text);
    sluice_row_batch_free(&b);
    s->ops->close(s);
}

static void one_row_and_empty_tables(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_sink *s = open_sink(&keyed, &c);
    char *text = report(s);
    assert_string_equal(text,
                        "sink delays_by_origin: 0 rows\n"
                        " window_start | origin | flights | avg_delay\n"
                        "--------------+--------+---------+-----------\n"
                        "(0 rows)\n");
    free(text);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &keyed), SLUICE_OK);
    add(&b, T2001, "DTW", 1, 66, 0);
    write_rows(s, &b, 1);
    text = report(s);
    assert_string_equal(text,
                        "sink delays_by_origin: 1 row\n"
                        " window_start        | origin | flights | avg_delay\n"
                        "---------------------+--------+---------+-----------\n"
                        " 2001-01-01 00:00:00 | DTW    |       1 |        66\n"
                        "(1 row)\n");
    free(text);
    sluice_row_batch_free(&b);
    s->ops->close(s);
}

/* An ARRAY (UNNEST queries) is kept as its JSON text, so the table does
 * not borrow the batch's element blocks, which die with the batch. */
static void arrays_kept_as_json_text(void **state) {
    (void)state;
    static const sluice_column cols[] = {
        {.name = "n", .type = SLUICE_TYPE_BIGINT},
        {.name = "tags", .type = SLUICE_TYPE_ARRAY},
    };
    static const sluice_schema sch = {.ncolumns = 2, .columns = cols};
    sluice_test_cfg c;
    sluice_sink *s = open_sink(&sch, &c);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &sch), SLUICE_OK);
    sluice_arena *elems = sluice_arena_new(0);
    sluice_array *a = sluice_array_new(elems, SLUICE_TYPE_VARCHAR, 2);
    char *x = sluice_arena_strndup(elems, "x", 1);
    a->values[0] = sluice_value_varchar(x, 1);
    sluice_value *r = sluice_row_batch_append(&b);
    r[0] = sluice_value_bigint(1);
    r[1] = sluice_value_array(a);
    write_rows(s, &b, 0);
    sluice_arena_destroy(elems);
    sluice_row_batch_free(&b);
    char *text = report(s);
    assert_string_equal(text,
                        "sink delays_by_origin: 1 row\n"
                        " n | tags\n"
                        "---+------------\n"
                        " 1 | [\"x\",null]\n"
                        "(1 row)\n");
    free(text);
    s->ops->close(s);
}

static void left_aligned_last_column_and_utf8(void **state) {
    (void)state;
    static const sluice_column cols[] = {
        {.name = "n", .type = SLUICE_TYPE_BIGINT},
        {.name = "city", .type = SLUICE_TYPE_VARCHAR},
    };
    static const sluice_schema sch = {.ncolumns = 2, .columns = cols};
    sluice_test_cfg c;
    sluice_sink *s = open_sink(&sch, &c);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &sch), SLUICE_OK);
    sluice_value *r = sluice_row_batch_append(&b);
    r[0] = sluice_value_bigint(-12);
    r[1] = sluice_value_varchar("Zürich", strlen("Zürich"));
    r = sluice_row_batch_append(&b);
    r[0] = sluice_value_bigint(3);
    r[1] = sluice_value_varchar("Oslo", 4);
    write_rows(s, &b, 0);
    char *text = report(s);
    assert_string_equal(text,
                        "sink delays_by_origin: 2 rows\n"
                        " n   | city\n"
                        "-----+--------\n"
                        " -12 | Zürich\n"
                        "   3 | Oslo\n"
                        "(2 rows)\n");
    free(text);
    sluice_row_batch_free(&b);
    s->ops->close(s);
}

static void no_key_keeps_arrival_order(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_sink *s = open_sink(&unkeyed, &c);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &unkeyed), SLUICE_OK);
    add(&b, T2001 + HOUR, "ORD", 1, 1, 0);
    add(&b, T2001, "ORD", 1, 1, 0);
    write_rows(s, &b, 1);
    write_rows(s, &b, 2);
    assert_int_equal(sluice_memory_sink_nrows(s), 4);
    assert_int_equal(sluice_memory_sink_row(s, 0)[0].u.i, T2001 + HOUR);
    assert_int_equal(sluice_memory_sink_row(s, 1)[0].u.i, T2001);
    assert_int_equal(sluice_memory_sink_row(s, 2)[0].u.i, T2001 + HOUR);
    sluice_row_batch_free(&b);
    s->ops->close(s);
}

static void many_upserts_keep_latest_strings(void **state) {
    (void)state;
    static const sluice_column cols[] = {
        {.name = "k", .type = SLUICE_TYPE_BIGINT},
        {.name = "v", .type = SLUICE_TYPE_VARCHAR},
    };
    static const size_t kpk[] = {0};
    static const sluice_schema sch = {.ncolumns = 2, .columns = cols, .npk = 1, .pk = kpk};
    sluice_test_cfg c;
    sluice_sink *s = open_sink(&sch, &c);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &sch), SLUICE_OK);
    char text[600];
    for (int epoch = 0; epoch < 40; epoch++) {
        sluice_row_batch_clear(&b);
        for (int k = 0; k < 200; k++) {
            int n = snprintf(text, sizeof text, "%0500d-%d", epoch, k);
            char *copy = sluice_arena_strndup(b.arena, text, (size_t)n);
            sluice_value *r = sluice_row_batch_append(&b);
            r[0] = sluice_value_bigint(199 - k);
            r[1] = sluice_value_varchar(copy, (size_t)n);
        }
        write_rows(s, &b, epoch);
    }
    assert_int_equal(sluice_memory_sink_nrows(s), 200);
    assert_int_equal(sluice_memory_sink_rows_written(s), 8000);
    for (int i = 0; i < 200; i++) {
        const sluice_value *r = sluice_memory_sink_row(s, (size_t)i);
        assert_int_equal(r[0].u.i, i);
        int n = snprintf(text, sizeof text, "%0500d-%d", 39, 199 - i);
        assert_int_equal(r[1].len, n);
        assert_memory_equal(r[1].u.s, text, (size_t)n);
    }
    sluice_row_batch_free(&b);
    s->ops->close(s);
}

static void api_rejects_other_sinks(void **state) {
    (void)state;
    assert_int_equal(sluice_memory_sink_nrows(NULL), 0);
    assert_null(sluice_memory_sink_row(NULL, 0));
    static const sluice_column cols[] = {{.name = "x", .type = SLUICE_TYPE_BIGINT}};
    static const sluice_schema sch = {.ncolumns = 1, .columns = cols};
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &sch);
    sluice_sink *console = NULL;
    assert_int_equal(sluice_console_sink_ops.open(&c.cfg, &console, NULL, 0), SLUICE_OK);
    assert_int_equal(sluice_memory_sink_nrows(console), 0);
    assert_null(sluice_memory_sink_row(console, 0));
    console->ops->close(console);
}

/* The option table is empty: `sluice check` refuses any key of the
 * connector's own with its file:line, and `sluice connectors` shows the
 * (empty) table. */
static void options_checked_and_listed(void **state) {
    (void)state;
    sluice_test_check_refuses("CREATE SOURCE ev (k VARCHAR);\nCREATE SINK out AS SELECT k FROM ev;\n",
                              "[source ev]\nconnector = memory\n[sink out]\nconnector = memory\nrows = 5\n", 5,
                              (const char *const[]){"unknown key 'rows'", NULL});
    sluice_test_connectors_list("### Sink `memory`", (const char *const[]){NULL});
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upsert_order_and_table),
        cmocka_unit_test(one_row_and_empty_tables),
        cmocka_unit_test(left_aligned_last_column_and_utf8),
        cmocka_unit_test(no_key_keeps_arrival_order),
        cmocka_unit_test(many_upserts_keep_latest_strings),
        cmocka_unit_test(api_rejects_other_sinks),
        cmocka_unit_test(arrays_kept_as_json_text),
        cmocka_unit_test(options_checked_and_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
