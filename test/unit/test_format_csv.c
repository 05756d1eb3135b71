/* CSV decoder: header mapping, positional fields, quoting, short and long
 * rows, delimiters, conversions and malformed records. */
#include "sluice_test.h"

#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "sluice/batch.h"

static sluice_arena *arena;
static sluice_decoder *dec;
static sluice_ts_format *tsf;
static char reason[256];
static sluice_value out[8];

static int setup(void **state) {
    (void)state;
    arena = sluice_arena_new(0);
    dec = NULL;
    char err[128];
    return sluice_ts_format_compile("%Y/%m/%d %H:%M", &tsf, err, sizeof err) == SLUICE_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_decoder_free(dec);
    sluice_ts_format_free(tsf);
    sluice_arena_destroy(arena);
    return 0;
}

static sluice_err_t make(const sluice_field_spec *specs, size_t n, const char *header,
                         char delimiter, char *err, size_t err_size) {
    sluice_decoder_options o = {.format = SLUICE_FORMAT_CSV,
                                .csv_delimiter = delimiter,
                                .csv_header = header,
                                .csv_header_len = header ? strlen(header) : 0};
    sluice_decoder_free(dec);
    dec = NULL;
    return sluice_decoder_new(&o, specs, n, &dec, err, err_size);
}

static void make_ok(const sluice_field_spec *specs, size_t n, const char *header, char delimiter) {
    char err[256] = "";
    if (make(specs, n, header, delimiter, err, sizeof err) != SLUICE_OK)
        fail_msg("decoder_new: %s", err);
}

static sluice_err_t decode(const char *line) {
    size_t len = strlen(line);
    char *buf = malloc(len + SLUICE_RECORD_PADDING);
    memcpy(buf, line, len);
    memset(buf + len, ',', SLUICE_RECORD_PADDING);
    reason[0] = '\0';
    for (int i = 0; i < 8; i++) out[i].type = 0xEE;
    sluice_err_t rc = sluice_decoder_decode(dec, buf, len, out, arena, reason, sizeof reason);
    memset(buf, '#', len);
    free(buf);
    return rc;
}

static void decode_ok(const char *line) {
    sluice_err_t rc = decode(line);
    if (rc != SLUICE_OK) fail_msg("decode(%s) = %d: %s", line, rc, reason);
}

static void expect_malformed(const char *line, const char *want) {
    sluice_err_t rc = decode(line);
    if (rc != SLUICE_ERR_MALFORMED) fail_msg("decode(%s) = %d, want MALFORMED", line, rc);
    if (strcmp(reason, want) != 0) fail_msg("decode(%s): reason '%s', want '%s'", line, reason, want);
}

