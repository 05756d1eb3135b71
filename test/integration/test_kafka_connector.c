/*
 * The Kafka connectors one by one against sluice-mock-broker: the record
 * envelope (key, topic, partition, offset, timestamp) and METADATA FROM
 * columns, max_offsets_per_trigger, offset commits under the default
 * group.id, the [kafka] section and kafka.* overrides (librdkafka's own
 * error text, naming the section; pinned properties; secrets never shown).
 */
#include "sluice_test.h"
#include "conn_support.h"
#include "kafka_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"

static char *tmpdir;
static sluice_test_broker *broker;

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sluice_source *open_source(sluice_test_cfg *c, const char *topic, const char *group) {
    sluice_test_cfg_init(c, "events", NULL);
    sluice_test_cfg_set(c, "topic", topic);
    sluice_test_cfg_set(c, "group.id", group);
    sluice_test_cfg_set(c, "startingOffsets", "earliest");
    sluice_test_cfg_set(c, "kafka.bootstrap.servers", sluice_test_broker_bootstrap(broker));
    const sluice_source_ops *ops;
    assert_int_equal(sluice_registry_source("kafka", &ops, NULL, 0), SLUICE_OK);
    sluice_source *src = NULL;
    char err[512] = "";
    if (ops->open(&c->cfg, &src, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
    return src;
}

static void envelope_fields_filled(void **state) {
    (void)state;
    const char *values[] = {"{\"v\":1}", "{\"v\":2}", "{\"v\":3}"};
    const char *keys[] = {"k1", NULL, "k3"};
    assert_int_equal(sluice_test_broker_cmd(broker, "topic env:1"), 0);
    int64_t before = wall_ms();
    assert_int_equal(sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), "env", 0, values, keys, 3), 0);
    int64_t after = wall_ms();
    sluice_test_cfg c;
    sluice_source *src = open_source(&c, "env", "group-env");
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    char err[512] = "";
    if (src->ops->poll(src, &b, 100, 0, err, sizeof err) != SLUICE_OK) fail_msg("poll: %s", err);
    assert_int_equal(b.count, 3);
    for (size_t i = 0; i < 3; i++) {
        const sluice_record *r = &b.records[i];
        assert_int_equal(r->value_len, strlen(values[i]));
        assert_memory_equal(r->value, values[i], r->value_len);
        for (size_t p = 0; p < SLUICE_RECORD_PADDING; p++) assert_int_equal(r->value[r->value_len + p], 0);
        if (keys[i]) {
            assert_int_equal(r->key_len, strlen(keys[i]));
            assert_memory_equal(r->key, keys[i], r->key_len);
        } else {
            assert_null(r->key);
        }
        assert_string_equal(r->topic, "env");
        assert_int_equal(r->partition, 0);
        assert_int_equal(r->offset, (int64_t)i);
        assert_true(r->timestamp_ms >= before - 1000 && r->timestamp_ms <= after + 1000);
    }
    char pos[128];
    src->ops->position(src, &b.records[1], pos, sizeof pos);
    assert_string_equal(pos, "topic env partition 0 offset 1");
    assert_int_equal(src->ops->commit(src, 0, err, sizeof err), SLUICE_OK);
    assert_int_equal(src->ops->commit(src, 1, err, sizeof err), SLUICE_OK); /* nothing new: no-op */
    assert_int_equal(sluice_test_kafka_committed(sluice_test_broker_bootstrap(broker), "group-env", "env"), 3);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static void max_offsets_per_trigger_caps_a_poll(void **state) {
    (void)state;
    const char *values[40];
    char buf[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(buf[i], sizeof buf[i], "{\"v\":%d}", i);
        values[i] = buf[i];
    }
    assert_int_equal(sluice_test_broker_cmd(broker, "topic capped:2"), 0);
    assert_int_equal(sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), "capped", -1, values, NULL, 40),
                     0);
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "events", NULL);
    sluice_test_cfg_set(&c, "topics", "capped, capped");
    sluice_test_cfg_set(&c, "startingOffsets", "earliest");
    sluice_test_cfg_set(&c, "max_offsets_per_trigger", "7");
    sluice_test_cfg_set(&c, "kafka.bootstrap.servers", sluice_test_broker_bootstrap(broker));
    c.cfg.pipeline = "capped_pipeline"; /* default group: sluice.capped_pipeline */
    const sluice_source_ops *ops;
    assert_int_equal(sluice_registry_source("kafka", &ops, NULL, 0), SLUICE_OK);
    sluice_source *src = NULL;
    char err[512] = "";
    if (ops->open(&c.cfg, &src, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    long total = 0;
    sluice_partition_ref parts[4];
    int64_t lags[4];
    for (int i = 0; i < 100; i++) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 1000, 0, err, sizeof err), SLUICE_OK);
        assert_true(b.count <= 7);
        total += (long)b.count;
        /* the consumer lag: what is left of the 40 records, over 2 partitions */
        size_t n = src->ops->lag(src, parts, lags, 4);
        assert_int_equal(n, 2);
        assert_string_equal(parts[0].topic, "capped");
        assert_int_equal(lags[0] + lags[1], 40 - total);
        assert_int_equal(src->ops->commit(src, i, err, sizeof err), SLUICE_OK);
        if (b.count == 0) break;
    }
    assert_int_equal(total, 40);
    assert_int_equal(
        sluice_test_kafka_committed(sluice_test_broker_bootstrap(broker), "sluice.capped_pipeline", "capped"), 40);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

