/*
 * The file sink's specifics: CSV (header, quoting, NULL) and JSON lines
 * byte for byte, format chosen by extension, truncation at open, missing
 * parent directories created, the error message for a path that cannot be
 * created, and the refusal of a second writer of one file.
 */
#include "sluice_test.h"
#include "conn_support.h"
#include "option_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "connectors/connectors.h"

#define T2001 978307200000LL  /* 2001-01-01 00:00:00 UTC in ms */

static char *tmpdir;

static const sluice_column columns[] = {
    {.name = "k", .type = SLUICE_TYPE_BIGINT},
    {.name = "name", .type = SLUICE_TYPE_VARCHAR},
    {.name = "score", .type = SLUICE_TYPE_DOUBLE},
    {.name = "ts", .type = SLUICE_TYPE_TIMESTAMP},
};
static const sluice_schema schema = {.ncolumns = 4, .columns = columns};

static sluice_sink *open_sink(const char *path, const char *format, const char *delim,
                              sluice_test_cfg *c) {
    sluice_test_cfg_init(c, "out", &schema);
    sluice_test_cfg_set(c, "path", path);
    if (format) sluice_test_cfg_set(c, "format", format);
    if (delim) sluice_test_cfg_set(c, "csv.delimiter", delim);
    sluice_sink *s = NULL;
    char err[512] = "";
    if (sluice_file_sink_ops.open(&c->cfg, &s, err, sizeof err) != SLUICE_OK)
        fail_msg("open: %s", err);
    return s;
}

static void write_sample(sluice_sink *s) {
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    sluice_value *r = sluice_row_batch_append(&b);
    r[0] = sluice_value_bigint(1);
    r[1] = sluice_value_varchar("a,b", 3);
    r[2] = sluice_value_double(2.5);
    r[3] = sluice_value_timestamp(T2001);
    r = sluice_row_batch_append(&b);
    r[0] = sluice_value_bigint(-2);
    r[1] = sluice_value_varchar("say \"hi\"", 8);
    r[2] = sluice_value_null();
    r[3] = sluice_value_timestamp(T2001 + 61001);
    assert_int_equal(s->ops->write(s, 1, &b, NULL, 0), SLUICE_OK);
    assert_int_equal(s->ops->commit(s, 1, NULL, 0), SLUICE_OK);
    sluice_row_batch_clear(&b);
    assert_int_equal(s->ops->write(s, 2, &b, NULL, 0), SLUICE_OK);
    assert_int_equal(s->ops->commit(s, 2, NULL, 0), SLUICE_OK);
    sluice_row_batch_free(&b);
}

static void csv_text(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/out.csv", tmpdir);
    sluice_test_cfg c;
    sluice_sink *s = open_sink(path, NULL, NULL, &c);
    write_sample(s);
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,name,score,ts\n"
                              "1,\"a,b\",2.5,2001-01-01 00:00:00\n"
                              "-2,\"say \"\"hi\"\"\",,2001-01-01 00:01:01.001\n");
    free(text);
    s->ops->close(s);
}

static void csv_delimiter(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/out.txt", tmpdir);
    sluice_test_cfg c;
    sluice_sink *s = open_sink(path, "csv", ";", &c);
    write_sample(s);
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k;name;score;ts\n"
                              "1;a,b;2.5;2001-01-01 00:00:00\n"
                              "-2;\"say \"\"hi\"\"\";;2001-01-01 00:01:01.001\n");
    free(text);
    s->ops->close(s);
}

static void json_text(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/out.jsonl", tmpdir);
    sluice_test_cfg c;
    sluice_sink *s = open_sink(path, NULL, NULL, &c);
    write_sample(s);
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text,
                        "{\"k\":1,\"name\":\"a,b\",\"score\":2.5,\"ts\":\"2001-01-01 00:00:00\"}\n"
                        "{\"k\":-2,\"name\":\"say \\\"hi\\\"\",\"score\":null,"
                        "\"ts\":\"2001-01-01 00:01:01.001\"}\n");
    free(text);
    s->ops->close(s);
}

/* A batch larger than the sink's 1 MiB buffer is written as soon as the
 * buffer is full, and only whole rows reach the file: after each write()
 * the file ends with a line break, and after commit() it holds every row. */
