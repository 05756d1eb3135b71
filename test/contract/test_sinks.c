/*
 * Contract suite for sinks: every sink connector passes the same
 * properties (module.h's sink contract).  Each case knows how to read back
 * what its sink wrote: the memory sink through its C API, file sinks by
 * parsing the file, the console sink by capturing stdout.
 */
#include "sluice_test.h"
#include "conn_support.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "format/format.h"
#include "registry.h"
#ifdef SLUICE_WITH_MYSQL
#include "mariadb.h"
#endif
#ifdef SLUICE_WITH_KAFKA
#include "kafka_support.h"
#endif
#ifdef SLUICE_WITH_REDIS
#include "redis_server.h"
#endif

static char *tmpdir;

static const sluice_column columns[] = {
    {.name = "k", .type = SLUICE_TYPE_BIGINT},
    {.name = "name", .type = SLUICE_TYPE_VARCHAR},
    {.name = "score", .type = SLUICE_TYPE_DOUBLE},
};
static const size_t pk[] = {0};
static const sluice_schema schema = {.ncolumns = 3, .columns = columns, .npk = 1, .pk = pk};

#define MAXROWS 32

/* What a sink holds, as text rows "k|name|score" (NULL rendered empty). */
typedef struct rowset {
    size_t n;
    char rows[MAXROWS][256];
} rowset;

typedef struct bad_option {
    const char *key;
    const char *value;
} bad_option;

struct sink_test;

typedef struct sink_case {
    const char *name;
    const char *connector;
    const char *inner;           /* fault.inner, for the wrapper */
    const char *format;          /* file sinks: format option */
    const char *ext;             /* file sinks: path extension, or NULL: no path */
    int upsert;                  /* keeps the last row per key, in key order */
    int captures_stdout;
    void (*read_back)(struct sink_test *t, rowset *out);
    void (*prepare)(struct sink_test *t);   /* per test, after the options are set; may be NULL */
    bad_option bad[8];
} sink_case;

typedef struct sink_test {
    const sink_case *sc;
    char path[4096];
    char capture[4096];
    sluice_test_cfg c;
    sluice_sink *sink;
    int saved_stdout;
    char table[64];              /* mysql: this test's table */
    char topic[64];              /* kafka: this test's topic */
    char prefix[64];             /* redis: this test's key prefix */
} sink_test;

/* ---------------- read-back per kind ---------------- */

static void add_row(rowset *out, const char *text) {
    assert_true(out->n < MAXROWS);
    snprintf(out->rows[out->n++], sizeof out->rows[0], "%s", text);
}

static void read_memory(sink_test *t, rowset *out) {
    size_t n = sluice_memory_sink_nrows(t->sink);
    for (size_t i = 0; i < n; i++) {
        const sluice_value *row = sluice_memory_sink_row(t->sink, i);
        assert_non_null(row);
        char line[256] = "", cell[128];
        for (size_t j = 0; j < schema.ncolumns; j++) {
            sluice_value_render(&row[j], cell, sizeof cell);
            if (j) strcat(line, "|");
            strcat(line, cell);
        }
        add_row(out, line);
    }
    assert_null(sluice_memory_sink_row(t->sink, n));
}

static void read_csv(sink_test *t, rowset *out) {
    char *text = sluice_test_read_file(t->path, NULL);
    assert_non_null(text);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    assert_non_null(line);
    assert_string_equal(line, "k,name,score");
    while ((line = strtok_r(NULL, "\n", &save))) {
        for (char *p = line; *p; p++)
            if (*p == ',') *p = '|';
        add_row(out, line);
    }
    free(text);
}

static void add_json_row(rowset *out, const char *line) {
    {
        cJSON *obj = cJSON_Parse(line);
        assert_non_null(obj);
        char row[256] = "", cell[128];
        for (size_t j = 0; j < schema.ncolumns; j++) {
            cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, columns[j].name);
            assert_non_null(it);
            sluice_value v = sluice_value_null();
            if (cJSON_IsString(it)) v = sluice_value_varchar(it->valuestring, strlen(it->valuestring));
            else if (cJSON_IsNumber(it) && columns[j].type == SLUICE_TYPE_BIGINT)
                v = sluice_value_bigint((int64_t)it->valuedouble);
            else if (cJSON_IsNumber(it)) v = sluice_value_double(it->valuedouble);
            else assert_true(cJSON_IsNull(it));
            sluice_value_render(&v, cell, sizeof cell);
            if (j) strcat(row, "|");
            strcat(row, cell);
        }
        add_row(out, row);
        cJSON_Delete(obj);
    }
}

