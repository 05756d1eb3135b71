/*
 * The mysql source against a real MariaDB that this test starts (one
 * private server for the executable, a database per test):
 *
 * - rows inserted before and between polls are handed out once each, in
 *   the order of the incrementing column, as JSON objects the engine
 *   decodes, batch_rows at a time; offsets are the column's values;
 * - a table and a column whose names hold backticks are quoted;
 * - a missing table or column fails `sluice run` at start with exit 2
 *   naming it;
 * - seek(0, offset) replays from that offset; a DATETIME column works as
 *   the incrementing column;
 * - scenario 2, customer registrations per store: the customer table
 *   loaded from fixtures/generated/registrations-2k.jsonl, read by the
 *   mysql source with registrations.prod.ini (MySQL in, MySQL out), equals
 *   the oracle's expected output.
 */
#include "sluice_test.h"
#include "conn_support.h"
#include "mariadb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "registry.h"

static sluice_test_mariadb server;
static char *tmpdir;
static char port_text[16];

static void create_database(const char *name) {
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s` CHARACTER SET utf8mb4", name, name);
    assert_int_equal(sluice_test_mariadb_exec(&server, sql), 0);
}

static void exec_ok(const char *sql) {
    if (sluice_test_mariadb_exec(&server, sql) != 0) fail_msg("statement failed: %s", sql);
}

typedef struct source_fixture {
    sluice_test_cfg c;
    const char *shared[16];
    sluice_source *src;
    sluice_record_batch batch;
} source_fixture;

static void open_source(source_fixture *f, const char *database, const char *table, const char *column,
                        const char *batch_rows) {
    memset(f, 0, sizeof *f);
    sluice_test_cfg_init(&f->c, "customer", NULL);
    sluice_test_cfg_set(&f->c, "table", table);
    sluice_test_cfg_set(&f->c, "incrementing_column", column);
    sluice_test_cfg_set(&f->c, "poll_interval", "10ms");
    if (batch_rows) sluice_test_cfg_set(&f->c, "batch_rows", batch_rows);
    const char *kv[] = {"host", "127.0.0.1", "port", port_text, "user", SLUICE_TEST_MARIADB_USER,
                        "password", SLUICE_TEST_MARIADB_PASSWORD, "database", database, NULL};
    memcpy(f->shared, kv, sizeof kv);
    f->c.cfg.shared = f->shared;
    char err[512] = "";
    if (sluice_mysql_source_ops.open(&f->c.cfg, &f->src, err, sizeof err) != SLUICE_OK)
        fail_msg("open: %s", err);
    assert_int_equal(sluice_record_batch_init(&f->batch), SLUICE_OK);
}

/* Poll until a poll returns records or 2 s have passed (the poll interval
 * is 10 ms); the records are in f->batch. */
static size_t poll_some(source_fixture *f) {
    char err[512] = "";
    for (int i = 0; i < 200; i++) {
        sluice_record_batch_clear(&f->batch);
        if (f->src->ops->poll(f->src, &f->batch, 1000, 10, err, sizeof err) != SLUICE_OK) fail_msg("poll: %s", err);
        if (f->batch.count) break;
    }
    return f->batch.count;
}

static void close_source(source_fixture *f) {
    f->src->ops->close(f->src);
    sluice_record_batch_free(&f->batch);
}

static void assert_record(const sluice_record *r, int64_t offset, const char *json) {
    assert_int_equal(r->partition, 0);
    assert_int_equal(r->offset, offset);
    if (r->value_len != strlen(json) || memcmp(r->value, json, r->value_len) != 0)
        fail_msg("record at offset %lld: got %.*s, expected %s", (long long)offset, (int)r->value_len, r->value, json);
}

static void rows_before_and_during_a_run_are_read_once_in_order(void **state) {
    (void)state;
    create_database("src_a");
    exec_ok("CREATE TABLE src_a.customer (customer_id BIGINT PRIMARY KEY, store_id INT, name VARCHAR(40), "
            "score DOUBLE, ts DATETIME(3))");
    exec_ok("INSERT INTO src_a.customer VALUES (3, 1, 'b', 1.5, '2024-01-01 00:00:01'), "
            "(1, 2, 'a \"q\"', NULL, '2024-01-01 00:00:00.250'), (7, 1, NULL, -2, '2024-01-01 00:00:02')");
    source_fixture f;
    open_source(&f, "src_a", "customer", "customer_id", "2");

    /* batch_rows = 2: two, then one, in customer_id order */
    assert_int_equal(poll_some(&f), 2);
    assert_record(&f.batch.records[0], 1,
                  "{\"customer_id\":1,\"store_id\":2,\"name\":\"a \\\"q\\\"\",\"score\":null,"
                  "\"ts\":\"2024-01-01 00:00:00.250\"}");
    assert_record(&f.batch.records[1], 3,
                  "{\"customer_id\":3,\"store_id\":1,\"name\":\"b\",\"score\":1.5,\"ts\":\"2024-01-01 00:00:01.000\"}");
    assert_int_equal(poll_some(&f), 1);
    assert_int_equal(f.batch.records[0].offset, 7);
    assert_int_equal(poll_some(&f), 0);

    /* rows inserted while the source runs */
    exec_ok("INSERT INTO src_a.customer VALUES (8, 3, 'c', 0, '2024-01-01 00:00:03'), "
            "(9, 3, 'd', 0, '2024-01-01 00:00:04')");
    assert_int_equal(poll_some(&f), 2);
    assert_int_equal(f.batch.records[0].offset, 8);
    assert_int_equal(f.batch.records[1].offset, 9);
    exec_ok("INSERT INTO src_a.customer VALUES (10, 3, 'e', 0, '2024-01-01 00:00:05')");
    assert_int_equal(poll_some(&f), 1);
    assert_int_equal(f.batch.records[0].offset, 10);
    assert_int_equal(poll_some(&f), 0);

    /* seek back: the next record is the one at offset 3 */
    char err[256];
    assert_int_equal(f.src->ops->seek(f.src, NULL, 0, 3, err, sizeof err), SLUICE_OK);
    assert_int_equal(poll_some(&f), 2);
    assert_int_equal(f.batch.records[0].offset, 3);
    assert_int_equal(f.batch.records[1].offset, 7);
    assert_int_not_equal(f.src->ops->seek(f.src, NULL, 1, 3, err, sizeof err), SLUICE_OK);
    close_source(&f);
}

static void datetime_incrementing_column_and_quoted_identifiers(void **state) {
    (void)state;
    create_database("src_b");
    exec_ok("CREATE TABLE src_b.`we``ird tab` (`i``d` DATETIME(6) PRIMARY KEY, `v` INT)");
    exec_ok("INSERT INTO src_b.`we``ird tab` VALUES ('2024-01-01 00:00:00.000001', 1), "
            "('2024-01-01 00:00:00.000002', 2), ('2024-01-02 00:00:00', 3)");
    source_fixture f;
    open_source(&f, "src_b", "we`ird tab", "i`d", NULL);
    assert_int_equal(poll_some(&f), 3);
    assert_int_equal(f.batch.records[0].offset, 1704067200000001LL);
    assert_record(&f.batch.records[1], 1704067200000002LL,
                  "{\"i`d\":\"2024-01-01 00:00:00.000002\",\"v\":2}");
    assert_int_equal(f.batch.records[2].offset, 1704153600000000LL);
    assert_int_equal(poll_some(&f), 0);
    char err[256];
    assert_int_equal(f.src->ops->seek(f.src, NULL, 0, 1704067200000002LL, err, sizeof err), SLUICE_OK);
    assert_int_equal(poll_some(&f), 2);
    assert_int_equal(f.batch.records[0].offset, 1704067200000002LL);
    close_source(&f);
}