static void assert_varchar(const sluice_value *v, const char *s) {
    assert_int_equal(v->type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(v->len, strlen(s));
    assert_memory_equal(v->u.s, s, v->len);
}

static void assert_bigint(const sluice_value *v, int64_t x) {
    assert_int_equal(v->type, SLUICE_TYPE_BIGINT);
    assert_int_equal(v->u.i, x);
}

static void assert_null_value(const sluice_value *v) { assert_int_equal(v->type, SLUICE_TYPE_NULL); }

#define FLIGHT_HEADER "date,delay,distance,origin,destination"

static void test_header(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "origin", .type = SLUICE_TYPE_VARCHAR},
        {.name = "date", .type = SLUICE_TYPE_TIMESTAMP, .ts_format = tsf},
        {.name = "delay", .type = SLUICE_TYPE_BIGINT},
        {.name = "destination", .type = SLUICE_TYPE_VARCHAR},
    };
    make_ok(specs, 4, FLIGHT_HEADER "\r\n", 0);
    decode_ok("2001/01/01 00:47,66,1750,DTW,LAS");
    assert_varchar(&out[0], "DTW");
    assert_int_equal(out[1].type, SLUICE_TYPE_TIMESTAMP);
    assert_int_equal(out[1].u.i, 978310020000LL);
    assert_bigint(&out[2], 66);
    assert_varchar(&out[3], "LAS");

    /* CRLF line */
    decode_ok("2001/01/01 00:47,-5,1750,SFO,ORD\r");
    assert_bigint(&out[2], -5);
    assert_varchar(&out[3], "ORD");

    /* quoting: embedded delimiter, doubled quotes, line break inside quotes */
    decode_ok("\"2001/01/01 00:47\",\"7\",1,\"D,TW\",\"say \"\"hi\"\"\nthere\"");
    assert_bigint(&out[2], 7);
    assert_varchar(&out[0], "D,TW");
    assert_varchar(&out[3], "say \"hi\"\nthere");

    /* short row: missing fields are NULL; empty fields NULL / "" */
    decode_ok("2001/01/01 00:47,12");
    assert_bigint(&out[2], 12);
    assert_null_value(&out[0]);
    assert_null_value(&out[3]);
    decode_ok(",,,,");
    assert_null_value(&out[1]);
    assert_null_value(&out[2]);
    assert_varchar(&out[0], "");
    assert_varchar(&out[3], "");

    /* long row */
    expect_malformed("2001/01/01 00:47,66,1750,DTW,LAS,extra",
                     "CSV record has 6 fields, expected at most 5");
    /* bad values name the column */
    expect_malformed("2001/01/01 00:47,abc,1750,DTW,LAS",
                     "column 'delay': expected BIGINT, got \"abc\"");
    expect_malformed("2001/01/01 00:47, 66,1750,DTW,LAS",
                     "column 'delay': expected BIGINT, got \" 66\"");
    expect_malformed("2001-01-01 00:47,66,1750,DTW,LAS",
                     "column 'date': expected TIMESTAMP, got \"2001-01-01 00:47\"");
    /* an unquoted line break makes two records */
    expect_malformed("2001/01/01 00:47,66,1750,DTW,LAS\n2001/01/01 00:48,1,1,A,B",
                     "CSV value holds 2 records (an unquoted line break?)");
    /* the parser is clean again after all that */
    decode_ok("2001/01/01 00:48,1,2,X,Y");
    assert_varchar(&out[0], "X");
    assert_bigint(&out[2], 1);
}

/* A record that ends inside a quoted field is malformed (libcsv's lenient
 * mode would close the field silently: a file source hands everything from
 * an unmatched quote to the end of the file over as one record); the
 * parser is clean for the next record. */
static void test_unterminated_quote_then_next(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "a", .type = SLUICE_TYPE_BIGINT},
        {.name = "b", .type = SLUICE_TYPE_VARCHAR},
    };
    make_ok(specs, 2, NULL, 0);
    expect_malformed("1,\"abc", "unterminated quoted field starting on line 1 of the record (byte 3): "
                                "the record runs to the end of the input");
    decode_ok("2,def");
    assert_bigint(&out[0], 2);
    assert_varchar(&out[1], "def");
    /* the rows a file source would have swallowed into the field */
    expect_malformed("3,\"x\n4,y\n5,z", "unterminated quoted field starting on line 1 of the record "
                                       "(byte 3): the record runs to the end of the input");
    /* a closed quoted field before the open one; a quote inside a field is
     * text, and "" inside quotes is a quote */
    expect_malformed("\"6\",\"a\"\"b\"c\nd", "unterminated quoted field starting on line 1 of the "
                                             "record (byte 5): the record runs to the end of the input");
    expect_malformed("7,\"ok\nstill\"\n8,\"open", "unterminated quoted field starting on line 3 of the "
                                              "record (byte 16): the record runs to the end of the input");
    /* terminated: fine, even at the very end */
    decode_ok("9,\"a\"\"\"");
    assert_varchar(&out[1], "a\"");
    decode_ok("10,b\"c\"");
    assert_varchar(&out[1], "b\"c\"");
    /* an odd number of quotes: the file source's record split (quotes pair
     * up) ran to the end of the file, though libcsv's lenient reading
     * closes the field: the second quote is text to it */
    expect_malformed("5,\"open\n6,lost\n7,\"also lost\"\n", "unterminated quoted field starting on line 1 "
                     "of the record (byte 3): the record runs to the end of the input");
    expect_malformed("11,b\"c", "unterminated quoted field starting on line 1 of the record (byte 5): "
                                "the record runs to the end of the input");
}