static void read_json(sink_test *t, rowset *out) {
    char *text = sluice_test_read_file(t->path, NULL);
    assert_non_null(text);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        add_json_row(out, line);
    free(text);
}

#ifdef SLUICE_WITH_KAFKA
static sluice_test_broker *broker;

/* The topic's messages in order (one partition): JSON values, and keys
 * that are the PRIMARY KEY as JSON. */
static void read_kafka(sink_test *t, rowset *out) {
    const char *topic = sluice_module_config_get(&t->c.cfg, "topic");
    sluice_test_kmsg *msgs = NULL;
    long n = sluice_test_kafka_consume_all(sluice_test_broker_bootstrap(broker), topic, &msgs);
    assert_true(n >= 0);
    for (long i = 0; i < n; i++) {
        add_json_row(out, msgs[i].value);
        assert_non_null(msgs[i].key);
        char want[64];
        snprintf(want, sizeof want, "{\"k\":%.*s}", (int)strcspn(out->rows[out->n - 1], "|"),
                 out->rows[out->n - 1]);
        assert_string_equal(msgs[i].key, want);
    }
    sluice_test_kafka_msgs_free(msgs, n);
}
#endif

/* Parse the console's tables: rows between the header rule and "(N rows)". */
static void read_console(sink_test *t, rowset *out) {
    char *text = sluice_test_read_file(t->capture, NULL);
    assert_non_null(text);
    int in_rows = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '(') { in_rows = 0; continue; }
        if (!in_rows) {
            if (line[0] == '-' && strchr(line, '+')) in_rows = 1;
            continue;
        }
        char row[256] = "";
        char *cs = NULL;
        int j = 0;
        for (char *cell = strtok_r(line, "|", &cs); cell; cell = strtok_r(NULL, "|", &cs), j++) {
            while (*cell == ' ') cell++;
            size_t n = strlen(cell);
            while (n && cell[n - 1] == ' ') cell[--n] = '\0';
            if (j) strcat(row, "|");
            strcat(row, cell);
        }
        for (; j < 3; j++) strcat(row, "|");  /* a trailing empty cell */
        add_row(out, row);
    }
    free(text);
}

#ifdef SLUICE_WITH_MYSQL
static sluice_test_mariadb server;
static char server_port[16];
static const char *mysql_shared[] = {"host", "127.0.0.1", "port", server_port, "user", SLUICE_TEST_MARIADB_USER,
                                     "password", SLUICE_TEST_MARIADB_PASSWORD, "database",
                                     SLUICE_TEST_MARIADB_DATABASE, NULL};

/* A fresh table, and a pipeline name of its own so that no epoch is
 * recorded yet. */
static void prepare_mysql(sink_test *t) {
    static int seq;
    snprintf(t->table, sizeof t->table, "contract_%d", ++seq);
    sluice_test_cfg_set(&t->c, "table", t->table);
    t->c.cfg.shared = mysql_shared;
    t->c.cfg.pipeline = t->table;
}

static void read_mysql(sink_test *t, rowset *out) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT k, name, score FROM `%s` ORDER BY k", t->table);
    char *text = sluice_test_mariadb_rows(&server, sql);
    assert_non_null(text);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[3] = {NULL, NULL, NULL}, *fs = NULL;
        f[0] = strtok_r(line, "|", &fs);
        f[1] = strtok_r(NULL, "|", &fs);
        f[2] = strtok_r(NULL, "|", &fs);
        assert_non_null(f[2]);
        sluice_value v = strcmp(f[2], "NULL") == 0 ? sluice_value_null() : sluice_value_double(strtod(f[2], NULL));
        char cell[64], row[256];
        sluice_value_render(&v, cell, sizeof cell);
        snprintf(row, sizeof row, "%s|%s|%s", f[0], f[1], cell);
        add_row(out, row);
    }
    free(text);
}
#endif

