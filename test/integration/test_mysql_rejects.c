/*
 * One bad row never stops a MySQL pipeline (the sink's on_error), against
 * a real MariaDB that this test starts:
 *
 * - rows an existing table cannot store -- a value longer than its
 *   VARCHAR, a text over TEXT's 65,535 bytes, bytes that are not UTF-8, a
 *   NaN double (found before sending), a character a latin1 column cannot
 *   hold (refused by the server, found row by row) -- go to the dead
 *   letter with the sink and the reason; the run exits 0 with every other
 *   row in the table; a checkpointed restart exits 0 and changes nothing;
 * - on_error = fail exits 1 naming the sink and the reason, committing
 *   nothing of the epoch; a bad on_error value is a start-up error naming
 *   file:line;
 * - a created table holds any text (LONGTEXT) and a key VARCHAR sized to
 *   InnoDB's 3072-byte index limit (768 utf8mb4 characters);
 * - /metrics counts the rejected rows.
 */
#include "sluice_test.h"
#include "mariadb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/sluice.h"

static sluice_test_mariadb server;
static char *tmpdir;

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

static const char *items_sql = "CREATE SOURCE items (id BIGINT, name VARCHAR, note VARCHAR, tag VARCHAR, score DOUBLE);\n"
                               "CREATE SINK items_out PRIMARY KEY (id) AS SELECT id, name, note, tag, score FROM items;\n";

/* The CSV input: 8 rows, 5 of which the table of `existing_table` cannot
 * store.  Returns its path (static). */
static const char *write_items_csv(void) {
    static char path[4200];
    snprintf(path, sizeof path, "%s/items.csv", tmpdir);
    size_t big = 70000;
    char *note = malloc(big + 1);
    memset(note, 'x', big);
    note[big] = '\0';
    size_t cap = big + 4096;
    char *csv = malloc(cap);
    snprintf(csv, cap,
             "id,name,note,tag,score\n"
             "1,ok,short,a,1.5\n"
             "2,waytoolongname,short,b,2\n"       /* 14 characters in VARCHAR(8) */
             "3,ok3,%s,c,3\n"                     /* 70000 bytes in TEXT */
             "4,\xff\xfe" "bad,x,d,4\n"           /* not UTF-8: set aside by the CSV decoder */
             "5,ok5,nanrow,e,NaN\n"               /* NaN in DOUBLE */
             "6,ok6,emoji,\xf0\x9f\x98\x80,6\n"   /* U+1F600 in a latin1 column: refused by the server */
             "7,\xc3\xbc" "n\xc3\xaf" "c\xc3\xb8" "de,multibyte,g,7\n" /* 7 characters, 11 bytes: fits */
             "8,last,fine,h,6.25\n",
             note);
    assert_int_equal(sluice_test_write_file(path, csv), 0);
    free(note);
    free(csv);
    return path;
}

static const char *existing_table =
    "CREATE TABLE items_out (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(8), note TEXT, "
    "tag VARCHAR(10) CHARACTER SET latin1, score DOUBLE) DEFAULT CHARSET=utf8mb4";

/* A profile: the CSV source, the mysql sink with `sink_extra`, the
 * `pipeline_extra` keys.  Writes NAME.sql and NAME.ini under tmpdir. */
static void write_pipeline(const char *name, const char *sql, const char *database, const char *csv,
                           const char *pipeline_extra, const char *sink_extra, char *sql_path, char *ini_path) {
    char mysql[1024], ini[8192];
    sluice_test_mariadb_ini(&server, database, mysql, sizeof mysql);
    sprintf(sql_path, "%s/%s.sql", tmpdir, name);
    sprintf(ini_path, "%s/%s.ini", tmpdir, name);
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\ndead_letter = %s/%s.dead.jsonl\n%s\n"
             "[source items]\npath = %s\nformat = csv\n\n"
             "[sink items_out]\nconnector = mysql\n%s\n%s",
             tmpdir, name, pipeline_extra ? pipeline_extra : "", csv, sink_extra ? sink_extra : "", mysql);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
}

