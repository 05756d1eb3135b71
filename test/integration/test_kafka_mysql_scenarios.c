/*
 * The example pipelines of fixtures/pipelines/ with their prod profiles
 * (NAME.prod.ini: Kafka in, MySQL or Kafka out), end to end against the
 * test broker (sluice-mock-broker) and a private MariaDB, compared with the
 * same SQLite oracle outputs (fixtures/expected/NAME/SINK.csv) as the test
 * profiles in test_examples.c.  (registrations, MySQL in, is run by
 * test_mysql_source.c.)
 *
 * One broker and one MariaDB serve the whole file.  The group setup
 * creates the topics and produces the records the test profiles read: JSON
 * lines as they are, CSV rows as JSON objects with the same fields (numbers
 * as JSON numbers); a keyed input goes to several partitions, each key to
 * one.  Then it starts the first run of every scenario at once (most of a
 * run is waiting for its consumer group to form): `sluice run NAME.sql
 * --profile prod` with trigger = available_now, micro-batches of at most
 * 500 records per source, its own MySQL database and a checkpoint directory
 * (the .prod.ini reads KAFKA_BROKERS, MYSQL_*, and SLUICE_CHECKPOINT_DIR).
 * Each scenario's test waits for its run and compares every sink with the
 * oracle (test/support/result_table.h):
 *
 * - a Kafka source under available_now does not finalize open windows: an
 *   APPEND sink holds exactly the expected windows that the final watermark
 *   closed, window_end <= min over the input's partitions of (the largest
 *   event time produced to it) - the WATERMARK delay of the .sql; this test
 *   computes that cutoff from the records it produced;
 * - UPDATE and COMPLETE sinks emit open windows too: the whole expected
 *   table, last row per key (a MySQL table holds one row per key; a Kafka
 *   topic every version, each key's versions in one partition, in order);
 * - stateless sinks: every expected row, in order when input and output
 *   topics have one partition, else as sorted multisets.
 *
 * A Kafka sink's record value is the row as a JSON object in SELECT order
 * and its key the PRIMARY KEY columns as a JSON object (none when keyless):
 * both are checked.  The run must read every produced record once, with no
 * late, malformed or dead-lettered row.
 *
 * Then the same pipeline runs again on the same checkpoint (with a new
 * consumer group: recovery positions the sources from the checkpoint, and a
 * new group joins the test broker in seconds, where rejoining the old one
 * waits out its session timeout): it must read nothing, and leave every
 * table and topic as it was.
 */
#include "sluice_test.h"
#include "kafka_support.h"
#include "mariadb.h"
#include "result_table.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

/* A run that takes longer has hung (a consumer group that never assigns). */
#define RUN_TIMEOUT_MS 120000
#define MAX_PARTITIONS 8
/* Records per source per micro-batch: several epochs per run, so that
 * watermarks advance, windows close and sinks commit between them. */
#define MAX_BATCH_ROWS "500"

/* ---- the inputs --------------------------------------------------------------------------------------------- */

typedef struct input {
    const char *topic;       /* the topic of the .prod.ini sources */
    const char *file;        /* the fixture the .test.ini reads */
    int csv;                 /* a CSV file: each row is produced as a JSON object */
    const char *time_field;  /* the event-time column: a JSON path a.b, or a CSV column */
    const char *time_format; /* its FORMAT in the .sql: strptime, or "epoch_ms"; NULL: ISO-8601 */
    const char *key;         /* the field whose value picks the partition (and is the record key); NULL: none */
    int partitions;
    /* set by the group setup */
    long records;
    int64_t max_ts[MAX_PARTITIONS]; /* per partition: the largest event time produced, in ms */
} input;

static input inputs[] = {
    {.topic = "flights", .file = "data/flights-20k.jsonl", .time_field = "date", .time_format = "%Y/%m/%d %H:%M",
     .key = "origin", .partitions = 4},
    {.topic = "earthquakes", .file = "data/earthquakes.jsonl", .time_field = "properties.time",
     .time_format = "epoch_ms", .partitions = 1},
    {.topic = "orders", .file = "generated/orders-10k.jsonl", .time_field = "ts", .partitions = 1},
    {.topic = "pageviews", .file = "generated/pageviews-10k.jsonl", .time_field = "ts", .key = "user",
     .partitions = 3},
    {.topic = "reviews", .file = "generated/reviews-5k.jsonl", .time_field = "ts", .key = "product",
     .partitions = 2},
    {.topic = "ticks", .file = "generated/ticks-10k.jsonl", .time_field = "ts", .key = "symbol", .partitions = 3},
    {.topic = "sp500", .file = "data/sp500-2000.csv", .csv = 1, .time_field = "date", .time_format = "%Y-%m-%d",
     .partitions = 1},
    {.topic = "stocks", .file = "data/stocks.csv", .csv = 1, .time_field = "date", .time_format = "%b %d %Y",
     .key = "symbol", .partitions = 2},
};
#define NINPUTS (sizeof inputs / sizeof inputs[0])