#ifdef SLUICE_WITH_REDIS
static sluice_test_redis redis;
static char redis_port[16];
static const char *redis_shared[] = {"host", "127.0.0.1", "port", redis_port, "password",
                                     SLUICE_TEST_REDIS_PASSWORD, NULL};

/* Keys of their own, and a pipeline name of its own so that no epoch is
 * recorded yet. */
static void prepare_redis(sink_test *t) {
    static int seq;
    snprintf(t->prefix, sizeof t->prefix, "contract_%d:", ++seq);
    sluice_test_cfg_set(&t->c, "key_prefix", t->prefix);
    t->c.cfg.shared = redis_shared;
    t->c.cfg.pipeline = t->prefix;
}

static int by_key(const void *a, const void *b) {
    long long x = strtoll(a, NULL, 10), y = strtoll(b, NULL, 10);
    return x < y ? -1 : x > y;
}

/* One hash per row, `prefix` + k, fields name and score (absent when NULL). */
static void read_redis(sink_test *t, rowset *out) {
    char pattern[80];
    snprintf(pattern, sizeof pattern, "%s*", t->prefix);
    const char *keys[] = {"KEYS", pattern, NULL};
    redisReply *r = sluice_test_redis_cmd(&redis, keys);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < r->elements; i++) {
        const char *get[] = {"HMGET", r->element[i]->str, "name", "score", NULL};
        redisReply *h = sluice_test_redis_cmd(&redis, get);
        assert_non_null(h);
        assert_int_equal(h->elements, 2);
        char row[256];
        snprintf(row, sizeof row, "%s|%s|%s", r->element[i]->str + strlen(t->prefix),
                 h->element[0]->str ? h->element[0]->str : "", h->element[1]->str ? h->element[1]->str : "");
        add_row(out, row);
        freeReplyObject(h);
    }
    freeReplyObject(r);
    qsort(out->rows, out->n, sizeof out->rows[0], by_key);
}
#endif

static const sink_case cases[] = {
    {.name = "memory", .connector = "memory", .upsert = 1, .read_back = read_memory,
     .bad = {{"bogus", "1"}}},
    {.name = "console", .connector = "console", .captures_stdout = 1, .read_back = read_console,
     .bad = {{"rows", "0"}, {"rows", "abc"}, {"bogus", "1"}}},
    {.name = "file-csv", .connector = "file", .format = "csv", .ext = "csv", .read_back = read_csv,
     .bad = {{"format", "xml"}, {"csv.delimiter", "ab"}, {"bogus", "1"}}},
    {.name = "file-json", .connector = "file", .format = "json", .ext = "jsonl",
     .read_back = read_json, .bad = {{"format", "parquet"}, {"bogus", "1"}}},
    {.name = "file-csv-by-extension", .connector = "file", .ext = "csv", .read_back = read_csv},
    {.name = "fault(memory)", .connector = "fault", .inner = "memory", .upsert = 1,
     .read_back = read_memory,
     .bad = {{"fault.method", "poll"}, {"fault.nth", "-3"}, {"fault.action", "x"},
             {"fault.inner", "nosuch"}, {"bogus", "1"}}},
#ifdef SLUICE_WITH_MYSQL
    {.name = "mysql", .connector = "mysql", .upsert = 1, .read_back = read_mysql, .prepare = prepare_mysql,
     .bad = {{"create_table", "maybe"}, {"varchar_length", "0"}, {"batch_bytes", "lots"}, {"table", ""},
             {"retry_timeout", "soon"}, {"bogus", "1"}}},
#endif
#ifdef SLUICE_WITH_REDIS
    {.name = "redis", .connector = "redis", .upsert = 1, .read_back = read_redis, .prepare = prepare_redis,
     .bad = {{"data_type", "list"}, {"key", "k:{nosuch}"}, {"ttl", "soon"}, {"retry_timeout", "soon"},
             {"member", "name"}, {"bogus", "1"}}},
#endif
#ifdef SLUICE_WITH_KAFKA
    {.name = "kafka", .connector = "kafka", .read_back = read_kafka,
     .bad = {{"format", "csv"}, {"kafka.no.such.property", "1"}, {"kafka.acks", "1"},
             {"kafka.enable.idempotence", "false"}, {"bogus", "1"}}},
#endif
};
#define NCASES (sizeof cases / sizeof cases[0])

