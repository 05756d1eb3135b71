/* JSON decoder: conversions, missing/null fields, escapes, PATH columns,
 * malformed records.  Every input is handed over with
 * SLUICE_RECORD_PADDING readable bytes after it (filled with junk). */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "sluice/batch.h"

typedef struct fixture {
    sluice_arena *arena;
    sluice_decoder *dec;
    sluice_ts_format *fmt[4];
    char reason[256];
    sluice_value out[16];
} fixture;

static fixture F;

static int setup(void **state) {
    (void)state;
    memset(&F, 0, sizeof F);
    F.arena = sluice_arena_new(0);
    return F.arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_decoder_free(F.dec);
    for (int i = 0; i < 4; i++) sluice_ts_format_free(F.fmt[i]);
    sluice_arena_destroy(F.arena);
    return 0;
}

static const sluice_ts_format *fmt(int slot, const char *pattern) {
    char err[128];
    assert_int_equal(sluice_ts_format_compile(pattern, &F.fmt[slot], err, sizeof err), SLUICE_OK);
    return F.fmt[slot];
}

static void make(const sluice_field_spec *specs, size_t n) {
    sluice_decoder_options o = {.format = SLUICE_FORMAT_JSON};
    char err[256] = "";
    sluice_decoder_free(F.dec);
    F.dec = NULL;
    sluice_err_t rc = sluice_decoder_new(&o, specs, n, &F.dec, err, sizeof err);
    if (rc != SLUICE_OK) fail_msg("decoder_new: %s", err);
}

/* Decode `len` bytes of json from a heap copy followed by junk padding. */
static sluice_err_t decode_n(const char *json, size_t len) {
    char *buf = malloc(len + SLUICE_RECORD_PADDING);
    memcpy(buf, json, len);
    memset(buf + len, '7', SLUICE_RECORD_PADDING);
    F.reason[0] = '\0';
    for (int i = 0; i < 16; i++) F.out[i].type = 0xEE; /* must be overwritten */
    sluice_err_t rc = sluice_decoder_decode(F.dec, buf, len, F.out, F.arena, F.reason,
                                            sizeof F.reason);
    memset(buf, '#', len); /* decoded strings must not point into the input */
    free(buf);
    return rc;
}

static sluice_err_t decode(const char *json) { return decode_n(json, strlen(json)); }

static void decode_ok(const char *json) {
    sluice_err_t rc = decode(json);
    if (rc != SLUICE_OK) fail_msg("decode(%s) = %d: %s", json, rc, F.reason);
}

static void expect_malformed(const char *json, const char *reason) {
    sluice_err_t rc = decode(json);
    if (rc != SLUICE_ERR_MALFORMED) fail_msg("decode(%s) = %d, want MALFORMED", json, rc);
    if (strcmp(F.reason, reason) != 0)
        fail_msg("decode(%s): reason '%s', want '%s'", json, F.reason, reason);
}

static void expect_invalid(const char *json) {
    sluice_err_t rc = decode(json);
    if (rc != SLUICE_ERR_MALFORMED) fail_msg("decode(%s) = %d, want MALFORMED", json, rc);
    if (strncmp(F.reason, "invalid JSON: ", 14) != 0 || strlen(F.reason) < 20)
        fail_msg("decode(%s): reason '%s'", json, F.reason);
}

static void assert_null_value(const sluice_value *v) { assert_int_equal(v->type, SLUICE_TYPE_NULL); }

static void assert_bigint(const sluice_value *v, int64_t x) {
    assert_int_equal(v->type, SLUICE_TYPE_BIGINT);
    assert_int_equal(v->u.i, x);
}

static void assert_double(const sluice_value *v, double x) {
    assert_int_equal(v->type, SLUICE_TYPE_DOUBLE);
    assert_memory_equal(&v->u.d, &x, sizeof x);
}

static void assert_ts(const sluice_value *v, int64_t ms) {
    assert_int_equal(v->type, SLUICE_TYPE_TIMESTAMP);
    assert_int_equal(v->u.i, ms);
}