static input *find_input(const char *topic) {
    for (size_t i = 0; i < NINPUTS; i++)
        if (strcmp(inputs[i].topic, topic) == 0) return &inputs[i];
    return NULL;
}

/* ---- the scenarios ------------------------------------------------------------------------------------------ */

typedef enum sink_kind {
    SINK_STATELESS, /* one row per matching input row */
    SINK_APPEND,    /* windows emitted once, when the watermark passes their end */
    SINK_UPDATE,    /* UPDATE or COMPLETE: the current value of every key */
} sink_kind;

typedef struct scenario_sink {
    const char *sink;      /* the CREATE SINK name: expected/NAME/SINK.csv */
    const char *table;     /* its MySQL table, or NULL */
    const char *topic;     /* its Kafka topic, or NULL */
    int partitions;        /* the Kafka topic's partitions */
    const char *keys[4];   /* the PRIMARY KEY columns; none when stateless */
    sink_kind kind;
    const char *input;     /* the topic of its source */
    int64_t delay_ms;      /* APPEND: the source's WATERMARK delay in the .sql */
} scenario_sink;

typedef struct scenario {
    const char *name;          /* fixtures/pipelines/NAME.sql, NAME.prod.ini */
    const char *sources[2];    /* the CREATE SOURCE names, NULL-terminated */
    const char *topics[2];     /* their topics in NAME.prod.ini */
    scenario_sink sinks[4];    /* .sink NULL ends */
} scenario;

#define MINUTE 60000LL
#define WINDOW_RANK {"window_start", "window_end", "rank"}

