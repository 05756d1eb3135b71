/* CSV and JSON writers: output compared byte for byte with hand-written
 * text. */
#include "sluice_test.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "format/format.h"
#include "format/outbuf.h"

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

/* Ill-formed UTF-8 never reaches JSON output: each maximal subpart becomes
 * one U+FFFD (EF BF BD), the Unicode Standard's recommended practice; the
 * first case is its own example (Table 3-8). */
#define R "\xEF\xBF\xBD"
static void test_json_invalid_utf8(void **state) {
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"a\xF1\x80\x80\xE1\x80\xC2" "b\x80" "c\x80\xBF" "d", 13, "\"a" R R R "b" R "c" R R "d\""},
        {"\xED\xA0\x80", 3, "\"" R R R "\""},           /* a surrogate */
        {"\xC0\xAF", 2, "\"" R R "\""},                 /* overlong '/' */
        {"\xF4\x90\x80\x80", 4, "\"" R R R R "\""},       /* above U+10FFFF */
        {"\xE2\x82", 2, "\"" R "\""},                   /* cut at the end */
        {"x\xE2\x82\xAC\xFF\"\0\xC3", 8, "\"x\xE2\x82\xAC" R "\\\"\\u0000" R "\""},
        {"\xF0\x9F\x98\x80\xFE", 5, "\"\xF0\x9F\x98\x80" R "\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = open_mem();
        assert_int_equal(sluice_json_write_string(f, cases[i].in, cases[i].len), SLUICE_OK);
        expect_text(f, cases[i].want);
    }
    /* the row writer (file sink, Kafka values and keys): names and values */
    static const sluice_column cols[] = {{"k\xFF", SLUICE_TYPE_VARCHAR}, {"n", SLUICE_TYPE_BIGINT}};
    sluice_value r[2] = {sluice_value_varchar("\x80z", 2), sluice_value_bigint(1)};
    FILE *f = open_mem();
    assert_int_equal(sluice_json_write_row(f, cols, r, 2), SLUICE_OK);
    expect_text(f, "{\"k" R "\":\"" R "z\",\"n\":1}\n");

    /* CSV output is UTF-8 too */
    sluice_value c[2] = {sluice_value_varchar("a\xC3,", 3), sluice_value_varchar("\xF0\x9F\x98", 3)};
    f = open_mem();
    assert_int_equal(sluice_csv_write_row(f, c, 2, ','), SLUICE_OK);
    expect_text(f, "\"a" R ",\"," R "\n");

    /* a long string with bad bytes spread through it (the slow path) */
    size_t n = 3000;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (i % 3 == 2) ? (char)0x80 : 'a';
    f = open_mem();
    assert_int_equal(sluice_json_write_string(f, big, n), SLUICE_OK);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(memlen, 2 + 2 * (n / 3) + 3 * (n / 3));
    assert_memory_equal(mem, "\"aa" R "aa" R, 11);
    free(mem);
    free(big);
}
#undef R

/* RFC 4648 section 10's test vectors, and a run longer than the encoder's
 * buffer. */
static void test_base64(void **state) {
    (void)state;
    static const char *const vec[][2] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        FILE *f = open_mem();
        assert_int_equal(sluice_base64_write(f, vec[i][0], strlen(vec[i][0])), SLUICE_OK);
        expect_text(f, vec[i][1]);
    }
    FILE *f = open_mem();
    assert_int_equal(sluice_base64_write(f, "\xFF\x00\xC3", 3), SLUICE_OK);
    expect_text(f, "/wDD");
    size_t n = 3 * 1000 + 1;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = "foo"[i % 3];
    f = open_mem();
    assert_int_equal(sluice_base64_write(f, big, n), SLUICE_OK);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(memlen, 4 * 1000 + 4);
    for (size_t i = 0; i < 1000; i++) assert_memory_equal(mem + 4 * i, "Zm9v", 4);
    assert_memory_equal(mem + 4000, "Zg==", 4);
    free(mem);
    free(big);
}

