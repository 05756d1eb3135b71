/*
 * The Kafka sink's exactly-once side (docs/checkpoints.md, "Commit the
 * sinks": Kafka), against the test broker (librdkafka's mock cluster in
 * sluice-mock-broker):
 *
 * - with checkpointing, each epoch that has rows is one transaction that
 *   ends with a marker record in __sluice_commits naming pipeline, sink,
 *   topic, epoch, run and record count; an epoch without rows writes
 *   nothing;
 * - a sink opened again reads its markers and answers the newest epoch
 *   (committed_epoch), per (pipeline, sink, topic);
 * - a transaction left open (as by a crash) has no marker: the next
 *   instance starts after the last committed epoch;
 * - a transaction whose records could not be delivered is aborted and sent
 *   again; the marker names the attempt that committed;
 * - without checkpointing the sink is not transactional and writes no
 *   markers; contradictory options are configuration errors;
 * - a marker with the sink's key whose value names another target (or has
 *   no valid epoch) is refused at open; a tombstone for the key clears it.
 *
 * Expected values are the hand-written rows and epochs of each case.
 */
#include "sluice_test.h"
#include "conn_support.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "kafka_support.h"
#include "registry.h"

static const sluice_column columns[] = {
    {.name = "k", .type = SLUICE_TYPE_BIGINT},
    {.name = "name", .type = SLUICE_TYPE_VARCHAR},
};
static const size_t pk[] = {0};
static const sluice_schema schema = {.ncolumns = 2, .columns = columns, .npk = 1, .pk = pk};

static sluice_test_broker *broker;

static int setup(void **state) {
    (void)state;
    const char *topics[] = {"txn-a:2", "txn-b:1", "txn-c:1", "txn-d:1", "txn-e:1", "txn-f:1", "txn-g:1", "txn-h:1", NULL};
    broker = sluice_test_broker_start(1, topics);
    return broker ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_test_broker_stop(broker);
    return 0;
}

/* A sink for `topic` of pipeline "test" (sink "out"); checkpointing as
 * given; extra options key,value pairs (NULL-terminated, may be NULL). */
static sluice_err_t open_sink(sluice_test_cfg *c, const char *topic, int checkpointing, const char *const *extra,
                              sluice_sink **out, char *err, size_t errsize) {
    sluice_test_cfg_init(c, "out", &schema);
    c->cfg.checkpointing = checkpointing;
    sluice_test_cfg_set(c, "topic", topic);
    sluice_test_cfg_set(c, "kafka.bootstrap.servers", sluice_test_broker_bootstrap(broker));
    for (size_t i = 0; extra && extra[i]; i += 2) sluice_test_cfg_set(c, extra[i], extra[i + 1]);
    return sluice_kafka_sink_ops.open(&c->cfg, out, err, errsize);
}

