/*
 * The `mysql` lookup table against a real MariaDB that this test starts:
 *
 * - end to end through the sluice binary: bids LEFT JOIN a MySQL table
 *   FOR SYSTEM_TIME AS OF a PROCTIME() column, with the values converted
 *   to the declared types (BIGINT, VARCHAR, DOUBLE, TIMESTAMP), NULLs kept,
 *   a bid without a row padded;
 * - the table directly (connectors/lookup.h): one statement per batch for
 *   the keys the cache lacks (the server's Com_select counts them), cached
 *   rows served without a statement (an UPDATE meanwhile is not seen),
 *   missing keys cached too, cache_rows = 0 asking every time, two key
 *   columns, and a missing table refused at open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>

#include "connectors/lookup.h"
#include "mariadb.h"
#include "sluice_test.h"

static sluice_test_mariadb server;
static char *tmpdir;
static char port_text[16];

static void exec_ok(const char *sql) {
    if (sluice_test_mariadb_exec(&server, sql) != 0) fail_msg("statement failed: %s", sql);
}

static void create_database(const char *name) {
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s` CHARACTER SET utf8mb4", name, name);
    exec_ok(sql);
}

/* The server's count of SELECT statements so far (all sessions). */
static long com_select(void) {
    MYSQL *db = sluice_test_mariadb_connect(&server, NULL);
    assert_non_null(db);
    assert_int_equal(mysql_query(db, "SHOW GLOBAL STATUS LIKE 'Com_select'"), 0);
    MYSQL_RES *r = mysql_store_result(db);
    assert_non_null(r);
    MYSQL_ROW row = mysql_fetch_row(r);
    assert_non_null(row);
    long n = atol(row[1]);
    mysql_free_result(r);
    mysql_close(db);
    return n;
}

static void end_to_end_left_join_converts_the_declared_types(void **state) {
    (void)state;
    create_database("lk_a");
    exec_ok("CREATE TABLE lk_a.dim (k BIGINT PRIMARY KEY, v VARCHAR(20), d DOUBLE, ts DATETIME(3))");
    exec_ok("INSERT INTO lk_a.dim VALUES (1, 'one', 1.5, '2024-01-01 00:00:00.250'), (2, NULL, NULL, NULL)");
    char sql[4200], ini[8192], bids[4200], out[4200], errp[4200], my[1024];
    snprintf(sql, sizeof sql, "%s/a.sql", tmpdir);
    snprintf(ini, sizeof ini, "%s/a.test.ini", tmpdir);
    snprintf(bids, sizeof bids, "%s/bids.json", tmpdir);
    snprintf(out, sizeof out, "%s/a.out.json", tmpdir);
    snprintf(errp, sizeof errp, "%s/a.err", tmpdir);
    assert_int_equal(sluice_test_write_file(sql, "CREATE SOURCE bid (auction BIGINT);\n"
                                                 "CREATE TABLE dim (k BIGINT, v VARCHAR, d DOUBLE, ts TIMESTAMP);\n"
                                                 "CREATE SINK out AS SELECT B.auction, S.v, S.d, S.ts\n"
                                                 "FROM (SELECT *, PROCTIME() AS p FROM bid) B\n"
                                                 "LEFT JOIN dim FOR SYSTEM_TIME AS OF B.p AS S ON B.auction = S.k;\n"),
                     0);
    assert_int_equal(sluice_test_write_file(bids, "{\"auction\":1}\n{\"auction\":2}\n{\"auction\":3}\n"
                                                  "{\"auction\":null}\n{\"auction\":1}\n"),
                     0);
    sluice_test_mariadb_ini(&server, "lk_a", my, sizeof my);
    char text[16384];
    snprintf(text, sizeof text,
             "[pipeline]\ntrigger = available_now\n%s\n[source bid]\npath = %s\n"
             "[lookup dim]\nconnector = mysql\ntable = dim\n"
             "[sink out]\nconnector = file\npath = %s\nformat = json\n",
             my, bids, out);
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    const char *argv[] = {"run", sql, "--config", ini, "--quiet", NULL};
    int rc = sluice_test_run_cli(argv, NULL, errp);
    if (rc != 0) {
        char *e = sluice_test_read_file(errp, NULL);
        fail_msg("sluice run exited %d: %s", rc, e ? e : "");
    }
    char *got = sluice_test_read_file(out, NULL);
    assert_non_null(got);
    assert_string_equal(got, "{\"auction\":1,\"v\":\"one\",\"d\":1.5,\"ts\":\"2024-01-01 00:00:00.250\"}\n"
                             "{\"auction\":2,\"v\":null,\"d\":null,\"ts\":null}\n"
                             "{\"auction\":3,\"v\":null,\"d\":null,\"ts\":null}\n"
                             "{\"auction\":null,\"v\":null,\"d\":null,\"ts\":null}\n"
                             "{\"auction\":1,\"v\":\"one\",\"d\":1.5,\"ts\":\"2024-01-01 00:00:00.250\"}\n");
    free(got);
}

