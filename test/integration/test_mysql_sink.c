/*
 * The mysql sink against a real MariaDB that this test starts (one private
 * server for the whole executable; each test uses a database of its own):
 *
 * - the flights pipeline from the file source into MySQL equals the oracle
 *   (fixtures/expected/flights/delays_by_origin.csv), and a second run
 *   (no checkpoint: it re-sends every epoch) leaves the table and the
 *   recorded epoch unchanged;
 * - the server killed (SIGKILL) and restarted while a pipeline runs loses
 *   nothing: the epoch is retried and the final table equals the oracle;
 * - hostile data and identifiers round-trip byte for byte;
 * - an existing table with a wrong column type or a missing column is a
 *   start-up error (exit 2) naming the column;
 * - epochs at or below the recorded one are skipped; COMPLETE mode
 *   replaces the rows; a table without a key gets plain inserts; a lock
 *   wait timeout is retried; credentials never appear in errors.
 */
#include "sluice_test.h"
#include "conn_support.h"
#include "mariadb.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "registry.h"
#include "sluice/sluice.h"

#define REL_TOLERANCE 1e-9

static sluice_test_mariadb server;
static char *tmpdir;
static char port_text[16];

static const char *shared_for(const char *database, const char *password, const char **kv) {
    const char *src[] = {"host", "127.0.0.1", "port", port_text, "user", SLUICE_TEST_MARIADB_USER,
                         "password", password, "database", database, "retry_timeout", "30s", NULL};
    memcpy(kv, src, sizeof src);
    return database;
}

