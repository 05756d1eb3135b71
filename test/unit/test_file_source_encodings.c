/*
 * The file source and encodings: a UTF-8 byte-order mark that starts the
 * file is skipped (JSON lines, the CSV header; also when it arrives in
 * pieces in follow mode, and after a seek back to the start); one later in
 * the file is data.  In follow mode a quote left open waits for more bytes:
 * the record is handed out whole once its quote closes, never cut early.
 */
#include "sluice_test.h"
#include "conn_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/connectors.h"

static char *tmpdir;
static char path[4096];

static int setup(void **state) {
    (void)state;
    static int seq;
    snprintf(path, sizeof path, "%s/in-%d.txt", tmpdir, ++seq);
    return 0;
}

static sluice_source *open_file(const char *format, int follow, sluice_test_cfg *c) {
    sluice_test_cfg_init(c, "ev", NULL);
    sluice_test_cfg_set(c, "path", path);
    sluice_test_cfg_set(c, "format", format);
    if (follow) sluice_test_cfg_set(c, "follow", "true");
    sluice_source *src = NULL;
    char err[512] = "";
    if (sluice_file_source_ops.open(&c->cfg, &src, err, sizeof err) != SLUICE_OK)
        fail_msg("open: %s", err);
    return src;
}

static void append_bytes(const char *text) {
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll (100 ms per poll) until `want` records in total or the deadline;
 * values joined by '|' appended to out, first offsets to offs. */
static size_t poll_some(sluice_source *src, size_t want, int64_t deadline_ms, char *out,
                        size_t size, int64_t *offs) {
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    size_t n = 0, used = strlen(out);
    while (n < want && mono_ms() < deadline_ms) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 100, 100, NULL, 0), SLUICE_OK);
        for (size_t i = 0; i < b.count; i++, n++) {
            used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? "|" : "",
                                     (int)b.records[i].value_len, b.records[i].value);
            if (offs) offs[n] = b.records[i].offset;
        }
        if (b.end_of_input) break;
    }
    sluice_record_batch_free(&b);
    return n;
}

static void json_bom_skipped_mid_file_kept(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBF{\"a\":2}\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file("json", 0, &c);
    char text[256] = "";
    int64_t offs[8];
    assert_int_equal(poll_some(src, 9, mono_ms() + 5000, text, sizeof text, offs), 2);
    assert_string_equal(text, "{\"a\":1}|\xEF\xBB\xBF{\"a\":2}");
    assert_int_equal(offs[0], 1);
    assert_int_equal(offs[1], 2);
    /* a seek back to the first line skips it again */
    assert_int_equal(src->ops->seek(src, NULL, 0, 1, NULL, 0), SLUICE_OK);
    text[0] = '\0';
    assert_int_equal(poll_some(src, 9, mono_ms() + 5000, text, sizeof text, NULL), 2);
    assert_string_equal(text, "{\"a\":1}|\xEF\xBB\xBF{\"a\":2}");
    src->ops->close(src);
}

static void csv_header_bom(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "\xEF\xBB\xBFid,name\n1,x\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file("csv", 0, &c);
    assert_int_equal(src->csv_header_len, 7);
    assert_memory_equal(src->csv_header, "id,name", 7);
    char text[64] = "";
    assert_int_equal(poll_some(src, 9, mono_ms() + 5000, text, sizeof text, NULL), 1);
    assert_string_equal(text, "1,x");
    src->ops->close(src);
}

/* Not a BOM: bytes that start like one are data. */
static void almost_a_bom_is_data(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "\xEF\xBB" "x\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file("json", 0, &c);
    char text[64] = "";
    assert_int_equal(poll_some(src, 9, mono_ms() + 5000, text, sizeof text, NULL), 1);
    assert_string_equal(text, "\xEF\xBB" "x");
    src->ops->close(src);
}

static void follow_bom_in_pieces(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "\xEF"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file("json", 1, &c);
    char text[128] = "";
    assert_int_equal(poll_some(src, 1, mono_ms() + 150, text, sizeof text, NULL), 0);
    append_bytes("\xBB");
    assert_int_equal(poll_some(src, 1, mono_ms() + 150, text, sizeof text, NULL), 0);
    append_bytes("\xBF{\"a\":1}\n");
    assert_int_equal(poll_some(src, 1, mono_ms() + 5000, text, sizeof text, NULL), 1);
    assert_string_equal(text, "{\"a\":1}");
    src->ops->close(src);
}

static void follow_open_quote_waits(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "id,note\n1,a\n2,\"open\n3,still inside\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file("csv", 1, &c);
    char text[256] = "";
    int64_t offs[8];
    /* the row before the quote comes out; the open record does not */
    assert_int_equal(poll_some(src, 2, mono_ms() + 300, text, sizeof text, offs), 1);
    assert_string_equal(text, "1,a");
    assert_int_equal(offs[0], 2);
    append_bytes("more\" text\n4,b\n");
    text[0] = '\0';
    assert_int_equal(poll_some(src, 2, mono_ms() + 5000, text, sizeof text, offs), 2);
    assert_string_equal(text, "2,\"open\n3,still inside\nmore\" text|4,b");
    assert_int_equal(offs[0], 3);
    assert_int_equal(offs[1], 6);
    src->ops->close(src);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("unit_file_source_enc");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_bom_skipped_mid_file_kept, setup),
        cmocka_unit_test_setup(csv_header_bom, setup),
        cmocka_unit_test_setup(almost_a_bom_is_data, setup),
        cmocka_unit_test_setup(follow_bom_in_pieces, setup),
        cmocka_unit_test_setup(follow_open_quote_waits, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(tmpdir);
    return rc;
}