static const scenario scenarios[] = {
    {.name = "flights",
     .sources = {"flights"},
     .topics = {"flights"},
     .sinks = {{.sink = "delays_by_origin", .table = "delays_by_origin", .keys = {"window_start", "origin"},
                .kind = SINK_APPEND, .input = "flights", .delay_ms = 5 * MINUTE}}},
    {.name = "flight_alerts",
     .sources = {"flights"},
     .topics = {"flights"},
     .sinks = {{.sink = "delay_alerts", .topic = "alerts.flight_delays", .partitions = 1, .kind = SINK_STATELESS,
                .input = "flights"}}},
    {.name = "flights_top",
     .sources = {"flights"},
     .topics = {"flights"},
     .sinks = {{.sink = "top_origins", .table = "top_origins", .keys = WINDOW_RANK, .kind = SINK_APPEND,
                .input = "flights", .delay_ms = 5 * MINUTE}}},
    {.name = "earthquakes",
     .sources = {"quakes"},
     .topics = {"earthquakes"},
     .sinks = {{.sink = "strong_quakes", .topic = "alerts.strong_quakes", .partitions = 1, .kind = SINK_STATELESS,
                .input = "earthquakes"}}},
    {.name = "quake_regions",
     .sources = {"quakes"},
     .topics = {"earthquakes"},
     .sinks = {{.sink = "quakes_by_region", .table = "quakes_by_region",
                .keys = {"window_start", "window_end", "region"}, .kind = SINK_APPEND, .input = "earthquakes",
                .delay_ms = MINUTE}}},
    {.name = "saga_views",
     .sources = {"pageviews"},
     .topics = {"pageviews"},
     .sinks = {{.sink = "kafka_streams", .table = "kafka_streams", .keys = {"window_start", "window_end", "top_5"},
                .kind = SINK_APPEND, .input = "pageviews", .delay_ms = 5000}}},
    {.name = "shop_orders",
     .sources = {"orders"},
     .topics = {"orders"},
     .sinks = {{.sink = "orders_by_shop", .table = "orders_by_shop", .keys = {"window_start", "shopid", "region"},
                .kind = SINK_UPDATE, .input = "orders"}}},
    {.name = "order_alerts",
     .sources = {"orders"},
     .topics = {"orders"},
     .sinks = {{.sink = "alerts_highvolume", .topic = "alerts.highvolume", .partitions = 1,
                .kind = SINK_STATELESS, .input = "orders"},
               {.sink = "alerts_critical", .topic = "alerts.critical", .partitions = 1, .kind = SINK_STATELESS,
                .input = "orders"}}},
    {.name = "leaderboards",
     .sources = {"reviews", "pageviews"},
     .topics = {"reviews", "pageviews"},
     .sinks = {{.sink = "most_reviewed", .table = "most_reviewed", .keys = WINDOW_RANK, .kind = SINK_APPEND,
                .input = "reviews", .delay_ms = 5000},
               {.sink = "best_rated", .table = "best_rated", .keys = WINDOW_RANK, .kind = SINK_APPEND,
                .input = "reviews", .delay_ms = 5000},
               {.sink = "top_pages", .table = "top_pages", .keys = WINDOW_RANK, .kind = SINK_UPDATE,
                .input = "pageviews"}}},
    {.name = "ticks",
     .sources = {"ticks", "sp500"},
     .topics = {"ticks", "sp500"},
     .sinks = {{.sink = "moving_avg", .topic = "stocks.moving_avg", .partitions = 3,
                .keys = {"window_start", "symbol"}, .kind = SINK_APPEND, .input = "ticks", .delay_ms = 5000},
               {.sink = "moving_avg_live", .topic = "stocks.moving_avg_live", .partitions = 3,
                .keys = {"window_start", "symbol"}, .kind = SINK_UPDATE, .input = "ticks"},
               {.sink = "price_range", .topic = "stocks.price_range", .partitions = 3,
                .keys = {"window_start", "symbol"}, .kind = SINK_UPDATE, .input = "ticks"},
               {.sink = "sp500_moving_avg", .topic = "stocks.sp500_moving_avg", .partitions = 2,
                .keys = {"window_start"}, .kind = SINK_APPEND, .input = "sp500", .delay_ms = 24 * 60 * MINUTE}}},
    {.name = "stocks",
     .sources = {"stocks"},
     .topics = {"stocks"},
     .sinks = {{.sink = "moving_avg", .table = "moving_avg", .keys = {"window_start", "symbol"},
                .kind = SINK_APPEND, .input = "stocks", .delay_ms = 24 * 60 * MINUTE}}},
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

static const scenario *find_scenario(const char *name) {
    for (size_t i = 0; i < NSCENARIOS; i++)
        if (strcmp(scenarios[i].name, name) == 0) return &scenarios[i];
    return NULL;
}

#define FOR_EACH_SINK(sc, s) for (const scenario_sink *s = (sc)->sinks; s < (sc)->sinks + 4 && s->sink; s++)

/* ---- servers ------------------------------------------------------------------------------------------------ */

static sluice_test_mariadb db;
static sluice_test_broker *broker;
static char *tmpdir;

static const char *bootstrap(void) {
    return sluice_test_broker_bootstrap(broker);
}

/* ---- event times -------------------------------------------------------------------------------------------- */

/* "YYYY-MM-DD HH:MM:SS[.mmm]" or ISO-8601 "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (UTC)
 * in ms since the epoch; -1 when it is neither. */
static int64_t parse_datetime(const char *s) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p || (*p != ' ' && *p != 'T')) return -1;
    p = strptime(p + 1, "%H:%M:%S", &tm);
    if (!p) return -1;
    int64_t ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (digits++ < 3) ms = ms * 10 + (*p - '0');
        while (digits++ < 3) ms *= 10;
    }
    if (*p == 'Z') p++;
    if (*p) return -1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* The event time of one input record in ms, from its time column `v`;
 * -1 when it does not read. */
static int64_t event_time(const input *in, const cJSON *v) {
    if (in->time_format && strcmp(in->time_format, "epoch_ms") == 0)
        return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
    if (!cJSON_IsString(v)) return -1;
    if (!in->time_format) return parse_datetime(v->valuestring);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(v->valuestring, in->time_format, &tm);
    if (!end || *end) return -1;
    return (int64_t)timegm(&tm) * 1000;
}

/* The item at a dotted path of object o. */
static const cJSON *json_path(const cJSON *o, const char *path) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(buf, ".", &save); part && o; part = strtok_r(NULL, ".", &save))
        o = cJSON_GetObjectItemCaseSensitive(o, part);
    return o;
}

/* ---- producing the inputs ----------------------------------------------------------------------------------- */

/* A JSON number by RFC 8259's grammar (so that a CSV field can go into a
 * JSON object as it is). */
static int is_json_number(const char *s) {
    const char *p = s;
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9') p++;
    else
        return 0;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    return *p == '\0';
}

/* The records of one input file, each as JSON object text, in file order. */
typedef struct records {
    char **values;
    size_t n, cap;
} records;

static void records_push(records *r, char *value) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->values = realloc(r->values, r->cap * sizeof *r->values);
        assert_non_null(r->values);
    }
    r->values[r->n++] = value;
}

static void records_free(records *r) {
    for (size_t i = 0; i < r->n; i++) free(r->values[i]);
    free(r->values);
}

