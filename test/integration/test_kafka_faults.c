/*
 * Kafka failures lose and duplicate nothing: a stateless pipeline copies
 * N records (ids 0..N-1) from one topic to another while brokers go down
 * and come back (rd_kafka_mock_broker_set_down/up) or requests fail
 * (rd_kafka_mock_push_request_errors) on the consumer side (Fetch,
 * OffsetCommit) and the producer side (Produce); every id must then be in
 * the output topic exactly once (at least once while brokers go down: see
 * brokers_down_and_up).  A delivery that fails for good stops the
 * run with exit 1 and a message naming the sink, and loses nothing: its
 * offsets were not committed, so the next run reads those records again.
 *
 * Each run reads with max_offsets_per_trigger = 500, so that it spans many
 * micro-batches (offset commits, sink flushes) while the faults happen.
 */
#include "sluice_test.h"
#include "kafka_support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 20000

static char *tmpdir;
static sluice_test_broker *broker;
static char sql_path[4096];

static void nap_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* N records {"id":i,"payload":"p-i"}, keyed by i. */
static void produce_ids(const char *topic) {
    const char **values = calloc(N, sizeof *values), **keys = calloc(N, sizeof *keys);
    char (*vbuf)[48] = calloc(N, sizeof *vbuf), (*kbuf)[16] = calloc(N, sizeof *kbuf);
    for (int i = 0; i < N; i++) {
        snprintf(vbuf[i], sizeof vbuf[i], "{\"id\":%d,\"payload\":\"p-%d\"}", i, i);
        snprintf(kbuf[i], sizeof kbuf[i], "%d", i);
        values[i] = vbuf[i];
        keys[i] = kbuf[i];
    }
    assert_int_equal(sluice_test_broker_cmd(broker, "topic %s:4", topic), 0);
    assert_int_equal(sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), topic, -1, values, keys, N), 0);
    free(values);
    free(keys);
    free(vbuf);
    free(kbuf);
}

static void write_profile(const char *path, const char *trigger, const char *name, const char *extra) {
    char text[4096];
    snprintf(text, sizeof text,
             "[pipeline]\n"
             "trigger = %s\n"
             "\n"
             "[kafka]\n"
             "bootstrap.servers = %s\n"
             "session.timeout.ms = 6000\n"
             "heartbeat.interval.ms = 500\n"
             "%s"
             "\n"
             "[source events]\n"
             "topic = in-%s\n"
             "group.id = group-%s\n"
             "startingOffsets = earliest\n"
             "max_offsets_per_trigger = 500\n"
             "\n"
             "[sink copied]\n"
             "connector = kafka\n"
             "topic = out-%s\n",
             trigger, sluice_test_broker_bootstrap(broker), extra ? extra : "", name, name, name);
    assert_int_equal(sluice_test_write_file(path, text), 0);
}

/* Count each id in the output topic; fail unless every id appears
 * exactly `exactly` times (0: at least once). */
static void check_ids(const char *topic, int exactly) {
    sluice_test_kmsg *msgs = NULL;
    long n = sluice_test_kafka_consume_all(sluice_test_broker_bootstrap(broker), topic, &msgs);
    assert_true(n >= 0);
    int *seen = calloc(N, sizeof *seen);
    for (long i = 0; i < n; i++) {
        int id = -1;
        if (sscanf(msgs[i].value, "{\"id\":%d,", &id) != 1 || id < 0 || id >= N)
            fail_msg("unexpected output record: %s", msgs[i].value);
        char want[48];
        snprintf(want, sizeof want, "{\"id\":%d,\"payload\":\"p-%d\"}", id, id);
        assert_string_equal(msgs[i].value, want);
        assert_null(msgs[i].key); /* a stateless query has no PRIMARY KEY */
        seen[id]++;
    }
    long missing = 0, dup = 0;
    for (int i = 0; i < N; i++) {
        if (seen[i] == 0) missing++;
        if (exactly && seen[i] > exactly) dup++;
    }
    free(seen);
    sluice_test_kafka_msgs_free(msgs, n);
    if (missing || dup) fail_msg("%s: %ld ids missing, %ld duplicated (%ld records)", topic, missing, dup, n);
}

typedef struct run {
    int pid;
    char ini[4096];
    char err[4096];
} run;

static void start(run *r, const char *name, const char *trigger, const char *extra) {
    snprintf(r->ini, sizeof r->ini, "%s/%s.ini", tmpdir, name);
    snprintf(r->err, sizeof r->err, "%s/%s.stderr", tmpdir, name);
    write_profile(r->ini, trigger, name, extra);
    const char *argv[] = {"run", sql_path, "--profile", "prod", "--config", r->ini, NULL};
    r->pid = sluice_test_spawn_cli(argv, NULL, r->err);
    assert_true(r->pid > 0);
}

/* Wait until the run has read at least `rows` records. */
static void wait_rows(run *r, long rows) {
    int64_t deadline = sluice_test_now_ms() + 60000;
    while (sluice_test_progress_input_rows(r->err) < rows) {
        if (sluice_test_now_ms() > deadline) {
            kill(r->pid, SIGKILL);
            fail_msg("read %ld of %ld records in time: %s", sluice_test_progress_input_rows(r->err), rows,
                     sluice_test_read_file(r->err, NULL));
        }
        nap_ms(20);
    }
}

/* Wait for all N records to be read and written, then stop with SIGTERM:
 * exit 0. */