/* ---------------- harness ---------------- */

static int setup(void **state) {
    sink_test *t = *state;
    static int seq;
    seq++;
    sluice_test_cfg_init(&t->c, "delays_by_origin", &schema);
#ifdef SLUICE_WITH_KAFKA
    if (strcmp(t->sc->connector, "kafka") == 0) {
        snprintf(t->topic, sizeof t->topic, "contract-sink-%d", seq);
        assert_int_equal(sluice_test_broker_cmd(broker, "topic %s:1", t->topic), 0);
        sluice_test_cfg_set(&t->c, "topic", t->topic);
        sluice_test_cfg_set(&t->c, "kafka.bootstrap.servers", sluice_test_broker_bootstrap(broker));
    }
#endif
    if (t->sc->inner) sluice_test_cfg_set(&t->c, "fault.inner", t->sc->inner);
    if (t->sc->ext) {
        snprintf(t->path, sizeof t->path, "%s/out-%d.%s", tmpdir, seq, t->sc->ext);
        sluice_test_cfg_set(&t->c, "path", t->path);
    }
    if (t->sc->format) sluice_test_cfg_set(&t->c, "format", t->sc->format);
    snprintf(t->capture, sizeof t->capture, "%s/stdout-%d.txt", tmpdir, seq);
    if (t->sc->prepare) t->sc->prepare(t);
    t->sink = NULL;
    t->saved_stdout = -1;
    return 0;
}

static int teardown(void **state) {
    sink_test *t = *state;
    if (t->saved_stdout >= 0) sluice_test_capture_end(t->saved_stdout);
    if (t->sink) t->sink->ops->close(t->sink);
    t->sink = NULL;
    remove(t->path);
    remove(t->capture);
    return 0;
}

static void open_sink(sink_test *t) {
    const sluice_sink_ops *ops;
    char err[512] = "";
    assert_int_equal(sluice_registry_sink(t->sc->connector, &ops, err, sizeof err), SLUICE_OK);
    if (t->sc->captures_stdout) t->saved_stdout = sluice_test_capture_begin(t->capture);
    sluice_err_t rc = ops->open(&t->c.cfg, &t->sink, err, sizeof err);
    if (rc) fail_msg("%s: open failed: %s", t->sc->name, err);
}

static void write_epoch(sink_test *t, int64_t epoch, const sluice_row_batch *b) {
    char err[512] = "";
    sluice_err_t rc = t->sink->ops->write(t->sink, epoch, b, err, sizeof err);
    if (rc) fail_msg("%s: write failed: %s", t->sc->name, err);
    if (t->sink->ops->commit) {
        rc = t->sink->ops->commit(t->sink, epoch, err, sizeof err);
        if (rc) fail_msg("%s: commit failed: %s", t->sc->name, err);
    }
}

static void read_back(sink_test *t, rowset *out) {
    if (t->saved_stdout >= 0) {
        sluice_test_capture_end(t->saved_stdout);
        t->saved_stdout = -1;
    }
    memset(out, 0, sizeof *out);
    t->sc->read_back(t, out);
}

static void append_kind(sluice_row_batch *b, sluice_row_kind kind, int64_t k, const char *name, double score) {
    sluice_value *row = sluice_row_batch_append_kind(b, kind);
    assert_non_null(row);
    row[0] = sluice_value_bigint(k);
    row[1] = sluice_value_varchar(name, strlen(name));
    row[2] = sluice_value_double(score);
}

static void append(sluice_row_batch *b, int64_t k, const char *name, double score, int null_score) {
    sluice_value *row = sluice_row_batch_append(b);
    assert_non_null(row);
    row[0] = sluice_value_bigint(k);
    row[1] = sluice_value_varchar(name, strlen(name));
    row[2] = null_score ? sluice_value_null() : sluice_value_double(score);
}

/* ---------------- properties ---------------- */