/* A seek wins over where the group would start a partition, also when it
 * lands while librdkafka is still looking up that start (auto.offset.reset
 * = earliest: a ListOffsets request in flight right after the assignment).
 * Recovery does exactly this: it seeks the partitions of the first replayed
 * epoch before the assignment, then, after the replay, seeks every
 * partition to its position.  A lost seek re-delivers records that are
 * already in the state, which no sink can undo.  Several rounds, each with
 * a new consumer group, to catch the race. */
static void seek_during_the_assignment_wins(void **state) {
    (void)state;
    enum { PARTS = 4, PER = 300, FROM = 200 };
    assert_int_equal(sluice_test_broker_cmd(broker, "topic seekrace:4"), 0);
    const char *values[PER];
    char buf[PER][24];
    for (int i = 0; i < PER; i++) {
        snprintf(buf[i], sizeof buf[i], "{\"v\":%d}", i);
        values[i] = buf[i];
    }
    for (int p = 0; p < PARTS; p++)
        assert_int_equal(sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), "seekrace", p, values, NULL,
                                                   PER),
                         0);
    for (int round = 0; round < 8; round++) {
        char group[64];
        snprintf(group, sizeof group, "seekrace-%d", round);
        sluice_test_cfg c;
        sluice_source *src = open_source(&c, "seekrace", group);
        char err[512] = "";
        /* partition 0 positioned before the assignment */
        assert_int_equal(src->ops->seek(src, "seekrace", 0, FROM, err, sizeof err), SLUICE_OK);
        sluice_record_batch b;
        assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
        int seen[PARTS][PER];
        memset(seen, 0, sizeof seen);
        int sought = 0;
        long total = 0;
        for (int i = 0; i < 2000 && total < (long)PARTS * (PER - FROM); i++) {
            sluice_record_batch_clear(&b);
            if (src->ops->poll(src, &b, 1, 100, err, sizeof err) != SLUICE_OK) fail_msg("poll: %s", err);
            for (size_t r = 0; r < b.count; r++) {
                const sluice_record *rec = &b.records[r];
                assert_true(rec->partition >= 0 && rec->partition < PARTS);
                if (rec->offset < FROM && (sought || rec->partition == 0))
                    fail_msg("round %d: partition %d delivered offset %lld, below the seek to %d", round,
                             (int)rec->partition, (long long)rec->offset, FROM);
                if (rec->offset < FROM) continue; /* not yet positioned: as recovery's replay, ignored */
                if (seen[rec->partition][rec->offset]++)
                    fail_msg("round %d: partition %d offset %lld delivered twice", round, (int)rec->partition,
                             (long long)rec->offset);
                total++;
            }
            if (!sought && b.count) {
                /* the assignment is in: position the other partitions now,
                 * while their start may still be being looked up */
                for (int p = 1; p < PARTS; p++)
                    assert_int_equal(src->ops->seek(src, "seekrace", p, FROM, err, sizeof err), SLUICE_OK);
                sought = 1;
            }
        }
        assert_int_equal(total, (long)PARTS * (PER - FROM));
        sluice_record_batch_free(&b);
        src->ops->close(src);
    }
}

/* Run `sluice run|check` on meta.sql with the given profile text; returns
 * the exit status, stderr in *err (malloc'd). */