static int read_records(const input *in, records *out) {
    memset(out, 0, sizeof *out);
    char *text = sluice_test_read_file(sluice_test_fixture(in->file), NULL);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", in->file);
        return -1;
    }
    if (!in->csv) {
        char *save = NULL;
        for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save))
            if (*line) records_push(out, strdup(line));
        free(text);
        return 0;
    }
    sluice_result_table t;
    char err[256];
    int rc = sluice_result_table_parse_csv(text, &t, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", in->file, err);
        return -1;
    }
    for (size_t i = 0; i < t.nrows; i++) {
        cJSON *o = cJSON_CreateObject();
        for (size_t c = 0; c < t.header.nfields && c < t.rows[i].nfields; c++) {
            const char *f = t.rows[i].fields[c];
            cJSON_AddItemToObject(o, t.header.fields[c],
                                  is_json_number(f) ? cJSON_CreateRaw(f) : cJSON_CreateString(f));
        }
        records_push(out, cJSON_PrintUnformatted(o));
        cJSON_Delete(o);
    }
    sluice_result_table_free(&t);
    return 0;
}

/* Produce the records of `in` to its topic: each key to one partition (the
 * keys in order of first appearance dealt round the partitions), and note
 * each partition's largest event time. */
static int produce_input(input *in) {
    records recs;
    if (read_records(in, &recs) != 0) return -1;
    const char **vals[MAX_PARTITIONS], **keys[MAX_PARTITIONS];
    size_t nper[MAX_PARTITIONS] = {0};
    char **seen = calloc(recs.n + 1, sizeof *seen);
    size_t nseen = 0;
    for (int p = 0; p < in->partitions; p++) {
        vals[p] = calloc(recs.n + 1, sizeof *vals[p]);
        keys[p] = calloc(recs.n + 1, sizeof *keys[p]);
        in->max_ts[p] = INT64_MIN;
    }
    int rc = 0;
    for (size_t i = 0; i < recs.n && rc == 0; i++) {
        cJSON *o = cJSON_Parse(recs.values[i]);
        int64_t ts = o ? event_time(in, json_path(o, in->time_field)) : -1;
        if (ts < 0) {
            fprintf(stderr, "%s record %zu: no event time in %s: %.200s\n", in->file, i + 1, in->time_field,
                    recs.values[i]);
            rc = -1;
        }
        const char *key = NULL;
        int p = 0;
        if (rc == 0 && in->key) {
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, in->key);
            key = cJSON_IsString(k) ? k->valuestring : NULL;
            if (!key) {
                fprintf(stderr, "%s record %zu: no string %s\n", in->file, i + 1, in->key);
                rc = -1;
            } else {
                size_t j = 0;
                while (j < nseen && strcmp(seen[j], key) != 0) j++;
                if (j == nseen) seen[nseen++] = strdup(key);
                p = (int)(j % (size_t)in->partitions);
                key = seen[j];
            }
        }
        if (rc == 0) {
            vals[p][nper[p]] = recs.values[i];
            keys[p][nper[p]++] = key;
            if (ts > in->max_ts[p]) in->max_ts[p] = ts;
        }
        cJSON_Delete(o);
    }
    for (int p = 0; p < in->partitions && rc == 0; p++) {
        if (nper[p] == 0) {
            /* a partition without records would hold the watermark back */
            fprintf(stderr, "topic %s: no record for partition %d\n", in->topic, p);
            rc = -1;
        } else {
            rc = sluice_test_kafka_produce(bootstrap(), in->topic, p, vals[p], in->key ? keys[p] : NULL, nper[p]);
        }
    }
    in->records = (long)recs.n;
    for (int p = 0; p < in->partitions; p++) {
        free(vals[p]);
        free(keys[p]);
    }
    for (size_t j = 0; j < nseen; j++) free(seen[j]);
    free(seen);
    records_free(&recs);
    return rc;
}

/* The watermark a Kafka source reaches on `in`: the minimum over its
 * partitions of the largest event time minus the delay. */
static int64_t final_watermark(const input *in, int64_t delay_ms) {
    int64_t wm = INT64_MAX;
    for (int p = 0; p < in->partitions; p++)
        if (in->max_ts[p] - delay_ms < wm) wm = in->max_ts[p] - delay_ms;
    return wm;
}

/* ---- reading the results back ------------------------------------------------------------------------------- */

/* A MySQL table as a result table: header from its columns, rows ordered
 * by `keys`, NULL as "", DATETIME(3) without a zero millisecond part (the
 * text sinks' rendering). */
