/*
 * The fault wrapper, reached through the registry: nth / after plans on
 * each method, pass-through of options and of the CSV header, forwarding of
 * optional methods, call counts, and fault.action = abort (in a child).
 */
#include "sluice_test.h"
#include "conn_support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "registry.h"

static char *tmpdir;

static const sluice_column columns[] = {{.name = "x", .type = SLUICE_TYPE_BIGINT}};
static const sluice_schema schema = {.ncolumns = 1, .columns = columns, .npk = 0};

static sluice_err_t open_sink(sluice_test_cfg *c, sluice_sink **out, char *err, size_t size) {
    const sluice_sink_ops *ops;
    assert_int_equal(sluice_registry_sink("fault", &ops, NULL, 0), SLUICE_OK);
    return ops->open(&c->cfg, out, err, size);
}

static sluice_err_t open_source(sluice_test_cfg *c, sluice_source **out, char *err,
                                size_t size) {
    const sluice_source_ops *ops;
    assert_int_equal(sluice_registry_source("fault", &ops, NULL, 0), SLUICE_OK);
    return ops->open(&c->cfg, out, err, size);
}

static sluice_err_t write_one(sluice_sink *s, int64_t epoch, char *err, size_t size) {
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    sluice_row_batch_append(&b)[0] = sluice_value_bigint(epoch);
    sluice_err_t rc = s->ops->write(s, epoch, &b, err, size);
    sluice_row_batch_free(&b);
    return rc;
}

static void sink_nth_write_fails(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "connector", "fault");
    sluice_test_cfg_set(&c, "fault.inner", "memory");
    sluice_test_cfg_set(&c, "fault.nth", "2");
    sluice_sink *s = NULL;
    char err[256] = "";
    assert_int_equal(open_sink(&c, &s, err, sizeof err), SLUICE_OK);
    assert_int_equal(write_one(s, 1, err, sizeof err), SLUICE_OK);
    assert_int_equal(write_one(s, 2, err, sizeof err), SLUICE_ERR_FAULT);
    assert_string_equal(err, "sink out (fault): injected fault in write call 2");
    assert_int_equal(write_one(s, 3, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_fault_calls(s, "write"), 3);
    assert_int_equal(sluice_fault_calls(s, "open"), 1);
    assert_int_equal(sluice_fault_calls(s, "commit"), 0);
    assert_int_equal(sluice_fault_calls(s, "nosuch"), -1);
    /* the failed write never reached the memory sink */
    assert_int_equal(sluice_memory_sink_nrows(s), 2);
    assert_int_equal(sluice_memory_sink_row(s, 1)[0].u.i, 3);
    /* report is forwarded to the memory sink */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(s->ops->report(s, f, NULL, 0), SLUICE_OK);
    fclose(f);
    assert_non_null(strstr(buf, "sink out: 2 rows\n"));
    free(buf);
    /* commit of an inner sink without commit succeeds */
    assert_int_equal(s->ops->commit(s, 1, NULL, 0), SLUICE_OK);
    assert_int_equal(sluice_fault_calls(s, "commit"), 1);
    s->ops->close(s);
}

static void sink_commit_after(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/out.csv", tmpdir);
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "fault.inner", "file");
    sluice_test_cfg_set(&c, "fault.method", "commit");
    sluice_test_cfg_set(&c, "fault.after", "2");
    sluice_test_cfg_set(&c, "path", path);
    sluice_sink *s = NULL;
    char err[256] = "";
    assert_int_equal(open_sink(&c, &s, err, sizeof err), SLUICE_OK);
    for (int64_t e = 1; e <= 4; e++) {
        assert_int_equal(write_one(s, e, NULL, 0), SLUICE_OK);
        sluice_err_t rc = s->ops->commit(s, e, err, sizeof err);
        assert_int_equal(rc, e <= 2 ? SLUICE_OK : SLUICE_ERR_FAULT);
    }
    s->ops->close(s);
    char *text = sluice_test_read_file(path, NULL);  /* options reached the file sink */
    assert_string_equal(text, "x\n1\n2\n3\n4\n");
    free(text);
}

/* fault.when = after: the failing call reaches the inner sink first */
static void sink_write_fails_after_the_inner_write(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "fault.inner", "memory");
    sluice_test_cfg_set(&c, "fault.nth", "2");
    sluice_test_cfg_set(&c, "fault.when", "after");
    sluice_sink *s = NULL;
    char err[256] = "";
    assert_int_equal(open_sink(&c, &s, err, sizeof err), SLUICE_OK);
    assert_int_equal(write_one(s, 1, err, sizeof err), SLUICE_OK);
    assert_int_equal(write_one(s, 2, err, sizeof err), SLUICE_ERR_FAULT);
    assert_string_equal(err, "sink out (fault): injected fault in write call 2");
    assert_int_equal(write_one(s, 3, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_fault_calls(s, "write"), 3);
    /* unlike fault.when = before, the failed write is in the memory sink */
    assert_int_equal(sluice_memory_sink_nrows(s), 3);
    assert_int_equal(sluice_memory_sink_row(s, 1)[0].u.i, 2);
    s->ops->close(s);

    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "fault.inner", "memory");
    sluice_test_cfg_set(&c, "fault.when", "later");
    assert_int_equal(open_sink(&c, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "fault.when"));
    assert_non_null(strstr(err, "expected before or after"));
}

