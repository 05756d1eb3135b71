/*
 * Dead letters and JSON log lines stay valid UTF-8 and lossless: a record
 * whose bytes are UTF-8 is kept as the JSON string "raw", any other as
 * "raw_base64" (the exact bytes, RFC 4648); text fields (reason, position,
 * log messages) replace ill-formed bytes by U+FFFD.  Compared byte for byte
 * with hand-written lines.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dead_letter.h"
#include "base/log.h"

#define R "\xEF\xBF\xBD"

static void test_raw_or_raw_base64(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("dead_letter_enc");
    assert_non_null(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/dl.jsonl", dir);
    sluice_dead_letter *dl = NULL;
    char err[256];
    assert_int_equal(sluice_dead_letter_open(path, 0, &dl, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_write(dl, "s", NULL, "f:1", "bad", "caf\xC3\xA9,\"1\"", 9), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_write(dl, "s", NULL, "f:2", "bad", "a\xFF" "b", 3), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_write(dl, "s", "k", "f:3", "late", "x\0y", 3), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_write(dl, "s", NULL, "f\x80:4", "got \"\xC3\"", "\xC3", 1), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_write(dl, "s", NULL, "f:5", "none", NULL, 0), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_flush(dl, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_count(dl), 5);
    sluice_dead_letter_close(dl);
    size_t len = 0;
    char *got = sluice_test_read_file(path, &len);
    assert_non_null(got);
    static const char want[] =
        "{\"source\":\"s\",\"position\":\"f:1\",\"reason\":\"bad\",\"raw\":\"caf\xC3\xA9,\\\"1\\\"\"}\n"
        "{\"source\":\"s\",\"position\":\"f:2\",\"reason\":\"bad\",\"raw_base64\":\"Yf9i\"}\n"
        "{\"source\":\"s\",\"sink\":\"k\",\"position\":\"f:3\",\"reason\":\"late\",\"raw\":\"x\\u0000y\"}\n"
        "{\"source\":\"s\",\"position\":\"f" R ":4\",\"reason\":\"got \\\"" R "\\\"\",\"raw_base64\":\"ww==\"}\n"
        "{\"source\":\"s\",\"position\":\"f:5\",\"reason\":\"none\",\"raw\":\"\"}\n";
    if (len != sizeof want - 1 || memcmp(got, want, len) != 0) fail_msg("got:\n%.*s\nwant:\n%s", (int)len, got, want);
    free(got);
    free(dir);
}

/* Processes may share a dead-letter file (instances of one pipeline): a
 * second open while the first holds it appends, never truncating the
 * first one's entries, even without a checkpoint (append = 0); once no one
 * holds it, a run without a checkpoint starts it anew. */
static void test_a_second_writer_appends_and_truncates_nothing(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("dead_letter_shared");
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/dl.jsonl", dir);
    sluice_dead_letter *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(sluice_dead_letter_open(path, 0, &a, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_write(a, "s", NULL, "f:1", "bad", "x", 1), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_flush(a, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_open(path, 0, &b, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_write(b, "s", NULL, "f:2", "bad", "y", 1), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_flush(b, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_write(a, "s", NULL, "f:3", "bad", "z", 1), SLUICE_OK);
    assert_int_equal(sluice_dead_letter_flush(a, err, sizeof err), SLUICE_OK);
    char *got = sluice_test_read_file(path, NULL);
    assert_string_equal(got, "{\"source\":\"s\",\"position\":\"f:1\",\"reason\":\"bad\",\"raw\":\"x\"}\n"
                             "{\"source\":\"s\",\"position\":\"f:2\",\"reason\":\"bad\",\"raw\":\"y\"}\n"
                             "{\"source\":\"s\",\"position\":\"f:3\",\"reason\":\"bad\",\"raw\":\"z\"}\n");
    free(got);
    sluice_dead_letter_close(a);
    sluice_dead_letter_close(b);
    assert_int_equal(sluice_dead_letter_open(path, 0, &c, err, sizeof err), SLUICE_OK);
    sluice_dead_letter_close(c);
    got = sluice_test_read_file(path, NULL);
    assert_string_equal(got, "");
    free(got);
    free(dir);
}

static void test_json_log_line(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_JSON, f);
    sluice_log(SLUICE_LOG_INFO, "p\xFF", NULL, NULL, "value %s", "\xE2\x82");
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, NULL);
    assert_int_equal(fclose(f), 0);
    const char *tail = "\"level\":\"info\",\"pipeline\":\"p" R "\",\"msg\":\"value " R "\"}\n";
    assert_true(len > strlen(tail));
    if (strcmp(buf + len - strlen(tail), tail) != 0) fail_msg("got %s", buf);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_or_raw_base64),
        cmocka_unit_test(test_json_log_line),
        cmocka_unit_test(test_a_second_writer_appends_and_truncates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
