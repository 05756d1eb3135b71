/* CSV and JSON writers: output compared byte for byte with hand-written
 * text. */
#include "sluice_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

static char *mem;
static size_t memlen;

static FILE *open_mem(void) {
    mem = NULL;
    memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    return f;
}

/* Close the stream and compare its bytes with want[0..n). */
static void expect_bytes(FILE *f, const char *want, size_t n) {
    assert_int_equal(fclose(f), 0);
    if (memlen != n || memcmp(mem, want, n) != 0)
        fail_msg("got '%.*s' (%zu bytes), want '%.*s' (%zu bytes)", (int)memlen, mem, memlen,
                 (int)n, want, n);
    free(mem);
}

static void expect_text(FILE *f, const char *want) { expect_bytes(f, want, strlen(want)); }

static const sluice_column COLS[] = {
    {"ts", SLUICE_TYPE_TIMESTAMP}, {"origin", SLUICE_TYPE_VARCHAR}, {"avg delay", SLUICE_TYPE_DOUBLE},
    {"a,b", SLUICE_TYPE_VARCHAR},  {"q\"x", SLUICE_TYPE_VARCHAR},   {"gone", SLUICE_TYPE_BIGINT},
    {"n", SLUICE_TYPE_BIGINT},     {"flag", SLUICE_TYPE_BOOLEAN},   {"empty", SLUICE_TYPE_VARCHAR},
    {"lines", SLUICE_TYPE_VARCHAR},
};

static void fill_row(sluice_value *row) {
    row[0] = sluice_value_timestamp(978310020000LL);
    row[1] = sluice_value_varchar("DTW", 3);
    row[2] = sluice_value_double(12.5);
    row[3] = sluice_value_varchar("a,b", 3);
    row[4] = sluice_value_varchar("say \"hi\"", 8);
    row[5] = sluice_value_null();
    row[6] = sluice_value_bigint(-3);
    row[7] = sluice_value_bool(1);
    row[8] = sluice_value_varchar("", 0);
    row[9] = sluice_value_varchar("line\nbreak\r", 11);
}

static void test_csv(void **state) {
    (void)state;
    FILE *f = open_mem();
    assert_int_equal(sluice_csv_write_header(f, COLS, 10, ','), SLUICE_OK);
    expect_text(f, "ts,origin,avg delay,\"a,b\",\"q\"\"x\",gone,n,flag,empty,lines\n");

    sluice_value row[10];
    fill_row(row);
    f = open_mem();
    assert_int_equal(sluice_csv_write_row(f, row, 10, ','), SLUICE_OK);
    assert_int_equal(sluice_csv_write_row(f, row, 2, ','), SLUICE_OK);
    expect_text(f, "2001-01-01 00:47:00,DTW,12.5,\"a,b\",\"say \"\"hi\"\"\",,-3,true,\"\","
                   "\"line\nbreak\r\"\n"
                   "2001-01-01 00:47:00,DTW\n");

    /* another delimiter changes what needs quoting */
    sluice_value r2[4] = {sluice_value_varchar("a,b", 3), sluice_value_varchar("c;d", 3),
                          sluice_value_double(0.1), sluice_value_timestamp(-1)};
    f = open_mem();
    assert_int_equal(sluice_csv_write_row(f, r2, 4, ';'), SLUICE_OK);
    expect_text(f, "a,b;\"c;d\";0.1;1969-12-31 23:59:59.999\n");

    /* a single NULL column is an empty line; embedded NUL bytes are kept */
    sluice_value r3[1] = {sluice_value_null()};
    sluice_value r4[1] = {sluice_value_varchar("x\0y", 3)};
    f = open_mem();
    assert_int_equal(sluice_csv_write_row(f, r3, 1, ','), SLUICE_OK);
    assert_int_equal(sluice_csv_write_row(f, r4, 1, ','), SLUICE_OK);
    expect_bytes(f, "\nx\0y\n", 5);
}

