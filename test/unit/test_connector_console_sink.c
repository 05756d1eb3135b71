/*
 * The console sink's specifics: the Spark-style batch banner, the table,
 * silence for empty batches, and the `rows` cap.
 */
#include "sluice_test.h"
#include "conn_support.h"
#include "option_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"

static char *tmpdir;

static const sluice_column columns[] = {
    {.name = "origin", .type = SLUICE_TYPE_VARCHAR},
    {.name = "flights", .type = SLUICE_TYPE_BIGINT},
};
static const sluice_schema schema = {.ncolumns = 2, .columns = columns};

static void add(sluice_row_batch *b, const char *origin, int64_t n) {
    sluice_value *r = sluice_row_batch_append(b);
    r[0] = sluice_value_varchar(origin, strlen(origin));
    r[1] = sluice_value_bigint(n);
}

/* Open a console sink with `rows` (or default), write the batches of
 * rows_per_epoch[0..nepochs), and return what it printed. */
static char *run(const char *rows, const size_t *rows_per_epoch, size_t nepochs) {
    char path[4200];
    snprintf(path, sizeof path, "%s/stdout.txt", tmpdir);
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "live", &schema);
    if (rows) sluice_test_cfg_set(&c, "rows", rows);
    int saved = sluice_test_capture_begin(path);
    assert_true(saved >= 0);
    sluice_sink *s = NULL;
    assert_int_equal(sluice_console_sink_ops.open(&c.cfg, &s, NULL, 0), SLUICE_OK);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    for (size_t e = 0; e < nepochs; e++) {
        sluice_row_batch_clear(&b);
        for (size_t i = 0; i < rows_per_epoch[e]; i++) add(&b, i % 2 ? "ORD" : "DTW", (int64_t)i);
        assert_int_equal(s->ops->write(s, (int64_t)e, &b, NULL, 0), SLUICE_OK);
        assert_int_equal(s->ops->commit(s, (int64_t)e, NULL, 0), SLUICE_OK);
    }
    sluice_row_batch_free(&b);
    s->ops->close(s);
    sluice_test_capture_end(saved);
    return sluice_test_read_file(path, NULL);
}

static void batch_banner_and_table(void **state) {
    (void)state;
    const size_t epochs[] = {2, 0, 1};
    char *text = run(NULL, epochs, 3);
    assert_string_equal(text,
                        "-------------------------------------------\n"
                        "Batch: 0\n"
                        "-------------------------------------------\n"
                        " origin | flights\n"
                        "--------+---------\n"
                        " DTW    |       0\n"
                        " ORD    |       1\n"
                        "(2 rows)\n"
                        "\n"
                        "-------------------------------------------\n"
                        "Batch: 2\n"
                        "-------------------------------------------\n"
                        " origin | flights\n"
                        "--------+---------\n"
                        " DTW    |       0\n"
                        "(1 row)\n"
                        "\n");
    free(text);
}

static void rows_cap(void **state) {
    (void)state;
    const size_t epochs[] = {5};
    char *text = run("3", epochs, 1);
    assert_string_equal(text,
                        "-------------------------------------------\n"
                        "Batch: 0\n"
                        "-------------------------------------------\n"
                        " origin | flights\n"
                        "--------+---------\n"
                        " DTW    |       0\n"
                        " ORD    |       1\n"
                        " DTW    |       2\n"
                        "(5 rows)\n"
                        "only showing top 3 rows\n"
                        "\n");
    free(text);
}

static void default_cap_is_20(void **state) {
    (void)state;
    const size_t epochs[] = {25};
    char *text = run(NULL, epochs, 1);
    assert_non_null(strstr(text, "(25 rows)\nonly showing top 20 rows\n"));
    assert_non_null(strstr(text, "      19\n"));
    assert_null(strstr(text, "      20\n"));
    free(text);
}

/* The option table: `sluice check` refuses a value of the wrong type with
 * its file:line (before the table, check looked at the keys only), and
 * `sluice connectors` lists the option. */
static void options_checked_and_listed(void **state) {
    (void)state;
    sluice_test_check_refuses("CREATE SOURCE ev (k VARCHAR);\nCREATE SINK out AS SELECT k FROM ev;\n",
                              "[source ev]\nconnector = memory\n[sink out]\nconnector = console\nrows = many\n", 5,
                              (const char *const[]){"rows = 'many'", "expected integer >= 1", NULL});
    sluice_test_connectors_list("### Sink `console`", (const char *const[]){"rows", NULL});
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("unit_console_sink");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_banner_and_table),
        cmocka_unit_test(rows_cap),
        cmocka_unit_test(default_cap_is_20),
        cmocka_unit_test(options_checked_and_listed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(tmpdir);
    return rc;
}