static int run(const char *sql_path, const char *ini_path, const char *err_path) {
    const char *argv[] = {"run", sql_path, "--config", ini_path, "--quiet", NULL};
    return sluice_test_run_cli(argv, NULL, err_path);
}

static size_t count_lines(const char *text) {
    size_t n = 0;
    for (const char *c = text; c && *c; c++) n += *c == '\n';
    return n;
}

/* The dead-letter line whose raw row has id `id`, or fail. */
static const char *dead_line(char *text, int id, char *line, size_t size) {
    char want[64];
    snprintf(want, sizeof want, "\"raw\":\"{\\\"id\\\":%d,", id);
    for (char *l = text; l && *l;) {
        char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (memmem(l, n, want, strlen(want))) {
            snprintf(line, size, "%.*s", (int)(n < size ? n : size - 1), l);
            return line;
        }
        l = nl ? nl + 1 : NULL;
    }
    fail_msg("no dead letter for id %d in:\n%.2000s", id, text);
    return NULL;
}

static void assert_contains(const char *text, const char *what) {
    if (!strstr(text, what)) fail_msg("'%s' not in:\n%.3000s", what, text);
}

static void bad_rows_go_to_the_dead_letter_and_the_rest_commits(void **state) {
    (void)state;
    create_database("rej_a");
    char sql[4300], ini[4300], errp[4300], dlp[4300];
    assert_int_equal(sluice_test_mariadb_exec(&server, "USE rej_a"), 0);
    char create[1024];
    snprintf(create, sizeof create, "USE rej_a; %s", existing_table);
    assert_int_equal(sluice_test_mariadb_exec(&server, create), 0);
    char ck[4300];
    snprintf(ck, sizeof ck, "checkpoint_dir = %s/rej_a.ckpt", tmpdir);
    write_pipeline("rej_a", items_sql, "rej_a", write_items_csv(), ck, NULL, sql, ini);
    snprintf(errp, sizeof errp, "%s/rej_a.err", tmpdir);
    snprintf(dlp, sizeof dlp, "%s/rej_a.dead.jsonl", tmpdir);
    int rc = run(sql, ini, errp);
    char *err = sluice_test_read_file(errp, NULL);
    if (rc != 0) fail_msg("sluice run exited %d: %s", rc, err ? err : "");
    /* the start-up warning names the columns the table cannot hold in full */
    assert_contains(err, "cannot hold every value of column(s) 'name' (varchar(8)), 'note' (text), 'tag' (varchar(10))");
    free(err);

    char *table = query("SELECT id, name, LENGTH(note), tag, score FROM rej_a.items_out ORDER BY id");
    assert_string_equal(table, "1|ok|5|a|1.5\n"
                               "7|\xc3\xbc" "n\xc3\xaf" "c\xc3\xb8" "de|9|g|7\n"
                               "8|last|4|h|6.25\n");
    free(table);
    char *commits = query("SELECT epoch >= 0 FROM rej_a.sluice_commits WHERE sink = 'items_out'");
    assert_string_equal(commits, "1\n");
    free(commits);

    char *dead = sluice_test_read_file(dlp, NULL);
    assert_non_null(dead);
    assert_int_equal(count_lines(dead), 5);
    char line[4096];
    static const struct {
        int id;
        const char *reason;
    } want[] = {
        {2, "\"reason\":\"table 'items_out': column 'name': 14 characters, varchar(8) holds at most 8\""},
        {3, "\"reason\":\"table 'items_out': column 'note': 70000 bytes, text holds at most 65535\""},
        {5, "\"reason\":\"table 'items_out': column 'score': NaN, which a MySQL double cannot store\""},
        {6, "(error 1366)\""},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        dead_line(dead, want[i].id, line, sizeof line);
        assert_contains(line, "{\"source\":\"items\",\"sink\":\"items_out\",\"position\":\"epoch ");
        assert_contains(line, want[i].reason);
    }
    dead_line(dead, 6, line, sizeof line);
    assert_contains(line, "table 'items_out' refused the row: Incorrect string value");
    /* bytes that are not UTF-8 never reach the sink: the CSV decoder sets
     * the record aside, exact bytes in raw_base64 (the sink's own UTF-8
     * check is a backstop, tested in unit/test_mysql_columns) */
    assert_contains(dead, "{\"source\":\"items\",\"position\":\"");
    assert_contains(dead, "items.csv:5\",\"reason\":\"invalid UTF-8 in column 'name' at byte 1 of the field\","
                          "\"raw_base64\":\"NCz//mJhZCx4LGQsNA==\"}");

    /* a restart on the checkpoint does not fail again and changes nothing */
    rc = run(sql, ini, errp);
    if (rc != 0) {
        err = sluice_test_read_file(errp, NULL);
        fail_msg("restart exited %d: %s", rc, err ? err : "");
    }
    table = query("SELECT id FROM rej_a.items_out ORDER BY id");
    assert_string_equal(table, "1\n7\n8\n");
    free(table);
    char *dead2 = sluice_test_read_file(dlp, NULL);
    assert_string_equal(dead2, dead);
    free(dead2);
    free(dead);
}