static void test_json_row(void **state) {
    (void)state;
    sluice_value row[10];
    fill_row(row);
    FILE *f = open_mem();
    assert_int_equal(sluice_json_write_row(f, COLS, row, 10), SLUICE_OK);
    expect_text(f, "{\"ts\":\"2001-01-01 00:47:00\",\"origin\":\"DTW\",\"avg delay\":12.5,"
                   "\"a,b\":\"a,b\",\"q\\\"x\":\"say \\\"hi\\\"\",\"gone\":null,\"n\":-3,"
                   "\"flag\":true,\"empty\":\"\",\"lines\":\"line\\nbreak\\r\"}\n");

    static const sluice_column cols[] = {
        {"min", SLUICE_TYPE_BIGINT},  {"d", SLUICE_TYPE_DOUBLE},  {"nan", SLUICE_TYPE_DOUBLE},
        {"inf", SLUICE_TYPE_DOUBLE},  {"neg0", SLUICE_TYPE_DOUBLE}, {"big", SLUICE_TYPE_DOUBLE},
        {"no", SLUICE_TYPE_BOOLEAN},  {"iv", SLUICE_TYPE_INTERVAL}, {"s", SLUICE_TYPE_VARCHAR},
        {"ts", SLUICE_TYPE_TIMESTAMP},
    };
    sluice_value r[10] = {
        sluice_value_bigint(INT64_MIN),
        sluice_value_double(0.1),
        sluice_value_double(NAN),
        sluice_value_double(-INFINITY),
        sluice_value_double(-0.0),
        sluice_value_double(1e300),
        sluice_value_bool(0),
        {.type = SLUICE_TYPE_INTERVAL, .u.i = 300000},
        sluice_value_varchar("tab\there \\ \x01 \xc3\xa9 \x7f/", 18),
        sluice_value_timestamp(978310020123LL),
    };
    f = open_mem();
    assert_int_equal(sluice_json_write_row(f, cols, r, 10), SLUICE_OK);
    expect_text(f, "{\"min\":-9223372036854775808,\"d\":0.1,\"nan\":null,\"inf\":null,"
                   "\"neg0\":-0,\"big\":1e+300,\"no\":false,\"iv\":300000,"
                   "\"s\":\"tab\\there \\\\ \\u0001 \xc3\xa9 \x7f/\","
                   "\"ts\":\"2001-01-01 00:47:00.123\"}\n");

    /* zero columns */
    f = open_mem();
    assert_int_equal(sluice_json_write_row(f, cols, r, 0), SLUICE_OK);
    expect_text(f, "{}\n");
}

static void test_json_string(void **state) {
    (void)state;
    FILE *f = open_mem();
    assert_int_equal(sluice_json_write_string(f, "", 0), SLUICE_OK);
    assert_int_equal(sluice_json_write_string(f, "plain", 5), SLUICE_OK);
    assert_int_equal(sluice_json_write_string(f, "a\0b", 3), SLUICE_OK);
    assert_int_equal(sluice_json_write_string(f, "\0", 1), SLUICE_OK);
    assert_int_equal(sluice_json_write_string(f, "\0\0\"x\0", 5), SLUICE_OK);
    assert_int_equal(sluice_json_write_string(f, "{\"a\":1}\n", 8), SLUICE_OK);
    expect_text(f, "\"\"\"plain\"\"a\\u0000b\"\"\\u0000\"\"\\u0000\\u0000\\\"x\\u0000\""
                   "\"{\\\"a\\\":1}\\n\"");

    /* long strings (past any small buffer) */
    size_t n = 5000;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (i % 100 == 99) ? '\n' : 'a' + (char)(i % 26);
    f = open_mem();
    assert_int_equal(sluice_json_write_string(f, big, n), SLUICE_OK);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(memlen, n + 2 + n / 100); /* quotes, and \n is 2 bytes */
    assert_int_equal(mem[0], '"');
    assert_memory_equal(mem + 1, big, 99);
    assert_memory_equal(mem + 100, "\\n", 2);
    assert_int_equal(mem[memlen - 1], '"');
    free(mem);
    free(big);
}

static void test_io_error(void **state) {
    (void)state;
    FILE *f = fopen("/dev/null", "r");
    assert_non_null(f);
    sluice_value row[10];
    fill_row(row);
    assert_int_equal(sluice_csv_write_header(f, COLS, 10, ','), SLUICE_ERR_IO);
    assert_int_equal(sluice_csv_write_row(f, row, 10, ','), SLUICE_ERR_IO);
    assert_int_equal(sluice_json_write_row(f, COLS, row, 10), SLUICE_ERR_IO);
    assert_int_equal(sluice_json_write_string(f, "x", 1), SLUICE_ERR_IO);
    fclose(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json_row),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