/* A binary value that is not UTF-8 reaches the decoder as it is (so the
 * row becomes a dead letter that keeps its bytes), not as U+FFFD text. */
static void binary_values_are_not_replaced(void **state) {
    (void)state;
    create_database("src_e");
    exec_ok("CREATE TABLE src_e.t (id BIGINT PRIMARY KEY, b VARBINARY(8))");
    exec_ok("INSERT INTO src_e.t VALUES (1, X'61FF62'), (2, X'C3A9')");
    source_fixture f;
    open_source(&f, "src_e", "t", "id", NULL);
    assert_int_equal(poll_some(&f), 2);
    assert_record(&f.batch.records[0], 1, "{\"id\":1,\"b\":\"a\xFF" "b\"}");
    assert_record(&f.batch.records[1], 2, "{\"id\":2,\"b\":\"\xC3\xA9\"}");
    close_source(&f);
}

/* ---- through the command line ------------------------------------------------------------------ */

static void set_mysql_env(const char *database) {
    setenv("MYSQL_HOST", "127.0.0.1", 1);
    setenv("MYSQL_PORT", port_text, 1);
    setenv("MYSQL_USER", SLUICE_TEST_MARIADB_USER, 1);
    setenv("MYSQL_PASSWORD", SLUICE_TEST_MARIADB_PASSWORD, 1);
    setenv("MYSQL_DATABASE", database, 1);
    char cp[4300];
    snprintf(cp, sizeof cp, "%s/checkpoints-%s", tmpdir, database);
    setenv("SLUICE_CHECKPOINT_DIR", cp, 1);
}

