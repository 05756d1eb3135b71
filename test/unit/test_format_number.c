/* Numbers as text (format/number_format.h): integers at the int64 limits
 * and against printf, doubles that read back to the same bits with no
 * more digits than the old %.15g/%.16g/%.17g rule, in its layout. */
#include "sluice_test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/number_format.h"

static void expect_int(int64_t v, const char *want) {
    char buf[SLUICE_NUMBER_TEXT_MAX];
    size_t n = sluice_fmt_int64(v, buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void expect_double(double d, const char *want) {
    char buf[SLUICE_NUMBER_TEXT_MAX];
    size_t n = sluice_fmt_double(d, buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

/* A deterministic 64-bit generator (splitmix64), so failures reproduce. */
static uint64_t next_random(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void test_int64(void **state) {
    (void)state;
    expect_int(0, "0");
    expect_int(9, "9");
    expect_int(10, "10");
    expect_int(-1, "-1");
    expect_int(99, "99");
    expect_int(100, "100");
    expect_int(-100, "-100");
    expect_int(INT64_MAX, "9223372036854775807");
    expect_int(INT64_MIN, "-9223372036854775808");
    expect_int(INT64_MIN + 1, "-9223372036854775807");
    expect_int(1000000000000000000LL, "1000000000000000000");
    /* every width, both signs, against printf */
    uint64_t seed = 17;
    for (int i = 0; i < 100000; i++) {
        uint64_t r = next_random(&seed);
        int64_t v = (int64_t)(r >> (r % 64));
        if (i & 1) v = -v;
        char want[32], got[SLUICE_NUMBER_TEXT_MAX];
        snprintf(want, sizeof want, "%lld", (long long)v);
        sluice_fmt_int64(v, got);
        assert_string_equal(got, want);
    }
}

static void test_double_layout(void **state) {
    (void)state;
    expect_double(0.0, "0");
    expect_double(-0.0, "-0");
    expect_double(0.1, "0.1");
    expect_double(-1.5, "-1.5");
    expect_double(100.0, "100");
    expect_double(0.0001, "0.0001");
    expect_double(0.00001, "1e-05");
    expect_double(123456789012345.0, "123456789012345");
    expect_double(1e15, "1e+15");
    expect_double(1234567890123456.0, "1234567890123456");
    expect_double(12345678901234567.0, "12345678901234568");
    expect_double(1e16, "1e+16");
    expect_double(1e21, "1e+21");
    expect_double(1.5e300, "1.5e+300");
    expect_double(1e-300, "1e-300");
    expect_double(5e-324, "5e-324");
    expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_double(0.1 + 0.2, "0.30000000000000004");
    expect_double(1.0 / 3.0, "0.3333333333333333");
    expect_double(NAN, "nan");
    expect_double(INFINITY, "inf");
    expect_double(-INFINITY, "-inf");
}

/* The text before: the first of %.15g, %.16g, %.17g that reads back. */
static void old_text(double d, char *out, size_t size) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, d);
        double back = strtod(out, NULL);
        if (memcmp(&back, &d, sizeof d) == 0) return;
    }
}

/* Significant digits of a %g text. */
static int digits_of(const char *s) {
    int n = 0, leading = 1;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9') continue;
        if (*s == '0' && leading) continue;
        leading = 0;
        n++;
    }
    /* trailing zeros of an integer in fixed notation are not significant */
    return n;
}

static void test_double_round_trip(void **state) {
    (void)state;
    uint64_t seed = 42;
    int same = 0;
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = next_random(&seed);
        double d;
        if (i % 2) d = (double)(int64_t)(bits >> 20) / 1000.0; /* decimal-looking values */
        else memcpy(&d, &bits, sizeof d);                        /* any bit pattern */
        if (!isfinite(d)) continue;
        char got[SLUICE_NUMBER_TEXT_MAX], old[64];
        sluice_fmt_double(d, got);
        double back = strtod(got, NULL);
        if (memcmp(&back, &d, sizeof d) != 0) fail_msg("%s does not read back to %.17g", got, d);
        old_text(d, old, sizeof old);
        if (strcmp(got, old) == 0) {
            same++;
            continue;
        }
        /* where the text changed, a shorter exact form replaced a longer one */
        if (digits_of(got) >= digits_of(old)) fail_msg("%.17g: %s, was %s", d, got, old);
    }
    assert_true(same > 190000); /* the layout is the old one */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_double_layout),
        cmocka_unit_test(test_double_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