static sluice_sink *must_open(sluice_test_cfg *c, const char *topic, int checkpointing) {
    sluice_sink *s = NULL;
    char err[1024] = "";
    if (open_sink(c, topic, checkpointing, NULL, &s, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
    return s;
}

/* Write rows k = first .. first+n-1 as epoch `epoch` and commit. */
static sluice_err_t epoch_rows(sluice_sink *s, int64_t epoch, int64_t first, int n, char *err, size_t errsize) {
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    for (int i = 0; i < n; i++) {
        sluice_value *row = sluice_row_batch_append(&b);
        assert_non_null(row);
        row[0] = sluice_value_bigint(first + i);
        row[1] = sluice_value_varchar("v", 1);
    }
    sluice_err_t rc = s->ops->write(s, epoch, &b, err, errsize);
    if (!rc) rc = s->ops->commit(s, epoch, err, errsize);
    sluice_row_batch_free(&b);
    return rc;
}

static void must_epoch(sluice_sink *s, int64_t epoch, int64_t first, int n) {
    char err[1024] = "";
    if (epoch_rows(s, epoch, first, n, err, sizeof err) != SLUICE_OK) fail_msg("epoch %lld: %s", (long long)epoch, err);
}

typedef struct marker {
    char topic[64];
    char run[64];
    int64_t epoch, records;
} marker;

/* The markers of pipeline "test", sink "out" (all topics), in log order;
 * checks that each key is the value's first three fields. */
static int read_markers(marker *out, int max) {
    sluice_test_kmsg *msgs = NULL;
    long n = sluice_test_kafka_consume_all(sluice_test_broker_bootstrap(broker), "__sluice_commits", &msgs);
    if (n < 0) return 0; /* no topic yet: no marker */
    int k = 0;
    for (long i = 0; i < n; i++) {
        cJSON *v = cJSON_Parse(msgs[i].value);
        assert_non_null(v);
        const char *p = cJSON_GetObjectItemCaseSensitive(v, "pipeline")->valuestring;
        const char *s = cJSON_GetObjectItemCaseSensitive(v, "sink")->valuestring;
        const char *t = cJSON_GetObjectItemCaseSensitive(v, "topic")->valuestring;
        char key[256];
        snprintf(key, sizeof key, "{\"pipeline\":\"%s\",\"sink\":\"%s\",\"topic\":\"%s\"}", p, s, t);
        assert_non_null(msgs[i].key);
        assert_string_equal(msgs[i].key, key);
        if (strcmp(p, "test") == 0 && strcmp(s, "out") == 0) {
            assert_true(k < max);
            snprintf(out[k].topic, sizeof out[k].topic, "%s", t);
            snprintf(out[k].run, sizeof out[k].run, "%s", cJSON_GetObjectItemCaseSensitive(v, "run")->valuestring);
            out[k].epoch = (int64_t)cJSON_GetObjectItemCaseSensitive(v, "epoch")->valuedouble;
            out[k].records = (int64_t)cJSON_GetObjectItemCaseSensitive(v, "records")->valuedouble;
            k++;
        }
        cJSON_Delete(v);
    }
    sluice_test_kafka_msgs_free(msgs, n);
    return k;
}

/* The markers of one topic. */
static int topic_markers(const char *topic, marker *out, int max) {
    marker all[256];
    int n = read_markers(all, 256), k = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(all[i].topic, topic) == 0) {
            assert_true(k < max);
            out[k++] = all[i];
        }
    return k;
}

static long count(const char *topic) {
    return sluice_test_kafka_count(sluice_test_broker_bootstrap(broker), topic);
}

static void each_epoch_with_rows_is_marked(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_sink *s = must_open(&c, "txn-a", 1);
    assert_int_equal(s->ops->committed_epoch(s), -1);
    must_epoch(s, 0, 1, 3);
    must_epoch(s, 1, 0, 0); /* no rows: no transaction, no marker */
    must_epoch(s, 2, 10, 2);
    assert_int_equal(s->ops->committed_epoch(s), 2);
    s->ops->close(s);

    assert_int_equal(count("txn-a"), 5);
    marker m[8];
    assert_int_equal(topic_markers("txn-a", m, 8), 2);
    assert_int_equal(m[0].epoch, 0);
    assert_int_equal(m[0].records, 3);
    assert_int_equal(m[1].epoch, 2);
    assert_int_equal(m[1].records, 2);
    assert_string_not_equal(m[0].run, m[1].run);

    /* the values are the rows, keyed by the PRIMARY KEY */
    sluice_test_kmsg *msgs = NULL;
    long n = sluice_test_kafka_consume_all(sluice_test_broker_bootstrap(broker), "txn-a", &msgs);
    assert_int_equal(n, 5);
    int seen = 0;
    for (long i = 0; i < n; i++) {
        long k = -1;
        assert_int_equal(sscanf(msgs[i].key, "{\"k\":%ld}", &k), 1);
        char want[64];
        snprintf(want, sizeof want, "{\"k\":%ld,\"name\":\"v\"}", k);
        assert_string_equal(msgs[i].value, want);
        seen |= 1 << k;
    }
    assert_int_equal(seen, (1 << 1) | (1 << 2) | (1 << 3) | (1 << 10) | (1 << 11));
    sluice_test_kafka_msgs_free(msgs, n);

    /* opened again: the newest committed epoch, for this topic only */
    s = must_open(&c, "txn-a", 1);
    assert_int_equal(s->ops->committed_epoch(s), 2);
    must_epoch(s, 3, 20, 1);
    s->ops->close(s);
    s = must_open(&c, "txn-a", 1);
    assert_int_equal(s->ops->committed_epoch(s), 3);
    s->ops->close(s);
    s = must_open(&c, "txn-b", 1);
    assert_int_equal(s->ops->committed_epoch(s), -1);
    s->ops->close(s);
}

static void an_open_transaction_is_not_committed(void **state) {
    (void)state;
    sluice_test_cfg c1, c2;
    sluice_sink *a = must_open(&c1, "txn-c", 1);
    must_epoch(a, 0, 1, 1);
    /* a's epoch 1 is written but not committed, as a crash leaves it */
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    sluice_value *row = sluice_row_batch_append(&b);
    row[0] = sluice_value_bigint(2);
    row[1] = sluice_value_varchar("v", 1);
    char err[1024] = "";
    assert_int_equal(a->ops->write(a, 1, &b, err, sizeof err), SLUICE_OK);
    sluice_row_batch_free(&b);

    /* the next instance (same transactional.id) starts after epoch 0 */
    sluice_sink *bsink = must_open(&c2, "txn-c", 1);
    assert_int_equal(bsink->ops->committed_epoch(bsink), 0);
    a->ops->close(a); /* aborts a's transaction */
    must_epoch(bsink, 1, 2, 1);
    bsink->ops->close(bsink);

    marker m[8];
    assert_int_equal(topic_markers("txn-c", m, 8), 2);
    assert_int_equal(m[0].epoch, 0);
    assert_int_equal(m[1].epoch, 1);
    /* the test broker keeps the aborted record (it does not filter aborted
     * transactions, nor fence by transactional.id): 1 + 1 aborted + 1 */
    assert_int_equal(count("txn-c"), 3);
}

static void an_undeliverable_epoch_is_aborted_and_sent_again(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_sink *s = must_open(&c, "txn-d", 1);
    /* the next Produce request fails with a non-retriable error: the
     * record fails, the transaction must be aborted */
    assert_int_equal(sluice_test_broker_cmd(broker, "error Produce 1 INVALID_RECORD"), 0);
    must_epoch(s, 0, 1, 2);
    assert_int_equal(s->ops->committed_epoch(s), 0);
    s->ops->close(s);
    /* the test broker shows aborted attempts' markers too (an attempt can
     * fail after its marker was delivered): the last one committed */
    marker m[8];
    int n = topic_markers("txn-d", m, 8);
    assert_true(n >= 1);
    for (int i = 0; i < n; i++) assert_int_equal(m[i].epoch, 0);
    assert_int_equal(m[n - 1].records, 2);
    /* the run names a later attempt than the sink's first transaction */
    const char *dot = strrchr(m[n - 1].run, '.');
    assert_non_null(dot);
    assert_true(atoi(dot + 1) >= 2);
}

static void without_checkpointing_no_markers(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_sink *s = must_open(&c, "txn-e", 0);
    must_epoch(s, 0, 1, 2);
    assert_int_equal(s->ops->committed_epoch(s), -1);
    s->ops->close(s);
    marker m[8];
    assert_int_equal(topic_markers("txn-e", m, 8), 0);
    assert_int_equal(count("txn-e"), 2);
}

static void contradictory_options_are_errors(void **state) {
    (void)state;
    struct {
        int checkpointing;
        const char *extra[5];
        const char *want;
    } cases[] = {
        {0, {"transactional", "maybe", NULL}, "'transactional'"},
        {0, {"kafka.transactional.id", "x", NULL}, "transactional.id is set but the sink is not transactional"},
        {1, {"transactional", "false", "kafka.transactional.id", "x", NULL}, "not transactional"},
        {1, {"commits_topic", "", NULL}, "'commits_topic'"},
        {1, {"kafka.enable.idempotence", "false", NULL}, "enable.idempotence"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sluice_test_cfg c;
        sluice_sink *s = NULL;
        char err[1024] = "";
        assert_int_equal(open_sink(&c, "txn-e", cases[i].checkpointing, cases[i].extra, &s, err, sizeof err),
                         SLUICE_ERR_CONFIG);
        assert_null(s);
        if (!strstr(err, cases[i].want)) fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].want);
    }
}

