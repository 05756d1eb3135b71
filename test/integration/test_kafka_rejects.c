/*
 * One bad row never stops a Kafka pipeline (the sink's on_error), against
 * the test broker (librdkafka's mock cluster in sluice-mock-broker):
 *
 * - a record over the producer's message.max.bytes (librdkafka refuses it
 *   at produce time) goes to the dead letter with the sink and the reason,
 *   the other rows to the topic, exit 0: idempotent and transactional
 *   (checkpointed; a restart exits 0 and writes nothing more);
 * - records a broker refuses at delivery for their size
 *   (MSG_SIZE_TOO_LARGE, injected: the mock cluster does not enforce a
 *   topic's max.message.bytes) are sent again alone; the one refused alone
 *   is set aside, every other row reaches the topic: idempotent, and
 *   transactional (the epoch's transaction aborted and sent again without
 *   it; a restart on the checkpoint writes nothing more);
 * - on_error = fail exits 1 naming the sink and the reason.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_support.h"

static sluice_test_broker *broker;
static char *tmpdir;

static const char *sql = "CREATE SOURCE items (id BIGINT, name VARCHAR);\n"
                         "CREATE SINK items_out PRIMARY KEY (id) AS SELECT id, name FROM items;\n";

/* Six rows; with `big`, row 3's name is 2000 bytes. */
static const char *write_csv(const char *name, int big) {
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s.csv", tmpdir, name);
    char longname[2001];
    memset(longname, 'z', 2000);
    longname[2000] = '\0';
    char csv[8192];
    snprintf(csv, sizeof csv, "id,name\n1,a\n2,b\n3,%s\n4,d\n5,e\n6,f\n", big ? longname : "c");
    assert_int_equal(sluice_test_write_file(path, csv), 0);
    return path;
}

static void write_pipeline(const char *name, const char *topic, const char *csv, const char *pipeline_extra,
                           const char *sink_extra, char *sql_path, char *ini_path) {
    char ini[8192];
    sprintf(sql_path, "%s/%s.sql", tmpdir, name);
    sprintf(ini_path, "%s/%s.ini", tmpdir, name);
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\ndead_letter = %s/%s.dead.jsonl\n%s\n"
             "[source items]\npath = %s\nformat = csv\n\n"
             "[sink items_out]\nconnector = kafka\ntopic = %s\n%s\n\n[kafka]\nbootstrap.servers = %s\n",
             tmpdir, name, pipeline_extra ? pipeline_extra : "", csv, topic, sink_extra ? sink_extra : "",
             sluice_test_broker_bootstrap(broker));
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
}

static int run(const char *sql_path, const char *ini_path, const char *err_path) {
    const char *argv[] = {"run", sql_path, "--config", ini_path, "--quiet", NULL};
    return sluice_test_run_cli(argv, NULL, err_path);
}

static void run_ok(const char *sql_path, const char *ini_path, const char *err_path) {
    int rc = run(sql_path, ini_path, err_path);
    if (rc != 0) {
        char *e = sluice_test_read_file(err_path, NULL);
        fail_msg("sluice run exited %d: %s", rc, e ? e : "");
    }
}

/* The topic's values sorted by id, one per line ("1:a\n2:b\n"). */
static char *topic_rows(const char *topic) {
    sluice_test_kmsg *msgs = NULL;
    long n = sluice_test_kafka_consume_all(sluice_test_broker_bootstrap(broker), topic, &msgs);
    assert_true(n >= 0);
    char *out = calloc(1, 64 * (size_t)(n + 1) + 1);
    for (int id = 1; id <= 6; id++)
        for (long i = 0; i < n; i++) {
            char want[32];
            snprintf(want, sizeof want, "{\"id\":%d,", id);
            if (strncmp(msgs[i].value, want, strlen(want)) != 0) continue;
            char key[32];
            snprintf(key, sizeof key, "{\"id\":%d}", id);
            assert_string_equal(msgs[i].key, key);
            const char *nm = strstr(msgs[i].value, "\"name\":\"") + 8;
            sprintf(out + strlen(out), "%d:%.*s\n", id, (int)(strchr(nm, '"') - nm), nm);
        }
    sluice_test_kafka_msgs_free(msgs, n);
    return out;
}

static size_t count_lines(const char *text) {
    size_t n = 0;
    for (const char *c = text; c && *c; c++) n += *c == '\n';
    return n;
}

static void assert_contains(const char *text, const char *what) {
    if (!text || !strstr(text, what)) fail_msg("'%s' not in:\n%.3000s", what, text ? text : "(null)");
}

/* A record over message.max.bytes: set aside, the rest delivered; with
 * `ckpt` transactional, then restarted. */