static int run_registrations(const char *const *sets, const char *err_path) {
    const char *argv[24] = {"run", "fixtures/pipelines/registrations.sql", "--profile", "prod", "--quiet",
                            "--set", "pipeline.trigger=available_now"};
    size_t n = 7;
    char dead[4200];
    snprintf(dead, sizeof dead, "pipeline.dead_letter=%s/registrations.dead.jsonl", tmpdir);
    argv[n++] = "--set";
    argv[n++] = dead;
    for (size_t i = 0; sets && sets[i] && n + 2 < 24; i++) {
        argv[n++] = "--set";
        argv[n++] = sets[i];
    }
    argv[n] = NULL;
    return sluice_test_run_cli(argv, NULL, err_path);
}

static void expect_start_error(const char *const *sets, const char *needle) {
    char errp[4200];
    snprintf(errp, sizeof errp, "%s/start.err", tmpdir);
    int rc = run_registrations(sets, errp);
    char *e = sluice_test_read_file(errp, NULL);
    if (rc != 2 || !e || !strstr(e, needle))
        fail_msg("expected exit 2 naming \"%s\", got %d: %s", needle, rc, e ? e : "");
    free(e);
}

static void missing_table_or_column_fails_at_start(void **state) {
    (void)state;
    create_database("src_c");
    set_mysql_env("src_c");
    expect_start_error(NULL, "table 'customer' does not exist");
    exec_ok("CREATE TABLE src_c.customer (id BIGINT PRIMARY KEY, store_id INT, ts DATETIME(3))");
    expect_start_error(NULL, "incrementing_column 'customer_id' is not a column of table 'customer'");
    exec_ok("CREATE TABLE src_c.named (customer_id VARCHAR(10), store_id INT, ts DATETIME(3))");
    /* another table is another input: a checkpoint of its own (the one
     * above recorded table customer and would refuse it) */
    char cp[4300];
    snprintf(cp, sizeof cp, "%s/checkpoints-src_c-named", tmpdir);
    setenv("SLUICE_CHECKPOINT_DIR", cp, 1);
    const char *sets[] = {"source customer.table=named", NULL};
    expect_start_error(sets, "neither an integer nor a DATETIME/TIMESTAMP");
    const char *sets2[] = {"source customer.poll_interval=soon", NULL};
    expect_start_error(sets2, "poll_interval");
}