static void assert_bool(const sluice_value *v, int b) {
    assert_int_equal(v->type, SLUICE_TYPE_BOOLEAN);
    assert_int_equal(v->u.i, b);
}

static void assert_varchar_n(const sluice_value *v, const char *s, size_t n) {
    assert_int_equal(v->type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(v->len, n);
    assert_memory_equal(v->u.s, s, n);
}

static void assert_varchar(const sluice_value *v, const char *s) { assert_varchar_n(v, s, strlen(s)); }

/* ---------------------------------------------------------------- */

static void test_flight_line(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "date", .type = SLUICE_TYPE_TIMESTAMP, .ts_format = fmt(0, "%Y/%m/%d %H:%M")},
        {.name = "delay", .type = SLUICE_TYPE_BIGINT},
        {.name = "origin", .type = SLUICE_TYPE_VARCHAR},
    };
    make(specs, 3);
    decode_ok("{\"date\":\"2001/01/01 00:47\",\"delay\":66,\"distance\":1750,"
              "\"origin\":\"DTW\",\"destination\":\"LAS\"}");
    assert_ts(&F.out[0], 978310020000LL);
    assert_bigint(&F.out[1], 66);
    assert_varchar(&F.out[2], "DTW");

    /* whitespace everywhere, other key order, nested decoys */
    decode_ok(" {\n \"origin\" : \"SFO\" ,\t\"x\": {\"delay\": 1, \"origin\": [\"no\"]},"
              " \"delay\" : -3 , \"date\" : \"1969/12/31 23:59\" } ");
    assert_ts(&F.out[0], -60000LL);
    assert_bigint(&F.out[1], -3);
    assert_varchar(&F.out[2], "SFO");

    /* strings live in the arena and survive the next decode */
    const sluice_value first = F.out[2];
    decode_ok("{\"origin\":\"LAX\"}");
    assert_varchar(&first, "SFO");
    assert_varchar(&F.out[2], "LAX");
}

static void test_missing_and_null(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "a", .type = SLUICE_TYPE_BIGINT},
        {.name = "b", .type = SLUICE_TYPE_DOUBLE},
        {.name = "c", .type = SLUICE_TYPE_VARCHAR},
        {.name = "d", .type = SLUICE_TYPE_BOOLEAN},
        {.name = "e", .type = SLUICE_TYPE_TIMESTAMP},
    };
    make(specs, 5);
    decode_ok("{}");
    for (int i = 0; i < 5; i++) assert_null_value(&F.out[i]);
    decode_ok("{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null}");
    for (int i = 0; i < 5; i++) assert_null_value(&F.out[i]);
    decode_ok("{\"zz\":1,\"c\":\"\"}");
    assert_null_value(&F.out[0]);
    assert_varchar(&F.out[2], "");
}

static void test_escaped_keys_and_strings(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "delay", .type = SLUICE_TYPE_BIGINT},
        {.name = "ori\"gin", .type = SLUICE_TYPE_VARCHAR},
        {.name = "caf\xc3\xa9", .type = SLUICE_TYPE_VARCHAR},
    };
    make(specs, 3);
    decode_ok("{\"de\\u006cay\":5,\"ori\\\"gin\":\"a\\\"b\\\\c\\/d\\n\","
              "\"caf\\u00e9\":\"\\ud83d\\ude00 \\u00e9\"}");
    assert_bigint(&F.out[0], 5);
    assert_varchar(&F.out[1], "a\"b\\c/d\n");
    assert_varchar(&F.out[2], "\xf0\x9f\x98\x80 \xc3\xa9");

    /* a key that only matches after unescaping; a raw UTF-8 key */
    decode_ok("{\"caf\xc3\xa9\":\"raw\",\"delay\":1}");
    assert_varchar(&F.out[2], "raw");
    assert_null_value(&F.out[1]);

    /* embedded NUL */
    decode_ok("{\"ori\\\"gin\":\"a\\u0000b\"}");
    assert_varchar_n(&F.out[1], "a\0b", 3);

    /* a duplicated key: the first occurrence wins (as with at_pointer) */
    decode_ok("{\"delay\":1,\"delay\":2}");
    assert_bigint(&F.out[0], 1);

    /* a key that is a prefix of a wanted name, and one that extends it */
    decode_ok("{\"dela\":1,\"delayed\":2}");
    assert_null_value(&F.out[0]);
}