static void large_batches_write_whole_rows(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/big.jsonl", tmpdir);
    sluice_test_cfg c;
    sluice_sink *s = open_sink(path, "json", NULL, &c);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    /* {"k":N,"name":"...","score":0.5,"ts":"2001-01-01 00:00:00"}: ~100 bytes */
    for (int64_t i = 0; i < 30000; i++) {
        sluice_value *r = sluice_row_batch_append(&b);
        r[0] = sluice_value_bigint(i);
        r[1] = sluice_value_varchar("abcdefghijklmnopqrstuvwxyz", 26);
        r[2] = sluice_value_double(0.5);
        r[3] = sluice_value_timestamp(T2001 + i * 1000);
    }
    size_t row_len = strlen("{\"k\":,\"name\":\"abcdefghijklmnopqrstuvwxyz\",\"score\":0.5,"
                            "\"ts\":\"2001-01-01 00:00:00\"}\n");
    size_t total = 0;
    for (int64_t i = 0; i < 30000; i++) total += row_len + (size_t)snprintf(NULL, 0, "%lld", (long long)i);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(s->ops->write(s, 1, &b, NULL, 0), SLUICE_OK);
        size_t len = 0;
        char *text = sluice_test_read_file(path, &len);
        assert_true(len >= 1u << 20); /* the buffer was written when full */
        assert_int_equal(text[len - 1], '\n');
        free(text);
    }
    assert_int_equal(s->ops->commit(s, 1, NULL, 0), SLUICE_OK);
    size_t len = 0;
    char *text = sluice_test_read_file(path, &len);
    assert_int_equal(len, 2 * total);
    assert_memory_equal(text, "{\"k\":0,\"name\":\"abcdefghijklmnopqrstuvwxyz\",\"score\":0.5,"
                              "\"ts\":\"2001-01-01 00:00:00\"}\n", row_len + 1);
    free(text);
    sluice_row_batch_free(&b);
    s->ops->close(s);
}

/* A full disk (/dev/full): the rows cannot be written, and commit() says
 * so with the system's reason rather than reporting them committed. */
static void full_disk_fails_the_commit(void **state) {
    (void)state;
    struct stat st;
    if (stat("/dev/full", &st) != 0) skip();
    sluice_test_cfg c;
    sluice_sink *s = open_sink("/dev/full", "json", NULL, &c);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    sluice_value *r = sluice_row_batch_append(&b);
    r[0] = sluice_value_bigint(1);
    r[1] = sluice_value_varchar("a", 1);
    r[2] = sluice_value_double(2.5);
    r[3] = sluice_value_timestamp(T2001);
    char err[512] = "";
    assert_int_equal(s->ops->write(s, 1, &b, err, sizeof err), SLUICE_OK);
    assert_int_equal(s->ops->commit(s, 1, err, sizeof err), SLUICE_ERR_IO);
    assert_non_null(strstr(err, "No space left on device"));
    sluice_row_batch_free(&b);
    s->ops->close(s);
}

static void truncates_at_open(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/again.csv", tmpdir);
    assert_int_equal(sluice_test_write_file(path, "old content\nmore\n"), 0);
    sluice_test_cfg c;
    sluice_sink *s = open_sink(path, NULL, NULL, &c);
    assert_int_equal(s->ops->commit(s, 0, NULL, 0), SLUICE_OK);
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,name,score,ts\n");
    free(text);
    s->ops->close(s);
}

/* A path in directories that do not exist yet: they are created (as the
 * dead-letter file's are), and the file holds the rows. */
static void creates_parent_directories(void **state) {
    (void)state;
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/new/deeper", tmpdir);
    snprintf(path, sizeof path, "%s/out.csv", dir);
    struct stat st;
    assert_int_not_equal(stat(dir, &st), 0);
    sluice_test_cfg c;
    sluice_sink *s = open_sink(path, NULL, NULL, &c);
    write_sample(s);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    char *text = sluice_test_read_file(path, NULL);
    assert_string_equal(text, "k,name,score,ts\n"
                              "1,\"a,b\",2.5,2001-01-01 00:00:00\n"
                              "-2,\"say \"\"hi\"\"\",,2001-01-01 00:01:01.001\n");
    free(text);
    s->ops->close(s);
}

/* A path that cannot be created (even as root: a parent is a regular file)
 * fails at open, naming what could not be created. */
static void uncreatable_path_message(void **state) {
    (void)state;
    char file[4200], path[4300], want[4600];
    snprintf(file, sizeof file, "%s/a-file", tmpdir);
    assert_int_equal(sluice_test_write_file(file, "x\n"), 0);
    sluice_test_cfg c;
    sluice_sink *s = NULL;
    char err[4600] = "";
    /* the parent is the file: creating the output fails */
    snprintf(path, sizeof path, "%s/x.csv", file);
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "path", path);
    assert_int_equal(sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(s);
    snprintf(want, sizeof want, "sink out (file): cannot create '%s': Not a directory", path);
    assert_string_equal(err, want);
    /* a directory below the file: creating the directory fails */
    snprintf(path, sizeof path, "%s/sub/x.csv", file);
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "path", path);
    assert_int_equal(sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(s);
    snprintf(want, sizeof want, "sink out (file): cannot create '%s/sub': Not a directory", file);
    assert_string_equal(err, want);
    sluice_test_cfg_init(&c, "out", &schema);
    assert_int_equal(sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "'path'"));
}

