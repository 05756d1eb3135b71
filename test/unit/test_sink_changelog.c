/*
 * Sinks applying a changelog (sluice/changelog.h), fed row batches with
 * change kinds directly: the file sink's `op` column (CSV, JSON lines, the
 * epoch record's format, partitioned output), the console sink's, and the
 * memory sink's upsert table (deletes applied, kinds kept).  An APPEND
 * query's output keeps its old bytes.  Expected outputs written by hand.
 */
#include "sluice_test.h"
#include "conn_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "sluice/changelog.h"

static char *tmpdir;

static const sluice_column columns[] = {
    {.name = "k", .type = SLUICE_TYPE_VARCHAR},
    {.name = "n", .type = SLUICE_TYPE_BIGINT},
};
static const size_t pk[] = {0};
static const sluice_schema keyed = {.ncolumns = 2, .columns = columns, .npk = 1, .pk = pk};
static const sluice_schema unkeyed = {.ncolumns = 2, .columns = columns};

static int setup(void **state) {
    (void)state;
    tmpdir = sluice_test_mkdtemp("sink_changelog");
    return tmpdir ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(tmpdir);
    return 0;
}

static void add(sluice_row_batch *b, sluice_row_kind kind, const char *k, int64_t n) {
    sluice_value *r = sluice_row_batch_append_kind(b, kind);
    assert_non_null(r);
    r[0] = sluice_value_varchar(k, strlen(k));
    r[1] = sluice_value_bigint(n);
}

/* Epoch 1: a +I, a +U, -U +U of one key, a -D; epoch 2: inserts only (no
 * kinds array). */
static void write_changelog(sluice_sink *s, const sluice_schema *schema) {
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, schema), SLUICE_OK);
    add(&b, SLUICE_ROW_INSERT, "a", 1);
    add(&b, SLUICE_ROW_UPDATE_AFTER, "b", 2);
    add(&b, SLUICE_ROW_UPDATE_BEFORE, "a", 1);
    add(&b, SLUICE_ROW_UPDATE_AFTER, "a", 3);
    add(&b, SLUICE_ROW_DELETE, "b", 2);
    char err[512] = "";
    if (s->ops->write(s, 1, &b, err, sizeof err) != SLUICE_OK) fail_msg("write: %s", err);
    if (s->ops->commit && s->ops->commit(s, 1, err, sizeof err) != SLUICE_OK) fail_msg("commit: %s", err);
    sluice_row_batch_free(&b);
    assert_int_equal(sluice_row_batch_init(&b, schema), SLUICE_OK);
    sluice_value *r = sluice_row_batch_append(&b);
    r[0] = sluice_value_varchar("c", 1);
    r[1] = sluice_value_bigint(4);
    assert_null(b.kinds);
    if (s->ops->write(s, 2, &b, err, sizeof err) != SLUICE_OK) fail_msg("write: %s", err);
    if (s->ops->commit && s->ops->commit(s, 2, err, sizeof err) != SLUICE_OK) fail_msg("commit: %s", err);
    sluice_row_batch_free(&b);
}

static char *file_output(const char *name, const char *format, int output_mode, int checkpointing,
                         const char *partition_by, const char *read) {
    char path[4200], full[4400];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &keyed);
    sluice_test_cfg_set(&c, "path", path);
    sluice_test_cfg_set(&c, "format", format);
    if (partition_by) sluice_test_cfg_set(&c, "partition_by", partition_by);
    c.cfg.output_mode = output_mode;
    c.cfg.checkpointing = checkpointing;
    sluice_sink *s = NULL;
    char err[512] = "";
    if (sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
    write_changelog(s, &keyed);
    s->ops->close(s);
    snprintf(full, sizeof full, "%s%s", path, read ? read : "");
    char *text = sluice_test_read_file(full, NULL);
    assert_non_null(text);
    return text;
}

static void file_csv_update_has_op_column(void **state) {
    (void)state;
    char *t = file_output("update.csv", "csv", SLUICE_OUTPUT_UPDATE, 0, NULL, NULL);
    assert_string_equal(t, "op,k,n\n"
                           "+I,a,1\n"
                           "+U,b,2\n"
                           "-U,a,1\n"
                           "+U,a,3\n"
                           "-D,b,2\n"
                           "+I,c,4\n");
    free(t);
}

