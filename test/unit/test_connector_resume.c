/*
 * What checkpointing needs from the file connectors: the source seeks to a
 * line and hands out exactly the records from there; the sink keeps an
 * epoch sidecar and, reopened, cuts the rows of an uncommitted epoch.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "conn_support.h"
#include "connectors/connectors.h"

static char *dir;
static char path[4096];

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("resume");
    return dir ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

static sluice_source *open_source(const char *format) {
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "in", NULL);
    sluice_test_cfg_set(&c, "path", path);
    sluice_test_cfg_set(&c, "format", format);
    sluice_source *src = NULL;
    char err[512];
    sluice_err_t e = sluice_file_source_ops.open(&c.cfg, &src, err, sizeof err);
    if (e) fail_msg("open: %s", err);
    return src;
}

/* poll everything; return "offset:value|..." */
static char *drain(sluice_source *src) {
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    char *out = calloc(1, 4096);
    char err[256];
    do {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 2, 0, err, sizeof err), SLUICE_OK);
        for (size_t i = 0; i < b.count; i++) {
            char item[256];
            snprintf(item, sizeof item, "%lld:%.*s|", (long long)b.records[i].offset, (int)b.records[i].value_len,
                     b.records[i].value);
            strcat(out, item);
        }
    } while (!b.end_of_input);
    sluice_record_batch_free(&b);
    return out;
}

static void test_json_source_seeks_to_a_line(void **state) {
    (void)state;
    snprintf(path, sizeof path, "%s/in.jsonl", dir);
    /* line 3 is empty, line 6 has no newline */
    assert_int_equal(sluice_test_write_file(path, "{\"a\":1}\n{\"a\":2}\n\n{\"a\":4}\n{\"a\":5}\n{\"a\":6}"), 0);
    sluice_source *src = open_source("json");
    char err[256];
    char *all = drain(src);
    assert_string_equal(all, "1:{\"a\":1}|2:{\"a\":2}|4:{\"a\":4}|5:{\"a\":5}|6:{\"a\":6}|");
    free(all);
    assert_int_equal(src->ops->seek(src, NULL, 0, 4, err, sizeof err), SLUICE_OK);
    char *from4 = drain(src);
    assert_string_equal(from4, "4:{\"a\":4}|5:{\"a\":5}|6:{\"a\":6}|");
    free(from4);
    /* line 3 is empty: resuming there gives the record of line 4 */
    assert_int_equal(src->ops->seek(src, NULL, 0, 3, err, sizeof err), SLUICE_OK);
    char *from3 = drain(src);
    assert_string_equal(from3, "4:{\"a\":4}|5:{\"a\":5}|6:{\"a\":6}|");
    free(from3);
    /* just past the last record: nothing more */
    assert_int_equal(src->ops->seek(src, NULL, 0, 7, err, sizeof err), SLUICE_OK);
    char *none = drain(src);
    assert_string_equal(none, "");
    free(none);
    /* the file no longer holds line 40: an error, not a silent restart */
    assert_int_equal(src->ops->seek(src, NULL, 0, 40, err, sizeof err), SLUICE_ERR_RUNTIME);
    assert_non_null(strstr(err, "line 40"));
    assert_int_equal(src->ops->seek(src, NULL, 1, 1, err, sizeof err), SLUICE_ERR_RUNTIME);
    src->ops->close(src);
}

static void test_csv_source_seek_skips_the_header_and_quoted_newlines(void **state) {
    (void)state;
    snprintf(path, sizeof path, "%s/in.csv", dir);
    assert_int_equal(sluice_test_write_file(path, "k,v\na,1\n\"b\nb\",2\nc,3\n"), 0);
    sluice_source *src = open_source("csv");
    char err[256];
    assert_int_equal(src->ops->seek(src, NULL, 0, 3, err, sizeof err), SLUICE_OK);
    char *from3 = drain(src);
    assert_string_equal(from3, "3:\"b\nb\",2|5:c,3|");
    free(from3);
    assert_int_equal(src->ops->seek(src, NULL, 0, 2, err, sizeof err), SLUICE_OK);
    char *from2 = drain(src);
    assert_string_equal(from2, "2:a,1|3:\"b\nb\",2|5:c,3|");
    free(from2);
    assert_string_equal(src->csv_header, "k,v");
    src->ops->close(src);
}

static const sluice_column cols[] = {{"k", SLUICE_TYPE_VARCHAR}, {"n", SLUICE_TYPE_BIGINT}};
static const sluice_schema schema = {.ncolumns = 2, .columns = cols};

static sluice_sink *open_sink(int checkpointing) {
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "path", path);
    c.cfg.checkpointing = checkpointing;
    sluice_sink *s = NULL;
    char err[512];
    sluice_err_t e = sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err);
    if (e) fail_msg("open: %s", err);
    return s;
}

