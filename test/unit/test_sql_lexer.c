/*
 * Unit tests for the SQL lexer: token kinds, texts and 1-based positions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_test.h"
#include "sql/parser.h"

static const char *kind_tag(sluice_token_kind k) {
    switch (k) {
    case SLUICE_TOK_EOF: return "EOF";
    case SLUICE_TOK_IDENT: return "ID";
    case SLUICE_TOK_QIDENT: return "QID";
    case SLUICE_TOK_KEYWORD: return "KW";
    case SLUICE_TOK_INTEGER: return "INT";
    case SLUICE_TOK_DECIMAL: return "DEC";
    case SLUICE_TOK_STRING: return "STR";
    case SLUICE_TOK_OP: return "OP";
    case SLUICE_TOK_ERROR: return "ERR";
    }
    return "?";
}

/* Tokenize src (len bytes) and render every token as "KIND:text@line:col",
 * separated by single spaces, into a static buffer. */
static const char *lexn(const char *src, size_t len) {
    static char buf[8192];
    sluice_arena *arena = sluice_arena_new(0);
    sluice_token *toks = NULL;
    size_t n = 0;
    assert_int_equal(sluice_sql_tokenize(src, len, arena, &toks, &n), SLUICE_OK);
    assert_true(n >= 1);
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strlen(toks[i].text), toks[i].len);
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s:%s@%d:%d",
                                i ? " " : "", kind_tag(toks[i].kind), toks[i].text,
                                toks[i].line, toks[i].col);
        assert_true(off < sizeof buf);
        if (i + 1 < n) assert_true(toks[i].kind != SLUICE_TOK_EOF && toks[i].kind != SLUICE_TOK_ERROR);
    }
    assert_true(toks[n - 1].kind == SLUICE_TOK_EOF || toks[n - 1].kind == SLUICE_TOK_ERROR);
    sluice_arena_destroy(arena);
    return buf;
}

static const char *lex(const char *src) { return lexn(src, strlen(src)); }

static void test_empty_input(void **state) {
    (void)state;
    assert_string_equal(lex(""), "EOF:@1:1");
    assert_string_equal(lex("  \n\t "), "EOF:@2:3");
    assert_string_equal(lex("-- only a comment"), "EOF:@1:18");
}

static void test_statement_positions(void **state) {
    (void)state;
    assert_string_equal(lex("SELECT a,b\n  FROM t;"),
                        "KW:SELECT@1:1 ID:a@1:8 OP:,@1:9 ID:b@1:10 "
                        "KW:FROM@2:3 ID:t@2:8 OP:;@2:9 EOF:@2:10");
}

static void test_keywords_case_insensitive(void **state) {
    (void)state;
    assert_string_equal(lex("select Select sElEcT"),
                        "KW:SELECT@1:1 KW:SELECT@1:8 KW:SELECT@1:15 EOF:@1:21");
    assert_string_equal(lex("create Source sink as From where group by having order limit emit"),
                        "KW:CREATE@1:1 KW:SOURCE@1:8 KW:SINK@1:15 KW:AS@1:20 KW:FROM@1:23 "
                        "KW:WHERE@1:28 KW:GROUP@1:34 KW:BY@1:40 KW:HAVING@1:43 KW:ORDER@1:50 "
                        "KW:LIMIT@1:56 KW:EMIT@1:62 EOF:@1:66");
    assert_string_equal(lex("and or not null is in like between case when then else end"),
                        "KW:AND@1:1 KW:OR@1:5 KW:NOT@1:8 KW:NULL@1:12 KW:IS@1:17 KW:IN@1:20 "
                        "KW:LIKE@1:23 KW:BETWEEN@1:28 KW:CASE@1:36 KW:WHEN@1:41 KW:THEN@1:46 "
                        "KW:ELSE@1:51 KW:END@1:56 EOF:@1:59");
    assert_string_equal(lex("cast true false interval primary key watermark for asc desc"),
                        "KW:CAST@1:1 KW:TRUE@1:6 KW:FALSE@1:11 KW:INTERVAL@1:17 KW:PRIMARY@1:26 "
                        "ID:key@1:34 KW:WATERMARK@1:38 KW:FOR@1:48 KW:ASC@1:52 KW:DESC@1:56 "
                        "EOF:@1:60");
}