static void finish(run *r) {
    wait_rows(r, N);
    kill(r->pid, SIGTERM);
    int rc = sluice_test_wait_cli(r->pid, 30000);
    if (rc != 0) fail_msg("sluice exited %d: %s", rc, sluice_test_read_file(r->err, NULL));
    assert_int_equal(sluice_test_progress_input_rows(r->err), N);
}

static void brokers_down_and_up(void **state) {
    (void)state;
    produce_ids("in-down");
    run r;
    start(&r, "down", "50ms", NULL);
    /* each broker in turn (one of them is the group coordinator, each
     * leads some input and output partitions) */
    for (int id = 1; id <= 3; id++) {
        wait_rows(&r, 2000L + (id - 1) * 5000L);
        assert_int_equal(sluice_test_broker_cmd(broker, "down %d", id), 0);
        nap_ms(1500); /* how long the broker stays down */
        assert_int_equal(sluice_test_broker_cmd(broker, "up %d", id), 0);
    }
    finish(&r);
    /* the source read every record once (finish()); the output holds every
     * id at least once: a broker taken down while it appends a Produce
     * request can keep the batch, and the test broker checks producer
     * sequence numbers only for producers with a transactional.id
     * (rd_kafka_mock_validate_records in librdkafka's rdkafka_mock.c), so
     * it appends the idempotent producer's retry of that batch again, where
     * a real broker acknowledges it as a duplicate.  Output that must be
     * exactly once is transactional: test_kafka_kafka_crash.c */
    check_ids("out-down", 0);
}

static void consumer_request_errors(void **state) {
    (void)state;
    produce_ids("in-cerr");
    run r;
    start(&r, "cerr", "50ms", NULL);
    wait_rows(&r, 2000);
    assert_int_equal(sluice_test_broker_cmd(broker, "error Fetch 10 NOT_LEADER_FOR_PARTITION"), 0);
    wait_rows(&r, 6000);
    assert_int_equal(sluice_test_broker_cmd(broker, "error OffsetCommit 3 COORDINATOR_NOT_AVAILABLE"), 0);
    wait_rows(&r, 10000);
    assert_int_equal(sluice_test_broker_cmd(broker, "error Fetch 5 UNKNOWN_TOPIC_OR_PART"), 0);
    wait_rows(&r, 14000);
    assert_int_equal(sluice_test_broker_cmd(broker, "error OffsetCommit 2 REQUEST_TIMED_OUT"), 0);
    finish(&r);
    check_ids("out-cerr", 1);
}

static void producer_request_errors(void **state) {
    (void)state;
    produce_ids("in-perr");
    run r;
    start(&r, "perr", "50ms", NULL);
    wait_rows(&r, 2000);
    assert_int_equal(sluice_test_broker_cmd(broker, "error Produce 10 NOT_LEADER_FOR_PARTITION"), 0);
    wait_rows(&r, 8000);
    assert_int_equal(sluice_test_broker_cmd(broker, "error Produce 5 REQUEST_TIMED_OUT"), 0);
    wait_rows(&r, 14000);
    assert_int_equal(sluice_test_broker_cmd(broker, "error Produce 5 NOT_ENOUGH_REPLICAS"), 0);
    finish(&r);
    check_ids("out-perr", 1);
}

static void failed_delivery_stops_and_loses_nothing(void **state) {
    (void)state;
    produce_ids("in-fail");
    run r;
    /* a permanent error for every Produce request (until cleared): the
     * first epoch cannot be delivered */
    assert_int_equal(sluice_test_broker_cmd(broker, "error Produce 1000 TOPIC_AUTHORIZATION_FAILED"), 0);
    start(&r, "fail", "available_now", NULL);
    int rc = sluice_test_wait_cli(r.pid, 60000);
    assert_int_equal(sluice_test_broker_cmd(broker, "clear Produce"), 0);
    char *err = sluice_test_read_file(r.err, NULL);
    if (rc != 1 || !strstr(err, "sink copied (kafka)") || !strstr(err, "out-fail"))
        fail_msg("expected exit 1 naming the sink and topic, got %d: %s", rc, err);
    free(err);
    char first[4200];
    snprintf(first, sizeof first, "%s.first", r.err);
    rename(r.err, first);
    /* nothing was committed: a second run reads everything again */
    start(&r, "fail", "available_now", NULL);
    rc = sluice_test_wait_cli(r.pid, 60000);
    if (rc != 0) fail_msg("second run exited %d: %s", rc, sluice_test_read_file(r.err, NULL));
    assert_int_equal(sluice_test_progress_input_rows(r.err), N);
    check_ids("out-fail", 0);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("kafka_faults");
    broker = sluice_test_broker_start(3, NULL);
    if (!tmpdir || !broker) return 1;
    snprintf(sql_path, sizeof sql_path, "%s/copy.sql", tmpdir);
    if (sluice_test_write_file(sql_path, "CREATE SOURCE events (id BIGINT, payload VARCHAR);\n"
                                         "CREATE SINK copied AS SELECT id, payload FROM events;\n") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(brokers_down_and_up),
        cmocka_unit_test(consumer_request_errors),
        cmocka_unit_test(producer_request_errors),
        cmocka_unit_test(failed_delivery_stops_and_loses_nothing),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sluice_test_broker_stop(broker);
    free(tmpdir);
    return rc;
}