static void test_bigint(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {{.name = "n", .type = SLUICE_TYPE_BIGINT}};
    make(specs, 1);
    decode_ok("{\"n\":9223372036854775807}");
    assert_bigint(&F.out[0], INT64_MAX);
    decode_ok("{\"n\":-9223372036854775808}");
    assert_bigint(&F.out[0], INT64_MIN);
    decode_ok("{\"n\":0}");
    assert_bigint(&F.out[0], 0);
    decode_ok("{\"n\":3.0}");
    assert_bigint(&F.out[0], 3);
    decode_ok("{\"n\":1e3}");
    assert_bigint(&F.out[0], 1000);
    decode_ok("{\"n\":\"42\"}");
    assert_bigint(&F.out[0], 42);
    decode_ok("{\"n\":\"-9223372036854775808\"}");
    assert_bigint(&F.out[0], INT64_MIN);

    expect_malformed("{\"n\":9223372036854775808}",
                     "column 'n': expected BIGINT, got 9223372036854775808");
    expect_malformed("{\"n\":-9223372036854775809 }",
                     "column 'n': expected BIGINT, got -9223372036854775809");
    expect_malformed("{\"n\":18446744073709551616}",
                     "column 'n': expected BIGINT, got 18446744073709551616");
    expect_malformed("{\"n\":1.5}", "column 'n': expected BIGINT, got 1.5");
    expect_malformed("{\"n\":1e19}", "column 'n': expected BIGINT, got 1e19");
    expect_malformed("{\"n\":\"abc\"}", "column 'n': expected BIGINT, got \"abc\"");
    expect_malformed("{\"n\":\"42 \"}", "column 'n': expected BIGINT, got \"42 \"");
    expect_malformed("{\"n\":\"4.2\"}", "column 'n': expected BIGINT, got \"4.2\"");
    expect_malformed("{\"n\":\"\"}", "column 'n': expected BIGINT, got \"\"");
    expect_malformed("{\"n\":\"9223372036854775808\"}",
                     "column 'n': expected BIGINT, got \"9223372036854775808\"");
    expect_malformed("{\"n\":true}", "column 'n': expected BIGINT, got true");
    expect_malformed("{\"n\":[1]}", "column 'n': expected BIGINT, got [1]");
    expect_malformed("{\"n\":{\"a\":1}}", "column 'n': expected BIGINT, got {\"a\":1}");
}

static void test_double(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {{.name = "x", .type = SLUICE_TYPE_DOUBLE}};
    make(specs, 1);
    decode_ok("{\"x\":1.5}");
    assert_double(&F.out[0], 1.5);
    decode_ok("{\"x\":66}");
    assert_double(&F.out[0], 66.0);
    decode_ok("{\"x\":-0.0}");
    assert_double(&F.out[0], -0.0);
    decode_ok("{\"x\":0.1}");
    assert_double(&F.out[0], 0.1);
    decode_ok("{\"x\":1e300}");
    assert_double(&F.out[0], 1e300);
    decode_ok("{\"x\":5e-324}");
    assert_double(&F.out[0], 5e-324);
    decode_ok("{\"x\":18446744073709551616}");
    assert_double(&F.out[0], 18446744073709551616.0);
    decode_ok("{\"x\":\"2.5\"}");
    assert_double(&F.out[0], 2.5);
    decode_ok("{\"x\":\"-1e3\"}");
    assert_double(&F.out[0], -1000.0);
    expect_malformed("{\"x\":\"2.5x\"}", "column 'x': expected DOUBLE, got \"2.5x\"");
    expect_malformed("{\"x\":\" 2.5\"}", "column 'x': expected DOUBLE, got \" 2.5\"");
    expect_malformed("{\"x\":\"\"}", "column 'x': expected DOUBLE, got \"\"");
    expect_malformed("{\"x\":false}", "column 'x': expected DOUBLE, got false");
}