static void read_mysql_table(const char *database, const char *table, const char *const *keys,
                             sluice_result_table *out) {
    sluice_result_table_init(out);
    MYSQL *c = sluice_test_mariadb_connect(&db, database);
    assert_non_null(c);
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT * FROM `%s`", table);
    for (size_t k = 0; keys && keys[k]; k++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s`%s`", k ? ", " : " ORDER BY ", keys[k]);
    if (mysql_query(c, sql) != 0) {
        char err[512];
        snprintf(err, sizeof err, "%s", mysql_error(c));
        mysql_close(c);
        fail_msg("%s: %s", sql, err);
    }
    MYSQL_RES *res = mysql_store_result(c);
    assert_non_null(res);
    unsigned nf = mysql_num_fields(res);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    const char *names[64];
    assert_true(nf <= 64);
    for (unsigned i = 0; i < nf; i++) names[i] = fields[i].name;
    assert_int_equal(sluice_result_table_set_header(out, names, nf), 0);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        const char *vals[64];
        char dt[64][40];
        for (unsigned i = 0; i < nf; i++) {
            vals[i] = row[i] ? row[i] : "";
            size_t len = row[i] ? strlen(row[i]) : 0;
            if (fields[i].type == MYSQL_TYPE_DATETIME && len > 4 && len < sizeof dt[i] &&
                strcmp(row[i] + len - 4, ".000") == 0) {
                memcpy(dt[i], row[i], len - 4);
                dt[i][len - 4] = '\0';
                vals[i] = dt[i];
            }
        }
        assert_int_equal(sluice_result_table_append(out, vals, nf), 0);
    }
    mysql_free_result(res);
    mysql_close(c);
}

/* The text of a JSON value as a CSV field: strings as they are, numbers
 * printed back (compared as numbers), null as "". */
static void json_text(const cJSON *v, char *buf, size_t size) {
    if (cJSON_IsString(v)) snprintf(buf, size, "%s", v->valuestring);
    else if (cJSON_IsNumber(v)) snprintf(buf, size, "%.17g", v->valuedouble);
    else if (cJSON_IsBool(v)) snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else buf[0] = '\0';
}

/* Every record of a Kafka sink's topic as a result table, in partition then
 * offset order: the header from the first value's names, which every value
 * must have in that order; each record's key must be the value's PRIMARY
 * KEY columns as a JSON object (no key when `keys` is empty).  Returns the
 * record count. */
static long read_kafka_topic(const char *topic, const char *const *keys, sluice_result_table *out) {
    sluice_result_table_init(out);
    sluice_test_kmsg *msgs = NULL;
    long n = sluice_test_kafka_consume_all(bootstrap(), topic, &msgs);
    if (n < 0) fail_msg("cannot read topic %s", topic);
    for (long i = 0; i < n; i++) {
        cJSON *v = cJSON_Parse(msgs[i].value);
        if (!cJSON_IsObject(v))
            fail_msg("topic %s partition %d offset %lld: the value is not a JSON object: %.300s", topic,
                     msgs[i].partition, (long long)msgs[i].offset, msgs[i].value);
        const char *names[64];
        char texts[64][512];
        const char *fields[64];
        size_t nf = 0;
        for (const cJSON *it = v->child; it; it = it->next) {
            assert_true(nf < 64);
            names[nf] = it->string;
            json_text(it, texts[nf], sizeof texts[nf]);
            fields[nf] = texts[nf];
            nf++;
        }
        if (i == 0) assert_int_equal(sluice_result_table_set_header(out, names, nf), 0);
        int same = nf == out->header.nfields;
        for (size_t c = 0; same && c < nf; c++) same = strcmp(names[c], out->header.fields[c]) == 0;
        if (!same)
            fail_msg("topic %s offset %lld: the value's columns differ from the first record's: %.300s", topic,
                     (long long)msgs[i].offset, msgs[i].value);

        /* the record key: the PRIMARY KEY columns of the value */
        if (!keys || !keys[0]) {
            if (msgs[i].key) fail_msg("topic %s offset %lld: a keyless sink wrote key %s", topic,
                                      (long long)msgs[i].offset, msgs[i].key);
        } else {
            cJSON *want = cJSON_CreateObject();
            for (size_t k = 0; keys[k]; k++) {
                const cJSON *item = cJSON_GetObjectItemCaseSensitive(v, keys[k]);
                assert_non_null(item);
                cJSON_AddItemToObject(want, keys[k], cJSON_Duplicate(item, 1));
            }
            cJSON *got = msgs[i].key ? cJSON_Parse(msgs[i].key) : NULL;
            if (!got || !cJSON_Compare(want, got, 1) || cJSON_GetArraySize(got) != cJSON_GetArraySize(want)) {
                char *w = cJSON_PrintUnformatted(want);
                fail_msg("topic %s offset %lld: record key %s, expected %s (the PRIMARY KEY of the value %.300s)",
                         topic, (long long)msgs[i].offset, msgs[i].key ? msgs[i].key : "(none)", w,
                         msgs[i].value);
            }
            cJSON_Delete(want);
            cJSON_Delete(got);
        }
        assert_int_equal(sluice_result_table_append(out, fields, nf), 0);
        cJSON_Delete(v);
    }
    sluice_test_kafka_msgs_free(msgs, n);
    return n;
}