static void open_close_round_trip(void **state) {
    sink_test *t = *state;
    open_sink(t);
    assert_int_equal(t->sink->ops->version, SLUICE_MODULE_VERSION);
    assert_non_null(t->sink->ops->name);
    /* options may be NULL: such a module checks its own keys in open() */
    assert_non_null(t->sink->ops->write);
    t->sink->ops->close(t->sink);
    t->sink = NULL;
    const sluice_sink_ops *ops;
    assert_int_equal(sluice_registry_sink(t->sc->connector, &ops, NULL, 0), SLUICE_OK);
    ops->close(NULL);
}

static void bad_options_rejected(void **state) {
    sink_test *t = *state;
    const sluice_sink_ops *ops;
    assert_int_equal(sluice_registry_sink(t->sc->connector, &ops, NULL, 0), SLUICE_OK);
    for (size_t b = 0; b < 8 && t->sc->bad[b].key; b++) {
        sluice_test_cfg c = t->c;
        c.cfg.options = c.options;
        sluice_test_cfg_set(&c, t->sc->bad[b].key, t->sc->bad[b].value);
        char err[512] = "";
        sluice_sink *s = NULL;
        sluice_err_t rc = ops->open(&c.cfg, &s, err, sizeof err);
        if (rc != SLUICE_ERR_CONFIG)
            fail_msg("%s: %s=%s: expected a config error, got %d (%s)", t->sc->name,
                     t->sc->bad[b].key, t->sc->bad[b].value, rc, err);
        assert_null(s);
        if (!strstr(err, t->sc->bad[b].key) || !strstr(err, "delays_by_origin"))
            fail_msg("%s: message does not name the key or instance: %s", t->sc->name, err);
    }
}

static void empty_batch_accepted(void **state) {
    sink_test *t = *state;
    open_sink(t);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    write_epoch(t, 0, &b);
    write_epoch(t, 1, &b);
    rowset got;
    read_back(t, &got);
    assert_int_equal(got.n, 0);
    sluice_row_batch_free(&b);
}

static void rows_of_all_epochs_visible(void **state) {
    sink_test *t = *state;
    open_sink(t);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    append(&b, 2, "beta", 2.25, 0);
    append(&b, 1, "alpha", 1.5, 0);
    write_epoch(t, 1, &b);
    sluice_row_batch_clear(&b);
    write_epoch(t, 2, &b);
    append(&b, 1, "gamma", 3.5, 0);
    append(&b, 3, "delta", 0, 1);
    write_epoch(t, 3, &b);
    rowset got;
    read_back(t, &got);
    if (t->sc->upsert) {
        assert_int_equal(got.n, 3);
        assert_string_equal(got.rows[0], "1|gamma|3.5");
        assert_string_equal(got.rows[1], "2|beta|2.25");
        assert_string_equal(got.rows[2], "3|delta|");
        if (t->sc->read_back == read_memory) assert_int_equal(sluice_memory_sink_rows_written(t->sink), 4);
    } else {
        assert_int_equal(got.n, 4);
        assert_string_equal(got.rows[0], "2|beta|2.25");
        assert_string_equal(got.rows[1], "1|alpha|1.5");
        assert_string_equal(got.rows[2], "1|gamma|3.5");
        assert_string_equal(got.rows[3], "3|delta|");
    }
    sluice_row_batch_free(&b);
}

static void varchar_bytes_copied(void **state) {
    sink_test *t = *state;
    open_sink(t);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    char name1[] = "origin-DTW", name2[] = "origin-ORD";
    append(&b, 7, name1, 1, 0);
    append(&b, 8, name2, 2, 0);
    write_epoch(t, 1, &b);
    memset(name1, 'X', sizeof name1 - 1);
    memset(name2, 'Y', sizeof name2 - 1);
    sluice_row_batch_clear(&b);
    write_epoch(t, 2, &b);
    rowset got;
    read_back(t, &got);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.rows[0], "7|origin-DTW|1");
    assert_string_equal(got.rows[1], "8|origin-ORD|2");
    sluice_row_batch_free(&b);
}

static void commit_every_epoch(void **state) {
    sink_test *t = *state;
    open_sink(t);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    for (int64_t e = 0; e < 5; e++) {
        sluice_row_batch_clear(&b);
        append(&b, e, "x", (double)e, 0);
        write_epoch(t, e, &b);
        if (t->sink->ops->commit)  /* a second commit of the same epoch is harmless */
            assert_int_equal(t->sink->ops->commit(t->sink, e, NULL, 0), SLUICE_OK);
    }
    rowset got;
    read_back(t, &got);
    assert_int_equal(got.n, 5);
    sluice_row_batch_free(&b);
}