static void test_boolean(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {{.name = "b", .type = SLUICE_TYPE_BOOLEAN}};
    make(specs, 1);
    decode_ok("{\"b\":true}");
    assert_bool(&F.out[0], 1);
    decode_ok("{\"b\":false}");
    assert_bool(&F.out[0], 0);
    decode_ok("{\"b\":\"TRUE\"}");
    assert_bool(&F.out[0], 1);
    decode_ok("{\"b\":\"false\"}");
    assert_bool(&F.out[0], 0);
    decode_ok("{\"b\":\"1\"}");
    assert_bool(&F.out[0], 1);
    decode_ok("{\"b\":0}");
    assert_bool(&F.out[0], 0);
    decode_ok("{\"b\":1}");
    assert_bool(&F.out[0], 1);
    expect_malformed("{\"b\":\"yes\"}", "column 'b': expected BOOLEAN, got \"yes\"");
    expect_malformed("{\"b\":2}", "column 'b': expected BOOLEAN, got 2");
    expect_malformed("{\"b\":0.5}", "column 'b': expected BOOLEAN, got 0.5");
}

static void test_varchar_from_other_json(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {{.name = "v", .type = SLUICE_TYPE_VARCHAR}};
    make(specs, 1);
    decode_ok("{\"v\":66}");
    assert_varchar(&F.out[0], "66");
    decode_ok("{\"v\":-1.5e3 }");
    assert_varchar(&F.out[0], "-1.5e3");
    decode_ok("{\"v\":true}");
    assert_varchar(&F.out[0], "true");
    decode_ok("{\"v\":false,\"w\":1}");
    assert_varchar(&F.out[0], "false");
    decode_ok("{\"v\":{\"a\": [1, 2], \"b\":\"}\"},\"w\":1}");
    assert_varchar(&F.out[0], "{\"a\": [1, 2], \"b\":\"}\"}");
    decode_ok("{\"v\":[1, {\"x\":null}]}");
    assert_varchar(&F.out[0], "[1, {\"x\":null}]");
    decode_ok("{\"v\":\"\\u00e9t\\u00e9\"}");
    assert_varchar(&F.out[0], "\xc3\xa9t\xc3\xa9");
}

static void test_timestamp(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "iso", .type = SLUICE_TYPE_TIMESTAMP},
        {.name = "ms", .type = SLUICE_TYPE_TIMESTAMP, .ts_format = fmt(0, "epoch_ms")},
        {.name = "s", .type = SLUICE_TYPE_TIMESTAMP, .ts_format = fmt(1, "epoch_s")},
        {.name = "p", .type = SLUICE_TYPE_TIMESTAMP, .ts_format = fmt(2, "%b %d %Y")},
    };
    make(specs, 4);
    decode_ok("{\"iso\":\"2001-01-01T00:47:00Z\",\"ms\":978310020000,\"s\":978310020.5,"
              "\"p\":\"Jan 1 2000\"}");
    assert_ts(&F.out[0], 978310020000LL);
    assert_ts(&F.out[1], 978310020000LL);
    assert_ts(&F.out[2], 978310020500LL);
    assert_ts(&F.out[3], 946684800000LL);
    decode_ok("{\"ms\":\"-1\",\"s\":-1}");
    assert_null_value(&F.out[0]);
    assert_ts(&F.out[1], -1);
    assert_ts(&F.out[2], -1000);
    decode_ok("{\"ms\":253402300799999}"); /* 9999-12-31 23:59:59.999, the last TIMESTAMP */
    assert_ts(&F.out[1], 253402300799999LL);
    expect_malformed("{\"ms\":9223372036854775807}",
                     "column 'ms': expected TIMESTAMP, got 9223372036854775807");

    expect_malformed("{\"iso\":978310020000}",
                     "column 'iso': expected TIMESTAMP, got 978310020000");
    expect_malformed("{\"iso\":\"2001-02-30\"}",
                     "column 'iso': expected TIMESTAMP, got \"2001-02-30\"");
    expect_malformed("{\"p\":\"Jan 1 2000 \"}",
                     "column 'p': expected TIMESTAMP, got \"Jan 1 2000 \"");
    expect_malformed("{\"s\":9223372036854775807}",
                     "column 's': expected TIMESTAMP, got 9223372036854775807");
    expect_malformed("{\"ms\":true}", "column 'ms': expected TIMESTAMP, got true");
}