static void create_database(const char *name) {
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s` CHARACTER SET utf8mb4", name, name);
    assert_int_equal(sluice_test_mariadb_exec(&server, sql), 0);
}

static char *query(const char *sql) {
    char *text = sluice_test_mariadb_rows(&server, sql);
    if (!text) fail_msg("query failed: %s", sql);
    return text;
}

/* ---- the flights pipeline against the oracle -------------------------------------------- */

typedef struct result_row {
    char *key;        /* window_start|origin */
    char *fields[6];
} result_row;

static int cmp_rows(const void *a, const void *b) {
    return strcmp(((const result_row *)a)->key, ((const result_row *)b)->key);
}

/* "2001-01-01 01:00:00.000" -> "2001-01-01 01:00:00" */
static void trim_ms(char *ts) {
    size_t n = strlen(ts);
    if (n > 4 && strcmp(ts + n - 4, ".000") == 0) ts[n - 4] = '\0';
}

/* Split text of `sep`-separated lines of 6 fields into sorted rows. */
static size_t parse_rows(char *text, char sep, int skip_header, result_row **out) {
    size_t n = 0, cap = 1024;
    result_row *rows = malloc(cap * sizeof *rows);
    char *save = NULL;
    int first = 1;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (first && skip_header) {
            first = 0;
            continue;
        }
        if (n == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
        result_row *r = &rows[n++];
        char *p = line;
        for (int f = 0; f < 6; f++) {
            r->fields[f] = p;
            char *q = p ? strchr(p, sep) : NULL;
            if (q) *q = '\0';
            p = q ? q + 1 : NULL;
            assert_non_null(r->fields[f]);
        }
        trim_ms(r->fields[0]);
        trim_ms(r->fields[1]);
        size_t kl = strlen(r->fields[0]) + strlen(r->fields[2]) + 2;
        r->key = malloc(kl);
        snprintf(r->key, kl, "%s|%s", r->fields[0], r->fields[2]);
    }
    qsort(rows, n, sizeof *rows, cmp_rows);
    *out = rows;
    return n;
}

static void free_rows(result_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) free(rows[i].key);
    free(rows);
}

static int numbers_equal(const char *a, const char *b) {
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    if (*ea || *eb || ea == a || eb == b) return 0;
    return fabs(x - y) <= REL_TOLERANCE * fmax(1.0, fmax(fabs(x), fabs(y)));
}

/* The table `database`.delays_by_origin equals the oracle. */
static void assert_flights_oracle(const char *database) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT window_start, window_end, origin, flights, avg_delay, max_delay FROM `%s`.delays_by_origin",
             database);
    char *got_text = query(sql);
    char *want_text = sluice_test_read_file(sluice_test_fixture("expected/flights/delays_by_origin.csv"), NULL);
    assert_non_null(want_text);
    result_row *got, *want;
    size_t ngot = parse_rows(got_text, '|', 0, &got);
    size_t nwant = parse_rows(want_text, ',', 1, &want);
    if (ngot != nwant) fail_msg("%s.delays_by_origin has %zu rows, the oracle %zu", database, ngot, nwant);
    for (size_t i = 0; i < ngot; i++) {
        for (int f = 0; f < 6; f++) {
            const char *a = got[i].fields[f], *b = want[i].fields[f];
            int ok = f >= 3 ? numbers_equal(a, b) : strcmp(a, b) == 0;
            if (!ok) fail_msg("row %s: column %d: mysql '%s', oracle '%s'", want[i].key, f, a, b);
        }
    }
    free_rows(got, ngot);
    free_rows(want, nwant);
    free(got_text);
    free(want_text);
}

/* A profile for the flights pipeline: the file source (or `source`, a
 * whole [source flights] body), a mysql sink with `extra` sink options. */
static void write_flights_ini_with(const char *path, const char *database, const char *password, const char *extra,
                                   const char *source, const char *trigger) {
    char mysql[1024], ini[4096], file_source[2048];
    sluice_test_mariadb_ini(&server, database, mysql, sizeof mysql);
    if (password) {
        char *p = strstr(mysql, SLUICE_TEST_MARIADB_PASSWORD);
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", p + strlen(SLUICE_TEST_MARIADB_PASSWORD));
        snprintf(p, sizeof mysql - (size_t)(p - mysql), "%s%s", password, rest);
    }
    snprintf(file_source, sizeof file_source, "path = %s\nformat = json\n",
             sluice_test_fixture("data/flights-20k.jsonl"));
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = %s\ndead_letter = %s/dead.jsonl\n\n"
             "[source flights]\n%s\n"
             "[sink delays_by_origin]\nconnector = mysql\n%s\n%s",
             trigger ? trigger : "available_now", tmpdir, source ? source : file_source, extra ? extra : "", mysql);
    assert_int_equal(sluice_test_write_file(path, ini), 0);
}

static void write_flights_ini(const char *path, const char *database, const char *password, const char *extra) {
    write_flights_ini_with(path, database, password, extra, NULL, NULL);
}

static int run_flights_logged(const char *ini, const char *err_path, int quiet) {
    char sql[4096];
    snprintf(sql, sizeof sql, "%s", sluice_test_fixture("pipelines/flights.sql"));
    const char *argv[] = {"run", sql, "--config", ini, quiet ? "--quiet" : NULL, NULL};
    return sluice_test_run_cli(argv, NULL, err_path);
}

static int run_flights(const char *ini, const char *err_path) {
    return run_flights_logged(ini, err_path, 1);
}

static void flights_into_mysql_equals_oracle_and_rerun_changes_nothing(void **state) {
    (void)state;
    create_database("flights_a");
    char ini[4200], errp[4200];
    snprintf(ini, sizeof ini, "%s/flights_a.ini", tmpdir);
    snprintf(errp, sizeof errp, "%s/flights_a.err", tmpdir);
    write_flights_ini(ini, "flights_a", NULL, NULL);
    int rc = run_flights(ini, errp);
    if (rc != 0) {
        char *e = sluice_test_read_file(errp, NULL);
        fail_msg("sluice run exited %d: %s", rc, e ? e : "");
    }
    assert_flights_oracle("flights_a");
    char *commits1 = query("SELECT pipeline, sink, epoch FROM flights_a.sluice_commits");
    assert_non_null(strstr(commits1, "flights|delays_by_origin|"));
    char *table1 = query("SELECT * FROM flights_a.delays_by_origin ORDER BY window_start, origin");

    assert_int_equal(run_flights_logged(ini, errp, 0), 0);
    char *table2 = query("SELECT * FROM flights_a.delays_by_origin ORDER BY window_start, origin");
    char *commits2 = query("SELECT pipeline, sink, epoch FROM flights_a.sluice_commits");
    assert_string_equal(table1, table2);
    assert_string_equal(commits1, commits2);
    free(commits1);
    free(commits2);
    free(table1);
    free(table2);
}

/* A reset checkpoint next to a table whose sluice_commits row is ahead of
 * it: the run is refused (before: it skipped that many epochs of new input
 * and exited 0); after the row is deleted, the run writes the table anew. */
static void reset_checkpoint_with_a_recorded_epoch_is_refused(void **state) {
    (void)state;
    create_database("reset_db");
    char ini[4200], errp[4200], ck[4200], set[4300], sql[4096];
    snprintf(ini, sizeof ini, "%s/reset_db.ini", tmpdir);
    snprintf(errp, sizeof errp, "%s/reset_db.err", tmpdir);
    snprintf(ck, sizeof ck, "%s/reset_db.ckpt", tmpdir);
    snprintf(set, sizeof set, "pipeline.checkpoint_dir=%s", ck);
    snprintf(sql, sizeof sql, "%s", sluice_test_fixture("pipelines/flights.sql"));
    write_flights_ini(ini, "reset_db", NULL, NULL);
    const char *argv[] = {"run", sql, "--config", ini, "--quiet", "--set", set, NULL};
    assert_int_equal(sluice_test_run_cli(argv, NULL, errp), 0);
    assert_flights_oracle("reset_db");
    char *before = query("SELECT * FROM reset_db.delays_by_origin ORDER BY window_start, origin");
    const char *reset[] = {"checkpoint", "reset", ck, NULL};
    assert_int_equal(sluice_test_run_cli(reset, NULL, NULL), 0);
    assert_int_equal(sluice_test_run_cli(argv, NULL, errp), 2);
    char *e = sluice_test_read_file(errp, NULL);
    if (!e || !strstr(e, "sink delays_by_origin has committed epoch") || !strstr(e, "rows of sluice_commits"))
        fail_msg("unexpected stderr: %s", e ? e : "");
    free(e);
    char *after = query("SELECT * FROM reset_db.delays_by_origin ORDER BY window_start, origin");
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* the way out */
    assert_int_equal(sluice_test_mariadb_exec(&server, "DELETE FROM reset_db.sluice_commits"), 0);
    assert_int_equal(sluice_test_run_cli(argv, NULL, errp), 0);
    assert_flights_oracle("reset_db");
}

/* ---- start-up errors ------------------------------------------------------------------------- */

static void wrong_column_type_fails_at_start_naming_it(void **state) {
    (void)state;
    create_database("flights_b");
    assert_int_equal(sluice_test_mariadb_exec(&server,
                                              "CREATE TABLE flights_b.delays_by_origin (window_start DATETIME(3), "
                                              "window_end DATETIME(3), origin VARCHAR(10), flights VARCHAR(20), "
                                              "avg_delay DOUBLE, max_delay BIGINT, PRIMARY KEY (window_start, origin))"),
                     0);
    char ini[4200], errp[4200];
    snprintf(ini, sizeof ini, "%s/flights_b.ini", tmpdir);
    snprintf(errp, sizeof errp, "%s/flights_b.err", tmpdir);
    write_flights_ini(ini, "flights_b", NULL, NULL);
    assert_int_equal(run_flights(ini, errp), 2);
    char *e = sluice_test_read_file(errp, NULL);
    if (!strstr(e, "column 'flights'") || !strstr(e, "varchar") || !strstr(e, "delays_by_origin"))
        fail_msg("unexpected message: %s", e);
    free(e);
    char *rows = query("SELECT COUNT(*) FROM flights_b.delays_by_origin");
    assert_string_equal(rows, "0\n");
    free(rows);

    /* a missing column, and a missing table with create_table = false */
    assert_int_equal(sluice_test_mariadb_exec(&server, "ALTER TABLE flights_b.delays_by_origin DROP COLUMN max_delay, "
                                                       "MODIFY flights BIGINT"),
                     0);
    assert_int_equal(run_flights(ini, errp), 2);
    e = sluice_test_read_file(errp, NULL);
    if (!strstr(e, "no column 'max_delay'")) fail_msg("unexpected message: %s", e);
    free(e);
    write_flights_ini(ini, "flights_b", NULL, "table = absent\ncreate_table = false\n");
    assert_int_equal(run_flights(ini, errp), 2);
    e = sluice_test_read_file(errp, NULL);
    if (!strstr(e, "table 'absent' does not exist")) fail_msg("unexpected message: %s", e);
    free(e);
}

static void wrong_password_is_not_echoed(void **state) {
    (void)state;
    char ini[4200], errp[4200];
    snprintf(ini, sizeof ini, "%s/badpw.ini", tmpdir);
    snprintf(errp, sizeof errp, "%s/badpw.err", tmpdir);
    const char *pw = "Hunter2-not-the-password";
    write_flights_ini(ini, SLUICE_TEST_MARIADB_DATABASE, pw, NULL);
    assert_int_equal(run_flights_logged(ini, errp, 0), 2); /* with the start-up log lines */
    char *e = sluice_test_read_file(errp, NULL);
    if (!strstr(e, "Access denied") || !strstr(e, "delays_by_origin (mysql)")) fail_msg("unexpected message: %s", e);
    assert_null(strstr(e, pw));
    assert_null(strstr(e, "Hunter2"));
    free(e);

    /* the same through the module */
    static const sluice_column cols[] = {{.name = "k", .type = SLUICE_TYPE_BIGINT}};
    static const size_t pk[] = {0};
    static const sluice_schema schema = {.ncolumns = 1, .columns = cols, .npk = 1, .pk = pk};
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "secretive", &schema);
    const char *kv[16];
    shared_for(SLUICE_TEST_MARIADB_DATABASE, pw, kv);
    c.cfg.shared = kv;
    sluice_sink *s = NULL;
    char err[1024] = "";
    assert_int_equal(sluice_mysql_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(s);
    assert_null(strstr(err, pw));
    assert_non_null(strstr(err, "sink secretive (mysql)"));
}

static void bad_connection_options_rejected(void **state) {
    (void)state;
    static const sluice_column cols[] = {{.name = "k", .type = SLUICE_TYPE_BIGINT}};
    static const sluice_schema schema = {.ncolumns = 1, .columns = cols, .npk = 0, .pk = NULL};
    static const struct {
        const char *key, *value, *expect;
    } bad[] = {
        {"bogus", "1", "unknown key 'bogus' in [mysql]"},
        {"port", "99999", "port = '99999'"},
        {"port", "http", "port = 'http'"},
        {"ssl_mode", "sometimes", "ssl_mode = 'sometimes'"},
        {"connect_timeout", "0s", "connect_timeout = '0s'"},
        {"read_timeout", "forever", "read_timeout = 'forever'"},
        {"retry_timeout", "later", "retry_timeout = 'later'"},
        {"database", "", "database is required"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *kv[20];
        shared_for(SLUICE_TEST_MARIADB_DATABASE, SLUICE_TEST_MARIADB_PASSWORD, kv);
        int replaced = 0;
        for (size_t j = 0; kv[j]; j += 2)
            if (strcmp(kv[j], bad[i].key) == 0) kv[j + 1] = bad[i].value, replaced = 1;
        if (!replaced) {
            size_t j = 0;
            while (kv[j]) j += 2;
            kv[j] = bad[i].key;
            kv[j + 1] = bad[i].value;
            kv[j + 2] = NULL;
        }
        sluice_test_cfg c;
        sluice_test_cfg_init(&c, "opts", &schema);
        c.cfg.shared = kv;
        sluice_sink *s = NULL;
        char err[1024] = "";
        assert_int_equal(sluice_mysql_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
        assert_null(s);
        if (!strstr(err, bad[i].expect) || !strstr(err, "sink opts (mysql)"))
            fail_msg("%s = %s: unexpected message: %s", bad[i].key, bad[i].value, err);
    }

    /* TLS required from a server without TLS: a fast, clear failure */
    const char *kv[20];
    shared_for(SLUICE_TEST_MARIADB_DATABASE, SLUICE_TEST_MARIADB_PASSWORD, kv);
    size_t j = 0;
    while (kv[j]) j += 2;
    kv[j] = "ssl_mode", kv[j + 1] = "required", kv[j + 2] = NULL;
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "tls", &schema);
    c.cfg.shared = kv;
    sluice_sink *s = NULL;
    char err[1024] = "";
    assert_int_equal(sluice_mysql_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(s);
    if (!strstr(err, "sink tls (mysql): cannot connect with TLS")) fail_msg("unexpected message: %s", err);
}

/* ---- the sink through its module API --------------------------------------------------------- */

typedef struct opened {
    sluice_test_cfg c;
    const char *kv[16];
    sluice_sink *sink;
} opened;

static void open_sink(opened *o, const char *pipeline, const char *instance, const sluice_schema *schema,
                      const char *database, const char *table, int mode) {
    sluice_test_cfg_init(&o->c, instance, schema);
    o->c.cfg.pipeline = pipeline;
    o->c.cfg.output_mode = mode;
    o->c.cfg.checkpointing = 1;
    if (table) sluice_test_cfg_set(&o->c, "table", table);
    shared_for(database, SLUICE_TEST_MARIADB_PASSWORD, o->kv);
    o->c.cfg.shared = o->kv;
    char err[1024] = "";
    o->sink = NULL;
    if (sluice_mysql_sink_ops.open(&o->c.cfg, &o->sink, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
}

static void epoch(opened *o, int64_t e, const sluice_row_batch *b) {
    char err[1024] = "";
    if (sluice_mysql_sink_ops.write(o->sink, e, b, err, sizeof err) != SLUICE_OK) fail_msg("write: %s", err);
    if (sluice_mysql_sink_ops.commit(o->sink, e, err, sizeof err) != SLUICE_OK) fail_msg("commit: %s", err);
}

static const sluice_column kv_cols[] = {{.name = "k", .type = SLUICE_TYPE_BIGINT},
                                        {.name = "v", .type = SLUICE_TYPE_VARCHAR}};
static const size_t kv_pk[] = {0};
static const sluice_schema kv_schema = {.ncolumns = 2, .columns = kv_cols, .npk = 1, .pk = kv_pk};
static const sluice_schema kv_schema_nokey = {.ncolumns = 2, .columns = kv_cols, .npk = 0, .pk = NULL};

static void add_kv(sluice_row_batch *b, int64_t k, const char *v) {
    sluice_value *row = sluice_row_batch_append(b);
    row[0] = sluice_value_bigint(k);
    row[1] = v ? sluice_value_varchar(v, strlen(v)) : sluice_value_null();
}

/* An ARRAY (a stateless UNNEST query's output) is stored as its whole JSON
 * text in a LONGTEXT column, however long, not as NULL. */
static void arrays_are_stored_as_json_text(void **state) {
    (void)state;
    create_database("array_db");
    static const sluice_column cols[] = {{.name = "k", .type = SLUICE_TYPE_BIGINT},
                                         {.name = "tags", .type = SLUICE_TYPE_ARRAY}};
    static const size_t pk[] = {0};
    static const sluice_schema schema = {.ncolumns = 2, .columns = cols, .npk = 1, .pk = pk};
    opened o;
    open_sink(&o, "p", "s", &schema, "array_db", "t", SLUICE_OUTPUT_APPEND);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &schema);
    sluice_array *a = sluice_array_new(b.arena, SLUICE_TYPE_VARCHAR, 30);
    assert_non_null(a);
    char want[1024] = "[";
    for (int i = 0; i < 30; i++) {
        char *w = sluice_arena_alloc(b.arena, 8);
        snprintf(w, 8, "it's%02d", i);
        a->values[i] = sluice_value_varchar(w, strlen(w));
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s\"it's%02d\"", i ? "," : "", i);
    }
    strcat(want, "]\n");
    sluice_value *row = sluice_row_batch_append(&b);
    row[0] = sluice_value_bigint(1);
    row[1] = sluice_value_array(a);
    epoch(&o, 0, &b);
    sluice_mysql_sink_ops.close(o.sink);
    char *t = query("SELECT tags FROM array_db.t WHERE k = 1");
    assert_string_equal(t, want);
    free(t);
    t = query("SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'array_db' AND COLUMN_NAME = 'tags'");
    assert_string_equal(t, "longtext\n");
    free(t);
    sluice_row_batch_free(&b);
}

static void epochs_at_or_below_the_recorded_one_are_skipped(void **state) {
    (void)state;
    create_database("skip_db");
    opened o;
    open_sink(&o, "p", "s", &kv_schema, "skip_db", "t", SLUICE_OUTPUT_UPDATE);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &kv_schema);
    for (int64_t e = 0; e < 3; e++) {
        sluice_row_batch_clear(&b);
        add_kv(&b, e, "first");
        epoch(&o, e, &b);
    }
    sluice_mysql_sink_ops.close(o.sink);
    char *c = query("SELECT epoch FROM skip_db.sluice_commits WHERE pipeline = 'p' AND sink = 's'");
    assert_string_equal(c, "2\n");
    free(c);

    /* a restart replays epochs 1 and 2, then goes on with 3; recovery is
     * told the recorded epoch (to refuse a checkpoint that is behind it) */
    open_sink(&o, "p", "s", &kv_schema, "skip_db", "t", SLUICE_OUTPUT_UPDATE);
    assert_int_equal(sluice_mysql_sink_ops.committed_epoch(o.sink), 2);
    for (int64_t e = 1; e < 4; e++) {
        sluice_row_batch_clear(&b);
        add_kv(&b, e, "second");
        add_kv(&b, 100 + e, "second");
        epoch(&o, e, &b);
    }
    sluice_mysql_sink_ops.close(o.sink);
    char *t = query("SELECT k, v FROM skip_db.t ORDER BY k");
    assert_string_equal(t, "0|first\n1|first\n2|first\n3|second\n103|second\n");
    free(t);
    c = query("SELECT epoch FROM skip_db.sluice_commits WHERE pipeline = 'p' AND sink = 's'");
    assert_string_equal(c, "3\n");
    free(c);

    /* without checkpointing a run starts a new epoch sequence: nothing skipped */
    sluice_test_cfg_init(&o.c, "s", &kv_schema);
    o.c.cfg.pipeline = "p";
    sluice_test_cfg_set(&o.c, "table", "t");
    o.c.cfg.shared = o.kv;
    char err[1024] = "";
    assert_int_equal(sluice_mysql_sink_ops.open(&o.c.cfg, &o.sink, err, sizeof err), SLUICE_OK);
    sluice_row_batch_clear(&b);
    add_kv(&b, 0, "third");
    epoch(&o, 0, &b);
    sluice_mysql_sink_ops.close(o.sink);
    t = query("SELECT v FROM skip_db.t WHERE k = 0");
    assert_string_equal(t, "third\n");
    free(t);
    c = query("SELECT epoch FROM skip_db.sluice_commits WHERE pipeline = 'p' AND sink = 's'");
    assert_string_equal(c, "0\n");
    free(c);

    /* another sink of the same pipeline keeps its own epoch */
    open_sink(&o, "p", "other", &kv_schema, "skip_db", "t2", SLUICE_OUTPUT_UPDATE);
    sluice_row_batch_clear(&b);
    add_kv(&b, 1, "x");
    epoch(&o, 0, &b);
    sluice_mysql_sink_ops.close(o.sink);
    t = query("SELECT k, v FROM skip_db.t2");
    assert_string_equal(t, "1|x\n");
    free(t);
    sluice_row_batch_free(&b);
}

/* sluice_commits is keyed by the target too: the same pipeline and sink
 * name writing another table has its own record (before: it shared the
 * first table's epoch and skipped that many epochs).  A table of an earlier
 * version (no `target`) is upgraded and its row taken as the table's; an
 * invalid epoch is refused at open. */
static void commit_records_are_keyed_by_table_and_validated(void **state) {
    (void)state;
    create_database("target_db");
    assert_int_equal(sluice_test_mariadb_exec(&server,
                                              "CREATE TABLE target_db.sluice_commits (pipeline VARCHAR(255) NOT NULL, "
                                              "sink VARCHAR(255) NOT NULL, epoch BIGINT NOT NULL, PRIMARY KEY "
                                              "(pipeline, sink)) ENGINE=InnoDB"),
                     0);
    assert_int_equal(sluice_test_mariadb_exec(&server, "INSERT INTO target_db.sluice_commits VALUES ('p', 's', 5)"), 0);
    opened o;
    sluice_row_batch b;
    sluice_row_batch_init(&b, &kv_schema);
    /* table t: the upgraded row says epoch 5, so epoch 3 is skipped */
    open_sink(&o, "p", "s", &kv_schema, "target_db", "t", SLUICE_OUTPUT_UPDATE);
    add_kv(&b, 3, "skipped");
    epoch(&o, 3, &b);
    sluice_mysql_sink_ops.close(o.sink);
    char *c = query("SELECT pipeline, sink, target, epoch FROM target_db.sluice_commits");
    assert_string_equal(c, "p|s|t|5\n");
    free(c);
    c = query("SELECT COUNT(*) FROM target_db.t");
    assert_string_equal(c, "0\n");
    free(c);

    /* table t2, same pipeline and sink name: nothing recorded, written */
    open_sink(&o, "p", "s", &kv_schema, "target_db", "t2", SLUICE_OUTPUT_UPDATE);
    sluice_row_batch_clear(&b);
    add_kv(&b, 1, "x");
    epoch(&o, 0, &b);
    sluice_row_batch_free(&b);
    sluice_mysql_sink_ops.close(o.sink);
    c = query("SELECT pipeline, sink, target, epoch FROM target_db.sluice_commits ORDER BY target");
    assert_string_equal(c, "p|s|t|5\np|s|t2|0\n");
    free(c);
    c = query("SELECT k, v FROM target_db.t2");
    assert_string_equal(c, "1|x\n");
    free(c);

    assert_int_equal(
        sluice_test_mariadb_exec(&server, "UPDATE target_db.sluice_commits SET epoch = -7 WHERE target = 't2'"), 0);
    sluice_test_cfg_init(&o.c, "s", &kv_schema);
    o.c.cfg.pipeline = "p";
    o.c.cfg.checkpointing = 1;
    sluice_test_cfg_set(&o.c, "table", "t2");
    shared_for("target_db", SLUICE_TEST_MARIADB_PASSWORD, o.kv);
    o.c.cfg.shared = o.kv;
    char err[1024] = "";
    o.sink = NULL;
    assert_int_equal(sluice_mysql_sink_ops.open(&o.c.cfg, &o.sink, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(o.sink);
    if (!strstr(err, "(pipeline 'p', sink 's', target 't2') holds an invalid epoch")) fail_msg("message: %s", err);
}

static void upserts_collapse_keys_and_complete_mode_replaces(void **state) {
    (void)state;
    create_database("modes_db");
    sluice_row_batch b;
    sluice_row_batch_init(&b, &kv_schema);

    /* UPDATE: absolute values, the last row of a key in one epoch wins; small
     * statements (batch_bytes) */
    opened o;
    sluice_test_cfg_init(&o.c, "u", &kv_schema);
    open_sink(&o, "p", "u", &kv_schema, "modes_db", NULL, SLUICE_OUTPUT_UPDATE);
    sluice_mysql_sink_ops.close(o.sink);
    sluice_test_cfg_init(&o.c, "u", &kv_schema);
    o.c.cfg.pipeline = "p";
    sluice_test_cfg_set(&o.c, "batch_bytes", "1024");
    shared_for("modes_db", SLUICE_TEST_MARIADB_PASSWORD, o.kv);
    o.c.cfg.shared = o.kv;
    char err[1024] = "";
    assert_int_equal(sluice_mysql_sink_ops.open(&o.c.cfg, &o.sink, err, sizeof err), SLUICE_OK);
    for (int i = 999; i >= 0; i--) add_kv(&b, i, "old");
    add_kv(&b, 5, "newer");
    add_kv(&b, 5, "newest");
    epoch(&o, 0, &b);
    sluice_row_batch_clear(&b);
    add_kv(&b, 6, NULL);
    epoch(&o, 1, &b);
    sluice_mysql_sink_ops.close(o.sink);
    char *t = query("SELECT COUNT(*), SUM(v = 'old'), MIN(k), MAX(k) FROM modes_db.u");
    assert_string_equal(t, "1000|998|0|999\n");
    free(t);
    t = query("SELECT k, v FROM modes_db.u WHERE k IN (5, 6) ORDER BY k");
    assert_string_equal(t, "5|newest\n6|NULL\n");
    free(t);

    /* COMPLETE: each epoch's rows replace the table */
    open_sink(&o, "p", "c", &kv_schema, "modes_db", NULL, SLUICE_OUTPUT_COMPLETE);
    sluice_row_batch_clear(&b);
    add_kv(&b, 1, "a");
    add_kv(&b, 2, "b");
    add_kv(&b, 3, "c");
    epoch(&o, 0, &b);
    sluice_row_batch_clear(&b);
    add_kv(&b, 2, "B");
    add_kv(&b, 4, "D");
    epoch(&o, 1, &b);
    sluice_mysql_sink_ops.close(o.sink);
    t = query("SELECT k, v FROM modes_db.c ORDER BY k");
    assert_string_equal(t, "2|B\n4|D\n");
    free(t);

    /* no key: plain inserts, in arrival order, duplicates kept */
    sluice_row_batch nb;
    sluice_row_batch_init(&nb, &kv_schema_nokey);
    open_sink(&o, "p", "n", &kv_schema_nokey, "modes_db", NULL, SLUICE_OUTPUT_APPEND);
    add_kv(&nb, 2, "x");
    add_kv(&nb, 1, "y");
    add_kv(&nb, 2, "x");
    epoch(&o, 0, &nb);
    epoch(&o, 0, &nb); /* a replayed epoch is not inserted twice */
    sluice_mysql_sink_ops.close(o.sink);
    t = query("SELECT k, v FROM modes_db.n");
    assert_string_equal(t, "2|x\n1|y\n2|x\n");
    free(t);
    sluice_row_batch_free(&nb);

    /* a NULL key is a clear runtime error */
    open_sink(&o, "p", "nullkey", &kv_schema, "modes_db", NULL, SLUICE_OUTPUT_UPDATE);
    sluice_row_batch_clear(&b);
    sluice_value *row = sluice_row_batch_append(&b);
    row[0] = sluice_value_null();
    row[1] = sluice_value_varchar("x", 1);
    assert_int_equal(sluice_mysql_sink_ops.write(o.sink, 0, &b, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_mysql_sink_ops.commit(o.sink, 0, err, sizeof err), SLUICE_ERR_RUNTIME);
    assert_non_null(strstr(err, "key column 'k' is NULL"));
    sluice_mysql_sink_ops.close(o.sink);
    sluice_row_batch_free(&b);
}

/* ---- changelog -------------------------------------------------------------------------------- */

static void add_kind(sluice_row_batch *b, sluice_row_kind kind, int64_t k, const char *v) {
    sluice_value *row = sluice_row_batch_append_kind(b, kind);
    row[0] = sluice_value_bigint(k);
    row[1] = v ? sluice_value_varchar(v, strlen(v)) : sluice_value_null();
}

/* With a key: a delete removes the key's row in the epoch's transaction, an
 * update-before changes nothing, and a key's last change in an epoch wins
 * (deleted then set again: set; set then deleted: gone).  Without a key:
 * an update-before or a delete removes one equal row. */
static void changelog_deletes_rows(void **state) {
    (void)state;
    create_database("changelog_db");
    opened o;
    open_sink(&o, "p", "t", &kv_schema, "changelog_db", NULL, SLUICE_OUTPUT_UPDATE);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &kv_schema);
    for (int64_t k = 1; k <= 5; k++) add_kind(&b, SLUICE_ROW_UPDATE_AFTER, k, "v");
    epoch(&o, 0, &b);
    sluice_row_batch_clear(&b);
    add_kind(&b, SLUICE_ROW_DELETE, 1, "v");         /* gone */
    add_kind(&b, SLUICE_ROW_UPDATE_BEFORE, 2, "v");  /* replaced by the +U after it */
    add_kind(&b, SLUICE_ROW_UPDATE_AFTER, 2, "w");
    add_kind(&b, SLUICE_ROW_DELETE, 3, "v");         /* deleted, then set again */
    add_kind(&b, SLUICE_ROW_INSERT, 3, "x");
    add_kind(&b, SLUICE_ROW_UPDATE_AFTER, 4, "y");   /* set, then deleted */
    add_kind(&b, SLUICE_ROW_DELETE, 4, "y");
    add_kind(&b, SLUICE_ROW_UPDATE_BEFORE, 5, "v");  /* alone: nothing */
    add_kind(&b, SLUICE_ROW_DELETE, 99, NULL);       /* not there: nothing */
    epoch(&o, 1, &b);
    sluice_mysql_sink_ops.close(o.sink);
    char *t = query("SELECT k, v FROM changelog_db.t ORDER BY k");
    assert_string_equal(t, "2|w\n3|x\n5|v\n");
    free(t);
    t = query("SELECT epoch FROM changelog_db.sluice_commits WHERE sink = 't'");
    assert_string_equal(t, "1\n");
    free(t);

    sluice_row_batch nb;
    sluice_row_batch_init(&nb, &kv_schema_nokey);
    open_sink(&o, "p", "n", &kv_schema_nokey, "changelog_db", NULL, SLUICE_OUTPUT_UPDATE);
    add_kind(&nb, SLUICE_ROW_INSERT, 1, "a");
    add_kind(&nb, SLUICE_ROW_INSERT, 1, "a");
    add_kind(&nb, SLUICE_ROW_INSERT, 2, NULL);
    add_kind(&nb, SLUICE_ROW_DELETE, 1, "a");        /* one of the two */
    add_kind(&nb, SLUICE_ROW_UPDATE_BEFORE, 2, NULL); /* NULL-safe match */
    add_kind(&nb, SLUICE_ROW_UPDATE_AFTER, 2, "b");
    epoch(&o, 0, &nb);
    sluice_mysql_sink_ops.close(o.sink);
    t = query("SELECT k, v FROM changelog_db.n ORDER BY k");
    assert_string_equal(t, "1|a\n2|b\n");
    free(t);
    sluice_row_batch_free(&nb);
    sluice_row_batch_free(&b);
}

/* ---- hostile data ---------------------------------------------------------------------------- */

static void hostile_data_round_trips_exactly(void **state) {
    (void)state;
    create_database("hostile_db");
    static const sluice_column cols[] = {{.name = "k`ey", .type = SLUICE_TYPE_VARCHAR},
                                         {.name = "val'ue \"x\"", .type = SLUICE_TYPE_VARCHAR},
                                         {.name = "d", .type = SLUICE_TYPE_DOUBLE},
                                         {.name = "n", .type = SLUICE_TYPE_BIGINT},
                                         {.name = "ts", .type = SLUICE_TYPE_TIMESTAMP},
                                         {.name = "b", .type = SLUICE_TYPE_BOOLEAN}};
    static const size_t pk[] = {0};
    static const sluice_schema schema = {.ncolumns = 6, .columns = cols, .npk = 1, .pk = pk};
    static char big[10241];
    for (size_t i = 0; i < sizeof big - 1; i++) big[i] = (char)('a' + i % 26);
    big[5000] = '\'';
    big[6000] = '\\';
    struct {
        const char *s;
        size_t n;
    } texts[] = {
        {"it's", 4},
        {"back\\slash\\", 11},
        {"nul\0byte", 8},
        {"\xF0\x9F\xA6\x86 duck \xE2\x82\xAC", 14},
        {"'; DROP TABLE t; --", 19},
        {"\"double\" `tick`", 15},
        {"\r\n\t\x1a end", 8},
        {"trailing space ", 15},
        {"trailing space", 14},
        {"", 0},
        {big, sizeof big - 1},
    };
    size_t nt = sizeof texts / sizeof texts[0];
    double doubles[] = {0.1, -1e308, 1e-300, 3.141592653589793, -0.0, 123456789.123456789, 2.5e-8,
                        1.7976931348623157e308, 4.9e-300, 1.0 / 3, 42};
    int64_t ints[] = {INT64_MIN, INT64_MAX, 0, -1, 1, 1234567890123, -987654321, 7, 8, 9, 10};
    int64_t tss[] = {0, 978310020123, 1700000000999, 253402300799999, -30610224000000, 86400000, 1, 2, 3, 4, 5};

    sluice_row_batch b;
    sluice_row_batch_init(&b, &schema);
    for (size_t i = 0; i < nt; i++) {
        sluice_value *row = sluice_row_batch_append(&b);
        char *key = sluice_arena_alloc(b.arena, texts[i].n + 1);
        memcpy(key, texts[i].s, texts[i].n);
        row[0] = sluice_value_varchar(key, i == nt - 1 ? 250 : texts[i].n); /* a key fits VARCHAR(255) */
        row[1] = sluice_value_varchar(texts[i].s, texts[i].n);
        row[2] = sluice_value_double(doubles[i]);
        row[3] = sluice_value_bigint(ints[i]);
        row[4] = sluice_value_timestamp(tss[i]);
        row[5] = sluice_value_bool((int)(i % 2));
    }
    opened o;
    open_sink(&o, "p`'\"", "hostile `sink'", &schema, "hostile_db", "we`ird 'tab\"le", SLUICE_OUTPUT_UPDATE);
    epoch(&o, 0, &b);
    sluice_mysql_sink_ops.close(o.sink);

    MYSQL *db = sluice_test_mariadb_connect(&server, "hostile_db");
    assert_non_null(db);
    assert_int_equal(mysql_query(db, "SELECT `k``ey`, `val'ue \"x\"`, d, n, TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ts) DIV 1000, b "
                                     "FROM `we``ird 'tab\"le`"),
                     0);
    MYSQL_RES *r = mysql_store_result(db);
    assert_non_null(r);
    assert_int_equal(mysql_num_rows(r), nt);
    size_t matched = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        unsigned long *len = mysql_fetch_lengths(r);
        for (size_t i = 0; i < nt; i++) {
            if (len[1] != texts[i].n || memcmp(row[1], texts[i].s, texts[i].n) != 0) continue;
            matched++;
            size_t kn = i == nt - 1 ? 250 : texts[i].n;
            assert_int_equal(len[0], kn);
            assert_memory_equal(row[0], texts[i].s, kn);
            double d = strtod(row[2], NULL);
            if (memcmp(&d, &doubles[i], sizeof d) != 0 && !(d == 0 && doubles[i] == 0))
                fail_msg("double %.17g came back as %s", doubles[i], row[2]);
            assert_int_equal(strtoll(row[3], NULL, 10), ints[i]);
            assert_int_equal(strtoll(row[4], NULL, 10), tss[i]);
            assert_int_equal(atoi(row[5]), (int)(i % 2));
        }
    }
    assert_int_equal(matched, nt);
    mysql_free_result(r);
    assert_int_equal(mysql_query(db, "SELECT epoch FROM sluice_commits WHERE pipeline = 'p`''\"' AND sink = "
                                     "'hostile `sink'''"),
                     0);
    r = mysql_store_result(db);
    assert_int_equal(mysql_num_rows(r), 1);
    mysql_free_result(r);
    mysql_close(db);
    sluice_row_batch_free(&b);
}

