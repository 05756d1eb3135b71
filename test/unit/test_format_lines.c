/* The lines format: the whole record is the value of the one column (a
 * VARCHAR keeps CR, NUL bytes and spaces as they are; other types convert
 * as a CSV field would); a record that is not UTF-8 is malformed; more than
 * one column, or a PATH, is refused when the decoder is made. */
#include "sluice_test.h"

#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "sluice/batch.h"

static sluice_arena *arena;
static sluice_decoder *dec;
static char reason[256];
static sluice_value out[2];

static int setup(void **state) {
    (void)state;
    arena = sluice_arena_new(0);
    dec = NULL;
    return arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_decoder_free(dec);
    dec = NULL;
    sluice_arena_destroy(arena);
    return 0;
}

static sluice_err_t make(const sluice_field_spec *specs, size_t n, char *err, size_t err_size) {
    sluice_decoder_options o = {.format = SLUICE_FORMAT_LINES};
    sluice_decoder_free(dec);
    dec = NULL;
    return sluice_decoder_new(&o, specs, n, &dec, err, err_size);
}

static sluice_err_t decode(const char *line, size_t len) {
    char *buf = malloc(len + SLUICE_RECORD_PADDING);
    memcpy(buf, line, len);
    memset(buf + len, 'x', SLUICE_RECORD_PADDING);
    reason[0] = '\0';
    out[0].type = 0xEE;
    sluice_err_t rc = sluice_decoder_decode(dec, buf, len, out, arena, reason, sizeof reason);
    memset(buf, '#', len); /* the value must have been copied */
    free(buf);
    return rc;
}

static void test_varchar_is_the_line(void **state) {
    (void)state;
    sluice_field_spec spec = {.name = "value", .type = SLUICE_TYPE_VARCHAR};
    char err[256] = "";
    assert_int_equal(make(&spec, 1, err, sizeof err), SLUICE_OK);
    static const char line[] = " a,\"b\"\0c\r {\"j\":1} ";
    assert_int_equal(decode(line, sizeof line - 1), SLUICE_OK);
    assert_int_equal(out[0].type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(out[0].len, sizeof line - 1);
    assert_memory_equal(out[0].u.s, line, sizeof line - 1);
    assert_int_equal(decode("", 0), SLUICE_OK);
    assert_int_equal(out[0].type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(out[0].len, 0);
    assert_int_equal(decode("gr\xC3\xBC\xC3\x9F", 6), SLUICE_OK);
    assert_int_equal(out[0].len, 6);
}

static void test_invalid_utf8_is_malformed(void **state) {
    (void)state;
    sluice_field_spec spec = {.name = "value", .type = SLUICE_TYPE_VARCHAR};
    char err[256] = "";
    assert_int_equal(make(&spec, 1, err, sizeof err), SLUICE_OK);
    assert_int_equal(decode("ok\xC3(", 4), SLUICE_ERR_MALFORMED);
    assert_string_equal(reason, "invalid UTF-8 in column 'value' at byte 3 of the line");
    assert_int_equal(decode("\xED\xA0\x80", 3), SLUICE_ERR_MALFORMED); /* a surrogate */
    assert_string_equal(reason, "invalid UTF-8 in column 'value' at byte 1 of the line");
}

static void test_other_types_convert(void **state) {
    (void)state;
    sluice_field_spec spec = {.name = "n", .type = SLUICE_TYPE_BIGINT};
    char err[256] = "";
    assert_int_equal(make(&spec, 1, err, sizeof err), SLUICE_OK);
    assert_int_equal(decode("-42", 3), SLUICE_OK);
    assert_int_equal(out[0].type, SLUICE_TYPE_BIGINT);
    assert_int_equal(out[0].u.i, -42);
    assert_int_equal(decode("4 2", 3), SLUICE_ERR_MALFORMED);
    assert_string_equal(reason, "column 'n': expected BIGINT, got \"4 2\"");
}

static void test_one_column_only(void **state) {
    (void)state;
    sluice_field_spec two[2] = {{.name = "value", .type = SLUICE_TYPE_VARCHAR},
                                {.name = "extra", .type = SLUICE_TYPE_BIGINT}};
    char err[256] = "";
    assert_int_equal(make(two, 2, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_string_equal(err, "format lines: a record is one line, so the source has one column besides METADATA "
                             "columns (such as value VARCHAR), not 2 (column 'value' and 'extra')");
    assert_null(dec);
    sluice_field_spec path = {.name = "value", .path = "$.a", .type = SLUICE_TYPE_VARCHAR};
    assert_int_equal(make(&path, 1, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_string_equal(err, "format lines: column 'value' cannot have a PATH (a line has no fields)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_varchar_is_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_is_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_types_convert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_column_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