static void oversized_record(const char *name, int ckpt) {
    char topic[64], sqlp[4300], ini[4300], errp[4300], dlp[4300], extra[4300] = "";
    snprintf(topic, sizeof topic, "%s-out", name);
    if (ckpt) snprintf(extra, sizeof extra, "checkpoint_dir = %s/%s.ckpt", tmpdir, name);
    write_pipeline(name, topic, write_csv(name, 1), extra, "kafka.message.max.bytes = 1000", sqlp, ini);
    snprintf(errp, sizeof errp, "%s/%s.err", tmpdir, name);
    snprintf(dlp, sizeof dlp, "%s/%s.dead.jsonl", tmpdir, name);
    run_ok(sqlp, ini, errp);
    char *rows = topic_rows(topic);
    assert_string_equal(rows, "1:a\n2:b\n4:d\n5:e\n6:f\n");
    free(rows);
    char *dead = sluice_test_read_file(dlp, NULL);
    assert_int_equal(count_lines(dead), 1);
    assert_contains(dead, "{\"source\":\"items\",\"sink\":\"items_out\",\"position\":\"epoch 0\",\"reason\":\"topic '");
    assert_contains(dead, "-out': a record of 2026 bytes (key 8, value 2018) is over the producer's "
                          "message.max.bytes (1000)\",\"raw\":\"{\\\"id\\\":3,\\\"name\\\":\\\"zzz");
    if (ckpt) {
        run_ok(sqlp, ini, errp);
        rows = topic_rows(topic);
        assert_string_equal(rows, "1:a\n2:b\n4:d\n5:e\n6:f\n");
        free(rows);
        char *dead2 = sluice_test_read_file(dlp, NULL);
        assert_string_equal(dead2, dead);
        free(dead2);
    }
    free(dead);
}

static void oversized_record_idempotent(void **state) {
    (void)state;
    oversized_record("big_idem", 0);
}

static void oversized_record_transactional(void **state) {
    (void)state;
    oversized_record("big_txn", 1);
}

/* The broker refuses the first two Produce requests (the epoch's batch,
 * then the first record sent alone). */
static void broker_refusal(const char *name, int ckpt) {
    char topic[64], sqlp[4300], ini[4300], errp[4300], dlp[4300], extra[4300] = "";
    snprintf(topic, sizeof topic, "%s-out", name);
    assert_int_equal(sluice_test_broker_cmd(broker, "topic %s:1", topic), 0);
    if (ckpt) snprintf(extra, sizeof extra, "checkpoint_dir = %s/%s.ckpt", tmpdir, name);
    /* one batch for the six rows */
    write_pipeline(name, topic, write_csv(name, 0), extra, "kafka.linger.ms = 200", sqlp, ini);
    snprintf(errp, sizeof errp, "%s/%s.err", tmpdir, name);
    snprintf(dlp, sizeof dlp, "%s/%s.dead.jsonl", tmpdir, name);
    assert_int_equal(sluice_test_broker_cmd(broker, "error Produce 2 MSG_SIZE_TOO_LARGE"), 0);
    run_ok(sqlp, ini, errp);
    assert_int_equal(sluice_test_broker_cmd(broker, "clear Produce"), 0);
    char *rows = topic_rows(topic);
    assert_string_equal(rows, "2:b\n3:c\n4:d\n5:e\n6:f\n");
    free(rows);
    char *dead = sluice_test_read_file(dlp, NULL);
    assert_int_equal(count_lines(dead), 1);
    assert_contains(dead, "the broker refused the record alone: MSG_SIZE_TOO_LARGE\",\"raw\":\"{\\\"id\\\":1,");
    assert_contains(dead, "\"sink\":\"items_out\"");
    if (ckpt) { /* a restart on the checkpoint writes nothing more */
        run_ok(sqlp, ini, errp);
        rows = topic_rows(topic);
        assert_string_equal(rows, "2:b\n3:c\n4:d\n5:e\n6:f\n");
        free(rows);
        char *dead2 = sluice_test_read_file(dlp, NULL);
        assert_string_equal(dead2, dead);
        free(dead2);
    }
    free(dead);
}

static void broker_refusal_idempotent(void **state) {
    (void)state;
    broker_refusal("refuse_idem", 0);
}

static void broker_refusal_transactional(void **state) {
    (void)state;
    broker_refusal("refuse_txn", 1);
}

static void on_error_fail_exits_1(void **state) {
    (void)state;
    char sqlp[4300], ini[4300], errp[4300];
    write_pipeline("big_fail", "big_fail-out", write_csv("big_fail", 1), NULL,
                   "kafka.message.max.bytes = 1000\non_error = fail", sqlp, ini);
    snprintf(errp, sizeof errp, "%s/big_fail.err", tmpdir);
    assert_int_equal(run(sqlp, ini, errp), 1);
    char *err = sluice_test_read_file(errp, NULL);
    assert_contains(err, "sink items_out: epoch 0: topic 'big_fail-out': a record of 2026 bytes (key 8, value 2018) "
                         "is over the producer's message.max.bytes (1000); row: {\"id\":3,");
    free(err);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("kafka_rejects");
    const char *topics[] = {"big_idem-out:2", "big_txn-out:2", "big_fail-out:1", NULL};
    broker = sluice_test_broker_start(1, topics);
    if (!broker) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oversized_record_idempotent),
        cmocka_unit_test(oversized_record_transactional),
        cmocka_unit_test(broker_refusal_idempotent),
        cmocka_unit_test(broker_refusal_transactional),
        cmocka_unit_test(on_error_fail_exits_1),
    };
    int rc = cmocka_run_group_tests_name("kafka sink rejects", tests, NULL, NULL);
    sluice_test_broker_stop(broker);
    free(tmpdir);
    return rc;
}
