/*
 * What a MySQL column holds (src/connectors/mysql_columns.c), without a
 * server: information_schema rows as MariaDB 10.11 reports them for
 * VARCHAR(8) utf8mb4, TEXT utf8mb4, VARCHAR(10) utf8mb3 and latin1,
 * DOUBLE, DECIMAL and BIGINT UNSIGNED, and the reason given for each value
 * that does not fit (hand-written).
 */
#include "sluice_test.h"

#include <math.h>
#include <string.h>

#include <mysqld_error.h>

#include "connectors/mysql_columns.h"

static sluice_value str(const char *s) {
    sluice_value v = {.type = SLUICE_TYPE_VARCHAR};
    v.u.s = s;
    v.len = (uint32_t)strlen(s);
    return v;
}

static sluice_value dbl(double d) {
    sluice_value v = {.type = SLUICE_TYPE_DOUBLE};
    v.u.d = d;
    return v;
}

static sluice_value big(int64_t i) {
    sluice_value v = {.type = SLUICE_TYPE_BIGINT};
    v.u.i = i;
    return v;
}

/* "" when v fits, else the reason */
static const char *unfit(const sluice_mysql_column *c, sluice_value v) {
    static char buf[512];
    if (!sluice_mysql_value_unfit(c, "c", &v, buf, sizeof buf)) return "";
    return buf;
}

static void varchar_counts_characters_and_checks_utf8(void **state) {
    (void)state;
    sluice_mysql_column c;
    sluice_mysql_column_read(&c, "varchar", "varchar(8)", "8", "32", "utf8mb4");
    assert_string_equal(unfit(&c, str("12345678")), "");
    /* 8 characters in 16 bytes: fits */
    assert_string_equal(unfit(&c, str("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9")), "");
    assert_string_equal(unfit(&c, str("123456789")), "column 'c': 9 characters, varchar(8) holds at most 8");
    assert_string_equal(unfit(&c, str("a\xff")),
                        "column 'c': the value is not valid UTF-8, which a utf8mb4 column cannot hold");
    /* an overlong '/' and a UTF-16 surrogate are not UTF-8 either */
    assert_string_equal(unfit(&c, str("\xc0\xaf")),
                        "column 'c': the value is not valid UTF-8, which a utf8mb4 column cannot hold");
    assert_string_equal(unfit(&c, str("\xed\xa0\x80")),
                        "column 'c': the value is not valid UTF-8, which a utf8mb4 column cannot hold");
    assert_string_equal(unfit(&c, str("\xf0\x9f\x98\x80")), "");
    assert_false(sluice_mysql_column_holds_all(&c, SLUICE_TYPE_VARCHAR));
}

static void text_counts_bytes(void **state) {
    (void)state;
    sluice_mysql_column c;
    sluice_mysql_column_read(&c, "text", "text", "65535", "65535", "utf8mb4");
    static char v[65537];
    memset(v, 'x', 65535);
    assert_string_equal(unfit(&c, str(v)), "");
    v[65535] = 'x';
    assert_string_equal(unfit(&c, str(v)), "column 'c': 65536 bytes, text holds at most 65535");
    sluice_mysql_column l;
    sluice_mysql_column_read(&l, "longtext", "longtext", "4294967295", "4294967295", "utf8mb4");
    assert_string_equal(unfit(&l, str(v)), "");
    assert_true(sluice_mysql_column_holds_all(&l, SLUICE_TYPE_VARCHAR));
}

static void other_character_sets(void **state) {
    (void)state;
    sluice_mysql_column c;
    sluice_mysql_column_read(&c, "varchar", "varchar(10)", "10", "30", "utf8mb3");
    assert_string_equal(unfit(&c, str("\xe2\x82\xac")), "");
    assert_string_equal(unfit(&c, str("\xf0\x9f\x98\x80")),
                        "column 'c': the value has a 4-byte UTF-8 character, which a utf8mb3 column cannot hold");
    /* latin1: the server converts; what it cannot is left to it */
    sluice_mysql_column_read(&c, "varchar", "varchar(2)", "2", "2", "latin1");
    assert_string_equal(unfit(&c, str("\xc3\xa9\xc3\xa9")), "");
    assert_string_equal(unfit(&c, str("\xff\xff")), "");
    assert_string_equal(unfit(&c, str("abc")), "column 'c': 3 characters, varchar(2) holds at most 2");
}

static void numbers(void **state) {
    (void)state;
    sluice_mysql_column d;
    sluice_mysql_column_read(&d, "double", "double", NULL, NULL, NULL);
    assert_string_equal(unfit(&d, dbl(1.5)), "");
    assert_string_equal(unfit(&d, dbl(NAN)), "column 'c': NaN, which a MySQL double cannot store");
    assert_string_equal(unfit(&d, dbl(-INFINITY)), "column 'c': -Infinity, which a MySQL double cannot store");
    assert_true(sluice_mysql_column_holds_all(&d, SLUICE_TYPE_DOUBLE));
    sluice_mysql_column dec;
    sluice_mysql_column_read(&dec, "decimal", "decimal(10,2)", NULL, NULL, NULL);
    assert_false(sluice_mysql_column_holds_all(&dec, SLUICE_TYPE_DOUBLE));
    sluice_mysql_column u;
    sluice_mysql_column_read(&u, "bigint", "bigint(20) unsigned", NULL, NULL, NULL);
    assert_string_equal(unfit(&u, big(0)), "");
    assert_string_equal(unfit(&u, big(-1)), "column 'c': a negative number, which bigint(20) unsigned cannot hold");
    assert_false(sluice_mysql_column_holds_all(&u, SLUICE_TYPE_BIGINT));
    sluice_mysql_column s;
    sluice_mysql_column_read(&s, "bigint", "bigint(20)", NULL, NULL, NULL);
    assert_string_equal(unfit(&s, big(INT64_MIN)), "");
    assert_true(sluice_mysql_column_holds_all(&s, SLUICE_TYPE_BIGINT));
}

static void row_data_errors(void **state) {
    (void)state;
    assert_true(sluice_mysql_err_is_row_data(ER_DATA_TOO_LONG));
    assert_true(sluice_mysql_err_is_row_data(ER_TRUNCATED_WRONG_VALUE_FOR_FIELD));
    assert_true(sluice_mysql_err_is_row_data(ER_WARN_DATA_OUT_OF_RANGE));
    assert_false(sluice_mysql_err_is_row_data(ER_LOCK_DEADLOCK));
    assert_false(sluice_mysql_err_is_row_data(ER_DUP_ENTRY));
    assert_false(sluice_mysql_err_is_row_data(2013)); /* CR_SERVER_LOST */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(varchar_counts_characters_and_checks_utf8),
        cmocka_unit_test(text_counts_bytes),
        cmocka_unit_test(other_character_sets),
        cmocka_unit_test(numbers),
        cmocka_unit_test(row_data_errors),
    };
    return cmocka_run_group_tests_name("mysql columns", tests, NULL, NULL);
}