/* ---- faults ---------------------------------------------------------------------------------- */

typedef struct lock_holder {
    opened *o;
    sluice_row_batch *b;
    sluice_err_t rc;
    char err[1024];
} lock_holder;

static void *commit_in_thread(void *arg) {
    lock_holder *h = arg;
    h->rc = sluice_mysql_sink_ops.write(h->o->sink, 1, h->b, h->err, sizeof h->err);
    if (!h->rc) h->rc = sluice_mysql_sink_ops.commit(h->o->sink, 1, h->err, sizeof h->err);
    return NULL;
}

static void lock_wait_timeout_is_retried(void **state) {
    (void)state;
    create_database("lock_db");
    assert_int_equal(sluice_test_mariadb_exec(&server, "SET GLOBAL innodb_lock_wait_timeout = 1"), 0);
    opened o;
    open_sink(&o, "p", "s", &kv_schema, "lock_db", NULL, SLUICE_OUTPUT_UPDATE);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &kv_schema);
    add_kv(&b, 1, "one");
    epoch(&o, 0, &b);

    MYSQL *db = sluice_test_mariadb_connect(&server, "lock_db");
    assert_non_null(db);
    assert_int_equal(mysql_query(db, "START TRANSACTION"), 0);
    assert_int_equal(mysql_query(db, "UPDATE s SET v = 'held' WHERE k = 1"), 0);
    lock_holder h = {.o = &o, .b = &b};
    sluice_row_batch_clear(&b);
    add_kv(&b, 1, "two");
    pthread_t th;
    pthread_create(&th, NULL, commit_in_thread, &h);
    struct timespec ts = {.tv_sec = 2, .tv_nsec = 500000000};
    nanosleep(&ts, NULL); /* the sink times out on the lock at least once meanwhile */
    assert_int_equal(mysql_query(db, "ROLLBACK"), 0);
    pthread_join(th, NULL);
    mysql_close(db);
    if (h.rc) fail_msg("commit after a lock wait timeout: %s", h.err);
    sluice_mysql_sink_ops.close(o.sink);
    assert_int_equal(sluice_test_mariadb_exec(&server, "SET GLOBAL innodb_lock_wait_timeout = 50"), 0);
    char *t = query("SELECT k, v FROM lock_db.s");
    assert_string_equal(t, "1|two\n");
    free(t);
    sluice_row_batch_free(&b);
}