/* A keeping sink applies a changelog (module.h): a delete removes the key,
 * an update-before changes nothing the update-after does not replace, a
 * delete of a key not there is harmless.  The sinks that write every row
 * (file, console, Kafka) show the kinds their own way: their own tests. */
static void changelog_applied(void **state) {
    sink_test *t = *state;
    if (!t->sc->upsert) skip();
    open_sink(t);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    append_kind(&b, SLUICE_ROW_INSERT, 1, "alpha", 1);
    append_kind(&b, SLUICE_ROW_INSERT, 2, "beta", 2);
    append_kind(&b, SLUICE_ROW_UPDATE_AFTER, 3, "gamma", 3);
    write_epoch(t, 1, &b);
    sluice_row_batch_clear(&b);
    append_kind(&b, SLUICE_ROW_DELETE, 1, "alpha", 1);
    append_kind(&b, SLUICE_ROW_UPDATE_BEFORE, 2, "beta", 2);
    append_kind(&b, SLUICE_ROW_UPDATE_AFTER, 2, "beta2", 2.5);
    append_kind(&b, SLUICE_ROW_DELETE, 9, "nobody", 0);
    write_epoch(t, 2, &b);
    rowset got;
    read_back(t, &got);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.rows[0], "2|beta2|2.5");
    assert_string_equal(got.rows[1], "3|gamma|3");
    sluice_row_batch_free(&b);
}

static const struct {
    const char *name;
    CMUnitTestFunction fn;
} properties[] = {
    {"changelog applied", changelog_applied},
    {"open/close round trip", open_close_round_trip},
    {"invalid options rejected", bad_options_rejected},
    {"empty batch accepted", empty_batch_accepted},
    {"rows of all epochs visible", rows_of_all_epochs_visible},
    {"VARCHAR bytes copied", varchar_bytes_copied},
    {"commit every epoch", commit_every_epoch},
};
#define NPROPS (sizeof properties / sizeof properties[0])

int main(void) {
    tmpdir = sluice_test_mkdtemp("contract_sinks");
#ifdef SLUICE_WITH_KAFKA
    broker = sluice_test_broker_start(1, NULL);
    if (!broker) return 1;
#endif
    static sink_test states[NCASES * NPROPS];
    static char names[NCASES * NPROPS][160];
    struct CMUnitTest tests[NCASES * NPROPS];
    size_t n = 0;
    for (size_t c = 0; c < NCASES; c++) {
        for (size_t p = 0; p < NPROPS; p++, n++) {
            snprintf(names[n], sizeof names[n], "%s: %s", cases[c].name, properties[p].name);
            states[n].sc = &cases[c];
            tests[n] = (struct CMUnitTest){.name = names[n], .test_func = properties[p].fn,
                                           .setup_func = setup, .teardown_func = teardown,
                                           .initial_state = &states[n]};
        }
    }
#ifdef SLUICE_WITH_MYSQL
    if (sluice_test_mariadb_start(&server, "contract_sinks_mariadb") != 0) {
        fprintf(stderr, "cannot start a private MariaDB for the mysql sink case\n");
        sluice_test_mariadb_stop(&server);
        return 1;
    }
    snprintf(server_port, sizeof server_port, "%d", server.port);
#endif
#ifdef SLUICE_WITH_REDIS
    if (sluice_test_redis_start(&redis, "contract_sinks_redis") != 0) {
        fprintf(stderr, "cannot start a private redis-server for the redis sink case\n");
        sluice_test_redis_stop(&redis);
        return 1;
    }
    snprintf(redis_port, sizeof redis_port, "%d", redis.port);
#endif
    int rc = _cmocka_run_group_tests("sinks", tests, n, NULL, NULL);
#ifdef SLUICE_WITH_MYSQL
    sluice_test_mariadb_stop(&server);
#endif
#ifdef SLUICE_WITH_REDIS
    sluice_test_redis_stop(&redis);
#endif
#ifdef SLUICE_WITH_KAFKA
    sluice_test_broker_stop(broker);
#endif
    free(tmpdir);
    return rc;
}