static int run_cli(const char *verb, const char *profile, char **err) {
    char sql[4096], ini[4096], out[4096], errp[4096];
    snprintf(sql, sizeof sql, "%s/meta.sql", tmpdir);
    snprintf(ini, sizeof ini, "%s/meta.ini", tmpdir);
    snprintf(out, sizeof out, "%s/meta.stdout", tmpdir);
    snprintf(errp, sizeof errp, "%s/meta.stderr", tmpdir);
    assert_int_equal(sluice_test_write_file(sql, "CREATE SOURCE ev (\n"
                                                 "    v  BIGINT,\n"
                                                 "    k  VARCHAR METADATA FROM 'key',\n"
                                                 "    t  VARCHAR METADATA FROM 'topic',\n"
                                                 "    p  BIGINT METADATA FROM 'partition',\n"
                                                 "    o  BIGINT METADATA FROM 'offset',\n"
                                                 "    ts TIMESTAMP METADATA FROM 'timestamp'\n"
                                                 ");\n"
                                                 "CREATE SINK out AS SELECT v, k, t, p, o, ts FROM ev;\n"),
                     0);
    assert_int_equal(sluice_test_write_file(ini, profile), 0);
    const char *argv[] = {verb, sql, "--profile", "prod", "--config", ini, NULL};
    int rc = sluice_test_run_cli(argv, out, errp);
    *err = sluice_test_read_file(errp, NULL);
    if (strcmp(verb, "check") == 0) {
        char *o = sluice_test_read_file(out, NULL);
        size_t n = strlen(*err), m = strlen(o);
        *err = realloc(*err, n + m + 1);
        memcpy(*err + n, o, m + 1);
        free(o);
    }
    return rc;
}

static void metadata_columns_through_the_engine(void **state) {
    (void)state;
    const char *values[] = {"{\"v\":10}", "{\"v\":20}"};
    const char *keys[] = {"a", "b"};
    assert_int_equal(sluice_test_broker_cmd(broker, "topic meta:1"), 0);
    assert_int_equal(sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), "meta", 0, values, keys, 2), 0);
    char profile[8192], outpath[4096];
    snprintf(outpath, sizeof outpath, "%s/meta.jsonl", tmpdir);
    snprintf(profile, sizeof profile,
             "[pipeline]\ntrigger = available_now\n[kafka]\nbootstrap.servers = %s\n"
             "[source ev]\ntopic = meta\nstartingOffsets = earliest\n"
             "[sink out]\nconnector = file\npath = %s\n",
             sluice_test_broker_bootstrap(broker), outpath);
    char *err = NULL;
    int rc = run_cli("run", profile, &err);
    if (rc != 0) fail_msg("exit %d: %s", rc, err);
    free(err);
    char *out = sluice_test_read_file(outpath, NULL);
    assert_non_null(out);
    assert_non_null(strstr(out, "{\"v\":10,\"k\":\"a\",\"t\":\"meta\",\"p\":0,\"o\":0,\"ts\":\"20"));
    assert_non_null(strstr(out, "{\"v\":20,\"k\":\"b\",\"t\":\"meta\",\"p\":0,\"o\":1,\"ts\":\"20"));
    free(out);
    /* the default group is sluice.<pipeline> (the .sql file's stem) */
    assert_int_equal(sluice_test_kafka_committed(sluice_test_broker_bootstrap(broker), "sluice.meta", "meta"), 2);
}

