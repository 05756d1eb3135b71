/* Timestamps: compile, parse (ISO-8601, strptime fast path, fallback,
 * epoch), render, days_from_civil.  Expected seconds were checked with
 * `date -u -d '<date> UTC' +%s`. */
#include "sluice_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

static sluice_ts_format *compile_ok(const char *pattern) {
    sluice_ts_format *f = NULL;
    char err[256] = "";
    assert_int_equal(sluice_ts_format_compile(pattern, &f, err, sizeof err), SLUICE_OK);
    return f;
}

static int parse(const sluice_ts_format *f, const char *text, int64_t *ms) {
    /* Not NUL-terminated on purpose: a copy with garbage after it. */
    size_t n = strlen(text);
    char *buf = malloc(n + 8);
    memcpy(buf, text, n);
    memcpy(buf + n, "99:99Zx", 8);
    int rc = sluice_ts_parse(f, buf, n, ms);
    free(buf);
    return rc;
}

static void expect_ms(const sluice_ts_format *f, const char *text, int64_t want) {
    int64_t ms = 12345;
    if (parse(f, text, &ms) != 0) fail_msg("'%s' did not parse", text);
    if (ms != want) fail_msg("'%s': got %lld, want %lld", text, (long long)ms, (long long)want);
}

static void expect_fail(const sluice_ts_format *f, const char *text) {
    int64_t ms;
    if (parse(f, text, &ms) == 0) fail_msg("'%s' parsed as %lld", text, (long long)ms);
}