/* Text fields must be UTF-8: the first bad byte is named (from 1), so that
 * ill-formed bytes never reach the engine; columns not asked for are not
 * checked. */
static void test_invalid_utf8(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "a", .type = SLUICE_TYPE_BIGINT},
        {.name = "name", .type = SLUICE_TYPE_VARCHAR},
    };
    make_ok(specs, 2, "a,skip,name", 0);
    expect_malformed("1,x,ab\xC3(", "invalid UTF-8 in column 'name' at byte 3 of the field");
    expect_malformed("1,x,\"\xFF\"", "invalid UTF-8 in column 'name' at byte 1 of the field");
    expect_malformed("1,x,\xED\xA0\x80", "invalid UTF-8 in column 'name' at byte 1 of the field");
    expect_malformed("\xC0\xB1,x,n", "invalid UTF-8 in column 'a' at byte 1 of the field");
    decode_ok("2,\xFF,Z\xC3\xBCrich \xE2\x82\xAC\xF0\x9F\x98\x80");
    assert_bigint(&out[0], 2);
    assert_varchar(&out[1], "Z\xC3\xBCrich \xE2\x82\xAC\xF0\x9F\x98\x80");
}

/* A UTF-8 byte-order mark before the header is not part of its first
 * name; one at the start of a record is data. */
static void test_bom(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "id", .type = SLUICE_TYPE_BIGINT},
        {.name = "name", .type = SLUICE_TYPE_VARCHAR},
    };
    make_ok(specs, 2, "\xEF\xBB\xBFid,name\r\n", 0);
    decode_ok("1,a");
    assert_bigint(&out[0], 1);
    expect_malformed("\xEF\xBB\xBF" "2,b", "column 'id': expected BIGINT, got \"\xEF\xBB\xBF" "2\"");
    const sluice_field_spec names[] = {{.name = "name", .type = SLUICE_TYPE_VARCHAR}};
    make_ok(names, 1, "\xEF\xBB\xBFname", 0);
    decode_ok("\xEF\xBB\xBFx");
    assert_varchar(&out[0], "\xEF\xBB\xBFx");
}

static void test_positional(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "n", .type = SLUICE_TYPE_BIGINT},
        {.name = "s", .type = SLUICE_TYPE_VARCHAR},
        {.name = "x", .type = SLUICE_TYPE_DOUBLE},
        {.name = "b", .type = SLUICE_TYPE_BOOLEAN},
    };
    make_ok(specs, 4, NULL, 0);
    decode_ok("-9223372036854775808, spaced ,1.5,true");
    assert_bigint(&out[0], INT64_MIN);
    assert_varchar(&out[1], " spaced ");
    assert_int_equal(out[2].type, SLUICE_TYPE_DOUBLE);
    assert_true(out[2].u.d == 1.5);
    assert_int_equal(out[3].type, SLUICE_TYPE_BOOLEAN);
    assert_int_equal(out[3].u.i, 1);
    decode_ok("1");
    assert_bigint(&out[0], 1);
    assert_null_value(&out[1]);
    assert_null_value(&out[2]);
    assert_null_value(&out[3]);
    expect_malformed("1,a,2.0,false,5", "CSV record has 5 fields, expected at most 4");
    expect_malformed("9223372036854775808",
                     "column 'n': expected BIGINT, got \"9223372036854775808\"");
    expect_malformed("1,a,1.5e,true", "column 'x': expected DOUBLE, got \"1.5e\"");
    expect_malformed("1,a,1,maybe", "column 'b': expected BOOLEAN, got \"maybe\"");
    /* an empty line is one empty field */
    decode_ok("");
    assert_null_value(&out[0]);
    assert_null_value(&out[1]);
}