static void test_path(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "mag", .path = "$.properties.mag", .type = SLUICE_TYPE_DOUBLE},
        {.name = "lat", .path = "$.geometry.coordinates[1]", .type = SLUICE_TYPE_DOUBLE},
        {.name = "id", .type = SLUICE_TYPE_VARCHAR},
        {.name = "far", .path = "$.geometry.coordinates[5]", .type = SLUICE_TYPE_DOUBLE},
        {.name = "deep", .path = "$.properties.mag.x", .type = SLUICE_TYPE_BIGINT},
        {.name = "odd", .path = "$['a.b']['c/d~e']", .type = SLUICE_TYPE_BIGINT},
        {.name = "top", .path = "$.place", .type = SLUICE_TYPE_VARCHAR},
        {.name = "place", .path = "$.id", .type = SLUICE_TYPE_VARCHAR},
    };
    make(specs, 8);
    decode_ok("{\"type\":\"Feature\",\"properties\":{\"mag\":4.5,\"place\":\"x\"},"
              "\"geometry\":{\"type\":\"Point\",\"coordinates\":[-122.5,37.75,10]},"
              "\"id\":\"us1\",\"a.b\":{\"c/d~e\":7},\"place\":\"Pacific\"}");
    assert_double(&F.out[0], 4.5);
    assert_double(&F.out[1], 37.75);
    assert_varchar(&F.out[2], "us1");
    assert_null_value(&F.out[3]);
    assert_null_value(&F.out[4]);
    assert_bigint(&F.out[5], 7);
    assert_varchar(&F.out[6], "Pacific");
    assert_varchar(&F.out[7], "us1");

    /* absent parents, wrong shapes: NULL */
    decode_ok("{\"id\":\"us2\",\"geometry\":{\"coordinates\":\"none\"},\"properties\":[]}");
    for (int i = 0; i < 8; i++) {
        if (i == 2 || i == 7) continue;
        assert_null_value(&F.out[i]);
    }
    assert_varchar(&F.out[2], "us2");

    /* a bad value under a PATH names the column */
    expect_malformed("{\"properties\":{\"mag\":\"big\"}}",
                     "column 'mag': expected DOUBLE, got \"big\"");
    /* PATH columns of a truncated record */
    expect_invalid("{\"properties\":{\"mag\":4.5}");
}

static void test_path_config_errors(void **state) {
    (void)state;
    const char *bad[] = {"properties.mag", "$", "$.", "$.a[x]", "$.a[1", "$..a", "$a", "$.a['b]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sluice_field_spec spec = {.name = "c", .path = bad[i], .type = SLUICE_TYPE_BIGINT};
        sluice_decoder_options o = {.format = SLUICE_FORMAT_JSON};
        sluice_decoder *d = (sluice_decoder *)1;
        char err[256] = "";
        assert_int_equal(sluice_decoder_new(&o, &spec, 1, &d, err, sizeof err), SLUICE_ERR_CONFIG);
        assert_null(d);
        if (!strstr(err, bad[i])) fail_msg("error '%s' does not quote '%s'", err, bad[i]);
    }
}