/* Table 3-7's boundaries, one sequence at a time. */
static void test_utf8_seq(void **state) {
    (void)state;
    static const struct {
        const char *s;
        size_t len, want;
        int ok;
    } cases[] = {
        {"A", 1, 1, 1},          {"\x7F", 1, 1, 1},       {"\xC2\x80", 2, 2, 1},
        {"\xDF\xBF", 2, 2, 1},   {"\xE0\xA0\x80", 3, 3, 1}, {"\xED\x9F\xBF", 3, 3, 1},
        {"\xEF\xBF\xBF", 3, 3, 1}, {"\xF0\x90\x80\x80", 4, 4, 1}, {"\xF4\x8F\xBF\xBF", 4, 4, 1},
        {"\x80", 1, 1, 0},       {"\xC1\xBF", 2, 1, 0},   {"\xC2", 1, 1, 0},
        {"\xC2" "A", 2, 1, 0},      {"\xE0\x9F\x80", 3, 1, 0}, {"\xE0\xA0", 2, 2, 0},
        {"\xED\xA0\x80", 3, 1, 0}, {"\xF0\x8F\x80\x80", 4, 1, 0}, {"\xF0\x90\x80" "A", 4, 3, 0},
        {"\xF4\x90\x80\x80", 4, 1, 0}, {"\xF5\x80", 2, 1, 0}, {"\xFF", 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int ok = -1;
        size_t n = sluice_utf8_seq(cases[i].s, cases[i].len, &ok);
        if (n != cases[i].want || ok != cases[i].ok)
            fail_msg("case %zu: got %zu/%d, want %zu/%d", i, n, ok, cases[i].want, cases[i].ok);
        assert_int_equal(sluice_utf8_valid(cases[i].s, cases[i].len),
                         cases[i].ok && cases[i].want == cases[i].len);
    }
    size_t bad = 9;
    assert_int_equal(sluice_utf8_find_invalid("ab\xC3\xA9" "c\xE2\x82", 7, &bad), 5);
    assert_int_equal(bad, 2);
    assert_int_equal(sluice_utf8_find_invalid("ab\xC3\xA9", 4, &bad), 4);
    assert_int_equal(bad, 0);
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

/* Rows rendered into an output buffer that starts in 8 bytes of the
 * caller's storage and grows past it mid-row: the bytes equal the FILE
 * writers' row after row. */
static void test_outbuf_boundaries(void **state) {
    (void)state;
    sluice_value row[10];
    fill_row(row);
    FILE *f = open_mem();
    assert_int_equal(sluice_json_write_row(f, COLS, row, 10), SLUICE_OK);
    assert_int_equal(sluice_csv_write_row(f, row, 10, ','), SLUICE_OK);
    assert_int_equal(fclose(f), 0);
    char *one = mem;
    size_t one_len = memlen;

    char stack[8];
    sluice_outbuf o;
    sluice_outbuf_init(&o, stack, sizeof stack);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sluice_json_render_row(&o, COLS, row, 10), SLUICE_OK);
        assert_int_equal(sluice_csv_render_row(&o, row, 10, ','), SLUICE_OK);
        assert_int_equal(o.len, (size_t)(i + 1) * one_len);
        assert_memory_equal(o.data + (size_t)i * one_len, one, one_len);
    }
    assert_true(o.data != stack);
    /* flushed: written whole, emptied, the memory kept */
    f = open_mem();
    assert_int_equal(sluice_outbuf_flush(&o, f), SLUICE_OK);
    assert_int_equal(o.len, 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(memlen, 1000 * one_len);
    free(mem);
    sluice_outbuf_free(&o);
    assert_true(o.data == stack);
    assert_int_equal(o.len, 0);
    /* no storage at all: the first append allocates */
    sluice_outbuf_init(&o, NULL, 0);
    assert_int_equal(sluice_json_render_row(&o, COLS, row, 10), SLUICE_OK);
    assert_int_equal(sluice_csv_render_row(&o, row, 10, ','), SLUICE_OK);
    assert_int_equal(o.len, one_len);
    assert_memory_equal(o.data, one, one_len);
    sluice_outbuf_free(&o);
    free(one);
}

/* A row of 3 MB: every quote doubled (CSV) or escaped (JSON), every byte
 * accounted for. */
static void test_huge_row(void **state) {
    (void)state;
    size_t n = 3u << 20;
    char *text = malloc(n);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) text[i] = i % 3 == 0 ? '"' : i % 3 == 1 ? 'x' : '\n';
    sluice_value v = sluice_value_varchar(text, n);
    sluice_outbuf o;
    sluice_outbuf_init(&o, NULL, 0);
    assert_int_equal(sluice_csv_render_row(&o, &v, 1, ','), SLUICE_OK);
    /* "...": each of the n/3 quotes doubled, then the line break */
    assert_int_equal(o.len, 1 + n + n / 3 + 1 + 1);
    assert_memory_equal(o.data, "\"\"\"x\n\"\"x\n", 9);
    assert_memory_equal(o.data + o.len - 5, "\"x\n\"\n", 5);
    o.len = 0;
    static const sluice_column col[] = {{"t", SLUICE_TYPE_VARCHAR}};
    assert_int_equal(sluice_json_render_row(&o, col, &v, 1), SLUICE_OK);
    /* {"t":"..."}\n with \" and \n: two bytes each */
    assert_int_equal(o.len, 6 + 2 * n / 3 + n / 3 + 2 * n / 3 + 3);
    assert_memory_equal(o.data, "{\"t\":\"\\\"x\\n\\\"x", 14);
    sluice_outbuf_free(&o);
    free(text);
}