/* ---- running sluice ----------------------------------------------------------------------------------------- */

typedef struct progress {
    long batches, input_rows, late_rows, malformed_rows;
} progress;

/* Sum the counters of the progress lines (one JSON object per micro-batch)
 * in a sluice stderr file. */
static progress read_progress(const char *path) {
    progress pr = {0};
    char *text = sluice_test_read_file(path, NULL);
    if (!text) return pr;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "{\"batch_id\":", 12) != 0) continue;
        cJSON *o = cJSON_Parse(line);
        if (!o) continue;
        pr.batches++;
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(o, "input_rows")) && cJSON_IsNumber(v))
            pr.input_rows += (long)v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(o, "late_rows")) && cJSON_IsNumber(v))
            pr.late_rows += (long)v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(o, "malformed_rows")) && cJSON_IsNumber(v))
            pr.malformed_rows += (long)v->valuedouble;
        cJSON_Delete(o);
    }
    free(text);
    return pr;
}

static void print_tail(const char *label, const char *path) {
    char *text = sluice_test_read_file(path, NULL);
    if (!text) return;
    size_t len = strlen(text);
    print_error("%s (last 4000 bytes):\n%s\n", label, len > 4000 ? text + len - 4000 : text);
    free(text);
}

/* One `sluice run` of a scenario. */
typedef struct run {
    int pid;              /* the running sluice, or 0 */
    int64_t started_ms;
    char err_path[4200];  /* its stderr */
    char dead[4200];      /* its dead-letter file */
} run;

/* Start NAME.sql with the prod profile under available_now, its tables in
 * database NAME (MYSQL_DATABASE); `attempt` 2 is the run on the same
 * checkpoint, with a new consumer group per source.  Returns 0, or -1 when
 * sluice could not be started. */
static int start_run(const scenario *sc, int attempt, run *r) {
    char sql[256], dead_set[4300];
    snprintf(sql, sizeof sql, "fixtures/pipelines/%s.sql", sc->name);
    snprintf(r->dead, sizeof r->dead, "%s/%s.%d.dead.jsonl", tmpdir, sc->name, attempt);
    snprintf(dead_set, sizeof dead_set, "pipeline.dead_letter=%s", r->dead);
    snprintf(r->err_path, sizeof r->err_path, "%s/%s.%d.stderr", tmpdir, sc->name, attempt);
    char groups[2][256];
    const char *argv[24] = {"run", sql, "--profile", "prod", "--set", "pipeline.trigger=available_now",
                            "--set", "pipeline.max_batch_rows=" MAX_BATCH_ROWS, "--set", dead_set};
    size_t na = 10;
    for (size_t i = 0; i < 2 && sc->sources[i] && attempt > 1; i++) {
        snprintf(groups[i], sizeof groups[i], "source %s.group.id=sluice-test.%s.%s.run%d", sc->sources[i],
                 sc->name, sc->sources[i], attempt);
        argv[na++] = "--set";
        argv[na++] = groups[i];
    }
    argv[na] = NULL;
    setenv("MYSQL_DATABASE", sc->name, 1);
    r->started_ms = sluice_test_now_ms();
    r->pid = sluice_test_spawn_cli(argv, NULL, r->err_path);
    return r->pid > 0 ? 0 : -1;
}

/* Wait for run r (at most RUN_TIMEOUT_MS, then it is killed).  Fails the
 * test unless sluice exited 0 having read `want_rows` input rows, none late
 * or malformed, and wrote no dead letter.  Returns the seconds since the
 * run started. */
static double finish_run(const scenario *sc, int attempt, run *r, long want_rows) {
    assert_true(r->pid > 0);
    int rc = sluice_test_wait_cli(r->pid, RUN_TIMEOUT_MS);
    r->pid = 0;
    double seconds = (double)(sluice_test_now_ms() - r->started_ms) / 1000.0;
    if (rc != 0) {
        print_tail("stderr", r->err_path);
        fail_msg("%s run %d: sluice run fixtures/pipelines/%s.sql --profile prod: exit status %d%s", sc->name,
                 attempt, sc->name, rc, rc == -2 ? " (killed: no exit within the timeout)" : "");
    }
    progress pr = read_progress(r->err_path);
    if (pr.input_rows != want_rows || pr.late_rows || pr.malformed_rows) {
        print_tail("stderr", r->err_path);
        fail_msg("%s run %d: read %ld input rows (expected %ld), %ld late, %ld malformed, in %ld micro-batches",
                 sc->name, attempt, pr.input_rows, want_rows, pr.late_rows, pr.malformed_rows, pr.batches);
    }
    size_t dead_len = 0;
    char *dead_text = sluice_test_read_file(r->dead, &dead_len);
    if (dead_text && dead_len) fail_msg("%s run %d: dead letters: %.2000s", sc->name, attempt, dead_text);
    free(dead_text);
    return seconds;
}