/* Scenario 2 end to end: the prod profile, MySQL in and MySQL out. */
static void registrations_from_the_customer_table_equal_the_oracle(void **state) {
    (void)state;
    create_database("src_d");
    set_mysql_env("src_d");
    exec_ok("CREATE TABLE src_d.customer (customer_id BIGINT PRIMARY KEY, store_id INT NOT NULL, "
            "ts DATETIME(3) NOT NULL)");

    /* the first half before the run, the second half before a second run */
    char *text = sluice_test_read_file(sluice_test_fixture("generated/registrations-2k.jsonl"), NULL);
    assert_non_null(text);
    size_t cap = 1 << 20, len = 0;
    char *sql[2] = {malloc(cap), malloc(cap)};
    size_t lens[2] = {0, 0};
    int line = 0;
    for (char *p = text; *p; line++) {
        long long id;
        int store;
        char ts[32];
        if (sscanf(p, "{\"customer_id\": %lld, \"store_id\": %d, \"ts\": \"%23[^\"]\"}", &id, &store, &ts[0]) != 3)
            fail_msg("cannot read line %d of registrations-2k.jsonl", line + 1);
        ts[10] = ' ';
        int half = line >= 1000;
        char **s = &sql[half];
        len = lens[half];
        if (len == 0) len = (size_t)snprintf(*s, cap, "INSERT INTO src_d.customer VALUES ");
        len += (size_t)snprintf(*s + len, cap - len, "%s(%lld,%d,'%s')", lens[half] ? "," : "", id, store, ts);
        lens[half] = len;
        char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
    }
    assert_int_equal(line, 2000);
    free(text);

    char errp[4200];
    snprintf(errp, sizeof errp, "%s/registrations.err", tmpdir);
    for (int half = 0; half < 2; half++) {
        exec_ok(sql[half]);
        const char *sets[] = {"source customer.batch_rows=300", NULL};
        int rc = run_registrations(sets, errp);
        if (rc != 0) {
            char *e = sluice_test_read_file(errp, NULL);
            fail_msg("sluice run exited %d: %s", rc, e ? e : "");
        }
        /* the profile's checkpoint: the source's position and the state */
        char show[4300], out[4300];
        snprintf(show, sizeof show, "%s/checkpoints-src_d/registrations", tmpdir);
        snprintf(out, sizeof out, "%s/show.txt", tmpdir);
        const char *argv[] = {"checkpoint", "show", show, NULL};
        assert_int_equal(sluice_test_run_cli(argv, out, NULL), 0);
        char *text = sluice_test_read_file(out, NULL);
        assert_non_null(text);
        if (!strstr(text, "snapshots: 1") || !strstr(text, "customer"))
            fail_msg("checkpoint after run %d:\n%s", half + 1, text);
        free(text);
    }
    free(sql[0]);
    free(sql[1]);

    /* the second run resumes from the checkpoint (the last customer_id read
     * and the open windows): the table ends as one run over all rows would
     * leave it */
    char *got = sluice_test_mariadb_rows(
        &server, "SELECT DATE_FORMAT(window_start, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(window_end, "
                 "'%Y-%m-%d %H:%i:%s'), store_id, registrations, first_customer_id, last_customer_id "
                 "FROM src_d.registrations_per_store ORDER BY window_start, store_id");
    assert_non_null(got);
    char *want = sluice_test_read_file(sluice_test_fixture("expected/registrations/registrations_per_store.csv"),
                                       NULL);
    assert_non_null(want);
    char *body = strchr(want, '\n');
    assert_non_null(body);
    body++;
    for (char *c = body; *c; c++)
        if (*c == ',') *c = '|';
    if (strcmp(got, body) != 0) fail_msg("registrations_per_store differs from the oracle:\n%s\nexpected:\n%s", got, body);
    free(got);
    free(want);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("mysql_source");
    if (sluice_test_mariadb_start(&server, "mysql_source_mariadb") != 0) {
        fprintf(stderr, "cannot start a private MariaDB\n");
        sluice_test_mariadb_stop(&server);
        return 1;
    }
    snprintf(port_text, sizeof port_text, "%d", server.port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_before_and_during_a_run_are_read_once_in_order),
        cmocka_unit_test(datetime_incrementing_column_and_quoted_identifiers),
        cmocka_unit_test(binary_values_are_not_replaced),
        cmocka_unit_test(missing_table_or_column_fails_at_start),
        cmocka_unit_test(registrations_from_the_customer_table_equal_the_oracle),
    };
    int rc = cmocka_run_group_tests_name("mysql source", tests, NULL, NULL);
    sluice_test_mariadb_stop(&server);
    free(tmpdir);
    return rc;
}