/* A marker is validated, never trusted on its key alone: one whose value
 * names another topic is refused at open (before: its epoch was taken and
 * the sink skipped that many epochs); a tombstone clears the record. */
static void a_marker_that_does_not_match_its_key_is_refused(void **state) {
    (void)state;
    const char *extra[] = {"commits_topic", "txn-f-commits", NULL};
    sluice_test_cfg c;
    sluice_sink *s = NULL;
    char err[2048] = "";
    assert_int_equal(open_sink(&c, "txn-f", 1, extra, &s, err, sizeof err), SLUICE_OK);
    must_epoch(s, 0, 1, 2);
    assert_int_equal(s->ops->committed_epoch(s), 0);
    s->ops->close(s);
    const char *key = "{\"pipeline\":\"test\",\"sink\":\"out\",\"topic\":\"txn-f\"}";
    const char *bad[] = {"{\"pipeline\":\"test\",\"sink\":\"out\",\"topic\":\"txn-g\",\"epoch\":9}"};
    assert_int_equal(sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), "txn-f-commits", 0, bad, &key, 1),
                     0);
    s = NULL;
    assert_int_equal(open_sink(&c, "txn-f", 1, extra, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(s);
    if (!strstr(err, "has this sink's key {\"pipeline\":\"test\",\"sink\":\"out\",\"topic\":\"txn-f\"} but a value "
                     "whose pipeline, sink or topic differs from its key") ||
        !strstr(err, "offset 1"))
        fail_msg("unexpected message: %s", err);
    const char *no_epoch[] = {"{\"pipeline\":\"test\",\"sink\":\"out\",\"topic\":\"txn-f\",\"epoch\":\"x\"}"};
    const char *tomb[] = {NULL};
    assert_int_equal(sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), "txn-f-commits", 0, tomb, &key, 1),
                     0);
    assert_int_equal(open_sink(&c, "txn-f", 1, extra, &s, err, sizeof err), SLUICE_OK);
    assert_int_equal(s->ops->committed_epoch(s), -1); /* cleared by the tombstone */
    must_epoch(s, 0, 5, 1);
    s->ops->close(s);
    assert_int_equal(
        sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), "txn-f-commits", 0, no_epoch, &key, 1), 0);
    s = NULL;
    assert_int_equal(open_sink(&c, "txn-f", 1, extra, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "but a value without a valid epoch"));
}