/* ---- the table through its C interface ---- */

static sluice_column dim_cols[3] = {{"a", SLUICE_TYPE_BIGINT}, {"b", SLUICE_TYPE_VARCHAR}, {"v", SLUICE_TYPE_VARCHAR}};
static sluice_type_t dim_types[3] = {SLUICE_TYPE_BIGINT, SLUICE_TYPE_VARCHAR, SLUICE_TYPE_VARCHAR};

typedef struct table_fixture {
    sluice_source_plan sp;
    sluice_lookup_plan lp;
    sluice_option opts[4];
    const char *shared[16];
    sluice_lookup_table *t;
    sluice_lookup_result res;
} table_fixture;

static sluice_err_t open_table(table_fixture *f, const char *table, const char *cache_rows, char *err, size_t n) {
    memset(f, 0, sizeof *f);
    f->sp.name = "dim";
    f->sp.columns = dim_cols;
    f->sp.schema.columns = dim_cols;
    f->sp.schema.ncolumns = 3;
    f->lp.table_name = "dim";
    f->lp.table_width = 3;
    f->lp.table_types = dim_types;
    f->lp.table = &f->sp;
    f->opts[0] = (sluice_option){"connector", "mysql", "t.ini", 1};
    f->opts[1] = (sluice_option){"table", table, "t.ini", 2};
    f->opts[2] = (sluice_option){"cache_rows", cache_rows, "t.ini", 3};
    const char *kv[] = {"host", "127.0.0.1", "port", port_text, "user", SLUICE_TEST_MARIADB_USER,
                        "password", SLUICE_TEST_MARIADB_PASSWORD, "database", "lk_b", NULL};
    memcpy(f->shared, kv, sizeof kv);
    return sluice_lookup_mysql.open(&f->lp, f->opts, 3, f->shared, "t", NULL, &f->t, err, n);
}

/* Look keys up (BIGINT a only, or a and b when bs != NULL); the rows'
 * v values, "|"-joined per key, ";" between keys. */
static void lookup(table_fixture *f, const long *as, const char *const *bs, size_t n, char *buf, size_t size) {
    sluice_value keys[16];
    size_t nk = bs ? 2 : 1, cols[2] = {0, 1};
    for (size_t i = 0; i < n; i++) {
        keys[i * nk] = sluice_value_bigint(as[i]);
        if (bs) keys[i * nk + 1] = sluice_value_varchar(bs[i], strlen(bs[i]));
    }
    char err[512] = "";
    if (f->t->lookup(f->t, cols, nk, keys, n, 1000, &f->res, err, sizeof err) != SLUICE_OK) fail_msg("lookup: %s", err);
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, size - len, "%s", i ? ";" : "");
        for (size_t r = 0; r < f->res.count[i]; r++) {
            const sluice_value *v = &f->res.rows[f->res.first[i] + r][2];
            len += (size_t)snprintf(buf + len, size - len, "%s%.*s", r ? "|" : "", (int)v->len, v->u.s);
        }
    }
}