static void file_json_complete_has_op_field(void **state) {
    (void)state;
    char *t = file_output("complete.json", "json", SLUICE_OUTPUT_COMPLETE, 0, NULL, NULL);
    assert_string_equal(t, "{\"op\":\"+I\",\"k\":\"a\",\"n\":1}\n"
                           "{\"op\":\"+U\",\"k\":\"b\",\"n\":2}\n"
                           "{\"op\":\"-U\",\"k\":\"a\",\"n\":1}\n"
                           "{\"op\":\"+U\",\"k\":\"a\",\"n\":3}\n"
                           "{\"op\":\"-D\",\"k\":\"b\",\"n\":2}\n"
                           "{\"op\":\"+I\",\"k\":\"c\",\"n\":4}\n");
    free(t);
}

/* APPEND (and a mode not given) writes what it always wrote: no op. */
static void file_append_output_unchanged(void **state) {
    (void)state;
    static const int modes[] = {SLUICE_OUTPUT_APPEND, 0};
    for (size_t i = 0; i < 2; i++) {
        char *t = file_output("append.csv", "csv", modes[i], 0, NULL, NULL);
        assert_string_equal(t, "k,n\na,1\nb,2\na,1\na,3\nb,2\nc,4\n");
        free(t);
        t = file_output("append.json", "json", modes[i], 0, NULL, NULL);
        assert_string_equal(t, "{\"k\":\"a\",\"n\":1}\n{\"k\":\"b\",\"n\":2}\n{\"k\":\"a\",\"n\":1}\n"
                               "{\"k\":\"a\",\"n\":3}\n{\"k\":\"b\",\"n\":2}\n{\"k\":\"c\",\"n\":4}\n");
        free(t);
    }
}

/* The epoch record names the columns' shape, so an output begun without
 * op is never continued with it (nor the other way round). */
static void file_epoch_record_keys_op_outputs(void **state) {
    (void)state;
    char *t = file_output("ck.csv", "csv", SLUICE_OUTPUT_UPDATE, 1, NULL, ".epoch");
    assert_non_null(strstr(t, "\nformat csv+op\n"));
    assert_non_null(strstr(t, "\nepoch 2\n"));
    free(t);
    char path[4200];
    snprintf(path, sizeof path, "%s/ck.csv", tmpdir);
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &keyed);
    sluice_test_cfg_set(&c, "path", path);
    c.cfg.output_mode = SLUICE_OUTPUT_APPEND;
    c.cfg.checkpointing = 1;
    sluice_sink *s = NULL;
    char err[1024] = "";
    assert_int_equal(sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "its format is 'csv+op', this sink's is 'csv'"));
    /* the same mode resumes it */
    c.cfg.output_mode = SLUICE_OUTPUT_UPDATE;
    if (sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
    assert_int_equal(s->ops->committed_epoch(s), 2);
    s->ops->close(s);
}

static void partitioned_files_have_op_column(void **state) {
    (void)state;
    char *t = file_output("parts", "csv", SLUICE_OUTPUT_UPDATE, 0, "k", "/k=a/part-1-0.csv");
    assert_string_equal(t, "op,n\n+I,1\n-U,1\n+U,3\n");
    free(t);
    t = file_output("parts2", "json", SLUICE_OUTPUT_UPDATE, 0, "k", "/k=b/part-1-0.json");
    assert_string_equal(t, "{\"op\":\"+U\",\"n\":2}\n{\"op\":\"-D\",\"n\":2}\n");
    free(t);
    t = file_output("parts3", "csv", SLUICE_OUTPUT_APPEND, 0, "k", "/k=c/part-2-0.csv");
    assert_string_equal(t, "n\n4\n");
    free(t);
}

static char *console_output(int output_mode) {
    char path[4200];
    snprintf(path, sizeof path, "%s/stdout.txt", tmpdir);
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "live", &keyed);
    sluice_test_cfg_set(&c, "rows", "4");
    c.cfg.output_mode = output_mode;
    int saved = sluice_test_capture_begin(path);
    assert_true(saved >= 0);
    sluice_sink *s = NULL;
    assert_int_equal(sluice_console_sink_ops.open(&c.cfg, &s, NULL, 0), SLUICE_OK);
    write_changelog(s, &keyed);
    s->ops->close(s);
    sluice_test_capture_end(saved);
    return sluice_test_read_file(path, NULL);
}

static void console_update_has_op_column(void **state) {
    (void)state;
    char *t = console_output(SLUICE_OUTPUT_UPDATE);
    assert_string_equal(t, "-------------------------------------------\n"
                           "Batch: 1\n"
                           "-------------------------------------------\n"
                           " op | k | n\n"
                           "----+---+---\n"
                           " +I | a | 1\n"
                           " +U | b | 2\n"
                           " -U | a | 1\n"
                           " +U | a | 3\n"
                           "(5 rows)\n"
                           "only showing top 4 rows\n"
                           "\n"
                           "-------------------------------------------\n"
                           "Batch: 2\n"
                           "-------------------------------------------\n"
                           " op | k | n\n"
                           "----+---+---\n"
                           " +I | c | 4\n"
                           "(1 row)\n"
                           "\n");
    free(t);
    t = console_output(SLUICE_OUTPUT_APPEND);
    assert_non_null(strstr(t, " k | n\n---+---\n a | 1\n"));
    assert_null(strstr(t, " op |"));
    free(t);
}