/* A full disk: the write fails with ENOSPC, reported as SLUICE_ERR_IO. */
static void test_outbuf_enospc(void **state) {
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f) skip();
    setvbuf(f, NULL, _IONBF, 0);
    sluice_outbuf o;
    sluice_outbuf_init(&o, NULL, 0);
    sluice_value row[10];
    fill_row(row);
    assert_int_equal(sluice_json_render_row(&o, COLS, row, 10), SLUICE_OK);
    errno = 0;
    assert_int_equal(sluice_outbuf_flush(&o, f), SLUICE_ERR_IO);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(o.len, 0);
    sluice_outbuf_free(&o);
    fclose(f);
}

/* Each character JSON escapes, at every offset of a 21-byte string (the
 * writer scans 16 or 8 bytes at a time): the text equals that of
 * sluice_json_write_string, cJSON's escaping. */
static void test_json_escape_offsets(void **state) {
    (void)state;
    const char specials[] = {'"', '\\', '\x01', '\x1f', '\n', '\x7f', ' ', '\0'};
    static const sluice_column col[] = {{"t", SLUICE_TYPE_VARCHAR}};
    for (size_t k = 0; k < sizeof specials; k++) {
        for (size_t at = 0; at < 21; at++) {
            char text[22];
            memset(text, 'a', sizeof text);
            text[20] = '\xA9'; /* é as "\xC3\xA9" at the end: UTF-8 passes through */
            text[19] = '\xC3';
            if (at < 19) text[at] = specials[k];
            else text[at - 19] = specials[k];
            FILE *f = open_mem();
            assert_int_equal(fputs("{\"t\":", f) >= 0, 1);
            assert_int_equal(sluice_json_write_string(f, text, 21), SLUICE_OK);
            assert_int_equal(fputs("}\n", f) >= 0, 1);
            assert_int_equal(fclose(f), 0);
            sluice_value v = sluice_value_varchar(text, 21);
            sluice_outbuf o;
            sluice_outbuf_init(&o, NULL, 0);
            assert_int_equal(sluice_json_render_row(&o, col, &v, 1), SLUICE_OK);
            if (o.len != memlen || memcmp(o.data, mem, memlen) != 0)
                fail_msg("char %zu at %zu: got '%.*s', want '%.*s'", k, at, (int)o.len, o.data, (int)memlen, mem);
            sluice_outbuf_free(&o);
            free(mem);
        }
    }
}

/* Keys escaped once (sluice_json_keys) give the same lines as keys escaped
 * per row, names with quotes and commas included; no columns: "{}". */
static void test_json_keys(void **state) {
    (void)state;
    sluice_value row[10];
    fill_row(row);
    sluice_json_keys *keys = NULL;
    assert_int_equal(sluice_json_keys_new(COLS, 10, &keys), SLUICE_OK);
    sluice_outbuf a, b;
    sluice_outbuf_init(&a, NULL, 0);
    sluice_outbuf_init(&b, NULL, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sluice_json_render_row_keys(&a, keys, row), SLUICE_OK);
        assert_int_equal(sluice_json_render_row(&b, COLS, row, 10), SLUICE_OK);
    }
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_memory_equal(a.data, "{\"ts\":\"2001-01-01 00:47:00\",\"origin\":\"DTW\"", 42);
    sluice_json_keys_free(keys);
    assert_int_equal(sluice_json_keys_new(COLS, 0, &keys), SLUICE_OK);
    a.len = 0;
    assert_int_equal(sluice_json_render_row_keys(&a, keys, row), SLUICE_OK);
    assert_int_equal(a.len, 3);
    assert_memory_equal(a.data, "{}\n", 3);
    sluice_json_keys_free(keys);
    sluice_outbuf_free(&a);
    sluice_outbuf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json_row),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_json_invalid_utf8),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_utf8_seq),
        cmocka_unit_test(test_io_error),
        cmocka_unit_test(test_outbuf_boundaries),
        cmocka_unit_test(test_huge_row),
        cmocka_unit_test(test_json_escape_offsets),
        cmocka_unit_test(test_json_keys),
        cmocka_unit_test(test_outbuf_enospc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