static void test_unreserved_words_are_identifiers(void **state) {
    (void)state;
    assert_string_equal(lex("date rank window_start Timestamp BIGINT append FORMAT path count"),
                        "ID:date@1:1 ID:rank@1:6 ID:window_start@1:11 ID:Timestamp@1:24 "
                        "ID:BIGINT@1:34 ID:append@1:41 ID:FORMAT@1:48 ID:path@1:55 "
                        "ID:count@1:60 EOF:@1:65");
    /* Identifiers keep their case; digits and underscores are allowed. */
    assert_string_equal(lex("_x1 Col_2 selected"),
                        "ID:_x1@1:1 ID:Col_2@1:5 ID:selected@1:11 EOF:@1:19");
}

static void test_back_quoted_identifiers(void **state) {
    (void)state;
    assert_string_equal(lex("`count` `a``b` `with space` ``"),
                        "QID:count@1:1 QID:a`b@1:9 QID:with space@1:16 QID:@1:29 EOF:@1:31");
    assert_string_equal(lex("`SELECT`"), "QID:SELECT@1:1 EOF:@1:9");
}

static void test_strings(void **state) {
    (void)state;
    assert_string_equal(lex("'5' 'it''s' '' '%Y/%m/%d %H:%M'"),
                        "STR:5@1:1 STR:it's@1:5 STR:@1:13 STR:%Y/%m/%d %H:%M@1:16 EOF:@1:32");
    /* A string may span lines; the next token's position follows it. */
    assert_string_equal(lex("'a\nb' x"), "STR:a\nb@1:1 ID:x@2:4 EOF:@2:5");
    /* '--' inside a string is not a comment. */
    assert_string_equal(lex("'a--b'"), "STR:a--b@1:1 EOF:@1:7");
}

static void test_numbers(void **state) {
    (void)state;
    assert_string_equal(lex("42 4.2 .5 1e3 1.5E-3 2. 7e+2 0"),
                        "INT:42@1:1 DEC:4.2@1:4 DEC:.5@1:8 DEC:1e3@1:11 DEC:1.5E-3@1:15 "
                        "DEC:2.@1:22 DEC:7e+2@1:25 INT:0@1:30 EOF:@1:31");
    /* A lone dot is the qualifier operator, not a number. */
    assert_string_equal(lex("a.b"), "ID:a@1:1 OP:.@1:2 ID:b@1:3 EOF:@1:4");
    assert_string_equal(lex("1+2"), "INT:1@1:1 OP:+@1:2 INT:2@1:3 EOF:@1:4");
}

static void test_operators(void **state) {
    (void)state;
    assert_string_equal(lex("( ) , ; . * + - / % = <> != < <= > >="),
                        "OP:(@1:1 OP:)@1:3 OP:,@1:5 OP:;@1:7 OP:.@1:9 OP:*@1:11 OP:+@1:13 "
                        "OP:-@1:15 OP:/@1:17 OP:%@1:19 OP:=@1:21 OP:<>@1:23 OP:!=@1:26 "
                        "OP:<@1:29 OP:<=@1:31 OP:>@1:34 OP:>=@1:36 EOF:@1:38");
    assert_string_equal(lex("a<=b<>c>=d!=e"),
                        "ID:a@1:1 OP:<=@1:2 ID:b@1:4 OP:<>@1:5 ID:c@1:7 OP:>=@1:8 ID:d@1:10 "
                        "OP:!=@1:11 ID:e@1:13 EOF:@1:14");
    assert_string_equal(lex("a< =b"), "ID:a@1:1 OP:<@1:2 OP:=@1:4 ID:b@1:5 EOF:@1:6");
}