static void server_away_beyond_retry_timeout_fails_the_epoch(void **state) {
    (void)state;
    create_database("away_db");
    opened o;
    sluice_test_cfg_init(&o.c, "s", &kv_schema);
    o.c.cfg.pipeline = "p";
    sluice_test_cfg_set(&o.c, "retry_timeout", "1s");
    shared_for("away_db", SLUICE_TEST_MARIADB_PASSWORD, o.kv);
    o.c.cfg.shared = o.kv;
    char err[1024] = "";
    assert_int_equal(sluice_mysql_sink_ops.open(&o.c.cfg, &o.sink, err, sizeof err), SLUICE_OK);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &kv_schema);
    add_kv(&b, 1, "one");
    assert_int_equal(sluice_test_mariadb_kill(&server), 0);
    assert_int_equal(sluice_mysql_sink_ops.write(o.sink, 0, &b, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_mysql_sink_ops.commit(o.sink, 0, err, sizeof err), SLUICE_ERR_IO);
    if (!strstr(err, "gave up after") || !strstr(err, "retry_timeout")) fail_msg("unexpected message: %s", err);
    assert_null(strstr(err, SLUICE_TEST_MARIADB_PASSWORD));
    assert_int_equal(sluice_test_mariadb_restart(&server), 0);
    /* the same instance carries on once the server is back */
    assert_int_equal(sluice_mysql_sink_ops.commit(o.sink, 0, err, sizeof err), SLUICE_OK);
    sluice_mysql_sink_ops.close(o.sink);
    char *t = query("SELECT k, v FROM away_db.s");
    assert_string_equal(t, "1|one\n");
    free(t);
    sluice_row_batch_free(&b);
}