static void configuration_errors(void **state) {
    (void)state;
    const char *b = sluice_test_broker_bootstrap(broker);
    char profile[8192];
    char *err = NULL;

    /* an unknown librdkafka property in [kafka]: librdkafka's text, the section */
    snprintf(profile, sizeof profile,
             "[kafka]\nbootstrap.servers = %s\nsasl.password = s3cr3t-value\nno.such.thing = 1\n"
             "[source ev]\ntopic = meta\n[sink out]\nconnector = kafka\ntopic = x\n",
             b);
    assert_int_equal(run_cli("run", profile, &err), 2);
    assert_non_null(strstr(err, "[kafka]"));
    assert_non_null(strstr(err, "no.such.thing"));
    assert_non_null(strstr(err, "No such configuration property"));
    assert_null(strstr(err, "s3cr3t-value"));
    free(err);

    /* a per-source override names its option and line */
    snprintf(profile, sizeof profile,
             "[kafka]\nbootstrap.servers = %s\n"
             "[source ev]\ntopic = meta\nkafka.fetch.wait.max.ms = soon\n[sink out]\nconnector = kafka\ntopic = x\n",
             b);
    assert_int_equal(run_cli("run", profile, &err), 2);
    assert_non_null(strstr(err, "source ev (kafka): option 'kafka.fetch.wait.max.ms'"));
    assert_non_null(strstr(err, ":5)"));
    free(err);

    /* pinned properties */
    snprintf(profile, sizeof profile,
             "[kafka]\nbootstrap.servers = %s\nenable.auto.commit = true\n"
             "[source ev]\ntopic = meta\n[sink out]\nconnector = kafka\ntopic = x\n",
             b);
    assert_int_equal(run_cli("run", profile, &err), 2);
    assert_non_null(strstr(err, "enable.auto.commit"));
    free(err);
    snprintf(profile, sizeof profile,
             "[kafka]\nbootstrap.servers = %s\n"
             "[source ev]\ntopic = meta\n[sink out]\nconnector = kafka\ntopic = x\nkafka.acks = 1\n",
             b);
    assert_int_equal(run_cli("run", profile, &err), 2);
    assert_non_null(strstr(err, "sink out (kafka)"));
    assert_non_null(strstr(err, "acks"));
    free(err);

    /* unknown keys, missing topic, both topic and topics */
    snprintf(profile, sizeof profile,
             "[kafka]\nbootstrap.servers = %s\n[source ev]\ntopic = meta\ntopix = 1\n[sink out]\nconnector = memory\n",
             b);
    assert_int_equal(run_cli("run", profile, &err), 2);
    assert_non_null(strstr(err, "'topix'"));
    free(err);
    snprintf(profile, sizeof profile, "[kafka]\nbootstrap.servers = %s\n[source ev]\nformat = json\n"
                                      "[sink out]\nconnector = memory\n", b);
    assert_int_equal(run_cli("run", profile, &err), 2);
    assert_non_null(strstr(err, "option 'topic' (or 'topics') is required"));
    free(err);
    snprintf(profile, sizeof profile, "[kafka]\nbootstrap.servers = %s\n[source ev]\ntopic = a\ntopics = b\n"
                                      "[sink out]\nconnector = memory\n", b);
    assert_int_equal(run_cli("run", profile, &err), 2);
    assert_non_null(strstr(err, "not both"));
    free(err);
    snprintf(profile, sizeof profile, "[kafka]\nbootstrap.servers = %s\n[source ev]\ntopic = a\n"
                                      "[sink out]\nconnector = kafka\n", b);
    assert_int_equal(run_cli("run", profile, &err), 2);
    assert_non_null(strstr(err, "sink out (kafka): option 'topic' is required"));
    free(err);

    /* check: secrets shown as **** */
    snprintf(profile, sizeof profile,
             "[kafka]\nbootstrap.servers = %s\n[source ev]\ntopic = meta\nkafka.sasl.password = s3cr3t-value\n"
             "[sink out]\nconnector = kafka\ntopic = x\n",
             b);
    assert_int_equal(run_cli("check", profile, &err), 0);
    assert_null(strstr(err, "s3cr3t-value"));
    free(err);
}

/* Section `section` of `sluice connectors` (from its "### " heading to the
 * next one), malloc'd; fails the test when it is missing. */
static char *reference_section(const char *heading) {
    char out[4096], errp[4096];
    snprintf(out, sizeof out, "%s/connectors.stdout", tmpdir);
    snprintf(errp, sizeof errp, "%s/connectors.stderr", tmpdir);
    const char *argv[] = {"connectors", NULL};
    assert_int_equal(sluice_test_run_cli(argv, out, errp), 0);
    char *text = sluice_test_read_file(out, NULL);
    assert_non_null(text);
    char *start = strstr(text, heading);
    if (!start) fail_msg("no '%s' in the reference:\n%s", heading, text);
    char *end = strstr(start + strlen(heading), "\n### ");
    size_t n = end ? (size_t)(end - start) : strlen(start);
    char *sec = malloc(n + 1);
    assert_non_null(sec);
    memcpy(sec, start, n);
    sec[n] = '\0';
    free(text);
    return sec;
}

/* The option tables of both connectors: `sluice connectors` prints each
 * key with its type and default, the librdkafka pass-through as one
 * `kafka.*` row; [kafka] takes any librdkafka property, so it has none. */