static void on_error_fail_stops_the_run_naming_sink_and_reason(void **state) {
    (void)state;
    create_database("rej_b");
    char create[1024];
    snprintf(create, sizeof create, "USE rej_b; %s", existing_table);
    assert_int_equal(sluice_test_mariadb_exec(&server, create), 0);
    char sql[4300], ini[4300], errp[4300];
    write_pipeline("rej_b", items_sql, "rej_b", write_items_csv(), NULL, "on_error = fail", sql, ini);
    snprintf(errp, sizeof errp, "%s/rej_b.err", tmpdir);
    assert_int_equal(run(sql, ini, errp), 1);
    char *err = sluice_test_read_file(errp, NULL);
    assert_contains(err, "sink items_out: epoch 0: table 'items_out': column 'name': 14 characters, varchar(8) "
                         "holds at most 8; row: {\"id\":2,\"name\":\"waytoolongname\"");
    assert_contains(err, "(on_error = fail");
    free(err);
    char *n = query("SELECT COUNT(*) FROM rej_b.items_out");
    assert_string_equal(n, "0\n");
    free(n);

    /* a value that is neither: exit 2 naming the line */
    write_pipeline("rej_b", items_sql, "rej_b", write_items_csv(), NULL, "on_error = skip", sql, ini);
    const char *argv[] = {"check", sql, "--config", ini, NULL};
    assert_int_equal(sluice_test_run_cli(argv, NULL, errp), 2);
    err = sluice_test_read_file(errp, NULL);
    char want[4400];
    snprintf(want, sizeof want, "%s:11: on_error = 'skip' in [sink items_out]: expected dead_letter", ini);
    assert_contains(err, want);
    free(err);
}