static void test_comments_and_white_space(void **state) {
    (void)state;
    assert_string_equal(lex("a -- comment ; 'x\n  b--c\n-d"),
                        "ID:a@1:1 ID:b@2:3 OP:-@3:1 ID:d@3:2 EOF:@3:3");
    assert_string_equal(lex("1--2"), "INT:1@1:1 EOF:@1:5");
    /* Columns count bytes: a tab is one column, \r is white space. */
    assert_string_equal(lex("\ta\r\n\tb"), "ID:a@1:2 ID:b@2:2 EOF:@2:3");
}

static void test_error_unterminated_string(void **state) {
    (void)state;
    assert_string_equal(lex("a = 'abc"), "ID:a@1:1 OP:=@1:3 ERR:unterminated string@1:5");
    assert_string_equal(lex("'it''"), "ERR:unterminated string@1:1");
}

static void test_error_unterminated_back_quote(void **state) {
    (void)state;
    assert_string_equal(lex("x\n  `abc``"), "ID:x@1:1 ERR:unterminated back-quoted identifier@2:3");
}

static void test_error_stray_characters(void **state) {
    (void)state;
    assert_string_equal(lex("a # b"), "ID:a@1:1 ERR:unexpected character '#'@1:3");
    assert_string_equal(lex("a ! b"), "ID:a@1:1 ERR:unexpected character '!'@1:3");
    assert_string_equal(lex("\"x\""), "ERR:unexpected character '\"'@1:1");
    assert_string_equal(lexn("a\0b", 3), "ID:a@1:1 ERR:unexpected byte 0x00@1:2");
    assert_string_equal(lex("caf\xc3\xa9"),
                        "ID:caf@1:1 ERR:unexpected byte 0xC3 (back-quote names that are not ASCII)@1:4");
    /* Bytes that are not ASCII are fine inside strings and back-quotes. */
    assert_string_equal(lex("'\xff' `\xc3\xa9`"), "STR:\xff@1:1 QID:\xc3\xa9@1:5 EOF:@1:9");
}

static void test_error_malformed_number(void **state) {
    (void)state;
    assert_string_equal(lex("x 12abc"), "ID:x@1:1 ERR:malformed number '12a'@1:3");
    assert_string_equal(lex("1e"), "ERR:malformed number '1e'@1:1");
    assert_string_equal(lex("1.2.3"), "ERR:malformed number '1.2.'@1:1");
}

static void test_error_nul_in_back_quotes(void **state) {
    (void)state;
    assert_string_equal(lexn("`a\0b`", 5), "ERR:NUL byte in back-quoted identifier@1:1");
}

static void test_large_input(void **state) {
    (void)state;
    /* 100000 identifiers: the token array grows without limit. */
    size_t n = 100000;
    char *src = malloc(n * 2);
    for (size_t i = 0; i < n; i++) {
        src[2 * i] = 'x';
        src[2 * i + 1] = '\n';
    }
    sluice_arena *arena = sluice_arena_new(0);
    sluice_token *toks = NULL;
    size_t ntok = 0;
    assert_int_equal(sluice_sql_tokenize(src, n * 2, arena, &toks, &ntok), SLUICE_OK);
    assert_int_equal(ntok, n + 1);
    assert_int_equal(toks[n - 1].line, (int)n);
    assert_int_equal(toks[n].kind, SLUICE_TOK_EOF);
    assert_int_equal(toks[n].line, (int)n + 1);
    sluice_arena_destroy(arena);
    free(src);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_statement_positions),
        cmocka_unit_test(test_keywords_case_insensitive),
        cmocka_unit_test(test_unreserved_words_are_identifiers),
        cmocka_unit_test(test_back_quoted_identifiers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_comments_and_white_space),
        cmocka_unit_test(test_error_unterminated_string),
        cmocka_unit_test(test_error_unterminated_back_quote),
        cmocka_unit_test(test_error_stray_characters),
        cmocka_unit_test(test_error_malformed_number),
        cmocka_unit_test(test_error_nul_in_back_quotes),
        cmocka_unit_test(test_large_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