/* The flights pipeline through the embedding API on the memory source, fed
 * in chunks; the server is killed halfway and restarted a little later. */
typedef struct runner {
    sluice_pipeline *p;
    char **lines;
    size_t nlines;
    atomic_int halfway, killed;
    sluice_err_t rc;
    char err[1024];
} runner;

static void *run_pipeline(void *arg) {
    runner *r = arg;
    sluice_source *src = sluice_pipeline_source(r->p, "flights");
    size_t chunk = 1000;
    int done = 0;
    for (size_t i = 0; i < r->nlines && !r->rc; i += chunk) {
        for (size_t j = i; j < i + chunk && j < r->nlines; j++)
            sluice_memory_source_push(src, r->lines[j], strlen(r->lines[j]), NULL, 0, 0, 0);
        r->rc = sluice_pipeline_step(r->p, &done, r->err, sizeof r->err);
        if (i >= r->nlines / 2 && !atomic_load(&r->halfway)) {
            atomic_store(&r->halfway, 1);
            while (!atomic_load(&r->killed)) {
                struct timespec ts = {0, 10000000};
                nanosleep(&ts, NULL);
            }
        }
    }
    sluice_memory_source_end(src);
    while (!r->rc && !done) r->rc = sluice_pipeline_step(r->p, &done, r->err, sizeof r->err);
    return NULL;
}