static void test_invalid_json(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "a", .type = SLUICE_TYPE_BIGINT},
        {.name = "s", .type = SLUICE_TYPE_VARCHAR},
    };
    make(specs, 2);
    expect_invalid("");
    expect_invalid("   ");
    expect_invalid("{\"a\":1");
    expect_invalid("{\"a\":1,");
    expect_invalid("{\"a\":1,\"s\":\"abc");
    expect_invalid("{\"a\":1} x");
    expect_invalid("{\"a\":1}{\"a\":2}");
    expect_invalid("[1,2]");
    expect_invalid("42");
    expect_invalid("\"str\"");
    expect_invalid("{\"a\":}");
    expect_invalid("{\"a\" 1}");
    expect_invalid("{a:1}");
    expect_invalid("{\"a\":12x3}");
    expect_invalid("{\"s\":12x3}");
    expect_invalid("{\"s\":tru}");
    expect_invalid("{\"s\":\"bad \\q escape\"}");
    /* a truncated copy of a good line, at every length */
    const char *line = "{\"a\":123,\"s\":\"hello\",\"z\":[1,{\"q\":2}]}";
    for (size_t n = 0; n < strlen(line); n++) {
        sluice_err_t rc = decode_n(line, n);
        if (rc != SLUICE_ERR_MALFORMED) fail_msg("prefix of length %zu decoded", n);
    }
    decode_ok(line);
    assert_bigint(&F.out[0], 123);
}

/* Ill-formed UTF-8 anywhere in a record (a string, a key, a value not
 * asked for) makes it malformed, naming the first bad byte (from 1); a
 * byte-order mark before the object is not JSON (a file source skips the
 * one that starts a file); escapes must name whole code points. */
static void test_invalid_utf8(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "a", .type = SLUICE_TYPE_BIGINT},
        {.name = "s", .type = SLUICE_TYPE_VARCHAR},
    };
    make(specs, 2);
    expect_malformed("{\"a\":1,\"s\":\"ab\xC3(\"}", "invalid JSON: invalid UTF-8 at byte 15");
    expect_malformed("{\"a\":1,\"zz\":\"\xFF\"}", "invalid JSON: invalid UTF-8 at byte 14");
    expect_malformed("{\"a\":1,\"s\":\"\xED\xA0\x80\"}", "invalid JSON: invalid UTF-8 at byte 13");
    expect_malformed("{\"\xC0\xAF\":1}", "invalid JSON: invalid UTF-8 at byte 3");
    /* a BOM before the object */
    expect_malformed("\xEF\xBB\xBF{\"a\":1}", "invalid JSON: a byte-order mark (U+FEFF) starts the record");
    /* a lone surrogate escape would decode to ill-formed bytes */
    assert_int_equal(decode("{\"s\":\"\\ud800\"}"), SLUICE_ERR_MALFORMED);
    /* well-formed text of every length passes */
    decode_ok("{\"a\":2,\"s\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\\u00e9\\ud83d\\ude00\"}");
    assert_bigint(&F.out[0], 2);
    assert_varchar(&F.out[1], "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xC3\xA9\xF0\x9F\x98\x80");
}

static void test_reason_truncated(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {{.name = "n", .type = SLUICE_TYPE_BIGINT}};
    make(specs, 1);
    char json[400];
    char big[201];
    memset(big, 'x', 200);
    big[200] = '\0';
    snprintf(json, sizeof json, "{\"n\":\"%s\"}", big);
    assert_int_equal(decode(json), SLUICE_ERR_MALFORMED);
    assert_non_null(strstr(F.reason, "column 'n': expected BIGINT, got \"xxxx"));
    assert_non_null(strstr(F.reason, "..."));
    assert_true(strlen(F.reason) < 40 + 64 + 4);
}

static void test_many_records(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "i", .type = SLUICE_TYPE_BIGINT},
        {.name = "s", .type = SLUICE_TYPE_VARCHAR},
    };
    make(specs, 2);
    for (int i = 0; i < 1000; i++) {
        char json[512];
        snprintf(json, sizeof json, "{\"s\":\"row %d\",\"i\":%d,\"pad\":\"%*s\"}", i, i, i % 300, "");
        decode_ok(json);
        char want[32];
        snprintf(want, sizeof want, "row %d", i);
        assert_bigint(&F.out[0], i);
        assert_varchar(&F.out[1], want);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flight_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaped_keys_and_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bigint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boolean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_varchar_from_other_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reason_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
