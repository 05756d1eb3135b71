/*
 * The memory source's specifics: envelopes are kept, values are copied
 * (the caller's buffer may change after push), pushes between polls, and
 * misuse of the C API.
 */
#include "sluice_test.h"
#include "conn_support.h"
#include "option_check.h"

#include <string.h>

#include "connectors/connectors.h"

static sluice_source *open_memory(void) {
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "events", NULL);
    sluice_source *src = NULL;
    assert_int_equal(sluice_memory_source_ops.open(&c.cfg, &src, NULL, 0), SLUICE_OK);
    return src;
}

static void envelopes_and_copies(void **state) {
    (void)state;
    sluice_source *src = open_memory();
    char value[] = "{\"a\":1}";
    assert_int_equal(sluice_memory_source_push(src, value, 7, "key", 3, 2, 1234), SLUICE_OK);
    assert_int_equal(sluice_memory_source_push(src, "", 0, NULL, 0, 0, 5), SLUICE_OK);
    memset(value, 'X', 7);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    assert_int_equal(src->ops->poll(src, &b, 10, 1000, NULL, 0), SLUICE_OK);
    assert_int_equal(b.count, 2);
    assert_false(b.end_of_input);  /* not ended: more may come */
    assert_memory_equal(b.records[0].value, "{\"a\":1}", 7);
    assert_memory_equal(b.records[0].key, "key", 3);
    assert_int_equal(b.records[0].key_len, 3);
    assert_int_equal(b.records[0].partition, 2);
    assert_int_equal(b.records[0].timestamp_ms, 1234);
    assert_int_equal(b.records[0].offset, 0);
    assert_null(b.records[1].key);
    assert_int_equal(b.records[1].value_len, 0);
    assert_int_equal(b.records[1].offset, 1);

    /* pushes between polls; then the end */
    assert_int_equal(sluice_memory_source_push(src, "z", 1, NULL, 0, 0, 6), SLUICE_OK);
    assert_int_equal(sluice_memory_source_end(src), SLUICE_OK);
    assert_int_equal(sluice_memory_source_push(src, "late", 4, NULL, 0, 0, 7), SLUICE_ERR_INVALID);
    sluice_record_batch_clear(&b);
    assert_int_equal(src->ops->poll(src, &b, 10, 0, NULL, 0), SLUICE_OK);
    assert_int_equal(b.count, 1);
    assert_int_equal(b.records[0].offset, 2);
    assert_true(b.end_of_input);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static void api_rejects_other_sources(void **state) {
    (void)state;
    assert_int_equal(sluice_memory_source_push(NULL, "x", 1, NULL, 0, 0, 0), SLUICE_ERR_INVALID);
    assert_int_equal(sluice_memory_source_end(NULL), SLUICE_ERR_INVALID);
    sluice_source other = {.ops = &sluice_file_source_ops};
    assert_int_equal(sluice_memory_source_push(&other, "x", 1, NULL, 0, 0, 0), SLUICE_ERR_INVALID);
}

/* The option table: `sluice check` refuses a `format` this source does not
 * decode with its file:line (before the table, check looked at the keys
 * only), and `sluice connectors` lists the options. */
static void options_checked_and_listed(void **state) {
    (void)state;
    sluice_test_check_refuses("CREATE SOURCE ev (k VARCHAR);\nCREATE SINK out AS SELECT k FROM ev;\n",
                              "[source ev]\nconnector = memory\nformat = lines\n", 3,
                              (const char *const[]){"format = 'lines'", "expected json or csv", NULL});
    sluice_test_connectors_list("### Source `memory`", (const char *const[]){"format", "csv.delimiter", NULL});
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(envelopes_and_copies),
        cmocka_unit_test(api_rejects_other_sources),
        cmocka_unit_test(options_checked_and_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