static void server_killed_and_restarted_mid_run_loses_nothing(void **state) {
    (void)state;
    create_database("flights_k");
    char ini[4200], sql[4200];
    snprintf(ini, sizeof ini, "%s/flights_k.ini", tmpdir);
    snprintf(sql, sizeof sql, "%s", sluice_test_fixture("pipelines/flights.sql"));
    write_flights_ini_with(ini, "flights_k", NULL, NULL, "connector = memory\nformat = json\n", "10ms");
    sluice_pipeline_options opts = {.sql_path = sql, .config_path = ini, .quiet = 1};
    runner r;
    memset(&r, 0, sizeof r);
    char err[1024] = "";
    if (sluice_pipeline_open(&opts, &r.p, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
    char *data = sluice_test_read_file(sluice_test_fixture("data/flights-20k.jsonl"), NULL);
    r.lines = malloc(25000 * sizeof *r.lines);
    char *save = NULL;
    for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) r.lines[r.nlines++] = l;

    pthread_t th;
    pthread_create(&th, NULL, run_pipeline, &r);
    while (!atomic_load(&r.halfway)) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    char *before = query("SELECT epoch FROM flights_k.sluice_commits");
    assert_true(atoi(before) > 0);
    free(before);
    assert_int_equal(sluice_test_mariadb_kill(&server), 0);
    atomic_store(&r.killed, 1);
    struct timespec ts = {.tv_sec = 1, .tv_nsec = 500000000};
    nanosleep(&ts, NULL); /* the pipeline retries against a dead server meanwhile */
    assert_int_equal(sluice_test_mariadb_restart(&server), 0);
    pthread_join(th, NULL);
    if (r.rc) fail_msg("pipeline: %s", r.err);
    sluice_pipeline_close(r.p);
    assert_flights_oracle("flights_k");
    free(r.lines);
    free(data);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("mysql_sink");
    if (sluice_test_mariadb_start(&server, "mysql_sink_mariadb") != 0) {
        fprintf(stderr, "cannot start a private MariaDB\n");
        sluice_test_mariadb_stop(&server);
        return 1;
    }
    snprintf(port_text, sizeof port_text, "%d", server.port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flights_into_mysql_equals_oracle_and_rerun_changes_nothing),
        cmocka_unit_test(wrong_column_type_fails_at_start_naming_it),
        cmocka_unit_test(wrong_password_is_not_echoed),
        cmocka_unit_test(bad_connection_options_rejected),
        cmocka_unit_test(epochs_at_or_below_the_recorded_one_are_skipped),
        cmocka_unit_test(commit_records_are_keyed_by_table_and_validated),
        cmocka_unit_test(reset_checkpoint_with_a_recorded_epoch_is_refused),
        cmocka_unit_test(upserts_collapse_keys_and_complete_mode_replaces),
        cmocka_unit_test(changelog_deletes_rows),
        cmocka_unit_test(hostile_data_round_trips_exactly),
        cmocka_unit_test(arrays_are_stored_as_json_text),
        cmocka_unit_test(lock_wait_timeout_is_retried),
        cmocka_unit_test(server_away_beyond_retry_timeout_fails_the_epoch),
        cmocka_unit_test(server_killed_and_restarted_mid_run_loses_nothing),
    };
    int rc = cmocka_run_group_tests_name("mysql sink", tests, NULL, NULL);
    sluice_test_mariadb_stop(&server);
    free(tmpdir);
    return rc;
}