static void option_tables_in_the_reference(void **state) {
    (void)state;
    char *src = reference_section("### Source `kafka`");
    const char *src_rows[] = {
        "| `topic` | text |",
        "| `topics` | comma-separated list |",
        "| `format` | one of json, csv | `json` |",
        "| `csv.delimiter` | one character (or \\t) | `,` |",
        "| `group.id` | text |",
        "| `startingOffsets` | text | `latest` |",
        "| `max_offsets_per_trigger` | integer >= 1 |",
        "| `idle_timeout` | duration (500ms, 30s, 5m, 1h) |",
        "| `kafka.*` | text |",
    };
    for (size_t i = 0; i < sizeof src_rows / sizeof *src_rows; i++)
        if (!strstr(src, src_rows[i])) fail_msg("no '%s' in:\n%s", src_rows[i], src);
    assert_non_null(strstr(src, "Shared settings: the `[kafka]` section."));
    free(src);
    char *sink = reference_section("### Sink `kafka`");
    const char *sink_rows[] = {
        "| `topic` | text | required |",
        "| `format` | one of json | `json` |",
        "| `transactional` | true or false |",
        "| `commits_topic` | text | `__sluice_commits` |",
        "| `kafka.*` | text |",
    };
    for (size_t i = 0; i < sizeof sink_rows / sizeof *sink_rows; i++)
        if (!strstr(sink, sink_rows[i])) fail_msg("no '%s' in:\n%s", sink_rows[i], sink);
    free(sink);
    /* no table of [kafka]: librdkafka checks its properties */
    char out[4096], errp[4096];
    snprintf(out, sizeof out, "%s/connectors.stdout", tmpdir);
    snprintf(errp, sizeof errp, "%s/connectors.stderr", tmpdir);
    char *text = sluice_test_read_file(out, NULL);
    assert_non_null(text);
    assert_null(strstr(text, "### `[kafka]`"));
    free(text);
}

/* A value not of its option's type is refused by the pipeline from the
 * connector's table, naming the key and its file:line, before anything is
 * opened: the checkpoint directory and the file sink's output are not
 * created (they were, before the Kafka source or sink refused it in
 * open()). */
static void wrong_types_refused_before_opening(void **state) {
    (void)state;
    const char *b = sluice_test_broker_bootstrap(broker);
    struct {
        const char *sections; /* after [pipeline] */
        int file_sink;        /* 1: then a file sink [sink out] */
        int line;             /* of the bad key in meta.ini */
        const char *want;
    } cases[] = {
        {"[source ev]\ntopic = meta\nmax_offsets_per_trigger = many\n", 1, 7,
         "[source ev] max_offsets_per_trigger = 'many': expected integer >= 1"},
        {"[source ev]\ntopic = meta\nformat = lines\n", 1, 7, "[source ev] format = 'lines': expected json or csv"},
        {"[source ev]\ntopic = meta\n[sink out]\nconnector = kafka\ntopic = x\ntransactional = maybe\n", 0, 10,
         "[sink out] transactional = 'maybe': expected true or false"},
        {"[source ev]\ntopic = meta\n[sink out]\nconnector = kafka\ntopic = x\nformat = csv\n", 0, 10,
         "[sink out] format = 'csv': expected json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char ckpt[4096], sink[4096], profile[16384], where[64];
        snprintf(ckpt, sizeof ckpt, "%s/types-ckpt-%zu", tmpdir, i);
        snprintf(sink, sizeof sink, "%s/types-out-%zu.jsonl", tmpdir, i);
        snprintf(profile, sizeof profile, "[kafka]\nbootstrap.servers = %s\n[pipeline]\ncheckpoint_dir = %s\n%s%s%s%s", b,
                 ckpt, cases[i].sections, cases[i].file_sink ? "[sink out]\nconnector = file\npath = " : "",
                 cases[i].file_sink ? sink : "", cases[i].file_sink ? "\n" : "");
        snprintf(where, sizeof where, "meta.ini:%d: ", cases[i].line);
        for (int verb = 0; verb < 2; verb++) {
            char *err = NULL;
            int rc = run_cli(verb ? "run" : "check", profile, &err);
            if (rc != 2 || !strstr(err, where) || !strstr(err, cases[i].want))
                fail_msg("%s of\n%s\nexited %d, expected 2 with '%s' and '%s' in:\n%s", verb ? "run" : "check",
                         profile, rc, where, cases[i].want, err);
            free(err);
            assert_int_not_equal(access(ckpt, F_OK), 0);
            assert_int_not_equal(access(sink, F_OK), 0);
        }
    }
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("kafka_connector");
    broker = sluice_test_broker_start(1, NULL);
    if (!tmpdir || !broker) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(envelope_fields_filled),
        cmocka_unit_test(max_offsets_per_trigger_caps_a_poll),
        cmocka_unit_test(seek_during_the_assignment_wins),
        cmocka_unit_test(metadata_columns_through_the_engine),
        cmocka_unit_test(configuration_errors),
        cmocka_unit_test(option_tables_in_the_reference),
        cmocka_unit_test(wrong_types_refused_before_opening),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sluice_test_broker_stop(broker);
    free(tmpdir);
    return rc;
}
