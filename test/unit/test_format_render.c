/* sluice_value_render: every type, shortest round-trip doubles, truncation. */
#include "sluice_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

static void expect(sluice_value v, const char *want) {
    char buf[64];
    memset(buf, 'Z', sizeof buf);
    size_t n = sluice_value_render(&v, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_bigint(void **state) {
    (void)state;
    expect(sluice_value_bigint(0), "0");
    expect(sluice_value_bigint(-42), "-42");
    expect(sluice_value_bigint(INT64_MAX), "9223372036854775807");
    expect(sluice_value_bigint(INT64_MIN), "-9223372036854775808");
}

static void test_double(void **state) {
    (void)state;
    expect(sluice_value_double(0.1), "0.1");
    expect(sluice_value_double(1.5), "1.5");
    expect(sluice_value_double(100.0), "100");
    expect(sluice_value_double(0.0), "0");
    expect(sluice_value_double(-0.0), "-0");
    expect(sluice_value_double(1e300), "1e+300");
    expect(sluice_value_double(1e21), "1e+21");
    expect(sluice_value_double(5e-324), "5e-324"); /* shortest: was %.15g's 4.94065645841247e-324 */
    expect(sluice_value_double(1.0 / 3.0), "0.3333333333333333");
    expect(sluice_value_double(0.1 + 0.2), "0.30000000000000004");
    expect(sluice_value_double(NAN), "nan");
    expect(sluice_value_double(INFINITY), "inf");
    expect(sluice_value_double(-INFINITY), "-inf");

    /* every rendering reads back to the same bits */
    double samples[] = {0.1, 1e300, -0.0, 5e-324, 1.0 / 3.0, 0.1 + 0.2, 2.2250738585072014e-308,
                        1.7976931348623157e308, -123.456, 9007199254740993.0};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char buf[64];
        sluice_value v = sluice_value_double(samples[i]);
        sluice_value_render(&v, buf, sizeof buf);
        double back = strtod(buf, NULL);
        assert_memory_equal(&back, &samples[i], sizeof back);
    }
}

static void test_other_types(void **state) {
    (void)state;
    expect(sluice_value_bool(1), "true");
    expect(sluice_value_bool(0), "false");
    expect(sluice_value_timestamp(978310020000LL), "2001-01-01 00:47:00");
    expect(sluice_value_timestamp(-1), "1969-12-31 23:59:59.999");
    sluice_value iv = {.type = SLUICE_TYPE_INTERVAL, .u.i = 300000};
    expect(iv, "300000");
    expect(sluice_value_null(), "");
    expect(sluice_value_varchar("hello, world", 5), "hello");
    expect(sluice_value_varchar("", 0), "");

    /* VARCHAR with an embedded NUL: all bytes copied */
    char buf[8];
    sluice_value v = sluice_value_varchar("a\0b", 3);
    assert_int_equal(sluice_value_render(&v, buf, sizeof buf), 3);
    assert_memory_equal(buf, "a\0b\0", 4);
}

static void test_truncation(void **state) {
    (void)state;
    char buf[4];
    sluice_value v = sluice_value_bigint(123456);
    assert_int_equal(sluice_value_render(&v, buf, sizeof buf), 6);
    assert_string_equal(buf, "123");
    v = sluice_value_varchar("abcdef", 6);
    assert_int_equal(sluice_value_render(&v, buf, sizeof buf), 6);
    assert_string_equal(buf, "abc");
    v = sluice_value_timestamp(978310020123LL);
    assert_int_equal(sluice_value_render(&v, buf, sizeof buf), 23);
    assert_string_equal(buf, "200");
    v = sluice_value_double(0.25);
    assert_int_equal(sluice_value_render(&v, buf, sizeof buf), 4);
    assert_string_equal(buf, "0.2");
    /* size 0: nothing written, length still returned */
    buf[0] = 'X';
    v = sluice_value_bool(1);
    assert_int_equal(sluice_value_render(&v, buf, 0), 4);
    assert_int_equal(buf[0], 'X');
}

/* Text tables (console, memory sink) render VARCHAR as UTF-8: each maximal
 * subpart of an ill-formed sequence is one U+FFFD; truncation and the
 * returned full length as for other values. */
static void test_invalid_utf8(void **state) {
    (void)state;
    expect(sluice_value_varchar("a\xFF" "b\xE2\x82", 5), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    expect(sluice_value_varchar("\xC3\xA9\xC0\xAF", 4), "\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD");
    char buf[4];
    sluice_value v = sluice_value_varchar("a\xFF" "bc", 4);
    assert_int_equal(sluice_value_render(&v, buf, sizeof buf), 6);
    assert_memory_equal(buf, "a\xEF\xBF", 4);
    buf[0] = 'X';
    assert_int_equal(sluice_value_render(&v, buf, 0), 6);
    assert_int_equal(buf[0], 'X');
    char one[1] = {'X'};
    assert_int_equal(sluice_value_render(&v, one, 1), 6);
    assert_int_equal(one[0], '\0');
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bigint),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_other_types),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