static void write_epoch(sluice_sink *s, int64_t epoch, const char *k, int64_t n, int commit) {
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    sluice_value *row = sluice_row_batch_append(&b);
    row[0] = sluice_value_varchar(k, strlen(k));
    row[1] = sluice_value_bigint(n);
    char err[256];
    assert_int_equal(s->ops->write(s, epoch, &b, err, sizeof err), SLUICE_OK);
    if (commit) assert_int_equal(s->ops->commit(s, epoch, err, sizeof err), SLUICE_OK);
    sluice_row_batch_free(&b);
}

static void test_file_sink_cuts_an_uncommitted_epoch(void **state) {
    (void)state;
    snprintf(path, sizeof path, "%s/out.csv", dir);
    sluice_sink *s = open_sink(1);
    assert_int_equal(s->ops->committed_epoch(s), -1);
    write_epoch(s, 0, "a", 1, 1);
    write_epoch(s, 1, "b", 2, 1);
    write_epoch(s, 2, "c", 3, 0); /* written, never committed: a crash here */
    char err[64];
    (void)err;
    s->ops->close(s); /* close flushes the stdio buffer, as a crash after a partial write could */
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,n\na,1\nb,2\nc,3\n");
    free(text);
    char side[4200];
    snprintf(side, sizeof side, "%s.epoch", path);
    text = sluice_test_read_file(side, NULL);
    char body[8192];
    int bn = snprintf(body, sizeof body,
                      "sluice-file-epoch 2\npipeline test\nsink out\npath %s\nformat csv\nepoch 1\nlength 12\n", path);
    assert_memory_equal(text, body, (size_t)bn);
    char crcline[32];
    snprintf(crcline, sizeof crcline, "crc32 %08lx\n", (unsigned long)crc32(0L, (const Bytef *)body, (uInt)bn));
    assert_string_equal(text + bn, crcline);
    free(text);

    s = open_sink(1);
    assert_int_equal(s->ops->committed_epoch(s), 1);
    text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,n\na,1\nb,2\n");
    free(text);
    write_epoch(s, 2, "c", 3, 1);
    s->ops->close(s);
    text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,n\na,1\nb,2\nc,3\n");
    free(text);

    /* without checkpointing a run starts a new file */
    s = open_sink(0);
    assert_int_equal(s->ops->committed_epoch(s), -1);
    s->ops->close(s);
    text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,n\n");
    free(text);
}

/* open_sink(1) expecting a refusal: returns the message. */
static void expect_refusal(const char *needle1, const char *needle2) {
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "path", path);
    c.cfg.checkpointing = 1;
    sluice_sink *s = NULL;
    char err[2048] = "";
    assert_int_equal(sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(s);
    if (!strstr(err, needle1)) fail_msg("expected '%s' in '%s'", needle1, err);
    if (needle2 && !strstr(err, needle2)) fail_msg("expected '%s' in '%s'", needle2, err);
}

/* Two committed epochs: "k,n\na,1\nb,2\n" (12 bytes), sidecar at epoch 1. */
static void two_epochs(char *side, size_t side_size) {
    snprintf(path, sizeof path, "%s/out.csv", dir);
    snprintf(side, side_size, "%s.epoch", path);
    sluice_sink *s = open_sink(1);
    write_epoch(s, 0, "a", 1, 1);
    write_epoch(s, 1, "b", 2, 1);
    s->ops->close(s);
}