/* The changelog as upsert-kafka writes it: +I and +U are records, -U is
 * not written, -D is a tombstone (the key, a NULL value); transactional
 * (txn-g) and idempotent (txn-h) alike.  A topic without a key cannot take
 * a retraction: handed to on_error (none here: the write fails). */
static void changelog_deletes_are_tombstones(void **state) {
    (void)state;
    static const char *const topics[] = {"txn-g", "txn-h"};
    for (int t = 0; t < 2; t++) {
        sluice_test_cfg c;
        sluice_sink *s = must_open(&c, topics[t], t == 0);
        sluice_row_batch b;
        assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
        static const struct {
            sluice_row_kind kind;
            int64_t k;
            const char *name;
        } rows[] = {{SLUICE_ROW_INSERT, 1, "a"},
                    {SLUICE_ROW_UPDATE_BEFORE, 1, "a"},
                    {SLUICE_ROW_UPDATE_AFTER, 1, "b"},
                    {SLUICE_ROW_DELETE, 2, "x"}};
        for (size_t i = 0; i < 4; i++) {
            sluice_value *row = sluice_row_batch_append_kind(&b, rows[i].kind);
            row[0] = sluice_value_bigint(rows[i].k);
            row[1] = sluice_value_varchar(rows[i].name, 1);
        }
        char err[1024] = "";
        if (s->ops->write(s, 0, &b, err, sizeof err) != SLUICE_OK || s->ops->commit(s, 0, err, sizeof err) != SLUICE_OK)
            fail_msg("epoch 0: %s", err);
        sluice_row_batch_free(&b);
        s->ops->close(s);
        sluice_test_kmsg *m = NULL;
        long n = sluice_test_kafka_consume_all(sluice_test_broker_bootstrap(broker), topics[t], &m);
        assert_int_equal(n, 3);
        assert_string_equal(m[0].key, "{\"k\":1}");
        assert_string_equal(m[0].value, "{\"k\":1,\"name\":\"a\"}");
        assert_int_equal(m[0].value_null, 0);
        assert_string_equal(m[1].key, "{\"k\":1}");
        assert_string_equal(m[1].value, "{\"k\":1,\"name\":\"b\"}");
        assert_string_equal(m[2].key, "{\"k\":2}");
        assert_int_equal(m[2].value_null, 1);
        sluice_test_kafka_msgs_free(m, n);
    }

    static const sluice_schema keyless = {.ncolumns = 2, .columns = columns};
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "out", &keyless);
    sluice_test_cfg_set(&c, "topic", "txn-h");
    sluice_test_cfg_set(&c, "kafka.bootstrap.servers", sluice_test_broker_bootstrap(broker));
    sluice_sink *s = NULL;
    char err[1024] = "";
    assert_int_equal(sluice_kafka_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_OK);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &keyless), SLUICE_OK);
    sluice_value *row = sluice_row_batch_append_kind(&b, SLUICE_ROW_DELETE);
    row[0] = sluice_value_bigint(3);
    row[1] = sluice_value_varchar("z", 1);
    assert_int_not_equal(s->ops->write(s, 1, &b, err, sizeof err), SLUICE_OK);
    assert_non_null(strstr(err, "a -D row (a retraction) needs a record key"));
    sluice_row_batch_free(&b);
    s->ops->close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_epoch_with_rows_is_marked),
        cmocka_unit_test(changelog_deletes_are_tombstones),
        cmocka_unit_test(an_open_transaction_is_not_committed),
        cmocka_unit_test(an_undeliverable_epoch_is_aborted_and_sent_again),
        cmocka_unit_test(without_checkpointing_no_markers),
        cmocka_unit_test(contradictory_options_are_errors),
        cmocka_unit_test(a_marker_that_does_not_match_its_key_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