static sluice_sink *memory_sink(const sluice_schema *schema) {
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "mem", schema);
    c.cfg.output_mode = SLUICE_OUTPUT_UPDATE;
    sluice_sink *s = NULL;
    assert_int_equal(sluice_memory_sink_ops.open(&c.cfg, &s, NULL, 0), SLUICE_OK);
    return s;
}

/* With a key: a deleted, b deleted (its -D), c inserted; -U changes
 * nothing (the +U after it replaces a's row). */
static void memory_sink_applies_upserts_and_deletes(void **state) {
    (void)state;
    sluice_sink *s = memory_sink(&keyed);
    write_changelog(s, &keyed);
    assert_int_equal(sluice_memory_sink_nrows(s), 2);
    const sluice_value *r = sluice_memory_sink_row(s, 0);
    assert_memory_equal(r[0].u.s, "a", 1);
    assert_int_equal(r[1].u.i, 3);
    assert_int_equal(sluice_memory_sink_row_kind(s, 0), SLUICE_ROW_UPDATE_AFTER);
    r = sluice_memory_sink_row(s, 1);
    assert_memory_equal(r[0].u.s, "c", 1);
    assert_int_equal(sluice_memory_sink_row_kind(s, 1), SLUICE_ROW_INSERT);
    assert_int_equal(sluice_memory_sink_kind_count(s, SLUICE_ROW_INSERT), 2);
    assert_int_equal(sluice_memory_sink_kind_count(s, SLUICE_ROW_UPDATE_BEFORE), 1);
    assert_int_equal(sluice_memory_sink_kind_count(s, SLUICE_ROW_UPDATE_AFTER), 2);
    assert_int_equal(sluice_memory_sink_kind_count(s, SLUICE_ROW_DELETE), 1);
    assert_int_equal(sluice_memory_sink_rows_written(s), 6);

    /* a deleted key comes back; a delete of a missing key is a no-op; a
     * key deleted and set again in one batch is kept */
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &keyed), SLUICE_OK);
    add(&b, SLUICE_ROW_INSERT, "b", 7);
    add(&b, SLUICE_ROW_DELETE, "zz", 0);
    add(&b, SLUICE_ROW_DELETE, "a", 3);
    add(&b, SLUICE_ROW_UPDATE_AFTER, "a", 9);
    add(&b, SLUICE_ROW_DELETE, "c", 4);
    assert_int_equal(s->ops->write(s, 3, &b, NULL, 0), SLUICE_OK);
    sluice_row_batch_free(&b);
    assert_int_equal(sluice_memory_sink_nrows(s), 2);
    r = sluice_memory_sink_row(s, 0);
    assert_memory_equal(r[0].u.s, "a", 1);
    assert_int_equal(r[1].u.i, 9);
    r = sluice_memory_sink_row(s, 1);
    assert_memory_equal(r[0].u.s, "b", 1);
    assert_int_equal(r[1].u.i, 7);
    assert_null(sluice_memory_sink_row(s, 2));
    s->ops->close(s);
}

/* Without a key (a retract table): -U and -D remove the first equal row. */
static void memory_sink_without_key_retracts_equal_rows(void **state) {
    (void)state;
    sluice_sink *s = memory_sink(&unkeyed);
    write_changelog(s, &unkeyed);
    /* +I a 1, +U b 2, -U a 1 (removes it), +U a 3, -D b 2 (removes it), +I c 4 */
    assert_int_equal(sluice_memory_sink_nrows(s), 2);
    const sluice_value *r = sluice_memory_sink_row(s, 0);
    assert_memory_equal(r[0].u.s, "a", 1);
    assert_int_equal(r[1].u.i, 3);
    r = sluice_memory_sink_row(s, 1);
    assert_memory_equal(r[0].u.s, "c", 1);
    s->ops->close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_csv_update_has_op_column),
        cmocka_unit_test(file_json_complete_has_op_field),
        cmocka_unit_test(file_append_output_unchanged),
        cmocka_unit_test(file_epoch_record_keys_op_outputs),
        cmocka_unit_test(partitioned_files_have_op_column),
        cmocka_unit_test(console_update_has_op_column),
        cmocka_unit_test(memory_sink_applies_upserts_and_deletes),
        cmocka_unit_test(memory_sink_without_key_retracts_equal_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