/* The first run of every scenario, started together by the group setup:
 * most of a run is waiting for its consumer group. */
static run first_runs[NSCENARIOS];

/* ---- one scenario ------------------------------------------------------------------------------------------- */

typedef struct cutoff {
    long column;
    int64_t max_end; /* ms */
} cutoff;

static int window_closed(const sluice_result_row *row, void *arg) {
    const cutoff *c = arg;
    int64_t end = parse_datetime(row->fields[c->column]);
    assert_true(end >= 0);
    return end <= c->max_end;
}

static void format_ms(int64_t ms, char *buf, size_t size) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    if (ms % 1000 && n + 5 <= size) snprintf(buf + n, size - n, ".%03d", (int)(ms % 1000));
}

/* The result of sink s now: its MySQL table or its Kafka topic. */
static void read_result(const scenario *sc, const scenario_sink *s, sluice_result_table *out) {
    if (s->table) read_mysql_table(sc->name, s->table, s->keys, out);
    else read_kafka_topic(s->topic, s->keys, out);
}

static void test_scenario(void **state) {
    const scenario *sc = find_scenario(*state);
    assert_non_null(sc);

    long want_rows = 0;
    for (size_t i = 0; i < 2 && sc->sources[i]; i++) {
        const input *in = find_input(sc->topics[i]);
        assert_non_null(in);
        want_rows += in->records;
    }

    double first = finish_run(sc, 1, &first_runs[sc - scenarios], want_rows);
    print_message("%s: first run (started at setup) done after %.1f s, %ld input rows\n", sc->name, first,
                  want_rows);

    sluice_result_table results[4];
    size_t nsinks = 0;
    FOR_EACH_SINK(sc, s) {
        char rel[512], err[4608];
        snprintf(rel, sizeof rel, "expected/%s/%s.csv", sc->name, s->sink);
        sluice_result_table exp;
        if (sluice_result_table_load_csv(sluice_test_fixture(rel), &exp, err, sizeof err) != 0) fail_msg("%s", err);
        size_t all = exp.nrows;
        char what[512];
        if (s->kind == SINK_APPEND) {
            const input *in = find_input(s->input);
            assert_non_null(in);
            cutoff c = {.column = sluice_result_table_column(&exp, "window_end"),
                        .max_end = final_watermark(in, s->delay_ms)};
            assert_true(c.column >= 0);
            size_t kept = sluice_result_table_filter(&exp, window_closed, &c);
            char wm[64];
            format_ms(c.max_end, wm, sizeof wm);
            if (kept == 0)
                fail_msg("%s: no expected window closes by the final watermark %s: nothing to compare", s->sink, wm);
            snprintf(what, sizeof what, "%s.%s (%s %s, APPEND: the %zu of %zu expected windows with window_end <= "
                     "the final watermark %s)", sc->name, s->sink, s->table ? "table" : "topic",
                     s->table ? s->table : s->topic, kept, all, wm);
        } else {
            snprintf(what, sizeof what, "%s.%s (%s %s, %s)", sc->name, s->sink, s->table ? "table" : "topic",
                     s->table ? s->table : s->topic,
                     s->kind == SINK_UPDATE ? "every expected key" : "every expected row");
        }
        sluice_result_table *act = &results[nsinks++];
        read_result(sc, s, act);
        const input *in = find_input(s->input);
        const sluice_result_rules rules = {
            .keys = s->keys,
            .unique = s->kind == SINK_APPEND,
            .unordered = s->kind == SINK_STATELESS && (s->partitions > 1 || (in && in->partitions > 1)),
        };
        /* an empty topic has no header: take the expected one */
        if (act->header.nfields == 0 && act->nrows == 0)
            assert_int_equal(sluice_result_table_set_header(act, (const char *const *)exp.header.fields,
                                                            exp.header.nfields), 0);
        sluice_result_assert_equal(what, &exp, act, &rules);
        print_message("  %s: %zu rows equal the oracle (%zu expected in all)%s\n", s->sink, exp.nrows, all,
                      s->table ? "" : rules.unordered ? ", as multisets" : "");
        sluice_result_table_free(&exp);
    }

    /* the same checkpoint again: nothing to read, nothing re-emitted */
    run again;
    assert_int_equal(start_run(sc, 2, &again), 0);
    double second = finish_run(sc, 2, &again, 0);
    print_message("%s: second run %.1f s\n", sc->name, second);
    size_t k = 0;
    FOR_EACH_SINK(sc, s) {
        sluice_result_table now;
        read_result(sc, s, &now);
        if (now.header.nfields == 0 && now.nrows == 0)
            assert_int_equal(sluice_result_table_set_header(&now, (const char *const *)results[k].header.fields,
                                                            results[k].header.nfields), 0);
        char what[512];
        snprintf(what, sizeof what, "%s.%s after a second run on the same checkpoint", sc->name, s->sink);
        if (now.nrows != results[k].nrows)
            fail_msg("%s: %zu %s, %zu before", what, now.nrows, s->table ? "rows" : "records", results[k].nrows);
        const sluice_result_rules same = {.keys = NULL, .unordered = 0};
        sluice_result_assert_equal(what, &results[k], &now, &same);
        sluice_result_table_free(&now);
        sluice_result_table_free(&results[k]);
        k++;
    }
}