static void close_table(table_fixture *f) {
    sluice_lookup_table_close(f->t);
    sluice_lookup_result_free(&f->res);
}

static void batches_ask_once_and_the_cache_serves_repeats(void **state) {
    (void)state;
    create_database("lk_b");
    exec_ok("CREATE TABLE lk_b.dim (a BIGINT, b VARCHAR(10), v VARCHAR(10))");
    exec_ok("INSERT INTO lk_b.dim VALUES (1, 'x', 'one'), (2, 'x', 'two'), (2, 'y', 'deux')");
    table_fixture f;
    char err[512] = "", got[256];
    if (open_table(&f, "dim", "100", err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);

    /* keys 1, 2, 3 and 1 again: one statement; 2 has two rows, 3 none */
    long before = com_select();
    long k1[4] = {1, 2, 3, 1};
    lookup(&f, k1, NULL, 4, got, sizeof got);
    assert_string_equal(got, "one;two|deux;;one");
    assert_int_equal(com_select() - before, 1);

    /* all cached (3 as a missing key): no statement, and an UPDATE in the
     * meantime is not seen until the entry leaves the cache */
    exec_ok("UPDATE lk_b.dim SET v = 'uno' WHERE a = 1");
    before = com_select();
    lookup(&f, k1, NULL, 4, got, sizeof got);
    assert_string_equal(got, "one;two|deux;;one");
    assert_int_equal(com_select() - before, 0);

    /* a new key: one statement for it alone */
    long k2[2] = {1, 4};
    before = com_select();
    lookup(&f, k2, NULL, 2, got, sizeof got);
    assert_string_equal(got, "one;");
    assert_int_equal(com_select() - before, 1);

    /* two key columns: (2,'y') and (2,'x') are other keys */
    const char *bs[2] = {"y", "x"};
    long k3[2] = {2, 2};
    lookup(&f, k3, bs, 2, got, sizeof got);
    assert_string_equal(got, "deux;two");
    close_table(&f);

    /* cache_rows = 0: every lookup asks, and sees the update */
    if (open_table(&f, "dim", "0", err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
    before = com_select();
    lookup(&f, k1, NULL, 4, got, sizeof got);
    assert_string_equal(got, "uno;two|deux;;uno");
    lookup(&f, k1, NULL, 4, got, sizeof got);
    assert_string_equal(got, "uno;two|deux;;uno");
    assert_int_equal(com_select() - before, 2);
    close_table(&f);
}

static void a_missing_table_is_refused_at_open(void **state) {
    (void)state;
    create_database("lk_b");
    table_fixture f;
    char err[512] = "";
    assert_int_equal(open_table(&f, "nosuch", "10", err, sizeof err), SLUICE_ERR_CONFIG);
    if (!strstr(err, "lookup table dim (mysql): table nosuch:") || !strstr(err, "doesn't exist"))
        fail_msg("unexpected message: %s", err);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("mysql_lookup");
    if (!tmpdir || sluice_test_mariadb_start(&server, "mysql_lookup_mariadb") != 0) {
        fprintf(stderr, "cannot start a private MariaDB\n");
        sluice_test_mariadb_stop(&server);
        return 1;
    }
    snprintf(port_text, sizeof port_text, "%d", server.port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(end_to_end_left_join_converts_the_declared_types),
        cmocka_unit_test(batches_ask_once_and_the_cache_serves_repeats),
        cmocka_unit_test(a_missing_table_is_refused_at_open),
    };
    int rc = cmocka_run_group_tests_name("mysql lookup", tests, NULL, NULL);
    sluice_test_mariadb_stop(&server);
    free(tmpdir);
    return rc;
}