static void created_table_holds_any_text_and_sizes_its_key(void **state) {
    (void)state;
    create_database("rej_c");
    char csv_path[4300];
    snprintf(csv_path, sizeof csv_path, "%s/names.csv", tmpdir);
    size_t big = 70000;
    char *csv = malloc(2 * big + 8192);
    char *p = csv;
    p += sprintf(p, "id,name,note,tag,score\n1,a,");
    memset(p, 'n', big), p += big;
    p += sprintf(p, ",t,1\n2,");
    memset(p, 'k', 768), p += 768; /* 768 characters: the key's length */
    p += sprintf(p, ",short,t,2\n3,");
    memset(p, 'k', 769), p += 769; /* one more: set aside */
    p += sprintf(p, ",short,t,3\n4,\xc3\xa9");
    memset(p, 'k', 767), p += 767; /* 768 characters in 769 bytes: fits */
    p += sprintf(p, ",short,t,4\n");
    assert_int_equal(sluice_test_write_file(csv_path, csv), 0);
    free(csv);
    const char *names_sql = "CREATE SOURCE items (id BIGINT, name VARCHAR, note VARCHAR, tag VARCHAR, score DOUBLE);\n"
                            "CREATE SINK items_out PRIMARY KEY (name) AS SELECT name, note FROM items;\n";
    char sql[4300], ini[4300], errp[4300], dlp[4300];
    write_pipeline("rej_c", names_sql, "rej_c", csv_path, NULL, NULL, sql, ini);
    snprintf(errp, sizeof errp, "%s/rej_c.err", tmpdir);
    snprintf(dlp, sizeof dlp, "%s/rej_c.dead.jsonl", tmpdir);
    int rc = run(sql, ini, errp);
    if (rc != 0) {
        char *err = sluice_test_read_file(errp, NULL);
        fail_msg("sluice run exited %d: %s", rc, err ? err : "");
    }
    char *types = query("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                        "'rej_c' AND TABLE_NAME = 'items_out' ORDER BY ORDINAL_POSITION");
    assert_string_equal(types, "name|varchar(768)\nnote|longtext\n");
    free(types);
    char *rows = query("SELECT CHAR_LENGTH(name), LENGTH(note) FROM rej_c.items_out ORDER BY name");
    assert_string_equal(rows, "1|70000\n768|5\n768|5\n");
    free(rows);
    char *dead = sluice_test_read_file(dlp, NULL);
    assert_int_equal(count_lines(dead), 1);
    assert_contains(dead, "column 'name': 769 characters, varchar(768) holds at most 768");
    free(dead);
}

/* GET /metrics with curl. */
static char *curl_metrics(int port) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 http://127.0.0.1:%d/metrics", port);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    assert_int_equal(pclose(f), 0);
    return buf;
}

static void metrics_count_the_rejected_rows(void **state) {
    (void)state;
    create_database("rej_d");
    char create[1024];
    snprintf(create, sizeof create, "USE rej_d; %s", existing_table);
    assert_int_equal(sluice_test_mariadb_exec(&server, create), 0);
    char sql[4300], ini[4300];
    write_pipeline("rej_d", items_sql, "rej_d", write_items_csv(), "metrics = 127.0.0.1:0", NULL, sql, ini);
    sluice_pipeline_options o;
    memset(&o, 0, sizeof o);
    o.sql_path = sql;
    o.config_path = ini;
    o.quiet = 1;
    sluice_pipeline *p = NULL;
    char err[2048] = "";
    if (sluice_pipeline_open(&o, &p, err, sizeof err)) fail_msg("open: %s", err);
    if (sluice_pipeline_run(p, NULL, err, sizeof err)) fail_msg("run: %s", err);
    char *text = curl_metrics(sluice_pipeline_metrics_port(p));
    assert_contains(text, "# TYPE sluice_sink_rejected_rows_total counter\n"
                          "sluice_sink_rejected_rows_total{pipeline=\"rej_d\",sink=\"items_out\"} 4\n");
    free(text);
    sluice_pipeline_stats st;
    sluice_pipeline_stats_get(p, &st);
    assert_int_equal(st.dead_letters, 5);
    sluice_pipeline_close(p);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("mysql_rejects");
    if (sluice_test_mariadb_start(&server, "mysql_rejects_mariadb") != 0) {
        fprintf(stderr, "cannot start a private MariaDB\n");
        sluice_test_mariadb_stop(&server);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_rows_go_to_the_dead_letter_and_the_rest_commits),
        cmocka_unit_test(on_error_fail_stops_the_run_naming_sink_and_reason),
        cmocka_unit_test(created_table_holds_any_text_and_sizes_its_key),
        cmocka_unit_test(metrics_count_the_rejected_rows),
    };
    int rc = cmocka_run_group_tests_name("mysql sink rejects", tests, NULL, NULL);
    sluice_test_mariadb_stop(&server);
    free(tmpdir);
    return rc;
}