/* Open a second sink on `path` while `first` holds it: refused (exit 2's
 * error), and the first one's rows stay as they were. */
static void expect_second_writer_refused(const char *path, int checkpointing) {
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out2", &schema);
    sluice_test_cfg_set(&c, "path", path);
    c.cfg.checkpointing = checkpointing;
    sluice_sink *s = NULL;
    char err[1024] = "";
    assert_int_equal(sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(s);
    char want[4400];
    snprintf(want, sizeof want, "sink out2 (file): '%s' is being written by another process or sink", path);
    if (!strstr(err, want)) fail_msg("expected '%s' in '%s'", want, err);
}

/* The bug: two runs writing one output file (each with its own checkpoint
 * directory, or none) truncated each other; the second exited 0 and the
 * first one's committed rows were gone. */
static void second_writer_of_one_file_is_refused(void **state) {
    (void)state;
    const char *expected = "k,name,score,ts\n"
                           "1,\"a,b\",2.5,2001-01-01 00:00:00\n"
                           "-2,\"say \"\"hi\"\"\",,2001-01-01 00:01:01.001\n";
    for (int checkpointing = 0; checkpointing <= 1; checkpointing++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/shared%d.csv", tmpdir, checkpointing);
        sluice_test_cfg c;
        sluice_test_cfg_init(&c, "out", &schema);
        sluice_test_cfg_set(&c, "path", path);
        c.cfg.checkpointing = checkpointing;
        sluice_sink *s = NULL;
        char err[512] = "";
        if (sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
        write_sample(s);
        expect_second_writer_refused(path, 0);
        expect_second_writer_refused(path, 1);
        char *text = sluice_test_read_file(path, NULL);
        assert_string_equal(text, expected); /* neither truncated nor cut back */
        free(text);
        s->ops->close(s);
        /* the lock goes with the first writer: the next run may write */
        sluice_test_cfg_init(&c, "out", &schema);
        sluice_test_cfg_set(&c, "path", path);
        c.cfg.checkpointing = checkpointing;
        if (sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err) != SLUICE_OK) fail_msg("reopen: %s", err);
        s->ops->close(s);
    }
    /* special files are not locked: two sinks may both write /dev/null */
    sluice_test_cfg c1, c2;
    sluice_sink *a = open_sink("/dev/null", "csv", NULL, &c1);
    sluice_sink *b = open_sink("/dev/null", "csv", NULL, &c2);
    a->ops->close(a);
    b->ops->close(b);
}

/* The option table: `sluice check` refuses a value of the wrong type with
 * its file:line, and `sluice connectors` lists every option of the plain
 * and the partitioned sink. */
static void options_checked_and_listed(void **state) {
    (void)state;
    const char *sql = "CREATE SOURCE ev (k VARCHAR, v BIGINT);\nCREATE SINK out AS SELECT k, v FROM ev;\n";
    sluice_test_check_refuses(sql,
                              "[source ev]\nconnector = memory\n[sink out]\nconnector = file\npath = out.csv\n"
                              "partition_by = k\nrollover_rows = many\n",
                              7, (const char *const[]){"rollover_rows = 'many'", "expected integer >= 1", NULL});
    sluice_test_check_refuses(sql,
                              "[source ev]\nconnector = memory\n[sink out]\nconnector = file\npath = out.csv\n"
                              "format = parquet\n",
                              6, (const char *const[]){"format = 'parquet'", "expected json or csv", NULL});
    sluice_test_check_refuses(sql, "[source ev]\nconnector = memory\n[sink out]\nconnector = file\n", 4,
                              (const char *const[]){"option 'path' is required", NULL});
    sluice_test_connectors_list("### Sink `file`",
                                (const char *const[]){"path", "format", "csv.delimiter", "partition_by",
                                                      "rollover_rows", "rollover_bytes", NULL});
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("unit_file_sink");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_text),
        cmocka_unit_test(csv_delimiter),
        cmocka_unit_test(json_text),
        cmocka_unit_test(large_batches_write_whole_rows),
        cmocka_unit_test(full_disk_fails_the_commit),
        cmocka_unit_test(truncates_at_open),
        cmocka_unit_test(creates_parent_directories),
        cmocka_unit_test(uncreatable_path_message),
        cmocka_unit_test(second_writer_of_one_file_is_refused),
        cmocka_unit_test(options_checked_and_listed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(tmpdir);
    return rc;
}