static void test_empty_line_varchar(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {{.name = "s", .type = SLUICE_TYPE_VARCHAR}};
    make_ok(specs, 1, NULL, 0);
    decode_ok("");
    assert_varchar(&out[0], "");
    decode_ok("\"\"");
    assert_varchar(&out[0], "");
}

static void test_delimiters(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "b", .type = SLUICE_TYPE_VARCHAR},
        {.name = "a", .type = SLUICE_TYPE_BIGINT},
    };
    make_ok(specs, 2, "a;b", ';');
    decode_ok("42;x,y");
    assert_bigint(&out[1], 42);
    assert_varchar(&out[0], "x,y");
    decode_ok("42;\"p;q\"");
    assert_varchar(&out[0], "p;q");

    make_ok(specs, 2, "a\tb\n", '\t');
    decode_ok("7\t  tabbed ");
    assert_bigint(&out[1], 7);
    assert_varchar(&out[0], "  tabbed ");
    expect_malformed("7\ta\tb", "CSV record has 3 fields, expected at most 2");
}

static void test_quoted_header(void **state) {
    (void)state;
    const sluice_field_spec specs[] = {
        {.name = "de,lay", .type = SLUICE_TYPE_BIGINT},
        {.name = "say \"x\"", .type = SLUICE_TYPE_VARCHAR},
    };
    make_ok(specs, 2, "other,\"de,lay\",\"say \"\"x\"\"\"\r\n", 0);
    decode_ok("zzz,5,ok");
    assert_bigint(&out[0], 5);
    assert_varchar(&out[1], "ok");
}

static void test_config_errors(void **state) {
    (void)state;
    char err[256] = "";
    const sluice_field_spec missing[] = {
        {.name = "delay", .type = SLUICE_TYPE_BIGINT},
        {.name = "nope", .type = SLUICE_TYPE_VARCHAR},
    };
    assert_int_equal(make(missing, 2, FLIGHT_HEADER, 0, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(dec);
    assert_string_equal(err, "column 'nope' is not in the CSV header");

    /* a header that names a declared column twice is refused, never guessed */
    const sluice_field_spec kv[] = {{.name = "k", .type = SLUICE_TYPE_VARCHAR}, {.name = "v", .type = SLUICE_TYPE_BIGINT}};
    assert_int_equal(make(kv, 2, "k,v,ts,k\n", 0, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(dec);
    assert_string_equal(err, "the CSV header names column 'k' twice (fields 1 and 4)");
    /* a name with a NUL byte inside is not the declared name */
    static const char nul_header[] = "k\0x,v\n";
    sluice_decoder_options o = {.format = SLUICE_FORMAT_CSV, .csv_header = nul_header,
                                .csv_header_len = sizeof nul_header - 1};
    sluice_decoder *d2 = NULL;
    assert_int_equal(sluice_decoder_new(&o, kv, 2, &d2, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(d2);
    assert_string_equal(err, "column 'k' is not in the CSV header");

    const sluice_field_spec path[] = {{.name = "m", .path = "$.a.m", .type = SLUICE_TYPE_DOUBLE}};
    assert_int_equal(make(path, 1, NULL, 0, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(dec);
    assert_non_null(strstr(err, "$.a.m"));

    /* names are case-sensitive */
    const sluice_field_spec upper[] = {{.name = "Delay", .type = SLUICE_TYPE_BIGINT}};
    assert_int_equal(make(upper, 1, FLIGHT_HEADER, 0, err, sizeof err), SLUICE_ERR_CONFIG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_quote_then_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_positional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_line_varchar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delimiters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