static void sink_open_fails_and_inner_errors_pass_through(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "fault.inner", "memory");
    sluice_test_cfg_set(&c, "fault.method", "open");
    sluice_test_cfg_set(&c, "fault.after", "0");
    sluice_sink *s = NULL;
    char err[256] = "";
    assert_int_equal(open_sink(&c, &s, err, sizeof err), SLUICE_ERR_FAULT);
    assert_null(s);
    assert_string_equal(err, "sink out (fault): injected fault in open call 1");

    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "fault.inner", "console");
    sluice_test_cfg_set(&c, "rows", "zero");
    assert_int_equal(open_sink(&c, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "sink out (console): option 'rows'"));

    sluice_test_cfg_init(&c, "out", &schema);
    assert_int_equal(open_sink(&c, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "'fault.inner' is required"));
}

static void source_poll_faults_and_forwarding(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/in.csv", tmpdir);
    assert_int_equal(sluice_test_write_file(path, "a,b\n1,2\n3,4\n"), 0);
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "flights", NULL);
    sluice_test_cfg_set(&c, "fault.inner", "file");
    sluice_test_cfg_set(&c, "fault.nth", "1");
    sluice_test_cfg_set(&c, "path", path);
    sluice_test_cfg_set(&c, "format", "csv");
    sluice_test_cfg_set(&c, "max_offsets_per_trigger", "1");
    sluice_source *src = NULL;
    char err[256] = "";
    assert_int_equal(open_source(&c, &src, err, sizeof err), SLUICE_OK);
    assert_int_equal(src->csv_header_len, 3);
    assert_memory_equal(src->csv_header, "a,b", 3);

    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    assert_int_equal(src->ops->poll(src, &b, 10, 0, err, sizeof err), SLUICE_ERR_FAULT);
    assert_string_equal(err, "source flights (fault): injected fault in poll call 1");
    assert_int_equal(b.count, 0);
    sluice_record_batch_clear(&b);
    assert_int_equal(src->ops->poll(src, &b, 10, 0, err, sizeof err), SLUICE_OK);
    assert_int_equal(b.count, 1);  /* nothing was lost; the cap reached the file source */
    assert_memory_equal(b.records[0].value, "1,2", 3);
    char pos[4300], want[4300];
    src->ops->position(src, &b.records[0], pos, sizeof pos);
    snprintf(want, sizeof want, "%s:2", path);
    assert_string_equal(pos, want);
    assert_int_equal(src->ops->commit(src, 1, NULL, 0), SLUICE_OK);
    assert_int_equal(sluice_fault_calls(src, "poll"), 2);
    assert_int_equal(sluice_fault_calls(src, "position"), 1);
    assert_int_equal(sluice_fault_calls(&b, "poll"), -1);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static void source_memory_through_wrapper(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "events", NULL);
    sluice_test_cfg_set(&c, "fault.inner", "memory");
    sluice_test_cfg_set(&c, "fault.after", "1");
    sluice_source *src = NULL;
    assert_int_equal(open_source(&c, &src, NULL, 0), SLUICE_OK);
    assert_int_equal(sluice_memory_source_push(src, "v", 1, "k", 1, 3, 42), SLUICE_OK);
    assert_int_equal(sluice_memory_source_end(src), SLUICE_OK);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    assert_int_equal(src->ops->poll(src, &b, 10, 0, NULL, 0), SLUICE_OK);
    assert_int_equal(b.count, 1);
    assert_true(b.end_of_input);
    assert_memory_equal(b.records[0].key, "k", 1);
    assert_int_equal(b.records[0].partition, 3);
    assert_int_equal(b.records[0].timestamp_ms, 42);
    char pos[64];
    src->ops->position(src, &b.records[0], pos, sizeof pos);  /* memory has none: default */
    assert_string_equal(pos, "partition 3 offset 0");
    sluice_record_batch_clear(&b);
    assert_int_equal(src->ops->poll(src, &b, 10, 0, NULL, 0), SLUICE_ERR_FAULT);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static int write_until_the_fault(void *arg) {
    (void)arg;
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "fault.inner", "memory");
    sluice_test_cfg_set(&c, "fault.nth", "2");
    sluice_test_cfg_set(&c, "fault.action", "abort");
    sluice_sink *s = NULL;
    if (open_sink(&c, &s, NULL, 0) != SLUICE_OK) return 10;
    if (write_one(s, 1, NULL, 0) != SLUICE_OK) return 11;
    write_one(s, 2, NULL, 0);
    return 12; /* not reached */
}

static void abort_action_kills_the_process(void **state) {
    (void)state;
    sluice_test_expect_abort(write_until_the_fault, NULL);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("unit_fault");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sink_nth_write_fails),
        cmocka_unit_test(sink_commit_after),
        cmocka_unit_test(sink_write_fails_after_the_inner_write),
        cmocka_unit_test(sink_open_fails_and_inner_errors_pass_through),
        cmocka_unit_test(source_poll_faults_and_forwarding),
        cmocka_unit_test(source_memory_through_wrapper),
        cmocka_unit_test(abort_action_kills_the_process),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(tmpdir);
    return rc;
}