static off_t size_of(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

/* The bug: a missing sidecar re-created the output empty (exit 0). */
static void test_file_sink_refuses_output_without_its_record(void **state) {
    (void)state;
    char side[4200];
    two_epochs(side, sizeof side);
    assert_int_equal(unlink(side), 0);
    expect_refusal("has no epoch record", "move it away");
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,n\na,1\nb,2\n"); /* untouched */
    free(text);
    /* the way out: moved away, a new output starts */
    char moved[4300];
    snprintf(moved, sizeof moved, "%s.old", path);
    assert_int_equal(rename(path, moved), 0);
    sluice_sink *s = open_sink(1);
    assert_int_equal(s->ops->committed_epoch(s), -1);
    s->ops->close(s);
    text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,n\n");
    free(text);
}

/* The bug: an output shorter than recorded (copytruncate) was grown back
 * with NUL bytes by truncate(). */
static void test_file_sink_refuses_a_truncated_output(void **state) {
    (void)state;
    char side[4200];
    two_epochs(side, sizeof side);
    assert_int_equal(truncate(path, 0), 0); /* what logrotate copytruncate does */
    expect_refusal("is 0 bytes, shorter than the 12 bytes committed up to epoch 1", "out.csv.epoch");
    assert_int_equal(size_of(path), 0); /* no NUL padding */
    assert_int_equal(truncate(path, 5), 0);
    expect_refusal("is 5 bytes, shorter than the 12 bytes", NULL);
    assert_int_equal(size_of(path), 5);
}

static void test_file_sink_refuses_a_missing_output_with_a_record(void **state) {
    (void)state;
    char side[4200];
    two_epochs(side, sizeof side);
    assert_int_equal(unlink(path), 0);
    expect_refusal("is missing, but", "epochs up to 1 (12 bytes) were committed");
    assert_int_equal(size_of(path), -1);
}

static void test_file_sink_refuses_a_damaged_or_foreign_record(void **state) {
    (void)state;
    char side[4200];
    two_epochs(side, sizeof side);
    char *rec = sluice_test_read_file(side, NULL);
    /* one digit of the length edited: the checksum no longer matches */
    char *edit = strdup(rec);
    *strstr(edit, "length 12") = '\0';
    char buf[8192];
    snprintf(buf, sizeof buf, "%slength 13%s", edit, strstr(rec, "length 12") + 9);
    assert_int_equal(sluice_test_write_file(side, buf), 0);
    expect_refusal("is not a valid epoch record: its checksum does not match", NULL);
    /* torn: the last line missing */
    snprintf(buf, sizeof buf, "%.*s", (int)(strstr(rec, "crc32") - rec), rec);
    assert_int_equal(sluice_test_write_file(side, buf), 0);
    expect_refusal("is not a valid epoch record: it is incomplete", NULL);
    assert_int_equal(sluice_test_write_file(side, "garbage\n"), 0);
    expect_refusal("is not a valid epoch record: it is not a sluice epoch record", NULL);
    free(edit);
    free(rec);
    /* another sink's record (same path, other sink name): refused by key */
    assert_int_equal(unlink(side), 0);
    assert_int_equal(unlink(path), 0);
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "other", &schema);
    sluice_test_cfg_set(&c, "path", path);
    c.cfg.checkpointing = 1;
    sluice_sink *s = NULL;
    char err[1024];
    assert_int_equal(sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_OK);
    write_epoch(s, 0, "z", 9, 1);
    s->ops->close(s);
    expect_refusal("belongs to another output: its sink is 'other', this sink's is 'out'", NULL);
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,n\nz,9\n");
    free(text);
}

/* A crash before the first commit leaves the record of epoch -1 and some
 * uncommitted rows: nothing was committed, so the next run starts anew. */
static void test_file_sink_starts_anew_when_nothing_was_committed(void **state) {
    (void)state;
    snprintf(path, sizeof path, "%s/out.csv", dir);
    char side[4200];
    snprintf(side, sizeof side, "%s.epoch", path);
    sluice_sink *s = open_sink(1);
    char *rec = sluice_test_read_file(side, NULL); /* written before the file */
    assert_non_null(rec);
    assert_non_null(strstr(rec, "\nepoch -1\nlength 0\n"));
    free(rec);
    write_epoch(s, 0, "a", 1, 0);
    s->ops->close(s);
    s = open_sink(1);
    assert_int_equal(s->ops->committed_epoch(s), -1);
    s->ops->close(s);
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,n\n");
    free(text);
}

/* A record of an earlier version ("epoch N length L") is taken once. */
static void test_file_sink_takes_a_format_1_record(void **state) {
    (void)state;
    snprintf(path, sizeof path, "%s/out.csv", dir);
    char side[4200];
    snprintf(side, sizeof side, "%s.epoch", path);
    assert_int_equal(sluice_test_write_file(path, "k,n\na,1\nb,2\nc,3\n"), 0);
    assert_int_equal(sluice_test_write_file(side, "epoch 1 length 12\n"), 0);
    sluice_sink *s = open_sink(1);
    assert_int_equal(s->ops->committed_epoch(s), 1);
    write_epoch(s, 2, "d", 4, 1);
    s->ops->close(s);
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,n\na,1\nb,2\nd,4\n");
    free(text);
    text = sluice_test_read_file(side, NULL);
    assert_non_null(strstr(text, "sluice-file-epoch 2\n"));
    assert_non_null(strstr(text, "\nepoch 2\nlength 16\n"));
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_source_seeks_to_a_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_source_seek_skips_the_header_and_quoted_newlines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sink_cuts_an_uncommitted_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sink_refuses_output_without_its_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sink_refuses_a_truncated_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sink_refuses_a_missing_output_with_a_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sink_refuses_a_damaged_or_foreign_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sink_starts_anew_when_nothing_was_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sink_takes_a_format_1_record, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