static void test_days_from_civil(void **state) {
    (void)state;
    assert_int_equal(sluice_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(sluice_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(sluice_days_from_civil(2000, 1, 1), 10957);
    assert_int_equal(sluice_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(sluice_days_from_civil(2024, 2, 29), 19782);
    assert_int_equal(sluice_days_from_civil(1600, 1, 1), -135140);
}

static void test_iso(void **state) {
    (void)state;
    expect_ms(NULL, "2001-01-01T00:47:00Z", 978310020000LL);
    expect_ms(NULL, "2001-01-01 00:47:00", 978310020000LL);
    expect_ms(NULL, "2001-01-01T00:47:00", 978310020000LL);
    expect_ms(NULL, "2001-01-01T00:47Z", 978310020000LL);
    expect_ms(NULL, "2001-01-01", 978307200000LL);
    expect_ms(NULL, "2001-01-01T00:47:00.123Z", 978310020123LL);
    expect_ms(NULL, "2001-01-01T00:47:00.1Z", 978310020100LL);
    expect_ms(NULL, "2001-01-01T00:47:00.123456789Z", 978310020123LL);
    expect_ms(NULL, "2001-01-01T02:47:00+02:00", 978310020000LL);
    expect_ms(NULL, "2001-01-01T02:47:00+0200", 978310020000LL);
    expect_ms(NULL, "2000-12-31T19:47:00-05:00", 978310020000LL);
    expect_ms(NULL, "2000-02-29 12:00:00", 951825600000LL);
    expect_ms(NULL, "2024-02-29", 1709164800000LL);
    /* before 1970 */
    expect_ms(NULL, "1969-12-31T23:59:59Z", -1000LL);
    expect_ms(NULL, "1969-12-31T23:59:59.999Z", -1LL);
    expect_ms(NULL, "1965-07-20T10:30:15.5Z", -140448584500LL);
    expect_ms(NULL, "1900-03-01", -2203891200000LL);
    expect_ms(NULL, "1600-01-01T00:00:00Z", -11676096000000LL);

    expect_fail(NULL, "");
    expect_fail(NULL, "2001");
    expect_fail(NULL, "2001-13-01");
    expect_fail(NULL, "2001-00-10");
    expect_fail(NULL, "2001-02-29");
    expect_fail(NULL, "1900-02-29");
    expect_fail(NULL, "2001-02-30");
    expect_fail(NULL, "2001-1-1");
    expect_fail(NULL, "2001-01-01T");
    expect_fail(NULL, "2001-01-01T25:00:00");
    expect_fail(NULL, "2001-01-01T00:60:00");
    expect_fail(NULL, "2001-01-01T00:47:00Zjunk");
    expect_fail(NULL, "2001-01-01T00:47:00.Z");
    expect_fail(NULL, "2001-01-01T00:47:00+2");
    expect_fail(NULL, "2001/01/01 00:47");
    expect_fail(NULL, " 2001-01-01");
}

static void test_strptime_fast(void **state) {
    (void)state;
    sluice_ts_format *f = compile_ok("%Y/%m/%d %H:%M");
    assert_false(sluice_ts_format_is_epoch(f));
    expect_ms(f, "2001/01/01 00:47", 978310020000LL);
    expect_ms(f, "2001/1/1 0:47", 978310020000LL);      /* strptime takes 1 digit */
    expect_ms(f, "1969/12/31 23:59", -60000LL);
    expect_ms(f, "2000/02/29 12:00", 951825600000LL);
    expect_fail(f, "2001/01/01 00:47x");
    expect_fail(f, "2001/01/01");
    expect_fail(f, "2001-01-01 00:47");
    expect_fail(f, "2001/13/01 00:47");
    expect_fail(f, "2001/02/29 00:47");
    expect_fail(f, "2001/01/01 24:00");
    expect_fail(f, "");
    sluice_ts_format_free(f);

    f = compile_ok("%b %d %Y");
    expect_ms(f, "Jan 1 2000", 946684800000LL);
    expect_ms(f, "Jan  1 2000", 946684800000LL);
    expect_ms(f, "jan 01 2000", 946684800000LL);
    expect_ms(f, "January 1 2000", 946684800000LL);
    expect_ms(f, "Feb 29 2000", 951782400000LL);
    expect_fail(f, "Foo 1 2000");
    expect_fail(f, "Jan 32 2000");
    sluice_ts_format_free(f);

    f = compile_ok("%d/%b/%Y:%H:%M:%S");
    expect_ms(f, "10/Oct/2000:13:55:36", 971186136000LL);
    sluice_ts_format_free(f);

    f = compile_ok("%e.%m.%Y");
    expect_ms(f, " 1.01.2000", 946684800000LL);
    sluice_ts_format_free(f);

    f = compile_ok("%Y-%j");
    expect_ms(f, "2000-061", 951868800000LL); /* day 61 of a leap year: Mar 1 */
    expect_ms(f, "2000-1", 946684800000LL);
    expect_fail(f, "2000-367");
    sluice_ts_format_free(f);

    f = compile_ok("%Y%%%m");
    expect_ms(f, "2001%02", 980985600000LL); /* 2001-02-01 */
    expect_fail(f, "2001-02");
    sluice_ts_format_free(f);

    f = compile_ok("%Y");
    expect_ms(f, "1969", -31536000000LL);
    sluice_ts_format_free(f);
}

static void test_strptime_fallback(void **state) {
    (void)state;
    sluice_ts_format *f = compile_ok("%y%m%d");
    expect_ms(f, "010101", 978307200000LL);
    sluice_ts_format_free(f);

    f = compile_ok("%A, %d %B %Y");
    expect_ms(f, "Monday, 01 January 2001", 978307200000LL);
    expect_fail(f, "Monday, 01 January 2001 extra");
    sluice_ts_format_free(f);

    f = compile_ok("%Y-%m-%dT%H:%M:%S%z");
    expect_ms(f, "2001-01-01T02:47:00+0200", 978310020000LL);
    expect_ms(f, "1969-12-31T23:59:59+0000", -1000LL);
    sluice_ts_format_free(f);
}

static void test_compile_errors(void **state) {
    (void)state;
    const char *bad[] = {"%Y-%", "%Q", "no directive", "%Y %K"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sluice_ts_format *f = (sluice_ts_format *)1;
        char err[256] = "";
        assert_int_equal(sluice_ts_format_compile(bad[i], &f, err, sizeof err), SLUICE_ERR_INVALID);
        assert_null(f);
        assert_non_null(strstr(err, bad[i]));
    }
    sluice_ts_format_free(NULL);
    /* NULL and empty: ISO-8601 */
    sluice_ts_format *f = compile_ok("");
    expect_ms(f, "2001-01-01T00:47:00Z", 978310020000LL);
    sluice_ts_format_free(f);
    f = compile_ok(NULL);
    expect_ms(f, "2001-01-01", 978307200000LL);
    assert_false(sluice_ts_format_is_epoch(f));
    sluice_ts_format_free(f);
    assert_false(sluice_ts_format_is_epoch(NULL));
}

static void test_epoch(void **state) {
    (void)state;
    sluice_ts_format *ems = compile_ok("epoch_ms");
    sluice_ts_format *es = compile_ok("epoch_s");
    assert_true(sluice_ts_format_is_epoch(ems));
    assert_true(sluice_ts_format_is_epoch(es));

    expect_ms(ems, "978310020000", 978310020000LL);
    expect_ms(ems, "-1", -1LL);
    /* Flink's TIMESTAMP(3) range, 0000-01-01 to 9999-12-31 23:59:59.999:
     * beyond it a window's end overflowed int64 and aborted the engine */
    expect_ms(ems, "253402300799999", 253402300799999LL);
    expect_fail(ems, "253402300800000");
    expect_ms(ems, "-62167219200000", -62167219200000LL);
    expect_fail(ems, "-62167219200001");
    expect_fail(ems, "9223372036854775807");
    expect_fail(ems, "-9223372036854775808");
    expect_fail(ems, "9223372036854775808");
    expect_fail(ems, "12abc");
    expect_fail(ems, "");
    expect_fail(ems, "2001-01-01");
    expect_ms(es, "978310020", 978310020000LL);
    expect_ms(es, "-1", -1000LL);
    expect_ms(es, "1.5", 1500LL);
    expect_ms(es, "-0.25", -250LL);
    expect_fail(es, "9223372036854776"); /* * 1000 overflows */
    expect_fail(es, "1.5x");

    int64_t ms = 0;
    assert_int_equal(sluice_ts_from_number(es, 978310020.0, &ms), 0);
    assert_int_equal(ms, 978310020000LL);
    assert_int_equal(sluice_ts_from_number(es, 1.001, &ms), 0);
    assert_int_equal(ms, 1001);
    assert_int_equal(sluice_ts_from_number(es, -1.5, &ms), 0);
    assert_int_equal(ms, -1500);
    assert_int_equal(sluice_ts_from_number(ems, 1500.0, &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(sluice_ts_from_number(ems, -86400000.0, &ms), 0);
    assert_int_equal(ms, -86400000);
    assert_int_equal(sluice_ts_from_number(ems, NAN, &ms), -1);
    assert_int_equal(sluice_ts_from_number(ems, INFINITY, &ms), -1);
    assert_int_equal(sluice_ts_from_number(es, 1e300, &ms), -1);
    assert_int_equal(sluice_ts_from_number(es, 253402300799.999, &ms), 0);
    assert_int_equal(ms, 253402300799999LL);
    assert_int_equal(sluice_ts_from_number(es, 253402300800.0, &ms), -1);
    assert_int_equal(sluice_ts_from_number(ems, 9.1e18, &ms), -1);
    assert_int_equal(sluice_ts_from_number(ems, -9.1e18, &ms), -1);
    /* the text forms keep to the same range */
    sluice_ts_format *iso0 = compile_ok(NULL);
    expect_ms(iso0, "9999-12-31 23:59:59.999", 253402300799999LL);
    expect_fail(iso0, "9999-12-31T23:59:59-01:00");
    expect_ms(iso0, "0000-01-01", -62167219200000LL);
    expect_fail(iso0, "0000-01-01T00:00:00+00:01");
    sluice_ts_format_free(iso0);
    assert_int_equal(sluice_ts_from_number(NULL, 1.0, &ms), -1);
    sluice_ts_format *iso = compile_ok(NULL);
    assert_int_equal(sluice_ts_from_number(iso, 1.0, &ms), -1);
    sluice_ts_format *pat = compile_ok("%Y");
    assert_int_equal(sluice_ts_from_number(pat, 1.0, &ms), -1);
    sluice_ts_format_free(iso);
    sluice_ts_format_free(pat);
    sluice_ts_format_free(ems);
    sluice_ts_format_free(es);
}

static void expect_render(int64_t ms, const char *want) {
    char buf[32];
    memset(buf, 'Z', sizeof buf);
    size_t n = sluice_ts_render(ms, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_render(void **state) {
    (void)state;
    expect_render(0, "1970-01-01 00:00:00");
    expect_render(978310020000LL, "2001-01-01 00:47:00");
    expect_render(978310020123LL, "2001-01-01 00:47:00.123");
    expect_render(978310020005LL, "2001-01-01 00:47:00.005");
    expect_render(-1, "1969-12-31 23:59:59.999");
    expect_render(-1000, "1969-12-31 23:59:59");
    expect_render(-140448584500LL, "1965-07-20 10:30:15.500");
    expect_render(951825600000LL, "2000-02-29 12:00:00");
    expect_render(1709164800000LL, "2024-02-29 00:00:00");
    expect_render(-11676096000000LL, "1600-01-01 00:00:00");
    expect_render(1104537599000LL, "2004-12-31 23:59:59");
    /* the extremes fit in 32 bytes */
    char buf[32];
    assert_true(sluice_ts_render(INT64_MAX, buf, sizeof buf) < 32);
    assert_true(sluice_ts_render(INT64_MIN, buf, sizeof buf) < 32);
    /* round trip through the ISO parser */
    int64_t back = 0;
    int64_t samples[] = {0, -1, 978310020123LL, -140448584500LL, 951825600000LL};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        size_t n = sluice_ts_render(samples[i], buf, sizeof buf);
        assert_int_equal(sluice_ts_parse(NULL, buf, n, &back), 0);
        assert_int_equal(back, samples[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_iso),
        cmocka_unit_test(test_strptime_fast),
        cmocka_unit_test(test_strptime_fallback),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_epoch),
        cmocka_unit_test(test_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