/* ---- the servers and the inputs for every scenario ------------------------------------------------------------ */

static int setup(void **state) {
    (void)state;
    tmpdir = sluice_test_mkdtemp("kafka_mysql_scenarios");
    if (!tmpdir) return -1;
    int64_t t0 = sluice_test_now_ms();
    if (sluice_test_mariadb_start(&db, "scenarios_mariadb") != 0) return -1;

    /* every input and every Kafka sink topic, with its partitions */
    char names[NINPUTS + 4 * NSCENARIOS][64];
    const char *topics[NINPUTS + 4 * NSCENARIOS + 1];
    size_t nt = 0;
    for (size_t i = 0; i < NINPUTS; i++) {
        snprintf(names[nt], sizeof names[nt], "%s:%d", inputs[i].topic, inputs[i].partitions);
        topics[nt] = names[nt];
        nt++;
    }
    for (size_t i = 0; i < NSCENARIOS; i++)
        FOR_EACH_SINK(&scenarios[i], s) {
            if (!s->topic) continue;
            snprintf(names[nt], sizeof names[nt], "%s:%d", s->topic, s->partitions);
            topics[nt] = names[nt];
            nt++;
        }
    topics[nt] = NULL;
    if (!(broker = sluice_test_broker_start(1, topics))) return -1;
    for (size_t i = 0; i < NINPUTS; i++)
        if (produce_input(&inputs[i]) != 0) return -1;

    char port[16];
    snprintf(port, sizeof port, "%d", db.port);
    char *checkpoints = malloc(strlen(tmpdir) + 16);
    sprintf(checkpoints, "%s/checkpoints", tmpdir);
    setenv("KAFKA_BROKERS", bootstrap(), 1);
    setenv("MYSQL_HOST", "127.0.0.1", 1);
    setenv("MYSQL_PORT", port, 1);
    setenv("MYSQL_USER", SLUICE_TEST_MARIADB_USER, 1);
    setenv("MYSQL_PASSWORD", SLUICE_TEST_MARIADB_PASSWORD, 1);
    setenv("SLUICE_CHECKPOINT_DIR", checkpoints, 1);
    free(checkpoints);
    print_message("setup: MariaDB, broker and %zu input topics in %.1f s\n", NINPUTS,
                  (double)(sluice_test_now_ms() - t0) / 1000.0);

    for (size_t i = 0; i < NSCENARIOS; i++) {
        char sql[512];
        snprintf(sql, sizeof sql, "CREATE DATABASE `%s` CHARACTER SET utf8mb4", scenarios[i].name);
        if (sluice_test_mariadb_exec(&db, sql) != 0 || start_run(&scenarios[i], 1, &first_runs[i]) != 0) return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (size_t i = 0; i < NSCENARIOS; i++)
        if (first_runs[i].pid > 0) sluice_test_wait_cli(first_runs[i].pid, 0); /* a test that failed early */
    sluice_test_broker_stop(broker);
    sluice_test_mariadb_stop(&db);
    free(tmpdir);
    return 0;
}

#define SCENARIO(pipeline) \
    {.name = "scenario(" pipeline ")", .test_func = test_scenario, .initial_state = (void *)pipeline}

int main(void) {
    const struct CMUnitTest tests[] = {
        SCENARIO("flights"),    SCENARIO("flight_alerts"), SCENARIO("flights_top"),  SCENARIO("earthquakes"),
        SCENARIO("quake_regions"), SCENARIO("saga_views"), SCENARIO("shop_orders"),  SCENARIO("order_alerts"),
        SCENARIO("leaderboards"), SCENARIO("ticks"),       SCENARIO("stocks"),
    };
    return cmocka_run_group_tests_name("prod profiles against Kafka and MySQL", tests, setup, teardown);
}
